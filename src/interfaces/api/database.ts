/**
 * The library API (SPEC section 3): a thin, typed shell over the engine. Every call after close fails
 * with CLOSED; `await using db = await open()` closes deterministically.
 */
import type { Table as ArrowTable, Vector } from 'apache-arrow'
import { Engine, type StatementResult } from '../../engine/engine.js'
import type { Session } from '../../engine/session.js'
import { StrataError } from '../../util/errors.js'
import { checkBranchName, mainBranch } from '../../util/branch-names.js'
import { decimalLabel, decimalWords } from '../../util/decimal.js'
import { dateMicros } from '../../util/timestamp.js'
import { loadArrow, type Arrow } from './arrow.js'
import { inputRows } from './bulk-input.js'
import type { BatchItem, BranchHandle, Database, ExportOptions, InsertOptions, ImportOptions, OpenOptions, Params, QueryOptions, QueryResult, SubscribeOptions, Subscription, SyncStatus, Transaction, WriteSummary, WriteTableOptions, WriteTableSummary } from './types.js'

function toResult(result: StatementResult): QueryResult {
  return result
}

class SessionHandle implements Transaction {
  constructor(
    protected readonly engine: Engine,
    protected readonly session: Session,
  ) {}

  query(sql: string, params?: Params, options?: QueryOptions): Promise<QueryResult> {
    // Not async, so a point read costs one promise hop less; every error is still a rejection.
    try {
      this.checkUsable()
      if (typeof sql !== 'string') throw new StrataError('INVALID_ARGUMENT', 'query() takes the SQL text as its first argument')
      return this.engine.executeSingle(this.session, sql, params, options)
    } catch (error) {
      return Promise.reject(error)
    }
  }

  async exec(sql: string, options: { readonly signal?: AbortSignal } = {}): Promise<QueryResult[]> {
    this.checkUsable()
    return (await this.engine.execute(this.session, sql, undefined, options)).map(toResult)
  }

  sql(strings: TemplateStringsArray, ...values: unknown[]): Promise<QueryResult> {
    let text = strings[0] ?? ''
    for (let index = 0; index < values.length; index++) text += `$${index + 1}${strings[index + 1] ?? ''}`
    return this.query(text, values)
  }

  protected checkUsable(): void {
    if (this.engine.isClosed) throw new StrataError('CLOSED', 'the database is closed')
  }
}

class TransactionHandle extends SessionHandle {
  finished = false

  protected override checkUsable(): void {
    super.checkUsable()
    if (this.finished) throw new StrataError('TX_STATE', 'this transaction has already finished')
  }
}

/** Runs `body` as one transaction of `session`: BEGIN, the body, COMMIT (or the session aborted when the body throws). */
async function inTransaction<T>(engine: Engine, session: Session, body: (tx: Transaction) => Promise<T>, options: { readonly signal?: AbortSignal }): Promise<T> {
  const handle = new TransactionHandle(engine, session)
  await engine.execute(session, 'BEGIN', undefined, options)
  let value: T
  try {
    value = await body(handle)
  } catch (error) {
    handle.finished = true
    await engine.abortSession(session)
    throw error
  }
  handle.finished = true
  if (session.inTransaction) await engine.execute(session, 'COMMIT', undefined, options)
  return value
}

class BranchSessionHandle extends SessionHandle implements BranchHandle {
  constructor(
    engine: Engine,
    readonly branch: string,
  ) {
    const session = engine.newSession()
    session.branch = branch
    super(engine, session)
  }

  async transaction<T>(body: (tx: Transaction) => Promise<T>, options: { readonly signal?: AbortSignal } = {}): Promise<T> {
    this.checkUsable()
    const session = this.engine.newSession()
    session.branch = this.branch
    return inTransaction(this.engine, session, body, options)
  }
}

class DatabaseHandle extends SessionHandle implements Database {
  constructor(
    engine: Engine,
    readonly path: string,
  ) {
    super(engine, engine.session)
  }

  async transaction<T>(body: (tx: Transaction) => Promise<T>, options: { readonly signal?: AbortSignal } = {}): Promise<T> {
    this.checkUsable()
    const session = this.engine.newSession()
    // A transaction starts on the branch the database handle is on (USE BRANCH); a USE BRANCH inside it holds for it alone.
    session.branch = this.session.branch
    return inTransaction(this.engine, session, body, options)
  }

  /** The calls that read or write main's tables directly, refused while the handle's session is on another branch (USE BRANCH) rather than answered from main. */
  private onMainOnly(what: string): void {
    if (this.session.branch !== mainBranch) throw new StrataError('NOT_SUPPORTED', `${what} on a branch other than main (this database is on branch "${this.session.branch}"; USE BRANCH main first)`)
  }

  branch(name: string): BranchHandle {
    this.checkUsable()
    if (typeof name !== 'string') throw new StrataError('INVALID_ARGUMENT', 'branch() takes the branch name')
    checkBranchName(name)
    return new BranchSessionHandle(this.engine, name)
  }

  async queryArrow(sql: string, params?: Params, options: QueryOptions = {}): Promise<ArrowTable> {
    this.checkUsable()
    // Arrow comes from the column store's own result; rows are converted column by column.
    const result = await this.engine.execute(this.session, sql, params, { ...options, engine: options.engine ?? 'column' })
    const last = result[result.length - 1]
    if (last === undefined) throw new StrataError('SYNTAX_ERROR', 'empty statement', { statement: sql })
    return rowsToArrow(last, await loadArrow())
  }

  async syncStatus(): Promise<SyncStatus> {
    this.checkUsable()
    return this.engine.syncStatus()
  }

  async tables(): Promise<string[]> {
    this.checkUsable()
    return this.engine.tableNames()
  }

  async importFile(file: string, options: ImportOptions): Promise<WriteSummary> {
    this.checkUsable()
    this.onMainOnly('importFile()')
    return this.engine.importFile(file, options)
  }

  async insert(table: string, rows: readonly Readonly<Record<string, unknown>>[] | ArrowTable, options: InsertOptions = {}): Promise<WriteSummary> {
    this.checkUsable()
    this.onMainOnly('insert()')
    if (typeof table !== 'string') throw new StrataError('INVALID_PARAMETER', 'insert() takes the table name as its first argument')
    const input = await inputRows(rows)
    return this.engine.bulkInsert(table, input.columns.map((name) => ({ name })), input.rows, { signal: options.signal, onProgress: options.onProgress })
  }

  async writeTable(table: string, rows: readonly Readonly<Record<string, unknown>>[] | ArrowTable, options: WriteTableOptions): Promise<WriteTableSummary> {
    this.checkUsable()
    this.onMainOnly('writeTable()')
    if (typeof table !== 'string') throw new StrataError('INVALID_ARGUMENT', 'writeTable() takes the table name as its first argument')
    if (typeof options !== 'object' || options === null) throw new StrataError('INVALID_ARGUMENT', "writeTable() takes options: { mode: 'replace' | 'append' | 'upsert', key?, allowEmpty? }")
    if (options.key !== undefined && (!Array.isArray(options.key) || !options.key.every((name) => typeof name === 'string'))) throw new StrataError('INVALID_ARGUMENT', 'writeTable(): key must be an array of column names')
    const input = await inputRows(rows)
    return this.engine.writeTable(table, input.columns, input.rows, { mode: options.mode, key: options.key, allowEmpty: options.allowEmpty, signal: options.signal })
  }

  async push(source: string, rows: readonly Readonly<Record<string, unknown>>[] | ArrowTable): Promise<WriteSummary> {
    this.checkUsable()
    this.onMainOnly('push()')
    if (typeof source !== 'string') throw new StrataError('INVALID_ARGUMENT', 'push() takes the source name as its first argument')
    const input = await inputRows(rows)
    return this.engine.callSubsystem('push', [source, input.columns, input.rows, 'error'])
  }

  async advanceWatermark(source: string, time: Date | string | bigint): Promise<void> {
    this.checkUsable()
    this.onMainOnly('advanceWatermark()')
    if (typeof source !== 'string') throw new StrataError('INVALID_ARGUMENT', 'advanceWatermark() takes the source name as its first argument')
    await this.engine.callSubsystem('advanceWatermark', [source, time])
  }

  async flush(source?: string): Promise<void> {
    this.checkUsable()
    this.onMainOnly('flush()')
    if (source !== undefined && typeof source !== 'string') throw new StrataError('INVALID_ARGUMENT', 'flush() takes a source name, or nothing for every source')
    await this.engine.callSubsystem('flush', [source])
  }

  async writeBatch(items: readonly BatchItem[], options: { readonly signal?: AbortSignal } = {}): Promise<WriteSummary> {
    this.checkUsable()
    this.onMainOnly('writeBatch()')
    return this.engine.writeBatch(items, options)
  }

  async exportTable(file: string, options: ExportOptions): Promise<{ readonly rowCount: number }> {
    this.checkUsable()
    this.onMainOnly('exportTable()')
    return this.engine.exportTable(file, options)
  }

  subscribe(options: SubscribeOptions = {}): Subscription {
    this.checkUsable()
    this.onMainOnly('subscribe()')
    return this.engine.subscribe(options)
  }

  async close(): Promise<void> {
    await this.engine.close()
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }
}

function rowsToArrow(result: QueryResult, arrow: Arrow): ArrowTable {
  // Arrow IPC from DuckDB would need its arrow extension (a download); building the table from the
  // converted columns keeps the same JS values as query() and works offline.
  const columns: Record<string, unknown[]> = {}
  for (const column of result.columns) columns[column.name] = result.rows.map((row) => row[column.name])
  return arrowFromColumns(columns, result.columns, arrow)
}

function arrowFromColumns(columns: Record<string, unknown[]>, types: readonly { name: string; type: string }[], arrow: Arrow): ArrowTable {
  const { Binary, Bool, Decimal, Float64, Int32, Int64, Table, TimestampMicrosecond, Utf8, Vector, vectorFromArray } = arrow
  const vectors: Record<string, Vector> = {}
  for (const { name, type } of types) {
    const values = columns[name] ?? []
    let vector: Vector
    if (type === 'BOOLEAN') vector = vectorFromArray(values as (boolean | null)[], new Bool())
    else if (type === 'INTEGER' || type === 'SMALLINT') vector = vectorFromArray(values as (number | null)[], new Int32())
    else if (type === 'BIGINT' || type === 'HUGEINT') vector = vectorFromArray(values.map((value) => (value === null ? null : BigInt(value as number))), new Int64())
    else if (type === 'DOUBLE' || type === 'REAL') vector = vectorFromArray(values as (number | null)[], new Float64())
    // DECIMAL is Arrow's Decimal128 at the column's precision and scale: exact, as in query().
    else if (decimalLabel(type) !== undefined) {
      const { precision, scale } = decimalLabel(type)!
      vector = vectorFromArray(values.map((value) => (value === null ? null : decimalWords(value as number | string | bigint, scale))), new Decimal(scale, precision, 128))
    }
    else if (type === 'TIMESTAMP' || type === 'TIMESTAMPTZ') {
      // Arrow's TimestampMicrosecond builder takes milliseconds; the exact microseconds go in as Int64
      // data relabelled (the same 64-bit layout).
      const micros = vectorFromArray(values.map((value) => (value === null ? null : dateMicros(value as Date))), new Int64())
      vector = new Vector(micros.data.map((data) => data.clone(new TimestampMicrosecond())))
    }
    else if (type === 'BLOB') vector = vectorFromArray(values as (Uint8Array | null)[], new Binary())
    else vector = vectorFromArray(values.map((value) => (value === null ? null : typeof value === 'string' ? value : JSON.stringify(value))), new Utf8())
    vectors[name] = vector
  }
  return new Table(vectors)
}

/**
 * Opens a database: no path or ':memory:' → in memory (a private temporary directory, removed on
 * close); a path → a durable data directory, created if missing.
 *
 * @example
 * import { open } from 'stratadb'
 * await using db = await open('./strata-data')
 * await db.query('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)')
 * const { rows } = await db.sql`SELECT * FROM t WHERE id = ${1}`
 */
export async function open(path?: string, options: OpenOptions = {}): Promise<Database> {
  if (options.signal?.aborted === true) throw new StrataError('ABORTED', 'open was aborted')
  const engine = await Engine.open(path, { clock: options.clock, durability: options.durability })
  return new DatabaseHandle(engine, engine.path)
}
