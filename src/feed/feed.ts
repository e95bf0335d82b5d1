/**
 * Change feeds (SPEC 7): the history tables read back as a stream of row changes, in commit order.
 *
 * A feed is pull-based. It keeps a position in the feed's order and, when its consumer asks for the
 * next change and nothing is buffered, reads at most `limits.feedPageRows` versions from the history
 * on a reader connection of its own. When it has caught up it waits for the engine's next commit (or
 * a poll's timer: see `limits.feedPollIntervalMs`). A slow consumer therefore costs its position and at
 * most one page, never a queue of everything it has not read yet.
 *
 * How a transaction becomes changes (docs/time-model.md has the history layout): for commit N, table
 * t and key k, `before` is the version of k with `_tx_to = N AND _valid_to IS NULL` (the open version
 * N closed) and `after` the version with `_tx_from = N AND _valid_to IS NULL` (the open version N
 * wrote). Both → update, only after → insert, only before → delete. Versions with a bounded valid
 * time (`_valid_to` not NULL) are valid-time history, not the current state, so valid-time-only
 * corrections produce no change; nor does an update that leaves every column as it was.
 *
 * The order within a transaction: tables by name (JS string order), and within a table by the
 * history's version number of the change (the after version, or for a delete the closed version).
 * Every version N closes was written before N and has a smaller number than every version N writes,
 * so a table's deletions come first (oldest row first), then its inserts and updates in the order
 * the transaction wrote them.
 */
import type { RowConnection, RowValue } from '../storage/rowstore/rowstore.js'
import { historyTableName, keyColumn, openTxColumn, openWriterSql, rowIdColumn, type TableDefinition } from '../sql/catalog.js'
import { historyVersionsSql, keyMatch, openVersionsSql, writtenInRangeParams, writtenInRangeSql } from '../sql/ddl.js'
import { quoteIdentifier } from '../sql/tree.js'
import { fromStorage, microsToDate, readsIntegersAsBigints } from '../sql/types.js'
import { assert } from '../util/assert.js'
import { StrataError } from '../util/errors.js'
import { limits } from '../util/limits.js'

export type ChangeOperation = 'insert' | 'update' | 'delete'

/** A row as the library returns it (SPEC 3 JS values), user columns only. */
export type RowImage = Readonly<Record<string, unknown>>

/** One row change of one committed transaction. Plain frozen data. */
export interface Change {
  readonly txId: number
  readonly systemTime: Date
  readonly table: string
  readonly op: ChangeOperation
  /** The primary-key columns and values, or `{ _strata_row_id }` for a table without a primary key. */
  readonly key: RowImage
  readonly before: RowImage | null
  readonly after: RowImage | null
}

export interface SubscribeOptions {
  /** Only these tables (each must exist when subscribing). Default: every table, including later ones. */
  readonly tables?: readonly string[] | undefined
  /** Start with the changes of this transaction (inclusive). Default: the next commit. */
  readonly fromTx?: number | undefined
  /** A named, durable position: resumes right after its last acknowledged change. */
  readonly cursor?: string | undefined
}

/**
 * A place in the feed's order. `seq` is the change's ordinal within its transaction (0, 1, …; −1 =
 * before the first), `table` and `version` say where it was read, so a resumed feed starts right
 * after it without re-reading the transaction from its beginning.
 */
export interface FeedPosition {
  readonly txId: number
  readonly seq: number
  readonly table: string
  readonly version: number
}

/** What a feed needs from the engine; the engine implements it. */
export interface FeedHost {
  /** A read-only connection that sees the last commit (a WAL reader). */
  connectReaderSync(): RowConnection & { closeSync(): void }
  /** A user table's current definition; undefined when there is none (dropped, or a view). */
  table(name: string): TableDefinition | undefined
  isView(name: string): boolean
  tableNames(): readonly string[]
  lastCommittedTx(): number
  /**
   * Whether a write transaction is open. Its DDL is already in the catalog above but not yet visible
   * to a reader, so a history read that fails on a missing table or column waits for it to end.
   */
  writeInProgress(): boolean
  /** Calls `listener` synchronously after every commit; returns the function that removes it. */
  onCommit(listener: () => void): () => void
  /**
   * Writes `cursorUpsertSql` (via `saveCursorSync`) on the writer connection under the writer lock,
   * outside any ledger transaction: a cursor's progress is bookkeeping, not a fact about the data.
   */
  saveCursor(name: string, position: FeedPosition, options: { readonly createOnly: boolean }): Promise<void>
}

const cursorTable = '_strata_cursors'

/**
 * Persists a cursor position on the writer connection (the engine holds the writer lock). A position
 * only moves forward: acknowledging an older change after a newer one changes nothing.
 *
 * @example
 * saveCursorSync(writer, 'billing', { txId: 12, seq: 3, table: 'orders', version: 481 }, { createOnly: false })
 */
export function saveCursorSync(writer: RowConnection, name: string, position: FeedPosition, options: { readonly createOnly: boolean }): void {
  assert(!writer.inTransaction, 'a cursor is saved outside any transaction')
  writer.execSync(`CREATE TABLE IF NOT EXISTS ${cursorTable} (name TEXT PRIMARY KEY, tx_id INTEGER NOT NULL, seq INTEGER NOT NULL, table_name TEXT NOT NULL, version INTEGER NOT NULL) STRICT`)
  const conflict = options.createOnly
    ? 'DO NOTHING'
    : 'DO UPDATE SET tx_id = excluded.tx_id, seq = excluded.seq, table_name = excluded.table_name, version = excluded.version ' +
      `WHERE excluded.tx_id > ${cursorTable}.tx_id OR (excluded.tx_id = ${cursorTable}.tx_id AND excluded.seq > ${cursorTable}.seq)`
  writer
    .prepareSync(`INSERT INTO ${cursorTable} (name, tx_id, seq, table_name, version) VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) ${conflict}`)
    .runSync([name, position.txId, position.seq, position.table, position.version])
}

function readCursorSync(reader: RowConnection, name: string): FeedPosition | undefined {
  const exists = reader.prepareSync(`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '${cursorTable}'`).allSync([])[0]?.[0]
  if (Number(exists) === 0) return undefined
  const row = reader.prepareSync(`SELECT tx_id, seq, table_name, version FROM ${cursorTable} WHERE name = ?`).allSync([name])[0]
  if (row === undefined) return undefined
  return { txId: Number(row[0]), seq: Number(row[1]), table: String(row[2]), version: Number(row[3]) }
}

function comparePositions(a: FeedPosition, b: FeedPosition): number {
  return a.txId !== b.txId ? a.txId - b.txId : a.seq - b.seq
}

/** The start of transaction `txId`: nothing of it delivered yet. */
function transactionStart(txId: number): FeedPosition {
  return { txId, seq: -1, table: '', version: 0 }
}

/** Where each delivered change sits in the order, for `ack`. Changes stay plain data. */
const changePositions = new WeakMap<Change, FeedPosition>()

// ───────────────────────────── reading one table's history ─────────────────────────────

/** History's versions of a table as a derived table with the versions' columns. */
function historyVersionsOf(table: TableDefinition): string {
  return `(${historyVersionsSql(table)})`
}

/** The parameters of the afters of commit `txId` in the statements below (history's, then the table's). */
function aftersParams(txId: number): number[] {
  return [txId, ...writtenInRangeParams(txId - 1, txId)]
}

/** Offsets of the fixed columns in every history row this module reads. */
const versionColumn = 0
const keyTextColumn = 1
const systemFromColumn = 2
const systemToColumn = 3
const firstUserColumn = 4

/** The SQL and shapes for reading one table definition's history; rebuilt when the definition changes. */
class HistoryReader {
  readonly bigints: boolean
  readonly probe: string
  readonly hasAfters: string
  readonly hasBefores: string
  readonly afters: string
  readonly beforesOfKeys: string
  readonly deletions: string
  readonly deletionsBesideAfters: string
  private readonly keyIndexes: readonly number[] | undefined

  constructor(readonly table: TableDefinition) {
    // A before (a version some commit closed) is always in history; an after (a version a commit wrote)
    // is in the table while it is open and in history once closed: read from both (ddl.ts versionsSql).
    const history = `main.${quoteIdentifier(historyTableName(table.name))}`
    // The open-ended versions commit N wrote (the `?`s take `aftersParams(N)`): those still open are the
    // table's rows N wrote (src/sql/ddl.ts writtenInRangeSql), the rest history's, closed later.
    const afters =
      `(SELECT * FROM ${historyVersionsOf(table)} WHERE _tx_from = ? AND _valid_to IS NULL ` +
      `UNION ALL SELECT * FROM (${openVersionsSql(table)} WHERE ${writtenInRangeSql(table, '_strata_open')}))`
    const fields = `SELECT _version, ${quoteIdentifier(keyColumn)}, _system_from, _system_to${table.columns.map((column) => `, ${quoteIdentifier(column.name)}`).join('')} FROM`
    const open = '_valid_to IS NULL'
    this.bigints = readsIntegersAsBigints(table.columns.map((column) => column.type))
    // Each minimum is a single index seek: history's `_tx_from` and partial `_tx_to` indexes, and the
    // table's by inserting transaction (a row an UPDATE wrote closed a version: history's `_tx_to`).
    this.probe =
      `SELECT (SELECT min(_tx_from) FROM ${history} WHERE _tx_from >= ?), (SELECT min(${quoteIdentifier(openTxColumn)}) FROM main.${quoteIdentifier(table.name)} WHERE ${quoteIdentifier(openTxColumn)} >= ?), ` +
      `(SELECT min(_tx_to) FROM ${history} WHERE _tx_to >= ?)`
    // Whether N has afters, by index seeks: an open-ended version N wrote that history holds (closed
    // later), a row N inserted, or the row of a key N closed a version of, written by N (an UPDATE).
    this.hasAfters =
      `SELECT 1 WHERE EXISTS (SELECT 1 FROM ${history} WHERE _tx_from = ? AND ${open}) ` +
      `OR EXISTS (SELECT 1 FROM main.${quoteIdentifier(table.name)} WHERE ${quoteIdentifier(openTxColumn)} = ?) ` +
      `OR EXISTS (SELECT 1 FROM ${history} AS _strata_closed JOIN main.${quoteIdentifier(table.name)} AS _strata_row ON ${keyMatch(table, '_strata_row', '_strata_closed')} ` +
      `WHERE _strata_closed._tx_to = ? AND ${openWriterSql('_strata_row')} = _strata_closed._tx_to)`
    this.hasBefores = `SELECT 1 FROM ${history} WHERE _tx_to = ? AND ${open} LIMIT 1`
    this.afters = `${fields} ${afters} WHERE _version > ? ORDER BY _version LIMIT ?`
    // The keys come as one JSON array; SQLite turns the IN list into a lookup table once per call.
    this.beforesOfKeys = `${fields} ${history} WHERE _tx_to = ? AND ${open} AND ${quoteIdentifier(keyColumn)} IN (SELECT value FROM json_each(?))`
    this.deletions = `${fields} ${history} WHERE _tx_to = ? AND ${open} AND _version > ? ORDER BY _version LIMIT ?`
    this.deletionsBesideAfters =
      `${fields} ${history} WHERE _tx_to = ? AND ${open} AND _version > ? AND ${quoteIdentifier(keyColumn)} NOT IN ` +
      `(SELECT ${quoteIdentifier(keyColumn)} FROM ${afters}) ORDER BY _version LIMIT ?`
    this.keyIndexes = table.primaryKey === null ? undefined : table.primaryKey.map((name) => table.columns.findIndex((column) => column.name === name))
    assert(this.keyIndexes === undefined || this.keyIndexes.every((index) => index >= 0), `the primary key of ${table.name} names its columns`)
  }

  image(row: readonly RowValue[]): RowImage {
    const image: Record<string, unknown> = {}
    const columns = this.table.columns
    for (let index = 0; index < columns.length; index++) {
      const column = columns[index]!
      image[column.name] = plainValue(fromStorage(row[firstUserColumn + index], column.type))
    }
    return Object.freeze(image)
  }

  key(row: readonly RowValue[]): RowImage {
    const key: Record<string, unknown> = {}
    if (this.keyIndexes === undefined) {
      const parts = JSON.parse(String(row[keyTextColumn])) as unknown[]
      key[rowIdColumn] = parts[0]
    } else {
      for (const index of this.keyIndexes) {
        const column = this.table.columns[index]!
        key[column.name] = plainValue(fromStorage(row[firstUserColumn + index], column.type))
      }
    }
    return Object.freeze(key)
  }

  /** Whether two versions hold the same values in every user column (storage forms). */
  sameValues(a: readonly RowValue[], b: readonly RowValue[]): boolean {
    for (let index = firstUserColumn; index < firstUserColumn + this.table.columns.length; index++) {
      if (!sameValue(a[index] ?? null, b[index] ?? null)) return false
    }
    return true
  }
}

/** SPEC 3 says BLOB → Uint8Array; SQLite hands out Node Buffers, a subclass with other methods. */
function plainValue(value: unknown): unknown {
  return value instanceof Uint8Array && value.constructor !== Uint8Array ? new Uint8Array(value) : value
}

function sameValue(a: RowValue, b: RowValue): boolean {
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.length !== b.length) return false
    for (let index = 0; index < a.length; index++) if (a[index] !== b[index]) return false
    return true
  }
  // A bigint and a number of the same integer are the same stored value (bigints are per statement).
  return typeof a === typeof b ? a === b : a !== null && b !== null && BigInt(a as number | bigint) === BigInt(b as number | bigint)
}

const historyReaders = new WeakMap<TableDefinition, HistoryReader>()

function historyReader(table: TableDefinition): HistoryReader {
  let reader = historyReaders.get(table)
  if (reader === undefined) {
    reader = new HistoryReader(table)
    historyReaders.set(table, reader)
  }
  return reader
}

// ───────────────────────────── subscriptions ─────────────────────────────

/**
 * One subscriber's feed: an AsyncIterable of changes with `ack` and `close`.
 *
 * @example
 * const feed = db.subscribe({ tables: ['orders'], cursor: 'billing' })
 * for await (const change of feed) {
 *   await bill(change)
 *   await feed.ack(change)   // a restart resumes right after this change
 * }
 */
export class ChangeSubscription implements AsyncIterableIterator<Change> {
  /** Changes read but not yet handed out: at most one page (`limits.feedPageRows`). */
  private buffer: Change[] = []
  private bufferHead = 0
  /** The last change read (delivered or buffered), or the start of the next transaction to read. */
  private position: FeedPosition
  /** Per table: its definition when probed, and the next transaction ≥ the position that touched it (null: none yet). */
  private readonly nextTouch = new Map<string, { readonly table: TableDefinition; readonly txId: number | null }>()
  private closed = false
  private wakeUp: (() => void) | undefined
  private readonly stopListening: () => void
  /** next() calls run one after another, each getting its own change. */
  private pendingNext: Promise<unknown> = Promise.resolve()
  /** Creating a cursor the first time it is used: under way, done, or (undefined) to be retried. */
  private creatingCursor: Promise<void> | undefined
  private cursorExists: boolean
  /** The last commit of this process when tables with nothing to read were last probed; a poll clears it. */
  private emptyProbesCommit: number | undefined
  private highestAcknowledged: FeedPosition | undefined
  private saved: FeedPosition | undefined
  private saving: { readonly promise: Promise<void>; readonly target: FeedPosition } | undefined

  /**
   * The first transaction this feed reads: `fromTx`, the commit after the last one when it was made, or
   * (a cursor's) the transaction it resumes in. Every change of an earlier transaction is before it.
   */
  readonly startTx: number

  constructor(
    private readonly host: FeedHost,
    private readonly reader: RowConnection,
    private readonly tableFilter: readonly string[] | undefined,
    start: FeedPosition,
    private readonly cursor: { readonly name: string; readonly created: boolean } | undefined,
    private readonly onClose: (subscription: ChangeSubscription) => void,
  ) {
    this.startTx = start.txId
    this.position = start
    this.stopListening = host.onCommit(() => this.wakeUp?.())
    this.saved = start
    // A cursor exists from its first subscribe, at its start: changes committed after that are never
    // missed, even if the consumer stops before acknowledging anything.
    this.cursorExists = cursor === undefined || !cursor.created
    if (!this.cursorExists) this.ensureCursor().catch(() => undefined)
  }

  /** How many changes are read from the history but not yet handed out (≤ `limits.feedPageRows`). */
  get bufferedCount(): number {
    return this.buffer.length - this.bufferHead
  }

  get isClosed(): boolean {
    return this.closed
  }

  /**
   * Every transaction before this one has been read whole: once the buffer is empty, a consumer has
   * been handed all of their changes (a streaming sink commits its position only up to such a
   * transaction, so it never records one it delivered in part).
   */
  get readWholeBeforeTx(): number {
    return this.position.txId
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  next(): Promise<IteratorResult<Change, undefined>> {
    const result = this.pendingNext.then(() => this.nextOne())
    this.pendingNext = result.catch(() => undefined)
    return result
  }

  /** Ending a `for await` loop (break, return, throw) closes the feed; `ack` keeps working. */
  async return(): Promise<IteratorResult<Change, undefined>> {
    this.close()
    return { done: true, value: undefined }
  }

  /**
   * Acknowledges `change` and every change before it. For a named cursor, resolves once that position
   * is durable; acknowledgements that arrive while one is being written are merged into the next write.
   */
  async ack(change: Change): Promise<void> {
    const position = changePositions.get(change)
    if (position === undefined) throw new StrataError('INVALID_PARAMETER', 'ack() takes a change this database delivered through subscribe()')
    if (this.highestAcknowledged === undefined || comparePositions(position, this.highestAcknowledged) > 0) this.highestAcknowledged = position
    const cursor = this.cursor
    if (cursor === undefined) return
    while (this.saved === undefined || comparePositions(this.saved, position) < 0) {
      if (this.saving === undefined) {
        const target = this.highestAcknowledged
        const promise = this.host.saveCursor(cursor.name, target, { createOnly: false }).then(() => {
          if (this.saved === undefined || comparePositions(target, this.saved) > 0) this.saved = target
        })
        const attempt = { promise, target }
        this.saving = attempt
        void promise.then(
          () => (this.saving === attempt ? (this.saving = undefined) : undefined),
          () => (this.saving === attempt ? (this.saving = undefined) : undefined),
        )
      }
      const attempt = this.saving
      try {
        await attempt.promise
      } catch (error) {
        // A failed write that covered this position fails this ack; one that did not is retried.
        if (comparePositions(attempt.target, position) >= 0) throw error
      }
    }
  }

  /** Ends the feed: a pending next() resolves done. Idempotent. */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.buffer = []
    this.bufferHead = 0
    this.stopListening()
    this.wakeUp?.()
    this.onClose(this)
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close()
  }

  private ensureCursor(): Promise<void> {
    if (this.cursorExists) return Promise.resolve()
    this.creatingCursor ??= this.host.saveCursor(this.cursor!.name, this.position, { createOnly: true }).then(
      () => {
        this.cursorExists = true
      },
      (error: unknown) => {
        // Retried by the next next() (the writer lock may have been held by a long transaction).
        this.creatingCursor = undefined
        throw error
      },
    )
    return this.creatingCursor
  }

  private async nextOne(): Promise<IteratorResult<Change, undefined>> {
    await this.ensureCursor()
    for (;;) {
      if (this.closed) return { done: true, value: undefined }
      if (this.bufferHead < this.buffer.length) {
        const change = this.buffer[this.bufferHead]!
        this.bufferHead++
        if (this.bufferHead === this.buffer.length) {
          this.buffer = []
          this.bufferHead = 0
        }
        return { done: false, value: change }
      }
      this.readPageSync()
      if (this.bufferedCount > 0) continue
      await this.waitForCommit()
    }
  }

  private waitForCommit(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        if (this.wakeUp === done) this.wakeUp = undefined
        resolve()
      }
      // Commits wake the feed at once (only this process writes the directory: its lock); the poll
      // moves a feed on that stopped at a table altered by a transaction that then rolled back.
      const timer = setTimeout(() => {
        this.emptyProbesCommit = undefined
        done()
      }, limits.feedPollIntervalMs)
      this.wakeUp = done
    })
  }

  /** The tables this feed reads now, by name: the filter's tables that still exist, or all of them. */
  private currentTables(): TableDefinition[] {
    const names = this.tableFilter ?? this.host.tableNames()
    const tables: TableDefinition[] = []
    for (const name of names) {
      const table = this.host.table(name)
      if (table !== undefined) tables.push(table)
    }
    return tables.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  }

  /** The first transaction ≥ `fromTx` that wrote or closed a version of `table`, or null. */
  private probeSync(table: TableDefinition, fromTx: number): number | null {
    let row: RowValue[] | undefined
    try {
      row = this.reader.prepareSync(historyReader(table).probe).allSync([fromTx, fromTx, fromTx])[0]
    } catch (error) {
      // No committed history table (created, or dropped, by a transaction still open): nothing to read in it now.
      if (error instanceof StrataError && error.code === 'UNDEFINED_TABLE') return null
      throw error
    }
    const found = (row ?? []).filter((txId) => txId !== null).map(Number)
    return found.length === 0 ? null : Math.min(...found)
  }

  /** Reads changes into the buffer until it holds a page or the feed has read every commit. */
  private readPageSync(): void {
    try {
      this.readCommittedSync()
    } catch (error) {
      // An open transaction changed a table's shape (ALTER) and the reader does not see it yet: stop
      // here, keep the position, and carry on after that transaction ends.
      const shape = error instanceof StrataError && (error.code === 'UNDEFINED_TABLE' || error.code === 'UNDEFINED_COLUMN')
      if (!shape || !this.host.writeInProgress()) throw error
    }
  }

  private readCommittedSync(): void {
    const tables = this.currentTables()
    const present = new Set(tables.map((table) => table.name))
    for (const name of [...this.nextTouch.keys()]) if (!present.has(name)) this.nextTouch.delete(name)
    // Tables with nothing found last time are probed again only after a commit (or a poll), so a caught-up feed over many tables costs nothing while nothing happens.
    const lastCommit = this.host.lastCommittedTx()
    const probeEmpty = this.emptyProbesCommit !== lastCommit
    this.emptyProbesCommit = lastCommit
    for (const table of tables) {
      const known = this.nextTouch.get(table.name)
      // A table never seen, altered or re-created since, or (after a commit) with nothing found last time.
      if (known === undefined || known.table !== table || (known.txId === null && probeEmpty)) {
        this.nextTouch.set(table.name, { table, txId: this.probeSync(table, this.position.txId) })
      }
    }
    while (this.bufferedCount < limits.feedPageRows) {
      let txId: number | undefined
      for (const { txId: touched } of this.nextTouch.values()) if (touched !== null && (txId === undefined || touched < txId)) txId = touched
      if (txId === undefined) return
      assert(txId >= this.position.txId, 'the feed never goes back')
      if (txId > this.position.txId) this.position = transactionStart(txId)
      for (const table of tables) {
        if (this.nextTouch.get(table.name)?.txId !== txId) continue
        // On resuming inside a transaction, tables ordered before the position are done already.
        if (table.name >= this.position.table) {
          if (!this.readTableSync(table, txId)) return
          this.position = { ...this.position, table: table.name, version: Number.MAX_SAFE_INTEGER }
        }
        this.nextTouch.set(table.name, { table, txId: this.probeSync(table, txId + 1) })
      }
      this.position = transactionStart(txId + 1)
    }
  }

  /** Reads the changes of `table` in transaction `txId` after the position; false when the page filled first. */
  private readTableSync(table: TableDefinition, txId: number): boolean {
    const history = historyReader(table)
    const options = { bigints: history.bigints }
    const hasAfters = this.reader.prepareSync(history.hasAfters).allSync([txId, txId, txId]).length > 0
    const hasBefores = this.reader.prepareSync(history.hasBefores).allSync([txId]).length > 0
    if (hasBefores) {
      for (;;) {
        const room = limits.feedPageRows - this.bufferedCount
        if (room <= 0) return false
        const after = this.position.table === table.name ? this.position.version : 0
        const rows = hasAfters
          ? this.reader.prepareSync(history.deletionsBesideAfters, options).allSync([txId, after, ...aftersParams(txId), room])
          : this.reader.prepareSync(history.deletions, options).allSync([txId, after, room])
        for (const row of rows) this.emit(history, txId, row, null)
        if (rows.length < room) break
      }
    }
    if (hasAfters) {
      for (;;) {
        const room = limits.feedPageRows - this.bufferedCount
        if (room <= 0) return false
        const after = this.position.table === table.name ? this.position.version : 0
        // One row more than there is room for says whether another page follows, so a transaction
        // that fills the page exactly costs no second query.
        const rows = this.reader.prepareSync(history.afters, options).allSync([...aftersParams(txId), after, room + 1])
        const more = rows.length > room
        if (more) rows.length = room
        let befores: Map<string, RowValue[]> | undefined
        if (hasBefores && rows.length > 0) {
          const keys = JSON.stringify(rows.map((row) => String(row[keyTextColumn])))
          befores = new Map(this.reader.prepareSync(history.beforesOfKeys, options).allSync([txId, keys]).map((row) => [String(row[keyTextColumn]), row]))
        }
        for (const row of rows) this.emit(history, txId, befores?.get(String(row[keyTextColumn])) ?? null, row)
        if (!more) break
      }
    }
    return true
  }

  private emit(history: HistoryReader, txId: number, before: RowValue[] | null, after: RowValue[] | null): void {
    const event = (after ?? before)!
    const version = Number(event[versionColumn])
    assert(this.position.txId === txId, 'changes are read one transaction at a time')
    assert(this.position.table !== history.table.name || version > this.position.version, 'a table’s changes are read in version order')
    if (before !== null && after !== null && history.sameValues(before, after)) {
      // Nothing visible changed (a rewrite with the same values, or a valid-time-only correction).
      this.position = { ...this.position, table: history.table.name, version }
      return
    }
    const position: FeedPosition = { txId, seq: this.position.seq + 1, table: history.table.name, version }
    const change: Change = Object.freeze({
      txId,
      systemTime: microsToDate(after !== null ? (after[systemFromColumn] as number | bigint) : (before![systemToColumn] as number | bigint)),
      table: history.table.name,
      op: before === null ? 'insert' : after === null ? 'delete' : 'update',
      key: history.key(event),
      before: before === null ? null : history.image(before),
      after: after === null ? null : history.image(after),
    })
    changePositions.set(change, position)
    this.position = position
    this.buffer.push(change)
  }
}

/**
 * The engine's feeds: creates subscriptions on one shared reader connection (reads are synchronous,
 * so feeds never interleave on it) and closes them all when the database closes.
 */
export class ChangeFeeds {
  private reader: (RowConnection & { closeSync(): void }) | undefined
  private readonly open = new Set<ChangeSubscription>()

  constructor(private readonly host: FeedHost) {}

  /**
   * Validates the options and starts a feed (SPEC 7). Nothing is read until the first next().
   *
   * @example
   * const feed = feeds.subscribe({ tables: ['orders'], fromTx: 1 })
   */
  subscribe(options: SubscribeOptions = {}): ChangeSubscription {
    if (typeof options !== 'object' || options === null) throw new StrataError('INVALID_PARAMETER', 'subscribe() takes an options object')
    const { tables, fromTx, cursor } = options
    if (fromTx !== undefined && (typeof fromTx !== 'number' || !Number.isSafeInteger(fromTx) || fromTx < 0)) {
      throw new StrataError('INVALID_PARAMETER', `fromTx must be a transaction id (a non-negative integer), not ${String(fromTx)}`)
    }
    if (cursor !== undefined && (typeof cursor !== 'string' || cursor === '')) throw new StrataError('INVALID_PARAMETER', 'cursor must be a non-empty string')
    let filter: string[] | undefined
    if (tables !== undefined) {
      if (!Array.isArray(tables) || tables.length === 0 || !tables.every((name) => typeof name === 'string')) {
        throw new StrataError('INVALID_PARAMETER', 'tables must be a non-empty array of table names (omit it for every table)')
      }
      for (const name of tables) {
        if (this.host.table(name) === undefined) {
          throw new StrataError('UNDEFINED_TABLE', this.host.isView(name) ? `"${name}" is a view; only tables have change feeds` : `table "${name}" does not exist`)
        }
      }
      filter = [...new Set(tables)]
    }
    this.reader ??= this.host.connectReaderSync()
    const saved = cursor === undefined ? undefined : readCursorSync(this.reader, cursor)
    const start = saved ?? transactionStart(Math.max(1, fromTx ?? this.host.lastCommittedTx() + 1))
    const subscription = new ChangeSubscription(
      this.host,
      this.reader,
      filter,
      start,
      cursor === undefined ? undefined : { name: cursor, created: saved === undefined },
      (closed) => this.open.delete(closed),
    )
    this.open.add(subscription)
    return subscription
  }

  /** Number of open subscriptions (tests and status). */
  get openCount(): number {
    return this.open.size
  }

  /** The database is closing: every feed ends (pending next() calls resolve done). */
  closeAll(): void {
    for (const subscription of [...this.open]) subscription.close()
    this.reader?.closeSync()
    this.reader = undefined
  }
}
