/**
 * The engine: takes a parsed statement, picks the store (Rhei's routing rules), enforces freshness,
 * runs writes through the ledger, and shapes results. It owns the row store, the ledger, the catalog
 * and the sync; the interfaces above it only call `execute`.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openRowStoreSync, type RowConnection, type RowStore, type RowValue } from '../storage/rowstore/rowstore.js'
import { lockDirectory, readDirectoryHolderSync, type DirectoryHolder, type DirectoryLock } from '../storage/rowstore/directory-lock.js'
import type { ColumnSession } from '../storage/columnstore/columnstore.js'
import { Ledger, type Clock, type Commit } from '../ledger/ledger.js'
import { Syncer } from '../sync/syncer.js'
import { applyRange, mirrorHistoryName, mirrorSchema, openEnd } from '../sync/mirror.js'
import { findColumn, historyTableName, indexesOf, keyColumn, rowIdColumn, type Catalog, type TableDefinition, type ViewDefinition } from '../sql/catalog.js'
import { recogniseCreateTableAs, type CreateTableAs } from '../sql/create-table-as.js'
import { catalogNameTaken, checkUserName, indexFromCreate, nullKeyError, rowidAliasIndex, sqliteCreateHistory, sqliteCreateIndex, sqliteCreateTable, sqliteHistoryTriggers, tableFromCreate } from '../sql/ddl.js'
import { checkStatementLimits, compactParameters, loadParser, parseStatements, parserReady, parseTree, positionalizeNamedParameters, scanTokens, type ParsedStatement, type PgNode } from '../sql/parse.js'
import {
  aggregateFunctionNames,
  comparisonParameter,
  checkRowCount,
  checkTextParameter,
  compileDelete,
  compileInsertShell,
  compileSelect,
  compileUpdate,
  compileValuesRows,
  defaultBinderFor,
  insertTarget,
  keyCondition,
  NotRowStore,
  type Binder,
  type OutputColumn,
  type RowPlan,
} from '../sql/rowsql.js'
import { list, names, nodeBody, nodeKind, quoteIdentifier, stringValue, walk } from '../sql/tree.js'
import { fromStorage, readsIntegersAsBigints, sqliteStorage, toStorage, typeFromLabel, typeLabel, type SqlType, type TypeName } from '../sql/types.js'
import { assert } from '../util/assert.js'
import { StrataError } from '../util/errors.js'
import { limits } from '../util/limits.js'
import { Mutex } from '../util/mutex.js'
import { dateMicros } from '../util/timestamp.js'
import { readOnlyOption, Session } from './session.js'
import { createFulltextIndexSync, dropFulltextIndexSync, dropTableFulltextSync, renameFulltextColumnSync, type FulltextContext } from './fulltext.js'
import {
  checkBoundFulltextQuery,
  checkFulltextDropColumn,
  recogniseCreateFulltextIndex,
  rejectFulltextOutsideRowStore,
  rejectFulltextWithTimeTravel,
  renameFulltextColumn,
  type CreateFulltextIndex,
} from '../sql/fulltext.js'
import { ChangeFeeds, saveCursorSync, type ChangeSubscription, type FeedPosition, type SubscribeOptions } from '../feed/feed.js'
import { applyEdits } from '../sql/edits.js'
import { deparseStatement } from '../sql/deparse.js'
import { timeSeriesEdits } from '../sql/timeseries.js'
import { postgresJsonEdits, subqueryLimitEdits } from '../sql/pgcompat.js'
import { exportCopySql, fileReaderSql } from './files.js'
import { checkParameters, checkRowCounts, rowCountParameters } from './parameters.js'
import { insertRowsSync, runWriteBatch, validTimeColumns, type BatchItem, type BatchRunner } from './bulk.js'
import { insertNamesValidTime, TemporalWriter } from './temporal-writes.js'
import { inferNullable } from '../sql/nullability.js'
import { isResultId, resultReferences, resultSelectSql, resultsSchema, resultsTable, rewriteResultReferences, type PersistedColumn } from './results.js'
import {
  columnStoreSource,
  deparseTemporal,
  evaluateBounds,
  evaluateInstant,
  evaluateOpenInstant,
  extractTemporal,
  isKeyLookup,
  periodColumnDefinitions,
  planTemporal,
  rowStoreSource,
  type Extraction,
  type InstantContext,
  type TemporalPlan,
  type TemporalReference,
  type TemporalSpec,
  type TimeExpression,
} from '../sql/temporal.js'

/** What the temporal front end found in one statement (src/sql/temporal.ts). */
interface StatementTemporal {
  readonly tableClauses: ReadonlyMap<number, TemporalSpec>
  readonly shorthand: TemporalSpec | undefined
  readonly portion: { readonly from: TimeExpression; readonly to: TimeExpression } | undefined
  readonly erase: boolean
  /** INSERT OR REPLACE (DuckDB's spelling): the new row supersedes what it overlaps. */
  readonly replace: boolean
}

type Statement = ParsedStatement & {
  readonly temporal?: StatementTemporal
  /** The statement as the user wrote it, when time clauses were cut out of `text`. */
  readonly written?: string
}

const noClauses: ReadonlyMap<number, TemporalSpec> = new Map()

/** An INSERT compiled for the row store (cached per tree and catalog version, like every write plan). */
interface InsertPlan {
  readonly target: ReturnType<typeof insertTarget>
  readonly shell: ReturnType<typeof compileInsertShell>
  /** The rows' binders when every VALUES item is a parameter or a constant; undefined for INSERT … SELECT and expressions. */
  readonly fastRows: Binder[][] | undefined
  /** `(?, ?, …)`: one row's placeholders. */
  readonly placeholders: string
  readonly bigints: boolean
  /** The column SQLite would fill in when written NULL (ddl.ts rowidAliasIndex), or -1. */
  readonly rowidAlias: number
  /** The statement text for a chunk of n rows. */
  readonly sqlByRowCount: Map<number, string>
}

export type EngineName = 'row' | 'column' | 'remote' | 'stream' | 'catalog'

/** A query's rows as they are read (`Engine.stream`). */
export interface StreamedResult {
  readonly columns: readonly ResultColumn[]
  readonly engine: EngineName
  readonly txId?: number | undefined
  /** Batches of rows, each row an array in column order with SPEC 3 values. */
  readonly batches: AsyncIterable<unknown[][]>
}

/** A result column: `nullable` is false when the column provably holds no NULL (src/sql/nullability.ts), true when it may; absent when unknown (results of writes). */
export interface ResultColumn {
  readonly name: string
  readonly type: string
  readonly nullable?: boolean
}

export interface StatementResult {
  readonly rows: Record<string, unknown>[]
  readonly columns: readonly ResultColumn[]
  readonly rowCount: number
  readonly engine: EngineName
  readonly txId?: number
  readonly durationMs: number
}

/**
 * A result with each row an array in column order (`execute` with `rowMode: 'array'`): every column
 * is there even when two share a name (`SELECT 1 AS a, 2 AS a`, a join's two `id`s), which the
 * objects of {@link StatementResult} cannot hold.
 */
export interface ArrayStatementResult extends Omit<StatementResult, 'rows'> {
  readonly rows: unknown[][]
}

/** A statement's result inside the engine: rows are arrays in column order with SPEC 3 values. */
type Positional = Omit<ArrayStatementResult, 'durationMs'>

export interface ExecuteOptions {
  readonly engine?: 'row' | 'column' | undefined
  readonly maxStalenessMs?: number | undefined
  readonly signal?: AbortSignal | undefined
  /** Refuse every statement that would write (DML, DDL, index changes) with READ_ONLY; reads and transaction control run. */
  readonly readOnly?: boolean | undefined
  /** 'object' (default): rows keyed by column name (a later column wins a shared name); 'array': rows in column order. */
  readonly rowMode?: 'object' | 'array' | undefined
}

export interface BulkInsertOptions {
  /** Create the table from the columns (and their type labels) when it does not exist: file import only. */
  readonly createTable?: boolean
  readonly onProgress?: ((rowsDone: number, rowsTotal: number) => void) | undefined
  readonly signal?: AbortSignal | undefined
}

export interface EngineOptions {
  readonly clock?: Clock | undefined
  readonly durability?: 'full' | 'normal' | undefined
}

type Params = readonly unknown[] | Readonly<Record<string, unknown>> | undefined

interface Tabular {
  readonly columns: readonly { readonly name: string; readonly type: string }[]
  readonly rows: unknown[][]
}

/** Where a read goes, and why (EXPLAIN prints this). */
interface Route {
  readonly store: 'row' | 'column' | 'catalog'
  readonly reason: string
  readonly plan?: RowPlan
}


export class Engine {
  private readonly rowStore: RowStore & { clearCachesSync(): void }
  private readonly ledger: Ledger
  private readonly syncer: Syncer
  private catalog: Catalog
  /** Bumped on every catalog change; cached routes compiled against an older catalog are recompiled. */
  private catalogVersion = 0
  /** Parsed statements by SQL text (LRU), so repeated SQL skips the parser. Trees are never mutated. */
  private readonly parseCache = new Map<string, Statement[]>()
  /** The newest entry of parseCache (a repeated statement skips the LRU refresh). */
  /** The persisted-results table exists in the column store (persistedResultColumns). */
  private resultsTableSeen = false
  /** Synchronous autocommit writes since the event loop last turned, and when the first of them ran (yieldingToSync). */
  private writesThisTurn = 0
  private turnStartedMs = 0
  private lastParsedText: string | undefined
  private lastParsed: Statement[] | undefined
  /** Routing decisions (with compiled row-store plans) per cached tree and catalog version. */
  private readonly routeCache = new WeakMap<PgNode, { readonly catalogVersion: number; readonly route: Route }>()
  private readonly nullabilityCache = new WeakMap<
    PgNode,
    { readonly catalogVersion: number; readonly nullable: readonly boolean[] | undefined; input?: readonly ResultColumn[]; output?: readonly ResultColumn[] }
  >()
  /** SELECTs that read current state from the row store: plan, output shape and annotated columns per tree and catalog version (executeOne's fast path). */
  private readonly plainRowReads = new WeakMap<PgNode, { readonly catalogVersion: number; readonly plan: RowPlan; readonly shape: OutputShape; readonly columns: readonly ResultColumn[] }>()
  /** Compiled write plans per cached tree and catalog version (a NotRowStore outcome is cached too). */
  private readonly writePlanCache = new WeakMap<PgNode, { readonly catalogVersion: number; readonly plan: unknown }>()
  /** Per statement tree: which table references read history, and the row-store plan if one fits. */
  private readonly temporalCache = new WeakMap<PgNode, { readonly catalogVersion: number; readonly plan: TemporalPlan | undefined; rowPlan?: RowPlan | NotRowStore; keyLookup?: boolean }>()
  /** Row-store plans of grouped reads forced onto the row store, per tree and catalog version. */
  private readonly groupedPlanCache = new WeakMap<PgNode, { readonly catalogVersion: number; readonly plan: RowPlan | NotRowStore }>()
  /** Per tree handed to executeParsed: does its text hold no time clause? */
  private readonly timeClauseFree = new WeakMap<PgNode, boolean>()
  private readonly rowCountParameterUses = new WeakMap<PgNode, ReturnType<typeof rowCountParameters>>()
  /** A SELECT's text with the time-series rewrite applied, per tree (the rewrite does not depend on the catalog). */
  private readonly columnTextCache = new WeakMap<PgNode, string>()
  /** Writers serialize on this lock (bounded wait); readers never take it. */
  private readonly writerLock = new Mutex()
  private readonly defaultSession = new Session()
  private closed = false
  private readonly commitListeners = new Set<(commit: Commit) => void>()
  private readonly temporalWriter: TemporalWriter
  /** The session of the valid-time write in progress (its "now" is its commit's system time). */
  private writeSession: Session | undefined
  private closing: Promise<void> | undefined
  private readonly temporaryDirectory: string | undefined
  private mirrorStartTimer: NodeJS.Timeout | undefined
  private readonly syncReader: ReturnType<RowStore['connectReaderSync']>
  /** Change feeds (src/feed/), created with the first subscribe. */
  private feeds: ChangeFeeds | undefined

  /** The data directory's lock (src/storage/rowstore/directory-lock.ts); none for ':memory:'. */
  private readonly directoryLock: DirectoryLock | undefined

  private constructor(readonly path: string, directory: string, temporary: boolean, options: EngineOptions, directoryLock: DirectoryLock | undefined) {
    this.temporaryDirectory = temporary ? directory : undefined
    this.directoryLock = directoryLock
    const durability = temporary ? 'off' : options.durability ?? 'full'
    this.rowStore = openRowStoreSync(join(directory, 'strata.sqlite'), { durability })
    try {
      this.ledger = Ledger.openSync(this.rowStore.writer, options.clock)
      this.catalog = this.ledger.loadCatalogSync(this.rowStore.writer)
      checkDecimalStorageSync(this.rowStore.writer, this.catalog)
      for (const table of this.catalog.tables.values()) this.installTriggersSync(table)
      this.syncReader = this.rowStore.connectReaderSync()
      this.syncer = new Syncer(join(directory, 'mirror.duckdb'), this.syncReader, this.ledger)
    } catch (error) {
      this.rowStore.closeSync()
      throw error
    }
    this.temporalWriter = new TemporalWriter({
      writer: this.rowStore.writer,
      ledger: this.ledger,
      table: (name) => this.catalog.tables.get(name),
      bind: (binders, params) => this.bind(binders, params),
      evaluate: (tree, params) => this.evaluateSelect(this.writeSession ?? this.defaultSession, tree, params, {}),
      markFutureValidTime: (table) => this.markFutureValidTime(table),
      instantContext: (params) => this.instantContext(this.writeSession ?? this.defaultSession, params),
    })
  }

  /**
   * Opens a data directory (created if missing), or a private temporary one for ':memory:'. A data
   * directory is locked first, before either store opens: while one process has it open, opening it
   * anywhere else (another process, or a second time in this one) fails with LOCKED naming the holder.
   *
   * @example
   * const engine = await Engine.open('./strata-data', {})
   */
  static async open(path: string | undefined, options: EngineOptions): Promise<Engine> {
    await loadParser()
    const temporary = path === undefined || path === ':memory:'
    let directory: string
    if (temporary) directory = mkdtempSync(join(tmpdir(), 'strata-memory-'))
    else {
      directory = path
      try {
        mkdirSync(directory, { recursive: true })
      } catch (error) {
        throw new StrataError('IO_ERROR', `cannot create the data directory ${directory}: ${(error as Error).message}`, { cause: error })
      }
    }
    // A private temporary directory is nobody else's: it needs no lock.
    const directoryLock = temporary ? undefined : await lockDirectory(directory)
    let engine: Engine
    try {
      engine = new Engine(temporary ? ':memory:' : directory, directory, temporary, options, directoryLock)
    } catch (error) {
      directoryLock?.releaseSync()
      throw error
    }
    // The mirror catches up after a restart without delaying open or the first point read.
    engine.mirrorStartTimer = setTimeout(() => engine.syncer.wake(), limits.mirrorStartDelayMs)
    engine.mirrorStartTimer.unref()
    return engine
  }

  get session(): Session {
    return this.defaultSession
  }

  /**
   * What the data directory's holder file says (who has it open, and a server's local socket), or
   * undefined; it may describe a process that is gone. For clients deciding whether to go through a server.
   *
   * @example
   * Engine.directoryHolder('/srv/strata-data')?.socket  // '/srv/strata-data/strata.sock' while `strata serve` runs there
   */
  static directoryHolder(directory: string): DirectoryHolder | undefined {
    return readDirectoryHolderSync(directory)
  }

  /** Who held the data directory before this engine opened it (gone by now), per its holder file; undefined for ':memory:'. */
  get previousDirectoryHolder(): DirectoryHolder | undefined {
    return this.directoryLock?.previousHolder
  }

  /**
   * Records in the data directory's holder file the local socket a server listens on (undefined
   * forgets it), so the CLI on the same directory goes through the server. Nothing for ':memory:'.
   */
  advertiseLocalSocketSync(socket: string | undefined): void {
    this.directoryLock?.advertiseSocketSync(socket)
  }

  /**
   * Calls `listener` synchronously after every commit that recorded a transaction (change feeds wait
   * on it). Listeners must not throw or block. Returns the function that removes it.
   */
  onCommit(listener: (commit: Commit) => void): () => void {
    this.commitListeners.add(listener)
    return () => this.commitListeners.delete(listener)
  }

  newSession(): Session {
    return new Session()
  }

  tableNames(): string[] {
    return [...this.catalog.tables.keys()].sort()
  }

  /** The catalog as immutable data (a new object after every schema change); the PostgreSQL server builds pg_catalog from it. */
  get catalogSnapshot(): Catalog {
    return this.catalog
  }

  /**
   * A change feed over the history (SPEC 7; the reading is src/feed/feed.ts).
   *
   * @example
   * const feed = engine.subscribe({ tables: ['orders'], cursor: 'billing' })
   */
  subscribe(options: SubscribeOptions = {}): ChangeSubscription {
    this.checkOpen()
    this.feeds ??= new ChangeFeeds({
      connectReaderSync: () => this.rowStore.connectReaderSync(),
      table: (name) => this.catalog.tables.get(name),
      isView: (name) => this.catalog.views.has(name),
      tableNames: () => this.tableNames(),
      lastCommittedTx: () => this.ledger.lastCommitted.txId,
      writeInProgress: () => this.ledger.pendingCommit !== undefined,
      onCommit: (listener) => this.onCommit(listener),
      saveCursor: (name, position, saveOptions) => this.saveFeedCursor(name, position, saveOptions),
    })
    return this.feeds.subscribe(options)
  }

  /** A feed cursor's position: written on the writer under the writer lock, and not a ledger transaction. */
  private async saveFeedCursor(name: string, position: FeedPosition, options: { readonly createOnly: boolean }): Promise<void> {
    this.checkOpen()
    const release = await this.writerLock.acquire(limits.writerLockWaitMs, 'LOCK_TIMEOUT', 'the writer lock')
    try {
      this.checkOpen()
      saveCursorSync(this.rowStore.writer, name, position, options)
    } finally {
      release()
    }
  }

  // ───────────────────────────── statements ─────────────────────────────

  /**
   * Runs every statement in `sql` on `session`; returns one result per statement, its rows objects
   * keyed by column name or, with `rowMode: 'array'`, arrays in column order.
   *
   * @example
   * const [result] = await engine.execute(engine.session, 'SELECT 1 AS a, 2 AS a', undefined, { rowMode: 'array' }) // rows [[1, 2]]
   */
  async execute(session: Session, sql: string, params: Params, options: ExecuteOptions & { readonly rowMode: 'array' }): Promise<ArrayStatementResult[]>
  async execute(session: Session, sql: string, params: Params, options?: ExecuteOptions & { readonly rowMode?: 'object' | undefined }): Promise<StatementResult[]>
  execute(session: Session, sql: string, params: Params, options: ExecuteOptions = noOptions): Promise<(StatementResult | ArrayStatementResult)[]> {
    // Not async: a statement that completes synchronously (see runStatements) costs one promise, and
    // every error still arrives as a rejection.
    // (The parser has no instance only in the moments after two faults in a row: src/sql/wasm.ts.)
    if (!parserReady()) return loadParser().then(() => this.execute(session, sql, params, options as ExecuteOptions & { readonly rowMode?: 'object' }))
    try {
      const { statements, positional } = this.callStatements(sql, params, options)
      return this.runStatements(session, statements, positional, options, options.rowMode ?? 'object')
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /**
   * Runs one statement the caller already split and parsed with `parseStatements` (the PostgreSQL
   * server does, to learn each statement's kind): the same as `execute(session, statement.text,
   * params, { ...options, rowMode: 'array' })` without parsing the text a second time. A statement
   * PostgreSQL's grammar rejected, or whose text holds time clauses (cut out before the grammar may
   * see it), goes through `execute`'s own parse.
   *
   * @example
   * const [statement] = parseStatements('SELECT 1 AS a, 2 AS a')
   * const [result] = await engine.executeParsed(session, statement!, [], {}) // rows [[1, 2]]
   */
  async executeParsed(session: Session, statement: ParsedStatement, params: readonly unknown[], options: ExecuteOptions = {}): Promise<ArrayStatementResult[]> {
    if (!parserReady()) await loadParser()
    const tree = statement.tree
    if (tree === undefined || !this.withoutTimeClauses(tree, statement.text)) return this.execute(session, statement.text, params, { ...options, rowMode: 'array' })
    this.checkOpen()
    if (options.signal?.aborted === true) throw new StrataError('ABORTED', 'the statement was aborted before it started')
    return this.runStatements(session, [statement], params, options, 'array') as Promise<ArrayStatementResult[]>
  }

  /** The parameters a statement uses as LIMIT or OFFSET; remembered per tree. */
  private rowCountUses(tree: PgNode): ReturnType<typeof rowCountParameters> {
    let uses = this.rowCountParameterUses.get(tree)
    if (uses === undefined) {
      uses = rowCountParameters(tree)
      this.rowCountParameterUses.set(tree, uses)
    }
    return uses
  }

  /** True when `text` (whose tree this is) holds no time clause; remembered per tree (trees are never mutated). */
  private withoutTimeClauses(tree: PgNode, text: string): boolean {
    let known = this.timeClauseFree.get(tree)
    if (known === undefined) {
      known = extractTemporal(text) === undefined
      this.timeClauseFree.set(tree, known)
    }
    return known
  }

  /**
   * Runs `statements` in order. One statement outside a transaction (the session lock is only for
   * transactions) that completes synchronously — a row-store read, or a write that found the writer
   * lock free and needs no column store — settles without any promise but the one returned; the
   * work and its order are the same as on the general path.
   */
  private runStatements(
    session: Session,
    statements: readonly Statement[],
    positional: readonly unknown[],
    options: ExecuteOptions,
    rowMode: 'object' | 'array',
  ): Promise<(StatementResult | ArrayStatementResult)[]> {
    if (statements.length !== 1 || session.inTransaction) return this.runStatementsInOrder(session, statements, positional, options, rowMode)
    let outcome: StatementResult | ArrayStatementResult | Promise<StatementResult | ArrayStatementResult>
    try {
      outcome = this.runAlone(session, statements[0]!, positional, options, rowMode)
    } catch (error) {
      return Promise.reject(error)
    }
    if (outcome instanceof Promise) return outcome.then((result) => [result])
    return Promise.resolve([outcome])
  }

  /** What `execute` and `executeSingle` start with: the checks, then the statements and their `$n` parameters. */
  private callStatements(sql: string, params: Params, options: ExecuteOptions): { readonly statements: Statement[]; readonly positional: readonly unknown[] } {
    this.checkOpen()
    if (options.signal?.aborted === true) throw new StrataError('ABORTED', 'the statement was aborted before it started')
    checkParameters(params)
    if (params === undefined || Array.isArray(params)) {
      const statements = this.parse(sql)
      const positional = (params as readonly unknown[] | undefined) ?? noParams
      if (positional.length > 0 && statements.length === 1) checkParameterCount(statements[0]!, positional.length)
      return { statements, positional }
    }
    const { text, positional } = positionalParameters(sql, params)
    return { statements: this.parse(text), positional }
  }

  /**
   * `execute` for the library's `query()`: the one statement's result, rows as objects (`rowMode` is
   * not read). A text with several statements runs them all, then fails with INVALID_PARAMETER; an
   * empty text fails with SYNTAX_ERROR.
   *
   * @example
   * const result = await engine.executeSingle(engine.session, 'SELECT * FROM t WHERE id = $1', [1])
   */
  executeSingle(session: Session, sql: string, params: Params, options: ExecuteOptions = noOptions): Promise<StatementResult> {
    if (!parserReady()) return loadParser().then(() => this.executeSingle(session, sql, params, options))
    try {
      const { statements, positional } = this.callStatements(sql, params, options)
      if (statements.length !== 1 || session.inTransaction) {
        return this.runStatementsInOrder(session, statements, positional, options, 'object').then((results) => onlyResult(results as StatementResult[], sql))
      }
      const outcome = this.runAlone(session, statements[0]!, positional, options, 'object') as StatementResult | Promise<StatementResult>
      return outcome instanceof Promise ? outcome : Promise.resolve(outcome)
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /**
   * One statement outside a transaction: its result, synchronously when its work is (a row-store
   * read, a write that found the writer lock free), else a promise; errors carry the statement.
   */
  private runAlone(
    session: Session,
    statement: Statement,
    positional: readonly unknown[],
    options: ExecuteOptions,
    rowMode: 'object' | 'array',
  ): StatementResult | ArrayStatementResult | Promise<StatementResult | ArrayStatementResult> {
    const started = performance.now()
    let outcome: Positional | Promise<Positional>
    try {
      outcome = this.executeOne(session, statement, positional, options)
    } catch (error) {
      throw statementError(error, statement)
    }
    if (outcome instanceof Promise) {
      return outcome.then(
        (result) => finishedResult(result, performance.now() - started, rowMode),
        (error: unknown) => {
          throw statementError(error, statement)
        },
      )
    }
    return finishedResult(outcome, performance.now() - started, rowMode)
  }

  private async runStatementsInOrder(
    session: Session,
    statements: readonly Statement[],
    positional: readonly unknown[],
    options: ExecuteOptions,
    rowMode: 'object' | 'array',
  ): Promise<(StatementResult | ArrayStatementResult)[]> {
    const results: (StatementResult | ArrayStatementResult)[] = []
    const release = session.inTransaction ? await session.statementLock.acquire(limits.writerLockWaitMs, 'LOCK_TIMEOUT', 'the session', options.signal) : undefined
    try {
      for (const statement of statements) {
        const started = performance.now()
        try {
          const result = await this.executeOne(session, statement, positional, options)
          results.push(finishedResult(result, performance.now() - started, rowMode))
        } catch (error) {
          throw statementError(error, statement)
        }
      }
    } finally {
      release?.()
    }
    return results
  }

  /** Synchronous where the statement's work is (a row-store read, a write that found the writer lock free); callers treat a throw like a rejection. */
  private executeOne(session: Session, statement: Statement, params: readonly unknown[], options: ExecuteOptions): Positional | Promise<Positional> {
    const tree = statement.tree
    if (tree !== undefined && params.length > 0) checkRowCounts(this.rowCountUses(tree), params)
    if (tree === undefined) {
      // CREATE FULLTEXT INDEX is not PostgreSQL grammar: recognised from the scanner's tokens.
      const fulltextIndex = recogniseCreateFulltextIndex(statement.text)
      if (fulltextIndex !== undefined) return this.write(session, options, async (active) => this.createFulltextIndex(active, fulltextIndex))
      // CREATE TABLE … AS over DuckDB-only syntax (a file in FROM, FROM-first): the head from the scanner's tokens.
      const createTableAs = statement.temporal === undefined ? recogniseCreateTableAs(statement.text) : undefined
      if (createTableAs !== undefined) return this.write(session, options, async (active) => this.createTableAsDuckDBQuery(active, createTableAs, params, options))
      // The time clauses were cut out of this text; DuckDB would answer without them.
      if (statement.temporal !== undefined) throw new StrataError('NOT_SUPPORTED', 'time travel, FOR PORTION OF and ERASE need PostgreSQL syntax around them (this statement is DuckDB-only)')
      return this.executeDuckDBOnly(session, statement, params, options)
    }
    const plain = this.plainRowRead(session, tree, params, options)
    if (plain !== undefined) return plain
    const kind = nodeKind(tree)!
    if (statement.temporal !== undefined && !['SelectStmt', 'InsertStmt', 'UpdateStmt', 'DeleteStmt', 'ExplainStmt', 'CreateTableAsStmt'].includes(kind)) {
      throw new StrataError('NOT_SUPPORTED', `time travel in ${leadingKeywords(statement.text)} (a view, CREATE TABLE AS, …): only SELECT reads the past`)
    }
    const body = nodeBody(tree, kind)!
    switch (kind) {
      case 'SelectStmt': {
        const temporal = this.temporalPlan(statement)
        if (temporal === undefined && options.engine !== 'column') this.rememberPlainRowRead(tree)
        let result: Positional | Promise<Positional>
        if (temporal !== undefined) {
          rejectFulltextWithTimeTravel(tree, (statement.temporal?.tableClauses.size ?? 0) > 0 || statement.temporal?.shorthand !== undefined)
          result = this.temporalRead(session, statement, temporal, params, options)
        } else result = this.read(session, statement, params, options)
        if (result instanceof Promise) return result.then((settled) => this.withNullableColumns(tree, settled))
        return this.withNullableColumns(tree, result)
      }
      case 'InsertStmt':
      case 'UpdateStmt':
      case 'DeleteStmt': {
        const temporal = this.temporalWriteKind(statement, kind, body)
        if (temporal !== undefined) return this.write(session, options, (active) => this.runTemporalWrite(active, temporal, kind, body, statement, params))
        return this.write(session, options, (active) => this.runDml(active, kind, body, params, options, statement))
      }
      case 'CreateStmt':
      case 'CreateTableAsStmt':
      case 'DropStmt':
      case 'AlterTableStmt':
      case 'RenameStmt':
      case 'IndexStmt':
      case 'ViewStmt':
        return this.write(session, options, (active) => this.runDdl(active, kind, body, params, options, statement))
      case 'TransactionStmt':
        return this.transactionControl(session, body, options)
      case 'VariableSetStmt':
        return this.transactionCharacteristics(session, body)
      case 'VariableShowStmt':
        if (String(body['name']).toLowerCase() === 'tables') return this.showTables()
        throw new StrataError('NOT_SUPPORTED', `SHOW ${String(body['name'])}`)
      case 'ExplainStmt':
        return this.explain(session, statement, body, params, options)
      default:
        throw new StrataError('NOT_SUPPORTED', `${leadingKeywords(statement.text)} is not supported`)
    }
  }

  /** DuckDB's parse of `text` (json_serialize_sql), on a column-store session of its own. */
  private async serializeSql(text: string): Promise<Awaited<ReturnType<ColumnSession['serializeSql']>>> {
    const duck = await this.syncer.acquireSession()
    try {
      return await duck.serializeSql(text)
    } finally {
      this.syncer.releaseSession(duck)
    }
  }

  /** PostgreSQL's grammar rejected it; DuckDB's parser may accept it (DESCRIBE, FROM-first, …). */
  private async executeDuckDBOnly(session: Session, statement: ParsedStatement, params: readonly unknown[], options: ExecuteOptions): Promise<Positional> {
    const serialized = await this.serializeSql(statement.text)
    if (serialized.error) throw statement.parseError ?? new StrataError('SYNTAX_ERROR', serialized.message, { statement: statement.text })
    const first = serialized.statements[0] as { node?: { from_table?: { type?: string; show_type?: string; query?: { from_table?: { table_name?: string } } } } } | undefined
    const from = first?.node?.from_table
    if (from?.type === 'SHOW_REF' && from.show_type === 'DESCRIBE') {
      const target = from.query?.from_table?.table_name
      if (target !== undefined && target !== '') return this.describe(target)
    }
    if (serialized.statements.length !== 1) throw new StrataError('NOT_SUPPORTED', 'one statement at a time for DuckDB-only syntax')
    return this.columnRead(session, statement.text, params, options, 'column')
  }

  // ───────────────────────────── reads ─────────────────────────────

  /** Rhei's rules: simple single-table lookups → row store; everything analytical → column store. */
  private parse(text: string): Statement[] {
    // The same text as last time is already the newest entry of the LRU order: nothing to refresh.
    if (text === this.lastParsedText && this.lastParsed !== undefined) return this.lastParsed
    const cached = this.parseCache.get(text)
    if (cached !== undefined) {
      // Refresh its place in the LRU order.
      this.parseCache.delete(text)
      this.parseCache.set(text, cached)
      this.lastParsedText = text
      this.lastParsed = cached
      return cached
    }
    // The bounds first: the time clauses are parsed from parts of the text before the rest is.
    checkStatementLimits(text)
    const extraction = extractTemporal(text)
    const statements = extraction === undefined ? parseStatements(text, { limitsChecked: true }) : attachTemporal(parseStatements(extraction.text, { limitsChecked: true }), extraction)
    if (this.parseCache.size >= limits.statementCacheEntriesMax) {
      const oldest = this.parseCache.keys().next().value
      if (oldest !== undefined) this.parseCache.delete(oldest)
    }
    this.parseCache.set(text, statements)
    this.lastParsedText = text
    this.lastParsed = statements
    return statements
  }

  /** The statement's time-travel plan, or undefined when it reads only current state. */
  private temporalPlan(statement: Statement, tree: PgNode = statement.tree!): TemporalPlan | undefined {
    const cached = this.temporalCache.get(tree)
    if (cached !== undefined && cached.catalogVersion === this.catalogVersion) return cached.plan
    const plan = planTemporal(
      tree,
      statement.text,
      statement.locationBase,
      this.catalog,
      { tableClauses: statement.temporal?.tableClauses ?? noClauses, shorthand: statement.temporal?.shorthand },
      (name) => this.catalog.tables.get(name)?.futureValidTime === true,
    )
    this.temporalCache.set(tree, { catalogVersion: this.catalogVersion, plan })
    return plan
  }

  /** Times for evaluating period bounds: "now", and the system time of a transaction id. */
  private instantContext(session: Session, params: readonly unknown[]): InstantContext {
    const committed = this.ledger.lastCommitted
    const pending = session.inTransaction ? this.ledger.pendingCommit : undefined
    let nowUs = this.ledger.nowMicros()
    // "Now" never precedes a commit the reader can see, so a fresh write is visible at valid time now.
    if (nowUs < committed.systemTimeUs) nowUs = committed.systemTimeUs
    if (pending !== undefined && nowUs < pending.systemTimeUs) nowUs = pending.systemTimeUs
    const connection = session.inTransaction ? this.rowStore.writer : this.rowStore.reader
    return {
      params,
      nowUs,
      transactionTime: (txId) => {
        if (pending !== undefined && txId === pending.txId) return pending.systemTimeUs
        if (txId > committed.txId) return undefined
        return this.ledger.systemTimeOfSync(connection, txId)
      },
    }
  }

  /** Which valid-time path a write takes, or undefined for an ordinary write (the triggers record it). */
  private temporalWriteKind(statement: Statement, kind: string, body: PgNode): 'insert' | 'replace' | 'portion' | 'erase' | 'future' | undefined {
    const temporal = statement.temporal
    if (temporal !== undefined) {
      if ((temporal.tableClauses.size > 0 || temporal.shorthand !== undefined) && kind !== 'InsertStmt') {
        throw new StrataError('NOT_SUPPORTED', 'time travel (FOR SYSTEM_TIME, FOR VALID_TIME, AS OF) inside UPDATE or DELETE (INSERT … SELECT can read the past)')
      }
      if (temporal.erase) return 'erase'
      if (temporal.portion !== undefined) return 'portion'
      if (temporal.replace) return 'replace'
    }
    const relation = nodeBody({ RangeVar: body['relation'] }, 'RangeVar')
    const table = relation === undefined ? undefined : this.catalog.tables.get(String(relation['relname']))
    if (kind === 'InsertStmt' && insertNamesValidTime(body)) return 'insert'
    if (table?.futureValidTime === true) return 'future'
    return undefined
  }

  private async runTemporalWrite(
    session: Session,
    how: 'insert' | 'replace' | 'portion' | 'erase' | 'future',
    kind: string,
    body: PgNode,
    statement: Statement,
    params: readonly unknown[],
  ): Promise<Positional> {
    // Valid-time UPDATE/DELETE and ERASE select their rows from history, which no full-text index covers.
    if (kind !== 'InsertStmt') rejectFulltextWithTimeTravel(body, how !== 'future')
    this.writeSession = session
    try {
      const writer = this.temporalWriter
      let count: number
      if (how === 'erase') count = writer.erase(body, params)
      else if (kind === 'InsertStmt') count = await writer.insert(body, params, how === 'replace')
      else {
        const context = this.instantContext(session, params)
        const portion = statement.temporal?.portion
        const from = portion === undefined ? this.ledger.pendingCommit!.systemTimeUs : evaluateInstant(portion.from, context)
        const to = portion === undefined ? null : evaluateOpenInstant(portion.to, context)
        count = writer.portion(kind as 'UpdateStmt' | 'DeleteStmt', body, params, from, to)
      }
      return { rows: [], columns: [], rowCount: count, engine: 'row' }
    } finally {
      this.writeSession = undefined
    }
  }

  /** Default reads of `table` now go through history (valid time that may not cover "now" exists). */
  private markFutureValidTime(table: TableDefinition): void {
    const current = this.catalog.tables.get(table.name)
    if (current === undefined || current.futureValidTime === true) return
    const flagged = { ...current, futureValidTime: true }
    this.ledger.saveTableSync(flagged)
    const tables = new Map(this.catalog.tables)
    tables.set(table.name, flagged)
    this.setCatalog({ tables, views: this.catalog.views })
  }

  /**
   * Where a SELECT with time travel runs: the row store if the history lookup is simple, else the
   * column store, with the period bounds written into its SQL.
   */
  private temporalRoute(
    session: Session,
    statement: Statement,
    tree: PgNode,
    plan: TemporalPlan,
    params: readonly unknown[],
    options: ExecuteOptions,
  ): { store: 'row'; plan: RowPlan; bounds: bigint[] } | { store: 'column'; sql: string; params: unknown[]; reason: string } {
    const bounds = evaluateBounds(plan, this.instantContext(session, params))
    const cached = this.temporalCache.get(tree)!
    cached.rowPlan ??= this.compileTemporalSelect(tree, plan)
    const rowPlan = cached.rowPlan
    // The row store answers point lookups by key; scans over history go to the column store (SPEC 6).
    if (!(rowPlan instanceof NotRowStore)) {
      cached.keyLookup ??= [...plan.references.values()].every((reference) => isKeyLookup(nodeBody(tree, 'SelectStmt')!, reference.table))
      if (options.engine === 'row' || (options.engine === undefined && cached.keyLookup)) return { store: 'row', plan: rowPlan, bounds }
    }
    if (options.engine === 'row') throw new StrataError('NOT_SUPPORTED', `the row store cannot run this query: ${(rowPlan as NotRowStore).message}`)
    const edits = [...plan.references.values()].map((reference) => ({
      location: reference.location,
      length: reference.nameLength,
      text: this.historySource(reference, bounds, plan) + (reference.alias === undefined ? ` AS ${quoteIdentifier(reference.table.name)}` : ''),
    }))
    // Time-series calls (first/last, gap filling) are rewritten for DuckDB in the same pass.
    const compacted = compactParameters(applyEdits(statement, [...edits, ...postgresJsonEdits(statement), ...subqueryLimitEdits(statement, params), ...timeSeriesEdits(statement)]), params)
    const reason =
      rowPlan instanceof NotRowStore
        ? analyticalReason(nodeBody(tree, 'SelectStmt')!, rowPlan.construct)
        : options.engine === 'column'
          ? 'forced by the engine option'
          : 'a scan (no equality on the whole primary key)'
    return { store: 'column', sql: compacted.sql, params: compacted.params, reason: `${reason}; it reads history` }
  }

  /** A SELECT over history compiled for the row store, or why it cannot be (then the column store answers). */
  private compileTemporalSelect(tree: PgNode, plan: TemporalPlan): RowPlan | NotRowStore {
    const select = nodeBody(tree, 'SelectStmt')!
    const resolver = {
      table: (name: string) => this.catalog.tables.get(name),
      temporal: (location: number) => {
        const reference = plan.references.get(location)
        if (reference === undefined) return undefined
        const source = rowStoreSource(reference)
        return { table: reference.table, sql: source.sql, slots: source.slots, hidden: periodColumnDefinitions }
      },
    }
    try {
      return compileSelect(select, resolver)
    } catch (error) {
      if (!(error instanceof NotRowStore)) throw error
      // An aggregate over history (`count(*) … FOR SYSTEM_TIME ALL WHERE id = 'x'`): the grouped
      // compiler gives DuckDB's results, types and names, so a point query over one key's versions
      // stays on the row store.
      try {
        return compileSelect(select, resolver, { grouped: true })
      } catch (grouped) {
        if (grouped instanceof NotRowStore) return error
        throw grouped
      }
    }
  }

  /** The column store's derived table over a reference's history (its mirror), bounds written in. */
  private historySource(reference: TemporalReference, bounds: readonly bigint[], plan: TemporalPlan): string {
    const history = { open: mirrorHistoryName(reference.table.name, 'open'), bounded: mirrorHistoryName(reference.table.name, 'bounded'), openEnd }
    return columnStoreSource(reference, bounds, history, plan.periodColumnsNamed)
  }

  private async temporalRead(session: Session, statement: Statement, plan: TemporalPlan, params: readonly unknown[], options: ExecuteOptions): Promise<Positional> {
    const route = this.temporalRoute(session, statement, statement.tree!, plan, params, options)
    if (route.store === 'row') return this.rowRead(session, route.plan, params, route.bounds)
    await this.syncer.mirrorHistory([...plan.references.values()].map((reference) => reference.table))
    return this.columnRead(session, route.sql, route.params, options, 'column')
  }

  private route(tree: PgNode): Route {
    const cached = this.routeCache.get(tree)
    if (cached !== undefined && cached.catalogVersion === this.catalogVersion) return cached.route
    const route = this.computeRoute(tree)
    this.routeCache.set(tree, { catalogVersion: this.catalogVersion, route })
    return route
  }

  /** A SELECT's result columns with `nullable` where its tree and the catalog prove it (src/sql/nullability.ts). */
  private nullableColumns(tree: PgNode, columns: readonly ResultColumn[]): readonly ResultColumn[] {
    let cached = this.nullabilityCache.get(tree)
    if (cached === undefined || cached.catalogVersion !== this.catalogVersion) {
      cached = { catalogVersion: this.catalogVersion, nullable: inferNullable(nodeBody(tree, 'SelectStmt')!, (name) => this.catalog.tables.get(name)) }
      this.nullabilityCache.set(tree, cached)
    }
    // Row-store plans hand back the same frozen columns every time (resultColumns): the annotated
    // copy made for them last time is reused, frozen too. Keyed by tree, catalog version (the entry
    // is replaced when it changes) and the columns array itself.
    if (cached.input === columns && cached.output !== undefined) return cached.output
    // Not worked out (a set operation, `*` over a derived table, …): every column may be NULL.
    const nullable = cached.nullable?.length === columns.length ? cached.nullable : undefined
    const annotated = columns.map((column, index) => ({ ...column, nullable: nullable?.[index] ?? true }))
    if (!Object.isFrozen(columns)) return annotated
    cached.input = columns
    cached.output = Object.freeze(annotated.map((column) => Object.freeze(column)))
    return cached.output
  }

  /**
   * A plain SELECT seen before at this catalog version (only those are in plainRowReads), read from
   * the row store with one cache entry instead of the statement kind and the temporal, route and
   * nullability caches; undefined for anything else. Small on purpose: it is the hot path of a point
   * read.
   */
  private plainRowRead(session: Session, tree: PgNode, params: readonly unknown[], options: ExecuteOptions): Positional | undefined {
    const plain = options.engine === 'column' ? undefined : this.plainRowReads.get(tree)
    if (plain === undefined || plain.catalogVersion !== this.catalogVersion) return undefined
    const connection = session.inTransaction ? this.rowStore.writer : this.rowStore.reader
    const rows = connection.prepareSync(plain.plan.sql, plain.shape.bigints ? bigintRows : numberRows).allSync(this.bind(plain.plan.binders, params))
    return { rows: convertRows(plain.shape, rows), columns: plain.columns, rowCount: rows.length, engine: 'row' }
  }

  /**
   * Remembers a SELECT that reads current state (no time travel) and routes to the row store, with
   * its plan, output shape and annotated columns, for this catalog version: what executeOne would
   * work out from the temporal, route and nullability caches each time.
   */
  private rememberPlainRowRead(tree: PgNode): void {
    let route: Route
    try {
      route = this.route(tree)
    } catch {
      return // read() meets the same error and reports it
    }
    if (route.store !== 'row' || route.plan === undefined) return
    const shape = outputShape(route.plan.output)
    const columns = this.nullableColumns(tree, shape.columns)
    this.plainRowReads.set(tree, { catalogVersion: this.catalogVersion, plan: route.plan, shape, columns })
  }

  private withNullableColumns(tree: PgNode, result: Positional): Positional {
    const columns = this.nullableColumns(tree, result.columns)
    if (result.txId === undefined) return { rows: result.rows, columns, rowCount: result.rowCount, engine: result.engine }
    return { rows: result.rows, columns, rowCount: result.rowCount, engine: result.engine, txId: result.txId }
  }

  private computeRoute(tree: PgNode): Route {
    const select = nodeBody(tree, 'SelectStmt')!
    let catalogReference = false
    let viewReference: string | undefined
    walk(tree, (kind, body) => {
      if (kind === 'RangeVar') {
        const schema = typeof body['schemaname'] === 'string' ? body['schemaname'] : undefined
        if (schema === 'strata' || schema === 'information_schema' || schema === 'pg_catalog') catalogReference = true
        else if (body['catalogname'] === 'strata' && schema === 'results') catalogReference = true
        else if (this.catalog.views.has(String(body['relname']))) viewReference = String(body['relname'])
      }
    })
    if (catalogReference) return { store: 'catalog', reason: 'it reads the system catalog (strata.*, information_schema)' }
    if (viewReference !== undefined) return { store: 'column', reason: `it reads the view ${viewReference}, which the column store answers` }
    try {
      const plan = compileSelect(select, { table: (name) => this.catalog.tables.get(name) })
      return { store: 'row', reason: 'a simple single-table lookup', plan }
    } catch (error) {
      if (error instanceof NotRowStore) return { store: 'column', reason: analyticalReason(select, error.construct) }
      throw error
    }
  }

  /** A row-store read returns its result synchronously; the column store's and the catalog's are promises. */
  private read(session: Session, statement: Statement, params: readonly unknown[], options: ExecuteOptions): Positional | Promise<Positional> {
    const tree = statement.tree!
    const route = this.route(tree)
    if (route.store === 'catalog') return this.catalogRead(session, tree, params, options)
    if (options.engine === 'row' && route.store !== 'row') return this.rowRead(session, this.groupedRowPlan(tree, route), params)
    if (route.store === 'row' && options.engine !== 'column') return this.rowRead(session, route.plan!, params)
    rejectFulltextOutsideRowStore(tree, options.engine === 'column' ? 'the engine option asks for it' : route.reason)
    // The DuckDB text (time-series calls rewritten) only when the column store answers.
    const column = this.columnSelect(statement, params)
    return this.columnRead(session, column.sql, column.params, options, 'column')
  }

  /**
   * A grouped query forced onto the row store (routing sends aggregates to DuckDB): GROUP BY,
   * aggregates and time-series functions compiled for SQLite (src/sql/rowgroup.ts), or NOT_SUPPORTED.
   */
  private groupedRowPlan(tree: PgNode, route: Route): RowPlan {
    const select = nodeBody(tree, 'SelectStmt')!
    const grouped = list(select['groupClause']).length > 0 || list(select['targetList']).some((target) => nodeKind(nodeBody(target, 'ResTarget')?.['val']) === 'FuncCall')
    if (!grouped) throw new StrataError('NOT_SUPPORTED', `the row store cannot run this query: ${route.reason}`)
    const cached = this.groupedPlanCache.get(tree)
    let plan: RowPlan | NotRowStore
    if (cached !== undefined && cached.catalogVersion === this.catalogVersion) plan = cached.plan
    else {
      try {
        plan = compileSelect(select, { table: (name) => this.catalog.tables.get(name) }, { grouped: true })
      } catch (error) {
        if (!(error instanceof NotRowStore)) throw error
        plan = error
      }
      this.groupedPlanCache.set(tree, { catalogVersion: this.catalogVersion, plan })
    }
    if (plan instanceof NotRowStore) throw new StrataError('NOT_SUPPORTED', `the row store cannot run this query (${route.reason}): ${plan.message}`, { cause: plan })
    return plan
  }

  /**
   * A SELECT's text and parameters for DuckDB: the cached text, or, when a parameter is a subquery's
   * LIMIT/OFFSET (which DuckDB refuses in a correlated subquery), its value written in (src/sql/pgcompat.ts).
   */
  private columnSelect(statement: ParsedStatement, params: readonly unknown[]): { sql: string; params: readonly unknown[] } {
    const limitEdits = subqueryLimitEdits(statement, params)
    if (limitEdits.length === 0) return { sql: this.columnSelectText(statement), params }
    return compactParameters(applyEdits(statement, [...postgresJsonEdits(statement), ...limitEdits, ...timeSeriesEdits(statement)]), params)
  }

  /** A SELECT's text for DuckDB: PostgreSQL's JSON constructors and time-series calls rewritten at tree locations (src/sql/pgcompat.ts, src/sql/timeseries.ts). */
  private columnSelectText(statement: ParsedStatement): string {
    const tree = statement.tree!
    let text = this.columnTextCache.get(tree)
    if (text === undefined) {
      text = applyEdits(statement, [...postgresJsonEdits(statement), ...timeSeriesEdits(statement)])
      this.columnTextCache.set(tree, text)
    }
    return text
  }

  private rowRead(session: Session, plan: RowPlan, params: readonly unknown[], bounds?: readonly bigint[]): Positional {
    const connection = session.inTransaction ? this.rowStore.writer : this.rowStore.reader
    const values = this.bind(plan.binders, params, bounds)
    const shape = outputShape(plan.output)
    const rows = connection.prepareSync(plan.sql, shape.bigints ? bigintRows : numberRows).allSync(values)
    return { rows: convertRows(shape, rows), columns: shape.columns, rowCount: rows.length, engine: 'row' }
  }

  /** Runs SQL on the column store with the freshness rules of SPEC 5. */
  private async columnRead(session: Session, text: string, params: readonly unknown[] | Readonly<Record<string, unknown>>, options: ExecuteOptions, engine: EngineName): Promise<Positional> {
    const result = await this.columnQuery(session, text, params, options)
    return { ...shapeTabular(result), engine }
  }

  private async columnQuery(session: Session, text: string, params: readonly unknown[] | Readonly<Record<string, unknown>>, options: ExecuteOptions): Promise<Tabular> {
    const pending = session.inTransaction ? this.ledger.pendingCommit : undefined
    if (pending !== undefined) return this.overlayQuery(session, text, params, options)
    const { duck, release } = await this.freshColumnSession(options)
    try {
      return await duck.run(text, params.length === 0 && Array.isArray(params) ? undefined : params)
    } finally {
      release()
    }
  }

  /**
   * A DuckDB session once the mirror holds every commit acknowledged so far (or is within
   * `maxStalenessMs`), with `options.signal` wired to interrupt it; `release` undoes both.
   */
  private async freshColumnSession(options: ExecuteOptions): Promise<{ readonly duck: ColumnSession; readonly release: () => void }> {
    await this.awaitFreshness(this.ledger.lastCommitted.txId, options)
    const duck = await this.syncer.acquireSession()
    // Aborted while it waited for freshness or a session: an 'abort' event already passed, so check.
    if (options.signal?.aborted === true) {
      this.syncer.releaseSession(duck)
      throw new StrataError('ABORTED', 'the read was aborted before it started')
    }
    const abort = (): void => duck.interrupt()
    options.signal?.addEventListener('abort', abort, { once: true })
    const release = (): void => {
      options.signal?.removeEventListener('abort', abort)
      this.syncer.releaseSession(duck)
    }
    return { duck, release }
  }

  private async awaitFreshness(target: number, options: ExecuteOptions): Promise<void> {
    if (this.syncer.lastAppliedTx >= target) return
    if (options.maxStalenessMs !== undefined && this.syncer.started && this.syncer.lastAppliedTx >= 0) {
      const lagMs = this.lagMs(this.syncer.lastAppliedTx)
      if (lagMs <= options.maxStalenessMs) return
    }
    await this.syncer.waitForApplied(target, { signal: options.signal })
  }

  /**
   * A read inside a transaction that has written: the mirror at the last commit, plus this
   * transaction's own versions, in a DuckDB transaction that is rolled back afterwards.
   */
  private async overlayQuery(session: Session, text: string, params: readonly unknown[] | Readonly<Record<string, unknown>>, options: ExecuteOptions): Promise<Tabular> {
    const pending = this.ledger.pendingCommit!
    await this.syncer.waitForApplied(this.ledger.lastCommitted.txId, { signal: options.signal })
    session.overlay ??= await this.syncer.acquireSession()
    const duck = session.overlay
    if (options.signal?.aborted === true) throw new StrataError('ABORTED', 'the read was aborted before it started')
    await duck.run('BEGIN TRANSACTION')
    const abort = (): void => duck.interrupt()
    options.signal?.addEventListener('abort', abort, { once: true })
    try {
      await applyRange(duck, this.rowStore.writer, { fromTx: this.ledger.lastCommitted.txId, toTx: pending.txId, catalog: this.catalog })
      return await duck.run(text, Array.isArray(params) && params.length === 0 ? undefined : params)
    } finally {
      options.signal?.removeEventListener('abort', abort)
      await duck.run('ROLLBACK')
    }
  }

  private async catalogRead(session: Session, tree: PgNode, params: readonly unknown[], options: ExecuteOptions): Promise<Positional> {
    // Our information_schema is built from our catalog; point the query at it in the tree.
    const rewritten = structuredClone(tree)
    walk(rewritten, (kind, body) => {
      if (kind === 'RangeVar' && body['schemaname'] === 'information_schema') body['schemaname'] = 'strata_information_schema'
      if (kind === 'RangeVar' && body['schemaname'] === 'strata' && body['relname'] === 'sync_status') {
        body['schemaname'] = 'strata_staging'
      }
    })
    // strata.results."<id>": a result the HTTP API persisted, read from the shared tables (./results.ts).
    const resultIds = resultReferences(rewritten)
    if (resultIds.length > 0) {
      const columnsById = await this.persistedResultColumns(session, resultIds, options)
      rewriteResultReferences(rewritten, (id) => {
        const statements = parseTree(resultSelectSql(id, columnsById.get(id)!))['stmts'] as { stmt: unknown }[]
        return statements[0]!.stmt
      })
    }
    const text = deparseStatement(rewritten)
    const status = await this.syncStatus()
    const duck = await this.syncer.acquireSession()
    try {
      await duck.run('CREATE OR REPLACE TABLE strata_staging.sync_status AS SELECT $1::BIGINT AS last_committed_tx, $2::BIGINT AS last_applied_tx, $3::BIGINT AS lag_tx, $4::DOUBLE AS lag_ms', [
        status.lastCommittedTx,
        status.lastAppliedTx,
        status.lagTx,
        status.lagMs,
      ])
    } finally {
      this.syncer.releaseSession(duck)
    }
    const result = await this.columnQuery(session, text, params, options)
    return { ...shapeTabular(result), engine: 'catalog' }
  }

  /** The columns of each persisted result `ids` names; UNDEFINED_TABLE for one that does not exist. */
  private async persistedResultColumns(session: Session, ids: readonly string[], options: ExecuteOptions): Promise<Map<string, readonly PersistedColumn[]>> {
    const columnsById = new Map<string, readonly PersistedColumn[]>()
    const wellFormed = ids.filter(isResultId)
    if (wellFormed.length > 0) {
      // Once the table exists it stays (results are trimmed, never the table): asked until then only.
      if (!this.resultsTableSeen) {
        const exists = await this.columnQuery(session, `SELECT count(*) FROM duckdb_tables() WHERE schema_name = '${resultsSchema}' AND table_name = 'results'`, [], options)
        this.resultsTableSeen = Number(exists.rows[0]![0]) > 0
      }
      if (this.resultsTableSeen) {
        const list = wellFormed.map((id) => `'${id}'`).join(', ')
        const found = await this.columnQuery(session, `SELECT result_id, CAST(columns AS VARCHAR) FROM ${resultsTable} WHERE result_id IN (${list})`, [], options)
        for (const [id, columns] of found.rows) columnsById.set(String(id), JSON.parse(String(columns)) as PersistedColumn[])
      }
    }
    const missing = ids.find((id) => !columnsById.has(id))
    if (missing !== undefined) throw new StrataError('UNDEFINED_TABLE', `no result "${missing}" in strata.results (a result id from the HTTP API's POST /query; only the newest results are kept)`)
    return columnsById
  }

  // ───────────────────────────── writes ─────────────────────────────

  /**
   * Runs `body` as (part of) a write transaction: inside an explicit transaction it runs on that
   * session; in autocommit it runs on a private session of its own (so concurrent statements on the
   * same handle never see or share its open transaction), takes the writer lock, opens a SQLite
   * transaction, and commits with a ledger fact (or rolls back on error).
   */
  private write(session: Session, options: ExecuteOptions, body: (active: Session) => Positional | Promise<Positional>): Positional | Promise<Positional> {
    // Every write (DML, DDL, full-text index DDL) comes through here, so this one check makes a read-only session.
    if (options.readOnly === true) throw new StrataError('READ_ONLY', 'this session may only read: the statement would write')
    if (session.inTransaction ? session.readOnly : session.defaultReadOnly) throw new StrataError('READ_ONLY', 'cannot write in a READ ONLY transaction')
    if (session.inTransaction) return this.writeInTransaction(session, body)
    // A free writer lock is taken at once, and a body that needs no waiting (a plain INSERT, UPDATE,
    // DELETE) commits synchronously: the same steps in the same order, without promise hops.
    const release = this.writerLock.tryAcquire()
    if (release !== undefined) return this.yieldingToSync(this.autocommitWrite(release, body))
    return this.writerLock.acquire(limits.writerLockWaitMs, 'LOCK_TIMEOUT', 'the writer lock', options.signal).then((granted) => this.autocommitWrite(granted, body))
  }

  private async writeInTransaction(session: Session, body: (active: Session) => Positional | Promise<Positional>): Promise<Positional> {
    const writer = this.rowStore.writer
    this.ledger.assignSync()
    writer.execSync('SAVEPOINT strata_statement')
    try {
      const result = await body(session)
      writer.execSync('RELEASE strata_statement')
      session.rowsChanged += result.rowCount
      return result
    } catch (error) {
      writer.execSync('ROLLBACK TO strata_statement')
      writer.execSync('RELEASE strata_statement')
      if (session.changedSchema) this.reloadCatalogSync()
      throw error
    }
  }

  /**
   * One autocommit write holding the writer lock (`release`): a private session, BEGIN IMMEDIATE, the
   * body, then COMMIT with a ledger fact or ROLLBACK. Synchronous when the body is; the lock is
   * released once the write has committed or rolled back, either way.
   */
  /**
   * A tight `await db.query(write)` loop settles each write through microtasks only, so the event
   * loop never turns and the background sync (its timer, DuckDB's callbacks) cannot take a step until
   * the loop ends. Once synchronous writes have held one turn for `limits.syncIdleIntervalMs` (the
   * longest the sync otherwise waits after a commit) while the mirror lags, a write's result is handed
   * back on the next turn instead: the sync applies the writes as they come, as CDC should, instead of
   * all at once afterwards.
   */
  private yieldingToSync(outcome: Positional | Promise<Positional>): Positional | Promise<Positional> {
    if (outcome instanceof Promise) return outcome
    // The turn's clock restarts whenever the event loop turns, whoever made it turn.
    if (this.writesThisTurn++ === 0) {
      this.turnStartedMs = performance.now()
      setImmediate(() => (this.writesThisTurn = 0))
    }
    if (performance.now() - this.turnStartedMs < limits.syncIdleIntervalMs || this.syncer.lastAppliedTx >= this.ledger.lastCommitted.txId) return outcome
    return new Promise((resolve) => setImmediate(() => resolve(outcome)))
  }

  private autocommitWrite(release: () => void, body: (active: Session) => Positional | Promise<Positional>): Positional | Promise<Positional> {
    const writer = this.rowStore.writer
    const active = this.newSession()
    active.inTransaction = true
    const end = (): void => {
      active.inTransaction = false
      this.endOverlay(active)
      release()
    }
    let outcome: Positional | Promise<Positional>
    try {
      writer.prepareSync('BEGIN IMMEDIATE').runSync([])
      try {
        this.ledger.assignSync()
        outcome = body(active)
      } catch (error) {
        this.rollbackAutocommitSync(active)
        throw error
      }
    } catch (error) {
      end()
      throw error
    }
    if (outcome instanceof Promise) {
      return outcome.then(
        (result) => {
          try {
            return this.commitAutocommitSync(active, result)
          } finally {
            end()
          }
        },
        (error: unknown) => {
          try {
            this.rollbackAutocommitSync(active)
          } finally {
            end()
          }
          throw error
        },
      )
    }
    try {
      return this.commitAutocommitSync(active, outcome)
    } finally {
      end()
    }
  }

  private commitAutocommitSync(active: Session, result: Positional): Positional {
    active.rowsChanged += result.rowCount
    const txId = this.commitSync(active)
    if (txId === undefined) return result
    return { rows: result.rows, columns: result.columns, rowCount: result.rowCount, engine: result.engine, txId }
  }

  private rollbackAutocommitSync(active: Session): void {
    this.rowStore.writer.prepareSync('ROLLBACK').runSync([])
    this.ledger.abandonSync()
    if (active.changedSchema) this.reloadCatalogSync()
  }

  /** Commits the writer transaction; records the commit in the ledger when something changed. */
  private commitSync(session: Session): number | undefined {
    const writer = this.rowStore.writer
    const changed = session.rowsChanged > 0 || session.changedSchema
    if (!changed || this.ledger.pendingCommit === undefined) {
      writer.prepareSync('COMMIT').runSync([])
      this.ledger.abandonSync()
      return undefined
    }
    const commit = this.ledger.recordSync(session.changedSchema ? 'ddl' : 'data', session.rowsChanged)
    try {
      writer.prepareSync('COMMIT').runSync([])
    } catch (error) {
      if (writer.inTransaction) writer.prepareSync('ROLLBACK').runSync([])
      this.ledger.abandonSync()
      if (session.changedSchema) this.reloadCatalogSync()
      throw error
    }
    this.ledger.committedSync()
    this.syncer.wake()
    for (const listener of this.commitListeners) listener(commit)
    return commit.txId
  }

  private endOverlay(session: Session): void {
    if (session.overlay !== undefined) {
      this.syncer.releaseSession(session.overlay)
      session.overlay = undefined
    }
  }

  private async transactionControl(session: Session, body: PgNode, options: ExecuteOptions): Promise<Positional> {
    const writer = this.rowStore.writer
    const kind = body['kind']
    const empty = { rows: [], columns: [], rowCount: 0, engine: 'row' as const }
    const open = session.inTransaction && session.releaseWriter !== undefined
    switch (kind) {
      case 'TRANS_STMT_BEGIN':
      case 'TRANS_STMT_START':
        if (session.inTransaction) throw new StrataError('TX_STATE', 'there is already a transaction in progress (nested BEGIN)')
        await this.beginTransaction(session, readOnlyOption(body['options']) ?? session.defaultReadOnly, options)
        return empty
      case 'TRANS_STMT_COMMIT': {
        if (!open) throw new StrataError('TX_STATE', 'there is no transaction in progress (COMMIT without BEGIN)')
        const readOnly = session.readOnly
        let result: Positional
        try {
          const txId = this.commitSync(session)
          result = txId === undefined ? empty : { ...empty, txId }
        } finally {
          await this.finishTransaction(session)
        }
        // COMMIT AND CHAIN: a new transaction at once, with the same characteristics.
        if (body['chain'] === true) await this.beginTransaction(session, readOnly, options)
        return result
      }
      case 'TRANS_STMT_ROLLBACK': {
        if (!open) throw new StrataError('TX_STATE', 'there is no transaction in progress (ROLLBACK without BEGIN)')
        const readOnly = session.readOnly
        try {
          writer.prepareSync('ROLLBACK').runSync([])
          this.ledger.abandonSync()
          if (session.changedSchema) this.reloadCatalogSync()
        } finally {
          await this.finishTransaction(session)
        }
        if (body['chain'] === true) await this.beginTransaction(session, readOnly, options)
        return empty
      }
      // Savepoints are SQLite's, under names of their own ("user_" + the name), so a user's name can
      // never meet the engine's per-statement savepoint. The session remembers, per savepoint, what
      // ROLLBACK TO must restore: the rows changed so far and whether the schema had changed.
      case 'TRANS_STMT_SAVEPOINT': {
        if (!open) throw new StrataError('TX_STATE', 'SAVEPOINT can only be used in a transaction block (after BEGIN)')
        const name = String(body['savepoint_name'])
        writer.execSync(`SAVEPOINT ${quoteIdentifier(`user_${name}`)}`)
        session.savepoints.push({ name, rowsChanged: session.rowsChanged, changedSchema: session.changedSchema })
        return empty
      }
      case 'TRANS_STMT_RELEASE': {
        if (!open) throw new StrataError('TX_STATE', 'RELEASE SAVEPOINT can only be used in a transaction block (after BEGIN)')
        const index = this.savepointIndex(session, String(body['savepoint_name']))
        writer.execSync(`RELEASE ${quoteIdentifier(`user_${session.savepoints[index]!.name}`)}`)
        // Releasing a savepoint releases every one made after it, as in PostgreSQL and SQLite.
        session.savepoints.length = index
        return empty
      }
      case 'TRANS_STMT_ROLLBACK_TO': {
        if (!open) throw new StrataError('TX_STATE', 'ROLLBACK TO SAVEPOINT can only be used in a transaction block (after BEGIN)')
        const index = this.savepointIndex(session, String(body['savepoint_name']))
        const savepoint = session.savepoints[index]!
        writer.execSync(`ROLLBACK TO ${quoteIdentifier(`user_${savepoint.name}`)}`)
        // The savepoint stays (it can be rolled back to again); later ones are gone.
        session.savepoints.length = index + 1
        if (session.changedSchema && !savepoint.changedSchema) this.reloadCatalogSync()
        session.rowsChanged = savepoint.rowsChanged
        session.changedSchema = savepoint.changedSchema
        return empty
      }
      default:
        throw new StrataError('NOT_SUPPORTED', `transaction statement ${String(kind).replace(/^TRANS_STMT_/, '')} (two-phase commit is not supported)`)
    }
  }

  /** Takes the writer lock and opens a SQLite transaction for `session`. */
  private async beginTransaction(session: Session, readOnly: boolean, options: ExecuteOptions): Promise<void> {
    const release = await this.writerLock.acquire(limits.writerLockWaitMs, 'LOCK_TIMEOUT', 'the writer lock', options.signal)
    try {
      this.rowStore.writer.prepareSync('BEGIN IMMEDIATE').runSync([])
    } catch (error) {
      release()
      throw error
    }
    session.inTransaction = true
    session.releaseWriter = release
    session.rowsChanged = 0
    session.changedSchema = false
    session.readOnly = readOnly
    session.savepoints.length = 0
  }

  /** The newest savepoint called `name` (PostgreSQL uses the newest of equal names); TX_STATE if there is none. */
  private savepointIndex(session: Session, name: string): number {
    for (let index = session.savepoints.length - 1; index >= 0; index--) if (session.savepoints[index]!.name === name) return index
    throw new StrataError('TX_STATE', `savepoint "${name}" does not exist`)
  }

  /**
   * `SET TRANSACTION …` (the open transaction; outside one it does nothing, as PostgreSQL only warns)
   * and `SET SESSION CHARACTERISTICS AS TRANSACTION …` (every later transaction and autocommit
   * statement): READ ONLY / READ WRITE are kept; isolation levels are accepted, one writer at a time
   * making every transaction serializable. Any other SET is not supported here.
   */
  private transactionCharacteristics(session: Session, body: PgNode): Positional {
    const target = body['kind'] === 'VAR_SET_MULTI' ? body['name'] : undefined
    if (target !== 'TRANSACTION' && target !== 'SESSION CHARACTERISTICS') {
      throw new StrataError('NOT_SUPPORTED', `SET ${String(body['name'] ?? '')}: only SET TRANSACTION and SET SESSION CHARACTERISTICS AS TRANSACTION are taken`)
    }
    const readOnly = readOnlyOption(body['args'])
    if (readOnly !== undefined) {
      if (target === 'SESSION CHARACTERISTICS') session.defaultReadOnly = readOnly
      else if (session.inTransaction) session.readOnly = readOnly
    }
    return { rows: [], columns: [], rowCount: 0, engine: 'row' }
  }

  private async finishTransaction(session: Session): Promise<void> {
    session.inTransaction = false
    session.readOnly = false
    session.savepoints.length = 0
    const release = session.releaseWriter
    session.releaseWriter = undefined
    this.endOverlay(session)
    if (release === undefined) return
    // A writer that waited for this transaction starts on the next turn of the event loop, so the
    // transaction's caller hears that it finished first (a waiting autocommit write may otherwise
    // complete synchronously within the same run of promise callbacks).
    if (this.writerLock.waiting) setImmediate(release)
    else release()
  }

  /** Rolls back whatever `session` has open (used when a transaction body throws). */
  async abortSession(session: Session): Promise<void> {
    if (!session.inTransaction || session.releaseWriter === undefined) return
    try {
      if (this.rowStore.writer.inTransaction) this.rowStore.writer.prepareSync('ROLLBACK').runSync([])
      this.ledger.abandonSync()
      if (session.changedSchema) this.reloadCatalogSync()
    } finally {
      await this.finishTransaction(session)
    }
  }

  private bind(binders: readonly Binder[], params: readonly unknown[], bounds?: readonly bigint[]): RowValue[] {
    const values: RowValue[] = new Array(binders.length)
    for (let index = 0; index < binders.length; index++) {
      const binder = binders[index]!
      switch (binder.kind) {
        case 'value':
          values[index] = binder.value
          break
        case 'param': {
          if (binder.index < 0 || binder.index >= params.length) {
            throw new StrataError('INVALID_PARAMETER', `no value for parameter $${binder.index + 1} (${params.length} given)`)
          }
          const value = params[binder.index]
          values[index] = binder.type === undefined ? plainValue(value) : binder.compare === true ? comparisonParameter(value, binder.type) : toStorage(value, binder.type)
          // A full-text query is checked here so a malformed one is a SYNTAX_ERROR with its position (NULL: EXPLAIN's placeholder).
          if (binder.fulltextColumns !== undefined && value !== null) checkBoundFulltextQuery(value, binder.fulltextColumns)
          if (binder.rowCount === true) checkRowCount(values[index])
          if (binder.textOnly === true) checkTextParameter(value)
          break
        }
        case 'now':
          values[index] = toStorage(new Date(Number(this.ledger.nowMicros() / 1000n)), binder.type)
          break
        case 'slot':
          assert(bounds !== undefined, 'a time-travel plan is bound with its period bounds')
          values[index] = bounds[binder.slot]!
          break
      }
    }
    return values
  }

  private runDml(session: Session, kind: string, body: PgNode, params: readonly unknown[], options: ExecuteOptions, statement?: Statement): Positional | Promise<Positional> {
    const resolver = { table: (name: string) => this.catalog.tables.get(name) }
    if (kind === 'InsertStmt') return this.runInsert(session, body, params, options, statement)
    const relationName = String(nodeBody({ RangeVar: body['relation'] }, 'RangeVar')!['relname'])
    if (!this.catalog.tables.has(relationName)) {
      throw new StrataError('UNDEFINED_TABLE', this.catalog.views.has(relationName) ? `"${relationName}" is a view; views cannot be written` : `table "${relationName}" does not exist`)
    }
    let plan: RowPlan
    try {
      plan = this.cachedPlan(body, () => (kind === 'UpdateStmt' ? compileUpdate(body, resolver) : compileDelete(body, resolver)))
    } catch (error) {
      if (error instanceof NotRowStore) {
        rejectFulltextOutsideRowStore(body, error.construct)
        return this.evaluatedUpdateOrDelete(session, kind, body, params, options, error.construct)
      }
      throw error
    }
    return this.runPlan(plan, params)
  }

  /** Compiles once per tree and catalog version; the result (or the NotRowStore it threw) is reused. */
  private cachedPlan<T>(tree: PgNode, compile: () => T): T {
    const cached = this.writePlanCache.get(tree)
    let outcome: { value: T } | { error: NotRowStore }
    if (cached !== undefined && cached.catalogVersion === this.catalogVersion) outcome = cached.plan as typeof outcome
    else {
      try {
        outcome = { value: compile() }
      } catch (error) {
        if (!(error instanceof NotRowStore)) throw error
        outcome = { error }
      }
      this.writePlanCache.set(tree, { catalogVersion: this.catalogVersion, plan: outcome })
    }
    if ('error' in outcome) throw outcome.error
    return outcome.value
  }

  private runPlan(plan: RowPlan, params: readonly unknown[]): Positional {
    const statement = this.rowStore.writer.prepareSync(plan.sql, { bigints: readsIntegersAsBigints(plan.output.map((column) => column.type)) })
    const values = this.bind(plan.binders, params)
    if (plan.output.length > 0) {
      const rows = statement.allSync(values)
      return { ...shapeRows(plan.output, rows), engine: 'row' }
    }
    const { changes } = statement.runSync(values)
    return { rows: [], columns: [], rowCount: changes, engine: 'row' }
  }

  /** A VALUES list of parameters and constants inserts synchronously; INSERT … SELECT waits for its source. */
  private runInsert(session: Session, insert: PgNode, params: readonly unknown[], options: ExecuteOptions, statement?: Statement): Positional | Promise<Positional> {
    const plan = this.cachedPlan(insert, (): InsertPlan => {
      const target = insertTarget(insert, { table: (name) => this.catalog.tables.get(name) })
      const shell = compileInsertShell(insert, target)
      return {
        target,
        shell,
        fastRows: compileValuesRows(insert, target),
        placeholders: `(${target.table.columns.map(() => '?').join(', ')})`,
        bigints: readsIntegersAsBigints(shell.output.map((column) => column.type)),
        rowidAlias: rowidAliasIndex(target.table),
        sqlByRowCount: new Map(),
      }
    })
    if (plan.fastRows !== undefined) return this.insertRows(plan, plan.fastRows, params)
    return this.insertEvaluatedRows(session, plan, insert, params, options, statement)
  }

  /** INSERT … SELECT, or VALUES with expressions: evaluate the source (routed like any query, and seeing this transaction's own writes), then insert the values it produced. */
  private async insertEvaluatedRows(session: Session, plan: InsertPlan, insert: PgNode, params: readonly unknown[], options: ExecuteOptions, statement?: Statement): Promise<Positional> {
    const target = plan.target
    const source = nodeBody(insert['selectStmt'], 'SelectStmt')
    if (source === undefined) throw new StrataError('NOT_SUPPORTED', 'INSERT … DEFAULT VALUES')
    const evaluated = await this.evaluateSelect(session, { SelectStmt: source }, params, options, statement)
    if (evaluated.columns.length !== target.columns.length) {
      throw new StrataError('SYNTAX_ERROR', `INSERT has ${target.columns.length} target columns but the query returns ${evaluated.columns.length}`)
    }
    if (evaluated.rows.length > limits.dmlEvaluatedRowsMax) throw new StrataError('NOT_SUPPORTED', `INSERT … SELECT of more than ${limits.dmlEvaluatedRowsMax} rows at once`)
    const rowBinders = evaluated.rows.map((row) => {
      const byName = new Map<string, Binder>()
      target.columns.forEach((name, index) => {
        const column = findColumn(target.table, name)!
        byName.set(name, { kind: 'value', value: toStorage(row[index], column.type) })
      })
      return target.table.columns.map((column) => byName.get(column.name) ?? defaultBinderFor(target.table, column.name))
    })
    return this.insertRows(plan, rowBinders, params)
  }

  private insertRows(plan: InsertPlan, rowBinders: readonly (readonly Binder[])[], params: readonly unknown[]): Positional {
    const { target, shell } = plan
    if (rowBinders.length === 0) return { rows: [], columns: shell.output.map(outputColumn), rowCount: 0, engine: 'row' }
    const writer = this.rowStore.writer
    const collected: RowValue[][] = []
    let changed = 0
    // Many rows in one statement up to SQLite's parameter limit; each statement is prepared once.
    const columnsPerRow = target.table.columns.length
    const rowsPerStatement = Math.max(1, Math.min(500, Math.floor(32_000 / Math.max(1, columnsPerRow))))
    for (let start = 0; start < rowBinders.length; start += rowsPerStatement) {
      const chunk = rowBinders.length <= rowsPerStatement ? rowBinders : rowBinders.slice(start, start + rowsPerStatement)
      // The text for a chunk of this many rows, made once per plan (plans are per tree and catalog version).
      let sql = plan.sqlByRowCount.get(chunk.length)
      if (sql === undefined) {
        sql = shell.prefix + chunk.map(() => plan.placeholders).join(', ') + shell.suffix
        plan.sqlByRowCount.set(chunk.length, sql)
      }
      let values: RowValue[]
      if (chunk.length === 1 && shell.suffixBinders.length === 0) values = this.bind(chunk[0]!, params)
      else {
        values = []
        for (const row of chunk) values.push(...this.bind(row, params))
        values.push(...this.bind(shell.suffixBinders, params))
      }
      if (plan.rowidAlias >= 0) {
        for (let at = plan.rowidAlias; at < chunk.length * columnsPerRow; at += columnsPerRow) {
          if (values[at] === null) throw nullKeyError(target.table, target.table.columns[plan.rowidAlias]!.name)
        }
      }
      const statement = writer.prepareSync(sql, plan.bigints ? bigintRows : numberRows)
      if (shell.output.length > 0) {
        const rows = statement.allSync(values)
        collected.push(...rows)
        changed += rows.length
      } else changed += statement.runSync(values).changes
    }
    if (shell.output.length > 0) return { ...shapeRows(shell.output, collected), engine: 'row' }
    return { rows: [], columns: [], rowCount: changed, engine: 'row' }
  }

  /** A SELECT for a write's source: routed like a query, inside the writer's transaction. */
  private async evaluateSelect(session: Session, tree: PgNode, params: readonly unknown[], options: ExecuteOptions, statement?: Statement): Promise<Tabular> {
    const temporal = statement === undefined ? undefined : this.temporalPlan(statement, tree)
    if (temporal !== undefined) return this.evaluateTemporalSelect(session, tree, temporal, params, options)
    const route = this.route(tree)
    if (route.store === 'row') {
      const plan = route.plan!
      const values = this.bind(plan.binders, params)
      const rows = this.rowStore.writer.prepareSync(plan.sql, { bigints: true }).allSync(values)
      return { columns: plan.output.map(outputColumn), rows: rows.map((row) => row.map((value, index) => fromStorage(value, plan.output[index]!.type))) }
    }
    rejectFulltextOutsideRowStore(tree, route.reason)
    const text = deparseStatement(tree)
    return this.overlayOrFresh(session, text, params, options)
  }

  /** The source of a write that reads the past (INSERT … SELECT … FOR SYSTEM_TIME …, CREATE TABLE AS …). */
  private async evaluateTemporalSelect(session: Session, tree: PgNode, plan: TemporalPlan, params: readonly unknown[], options: ExecuteOptions): Promise<Tabular> {
    const bounds = evaluateBounds(plan, this.instantContext(session, params))
    const rowPlan = this.compileTemporalSelect(tree, plan)
    if (!(rowPlan instanceof NotRowStore)) {
      const compiled = rowPlan
      const rows = this.rowStore.writer.prepareSync(compiled.sql, { bigints: true }).allSync(this.bind(compiled.binders, params, bounds))
      return { columns: compiled.output.map(outputColumn), rows: rows.map((row) => row.map((value, index) => fromStorage(value, compiled.output[index]!.type))) }
    }
    rejectFulltextOutsideRowStore(tree, 'it reads history on the column store')
    await this.syncer.mirrorHistory([...plan.references.values()].map((reference) => reference.table))
    const text = deparseTemporal(tree, plan, (reference) => this.historySource(reference, bounds, plan))
    const compacted = compactParameters(text, params)
    return this.overlayOrFresh(session, compacted.sql, compacted.params, options)
  }

  private overlayOrFresh(session: Session, text: string, params: readonly unknown[], options: ExecuteOptions): Promise<Tabular> {
    // Writes run with the writer transaction open and a transaction id assigned, so the overlay
    // (mirror + this transaction's versions) is the state they must see.
    const wasInTransaction = session.inTransaction
    session.inTransaction = true
    return this.columnQuery(session, text, params, options).finally(() => {
      session.inTransaction = wasInTransaction
    })
  }

  /**
   * UPDATE/DELETE whose expressions the row store cannot evaluate identically: the column store
   * computes (key, new values) over the same state, and the row store applies them by key.
   */
  private async evaluatedUpdateOrDelete(session: Session, kind: string, body: PgNode, params: readonly unknown[], options: ExecuteOptions, construct: string): Promise<Positional> {
    if (list(body['returningList']).length > 0) throw new StrataError('NOT_SUPPORTED', `RETURNING together with ${construct}`)
    if (body['withClause'] !== undefined) throw new StrataError('NOT_SUPPORTED', 'WITH … UPDATE/DELETE')
    const relation = structuredClone(body['relation']) as PgNode
    const table = this.catalog.tables.get(String(relation['relname']))!
    const alias = nodeBody({ Alias: relation['alias'] }, 'Alias')
    const qualifier = alias === undefined ? table.name : String(alias['aliasname'])
    relation['schemaname'] = mirrorSchema
    relation['alias'] = { aliasname: qualifier }
    const targets: unknown[] = [{ ResTarget: { val: { ColumnRef: { fields: [{ String: { sval: qualifier } }, { String: { sval: keyColumn } }] } } } }]
    const assigned: { name: string; type: SqlType }[] = []
    if (kind === 'UpdateStmt') {
      for (const target of list(body['targetList'])) {
        const resTarget = nodeBody(target, 'ResTarget')!
        const name = String(resTarget['name'])
        const column = findColumn(table, name)
        if (column === undefined) throw new StrataError('UNDEFINED_COLUMN', `column "${name}" of table "${table.name}" does not exist`)
        let value = resTarget['val']
        if (nodeKind(value) === 'SetToDefault') {
          const fallback = column.default
          value = fallback === undefined ? { A_Const: { isnull: true } } : fallback.kind === 'now' ? { FuncCall: { funcname: [{ String: { sval: 'now' } }] } } : { A_Const: constantNode(fallback.value) }
        }
        targets.push({ ResTarget: { name: `v_${assigned.length}`, val: value } })
        assigned.push({ name, type: column.type })
      }
    }
    const from = [{ RangeVar: relation }, ...list(kind === 'UpdateStmt' ? body['fromClause'] : body['usingClause'])]
    const select: PgNode = { SelectStmt: { targetList: targets, fromClause: from, whereClause: body['whereClause'], op: 'SETOP_NONE', limitOption: 'LIMIT_OPTION_DEFAULT' } }
    const text = deparseStatement(select)
    const evaluated = await this.overlayOrFresh(session, text, params, options)
    if (evaluated.rows.length > limits.dmlEvaluatedRowsMax) throw new StrataError('NOT_SUPPORTED', `${kind === 'UpdateStmt' ? 'UPDATE' : 'DELETE'} of more than ${limits.dmlEvaluatedRowsMax} rows at once`)
    const keyColumns = table.primaryKey ?? [rowIdColumn]
    const keyTypes = keyColumns.map((name) => findColumn(table, name)?.type ?? ({ name: 'BIGINT' } as SqlType))
    const writer = this.rowStore.writer
    const sql =
      kind === 'UpdateStmt'
        ? `UPDATE ${quoteIdentifier(table.name)} SET ${assigned.map((column) => `${quoteIdentifier(column.name)} = ?`).join(', ')} WHERE ${keyCondition(table)}`
        : `DELETE FROM ${quoteIdentifier(table.name)} WHERE ${keyCondition(table)}`
    const statement = writer.prepareSync(sql)
    let changed = 0
    const seen = new Set<string>()
    for (const row of evaluated.rows) {
      const key = String(row[0])
      // UPDATE … FROM may produce a row more than once; PostgreSQL and DuckDB apply one of them.
      if (seen.has(key)) continue
      seen.add(key)
      const keyValues = (JSON.parse(key) as unknown[]).map((value, index) => toStorage(value, keyTypes[index]!))
      const setValues = assigned.map((column, index) => toStorage(row[index + 1], column.type))
      changed += statement.runSync([...setValues, ...keyValues]).changes
    }
    return { rows: [], columns: [], rowCount: changed, engine: 'row' }
  }

  // ───────────────────────────── DDL ─────────────────────────────

  /** CREATE TABLE … AS: a table with the query's columns and types (no key), filled with its rows in the same commit. */
  private async createTableAs(session: Session, target: { readonly name: string; readonly ifNotExists: boolean; readonly columnNames: readonly string[] }, evaluate: () => Promise<Tabular>): Promise<Positional> {
    const empty = { rows: [], columns: [], rowCount: 0, engine: 'row' as const }
    const pending = this.ledger.pendingCommit
    assert(pending !== undefined, 'DDL runs with a transaction id assigned')
    const name = target.name
    checkUserName(name, 'table')
    if (this.relationExists(name)) {
      if (target.ifNotExists) return empty
      throw new StrataError('DUPLICATE_TABLE', `relation "${name}" already exists`)
    }
    const evaluated = await evaluate()
    const columns = evaluated.columns.map((column, index) => ({
      name: target.columnNames[index] ?? column.name,
      type: typeFromLabel(column.type),
      notNull: false,
      default: undefined,
    }))
    for (const column of columns) checkUserName(column.name, 'column')
    const table: TableDefinition = { name, columns, primaryKey: null, uniques: [], checks: [], schemaTx: pending.txId }
    this.createTableSync(session, table)
    const insert = this.rowStore.writer.prepareSync(`INSERT INTO ${quoteIdentifier(name)} (${columns.map((column) => quoteIdentifier(column.name)).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`)
    for (const row of evaluated.rows) insert.runSync(columns.map((column, index) => toStorage(row[index], column.type)))
    return { ...empty, rowCount: evaluated.rows.length }
  }

  /** CREATE TABLE … AS <a query only DuckDB's grammar accepts>: checked to be one query by DuckDB's parser, then run on the column store. */
  private async createTableAsDuckDBQuery(session: Session, statement: CreateTableAs, params: readonly unknown[], options: ExecuteOptions): Promise<Positional> {
    const serialized = await this.serializeSql(statement.query)
    if (serialized.error) throw new StrataError('SYNTAX_ERROR', serialized.message, { statement: statement.query })
    if (serialized.statements.length !== 1) throw new StrataError('SYNTAX_ERROR', 'CREATE TABLE … AS takes one query')
    return this.createTableAs(session, statement, () => this.overlayOrFresh(session, statement.query, params, options))
  }


  private async runDdl(session: Session, kind: string, body: PgNode, params: readonly unknown[], options: ExecuteOptions, statement?: Statement): Promise<Positional> {
    const empty = { rows: [], columns: [], rowCount: 0, engine: 'row' as const }
    const pending = this.ledger.pendingCommit
    assert(pending !== undefined, 'DDL runs with a transaction id assigned')
    switch (kind) {
      case 'CreateStmt': {
        const definition = tableFromCreate(body)
        if (this.relationExists(definition.name)) {
          if (body['if_not_exists'] === true) return empty
          throw new StrataError('DUPLICATE_TABLE', `relation "${definition.name}" already exists`)
        }
        this.createTableSync(session, { ...definition, schemaTx: pending.txId })
        return empty
      }
      case 'CreateTableAsStmt': {
        const into = nodeBody({ IntoClause: body['into'] }, 'IntoClause')!
        const relation = nodeBody({ RangeVar: into['rel'] }, 'RangeVar')!
        if (body['objtype'] !== 'OBJECT_TABLE') throw new StrataError('NOT_SUPPORTED', 'CREATE MATERIALIZED VIEW (streaming views come in a later release)')
        const target = { name: String(relation['relname']), ifNotExists: body['if_not_exists'] === true, columnNames: list(into['colNames']).map((item) => stringValue(item) ?? '') }
        return this.createTableAs(session, target, () => this.evaluateSelect(session, body['query'] as PgNode, params, options, statement))
      }
      case 'DropStmt':
        return this.drop(session, body)
      case 'AlterTableStmt':
        return this.alterTable(session, body, pending.txId)
      case 'RenameStmt':
        return this.rename(session, body, pending.txId)
      case 'IndexStmt': {
        const relation = nodeBody({ RangeVar: body['relation'] }, 'RangeVar')!
        const table = this.requireTable(String(relation['relname']))
        // Recorded in the catalog (the PostgreSQL server's pg_index shows it), in the same transaction as SQLite's index.
        const index = indexFromCreate(body, table, (name) => this.relationNameTaken(name))
        if (index === undefined) return empty
        this.rowStore.writer.execSync(sqliteCreateIndex(table, index))
        this.saveAlteredTableSync({ ...table, indexes: [...indexesOf(table), index] })
        session.changedSchema = true
        return empty
      }
      case 'ViewStmt': {
        const relation = nodeBody({ RangeVar: body['view'] }, 'RangeVar')!
        const name = String(relation['relname'])
        checkUserName(name, 'view')
        const replace = body['replace'] === true
        if (this.catalog.tables.has(name) || (this.catalog.views.has(name) && !replace)) throw new StrataError('DUPLICATE_TABLE', `relation "${name}" already exists`)
        if (list(body['aliases']).length > 0) throw new StrataError('NOT_SUPPORTED', 'CREATE VIEW with a column list')
        const sql = deparseStatement(body['query'])
        const view: ViewDefinition = { name, sql, schemaTx: pending.txId }
        this.ledger.saveViewSync(view)
        this.setCatalog({ tables: this.catalog.tables, views: new Map([...this.catalog.views, [name, view]]) })
        session.changedSchema = true
        return empty
      }
      default:
        throw new StrataError('NOT_SUPPORTED', kind)
    }
  }

  private relationExists(name: string): boolean {
    return this.catalog.tables.has(name) || this.catalog.views.has(name)
  }

  /** Whether a new relation or index may not be called `name`: the catalog's names, and anything SQLite holds (case-insensitively, as SQLite compares them). */
  private relationNameTaken(name: string): boolean {
    if (catalogNameTaken(this.catalog, name)) return true
    return this.rowStore.writer.prepareSync("SELECT 1 FROM sqlite_schema WHERE type IN ('table', 'index', 'view') AND name = ? COLLATE NOCASE").allSync([name]).length > 0
  }

  /** DROP INDEX of a secondary index: from SQLite and the catalog (one made before indexes were catalogued is only in SQLite). */
  private dropIndexSync(name: string, missingOk: boolean): void {
    const writer = this.rowStore.writer
    for (const table of this.catalog.tables.values()) {
      const index = indexesOf(table).find((candidate) => candidate.name === name)
      if (index === undefined) continue
      writer.execSync(`DROP INDEX ${quoteIdentifier(name)}`)
      this.saveAlteredTableSync({ ...table, indexes: indexesOf(table).filter((candidate) => candidate !== index) })
      return
    }
    checkUserName(name, 'index')
    // `name = ?` compares exactly: SQLite would drop "A" for "a", and PostgreSQL's names differ by case.
    const uncatalogued = writer.prepareSync("SELECT 1 FROM sqlite_schema WHERE type = 'index' AND name = ? AND sql IS NOT NULL").allSync([name]).length > 0
    if (uncatalogued) writer.execSync(`DROP INDEX ${quoteIdentifier(name)}`)
    else if (!missingOk) throw new StrataError('UNDEFINED_TABLE', `index "${name}" does not exist`)
  }

  private requireTable(name: string): TableDefinition {
    const table = this.catalog.tables.get(name)
    if (table === undefined) throw new StrataError('UNDEFINED_TABLE', `table "${name}" does not exist`)
    return table
  }

  private createTableSync(session: Session, table: TableDefinition): void {
    const writer = this.rowStore.writer
    writer.execSync(sqliteCreateTable(table))
    // A table dropped earlier under the same name left its history behind, renamed; start afresh.
    for (const statement of sqliteCreateHistory(table)) writer.execSync(statement)
    this.ledger.saveTableSync(table)
    this.setCatalog({ tables: new Map([...this.catalog.tables, [table.name, table]]), views: this.catalog.views })
    this.installTriggersSync(table)
    session.changedSchema = true
  }

  private installTriggersSync(table: TableDefinition): void {
    for (const statement of sqliteHistoryTriggers(table)) this.rowStore.writer.execSync(statement)
  }

  private dropTriggersSync(name: string): void {
    for (const event of ['insert', 'update', 'delete']) this.rowStore.writer.execSync(`DROP TRIGGER IF EXISTS temp.${quoteIdentifier(`_strata_${event}_${name}`)}`)
  }

  private drop(session: Session, body: PgNode): Positional {
    const empty = { rows: [], columns: [], rowCount: 0, engine: 'row' as const }
    const type = body['removeType']
    const missingOk = body['missing_ok'] === true
    const pending = this.ledger.pendingCommit!
    for (const object of list(body['objects'])) {
      const parts = names(nodeBody(object, 'List')?.['items'])
      const name = parts[parts.length - 1] ?? ''
      if (type === 'OBJECT_TABLE') {
        if (!this.catalog.tables.has(name)) {
          if (missingOk) continue
          throw new StrataError('UNDEFINED_TABLE', `table "${name}" does not exist`)
        }
        this.dropTriggersSync(name)
        const writer = this.rowStore.writer
        dropTableFulltextSync(writer, this.catalog.tables.get(name)!)
        writer.execSync(`DROP TABLE ${quoteIdentifier(name)}`)
        // History is never deleted by DROP: it is kept under a name that records when the table went.
        const kept = `_strata_dropped_${pending.txId}_history_${name}`
        writer.execSync(`ALTER TABLE ${quoteIdentifier(historyTableName(name))} RENAME TO ${quoteIdentifier(kept)}`)
        // Its indexes keep their names across the rename; they serve no dropped table, and a new table of this name needs the names.
        const indexes = writer.prepareSync(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL`).allSync([kept])
        for (const [index] of indexes) writer.execSync(`DROP INDEX ${quoteIdentifier(String(index))}`)
        this.ledger.removeCatalogEntrySync(name)
        const tables = new Map(this.catalog.tables)
        tables.delete(name)
        this.setCatalog({ tables, views: this.catalog.views })
      } else if (type === 'OBJECT_VIEW') {
        if (!this.catalog.views.has(name)) {
          if (missingOk) continue
          throw new StrataError('UNDEFINED_TABLE', `view "${name}" does not exist`)
        }
        this.ledger.removeCatalogEntrySync(name)
        const views = new Map(this.catalog.views)
        views.delete(name)
        this.setCatalog({ tables: this.catalog.tables, views })
      } else if (type === 'OBJECT_INDEX') {
        if (!dropFulltextIndexSync(this.fulltextContext(session), name)) this.dropIndexSync(name, missingOk)
      } else throw new StrataError('NOT_SUPPORTED', `DROP ${String(type).replace('OBJECT_', '')}`)
      session.changedSchema = true
    }
    return empty
  }

  private alterTable(session: Session, body: PgNode, txId: number): Positional {
    const relation = nodeBody({ RangeVar: body['relation'] }, 'RangeVar')!
    const name = String(relation['relname'])
    if (!this.catalog.tables.has(name)) {
      if (body['missing_ok'] === true) return { rows: [], columns: [], rowCount: 0, engine: 'row' }
      throw new StrataError('UNDEFINED_TABLE', `table "${name}" does not exist`)
    }
    const writer = this.rowStore.writer
    for (const commandNode of list(body['cmds'])) {
      const command = nodeBody(commandNode, 'AlterTableCmd')!
      let table = this.catalog.tables.get(name)!
      switch (command['subtype']) {
        case 'AT_AddColumn': {
          const draft = tableFromCreate({ relation: { relname: name }, tableElts: [command['def']] })
          const column = draft.columns[0]!
          if (draft.primaryKey !== null || draft.uniques.length > 0) throw new StrataError('NOT_SUPPORTED', 'ALTER TABLE ADD COLUMN with PRIMARY KEY or UNIQUE')
          if (findColumn(table, column.name) !== undefined) {
            if (command['missing_ok'] === true) continue
            throw new StrataError('DUPLICATE_COLUMN', `column "${column.name}" of relation "${name}" already exists`)
          }
          const fallbackValue = column.default === undefined ? null : column.default.kind === 'now' ? toStorage(new Date(Number(this.ledger.nowMicros() / 1000n)), column.type) : toStorage(column.default.value, column.type)
          if (column.notNull && fallbackValue === null) {
            const count = writer.prepareSync(`SELECT count(*) FROM ${quoteIdentifier(name)}`).allSync([])[0]?.[0]
            if (Number(count) > 0) throw new StrataError('CONSTRAINT_VIOLATION', `column "${column.name}" is NOT NULL without a DEFAULT, and "${name}" has rows`)
          }
          const sqliteColumnType = sqliteStorage(column.type)
          const literal = fallbackValue === null ? '' : ` DEFAULT ${typeof fallbackValue === 'string' ? `'${fallbackValue.replaceAll("'", "''")}'` : String(fallbackValue)}`
          this.dropTriggersSync(name)
          writer.execSync(`ALTER TABLE ${quoteIdentifier(name)} ADD COLUMN ${quoteIdentifier(column.name)} ${sqliteColumnType}${column.notNull && fallbackValue !== null ? ' NOT NULL' : ''}${literal}`)
          writer.execSync(`ALTER TABLE ${quoteIdentifier(historyTableName(name))} ADD COLUMN ${quoteIdentifier(column.name)} ${sqliteColumnType}`)
          table = { ...table, columns: [...table.columns, column], schemaTx: txId }
          this.saveAlteredTableSync(table)
          if (fallbackValue !== null) {
            // Filling existing rows is a change of every row: recorded as new versions through the triggers.
            const changed = writer.prepareSync(`UPDATE ${quoteIdentifier(name)} SET ${quoteIdentifier(column.name)} = ${quoteIdentifier(column.name)}`).runSync([]).changes
            session.rowsChanged += changed
          }
          break
        }
        case 'AT_DropColumn': {
          const columnName = String(command['name'])
          if (findColumn(table, columnName) === undefined) {
            if (command['missing_ok'] === true) continue
            throw new StrataError('UNDEFINED_COLUMN', `column "${columnName}" of relation "${name}" does not exist`)
          }
          if ((table.primaryKey ?? []).includes(columnName) || table.uniques.some((unique) => unique.includes(columnName))) {
            throw new StrataError('NOT_SUPPORTED', `cannot drop column "${columnName}": it is part of a key`)
          }
          if (table.checks.some((check) => check.columns.includes(columnName))) {
            throw new StrataError('NOT_SUPPORTED', `cannot drop column "${columnName}": a CHECK constraint uses it`)
          }
          checkFulltextDropColumn(table, columnName)
          if (table.columns.length === 1) throw new StrataError('NOT_SUPPORTED', `cannot drop the only column of "${name}"`)
          this.dropTriggersSync(name)
          // As in PostgreSQL, the indexes that use the column go with it (SQLite would refuse the drop).
          const gone = indexesOf(table).filter((index) => index.columns.includes(columnName))
          const kept = indexesOf(table).filter((index) => !index.columns.includes(columnName))
          for (const index of gone) writer.execSync(`DROP INDEX ${quoteIdentifier(index.name)}`)
          writer.execSync(`ALTER TABLE ${quoteIdentifier(name)} DROP COLUMN ${quoteIdentifier(columnName)}`)
          // The history keeps the dropped column's values, under a name that says when it was dropped.
          writer.execSync(`ALTER TABLE ${quoteIdentifier(historyTableName(name))} RENAME COLUMN ${quoteIdentifier(columnName)} TO ${quoteIdentifier(`_strata_dropped_${txId}_${columnName}`)}`)
          table = { ...table, columns: table.columns.filter((column) => column.name !== columnName), ...(table.indexes === undefined ? {} : { indexes: kept }), schemaTx: txId }
          this.saveAlteredTableSync(table)
          break
        }
        case 'AT_AlterColumnType':
          throw new StrataError('NOT_SUPPORTED', 'ALTER COLUMN … TYPE')
        default:
          throw new StrataError('NOT_SUPPORTED', `ALTER TABLE … ${sqlWords(String(command['subtype']).replace('AT_', ''))}`)
      }
    }
    session.changedSchema = true
    return { rows: [], columns: [], rowCount: 0, engine: 'row' }
  }

  private rename(session: Session, body: PgNode, txId: number): Positional {
    if (body['renameType'] !== 'OBJECT_COLUMN') throw new StrataError('NOT_SUPPORTED', `ALTER … RENAME of ${String(body['renameType']).replace('OBJECT_', '').toLowerCase()}`)
    const relation = nodeBody({ RangeVar: body['relation'] }, 'RangeVar')!
    const table = this.requireTable(String(relation['relname']))
    const from = String(body['subname'])
    const to = String(body['newname'])
    checkUserName(to, 'column')
    if (findColumn(table, from) === undefined) throw new StrataError('UNDEFINED_COLUMN', `column "${from}" of relation "${table.name}" does not exist`)
    if (findColumn(table, to) !== undefined) throw new StrataError('DUPLICATE_COLUMN', `column "${to}" of relation "${table.name}" already exists`)
    const writer = this.rowStore.writer
    this.dropTriggersSync(table.name)
    writer.execSync(`ALTER TABLE ${quoteIdentifier(table.name)} RENAME COLUMN ${quoteIdentifier(from)} TO ${quoteIdentifier(to)}`)
    writer.execSync(`ALTER TABLE ${quoteIdentifier(historyTableName(table.name))} RENAME COLUMN ${quoteIdentifier(from)} TO ${quoteIdentifier(to)}`)
    const renameKey = (key: readonly string[]): string[] => key.map((column) => (column === from ? to : column))
    this.saveAlteredTableSync({
      ...table,
      columns: table.columns.map((column) => (column.name === from ? { ...column, name: to } : column)),
      primaryKey: table.primaryKey === null ? null : renameKey(table.primaryKey),
      uniques: table.uniques.map(renameKey),
      checks: table.checks.map((check) => ({ ...check, columns: renameKey(check.columns) })),
      ...renameFulltextColumn(table, from, to),
      // SQLite renames the column in its indexes itself.
      ...(table.indexes === undefined ? {} : { indexes: table.indexes.map((index) => ({ ...index, columns: renameKey(index.columns) })) }),
      schemaTx: txId,
    })
    renameFulltextColumnSync(writer, this.catalog.tables.get(table.name)!, to)
    session.changedSchema = true
    return { rows: [], columns: [], rowCount: 0, engine: 'row' }
  }

  private createFulltextIndex(session: Session, statement: CreateFulltextIndex): Positional {
    createFulltextIndexSync(this.fulltextContext(session), statement)
    return { rows: [], columns: [], rowCount: 0, engine: 'row' }
  }

  private fulltextContext(session: Session): FulltextContext {
    return {
      writer: this.rowStore.writer,
      catalog: this.catalog,
      saveTableSync: (table) => {
        this.saveAlteredTableSync(table)
        session.changedSchema = true
      },
    }
  }

  private saveAlteredTableSync(table: TableDefinition): void {
    this.ledger.saveTableSync(table)
    this.setCatalog({ tables: new Map([...this.catalog.tables, [table.name, table]]), views: this.catalog.views })
    this.installTriggersSync(table)
    this.rowStore.clearCachesSync()
  }

  private setCatalog(catalog: Catalog): void {
    this.catalog = catalog
    this.catalogVersion++
  }

  /** After a rollback of DDL: the catalog (and triggers) go back to what SQLite holds. */
  private reloadCatalogSync(): void {
    for (const name of this.catalog.tables.keys()) this.dropTriggersSync(name)
    this.setCatalog(this.ledger.loadCatalogSync(this.rowStore.writer))
    for (const table of this.catalog.tables.values()) this.installTriggersSync(table)
    this.rowStore.clearCachesSync()
  }

  // ───────────────────────────── introspection ─────────────────────────────

  private showTables(): Positional {
    const rows = [...this.catalog.tables.keys(), ...this.catalog.views.keys()].sort().map((name) => [name])
    return { rows, columns: [{ name: 'name', type: 'VARCHAR' }], rowCount: rows.length, engine: 'catalog' }
  }

  private describe(name: string): Positional {
    const table = this.catalog.tables.get(name.replace(/^"|"$/g, ''))
    if (table === undefined) {
      if (this.catalog.views.has(name)) throw new StrataError('NOT_SUPPORTED', `DESCRIBE of the view "${name}"`)
      throw new StrataError('UNDEFINED_TABLE', `table "${name}" does not exist`)
    }
    const rows = table.columns.map((column) => [
      column.name,
      typeLabel(column.type),
      column.notNull ? 'NO' : 'YES',
      (table.primaryKey ?? []).includes(column.name) ? 'PRI' : table.uniques.some((unique) => unique.includes(column.name)) ? 'UNI' : null,
      column.default === undefined ? null : column.default.kind === 'now' ? 'now()' : column.default.value === null ? 'NULL' : String(column.default.value),
      null,
    ])
    const columns = ['column_name', 'column_type', 'null', 'key', 'default', 'extra'].map((column) => ({ name: column, type: 'VARCHAR' }))
    return { rows, columns, rowCount: rows.length, engine: 'catalog' }
  }

  private async explain(session: Session, statement: Statement, body: PgNode, params: readonly unknown[], options: ExecuteOptions): Promise<Positional> {
    const query = body['query'] as PgNode
    const kind = nodeKind(query)
    const lines: string[] = []
    let engine: EngineName = 'row'
    const temporal = kind === 'SelectStmt' ? this.temporalPlan(statement, query) : undefined
    if (temporal !== undefined) {
      const route = this.temporalRoute(session, statement, query, temporal, params.length > 0 ? params : new Array(temporal.slots).fill(null), options)
      engine = route.store
      if (route.store === 'row') {
        lines.push('store: row', `why: ${options.engine === 'row' ? 'forced by the engine option' : 'a lookup by primary key in the history of one table'}`, `sql: ${route.plan.sql}`)
        const plan = this.rowStore.reader.prepareSync(`EXPLAIN QUERY PLAN ${route.plan.sql}`).allSync(this.bind(route.plan.binders, params, route.bounds))
        for (const row of plan) lines.push(`plan: ${String(row[3])}`)
      } else {
        lines.push('store: column', `why: ${route.reason}`)
        await this.syncer.mirrorHistory([...temporal.references.values()].map((reference) => reference.table))
        // route.sql is this EXPLAIN statement's own text with the history tables written in.
        const result = await this.columnQuery(session, route.sql, route.params, options)
        for (const row of result.rows) for (const line of String(row[1]).split('\n')) if (line.trim() !== '') lines.push(`plan: ${line}`)
      }
    } else if (kind === 'SelectStmt') {
      const route = this.route(query)
      const store = options.engine ?? route.store
      if (store !== 'row') rejectFulltextOutsideRowStore(query, route.reason)
      engine = store === 'catalog' ? 'catalog' : store
      lines.push(`store: ${store}`, `why: ${options.engine === undefined ? route.reason : `forced by the engine option (${route.reason})`}`)
      if (store === 'row' && route.plan !== undefined) {
        lines.push(`sql: ${route.plan.sql}`)
        const plan = this.rowStore.reader.prepareSync(`EXPLAIN QUERY PLAN ${route.plan.sql}`).allSync(this.bind(route.plan.binders, params.length > 0 ? params : route.plan.binders.map(() => null)))
        for (const row of plan) lines.push(`plan: ${String(row[3])}`)
      } else {
        const text = deparseStatement(query)
        const result = await this.columnQuery(session, `EXPLAIN ${text}`, params, options)
        for (const row of result.rows) for (const line of String(row[1]).split('\n')) if (line.trim() !== '') lines.push(`plan: ${line}`)
      }
    } else if (kind === 'InsertStmt' || kind === 'UpdateStmt' || kind === 'DeleteStmt') {
      lines.push('store: row', 'why: writes always run on the row store (and reach the column store by CDC)')
    } else {
      lines.push('store: row', 'why: schema changes and transaction control run on the row store')
    }
    const rows = lines.map((line) => [line])
    return { rows, columns: [{ name: 'plan', type: 'VARCHAR' }], rowCount: rows.length, engine }
  }

  // ───────────────────────────── status and lifecycle ─────────────────────────────

  private lagMs(appliedTx: number): number {
    const committed = this.ledger.lastCommitted
    if (appliedTx >= committed.txId) return 0
    const row = this.rowStore.reader.prepareSync('SELECT system_time_us FROM _strata_tx WHERE tx_id = ?', { bigints: true }).allSync([Math.max(appliedTx, 0) + 1])[0]
    if (row === undefined) return 0
    return Math.max(0, Number(this.ledger.nowMicros() - (row[0] as bigint)) / 1000)
  }

  async syncStatus(): Promise<{ lastCommittedTx: number; lastAppliedTx: number; lagTx: number; lagMs: number }> {
    this.checkOpen()
    await this.syncer.columnStore()
    const lastCommittedTx = this.ledger.lastCommitted.txId
    const lastAppliedTx = Math.max(0, this.syncer.lastAppliedTx)
    return { lastCommittedTx, lastAppliedTx, lagTx: Math.max(0, lastCommittedTx - lastAppliedTx), lagMs: this.lagMs(lastAppliedTx) }
  }

  /**
   * A query's rows in batches as the store produces them, so a large result is never held whole (the
   * HTTP API's NDJSON mode). One plain SELECT outside a transaction streams — from a row-store
   * connection of its own, or from a DuckDB result chunk by chunk, under the same routing and freshness
   * rules as `execute`; anything else (writes, several statements, time travel, catalog reads, reads in a
   * transaction) is executed as usual and handed over as one batch. Rows are arrays in column order.
   * Ending the iteration early (break, return) releases the connection.
   */
  async stream(session: Session, sql: string, params: Params, options: ExecuteOptions = {}): Promise<StreamedResult> {
    this.checkOpen()
    if (!parserReady()) await loadParser()
    checkParameters(params)
    const { text, positional } = positionalParameters(sql, params)
    const statements = this.parse(text)
    const single = statements.length === 1 ? statements[0] : undefined
    const tree = single?.tree
    const plain = single !== undefined && tree !== undefined && nodeKind(tree) === 'SelectStmt' && !session.inTransaction && this.temporalPlan(single) === undefined
    const route = plain ? this.route(tree) : undefined
    if (route === undefined || route.store === 'catalog' || (options.engine === 'row' && route.store !== 'row')) {
      const results = await this.execute(session, sql, params, { ...options, rowMode: 'array' })
      const last = results[results.length - 1]!
      const rows = last.rows
      return { columns: last.columns, engine: last.engine, txId: last.txId, batches: (async function* () { yield rows })() }
    }
    const batchRows = limits.streamBatchRows
    if (route.store === 'row' && options.engine !== 'column') {
      const plan = route.plan!
      // A connection of its own: an open iterator keeps its connection busy.
      const connection = this.rowStore.connectReaderSync()
      let iterator: IterableIterator<RowValue[]>
      try {
        iterator = connection.prepareSync(plan.sql, { bigints: readsIntegersAsBigints(plan.output.map((column) => column.type)) }).iterateSync(this.bind(plan.binders, positional))
      } catch (error) {
        connection.closeSync()
        throw error instanceof StrataError ? error.withStatement(single!.text) : error
      }
      const output = plan.output
      const signal = options.signal
      async function* batches(): AsyncGenerator<unknown[][]> {
        try {
          let batch: unknown[][] = []
          for (const row of iterator) {
            batch.push(row.map((value, index) => fromStorage(value, output[index]!.type)))
            if (batch.length >= batchRows) {
              if (signal?.aborted === true) throw new StrataError('ABORTED', 'the streamed read was aborted')
              yield batch
              batch = []
            }
          }
          if (batch.length > 0) yield batch
        } finally {
          iterator.return?.()
          connection.closeSync()
        }
      }
      return { columns: this.nullableColumns(tree!, output.map(outputColumn)), engine: 'row', batches: batches() }
    }
    rejectFulltextOutsideRowStore(tree!, options.engine === 'column' ? 'the engine option asks for it' : route.reason)
    const { duck, release } = await this.freshColumnSession(options)
    let streamed
    try {
      const column = this.columnSelect(single!, positional)
      streamed = await duck.stream(column.sql, column.params.length === 0 ? undefined : column.params)
    } catch (error) {
      release()
      throw error instanceof StrataError ? error.withStatement(single!.text) : error
    }
    const chunks = streamed.chunks
    async function* batches(): AsyncGenerator<unknown[][]> {
      try {
        for await (const chunk of chunks) yield chunk
      } finally {
        release()
      }
    }
    return { columns: this.nullableColumns(tree!, streamed.columns), engine: 'column', batches: batches() }
  }

  /** Runs SQL on the column store, fresh, and hands back DuckDB's raw result (used by Arrow export, import). */
  async columnStoreQuery(session: Session, sql: string, params: readonly unknown[] | Readonly<Record<string, unknown>> | undefined, options: ExecuteOptions): Promise<Tabular> {
    this.checkOpen()
    return this.columnQuery(session, sql, params ?? [], options)
  }

  /**
   * Inserts rows into `table` as one commit (db.insert, file import): the fast path — one SQLite
   * transaction, a prepared multi-row INSERT, history by the usual triggers (src/engine/bulk.ts).
   * The table must exist, unless `createTable` (file import only) asks to create it from `columns`.
   *
   * @example
   * await engine.bulkInsert('t', [{ name: 'id' }, { name: 'v' }], [[1, 2.5]], {})
   */
  async bulkInsert(table: string, columns: readonly { readonly name: string; readonly type?: string }[], rows: readonly (readonly unknown[])[], options: BulkInsertOptions = {}): Promise<{ txId: number | undefined; rowCount: number }> {
    this.checkOpen()
    const existing = this.catalog.tables.get(table)
    if (existing === undefined && options.createTable !== true) {
      throw new StrataError('UNDEFINED_TABLE', this.catalog.views.has(table) ? `"${table}" is a view; views cannot be written` : `table "${table}" does not exist`)
    }
    const names = columns.map((column) => column.name)
    if (existing !== undefined && (existing.futureValidTime === true || names.some((name) => validTimeColumns.has(name)))) {
      // Valid-time rows go through the temporal writer: as INSERT statements, still one commit.
      const items = rows.map((row) => {
        const given = names.flatMap((name, index) => (row[index] === undefined ? [] : [{ name, value: row[index] }]))
        const sql = `INSERT INTO ${quoteIdentifier(table)} (${given.map((column) => quoteIdentifier(column.name)).join(', ')}) VALUES (${given.map((_, index) => `$${index + 1}`).join(', ')})`
        return { sql, params: given.map((column) => column.value) }
      })
      return runWriteBatch(this.batchRunner(), items, { signal: options.signal, what: 'insert row' })
    }
    const result = await this.write(this.newSession(), { signal: options.signal }, async (active) => {
      const pending = this.ledger.pendingCommit!
      let definition = this.catalog.tables.get(table)
      if (definition === undefined) {
        checkUserName(table, 'table')
        definition = {
          name: table,
          columns: columns.map((column) => ({ name: column.name, type: typeFromLabel(column.type ?? 'VARCHAR'), notNull: false, default: undefined })),
          primaryKey: null,
          uniques: [],
          checks: [],
          schemaTx: pending.txId,
        }
        this.createTableSync(active, definition)
      }
      const count = insertRowsSync(
        { writer: this.rowStore.writer, table: definition, now: (type) => toStorage(new Date(Number(this.ledger.nowMicros() / 1000n)), type) },
        { columns: names, rows },
        { onProgress: options.onProgress, signal: options.signal },
      )
      return { rows: [], columns: [], rowCount: count, engine: 'row' }
    })
    return { txId: result.txId, rowCount: result.rowCount }
  }

  /**
   * Loads a CSV, Parquet or JSON file (by extension, read by DuckDB's readers) into `table` as one
   * commit, creating the table from the file's columns when it does not exist.
   *
   * @example
   * await engine.importFile('/tmp/people.csv', { table: 'people' })  // { txId: 4, rowCount: 3 }
   */
  async importFile(file: string, options: { readonly table: string } & Pick<BulkInsertOptions, 'onProgress' | 'signal'>): Promise<{ txId: number | undefined; rowCount: number }> {
    this.checkOpen()
    const result = await this.columnStoreQuery(this.newSession(), `SELECT * FROM ${fileReaderSql(file)}`, [file], { signal: options.signal })
    return this.bulkInsert(options.table, result.columns, result.rows, { createTable: true, onProgress: options.onProgress, signal: options.signal })
  }

  /**
   * Writes a table's current state to a .parquet, .csv or .json file (by extension); returns the rows written.
   *
   * @example
   * await engine.exportTable('/tmp/people.parquet', { table: 'people' })  // { rowCount: 3 }
   */
  async exportTable(file: string, options: { readonly table: string; readonly signal?: AbortSignal | undefined }): Promise<{ readonly rowCount: number }> {
    this.checkOpen()
    if (!this.catalog.tables.has(options.table)) throw new StrataError('UNDEFINED_TABLE', `table "${options.table}" does not exist`)
    const result = await this.columnStoreQuery(this.newSession(), exportCopySql(options.table, file), undefined, { signal: options.signal })
    return { rowCount: Number(result.rows[0]?.[0] ?? 0) }
  }

  /**
   * Runs statements as one transaction with one commit (db.writeBatch): all or nothing; an error names
   * the failing item.
   *
   * @example
   * await engine.writeBatch(['INSERT INTO t VALUES (1)', { sql: 'DELETE FROM t WHERE id = $1', params: [2] }], {})
   */
  async writeBatch(items: readonly BatchItem[], options: { readonly signal?: AbortSignal | undefined } = {}): Promise<{ txId: number | undefined; rowCount: number }> {
    this.checkOpen()
    return runWriteBatch(this.batchRunner(), items, options)
  }

  private batchRunner(): BatchRunner {
    return {
      newSession: () => this.newSession(),
      execute: (session, sql, params, options) => this.execute(session, sql, params, options),
      abortSession: (session) => this.abortSession(session),
      statementKinds: (sql, params) => {
        const text = params !== undefined && !Array.isArray(params) ? positionalizeNamedParameters(sql).sql : sql
        return this.parse(text).map((statement) => (statement.tree === undefined ? 'unknown' : nodeKind(statement.tree) ?? 'unknown'))
      },
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new StrataError('CLOSED', 'the database is closed')
  }

  get isClosed(): boolean {
    return this.closed
  }

  async close(): Promise<void> {
    if (this.closing !== undefined) return this.closing
    this.closed = true
    this.feeds?.closeAll()
    this.closing = (async () => {
      if (this.mirrorStartTimer !== undefined) clearTimeout(this.mirrorStartTimer)
      await this.abortSession(this.defaultSession).catch(() => undefined)
      await this.syncer.close()
      this.rowStore.closeSync()
      // Last: another process may open the directory once both stores are closed.
      this.directoryLock?.releaseSync()
      if (this.temporaryDirectory !== undefined) rmSync(this.temporaryDirectory, { recursive: true, force: true })
    })()
    return this.closing
  }
}

function outputColumn(column: OutputColumn): { name: string; type: string } {
  return { name: column.name, type: column.label ?? typeLabel(column.type) }
}

/** Row-store rows (storage values) → SPEC 3 values, in place: the arrays are the statement's own. */
function shapeRows(output: readonly OutputColumn[], rows: RowValue[][]): { rows: unknown[][]; columns: readonly { name: string; type: string }[]; rowCount: number } {
  const shape = outputShape(output)
  return { rows: convertRows(shape, rows), columns: shape.columns, rowCount: rows.length }
}

/**
 * A data directory written before DECIMAL was exact keeps it as REAL (a double) in SQLite, which this
 * engine would read as a scaled integer: refuse it with a clear error rather than return wrong values.
 * Only tables with a DECIMAL column are looked at (one PRAGMA each).
 */
function checkDecimalStorageSync(writer: RowConnection, catalog: Catalog): void {
  for (const table of catalog.tables.values()) {
    const decimals = table.columns.filter((column) => column.type.name === 'DECIMAL')
    if (decimals.length === 0) continue
    const declared = new Map(writer.prepareSync(`SELECT name, type FROM pragma_table_info(?)`).allSync([table.name]).map((row) => [String(row[0]), String(row[1]).toUpperCase()]))
    for (const column of decimals) {
      if (declared.get(column.name) !== sqliteStorage(column.type)) {
        throw new StrataError('NOT_SUPPORTED', `table "${table.name}" keeps its DECIMAL column "${column.name}" as a double (written by an earlier Strata, before DECIMAL was exact); export it with that version and import it into a new data directory`)
      }
    }
  }
}

/** The highest `$n` a statement's tree uses, per tree (trees are cached with their text). */
const parameterCounts = new WeakMap<PgNode, number>()

/**
 * More parameters than the statement uses is INVALID_PARAMETER, as DuckDB and PostgreSQL say ("bind
 * message supplies 2 parameters, but prepared statement requires 1"); the row store would ignore the
 * extra ones. A statement with time clauses binds only the parameters it uses by design (compactParameters),
 * and one without a PostgreSQL tree is DuckDB's to check.
 */
function checkParameterCount(statement: Statement, given: number): void {
  const tree = statement.tree
  if (tree === undefined || statement.temporal !== undefined) return
  let used = parameterCounts.get(tree)
  if (used === undefined) {
    let highest = 0
    walk(tree, (kind, body) => {
      if (kind === 'ParamRef' && typeof body['number'] === 'number') highest = Math.max(highest, body['number'])
    })
    used = highest
    parameterCounts.set(tree, used)
  }
  if (given > used) throw new StrataError('INVALID_PARAMETER', `${given} parameters given for a statement that uses ${used}`)
}

const bigintRows = Object.freeze({ bigints: true })
const numberRows = Object.freeze({ bigints: false })

/** What a plan's output needs, worked out once per (cached, immutable) output list. */
interface OutputShape {
  readonly output: readonly OutputColumn[]
  readonly columns: readonly { name: string; type: string }[]
  /** A BIGINT column: SQLite hands back every integer as a bigint. */
  readonly bigints: boolean
  /** The columns whose storage values fromStorage may change: all of them when integers come back as bigints, else only the types it converts. */
  readonly converted: readonly number[]
}

/** Types whose storage value fromStorage returns unchanged when it is not a bigint (src/sql/types.ts). */
const unconvertedTypes: ReadonlySet<TypeName> = new Set<TypeName>(['SMALLINT', 'INTEGER', 'BIGINT', 'DOUBLE', 'VARCHAR', 'BLOB', 'DATE'])

function outputShape(output: readonly OutputColumn[]): OutputShape {
  let shape = outputShapes.get(output)
  if (shape === undefined) {
    const bigints = readsIntegersAsBigints(output.map((column) => column.type))
    const converted: number[] = []
    output.forEach((column, index) => {
      if (bigints || !unconvertedTypes.has(column.type.name)) converted.push(index)
    })
    shape = { output, columns: resultColumns(output), bigints, converted }
    outputShapes.set(output, shape)
  }
  return shape
}

const outputShapes = new WeakMap<readonly OutputColumn[], OutputShape>()

function convertRows(shape: OutputShape, rows: RowValue[][]): unknown[][] {
  const converted = shape.converted
  if (converted.length === 0) return rows as unknown[][]
  const output = shape.output
  for (let index = 0; index < rows.length; index++) {
    const row = rows[index]! as unknown[]
    for (const column of converted) row[column] = fromStorage(row[column], output[column]!.type)
  }
  return rows as unknown[][]
}

/** A plan's result columns, made once per plan (plans are cached; the PostgreSQL server caches what it derives from them). */
function resultColumns(output: readonly OutputColumn[]): readonly { name: string; type: string }[] {
  let columns = resultColumnsByOutput.get(output)
  if (columns === undefined) {
    columns = Object.freeze(output.map((column) => Object.freeze(outputColumn(column))))
    resultColumnsByOutput.set(output, columns)
  }
  return columns
}

const resultColumnsByOutput = new WeakMap<readonly OutputColumn[], readonly { name: string; type: string }[]>()

function shapeTabular(result: Tabular): { rows: unknown[][]; columns: readonly { name: string; type: string }[]; rowCount: number } {
  return { rows: result.rows, columns: result.columns, rowCount: result.rows.length }
}

const noOptions: ExecuteOptions = Object.freeze({})
const noParams: readonly unknown[] = Object.freeze([])

/**
 * The keywords a statement starts with (`CREATE FUNCTION`, `TRUNCATE`), for messages that name it
 * as its author wrote it rather than by its parse-tree node.
 */
function leadingKeywords(text: string): string {
  const words: string[] = []
  try {
    for (const token of scanTokens(text)) {
      if (token.tokenName === 'SQL_COMMENT' || token.tokenName === 'C_COMMENT') continue
      if (token.keywordName === 'NO_KEYWORD' || words.length === 4) break
      words.push(token.text.toUpperCase())
    }
  } catch {
    // Not scannable: the generic name below.
  }
  return words.length === 0 ? 'this statement' : words.join(' ')
}

/** `AddConstraint` → `ADD CONSTRAINT`: a parse-tree enum's name as the SQL words it stands for. */
function sqlWords(name: string): string {
  let out = ''
  for (const character of name) out += character >= 'A' && character <= 'Z' && out !== '' ? ` ${character}` : character
  return out.toUpperCase()
}

/** The result of a text that must hold exactly one statement (`executeSingle`). */
function onlyResult(results: readonly StatementResult[], sql: string): StatementResult {
  const last = results[results.length - 1]
  // No statement (empty, only ';' or comments): an empty result, as PostgreSQL answers an empty query.
  if (last === undefined) return { rows: [], columns: [], rowCount: 0, engine: 'row', durationMs: 0 }
  if (results.length > 1) throw new StrataError('INVALID_PARAMETER', `query() runs one statement; this text has ${results.length} (use exec())`, { statement: sql })
  return last
}

/** A statement's error as the caller sees it: with the statement's text, NotRowStore as NOT_SUPPORTED. */
function statementError(error: unknown, statement: Statement): unknown {
  if (error instanceof StrataError) return error.withStatement(statement.written ?? statement.text)
  if (error instanceof NotRowStore) return new StrataError('NOT_SUPPORTED', error.message, { statement: statement.written ?? statement.text, cause: error })
  return error
}

/** A statement's result with its duration, rows as objects or arrays; the same keys in the same order as `{ ...result, durationMs }`. */
function finishedResult(result: Positional, durationMs: number, rowMode: 'object' | 'array'): StatementResult | ArrayStatementResult {
  const rows = rowMode === 'array' ? result.rows : keyedRows(result.columns, result.rows)
  if (result.txId === undefined) return { rows, columns: result.columns, rowCount: result.rowCount, engine: result.engine, durationMs } as StatementResult | ArrayStatementResult
  return { rows, columns: result.columns, rowCount: result.rowCount, engine: result.engine, txId: result.txId, durationMs } as StatementResult | ArrayStatementResult
}

/** Positional rows → objects keyed by column name (SPEC 3's rows); of two columns with one name, the later wins. */
function keyedRows(columns: readonly { readonly name: string }[], rows: readonly unknown[][]): Record<string, unknown>[] {
  const keyed: Record<string, unknown>[] = new Array(rows.length)
  for (let index = 0; index < rows.length; index++) {
    const row = rows[index]!
    const record: Record<string, unknown> = {}
    for (let column = 0; column < columns.length; column++) record[columns[column]!.name] = row[column]
    keyed[index] = record
  }
  return keyed
}

/** A parameter bound where no column type is known: numbers, strings, bytes as they are. */
function plainValue(value: unknown): RowValue {
  if (value === null || value === undefined) return null
  if (typeof value === 'boolean') return value ? 1 : 0
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'string' || value instanceof Uint8Array) return value
  if (value instanceof Date) return Number(dateMicros(value))
  return JSON.stringify(value)
}

function constantNode(value: null | number | string | boolean): PgNode {
  if (value === null) return { isnull: true }
  if (typeof value === 'boolean') return { boolval: { boolval: value } }
  if (typeof value === 'number') return Number.isInteger(value) ? { ival: { ival: value } } : { fval: { fval: String(value) } }
  return { sval: { sval: value } }
}

/** Names the analytical construct that sent a query to the column store (EXPLAIN prints it). */
function analyticalReason(select: PgNode, construct: string): string {
  const reasons: string[] = []
  if (list(select['groupClause']).length > 0) reasons.push('GROUP BY')
  if (select['havingClause'] !== undefined) reasons.push('HAVING')
  if (select['withClause'] !== undefined) reasons.push('a CTE')
  if (select['op'] !== undefined && select['op'] !== 'SETOP_NONE') reasons.push('a set operation')
  let aggregate = false
  let window = false
  let subquery = false
  walk(select, (kind, body) => {
    if (kind === 'FuncCall') {
      if (body['over'] !== undefined) window = true
      else if (aggregateFunctionNames.has(names(body['funcname']).join('.').toLowerCase())) aggregate = true
    }
    if (kind === 'SubLink' || kind === 'RangeSubselect') subquery = true
  })
  if (aggregate) reasons.push('an aggregate')
  if (window) reasons.push('a window function')
  if (subquery) reasons.push('a subquery')
  if (list(select['fromClause']).length > 1 || list(select['fromClause']).some((item) => nodeKind(item) === 'JoinExpr')) reasons.push('a join')
  if (reasons.length === 0) return `not expressible in the row store (${construct})`
  return `analytical: ${reasons.join(', ')}`
}


/** `$name` parameters become `$1…$n` with their values in order (SPEC 3); an array is already positional. */
function positionalParameters(sql: string, params: Params): { text: string; positional: readonly unknown[] } {
  if (params === undefined || Array.isArray(params)) return { text: sql, positional: (params as readonly unknown[] | undefined) ?? [] }
  const rewritten = positionalizeNamedParameters(sql)
  const named = params as Readonly<Record<string, unknown>>
  for (const name of rewritten.names) {
    if (!(name in named)) throw new StrataError('INVALID_PARAMETER', `no value for parameter $${name}`)
  }
  return { text: rewritten.sql, positional: rewritten.names.map((name) => named[name]) }
}

/** Hands each statement the temporal clauses that lie inside it (locations of the cleaned text). */
function attachTemporal(statements: ParsedStatement[], extraction: Extraction): Statement[] {
  const starts = statements.map((statement) => {
    const rest = extraction.text.slice(statement.offset)
    return statement.offset + (rest.length - rest.trimStart().length)
  })
  // A clause belongs to the last statement starting at or before it (a cut may sit after the trimmed text).
  const owner = (location: number): number => {
    let found = -1
    for (let index = 0; index < starts.length; index++) if (starts[index]! <= location) found = index
    return found
  }
  return statements.map((statement, index) => {
    const start = starts[index]!
    const inside = (location: number): boolean => owner(location) === index
    const toTree = (location: number): number => location - start + statement.locationBase
    const tableClauses = new Map<number, TemporalSpec>()
    for (const [location, spec] of extraction.tableClauses) if (inside(location)) tableClauses.set(toTree(location), spec)
    const shorthands = extraction.shorthands.filter((item) => inside(item.location))
    const portions = extraction.portions.filter((item) => inside(item.location))
    const erase = extraction.erasures.some(inside)
    const replace = extraction.replacements.some(inside)
    if (tableClauses.size === 0 && shorthands.length === 0 && portions.length === 0 && !erase && !replace) return statement
    if (shorthands.length > 1) throw new StrataError('SYNTAX_ERROR', 'AS OF is given twice in one statement', { statement: statement.text })
    if (portions.length > 1) throw new StrataError('SYNTAX_ERROR', 'FOR PORTION OF is given twice in one statement', { statement: statement.text })
    const portion = portions[0]
    // A clause cut at the very end lies past the trimmed text: the written text reaches past it.
    const end = Math.max(start + statement.text.length, ...extraction.cutEnds.filter(inside))
    return { ...statement, written: extraction.originalText(start, end).trim(), temporal: { tableClauses, shorthand: shorthands[0]?.spec, portion: portion === undefined ? undefined : { from: portion.from, to: portion.to }, erase, replace } }
  })
}
