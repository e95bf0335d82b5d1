/**
 * VACUUM HISTORY t BEFORE x [DRY RUN] (SPEC 10, docs/branches.md "Retention"): which versions go —
 * checked against the versions time travel showed before, on both stores — and which stay: current
 * rows, versions a live branch sees at its fork point, versions a change-feed cursor has not read past.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { StrataError, type Database } from '../src/index.js'
import { assertRefused, openTemporary } from './helpers.js'

type Version = { id: number; v: number; from: number; to: number | null }

async function versions(db: Database, engine: 'row' | 'column'): Promise<Version[]> {
  const rows = (await db.query('SELECT id, v, _system_from AS f, _system_to AS t FROM t FOR SYSTEM_TIME ALL ORDER BY id, _system_from', [], { engine })).rows
  return rows.map((row) => ({ id: Number(row['id']), v: Number(row['v']), from: new Date(row['f'] as Date).getTime(), to: row['t'] === null ? null : new Date(row['t'] as Date).getTime() }))
}

async function lastTx(db: Database): Promise<number> {
  return Number((await db.query('SELECT max(tx_id) AS tx FROM strata.transactions')).rows[0]!['tx'])
}

describe('VACUUM HISTORY', () => {
  test('removes the versions closed before x, keeps what a branch fork point and a cursor need, and both stores agree', async (t) => {
    const db = await openTemporary(t, 'vacuum-history')
    await db.query('CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)')
    await db.query('INSERT INTO t VALUES (1, 0), (2, 0), (3, 0)')
    const commits: number[] = []
    for (let v = 1; v <= 6; v++) {
      await db.query('UPDATE t SET v = $1 WHERE id <= 2', [v])
      commits.push(await lastTx(db))
    }
    // A branch made when v was 2 reads main as of then; a cursor has read through the commit that set v = 4.
    await db.query(`CREATE BRANCH old AS OF ${commits[1]!}`)
    const feed = db.subscribe({ tables: ['t'], cursor: 'audit', fromTx: commits[3]! })
    const first = await feed.next()
    assert.equal((first.value as { txId: number }).txId, commits[3])
    await feed.ack(first.value)
    feed.close()
    const before = await versions(db, 'row')
    assert.deepEqual(await versions(db, 'column'), before)
    const systemTimeOf = async (tx: number): Promise<number> => new Date((await db.query('SELECT system_time FROM strata.transactions WHERE tx_id = $1', [tx])).rows[0]!['system_time'] as Date).getTime()
    // Asked to remove everything closed by the last update: the cursor keeps what closed at its commit and after.
    const cutoff = await systemTimeOf(commits[3]! - 1)
    const fork = await systemTimeOf(commits[1]!)
    const expectedGone = before.filter((version) => version.to !== null && version.to <= cutoff && !(version.from <= fork && version.to > fork))
    assert.ok(expectedGone.length >= 4, `${expectedGone.length} versions to remove`)
    const dry = (await db.query(`VACUUM HISTORY t BEFORE ${commits[5]!} DRY RUN`)).rows
    assert.deepEqual(dry, [{ table: 't', versions: expectedGone.length }])
    assert.deepEqual(await versions(db, 'row'), before, 'DRY RUN removes nothing')
    const done = (await db.query(`VACUUM HISTORY t BEFORE ${commits[5]!}`)).rows
    assert.deepEqual(done, [{ table: 't', versions: expectedGone.length }])
    const after = before.filter((version) => !expectedGone.includes(version))
    assert.deepEqual(await versions(db, 'row'), after)
    assert.deepEqual(await versions(db, 'column'), after)
    // Current rows stay; the branch still reads main as it was at its fork point.
    assert.deepEqual((await db.query('SELECT id, v FROM t ORDER BY id')).rows, [{ id: 1, v: 6 }, { id: 2, v: 6 }, { id: 3, v: 0 }])
    assert.deepEqual((await db.query('SELECT id, v FROM t ORDER BY id', [], { branch: 'old' })).rows, [{ id: 1, v: 2 }, { id: 2, v: 2 }, { id: 3, v: 0 }])
    // The removal is recorded as an erasure of versions; nothing more to remove at the same point.
    assert.deepEqual((await db.query("SELECT versions FROM strata.erasures WHERE table_name = 't'")).rows, [{ versions: expectedGone.length }])
    assert.deepEqual((await db.query(`VACUUM HISTORY t BEFORE ${commits[5]!}`)).rows, [{ table: 't', versions: 0 }])
  })

  test('errors: an unknown table, the grammar, inside a transaction', async (t) => {
    const db = await openTemporary(t, 'vacuum-history-errors')
    await db.query('CREATE TABLE t (id INTEGER PRIMARY KEY)')
    await assertRefused((sql) => db.query(sql), [
      ['VACUUM HISTORY nope BEFORE 1', 'UNDEFINED_TABLE', /"nope"/],
      ['VACUUM HISTORY t', 'SYNTAX_ERROR', /expected BEFORE/],
      ['VACUUM HISTORY t BEFORE DRY RUN', 'SYNTAX_ERROR', /a transaction id or a time/],
    ])
    await assert.rejects(
      db.transaction(async (tx) => tx.query('VACUUM HISTORY t BEFORE 1')),
      (error: unknown) => error instanceof StrataError && error.code === 'TX_STATE',
    )
  })
})
