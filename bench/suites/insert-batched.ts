/**
 * Many single-row INSERTs inside one transaction (one commit): Strata's `db.transaction` with one
 * awaited `tx.query` per row against raw better-sqlite3's prepared insert in one transaction. SPEC 12
 * sets no target for this; it shows the per-statement cost of the engine once fsync is out of the way.
 */
import * as path from 'node:path'
import Database from 'better-sqlite3'
import { open } from '../../src/index.js'
import type { Measurement } from '../report.js'
import { nowMs, perSecond, scaledCount, withTemporaryDirectory, type Suite, type SuiteContext } from '../support.js'

function rowValues(id: number): [number, string, number] {
  return [id, `name-${id}`, id * 1.5]
}

function baselineRowsPerSecond(directory: string, rowCount: number): number {
  const database = new Database(path.join(directory, 'baseline.sqlite'))
  try {
    database.pragma('journal_mode = WAL')
    database.pragma('synchronous = FULL')
    database.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, amount REAL NOT NULL)')
    const insert = database.prepare('INSERT INTO t VALUES (?, ?, ?)')
    const insertAll = database.transaction((count: number) => {
      for (let id = 1; id <= count; id += 1) insert.run(...rowValues(id))
    })
    const startMs = nowMs()
    insertAll(rowCount)
    return perSecond(rowCount, nowMs() - startMs)
  } finally {
    database.close()
  }
}

async function strataRowsPerSecond(directory: string, rowCount: number): Promise<number> {
  const db = await open(path.join(directory, 'strata'))
  try {
    await db.query('CREATE TABLE t (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, amount DOUBLE NOT NULL)')
    const startMs = nowMs()
    await db.transaction(async (transaction) => {
      for (let id = 1; id <= rowCount; id += 1) await transaction.query('INSERT INTO t VALUES ($1, $2, $3)', rowValues(id))
    })
    const durationMs = nowMs() - startMs
    const check = await db.query('SELECT count(*) AS n FROM t')
    const stored = Number(check.rows[0]?.['n'])
    if (stored !== rowCount) throw new Error(`Strata stored ${stored} rows after a ${rowCount}-row transaction`)
    return perSecond(rowCount, durationMs)
  } finally {
    await db.close()
  }
}

export const insertBatchedSuite: Suite = {
  name: 'insert-batched',
  description: 'single-row INSERTs inside one transaction',
  async run(context: SuiteContext): Promise<Measurement[]> {
    const rowCount = scaledCount(context, 100_000, 1_000)
    return withTemporaryDirectory('insert-batched', async (directory) => {
      context.log(`${rowCount} rows in one transaction into raw better-sqlite3`)
      const baseline = baselineRowsPerSecond(directory, rowCount)
      context.log(`${rowCount} rows in one transaction into Strata`)
      const strata = await strataRowsPerSecond(directory, rowCount)
      return [
        {
          metric: `INSERT ×${rowCount} in one transaction`,
          unit: 'rows/s',
          strata,
          baseline,
          baselineName: 'better-sqlite3',
          details: { rowCount },
        },
      ]
    })
  },
}
