/**
 * Sinks (SPEC 8): `CREATE SINK name FROM relation WITH (connector = …)` delivers a relation's changes —
 * a stream's results, or an ordinary table's changelog — to a broker (NATS JetStream, MQTT, RabbitMQ;
 * JSON or Debezium's envelope) or into Parquet files (sink-targets.ts).
 *
 * A sink reads the relation's committed changes in commit order with the change-feed machinery
 * (src/feed/feed.ts), from the start of the relation's history, and after delivering them records the
 * last transaction delivered whole (`_strata_sinks.position_tx`) in a write transaction of its own
 * (`host.call('sinkDelivered')`), as a source's connector records its offset. A restart resumes after
 * that transaction. Delivery runs in the background while the database is open: started on open and
 * after a CREATE SINK, stopped by DROP SINK and close; when the target is away it shows the error in
 * SHOW SINKS and retries with backoff from the committed position.
 *
 * The definition lives in `_strata_sinks` (not the catalog: a sink is not a relation), written in the
 * CREATE's transaction, so a rolled-back CREATE leaves no sink and a running one finds itself gone.
 */
import { resolve } from 'node:path'
import { ChangeFeeds, type Change, type ChangeSubscription } from '../../feed/feed.js'
import { checkUserName } from '../../sql/ddl.js'
import type { TableDefinition } from '../../sql/catalog.js'
import type { CreateSink, DropSink, SinkDefinition } from '../../sql/streaming.js'
import type { RowConnection } from '../../storage/rowstore/rowstore.js'
import { StrataError } from '../../util/errors.js'
import { limits } from '../../util/limits.js'
import type { Rows, StatementCall, SubsystemHost } from '../seam.js'
import { connectUnlessStopped } from './backend.js'
import { openTarget, type Delivery, type SinkContext } from './sink-targets.js'

/** A sink as `_strata_sinks` holds it. */
interface SinkRow {
  readonly name: string
  readonly relation: string
  readonly definition: SinkDefinition
  readonly createdTx: number
  readonly positionTx: number | null
}

interface Running {
  readonly sink: SinkRow
  stopped: boolean
  error: string | undefined
  /** Resolves when the loop has ended (after `stop`). */
  readonly done: Promise<void>
  /** Resolves when the sink is told to stop (`stop`). */
  readonly stopping: Promise<void>
  readonly signalStop: () => void
  /** Ends what the loop is waiting on: the target's connection and the feed. */
  close: (() => Promise<void>) | undefined
}

function empty(): Rows {
  return { rows: [], columns: [], rowCount: 0, engine: 'row' }
}

/** What SHOW SINKS says a sink delivers to. */
function describe(definition: SinkDefinition): string {
  const connector = definition.connector
  switch (connector.kind) {
    case 'nats':
      return `nats ${connector.subject} at ${connector.server}`
    case 'mqtt':
      return `mqtt ${connector.topic} (qos ${connector.qos}) at ${connector.server}`
    case 'rabbitmq':
      return `rabbitmq ${connector.exchange === '' ? '(default exchange)' : `exchange ${connector.exchange}`}${connector.routingKey === '' ? '' : ` routing key ${connector.routingKey}`} at ${connector.server}`
    case 'parquet':
      return `parquet ${connector.path}`
  }
}

export class Sinks {
  private readonly running = new Map<string, Running>()
  private opened = false
  /** The sinks' change feeds, on one reader connection of their own; made when the first sink starts. */
  private feeds: ChangeFeeds | undefined
  /** The feeds' wake-ups, called after every commit (the subsystem's afterCommit). */
  private readonly commitListeners = new Set<() => void>()

  constructor(
    private readonly host: SubsystemHost,
    /** Whether a relation only ever gains rows (a source, a stream that appends), so Parquet files hold plain rows. */
    private readonly appendOnly: (table: TableDefinition) => boolean,
  ) {}

  private pendingTx(): number {
    const pending = this.host.ledger.pendingCommit
    if (pending === undefined) throw new StrataError('INTERNAL', 'a sink is written inside a write transaction')
    return pending.txId
  }

  private rowsSync(connection: RowConnection, where: string, params: readonly (string | number)[]): SinkRow[] {
    return connection
      .prepareSync(`SELECT name, relation, definition, created_tx, position_tx FROM _strata_sinks ${where} ORDER BY name`)
      .allSync([...params])
      .map((row) => ({ name: String(row[0]), relation: String(row[1]), definition: JSON.parse(String(row[2])) as SinkDefinition, createdTx: Number(row[3]), positionTx: row[4] === null ? null : Number(row[4]) }))
  }

  /** The sinks that read `relation`, by name. */
  overSync(connection: RowConnection, relation: string): SinkRow[] {
    return this.rowsSync(connection, 'WHERE relation = ?', [relation])
  }

  // ───────────────────────────── DDL ─────────────────────────────

  /** CREATE SINK: the relation must be a table (a stream's, a source's or an ordinary one). */
  create(call: StatementCall, create: CreateSink): Rows {
    const writer = this.host.rowStore.writer
    if (this.rowsSync(writer, 'WHERE name = ?', [create.name]).length > 0) {
      if (create.ifNotExists) return empty()
      throw new StrataError('DUPLICATE_TABLE', `sink "${create.name}" already exists`)
    }
    checkUserName(create.name, 'sink')
    const catalog = this.host.schema.catalog
    if (!catalog.tables.has(create.relation)) {
      if (catalog.views.has(create.relation)) throw new StrataError('NOT_SUPPORTED', `a sink of the view "${create.relation}" (a sink reads a stream's or a table's changes; a view has none)`)
      throw new StrataError('UNDEFINED_TABLE', `relation "${create.relation}" does not exist (a sink reads a stream or a table)`)
    }
    const connector = create.definition.connector
    // A relative directory is the process's, as COPY … TO takes it; kept absolute so a later process finds the same one.
    const definition: SinkDefinition = connector.kind === 'parquet' ? { ...create.definition, connector: { kind: 'parquet', path: resolve(connector.path) } } : create.definition
    writer
      .prepareSync('INSERT INTO _strata_sinks (name, relation, definition, created_tx, position_tx, tx_id) VALUES (?, ?, ?, ?, NULL, ?)')
      .runSync([create.name, create.relation, JSON.stringify(definition), this.pendingTx(), this.pendingTx()])
    call.stateChanged()
    this.reconcileSoon()
    return empty()
  }

  drop(call: StatementCall, drop: DropSink): Rows {
    const writer = this.host.rowStore.writer
    for (const name of drop.names) {
      if (this.rowsSync(writer, 'WHERE name = ?', [name]).length === 0) {
        if (drop.ifExists) continue
        throw new StrataError('UNDEFINED_TABLE', `sink "${name}" does not exist`)
      }
      writer.prepareSync('DELETE FROM _strata_sinks WHERE name = ?').runSync([name])
      call.stateChanged()
    }
    this.reconcileSoon()
    return empty()
  }

  /**
   * Refuses to drop `table` (DROP STREAM, DROP SOURCE, DROP TABLE, a CREATE OR REPLACE) while a sink
   * reads it, naming the sink, unless `cascade`: then the sinks go with it (`droppedSync`).
   */
  checkDrop(table: TableDefinition, cascade: boolean): void {
    if (cascade) return
    const sink = this.overSync(this.host.rowStore.writer, table.name)[0]
    if (sink === undefined) return
    const what = table.stream !== undefined ? 'STREAM' : table.source !== undefined ? 'SOURCE' : 'TABLE'
    throw new StrataError('NOT_SUPPORTED', `cannot drop the ${what.toLowerCase()} "${table.name}": the sink "${sink.name}" reads it (DROP ${what} ${table.name} CASCADE drops its sinks too)`)
  }

  /** The schema hook: a dropped relation's sinks go with it (checkDrop refused it unless CASCADE). */
  droppedSync(writer: RowConnection, table: TableDefinition): void {
    if (writer.prepareSync('DELETE FROM _strata_sinks WHERE relation = ?').runSync([table.name]).changes > 0) this.reconcileSoon()
  }

  /** `host.call('sinkDelivered', [name, createdTx, txId])`: the sink delivered every change up to `txId`. */
  delivered(call: StatementCall, args: readonly unknown[]): Rows {
    const [name, createdTx, txId] = [String(args[0]), Number(args[1]), Number(args[2])]
    const changed = this.host.rowStore.writer
      .prepareSync('UPDATE _strata_sinks SET position_tx = ?, tx_id = ? WHERE name = ? AND created_tx = ? AND (position_tx IS NULL OR position_tx < ?)')
      .runSync([txId, this.pendingTx(), name, createdTx, txId]).changes
    if (changed > 0) call.stateChanged()
    return empty()
  }

  /** SHOW SINKS: each sink, its relation, where it delivers, its format, its position and its error. */
  show(call: StatementCall): Rows {
    const rows = this.rowsSync(call.rowConnection(), '', []).map((sink) => [
      sink.name,
      sink.relation,
      describe(sink.definition),
      sink.definition.schemas === true ? `${sink.definition.format} with schemas` : sink.definition.format,
      sink.positionTx,
      this.running.get(sink.name)?.error ?? null,
    ])
    return {
      rows,
      columns: [
        { name: 'name', type: 'VARCHAR' },
        { name: 'relation', type: 'VARCHAR' },
        { name: 'connector', type: 'VARCHAR' },
        { name: 'format', type: 'VARCHAR' },
        { name: 'position', type: 'BIGINT' },
        { name: 'error', type: 'VARCHAR' },
      ],
      rowCount: rows.length,
      engine: 'row',
    }
  }

  // ───────────────────────────── delivery ─────────────────────────────

  /** After every commit: caught-up feeds look again. */
  afterCommit(): void {
    for (const listener of this.commitListeners) listener()
  }

  /** Once the engine is open: sinks start from here on. */
  open(): void {
    this.opened = true
    this.reconcile()
  }

  /** Reconciles once the statement that created or dropped a sink has ended (committed or rolled back). */
  reconcileSoon(): void {
    setImmediate(() => this.reconcile())
  }

  /** Starts a loop for every committed sink with none running; stops those whose sink is gone. */
  reconcile(): void {
    if (!this.opened) return
    const wanted = new Map(this.rowsSync(this.host.rowStore.reader, '', []).map((sink) => [sink.name, sink]))
    for (const [name, running] of this.running) if (wanted.get(name)?.createdTx !== running.sink.createdTx) void this.stop(name)
    for (const [name, sink] of wanted) if (!this.running.has(name)) this.start(sink)
  }

  private start(sink: SinkRow): void {
    let finish!: () => void
    let signalStop!: () => void
    const stopping = new Promise<void>((resolve) => (signalStop = resolve))
    const running: Running = { sink, stopped: false, error: undefined, done: new Promise((resolve) => (finish = resolve)), stopping, signalStop, close: undefined }
    this.running.set(sink.name, running)
    void this.loop(running).finally(finish)
  }

  private async stop(name: string): Promise<void> {
    const running = this.running.get(name)
    if (running === undefined) return
    this.running.delete(name)
    running.stopped = true
    running.signalStop()
    await running.close?.().catch(() => undefined)
    await running.done
  }

  async closeAll(): Promise<void> {
    this.opened = false
    await Promise.all([...this.running.keys()].map((name) => this.stop(name)))
    this.feeds?.closeAll()
    this.feeds = undefined
  }

  /** The committed state of the sink `running` delivers for, or undefined when it is gone (dropped, or created again). */
  private committedSync(running: Running): SinkRow | undefined {
    const sink = this.rowsSync(this.host.rowStore.reader, 'WHERE name = ?', [running.sink.name])[0]
    return sink?.createdTx === running.sink.createdTx ? sink : undefined
  }

  private async loop(running: Running): Promise<void> {
    let backoffMs: number = limits.sinkBackoffMinMs
    while (!running.stopped) {
      if (this.committedSync(running) === undefined) {
        if (this.running.get(running.sink.name) === running) this.running.delete(running.sink.name)
        break
      }
      try {
        await this.deliver(running)
      } catch (error) {
        if (running.stopped) break
        running.error = error instanceof Error ? error.message : String(error)
        await new Promise((resolve) => setTimeout(resolve, backoffMs))
        backoffMs = Math.min(backoffMs * 2, limits.sinkBackoffMaxMs)
        continue
      } finally {
        await running.close?.().catch(() => undefined)
        running.close = undefined
      }
      backoffMs = limits.sinkBackoffMinMs
    }
  }

  private feedsOf(): ChangeFeeds {
    const { rowStore, schema, ledger } = this.host
    this.feeds ??= new ChangeFeeds({
      connectReaderSync: () => rowStore.connectReaderSync(),
      table: (name) => schema.catalog.tables.get(name),
      isView: (name) => schema.catalog.views.has(name),
      tableNames: () => [...schema.catalog.tables.keys()].sort(),
      lastCommittedTx: () => ledger.lastCommitted.txId,
      writeInProgress: () => ledger.pendingCommit !== undefined,
      onCommit: (listener) => {
        this.commitListeners.add(listener)
        return () => this.commitListeners.delete(listener)
      },
      saveCursor: () => Promise.reject(new StrataError('INTERNAL', 'a sink keeps its position in _strata_sinks, not in a feed cursor')),
    })
    return this.feeds
  }

  /**
   * One connection's life: from the committed position, take the relation's changes a page at a time,
   * deliver them, and record the last transaction delivered whole; until stopped or something fails.
   */
  private async deliver(running: Running): Promise<void> {
    const sink = this.committedSync(running)
    if (sink === undefined) return
    const relation = this.host.schema.catalog.tables.get(sink.relation)
    if (relation === undefined) throw new StrataError('UNDEFINED_TABLE', `the relation "${sink.relation}" the sink reads is gone`)
    const context: SinkContext = { name: sink.name, relation, createdTx: sink.createdTx, positionTx: sink.positionTx, appendOnly: this.appendOnly(relation) }
    // A broker that accepted the connection and does not answer is not waited for once stopped.
    const target = await connectUnlessStopped(running, openTarget(this.host, context, sink.definition), (made) => made.close())
    if (target === undefined) return
    let feed: ChangeSubscription | undefined
    running.close = async () => {
      feed?.close()
      await target.close()
    }
    if (running.stopped) return
    // From the relation's first change, or after the last transaction delivered whole.
    feed = this.feedsOf().subscribe({ tables: [sink.relation], fromTx: (sink.positionTx ?? 0) + 1 })
    let positionTx = sink.positionTx ?? 0
    // Each change's index in its transaction; a resumed feed starts at a transaction's beginning.
    let indexTx = -1
    let index = 0
    const take = (change: Change): Delivery => {
      if (change.txId !== indexTx) {
        indexTx = change.txId
        index = 0
      }
      return { change, index: index++ }
    }
    while (!running.stopped) {
      const first = await feed.next()
      if (first.done === true || running.stopped) break
      const batch = [take(first.value)]
      while (feed.bufferedCount > 0 && batch.length < limits.sinkBatchChangesMax) {
        const next = await feed.next()
        if (next.done === true) break
        batch.push(take(next.value))
      }
      // The last transaction is whole when the feed has handed out everything and read past it.
      const lastTx = batch[batch.length - 1]!.change.txId
      let wholeThroughTx = positionTx
      if (feed.bufferedCount === 0 && lastTx < feed.readWholeBeforeTx) wholeThroughTx = lastTx
      else for (const delivery of batch) if (delivery.change.txId < lastTx) wholeThroughTx = Math.max(wholeThroughTx, delivery.change.txId)
      await target.write(batch, wholeThroughTx)
      if (running.stopped) break
      if (wholeThroughTx > positionTx) {
        await this.host.call('sinkDelivered', [sink.name, sink.createdTx, wholeThroughTx])
        positionTx = wholeThroughTx
      }
      running.error = undefined
    }
  }
}
