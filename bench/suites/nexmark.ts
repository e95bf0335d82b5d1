/**
 * Streaming throughput on Nexmark's bid stream (issue 12; the Nexmark benchmark's model: bids on
 * auctions with a few hot auctions, event time rising with out-of-order noise). Each query runs as a
 * stream over a source in a fresh database: the events are pushed in batches with `db.push`, then the
 * input ends (`db.flush`), and the clock covers everything until the last window is written. The
 * baseline is DuckDB evaluating the same query in batch over the same events (appended with its
 * appender, then one query), in the same run; both sides must produce the same number of rows.
 *
 * Queries expressible today: q0 (pass-through), q1 (currency conversion), q2 (selection), a q5-like
 * hop-window count per auction and a q7-like tumble-window maximum. q5, q7, q8 and q11 as Nexmark
 * writes them need subqueries and joins of two streams, which streams do not take yet.
 */
import * as path from 'node:path'
import { DuckDBInstance, DuckDBTimestampValue } from '@duckdb/node-api'
import { open } from '../../src/index.js'
import type { Measurement } from '../report.js'
import { nowMs, perSecond, quantile, scaledCount, SeededRandom, withTemporaryDirectory, type Suite, type SuiteContext } from '../support.js'

interface Bid {
  readonly auction: number
  readonly bidder: number
  readonly price: number
  readonly channel: string
  readonly date_time: Date
}

/** Nexmark-like bids: 1 in 10 on one of a few hot auctions, event time 1 ms apart with up to 500 ms of disorder. */
export function nexmarkBids(seed: number, count: number): Bid[] {
  const random = new SeededRandom(seed)
  const start = Date.UTC(2026, 0, 5, 12, 0, 0)
  const channels = ['Google', 'Facebook', 'Baidu', 'Apple']
  const bids: Bid[] = new Array(count)
  for (let index = 0; index < count; index++) {
    const hot = random.float() < 0.9
    bids[index] = {
      auction: hot ? 1000 + random.integer(0, 9) : 1000 + random.integer(10, 9999),
      bidder: random.integer(1, 50_000),
      price: random.integer(100, 100_000),
      channel: channels[random.integer(0, channels.length - 1)]!,
      date_time: new Date(start + index - random.integer(0, 500)),
    }
  }
  return bids
}

const sourceSql = "CREATE SOURCE bid (auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, date_time TIMESTAMP, WATERMARK FOR date_time AS date_time - INTERVAL '1' SECOND)"
const duckdbTableSql = 'CREATE TABLE bid (auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, date_time TIMESTAMP)'

interface Query {
  readonly name: string
  readonly stream: string
  /** The same query for DuckDB in batch, over the table `bid`. */
  readonly batch: string
  readonly kind: 'stateless' | 'windowed'
}

const queries: readonly Query[] = [
  { name: 'q0 pass-through', stream: 'SELECT auction, bidder, price, date_time FROM bid', batch: 'SELECT auction, bidder, price, date_time FROM bid', kind: 'stateless' },
  { name: 'q1 currency conversion', stream: 'SELECT auction, bidder, 0.908 * price AS price, date_time FROM bid', batch: 'SELECT auction, bidder, 0.908 * price AS price, date_time FROM bid', kind: 'stateless' },
  { name: 'q2 selection', stream: 'SELECT auction, price FROM bid WHERE auction % 123 = 0', batch: 'SELECT auction, price FROM bid WHERE auction % 123 = 0', kind: 'stateless' },
  {
    name: 'q5-like hop count per auction',
    stream: "SELECT auction, window_start, window_end, count(*) AS num FROM bid GROUP BY auction, hop(date_time, INTERVAL '2' SECOND, INTERVAL '10' SECOND)",
    batch:
      "SELECT auction, ws AS window_start, ws + INTERVAL '10 seconds' AS window_end, count(*) AS num FROM bid JOIN (SELECT unnest(generate_series(TIMESTAMP '2026-01-05 11:59:40', TIMESTAMP '2026-01-05 14:00:00', INTERVAL '2 seconds')) AS ws) w " +
      "ON date_time >= ws AND date_time < ws + INTERVAL '10 seconds' GROUP BY ALL",
    kind: 'windowed',
  },
  {
    name: 'q7-like tumble maximum',
    stream: "SELECT window_start, window_end, max(price) AS maxprice FROM bid GROUP BY tumble(date_time, INTERVAL '10' SECOND)",
    batch: "SELECT time_bucket(INTERVAL '10 seconds', date_time, TIMESTAMP '1970-01-01') AS window_start, max(price) AS maxprice FROM bid GROUP BY ALL",
    kind: 'windowed',
  },
]

async function duckdbBatch(directory: string, bids: readonly Bid[], sql: string): Promise<{ eventsPerSecond: number; rowCount: number }> {
  const instance = await DuckDBInstance.create(path.join(directory, 'baseline.duckdb'), { threads: '2' })
  const connection = await instance.connect()
  try {
    await connection.run('DROP TABLE IF EXISTS bid')
    await connection.run(duckdbTableSql)
    const startMs = nowMs()
    const appender = await connection.createAppender('bid')
    for (const bid of bids) {
      appender.appendBigInt(BigInt(bid.auction))
      appender.appendBigInt(BigInt(bid.bidder))
      appender.appendBigInt(BigInt(bid.price))
      appender.appendVarchar(bid.channel)
      appender.appendTimestamp(new DuckDBTimestampValue(BigInt(bid.date_time.getTime()) * 1000n))
      appender.endRow()
    }
    appender.flushSync()
    appender.closeSync()
    const result = await connection.runAndReadAll(`SELECT count(*) AS n FROM (${sql})`)
    const eventsPerSecond = perSecond(bids.length, nowMs() - startMs)
    return { eventsPerSecond, rowCount: Number(result.getRowObjectsJS()[0]!['n']) }
  } finally {
    connection.closeSync()
    instance.closeSync()
  }
}

async function strataStream(directory: string, bids: readonly Bid[], query: Query, batchSize: number): Promise<{ eventsPerSecond: number; rowCount: number; accepted: number }> {
  const db = await open(directory)
  try {
    await db.query(sourceSql)
    await db.query(`CREATE STREAM result AS ${query.stream}`)
    let accepted = 0
    const startMs = nowMs()
    for (let start = 0; start < bids.length; start += batchSize) {
      accepted += (await db.push('bid', bids.slice(start, start + batchSize) as unknown as Record<string, unknown>[])).rowCount
    }
    await db.flush('bid')
    const eventsPerSecond = perSecond(bids.length, nowMs() - startMs)
    const rowCount = Number((await db.query('SELECT count(*) AS n FROM result', [], { engine: 'column' })).rows[0]!['n'])
    return { eventsPerSecond, rowCount, accepted }
  } finally {
    await db.close()
  }
}

/**
 * Push-to-visible latency of one bid at a time through q0 (a pass-through stream): `db.push` resolves
 * once the stream has written its row, so a push's duration is the time until a query sees the
 * result. First the highest rate one awaited push after another reaches, then pushes paced at half of
 * it, each timed.
 */
async function strataLatency(directory: string, bids: readonly Bid[]): Promise<{ maxRatePerSecond: number; p50Ms: number; p99Ms: number; samples: number }> {
  const db = await open(directory)
  try {
    await db.query(sourceSql)
    await db.query(`CREATE STREAM result AS ${queries[0]!.stream}`)
    let next = 0
    const push = async (): Promise<number> => {
      const bid = bids[next++ % bids.length]!
      const startMs = nowMs()
      await db.push('bid', [{ ...bid, date_time: new Date(Date.UTC(2026, 0, 5, 12, 0, 0) + next) }])
      return nowMs() - startMs
    }
    for (let index = 0; index < 200; index++) await push()
    const rateCount = Math.min(2_000, bids.length)
    const rateStartMs = nowMs()
    for (let index = 0; index < rateCount; index++) await push()
    const maxRatePerSecond = perSecond(rateCount, nowMs() - rateStartMs)
    const intervalMs = 2_000 / maxRatePerSecond
    const durations: number[] = []
    const pacedStartMs = nowMs()
    for (let index = 0; index < rateCount; index++) {
      const dueMs = pacedStartMs + index * intervalMs
      const waitMs = dueMs - nowMs()
      if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs))
      durations.push(await push())
    }
    return { maxRatePerSecond, p50Ms: quantile(durations, 0.5), p99Ms: quantile(durations, 0.99), samples: durations.length }
  } finally {
    await db.close()
  }
}

export const nexmarkSuite: Suite = {
  name: 'nexmark',
  description: 'streams over Nexmark-like bids: events per second per query, against DuckDB evaluating the same query in batch',
  async run(context: SuiteContext): Promise<Measurement[]> {
    const eventCount = scaledCount(context, 100_000, 2_000)
    const batchSize = 5_000
    const bids = nexmarkBids(context.seed, eventCount)
    const measurements: Measurement[] = []
    for (const query of queries) {
      await withTemporaryDirectory('nexmark', async (directory) => {
        context.log(`${query.name}: ${eventCount} bids in batches of ${batchSize}`)
        const strata = await strataStream(path.join(directory, 'strata'), bids, query, batchSize)
        // Late events (none with 500 ms of disorder against a 1 s delay) would make the two sides differ.
        if (strata.accepted !== bids.length) throw new Error(`${query.name}: ${bids.length - strata.accepted} bids were late`)
        const duckdb = await duckdbBatch(directory, bids, query.batch)
        if (strata.rowCount !== duckdb.rowCount) throw new Error(`${query.name}: the stream wrote ${strata.rowCount} rows, DuckDB's batch query gives ${duckdb.rowCount}`)
        context.log(`${query.name}: Strata ${strata.eventsPerSecond.toFixed(0)} events/s, DuckDB batch ${duckdb.eventsPerSecond.toFixed(0)} events/s, ${strata.rowCount} result rows`)
        measurements.push({
          metric: `${query.name}, events/s (2 cores)`,
          unit: 'events/s',
          strata: strata.eventsPerSecond,
          baseline: duckdb.eventsPerSecond,
          baselineName: 'duckdb batch',
          // Issue 12: stateless ≥ 1M events/s/core, windowed ≥ 200K events/s/core (2 cores here).
          target: { kind: 'valueAtLeast', value: query.kind === 'stateless' ? 2_000_000 : 400_000 },
          details: { events: eventCount, batchSize, resultRows: strata.rowCount },
        })
      })
    }
    await withTemporaryDirectory('nexmark-latency', async (directory) => {
      const latency = await strataLatency(path.join(directory, 'strata'), bids)
      context.log(`q0 push-to-visible, one bid per push: at most ${latency.maxRatePerSecond.toFixed(0)} pushes/s; at half that, p50 ${latency.p50Ms.toFixed(2)} ms, p99 ${latency.p99Ms.toFixed(2)} ms`)
      measurements.push({
        metric: 'q0 push-to-visible p99, one bid per push at half the maximum rate',
        unit: 'ms',
        strata: latency.p99Ms,
        baseline: null,
        // Issue 12: p99 push-to-visible ≤ 5 ms.
        target: { kind: 'valueAtMost', value: 5 },
        details: { p50Ms: latency.p50Ms, maxRatePerSecond: latency.maxRatePerSecond, samples: latency.samples },
      })
    })
    return measurements
  },
}
