/**
 * Strata's SQL types and how each one is stored in each store. Pure data and pure functions: the
 * front end does no I/O. Value coercion lives here too, so both stores agree on what a value means.
 */
import { StrataError } from '../util/errors.js'
import { decimalFromNumber, decimalResult, decimalText, integerDigits, parseDecimal, rescale, scaledPrecisionMax, type Decimal } from '../util/decimal.js'
import { dateFromMicros, dateMicros, dateMicrosNumber } from '../util/timestamp.js'

export type TypeName =
  | 'BOOLEAN'
  | 'SMALLINT'
  | 'INTEGER'
  | 'BIGINT'
  | 'DOUBLE'
  | 'DECIMAL'
  | 'VARCHAR'
  | 'BLOB'
  | 'DATE'
  | 'TIMESTAMP'
  | 'TIMESTAMPTZ'
  | 'JSON'

export interface SqlType {
  readonly name: TypeName
  /** DECIMAL only. */
  readonly precision?: number
  readonly scale?: number
}

/** How a value of each type sits in SQLite (STRICT tables), which has only four storage classes. */
export type SqliteStorage = 'INTEGER' | 'REAL' | 'TEXT' | 'BLOB'

const sqliteStorageByType: Record<TypeName, SqliteStorage> = {
  BOOLEAN: 'INTEGER',
  SMALLINT: 'INTEGER',
  INTEGER: 'INTEGER',
  BIGINT: 'INTEGER',
  DOUBLE: 'REAL',
  DECIMAL: 'REAL',
  VARCHAR: 'TEXT',
  BLOB: 'BLOB',
  DATE: 'TEXT',
  TIMESTAMP: 'INTEGER',
  TIMESTAMPTZ: 'INTEGER',
  JSON: 'TEXT',
}

/**
 * DECIMAL(p,s) is exact in the row store: a scaled INTEGER (value × 10^s) when p ≤ 18, so it compares,
 * sorts and sums as integers; its canonical text (exactly s fractional digits) beyond that.
 */
export function sqliteStorage(type: SqlType): SqliteStorage {
  if (type.name === 'DECIMAL') return decimalIsScaled(type) ? 'INTEGER' : 'TEXT'
  return sqliteStorageByType[type.name]
}

/** Whether the row store keeps this DECIMAL as a scaled integer (else as text). */
export function decimalIsScaled(type: SqlType): boolean {
  return (type.precision ?? 18) <= scaledPrecisionMax
}

/**
 * Whether the row store may hand back an integer of this type beyond 2^53, so it must be read as a
 * bigint: BIGINT, and a scaled DECIMAL of more than 15 digits.
 */
function readsBigint(type: SqlType): boolean {
  return type.name === 'BIGINT' || (type.name === 'DECIMAL' && decimalIsScaled(type) && (type.precision ?? 18) > 15)
}

/** The exact decimal a DECIMAL column's stored value means. */
function storedDecimal(value: number | bigint | string, type: SqlType): Decimal {
  if (typeof value === 'string') return parseDecimal(value)!
  return { unscaled: BigInt(value), scale: type.scale ?? 3 }
}

/** A DECIMAL's row-store value as its exact text, at the type's scale (`20.00`). */
export function storedDecimalText(value: number | bigint | string, type: SqlType): string {
  return decimalText(storedDecimal(value, type))
}

/** The type's name as results report it (and as DuckDB spells it). */
export function typeLabel(type: SqlType): string {
  if (type.name === 'DECIMAL') return `DECIMAL(${type.precision ?? 18},${type.scale ?? 3})`
  return type.name
}

/** The DuckDB column type of the mirror. */
export function duckdbType(type: SqlType): string {
  return typeLabel(type)
}

/**
 * Maps a PostgreSQL-parser type name (e.g. ['pg_catalog','int4'], ['text'], ['double']) to ours.
 * REAL is stored as DOUBLE: SQLite has only 8-byte floats, and one dialect must give one answer.
 */
export function typeFromNames(names: readonly string[], modifiers: readonly number[]): SqlType {
  const name = (names[names.length - 1] ?? '').toLowerCase()
  switch (name) {
    case 'bool':
    case 'boolean':
      return { name: 'BOOLEAN' }
    case 'int2':
    case 'smallint':
      return { name: 'SMALLINT' }
    case 'int4':
    case 'int':
    case 'integer':
      return { name: 'INTEGER' }
    case 'int8':
    case 'bigint':
      return { name: 'BIGINT' }
    case 'float4':
    case 'float8':
    case 'real':
    case 'double':
    case 'float':
      return { name: 'DOUBLE' }
    case 'numeric':
    case 'decimal': {
      const precision = modifiers[0] ?? 18
      const scale = modifiers[1] ?? (modifiers[0] === undefined ? 3 : 0)
      if (precision < 1 || precision > 38 || scale < 0 || scale > precision) {
        throw new StrataError('TYPE_MISMATCH', `DECIMAL(${precision},${scale}) is out of range: precision 1–38, 0 ≤ scale ≤ precision`)
      }
      return { name: 'DECIMAL', precision, scale }
    }
    case 'text':
    case 'varchar':
    case 'bpchar':
    case 'char':
    case 'string':
      return { name: 'VARCHAR' }
    case 'blob':
    case 'bytea':
      return { name: 'BLOB' }
    case 'date':
      return { name: 'DATE' }
    case 'timestamp':
      return { name: 'TIMESTAMP' }
    case 'timestamptz':
      return { name: 'TIMESTAMPTZ' }
    case 'json':
    case 'jsonb':
      return { name: 'JSON' }
    default:
      throw new StrataError('NOT_SUPPORTED', `type ${names.join('.')} is not supported (supported: BOOLEAN, SMALLINT, INTEGER, BIGINT, REAL, DOUBLE, DECIMAL(p,s), TEXT/VARCHAR, BLOB, DATE, TIMESTAMP, TIMESTAMPTZ, JSON)`)
  }
}

/** Maps a result type label from DuckDB (CREATE TABLE AS, import) back to ours. */
export function typeFromLabel(label: string): SqlType {
  const upper = label.toUpperCase()
  if (upper.startsWith('DECIMAL')) {
    const inner = upper.slice(upper.indexOf('(') + 1, upper.indexOf(')'))
    const [precision, scale] = inner.split(',').map((part) => Number(part.trim()))
    return { name: 'DECIMAL', precision: precision ?? 18, scale: scale ?? 3 }
  }
  switch (upper) {
    case 'BOOLEAN':
      return { name: 'BOOLEAN' }
    case 'TINYINT':
    case 'SMALLINT':
    case 'UTINYINT':
      return { name: 'SMALLINT' }
    case 'INTEGER':
    case 'USMALLINT':
      return { name: 'INTEGER' }
    case 'BIGINT':
    case 'UINTEGER':
    case 'HUGEINT':
    case 'UBIGINT':
      return { name: 'BIGINT' }
    case 'FLOAT':
    case 'REAL':
    case 'DOUBLE':
      return { name: 'DOUBLE' }
    case 'BLOB':
      return { name: 'BLOB' }
    case 'DATE':
      return { name: 'DATE' }
    case 'TIMESTAMP':
    case 'TIMESTAMP_S':
    case 'TIMESTAMP_MS':
    case 'TIMESTAMP_NS':
      return { name: 'TIMESTAMP' }
    case 'TIMESTAMPTZ':
    case 'TIMESTAMP WITH TIME ZONE':
      return { name: 'TIMESTAMPTZ' }
    case 'JSON':
      return { name: 'JSON' }
    default:
      return { name: 'VARCHAR' }
  }
}

const integerRange: Partial<Record<TypeName, readonly [bigint, bigint]>> = {
  SMALLINT: [-32768n, 32767n],
  INTEGER: [-2147483648n, 2147483647n],
  BIGINT: [-9223372036854775808n, 9223372036854775807n],
}

/** The same ranges as numbers, for values that are safe integers (BIGINT's holds them all). */
const integerRangeNumbers: Partial<Record<TypeName, readonly [number, number]>> = {
  SMALLINT: [-32768, 32767],
  INTEGER: [-2147483648, 2147483647],
  BIGINT: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
}

/** A safe-integer number, or decimal digits short enough to be one exactly (-0 is 0); otherwise undefined. */
function smallInteger(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value + 0 : undefined
  if (typeof value !== 'string' || value.length > 17) return undefined
  const text = value.trim()
  // Value parsing (not SQL parsing): an optional sign and at most 15 digits.
  if (text.length === 0 || text.length > 16 || !/^[+-]?\d{1,15}$/.test(text)) return undefined
  return Number(text) + 0
}

/**
 * A value that does not read as its type, in PostgreSQL's words (`invalid input syntax for type
 * integer: "abc"`, `value 1e+300 is out of range for type bigint`), which the PostgreSQL server's
 * SQLSTATE mapping reads (22P02, 22003).
 */
function mismatch(value: unknown, type: SqlType, why?: string): StrataError {
  const name = typeLabel(type).toLowerCase()
  if (typeof value === 'string') {
    const text = value.length > 40 ? `${value.slice(0, 40)}…` : value
    if (why !== undefined && why.includes('out of range')) return new StrataError('TYPE_MISMATCH', `value "${text}" is out of range for type ${name}`)
    return new StrataError('TYPE_MISMATCH', `invalid input syntax for type ${name}: "${text}"${why === undefined ? '' : ` (${why})`}`)
  }
  const shown = value instanceof Uint8Array ? `<${value.length} bytes>` : String(value)
  if (why !== undefined && why.includes('out of range')) return new StrataError('TYPE_MISMATCH', `value ${shown} is out of range for type ${name}`)
  return new StrataError('TYPE_MISMATCH', `${shown} is not a value of type ${name}${why === undefined ? '' : ` (${why})`}`)
}

/**
 * Microseconds since the epoch for a timestamp text (ISO 8601 or SQL style; no zone = UTC). With
 * `zone: 'ignore'` a UTC offset in the text is dropped, as DuckDB and PostgreSQL read a TIMESTAMP
 * (without time zone) or a DATE: '2024-01-01 00:00:00+01' is 2024-01-01 00:00:00.
 */
export function parseTimestampMicros(text: string, options: { readonly zone?: 'apply' | 'ignore' } = {}): bigint | undefined {
  const trimmed = text.trim()
  // Value parsing (not SQL parsing): a date, optional time with up to 6 fractional digits, optional zone.
  const match = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i.exec(trimmed)
  if (match === null) return undefined
  const [, year, month, day, hour, minute, second, fraction, zone] = match
  // Not Date.UTC, which reads the years 0–99 as 1900–1999.
  const check = new Date(0)
  check.setUTCFullYear(Number(year), Number(month) - 1, Number(day))
  check.setUTCHours(Number(hour ?? 0), Number(minute ?? 0), Number(second ?? 0), 0)
  const milliseconds = check.getTime()
  if (!Number.isFinite(milliseconds)) return undefined
  if (check.getUTCDate() !== Number(day) || check.getUTCMonth() !== Number(month) - 1 || check.getUTCFullYear() !== Number(year)) return undefined
  let micros = BigInt(milliseconds) * 1000n + BigInt(((fraction ?? '') + '000000').slice(0, 6))
  if (zone !== undefined && zone.toUpperCase() !== 'Z' && options.zone !== 'ignore') {
    const sign = zone.startsWith('-') ? -1n : 1n
    const digits = zone.slice(1).replace(':', '')
    const offsetMinutes = BigInt(Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0'))
    micros -= sign * offsetMinutes * 60_000_000n
  }
  return micros
}

/**
 * A string cast to BLOB as DuckDB reads it: `\xHH` is one byte, any other character below 128 is
 * itself; anything else is not a BLOB literal.
 *
 * @example blobFromText('\\x01ff', fail) // → Uint8Array [1, 102, 102]
 */
export function blobFromText(text: string, fail: () => Error): Uint8Array {
  const bytes: number[] = []
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index)
    if (code === 92) {
      const hex = text.slice(index + 2, index + 4)
      if (text[index + 1] !== 'x' || hex.length !== 2 || Number.isNaN(Number.parseInt(hex, 16)) || !/^[0-9a-fA-F]{2}$/.test(hex)) throw fail()
      bytes.push(Number.parseInt(hex, 16))
      index += 3
    } else if (code < 128) bytes.push(code)
    else throw fail()
  }
  return Uint8Array.from(bytes)
}

/** Microseconds since the epoch → a Date, a `Timestamp` (src/util/timestamp.ts) when it has sub-millisecond digits. */
export function microsToDate(micros: bigint | number): Date {
  return dateFromMicros(micros)
}

/**
 * Coerces a JS value (a parameter or a literal) to the row-store representation of `type`, as
 * DuckDB's implicit cast would, or fails with TYPE_MISMATCH. Never silently changes a value's meaning.
 */
export function toStorage(value: unknown, type: SqlType): null | number | bigint | string | Uint8Array {
  if (value === null || value === undefined) return null
  switch (type.name) {
    case 'BOOLEAN': {
      if (typeof value === 'boolean') return value ? 1 : 0
      if (value === 1 || value === 0) return value
      if (value === 1n || value === 0n) return Number(value)
      if (typeof value === 'string') {
        const lower = value.trim().toLowerCase()
        if (['t', 'true', 'y', 'yes', '1', 'on'].includes(lower)) return 1
        if (['f', 'false', 'n', 'no', '0', 'off'].includes(lower)) return 0
      }
      throw mismatch(value, type)
    }
    case 'SMALLINT':
    case 'INTEGER':
    case 'BIGINT': {
      // The common case without bigint arithmetic: a safe integer (or up to 15 digits of text, which
      // a double holds exactly) checked against the type's range as numbers.
      const small = smallInteger(value)
      if (small !== undefined) {
        const [low, high] = integerRangeNumbers[type.name]!
        if (small < low || small > high) throw mismatch(value, type, 'out of range')
        return small
      }
      let integer: bigint
      if (typeof value === 'bigint') integer = value
      else if (typeof value === 'number') {
        if (!Number.isFinite(value)) throw mismatch(value, type)
        // DuckDB rounds a fractional value cast to an integer (half away from zero).
        integer = BigInt(Math.sign(value) * Math.round(Math.abs(value)))
      } else if (typeof value === 'boolean') integer = value ? 1n : 0n
      else if (typeof value === 'string' && value.trim() !== '' && /^[+-]?\d+$/.test(value.trim())) integer = BigInt(value.trim())
      else throw mismatch(value, type)
      const [low, high] = integerRange[type.name]!
      if (integer < low || integer > high) throw mismatch(value, type, 'out of range')
      return integer >= BigInt(Number.MIN_SAFE_INTEGER) && integer <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(integer) : integer
    }
    case 'DOUBLE': {
      let number: number
      if (typeof value === 'number') number = value
      else if (typeof value === 'bigint') number = Number(value)
      else if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) number = Number(value)
      else if (typeof value === 'string' && specialDouble(value) !== undefined) number = specialDouble(value)!
      else throw mismatch(value, type)
      if (Number.isNaN(number)) throw new StrataError('NOT_SUPPORTED', `cannot store NaN in a ${typeLabel(type)} column: the row store (SQLite) has no NaN, it would keep NULL`)
      return number
    }
    case 'DECIMAL': {
      if (typeof value === 'string') {
        const scaled = plainScaledDecimal(value, type)
        if (scaled !== undefined) return scaled
      }
      if (typeof value === 'number') {
        const scaled = plainScaledNumber(value, type)
        if (scaled !== undefined) return scaled
      }
      let decimal: Decimal | undefined
      if (typeof value === 'number') decimal = Number.isFinite(value) ? decimalFromNumber(value) : undefined
      else if (typeof value === 'bigint') decimal = { unscaled: value, scale: 0 }
      else if (typeof value === 'string') decimal = parseDecimal(value)
      if (decimal === undefined) throw mismatch(value, type)
      return decimalStorage(decimal, type, () => mismatch(value, type, 'out of range'))
    }
    case 'VARCHAR': {
      if (typeof value === 'string') return value
      if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value)
      throw mismatch(value, type)
    }
    case 'BLOB': {
      if (value instanceof Uint8Array) return value
      if (typeof value === 'string') return blobFromText(value, () => mismatch(value, type))
      throw mismatch(value, type)
    }
    case 'DATE': {
      if (value instanceof Date) {
        if (Number.isNaN(value.getTime())) throw mismatch(value, type)
        return value.toISOString().slice(0, 10)
      }
      if (typeof value === 'string') {
        if (isPlainDate(value)) return value
        const micros = parseTimestampMicros(value, { zone: 'ignore' })
        if (micros === undefined) throw mismatch(value, type)
        return microsToDate(micros).toISOString().slice(0, 10)
      }
      throw mismatch(value, type)
    }
    case 'TIMESTAMP':
    case 'TIMESTAMPTZ': {
      if (value instanceof Date) {
        if (Number.isNaN(value.getTime())) throw mismatch(value, type)
        // A Timestamp keeps its microseconds; any other Date has milliseconds.
        return dateMicrosNumber(value) ?? dateMicros(value)
      }
      if (typeof value === 'string') {
        // A TIMESTAMP is a wall-clock time: an offset in the text is dropped, as DuckDB does.
        const micros = parseTimestampMicros(value, { zone: type.name === 'TIMESTAMP' ? 'ignore' : 'apply' })
        if (micros === undefined) throw mismatch(value, type)
        return microsStorage(micros)
      }
      throw mismatch(value, type)
    }
    case 'JSON': {
      if (typeof value === 'string') {
        try {
          JSON.parse(value)
        } catch {
          throw mismatch(value, type, 'not valid JSON')
        }
        return value
      }
      const text = JSON.stringify(value, (_key, inner: unknown) => (typeof inner === 'bigint' ? inner.toString() : inner))
      if (text === undefined) throw mismatch(value, type)
      return text
    }
  }
}

/**
 * An exact decimal rounded to the column's scale (half away from zero, as DuckDB's CAST), checked
 * against its precision, in the row store's form (sqliteStorage).
 */
/** Days of each month in a common year. */
const monthDays = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

/**
 * True for a valid date written exactly `YYYY-MM-DD` (the proleptic Gregorian calendar, as
 * {@link parseTimestampMicros} checks it): a DATE stores such a text as it is, which the general path
 * (parse, then print) would give back unchanged. Bulk loads hand over dates this way.
 */
function isPlainDate(text: string): boolean {
  if (text.length !== 10 || text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45) return false
  let year = 0
  let month = 0
  let day = 0
  for (let index = 0; index < 10; index++) {
    if (index === 4 || index === 7) continue
    const digit = text.charCodeAt(index) - 48
    if (digit < 0 || digit > 9) return false
    if (index < 4) year = year * 10 + digit
    else if (index < 7) month = month * 10 + digit
    else day = day * 10 + digit
  }
  if (month < 1 || month > 12 || day < 1) return false
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
  return day <= (month === 2 && leap ? 29 : monthDays[month - 1]!)
}

/**
 * The stored form of a DECIMAL kept as a scaled integer, for a text of plain digits (an optional
 * `-`, digits, an optional point and at most `scale` fraction digits, 15 digits in all at most) that
 * fits the type: the unscaled value as a number, exactly what the general path (parseDecimal, rescale)
 * gives for it. Undefined for anything else, which takes the general path (and its errors).
 */
function plainScaledDecimal(text: string, type: SqlType): number | undefined {
  if (!decimalIsScaled(type)) return undefined
  const scale = type.scale ?? 3
  const precision = type.precision ?? 18
  let index = text.charCodeAt(0) === 45 ? 1 : 0
  const negative = index === 1
  let unscaled = 0
  let integerDigits = 0
  let fractionDigits = -1
  let significant = 0
  for (; index < text.length; index++) {
    const code = text.charCodeAt(index)
    if (code === 46) {
      if (fractionDigits >= 0) return undefined
      fractionDigits = 0
      continue
    }
    const digit = code - 48
    if (digit < 0 || digit > 9) return undefined
    if (fractionDigits >= 0) {
      if (++fractionDigits > scale) return undefined
    } else if (integerDigits > 0 || digit !== 0) integerDigits++
    if (unscaled !== 0 || digit !== 0) significant++
    if (significant > 15) return undefined
    unscaled = unscaled * 10 + digit
  }
  if (fractionDigits < 0) fractionDigits = 0
  // Digits are needed on some side of the point ("-", ".", "-." are not numbers).
  if (text.length - (negative ? 1 : 0) - (fractionDigits > 0 || text.includes('.') ? 1 : 0) === 0) return undefined
  if (integerDigits > precision - scale) return undefined
  unscaled *= 10 ** (scale - fractionDigits)
  if (!Number.isSafeInteger(unscaled)) return undefined
  return negative ? -unscaled + 0 : unscaled
}

/**
 * A JS number's scaled DECIMAL storage without going through its text, where that is exact and
 * rounds nothing (undefined otherwise: the general path decides). The number × 10^scale rounds to an
 * integer n, and n × 10^-scale converts back to exactly the number (IEEE division of two exact
 * doubles rounds correctly). Below 2^51 the number's neighbours are less than 10^-scale / 2 away, so
 * n × 10^-scale is then the one decimal of that scale that converts to it: the number's shortest form
 * (what {@link decimalFromNumber} reads) has no more digits, hence is that decimal.
 */
function plainScaledNumber(value: number, type: SqlType): number | undefined {
  if (!decimalIsScaled(type)) return undefined
  const factor = powersOfTen[type.scale ?? 3]!
  const unscaled = Math.round(value * factor)
  if (!(Math.abs(unscaled) < 2 ** 51) || unscaled / factor !== value) return undefined
  // More integer digits than the precision allows: the general path says so.
  if (Math.abs(unscaled) >= powersOfTen[type.precision ?? 18]!) return undefined
  return unscaled + 0
}

/** 10^0 … 10^18 (a scaled DECIMAL's scale and precision): `10 ** n` costs a pow call per value. */
const powersOfTen: readonly number[] = Array.from({ length: 19 }, (_, exponent) => 10 ** exponent)

function decimalStorage(decimal: Decimal, type: SqlType, outOfRange: () => Error): number | bigint | string {
  const scale = type.scale ?? 3
  const rounded = rescale(decimal, scale)
  if (integerDigits(rounded) > (type.precision ?? 18) - scale) throw outOfRange()
  if (!decimalIsScaled(type)) return decimalText(rounded)
  const unscaled = rounded.unscaled
  return unscaled >= BigInt(Number.MIN_SAFE_INTEGER) && unscaled <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(unscaled) : unscaled
}

/**
 * Microseconds as the row store keeps them: a number when it holds them exactly, else a bigint
 * (before 1685 or after 2255 the microseconds exceed 2^53; a number would round them).
 */
function microsStorage(micros: bigint): number | bigint {
  const number = Number(micros)
  return Number.isSafeInteger(number) ? number : micros
}

/**
 * Whether reading these result types from SQLite needs its integers as bigints: BIGINT and a scaled
 * DECIMAL of more than 15 digits ({@link readsBigint}), and TIMESTAMP/TIMESTAMPTZ, whose microseconds
 * exceed 2^53 outside 1685–2255.
 */
export function readsIntegersAsBigints(types: readonly SqlType[]): boolean {
  return types.some((type) => readsBigint(type) || type.name === 'TIMESTAMP' || type.name === 'TIMESTAMPTZ')
}

/** DuckDB's (and PostgreSQL's) spellings of the special DOUBLE values: 'inf', '-Infinity', 'NaN', any case. */
function specialDouble(text: string): number | undefined {
  const lower = text.trim().toLowerCase()
  if (lower === 'inf' || lower === '+inf' || lower === 'infinity' || lower === '+infinity') return Infinity
  if (lower === '-inf' || lower === '-infinity') return -Infinity
  if (lower === 'nan' || lower === '+nan' || lower === '-nan') return NaN
  return undefined
}

/** Row-store representation → the JS value a query returns (SPEC 3). */
export function fromStorage(value: unknown, type: SqlType): unknown {
  if (value === null || value === undefined) return null
  switch (type.name) {
    case 'BOOLEAN':
      return value !== 0 && value !== 0n
    case 'SMALLINT':
    case 'INTEGER':
    case 'BIGINT':
      if (typeof value === 'bigint') return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value
      return value
    case 'DOUBLE':
      return typeof value === 'bigint' ? Number(value) : value
    case 'DECIMAL':
      return decimalResult(storedDecimal(value as number | bigint | string, type))
    case 'TIMESTAMP':
    case 'TIMESTAMPTZ':
      return microsToDate(value as bigint | number)
    case 'JSON':
      return typeof value === 'string' ? JSON.parse(value) : value
    default:
      return value
  }
}
