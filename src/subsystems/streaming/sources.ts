/**
 * Sources (SPEC 8): an append-only table of accepted events, a watermark, and the late events it
 * refused. Each input call — an INSERT statement, `db.push`, `db.advanceWatermark`, `db.flush` — is one
 * batch and one ledger transaction: the accepted events, the late ones and the watermark commit
 * together or not at all. The watermark state lives in the row store (`_strata_sources`, one row per
 * source) and is read afresh by every batch, so a rolled-back batch leaves no trace in it.
 *
 * The watermark W is the largest event time accepted so far minus the source's delay, never
 * decreasing, moved after each batch; an event earlier than W − allowed lateness (W as it was when
 * the batch began) is late. `db.flush` (end of input) puts W at +∞: every event after it is late.
 */
import { randomBytes } from 'node:crypto'
import { describeConnector, type SourceConnector, type SourceDefinition, type TableDefinition } from '../../sql/catalog.js'
import type { CreateSource, DropSource } from '../../sql/streaming.js'
import { list, nodeBody, quoteIdentifier } from '../../sql/tree.js'
import type { PgNode } from '../../sql/parse.js'
import { fromStorage, toStorage, typeFromLabel } from '../../sql/types.js'
import type { RowConnection, RowValue } from '../../storage/rowstore/rowstore.js'
import { StrataError } from '../../util/errors.js'
import { limits } from '../../util/limits.js'
import { dateFromMicros, dateMicros } from '../../util/timestamp.js'
import type { MetricFamily, Rows, StatementCall, SubsystemHost } from '../seam.js'
import { formatMicros } from './intervals.js'
import type { SourceProgress, Streams } from './streams.js'

interface SourceState {
  readonly watermarkUs: bigint | null
  readonly maxEventUs: bigint | null
  /** `db.flush` ended the input: the watermark is +∞. */
  readonly flushed: boolean
  /** How far the source's connector has read (a NATS or RabbitMQ stream offset, MQTT messages taken), or null. */
  readonly connectorOffset: number | null
}

const noState: SourceState = { watermarkUs: null, maxEventUs: null, flushed: false, connectorOffset: null }

/** Where a connector stands after a batch, committed with it. */
export interface ConnectorProgress {
  /** The offset to resume after (a NATS or RabbitMQ stream offset, MQTT messages taken). */
  readonly offset?: number
  /** Receipts of the batch's messages: [slot, digest] (connectors.ts, MQTT's packet identifiers). */
  readonly receipts?: readonly (readonly [number, string])[]
}

/** A dropped source's connector whose broker-side state is still to release (`_strata_connector_releases`). */
export interface ConnectorRelease {
  readonly source: string
  readonly connector: SourceConnector
  readonly txId: number
}

/**
 * A connector as CREATE SOURCE stores it: an MQTT source gets its session's client id here, once, so
 * the broker keeps the same session for it across restarts, and a PostgreSQL CDC source its slot's name
 * (a parse stays free of randomness).
 */
function withIdentity(connector: SourceConnector): SourceConnector {
  if (connector.kind === 'mqtt' && connector.clientId === undefined) return { ...connector, clientId: `strata-${randomBytes(8).toString('hex')}` }
  if (connector.kind === 'postgres-cdc' && connector.slot === undefined) return { ...connector, slot: `strata_${randomBytes(8).toString('hex')}` }
  return connector
}

function empty(rowCount = 0): Rows {
  return { rows: [], columns: [], rowCount, engine: 'row' }
}

/** A value (as a query returns it) as it appears in a late event's JSON: timestamps in ISO 8601, big integers as text, bytes in base64. */
function jsonValue(value: unknown): unknown {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString()
  if (typeof value === 'bigint') return value.toString()
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64')
  return value === undefined ? null : value
}

export class Sources {
  constructor(
    private readonly host: SubsystemHost,
    private readonly streams: Streams,
    /** The last error of a source's connector, while it is in trouble. */
    private readonly connectorError: (source: string) => string | undefined,
    /** A source with a connector was created or dropped: start or stop its connector. */
    private readonly connectorsChanged: () => void,
    /** Refuses to drop a relation a sink reads (sinks.ts), unless `cascade`. */
    private readonly checkSinks: (table: TableDefinition, cascade: boolean) => void,
  ) {}

  /** How far a source's connector has read, as committed (read on `connection`). */
  connectorOffsetSync(connection: RowConnection, name: string): number | null {
    return this.stateSync(connection, name).connectorOffset
  }

  /**
   * A source's connector receipts as committed (read on `connection`): per slot (an MQTT packet
   * identifier), the digest of the last message committed under it.
   */
  connectorReceiptsSync(connection: RowConnection, name: string): Map<number, string> {
    const rows = connection.prepareSync('SELECT slot, receipt FROM _strata_source_receipts WHERE source = ?').allSync([name])
    return new Map(rows.map((row) => [Number(row[0]), String(row[1])]))
  }

  /** A source's watermark now, as its streams' steps see it. */
  progressSync(connection: RowConnection, name: string): SourceProgress {
    const state = this.stateSync(connection, name)
    return { watermarkUs: state.watermarkUs, flushed: state.flushed }
  }

  private get writer(): RowConnection {
    return this.host.rowStore.writer
  }

  private pendingTx(): number {
    const pending = this.host.ledger.pendingCommit
    if (pending === undefined) throw new StrataError('INTERNAL', 'a source is written inside a write transaction')
    return pending.txId
  }

  /** The source `name`, or UNDEFINED_TABLE (naming what it is when it is a table or a view). */
  requireSource(name: string): TableDefinition & { readonly source: SourceDefinition } {
    const catalog = this.host.schema.catalog
    const table = catalog.tables.get(name)
    if (table?.source !== undefined) return table as TableDefinition & { readonly source: SourceDefinition }
    if (table !== undefined) throw new StrataError('UNDEFINED_TABLE', `"${name}" is a table, not a source`)
    if (catalog.views.has(name)) throw new StrataError('UNDEFINED_TABLE', `"${name}" is a view, not a source`)
    throw new StrataError('UNDEFINED_TABLE', `source "${name}" does not exist`)
  }

  private stateSync(connection: RowConnection, name: string): SourceState {
    const row = connection.prepareSync('SELECT watermark_us, max_event_us, flushed, connector_offset FROM _strata_sources WHERE name = ?', { bigints: true }).allSync([name])[0]
    if (row === undefined) return noState
    return { watermarkUs: row[0] as bigint | null, maxEventUs: row[1] as bigint | null, flushed: row[2] === 1n, connectorOffset: row[3] === null ? null : Number(row[3]) }
  }

  private saveStateSync(name: string, state: SourceState): void {
    this.writer
      .prepareSync('INSERT OR REPLACE INTO _strata_sources (name, watermark_us, max_event_us, flushed, connector_offset, tx_id) VALUES (?, ?, ?, ?, ?, ?)')
      .runSync([name, state.watermarkUs, state.maxEventUs, state.flushed ? 1 : 0, state.connectorOffset, this.pendingTx()])
  }

  // ───────────────────────────── DDL ─────────────────────────────

  create(call: StatementCall, create: CreateSource): Rows {
    const catalog = this.host.schema.catalog
    const name = create.table.name
    const existing = catalog.tables.get(name)
    if (existing !== undefined || catalog.views.has(name)) {
      if (existing?.source !== undefined && create.ifNotExists) return empty()
      if (existing?.source !== undefined && create.orReplace) {
        this.checkSinks(existing, false)
        this.dropSync(call, existing)
      }
      else throw new StrataError('DUPLICATE_TABLE', `relation "${name}" already exists`)
    }
    const source = { ...create.source, ...(create.source.connector === undefined ? {} : { connector: withIdentity(create.source.connector) }) }
    this.host.createTableSync({ ...create.table, source, schemaTx: this.pendingTx() })
    // Windows read their events by event time (streams.ts): an index on it, gone with the table.
    if (create.source.watermarkColumn !== null) {
      this.writer.execSync(`CREATE INDEX ${quoteIdentifier(`_strata_event_time_${name}`)} ON ${quoteIdentifier(name)} (${quoteIdentifier(create.source.watermarkColumn)})`)
    }
    this.saveStateSync(name, noState)
    call.schemaChanged()
    if (create.source.connector !== undefined) this.connectorsChanged()
    return empty()
  }

  drop(call: StatementCall, drop: DropSource): Rows {
    for (const name of drop.names) {
      const table = this.host.schema.catalog.tables.get(name)
      if (table?.source === undefined && drop.ifExists && table === undefined && !this.host.schema.catalog.views.has(name)) continue
      const source = this.requireSource(name)
      const dependents = this.streams.dependentsOf(name)
      if (dependents.length > 0 && !drop.cascade) {
        throw new StrataError('NOT_SUPPORTED', `cannot drop the source "${name}": the stream "${dependents[0]!.name}" reads it (DROP SOURCE ${name} CASCADE drops its streams too)`)
      }
      this.checkSinks(source, drop.cascade)
      // A stream dropped earlier in the loop may have taken later ones with it (its parts).
      for (const stream of dependents) {
        const current = this.host.schema.catalog.tables.get(stream.name)
        if (current?.stream !== undefined) this.streams.dropSync(call, current as typeof stream)
      }
      this.dropSync(call, source)
    }
    return empty()
  }

  private dropSync(call: StatementCall, table: TableDefinition): void {
    this.host.dropTableSync(table)
    call.schemaChanged()
    if (table.source?.connector !== undefined) this.connectorsChanged()
  }

  /**
   * The schema hook: a dropped source's state goes with it (its late events stay, as history does). A
   * connector holding a PostgreSQL slot is recorded for release, in the DROP's transaction: its slot is
   * dropped only once that has committed (connectors.ts).
   */
  droppedSync(writer: RowConnection, table: TableDefinition): void {
    if (table.source === undefined) return
    writer.prepareSync('DELETE FROM _strata_sources WHERE name = ?').runSync([table.name])
    writer.prepareSync('DELETE FROM _strata_source_receipts WHERE source = ?').runSync([table.name])
    if (table.source.connector?.kind === 'postgres-cdc') {
      writer.prepareSync('INSERT OR REPLACE INTO _strata_connector_releases (source, connector, tx_id) VALUES (?, ?, ?)').runSync([table.name, JSON.stringify(table.source.connector), this.pendingTx()])
      this.releasesPending = true
    }
  }

  /** A DROP of a source whose connector holds a slot ran since the last commit: connectors.ts releases it after the commit. */
  releasesPending = false

  /** The committed release records (read on `connection`, the reader: a DROP not yet committed has none). */
  connectorReleasesSync(connection: RowConnection): ConnectorRelease[] {
    const rows = connection.prepareSync('SELECT source, connector, tx_id FROM _strata_connector_releases ORDER BY tx_id').allSync([])
    return rows.map((row) => ({ source: String(row[0]), connector: JSON.parse(String(row[1])) as SourceConnector, txId: Number(row[2]) }))
  }

  /** A release done (connectors.ts, after the slot was dropped): its record goes. */
  connectorReleased(call: StatementCall, source: string, txId: number): Rows {
    this.writer.prepareSync('DELETE FROM _strata_connector_releases WHERE source = ? AND tx_id = ?').runSync([source, txId])
    call.stateChanged()
    return empty()
  }

  /** Prometheus samples: each source's watermark, its accepted and late events. */
  metrics(connection: RowConnection): MetricFamily[] {
    const watermarks: MetricFamily['samples'][number][] = []
    const late: MetricFamily['samples'][number][] = []
    const lateCounts = new Map(connection.prepareSync('SELECT source, count(*) FROM _strata_late_events GROUP BY source').allSync([]).map((row) => [String(row[0]), Number(row[1])]))
    for (const table of this.host.schema.catalog.tables.values()) {
      if (table.source === undefined) continue
      const state = this.stateSync(connection, table.name)
      const labels = { source: table.name }
      if (state.watermarkUs !== null) watermarks.push({ labels, value: Number(state.watermarkUs) / 1e6 })
      late.push({ labels, value: lateCounts.get(table.name) ?? 0 })
    }
    return [
      { name: 'strata_source_watermark_seconds', help: "A source's watermark, in seconds since the epoch.", type: 'gauge', samples: watermarks },
      { name: 'strata_source_late_events_total', help: 'Events a source refused as late (strata.late_events).', type: 'counter', samples: late },
    ]
  }

  /** SHOW SOURCES: each source, its watermark column, watermark, delay, allowed lateness and idle timeout. */
  show(call: StatementCall): Rows {
    const connection = call.rowConnection()
    const rows: unknown[][] = []
    for (const table of [...this.host.schema.catalog.tables.values()].sort((left, right) => left.name.localeCompare(right.name))) {
      if (table.source === undefined) continue
      const state = this.stateSync(connection, table.name)
      rows.push([
        table.name,
        table.source.watermarkColumn,
        state.watermarkUs === null ? null : dateFromMicros(state.watermarkUs),
        state.flushed,
        formatMicros(table.source.delayUs),
        formatMicros(table.source.allowedLatenessUs),
        table.source.idleTimeoutUs === undefined ? null : formatMicros(table.source.idleTimeoutUs),
        table.source.connector === undefined ? null : describeConnector(table.source.connector),
        state.connectorOffset,
        this.connectorError(table.name) ?? null,
      ])
    }
    return {
      rows,
      columns: [
        { name: 'name', type: 'VARCHAR' },
        { name: 'watermark_column', type: 'VARCHAR' },
        { name: 'watermark', type: 'TIMESTAMP' },
        { name: 'flushed', type: 'BOOLEAN' },
        { name: 'watermark_delay', type: 'VARCHAR' },
        { name: 'allowed_lateness', type: 'VARCHAR' },
        { name: 'idle_timeout', type: 'VARCHAR' },
        { name: 'connector', type: 'VARCHAR' },
        { name: 'connector_offset', type: 'BIGINT' },
        { name: 'connector_error', type: 'VARCHAR' },
      ],
      rowCount: rows.length,
      engine: 'row',
    }
  }

  // ───────────────────────────── input ─────────────────────────────

  /** `INSERT INTO source [(columns)] VALUES … | SELECT …`: one batch. */
  async insert(call: StatementCall, table: TableDefinition & { readonly source: SourceDefinition }, body: PgNode): Promise<Rows> {
    if (body['onConflictClause'] !== undefined) throw new StrataError('NOT_SUPPORTED', `INSERT … ON CONFLICT into the source "${table.name}" (a source has no key)`)
    if (list(body['returningList']).length > 0) throw new StrataError('NOT_SUPPORTED', `INSERT … RETURNING into the source "${table.name}"`)
    if (body['selectStmt'] === undefined) throw new StrataError('NOT_SUPPORTED', `INSERT … DEFAULT VALUES into the source "${table.name}"`)
    const named = list(body['cols']).map((target) => String(nodeBody(target, 'ResTarget')!['name']))
    const columns = named.length > 0 ? named : table.columns.map((column) => column.name)
    for (const name of columns) {
      if (!table.columns.some((column) => column.name === name)) throw new StrataError('UNDEFINED_COLUMN', `column "${name}" of source "${table.name}" does not exist`)
    }
    const evaluated = await call.evaluate(body['selectStmt'] as PgNode)
    if (evaluated.columns.length !== columns.length) {
      throw new StrataError('SYNTAX_ERROR', evaluated.columns.length > columns.length ? 'INSERT has more expressions than target columns' : 'INSERT has more target columns than expressions')
    }
    return this.ingest(call, table, columns, evaluated.rows, 'default')
  }

  /**
   * `db.push(source, rows)`: every column of the source in every row, NULL given as null (`missing`
   * 'error'); `db.insert` into a source is the same batch, a missing column taking its DEFAULT. A
   * connector passes its position after the batch (`progress`), committed with it.
   */
  push(call: StatementCall, name: string, columns: readonly string[], rows: readonly (readonly unknown[])[], missing: 'default' | 'error', progress?: ConnectorProgress): Promise<Rows> {
    const table = this.requireSource(name)
    for (const [index, column] of columns.entries()) {
      if (table.columns.some((candidate) => candidate.name === column)) continue
      const row = rows.findIndex((values) => values[index] !== undefined)
      throw new StrataError('TYPE_MISMATCH', `row ${row + 1}: "${column}" is not a column of the source "${name}"`)
    }
    return this.ingest(call, table, columns, rows, missing, progress)
  }

  /**
   * Checks the whole batch, then writes it: the accepted events into the source's table, the late ones
   * into `_strata_late_events`, the new watermark; then the source's streams take their step. A bad
   * row fails the batch before anything is written.
   */
  private async ingest(
    call: StatementCall,
    table: TableDefinition & { readonly source: SourceDefinition },
    columns: readonly string[],
    rows: readonly (readonly unknown[])[],
    missing: 'default' | 'error',
    progress?: ConnectorProgress,
  ): Promise<Rows> {
    const source = table.source
    const txId = this.pendingTx()
    const state = this.stateSync(this.writer, table.name)
    const lateBefore = state.watermarkUs === null ? null : state.watermarkUs - BigInt(source.allowedLatenessUs)
    const positions = table.columns.map((column) => columns.indexOf(column.name))
    const timeIndex = source.watermarkColumn === null ? -1 : table.columns.findIndex((column) => column.name === source.watermarkColumn)
    const accepted: RowValue[][] = []
    const late: { readonly values: readonly RowValue[]; readonly eventUs: bigint }[] = []
    let maxEventUs = state.maxEventUs
    let latestUs: number | bigint | null = null
    const tableColumns = table.columns
    // Indexed loops: a batch is thousands of events, and entries() makes a pair per value.
    for (let rowIndex = 0; rowIndex < rows.length; rowIndex++) {
      const row = rows[rowIndex]!
      const values: RowValue[] = new Array(tableColumns.length)
      for (let index = 0; index < tableColumns.length; index++) {
        const column = tableColumns[index]!
        const position = positions[index]!
        let value = position < 0 ? undefined : row[position]
        if (value === undefined) {
          if (missing === 'error') throw new StrataError('TYPE_MISMATCH', `row ${rowIndex + 1}: column "${column.name}" of the source "${table.name}" is missing`)
          value = column.default === undefined ? null : column.default.kind === 'now' ? dateFromMicros(this.host.ledger.pendingCommit!.systemTimeUs) : column.default.value
        }
        let stored: RowValue
        try {
          stored = toStorage(value, column.type)
        } catch (error) {
          if (!(error instanceof StrataError)) throw error
          throw new StrataError(error.code, `row ${rowIndex + 1}, column "${column.name}": ${error.message}`, { cause: error })
        }
        if (stored === null && column.notNull) {
          throw new StrataError('CONSTRAINT_VIOLATION', `row ${rowIndex + 1}: null value in column "${column.name}" of the source "${table.name}" violates its not-null constraint`)
        }
        values[index] = stored
      }
      if (timeIndex < 0) {
        accepted.push(values)
        continue
      }
      const time = values[timeIndex]
      if (time === null || time === undefined) throw new StrataError('TYPE_MISMATCH', `row ${rowIndex + 1}: the event time "${source.watermarkColumn}" is NULL`)
      // Compared as stored (a number, or a bigint beyond 2^53), with no BigInt made per event.
      const eventUs = time as number | bigint
      if (state.flushed || (lateBefore !== null && eventUs < lateBefore)) {
        late.push({ values, eventUs: BigInt(eventUs) })
        continue
      }
      accepted.push(values)
      if (latestUs === null || eventUs > latestUs) latestUs = eventUs
    }
    if (latestUs !== null && (maxEventUs === null || latestUs > maxEventUs)) maxEventUs = BigInt(latestUs)
    // The source's table only gains rows: they go to the column store's sync with the commit.
    if (accepted.length > 0) call.appendRowsSync(table, accepted, true)
    if (late.length > 0) {
      const record = this.writer.prepareSync('INSERT INTO _strata_late_events (tx_id, source, event, event_time_us, watermark_us) VALUES (?, ?, ?, ?, ?)')
      for (const event of late) {
        const object = Object.fromEntries(table.columns.map((column, index) => [column.name, jsonValue(fromStorage(event.values[index], column.type))]))
        record.runSync([txId, table.name, JSON.stringify(object), event.eventUs, state.flushed ? null : state.watermarkUs])
      }
    }
    let watermarkUs = state.watermarkUs
    if (maxEventUs !== null) {
      const candidate = maxEventUs - BigInt(source.delayUs)
      if (watermarkUs === null || candidate > watermarkUs) watermarkUs = candidate
    }
    const offset = progress?.offset ?? state.connectorOffset
    if (late.length > 0 || watermarkUs !== state.watermarkUs || maxEventUs !== state.maxEventUs || offset !== state.connectorOffset) {
      // The connector's offset commits with the batch it read: after a crash it resumes after it, exactly once.
      this.saveStateSync(table.name, { watermarkUs, maxEventUs, flushed: state.flushed, connectorOffset: offset })
      call.stateChanged()
    }
    if (progress?.receipts !== undefined && progress.receipts.length > 0) {
      // A slot's receipt is replaced by the next message committed under it: the broker reuses a
      // packet identifier only once the message that had it was acknowledged, so the old one cannot come again.
      const record = this.writer.prepareSync('INSERT OR REPLACE INTO _strata_source_receipts (source, slot, receipt, tx_id) VALUES (?, ?, ?, ?)')
      for (const [slot, receipt] of progress.receipts) record.runSync([table.name, slot, receipt, txId])
    }
    await this.streams.afterBatch(call, table, accepted, { watermarkUs, flushed: state.flushed })
    this.expireSync(call, table, watermarkUs)
    if (rows.length > 0) this.lastArrivalMs.set(table.name, Date.now())
    await this.followedByIdle(call, table.name, watermarkUs)
    return empty(accepted.length)
  }

  /** When each source last received events (wall-clock ms), since this process opened the database. */
  private readonly lastArrivalMs = new Map<string, number>()

  /**
   * Idle sources (SPEC 8: an idle timeout excludes them from the minimum over a join's sources): after
   * `name`'s watermark moved to `watermarkUs`, each source joined with it that has an `idle_timeout`
   * and has received no event for that long takes the same watermark, when it is behind. It no longer
   * holds back what waits for both (an ASOF join's left events, a join's state), and an event older
   * than that arriving later is late, as for any watermark — so the streams' results stay the batch
   * answer over the events accepted. Idleness is counted from the open for a source without events since.
   */
  private async followedByIdle(call: StatementCall, name: string, watermarkUs: bigint | null): Promise<void> {
    if (watermarkUs === null) return
    const nowMs = Date.now()
    for (const partner of this.streams.joinPartners(name)) {
      const table = this.host.schema.catalog.tables.get(partner)
      const timeoutUs = table?.source?.idleTimeoutUs
      if (timeoutUs === undefined) continue
      const lastMs = this.lastArrivalMs.get(partner)
      if (lastMs === undefined) {
        this.lastArrivalMs.set(partner, nowMs)
        continue
      }
      if ((nowMs - lastMs) * 1000 < timeoutUs) continue
      await this.moveWatermark(call, table as TableDefinition & { readonly source: SourceDefinition }, watermarkUs)
    }
  }

  /** The source's watermark moves forward to `micros` (a lower value, or a flushed source, is left alone), and its streams take their step; false when it did not move. */
  private async moveWatermark(call: StatementCall, table: TableDefinition & { readonly source: SourceDefinition }, micros: bigint): Promise<boolean> {
    const state = this.stateSync(this.writer, table.name)
    if (state.flushed || (state.watermarkUs !== null && micros <= state.watermarkUs)) return false
    this.saveStateSync(table.name, { ...state, watermarkUs: micros })
    call.stateChanged()
    await this.streams.afterBatch(call, table, [], { watermarkUs: micros, flushed: false })
    return true
  }

  /** Whether a sink reads a relation (sinks.ts; set by the subsystem's index.ts): its events stay until it has delivered them. */
  sinkReads: ((relation: string) => boolean) | undefined

  /**
   * Retention: the source's events earlier than its watermark minus `retention`, and earlier than any
   * its streams may still read, leave its table — once they are at least a tenth of it (each removal
   * makes the column store copy the source anew, so it is done in steps that keep that copying
   * proportional to the events removed). They are removed the way ERASE removes rows: without history
   * versions, recorded in `_strata_erasures` (strata.erasures), so storage is freed and time travel no
   * longer finds them. Not while a sink reads the source (it may not have delivered them).
   */
  private expireSync(call: StatementCall, table: TableDefinition & { readonly source: SourceDefinition }, watermarkUs: bigint | null): void {
    const retentionUs = table.source.retentionUs
    if (retentionUs === undefined || watermarkUs === null || table.source.watermarkColumn === null) return
    let cutoffUs = watermarkUs - BigInt(retentionUs)
    const needed = this.streams.neededFromSync(table, watermarkUs)
    if (needed === 'all') return
    if (needed !== null && needed < cutoffUs) cutoffUs = needed
    if (this.sinkReads?.(table.name) === true) return
    const name = `main.${quoteIdentifier(table.name)}`
    const column = quoteIdentifier(table.source.watermarkColumn)
    // The event-time index counts the expired events; rowids (events are only appended) size the table.
    const [expired, span] = this.writer
      .prepareSync(`SELECT (SELECT count(*) FROM ${name} WHERE ${column} < ?), (SELECT coalesce(max(rowid) - min(rowid) + 1, 0) FROM ${name})`)
      .allSync([cutoffUs])[0]!
      .map(Number) as [number, number]
    if (expired === 0 || expired * limits.retentionShareDivisor < span) return
    this.host.ledger.setRawSync(true)
    try {
      this.writer.prepareSync(`DELETE FROM ${name} WHERE ${column} < ?`).runSync([cutoffUs])
    } finally {
      this.host.ledger.setRawSync(false)
    }
    this.writer.prepareSync('INSERT INTO _strata_erasures (tx_id, table_name, entities, versions) VALUES (?, ?, ?, ?)').runSync([this.pendingTx(), table.name, expired, expired])
    call.stateChanged()
  }

  /** `db.advanceWatermark(source, time)`: the watermark moves forward to `time`; a lower value is ignored. */
  async advanceWatermark(call: StatementCall, name: string, time: unknown): Promise<Rows> {
    const table = this.requireSource(name)
    if (!(time instanceof Date) && typeof time !== 'string' && typeof time !== 'bigint') {
      throw new StrataError('INVALID_ARGUMENT', 'advanceWatermark() takes a Date, an ISO 8601 text or a bigint of microseconds since the epoch')
    }
    const micros = typeof time === 'bigint' ? time : time instanceof Date ? (Number.isNaN(time.getTime()) ? undefined : dateMicros(time)) : BigInt(toStorage(time, typeFromLabel('TIMESTAMP')) as number)
    if (micros === undefined) throw new StrataError('INVALID_ARGUMENT', 'advanceWatermark(): an invalid Date')
    if (await this.moveWatermark(call, table, micros)) await this.followedByIdle(call, table.name, micros)
    return empty()
  }

  /** `db.flush([source])`: end of input — the watermark goes to +∞ (every source when none is named). */
  async flush(call: StatementCall, name: string | undefined): Promise<Rows> {
    const tables = name === undefined ? [...this.host.schema.catalog.tables.values()].filter((table) => table.source !== undefined) : [this.requireSource(name)]
    for (const table of tables) {
      const state = this.stateSync(this.writer, table.name)
      if (state.flushed) continue
      this.saveStateSync(table.name, { ...state, flushed: true })
      call.stateChanged()
      await this.streams.afterBatch(call, table as TableDefinition & { readonly source: SourceDefinition }, [], { watermarkUs: state.watermarkUs, flushed: true })
    }
    return empty()
  }
}
