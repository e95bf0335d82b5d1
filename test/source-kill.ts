/**
 * What the connector tests share (NATS, MQTT, RabbitMQ, PostgreSQL CDC): waiting for a condition, counting rows, and
 * the SIGKILL loop — numbered messages published all along while a worker process
 * (test/source-kill-worker.ts) reading the source is started and killed again and again; afterwards
 * every message must be in the source exactly once.
 */
import * as assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { open, type Database } from '../src/index.js'
import { temporaryDirectory } from './helpers.js'

/** Event times of the published messages start here. */
export const base = Date.UTC(2026, 0, 5, 14, 30, 0)

/** Polls `check` every 50 ms until it holds; fails naming `what` after `timeoutMs`. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** The single value `n` of a query on the column store. */
export async function count(db: Database, sql: string): Promise<number> {
  return Number((await db.query(sql, [], { engine: 'column' })).rows[0]!['n'])
}

/** Starts the kill worker on `directory` and resolves once it is ready (its source exists and its connector runs). */
export function startSourceWorker(directory: string, statement: string): Promise<{ kill: () => Promise<void> }> {
  const workerPath = path.join(path.dirname(fileURLToPath(import.meta.url)), 'source-kill-worker.js')
  const child = spawn(process.execPath, [workerPath, directory, statement], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'NODE_TEST_CONTEXT')),
  })
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
  let stderr = ''
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (chunk: string) => (stderr += chunk))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker not ready: ${stderr}`)), 20_000)
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (chunk: string) => {
      if (!chunk.includes('"kind":"ready"')) return
      clearTimeout(timer)
      resolve({
        kill: async () => {
          child.kill('SIGKILL')
          await exited
        },
      })
    })
  })
}

/**
 * The kill loop: `publish` gets `{ id, ts }` objects, 20 at a time with `pauseMs` between (slow enough
 * for the broker to keep them while no worker reads); the worker runs `statement` (a CREATE SOURCE IF
 * NOT EXISTS of `ticks (id, ts)` with the connector) and is killed four times. Then every published id
 * is in `ticks` exactly once.
 */
export async function sourceKillLoop(
  t: { after: (fn: () => void) => void; diagnostic: (message: string) => void },
  options: { readonly name: string; readonly statement: string; readonly publish: (event: object) => Promise<void>; readonly pauseMs: number },
): Promise<void> {
  const directory = temporaryDirectory(`${options.name}-kill`)
  t.after(() => directory.remove())
  let published = 0
  let publishing = true
  const publisher = (async () => {
    while (publishing) {
      for (let index = 0; index < 20; index++) {
        await options.publish({ id: published, ts: new Date(base + published * 10).toISOString() })
        published++
      }
      await new Promise((resolve) => setTimeout(resolve, options.pauseMs))
    }
  })()
  try {
    for (let round = 0; round < 4; round++) {
      const worker = await startSourceWorker(directory.path, options.statement)
      await new Promise((resolve) => setTimeout(resolve, 150 + round * 120))
      await worker.kill()
    }
  } finally {
    publishing = false
    await publisher
  }
  const db = await open(directory.path)
  try {
    await waitFor(`all ${published} messages`, async () => (await count(db, 'SELECT count(*) AS n FROM ticks')) >= published)
    // Nothing more arrives later (a repeat would).
    await new Promise((resolve) => setTimeout(resolve, 300))
    assert.equal(await count(db, 'SELECT count(*) AS n FROM ticks'), published)
    assert.equal(await count(db, 'SELECT count(DISTINCT id) AS n FROM ticks'), published)
    assert.equal(await count(db, `SELECT count(*) AS n FROM ticks WHERE id BETWEEN 0 AND ${published - 1}`), published)
    t.diagnostic(`${published} messages, 4 kills`)
  } finally {
    await db.close()
  }
}
