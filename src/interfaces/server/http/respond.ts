/**
 * Writing responses: small JSON bodies at once, results in batches of `limits.httpResponseBatchRows`
 * rows with backpressure (the next batch is serialized only when the socket has taken the last one),
 * so a large result never exists as one serialized string and a slow reader holds the server to one
 * batch. Three result formats:
 *
 * - `json` (default): one object, `rows` last, written row batch by row batch;
 * - `ndjson` (`?format=ndjson` or `Accept: application/x-ndjson`): a first line with everything but
 *   the rows (`{"query_run_id",…,"columns",…}`), then one JSON array per row;
 * - `arrow` (`?format=arrow` or `Accept: application/vnd.apache.arrow.stream`): an Arrow IPC stream,
 *   one record batch per row batch; the query's ids and timings are in `X-Strata-*` headers.
 *
 * apache-arrow (~150 modules, ~100 ms to load) is imported with the first Arrow response, so a server
 * that never sends one never loads it.
 */
import type { ServerResponse } from 'node:http'
import type { AsyncByteQueue, DataType, RecordBatch as ArrowRecordBatch } from 'apache-arrow'
import { loadArrow, type Arrow } from '../../api/arrow.js'
import { assert } from '../../../util/assert.js'
import { decimalLabel, decimalWords } from '../../../util/decimal.js'
import { limits } from '../../../util/limits.js'
import { dateMicros } from '../../../util/timestamp.js'
import { encodeValue } from './encode.js'
import { errorBody, type HttpError } from './errors.js'
import type { ResultRows } from './results.js'

export type ResultFormat = 'json' | 'ndjson' | 'arrow'

export const contentTypes: Readonly<Record<ResultFormat, string>> = {
  json: 'application/json; charset=utf-8',
  ndjson: 'application/x-ndjson; charset=utf-8',
  arrow: 'application/vnd.apache.arrow.stream',
}

/** The client went away while we were writing; nothing more is to be sent. */
export class ClientGone extends Error {}

export function sendJson(response: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  const text = `${JSON.stringify(body)}\n`
  response.writeHead(status, { 'content-type': contentTypes.json, 'content-length': Buffer.byteLength(text), ...headers })
  response.end(text)
}

export function sendError(response: ServerResponse, error: HttpError): void {
  if (response.headersSent) {
    // Too late for a status: cut the response short so the client sees it as incomplete.
    response.destroy()
    return
  }
  const text = `${errorBody(error)}\n`
  response.writeHead(error.status, { 'content-type': contentTypes.json, 'content-length': Buffer.byteLength(text), ...error.headers })
  response.end(text)
}

/**
 * Writes `chunk` and resolves when the socket can take more (at once, or on 'drain'); rejects with
 * ClientGone if the connection closes first.
 */
export function writeChunk(response: ServerResponse, chunk: string | Uint8Array): Promise<void> {
  if (response.destroyed || response.writableEnded) return Promise.reject(new ClientGone('the client closed the connection'))
  if (response.write(chunk)) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const onDrain = (): void => {
      response.off('close', onClose)
      resolve()
    }
    const onClose = (): void => {
      response.off('drain', onDrain)
      reject(new ClientGone('the client closed the connection'))
    }
    response.once('drain', onDrain)
    response.once('close', onClose)
  })
}

/**
 * Streams a result in `format`. `head` holds the fields that precede the rows (ids, columns, timings);
 * for Arrow they become headers.
 *
 * @example
 * await sendResult(response, 'ndjson', { query_run_id: run.id, columns: ['n'] }, rows)
 */
export async function sendResult(response: ServerResponse, format: ResultFormat, head: Readonly<Record<string, unknown>>, rows: ResultRows): Promise<void> {
  // Chunked transfer: the length is not known until the last batch is serialized.
  const headers: Record<string, string> = { 'content-type': contentTypes[format], 'x-content-type-options': 'nosniff' }
  if (format === 'arrow') {
    for (const [key, value] of Object.entries(head)) {
      if (value !== null && value !== undefined && typeof value !== 'object') headers[`x-strata-${key.replaceAll('_', '-')}`] = String(value)
    }
  }
  if (format === 'arrow') {
    const arrow = await loadArrow()
    response.writeHead(200, headers)
    return writeArrow(response, rows, arrow)
  }
  const json = format === 'json'
  const headText = JSON.stringify(head)
  const opening = json ? `${headText.slice(0, -1)},"rows":[` : `${headText}\n`
  const closing = json ? ']}\n' : ''
  const batchText = (start: number, end: number): string => {
    let text = ''
    for (let index = start; index < end; index++) {
      const row = JSON.stringify(rows.values(index).map(encodeValue))
      text += json ? (index === 0 ? row : `,${row}`) : `${row}\n`
    }
    return text
  }
  if (rows.rowCount <= limits.httpResponseBatchRows) {
    // A small result (the common case) goes out in one write with its length, not as chunks.
    const text = `${opening}${batchText(0, rows.rowCount)}${closing}`
    response.writeHead(200, { ...headers, 'content-length': Buffer.byteLength(text) })
    response.end(text)
    return
  }
  response.writeHead(200, headers)
  await writeChunk(response, opening)
  for (let start = 0; start < rows.rowCount; start += limits.httpResponseBatchRows) {
    await writeChunk(response, batchText(start, Math.min(rows.rowCount, start + limits.httpResponseBatchRows)))
  }
  if (closing !== '') await writeChunk(response, closing)
  response.end()
}

interface ArrowColumn {
  readonly arrowType: DataType
  /** Built as this type, then read as `arrowType` (same layout): for values the builder of `arrowType` would round. */
  readonly storage?: DataType
  readonly convert: (value: unknown) => unknown
}

/**
 * Column types → Arrow types. Integers that may not fit 64 bits (HUGEINT, UBIGINT) are Int64 when every
 * value fits, else text; DECIMAL is Decimal128 (as `db.queryArrow`); JSON, nested and unusual types are
 * their JSON text.
 */
function arrowColumn(type: string, values: readonly unknown[], arrow: Arrow): ArrowColumn {
  const { Binary, Bool, DateDay, Decimal, Float64, Int32, Int64, TimeUnit, Timestamp, Utf8 } = arrow
  const orNull = (convert: (value: unknown) => unknown) => (value: unknown) => (value === null || value === undefined ? null : convert(value))
  switch (type) {
    case 'BOOLEAN':
      return { arrowType: new Bool(), convert: orNull((value) => value) }
    case 'TINYINT':
    case 'SMALLINT':
    case 'INTEGER':
    case 'UTINYINT':
    case 'USMALLINT':
      return { arrowType: new Int32(), convert: orNull(Number) }
    case 'BIGINT':
    case 'UINTEGER':
    case 'HUGEINT':
    case 'UBIGINT':
    case 'UHUGEINT': {
      const int64Min = -(2n ** 63n)
      const int64Max = 2n ** 63n - 1n
      const fits = values.every((value) => value === null || typeof value === 'number' || (typeof value === 'bigint' && value >= int64Min && value <= int64Max))
      if (fits) return { arrowType: new Int64(), convert: orNull((value) => BigInt(value as number | bigint)) }
      return { arrowType: new Utf8(), convert: orNull(String) }
    }
    case 'REAL':
    case 'FLOAT':
    case 'DOUBLE':
      return { arrowType: new Float64(), convert: orNull(Number) }
    // Arrow's timestamp builder takes milliseconds; the exact microseconds go in as Int64 data.
    case 'TIMESTAMP':
      return { arrowType: new Timestamp(TimeUnit.MICROSECOND), storage: new Int64(), convert: orNull((value) => dateMicros(value as Date)) }
    case 'TIMESTAMPTZ':
      return { arrowType: new Timestamp(TimeUnit.MICROSECOND, 'UTC'), storage: new Int64(), convert: orNull((value) => dateMicros(value as Date)) }
    case 'DATE':
      return { arrowType: new DateDay(), convert: orNull((value) => Date.parse(String(value))) }
    case 'BLOB':
      return { arrowType: new Binary(), convert: orNull((value) => value) }
    case 'VARCHAR':
    case 'TEXT':
      return { arrowType: new Utf8(), convert: orNull(String) }
    default:
      if (decimalLabel(type) !== undefined) {
        // Arrow's Decimal128 at the column's precision and scale: exact, as the JSON value is.
        const { precision, scale } = decimalLabel(type)!
        return { arrowType: new Decimal(scale, precision, 128), convert: orNull((value) => decimalWords(value as number | string | bigint, scale)) }
      }
      return { arrowType: new Utf8(), convert: orNull((value) => (typeof value === 'string' ? value : JSON.stringify(encodeValue(value)))) }
  }
}

/** Takes the writer's bytes as they are produced, so each batch is sent before the next is built. */
interface TakeQueue extends AsyncByteQueue {
  take(): Buffer
}

let takeQueueClass: (new () => TakeQueue) | undefined

/** The queue class, made once Arrow (whose AsyncByteQueue it extends) is loaded. */
function newTakeQueue(arrow: Arrow): TakeQueue {
  takeQueueClass ??= class extends arrow.AsyncByteQueue implements TakeQueue {
    private chunks: Uint8Array[] = []

    override write(value: Uint8Array): void {
      if (value.byteLength > 0) this.chunks.push(value)
    }

    take(): Buffer {
      const joined = Buffer.concat(this.chunks)
      this.chunks = []
      return joined
    }
  }
  return new takeQueueClass()
}

async function writeArrow(response: ServerResponse, rows: ResultRows, arrow: Arrow): Promise<void> {
  const { Field, makeData, RecordBatch, RecordBatchStreamWriter, Schema, Struct, vectorFromArray } = arrow
  // Column arrays of the values (references, not serialized bytes): Arrow is columnar, and choosing a
  // column's Arrow type may need to see all of its values.
  const columnValues: unknown[][] = rows.columns.map(() => new Array<unknown>(rows.rowCount))
  for (let index = 0; index < rows.rowCount; index++) {
    const values = rows.values(index)
    for (let column = 0; column < columnValues.length; column++) columnValues[column]![index] = values[column]
  }
  const converters = rows.columns.map((column, index) => arrowColumn(column.type, columnValues[index]!, arrow))
  const names = uniqueNames(rows.columns.map((column) => column.name))
  // One schema for the whole stream (every field nullable): were each batch's schema inferred from
  // its own values, a batch without NULLs would differ, and the writer would start a new stream.
  const fields = converters.map((converter, column) => new Field(names[column]!, converter.arrowType, true))
  const schema = new Schema(fields)
  const sink = newTakeQueue(arrow)
  const writer = new RecordBatchStreamWriter()
  writer.reset(sink, schema)
  const batch = (start: number, end: number): ArrowRecordBatch => {
    const children = converters.map((converter, column) => {
      const vector = vectorFromArray(columnValues[column]!.slice(start, end).map(converter.convert), converter.storage ?? converter.arrowType)
      // A batch is far below the builder's chunk size, so each column is one piece of data.
      assert(vector.data.length === 1, 'an Arrow column of one batch is one data chunk')
      return converter.storage === undefined ? vector.data[0]! : vector.data[0]!.clone(converter.arrowType)
    })
    return new RecordBatch(schema, makeData({ type: new Struct(fields), length: end - start, nullCount: 0, children }))
  }
  // An empty result still sends its schema.
  if (rows.rowCount === 0) writer.write(batch(0, 0))
  for (let start = 0; start < rows.rowCount; start += limits.httpResponseBatchRows) {
    writer.write(batch(start, Math.min(rows.rowCount, start + limits.httpResponseBatchRows)))
    await writeChunk(response, sink.take())
  }
  writer.finish()
  writer.close()
  await writeChunk(response, sink.take())
  response.end()
}

/** Arrow fields are looked up by name; a repeated name gets a suffix. */
function uniqueNames(names: readonly string[]): string[] {
  const used = new Set<string>()
  return names.map((name) => {
    let unique = name
    for (let suffix = 2; used.has(unique); suffix++) unique = `${name}_${suffix}`
    used.add(unique)
    return unique
  })
}
