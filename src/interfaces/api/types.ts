/**
 * The library's public shapes (SPEC section 3). These names are contracts: tests and users depend on them.
 */
import type { Table as ArrowTable } from 'apache-arrow'

/**
 * TIMESTAMP/TIMESTAMPTZ values are Dates (SPEC 3); one with sub-millisecond digits is a `Timestamp`,
 * a Date subclass whose `micros: bigint` holds the exact microseconds since the epoch. Passed as a
 * parameter or to `insert()`, a Timestamp keeps its microseconds.
 */
export { Timestamp } from '../../util/timestamp.js'

/** Which store answered a statement. */
export type EngineName = 'row' | 'column' | 'remote' | 'stream' | 'catalog'

export interface ResultColumn {
  readonly name: string
  /** SQL type name as Strata spells it: INTEGER, BIGINT, DOUBLE, DECIMAL(10,2), VARCHAR, TIMESTAMP, … */
  readonly type: string
  /**
   * For a SELECT: false when the column provably never holds NULL (a NOT NULL or primary-key column
   * outside the NULL side of an outer join, `count(*)`, a non-NULL constant, …), true when it may.
   * Absent for results of writes (RETURNING) and of DuckDB-only syntax.
   */
  readonly nullable?: boolean
}

export interface QueryResult {
  readonly rows: Record<string, unknown>[]
  readonly columns: readonly ResultColumn[]
  /** Rows returned, or for a write without RETURNING the rows it changed. */
  readonly rowCount: number
  readonly engine: EngineName
  /** The transaction a write committed as (autocommit writes only; inside a transaction see its result). */
  readonly txId?: number
  readonly durationMs: number
}

/** `$1, $2, …` bind from an array, `$name` from an object. */
export type Params = readonly unknown[] | Readonly<Record<string, unknown>>

export interface QueryOptions {
  /** Force a store (Rhei's query_with_hint). A write always runs on the row store. */
  readonly engine?: 'row' | 'column'
  /** Allow a column-store read that lags the last commit by at most this much, without waiting. */
  readonly maxStalenessMs?: number
  readonly signal?: AbortSignal
  /** Run the statement on this branch instead of the session's (`USE BRANCH`; main at first). */
  readonly branch?: string
}

export interface OpenOptions {
  /** "Now" for the ledger and for queries. Tests inject one to make system time deterministic. */
  readonly clock?: () => Date | bigint
  /**
   * 'full' (default): every commit is fsynced before it is acknowledged (SQLite WAL, synchronous=FULL).
   * 'normal': WAL with synchronous=NORMAL; a power loss (not a process crash) may lose the last commits.
   */
  readonly durability?: 'full' | 'normal'
  readonly signal?: AbortSignal
}

export interface SyncStatus {
  /** Highest committed transaction id in the ledger. */
  readonly lastCommittedTx: number
  /** Highest transaction id the column store reflects. */
  readonly lastAppliedTx: number
  /** lastCommittedTx − lastAppliedTx. */
  readonly lagTx: number
  /** Age of the oldest committed transaction the column store does not yet reflect (0 when caught up). */
  readonly lagMs: number
}

export interface ImportOptions {
  /** Target table; created from the file's columns when it does not exist. */
  readonly table: string
  /** Called with (rowsDone, rowsTotal) while rows move into the table. */
  readonly onProgress?: (rowsDone: number, rowsTotal: number) => void
  readonly signal?: AbortSignal
}

export interface ExportOptions {
  readonly table: string
  readonly signal?: AbortSignal
}

export interface WriteSummary {
  readonly txId: number | undefined
  readonly rowCount: number
}

/** A row as a change feed shows it: user columns only, values as in `QueryResult.rows`. */
export type ChangeRow = Readonly<Record<string, unknown>>

/** One row change of one committed transaction (SPEC 7). */
export interface Change {
  readonly txId: number
  /** The commit's system time. */
  readonly systemTime: Date
  readonly table: string
  readonly op: 'insert' | 'update' | 'delete'
  /** The primary-key columns and values, or `{ _strata_row_id }` for a table without a primary key. */
  readonly key: ChangeRow
  /** The row before the change (null for an insert). */
  readonly before: ChangeRow | null
  /** The row after the change (null for a delete). */
  readonly after: ChangeRow | null
}

export interface SubscribeOptions {
  /** Only these tables; each must exist (else UNDEFINED_TABLE). Default: every table, including ones created later. */
  readonly tables?: readonly string[]
  /** Start with the changes of this transaction (inclusive). Default: the next commit after subscribe(). */
  readonly fromTx?: number
  /**
   * A named position kept in the database: resumes right after the last change acknowledged under this
   * name, even after a restart. The first use starts at `fromTx`, else at the next commit.
   */
  readonly cursor?: string
}

/**
 * A change feed: `for await (const change of subscription)`. Changes come in commit order; within a
 * transaction, tables by name, and within a table deletions first, then inserts and updates in the
 * order the transaction wrote them.
 */
export interface Subscription extends AsyncIterableIterator<Change>, AsyncDisposable {
  /** Acknowledges `change` and every change before it; with a cursor, resolves once that is durable. */
  ack(change: Change): Promise<void>
  /** Ends the feed: a pending next() resolves done. Leaving a `for await` loop early closes it too. */
  close(): void
  /** Changes read from the history but not yet handed out; never more than one page (1000). */
  readonly bufferedCount: number
  readonly isClosed: boolean
}

export interface WriteTableOptions {
  readonly mode: 'replace' | 'append' | 'upsert'
  /** The columns that identify a row (default: the primary key). */
  readonly key?: readonly string[]
  /** `replace` with no rows empties the table only when this says so. */
  readonly allowEmpty?: boolean
  readonly signal?: AbortSignal
}

/** What `db.writeTable` changed: rows added, removed and modified, in the commit `txId` (undefined: nothing changed). */
export interface WriteTableSummary {
  readonly txId: number | undefined
  readonly added: number
  readonly removed: number
  readonly modified: number
}

export interface InsertOptions {
  /** Called with (rowsDone, rowsTotal) while rows move into the table. */
  readonly onProgress?: (rowsDone: number, rowsTotal: number) => void
  readonly signal?: AbortSignal
}

/** One statement of `db.writeBatch`: SQL text, or SQL with its parameters (`$1…` array or `$name` object). */
export type BatchItem = string | { readonly sql: string; readonly params?: Params }

/** What both a database and an open transaction can run. */
export interface Queryable {
  query(sql: string, params?: Params, options?: QueryOptions): Promise<QueryResult>
  exec(sql: string, options?: { readonly signal?: AbortSignal }): Promise<QueryResult[]>
  sql(strings: TemplateStringsArray, ...values: unknown[]): Promise<QueryResult>
}

export type Transaction = Queryable

/** A handle on one branch (`db.branch(name)`): its statements and transactions run there (docs/branches.md). */
export interface BranchHandle extends Queryable {
  readonly branch: string
  transaction<T>(body: (tx: Transaction) => Promise<T>, options?: { readonly signal?: AbortSignal }): Promise<T>
}

export interface Database extends Queryable, AsyncDisposable {
  /** The data directory, or ':memory:'. */
  readonly path: string
  transaction<T>(body: (tx: Transaction) => Promise<T>, options?: { readonly signal?: AbortSignal }): Promise<T>
  /**
   * A handle whose statements run on branch `name` (a session of its own, as a connection on that
   * branch): `USE BRANCH` without switching this handle. The branch must exist when a statement runs
   * (UNDEFINED_BRANCH); a name git would refuse is INVALID_NAME at once.
   */
  branch(name: string): BranchHandle
  queryArrow(sql: string, params?: Params, options?: QueryOptions): Promise<ArrowTable>
  syncStatus(): Promise<SyncStatus>
  /** User tables, sorted by name (for shells and tools). */
  tables(): Promise<string[]>
  /** CSV, Parquet or JSON (by extension), read by DuckDB's readers, inserted as one commit. */
  importFile(file: string, options: ImportOptions): Promise<WriteSummary>
  /**
   * Inserts many rows into an existing table as ONE commit (one transaction id) — the fast path for
   * bulk loads (SPEC 7). Rows are objects (column → value; a missing key takes the column's DEFAULT)
   * or an apache-arrow Table (columns by name). Values are coerced as parameters are; an unknown
   * table is UNDEFINED_TABLE, an unknown column UNDEFINED_COLUMN, a value that does not fit its
   * column TYPE_MISMATCH, a broken constraint CONSTRAINT_VIOLATION — naming the row — and then
   * nothing is written. Not for use inside `transaction()` (it commits on its own).
   *
   * @example
   * const { txId, rowCount } = await db.insert('readings', [
   *   { id: 1, ts: new Date(), v: 2.5 },
   *   { id: 2, ts: new Date(), v: null },
   * ])
   */
  insert(table: string, rows: readonly Readonly<Record<string, unknown>>[] | ArrowTable, options?: InsertOptions): Promise<WriteSummary>
  /**
   * Makes `table` hold `rows` (objects or an apache-arrow Table) by their row-level difference from
   * what it holds (SPEC 10, UDR's write_table), as ONE commit: a row whose key is new is inserted, a
   * row whose given columns differ is updated (what an UPDATE of it would add to history), an
   * unchanged row adds nothing. `mode`: `replace` also deletes the rows whose key is not in `rows`
   * (an empty `rows` is INVALID_ARGUMENT unless `allowEmpty`), `upsert` keeps them, `append` inserts
   * every row. `key` (default: the primary key) names the columns that identify a row: every row
   * gives them, no two rows share them. A column a row leaves out keeps its value (a new row takes
   * its DEFAULT). `txId` is undefined when nothing changed (no commit).
   *
   * @example
   * const { added, removed, modified } = await db.writeTable('prices', rows, { mode: 'replace' })
   */
  writeTable(table: string, rows: readonly Readonly<Record<string, unknown>>[] | ArrowTable, options: WriteTableOptions): Promise<WriteTableSummary>
  /**
   * Pushes one batch of events into a streaming source (SPEC 8): accepted whole or not at all. Every
   * row names every column of the source (null for NULL); a missing, extra or mistyped column is
   * TYPE_MISMATCH naming the column and the row. Events earlier than the watermark minus the allowed
   * lateness are late: not stored, recorded in strata.late_events. The watermark moves after the
   * batch. `rowCount` is the number of events accepted.
   *
   * @example
   * await db.push('trades', [{ sym: 'AAPL', price: 187.5, ts: new Date('2026-01-05T14:30:00Z') }])
   */
  push(source: string, rows: readonly Readonly<Record<string, unknown>>[] | ArrowTable): Promise<WriteSummary>
  /** Moves a source's watermark forward to `time` (a Date, ISO 8601 text or bigint of µs); a lower value is ignored. */
  advanceWatermark(source: string, time: Date | string | bigint): Promise<void>
  /** End of input for `source` (every source when none is named): its watermark goes to +∞. */
  flush(source?: string): Promise<void>
  /**
   * Runs statements as ONE commit: all or nothing (SPEC 7). Each item is SQL text or `{ sql, params }`;
   * later items see the earlier ones' writes. A failing item rolls the whole batch back and the error
   * (its code unchanged) says `writeBatch item <index>: …`. BEGIN/COMMIT/ROLLBACK may not appear in it.
   * `rowCount` is the number of rows the batch's writes changed; `txId` is undefined if none did.
   *
   * @example
   * const { txId } = await db.writeBatch([
   *   "INSERT INTO accounts VALUES (1, 'ann', 100)",
   *   { sql: 'UPDATE accounts SET balance = balance - $1 WHERE id = $2', params: [30, 1] },
   * ])
   */
  writeBatch(items: readonly BatchItem[], options?: { readonly signal?: AbortSignal }): Promise<WriteSummary>
  /** Writes a table's current state to a .parquet or .csv file (by extension). Returns rows written. */
  exportTable(file: string, options: ExportOptions): Promise<{ readonly rowCount: number }>
  /**
   * A change feed (SPEC 7). Reads nothing until iterated; a slow consumer costs its position only.
   *
   * @example
   * const feed = db.subscribe({ tables: ['orders'], cursor: 'billing' })
   * for await (const change of feed) { await handle(change); await feed.ack(change) }
   */
  subscribe(options?: SubscribeOptions): Subscription
  close(): Promise<void>
}
