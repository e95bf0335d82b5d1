/**
 * Disk footprint (issue 11, point 6): bytes per row of current state and bytes per version of history,
 * Strata against raw SQLite and raw DuckDB holding the same data. Target: an insert-only table takes at
 * most 1.5× the bytes SQLite takes for it.
 *
 * The data: `readings` (id INTEGER PRIMARY KEY, device, ts, v, n — bulk-write's generator), N rows in
 * one commit; then the first M keys updated K times, one commit per round (`UPDATE … SET v = v + 1,
 * n = n + 1 WHERE id < M`), so M·K versions are superseded.
 *
 * What is measured, on every side after its files are quiescent:
 * - Strata: the data directory's files except the lock and socket — strata.sqlite (+ -wal/-shm) and
 *   mirror.duckdb (+ .wal) — after `db.close()` and once the column store has caught up; then the row
 *   store's WAL is checkpointed (TRUNCATE) by opening strata.sqlite with raw better-sqlite3, and the
 *   mirror checkpointed by opening it with DuckDB, so no WAL holds data the main files do not. The
 *   mirror keeps current state only (it mirrors a table's history only after the first column-store
 *   read of its past, which this workload never makes).
 * - raw SQLite: one file, same schema in SQLite's own types (STRICT, ts as µs integers as Strata stores
 *   it), WAL checkpointed (TRUNCATE). Its history is what someone would build by hand for the same
 *   question ("the row as of time t"): a `readings_history` WITHOUT ROWID table keyed (id, system_to)
 *   holding each superseded version with its system_from and system_to.
 * - raw DuckDB: one file, the same two tables (readings with its PRIMARY KEY as declared, the history
 *   without an index), after CHECKPOINT.
 * File sizes are logical sizes (stat's size). Bytes per row = (size after the N rows − size with the
 * empty table), so fixed overhead (SQLite's schema page, DuckDB's header blocks, Strata's catalog and
 * ledger tables) is not charged to the rows; bytes per history version = (size after the K rounds −
 * size before them) ÷ (M·K), which charges each superseded version with everything its update left
 * behind (the old version kept, index entries, free pages, the mirror's deleted rows). A DuckDB file
 * grows by 256 KB blocks (and keeps blocks an UPDATE freed for reuse), so DuckDB's per-version figure
 * moves by 256 KB ÷ (M·K) per block — some bytes at the default sizes; the JSON gives that resolution.
 */
import { existsSync, statSync } from 'node:fs'
import { readdir, stat } from 'node:fs/promises'
import * as path from 'node:path'
import Database from 'better-sqlite3'
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import { open } from '../../src/index.js'
import type { Measurement } from '../report.js'
import { nowMs, scaledCount, waitForSync, withTemporaryDirectory, type Suite, type SuiteContext } from '../support.js'
import { appendReadingsIntoDuckdb, rawReadingsTableSql, readings, readingsTableSql, type Reading } from './bulk-write.js'

/** Files in a directory (not recursive) by name → logical size in bytes. */
async function fileSizes(directory: string, skip: (name: string) => boolean = () => false): Promise<Record<string, number>> {
  const sizes: Record<string, number> = {}
  for (const entry of await readdir(directory, { withFileTypes: true })) {
    if (!entry.isFile() || skip(entry.name)) continue
    sizes[entry.name] = (await stat(path.join(directory, entry.name))).size
  }
  return sizes
}

function total(sizes: Readonly<Record<string, number>>): number {
  return Object.values(sizes).reduce((sum, size) => sum + size, 0)
}

/** DuckDB's default block size: its files grow by this much at a time. */
const duckdbBlockBytes = 256 * 1024

/** The lock (and the server's socket) are not data: they are the same few bytes at any size. */
const notData = (name: string): boolean => name.startsWith('strata.lock') || name === 'strata.sock'

/** One side's sizes at the three points the ratios need. */
interface Footprint {
  readonly emptyBytes: number
  readonly insertedBytes: number
  readonly updatedBytes: number
  readonly details: Readonly<Record<string, unknown>>
}

/** The answer every side must give after the workload: current rows and sums, and all versions. */
interface Answer {
  readonly rowCount: number
  readonly nSum: number
  readonly vSum: number
  readonly versionCount: number
}

interface Plan {
  readonly rows: readonly Reading[]
  /** Keys 0 … keysUpdated−1 are updated. */
  readonly keysUpdated: number
  readonly rounds: number
}

function sameAnswer(left: Answer, right: Answer): boolean {
  return (
    left.rowCount === right.rowCount &&
    left.nSum === right.nSum &&
    left.versionCount === right.versionCount &&
    Math.abs(left.vSum - right.vSum) <= 1e-9 * Math.max(Math.abs(left.vSum), Math.abs(right.vSum))
  )
}

// ───────────── raw SQLite ─────────────

function sqliteFileBytes(file: string): number {
  // Fold the WAL into the main file and truncate it, so the main file alone holds the data.
  const database = new Database(file)
  try {
    database.pragma('wal_checkpoint(TRUNCATE)')
  } finally {
    database.close()
  }
  // Closing the last connection removes the WAL and shared-memory files; counted in case one stays.
  return sizeOrZero(file) + sizeOrZero(`${file}-wal`) + sizeOrZero(`${file}-shm`)
}

/** A file's size, 0 when it does not exist (a WAL that was truncated away, or never made). */
function sizeOrZero(file: string): number {
  return existsSync(file) ? statSync(file).size : 0
}

/** Pages by table or index, from SQLite's dbstat virtual table, plus free pages: where the bytes are. */
function sqliteBreakdown(file: string): Record<string, number> {
  const database = new Database(file, { readonly: true })
  try {
    const breakdown: Record<string, number> = {}
    const rows = database.prepare('SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC').all() as { name: string; bytes: number }[]
    for (const row of rows) breakdown[row.name] = row.bytes
    const pageSize = Number(database.pragma('page_size', { simple: true }))
    breakdown['(free pages)'] = Number(database.pragma('freelist_count', { simple: true })) * pageSize
    return breakdown
  } finally {
    database.close()
  }
}

function rawSqliteFootprint(directory: string, plan: Plan): { footprint: Footprint; answer: Answer } {
  const file = path.join(directory, 'raw.sqlite')
  const database = new Database(file)
  let clockUs = Date.UTC(2025, 0, 1) * 1000
  try {
    database.pragma('journal_mode = WAL')
    database.pragma('synchronous = FULL')
    database.exec(rawReadingsTableSql)
    database.exec(
      'CREATE TABLE readings_history (id INTEGER NOT NULL, device TEXT NOT NULL, ts INTEGER NOT NULL, v REAL, n INTEGER, ' +
        'system_from INTEGER NOT NULL, system_to INTEGER NOT NULL, PRIMARY KEY (id, system_to)) STRICT, WITHOUT ROWID',
    )
  } finally {
    database.close()
  }
  const emptyBytes = sqliteFileBytes(file)
  const loadedAtUs = clockUs
  const writer = new Database(file)
  try {
    writer.pragma('synchronous = FULL')
    const insert = writer.prepare('INSERT INTO readings VALUES (?, ?, ?, ?, ?)')
    writer.transaction(() => {
      for (const row of plan.rows) insert.run(row.id, row.device, row.ts.getTime() * 1000, row.v, row.n)
    })()
  } finally {
    writer.close()
  }
  const insertedBytes = sqliteFileBytes(file)
  const insertedBreakdown = sqliteBreakdown(file)
  const updater = new Database(file)
  let answer: Answer
  try {
    updater.pragma('synchronous = FULL')
    // Each round supersedes the current version of every updated key: the old one goes to the history
    // with the times it was current (the first from the load), the table gets the new one.
    const keep = updater.prepare(
      'INSERT INTO readings_history SELECT id, device, ts, v, n, ?, ? FROM readings WHERE id < ?',
    )
    const update = updater.prepare('UPDATE readings SET v = v + 1, n = n + 1 WHERE id < ?')
    let previousUs = loadedAtUs
    for (let round = 0; round < plan.rounds; round += 1) {
      clockUs += 1_000_000
      updater.transaction(() => {
        keep.run(previousUs, clockUs, plan.keysUpdated)
        update.run(plan.keysUpdated)
      })()
      previousUs = clockUs
    }
    const current = updater.prepare('SELECT count(*) AS rowCount, sum(n) AS nSum, sum(v) AS vSum FROM readings').get() as Omit<Answer, 'versionCount'>
    const history = updater.prepare('SELECT count(*) AS n FROM readings_history').get() as { n: number }
    answer = { ...current, versionCount: current.rowCount + history.n }
  } finally {
    updater.close()
  }
  const updatedBytes = sqliteFileBytes(file)
  return {
    footprint: {
      emptyBytes,
      insertedBytes,
      updatedBytes,
      details: { insertedBreakdown, updatedBreakdown: sqliteBreakdown(file) },
    },
    answer,
  }
}

// ───────────── raw DuckDB ─────────────

function duckdbFileBytes(file: string): number {
  return sizeOrZero(file) + sizeOrZero(`${file}.wal`)
}

async function withDuckdb<T>(file: string, body: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(file)
  const connection = await instance.connect()
  try {
    const result = await body(connection)
    await connection.run('CHECKPOINT')
    return result
  } finally {
    connection.closeSync()
    instance.closeSync()
  }
}

async function rawDuckdbFootprint(directory: string, plan: Plan): Promise<{ footprint: Footprint; answer: Answer }> {
  const file = path.join(directory, 'raw.duckdb')
  await withDuckdb(file, async (connection) => {
    await connection.run(readingsTableSql)
    await connection.run(
      'CREATE TABLE readings_history (id INTEGER NOT NULL, device VARCHAR NOT NULL, ts TIMESTAMP NOT NULL, v DOUBLE, n INTEGER, ' +
        'system_from TIMESTAMP NOT NULL, system_to TIMESTAMP NOT NULL)',
    )
  })
  const emptyBytes = duckdbFileBytes(file)
  await withDuckdb(file, (connection) => appendReadingsIntoDuckdb(connection, plan.rows))
  const insertedBytes = duckdbFileBytes(file)
  const answer = await withDuckdb(file, async (connection) => {
    let clockUs = Date.UTC(2025, 0, 1) * 1000
    let previousUs = clockUs
    for (let round = 0; round < plan.rounds; round += 1) {
      clockUs += 1_000_000
      await connection.run('BEGIN')
      await connection.run(
        `INSERT INTO readings_history SELECT id, device, ts, v, n, make_timestamp(${previousUs}::BIGINT), make_timestamp(${clockUs}::BIGINT) ` +
          `FROM readings WHERE id < ${plan.keysUpdated}`,
      )
      await connection.run(`UPDATE readings SET v = v + 1, n = n + 1 WHERE id < ${plan.keysUpdated}`)
      await connection.run('COMMIT')
      previousUs = clockUs
    }
    const current = (await connection.runAndReadAll('SELECT count(*) AS rowCount, sum(n) AS nSum, sum(v) AS vSum FROM readings')).getRowObjectsJS()[0] as Record<string, unknown>
    const history = (await connection.runAndReadAll('SELECT count(*) AS n FROM readings_history')).getRowObjectsJS()[0] as Record<string, unknown>
    const rowCount = Number(current['rowCount'])
    return { rowCount, nSum: Number(current['nSum']), vSum: Number(current['vSum']), versionCount: rowCount + Number(history['n']) }
  })
  const updatedBytes = duckdbFileBytes(file)
  return { footprint: { emptyBytes, insertedBytes, updatedBytes, details: {} }, answer }
}

// ───────────── Strata ─────────────

/**
 * The data directory's bytes once Strata has closed it, with both stores' write-ahead logs folded into
 * their main files (see the header), and where the row store's bytes are.
 */
async function strataDirectoryBytes(directory: string): Promise<{ bytes: number; files: Record<string, number>; rowStore: Record<string, number> }> {
  const rowStoreFile = path.join(directory, 'strata.sqlite')
  sqliteFileBytes(rowStoreFile)
  await withDuckdb(path.join(directory, 'mirror.duckdb'), async () => undefined)
  const files = await fileSizes(directory, notData)
  return { bytes: total(files), files, rowStore: sqliteBreakdown(rowStoreFile) }
}

async function strataFootprint(directory: string, plan: Plan, context: SuiteContext): Promise<{ footprint: Footprint; answer: Answer }> {
  const dataDirectory = path.join(directory, 'strata')
  let db = await open(dataDirectory)
  try {
    await db.query(readingsTableSql)
  } finally {
    await db.close()
  }
  const empty = await strataDirectoryBytes(dataDirectory)

  db = await open(dataDirectory)
  try {
    await db.insert('readings', plan.rows as unknown as Record<string, unknown>[])
    await waitForSync(db)
  } finally {
    await db.close()
  }
  const inserted = await strataDirectoryBytes(dataDirectory)

  db = await open(dataDirectory)
  let answer: Answer
  try {
    const startMs = nowMs()
    for (let round = 0; round < plan.rounds; round += 1) {
      const result = await db.query('UPDATE readings SET v = v + 1, n = n + 1 WHERE id < $1', [plan.keysUpdated])
      if (result.rowCount !== plan.keysUpdated) throw new Error(`UPDATE changed ${result.rowCount} rows, expected ${plan.keysUpdated}`)
    }
    await waitForSync(db)
    context.log(`Strata: ${plan.rounds} update rounds of ${plan.keysUpdated} keys in ${(nowMs() - startMs).toFixed(0)} ms`)
    // Read on the row store and on the column store: the mirror being measured must hold the same rows.
    const sums = 'SELECT count(*) AS "rowCount", sum(n) AS "nSum", sum(v) AS "vSum" FROM readings'
    const row = (await db.query(sums, [], { engine: 'row' })).rows[0] as Record<string, unknown>
    const column = (await db.query(sums, [], { engine: 'column' })).rows[0] as Record<string, unknown>
    const versions = (await db.query('SELECT count(*) AS n FROM readings FOR SYSTEM_TIME ALL', [], { engine: 'row' })).rows[0] as Record<string, unknown>
    const fromRow = { rowCount: Number(row['rowCount']), nSum: Number(row['nSum']), vSum: Number(row['vSum']), versionCount: Number(versions['n']) }
    const fromColumn = { ...fromRow, rowCount: Number(column['rowCount']), nSum: Number(column['nSum']), vSum: Number(column['vSum']) }
    if (!sameAnswer(fromRow, fromColumn)) throw new Error(`Strata's stores disagree: row ${JSON.stringify(fromRow)}, column ${JSON.stringify(fromColumn)}`)
    answer = fromRow
  } finally {
    await db.close()
  }
  const updated = await strataDirectoryBytes(dataDirectory)
  return {
    footprint: {
      emptyBytes: empty.bytes,
      insertedBytes: inserted.bytes,
      updatedBytes: updated.bytes,
      details: {
        emptyFiles: empty.files,
        insertedFiles: inserted.files,
        updatedFiles: updated.files,
        insertedRowStore: inserted.rowStore,
        updatedRowStore: updated.rowStore,
      },
    },
    answer,
  }
}

function rowStoreBytes(files: unknown): number {
  const sizes = files as Record<string, number>
  return Object.entries(sizes)
    .filter(([name]) => name.startsWith('strata.sqlite'))
    .reduce((sum, [, size]) => sum + size, 0)
}

export const footprintSuite: Suite = {
  name: 'footprint',
  description: 'disk bytes per row (insert-only) and per history version: Strata vs raw SQLite and raw DuckDB, same data',
  async run(context: SuiteContext): Promise<Measurement[]> {
    const rowCount = scaledCount(context, 200_000, 2_000)
    const plan: Plan = {
      rows: readings(context.seed, rowCount),
      // Strata updates with its history triggers at some 15K rows/s: 50K superseded versions are plenty.
      keysUpdated: Math.max(100, Math.floor(rowCount / 40)),
      rounds: 10,
    }
    const versionsSuperseded = plan.keysUpdated * plan.rounds
    return withTemporaryDirectory('footprint', async (directory) => {
      context.log(`${rowCount} rows, then ${plan.rounds} rounds updating ${plan.keysUpdated} keys: raw SQLite`)
      const sqlite = rawSqliteFootprint(directory, plan)
      context.log('the same into raw DuckDB')
      const duckdb = await rawDuckdbFootprint(directory, plan)
      context.log('the same into Strata')
      const strata = await strataFootprint(directory, plan, context)
      for (const [name, side] of [['SQLite', sqlite], ['DuckDB', duckdb]] as const) {
        if (!sameAnswer(strata.answer, side.answer)) {
          throw new Error(`Strata and ${name} hold different data: ${JSON.stringify(strata.answer)} vs ${JSON.stringify(side.answer)}`)
        }
      }
      const perRow = (footprint: Footprint): number => (footprint.insertedBytes - footprint.emptyBytes) / rowCount
      const perVersion = (footprint: Footprint): number => (footprint.updatedBytes - footprint.insertedBytes) / versionsSuperseded
      const strataDetails = strata.footprint.details as Record<string, unknown>
      const strataRowStorePerRow =
        (rowStoreBytes(strataDetails['insertedFiles']) - rowStoreBytes(strataDetails['emptyFiles'])) / rowCount
      const sizes = (footprint: Footprint): Record<string, number> => ({
        emptyBytes: footprint.emptyBytes,
        insertedBytes: footprint.insertedBytes,
        updatedBytes: footprint.updatedBytes,
      })
      const common = {
        rowCount,
        keysUpdated: plan.keysUpdated,
        rounds: plan.rounds,
        versionsSuperseded,
        duckdbBlockResolutionBytesPerVersion: duckdbBlockBytes / versionsSuperseded,
        answer: strata.answer,
      }
      context.log(
        `bytes per row: Strata ${perRow(strata.footprint).toFixed(1)} (row store ${strataRowStorePerRow.toFixed(1)}), ` +
          `SQLite ${perRow(sqlite.footprint).toFixed(1)}, DuckDB ${perRow(duckdb.footprint).toFixed(1)}`,
      )
      return [
        {
          metric: `insert-only table, bytes per row (data directory) ×${rowCount}`,
          unit: 'B/row',
          strata: perRow(strata.footprint),
          baseline: perRow(sqlite.footprint),
          baselineName: 'sqlite file',
          details: { ...common, strata: { ...sizes(strata.footprint), ...strata.footprint.details }, sqlite: { ...sizes(sqlite.footprint), ...sqlite.footprint.details } },
        },
        {
          metric: `insert-only table, bytes per row (data directory) ×${rowCount}`,
          unit: 'B/row',
          strata: perRow(strata.footprint),
          baseline: perRow(duckdb.footprint),
          baselineName: 'duckdb file',
          details: { ...common, duckdb: sizes(duckdb.footprint) },
        },
        {
          // Both stores against both systems holding the same rows: what Strata replaces.
          metric: `insert-only table, bytes per row (data directory) ×${rowCount}`,
          unit: 'B/row',
          strata: perRow(strata.footprint),
          baseline: perRow(sqlite.footprint) + perRow(duckdb.footprint),
          baselineName: 'sqlite file + duckdb file',
          details: common,
        },
        {
          // The target (issue 11): the table as SQLite holds it, against SQLite holding it. The mirror is
          // the column store's own copy, compared in the row above.
          metric: `insert-only table, bytes per row (row store strata.sqlite only) ×${rowCount}`,
          unit: 'B/row',
          strata: strataRowStorePerRow,
          baseline: perRow(sqlite.footprint),
          baselineName: 'sqlite file',
          target: { kind: 'ratioAtMost', value: 1.5 },
          details: common,
        },
        {
          metric: `history, bytes per superseded version (${plan.rounds} updates × ${plan.keysUpdated} keys)`,
          unit: 'B/version',
          strata: perVersion(strata.footprint),
          baseline: perVersion(sqlite.footprint),
          baselineName: 'sqlite, history table by hand',
          details: common,
        },
        {
          metric: `history, bytes per superseded version (${plan.rounds} updates × ${plan.keysUpdated} keys)`,
          unit: 'B/version',
          strata: perVersion(strata.footprint),
          baseline: perVersion(duckdb.footprint),
          baselineName: 'duckdb, history table by hand',
          details: common,
        },
      ]
    })
  },
}
