/**
 * SQLite user functions for arithmetic that fails where DuckDB's does or SQLite cannot follow. SQLite
 * computes in 64 bits (and turns a 64-bit overflow into a REAL); DuckDB computes SMALLINT with
 * SMALLINT as SMALLINT, INTEGER as INTEGER, BIGINT as BIGINT, and fails with "Overflow in
 * multiplication of INT16 (32767 * 2)!". The row-store compiler emits these for the values of SET
 * (src/sql/rowsql.ts); conditions with arithmetic run on the column store.
 *
 * - `strata_int_add(a, b, bits)`, `strata_int_subtract(a, b, bits)`, `strata_int_multiply(a, b, bits)`:
 *   a op b, NULL if either is NULL, TYPE_MISMATCH when the result does not fit a signed `bits`-bit integer.
 * - `strata_real_add(a, b)`, `strata_real_subtract(a, b)`, `strata_real_multiply(a, b)`: DOUBLE a op b
 *   (±Infinity as DuckDB gives it), NOT_SUPPORTED when it is NaN (∞ − ∞, 0 × ∞): SQLite would turn
 *   NaN into NULL, DuckDB keeps NaN, and the row store cannot store one.
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

function checkedReal(operation: string, compute: (left: number, right: number) => number): (a: SqliteValue, b: SqliteValue) => number | null {
  return (a, b) => {
    if (a === null || b === null) return null
    const result = compute(Number(a), Number(b))
    if (Number.isNaN(result)) throw new StrataError('NOT_SUPPORTED', `row store: the ${operation} of ${String(a)} and ${String(b)} is NaN, which the row store cannot store (it would keep NULL)`)
    return result
  }
}

export function registerArithmeticFunctions(database: BetterSqlite3.Database): void {
  const options = { deterministic: true, safeIntegers: true }
  database.function('strata_int_add', options, checked('addition', '+', (left, right) => left + right) as (...args: unknown[]) => unknown)
  database.function('strata_int_subtract', options, checked('subtraction', '-', (left, right) => left - right) as (...args: unknown[]) => unknown)
  database.function('strata_int_multiply', options, checked('multiplication', '*', (left, right) => left * right) as (...args: unknown[]) => unknown)
  database.function('strata_real_add', { deterministic: true }, checkedReal('sum', (left, right) => left + right) as (...args: unknown[]) => unknown)
  database.function('strata_real_subtract', { deterministic: true }, checkedReal('difference', (left, right) => left - right) as (...args: unknown[]) => unknown)
  database.function('strata_real_multiply', { deterministic: true }, checkedReal('product', (left, right) => left * right) as (...args: unknown[]) => unknown)
}
