/**
 * What the row store compiles where SQLite evaluates it identically (issue 9, point 8): COALESCE,
 * aggregates over one key's history, `FOR PORTION OF VALID_TIME … TO NULL`, and CREATE TABLE … AS over
 * a query only DuckDB's grammar accepts. Forced onto the row store and compared with the column store.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { DuckDBInstance } from '@duckdb/node-api'
import { open, StrataError, type Database } from '../src/index.js'
import { sortedRows, temporaryDirectory } from './helpers.js'

let db: Database
const dir = temporaryDirectory('row-coverage')

async function sameOnBoth(sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
  const row = await db.query(sql, params, { engine: 'row' })
  const column = await db.query(sql, params, { engine: 'column' })
  assert.equal(row.engine, 'row')
  assert.deepEqual(sortedRows(row.rows), sortedRows(column.rows), sql)
  assert.deepEqual(row.columns.map((column) => column.type), column.columns.map((column) => column.type), `${sql}: the same column types`)
  return row.rows
}

before(async () => {
  db = await open()
  await db.exec(`
    CREATE TABLE c (id INTEGER PRIMARY KEY, a INTEGER, b INTEGER, name TEXT, alias TEXT);
    INSERT INTO c VALUES (1, NULL, 5, NULL, 'x'), (2, 3, NULL, 'ann', NULL), (3, NULL, NULL, NULL, NULL);
    CREATE TABLE h (id TEXT PRIMARY KEY, v INTEGER);
    INSERT INTO h VALUES ('x', 1);
    UPDATE h SET v = 2 WHERE id = 'x';
    UPDATE h SET v = 3 WHERE id = 'x';
    INSERT INTO h VALUES ('y', 10);
  `)
})

after(async () => {
  await db.close()
  dir.remove()
})

describe('the row store runs more of what SQLite evaluates identically', () => {
  test('COALESCE in WHERE and (aliased) in the select list', async () => {
    assert.deepEqual(await sameOnBoth('SELECT id FROM c WHERE coalesce(a, b, 0) = 5'), [{ id: 1 }])
    assert.deepEqual(await sameOnBoth('SELECT id FROM c WHERE coalesce(name, alias) IS NULL'), [{ id: 3 }])
    const rows = await sameOnBoth(`SELECT id, coalesce(name, alias, '-') AS shown, coalesce(a, b) AS n FROM c ORDER BY id`)
    assert.deepEqual(rows, [
      { id: 1, shown: 'x', n: 5 },
      { id: 2, shown: 'ann', n: 3 },
      { id: 3, shown: '-', n: null },
    ])
    // A constant of a wider type makes DuckDB widen the result: that one is the column store's.
    await assert.rejects(db.query('SELECT id FROM c WHERE coalesce(a, 1.5) > 1', [], { engine: 'row' }), (error: unknown) => error instanceof StrataError && error.code === 'NOT_SUPPORTED')
  })

  test('an aggregate over one key\'s history', async () => {
    const counted = await sameOnBoth(`SELECT count(*) AS versions FROM h FOR ALL SYSTEM_TIME WHERE id = 'x'`)
    assert.deepEqual(counted, [{ versions: 3 }])
    assert.deepEqual(await sameOnBoth(`SELECT min(v) AS low, max(v) AS high FROM h FOR SYSTEM_TIME ALL WHERE id = 'x'`), [{ low: 1, high: 3 }])
  })

  test('FOR PORTION OF VALID_TIME FROM x TO NULL reaches the end of time', async () => {
    await db.exec(`CREATE TABLE p (id INTEGER PRIMARY KEY, v TEXT);
      INSERT INTO p (id, v, _valid_from) VALUES (1, 'old', '2000-01-01')`)
    await db.query(`UPDATE p FOR PORTION OF VALID_TIME FROM '2020-01-01' TO NULL SET v = 'new' WHERE id = 1`)
    const rows = await db.query(`SELECT v, _valid_from, _valid_to FROM p FOR VALID_TIME ALL ORDER BY _valid_from`)
    assert.deepEqual(rows.rows, [
      { v: 'old', _valid_from: new Date('2000-01-01T00:00:00Z'), _valid_to: new Date('2020-01-01T00:00:00Z') },
      { v: 'new', _valid_from: new Date('2020-01-01T00:00:00Z'), _valid_to: null },
    ])
  })

  test('CREATE TABLE … AS SELECT * FROM a Parquet file', async () => {
    const file = join(dir.path, 'rows.parquet')
    const instance = await DuckDBInstance.create(':memory:')
    const connection = await instance.connect()
    await connection.run(`COPY (SELECT range AS n, 'r' || range AS label FROM range(5)) TO '${file}' (FORMAT parquet)`)
    connection.closeSync()
    instance.closeSync()
    await db.query(`CREATE TABLE from_file AS SELECT * FROM '${file}'`)
    assert.deepEqual((await db.query('SELECT n, label FROM from_file ORDER BY n')).rows.map((row) => row['label']), ['r0', 'r1', 'r2', 'r3', 'r4'])
    await db.query(`CREATE TABLE IF NOT EXISTS from_file AS SELECT * FROM '${file}'`)
    await assert.rejects(db.query(`CREATE TABLE from_file AS SELECT * FROM '${file}'`), (error: unknown) => error instanceof StrataError && error.code === 'DUPLICATE_TABLE')
    await assert.rejects(db.query(`CREATE TABLE other AS SELEC * FROM '${file}'`), (error: unknown) => error instanceof StrataError && error.code === 'SYNTAX_ERROR')
  })
})
