/**
 * The rows `db.insert` accepts — plain objects or an apache-arrow Table — as one column list and
 * row-major values for the engine. Values keep their JS form; the engine coerces them as it coerces
 * parameters. Arrow timestamps keep their microseconds (Arrow's own `get` rounds them to milliseconds).
 */
import type { DataType, TimeUnit, Table as ArrowTable, Vector } from 'apache-arrow'
import { StrataError } from '../../util/errors.js'
import { dateFromMicros } from '../../util/timestamp.js'
import { loadArrow, type Arrow } from './arrow.js'

export interface InputRows {
  readonly columns: string[]
  readonly rows: unknown[][]
}

function isArrowTable(value: unknown): value is ArrowTable {
  const candidate = value as Partial<ArrowTable> | null
  return typeof value === 'object' && candidate !== null && typeof candidate.numRows === 'number' && typeof candidate.getChildAt === 'function' && candidate.schema !== undefined
}

/**
 * Objects → the union of their keys (first-seen order); a key a row lacks (or holds `undefined`)
 * takes the column's DEFAULT, as an INSERT that does not name the column.
 *
 * @example
 * await inputRows([{ id: 1 }, { id: 2, v: 3 }]) // → { columns: ['id', 'v'], rows: [[1, undefined], [2, 3]] }
 */
export async function inputRows(input: unknown): Promise<InputRows> {
  if (isArrowTable(input)) return arrowRows(input, await loadArrow())
  if (!Array.isArray(input)) throw new StrataError('INVALID_PARAMETER', 'insert() takes an array of row objects or an apache-arrow Table')
  const columns: string[] = []
  const positions = new Map<string, number>()
  const add = (key: string): void => {
    if (positions.has(key)) return
    positions.set(key, columns.length)
    columns.push(key)
  }
  for (let index = 0; index < input.length; index++) {
    const row: unknown = input[index]
    if (typeof row !== 'object' || row === null || Array.isArray(row) || row instanceof Date || row instanceof Uint8Array) {
      throw new StrataError('INVALID_PARAMETER', `insert() row ${index} is not an object of column values`)
    }
    // A plain object's for-in lists its own enumerable string keys, as Object.keys does, without an
    // array per row (thousands of rows per push); anything else is asked for its own keys.
    const prototype: unknown = Object.getPrototypeOf(row)
    if (prototype === Object.prototype || prototype === null) {
      for (const key in row) if (Object.hasOwn(row, key)) add(key)
    } else for (const key of Object.keys(row)) add(key)
  }
  const rows: unknown[][] = new Array(input.length)
  for (let index = 0; index < input.length; index++) {
    const row = input[index] as Record<string, unknown>
    const values: unknown[] = new Array(columns.length)
    for (let column = 0; column < columns.length; column++) values[column] = row[columns[column]!]
    rows[index] = values
  }
  return { columns, rows }
}

function arrowRows(table: ArrowTable, arrow: Arrow): InputRows {
  const columns = table.schema.fields.map((field) => field.name)
  const rows: unknown[][] = new Array(table.numRows)
  for (let index = 0; index < table.numRows; index++) rows[index] = new Array(columns.length)
  table.schema.fields.forEach((field, column) => {
    const vector = table.getChildAt(column)
    if (vector === null) return
    const values = columnValues(vector, field.type as DataType, arrow)
    for (let index = 0; index < table.numRows; index++) rows[index]![column] = values[index]
  })
  return { columns, rows }
}

/** One Arrow column as JS values: timestamps as Date (a Timestamp when sub-millisecond), dates as Date. */
function columnValues(vector: Vector, type: DataType, arrow: Arrow): unknown[] {
  const out: unknown[] = new Array(vector.length)
  if (arrow.DataType.isTimestamp(type)) {
    const unit = (type as { unit: TimeUnit }).unit
    let at = 0
    for (const chunk of vector.data) {
      const raw = chunk.values as unknown as BigInt64Array | Int32Array
      for (let index = 0; index < chunk.length; index++, at++) {
        if (!chunk.getValid(index)) {
          out[at] = null
          continue
        }
        const value = typeof raw[index] === 'bigint' ? (raw[index] as bigint) : BigInt(vector.get(at) as number)
        out[at] = timestampValue(value, unit, arrow)
      }
    }
    return out
  }
  if (arrow.DataType.isDecimal(type)) throw new StrataError('NOT_SUPPORTED', 'insert() of an Arrow Decimal column: convert it to Float64 or Utf8')
  const isDate = arrow.DataType.isDate(type)
  for (let index = 0; index < vector.length; index++) {
    const value: unknown = vector.get(index)
    out[index] = value === null || value === undefined ? null : isDate && typeof value === 'number' ? new Date(value) : value
  }
  return out
}

function timestampValue(value: bigint, unit: TimeUnit, arrow: Arrow): Date {
  let micros: bigint
  switch (unit) {
    case arrow.TimeUnit.SECOND:
      return new Date(Number(value) * 1000)
    case arrow.TimeUnit.MILLISECOND:
      return new Date(Number(value))
    case arrow.TimeUnit.MICROSECOND:
      micros = value
      break
    default:
      // Strata keeps microseconds: nanoseconds are truncated toward −∞ (DuckDB casts the same way).
      micros = value / 1000n - (value % 1000n < 0n ? 1n : 0n)
  }
  // A Timestamp (a Date with microseconds) when the value has sub-millisecond digits.
  return dateFromMicros(micros)
}
