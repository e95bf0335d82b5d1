/**
 * Persisted results: every POST /query result with columns is kept, in the background, in the column
 * store's two shared result tables (layout and reading: src/engine/results.ts). GET /results/{id} reads
 * one back, and SQL reads it as `strata.results."<id>"`.
 *
 * Why the column store: a result is read back whole or analysed (joined, aggregated) — DuckDB's job —
 * and there it needs no catalog entry, ledger transaction or history in the row store, which would make
 * a query's output look like user data. The cost: results live in mirror.duckdb, so deleting that file
 * (to rebuild the mirror) deletes them too.
 *
 * How: results wait in a queue and are written in rounds, a round being one INSERT into each table.
 * Each row is encoded exactly as the HTTP response encodes it (encode.ts), as a JSON array. A small
 * round goes inline in the statement text; a larger one through a temporary NDJSON file that DuckDB's
 * JSON reader loads. Bounds: `limits.resultsKeptMax` results and `limits.resultsKeptRowsMax` rows are
 * kept (the oldest are dropped), `limits.resultPersistRowsMax` rows per result,
 * `limits.resultPersistQueueMax` results and `limits.resultPersistQueueRowsMax` rows waiting.
 */
import { createWriteStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { once } from 'node:events'
import type { Engine, ExecuteOptions } from '../../../engine/engine.js'
import { isResultId, resultRowsTable, resultSelectSql, resultsDdl, resultsTable, type PersistedColumn } from '../../../engine/results.js'
import { limits } from '../../../util/limits.js'
import { encodeValue } from './encode.js'
import { newId } from './runs.js'

export type ResultStatus = 'processing' | 'ready' | 'failed'

export type ResultColumn = PersistedColumn

/** A result to persist: its columns and a way to read row i's values in column order. */
export interface ResultRows {
  readonly columns: readonly ResultColumn[]
  readonly rowCount: number
  values(index: number): readonly unknown[]
}

interface Entry {
  readonly id: string
  status: ResultStatus
  error: string | undefined
  /** Present while the result waits to be persisted; dropped once it is written (or failed). */
  rows: ResultRows | undefined
  readonly columns: readonly ResultColumn[]
  readonly rowCount: number
  readonly executionTimeMs: number | undefined
}

export type ResultLookup =
  | { readonly status: 'processing' | 'failed'; readonly error: string | undefined }
  | { readonly status: 'ready'; readonly columns: readonly ResultColumn[]; readonly rows: readonly (readonly unknown[])[]; readonly executionTimeMs: number | undefined }

/** A round takes at most this many waiting results (one INSERT into each table)… */
const resultsPerRoundMax = 1_024
/** …and stops adding results once it holds this many rows. */
const rowsPerRoundMax = 100_000
/** A round whose encoded rows stay within this many characters goes inline in the statement text; a larger one through a file. */
const inlineCharsMax = 512 * 1024

/** The column store answers from whatever it has: results are not ledger data, so no freshness wait. */
const anyStaleness: ExecuteOptions = { maxStalenessMs: Number.POSITIVE_INFINITY }

export class ResultStore {
  /** Every result this process knows of, oldest first (ids sort by creation time). */
  private readonly entries = new Map<string, Entry>()
  private readonly queue: Entry[] = []
  private queuedRows = 0
  /** Rows of the results persisted and kept. */
  private keptRows = 0
  private preparing: Promise<void> | undefined
  private running: Promise<void> | undefined
  private stagingDirectory: Promise<string> | undefined
  private closed = false

  private readonly keptMax: number
  private readonly keptRowsMax: number

  constructor(
    private readonly engine: Engine,
    bounds: { readonly keptMax?: number; readonly keptRowsMax?: number } = {},
  ) {
    this.keptMax = bounds.keptMax ?? limits.resultsKeptMax
    this.keptRowsMax = bounds.keptRowsMax ?? limits.resultsKeptRowsMax
  }

  /** Results waiting to be persisted. */
  get pendingCount(): number {
    return this.queue.length
  }

  /**
   * Queues a result for persisting and returns its id, or a warning saying why it will not be
   * persisted (no columns, too many rows, a full queue). The caller must not change `rows` afterwards.
   *
   * @example
   * const { resultId, warning } = store.enqueue(rows, { executionTimeMs: 3.2 })
   */
  enqueue(rows: ResultRows, options: { readonly executionTimeMs: number }): { resultId?: string; warning?: string } {
    if (this.closed) return { warning: 'the server is shutting down; the result was not persisted' }
    if (rows.columns.length === 0) return {}
    const id = newId('rslt')
    const base = { id, columns: rows.columns, rowCount: rows.rowCount, executionTimeMs: options.executionTimeMs }
    if (rows.rowCount > limits.resultPersistRowsMax) {
      this.remember({ ...base, status: 'failed', error: `the result has ${rows.rowCount} rows; results over ${limits.resultPersistRowsMax} rows are not persisted`, rows: undefined })
      return { resultId: id }
    }
    if (this.queue.length >= limits.resultPersistQueueMax || this.queuedRows + rows.rowCount > limits.resultPersistQueueRowsMax) {
      return { warning: `${this.queue.length} results (${this.queuedRows} rows) are waiting to be persisted; this one was not` }
    }
    const entry: Entry = { ...base, status: 'processing', error: undefined, rows }
    this.remember(entry)
    this.queue.push(entry)
    this.queuedRows += rows.rowCount
    this.running ??= this.drain().finally(() => {
      this.running = undefined
    })
    return { resultId: id }
  }

  /**
   * A result's status, with its rows when it is ready; undefined for an unknown id. Results persisted
   * before a restart are found in the column store.
   *
   * @example
   * const found = await store.lookup('rslt_01hx…')
   */
  async lookup(id: string): Promise<ResultLookup | undefined> {
    if (!isResultId(id)) return undefined
    await this.prepare()
    const entry = this.entries.get(id)
    if (entry === undefined) return undefined
    if (entry.status !== 'ready') return { status: entry.status, error: entry.error }
    const table = await this.engine.columnStoreQuery(this.engine.newSession(), resultSelectSql(id, entry.columns), undefined, anyStaleness)
    // The result's own column names (SQL sees repeated ones with suffixes: a, a_2).
    return { status: 'ready', columns: entry.columns, rows: table.rows, executionTimeMs: entry.executionTimeMs }
  }

  /** Stops taking results, lets the round in progress finish, and forgets what is still queued. */
  async close(): Promise<void> {
    this.closed = true
    for (const entry of this.queue.splice(0)) {
      entry.status = 'failed'
      entry.error = 'the server shut down before the result was persisted'
      entry.rows = undefined
    }
    this.queuedRows = 0
    await this.running?.catch(() => undefined)
    const directory = await this.stagingDirectory?.catch(() => undefined)
    if (directory !== undefined) await rm(directory, { recursive: true, force: true })
  }

  private remember(entry: Entry): void {
    this.entries.set(entry.id, entry)
  }

  /**
   * Once: creates the tables if need be, learns the results kept by earlier runs, and removes rows of
   * a result whose round was cut short (its rows written, its entry not).
   */
  private prepare(): Promise<void> {
    this.preparing ??= (async () => {
      await this.run(resultsDdl.join(';\n'))
      await this.run(`DELETE FROM ${resultRowsTable} WHERE result_id NOT IN (SELECT result_id FROM ${resultsTable})`)
      const existing = await this.run(`SELECT result_id, CAST(columns AS VARCHAR), row_count, execution_time_ms FROM ${resultsTable} ORDER BY result_id`)
      const earlier = new Map<string, Entry>()
      for (const [id, columns, rowCount, executionTimeMs] of existing.rows) {
        const count = Number(rowCount)
        earlier.set(String(id), {
          id: String(id),
          status: 'ready',
          error: undefined,
          rows: undefined,
          columns: JSON.parse(String(columns)) as ResultColumn[],
          rowCount: count,
          executionTimeMs: executionTimeMs === null ? undefined : Number(executionTimeMs),
        })
        this.keptRows += count
      }
      // Earlier results come before this run's, which were all made later.
      const current = [...this.entries]
      this.entries.clear()
      for (const [id, entry] of earlier) this.entries.set(id, entry)
      for (const [id, entry] of current) this.entries.set(id, entry)
    })()
    this.preparing.catch(() => {
      this.preparing = undefined
    })
    return this.preparing
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.closed) {
      let take = 0
      let rows = 0
      while (take < this.queue.length && take < resultsPerRoundMax && (take === 0 || rows + this.queue[take]!.rowCount <= rowsPerRoundMax)) rows += this.queue[take++]!.rowCount
      const round = this.queue.splice(0, take)
      this.queuedRows -= rows
      try {
        await this.prepare()
        await this.persist(round)
      } catch (error) {
        // The round as a whole failed: each result is tried on its own, so one bad result fails alone.
        for (const entry of round) {
          try {
            await this.persist([entry], { replace: true })
          } catch (single) {
            entry.status = 'failed'
            entry.error = `persisting the result failed: ${single instanceof Error ? single.message : String(single ?? error)}`
          }
        }
      }
      for (const entry of round) {
        if (entry.status === 'processing') {
          entry.status = 'ready'
          this.keptRows += entry.rowCount
        }
        entry.rows = undefined
      }
      await this.trim().catch(() => undefined)
    }
  }

  /**
   * Writes a round: its rows, then its entries (a result is ready once its entry is written). With
   * `replace`, rows a failed earlier attempt left are removed first.
   */
  private async persist(round: readonly Entry[], options: { readonly replace?: boolean } = {}): Promise<void> {
    const statements: string[] = []
    if (options.replace === true) statements.push(`DELETE FROM ${resultRowsTable} WHERE result_id IN (${round.map((entry) => quoteLiteral(entry.id)).join(', ')})`)
    let file: string | undefined
    try {
      const inline = inlineRows(round)
      if (inline !== undefined) {
        if (inline.length > 0) statements.push(`INSERT INTO ${resultRowsTable} VALUES ${inline.join(', ')}`)
      } else {
        // Larger rounds go through a file, written in batches so the event loop keeps serving.
        this.stagingDirectory ??= mkdtemp(join(tmpdir(), 'strata-results-'))
        file = join(await this.stagingDirectory, `${round[0]!.id}.ndjson`)
        await writeRows(file, round)
        statements.push(`INSERT INTO ${resultRowsTable} SELECT json->>0, CAST(json->>1 AS BIGINT), json->2 FROM read_ndjson_objects(${quoteLiteral(file)})`)
      }
      const entries = round.map(
        (entry) =>
          `(${quoteLiteral(entry.id)}, ${quoteLiteral(JSON.stringify(entry.columns.map((column) => ({ name: column.name, type: column.type, ...(column.nullable === undefined ? {} : { nullable: column.nullable }) }))))}, ${entry.rowCount}, ${entry.executionTimeMs ?? 'NULL'})`,
      )
      statements.push(`INSERT INTO ${resultsTable} VALUES ${entries.join(', ')}`)
      // One text, statements in order, each committing on its own (no explicit transaction: a pooled
      // DuckDB session must never be handed back inside a failed one). Rows written without their
      // entry (a failure between the two) are removed by the retry or at the next start.
      await this.run(statements.join(';\n'))
    } finally {
      if (file !== undefined) await rm(file, { force: true })
    }
  }

  /** Drops the oldest persisted results beyond the bounds on results and rows kept. */
  private async trim(): Promise<void> {
    const dropped: string[] = []
    for (const entry of this.entries.values()) {
      if (this.entries.size - dropped.length <= this.keptMax && this.keptRows <= this.keptRowsMax) break
      if (entry.status === 'processing') continue
      if (entry.status === 'ready') {
        dropped.push(entry.id)
        this.keptRows -= entry.rowCount
      } else dropped.push(entry.id)
    }
    if (dropped.length === 0) return
    for (const id of dropped) this.entries.delete(id)
    // The range lets DuckDB's zone maps skip the row groups of newer results.
    const sorted = [...dropped].sort()
    const where = `result_id BETWEEN ${quoteLiteral(sorted[0]!)} AND ${quoteLiteral(sorted[sorted.length - 1]!)} AND result_id IN (${sorted.map(quoteLiteral).join(', ')})`
    await this.run(`DELETE FROM ${resultRowsTable} WHERE ${where};\nDELETE FROM ${resultsTable} WHERE ${where}`)
  }

  private run(sql: string): ReturnType<Engine['columnStoreQuery']> {
    return this.engine.columnStoreQuery(this.engine.newSession(), sql, undefined, anyStaleness)
  }
}

/** The round's rows as VALUES tuples `(id, ordinal, json)`, or undefined when they are too many characters to go inline. */
function inlineRows(round: readonly Entry[]): string[] | undefined {
  const tuples: string[] = []
  let chars = 0
  for (const entry of round) {
    const rows = entry.rows!
    for (let index = 0; index < rows.rowCount; index++) {
      const tuple = `(${quoteLiteral(entry.id)}, ${index}, ${quoteLiteral(JSON.stringify(rows.values(index).map(encodeValue)))})`
      chars += tuple.length
      if (chars > inlineCharsMax) return undefined
      tuples.push(tuple)
    }
  }
  return tuples
}

/** Writes the round's rows as NDJSON arrays `[id, ordinal, row]`, in batches, yielding to the event loop between them. */
async function writeRows(file: string, round: readonly Entry[]): Promise<void> {
  const stream = createWriteStream(file)
  const failed = once(stream, 'error').then(([error]) => {
    throw error
  })
  failed.catch(() => undefined)
  try {
    for (const entry of round) {
      const rows = entry.rows!
      const id = JSON.stringify(entry.id)
      for (let start = 0; start < rows.rowCount; start += limits.httpResponseBatchRows) {
        const end = Math.min(rows.rowCount, start + limits.httpResponseBatchRows)
        let text = ''
        for (let index = start; index < end; index++) text += `[${id},${index},${JSON.stringify(rows.values(index).map(encodeValue))}]\n`
        if (!stream.write(text)) await Promise.race([once(stream, 'drain'), failed])
      }
    }
  } finally {
    stream.end()
  }
  await Promise.race([once(stream, 'finish'), failed])
}

function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`
}
