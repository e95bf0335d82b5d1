/**
 * The fuzzer's types and values: the column types of SPEC 5, values for them (boundaries first: int
 * limits, 0 and -0, large and small decimals, unicode with astral characters, empty strings and
 * blobs, the first and last dates), each value as a SQL literal and as the JS value SPEC 3 says a
 * query returns, and one canonical text per JS value so results compare as multisets.
 */
import { Timestamp } from '../../src/index.js'
import type { Random } from './random.js'

export type TypeKind = 'BOOLEAN' | 'SMALLINT' | 'INTEGER' | 'BIGINT' | 'DOUBLE' | 'REAL' | 'DECIMAL' | 'TEXT' | 'VARCHAR' | 'BLOB' | 'DATE' | 'TIMESTAMP' | 'TIMESTAMPTZ' | 'JSON'

export interface FuzzType {
  readonly kind: TypeKind
  /** DECIMAL only. */
  readonly precision?: number
  readonly scale?: number
}

export const typeKinds: readonly TypeKind[] = ['BOOLEAN', 'SMALLINT', 'INTEGER', 'BIGINT', 'DOUBLE', 'REAL', 'DECIMAL', 'TEXT', 'VARCHAR', 'BLOB', 'DATE', 'TIMESTAMP', 'TIMESTAMPTZ', 'JSON']

/**
 * A value, kept exactly: integers and decimals as bigints (a decimal as its unscaled digits), times
 * as microseconds, JSON as its text.
 */
export type Value =
  | null
  | { readonly t: 'bool'; readonly v: boolean }
  | { readonly t: 'int'; readonly v: bigint }
  | { readonly t: 'double'; readonly v: number }
  /** `written`: the literal as written, with more fractional digits than the scale (it rounds to v). */
  | { readonly t: 'decimal'; readonly v: bigint; readonly scale: number; readonly written?: string }
  | { readonly t: 'text'; readonly v: string }
  | { readonly t: 'blob'; readonly v: Uint8Array }
  | { readonly t: 'date'; readonly v: string }
  | { readonly t: 'timestamp'; readonly v: bigint }
  | { readonly t: 'json'; readonly v: string }

export const integerRanges: Readonly<Record<'SMALLINT' | 'INTEGER' | 'BIGINT', readonly [bigint, bigint]>> = {
  SMALLINT: [-32768n, 32767n],
  INTEGER: [-2147483648n, 2147483647n],
  BIGINT: [-9223372036854775808n, 9223372036854775807n],
}

export function isInteger(type: FuzzType): type is FuzzType & { kind: 'SMALLINT' | 'INTEGER' | 'BIGINT' } {
  return type.kind === 'SMALLINT' || type.kind === 'INTEGER' || type.kind === 'BIGINT'
}

export function isText(type: FuzzType): boolean {
  return type.kind === 'TEXT' || type.kind === 'VARCHAR'
}

export function isFloat(type: FuzzType): boolean {
  return type.kind === 'DOUBLE' || type.kind === 'REAL'
}

export function isNumeric(type: FuzzType): boolean {
  return isInteger(type) || isFloat(type) || type.kind === 'DECIMAL'
}

export function isTime(type: FuzzType): boolean {
  return type.kind === 'TIMESTAMP' || type.kind === 'TIMESTAMPTZ'
}

/** The type as CREATE TABLE spells it. */
export function typeSql(type: FuzzType): string {
  return type.kind === 'DECIMAL' ? `DECIMAL(${type.precision},${type.scale})` : type.kind
}

export function randomType(random: Random): FuzzType {
  const kind = random.pick(typeKinds)
  if (kind !== 'DECIMAL') return { kind }
  const precision = random.weighted<number>([
    [3, random.int(1, 9)],
    [3, random.int(10, 18)],
    [1, random.int(19, 38)],
  ])
  return { kind, precision, scale: random.weighted<number>([[1, 0], [3, random.int(0, Math.min(precision, 4))], [1, random.int(0, precision)]]) }
}

// ───────────────────────────── values ─────────────────────────────

const texts = [
  '', 'a', 'A', 'b', 'abc', 'ABC', 'Abc', 'abc ', ' abc', "it's", 'a%b', 'a_b', '%', '_', '\\', 'NULL', 'null', '1', '01', '1.5', ' 1', '-0', 'true',
  'ünïcödé', 'Ünïcödé', '日本語', 'ß', 'ﬁ', '😀', 'a😀b', '𝔘𝔫𝔦', '\u{10FFFF}', 'e\u0301', 'é', 'tab\there', 'line\nbreak', 'x'.repeat(70),
]
const jsonTexts = [
  'null', 'true', 'false', '0', '1', '-1.5', '1e3', '"s"', '""', '"日本"', '"😀"', '[]', '[1,2,3]', '[1, 2]', '{}', '{"a":1}', '{"a": 1}', '{"b":[true,null],"a":"x"}',
  '{"nested":{"deep":[{"k":"v"}]}}', '[{"a":null}]', '"\\u0041"',
]
const dates = ['1970-01-01', '2024-01-01', '2024-02-29', '2000-02-29', '1999-12-31', '0001-01-01', '9999-12-31', '1969-12-31', '2038-01-19']

/** What values may be generated, given the known-open classes (known.ts). */
export interface ValueOptions {
  /** Decimal values have at most this many digits. */
  readonly decimalDigitsMax: number
  /** DOUBLE -0 (not while 'double-negative-zero' is open). */
  readonly negativeZero: boolean
  /** DECIMAL values written with more fractional digits than the scale (rounded half away from zero on write). */
  readonly overPreciseDecimals: boolean
}

/** Values of a type, boundaries and duplicates first-class: a table of them makes equalities hit. */
export function randomValue(random: Random, type: FuzzType, options: ValueOptions): Value {
  switch (type.kind) {
    case 'BOOLEAN':
      return { t: 'bool', v: random.chance(0.5) }
    case 'SMALLINT':
    case 'INTEGER':
    case 'BIGINT': {
      const [low, high] = integerRanges[type.kind]
      const special = [0n, 1n, -1n, 2n, 7n, -7n, 100n, low, high, low + 1n, high - 1n]
      if (type.kind === 'BIGINT') special.push(2n ** 53n, 2n ** 53n + 1n, -(2n ** 53n) - 1n, 2n ** 31n, -(2n ** 31n) - 1n)
      if (type.kind === 'INTEGER') special.push(32768n, -32769n)
      return { t: 'int', v: random.weighted<bigint>([[4, random.pick(special)], [3, BigInt(random.int(-20, 20))], [2, random.bigint(low, high)]]) }
    }
    case 'DOUBLE':
    case 'REAL': {
      const special = [0, -0, 1, -1, 0.5, 1.5, -2.25, 0.1, 0.2, 0.30000000000000004, 1e308, -1e308, 1.7976931348623157e308, 5e-324, 1e-300, 2 ** 53, 2 ** 53 + 2, 123456.789, 1 / 3, Infinity, -Infinity]
      const value = random.weighted<number>([[4, random.pick(special)], [3, random.int(-20, 20) / 4], [2, (random.float() - 0.5) * 10 ** random.int(-5, 12)]])
      return { t: 'double', v: Object.is(value, -0) && !options.negativeZero ? 0 : value }
    }
    case 'DECIMAL': {
      const precision = type.precision!
      const scale = type.scale!
      const digits = Math.min(precision, options.decimalDigitsMax)
      const max = 10n ** BigInt(digits) - 1n
      const unit = 10n ** BigInt(scale)
      const special = [0n, 1n, -1n, max, -max, unit, -unit, 5n, unit / 2n, 10n ** BigInt(Math.max(0, digits - 1))]
      const unscaled = random.weighted<bigint>([[4, random.pick(special)], [3, BigInt(random.int(-200, 200))], [2, random.bigint(-max, max)]])
      const v = unscaled > max ? max : unscaled < -max ? -max : unscaled
      if (options.overPreciseDecimals && random.chance(0.1) && v !== max && v !== -max) {
        // One more digit, rounded half away from zero to the scale (PostgreSQL's and DuckDB's rule).
        const extra = BigInt(random.int(1, 9))
        const written = v * 10n + (v < 0n ? -extra : extra)
        return { t: 'decimal', v: extra >= 5n ? v + (v < 0n ? -1n : 1n) : v, scale, written: decimalText(written, scale + 1) }
      }
      return { t: 'decimal', v, scale }
    }
    case 'TEXT':
    case 'VARCHAR':
      return { t: 'text', v: random.weighted<string>([[5, random.pick(texts)], [2, randomText(random)]]) }
    case 'BLOB': {
      const special = [[], [0], [255], [0, 1, 2], [97, 98, 99], [92, 120, 48], [39], [255, 0, 255]]
      const bytes = random.chance(0.6) ? random.pick(special) : Array.from({ length: random.int(0, 6) }, () => random.int(0, 255))
      return { t: 'blob', v: Uint8Array.from(bytes) }
    }
    case 'DATE':
      return { t: 'date', v: random.chance(0.6) ? random.pick(dates) : dateText(BigInt(random.int(-25000, 30000)) * 86_400_000_000n) }
    case 'TIMESTAMP':
    case 'TIMESTAMPTZ': {
      const special = [0n, 1n, -1n, 999_999n, 1_704_067_200_000_000n, 1_709_251_199_999_999n, -62_135_596_800_000_000n, 253_402_300_799_999_999n, 951_782_400_000_000n]
      return { t: 'timestamp', v: random.weighted<bigint>([[4, random.pick(special)], [3, 1_704_067_200_000_000n + BigInt(random.int(-1000, 1000)) * 1_000_000n], [2, random.bigint(-2_208_988_800_000_000n, 4_102_444_800_000_000n)]]) }
    }
    case 'JSON':
      return { t: 'json', v: random.pick(jsonTexts) }
  }
}

function randomText(random: Random): string {
  const alphabet = ['a', 'b', 'c', 'A', 'B', ' ', '%', '_', "'", 'é', 'ü', '日', '😀', '0', '1', '-']
  return Array.from({ length: random.int(0, 8) }, () => random.pick(alphabet)).join('')
}

// ───────────────────────────── literals ─────────────────────────────

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0')
}

const microsPerDay = 86_400_000_000n

function floorDivide(value: bigint, divisor: bigint): bigint {
  const quotient = value / divisor
  return value % divisor < 0n ? quotient - 1n : quotient
}

/** 'YYYY-MM-DD' of the day a microsecond instant falls on (years 1–9999). */
export function dateText(micros: bigint): string {
  const date = new Date(Number(floorDivide(micros, microsPerDay) * 86_400_000n))
  return `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)}`
}

/** 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC. */
export function timestampText(micros: bigint): string {
  const date = new Date(Number(floorDivide(micros, 1000n)))
  const fraction = Number(micros - floorDivide(micros, 1_000_000n) * 1_000_000n)
  return `${dateText(micros)} ${pad(date.getUTCHours(), 2)}:${pad(date.getUTCMinutes(), 2)}:${pad(date.getUTCSeconds(), 2)}.${pad(fraction, 6)}`
}

export function decimalText(unscaled: bigint, scale: number): string {
  const negative = unscaled < 0n
  const digits = (negative ? -unscaled : unscaled).toString().padStart(scale + 1, '0')
  const text = scale === 0 ? digits : `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`
  return negative ? `-${text}` : text
}

/**
 * SPEC 3 as README states it for DECIMAL: the JS number when that number's own decimal form (String)
 * is exactly the value, else the exact text at the column's scale. A model of its own: the number's
 * String is read back digit by digit, exponent included, and compared as integers.
 */
function decimalExpected(unscaled: bigint, scale: number): number | string {
  const text = decimalText(unscaled, scale)
  const number = Number(text) + 0
  const shown = String(number)
  const [mantissa = '', exponentPart] = shown.split('e')
  const [whole = '', fraction = ''] = mantissa.split('.')
  const exponent = exponentPart === undefined ? 0 : Number(exponentPart)
  // shown = digits × 10^(exponent − fraction.length)
  const shownDigits = BigInt(`${whole}${fraction}`)
  const shownScale = fraction.length - exponent
  const common = Math.max(scale, shownScale, 0)
  const left = unscaled * 10n ** BigInt(common - scale)
  const right = shownScale <= common ? shownDigits * 10n ** BigInt(common - shownScale) : shownDigits / 10n ** BigInt(shownScale - common)
  return left === right ? number : text
}

function doubleText(value: number): string {
  if (Object.is(value, -0)) return '-0.0'
  // DuckDB's and PostgreSQL's spelling, as text cast to the column's DOUBLE.
  if (value === Infinity || value === -Infinity) return quoteText(String(value))
  const text = String(value)
  return /[.e]/.test(text) ? text : `${text}.0`
}

export function quoteText(text: string): string {
  return `'${text.replaceAll("'", "''")}'`
}

/**
 * The value as a SQL literal for a column of `type`: typed where PostgreSQL's and DuckDB's parsers
 * would otherwise read it as something else (a BLOB, a timestamp), bare where the column's type
 * makes its meaning clear (numbers, text, a date string).
 */
export function literalSql(value: Value, type: FuzzType): string {
  if (value === null) return 'NULL'
  switch (value.t) {
    case 'bool':
      return value.v ? 'TRUE' : 'FALSE'
    case 'int':
      return value.v.toString()
    case 'double':
      return doubleText(value.v)
    case 'decimal':
      return value.written ?? decimalText(value.v, value.scale)
    case 'text':
      return quoteText(value.v)
    case 'blob':
      return `'${[...value.v].map((byte) => `\\x${byte.toString(16).padStart(2, '0').toUpperCase()}`).join('')}'::BLOB`
    case 'date':
      return type.kind === 'DATE' ? quoteText(value.v) : `DATE ${quoteText(value.v)}`
    case 'timestamp':
      return type.kind === 'TIMESTAMPTZ' ? `TIMESTAMPTZ ${quoteText(`${timestampText(value.v)}+00`)}` : `TIMESTAMP ${quoteText(timestampText(value.v))}`
    case 'json':
      return quoteText(value.v)
  }
}

/** An integer as SPEC 3 returns it (and an application passes it): a number within ±2^53, else a bigint. */
function integerJs(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value
}

/** Microseconds as a Date, or a Timestamp when they have sub-millisecond digits. */
function timestampJs(micros: bigint): Date {
  return micros % 1000n === 0n ? new Date(Number(micros / 1000n)) : new Timestamp(micros)
}

/** The value as a query parameter (a JS value): what an application would pass. */
export function parameterValue(value: Value): unknown {
  if (value === null) return null
  switch (value.t) {
    case 'bool':
    case 'text':
    case 'date':
    case 'json':
      return value.v
    case 'int':
      return integerJs(value.v)
    case 'double':
      return value.v
    case 'decimal':
      return value.written ?? decimalText(value.v, value.scale)
    case 'blob':
      return value.v
    case 'timestamp':
      return timestampJs(value.v)
  }
}

/** What a query returns for the value in a column of `type` (SPEC 3). */
export function expectedJs(value: Value): unknown {
  if (value === null) return null
  switch (value.t) {
    case 'bool':
    case 'text':
    case 'date':
      return value.v
    case 'int':
      return integerJs(value.v)
    case 'double':
      return value.v
    case 'decimal':
      return decimalExpected(value.v, value.scale)
    case 'blob':
      return value.v
    case 'timestamp':
      return timestampJs(value.v)
    case 'json':
      return JSON.parse(value.v) as unknown
  }
}

// ───────────────────────────── comparing results ─────────────────────────────

/** One text per JS result value, with its JS type: 1 and 1n and '1' differ, -0 and 0 differ. */
export function canonical(value: unknown): string {
  if (value === null) return 'null'
  if (value === undefined) return 'undefined'
  if (typeof value === 'number') return Object.is(value, -0) ? 'n:-0' : `n:${value}`
  if (typeof value === 'bigint') return `b:${value}`
  if (typeof value === 'string') return `s:${JSON.stringify(value)}`
  if (typeof value === 'boolean') return `${value}`
  if (value instanceof Timestamp) return `t:${value.micros}`
  if (value instanceof Date) return `t:${BigInt(value.getTime()) * 1000n}`
  if (value instanceof Uint8Array) return `x:${Buffer.from(value).toString('hex')}`
  return `j:${JSON.stringify(value, (_key, inner: unknown) => (typeof inner === 'bigint' ? `${inner}n` : inner))}`
}

/** A value for a person to read in a report. */
export function shown(value: unknown): string {
  if (value instanceof Timestamp) return `Timestamp(${timestampText(value.micros)})`
  if (value instanceof Date) return `Date(${value.toISOString()})`
  if (value instanceof Uint8Array) return `Uint8Array[${[...value].join(',')}]`
  if (typeof value === 'bigint') return `${value}n`
  if (typeof value === 'number' && Object.is(value, -0)) return '-0'
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'object' && value !== null) return `json ${JSON.stringify(value)}`
  return String(value)
}

// ───────────────────────────── SQL semantics for the model ─────────────────────────────

function utf8(text: string): Buffer {
  return Buffer.from(text, 'utf8')
}

/** SQL's order of two non-NULL values of one column type (text and blobs by bytes, as both stores). */
export function compareValues(left: Exclude<Value, null>, right: Exclude<Value, null>): number {
  const sign = (difference: number | bigint): number => (difference > 0 ? 1 : difference < 0 ? -1 : 0)
  switch (left.t) {
    case 'bool':
      return sign(Number(left.v) - Number((right as typeof left).v))
    case 'int':
    case 'timestamp':
      return sign(left.v - (right as typeof left).v)
    case 'double':
      return sign(left.v - (right as typeof left).v)
    case 'decimal': {
      const other = right as typeof left
      const scale = Math.max(left.scale, other.scale)
      return sign(left.v * 10n ** BigInt(scale - left.scale) - other.v * 10n ** BigInt(scale - other.scale))
    }
    case 'text':
    case 'json':
      return Buffer.compare(utf8(left.v), utf8((right as typeof left).v))
    case 'blob':
      return Buffer.compare(Buffer.from(left.v), Buffer.from((right as typeof left).v))
    case 'date':
      return left.v < (right as typeof left).v ? -1 : left.v > (right as typeof left).v ? 1 : 0
  }
}
