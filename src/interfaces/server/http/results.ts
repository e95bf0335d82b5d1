/**
 * Persisted results: every POST /query result with columns is kept, in the background, as a table of
 * the column store's `strata_results` schema, named by its result id. GET /results/{id} reads it back,
 * and SQL reads it as `strata.results."<id>"` (the engine routes that name there).
 *
 * Why the column store: a result is read back whole or analysed (joined, aggregated) — DuckDB's job —
 * and a table there needs no catalog entry, ledger transaction or history in the row store, which
 * would make a query's output look like user data. The cost: results live in mirror.duckdb, so
 * deleting that file (to rebuild the mirror) deletes them too.
 *
 * How: the rows, encoded exactly as the HTTP response encodes them (encode.ts), are written to a
 * temporary NDJSON file, and one `CREATE TABLE … AS SELECT` casts them back to the result's column
 * types from DuckDB's JSON reader. Several waiting results go in one round. Nested and unusual types
 * are kept as JSON. Bounds: `limits.resultsKeptMax` tables (the oldest are dropped),
 * `limits.resultPersistRowsMax` rows per result, `limits.resultPersistQueueMax` waiting results.
 */
import { createWriteStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { once } from 'node:events'
import { resultsSchema, type Engine } from '../../../engine/engine.js'
import { limits } from '../../../util/limits.js'
import { encodeValue } from './encode.js'
import { isId, newId } from './runs.js'

export type ResultStatus = 'processing' | 'ready' | 'failed'

export interface ResultColumn {
  readonly name: string
  readonly type: string
}

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
  readonly executionTimeMs: number | undefined
}

export type ResultLookup =
  | { readonly status: 'processing' | 'failed'; readonly error: string | undefined }
  | { readonly status: 'ready'; readonly columns: readonly ResultColumn[]; readonly rows: readonly (readonly unknown[])[]; readonly executionTimeMs: number | undefined }

/** Scalar types cast back by name; anything else (lists, structs, maps, intervals, …) is kept as JSON. */
const castableType = /^(BOOLEAN|TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|REAL|FLOAT|DOUBLE|DECIMAL\(\d+,\d+\)|VARCHAR|TEXT|DATE|TIME|TIMESTAMP|TIMESTAMPTZ|UUID)$/

/** Results persisted in one round at most (one DuckDB statement text). */
const resultsPerRoundMax = 64
/** Results up to this many rows go to DuckDB inline in the statement text; larger ones via a file. */
const inlineRowsMax = 100

export class ResultStore {
  /** Every result this process knows of, oldest first (ids sort by creation time). */
  private readonly entries = new Map<string, Entry>()
  private readonly queue: Entry[] = []
  private loading: Promise<void> | undefined
  private running: Promise<void> | undefined
  private stagingDirectory: Promise<string> | undefined
  private closed = false

  constructor(private readonly engine: Engine) {}

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
    if (rows.rowCount > limits.resultPersistRowsMax) {
      this.remember({ id, status: 'failed', error: `the result has ${rows.rowCount} rows; results over ${limits.resultPersistRowsMax} rows are not persisted`, rows: undefined, executionTimeMs: options.executionTimeMs })
      return { resultId: id }
    }
    if (this.queue.length >= limits.resultPersistQueueMax) {
      return { warning: `${this.queue.length} results are waiting to be persisted; this one was not` }
    }
    const entry: Entry = { id, status: 'processing', error: undefined, rows, executionTimeMs: options.executionTimeMs }
    this.remember(entry)
    this.queue.push(entry)
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
    if (!isId('rslt', id)) return undefined
    await this.load()
    const entry = this.entries.get(id)
    if (entry === undefined) return undefined
    if (entry.status !== 'ready') return { status: entry.status, error: entry.error }
    const table = await this.engine.columnStoreQuery(this.engine.newSession(), `SELECT * FROM ${resultsSchema}.${quoteIdentifier(id)}`, undefined, { maxStalenessMs: Number.POSITIVE_INFINITY })
    return { status: 'ready', columns: table.columns, rows: table.rows, executionTimeMs: entry.executionTimeMs }
  }

  /** Stops taking results, lets the round in progress finish, and forgets what is still queued. */
  async close(): Promise<void> {
    this.closed = true
    for (const entry of this.queue.splice(0)) {
      entry.status = 'failed'
      entry.error = 'the server shut down before the result was persisted'
      entry.rows = undefined
    }
    await this.running?.catch(() => undefined)
    const directory = await this.stagingDirectory?.catch(() => undefined)
    if (directory !== undefined) await rm(directory, { recursive: true, force: true })
  }

  private remember(entry: Entry): void {
    this.entries.set(entry.id, entry)
  }

  /** The ids already in the column store (from earlier runs), once. */
  private load(): Promise<void> {
    this.loading ??= (async () => {
      const existing = await this.engine.columnStoreQuery(
        this.engine.newSession(),
        `SELECT table_name FROM duckdb_tables() WHERE schema_name = '${resultsSchema}' ORDER BY table_name`,
        undefined,
        { maxStalenessMs: Number.POSITIVE_INFINITY },
      )
      const earlier = new Map<string, Entry>()
      for (const [name] of existing.rows) {
        if (typeof name === 'string' && isId('rslt', name)) earlier.set(name, { id: name, status: 'ready', error: undefined, rows: undefined, executionTimeMs: undefined })
      }
      // Earlier results come before this run's, which were all made later.
      const current = [...this.entries]
      this.entries.clear()
      for (const [id, entry] of earlier) this.entries.set(id, entry)
      for (const [id, entry] of current) this.entries.set(id, entry)
    })()
    this.loading.catch(() => {
      this.loading = undefined
    })
    return this.loading
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.closed) {
      const round = this.queue.splice(0, resultsPerRoundMax)
      try {
        await this.load()
        await this.persist(round)
        for (const entry of round) if (entry.status === 'processing') entry.status = 'ready'
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error)
        for (const entry of round) {
          if (entry.status !== 'processing') continue
          entry.status = 'failed'
          entry.error = `persisting the result failed: ${message}`
        }
      }
      for (const entry of round) entry.rows = undefined
      await this.trim().catch(() => undefined)
    }
  }

  private async persist(round: readonly Entry[]): Promise<void> {
    const statements = [`CREATE SCHEMA IF NOT EXISTS ${resultsSchema}`]
    const statementById = new Map<string, string>()
    const files: string[] = []
    try {
      for (const entry of round) {
        const rows = entry.rows!
        let source: string
        if (rows.rowCount <= inlineRowsMax) source = inlineSource(rows)
        else {
          // Larger results go through a file, written in batches so the event loop keeps serving.
          this.stagingDirectory ??= mkdtemp(join(tmpdir(), 'strata-results-'))
          const file = join(await this.stagingDirectory, `${entry.id}.ndjson`)
          files.push(file)
          await writeRows(file, rows)
          source = `read_ndjson_objects(${quoteLiteral(file)})`
        }
        const statement = createTableSql(entry.id, rows.columns, source)
        statementById.set(entry.id, statement)
        statements.push(statement)
      }
      // One text, statements in order, each committing on its own (no explicit transaction: a pooled
      // DuckDB session must never be handed back inside a failed one). A failure stops the text, so
      // then each result is tried on its own; IF NOT EXISTS skips the ones already made.
      const options = { maxStalenessMs: Number.POSITIVE_INFINITY }
      try {
        await this.engine.columnStoreQuery(this.engine.newSession(), statements.join(';\n'), undefined, options)
      } catch (error) {
        if (round.length === 1) throw error
        for (const entry of round) {
          try {
            await this.engine.columnStoreQuery(this.engine.newSession(), `${statements[0]};\n${statementById.get(entry.id)!}`, undefined, options)
          } catch (single) {
            entry.status = 'failed'
            entry.error = `persisting the result failed: ${single instanceof Error ? single.message : String(single)}`
          }
        }
      }
    } finally {
      await Promise.all(files.map((file) => rm(file, { force: true })))
    }
  }

  /** Drops the oldest persisted results beyond `limits.resultsKeptMax`. */
  private async trim(): Promise<void> {
    const excess = this.entries.size - limits.resultsKeptMax
    if (excess <= 0) return
    const dropped: string[] = []
    for (const entry of this.entries.values()) {
      if (dropped.length >= excess) break
      if (entry.status === 'processing') continue
      if (entry.status === 'ready') dropped.push(entry.id)
      this.entries.delete(entry.id)
    }
    if (dropped.length === 0) return
    const sql = dropped.map((id) => `DROP TABLE IF EXISTS ${resultsSchema}.${quoteIdentifier(id)}`).join('; ')
    await this.engine.columnStoreQuery(this.engine.newSession(), sql, undefined, { maxStalenessMs: Number.POSITIVE_INFINITY })
  }
}

/** Writes the rows as NDJSON arrays, in batches, yielding to the event loop between them. */
async function writeRows(file: string, rows: ResultRows): Promise<void> {
  const stream = createWriteStream(file)
  const failed = once(stream, 'error').then(([error]) => {
    throw error
  })
  failed.catch(() => undefined)
  try {
    for (let start = 0; start < rows.rowCount; start += limits.httpResponseBatchRows) {
      const end = Math.min(rows.rowCount, start + limits.httpResponseBatchRows)
      let text = ''
      for (let index = start; index < end; index++) text += `${JSON.stringify(rows.values(index).map(encodeValue))}\n`
      if (!stream.write(text)) await Promise.race([once(stream, 'drain'), failed])
    }
  } finally {
    stream.end()
  }
  await Promise.race([once(stream, 'finish'), failed])
}

/** `CREATE TABLE strata_results."<id>" AS SELECT <casts> FROM <source>`, where the source has one JSON column `json`. */
function createTableSql(id: string, columns: readonly ResultColumn[], source: string): string {
  const used = new Set<string>()
  const selections = columns.map((column, index) => {
    let name = column.name === '' ? `column_${index + 1}` : column.name
    for (let suffix = 2; used.has(name.toLowerCase()); suffix++) name = `${column.name}_${suffix}`
    used.add(name.toLowerCase())
    return `${valueExpression(column.type, index)} AS ${quoteIdentifier(name)}`
  })
  return `CREATE TABLE IF NOT EXISTS ${resultsSchema}.${quoteIdentifier(id)} AS SELECT ${selections.join(', ')} FROM ${source}`
}

/** A small result's rows as a VALUES list of JSON texts: no file to write, read and delete. */
function inlineSource(rows: ResultRows): string {
  const values: string[] = []
  for (let index = 0; index < rows.rowCount; index++) values.push(`(${quoteLiteral(JSON.stringify(rows.values(index).map(encodeValue)))})`)
  // An empty result still needs its columns: one row, filtered out, keeps the types.
  const list = values.length === 0 ? `('[]')` : values.join(', ')
  const filter = values.length === 0 ? ' WHERE false' : ''
  return `(SELECT CAST(text AS JSON) AS json FROM (VALUES ${list}) AS v (text)${filter})`
}

/** The expression that turns element `index` of a row's JSON array back into a value of `type`. */
function valueExpression(type: string, index: number): string {
  const text = `(json->>${index})`
  if (type === 'VARCHAR' || type === 'TEXT') return text
  if (type === 'BLOB') return `from_base64${text}`
  if (castableType.test(type)) return `CAST(${text} AS ${type})`
  // JSON columns and nested types: the encoded JSON value itself (a JSON null is SQL NULL).
  return `CAST(NULLIF(CAST((json->${index}) AS VARCHAR), 'null') AS JSON)`
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}

function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`
}
