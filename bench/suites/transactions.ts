/**
 * Explicit transactions under snapshot isolation (SPEC 10, docs/branches.md "Snapshot isolation"):
 *
 * - read-then-write: BEGIN; a point SELECT; an UPDATE by key; COMMIT, one after another, on Strata
 *   (durable) against raw better-sqlite3 doing the same in BEGIN IMMEDIATE … COMMIT with the same
 *   pragmas (WAL, synchronous=FULL);
 * - interleaved writers: pairs of transactions that each update their own row, their statements
 *   interleaved (A writes, B writes, A commits, B commits) — B's write parks A's, A's COMMIT parks B's
 *   and takes its own back — against the same pairs run one transaction after the other in Strata
 *   (what a single writer lock held to COMMIT allows). SQLite has no baseline for this: a second
 *   writer's BEGIN IMMEDIATE waits for (or fails on) the first.
 *
 * Every side must end with the sum its updates imply.
 */
import * as path from 'node:path'
import Database from 'better-sqlite3'
import { open, type Database as StrataDatabase, type Transaction } from '../../src/index.js'
import type { Measurement } from '../report.js'
import { nowMs, perSecond, scaledCount, SeededRandom, withTemporaryDirectory, type Suite, type SuiteContext } from '../support.js'

const rowCount = 1_000

function keys(seed: number, count: number): Int32Array {
  const random = new SeededRandom(seed)
  const chosen = new Int32Array(count)
  for (let index = 0; index < count; index += 1) chosen[index] = random.integer(1, rowCount)
  return chosen
}

function baselineReadThenWrite(directory: string, work: Int32Array): { readonly perSecond: number; readonly sum: number } {
  const database = new Database(path.join(directory, 'baseline.sqlite'))
  try {
    database.pragma('journal_mode = WAL')
    database.pragma('synchronous = FULL')
    database.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)')
    const insert = database.prepare('INSERT INTO t VALUES (?, 0)')
    database.transaction(() => {
      for (let id = 1; id <= rowCount; id += 1) insert.run(id)
    })()
    const read = database.prepare('SELECT v FROM t WHERE id = ?')
    const update = database.prepare('UPDATE t SET v = v + 1 WHERE id = ?')
    const begin = database.prepare('BEGIN IMMEDIATE')
    const commit = database.prepare('COMMIT')
    const startMs = nowMs()
    for (const id of work) {
      begin.run()
      read.get(id)
      update.run(id)
      commit.run()
    }
    const elapsed = nowMs() - startMs
    return { perSecond: perSecond(work.length, elapsed), sum: (database.prepare('SELECT sum(v) AS s FROM t').get() as { s: number }).s }
  } finally {
    database.close()
  }
}

async function strataTable(directory: string, name: string): Promise<StrataDatabase> {
  const db = await open(path.join(directory, name))
  await db.query('CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)')
  await db.query(`INSERT INTO t SELECT i, 0 FROM generate_series(1, ${rowCount}) AS s(i)`)
  return db
}

async function sumOf(db: StrataDatabase): Promise<number> {
  return Number((await db.query('SELECT sum(v) AS s FROM t', [], { engine: 'row' })).rows[0]!['s'])
}

async function strataReadThenWrite(directory: string, work: Int32Array): Promise<{ readonly perSecond: number; readonly sum: number }> {
  const db = await strataTable(directory, 'strata-read-write')
  try {
    const startMs = nowMs()
    for (const id of work) {
      await db.transaction(async (tx) => {
        await tx.query('SELECT v FROM t WHERE id = $1', [id])
        await tx.query('UPDATE t SET v = v + 1 WHERE id = $1', [id])
      })
    }
    const elapsed = nowMs() - startMs
    return { perSecond: perSecond(work.length, elapsed), sum: await sumOf(db) }
  } finally {
    await db.close()
  }
}

/** A transaction driven one step at a time from outside its body. */
function stepwise(db: StrataDatabase): { step: (run: (tx: Transaction) => Promise<unknown>) => Promise<void>; commit: () => Promise<void> } {
  let next: ((tx: Transaction) => Promise<unknown>) | undefined
  let wake: (() => void) | undefined
  let stepDone: (() => void) | undefined
  let finished = false
  const done = db.transaction(async (tx) => {
    for (;;) {
      while (next === undefined && !finished) await new Promise<void>((resolve) => (wake = resolve))
      if (next === undefined) return
      const run = next
      next = undefined
      await run(tx)
      stepDone?.()
    }
  })
  const poke = (): void => {
    const resume = wake
    wake = undefined
    resume?.()
  }
  return {
    step: (run) =>
      new Promise<void>((resolve) => {
        stepDone = resolve
        next = run
        poke()
      }),
    commit: () => {
      finished = true
      poke()
      return done
    },
  }
}

/** Pairs of transactions updating rows `a` and `b`, interleaved or one after the other. */
async function strataPairs(directory: string, work: Int32Array, interleaved: boolean): Promise<{ readonly perSecond: number; readonly sum: number }> {
  const db = await strataTable(directory, interleaved ? 'strata-interleaved' : 'strata-serial')
  try {
    const startMs = nowMs()
    for (let index = 0; index + 1 < work.length; index += 2) {
      const a = work[index]!
      const b = work[index + 1] === a ? (a % rowCount) + 1 : work[index + 1]!
      const update = (id: number) => (tx: Transaction) => tx.query('UPDATE t SET v = v + 1 WHERE id = $1', [id])
      if (interleaved) {
        const first = stepwise(db)
        const second = stepwise(db)
        await first.step(update(a))
        await second.step(update(b))
        await first.commit()
        await second.commit()
      } else {
        await db.transaction(update(a))
        await db.transaction(update(b))
      }
    }
    const elapsed = nowMs() - startMs
    return { perSecond: perSecond(work.length - (work.length % 2), elapsed), sum: await sumOf(db) }
  } finally {
    await db.close()
  }
}

function assertSum(who: string, actual: number, expected: number): void {
  if (actual !== expected) throw new Error(`${who}: sum(v) is ${actual} after the transactions, expected ${expected}`)
}

export const transactionsSuite: Suite = {
  name: 'transactions',
  description: 'explicit transactions under snapshot isolation: read-then-write against raw better-sqlite3, and interleaved writers (parking) against the same transactions one after another',
  async run(context: SuiteContext): Promise<Measurement[]> {
    const count = scaledCount(context, 1_000, 50)
    const work = keys(context.seed, count)
    const measurements: Measurement[] = []
    await withTemporaryDirectory('transactions', async (directory) => {
      context.log(`${count} read-then-write transactions in raw better-sqlite3 and in Strata (synchronous=FULL)`)
      const baseline = baselineReadThenWrite(directory, work)
      const strata = await strataReadThenWrite(directory, work)
      assertSum('better-sqlite3', baseline.sum, count)
      assertSum('Strata', strata.sum, count)
      measurements.push({
        metric: 'transaction: point SELECT + UPDATE by key + COMMIT, synchronous=FULL',
        unit: 'tx/s',
        strata: strata.perSecond,
        baseline: baseline.perSecond,
        baselineName: 'better-sqlite3',
        details: { rowCount, transactions: count },
      })
      context.log(`${count} transactions in interleaved pairs, and one after another, in Strata`)
      const interleaved = await strataPairs(directory, work, true)
      const serial = await strataPairs(directory, work, false)
      const pairs = count - (count % 2)
      assertSum('Strata, interleaved', interleaved.sum, pairs)
      assertSum('Strata, one after another', serial.sum, pairs)
      measurements.push({
        metric: 'two writers interleaved (each parks the other) vs one after another',
        unit: 'tx/s',
        strata: interleaved.perSecond,
        baseline: serial.perSecond,
        baselineName: 'Strata, serial',
        details: { rowCount, transactions: pairs },
      })
    })
    return measurements
  },
}
