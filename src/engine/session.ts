/**
 * A session is one logical connection: the library's default database handle, one `db.transaction()`
 * body, or (later) one server connection. It carries the transaction state.
 */
import type { CommitKind } from '../ledger/ledger.js'
import { mainBranch } from '../sql/branches.js'
import type { ColumnSession } from '../storage/columnstore/columnstore.js'
import type { RowValue } from '../storage/rowstore/rowstore.js'
import type { InsertedRows } from '../sync/mirror.js'
import type { TableDefinition } from '../sql/catalog.js'
import type { StrataError } from '../util/errors.js'
import { Mutex } from '../util/mutex.js'
import { constantValue, list, nodeBody } from '../sql/tree.js'

export class Session {
  /** Set from BEGIN until COMMIT/ROLLBACK, and for the private session of an autocommit write. */
  inTransaction = false
  /** Set from BEGIN until COMMIT/ROLLBACK: the transaction is the user's (not an autocommit write's private one). */
  explicit = false
  /**
   * The session's statements run in the writer's SQLite transaction: an autocommit write's private
   * session, or an explicit transaction from its first write on (docs/branches.md, "Snapshot
   * isolation"). Reads then go to the writer connection and the column store's overlay.
   */
  writing = false
  /** Release of the writer lock while an explicit transaction holds it (from its first write). */
  releaseWriter: (() => void) | undefined
  /**
   * The commit an explicit transaction reads (its snapshot): the last one when its first statement
   * ran, moved to the last one when it took the writer lock; undefined before its first statement.
   */
  snapshotTx: number | undefined
  /** The tables an explicit transaction read before it took the writer lock (`*`: any table, a view was read). */
  readonly tablesRead = new Set<string>()
  /** The conflict an explicit transaction met at its first write: it can only roll back (TX_CONFLICT). */
  conflict: StrataError | undefined
  /**
   * The tables an explicit transaction wrote with plain INSERT, UPDATE and DELETE on keyed tables of
   * main; null once it did anything else (DDL, a subsystem's write, a table without a key, valid
   * time, a savepoint after its first write): its writes can then not be parked.
   */
  written: Set<string> | null = new Set()
  /**
   * Set by an explicit transaction's taking of the writer lock when commits came after its snapshot:
   * that snapshot. The rows its next write statement writes are checked against the commits since.
   */
  keysSince: number | undefined
  /** The writes of an explicit transaction that gave the writer lock up between its statements (src/engine/transactions.ts, park). */
  parked: ParkedWrites | undefined
  /** Rows changed by the open transaction so far. */
  rowsChanged = 0
  /** The open transaction changed the schema. */
  changedSchema = false
  /**
   * The open transaction wrote state of a subsystem's own that changed no table rows (a source's
   * watermark, its late events): its commit is still recorded in the ledger.
   */
  changedState = false
  /** The open transaction changed the list of branches (CREATE/DROP BRANCH, never in an explicit transaction): its commit is a `branch` fact. */
  changedBranches = false
  /** The open transaction is READ ONLY (BEGIN READ ONLY, SET TRANSACTION READ ONLY): its writes are refused with READ_ONLY. */
  readOnly = false
  /** New transactions and autocommit statements are READ ONLY (SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY). */
  defaultReadOnly = false
  /** The open transaction's savepoints, oldest first, with what ROLLBACK TO restores. */
  readonly savepoints: { readonly name: string; readonly rowsChanged: number; readonly changedSchema: boolean; readonly changedState: boolean }[] = []
  /** DuckDB connection for this transaction's private overlay reads (see docs/time-model.md). */
  overlay: ColumnSession | undefined
  /**
   * The rows the open transaction inserted, while all went into one table through large plain INSERTs
   * or a bulk insert: handed to the sync when it commits, so that the column store need not read them
   * back (src/sync/syncer.ts, offer). Undefined: none yet; null: given up for this transaction (a small
   * statement, another table, ON CONFLICT, a key without a text, ROLLBACK TO, too many rows).
   */
  inserted: InsertedRows | null | undefined
  /**
   * The rows subsystems appended in the open transaction (a source's events, a stream's results;
   * StatementCall.appendRowsSync), by table: handed to the sync with `inserted` when it commits. A table
   * a subsystem also wrote otherwise in the transaction maps to null (its rows are read back); the
   * whole is null once given up (ROLLBACK TO, too many rows).
   */
  appended: Map<string, InsertedRows | null> | null = new Map()
  /** The branch the session's statements run on (USE BRANCH; docs/branches.md). */
  branch: string = mainBranch
  /** Statements of one session run one at a time, as on one connection. */
  readonly statementLock = new Mutex()
  closed = false

  /** Forgets what an explicit transaction kept while it ran: when it ends, and before one begins. */
  forgetTransaction(): void {
    this.writing = false
    this.snapshotTx = undefined
    this.tablesRead.clear()
    this.conflict = undefined
    this.keysSince = undefined
    this.parked = undefined
    this.written = new Set()
    this.inserted = undefined
    this.appended = new Map()
    this.savepoints.length = 0
  }
}

/** One table's part of parked writes: per key its key values and its row as the transaction left it (undefined: deleted), in storage form. */
export interface ParkedTable {
  readonly table: TableDefinition
  readonly rows: readonly { readonly key: readonly RowValue[]; readonly row: readonly RowValue[] | undefined }[]
}

export interface ParkedWrites {
  readonly tables: readonly ParkedTable[]
}

/** The ledger's kind for the commit of `session`'s transaction. */
export function commitKind(session: Session): CommitKind {
  if (session.changedSchema) return 'ddl'
  return session.changedBranches ? 'branch' : 'data'
}

/**
 * READ ONLY (true) or READ WRITE (false) among a transaction statement's options (BEGIN, START
 * TRANSACTION, SET TRANSACTION: DefElems `transaction_read_only`), the last one winning as in
 * PostgreSQL; undefined when they say neither.
 *
 * @example
 * readOnlyOption(parseTree('BEGIN READ ONLY').stmts[0].stmt.TransactionStmt.options)  // true
 */
export function readOnlyOption(options: unknown): boolean | undefined {
  let readOnly: boolean | undefined
  for (const option of list(options)) {
    const definition = nodeBody(option, 'DefElem')
    if (definition?.['defname'] !== 'transaction_read_only') continue
    const argument = nodeBody(definition['arg'], 'A_Const')
    readOnly = argument !== undefined && constantValue(argument).value !== 0
  }
  return readOnly
}

/**
 * Adds a statement's inserted rows to what `session`'s transaction hands over (Session.inserted), or
 * gives that up: `rows` undefined means the statement's rows have no hand-over form.
 */
export function handOverInserted(session: Session, table: TableDefinition, rows: unknown[][] | undefined, rowsMax: number): void {
  const held = session.inserted
  if (held === null) return
  if (rows === undefined || (held !== undefined && held.table !== table) || (held?.rows.length ?? 0) + rows.length > rowsMax) {
    session.inserted = null
    return
  }
  if (held === undefined) session.inserted = { table, rows }
  else for (const row of rows) held.rows.push(row)
}

/**
 * Adds rows a subsystem appended to `table` to what `session`'s transaction hands over
 * (Session.appended); `rows` undefined (no hand-over form, or not only appended) gives the table up.
 */
export function handOverAppended(session: Session, table: TableDefinition, rows: unknown[][] | undefined, rowsMax: number): void {
  const appended = session.appended
  if (appended === null) return
  const held = appended.get(table.name)
  if (held === null) return
  if (rows === undefined || (held !== undefined && held.table !== table)) {
    appended.set(table.name, null)
    return
  }
  let total = rows.length
  for (const other of appended.values()) total += other?.rows.length ?? 0
  if (total > rowsMax) {
    session.appended = null
    return
  }
  if (held === undefined) appended.set(table.name, { table, rows })
  else for (const row of rows) held.rows.push(row)
}

/**
 * Appends a chunk's rows to `handed` in the sync's form — key text, then the row's `width` user
 * columns — or gives up (undefined) at a key without a text. `values` holds `count` rows, one every
 * `stride` values, each starting with its user columns in table order.
 */
export function handedRows(
  handed: unknown[][],
  keyText: (values: readonly unknown[], offset: number) => string | undefined,
  values: readonly unknown[],
  layout: { readonly count: number; readonly stride: number; readonly width: number },
): unknown[][] | undefined {
  const { count, stride, width } = layout
  for (let at = 0; at < count * stride; at += stride) {
    const key = keyText(values, at)
    if (key === undefined) return undefined
    const row: unknown[] = new Array(width + 1)
    row[0] = key
    for (let column = 0; column < width; column++) row[column + 1] = values[at + column]
    handed.push(row)
  }
  return handed
}
