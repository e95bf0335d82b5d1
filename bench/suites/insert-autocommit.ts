/**
 * Single-row INSERTs with parameters, each its own durable commit: Strata (ledger + history + CDC on
 * every commit) against raw better-sqlite3 with the same pragmas doing the same prepared insert.
 * SPEC 12: ≥ 0.5× raw better-sqlite3. Run once with synchronous=FULL (Strata's default durability)
 * and once with synchronous=NORMAL (`durability: 'normal'`). With FULL, the same inserts also come
 * from 16 concurrent library writers, each its own transaction acknowledged once durable, sharing
 * COMMITs (group commit, src/engine/transactions.ts).
 *
 * PGlite (bench/pglite.ts) runs the same parameterised INSERTs, one commit each; it commits with
 * fsync=off, so it is compared with Strata's NORMAL run, the nearest durability Strata offers. It gets
 * fewer rows (it inserts some thousands a second), which a rate comparison allows.
 */
import * as path from 'node:path'
import Database from 'better-sqlite3'
import { open } from '../../src/index.js'
import { describePgliteDurability, openPglite } from '../pglite.js'
import type { Measurement } from '../report.js'
import { nowMs, perSecond, scaledCount, withTemporaryDirectory, type Suite, type SuiteContext } from '../support.js'

type Durability = 'full' | 'normal'

// Both sides build each row with this function inside their timed loops, so they pay the same
// JavaScript cost per row and differ only in the database work.
function rowValues(id: number): [number, string, number] {
  return [id, `name-${id}`, id * 1.5]
}

function baselineInsertsPerSecond(directory: string, durability: Durability, rowCount: number): number {
  const database = new Database(path.join(directory, `baseline-${durability}.sqlite`))
  try {
    database.pragma('journal_mode = WAL')
    database.pragma(`synchronous = ${durability === 'full' ? 'FULL' : 'NORMAL'}`)
    database.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, amount REAL NOT NULL)')
    const insert = database.prepare('INSERT INTO t VALUES (?, ?, ?)')
    const startMs = nowMs()
    for (let id = 1; id <= rowCount; id += 1) insert.run(...rowValues(id))
    return perSecond(rowCount, nowMs() - startMs)
  } finally {
    database.close()
  }
}

async function strataInsertsPerSecond(directory: string, durability: Durability, rowCount: number): Promise<number> {
  const db = await open(path.join(directory, `strata-${durability}`), { durability })
  try {
    await db.query('CREATE TABLE t (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, amount DOUBLE NOT NULL)')
    const startMs = nowMs()
    for (let id = 1; id <= rowCount; id += 1) {
      await db.query('INSERT INTO t VALUES ($1, $2, $3)', rowValues(id))
    }
    const durationMs = nowMs() - startMs
    // Pair check: every acknowledged insert is there (a cheap guard against measuring a no-op).
    const check = await db.query('SELECT count(*) AS n FROM t')
    const stored = Number(check.rows[0]?.['n'])
    if (stored !== rowCount) throw new Error(`Strata stored ${stored} rows after ${rowCount} autocommit INSERTs`)
    return perSecond(rowCount, durationMs)
  } finally {
    await db.close()
  }
}

/**
 * `writers` concurrent library writers on one handle, each awaiting its own autocommit INSERTs one
 * after another (an application's workers): every INSERT is its own transaction, acknowledged once
 * durable, and the writes that arrive while a COMMIT is being prepared share it (group commit).
 */
async function strataConcurrentInsertsPerSecond(directory: string, rowCount: number, writers: number): Promise<number> {
  const db = await open(path.join(directory, 'strata-concurrent'), { durability: 'full' })
  try {
    await db.query('CREATE TABLE t (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, amount DOUBLE NOT NULL)')
    let next = 1
    const writer = async (): Promise<void> => {
      while (next <= rowCount) {
        const id = next++
        await db.query('INSERT INTO t VALUES ($1, $2, $3)', rowValues(id))
      }
    }
    const startMs = nowMs()
    await Promise.all(Array.from({ length: writers }, writer))
    const durationMs = nowMs() - startMs
    const stored = Number((await db.query('SELECT count(*) AS n FROM t')).rows[0]?.['n'])
    if (stored !== rowCount) throw new Error(`Strata stored ${stored} rows after ${rowCount} concurrent autocommit INSERTs`)
    return perSecond(rowCount, durationMs)
  } finally {
    await db.close()
  }
}

async function pgliteInsertsPerSecond(directory: string, rowCount: number): Promise<{ insertsPerSecond: number; label: string; durability: string }> {
  const peer = await openPglite(path.join(directory, 'pglite'))
  try {
    await peer.db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, amount DOUBLE PRECISION NOT NULL)')
    const startMs = nowMs()
    for (let id = 1; id <= rowCount; id += 1) {
      await peer.db.query('INSERT INTO t VALUES ($1, $2, $3)', rowValues(id))
    }
    const durationMs = nowMs() - startMs
    const stored = Number((await peer.db.query<{ n: number }>('SELECT count(*) AS n FROM t')).rows[0]?.n)
    if (stored !== rowCount) throw new Error(`PGlite stored ${stored} rows after ${rowCount} autocommit INSERTs`)
    return { insertsPerSecond: perSecond(rowCount, durationMs), label: peer.label, durability: describePgliteDurability(peer.durability) }
  } finally {
    await peer.close()
  }
}

export const insertAutocommitSuite: Suite = {
  name: 'insert-autocommit',
  description: 'single-row parameterised INSERTs, one commit each, WAL with synchronous=FULL and NORMAL',
  async run(context: SuiteContext): Promise<Measurement[]> {
    const measurements: Measurement[] = []
    // fsync dominates FULL, so it gets fewer rows than NORMAL for a similar wall time.
    const plans: readonly { durability: Durability; rowCount: number }[] = [
      { durability: 'full', rowCount: scaledCount(context, 10_000, 200) },
      { durability: 'normal', rowCount: scaledCount(context, 50_000, 500) },
    ]
    for (const { durability, rowCount } of plans) {
      await withTemporaryDirectory('insert-autocommit', async (directory) => {
        context.log(`${durability}: ${rowCount} rows into raw better-sqlite3`)
        const baseline = baselineInsertsPerSecond(directory, durability, rowCount)
        context.log(`${durability}: ${rowCount} rows into Strata`)
        const strata = await strataInsertsPerSecond(directory, durability, rowCount)
        measurements.push({
          metric: `autocommit INSERT, synchronous=${durability.toUpperCase()}`,
          unit: 'ops/s',
          strata,
          baseline,
          baselineName: 'better-sqlite3',
          target: { kind: 'ratioAtLeast', value: 0.5 },
          details: { rowCount, durability },
        })
        if (durability === 'full') {
          // One process has one SQLite writer, so raw better-sqlite3's concurrent writers are the serial
          // loop above: the baseline is the same inserts, one commit (one fsync) each.
          const writers = 16
          context.log(`full: ${rowCount} rows into Strata from ${writers} concurrent writers`)
          const concurrent = await strataConcurrentInsertsPerSecond(directory, rowCount, writers)
          measurements.push({
            metric: `autocommit INSERT, synchronous=FULL, ${writers} concurrent writers (group commit)`,
            unit: 'ops/s',
            strata: concurrent,
            baseline,
            baselineName: 'better-sqlite3 (one writer)',
            details: { rowCount, writers, durability },
          })
        }
        if (durability !== 'normal') return
        const pgliteRowCount = Math.min(rowCount, scaledCount(context, 3_000, 200))
        context.log(`${pgliteRowCount} rows into PGlite`)
        const pglite = await pgliteInsertsPerSecond(directory, pgliteRowCount)
        measurements.push({
          metric: 'autocommit INSERT, Strata synchronous=NORMAL',
          unit: 'ops/s',
          strata,
          baseline: pglite.insertsPerSecond,
          baselineName: pglite.label,
          details: { strataRowCount: rowCount, pgliteRowCount, strataDurability: durability, pgliteDurability: pglite.durability },
        })
      })
    }
    return measurements
  },
}
