/**
 * The row store reader's snapshot (src/storage/rowstore/rowstore.ts, ReaderSnapshot): autocommit reads
 * share one read transaction until the writer runs a statement. The engine-level test checks that no
 * read misses a commit made before it, however reads, writes, transactions and DDL interleave.
 */
import * as assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { test, type TestContext } from 'node:test'
import BetterSqlite3 from 'better-sqlite3'
import { open } from '../src/index.js'
import { openRowStoreSync } from '../src/storage/rowstore/rowstore.js'

function temporaryDirectory(t: TestContext): string {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-reader-snapshot-'))
  t.after(() => fs.rmSync(directory, { recursive: true, force: true }))
  return directory
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

test('the reader: reads share a read transaction, which the writer ends before it runs anything', async (t) => {
  const file = path.join(temporaryDirectory(t), 'store.sqlite')
  const store = openRowStoreSync(file, { durability: 'normal' })
  t.after(() => store.closeSync())
  store.writer.execSync('CREATE TABLE t (a INTEGER)')
  const count = (): unknown => store.reader.prepareSync('SELECT count(*) FROM t').allSync([])[0]![0]

  assert.equal(count(), 0)
  assert.equal(store.reader.inTransaction, true, 'the first read opens the snapshot')
  // A commit by a connection that is not the writer (which the directory lock rules out for a real
  // data directory) is not seen: the reads really do share one snapshot, across turns of the event loop.
  const outsider = new BetterSqlite3(file)
  t.after(() => outsider.close())
  outsider.prepare('INSERT INTO t VALUES (1)').run()
  assert.equal(count(), 0)
  await nextTurn()
  assert.equal(count(), 0)
  // The writer's commit ends the snapshot: the next read sees it (and the outsider's).
  store.writer.prepareSync('INSERT INTO t VALUES (2)').runSync([])
  assert.equal(store.reader.inTransaction, false, 'the writer ended the snapshot before it wrote')
  assert.equal(count(), 2)
  // Any statement of the writer ends it, a read too.
  outsider.prepare('INSERT INTO t VALUES (3)').run()
  assert.equal(count(), 2)
  store.writer.prepareSync('SELECT 1').allSync([])
  assert.equal(count(), 3)
})

test('no row-store read misses a commit made before it: autocommit writes, group commits, transactions, DDL', async (t) => {
  const directory = temporaryDirectory(t)
  const db = await open(directory)
  t.after(() => db.close())
  await db.query('CREATE TABLE k (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)')
  await db.query('INSERT INTO k VALUES (1, 0)')
  const read = async (): Promise<number> => Number((await db.query('SELECT v FROM k WHERE id = $1', [1], { engine: 'row' })).rows[0]!['v'])

  let expected = 0
  for (let round = 0; round < 50; round++) {
    assert.equal(await read(), expected)
    // An autocommit write on the handle's own session (committed before its promise settles).
    await db.query('UPDATE k SET v = v + 1 WHERE id = 1')
    expected += 1
    assert.equal(await read(), expected, `round ${round}: after an autocommit UPDATE`)
    // Concurrent writes share one COMMIT (group commit): each is acknowledged after it.
    await Promise.all([db.query('UPDATE k SET v = v + 1 WHERE id = 1'), db.query('UPDATE k SET v = v + 1 WHERE id = 1')])
    expected += 2
    assert.equal(await read(), expected, `round ${round}: after a group commit`)
    // An explicit transaction of another session: unseen until its COMMIT, seen right after.
    await db.transaction(async (tx) => {
      await tx.query('UPDATE k SET v = v + 10 WHERE id = 1')
      assert.equal(await read(), expected, `round ${round}: an open transaction's write is not seen`)
    })
    expected += 10
    assert.equal(await read(), expected, `round ${round}: after a transaction's COMMIT`)
  }

  // A schema change in the same turn: the next read sees the new column.
  await db.query('ALTER TABLE k ADD COLUMN w INTEGER')
  await db.query('UPDATE k SET w = 7 WHERE id = 1')
  assert.deepEqual((await db.query('SELECT v, w FROM k WHERE id = $1', [1], { engine: 'row' })).rows, [{ v: expected, w: 7 }])
})
