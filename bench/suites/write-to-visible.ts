/**
 * Write-to-visible latency in an analytical read under a steady write load. A background loop keeps
 * inserting rows into `events` in autocommit; meanwhile, for each sample, the bench inserts one row and,
 * the moment that INSERT resolves, runs `SELECT count(*) … WHERE id = <that id>` — an aggregate, so SPEC
 * 5 routes it to the column store, and a fresh read waits for the CDC sync to reach that commit. The
 * sample is that query's duration, and it must count the row. SPEC 12: p99 ≤ 10 ms.
 */
import * as path from 'node:path'
import { setImmediate as yieldToEventLoop } from 'node:timers/promises'
import { open } from '../../src/index.js'
import type { Measurement } from '../report.js'
import { nowMs, perSecond, quantile, scaledCount, withTemporaryDirectory, type Suite, type SuiteContext } from '../support.js'

/** Background rows use ids from here up, so they never collide with the sampled ones (1, 2, 3, …). */
const backgroundIdStart = 1_000_000_000

export const writeToVisibleSuite: Suite = {
  name: 'write-to-visible',
  description: 'latency from an INSERT resolving to an analytical read that sees it, under write load',
  async run(context: SuiteContext): Promise<Measurement[]> {
    const sampleCount = scaledCount(context, 500, 50)
    const warmupCount = 20
    return withTemporaryDirectory('write-to-visible', async (directory) => {
      const db = await open(path.join(directory, 'strata'))
      let stopBackground = false
      let backgroundWrites = 0
      let backgroundError: unknown
      let background: Promise<void> | undefined
      try {
        await db.query('CREATE TABLE events (id BIGINT PRIMARY KEY, kind VARCHAR NOT NULL, amount DOUBLE NOT NULL)')
        background = (async () => {
          try {
            for (let id = backgroundIdStart; !stopBackground; id += 1) {
              await db.query('INSERT INTO events VALUES ($1, $2, $3)', [id, 'load', id % 97])
              backgroundWrites += 1
              // A write on the synchronous row store may resolve as a microtask; without a real yield this
              // loop could keep the event loop from ever reaching I/O (the sync, the sampled reads).
              await yieldToEventLoop()
            }
          } catch (error) {
            backgroundError = error
          }
        })()

        context.log(`${sampleCount} samples under a background autocommit INSERT loop`)
        const latenciesMs: number[] = []
        const engines = new Set<string>()
        let invisible = 0
        const loadStartMs = nowMs()
        const backgroundWritesAtStart = backgroundWrites
        for (let id = 1; id <= warmupCount + sampleCount; id += 1) {
          await db.query('INSERT INTO events VALUES ($1, $2, $3)', [id, 'sample', 1])
          const startMs = nowMs()
          const result = await db.query('SELECT count(*) AS n FROM events WHERE id = $1', [id])
          const latencyMs = nowMs() - startMs
          if (backgroundError !== undefined) throw backgroundError
          if (id <= warmupCount) continue
          engines.add(result.engine)
          if (Number(result.rows[0]?.['n']) !== 1) invisible += 1
          latenciesMs.push(latencyMs)
        }
        const loadDurationMs = nowMs() - loadStartMs
        const backgroundWritesPerSecond = perSecond(backgroundWrites - backgroundWritesAtStart, loadDurationMs)
        // A fresh read that misses an acknowledged commit breaks read-your-writes (SPEC 5); its latency
        // would measure nothing, so the suite fails instead of reporting it.
        if (invisible > 0) {
          throw new Error(`${invisible} of ${sampleCount} fresh analytical reads did not see the row just inserted`)
        }
        const details = {
          sampleCount,
          backgroundWritesPerSecond,
          strataEngines: [...engines],
          latencyMsMax: Math.max(...latenciesMs),
        }
        return [
          {
            metric: 'write-to-visible p50',
            unit: 'ms',
            strata: quantile(latenciesMs, 0.5),
            baseline: null,
            details,
          },
          {
            metric: 'write-to-visible p99',
            unit: 'ms',
            strata: quantile(latenciesMs, 0.99),
            baseline: null,
            target: { kind: 'valueAtMost', value: 10 },
            details,
          },
        ]
      } finally {
        stopBackground = true
        await background
        await db.close()
      }
    })
  },
}
