/**
 * Values on the wire: which PostgreSQL type (OID) each Strata result type is, how a value is written
 * in text and binary format, and how a parameter arrives (text or binary) as the JS value the engine
 * binds. Text output is PostgreSQL's own (`t`/`f`, `\x…` for bytea, `2024-01-02 03:04:05.123456` for
 * timestamps, `+00` for timestamptz with TimeZone UTC, numeric with its scale).
 */
import { decimalFromNumber, decimalResult, decimalText, parseDecimal, scaledText } from '../../../util/decimal.js'
import { dateMicros, microsOfSecond } from '../../../util/timestamp.js'
import { ProtocolViolation, utf8Text } from './protocol.js'

/** PostgreSQL's built-in type OIDs (pg_type.dat). */
export const oid = {
  bool: 16,
  bytea: 17,
  char: 18,
  name: 19,
  int8: 20,
  int2: 21,
  int2vector: 22,
  int4: 23,
  regproc: 24,
  text: 25,
  oid: 26,
  json: 114,
  float4: 700,
  float8: 701,
  unknown: 705,
  bpchar: 1042,
  varchar: 1043,
  date: 1082,
  time: 1083,
  timestamp: 1114,
  timestamptz: 1184,
  interval: 1186,
  numeric: 1700,
  regclass: 2205,
  uuid: 2950,
  jsonb: 3802,
  boolArray: 1000,
  int2Array: 1005,
  int4Array: 1007,
  textArray: 1009,
  int8Array: 1016,
  float8Array: 1022,
  oidArray: 1028,
} as const

/** How one result column goes on the wire. */
export interface WireType {
  readonly oid: number
  /** pg_type.typlen: bytes, or -1 for variable length. */
  readonly size: number
  /** atttypmod: numeric's (precision << 16 | scale) + 4, else -1. */
  readonly modifier: number
  /** Strata's label (INTEGER, DECIMAL(10,2), TIMESTAMPTZ, INTEGER[], …). */
  readonly label: string
  /** numeric's scale, for text output with trailing zeros as PostgreSQL prints them. */
  readonly scale?: number
}

const fixed: Readonly<Record<string, { oid: number; size: number }>> = {
  BOOLEAN: { oid: oid.bool, size: 1 },
  TINYINT: { oid: oid.int2, size: 2 },
  UTINYINT: { oid: oid.int2, size: 2 },
  SMALLINT: { oid: oid.int2, size: 2 },
  USMALLINT: { oid: oid.int4, size: 4 },
  INTEGER: { oid: oid.int4, size: 4 },
  UINTEGER: { oid: oid.int8, size: 8 },
  BIGINT: { oid: oid.int8, size: 8 },
  UBIGINT: { oid: oid.numeric, size: -1 },
  HUGEINT: { oid: oid.numeric, size: -1 },
  UHUGEINT: { oid: oid.numeric, size: -1 },
  REAL: { oid: oid.float4, size: 4 },
  FLOAT: { oid: oid.float4, size: 4 },
  DOUBLE: { oid: oid.float8, size: 8 },
  VARCHAR: { oid: oid.text, size: -1 },
  TEXT: { oid: oid.text, size: -1 },
  BLOB: { oid: oid.bytea, size: -1 },
  DATE: { oid: oid.date, size: 4 },
  TIME: { oid: oid.time, size: 8 },
  TIMESTAMP: { oid: oid.timestamp, size: 8 },
  TIMESTAMP_S: { oid: oid.timestamp, size: 8 },
  TIMESTAMP_MS: { oid: oid.timestamp, size: 8 },
  TIMESTAMP_NS: { oid: oid.timestamp, size: 8 },
  TIMESTAMPTZ: { oid: oid.timestamptz, size: 8 },
  'TIMESTAMP WITH TIME ZONE': { oid: oid.timestamptz, size: 8 },
  INTERVAL: { oid: oid.interval, size: 16 },
  JSON: { oid: oid.json, size: -1 },
  UUID: { oid: oid.uuid, size: 16 },
}

const arrays: Readonly<Record<number, number>> = {
  [oid.bool]: oid.boolArray,
  [oid.int2]: oid.int2Array,
  [oid.int4]: oid.int4Array,
  [oid.int8]: oid.int8Array,
  [oid.float8]: oid.float8Array,
  [oid.text]: oid.textArray,
}

/**
 * The wire type of a Strata result type label. Anything without a PostgreSQL counterpart (STRUCT,
 * MAP, UNION, …) goes as text, which every client can read.
 *
 * @example wireType('DECIMAL(10,2)') // → { oid: 1700, modifier: (10 << 16 | 2) + 4, scale: 2, … }
 */
export function wireType(label: string): WireType {
  let known = wireTypes.get(label)
  if (known === undefined) {
    known = wireTypeOf(label)
    // Labels are type names: a handful in practice; nested types (STRUCT(…)) could be many, so bounded.
    if (wireTypes.size < wireTypesMax) wireTypes.set(label, known)
  }
  return known
}

const wireTypes = new Map<string, WireType>()
const wireTypesMax = 1024

function wireTypeOf(label: string): WireType {
  const upper = label.toUpperCase()
  const known = fixed[upper]
  if (known !== undefined) return { ...known, modifier: -1, label: upper }
  if (upper.startsWith('DECIMAL') || upper.startsWith('NUMERIC')) {
    const inner = upper.slice(upper.indexOf('(') + 1, upper.indexOf(')'))
    const [precision, scale] = inner.split(',').map((part) => Number(part.trim()))
    if (precision !== undefined && scale !== undefined && Number.isInteger(precision) && Number.isInteger(scale)) {
      return { oid: oid.numeric, size: -1, modifier: ((precision << 16) | scale) + 4, label: upper, scale }
    }
    return { oid: oid.numeric, size: -1, modifier: -1, label: upper }
  }
  if (upper.endsWith('[]')) {
    const element = wireType(upper.slice(0, -2))
    const array = arrays[element.oid]
    return { oid: array ?? oid.textArray, size: -1, modifier: -1, label: upper }
  }
  return { oid: oid.text, size: -1, modifier: -1, label: upper }
}

const hexDigits = '0123456789abcdef'

/** bytea's hex output: `\x` then two hex digits per byte. */
export function byteaText(bytes: Uint8Array): string {
  let out = '\\x'
  for (const byte of bytes) out += hexDigits[byte >> 4]! + hexDigits[byte & 15]!
  return out
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0')
}

/**
 * A timestamp as PostgreSQL prints it in ISO DateStyle: microseconds (a result's `Timestamp` carries
 * them; a plain Date has milliseconds) without trailing zeros, BC years.
 *
 * @example timestampText(new Timestamp(1_704_164_645_123_456n), false) // '2024-01-02 03:04:05.123456'
 */
export function timestampText(value: Date, withZone: boolean): string {
  const time = value.getTime()
  if (!Number.isFinite(time)) return 'invalid'
  let year = value.getUTCFullYear()
  const bc = year <= 0
  if (bc) year = 1 - year
  let text = `${pad(year, 4)}-${pad(value.getUTCMonth() + 1, 2)}-${pad(value.getUTCDate(), 2)} ${pad(value.getUTCHours(), 2)}:${pad(value.getUTCMinutes(), 2)}:${pad(value.getUTCSeconds(), 2)}`
  const micros = microsOfSecond(value)
  if (micros !== 0) text += `.${pad(micros, 6)}`.replace(/0+$/, '')
  if (withZone) text += '+00'
  if (bc) text += ' BC'
  return text
}

/** float8 output: shortest round-trip digits (extra_float_digits ≥ 1), PostgreSQL's spellings. */
export function floatText(value: number): string {
  if (Number.isNaN(value)) return 'NaN'
  if (value === Infinity) return 'Infinity'
  if (value === -Infinity) return '-Infinity'
  if (Object.is(value, -0)) return '-0'
  const text = String(value)
  const exponent = text.indexOf('e')
  if (exponent < 0) return text
  // PostgreSQL writes at least two exponent digits: 1e-07, 1e+21.
  const sign = text[exponent + 1]!
  const digits = text.slice(exponent + 2)
  return `${text.slice(0, exponent)}e${sign}${digits.length < 2 ? `0${digits}` : digits}`
}

function numericText(value: unknown, scale: number | undefined): string {
  // Exact digits at the column's scale (util/decimal.ts): a DECIMAL value is a number only when it spells the value exactly.
  if (scale !== undefined && (typeof value === 'bigint' || typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value)))) return scaledText(value, scale)
  if (typeof value === 'bigint') return String(value)
  if (typeof value !== 'number') return String(value)
  if (Number.isNaN(value)) return 'NaN'
  return Number.isInteger(value) ? BigInt(value).toString() : String(value)
}

function intervalText(value: { months?: number; days?: number; micros?: bigint | number }): string {
  const months = Number(value.months ?? 0)
  const days = Number(value.days ?? 0)
  let micros = BigInt(value.micros ?? 0)
  const parts: string[] = []
  const years = Math.trunc(months / 12)
  const restMonths = months % 12
  if (years !== 0) parts.push(`${years} year${Math.abs(years) === 1 ? '' : 's'}`)
  if (restMonths !== 0) parts.push(`${restMonths} mon${Math.abs(restMonths) === 1 ? '' : 's'}`)
  if (days !== 0) parts.push(`${days} day${Math.abs(days) === 1 ? '' : 's'}`)
  if (micros !== 0n || parts.length === 0) {
    const negative = micros < 0n
    if (negative) micros = -micros
    parts.push(`${negative ? '-' : ''}${timeOfDayText(micros)}`)
  }
  return parts.join(' ')
}

function timeOfDayText(micros: bigint): string {
  const hours = micros / 3_600_000_000n
  const minutes = (micros / 60_000_000n) % 60n
  const seconds = (micros / 1_000_000n) % 60n
  const fraction = micros % 1_000_000n
  let text = `${String(hours).padStart(2, '0')}:${String(minutes).padStart(2, '0')}:${String(seconds).padStart(2, '0')}`
  if (fraction !== 0n) text += `.${String(fraction).padStart(6, '0')}`.replace(/0+$/, '')
  return text
}

/** PostgreSQL's array literal: {a,b,NULL}, elements quoted when they need it. */
function arrayText(values: readonly unknown[], type: WireType): string {
  const element = type.label.endsWith('[]') ? wireType(type.label.slice(0, -2)) : wireType('VARCHAR')
  const items = values.map((item) => {
    if (item === null || item === undefined) return 'NULL'
    if (Array.isArray(item)) return arrayText(item, element)
    const text = textValue(item, element)
    if (text === '' || /[{}",\\\s]/.test(text) || text.toUpperCase() === 'NULL') return `"${text.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`
    return text
  })
  return `{${items.join(',')}}`
}

function jsonText(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) => (typeof inner === 'bigint' ? inner.toString() : inner instanceof Uint8Array ? byteaText(inner) : inner)) ?? 'null'
}

/**
 * A non-null value in PostgreSQL's text format for its column's wire type.
 *
 * @example textValue(true, wireType('BOOLEAN')) // → 't'
 */
export function textValue(value: unknown, type: WireType): string {
  switch (type.oid) {
    case oid.bool:
      return value === true || value === 1 || value === 1n ? 't' : value === false || value === 0 || value === 0n ? 'f' : String(value)
    case oid.float4:
    case oid.float8:
      return typeof value === 'number' ? floatText(value) : String(value)
    case oid.numeric:
      return numericText(value, type.scale)
    case oid.bytea:
      return value instanceof Uint8Array ? byteaText(value) : String(value)
    case oid.timestamp:
    case oid.timestamptz:
      return value instanceof Date ? timestampText(value, type.oid === oid.timestamptz) : String(value)
    case oid.date:
      return value instanceof Date ? value.toISOString().slice(0, 10) : String(value)
    case oid.time:
      return typeof value === 'bigint' || typeof value === 'number' ? timeOfDayText(BigInt(value)) : String(value)
    case oid.interval:
      return typeof value === 'object' && value !== null && !Array.isArray(value) ? intervalText(value as { months?: number }) : String(value)
    case oid.json:
    case oid.jsonb:
      return jsonText(value)
    default:
      break
  }
  if (typeof value === 'string') return value
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : floatText(value)
  if (typeof value === 'bigint' || typeof value === 'boolean') return typeof value === 'boolean' ? (value ? 't' : 'f') : String(value)
  if (value instanceof Date) return timestampText(value, false)
  if (value instanceof Uint8Array) return byteaText(value)
  if (Array.isArray(value)) return arrayText(value, type)
  if (typeof value === 'object' && value !== null && typeof (value as { toString?: unknown }).toString === 'function' && (value as object).toString !== Object.prototype.toString) {
    return String(value)
  }
  return jsonText(value)
}

/** Microseconds between the Unix epoch and PostgreSQL's (2000-01-01). */
const postgresEpochMicros = 946_684_800_000_000n
const postgresEpochDays = 10_957

/** Which wire types have a binary output here; others are sent as text even when binary is asked. */
export function hasBinaryOutput(type: WireType): boolean {
  switch (type.oid) {
    case oid.bool:
    case oid.int2:
    case oid.int4:
    case oid.int8:
    case oid.float4:
    case oid.float8:
    case oid.text:
    case oid.varchar:
    case oid.bytea:
    case oid.json:
    case oid.date:
    case oid.timestamp:
    case oid.timestamptz:
    case oid.uuid:
      return true
    default:
      return false
  }
}

/**
 * A non-null value in PostgreSQL's binary format (for the types `hasBinaryOutput` names).
 *
 * @example binaryValue(7, wireType('INTEGER')) // → <Buffer 00 00 00 07>
 */
export function binaryValue(value: unknown, type: WireType): Buffer {
  switch (type.oid) {
    case oid.bool:
      return Buffer.from([value === true || value === 1 ? 1 : 0])
    case oid.int2: {
      const out = Buffer.allocUnsafe(2)
      out.writeInt16BE(Number(value))
      return out
    }
    case oid.int4: {
      const out = Buffer.allocUnsafe(4)
      out.writeInt32BE(Number(value))
      return out
    }
    case oid.int8: {
      const out = Buffer.allocUnsafe(8)
      out.writeBigInt64BE(BigInt(value as number | bigint))
      return out
    }
    case oid.float4: {
      const out = Buffer.allocUnsafe(4)
      out.writeFloatBE(Number(value))
      return out
    }
    case oid.float8: {
      const out = Buffer.allocUnsafe(8)
      out.writeDoubleBE(Number(value))
      return out
    }
    case oid.bytea:
      return value instanceof Uint8Array ? Buffer.from(value) : Buffer.from(String(value))
    case oid.date: {
      const out = Buffer.allocUnsafe(4)
      const days = Math.floor(Date.parse(`${String(value)}T00:00:00Z`) / 86_400_000) - postgresEpochDays
      out.writeInt32BE(days)
      return out
    }
    case oid.timestamp:
    case oid.timestamptz: {
      const out = Buffer.allocUnsafe(8)
      out.writeBigInt64BE(dateMicros(value as Date) - postgresEpochMicros)
      return out
    }
    case oid.uuid:
      return Buffer.from(String(value).replaceAll('-', ''), 'hex')
    default:
      return Buffer.from(textValue(value, type), 'utf8')
  }
}

/** bytea's text input: hex (`\x0102`) or the escape format (`\\`, `\ooo`, other bytes as they are). */
export function byteaFromText(text: string): Uint8Array {
  if (text.startsWith('\\x')) {
    const hex = text.slice(2).replace(/\s+/g, '')
    if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new TypeError(`invalid hexadecimal data in bytea: "${text.slice(0, 40)}"`)
    return Uint8Array.from(Buffer.from(hex, 'hex'))
  }
  const bytes: number[] = []
  const raw = Buffer.from(text, 'utf8')
  for (let index = 0; index < raw.length; index++) {
    const byte = raw[index]!
    if (byte !== 92) {
      bytes.push(byte)
      continue
    }
    if (raw[index + 1] === 92) {
      bytes.push(92)
      index++
      continue
    }
    const octal = raw.subarray(index + 1, index + 4).toString('latin1')
    if (!/^[0-3][0-7]{2}$/.test(octal)) throw new TypeError('invalid input syntax for type bytea')
    bytes.push(Number.parseInt(octal, 8))
    index += 3
  }
  return Uint8Array.from(bytes)
}

/**
 * A parameter as the engine binds it. Text parameters stay strings (the engine coerces them to the
 * column's type, as PostgreSQL resolves an untyped literal) except where the declared type changes
 * what the text means (bytea's `\x…`) or a number must compare as a number (declared numeric types);
 * binary parameters are decoded by their declared type.
 *
 * @example parameterValue(Buffer.from('42'), 0, oid.int4) // → 42
 */
/**
 * PostgreSQL's text for a boolean (t/true/y/yes/on/1 and f/false/n/no/off/0, any case) as one;
 * undefined for any other text.
 *
 * @example booleanText(' ON ') // true
 */
export function booleanText(text: string): boolean | undefined {
  const lower = text.trim().toLowerCase()
  if (['t', 'true', 'y', 'yes', 'on', '1'].includes(lower)) return true
  if (['f', 'false', 'n', 'no', 'off', '0'].includes(lower)) return false
  return undefined
}

export function parameterValue(raw: Buffer | null, format: number, typeOid: number): unknown {
  if (raw === null) return null
  if (format === 0) {
    const text = utf8Text(raw)
    switch (typeOid) {
      case oid.int2:
      case oid.int4:
      case oid.int8: {
        const value = text.trim()
        if (!/^[+-]?\d+$/.test(value)) throw new TypeError(`invalid input syntax for type integer: "${text}"`)
        const big = BigInt(value)
        return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big
      }
      case oid.float4:
      case oid.float8:
      case oid.numeric: {
        const value = Number(text)
        if (text.trim() === '' || Number.isNaN(value) && text.trim().toLowerCase() !== 'nan') throw new TypeError(`invalid input syntax for type ${typeOid === oid.numeric ? 'numeric' : 'double precision'}: "${text}"`)
        // numeric keeps its digits: a number only when it spells the value exactly, else the text.
        const decimal = typeOid === oid.numeric ? parseDecimal(text) : undefined
        return decimal === undefined ? value : decimalResult(decimal)
      }
      case oid.bool: {
        const value = booleanText(text)
        if (value === undefined) throw new TypeError(`invalid input syntax for type boolean: "${text}"`)
        return value
      }
      case oid.bytea:
        return byteaFromText(text)
      default:
        return text
    }
  }
  switch (typeOid) {
    case oid.bool:
      if (raw.length !== 1) break
      return raw[0] !== 0
    case oid.int2:
      if (raw.length !== 2) break
      return raw.readInt16BE(0)
    case oid.int4:
    case oid.oid:
      if (raw.length !== 4) break
      return typeOid === oid.oid ? raw.readUInt32BE(0) : raw.readInt32BE(0)
    case oid.int8: {
      if (raw.length !== 8) break
      const big = raw.readBigInt64BE(0)
      return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big
    }
    case oid.float4:
      if (raw.length !== 4) break
      return raw.readFloatBE(0)
    case oid.float8:
      if (raw.length !== 8) break
      return raw.readDoubleBE(0)
    case oid.numeric:
      return numericFromBinary(raw)
    case oid.text:
    case oid.varchar:
    case oid.bpchar:
    case oid.name:
    case oid.json:
    case oid.unknown:
      return utf8Text(raw)
    case oid.jsonb:
      // jsonb's binary format is a version byte (1) and the JSON text.
      return utf8Text(raw.subarray(1))
    case oid.date: {
      if (raw.length !== 4) break
      const days = raw.readInt32BE(0)
      return new Date((days + postgresEpochDays) * 86_400_000).toISOString().slice(0, 10)
    }
    case oid.timestamp:
    case oid.timestamptz: {
      if (raw.length !== 8) break
      const micros = raw.readBigInt64BE(0) + postgresEpochMicros
      return microsText(micros)
    }
    case oid.uuid: {
      if (raw.length !== 16) break
      const hex = raw.toString('hex')
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
    }
    case oid.bytea:
    case 0:
      // An unspecified type in binary: node-postgres sends Buffers this way. Bytes are bytes.
      return Uint8Array.from(raw)
    default:
      throw new ProtocolViolation(`binary format for parameters of type ${typeOid} is not supported (send them as text)`)
  }
  throw new ProtocolViolation(`incorrect binary data format in bind parameter of type ${typeOid}`)
}

/** Microseconds since the Unix epoch as `YYYY-MM-DD HH:MM:SS.ffffff` (UTC), which the engine parses exactly. */
function microsText(micros: bigint): string {
  const milliseconds = Number(micros / 1000n) - (micros % 1000n < 0n ? 1 : 0)
  const date = new Date(milliseconds)
  const fraction = ((micros % 1_000_000n) + 1_000_000n) % 1_000_000n
  return `${date.toISOString().slice(0, 19).replace('T', ' ')}.${String(fraction).padStart(6, '0')}`
}

/** numeric's binary input: base-10000 digits with a weight, a sign and a display scale. */
function numericFromBinary(raw: Buffer): string {
  if (raw.length < 8) throw new ProtocolViolation('incorrect binary data format in bind parameter of type numeric')
  const count = raw.readInt16BE(0)
  const weight = raw.readInt16BE(2)
  const sign = raw.readUInt16BE(4)
  const scale = raw.readInt16BE(6)
  if (raw.length !== 8 + count * 2) throw new ProtocolViolation('incorrect binary data format in bind parameter of type numeric')
  if (sign === 0xc000) return 'NaN'
  let integer = ''
  let fraction = ''
  for (let index = 0; index < count; index++) {
    const digit = String(raw.readInt16BE(8 + index * 2)).padStart(4, '0')
    if (index <= weight) integer += digit
    else fraction += digit
  }
  for (let index = count; index <= weight; index++) integer += '0000'
  if (weight < -1) fraction = '0000'.repeat(-weight - 1) + fraction
  integer = integer.replace(/^0+/, '') || '0'
  fraction = fraction.padEnd(scale, '0').slice(0, scale)
  return `${sign === 0x4000 ? '-' : ''}${integer}${scale > 0 ? `.${fraction}` : ''}`
}

/** A number as plain decimal digits (no exponent), for numeric's binary output. */
function decimalDigits(value: unknown, scale: number | undefined): string {
  if (typeof value === 'bigint') return scale === undefined ? value.toString() : scaledText(value, scale)
  if (typeof value === 'number' || typeof value === 'string') {
    const decimal = typeof value === 'number' ? decimalFromNumber(value) : parseDecimal(value)
    if (decimal !== undefined) return decimalText(decimal, scale ?? decimal.scale)
  }
  return String(value)
}

/**
 * numeric's binary output: base-10000 digit groups with a weight, a sign and a display scale.
 *
 * @example numericBinary(12.5, wireType('DECIMAL(10,2)')) // ndigits 2, weight 0, digits [12, 5000], dscale 2
 */
export function numericBinary(value: unknown, type?: WireType): Buffer {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    const nan = Buffer.alloc(8)
    nan.writeUInt16BE(Number.isNaN(value) ? 0xc000 : value > 0 ? 0xd000 : 0xf000, 4)
    return nan
  }
  let text = decimalDigits(value, type?.scale)
  const negative = text.startsWith('-')
  if (negative) text = text.slice(1)
  const [integerPart = '0', fractionPart = ''] = text.split('.')
  const integer = integerPart.replace(/^0+/, '')
  const integerGroups = integer === '' ? [] : integer.padStart(Math.ceil(integer.length / 4) * 4, '0').match(/.{4}/g)!
  const fractionGroups = fractionPart === '' ? [] : fractionPart.padEnd(Math.ceil(fractionPart.length / 4) * 4, '0').match(/.{4}/g)!
  let digits = [...integerGroups, ...fractionGroups].map(Number)
  let weight = integerGroups.length - 1
  while (digits.length > 0 && digits[0] === 0) {
    digits = digits.slice(1)
    weight--
  }
  while (digits.length > 0 && digits[digits.length - 1] === 0) digits = digits.slice(0, -1)
  if (digits.length === 0) weight = 0
  const out = Buffer.alloc(8 + digits.length * 2)
  out.writeInt16BE(digits.length, 0)
  out.writeInt16BE(weight, 2)
  out.writeUInt16BE(negative && digits.length > 0 ? 0x4000 : 0, 4)
  out.writeInt16BE(fractionPart.length, 6)
  digits.forEach((digit, index) => out.writeInt16BE(digit, 8 + index * 2))
  return out
}
