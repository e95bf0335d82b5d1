/**
 * Time travel over a table with 10 versions per key (SPEC 12: AS OF ≤ 1.5× the current-state query).
 * The same Strata database answers both sides, so the ratio is the cost of reading history:
 * an aggregate (column store) and a point lookup by key (row store), each as of the middle version
 * against the same query on the current state.
 */
import * as path from 'node:path'
import { open, type Database } from '../../src/index.js'
import type { Measurement } from '../report.js'
import { insertRowsBatched, median, nowMs, scaledCount, SeededRandom, waitForSync, withTemporaryDirectory, type Suite, type SuiteContext } from '../support.js'

const versionsPerKey = 10

function* rows(keyCount: number): Generator<[number, number, number]> {
  for (let id = 1; id <= keyCount; id += 1) yield [id, id % 100, id * 0.5]
}

/**
 * Medians of `repeat` runs of two queries, interleaved (a, b, a, b, …) so that drift on a busy machine
 * falls on both alike; one warm-up run each first. Checks that every run of a query answers the same.
 */
async function timedPair(repeat: number, first: () => Promise<string>, second: () => Promise<string>): Promise<[{ medianMs: number; answer: string }, { medianMs: number; answer: string }]> {
  const bodies = [first, second]
  const answers = [await first(), await second()]
  const durations: number[][] = [[], []]
  for (let run = 0; run < repeat; run += 1) {
    for (let index = 0; index < 2; index += 1) {
      const startMs = nowMs()
      const again = await bodies[index]!()
      durations[index]!.push(nowMs() - startMs)
      if (again !== answers[index]) throw new Error('the same query answered differently on a repeat')
    }
  }
  return [
    { medianMs: median(durations[0]!), answer: answers[0]! },
    { medianMs: median(durations[1]!), answer: answers[1]! },
  ]
}

async function pointLookups(db: Database, sql: string, keys: Int32Array, params: (key: number) => unknown[]): Promise<string> {
  let checksum = 0
  for (const key of keys) {
    const result = await db.query(sql, params(key))
    checksum += Number(result.rows[0]?.['amount'] ?? Number.NaN)
  }
  return String(checksum)
}

export const timeTravelSuite: Suite = {
  name: 'time-travel',
  description: 'AS OF over 10 versions per key against the current-state query (aggregate and point lookup)',
  async run(context: SuiteContext): Promise<Measurement[]> {
    const keyCount = scaledCount(context, 50_000, 500)
    const lookupCount = scaledCount(context, 20_000, 200)
    return withTemporaryDirectory('time-travel', async (directory) => {
      let db = await open(path.join(directory, 'strata'))
      try {
        await db.query('CREATE TABLE t (id INTEGER PRIMARY KEY, account INTEGER NOT NULL, amount DOUBLE NOT NULL)')
        await db.transaction((transaction) => insertRowsBatched(transaction, { table: 't', rows: rows(keyCount) }))
        context.log(`${keyCount} keys × ${versionsPerKey} versions`)
        const versionTx: number[] = []
        for (let version = 1; version < versionsPerKey; version += 1) {
          const result = await db.query('UPDATE t SET amount = amount + 1')
          versionTx.push(result.txId!)
        }
        await waitForSync(db)
        const middle = versionTx[Math.floor(versionTx.length / 2)]!
        // The first column-store read of the history makes the mirror keep it (a one-time copy); then the
        // database is reopened, so both sides are measured at rest, not while DuckDB digests the copy.
        const firstMs = nowMs()
        await db.query('SELECT count(*) FROM t FOR SYSTEM_TIME AS OF $1', [middle])
        const historyCopyMs = nowMs() - firstMs
        await db.close()
        db = await open(path.join(directory, 'strata'))
        const [aggregateNow, aggregatePast] = await timedPair(
          31,
          async () => JSON.stringify((await db.query('SELECT account, sum(amount) AS s FROM t GROUP BY account ORDER BY account')).rows),
          async () => JSON.stringify((await db.query('SELECT account, sum(amount) AS s FROM t FOR SYSTEM_TIME AS OF $1 GROUP BY account ORDER BY account', [middle])).rows),
        )
        if (aggregateNow.answer === aggregatePast.answer) throw new Error('AS OF the middle version answered like the current state')
        const random = new SeededRandom(context.seed)
        const keys = new Int32Array(lookupCount)
        for (let index = 0; index < lookupCount; index += 1) keys[index] = random.integer(1, keyCount)
        const [lookupNow, lookupPast] = await timedPair(
          3,
          () => pointLookups(db, 'SELECT amount FROM t WHERE id = $1', keys, (key) => [key]),
          () => pointLookups(db, 'SELECT amount FROM t FOR SYSTEM_TIME AS OF $1 WHERE id = $2', keys, (key) => [middle, key]),
        )
        const expectedPast = keys.reduce((sum, key) => sum + key * 0.5 + (versionTx.indexOf(middle) + 1), 0)
        if (Math.abs(Number(lookupPast.answer) - expectedPast) > 1e-6 * expectedPast) throw new Error(`AS OF lookups summed to ${lookupPast.answer}, expected ${expectedPast}`)
        const engines = {
          aggregate: (await db.query('SELECT count(*) FROM t FOR SYSTEM_TIME AS OF $1', [middle])).engine,
          lookup: (await db.query('SELECT amount FROM t FOR SYSTEM_TIME AS OF $1 WHERE id = $2', [middle, 1])).engine,
        }
        return [
          {
            metric: 'AS OF aggregate vs current (10 versions/key)',
            unit: 'ms',
            strata: aggregatePast.medianMs,
            baseline: aggregateNow.medianMs,
            baselineName: 'current state',
            target: { kind: 'ratioAtMost', value: 1.5 },
            details: { keyCount, versionsPerKey, engine: engines.aggregate, firstHistoryReadMs: historyCopyMs },
          },
          {
            metric: 'AS OF point lookups vs current (10 versions/key)',
            unit: 'ms',
            strata: lookupPast.medianMs,
            baseline: lookupNow.medianMs,
            baselineName: 'current state',
            target: { kind: 'ratioAtMost', value: 1.5 },
            details: { keyCount, lookupCount, versionsPerKey, engine: engines.lookup },
          },
        ]
      } finally {
        await db.close()
      }
    })
  },
}
