/** Change feeds (SPEC 7): `db.subscribe`, cursors, bounded memory, and the shell's SUBSCRIBE. */
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import * as os from 'node:os'
import * as path from 'node:path'
import { describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { open, StrataError, type Change, type Subscription } from '../src/index.js'
import { limits } from '../src/util/limits.js'
import { startServe, temporaryDirectory } from './helpers.js'

function hasCode(code: string) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof StrataError, `expected a StrataError, got ${String(error)}`)
    assert.equal(error.code, code, error.message)
    return true
  }
}

/** A change without its system time, for exact comparisons. */
function plain(change: Change): Omit<Change, 'systemTime'> {
  const { systemTime: _systemTime, ...rest } = change
  return rest
}

/** Takes exactly `count` changes, failing if they do not arrive within `timeoutMs`. */
async function take(feed: Subscription, count: number, timeoutMs = 20_000): Promise<Change[]> {
  const changes: Change[] = []
  const deadline = Date.now() + timeoutMs
  while (changes.length < count) {
    const result = await Promise.race([feed.next(), sleep(Math.max(0, deadline - Date.now())).then(() => 'timeout' as const)])
    if (result === 'timeout') assert.fail(`only ${changes.length} of ${count} changes arrived within ${timeoutMs} ms`)
    if (result.done === true) assert.fail(`the feed ended after ${changes.length} of ${count} changes`)
    changes.push(result.value)
  }
  return changes
}

/**
 * Asserts that no further change is available: a next() left pending for a while must resolve done
 * when the feed is closed (it would have resolved with a change if there were one).
 */
async function assertNoMoreThenClose(feed: Subscription, waitMs = 300): Promise<void> {
  const pending = feed.next()
  let settled = false
  void pending.then(() => (settled = true))
  await sleep(waitMs)
  assert.equal(settled, false, 'the feed delivered a change it should not have')
  feed.close()
  assert.deepEqual(await pending, { done: true, value: undefined })
}

describe('change feed: changes', () => {
  test('insert, update and delete with their before and after images and keys', async () => {
    await using db = await open()
    await db.exec(`
      CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT, price DOUBLE, big BIGINT, seen TIMESTAMP, ok BOOLEAN, doc JSON, raw BLOB);
      CREATE TABLE pair (a INTEGER, b TEXT, v INTEGER, PRIMARY KEY (a, b));
      CREATE TABLE log (line TEXT)`)
    const feed = db.subscribe()
    const inserted = await db.query(
      "INSERT INTO item VALUES (1, 'pen', 1.5, 9007199254740993, TIMESTAMP '2024-01-02 03:04:05.678', true, '{\"tags\": [1, 2]}', $1)",
      [new Uint8Array([1, 255])],
    )
    const updated = await db.query("UPDATE item SET price = 2.25, ok = false WHERE id = 1")
    await db.query("INSERT INTO pair VALUES (1, 'x', 10)")
    await db.query("UPDATE pair SET v = 11 WHERE a = 1 AND b = 'x'")
    await db.query("INSERT INTO log VALUES ('hello')")
    const deleted = await db.query('DELETE FROM item WHERE id = 1')
    await db.query('DELETE FROM log')
    const changes = await take(feed, 7)
    const before = { id: 1, name: 'pen', price: 1.5, big: 9007199254740993n, seen: new Date('2024-01-02T03:04:05.678Z'), ok: true, doc: { tags: [1, 2] }, raw: new Uint8Array([1, 255]) }
    const after = { ...before, price: 2.25, ok: false }
    assert.deepEqual(changes.map(plain), [
      { txId: inserted.txId, table: 'item', op: 'insert', key: { id: 1 }, before: null, after: before },
      { txId: updated.txId, table: 'item', op: 'update', key: { id: 1 }, before, after },
      { txId: updated.txId! + 1, table: 'pair', op: 'insert', key: { a: 1, b: 'x' }, before: null, after: { a: 1, b: 'x', v: 10 } },
      { txId: updated.txId! + 2, table: 'pair', op: 'update', key: { a: 1, b: 'x' }, before: { a: 1, b: 'x', v: 10 }, after: { a: 1, b: 'x', v: 11 } },
      { txId: updated.txId! + 3, table: 'log', op: 'insert', key: { _strata_row_id: 1 }, before: null, after: { line: 'hello' } },
      { txId: deleted.txId, table: 'item', op: 'delete', key: { id: 1 }, before: after, after: null },
      { txId: deleted.txId! + 1, table: 'log', op: 'delete', key: { _strata_row_id: 1 }, before: { line: 'hello' }, after: null },
    ])
    // The system time is the commit's, as the ledger records it.
    const ledger = await db.query('SELECT tx_id, system_time FROM strata.transactions')
    const times = new Map(ledger.rows.map((row) => [row['tx_id'], (row['system_time'] as Date).getTime()]))
    for (const change of changes) assert.equal(change.systemTime.getTime(), times.get(change.txId))
    assert.ok(Object.isFrozen(changes[0]) && Object.isFrozen(changes[0]!.after))
    await assertNoMoreThenClose(feed)
  })

  test('within a transaction: tables by name, deletions first, then writes in order; net effect per key', async () => {
    await using db = await open()
    await db.exec("CREATE TABLE b (id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO b VALUES (1, 'one'), (2, 'two'), (3, 'three')")
    const feed = db.subscribe()
    await db.transaction(async (tx) => {
      await tx.query("INSERT INTO b VALUES (9, 'nine')")
      await tx.query("UPDATE b SET v = 'TWO' WHERE id = 2")
      await tx.query('DELETE FROM b WHERE id = 3')
      await tx.query("INSERT INTO a VALUES (5, 'five')")
      await tx.query("UPDATE a SET v = 'FIVE' WHERE id = 5") // written and rewritten in one transaction: one insert
      await tx.query('UPDATE b SET id = 4 WHERE id = 1') // a key change: the old key goes, the new key comes
      await tx.query("INSERT INTO a VALUES (6, 'gone')")
      await tx.query('DELETE FROM a WHERE id = 6') // never visible outside the transaction: nothing
    })
    const changes = await take(feed, 6)
    const txId = changes[0]!.txId
    assert.ok(changes.every((change) => change.txId === txId))
    assert.deepEqual(
      changes.map((change) => [change.table, change.op, change.key]),
      [
        ['a', 'insert', { id: 5 }],
        ['b', 'delete', { id: 1 }],
        ['b', 'delete', { id: 3 }],
        ['b', 'insert', { id: 9 }],
        ['b', 'update', { id: 2 }],
        ['b', 'insert', { id: 4 }],
      ],
    )
    assert.deepEqual(changes[0]!.after, { id: 5, v: 'FIVE' })
    assert.deepEqual(changes[4]!.before, { id: 2, v: 'two' })
    assert.deepEqual(changes[4]!.after, { id: 2, v: 'TWO' })
    assert.deepEqual(changes[5]!.after, { id: 4, v: 'one' })
    await assertNoMoreThenClose(feed)
  })

  test('an update that changes nothing and the valid-time pieces it leaves are not reported', async () => {
    await using db = await open()
    await db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a')")
    const feed = db.subscribe()
    await db.query('UPDATE t SET v = v')
    const changed = await db.query("UPDATE t SET v = 'b'")
    // Both updates appended bounded pieces (`_valid_to` set) for the past valid time; neither is a change.
    const [change] = await take(feed, 1)
    assert.deepEqual(plain(change!), { txId: changed.txId, table: 't', op: 'update', key: { id: 1 }, before: { id: 1, v: 'a' }, after: { id: 1, v: 'b' } })
    await assertNoMoreThenClose(feed)
  })

  test('commit order across concurrent writers', async () => {
    await using db = await open()
    await db.query('CREATE TABLE c (id INTEGER PRIMARY KEY, writer INTEGER, step INTEGER)')
    const feed = db.subscribe()
    const writers = 6
    const steps = 15
    const committed = new Map<number, number[]>() // txId → ids it wrote
    await Promise.all(
      Array.from({ length: writers }, async (_, writer) => {
        for (let step = 0; step < steps; step++) {
          const id = writer * 1000 + step
          if (step % 3 === 0) {
            // Explicit transactions interleave with autocommit writes of the other writers.
            await db.transaction(async (tx) => {
              await tx.query('INSERT INTO c VALUES ($1, $2, $3)', [id, writer, step])
              await tx.query('INSERT INTO c VALUES ($1, $2, $3)', [id + 500, writer, step])
            })
          } else {
            const result = await db.query('INSERT INTO c VALUES ($1, $2, $3)', [id, writer, step])
            committed.set(result.txId!, [id])
          }
        }
      }),
    )
    const total = writers * steps + writers * Math.ceil(steps / 3)
    const changes = await take(feed, total)
    for (let index = 1; index < changes.length; index++) {
      const previous = changes[index - 1]!
      const current = changes[index]!
      assert.ok(current.txId >= previous.txId, 'changes come in commit order')
      assert.ok(current.systemTime.getTime() >= previous.systemTime.getTime())
    }
    for (const [txId, ids] of committed) {
      assert.deepEqual(changes.filter((change) => change.txId === txId).map((change) => change.key['id']), ids)
    }
    // Each explicit transaction's two rows share one transaction id and nothing else does.
    const byTx = new Map<number, Change[]>()
    for (const change of changes) byTx.set(change.txId, [...(byTx.get(change.txId) ?? []), change])
    for (const group of byTx.values()) {
      if (group.length === 1) continue
      assert.equal(group.length, 2)
      assert.equal((group[1]!.key['id'] as number) - (group[0]!.key['id'] as number), 500)
    }
    assert.deepEqual(new Set(changes.map((change) => change.key['id'])).size, total)
    assert.deepEqual([...byTx.keys()], [...byTx.keys()].sort((x, y) => x - y))
    await assertNoMoreThenClose(feed)
  })
})

describe('change feed: start positions and filters', () => {
  test('without fromTx a feed starts at the next commit; fromTx n starts at transaction n', async () => {
    await using db = await open()
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1); INSERT INTO t VALUES (2); INSERT INTO t VALUES (3)')
    const fromNext = db.subscribe()
    const fromTwo = db.subscribe({ fromTx: 3 })
    const fromZero = db.subscribe({ fromTx: 0 })
    await db.query('INSERT INTO t VALUES (4)')
    assert.deepEqual((await take(fromNext, 1)).map((change) => [change.txId, change.key['id']]), [[5, 4]])
    assert.deepEqual((await take(fromTwo, 3)).map((change) => [change.txId, change.key['id']]), [[3, 2], [4, 3], [5, 4]])
    assert.deepEqual((await take(fromZero, 4)).map((change) => change.key['id']), [1, 2, 3, 4])
    for (const feed of [fromNext, fromTwo, fromZero]) await assertNoMoreThenClose(feed, 100)
  })

  test('the tables filter; tables created later are included without one; dropped tables are skipped', async () => {
    await using db = await open()
    await db.exec('CREATE TABLE x (id INTEGER PRIMARY KEY); CREATE TABLE y (id INTEGER PRIMARY KEY)')
    const onlyY = db.subscribe({ tables: ['y'] })
    const everything = db.subscribe()
    await db.exec('INSERT INTO x VALUES (1); INSERT INTO y VALUES (2); CREATE TABLE z (id INTEGER PRIMARY KEY); INSERT INTO z VALUES (3)')
    // x's change was committed, but x is dropped before the feed reads it: it is skipped.
    await db.exec('DROP TABLE x; INSERT INTO y VALUES (4)')
    assert.deepEqual((await take(onlyY, 2)).map((change) => [change.table, change.key['id']]), [['y', 2], ['y', 4]])
    assert.deepEqual((await take(everything, 3)).map((change) => [change.table, change.key['id']]), [['y', 2], ['z', 3], ['y', 4]])
    for (const feed of [onlyY, everything]) await assertNoMoreThenClose(feed, 100)
  })

  test('schema changes: rows take the table’s shape; an ALTER in an open transaction is waited for', async () => {
    await using db = await open()
    await db.exec("CREATE TABLE s (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO s VALUES (1, 'a')")
    const feed = db.subscribe({ fromTx: 2 })
    await db.query('BEGIN')
    await db.query('ALTER TABLE s ADD COLUMN w INTEGER')
    // The reader cannot see the new column until COMMIT, so the feed waits instead of failing.
    const pending = feed.next()
    let settled = false
    void pending.then(() => (settled = true))
    await sleep(300)
    assert.equal(settled, false)
    await db.query('COMMIT')
    await db.query("INSERT INTO s VALUES (2, 'b', 20)")
    const first = await pending
    assert.equal(first.done, false)
    assert.deepEqual(first.value && plain(first.value), { txId: 2, table: 's', op: 'insert', key: { id: 1 }, before: null, after: { id: 1, v: 'a', w: null } })
    assert.deepEqual((await take(feed, 1)).map(plain), [{ txId: 4, table: 's', op: 'insert', key: { id: 2 }, before: null, after: { id: 2, v: 'b', w: 20 } }])
    await assertNoMoreThenClose(feed, 100)
  })
})

describe('change feed: cursors', () => {
  test('a named cursor survives close and reopen without losing or repeating an acknowledged change', async (t) => {
    const directory = temporaryDirectory('feed-cursor')
    t.after(directory.remove)
    let all: Omit<Change, 'systemTime'>[]
    {
      await using db = await open(directory.path)
      await db.exec('CREATE TABLE k (id INTEGER PRIMARY KEY, v INTEGER); CREATE TABLE j (id INTEGER PRIMARY KEY)')
      await db.exec('INSERT INTO k VALUES (1, 1), (2, 2), (3, 3); INSERT INTO j VALUES (1), (2); UPDATE k SET v = v * 10; DELETE FROM k WHERE id = 2')
      all = (await take(db.subscribe({ fromTx: 1 }), 9)).map(plain)
      const feed = db.subscribe({ cursor: 'mirror', fromTx: 1 })
      const seen = await take(feed, 6)
      assert.deepEqual(seen.map(plain), all.slice(0, 6))
      // Acknowledge the 4th change (inside the third transaction, which has three) but not the 5th or 6th;
      // acknowledging an earlier one afterwards does not move the cursor back.
      await feed.ack(seen[3]!)
      await feed.ack(seen[1]!)
      feed.close()
    }
    {
      await using db = await open(directory.path)
      const feed = db.subscribe({ cursor: 'mirror', fromTx: 1 }) // fromTx is ignored once the cursor exists
      const resumed = await take(feed, 5)
      assert.deepEqual(resumed.map(plain), all.slice(4))
      // Acknowledging only the last of a run acknowledges everything before it.
      await Promise.all([feed.ack(resumed[2]!), feed.ack(resumed[4]!)])
      await assertNoMoreThenClose(feed, 100)
      await db.query('INSERT INTO j VALUES (3)')
    }
    {
      await using db = await open(directory.path)
      const feed = db.subscribe({ cursor: 'mirror' })
      assert.deepEqual((await take(feed, 1)).map((change) => [change.table, change.op, change.key]), [['j', 'insert', { id: 3 }]])
      await assertNoMoreThenClose(feed, 100)
    }
  })

  test('a cursor used for the first time starts at the next commit and exists from then on', async (t) => {
    const directory = temporaryDirectory('feed-cursor-new')
    t.after(directory.remove)
    {
      await using db = await open(directory.path)
      await db.exec('CREATE TABLE n (id INTEGER PRIMARY KEY); INSERT INTO n VALUES (1)')
      const feed = db.subscribe({ cursor: 'late' })
      await db.query('INSERT INTO n VALUES (2)')
      // Nothing acknowledged, and the feed ends before reading anything.
      feed.close()
    }
    {
      await using db = await open(directory.path)
      const feed = db.subscribe({ cursor: 'late' })
      assert.deepEqual((await take(feed, 1)).map((change) => change.key['id']), [2])
      await assertNoMoreThenClose(feed, 100)
    }
  })

  test('ack without a cursor, ack after close, and acks of something else', async () => {
    const db = await open()
    await db.query('CREATE TABLE a (id INTEGER PRIMARY KEY)')
    const plainFeed = db.subscribe()
    const cursorFeed = db.subscribe({ cursor: 'c' })
    await db.exec('INSERT INTO a VALUES (1); INSERT INTO a VALUES (2)')
    const [change] = await take(plainFeed, 1)
    await plainFeed.ack(change!)
    await assert.rejects(plainFeed.ack({ ...change! }), hasCode('INVALID_PARAMETER'))
    const [first, second] = await take(cursorFeed, 2)
    cursorFeed.close()
    await cursorFeed.ack(first!) // a closed feed still records progress while the database is open
    plainFeed.close()
    await db.close()
    await cursorFeed.ack(first!) // already durable: nothing to write
    await assert.rejects(cursorFeed.ack(second!), hasCode('CLOSED'))
  })
})

describe('change feed: resources', () => {
  test('a slow consumer with 20K changes pending holds at most one page', async () => {
    await using db = await open()
    await db.query('CREATE TABLE big (id INTEGER PRIMARY KEY, v INTEGER)')
    const feed = db.subscribe()
    const rows = 20_000
    const perTransaction = 5_000 // several pages per transaction
    for (let first = 0; first < rows; first += perTransaction) {
      const values = Array.from({ length: perTransaction }, (_, index) => `(${first + index}, ${first + index})`).join(', ')
      await db.query(`INSERT INTO big VALUES ${values}`)
    }
    // One transaction that updates more rows than a page: before and after images are paired across pages.
    await db.query('UPDATE big SET v = v + 1 WHERE id < 3000')
    assert.equal(feed.bufferedCount, 0, 'nothing is read before the consumer asks')
    let expected = 0
    let bufferedMax = 0
    let updates = 0
    for (;;) {
      const result = await feed.next()
      assert.equal(result.done, false)
      const change = result.value!
      bufferedMax = Math.max(bufferedMax, feed.bufferedCount)
      if (change.op === 'insert') {
        assert.deepEqual(change.key, { id: expected })
        expected++
      } else {
        assert.equal(change.op, 'update')
        assert.deepEqual(change.key, { id: updates })
        assert.deepEqual(change.before, { id: updates, v: updates })
        assert.deepEqual(change.after, { id: updates, v: updates + 1 })
        updates++
        if (updates === 3000) break
      }
      if (expected % 4_000 === 0) await sleep(1) // a slow consumer
    }
    assert.equal(expected, rows)
    assert.ok(bufferedMax <= limits.feedPageRows, `buffered ${bufferedMax} > ${limits.feedPageRows}`)
    assert.ok(bufferedMax > 0)
    await assertNoMoreThenClose(feed, 100)
  })

  test('a transaction larger than several pages: deletions, updates and inserts, and a cursor resumed inside it', async () => {
    await using db = await open()
    await db.query('CREATE TABLE m (id INTEGER PRIMARY KEY, v INTEGER)')
    const size = 1_200
    const values = (first: number) => Array.from({ length: size }, (_, index) => `(${first + index}, ${first + index})`).join(', ')
    await db.query(`INSERT INTO m VALUES ${values(0)}, ${values(size)}`)
    const feed = db.subscribe({ cursor: 'big' })
    await db.transaction(async (tx) => {
      await tx.query(`INSERT INTO m VALUES ${values(2 * size)}`)
      await tx.query(`UPDATE m SET v = -v WHERE id >= ${size} AND id < ${2 * size}`)
      await tx.query(`DELETE FROM m WHERE id < ${size}`)
    })
    const expected = [
      ...Array.from({ length: size }, (_, index) => ['delete', index]),
      ...Array.from({ length: size }, (_, index) => ['insert', 2 * size + index]),
      ...Array.from({ length: size }, (_, index) => ['update', size + index]),
    ]
    const firstPart = await take(feed, 1_500)
    assert.deepEqual(firstPart.map((change) => [change.op, change.key['id']]), expected.slice(0, 1_500))
    await feed.ack(firstPart[1_499]!)
    feed.close()
    const resumed = db.subscribe({ cursor: 'big' })
    const rest = await take(resumed, expected.length - 1_500)
    assert.deepEqual(rest.map((change) => [change.op, change.key['id']]), expected.slice(1_500))
    const update = rest.at(-1)!
    assert.deepEqual([update.before, update.after], [{ id: 2 * size - 1, v: 2 * size - 1 }, { id: 2 * size - 1, v: -(2 * size - 1) }])
    assert.ok(rest.every((change) => change.txId === firstPart[0]!.txId))
    await assertNoMoreThenClose(resumed, 100)
  })

  test('close ends a pending next; closing the database ends every feed', async () => {
    const db = await open()
    await db.query('CREATE TABLE p (id INTEGER PRIMARY KEY)')
    const first = db.subscribe()
    const pending = first.next()
    first.close()
    assert.deepEqual(await pending, { done: true, value: undefined })
    assert.deepEqual(await first.next(), { done: true, value: undefined })
    const second = db.subscribe()
    const third = db.subscribe({ tables: ['p'] })
    const waiting = [second.next(), third.next()]
    await sleep(50)
    await db.close()
    assert.deepEqual(await Promise.all(waiting), [
      { done: true, value: undefined },
      { done: true, value: undefined },
    ])
    assert.throws(() => db.subscribe(), hasCode('CLOSED'))
  })

  test('leaving a for-await loop closes the feed', async () => {
    await using db = await open()
    await db.query('CREATE TABLE f (id INTEGER PRIMARY KEY)')
    const feed = db.subscribe()
    await db.exec('INSERT INTO f VALUES (1); INSERT INTO f VALUES (2)')
    const seen: unknown[] = []
    for await (const change of feed) {
      seen.push(change.key['id'])
      break
    }
    assert.deepEqual(seen, [1])
    assert.equal(feed.isClosed, true)
    assert.deepEqual(await feed.next(), { done: true, value: undefined })
  })

  test('errors: unknown tables, views, bad options', async () => {
    await using db = await open()
    await db.exec('CREATE TABLE e (id INTEGER PRIMARY KEY); CREATE VIEW ev AS SELECT * FROM e')
    assert.throws(() => db.subscribe({ tables: ['nope'] }), hasCode('UNDEFINED_TABLE'))
    assert.throws(() => db.subscribe({ tables: ['e', 'ev'] }), hasCode('UNDEFINED_TABLE'))
    assert.throws(() => db.subscribe({ tables: [] }), hasCode('INVALID_PARAMETER'))
    assert.throws(() => db.subscribe({ fromTx: -1 }), hasCode('INVALID_PARAMETER'))
    assert.throws(() => db.subscribe({ fromTx: 1.5 }), hasCode('INVALID_PARAMETER'))
    assert.throws(() => db.subscribe({ cursor: '' }), hasCode('INVALID_PARAMETER'))
  })
})

describe('strata shell SUBSCRIBE', () => {
  const binaryPath = path.resolve('dist/src/interfaces/cli/main.js')
  const environment = { ...process.env, TZ: 'Asia/Kolkata', STRATA_HISTORY: path.join(os.tmpdir(), 'strata-feed-test-history') }

  function runSql(database: string, ...statements: string[]): void {
    const run = spawnSync(process.execPath, [binaryPath, 'sql', '--db', database, ...statements], { encoding: 'utf8', env: environment, timeout: 60_000 })
    assert.equal(run.status, 0, run.stderr)
  }

  test('prints each change as a JSON line as it commits until interrupted (through a server, also commits from another process)', async (t) => {
    const directory = temporaryDirectory('feed-cli')
    t.after(directory.remove)
    const database = path.join(directory.path, 'db')
    runSql(database, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, at TIMESTAMP); INSERT INTO t VALUES (1, 'a', TIMESTAMP '2024-01-01 00:00:00.5')", "UPDATE t SET v = 'b'")
    // Another process can only write the directory through the server that holds it; the shell's feed runs there too.
    const server = await startServe(database, environment)
    t.after(() => {
      if (server.child.exitCode === null) server.child.kill('SIGKILL')
    })
    const shell = spawn(process.execPath, [binaryPath, 'shell', '--db', database], { env: environment, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    shell.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    shell.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const exited = new Promise<number | null>((resolve) => shell.on('exit', (code) => resolve(code)))
    shell.stdin.write('SUBSCRIBE t FROM TX 2\n')
    const lines = async (count: number): Promise<string[]> => {
      const deadline = Date.now() + 30_000
      while (stdout.split('\n').filter((line) => line !== '').length < count) {
        if (Date.now() > deadline) assert.fail(`waited for ${count} lines; stdout: ${stdout}; stderr: ${stderr}`)
        await sleep(20)
      }
      return stdout.split('\n').filter((line) => line !== '')
    }
    await lines(2)
    // A commit by another process (through the server) reaches the subscribed shell.
    runSql(database, 'DELETE FROM t WHERE id = 1')
    const printed = (await lines(3)).map((line) => JSON.parse(line) as Record<string, unknown>)
    shell.kill('SIGINT')
    assert.equal(await exited, 0, stderr)
    assert.equal(stderr, '')
    const row = { id: 1, v: 'a', at: '2024-01-01T00:00:00.500000Z' }
    assert.deepEqual(
      printed.map(({ systemTime, ...rest }) => {
        assert.match(String(systemTime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/)
        return rest
      }),
      [
        { txId: 2, table: 't', op: 'insert', key: { id: 1 }, before: null, after: row },
        { txId: 3, table: 't', op: 'update', key: { id: 1 }, before: row, after: { ...row, v: 'b' } },
        { txId: 4, table: 't', op: 'delete', key: { id: 1 }, before: { ...row, v: 'b' }, after: null },
      ],
    )
    assert.equal(await server.stop(), 0, server.stderr())
  })

  test('a malformed SUBSCRIBE or an unknown table is an error; the shell carries on', (t) => {
    const directory = temporaryDirectory('feed-cli-errors')
    t.after(directory.remove)
    const database = path.join(directory.path, 'db')
    runSql(database, 'CREATE TABLE t (id INTEGER PRIMARY KEY)')
    const run = spawnSync(process.execPath, [binaryPath, 'shell', '--db', database], {
      input: 'SUBSCRIBE t FROM 3\nSUBSCRIBE nope;\nSELECT 42 AS answer;\n',
      encoding: 'utf8',
      env: environment,
      timeout: 60_000,
    })
    assert.equal(run.status, 1)
    assert.match(run.stderr, /INVALID_PARAMETER.*FROM TX/)
    assert.match(run.stderr, /UNDEFINED_TABLE.*"nope"/)
    assert.match(run.stdout, /42/)
  })
})
