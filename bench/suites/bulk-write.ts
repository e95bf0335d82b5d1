/**
 * Bulk and batch writes (SPEC 7). Comparisons:
 * - `db.insert(table, rows)` — many row objects, one commit, with the ledger and history — against raw
 *   better-sqlite3 inserting the same objects with a prepared INSERT in one transaction (same pragmas:
 *   WAL, synchronous=FULL); once until the commit returns, once until the column store is current too
 *   (issue 11: the mirror must catch up before an analytical read sees the rows). No SPEC 12 target;
 *   issue 11 asks for ≥ 0.6× including the column store.
 * - the same `db.insert` against the peers' own bulk paths on the same rows: DuckDB's appender into a
 *   file database (one commit), and PGlite's `COPY … FROM '/dev/blob'` (one statement; the CSV text is
 *   built inside the timing). PGlite's durability is named in its label (bench/pglite.ts).
 * - `db.writeBatch([...])` — parameterised statements, one commit — against the same statements sent
 *   one by one through Strata, each its own commit (the baseline here is Strata itself).
 * - right after the insert, an UPDATE of every other row whose condition only DuckDB evaluates in Strata
 *   (`id % 2 = 0`), against raw better-sqlite3 running the same UPDATE.
 * Every side must end with the same row count and the same sums of n and v.
 */
import * as path from 'node:path'
import Database from 'better-sqlite3'
import { DuckDBInstance, DuckDBTimestampValue, type DuckDBConnection } from '@duckdb/node-api'
import { open } from '../../src/index.js'
import { copyRowsIntoPglite, describePgliteDurability, openPglite } from '../pglite.js'
import type { Measurement } from '../report.js'
import { nowMs, perSecond, scaledCount, SeededRandom, waitForSync, withTemporaryDirectory, type Suite, type SuiteContext } from '../support.js'

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
/** PostgreSQL spells DOUBLE as DOUBLE PRECISION; otherwise the table Strata and DuckDB are given. */
export const pgReadingsTableSql = 'CREATE TABLE readings (id INTEGER PRIMARY KEY, device TEXT NOT NULL, ts TIMESTAMP NOT NULL, v DOUBLE PRECISION, n INTEGER)'

/** Count and sums every side must agree on after loading the same readings. */
export interface ReadingsChecksum {
  readonly rowCount: number
  readonly nSum: number
  readonly vSum: number
}

export const readingsChecksumSql = 'SELECT count(*) AS "rowCount", sum(n) AS "nSum", sum(v) AS "vSum" FROM readings'

export function checksumOf(row: Readonly<Record<string, unknown>> | undefined): ReadingsChecksum {
  return { rowCount: Number(row?.['rowCount']), nSum: Number(row?.['nSum']), vSum: Number(row?.['vSum']) }
}

/** Throws unless two checksums agree (v's sum within rounding: each side adds doubles in its own order). */
export function assertSameChecksum(what: string, left: ReadingsChecksum, right: ReadingsChecksum): void {
  const vClose = Math.abs(left.vSum - right.vSum) <= 1e-9 * Math.max(Math.abs(left.vSum), Math.abs(right.vSum))
  if (left.rowCount !== right.rowCount || left.nSum !== right.nSum || !vClose) {
    throw new Error(`${what}: ${JSON.stringify(left)} vs ${JSON.stringify(right)}`)
  }
}

/**
 * Appends readings with DuckDB's appender (its fastest way in from JavaScript), flushed and closed, so
 * the rows are committed when it returns.
 */
export async function appendReadingsIntoDuckdb(connection: DuckDBConnection, rows: readonly Reading[]): Promise<void> {
  const appender = await connection.createAppender('readings')
  try {
    for (const row of rows) {
      appender.appendInteger(row.id)
      appender.appendVarchar(row.device)
      appender.appendTimestamp(new DuckDBTimestampValue(BigInt(row.ts.getTime()) * 1000n))
      appender.appendDouble(row.v)
      appender.appendInteger(row.n)
      appender.endRow()
    }
    appender.flushSync()
  } finally {
    appender.closeSync()
  }
}

/**
 * Right after the bulk insert: an UPDATE of every other row whose condition only the column store
 * evaluates in Strata (% in a condition), so the row store applies the evaluated rows by key. It was
 * quadratic in the rows (a statement per row inside the statement's savepoint); raw better-sqlite3 runs
 * it as one statement.
 */
const halfUpdateSql = 'UPDATE readings SET n = n + 1 WHERE id % 2 = 0'

interface UpdateAfterInsert {
  readonly updateRowsPerSecond: number
  readonly updated: number
  readonly updatedChecksum: ReadingsChecksum
}

function rawBulk(directory: string, rows: readonly Reading[]): { rowsPerSecond: number; checksum: ReadingsChecksum } & UpdateAfterInsert {
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
    const rowsPerSecond = perSecond(rows.length, nowMs() - startMs)
    const checksum = checksumOf(database.prepare(readingsChecksumSql).get() as Record<string, unknown>)
    const updateStartMs = nowMs()
    const updated = database.prepare(halfUpdateSql).run().changes
    const updateRowsPerSecond = perSecond(updated, nowMs() - updateStartMs)
    return { rowsPerSecond, checksum, updateRowsPerSecond, updated, updatedChecksum: checksumOf(database.prepare(readingsChecksumSql).get() as Record<string, unknown>) }
  } finally {
    database.close()
  }
}

async function duckdbBulk(directory: string, rows: readonly Reading[]): Promise<{ rowsPerSecond: number; checksum: ReadingsChecksum }> {
  const instance = await DuckDBInstance.create(path.join(directory, 'baseline.duckdb'))
  const connection = await instance.connect()
  try {
    await connection.run(readingsTableSql)
    const startMs = nowMs()
    await appendReadingsIntoDuckdb(connection, rows)
    const rowsPerSecond = perSecond(rows.length, nowMs() - startMs)
    return { rowsPerSecond, checksum: checksumOf((await connection.runAndReadAll(readingsChecksumSql)).getRowObjectsJS()[0]) }
  } finally {
    connection.closeSync()
    instance.closeSync()
  }
}

async function pgliteBulk(directory: string, rows: readonly Reading[]): Promise<{ rowsPerSecond: number; checksum: ReadingsChecksum; label: string; durability: string }> {
  const peer = await openPglite(path.join(directory, 'pglite'))
  try {
    await peer.db.exec(pgReadingsTableSql)
    const startMs = nowMs()
    const copied = await copyRowsIntoPglite(peer.db, 'readings', rows.map((row) => [row.id, row.device, row.ts, row.v, row.n]))
    const rowsPerSecond = perSecond(rows.length, nowMs() - startMs)
    if (copied !== rows.length) throw new Error(`PGlite's COPY loaded ${copied} of ${rows.length} rows`)
    const checksum = checksumOf((await peer.db.query<Record<string, unknown>>(readingsChecksumSql)).rows[0])
    return { rowsPerSecond, checksum, label: peer.label, durability: describePgliteDurability(peer.durability) }
  } finally {
    await peer.close()
  }
}

interface StrataBulk {
  /** db.insert until its commit returned. */
  readonly commitRowsPerSecond: number
  /** db.insert and then until the column store reflects the commit. */
  readonly currentRowsPerSecond: number
  readonly commitDurationMs: number
  readonly catchUpDurationMs: number
  readonly checksum: ReadingsChecksum
}

async function strataBulk(directory: string, rows: readonly Reading[]): Promise<StrataBulk & UpdateAfterInsert> {
  const db = await open(path.join(directory, 'strata-bulk'))
  try {
    await db.query(readingsTableSql)
    const startMs = nowMs()
    const summary = await db.insert('readings', rows as unknown as Record<string, unknown>[])
    const commitDurationMs = nowMs() - startMs
    const sync = await waitForSync(db, { pollIntervalMs: 1 })
    const rowChecksum = checksumOf((await db.query(readingsChecksumSql, [], { engine: 'row' })).rows[0])
    const columnChecksum = checksumOf((await db.query(readingsChecksumSql, [], { engine: 'column' })).rows[0])
    assertSameChecksum("Strata's row store vs its column store", rowChecksum, columnChecksum)
    if (rowChecksum.rowCount !== rows.length || summary.rowCount !== rows.length) throw new Error(`db.insert stored ${rowChecksum.rowCount} of ${rows.length} rows`)
    const updateStartMs = nowMs()
    const updated = (await db.query(halfUpdateSql)).rowCount
    const updateRowsPerSecond = perSecond(updated, nowMs() - updateStartMs)
    await waitForSync(db, { pollIntervalMs: 1 })
    const updatedChecksum = checksumOf((await db.query(readingsChecksumSql, [], { engine: 'row' })).rows[0])
    assertSameChecksum("Strata's row store vs its column store after the UPDATE", updatedChecksum, checksumOf((await db.query(readingsChecksumSql, [], { engine: 'column' })).rows[0]))
    return {
      updateRowsPerSecond,
      updated,
      updatedChecksum,
      commitRowsPerSecond: perSecond(rows.length, commitDurationMs),
      currentRowsPerSecond: perSecond(rows.length, commitDurationMs + sync.durationMs),
      commitDurationMs,
      catchUpDurationMs: sync.durationMs,
      checksum: rowChecksum,
    }
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
      const baseline = rawBulk(directory, rows)
      context.log(`${bulkCount} rows into raw DuckDB through its appender`)
      const duckdb = await duckdbBulk(directory, rows)
      context.log(`${bulkCount} rows into PGlite through COPY`)
      const pglite = await pgliteBulk(directory, rows)
      context.log(`${bulkCount} rows through db.insert`)
      const strata = await strataBulk(directory, rows)
      assertSameChecksum('Strata vs better-sqlite3', strata.checksum, baseline.checksum)
      assertSameChecksum('Strata vs DuckDB', strata.checksum, duckdb.checksum)
      assertSameChecksum('Strata vs PGlite', strata.checksum, pglite.checksum)
      assertSameChecksum('Strata vs better-sqlite3 after the UPDATE', strata.updatedChecksum, baseline.updatedChecksum)
      if (strata.updated !== baseline.updated) throw new Error(`the UPDATE changed ${strata.updated} rows in Strata, ${baseline.updated} in better-sqlite3`)
      context.log(
        `db.insert: ${strata.commitDurationMs.toFixed(0)} ms to commit, ${strata.catchUpDurationMs.toFixed(0)} ms more until the column store was current`,
      )
      const batchRows = rows.slice(0, batchCount)
      context.log(`${batchCount} INSERT statements, one commit each`)
      const oneByOne = await batchStatementsPerSecond(directory, batchRows, 'one-by-one')
      context.log(`${batchCount} INSERT statements in one db.writeBatch`)
      const batch = await batchStatementsPerSecond(directory, batchRows, 'batch')
      const strataTimes = { commitDurationMs: strata.commitDurationMs, catchUpDurationMs: strata.catchUpDurationMs }
      return [
        {
          metric: `db.insert ×${bulkCount} rows, one commit`,
          unit: 'rows/s',
          strata: strata.commitRowsPerSecond,
          baseline: baseline.rowsPerSecond,
          baselineName: 'better-sqlite3 (1 tx)',
          details: { rowCount: bulkCount, durability: 'full', ...strataTimes },
        },
        {
          metric: `db.insert ×${bulkCount} rows, until the column store is current`,
          unit: 'rows/s',
          strata: strata.currentRowsPerSecond,
          baseline: baseline.rowsPerSecond,
          baselineName: 'better-sqlite3 (1 tx)',
          target: { kind: 'ratioAtLeast', value: 0.6 },
          details: { rowCount: bulkCount, durability: 'full', target: 'issue 11 point 2', ...strataTimes },
        },
        {
          metric: `db.insert ×${bulkCount} rows, one commit`,
          unit: 'rows/s',
          strata: strata.commitRowsPerSecond,
          baseline: duckdb.rowsPerSecond,
          baselineName: 'duckdb appender',
          details: { rowCount: bulkCount, ...strataTimes },
        },
        {
          metric: `db.insert ×${bulkCount} rows, one commit`,
          unit: 'rows/s',
          strata: strata.commitRowsPerSecond,
          baseline: pglite.rowsPerSecond,
          baselineName: `${pglite.label} COPY`,
          details: { rowCount: bulkCount, strataDurability: 'full', pgliteDurability: pglite.durability, pgliteMethod: "COPY readings FROM '/dev/blob' (CSV built in the timing)", ...strataTimes },
        },
        {
          metric: `UPDATE of every other row (% in a condition) right after db.insert ×${bulkCount}`,
          unit: 'rows/s',
          strata: strata.updateRowsPerSecond,
          baseline: baseline.updateRowsPerSecond,
          baselineName: 'better-sqlite3 (1 statement)',
          details: { rowCount: strata.updated, durability: 'full', strataPath: 'the column store evaluates, the row store applies by key' },
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
