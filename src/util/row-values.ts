/**
 * Row-store values (as better-sqlite3 returns them with `bigints: true`) compared and named: whether
 * two cells hold the same value, a key's identity for a JavaScript map, and a key as the row store's
 * keyed writes take it (a JSON array, bytes as hex: `keyParts` in src/sql/rowsql.ts).
 */

/** A row-store value: what SQLite holds. */
type Stored = null | number | bigint | string | Uint8Array

/** Whether two stored values are the same value (an integer read as a bigint equals the same number; NaN equals NaN). */
export function sameStoredValue(a: Stored | undefined, b: Stored | undefined): boolean {
  if (a === b) return true
  if (a === null || b === null || a === undefined || b === undefined) return false
  if (typeof a === 'bigint' || typeof b === 'bigint') {
    if ((typeof a !== 'bigint' && typeof a !== 'number') || (typeof b !== 'bigint' && typeof b !== 'number')) return false
    return typeof a === 'number' ? Number.isInteger(a) && BigInt(a) === b : typeof b === 'number' ? Number.isInteger(b) && BigInt(b) === a : a === b
  }
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.from(a).equals(Buffer.from(b))
  return typeof a === 'number' && typeof b === 'number' && Number.isNaN(a) && Number.isNaN(b)
}

/** Whether two stored rows hold the same values. */
export function sameStoredRow(a: readonly Stored[], b: readonly Stored[]): boolean {
  return a.length === b.length && a.every((value, index) => sameStoredValue(value, b[index]))
}

/** A key's identity as a map key: its values, each with its kind (so 1 and '1' differ, 1n and 1 do not). */
export function storedKeyId(values: readonly (Stored | undefined)[]): string {
  return values
    .map((value) => {
      if (typeof value === 'bigint') return `${value}n`
      if (typeof value === 'number' && Number.isInteger(value)) return `${value}n`
      if (value instanceof Uint8Array) return `x${Buffer.from(value).toString('hex')}`
      return JSON.stringify(value ?? null)
    })
    .join('|')
}

/** A key as the row store's keyed UPDATE and DELETE take it: a JSON array of its values, bytes as hex. */
export function keyTextOfValues(values: readonly (Stored | undefined)[]): string {
  return `[${values
    .map((value) => {
      if (typeof value === 'bigint') return value.toString()
      if (value instanceof Uint8Array) return JSON.stringify(Buffer.from(value).toString('hex'))
      return JSON.stringify(value ?? null)
    })
    .join(',')}]`
}
