/**
 * The engine's front door and dispatcher. `Engine` opens a data directory (the lock, the row store,
 * the ledger, the sync, the subsystems), takes each call, parses its text once (statements.ts),
 * and hands every statement to the module of its family:
 *
 * - SELECT → reads.ts (routing, row-store reads; column-store reads and freshness in column-reads.ts)
 * - INSERT, UPDATE, DELETE → writes.ts, inside the write path of transactions.ts
 * - BEGIN, COMMIT, ROLLBACK, SAVEPOINT, SET TRANSACTION → transactions.ts
 * - CREATE, DROP, ALTER, CREATE INDEX, CREATE VIEW → ddl.ts, inside the write path
 * - SHOW, DESCRIBE, EXPLAIN → introspection.ts
 * - db.insert, import, export, writeBatch → bulk.ts
 *
 * A statement a subsystem owns or claims (time travel, full-text search: src/subsystems/) is run by
 * it through the seam, src/subsystems/seam.ts. The interfaces above only call the methods here.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { lockDirectory, readDirectoryHolderSync, type DirectoryHolder, type DirectoryLock } from '../storage/rowstore/directory-lock.js'
import type { Clock, Commit } from '../ledger/ledger.js'
import { isInternalTable, type Catalog } from '../sql/catalog.js'
import { recogniseCreateTableAs } from '../sql/create-table-as.js'
import { leadingKeywords } from '../sql/naming.js'
import { mainBranch } from '../sql/branches.js'
import { loadParser, parserReady, type ParsedStatement, type PgNode, type TokenSource } from '../sql/parse.js'
import { isParserUnavailable } from '../sql/wasm.js'
import { nodeBody, nodeKind } from '../sql/tree.js'
import type { MetricFamily, Statement } from '../subsystems/seam.js'
import { StrataError } from '../util/errors.js'
import { limits } from '../util/limits.js'
import { ChangeFeeds, saveCursorSync, type ChangeSubscription, type FeedPosition, type SubscribeOptions } from '../feed/feed.js'
import { Bulk, type BatchItem, type BulkInsertOptions } from './bulk.js'
import { ColumnReads } from './column-reads.js'
import { openContext, type EngineContext } from './context.js'
import { Ddl } from './ddl.js'
import { Introspection } from './introspection.js'
import { checkRowCounts, checkParameters, rowCountParameters } from './parameters.js'
import { Reads } from './reads.js'
import { finishedResult, noOptions, noRows, type ArrayStatementResult, type ExecuteOptions, type Positional, type StatementResult, type StreamedResult, type Tabular } from './rows.js'
import { Session } from './session.js'
import { Snapshots } from './snapshots.js'
import { statementError, Statements, type Params } from './statements.js'
import { StatementStore } from './statement-store.js'
import { conflictAgain, Transactions } from './transactions.js'
import { Writes } from './writes.js'

export type { ArrayStatementResult, EngineName, ExecuteOptions, ResultColumn, StatementResult, StreamedResult } from './rows.js'
export type { BulkInsertOptions } from './bulk.js'

export interface EngineOptions {
  readonly clock?: Clock | undefined
  readonly durability?: 'full' | 'normal' | undefined
  /** Plain row reads' plan templates per fingerprint (src/sql/fingerprint.ts); on unless false (tests compare with them off). */
  readonly planTemplates?: boolean | undefined
}

/** The statement a subsystem's work before a commit runs as (Subsystem.beforeCommit). */
const commitStatement: Statement = Object.freeze({ text: 'COMMIT', offset: 0, locationBase: 0, tree: undefined, parseError: undefined, tokens: () => [] })

export class Engine {
  private readonly context: EngineContext
  private readonly statements: Statements
  private readonly reads: Reads
  private readonly writes: Writes
  private readonly transactions: Transactions
  private readonly snapshots: Snapshots
  private readonly ddl: Ddl
  private readonly introspection: Introspection
  private readonly bulk: Bulk
  private readonly rowCountParameterUses = new WeakMap<PgNode, ReturnType<typeof rowCountParameters>>()
  private readonly defaultSession = new Session()
  private closed = false
  private readonly commitListeners = new Set<(commit: Commit) => void>()
  private closing: Promise<void> | undefined
  private readonly temporaryDirectory: string | undefined
  private mirrorStartTimer: NodeJS.Timeout | undefined
  /** Change feeds (src/feed/), created with the first subscribe. */
  private feeds: ChangeFeeds | undefined
  /** The data directory's lock (src/storage/rowstore/directory-lock.ts); none for ':memory:'. */
  private readonly directoryLock: DirectoryLock | undefined

  private constructor(readonly path: string, directory: string, temporary: boolean, options: EngineOptions, directoryLock: DirectoryLock | undefined) {
    this.temporaryDirectory = temporary ? directory : undefined
    this.directoryLock = directoryLock
    this.context = openContext(directory, temporary ? 'off' : options.durability ?? 'full', options.clock)
    const subsystems = this.context.subsystems
    this.statements = new Statements(subsystems.clauses, temporary ? undefined : new StatementStore(this.context.rowStore.reader, this.context.rowStore.writer))
    const columns = new ColumnReads(this.context)
    this.snapshots = new Snapshots(this.context)
    this.reads = new Reads(this.context, columns, options.planTemplates !== false)
    this.transactions = new Transactions(
      this.context,
      columns,
      (commit) => {
        subsystems.afterCommit(commit)
        for (const listener of this.commitListeners) listener(commit)
      },
      // The work stands where a statement would: the commit, with no tree.
      (session) => subsystems.beforeCommit(() => this.reads.call(session, commitStatement, [], {}, true)),
      (session, bound) => this.snapshots.changedTable(session, bound),
    )
    this.writes = new Writes(this.context, this.reads)
    this.reads.runWrite = (session, kind, body, params, options, statement) => this.writes.run(session, kind, body, params, options, statement)
    this.ddl = new Ddl(this.context, this.reads)
    this.introspection = new Introspection(this.context, this.reads)
    this.bulk = new Bulk(
      this.context,
      this.transactions,
      this.ddl,
      {
        newSession: () => this.newSession(),
        execute: (session, sql, params, executeOptions) => this.execute(session, sql, params, executeOptions),
        abortSession: (session) => this.abortSession(session),
        statementKinds: (sql, params) => {
          const text = params !== undefined && !Array.isArray(params) ? this.statements.positionalized(sql).sql : sql
          return this.statements.parse(text).map((statement) => (statement.tree === undefined ? 'unknown' : nodeKind(statement.tree) ?? 'unknown'))
        },
      },
      (sql, params, signal) => this.columnStoreQuery(this.newSession(), sql, params, { signal }),
    )
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
    // The parser's instance (started when src/sql/wasm.ts was loaded; its WebAssembly compiles off
    // this thread) goes on loading after open resolves: a statement waits for it only when it was not
    // parsed by an earlier process (src/engine/statement-store.ts). A failure to load is the error of
    // the first statement that needs the parser; marked handled here, never reported as unhandled.
    loadParser().catch(() => undefined)
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
    engine.mirrorStartTimer = setTimeout(() => engine.context.syncer.wake(), limits.mirrorStartDelayMs)
    engine.mirrorStartTimer.unref()
    engine.context.subsystemCalls.run = (name, args) => engine.callSubsystem(name, args)
    engine.context.subsystems.onOpen()
    return engine
  }

  get session(): Session {
    return this.defaultSession
  }

  /** Whether a text with positional (or no) parameters can run before the parser has loaded: a plain read it has a parse of. */
  private knownText(sql: string, params: Params): boolean {
    return (params === undefined || Array.isArray(params)) && this.statements.knowsRead(sql)
  }

  /**
   * Runs a statement stored by an earlier process (a read: src/engine/statement-store.ts) before the
   * parser has loaded. If a step needs the parser after all (a query the column store answers from a
   * printed tree), it fails having changed nothing, and runs again once the parser is there.
   */
  private beforeParser<T>(run: () => Promise<T>): Promise<T> {
    return run().catch((error: unknown) => {
      if (!isParserUnavailable(error)) throw error
      return loadParser().then(run)
    })
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
    return [...this.context.schema.catalog.tables.keys()].filter((name) => !isInternalTable(name)).sort()
  }

  /** The catalog as immutable data (a new object after every schema change); the PostgreSQL server builds pg_catalog from it. */
  get catalogSnapshot(): Catalog {
    return this.context.schema.catalog
  }

  /**
   * A change feed over the history (SPEC 7; the reading is src/feed/feed.ts).
   *
   * @example
   * const feed = engine.subscribe({ tables: ['orders'], cursor: 'billing' })
   */
  subscribe(options: SubscribeOptions = {}): ChangeSubscription {
    this.checkOpen()
    const { rowStore, schema, ledger } = this.context
    this.feeds ??= new ChangeFeeds({
      connectReaderSync: () => rowStore.connectReaderSync(),
      table: (name) => schema.catalog.tables.get(name),
      isView: (name) => schema.catalog.views.has(name),
      tableNames: () => this.tableNames(),
      lastCommittedTx: () => ledger.lastCommitted.txId,
      writeInProgress: () => ledger.pendingCommit !== undefined,
      onCommit: (listener) => this.onCommit(listener),
      saveCursor: (name, position, saveOptions) => this.saveFeedCursor(name, position, saveOptions),
    })
    return this.feeds.subscribe(options)
  }

  /** A feed cursor's position: written on the writer under the writer lock, and not a ledger transaction. */
  private async saveFeedCursor(name: string, position: FeedPosition, options: { readonly createOnly: boolean }): Promise<void> {
    this.checkOpen()
    const release = await this.context.writerLock.acquire(limits.writerLockWaitMs, 'LOCK_TIMEOUT', 'the writer lock')
    try {
      this.checkOpen()
      // Autocommit transactions waiting for their group's COMMIT are made durable first: the cursor's write is its own.
      this.transactions.commitGroupSync()
      saveCursorSync(this.context.rowStore.writer, name, position, options)
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
    return this.executeText(session, sql, params, options, undefined)
  }

  /** `execute`, with the text's token source when the caller has one (a statement the PostgreSQL server split). */
  private executeText(session: Session, sql: string, params: Params, options: ExecuteOptions, tokens: TokenSource | undefined): Promise<(StatementResult | ArrayStatementResult)[]> {
    if (!parserReady()) {
      if (!this.knownText(sql, params)) return loadParser().then(() => this.executeText(session, sql, params, options, tokens))
      return this.beforeParser(() => this.executeParsedText(session, sql, params, options, tokens))
    }
    return this.executeParsedText(session, sql, params, options, tokens)
  }

  private executeParsedText(session: Session, sql: string, params: Params, options: ExecuteOptions, tokens: TokenSource | undefined): Promise<(StatementResult | ArrayStatementResult)[]> {
    try {
      const { statements, positional } = this.callStatements(sql, params, options, tokens)
      return this.runStatements(session, statements, positional, options, options.rowMode ?? 'object')
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /**
   * Runs one statement the caller already split and parsed with `parseStatements` (the PostgreSQL
   * server does, to learn each statement's kind): the same as `execute(session, statement.text,
   * params, { ...options, rowMode: 'array' })` without parsing or scanning the text a second time. A
   * statement PostgreSQL's grammar rejected, or whose text holds clauses a subsystem cuts out (time
   * clauses, cut out before the grammar may see them), goes through `execute`'s own parse, with the
   * statement's tokens (no second scan).
   *
   * @example
   * const [statement] = parseStatements('SELECT 1 AS a, 2 AS a')
   * const [result] = await engine.executeParsed(session, statement!, [], {}) // rows [[1, 2]]
   */
  executeParsed(session: Session, statement: ParsedStatement, params: readonly unknown[], options: ExecuteOptions = {}): Promise<ArrayStatementResult[]> {
    try {
      const results = this.executeParsedNow(session, statement, params, options)
      return results instanceof Promise ? results : Promise.resolve(results)
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /**
   * `executeParsed` without a promise when the statement completes synchronously (a row-store read,
   * a write that found the writer lock free, outside a transaction): the PostgreSQL server's hot path.
   * The same work in the same order; an error of a synchronous run is thrown, not a rejection.
   *
   * @example
   * const outcome = engine.executeParsedNow(session, statement, [42], {})
   * const [result] = outcome instanceof Promise ? await outcome : outcome
   */
  executeParsedNow(session: Session, statement: ParsedStatement, params: readonly unknown[], options: ExecuteOptions = {}): ArrayStatementResult[] | Promise<ArrayStatementResult[]> {
    if (!parserReady()) return loadParser().then(() => this.executeParsed(session, statement, params, options))
    const tree = statement.tree
    if (tree === undefined || !this.statements.clauseFree(tree, statement.text, statement.tokens)) {
      return this.executeText(session, statement.text, params, { ...options, rowMode: 'array' }, statement.tokens) as Promise<ArrayStatementResult[]>
    }
    this.checkOpen()
    if (options.signal?.aborted === true) throw new StrataError('ABORTED', 'the statement was aborted before it started')
    if (session.inTransaction) return this.runStatementsInOrder(session, [statement], params, options, 'array') as Promise<ArrayStatementResult[]>
    const outcome = this.runAlone(session, statement, params, options, 'array') as ArrayStatementResult | Promise<ArrayStatementResult>
    return outcome instanceof Promise ? outcome.then((result) => [result]) : [outcome]
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
    if (!parserReady()) {
      if (!this.knownText(sql, params)) return loadParser().then(() => this.executeSingle(session, sql, params, options))
      return this.beforeParser(() => this.executeSingleParsed(session, sql, params, options))
    }
    return this.executeSingleParsed(session, sql, params, options)
  }

  private executeSingleParsed(session: Session, sql: string, params: Params, options: ExecuteOptions): Promise<StatementResult> {
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

  /** What `execute` and `executeSingle` start with: the checks, then the statements and their `$n` parameters. */
  private callStatements(sql: string, params: Params, options: ExecuteOptions, tokens?: TokenSource): { readonly statements: Statement[]; readonly positional: readonly unknown[] } {
    this.checkOpen()
    if (options.signal?.aborted === true) throw new StrataError('ABORTED', 'the statement was aborted before it started')
    checkParameters(params)
    return this.statements.prepare(sql, params, tokens)
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
      // Between its statements a transaction that holds the writer lock gives it up to a writer waiting for it.
      if (session.explicit) this.transactions.idle(session)
    }
    return results
  }

  /**
   * The dispatcher: hands one statement to its family (or to the subsystem that owns or claims it).
   * Synchronous where the statement's work is (a row-store read, a write that found the writer lock
   * free); callers treat a throw like a rejection.
   */
  private executeOne(session: Session, statement: Statement, params: readonly unknown[], options: ExecuteOptions): Positional | Promise<Positional> {
    const tree = statement.tree
    const branch = options.branch ?? session.branch
    if (branch !== session.branch && session.inTransaction) throw new StrataError('TX_STATE', `a transaction runs on one branch: this one is on "${session.branch}", the statement asks for "${branch}"`)
    // On a branch other than main, the branch goes with the options: an autocommit write runs in a private session.
    if (branch !== mainBranch && options.branch === undefined) options = { ...options, branch }
    if (tree === undefined) {
      // A statement of a subsystem's own (FROM t AT (BRANCH => 'b')) reads the snapshot through StatementCall.snapshotTx.
      if (session.explicit && !session.writing) this.snapshots.fix(session)
      return this.executeUnparsed(session, statement, params, options)
    }
    // A transaction that met a conflict can only end: every other statement says so again.
    if (session.conflict !== undefined && !endsTransaction(tree)) throw conflictAgain(session.conflict)
    // A transaction that parked its writes takes them back first (COMMIT does that itself; ROLLBACK drops them).
    if (session.parked !== undefined && !endsTransaction(tree)) return this.transactions.resume(session, options).then(() => this.executeOne(session, statement, params, options))
    // An explicit transaction reads its snapshot (./snapshots.ts) until its first write.
    if (session.explicit) {
      const atSnapshot = this.snapshots.before(session, statement, tree)
      if (atSnapshot !== statement) return this.executeOne(session, atSnapshot, params, options)
      if (!session.writing && statement.clauses === undefined && nodeKind(tree) === 'SelectStmt') return this.readingSnapshot(session, statement, tree, params, options)
    }
    return this.dispatch(session, statement, tree, params, options)
  }

  /**
   * A SELECT of a transaction before its first write that read the latest state, which was its
   * snapshot's when it began: a column-store read that a commit overtook meanwhile is read again at
   * the snapshot (the mirror may have applied that commit before DuckDB ran the query).
   */
  private readingSnapshot(session: Session, statement: Statement, tree: PgNode, params: readonly unknown[], options: ExecuteOptions): Positional | Promise<Positional> {
    const outcome = this.dispatch(session, statement, tree, params, options)
    if (!(outcome instanceof Promise)) return outcome
    return outcome.then((result) => {
      const past = this.snapshots.overtaken(session, statement, tree)
      return past === undefined ? result : this.dispatch(session, past, past.tree!, params, options)
    })
  }

  /** executeOne's second half: the statement to its family, once the branch and the snapshot are settled. */
  private dispatch(session: Session, statement: Statement, tree: PgNode, params: readonly unknown[], options: ExecuteOptions): Positional | Promise<Positional> {
    if (options.branch !== undefined && options.branch !== mainBranch) {
      const onBranch = this.onBranch(session, statement, tree, params, options)
      if (onBranch !== undefined) return onBranch
    }
    if (params.length > 0) checkRowCounts(this.rowCountUses(tree), params)
    const plain = this.reads.plainRowRead(session, statement, tree, params, options)
    if (plain !== undefined) return plain
    const kind = nodeKind(tree)!
    if (statement.clauses !== undefined) this.context.subsystems.checkClauses(statement, kind)
    const body = nodeBody(tree, kind)!
    switch (kind) {
      case 'SelectStmt':
        return this.reads.select(session, statement, params, options)
      case 'InsertStmt':
      case 'UpdateStmt':
      case 'DeleteStmt': {
        const claim = this.context.subsystems.claimWrite(statement, kind, body)
        const relation = nodeBody({ RangeVar: body['relation'] }, 'RangeVar')?.['relname']
        const table = typeof relation === 'string' ? relation : undefined
        if (claim !== undefined) return this.transactions.write(session, options, (active) => claim(this.reads.call(active, statement, params, options, true)), table === undefined ? undefined : { table, plain: false })
        return this.transactions.write(session, options, (active) => this.writes.run(active, kind, body, params, options, statement), table === undefined ? undefined : { table, plain: true })
      }
      case 'CreateTableAsStmt':
      case 'DropStmt': {
        // CREATE/DROP MATERIALIZED VIEW: a subsystem's (streaming's) in PostgreSQL's grammar.
        if (body['objtype'] === 'OBJECT_MATVIEW' || body['removeType'] === 'OBJECT_MATVIEW') {
          const own = this.context.subsystems.recognise(statement)
          if (own !== undefined) return this.transactions.write(session, options, async (active) => own.run(this.reads.call(active, statement, params, options, true)))
        }
        return this.transactions.write(session, options, (active) => this.ddl.run(active, kind, body, params, options, statement))
      }
      case 'CreateStmt':
      case 'AlterTableStmt':
      case 'RenameStmt':
      case 'IndexStmt':
      case 'ViewStmt':
        return this.transactions.write(session, options, (active) => this.ddl.run(active, kind, body, params, options, statement))
      case 'TransactionStmt':
        return this.transactions.control(session, body, options)
      case 'VariableSetStmt':
        return this.transactions.characteristics(session, body)
      case 'VariableShowStmt': {
        if (String(body['name']).toLowerCase() === 'tables') return this.introspection.showTables()
        // A subsystem's SHOW (SHOW SOURCES): PostgreSQL's grammar reads it as a setting's name.
        const own = this.context.subsystems.recognise(statement)
        if (own !== undefined && !own.writes) return own.run(this.reads.call(session, statement, params, options, false))
        throw new StrataError('NOT_SUPPORTED', `SHOW ${String(body['name'])}`)
      }
      case 'CheckPointStmt':
        return this.checkpoint(session, options)
      case 'CallStmt': {
        // A subsystem's procedure (CALL strata.verify()).
        const own = this.context.subsystems.recognise(statement)
        if (own === undefined) throw new StrataError('NOT_SUPPORTED', `${leadingKeywords(statement.text, statement.tokens)} is not supported`)
        if (own.writes) return this.transactions.write(session, options, (active) => own.run(this.reads.call(active, statement, params, options, true)))
        return own.run(this.reads.call(session, statement, params, options, false))
      }
      case 'ExplainStmt':
        return this.introspection.explain(session, statement, body, params, options)
      default:
        throw new StrataError('NOT_SUPPORTED', `${leadingKeywords(statement.text, statement.tokens)} is not supported`)
    }
  }

  /**
   * A statement on a branch other than main: the branches subsystem runs reads and writes there
   * (docs/branches.md); transaction control, SET, SHOW and CHECKPOINT run as on main (undefined);
   * anything else is not built for branches yet.
   */
  private onBranch(session: Session, statement: Statement, tree: PgNode, params: readonly unknown[], options: ExecuteOptions): Positional | Promise<Positional> | undefined {
    const kind = nodeKind(tree)!
    if (kind === 'TransactionStmt' || kind === 'VariableSetStmt' || kind === 'VariableShowStmt' || kind === 'CheckPointStmt') return undefined
    if (statement.clauses !== undefined) this.context.subsystems.checkClauses(statement, kind)
    const own = this.context.subsystems.onBranch(statement, kind, nodeBody(tree, kind)!, options.branch!)
    if (own === 'as-main') return undefined
    if (own === undefined) throw new StrataError('NOT_SUPPORTED', `${leadingKeywords(statement.text, statement.tokens)} on a branch other than main (branch "${options.branch!}"; docs/branches.md says what runs there)`)
    if (own.writes) return this.transactions.write(session, options, (active) => own.run(this.reads.call(active, statement, params, options, true)))
    const plan = own.rowPlan?.(options, options.branch!)
    if (plan !== undefined) return this.reads.rowRead(session, plan, params)
    return own.run(this.reads.call(session, statement, params, options, false))
  }

  /**
   * CHECKPOINT: every commit is durable already (a stream's state commits with each batch), so this
   * moves the row store's write-ahead log into its file: under the writer lock, after the pending
   * group commit, outside any transaction, without waiting for readers (SQLite's PASSIVE mode).
   */
  private async checkpoint(session: Session, options: ExecuteOptions): Promise<Positional> {
    if (session.inTransaction) throw new StrataError('TX_STATE', 'CHECKPOINT cannot run inside a transaction block')
    await this.transactions.flushGroup()
    const release = await this.context.writerLock.acquire(limits.writerLockWaitMs, 'LOCK_TIMEOUT', 'the writer lock', options.signal)
    try {
      this.context.rowStore.writer.execSync('PRAGMA wal_checkpoint(PASSIVE)')
    } finally {
      release()
    }
    return noRows()
  }

  /** A statement PostgreSQL's grammar rejected: a subsystem's own syntax, CREATE TABLE … AS over DuckDB-only syntax, or DuckDB's grammar. */
  private executeUnparsed(session: Session, statement: Statement, params: readonly unknown[], options: ExecuteOptions): Positional | Promise<Positional> {
    const own = this.context.subsystems.recognise(statement)
    if (own !== undefined) {
      if (own.writes) return this.transactions.write(session, options, async (active) => own.run(this.reads.call(active, statement, params, options, true)))
      return own.run(this.reads.call(session, statement, params, options, false))
    }
    // CREATE TABLE … AS over DuckDB-only syntax (a file in FROM, FROM-first): the head from the scanner's tokens.
    const createTableAs = statement.clauses === undefined ? recogniseCreateTableAs(statement.text, statement.tokens) : undefined
    if (createTableAs !== undefined) return this.transactions.write(session, options, async (active) => this.ddl.createTableAsDuckDBQuery(active, createTableAs, params, options))
    // Clauses were cut out of this text; DuckDB would answer without them.
    if (statement.clauses !== undefined) throw new StrataError('NOT_SUPPORTED', 'time travel, FOR PORTION OF and ERASE need PostgreSQL syntax around them (this statement is DuckDB-only)')
    return this.introspection.duckdbOnly(session, statement, params, options)
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

  /** Rolls back whatever `session` has open (used when a transaction body throws). */
  abortSession(session: Session): Promise<void> {
    return this.transactions.abort(session)
  }

  // ───────────────────────────── reads outside statements ─────────────────────────────

  /** The subsystems' Prometheus samples (streaming: its sources and streams), from committed state. */
  subsystemMetrics(): MetricFamily[] {
    this.checkOpen()
    return this.context.subsystems.metrics()
  }

  async syncStatus(): Promise<{ lastCommittedTx: number; lastAppliedTx: number; lagTx: number; lagMs: number }> {
    this.checkOpen()
    return this.reads.columns.syncStatus()
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
    // (A stream over a stored text could need the parser halfway; it waits for it first.)
    if (!parserReady()) await loadParser()
    checkParameters(params)
    const { statements, positional } = this.statements.prepare(sql, params)
    // A statement on a branch other than main reads through the branch (executeOne), never the stream's direct path.
    const onMain = (options.branch ?? session.branch) === mainBranch
    const streamed = statements.length === 1 && onMain ? await this.reads.stream(session, statements[0]!, positional, options) : undefined
    if (streamed !== undefined) return streamed
    const results = await this.execute(session, sql, params, { ...options, rowMode: 'array' })
    const last = results[results.length - 1]!
    const rows = last.rows
    return { columns: last.columns, engine: last.engine, txId: last.txId, batches: (async function* () { yield rows })() }
  }

  /** Runs SQL on the column store, fresh, and hands back DuckDB's raw result (used by Arrow export, import). */
  async columnStoreQuery(session: Session, sql: string, params: readonly unknown[] | Readonly<Record<string, unknown>> | undefined, options: ExecuteOptions): Promise<Tabular> {
    this.checkOpen()
    return this.reads.columns.query(session, sql, params ?? [], options)
  }

  // ───────────────────────────── bulk ─────────────────────────────

  /** `db.writeTable`: `table` made to hold `rows` by their row-level difference, as one commit (`Bulk.writeTable`, ./bulk.ts). */
  async writeTable(
    table: string,
    columns: readonly string[],
    rows: readonly (readonly unknown[])[],
    options: Parameters<Bulk['writeTable']>[3],
  ): Promise<{ txId: number | undefined; added: number; removed: number; modified: number }> {
    this.checkOpen()
    return this.bulk.writeTable(table, columns, rows, options)
  }

  /** `db.insert`: rows into `table` as one commit (`Bulk.insert`, ./bulk.ts). */
  async bulkInsert(table: string, columns: readonly { readonly name: string; readonly type?: string }[], rows: readonly (readonly unknown[])[], options: BulkInsertOptions = {}): Promise<{ txId: number | undefined; rowCount: number }> {
    this.checkOpen()
    // Rows into a streaming source are one batch of events, as db.push takes them.
    if (this.context.schema.catalog.tables.get(table)?.source !== undefined) {
      return this.callSubsystem('push', [table, columns.map((column) => column.name), rows, 'default'], { signal: options.signal })
    }
    return this.bulk.insert(table, columns, rows, options)
  }

  /**
   * A library call a subsystem serves (streaming's `push`, `advanceWatermark`, `flush`): one write
   * transaction under the writer lock, like a write statement.
   */
  async callSubsystem(name: string, args: readonly unknown[], options: { readonly signal?: AbortSignal | undefined } = {}): Promise<{ txId: number | undefined; rowCount: number }> {
    this.checkOpen()
    const own = this.context.subsystems.call(name)
    if (own === undefined) throw new StrataError('INTERNAL', `no subsystem serves ${name}()`)
    // The call stands where a statement would: its name is its text, with no tokens and no tree.
    const statement: Statement = { text: `${name}()`, offset: 0, locationBase: 0, tree: undefined, parseError: undefined, tokens: () => [] }
    const result = await this.transactions.write(this.newSession(), { signal: options.signal }, async (active) => own(this.reads.call(active, statement, [], { signal: options.signal }, true), args))
    return { txId: result.txId, rowCount: result.rowCount }
  }

  /** A CSV, Parquet or JSON file into `table` as one commit (`Bulk.importFile`). */
  async importFile(file: string, options: { readonly table: string } & Pick<BulkInsertOptions, 'onProgress' | 'signal'>): Promise<{ txId: number | undefined; rowCount: number }> {
    this.checkOpen()
    return this.bulk.importFile(file, options)
  }

  /** A table's current state to a .parquet, .csv or .json file (`Bulk.exportTable`). */
  async exportTable(file: string, options: { readonly table: string; readonly signal?: AbortSignal | undefined }): Promise<{ readonly rowCount: number }> {
    this.checkOpen()
    return this.bulk.exportTable(file, options)
  }

  /** `db.writeBatch`: statements as one transaction with one commit (`Bulk.writeBatch`). */
  async writeBatch(items: readonly BatchItem[], options: { readonly signal?: AbortSignal | undefined } = {}): Promise<{ txId: number | undefined; rowCount: number }> {
    this.checkOpen()
    return this.bulk.writeBatch(items, options)
  }

  // ───────────────────────────── lifecycle ─────────────────────────────

  private checkOpen(): void {
    if (this.closed) throw new StrataError('CLOSED', 'the database is closed')
  }

  /** Column-store sync steps that applied a bulk insert from its handed-over rows, not read back (tests and status). */
  get syncStepsFromHandedOverRows(): number {
    return this.context.syncer.stepsFromHandedOver
  }

  /** Change feeds open now (tests, and the HTTP server's check that a client gone closed its feed). */
  get openFeedCount(): number {
    return this.feeds?.openCount ?? 0
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
      // Writes already made wait for their group's COMMIT: make it before the stores close.
      await this.transactions.flushGroup()
      await this.context.subsystems.close()
      await this.context.syncer.close()
      // The statements this process ran, for the next one to run before its parser loads. A cache: if
      // it cannot be written (a full disk, a read-only directory), the next process waits for its parser.
      try {
        this.statements.persistSync(parserReady())
      } catch {
        // Nothing is lost but the head start.
      }
      this.context.rowStore.closeSync()
      // Last: another process may open the directory once both stores are closed.
      this.directoryLock?.releaseSync()
      if (this.temporaryDirectory !== undefined) rmSync(this.temporaryDirectory, { recursive: true, force: true })
    })()
    return this.closing
  }
}

/** The result of a text that must hold exactly one statement (`executeSingle`). */
function onlyResult(results: readonly StatementResult[], sql: string): StatementResult {
  const last = results[results.length - 1]
  // No statement (empty, only ';' or comments): an empty result, as PostgreSQL answers an empty query.
  if (last === undefined) return { rows: [], columns: [], rowCount: 0, engine: 'row', durationMs: 0 }
  if (results.length > 1) throw new StrataError('INVALID_PARAMETER', `query() runs one statement; this text has ${results.length} (use exec())`, { statement: sql })
  return last
}

/** COMMIT or ROLLBACK (with or without AND CHAIN): the statements a transaction with parked writes runs without taking them back first. */
function endsTransaction(tree: PgNode): boolean {
  const kind = nodeBody(tree, 'TransactionStmt')?.['kind']
  return kind === 'TRANS_STMT_COMMIT' || kind === 'TRANS_STMT_ROLLBACK'
}
