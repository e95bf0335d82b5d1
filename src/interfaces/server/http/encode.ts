/**
 * Result values as JSON, the same way in every response of the HTTP API (JSON, NDJSON, GET /results)
 * and in the files results are persisted from. JSON has no dates, bigints or bytes, so:
 *
 * - TIMESTAMP / TIMESTAMPTZ → ISO 8601 in UTC with six fractional digits (`2024-01-01T10:00:00.123456Z`;
 *   a result's Date is a `Timestamp` with the microseconds when it has any), as `strata sql --format json` prints;
 * - DATE → `'YYYY-MM-DD'` (the library's own form);
 * - BIGINT / HUGEINT → a number when it fits a double exactly (|v| ≤ 2^53 − 1), else a decimal string;
 * - BLOB → base64 (RFC 4648, with padding): a third smaller than hex, and every JSON client decodes it;
 * - DOUBLE NaN / ±Infinity → the strings `'NaN'`, `'Infinity'`, `'-Infinity'` (PostgreSQL's to_json does the same);
 * - JSON columns → the JSON value itself; lists and structs → arrays and objects, members encoded alike.
 */
import { isoTimestamp } from '../../../util/timestamp.js'

/**
 * One value as something `JSON.stringify` renders faithfully.
 *
 * @example
 * encodeValue(2n ** 60n)                          // '1152921504606846976'
 * encodeValue(new Uint8Array([1, 2, 3]))          // 'AQID'
 * encodeValue(new Date('2024-01-01T10:00:00Z'))   // '2024-01-01T10:00:00.000000Z'
 */
export function encodeValue(value: unknown): unknown {
  if (value === null || value === undefined) return null
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value
    case 'number':
      return Number.isFinite(value) ? value : String(value)
    case 'bigint':
      return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString()
    default:
      break
  }
  if (value instanceof Date) return encodeTimestamp(value)
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64')
  if (Array.isArray(value)) return value.map(encodeValue)
  if (typeof value === 'object') {
    const encoded: Record<string, unknown> = {}
    for (const [key, member] of Object.entries(value)) encoded[key] = encodeValue(member)
    return encoded
  }
  return String(value)
}

/**
 * ISO 8601 with microseconds. An invalid Date (which toISOString would throw on) is printed as such
 * rather than losing the whole response.
 *
 * @example
 * encodeTimestamp(new Date(0)) // '1970-01-01T00:00:00.000000Z'
 */
export function encodeTimestamp(value: Date): string {
  return isoTimestamp(value)
}

/**
 * A row (an object keyed by column name, as the engine returns it) as a JSON array in column order.
 *
 * @example
 * encodeRow({ id: 1, at: new Date(0) }, ['id', 'at']) // '[1,"1970-01-01T00:00:00.000000Z"]'
 */
export function encodeRow(row: Readonly<Record<string, unknown>>, columnNames: readonly string[]): string {
  const values: unknown[] = new Array(columnNames.length)
  for (let index = 0; index < columnNames.length; index++) values[index] = encodeValue(row[columnNames[index]!])
  return JSON.stringify(values)
}
