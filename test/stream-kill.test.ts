/**
 * Exactly once under SIGKILL (SPEC 8): a worker pushes numbered batches into a source that a windowed
 * stream reads and is killed at random moments, several times; each restart continues where the
 * database stood. Afterwards every acknowledged batch is in the source, no event is there twice, and
 * the stream's table equals DuckDB's batch evaluation over the accepted events: no window was lost
 * or emitted twice across the kills.
 */
import * as assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { test } from 'node:test'
import { open } from '../src/index.js'
import { seededRandom, sortedRows } from './helpers.js'
import { batchEvents, streamKillPeaksOracle, streamKillSessionsOracle, streamKillViews } from './stream-kill-events.js'

const workerPath = path.join(path.dirname(fileURLToPath(import.meta.url)), 'stream-kill-worker.js')

interface Round {
  readonly lines: readonly { readonly kind: string; readonly batch?: number; readonly next?: number; readonly accepted?: number }[]
  readonly killed: boolean
  readonly stderr: string
}

/** Runs the worker until `runMs` after its first acknowledged batch, then SIGKILL. */
function runRound(directory: string, seed: number, runMs: number): Promise<Round> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [workerPath, directory, String(seed)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'NODE_TEST_CONTEXT')),
    })
    let stdout = ''
    let stderr = ''
    let killed = false
    let killTimer: NodeJS.Timeout | undefined
    const giveUp = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`the worker acknowledged nothing within 30 s; stderr:\n${stderr}`))
    }, 30_000)
    child.stdout.setEncoding('utf8')
    child.stderr.setEncoding('utf8')
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk
      if (killTimer === undefined && stdout.includes('"kind":"ack"')) {
        clearTimeout(giveUp)
        killTimer = setTimeout(() => {
          killed = true
          child.kill('SIGKILL')
        }, runMs)
      }
    })
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk
    })
    child.on('exit', () => {
      clearTimeout(giveUp)
      clearTimeout(killTimer)
      const lines = stdout
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as Round['lines'][number])
      resolve({ lines, killed, stderr })
    })
  })
}

test('SIGKILL while batches flow through a windowed stream: nothing acknowledged is lost, nothing is emitted twice', { timeout: 120_000 }, async (t) => {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-stream-kill-'))
  t.after(() => fs.rmSync(directory, { recursive: true, force: true }))
  const seed = process.env['STRATA_KILL_SEED'] !== undefined ? Number(process.env['STRATA_KILL_SEED']) : Math.floor(Math.random() * 2 ** 31)
  const context = `(seed ${seed}; replay with STRATA_KILL_SEED=${seed})`
  const random = seededRandom(seed)
  let acknowledged = -1
  for (let round = 0; round < 4; round++) {
    const result = await runRound(directory, seed, 200 + Math.floor(random() * 600))
    assert.ok(result.killed, `round ${round}: the worker was killed, not stopped (${result.stderr}) ${context}`)
    const ready = result.lines.find((line) => line.kind === 'ready')
    assert.ok(ready !== undefined, `round ${round}: ready ${context}`)
    // The restart continues after the last acknowledged batch, or after the one in flight if it committed.
    assert.ok(ready.next === acknowledged + 1 || ready.next === acknowledged + 2, `round ${round}: continues at ${ready.next} after ${acknowledged} acknowledged ${context}`)
    for (const line of result.lines) if (line.kind === 'ack') acknowledged = line.batch!
  }
  assert.ok(acknowledged > 10, `batches were acknowledged (${acknowledged + 1}) ${context}`)
  const db = await open(directory)
  try {
    const last = Number((await db.query('SELECT n FROM progress ORDER BY n DESC LIMIT 1', [], { engine: 'row' })).rows[0]!['n'])
    assert.ok(last === acknowledged || last === acknowledged + 1, `the last committed batch ${last} is the last acknowledged or the one after ${context}`)
    // Every batch up to the last committed one, each event at most once.
    const stored = (await db.query('SELECT id, count(*) AS copies FROM ticks GROUP BY id HAVING count(*) > 1', [], { engine: 'column' })).rows
    assert.deepEqual(stored, [], `no event stored twice ${context}`)
    const ids = new Set((await db.query('SELECT id FROM ticks', [], { engine: 'row' })).rows.map((row) => Number(row['id'])))
    let pushed = 0
    for (let batch = 0; batch <= last; batch++) for (const event of batchEvents(seed, batch)) if (ids.has(event.id)) pushed++
    assert.equal(pushed, ids.size, `only events of committed batches are stored ${context}`)
    await db.flush('ticks')
    const oracle =
      "SELECT k, time_bucket(INTERVAL '5 seconds', ts, TIMESTAMP '1970-01-01') AS window_start, time_bucket(INTERVAL '5 seconds', ts, TIMESTAMP '1970-01-01') + INTERVAL '5 seconds' AS window_end, count(*) AS n, sum(v) AS total FROM ticks GROUP BY ALL"
    const expected = sortedRows((await db.query(oracle, [], { engine: 'column' })).rows)
    assert.ok(expected.length > 5, `windows to compare (${expected.length}) ${context}`)
    assert.deepEqual(sortedRows((await db.query('SELECT * FROM tick_sums', [], { engine: 'row' })).rows), expected, `the stream's windows, once each ${context}`)
    const sessions = sortedRows((await db.query(streamKillSessionsOracle, [], { engine: 'column' })).rows)
    assert.ok(sessions.length > 5, `sessions to compare (${sessions.length}) ${context}`)
    assert.deepEqual(sortedRows((await db.query('SELECT * FROM tick_sessions', [], { engine: 'row' })).rows), sessions, `the session stream's sessions, once each ${context}`)
    const peaks = sortedRows((await db.query(streamKillPeaksOracle, [], { engine: 'column' })).rows)
    assert.ok(peaks.length > 5, `peaks to compare (${peaks.length}) ${context}`)
    assert.deepEqual(sortedRows((await db.query('SELECT * FROM tick_peaks', [], { engine: 'row' })).rows), peaks, `the stream with subqueries in FROM ${context}`)
    // The materialized views committed with every batch: each equals its query over what committed.
    for (const [name, query] of streamKillViews) {
      assert.deepEqual(sortedRows((await db.query(`SELECT * FROM ${name}`, [], { engine: 'row' })).rows), sortedRows((await db.query(query, [], { engine: 'column' })).rows), `the view ${name} ${context}`)
    }
    t.diagnostic(`${last + 1} batches committed (${acknowledged + 1} acknowledged), ${ids.size} events kept, ${expected.length} windows, 4 kills ${context}`)
  } finally {
    await db.close()
  }
})
