/**
 * Crash safety (issue requirement): "A process killed with SIGKILL in the middle of a write load loses
 * no acknowledged commit, and after reopening the column store equals the row store."
 *
 * The child (test/kill-worker.ts) runs a mixed write load on one durable data directory and reports
 * every write's intent before it starts and its acknowledgement after the promise resolved. The parent
 * kills it with SIGKILL after a random time, several rounds in a row on the same directory, and keeps
 * the set of states the database may legally be in: every acknowledged write applied, plus, for each
 * round, the one write that was started but not acknowledged either applied atomically or not at all.
 * Transaction ids disambiguate quickly (an unacknowledged commit shifts every later id by one), so the
 * set stays tiny. At the end the parent reopens the directory and checks the row store, the ledger
 * (strata.transactions) and the column store against it.
 */
import * as assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { open } from '../src/index.js'
import { seededRandom } from './helpers.js'

const workerPath = fileURLToPath(new URL('./kill-worker.js', import.meta.url))

/** A cold start (WASM parser, SQLite) on a slow machine; the kill timer only starts once the worker is ready. */
const readyTimeoutMs = 20_000
const killAfterMinMs = 300
const killAfterMaxMs = 1_500

type Op =
  | { readonly op: 'create' }
  | { readonly op: 'insert'; readonly id: number; readonly balance: number; readonly note: string | null }
  | { readonly op: 'update'; readonly id: number; readonly delta: number }
  | { readonly op: 'delete'; readonly id: number }

type Line =
  | { readonly kind: 'intent'; readonly seq: number; readonly ops: readonly Op[]; readonly concurrent?: boolean }
  | { readonly kind: 'ack'; readonly seq: number; readonly txId: number | null; readonly rows: readonly Record<string, unknown>[]; readonly part?: number }
  | { readonly kind: 'read'; readonly count: number; readonly sum: number | null; readonly engine: string }
  | { readonly kind: 'ready'; readonly pid: number; readonly liveRows: number; readonly nextId: number }

interface Row {
  readonly balance: number
  readonly note: string | null
}

interface ExpectedCommit {
  readonly kind: 'ddl' | 'data'
  readonly rowsChanged: number
}

/** One state the database may legally be in. */
interface World {
  readonly tableExists: boolean
  readonly rows: ReadonlyMap<number, Row>
  /** commits[i] is transaction i + 1. */
  readonly commits: readonly ExpectedCommit[]
  /** Which unacknowledged writes this world assumes committed (for failure messages). */
  readonly story: string
}

/**
 * Applies one atomic write to a world; undefined if the write could not have succeeded there. `note`
 * (for unacknowledged writes) is added to the world's story.
 */
function applyOps(world: World, ops: readonly Op[], note?: string): World | undefined {
  const story = note === undefined ? world.story : `${world.story}, ${note}`
  if (ops.length === 1 && ops[0]!.op === 'create') {
    if (world.tableExists) return { ...world, story }
    return { tableExists: true, rows: world.rows, commits: [...world.commits, { kind: 'ddl', rowsChanged: 0 }], story }
  }
  if (!world.tableExists) return undefined
  const rows = new Map(world.rows)
  for (const op of ops) {
    switch (op.op) {
      case 'insert':
        if (rows.has(op.id)) return undefined
        rows.set(op.id, { balance: op.balance, note: op.note })
        break
      case 'update': {
        const row = rows.get(op.id)
        if (row === undefined) return undefined
        rows.set(op.id, { balance: row.balance + op.delta, note: row.note })
        break
      }
      case 'delete':
        if (!rows.delete(op.id)) return undefined
        break
      case 'create':
        return undefined
    }
  }
  return { tableExists: true, rows, commits: [...world.commits, { kind: 'data', rowsChanged: ops.length }], story }
}

/** Do the rows the engine returned (RETURNING) for an acknowledged write agree with this world? */
function returnedRowsAgree(before: World, ops: readonly Op[], returned: readonly Record<string, unknown>[]): boolean {
  const dataOps = ops.filter((op) => op.op !== 'create')
  if (returned.length !== dataOps.length) return false
  // Replay step by step to know each row's value right after each statement.
  let current = new Map(before.rows)
  for (let index = 0; index < dataOps.length; index++) {
    const op = dataOps[index]!
    const row = returned[index]!
    if (row['op'] !== op.op || row['id'] !== op.id) return false
    let expected: Row | undefined
    if (op.op === 'delete') {
      expected = current.get(op.id)
      current.delete(op.id)
    } else {
      const single = applyOps({ tableExists: true, rows: current, commits: [], story: '' }, [op])
      if (single === undefined) return false
      current = new Map(single.rows)
      expected = current.get(op.id)
    }
    if (expected === undefined || row['balance'] !== expected.balance || row['note'] !== expected.note) return false
  }
  return true
}

function describeWorld(world: World): string {
  return `acknowledged writes + ${world.story === '' ? 'no unacknowledged write' : `unacknowledged ${world.story.slice(2)}`} → ${world.rows.size} rows, ${world.commits.length} commits`
}

/** Up to five rows where `actual` differs from `world`, for failure messages. */
function differences(world: World, actual: ReadonlyMap<number, Row>): string {
  const ids = [...new Set([...world.rows.keys(), ...actual.keys()])].sort((a, b) => a - b)
  const differing = ids.filter((id) => JSON.stringify(world.rows.get(id)) !== JSON.stringify(actual.get(id)))
  return differing
    .slice(0, 5)
    .map((id) => `id ${id}: expected ${JSON.stringify(world.rows.get(id) ?? 'absent')}, found ${JSON.stringify(actual.get(id) ?? 'absent')}`)
    .join('; ')
}

interface RoundOutput {
  readonly lines: Line[]
  readonly partialTail: string
  readonly killedAfterMs: number
}

/** Spawns the worker, waits for "ready", lets it run `runMs`, SIGKILLs it, and returns its complete lines. */
function runRound(directory: string, seed: number, nextIdFloor: number, runMs: number): Promise<RoundOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [workerPath, directory, String(seed), String(nextIdFloor)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // The worker is a plain program, not a test file of this run.
      env: Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'NODE_TEST_CONTEXT')),
    })
    let stdout = ''
    let stderr = ''
    let killed = false
    let readyAt: number | undefined
    let killTimer: NodeJS.Timeout | undefined
    let ackTimer: NodeJS.Timeout | undefined
    const kill = (): void => {
      killed = true
      child.kill('SIGKILL')
    }
    const readyTimer = setTimeout(() => {
      kill()
      reject(new Error(`worker not ready after ${readyTimeoutMs} ms; stderr:\n${stderr}`))
    }, readyTimeoutMs)
    child.stdout.setEncoding('utf8')
    child.stderr.setEncoding('utf8')
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk
      if (readyAt === undefined && stdout.includes('"kind":"ready"')) {
        readyAt = performance.now()
        clearTimeout(readyTimer)
        ackTimer = setTimeout(() => {
          kill()
          // What it printed since ready says which step it is stuck in (an intent: a write; nothing: a read).
          const since = stdout.slice(stdout.indexOf('"kind":"ready"')).split('\n').slice(1).join('\n')
          reject(new Error(`the worker acknowledged no write within ${readyTimeoutMs} ms of being ready; stdout since ready:\n${since}\nstderr:\n${stderr}`))
        }, readyTimeoutMs)
      }
      // The kill clock starts at the first write acknowledged after ready, so a slow start on a busy
      // machine still leaves the kill landing in the middle of a write load.
      if (readyAt !== undefined && killTimer === undefined && stdout.slice(stdout.indexOf('"kind":"ready"')).includes('"kind":"ack"')) {
        clearTimeout(ackTimer)
        killTimer = setTimeout(kill, runMs)
      }
    })
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk
    })
    child.on('error', (error) => {
      clearTimeout(readyTimer)
      clearTimeout(ackTimer)
      if (killTimer !== undefined) clearTimeout(killTimer)
      reject(error)
    })
    child.on('close', (code, signal) => {
      clearTimeout(readyTimer)
      clearTimeout(ackTimer)
      if (killTimer !== undefined) clearTimeout(killTimer)
      if (!killed || signal !== 'SIGKILL') {
        reject(new Error(`worker ended by itself (code ${code}, signal ${signal}) before it was killed; stderr:\n${stderr}`))
        return
      }
      const cut = stdout.lastIndexOf('\n')
      const complete = stdout.slice(0, cut + 1)
      const lines: Line[] = []
      for (const line of complete.split('\n')) {
        if (line === '') continue
        try {
          lines.push(JSON.parse(line) as Line)
        } catch {
          reject(new Error(`a complete line from the worker is not JSON: ${line}`))
          return
        }
      }
      resolve({ lines, partialTail: stdout.slice(cut + 1), killedAfterMs: readyAt === undefined ? 0 : performance.now() - readyAt })
    })
  })
}

test('SIGKILL during a write load loses no acknowledged commit, and the column store equals the row store after reopening', { timeout: 120_000 }, async (t) => {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-kill-'))
  t.after(() => fs.rmSync(directory, { recursive: true, force: true }))
  const seed = process.env['STRATA_KILL_SEED'] !== undefined ? Number(process.env['STRATA_KILL_SEED']) : Math.floor(Math.random() * 2 ** 31)
  const random = seededRandom(seed)
  const context = `(seed ${seed}; replay with STRATA_KILL_SEED=${seed})`
  const rounds = 5 + Math.floor(random() * 4)

  let worlds: World[] = [{ tableExists: false, rows: new Map(), commits: [], story: '' }]
  let nextIdFloor = 1
  let acknowledgedWrites = 0
  let acknowledgedTransactions = 0
  let analyticalReads = 0
  let roundsKilledMidWrite = 0
  /** Bursts of concurrent autocommit inserts acknowledged whole (they share COMMITs). */
  let concurrentBursts = 0
  const summary: string[] = []

  for (let round = 0; round < rounds; round++) {
    const runMs = killAfterMinMs + Math.floor(random() * (killAfterMaxMs - killAfterMinMs + 1))
    const output = await runRound(directory, seed + round + 1, nextIdFloor, runMs)
    let pending: (Line & { kind: 'intent' }) | undefined
    /** Of a concurrent burst: how many of its inserts were acknowledged (they are, in the order they started). */
    let burstAcked = 0
    let roundAcks = 0
    let lastTxId = 0
    let sawReady = false
    for (const line of output.lines) {
      switch (line.kind) {
        case 'ready':
          sawReady = true
          // The reopened row store holds as many rows as some legal state (the final check compares values).
          worlds = worlds.filter((world) => world.rows.size === line.liveRows)
          assert.ok(worlds.length > 0, `round ${round}: after reopening the worker sees ${line.liveRows} rows, which no legal state has ${context}`)
          assert.ok(line.nextId >= nextIdFloor, `round ${round}: next id ${line.nextId} below the floor ${nextIdFloor}`)
          break
        case 'intent':
          assert.equal(pending, undefined, `round ${round}: intent ${line.seq} while ${pending?.seq} is unacknowledged (the worker is sequential)`)
          pending = line
          burstAcked = 0
          for (const op of line.ops) if (op.op === 'insert') nextIdFloor = Math.max(nextIdFloor, op.id + 1)
          break
        case 'ack': {
          assert.ok(pending !== undefined && pending.seq === line.seq, `round ${round}: ack ${line.seq} without its intent`)
          if (pending.concurrent === true) assert.equal(line.part, burstAcked, `round ${round}: burst ${line.seq}'s inserts are acknowledged in the order they started (their commit order)`)
          // A burst's insert is a transaction of its own.
          const ops = pending.concurrent === true ? [pending.ops[line.part!]!] : pending.ops
          const before = worlds
          worlds = []
          for (const world of before) {
            const after = applyOps(world, ops)
            if (after === undefined) continue
            const committed = after.commits.length > world.commits.length
            if (committed ? line.txId !== after.commits.length : line.txId !== null) continue
            if (!returnedRowsAgree(world, ops, line.rows)) continue
            worlds.push(after)
          }
          assert.ok(
            worlds.length > 0,
            `round ${round}: acknowledged write ${JSON.stringify(line)} for ${JSON.stringify(ops)} fits no legal state; candidates were:\n${before.map(describeWorld).join('\n')} ${context}`,
          )
          if (line.txId !== null) {
            assert.ok(line.txId > lastTxId, `round ${round}: acknowledged tx ids must increase (${line.txId} after ${lastTxId})`)
            lastTxId = line.txId
          }
          if (ops[0]!.op !== 'create') {
            acknowledgedWrites++
            roundAcks++
            if (ops.length > 1) acknowledgedTransactions++
          }
          if (pending.concurrent === true) {
            burstAcked++
            if (burstAcked < pending.ops.length) break
            concurrentBursts++
          }
          pending = undefined
          break
        }
        case 'read': {
          assert.equal(line.engine, 'column', 'the analytical read is answered by the column store')
          const before = worlds
          // Read-your-writes: the column store reflects every acknowledged commit, and nothing that was not committed.
          worlds = worlds.filter((world) => {
            let sum = 0
            for (const row of world.rows.values()) sum += row.balance
            return world.rows.size === line.count && (world.rows.size === 0 ? line.sum === null : line.sum === sum)
          })
          assert.ok(worlds.length > 0, `round ${round}: column-store read ${JSON.stringify(line)} matches no legal state:\n${before.map(describeWorld).join('\n')} ${context}`)
          analyticalReads++
          break
        }
      }
    }
    assert.ok(sawReady, `round ${round}: the worker never got ready`)
    assert.ok(roundAcks > 0, `round ${round}: no write was acknowledged in ${Math.round(output.killedAfterMs)} ms, so the kill did not hit a write load`)
    if (pending !== undefined && pending.concurrent === true) {
      // A burst cut short: its unacknowledged inserts committed in the order they started, so some
      // prefix of them (none, or as far as the last COMMIT reached) is there; each is its own commit.
      roundsKilledMidWrite++
      const unacknowledged = pending.ops.slice(burstAcked)
      const seqOfBurst = pending.seq
      worlds = worlds.flatMap((world) => {
        const candidates = [world]
        let current: World | undefined = world
        for (let index = 0; index < unacknowledged.length && current !== undefined; index++) {
          current = applyOps(current, [unacknowledged[index]!], `round ${round} burst ${seqOfBurst} insert ${burstAcked + index}`)
          if (current !== undefined) candidates.push(current)
        }
        return candidates
      })
    } else if (pending !== undefined) {
      // Started, not acknowledged: it may have committed (durably) or not, but atomically.
      roundsKilledMidWrite++
      const unacknowledged = pending
      worlds = worlds.flatMap((world) => {
        const applied = applyOps(world, unacknowledged.ops, `round ${round} write ${unacknowledged.seq}`)
        return applied === undefined ? [world] : [world, applied]
      })
    }
    summary.push(`round ${round}: ${roundAcks} acks in ${Math.round(output.killedAfterMs)} ms, ${pending === undefined ? 'killed between writes' : `killed during ${pending.ops.length}-op write`}${output.partialTail === '' ? '' : ', half-written line ignored'}; last line: ${output.lines[output.lines.length - 1]?.kind ?? 'none'}`)
  }

  let finalStory = ''
  const db = await open(directory, { durability: 'full' })
  try {
    const rowStore = await db.query('SELECT id, balance, note FROM acct ORDER BY id', [], { engine: 'row' })
    assert.equal(rowStore.engine, 'row')
    assert.ok(rowStore.rowCount > 0, 'the load left rows behind')

    // (a) Every acknowledged commit is there: the reopened state is exactly one legal state.
    const transactions = await db.query('SELECT tx_id, epoch_us(system_time) AS system_us, kind, rows_changed FROM strata.transactions ORDER BY tx_id')
    const committed = transactions.rowCount
    const actualRows = new Map(rowStore.rows.map((row) => [row['id'] as number, { balance: row['balance'] as number, note: row['note'] as string | null }]))
    const matching = worlds.filter((world) => world.commits.length === committed && world.rows.size === actualRows.size && [...world.rows].every(([id, row]) => {
      const actual = actualRows.get(id)
      return actual !== undefined && actual.balance === row.balance && actual.note === row.note
    }))
    assert.equal(
      matching.length,
      1,
      `the reopened database (${actualRows.size} rows, ${committed} commits) must be exactly one legal state; candidates:\n${worlds.map((candidate) => `${describeWorld(candidate)}: ${differences(candidate, actualRows) || 'same rows'}`).join('\n')}\n${summary.join('\n')} ${context}`,
    )
    const world = matching[0]!
    finalStory = world.story

    // (b) The ledger: ids 1..N dense, system time strictly increasing, and each commit is the write the worker made.
    const status = await db.syncStatus()
    assert.equal(status.lastCommittedTx, committed, 'the ledger head equals the number of commits listed')
    let previousUs = -1
    transactions.rows.forEach((row, index) => {
      assert.equal(row['tx_id'], index + 1, 'transaction ids are 1..N without gaps')
      const us = row['system_us'] as number
      assert.ok(us > previousUs, `system time strictly increases at tx ${index + 1} (${us} after ${previousUs})`)
      previousUs = us
      assert.deepEqual({ kind: row['kind'], rowsChanged: row['rows_changed'] }, world.commits[index], `commit ${index + 1} is the write that was made`)
    })

    // A fresh column-store read right after reopening waits for the mirror to catch up (read-your-writes).
    const firstColumnRead = await db.query('SELECT id, balance, note FROM acct ORDER BY id', [], { engine: 'column' })
    assert.deepEqual(firstColumnRead.rows, rowStore.rows, 'a fresh column-store read after reopening equals the row store')

    // (c) After the sync has caught up, the column store equals the row store.
    const deadline = Date.now() + 20_000
    let caughtUp = await db.syncStatus()
    while (caughtUp.lagTx !== 0) {
      assert.ok(Date.now() < deadline, `the column store did not catch up: ${JSON.stringify(caughtUp)}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
      caughtUp = await db.syncStatus()
    }
    assert.equal(caughtUp.lastAppliedTx, committed)
    assert.equal(caughtUp.lagMs, 0)
    const rowAfter = await db.query('SELECT id, balance, note FROM acct ORDER BY id', [], { engine: 'row' })
    const columnAfter = await db.query('SELECT id, balance, note FROM acct ORDER BY id', [], { engine: 'column' })
    assert.equal(columnAfter.engine, 'column')
    assert.ok(rowAfter.rowCount > 0)
    assert.deepEqual(columnAfter.rows, rowAfter.rows, 'column store equals row store')
    assert.deepEqual(columnAfter.columns, rowAfter.columns, 'both stores describe the columns alike')
    const totals = await db.query('SELECT count(*) AS n, sum(balance) AS s FROM acct')
    assert.equal(totals.engine, 'column')
    assert.deepEqual(totals.rows, [{ n: world.rows.size, s: [...world.rows.values()].reduce((sum, row) => sum + row.balance, 0) }])
  } finally {
    await db.close()
  }

  assert.ok(acknowledgedWrites >= rounds, 'every round acknowledged writes')
  assert.ok(acknowledgedTransactions > 0, 'multi-statement transactions were acknowledged')
  assert.ok(concurrentBursts > 0, 'bursts of concurrent autocommit inserts (group commit) were acknowledged')
  t.diagnostic(
    `${rounds} rounds, ${acknowledgedWrites} acknowledged writes (${acknowledgedTransactions} transactions, ${concurrentBursts} concurrent bursts), ${analyticalReads} analytical reads, ${roundsKilledMidWrite} kills during a write, of which ${finalStory.split(',').length - 1} had committed ${context}`,
  )
  for (const line of summary) t.diagnostic(line)
})
