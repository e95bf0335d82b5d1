/**
 * Single-row UPDATEs by primary key with parameters, each its own commit, on a 10K-row table with
 * random keys (the same sequence on every side): Strata (ledger, history — the old version closed, the
 * new one written — and CDC on every commit) against raw better-sqlite3 doing the same prepared UPDATE
 * with the same pragmas. Run with synchronous=FULL (Strata's default durability) and NORMAL. Issue 11
 * point 3: ≥ 0.6× raw SQLite with the same pragmas.
 *
 * PGlite (bench/pglite.ts) runs the first part of the same UPDATEs (it does some thousands a second);
 * it commits with fsync=off, so it is compared with Strata's NORMAL run, the nearest durability Strata
 * offers (both survive the process dying; neither waits for the disk). Every side must end with the
 * sum of amounts the updates it ran imply.
 */
import * as path from 'node:path'
import Database from 'better-sqlite3'
import { open } from '../../src/index.js'
import { copyRowsIntoPglite, describePgliteDurability, openPglite } from '../pglite.js'
import type { Measurement } from '../report.js'
import {
  insertRowsBatched,
  nowMs,
  perSecond,
  scaledCount,
  SeededRandom,
  withTemporaryDirectory,
  type Suite,
  type SuiteContext,
} from '../support.js'

type Durability = 'full' | 'normal'

function* rows(rowCount: number): Generator<[number, string, number]> {
  for (let id = 1; id <= rowCount; id += 1) yield [id, `name-${id}`, id * 1.5]
}

/** The updates: random keys, small whole deltas, so every side's sum is exact and must match. */
function updates(seed: number, updateCount: number, rowCount: number): { readonly keys: Int32Array; readonly deltas: Int32Array } {
  const random = new SeededRandom(seed)
  const keys = new Int32Array(updateCount)
  const deltas = new Int32Array(updateCount)
  for (let index = 0; index < updateCount; index += 1) {
    keys[index] = random.integer(1, rowCount)
    deltas[index] = random.integer(1, 9)
  }
  return { keys, deltas }
}

interface UpdateResult {
  readonly updatesPerSecond: number
  readonly amountSum: number
}

function baselineUpdates(directory: string, durability: Durability, rowCount: number, work: ReturnType<typeof updates>): UpdateResult {
  const database = new Database(path.join(directory, `baseline-${durability}.sqlite`))
  try {
    database.pragma('journal_mode = WAL')
    database.pragma(`synchronous = ${durability === 'full' ? 'FULL' : 'NORMAL'}`)
    database.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, amount REAL NOT NULL)')
    const insert = database.prepare('INSERT INTO t VALUES (?, ?, ?)')
    database.transaction(() => {
      for (const row of rows(rowCount)) insert.run(...row)
    })()
    const update = database.prepare('UPDATE t SET amount = amount + ? WHERE id = ?')
    const startMs = nowMs()
    for (let index = 0; index < work.keys.length; index += 1) {
      if (update.run(work.deltas[index], work.keys[index]).changes !== 1) throw new Error(`better-sqlite3 did not update key ${work.keys[index]}`)
    }
    const updatesPerSecond = perSecond(work.keys.length, nowMs() - startMs)
    const amountSum = (database.prepare('SELECT sum(amount) AS s FROM t').get() as { s: number }).s
    return { updatesPerSecond, amountSum }
  } finally {
    database.close()
  }
}

async function strataUpdates(directory: string, durability: Durability, rowCount: number, work: ReturnType<typeof updates>): Promise<UpdateResult> {
  const db = await open(path.join(directory, `strata-${durability}`), { durability })
  try {
    await db.query('CREATE TABLE t (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, amount DOUBLE NOT NULL)')
    await db.transaction((transaction) => insertRowsBatched(transaction, { table: 't', rows: rows(rowCount) }))
    const startMs = nowMs()
    for (let index = 0; index < work.keys.length; index += 1) {
      const result = await db.query('UPDATE t SET amount = amount + $1 WHERE id = $2', [work.deltas[index], work.keys[index]])
      if (result.rowCount !== 1) throw new Error(`Strata did not update key ${work.keys[index]}`)
    }
    const updatesPerSecond = perSecond(work.keys.length, nowMs() - startMs)
    const amountSum = Number((await db.query('SELECT sum(amount) AS s FROM t', [], { engine: 'row' })).rows[0]?.['s'])
    return { updatesPerSecond, amountSum }
  } finally {
    await db.close()
  }
}

async function pgliteUpdates(directory: string, rowCount: number, work: ReturnType<typeof updates>): Promise<UpdateResult & { label: string; durability: string }> {
  const peer = await openPglite(path.join(directory, 'pglite'))
  try {
    await peer.db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, amount DOUBLE PRECISION NOT NULL)')
    await copyRowsIntoPglite(peer.db, 't', rows(rowCount))
    const startMs = nowMs()
    for (let index = 0; index < work.keys.length; index += 1) {
      const result = await peer.db.query('UPDATE t SET amount = amount + $1 WHERE id = $2', [work.deltas[index], work.keys[index]])
      if (result.affectedRows !== 1) throw new Error(`PGlite did not update key ${work.keys[index]}`)
    }
    const updatesPerSecond = perSecond(work.keys.length, nowMs() - startMs)
    const amountSum = Number((await peer.db.query<{ s: number }>('SELECT sum(amount) AS s FROM t')).rows[0]?.s)
    return { updatesPerSecond, amountSum, label: peer.label, durability: describePgliteDurability(peer.durability) }
  } finally {
    await peer.close()
  }
}

/** The sum of amounts after the first `updateCount` updates: the initial sum plus their deltas. */
function expectedSum(rowCount: number, work: ReturnType<typeof updates>, updateCount: number): number {
  let sum = 0
  for (const [, , amount] of rows(rowCount)) sum += amount
  for (let index = 0; index < updateCount; index += 1) sum += work.deltas[index] as number
  return sum
}

function assertSum(who: string, actual: number, expected: number): void {
  if (actual !== expected) throw new Error(`${who}: sum(amount) is ${actual} after the updates, expected ${expected}`)
}

export const updateAutocommitSuite: Suite = {
  name: 'update-autocommit',
  description: 'single-row UPDATE by key with parameters, one commit each, synchronous=FULL and NORMAL, and PGlite',
  async run(context: SuiteContext): Promise<Measurement[]> {
    const rowCount = scaledCount(context, 10_000, 200)
    const measurements: Measurement[] = []
    // fsync dominates FULL, so it gets fewer updates than NORMAL for a similar wall time.
    const plans: readonly { durability: Durability; updateCount: number }[] = [
      { durability: 'full', updateCount: scaledCount(context, 2_000, 100) },
      { durability: 'normal', updateCount: scaledCount(context, 10_000, 200) },
    ]
    for (const { durability, updateCount } of plans) {
      const work = updates(context.seed, updateCount, rowCount)
      await withTemporaryDirectory('update-autocommit', async (directory) => {
        context.log(`${durability}: ${updateCount} updates on ${rowCount} rows in raw better-sqlite3`)
        const baseline = baselineUpdates(directory, durability, rowCount, work)
        context.log(`${durability}: ${updateCount} updates on ${rowCount} rows in Strata`)
        const strata = await strataUpdates(directory, durability, rowCount, work)
        const expected = expectedSum(rowCount, work, updateCount)
        assertSum('better-sqlite3', baseline.amountSum, expected)
        assertSum('Strata', strata.amountSum, expected)
        measurements.push({
          metric: `autocommit UPDATE by key, synchronous=${durability.toUpperCase()}`,
          unit: 'ops/s',
          strata: strata.updatesPerSecond,
          baseline: baseline.updatesPerSecond,
          baselineName: 'better-sqlite3',
          target: { kind: 'ratioAtLeast', value: 0.6 },
          details: { rowCount, updateCount, durability, target: 'issue 11 point 3' },
        })
        if (durability !== 'normal') return
        const pgliteUpdateCount = Math.min(updateCount, scaledCount(context, 4_000, 100))
        const pgliteWork = { keys: work.keys.subarray(0, pgliteUpdateCount), deltas: work.deltas.subarray(0, pgliteUpdateCount) }
        context.log(`${pgliteUpdateCount} updates on ${rowCount} rows in PGlite`)
        const pglite = await pgliteUpdates(directory, rowCount, pgliteWork)
        assertSum('PGlite', pglite.amountSum, expectedSum(rowCount, work, pgliteUpdateCount))
        measurements.push({
          metric: 'autocommit UPDATE by key, Strata synchronous=NORMAL',
          unit: 'ops/s',
          strata: strata.updatesPerSecond,
          baseline: pglite.updatesPerSecond,
          baselineName: pglite.label,
          details: { rowCount, strataUpdateCount: updateCount, pgliteUpdateCount, strataDurability: durability, pgliteDurability: pglite.durability },
        })
      })
    }
    return measurements
  },
}
