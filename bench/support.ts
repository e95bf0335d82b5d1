/**
 * Small helpers every suite shares: sizes scaled by STRATA_BENCH_SCALE, temporary directories that are
 * always removed, timing, order statistics, a seeded random source and batched inserts. Nothing here
 * imports the engine or a driver at run time (types only), so a suite's imports show what it measures.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import * as os from 'node:os'
import * as path from 'node:path'
import type { Database, Queryable } from '../src/interfaces/api/types.js'
import type { Measurement } from './report.js'

/** What `run.ts` hands to every suite. */
export interface SuiteContext {
  /** Multiplier for every size (STRATA_BENCH_SCALE, default 1). */
  readonly scale: number
  /** Seed for every generator, so two runs measure the same data (STRATA_BENCH_SEED, default 42). */
  readonly seed: number
  /** Progress goes to stderr so stdout stays the result table. */
  log(message: string): void
}

/**
 * A size scaled by the run's scale factor, never below `minimum`: a tiny scale still has to measure
 * something, and a zero-row benchmark would divide by zero.
 *
 * @example scaledCount(context, 10_000, 100) // 10_000 at scale 1, 1_000 at scale 0.1
 */
export function scaledCount(context: SuiteContext, base: number, minimum = 1): number {
  return Math.max(minimum, Math.round(base * context.scale))
}

/**
 * Runs `body` with a fresh directory under the OS temporary folder and removes it afterwards, whether
 * the body succeeded or threw, so a failed run does not leave gigabytes behind.
 *
 * @example await withTemporaryDirectory('point-read', async (directory) => { … })
 */
export async function withTemporaryDirectory<T>(label: string, body: (directory: string) => Promise<T>): Promise<T> {
  const directory = await mkdtemp(path.join(os.tmpdir(), `strata-bench-${label}-`))
  try {
    return await body(directory)
  } finally {
    // maxRetries because a just-closed native handle may still be releasing a file on some systems.
    await rm(directory, { recursive: true, force: true, maxRetries: 3 })
  }
}

/** Milliseconds since an arbitrary origin, with sub-millisecond resolution. */
export function nowMs(): number {
  return performance.now()
}

/** The value at quantile `q` (0…1) of `values`, by the nearest-rank method, so p99 is an observed sample. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) throw new Error('quantile of an empty list')
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[rank] as number
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of an empty list')
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  if (sorted.length % 2 === 1) return sorted[middle] as number
  return ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
}

export function geometricMean(values: readonly number[]): number {
  if (values.length === 0) throw new Error('geometric mean of an empty list')
  return Math.exp(values.reduce((sum, value) => sum + Math.log(value), 0) / values.length)
}

/** Operations per second for `count` operations that took `durationMs`. */
export function perSecond(count: number, durationMs: number): number {
  return durationMs > 0 ? (count * 1000) / durationMs : Number.POSITIVE_INFINITY
}

/**
 * A small, fast, seeded pseudo-random generator (SplitMix32). Benchmarks need the same keys and rows on
 * every run and on both sides of a comparison, which Math.random cannot give.
 *
 * @example const random = new SeededRandom(42); random.integer(1, 6)
 */
export class SeededRandom {
  private state: number

  constructor(seed: number) {
    this.state = seed >>> 0
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  nextUint32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0
    let z = this.state
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }

  /** A float in [0, 1). */
  float(): number {
    return this.nextUint32() / 4294967296
  }

  /** An integer in [minimum, maximum], both ends included. */
  integer(minimum: number, maximum: number): number {
    return minimum + Math.floor(this.float() * (maximum - minimum + 1))
  }

  pick<T>(choices: readonly T[]): T {
    return choices[Math.floor(this.float() * choices.length)] as T
  }
}

/** A message for any thrown value, for logs and the JSON report. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code
    return typeof code === 'string' ? `${code}: ${error.message}` : error.message
  }
  return String(error)
}

/** A benchmark suite: runs Strata and its baseline on the same data and returns what it measured. */
export interface Suite {
  /** The name used on the command line and in the report. */
  readonly name: string
  readonly description: string
  run(context: SuiteContext): Promise<Measurement[]>
}

/**
 * Inserts rows through Strata's public API as multi-row `INSERT … VALUES ($1, …), (…)` statements with
 * bound parameters: the fastest path the SQL API offers, since one statement carries many rows and the
 * repeated statement text hits the engine's statement cache. Run it inside `db.transaction` to make
 * the rows one commit.
 *
 * @example await db.transaction((transaction) => insertRowsBatched(transaction, { table: 't', rows }))
 */
export async function insertRowsBatched(
  queryable: Queryable,
  options: { readonly table: string; readonly rows: Iterable<readonly unknown[]>; readonly rowsPerStatement?: number },
): Promise<number> {
  const rowsPerStatement = options.rowsPerStatement ?? 250
  let batch: unknown[] = []
  let batchRows = 0
  let columnCount = -1
  let rowCount = 0
  const flush = async (): Promise<void> => {
    if (batchRows === 0) return
    await queryable.query(multiRowInsertSql(options.table, columnCount, batchRows), batch)
    rowCount += batchRows
    batch = []
    batchRows = 0
  }
  for (const row of options.rows) {
    if (columnCount === -1) columnCount = row.length
    if (row.length !== columnCount) throw new Error(`row of ${row.length} values for a ${columnCount}-column insert`)
    for (const value of row) batch.push(value)
    batchRows += 1
    if (batchRows === rowsPerStatement) await flush()
  }
  await flush()
  return rowCount
}

const multiRowInsertSqlCache = new Map<string, string>()

/** `INSERT INTO t VALUES ($1, $2), ($3, $4)` for `rowCount` rows of `columnCount` values. */
export function multiRowInsertSql(table: string, columnCount: number, rowCount: number): string {
  const key = `${table}/${columnCount}/${rowCount}`
  const cached = multiRowInsertSqlCache.get(key)
  if (cached !== undefined) return cached
  const tuples: string[] = []
  for (let row = 0; row < rowCount; row += 1) {
    const placeholders: string[] = []
    for (let column = 1; column <= columnCount; column += 1) placeholders.push(`$${row * columnCount + column}`)
    tuples.push(`(${placeholders.join(', ')})`)
  }
  const sql = `INSERT INTO ${table} VALUES ${tuples.join(', ')}`
  multiRowInsertSqlCache.set(key, sql)
  return sql
}

/**
 * Polls `db.syncStatus()` every `pollIntervalMs` until the column store reflects every commit, and
 * returns how long that took. Throws after `timeoutMs` so a stuck sync fails the suite instead of
 * hanging the run.
 *
 * @example const catchUpDurationMs = await waitForSync(db)
 */
export async function waitForSync(
  db: Database,
  options: { readonly pollIntervalMs?: number; readonly timeoutMs?: number } = {},
): Promise<{ readonly durationMs: number; readonly pollCount: number }> {
  const pollIntervalMs = options.pollIntervalMs ?? 2
  const timeoutMs = options.timeoutMs ?? 300_000
  const startMs = nowMs()
  let pollCount = 0
  for (;;) {
    const status = await db.syncStatus()
    pollCount += 1
    if (status.lagTx === 0) return { durationMs: nowMs() - startMs, pollCount }
    if (nowMs() - startMs > timeoutMs) {
      throw new Error(`column store still ${status.lagTx} transactions behind after ${timeoutMs} ms: ${JSON.stringify(status)}`)
    }
    await sleep(pollIntervalMs)
  }
}

export function sleep(durationMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, durationMs))
}

/** Splits an iterable into arrays of at most `size` items, lazily. */
export function* chunks<T>(items: Iterable<T>, size: number): Generator<T[]> {
  let chunk: T[] = []
  for (const item of items) {
    chunk.push(item)
    if (chunk.length === size) {
      yield chunk
      chunk = []
    }
  }
  if (chunk.length > 0) yield chunk
}
