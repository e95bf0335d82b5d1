/** How values and column types look in the console. */

/** A cell's text: NULL spelled out, objects (JSON values) as JSON, everything else as JSON carried it. */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined) return 'NULL'
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value)
  return JSON.stringify(value)
}

/**
 * A cell's text given its column's type: a DECIMAL keeps its scale (`99` in DECIMAL(10,2) shows
 * `99.00`). The server sends a DECIMAL as a number only when that number spells the value exactly
 * (else as a string with the exact digits), so padding the number's own digits is exact.
 */
export function formatCell(value: unknown, type: string): string {
  const scale = decimalScale(type)
  if (scale === undefined || typeof value !== 'number' || !Number.isFinite(value)) return formatValue(value)
  const text = String(value)
  if (text.includes('e')) return value.toFixed(Math.min(scale, 100))
  const [whole = '0', fraction = ''] = text.split('.')
  if (fraction.length > scale) return text
  return scale === 0 ? whole : `${whole}.${fraction.padEnd(scale, '0')}`
}

/** The scale of a `DECIMAL(p,s)` type label, else undefined (a type name, not SQL). */
function decimalScale(type: string): number | undefined {
  const match = /^(?:DECIMAL|NUMERIC)\s*\(\s*\d+\s*(?:,\s*(\d+)\s*)?\)$/i.exec(type.trim())
  if (match === null) return undefined
  return match[1] === undefined ? 0 : Number(match[1])
}

const numericTypes = /^(TINYINT|SMALLINT|INTEGER|INT|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|REAL|FLOAT|DOUBLE|DECIMAL|NUMERIC)\b/i
const temporalTypes = /^(DATE|TIMESTAMP|TIMESTAMPTZ|TIMESTAMP WITH TIME ZONE)\b/i

/** Numbers are right-aligned and can be a chart's y. */
export function isNumericType(type: string): boolean {
  return numericTypes.test(type.trim())
}

/** Dates and timestamps make a time axis. */
export function isTemporalType(type: string): boolean {
  return temporalTypes.test(type.trim())
}

/** Milliseconds as people read them: 0.42 ms, 12.3 ms, 1.25 s. */
export function formatDuration(milliseconds: number): string {
  if (milliseconds < 1) return `${milliseconds.toFixed(2)} ms`
  if (milliseconds < 100) return `${milliseconds.toFixed(1)} ms`
  if (milliseconds < 1000) return `${Math.round(milliseconds)} ms`
  return `${(milliseconds / 1000).toFixed(2)} s`
}

/** A SQL identifier, quoted when it is not a plain lower-case name. */
export function quoteIdentifier(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`
}

/** What the store names mean to a person. */
export function describeEngine(engine: string): string {
  switch (engine) {
    case 'row':
      return 'row store (SQLite)'
    case 'column':
      return 'column store (DuckDB)'
    case 'catalog':
      return 'catalog'
    case '':
      return 'unknown store'
    default:
      return engine
  }
}
