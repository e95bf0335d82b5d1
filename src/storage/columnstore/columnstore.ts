/**
 * The column store: the analytical mirror, in a DuckDB file in the data directory.
 * This is the only file that imports @duckdb/node-api. It is loaded lazily (dynamic import) so that
 * opening a database and doing point reads never pays for starting DuckDB.
 */
import { endianness } from 'node:os'
import type * as DuckDB from '@duckdb/node-api'
import type * as DuckDBBindings from '@duckdb/node-bindings'
import { appendChunks, type AppendKind } from './chunks.js'

export type { AppendKind } from './chunks.js'
import { StrataError, type ErrorCode } from '../../util/errors.js'
import { dateFromMicros, dateMicros } from '../../util/timestamp.js'
import { decimalResult } from '../../util/decimal.js'

export interface ColumnResult {
  readonly columns: readonly { readonly name: string; readonly type: string }[]
  /** Values already converted to Strata's JS types (SPEC 3). */
  readonly rows: unknown[][]
  readonly rowsChanged: number
}

/** A result read chunk by chunk: its columns, then each chunk's rows converted (ColumnSession.stream). */
export interface ColumnStream {
  readonly columns: readonly { readonly name: string; readonly type: string }[]
  readonly chunks: AsyncIterable<unknown[][]>
}

export interface ColumnSession {
  run(sql: string, params?: readonly unknown[] | Readonly<Record<string, unknown>>): Promise<ColumnResult>
  /**
   * The same, chunk by chunk as DuckDB produces them (about 2048 rows each), for results too large to
   * hold: the columns first, then each chunk's rows converted. The session is busy until it ends.
   */
  stream(sql: string, params?: readonly unknown[] | Readonly<Record<string, unknown>>): Promise<ColumnStream>
  /**
   * Runs one or more statements (`;`-separated, no parameters) in one call and discards their results:
   * one trip through DuckDB's worker instead of one (and a fetch) per statement, which matters when the
   * event loop is busy. A failing statement stops the rest; an open transaction then stays open.
   */
  runStatements(sql: string): Promise<void>
  /** Bulk path: appends rows (already in the given primitive kinds) to an existing table (of `catalog`: `temp` for a temporary one). */
  append(schema: string, table: string, kinds: readonly AppendKind[], rows: readonly (readonly unknown[])[], catalog?: string): Promise<void>
  /** DuckDB's own parser, serialized to JSON (json_serialize_sql). */
  serializeSql(sql: string): Promise<SerializedSql>
  /** Interrupts the running query (for AbortSignal). */
  interrupt(): void
  close(): void
}

export type SerializedSql =
  | { readonly error: false; readonly statements: readonly unknown[] }
  | { readonly error: true; readonly message: string; readonly position: number | undefined }

export interface ColumnStore {
  connect(): Promise<ColumnSession>
  /**
   * A session on a DuckDB of its own, in memory and on one thread, holding no table: for small queries
   * over values given as parameters (a stream step's inlined events). DuckDB runs a query on several
   * threads of its instance; for a query of a few rows, waking them costs more than the query, and its
   * tail several milliseconds on a busy machine — a one-event step measured 0.56 ms median and 0.85 ms
   * p99 on one thread against 0.65 ms and 2.4–3.4 ms on two. The same library, so the same answers.
   * Made on first use, closed with the store; one session, its calls one after another.
   */
  scratch(): Promise<ColumnSession>
  close(): Promise<void>
}

type DuckDBModule = typeof DuckDB
let duckdbModule: Promise<DuckDBModule> | undefined

function loadDuckDB(): Promise<DuckDBModule> {
  duckdbModule ??= import('@duckdb/node-api')
  return duckdbModule
}

let bindingsModule: Promise<typeof DuckDBBindings> | undefined

/** DuckDB's C API as node-api wraps it: the bulk path writes data chunks' vectors with it (chunks.ts). */
function loadBindings(): Promise<typeof DuckDBBindings> {
  bindingsModule ??= import('@duckdb/node-bindings').then((module) => module.default as typeof DuckDBBindings)
  return bindingsModule
}

/** DuckDB's vectors are in the machine's byte order; the chunk path writes little-endian. */
const littleEndian = endianness() === 'LE'

/**
 * Opens (creating if needed) the DuckDB file.
 *
 * @example
 * const store = await openColumnStore('/tmp/db/mirror.duckdb')
 * const session = await store.connect()
 * await session.run('SELECT 42 AS answer')
 */
export async function openColumnStore(file: string): Promise<ColumnStore> {
  const duckdb = await loadDuckDB()
  let instance: DuckDB.DuckDBInstance
  try {
    instance = await duckdb.DuckDBInstance.create(file, { threads: '2' })
  } catch (error) {
    throw translateDuckDBError(error, undefined)
  }
  const sessions = new Set<Session>()
  let scratch: Promise<{ readonly instance: DuckDB.DuckDBInstance; readonly session: Session }> | undefined
  return {
    async connect() {
      const connection = await instance.connect()
      const session = new Session(duckdb, connection, () => sessions.delete(session))
      sessions.add(session)
      return session
    },
    async scratch() {
      scratch ??= (async () => {
        const own = await duckdb.DuckDBInstance.create(':memory:', { threads: '1' })
        const session = new Session(duckdb, await own.connect(), () => undefined)
        return { instance: own, session }
      })()
      return (await scratch).session
    },
    async close() {
      for (const session of sessions) session.close()
      sessions.clear()
      const own = await scratch?.catch(() => undefined)
      own?.session.close()
      own?.instance.closeSync()
      instance.closeSync()
    },
  }
}

/** How often an interrupt is repeated while the call it was meant for has not ended (Session.interrupt). */
const interruptRepeatMs = 10

/** Prepared statements a session keeps, by SQL text (a fresh read is then one DuckDB call, not four). */
const preparedPerSessionMax = 32

class Session implements ColumnSession {
  private closed = false
  /** Calls into DuckDB running now (run, runStatements, the start of a stream), and how many have started. */
  private inFlight = 0
  private callsStarted = 0
  /** Least recently used first. */
  private readonly prepared = new Map<string, DuckDB.DuckDBPreparedStatement>()
  constructor(
    private readonly duckdb: DuckDBModule,
    private readonly connection: DuckDB.DuckDBConnection,
    private readonly onClose: () => void,
  ) {}

  run(sql: string, params?: readonly unknown[] | Readonly<Record<string, unknown>>): Promise<ColumnResult> {
    return this.tracked(() => this.runNow(sql, params))
  }

  private async runNow(sql: string, params?: readonly unknown[] | Readonly<Record<string, unknown>>): Promise<ColumnResult> {
    // A materialized result: its chunks are read synchronously below, so the whole call is one trip
    // through DuckDB's worker (plus a prepare the first time a text is seen), not one per chunk.
    let result: DuckDB.DuckDBMaterializedResult
    try {
      result = params === undefined ? await this.connection.run(sql) : await this.runPrepared(sql, this.bindValues(params))
    } catch (error) {
      throw translateDuckDBError(error, sql)
    }
    const columnCount = result.columnCount
    const columns: { name: string; type: string }[] = []
    const converters: ((value: unknown) => unknown)[] = []
    for (let index = 0; index < columnCount; index++) {
      const type = result.columnType(index)
      const typeName = strataTypeName(type)
      columns.push({ name: result.columnName(index), type: typeName })
      converters.push(converterFor(typeName))
    }
    const rows: unknown[][] = []
    const converter = valueConverter(this.duckdb)
    for (let chunkIndex = 0; chunkIndex < result.chunkCount; chunkIndex++) {
      for (const row of result.getChunk(chunkIndex).convertRows(converter) as unknown[][]) rows.push(row)
    }
    for (const row of rows) {
      for (let index = 0; index < columnCount; index++) {
        const value = row[index]
        if (value !== null && value !== undefined) row[index] = converters[index]!(value)
        else row[index] = null
      }
    }
    return { columns, rows, rowsChanged: result.rowsChanged }
  }

  /** Runs `sql` with parameters through a prepared statement kept for the next call with the same text. */
  private async runPrepared(sql: string, { values, types }: BoundValues): Promise<DuckDB.DuckDBMaterializedResult> {
    let prepared = this.prepared.get(sql)
    if (prepared === undefined) {
      try {
        prepared = await this.connection.prepare(sql)
      } catch {
        // Not one preparable statement (several, say): the general path runs it or reports why not.
        return this.connection.run(sql, values)
      }
      if (this.closed) {
        prepared.destroySync()
        throw new StrataError('CLOSED', 'the column store session was closed')
      }
      if (this.prepared.size >= preparedPerSessionMax) {
        const [oldestSql, oldest] = this.prepared.entries().next().value as [string, DuckDB.DuckDBPreparedStatement]
        this.prepared.delete(oldestSql)
        oldest.destroySync()
      }
    } else {
      this.prepared.delete(sql)
    }
    this.prepared.set(sql, prepared)
    bindChecked(prepared, values, types)
    return prepared.run()
  }

  async runStatements(sql: string): Promise<void> {
    try {
      await this.tracked(() => this.connection.run(sql))
    } catch (error) {
      throw translateDuckDBError(error, sql)
    }
  }

  async stream(sql: string, params?: readonly unknown[] | Readonly<Record<string, unknown>>): Promise<ColumnStream> {
    let result: DuckDB.DuckDBResult
    try {
      const bound = params === undefined ? undefined : this.bindValues(params)
      result = await this.tracked(() => this.connection.stream(sql, bound?.values, bound?.types))
    } catch (error) {
      throw translateDuckDBError(error, sql)
    }
    const columns: { name: string; type: string }[] = []
    const converters: ((value: unknown) => unknown)[] = []
    for (let index = 0; index < result.columnCount; index++) {
      const typeName = strataTypeName(result.columnType(index))
      columns.push({ name: result.columnName(index), type: typeName })
      converters.push(converterFor(typeName))
    }
    const duckdb = this.duckdb
    async function* chunks(): AsyncGenerator<unknown[][]> {
      for (;;) {
        let chunk: DuckDB.DuckDBDataChunk | null
        try {
          chunk = await result.fetchChunk()
        } catch (error) {
          throw translateDuckDBError(error, sql)
        }
        if (chunk === null || chunk.rowCount === 0) return
        const rows = chunk.convertRows(valueConverter(duckdb)) as unknown[][]
        for (const row of rows) {
          for (let index = 0; index < row.length; index++) {
            const value = row[index]
            row[index] = value === null || value === undefined ? null : converters[index]!(value)
          }
        }
        yield rows
      }
    }
    return { columns, chunks: chunks() }
  }

  async append(schema: string, table: string, kinds: readonly AppendKind[], rows: readonly (readonly unknown[])[], catalog?: string): Promise<void> {
    let appender: DuckDB.DuckDBAppender
    try {
      appender = await this.connection.createAppender(table, schema, catalog)
    } catch (error) {
      throw translateDuckDBError(error, `append to ${schema}.${table}`)
    }
    try {
      if (!littleEndian || !appendChunks(this.duckdb, await loadBindings(), appender, kinds, rows)) this.appendValues(appender, kinds, rows)
      appender.flushSync()
    } catch (error) {
      throw translateDuckDBError(error, `append to ${schema}.${table}`)
    } finally {
      appender.closeSync()
    }
  }

  /** The appender's per-value path, where the chunk path does not apply (chunks.ts): it converts each value as CAST does. */
  private appendValues(appender: DuckDB.DuckDBAppender, kinds: readonly AppendKind[], rows: readonly (readonly unknown[])[]): void {
    for (const row of rows) {
      for (let index = 0; index < kinds.length; index++) {
        const value = row[index]
        if (value === null || value === undefined) {
          appender.appendNull()
          continue
        }
        switch (kinds[index]) {
          case 'bigint':
            if (typeof value === 'bigint') appender.appendBigInt(value)
            // A small integer skips making a BigInt.
            else if (((value as number) | 0) === value) appender.appendInteger(value)
            else appender.appendBigInt(BigInt(value as number))
            break
          case 'timestamp':
            appender.appendTimestamp(new this.duckdb.DuckDBTimestampValue(typeof value === 'bigint' ? value : BigInt(value as number)))
            break
          case 'timestamptz':
            appender.appendTimestampTZ(new this.duckdb.DuckDBTimestampTZValue(typeof value === 'bigint' ? value : BigInt(value as number)))
            break
          case 'double':
            appender.appendDouble(Number(value))
            break
          case 'varchar':
            appender.appendVarchar(String(value))
            break
          case 'blob':
            appender.appendBlob(value as Uint8Array)
            break
          case 'boolean':
            appender.appendBoolean(value === true || value === 1 || value === 1n)
            break
          default:
            throw new StrataError('INTERNAL', `unknown append kind ${String(kinds[index])}`)
        }
      }
      appender.endRow()
    }
  }

  async serializeSql(sql: string): Promise<SerializedSql> {
    const result = await this.run('SELECT json_serialize_sql($1::VARCHAR) AS tree', [sql])
    const text = result.rows[0]?.[0]
    const tree = (typeof text === 'string' ? JSON.parse(text) : text) as {
      error: boolean
      statements?: unknown[]
      error_message?: string
      position?: string
    }
    if (tree.error) {
      const position = tree.position === undefined ? undefined : Number(tree.position) + 1
      return { error: true, message: tree.error_message ?? 'syntax error', position }
    }
    return { error: false, statements: tree.statements ?? [] }
  }

  /**
   * Interrupts the call in flight. DuckDB forgets an interrupt that comes before the query has begun
   * (still queued for a worker thread, or being prepared): so while that same call is in flight the
   * interrupt is repeated every few milliseconds, until it ends.
   */
  interrupt(): void {
    if (this.closed) return
    this.connection.interrupt()
    if (this.inFlight === 0) return
    const call = this.callsStarted
    const timer = setInterval(() => {
      if (this.closed || this.inFlight === 0 || this.callsStarted !== call) clearInterval(timer)
      else this.connection.interrupt()
    }, interruptRepeatMs)
    timer.unref()
  }

  private async tracked<T>(work: () => Promise<T>): Promise<T> {
    this.callsStarted++
    this.inFlight++
    try {
      return await work()
    } finally {
      this.inFlight--
    }
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    for (const prepared of this.prepared.values()) prepared.destroySync()
    this.prepared.clear()
    this.connection.closeSync()
    this.onClose()
  }

  /**
   * JS values → DuckDB values. Dates bind as TIMESTAMP, byte arrays as BLOB, objects as JSON text. A
   * number that is an integer beyond 2^53 is a double (1e308, 2^60): DuckDB's client would bind it as
   * a BIGINT, which fails beyond 2^63, so it is bound with the type DOUBLE.
   */
  private bindValues(params: readonly unknown[] | Readonly<Record<string, unknown>>): BoundValues {
    const convert = (value: unknown): DuckDB.DuckDBValue => {
      if (value === null || value === undefined) return null
      if (typeof value === 'number') return Number.isInteger(value) && Number.isSafeInteger(value) ? BigInt(value) : value
      if (typeof value === 'bigint' || typeof value === 'string' || typeof value === 'boolean') return value
      if (value instanceof Date) return new this.duckdb.DuckDBTimestampValue(dateMicros(value))
      if (value instanceof Uint8Array) return new this.duckdb.DuckDBBlobValue(value)
      return JSON.stringify(value)
    }
    const typeOf = (value: unknown): DuckDB.DuckDBType | undefined => (typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value) ? this.duckdb.DOUBLE : undefined)
    if (Array.isArray(params)) return { values: params.map(convert), types: params.map(typeOf) as DuckDB.DuckDBType[] }
    const values: Record<string, DuckDB.DuckDBValue> = {}
    const types: Record<string, DuckDB.DuckDBType | undefined> = {}
    for (const [key, value] of Object.entries(params)) {
      values[key] = convert(value)
      types[key] = typeOf(value)
    }
    return { values, types }
  }
}

/** Parameters for DuckDB, with the types DuckDB's client should not infer for itself (undefined: infer). */
interface BoundValues {
  readonly values: DuckDB.DuckDBValue[] | Record<string, DuckDB.DuckDBValue>
  readonly types: DuckDB.DuckDBType[] | Record<string, DuckDB.DuckDBType | undefined>
}

let jsConverter: DuckDB.DuckDBValueConverter<unknown> | undefined

/**
 * DuckDB's JS conversion, except that TIMESTAMP and TIMESTAMPTZ keep their microseconds (the row
 * store's conversion, `microsToDate`, gives the same value: a Date, or a Timestamp when there are
 * sub-millisecond digits). Nested values (lists, structs) are converted by this one too.
 */
function valueConverter(duckdb: DuckDBModule): DuckDB.DuckDBValueConverter<unknown> {
  if (jsConverter !== undefined) return jsConverter
  const base = duckdb.JSDuckDBValueConverter as DuckDB.DuckDBValueConverter<unknown>
  const { TIMESTAMP, TIMESTAMP_TZ, DECIMAL } = duckdb.DuckDBTypeId
  const converter: DuckDB.DuckDBValueConverter<unknown> = (value, type, nested) => {
    const typeId = type.typeId
    // Exact, never through a double: a number only when it spells the value exactly (util/decimal.ts).
    if (typeId === DECIMAL && value instanceof duckdb.DuckDBDecimalValue) return decimalResult({ unscaled: value.value, scale: value.scale })
    if ((typeId === TIMESTAMP || typeId === TIMESTAMP_TZ) && (value instanceof duckdb.DuckDBTimestampValue || value instanceof duckdb.DuckDBTimestampTZValue) && value.isFinite) {
      const date = dateFromMicros(value.micros)
      // Out of a JS Date's range: DuckDB's own converter says so.
      if (!Number.isNaN(date.getTime())) return date
    }
    return base(value, type, nested)
  }
  jsConverter = converter
  return converter
}

/** DuckDB's type names, with Strata's spellings where they differ. */
function strataTypeName(type: DuckDB.DuckDBType): string {
  const alias = (type as { alias?: string }).alias
  if (alias !== undefined && alias.toUpperCase() === 'JSON') return 'JSON'
  const name = type.toString()
  if (name === 'TIMESTAMP WITH TIME ZONE') return 'TIMESTAMPTZ'
  if (name === 'FLOAT') return 'REAL'
  return name
}

function converterFor(typeName: string): (value: unknown) => unknown {
  switch (typeName) {
    case 'BIGINT':
    case 'HUGEINT':
    case 'UBIGINT':
    case 'UHUGEINT':
      return (value) => (typeof value === 'bigint' && value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value)
    case 'DATE':
      return (value) => (value instanceof Date ? value.toISOString().slice(0, 10) : String(value))
    case 'JSON':
      return (value) => (typeof value === 'string' ? JSON.parse(value) : value)
    case 'BLOB':
      return (value) => (value instanceof Uint8Array ? value : value)
    default:
      return (value) => value
  }
}

/**
 * Binds parameters, naming the one whose value does not fit the type DuckDB inferred for it (the
 * node-api converts while binding: 1e300 for a BIGINT throws "bigint out of int64 range").
 */
function bindChecked(prepared: DuckDB.DuckDBPreparedStatement, values: BoundValues['values'], types: BoundValues['types']): void {
  try {
    prepared.bind(values, types)
  } catch (error) {
    if (Array.isArray(values) && values.length > prepared.parameterCount) {
      throw new StrataError('INVALID_PARAMETER', `${values.length} parameters given for a statement that takes ${prepared.parameterCount}`, { cause: error })
    }
    const entries = Array.isArray(values)
      ? values.map((value, index) => [index + 1, `$${index + 1}`, value, (types as (DuckDB.DuckDBType | undefined)[])[index]] as const)
      : Object.entries(values).map(([name, value]) => [prepared.parameterIndex(name), `$${name}`, value, (types as Record<string, DuckDB.DuckDBType | undefined>)[name]] as const)
    for (const [index, name, value, type] of entries) {
      try {
        prepared.bindValue(index, value, type)
      } catch (failure) {
        const expected = String(prepared.parameterType(index))
        const shown = typeof value === 'string' ? `'${value.length > 40 ? `${value.slice(0, 40)}…` : value}'` : String(value)
        throw new StrataError('TYPE_MISMATCH', `parameter ${name}: ${shown} does not fit its type ${expected} (${failure instanceof Error ? failure.message : String(failure)})`, { cause: failure })
      }
    }
    throw translateDuckDBError(error, undefined)
  }
}

/** Maps DuckDB's error classes onto our codes; the original error stays as `cause`. */
export function translateDuckDBError(error: unknown, sql: string | undefined): StrataError {
  if (error instanceof StrataError) return error
  const message = error instanceof Error ? error.message : String(error)
  let code: ErrorCode = 'INTERNAL'
  let position: number | undefined
  if (message.startsWith('Parser Error')) code = 'SYNTAX_ERROR'
  else if (message.startsWith('Catalog Error') && message.includes('Table with name')) code = 'UNDEFINED_TABLE'
  else if (message.startsWith('Catalog Error') && message.includes('Function with name')) code = 'TYPE_MISMATCH'
  else if (message.startsWith('Catalog Error') && message.includes('does not exist')) code = 'UNDEFINED_TABLE'
  else if (message.startsWith('Binder Error') && (message.includes('not found in FROM clause') || message.includes('does not have a column'))) code = 'UNDEFINED_COLUMN'
  else if (message.startsWith('Binder Error') && message.includes('Referenced column')) code = 'UNDEFINED_COLUMN'
  else if (message.startsWith('Conversion Error') || message.startsWith('Mismatch Type Error') || message.startsWith('Invalid Input Error')) code = 'TYPE_MISMATCH'
  else if (message.startsWith('Binder Error') && message.includes('No function matches')) code = 'TYPE_MISMATCH'
  // `date_column >= 20240101`: a comparison of two types, as the row store reports it (and PostgreSQL's 42883).
  else if (message.startsWith('Binder Error') && message.includes('Cannot compare values of type')) code = 'TYPE_MISMATCH'
  // A value, not the statement's shape, is wrong; the row store says the same (src/sql/rowsql.ts, checkRowCount).
  else if (message.startsWith('Binder Error: LIMIT/OFFSET cannot be negative')) code = 'INVALID_PARAMETER'
  else if (message.includes('Can not bind to parameter number')) code = 'INVALID_PARAMETER'
  else if (message.startsWith('Binder Error') || message.startsWith('Catalog Error')) code = 'SYNTAX_ERROR'
  else if (message.startsWith('Constraint Error')) code = 'CONSTRAINT_VIOLATION'
  else if (message.startsWith('Not implemented Error')) code = 'NOT_SUPPORTED'
  else if (message.startsWith('IO Error')) code = 'IO_ERROR'
  else if (message.startsWith('INTERRUPT Error') || message.includes('Interrupted')) code = 'ABORTED'
  else if (message.startsWith('Out of Range Error')) code = 'TYPE_MISMATCH'
  // The node-api converting a parameter while it binds (a streamed read binds inside DuckDB's call).
  else if (message.startsWith('bigint out of') || message.includes('out of int64 range')) code = 'TYPE_MISMATCH'
  if (code === 'SYNTAX_ERROR' && sql !== undefined) position = caretPosition(message, sql)
  const lines = message.split('\n')
  const caretLine = lines.findIndex((line) => line.startsWith('LINE '))
  const detail = (caretLine < 0 ? lines : lines.slice(0, caretLine)).map((line) => line.trim()).filter((line) => line !== '').join(' ')
  const where = position === undefined ? '' : ` (at position ${position})`
  return new StrataError(code, `${duckdbMessage(lines[0] ?? message)}${where}`, {
    cause: error,
    store: 'column',
    detail,
    ...(sql === undefined ? {} : { statement: sql }),
    ...(position === undefined ? {} : { position }),
  })
}

/** DuckDB's type names as PostgreSQL's, for messages. */
const postgresTypeNames: Readonly<Record<string, string>> = {
  INT8: 'smallint', INT16: 'smallint', INT32: 'integer', INT64: 'bigint', INT128: 'numeric', UINT8: 'smallint', UINT16: 'integer', UINT32: 'bigint', UINT64: 'numeric',
  DOUBLE: 'double precision', FLOAT: 'double precision', BOOL: 'boolean', BOOLEAN: 'boolean', DATE: 'date', TIMESTAMP: 'timestamp', 'TIMESTAMP WITH TIME ZONE': 'timestamp with time zone', VARCHAR: 'text', BLOB: 'bytea',
}

/**
 * DuckDB's first message line in Strata's voice: no error class ("Catalog Error: "), PostgreSQL's
 * wording for what it has one for (a missing table or column, a value that does not read as its
 * type), DuckDB's sentence otherwise, lower-cased and without its "!". DuckDB's own words stay in the
 * error's `detail`.
 *
 * @example duckdbMessage('Catalog Error: Table with name nope does not exist!') // 'table "nope" does not exist'
 */
function duckdbMessage(line: string): string {
  const colon = line.indexOf(' Error: ')
  let text = colon > 0 && /^[A-Za-z ]+$/.test(line.slice(0, colon)) ? line.slice(colon + ' Error: '.length) : line
  text = text.replace(/!$/, '')
  let match: RegExpExecArray | null
  if ((match = /^Table with name (.+) does not exist/.exec(text)) !== null) return `table "${match[1]}" does not exist`
  if ((match = /^Table "(.+)" does not have a column named "(.+)"/.exec(text)) !== null) return `column "${match[2]}" does not exist in table "${match[1]}"`
  if ((match = /^Referenced column "(.+)" not found in FROM clause/.exec(text)) !== null) return `column "${match[1]}" does not exist`
  if ((match = /^(?:Scalar |Aggregate |Table )?Function with name (.+) does not exist/.exec(text)) !== null) return `function ${match[1]}() does not exist`
  if ((match = /^Could not convert string '(.*)' to (.+)$/.exec(text)) !== null) return `invalid input syntax for type ${postgresTypeNames[match[2]!] ?? match[2]!.toLowerCase()}: "${match[1]}"`
  const first = text.charAt(0)
  return text.length > 1 && first !== first.toLowerCase() && text.charAt(1) === text.charAt(1).toLowerCase() ? first.toLowerCase() + text.slice(1) : text
}

/** DuckDB prints "LINE 1: <text>" and a caret line under it; that caret is the position. */
function caretPosition(message: string, sql: string): number | undefined {
  const lines = message.split('\n')
  const index = lines.findIndex((line) => line.startsWith('LINE '))
  if (index < 0) return undefined
  const lineText = lines[index]!
  const caret = lines[index + 1]
  if (caret === undefined) return undefined
  const prefixLength = lineText.indexOf(': ') + 2
  const column = caret.indexOf('^') - prefixLength
  const lineNumber = Number(lineText.slice(5, lineText.indexOf(':')))
  if (!Number.isFinite(lineNumber) || column < 0) return undefined
  const sqlLines = sql.split('\n')
  let offset = 0
  for (let line = 1; line < lineNumber && line <= sqlLines.length; line++) offset += (sqlLines[line - 1]?.length ?? 0) + 1
  return offset + column + 1
}
