/**
 * Streams (SPEC 8): continuous queries over a source whose results are rows of the stream's own table
 * (with history, like every table). A stream runs inside the transaction of the batch that feeds it,
 * so its results, how far it has emitted (`_strata_streams`) and the batch commit together: after a
 * crash nothing is emitted twice or lost, and a reopened database resumes where it stood.
 *
 * Semantics are DuckDB's: each step copies the events it needs into the column store (appender in)
 * and runs the stream's query there (vectorized out), the same SQL a batch query would run.
 * - A stateless stream (no aggregate) runs over each batch's accepted events and appends its rows.
 * - A windowed aggregate emits each window once, when it closes (watermark ≥ window end + allowed
 *   lateness): the step reads the source's events of the windows that closed since the last step
 *   (for sessions, from the earliest start of a session still open at the step before) and
 *   evaluates the query over them. No window is emitted before it is complete, and late events
 *   never reach a window (a late event is earlier than every window still open).
 * - An aggregate without a window (EMIT CHANGES) keeps one row per group, updated in place as the
 *   group's events arrive: the groups a batch touches are evaluated again over all their events.
 */
import { connectorTarget, openTxColumn, type SourceDefinition, type TableDefinition } from '../../sql/catalog.js'
import { checkUserName } from '../../sql/ddl.js'
import { closingWindowsRange, derivedTables, joinAggregateNamesProbe, joinAggregateSplit, openSessionsStartSql, partPrefix, planStream, sameRowsWithMore, sessionEventsSql, sessionMergeSql, streamInputRelation, streamOtherRelation, viewIndexPrefix, windowedRelation, windowedRelationSql, type CreateStream, type StreamPlan, type WindowSpec } from '../../sql/streaming.js'
import { anyOf, quoteIdentifier } from '../../sql/tree.js'
import { duckdbType, readsIntegersAsBigints, toStorage, typeFromLabel } from '../../sql/types.js'
import type { ColumnSession } from '../../storage/columnstore/columnstore.js'
import type { RowConnection, RowValue } from '../../storage/rowstore/rowstore.js'
import { appendKind, castFromStaging, mirrorSchema, readAppliedTx, stagingType } from '../../sync/mirror.js'
import { StrataError } from '../../util/errors.js'
import { limits } from '../../util/limits.js'
import { formatMicros as formatInterval } from './intervals.js'
import { createSessionsSync, dropSessionsSync, openSessionsSync, replaceSessionsSync, sessionsKeptSync } from './sessions.js'
import { dateFromMicros } from '../../util/timestamp.js'
import type { MetricFamily, Rows, StatementCall, SubsystemHost } from '../seam.js'

/** A FULL join's right-side threshold once the left side has flushed: every right event is past it (unmatchedRightStep). */
const allPassedUs = 2n ** 63n - 1n

type SourceTable = TableDefinition & { readonly source: SourceDefinition }
export type StreamTable = TableDefinition & { readonly stream: NonNullable<TableDefinition['stream']> }
/** What a step reads: a source's columns, or those a view over a table reads. */
export type InputColumns = Pick<TableDefinition, 'columns'>

/** A source's watermark as a step sees it: the bound windows close by (µs), or +∞ after `db.flush`. */
/** Events of a source the column store already holds: its mirror `table`'s rows with `fromUs` ≤ `column` < `toUs` (null: unbounded). */
interface StoredRange {
  readonly table: string
  readonly column: string
  readonly fromUs: bigint | null
  readonly toUs: bigint | null
  /** The column is a TIMESTAMPTZ (the bounds are cast to it; the column store's sessions run in UTC). */
  readonly zoned: boolean
}

/** The WHERE condition of a {@link StoredRange}, with its bounds as literals. */
function storedRangeSql(range: StoredRange): string {
  const stamp = (micros: bigint): string => (range.zoned ? `CAST(make_timestamp(${micros}::BIGINT) AS TIMESTAMPTZ)` : `make_timestamp(${micros}::BIGINT)`)
  const bounds = [range.fromUs === null ? undefined : `${quoteIdentifier(range.column)} >= ${stamp(range.fromUs)}`, range.toUs === null ? undefined : `${quoteIdentifier(range.column)} < ${stamp(range.toUs)}`]
  return bounds.filter((bound) => bound !== undefined).join(' AND ') || 'true'
}

/**
 * The earliest event time a relation can still bring (SPEC 8): its watermark minus its allowed
 * lateness; null once it has flushed (nothing more comes), undefined before it has a watermark.
 */
function limitFrom(progress: SourceProgress, source: SourceTable): bigint | null | undefined {
  return progress.flushed ? null : progress.watermarkUs === null ? undefined : progress.watermarkUs - BigInt(source.source.allowedLatenessUs)
}

/** Event times of one column, both ends inclusive (null: unbounded that way). */
interface EventRange {
  readonly column: string
  readonly fromUs: bigint | null
  readonly toUs: bigint | null
}

export interface SourceProgress {
  readonly watermarkUs: bigint | null
  readonly flushed: boolean
}

interface StreamState {
  /** Windows ending at or before this were emitted (µs); null before the first. */
  readonly closedUntilUs: bigint | null
  /** Session windows: no session still to emit has an event before this (µs); null: no bound yet. */
  readonly openFromUs: bigint | null
  readonly done: boolean
}

/** A text that tells storage values apart (a group's key, a row's values); an integer the same whether read as a number or a bigint. */
export function groupId(values: readonly unknown[]): string {
  return JSON.stringify(values, (_name, value: unknown) =>
    typeof value === 'bigint' || (typeof value === 'number' && Number.isInteger(value)) ? `${value}n` : value instanceof Uint8Array ? [...value] : value,
  )
}

function empty(): Rows {
  return { rows: [], columns: [], rowCount: 0, engine: 'row' }
}

/** A step's work tables: temporary tables of its DuckDB connection (never written to disk), named with this prefix. */
const workPrefix = '_strata_streaming_'

function workTable(name: string): string {
  return `temp.main.${quoteIdentifier(`${workPrefix}${name}`)}`
}

/** The relation of the sessions a session step evaluates (sessionEventsSql). */
const closingSessionsRelation = '_strata_closing_sessions'

/**
 * A relation of `rows` (storage values of `columns`) for a step's query: in the query itself as
 * parameters when `inline` (appended to `params`), else appended to a work table (its name added to
 * `tables`, for dropWorkTables). Either way the values are cast from the same staging types, so the
 * query sees the same values.
 */
async function stageRows(
  session: ColumnSession,
  name: string,
  columns: InputColumns['columns'],
  rows: readonly (readonly RowValue[])[],
  inline: boolean,
  params: unknown[],
  tables: string[],
): Promise<string> {
  const kinds = columns.map((column) => appendKind(column.type))
  const names = columns.map((column) => quoteIdentifier(column.name))
  let from: string
  if (rows.length === 0) {
    from = `(SELECT ${names.map((column, index) => `CAST(NULL AS ${stagingType(kinds[index]!)}) AS ${column}`).join(', ')} WHERE false) AS _strata_values`
  } else if (inline) {
    const tuples = rows.map((row) => `(${row.map((value, index) => {
      params.push(value)
      return `CAST($${params.length} AS ${stagingType(kinds[index]!)})`
    }).join(', ')})`)
    from = `(VALUES ${tuples.join(', ')}) AS _strata_values(${names.join(', ')})`
  } else {
    await session.runStatements(`CREATE OR REPLACE TEMP TABLE ${workTable(name)} (${names.map((column, index) => `${column} ${stagingType(kinds[index]!)}`).join(', ')})`)
    tables.push(name)
    await session.append('main', `${workPrefix}${name}`, kinds, rows, 'temp')
    from = workTable(name)
  }
  return `SELECT ${columns.map((column) => `${castFromStaging(column.name, column.type)} AS ${quoteIdentifier(column.name)}`).join(', ')} FROM ${from}`
}

async function dropWorkTables(session: ColumnSession, tables: readonly string[]): Promise<void> {
  if (tables.length > 0) await session.runStatements(tables.map((name) => `DROP TABLE IF EXISTS ${workTable(name)}`).join('; '))
}

/** The lowest of some (at least one) values. */
function lowest(values: readonly bigint[]): bigint {
  return values.reduce((low, value) => (value < low ? value : low))
}

/** The highest of some (at least one) values. */
function highest(values: readonly bigint[]): bigint {
  return values.reduce((high, value) => (value > high ? value : high))
}

/** The columns of a session window's state rows: its partition columns (as the source has them), then its first and last event (µs). */
function sessionColumns(window: WindowSpec, columns: InputColumns['columns']): InputColumns['columns'] {
  const bigint = typeFromLabel('BIGINT')
  const hidden = (name: string): InputColumns['columns'][number] => ({ name, type: bigint, notNull: true, default: undefined })
  return [...window.partition.map((name) => columns.find((column) => column.name === name)!), hidden('_strata_ws'), hidden('_strata_wl')]
}

export class Streams {
  /** Plans by stream name and query text (a plan depends on the query and the source's definition only). */
  private readonly plans = new Map<string, { readonly query: string; readonly schemaTx: number; readonly plan: StreamPlan }>()
  /** A source's watermark as it stands in this transaction (sources.ts; set by the subsystem's index.ts): an ASOF join's step reads its other side's. */
  progressOf: ((source: string) => SourceProgress) | undefined
  /** The current error of a source's connector, if it is in trouble (connectors.ts; set by the subsystem's index.ts): SHOW STREAMS shows it. */
  connectorErrorOf: ((source: string) => string | undefined) | undefined
  /** Makes a materialized view over a table (views.ts, which keeps them; set by the subsystem's index.ts). */
  createOverTable: ((call: StatementCall, create: CreateStream, plan: StreamPlan, table: TableDefinition) => Promise<Rows>) | undefined

  constructor(
    private readonly host: SubsystemHost,
    /** Refuses to drop a relation a sink reads (sinks.ts), unless `cascade`. */
    private readonly checkSinks: (table: TableDefinition, cascade: boolean) => void,
  ) {}

  private get writer(): RowConnection {
    return this.host.rowStore.writer
  }

  private pendingTx(): number {
    const pending = this.host.ledger.pendingCommit
    if (pending === undefined) throw new StrataError('INTERNAL', 'a stream runs inside a write transaction')
    return pending.txId
  }

  /** The streams and views that read `name` (as their input or the other side of their join), by name. */
  private readers(name: string): StreamTable[] {
    return [...this.host.schema.catalog.tables.values()]
      .filter((table): table is StreamTable => table.stream !== undefined && (table.stream.source === name || table.stream.joins === name))
      .sort((left, right) => left.name.localeCompare(right.name))
  }

  /** The streams that read `source`, by name. */
  over(source: string): StreamTable[] {
    return [...this.host.schema.catalog.tables.values()]
      .filter((table): table is StreamTable => table.stream !== undefined && table.stream.over === undefined && (table.stream.source === source || table.stream.joins === source))
      .sort((left, right) => left.name.localeCompare(right.name))
  }

  /**
   * A source, or a stream another stream may read as one: a stateless stream over a source (or over
   * such a stream), whose rows are appended as its events arrive. Its watermark is its root source's,
   * on the event-time column it carries (`StreamPlan.eventTime`; none when it does not select it).
   */
  private sourceOf(name: string): SourceTable {
    const table = this.host.schema.catalog.tables.get(name)
    if (table?.source !== undefined) return table as SourceTable
    if (table?.stream !== undefined && table.stream.over === undefined) {
      const stream = table as StreamTable
      const plan = this.planOf(stream)
      if (this.appendsOnly(stream, plan)) {
        // A join's progress (relationProgress) is already the earliest time its rows can still have: no lateness on top.
        if (plan.joined !== undefined) return { ...stream, source: { watermarkColumn: plan.eventTime ?? null, delayUs: 0, allowedLatenessUs: 0 } }
        const input = this.sourceOf(stream.stream.source)
        return { ...stream, source: { watermarkColumn: plan.eventTime ?? null, delayUs: input.source.delayUs, allowedLatenessUs: input.source.allowedLatenessUs } }
      }
    }
    throw new StrataError('UNDEFINED_TABLE', `source "${name}" does not exist (a stream reads a source)`)
  }

  /** Whether a stream's rows are only ever appended, one step's rows after another's: it is stateless (an interval or ASOF join included). */
  private appendsOnly(stream: StreamTable, plan: StreamPlan): boolean {
    return stream.stream.over === undefined && plan.window === undefined && plan.groupColumns === undefined
  }

  /**
   * The watermark of a source, or of a stream read as one. A stream over one relation has its
   * input's. A join of two sources has the earliest event time its rows can still carry — the lower of
   * the two sides' limits (watermark minus allowed lateness; a flushed side brings nothing more): a
   * row carrying the left time l comes from a left event still to come (l ≥ the left limit) or from
   * a right event still to come (time r ≥ the right limit) with l ≥ r − high, the join's upper time
   * bound; a right time likewise with the lower bound; an ASOF join's rows carry left times, each
   * emitted once the right limit has passed it. It counts as a watermark without allowed lateness
   * (sourceOf), and no row the join writes is ever behind it.
   */
  relationProgress(name: string, depth = 0): SourceProgress {
    const table = this.host.schema.catalog.tables.get(name)
    if (table?.stream === undefined || table.stream.over !== undefined || depth > 64) return this.progressOf!(name)
    const plan = this.planOf(table as StreamTable)
    const left = this.relationProgress(table.stream.source, depth + 1)
    if (plan.joined === undefined) return left
    const leftLimit = limitFrom(left, this.sourceOf(table.stream.source))
    const rightLimit = limitFrom(this.relationProgress(plan.joined.source, depth + 1), this.sourceOf(plan.joined.source))
    const shift = plan.joined.asof !== undefined ? 0n : plan.eventSide === 'right' ? plan.joined.bounds?.lowUs : plan.joined.bounds?.highUs
    // The other side's limit, seen in the carried side's time (the bound the planner required for an
    // event time). A LEFT join's unmatched rows come from left events its threshold (unmatchedStep) —
    // the right limit minus the upper bound, as here — has passed: no lower than this.
    const carried = plan.eventSide === 'right' ? rightLimit : leftLimit
    const otherLimit = plan.eventSide === 'right' ? leftLimit : rightLimit
    const other = otherLimit === null || otherLimit === undefined ? otherLimit : shift === undefined || shift === null ? undefined : plan.eventSide === 'right' ? otherLimit + shift : otherLimit - shift
    if (carried === null && other === null) return { watermarkUs: null, flushed: true }
    if (plan.eventTime === undefined || carried === undefined || other === undefined) return { watermarkUs: null, flushed: false }
    const watermarkUs = carried === null ? other! : other === null ? carried : carried < other ? carried : other
    return { watermarkUs, flushed: false }
  }

  /** The limit of a source, or of a stream read as one (`limitFrom` of its `relationProgress`). */
  private limitOf(name: string): bigint | null | undefined {
    return limitFrom(this.relationProgress(name), this.sourceOf(name))
  }

  /** The source at the root of a chain of streams (a source's own name for a source). */
  rootOf(name: string): string {
    let current = this.host.schema.catalog.tables.get(name)
    for (let depth = 0; current?.stream !== undefined && depth < 64; depth++) current = this.host.schema.catalog.tables.get(current.stream.source)
    return current?.name ?? name
  }

  /**
   * The sources a stream joins with `source` (interval and ASOF joins, through chains of streams):
   * the roots of each join's other side, by name.
   */
  joinPartners(source: string): Set<string> {
    const partners = new Set<string>()
    for (const table of this.host.schema.catalog.tables.values()) {
      if (table.stream === undefined || table.stream.over !== undefined || table.stream.joins === undefined) continue
      const sides = [this.rootOf(table.stream.source), this.rootOf(table.stream.joins)]
      if (sides[0] === source && sides[1] !== source) partners.add(sides[1]!)
      if (sides[1] === source && sides[0] !== source) partners.add(sides[0]!)
    }
    return partners
  }

  /**
   * Every stream and materialized view that reads `name`, directly or through others, the farthest
   * first (the order DROP … CASCADE drops them in; dropping one may drop later ones, its parts, first).
   */
  dependentsOf(name: string): StreamTable[] {
    const order: StreamTable[] = []
    const visit = (current: string, depth: number): void => {
      if (depth > 64) return
      for (const stream of this.readers(current)) {
        if (order.includes(stream)) continue
        visit(stream.name, depth + 1)
        if (!order.includes(stream)) order.push(stream)
      }
    }
    visit(name, 0)
    return order
  }

  /**
   * What the planner knows of a source, or of a stream read as one: its watermark and its columns'
   * names. A stream that updates its rows or emits windows is not read as a source (its table is read
   * as a table instead).
   */
  private sourceForPlan(name: string): (SourceDefinition & { readonly columns: readonly string[] }) | undefined {
    const table = this.host.schema.catalog.tables.get(name)
    if (table?.stream !== undefined && table.stream.over === undefined) {
      if (!this.appendsOnly(table as StreamTable, this.planOf(table as StreamTable))) return undefined
    } else if (table?.source === undefined) return undefined
    const source = this.sourceOf(name)
    return { ...source.source, columns: source.columns.map((column) => column.name) }
  }

  /**
   * What the planner knows of an ordinary table a materialized view reads: no watermark, its columns
   * (`columns`: those a view recorded when it was created).
   */
  private tableForPlan(name: string, columns?: readonly string[], sources = false): (SourceDefinition & { readonly columns: readonly string[]; readonly table: true }) | undefined {
    const table = this.host.schema.catalog.tables.get(name)
    if (table === undefined || (table.source !== undefined && !sources)) return undefined
    if (columns === undefined && table.stream !== undefined && table.stream.over === undefined && this.appendsOnly(table as StreamTable, this.planOf(table as StreamTable))) return undefined
    return { watermarkColumn: null, delayUs: 0, allowedLatenessUs: 0, columns: columns ?? table.columns.map((column) => column.name), table: true }
  }

  /**
   * The column store's aggregate functions, read once (`loadAggregates`): whether a query aggregates
   * decides how it is kept, so an aggregate the planner did not know would be evaluated batch by batch
   * — a different answer. Until they are read (a plan made before any step, for EXPLAIN), the planner's
   * own list of the common ones.
   */
  private aggregates: ReadonlySet<string> | undefined

  /** Reads the column store's aggregate functions, once per process. */
  async loadAggregates(session: ColumnSession): Promise<void> {
    if (this.aggregates !== undefined) return
    const result = await session.run("SELECT DISTINCT lower(function_name) FROM duckdb_functions() WHERE function_type = 'aggregate'")
    this.aggregates = new Set(result.rows.map((row) => String(row[0])))
  }

  /**
   * A new stream's or materialized view's plan. It reads a source, or a stream that only appends as
   * one; anything else it reads as a table — an ordinary table, a view's, or a stream's whose rows
   * change — and is kept as a materialized view over it (views.ts).
   */
  private planForCreate(query: string): StreamPlan {
    return planStream(query, (name) => this.sourceForPlan(name) ?? this.tableForPlan(name), this.aggregates)
  }

  /**
   * Whether a stream's rows change after they are written (EMIT CHANGES, windowed or not; a view over a
   * table), rather than only being appended.
   */
  emitsChanges(stream: StreamTable): boolean {
    return stream.stream.over === 'table' || stream.stream.emit === 'changes' || this.planOf(stream).groupColumns !== undefined
  }

  /** A stream's plan (or a view's over a table), made again when its query or its input's definition changed. */
  planOf(stream: StreamTable): StreamPlan {
    const overTable = stream.stream.over === 'table'
    const input = this.host.schema.catalog.tables.get(stream.stream.source)
    if (input === undefined) throw new StrataError('UNDEFINED_TABLE', `table "${stream.stream.source}" of the materialized view "${stream.name}" does not exist`)
    const cached = this.plans.get(stream.name)
    if (cached !== undefined && cached.query === stream.stream.query && cached.schemaTx === input.schemaTx) return cached.plan
    const resolve = (name: string): ReturnType<Streams['tableForPlan']> | ReturnType<Streams['sourceForPlan']> => {
      if (!overTable) return this.sourceForPlan(name)
      // A view may read a source's table (a source joined with a subquery in FROM: Streams.create).
      if (name === input.name) return this.tableForPlan(name, stream.stream.columns, true)
      return name === stream.stream.joins ? this.tableForPlan(name, stream.stream.joinColumns, true) : undefined
    }
    const plan = planStream(stream.stream.query, resolve, this.aggregates)
    // A plan made before the aggregates were read is not kept: the next one is made with them.
    if (this.aggregates !== undefined) this.plans.set(stream.name, { query: stream.stream.query, schemaTx: input.schemaTx, plan })
    return plan
  }

  private stateSync(connection: RowConnection, name: string): StreamState {
    const row = connection.prepareSync('SELECT closed_until_us, open_from_us, done FROM _strata_streams WHERE name = ?', { bigints: true }).allSync([name])[0]
    return row === undefined ? { closedUntilUs: null, openFromUs: null, done: false } : { closedUntilUs: row[0] as bigint | null, openFromUs: row[1] as bigint | null, done: row[2] === 1n }
  }

  private saveStateSync(call: StatementCall, name: string, state: StreamState): void {
    this.writer
      .prepareSync('UPDATE _strata_streams SET closed_until_us = ?, open_from_us = ?, done = ?, tx_id = ? WHERE name = ?')
      .runSync([state.closedUntilUs, state.openFromUs, state.done ? 1 : 0, this.pendingTx(), name])
    call.stateChanged()
  }

  /** strata.streams' counters after a step: events it read, rows it wrote, events it evaluated (its working state). */
  countSync(call: StatementCall, name: string, counts: { readonly eventsIn: number; readonly eventsOut: number; readonly stateRows: number }): void {
    this.writer
      .prepareSync('UPDATE _strata_streams SET events_in = events_in + ?, events_out = events_out + ?, state_rows = ?, tx_id = ? WHERE name = ?')
      .runSync([counts.eventsIn, counts.eventsOut, counts.stateRows, this.pendingTx(), name])
    call.stateChanged()
  }

  /**
   * The names DuckDB gives the unnamed expressions a join-and-aggregate split would write differently
   * (joinAggregateNamesProbe): the probe over empty relations of the same columns, in a column-store
   * session. None when there is nothing to ask, or DuckDB cannot bind the expressions alone (the split
   * then refuses them, asking for AS).
   */
  private async splitNames(query: string, columnsOf: (relation: string) => readonly string[] | undefined): Promise<string[]> {
    const relationSql = (name: string): string => {
      const columns = this.host.schema.catalog.tables.get(name)!.columns
      return `(SELECT ${columns.map((column) => `CAST(NULL AS ${duckdbType(column.type)}) AS ${quoteIdentifier(column.name)}`).join(', ')} LIMIT 0)`
    }
    const probe = joinAggregateNamesProbe(query, columnsOf, relationSql)
    if (probe === undefined) return []
    const session = await this.host.syncer.acquireSession()
    try {
      return (await session.run(probe)).columns.map((column) => column.name)
    } catch {
      return []
    } finally {
      this.host.syncer.releaseSession(session)
    }
  }

  /** Whether a table's rows are made from events: a source's, a stream's, or a view's over such a table (through any chain of them). */
  private madeFromEvents(name: string, seen = new Set<string>()): boolean {
    const table = this.host.schema.catalog.tables.get(name)
    if (table === undefined || seen.has(name)) return false
    seen.add(name)
    if (table.source !== undefined) return true
    if (table.stream === undefined) return false
    return this.madeFromEvents(table.stream.source, seen) || (table.stream.joins !== undefined && this.madeFromEvents(table.stream.joins, seen))
  }

  // ───────────────────────────── DDL ─────────────────────────────

  /**
   * CREATE STREAM: plans the query, makes its table with the columns DuckDB gives it, and processes the
   * source's events so far. Subqueries in FROM are made parts first (`derivedTables`): streams or views
   * of their own, named `_strata_part_<stream>_<n>` (n counting every part of the statement, nested ones
   * too), which the stream reads in their place and which go when it is dropped (`dropSync`). `part`
   * is the naming of the statement's parts when this is one of them, and `made` lists the parts the
   * statement has made so far, with their queries: a subquery with the rows of one of them and a
   * subset of its columns reads that part instead of being made again (`sameRowsWithMore`).
   */
  async create(call: StatementCall, create: CreateStream, what = 'stream', part?: () => string, made: { readonly name: string; readonly query: string }[] = []): Promise<Rows> {
    const catalog = this.host.schema.catalog
    const existing = catalog.tables.get(create.name)
    if (existing !== undefined || catalog.views.has(create.name)) {
      if (existing?.stream !== undefined && create.ifNotExists) return empty()
      if (existing?.stream !== undefined && create.orReplace) {
        this.checkSinks(existing, false)
        this.dropSync(call, existing as StreamTable)
      }
      else throw new StrataError('DUPLICATE_TABLE', `relation "${create.name}" already exists`)
    }
    if (part === undefined) checkUserName(create.name, what)
    let count = 0
    const partName = part ?? ((): string => `${partPrefix}${create.name}_${++count}`)
    const derived = derivedTables(create.query, partName, (subquery) => made.find((earlier) => sameRowsWithMore(subquery, earlier.query))?.name)
    if (derived !== undefined) {
      for (const one of derived.parts) {
        await this.create(call, { name: one.name, orReplace: false, ifNotExists: false, query: one.query, emit: undefined }, what, partName, made)
        made.push(one)
      }
      create = { ...create, query: derived.query }
    }
    const aggregatesSession = await this.host.syncer.acquireSession()
    try {
      await this.loadAggregates(aggregatesSession)
    } finally {
      this.host.syncer.releaseSession(aggregatesSession)
    }
    let plan: StreamPlan
    try {
      plan = this.planForCreate(create.query)
    } catch (error) {
      // A join and an aggregate (or window) in one query the planner keeps only as a cascade: the join
      // made a part of its own, the query reading it (joinAggregateSplit).
      const columnsOf = (name: string): readonly string[] | undefined => this.host.schema.catalog.tables.get(name)?.columns.map((column) => column.name)
      const refused = error instanceof StrataError && error.code === 'NOT_SUPPORTED'
      const split = refused ? joinAggregateSplit(create.query, columnsOf, partName, await this.splitNames(create.query, columnsOf)) : undefined
      if (split === undefined) throw error
      // Where the cascade cannot be kept either, the one-query refusal says why (it names the join, not its part).
      try {
        await this.create(call, { name: split.partName, orReplace: false, ifNotExists: false, query: split.part, emit: undefined }, what, partName, made)
        plan = this.planForCreate(split.query)
      } catch {
        throw error
      }
      create = { ...create, query: split.query }
    }
    // A lookup join reads its table as it is when each event arrives: a subquery's rows over the same
    // events, or another stream's (a window's maximum), come later than that, so the answer would not be
    // the batch join's. A source joined with a part or with a table made from events is kept as a
    // materialized view over the two tables instead — the source's events as its table holds them —
    // brought up to date inside every transaction that writes either: the batch join. (A lookup of an
    // ordinary table keeps its meaning: the table as each event finds it.)
    if (plan.lookups.some((name) => name.startsWith(partPrefix) || this.madeFromEvents(name))) {
      const tables = planStream(create.query, (name) => this.tableForPlan(name, undefined, true), this.aggregates)
      if (this.createOverTable === undefined) throw new StrataError('INTERNAL', 'materialized views over tables are not wired')
      return this.createOverTable(call, create, tables, this.host.schema.catalog.tables.get(tables.source)!)
    }
    // The catalog as the parts left it.
    const input = this.host.schema.catalog.tables.get(plan.source)!
    const readsStream = input.stream !== undefined && input.stream.over === undefined && this.appendsOnly(input as StreamTable, this.planOf(input as StreamTable))
    if (input.source === undefined && !readsStream) {
      if (this.createOverTable === undefined) throw new StrataError('INTERNAL', 'materialized views over tables are not wired')
      return this.createOverTable(call, create, plan, input)
    }
    const windowedChanges = create.emit === 'changes' && plan.window !== undefined
    if (windowedChanges && plan.window!.kind === 'session') throw new StrataError('NOT_SUPPORTED', 'EMIT CHANGES of session windows (not yet: tumble and hop windows emit changes)')
    if (windowedChanges && plan.windowKey !== undefined && !Array.isArray(plan.windowKey)) throw new StrataError('NOT_SUPPORTED', (plan.windowKey as { refused: string }).refused)
    if (create.emit === 'close' && plan.window === undefined) throw new StrataError('SYNTAX_ERROR', 'EMIT ON WINDOW CLOSE needs a window (tumble, hop, session) in the query')
    const source = this.sourceOf(plan.source)
    const session = await this.host.syncer.acquireSession()
    try {
      const other = plan.joined === undefined ? undefined : { columns: this.sourceOf(plan.joined.source).columns, events: [] }
      const result = await this.evaluate(session, create.name, source, plan, [], { closedUs: null, limitUs: null, describeOnly: true }, call, other)
      const columns = result.columns.map((column) => ({ name: column.name, type: typeFromLabel(column.type), notNull: false, default: undefined }))
      const names = new Set<string>()
      for (const column of columns) {
        if (names.has(column.name)) throw new StrataError('DUPLICATE_COLUMN', `the stream's query has two columns named "${column.name}": give them aliases`)
        names.add(column.name)
      }
      this.host.createTableSync({
        name: create.name,
        columns,
        primaryKey: null,
        uniques: [],
        checks: [],
        schemaTx: this.pendingTx(),
        stream: { query: create.query, source: source.name, ...(windowedChanges ? { emit: 'changes' as const } : {}), ...(plan.joined === undefined ? {} : { joins: plan.joined.source }) },
      })
      call.schemaChanged()
      this.writer
        .prepareSync('INSERT OR REPLACE INTO _strata_streams (name, source, query, closed_until_us, open_from_us, done, tx_id) VALUES (?, ?, ?, NULL, NULL, 0, ?)')
        .runSync([create.name, source.name, create.query, this.pendingTx()])
      // An aggregate without a window reads each touched group's events and its row by the GROUP BY
      // columns at every step: indexed on both tables (named and dropped as a view's lookup indexes),
      // or each group's read scans them, and a step touching many groups grows with the square.
      if (plan.groupColumns !== undefined && plan.groupColumns.length > 0 && !windowedChanges) {
        const columns = plan.groupColumns.map(quoteIdentifier).join(', ')
        this.writer.execSync(`CREATE INDEX ${quoteIdentifier(`${viewIndexPrefix(create.name)}1`)} ON ${quoteIdentifier(source.name)} (${columns})`)
        this.writer.execSync(`CREATE INDEX ${quoteIdentifier(`${viewIndexPrefix(create.name)}2`)} ON ${quoteIdentifier(create.name)} (${columns})`)
      }
      // Backfill: the events the source holds already.
      const stream = this.host.schema.catalog.tables.get(create.name) as StreamTable
      const events = plan.window === undefined || windowedChanges ? this.allEventsSync(source) : []
      if (plan.joined?.asof !== undefined) await this.asofStep(call, session, stream, plan, undefined, [], this.relationProgress(plan.joined.source))
      else if (windowedChanges) await this.updateWindows(call, session, stream, source, plan, events)
      else if (plan.groupColumns !== undefined) await this.updateGroups(call, session, stream, source, plan, events)
      else if (plan.window === undefined) {
        await this.emitRows(call, session, stream, source, plan, events)
        if (plan.joined?.outer !== undefined) await this.unmatchedStep(call, session, stream, plan, undefined, [])
        if (plan.joined?.outerRight !== undefined) await this.unmatchedRightStep(call, session, stream, plan, undefined, [])
      }
      else await this.closeWindows(call, session, stream, source, plan, this.relationProgress(source.name), [], source.name)
    } finally {
      this.host.syncer.releaseSession(session)
    }
    return empty()
  }

  /** DROP STREAM (or the CASCADE of DROP SOURCE): its table goes, its history kept as DROP TABLE keeps it. */
  dropSync(call: StatementCall, stream: StreamTable): void {
    this.host.dropTableSync(stream)
    this.plans.delete(stream.name)
    call.schemaChanged()
    // Its parts (subqueries in FROM kept as streams of their own) go with it, once nothing else reads them.
    for (const input of [stream.stream.source, stream.stream.joins]) {
      const part = input === undefined || !input.startsWith(partPrefix) ? undefined : this.host.schema.catalog.tables.get(input)
      if (part?.stream !== undefined && this.readers(part.name).length === 0) this.dropSync(call, part as StreamTable)
    }
  }

  /**
   * The earliest event time (µs) the streams reading `source` may still need to read from its table
   * (a window not yet emitted, a group evaluated again, the other side of a join), given its watermark
   * now: null when none needs any, 'all' when one may need every event (an EMIT CHANGES aggregate
   * without a window evaluates a group over all its events; a join meets any earlier event).
   */
  neededFromSync(source: SourceTable, watermarkUs: bigint | null): bigint | null | 'all' {
    let needed: bigint | null = null
    const atLeast = (bound: bigint): void => {
      if (needed === null || bound < needed) needed = bound
    }
    // A materialized view reading the source's table (a source joined with a subquery) reads all of it.
    if (this.readers(source.name).some((reader) => reader.stream.over === 'table')) return 'all'
    for (const stream of this.over(source.name)) {
      const plan = this.planOf(stream)
      if (plan.joined !== undefined && plan.window !== undefined) {
        // Windows over a join read both sides' events of the windows not yet closed (and the right side's within the bounds).
        const state = this.stateSync(this.writer, stream.name)
        if (state.done) continue
        if (state.closedUntilUs === null) return 'all'
        const fromUs = state.closedUntilUs - plan.window.sizeUs
        if (source.name === plan.source) atLeast(fromUs)
        else if (plan.joined.bounds?.lowUs === null || plan.joined.bounds?.lowUs === undefined) return 'all'
        else atLeast(fromUs + plan.joined.bounds.lowUs)
        continue
      }
      if (plan.joined !== undefined) {
        const kept = this.joinKeepsFromSync(stream, plan, source)
        if (kept === 'all') return 'all'
        if (kept !== null) atLeast(kept)
        continue
      }
      if (plan.groupColumns !== undefined) return 'all'
      const window = plan.window
      if (window === undefined) continue
      const state = this.stateSync(this.writer, stream.name)
      if (state.done) continue
      if (stream.stream.emit === 'changes') {
        // A batch evaluates again the windows its events fall in: none ends before the lateness bound.
        if (watermarkUs === null) return 'all'
        atLeast(watermarkUs - BigInt(source.source.allowedLatenessUs) - window.sizeUs)
      } else if (window.kind === 'session') {
        if (state.openFromUs === null) return 'all'
        atLeast(state.openFromUs)
      } else {
        if (state.closedUntilUs === null) return 'all'
        atLeast(state.closedUntilUs - window.sizeUs)
      }
    }
    return needed
  }

  /**
   * The earliest event time of `source` an interval join may still pair with an event of its other
   * side: a left event (time l) meets right events up to l + high, and every right event still to
   * come has a time of at least the right side's watermark minus its allowed lateness (its limit), so
   * the left events before that limit − high are done; a right event (time r) meets left events from
   * r − high to r − low, so those before the left limit + low are done. Null when the other side
   * has flushed (no event is to come); `all` without the bound it takes, or before the other side
   * has a watermark, and for an ASOF join.
   */
  private joinKeepsFromSync(stream: StreamTable, plan: StreamPlan, source: SourceTable): bigint | null | 'all' {
    const joined = plan.joined!
    if (joined.asof !== undefined || joined.bounds === undefined) return 'all'
    const sourceIsLeft = source.name === plan.source
    // The bound seen from this side: a left event meets right ones up to its time + high, a right one left ones from its time − high to its time − low.
    const bound = sourceIsLeft ? joined.bounds.highUs : joined.bounds.lowUs
    if (bound === null) return 'all'
    let keptFrom: bigint | null = null
    const keep = (fromUs: bigint): void => {
      if (keptFrom === null || fromUs < keptFrom) keptFrom = fromUs
    }
    // Pairs with the other side's events still to come (none once it has flushed).
    const limitUs = this.limitOf(sourceIsLeft ? joined.source : plan.source)
    if (limitUs === undefined) return 'all'
    if (limitUs !== null) keep(sourceIsLeft ? limitUs - bound : limitUs + bound)
    // A LEFT or FULL join's left events wait, with the right events that may match them, until known unmatched (unmatchedStep).
    const state = joined.outer === undefined ? undefined : this.stateSync(this.writer, stream.name)
    if (state !== undefined && !state.done) {
      if (state.closedUntilUs === null) return 'all'
      keep(sourceIsLeft ? state.closedUntilUs : state.closedUntilUs + bound)
    }
    // A FULL join's right events wait too, with the left events that may match them (unmatchedRightStep).
    if (joined.outerRight !== undefined) {
      const passedUs = state!.openFromUs
      if (passedUs === null) return 'all'
      if (passedUs !== allPassedUs) keep(sourceIsLeft ? passedUs - bound : passedUs)
    }
    return keptFrom
  }

  /** A stream another stream reads is not dropped (DROP SOURCE … CASCADE drops the farthest first). */
  checkDropSync(table: TableDefinition): void {
    const reader = this.over(table.name)[0]
    if (reader !== undefined && table.stream !== undefined) throw new StrataError('NOT_SUPPORTED', `cannot drop the stream "${table.name}": the stream "${reader.name}" reads it (drop that one first)`)
  }

  /** The schema hook: a dropped stream's progress goes with it. */
  droppedSync(writer: RowConnection, table: TableDefinition): void {
    if (table.stream === undefined) return
    writer.prepareSync('DELETE FROM _strata_streams WHERE name = ?').runSync([table.name])
    dropSessionsSync(writer, table.name)
  }

  // ───────────────────────────── steps ─────────────────────────────

  /**
   * After a batch of `source` was written (`accepted`: its accepted events, storage values in the
   * source's column order) and its watermark moved to `progress`: every stream over it takes its step.
   */
  async afterBatch(call: StatementCall, source: SourceTable, accepted: readonly (readonly RowValue[])[], progress: SourceProgress): Promise<void> {
    const streams = this.over(source.name)
    if (streams.length === 0) return
    const session = await this.host.syncer.acquireSession()
    try {
      await this.loadAggregates(session)
      for (const stream of streams) {
        const plan = this.planOf(stream)
        // Windows over a join close by both sides' progress, whichever side's batch this is.
        if (plan.joined !== undefined && plan.window !== undefined) await this.closeWindows(call, session, stream, this.sourceOf(plan.source), plan, progress, accepted, source.name)
        else if (plan.joined?.asof !== undefined) {
          const emitted = await this.asofStep(call, session, stream, plan, source, accepted, this.relationProgress(plan.joined.source))
          if (this.over(stream.name).length > 0) await this.afterBatch(call, this.sourceOf(stream.name), emitted, this.relationProgress(stream.name))
        } else if (stream.stream.emit === 'changes' && plan.window !== undefined) await this.updateWindows(call, session, stream, source, plan, accepted)
        else if (plan.groupColumns !== undefined) await this.updateGroups(call, session, stream, source, plan, accepted)
        else if (plan.window === undefined) {
          const emitted = await this.emitRows(call, session, stream, source, plan, accepted)
          if (plan.joined?.outer !== undefined) emitted.push(...(await this.unmatchedStep(call, session, stream, plan, source, accepted)))
          if (plan.joined?.outerRight !== undefined) emitted.push(...(await this.unmatchedRightStep(call, session, stream, plan, source, accepted)))
          // A stream over this one takes the rows it appended as its batch, with its own watermark.
          if (this.appendsOnly(stream, plan) && this.over(stream.name).length > 0) await this.afterBatch(call, this.sourceOf(stream.name), emitted, this.relationProgress(stream.name))
        } else await this.closeWindows(call, session, stream, source, plan, progress, accepted, source.name)
      }
    } finally {
      this.host.syncer.releaseSession(session)
    }
  }

  /**
   * A stateless stream: its query over `events` of `source` (joined with its lookup tables as they are
   * now, or, for an interval join, with the other source's events so far), the rows appended to its
   * table. An interval join emits each pair once, when the later of its two events is processed: a
   * batch of one side meets every event of the other side accepted before it, this transaction's
   * included, so the stream holds the batch join of everything accepted.
   */
  private async emitRows(call: StatementCall, session: ColumnSession, stream: StreamTable, source: SourceTable, plan: StreamPlan, events: readonly (readonly RowValue[])[]): Promise<RowValue[][]> {
    if (events.length === 0) return []
    const projection = this.projectionOf(stream, source, plan)
    if (projection !== undefined) {
      const rows = events.map((event) => projection.map((at) => event[at]!))
      call.appendRowsSync(stream, rows, true)
      this.countSync(call, stream.name, { eventsIn: events.length, eventsOut: rows.length, stateRows: 0 })
      return rows
    }
    const bounds = { closedUs: null, limitUs: null, describeOnly: false }
    let result: Awaited<ReturnType<Streams['evaluate']>>
    let stateRows = 0
    if (plan.joined === undefined) result = await this.evaluate(session, stream.name, source, plan, events, bounds, call)
    else {
      const left = this.sourceOf(plan.source)
      const right = this.sourceOf(plan.joined.source)
      const batchIsLeft = source.name === left.name
      const keys = plan.joined.keys.map((key) => (batchIsLeft ? { mine: key.left, other: key.right } : { mine: key.right, other: key.left }))
      const otherEvents = this.matchingEventsSync(batchIsLeft ? right : left, source, keys, events, this.pairableRange(plan, left, right, batchIsLeft, events))
      stateRows = otherEvents.length
      result = await this.evaluate(session, stream.name, left, plan, batchIsLeft ? events : otherEvents, bounds, call, { columns: right.columns, events: batchIsLeft ? otherEvents : events })
    }
    const rows = this.insertResultSync(call, stream, result.rows, true)
    this.countSync(call, stream.name, { eventsIn: events.length, eventsOut: result.rows.length, stateRows })
    return rows
  }

  /**
   * A select list of the source's columns and nothing else (StreamPlan.projection), each of the type
   * it has in the stream's table: the stream's rows are the events' values as they are, with nothing
   * to evaluate (no DuckDB call); undefined for any other stream.
   */
  private projectionOf(stream: StreamTable, source: InputColumns, plan: StreamPlan): readonly number[] | undefined {
    const projection = plan.projection
    if (projection === undefined || plan.lookups.length > 0 || projection.length !== stream.columns.length) return undefined
    return projection.every((at, index) => duckdbType(source.columns[at]!.type) === duckdbType(stream.columns[index]!.type)) ? projection : undefined
  }

  /**
   * An ASOF join's step. A left event's match (the latest right event at or before it) is final once
   * no right event at or before it can still be accepted: once the right source's watermark minus its
   * allowed lateness (the limit) has passed it. `closed_until_us` holds the limit the stream has
   * emitted up to (`done` after the right source's flush): a left batch (`batch` the left source)
   * emits its events below it at once, and a move of the right source's limit — its batch, watermark
   * or flush, or the CREATE (`batch` undefined) — emits the left events it passed. Each left event is
   * emitted once, with the match DuckDB's ASOF JOIN gives it over everything accepted.
   */
  private async asofStep(call: StatementCall, session: ColumnSession, stream: StreamTable, plan: StreamPlan, batch: SourceTable | undefined, accepted: readonly (readonly RowValue[])[], rightProgress: SourceProgress): Promise<RowValue[][]> {
    const joined = plan.joined!
    const left = this.sourceOf(plan.source)
    const right = this.sourceOf(joined.source)
    const column = left.source.watermarkColumn!
    const state = this.stateSync(this.writer, stream.name)
    let events: RowValue[][]
    if (batch !== undefined && batch.name === left.name) {
      // Left events at once where their match is final already; the others wait for the right source's limit.
      if (accepted.length === 0 || (state.closedUntilUs === null && !state.done)) return []
      const position = left.columns.findIndex((candidate) => candidate.name === column)
      events = accepted.filter((event) => state.done || BigInt(event[position] as number | bigint) < state.closedUntilUs!) as RowValue[][]
      this.countSync(call, stream.name, { eventsIn: accepted.length, eventsOut: 0, stateRows: 0 })
    } else {
      if (state.done) return []
      const limitUs = limitFrom(rightProgress, right)
      if (limitUs === undefined || (limitUs !== null && state.closedUntilUs !== null && limitUs <= state.closedUntilUs)) return []
      events = this.eventsSync(left, column, state.closedUntilUs, limitUs)
      this.saveStateSync(call, stream.name, limitUs === null ? { closedUntilUs: state.closedUntilUs, openFromUs: null, done: true } : { closedUntilUs: limitUs, openFromUs: null, done: false })
      if (batch !== undefined && accepted.length > 0) this.countSync(call, stream.name, { eventsIn: accepted.length, eventsOut: 0, stateRows: 0 })
    }
    if (events.length === 0) return []
    const keys = joined.keys.map((key) => ({ mine: key.left, other: key.right }))
    const rightEvents = this.matchingEventsSync(right, left, keys, events)
    const result = await this.evaluate(session, stream.name, left, plan, events, { closedUs: null, limitUs: null, describeOnly: false }, call, { columns: right.columns, events: rightEvents })
    const rows = this.insertResultSync(call, stream, result.rows, true)
    this.countSync(call, stream.name, { eventsIn: 0, eventsOut: result.rows.length, stateRows: rightEvents.length })
    return rows
  }

  /**
   * The event times of the other side an interval join's time bounds let `events` (a batch of the
   * left side when `batchIsLeft`) meet: from the batch's earliest time plus the lower bound to its
   * latest plus the upper one, seen from the other side. Undefined when the join has no bounds, or
   * its two time columns are of different types (TIMESTAMP against TIMESTAMPTZ compares through a
   * time zone).
   */
  private pairableRange(plan: StreamPlan, left: SourceTable, right: SourceTable, batchIsLeft: boolean, events: readonly (readonly RowValue[])[]): EventRange | undefined {
    const bounds = plan.joined?.bounds
    const leftTime = left.source.watermarkColumn
    const rightTime = right.source.watermarkColumn
    if (bounds === undefined || leftTime === null || rightTime === null || events.length === 0) return undefined
    const leftColumn = left.columns.find((column) => column.name === leftTime)!
    const rightColumn = right.columns.find((column) => column.name === rightTime)!
    if (JSON.stringify(leftColumn.type) !== JSON.stringify(rightColumn.type)) return undefined
    const mine = batchIsLeft ? left : right
    const position = mine.columns.findIndex((column) => column.name === (batchIsLeft ? leftTime : rightTime))
    let earliest: bigint | undefined
    let latest: bigint | undefined
    for (const event of events) {
      const time = BigInt(event[position] as number | bigint)
      if (earliest === undefined || time < earliest) earliest = time
      if (latest === undefined || time > latest) latest = time
    }
    // right − left ∈ [low, high]: a right time in [left + low, left + high], a left one in [right − high, right − low].
    const { lowUs, highUs } = bounds
    if (batchIsLeft) return { column: rightTime, fromUs: lowUs === null ? null : earliest! + lowUs, toUs: highUs === null ? null : latest! + highUs }
    return { column: leftTime, fromUs: highUs === null ? null : earliest! - highUs, toUs: lowUs === null ? null : latest! - lowUs }
  }

  /**
   * A LEFT interval join's unmatched left events. A left event (time l) has no match still to come
   * once the right side's limit (watermark minus allowed lateness) is beyond l + high, the join's upper
   * time bound; `closed_until_us` holds that threshold as of the last step (`done` once the right side
   * has flushed). Each step emits the left events it newly passed — and those of a left batch already
   * below it — that no right event matches, each NULL-extended by the stream's query as a batch LEFT
   * JOIN does (`joined.outer`). Their pairs were emitted as they met, so each left event appears as
   * its pairs or once unmatched, never both.
   */
  private async unmatchedStep(call: StatementCall, session: ColumnSession, stream: StreamTable, plan: StreamPlan, batch: SourceTable | undefined, accepted: readonly (readonly RowValue[])[]): Promise<RowValue[][]> {
    const joined = plan.joined!
    const left = this.sourceOf(plan.source)
    const right = this.sourceOf(joined.source)
    const column = left.source.watermarkColumn!
    const state = this.stateSync(this.writer, stream.name)
    let events: RowValue[][] = []
    if (batch !== undefined && batch.name === left.name && (state.done || state.closedUntilUs !== null)) {
      const position = left.columns.findIndex((candidate) => candidate.name === column)
      events = accepted.filter((event) => state.done || BigInt(event[position] as number | bigint) < state.closedUntilUs!) as RowValue[][]
    }
    const rightLimitUs = this.limitOf(joined.source)
    const thresholdUs = rightLimitUs === null || rightLimitUs === undefined ? rightLimitUs : rightLimitUs - joined.bounds!.highUs!
    if (!state.done && thresholdUs !== undefined && (thresholdUs === null || state.closedUntilUs === null || thresholdUs > state.closedUntilUs)) {
      events.push(...this.eventsSync(left, column, state.closedUntilUs, thresholdUs))
      // A FULL join's right-side threshold (openFromUs) is unmatchedRightStep's, kept as it is.
      this.saveStateSync(call, stream.name, thresholdUs === null ? { closedUntilUs: state.closedUntilUs, openFromUs: state.openFromUs, done: true } : { closedUntilUs: thresholdUs, openFromUs: state.openFromUs, done: false })
    }
    if (events.length === 0) return []
    const keys = joined.keys.map((key) => ({ mine: key.left, other: key.right }))
    const rightEvents = this.matchingEventsSync(right, left, keys, events, this.pairableRange(plan, left, right, true, events))
    const result = await this.evaluate(session, stream.name, left, { ...plan, sql: joined.outer! }, events, { closedUs: null, limitUs: null, describeOnly: false }, call, { columns: right.columns, events: rightEvents })
    const rows = this.insertResultSync(call, stream, result.rows, true)
    this.countSync(call, stream.name, { eventsIn: 0, eventsOut: result.rows.length, stateRows: rightEvents.length })
    return rows
  }

  /**
   * A FULL interval join's unmatched right events, as unmatchedStep's left ones the other way round: a
   * right event (time r) has no match still to come once the left side's limit is beyond r − low, the
   * join's lower time bound. `open_from_us` holds that threshold as of the last step (`allPassedUs`
   * once the left side has flushed: every right event is past it). Each step emits the right events it
   * newly passed — and those of a right batch already below it — that no left event matches, each
   * NULL-extended by the stream's query as a batch FULL JOIN does (`joined.outerRight`).
   */
  private async unmatchedRightStep(call: StatementCall, session: ColumnSession, stream: StreamTable, plan: StreamPlan, batch: SourceTable | undefined, accepted: readonly (readonly RowValue[])[]): Promise<RowValue[][]> {
    const joined = plan.joined!
    const left = this.sourceOf(plan.source)
    const right = this.sourceOf(joined.source)
    const column = right.source.watermarkColumn!
    const state = this.stateSync(this.writer, stream.name)
    const passedUs = state.openFromUs
    let events: RowValue[][] = []
    if (batch !== undefined && batch.name === right.name && passedUs !== null) {
      const position = right.columns.findIndex((candidate) => candidate.name === column)
      events = accepted.filter((event) => BigInt(event[position] as number | bigint) < passedUs) as RowValue[][]
    }
    const leftLimitUs = this.limitOf(plan.source)
    const thresholdUs = leftLimitUs === null ? allPassedUs : leftLimitUs === undefined ? undefined : leftLimitUs + joined.bounds!.lowUs!
    if (thresholdUs !== undefined && (passedUs === null || thresholdUs > passedUs)) {
      events.push(...this.eventsSync(right, column, passedUs, thresholdUs === allPassedUs ? null : thresholdUs))
      this.saveStateSync(call, stream.name, { ...state, openFromUs: thresholdUs })
    }
    if (events.length === 0) return []
    const keys = joined.keys.map((key) => ({ mine: key.right, other: key.left }))
    const leftEvents = this.matchingEventsSync(left, right, keys, events, this.pairableRange(plan, left, right, false, events))
    const result = await this.evaluate(session, stream.name, left, { ...plan, sql: joined.outerRight! }, leftEvents, { closedUs: null, limitUs: null, describeOnly: false }, call, { columns: right.columns, events })
    const rows = this.insertResultSync(call, stream, result.rows, true)
    this.countSync(call, stream.name, { eventsIn: 0, eventsOut: result.rows.length, stateRows: leftEvents.length })
    return rows
  }

  /**
   * The events of `other` that may meet `events` of `mine` in an interval join: those equal on the
   * join's key columns to one of them (NULL equals nothing), or all of them when the join has no such
   * equality or its two columns are stored differently (then SQLite's equality could differ from
   * DuckDB's); of those, only the ones whose event time is in `range` (inclusive) when it is given.
   */
  private matchingEventsSync(other: SourceTable, mine: SourceTable, keys: readonly { readonly mine: string; readonly other: string }[], events: readonly (readonly RowValue[])[], range?: EventRange): RowValue[][] {
    const typeOf = (table: SourceTable, name: string): string => JSON.stringify(table.columns.find((column) => column.name === name)?.type)
    const usable = keys.filter((key) => typeOf(mine, key.mine) === typeOf(other, key.other))
    const rangeSql: string[] = []
    const rangeParams: RowValue[] = []
    if (range !== undefined && range.fromUs !== null) {
      rangeSql.push(`${quoteIdentifier(range.column)} >= ?`)
      rangeParams.push(range.fromUs)
    }
    if (range !== undefined && range.toUs !== null) {
      rangeSql.push(`${quoteIdentifier(range.column)} <= ?`)
      rangeParams.push(range.toUs)
    }
    if (usable.length === 0) {
      if (rangeSql.length === 0) return this.allEventsSync(other)
      const bigints = readsIntegersAsBigints(other.columns.map((column) => column.type))
      return this.writer.prepareSync(`${this.selectEventsSql(other)} WHERE ${rangeSql.join(' AND ')} ORDER BY rowid`, { bigints }).allSync(rangeParams)
    }
    const positions = usable.map((key) => mine.columns.findIndex((column) => column.name === key.mine))
    const tuples = new Map<string, RowValue[]>()
    for (const event of events) {
      const tuple = positions.map((position) => event[position]!)
      if (tuple.some((value) => value === null)) continue
      tuples.set(groupId(tuple), tuple)
    }
    const bigints = readsIntegersAsBigints(other.columns.map((column) => column.type))
    const found: RowValue[][] = []
    const all = [...tuples.values()]
    const perScan = Math.max(1, Math.floor(limits.keysPerScanMax / usable.length))
    const one = `(${usable.map((key) => `${quoteIdentifier(key.other)} = ?`).join(' AND ')})`
    for (let start = 0; start < all.length; start += perScan) {
      const chunk = all.slice(start, start + perScan)
      const where = `${anyOf(chunk.map(() => one))}${rangeSql.map((bound) => ` AND ${bound}`).join('')}`
      found.push(...this.writer.prepareSync(`${this.selectEventsSql(other)} WHERE ${where} ORDER BY rowid`, { bigints }).allSync([...chunk.flat(), ...rangeParams]))
    }
    return found
  }

  /**
   * An aggregate without a window (EMIT CHANGES): the groups `events` touch are evaluated again over
   * all their events, and each one's row is updated in place (a change with before and after),
   * inserted when the group is new, deleted when it no longer has a row (HAVING).
   */
  private async updateGroups(call: StatementCall, session: ColumnSession, stream: StreamTable, source: SourceTable, plan: StreamPlan, events: readonly (readonly RowValue[])[]): Promise<void> {
    if (events.length === 0) return
    const keys = plan.groupColumns!
    const positions = keys.map((name) => source.columns.findIndex((column) => column.name === name))
    const touched = new Map<string, RowValue[]>()
    for (const event of events) {
      const key = positions.map((position) => event[position]!)
      touched.set(groupId(key), key)
    }
    const groups = [...touched.values()]
    const groupEvents = this.groupEventsSync(source, keys, groups)
    const result = await this.evaluate(session, stream.name, source, plan, groupEvents, { closedUs: null, limitUs: null, describeOnly: false })
    const written = this.replaceGroupsSync(call, stream, keys, touched, result.rows)
    this.countSync(call, stream.name, { eventsIn: events.length, eventsOut: written, stateRows: groupEvents.length })
  }

  /**
   * Each touched group's rows of an aggregate's table (`keys`: the GROUP BY columns; `touched`: the
   * groups by groupId) made the `rows` evaluated for it: a group's one row updated in place when it
   * changed (a change with before and after) and left alone when not, otherwise its rows deleted and
   * the new ones inserted (a group HAVING drops has none). Returns how many rows it wrote.
   */
  replaceGroupsSync(call: StatementCall, stream: StreamTable, keys: readonly string[], touched: ReadonlyMap<string, readonly RowValue[]>, rows: readonly unknown[][]): number {
    const outputs = keys.map((name) => stream.columns.findIndex((column) => column.name === name))
    const rowsByGroup = new Map<string, unknown[][]>()
    for (const row of rows) {
      const id = groupId(outputs.map((index) => toStorage(row[index], stream.columns[index]!.type)))
      rowsByGroup.set(id, [...(rowsByGroup.get(id) ?? []), row])
    }
    const columns = stream.columns.map((column) => quoteIdentifier(column.name))
    const match = keys.length === 0 ? '' : ` WHERE ${keys.map((name) => `${quoteIdentifier(name)} IS ?`).join(' AND ')}`
    const table = `main.${quoteIdentifier(stream.name)}`
    const current = this.writer.prepareSync(`SELECT ${columns.join(', ')} FROM ${table}${match}`, { bigints: readsIntegersAsBigints(stream.columns.map((column) => column.type)) })
    const update = this.writer.prepareSync(`UPDATE ${table} SET ${columns.map((column) => `${column} = ?`).join(', ')}${match}`)
    const remove = this.writer.prepareSync(`DELETE FROM ${table}${match}`)
    let written = 0
    for (const [id, key] of touched) {
      const groupRows = rowsByGroup.get(id) ?? []
      const held = current.allSync([...key])
      const values = groupRows.map((row) => stream.columns.map((column, index) => toStorage(row[index], column.type)))
      if (held.length === 1 && values.length === 1) {
        // A group's row that did not change is left alone: no change without a difference.
        if (groupId(held[0]!) !== groupId(values[0]!)) {
          update.runSync([...values[0]!, ...key])
          written++
        }
        continue
      }
      if (held.length > 0) remove.runSync([...key])
      this.insertResultSync(call, stream, groupRows, false)
      written += held.length + groupRows.length
    }
    return written
  }

  /**
   * A windowed aggregate that emits changes: every window holding one of `events` is evaluated again
   * over all its events, and each of its rows updated in place, inserted, or deleted (HAVING), by its
   * key (the other GROUP BY columns, `window_start`, `window_end`). A closed window never changes:
   * no accepted event falls in it.
   */
  private async updateWindows(call: StatementCall, session: ColumnSession, stream: StreamTable, source: SourceTable, plan: StreamPlan, events: readonly (readonly RowValue[])[]): Promise<void> {
    if (events.length === 0) return
    const window = plan.window!
    const timeIndex = source.columns.findIndex((column) => column.name === window.column)
    // The windows holding an event end from its last window start + slide to that start + size.
    let firstEnd: bigint | undefined
    let lastEnd: bigint | undefined
    for (const event of events) {
      const time = BigInt(event[timeIndex] as number | bigint)
      const shifted = time - window.offsetUs
      const lastStart = time - (((shifted % window.slideUs) + window.slideUs) % window.slideUs)
      if (firstEnd === undefined || lastStart + window.slideUs < firstEnd) firstEnd = lastStart + window.slideUs
      if (lastEnd === undefined || lastStart + window.sizeUs > lastEnd) lastEnd = lastStart + window.sizeUs
    }
    const windowEvents = this.eventsSync(source, window.column, firstEnd! - window.sizeUs, lastEnd!)
    const result = await this.evaluate(session, stream.name, source, plan, windowEvents, { closedUs: firstEnd! - 1n, limitUs: lastEnd!, describeOnly: false })
    const keys = plan.windowKey as readonly string[]
    const positions = keys.map((name) => stream.columns.findIndex((column) => column.name === name))
    const keyOf = (values: readonly unknown[]): string => groupId(positions.map((position) => values[position]))
    const table = `main.${quoteIdentifier(stream.name)}`
    const columns = stream.columns.map((column) => quoteIdentifier(column.name))
    const held = new Map<string, RowValue[]>()
    for (const row of this.writer
      .prepareSync(`SELECT ${columns.join(', ')} FROM ${table} WHERE ${quoteIdentifier('window_end')} >= ? AND ${quoteIdentifier('window_end')} <= ?`, { bigints: readsIntegersAsBigints(stream.columns.map((column) => column.type)) })
      .allSync([firstEnd!, lastEnd!])) {
      held.set(keyOf(row), row)
    }
    const match = ` WHERE ${keys.map((name) => `${quoteIdentifier(name)} IS ?`).join(' AND ')}`
    const update = this.writer.prepareSync(`UPDATE ${table} SET ${columns.map((column) => `${column} = ?`).join(', ')}${match}`)
    const remove = this.writer.prepareSync(`DELETE FROM ${table}${match}`)
    let written = 0
    const inserted: unknown[][] = []
    for (const row of result.rows) {
      const values = stream.columns.map((column, index) => toStorage(row[index], column.type))
      const key = keyOf(values)
      const before = held.get(key)
      held.delete(key)
      if (before === undefined) inserted.push(row)
      else if (groupId(before) !== groupId(values)) {
        update.runSync([...values, ...positions.map((position) => values[position]!)])
        written++
      }
    }
    for (const row of held.values()) {
      remove.runSync(positions.map((position) => row[position]!))
      written++
    }
    this.insertResultSync(call, stream, inserted, false)
    this.countSync(call, stream.name, { eventsIn: events.length, eventsOut: written + inserted.length, stateRows: windowEvents.length })
  }

  /** The source's events in the given groups (each a value per group column; NULL matches NULL), or all of them when it groups by nothing. */
  private groupEventsSync(source: SourceTable, keys: readonly string[], groups: readonly (readonly RowValue[])[]): RowValue[][] {
    const bigints = readsIntegersAsBigints(source.columns.map((column) => column.type))
    if (keys.length === 0) return this.writer.prepareSync(`${this.selectEventsSql(source)} ORDER BY rowid`, { bigints }).allSync([])
    const events: RowValue[][] = []
    const match = this.writer.prepareSync(`${this.selectEventsSql(source)} WHERE ${keys.map((name) => `${quoteIdentifier(name)} IS ?`).join(' AND ')} ORDER BY rowid`, { bigints })
    for (const group of groups) events.push(...match.allSync([...group]))
    return events
  }

  /** A windowed stream: the windows that closed since its last step, each evaluated once over all its events. */
  private async closeWindows(
    call: StatementCall,
    session: ColumnSession,
    stream: StreamTable,
    source: SourceTable,
    plan: StreamPlan,
    progress: SourceProgress,
    batch: readonly (readonly RowValue[])[],
    batchSource: string,
  ): Promise<void> {
    const window = plan.window!
    /** The batch's events when they are the windowed source's (a join's other side's are not). */
    const ownBatch = batchSource === source.name ? batch : undefined
    const state = this.stateSync(this.writer, stream.name)
    if (state.done) return
    const accepted = batch.length
    if (accepted > 0) this.countSync(call, stream.name, { eventsIn: accepted, eventsOut: 0, stateRows: 0 })
    if (window.kind === 'session' && plan.joined === undefined) return this.closeSessions(call, session, stream, source, plan, progress, state, batch)
    // Windows ending at or before the limit are closed; none when the watermark has not been set.
    const limitUs = plan.joined !== undefined ? this.joinedWindowLimit(plan) : limitFrom(progress, source)
    if (limitUs === undefined || (limitUs !== null && state.closedUntilUs !== null && limitUs <= state.closedUntilUs)) return
    // The events of those windows: a window ending after `closed` starts after `closed` − size. A
    // session has no bound length: its events start at the earliest start of a session still open at
    // the last step, or at that step's limit (an event accepted since is not earlier: it is not late).
    // A tumble or hop window over one source reads only the events of the windows that close now
    // (closingWindowsRange); a step that closes none only moves the stream's progress.
    const closing = window.kind === 'session' || plan.joined !== undefined ? undefined : closingWindowsRange(window, state.closedUntilUs, limitUs)
    if (closing === 'none') {
      this.saveStateSync(call, stream.name, { closedUntilUs: limitUs, openFromUs: limitUs, done: false })
      return
    }
    const fromUs = window.kind === 'session' ? state.openFromUs : closing !== undefined ? closing.fromUs : state.closedUntilUs === null ? null : state.closedUntilUs - window.sizeUs
    // A session may end after the limit: all events before it are read, and only closed sessions kept.
    const toUs = window.kind === 'session' ? null : closing !== undefined ? closing.toUs : limitUs
    const stored = await this.storedEvents(session, source, window.column, fromUs, toUs, ownBatch)
    const events = stored === undefined ? this.eventsSync(source, window.column, fromUs, toUs) : stored.own
    let openFromUs: bigint | null = limitUs
    try {
      if (events.length > 0 || (stored !== undefined && stored.mirrored > 0)) {
        const other = plan.joined === undefined ? undefined : this.joinedWindowOther(plan, fromUs, toUs)
        const result = await this.evaluate(session, stream.name, source, plan, events, { closedUs: state.closedUntilUs, limitUs, describeOnly: false, openSessions: window.kind === 'session' && limitUs !== null }, undefined, other, stored?.range)
        this.insertResultSync(call, stream, result.rows, true)
        if (result.openFromUs !== null && (openFromUs === null || result.openFromUs < openFromUs)) openFromUs = result.openFromUs
        this.countSync(call, stream.name, { eventsIn: 0, eventsOut: result.rows.length, stateRows: events.length + (stored?.mirrored ?? 0) + (other?.events.length ?? 0) })
      }
    } catch (error) {
      // A failed statement aborts the DuckDB transaction: only a rollback ends it, and the step's error is what the caller gets.
      if (stored !== undefined) await session.run('ROLLBACK').catch(() => undefined)
      throw error
    }
    // The snapshot storedEvents began ends here (it only read, and wrote work tables nobody else reads).
    if (stored !== undefined) await session.run('COMMIT')
    this.saveStateSync(call, stream.name, limitUs === null ? { closedUntilUs: state.closedUntilUs, openFromUs: state.openFromUs, done: true } : { closedUntilUs: limitUs, openFromUs, done: false })
  }

  /**
   * A session window's step, with its open sessions kept (sessions.ts): the batch's events are merged
   * into them (in DuckDB, by the rule that makes sessions of events), and the sessions that end at or
   * before the limit (watermark minus allowed lateness) are closed — the stream's query evaluated over
   * exactly their events, read from the mirror and the row store as a window step reads them — and
   * leave the state. An open session's events are read once, when it closes. The first step that keeps
   * them (a new stream's backfill, or a stream made before they were kept) merges every event since the
   * earliest session open at its last step.
   */
  private async closeSessions(call: StatementCall, session: ColumnSession, stream: StreamTable, source: SourceTable, plan: StreamPlan, progress: SourceProgress, state: StreamState, batch: readonly (readonly RowValue[])[]): Promise<void> {
    const window = plan.window!
    const limitUs = limitFrom(progress, source)
    const kept = sessionsKeptSync(this.writer, stream.name)
    const advanced = limitUs !== undefined && (limitUs === null || state.closedUntilUs === null || limitUs > state.closedUntilUs)
    if (kept && batch.length === 0 && !advanced) return
    const partitionTypes = window.partition.map((name) => source.columns.find((column) => column.name === name)!.type)
    let stored: Awaited<ReturnType<Streams['storedEvents']>>
    let fresh: readonly (readonly RowValue[])[] = batch
    if (!kept) {
      createSessionsSync(this.writer, stream.name, window)
      stored = await this.storedEvents(session, source, window.column, state.openFromUs, null, batch)
      fresh = stored === undefined ? this.eventsSync(source, window.column, state.openFromUs, null) : stored.own
    }
    const held = kept ? openSessionsSync(this.writer, stream.name, window, partitionTypes) : []
    const gapUs = window.sizeUs
    const last = (row: readonly RowValue[]): bigint => BigInt(row[row.length - 1] as number | bigint)
    const first = (row: readonly RowValue[]): bigint => BigInt(row[row.length - 2] as number | bigint)
    let open: RowValue[][]
    try {
      const merged = await this.mergeSessions(session, stream.name, source, window, fresh, stored?.range, held)
      const closes = (row: readonly RowValue[]): boolean => limitUs === null || (limitUs !== undefined && last(row) + gapUs <= limitUs)
      const closing = merged.filter(closes)
      open = merged.filter((row) => !closes(row))
      if (closing.length > 0) {
        let events = fresh
        if (kept) {
          // The closing sessions' events: those in the time range they span, of the mirror as of its position and the row store after it.
          const fromUs = lowest(closing.map(first))
          const toUs = highest(closing.map(last)) + 1n
          stored = await this.storedEvents(session, source, window.column, fromUs, toUs, batch)
          events = stored === undefined ? this.eventsSync(source, window.column, fromUs, toUs) : stored.own
        }
        const result = await this.evaluate(session, stream.name, source, plan, events, { closedUs: state.closedUntilUs, limitUs: limitUs!, describeOnly: false, sessions: closing }, undefined, undefined, stored?.range)
        this.insertResultSync(call, stream, result.rows, true)
        this.countSync(call, stream.name, { eventsIn: 0, eventsOut: result.rows.length, stateRows: open.length + events.length + (stored?.mirrored ?? 0) })
      }
    } catch (error) {
      // A failed statement aborts the DuckDB transaction: only a rollback ends it, and the step's error is what the caller gets.
      if (stored !== undefined) await session.run('ROLLBACK').catch(() => undefined)
      throw error
    }
    // The snapshot storedEvents began ends here (it only read, and wrote work tables nobody else reads).
    if (stored !== undefined) await session.run('COMMIT')
    replaceSessionsSync(this.writer, stream.name, window, open)
    // Retention keeps the events from the earliest open session on (neededFromSync); with none open, from the limit.
    const openFromUs = open.length > 0 ? lowest(open.map(first)) : limitUs ?? state.openFromUs
    if (limitUs === null) this.saveStateSync(call, stream.name, { closedUntilUs: state.closedUntilUs, openFromUs: null, done: true })
    else this.saveStateSync(call, stream.name, { closedUntilUs: advanced ? limitUs! : state.closedUntilUs, openFromUs, done: false })
  }

  /**
   * A session window's sessions after `fresh` events (storage values of the source's columns, and the
   * mirror's events in `stored`) join the `held` open ones: partition values, first and last event µs
   * (sessionMergeSql), as storage values. Only the partition and event-time columns go to DuckDB.
   */
  private async mergeSessions(session: ColumnSession, stream: string, source: SourceTable, window: WindowSpec, fresh: readonly (readonly RowValue[])[], stored: StoredRange | undefined, held: readonly (readonly RowValue[])[]): Promise<RowValue[][]> {
    const used = [...new Set([...window.partition, window.column])]
    const positions = used.map((name) => source.columns.findIndex((column) => column.name === name))
    const eventColumns = positions.map((position) => source.columns[position]!)
    const heldColumns = sessionColumns(window, source.columns)
    const events = fresh.map((event) => positions.map((position) => event[position]!))
    const inline = events.length * eventColumns.length + held.length * heldColumns.length <= limits.streamInlineValuesMax
    const params: unknown[] = []
    const tables: string[] = []
    try {
      const given = await stageRows(session, `fresh_${stream}`, eventColumns, events, inline, params, tables)
      const mirrored = stored === undefined ? '' : `SELECT ${used.map(quoteIdentifier).join(', ')} FROM ${stored.table} WHERE ${storedRangeSql(stored)} UNION ALL `
      const heldSql = await stageRows(session, `held_${stream}`, heldColumns, held, inline, params, tables)
      const result = await session.run(sessionMergeSql(window, `(${mirrored}${given}) AS _strata_fresh`, `(${heldSql}) AS _strata_held`), params.length === 0 ? undefined : params)
      return result.rows.map((row) => row.map((value, index) => toStorage(value, heldColumns[index]!.type)))
    } finally {
      await dropWorkTables(session, tables)
    }
  }

  /**
   * Windows over an interval join (in one query) close when no row of the join can still fall in
   * them: rows carry the left event's time l, and come from left events still to come (l ≥ the left
   * limit: watermark minus allowed lateness) or from right events still to come (time r ≥ the right
   * limit) meeting earlier left events, l ≥ r − high. The lower of the two, or null once both have
   * flushed; undefined before both have a watermark.
   */
  private joinedWindowLimit(plan: StreamPlan): bigint | null | undefined {
    const joined = plan.joined!
    const left = this.limitOf(plan.source)
    const right = this.limitOf(joined.source)
    if (left === undefined || right === undefined) return undefined
    const shifted = right === null ? null : right - joined.bounds!.highUs!
    if (left === null) return shifted
    return shifted === null || left < shifted ? left : shifted
  }

  /**
   * The right side's events a window step over an interval join reads with the left events of its
   * windows (left times from `fromUs` to before `toUs`): those the time bounds let them meet, from
   * the row store.
   */
  private joinedWindowOther(plan: StreamPlan, fromUs: bigint | null, toUs: bigint | null): { readonly columns: InputColumns['columns']; readonly events: RowValue[][] } {
    const joined = plan.joined!
    const right = this.sourceOf(joined.source)
    const { lowUs, highUs } = joined.bounds!
    const events = this.eventsSync(right, right.source.watermarkColumn!, fromUs === null || lowUs === null ? null : fromUs + lowUs, toUs === null ? null : toUs + highUs! + 1n)
    return { columns: right.columns, events }
  }

  /**
   * A window step's events with `fromUs` ≤ event time < `toUs` (null: unbounded), read where they
   * already are, in a column-store transaction the caller ends (`session` then holds its snapshot):
   * the mirror's copy of the source as of the last commit it applied (its position, read in the
   * same snapshot), and from the row store only the events of later commits and of this transaction
   * (`own`; mostly none of the closing windows'), by their transaction id. That spares reading each
   * window's events back from the row store and appending them to a work table, without waiting for
   * the mirror. Undefined when the source was created in this transaction (the mirror has no table
   * for it yet): then everything is read back.
   */
  private async storedEvents(
    session: ColumnSession,
    source: SourceTable,
    column: string,
    fromUs: bigint | null,
    toUs: bigint | null,
    batch?: readonly (readonly RowValue[])[],
  ): Promise<{ readonly own: RowValue[][]; readonly mirrored: number; readonly range?: StoredRange } | undefined> {
    if (source.schemaTx === this.pendingTx()) return undefined
    await session.run('BEGIN TRANSACTION')
    try {
      // Before the mirror has the source (it has not applied its creation yet, or holds an older table of its name), all is read back.
      const appliedTx = await readAppliedTx(session)
      const inMirror = appliedTx >= source.schemaTx
      const range: StoredRange = { table: `${mirrorSchema}.${quoteIdentifier(source.name)}`, column, fromUs, toUs, zoned: source.columns.find((candidate) => candidate.name === column)?.type.name === 'TIMESTAMPTZ' }
      const mirrored = inMirror ? Number((await session.run(`SELECT count(*) FROM ${range.table} WHERE ${storedRangeSql(range)}`)).rows[0]![0]) : 0
      const bigints = readsIntegersAsBigints(source.columns.map((candidate) => candidate.type))
      const bounds = [`${quoteIdentifier(openTxColumn)} > ?`]
      const params: RowValue[] = [appliedTx]
      // With the mirror holding the earlier commits, the few events after it are found by the index on
      // the transaction; the event time (`+`: not by its index, which would scan the whole range) only
      // filters them. Without it, every event in the range is read, by the event-time index.
      const time = `${inMirror ? '+' : ''}${quoteIdentifier(column)}`
      if (fromUs !== null) {
        bounds.push(`${time} >= ?`)
        params.push(fromUs)
      }
      if (toUs !== null) {
        bounds.push(`${time} < ?`)
        params.push(toUs)
      }
      if (!inMirror) params[0] = 0
      const pendingTx = this.pendingTx()
      // This step's batch (`batch`, the source's accepted events of this call) is in memory: when it is
      // all its transaction wrote to the source (the same count), only earlier commits the mirror lacks
      // are read back, and the batch's events in the range are taken as they are.
      const current = inMirror && batch !== undefined ? Number(this.writer.prepareSync(`SELECT count(*) FROM main.${quoteIdentifier(source.name)} WHERE ${quoteIdentifier(openTxColumn)} = ?`).allSync([pendingTx])[0]![0]) : -1
      if (current !== batch?.length) return { own: this.writer.prepareSync(`${this.selectEventsSql(source)} WHERE ${bounds.join(' AND ')}`, { bigints }).allSync(params), mirrored, ...(inMirror ? { range } : {}) }
      const own = this.writer.prepareSync(`${this.selectEventsSql(source)} WHERE ${[...bounds, `${quoteIdentifier(openTxColumn)} < ?`].join(' AND ')}`, { bigints }).allSync([...params, pendingTx])
      const at = source.columns.findIndex((candidate) => candidate.name === column)
      for (const event of batch!) {
        const time = event[at] as number | bigint
        if ((fromUs === null || time >= fromUs) && (toUs === null || time < toUs)) own.push(event as RowValue[])
      }
      return { own, mirrored, range }
    } catch (error) {
      await session.run('ROLLBACK')
      throw error
    }
  }

  private selectEventsSql(source: SourceTable): string {
    return `SELECT ${source.columns.map((column) => quoteIdentifier(column.name)).join(', ')} FROM main.${quoteIdentifier(source.name)}`
  }

  private allEventsSync(source: SourceTable): RowValue[][] {
    const bigints = readsIntegersAsBigints(source.columns.map((column) => column.type))
    return this.writer.prepareSync(`${this.selectEventsSql(source)} ORDER BY rowid`, { bigints }).allSync([])
  }

  /** The source's events with `fromUs` ≤ event time < `toUs` (either bound absent: none), read on the writer (this batch's own included). */
  private eventsSync(source: SourceTable, column: string, fromUs: bigint | null, toUs: bigint | null): RowValue[][] {
    const bigints = readsIntegersAsBigints(source.columns.map((candidate) => candidate.type))
    const bounds: string[] = []
    const params: RowValue[] = []
    if (fromUs !== null) {
      bounds.push(`${quoteIdentifier(column)} >= ?`)
      params.push(fromUs)
    }
    if (toUs !== null) {
      bounds.push(`${quoteIdentifier(column)} < ?`)
      params.push(toUs)
    }
    const where = bounds.length === 0 ? '' : ` WHERE ${bounds.join(' AND ')}`
    return this.writer.prepareSync(`${this.selectEventsSql(source)}${where}`, { bigints }).allSync(params)
  }

  /**
   * Runs the stream's query in the column store over `events` (storage values of the source's
   * columns): appended into a work table of primitive columns, cast to the source's types by the
   * input relation, windowed when the stream is; through `call` when it joins tables.
   */
  async evaluate(
    session: ColumnSession,
    stream: string,
    source: InputColumns,
    plan: StreamPlan,
    events: readonly (readonly RowValue[])[],
    bounds: {
      readonly closedUs: bigint | null
      readonly limitUs: bigint | null
      readonly describeOnly: boolean
      readonly openSessions?: boolean
      /** Session windows kept as state: only the events of these sessions (partition values, first and last event µs) are evaluated. */
      readonly sessions?: readonly (readonly RowValue[])[]
    },
    call?: StatementCall,
    other?: { readonly columns: InputColumns['columns']; readonly events: readonly (readonly RowValue[])[] },
    stored?: StoredRange,
  ): Promise<{ readonly columns: readonly { readonly name: string; readonly type: string }[]; readonly rows: unknown[][]; readonly openFromUs: bigint | null }> {
    const inputs = [{ name: `input_${stream}`, columns: source.columns, events, relation: streamInputRelation }]
    if (other !== undefined) inputs.push({ name: `other_${stream}`, columns: other.columns, events: other.events, relation: streamOtherRelation })
    const closing = bounds.sessions === undefined ? undefined : { name: `sessions_${stream}`, columns: sessionColumns(plan.window!, source.columns), events: bounds.sessions }
    // A small step's events go into the query itself as parameters (one round trip to DuckDB); a
    // larger one's are appended to a work table first. Either way they are cast from the same staging
    // types, so the query sees the same values.
    const inline = [...inputs, ...(closing === undefined ? [] : [closing])].reduce((sum, input) => sum + input.events.length * input.columns.length, 0) <= limits.streamInlineValuesMax
    const params: unknown[] = []
    /** How many of `params` the first input's relation takes (the open-sessions query reads it alone). */
    let firstParams = 0
    const tables: string[] = []
    const relations: string[] = []
    try {
      // The sessions whose events the step evaluates come first: the input relation reads them.
      if (closing !== undefined) relations.push(`${closingSessionsRelation} AS (${await stageRows(session, closing.name, closing.columns, closing.events, inline, params, tables)})`)
      for (const [index, input] of inputs.entries()) {
        const given = await stageRows(session, input.name, input.columns, input.events, inline, params, tables)
        if (index === 0) firstParams = params.length
        // The first input may add the column store's own copy of the source's events in a range (closeWindows).
        const names = input.columns.map((column) => quoteIdentifier(column.name))
        const kept = index === 0 && stored !== undefined ? `SELECT ${names.join(', ')} FROM ${stored.table} WHERE ${storedRangeSql(stored)} UNION ALL ` : ''
        const relation = index === 0 && closing !== undefined ? sessionEventsSql(plan.window!, `(${kept}${given})`, closingSessionsRelation) : `${kept}${given}`
        relations.push(`${input.relation} AS (${relation})`)
      }
      if (plan.window !== undefined) {
        const zoned = source.columns.find((column) => column.name === plan.window!.column)?.type.name === 'TIMESTAMPTZ'
        const columns = source.columns.map((column) => column.name)
        relations.push(`${windowedRelation} AS (${windowedRelationSql(plan.window, columns, streamInputRelation, zoned, bounds.closedUs, bounds.limitUs)})`)
      }
      const sql = `WITH ${relations.join(', ')} ${bounds.describeOnly ? `SELECT * FROM (${plan.sql}) AS _strata_stream LIMIT 0` : plan.sql}`
      // A query over its parameters alone (no lookup table, no mirror range, no work table) runs on the
      // scratch session: DuckDB on one thread, whose small queries have no multi-threaded tail (ColumnStore.scratch).
      const own = inline && plan.lookups.length === 0 && stored === undefined ? await this.host.syncer.scratchSession() : session
      // A lookup join reads its tables as this batch's transaction sees them: the column store with the
      // transaction's own writes (the call's overlay), once the mirror holds every earlier commit.
      const result = plan.lookups.length > 0 && call !== undefined ? await call.columnQuery(sql, params) : await own.run(sql, params.length === 0 ? undefined : params)
      let openFromUs: bigint | null = null
      if (bounds.openSessions === true) {
        const openSql = `WITH ${relations[0]!} ${openSessionsStartSql(plan.window!, source.columns.map((column) => column.name), streamInputRelation, bounds.limitUs!)}`
        const open = await own.run(openSql, firstParams === 0 ? undefined : params.slice(0, firstParams))
        const first = open.rows[0]?.[0]
        openFromUs = first === null || first === undefined ? null : BigInt(first as number | bigint)
      }
      return { columns: result.columns, rows: result.rows, openFromUs }
    } finally {
      await dropWorkTables(session, tables)
    }
  }

  /**
   * Appends a step's result rows to its table; returns them as stored. `handOver`: the step's stream
   * only appends to its table (StatementCall.appendRowsSync), as every stream does but one updating its
   * groups or windows (EMIT CHANGES) and a materialized view.
   */
  insertResultSync(call: StatementCall, stream: StreamTable, rows: readonly unknown[][], handOver: boolean): RowValue[][] {
    if (rows.length === 0) return []
    const columns = stream.columns
    const stored = rows.map((row) => columns.map((column, index) => toStorage(row[index], column.type)))
    call.appendRowsSync(stream, stored, handOver)
    return stored
  }

  /**
   * EXPLAIN STREAM: the stream's operator graph, from its source to its table, and the SQL DuckDB runs
   * at each step.
   */
  explain(name: string): Rows {
    const table = this.host.schema.catalog.tables.get(name)
    if (table?.stream === undefined) throw new StrataError('UNDEFINED_TABLE', table === undefined ? `stream "${name}" does not exist` : `"${name}" is a table, not a stream`)
    const stream = table as StreamTable
    const plan = this.planOf(stream)
    if (stream.stream.over === 'table') {
      const kept =
        plan.groupColumns !== undefined
          ? `aggregate: the groups each transaction touches, evaluated again over their rows and updated in place${plan.groupColumns.length === 0 ? ' (one row)' : ` by ${plan.groupColumns.join(', ')}`}`
          : 'project and filter the rows each transaction writes, retracting those of the versions it replaces'
      const lines = [`materialized view ${stream.name}`, `  table ${stream.stream.source} (kept inside every transaction that writes it, before its commit)`, `  -> ${kept} (DuckDB)`, `  -> table ${stream.name} (with history)`, `DuckDB: ${plan.sql}`]
      return { rows: lines.map((line) => [line]), columns: [{ name: 'plan', type: 'VARCHAR' }], rowCount: lines.length, engine: 'stream' }
    }
    const source = this.sourceOf(plan.source)
    const watermark = source.source.watermarkColumn === null ? 'no event-time column' : `${source.source.watermarkColumn} - ${formatInterval(source.source.delayUs)}`
    const lines = [
      `stream ${stream.name}`,
      `  source ${source.name} (watermark ${watermark}, allowed lateness ${formatInterval(source.source.allowedLatenessUs)}${source.source.connector === undefined ? '' : `, ${source.source.connector.kind} ${connectorTarget(source.source.connector)}`})`,
    ]
    for (const lookup of plan.lookups) lines.push(`  -> lookup join ${lookup} (as each batch's transaction sees it)`)
    if (plan.joined?.asof !== undefined) {
      const other = this.sourceOf(plan.joined.source)
      const on = plan.joined.keys.length === 0 ? '' : ` of the same ${plan.joined.keys.map((key) => `${key.left} = ${key.right}`).join(', ')}`
      lines.push(
        `  -> ASOF ${plan.joined.asof.left ? 'LEFT ' : ''}join with source ${other.name}: each event with the latest ${other.name} event${on} ${plan.joined.asof.strict ? 'before' : 'at or before'} it, once ${other.name}'s watermark minus its allowed lateness has passed it`,
      )
    } else if (plan.joined !== undefined) {
      const other = this.sourceOf(plan.joined.source)
      const on = plan.joined.keys.length === 0 ? 'every event of the other side' : `the other side's events with the same ${plan.joined.keys.map((key) => `${key.left} = ${key.right}`).join(', ')}`
      lines.push(`  -> interval join with source ${other.name} (watermark ${other.source.watermarkColumn ?? 'none'}): each batch of either side with ${on} accepted before it`)
      const bounds = plan.joined.bounds
      if (plan.joined.asof === undefined) {
        const signed = (micros: bigint): string => `${micros < 0n ? '-' : '+'}${formatInterval(Number(micros < 0n ? -micros : micros))}`
        const left = this.sourceOf(plan.source)
        const difference = `${other.name}.${other.source.watermarkColumn ?? '?'} - ${left.name}.${left.source.watermarkColumn ?? '?'}`
        lines.push(
          bounds === undefined
            ? '  -> no time bounds in ON: every event of both sides is kept'
            : `  -> time bounds: ${bounds.lowUs === null ? '' : `${signed(bounds.lowUs)} <= `}${difference}${bounds.highUs === null ? '' : ` <= ${signed(bounds.highUs)}`}; ${bounds.lowUs !== null && bounds.highUs !== null ? "each side's events kept until the other side's watermark passes them" : `only ${bounds.highUs !== null ? left.name : other.name}'s events are let go as the other side's watermark passes them`}`,
        )
        if (plan.joined.outer !== undefined) lines.push(`  -> ${plan.joined.outerRight === undefined ? 'LEFT' : 'FULL'} join: a ${left.name} event without a match is emitted with NULLs once ${other.name}'s watermark minus its allowed lateness passes its time ${signed(bounds!.highUs!)}`)
        if (plan.joined.outerRight !== undefined) lines.push(`  -> FULL join: a ${other.name} event without a match is emitted with NULLs once ${left.name}'s watermark minus its allowed lateness passes its time ${signed(-bounds!.lowUs!)}`)
      }
    }
    const window = plan.window
    if (window !== undefined) {
      const by = window.partition.length > 0 ? ` per ${window.partition.join(', ')}` : ''
      const shape = window.kind === 'session' ? `session gap ${formatInterval(Number(window.sizeUs))}${by}` : window.kind === 'hop' ? `hop size ${formatInterval(Number(window.sizeUs))} slide ${formatInterval(Number(window.slideUs))}` : `tumble size ${formatInterval(Number(window.sizeUs))}${window.offsetUs === 0n ? '' : ` offset ${formatInterval(Number(window.offsetUs))}`}`
      lines.push(`  -> window ${shape} on ${window.column}`)
    }
    const emit =
      stream.stream.emit === 'changes' ? `aggregate, EMIT CHANGES: the windows each batch touches, updated in place by ${(plan.windowKey as readonly string[]).join(', ')}`
      : plan.groupColumns !== undefined ? `aggregate, EMIT CHANGES: the groups each batch touches, updated in place${plan.groupColumns.length === 0 ? ' (one row)' : ` by ${plan.groupColumns.join(', ')}`}`
      : window !== undefined ? 'aggregate, EMIT ON WINDOW CLOSE: each window once, when the watermark passes its end plus the allowed lateness'
      : 'project and filter each batch\'s accepted events'
    if (window === undefined && plan.joined === undefined && this.projectionOf(stream, this.sourceOf(plan.source), plan) !== undefined) {
      lines.push("  -> each batch's accepted events, their columns as they are (nothing to evaluate)", `  -> table ${stream.name} (with history)`)
    } else lines.push(`  -> ${emit} (DuckDB)`, `  -> table ${stream.name} (with history)`, `DuckDB: ${plan.sql}`)
    return { rows: lines.map((line) => [line]), columns: [{ name: 'plan', type: 'VARCHAR' }], rowCount: lines.length, engine: 'stream' }
  }

  /** Prometheus samples: each stream's events in, rows out, and working state (strata.streams' counters). */
  metrics(connection: RowConnection): MetricFamily[] {
    const rows = connection.prepareSync('SELECT name, events_in, events_out, state_rows FROM _strata_streams ORDER BY name').allSync([])
    const family = (name: string, help: string, type: 'counter' | 'gauge', index: number): MetricFamily => ({ name, help, type, samples: rows.map((row) => ({ labels: { stream: String(row[0]) }, value: Number(row[index]) })) })
    return [
      family('strata_stream_events_in_total', 'Accepted events a stream took.', 'counter', 1),
      family('strata_stream_events_out_total', 'Rows a stream wrote (inserted, updated or deleted).', 'counter', 2),
      family('strata_stream_state_rows', "The events a stream's last step evaluated.", 'gauge', 3),
    ]
  }

  /** SHOW STREAMS: each stream, its source, its query, how far it has emitted. */
  show(call: StatementCall): Rows {
    const connection = call.rowConnection()
    const rows: unknown[][] = []
    for (const table of [...this.host.schema.catalog.tables.values()].sort((left, right) => left.name.localeCompare(right.name))) {
      if (table.stream === undefined) continue
      const state = this.stateSync(connection, table.name)
      // The live error of what feeds it: its (root) sources' connectors (a broker away), retried meanwhile.
      const roots = [this.rootOf(table.stream.source), ...(table.stream.joins === undefined ? [] : [this.rootOf(table.stream.joins)])]
      const error = roots.map((root) => this.connectorErrorOf?.(root)).find((found) => found !== undefined) ?? null
      rows.push([table.name, table.stream.source, table.stream.query, state.closedUntilUs === null ? null : dateFromMicros(state.closedUntilUs), state.done, error])
    }
    return {
      rows,
      columns: [
        { name: 'name', type: 'VARCHAR' },
        { name: 'source', type: 'VARCHAR' },
        { name: 'query', type: 'VARCHAR' },
        { name: 'emitted_until', type: 'TIMESTAMP' },
        { name: 'done', type: 'BOOLEAN' },
        { name: 'error', type: 'VARCHAR' },
      ],
      rowCount: rows.length,
      engine: 'row',
    }
  }
}
