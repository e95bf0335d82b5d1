/**
 * Bitemporal tables (SPEC 6, docs/time-model.md): the history layout pinned on the worked example,
 * time-travel syntax on both stores, valid-time writes, corrections of the past, ERASE, restart, and
 * the bad input of issue 3.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { open, StrataError, type Database } from '../src/index.js'
import { temporaryDirectory } from './helpers.js'

function hasCode(code: string) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof StrataError, `expected a StrataError, got ${String(error)}`)
    assert.equal(error.code, code, error.message)
    return true
  }
}

const day = (date: string): Date => new Date(`${date}T00:00:00Z`)

/** A clock the test moves: every commit happens at the time it was set to. */
function manualClock(start: string): { clock: () => Date; set: (date: string) => void } {
  let now = day(start)
  return { clock: () => now, set: (date) => (now = day(date)) }
}

function iso(value: unknown): string | null {
  return value === null ? null : (value as Date).toISOString().slice(0, 10)
}

async function layout(db: Database, sql: string, engine: 'row' | 'column'): Promise<string[]> {
  const result = await db.query(sql, [], { engine })
  return result.rows.map((row) => `${String(row['balance'])} sys[${iso(row['_system_from'])}, ${iso(row['_system_to'])}) valid[${iso(row['_valid_from'])}, ${iso(row['_valid_to'])})`)
}

describe('bitemporal tables', () => {
  test('the worked example of docs/time-model.md: the FOR SYSTEM_TIME ALL layout of a portion update, on both stores', async () => {
    const time = manualClock('2024-01-01')
    await using db = await open(':memory:', { clock: time.clock })
    await db.query('CREATE TABLE acct (id INTEGER PRIMARY KEY, balance INTEGER)')
    time.set('2024-01-02')
    await db.query('INSERT INTO acct VALUES (1, 100)')
    time.set('2024-01-05')
    // A correction of the past: on January 3 the balance was in fact 150.
    const corrected = await db.query("UPDATE acct FOR PORTION OF VALID_TIME FROM '2024-01-03' TO '2024-01-04' SET balance = 150 WHERE id = 1")
    assert.equal(corrected.rowCount, 1)
    time.set('2024-01-06')
    await db.query('UPDATE acct SET balance = 200 WHERE id = 1')
    const all = 'SELECT balance, _system_from, _system_to, _valid_from, _valid_to FROM acct FOR SYSTEM_TIME ALL FOR VALID_TIME ALL ORDER BY _system_from, _valid_from'
    const expected = [
      '100 sys[2024-01-02, 2024-01-05) valid[2024-01-02, null)',
      '100 sys[2024-01-05, null) valid[2024-01-02, 2024-01-03)',
      '150 sys[2024-01-05, null) valid[2024-01-03, 2024-01-04)',
      '100 sys[2024-01-05, 2024-01-06) valid[2024-01-04, null)',
      '100 sys[2024-01-06, null) valid[2024-01-04, 2024-01-06)',
      '200 sys[2024-01-06, null) valid[2024-01-06, null)',
    ]
    assert.deepEqual(await layout(db, all, 'row'), expected)
    assert.deepEqual(await layout(db, all, 'column'), expected)
    // What did we know, and when did we know it?
    const before = "SELECT balance FROM acct FOR SYSTEM_TIME AS OF '2024-01-04' FOR VALID_TIME AS OF '2024-01-03 12:00:00'"
    const after = "SELECT balance FROM acct FOR VALID_TIME AS OF '2024-01-03 12:00:00'"
    for (const engine of ['row', 'column'] as const) {
      assert.deepEqual((await db.query(before, [], { engine })).rows, [{ balance: 100 }], engine)
      assert.deepEqual((await db.query(after, [], { engine })).rows, [{ balance: 150 }], engine)
    }
    // SELECT * omits the hidden columns; the default reads the latest system time, valid now.
    assert.deepEqual((await db.query('SELECT * FROM acct')).rows, [{ id: 1, balance: 200 }])
    assert.deepEqual((await db.query('SELECT * FROM acct FOR SYSTEM_TIME ALL FOR VALID_TIME ALL WHERE balance = 150')).rows, [{ id: 1, balance: 150 }])
    // Transaction ids stand for their system time; the statement shorthand applies to every table.
    assert.deepEqual((await db.query('SELECT balance FROM acct FOR SYSTEM_TIME AS OF 2')).rows, [{ balance: 100 }])
    assert.deepEqual((await db.query("SELECT balance FROM acct AS OF 3 VALID AT '2024-01-03 06:00:00'")).rows, [{ balance: 150 }])
    assert.deepEqual((await db.query('SELECT balance FROM acct AS OF 1')).rows, [])
  })

  test('intervals are half-open; FROM a TO b with a ≥ b is empty; BETWEEN includes its upper bound', async () => {
    const time = manualClock('2024-01-01')
    await using db = await open(':memory:', { clock: time.clock })
    await db.query('CREATE TABLE p (id INTEGER PRIMARY KEY, v TEXT)')
    await db.query("INSERT INTO p (id, v, _valid_from, _valid_to) VALUES (1, 'x', '2024-02-01', '2024-03-01')")
    const cases: [string, number][] = [
      ["FOR VALID_TIME AS OF '2024-02-01'", 1],
      ["FOR VALID_TIME AS OF '2024-03-01'", 0],
      ["FOR VALID_TIME FROM '2024-01-01' TO '2024-02-01'", 0],
      ["FOR VALID_TIME BETWEEN '2024-01-01' AND '2024-02-01'", 1],
      ["FOR VALID_TIME FROM '2024-02-15' TO '2024-02-10'", 0],
      ["FOR VALID_TIME FROM '2024-02-10' TO '2024-02-15'", 1],
      ['FOR VALID_TIME ALL', 1],
      ['FOR ALL VALID_TIME', 1],
    ]
    for (const [clause, count] of cases) {
      for (const engine of ['row', 'column'] as const) {
        assert.equal((await db.query(`SELECT id FROM p ${clause}`, [], { engine })).rowCount, count, `${clause} (${engine})`)
      }
    }
  })

  test('joins of two tables at different times, aliases, parameters, and EXPLAIN', async () => {
    const time = manualClock('2024-01-01')
    await using db = await open(':memory:', { clock: time.clock })
    await db.exec('CREATE TABLE a (id INTEGER PRIMARY KEY, v INTEGER); CREATE TABLE b (id INTEGER PRIMARY KEY, w INTEGER)')
    time.set('2024-01-02')
    await db.exec('INSERT INTO a VALUES (1, 10); INSERT INTO b VALUES (1, 100)')
    time.set('2024-01-03')
    await db.exec('UPDATE a SET v = 11; UPDATE b SET w = 101')
    // (Each statement of the exec is its own commit: the second one's system time is 1 µs later.)
    const joined = await db.query('SELECT x.v, y.w FROM a FOR SYSTEM_TIME AS OF $1 AS x JOIN b FOR SYSTEM_TIME AS OF $2 AS y ON x.id = y.id', [day('2024-01-02'), day('2024-01-04')])
    assert.equal(joined.engine, 'column')
    assert.deepEqual(joined.rows, [{ v: 10, w: 101 }])
    const point = await db.query('SELECT v FROM a FOR SYSTEM_TIME AS OF $1 WHERE id = $2', [day('2024-01-02'), 1])
    assert.equal(point.engine, 'row')
    assert.deepEqual(point.rows, [{ v: 10 }])
    // A scan over history (no equality on the key) is the column store's.
    const scan = await db.query('SELECT v FROM a FOR SYSTEM_TIME ALL WHERE v > 0 ORDER BY v')
    assert.equal(scan.engine, 'column')
    assert.deepEqual(scan.rows, [{ v: 10 }, { v: 11 }])
    const explained = await db.query("EXPLAIN SELECT v FROM a FOR SYSTEM_TIME AS OF '2024-01-02' WHERE id = 1")
    assert.equal(explained.rows[0]!['plan'], 'store: row')
    const analytical = await db.query("EXPLAIN SELECT count(*) FROM a FOR SYSTEM_TIME ALL")
    assert.equal(analytical.rows[0]!['plan'], 'store: column')
  })


  test('* never includes the period columns, on either store, even when the query names one', async () => {
    const time = manualClock('2024-01-01')
    await using db = await open(':memory:', { clock: time.clock })
    await db.exec('CREATE TABLE a (id INTEGER PRIMARY KEY, v INTEGER); CREATE TABLE b (id INTEGER PRIMARY KEY, w INTEGER)')
    time.set('2024-01-02')
    await db.exec('INSERT INTO a VALUES (1, 10); INSERT INTO b VALUES (1, 100)')
    time.set('2024-01-03')
    await db.exec('UPDATE a SET v = 11')
    const names = (result: { columns: readonly { name: string }[] }): string[] => result.columns.map((column) => column.name)
    const cases: [string, string[]][] = [
      ['SELECT *, _system_from FROM a FOR SYSTEM_TIME ALL ORDER BY v', ['id', 'v', '_system_from']],
      ['SELECT x.*, _valid_to FROM a FOR SYSTEM_TIME ALL AS x ORDER BY v', ['id', 'v', '_valid_to']],
      ['SELECT *, x._system_to FROM a FOR SYSTEM_TIME ALL AS x JOIN b ON b.id = x.id ORDER BY v', ['id', 'v', 'id', 'w', '_system_to']],
      ['SELECT b.*, x._system_to FROM a FOR SYSTEM_TIME ALL AS x JOIN b ON b.id = x.id ORDER BY v', ['id', 'w', '_system_to']],
      ['SELECT * FROM (SELECT *, _system_from FROM a FOR SYSTEM_TIME ALL) AS s ORDER BY v', ['id', 'v', '_system_from']],
    ]
    for (const [sql, expected] of cases) {
      const column = await db.query(sql, [], { engine: 'column' })
      assert.deepEqual(names(column), expected, `column store: ${sql}`)
      const row = await db.query(sql, [], { engine: 'row' }).catch((error: unknown) => error)
      // The row store answers what it can compile; where it does, the same columns and rows.
      if (!(row instanceof StrataError)) {
        assert.deepEqual(names(row as { columns: { name: string }[] }), expected, `row store: ${sql}`)
        assert.deepEqual((row as { rows: unknown[] }).rows, column.rows, `both stores: ${sql}`)
      }
    }
    // The same for a write that reads the past through the column store (its SQL is printed from the tree).
    await db.query('CREATE TABLE snapshot AS SELECT *, _system_from AS believed_from FROM a FOR SYSTEM_TIME ALL WHERE v > 0')
    assert.deepEqual(names(await db.query('SELECT * FROM snapshot ORDER BY v')), ['id', 'v', 'believed_from'])
    assert.equal((await db.query('SELECT count(*) AS n FROM snapshot')).rows[0]!['n'], 2)
  })
  test('valid-time writes: overlap is a CONSTRAINT_VIOLATION, replace supersedes, empty periods are rejected, nothing written', async () => {
    const time = manualClock('2024-01-01')
    await using db = await open(':memory:', { clock: time.clock })
    await db.query('CREATE TABLE k (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)')
    await db.query("INSERT INTO k (id, v, _valid_from, _valid_to) VALUES (1, 1, '2023-01-01', '2023-06-01')")
    await assert.rejects(db.query("INSERT INTO k (id, v, _valid_from, _valid_to) VALUES (1, 2, '2023-05-01', '2023-07-01')"), hasCode('CONSTRAINT_VIOLATION'))
    await assert.rejects(db.query("INSERT INTO k (id, v, _valid_from, _valid_to) VALUES (2, 2, '2023-05-01', '2023-05-01')"), hasCode('CONSTRAINT_VIOLATION'))
    await assert.rejects(db.query("UPDATE k FOR PORTION OF VALID_TIME FROM '2023-05-01' TO '2023-04-01' SET v = 9"), hasCode('CONSTRAINT_VIOLATION'))
    await assert.rejects(db.query("INSERT INTO k (id, v, _valid_from, _valid_to) VALUES (3, NULL, '2023-05-01', '2023-06-01')"), hasCode('CONSTRAINT_VIOLATION'))
    // Adjacent periods do not overlap.
    await db.query("INSERT INTO k (id, v, _valid_from) VALUES (1, 2, '2023-06-01')")
    // ON CONFLICT DO NOTHING skips an overlapping row.
    const skipped = await db.query("INSERT INTO k (id, v, _valid_from, _valid_to) VALUES (1, 7, '2023-02-01', '2023-03-01') ON CONFLICT (id) DO NOTHING")
    assert.equal(skipped.rowCount, 0)
    // INSERT OR REPLACE asserts the row for its period, superseding what it overlaps.
    await db.query("INSERT OR REPLACE INTO k (id, v, _valid_from, _valid_to) VALUES (1, 5, '2023-05-01', '2023-07-01')")
    const pieces = await db.query('SELECT v, _valid_from, _valid_to FROM k FOR VALID_TIME ALL WHERE id = 1 ORDER BY _valid_from')
    assert.deepEqual(
      pieces.rows.map((row) => [row['v'], iso(row['_valid_from']), iso(row['_valid_to'])]),
      [
        [1, '2023-01-01', '2023-05-01'],
        [5, '2023-05-01', '2023-07-01'],
        [2, '2023-07-01', null],
      ],
    )
    assert.deepEqual((await db.query('SELECT * FROM k')).rows, [{ id: 1, v: 2 }])
    // CREATE, two inserts and the replace: the rejected statements and the skipped row wrote nothing.
    const transactions = await db.query('SELECT count(*) AS n FROM strata.transactions')
    assert.equal(transactions.rows[0]!['n'], 4)
  })

  test('future validity: a row valid from tomorrow appears when tomorrow comes; updates and deletes apply from now on', async () => {
    const time = manualClock('2024-01-01')
    await using db = await open(':memory:', { clock: time.clock })
    await db.query('CREATE TABLE f (id INTEGER PRIMARY KEY, v TEXT)')
    await db.query("INSERT INTO f (id, v, _valid_from) VALUES (1, 'later', '2024-01-10')")
    await db.query("INSERT INTO f VALUES (2, 'now')")
    for (const engine of ['row', 'column'] as const) assert.deepEqual((await db.query('SELECT id FROM f ORDER BY id', [], { engine })).rows, [{ id: 2 }], engine)
    time.set('2024-01-11')
    for (const engine of ['row', 'column'] as const) assert.deepEqual((await db.query('SELECT id FROM f ORDER BY id', [], { engine })).rows, [{ id: 1 }, { id: 2 }], engine)
    await db.query("UPDATE f SET v = 'changed' WHERE id = 1")
    await db.query('DELETE FROM f WHERE id = 2')
    assert.deepEqual((await db.query('SELECT id, v FROM f')).rows, [{ id: 1, v: 'changed' }])
    assert.deepEqual((await db.query("SELECT id, v FROM f FOR VALID_TIME AS OF '2024-01-10 12:00:00' ORDER BY id")).rows, [
      { id: 1, v: 'later' },
      { id: 2, v: 'now' },
    ])
    // A key is unique per valid time even against versions that only history holds.
    await assert.rejects(db.query("INSERT INTO f (id, v, _valid_from, _valid_to) VALUES (1, 'x', '2024-01-05', '2024-01-15')"), hasCode('CONSTRAINT_VIOLATION'))
  })

  test('ERASE removes an entity from all history in both stores and leaves only a record of the erasure', async () => {
    const time = manualClock('2024-01-01')
    await using db = await open(':memory:', { clock: time.clock })
    await db.query('CREATE TABLE person (id INTEGER PRIMARY KEY, email TEXT)')
    await db.query("INSERT INTO person VALUES (1, 'ann@example.com'), (2, 'bob@example.com')")
    time.set('2024-01-02')
    await db.query("UPDATE person SET email = 'ann@new.example.com' WHERE id = 1")
    assert.equal((await db.query('SELECT count(*) AS n FROM person FOR SYSTEM_TIME ALL FOR VALID_TIME ALL WHERE id = 1', [], { engine: 'column' })).rows[0]!['n'], 3)
    time.set('2024-01-03')
    // Matches on an old value: the entity goes, whatever its current email.
    const erased = await db.query("ERASE FROM person WHERE email = 'ann@example.com'")
    assert.equal(erased.rowCount, 1)
    for (const engine of ['row', 'column'] as const) {
      assert.deepEqual((await db.query('SELECT id, email FROM person FOR SYSTEM_TIME ALL FOR VALID_TIME ALL ORDER BY id', [], { engine })).rows, [{ id: 2, email: 'bob@example.com' }], engine)
    }
    const record = await db.query('SELECT tx_id, table_name, entities, versions FROM strata.erasures')
    assert.deepEqual(record.rows, [{ tx_id: erased.txId, table_name: 'person', entities: 1, versions: 3 }])
  })

  test('tables without a primary key, and writes inside a transaction read back from both stores', async () => {
    const time = manualClock('2024-01-01')
    await using db = await open(':memory:', { clock: time.clock })
    await db.query('CREATE TABLE e (v TEXT)')
    await db.query("INSERT INTO e (v, _valid_from, _valid_to) VALUES ('a', '2023-01-01', '2023-02-01'), ('b', '2023-01-15', NULL)")
    assert.deepEqual((await db.query("SELECT v FROM e FOR VALID_TIME AS OF '2023-01-20' ORDER BY v")).rows, [{ v: 'a' }, { v: 'b' }])
    await db.transaction(async (tx) => {
      await tx.query("UPDATE e FOR PORTION OF VALID_TIME FROM '2023-01-01' TO '2023-01-20' SET v = 'c' WHERE v = 'b'")
      for (const engine of ['row', 'column'] as const) {
        const rows = await tx.query("SELECT v, _valid_from FROM e FOR VALID_TIME AS OF '2023-01-17'", [], { engine })
        assert.deepEqual(rows.rows.map((row) => row['v']).sort(), ['a', 'c'], engine)
      }
    })
  })

  test('durable: history, valid-time state and the mirror survive a restart', async () => {
    const directory = temporaryDirectory('temporal')
    try {
      const time = manualClock('2024-01-01')
      {
        await using db = await open(directory.path, { clock: time.clock })
        await db.query('CREATE TABLE s (id INTEGER PRIMARY KEY, v INTEGER)')
        await db.query("INSERT INTO s (id, v, _valid_from) VALUES (1, 1, '2024-01-05')")
        await db.query('INSERT INTO s VALUES (2, 2)')
      }
      await using db = await open(directory.path, { clock: time.clock })
      for (const engine of ['row', 'column'] as const) {
        assert.deepEqual((await db.query('SELECT id FROM s ORDER BY id', [], { engine })).rows, [{ id: 2 }], engine)
        assert.deepEqual((await db.query("SELECT id FROM s FOR VALID_TIME AS OF '2024-01-06' ORDER BY id", [], { engine })).rows, [{ id: 1 }, { id: 2 }], engine)
      }
    } finally {
      directory.remove()
    }
  })

  test('after a restart, every kind of first write keeps history (the history triggers come with the first write)', async () => {
    // Each case reopens the directory and writes first in another way; every UPDATE must leave the
    // version it replaced in history, including after a transaction whose rollback came first.
    const directory = temporaryDirectory('temporal-first-write')
    try {
      const time = manualClock('2024-01-01')
      {
        await using db = await open(directory.path, { clock: time.clock })
        await db.query('CREATE TABLE h (id INTEGER PRIMARY KEY, v INTEGER)')
        await db.query('INSERT INTO h VALUES (1, 0)')
      }
      const firstWrites: ((db: Database, index: number) => Promise<unknown>)[] = [
        (db) => db.query('UPDATE h SET v = v + 1 WHERE id = 1'),
        async (db) => {
          await db.transaction(async (tx) => {
            await tx.query('UPDATE h SET v = v + 100 WHERE id = 1')
            throw new Error('roll back')
          }).catch(() => undefined)
          return db.query('UPDATE h SET v = v + 1 WHERE id = 1')
        },
        (db) => db.transaction((tx) => tx.query('UPDATE h SET v = v + 1 WHERE id = 1')),
        (db, index) => Promise.all([db.query('UPDATE h SET v = v + 1 WHERE id = 1'), db.query('INSERT INTO h VALUES ($1, 0)', [100 + index])]),
        async (db) => {
          await db.query('ALTER TABLE h ADD COLUMN w INTEGER').then(() => db.query('ALTER TABLE h DROP COLUMN w'))
          return db.query('UPDATE h SET v = v + 1 WHERE id = 1')
        },
      ]
      for (const [index, write] of firstWrites.entries()) {
        time.set(`2024-02-0${index + 1}`)
        await using db = await open(directory.path, { clock: time.clock })
        await write(db, index)
        const versions = await db.query('SELECT v FROM h FOR SYSTEM_TIME ALL WHERE id = 1 ORDER BY _system_from', [], { engine: 'row' })
        assert.deepEqual(
          versions.rows.map((row) => row['v']),
          Array.from({ length: index + 2 }, (_, version) => version),
          `first write #${index}: every version of row 1 is kept`,
        )
      }
    } finally {
      directory.remove()
    }
  })

  test('writes that read the past: INSERT … SELECT restores a deleted row, CREATE TABLE AS snapshots a moment', async () => {
    const time = manualClock('2024-01-01')
    await using db = await open(':memory:', { clock: time.clock })
    await db.query('CREATE TABLE r (id INTEGER PRIMARY KEY, v TEXT)')
    time.set('2024-01-02')
    await db.query("INSERT INTO r VALUES (1, 'a'), (2, 'b')")
    time.set('2024-01-03')
    await db.query('DELETE FROM r')
    // A key lookup in history (row store) and a scan (column store).
    const one = await db.query("INSERT INTO r SELECT * FROM r FOR SYSTEM_TIME AS OF '2024-01-02' WHERE id = 1")
    assert.equal(one.rowCount, 1)
    // (The period columns are every table's own, so a copy names them otherwise.)
    await assert.rejects(db.query("CREATE TABLE bad AS SELECT id, _system_from FROM r FOR SYSTEM_TIME ALL"), hasCode('SYNTAX_ERROR'))
    await db.query("CREATE TABLE snapshot AS SELECT id, v, _system_from AS recorded FROM r FOR SYSTEM_TIME AS OF '2024-01-02 12:00:00' ORDER BY id")
    // An expression in the select list: evaluated by the column store over its copy of history.
    const shifted = await db.query("INSERT INTO r SELECT id + 10, v FROM r FOR SYSTEM_TIME ALL WHERE v = $1", ['b'])
    assert.equal(shifted.rowCount, 1)
    assert.deepEqual((await db.query('SELECT * FROM r ORDER BY id')).rows, [{ id: 1, v: 'a' }, { id: 12, v: 'b' }])
    assert.deepEqual((await db.query('SELECT id, v, recorded FROM snapshot ORDER BY id')).rows, [
      { id: 1, v: 'a', recorded: day('2024-01-02') },
      { id: 2, v: 'b', recorded: day('2024-01-02') },
    ])
  })

  test('a table dropped and created again has a history of its own; schema changes keep history readable on both stores', async () => {
    await using db = await open(':memory:')
    await db.exec("CREATE TABLE d (id INTEGER PRIMARY KEY, a TEXT); INSERT INTO d VALUES (1, 'x'); UPDATE d SET a = 'y'")
    assert.equal((await db.query('SELECT id FROM d FOR SYSTEM_TIME ALL', [], { engine: 'column' })).rowCount, 2)
    await db.exec('DROP TABLE d; CREATE TABLE d (id INTEGER PRIMARY KEY); INSERT INTO d VALUES (9)')
    await db.exec('ALTER TABLE d ADD COLUMN z INTEGER; UPDATE d SET z = 1')
    for (const engine of ['row', 'column'] as const) {
      const rows = await db.query('SELECT id, z FROM d FOR SYSTEM_TIME ALL ORDER BY _system_from', [], { engine })
      assert.deepEqual(rows.rows, [{ id: 9, z: null }, { id: 9, z: 1 }], engine)
    }
  })

  test('bad input: clear typed errors, nothing written', async () => {
    await using db = await open(':memory:')
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY); CREATE VIEW v AS SELECT * FROM t; INSERT INTO t VALUES (1)')
    await assert.rejects(db.query('SELECT * FROM v FOR SYSTEM_TIME AS OF 1'), hasCode('NOT_SUPPORTED'))
    await assert.rejects(db.query('SELECT * FROM (SELECT * FROM t) FOR SYSTEM_TIME AS OF 1'), hasCode('SYNTAX_ERROR'))
    await assert.rejects(db.query('SELECT * FROM nope FOR SYSTEM_TIME ALL'), hasCode('UNDEFINED_TABLE'))
    await assert.rejects(db.query('SELECT * FROM t FOR SYSTEM_TIME AS OF 99'), (error: unknown) => {
      // The error shows the statement as written, time clause included.
      assert.ok(error instanceof StrataError && error.code === 'UNDEFINED_TRANSACTION', String(error))
      assert.equal(error.statement, 'SELECT * FROM t FOR SYSTEM_TIME AS OF 99')
      return true
    })
    await assert.rejects(db.query('SELECT * FROM t FOR SYSTEM_TIME AS OF'), hasCode('SYNTAX_ERROR'))
    await assert.rejects(db.query('SELECT * FROM t FOR SYSTEM_TIME SOMETIME'), hasCode('SYNTAX_ERROR'))
    await assert.rejects(db.query("SELECT * FROM t FOR SYSTEM_TIME AS OF 'yesterday-ish'"), hasCode('TYPE_MISMATCH'))
    await assert.rejects(db.query('UPDATE t SET id = 2 WHERE id IN (SELECT id FROM t FOR SYSTEM_TIME AS OF 1)'), hasCode('NOT_SUPPORTED'))
    await assert.rejects(db.query('CREATE VIEW w AS SELECT * FROM t FOR SYSTEM_TIME AS OF 1'), hasCode('NOT_SUPPORTED'))
    await assert.rejects(db.query('FROM t FOR SYSTEM_TIME AS OF 1'), hasCode('NOT_SUPPORTED'))
    assert.deepEqual((await db.query('SELECT id FROM t')).rows, [{ id: 1 }])
    assert.equal((await db.query('SELECT count(*) AS n FROM strata.transactions')).rows[0]!['n'], 3)
  })
})
