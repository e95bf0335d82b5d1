/**
 * Concurrency and freshness (SPEC sections 3, 5, 6; docs/time-model.md): read-your-writes while other
 * writes keep coming, writers serializing (or going ahead of a transaction that parks its writes:
 * test/snapshot-isolation.test.ts has the rest), isolation of open transactions, reads inside a transaction,
 * rollback leaving no trace, and sync status.
 */
import * as assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { test, type TestContext } from 'node:test'
import { open, StrataError } from '../src/index.js'
import type { Database } from '../src/index.js'

/** A database in a fresh directory, closed and removed when the test ends. */
async function freshDatabase(t: TestContext): Promise<Database> {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-concurrency-'))
  const db = await open(directory)
  t.after(async () => {
    await db.close()
    fs.rmSync(directory, { recursive: true, force: true })
  })
  return db
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** A promise and the function that resolves it. */
function gate(): { promise: Promise<void>; open: () => void } {
  let openGate!: () => void
  const promise = new Promise<void>((resolve) => {
    openGate = resolve
  })
  return { promise, open: openGate }
}

async function transactionCount(db: Database): Promise<number> {
  const result = await db.query('SELECT count(*) AS n, coalesce(max(tx_id), 0) AS last FROM strata.transactions')
  const row = result.rows[0]!
  assert.equal(row['n'], row['last'], 'transaction ids are dense')
  return row['n'] as number
}

test('read-your-writes: a column-store read after an acknowledged write sees it while another writer keeps writing', async (t) => {
  const db = await freshDatabase(t)
  await db.query('CREATE TABLE t (id INTEGER PRIMARY KEY, writer TEXT NOT NULL, seq INTEGER NOT NULL)')
  let nextId = 1
  const acknowledged = new Set<number>()
  const attempted = new Set<number>()
  let writerADone = false
  let writerAAcks = 0

  // Writer A: autocommit inserts as fast as they go; every 10th, a column-store read of its own rows.
  const writerA = (async () => {
    while (!writerADone) {
      const id = nextId++
      attempted.add(id)
      const result = await db.query("INSERT INTO t (id, writer, seq) VALUES ($1, 'A', $2)", [id, writerAAcks])
      assert.equal(result.rowCount, 1)
      assert.equal(typeof result.txId, 'number')
      acknowledged.add(id)
      writerAAcks++
      if (writerAAcks % 10 === 0) {
        const own = await db.query("SELECT count(*) AS n, max(seq) AS m FROM t WHERE writer = 'A'")
        assert.equal(own.engine, 'column')
        assert.deepEqual(own.rows, [{ n: writerAAcks, m: writerAAcks - 1 }], 'writer A sees exactly its own acknowledged rows')
      }
    }
  })()

  // Writer B: after each of its inserts resolves, analytical reads must see it and everything acknowledged before.
  const writerB = (async () => {
    let previousTx = 0
    const aAcksSeen: number[] = []
    for (let index = 0; index < 40; index++) {
      const id = nextId++
      attempted.add(id)
      const write = await db.query("INSERT INTO t (id, writer, seq) VALUES ($1, 'B', $2)", [id, index])
      assert.ok(write.txId !== undefined && write.txId > previousTx, 'commits get increasing transaction ids')
      previousTx = write.txId
      acknowledged.add(id)

      const own = await db.query("SELECT count(*) AS n FROM t WHERE writer = 'B'")
      assert.equal(own.engine, 'column')
      assert.deepEqual(own.rows, [{ n: index + 1 }], 'B sees exactly its own acknowledged rows')

      // Every write acknowledged (by anyone) before the read began is in the column store; nothing
      // appears that nobody attempted.
      const snapshot = [...acknowledged]
      const all = await db.query('SELECT id FROM t ORDER BY id', [], { engine: 'column' })
      assert.equal(all.engine, 'column')
      const seen = new Set(all.rows.map((row) => row['id'] as number))
      for (const ackedId of snapshot) assert.ok(seen.has(ackedId), `acknowledged row ${ackedId} missing from the column store`)
      for (const seenId of seen) assert.ok(attempted.has(seenId), `row ${seenId} was never written`)
      aAcksSeen.push(writerAAcks)
    }
    return aAcksSeen
  })()

  let aAcksSeen: number[]
  try {
    aAcksSeen = await writerB
  } finally {
    writerADone = true
    await writerA
  }
  // The two writers really interleaved: A acknowledged writes during B's loop.
  assert.ok(aAcksSeen[aAcksSeen.length - 1]! > aAcksSeen[0]!, `writer A made progress during writer B's loop (${aAcksSeen[0]} → ${aAcksSeen[aAcksSeen.length - 1]})`)
  const totals = await db.query('SELECT writer, count(*) AS n FROM t GROUP BY writer ORDER BY writer')
  assert.deepEqual(totals.rows, [
    { writer: 'A', n: writerAAcks },
    { writer: 'B', n: 40 },
  ])
  const rowStore = await db.query('SELECT id, writer, seq FROM t ORDER BY id', [], { engine: 'row' })
  const columnStore = await db.query('SELECT id, writer, seq FROM t ORDER BY id', [], { engine: 'column' })
  assert.equal(rowStore.rowCount, writerAAcks + 40)
  assert.deepEqual(columnStore.rows, rowStore.rows)
})

test('two concurrent transactions do not wait for each other, nobody sees uncommitted writes, and the first to commit wins a table both read', async (t) => {
  const db = await freshDatabase(t)
  await db.query('CREATE TABLE t (id INTEGER PRIMARY KEY, writer TEXT NOT NULL)')
  const before = await transactionCount(db)
  const aWrote = gate()
  const aMayGoOn = gate()

  const transactionA = db.transaction(async (tx) => {
    await tx.query("INSERT INTO t VALUES (1, 'A')")
    const inside = await tx.query('SELECT count(*) AS n FROM t')
    assert.equal(inside.engine, 'column')
    assert.deepEqual(inside.rows, [{ n: 1 }], 'A sees its own write')
    aWrote.open()
    await aMayGoOn.promise
    // B committed to t, which A read: A's next statement takes its parked write back and conflicts.
    await tx.query('SELECT id, writer FROM t ORDER BY id', [], { engine: 'column' })
    return 'A'
  })
  await aWrote.promise

  // B does not wait for A (A, idle between statements, parks its write for it) and never sees A's row.
  const b = await db.transaction(async (tx) => {
    await tx.query("INSERT INTO t VALUES (2, 'B')")
    const seen = await tx.query('SELECT id, writer FROM t ORDER BY id', [], { engine: 'column' })
    const count = await tx.query('SELECT count(*) AS n FROM t')
    // Outside readers see neither A's nor B's uncommitted row, in both stores.
    for (const engine of ['row', 'column'] as const) {
      const point = await db.query('SELECT id, writer FROM t WHERE id IN (1, 2)', [], { engine })
      assert.equal(point.engine, engine)
      assert.deepEqual(point.rows, [], `an autocommit ${engine}-store read sees no uncommitted row`)
    }
    return { seen: seen.rows, count: count.rows }
  })
  assert.deepEqual(b.seen, [{ id: 2, writer: 'B' }])
  assert.deepEqual(b.count, [{ n: 1 }])

  aMayGoOn.open()
  await assert.rejects(transactionA, (error) => error instanceof StrataError && error.code === 'TX_CONFLICT')
  for (const engine of ['row', 'column'] as const) {
    const after = await db.query('SELECT id, writer FROM t ORDER BY id', [], { engine })
    assert.deepEqual(after.rows, [{ id: 2, writer: 'B' }], 'nothing of A remains')
  }
  // One commit: B's.
  const commits = await db.query('SELECT tx_id, kind, rows_changed FROM strata.transactions WHERE tx_id > $1 ORDER BY tx_id', [before])
  assert.deepEqual(commits.rows, [{ tx_id: before + 1, kind: 'data', rows_changed: 1 }])
})

test('a transaction reads its own writes (aggregates too); a rolled-back transaction leaves no trace', async (t) => {
  const db = await freshDatabase(t)
  await db.query('CREATE TABLE t (id INTEGER PRIMARY KEY, v BIGINT NOT NULL)')
  await db.query('INSERT INTO t VALUES (1, 10)')
  const before = await transactionCount(db)

  const inside = await db.transaction(async (tx) => {
    await tx.query('INSERT INTO t VALUES (2, 20), (3, 30)')
    await tx.query('UPDATE t SET v = v + 1 WHERE id = 1')
    const aggregate = await tx.query('SELECT count(*) AS n, sum(v) AS s FROM t')
    assert.equal(aggregate.engine, 'column')
    const point = await tx.query('SELECT id, v FROM t WHERE id = 2')
    assert.equal(point.engine, 'row')
    assert.deepEqual(point.rows, [{ id: 2, v: 20 }])
    // Outside the transaction nothing of it is visible yet.
    const outside = await db.query('SELECT count(*) AS n, sum(v) AS s FROM t')
    assert.deepEqual(outside.rows, [{ n: 1, s: 10 }])
    return aggregate.rows
  })
  assert.deepEqual(inside, [{ n: 3, s: 61 }])
  for (const engine of ['row', 'column'] as const) {
    const after = await db.query('SELECT id, v FROM t ORDER BY id', [], { engine })
    assert.deepEqual(after.rows, [
      { id: 1, v: 11 },
      { id: 2, v: 20 },
      { id: 3, v: 30 },
    ])
  }
  const committed = await db.query('SELECT tx_id, kind, rows_changed FROM strata.transactions WHERE tx_id > $1', [before])
  assert.deepEqual(committed.rows, [{ tx_id: before + 1, kind: 'data', rows_changed: 3 }], 'one commit for the whole transaction')

  // Rollback: the body throws.
  const failure = new Error('roll this back')
  let insideRollback: unknown
  await assert.rejects(
    db.transaction(async (tx) => {
      await tx.query('INSERT INTO t VALUES (4, 40)')
      await tx.query('DELETE FROM t WHERE id = 1')
      insideRollback = (await tx.query('SELECT count(*) AS n, sum(v) AS s FROM t')).rows
      throw failure
    }),
    (error) => error === failure,
  )
  assert.deepEqual(insideRollback, [{ n: 3, s: 90 }], 'the doomed transaction saw its own writes')
  for (const engine of ['row', 'column'] as const) {
    const after = await db.query('SELECT id, v FROM t ORDER BY id', [], { engine })
    assert.deepEqual(
      after.rows,
      [
        { id: 1, v: 11 },
        { id: 2, v: 20 },
        { id: 3, v: 30 },
      ],
      `nothing of the rolled-back transaction is visible in the ${engine} store`,
    )
  }
  assert.equal(await transactionCount(db), before + 1, 'the rollback recorded no transaction')
  assert.equal((await db.syncStatus()).lastCommittedTx, before + 1)
  // Its number was never observable, so the next commit takes it.
  const next = await db.query('INSERT INTO t VALUES (5, 50)')
  assert.equal(next.txId, before + 2)

  // A transaction handle is dead once its body has finished.
  let leaked: { query: Database['query'] } | undefined
  await db.transaction(async (tx) => {
    leaked = tx
  })
  await assert.rejects(leaked!.query('SELECT id FROM t WHERE id = 1'), (error) => error instanceof StrataError && error.code === 'TX_STATE')
  assert.equal(await transactionCount(db), before + 2, 'an empty transaction records nothing')
})

test('a writer goes ahead of an open transaction that parks its writes, or waits for one that cannot, then commits after it; a waiting writer can be aborted', async (t) => {
  const db = await freshDatabase(t)
  await db.query('CREATE TABLE t (id INTEGER PRIMARY KEY, who TEXT NOT NULL)')
  const before = (await db.syncStatus()).lastCommittedTx

  // A transaction of plain writes parks them for the autocommit write, which commits first.
  const parked = gate()
  const parkedMayCommit = gate()
  const parking = db.transaction(async (tx) => {
    await tx.query("INSERT INTO t VALUES (1, 'parking transaction')")
    parked.open()
    await parkedMayCommit.promise
  })
  await parked.promise
  const ahead = await db.query("INSERT INTO t VALUES (2, 'autocommit ahead')")
  assert.equal(ahead.txId, before + 1, 'the autocommit write did not wait')
  parkedMayCommit.open()
  await parking

  // A transaction that made a table (DDL does not park) holds the writer lock to its end.
  const aWrote = gate()
  const aMayCommit = gate()
  const order: string[] = []
  const transactionA = db.transaction(async (tx) => {
    await tx.query('CREATE TABLE side (x INTEGER)')
    await tx.query("INSERT INTO t VALUES (3, 'transaction')")
    aWrote.open()
    await aMayCommit.promise
  }).then(() => order.push('transaction committed'))
  await aWrote.promise

  let autocommitDone = false
  const autocommit = db.query("INSERT INTO t VALUES (4, 'autocommit')").then((result) => {
    autocommitDone = true
    order.push('autocommit committed')
    return result
  })
  const controller = new AbortController()
  const aborted = db.query("INSERT INTO t VALUES (5, 'aborted')", [], { signal: controller.signal })

  await sleep(300)
  assert.equal(autocommitDone, false, 'the autocommit write waits for the open transaction')
  controller.abort()
  await assert.rejects(aborted, (error) => error instanceof StrataError && error.code === 'ABORTED')
  assert.deepEqual((await db.query('SELECT id FROM t WHERE id > 2 ORDER BY id', [], { engine: 'row' })).rows, [], 'nothing committed while A is open')

  aMayCommit.open()
  await transactionA
  const result = await autocommit
  assert.deepEqual(order, ['transaction committed', 'autocommit committed'])
  assert.equal(result.txId, before + 4, 'the waiting writer commits right after the transaction')
  const commits = await db.query('SELECT tx_id, rows_changed FROM strata.transactions WHERE tx_id > $1 ORDER BY tx_id', [before])
  assert.deepEqual(commits.rows, [
    { tx_id: before + 1, rows_changed: 1 },
    { tx_id: before + 2, rows_changed: 1 },
    { tx_id: before + 3, rows_changed: 1 },
    { tx_id: before + 4, rows_changed: 1 },
  ])
  for (const engine of ['row', 'column'] as const) {
    const rows = await db.query('SELECT id, who FROM t ORDER BY id', [], { engine })
    assert.deepEqual(rows.rows, [
      { id: 1, who: 'parking transaction' },
      { id: 2, who: 'autocommit ahead' },
      { id: 3, who: 'transaction' },
      { id: 4, who: 'autocommit' },
    ], 'the aborted write left nothing')
  }
})

test('syncStatus is consistent while the column store lags, and maxStalenessMs reads a consistent prefix without waiting', async (t) => {
  const db = await freshDatabase(t)
  await db.query('CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)')
  await db.query('SELECT count(*) FROM t') // start the column store
  const writes = 200
  const samples: { lastCommittedTx: number; lastAppliedTx: number; lagTx: number; lagMs: number }[] = []
  const staleReads: Record<string, unknown>[] = []
  let maxCommitted = 0
  for (let id = 1; id <= writes; id++) {
    const write = await db.query('INSERT INTO t VALUES ($1, $2)', [id, id * 2])
    maxCommitted = write.txId!
    if (id % 10 === 0) {
      samples.push(await db.syncStatus())
      const stale = await db.query('SELECT count(*) AS n, coalesce(max(id), 0) AS m, coalesce(sum(v), 0) AS s FROM t', [], { maxStalenessMs: 60_000 })
      assert.equal(stale.engine, 'column')
      staleReads.push({ ...stale.rows[0]!, acknowledged: id })
    }
  }
  for (const status of samples) {
    assert.ok(status.lastAppliedTx <= status.lastCommittedTx, `applied ≤ committed: ${JSON.stringify(status)}`)
    assert.equal(status.lagTx, status.lastCommittedTx - status.lastAppliedTx, `lagTx is the difference: ${JSON.stringify(status)}`)
    assert.ok(status.lagMs >= 0)
    if (status.lagTx === 0) assert.equal(status.lagMs, 0, 'no lag in ms when caught up')
    assert.ok(status.lastCommittedTx <= maxCommitted)
  }
  // Each commit inserted the next id, so a consistent prefix of commits holds ids 1..n exactly.
  for (const read of staleReads) {
    const n = read['n'] as number
    assert.ok(n <= (read['acknowledged'] as number), `a stale read cannot see the future: ${JSON.stringify(read)}`)
    assert.equal(read['m'], n, `a stale read reflects a prefix of commits: ${JSON.stringify(read)}`)
    assert.equal(read['s'], n * (n + 1), `…with the prefix's values: ${JSON.stringify(read)}`)
  }

  const lagging = samples.filter((status) => status.lagTx > 0).length
  const staleSeen = staleReads.filter((read) => (read['n'] as number) < (read['acknowledged'] as number)).length
  t.diagnostic(`${lagging}/${samples.length} status samples lagged; ${staleSeen}/${staleReads.length} maxStalenessMs reads were stale (rows seen: ${staleReads.map((read) => `${String(read["n"])}/${String(read["acknowledged"])}`).join(" ")})`)

  // A default (fresh) read waits for everything acknowledged; then the sync reaches lag 0.
  const fresh = await db.query('SELECT count(*) AS n, sum(v) AS s FROM t')
  assert.deepEqual(fresh.rows, [{ n: writes, s: writes * (writes + 1) }])
  let status = await db.syncStatus()
  const deadline = Date.now() + 10_000
  while (status.lagTx !== 0) {
    assert.ok(Date.now() < deadline, `the column store did not catch up: ${JSON.stringify(status)}`)
    await sleep(10)
    status = await db.syncStatus()
  }
  assert.deepEqual(status, { lastCommittedTx: maxCommitted, lastAppliedTx: maxCommitted, lagTx: 0, lagMs: 0 })
  const table = await db.query('SELECT last_committed_tx, last_applied_tx, lag_tx, lag_ms FROM strata.sync_status')
  assert.deepEqual(table.rows, [{ last_committed_tx: maxCommitted, last_applied_tx: maxCommitted, lag_tx: 0, lag_ms: 0 }], 'strata.sync_status agrees with syncStatus()')
})

test(
  'concurrent autocommit statements on one handle: a read during a column-store-evaluated UPDATE neither fails nor breaks the write',
  async (t) => {
    const db = await freshDatabase(t)
    await db.query('CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)')
    await db.query('INSERT INTO t SELECT i, i FROM range(1, 200001) r(i)')
    assert.deepEqual((await db.query('SELECT count(*) AS n FROM t')).rows, [{ n: 200_000 }])
    // The subquery makes the UPDATE evaluated by the column store, so the write awaits DuckDB.
    const write = db.query('UPDATE t SET v = v + 1 WHERE id IN (SELECT id FROM t WHERE v % 1000 = 0)')
    await sleep(5)
    const read = await db.query('SELECT count(*) AS n FROM t').catch((error: unknown) => error)
    const written = await write.catch((error: unknown) => error)
    assert.ok(!(read instanceof Error), `the concurrent read failed: ${String(read)}`)
    assert.deepEqual((read as { rows: unknown[] }).rows, [{ n: 200_000 }])
    assert.ok(!(written instanceof Error), `the write failed: ${String(written)}`)
    assert.equal((written as { rowCount: number }).rowCount, 200)
    assert.deepEqual((await db.query('SELECT v FROM t WHERE id = 1000')).rows, [{ v: 1001 }])
  },
)

test('a tight loop of awaited autocommit writes lets the background sync keep up as it goes', async (t) => {
  const db = await freshDatabase(t)
  await db.query('CREATE TABLE tight (id INTEGER PRIMARY KEY)')
  // The column store is running and caught up before the loop starts.
  assert.deepEqual((await db.query('SELECT count(*) AS n FROM tight', [], { engine: 'column' })).rows, [{ n: 0 }])
  const writes = 3_000
  const applied: number[] = []
  for (let id = 0; id < writes; id++) {
    await db.query('INSERT INTO tight VALUES ($1)', [id])
    if (id % 300 === 299) applied.push((await db.syncStatus()).lastAppliedTx)
  }
  // Each write settles through microtasks only; without the engine's periodic hand-back to the event
  // loop, the sync could not take a single step until the loop ends, and its position would stand
  // still throughout. With it, the sync applies commits while the loop runs: its position moves
  // between the samples taken every 300 writes (how far it gets depends on the machine's speed).
  const moves = applied.filter((position, index) => index > 0 && position > applied[index - 1]!).length
  assert.ok(moves >= 2, `the sync's position while the loop ran: ${applied.join(', ')}`)
  assert.deepEqual((await db.query('SELECT count(*) AS n FROM tight', [], { engine: 'column' })).rows, [{ n: writes }])
})

test('group commit: concurrent autocommit writes on a durable directory commit in the order they started, one transaction each, and a failing one affects no other', async (t) => {
  const db = await freshDatabase(t)
  await db.query('CREATE TABLE g (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)')
  await db.query('INSERT INTO g VALUES (0, 0)')
  const before = (await db.syncStatus()).lastCommittedTx
  // Started in one turn of the event loop: they join one commit group.
  const writes = [
    db.query('INSERT INTO g VALUES (1, 10)'),
    db.query('UPDATE g SET v = v + 1 WHERE id = 0 RETURNING v'),
    db.query('INSERT INTO g VALUES (1, 99)'), // a duplicate key: fails alone
    db.query('INSERT INTO g VALUES (2, 20), (3, 30)'),
    db.query('DELETE FROM g WHERE id = 42'), // changes nothing: no transaction
    db.query('UPDATE g SET v = v + 1 WHERE id = 0 RETURNING v'),
  ].map((write) => write.then((result) => ({ ok: true as const, result }), (error: unknown) => ({ ok: false as const, error })))
  const settled = await Promise.all(writes)
  const txIds = settled.map((outcome) => (outcome.ok ? outcome.result.txId : undefined))
  assert.deepEqual(txIds, [before + 1, before + 2, undefined, before + 3, undefined, before + 4], 'one transaction id per write that changed something, in the order they started')
  const failed = settled[2]!
  assert.ok(!failed.ok && failed.error instanceof StrataError && failed.error.code === 'CONSTRAINT_VIOLATION')
  // Each RETURNING saw the writes before it in the group.
  assert.deepEqual(settled[1]!.ok && settled[1]!.result.rows, [{ v: 1 }])
  assert.deepEqual(settled[5]!.ok && settled[5]!.result.rows, [{ v: 2 }])
  // Acknowledged means committed: both stores see every write at once, and the ledger has one fact per transaction.
  for (const engine of ['row', 'column'] as const) {
    assert.deepEqual((await db.query('SELECT id, v FROM g ORDER BY id', [], { engine })).rows, [
      { id: 0, v: 2 },
      { id: 1, v: 10 },
      { id: 2, v: 20 },
      { id: 3, v: 30 },
    ])
  }
  const commits = await db.query('SELECT tx_id, rows_changed FROM strata.transactions WHERE tx_id > $1 ORDER BY tx_id', [before])
  assert.deepEqual(commits.rows, [
    { tx_id: before + 1, rows_changed: 1 },
    { tx_id: before + 2, rows_changed: 1 },
    { tx_id: before + 3, rows_changed: 2 },
    { tx_id: before + 4, rows_changed: 1 },
  ])
  // History: the version the first UPDATE wrote was closed by the second, as by any later transaction.
  const history = await db.query('SELECT v FROM g FOR SYSTEM_TIME ALL WHERE id = 0 ORDER BY _system_from')
  assert.deepEqual(history.rows, [{ v: 0 }, { v: 1 }, { v: 2 }])
  // A transaction begun while a group waits for its COMMIT starts after it.
  const grouped = db.query('INSERT INTO g VALUES (4, 40)')
  const transaction = db.transaction(async (tx) => (await tx.query('SELECT count(*) AS n FROM g', [], { engine: 'row' })).rows)
  assert.equal((await grouped).txId, before + 5)
  assert.deepEqual(await transaction, [{ n: 5 }])
})

test('catalog reads at once (information_schema, strata.sync_status, strata.branches) never collide over the sync status they refresh', async (t) => {
  const db = await freshDatabase(t)
  await db.query('CREATE TABLE c (id INTEGER PRIMARY KEY)')
  for (let round = 0; round < 30; round++) {
    await db.query('INSERT INTO c VALUES ($1)', [round])
    const outcomes = await Promise.allSettled([
      db.query("SELECT count(*) AS n FROM information_schema.columns WHERE table_name = 'c'"),
      db.query('SELECT last_committed_tx FROM strata.sync_status'),
      db.query('SELECT name FROM strata.branches'),
      db.query('SELECT last_applied_tx FROM strata.sync_status'),
    ])
    const failed = outcomes.filter((outcome) => outcome.status === 'rejected').map((outcome) => String((outcome as PromiseRejectedResult).reason))
    assert.deepEqual(failed, [], `round ${round}`)
  }
})
