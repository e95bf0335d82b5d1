/**
 * Owns the column store and keeps it following the ledger: started lazily (the first analytical read,
 * or shortly after a commit), woken by each commit, and waited on by fresh reads.
 */
import { existsSync, renameSync } from 'node:fs'
import type { ColumnSession, ColumnStore } from '../storage/columnstore/columnstore.js'
import type { RowConnection } from '../storage/rowstore/rowstore.js'
import type { Ledger } from '../ledger/ledger.js'
import { StrataError } from '../util/errors.js'
import { limits } from '../util/limits.js'
import { applyChangesBatched, batchUpperBound, handedRowsStandSync, mirrorHistory, prepareMirror, readAppliedTx, readLedgerRangeSync, readMirrorState, readRangeSync, recordPosition, reshapedIn, StatementBatch, type InsertedRows, type LedgerRange, type MirrorState, type RangeChanges } from './mirror.js'

/**
 * Whether DuckDB could not open the column store's file because of what the file holds: cut short
 * (a SIGKILL while DuckDB was creating it leaves its first block alone) or not a DuckDB file at all.
 * Not for any other failure to open (a lock, a permission, memory), which is reported as it is.
 */
function unreadableFile(error: unknown): boolean {
  return error instanceof StrataError && error.code === 'IO_ERROR' && /could not read enough bytes|not a valid duckdb database file/i.test(error.message)
}

/** Moves the file and its WAL aside, under a name that says when and why. */
function setAsideSync(file: string): void {
  const aside = `${file}.unreadable-${new Date().toISOString().replaceAll(':', '-')}`
  renameSync(file, aside)
  if (existsSync(`${file}.wal`)) renameSync(`${file}.wal`, `${aside}.wal`)
}

interface Waiter {
  readonly txId: number
  readonly resolve: () => void
  readonly reject: (error: unknown) => void
}

export class Syncer {
  private store: Promise<ColumnStore> | undefined
  private syncSession: ColumnSession | undefined
  /** The mirror's bookkeeping as of appliedTx, kept here so that a batch need not read it from DuckDB. */
  private mirrorState: MirrorState | undefined
  private appliedTx = -1
  private running: Promise<void> | undefined
  private again = false
  /** When the last sync step ended (performance.now()), and the timer of a step coalesced after it (wake). */
  private lastStepEndedMs = -Infinity
  private coalesced: NodeJS.Timeout | undefined
  private waiters: Waiter[] = []
  /**
   * Tables whose history the mirror keeps, as far as this process knows (a cache of
   * strata_meta.history_mirrored), as `name@schemaTx`: a table dropped and created again is another table.
   */
  private readonly historyMirrored = new Set<string>()
  private historyRequests: { readonly tables: readonly string[]; readonly resolve: () => void; readonly reject: (error: unknown) => void }[] = []
  /**
   * Rows that commits inserted (a bulk insert, a transaction of large plain INSERTs, a subsystem's
   * appends: a source's events, a stream's results), by transaction and table, handed over so that the
   * step applying such a commit need not read them back from the row store (`offer`); at most
   * `limits.syncHandoffRowsMax` rows are held.
   */
  private readonly handedOver = new Map<number, readonly InsertedRows[]>()
  private handedOverRows = 0
  /** Steps applied from handed-over rows (tests and status). */
  stepsFromHandedOver = 0
  private lastError: unknown
  private closed = false
  private readonly sessionsFree: ColumnSession[] = []

  /** The row-store connection CDC reads its snapshots on, opened with the first batch (the row store closes it). */
  private snapshotReaderConnection: RowConnection | undefined

  constructor(
    private readonly file: string,
    private readonly connectSnapshotReader: () => RowConnection,
    private readonly ledger: Ledger,
  ) {}

  private get snapshotReader(): RowConnection {
    this.snapshotReaderConnection ??= this.connectSnapshotReader()
    return this.snapshotReaderConnection
  }

  get started(): boolean {
    return this.store !== undefined
  }

  /** The highest transaction the mirror reflects, or -1 before the column store has started. */
  get lastAppliedTx(): number {
    return this.appliedTx
  }

  /** Opens DuckDB on first use and starts catching up (the column store's module, too, loads only then). */
  columnStore(): Promise<ColumnStore> {
    this.store ??= (async () => {
      const { openColumnStore } = await import('../storage/columnstore/columnstore.js')
      let store: ColumnStore
      try {
        store = await openColumnStore(this.file)
      } catch (error) {
        if (!unreadableFile(error)) throw error
        // The file is derived from the ledger: set aside (kept for a look), it is made anew and caught up.
        setAsideSync(this.file)
        store = await openColumnStore(this.file)
      }
      const session = await store.connect()
      await prepareMirror(session)
      this.appliedTx = await readAppliedTx(session)
      this.mirrorState = await readMirrorState(session)
      this.syncSession = session
      return store
    })()
    const started = this.store
    void started.then(() => this.wake(), () => undefined)
    return started
  }

  /**
   * A commit happened: run the sync soon (if the column store is up; otherwise start it). Commits that
   * follow each other closely are applied together: a step starts at most every
   * `limits.syncCoalesceMs` unless a reader waits for it (`waitForApplied`) — one small DuckDB
   * transaction per commit would cost more than the commits themselves.
   */
  wake(): void {
    this.start(false)
  }

  private start(urgent: boolean): void {
    if (this.closed) return
    if (this.store === undefined) {
      void this.columnStore().catch((error: unknown) => {
        this.lastError = error
      })
      return
    }
    if (this.syncSession === undefined) return
    if (this.running !== undefined) {
      this.again = true
      return
    }
    const dueMs = this.lastStepEndedMs + limits.syncCoalesceMs
    if (!urgent && this.waiters.length === 0 && this.historyRequests.length === 0 && performance.now() < dueMs) {
      this.coalesced ??= setTimeout(() => {
        this.coalesced = undefined
        this.start(true)
      }, dueMs - performance.now())
      return
    }
    if (this.coalesced !== undefined) {
      clearTimeout(this.coalesced)
      this.coalesced = undefined
    }
    this.running = this.loop().finally(() => {
      this.running = undefined
      this.lastStepEndedMs = performance.now()
      if (this.again && !this.closed) {
        this.again = false
        this.start(this.waiters.length > 0 || this.historyRequests.length > 0)
      }
    })
  }

  private async loop(): Promise<void> {
    while (!this.closed && (this.appliedTx < this.ledger.lastCommitted.txId || this.historyRequests.length > 0)) {
      try {
        if (this.historyRequests.length > 0) await this.startHistory()
        else await this.batch()
        this.lastError = undefined
      } catch (error) {
        this.lastError = error
        const failure = new StrataError('IO_ERROR', `the column store sync failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
        for (const waiter of this.waiters.splice(0)) waiter.reject(failure)
        for (const request of this.historyRequests.splice(0)) request.reject(failure)
        return
      }
    }
  }

  /**
   * Commit `txId` inserted `inserted` (per table, each the rows it inserted there): the step that applies
   * it may take them from here instead of reading them from the row store (`batch`; mirror.ts decides
   * per table whether they are exactly what it would read). Called as the commit becomes durable, before
   * `wake`. Small commits are read back as usual (`limits.syncHandoffRowsMin`: holding them is not worth
   * a step of their own), and so is a held backlog beyond `limits.syncHandoffRowsMax` rows.
   */
  offer(txId: number, inserted: readonly InsertedRows[]): void {
    const count = rowsIn(inserted)
    if (this.closed || count < limits.syncHandoffRowsMin || this.handedOverRows + count > limits.syncHandoffRowsMax) return
    this.handedOver.set(txId, inserted)
    this.handedOverRows += count
  }

  private forgetHandedOver(throughTx: number): void {
    for (const [txId, inserted] of this.handedOver) {
      if (txId > throughTx) continue
      this.handedOver.delete(txId)
      this.handedOverRows -= rowsIn(inserted)
    }
  }

  /**
   * Where the step from `fromTx` ends: as `batchUpperBound` says, but where commits with rows handed
   * over lie in the range and another commit of it wrote a table they cover, a run of them gets a step
   * of its own, so that the table is not read back because another commit of the same step wrote it
   * too (mirror.ts, handedRowsOf). A
   * step may end early only where no schema change or erasure follows before the snapshot's end (it
   * reads the catalog as of the snapshot); otherwise it reaches the end, and the tables only handed
   * over commits wrote are still taken from their rows.
   */
  private stepEnd(source: RowConnection, fromTx: number, committedTx: number): number {
    const toTx = batchUpperBound(source, fromTx, committedTx)
    let first: number | undefined
    const inRange: InsertedRows[] = []
    for (const [txId, inserted] of this.handedOver) {
      if (txId <= fromTx || txId > toTx) continue
      if (first === undefined || txId < first) first = txId
      inRange.push(...inserted)
    }
    if (first === undefined) return toTx
    // No other commit of the range wrote the tables they cover (a push's source and a push into
    // another source, say): one step takes them all, the handed tables from their rows.
    if (!reshapedIn(source, fromTx, toTx) && handedRowsStandSync(source, fromTx, toTx, inRange)) return toTx
    let end = first - 1
    if (first === fromTx + 1) {
      end = first
      while (end < toTx && this.handedOver.has(end + 1)) end++
    }
    return end < toTx && !reshapedIn(source, end, committedTx) ? end : toTx
  }

  /** The rows handed over for commits in the ledger's range. */
  private handedIn(ledger: LedgerRange): InsertedRows[] {
    const handed: InsertedRows[] = []
    if (this.handedOver.size === 0) return handed
    for (const commit of ledger.commits) for (const inserted of this.handedOver.get(Number(commit[0])) ?? []) handed.push(inserted)
    return handed
  }

  /** One DuckDB transaction moving the mirror from applied to at most the latest commit. */
  private async batch(): Promise<void> {
    const session = this.syncSession!
    const source = this.snapshotReader
    // One SQLite read transaction for every read of the step: catalog, changes and commits come from
    // one snapshot even if writers commit meanwhile. It ends before the column store's work, so the
    // writer's checkpoints are never held back while DuckDB appends (the WAL would grow meanwhile, and
    // every commit would try to checkpoint it again).
    source.execSync('BEGIN')
    let changes: RangeChanges
    let ledgerRange: LedgerRange
    try {
      const committedRow = source.prepareSync('SELECT max(tx_id) FROM _strata_tx').allSync([])[0]
      const committedTx = Number(committedRow?.[0] ?? 0)
      if (committedTx <= this.appliedTx) return
      const fromTx = this.appliedTx
      this.forgetHandedOver(fromTx)
      const toTx = this.stepEnd(source, fromTx, committedTx)
      const range = { fromTx, toTx, catalog: this.ledger.loadCatalogSync(source) }
      ledgerRange = readLedgerRangeSync(source, fromTx, toTx)
      changes = readRangeSync(source, range, this.mirrorState!, this.handedIn(ledgerRange))
      if (changes.tables.some((table) => table.handedOver === true)) this.stepsFromHandedOver++
    } finally {
      source.execSync('COMMIT')
    }
    // One DuckDB call when the batch moves few rows: BEGIN, every statement and the COMMIT at once. An
    // append (many rows, history) first sends what is queued, BEGIN included (it is queued as `ddl`).
    const batch = new StatementBatch(session)
    let state: MirrorState
    try {
      batch.add('BEGIN TRANSACTION', { ddl: true })
      state = (await applyChangesBatched(batch, changes, this.mirrorState!)).state
      await recordPosition(batch, ledgerRange)
      batch.add('COMMIT')
      await batch.flush()
    } catch (error) {
      await session.runStatements('ROLLBACK').catch(() => undefined)
      throw error
    }
    const toTx = ledgerRange.toTx
    this.mirrorState = state
    this.appliedTx = toTx
    this.forgetHandedOver(toTx)
    const ready = this.waiters.filter((waiter) => waiter.txId <= toTx)
    this.waiters = this.waiters.filter((waiter) => waiter.txId > toTx)
    for (const waiter of ready) waiter.resolve()
  }

  /**
   * Makes the mirror keep the history of `tables` (the first column-store read of a table's history
   * asks for it): copied once, as of the mirror's position, then applied by every sync. Until then the
   * sync moves only current rows, which is most of its work.
   */
  async mirrorHistory(tables: readonly { readonly name: string; readonly schemaTx: number }[]): Promise<void> {
    await this.columnStore()
    if (tables.every((table) => this.historyMirrored.has(`${table.name}@${table.schemaTx}`))) return
    await new Promise<void>((resolve, reject) => {
      this.historyRequests.push({ tables: tables.map((table) => table.name), resolve, reject })
      this.start(true)
    })
  }

  /** One DuckDB transaction that starts mirroring the requested tables' history, at the mirror's position. */
  private async startHistory(): Promise<void> {
    const requests = this.historyRequests.splice(0)
    const session = this.syncSession!
    const source = this.snapshotReader
    source.execSync('BEGIN')
    try {
      const catalog = this.ledger.loadCatalogSync(source)
      const tables = [...new Set(requests.flatMap((request) => request.tables))].flatMap((name) => {
        const table = catalog.tables.get(name)
        return table === undefined ? [] : [table]
      })
      await session.runStatements('BEGIN TRANSACTION')
      const batch = new StatementBatch(session)
      let state: MirrorState
      try {
        state = await mirrorHistory(batch, source, tables, this.appliedTx, this.mirrorState!)
        batch.add('COMMIT')
        await batch.flush()
      } catch (error) {
        await session.runStatements('ROLLBACK').catch(() => undefined)
        for (const request of requests) request.reject(error)
        throw error
      }
      this.mirrorState = state
      for (const table of tables) this.historyMirrored.add(`${table.name}@${table.schemaTx}`)
      for (const request of requests) request.resolve()
    } finally {
      source.execSync('COMMIT')
    }
  }

  /** Resolves once the mirror reflects `txId`; STALE_READ_TIMEOUT after the bounded wait. */
  async waitForApplied(txId: number, options: { readonly timeoutMs?: number; readonly signal?: AbortSignal } = {}): Promise<void> {
    await this.columnStore()
    if (this.appliedTx >= txId) return
    const timeoutMs = options.timeoutMs ?? limits.freshReadWaitMs
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((waiter) => waiter !== entry)
        reject(new StrataError('STALE_READ_TIMEOUT', `the column store did not reach transaction ${txId} within ${timeoutMs} ms (it is at ${this.appliedTx})${this.lastError === undefined ? '' : `; last sync error: ${String(this.lastError)}`}`))
      }, timeoutMs)
      const entry: Waiter = {
        txId,
        resolve: () => {
          clearTimeout(timer)
          resolve()
        },
        reject: (error) => {
          clearTimeout(timer)
          reject(error)
        },
      }
      this.waiters.push(entry)
      options.signal?.addEventListener('abort', () => entry.reject(new StrataError('ABORTED', 'the read was aborted while waiting for the column store')), { once: true })
      this.start(true)
    })
  }

  /** A DuckDB connection for queries (pooled; give it back with release). */
  async acquireSession(): Promise<ColumnSession> {
    const store = await this.columnStore()
    const pooled = this.sessionsFree.pop()
    if (pooled !== undefined) return pooled
    const session = await store.connect()
    await session.run(`SET TimeZone = 'UTC'`)
    return session
  }

  /**
   * The column store's scratch session (ColumnStore.scratch: its own DuckDB, one thread, no tables),
   * with the time zone every session has. Not pooled: callers use it one call after another.
   */
  async scratchSession(): Promise<ColumnSession> {
    const store = await this.columnStore()
    this.scratchReady ??= store.scratch().then(async (session) => {
      await session.run(`SET TimeZone = 'UTC'`)
      return session
    })
    return this.scratchReady
  }

  private scratchReady: Promise<ColumnSession> | undefined

  releaseSession(session: ColumnSession): void {
    if (this.closed || this.sessionsFree.length >= 4) session.close()
    else this.sessionsFree.push(session)
  }

  async close(): Promise<void> {
    this.closed = true
    this.forgetHandedOver(Number.MAX_SAFE_INTEGER)
    if (this.coalesced !== undefined) clearTimeout(this.coalesced)
    await this.running?.catch(() => undefined)
    for (const waiter of this.waiters.splice(0)) waiter.reject(new StrataError('CLOSED', 'the database was closed'))
    if (this.store !== undefined) {
      const store = await this.store.catch(() => undefined)
      for (const session of this.sessionsFree.splice(0)) session.close()
      await store?.close()
    }
  }
}

function rowsIn(inserted: readonly InsertedRows[]): number {
  let count = 0
  for (const table of inserted) count += table.rows.length
  return count
}
