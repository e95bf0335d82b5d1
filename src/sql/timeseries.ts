/**
 * Time-series functions (SPEC 7): `time_bucket(interval, ts[, origin | offset])`, `first(v, ts)` /
 * `last(v, ts)` (TimescaleDB's: the value at the smallest / largest ts) and gap-free downsampling
 * with `time_bucket_gapfill` and `locf` (see gapfill.ts). Pure: no I/O.
 *
 * For the column store the statement's text is edited at tree locations (`timeSeriesEdits`), because
 * DuckDB has `time_bucket` but no two-argument `first`/`last`: those become `arg_min`/`arg_max`.
 * For the row store, rowgroup.ts compiles the same calls to SQLite user functions that the row-store
 * adapter registers (`strata_time_bucket`, `strata_first`, `strata_last`), computing DuckDB's buckets.
 */
import { StrataError } from '../util/errors.js'
import type { TextEdit } from './edits.js'
import { gapfillEdits, gapfillFunctionName, locfFunctionName } from './gapfill.js'
import type { ParsedStatement, PgNode } from './parse.js'
import { isKeyword, StatementSpans } from './spans.js'
import { constantValue, list, names, nodeBody, nodeKind, walk } from './tree.js'

/** SQLite user functions the row store registers (storage/rowstore/timeseries-functions.ts). */
export const sqliteFunctionNames = {
  timeBucket: 'strata_time_bucket',
  first: 'strata_first',
  last: 'strata_last',
} as const

/** DuckDB's default origins (TimescaleDB's): 2000-01-03 (a Monday) for sub-month widths, 2000-01 for months. */
export const defaultOriginMicros = 10_959n * 86_400_000_000n
export const defaultOriginMonths = 360

const microsPerDay = 86_400_000_000n

/** An INTERVAL value as DuckDB holds it (months, days, micros), all exact. */
export interface IntervalValue {
  readonly months: bigint
  readonly days: bigint
  readonly micros: bigint
}

/** A time_bucket width: either a whole number of months or a number of microseconds (never both). */
export type BucketWidth = { readonly unit: 'months'; readonly months: number } | { readonly unit: 'micros'; readonly micros: bigint }

const microUnits: Readonly<Record<string, bigint>> = {
  microsecond: 1n, microseconds: 1n, us: 1n, usec: 1n, usecs: 1n,
  millisecond: 1000n, milliseconds: 1000n, ms: 1000n, msec: 1000n, msecs: 1000n,
  second: 1_000_000n, seconds: 1_000_000n, s: 1_000_000n, sec: 1_000_000n, secs: 1_000_000n,
  minute: 60_000_000n, minutes: 60_000_000n, m: 60_000_000n, min: 60_000_000n, mins: 60_000_000n,
  hour: 3_600_000_000n, hours: 3_600_000_000n, h: 3_600_000_000n, hr: 3_600_000_000n, hrs: 3_600_000_000n,
}
const dayUnits: Readonly<Record<string, bigint>> = { day: 1n, days: 1n, d: 1n, week: 7n, weeks: 7n, w: 7n }
const monthUnits: Readonly<Record<string, bigint>> = {
  month: 1n, months: 1n, mon: 1n, mons: 1n,
  quarter: 3n, quarters: 3n,
  year: 12n, years: 12n, y: 12n, yr: 12n, yrs: 12n,
  decade: 120n, decades: 120n,
  century: 1200n, centuries: 1200n,
}

/**
 * Parses an interval text the way DuckDB does, for the forms whose meaning is certain:
 * terms like `5 minutes`, `1 hour 30 min`, `-2 days`, `1.5 hours`, `2 weeks`, `3 months`, and a
 * clock `01:30:00`. Returns undefined for anything else (the caller refuses it rather than guess):
 * a fraction that does not come out in whole microseconds (or whole months), `ago`, ISO 8601, …
 *
 * @example
 * parseIntervalText('1 hour 30 minutes') // → { months: 0n, days: 0n, micros: 5_400_000_000n }
 */
export function parseIntervalText(text: string): IntervalValue | undefined {
  // Value parsing (not SQL parsing): a small hand-written scanner over the literal's characters.
  let months = 0n
  let days = 0n
  let micros = 0n
  let index = 0
  let terms = 0
  const isDigit = (char: string | undefined): boolean => char !== undefined && char >= '0' && char <= '9'
  const isLetter = (char: string | undefined): boolean => char !== undefined && /[a-z]/i.test(char)
  const skipSpaces = (): void => {
    while (index < text.length && (text[index] === ' ' || text[index] === '\t')) index++
  }
  const readUnsigned = (): { digits: bigint; scale: bigint } | undefined => {
    const start = index
    while (isDigit(text[index])) index++
    let whole = text.slice(start, index)
    let fraction = ''
    if (text[index] === '.') {
      index++
      const fractionStart = index
      while (isDigit(text[index])) index++
      fraction = text.slice(fractionStart, index)
    }
    if (whole === '' && fraction === '') return undefined
    if (whole === '') whole = '0'
    return { digits: BigInt(whole + fraction), scale: 10n ** BigInt(fraction.length) }
  }
  while (true) {
    skipSpaces()
    if (index >= text.length) break
    let sign = 1n
    if (text[index] === '-') {
      sign = -1n
      index++
    }
    const number = readUnsigned()
    if (number === undefined) return undefined
    if (text[index] === ':') {
      // A clock: H:MM[:SS[.ffffff]] (hours first).
      if (number.scale !== 1n) return undefined
      let clock = number.digits * 3_600_000_000n
      index++
      const minutes = readUnsigned()
      if (minutes === undefined || minutes.scale !== 1n) return undefined
      clock += minutes.digits * 60_000_000n
      if (text[index] === ':') {
        index++
        const seconds = readUnsigned()
        if (seconds === undefined) return undefined
        const scaled = seconds.digits * 1_000_000n
        if (scaled % seconds.scale !== 0n) return undefined
        clock += scaled / seconds.scale
      }
      micros += sign * clock
      terms++
      continue
    }
    skipSpaces()
    const unitStart = index
    while (isLetter(text[index])) index++
    const unit = text.slice(unitStart, index).toLowerCase()
    if (unit === '') return undefined
    const microUnit = microUnits[unit]
    const dayUnit = dayUnits[unit]
    const monthUnit = monthUnits[unit]
    if (microUnit !== undefined) {
      const scaled = number.digits * microUnit
      if (scaled % number.scale !== 0n) return undefined
      micros += (sign * scaled) / number.scale
    } else if (dayUnit !== undefined) {
      // DuckDB keeps whole days as days and puts a fraction of a day into microseconds.
      const totalMicros = number.digits * dayUnit * microsPerDay
      if (totalMicros % number.scale !== 0n) return undefined
      const exact = totalMicros / number.scale
      days += sign * (exact / microsPerDay)
      micros += sign * (exact % microsPerDay)
    } else if (monthUnit !== undefined) {
      const scaled = number.digits * monthUnit
      if (scaled % number.scale !== 0n) return undefined
      months += (sign * scaled) / number.scale
    } else return undefined
    terms++
  }
  if (terms === 0) return undefined
  return { months, days, micros }
}

/** PostgreSQL's interval field masks on `INTERVAL '5' MINUTE` (typmods). */
const fieldMaskUnits: Readonly<Record<number, { readonly months?: bigint; readonly days?: bigint; readonly micros?: bigint }>> = {
  2: { months: 1n },
  4: { months: 12n },
  8: { days: 1n },
  1024: { micros: 3_600_000_000n },
  2048: { micros: 60_000_000n },
}

/**
 * DuckDB's classification of a time_bucket width (the errors are DuckDB's, with its codes).
 */
export function bucketWidth(interval: IntervalValue): BucketWidth {
  if (interval.months === 0n) {
    const micros = interval.days * microsPerDay + interval.micros
    if (micros <= 0n) throw new StrataError('NOT_SUPPORTED', 'time_bucket: the bucket width (period) must be greater than 0')
    return { unit: 'micros', micros }
  }
  if (interval.days !== 0n || interval.micros !== 0n) {
    throw new StrataError('NOT_SUPPORTED', 'time_bucket: month intervals cannot have a day or time component')
  }
  if (interval.months < 0n) throw new StrataError('NOT_SUPPORTED', 'time_bucket: the bucket width (period) must be greater than 0')
  if (interval.months > 2_147_483_647n) throw new StrataError('NOT_SUPPORTED', 'time_bucket: the bucket width is out of range')
  return { unit: 'months', months: Number(interval.months) }
}

/**
 * The constant interval a node denotes (`INTERVAL '5 minutes'`, `'5 minutes'::interval`,
 * `INTERVAL '5' MINUTE`, or a bare string where an interval is expected); undefined when the node is
 * not such a constant or its text is outside what parseIntervalText is sure about.
 */
export function intervalFromNode(node: unknown, bareStringIsInterval: boolean): { value: IntervalValue; text: string } | 'not-constant' | 'unsupported' {
  let inner = node
  let typmods: unknown[] = []
  const cast = nodeBody(node, 'TypeCast')
  if (cast !== undefined) {
    const typeName = nodeBody({ TypeName: cast['typeName'] }, 'TypeName')!
    const typeNames = names(typeName['names'])
    if (typeNames[typeNames.length - 1]?.toLowerCase() !== 'interval') return 'not-constant'
    typmods = list(typeName['typmods'])
    inner = cast['arg']
  } else if (!bareStringIsInterval) return 'not-constant'
  const constant = nodeBody(inner, 'A_Const')
  if (constant === undefined) return 'not-constant'
  const { value } = constantValue(constant)
  if (typeof value !== 'string') return 'not-constant'
  if (typmods.length > 0) {
    // INTERVAL '90' MINUTE: DuckDB truncates the number to an integer and scales it by the field.
    if (typmods.length !== 1) return 'unsupported'
    const mask = constantValue(nodeBody(typmods[0], 'A_Const') ?? {}).value
    const unit = typeof mask === 'number' ? fieldMaskUnits[mask] : undefined
    const number = Number(value.trim())
    if (unit === undefined || value.trim() === '' || !Number.isFinite(number)) return 'unsupported'
    const count = BigInt(Math.trunc(number))
    return { value: { months: count * (unit.months ?? 0n), days: count * (unit.days ?? 0n), micros: count * (unit.micros ?? 0n) }, text: value }
  }
  const parsed = parseIntervalText(value)
  return parsed === undefined ? 'unsupported' : { value: parsed, text: value }
}

// ───────────────────────────── names ─────────────────────────────

/**
 * An identifier as DuckDB prints it inside a generated column name: bare when it is a plain
 * lower-or-upper-case word that is not a keyword, double-quoted otherwise (`sum("value")`, `min(Up)`).
 */
export function duckdbIdentifier(name: string): string {
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && !isKeyword(name)) return name
  return `"${name.replaceAll('"', '""')}"`
}

/** A column reference as DuckDB prints it (`ts`, `r.ts`, `k."value"`); undefined for anything else. */
export function columnReferenceName(node: unknown): string | undefined {
  const columnRef = nodeBody(node, 'ColumnRef')
  if (columnRef === undefined) return undefined
  const fields = list(columnRef['fields'])
  if (fields.some((field) => nodeKind(field) !== 'String')) return undefined
  return names(fields).map(duckdbIdentifier).join('.')
}

/**
 * The column name of an unaliased `first(v, ts)` / `last(v, ts)` on both stores: `first(v, ts)`.
 * The column store would otherwise name it after the `arg_min` it is rewritten to.
 */
export function firstLastColumnName(functionName: 'first' | 'last', args: readonly unknown[]): string | undefined {
  const rendered = args.map(columnReferenceName)
  if (rendered.some((item) => item === undefined)) return undefined
  return `${functionName}(${rendered.join(', ')})`
}

/** `first` / `last` with two arguments and nothing DuckDB's arg_min/arg_max would not take. */
export function firstLastCall(node: unknown): { readonly name: 'first' | 'last'; readonly body: PgNode } | undefined {
  const body = nodeBody(node, 'FuncCall')
  if (body === undefined) return undefined
  const name = names(body['funcname'])
  if (name.length !== 1) return undefined
  const simple = name[0]!.toLowerCase()
  if ((simple !== 'first' && simple !== 'last') || list(body['args']).length !== 2) return undefined
  return { name: simple, body }
}

// ───────────────────────────── column-store rewrite ─────────────────────────────

const interestingFunctions = new Set(['first', 'last', gapfillFunctionName, locfFunctionName])

/**
 * Text edits that make a SELECT's time-series calls run on DuckDB: `first(v, ts)` → `arg_min(v, ts)`,
 * `last(v, ts)` → `arg_max(v, ts)` (an unaliased one keeps the name `first(v, ts)`), and a
 * `time_bucket_gapfill` query wrapped so every bucket in its range appears (gapfill.ts). Pure; the
 * edits are at tree locations, to be applied with `applyEdits` together with any other rewrite's.
 *
 * @example
 * const [statement] = parseStatements('SELECT last(v, ts) FROM r')
 * applyEdits(statement, timeSeriesEdits(statement)) // → 'SELECT arg_max(v, ts) AS "last(v, ts)" FROM r'
 */
export function timeSeriesEdits(statement: Pick<ParsedStatement, 'tree' | 'text' | 'locationBase'> & Partial<Pick<ParsedStatement, 'tokens'>>): TextEdit[] {
  const tree = statement.tree
  if (tree === undefined) return []
  let relevant = false
  walk(tree, (kind, body) => {
    if (kind === 'FuncCall') {
      const name = names(body['funcname'])
      if (name.length === 1 && interestingFunctions.has(name[0]!.toLowerCase())) relevant = true
    }
    return !relevant
  })
  if (!relevant) return []
  const spans = new StatementSpans(statement)
  const edits: TextEdit[] = []
  // Unaliased first/last directly in a select list get a name that does not mention arg_min.
  const directTargets = new Map<PgNode, string>()
  walk(tree, (kind, body) => {
    if (kind !== 'ResTarget' || typeof body['name'] === 'string') return
    const call = firstLastCall(body['val'])
    if (call === undefined || call.body['agg_filter'] !== undefined || call.body['over'] !== undefined) return
    const name = firstLastColumnName(call.name, list(call.body['args']))
    if (name !== undefined) directTargets.set(call.body, name)
  })
  walk(tree, (kind, body) => {
    if (kind !== 'FuncCall') return
    const call = firstLastCall({ FuncCall: body })
    if (call === undefined) return
    const span = spans.call(Number(body['location']))
    if (span === undefined) throw new StrataError('NOT_SUPPORTED', `${call.name}(value, time) written in a form Strata cannot rewrite`)
    edits.push({ location: span.name.location, length: span.name.end - span.name.location, text: call.name === 'first' ? 'arg_min' : 'arg_max' })
    const alias = directTargets.get(body)
    if (alias !== undefined) edits.push({ location: span.call.end, length: 0, text: ` AS "${alias.replaceAll('"', '""')}"` })
  })
  edits.push(...gapfillEdits(tree, spans))
  return edits
}
