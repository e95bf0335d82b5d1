/**
 * Rows into DuckDB data chunks, column by column, for the column store's bulk path (part of the
 * column-store adapter: with columnstore.ts, the only code that touches DuckDB's packages).
 *
 * The appender's per-value calls cost about 150 ns each (one native call and, for a timestamp, an
 * object). Here each column of up to 2048 rows is written into a typed array and copied into the
 * chunk's vector in one call. A string of at most 12 ASCII characters is written inline, in the
 * 16-byte layout DuckDB's C API defines for `duckdb_string_t` (length, then the characters, zero
 * padded); longer or non-ASCII strings and blobs are assigned one by one through DuckDB's own call,
 * which copies them into the vector's string heap. DuckDB's appender takes a chunk only in the table's
 * own column types, so an integer is written in its column's width (checked against its range, as CAST
 * checks) and into a BOOLEAN column as CAST gives it (zero is false); a pairing not listed in
 * {@link layoutFor} is appended value by value instead.
 */
import type * as DuckDB from '@duckdb/node-api'
import type * as DuckDBBindings from '@duckdb/node-bindings'
import { StrataError } from '../../util/errors.js'

/**
 * The primitive kinds the sync appends. `bigint` takes a bigint or an integer number (into any integer
 * or BOOLEAN column, converted as CAST does, checked); `timestamp`/`timestamptz` take microseconds
 * since the epoch.
 */
export type AppendKind = 'bigint' | 'double' | 'varchar' | 'blob' | 'boolean' | 'timestamp' | 'timestamptz'

type Bindings = typeof DuckDBBindings

const twoTo32 = 4294967296
const int64Min = -(2n ** 63n)
const int64Max = 2n ** 63n - 1n
/** DuckDB's string header; a string of up to 12 bytes is kept inside it. */
const stringHeaderBytes = 16
const inlineStringBytesMax = 12

/** How a column's values are laid out in its vector. */
type Layout = 'int8' | 'int16' | 'int32' | 'int64' | 'boolean' | 'double' | 'string' | 'blob'

const layoutBytes: Readonly<Record<Layout, number>> = { int8: 1, int16: 2, int32: 4, int64: 8, boolean: 1, double: 8, string: stringHeaderBytes, blob: stringHeaderBytes }

interface IntegerRange {
  readonly name: string
  readonly min: number
  readonly max: number
}

const narrowRanges: Readonly<Partial<Record<Layout, IntegerRange>>> = {
  int8: { name: 'TINYINT', min: -128, max: 127 },
  int16: { name: 'SMALLINT', min: -32768, max: 32767 },
  int32: { name: 'INTEGER', min: -2147483648, max: 2147483647 },
}

/** One column's buffers, reused from chunk to chunk. */
interface ColumnBuffers {
  readonly kind: AppendKind
  readonly layout: Layout
  /** For an integer narrower than 64 bits: its range, checked before a value is written. */
  readonly range: IntegerRange | undefined
  readonly buffer: ArrayBuffer
  readonly bytes: Uint8Array
  readonly int16s: Int16Array | undefined
  /** For int32, and for int64 as little-endian (low, high) word pairs. */
  readonly int32s: Int32Array | undefined
  readonly bigints: BigInt64Array | undefined
  readonly doubles: Float64Array | undefined
  /** One bit per row, set when valid, in 64-bit words (as little-endian halves). */
  readonly validity: Uint32Array
  readonly validityBuffer: ArrayBuffer
}

/** The layout that writes values of this kind straight into a column of this DuckDB type, or undefined. */
function layoutFor(bindings: Bindings, kind: AppendKind, target: number): Layout | undefined {
  const { Type } = bindings
  switch (kind) {
    case 'bigint':
      if (target === Type.BIGINT) return 'int64'
      if (target === Type.INTEGER) return 'int32'
      if (target === Type.SMALLINT) return 'int16'
      if (target === Type.TINYINT) return 'int8'
      if (target === Type.BOOLEAN) return 'boolean'
      return undefined
    case 'timestamp':
      return target === Type.TIMESTAMP ? 'int64' : undefined
    case 'timestamptz':
      return target === Type.TIMESTAMP_TZ ? 'int64' : undefined
    case 'double':
      return target === Type.DOUBLE ? 'double' : undefined
    case 'boolean':
      return target === Type.BOOLEAN ? 'boolean' : undefined
    case 'varchar':
      return target === Type.VARCHAR ? 'string' : undefined
    case 'blob':
      return target === Type.BLOB ? 'blob' : undefined
    default:
      return undefined
  }
}

function buffersFor(kind: AppendKind, layout: Layout, capacity: number): ColumnBuffers {
  const buffer = new ArrayBuffer(capacity * layoutBytes[layout])
  const validityBuffer = new ArrayBuffer(Math.ceil(capacity / 64) * 8)
  return {
    kind,
    layout,
    range: narrowRanges[layout],
    buffer,
    bytes: new Uint8Array(buffer),
    int16s: layout === 'int16' ? new Int16Array(buffer) : undefined,
    int32s: layout === 'int32' || layout === 'int64' ? new Int32Array(buffer) : undefined,
    bigints: layout === 'int64' ? new BigInt64Array(buffer) : undefined,
    doubles: layout === 'double' ? new Float64Array(buffer) : undefined,
    validity: new Uint32Array(validityBuffer),
    validityBuffer,
  }
}

/**
 * Appends rows (values in the given primitive kinds, null or undefined for NULL) through the appender
 * in chunks of DuckDB's vector size. False, having appended nothing, when a kind and its column's type
 * are not a pairing this path writes; the caller then appends value by value. The caller flushes and
 * closes the appender.
 */
export function appendChunks(
  duckdb: typeof DuckDB,
  bindings: Bindings,
  appender: DuckDB.DuckDBAppender,
  kinds: readonly AppendKind[],
  rows: readonly (readonly unknown[])[],
): boolean {
  if (appender.columnCount !== kinds.length) return false
  const capacity = bindings.vector_size()
  const types: DuckDBBindings.LogicalType[] = []
  const columns: ColumnBuffers[] = []
  for (let index = 0; index < kinds.length; index++) {
    const target = appender.columnType(index).typeId as number
    const layout = layoutFor(bindings, kinds[index]!, target)
    if (layout === undefined) return false
    types.push(bindings.create_logical_type(target as DuckDBBindings.Type))
    columns.push(buffersFor(kinds[index]!, layout, capacity))
  }
  for (let start = 0; start < rows.length; start += capacity) {
    const count = Math.min(capacity, rows.length - start)
    const chunk = bindings.create_data_chunk(types)
    for (let index = 0; index < columns.length; index++) {
      fillVector(bindings, bindings.data_chunk_get_vector(chunk, index), columns[index]!, rows, start, count, index)
    }
    bindings.data_chunk_set_size(chunk, count)
    appender.appendDataChunk(new duckdb.DuckDBDataChunk(chunk))
  }
  return true
}

function fillVector(bindings: Bindings, vector: DuckDBBindings.Vector, column: ColumnBuffers, rows: readonly (readonly unknown[])[], start: number, count: number, index: number): void {
  const validity = column.validity
  const validityWords = Math.ceil(count / 64) * 2
  validity.fill(0xffffffff, 0, validityWords)
  let nulls = 0
  const dataBytes = count * layoutBytes[column.layout]
  column.bytes.fill(0, 0, dataBytes)
  /** Rows whose value goes through DuckDB's own call, after the inline strings are copied in. */
  let assigned: number[] | undefined
  for (let row = 0; row < count; row++) {
    const value = rows[start + row]![index]
    if (value === null || value === undefined) {
      validity[row >>> 5]! &= ~(1 << (row & 31))
      nulls++
      continue
    }
    switch (column.layout) {
      case 'int64':
        writeInt64(column, row, value)
        break
      case 'int32':
        column.int32s![row] = narrowInteger(column.range!, value)
        break
      case 'int16':
        column.int16s![row] = narrowInteger(column.range!, value)
        break
      case 'int8':
        column.bytes[row] = narrowInteger(column.range!, value) & 0xff
        break
      case 'double':
        column.doubles![row] = Number(value)
        break
      case 'boolean':
        column.bytes[row] = booleanByte(column.kind, value)
        break
      case 'string':
        if (!writeInlineString(column.bytes, row, typeof value === 'string' ? value : String(value))) (assigned ??= []).push(row)
        break
      case 'blob':
        ;(assigned ??= []).push(row)
        break
    }
  }
  bindings.copy_data_to_vector(vector, 0, column.buffer, 0, dataBytes)
  if (assigned !== undefined) {
    for (const row of assigned) {
      const value = rows[start + row]![index]
      if (column.layout === 'blob') bindings.vector_assign_string_element_len(vector, row, value as Uint8Array)
      else bindings.vector_assign_string_element(vector, row, typeof value === 'string' ? value : String(value))
    }
  }
  if (nulls > 0) {
    bindings.vector_ensure_validity_writable(vector)
    bindings.copy_data_to_vector_validity(vector, 0, column.validityBuffer, 0, validityWords * 4)
  }
}

/** From the boolean kind: true for true, 1 or 1n. From an integer, as CAST(n AS BOOLEAN): true unless zero. */
function booleanByte(kind: AppendKind, value: unknown): number {
  if (kind === 'boolean') return value === true || value === 1 || value === 1n ? 1 : 0
  return value === 0 || value === 0n || value === false ? 0 : 1
}

/**
 * An integer number or a bigint as a little-endian int64. A number with a fraction is refused as
 * BigInt refuses it; a value beyond int64 with TYPE_MISMATCH.
 */
function writeInt64(column: ColumnBuffers, row: number, value: unknown): void {
  if (typeof value === 'number') {
    const words = column.int32s!
    if ((value | 0) === value) {
      words[row * 2] = value
      words[row * 2 + 1] = value < 0 ? -1 : 0
      return
    }
    if (Number.isSafeInteger(value)) {
      const high = Math.floor(value / twoTo32)
      words[row * 2] = (value - high * twoTo32) | 0
      words[row * 2 + 1] = high | 0
      return
    }
  }
  const big = typeof value === 'bigint' ? value : BigInt(value as number)
  if (big < int64Min || big > int64Max) throw new StrataError('TYPE_MISMATCH', `${big} is out of range for BIGINT`)
  column.bigints![row] = big
}

/** An integer for a column narrower than 64 bits, refused (as CAST refuses it) outside the column's range. */
function narrowInteger(range: IntegerRange, value: unknown): number {
  const number = typeof value === 'bigint' ? (value >= BigInt(range.min) && value <= BigInt(range.max) ? Number(value) : NaN) : Number(value)
  if (!Number.isInteger(number) || number < range.min || number > range.max) {
    throw new StrataError('TYPE_MISMATCH', `${String(value)} is out of range for ${range.name}`)
  }
  return number
}

/** Writes a string of at most 12 ASCII characters inline; false (nothing written) when it must be assigned instead. */
function writeInlineString(bytes: Uint8Array, row: number, text: string): boolean {
  const length = text.length
  if (length > inlineStringBytesMax) return false
  const offset = row * stringHeaderBytes
  for (let at = 0; at < length; at++) {
    const code = text.charCodeAt(at)
    if (code >= 0x80) {
      bytes.fill(0, offset + 4, offset + 4 + at)
      return false
    }
    bytes[offset + 4 + at] = code
  }
  // The length: a little-endian uint32, here at most 12.
  bytes[offset] = length
  return true
}
