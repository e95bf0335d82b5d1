/**
 * Time travel in the SQL front end (SPEC 6, docs/time-model.md "Reading the past").
 *
 * PostgreSQL's grammar has no `FOR SYSTEM_TIME`, `FOR VALID_TIME`, `FOR PORTION OF`, statement-level
 * `AS OF … VALID AT …` or `ERASE`. They are recognised here from the real scanner's tokens, cut out of
 * the text (which then parses as ordinary SQL), and handed back with the tree location of the table
 * reference they belong to. The engine turns each temporal table reference into a derived table over
 * the history of the table, in either store, with the period bounds evaluated per execution.
 */
import { deparseStatement } from './deparse.js'
import { assert, AssertionError } from '../util/assert.js'
import { StrataError } from '../util/errors.js'
import { dateMicros } from '../util/timestamp.js'
import { type Catalog, type ColumnDefinition, type TableDefinition } from './catalog.js'
import { openVersionsSql, versionsSql } from './ddl.js'
import { parseTree, scanTokens, tokensOf, type PgNode, type ScanToken, type TokenSource } from './parse.js'
import { constantValue, list, names, nodeBody, nodeKind, quoteIdentifier, walk } from './tree.js'
import { parseIntervalText } from './timeseries.js'
import { parseTimestampMicros } from './types.js'

/** A time expression as written: SQL text, evaluated per execution by {@link evaluateInstant}. */
export interface TimeExpression {
  readonly text: string
  /** 0-based position in the SQL the user wrote. */
  readonly position: number
}

/** One axis of a table reference: SQL:2011's period predicates (SPEC 6). */
export type PeriodSpec =
  | { readonly kind: 'asOf'; readonly at: TimeExpression }
  | { readonly kind: 'fromTo' | 'between'; readonly from: TimeExpression; readonly to: TimeExpression }
  | { readonly kind: 'all' }

/** A missing axis means the default: system time = latest, valid time = now. */
export interface TemporalSpec {
  readonly system?: PeriodSpec
  readonly valid?: PeriodSpec
}

/**
 * What the temporal front end found in one statement, as the time-travel subsystem attaches it
 * (`Statement.clauses`): explicit clauses by the tree location of the table name they follow, the
 * statement's `AS OF` shorthand, FOR PORTION OF, ERASE, INSERT OR REPLACE.
 */
export interface StatementTemporal {
  readonly tableClauses: ReadonlyMap<number, TemporalSpec>
  readonly shorthand: TemporalSpec | undefined
  readonly portion: { readonly from: TimeExpression; readonly to: TimeExpression } | undefined
  readonly erase: boolean
  /** INSERT OR REPLACE (DuckDB's spelling): the new row supersedes what it overlaps. */
  readonly replace: boolean
}

export interface Extraction {
  /** The SQL with every temporal clause removed (ERASE spelled DELETE); it parses as PostgreSQL. */
  readonly text: string
  /** Explicit clauses, by the location (in `text`) of the table name they follow. */
  readonly tableClauses: ReadonlyMap<number, TemporalSpec>
  /** `… AS OF x [VALID AT t]`: the location in `text` where it stood, and what it says. */
  readonly shorthands: readonly { readonly location: number; readonly spec: TemporalSpec }[]
  /** `FOR PORTION OF VALID_TIME FROM a TO b` in UPDATE/DELETE, by location in `text`. */
  readonly portions: readonly { readonly location: number; readonly from: TimeExpression; readonly to: TimeExpression }[]
  /** Locations in `text` of statements written as ERASE FROM (now DELETE FROM). */
  readonly erasures: readonly number[]
  /** Locations in `text` of statements written as INSERT OR REPLACE INTO (now INSERT INTO). */
  readonly replacements: readonly number[]
  /** Where each cut ends in `text`. */
  readonly cutEnds: readonly number[]
  /** The user's own text for the span [start, end) of `text` (error messages show what was written). */
  readonly originalText: (start: number, end: number) => string
  /**
   * The scanner's tokens of `text`, made from those of the SQL it was cut from (the cut tokens left
   * out, the rest moved, DELETE written for ERASE), so that parsing `text` needs no scan of its own:
   * `parseStatements(extraction.text, { tokens: extraction.tokens })`.
   */
  readonly tokens: TokenSource
}

interface Token {
  readonly start: number
  readonly end: number
  readonly text: string
  readonly tokenName: string
  readonly keywordName: string
}

/** The four hidden columns every table has (SPEC 6). */
export const periodColumns = ['_system_from', '_system_to', '_valid_from', '_valid_to'] as const

const expressionStops = new Set([
  'FOR', 'AS', 'WHERE', 'JOIN', 'INNER', 'LEFT', 'RIGHT', 'FULL', 'CROSS', 'NATURAL', 'ON', 'USING', ',', ')', ';', 'GROUP', 'ORDER',
  'LIMIT', 'OFFSET', 'HAVING', 'WINDOW', 'UNION', 'INTERSECT', 'EXCEPT', 'SET', 'VALID', 'FETCH', 'RETURNING', 'QUALIFY',
])

/**
 * What the scanner says of the word DELETE, written for ERASE (keywords have no token name in its
 * answer); the tests check it against the scanner.
 */
const deleteKind = { tokenType: 382, tokenName: 'UNKNOWN', keywordKind: 1, keywordName: 'UNRESERVED_KEYWORD' } as const

/** Substrings one of which every temporal clause contains (`of` covers AS OF and PORTION OF). */
const triggerWords = ['system_time', 'valid_time', 'erase', 'of', 'valid', 'replace']

function upper(token: Token | undefined): string {
  return token === undefined ? '' : token.text.toUpperCase()
}

function isName(token: Token | undefined): boolean {
  return token !== undefined && (token.tokenName === 'IDENT' || token.keywordName === 'UNRESERVED_KEYWORD')
}

function endsValue(token: Token | undefined): boolean {
  if (token === undefined) return false
  return token.text === ')' || token.tokenName === 'IDENT' || token.tokenName === 'ICONST' || token.tokenName === 'FCONST' || token.tokenName === 'SCONST' || token.tokenName === 'PARAM'
}

function syntaxError(message: string, sql: string, position: number): StrataError {
  return new StrataError('SYNTAX_ERROR', message, { statement: sql, position: position + 1 })
}

/**
 * Finds and removes temporal clauses. Returns undefined when the SQL has none (the common case),
 * so ordinary statements pay one scan on a parse-cache miss and nothing else. `tokenSource` is
 * `sql`'s token source when the caller has one (shared with `checkStatementLimits` and the rest, so
 * the text is scanned once at most); the result's `tokens` are those of its cleaned `text`.
 *
 * @example
 * extractTemporal('SELECT * FROM t FOR SYSTEM_TIME AS OF 3 WHERE id = 1')
 * // → { text: 'SELECT * FROM t   WHERE id = 1', tableClauses: Map { 14 → { system: asOf '3' } }, … }
 */
export function extractTemporal(sql: string, tokenSource?: TokenSource): Extraction | undefined {
  // A cheap guard before tokenizing: every clause this module recognises contains one of these words
  // (the recognition itself is by tokens, below). Most statements are settled here.
  const lower = sql.toLowerCase()
  if (!triggerWords.some((word) => lower.includes(word))) return undefined
  let tokens: readonly ScanToken[]
  try {
    tokens = tokensOf(sql, tokenSource)
  } catch (error) {
    // A text the scanner refuses has no clauses to find; the parser reports it. (Tokens of another text are our bug.)
    if (error instanceof AssertionError) throw error
    return undefined
  }
  const interesting = tokens.some((token) => {
    const word = upper(token)
    return word === 'SYSTEM_TIME' || word === 'VALID_TIME' || word === 'ERASE' || word === 'OF' || word === 'VALID' || word === 'REPLACE'
  })
  if (!interesting) return undefined

  let out = ''
  let copied = 0
  let delta = 0
  // Where each cut ends in the cleaned text, and how far the original text is ahead after it.
  const shifts: { cleanedEnd: number; delta: number }[] = []
  // Each cut in the original text, for the cleaned text's tokens. Cuts begin and end at token edges.
  const cuts: { start: number; end: number; replacement: string }[] = []
  const cut = (start: number, end: number, replacement: string): void => {
    out += sql.slice(copied, start) + replacement
    copied = end
    delta += end - start - replacement.length
    shifts.push({ cleanedEnd: out.length, delta })
    cuts.push({ start, end, replacement })
  }
  const cleaned = (position: number): number => position - delta

  const tableClauses = new Map<number, TemporalSpec>()
  const shorthands: { location: number; spec: TemporalSpec }[] = []
  const portions: { location: number; from: TimeExpression; to: TimeExpression }[] = []
  const erasures: number[] = []
  const replacements: number[] = []
  let depth = 0
  let statementStart = true
  // The table reference the previous clause belonged to, so `t FOR SYSTEM_TIME … FOR VALID_TIME …` is one reference.
  let lastClause: { endIndex: number; location: number } | undefined

  /** Tokens of one expression from `index`; stops at a clause keyword at depth 0, or a bare alias. */
  const expression = (index: number, extraStop: string | undefined, what: string): { expression: TimeExpression; next: number } => {
    let level = 0
    let at = index
    while (at < tokens.length) {
      const token = tokens[at]!
      const word = upper(token)
      if (level === 0) {
        if (expressionStops.has(word) || word === extraStop) break
        if (at > index && token.tokenName === 'IDENT' && endsValue(tokens[at - 1])) break
      }
      if (token.text === '(') level++
      if (token.text === ')') level--
      at++
    }
    if (at === index) {
      const position = tokens[index]?.start ?? sql.length
      throw syntaxError(`expected a time or transaction id for ${what}`, sql, position)
    }
    const start = tokens[index]!.start
    return { expression: { text: sql.slice(start, tokens[at - 1]!.end), position: start }, next: at }
  }

  const period = (index: number, axis: string): { period: PeriodSpec; next: number } => {
    const word = upper(tokens[index])
    if (word === 'AS' && upper(tokens[index + 1]) === 'OF') {
      const at = expression(index + 2, undefined, `${axis} AS OF`)
      return { period: { kind: 'asOf', at: at.expression }, next: at.next }
    }
    if (word === 'FROM' || word === 'BETWEEN') {
      const separator = word === 'FROM' ? 'TO' : 'AND'
      const from = expression(index + 1, separator, `${axis} ${word}`)
      if (upper(tokens[from.next]) !== separator) {
        throw syntaxError(`expected ${separator} in ${axis} ${word} … ${separator} …`, sql, tokens[from.next]?.start ?? sql.length)
      }
      const to = expression(from.next + 1, undefined, `${axis} ${word} … ${separator}`)
      return { period: { kind: word === 'FROM' ? 'fromTo' : 'between', from: from.expression, to: to.expression }, next: to.next }
    }
    if (word === 'ALL') return { period: { kind: 'all' }, next: index + 1 }
    throw syntaxError(`expected AS OF, FROM … TO, BETWEEN … AND or ALL after ${axis}`, sql, tokens[index]?.start ?? sql.length)
  }

  for (let index = 0; index < tokens.length; index++) {
    const token = tokens[index]!
    const word = upper(token)
    if (token.text === ';') {
      statementStart = true
      depth = 0
      continue
    }
    const first = statementStart
    statementStart = false
    if (token.text === '(') depth++
    else if (token.text === ')') depth--
    if (first && word === 'ERASE' && upper(tokens[index + 1]) === 'FROM') {
      erasures.push(cleaned(token.start))
      cut(token.start, token.end, 'DELETE')
      continue
    }
    if (first && word === 'INSERT' && upper(tokens[index + 1]) === 'OR' && upper(tokens[index + 2]) === 'REPLACE' && upper(tokens[index + 3]) === 'INTO') {
      replacements.push(cleaned(token.start))
      cut(tokens[index + 1]!.start, tokens[index + 2]!.end, ' ')
      index += 2
      continue
    }
    if (word === 'FOR') {
      let at = index + 1
      let all = false
      if (upper(tokens[at]) === 'ALL' && (upper(tokens[at + 1]) === 'SYSTEM_TIME' || upper(tokens[at + 1]) === 'VALID_TIME')) {
        all = true
        at++
      }
      const axisWord = upper(tokens[at])
      if (axisWord === 'SYSTEM_TIME' || axisWord === 'VALID_TIME') {
        const axis = axisWord === 'SYSTEM_TIME' ? 'FOR SYSTEM_TIME' : 'FOR VALID_TIME'
        const parsed = all ? { period: { kind: 'all' } as PeriodSpec, next: at + 1 } : period(at + 1, axis)
        let location: number
        if (lastClause !== undefined && lastClause.endIndex === index) location = lastClause.location
        else {
          let nameStart = index - 1
          if (!isName(tokens[nameStart])) {
            throw syntaxError(`${axis} must follow a table name (a time clause applies to tables only)`, sql, token.start)
          }
          while (tokens[nameStart - 1]?.text === '.' && isName(tokens[nameStart - 2])) nameStart -= 2
          location = cleaned(tokens[nameStart]!.start)
        }
        const previous = tableClauses.get(location) ?? {}
        const key = axisWord === 'SYSTEM_TIME' ? 'system' : 'valid'
        if (previous[key] !== undefined) throw syntaxError(`${axis} is given twice for one table`, sql, token.start)
        tableClauses.set(location, { ...previous, [key]: parsed.period })
        cut(token.start, tokens[parsed.next - 1]!.end, ' ')
        lastClause = { endIndex: parsed.next, location }
        index = parsed.next - 1
        continue
      }
      if (upper(tokens[at]) === 'PORTION' && upper(tokens[at + 1]) === 'OF' && upper(tokens[at + 2]) === 'VALID_TIME') {
        if (upper(tokens[at + 3]) !== 'FROM') throw syntaxError('expected FROM … TO … after FOR PORTION OF VALID_TIME', sql, tokens[at + 3]?.start ?? sql.length)
        const from = expression(at + 4, 'TO', 'FOR PORTION OF VALID_TIME FROM')
        if (upper(tokens[from.next]) !== 'TO') throw syntaxError('expected TO in FOR PORTION OF VALID_TIME FROM … TO …', sql, tokens[from.next]?.start ?? sql.length)
        const to = expression(from.next + 1, undefined, 'FOR PORTION OF VALID_TIME … TO')
        portions.push({ location: cleaned(token.start), from: from.expression, to: to.expression })
        cut(token.start, tokens[to.next - 1]!.end, ' ')
        index = to.next - 1
        continue
      }
    }
    if (depth === 0 && ((word === 'AS' && upper(tokens[index + 1]) === 'OF') || (word === 'VALID' && upper(tokens[index + 1]) === 'AT'))) {
      let spec: TemporalSpec = {}
      let at = index
      if (word === 'AS') {
        const system = expression(index + 2, undefined, 'AS OF')
        spec = { system: { kind: 'asOf', at: system.expression } }
        at = system.next
      }
      if (upper(tokens[at]) === 'VALID' && upper(tokens[at + 1]) === 'AT') {
        const valid = expression(at + 2, undefined, 'VALID AT')
        spec = { ...spec, valid: { kind: 'asOf', at: valid.expression } }
        at = valid.next
      }
      shorthands.push({ location: cleaned(token.start), spec })
      cut(token.start, tokens[at - 1]!.end, ' ')
      index = at - 1
      continue
    }
  }
  if (tableClauses.size === 0 && shorthands.length === 0 && portions.length === 0 && erasures.length === 0 && replacements.length === 0) return undefined
  out += sql.slice(copied)
  const original = (position: number): number => {
    let shift = 0
    for (const entry of shifts) if (entry.cleanedEnd <= position) shift = entry.delta
    return position + shift
  }
  const text = out
  let cleanedTokens: readonly ScanToken[] | undefined
  return {
    text,
    tableClauses,
    shorthands,
    portions,
    erasures,
    replacements,
    cutEnds: shifts.map((entry) => entry.cleanedEnd),
    originalText: (start, end) => sql.slice(original(start), original(end)),
    tokens: () => (cleanedTokens ??= tokensOf(text, () => tokensAfterCuts(tokens, cuts))),
  }
}

/**
 * The tokens of the text `cuts` leave of the text `tokens` are of: a token inside a cut is dropped, a
 * cut's replacement word (DELETE) becomes a token, and every token after a cut moves by what it took
 * out. The scanner would read the cleaned text the same: a cut replaced by a space leaves its
 * neighbours apart, and never brings two string constants together across a line break, which it would
 * read as one (a FOR clause follows a table name, INSERT OR REPLACE follows INSERT, and a time
 * expression takes in every constant that follows it). The tests compare with the scanner's reading.
 */
function tokensAfterCuts(tokens: readonly ScanToken[], cuts: readonly { readonly start: number; readonly end: number; readonly replacement: string }[]): ScanToken[] {
  const out: ScanToken[] = []
  let shift = 0
  let next = 0
  const pass = (cut: { readonly start: number; readonly end: number; readonly replacement: string }): void => {
    const word = cut.replacement.trim()
    if (word !== '') {
      assert(word === 'DELETE', `no token kind for the replacement "${word}"`)
      const start = cut.start - shift
      out.push({ start, end: start + word.length, text: word, ...deleteKind })
    }
    shift += cut.end - cut.start - cut.replacement.length
  }
  for (const token of tokens) {
    while (next < cuts.length && cuts[next]!.end <= token.start) pass(cuts[next++]!)
    const cut = cuts[next]
    if (cut !== undefined && token.start >= cut.start) {
      assert(token.end <= cut.end, `a cut ends inside the token "${token.text}"`)
      continue
    }
    out.push(shift === 0 ? token : { ...token, start: token.start - shift, end: token.end - shift })
  }
  while (next < cuts.length) pass(cuts[next++]!)
  return out
}

// ───────────────────────────── per statement ─────────────────────────────

/** A table reference answered from history. */
export interface TemporalReference {
  /** Tree location of the table name (in the statement's parsed text). */
  readonly location: number
  /** Characters of the name as written (`t`, `main.t`, `"T"`), replaced in column-store SQL. */
  readonly nameLength: number
  readonly table: TableDefinition
  readonly alias: string | undefined
  readonly spec: TemporalSpec
  /** Index of its first bound slot: four slots per reference (system from/to, valid from/to). */
  readonly slot: number
}

export interface TemporalPlan {
  readonly references: ReadonlyMap<number, TemporalReference>
  /** A hidden period column is named somewhere, so the derived tables expose them. */
  readonly periodColumnsNamed: boolean
  /**
   * Then: the positions in the statement's text (tree coordinates) of each `*` that ranges over such a
   * derived table. The period columns stay hidden from it, as in the row store: the column store's SQL
   * writes `* EXCLUDE (…)` there (see {@link periodStarText}).
   */
  readonly periodStars: readonly number[]
  readonly slots: number
}

/** Tables whose default reads go through history (valid time that does not cover "now" exists). */
export type TableFlags = (name: string) => boolean

/**
 * Decides which table references of a SELECT read history: those with an explicit clause, all of them
 * under a statement-level AS OF, and — with the default period — those of tables whose current rows do
 * not all cover "now" in valid time, or any when a hidden period column is named.
 * Returns undefined when the statement reads only current state. `tokenSource` is `text`'s tokens
 * when the caller has them (a `ParsedStatement`'s `tokens`); without it `text` is scanned if a
 * reference needs its extent measured.
 *
 * @example
 * const [statement] = parseStatements(extraction.text, { tokens: extraction.tokens })
 * planTemporal(statement.tree, statement.text, statement.locationBase, catalog, clauses, flagged, statement.tokens)
 */
export function planTemporal(
  tree: PgNode,
  text: string,
  locationBase: number,
  catalog: Catalog,
  clauses: { readonly tableClauses: ReadonlyMap<number, TemporalSpec>; readonly shorthand: TemporalSpec | undefined },
  flagged: TableFlags,
  tokenSource?: TokenSource,
): TemporalPlan | undefined {
  const cteNames = new Set<string>()
  let periodColumnsNamed = false
  const ranges: PgNode[] = []
  walk(tree, (kind, body) => {
    if (kind === 'CommonTableExpr') cteNames.add(String(body['ctename']))
    else if (kind === 'RangeVar') ranges.push(body)
    else if (kind === 'ColumnRef') {
      const last = names(body['fields']).at(-1)
      if (last !== undefined && (periodColumns as readonly string[]).includes(last)) periodColumnsNamed = true
    }
  })
  const references = new Map<number, TemporalReference>()
  let tokens: readonly Token[] | undefined
  for (const range of ranges) {
    // The location only when it is needed: a plan template's instrumented tree (src/sql/fingerprint.ts)
    // is claimed by no subsystem without reading one.
    const explicit = clauses.tableClauses.size === 0 ? undefined : clauses.tableClauses.get(Number(range['location'] ?? 0))
    const name = String(range['relname'])
    const schema = typeof range['schemaname'] === 'string' ? range['schemaname'] : undefined
    const userSchema = schema === undefined || schema === 'main' || schema === 'public'
    const table = userSchema && !(schema === undefined && cteNames.has(name)) ? catalog.tables.get(name) : undefined
    if (table === undefined) {
      if (explicit === undefined) continue
      const what = catalog.views.has(name) ? `"${name}" is a view` : cteNames.has(name) ? `"${name}" is a WITH query` : undefined
      if (what !== undefined) throw new StrataError('NOT_SUPPORTED', `a time clause applies to tables only; ${what}`)
      throw new StrataError('UNDEFINED_TABLE', `table "${schema === undefined ? name : `${schema}.${name}`}" does not exist`)
    }
    const spec = explicit ?? (clauses.shorthand !== undefined ? clauses.shorthand : periodColumnsNamed || flagged(name) ? {} : undefined)
    if (spec === undefined) continue
    // With a statement-level AS OF, an explicit clause on one axis keeps the shorthand's other axis.
    const merged = explicit !== undefined && clauses.shorthand !== undefined ? { ...clauses.shorthand, ...explicit } : spec
    const location = Number(range['location'] ?? 0)
    tokens ??= tokensOf(text, tokenSource)
    const alias = nodeBody({ Alias: range['alias'] }, 'Alias')
    references.set(location, {
      location,
      nameLength: referenceNameLength(tokens, location - locationBase, name),
      table,
      alias: alias === undefined ? undefined : String(alias['aliasname']),
      spec: merged,
      slot: references.size * 4,
    })
  }
  for (const location of clauses.tableClauses.keys()) {
    if (!references.has(location)) throw new StrataError('NOT_SUPPORTED', 'a time clause applies to a table reference in FROM')
  }
  if (references.size === 0) return undefined
  const periodStars: number[] = []
  if (periodColumnsNamed) {
    tokens ??= tokensOf(text, tokenSource)
    for (const location of starsOverReferences(tree, references)) {
      const star = tokens.find((token) => token.start >= location - locationBase && token.text === '*')
      if (star === undefined) throw new StrataError('INTERNAL', 'no * token at a star over history')
      periodStars.push(star.start + locationBase)
    }
  }
  return { references, periodColumnsNamed, periodStars, slots: references.size * 4 }
}

/**
 * How many characters a table reference's name takes in the text, from its first token (at `start`)
 * through a schema qualifier (`main.t`): what a text edit that replaces the name replaces.
 */
export function referenceNameLength(tokens: readonly { readonly start: number; readonly end: number; readonly text: string }[], start: number, name: string): number {
  let last = tokens.findIndex((token) => token.start === start)
  if (last < 0) throw new StrataError('INTERNAL', `no token at the table reference "${name}"`)
  while (tokens[last + 1]?.text === '.' && tokens[last + 2] !== undefined) last += 2
  return tokens[last]!.end - start
}

/** What a `*` over history becomes in the column store's SQL: the period columns stay hidden from it. */
export const periodStarText = `* EXCLUDE (${periodColumns.join(', ')})`

/**
 * The tree locations of the `*` and `x.*` select items that range over a temporal reference: an
 * unqualified star in a SELECT whose FROM (through joins, not into subqueries) holds one, or a star
 * qualified by such a reference's alias or name.
 */
function starsOverReferences(tree: PgNode, references: ReadonlyMap<number, TemporalReference>): number[] {
  const stars: number[] = []
  walk(tree, (kind, body) => {
    if (kind !== 'SelectStmt') return
    const visible = new Set<string>()
    const visit = (item: unknown): void => {
      const range = nodeBody(item, 'RangeVar')
      if (range !== undefined) {
        const reference = references.get(Number(range['location'] ?? 0))
        if (reference !== undefined) visible.add(reference.alias ?? reference.table.name)
        return
      }
      const join = nodeBody(item, 'JoinExpr')
      if (join !== undefined) {
        visit(join['larg'])
        visit(join['rarg'])
      }
    }
    for (const item of list(body['fromClause'])) visit(item)
    if (visible.size === 0) return
    for (const target of list(body['targetList'])) {
      const reference = nodeBody(nodeBody(target, 'ResTarget')?.['val'], 'ColumnRef')
      if (reference === undefined) continue
      const fields = list(reference['fields'])
      if (nodeKind(fields.at(-1)) !== 'A_Star') continue
      const qualifier = names(fields.slice(0, -1)).at(-1)
      if (qualifier === undefined || visible.has(qualifier)) stars.push(Number(reference['location'] ?? 0))
    }
  })
  return stars
}

/**
 * True when a single-table SELECT pins every primary-key column to a constant or parameter with `=`
 * in a top-level AND of its WHERE: a point lookup in history, which the row store answers by index.
 * Anything else over history is a scan, which the column store answers (SPEC 6).
 */
export function isKeyLookup(select: PgNode, table: TableDefinition): boolean {
  if (table.primaryKey === null) return false
  const conjuncts: unknown[] = []
  const collect = (node: unknown): void => {
    const bool = nodeBody(node, 'BoolExpr')
    if (bool !== undefined && bool['boolop'] === 'AND_EXPR') list(bool['args']).forEach(collect)
    else conjuncts.push(node)
  }
  collect(select['whereClause'])
  const pinned = new Set<string>()
  const isValue = (node: unknown): boolean => nodeKind(node) === 'A_Const' || nodeKind(node) === 'ParamRef' || (nodeKind(node) === 'TypeCast' && isValue(nodeBody(node, 'TypeCast')!['arg']))
  for (const conjunct of conjuncts) {
    const expression = nodeBody(conjunct, 'A_Expr')
    if (expression === undefined || expression['kind'] !== 'AEXPR_OP' || names(expression['name']).join('') !== '=') continue
    for (const [column, value] of [
      [expression['lexpr'], expression['rexpr']],
      [expression['rexpr'], expression['lexpr']],
    ] as const) {
      const name = names(nodeBody(column, 'ColumnRef')?.['fields']).at(-1)
      if (name !== undefined && isValue(value)) pinned.add(name)
    }
  }
  return table.primaryKey.every((name) => pinned.has(name))
}

// ───────────────────────────── bounds ─────────────────────────────

export interface InstantContext {
  readonly params: readonly unknown[]
  /** "Now" for queries (µs). */
  readonly nowUs: bigint
  /** System time of transaction `txId` (µs), undefined if it has not committed. */
  readonly transactionTime: (txId: number) => bigint | undefined
}

const expressionCache = new Map<string, unknown>()

function expressionTree(expression: TimeExpression): unknown {
  let tree = expressionCache.get(expression.text)
  if (tree === undefined) {
    let parsed: PgNode
    try {
      parsed = parseTree(`SELECT ${expression.text}`)
    } catch (error) {
      throw new StrataError('SYNTAX_ERROR', `malformed time expression "${expression.text}": ${(error as Error).message}`, { position: expression.position + 1 })
    }
    const statement = (list(parsed['stmts'])[0] as PgNode | undefined)?.['stmt']
    tree = nodeBody(list(nodeBody(statement, 'SelectStmt')?.['targetList'])[0], 'ResTarget')?.['val']
    if (expressionCache.size > 1000) expressionCache.clear()
    expressionCache.set(expression.text, tree)
  }
  return tree
}

/** '1 day 2 hours' → µs. A day is 24 hours here (UTC); months and years have no fixed length. */
function parseIntervalMicros(text: string): bigint {
  const interval = parseIntervalText(text)
  if (interval === undefined) throw new StrataError('TYPE_MISMATCH', `cannot read "${text}" as an interval (expected e.g. '1 day')`)
  if (interval.months !== 0n) throw new StrataError('NOT_SUPPORTED', `the interval "${text}" in a time-travel bound: months and years have no fixed length`)
  return interval.days * 86_400_000_000n + interval.micros
}

type Instant = { readonly kind: 'time'; readonly us: bigint } | { readonly kind: 'tx'; readonly id: number } | { readonly kind: 'interval'; readonly us: bigint }

function typeNameOf(node: unknown): string {
  return names(nodeBody(node, 'TypeName')?.['names'] ?? (node as PgNode | undefined)?.['names']).filter((part) => part !== 'pg_catalog').join('.').toLowerCase()
}

function instantOf(value: unknown, expression: TimeExpression): Instant {
  if (typeof value === 'number' && Number.isInteger(value)) return { kind: 'tx', id: value }
  if (typeof value === 'bigint') return { kind: 'tx', id: Number(value) }
  if (value instanceof Date && !Number.isNaN(value.getTime())) return { kind: 'time', us: dateMicros(value) }
  if (typeof value === 'string') {
    const us = parseTimestampMicros(value)
    if (us !== undefined) return { kind: 'time', us }
  }
  throw new StrataError('TYPE_MISMATCH', `"${expression.text}" is neither a timestamp nor a transaction id (got ${value === null ? 'NULL' : typeof value})`)
}

function evaluate(node: unknown, context: InstantContext, expression: TimeExpression): Instant {
  switch (nodeKind(node)) {
    case 'A_Const':
      return instantOf(constantValue(nodeBody(node, 'A_Const')!).value, expression)
    case 'ParamRef': {
      const index = Number(nodeBody(node, 'ParamRef')!['number'] ?? 0) - 1
      if (index < 0 || index >= context.params.length) throw new StrataError('INVALID_PARAMETER', `no value for parameter $${index + 1} in "${expression.text}"`)
      return instantOf(context.params[index], expression)
    }
    case 'TypeCast': {
      const cast = nodeBody(node, 'TypeCast')!
      const type = typeNameOf(cast['typeName'])
      if (type === 'interval') {
        const inner = nodeBody(cast['arg'], 'A_Const')
        const text = inner === undefined ? undefined : constantValue(inner).value
        if (typeof text !== 'string') throw new StrataError('NOT_SUPPORTED', `an interval in "${expression.text}" must be a literal`)
        return { kind: 'interval', us: parseIntervalMicros(text) }
      }
      const inner = evaluate(cast['arg'], context, expression)
      if (['timestamp', 'timestamptz', 'date', 'timestamp with time zone', 'timestamp without time zone'].includes(type)) {
        if (inner.kind === 'time') return inner
      } else if (['int', 'int2', 'int4', 'int8', 'integer', 'bigint', 'smallint'].includes(type)) {
        if (inner.kind === 'tx') return inner
      }
      throw new StrataError('TYPE_MISMATCH', `"${expression.text}" is neither a timestamp nor a transaction id`)
    }
    case 'FuncCall': {
      const call = nodeBody(node, 'FuncCall')!
      const name = names(call['funcname']).join('.').toLowerCase()
      if ((name === 'now' || name === 'current_timestamp' || name === 'get_current_timestamp') && list(call['args']).length === 0) return { kind: 'time', us: context.nowUs }
      break
    }
    case 'SQLValueFunction': {
      const op = String(nodeBody(node, 'SQLValueFunction')!['op'])
      if (op === 'SVFOP_CURRENT_TIMESTAMP' || op === 'SVFOP_LOCALTIMESTAMP' || op.startsWith('SVFOP_CURRENT_TIMESTAMP')) return { kind: 'time', us: context.nowUs }
      break
    }
    case 'A_Expr': {
      const body = nodeBody(node, 'A_Expr')!
      const op = names(body['name']).join('')
      if (body['kind'] === 'AEXPR_OP' && (op === '+' || op === '-')) {
        const left = evaluate(body['lexpr'], context, expression)
        const right = evaluate(body['rexpr'], context, expression)
        const time = left.kind === 'tx' ? resolveTime(left, context, expression) : left
        if (time.kind === 'time' && right.kind === 'interval') return { kind: 'time', us: op === '+' ? time.us + right.us : time.us - right.us }
      }
      break
    }
  }
  throw new StrataError('NOT_SUPPORTED', `the time expression "${expression.text}": use a timestamp, a transaction id, a parameter, now() or now() ± INTERVAL '…'`)
}

function resolveTime(instant: Instant, context: InstantContext, expression: TimeExpression): Instant & { kind: 'time' } {
  if (instant.kind === 'time') return instant
  if (instant.kind === 'interval') throw new StrataError('TYPE_MISMATCH', `"${expression.text}" is an interval, not a point in time`)
  if (instant.id < 0) throw new StrataError('INVALID_PARAMETER', `transaction ids start at 1; got ${instant.id}`)
  const us = context.transactionTime(instant.id)
  if (us === undefined) throw new StrataError('UNDEFINED_TRANSACTION', `transaction ${instant.id} has not been committed (yet)`)
  return { kind: 'time', us }
}

/**
 * A time given as a tree node (a value of `_valid_from`/`_valid_to` in INSERT): µs, or null for NULL
 * (an open end). `label` names it in errors.
 */
export function evaluateInstantNode(node: unknown, context: InstantContext, label: string): bigint | null {
  const constant = nodeBody(node, 'A_Const')
  if (constant !== undefined && constantValue(constant).value === null) return null
  if (nodeKind(node) === 'ParamRef') {
    const index = Number(nodeBody(node, 'ParamRef')!['number'] ?? 0) - 1
    if (context.params[index] === null || context.params[index] === undefined) {
      if (index < 0 || index >= context.params.length) throw new StrataError('INVALID_PARAMETER', `no value for parameter $${index + 1} (${label})`)
      return null
    }
  }
  const expression = { text: label, position: 0 }
  return resolveTime(evaluate(node, context, expression), context, expression).us
}

/** A value of `_valid_from`/`_valid_to` computed by the column store: a Date, a transaction id or NULL. */
export function instantFromValue(value: unknown, context: InstantContext, label: string): bigint | null {
  if (value === null || value === undefined) return null
  const expression = { text: label, position: 0 }
  return resolveTime(instantOf(value, expression), context, expression).us
}

/**
 * A period end: NULL (a literal or a NULL parameter) is the open end — the end of time for `TO`, as
 * XTDB reads `FOR PORTION OF VALID_TIME FROM x TO NULL` — else {@link evaluateInstant}.
 */
export function evaluateOpenInstant(expression: TimeExpression, context: InstantContext): bigint | null {
  return evaluateInstantNode(expressionTree(expression), context, expression.text)
}

/** A time expression's value in µs; an integer means the system time of that transaction (SPEC 6). */
export function evaluateInstant(expression: TimeExpression, context: InstantContext): bigint {
  return resolveTime(evaluate(expressionTree(expression), context, expression), context, expression).us
}

/**
 * The four bound slots of every reference, in reference order: lower and upper bound of the system
 * period, then of the valid period (AS OF uses the lower slot; unused slots are 0).
 */
export function evaluateBounds(plan: TemporalPlan, context: InstantContext): bigint[] {
  const bounds: bigint[] = new Array<bigint>(plan.slots).fill(0n)
  for (const reference of plan.references.values()) {
    const axes: [PeriodSpec | undefined, number, boolean][] = [
      [reference.spec.system, reference.slot, true],
      [reference.spec.valid, reference.slot + 2, false],
    ]
    for (const [period, slot, system] of axes) {
      if (period === undefined) {
        if (!system) bounds[slot] = context.nowUs
        continue
      }
      if (period.kind === 'asOf') bounds[slot] = evaluateInstant(period.at, context)
      else if (period.kind !== 'all') {
        bounds[slot] = evaluateInstant(period.from, context)
        bounds[slot + 1] = evaluateInstant(period.to, context)
      }
    }
  }
  return bounds
}

// ───────────────────────────── derived tables ─────────────────────────────

/** Hidden period columns as the scope of a temporal reference sees them. */
export const periodColumnDefinitions: readonly ColumnDefinition[] = periodColumns.map((name) => ({ name, type: { name: 'TIMESTAMP' }, notNull: false, default: undefined }))

/**
 * The conditions of one reference over a history relation, with `slot(n)` producing the placeholder
 * or literal of bound slot n. Intervals are half-open. Open ends are NULL in the row store; the column
 * store's history stores them as `openEnd` (a large integer), given here as `openEnd`.
 */
function conditions(spec: TemporalSpec, base: number, slot: (index: number) => string, openEnd?: string): string[] {
  const parts: string[] = []
  const after = (to: string, value: string): string => (openEnd === undefined ? `(${to} IS NULL OR ${to} > ${value})` : `${to} > ${value}`)
  const axis = (period: PeriodSpec | undefined, from: string, to: string, index: number, system: boolean): void => {
    if (period === undefined) {
      if (system) parts.push(openEnd === undefined ? '_tx_to IS NULL' : `_tx_to = ${openEnd}`)
      else parts.push(`${from} <= ${slot(index)}`, after(to, slot(index)))
      return
    }
    switch (period.kind) {
      case 'asOf':
        parts.push(`${from} <= ${slot(index)}`, after(to, slot(index)))
        return
      case 'fromTo':
        // Empty when from ≥ to, as in SQL:2011.
        parts.push(`${slot(index)} < ${slot(index + 1)}`, `${from} < ${slot(index + 1)}`, after(to, slot(index)))
        return
      case 'between':
        parts.push(`${slot(index)} <= ${slot(index + 1)}`, `${from} <= ${slot(index + 1)}`, after(to, slot(index)))
        return
      case 'all':
        return
    }
  }
  axis(spec.system, '_system_from', '_system_to', base, true)
  axis(spec.valid, '_valid_from', '_valid_to', base + 2, false)
  return parts
}

/**
 * True when a reference reads valid time "now" of a table without future validity: then exactly its
 * open-ended versions answer, since a bounded piece ends at or before the commit that wrote it, and an
 * open-ended version starts at or before its commit, both before "now".
 */
function coversNow(reference: TemporalReference): boolean {
  return reference.spec.valid === undefined && reference.table.futureValidTime !== true
}

/**
 * The row store's derived table for a reference: SQLite SQL with `?` for each bound slot it uses,
 * in order (`slots` lists them). Period columns stay µs integers; the scope types them TIMESTAMP.
 */
export function rowStoreSource(reference: TemporalReference, extraColumns: readonly string[] = []): { sql: string; slots: number[] } {
  const slots: number[] = []
  // At valid time "now", a table without future validity needs only its open-ended versions, and those
  // are valid now (see columnStoreSource).
  const openOnly = coversNow(reference)
  const spec: TemporalSpec = openOnly ? { ...reference.spec, valid: { kind: 'all' } } : reference.spec
  const where = conditions(spec, reference.slot, (index) => {
    slots.push(index)
    return '?'
  })
  if (openOnly) where.push('_valid_to IS NULL')
  const columns = [...reference.table.columns.map((column) => quoteIdentifier(column.name)), ...periodColumns, ...extraColumns.map(quoteIdentifier)]
  // The latest system time at valid time now of such a table: exactly the table's own rows (its open
  // versions); otherwise every version, history and open ones (src/sql/ddl.ts versionsSql).
  const versions = openOnly && reference.spec.system === undefined ? `(${openVersionsSql(reference.table)})` : versionsSql(reference.table)
  const sql = `SELECT ${columns.join(', ')} FROM ${versions} AS _strata_versions${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''}`
  return { sql, slots }
}

/**
 * The column store's derived table for a reference, bounds written in as literals. History is kept in
 * two parts there (`src/sync/mirror.ts`): open-ended versions and bounded valid-time pieces. A read at
 * valid time "now" of a table whose versions all cover now when they are current needs only the first:
 * a bounded piece ends at or before the commit that wrote it, which is before now.
 */
export function columnStoreSource(
  reference: TemporalReference,
  bounds: readonly bigint[],
  history: { readonly open: string; readonly bounded: string; readonly openEnd: string },
  withPeriodColumns: boolean,
): string {
  const openOnly = coversNow(reference)
  // Open-ended versions of such a table are valid at every "now" from their commit on: no valid-time test.
  const spec: TemporalSpec = openOnly ? { ...reference.spec, valid: { kind: 'all' } } : reference.spec
  const where = conditions(spec, reference.slot, (index) => String(bounds[index]), history.openEnd)
  const columns = reference.table.columns.map((column) => quoteIdentifier(column.name))
  if (withPeriodColumns) {
    for (const name of periodColumns) {
      columns.push(name.endsWith('_to') ? `CASE WHEN ${name} = ${history.openEnd} THEN NULL ELSE make_timestamp(${name}) END AS ${name}` : `make_timestamp(${name}) AS ${name}`)
    }
  }
  const select = (relation: string): string => `SELECT ${columns.join(', ')} FROM ${relation}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''}`
  return openOnly ? `(${select(history.open)})` : `(${select(history.open)} UNION ALL ${select(history.bounded)})`
}

/**
 * SQL text for a SELECT subtree (the source of INSERT … SELECT or CREATE TABLE AS) with its temporal
 * references replaced by `source(reference)`: the tree is printed with a placeholder name per
 * reference, and the placeholders are then found among the scanner's tokens.
 */
export function deparseTemporal(select: PgNode, plan: TemporalPlan, source: (reference: TemporalReference) => string): string {
  const copy = structuredClone(select)
  const placeholders = new Map<string, TemporalReference>()
  // Stars over history print as a placeholder column, then become periodStarText.
  const stars = plan.periodColumnsNamed ? new Set(starsOverReferences(copy, plan.references)) : new Set<number>()
  const starPlaceholder = '__strata_period_star'
  walk(copy, (kind, body) => {
    if (kind === 'ColumnRef' && stars.has(Number(body['location'] ?? 0))) {
      body['fields'] = [...list(body['fields']).slice(0, -1), { String: { sval: starPlaceholder } }]
      return
    }
    if (kind !== 'RangeVar') return
    const reference = plan.references.get(Number(body['location'] ?? 0))
    if (reference === undefined) return
    const placeholder = `__strata_temporal_${placeholders.size}`
    placeholders.set(placeholder, reference)
    body['relname'] = placeholder
    delete body['schemaname']
  })
  const text = deparseStatement(copy)
  let out = ''
  let copied = 0
  for (const token of scanTokens(text) as Token[]) {
    if (token.text === starPlaceholder) {
      out += text.slice(copied, token.start) + periodStarText
      copied = token.end
      continue
    }
    const reference = placeholders.get(token.text)
    if (reference === undefined) continue
    out += text.slice(copied, token.start) + source(reference) + (reference.alias === undefined ? ` AS ${quoteIdentifier(reference.table.name)}` : '')
    copied = token.end
  }
  return out + text.slice(copied)
}
