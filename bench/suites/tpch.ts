/**
 * TPC-H-like analytical queries over data from our own generator (bench/generate.ts), loaded into
 * Strata through its public API and into a raw DuckDB database file from the same CSV files. Each
 * query runs on both, the results must be equal (same columns, same rows, numbers within 1e-6
 * relative), and the median times are compared. SPEC 12: ≤ 1.15× raw DuckDB.
 *
 * The queries are TPC-H Q1, Q3, Q6 and Q12 as written, and Q5 and Q10 adapted to the three generated
 * tables (nation becomes c_nationkey). ORDER BY lists carry tie-breakers so both sides' row order is
 * fully determined and rows can be compared by position. Dates use `DATE '…' ± INTERVAL '…'`, which
 * both PostgreSQL's and DuckDB's grammars accept.
 *
 * Two more comparisons on the same generated data (issue 11):
 * - the load against raw better-sqlite3 loading the same rows (the same CREATE TABLE text, prepared
 *   single-row INSERTs in transactions of the same size as Strata's, WAL, synchronous=FULL), in rows/s;
 * - PGlite (bench/pglite.ts; its durability is named in its label) loaded by `COPY … FROM '/dev/blob'`
 *   from the same CSV files plus an ANALYZE (PGlite runs no autovacuum, so without it the planner has
 *   no statistics), and the same queries, whose answers must equal DuckDB's. PGlite takes hundreds of
 *   milliseconds per query here, so it gets two timed runs, after Strata and DuckDB are done.
 */
import { readFile } from 'node:fs/promises'
import * as path from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import type { PGlite } from '@electric-sql/pglite'
import { open } from '../../src/index.js'
import type { Database } from '../../src/interfaces/api/types.js'
import {
  createTableSql,
  generateAllTables,
  tpchTables,
  writeRowsCsv,
  type CellValue,
  type GenerateOptions,
  type TableDefinition,
} from '../generate.js'
import { copyBlobIntoPglite, describePgliteDurability, openPglite } from '../pglite.js'
import type { Measurement } from '../report.js'
import {
  chunks,
  geometricMean,
  insertRowsBatched,
  median,
  nowMs,
  perSecond,
  waitForSync,
  withTemporaryDirectory,
  type Suite,
  type SuiteContext,
} from '../support.js'

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0)
}

interface TpchQuery {
  readonly name: string
  readonly sql: string
}

export const tpchQueries: readonly TpchQuery[] = [
  {
    name: 'Q1 pricing summary',
    sql: `SELECT l_returnflag, l_linestatus,
        sum(l_quantity) AS sum_qty,
        sum(l_extendedprice) AS sum_base_price,
        sum(l_extendedprice * (1 - l_discount)) AS sum_disc_price,
        sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)) AS sum_charge,
        avg(l_quantity) AS avg_qty,
        avg(l_extendedprice) AS avg_price,
        avg(l_discount) AS avg_disc,
        count(*) AS count_order
      FROM lineitem
      WHERE l_shipdate <= DATE '1998-12-01' - INTERVAL '90 days'
      GROUP BY l_returnflag, l_linestatus
      ORDER BY l_returnflag, l_linestatus`,
  },
  {
    name: 'Q3 shipping priority',
    sql: `SELECT l_orderkey, sum(l_extendedprice * (1 - l_discount)) AS revenue, o_orderdate, o_shippriority
      FROM customer, orders, lineitem
      WHERE c_mktsegment = 'BUILDING'
        AND c_custkey = o_custkey
        AND l_orderkey = o_orderkey
        AND o_orderdate < DATE '1995-03-15'
        AND l_shipdate > DATE '1995-03-15'
      GROUP BY l_orderkey, o_orderdate, o_shippriority
      ORDER BY revenue DESC, o_orderdate, l_orderkey
      LIMIT 10`,
  },
  {
    name: 'Q5-like revenue by nation',
    sql: `SELECT c_nationkey, sum(l_extendedprice * (1 - l_discount)) AS revenue, count(DISTINCT o_orderkey) AS order_count
      FROM customer
        JOIN orders ON c_custkey = o_custkey
        JOIN lineitem ON l_orderkey = o_orderkey
      WHERE o_orderdate >= DATE '1994-01-01'
        AND o_orderdate < DATE '1994-01-01' + INTERVAL '1 year'
      GROUP BY c_nationkey
      ORDER BY revenue DESC, c_nationkey`,
  },
  {
    name: 'Q6 forecast revenue',
    sql: `SELECT sum(l_extendedprice * l_discount) AS revenue
      FROM lineitem
      WHERE l_shipdate >= DATE '1994-01-01'
        AND l_shipdate < DATE '1994-01-01' + INTERVAL '1 year'
        AND l_discount BETWEEN 0.05 AND 0.07
        AND l_quantity < 24`,
  },
  {
    name: 'Q10-like returned items',
    sql: `SELECT c_custkey, c_name, sum(l_extendedprice * (1 - l_discount)) AS revenue,
        c_acctbal, c_nationkey, c_address, c_phone, c_comment
      FROM customer, orders, lineitem
      WHERE c_custkey = o_custkey
        AND l_orderkey = o_orderkey
        AND o_orderdate >= DATE '1993-10-01'
        AND o_orderdate < DATE '1993-10-01' + INTERVAL '3 months'
        AND l_returnflag = 'R'
      GROUP BY c_custkey, c_name, c_acctbal, c_phone, c_nationkey, c_address, c_comment
      ORDER BY revenue DESC, c_custkey
      LIMIT 20`,
  },
  {
    name: 'Q12 shipping modes',
    sql: `SELECT l_shipmode,
        sum(CASE WHEN o_orderpriority = '1-URGENT' OR o_orderpriority = '2-HIGH' THEN 1 ELSE 0 END) AS high_line_count,
        sum(CASE WHEN o_orderpriority <> '1-URGENT' AND o_orderpriority <> '2-HIGH' THEN 1 ELSE 0 END) AS low_line_count
      FROM orders, lineitem
      WHERE o_orderkey = l_orderkey
        AND l_shipmode IN ('MAIL', 'SHIP')
        AND l_commitdate < l_receiptdate
        AND l_shipdate < l_commitdate
        AND l_receiptdate >= DATE '1994-01-01'
        AND l_receiptdate < DATE '1994-01-01' + INTERVAL '1 year'
      GROUP BY l_shipmode
      ORDER BY l_shipmode`,
  },
]

/** A query's answer reduced to what both sides must agree on. */
interface Answer {
  readonly columnNames: readonly string[]
  readonly rows: readonly (readonly unknown[])[]
}

const relativeTolerance = 1e-6

/**
 * The same value in a form both sides share: Strata returns DATE as 'YYYY-MM-DD' and BIGINT as number
 * (SPEC 3), DuckDB's JS conversion returns Date and bigint.
 */
function comparable(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value)
  if (value instanceof Date) {
    const iso = value.toISOString()
    return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso
  }
  return value
}

function valuesEqual(left: unknown, right: unknown): boolean {
  const a = comparable(left)
  const b = comparable(right)
  if (typeof a === 'number' && typeof b === 'number') {
    if (a === b) return true
    return Math.abs(a - b) <= relativeTolerance * Math.max(Math.abs(a), Math.abs(b))
  }
  return a === b
}

/** Throws, naming the first difference, unless the two answers are equal. */
function assertSameAnswer(queryName: string, strata: Answer, duckdb: Answer, names = 'Strata and DuckDB'): void {
  const fail = (what: string): never => {
    throw new Error(`${queryName}: ${names} disagree: ${what}`)
  }
  if (strata.columnNames.join(',') !== duckdb.columnNames.join(',')) {
    fail(`columns [${strata.columnNames.join(', ')}] vs [${duckdb.columnNames.join(', ')}]`)
  }
  if (strata.rows.length !== duckdb.rows.length) fail(`${strata.rows.length} rows vs ${duckdb.rows.length} rows`)
  if (strata.rows.length === 0) fail('both returned no rows, so the data or the query is wrong')
  strata.rows.forEach((strataRow, rowIndex) => {
    const duckdbRow = duckdb.rows[rowIndex] as readonly unknown[]
    strataRow.forEach((value, columnIndex) => {
      if (!valuesEqual(value, duckdbRow[columnIndex])) {
        fail(
          `row ${rowIndex + 1}, column ${strata.columnNames[columnIndex]}: ` +
            `${String(comparable(value))} (${typeof value}) vs ${String(comparable(duckdbRow[columnIndex]))} (${typeof duckdbRow[columnIndex]})`,
        )
      }
    })
  })
}

async function runStrata(db: Database, sql: string): Promise<{ answer: Answer; durationMs: number; engine: string }> {
  const startMs = nowMs()
  const result = await db.query(sql)
  const durationMs = nowMs() - startMs
  const columnNames = result.columns.map((column) => column.name)
  const rows = result.rows.map((row) => columnNames.map((name) => row[name]))
  return { answer: { columnNames, rows }, durationMs, engine: result.engine }
}

/** PostgreSQL's numeric type: PGlite returns it as exact text, the others as numbers. */
const numericTypeId = 1700

/** PGlite as a user would call it; NUMERIC text becomes a number only for the comparison, after timing. */
async function runPglite(db: PGlite, sql: string): Promise<{ answer: Answer; durationMs: number }> {
  const startMs = nowMs()
  const result = await db.query<Record<string, unknown>>(sql)
  const durationMs = nowMs() - startMs
  const columnNames = result.fields.map((field) => field.name)
  const numeric = result.fields.map((field) => field.dataTypeID === numericTypeId)
  const rows = result.rows.map((row) => columnNames.map((name, index) => (numeric[index] && typeof row[name] === 'string' ? Number(row[name]) : row[name])))
  return { answer: { columnNames, rows }, durationMs }
}

/** The baseline materialises JS row objects too, as a DuckDB user would, so both sides pay for results. */
async function runDuckdb(connection: DuckDBConnection, sql: string): Promise<{ answer: Answer; durationMs: number }> {
  const startMs = nowMs()
  const reader = await connection.runAndReadAll(sql)
  const objects = reader.getRowObjectsJS()
  const durationMs = nowMs() - startMs
  const columnNames = reader.columnNames()
  const rows = objects.map((row) => columnNames.map((name) => row[name]))
  return { answer: { columnNames, rows }, durationMs }
}

type LoadMethod = 'insert' | 'import'

function loadMethod(): LoadMethod {
  const value = process.env['STRATA_BENCH_TPCH_LOAD'] ?? 'insert'
  if (value !== 'insert' && value !== 'import') throw new Error(`STRATA_BENCH_TPCH_LOAD must be insert or import, not ${value}`)
  return value
}

/** Rows per Strata transaction when loading by INSERT: big enough to amortise the commit, small enough
 *  that one transaction's CDC batch stays moderate. */
const loadTransactionRows = 100_000

/** The generated rows, in memory so that no side's load time includes generating them. */
type GeneratedRows = Readonly<Record<TableDefinition['name'], readonly CellValue[][]>>

async function loadStrata(
  db: Database,
  options: { readonly method: LoadMethod; readonly csvFiles: ReadonlyMap<string, string>; readonly rows: GeneratedRows },
): Promise<void> {
  for (const table of tpchTables) {
    await db.query(createTableSql(table))
    if (options.method === 'import') {
      await db.importFile(options.csvFiles.get(table.name) as string, { table: table.name })
      continue
    }
    for (const chunk of chunks(options.rows[table.name], loadTransactionRows)) {
      // Fewer rows per statement for wide tables keeps each statement's parameter list near 4,000.
      const rowsPerStatement = Math.max(1, Math.floor(4_000 / table.columns.length))
      await db.transaction((transaction) => insertRowsBatched(transaction, { table: table.name, rows: chunk, rowsPerStatement }))
    }
  }
}

async function loadDuckdb(connection: DuckDBConnection, csvFiles: ReadonlyMap<string, string>): Promise<void> {
  for (const table of tpchTables) {
    await connection.run(createTableSql(table))
    const file = (csvFiles.get(table.name) as string).replaceAll("'", "''")
    await connection.run(`COPY ${table.name} FROM '${file}' (FORMAT csv, HEADER true)`)
  }
  await connection.run('CHECKPOINT')
}

/**
 * The same generated rows into raw better-sqlite3, with the same CREATE TABLE text (SQLite takes
 * DECIMAL, VARCHAR and DATE as type names with their affinities) and the same transaction size as
 * Strata's load. Returns the rows loaded per table.
 */
function loadSqlite(file: string, rows: GeneratedRows): Record<string, number> {
  const database = new BetterSqlite3(file)
  try {
    database.pragma('journal_mode = WAL')
    database.pragma('synchronous = FULL')
    const counts: Record<string, number> = {}
    for (const table of tpchTables) {
      database.exec(createTableSql(table))
      const insert = database.prepare(`INSERT INTO ${table.name} VALUES (${table.columns.map(() => '?').join(', ')})`)
      const insertChunk = database.transaction((rows: readonly (readonly unknown[])[]) => {
        for (const row of rows) insert.run(...row)
      })
      for (const chunk of chunks(rows[table.name], loadTransactionRows)) insertChunk(chunk)
      counts[table.name] = Number((database.prepare(`SELECT count(*) AS n FROM ${table.name}`).get() as { n: number }).n)
    }
    return counts
  } finally {
    database.close()
  }
}

/** The CSV files into PGlite by COPY (one statement per table), then ANALYZE. */
async function loadPglite(db: PGlite, csvFiles: ReadonlyMap<string, string>): Promise<void> {
  for (const table of tpchTables) {
    await db.exec(createTableSql(table))
    const blob = new Blob([await readFile(csvFiles.get(table.name) as string)])
    await copyBlobIntoPglite(db, table.name, blob, { header: true })
  }
  await db.exec('ANALYZE')
}

async function rowCounts(
  count: (sql: string) => Promise<unknown>,
  tables: readonly TableDefinition[],
): Promise<Record<string, number>> {
  const counts: Record<string, number> = {}
  for (const table of tables) counts[table.name] = Number(await count(`SELECT count(*) AS n FROM ${table.name}`))
  return counts
}

export const tpchSuite: Suite = {
  name: 'tpch',
  description: 'TPC-H-like Q1, Q3, Q5, Q6, Q10, Q12 on generated customer/orders/lineitem, Strata vs raw DuckDB',
  async run(context: SuiteContext): Promise<Measurement[]> {
    // SF 0.1 ≈ 600K line items: big enough that DuckDB's time is mostly query work, small enough for
    // the whole bench to finish in minutes on two cores.
    // Rounded so the report says "SF 0.1", not "SF 0.10000000000000001".
    const generate: GenerateOptions = { scaleFactor: Number((0.1 * context.scale).toPrecision(6)), seed: context.seed }
    const repetitionsMin = 7
    const repetitionsMax = 60
    const repetitionBudgetMs = 600
    // PGlite's queries take 100–1,600 ms each at SF 0.1: two timed runs (the first also checked; its
    // buffers are warm from the load) keep the suite short.
    const pgliteRepetitions = 2
    const method = loadMethod()
    return withTemporaryDirectory('tpch', async (directory) => {
      const csvFiles = new Map<string, string>()
      const generatedRowCounts: Record<string, number> = {}
      let startMs = nowMs()
      // Generated once, kept in memory for the INSERT loads and written as CSV for the COPY loads: a
      // side's load time is its database's work, not our generator's (it used to include it for Strata).
      let generatedRows: GeneratedRows | undefined = generateAllTables(generate)
      for (const table of tpchTables) {
        const file = path.join(directory, `${table.name}.csv`)
        generatedRowCounts[table.name] = await writeRowsCsv(table, generatedRows[table.name], file)
        csvFiles.set(table.name, file)
      }
      const generateDurationMs = nowMs() - startMs
      context.log(`generated SF ${generate.scaleFactor} in ${generateDurationMs.toFixed(0)} ms: ${JSON.stringify(generatedRowCounts)}`)

      const instance = await DuckDBInstance.create(path.join(directory, 'baseline.duckdb'))
      const connection = await instance.connect()
      let db: Database | undefined
      try {
        const strata = await open(path.join(directory, 'strata'))
        db = strata
        startMs = nowMs()
        await loadDuckdb(connection, csvFiles)
        const duckdbLoadDurationMs = nowMs() - startMs
        context.log(`DuckDB loaded in ${duckdbLoadDurationMs.toFixed(0)} ms (COPY from CSV)`)

        startMs = nowMs()
        await loadStrata(strata, { method, csvFiles, rows: generatedRows })
        const strataCommitDurationMs = nowMs() - startMs
        const sync = await waitForSync(strata)
        const strataLoadDurationMs = nowMs() - startMs
        context.log(
          `Strata loaded in ${strataLoadDurationMs.toFixed(0)} ms (${method}: ${strataCommitDurationMs.toFixed(0)} ms to commit, ` +
            `${sync.durationMs.toFixed(0)} ms more until the column store caught up)`,
        )
        context.log('the same rows into raw better-sqlite3')
        startMs = nowMs()
        const sqliteCounts = loadSqlite(path.join(directory, 'baseline.sqlite'), generatedRows)
        const sqliteLoadDurationMs = nowMs() - startMs
        // Some hundreds of megabytes the queries should not run beside.
        generatedRows = undefined

        const strataCounts = await rowCounts(async (sql) => (await strata.query(sql)).rows[0]?.['n'], tpchTables)
        const duckdbCounts = await rowCounts(
          async (sql) => (await connection.runAndReadAll(sql)).getRowObjectsJS()[0]?.['n'],
          tpchTables,
        )
        for (const table of tpchTables) {
          const expected = generatedRowCounts[table.name]
          if (strataCounts[table.name] !== expected || duckdbCounts[table.name] !== expected) {
            throw new Error(
              `${table.name}: generated ${expected} rows, Strata has ${strataCounts[table.name]}, DuckDB has ${duckdbCounts[table.name]}`,
            )
          }
        }

        const measurements: Measurement[] = [
          {
            metric: `load SF ${generate.scaleFactor} (${generatedRowCounts['lineitem']} line items) until queryable, ${method === 'insert' ? 'INSERT' : 'importFile'} vs COPY`,
            unit: 'ms',
            strata: strataLoadDurationMs,
            baseline: duckdbLoadDurationMs,
            baselineName: 'duckdb',
            details: {
              strataMethod: method === 'insert' ? 'multi-row INSERT with parameters in 100K-row transactions' : 'db.importFile(csv)',
              baselineMethod: 'COPY FROM csv',
              strataCommitDurationMs,
              strataSyncCatchUpDurationMs: sync.durationMs,
              generateDurationMs,
              rowCounts: generatedRowCounts,
            },
          },
        ]
        const ratios: number[] = []
        // What the later comparisons need from this loop: DuckDB's answers and Strata's medians.
        const strataQueryResults: { readonly answer: Answer; readonly medianMs: number; readonly runCount: number }[] = []
        for (const query of tpchQueries) {
          // One untimed run each to warm caches, and its answers are the ones compared.
          const strataFirst = await runStrata(strata, query.sql)
          const duckdbFirst = await runDuckdb(connection, query.sql)
          assertSameAnswer(query.name, strataFirst.answer, duckdbFirst.answer)
          const strataDurations: number[] = []
          const duckdbDurations: number[] = []
          const engines = new Set<string>([strataFirst.engine])
          // Interleaved, so a slow moment on the machine hits both sides alike. Queries at this scale take
          // milliseconds, so a fixed handful of runs would be mostly noise: keep going until each side
          // has spent a time budget, within bounds.
          while (
            strataDurations.length < repetitionsMin ||
            (strataDurations.length < repetitionsMax &&
              Math.min(sum(strataDurations), sum(duckdbDurations)) < repetitionBudgetMs)
          ) {
            const strataRun = await runStrata(strata, query.sql)
            engines.add(strataRun.engine)
            strataDurations.push(strataRun.durationMs)
            duckdbDurations.push((await runDuckdb(connection, query.sql)).durationMs)
          }
          const strataMedianMs = median(strataDurations)
          const duckdbMedianMs = median(duckdbDurations)
          ratios.push(strataMedianMs / duckdbMedianMs)
          strataQueryResults.push({ answer: duckdbFirst.answer, medianMs: strataMedianMs, runCount: strataDurations.length })
          context.log(`${query.name}: Strata ${strataMedianMs.toFixed(2)} ms, DuckDB ${duckdbMedianMs.toFixed(2)} ms`)
          measurements.push({
            metric: `${query.name} (median of ${strataDurations.length})`,
            unit: 'ms',
            strata: strataMedianMs,
            baseline: duckdbMedianMs,
            baselineName: 'duckdb',
            target: { kind: 'ratioAtMost', value: 1.15 },
            details: {
              resultRowCount: strataFirst.answer.rows.length,
              strataEngines: [...engines],
              strataDurationsMs: strataDurations,
              duckdbDurationsMs: duckdbDurations,
            },
          })
        }
        // The geometric mean of per-query ratios, as TPC-H's own power metric combines queries.
        const ratioGeometricMean = geometricMean(ratios)
        measurements.push({
          metric: 'all queries (geometric mean of ratios)',
          unit: '×',
          strata: ratioGeometricMean,
          baseline: 1,
          baselineName: 'duckdb',
          target: { kind: 'ratioAtMost', value: 1.15 },
        })

        const loadName = `load SF ${generate.scaleFactor} (${generatedRowCounts['lineitem']} line items)`
        const strataLoadMethod = method === 'insert' ? 'INSERT' : 'importFile'
        const totalRowCount = sum(Object.values(generatedRowCounts))
        for (const table of tpchTables) {
          if (sqliteCounts[table.name] !== generatedRowCounts[table.name]) {
            throw new Error(`${table.name}: generated ${generatedRowCounts[table.name]} rows, SQLite has ${sqliteCounts[table.name]}`)
          }
        }
        const sqliteDetails = {
          rowCount: totalRowCount,
          baselineMethod: `prepared single-row INSERT in ${loadTransactionRows}-row transactions, same CREATE TABLE text, synchronous=FULL`,
          sqliteLoadDurationMs,
          strataCommitDurationMs,
          strataSyncCatchUpDurationMs: sync.durationMs,
        }
        measurements.push(
          {
            metric: `${loadName} committed, ${strataLoadMethod}, all tables`,
            unit: 'rows/s',
            strata: perSecond(totalRowCount, strataCommitDurationMs),
            baseline: perSecond(totalRowCount, sqliteLoadDurationMs),
            baselineName: 'better-sqlite3',
            details: sqliteDetails,
          },
          {
            metric: `${loadName} until queryable, ${strataLoadMethod}, all tables`,
            unit: 'rows/s',
            strata: perSecond(totalRowCount, strataLoadDurationMs),
            baseline: perSecond(totalRowCount, sqliteLoadDurationMs),
            baselineName: 'better-sqlite3',
            target: { kind: 'ratioAtLeast', value: 0.5 },
            details: { ...sqliteDetails, target: 'issue 11 point 2' },
          },
        )

        const peer = await openPglite(path.join(directory, 'pglite'))
        try {
          context.log(`the CSV files into ${peer.label} by COPY, then ANALYZE`)
          startMs = nowMs()
          await loadPglite(peer.db, csvFiles)
          const pgliteLoadDurationMs = nowMs() - startMs
          const pgliteCounts = await rowCounts(async (sql) => (await peer.db.query<Record<string, unknown>>(sql)).rows[0]?.['n'], tpchTables)
          for (const table of tpchTables) {
            if (pgliteCounts[table.name] !== generatedRowCounts[table.name]) {
              throw new Error(`${table.name}: generated ${generatedRowCounts[table.name]} rows, PGlite has ${pgliteCounts[table.name]}`)
            }
          }
          const durability = describePgliteDurability(peer.durability)
          measurements.push({
            metric: `${loadName} until queryable, ${strataLoadMethod} vs COPY + ANALYZE`,
            unit: 'ms',
            strata: strataLoadDurationMs,
            baseline: pgliteLoadDurationMs,
            baselineName: peer.label,
            details: { pgliteDurability: durability, baselineMethod: "COPY FROM '/dev/blob' (csv), then ANALYZE" },
          })
          const pgliteRatios: number[] = []
          for (const [index, query] of tpchQueries.entries()) {
            const strataResult = strataQueryResults[index] as (typeof strataQueryResults)[number]
            // The first run's answer must equal DuckDB's (and so Strata's).
            const first = await runPglite(peer.db, query.sql)
            assertSameAnswer(query.name, first.answer, strataResult.answer, 'PGlite and DuckDB')
            const pgliteDurations: number[] = [first.durationMs]
            while (pgliteDurations.length < pgliteRepetitions) pgliteDurations.push((await runPglite(peer.db, query.sql)).durationMs)
            const pgliteMedianMs = median(pgliteDurations)
            pgliteRatios.push(strataResult.medianMs / pgliteMedianMs)
            context.log(`${query.name}: PGlite ${pgliteMedianMs.toFixed(1)} ms`)
            measurements.push({
              metric: `${query.name} (medians of ${strataResult.runCount} and ${pgliteDurations.length})`,
              unit: 'ms',
              strata: strataResult.medianMs,
              baseline: pgliteMedianMs,
              baselineName: peer.label,
              details: { pgliteDurationsMs: pgliteDurations, pgliteDurability: durability },
            })
          }
          measurements.push({
            metric: 'all queries (geometric mean of ratios)',
            unit: '×',
            strata: geometricMean(pgliteRatios),
            baseline: 1,
            baselineName: peer.label,
          })
        } finally {
          await peer.close()
        }
        return measurements
      } finally {
        await db?.close()
        connection.closeSync()
        instance.closeSync()
      }
    })
  },
}
