/**
 * Reading and writing on branches (SPEC 10, docs/branches.md "Reading a branch", "Writing on a
 * branch"): a seeded random history of INSERT/UPDATE/DELETE on main and on branches made from main
 * and from each other, checked after every statement against a brute-force model (each branch a map
 * of rows, a new branch a copy of its parent's), on the row store and the column store alike; then
 * USE BRANCH, `db.branch()`, transactions on a branch, what each commit records, a restart, and the
 * refusals of what is not built yet.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import BetterSqlite from 'better-sqlite3'
import { join } from 'node:path'
import pg from 'pg'
import { Engine } from '../src/engine/engine.js'
import { startPgServer } from '../src/interfaces/server/pg/index.js'
import { startHttpServer } from '../src/interfaces/server/http/server.js'
import { open, StrataError, type Database } from '../src/index.js'
import { checkBranch, modelRows, rowsOf, type Row } from './branch-model.js'
import { assertRefused, openTemporary, seededRandom, temporaryDirectory } from './helpers.js'

const check = (db: Database, branch: string, model: ReadonlyMap<number, Row>, label: string): Promise<void> => checkBranch(db, branch, model, label)

/** `strata.diff('t', a, b)` run on `branch`, asserted equal to the difference of the two models (rows of a → rows of b). */
async function checkDiff(db: Database, a: string, b: string, before: ReadonlyMap<number, Row>, after: ReadonlyMap<number, Row>, branch: string, label: string): Promise<void> {
  const expected: unknown[] = []
  for (const id of [...new Set([...before.keys(), ...after.keys()])].sort((x, y) => x - y)) {
    const old = before.get(id)
    const now = after.get(id)
    if (old !== undefined && now !== undefined && old.v === now.v && old.n === now.n) continue
    expected.push({ id, diff_type: old === undefined ? 'added' : now === undefined ? 'removed' : 'modified', before: old ?? null, after: now ?? null })
  }
  const rows = (await db.query(`SELECT * FROM strata.diff('t', ${a}, ${b}) ORDER BY id`, [], { branch })).rows
  assert.deepEqual(rows, expected, `strata.diff ${label}`)
}

describe('branches: reading and writing', () => {
  test('a seeded random history on main and three branches equals a model of copied maps, on both stores, after every statement', { timeout: 240_000 }, async (t) => {
    const db = await openTemporary(t, 'branches-model')
    const random = seededRandom(13)
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!
    await db.query('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL, n INTEGER NOT NULL)')
    const models = new Map<string, Map<number, Row>>([['main', new Map()]])
    for (let id = 1; id <= 30; id++) {
      const row = { id, v: `m${id}`, n: id % 7 }
      await db.query('INSERT INTO t VALUES ($1, $2, $3)', [row.id, row.v, row.n])
      models.get('main')!.set(id, row)
    }
    let statements = 0
    const snapshots: { readonly committed: number; readonly models: ReadonlyMap<string, ReadonlyMap<number, Row>> }[] = []
    const branchPlan: [string, string][] = [
      ['b1', 'main'],
      ['b2', 'main'],
      ['b1x', 'b1'],
    ]
    for (let round = 0; round < 4; round++) {
      if (round > 0) {
        const [name, parent] = branchPlan[round - 1]!
        await db.query(`CREATE BRANCH ${name} FROM ${parent}`)
        models.set(name, new Map(models.get(parent)!))
      }
      for (let step = 0; step < 25; step++) {
        const branch = pick([...models.keys()])
        const model = models.get(branch)!
        const choice = random()
        const label = `round ${round} step ${step} (${branch})`
        if (choice < 0.35) {
          const id = 1 + Math.floor(random() * 45)
          const row = { id, v: `${branch}-${round}-${step}`, n: Math.floor(random() * 7) }
          if (model.has(id)) {
            await assert.rejects(db.query('INSERT INTO t VALUES ($1, $2, $3)', [row.id, row.v, row.n], { branch }), (error: unknown) => error instanceof StrataError && error.code === 'CONSTRAINT_VIOLATION', label)
          } else {
            await db.query('INSERT INTO t VALUES ($1, $2, $3)', [row.id, row.v, row.n], { branch })
            model.set(id, row)
          }
        } else if (choice < 0.55) {
          const id = 1 + Math.floor(random() * 45)
          const v = `u-${branch}-${round}-${step}`
          const result = await db.query('UPDATE t SET v = $1, n = n + 1 WHERE id = $2', [v, id], { branch })
          const old = model.get(id)
          assert.equal(result.rowCount, old === undefined ? 0 : 1, label)
          if (old !== undefined) model.set(id, { id, v, n: old.n + 1 })
        } else if (choice < 0.7) {
          const n = Math.floor(random() * 7)
          const v = `r-${branch}-${round}-${step}`
          const result = await db.query('UPDATE t SET v = $1 WHERE n = $2', [v, n], { branch })
          let count = 0
          for (const [id, row] of model) {
            if (row.n !== n) continue
            model.set(id, { ...row, v })
            count++
          }
          assert.equal(result.rowCount, count, label)
        } else if (choice < 0.85) {
          const id = 1 + Math.floor(random() * 45)
          const result = await db.query('DELETE FROM t WHERE id = $1', [id], { branch })
          assert.equal(result.rowCount, model.delete(id) ? 1 : 0, label)
        } else {
          const low = Math.floor(random() * 40)
          const result = await db.query('DELETE FROM t WHERE id BETWEEN $1 AND $2', [low, low + 2], { branch })
          let count = 0
          for (const id of [...model.keys()]) if (id >= low && id <= low + 2 && model.delete(id)) count++
          assert.equal(result.rowCount, count, label)
        }
        statements++
        await check(db, branch, model, label)
      }
      // Every branch, not only the one written: a write on one is invisible to the others.
      for (const [branch, model] of models) await check(db, branch, model, `end of round ${round}`)
      const committed = Number((await db.query('SELECT max(tx_id) AS tx FROM strata.transactions')).rows[0]!['tx'])
      snapshots.push({ committed, models: new Map([...models].map(([name, model]) => [name, new Map(model)])) })
    }
    // strata.diff between every two branches, and between a past commit and the head of each branch, equals the models' difference.
    const names = [...models.keys()]
    for (const a of names) for (const b of names) if (a !== b) await checkDiff(db, `'${a}'`, `'${b}'`, models.get(a)!, models.get(b)!, 'main', `${a} → ${b}`)
    for (const name of names) {
      const past = snapshots.find((snapshot) => snapshot.models.has(name))!
      const latest = Number((await db.query('SELECT max(tx_id) AS tx FROM strata.transactions')).rows[0]!['tx'])
      await checkDiff(db, String(past.committed), String(latest), past.models.get(name)!, models.get(name)!, name, `${name} at ${past.committed} → ${latest}`)
    }
    assert.ok(statements >= 100)
    // Time travel on a branch: its state at each round's end, and before its fork point its parent's.
    const parents = new Map<string, string>(branchPlan)
    for (const snapshot of snapshots) {
      for (const name of names) {
        let owner: string | undefined = name
        while (owner !== undefined && !snapshot.models.has(owner)) owner = parents.get(owner)
        const expected = modelRows(snapshot.models.get(owner ?? 'main')!)
        assert.deepEqual(rowsOf(await db.query(`SELECT * FROM t FOR SYSTEM_TIME AS OF ${snapshot.committed}`, [], { branch: name })), expected, `${name} AS OF ${snapshot.committed}`)
        assert.deepEqual(rowsOf(await db.query(`SELECT * FROM t AS OF ${snapshot.committed}`, [], { branch: name })), expected, `${name}: the AS OF shorthand at ${snapshot.committed}`)
      }
    }
    // FROM t AT (BRANCH => 'x') reads branch x's table from a session on any branch, also joined with the session's own.
    for (const session of names) {
      for (const name of names) {
        assert.deepEqual(rowsOf(await db.query(`SELECT * FROM t AT (BRANCH => '${name}')`, [], { branch: session })), modelRows(models.get(name)!), `AT (BRANCH => '${name}') on ${session}`)
      }
      const joined = (await db.query("SELECT count(*) AS c FROM t AS mine JOIN t AT (BRANCH => 'main') AS theirs USING (id) WHERE mine.v = theirs.v", [], { branch: session })).rows[0]!
      const own = models.get(session)!
      const main = models.get('main')!
      assert.equal(Number(joined['c']), [...own.values()].filter((row) => main.get(row.id)?.v === row.v).length, `a join of ${session} with main`)
    }
    // Aggregates and joins read every branch's rows through the column store.
    for (const [branch, model] of models) {
      const expected = modelRows(model)
      const aggregate = (await db.query('SELECT count(*) AS c, sum(n) AS s FROM t', [], { branch })).rows[0]!
      assert.deepEqual([Number(aggregate['c']), Number(aggregate['s'] ?? 0)], [expected.length, expected.reduce((sum, row) => sum + row.n, 0)], `aggregate on ${branch}`)
      const joined = (await db.query('SELECT count(*) AS c FROM t AS a JOIN t AS b ON a.n = b.n', [], { branch })).rows[0]!
      let pairs = 0
      for (const a of expected) for (const b of expected) if (a.n === b.n) pairs++
      assert.equal(Number(joined['c']), pairs, `self-join on ${branch}`)
    }
  })

  test('strata.diff gives the same rows whether it lists the changed keys or compares the two states whole', async (t) => {
    const db = await openTemporary(t, 'branches-diff-paths')
    // Keys of three kinds: integers and text (listed when few), a DOUBLE (always compared whole).
    await db.query('CREATE TABLE ints (id INTEGER PRIMARY KEY, v INTEGER)')
    await db.query('CREATE TABLE texts (k TEXT PRIMARY KEY, v INTEGER)')
    await db.query('CREATE TABLE reals (x DOUBLE PRIMARY KEY, v INTEGER)')
    await db.query('INSERT INTO ints SELECT i, 0 FROM range(1, 3001) AS r(i)')
    await db.query("INSERT INTO texts SELECT 'k' || i, 0 FROM range(1, 11) AS r(i)")
    await db.query('INSERT INTO reals SELECT i / 2, 0 FROM range(1, 11) AS r(i)')
    await db.query('CREATE BRANCH few')
    await db.query('CREATE BRANCH many')
    const few = db.branch('few')
    await few.query('UPDATE ints SET v = 1 WHERE id = 7')
    await few.query("UPDATE texts SET v = 1 WHERE k = 'k3'")
    await few.query("DELETE FROM texts WHERE k = 'k4'")
    await few.query('UPDATE reals SET v = 1 WHERE x = 1.5')
    // More changed keys than the query lists (2,000): the two states are compared whole.
    await db.branch('many').query('UPDATE ints SET v = 2 WHERE id <= 2500')
    const diff = async (table: string, to: string): Promise<unknown[]> => (await db.query(`SELECT * FROM strata.diff('${table}', 'main', '${to}') ORDER BY 1`)).rows
    assert.deepEqual(await diff('ints', 'few'), [{ id: 7, diff_type: 'modified', before: { id: 7, v: 0 }, after: { id: 7, v: 1 } }])
    assert.deepEqual(await diff('texts', 'few'), [
      { k: 'k3', diff_type: 'modified', before: { k: 'k3', v: 0 }, after: { k: 'k3', v: 1 } },
      { k: 'k4', diff_type: 'removed', before: { k: 'k4', v: 0 }, after: null },
    ])
    assert.deepEqual(await diff('reals', 'few'), [{ x: 1.5, diff_type: 'modified', before: { x: 1.5, v: 0 }, after: { x: 1.5, v: 1 } }])
    const many = await diff('ints', 'many')
    assert.equal(many.length, 2500)
    assert.deepEqual(many[2499], { id: 2500, diff_type: 'modified', before: { id: 2500, v: 0 }, after: { id: 2500, v: 2 } })
    // Main's later change of a key the branch did not touch shows too (the keys main wrote since the fork).
    await db.query('UPDATE ints SET v = 5 WHERE id = 9')
    assert.deepEqual(await diff('ints', 'few'), [
      { id: 7, diff_type: 'modified', before: { id: 7, v: 0 }, after: { id: 7, v: 1 } },
      { id: 9, diff_type: 'modified', before: { id: 9, v: 5 }, after: { id: 9, v: 0 } },
    ])
  })

  test('USE BRANCH, db.branch() and transactions on a branch; each commit records its branch and moves only its head', async (t) => {
    const db = await openTemporary(t, 'branches-sessions')
    await db.query('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL, n INTEGER NOT NULL)')
    await db.query("INSERT INTO t VALUES (1, 'a', 1), (2, 'b', 2)")
    // Making a branch adds no table, whatever the tables hold: the branch's storage comes with its first write.
    const tablesBefore = await db.tables()
    await db.query('CREATE BRANCH dev')
    assert.deepEqual(await db.tables(), tablesBefore)
    assert.deepEqual((await db.query('SELECT strata.current_branch()')).rows, [{ current_branch: 'main' }])
    await db.query('USE BRANCH dev')
    assert.deepEqual((await db.query('SELECT strata.current_branch() AS b, upper(strata.current_branch()) AS u')).rows, [{ b: 'dev', u: 'DEV' }])
    await db.query("UPDATE t SET v = 'dev' WHERE id = 1")
    assert.deepEqual(rowsOf(await db.query('SELECT * FROM t')), [{ id: 1, v: 'dev', n: 1 }, { id: 2, v: 'b', n: 2 }])
    // A transaction started from a handle on a branch runs there; a rollback leaves nothing.
    await db.transaction(async (tx) => {
      await tx.query("INSERT INTO t VALUES (3, 'c', 3)")
    })
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.query('DELETE FROM t WHERE id = 2')
        throw new Error('changed my mind')
      }),
      /changed my mind/,
    )
    await db.query('USE BRANCH main')
    assert.deepEqual(rowsOf(await db.query('SELECT * FROM t')), [{ id: 1, v: 'a', n: 1 }, { id: 2, v: 'b', n: 2 }], 'main is untouched')
    const dev = db.branch('dev')
    assert.deepEqual((await dev.query('SELECT strata.current_branch()')).rows, [{ current_branch: 'dev' }])
    assert.deepEqual((await db.query('SELECT strata.current_branch()')).rows, [{ current_branch: 'main' }], 'a handle on a branch does not move the database’s session')
    assert.deepEqual(rowsOf(await dev.query('SELECT * FROM t')), [{ id: 1, v: 'dev', n: 1 }, { id: 2, v: 'b', n: 2 }, { id: 3, v: 'c', n: 3 }])
    await dev.transaction(async (tx) => {
      await tx.query('DELETE FROM t WHERE id = 2')
    })
    assert.deepEqual(rowsOf(await dev.sql`SELECT * FROM t WHERE id = ${2}`), [])
    assert.deepEqual(rowsOf(await db.query('SELECT * FROM t WHERE id = 2')), [{ id: 2, v: 'b', n: 2 }])
    const transactions = (await db.query('SELECT tx_id, kind, branch FROM strata.transactions WHERE tx_id > 2 ORDER BY tx_id')).rows
    // The first write on a branch makes its storage (a schema change of the row store), later ones are data.
    assert.deepEqual(transactions, [
      { tx_id: 3, kind: 'branch', branch: null },
      { tx_id: 4, kind: 'ddl', branch: 'dev' },
      { tx_id: 5, kind: 'data', branch: 'dev' },
      { tx_id: 6, kind: 'data', branch: 'dev' },
    ])
    const heads = Object.fromEntries((await db.query('SELECT name, head_tx FROM strata.branches')).rows.map((row) => [row['name'], row['head_tx']]))
    assert.deepEqual(heads, { main: 2, dev: 6 })
  })

  test('a UNIQUE constraint holds on a branch over the rows it inherits too, for writes and merges', async (t) => {
    const db = await openTemporary(t, 'branches-unique')
    await db.query('CREATE TABLE u (id INTEGER PRIMARY KEY, email TEXT UNIQUE)')
    await db.query("INSERT INTO u VALUES (1, 'a@x'), (2, 'b@x')")
    await db.query('CREATE BRANCH dev')
    const dev = db.branch('dev')
    const violation = (error: unknown): boolean => error instanceof StrataError && error.code === 'CONSTRAINT_VIOLATION' && /unique constraint on .*\(email\)/.test(error.message) && !error.message.includes('_strata')
    await assert.rejects(dev.query("INSERT INTO u VALUES (3, 'a@x')"), violation)
    await assert.rejects(dev.query("UPDATE u SET email = 'b@x' WHERE id = 1"), violation)
    // Freed on the branch first, the value may be taken; NULLs never collide.
    await dev.query("UPDATE u SET email = 'c@x' WHERE id = 2")
    await dev.query("UPDATE u SET email = 'b@x' WHERE id = 1")
    await dev.query('INSERT INTO u VALUES (4, NULL), (5, NULL)')
    // Against the branch's own rows, the own table's index says so, in the table's name.
    await assert.rejects(dev.query("INSERT INTO u VALUES (8, 'c@x')"), violation)
    assert.deepEqual((await dev.query('SELECT * FROM u ORDER BY id')).rows, [{ id: 1, email: 'b@x' }, { id: 2, email: 'c@x' }, { id: 4, email: null }, { id: 5, email: null }])
    // A merge into a branch that would make two rows share a value is refused, and changes nothing.
    await db.query('CREATE BRANCH other')
    await db.query("INSERT INTO u VALUES (6, 'z@x')")
    await db.branch('other').query("INSERT INTO u VALUES (7, 'z@x')")
    await assert.rejects(db.query('MERGE BRANCH main INTO other'), violation)
    assert.deepEqual((await db.query('SELECT id FROM u ORDER BY id', [], { branch: 'other' })).rows, [{ id: 1 }, { id: 2 }, { id: 7 }])
  })

  test('INSERT … SELECT on a branch reads its source as the branch sees it, fills defaults, and checks keys against what the branch inherits', async (t) => {
    const db = await openTemporary(t, 'branches-insert-select')
    await db.query('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL, n INTEGER DEFAULT 7)')
    await db.query('CREATE TABLE src (id INTEGER PRIMARY KEY, v TEXT)')
    await db.query("INSERT INTO t (id, v) VALUES (1, 'a')")
    await db.query("INSERT INTO src VALUES (10, 'x'), (11, 'y'), (1, 'dup'), (12, NULL)")
    await db.query('CREATE BRANCH dev')
    const dev = db.branch('dev')
    await dev.query("UPDATE src SET v = 'x on dev' WHERE id = 10")
    const inserted = await dev.query('INSERT INTO t (id, v) SELECT id, v FROM src WHERE id BETWEEN $1 AND $2', [10, 11])
    assert.equal(inserted.rowCount, 2)
    const expected = [{ id: 1, v: 'a', n: 7 }, { id: 10, v: 'x on dev', n: 7 }, { id: 11, v: 'y', n: 7 }]
    for (const engine of ['row', 'column'] as const) assert.deepEqual((await dev.query('SELECT id, v, n FROM t ORDER BY id', [], { engine })).rows, expected, engine)
    assert.deepEqual((await db.query('SELECT id FROM t ORDER BY id')).rows, [{ id: 1 }], 'main is untouched')
    // A key the branch inherits, a key it already holds, a NULL into NOT NULL, the wrong number of columns: refused, nothing written.
    const refused = async (sql: string, code: string): Promise<void> => {
      await assert.rejects(dev.query(sql), (error: unknown) => error instanceof StrataError && error.code === code && !error.message.includes('_strata'), sql)
    }
    await refused('INSERT INTO t (id, v) SELECT id, v FROM src WHERE id = 1', 'CONSTRAINT_VIOLATION')
    await refused('INSERT INTO t (id, v) SELECT id, v FROM src WHERE id = 11', 'CONSTRAINT_VIOLATION')
    await refused('INSERT INTO t (id, v) SELECT id, v FROM src WHERE id = 12', 'CONSTRAINT_VIOLATION')
    await refused('INSERT INTO t SELECT id, v FROM src', 'SYNTAX_ERROR')
    await refused('UPDATE t SET v = (SELECT v FROM src WHERE src.id = t.id)', 'NOT_SUPPORTED')
    assert.deepEqual((await dev.query('SELECT id, v, n FROM t ORDER BY id')).rows, expected)
    // Inside a transaction the source sees the transaction's own writes.
    await dev.transaction(async (tx) => {
      await tx.query("INSERT INTO src VALUES (20, 'in tx')")
      await tx.query('INSERT INTO t (id, v) SELECT id, v FROM src WHERE id = 20')
    })
    assert.deepEqual((await dev.query('SELECT v FROM t WHERE id = 20')).rows, [{ v: 'in tx' }])
  })

  test('INSERT … ON CONFLICT on a branch meets the rows it inherits: DO UPDATE updates them there, DO NOTHING keeps them', async (t) => {
    const db = await openTemporary(t, 'branches-on-conflict')
    await db.query('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, n INTEGER)')
    await db.query("INSERT INTO t VALUES (1, 'a', 1), (2, 'b', 2)")
    await db.query('CREATE BRANCH dev')
    const dev = db.branch('dev')
    const upserted = await dev.query("INSERT INTO t VALUES (1, 'x', 10), (3, 'c', 3) ON CONFLICT (id) DO UPDATE SET v = excluded.v, n = t.n + excluded.n")
    assert.equal(upserted.rowCount, 2)
    await dev.query("INSERT INTO t VALUES (2, 'y', 0), ($1, 'd', 4) ON CONFLICT DO NOTHING", [4])
    const expected = [{ id: 1, v: 'x', n: 11 }, { id: 2, v: 'b', n: 2 }, { id: 3, v: 'c', n: 3 }, { id: 4, v: 'd', n: 4 }]
    for (const engine of ['row', 'column'] as const) assert.deepEqual((await dev.query('SELECT * FROM t ORDER BY id', [], { engine })).rows, expected, engine)
    assert.deepEqual((await db.query('SELECT * FROM t ORDER BY id')).rows, [{ id: 1, v: 'a', n: 1 }, { id: 2, v: 'b', n: 2 }], 'main is untouched')
    // The upserted inherited row is the branch's now: its diff against main is an update.
    assert.deepEqual((await db.query("SELECT id, diff_type FROM strata.diff('t', 'main', 'dev') ORDER BY id")).rows, [
      { id: 1, diff_type: 'modified' },
      { id: 3, diff_type: 'added' },
      { id: 4, diff_type: 'added' },
    ])
    // A statement's own references to the table by its name work on a branch too.
    await dev.query('UPDATE t SET n = t.n + 1 WHERE t.id = 2')
    assert.deepEqual((await dev.query('SELECT n FROM t WHERE id = 2')).rows, [{ n: 3 }])
  })

  test('an UPDATE or DELETE whose WHERE reads tables on a branch reads them as the branch sees them', async (t) => {
    const db = await openTemporary(t, 'branches-where-subqueries')
    await db.query('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, n INTEGER)')
    await db.query('CREATE TABLE flags (id INTEGER PRIMARY KEY, bad BOOLEAN)')
    await db.query("INSERT INTO t VALUES (1, 'a', 1), (2, 'b', 2), (3, 'c', 3)")
    await db.query('INSERT INTO flags VALUES (1, false), (2, true), (3, false)')
    await db.query('CREATE BRANCH dev')
    const dev = db.branch('dev')
    // On dev, 3 is flagged too; main's flags say only 2.
    await dev.query('UPDATE flags SET bad = true WHERE id = 3')
    assert.equal((await dev.query('UPDATE t SET n = n * 10 WHERE id IN (SELECT id FROM flags WHERE bad)')).rowCount, 2)
    assert.equal((await dev.query('DELETE FROM t WHERE EXISTS (SELECT 1 FROM flags AS f WHERE f.id = t.id AND f.bad) AND n > $1', [25])).rowCount, 1)
    assert.equal((await dev.query('UPDATE t SET n = 0 WHERE id IN (SELECT id FROM flags WHERE id > 100)')).rowCount, 0)
    // The table's own rows in a subquery are the branch's too.
    assert.equal((await dev.query('UPDATE t SET v = $1 WHERE n = (SELECT max(n) FROM t)', ['max'])).rowCount, 1)
    const expected = [{ id: 1, v: 'a', n: 1 }, { id: 2, v: 'max', n: 20 }]
    for (const engine of ['row', 'column'] as const) assert.deepEqual((await dev.query('SELECT * FROM t ORDER BY id', [], { engine })).rows, expected, engine)
    assert.deepEqual((await db.query('SELECT * FROM t ORDER BY id')).rows, [{ id: 1, v: 'a', n: 1 }, { id: 2, v: 'b', n: 2 }, { id: 3, v: 'c', n: 3 }], 'main is untouched')
  })

  test('EXPLAIN on a branch names the store, why, and the plan of the derived table it reads', async (t) => {
    const db = await openTemporary(t, 'branches-explain')
    await db.query('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)')
    await db.query("INSERT INTO t VALUES (1, 'a'), (2, 'b')")
    await db.query('CREATE BRANCH dev')
    const dev = db.branch('dev')
    await dev.query("UPDATE t SET v = 'x' WHERE id = 1")
    const plan = async (sql: string): Promise<string[]> => (await dev.query(sql)).rows.map((row) => String(row['plan']))
    const lookup = await plan('EXPLAIN SELECT * FROM t WHERE id = 1')
    assert.deepEqual(lookup.slice(0, 2), ['store: row', 'why: a lookup by key on branch "dev": the branch\'s own rows, then its parent\'s as of the fork point'])
    assert.ok(lookup.some((line) => line.startsWith('sql: ') && line.includes('_strata_b1_k_t')), 'the derived table reads the keys the branch owns')
    assert.ok(lookup.some((line) => /^plan: SEARCH .* USING INTEGER PRIMARY KEY/.test(line)), 'by key, in SQLite')
    const scan = await plan('EXPLAIN SELECT v, count(*) FROM t GROUP BY v')
    assert.equal(scan[0], 'store: column')
    assert.match(scan[1]!, /a read on branch "dev".*main has not written these tables since/)
    assert.ok(scan.some((line) => line.includes('ANTI')), "DuckDB's plan takes the branch's keys out by an anti-join")
    assert.deepEqual(await plan("EXPLAIN UPDATE t SET v = 'y'"), ['store: row', 'why: a write on branch "dev" runs on the row store, on the branch\'s own table (docs/branches.md)'])
    // The rows are still the branch's after all that.
    assert.deepEqual((await dev.query('SELECT id, v FROM t ORDER BY id')).rows, [{ id: 1, v: 'x' }, { id: 2, v: 'b' }])
  })

  test('AT (BRANCH => …): errors and what it is not for', async (t) => {
    const db = await openTemporary(t, 'branches-at')
    await db.query('CREATE TABLE t (id INTEGER PRIMARY KEY)')
    await assertRefused((sql) => db.query(sql), [
      ["SELECT * FROM t AT (BRANCH => 'nope')", 'UNDEFINED_BRANCH', /"nope"/],
      ["SELECT * FROM t AT (BRANCH => 'a..b')", 'INVALID_NAME', /a\.\.b/],
      ["SELECT 1 AT (BRANCH => 'main')", 'SYNTAX_ERROR', /must follow a table's name/],
      ['SELECT * FROM t AT (BRANCH => main)', 'SYNTAX_ERROR', /a branch name as a string/],
      ["DELETE FROM t AT (BRANCH => 'main')", 'NOT_SUPPORTED', /only a query reads another branch/],
    ])
  })

  test('the refusals: unknown branches, a transaction on two branches, dropping the branch in use, and what is not built on a branch yet', async (t) => {
    const db = await openTemporary(t, 'branches-refusals')
    await db.query('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)')
    await db.query('CREATE TABLE k (v TEXT)')
    await db.query('CREATE TABLE u (id INTEGER PRIMARY KEY, email TEXT UNIQUE)')
    await db.query('CREATE BRANCH dev')
    assert.throws(() => db.branch('a..b'), (error: unknown) => error instanceof StrataError && error.code === 'INVALID_NAME')
    await assertRefused((sql) => db.branch('nope').query(sql), [['SELECT * FROM t', 'UNDEFINED_BRANCH', /"nope" does not exist/]])
    await assertRefused((sql) => db.query(sql), [['USE BRANCH nope', 'UNDEFINED_BRANCH', /"nope" does not exist/]])
    const dev = db.branch('dev')
    await assertRefused(
      (sql) => dev.query(sql),
      [
        ['CREATE TABLE u (id INTEGER PRIMARY KEY)', 'NOT_SUPPORTED', /on a branch other than main/],
        ['SELECT * FROM t FOR SYSTEM_TIME ALL', 'NOT_SUPPORTED', /FOR SYSTEM_TIME ALL on a branch/],
        ["SELECT * FROM t FOR VALID_TIME AS OF '2020-01-01'", 'NOT_SUPPORTED', /valid time .* on a branch/],
        ["UPDATE t FOR PORTION OF VALID_TIME FROM '2020-01-01' TO '2021-01-01' SET v = 'x'", 'NOT_SUPPORTED', /valid-time writes/],
        ["INSERT INTO k VALUES ('x')", 'NOT_SUPPORTED', /no primary key/],
        ["INSERT INTO u VALUES (1, 'a') ON CONFLICT (id) DO NOTHING", 'NOT_SUPPORTED', /ON CONFLICT on table "u", which has UNIQUE constraints/],
        ["INSERT INTO t SELECT 1, 'a' ON CONFLICT (id) DO NOTHING", 'NOT_SUPPORTED', /ON CONFLICT with rows that are not a VALUES list/],
        ['UPDATE t SET v = (SELECT v FROM k LIMIT 1)', 'NOT_SUPPORTED', /reads other tables in SET, FROM, USING or WITH/],
        ['DROP BRANCH dev', 'OBJECT_IN_USE', /this session is on it/],
      ],
    )
    // The library calls that go to main's tables directly are refused while the database's session is on a branch.
    await db.query('USE BRANCH dev')
    for (const [what, call] of [
      ['insert()', () => db.insert('t', [{ id: 5, v: 'x' }])],
      ['writeBatch()', () => db.writeBatch(["INSERT INTO t VALUES (5, 'x')"])],
      ['exportTable()', () => db.exportTable('/tmp/never-written.csv', { table: 't' })],
    ] as const) {
      await assert.rejects(call(), (error: unknown) => error instanceof StrataError && error.code === 'NOT_SUPPORTED' && error.message.includes(`${what} on a branch other than main`), what)
    }
    assert.throws(() => db.subscribe(), (error: unknown) => error instanceof StrataError && error.code === 'NOT_SUPPORTED')
    await db.query('USE BRANCH main')
    // What reads nothing a branch changes runs as on main; a view would read main's tables, so it is refused.
    await db.query('CREATE VIEW tv AS SELECT id FROM t')
    assert.deepEqual((await dev.query('SELECT 1 AS one')).rows, [{ one: 1 }])
    assert.deepEqual((await dev.query("SELECT name FROM strata.branches WHERE name = 'dev'")).rows, [{ name: 'dev' }])
    await assertRefused((sql) => dev.query(sql), [['SELECT * FROM tv', 'NOT_SUPPORTED', /the view "tv" on a branch/]])
    // While a branch is live, main keeps the tables and columns it inherits.
    await assertRefused(
      (sql) => db.query(sql),
      [
        ['DROP TABLE t', 'OBJECT_IN_USE', /table "t" cannot be dropped while branch "dev" may read it/],
        ['ALTER TABLE t DROP COLUMN v', 'OBJECT_IN_USE', /column "v" of table "t" cannot be dropped while branch "dev"/],
      ],
    )
    // A branch that holds rows of a table holds them in the table's shape: main may not change it meanwhile.
    await db.query('ALTER TABLE k ADD COLUMN w INTEGER')
    await dev.query("INSERT INTO t VALUES (9, 'dev')")
    await assertRefused(
      (sql) => db.query(sql),
      [
        ['ALTER TABLE t ADD COLUMN w INTEGER', 'OBJECT_IN_USE', /table "t" cannot be altered while branch "dev" holds rows of it/],
        ['ALTER TABLE t RENAME COLUMN v TO w', 'OBJECT_IN_USE', /table "t" cannot be altered while branch "dev" holds rows of it/],
      ],
    )
    // A transaction runs on one branch.
    await db.query('BEGIN')
    await db.query("INSERT INTO t VALUES (1, 'main')")
    await assertRefused((sql) => db.query(sql), [['USE BRANCH dev', 'TX_STATE', /a transaction writes on one branch/]])
    await assertRefused((sql) => db.query(sql, [], { branch: 'dev' }), [['SELECT * FROM t', 'TX_STATE', /a transaction runs on one branch/]])
    await db.query('COMMIT')
    assert.deepEqual((await dev.query('SELECT id FROM t ORDER BY id')).rows, [{ id: 9 }], 'main’s later commit is not on the branch')
  })

  test('a branch’s rows survive a restart, and its storage is hidden from every listing', async () => {
    const directory = temporaryDirectory('branches-restart')
    try {
      let db = await open(directory.path)
      await db.query('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)')
      await db.query("INSERT INTO t VALUES (1, 'a'), (2, 'b')")
      await db.query('CREATE BRANCH dev')
      await db.query("UPDATE t SET v = 'x' WHERE id = 2", [], { branch: 'dev' })
      await db.query("INSERT INTO t VALUES (3, 'c')", [], { branch: 'dev' })
      await db.close()
      db = await open(directory.path)
      assert.deepEqual((await db.query('SELECT id, v FROM t ORDER BY id', [], { branch: 'dev' })).rows, [{ id: 1, v: 'a' }, { id: 2, v: 'x' }, { id: 3, v: 'c' }])
      assert.deepEqual((await db.query('SELECT id, v FROM t ORDER BY id')).rows, [{ id: 1, v: 'a' }, { id: 2, v: 'b' }])
      assert.deepEqual(await db.tables(), ['t'])
      assert.deepEqual((await db.query('SHOW TABLES')).rows, [{ name: 't' }])
      const listed = (await db.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY table_name")).rows
      assert.deepEqual(listed, [{ table_name: 't' }])
      // Named directly, a branch's tables do not exist, for any statement (and again from the cached plan).
      for (const sql of ['SELECT * FROM _strata_b1_t_t', 'SELECT * FROM _strata_b1_t_t', 'SELECT count(*) FROM t JOIN _strata_b1_k_t USING (id)', "INSERT INTO _strata_b1_t_t VALUES (9, 'z')", "UPDATE _strata_b1_t_t SET v = 'z'", 'DELETE FROM _strata_b1_k_t', 'DROP TABLE _strata_b1_t_t', 'ALTER TABLE _strata_b1_t_t ADD COLUMN w INTEGER']) {
        await assert.rejects(db.query(sql), (error: unknown) => error instanceof StrataError && error.code === 'UNDEFINED_TABLE', sql)
      }
      await assert.rejects(db.query('SELECT * FROM _strata_b1_t_t', [], { branch: 'dev' }), (error: unknown) => error instanceof StrataError && error.code === 'UNDEFINED_TABLE')
      assert.deepEqual((await db.query('SELECT id, v FROM t ORDER BY id', [], { branch: 'dev' })).rows, [{ id: 1, v: 'a' }, { id: 2, v: 'x' }, { id: 3, v: 'c' }])
      // DROP BRANCH takes its tables with it, in a commit made on no branch: main's head stays.
      const mainHead = Number((await db.query("SELECT head_tx FROM strata.branches WHERE name = 'main'")).rows[0]!['head_tx'])
      await db.query('DROP BRANCH dev')
      assert.deepEqual((await db.query('SELECT name, head_tx FROM strata.branches')).rows, [{ name: 'main', head_tx: mainHead }])
      assert.deepEqual((await db.query('SELECT kind, branch FROM strata.transactions ORDER BY tx_id DESC LIMIT 1')).rows, [{ kind: 'ddl', branch: null }])
      await db.close()
      const sqlite = new BetterSqlite(join(directory.path, 'strata.sqlite'), { readonly: true })
      try {
        const left = sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '\\_strata\\_b1\\_%' ESCAPE '\\'").all()
        assert.deepEqual(left, [])
      } finally {
        sqlite.close()
      }
    } finally {
      directory.remove()
    }
  })

  test('over the PostgreSQL protocol each connection has its branch: USE BRANCH, SHOW BRANCHES, and the SQLSTATEs of the refusals', async () => {
    const engine = await Engine.open(':memory:', {})
    const server = await startPgServer(engine, { host: '127.0.0.1', port: 0, auth: { kind: 'trust' }, maxConnections: 5, statementTimeoutMs: 60_000 })
    const connect = async (): Promise<pg.Client> => {
      const client = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'strata', database: 'strata' })
      await client.connect()
      return client
    }
    const [first, second] = [await connect(), await connect()]
    try {
      await first.query('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)')
      await first.query("INSERT INTO t VALUES (1, 'a')")
      await first.query('CREATE BRANCH "feature/x"')
      await first.query('USE BRANCH "feature/x"')
      await first.query("UPDATE t SET v = 'x' WHERE id = 1")
      assert.deepEqual((await first.query('SELECT v FROM t WHERE id = $1', [1])).rows, [{ v: 'x' }])
      assert.deepEqual((await second.query('SELECT v FROM t WHERE id = $1', [1])).rows, [{ v: 'a' }], 'the other connection is still on main')
      assert.deepEqual(
        (await second.query('SHOW BRANCHES')).rows.map((row: Record<string, unknown>) => [row['name'], row['parent']]),
        [
          ['main', null],
          ['feature/x', 'main'],
        ],
      )
      const sqlstate = async (client: pg.Client, sql: string): Promise<string | undefined> => {
        try {
          await client.query(sql)
          return undefined
        } catch (error) {
          return (error as { code?: string }).code
        }
      }
      assert.deepEqual([await sqlstate(second, 'USE BRANCH nope'), await sqlstate(second, 'CREATE BRANCH "a..b"'), await sqlstate(second, 'CREATE BRANCH "feature/x"'), await sqlstate(first, 'DROP BRANCH "feature/x"')], ['42704', '42602', '42710', '55006'])
    } finally {
      await first.end()
      await second.end()
      await server.close({ graceMs: 100 })
      await engine.close()
    }
  })

  test('the HTTP API takes a branch per request', async () => {
    const engine = await Engine.open(':memory:', {})
    const http = await startHttpServer(engine, { host: '127.0.0.1', port: 0 })
    const post = async (body: Record<string, unknown>): Promise<{ status: number; json: Record<string, unknown> }> => {
      const response = await fetch(`http://127.0.0.1:${http.port}/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      return { status: response.status, json: (await response.json()) as Record<string, unknown> }
    }
    try {
      await post({ sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a'); CREATE BRANCH dev" })
      assert.equal((await post({ sql: "BEGIN; UPDATE t SET v = 'dev' WHERE id = 1; COMMIT", branch: 'dev' })).status, 200)
      const onDev = await post({ sql: 'SELECT v FROM t WHERE id = 1', branch: 'dev' })
      const onMain = await post({ sql: 'SELECT v FROM t WHERE id = 1' })
      assert.deepEqual([onDev.json['rows'], onMain.json['rows']], [[['dev']], [['a']]])
      const unknown = await post({ sql: 'SELECT v FROM t', branch: 'nope' })
      const invalid = await post({ sql: 'SELECT v FROM t', branch: 'a..b' })
      assert.deepEqual(
        [unknown.status, (unknown.json['error'] as Record<string, unknown>)['code'], invalid.status, (invalid.json['error'] as Record<string, unknown>)['code']],
        [422, 'UNDEFINED_BRANCH', 400, 'INVALID_NAME'],
      )
    } finally {
      await http.close({ graceMs: 100 })
      await engine.close()
    }
  })
})
