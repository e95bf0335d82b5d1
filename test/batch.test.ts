/**
 * Bulk and batch writes (SPEC 7): `db.insert(table, rows | arrowTable)` and `db.writeBatch([...])`
 * each commit once (one transaction id in strata.transactions), write nothing when any row or item
 * fails (and say which), coerce values as parameters, and are seen by the column store right after.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { Binary, Bool, DateDay, Float64, Int32, Int64, Table, TimestampMicrosecond, Utf8, vectorFromArray } from 'apache-arrow'
import { open, StrataError, Timestamp, type Database } from '../src/index.js'
import { sortedRows } from './helpers.js'

let db: Database

before(async () => {
  db = await open()
  await db.exec(`
    CREATE TABLE readings (id INTEGER PRIMARY KEY, device TEXT NOT NULL, ts TIMESTAMP, v DOUBLE, n BIGINT, ok BOOLEAN DEFAULT true,
      meta JSON, raw BLOB, day DATE, price DECIMAL(8,2), CHECK (v IS NULL OR v >= 0));
    CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT NOT NULL UNIQUE, balance INTEGER NOT NULL, CHECK (balance >= 0));
    CREATE TABLE loose (a INTEGER, b TEXT);
    CREATE VIEW big_accounts AS SELECT * FROM accounts WHERE balance > 100;
  `)
})

after(async () => {
  await db.close()
})

async function transactionCount(): Promise<number> {
  return Number((await db.query('SELECT count(*) AS n FROM strata.transactions')).rows[0]!['n'])
}

async function count(table: string): Promise<number> {
  return Number((await db.query(`SELECT count(*) AS n FROM ${table}`, [], { engine: 'row' })).rows[0]!['n'])
}

function rejectsWith(code: string, pattern?: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof StrataError, `expected a StrataError, got ${String(error)}`)
    assert.equal(error.code, code, error.message)
    if (pattern !== undefined) assert.match(error.message, pattern)
    return true
  }
}

describe('db.insert', () => {
  test('many rows are one commit with one transaction id, seen by both stores', async () => {
    const before = await transactionCount()
    const rows = Array.from({ length: 5_000 }, (_, id) => ({ id, device: `d${id % 7}`, ts: new Date(Date.UTC(2024, 0, 1) + id * 1000), v: id / 4, n: id * 1_000_000 }))
    const summary = await db.insert('readings', rows)
    assert.equal(summary.rowCount, 5_000)
    assert.equal(typeof summary.txId, 'number')
    assert.equal(await transactionCount(), before + 1)
    const recorded = await db.query('SELECT tx_id, rows_changed FROM strata.transactions WHERE tx_id = $1', [summary.txId])
    assert.deepEqual(recorded.rows, [{ tx_id: summary.txId, rows_changed: 5_000 }])
    // Every row's version was written by that one commit.
    const versions = await db.query('SELECT count(DISTINCT _system_from) AS commits, count(*) AS n FROM readings')
    assert.deepEqual(versions.rows, [{ commits: 1, n: 5_000 }])
    // Read-your-writes: an analytical read right after sees every row.
    const analytical = await db.query('SELECT count(*) AS n, sum(v) AS total, max(ts) AS latest FROM readings')
    assert.equal(analytical.engine, 'column')
    assert.deepEqual(analytical.rows, [{ n: 5_000, total: rows.reduce((sum, row) => sum + row.v, 0), latest: new Date(Date.UTC(2024, 0, 1) + 4_999_000) }])
    const row = await db.query('SELECT * FROM readings WHERE id = 4999')
    assert.equal(row.engine, 'row')
    const column = await db.query('SELECT * FROM readings WHERE id = 4999', [], { engine: 'column' })
    assert.deepEqual(row.rows, column.rows)
    assert.equal(row.rows[0]!['ok'], true, 'a key the row object lacks takes the column DEFAULT')
    await db.query('DELETE FROM readings')
  })

  test('values are coerced as parameters are; JS types come back as SPEC 3 says', async () => {
    const summary = await db.insert('readings', [
      { id: 1, device: 'a', ts: '2024-03-01 12:00:00.123456', v: '2.5', n: 9007199254740993n, ok: 'yes', meta: { tags: ['x'] }, raw: new Uint8Array([1, 2]), day: new Date(Date.UTC(2024, 2, 1)), price: 12.345 },
      { id: '2', device: 'b', ts: new Date(Date.UTC(2024, 2, 2)), v: null, n: 7, ok: false, meta: '[1,2]', raw: 'text', day: '2024-03-02', price: '3' },
    ])
    assert.equal(summary.rowCount, 2)
    for (const engine of ['row', 'column'] as const) {
      const { rows } = await db.query('SELECT * FROM readings ORDER BY id', [], { engine })
      const { raw, ...rest } = rows[0]!
      assert.deepEqual(rest, {
        id: 1, device: 'a', ts: new Timestamp(1_709_294_400_123_456n), v: 2.5, n: 9007199254740993n, ok: true,
        meta: { tags: ['x'] }, day: '2024-03-01', price: 12.35,
      }, engine)
      assert.ok(raw instanceof Uint8Array)
      assert.deepEqual([...raw], [1, 2])
      assert.equal(rows[1]!['id'], 2)
      assert.equal(rows[1]!['v'], null)
      assert.deepEqual(rows[1]!['meta'], [1, 2])
      assert.deepEqual([...(rows[1]!['raw'] as Uint8Array)], [...new TextEncoder().encode('text')])
    }
    // Microseconds survive (the Timestamp above carries them; SQL matches them exactly).
    const micros = await db.query("SELECT count(*) AS n FROM readings WHERE ts = TIMESTAMP '2024-03-01 12:00:00.123456'")
    assert.equal(micros.rows[0]!['n'], 1)
    await db.query('DELETE FROM readings')
  })

  test('an apache-arrow Table is inserted by column name, keeping microseconds', async () => {
    const micros = 1_709_294_400_123_456n
    const arrow = new Table({
      id: vectorFromArray([10, 11, 12], new Int32()),
      device: vectorFromArray(['x', 'y', null], new Utf8()),
      ts: vectorFromArray([new Date(Date.UTC(2024, 0, 1)), null, new Date(Date.UTC(2024, 0, 3))], new TimestampMicrosecond()),
      v: vectorFromArray([1.5, null, 3], new Float64()),
      n: vectorFromArray([1n, 9007199254740993n, null], new Int64()),
      ok: vectorFromArray([true, false, null], new Bool()),
      raw: vectorFromArray([new Uint8Array([9]), null, null], new Binary()),
      day: vectorFromArray([new Date(Date.UTC(2024, 4, 5)), null, null], new DateDay()),
    })
    // Row 12's device is NULL, so the whole table fails NOT NULL and nothing is written.
    await assert.rejects(db.insert('readings', arrow), rejectsWith('CONSTRAINT_VIOLATION', /row 2/))
    assert.equal(await count('readings'), 0)
    const fixed = new Table({
      id: vectorFromArray([10, 11], new Int32()),
      device: vectorFromArray(['x', 'y'], new Utf8()),
      ts: vectorFromArray([new Date(Date.UTC(2024, 0, 1)), null], new TimestampMicrosecond()),
      n: vectorFromArray([1n, 9007199254740993n], new Int64()),
      day: vectorFromArray([new Date(Date.UTC(2024, 4, 5)), null], new DateDay()),
    })
    const summary = await db.insert('readings', fixed)
    assert.equal(summary.rowCount, 2)
    const { rows } = await db.query('SELECT id, device, ts, n, ok, day FROM readings ORDER BY id', [], { engine: 'column' })
    assert.deepEqual(rows, [
      { id: 10, device: 'x', ts: new Date(Date.UTC(2024, 0, 1)), n: 1, ok: true, day: '2024-05-05' },
      { id: 11, device: 'y', ts: null, n: 9007199254740993n, ok: true, day: null },
    ])
    // Sub-millisecond Arrow timestamps keep their microseconds.
    const precise = new Table({ id: vectorFromArray([20], new Int32()), device: vectorFromArray(['p'], new Utf8()), ts: vectorFromArray([new Date(0)], new TimestampMicrosecond()) })
    ;(precise.getChild('ts')!.data[0]!.values as unknown as BigInt64Array)[0] = micros
    await db.insert('readings', precise)
    const exact = await db.query("SELECT id, ts FROM readings WHERE ts = TIMESTAMP '2024-03-01 12:00:00.123456'")
    assert.deepEqual(exact.rows, [{ id: 20, ts: new Timestamp(micros) }])
    await db.query('DELETE FROM readings')
  })

  test('a bad row writes nothing, and the error names the row', async () => {
    const before = await transactionCount()
    const rows = Array.from({ length: 300 }, (_, id) => ({ id, device: 'd', v: id === 250 ? -1 : id }))
    await assert.rejects(db.insert('readings', rows), rejectsWith('CONSTRAINT_VIOLATION', /row 250/))
    await assert.rejects(db.insert('readings', [{ id: 1, device: 'a' }, { id: 1, device: 'b' }]), rejectsWith('CONSTRAINT_VIOLATION', /row 1/))
    await assert.rejects(db.insert('readings', [{ id: 1, device: 'a' }, { id: 2, device: 'b', v: 'lots' }]), rejectsWith('TYPE_MISMATCH', /row 1, column "v"/))
    await assert.rejects(db.insert('readings', [{ id: 1, device: null }]), rejectsWith('CONSTRAINT_VIOLATION', /row 0/))
    await assert.rejects(db.insert('readings', [{ id: 1, device: 'a', n: 2n ** 70n }]), rejectsWith('TYPE_MISMATCH'))
    assert.equal(await count('readings'), 0)
    assert.equal(await transactionCount(), before, 'a failed insert records no transaction')
  })

  test('unknown tables, columns and bad input', async () => {
    await assert.rejects(db.insert('nope', [{ a: 1 }]), rejectsWith('UNDEFINED_TABLE'))
    await assert.rejects(db.insert('big_accounts', [{ id: 1 }]), rejectsWith('UNDEFINED_TABLE', /view/))
    await assert.rejects(db.insert('readings', [{ id: 1, device: 'a', colour: 'red' }]), rejectsWith('UNDEFINED_COLUMN', /colour/))
    await assert.rejects(db.insert('readings', 'not rows' as never), rejectsWith('INVALID_PARAMETER'))
    await assert.rejects(db.insert('readings', [1, 2] as never), rejectsWith('INVALID_PARAMETER', /row 0/))
    assert.deepEqual(await db.insert('readings', []), { txId: undefined, rowCount: 0 })
  })

  test('tables without a primary key and with a hidden row id', async () => {
    const summary = await db.insert('loose', [{ a: 1, b: 'x' }, { a: 1, b: 'x' }, { b: 'only b' }])
    assert.equal(summary.rowCount, 3)
    assert.deepEqual(sortedRows((await db.query('SELECT * FROM loose', [], { engine: 'column' })).rows), sortedRows([{ a: 1, b: 'x' }, { a: 1, b: 'x' }, { a: null, b: 'only b' }]))
  })
})

describe('db.writeBatch', () => {
  test('statements are one commit; later items see earlier ones', async () => {
    const before = await transactionCount()
    const summary = await db.writeBatch([
      "INSERT INTO accounts VALUES (1, 'ann', 100), (2, 'bob', 50)",
      { sql: 'UPDATE accounts SET balance = balance - $1 WHERE id = $2', params: [30, 1] },
      { sql: 'UPDATE accounts SET balance = balance + $amount WHERE owner = $owner', params: { amount: 30, owner: 'bob' } },
      { sql: 'INSERT INTO accounts (id, owner, balance) SELECT id + 10, owner || \'-copy\', balance FROM accounts WHERE id = $1', params: [2] },
      'SELECT count(*) FROM accounts',
    ])
    assert.equal(typeof summary.txId, 'number')
    assert.equal(summary.rowCount, 5, '2 inserted, 2 updated, 1 copied')
    assert.equal(await transactionCount(), before + 1)
    const { rows } = await db.query('SELECT id, owner, balance FROM accounts ORDER BY id')
    assert.deepEqual(rows, [
      { id: 1, owner: 'ann', balance: 70 },
      { id: 2, owner: 'bob', balance: 80 },
      { id: 12, owner: 'bob-copy', balance: 80 },
    ])
    const history = await db.query('SELECT count(DISTINCT _system_from) AS commits FROM accounts')
    assert.equal(history.rows[0]!['commits'], 1)
  })

  test('a failing item rolls back the whole batch and is named', async () => {
    const before = await transactionCount()
    const snapshot = (await db.query('SELECT * FROM accounts ORDER BY id')).rows
    await assert.rejects(
      db.writeBatch(["INSERT INTO accounts VALUES (3, 'cy', 10)", 'UPDATE accounts SET balance = balance - 100 WHERE id = 3', "INSERT INTO accounts VALUES (4, 'di', 1)"]),
      rejectsWith('CONSTRAINT_VIOLATION', /writeBatch item 1/),
    )
    await assert.rejects(db.writeBatch(["INSERT INTO accounts VALUES (3, 'cy', 10)", 'INSERT INTO nowhere VALUES (1)']), rejectsWith('UNDEFINED_TABLE', /writeBatch item 1/))
    await assert.rejects(db.writeBatch(["INSERT INTO accounts VALUES (3, 'cy', 10)", 'SELEC 1']), rejectsWith('SYNTAX_ERROR', /writeBatch item 1/))
    await assert.rejects(db.writeBatch([{ sql: 'INSERT INTO accounts VALUES ($1, $2, $3)', params: [5, 'ed', 'many'] }]), rejectsWith('TYPE_MISMATCH', /writeBatch item 0/))
    assert.deepEqual((await db.query('SELECT * FROM accounts ORDER BY id')).rows, snapshot)
    assert.equal(await transactionCount(), before)
  })

  test('transaction control inside a batch, bad items, empty batches', async () => {
    await assert.rejects(db.writeBatch(["INSERT INTO accounts VALUES (5, 'ed', 1)", 'COMMIT']), rejectsWith('TX_STATE', /writeBatch item 1/))
    await assert.rejects(db.writeBatch(['BEGIN']), rejectsWith('TX_STATE', /writeBatch item 0/))
    await assert.rejects(db.writeBatch([42 as never]), rejectsWith('INVALID_PARAMETER', /writeBatch item 0/))
    await assert.rejects(db.writeBatch('INSERT INTO accounts VALUES (5, \'ed\', 1)' as never), rejectsWith('INVALID_PARAMETER'))
    assert.deepEqual(await db.writeBatch([]), { txId: undefined, rowCount: 0 })
    assert.equal(await count('accounts'), 3)
  })

  test('a batch waits for an open transaction and does not interleave with it', async () => {
    let release!: () => void
    const held = new Promise<void>((resolve) => (release = resolve))
    const transaction = db.transaction(async (tx) => {
      await tx.query("INSERT INTO accounts VALUES (6, 'fay', 6)")
      await held
    })
    const batch = db.writeBatch(["INSERT INTO accounts VALUES (7, 'gus', 7)", 'UPDATE accounts SET balance = balance + 1 WHERE id = 6'])
    await new Promise((resolve) => setTimeout(resolve, 50))
    release()
    await transaction
    const summary = await batch
    assert.equal(summary.rowCount, 2, 'the batch ran after the transaction committed, so it saw row 6')
    await db.writeBatch(['DELETE FROM accounts WHERE id IN (6, 7)'])
  })
})

describe('after close', () => {
  test('insert and writeBatch fail with CLOSED', async () => {
    const other = await open()
    await other.query('CREATE TABLE t (a INTEGER)')
    await other.close()
    await assert.rejects(other.insert('t', [{ a: 1 }]), rejectsWith('CLOSED'))
    await assert.rejects(other.writeBatch(['INSERT INTO t VALUES (1)']), rejectsWith('CLOSED'))
  })
})
