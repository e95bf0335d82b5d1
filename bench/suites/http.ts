/**
 * HTTP query throughput (issue 4): a point read by key and a GROUP BY aggregate on a 100K-row table,
 * `clientCount` concurrent clients, through the HTTP API of the real `strata serve` binary (a child
 * process, keep-alive connections, JSON responses) against the same queries with the same concurrency
 * through the library in this process. The ratio is what the HTTP hop costs. Measured twice over
 * HTTP: with results persisted (the default: each result is written, in the background, to the column
 * store's shared result tables) and with `"persist": false`.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { Agent, request } from 'node:http'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { open } from '../../src/index.js'
import type { Measurement } from '../report.js'
import { nowMs, perSecond, scaledCount, SeededRandom, waitForSync, withTemporaryDirectory, type Suite, type SuiteContext } from '../support.js'

const clientCount = 8
const pointSql = 'SELECT * FROM t WHERE id = $1'
const aggregateSql = 'SELECT category, count(*) AS n, avg(amount) AS mean FROM t GROUP BY category ORDER BY category'

/** dist/bench/suites/http.js → dist/src/interfaces/cli/main.js */
const binaryPath = fileURLToPath(new URL('../../src/interfaces/cli/main.js', import.meta.url))

/** Runs `count` calls of `call` from `clientCount` concurrent loops; returns calls per second. */
async function throughput(count: number, call: (index: number) => Promise<void>): Promise<number> {
  let next = 0
  const startMs = nowMs()
  await Promise.all(
    Array.from({ length: clientCount }, async () => {
      for (let index = next++; index < count; index = next++) await call(index)
    }),
  )
  return perSecond(count, nowMs() - startMs)
}

async function startServe(directory: string): Promise<{ child: ChildProcessWithoutNullStreams; base: string }> {
  const child = spawn(process.execPath, [binaryPath, 'serve', '--db', directory, '--port', '0', '--no-pg'], { env: { ...process.env, STRATA_TOKEN: '' } })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const deadline = nowMs() + 60_000
  for (;;) {
    const match = /HTTP\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)
    if (match !== null) return { child, base: match[1]! }
    if (child.exitCode !== null || nowMs() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`strata serve did not start:\n${stdout}\n${stderr}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Keep-alive connections, one per client: node:http's client costs a fraction of fetch's per request. */
const agent = new Agent({ keepAlive: true, maxSockets: clientCount })

function httpQuery(base: string, body: Record<string, unknown>): Promise<{ rows: unknown[][]; warning?: string }> {
  const payload = JSON.stringify(body)
  return new Promise((resolve, reject) => {
    const outgoing = request(`${base}/query`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (response) => {
      let text = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => (text += chunk))
      response.on('end', () => {
        if (response.statusCode !== 200) reject(new Error(`HTTP ${response.statusCode}: ${text}`))
        else resolve(JSON.parse(text) as { rows: unknown[][]; warning?: string })
      })
      response.on('error', reject)
    })
    outgoing.on('error', reject)
    outgoing.end(payload)
  })
}

export const httpSuite: Suite = {
  name: 'http',
  description: `HTTP API query throughput (${clientCount} clients) vs the library, point read and aggregate`,
  async run(context: SuiteContext): Promise<Measurement[]> {
    const rowCount = scaledCount(context, 100_000, 1_000)
    const pointCount = scaledCount(context, 20_000, 500)
    const aggregateCount = scaledCount(context, 1_000, 50)
    const random = new SeededRandom(context.seed)
    const keys = Array.from({ length: pointCount }, () => random.integer(1, rowCount))
    return withTemporaryDirectory('http', async (directory) => {
      const dataDirectory = path.join(directory, 'strata')
      context.log(`${rowCount} rows; ${pointCount} point reads and ${aggregateCount} aggregates from ${clientCount} concurrent clients`)
      {
        const db = await open(dataDirectory)
        try {
          await db.query('CREATE TABLE t (id INTEGER PRIMARY KEY, category VARCHAR NOT NULL, amount DOUBLE NOT NULL)')
          const rows = Array.from({ length: rowCount }, (_, index) => ({ id: index + 1, category: `c${index % 16}`, amount: (index % 1000) / 10 }))
          await db.insert('t', rows)
          await waitForSync(db)
        } finally {
          await db.close()
        }
      }

      context.log('HTTP: through `strata serve` in a child process, results persisted, then not')
      const server = await startServe(dataDirectory)
      const measured: Record<string, { point: number; aggregate: number }> = {}
      // Point-read results the server did not persist because its persist queue was full.
      let persistQueueOverflows = 0
      try {
        for (const persist of [true, false]) {
          for (let index = 0; index < 500; index++) await httpQuery(server.base, { sql: pointSql, params: [keys[index % keys.length]], persist })
          for (let index = 0; index < 20; index++) await httpQuery(server.base, { sql: aggregateSql, persist })
          let misses = 0
          let unpersisted = 0
          const point = await throughput(pointCount, async (index) => {
            const { rows, warning } = await httpQuery(server.base, { sql: pointSql, params: [keys[index]], persist })
            if (rows[0]?.[0] !== keys[index]) misses += 1
            if (persist && warning !== undefined) unpersisted += 1
          })
          const aggregate = await throughput(aggregateCount, async () => {
            const { rows } = await httpQuery(server.base, { sql: aggregateSql, persist })
            if (rows.length !== 16) misses += 1
          })
          if (misses > 0) throw new Error(`HTTP: ${misses} wrong answers`)
          measured[persist ? 'persisted' : 'unpersisted'] = { point, aggregate }
          if (persist) persistQueueOverflows = unpersisted
        }
      } finally {
        server.child.kill('SIGTERM')
        await new Promise((resolve) => server.child.once('exit', resolve))
      }
      agent.destroy()
      // The library second, on the same directory opened afresh, as the server opened it.
      context.log('library: the same queries in this process')
      let library: { point: number; aggregate: number }
      {
        const db = await open(dataDirectory)
        try {
          await waitForSync(db)
          for (let index = 0; index < 500; index++) await db.query(pointSql, [keys[index % keys.length]])
          for (let index = 0; index < 20; index++) await db.query(aggregateSql)
          let misses = 0
          const point = await throughput(pointCount, async (index) => {
            const { rows: found } = await db.query(pointSql, [keys[index]])
            if (found[0]?.['id'] !== keys[index]) misses += 1
          })
          const aggregate = await throughput(aggregateCount, async () => {
            const { rows: groups } = await db.query(aggregateSql)
            if (groups.length !== 16) misses += 1
          })
          if (misses > 0) throw new Error(`library: ${misses} wrong answers`)
          library = { point, aggregate }
        } finally {
          await db.close()
        }
      }
      const details = { rowCount, pointCount, aggregateCount, clientCount, persistQueueOverflows }
      const measurement = (metric: string, strata: number, baseline: number): Measurement => ({ metric, unit: 'queries/s', strata, baseline, baselineName: 'library (in process)', details })
      return [
        measurement('HTTP point read, results persisted', measured['persisted']!.point, library.point),
        measurement('HTTP point read, persist: false', measured['unpersisted']!.point, library.point),
        measurement('HTTP aggregate, results persisted', measured['persisted']!.aggregate, library.aggregate),
        measurement('HTTP aggregate, persist: false', measured['unpersisted']!.aggregate, library.aggregate),
      ]
    })
  },
}
