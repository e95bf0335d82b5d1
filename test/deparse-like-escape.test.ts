/**
 * `LIKE … ESCAPE …` in SQL that reaches DuckDB through the deparser (a stream's query, a read of the
 * strata.* relations): PostgreSQL's parser keeps it as `~~ pg_catalog.like_escape(p, e)`, which DuckDB
 * lacks; the deparser writes DuckDB's like_escape/ilike_escape (src/sql/deparse.ts). Regression test:
 * both failed with `column "pg_catalog" does not exist`.
 */
import * as assert from 'node:assert/strict'
import { test } from 'node:test'
import { openTemporary, sortedRows } from './helpers.js'

test('LIKE, NOT LIKE and ILIKE with ESCAPE in a stream and in a read of strata.streams mean what they mean in DuckDB', async (t) => {
  const db = await openTemporary(t, 'like-escape')
  await db.query('CREATE SOURCE s (name VARCHAR, ts TIMESTAMP, WATERMARK FOR ts)')
  await db.query('CREATE TABLE copy (name VARCHAR)')
  const where = "name LIKE 'a#_%' ESCAPE '#' OR name ILIKE 'z#_%' ESCAPE '#' OR (name NOT LIKE '%#%%' ESCAPE '#' AND name LIKE 'q%')"
  await db.query(`CREATE STREAM matched AS SELECT name FROM s WHERE ${where}`)
  const names = ['a_b', 'axb', 'Z_1', 'zz', 'q%', 'qq', 'a%']
  await db.push('s', names.map((name, index) => ({ name, ts: new Date(Date.UTC(2026, 0, 5) + index) })))
  for (const name of names) await db.query('INSERT INTO copy VALUES ($1)', [name])
  const batch = sortedRows((await db.query(`SELECT name FROM copy WHERE ${where}`, [], { engine: 'column' })).rows)
  assert.deepEqual(batch, sortedRows([{ name: 'a_b' }, { name: 'Z_1' }, { name: 'qq' }]))
  for (const engine of ['row', 'column'] as const) assert.deepEqual(sortedRows((await db.query('SELECT * FROM matched', [], { engine })).rows), batch, engine)
  assert.deepEqual((await db.query("SELECT name FROM strata.streams WHERE name LIKE 'm%' ESCAPE '#' AND name NOT LIKE 'x#_%' ESCAPE '#'")).rows, [{ name: 'matched' }])
})
