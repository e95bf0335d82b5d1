/**
 * The ledger: the only place that assigns transaction ids and system time (docs/time-model.md).
 * It owns the ledger tables in the row store: `_strata_tx` (commits) and `_strata_catalog`
 * (table and view definitions, so DDL is versioned by the same commits as data).
 */
import type { RowConnection } from '../storage/rowstore/rowstore.js'
import type { Catalog, TableDefinition, ViewDefinition } from '../sql/catalog.js'
import { assert } from '../util/assert.js'
import { StrataError } from '../util/errors.js'
import { dateMicros } from '../util/timestamp.js'
import { upgradeFormatSync } from './format.js'

export type Clock = () => Date | bigint

/** What a commit changed: rows only (`data`), the schema (`ddl`), or the list of branches (`branch`). */
export type CommitKind = 'data' | 'ddl' | 'branch'

export interface Commit {
  readonly txId: number
  readonly systemTimeUs: bigint
}

/** Wall-clock microseconds: performance.now() gives sub-millisecond resolution on top of the epoch. */
function defaultClockUs(): bigint {
  return BigInt(Math.floor((performance.timeOrigin + performance.now()) * 1000))
}

export function clockMicros(clock: Clock | undefined): bigint {
  if (clock === undefined) return defaultClockUs()
  const now = clock()
  if (typeof now === 'bigint') return now
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw new StrataError('INVALID_PARAMETER', 'the clock must return a Date or a bigint of microseconds')
  return dateMicros(now)
}

export const ledgerSchema = [
  // last_version: the version counter when the transaction committed (docs/time-model.md, "Facts").
  // branch: the branch the commit was made on (main is 0; docs/branches.md); NULL for a commit that
  // changed the list of branches, which belongs to none. Format 3 added it (format.ts).
  `CREATE TABLE IF NOT EXISTS _strata_tx (tx_id INTEGER PRIMARY KEY, system_time_us INTEGER NOT NULL, kind TEXT NOT NULL, rows_changed INTEGER NOT NULL, last_version INTEGER, branch INTEGER DEFAULT 0) STRICT`,
  `CREATE TABLE IF NOT EXISTS _strata_catalog (name TEXT PRIMARY KEY, kind TEXT NOT NULL, definition TEXT NOT NULL) STRICT`,
  `CREATE TABLE IF NOT EXISTS _strata_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT`,
  // ERASE leaves this record and nothing of what it erased (docs/time-model.md, "Erasure").
  `CREATE TABLE IF NOT EXISTS _strata_erasures (tx_id INTEGER NOT NULL, table_name TEXT NOT NULL, entities INTEGER NOT NULL, versions INTEGER NOT NULL) STRICT`,
  // Streaming sources (src/subsystems/streaming/sources.ts): each source's watermark, written with the
  // batch that moved it (tx_id), and the events that arrived too late, kept as JSON.
  // connector_offset: how far the source's connector has read (a NATS or RabbitMQ stream offset, or MQTT messages taken), written with the batch.
  `CREATE TABLE IF NOT EXISTS _strata_sources (name TEXT PRIMARY KEY, watermark_us INTEGER, max_event_us INTEGER, flushed INTEGER NOT NULL, connector_offset INTEGER, tx_id INTEGER NOT NULL) STRICT`,
  // A connector's receipts (MQTT): per broker packet identifier (slot), a digest of the last message committed
  // under it, written with its batch, so a redelivery after a crash between commit and acknowledgement
  // is recognised. Created on every open, so a directory from before it gains it empty.
  `CREATE TABLE IF NOT EXISTS _strata_source_receipts (source TEXT NOT NULL, slot INTEGER NOT NULL, receipt TEXT NOT NULL, tx_id INTEGER NOT NULL, PRIMARY KEY (source, slot)) STRICT`,
  // A dropped source's connector that holds something at its broker (a PostgreSQL replication slot),
  // written by the DROP's transaction and deleted once the slot is dropped, so a DROP that rolls back
  // keeps its slot and one that commits loses it even across a crash. Created on every open, like the receipts.
  `CREATE TABLE IF NOT EXISTS _strata_connector_releases (source TEXT NOT NULL, connector TEXT NOT NULL, tx_id INTEGER NOT NULL, PRIMARY KEY (source, tx_id)) STRICT`,
  `CREATE TABLE IF NOT EXISTS _strata_late_events (tx_id INTEGER NOT NULL, source TEXT NOT NULL, event TEXT NOT NULL, event_time_us INTEGER NOT NULL, watermark_us INTEGER) STRICT`,
  // Streams: how far each has emitted (windows ending at or before closed_until_us; for session windows, no
  // session still to emit has an event before open_from_us; done after the input ended).
  // The counters are strata.streams' (events read, rows written, events the last step evaluated).
  `CREATE TABLE IF NOT EXISTS _strata_streams (name TEXT PRIMARY KEY, source TEXT NOT NULL, query TEXT NOT NULL, closed_until_us INTEGER, open_from_us INTEGER, done INTEGER NOT NULL, events_in INTEGER NOT NULL DEFAULT 0, events_out INTEGER NOT NULL DEFAULT 0, state_rows INTEGER NOT NULL DEFAULT 0, tx_id INTEGER NOT NULL) STRICT`,
  // Sinks: each one's relation, definition (JSON), the transaction that created it (in message ids, so a
  // sink created again under the same name is not taken for the old one) and the last transaction
  // delivered whole (position_tx), written by the transaction that records the delivery.
  // Branches other than main (docs/branches.md): ids never reused (AUTOINCREMENT), the parent (0 = main),
  // the fork point, the commit that made it (its system time is its creation time), and the commit
  // that dropped it; a dropped branch's row stays, so its commits keep naming it.
  `CREATE TABLE IF NOT EXISTS _strata_branches (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, parent_id INTEGER NOT NULL, fork_tx INTEGER NOT NULL, created_tx INTEGER NOT NULL, merged_tx INTEGER, dropped_tx INTEGER) STRICT`,
  `CREATE UNIQUE INDEX IF NOT EXISTS _strata_branches_live ON _strata_branches (name) WHERE dropped_tx IS NULL`,
  // Each merge that wrote (MERGE BRANCH): its commit on the target, and the source's head it took in, so
  // the next merge between the two lines starts from there (docs/branches.md, "Merge").
  `CREATE TABLE IF NOT EXISTS _strata_merges (tx_id INTEGER PRIMARY KEY, source_id INTEGER NOT NULL, source_head INTEGER NOT NULL, target_id INTEGER NOT NULL) STRICT`,
  `CREATE TABLE IF NOT EXISTS _strata_sinks (name TEXT PRIMARY KEY, relation TEXT NOT NULL, definition TEXT NOT NULL, created_tx INTEGER NOT NULL, position_tx INTEGER, tx_id INTEGER NOT NULL) STRICT`,
]

export class Ledger {
  private committed: Commit
  /**
   * The last transaction recorded in the writer's open SQLite transaction: ahead of `committed` while
   * a commit group is open (several autocommit transactions waiting for one COMMIT, group commit in
   * src/engine/transactions.ts), equal to it otherwise.
   */
  private recorded: Commit
  private pending: Commit | undefined
  /** The branch the pending transaction writes on, once a write on a branch other than main said so (`writesOnBranch`); main otherwise. */
  private pendingBranch: number | undefined
  /** The pending transaction changed the list of branches and is recorded on none, whatever its kind (`writesOnNoBranch`). */
  private pendingNoBranch = false
  private readonly systemTimes = new Map<number, bigint>()
  /**
   * The last version number handed out: every version of every table takes the next one, so a key's
   * versions are numbered in the order they were written. Never reused (a rolled-back transaction's
   * numbers are skipped); kept across restarts in each commit's `last_version`.
   */
  private lastVersion: bigint

  private constructor(
    private readonly writer: RowConnection,
    private readonly clock: Clock | undefined,
    committed: Commit,
    lastVersion: bigint,
  ) {
    this.committed = committed
    this.recorded = committed
    this.lastVersion = lastVersion
  }

  /**
   * Creates the ledger tables if needed (or brings an older data directory to this format, see
   * format.ts), the writer's transaction-context table the triggers read, and the SQL functions the
   * tables' hidden columns default to: `strata_tx()` and `strata_version()` (and the writer's
   * `strata_pending_time()`, src/sql/ddl.ts openVersionsSql).
   */
  static openSync(writer: RowConnection, clock: Clock | undefined, directory: string): Ledger {
    for (const statement of ledgerSchema) writer.execSync(statement)
    upgradeFormatSync(writer, directory)
    writer.execSync('CREATE TEMP TABLE IF NOT EXISTS _strata_context (tx_id INTEGER NOT NULL, system_time_us INTEGER NOT NULL, raw INTEGER NOT NULL)')
    writer.execSync('DELETE FROM temp._strata_context')
    writer.execSync('INSERT INTO temp._strata_context VALUES (0, 0, 0)')
    const row = writer.prepareSync('SELECT tx_id, system_time_us, last_version FROM _strata_tx ORDER BY tx_id DESC LIMIT 1', { bigints: true }).allSync([])[0]
    const committed: Commit = row === undefined ? { txId: 0, systemTimeUs: 0n } : { txId: Number(row[0]), systemTimeUs: row[1] as bigint }
    const ledger = new Ledger(writer, clock, committed, typeof row?.[2] === 'bigint' ? row[2] : 0n)
    writer.defineFunctionSync('strata_tx', () => {
      const pending = ledger.pending
      if (pending === undefined) throw new StrataError('INTERNAL', 'a row was written outside a transaction that holds a transaction id')
      return pending.txId
    })
    writer.defineFunctionSync('strata_version', () => ledger.nextVersion())
    writer.defineFunctionSync('strata_pending_time', () => ledger.pending?.systemTimeUs ?? null)
    return ledger
  }

  /** The next version number (see `lastVersion`). */
  nextVersion(): bigint {
    this.lastVersion += 1n
    return this.lastVersion
  }

  /** The next `count` version numbers at once, as `nextVersion` would give them one by one: the first of them. */
  reserveVersions(count: number): bigint {
    const first = this.lastVersion + 1n
    this.lastVersion += BigInt(count)
    return first
  }

  get lastCommitted(): Commit {
    return this.committed
  }

  /** The pending transaction's id and time, once it has written. */
  get pendingCommit(): Commit | undefined {
    return this.pending
  }

  /** "Now" for queries: the injected clock, or the wall clock. */
  nowMicros(): bigint {
    return clockMicros(this.clock)
  }

  /**
   * Assigns the next transaction id and system time to the transaction that holds the writer lock,
   * at its first write, and publishes them to the triggers. Idempotent within one transaction.
   */
  assignSync(): Commit {
    assert(this.writer.inTransaction, 'a transaction id is assigned only inside the writer transaction')
    if (this.pending !== undefined) return this.pending
    const wall = clockMicros(this.clock)
    const base = this.recorded
    const systemTimeUs = wall > base.systemTimeUs ? wall : base.systemTimeUs + 1n
    const commit = { txId: base.txId + 1, systemTimeUs }
    this.writer.prepareSync('UPDATE temp._strata_context SET tx_id = ?, system_time_us = ?').runSync([commit.txId, systemTimeUs])
    this.pending = commit
    return commit
  }

  /**
   * While set, the history triggers do nothing: the engine is writing valid-time pieces itself.
   * Always reset in a `finally`.
   */
  setRawSync(raw: boolean): void {
    this.writer.prepareSync('UPDATE temp._strata_context SET raw = ?').runSync([raw ? 1 : 0])
  }

  /** System time of a committed transaction (µs), or undefined when it does not exist (yet). */
  systemTimeOfSync(connection: RowConnection, txId: number): bigint | undefined {
    if (txId === 0) return 0n
    // A committed transaction's time never changes, so it is remembered (bounded).
    const known = this.systemTimes.get(txId)
    if (known !== undefined) return known
    const row = connection.prepareSync('SELECT system_time_us FROM _strata_tx WHERE tx_id = ?', { bigints: true }).allSync([txId])[0]
    if (row === undefined) return undefined
    if (this.systemTimes.size >= 10_000) this.systemTimes.clear()
    this.systemTimes.set(txId, row[0] as bigint)
    return row[0] as bigint
  }

  /**
   * Writes the commit's fact; called inside the writer transaction right before COMMIT. A `branch`
   * commit changed the list of branches and is made on none (its `branch` is NULL); every other on
   * the branch its writes said (`writesOnBranch`), main (0) when none did.
   */
  recordSync(kind: CommitKind, rowsChanged: number): Commit {
    const pending = this.pending
    assert(pending !== undefined, 'recordSync needs an assigned transaction')
    this.writer
      .prepareSync('INSERT INTO _strata_tx (tx_id, system_time_us, kind, rows_changed, last_version, branch) VALUES (?, ?, ?, ?, ?, ?)')
      .runSync([pending.txId, pending.systemTimeUs, kind, rowsChanged, this.lastVersion, kind === 'branch' || this.pendingNoBranch ? null : (this.pendingBranch ?? 0)])
    return pending
  }

  /**
   * The pending transaction changed the list of branches and also the schema (DROP BRANCH removing a
   * branch's tables): its commit, a DDL fact, is made on no branch, so it moves no branch's head.
   */
  writesOnNoBranch(): void {
    assert(this.pending !== undefined, 'a branch is recorded for an assigned transaction')
    this.pendingNoBranch = true
  }

  /** The pending transaction writes on branch `id` (main is 0): its commit records it. */
  writesOnBranch(id: number): void {
    assert(this.pending !== undefined, 'a branch is recorded for an assigned transaction')
    if (this.pendingBranch !== undefined && this.pendingBranch !== id) throw new StrataError('TX_STATE', 'a transaction writes on one branch')
    this.pendingBranch = id
  }

  /** After SQLite's COMMIT returned: the pending commit is now the last committed one. */
  committedSync(): void {
    assert(this.recorded === this.committed, 'no commit group is open')
    this.recordedSync()
    this.committed = this.recorded
  }

  /**
   * The pending transaction's fact is recorded in the writer's open SQLite transaction, which a later
   * COMMIT makes durable for a whole group (`groupCommittedSync`); the next transaction numbers after it.
   */
  recordedSync(): void {
    const pending = this.pending
    assert(pending !== undefined, 'recordedSync without a pending commit')
    assert(pending.txId === this.recorded.txId + 1, 'transaction ids are dense')
    assert(pending.systemTimeUs > this.recorded.systemTimeUs, 'system time strictly increases')
    this.recorded = pending
    this.pending = undefined
    this.pendingBranch = undefined
    this.pendingNoBranch = false
  }

  /** After the COMMIT of a group: every transaction recorded in it is committed. */
  groupCommittedSync(): void {
    assert(this.pending === undefined, 'a group commits between transactions')
    this.committed = this.recorded
  }

  /** After a group's COMMIT failed and it rolled back: its numbers were never observable; forget them. */
  groupAbandonedSync(): void {
    this.pending = undefined
    this.pendingBranch = undefined
    this.pendingNoBranch = false
    this.recorded = this.committed
  }

  /** After ROLLBACK (or a commit that wrote nothing): the number was never observable; forget it. */
  abandonSync(): void {
    this.pending = undefined
    this.pendingBranch = undefined
    this.pendingNoBranch = false
  }

  loadCatalogSync(connection: RowConnection): Catalog {
    const rows = connection.prepareSync('SELECT name, kind, definition FROM _strata_catalog').allSync([])
    const tables = new Map<string, TableDefinition>()
    const views = new Map<string, ViewDefinition>()
    for (const [name, kind, definition] of rows) {
      const parsed = JSON.parse(String(definition)) as TableDefinition & ViewDefinition
      if (kind === 'table') tables.set(String(name), parsed)
      else views.set(String(name), parsed)
    }
    return { tables, views }
  }

  saveTableSync(table: TableDefinition): void {
    this.writer.prepareSync('INSERT OR REPLACE INTO _strata_catalog (name, kind, definition) VALUES (?, ?, ?)').runSync([table.name, 'table', JSON.stringify(table)])
  }

  saveViewSync(view: ViewDefinition): void {
    this.writer.prepareSync('INSERT OR REPLACE INTO _strata_catalog (name, kind, definition) VALUES (?, ?, ?)').runSync([view.name, 'view', JSON.stringify(view)])
  }

  removeCatalogEntrySync(name: string): void {
    this.writer.prepareSync('DELETE FROM _strata_catalog WHERE name = ?').runSync([name])
  }
}
