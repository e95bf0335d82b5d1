/**
 * The model the branch tests check against: table `t (id INTEGER PRIMARY KEY, v TEXT, n INTEGER)` as a
 * map of rows per branch, and the check that a branch's table equals its map on both stores.
 */
import assert from 'node:assert/strict'
import type { Database } from '../src/index.js'

export type Row = { readonly id: number; readonly v: string; readonly n: number }

/** A result's rows as model rows, by id. */
export function rowsOf(result: { readonly rows: readonly Record<string, unknown>[] }): Row[] {
  return result.rows.map((row) => ({ id: Number(row['id']), v: String(row['v']), n: Number(row['n']) })).sort((a, b) => a.id - b.id)
}

/** A model's rows, by id. */
export function modelRows(model: ReadonlyMap<number, Row>): Row[] {
  return [...model.values()].sort((a, b) => a.id - b.id)
}

/**
 * The table on `branch` from both stores (a scan goes to the column store; `engine: 'row'` forces the
 * row store's derived table), asserted equal to the model; with `lookups`, also a lookup by key (the
 * row store's own route) of one key that exists and one that may not.
 */
export async function checkBranch(db: Database, branch: string, model: ReadonlyMap<number, Row>, label: string, lookups = true): Promise<void> {
  const expected = modelRows(model)
  assert.deepEqual(rowsOf(await db.query('SELECT * FROM t', [], { branch })), expected, `${label}: column store on ${branch}`)
  assert.deepEqual(rowsOf(await db.query('SELECT * FROM t', [], { branch, engine: 'row' })), expected, `${label}: row store on ${branch}`)
  if (!lookups) return
  for (const id of [expected[0]?.id ?? 1, 1_000]) {
    const found = rowsOf(await db.query('SELECT * FROM t WHERE id = $1', [id], { branch }))
    assert.deepEqual(found, model.has(id) ? [model.get(id)!] : [], `${label}: lookup of ${id} on ${branch}`)
  }
}
