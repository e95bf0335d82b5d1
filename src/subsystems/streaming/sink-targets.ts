/**
 * Where a sink's changes go (sinks.ts reads them): one small interface, {@link SinkTarget}, and one
 * implementation per connector — NATS JetStream, MQTT, RabbitMQ, Parquet files. Each broker's client
 * package is loaded only when a sink of its kind starts.
 *
 * What each guarantees (docs/streaming.md, "Sinks"):
 * - NATS JetStream: exactly once within the stream's duplicate window — every message carries a
 *   `Nats-Msg-Id` made of the sink, the transaction that created it, the change's transaction and its
 *   index in that transaction, so a change published again after a crash (published, position not yet
 *   committed) is dropped by the server.
 * - MQTT and RabbitMQ: at least once — a change may arrive again after a crash; its transaction id and
 *   index (in the message, and RabbitMQ's `message-id`) let a consumer drop the repeat.
 * - Parquet: exactly once — a file holds whole transactions (position + 1 … to), is written under a
 *   temporary name and renamed; files of transactions after the committed position (written before a
 *   crash, never recorded) are removed when the sink starts, so the re-run replaces them.
 */
import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { Change, RowImage } from '../../feed/feed.js'
import type { TableDefinition } from '../../sql/catalog.js'
import type { SinkConnector, SinkDefinition } from '../../sql/streaming.js'
import { quoteIdentifier } from '../../sql/tree.js'
import { toStorage, typeFromLabel } from '../../sql/types.js'
import { appendKind, castFromStaging, stagingType } from '../../sync/mirror.js'
import { StrataError } from '../../util/errors.js'
import { syncToDisk } from '../../util/files.js'
import { limits } from '../../util/limits.js'
import { isoTimestamp } from '../../util/timestamp.js'
import type { SubsystemHost } from '../seam.js'

/** One change as a sink delivers it: with its index among its transaction's changes (0, 1, …). */
export interface Delivery {
  readonly change: Change
  readonly index: number
}

/** A sink's connection to where its changes go. */
export interface SinkTarget {
  /**
   * Delivers `deliveries` (in commit order). Transactions up to `wholeThroughTx` are complete in what
   * was handed over so far; a later one may continue in the next call.
   */
  write(deliveries: readonly Delivery[], wholeThroughTx: number): Promise<void>
  close(): Promise<void>
}

/** What a target knows of its sink. */
export interface SinkContext {
  readonly name: string
  readonly relation: TableDefinition
  /** The transaction that created the sink: part of each message id. */
  readonly createdTx: number
  /** The last transaction delivered whole, as committed (null: none yet). */
  readonly positionTx: number | null
  /** Whether the relation only ever gains rows (a source, a stream that appends): Parquet files then hold plain rows. */
  readonly appendOnly: boolean
}

/** A value as it appears in a message's JSON: timestamps in ISO 8601 (µs), integers beyond 2^53 as text, bytes in base64. */
function jsonValue(value: unknown): unknown {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : isoTimestamp(value)
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString()
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64')
  return value === undefined ? null : value
}

function jsonImage(image: RowImage | null): Record<string, unknown> | null {
  if (image === null) return null
  return Object.fromEntries(Object.entries(image).map(([name, value]) => [name, jsonValue(value)]))
}

const debeziumOperations = { insert: 'c', update: 'u', delete: 'd' } as const

/**
 * A change as one message. `json`: `{"op", "table", "before", "after", "tx", "index", "ts"}` (ts: the
 * commit's system time). `debezium`: Debezium's change-event payload without its schema part —
 * `before`, `after`, `source` (connector, name, table, `txId`, `ts_ms` of the commit, `sequence`),
 * `op` c/u/d, `ts_ms` (when the sink sent it) and `transaction` (`id`, and the change's order in it).
 *
 * @example
 * encodeChange(context, { change, index: 0 }, 'json') // '{"op":"insert","table":"totals","before":null,"after":{…},"tx":12,"index":0,"ts":"2026-01-05T14:30:00.000000Z"}'
 */
export function encodeChange(context: SinkContext, delivery: Delivery, format: 'json' | 'debezium'): string {
  const { change, index } = delivery
  if (format === 'json') {
    return JSON.stringify({ op: change.op, table: change.table, before: jsonImage(change.before), after: jsonImage(change.after), tx: change.txId, index, ts: isoTimestamp(change.systemTime) })
  }
  const committedMs = change.systemTime.getTime()
  return JSON.stringify({
    before: jsonImage(change.before),
    after: jsonImage(change.after),
    source: {
      connector: 'strata',
      name: context.name,
      ts_ms: committedMs,
      snapshot: 'false',
      db: 'strata',
      schema: 'main',
      table: change.table,
      txId: change.txId,
      sequence: JSON.stringify([String(change.txId), String(index)]),
    },
    op: debeziumOperations[change.op],
    ts_ms: Date.now(),
    transaction: { id: String(change.txId), total_order: index + 1, data_collection_order: index + 1 },
  })
}

/** The id of a change's message, the same every time it is sent: NATS dedupes by it, RabbitMQ carries it. */
export function messageId(context: SinkContext, delivery: Delivery): string {
  return `${context.name}-${context.createdTx}-${delivery.change.txId}-${delivery.index}`
}

/** `promise`, or an IO_ERROR after `limits.sinkSendTimeoutMs` or when `broken` rejects (the connection went away). */
async function sent<T>(promise: Promise<T>, broken: Promise<never>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new StrataError('IO_ERROR', `${what}: no acknowledgement within ${limits.sinkSendTimeoutMs} ms`)), limits.sinkSendTimeoutMs)
  })
  try {
    return await Promise.race([promise, broken, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** A promise that rejects when `subscribe` reports the connection's end; marked handled, it only matters in a race. */
function brokenWhen(subscribe: (fail: (error: unknown) => void) => void, what: string): Promise<never> {
  const broken = new Promise<never>((_resolve, reject) => subscribe((error) => reject(new StrataError('IO_ERROR', `${what}: the connection closed${error instanceof Error ? ` (${error.message})` : ''}`))))
  broken.catch(() => undefined)
  return broken
}

/**
 * Opens the target of a sink: a broker connection (failing when the broker is away, or holds no
 * stream, queue or exchange for the sink), or the Parquet directory, cleaned of what a crash left.
 */
export async function openTarget(host: SubsystemHost, context: SinkContext, definition: SinkDefinition): Promise<SinkTarget> {
  const connector = definition.connector
  const format = definition.format === 'debezium' ? 'debezium' : 'json'
  switch (connector.kind) {
    case 'nats':
      return openNats(context, connector, format)
    case 'mqtt':
      return openMqtt(context, connector, format)
    case 'rabbitmq':
      return openRabbitMq(context, connector, format)
    case 'parquet':
      return new ParquetTarget(host, context, connector.path)
  }
}

/** Deliveries in groups of `limits.sinkInFlightMax`: sent together, each group acknowledged before the next. */
function* inFlight(deliveries: readonly Delivery[]): Generator<readonly Delivery[]> {
  for (let start = 0; start < deliveries.length; start += limits.sinkInFlightMax) yield deliveries.slice(start, start + limits.sinkInFlightMax)
}

async function openNats(context: SinkContext, connector: Extract<SinkConnector, { kind: 'nats' }>, format: 'json' | 'debezium'): Promise<SinkTarget> {
  const nats = await import('nats')
  const connection = await nats.connect({ servers: connector.server, reconnect: false })
  const broken = brokenWhen((fail) => void connection.closed().then(fail), `NATS ${connector.server}`)
  const jetstream = connection.jetstream()
  const encoder = new TextEncoder()
  return {
    async write(deliveries) {
      for (const group of inFlight(deliveries)) {
        // One connection sends in order, so the stream stores the group in order.
        const acks = group.map((delivery) => jetstream.publish(connector.subject, encoder.encode(encodeChange(context, delivery, format)), { msgID: messageId(context, delivery) }))
        try {
          await sent(Promise.all(acks), broken, `NATS ${connector.server}`)
        } catch (error) {
          for (const ack of acks) ack.catch(() => undefined)
          if (error instanceof Error && /no responders|503/i.test(error.message)) {
            throw new StrataError('IO_ERROR', `no JetStream stream holds the subject ${connector.subject} on ${connector.server} (a NATS sink publishes to JetStream)`, { cause: error })
          }
          throw error
        }
      }
    },
    close: () => connection.close(),
  }
}

async function openMqtt(context: SinkContext, connector: Extract<SinkConnector, { kind: 'mqtt' }>, format: 'json' | 'debezium'): Promise<SinkTarget> {
  const mqtt = await import('mqtt')
  const url = connector.server.includes('://') ? connector.server : `mqtt://${connector.server}`
  // No reconnecting inside the client: the sink's loop retries from its committed position instead.
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: limits.sinkSendTimeoutMs })
  client.on('error', () => undefined)
  const broken = brokenWhen((fail) => client.once('close', () => fail(undefined)), `MQTT ${connector.server}`)
  return {
    async write(deliveries) {
      for (const group of inFlight(deliveries)) {
        const acks = group.map((delivery) => client.publishAsync(connector.topic, encodeChange(context, delivery, format), { qos: connector.qos }))
        try {
          await sent(Promise.all(acks), broken, `MQTT ${connector.server}`)
        } catch (error) {
          for (const ack of acks) ack.catch(() => undefined)
          throw error
        }
      }
    },
    close: async () => {
      await client.endAsync(true)
    },
  }
}

async function openRabbitMq(context: SinkContext, connector: Extract<SinkConnector, { kind: 'rabbitmq' }>, format: 'json' | 'debezium'): Promise<SinkTarget> {
  const amqp = await import('amqplib')
  const url = connector.server.includes('://') ? connector.server : `amqp://${connector.server}`
  const connection = await amqp.connect(url)
  connection.on('error', () => undefined)
  const broken = brokenWhen((fail) => connection.once('close', fail), `RabbitMQ ${connector.server}`)
  try {
    const channel = await connection.createConfirmChannel()
    channel.on('error', () => undefined)
    // Nothing is declared: the queue or exchange must exist (a message routed nowhere would be lost).
    if (connector.queue !== undefined) await channel.checkQueue(connector.queue)
    if (connector.exchange !== '') await channel.checkExchange(connector.exchange)
    return {
      async write(deliveries) {
        for (const group of inFlight(deliveries)) {
          for (const delivery of group) {
            const content = Buffer.from(encodeChange(context, delivery, format))
            const options = { persistent: true, contentType: 'application/json', messageId: messageId(context, delivery) }
            if (!channel.publish(connector.exchange, connector.routingKey, content, options)) {
              await sent(new Promise((resolve) => channel.once('drain', resolve)), broken, `RabbitMQ ${connector.server}`)
            }
          }
          await sent(channel.waitForConfirms(), broken, `RabbitMQ ${connector.server}`)
        }
      },
      close: async () => {
        await connection.close().catch(() => undefined)
      },
    }
  } catch (error) {
    await connection.close().catch(() => undefined)
    throw new StrataError('IO_ERROR', `RabbitMQ ${connector.server}: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
  }
}

/** A Parquet file of the sink's: `part-<from>-<to>[-<i>].parquet`, the transactions it holds. */
const partFile = /^part-(\d+)-(\d+)(?:-\d+)?\.parquet$/
/** The column a windowed relation's files are partitioned by (Hive-style directories). */
const partitionColumn = 'window_start'
/** The columns a changelog's files add: the change's kind, its transaction and its index in it. */
const changelogColumns = [
  { name: '_strata_op', type: typeFromLabel('VARCHAR') },
  { name: '_strata_tx', type: typeFromLabel('BIGINT') },
  { name: '_strata_index', type: typeFromLabel('INTEGER') },
] as const

/**
 * Parquet files written by DuckDB (`COPY … TO … (FORMAT parquet)`) through a column-store session.
 * Each call writes the whole transactions it was given as one file per `window_start` (a relation
 * with that column: `path/window_start=<value>/part-<from>-<to>.parquet`, DuckDB's Hive partitioning)
 * or one file (`path/part-<from>-<to>.parquet`). A transaction cut short by a page is held until its
 * end arrives.
 */
class ParquetTarget implements SinkTarget {
  /** Changes of a transaction not yet whole, held for the next call. */
  private held: Delivery[] = []
  private positionTx: number | null

  constructor(
    private readonly host: SubsystemHost,
    private readonly context: SinkContext,
    private readonly path: string,
  ) {
    this.positionTx = context.positionTx
    try {
      mkdirSync(path, { recursive: true })
      this.removeUnrecordedSync()
    } catch (error) {
      if (error instanceof StrataError) throw error
      throw new StrataError('IO_ERROR', `the Parquet sink's directory ${path}: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
    }
  }

  /** Files of transactions after the committed position (a crash came before it was recorded) and temporary files: the re-run writes them again. */
  private removeUnrecordedSync(): void {
    const after = this.positionTx ?? 0
    const sweep = (directory: string, depth: number): void => {
      for (const name of readdirSync(directory)) {
        const full = join(directory, name)
        if (name.startsWith('.strata-')) {
          rmSync(full, { recursive: true, force: true })
          continue
        }
        const part = partFile.exec(name)
        if (part !== null && Number(part[1]) > after) rmSync(full, { force: true })
        else if (depth === 0 && name.startsWith(`${partitionColumn}=`) && statSync(full).isDirectory()) sweep(full, 1)
      }
    }
    sweep(this.path, 0)
  }

  private get partitioned(): boolean {
    const column = this.context.relation.columns.find((candidate) => candidate.name === partitionColumn)
    return column !== undefined && (column.type.name === 'TIMESTAMP' || column.type.name === 'TIMESTAMPTZ')
  }

  async write(deliveries: readonly Delivery[], wholeThroughTx: number): Promise<void> {
    const all = [...this.held, ...deliveries]
    const whole = all.filter((delivery) => delivery.change.txId <= wholeThroughTx)
    this.held = all.filter((delivery) => delivery.change.txId > wholeThroughTx)
    if (whole.length === 0) return
    const changelog = !this.context.appendOnly
    if (!changelog && whole.some((delivery) => delivery.change.op !== 'insert')) {
      throw new StrataError('INTERNAL', `the relation "${this.context.relation.name}" only gains rows, but a change of it is an ${whole.find((delivery) => delivery.change.op !== 'insert')!.change.op}`)
    }
    const fromTx = (this.positionTx ?? 0) + 1
    const toTx = whole[whole.length - 1]!.change.txId
    const columns = this.context.relation.columns
    const stagedColumns = changelog ? [...columns, ...changelogColumns] : columns
    const kinds = stagedColumns.map((column) => appendKind(column.type))
    const rows = whole.map((delivery) => {
      const { change } = delivery
      const image = (change.after ?? change.before)!
      const values = columns.map((column) => toStorage(image[column.name] ?? null, column.type))
      return changelog ? [...values, change.op, change.txId, delivery.index] : values
    })
    const work = `rows_${this.context.name}`
    const workTable = `${sinkSchema}.${quoteIdentifier(work)}`
    const session = await this.host.syncer.acquireSession()
    try {
      await session.runStatements(`CREATE SCHEMA IF NOT EXISTS ${sinkSchema}; CREATE OR REPLACE TABLE ${workTable} (${stagedColumns.map((column, index) => `${quoteIdentifier(column.name)} ${stagingType(kinds[index]!)}`).join(', ')})`)
      try {
        await session.append(sinkSchema, work, kinds, rows)
        const select = `SELECT ${stagedColumns.map((column) => `${castFromStaging(column.name, column.type)} AS ${quoteIdentifier(column.name)}`).join(', ')} FROM ${workTable} ORDER BY ${changelog ? '_strata_tx, _strata_index' : 'rowid'}`
        const name = `part-${fromTx}-${toTx}`
        if (this.partitioned) {
          // DuckDB writes the partition directories (and names them as its reader expects) under a
          // temporary directory; each file is then renamed into place.
          const staging = join(this.path, `.strata-${name}`)
          rmSync(staging, { recursive: true, force: true })
          await session.run(`COPY (${select}) TO ${stringLiteral(staging)} (FORMAT parquet, PARTITION_BY (${quoteIdentifier(partitionColumn)}))`)
          for (const directory of readdirSync(staging)) {
            const files = readdirSync(join(staging, directory)).filter((file) => file.endsWith('.parquet')).sort()
            mkdirSync(join(this.path, directory), { recursive: true })
            files.forEach((file, index) => {
              syncToDisk(join(staging, directory, file))
              renameSync(join(staging, directory, file), join(this.path, directory, `${name}${index === 0 ? '' : `-${index}`}.parquet`))
            })
            syncToDisk(join(this.path, directory))
          }
          rmSync(staging, { recursive: true, force: true })
        } else {
          const temporary = join(this.path, `.strata-${name}.parquet`)
          await session.run(`COPY (${select}) TO ${stringLiteral(temporary)} (FORMAT parquet)`)
          syncToDisk(temporary)
          renameSync(temporary, join(this.path, `${name}.parquet`))
        }
        // The files and their names are on the disk before the position that counts them as delivered commits.
        syncToDisk(this.path)
      } finally {
        await session.runStatements(`DROP TABLE IF EXISTS ${workTable}`)
      }
    } catch (error) {
      if (error instanceof StrataError) throw error
      throw new StrataError('IO_ERROR', `the Parquet sink's directory ${this.path}: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
    } finally {
      this.host.syncer.releaseSession(session)
    }
    this.positionTx = toTx
  }

  async close(): Promise<void> {
    this.held = []
  }
}

/** The column store's schema for the rows a Parquet sink writes. */
const sinkSchema = 'strata_sinks'

function stringLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`
}
