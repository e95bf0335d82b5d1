/**
 * Time travel as a subsystem (SPEC 6, docs/time-model.md). Its clauses — FOR SYSTEM_TIME, FOR
 * VALID_TIME, AS OF … VALID AT, FOR PORTION OF, ERASE, INSERT OR REPLACE — are cut out of the text by
 * scanner tokens before PostgreSQL parses it (src/sql/temporal.ts) and handed to their statements
 * (clauses.ts). It then claims the statements that read the past or write valid time:
 *
 * - a SELECT whose table references read history runs on the row store when it is a lookup by key,
 *   else on the column store over the mirrored history, with the period bounds evaluated per execution;
 * - a valid-time INSERT, UPDATE/DELETE … FOR PORTION OF, INSERT OR REPLACE, ERASE, and any write to a
 *   table whose current versions do not all cover "now", run through the valid-time writer.
 *
 * Everything else about a statement — the write path, freshness, the transaction — stays the engine's.
 */
import { mirrorHistoryName, openEnd } from '../../sync/mirror.js'
import type { TableDefinition } from '../../sql/catalog.js'
import { applyEdits } from '../../sql/edits.js'
import { analyticalReason, leadingKeywords } from '../../sql/naming.js'
import { rejectFulltextWithTimeTravel } from '../../sql/fulltext.js'
import { compactParameters, type PgNode, type TokenSource } from '../../sql/parse.js'
import { postgresJsonEdits, subqueryLimitEdits } from '../../sql/pgcompat.js'
import type { RowPlan } from '../../sql/plan.js'
import { compileSelect, NotRowStore } from '../../sql/rowsql.js'
import {
  columnStoreSource,
  periodStarText,
  deparseTemporal,
  evaluateBounds,
  evaluateInstant,
  evaluateOpenInstant,
  extractTemporal,
  isKeyLookup,
  periodColumnDefinitions,
  planTemporal,
  rowStoreSource,
  type InstantContext,
  type TemporalPlan,
  type TemporalReference,
  type TemporalSpec,
} from '../../sql/temporal.js'
import { timeSeriesEdits } from '../../sql/timeseries.js'
import { nodeBody, nodeKind, quoteIdentifier } from '../../sql/tree.js'
import { fromStorage, typeLabel } from '../../sql/types.js'
import { StrataError } from '../../util/errors.js'
import type { ClaimedRead, Rows, Statement, StatementCall, Subsystem, SubsystemHost, Tabular } from '../seam.js'
import { attachTemporal, temporalClauses, type StatementTemporal } from './clauses.js'
import { insertNamesValidTime, TemporalWriter } from './valid-time-writes.js'

const noClauses: ReadonlyMap<number, TemporalSpec> = new Map()

/** Statement kinds a time clause may appear in. */
const temporalKinds = new Set(['SelectStmt', 'InsertStmt', 'UpdateStmt', 'DeleteStmt', 'ExplainStmt', 'CreateTableAsStmt'])

/** Columns a bulk insert cannot write directly (valid time goes through the valid-time writer). */
const validTimeColumns: ReadonlySet<string> = new Set(['_valid_from', '_valid_to'])

type WriteKind = 'insert' | 'replace' | 'portion' | 'erase' | 'future'

/** Per SELECT tree: which table references read history, and the row-store plan if one fits. */
interface CachedPlan {
  readonly catalogVersion: number
  readonly plan: TemporalPlan | undefined
  readonly claim: ClaimedRead | undefined
  rowPlan?: RowPlan | NotRowStore
  keyLookup?: boolean
}

type TemporalRoute = { store: 'row'; plan: RowPlan; bounds: bigint[] } | { store: 'column'; sql: string; params: unknown[]; reason: string }

class TimeTravel implements Subsystem {
  readonly name = 'time travel'
  /** strata.erasures: what each ERASE removed, kept in the mirror by CDC. */
  readonly relations = ['erasures']
  readonly clauses = {
    triggers: ['system_time', 'valid_time', 'erase', 'of', 'valid', 'replace'],
    extract: (text: string, tokens: TokenSource) => {
      const extraction = extractTemporal(text, tokens)
      if (extraction === undefined) return undefined
      return { text: extraction.text, tokens: extraction.tokens, attach: (statements: Parameters<typeof attachTemporal>[0]) => attachTemporal(statements, extraction) }
    },
  }

  private readonly cache = new WeakMap<PgNode, CachedPlan>()
  private readonly writer: TemporalWriter
  /** The call of the valid-time write in progress (its "now" is its commit's system time). */
  private writeCall: StatementCall | undefined

  constructor(private readonly host: SubsystemHost) {
    this.writer = new TemporalWriter({
      writer: host.rowStore.writer,
      ledger: host.ledger,
      table: (name) => host.schema.catalog.tables.get(name),
      bind: (binders, params) => host.bind(binders, params),
      evaluate: (tree) => this.activeWrite().evaluate(tree),
      markFutureValidTime: (table) => this.markFutureValidTime(table),
      instantContext: (params) => this.instantContext(this.activeWrite(), params),
    })
  }

  checkClauses(statement: Statement, kind: string): void {
    if (statement.clauses !== undefined && !temporalKinds.has(kind)) {
      throw new StrataError('NOT_SUPPORTED', `time travel in ${leadingKeywords(statement.text, statement.tokens)} (a view, CREATE TABLE AS, …): only SELECT reads the past`)
    }
  }

  claimRead(statement: Statement, tree: PgNode): ClaimedRead | undefined {
    return this.planOf(statement, tree).claim
  }

  /**
   * A transaction's snapshot read: the SELECT with a statement-level `AS OF txId` (system time), on a
   * copy of its tree (plans are kept per tree). A SELECT that names its own system time reads that.
   */
  readAt(statement: Statement, txId: number): Statement | undefined {
    if (nodeKind(statement.tree) !== 'SelectStmt') return undefined
    const clauses = temporalClauses(statement)
    if (clauses?.shorthand?.system !== undefined) return statement
    const system = { kind: 'asOf' as const, at: { text: String(txId), position: 0 } }
    const snapshot: StatementTemporal = {
      tableClauses: clauses?.tableClauses ?? noClauses,
      shorthand: { ...clauses?.shorthand, system },
      portion: clauses?.portion,
      erase: clauses?.erase ?? false,
      replace: clauses?.replace ?? false,
    }
    return { ...statement, tree: structuredClone(statement.tree), clauses: snapshot }
  }

  claimWrite(statement: Statement, kind: 'InsertStmt' | 'UpdateStmt' | 'DeleteStmt', body: PgNode): ((call: StatementCall) => Promise<Rows>) | undefined {
    const how = this.writeKind(statement, kind, body)
    if (how === undefined) return undefined
    return (call) => this.runWrite(call, how, kind, body)
  }

  claimBulkInsert(table: TableDefinition, columns: readonly string[]): boolean {
    return table.futureValidTime === true || columns.some((name) => validTimeColumns.has(name))
  }

  // ───────────────────────────── reads ─────────────────────────────

  /** The statement's time-travel plan (undefined when it reads only current state), per tree and catalog version. */
  private planOf(statement: Statement, tree: PgNode): CachedPlan {
    const schema = this.host.schema
    const cached = this.cache.get(tree)
    if (cached !== undefined && cached.catalogVersion === schema.version) return cached
    const clauses = temporalClauses(statement)
    const plan = planTemporal(
      tree,
      statement.text,
      statement.locationBase,
      schema.catalog,
      { tableClauses: clauses?.tableClauses ?? noClauses, shorthand: clauses?.shorthand },
      (name) => schema.catalog.tables.get(name)?.futureValidTime === true,
      statement.tokens,
    )
    const entry: CachedPlan = { catalogVersion: schema.version, plan, claim: plan === undefined ? undefined : this.claimFor(statement, tree, plan) }
    this.cache.set(tree, entry)
    return entry
  }

  private claimFor(statement: Statement, tree: PgNode, plan: TemporalPlan): ClaimedRead {
    const clauses = temporalClauses(statement)
    const explicit = (clauses?.tableClauses.size ?? 0) > 0 || clauses?.shorthand !== undefined
    return {
      run: (call) => {
        rejectFulltextWithTimeTravel(tree, explicit)
        return this.read(call, tree, plan)
      },
      evaluate: (call, source) => this.evaluate(call, source, plan),
      explain: (call, query) => this.explain(call, query, plan),
    }
  }

  /** Times for evaluating period bounds: "now", and the system time of a transaction id. */
  private instantContext(call: StatementCall, params: readonly unknown[]): InstantContext {
    const ledger = this.host.ledger
    const committed = ledger.lastCommitted
    const pending = call.inTransaction ? ledger.pendingCommit : undefined
    let nowUs = ledger.nowMicros()
    // "Now" never precedes a commit the reader can see, so a fresh write is visible at valid time now.
    if (nowUs < committed.systemTimeUs) nowUs = committed.systemTimeUs
    if (pending !== undefined && nowUs < pending.systemTimeUs) nowUs = pending.systemTimeUs
    const connection = call.rowConnection()
    return {
      params,
      nowUs,
      transactionTime: (txId) => {
        if (pending !== undefined && txId === pending.txId) return pending.systemTimeUs
        if (txId > committed.txId) return undefined
        return ledger.systemTimeOfSync(connection, txId)
      },
    }
  }

  private async read(call: StatementCall, tree: PgNode, plan: TemporalPlan): Promise<Rows> {
    const route = this.route(call, tree, plan, call.params)
    if (route.store === 'row') return call.rowRead(route.plan, route.bounds)
    await this.host.syncer.mirrorHistory([...plan.references.values()].map((reference) => reference.table))
    const result = await call.columnQuery(route.sql, route.params)
    return { rows: result.rows, columns: result.columns, rowCount: result.rows.length, engine: 'column' }
  }

  /**
   * Where a SELECT with time travel runs: the row store if the history lookup is simple, else the
   * column store, with the period bounds written into its SQL.
   */
  private route(call: StatementCall, tree: PgNode, plan: TemporalPlan, params: readonly unknown[]): TemporalRoute {
    const { engine } = call.options
    const bounds = evaluateBounds(plan, this.instantContext(call, params))
    const cached = this.cache.get(tree)!
    cached.rowPlan ??= this.compile(tree, plan)
    const rowPlan = cached.rowPlan
    // The row store answers point lookups by key; scans over history go to the column store (SPEC 6).
    if (!(rowPlan instanceof NotRowStore)) {
      cached.keyLookup ??= [...plan.references.values()].every((reference) => isKeyLookup(nodeBody(tree, 'SelectStmt')!, reference.table))
      if (engine === 'row' || (engine === undefined && cached.keyLookup)) return { store: 'row', plan: rowPlan, bounds }
    }
    if (engine === 'row') throw new StrataError('NOT_SUPPORTED', `the row store cannot run this query: ${(rowPlan as NotRowStore).message}`)
    const statement = call.statement
    const edits = [...plan.references.values()].map((reference) => ({
      location: reference.location,
      length: reference.nameLength,
      text: this.historySource(reference, bounds, plan) + (reference.alias === undefined ? ` AS ${quoteIdentifier(reference.table.name)}` : ''),
    }))
    for (const location of plan.periodStars) edits.push({ location, length: 1, text: periodStarText })
    // Time-series calls (first/last, gap filling) are rewritten for DuckDB in the same pass.
    const compacted = compactParameters(applyEdits(statement, [...edits, ...postgresJsonEdits(statement), ...subqueryLimitEdits(statement, params), ...timeSeriesEdits(statement)]), params)
    const reason =
      rowPlan instanceof NotRowStore
        ? analyticalReason(nodeBody(tree, 'SelectStmt')!, rowPlan.construct)
        : engine === 'column'
          ? 'forced by the engine option'
          : 'a scan (no equality on the whole primary key)'
    return { store: 'column', sql: compacted.sql, params: compacted.params, reason: `${reason}; it reads history` }
  }

  /** A SELECT over history compiled for the row store, or why it cannot be (then the column store answers). */
  private compile(tree: PgNode, plan: TemporalPlan): RowPlan | NotRowStore {
    const select = nodeBody(tree, 'SelectStmt')!
    const resolver = {
      table: (name: string) => this.host.schema.catalog.tables.get(name),
      temporal: (location: number) => {
        const reference = plan.references.get(location)
        if (reference === undefined) return undefined
        const source = rowStoreSource(reference)
        return { table: reference.table, sql: source.sql, slots: source.slots, hidden: periodColumnDefinitions }
      },
    }
    try {
      return compileSelect(select, resolver)
    } catch (error) {
      if (!(error instanceof NotRowStore)) throw error
      // An aggregate over history (`count(*) … FOR SYSTEM_TIME ALL WHERE id = 'x'`): the grouped
      // compiler gives DuckDB's results, types and names, so a point query over one key's versions
      // stays on the row store.
      try {
        return compileSelect(select, resolver, { grouped: true })
      } catch (grouped) {
        if (grouped instanceof NotRowStore) return error
        throw grouped
      }
    }
  }

  /** The column store's derived table over a reference's history (its mirror), bounds written in. */
  private historySource(reference: TemporalReference, bounds: readonly bigint[], plan: TemporalPlan): string {
    const history = { open: mirrorHistoryName(reference.table.name, 'open'), bounded: mirrorHistoryName(reference.table.name, 'bounded'), openEnd }
    return columnStoreSource(reference, bounds, history, plan.periodColumnsNamed)
  }

  /** The source of a write that reads the past (INSERT … SELECT … FOR SYSTEM_TIME …, CREATE TABLE AS …). */
  private async evaluate(call: StatementCall, tree: PgNode, plan: TemporalPlan): Promise<Tabular> {
    const bounds = evaluateBounds(plan, this.instantContext(call, call.params))
    const rowPlan = this.compile(tree, plan)
    if (!(rowPlan instanceof NotRowStore)) {
      const rows = this.host.rowStore.writer.prepareSync(rowPlan.sql, { bigints: true }).allSync(this.host.bind(rowPlan.binders, call.params, bounds))
      return { columns: rowPlan.output.map((column) => ({ name: column.name, type: column.label ?? typeLabel(column.type) })), rows: rows.map((row) => row.map((value, index) => fromStorage(value, rowPlan.output[index]!.type))) }
    }
    this.host.beforeColumnStore(tree, 'it reads history on the column store')
    await this.host.syncer.mirrorHistory([...plan.references.values()].map((reference) => reference.table))
    const text = deparseTemporal(tree, plan, (reference) => this.historySource(reference, bounds, plan))
    const compacted = compactParameters(text, call.params)
    return call.columnQuery(compacted.sql, compacted.params)
  }

  private async explain(call: StatementCall, query: PgNode, plan: TemporalPlan): Promise<{ lines: string[]; engine: 'row' | 'column' }> {
    const params = call.params
    const lines: string[] = []
    const route = this.route(call, query, plan, params.length > 0 ? params : new Array(plan.slots).fill(null))
    if (route.store === 'row') {
      lines.push('store: row', `why: ${call.options.engine === 'row' ? 'forced by the engine option' : 'a lookup by primary key in the history of one table'}`, `sql: ${route.plan.sql}`)
      const queryPlan = this.host.rowStore.reader.prepareSync(`EXPLAIN QUERY PLAN ${route.plan.sql}`).allSync(this.host.bind(route.plan.binders, params, route.bounds))
      for (const row of queryPlan) lines.push(`plan: ${String(row[3])}`)
      return { lines, engine: 'row' }
    }
    lines.push('store: column', `why: ${route.reason}`)
    await this.host.syncer.mirrorHistory([...plan.references.values()].map((reference) => reference.table))
    // route.sql is this EXPLAIN statement's own text with the history tables written in.
    const result = await call.columnQuery(route.sql, route.params)
    for (const row of result.rows) for (const line of String(row[1]).split('\n')) if (line.trim() !== '') lines.push(`plan: ${line}`)
    return { lines, engine: 'column' }
  }

  // ───────────────────────────── writes ─────────────────────────────

  /** Which valid-time path a write takes, or undefined for an ordinary write (the triggers record it). */
  private writeKind(statement: Statement, kind: string, body: PgNode): WriteKind | undefined {
    const temporal = temporalClauses(statement)
    if (temporal !== undefined) {
      if ((temporal.tableClauses.size > 0 || temporal.shorthand !== undefined) && kind !== 'InsertStmt') {
        throw new StrataError('NOT_SUPPORTED', 'time travel (FOR SYSTEM_TIME, FOR VALID_TIME, AS OF) inside UPDATE or DELETE (INSERT … SELECT can read the past)')
      }
      if (temporal.erase) return 'erase'
      if (temporal.portion !== undefined) return 'portion'
      if (temporal.replace) return 'replace'
    }
    const relation = nodeBody({ RangeVar: body['relation'] }, 'RangeVar')
    const table = relation === undefined ? undefined : this.host.schema.catalog.tables.get(String(relation['relname']))
    if (kind === 'InsertStmt' && insertNamesValidTime(body)) return 'insert'
    if (table?.futureValidTime === true) return 'future'
    return undefined
  }

  private async runWrite(call: StatementCall, how: WriteKind, kind: string, body: PgNode): Promise<Rows> {
    // Valid-time UPDATE/DELETE and ERASE select their rows from history, which no full-text index covers.
    if (kind !== 'InsertStmt') rejectFulltextWithTimeTravel(body, how !== 'future')
    const params = call.params
    this.writeCall = call
    try {
      const writer = this.writer
      let count: number
      if (how === 'erase') count = writer.erase(body, params)
      else if (kind === 'InsertStmt') count = await writer.insert(body, params, how === 'replace')
      else {
        const context = this.instantContext(call, params)
        const portion = temporalClauses(call.statement)?.portion
        const from = portion === undefined ? this.host.ledger.pendingCommit!.systemTimeUs : evaluateInstant(portion.from, context)
        const to = portion === undefined ? null : evaluateOpenInstant(portion.to, context)
        count = writer.portion(kind as 'UpdateStmt' | 'DeleteStmt', body, params, from, to)
      }
      return { rows: [], columns: [], rowCount: count, engine: 'row' }
    } finally {
      this.writeCall = undefined
    }
  }

  private activeWrite(): StatementCall {
    const call = this.writeCall
    if (call === undefined) throw new StrataError('INTERNAL', 'a valid-time write step ran outside a valid-time write')
    return call
  }

  /** Default reads of `table` now go through history (valid time that may not cover "now" exists). */
  private markFutureValidTime(table: TableDefinition): void {
    const schema = this.host.schema
    const current = schema.catalog.tables.get(table.name)
    if (current === undefined || current.futureValidTime === true) return
    const flagged = { ...current, futureValidTime: true }
    this.host.ledger.saveTableSync(flagged)
    const tables = new Map(schema.catalog.tables)
    tables.set(table.name, flagged)
    schema.set({ tables, views: schema.catalog.views })
  }
}

/**
 * The time-travel subsystem, registered in src/subsystems/index.ts.
 *
 * @example
 * const subsystem = timeTravelSubsystem(host)
 * subsystem.clauses?.extract('SELECT * FROM t FOR SYSTEM_TIME AS OF 3')?.text // 'SELECT * FROM t                     '
 */
export function timeTravelSubsystem(host: SubsystemHost): Subsystem {
  return new TimeTravel(host)
}
