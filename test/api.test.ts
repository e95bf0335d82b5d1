/** The library API of SPEC 3 and the error contract of SPEC 11. */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { open, StrataError, Timestamp } from '../src/index.js'

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

  test("PostgreSQL's JSON constructors (json_build_object, json_build_array, json_agg) give PostgreSQL's results", async () => {
    await using db = await open()
    const one = await db.query("SELECT json_build_object('a', 1), json_build_array(1, 'x', NULL, true, 2.5)")
    // Unaliased, they keep PostgreSQL's column names (not those of DuckDB's json_object / json_array).
    assert.deepEqual(one.columns.map((column) => [column.name, column.type]), [
      ['json_build_object', 'JSON'],
      ['json_build_array', 'JSON'],
    ])
    assert.deepEqual(one.rows, [{ json_build_object: { a: 1 }, json_build_array: [1, 'x', null, true, 2.5] }])
    await db.exec(`CREATE TABLE j (id INTEGER PRIMARY KEY, x INTEGER, s TEXT, doc JSON);
      INSERT INTO j VALUES (1, 10, 'a', '{"k": [1, 2]}'), (2, NULL, NULL, NULL), (3, 30, 'c"q', '"text"')`)
    const aggregated = await db.query('SELECT json_agg(x) FROM (SELECT x FROM j ORDER BY id) AS ordered')
    assert.deepEqual(aggregated.columns.map((column) => column.name), ['json_agg'])
    assert.deepEqual(aggregated.rows, [{ json_agg: [10, null, 30] }])
    // ORDER BY, FILTER and OVER inside and after the call; of no rows json_agg is NULL, not [].
    const clauses = await db.query(`SELECT json_agg(x ORDER BY id DESC) AS down, json_agg(s) FILTER (WHERE id > 1) AS later,
      json_agg(x) FILTER (WHERE id > 5) AS none, coalesce(json_agg(x) FILTER (WHERE id > 5), '[]'::json) AS empty FROM j`)
    assert.deepEqual(clauses.rows, [{ down: [30, null, 10], later: [null, 'c"q'], none: null, empty: [] }])
    const running = await db.query('SELECT id, json_agg(id) OVER (ORDER BY id) AS seen FROM j ORDER BY id')
    assert.deepEqual(running.rows, [{ id: 1, seen: [1] }, { id: 2, seen: [1, 2] }, { id: 3, seen: [1, 2, 3] }])
    // Nested: JSON values stay JSON (not strings), text stays a string, any key type becomes text.
    const nested = await db.query("SELECT json_agg(json_build_object('id', id, 'doc', doc, 'pair', json_build_array(s, x), id * 10, true) ORDER BY id) AS rows FROM j")
    assert.deepEqual(nested.rows, [
      {
        rows: [
          { id: 1, doc: { k: [1, 2] }, pair: ['a', 10], '10': true },
          { id: 2, doc: null, pair: [null, null], '20': true },
          { id: 3, doc: 'text', pair: ['c"q', 30], '30': true },
        ],
      },
    ])
    const rowsAsObjects = await db.query('SELECT json_agg(j ORDER BY j.id) AS all_rows FROM j WHERE id <> 2')
    assert.deepEqual(rowsAsObjects.rows, [{ all_rows: [{ id: 1, x: 10, s: 'a', doc: { k: [1, 2] } }, { id: 3, x: 30, s: 'c"q', doc: 'text' }] }])
    // Inside a transaction that has written (the column store reads its own overlay), with parameters.
    await db.transaction(async (tx) => {
      await tx.query("INSERT INTO j VALUES (4, 40, 'd', NULL)")
      const inside = await tx.query('SELECT json_build_array($1::INTEGER, json_agg(id ORDER BY id)) AS a FROM j WHERE id >= $2', [7, 3])
      assert.deepEqual(inside.rows, [{ a: [7, [3, 4]] }])
    })
    await assert.rejects(db.query("SELECT json_build_object('a')"), hasCode('SYNTAX_ERROR'))
  })

  test('a parameter as the LIMIT of a correlated subquery (how ORMs fetch a to-one relation)', async () => {
    await using db = await open()
    await db.exec('CREATE TABLE n (id INTEGER PRIMARY KEY, v INTEGER); INSERT INTO n VALUES (1, 5), (2, 6), (3, 7)')
    const sql = 'SELECT a.id, (SELECT json_agg(v ORDER BY v) FROM (SELECT v FROM n AS b WHERE b.id >= a.id ORDER BY b.id LIMIT $1 OFFSET $2) AS s) AS vs FROM n AS a WHERE a.id < $3 ORDER BY a.id'
    assert.deepEqual((await db.query(sql, [1, 1, 3])).rows, [{ id: 1, vs: [6] }, { id: 2, vs: [7] }])
    // NULL is no limit and no offset, as in PostgreSQL.
    assert.deepEqual((await db.query(sql, [null, null, 9])).rows, [{ id: 1, vs: [5, 6, 7] }, { id: 2, vs: [6, 7] }, { id: 3, vs: [7] }])
    assert.deepEqual((await db.query(sql.replace('$1', '$lim').replace('$2', '0').replace('$3', '$max'), { lim: 2, max: 2 })).rows, [{ id: 1, vs: [5, 6] }])
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

  test('timestamps keep their microseconds on both stores, as parameters and in Arrow', async () => {
    await using db = await open()
    await db.exec(
      "CREATE TABLE ts (id INTEGER PRIMARY KEY, ts TIMESTAMP, tz TIMESTAMPTZ); INSERT INTO ts VALUES (1, '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.123456+02'), (2, '2024-01-02 03:04:05.123', '1969-12-31 23:59:59.999999')",
    )
    const micros = 1_704_164_645_123_456n
    const expected = { id: 1, ts: new Timestamp(micros), tz: new Timestamp(micros - 7_200_000_000n) }
    // A point read on the row store, the same read forced onto the column store, and an aggregate there.
    const point = await db.query('SELECT * FROM ts WHERE id = 1')
    assert.equal(point.engine, 'row')
    assert.deepStrictEqual(point.rows, [expected])
    const forced = await db.query('SELECT * FROM ts WHERE id = 1', [], { engine: 'column' })
    assert.equal(forced.engine, 'column')
    assert.deepStrictEqual(forced.rows, [expected])
    const aggregate = await db.query('SELECT max(ts) AS ts, min(tz) AS tz, list(ts ORDER BY id) AS all_ts FROM ts')
    assert.equal(aggregate.engine, 'column')
    assert.deepStrictEqual(aggregate.rows, [{ ts: expected.ts, tz: new Timestamp(-1n), all_ts: [expected.ts, new Date('2024-01-02T03:04:05.123Z')] }])
    const ts = point.rows[0]!['ts'] as Timestamp
    assert.ok(ts instanceof Date && ts instanceof Timestamp)
    assert.equal(ts.micros, micros)
    assert.equal(ts.toISOString(), '2024-01-02T03:04:05.123Z')
    // A whole millisecond stays a plain Date on both stores.
    for (const engine of ['row', 'column'] as const) {
      const whole = (await db.query('SELECT ts FROM ts WHERE id = 2', [], { engine })).rows[0]!['ts']
      assert.deepStrictEqual(whole, new Date('2024-01-02T03:04:05.123Z'), engine)
      assert.ok(!(whole instanceof Timestamp), engine)
    }
    // A Timestamp parameter keeps its microseconds: stored, and matched exactly on both stores.
    const later = new Timestamp(micros + 1n)
    await db.query('INSERT INTO ts VALUES ($1, $2, $3)', [3, later, later])
    for (const engine of ['row', 'column'] as const) {
      assert.deepStrictEqual((await db.query('SELECT id, ts FROM ts WHERE ts = $1', [later], { engine })).rows, [{ id: 3, ts: later }], engine)
      assert.deepStrictEqual((await db.query('SELECT id FROM ts WHERE ts = $1', [new Timestamp(micros)], { engine })).rows, [{ id: 1 }], engine)
    }
    const inserted = await db.insert('ts', [{ id: 4, ts: new Timestamp(micros + 2n), tz: null }])
    assert.equal(inserted.rowCount, 1)
    assert.deepStrictEqual((await db.query('SELECT ts FROM ts WHERE id = 4')).rows, [{ ts: new Timestamp(micros + 2n) }])
    const table = await db.queryArrow('SELECT ts FROM ts ORDER BY id')
    assert.deepStrictEqual([...table.getChild('ts')!.data[0]!.values.subarray(0, 4)], [micros, 1_704_164_645_123_000n, micros + 1n, micros + 2n])
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

  test('READ ONLY transactions (BEGIN, SET TRANSACTION) and sessions (SET SESSION CHARACTERISTICS) refuse writes with READ_ONLY; READ WRITE and isolation levels are accepted', async () => {
    await using db = await open()
    await db.query('CREATE TABLE kept (id INTEGER PRIMARY KEY)')
    await db.query('INSERT INTO kept VALUES (1)')
    for (const begin of ['BEGIN READ ONLY', 'START TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ ONLY', 'BEGIN READ WRITE, READ ONLY']) {
      await db.query(begin)
      assert.deepEqual((await db.query('SELECT count(*) AS n FROM kept')).rows, [{ n: 1 }])
      await assert.rejects(db.query('INSERT INTO kept VALUES (2)'), hasCode('READ_ONLY'))
      await assert.rejects(db.query('CREATE TABLE other (a INTEGER)'), hasCode('READ_ONLY'))
      await db.query('COMMIT')
    }
    // The next transaction is an ordinary one again; so is READ WRITE, and any isolation level.
    for (const begin of ['BEGIN', 'BEGIN READ WRITE', 'BEGIN ISOLATION LEVEL READ COMMITTED', 'BEGIN READ ONLY, READ WRITE']) {
      await db.query(begin)
      await db.query('INSERT INTO kept SELECT max(id) + 1 FROM kept')
      await db.query('COMMIT')
    }
    assert.deepEqual((await db.query('SELECT count(*) AS n FROM kept')).rows, [{ n: 5 }])
    // SET TRANSACTION changes the open transaction (outside one it does nothing, as in PostgreSQL).
    await db.query('SET TRANSACTION READ ONLY')
    await db.query('INSERT INTO kept VALUES (100)')
    await db.query('BEGIN')
    await db.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY')
    await assert.rejects(db.query('INSERT INTO kept VALUES (101)'), hasCode('READ_ONLY'))
    await db.query('ROLLBACK')
    // SET SESSION CHARACTERISTICS: every later statement, autocommit ones too, until READ WRITE.
    await db.query('SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY')
    await assert.rejects(db.query('INSERT INTO kept VALUES (102)'), hasCode('READ_ONLY'))
    await db.query('BEGIN READ WRITE')
    await db.query('INSERT INTO kept VALUES (103)')
    await db.query('COMMIT')
    await db.query('SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE')
    await db.query('INSERT INTO kept VALUES (104)')
    assert.deepEqual((await db.query('SELECT id FROM kept WHERE id >= 100 ORDER BY id')).rows, [{ id: 100 }, { id: 103 }, { id: 104 }])
    // Other SETs are not taken (never silently ignored).
    await assert.rejects(db.query('SET work_mem = 1'), hasCode('NOT_SUPPORTED'))
  })

  test('savepoints: ROLLBACK TO undoes writes and DDL after it, RELEASE keeps them; AND CHAIN starts the next transaction', async () => {
    await using db = await open()
    await db.query('CREATE TABLE saved (id INTEGER PRIMARY KEY, v TEXT)')
    await assert.rejects(db.query('SAVEPOINT outside'), hasCode('TX_STATE'))
    const before = (await db.query('SELECT count(*) AS n FROM strata.transactions')).rows[0]!['n'] as number
    await db.query('BEGIN')
    await db.query("INSERT INTO saved VALUES (1, 'kept')")
    await db.query('SAVEPOINT a')
    await db.query("INSERT INTO saved VALUES (2, 'undone')")
    await db.query("UPDATE saved SET v = 'changed' WHERE id = 1")
    await db.query('CREATE TABLE scratch (x INTEGER)')
    await db.query('ROLLBACK TO SAVEPOINT a')
    await assert.rejects(db.query('SELECT * FROM scratch'), hasCode('UNDEFINED_TABLE'))
    // The savepoint is still there: roll back to it again after more work.
    await db.query("INSERT INTO saved VALUES (3, 'undone too')")
    await db.query('ROLLBACK TO a')
    await db.query('SAVEPOINT b')
    await db.query('SAVEPOINT c')
    await db.query("INSERT INTO saved VALUES (4, 'released')")
    await db.query('RELEASE SAVEPOINT b')
    await assert.rejects(db.query('ROLLBACK TO c'), hasCode('TX_STATE'))
    // Inside the transaction both stores see its own state.
    for (const engine of ['row', 'column'] as const) {
      assert.deepEqual((await db.query('SELECT id, v FROM saved ORDER BY id', [], { engine })).rows, [{ id: 1, v: 'kept' }, { id: 4, v: 'released' }], engine)
    }
    const committed = await db.query('COMMIT')
    assert.equal(typeof committed.txId, 'number')
    for (const engine of ['row', 'column'] as const) {
      assert.deepEqual((await db.query('SELECT id, v FROM saved ORDER BY id', [], { engine })).rows, [{ id: 1, v: 'kept' }, { id: 4, v: 'released' }], engine)
    }
    // History holds no trace of what was rolled back.
    assert.deepEqual((await db.query('SELECT id, v FROM saved FOR SYSTEM_TIME ALL ORDER BY id')).rows, [{ id: 1, v: 'kept' }, { id: 4, v: 'released' }])
    await db.query('CREATE TABLE scratch (x INTEGER)')
    // Rolled back to before the first write: nothing to commit, no transaction recorded.
    await db.query('BEGIN')
    await db.query('SAVEPOINT nothing')
    await db.query("INSERT INTO saved VALUES (5, 'gone')")
    await db.query('ROLLBACK TO nothing')
    assert.equal((await db.query('COMMIT')).txId, undefined)
    // COMMIT AND CHAIN commits and opens the next transaction at once, READ ONLY kept.
    await db.query('BEGIN')
    await db.query("INSERT INTO saved VALUES (6, 'chained')")
    await db.query('COMMIT AND CHAIN')
    await db.query("INSERT INTO saved VALUES (7, 'rolled back')")
    await db.query('ROLLBACK')
    await db.query('BEGIN READ ONLY')
    await db.query('ROLLBACK AND CHAIN')
    await assert.rejects(db.query("INSERT INTO saved VALUES (8, 'refused')"), hasCode('READ_ONLY'))
    await db.query('COMMIT')
    assert.deepEqual((await db.query('SELECT id FROM saved ORDER BY id')).rows, [{ id: 1 }, { id: 4 }, { id: 6 }])
    assert.equal((await db.query('SELECT count(*) AS n FROM strata.transactions')).rows[0]!['n'], before + 3)
  })

  test('syntax errors point at the error, not at an earlier token with the same text; in characters of the statement as written', async () => {
    await using db = await open()
    await db.query('CREATE TABLE t (id INTEGER PRIMARY KEY)')
    const position = async (sql: string): Promise<number | undefined> => {
      try {
        await db.exec(sql)
      } catch (error) {
        hasCode('SYNTAX_ERROR')(error)
        return (error as StrataError).position
      }
      assert.fail(`expected ${sql} to fail`)
    }
    assert.equal(await position('SELECT id FROM t WHER id = 1'), 'SELECT id FROM t WHER '.length + 1)
    assert.equal(await position('SELECT id\nFROM t\nWHER id = 1'), 'SELECT id\nFROM t\nWHER '.length + 1)
    assert.equal(await position("SELECT 'é😀', id FROM t WHER id = 1"), "SELECT 'é😀', id FROM t WHER ".length + 1)
    // The second statement's error is about the second statement's text.
    await assert.rejects(db.exec('SELECT 1;\n  SELECT id FROM t WHER id = 1'), (error: unknown) => {
      hasCode('SYNTAX_ERROR')(error)
      assert.equal((error as StrataError).statement, 'SELECT id FROM t WHER id = 1')
      assert.equal((error as StrataError).position, 'SELECT id FROM t WHER '.length + 1)
      return true
    })
  })

  test('empty SQL, only semicolons or only comments: query() gives an empty result and exec() no results, as PostgreSQL answers an empty query', async () => {
    await using db = await open()
    for (const sql of ['', '   ', ';;;', '-- nothing\n', '/* nothing */ ;']) {
      const result = await db.query(sql)
      assert.deepEqual({ rows: result.rows, columns: result.columns, rowCount: result.rowCount }, { rows: [], columns: [], rowCount: 0 }, JSON.stringify(sql))
      assert.deepEqual(await db.exec(sql), [], JSON.stringify(sql))
    }
  })

  test('params must be an array or a plain object (INVALID_ARGUMENT); a parameter nested too deeply is INVALID_PARAMETER', async () => {
    await using db = await open()
    await db.query('CREATE TABLE docs (id INTEGER PRIMARY KEY, body JSON)')
    for (const bad of ['abc', 5, true, new Date(), null, new Map()]) {
      await assert.rejects(db.query('SELECT 1 AS one', bad as never), hasCode('INVALID_ARGUMENT'))
    }
    await assert.rejects(db.query(42 as never), hasCode('INVALID_ARGUMENT'))
    assert.deepEqual((await db.query('SELECT $a AS a', Object.assign(Object.create(null) as object, { a: 1 }))).rows, [{ a: 1 }])
    const nested = (depth: number): unknown => {
      let value: unknown = 1
      for (let level = 0; level < depth; level++) value = level % 2 === 0 ? [value] : { a: value }
      return value
    }
    await db.query('INSERT INTO docs VALUES (1, $1)', [nested(100)])
    for (const [sql, params] of [
      ['INSERT INTO docs VALUES (2, $1)', [nested(100_000)]],
      ['SELECT count(*) AS n FROM docs WHERE body = $1', [nested(100_000)]],
      ['SELECT $b::VARCHAR AS b', { b: nested(100_000) }],
    ] as const) {
      await assert.rejects(db.query(sql, params as never), (error: unknown) => {
        hasCode('INVALID_PARAMETER')(error)
        assert.match((error as StrataError).message, /nested more than 1000 levels deep/)
        return true
      })
    }
    assert.deepEqual((await db.query('SELECT count(*) AS n FROM docs')).rows, [{ n: 1 }])
  })

  test('a LIMIT or OFFSET parameter that is not a row count is INVALID_PARAMETER on both stores; a value out of a column type is TYPE_MISMATCH, never INTERNAL', async () => {
    await using db = await open()
    await db.exec('CREATE TABLE l (id INTEGER PRIMARY KEY, a INTEGER); INSERT INTO l VALUES (1, 1), (2, 2), (3, 3)')
    for (const engine of ['row', 'column'] as const) {
      for (const bad of [1e300, -1, 1.5, 'abc', Number.NaN, 2n ** 70n, true]) {
        await assert.rejects(db.query('SELECT id FROM l ORDER BY id LIMIT $1', [bad], { engine }), hasCode('INVALID_PARAMETER'), `LIMIT ${String(bad)} on ${engine}`)
        await assert.rejects(db.query('SELECT id FROM l ORDER BY id LIMIT 1 OFFSET $1', [bad], { engine }), hasCode('INVALID_PARAMETER'), `OFFSET ${String(bad)} on ${engine}`)
      }
      for (const [limit, ids] of [[2, [1, 2]], ['2', [1, 2]], [2n, [1, 2]], [null, [1, 2, 3]], [0, []]] as const) {
        const { rows } = await db.query('SELECT id FROM l ORDER BY id LIMIT $1', [limit], { engine })
        assert.deepEqual(rows.map((row) => row['id']), ids, `LIMIT ${String(limit)} on ${engine}`)
      }
    }
    // A number compared with a column is compared as the number it is (the wider type), on both stores.
    for (const engine of ['row', 'column'] as const) {
      assert.deepEqual((await db.query('SELECT id FROM l WHERE a = $1', [1e300], { engine })).rows, [], engine)
      assert.deepEqual((await db.query('SELECT id FROM l WHERE a < $1 ORDER BY id', [1e300], { engine })).rows, [{ id: 1 }, { id: 2 }, { id: 3 }], engine)
    }
    assert.deepEqual((await db.query('SELECT count(*) AS n FROM l WHERE a = $1', [1e300])).rows, [{ n: 0 }])
  })

  test('a 2,000-term OR runs on the row store; an IN list longer than SQLite binds goes to the column store, reads and writes alike', async () => {
    await using db = await open()
    await db.exec('CREATE TABLE w (id INTEGER PRIMARY KEY, a INTEGER); INSERT INTO w VALUES (1, 1), (2, 2), (3, 40000)')
    const ored = await db.query(`SELECT id FROM w WHERE ${Array.from({ length: 2_000 }, (_, index) => `a = ${index}`).join(' OR ')} ORDER BY id`)
    assert.equal(ored.engine, 'row')
    assert.deepEqual(ored.rows, [{ id: 1 }, { id: 2 }])
    const values = Array.from({ length: 40_001 }, (_, index) => index).join(', ')
    const listed = await db.query(`SELECT id FROM w WHERE a IN (${values}) ORDER BY id`)
    assert.equal(listed.engine, 'column')
    assert.deepEqual(listed.rows, [{ id: 1 }, { id: 2 }, { id: 3 }])
    assert.equal((await db.query(`DELETE FROM w WHERE id > 1 AND a IN (${values})`)).rowCount, 2)
    assert.deepEqual((await db.query('SELECT id FROM w')).rows, [{ id: 1 }])
  })

  test('errors speak in one voice whichever store raised them: no store prefix, no error class, no parse-tree names; the store and its words in error.store and error.detail', async () => {
    await using db = await open()
    await db.exec("CREATE TABLE v (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, s TEXT UNIQUE); INSERT INTO v VALUES (1, 1, 'a')")
    const cases: [string, 'row' | 'column' | undefined, string, RegExp, 'row' | 'column' | undefined, RegExp | undefined][] = [
      ['SELECT count(*) AS n FROM nope', undefined, 'UNDEFINED_TABLE', /^table "nope" does not exist$/, 'column', /Catalog Error: Table with name nope does not exist/],
      ['SELECT nope FROM v WHERE id = 1', undefined, 'UNDEFINED_COLUMN', /^column "nope" does not exist in table "v"$/, undefined, undefined],
      ['SELECT nope, count(*) AS n FROM v GROUP BY 1', undefined, 'UNDEFINED_COLUMN', /^column "nope" does not exist$/, 'column', /Binder Error/],
      // A literal that is not a value of the column's type is DuckDB's to cast (when a row reaches it).
      ["SELECT * FROM v WHERE n = 'abc'", undefined, 'TYPE_MISMATCH', /^invalid input syntax for type integer: "abc"$/, 'column', /^Conversion Error: Could not convert string 'abc' to INT32$/],
      ["SELECT count(*) AS c FROM v WHERE n = 'abc'", undefined, 'TYPE_MISMATCH', /^invalid input syntax for type integer: "abc"$/, 'column', /^Conversion Error: Could not convert string 'abc' to INT32$/],
      ['SELECT nofunc(n) FROM v', undefined, 'TYPE_MISMATCH', /^function nofunc\(\) does not exist$/, 'column', /Catalog Error/],
      ['SELECT id FROM v WHER id = 1', undefined, 'SYNTAX_ERROR', /^syntax error at or near "id" \(at position 23\)$/, undefined, undefined],
      ["INSERT INTO v VALUES (1, 2, 'b')", undefined, 'CONSTRAINT_VIOLATION', /^duplicate key value violates the unique constraint on v \(id\)$/, 'row', /^UNIQUE constraint failed: v\.id$/],
      ["INSERT INTO v VALUES (2, NULL, 'b')", undefined, 'CONSTRAINT_VIOLATION', /^null value in column "n" of table "v" violates the NOT NULL constraint$/, 'row', /NOT NULL constraint failed/],
      ['SELECT * FROM v WHERE n = ANY(ARRAY[1])', 'row', 'NOT_SUPPORTED', /the condition ANY \(…\)/, undefined, undefined],
      ['SELECT * FROM v WHERE n IS DISTINCT FROM 1', 'row', 'NOT_SUPPORTED', /the condition IS DISTINCT FROM/, undefined, undefined],
      ['TRUNCATE v', undefined, 'NOT_SUPPORTED', /^TRUNCATE is not supported$/, undefined, undefined],
      ['CREATE TABLE w (id INTEGER REFERENCES v (id))', undefined, 'NOT_SUPPORTED', /FOREIGN KEY/, undefined, undefined],
      ['ALTER TABLE v ADD CONSTRAINT k UNIQUE (n)', undefined, 'NOT_SUPPORTED', /^ALTER TABLE … ADD CONSTRAINT$/, undefined, undefined],
    ]
    for (const [sql, engine, code, message, store, detail] of cases) {
      await assert.rejects(db.query(sql, [], engine === undefined ? {} : { engine }), (error: unknown) => {
        hasCode(code)(error)
        const strata = error as StrataError
        assert.match(strata.message, message, sql)
        assert.doesNotMatch(strata.message, /(row|column) store:|(Catalog|Binder|Conversion|Parser|Constraint) Error|A_Expr|AEXPR|ColumnRef|SubLink|Stmt\b|CONSTR_|AT_/, sql)
        assert.equal(strata.store, store, sql)
        if (detail !== undefined) assert.match(strata.detail ?? '', detail, sql)
        return true
      })
    }
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
