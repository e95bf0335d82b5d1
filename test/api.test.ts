/** The library API of SPEC 3 and the error contract of SPEC 11. */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { open, StrataError } from '../src/index.js'

function hasCode(code: string) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof StrataError, `expected a StrataError, got ${String(error)}`)
    assert.equal(error.code, code, error.message)
    return true
  }
}

describe('library API', () => {
  test('sql tag, named and positional parameters, exec, txId', async () => {
    await using db = await open(':memory:')
    const [created, inserted] = await db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO t VALUES (1, 'a'), (2, 'b')")
    assert.equal(created!.txId, 1)
    assert.equal(inserted!.txId, 2)
    assert.equal(inserted!.rowCount, 2)
    const id = 2
    assert.deepEqual((await db.sql`SELECT name FROM t WHERE id = ${id}`).rows, [{ name: 'b' }])
    assert.deepEqual((await db.query('SELECT id FROM t WHERE name = $name', { name: 'a' })).rows, [{ id: 1 }])
    assert.deepEqual((await db.query('SELECT count(*) AS n FROM t WHERE id >= $low', { low: 1 })).rows, [{ n: 2 }])
    const returned = await db.query("INSERT INTO t VALUES (3, 'c') RETURNING id, name")
    assert.deepEqual(returned.rows, [{ id: 3, name: 'c' }])
    assert.equal(returned.txId, 3)
  })

  test("BLOB literals mean DuckDB's bytes on both stores; a non-ASCII character is a TYPE_MISMATCH", async () => {
    await using db = await open()
    await db.exec("CREATE TABLE b (id INTEGER PRIMARY KEY, v BLOB); INSERT INTO b VALUES (1, '\\x01ff'::BLOB), (2, 'abc')")
    for (const engine of ['row', 'column'] as const) {
      const rows = (await db.query('SELECT v FROM b ORDER BY id', [], { engine })).rows
      assert.deepEqual(rows.map((row) => [...(row['v'] as Uint8Array)]), [[1, 102, 102], [97, 98, 99]], engine)
    }
    await assert.rejects(db.query("INSERT INTO b VALUES (3, 'é')"), hasCode('TYPE_MISMATCH'))
  })

  test('boolean constants keep their value in statements the engine rewrites for DuckDB', async () => {
    await using db = await open()
    await db.exec('CREATE TABLE f (id INTEGER PRIMARY KEY, flag BOOLEAN, n INTEGER); INSERT INTO f VALUES (1, false, 1), (2, false, 2)')
    // A subquery makes DuckDB evaluate the UPDATE; information_schema is a rewritten catalog read.
    await db.query('UPDATE f SET flag = true WHERE id IN (SELECT id FROM f WHERE n > 1)')
    assert.deepEqual((await db.query('SELECT id, flag FROM f ORDER BY id')).rows, [{ id: 1, flag: false }, { id: 2, flag: true }])
    assert.deepEqual((await db.query('SELECT count(*) AS n FROM information_schema.tables WHERE true')).rows, [{ n: 1 }])
    await db.query('INSERT INTO f SELECT id + 10, NOT flag, n FROM f WHERE flag = true')
    assert.deepEqual((await db.query('SELECT id, flag FROM f WHERE id > 10')).rows, [{ id: 12, flag: false }])
    // Names that are keywords to DuckDB only (at, qualify) survive the same rewrites.
    await db.exec("CREATE TABLE ev (id INTEGER PRIMARY KEY, at TIMESTAMP, qualify TEXT); INSERT INTO ev VALUES (1, '2024-01-01', 'x')")
    await db.query("UPDATE ev SET qualify = 'y' WHERE id IN (SELECT id FROM ev WHERE at IS NOT NULL)")
    assert.deepEqual((await db.query('SELECT qualify FROM ev')).rows, [{ qualify: 'y' }])
    assert.deepEqual((await db.query('SELECT 1 AS at FROM strata.sync_status')).rows, [{ at: 1 }])
  })

  test('statements that mention ERROR, or hold a newline inside a string, parse like any other', async () => {
    await using db = await open()
    await db.exec('CREATE TABLE s (id INTEGER PRIMARY KEY, v TEXT)')
    await db.query('INSERT INTO s VALUES ($id, $v)', { id: 1, v: 'ERROR\nx' })
    assert.deepEqual((await db.query("SELECT 'ERROR' AS e WHERE 1 = $x", { x: 1 })).rows, [{ e: 'ERROR' }])
    assert.deepEqual((await db.query("SELECT 'a\nb' AS e WHERE 1 = $x", { x: 1 })).rows, [{ e: 'a\nb' }])
    const [, second] = await db.exec("SELECT 'ERROR' AS e; SELECT 2 AS two")
    assert.deepEqual(second!.rows, [{ two: 2 }])
    assert.deepEqual((await db.query("SELECT v || '\t' AS w FROM s FOR SYSTEM_TIME ALL WHERE v <> 'ERROR'")).rows, [{ w: 'ERROR\nx\t' }])
  })

  test('queryArrow returns an Arrow table with the same values', async () => {
    await using db = await open()
    await db.exec("CREATE TABLE m (k TEXT, v DOUBLE, n BIGINT); INSERT INTO m VALUES ('x', 1.5, 10), ('y', 2.5, 20)")
    const table = await db.queryArrow('SELECT k, v, n FROM m ORDER BY k')
    assert.equal(table.numRows, 2)
    assert.deepEqual(table.getChild('k')!.toArray(), ['x', 'y'])
    assert.deepEqual([...table.getChild('v')!.toArray()], [1.5, 2.5])
    assert.deepEqual([...table.getChild('n')!.toArray()], [10n, 20n])
  })

  test('every call after close fails with CLOSED; close is idempotent', async () => {
    const db = await open()
    await db.close()
    await db.close()
    await assert.rejects(db.query('SELECT 1'), hasCode('CLOSED'))
    await assert.rejects(db.syncStatus(), hasCode('CLOSED'))
    await assert.rejects(db.transaction(async () => undefined), hasCode('CLOSED'))
  })

  test('syncStatus reports committed, applied and lag', async () => {
    await using db = await open()
    await db.exec('CREATE TABLE s (a INTEGER); INSERT INTO s VALUES (1)')
    await db.query('SELECT count(*) FROM s')
    const status = await db.syncStatus()
    assert.deepEqual(status, { lastCommittedTx: 2, lastAppliedTx: 2, lagTx: 0, lagMs: 0 })
    const viaSql = await db.query('SELECT last_committed_tx, last_applied_tx, lag_tx FROM strata.sync_status')
    assert.deepEqual(viaSql.rows, [{ last_committed_tx: 2, last_applied_tx: 2, lag_tx: 0 }])
  })

  test('an injected clock sets system time; ids are dense and times strictly increase', async () => {
    const fixed = new Date('2030-01-01T00:00:00Z')
    await using db = await open(undefined, { clock: () => fixed })
    await db.exec('CREATE TABLE c (a INTEGER); INSERT INTO c VALUES (1); INSERT INTO c VALUES (2)')
    const commits = await db.query('SELECT tx_id, system_time FROM strata.transactions ORDER BY tx_id')
    assert.deepEqual(commits.rows.map((row) => row['tx_id']), [1, 2, 3])
    const times = commits.rows.map((row) => (row['system_time'] as Date).getTime())
    assert.equal(times[0], fixed.getTime())
    // The clock stands still, so each later commit is 1 µs after the previous one (ms precision in a Date).
    assert.ok(times[2]! >= times[1]! && times[1]! >= times[0]!)
    const micros = await db.query('SELECT epoch_us(system_time) AS us FROM strata.transactions ORDER BY tx_id')
    const us = micros.rows.map((row) => row['us'] as number)
    assert.deepEqual(us, [fixed.getTime() * 1000, fixed.getTime() * 1000 + 1, fixed.getTime() * 1000 + 2])
  })
})

describe('errors', () => {
  test('syntax errors carry the position', async () => {
    await using db = await open()
    await assert.rejects(db.query('SELECT * FROM t WHER id = 1'), (error: unknown) => {
      hasCode('SYNTAX_ERROR')(error)
      assert.equal((error as StrataError).position, 22)
      return true
    })
  })

  test('unknown table and column, duplicate table, constraint and type errors; nothing half-applied', async () => {
    await using db = await open()
    await db.query('CREATE TABLE u (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, s TEXT UNIQUE)')
    await assert.rejects(db.query('SELECT * FROM nope WHERE id = 1'), hasCode('UNDEFINED_TABLE'))
    await assert.rejects(db.query('SELECT nope FROM u WHERE id = 1'), hasCode('UNDEFINED_COLUMN'))
    await assert.rejects(db.query('SELECT sum(nope) FROM u'), hasCode('UNDEFINED_COLUMN'))
    await assert.rejects(db.query('CREATE TABLE u (a INTEGER)'), hasCode('DUPLICATE_TABLE'))
    await db.query('CREATE TABLE IF NOT EXISTS u (a INTEGER)')
    await assert.rejects(db.query("INSERT INTO u VALUES (1, 1, 'a'), (2, NULL, 'b')"), hasCode('CONSTRAINT_VIOLATION'))
    await assert.rejects(db.query("INSERT INTO u VALUES (1, 'abc', 'a')"), hasCode('TYPE_MISMATCH'))
    await assert.rejects(db.query("INSERT INTO u VALUES (1, 99999999999, 'a')"), hasCode('TYPE_MISMATCH'))
    await assert.rejects(db.query('INSERT INTO u VALUES ($1, $2, $3)', [1, 'x', 'a']), hasCode('TYPE_MISMATCH'))
    // The multi-row insert that failed on its second row left nothing, and no commit was recorded.
    assert.deepEqual((await db.query('SELECT count(*) AS n FROM u')).rows, [{ n: 0 }])
    assert.deepEqual((await db.query('SELECT count(*) AS n FROM strata.transactions')).rows, [{ n: 1 }])
  })

  test('transaction state errors: nested BEGIN, COMMIT and ROLLBACK without BEGIN', async () => {
    await using db = await open()
    await assert.rejects(db.query('COMMIT'), hasCode('TX_STATE'))
    await assert.rejects(db.query('ROLLBACK'), hasCode('TX_STATE'))
    await db.query('BEGIN')
    await assert.rejects(db.query('BEGIN'), hasCode('TX_STATE'))
    await db.query('CREATE TABLE inside (a INTEGER)')
    await db.query('INSERT INTO inside VALUES (1)')
    const committed = await db.query('COMMIT')
    assert.equal(committed.txId, 1)
    assert.deepEqual((await db.query('SELECT * FROM inside')).rows, [{ a: 1 }])
  })

  test('a statement the row store cannot express goes to the column store, never to a different answer', async () => {
    await using db = await open()
    await db.exec('CREATE TABLE d (a INTEGER, b INTEGER); INSERT INTO d VALUES (5, 2)')
    // Integer division differs between SQLite (2) and DuckDB (2.5); the row store must not run it.
    const divided = await db.query('SELECT a / b AS q FROM d WHERE a = 5')
    assert.equal(divided.engine, 'column')
    assert.deepEqual(divided.rows, [{ q: 2.5 }])
    await db.query('UPDATE d SET b = a / b')
    assert.deepEqual((await db.query('SELECT b FROM d')).rows, [{ b: 3 }])
  })
})
