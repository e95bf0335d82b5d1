/**
 * The seam between the engine and its subsystems (ARCHITECTURE.md, "The subsystem seam").
 *
 * A subsystem is a feature with syntax, relations or execution of its own — time travel, full-text
 * search, and next streaming, branches and federation. It lives in a folder of its own under
 * `src/subsystems/`, is registered once in `src/subsystems/index.ts`, and reaches the database only
 * through what this file describes: a `SubsystemHost` it is given when the engine opens, and a
 * `StatementCall` for each statement it runs. It never sees the `Engine`, a session or the writer
 * lock; the engine decides where and when a statement runs (autocommit or in a transaction, which
 * store, how fresh), and the subsystem says what it means.
 *
 * Everything is optional: a subsystem declares only the hooks it needs.
 */
import type { Commit, Ledger } from '../ledger/ledger.js'
import type { ChunkStore } from '../storage/chunks/chunkstore.js'
import type { Catalog, TableDefinition } from '../sql/catalog.js'
import type { ParsedStatement, PgNode, TokenSource } from '../sql/parse.js'
import type { Binder, RowPlan } from '../sql/plan.js'
import type { RowConnection, RowStore, RowValue } from '../storage/rowstore/rowstore.js'
import type { Syncer } from '../sync/syncer.js'

export type EngineName = 'row' | 'column' | 'remote' | 'stream' | 'catalog'

/** A statement's result: rows are arrays in column order with SPEC 3 values. */
export interface Rows {
  readonly rows: unknown[][]
  readonly columns: readonly { readonly name: string; readonly type: string; readonly nullable?: boolean }[]
  readonly rowCount: number
  readonly engine: EngineName
  readonly txId?: number
}

/** A query's columns and rows as a store produced them (SPEC 3 values). */
export interface Tabular {
  readonly columns: readonly { readonly name: string; readonly type: string }[]
  readonly rows: unknown[][]
}

/**
 * One statement as the front end hands it on: PostgreSQL's parse (when its grammar accepts the
 * text), plus what a subsystem's clause recogniser cut out of the text before the parse.
 */
export type Statement = ParsedStatement & {
  /** What the clause recogniser found in this statement (time travel: its time clauses); absent when nothing was cut. */
  readonly clauses?: unknown
  /** The statement as the user wrote it, when clauses were cut out of `text`. */
  readonly written?: string
}

/** The catalog as the engine keeps it: immutable snapshots, and a version bumped by every change. */
export interface CatalogHolder {
  readonly catalog: Catalog
  /** Bumped on every catalog change; anything compiled against an older catalog is recompiled. */
  readonly version: number
  set(catalog: Catalog): void
}

/** What a subsystem is given when the engine opens. */
export interface SubsystemHost {
  readonly rowStore: RowStore
  /** The data directory's content-addressed chunk store (table snapshots; docs/branches.md). */
  readonly chunks: ChunkStore
  readonly ledger: Ledger
  readonly syncer: Syncer
  readonly schema: CatalogHolder
  /** Parameter and constant binders → the row store's values (`bounds` fill time-travel slots). */
  bind(binders: readonly Binder[], params: readonly unknown[], bounds?: readonly bigint[]): RowValue[]
  /** Every subsystem's `beforeColumnStore` check, for a query about to go to the column store for `reason`. */
  beforeColumnStore(tree: unknown, reason: string): void
  /** Persists a changed table definition inside the open write transaction: the catalog, its triggers, the row store's caches. */
  saveTableSync(table: TableDefinition): void
  /** A new table inside the open write transaction, as CREATE TABLE makes one (the caller marks the schema changed). */
  createTableSync(table: TableDefinition): void
  /** Drops a table inside the open write transaction, as DROP TABLE does: its history kept, every subsystem's drop hook run. */
  dropTableSync(table: TableDefinition): void
  /**
   * Runs one of the subsystem's own library calls (`Subsystem.calls`) as a write transaction of its
   * own, as the library would: how work that arrives in the background (a connector's messages)
   * enters the database. Available once the engine is open (`onOpen`).
   */
  call(name: string, args: readonly unknown[]): Promise<{ readonly txId: number | undefined; readonly rowCount: number }>
}

/** The caller's choices that reach a subsystem. */
export interface CallOptions {
  readonly engine?: 'row' | 'column' | undefined
  readonly signal?: AbortSignal | undefined
  readonly maxStalenessMs?: number | undefined
}

/** One statement being run, as the engine lends it to the subsystem that claimed it. */
export interface StatementCall {
  readonly statement: Statement
  readonly params: readonly unknown[]
  readonly options: CallOptions
  /** Inside the writer's transaction (an explicit one that has written, or the autocommit write this call runs in): reads see its own writes. */
  readonly inTransaction: boolean
  /** Inside a transaction the caller opened (BEGIN, `db.transaction`), not an autocommit statement's own. */
  readonly explicitTransaction: boolean
  /**
   * The commit a read of a transaction that has not written yet must see (its snapshot,
   * src/engine/snapshots.ts; a later commit may come while the read runs); undefined: the latest state.
   */
  readonly snapshotTx: number | undefined
  /** Notes that the statement read `table` on the session's branch (a transaction's first write checks such tables for conflicts). */
  readTable(table: string): void
  /** The row-store connection this call reads from: the writer inside a transaction, else a reader. */
  rowConnection(): RowConnection
  /** A row-store plan's rows (`bounds`: the time-travel slots' values). */
  rowRead(plan: RowPlan, bounds?: readonly bigint[]): Rows
  /** A query on the column store, fresh as SPEC 5 says, or over this transaction's own writes. */
  columnQuery(sql: string, params: readonly unknown[]): Promise<Tabular>
  /** A SELECT (a write's source), routed like any query, inside this call's transaction. */
  evaluate(tree: PgNode): Promise<Tabular>
  /**
   * Appends `rows` (storage values, each the table's columns in order) to `table` in this call's
   * transaction, as an INSERT would, each row with its hidden columns. `handOver`: the caller only
   * appends to the table in this transaction (rows appended are not changed again before the commit),
   * so the rows are handed to the column store's sync with the commit instead of being read back; false
   * gives the table's hand-over up for the transaction. Does not count
   * toward the call's rows changed.
   */
  appendRowsSync(table: TableDefinition, rows: readonly (readonly RowValue[])[], handOver: boolean): void
  /** Records that this call's transaction changed the schema (its commit is a DDL fact; a rollback reloads the catalog). */
  schemaChanged(): void
  /** Records that this call's transaction wrote the subsystem's own state even if it changed no rows (its commit is recorded in the ledger). */
  stateChanged(): void
  /** Records that this call's transaction changed the list of branches: its commit is a `branch` fact, made on no branch. */
  branchesChanged(): void
  /** The branch this statement runs on: the call's option, else its session's (main at first). */
  readonly branch: string
  /** USE BRANCH: the session's statements run on `name` from the next one on. */
  useBranch(name: string): void
  /**
   * An INSERT, UPDATE or DELETE tree run by the engine's own write path in this call's transaction, as
   * if it had been the statement (branches retarget a write to a branch's own table); no subsystem claims it.
   */
  runWrite(kind: 'InsertStmt' | 'UpdateStmt' | 'DeleteStmt', body: PgNode): Promise<Rows>
}

/**
 * A library call a subsystem serves (streaming's `db.push`): run under the writer lock as one ledger
 * transaction, like a write statement; `call.statement` is the call's name, as a statement text.
 */
export type OwnCall = (call: StatementCall, args: readonly unknown[]) => Rows | Promise<Rows>

/** A read a subsystem runs itself (time travel: a SELECT that reads the past). */
export interface ClaimedRead {
  /** The SELECT's result. */
  run(call: StatementCall): Rows | Promise<Rows>
  /** The same SELECT as the source of a write (INSERT … SELECT, CREATE TABLE AS), inside the write's transaction. */
  evaluate(call: StatementCall, tree: PgNode): Promise<Tabular>
  /** EXPLAIN's lines for it, and the store that would answer. */
  explain(call: StatementCall, tree: PgNode): Promise<{ readonly lines: readonly string[]; readonly engine: EngineName }>
}

/** A statement of the subsystem's own syntax, recognised from the scanner's tokens. */
export interface OwnStatement {
  /** Writes run under the writer lock as one ledger transaction (autocommit) or inside the open one. */
  readonly writes: boolean
  run(call: StatementCall): Rows | Promise<Rows>
  /**
   * For a read: the row-store plan that answers it with these options on `branch`, when one does —
   * the engine then reads it as it reads its own plans, without a call (a point read's hot path) —
   * else undefined, and `run` answers.
   */
  rowPlan?(options: CallOptions, branch: string): RowPlan | undefined
}

/** Clauses cut out of a text before PostgreSQL parses it, and handed to the statements they belong to. */
export interface ClauseRecogniser {
  /**
   * Lower-case words one of which every clause contains: a text containing none of them is not
   * scanned for clauses at all (most texts are settled by this).
   */
  readonly triggers: readonly string[]
  /**
   * The text without the clauses, its tokens (derived from `tokens`, the text's one scan), and how to
   * attach the clauses to the statements parsed from it; undefined when the text has none.
   */
  extract(text: string, tokens: TokenSource): { readonly text: string; readonly tokens: TokenSource; attach(statements: ParsedStatement[]): Statement[] } | undefined
}

export interface Subsystem {
  readonly name: string
  /** Clauses inside statements of PostgreSQL's grammar (time travel's FOR SYSTEM_TIME, AS OF, ERASE …). At most one registered subsystem cuts clauses. */
  readonly clauses?: ClauseRecogniser
  /** Relations this subsystem serves in the `strata` schema (read through the column store's mirror). */
  readonly relations?: readonly string[]
  /** A whole statement PostgreSQL's grammar rejected, recognised from its scanner tokens (`statement.tokens`); undefined when it is not this subsystem's. */
  recognise?(statement: Statement): OwnStatement | undefined
  /** Refuses (throws) a statement of `kind` that carries this subsystem's clauses where they mean nothing. */
  checkClauses?(statement: Statement, kind: string): void
  /**
   * A statement on a branch other than main (the branches subsystem, docs/branches.md): how it runs
   * there; `'as-main'` when it reads nothing a branch changes (`SELECT 1`, the catalog, `strata.*`)
   * and runs as it would on main; undefined when it cannot run there (the engine then refuses it with
   * NOT_SUPPORTED). Transaction control, SET and SHOW, and the subsystems' own statements are not
   * asked: they run as on main.
   */
  onBranch?(statement: Statement, kind: string, body: PgNode, branch: string): OwnStatement | 'as-main' | undefined
  /** A SELECT this subsystem runs itself, or undefined (then the engine's reads run it). */
  claimRead?(statement: Statement, tree: PgNode): ClaimedRead | undefined
  /**
   * `statement` (a SELECT) made to read the state of commit `txId` instead of the latest — a
   * transaction's snapshot (time travel's AS OF) — on a tree of its own; undefined when this
   * subsystem does not do that.
   */
  readAt?(statement: Statement, txId: number): Statement | undefined
  /**
   * Whether a commit after `bound` changed `table` on `branch` (a branch other than main, which the
   * engine answers itself), or undefined when `branch` is not this subsystem's to answer.
   */
  changedSince?(branch: string, table: string, bound: number): boolean | undefined
  /** An INSERT, UPDATE or DELETE this subsystem runs itself inside the engine's write path, or undefined. */
  claimWrite?(statement: Statement, kind: 'InsertStmt' | 'UpdateStmt' | 'DeleteStmt', body: PgNode): ((call: StatementCall) => Promise<Rows>) | undefined
  /** Rows inserted in bulk (`db.insert`) that must go through this subsystem's statements instead of the fast path. */
  claimBulkInsert?(table: TableDefinition, columns: readonly string[]): boolean
  /** Throws when a query that uses this subsystem's constructs may not run on the column store. */
  beforeColumnStore?(tree: unknown, reason: string): void
  /** Schema changes the subsystem keeps its own objects right through, in the same transaction. */
  readonly schema?: SchemaHooks
  /** Library calls this subsystem serves, by name (`Engine.callSubsystem`). */
  readonly calls?: Readonly<Record<string, OwnCall>>
  /** Once the engine is open and takes calls (background work such as connectors starts here). */
  onOpen?(): void
  /** Prometheus samples of the subsystem's own (the server's /metrics), read from committed state; cheap. */
  metrics?(): readonly MetricFamily[]
  /**
   * Inside every write transaction, just before it commits (an autocommit write after its statement, an
   * explicit transaction at its COMMIT), holding the writer: work that must commit with the
   * transaction's writes (streaming's materialized views over tables). Returns undefined, at once and
   * without a promise, when there is nothing to do — the common case, which keeps a plain write
   * synchronous. A rejection fails the transaction: it rolls back, and the caller gets the error.
   */
  beforeCommit?(call: () => StatementCall): Promise<void> | undefined
  /** After every commit that recorded a transaction, synchronously; must not throw or block. */
  afterCommit?(commit: Commit): void
  /** When the engine closes, before the stores do. */
  onClose?(): Promise<void> | void
}

/** A Prometheus metric family: its name, help, type, and samples by labels. */
export interface MetricFamily {
  readonly name: string
  readonly help: string
  readonly type: 'counter' | 'gauge'
  readonly samples: readonly { readonly labels: Readonly<Record<string, string>>; readonly value: number }[]
}

/** What a schema hook may change: the writer (inside the DDL's transaction) and the catalog, through `saveTableSync`. */
export interface SchemaChange {
  readonly writer: RowConnection
  readonly catalog: Catalog
  /** Persists a changed table definition, installs it in the catalog, marks the transaction as DDL. */
  saveTableSync(table: TableDefinition): void
}

export interface SchemaHooks {
  /**
   * Throws when `table` may not be dropped by DROP TABLE (streaming: a sink reads it), unless
   * `cascade` (DROP TABLE … CASCADE), when the subsystem's objects go with it in `dropTable`.
   */
  checkDropTable?(table: TableDefinition, options: { readonly cascade: boolean }): void
  /** A table is about to be dropped. */
  dropTable?(change: SchemaChange, table: TableDefinition): void
  /** DROP INDEX `name`: true when the index was this subsystem's and is gone. */
  dropIndex?(change: SchemaChange, name: string): boolean
  /** Throws when `table`'s columns may not change (ALTER TABLE ADD/DROP/RENAME COLUMN). */
  checkAlterTable?(table: TableDefinition): void
  /** Throws when `column` of `table` may not be dropped. */
  checkDropColumn?(table: TableDefinition, column: string): void
  /** A column renamed: the parts of the table definition this subsystem keeps, renamed (merged into the saved definition). */
  renameColumn?(table: TableDefinition, from: string, to: string): Partial<TableDefinition>
  /** After a rename was saved: the subsystem's own objects follow it. */
  afterRenameColumn?(change: SchemaChange, table: TableDefinition, to: string): void
}
