/**
 * Integer variants: a text that differs from an already parsed one only in its integer constants
 * gets that statement's tree with the new values, without a parse.
 *
 * Clients that write their values into the text (pgbench's simple protocol, ORMs that inline ids)
 * send one statement shape with new integers each time. Every text is new, so caches keyed by the text
 * miss, and the parse — libpg_query in WebAssembly, then its JSON answer read — was a third of a point
 * read's work over the PostgreSQL protocol. `integerShape` notes where a parsed statement's integer
 * constants stand in its text; `integerVariant` takes a text equal to that one everywhere but inside
 * those digit runs and builds the tree PostgreSQL's parser gives it: the same tree with the new
 * values, each location after a constant moved by the change in that constant's length.
 *
 * Why that is the parser's answer. A site is a run of ASCII decimal digits where the parser put an
 * integer A_Const (at the run's first digit, or at a '-' right before it, which the grammar folds into
 * the constant) holding the run's value. PostgreSQL's scanner reads such a run as one ICONST token
 * whatever its digits are, provided that
 * - the characters around it are the same and none of them can join it: a letter, digit, '_', '.',
 *   '$' or non-ASCII character next to it could ("0x1F", "1_000", "1.5", "1e5", "$1", "t1"), so a site
 *   needs other neighbours, in the shape's text (the variant's are the same characters);
 * - its value fits 32 bits (a longer one is a FCONST, a decimal), and it has no leading zero (kept
 *   simple: such a run is read as another text, not as a variant).
 * So the variant's tokens are the shape's but for ICONST values. The grammar decides on token kinds;
 * a rule that builds an A_Const at an ICONST's location carries the value into it and nowhere else
 * (rules that use an integer otherwise — `float(53)` picks a type — build no A_Const at it, so their
 * digits are no site and must stay as they were). Shapes are made only for SELECT, INSERT, UPDATE and
 * DELETE the parser accepted whole. Nothing here reads SQL: only digits, at places the parser marked.
 * `test/variants.test.ts` checks variants against the parser's own trees.
 *
 * Pure: no I/O.
 */
import { checkStatementLimits, sliceTokenSource, tokenSource, type ParsedStatement, type PgNode } from './parse.js'

/** One integer constant of a shape: where its digits stand in the shape's text. */
interface Site {
  /** The A_Const's location: the first digit, or the '-' before it. */
  readonly location: number
  /** The first digit and the position after the last one. */
  readonly start: number
  readonly end: number
  /** The constant is the run's value negated (a '-' the grammar folded in). */
  readonly negative: boolean
}

/** A parsed statement and where its integer constants stand in its text. */
export interface IntegerShape {
  /** The whole text the statement was split from. */
  readonly sql: string
  readonly statement: ParsedStatement
  /** In text order; never empty. */
  readonly sites: readonly Site[]
}

/** The statement kinds that get shapes: those whose integers are values (DDL's are type modifiers and options). */
const shapeKinds: ReadonlySet<string> = new Set(['SelectStmt', 'InsertStmt', 'UpdateStmt', 'DeleteStmt'])

/** The largest ICONST: a longer run of digits is a FCONST (PostgreSQL's process_integer_literal). */
const integerMax = 2_147_483_647

/**
 * A hash of the text with each run of ASCII digits taken as one digit (FNV-1a): equal for a text and
 * its integer variants, so shapes can be looked up by it. Only a key: `integerVariant` checks the
 * rest. A number, not the text cut down, so that a lookup builds no string.
 *
 * @example variantKey('SELECT a FROM t1 WHERE id = 42') === variantKey('SELECT a FROM t7 WHERE id = 5') // true
 */
export function variantKey(sql: string): number {
  let hash = 0x811c9dc5
  let inDigits = false
  for (let index = 0; index < sql.length; index++) {
    const code = sql.charCodeAt(index)
    if (isDigit(code)) {
      if (inDigits) continue
      inDigits = true
      hash = Math.imul(hash ^ 0x30, 0x01000193)
    } else {
      inDigits = false
      hash = Math.imul(hash ^ code, 0x01000193)
    }
  }
  return hash
}

/**
 * The shape of `statement`, the only statement split from `sql`, when it has integer sites
 * (undefined otherwise: nothing to vary, not a parsed SELECT/INSERT/UPDATE/DELETE, …).
 *
 * @example integerShape(sql, parseStatements(sql)[0]!) // for sql = 'SELECT a FROM t WHERE id = 42'
 */
export function integerShape(sql: string, statement: ParsedStatement): IntegerShape | undefined {
  const tree = statement.tree
  // Trees of a text that did not parse whole have locations relative to their piece (locationBase 0).
  if (tree === undefined || statement.parseError !== undefined || statement.locationBase !== statement.offset) return undefined
  const kind = Object.keys(tree)[0]
  if (kind === undefined || !shapeKinds.has(kind)) return undefined
  const sites: Site[] = []
  collectSites(tree, sql, sites)
  if (sites.length === 0) return undefined
  sites.sort((left, right) => left.start - right.start)
  return { sql, statement, sites }
}

function collectSites(node: unknown, sql: string, sites: Site[]): void {
  if (Array.isArray(node)) {
    for (const item of node) collectSites(item, sql, sites)
    return
  }
  if (typeof node !== 'object' || node === null) return
  for (const key in node) {
    const value = (node as PgNode)[key]
    if (key === 'A_Const') {
      const site = siteOf(value as PgNode, sql)
      // One token is one site, even if the grammar had put its constant in two places.
      if (site !== undefined && !sites.some((known) => known.location === site.location)) sites.push(site)
    } else collectSites(value, sql, sites)
  }
}

/** The site of an A_Const, when it is an integer whose digits stand alone at its location. */
function siteOf(constant: PgNode, sql: string): Site | undefined {
  const ival = constant['ival'] as PgNode | undefined
  const location = constant['location']
  if (ival === undefined || typeof location !== 'number' || location < 0) return undefined
  const value = typeof ival['ival'] === 'number' ? ival['ival'] : 0
  const negative = sql.charCodeAt(location) === 0x2d // '-'
  const start = negative ? location + 1 : location
  let end = start
  while (end < sql.length && isDigit(sql.charCodeAt(end))) end++
  const digits = integerOf(sql, start, end)
  if (digits === undefined || (negative ? -digits : digits) !== value) return undefined
  // The neighbours must not be able to join the run (before a '-', anything: the '-' is its own token).
  if (!negative && start > 0 && joins(sql.charCodeAt(start - 1))) return undefined
  if (end < sql.length && joins(sql.charCodeAt(end))) return undefined
  return { location, start, end, negative }
}

/**
 * `sql` as an integer variant of `shape`: its one statement, with the tree PostgreSQL's parser gives
 * it, or undefined when `sql` differs from the shape's text anywhere but in the digits of its sites
 * (or a site's new digits are not an ICONST the shape's way: too large, a leading zero). Throws what
 * the parse would for a text past `limits.statementLengthMax` (LIMIT_EXCEEDED).
 *
 * @example integerVariant(shape, 'SELECT a FROM t WHERE id = 7')?.tree // the shape's tree with 7 for 42
 */
export function integerVariant(shape: IntegerShape, sql: string): ParsedStatement | undefined {
  const original = shape.sql
  const sites = shape.sites
  const values: number[] = []
  /** Per site, how far the positions after it move. */
  const shifts: number[] = []
  let position = 0
  let copied = 0
  let shift = 0
  for (const site of sites) {
    const same = site.start - copied
    if (!sameText(sql, position, original, copied, same)) return undefined
    position += same
    let end = position
    while (end < sql.length && isDigit(sql.charCodeAt(end))) end++
    const digits = integerOf(sql, position, end)
    if (digits === undefined) return undefined
    values.push(site.negative ? -digits : digits)
    shift += end - position - (site.end - site.start)
    shifts.push(shift)
    position = end
    copied = site.end
  }
  if (sql.length - position !== original.length - copied || !sameText(sql, position, original, copied, original.length - copied)) return undefined
  const statement = shape.statement
  const text = sql.slice(statement.offset, statement.offset + statement.text.length + shift)
  const tokens = tokenSource(sql)
  // The same bounds as a parse checks: the tokens and nesting are the shape's, the length is new.
  checkStatementLimits(sql, tokens)
  const tree = rebuild(statement.tree, { sites, values, shifts }) as PgNode
  made++
  return { text, offset: statement.offset, locationBase: statement.offset, tree, parseError: undefined, tokens: sliceTokenSource(tokens, statement.offset, text) }
}

/** Variants made since the process started (`integerVariantsMade`). */
let made = 0

/**
 * How many texts were read as integer variants since the process started, so tests can tell that a
 * path took them.
 *
 * @example
 * const before = integerVariantsMade()
 * integerVariant(shape, 'SELECT a FROM t WHERE id = 7')
 * integerVariantsMade() - before // → 1
 */
export function integerVariantsMade(): number {
  return made
}

interface Substitution {
  readonly sites: readonly Site[]
  readonly values: readonly number[]
  readonly shifts: readonly number[]
}

/**
 * A copy of the shape's tree with the variant's values at its sites and its locations moved. A full
 * copy, sharing nothing: caches keyed by tree nodes must not take one text's entry for another's.
 */
function rebuild(node: unknown, substitution: Substitution): unknown {
  if (typeof node !== 'object' || node === null) return node
  if (Array.isArray(node)) {
    const items: unknown[] = new Array(node.length)
    for (let index = 0; index < node.length; index++) items[index] = rebuild(node[index], substitution)
    return items
  }
  const copy: PgNode = {}
  for (const key in node) {
    const value = (node as PgNode)[key]
    if ((key === 'location' || key === 'name_location') && typeof value === 'number') copy[key] = value < 0 ? value : moved(value, substitution)
    else if (key === 'A_Const') copy[key] = constant(value as PgNode, substitution)
    else copy[key] = rebuild(value, substitution)
  }
  return copy
}

function constant(body: PgNode, substitution: Substitution): PgNode {
  const copy = rebuild(body, substitution) as PgNode
  const location = body['location']
  const index = substitution.sites.findIndex((site) => site.location === location)
  if (index < 0) return copy
  const value = substitution.values[index]!
  // The parser's JSON leaves out zero values (`{ ival: {} }` is 0, and -0 is 0).
  copy['ival'] = value === 0 ? {} : { ival: value }
  return copy
}

/** A location of the shape's text in the variant's: moved by every site that ends at or before it. */
function moved(location: number, substitution: Substitution): number {
  const { sites, shifts } = substitution
  let shift = 0
  for (let index = 0; index < sites.length && sites[index]!.end <= location; index++) shift = shifts[index]!
  return location + shift
}

/** The run's value, when it is an ICONST written plainly: 1 to 10 digits, no leading zero, at most 2^31 - 1. */
function integerOf(sql: string, start: number, end: number): number | undefined {
  const length = end - start
  if (length === 0 || length > 10 || (length > 1 && sql.charCodeAt(start) === 0x30)) return undefined
  let value = 0
  for (let index = start; index < end; index++) value = value * 10 + (sql.charCodeAt(index) - 0x30)
  return value <= integerMax ? value : undefined
}

function sameText(left: string, leftStart: number, right: string, rightStart: number, length: number): boolean {
  if (leftStart + length > left.length) return false
  for (let index = 0; index < length; index++) if (left.charCodeAt(leftStart + index) !== right.charCodeAt(rightStart + index)) return false
  return true
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39
}

/** Characters that could be read as part of a number next to it: letters, digits, '_', '.', '$', anything not ASCII. */
function joins(code: number): boolean {
  return isDigit(code) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || code === 0x5f || code === 0x2e || code === 0x24 || code >= 0x80
}
