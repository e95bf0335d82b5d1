/**
 * UPDATE and DELETE whose expressions only the column store evaluates (engine/writes.ts
 * evaluatedUpdateOrDelete): the column store computes each row's key and new values, and the row store
 * applies them by key, many rows per statement (src/sql/rowsql.ts keyedUpdateSql, keyedDeleteSql).
 * Checked against a model in JavaScript, on both stores, with the history the triggers keep: enough
 * rows for several statements and a partial last one, a two-column key, several assigned columns,
 * and an UPDATE … FROM whose join finds a row more than once.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { open, type Database } from '../src/index.js'
import { limits } from '../src/util/limits.js'
import { sortedRows } from './helpers.js'

let db: Database
const perStatement = limits.keyedUpdateRowsPerStatement
const rowCount = perStatement * 3 + 17

interface Row {
  a: string
  b: bigint
  x: number
  y: string
  z: number
}

const model: Row[] = Array.from({ length: rowCount }, (_, i) => ({ a: `k${i % 7}`, b: 9_007_199_254_740_993n + BigInt(i), x: i, y: `n${i}`, z: i + 0.25 }))

async function bothStores(sql: string): Promise<string[]> {
  const row = await db.query(sql, [], { engine: 'row' })
  const column = await db.query(sql, [], { engine: 'column' })
  assert.equal(row.engine, 'row')
  assert.equal(column.engine, 'column')
  assert.deepEqual(sortedRows(row.rows), sortedRows(column.rows), `${sql}: row store and column store agree`)
  return sortedRows(column.rows)
}

function expected(rows: readonly Row[]): string[] {
  return sortedRows(rows.map((row) => ({ a: row.a, b: row.b, x: row.x, y: row.y, z: row.z })))
}

const read = 'SELECT a, b, x, y, z FROM kw'

before(async () => {
  db = await open()
  await db.query('CREATE TABLE kw (a VARCHAR, b BIGINT, x INTEGER, y VARCHAR, z DECIMAL(12,2), PRIMARY KEY (a, b))')
  await db.insert('kw', model.map((row) => ({ ...row })))
})

after(async () => {
  await db.close()
})

test('an UPDATE of several columns the row store cannot evaluate changes each row once, across several statements', async () => {
  const before = await db.query('SELECT max(tx_id) AS tx FROM strata.transactions')
  // upper() and % in a condition are the column store's; the rows span three full statements and a partial one.
  const updated = await db.query("UPDATE kw SET y = upper(y) || '!', x = x * 10, z = z + 0.5 WHERE b % 5 <> 1")
  const changed = model.filter((row) => row.b % 5n !== 1n)
  assert.ok(changed.length > perStatement * 2, 'more rows than two statements take')
  assert.equal(updated.rowCount, changed.length)
  for (const row of changed) {
    row.y = `${row.y.toUpperCase()}!`
    row.x *= 10
    row.z += 0.5
  }
  assert.deepEqual(await bothStores(read), expected(model))
  // The versions before the UPDATE are history: time travel reads them unchanged.
  const past = await bothStores(`SELECT a, b, x, y, z FROM kw FOR SYSTEM_TIME AS OF ${Number(before.rows[0]!['tx'])}`)
  assert.deepEqual(
    past,
    expected(Array.from({ length: rowCount }, (_, i) => ({ a: `k${i % 7}`, b: 9_007_199_254_740_993n + BigInt(i), x: i, y: `n${i}`, z: i + 0.25 }))),
  )
})

test('an UPDATE … FROM whose join finds each row twice applies one of its values, and counts the row once', async () => {
  // Every key is matched twice, and the matches are more than one statement takes: a row met again in a
  // later statement would be updated twice (two versions, counted twice).
  await db.query('CREATE TABLE kw_bump (a VARCHAR, amount INTEGER)')
  for (let round = 0; round < 2; round++) {
    await db.query(`INSERT INTO kw_bump VALUES ${Array.from({ length: 7 }, (_, i) => `('k${i}', ${i + 1})`).join(', ')}`)
  }
  const updated = await db.query('UPDATE kw SET x = kw.x + kw_bump.amount FROM kw_bump WHERE kw.a = kw_bump.a AND kw.b % 2 = 0')
  const changed = model.filter((row) => row.b % 2n === 0n)
  assert.ok(changed.length * 2 > perStatement, 'the join gives more rows than one statement takes')
  assert.equal(updated.rowCount, changed.length)
  for (const row of changed) row.x += Number(row.a.slice(1)) + 1
  assert.deepEqual(await bothStores(read), expected(model))
  const versions = await db.query('SELECT count(*) AS n FROM kw FOR SYSTEM_TIME ALL')
  const firstUpdate = model.filter((row) => row.b % 5n !== 1n).length
  assert.equal(Number(versions.rows[0]!['n']), rowCount + firstUpdate + changed.length, 'a version per row, and one closed by each UPDATE of it')
})

test('a DELETE the row store cannot evaluate removes exactly its rows, in one statement', async () => {
  const deleted = await db.query("DELETE FROM kw WHERE b % 3 = 0 AND upper(a) <> 'K4'")
  const gone = (row: Row): boolean => row.b % 3n === 0n && row.a !== 'k4'
  assert.equal(deleted.rowCount, model.filter(gone).length)
  assert.deepEqual(await bothStores(read), expected(model.filter((row) => !gone(row))))
  const history = await db.query('SELECT count(*) AS n FROM kw FOR SYSTEM_TIME ALL WHERE b % 3 = 0')
  assert.ok(Number(history.rows[0]!['n']) > model.filter(gone).length, 'the deleted rows stay in history')
})
