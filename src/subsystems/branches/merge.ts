/**
 * MERGE BRANCH (SPEC 10, docs/branches.md "Merge"): three-way, from the merge base, cell by cell (key
 * × column). The candidate keys are those either side may have changed since the lines split (index
 * ranges over the tables each side wrote: storage.ts `changedKeysSql`); for each, the base's, the
 * target's ("ours") and the source's ("theirs") rows are read from the row store and compared. A cell
 * changed on one side takes that change; the same change on both is no conflict; different changes,
 * or a row deleted on one side and changed on the other, are conflicts. With conflicts and no
 * `resolve`, nothing is written: MERGE_CONFLICT names the tables and `strata.conflicts` lists the
 * cells until the next merge that succeeds. Otherwise the result is written on the target as one
 * commit, by keyed writes on its physical tables (main's, or the branch's own after copy-in), so the
 * history triggers version it like any write.
 */
import { historyTableName, isInternalTable, type TableDefinition } from '../../sql/catalog.js'
import { renewOpenVersionSql } from '../../sql/ddl.js'
import { keyedDeleteSql, keyedUpdateSql } from '../../sql/rowsql.js'
import type { MergeBranch } from '../../sql/branches.js'
import { quoteIdentifier } from '../../sql/tree.js'
import { fromStorage, storedDecimalText } from '../../sql/types.js'
import type { RowConnection, RowValue } from '../../storage/rowstore/rowstore.js'
import { mainBranch } from '../../util/branch-names.js'
import { StrataError } from '../../util/errors.js'
import { jsonValue } from '../../util/json-value.js'
import { limits } from '../../util/limits.js'
import { keyTextOfValues, sameStoredRow, sameStoredValue, storedKeyId } from '../../util/row-values.js'
import type { Rows, StatementCall, SubsystemHost } from '../seam.js'
import { changedKeysSql, inUserTerms, resolveBranchSync, rowStoreStateSql, type ResolvedBranch } from './storage.js'

/** One conflicting cell (or, with `column` null, a row deleted on one side and changed on the other), as strata.conflicts shows it. */
export interface Conflict {
  readonly table: string
  /** The key's columns as a JSON object. */
  readonly key: string
  readonly column: string | null
  /** The base's, the target's and the source's value (a whole row, for a row conflict) as JSON; null where there is none. */
  readonly base: string | null
  readonly ours: string | null
  readonly theirs: string | null
}

/** The writer connection's scratch table of a merge's candidate keys for one table. */
const scratchTable = '_strata_merge_keys'

/** A branch by its place: main, or a branch with its ancestry. */
type Line = ResolvedBranch | undefined

type StoredRow = readonly RowValue[]

/** What a merge does to one table of the target. */
interface TableMerge {
  readonly table: TableDefinition
  /** Rows to insert (the key is absent on the target), to update (present, with other values) and keys to delete, with the target's current rows for keys it changes. */
  readonly inserts: StoredRow[]
  readonly updates: StoredRow[]
  readonly deletes: StoredRow[]
}

/** A branch's own table for a table and the keys it owns in it. */
type OwnPair = { readonly own: TableDefinition; readonly keys: TableDefinition }

/** How a merge writes on a branch target, as any write there does (statements.ts). */
export interface BranchWrites {
  /** The branch's own tables for `table`, made at its first write to it. */
  ownTables(call: StatementCall, branch: ResolvedBranch, table: TableDefinition, txId: number): OwnPair
  /** The inherited rows of `keys` (the primary key's stored values) copied in and owned from this commit. */
  copyIn(call: StatementCall, table: TableDefinition, own: OwnPair, keys: readonly (readonly RowValue[])[], branch: ResolvedBranch): void
  /** After the writes: the keys written recorded as the branch's, and the key and UNIQUE values checked against what it inherits. */
  claim(table: TableDefinition, own: OwnPair, txId: number, branch: ResolvedBranch): void
}

export class Merges {
  /** The last failed merge's conflicts, until a merge succeeds (kept in memory: the failed merge wrote nothing). */
  private conflictRows: readonly Conflict[] = []

  constructor(
    private readonly host: SubsystemHost,
    private readonly branchWrites: BranchWrites,
  ) {}

  get conflicts(): readonly Conflict[] {
    return this.conflictRows
  }

  run(call: StatementCall, merge: MergeBranch): Rows {
    if (call.explicitTransaction) throw new StrataError('TX_STATE', 'MERGE BRANCH cannot run inside a transaction block')
    const targetName = merge.into ?? call.branch
    if (targetName === merge.source) throw new StrataError('INVALID_ARGUMENT', `branch "${merge.source}" cannot be merged into itself`)
    const writer = call.rowConnection()
    const line = (name: string): Line => (name === mainBranch ? undefined : resolveBranchSync(writer, name))
    const source = line(merge.source)
    const target = line(targetName)
    const pending = this.host.ledger.pendingCommit
    if (pending === undefined) throw new StrataError('INTERNAL', 'MERGE BRANCH ran outside a write transaction')
    const split = splitPoint(source, target)
    const base = this.baseSync(writer, source, target)
    const tables = (name: string): TableDefinition | undefined => this.host.schema.catalog.tables.get(name)

    // Every table's outcome first: a conflict anywhere writes nothing anywhere.
    const merges: TableMerge[] = []
    const conflicts: Conflict[] = []
    let differences = 0
    for (const table of [...this.host.schema.catalog.tables.values()].sort((a, b) => a.name.localeCompare(b.name))) {
      if (isInternalTable(table.name)) continue
      if (table.primaryKey === null || table.source !== undefined || table.stream !== undefined) {
        this.refuseUnmergeable(writer, table, source, target, split.bound)
        continue
      }
      // The candidates once, in a scratch table of the writer's connection (gone with it; emptied here).
      const candidates = `${changedKeysSql(table, source, split.bound, tables)} UNION ALL ${changedKeysSql(table, target, split.bound, tables)}`
      writer.prepareSync(`DROP TABLE IF EXISTS temp.${scratchTable}`).runSync([])
      writer.prepareSync(`CREATE TEMP TABLE ${scratchTable} AS SELECT DISTINCT * FROM (${candidates})`).runSync([])
      const read = (state: string): Map<string, StoredRow> => {
        const keys = table.primaryKey!.map(quoteIdentifier).join(', ')
        const rows = writer.prepareSync(`SELECT * FROM (${state}) AS _strata_state WHERE (${keys}) IN (SELECT * FROM temp.${scratchTable})`, { bigints: true }).allSync([])
        return new Map(rows.map((row) => [keyId(table, row), row]))
      }
      const baseRows = read(rowStoreStateSql(table, base.line, base.bound, tables))
      const ours = read(rowStoreStateSql(table, target, undefined, tables))
      const theirs = read(rowStoreStateSql(table, source, undefined, tables))
      const outcome: TableMerge = { table, inserts: [], updates: [], deletes: [] }
      // In key order, so strata.conflicts lists a table's conflicts by key.
      const keys = new Map<string, StoredRow>()
      for (const rows of [baseRows, ours, theirs]) for (const [key, row] of rows) keys.set(key, row)
      const ordered = [...keys].sort(([, a], [, b]) => compareKeys(table, a, b)).map(([key]) => key)
      for (const key of ordered) {
        const cell = mergeRow(table, baseRows.get(key), ours.get(key), theirs.get(key), merge.resolve, conflicts)
        if (cell.differs) differences++
        const result = cell.result
        const current = ours.get(key)
        if (result === undefined) {
          if (current !== undefined) outcome.deletes.push(current)
        } else if (current === undefined) outcome.inserts.push(result)
        else if (!sameStoredRow(result, current)) outcome.updates.push(result)
      }
      if (outcome.inserts.length + outcome.updates.length + outcome.deletes.length > 0) merges.push(outcome)
    }
    writer.prepareSync(`DROP TABLE IF EXISTS temp.${scratchTable}`).runSync([])
    if (conflicts.length > 0 && merge.resolve === undefined) {
      this.conflictRows = conflicts
      const names = [...new Set(conflicts.map((conflict) => conflict.table))]
      throw new StrataError(
        'MERGE_CONFLICT',
        `merging branch "${merge.source}" into "${targetName}" found ${conflicts.length} conflict${conflicts.length === 1 ? '' : 's'} in ${names.map((name) => `"${name}"`).join(', ')}; nothing was merged ` +
          `(see strata.conflicts; MERGE BRANCH … WITH (resolve = 'ours' | 'theirs') takes one side)`,
      )
    }
    const columns = [
      { name: 'tx_id', type: 'BIGINT' },
      { name: 'rows_changed', type: 'BIGINT' },
      { name: 'conflicts_resolved', type: 'BIGINT' },
    ]
    // Nothing the source changed differs from the target: already merged, no commit.
    if (differences === 0) {
      this.conflictRows = []
      return { rows: [[null, 0, 0]], columns, rowCount: 0, engine: 'row' }
    }
    this.host.ledger.writesOnBranch(target?.id ?? 0)
    let changed = 0
    for (const one of merges) {
      try {
        changed += this.writeSync(call, one, target, pending.txId)
      } catch (error) {
        throw inUserTerms(error)
      }
    }
    writer.prepareSync('INSERT INTO _strata_merges (tx_id, source_id, source_head, target_id) VALUES (?, ?, ?, ?)').runSync([pending.txId, source?.id ?? 0, headSync(writer, source), target?.id ?? 0])
    // The merge is recorded even when the target's rows stay as they were (every conflict resolved as 'ours').
    call.stateChanged()
    this.conflictRows = []
    return { rows: [[pending.txId, changed, conflicts.length]], columns, rowCount: changed, engine: 'row' }
  }

  /**
   * The merge base: the latest state both lines descend from. A line's state descends from its own
   * earlier states, from its parent's state at its fork point, and — from each merge into it — from
   * the state of the source the merge took in; each line's states a state descends from are a prefix
   * of its commits, so the common ones are, per line, up to the lower of the two reaches. Of those the
   * latest in the global order is taken (git's merge base, one of them when there are several).
   */
  private baseSync(connection: RowConnection, source: Line, target: Line): { readonly line: Line; readonly bound: number } {
    const lines = new Map<number, { readonly parent: number; readonly forkTx: number }>()
    for (const row of connection.prepareSync('SELECT id, parent_id, fork_tx FROM _strata_branches WHERE dropped_tx IS NULL').allSync([])) {
      lines.set(Number(row[0]), { parent: Number(row[1]), forkTx: Number(row[2]) })
    }
    const merges = connection.prepareSync('SELECT tx_id, source_id, source_head, target_id FROM _strata_merges').allSync([]).map((row) => row.map(Number) as [number, number, number, number])
    const head = Number.MAX_SAFE_INTEGER
    const reach = (id: number, point: number, into: Map<number, number>): void => {
      if ((into.get(id) ?? -1) >= point) return
      into.set(id, point)
      if (id !== 0) {
        const line = lines.get(id)
        if (line === undefined) return
        reach(line.parent, Math.min(point, line.forkTx), into)
      }
      for (const [txId, sourceId, sourceHead, targetId] of merges) {
        if (targetId === id && txId <= point && (sourceId === 0 || lines.has(sourceId))) reach(sourceId, sourceHead, into)
      }
    }
    const ofSource = new Map<number, number>()
    const ofTarget = new Map<number, number>()
    reach(source?.id ?? 0, head, ofSource)
    reach(target?.id ?? 0, head, ofTarget)
    let best: { id: number; bound: number } | undefined
    for (const [id, point] of ofTarget) {
      const other = ofSource.get(id)
      if (other === undefined) continue
      const bound = Math.min(point, other)
      if (best === undefined || bound > best.bound) best = { id, bound }
    }
    if (best === undefined) throw new StrataError('INTERNAL', 'two branches with no state in common')
    if (best.id === 0) return { line: undefined, bound: best.bound }
    if (best.id === source?.id) return { line: source, bound: best.bound }
    if (best.id === target?.id) return { line: target, bound: best.bound }
    const name = connection.prepareSync('SELECT name FROM _strata_branches WHERE id = ?').allSync([best.id])[0]!
    return { line: resolveBranchSync(connection, String(name[0])), bound: best.bound }
  }

  /**
   * A table a merge cannot write on a branch (no primary key, a source or a stream): refused when the
   * target is a branch and the source's side changed it since the split. On main nothing is lost:
   * a branch cannot write such a table, so the source never changed it.
   */
  private refuseUnmergeable(connection: RowConnection, table: TableDefinition, source: Line, target: Line, bound: number): void {
    if (target === undefined) return
    const changed = mainChangedSync(connection, table, source, bound)
    if (changed) throw new StrataError('NOT_SUPPORTED', `merging table "${table.name}" into branch "${target.name}": ${table.primaryKey === null ? 'it has no primary key' : 'it is a source or a stream'} (docs/branches.md, "Status")`)
  }

  /** Applies one table's outcome on the target: its physical table, main's or the branch's own; returns the rows changed. */
  private writeSync(call: StatementCall, merge: TableMerge, target: Line, txId: number): number {
    const writer = this.host.rowStore.writer
    const table = merge.table
    let physical = table
    let own: OwnPair | undefined
    if (target !== undefined) {
      // As any write on a branch: the inherited rows it changes copied in first, its own table written.
      own = this.branchWrites.ownTables(call, target, table, txId)
      physical = own.own
      const indexes = keyIndexes(table)
      this.branchWrites.copyIn(call, table, own, [...merge.updates, ...merge.deletes].map((row) => indexes.map((index) => row[index]!)), target)
    }
    let changed = 0
    if (merge.deletes.length > 0) {
      for (const chunk of chunks(merge.deletes, limits.keyedUpdateRowsPerStatement)) {
        changed += writer.prepareSync(keyedDeleteSql(physical)).runSync([`[${chunk.map((row) => keyText(table, row)).join(',')}]`]).changes
      }
    }
    if (merge.updates.length > 0) {
      const assigned = table.columns.map((column, index) => ({ name: column.name, index })).filter((column) => !table.primaryKey!.includes(column.name))
      if (assigned.length > 0) {
        const perStatement = Math.max(1, Math.min(limits.keyedUpdateRowsPerStatement, Math.floor(limits.sqliteParametersMax / (assigned.length + 1))))
        for (const chunk of chunks(merge.updates, perStatement)) {
          const params: RowValue[] = []
          for (const row of chunk) params.push(keyText(table, row), ...assigned.map((column) => row[column.index]!))
          changed += writer.prepareSync(keyedUpdateSql(physical, assigned.map((column) => column.name), chunk.length, renewOpenVersionSql)).runSync(params).changes
        }
      }
    }
    if (merge.inserts.length > 0) {
      call.appendRowsSync(physical, merge.inserts, false)
      changed += merge.inserts.length
    }
    if (target !== undefined) this.branchWrites.claim(table, own!, txId, target)
    return changed
  }
}

/**
 * Where two lines split: their nearest common line and the point of it both inherit (for a line that
 * descends from the other, the other at the descendant's fork point along the way).
 */
export function splitPoint(source: Line, target: Line): { readonly line: Line; readonly bound: number } {
  // Each line's ancestry with the bound at which it sees each ancestor (its own head: Infinity).
  const ancestry = (line: Line): { readonly id: number; readonly line: Line; readonly bound: number }[] => {
    const out: { id: number; line: Line; bound: number }[] = []
    let bound = Infinity
    const chain = line?.chain ?? []
    for (let level = 0; level < chain.length; level++) {
      out.push({ id: chain[level]!.id, line: level === 0 ? line : { id: chain[level]!.id, name: chain[level]!.name, chain: chain.slice(level) }, bound })
      bound = Math.min(bound, chain[level]!.forkTx)
    }
    out.push({ id: 0, line: undefined, bound })
    return out
  }
  const ofSource = ancestry(source)
  for (const mine of ancestry(target)) {
    const theirs = ofSource.find((one) => one.id === mine.id)
    if (theirs === undefined) continue
    const bound = Math.min(mine.bound, theirs.bound)
    if (bound === Infinity) throw new StrataError('INTERNAL', 'a merge of a branch into itself')
    return { line: mine.line, bound }
  }
  throw new StrataError('INTERNAL', 'two branches without main in common')
}

/** A line's head: its last commit, or the point it was moved to or forked at. */
function headSync(connection: RowConnection, line: Line): number {
  const id = line?.id ?? 0
  const row = connection
    .prepareSync('SELECT max(coalesce((SELECT max(tx_id) FROM _strata_tx WHERE branch = ?), 0), coalesce((SELECT max(fork_tx, coalesce(merged_tx, 0)) FROM _strata_branches WHERE id = ?), 0))')
    .allSync([id, id])[0]!
  return Number(row[0])
}

/** Whether main changed `table` after `bound` as `line` sees it (only main writes tables a branch cannot). */
function mainChangedSync(connection: RowConnection, table: TableDefinition, line: Line, bound: number): boolean {
  // A branch sees main only up to its (earliest) fork point.
  const upTo = Math.min(...(line?.chain ?? []).map((link) => link.forkTx), Number.MAX_SAFE_INTEGER)
  if (bound >= upTo) return false
  const name = quoteIdentifier(table.name)
  const history = quoteIdentifier(historyTableName(table.name))
  return (
    connection.prepareSync(`SELECT 1 FROM main.${name} WHERE "_strata_tx" > ? AND "_strata_tx" <= ? LIMIT 1`).allSync([bound, upTo]).length > 0 ||
    connection.prepareSync(`SELECT 1 FROM main.${history} WHERE (_tx_to > ? AND _tx_to <= ?) OR (_tx_from > ? AND _tx_from <= ?) LIMIT 1`).allSync([bound, upTo, bound, upTo]).length > 0
  )
}

/**
 * One key's three-way merge: the row it ends with (undefined: absent), and whether the source brings
 * anything (a change the target does not have, or a conflict). Conflicts are appended to
 * `conflicts`; `resolve` settles them.
 */
function mergeRow(table: TableDefinition, base: StoredRow | undefined, ours: StoredRow | undefined, theirs: StoredRow | undefined, resolve: 'ours' | 'theirs' | undefined, conflicts: Conflict[]): { readonly result: StoredRow | undefined; readonly differs: boolean } {
  if (sameRowOrAbsent(ours, theirs) || sameRowOrAbsent(base, theirs)) return { result: ours, differs: false }
  if (sameRowOrAbsent(base, ours)) return { result: theirs, differs: true }
  // Both sides changed the row, differently: a row deleted on one side and changed on the other is one conflict.
  if (ours === undefined || theirs === undefined) {
    conflicts.push({ table: table.name, key: keyJson(table, (ours ?? theirs)!), column: null, base: rowJson(table, base), ours: rowJson(table, ours), theirs: rowJson(table, theirs) })
    return { result: resolve === 'theirs' ? theirs : ours, differs: true }
  }
  // Cell by cell; a key both sides added has no base, so any cell they differ on is a conflict.
  const result = [...ours]
  table.columns.forEach((column, index) => {
    const [o, t] = [ours[index]!, theirs[index]!]
    if (sameStoredValue(o, t)) return
    if (base !== undefined && sameStoredValue(base[index], t)) return
    if (base !== undefined && sameStoredValue(base[index], o)) {
      result[index] = t
      return
    }
    conflicts.push({ table: table.name, key: keyJson(table, ours), column: column.name, base: base === undefined ? null : cellJson(table, index, base[index]), ours: cellJson(table, index, o), theirs: cellJson(table, index, t) })
    if (resolve === 'theirs') result[index] = t
  })
  return { result, differs: true }
}

function sameRowOrAbsent(a: StoredRow | undefined, b: StoredRow | undefined): boolean {
  return a === undefined || b === undefined ? a === b : sameStoredRow(a, b)
}

/** A key's identity in a map: its columns' storage values, typed. */
function keyId(table: TableDefinition, row: StoredRow): string {
  return storedKeyId(keyIndexes(table).map((index) => row[index]))
}

function keyText(table: TableDefinition, row: StoredRow): string {
  return keyTextOfValues(keyIndexes(table).map((index) => row[index]))
}

function keyIndexes(table: TableDefinition): number[] {
  return table.primaryKey!.map((name) => table.columns.findIndex((column) => column.name === name))
}

/** Orders two rows by their keys' storage values (numbers by value, text and bytes by their units). */
function compareKeys(table: TableDefinition, a: StoredRow, b: StoredRow): number {
  for (const index of keyIndexes(table)) {
    const [x, y] = [a[index]!, b[index]!]
    let order = 0
    if ((typeof x === 'bigint' || typeof x === 'number') && (typeof y === 'bigint' || typeof y === 'number')) order = x < y ? -1 : x > y ? 1 : 0
    else if (x instanceof Uint8Array && y instanceof Uint8Array) order = Buffer.compare(Buffer.from(x), Buffer.from(y))
    else order = String(x) < String(y) ? -1 : String(x) > String(y) ? 1 : 0
    if (order !== 0) return order
  }
  return 0
}

/** A cell's value as JSON text: a DECIMAL as its exact digits, anything else as change messages write it. */
function cellJson(table: TableDefinition, index: number, value: RowValue | undefined): string {
  const type = table.columns[index]!.type
  if (type.name === 'DECIMAL' && value !== null && value !== undefined && !(value instanceof Uint8Array)) return storedDecimalText(value, type)
  return JSON.stringify(jsonValue(fromStorage(value, type)))
}

function objectJson(table: TableDefinition, row: StoredRow, indexes: readonly number[]): string {
  return `{${indexes.map((index) => `${JSON.stringify(table.columns[index]!.name)}:${cellJson(table, index, row[index])}`).join(',')}}`
}

function rowJson(table: TableDefinition, row: StoredRow | undefined): string | null {
  return row === undefined ? null : objectJson(table, row, table.columns.map((_, index) => index))
}

function keyJson(table: TableDefinition, row: StoredRow): string {
  return objectJson(table, row, keyIndexes(table))
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = []
  for (let start = 0; start < items.length; start += size) out.push(items.slice(start, start + size))
  return out
}
