/** Intervals as streaming shows them (SHOW SOURCES, EXPLAIN STREAM). */

/**
 * An interval of microseconds as DuckDB prints one: `00:00:05`, `00:00:00.25`, `2 days 01:00:00`.
 *
 * @example formatMicros(5_000_000) // '00:00:05'
 */
export function formatMicros(micros: number): string {
  const dayUs = 86_400_000_000
  const days = Math.floor(micros / dayUs)
  let rest = micros - days * dayUs
  const hours = Math.floor(rest / 3_600_000_000)
  rest -= hours * 3_600_000_000
  const minutes = Math.floor(rest / 60_000_000)
  rest -= minutes * 60_000_000
  const seconds = Math.floor(rest / 1_000_000)
  const fraction = rest - seconds * 1_000_000
  const pad = (value: number): string => String(value).padStart(2, '0')
  const clock = `${pad(hours)}:${pad(minutes)}:${pad(seconds)}${fraction === 0 ? '' : `.${String(fraction).padStart(6, '0').replace(/0+$/, '')}`}`
  return days === 0 ? clock : `${days} day${days === 1 ? '' : 's'} ${clock}`
}
