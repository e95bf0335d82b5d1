/**
 * Bulk and batch writes (SPEC 7). Two comparisons:
 * - `db.insert(table, rows)` — many row objects, one commit, with the ledger and history — against raw
 *   better-sqlite3 inserting the same objects with a prepared INSERT in one transaction (same pragmas:
 *   WAL, synchronous=FULL). No SPEC 12 target; the ratio shows what the fast path costs.
 * - `db.writeBatch([...])` — parameterised statements, one commit — against the same statements sent
 *   one by one through Strata, each its own commit (the baseline here is Strata itself).
 */
import * as path from 'node:path'
import Database from 'better-sqlite3'
import { open } from '../../src/index.js'
import type { Measurement } from '../report.js'
import { nowMs, perSecond, scaledCount, SeededRandom, withTemporaryDirectory, type Suite, type SuiteContext } from '../support.js'

export interface Reading {
  readonly id: number
  readonly device: string
  readonly ts: Date
  readonly v: number
  readonly n: number
}

/** The same readings for both sides: ids in order, a few devices, a timestamp a second apart. */
export function readings(seed: number, count: number): Reading[] {
  const random = new SeededRandom(seed)
  const start = Date.UTC(2024, 0, 1)
  const rows: Reading[] = new Array(count)
  for (let id = 0; id < count; id++) {
    rows[id] = { id, device: `device-${random.integer(0, 49)}`, ts: new Date(start + id * 1000), v: random.float() * 100, n: random.integer(0, 1000) }
  }
  return rows
}

export const readingsTableSql = 'CREATE TABLE readings (id INTEGER PRIMARY KEY, device TEXT NOT NULL, ts TIMESTAMP NOT NULL, v DOUBLE, n INTEGER)'
/** The raw baseline's table: SQLite's own types, timestamps as µs integers as Strata stores them. */
export const rawReadingsTableSql = 'CREATE TABLE readings (id INTEGER PRIMARY KEY, device TEXT NOT NULL, ts INTEGER NOT NULL, v REAL, n INTEGER) STRICT'

function rawBulkRowsPerSecond(directory: string, rows: readonly Reading[]): number {
  const database = new Database(path.join(directory, 'baseline.sqlite'))
  try {
    database.pragma('journal_mode = WAL')
    database.pragma('synchronous = FULL')
    database.exec(rawReadingsTableSql)
    const insert = database.prepare('INSERT INTO readings VALUES (?, ?, ?, ?, ?)')
    const insertAll = database.transaction((all: readonly Reading[]) => {
      for (const row of all) insert.run(row.id, row.device, row.ts.getTime() * 1000, row.v, row.n)
    })
    const startMs = nowMs()
    insertAll(rows)
    return perSecond(rows.length, nowMs() - startMs)
  } finally {
    database.close()
  }
}

async function strataBulkRowsPerSecond(directory: string, rows: readonly Reading[]): Promise<{ rowsPerSecond: number; txId: number | undefined }> {
  const db = await open(path.join(directory, 'strata-bulk'))
  try {
    await db.query(readingsTableSql)
    const startMs = nowMs()
    const summary = await db.insert('readings', rows as unknown as Record<string, unknown>[])
    const durationMs = nowMs() - startMs
    const stored = Number((await db.query('SELECT count(*) AS n FROM readings', [], { engine: 'row' })).rows[0]?.['n'])
    if (stored !== rows.length || summary.rowCount !== rows.length) throw new Error(`db.insert stored ${stored} of ${rows.length} rows`)
    return { rowsPerSecond: perSecond(rows.length, durationMs), txId: summary.txId }
  } finally {
    await db.close()
  }
}

const insertSql = 'INSERT INTO readings VALUES ($1, $2, $3, $4, $5)'

function statementParams(row: Reading): unknown[] {
  return [row.id, row.device, row.ts, row.v, row.n]
}

async function batchStatementsPerSecond(directory: string, rows: readonly Reading[], mode: 'batch' | 'one-by-one'): Promise<number> {
  const db = await open(path.join(directory, `strata-${mode}`))
  try {
    await db.query(readingsTableSql)
    const startMs = nowMs()
    if (mode === 'batch') {
      const summary = await db.writeBatch(rows.map((row) => ({ sql: insertSql, params: statementParams(row) })))
      if (summary.rowCount !== rows.length) throw new Error(`writeBatch changed ${summary.rowCount} of ${rows.length} rows`)
    } else {
      for (const row of rows) await db.query(insertSql, statementParams(row))
    }
    const durationMs = nowMs() - startMs
    const stored = Number((await db.query('SELECT count(*) AS n FROM readings', [], { engine: 'row' })).rows[0]?.['n'])
    if (stored !== rows.length) throw new Error(`${mode} stored ${stored} of ${rows.length} rows`)
    return perSecond(rows.length, durationMs)
  } finally {
    await db.close()
  }
}

export const bulkWriteSuite: Suite = {
  name: 'bulk-write',
  description: 'db.insert (one commit) vs raw better-sqlite3 in one transaction; db.writeBatch vs one commit per statement',
  async run(context: SuiteContext): Promise<Measurement[]> {
    const bulkCount = scaledCount(context, 200_000, 1_000)
    const batchCount = scaledCount(context, 2_000, 100)
    const rows = readings(context.seed, bulkCount)
    return withTemporaryDirectory('bulk-write', async (directory) => {
      context.log(`${bulkCount} rows into raw better-sqlite3, one transaction`)
      const baseline = rawBulkRowsPerSecond(directory, rows)
      context.log(`${bulkCount} rows through db.insert`)
      const strata = await strataBulkRowsPerSecond(directory, rows)
      const batchRows = rows.slice(0, batchCount)
      context.log(`${batchCount} INSERT statements, one commit each`)
      const oneByOne = await batchStatementsPerSecond(directory, batchRows, 'one-by-one')
      context.log(`${batchCount} INSERT statements in one db.writeBatch`)
      const batch = await batchStatementsPerSecond(directory, batchRows, 'batch')
      return [
        {
          metric: `db.insert ×${bulkCount} rows, one commit`,
          unit: 'rows/s',
          strata: strata.rowsPerSecond,
          baseline,
          baselineName: 'better-sqlite3 (1 tx)',
          details: { rowCount: bulkCount, durability: 'full' },
        },
        {
          metric: `db.writeBatch ×${batchCount} INSERTs vs one commit each`,
          unit: 'stmts/s',
          strata: batch,
          baseline: oneByOne,
          baselineName: 'Strata autocommit',
          details: { statementCount: batchCount, durability: 'full' },
        },
      ]
    })
  },
}
