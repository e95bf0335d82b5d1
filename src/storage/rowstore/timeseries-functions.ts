/**
 * SQLite user functions for the time-series calls the row-store compiler emits (src/sql/rowgroup.ts,
 * names listed in src/sql/timeseries.ts). They compute exactly what DuckDB computes:
 *
 * - `strata_time_bucket(ts, width_us, width_months, origin, offset_us)`: DuckDB's time_bucket. `ts` is
 *   a TIMESTAMP in µs since the epoch (or a DATE as 'YYYY-MM-DD'). With `width_months` = 0 the bucket
 *   is origin + ⌊(ts − offset − origin) / width⌋·width + offset (origin in µs; DuckDB's default is
 *   2000-01-03); otherwise months are counted from 1970-01 and `origin` is in months (default 2000-01),
 *   and the bucket starts on the first of its month.
 * - `strata_bucket_add(bucket, width_us, width_months, offset_us)`: the next bucket (gap filling).
 * - `strata_first(v, ts)` / `strata_last(v, ts)`: DuckDB's arg_min / arg_max — the value at the
 *   smallest / largest ts, skipping rows where either is NULL; on ties the first row seen wins.
 * - `strata_locf(v)`: a window function, the last non-NULL v of the frame (locf of gap filling).
 *
 * Integers arrive as bigint (safeIntegers), so µs arithmetic is exact over DuckDB's whole range.
 */
import type BetterSqlite3 from 'better-sqlite3'

type SqliteValue = null | bigint | number | string | Uint8Array

const microsPerDay = 86_400_000_000n

function floorDivide(dividend: bigint, divisor: bigint): bigint {
  const quotient = dividend / divisor
  return dividend % divisor !== 0n && dividend < 0n !== divisor < 0n ? quotient - 1n : quotient
}

function dateTextToMicros(text: string): bigint {
  const [year, month, day] = text.split('-').map(Number) as [number, number, number]
  const date = new Date(0)
  date.setUTCFullYear(year, month - 1, day)
  return BigInt(date.getTime()) * 1000n
}

function microsToDateText(micros: bigint): string {
  const date = new Date(Number(floorDivide(micros, microsPerDay) * 86_400_000n))
  const year = date.getUTCFullYear()
  const yearText = year >= 0 && year <= 9999 ? String(year).padStart(4, '0') : String(year)
  return `${yearText}-${String(date.getUTCMonth() + 1).padStart(2, '0')}-${String(date.getUTCDate()).padStart(2, '0')}`
}

/** Months since 1970-01 of the day a timestamp falls on. */
function epochMonths(micros: bigint): bigint {
  const date = new Date(Number(floorDivide(micros, 1000n)))
  return BigInt((date.getUTCFullYear() - 1970) * 12 + date.getUTCMonth())
}

function monthStartMicros(months: bigint): bigint {
  const year = 1970n + floorDivide(months, 12n)
  const month = months - floorDivide(months, 12n) * 12n
  const date = new Date(0)
  date.setUTCFullYear(Number(year), Number(month), 1)
  return BigInt(date.getTime()) * 1000n
}

function toBigInt(value: SqliteValue): bigint {
  if (typeof value === 'bigint') return value
  if (typeof value === 'number') return BigInt(Math.trunc(value))
  throw new TypeError(`expected an integer, got ${typeof value}`)
}

function timeBucket(ts: SqliteValue, widthMicros: SqliteValue, widthMonths: SqliteValue, origin: SqliteValue, offset: SqliteValue): SqliteValue {
  if (ts === null) return null
  const isDate = typeof ts === 'string'
  const micros = isDate ? dateTextToMicros(ts) : toBigInt(ts)
  const shifted = micros - toBigInt(offset)
  const months = toBigInt(widthMonths)
  let bucket: bigint
  if (months > 0n) {
    const originMonths = toBigInt(origin)
    bucket = monthStartMicros(originMonths + floorDivide(epochMonths(shifted) - originMonths, months) * months)
  } else {
    const width = toBigInt(widthMicros)
    const originMicros = toBigInt(origin)
    bucket = originMicros + floorDivide(shifted - originMicros, width) * width
  }
  bucket += toBigInt(offset)
  return isDate ? microsToDateText(bucket) : bucket
}

function bucketAdd(bucket: SqliteValue, widthMicros: SqliteValue, widthMonths: SqliteValue, offset: SqliteValue): SqliteValue {
  if (bucket === null) return null
  const micros = toBigInt(bucket)
  const months = toBigInt(widthMonths)
  if (months === 0n) return micros + toBigInt(widthMicros)
  const start = micros - toBigInt(offset)
  const timeOfMonth = start - monthStartMicros(epochMonths(start))
  return monthStartMicros(epochMonths(start) + months) + timeOfMonth + toBigInt(offset)
}

/** Orders the `by` values of first/last: numbers and bigints numerically, texts (DATE) as text. */
function before(left: SqliteValue, right: SqliteValue): boolean {
  if (typeof left === 'string' && typeof right === 'string') return left < right
  return (left as number | bigint) < (right as number | bigint)
}

interface ArgState {
  found: boolean
  value: SqliteValue
  by: SqliteValue
}

// better-sqlite3's typings allow one step argument; the functions below take what SQLite passes.
type Aggregate = BetterSqlite3.AggregateOptions

function argAggregate(smallest: boolean): Aggregate {
  return {
    start: (): ArgState => ({ found: false, value: null, by: null }),
    step: (state: ArgState, value: SqliteValue, by: SqliteValue): ArgState => {
      if (value === null || by === null) return state
      if (!state.found || (smallest ? before(by, state.by) : before(state.by, by))) {
        state.found = true
        state.value = value
        state.by = by
      }
      return state
    },
    result: (state: ArgState): SqliteValue => state.value,
    safeIntegers: true,
    deterministic: true,
  } as unknown as Aggregate
}

interface LocfState {
  readonly values: SqliteValue[]
  head: number
}

/** Registers the time-series functions on one connection (each connection needs its own). */
export function registerTimeSeriesFunctions(database: BetterSqlite3.Database): void {
  database.function('strata_time_bucket', { deterministic: true, safeIntegers: true }, timeBucket as (...args: unknown[]) => unknown)
  database.function('strata_bucket_add', { deterministic: true, safeIntegers: true }, bucketAdd as (...args: unknown[]) => unknown)
  database.aggregate('strata_first', argAggregate(true))
  database.aggregate('strata_last', argAggregate(false))
  database.aggregate('strata_locf', {
    start: (): LocfState => ({ values: [], head: 0 }),
    step: (state: LocfState, value: SqliteValue): LocfState => {
      state.values.push(value)
      return state
    },
    // Frames that drop rows from the front (not the one gapfill uses) keep working.
    inverse: (state: LocfState): LocfState => {
      state.head++
      return state
    },
    result: (state: LocfState): SqliteValue => {
      for (let index = state.values.length - 1; index >= state.head; index--) {
        const value = state.values[index]!
        if (value !== null) return value
      }
      return null
    },
    safeIntegers: true,
  } as unknown as Aggregate)
}
