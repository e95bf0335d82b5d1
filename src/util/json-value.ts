/**
 * A value as a query returns it, as it stands in a JSON document Strata writes (change messages,
 * merge conflicts): timestamps in ISO 8601 with microseconds, integers beyond 2^53 as text, bytes in
 * base64, everything else as JSON has it.
 */
import { isoTimestamp } from './timestamp.js'

export function jsonValue(value: unknown): unknown {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : isoTimestamp(value)
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString()
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64')
  return value === undefined ? null : value
}
