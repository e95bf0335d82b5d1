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
import { decimalFromNumber, parseDecimal, rescale } from '../../util/decimal.js'
import { jsonValue } from '../../util/json-value.js'
import { dateMicros, isoTimestamp } from '../../util/timestamp.js'
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
 * `debezium-schema`: `{"schema", "payload"}` as Kafka Connect's JSON converter writes with
 * schemas.enable — the envelope's schema (`envelopeSchema`), and the payload with each value in the
 * type its column's schema states (`columnSchema`).
 *
 * @example
 * encodeChange(context, { change, index: 0 }, 'json') // '{"op":"insert","table":"totals","before":null,"after":{…},"tx":12,"index":0,"ts":"2026-01-05T14:30:00.000000Z"}'
 */
export function encodeChange(context: SinkContext, delivery: Delivery, format: MessageFormat): string {
  const { change, index } = delivery
  if (format === 'json') {
    return JSON.stringify({ op: change.op, table: change.table, before: jsonImage(change.before), after: jsonImage(change.after), tx: change.txId, index, ts: isoTimestamp(change.systemTime) })
  }
  const committedMs = change.systemTime.getTime()
  const typed = format === 'debezium-schema'
  const image = (row: RowImage | null): Record<string, unknown> | null => (typed ? connectImage(context.relation, row) : jsonImage(row))
  const payload = {
    before: image(change.before),
    after: image(change.after),
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
  }
  return typed ? connectJson({ schema: envelopeSchema(context), payload }) : JSON.stringify(payload)
}

/** How a broker sink writes each change: Strata's JSON, Debezium's payload, or Debezium's schema and payload. */
export type MessageFormat = 'json' | 'debezium' | 'debezium-schema'

/**
 * A column's Kafka Connect schema, as Debezium's PostgreSQL connector gives its type by default
 * (`decimal.handling.mode = precise`, `time.precision.mode = adaptive`): integers int16/32/64, DOUBLE
 * double, DECIMAL(p,s) Connect's Decimal (bytes), DATE io.debezium.time.Date (days since the epoch),
 * TIMESTAMP io.debezium.time.MicroTimestamp (µs since the epoch), TIMESTAMPTZ
 * io.debezium.time.ZonedTimestamp (ISO 8601 text), JSON io.debezium.data.Json (text), BLOB bytes.
 */
function columnSchema(column: TableDefinition['columns'][number]): Record<string, unknown> {
  const optional = !column.notNull
  const type = column.type
  const named = (connectType: string, name: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ type: connectType, optional, name, version: 1, ...extra, field: column.name })
  switch (type.name) {
    case 'BOOLEAN':
      return { type: 'boolean', optional, field: column.name }
    case 'SMALLINT':
      return { type: 'int16', optional, field: column.name }
    case 'INTEGER':
      return { type: 'int32', optional, field: column.name }
    case 'BIGINT':
      return { type: 'int64', optional, field: column.name }
    case 'DOUBLE':
      return { type: 'double', optional, field: column.name }
    case 'DECIMAL':
      return named('bytes', 'org.apache.kafka.connect.data.Decimal', { parameters: { scale: String(type.scale ?? 0), 'connect.decimal.precision': String(type.precision ?? 18) } })
    case 'DATE':
      return named('int32', 'io.debezium.time.Date')
    case 'TIMESTAMP':
      return named('int64', 'io.debezium.time.MicroTimestamp')
    case 'TIMESTAMPTZ':
      return named('string', 'io.debezium.time.ZonedTimestamp')
    case 'JSON':
      return named('string', 'io.debezium.data.Json')
    case 'BLOB':
      return { type: 'bytes', optional, field: column.name }
    default:
      return { type: 'string', optional, field: column.name }
  }
}

/** The schema of Debezium's change-event envelope for the sink's relation (Kafka Connect's JSON converter's `schema`). */
function envelopeSchema(context: SinkContext): Record<string, unknown> {
  const table = context.relation.name
  const row = (field: string): Record<string, unknown> => ({ type: 'struct', fields: context.relation.columns.map(columnSchema), optional: true, name: `strata.main.${table}.Value`, field })
  const text = (field: string, optional = false): Record<string, unknown> => ({ type: 'string', optional, field })
  const int64 = (field: string, optional = false): Record<string, unknown> => ({ type: 'int64', optional, field })
  return {
    type: 'struct',
    fields: [
      row('before'),
      row('after'),
      {
        type: 'struct',
        fields: [text('connector'), text('name'), int64('ts_ms'), text('snapshot', true), text('db'), text('schema'), text('table'), int64('txId', true), text('sequence', true)],
        optional: false,
        name: 'io.debezium.connector.strata.Source',
        field: 'source',
      },
      text('op'),
      int64('ts_ms', true),
      { type: 'struct', fields: [text('id'), int64('total_order'), int64('data_collection_order')], optional: true, name: 'event.block', version: 1, field: 'transaction' },
    ],
    optional: false,
    name: `strata.main.${table}.Envelope`,
    version: 1,
  }
}

/** A row image's values in the types `columnSchema` states (a BIGINT beyond 2^53 stays a bigint, written as its digits by connectJson). */
function connectImage(relation: TableDefinition, image: RowImage | null): Record<string, unknown> | null {
  if (image === null) return null
  const row: Record<string, unknown> = {}
  for (const column of relation.columns) row[column.name] = connectValue(image[column.name], column.type)
  return row
}

const microsPerDay = 86_400_000_000n

function connectValue(value: unknown, type: TableDefinition['columns'][number]['type']): unknown {
  if (value === null || value === undefined) return null
  switch (type.name) {
    case 'DECIMAL': {
      const parsed = typeof value === 'number' ? decimalFromNumber(value) : parseDecimal(String(value))
      if (parsed === undefined) throw new StrataError('INTERNAL', `a DECIMAL value ${String(value)} that does not parse`)
      return Buffer.from(twosComplement(rescale(parsed, type.scale ?? 0).unscaled)).toString('base64')
    }
    case 'DATE': {
      const micros = typeof value === 'string' ? BigInt(Date.parse(`${value}T00:00:00Z`)) * 1000n : dateMicros(value as Date)
      return Number((micros - (((micros % microsPerDay) + microsPerDay) % microsPerDay)) / microsPerDay)
    }
    case 'TIMESTAMP': {
      const micros = dateMicros(value as Date)
      return Number.isSafeInteger(Number(micros)) ? Number(micros) : micros
    }
    case 'TIMESTAMPTZ':
      return isoTimestamp(value as Date)
    case 'JSON':
      return typeof value === 'string' ? value : JSON.stringify(value)
    case 'BLOB':
      return Buffer.from(value as Uint8Array).toString('base64')
    default:
      return value
  }
}

/** An integer as Kafka Connect's Decimal holds its unscaled value: big-endian two's complement, in as few bytes as hold it. */
function twosComplement(value: bigint): Uint8Array {
  const bytes: number[] = []
  let rest = value
  for (;;) {
    const byte = Number(rest & 0xffn)
    bytes.unshift(byte)
    rest >>= 8n
    // Done once what is left is the sign extension of the byte just written.
    if ((rest === 0n && (byte & 0x80) === 0) || (rest === -1n && (byte & 0x80) !== 0)) break
  }
  return Uint8Array.from(bytes)
}

/** JSON text of plain data in which a bigint is written as its digits (a JSON number), as Kafka Connect's int64 is. */
function connectJson(value: unknown): string {
  if (typeof value === 'bigint') return value.toString()
  if (Array.isArray(value)) return `[${value.map(connectJson).join(',')}]`
  if (value !== null && typeof value === 'object') return `{${Object.entries(value).map(([key, item]) => `${JSON.stringify(key)}:${connectJson(item)}`).join(',')}}`
  return JSON.stringify(value ?? null)
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
  const format: MessageFormat = definition.format !== 'debezium' ? 'json' : definition.schemas === true ? 'debezium-schema' : 'debezium'
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

async function openNats(context: SinkContext, connector: Extract<SinkConnector, { kind: 'nats' }>, format: MessageFormat): Promise<SinkTarget> {
  const nats = await import('nats')
  const connection = await nats.connect({ servers: connector.server, reconnect: false, timeout: limits.sinkSendTimeoutMs })
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

async function openMqtt(context: SinkContext, connector: Extract<SinkConnector, { kind: 'mqtt' }>, format: MessageFormat): Promise<SinkTarget> {
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

async function openRabbitMq(context: SinkContext, connector: Extract<SinkConnector, { kind: 'rabbitmq' }>, format: MessageFormat): Promise<SinkTarget> {
  const amqp = await import('amqplib')
  const url = connector.server.includes('://') ? connector.server : `amqp://${connector.server}`
  // amqplib waits for a broker's handshake for ever unless given a timeout.
  const connection = await amqp.connect(url, { timeout: limits.sinkSendTimeoutMs })
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
