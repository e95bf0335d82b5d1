/**
 * The write path and transaction control. Every write — DML, DDL, a subsystem's own statements — runs
 * through `write`: inside an explicit transaction on that session (a savepoint per statement), or as
 * one autocommit transaction on a private session under the writer lock, committed with a ledger fact.
 * BEGIN/COMMIT/ROLLBACK/SAVEPOINT and SET TRANSACTION are here too.
 */
import type { Commit } from '../ledger/ledger.js'
import type { InsertedRows } from '../sync/mirror.js'
import { changedSinceParams, parkingSql } from '../sql/ddl.js'
import { mainBranch } from '../sql/branches.js'
import type { TableDefinition } from '../sql/catalog.js'
import { quoteIdentifier } from '../sql/tree.js'
import type { RowConnection } from '../storage/rowstore/rowstore.js'
import type { PgNode } from '../sql/parse.js'
import { StrataError } from '../util/errors.js'
import { limits } from '../util/limits.js'
import type { ColumnReads } from './column-reads.js'
import type { EngineContext } from './context.js'
import { noRows, type ExecuteOptions, type Positional } from './rows.js'
import { commitKind, readOnlyOption, Session, type ParkedTable, type ParkedWrites } from './session.js'

type Body = (active: Session) => Positional | Promise<Positional>

/** The table an INSERT, UPDATE or DELETE writes, and whether the engine's plain write path writes it (not a subsystem's, such as a valid-time write). */
export interface WriteTarget {
  readonly table: string
  readonly plain: boolean
}

/** An autocommit transaction recorded in an open commit group, waiting for the group's COMMIT. */
interface Member {
  readonly commit: Commit
  readonly result: Positional
  readonly changedSchema: boolean
  /** The rows it handed over for the sync, per table (Session.inserted and Session.appended). */
  readonly inserted: readonly InsertedRows[]
  readonly resolve: (result: Positional) => void
  readonly reject: (error: unknown) => void
}

/**
 * Autocommit transactions that share one COMMIT (group commit). With `durability: 'full'` every
 * COMMIT waits for an fsync; transactions that arrive while one is being prepared — in one turn of
 * the event loop, e.g. the statements of several PostgreSQL clients read in one poll — are recorded
 * one after another in the writer's open SQLite transaction, each in a savepoint of its own (a
 * failing one rolls back only itself), each with its own transaction id and ledger fact, and are made
 * durable by one COMMIT on the next turn. Each caller hears of its commit only after that COMMIT.
 */
interface Group {
  readonly members: Member[]
}

export class Transactions {
  /** Synchronous autocommit writes since the event loop last turned, and when the first of them ran (yieldingToSync). */
  private writesThisTurn = 0
  private turnStartedMs = 0
  /** The open commit group, while the writer's SQLite transaction holds autocommit transactions waiting for their COMMIT. */
  private group: Group | undefined
  /** Autocommit writes share COMMITs only where a COMMIT costs an fsync. */
  private readonly groupCommit: boolean
  /** This turn of the event loop: the session that wrote last, whether several sessions wrote, and whether the last turn's had (sharesCommit). */
  private turnSession: Session | undefined
  private turnShared = false
  private previousTurnShared = false
  private turnWatched = false
  /** A write ran in the current synchronous run (cleared by the next microtask). */
  private sameRun = false

  constructor(
    private readonly context: Pick<EngineContext, 'rowStore' | 'ledger' | 'syncer' | 'schema' | 'writerLock'>,
    private readonly columns: Pick<ColumnReads, 'endOverlay'>,
    /** Called after every commit that recorded a transaction (change feeds, subsystems). */
    private readonly committed: (commit: Commit) => void,
    /**
     * The subsystems' work inside a transaction just before it commits (Subsystem.beforeCommit), for
     * the session that holds it; undefined, synchronously, when there is none.
     */
    private readonly beforeCommit: (session: Session) => Promise<void> | undefined = () => undefined,
    /**
     * A table `session` read (Session.tablesRead) that a commit after `bound` changed on its branch,
     * `*` for a view it read when any commit came after, or undefined when none did.
     */
    private readonly changedTables: (session: Session, bound: number) => string | undefined = () => undefined,
  ) {
    this.groupCommit = context.rowStore.durability === 'full'
    context.writerLock.onContended = () => this.parkIdleHolder()
  }

  /** The explicit transaction that holds the writer lock (from its first write to its end, unless it parks). */
  private holder: Session | undefined

  /**
   * Runs `body` as (part of) a write transaction: inside an explicit transaction it runs on that
   * session; in autocommit it runs on a private session of its own (so concurrent statements on the
   * same handle never see or share its open transaction), takes the writer lock, opens a SQLite
   * transaction, and commits with a ledger fact (or rolls back on error).
   */
  write(session: Session, options: ExecuteOptions, body: Body, target?: WriteTarget): Positional | Promise<Positional> {
    // Every write (DML, DDL, a subsystem's statements) comes through here, so this one check makes a read-only session.
    if (options.readOnly === true) throw new StrataError('READ_ONLY', 'this session may only read: the statement would write')
    if (session.inTransaction ? session.readOnly : session.defaultReadOnly) throw new StrataError('READ_ONLY', 'cannot write in a READ ONLY transaction')
    if (session.inTransaction) {
      if (session.conflict !== undefined) throw conflictAgain(session.conflict)
      if (!session.writing) return this.takeWriter(session, options).then(() => this.writeInTransaction(session, body, target))
      return this.writeInTransaction(session, body, target)
    }
    // An autocommit transaction is this one statement: the subsystems' work before its commit follows it.
    const whole: Body = (active) => {
      const outcome = body(active)
      if (outcome instanceof Promise) return outcome.then((result) => this.thenBeforeCommit(active, result))
      return this.thenBeforeCommit(active, outcome)
    }
    // A free writer lock is taken at once, and a body that needs no waiting (a plain INSERT, UPDATE,
    // DELETE) commits synchronously: the same steps in the same order, without promise hops.
    const writerLock = this.context.writerLock
    const run = (granted: () => void): Positional | Promise<Positional> => (this.sharesCommit(session) ? this.groupWrite(granted, whole) : this.autocommitWrite(granted, whole))
    const release = writerLock.tryAcquire()
    if (release !== undefined) return this.yieldingToSync(run(release))
    return writerLock.acquire(limits.writerLockWaitMs, 'LOCK_TIMEOUT', 'the writer lock', options.signal).then(run)
  }

  /** `result`, after the subsystems' work before `session`'s commit when they have any (synchronously when not). */
  private thenBeforeCommit(session: Session, result: Positional): Positional | Promise<Positional> {
    const work = this.beforeCommit(session)
    return work === undefined ? result : work.then(() => result)
  }

  /**
   * Whether an autocommit write of `session` (which holds the writer lock) should share a COMMIT: a
   * group is open, or writes of other sessions (several PostgreSQL clients) or writes nobody awaited in
   * between (`Promise.all` of `db.query` calls) arrived in this turn of the event loop or the last
   * one. One session writing alone — a loop of
   * awaited `db.query` calls — commits at once, synchronously: waiting a turn for company that never
   * comes would only let the event loop's other work in between its fsyncs.
   */
  private sharesCommit(session: Session): boolean {
    if (!this.groupCommit) return false
    if (!this.turnWatched) {
      this.turnWatched = true
      setImmediate(() => {
        this.turnWatched = false
        this.previousTurnShared = this.turnShared
        this.turnShared = false
        this.turnSession = undefined
      })
    }
    if (this.turnSession !== undefined && this.turnSession !== session) this.turnShared = true
    // Two writes in one synchronous run — no microtask ran between them, so the first one's caller
    // cannot have awaited it — are concurrent even on one session (`Promise.all` of `db.query` calls).
    if (this.sameRun) this.turnShared = true
    else {
      this.sameRun = true
      queueMicrotask(() => (this.sameRun = false))
    }
    this.turnSession = session
    return this.group !== undefined || this.turnShared || this.previousTurnShared || this.context.writerLock.waiting
  }

  /**
   * One autocommit write holding the writer lock (`release`) that joins the open commit group, or
   * opens one: a private session, a savepoint in the writer's transaction, the body, then its ledger
   * fact (or the savepoint rolled back). The writer lock is released as soon as the body is done, so
   * the next write can join; the result is handed back after the group's COMMIT (`commitGroup`).
   */
  /**
   * The private session an autocommit write runs in, and how it ends: out of its transaction, its
   * column-store overlay dropped, the writer lock (`release`) given back.
   */
  private privateWrite(release: () => void): { readonly active: Session; readonly end: () => void } {
    const active = new Session()
    active.inTransaction = true
    active.writing = true
    const end = (): void => {
      active.inTransaction = false
      active.writing = false
      this.columns.endOverlay(active)
      release()
    }
    return { active, end }
  }

  private groupWrite(release: () => void, body: Body): Promise<Positional> {
    const writer = this.context.rowStore.writer
    const ledger = this.context.ledger
    const { active, end } = this.privateWrite(release)
    const fail = (error: unknown): never => {
      try {
        ledger.abandonSync()
        if (writer.inTransaction) {
          writer.execSync('ROLLBACK TO strata_member')
          writer.execSync('RELEASE strata_member')
          if (active.changedSchema) this.context.schema.reloadSync()
        } else this.abandonGroupSync(error, active.changedSchema) // SQLite rolled the whole transaction back (a full disk, an I/O error)
      } finally {
        end()
        // A group that holds nobody's transaction has nothing to commit.
        if (this.group?.members.length === 0) this.rollbackEmptyGroupSync()
      }
      throw error
    }
    const succeed = (result: Positional): Promise<Positional> => {
      active.rowsChanged += result.rowCount
      const changed = active.rowsChanged > 0 || active.changedSchema || active.changedState || active.changedBranches
      let member: Promise<Positional> | undefined
      try {
        if (changed && ledger.pendingCommit !== undefined) {
          const commit = ledger.recordSync(commitKind(active), active.rowsChanged)
          writer.execSync('RELEASE strata_member')
          ledger.recordedSync()
          const inserted = handedOver(active)
          member = new Promise<Positional>((resolve, reject) => this.group!.members.push({ commit, result, changedSchema: active.changedSchema, inserted, resolve, reject }))
        } else {
          writer.execSync('RELEASE strata_member')
          ledger.abandonSync()
        }
      } catch (error) {
        return fail(error)
      }
      end()
      if (member === undefined) {
        if (this.group?.members.length === 0) this.rollbackEmptyGroupSync()
        return Promise.resolve(result)
      }
      this.scheduleGroupCommit()
      return member
    }
    let outcome: Positional | Promise<Positional>
    try {
      if (this.group === undefined) {
        this.context.schema.prepareForWritesSync()
        writer.prepareSync('BEGIN IMMEDIATE').runSync([])
        this.group = { members: [] }
      }
      writer.execSync('SAVEPOINT strata_member')
    } catch (error) {
      end()
      return Promise.reject(error)
    }
    try {
      ledger.assignSync()
      outcome = body(active)
    } catch (error) {
      try {
        fail(error)
      } catch (thrown) {
        return Promise.reject(thrown)
      }
    }
    if (outcome! instanceof Promise) return outcome.then(succeed, (error: unknown) => fail(error))
    return succeed(outcome!)
  }

  /** The group's COMMIT runs on the next turn of the event loop, after the writes read in this one. */
  private scheduleGroupCommit(): void {
    const group = this.group!
    if (group.members.length !== 1) return
    setImmediate(() => {
      if (this.group !== group) return
      // A write's body may still be running (it holds the writer lock while it awaits the column store).
      const release = this.context.writerLock.tryAcquire()
      if (release !== undefined) {
        try {
          this.commitGroupSync()
        } finally {
          release()
        }
        return
      }
      void this.context.writerLock.acquire(Number.MAX_SAFE_INTEGER, 'LOCK_TIMEOUT', 'the writer lock').then((granted) => {
        try {
          if (this.group === group) this.commitGroupSync()
        } finally {
          granted()
        }
      })
    })
  }

  /**
   * COMMITs the open group (the caller holds the writer lock): every member's transaction becomes
   * durable and visible at once, in transaction-id order, and each caller hears of its own. If the
   * COMMIT fails, every member's transaction is rolled back and each caller gets the error.
   */
  commitGroupSync(): void {
    const group = this.group
    if (group === undefined) return
    this.group = undefined
    const { rowStore, ledger, syncer } = this.context
    const writer = rowStore.writer
    try {
      writer.prepareSync('COMMIT').runSync([])
    } catch (error) {
      if (writer.inTransaction) writer.prepareSync('ROLLBACK').runSync([])
      this.group = group
      this.abandonGroupSync(error, false)
      return
    }
    ledger.groupCommittedSync()
    for (const member of group.members) if (member.inserted.length > 0) syncer.offer(member.commit.txId, member.inserted)
    syncer.wake()
    for (const member of group.members) {
      this.committed(member.commit)
      const { result } = member
      member.resolve({ rows: result.rows, columns: result.columns, rowCount: result.rowCount, engine: result.engine, txId: member.commit.txId })
    }
  }

  /** A group whose only writes rolled back: end the writer's transaction (there is nothing to make durable). */
  private rollbackEmptyGroupSync(): void {
    this.group = undefined
    const writer = this.context.rowStore.writer
    if (writer.inTransaction) writer.prepareSync('ROLLBACK').runSync([])
  }

  /** SQLite rolled the writer's transaction back under the group: every member's transaction is gone, and each caller hears `error`. */
  private abandonGroupSync(error: unknown, changedSchema: boolean): void {
    const group = this.group
    this.group = undefined
    this.context.ledger.groupAbandonedSync()
    if (changedSchema || group?.members.some((member) => member.changedSchema) === true) this.context.schema.reloadSync()
    for (const member of group?.members ?? []) member.reject(error)
  }

  /**
   * Makes the open commit group durable now, for whoever needs the writer to itself (BEGIN, a feed
   * cursor, close); waits for the writer lock first.
   */
  async flushGroup(): Promise<void> {
    if (this.group === undefined) return
    const release = await this.context.writerLock.acquire(Number.MAX_SAFE_INTEGER, 'LOCK_TIMEOUT', 'the writer lock')
    try {
      this.commitGroupSync()
    } finally {
      release()
    }
  }

  private async writeInTransaction(session: Session, body: Body, target: WriteTarget | undefined): Promise<Positional> {
    const writer = this.context.rowStore.writer
    this.context.ledger.assignSync()
    writer.execSync('SAVEPOINT strata_statement')
    try {
      const result = await body(session)
      const since = session.keysSince
      session.keysSince = undefined
      if (since !== undefined) this.checkWrittenKeys(session, target?.table, since)
      writer.execSync('RELEASE strata_statement')
      session.rowsChanged += result.rowCount
      this.noteWritten(session, target)
      // Statements of a transaction awaited one after another (a load) settle through microtasks only,
      // as a tight loop of autocommit writes does (yieldingToSync): the same hand-back to the event
      // loop lets the sync apply the commits before it meanwhile — its DuckDB work then runs on
      // DuckDB's threads while this transaction writes — instead of all of them afterwards.
      if (this.syncStarved()) await new Promise((resolve) => setImmediate(resolve))
      return result
    } catch (error) {
      if (error === session.conflict) {
        // The transaction cannot commit: it gives the writer lock up now rather than at its ROLLBACK.
        this.rollbackSync(session)
        this.giveUpWriter(session)
        throw error
      }
      writer.execSync('ROLLBACK TO strata_statement')
      writer.execSync('RELEASE strata_statement')
      if (session.changedSchema) this.context.schema.reloadSync()
      throw error
    }
  }

  /**
   * The first write statement after commits that came since the transaction's snapshot (`since`):
   * TX_CONFLICT when one of them wrote a row this statement wrote (first committer wins). The rows are
   * the pending transaction's writes to `target` (an INSERT, UPDATE or DELETE's table) — this
   * statement's, its first. Other writes (DDL, a subsystem's own statements) name no rows.
   */
  private checkWrittenKeys(session: Session, target: string | undefined, since: number): void {
    const table = target === undefined ? undefined : this.context.schema.catalog.tables.get(target)
    const pending = this.context.ledger.pendingCommit
    if (table === undefined || table.primaryKey === null || pending === undefined) return
    const writer = this.context.rowStore.writer
    const sql = parkingSql(table)
    const changed = writer.prepareSync(sql.changedSince)
    for (const key of writer.prepareSync(sql.writtenKeys, { bigints: true }).allSync([pending.txId, pending.txId])) {
      if (changed.allSync(changedSinceParams(since, this.context.ledger.lastCommitted.txId, key))[0]?.[0] === 1) {
        session.conflict = new StrataError('TX_CONFLICT', `could not serialize access: a row of "${table.name}" this transaction wrote was changed by a commit after its snapshot (transaction ${since})`)
        throw session.conflict
      }
    }
  }

  /** An explicit transaction that met a conflict under the writer lock gives it up (its writer transaction rolled back). */
  private giveUpWriter(session: Session): void {
    session.writing = false
    if (this.holder === session) this.holder = undefined
    this.columns.endOverlay(session)
    const release = session.releaseWriter
    session.releaseWriter = undefined
    release?.()
  }

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
    if (!this.syncStarved()) return outcome
    return new Promise((resolve) => setImmediate(() => resolve(outcome)))
  }

  /**
   * Whether this turn of the event loop has been held for `limits.syncIdleIntervalMs` by writes while
   * the mirror lags (see yieldingToSync). Each call counts as a write of the turn; the turn's clock
   * restarts whenever the event loop turns, whoever made it turn.
   */
  private syncStarved(): boolean {
    if (this.writesThisTurn++ === 0) {
      this.turnStartedMs = performance.now()
      setImmediate(() => (this.writesThisTurn = 0))
    }
    return performance.now() - this.turnStartedMs >= limits.syncIdleIntervalMs && this.context.syncer.lastAppliedTx < this.context.ledger.lastCommitted.txId
  }

  /**
   * One autocommit write holding the writer lock (`release`): a private session, BEGIN IMMEDIATE, the
   * body, then COMMIT with a ledger fact or ROLLBACK. Synchronous when the body is; the lock is
   * released once the write has committed or rolled back, either way.
   */
  private autocommitWrite(release: () => void, body: Body): Positional | Promise<Positional> {
    const writer = this.context.rowStore.writer
    const { active, end } = this.privateWrite(release)
    let outcome: Positional | Promise<Positional>
    try {
      this.context.schema.prepareForWritesSync()
      writer.prepareSync('BEGIN IMMEDIATE').runSync([])
      try {
        this.context.ledger.assignSync()
        outcome = body(active)
      } catch (error) {
        this.rollbackSync(active)
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
            this.rollbackSync(active)
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

  /** Rolls back the writer's transaction of `session` (if SQLite has not already): its number is forgotten, and DDL it made undone in the catalog. */
  private rollbackSync(session: Session): void {
    const writer = this.context.rowStore.writer
    if (writer.inTransaction) writer.prepareSync('ROLLBACK').runSync([])
    this.context.ledger.abandonSync()
    if (session.changedSchema) this.context.schema.reloadSync()
  }

  /** Commits the writer transaction; records the commit in the ledger when something changed. */
  private commitSync(session: Session): number | undefined {
    const { rowStore, ledger } = this.context
    const writer = rowStore.writer
    const changed = session.rowsChanged > 0 || session.changedSchema || session.changedState || session.changedBranches
    if (!changed || ledger.pendingCommit === undefined) {
      writer.prepareSync('COMMIT').runSync([])
      ledger.abandonSync()
      return undefined
    }
    const commit = ledger.recordSync(commitKind(session), session.rowsChanged)
    try {
      writer.prepareSync('COMMIT').runSync([])
    } catch (error) {
      if (writer.inTransaction) writer.prepareSync('ROLLBACK').runSync([])
      ledger.abandonSync()
      if (session.changedSchema) this.context.schema.reloadSync()
      throw error
    }
    ledger.committedSync()
    const inserted = handedOver(session)
    if (inserted.length > 0) this.context.syncer.offer(commit.txId, inserted)
    this.context.syncer.wake()
    this.committed(commit)
    return commit.txId
  }

  /** BEGIN, COMMIT, ROLLBACK (AND CHAIN), SAVEPOINT, RELEASE, ROLLBACK TO. */
  async control(session: Session, body: PgNode, options: ExecuteOptions): Promise<Positional> {
    const writer = this.context.rowStore.writer
    const kind = body['kind']
    const empty = noRows()
    const open = session.explicit
    switch (kind) {
      case 'TRANS_STMT_BEGIN':
      case 'TRANS_STMT_START':
        if (session.inTransaction) throw new StrataError('TX_STATE', 'there is already a transaction in progress (nested BEGIN)')
        await this.begin(session, readOnlyOption(body['options']) ?? session.defaultReadOnly, options)
        return empty
      case 'TRANS_STMT_COMMIT': {
        if (!open) throw new StrataError('TX_STATE', 'there is no transaction in progress (COMMIT without BEGIN)')
        const readOnly = session.readOnly
        let result: Positional = empty
        try {
          // A transaction that met a conflict changes nothing: its COMMIT says so, as its write did.
          if (session.conflict !== undefined) throw conflictAgain(session.conflict)
          // Parked writes come back under the writer lock first (or the transaction meets its conflict).
          if (session.parked !== undefined) await this.takeWriter(session, options)
          // A transaction that never wrote holds no writer transaction: there is nothing to commit.
          if (session.writing) {
            // Work that commits with the transaction (a materialized view brought up to date): when it
            // fails, the transaction rolls back and COMMIT reports why, as a deferred check would.
            const work = this.beforeCommit(session)
            if (work !== undefined) {
              try {
                await work
              } catch (error) {
                this.rollbackSync(session)
                throw error
              }
            }
            const txId = this.commitSync(session)
            if (txId !== undefined) result = { ...empty, txId }
          }
        } finally {
          await this.finish(session)
        }
        // COMMIT AND CHAIN: a new transaction at once, with the same characteristics.
        if (body['chain'] === true) await this.begin(session, readOnly, options)
        return result
      }
      case 'TRANS_STMT_ROLLBACK': {
        if (!open) throw new StrataError('TX_STATE', 'there is no transaction in progress (ROLLBACK without BEGIN)')
        const readOnly = session.readOnly
        try {
          if (session.writing) this.rollbackSync(session)
        } finally {
          await this.finish(session)
        }
        if (body['chain'] === true) await this.begin(session, readOnly, options)
        return empty
      }
      // Savepoints are SQLite's, under names of their own ("user_" + the name), so a user's name can
      // never meet the engine's per-statement savepoint. The session remembers, per savepoint, what
      // ROLLBACK TO must restore: the rows changed so far and whether the schema had changed.
      case 'TRANS_STMT_SAVEPOINT': {
        if (!open) throw new StrataError('TX_STATE', 'SAVEPOINT can only be used in a transaction block (after BEGIN)')
        const name = String(body['savepoint_name'])
        // Before the first write there is no writer transaction: the savepoint is made when it is (takeWriter).
        if (session.writing) {
          writer.execSync(`SAVEPOINT ${quoteIdentifier(`user_${name}`)}`)
          // Parked writes are one set per table: they cannot be rolled back to a point among them.
          session.written = null
        }
        session.savepoints.push({ name, rowsChanged: session.rowsChanged, changedSchema: session.changedSchema, changedState: session.changedState })
        return empty
      }
      case 'TRANS_STMT_RELEASE': {
        if (!open) throw new StrataError('TX_STATE', 'RELEASE SAVEPOINT can only be used in a transaction block (after BEGIN)')
        const index = savepointIndex(session, String(body['savepoint_name']))
        if (session.writing) writer.execSync(`RELEASE ${quoteIdentifier(`user_${session.savepoints[index]!.name}`)}`)
        // Releasing a savepoint releases every one made after it, as in PostgreSQL and SQLite.
        session.savepoints.length = index
        return empty
      }
      case 'TRANS_STMT_ROLLBACK_TO': {
        if (!open) throw new StrataError('TX_STATE', 'ROLLBACK TO SAVEPOINT can only be used in a transaction block (after BEGIN)')
        const index = savepointIndex(session, String(body['savepoint_name']))
        const savepoint = session.savepoints[index]!
        if (session.writing) writer.execSync(`ROLLBACK TO ${quoteIdentifier(`user_${savepoint.name}`)}`)
        // The savepoint stays (it can be rolled back to again); later ones are gone.
        session.savepoints.length = index + 1
        if (session.changedSchema && !savepoint.changedSchema) this.context.schema.reloadSync()
        session.rowsChanged = savepoint.rowsChanged
        session.changedSchema = savepoint.changedSchema
        session.changedState = savepoint.changedState
        // The rows handed over do not say which of them the savepoint undid.
        session.inserted = null
        session.appended = null
        return empty
      }
      default:
        throw new StrataError('NOT_SUPPORTED', `transaction statement ${String(kind).replace(/^TRANS_STMT_/, '')} (two-phase commit is not supported)`)
    }
  }

  /**
   * Opens an explicit transaction for `session`. It takes no lock: its snapshot is the last commit
   * when its first statement runs, and it takes the writer lock at its first write (`takeWriter`), so
   * a transaction that only reads never holds up a writer (docs/branches.md, "Snapshot isolation").
   */
  private async begin(session: Session, readOnly: boolean, options: ExecuteOptions): Promise<void> {
    if (options.signal?.aborted === true) throw new StrataError('ABORTED', 'BEGIN was aborted')
    // Autocommit transactions waiting for their group's COMMIT come first: the snapshot will hold them.
    await this.flushGroup()
    session.forgetTransaction()
    session.inTransaction = true
    session.explicit = true
    session.releaseWriter = undefined
    session.rowsChanged = 0
    session.changedSchema = false
    session.changedState = false
    session.changedBranches = false
    session.readOnly = readOnly
  }

  /**
   * The first write of an explicit transaction: takes the writer lock, opens the writer's SQLite
   * transaction (with the savepoints made so far), and checks the snapshot. When commits came after
   * it, a table the transaction read may have changed since: then it fails with TX_CONFLICT (first
   * committer wins) and can only roll back; otherwise those commits changed nothing it read, its
   * reads hold at the last commit too, and that becomes its snapshot — which no other writer can move
   * while it holds the lock.
   */
  private async takeWriter(session: Session, options: ExecuteOptions): Promise<void> {
    const release = await this.context.writerLock.acquire(limits.writerLockWaitMs, 'LOCK_TIMEOUT', 'the writer lock', options.signal)
    const writer = this.context.rowStore.writer
    try {
      // Autocommit transactions waiting for their group's COMMIT come first.
      this.commitGroupSync()
      const committed = this.context.ledger.lastCommitted.txId
      const snapshot = session.snapshotTx ?? committed
      if (snapshot < committed) {
        const changed = this.changedTables(session, snapshot)
        if (changed !== undefined) {
          session.conflict = new StrataError(
            'TX_CONFLICT',
            `could not serialize access: ${changed === '*' ? 'a view this transaction read' : `the table "${changed}", which this transaction read,`} was changed by a commit after its snapshot (transaction ${snapshot})`,
          )
          throw session.conflict
        }
      }
      const parked = session.parked
      if (parked !== undefined && snapshot < committed) {
        const changed = changedParkedKey(writer, parked, snapshot, committed)
        if (changed !== undefined) {
          session.conflict = new StrataError('TX_CONFLICT', `could not serialize access: a row of "${changed}" this transaction wrote was changed by a commit after its snapshot (transaction ${snapshot})`)
          throw session.conflict
        }
      }
      this.context.schema.prepareForWritesSync()
      writer.prepareSync('BEGIN IMMEDIATE').runSync([])
      for (const savepoint of session.savepoints) writer.execSync(`SAVEPOINT ${quoteIdentifier(`user_${savepoint.name}`)}`)
      if (parked !== undefined) {
        this.context.ledger.assignSync()
        unparkSync(writer, parked)
      }
      // The rows the next write writes were not read before: they are checked once written (writeInTransaction).
      session.keysSince = snapshot < committed ? snapshot : undefined
      session.snapshotTx = committed
    } catch (error) {
      if (writer.inTransaction) writer.prepareSync('ROLLBACK').runSync([])
      this.context.ledger.abandonSync()
      release()
      // A transaction that met its conflict will never write its parked rows back.
      if (error === session.conflict) session.parked = undefined
      throw error
    }
    session.parked = undefined
    session.writing = true
    session.releaseWriter = release
    this.holder = session
  }

  /** After a write statement of an explicit transaction: what it wrote still parks, or no longer can (Session.written). */
  private noteWritten(session: Session, target: WriteTarget | undefined): void {
    if (session.written === null) return
    const table = target?.plain !== true ? undefined : this.context.schema.catalog.tables.get(target.table)
    const parkable =
      table !== undefined &&
      table.primaryKey !== null &&
      table.uniques.length === 0 &&
      table.futureValidTime !== true &&
      !session.changedSchema &&
      !session.changedState &&
      !session.changedBranches &&
      session.branch === mainBranch &&
      (session.appended === null || session.appended.size === 0)
    if (parkable) session.written.add(table.name)
    else session.written = null
  }

  /**
   * An explicit transaction that holds the writer lock, idle between its statements, while another
   * writer asks for the lock (Mutex.onContended, or `idle` after its statement): its writes are
   * copied out of the writer's transaction (per key, the row it left; src/sql/ddl.ts parkingSql),
   * which rolls back, and the lock goes to the other writer. Its next statement takes the lock again,
   * checks that no commit since its snapshot wrote a key it wrote or a table it read (TX_CONFLICT),
   * and writes them back (takeWriter). Only plain writes to keyed tables of main park, up to
   * `limits.parkedRowsMax` rows; any other transaction keeps the lock to its end.
   */
  private parkIdleHolder(): void {
    const holder = this.holder
    if (holder === undefined || holder.statementLock.locked || holder.written === null || holder.rowsChanged > limits.parkedRowsMax) return
    const writer = this.context.rowStore.writer
    const pending = this.context.ledger.pendingCommit
    let parked: ParkedWrites
    try {
      parked = pending === undefined ? { tables: [] } : parkSync(writer, [...holder.written].map((name) => this.context.schema.catalog.tables.get(name)!), pending.txId)
    } catch {
      return // it keeps the lock; the other writer waits as before
    }
    if (writer.inTransaction) writer.prepareSync('ROLLBACK').runSync([])
    this.context.ledger.abandonSync()
    holder.parked = parked
    holder.writing = false
    holder.inserted = null
    holder.appended = null
    this.columns.endOverlay(holder)
    this.holder = undefined
    const release = holder.releaseWriter
    holder.releaseWriter = undefined
    release?.()
  }

  /** After a statement of an explicit transaction: if it holds the writer lock and someone waits for it, it parks (parkIdleHolder). */
  idle(session: Session): void {
    if (this.holder === session && this.context.writerLock.waiting) this.parkIdleHolder()
  }

  /** The next statement of a transaction that parked its writes needs them back (and the writer lock) first. */
  resume(session: Session, options: ExecuteOptions): Promise<void> {
    return this.takeWriter(session, options)
  }

  /**
   * `SET TRANSACTION …` (the open transaction; outside one it does nothing, as PostgreSQL only warns)
   * and `SET SESSION CHARACTERISTICS AS TRANSACTION …` (every later transaction and autocommit
   * statement): READ ONLY / READ WRITE are kept; isolation levels are accepted, every transaction
   * being snapshot-isolated (takeWriter). Any other SET is not supported here.
   */
  characteristics(session: Session, body: PgNode): Positional {
    const target = body['kind'] === 'VAR_SET_MULTI' ? body['name'] : undefined
    if (target !== 'TRANSACTION' && target !== 'SESSION CHARACTERISTICS') {
      throw new StrataError('NOT_SUPPORTED', `SET ${String(body['name'] ?? '')}: only SET TRANSACTION and SET SESSION CHARACTERISTICS AS TRANSACTION are taken`)
    }
    const readOnly = readOnlyOption(body['args'])
    if (readOnly !== undefined) {
      if (target === 'SESSION CHARACTERISTICS') session.defaultReadOnly = readOnly
      else if (session.inTransaction) session.readOnly = readOnly
    }
    return noRows()
  }

  private async finish(session: Session): Promise<void> {
    if (this.holder === session) this.holder = undefined
    session.forgetTransaction()
    session.inTransaction = false
    session.explicit = false
    session.readOnly = false
    const release = session.releaseWriter
    session.releaseWriter = undefined
    this.columns.endOverlay(session)
    if (release === undefined) return
    // A writer that waited for this transaction starts on the next turn of the event loop, so the
    // transaction's caller hears that it finished first (a waiting autocommit write may otherwise
    // complete synchronously within the same run of promise callbacks).
    if (this.context.writerLock.waiting) setImmediate(release)
    else release()
  }

  /** Rolls back whatever `session` has open (used when a transaction body throws). */
  async abort(session: Session): Promise<void> {
    if (!session.explicit) return
    try {
      if (session.writing) this.rollbackSync(session)
    } finally {
      await this.finish(session)
    }
  }
}

/** Copies the writes of pending transaction `txId` to `tables` out of the writer's transaction: per key written, its row now (undefined: deleted). */
function parkSync(writer: RowConnection, tables: readonly TableDefinition[], txId: number): ParkedWrites {
  const parked: ParkedTable[] = []
  for (const table of tables) {
    const sql = parkingSql(table)
    const keys = writer.prepareSync(sql.writtenKeys, { bigints: true }).allSync([txId, txId])
    const rows = keys.map((key) => ({ key, row: writer.prepareSync(sql.row, { bigints: true }).allSync(key)[0] }))
    parked.push({ table, rows })
  }
  return { tables: parked }
}

/** The first table with a parked key that a commit after `bound` wrote, or undefined. */
function changedParkedKey(writer: RowConnection, parked: ParkedWrites, bound: number, committed: number): string | undefined {
  for (const { table, rows } of parked.tables) {
    const statement = writer.prepareSync(parkingSql(table).changedSince)
    for (const { key } of rows) if (statement.allSync(changedSinceParams(bound, committed, key))[0]?.[0] === 1) return table.name
  }
  return undefined
}

/** Writes parked rows back in the writer's transaction (its transaction id assigned): deletes first, then inserts and updates, through the history triggers. */
function unparkSync(writer: RowConnection, parked: ParkedWrites): void {
  for (const { table, rows } of parked.tables) {
    const sql = parkingSql(table)
    const exists = writer.prepareSync(sql.row, { bigints: true })
    for (const { key, row } of rows) if (row === undefined && exists.allSync(key).length > 0) writer.prepareSync(sql.delete).runSync(key)
    for (const { key, row } of rows) {
      if (row === undefined) continue
      if (exists.allSync(key).length > 0) writer.prepareSync(sql.update).runSync([...row, ...key])
      else writer.prepareSync(sql.insert).runSync(row)
    }
  }
}

/** The conflict a transaction met, for its later statements and its COMMIT: the same error, anew. */
export function conflictAgain(conflict: StrataError): StrataError {
  return new StrataError('TX_CONFLICT', `${conflict.message} (the transaction can only roll back)`)
}

/** The newest savepoint called `name` (PostgreSQL uses the newest of equal names); TX_STATE if there is none. */
function savepointIndex(session: Session, name: string): number {
  for (let index = session.savepoints.length - 1; index >= 0; index--) if (session.savepoints[index]!.name === name) return index
  throw new StrataError('TX_STATE', `savepoint "${name}" does not exist`)
}

/**
 * What a committing transaction hands over for the sync, per table: the rows its INSERTs or bulk insert
 * handed over, when they are all the rows it changed and no subsystem appended to their table
 * (Session.inserted; it may have made their table: an import), and the rows subsystems appended
 * (Session.appended). The sync decides per table whether they stand for what the commit wrote.
 */
function handedOver(session: Session): InsertedRows[] {
  const handed: InsertedRows[] = []
  for (const appended of session.appended?.values() ?? []) if (appended !== null) handed.push(appended)
  const inserted = session.inserted
  if (inserted === undefined || inserted === null) return handed
  // A subsystem's appends are not rows changed, so the count says the INSERTs changed nothing else.
  const appendedToo = session.appended === null || session.appended.has(inserted.table.name)
  if (!appendedToo && session.rowsChanged === inserted.rows.length) handed.push(inserted)
  return handed
}
