/**
 * Materialized views over ordinary tables (SPEC 8: "CREATE MATERIALIZED VIEW … over ordinary tables,
 * maintained incrementally from the ledger's changes, so a view over a table stays right under
 * INSERT/UPDATE/DELETE"). A view over a source is a stream (streams.ts); this file keeps the others.
 *
 * A view's rows are a table of its own (with history, like a stream's), brought up to date inside
 * every transaction that writes the table it reads, just before that transaction commits
 * (`Subsystem.beforeCommit`): the view and the writes it reflects commit together or not at all, and
 * every committed state of the view equals its query over the committed state of its table. Inside an
 * explicit transaction the view is brought up to date at COMMIT (until then it shows the state as of
 * the transaction's start).
 *
 * What a transaction N changed is read from the ledger's layout (docs/time-model.md): the table's rows
 * whose open version N wrote, and the versions N closed (history rows with `_tx_to = N`). Semantics
 * are DuckDB's, as for streams: the rows are copied into the column store and the view's query runs
 * there (Streams.evaluate).
 * - An aggregate (GROUP BY of columns, or one group over everything): the groups N's old and new rows
 *   fall in are evaluated again over all their rows as they are now, and each group's row is updated
 *   in place, inserted, or deleted (as EMIT CHANGES does). Correct for every aggregate, DISTINCT and
 *   median included; its cost is the size of the groups touched.
 * - No aggregate (project and filter): the change is the query over the rows N wrote minus the query
 *   over the versions N replaced that were there before N began (DBSP's Z-sets: a row and its
 *   retraction cancel). Each retracted row deletes one equal row of the view; an unchanged row is
 *   left alone.
 * A view over another view's or a stream's table is kept the same way, after the view it reads, in the
 * same transaction: cascades stay right under retractions.
 */
import { historyTableName, openTxColumn, type TableDefinition } from '../../sql/catalog.js'
import { writtenInRangeParams, writtenInRangeSql } from '../../sql/ddl.js'
import { partPrefix, viewIndexPrefix, type CreateStream, type StreamPlan } from '../../sql/streaming.js'
import { anyOf, quoteIdentifier } from '../../sql/tree.js'
import { readsIntegersAsBigints, toStorage, typeFromLabel } from '../../sql/types.js'
import type { ColumnSession } from '../../storage/columnstore/columnstore.js'
import type { RowConnection, RowValue } from '../../storage/rowstore/rowstore.js'
import { StrataError } from '../../util/errors.js'
import { limits } from '../../util/limits.js'
import type { Rows, StatementCall, SubsystemHost } from '../seam.js'
import { groupId, type InputColumns, type Streams, type StreamTable } from './streams.js'

function empty(): Rows {
  return { rows: [], columns: [], rowCount: 0, engine: 'row' }
}

export class TableViews {
  /** The views over tables in the order they are kept (a view after the view or stream table it reads), per catalog version. */
  private ordered: { readonly version: number; readonly views: readonly StreamTable[] } | undefined

  constructor(
    private readonly host: SubsystemHost,
    private readonly streams: Streams,
  ) {}

  private get writer(): RowConnection {
    return this.host.rowStore.writer
  }

  /** Views over tables, each after the views whose tables it reads. */
  private viewsInOrder(): readonly StreamTable[] {
    const version = this.host.schema.version
    if (this.ordered?.version === version) return this.ordered.views
    const views = [...this.host.schema.catalog.tables.values()].filter((table): table is StreamTable => table.stream?.over === 'table').sort((left, right) => left.name.localeCompare(right.name))
    const byName = new Map(views.map((view) => [view.name, view]))
    const done = new Set<string>()
    const order: StreamTable[] = []
    const visit = (view: StreamTable, depth: number): void => {
      if (done.has(view.name) || depth > views.length) return
      for (const read of [view.stream.source, view.stream.joins]) {
        const upstream = read === undefined ? undefined : byName.get(read)
        if (upstream !== undefined) visit(upstream, depth + 1)
      }
      done.add(view.name)
      order.push(view)
    }
    for (const view of views) visit(view, 0)
    this.ordered = { version, views: order }
    return order
  }

  /** The input columns a view reads: its table's columns it recorded at CREATE, in that order (`joined`: its second table's). */
  private inputOf(view: StreamTable, joined = false): TableDefinition {
    const name = joined ? view.stream.joins! : view.stream.source
    const table = this.host.schema.catalog.tables.get(name)
    if (table === undefined) throw new StrataError('UNDEFINED_TABLE', `table "${name}" of the materialized view "${view.name}" does not exist`)
    const names = (joined ? view.stream.joinColumns : view.stream.columns) ?? table.columns.map((column) => column.name)
    const columns = names.map((name) => {
      const column = table.columns.find((candidate) => candidate.name === name)
      if (column === undefined) throw new StrataError('INTERNAL', `column "${name}" of "${table.name}", read by the materialized view "${view.name}", is gone`)
      return column
    })
    return { ...table, columns }
  }

  // ───────────────────────────── DDL ─────────────────────────────

  /** CREATE MATERIALIZED VIEW over a table: its own table with the columns DuckDB gives the query, filled from the table as it is. */
  async create(call: StatementCall, create: CreateStream, plan: StreamPlan, table: TableDefinition): Promise<Rows> {
    const refuse = (what: string): never => {
      throw new StrataError('NOT_SUPPORTED', `${what} in a materialized view over a table`, { statement: create.query })
    }
    if (plan.window !== undefined) refuse('a window (windows follow a source\'s event time: create a source)')
    if (plan.lookups.length > 0) refuse('a join (not yet)')
    const other = plan.joined === undefined ? undefined : this.host.schema.catalog.tables.get(plan.joined.source)!
    // The rows a change can touch are found by the equated columns' stored values: they must be stored alike.
    for (const key of plan.joined?.keys ?? []) {
      const type = (owner: TableDefinition, name: string): string => JSON.stringify(owner.columns.find((column) => column.name === name)?.type)
      if (type(table, key.left) !== type(other!, key.right)) refuse(`a join equating ${table.name}.${key.left} and ${other!.name}.${key.right}, of different types (cast one in a view of its own first)`)
    }
    // Its rows change in place as the table does: EMIT CHANGES is what it does anyway.
    if (create.emit === 'close') refuse('EMIT ON WINDOW CLOSE (there are no windows)')
    const input: InputColumns = table
    const session = await this.host.syncer.acquireSession()
    try {
      const described = await this.streams.evaluate(session, create.name, input, plan, [], { closedUs: null, limitUs: null, describeOnly: true }, undefined, other === undefined ? undefined : { columns: other.columns, events: [] })
      const columns = described.columns.map((column) => ({ name: column.name, type: typeFromLabel(column.type), notNull: false, default: undefined }))
      const names = new Set<string>()
      for (const column of columns) {
        if (names.has(column.name)) throw new StrataError('DUPLICATE_COLUMN', `the materialized view's query has two columns named "${column.name}": give them aliases`)
        names.add(column.name)
      }
      const pending = this.pendingTx()
      this.host.createTableSync({
        name: create.name,
        columns,
        primaryKey: null,
        uniques: [],
        checks: [],
        schemaTx: pending,
        stream: {
          query: create.query,
          source: table.name,
          over: 'table',
          columns: table.columns.map((column) => column.name),
          ...(other === undefined ? {} : { joins: other.name, joinColumns: other.columns.map((column) => column.name) }),
        },
      })
      call.schemaChanged()
      this.writer
        .prepareSync('INSERT OR REPLACE INTO _strata_streams (name, source, query, closed_until_us, open_from_us, done, tx_id) VALUES (?, ?, ?, NULL, NULL, 0, ?)')
        .runSync([create.name, table.name, create.query, pending])
      const view = this.host.schema.catalog.tables.get(create.name) as StreamTable
      this.indexLookupsSync(view, plan, table, other)
      await this.fill(call, session, view)
    } finally {
      this.host.syncer.releaseSession(session)
    }
    return empty()
  }

  /**
   * The row-store indexes a view over a source's table or a part's (a subquery kept as a stream of
   * its own) looks its rows up by: the join's keys on each side, an aggregate's group columns. Without
   * them each change would scan the whole table (Nexmark's q7 as written: every window's maximum looks
   * up the bids at that price). Only on these: a user's own table keeps the indexes the user gave it.
   * Named `_strata_view_<view>_<n>`, in the view's transaction; dropped with the view (`droppedIndexesSync`).
   */
  private indexLookupsSync(view: StreamTable, plan: StreamPlan, table: TableDefinition, other: TableDefinition | undefined): void {
    const wanted: [TableDefinition, readonly string[]][] = []
    if (plan.joined !== undefined && other !== undefined) {
      wanted.push([table, plan.joined.keys.map((key) => key.left)], [other, plan.joined.keys.map((key) => key.right)])
    } else if (plan.groupColumns !== undefined) wanted.push([table, plan.groupColumns])
    let index = 0
    for (const [owner, columns] of wanted) {
      if (columns.length === 0 || (owner.source === undefined && !owner.name.startsWith(partPrefix))) continue
      const name = `${viewIndexPrefix(view.name)}${++index}`
      this.writer.execSync(`CREATE INDEX ${quoteIdentifier(name)} ON ${quoteIdentifier(owner.name)} (${columns.map(quoteIdentifier).join(', ')})`)
    }
  }

  /** The schema hook: a dropped view's or stream's lookup indexes go with it (those on a dropped table went with the table). */
  droppedIndexesSync(writer: RowConnection, table: TableDefinition): void {
    if (table.stream === undefined) return
    // A view has at most two (one per side of its join); a stream that keeps groups two (its input's and its own).
    for (const index of [1, 2]) writer.execSync(`DROP INDEX IF EXISTS main.${quoteIdentifier(`${viewIndexPrefix(table.name)}${index}`)}`)
  }

  /** The view's rows from its table as it is now (its CREATE, or a rebuild in the transaction that created it). */
  private async fill(call: StatementCall, session: ColumnSession, view: StreamTable): Promise<void> {
    const input = this.inputOf(view)
    const rows = this.rowsSync(input, '', [])
    const other = view.stream.joins === undefined ? undefined : this.inputOf(view, true)
    const otherRows = other === undefined ? undefined : { columns: other.columns, events: this.rowsSync(other, '', []) }
    const result = await this.streams.evaluate(session, view.name, input, this.streams.planOf(view), rows, { closedUs: null, limitUs: null, describeOnly: false }, undefined, otherRows)
    this.streams.insertResultSync(call, view, result.rows, false)
    this.streams.countSync(call, view.name, { eventsIn: rows.length, eventsOut: result.rows.length, stateRows: rows.length })
  }

  /** A DROP TABLE, DROP COLUMN or RENAME COLUMN of a table a view reads is refused naming the view. */
  checkSchemaChange(table: TableDefinition, what: string): void {
    const dependent = this.viewsInOrder().find((view) => view.stream.source === table.name || view.stream.joins === table.name)
    if (dependent !== undefined) throw new StrataError('NOT_SUPPORTED', `${what} of "${table.name}": the materialized view "${dependent.name}" reads it (drop the view first)`)
  }

  // ───────────────────────────── maintenance ─────────────────────────────

  private pendingTx(): number {
    const pending = this.host.ledger.pendingCommit
    if (pending === undefined) throw new StrataError('INTERNAL', 'a materialized view is kept inside a write transaction')
    return pending.txId
  }

  /**
   * Subsystem.beforeCommit: the views whose tables the committing transaction wrote are brought up to
   * date. Synchronously undefined when there are none (two index probes per table read by a view).
   */
  beforeCommit(call: () => StatementCall): Promise<void> | undefined {
    const views = this.viewsInOrder()
    if (views.length === 0) return undefined
    const txId = this.host.ledger.pendingCommit?.txId
    if (txId === undefined) return undefined
    const changed = new Map<string, boolean>()
    let any = false
    for (const view of views) {
      for (const name of [view.stream.source, ...(view.stream.joins === undefined ? [] : [view.stream.joins])]) {
        if (!changed.has(name)) changed.set(name, this.changedSync(name, txId))
        if (changed.get(name) === true) any = true
      }
      if (view.schemaTx === txId) any = true
    }
    if (!any) return undefined
    return this.keep(call(), views, txId)
  }

  /** Whether transaction `txId` wrote `table` (an open version it inserted, or a version it closed). */
  private changedSync(table: string, txId: number): boolean {
    if (!this.host.schema.catalog.tables.has(table)) return false
    const row = this.writer
      .prepareSync(
        `SELECT EXISTS (SELECT 1 FROM main.${quoteIdentifier(table)} WHERE ${quoteIdentifier(openTxColumn)} = ?) OR EXISTS (SELECT 1 FROM main.${quoteIdentifier(historyTableName(table))} WHERE _tx_to = ?)`,
      )
      .allSync([txId, txId])[0]
    return Number(row?.[0] ?? 0) === 1
  }

  private async keep(call: StatementCall, views: readonly StreamTable[], txId: number): Promise<void> {
    const session = await this.host.syncer.acquireSession()
    try {
      await this.streams.loadAggregates(session)
      for (const view of views) {
        // A view created in this transaction: filled again from the table as the transaction leaves it.
        if (view.schemaTx === txId) {
          this.writer.prepareSync(`DELETE FROM main.${quoteIdentifier(view.name)}`).runSync([])
          await this.fill(call, session, view)
          continue
        }
        // Checked here, not before: a view over a view sees what the one before it wrote.
        const plan = this.streams.planOf(view)
        if (view.stream.joins !== undefined) {
          if (!this.changedSync(view.stream.source, txId) && !this.changedSync(view.stream.joins, txId)) continue
          if (plan.joined!.inner === true) await this.keepInnerJoin(call, session, view, plan, txId)
          else await this.keepJoin(call, session, view, plan, txId)
          continue
        }
        if (!this.changedSync(view.stream.source, txId)) continue
        if (plan.groupColumns !== undefined) await this.keepGroups(call, session, view, plan, txId)
        else await this.keepRows(call, session, view, plan, txId)
      }
    } finally {
      this.host.syncer.releaseSession(session)
    }
  }

  /** Storage values of `input`'s columns from its table (`where`: a condition on the table's row `r`), read on the writer: this transaction's own writes included. */
  private rowsSync(input: TableDefinition, where: string, params: readonly RowValue[]): RowValue[][] {
    const bigints = readsIntegersAsBigints(input.columns.map((column) => column.type))
    const columns = input.columns.map((column) => `r.${quoteIdentifier(column.name)}`).join(', ')
    return this.writer.prepareSync(`SELECT ${columns} FROM main.${quoteIdentifier(input.name)} AS r${where === '' ? '' : ` WHERE ${where}`}`, { bigints }).allSync([...params])
  }

  /** The rows whose open version `txId` wrote (inserted, or updated). */
  private writtenSync(input: TableDefinition, txId: number): RowValue[][] {
    return this.rowsSync(input, writtenInRangeSql(input, 'r'), writtenInRangeParams(txId - 1, txId))
  }

  /**
   * The versions `txId` closed that were current rows (not valid-time history); with `beforeOnly`, only
   * those that were there before it began (not versions it wrote and replaced itself).
   */
  private closedSync(input: TableDefinition, txId: number, beforeOnly: boolean): RowValue[][] {
    const bigints = readsIntegersAsBigints(input.columns.map((column) => column.type))
    const columns = input.columns.map((column) => quoteIdentifier(column.name)).join(', ')
    return this.writer
      .prepareSync(`SELECT ${columns} FROM main.${quoteIdentifier(historyTableName(input.name))} WHERE _tx_to = ? AND _valid_to IS NULL${beforeOnly ? ' AND _tx_from < ?' : ''}`, { bigints })
      .allSync(beforeOnly ? [txId, txId] : [txId])
  }

  /**
   * An aggregate: the groups of the rows `txId` wrote or replaced are evaluated again over all their
   * rows as they are now; each group's row is updated in place, inserted, or deleted (HAVING).
   */
  private async keepGroups(call: StatementCall, session: ColumnSession, view: StreamTable, plan: StreamPlan, txId: number): Promise<void> {
    const input = this.inputOf(view)
    const keys = plan.groupColumns!
    const positions = columnPositions(input, keys)
    const touched = new Map<string, RowValue[]>()
    const changes = [...this.writtenSync(input, txId), ...this.closedSync(input, txId, false)]
    for (const row of changes) {
      const key = positions.map((position) => row[position]!)
      touched.set(groupId(key), key)
    }
    const groups = [...touched.values()]
    const groupRows = this.groupRowsSync(input, keys, groups)
    const result = await this.streams.evaluate(session, view.name, input, plan, groupRows, { closedUs: null, limitUs: null, describeOnly: false })
    const written = this.streams.replaceGroupsSync(call, view, keys, touched, result.rows)
    this.streams.countSync(call, view.name, { eventsIn: changes.length, eventsOut: written, stateRows: groupRows.length })
  }

  /** The table's rows in the given groups (NULL matches NULL), or all of them for one group over everything; a chunk of groups per scan. */
  private groupRowsSync(input: TableDefinition, keys: readonly string[], groups: readonly (readonly RowValue[])[], also = '', alsoParams: readonly RowValue[] = []): RowValue[][] {
    if (keys.length === 0) return this.rowsSync(input, also, alsoParams)
    const rows: RowValue[][] = []
    const perScan = Math.max(1, Math.floor(limits.keysPerScanMax / keys.length))
    for (let start = 0; start < groups.length; start += perScan) {
      const chunk = groups.slice(start, start + perScan)
      const one = `(${keys.map((name) => `r.${quoteIdentifier(name)} IS ?`).join(' AND ')})`
      const where = `${anyOf(chunk.map(() => one))}${also === '' ? '' : ` AND ${also}`}`
      rows.push(...this.rowsSync(input, where, [...chunk.flat(), ...alsoParams]))
    }
    return rows
  }

  /**
   * No aggregate: the query over the rows `txId` wrote, minus the query over the versions it replaced
   * that were there before it began. Equal rows of the two cancel; each remaining retraction deletes
   * one equal row of the view, each remaining addition is inserted.
   */
  private async keepRows(call: StatementCall, session: ColumnSession, view: StreamTable, plan: StreamPlan, txId: number): Promise<void> {
    const input = this.inputOf(view)
    const added = this.writtenSync(input, txId)
    const removed = this.closedSync(input, txId, true)
    const evaluate = async (rows: readonly (readonly RowValue[])[]): Promise<RowValue[][]> => {
      if (rows.length === 0) return []
      const result = await this.streams.evaluate(session, view.name, input, plan, rows, { closedUs: null, limitUs: null, describeOnly: false })
      return result.rows.map((row) => view.columns.map((column, index) => toStorage(row[index], column.type)))
    }
    const retracted = await evaluate(removed)
    const inserted = await evaluate(added)
    const written = this.applyDeltaSync(view, retracted, inserted)
    this.streams.countSync(call, view.name, { eventsIn: added.length + removed.length, eventsOut: written, stateRows: added.length + removed.length })
  }

  /**
   * A view over a join of two tables (no aggregate). The rows a change can touch are those of the keys
   * the ON clause equates: the key values of every row either table's transaction wrote or replaced
   * (K). The query is evaluated over both tables' rows of K as they were before the transaction and as
   * they are now, and the difference applied (as keepRows does): the view's rows of other keys meet no
   * changed row, so they stay as they are. A left join's unmatched rows are in K like any other.
   */
  private async keepJoin(call: StatementCall, session: ColumnSession, view: StreamTable, plan: StreamPlan, txId: number): Promise<void> {
    const left = this.inputOf(view)
    const right = this.inputOf(view, true)
    const keys = plan.joined!.keys
    const leftKeys = columnPositions(left, keys.map((key) => key.left))
    const rightKeys = columnPositions(right, keys.map((key) => key.right))
    const touched = new Map<string, RowValue[]>()
    const touch = (rows: readonly (readonly RowValue[])[], at: readonly number[]): void => {
      for (const row of rows) {
        const tuple = at.map((position) => row[position]!)
        touched.set(groupId(tuple), tuple)
      }
    }
    touch([...this.writtenSync(left, txId), ...this.closedSync(left, txId, false)], leftKeys)
    touch([...this.writtenSync(right, txId), ...this.closedSync(right, txId, false)], rightKeys)
    const tuples = [...touched.values()]
    const inKeys = (at: readonly number[]) => (row: readonly RowValue[]): boolean => touched.has(groupId(at.map((position) => row[position]!)))
    // Now: the rows of K. Before: the rows of K the transaction did not write, and the versions of K it replaced.
    const now = (table: TableDefinition, columns: readonly string[]): RowValue[][] => this.groupRowsSync(table, columns, tuples)
    const before = (table: TableDefinition, columns: readonly string[], at: readonly number[]): RowValue[][] => [
      ...this.groupRowsSync(table, columns, tuples, `NOT (${writtenInRangeSql(table, 'r')})`, writtenInRangeParams(txId - 1, txId)),
      ...this.closedSync(table, txId, true).filter(inKeys(at)),
    ]
    // Without left rows an inner or LEFT join has no rows; a RIGHT or FULL join has the right rows'.
    const evaluate = (leftRows: RowValue[][], rightRows: RowValue[][]): Promise<RowValue[][]> =>
      leftRows.length === 0 && (plan.joined!.keepsRight !== true || rightRows.length === 0) ? Promise.resolve([]) : this.evaluateJoin(session, view, plan, leftRows, rightRows)
    const leftNow = now(left, keys.map((key) => key.left))
    const rightNow = now(right, keys.map((key) => key.right))
    const retracted = await evaluate(before(left, keys.map((key) => key.left), leftKeys), before(right, keys.map((key) => key.right), rightKeys))
    const inserted = await evaluate(leftNow, rightNow)
    const written = this.applyDeltaSync(view, retracted, inserted)
    this.streams.countSync(call, view.name, { eventsIn: touched.size, eventsOut: written, stateRows: leftNow.length + rightNow.length })
  }

  /**
   * A view over an inner join of two tables, kept by the join's delta rule (DBSP's): with ΔL and ΔR
   * each table's change as a Z-set (the rows the transaction wrote, minus the versions it closed that
   * were there before it), L_now ⋈ R_now − L_before ⋈ R_before = ΔL ⋈ R_now + L_before ⋈ ΔR. Only the
   * other table's rows of the changed rows' keys are read, so a batch of new rows on one side costs
   * what it brings, not every row of the keys it touches on both sides (Nexmark's q7 as written: each
   * batch of bids against the window maxima; before, also every earlier bid of the same prices).
   */
  private async keepInnerJoin(call: StatementCall, session: ColumnSession, view: StreamTable, plan: StreamPlan, txId: number): Promise<void> {
    const left = this.inputOf(view)
    const right = this.inputOf(view, true)
    const keys = plan.joined!.keys
    const leftColumns = keys.map((key) => key.left)
    const rightColumns = keys.map((key) => key.right)
    /** The distinct key tuples of rows, NULL-free ones only: a NULL key meets no row in an inner join. */
    const keysOf = (rows: readonly (readonly RowValue[])[], at: readonly number[]): Map<string, RowValue[]> => {
      const tuples = new Map<string, RowValue[]>()
      for (const row of rows) {
        const tuple = at.map((position) => row[position]!)
        if (tuple.every((value) => value !== null)) tuples.set(groupId(tuple), tuple)
      }
      return tuples
    }
    const leftAdded = this.writtenSync(left, txId)
    const leftRemoved = this.closedSync(left, txId, true)
    const rightAdded = this.writtenSync(right, txId)
    const rightRemoved = this.closedSync(right, txId, true)
    const leftAt = columnPositions(left, leftColumns)
    const leftKeys = keysOf([...leftAdded, ...leftRemoved], leftAt)
    const rightKeys = keysOf([...rightAdded, ...rightRemoved], columnPositions(right, rightColumns))
    // R_now of ΔL's keys; L_before of ΔR's keys: the rows of those keys the transaction did not write, and the versions of them it closed.
    const rightNow = leftKeys.size === 0 ? [] : this.groupRowsSync(right, rightColumns, [...leftKeys.values()])
    const leftBefore =
      rightKeys.size === 0
        ? []
        : [
            ...this.groupRowsSync(left, leftColumns, [...rightKeys.values()], `NOT (${writtenInRangeSql(left, 'r')})`, writtenInRangeParams(txId - 1, txId)),
            ...leftRemoved.filter((row) => rightKeys.has(groupId(leftAt.map((position) => row[position]!)))),
          ]
    const evaluate = (leftRows: RowValue[][], rightRows: RowValue[][]): Promise<RowValue[][]> =>
      leftRows.length === 0 || rightRows.length === 0 ? Promise.resolve([]) : this.evaluateJoin(session, view, plan, leftRows, rightRows)
    const inserted = [...(await evaluate(leftAdded, rightNow)), ...(await evaluate(leftBefore, rightAdded))]
    const retracted = [...(await evaluate(leftRemoved, rightNow)), ...(await evaluate(leftBefore, rightRemoved))]
    const written = this.applyDeltaSync(view, retracted, inserted)
    this.streams.countSync(call, view.name, { eventsIn: leftAdded.length + leftRemoved.length + rightAdded.length + rightRemoved.length, eventsOut: written, stateRows: rightNow.length + leftBefore.length })
  }

  /** A join view's query over given rows of its two tables, as its rows in storage form. */
  private async evaluateJoin(session: ColumnSession, view: StreamTable, plan: StreamPlan, leftRows: RowValue[][], rightRows: RowValue[][]): Promise<RowValue[][]> {
    const right = this.inputOf(view, true)
    const result = await this.streams.evaluate(session, view.name, this.inputOf(view), plan, leftRows, { closedUs: null, limitUs: null, describeOnly: false }, undefined, { columns: right.columns, events: rightRows })
    return result.rows.map((row) => view.columns.map((column, index) => toStorage(row[index], column.type)))
  }

  /**
   * Applies a Z-set difference to a view's table: a row both retracted and inserted (a change the
   * query does not see) cancels; each remaining retraction deletes one equal row, each remaining
   * insertion adds one. Returns how many rows it wrote.
   */
  private applyDeltaSync(view: StreamTable, retracted: readonly RowValue[][], inserted: readonly RowValue[][]): number {
    const weights = new Map<string, { readonly values: RowValue[]; weight: number }>()
    for (const [rows, sign] of [[retracted, -1], [inserted, 1]] as const) {
      for (const values of rows) {
        const id = groupId(values)
        const entry = weights.get(id) ?? { values, weight: 0 }
        entry.weight += sign
        weights.set(id, entry)
      }
    }
    const table = `main.${quoteIdentifier(view.name)}`
    const match = view.columns.map((column) => `${quoteIdentifier(column.name)} IS ?`).join(' AND ')
    const removeOne = this.writer.prepareSync(`DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE ${match} LIMIT 1)`)
    const insert = this.writer.prepareSync(`INSERT INTO ${table} (${view.columns.map((column) => quoteIdentifier(column.name)).join(', ')}) VALUES (${view.columns.map(() => '?').join(', ')})`)
    let written = 0
    for (const { values, weight } of weights.values()) {
      for (let count = weight; count < 0; count++) {
        if (removeOne.runSync(values).changes !== 1) throw new StrataError('INTERNAL', `the materialized view "${view.name}" has no row ${JSON.stringify(values, (_key, value: unknown) => (typeof value === 'bigint' ? String(value) : value))} to retract`)
        written++
      }
      for (let count = 0; count < weight; count++) {
        insert.runSync(values)
        written++
      }
    }
    return written
  }
}

/** Where each of `columns` is among `table`'s columns. */
function columnPositions(table: TableDefinition, columns: readonly string[]): number[] {
  return columns.map((name) => table.columns.findIndex((column) => column.name === name))
}

