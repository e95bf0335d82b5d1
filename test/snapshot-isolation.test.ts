/**
 * Snapshot isolation (SPEC 10, docs/branches.md "Snapshot isolation"): an explicit transaction reads
 * one snapshot, point reads and aggregates alike, on both stores; it takes no lock until its first
 * write, so a transaction that reads never holds up a writer; its first write fails with TX_CONFLICT
 * when a table it read was changed by a commit after its snapshot (first committer wins), and nothing
 * of it remains. Checked against a brute-force model on seeded random interleavings, on main and on a
 * branch, and through PostgreSQL's protocol.
 */
import * as assert from 'node:assert/strict'
import { test, type TestContext } from 'node:test'
import pg from 'pg'
import { Engine } from '../src/engine/engine.js'
import { open, StrataError, type BranchHandle, type Database, type QueryResult } from '../src/index.js'
import { startPgServer } from '../src/interfaces/server/pg/index.js'
import { seededRandom, temporaryDirectory } from './helpers.js'

async function freshDatabase(t: TestContext): Promise<Database> {
  const directory = temporaryDirectory('strata-si-')
  const db = await open(directory.path)
  t.after(async () => {
    await db.close()
    directory.remove()
  })
  return db
}

/** An open transaction driven one statement at a time from outside its body. */
interface OpenTransaction {
  run(sql: string, params?: readonly unknown[], engine?: 'row' | 'column'): Promise<QueryResult>
  /** COMMIT; rejects as COMMIT does. */
  commit(): Promise<void>
  rollback(): Promise<void>
}

const rolledBack = new Error('rolled back by the test')

function openTransaction(db: Database | BranchHandle): OpenTransaction {
  const queue: { sql: string; params: readonly unknown[]; engine: 'row' | 'column' | undefined; resolve: (result: QueryResult) => void; reject: (error: unknown) => void }[] = []
  let finish: 'commit' | 'rollback' | undefined
  let wake: (() => void) | undefined
  const done = db.transaction(async (tx) => {
    for (;;) {
      while (queue.length === 0 && finish === undefined) await new Promise<void>((resolve) => (wake = resolve))
      const item = queue.shift()
      if (item === undefined) {
        if (finish === 'rollback') throw rolledBack
        return
      }
      try {
        item.resolve(await tx.query(item.sql, [...item.params], item.engine === undefined ? {} : { engine: item.engine }))
      } catch (error) {
        item.reject(error)
      }
    }
  })
  // Settled by commit() or rollback(); never unhandled meanwhile.
  done.catch(() => undefined)
  const poke = (): void => {
    const resume = wake
    wake = undefined
    resume?.()
  }
  return {
    run: (sql, params = [], engine) =>
      new Promise<QueryResult>((resolve, reject) => {
        queue.push({ sql, params, engine, resolve, reject })
        poke()
      }),
    commit: async () => {
      finish = 'commit'
      poke()
      await done
    },
    rollback: async () => {
      finish = 'rollback'
      poke()
      await done.catch((error: unknown) => {
        if (error !== rolledBack) throw error
      })
    },
  }
}

function isConflict(error: unknown): boolean {
  return error instanceof StrataError && error.code === 'TX_CONFLICT'
}

async function transactionCount(db: Database): Promise<number> {
  return Number((await db.query('SELECT count(*) AS n FROM strata.transactions')).rows[0]!['n'])
}

test('a transaction that reads holds up no writer and reads one snapshot on both stores, point reads and aggregates alike', async (t) => {
  const db = await freshDatabase(t)
  await db.query('CREATE TABLE acct (id INTEGER PRIMARY KEY, balance DECIMAL(12,2) NOT NULL)')
  await db.query("INSERT INTO acct VALUES (1, '100.10'), (2, '200.20')")
  const reader = openTransaction(db)
  const first = await reader.run('SELECT sum(balance) AS total, count(*) AS n FROM acct', [], 'column')
  // An autocommit write and a whole other transaction commit while the reader is open: nothing waits.
  await db.query("UPDATE acct SET balance = '0.01' WHERE id = 1")
  await db.transaction(async (tx) => {
    await tx.query("INSERT INTO acct VALUES (3, '300.30')")
  })
  assert.deepEqual((await db.query('SELECT count(*) AS n FROM acct')).rows, [{ n: 3 }])
  assert.deepEqual((await reader.run('SELECT sum(balance) AS total, count(*) AS n FROM acct', [], 'column')).rows, first.rows, 'the aggregate')
  for (const engine of ['row', 'column'] as const) {
    // (The row store sums no DECIMAL: DuckDB's sum of one is DECIMAL(38,s).)
    assert.deepEqual((await reader.run('SELECT count(*) AS n, max(id) AS top FROM acct', [], engine)).rows, [{ n: 2, top: 2 }], `an aggregate on the ${engine} store`)
    assert.deepEqual((await reader.run('SELECT balance FROM acct WHERE id = 1', [], engine)).rows, [{ balance: 100.1 }], `a point read on the ${engine} store`)
    assert.deepEqual((await reader.run('SELECT id FROM acct ORDER BY id', [], engine)).rows, [{ id: 1 }, { id: 2 }], `a scan on the ${engine} store`)
  }
  assert.deepEqual(first.rows, [{ total: 300.3, n: 2 }])
  await reader.commit()
  // A later transaction starts from the latest state.
  const later = openTransaction(db)
  assert.deepEqual((await later.run('SELECT sum(balance) AS total FROM acct')).rows, [{ total: 500.51 }])
  await later.commit()
})

test('first committer wins: a write after another commit changed a table the transaction read fails with TX_CONFLICT, and nothing of it remains', async (t) => {
  const db = await freshDatabase(t)
  await db.query('CREATE TABLE stock (item TEXT PRIMARY KEY, qty INTEGER NOT NULL)')
  await db.query('CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT NOT NULL)')
  await db.query("INSERT INTO stock VALUES ('apple', 1)")
  const a = openTransaction(db)
  const b = openTransaction(db)
  // Both see one apple left.
  assert.deepEqual((await a.run("SELECT qty FROM stock WHERE item = 'apple'")).rows, [{ qty: 1 }])
  assert.deepEqual((await b.run("SELECT qty FROM stock WHERE item = 'apple'")).rows, [{ qty: 1 }])
  await a.run("UPDATE stock SET qty = qty - 1 WHERE item = 'apple'")
  await a.run("INSERT INTO orders VALUES (1, 'apple')")
  await a.commit()
  const before = await transactionCount(db)
  // b's first write comes after a's commit changed stock, which b read: b loses.
  await assert.rejects(b.run("INSERT INTO orders VALUES (2, 'apple')"), (error: unknown) => isConflict(error) && /"stock"/.test((error as Error).message))
  // Its later statements and its COMMIT say so again; nothing of it was written.
  await assert.rejects(b.run("UPDATE stock SET qty = qty - 1 WHERE item = 'apple'"), isConflict)
  await assert.rejects(b.commit(), isConflict)
  assert.equal(await transactionCount(db), before)
  assert.deepEqual((await db.query('SELECT item, qty FROM stock')).rows, [{ item: 'apple', qty: 0 }])
  assert.deepEqual((await db.query('SELECT id FROM orders ORDER BY id')).rows, [{ id: 1 }])
  // A retry reads the new state and succeeds.
  const retry = openTransaction(db)
  assert.deepEqual((await retry.run("SELECT qty FROM stock WHERE item = 'apple'")).rows, [{ qty: 0 }])
  await retry.run("INSERT INTO orders VALUES (3, 'pear')")
  await retry.commit()
  assert.equal(await transactionCount(db), before + 1)
})

test('commits to tables a transaction did not read, or on other branches, are no conflict; an UPDATE reads its own table', async (t) => {
  const db = await freshDatabase(t)
  await db.query('CREATE TABLE a (k INTEGER PRIMARY KEY, v INTEGER)')
  await db.query('CREATE TABLE b (k INTEGER PRIMARY KEY, v INTEGER)')
  await db.query('INSERT INTO a VALUES (1, 1)')
  await db.query('INSERT INTO b VALUES (1, 1)')
  await db.query('CREATE BRANCH side')
  const tx = openTransaction(db)
  assert.deepEqual((await tx.run('SELECT v FROM a WHERE k = 1')).rows, [{ v: 1 }])
  await db.query('UPDATE b SET v = 2 WHERE k = 1') // a table tx did not read
  await db.branch('side').query('UPDATE a SET v = 5 WHERE k = 1') // another branch
  // A plain INSERT reads nothing of its table: a blind insert into b is no conflict either.
  await tx.run('INSERT INTO b VALUES (2, 20)')
  await tx.run('UPDATE a SET v = v + 10 WHERE k = 1')
  // From its first write on, the transaction holds the writer and reads its own writes over the latest commit.
  assert.deepEqual((await tx.run('SELECT k, v FROM b ORDER BY k')).rows, [
    { k: 1, v: 2 },
    { k: 2, v: 20 },
  ])
  await tx.commit()
  assert.deepEqual((await db.query('SELECT v FROM a')).rows, [{ v: 11 }])

  // An UPDATE reads the rows it changes: one after a commit changed its table conflicts, read before or not.
  const blind = openTransaction(db)
  assert.deepEqual((await blind.run('SELECT 1 AS one')).rows, [{ one: 1 }])
  await db.query('UPDATE a SET v = 0 WHERE k = 1')
  await assert.rejects(blind.run('UPDATE a SET v = v + 1 WHERE k = 1'), isConflict)
  await blind.rollback()
  assert.deepEqual((await db.query('SELECT v FROM a')).rows, [{ v: 0 }])
})

test('a query with AT (BRANCH => …) in a transaction reads every branch at the snapshot, and what it reads of its own branch counts for conflicts', async (t) => {
  const db = await freshDatabase(t)
  await db.query('CREATE TABLE t (k INTEGER PRIMARY KEY, v INTEGER)')
  await db.query('INSERT INTO t VALUES (1, 10), (2, 20)')
  await db.query('CREATE BRANCH b')
  await db.branch('b').query('UPDATE t SET v = 11 WHERE k = 1')
  const join = "SELECT t.k, t.v, x.v AS bv FROM t JOIN t AT (BRANCH => 'b') AS x ON x.k = t.k ORDER BY t.k"
  const expected = [
    { k: 1, v: 10, bv: 11 },
    { k: 2, v: 20, bv: 20 },
  ]
  const tx = openTransaction(db)
  assert.deepEqual((await tx.run(join)).rows, expected)
  await db.branch('b').query('UPDATE t SET v = 12 WHERE k = 1')
  await db.query('UPDATE t SET v = 21 WHERE k = 2')
  assert.deepEqual((await tx.run(join)).rows, expected)
  assert.deepEqual((await tx.run("SELECT v FROM t AT (BRANCH => 'b') WHERE k = 1")).rows, [{ v: 11 }])
  // main's t, read through the AT (BRANCH => …) query, changed since: the first write conflicts.
  await assert.rejects(tx.run('INSERT INTO t VALUES (3, 30)'), isConflict)
  await tx.rollback()
  // Outside a transaction the same query reads the latest states.
  assert.deepEqual((await db.query(join)).rows, [
    { k: 1, v: 10, bv: 12 },
    { k: 2, v: 21, bv: 20 },
  ])
})

test('writers do not wait for each other: a transaction idle between statements parks its writes; rows both wrote go to the first committer', async (t) => {
  const db = await freshDatabase(t)
  await db.query('CREATE TABLE acct (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)')
  await db.query('INSERT INTO acct VALUES (1, 100), (2, 200), (3, 300)')
  const a = openTransaction(db)
  const b = openTransaction(db)
  await a.run('UPDATE acct SET balance = balance - 10 WHERE id = 1')
  // b's write does not wait for a's COMMIT, nor does an autocommit write.
  await b.run('UPDATE acct SET balance = balance + 10 WHERE id = 2')
  await db.query('UPDATE acct SET balance = 301 WHERE id = 3')
  // Each reads its own writes over the others' commits.
  assert.deepEqual((await a.run('SELECT id, balance FROM acct ORDER BY id')).rows, [
    { id: 1, balance: 90 },
    { id: 2, balance: 200 },
    { id: 3, balance: 301 },
  ])
  await a.commit()
  await b.commit()
  assert.deepEqual((await db.query('SELECT id, balance FROM acct ORDER BY id')).rows, [
    { id: 1, balance: 90 },
    { id: 2, balance: 210 },
    { id: 3, balance: 301 },
  ])

  // Both write one row: the first to commit wins, the other's COMMIT fails and leaves nothing.
  const first = openTransaction(db)
  const second = openTransaction(db)
  await first.run('UPDATE acct SET balance = balance + 1 WHERE id = 1')
  await second.run('UPDATE acct SET balance = balance + 2 WHERE id = 1')
  await second.run('INSERT INTO acct VALUES (4, 400)')
  await second.commit()
  await assert.rejects(first.commit(), (error: unknown) => isConflict(error) && /row of "acct"/.test((error as Error).message))
  assert.deepEqual((await db.query('SELECT id, balance FROM acct ORDER BY id')).rows, [
    { id: 1, balance: 92 },
    { id: 2, balance: 210 },
    { id: 3, balance: 301 },
    { id: 4, balance: 400 },
  ])

  // An autocommit write to a row a parked transaction wrote: the transaction's COMMIT conflicts.
  const parked = openTransaction(db)
  await parked.run('DELETE FROM acct WHERE id = 4')
  await db.query('UPDATE acct SET balance = 401 WHERE id = 4')
  await assert.rejects(parked.commit(), isConflict)
  assert.deepEqual((await db.query('SELECT balance FROM acct WHERE id = 4')).rows, [{ balance: 401 }])
  // History has the committed versions only: nothing of the parked or conflicted writes.
  assert.deepEqual((await db.query('SELECT balance FROM acct FOR SYSTEM_TIME ALL WHERE id = 1 ORDER BY _system_from')).rows, [{ balance: 100 }, { balance: 90 }, { balance: 92 }])
})

test('concurrent transfers between accounts, retried on TX_CONFLICT, lose no update and keep the total, on both stores and in history', async (t) => {
  const db = await freshDatabase(t)
  const accounts = 8
  await db.query('CREATE TABLE bank (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)')
  await db.query(`INSERT INTO bank SELECT i, 1000 FROM generate_series(1, ${accounts}) AS s(i)`)
  const random = seededRandom(11)
  let conflicts = 0
  let committed = 0
  const transfer = async (from: number, to: number, amount: number): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      try {
        const moved = await db.transaction(async (tx) => {
          const balance = Number((await tx.query('SELECT balance FROM bank WHERE id = $1', [from])).rows[0]!['balance'])
          if (balance < amount) return false
          await tx.query('UPDATE bank SET balance = balance - $2 WHERE id = $1', [from, amount])
          // Give the others a turn between the two writes: they park this transaction's first one.
          await new Promise((resolve) => setImmediate(resolve))
          await tx.query('UPDATE bank SET balance = balance + $2 WHERE id = $1', [to, amount])
          return true
        })
        if (moved) committed++
        return
      } catch (error) {
        if (!isConflict(error) || attempt > 200) throw error
        conflicts++
      }
    }
  }
  const worker = async (): Promise<void> => {
    for (let n = 0; n < 15; n++) {
      const from = 1 + Math.floor(random() * accounts)
      const to = 1 + ((from + Math.floor(random() * (accounts - 1))) % accounts)
      await transfer(from, to, 1 + Math.floor(random() * 300))
    }
  }
  const before = await transactionCount(db)
  await Promise.all([worker(), worker(), worker(), worker()])
  assert.ok(conflicts > 0, 'the workers met conflicts and retried')
  for (const engine of ['row', 'column'] as const) {
    const rows = (await db.query('SELECT sum(balance) AS total, min(balance) AS low, count(*) AS n FROM bank', [], { engine })).rows
    assert.deepEqual(rows.map((row) => ({ total: Number(row['total']), n: Number(row['n']) })), [{ total: accounts * 1000, n: accounts }], `the total is kept (${engine})`)
    assert.ok(Number(rows[0]!['low']) >= 0, 'no balance went below zero')
  }
  // One commit per transfer that moved money, two new versions each, and nothing else.
  assert.equal(await transactionCount(db), before + committed)
  const versions = Number((await db.query('SELECT count(*) AS n FROM bank FOR SYSTEM_TIME ALL')).rows[0]!['n'])
  assert.equal(versions, accounts + 2 * committed)
})

test('savepoints made before the first write, and ROLLBACK TO one of them, undo the writes after it', async (t) => {
  const db = await freshDatabase(t)
  await db.query('CREATE TABLE s (k INTEGER PRIMARY KEY)')
  await db.query('INSERT INTO s VALUES (1)')
  const tx = openTransaction(db)
  await tx.run('SAVEPOINT before_anything')
  await tx.run('SELECT count(*) FROM s')
  await tx.run('INSERT INTO s VALUES (2)')
  await tx.run('SAVEPOINT after_two')
  await tx.run('INSERT INTO s VALUES (3)')
  await tx.run('ROLLBACK TO SAVEPOINT after_two')
  assert.deepEqual((await tx.run('SELECT k FROM s ORDER BY k')).rows, [{ k: 1 }, { k: 2 }])
  await tx.run('ROLLBACK TO SAVEPOINT before_anything')
  assert.deepEqual((await tx.run('SELECT k FROM s ORDER BY k')).rows, [{ k: 1 }])
  await tx.run('INSERT INTO s VALUES (4)')
  await tx.commit()
  assert.deepEqual((await db.query('SELECT k FROM s ORDER BY k')).rows, [{ k: 1 }, { k: 4 }])
})

/**
 * The model: committed states in commit order, with the keys each commit changed per table, and per
 * open transaction its snapshot, the tables it read, the rows it wrote (their final values), whether
 * it holds the writer lock, has parked its writes (another writer wanted the lock while it was idle)
 * or met a conflict.
 */
type State = Map<string, Map<number, number>>
type Changes = Map<string, Set<number>>

interface ModelTransaction {
  readonly handle: OpenTransaction
  snapshot: number | undefined
  readonly read: Set<string>
  /** Per table, per key the value it left (undefined: deleted). */
  readonly writes: Map<string, Map<number, number | undefined>>
  phase: 'reading' | 'holding' | 'parked' | 'conflicted'
  readonly log: string[]
  /** A transaction that only reads (as reports do): it never writes, so it reads its snapshot to its end. */
  readonly readOnly: boolean
}

const tables = ['a', 'b'] as const

function copyState(state: State): State {
  return new Map([...state].map(([name, rows]) => [name, new Map(rows)]))
}

function withWrites(state: State, writes: ModelTransaction['writes']): State {
  const result = copyState(state)
  for (const [table, rows] of writes) for (const [key, value] of rows) value === undefined ? result.get(table)!.delete(key) : result.get(table)!.set(key, value)
  return result
}

async function runModel(t: TestContext, seed: number, onBranch: boolean): Promise<{ conflicts: number; snapshotReads: number; parks: number }> {
  const db = await freshDatabase(t)
  for (const name of tables) await db.query(`CREATE TABLE ${name} (k INTEGER PRIMARY KEY, v INTEGER NOT NULL)`)
  await db.query('INSERT INTO a VALUES (1, 1), (2, 2), (3, 3)')
  await db.query('INSERT INTO b VALUES (1, 10)')
  let target: Database | BranchHandle = db
  if (onBranch) {
    await db.query('CREATE BRANCH work')
    target = db.branch('work')
  }
  const random = seededRandom(seed)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!
  const states: State[] = [
    new Map([
      ['a', new Map([[1, 1], [2, 2], [3, 3]])],
      ['b', new Map([[1, 10]])],
    ]),
  ]
  const changedBy: Changes[] = [new Map()]
  const latest = (): number => states.length - 1
  const tableChangedSince = (since: number, table: string): boolean => changedBy.slice(since + 1).some((changes) => changes.has(table))
  const keyChangedSince = (since: number, table: string, key: number): boolean => changedBy.slice(since + 1).some((changes) => changes.get(table)?.has(key) === true)
  const open: ModelTransaction[] = []
  let nextKey = 100
  let conflicts = 0
  let snapshotReads = 0
  let parks = 0
  // Writes on a branch take the writer lock to the transaction's end (only main's plain writes park).
  const parking = !onBranch
  const holder = (): ModelTransaction | undefined => open.find((tx) => tx.phase === 'holding')
  /** Another writer asks for the lock: an idle holder parks, or (not parking) the asker would wait. */
  const contend = (asker: ModelTransaction | undefined): boolean => {
    const held = holder()
    if (held === undefined || held === asker) return true
    if (!parking) return false
    held.phase = 'parked'
    held.log.push(`parked at ${latest()}`)
    parks++
    return true
  }
  /** A parked transaction takes the lock back: a table it read or a row it wrote changed since its snapshot is its conflict. */
  const resume = (tx: ModelTransaction): boolean => {
    const since = tx.snapshot!
    const conflict = [...tx.read].some((table) => tableChangedSince(since, table)) || [...tx.writes].some(([table, rows]) => [...rows.keys()].some((key) => keyChangedSince(since, table, key)))
    if (conflict) {
      tx.phase = 'conflicted'
      conflicts++
      return false
    }
    tx.phase = 'holding'
    tx.snapshot = latest()
    return true
  }

  const describe = (tx: ModelTransaction): string =>
    `read ${[...tx.read].join(',')}; wrote ${JSON.stringify([...tx.writes].map(([table, rows]) => [table, [...rows.keys()]]))}; log ${tx.log.join(' | ')}; snapshot ${tx.snapshot}; since: ${JSON.stringify(changedBy.slice((tx.snapshot ?? 0) + 1).map((changes) => [...changes].map(([table, keys]) => [table, [...keys]])))}`
  type Write = { sql: string; params: number[]; table: string; readsTable: boolean; key: number; apply: (rows: Map<number, number>) => number | undefined | 'none' }
  const randomWrite = (): Write => {
    const key = 1 + Math.floor(random() * 4)
    switch (Math.floor(random() * 4)) {
      case 0:
        // By the whole key: reads only the row it writes.
        return { sql: 'UPDATE a SET v = v + 1 WHERE k = $1', params: [key], table: 'a', readsTable: false, key, apply: (rows) => (rows.has(key) ? rows.get(key)! + 1 : 'none') }
      case 1: {
        const k = nextKey++
        return { sql: 'INSERT INTO b VALUES ($1, $2)', params: [k, k], table: 'b', readsTable: false, key: k, apply: () => k }
      }
      case 2:
        // Not by the key: reads its table.
        return { sql: 'UPDATE a SET v = v * 2 WHERE k = $1 OR k < 0', params: [key], table: 'a', readsTable: true, key, apply: (rows) => (rows.has(key) ? rows.get(key)! * 2 : 'none') }
      default:
        return { sql: 'DELETE FROM a WHERE k = $1', params: [key], table: 'a', readsTable: false, key, apply: (rows) => (rows.has(key) ? undefined : 'none') }
    }
  }
  const commitState = (state: State, changes: Changes): void => {
    states.push(state)
    changedBy.push(changes)
  }
  const attempt = async (run: () => Promise<QueryResult>): Promise<QueryResult | StrataError> => {
    try {
      return await run()
    } catch (error) {
      if (!(error instanceof StrataError)) throw error
      return error
    }
  }

  for (let step = 0; step < 240; step++) {
    const where = `seed ${seed} step ${step}`
    const choice = random()
    if (choice < 0.12 && open.length < 3) {
      open.push({ handle: openTransaction(target), snapshot: undefined, read: new Set(), writes: new Map(), phase: 'reading', log: [], readOnly: random() < 0.4 })
      continue
    }
    if (choice < 0.24) {
      // An autocommit write: an idle holder parks for it (when it cannot, the write would wait for its end).
      if (!contend(undefined)) continue
      const write = randomWrite()
      const state = copyState(states[latest()]!)
      const rows = state.get(write.table)!
      const value = write.apply(rows)
      const result = await target.query(write.sql, write.params)
      if (value === 'none') {
        assert.equal(result.rowCount, 0, `${where}: ${write.sql}`)
        continue
      }
      assert.equal(result.rowCount, 1, `${where}: ${write.sql}`)
      value === undefined ? rows.delete(write.key) : rows.set(write.key, value)
      commitState(state, new Map([[write.table, new Set([write.key])]]))
      continue
    }
    if (open.length === 0) continue
    const tx = pick(open)
    if (choice < 0.55 || (tx.readOnly && choice < 0.85)) {
      // A read: a point read, an aggregate or a scan, on either store.
      const table = pick(tables)
      // (A read forced onto the row store is not built for branches: docs/branches.md.)
      const engine = pick(onBranch ? ([undefined, 'column'] as const) : (['row', 'column', undefined] as const))
      const kind = Math.floor(random() * 3)
      const key = 1 + Math.floor(random() * 4)
      const sql = [`SELECT v FROM ${table} WHERE k = $1`, `SELECT count(*) AS n, sum(v) AS total FROM ${table}`, `SELECT k, v FROM ${table} ORDER BY k`][kind]!
      const params = kind === 0 ? [key] : []
      if (tx.phase === 'parked' && !contend(tx)) continue
      const outcome = await attempt(() => tx.handle.run(sql, params, engine))
      tx.log.push(`${sql} (${tx.phase}, latest ${latest()})`)
      if (tx.phase === 'conflicted') {
        assert.ok(isConflict(outcome), `${where}: a conflicted transaction's statements are refused`)
        continue
      }
      if (tx.phase === 'parked' && !resume(tx)) {
        assert.ok(isConflict(outcome), `${where}: a parked transaction taking its writes back after a conflicting commit (${describe(tx)})`)
        continue
      }
      if (outcome instanceof StrataError) throw outcome
      tx.read.add(table)
      let state: State
      if (tx.phase === 'holding') state = withWrites(states[latest()]!, tx.writes)
      else {
        tx.snapshot ??= latest()
        if (tx.snapshot < latest()) snapshotReads++
        state = states[tx.snapshot]!
      }
      const rows = state.get(table)!
      const sorted = [...rows].sort((x, y) => x[0] - y[0])
      const expected =
        kind === 0
          ? rows.has(key)
            ? [{ v: rows.get(key) }]
            : []
          : kind === 1
            ? [{ n: rows.size, total: rows.size === 0 ? null : String(sorted.reduce((sum, [, v]) => sum + v, 0)) }]
            : sorted.map(([k, v]) => ({ k, v }))
      const actual = kind === 1 ? outcome.rows.map((row) => ({ n: Number(row['n']), total: row['total'] === null ? null : String(row['total']) })) : outcome.rows
      assert.deepEqual(actual, expected, `${where}: ${sql} ${JSON.stringify(params)} (${engine ?? 'routed'}) in a transaction (${tx.phase}, snapshot ${tx.snapshot} of ${latest()})`)
      continue
    }
    if (choice < 0.85) {
      const write = randomWrite()
      if (tx.phase !== 'holding' && tx.phase !== 'conflicted' && !contend(tx)) continue
      const outcome = await attempt(() => tx.handle.run(write.sql, write.params))
      tx.log.push(`${write.sql} ${JSON.stringify(write.params)} (${tx.phase}, latest ${latest()}): ${outcome instanceof StrataError ? outcome.code : outcome.rowCount}`)
      if (tx.phase === 'conflicted') {
        assert.ok(isConflict(outcome), `${where}: a conflicted transaction's write is refused`)
        continue
      }
      if (tx.phase === 'parked' && !resume(tx)) {
        assert.ok(isConflict(outcome), `${where}: ${write.sql} taking parked writes back after a conflicting commit`)
        continue
      }
      if (tx.phase === 'reading') {
        // The first write: the tables read (this one's too, unless it goes by the key) must not have changed since the snapshot…
        tx.snapshot ??= latest()
        if (write.readsTable) tx.read.add(write.table)
        const since = tx.snapshot
        if ([...tx.read].some((table) => tableChangedSince(since, table))) {
          assert.ok(isConflict(outcome), `${where}: ${write.sql} after a commit changed a table the transaction read`)
          tx.phase = 'conflicted'
          conflicts++
          continue
        }
        tx.phase = 'holding'
        tx.snapshot = latest()
        // …nor the row it writes.
        const rows = withWrites(states[latest()]!, tx.writes).get(write.table)!
        if (write.apply(rows) !== 'none' && keyChangedSince(since, write.table, write.key)) {
          assert.ok(isConflict(outcome), `${where}: ${write.sql} wrote a row a commit changed after the snapshot`)
          tx.phase = 'conflicted'
          conflicts++
          continue
        }
      } else if (write.readsTable) tx.read.add(write.table)
      if (outcome instanceof StrataError) throw outcome
      const rows = withWrites(states[latest()]!, tx.writes).get(write.table)!
      const value = write.apply(rows)
      assert.equal(outcome.rowCount, value === 'none' ? 0 : 1, `${where}: ${write.sql} in a transaction`)
      if (value !== 'none') {
        if (!tx.writes.has(write.table)) tx.writes.set(write.table, new Map())
        tx.writes.get(write.table)!.set(write.key, value)
      }
      continue
    }
    // The end of a transaction: COMMIT mostly, else ROLLBACK.
    if (random() < 0.8) {
      if (tx.phase === 'parked' && !contend(tx)) continue
      open.splice(open.indexOf(tx), 1)
      if (tx.phase === 'parked' && !resume(tx)) {
        await assert.rejects(tx.handle.commit(), isConflict, `${where}: COMMIT of parked writes after a conflicting commit`)
        continue
      }
      if (tx.phase === 'conflicted') {
        await assert.rejects(tx.handle.commit(), isConflict)
        continue
      }
      await tx.handle.commit()
      const changes: Changes = new Map([...tx.writes].map(([table, rows]) => [table, new Set(rows.keys())]))
      if (tx.phase === 'holding' && changes.size > 0) commitState(withWrites(states[latest()]!, tx.writes), changes)
    } else {
      open.splice(open.indexOf(tx), 1)
      await tx.handle.rollback()
    }
  }
  for (const tx of open) await tx.handle.rollback()
  // What the model committed is what the database holds, on both stores.
  for (const table of tables) {
    const expected = [...states[latest()]!.get(table)!].sort((x, y) => x[0] - y[0]).map(([k, v]) => ({ k, v }))
    for (const engine of ['row', 'column'] as const) assert.deepEqual((await target.query(`SELECT k, v FROM ${table} ORDER BY k`, [], { engine })).rows, expected, `seed ${seed}: ${table} at the end (${engine})`)
  }
  return { conflicts, snapshotReads, parks }
}

test('random interleavings of transactions and autocommit writes read, park and conflict as a brute-force snapshot-isolation model says, on main and on a branch', async (t) => {
  let conflicts = 0
  let snapshotReads = 0
  let parks = 0
  for (const seed of [1, 2, 3, 4]) {
    const main = await runModel(t, seed, false)
    conflicts += main.conflicts
    snapshotReads += main.snapshotReads
    parks += main.parks
  }
  const branch = await runModel(t, 7, true)
  // The runs must have exercised what they check.
  assert.ok(conflicts >= 3, `conflicts met on main: ${conflicts}`)
  assert.ok(snapshotReads >= 10, `reads of a snapshot older than the latest commit on main: ${snapshotReads}`)
  assert.ok(parks >= 5, `transactions that parked their writes for another writer: ${parks}`)
  assert.ok(branch.conflicts + branch.snapshotReads > 0, 'the branch run read snapshots or met conflicts')
})

test('through PostgreSQL’s protocol: a reading transaction holds up no writer, and a conflict is SQLSTATE 40001', async (t) => {
  const directory = temporaryDirectory('strata-si-pg-')
  const engine = await Engine.open(directory.path, {})
  const server = await startPgServer(engine, { host: '127.0.0.1', port: 0, auth: { kind: 'trust' }, maxConnections: 20, statementTimeoutMs: 60_000 })
  const client = (): pg.Client => new pg.Client({ host: '127.0.0.1', port: server.port, user: 'tester', database: 'strata' })
  const reader = client()
  const writer = client()
  await reader.connect()
  await writer.connect()
  t.after(async () => {
    await reader.end()
    await writer.end()
    await server.close({ graceMs: 100 })
    await engine.close()
    directory.remove()
  })
  await writer.query('CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT)')
  await writer.query("INSERT INTO kv VALUES (1, 'one')")
  await reader.query('BEGIN')
  assert.deepEqual((await reader.query('SELECT v FROM kv WHERE k = 1')).rows, [{ v: 'one' }])
  // Before, the writer waited here for the reader's COMMIT.
  await writer.query("UPDATE kv SET v = 'uno' WHERE k = 1")
  assert.deepEqual((await reader.query('SELECT v FROM kv WHERE k = 1')).rows, [{ v: 'one' }])
  const conflict = await reader.query("UPDATE kv SET v = 'eins' WHERE k = 1").then(
    () => undefined,
    (error: { code?: string }) => error,
  )
  assert.equal(conflict?.code, '40001')
  await reader.query('ROLLBACK')
  assert.deepEqual((await reader.query('SELECT v FROM kv WHERE k = 1')).rows, [{ v: 'uno' }])
})
