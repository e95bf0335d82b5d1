/**
 * The row store: current state, history and the ledger, in one SQLite database (WAL mode).
 * This is the only file that imports better-sqlite3. Everything above talks to the narrow
 * `RowConnection` interface below, which names its blocking calls `…Sync` because they block the event loop.
 */
import BetterSqlite3 from 'better-sqlite3'
import { StrataError, type ErrorCode } from '../../util/errors.js'
import { registerArithmeticFunctions } from './arithmetic-functions.js'
import { addonOptions } from './native.js'
import { registerTimeSeriesFunctions } from './timeseries-functions.js'

export type RowValue = null | number | bigint | string | Uint8Array

export interface RowStatement {
  /** Rows as arrays, in column order. */
  allSync(params: readonly RowValue[]): RowValue[][]
  /** Rows one at a time; the connection is busy until the iterator ends (use a connection of its own). */
  iterateSync(params: readonly RowValue[]): IterableIterator<RowValue[]>
  runSync(params: readonly RowValue[]): { readonly changes: number }
  readonly columnNames: readonly string[]
  readonly returnsRows: boolean
}

export interface RowConnection {
  /** Prepared statements are cached per SQL text; `bigints` returns INTEGER values as bigint. */
  prepareSync(sql: string, options?: { readonly bigints?: boolean }): RowStatement
  /** Runs one or more statements without parameters (DDL, pragmas, transaction control). */
  execSync(sql: string): void
  /**
   * Defines (or redefines) an SQL function of no arguments on this connection, e.g. the ledger's
   * counters the tables' defaults call. Not deterministic: SQLite calls it for every use.
   */
  defineFunctionSync(name: string, body: () => RowValue): void
  readonly inTransaction: boolean
}

export interface RowStore {
  /** The single writer connection. Reads inside a transaction go here so they see its own writes. */
  readonly writer: RowConnection
  /**
   * A second connection for autocommit reads: in WAL mode it sees the last commit, never a pending one.
   * Its reads share one read transaction until the writer runs a statement (ReaderSnapshot).
   */
  readonly reader: RowConnection
  /** Opens one more read-only connection (the CDC sync holds a snapshot on its own). */
  connectReaderSync(): RowConnection & { closeSync(): void }
  /** How a COMMIT reaches the disk: 'full' syncs the WAL at every COMMIT (one fsync each), 'normal' at checkpoints, 'off' never. */
  readonly durability: 'full' | 'normal' | 'off'
  closeSync(): void
}

export interface RowStoreOptions {
  readonly durability: 'full' | 'normal' | 'off'
}

/** Statements kept prepared per connection; bounded so ad-hoc SQL does not grow memory. */
const preparedStatementsMax = 2_000

/**
 * The reader's snapshot, shared by autocommit reads until the writer runs a statement. Each read on
 * its own is a read transaction of its own, and beginning and ending one costs two fcntl(2) lock calls
 * and a check of the WAL index: as much as the B-tree lookup of a point read. Reads see the same
 * commits anyway until the writer commits, and only this process's writer can commit (the directory
 * lock, directory-lock.ts): so the first read begins a transaction on the reader, later reads join
 * it, and the writer ends it before it runs anything (the next read then begins a fresh one, which
 * sees what the writer committed). Ending it before the writer starts also means a checkpoint never
 * waits for it.
 */
class ReaderSnapshot {
  /** 'open': reads join it; 'stuck': ending it failed, the next read tries again and reports why. */
  private state: 'none' | 'open' | 'stuck' = 'none'
  private readonly begin: BetterSqlite3.Statement
  private readonly commit: BetterSqlite3.Statement

  constructor(private readonly database: BetterSqlite3.Database) {
    this.begin = database.prepare('BEGIN')
    this.commit = database.prepare('COMMIT')
  }

  /** Before a read on the reader: join the open snapshot, or begin one. */
  readonly enter = (): void => {
    if (this.state === 'open') return
    if (this.state === 'stuck') this.end()
    try {
      this.begin.run()
    } catch (error) {
      throw translateSqliteError(error, 'BEGIN')
    }
    this.state = 'open'
  }

  /** Before the writer runs a statement. A failure to end is reported by the next read, not the write. */
  readonly writerUsed = (): void => {
    if (this.state !== 'open') return
    try {
      this.end()
    } catch {
      this.state = 'stuck'
    }
  }

  /** Ends the open snapshot (before the reader closes, and before the writer runs anything). */
  end(): void {
    if (this.state === 'none') return
    this.state = 'none'
    if (!this.database.open || !this.database.inTransaction) return
    try {
      this.commit.run()
    } catch (error) {
      this.state = 'stuck'
      throw translateSqliteError(error, 'COMMIT')
    }
  }
}

class Connection implements RowConnection {
  /** By SQL text, one map per integer mode (keying by the text itself reuses the string's cached hash). */
  private readonly cache = new Map<string, RowStatement>()
  private readonly bigintCache = new Map<string, RowStatement>()
  /** Runs before each statement (the reader's and the writer's part in ReaderSnapshot). */
  beforeUse: () => void = () => undefined
  constructor(readonly database: BetterSqlite3.Database) {}

  get inTransaction(): boolean {
    return this.database.inTransaction
  }

  prepareSync(sql: string, options: { readonly bigints?: boolean } = {}): RowStatement {
    // Compiling reads the schema: on the reader, in the snapshot the statement will run in.
    this.beforeUse()
    const cache = options.bigints === true ? this.bigintCache : this.cache
    const cached = cache.get(sql)
    if (cached !== undefined) return cached
    let statement: BetterSqlite3.Statement
    try {
      statement = this.database.prepare(sql)
    } catch (error) {
      throw translateSqliteError(error, sql)
    }
    const returnsRows = statement.reader
    if (returnsRows) {
      statement.raw(true)
      if (options.bigints === true) statement.safeIntegers(true)
    }
    const columnNames = returnsRows ? statement.columns().map((column) => column.name) : []
    const connection = this
    const wrapped: RowStatement = {
      columnNames,
      returnsRows,
      allSync(params) {
        connection.beforeUse()
        try {
          // A call with a spread costs about as much as SQLite's work for a point lookup: the common
          // arities are called directly.
          switch (params.length) {
            case 0:
              return statement.all() as RowValue[][]
            case 1:
              return statement.all(params[0]) as RowValue[][]
            case 2:
              return statement.all(params[0], params[1]) as RowValue[][]
            case 3:
              return statement.all(params[0], params[1], params[2]) as RowValue[][]
            default:
              return statement.all(...(params as unknown[])) as RowValue[][]
          }
        } catch (error) {
          throw translateSqliteError(error, sql)
        }
      },
      *iterateSync(params) {
        connection.beforeUse()
        try {
          yield* statement.iterate(...(params as unknown[])) as IterableIterator<RowValue[]>
        } catch (error) {
          throw translateSqliteError(error, sql)
        }
      },
      runSync(params) {
        connection.beforeUse()
        try {
          switch (params.length) {
            case 0:
              return { changes: statement.run().changes }
            case 1:
              return { changes: statement.run(params[0]).changes }
            case 2:
              return { changes: statement.run(params[0], params[1]).changes }
            case 3:
              return { changes: statement.run(params[0], params[1], params[2]).changes }
            case 4:
              return { changes: statement.run(params[0], params[1], params[2], params[3]).changes }
            default:
              return { changes: statement.run(...(params as unknown[])).changes }
          }
        } catch (error) {
          throw translateSqliteError(error, sql)
        }
      },
    }
    if (this.cache.size + this.bigintCache.size >= preparedStatementsMax) {
      const victims = cache.size > 0 ? cache : cache === this.cache ? this.bigintCache : this.cache
      const oldest = victims.keys().next().value
      if (oldest !== undefined) victims.delete(oldest)
    }
    cache.set(sql, wrapped)
    return wrapped
  }

  execSync(sql: string): void {
    this.beforeUse()
    try {
      this.database.exec(sql)
    } catch (error) {
      throw translateSqliteError(error, sql)
    }
  }

  defineFunctionSync(name: string, body: () => RowValue): void {
    this.database.function(name, { deterministic: false, varargs: false }, body)
  }

  /** Schema changes invalidate prepared statements' column lists. */
  clearCache(): void {
    this.cache.clear()
    this.bigintCache.clear()
  }

  close(): void {
    this.cache.clear()
    this.bigintCache.clear()
    if (this.database.open) this.database.close()
  }
}

function openConnection(file: string, options: RowStoreOptions): Connection {
  let database: BetterSqlite3.Database
  try {
    database = new BetterSqlite3(file, addonOptions())
  } catch (error) {
    throw translateSqliteError(error, undefined)
  }
  database.pragma('journal_mode = WAL')
  database.pragma(`synchronous = ${options.durability === 'full' ? 'FULL' : options.durability === 'normal' ? 'NORMAL' : 'OFF'}`)
  // DuckDB's LIKE is case-sensitive; SQLite's is not unless told. One dialect means one meaning.
  database.pragma('case_sensitive_like = ON')
  database.pragma('foreign_keys = OFF')
  // Another process (a second CLI on the same directory) may hold the lock briefly.
  database.pragma('busy_timeout = 5000')
  database.pragma('temp_store = MEMORY')
  // time_bucket, first/last and locf for grouped reads forced onto the row store (src/sql/rowgroup.ts).
  registerTimeSeriesFunctions(database)
  // Integer arithmetic in SET values fails on overflow as DuckDB's does (src/sql/rowsql.ts).
  registerArithmeticFunctions(database)
  // The time of the writer's uncommitted transaction, which the ledger defines on the writer
  // (src/sql/ddl.ts openVersionsSql); no other connection sees such a transaction's rows.
  database.function('strata_pending_time', { deterministic: false }, () => null)
  return new Connection(database)
}

/**
 * Opens the row store file. Both connections share one file; the reader never sees uncommitted data.
 *
 * @example
 * const store = openRowStoreSync('/tmp/db/strata.sqlite', { durability: 'full' })
 * store.writer.execSync('CREATE TABLE t (a INTEGER) STRICT')
 */
export function openRowStoreSync(file: string, options: RowStoreOptions): RowStore & { clearCachesSync(): void } {
  const writer = openConnection(file, options)
  let reader: Connection
  try {
    reader = openConnection(file, options)
    reader.execSync('PRAGMA query_only = ON')
  } catch (error) {
    writer.close()
    throw error
  }
  const snapshot = new ReaderSnapshot(reader.database)
  reader.beforeUse = snapshot.enter
  writer.beforeUse = snapshot.writerUsed
  const extra: Connection[] = []
  return {
    writer,
    reader,
    durability: options.durability,
    connectReaderSync() {
      const connection = openConnection(file, options)
      connection.execSync('PRAGMA query_only = ON')
      extra.push(connection)
      return Object.assign(connection, { closeSync: () => connection.close() })
    },
    clearCachesSync() {
      for (const connection of extra) connection.clearCache()
      writer.clearCache()
      reader.clearCache()
    },
    closeSync() {
      for (const connection of extra) connection.close()
      snapshot.end()
      reader.close()
      writer.close()
    },
  }
}

interface SqliteErrorLike {
  readonly code?: unknown
  readonly message?: unknown
}

/** Maps SQLite's result codes onto ours; the original error stays as `cause`. */
export function translateSqliteError(error: unknown, sql: string | undefined): StrataError {
  if (error instanceof StrataError) return error
  const like = (typeof error === 'object' && error !== null ? error : {}) as SqliteErrorLike
  const sqliteCode = typeof like.code === 'string' ? like.code : ''
  const message = typeof like.message === 'string' ? like.message : String(error)
  // SQLITE_MISMATCH comes only from a non-integer written to a single integer primary key (its rowid):
  // the values reaching SQLite are already of their column's type, so that is a NULL key.
  if (sqliteCode === 'SQLITE_MISMATCH') {
    return new StrataError('CONSTRAINT_VIOLATION', 'null value in a primary key column violates not-null constraint', { cause: error, ...(sql === undefined ? {} : { statement: sql }) })
  }
  let code: ErrorCode = 'INTERNAL'
  if (sqliteCode === 'SQLITE_CONSTRAINT_DATATYPE') code = 'TYPE_MISMATCH'
  else if (sqliteCode.startsWith('SQLITE_CONSTRAINT')) code = 'CONSTRAINT_VIOLATION'
  else if (sqliteCode === 'SQLITE_BUSY' || sqliteCode.startsWith('SQLITE_BUSY_') || sqliteCode === 'SQLITE_LOCKED') code = 'LOCK_TIMEOUT'
  else if (sqliteCode.startsWith('SQLITE_IOERR') || sqliteCode === 'SQLITE_FULL' || sqliteCode === 'SQLITE_CANTOPEN' || sqliteCode === 'SQLITE_READONLY') code = 'IO_ERROR'
  else if (sqliteCode === 'SQLITE_CORRUPT' || sqliteCode === 'SQLITE_NOTADB') code = 'CORRUPTION'
  else if (sqliteCode === 'SQLITE_TOOBIG') code = 'TYPE_MISMATCH'
  // FTS5 rejecting a full-text query (the front end checks queries first; this is the safety net).
  else if (message.startsWith('fts5: syntax error') || message === 'unterminated string' || message.startsWith('expected integer, got')) code = 'SYNTAX_ERROR'
  else if (message.startsWith('no such table')) code = 'UNDEFINED_TABLE'
  else if (message.startsWith('no such column')) code = 'UNDEFINED_COLUMN'
  else if (message.includes('datatype mismatch') || message.includes('cannot store')) code = 'TYPE_MISMATCH'
  else if (error instanceof RangeError || error instanceof TypeError) code = 'TYPE_MISMATCH'
  return new StrataError(code, sqliteMessage(message), { cause: error, store: 'row', detail: message, ...(sql === undefined ? {} : { statement: sql }) })
}

/**
 * SQLite's message in Strata's voice (PostgreSQL's wording where it has one); SQLite's own stays in
 * the error's `detail`. Constraint messages keep the words the PostgreSQL server's SQLSTATE mapping
 * reads (unique, NOT NULL, CHECK).
 *
 * @example sqliteMessage('UNIQUE constraint failed: t.id') // 'duplicate key value violates the unique constraint on t (id)'
 */
function sqliteMessage(message: string): string {
  const failed = ' constraint failed: '
  const at = message.indexOf(failed)
  if (at > 0) {
    const kind = message.slice(0, at)
    const what = message.slice(at + failed.length)
    // "t.a, t.b": the table, then its columns.
    const columns = what.split(', ').map((qualified) => qualified.slice(qualified.indexOf('.') + 1))
    const table = what.includes('.') ? what.slice(0, what.indexOf('.')) : undefined
    if (kind === 'UNIQUE' && table !== undefined) return `duplicate key value violates the unique constraint on ${table} (${columns.join(', ')})`
    if (kind === 'NOT NULL' && table !== undefined) return `null value in column "${columns[0]}" of table "${table}" violates the NOT NULL constraint`
    if (kind === 'CHECK') return `a row violates the CHECK constraint ${what.startsWith('(') ? what : `(${what})`}`
  }
  const noSuch = /^no such (table|column): (.+)$/.exec(message)
  if (noSuch !== null) return `${noSuch[1]} "${noSuch[2]}" does not exist`
  return message
}
