/**
 * MERGE BRANCH (SPEC 10, docs/branches.md "Merge"): a seeded random history of INSERT/UPDATE/DELETE on
 * main and three branches, merged at random between every kind of pair (child into parent, parent
 * into child, siblings, a grandchild into main) with and without `resolve`, checked against a
 * brute-force three-way model over maps of rows — the merge's outcome, its conflicts as
 * strata.conflicts lists them, its one commit — on both stores; then the statement's errors, the
 * PostgreSQL protocol's SQLSTATE, two merges into one target at once, and a merge killed by SIGKILL.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { cpSync } from 'node:fs'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { Engine } from '../src/engine/engine.js'
import { startPgServer } from '../src/interfaces/server/pg/index.js'
import { open, StrataError, type Database } from '../src/index.js'
import { checkBranch, type Row } from './branch-model.js'
import { assertRefused, openTemporary, seededRandom, temporaryDirectory } from './helpers.js'

type Model = Map<number, Row>
type Conflict = { table: string; key: { id: number }; column: string | null; base: unknown; ours: unknown; theirs: unknown }

const workerPath = fileURLToPath(new URL('./merge-kill-worker.js', import.meta.url))

const check = (db: Database, branch: string, model: ReadonlyMap<number, Row>, label: string): Promise<void> => checkBranch(db, branch, model, label, false)

function same(a: Row | undefined, b: Row | undefined): boolean {
  return a === undefined || b === undefined ? a === b : a.v === b.v && a.n === b.n
}

/**
 * The model's three-way merge of `theirs` into `ours` from `base`, by SPEC 10's table: the merged map,
 * the conflicts, and whether the source brings anything (else the merge makes no commit).
 */
function threeWay(base: ReadonlyMap<number, Row>, ours: ReadonlyMap<number, Row>, theirs: ReadonlyMap<number, Row>, resolve: 'ours' | 'theirs' | undefined): { merged: Model; conflicts: Conflict[]; differs: boolean } {
  const merged = new Map(ours)
  const conflicts: Conflict[] = []
  let differs = false
  const keys = [...new Set([...base.keys(), ...ours.keys(), ...theirs.keys()])].sort((a, b) => a - b)
  for (const id of keys) {
    const [b, o, t] = [base.get(id), ours.get(id), theirs.get(id)]
    if (same(o, t) || same(b, t)) continue
    differs = true
    if (same(b, o)) {
      if (t === undefined) merged.delete(id)
      else merged.set(id, t)
      continue
    }
    if (o === undefined || t === undefined) {
      conflicts.push({ table: 't', key: { id }, column: null, base: b ?? null, ours: o ?? null, theirs: t ?? null })
      if (resolve === 'theirs') {
        if (t === undefined) merged.delete(id)
        else merged.set(id, t)
      }
      continue
    }
    const result: { id: number; v: string; n: number } = { ...o }
    for (const column of ['v', 'n'] as const) {
      if (o[column] === t[column] || (b !== undefined && b[column] === t[column])) continue
      if (b !== undefined && b[column] === o[column]) {
        ;(result as Record<string, unknown>)[column] = t[column]
        continue
      }
      conflicts.push({ table: 't', key: { id }, column, base: b === undefined ? null : b[column], ours: o[column], theirs: t[column] })
      if (resolve === 'theirs') (result as Record<string, unknown>)[column] = t[column]
    }
    merged.set(id, result)
  }
  return { merged, conflicts, differs }
}

/** What each branch is in the model: its parent, fork point, and its states after each of its commits. */
interface Line {
  readonly parent: string | undefined
  readonly forkTx: number
  readonly states: { readonly tx: number; readonly rows: Model }[]
}

/** A line's state at transaction `bound` (its parent's before its fork point), as SPEC 10 defines it. */
function stateAt(lines: ReadonlyMap<string, Line>, name: string, bound: number): Model {
  const line = lines.get(name)!
  if (line.parent !== undefined && bound < line.forkTx) return stateAt(lines, line.parent, bound)
  const states = line.states.filter((state) => state.tx <= bound)
  return states.length === 0 ? new Map() : states[states.length - 1]!.rows
}

/**
 * The merge base by docs/branches.md: the latest state both lines descend from, a state descending
 * from its line's earlier ones, its parent's at the fork point, and each merged-in source's state.
 */
function mergeBase(lines: ReadonlyMap<string, Line>, merges: readonly { readonly source: string; readonly target: string; readonly sourceHead: number; readonly tx: number }[], source: string, target: string): Model {
  const reach = (name: string, point: number, into: Map<string, number>): void => {
    if ((into.get(name) ?? -1) >= point) return
    into.set(name, point)
    const line = lines.get(name)!
    if (line.parent !== undefined) reach(line.parent, Math.min(point, line.forkTx), into)
    for (const merge of merges) if (merge.target === name && merge.tx <= point) reach(merge.source, merge.sourceHead, into)
  }
  const [ofSource, ofTarget] = [new Map<string, number>(), new Map<string, number>()]
  reach(source, Number.MAX_SAFE_INTEGER, ofSource)
  reach(target, Number.MAX_SAFE_INTEGER, ofTarget)
  let best: { name: string; bound: number } | undefined
  for (const [name, point] of ofTarget) {
    const other = ofSource.get(name)
    if (other !== undefined && (best === undefined || Math.min(point, other) > best.bound)) best = { name, bound: Math.min(point, other) }
  }
  return stateAt(lines, best!.name, best!.bound)
}

async function committed(db: Database): Promise<number> {
  return Number((await db.query('SELECT max(tx_id) AS tx FROM strata.transactions')).rows[0]!['tx'])
}

function conflictsOf(rows: readonly Record<string, unknown>[]): unknown[] {
  return rows.map((row) => ({ table: row['table'], key: row['key'], column: row['column'], base: row['base'], ours: row['ours'], theirs: row['theirs'] }))
}

describe('branches: merge', () => {
  test('a seeded random history merged at random between every kind of pair equals a brute-force three-way model, on both stores', { timeout: 300_000 }, async (t) => {
    const db = await openTemporary(t, 'branches-merge-model')
    const random = seededRandom(29)
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!
    await db.query('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL, n INTEGER NOT NULL)')
    const lines = new Map<string, Line>([['main', { parent: undefined, forkTx: 0, states: [] }]])
    const current = (name: string): Model => {
      const states = lines.get(name)!.states
      return states.length === 0 ? new Map() : new Map(states[states.length - 1]!.rows)
    }
    const record = async (name: string, rows: Model): Promise<void> => {
      lines.get(name)!.states.push({ tx: await committed(db), rows: new Map(rows) })
    }
    const seed: Model = new Map()
    for (let id = 1; id <= 24; id++) {
      const row = { id, v: `m${id}`, n: id % 5 }
      await db.query('INSERT INTO t VALUES ($1, $2, $3)', [row.id, row.v, row.n])
      seed.set(id, row)
    }
    await record('main', seed)
    const merges: { source: string; target: string; sourceHead: number; tx: number }[] = []
    const plan: [string, string][] = [
      ['a', 'main'],
      ['b', 'main'],
      ['c', 'a'],
    ]
    let merged = 0
    let conflicted = 0
    for (let round = 0; round < 6; round++) {
      if (round < plan.length) {
        const [name, parent] = plan[round]!
        await db.query(`CREATE BRANCH ${name} FROM ${parent}`)
        const forkTx = Number((await db.query('SELECT fork_tx FROM strata.branches WHERE name = $1', [name])).rows[0]!['fork_tx'])
        lines.set(name, { parent, forkTx, states: [{ tx: forkTx, rows: current(parent) }] })
      }
      for (let step = 0; step < 18; step++) {
        const branch = pick([...lines.keys()])
        const model = current(branch)
        const label = `round ${round} step ${step} (${branch})`
        const choice = random()
        // Few keys and few values, so both sides often touch the same cells.
        const id = 1 + Math.floor(random() * 30)
        if (choice < 0.3) {
          const row = { id, v: pick(['p', 'q', 'r']), n: Math.floor(random() * 3) }
          const result = await db.query('INSERT INTO t VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [row.id, row.v, row.n], { branch }).catch((error: unknown) => error)
          if (result instanceof StrataError && result.code === 'NOT_SUPPORTED') {
            // ON CONFLICT is not built on a branch yet: a plain INSERT where the key is free.
            if (!model.has(id)) {
              await db.query('INSERT INTO t VALUES ($1, $2, $3)', [row.id, row.v, row.n], { branch })
              model.set(id, row)
            }
          } else if (result instanceof Error) throw result
          else if (!model.has(id)) model.set(id, row)
        } else if (choice < 0.55) {
          const v = pick(['p', 'q', 'r', 's'])
          await db.query('UPDATE t SET v = $1 WHERE id = $2', [v, id], { branch })
          const old = model.get(id)
          if (old !== undefined) model.set(id, { ...old, v })
        } else if (choice < 0.75) {
          await db.query('UPDATE t SET n = n + 1 WHERE id BETWEEN $1 AND $2', [id, id + 2], { branch })
          for (const [key, row] of model) if (key >= id && key <= id + 2) model.set(key, { ...row, n: row.n + 1 })
        } else {
          await db.query('DELETE FROM t WHERE id = $1', [id], { branch })
          model.delete(id)
        }
        await record(branch, model)
        await check(db, branch, model, label)

        // Now and then a merge, between any two lines, with and without a side to resolve by.
        if (random() < 0.3) {
          const names = [...lines.keys()]
          const source = pick(names)
          const target = pick(names.filter((name) => name !== source))
          const resolve = pick([undefined, undefined, 'ours', 'theirs'] as const)
          const base = mergeBase(lines, merges, source, target)
          const expected = threeWay(base, current(target), current(source), resolve)
          const mergeLabel = `${label}: MERGE BRANCH ${source} INTO ${target}${resolve === undefined ? '' : ` (${resolve})`}`
          const before = await committed(db)
          const sql = `MERGE BRANCH ${source} INTO ${target}${resolve === undefined ? '' : ` WITH (resolve = '${resolve}')`}`
          if (expected.conflicts.length > 0 && resolve === undefined) {
            await assert.rejects(db.query(sql), (error: unknown) => error instanceof StrataError && error.code === 'MERGE_CONFLICT' && /"t"/.test(error.message), mergeLabel)
            assert.deepEqual(conflictsOf((await db.query('SELECT * FROM strata.conflicts')).rows), expected.conflicts, `${mergeLabel}: strata.conflicts`)
            assert.equal(await committed(db), before, `${mergeLabel}: a failed merge commits nothing`)
            await check(db, target, current(target), `${mergeLabel}: unchanged`)
            conflicted++
            continue
          }
          const result = (await db.query(sql)).rows[0]!
          const sourceHead = Number((await db.query('SELECT head_tx FROM strata.branches WHERE name = $1', [source])).rows[0]!['head_tx'])
          if (!expected.differs) {
            assert.equal(result['tx_id'], null, `${mergeLabel}: nothing to merge, no commit`)
            assert.equal(await committed(db), before, mergeLabel)
          } else {
            // One commit, on the target.
            const commits = (await db.query('SELECT tx_id, branch FROM strata.transactions WHERE tx_id > $1', [before])).rows
            assert.deepEqual(commits.map((commit) => [Number(commit['tx_id']), commit['branch']]), [[Number(result['tx_id']), target]], `${mergeLabel}: one commit`)
            let changed = 0
            const old = current(target)
            for (const key of new Set([...old.keys(), ...expected.merged.keys()])) if (!same(old.get(key), expected.merged.get(key))) changed++
            assert.equal(Number(result['rows_changed']), changed, `${mergeLabel}: rows changed`)
            assert.equal(Number(result['conflicts_resolved']), expected.conflicts.length, `${mergeLabel}: conflicts resolved`)
            merges.push({ source, target, sourceHead, tx: Number(result['tx_id']) })
            await record(target, expected.merged)
            merged++
          }
          assert.deepEqual((await db.query('SELECT * FROM strata.conflicts')).rows, [], `${mergeLabel}: a merge that succeeds clears strata.conflicts`)
          await check(db, target, current(target), mergeLabel)
          // The source is not changed by a merge.
          await check(db, source, current(source), `${mergeLabel}: source`)
        }
      }
      for (const name of lines.keys()) await check(db, name, current(name), `end of round ${round}`)
    }
    assert.ok(merged >= 5 && conflicted >= 2, `merges: ${merged} clean or resolved, ${conflicted} refused for conflicts`)
  })

  test('a worked example: a change and a delete merge in, a conflict is listed and resolved, a grandchild merges into main', async (t) => {
    const db = await openTemporary(t, 'branches-merge-example')
    await db.query('CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT, balance DECIMAL(12,2))')
    await db.query("INSERT INTO accounts VALUES (1, 'ada', 10.00), (2, 'bob', 20.00), (3, 'cy', 30.00)")
    await db.query('CREATE BRANCH dev')
    const dev = db.branch('dev')
    await dev.query("UPDATE accounts SET owner = 'ada l.' WHERE id = 1")
    await dev.query('DELETE FROM accounts WHERE id = 3')
    await dev.query('UPDATE accounts SET balance = 25.50 WHERE id = 2')
    await db.query('UPDATE accounts SET balance = 11.00 WHERE id = 1')
    await db.query('UPDATE accounts SET balance = 21.00 WHERE id = 2')
    await assert.rejects(db.query('MERGE BRANCH dev'), (error: unknown) => error instanceof StrataError && error.code === 'MERGE_CONFLICT' && /1 conflict in "accounts"/.test(error.message))
    assert.deepEqual((await db.query('SELECT * FROM strata.conflicts')).rows, [{ table: 'accounts', key: { id: 2 }, column: 'balance', base: 20, ours: 21, theirs: 25.5 }])
    // A conflict listed survives other statements, and is read with other tables' rows on main.
    assert.equal((await db.query('SELECT count(*) AS c FROM strata.conflicts AS c JOIN accounts AS a ON a.id = CAST(c.key->>\'id\' AS INTEGER)')).rows[0]!['c'], 1)
    const merged = (await db.query("MERGE BRANCH dev INTO main WITH (resolve = 'ours')")).rows[0]!
    assert.deepEqual([merged['rows_changed'], merged['conflicts_resolved']], [2, 1])
    assert.deepEqual((await db.query('SELECT id, owner, CAST(balance AS VARCHAR) AS balance FROM accounts ORDER BY id')).rows, [
      { id: 1, owner: 'ada l.', balance: '11.00' },
      { id: 2, owner: 'bob', balance: '21.00' },
    ])
    // History: the merge is one version per key it changed, at its commit.
    const versions = (await db.query('SELECT id, count(*) AS c FROM accounts FOR SYSTEM_TIME ALL GROUP BY id ORDER BY id')).rows
    assert.deepEqual(versions.map((row) => [row['id'], Number(row['c'])]), [[1, 3], [2, 2], [3, 1]])
    assert.deepEqual((await db.query('SELECT * FROM strata.conflicts')).rows, [])
    // Merging again brings nothing: the last merge is the base now (its 'ours' stays).
    assert.equal((await db.query('MERGE BRANCH dev')).rows[0]!['tx_id'], null)
    // A grandchild's change reaches main through one merge; main's changes reach a branch the same way.
    await db.query('CREATE BRANCH deeper FROM dev')
    await db.branch('deeper').query("INSERT INTO accounts VALUES (4, 'dee', 4.00)")
    await db.query('MERGE BRANCH deeper INTO main')
    await db.query("UPDATE accounts SET owner = 'bobby' WHERE id = 2")
    await db.query('DELETE FROM accounts WHERE id = 1')
    await db.query('MERGE BRANCH main INTO dev')
    assert.deepEqual((await dev.query('SELECT id, owner FROM accounts ORDER BY id')).rows, [
      { id: 2, owner: 'bobby' },
      { id: 4, owner: 'dee' },
    ])
  })

  test('a table main created and a column main added after the fork merge into the branch', async (t) => {
    const db = await openTemporary(t, 'branches-merge-schema')
    await db.query('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)')
    await db.query("INSERT INTO t VALUES (1, 'a'), (2, 'b')")
    await db.query('CREATE BRANCH dev')
    const dev = db.branch('dev')
    await db.query('CREATE TABLE later (id INTEGER PRIMARY KEY, w TEXT)')
    await db.query("INSERT INTO later VALUES (1, 'new')")
    await db.query('ALTER TABLE t ADD COLUMN extra INTEGER DEFAULT 5')
    // Before the merge the branch has main's state at the fork: no rows in the new table, no values in the new column.
    assert.deepEqual((await dev.query('SELECT * FROM later')).rows, [])
    assert.deepEqual((await dev.query('SELECT id, extra FROM t ORDER BY id')).rows, [{ id: 1, extra: null }, { id: 2, extra: null }])
    assert.equal((await db.query('MERGE BRANCH main INTO dev')).rows[0]!['rows_changed'], 3)
    for (const engine of ['row', 'column'] as const) {
      assert.deepEqual((await dev.query('SELECT * FROM later', [], { engine })).rows, [{ id: 1, w: 'new' }], engine)
      assert.deepEqual((await dev.query('SELECT id, v, extra FROM t ORDER BY id', [], { engine })).rows, [{ id: 1, v: 'a', extra: 5 }, { id: 2, v: 'b', extra: 5 }], engine)
    }
    // And back: the branch's change reaches main with the column main added.
    await dev.query("UPDATE t SET v = 'dev' WHERE id = 1")
    assert.equal((await db.query('MERGE BRANCH dev INTO main')).rows[0]!['rows_changed'], 1)
    assert.deepEqual((await db.query('SELECT id, v, extra FROM t ORDER BY id')).rows, [{ id: 1, v: 'dev', extra: 5 }, { id: 2, v: 'b', extra: 5 }])
  })

  test('errors: the grammar, names, unknown branches, a branch into itself, inside a transaction', async (t) => {
    const db = await openTemporary(t, 'branches-merge-errors')
    await db.query('CREATE TABLE t (id INTEGER PRIMARY KEY)')
    await db.query('CREATE BRANCH b')
    await assertRefused((sql) => db.query(sql), [
      ['MERGE BRANCH', 'SYNTAX_ERROR', /expected a branch name but found the end/],
      ["MERGE BRANCH b WITH (resolve = 'mine')", 'SYNTAX_ERROR', /expected 'ours' or 'theirs' but found "'mine'"/],
      ["MERGE BRANCH b WITH (strategy = 'ours')", 'SYNTAX_ERROR', /expected resolve but found "strategy"/],
      ['MERGE BRANCH b INTO', 'SYNTAX_ERROR', /expected a branch name/],
      ['MERGE BRANCH "bad..name"', 'INVALID_NAME', /bad\.\.name/],
      ['MERGE BRANCH nope', 'UNDEFINED_BRANCH', /branch "nope" does not exist/],
      ['MERGE BRANCH b INTO nope', 'UNDEFINED_BRANCH', /branch "nope" does not exist/],
      ['MERGE BRANCH main', 'INVALID_ARGUMENT', /cannot be merged into itself/],
    ])
    await assert.rejects(
      db.transaction(async (tx) => tx.query('MERGE BRANCH b')),
      (error: unknown) => error instanceof StrataError && error.code === 'TX_STATE',
    )
    // A table a branch cannot write (no primary key) stops a merge into a branch when main changed it.
    await db.query('CREATE TABLE loose (v INTEGER)')
    await db.query('CREATE BRANCH c')
    await db.query('INSERT INTO loose VALUES (1)')
    await assert.rejects(db.query('MERGE BRANCH main INTO c'), (error: unknown) => error instanceof StrataError && error.code === 'NOT_SUPPORTED' && /"loose"/.test(error.message))
  })

  test('over the PostgreSQL protocol a conflict is SQLSTATE 55000 and strata.conflicts lists it; two merges into one target at once both land', async () => {
    const engine = await Engine.open(':memory:', {})
    const server = await startPgServer(engine, { host: '127.0.0.1', port: 0, auth: { kind: 'trust' }, maxConnections: 5, statementTimeoutMs: 60_000 })
    const connect = async (): Promise<pg.Client> => {
      const client = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'strata', database: 'strata' })
      await client.connect()
      return client
    }
    const client = await connect()
    const other = await connect()
    try {
      await client.query('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)')
      await client.query("INSERT INTO t VALUES (1, 'a'), (2, 'b')")
      await client.query('CREATE BRANCH x')
      await client.query('CREATE BRANCH y')
      await client.query('USE BRANCH x')
      await client.query("UPDATE t SET v = 'x' WHERE id = 1")
      await client.query('USE BRANCH main')
      await client.query("UPDATE t SET v = 'm' WHERE id = 1")
      await assert.rejects(client.query('MERGE BRANCH x'), (error: { code?: string }) => error.code === '55000')
      assert.deepEqual((await other.query('SELECT "column", ours, theirs FROM strata.conflicts')).rows, [{ column: 'v', ours: 'm', theirs: 'x' }])
      // Two connections merge two branches into main at once: the merges serialize, and both land.
      await other.query('USE BRANCH x')
      await other.query("UPDATE t SET v = 'm' WHERE id = 1")
      await other.query("INSERT INTO t VALUES (3, 'from x')")
      await other.query('USE BRANCH y')
      await other.query("INSERT INTO t VALUES (4, 'from y')")
      await other.query('USE BRANCH main')
      const [one, two] = await Promise.all([client.query('MERGE BRANCH x INTO main'), other.query('MERGE BRANCH y INTO main')])
      assert.notEqual(one.rows[0].tx_id, null)
      assert.notEqual(two.rows[0].tx_id, null)
      assert.notEqual(one.rows[0].tx_id, two.rows[0].tx_id)
      assert.deepEqual((await client.query('SELECT id, v FROM t ORDER BY id')).rows, [
        { id: 1, v: 'm' },
        { id: 2, v: 'b' },
        { id: 3, v: 'from x' },
        { id: 4, v: 'from y' },
      ])
    } finally {
      await client.end()
      await other.end()
      await server.close({ graceMs: 100 })
      await engine.close()
    }
  })

  test('a merge killed by SIGKILL leaves the target as it was or fully merged', { timeout: 180_000 }, async (t) => {
    const prepared = temporaryDirectory('branches-merge-kill')
    t.after(() => prepared.remove())
    const rows = 20_000
    {
      const db = await open(prepared.path)
      await db.query('CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)')
      await db.query(`INSERT INTO t SELECT i, 0 FROM range(${rows}) AS r(i)`)
      await db.query('CREATE BRANCH big')
      await db.branch('big').query('UPDATE t SET v = 1 WHERE id < $1', [rows / 2])
      await db.close()
    }
    const outcomes = new Set<string>()
    for (const delayMs of [0, 150, 300, 600, 1_200, 5_000]) {
      const copy = temporaryDirectory('branches-merge-kill-copy')
      try {
        cpSync(prepared.path, copy.path, { recursive: true })
        const child = spawn(process.execPath, [workerPath, copy.path], { stdio: ['ignore', 'pipe', 'inherit'] })
        const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
        await new Promise<void>((resolve, reject) => {
          child.stdout.on('data', (chunk: Buffer) => {
            if (chunk.toString().includes('merging')) resolve()
          })
          child.on('exit', () => reject(new Error('the worker exited before merging')))
        })
        await new Promise((resolve) => setTimeout(resolve, delayMs))
        child.kill('SIGKILL')
        await exited
        const db = await open(copy.path)
        try {
          for (const engine of ['row', 'column'] as const) {
            const sum = Number((await db.query('SELECT sum(v) AS s, count(*) AS c FROM t', [], { engine })).rows[0]!['s'])
            assert.ok(sum === 0 || sum === rows / 2, `after a kill at ${delayMs} ms, ${engine} store: the sum is ${sum}, neither before (0) nor merged (${rows / 2})`)
            outcomes.add(sum === 0 ? 'before' : 'merged')
          }
          const merges = Number((await db.query("SELECT count(*) AS c FROM strata.transactions WHERE branch = 'main' AND rows_changed = $1", [rows / 2])).rows[0]!['c'])
          assert.ok(merges <= 1)
        } finally {
          await db.close()
        }
      } finally {
        copy.remove()
      }
    }
    // The delays reach both sides of the commit (the last one lets the merge finish).
    assert.ok(outcomes.has('merged'), `outcomes: ${[...outcomes].join(', ')}`)
  })
})
