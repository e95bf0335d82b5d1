/**
 * Reads on the column store under SPEC 5's freshness rules: a read waits until the mirror holds every
 * commit acknowledged before it began (or is within `maxStalenessMs`); a read inside a transaction
 * that has written sees the mirror plus the transaction's own versions (the overlay); catalog reads
 * (`strata.*`, `information_schema`) and persisted HTTP results are rewritten onto the mirror's tables.
 */
import { applyRange } from '../sync/mirror.js'
import type { ColumnSession } from '../storage/columnstore/columnstore.js'
import { deparseStatement } from '../sql/deparse.js'
import { parseTree, type PgNode } from '../sql/parse.js'
import { walk } from '../sql/tree.js'
import { StrataError } from '../util/errors.js'
import { Mutex } from '../util/mutex.js'
import type { EngineContext } from './context.js'
import { isResultId, resultReferences, resultSelectSql, resultsSchema, resultsTable, rewriteResultReferences, type PersistedColumn } from './results.js'
import { shapeTabular, type EngineName, type ExecuteOptions, type Positional, type Tabular } from './rows.js'
import type { Session } from './session.js'

type Params = readonly unknown[] | Readonly<Record<string, unknown>>

export class ColumnReads {
  /** The persisted-results table exists in the column store (persistedResultColumns). */
  private resultsTableSeen = false
  /** One refresh of strata.sync_status's table at a time (catalogRead). */
  private readonly syncStatusWrites = new Mutex()

  constructor(private readonly context: Pick<EngineContext, 'rowStore' | 'ledger' | 'syncer' | 'schema'>) {}

  /** Runs SQL on the column store with the freshness rules of SPEC 5, its result shaped as `engine`'s. */
  async read(session: Session, text: string, params: Params, options: ExecuteOptions, engine: EngineName): Promise<Positional> {
    const result = await this.query(session, text, params, options)
    return { ...shapeTabular(result), engine }
  }

  async query(session: Session, text: string, params: Params, options: ExecuteOptions): Promise<Tabular> {
    const pending = session.writing ? this.context.ledger.pendingCommit : undefined
    if (pending !== undefined) return this.overlayQuery(session, text, params, options)
    const { duck, release } = await this.freshSession(options)
    try {
      return await duck.run(text, params.length === 0 && Array.isArray(params) ? undefined : params)
    } finally {
      release()
    }
  }

  /** A query inside a write: the overlay (the mirror plus this transaction's versions) is the state it must see. */
  inWrite(session: Session, text: string, params: readonly unknown[], options: ExecuteOptions): Promise<Tabular> {
    // Writes run with the writer transaction open and a transaction id assigned.
    const wasWriting = session.writing
    session.writing = true
    return this.query(session, text, params, options).finally(() => {
      session.writing = wasWriting
    })
  }

  /**
   * A DuckDB session once the mirror holds every commit acknowledged so far (or is within
   * `maxStalenessMs`), with `options.signal` wired to interrupt it; `release` undoes both.
   */
  async freshSession(options: ExecuteOptions): Promise<{ readonly duck: ColumnSession; readonly release: () => void }> {
    const syncer = this.context.syncer
    await this.awaitFreshness(this.context.ledger.lastCommitted.txId, options)
    const duck = await syncer.acquireSession()
    // Aborted while it waited for freshness or a session: an 'abort' event already passed, so check.
    if (options.signal?.aborted === true) {
      syncer.releaseSession(duck)
      throw new StrataError('ABORTED', 'the read was aborted before it started')
    }
    const abort = (): void => duck.interrupt()
    options.signal?.addEventListener('abort', abort, { once: true })
    const release = (): void => {
      options.signal?.removeEventListener('abort', abort)
      syncer.releaseSession(duck)
    }
    return { duck, release }
  }

  private async awaitFreshness(target: number, options: ExecuteOptions): Promise<void> {
    const syncer = this.context.syncer
    if (syncer.lastAppliedTx >= target) return
    if (options.maxStalenessMs !== undefined && syncer.started && syncer.lastAppliedTx >= 0) {
      if (this.lagMs(syncer.lastAppliedTx) <= options.maxStalenessMs) return
    }
    await syncer.waitForApplied(target, { signal: options.signal })
  }

  /** How far behind the last commit the mirror's position `appliedTx` is, in milliseconds of system time. */
  lagMs(appliedTx: number): number {
    const ledger = this.context.ledger
    const committed = ledger.lastCommitted
    if (appliedTx >= committed.txId) return 0
    const row = this.context.rowStore.reader.prepareSync('SELECT system_time_us FROM _strata_tx WHERE tx_id = ?', { bigints: true }).allSync([Math.max(appliedTx, 0) + 1])[0]
    if (row === undefined) return 0
    return Math.max(0, Number(ledger.nowMicros() - (row[0] as bigint)) / 1000)
  }

  /** The mirror's position against the ledger (`strata.sync_status`, `db.syncStatus()`). */
  async syncStatus(): Promise<{ lastCommittedTx: number; lastAppliedTx: number; lagTx: number; lagMs: number }> {
    const syncer = this.context.syncer
    await syncer.columnStore()
    const lastCommittedTx = this.context.ledger.lastCommitted.txId
    const lastAppliedTx = Math.max(0, syncer.lastAppliedTx)
    return { lastCommittedTx, lastAppliedTx, lagTx: Math.max(0, lastCommittedTx - lastAppliedTx), lagMs: this.lagMs(lastAppliedTx) }
  }

  /**
   * A read inside a transaction that has written: the mirror at the last commit, plus this
   * transaction's own versions, in a DuckDB transaction that is rolled back afterwards.
   */
  private async overlayQuery(session: Session, text: string, params: Params, options: ExecuteOptions): Promise<Tabular> {
    const { ledger, syncer } = this.context
    const pending = ledger.pendingCommit!
    await syncer.waitForApplied(ledger.lastCommitted.txId, { signal: options.signal })
    session.overlay ??= await syncer.acquireSession()
    const duck = session.overlay
    if (options.signal?.aborted === true) throw new StrataError('ABORTED', 'the read was aborted before it started')
    await duck.run('BEGIN TRANSACTION')
    const abort = (): void => duck.interrupt()
    options.signal?.addEventListener('abort', abort, { once: true })
    try {
      await applyRange(duck, this.context.rowStore.writer, { fromTx: ledger.lastCommitted.txId, toTx: pending.txId, catalog: this.context.schema.catalog })
      return await duck.run(text, Array.isArray(params) && params.length === 0 ? undefined : params)
    } finally {
      options.signal?.removeEventListener('abort', abort)
      await duck.run('ROLLBACK')
    }
  }

  /** Gives back the session's overlay connection (when its transaction ends). */
  endOverlay(session: Session): void {
    if (session.overlay !== undefined) {
      this.context.syncer.releaseSession(session.overlay)
      session.overlay = undefined
    }
  }

  /** A read of the system catalog: `information_schema`, `strata.sync_status`, `strata.results."<id>"`, and the subsystems' `strata.*` relations. */
  async catalogRead(session: Session, tree: PgNode, params: readonly unknown[], options: ExecuteOptions): Promise<Positional> {
    // Our information_schema is built from our catalog; point the query at it in the tree.
    const rewritten = structuredClone(tree)
    let readsSyncStatus = false
    walk(rewritten, (kind, body) => {
      if (kind === 'RangeVar' && body['schemaname'] === 'information_schema') body['schemaname'] = 'strata_information_schema'
      if (kind === 'RangeVar' && body['schemaname'] === 'strata' && body['relname'] === 'sync_status') {
        body['schemaname'] = 'strata_staging'
        readsSyncStatus = true
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
    // strata.sync_status is a table refreshed for the query that reads it; two refreshes at once would
    // be DuckDB's catalog write-write conflict, so they take turns (reads of it go on meanwhile).
    if (readsSyncStatus) {
      const release = await this.syncStatusWrites.acquire(Number.MAX_SAFE_INTEGER, 'LOCK_TIMEOUT', 'the sync status')
      try {
        const status = await this.syncStatus()
        const syncer = this.context.syncer
        const duck = await syncer.acquireSession()
        try {
          await duck.run('CREATE OR REPLACE TABLE strata_staging.sync_status AS SELECT $1::BIGINT AS last_committed_tx, $2::BIGINT AS last_applied_tx, $3::BIGINT AS lag_tx, $4::DOUBLE AS lag_ms', [
            status.lastCommittedTx,
            status.lastAppliedTx,
            status.lagTx,
            status.lagMs,
          ])
        } finally {
          syncer.releaseSession(duck)
        }
      } finally {
        release()
      }
    }
    const result = await this.query(session, text, params, options)
    return { ...shapeTabular(result), engine: 'catalog' }
  }

  /** The columns of each persisted result `ids` names; UNDEFINED_TABLE for one that does not exist. */
  private async persistedResultColumns(session: Session, ids: readonly string[], options: ExecuteOptions): Promise<Map<string, readonly PersistedColumn[]>> {
    const columnsById = new Map<string, readonly PersistedColumn[]>()
    const wellFormed = ids.filter(isResultId)
    if (wellFormed.length > 0) {
      // Once the table exists it stays (results are trimmed, never the table): asked until then only.
      if (!this.resultsTableSeen) {
        const exists = await this.query(session, `SELECT count(*) FROM duckdb_tables() WHERE schema_name = '${resultsSchema}' AND table_name = 'results'`, [], options)
        this.resultsTableSeen = Number(exists.rows[0]![0]) > 0
      }
      if (this.resultsTableSeen) {
        const list = wellFormed.map((id) => `'${id}'`).join(', ')
        const found = await this.query(session, `SELECT result_id, CAST(columns AS VARCHAR) FROM ${resultsTable} WHERE result_id IN (${list})`, [], options)
        for (const [id, columns] of found.rows) columnsById.set(String(id), JSON.parse(String(columns)) as PersistedColumn[])
      }
    }
    const missing = ids.find((id) => !columnsById.has(id))
    if (missing !== undefined) throw new StrataError('UNDEFINED_TABLE', `no result "${missing}" in strata.results (a result id from the HTTP API's POST /query; only the newest results are kept)`)
    return columnsById
  }

  /** DuckDB's parse of `text` (json_serialize_sql), on a column-store session of its own. */
  async serializeSql(text: string): Promise<Awaited<ReturnType<ColumnSession['serializeSql']>>> {
    const syncer = this.context.syncer
    const duck = await syncer.acquireSession()
    try {
      return await duck.serializeSql(text)
    } finally {
      syncer.releaseSession(duck)
    }
  }
}
