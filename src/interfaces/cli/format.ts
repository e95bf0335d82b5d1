/**
 * Turns query results and errors into the text the CLI prints. Pure functions of their input: no I/O,
 * no database, so the shell and `strata sql` print the same thing for the same result.
 */
import Table from 'cli-table3'
import type { EngineName, QueryResult, ResultColumn } from '../api/types.js'
import { decimalLabelScale, scaledText } from '../../util/decimal.js'
import { isoTimestamp } from '../../util/timestamp.js'

/** Output formats of `strata sql --format` and the shell's `.mode`. */
export type OutputFormat = 'table' | 'json' | 'jsonl' | 'csv'

export const outputFormats: readonly OutputFormat[] = ['table', 'json', 'jsonl', 'csv']

/**
 * Whether a word names an output format (for `.mode` and `--format`).
 *
 * @example
 * isOutputFormat('csv')  // true
 * isOutputFormat('xml')  // false
 */
export function isOutputFormat(word: string): word is OutputFormat {
  return (outputFormats as readonly string[]).includes(word)
}

/**
 * ISO 8601 with microseconds, the way PostgreSQL and DuckDB print timestamps (SPEC section 4). A
 * result's Date is a `Timestamp` carrying the microseconds when it has sub-millisecond digits; a plain
 * Date prints its milliseconds followed by 000. An invalid Date prints as `Invalid Date` rather than
 * losing the whole result.
 *
 * @example
 * formatTimestamp(new Date('2024-01-01T10:00:00Z'))        // '2024-01-01T10:00:00.000000Z'
 * formatTimestamp(new Timestamp(1_704_164_645_123_456n))   // '2024-01-02T03:04:05.123456Z'
 */
export function formatTimestamp(value: Date): string {
  return isoTimestamp(value)
}

/**
 * Bytes as PostgreSQL's bytea hex text: a backslash, an x, then two hex digits per byte.
 *
 * @example
 * formatBytes(new Uint8Array([1, 255]))  // '\\x01ff'
 */
export function formatBytes(value: Uint8Array): string {
  let hex = ''
  for (const byte of value) hex += byte.toString(16).padStart(2, '0')
  return `\\x${hex}`
}

/**
 * A result value as something JSON.stringify renders faithfully: Dates as ISO strings with
 * microseconds, bigints as numbers when JS can hold them exactly and as strings otherwise, bytes as
 * hex, and non-finite doubles as strings (JSON has no NaN or Infinity; PostgreSQL's to_json does the same).
 *
 * @example
 * toJsonValue(2n ** 60n)  // '1152921504606846976'
 * toJsonValue(12n)        // 12
 */
export function toJsonValue(value: unknown): unknown {
  if (value === null || value === undefined) return null
  if (value instanceof Date) return formatTimestamp(value)
  if (typeof value === 'bigint') {
    const fitsExactly = value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
    return fitsExactly ? Number(value) : value.toString()
  }
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value)
  if (value instanceof Uint8Array) return formatBytes(value)
  // Lists, structs and JSON columns arrive as arrays and plain objects; their members need the same care.
  if (Array.isArray(value)) return value.map(toJsonValue)
  if (typeof value === 'object') {
    const converted: Record<string, unknown> = {}
    for (const [key, member] of Object.entries(value)) converted[key] = toJsonValue(member)
    return converted
  }
  return value
}

/**
 * One value as the text a table cell or CSV field shows. `nullText` differs by format: tables show
 * NULL, CSV leaves the field empty.
 *
 * @example
 * toDisplayText(true, 'NULL')  // 'true'
 */
export function toDisplayText(value: unknown, nullText: string): string {
  if (value === null || value === undefined) return nullText
  if (typeof value === 'string') return value
  if (value instanceof Date) return formatTimestamp(value)
  if (value instanceof Uint8Array) return formatBytes(value)
  if (typeof value === 'object') return JSON.stringify(toJsonValue(value))
  return String(value)
}

/**
 * Renders a result in one of the output formats. The text ends with a newline unless it is empty.
 * A result without columns (DDL, a write without RETURNING) prints a short status in table format,
 * `[]` in json, and nothing in jsonl and csv, so scripts reading those formats see only rows.
 *
 * @example
 * formatResult(await db.query('SELECT 1 AS n'), 'json')  // '[{"n":1}]\n'
 */
export function formatResult(result: QueryResult, format: OutputFormat): string {
  const columns = resultColumns(result)
  switch (format) {
    case 'table':
      return columns.length === 0 ? `${formatStatus(result)}\n` : formatTable(result, columns)
    case 'json':
      return formatJson(result, columns)
    case 'jsonl':
      return result.rows.map((row) => `${formatJsonObject(row, columns)}\n`).join('')
    case 'csv':
      return columns.length === 0 ? '' : formatCsv(result, columns)
  }
}

/**
 * Whether a result has rows to print (a SELECT, or a write with RETURNING), as opposed to a bare
 * DDL or write, which only has a row count.
 *
 * @example
 * isRowResult(await db.query('SELECT 1'))  // true
 */
export function isRowResult(result: QueryResult): boolean {
  return result.columns.length > 0 || result.rows.length > 0
}

/**
 * A result as plain text, for output meant to be read rather than parsed, such as EXPLAIN's plan:
 * multi-line values keep their line breaks instead of being squeezed into table cells. A one-column
 * result prints its values; a wider one prints `column: value` lines, with a blank line between rows.
 *
 * @example
 * formatPlainText(await db.query("SELECT 'a' AS x"))  // 'a\n'
 */
export function formatPlainText(result: QueryResult): string {
  const columns = resultColumns(result)
  const singleColumn = columns.length === 1
  const blocks = result.rows.map((row) =>
    columns
      .map((column) => {
        const text = toDisplayText(row[column.name], 'NULL')
        if (singleColumn) return text
        // A multi-line value (a drawn plan) starts on its own line so its first row lines up with the rest.
        return text.includes('\n') ? `${column.name}:\n${text}` : `${column.name}: ${text}`
      })
      .join('\n'),
  )
  const text = blocks.join(singleColumn ? '\n' : '\n\n')
  return text === '' || text.endsWith('\n') ? text : `${text}\n`
}

/**
 * What a statement without rows reports: how many rows it changed and the transaction it committed as.
 *
 * @example
 * formatStatus({ rowCount: 2, txId: 7, ... })  // 'OK, 2 rows (tx 7)'
 */
export function formatStatus(result: Pick<QueryResult, 'rowCount' | 'txId'>): string {
  const rowsPart = result.rowCount > 0 ? `, ${pluralRows(result.rowCount)}` : ''
  const transactionPart = result.txId === undefined ? '' : ` (tx ${result.txId})`
  return `OK${rowsPart}${transactionPart}`
}

/**
 * The shell's `.timer on` line: how long the statement took and which store answered it.
 *
 * @example
 * formatTiming({ durationMs: 1.23, engine: 'column' })  // 'Run Time: 1.2 ms (column store)'
 */
export function formatTiming(result: Pick<QueryResult, 'durationMs' | 'engine'>): string {
  return `Run Time: ${result.durationMs.toFixed(1)} ms (${engineDescriptions[result.engine]})`
}

// A Record over EngineName so that a new engine nobody describes fails to compile.
const engineDescriptions: Record<EngineName, string> = {
  row: 'row store',
  column: 'column store',
  remote: 'remote source',
  stream: 'stream',
  catalog: 'catalog',
}

/** The parts of an error the CLI prints; StrataError has them all, anything else has a message at most. */
export interface PrintableError {
  readonly code?: unknown
  readonly message?: unknown
  readonly statement?: unknown
  readonly position?: unknown
}

/**
 * `Error [CODE]: message`, and for an error with a position, the statement's line with a caret under
 * the spot (as psql does), so a syntax error in a long statement is easy to find.
 *
 * @example
 * formatError(new StrataError('UNDEFINED_TABLE', 'table "t" does not exist'))
 * // 'Error [UNDEFINED_TABLE]: table "t" does not exist\n'
 */
export function formatError(error: unknown): string {
  const printable: PrintableError = typeof error === 'object' && error !== null ? error : { message: String(error) }
  // Errors that are not StrataErrors are our bugs or the platform's; INTERNAL is the code for those.
  const code = typeof printable.code === 'string' ? printable.code : 'INTERNAL'
  const message = typeof printable.message === 'string' ? printable.message : String(error)
  let text = `Error [${code}]: ${message}\n`
  if (typeof printable.statement === 'string' && typeof printable.position === 'number') {
    text += formatErrorPointer(printable.statement, printable.position)
  }
  return text
}

/** The line of `statement` holding 1-based character `position`, and a caret under that character. */
function formatErrorPointer(statement: string, position: number): string {
  const offset = position - 1
  if (offset < 0 || offset > statement.length) return ''
  const lineStart = statement.lastIndexOf('\n', offset - 1) + 1
  const lineEndIndex = statement.indexOf('\n', offset)
  const lineEnd = lineEndIndex === -1 ? statement.length : lineEndIndex
  const lineNumber = statement.slice(0, lineStart).split('\n').length
  const prefix = `LINE ${lineNumber}: `
  // Tabs before the caret are copied so the caret lines up however the terminal expands them.
  const padding = Array.from(statement.slice(lineStart, offset), (character) => (character === '\t' ? '\t' : ' ')).join('')
  return `${prefix}${statement.slice(lineStart, lineEnd)}\n${' '.repeat(prefix.length)}${padding}^\n`
}

function pluralRows(count: number): string {
  return count === 1 ? '1 row' : `${count} rows`
}

/**
 * The result's columns; when an engine reports rows but no column list, the first row's keys stand in
 * so that the output never silently drops data.
 */
function resultColumns(result: QueryResult): readonly ResultColumn[] {
  if (result.columns.length > 0) return result.columns
  const firstRow = result.rows[0]
  if (firstRow === undefined) return []
  return Object.keys(firstRow).map((name) => ({ name, type: 'UNKNOWN' }))
}

function formatTable(result: QueryResult, columns: readonly ResultColumn[]): string {
  const table = new Table({
    head: columns.map((column) => column.name),
    // No colours: the output must be the same on a terminal, in a pipe and in a test.
    style: { head: [], border: [], compact: true },
    // Numbers read best right-aligned, as in psql and DuckDB.
    colAligns: columns.map((column) => (decimalLabelScale(column.type) !== undefined || isNumericColumn(result, column.name) ? 'right' : 'left')),
  })
  const scales = columns.map((column) => decimalLabelScale(column.type))
  for (const row of result.rows) {
    table.push(columns.map((column, index) => cellText(row[column.name], scales[index], 'NULL')))
  }
  return `${table.toString()}\n(${pluralRows(result.rows.length)})\n`
}

/** A column is numeric when every value it holds is a number (NULLs do not count either way). */
function isNumericColumn(result: QueryResult, name: string): boolean {
  let sawNumber = false
  for (const row of result.rows) {
    const value = row[name]
    if (value === null || value === undefined) continue
    if (typeof value !== 'number' && typeof value !== 'bigint') return false
    sawNumber = true
  }
  return sawNumber
}

function formatJson(result: QueryResult, columns: readonly ResultColumn[]): string {
  if (result.rows.length === 0) return '[]\n'
  // One row per line keeps the output valid JSON and still readable (and diffable) by a person.
  return `[${result.rows.map((row) => formatJsonObject(row, columns)).join(',\n')}]\n`
}

/**
 * One row as a JSON object, built by hand rather than with JSON.stringify(row): JS objects list
 * integer-like keys (a column named "1") first, and the columns must keep the SELECT list's order.
 */
function formatJsonObject(row: Record<string, unknown>, columns: readonly ResultColumn[]): string {
  const members = columns.map((column) => `${JSON.stringify(column.name)}:${jsonText(row[column.name], decimalLabelScale(column.type))}`)
  return `{${members.join(',')}}`
}

/** A value's JSON text; a DECIMAL is a JSON number with its exact digits and scale (`99.00`). */
function jsonText(value: unknown, scale: number | undefined): string {
  if (scale !== undefined && (typeof value === 'number' || typeof value === 'string' || typeof value === 'bigint')) {
    if (typeof value !== 'number' || Number.isFinite(value)) return scaledText(value, scale)
  }
  return JSON.stringify(toJsonValue(value))
}

/** A table cell's or CSV field's text; a DECIMAL keeps its scale (`99.00`, not `99`). */
function cellText(value: unknown, scale: number | undefined, nullText: string): string {
  if (scale !== undefined && (typeof value === 'number' || typeof value === 'string' || typeof value === 'bigint')) return scaledText(value, scale)
  return toDisplayText(value, nullText)
}

function formatCsv(result: QueryResult, columns: readonly ResultColumn[]): string {
  const lines = [columns.map((column) => quoteCsvField(column.name)).join(',')]
  const scales = columns.map((column) => decimalLabelScale(column.type))
  for (const row of result.rows) {
    lines.push(columns.map((column, index) => formatCsvValue(row[column.name], scales[index])).join(','))
  }
  return `${lines.join('\n')}\n`
}

/**
 * NULL is an empty field and the empty string is `""`, as PostgreSQL's COPY … CSV writes them, so the
 * two stay distinguishable.
 */
function formatCsvValue(value: unknown, scale: number | undefined): string {
  if (value === null || value === undefined) return ''
  const text = cellText(value, scale, '')
  return text === '' ? '""' : quoteCsvField(text)
}

/** RFC 4180: a field with a comma, a double quote or a line break is quoted, with quotes doubled. */
function quoteCsvField(text: string): string {
  const needsQuotes = text.includes(',') || text.includes('"') || text.includes('\n') || text.includes('\r')
  return needsQuotes ? `"${text.replaceAll('"', '""')}"` : text
}
