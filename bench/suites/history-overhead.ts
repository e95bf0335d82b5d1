/**
 * What keeping history costs a write: the same insert-then-update workload through Strata (ledger,
 * history triggers, CDC) and through raw better-sqlite3 on a plain table without history, same pragmas.
 * - bulk: all rows in one commit (`db.insert`), then one UPDATE of every row in one commit; the raw
 *   side does the same in two transactions. SQLite writes each row twice with history (the row and
 *   its version), and an update also closes the old version.
 * - autocommit: one commit per INSERT, then one per UPDATE by key, synchronous=NORMAL on both sides so
 *   the fsync of FULL (measured by insert-autocommit) does not hide the per-write work.
 * No SPEC 12 target; the ratio is the price of history.
 */
import * as path from 'node:path'
import Database from 'better-sqlite3'
import { open } from '../../src/index.js'
import type { Measurement } from '../report.js'
import { nowMs, perSecond, scaledCount, withTemporaryDirectory, type Suite, type SuiteContext } from '../support.js'
import { rawReadingsTableSql, readings, readingsTableSql, type Reading } from './bulk-write.js'

function rawBulk(directory: string, rows: readonly Reading[]): number {
  const database = new Database(path.join(directory, 'raw-bulk.sqlite'))
  try {
    database.pragma('journal_mode = WAL')
    database.pragma('synchronous = FULL')
    database.exec(rawReadingsTableSql)
    const insert = database.prepare('INSERT INTO readings VALUES (?, ?, ?, ?, ?)')
    const update = database.prepare('UPDATE readings SET v = (v + 1)')
    const insertAll = database.transaction((all: readonly Reading[]) => {
      for (const row of all) insert.run(row.id, row.device, row.ts.getTime() * 1000, row.v, row.n)
    })
    const startMs = nowMs()
    insertAll(rows)
    database.transaction(() => update.run())()
    return perSecond(rows.length * 2, nowMs() - startMs)
  } finally {
    database.close()
  }
}

async function strataBulk(directory: string, rows: readonly Reading[]): Promise<number> {
  const db = await open(path.join(directory, 'strata-bulk'))
  try {
    await db.query(readingsTableSql)
    const startMs = nowMs()
    await db.insert('readings', rows as unknown as Record<string, unknown>[])
    const updated = await db.query('UPDATE readings SET v = v + 1')
    const durationMs = nowMs() - startMs
    if (updated.rowCount !== rows.length) throw new Error(`UPDATE changed ${updated.rowCount} of ${rows.length} rows`)
    return perSecond(rows.length * 2, durationMs)
  } finally {
    await db.close()
  }
}

function rawAutocommit(directory: string, rows: readonly Reading[]): number {
  const database = new Database(path.join(directory, 'raw-autocommit.sqlite'))
  try {
    database.pragma('journal_mode = WAL')
    database.pragma('synchronous = NORMAL')
    database.exec(rawReadingsTableSql)
    const insert = database.prepare('INSERT INTO readings VALUES (?, ?, ?, ?, ?)')
    const update = database.prepare('UPDATE readings SET v = ? WHERE id = ?')
    const startMs = nowMs()
    for (const row of rows) insert.run(row.id, row.device, row.ts.getTime() * 1000, row.v, row.n)
    for (const row of rows) update.run(row.v + 1, row.id)
    return perSecond(rows.length * 2, nowMs() - startMs)
  } finally {
    database.close()
  }
}

async function strataAutocommit(directory: string, rows: readonly Reading[]): Promise<number> {
  const db = await open(path.join(directory, 'strata-autocommit'), { durability: 'normal' })
  try {
    await db.query(readingsTableSql)
    const startMs = nowMs()
    for (const row of rows) await db.query('INSERT INTO readings VALUES ($1, $2, $3, $4, $5)', [row.id, row.device, row.ts, row.v, row.n])
    for (const row of rows) await db.query('UPDATE readings SET v = $1 WHERE id = $2', [row.v + 1, row.id])
    const durationMs = nowMs() - startMs
    const versions = Number((await db.query('SELECT count(*) AS n FROM readings FOR SYSTEM_TIME ALL')).rows[0]?.['n'])
    if (versions !== rows.length * 2) throw new Error(`history holds ${versions} versions, expected ${rows.length * 2}`)
    return perSecond(rows.length * 2, durationMs)
  } finally {
    await db.close()
  }
}

export const historyOverheadSuite: Suite = {
  name: 'history-overhead',
  description: 'insert + update with history (Strata) vs the same writes on a plain table (raw better-sqlite3)',
  async run(context: SuiteContext): Promise<Measurement[]> {
    const bulkCount = scaledCount(context, 200_000, 1_000)
    const autocommitCount = scaledCount(context, 10_000, 200)
    const bulkRows = readings(context.seed, bulkCount)
    const autocommitRows = bulkRows.slice(0, autocommitCount)
    return withTemporaryDirectory('history-overhead', async (directory) => {
      context.log(`bulk: ${bulkCount} rows inserted then updated, raw better-sqlite3`)
      const rawBulkRate = rawBulk(directory, bulkRows)
      context.log(`bulk: ${bulkCount} rows inserted then updated, Strata`)
      const strataBulkRate = await strataBulk(directory, bulkRows)
      context.log(`autocommit: ${autocommitCount} inserts then ${autocommitCount} updates, raw better-sqlite3`)
      const rawAutocommitRate = rawAutocommit(directory, autocommitRows)
      context.log(`autocommit: ${autocommitCount} inserts then ${autocommitCount} updates, Strata`)
      const strataAutocommitRate = await strataAutocommit(directory, autocommitRows)
      return [
        {
          metric: `history overhead, bulk insert+update ×${bulkCount}`,
          unit: 'rows/s',
          strata: strataBulkRate,
          baseline: rawBulkRate,
          baselineName: 'better-sqlite3, no history',
          details: { rowCount: bulkCount, writes: bulkCount * 2, durability: 'full' },
        },
        {
          metric: `history overhead, autocommit insert+update ×${autocommitCount}`,
          unit: 'ops/s',
          strata: strataAutocommitRate,
          baseline: rawAutocommitRate,
          baselineName: 'better-sqlite3, no history',
          details: { rowCount: autocommitCount, writes: autocommitCount * 2, durability: 'normal' },
        },
      ]
    })
  },
}
