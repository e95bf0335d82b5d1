/**
 * Timestamps with microseconds. Both stores keep TIMESTAMP/TIMESTAMPTZ as microseconds since the
 * Unix epoch (UTC); results are JS Dates (SPEC 3), which hold milliseconds. A value whose
 * sub-millisecond digits are not zero comes back as a {@link Timestamp}: a Date (every Date method
 * works and sees the millisecond) that also carries the exact microseconds. A whole-millisecond value
 * stays a plain Date, so `new Date(…)` compares equal to it.
 */

/**
 * A Date with microseconds: `micros` is exact, the Date part is `micros` rounded down to the
 * millisecond. Treat it as immutable: after a Date setter changes it, {@link dateMicros} no longer
 * trusts `micros` and falls back to the milliseconds. (`structuredClone` makes a plain Date.)
 *
 * @example
 * const at = new Timestamp(1_704_164_645_123_456n)
 * at.toISOString()        // '2024-01-02T03:04:05.123Z' (a Date's own form)
 * isoTimestamp(at)        // '2024-01-02T03:04:05.123456Z'
 */
export class Timestamp extends Date {
  /** Microseconds since the Unix epoch (UTC). */
  readonly micros: bigint

  constructor(micros: bigint) {
    super(Number(floorDivide(micros, 1000n)))
    this.micros = micros
  }
}

function floorDivide(value: bigint, divisor: bigint): bigint {
  const quotient = value / divisor
  return value % divisor < 0n ? quotient - 1n : quotient
}

/**
 * Microseconds since the epoch → the result value: a plain Date for a whole millisecond, else a
 * {@link Timestamp}. Numbers must be integers (the row store's INTEGER storage).
 *
 * @example
 * dateFromMicros(1_000n)  // a Date at 1970-01-01T00:00:00.001Z
 * dateFromMicros(1_001n)  // a Timestamp with micros 1001n
 */
export function dateFromMicros(micros: bigint | number): Date {
  if (typeof micros === 'number') {
    // Micros of any Date-representable instant fit a double exactly; the common case needs no bigint.
    if (micros % 1000 === 0) return new Date(micros / 1000)
    return new Timestamp(BigInt(micros))
  }
  if (micros % 1000n === 0n) return new Date(Number(micros / 1000n))
  return new Timestamp(micros)
}

/**
 * A Date's instant in microseconds: a {@link Timestamp}'s own (unless a setter moved its Date part
 * since), any other Date's milliseconds × 1000.
 *
 * @example dateMicros(new Date(1)) // 1000n
 */
export function dateMicros(value: Date): bigint {
  const milliseconds = BigInt(value.getTime())
  if (value instanceof Timestamp && floorDivide(value.micros, 1000n) === milliseconds) return value.micros
  return milliseconds * 1000n
}

/**
 * {@link dateMicros} as a number when it is a safe integer (an instant of 1685–2255), with no bigint
 * made for a plain Date (an event's time, pushed by the thousand); undefined otherwise.
 *
 * @example dateMicrosNumber(new Date(1)) // 1000
 */
export function dateMicrosNumber(value: Date): number | undefined {
  if (value instanceof Timestamp) {
    const micros = Number(dateMicros(value))
    return Number.isSafeInteger(micros) ? micros : undefined
  }
  const micros = value.getTime() * 1000
  return Number.isSafeInteger(micros) ? micros : undefined
}

/**
 * The microsecond of the second (0–999999) of a valid Date: what follows the seconds when printed.
 *
 * @example microsOfSecond(new Timestamp(1_500_001n)) // 500001
 */
export function microsOfSecond(value: Date): number {
  const micros = dateMicros(value)
  return Number(((micros % 1_000_000n) + 1_000_000n) % 1_000_000n)
}

/**
 * ISO 8601 in UTC with six fractional digits, as the CLI's JSON and the HTTP API print timestamps.
 * An invalid Date (which toISOString throws on) prints as `Invalid Date`.
 *
 * @example
 * isoTimestamp(new Date('2024-01-01T10:00:00.5Z'))  // '2024-01-01T10:00:00.500000Z'
 * isoTimestamp(new Timestamp(1_704_164_645_123_456n)) // '2024-01-02T03:04:05.123456Z'
 */
export function isoTimestamp(value: Date): string {
  if (Number.isNaN(value.getTime())) return 'Invalid Date'
  const iso = value.toISOString()
  // toISOString always ends in '.sssZ'; replacing that keeps the extended-year form (+010000-…) intact.
  return `${iso.slice(0, -5)}.${String(microsOfSecond(value)).padStart(6, '0')}Z`
}
