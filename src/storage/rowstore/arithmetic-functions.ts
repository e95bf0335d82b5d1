/**
 * SQLite user functions for integer arithmetic that fails on overflow as DuckDB's does. SQLite
 * computes in 64 bits (and turns a 64-bit overflow into a REAL); DuckDB computes SMALLINT with
 * SMALLINT as SMALLINT, INTEGER as INTEGER, BIGINT as BIGINT, and fails with "Overflow in
 * multiplication of INT16 (32767 * 2)!". The row-store compiler emits these for the values of SET
 * (src/sql/rowsql.ts); conditions with arithmetic run on the column store.
 *
 * - `strata_int_add(a, b, bits)`, `strata_int_subtract(a, b, bits)`, `strata_int_multiply(a, b, bits)`:
 *   a op b, NULL if either is NULL, TYPE_MISMATCH when the result does not fit a signed `bits`-bit integer.
 *
 * Integers arrive as bigint (safeIntegers), so the check is exact at 64 bits too.
 */
import type BetterSqlite3 from 'better-sqlite3'
import { StrataError } from '../../util/errors.js'

type SqliteValue = null | bigint | number | string | Uint8Array

function integer(value: SqliteValue): bigint {
  if (typeof value === 'bigint') return value
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value)
  throw new StrataError('TYPE_MISMATCH', `row store: integer arithmetic on a non-integer value (${typeof value})`)
}

function checked(operation: string, symbol: string, compute: (left: bigint, right: bigint) => bigint): (a: SqliteValue, b: SqliteValue, bits: SqliteValue) => bigint | null {
  return (a, b, bits) => {
    if (a === null || b === null) return null
    const left = integer(a)
    const right = integer(b)
    const result = compute(left, right)
    const width = integer(bits)
    const bound = 1n << (width - 1n)
    if (result < -bound || result >= bound) throw new StrataError('TYPE_MISMATCH', `row store: Overflow in ${operation} of INT${width} (${left} ${symbol} ${right})!`)
    return result
  }
}

export function registerArithmeticFunctions(database: BetterSqlite3.Database): void {
  const options = { deterministic: true, safeIntegers: true }
  database.function('strata_int_add', options, checked('addition', '+', (left, right) => left + right) as (...args: unknown[]) => unknown)
  database.function('strata_int_subtract', options, checked('subtraction', '-', (left, right) => left - right) as (...args: unknown[]) => unknown)
  database.function('strata_int_multiply', options, checked('multiplication', '*', (left, right) => left * right) as (...args: unknown[]) => unknown)
}
