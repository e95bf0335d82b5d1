/**
 * What a branch keeps of a table, and how a table reads on a branch (docs/branches.md, "Storage" and
 * "Reading a branch"): a branch's own tables — its open versions of the keys it owns, with history and
 * the history triggers like any table, and the keys it owns with the commit from which it does — and
 * the derived table a reference to a table becomes on a branch, in each store's SQL: the branch's own
 * rows, then its parent's as of the fork point for every key the branch does not own, recursively
 * down to main.
 */
import { historyTableName, keyColumn, openWriterSql, type TableDefinition } from '../../sql/catalog.js'
import { keyExpression } from '../../sql/ddl.js'
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

/** The definitions of branch `id`'s own tables for `table`, as made at its first write to it (`schemaTx`: that commit). */
export function ownDefinitions(branchId: number, table: TableDefinition, schemaTx: number): { readonly own: TableDefinition; readonly keys: TableDefinition } {
  const own: TableDefinition = { name: ownTableName(branchId, table.name), columns: table.columns, primaryKey: table.primaryKey, uniques: table.uniques, checks: table.checks, schemaTx }
  const keys: TableDefinition = {
    name: ownKeysName(branchId, table.name),
    columns: [
      { name: 'key', type: { name: 'VARCHAR' }, notNull: true, default: undefined },
      { name: 'since_tx', type: { name: 'BIGINT' }, notNull: true, default: undefined },
    ],
    primaryKey: ['key'],
    uniques: [],
    checks: [],
    schemaTx,
  }
  return { own, keys }
}

/** Which physical tables a store's derived table reads, and at which bound (undefined: the latest state). */
export interface PhysicalRead {
  readonly table: TableDefinition
  readonly bound: number | undefined
}

type Tables = (name: string) => TableDefinition | undefined

/**
 * The row store's derived table for `table` on `branch` at its head: the user columns and
 * `_strata_key`. `reads` collects the physical tables it reads.
 */
export function rowStoreBranchSql(table: TableDefinition, branch: ResolvedBranch, tables: Tables, reads: PhysicalRead[] = []): string {
  return branchArms(table, branch, 0, undefined, tables, reads, 'row')
}

/** The row store's derived table for `table` as `branch`'s parent was at the fork point: what the branch inherits for the keys it does not own. */
export function rowStoreParentSql(table: TableDefinition, branch: ResolvedBranch, tables: Tables): string {
  return branchArms(table, branch, 1, branch.chain[0]!.forkTx, tables, [], 'row')
}

/** The column store's derived table for `table` on `branch` at its head, over the mirror (the same rows as {@link rowStoreBranchSql}). */
export function columnStoreBranchSql(table: TableDefinition, branch: ResolvedBranch, tables: Tables, reads: PhysicalRead[] = []): string {
  // The user columns only: a `*` over the reference means them, as on main.
  const columns = table.columns.map((column) => quoteIdentifier(column.name)).join(', ')
  return `SELECT ${columns} FROM (${branchArms(table, branch, 0, undefined, tables, reads, 'column')}) AS _strata_branch`
}

/**
 * The state of `table` at `bound` as the branch at `level` of the chain sees it (main past the
 * chain's end): its own versions current at `bound`, and its parent's state at the fork point (or
 * `bound`, if earlier) for the keys it did not own by then.
 */
function branchArms(table: TableDefinition, branch: ResolvedBranch, level: number, bound: number | undefined, tables: Tables, reads: PhysicalRead[], store: 'row' | 'column'): string {
  if (level === branch.chain.length) return physicalArms(table, table, bound, reads, store)
  const link = branch.chain[level]!
  const parentBound = bound === undefined ? link.forkTx : Math.min(bound, link.forkTx)
  const inherited = branchArms(table, branch, level + 1, parentBound, tables, reads, store)
  const own = tables(ownTableName(link.id, table.name))
  if (own === undefined) return inherited
  const keys = ownKeysName(link.id, table.name)
  const since = bound === undefined ? '' : ` AND _strata_owned.since_tx <= ${bound}`
  const keysRelation = store === 'row' ? `main.${quoteIdentifier(keys)}` : `${mirrorSchema}.${quoteIdentifier(keys)}`
  reads.push({ table: tables(keys)!, bound: undefined })
  const owned = `SELECT * FROM (${inherited}) AS _strata_inherited WHERE NOT EXISTS (SELECT 1 FROM ${keysRelation} AS _strata_owned WHERE _strata_owned."key" = _strata_inherited.${keyColumn}${since})`
  return `${physicalArms(table, own, bound, reads, store)} UNION ALL ${owned}`
}

/** A physical table's open-ended versions current at `bound` (its rows, at the latest state), with their key. */
function physicalArms(table: TableDefinition, physical: TableDefinition, bound: number | undefined, reads: PhysicalRead[], store: 'row' | 'column'): string {
  reads.push({ table: physical, bound })
  const columns = table.columns.map((column) => quoteIdentifier(column.name))
  if (store === 'column') {
    const select = `SELECT ${[...columns, keyColumn].join(', ')} FROM `
    if (bound === undefined) return `${select}${mirrorSchema}.${quoteIdentifier(physical.name)}`
    return `${select}${mirrorHistoryName(physical.name, 'open')} WHERE _tx_from <= ${bound} AND _tx_to > ${bound}`
  }
  const row = '_strata_row'
  const rowColumns = [...columns.map((column) => `${row}.${column}`), `${keyExpression(physical, row)} AS ${keyColumn}`].join(', ')
  const current = `SELECT ${rowColumns} FROM main.${quoteIdentifier(physical.name)} AS ${row}`
  if (bound === undefined) return current
  const closed = `SELECT ${[...columns, keyColumn].join(', ')} FROM main.${quoteIdentifier(historyTableName(physical.name))} WHERE _tx_from <= ${bound} AND _tx_to > ${bound} AND _valid_to IS NULL`
  return `${current} WHERE ${openWriterSql(row)} <= ${bound} UNION ALL ${closed}`
}
