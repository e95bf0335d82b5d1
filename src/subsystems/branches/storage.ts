/**
 * What a branch keeps of a table, and how a table reads on a branch (docs/branches.md, "Storage" and
 * "Reading a branch"): a branch's own tables — its open versions of the keys it owns, with history and
 * the history triggers like any table, and the keys it owns with the commit from which it does — and
 * the derived table a reference to a table becomes on a branch, in each store's SQL: the branch's own
 * rows, then its parent's as of the fork point for every key the branch does not own, recursively
 * down to main.
 */
import { historyTableName, openWriterSql, type TableDefinition } from '../../sql/catalog.js'
import { quoteIdentifier } from '../../sql/tree.js'
import { mirrorHistoryName, mirrorSchema } from '../../sync/mirror.js'
import type { RowConnection } from '../../storage/rowstore/rowstore.js'
import { StrataError } from '../../util/errors.js'

/** One branch between a branch and main: its id and the point of its parent's history it started from. */
export interface BranchLink {
  readonly id: number
  readonly name: string
  readonly forkTx: number
}

/** A branch other than main, with the branches it descends from: `chain[0]` is the branch itself, the last one a child of main. */
export interface ResolvedBranch {
  readonly id: number
  readonly name: string
  readonly chain: readonly BranchLink[]
}

/** The live branch `name` (not main) and its ancestry, or UNDEFINED_BRANCH. */
export function resolveBranchSync(connection: RowConnection, name: string): ResolvedBranch {
  const row = connection.prepareSync('SELECT id, parent_id, fork_tx FROM _strata_branches WHERE name = ? AND dropped_tx IS NULL').allSync([name])[0]
  if (row === undefined) throw new StrataError('UNDEFINED_BRANCH', `branch "${name}" does not exist`)
  const chain: BranchLink[] = [{ id: Number(row[0]), name, forkTx: Number(row[2]) }]
  let parent = Number(row[1])
  const byId = connection.prepareSync('SELECT name, parent_id, fork_tx FROM _strata_branches WHERE id = ?')
  while (parent !== 0) {
    const link = byId.allSync([parent])[0]
    if (link === undefined) throw new StrataError('INTERNAL', `branch "${name}" descends from branch ${parent}, which is not recorded`)
    chain.push({ id: parent, name: String(link[0]), forkTx: Number(link[2]) })
    parent = Number(link[1])
  }
  return { id: chain[0]!.id, name, chain }
}

/** The row store's table of branch `id`'s open versions of `table` (docs/branches.md: `_strata_b<id>_…`). */
export function ownTableName(branchId: number, table: string): string {
  return `_strata_b${branchId}_t_${table}`
}

/** The row store's table of the keys branch `id` owns in `table`, with the commit from which it does. */
export function ownKeysName(branchId: number, table: string): string {
  return `_strata_b${branchId}_k_${table}`
}

/** Whether a catalog table is a branch's storage (never a name a user sees). */
export function isBranchStorage(name: string): boolean {
  return /^_strata_b\d+_[tk]_/.test(name)
}

/** The column of a branch's keys table holding the commit from which the branch owns the key. */
export const sinceColumn = '_strata_since'

/**
 * The definitions of branch `id`'s own tables for `table` (which has a primary key), as made at its
 * first write to it (`schemaTx`: that commit). The keys table holds the primary key's columns, typed
 * as the table's, so both stores match keys by the columns themselves (an index probe in SQLite, a
 * hash join on typed values in DuckDB).
 */
export function ownDefinitions(branchId: number, table: TableDefinition, schemaTx: number): { readonly own: TableDefinition; readonly keys: TableDefinition } {
  const own: TableDefinition = { name: ownTableName(branchId, table.name), columns: table.columns, primaryKey: table.primaryKey, uniques: table.uniques, checks: table.checks, schemaTx }
  const keyColumns = (table.primaryKey ?? []).map((name) => ({ ...table.columns.find((column) => column.name === name)!, notNull: true, default: undefined }))
  const keys: TableDefinition = {
    name: ownKeysName(branchId, table.name),
    columns: [...keyColumns, { name: sinceColumn, type: { name: 'BIGINT' }, notNull: true, default: undefined }],
    primaryKey: table.primaryKey,
    uniques: [],
    checks: [],
    schemaTx,
  }
  return { own, keys }
}

/** `left.k = right.k AND …` over the primary key's columns. */
export function keyMatch(table: TableDefinition, left: string, right: string): string {
  return (table.primaryKey ?? []).map((name) => `${left}.${quoteIdentifier(name)} = ${right}.${quoteIdentifier(name)}`).join(' AND ')
}

/** Which physical tables a store's derived table reads, and at which bound (undefined: the latest state). */
export interface PhysicalRead {
  readonly table: TableDefinition
  readonly bound: number | undefined
}

type Tables = (name: string) => TableDefinition | undefined

/** Which store's SQL; for the column store, whether main's part may be its current table (`mainWroteSinceSync` said it is unchanged). */
type Store = 'row' | 'column' | 'column-main-unchanged'

/** The row store's derived table for `table` on `branch` at its head: the user columns. `reads` collects the physical tables it reads. */
export function rowStoreBranchSql(table: TableDefinition, branch: ResolvedBranch, tables: Tables, reads: PhysicalRead[] = []): string {
  return branchArms(table, branch, 0, undefined, tables, reads, 'row')
}

/** The row store's derived table for `table` as `branch`'s parent was at the fork point: what the branch inherits for the keys it does not own. */
export function rowStoreParentSql(table: TableDefinition, branch: ResolvedBranch, tables: Tables): string {
  return branchArms(table, branch, 1, branch.chain[0]!.forkTx, tables, [], 'row')
}

/** The column store's derived table for `table` on `branch` at its head, over the mirror (the same rows as {@link rowStoreBranchSql}). */
export function columnStoreBranchSql(table: TableDefinition, branch: ResolvedBranch, tables: Tables, reads: PhysicalRead[] = [], mainUnchanged = false): string {
  return branchArms(table, branch, 0, undefined, tables, reads, mainUnchanged ? 'column-main-unchanged' : 'column')
}

/**
 * The column store's derived table for `table` as a branch (undefined: main) saw it at transaction
 * `bound` (undefined: its head): the user columns. A past state reads the mirrored history of the
 * tables `reads` collects with a bound.
 */
export function columnStoreStateSql(table: TableDefinition, branch: ResolvedBranch | undefined, bound: number | undefined, tables: Tables, reads: PhysicalRead[]): string {
  if (branch === undefined) return physicalArms(table, table, bound, reads, 'column')
  return branchArms(table, branch, 0, bound, tables, reads, 'column')
}

/**
 * Whether main has written `table` since transaction `bound` (inserted, updated or deleted a row of
 * it): if not, main's rows now are its rows at `bound`, and a branch's column-store read may take the
 * mirror's current table instead of its history. Two index probes.
 */
export function mainWroteSinceSync(connection: RowConnection, table: TableDefinition, bound: number): boolean {
  const inserted = connection.prepareSync(`SELECT 1 FROM main.${quoteIdentifier(table.name)} WHERE "_strata_tx" > ? LIMIT 1`).allSync([bound]).length > 0
  return inserted || connection.prepareSync(`SELECT 1 FROM main.${quoteIdentifier(historyTableName(table.name))} WHERE _tx_to > ? LIMIT 1`).allSync([bound]).length > 0
}

/**
 * The state of `table` at `bound` as the branch at `level` of the chain sees it (main past the
 * chain's end): its own versions current at `bound`, and its parent's state at the fork point (or
 * `bound`, if earlier) for the keys it did not own by then.
 */
function branchArms(table: TableDefinition, branch: ResolvedBranch, level: number, bound: number | undefined, tables: Tables, reads: PhysicalRead[], store: Store): string {
  // Main's table at the fork point is its current table when main has not written it since (the caller checked).
  if (level === branch.chain.length) return physicalArms(table, table, store === 'column-main-unchanged' ? undefined : bound, reads, store)
  const link = branch.chain[level]!
  const parentBound = bound === undefined ? link.forkTx : Math.min(bound, link.forkTx)
  const inherited = branchArms(table, branch, level + 1, parentBound, tables, reads, store)
  const own = tables(ownTableName(link.id, table.name))
  if (own === undefined) return inherited
  const keys = ownKeysName(link.id, table.name)
  const match = keyMatch(table, '_strata_owned', '_strata_inherited') + (bound === undefined ? '' : ` AND _strata_owned.${sinceColumn} <= ${bound}`)
  reads.push({ table: tables(keys)!, bound: undefined })
  // The keys the branch owns come from its own rows; every other one from its parent. DuckDB's ANTI JOIN
  // is a hash join on the key's typed columns (NOT EXISTS there measured several times slower).
  const notOwned =
    store === 'row'
      ? `SELECT * FROM (${inherited}) AS _strata_inherited WHERE NOT EXISTS (SELECT 1 FROM main.${quoteIdentifier(keys)} AS _strata_owned WHERE ${match})`
      : `SELECT _strata_inherited.* FROM (${inherited}) AS _strata_inherited ANTI JOIN ${mirrorSchema}.${quoteIdentifier(keys)} AS _strata_owned ON ${match}`
  return `${physicalArms(table, own, bound, reads, store)} UNION ALL ${notOwned}`
}

/** A physical table's open-ended versions current at `bound` (its rows, at the latest state): the user columns. */
function physicalArms(table: TableDefinition, physical: TableDefinition, bound: number | undefined, reads: PhysicalRead[], store: Store): string {
  reads.push({ table: physical, bound })
  const columns = table.columns.map((column) => quoteIdentifier(column.name))
  if (store !== 'row') {
    const select = `SELECT ${columns.join(', ')} FROM `
    if (bound === undefined) return `${select}${mirrorSchema}.${quoteIdentifier(physical.name)}`
    return `${select}${mirrorHistoryName(physical.name, 'open')} WHERE _tx_from <= ${bound} AND _tx_to > ${bound}`
  }
  const row = '_strata_row'
  const current = `SELECT ${columns.map((column) => `${row}.${column}`).join(', ')} FROM main.${quoteIdentifier(physical.name)} AS ${row}`
  if (bound === undefined) return current
  const closed = `SELECT ${columns.join(', ')} FROM main.${quoteIdentifier(historyTableName(physical.name))} WHERE _tx_from <= ${bound} AND _tx_to > ${bound} AND _valid_to IS NULL`
  return `${current} WHERE ${openWriterSql(row)} <= ${bound} UNION ALL ${closed}`
}

/**
 * The row store's derived table for `table` as a branch (undefined: main) saw it at transaction
 * `bound` (undefined: its head): the user columns.
 */
export function rowStoreStateSql(table: TableDefinition, branch: ResolvedBranch | undefined, bound: number | undefined, tables: Tables): string {
  if (branch === undefined) return physicalArms(table, table, bound, [], 'row')
  return branchArms(table, branch, 0, bound, tables, [], 'row')
}

/**
 * The keys (the primary key's columns) of `table` that a branch (undefined: main) may have changed
 * after transaction `bound`: every key its own tables wrote since — inserted, closed or owned from a
 * later commit — and, when `bound` is before its fork point, every key its parent changed since
 * `bound`, down to main. A superset (a key changed and changed back is in it): the caller compares
 * the rows. Each arm is an index range (`_strata_tx`, history's `_tx_from` and `_tx_to`), so the cost
 * grows with the changes, not the table. A key may stand more than once.
 */
export function changedKeysSql(table: TableDefinition, branch: ResolvedBranch | undefined, bound: number, tables: Tables): string {
  const keys = (table.primaryKey ?? []).map(quoteIdentifier).join(', ')
  const physical = (name: string): string[] => [
    `SELECT ${keys} FROM main.${quoteIdentifier(name)} WHERE "_strata_tx" > ${bound}`,
    `SELECT ${keys} FROM main.${quoteIdentifier(historyTableName(name))} WHERE _tx_to > ${bound}`,
    `SELECT ${keys} FROM main.${quoteIdentifier(historyTableName(name))} WHERE _tx_from > ${bound}`,
  ]
  const arms: string[] = []
  for (const link of branch?.chain ?? []) {
    if (tables(ownTableName(link.id, table.name)) !== undefined) {
      arms.push(...physical(ownTableName(link.id, table.name)), `SELECT ${keys} FROM main.${quoteIdentifier(ownKeysName(link.id, table.name))} WHERE ${sinceColumn} > ${bound}`)
    }
    // What the branch inherits is its parent's state at the fork point: the parent's later changes are not its own.
    if (bound >= link.forkTx) return arms.length === 0 ? `SELECT ${keys} FROM main.${quoteIdentifier(table.name)} WHERE false` : arms.join(' UNION ALL ')
  }
  arms.push(...physical(table.name))
  // UNION ALL, not UNION: SQLite would merge the arms in key order, scanning each table whole.
  return arms.join(' UNION ALL ')
}

/**
 * An error of a write on a branch's own tables as the user's statement should say it: the branch's
 * physical table names (`_strata_b3_t_orders`) as the table's (`orders`).
 */
export function inUserTerms(error: unknown): unknown {
  if (!(error instanceof StrataError) || !/_strata_b\d+_[tk]_/.test(error.message)) return error
  return error.withMessage(error.message.replace(/_strata_b\d+_[tk]_/g, ''))
}
