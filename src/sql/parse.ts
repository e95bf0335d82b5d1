/**
 * Parsing with PostgreSQL's own parser (libpg_query compiled to WASM, shipped by @pgsql/parser; the
 * instances are ours, src/sql/wasm.ts). No regular expressions touch SQL here: statements are split
 * and parameters found by the real scanner's tokens, and trees come from the real grammar.
 *
 * Positions: the parser counts UTF-8 bytes; everything this module returns (token `start`/`end`, tree
 * `location`s, statement offsets) counts UTF-16 code units, as JavaScript indexes strings.
 */
import type { ScanToken } from '@pgsql/parser'
import { assert, AssertionError } from '../util/assert.js'
import { StrataError } from '../util/errors.js'
import { limits } from '../util/limits.js'
import { loadParser, parseErrorCursor, parseRaw, parserReady, scanRaw, scannerCalls } from './wasm.js'

export { loadParser, parserReady, scannerCalls }
export type { ScanToken }

/** Byte offset in the UTF-8 form of `text` → index in `text`; the identity for ASCII text. */
function byteIndexer(text: string): ((offset: number) => number) | undefined {
  let ascii = true
  for (let index = 0; index < text.length; index++) {
    if (text.charCodeAt(index) > 0x7f) {
      ascii = false
      break
    }
  }
  if (ascii) return undefined
  const indexes: number[] = []
  let byte = 0
  for (let index = 0; index < text.length;) {
    const code = text.codePointAt(index)!
    // A lone surrogate is written as U+FFFD (3 bytes) by the TextEncoder that hands text to the parser.
    const bytes = code < 0x80 ? 1 : code < 0x800 ? 2 : code > 0xffff ? 4 : 3
    for (let step = 0; step < bytes; step++) indexes[byte + step] = index
    byte += bytes
    index += code > 0xffff ? 2 : 1
  }
  indexes[byte] = text.length
  return (offset) => indexes[offset] ?? text.length
}

/** PostgreSQL's 1-based character (code point) position in `text` → a 1-based index of `text`. */
function characterPositionToIndex(text: string, position: number): number {
  let index = 0
  for (let character = 1; character < position && index < text.length; character++) {
    index += (text.codePointAt(index) ?? 0) > 0xffff ? 2 : 1
  }
  return index + 1
}

function checkLength(sql: string): void {
  if (sql.length > limits.statementLengthMax) {
    throw new StrataError('LIMIT_EXCEEDED', `the SQL text is ${sql.length} characters long; the limit is ${limits.statementLengthMax} (pass large values as parameters, or load data with db.insert or COPY)`)
  }
}

/**
 * The scanner's JSON answer read into tokens. Two faults of the WASM wrapper are repaired here: it
 * copies control characters (a newline inside a string) raw into its JSON, and it writes the answer
 * into a buffer sized by the number of tokens, so a long token (a string of a few thousand
 * characters) cuts the answer short. The tokens before the cut are kept, and the cut one is known
 * by its `start` and `end`, which come before its text; the caller resumes after it.
 */
function readScanAnswer(answer: string): { tokens: ScanToken[]; complete: boolean; cut: { start: number; end: number } | undefined } {
  if (answer.endsWith(']}')) {
    try {
      return { tokens: (JSON.parse(answer) as { tokens: ScanToken[] }).tokens, complete: true, cut: undefined }
    } catch {
      // A control character, or cut short: below.
    }
  }
  let json = ''
  let copied = 0
  for (let index = 0; index < answer.length; index++) {
    // Valid JSON has no raw control characters (the scanner's has them only inside token texts, which
    // are taken from the SQL itself): a space keeps the JSON readable.
    if (answer.charCodeAt(index) < 0x20) {
      json += `${answer.slice(copied, index)} `
      copied = index + 1
    }
  }
  json += answer.slice(copied)
  if (json.endsWith(']}')) {
    try {
      return { tokens: (JSON.parse(json) as { tokens: ScanToken[] }).tokens, complete: true, cut: undefined }
    } catch {
      // Cut short right after a token's text: read it as a cut answer below.
    }
  }
  const header = '{"start":'
  const last = json.lastIndexOf(header)
  if (last < 0) throw new StrataError('INTERNAL', 'the SQL scanner returned an unreadable answer')
  const before = `${json.slice(0, json[last - 1] === ',' ? last - 1 : last)}]}`
  const tokens = (JSON.parse(before) as { tokens: ScanToken[] }).tokens
  // The cut token's offsets, when the answer got as far as its text (this reads the scanner's JSON, not SQL).
  const fields = /^\{"start":(\d+),"end":(\d+),"text":"/.exec(json.slice(last))
  return { tokens, complete: false, cut: fields === null ? undefined : { start: Number(fields[1]), end: Number(fields[2]) } }
}

/** The kind of a token the scanner's answer cut off: the scanner's kind for its first and last characters. */
function cutTokenKind(text: string): Pick<ScanToken, 'tokenType' | 'tokenName' | 'keywordKind' | 'keywordName'> {
  const sample = text.length <= 64 ? text : text.slice(0, 32) + text.slice(-32)
  try {
    const answer = scanRaw(sample)
    const first = answer.startsWith('{') ? readScanAnswer(answer).tokens[0] : undefined
    if (first !== undefined && first.start === 0) return { tokenType: first.tokenType, tokenName: first.tokenName, keywordKind: first.keywordKind, keywordName: first.keywordName }
  } catch {
    // Fall through: an unknown kind.
  }
  return { tokenType: 0, tokenName: 'UNKNOWN', keywordKind: 0, keywordName: 'NO_KEYWORD' }
}

/**
 * The PostgreSQL scanner's tokens for `sql` (comments included), with offsets into `sql` and each
 * token's text taken from `sql`. Throws SYNTAX_ERROR where the scanner gives up (an unterminated
 * quote or comment), LIMIT_EXCEEDED for a text over `limits.statementLengthMax`.
 *
 * @example scanTokens("SELECT 'a\nb'").map((token) => token.text) // → ['SELECT', "'a\nb'"]
 */
export function scanTokens(sql: string): ScanToken[] {
  checkLength(sql)
  const tokens: ScanToken[] = []
  let base = 0
  while (base < sql.length) {
    const text = base === 0 ? sql : sql.slice(base)
    if (text.trim() === '') break
    const answer = scanRaw(text)
    if (!answer.startsWith('{')) throw new StrataError('SYNTAX_ERROR', answer, { statement: sql })
    const { tokens: scanned, complete, cut } = readScanAnswer(answer)
    const toIndex = byteIndexer(text)
    const at = (offset: number): number => base + (toIndex === undefined ? offset : toIndex(offset))
    for (const token of scanned) {
      const start = at(token.start)
      const end = at(token.end)
      tokens.push({ ...token, start, end, text: sql.slice(start, end) })
    }
    if (complete) break
    if (cut === undefined) {
      // Cut before a token's offsets: go on after the last whole token.
      if (scanned.length === 0) throw new StrataError('INTERNAL', 'the SQL scanner returned an unreadable answer')
      base = tokens[tokens.length - 1]!.end
      continue
    }
    const start = at(cut.start)
    const end = at(cut.end)
    const tokenText = sql.slice(start, end)
    tokens.push({ start, end, text: tokenText, ...cutTokenKind(tokenText) })
    base = end
  }
  return tokens
}

/**
 * The scanner's tokens of one text, on demand: what `tokenSource` returns. Every consumer of a text's
 * tokens — the bounds check, time clauses, full-text DDL, `$name` parameters, the PostgreSQL server —
 * takes them from the one source of that text, so the text is scanned once at most (the scanner costs
 * two to three times the parse) and not at all when nobody asks.
 */
export type TokenSource = () => readonly ScanToken[]

/**
 * A lazy, remembered `scanTokens(sql)`: the first call scans, later calls return the same array.
 * A SYNTAX_ERROR or LIMIT_EXCEEDED is remembered and thrown again by every call (the same text always
 * fails the same way); a fault of the parser's instance (INTERNAL) is not, so a later call scans again
 * on the instance that replaced it. `known` is the text's tokens when the caller has them already.
 *
 * @example
 * const tokens = tokenSource('SELECT 1; SELECT 2')
 * parseStatements('SELECT 1; SELECT 2', { tokens }) // the scanner has not run
 * tokens().length // → 5 (scans now, once)
 */
export function tokenSource(sql: string, known?: readonly ScanToken[]): TokenSource {
  if (known !== undefined) checkTokensOf(sql, known)
  let tokens = known
  let failure: StrataError | undefined
  return () => {
    if (tokens !== undefined) return tokens
    if (failure !== undefined) throw failure
    try {
      tokens = scanTokens(sql)
    } catch (error) {
      if (error instanceof StrataError && (error.code === 'SYNTAX_ERROR' || error.code === 'LIMIT_EXCEEDED')) failure = error
      throw error
    }
    return tokens
  }
}

/**
 * The tokens of `text`, which stands at `offset` in the text `whole` gives the tokens of, with offsets
 * relative to `text`: a slice of the whole text's scan, taken on the first call and remembered. The
 * scanner reads a statement the same alone as inside its text (it has no state across tokens but an
 * open quote or comment, and a statement's text starts and ends between tokens). The exception is a
 * token that reaches past `text`'s ends — JavaScript's `trim()` cut a character the scanner reads as
 * part of a word, such as a no-break space — then `text` is scanned on its own.
 *
 * @example
 * const whole = tokenSource('SELECT 1; SELECT x')
 * sliceTokenSource(whole, 10, 'SELECT x')().map((token) => token.start) // → [0, 7]
 */
export function sliceTokenSource(whole: TokenSource, offset: number, text: string): TokenSource {
  let tokens: readonly ScanToken[] | undefined
  let alone: TokenSource | undefined
  return () => {
    if (tokens !== undefined) return tokens
    if (alone !== undefined) return alone()
    const all = whole()
    const end = offset + text.length
    // The first token that ends after `offset` (tokens are in text order).
    let low = 0
    let high = all.length
    while (low < high) {
      const middle = (low + high) >> 1
      if (all[middle]!.end <= offset) low = middle + 1
      else high = middle
    }
    const sliced: ScanToken[] = []
    for (let index = low; index < all.length && all[index]!.start < end; index++) {
      const token = all[index]!
      if (token.start < offset || token.end > end) {
        alone = tokenSource(text)
        return alone()
      }
      sliced.push(offset === 0 ? token : { ...token, start: token.start - offset, end: token.end - offset })
    }
    checkTokensOf(text, sliced)
    tokens = sliced
    return tokens
  }
}

/** Asserts that `tokens` are `sql`'s (their first and last texts stand at their offsets): a source of another text is our bug. */
function checkTokensOf(sql: string, tokens: readonly ScanToken[]): void {
  const first = tokens[0]
  const last = tokens[tokens.length - 1]
  assert(first === undefined || sql.startsWith(first.text, first.start), `the tokens given are not those of the text (first token "${first?.text}" at ${first?.start})`)
  assert(last === undefined || (last.end <= sql.length && sql.startsWith(last.text, last.start)), `the tokens given are not those of the text (last token "${last?.text}" at ${last?.start})`)
}

/**
 * `sql`'s tokens from `tokens` (checked to be `sql`'s at both ends), or from a scan of its own when
 * no source is given. Throws what the scanner throws (SYNTAX_ERROR, LIMIT_EXCEEDED, INTERNAL).
 *
 * @example tokensOf('SELECT 1', tokenSource('SELECT 1'))[1]!.text // → '1'
 */
export function tokensOf(sql: string, tokens?: TokenSource): readonly ScanToken[] {
  if (tokens === undefined) return scanTokens(sql)
  const given = tokens()
  checkTokensOf(sql, given)
  return given
}

/** Remembers what `compute` returns the first time (it throws nothing the caller would want to retry). */
function once<T>(compute: () => T): () => T {
  let value: { readonly value: T } | undefined
  return () => (value ??= { value: compute() }).value
}

/** Keys of the parse tree that hold byte offsets into the statement text. */
const locationKeys = new Set(['location', 'name_location'])

/**
 * The parse tree of `sql`, or undefined with PostgreSQL's message. Locations are converted to string
 * indexes (see the module comment).
 */
function parseText(sql: string): { tree: PgNode; error: undefined } | { tree: undefined; error: string } {
  const answer = parseRaw(sql)
  if (!answer.startsWith('{')) return { tree: undefined, error: answer }
  const toIndex = byteIndexer(sql)
  let tree: PgNode
  try {
    tree = (toIndex === undefined
      ? JSON.parse(answer)
      : JSON.parse(answer, (key, value: unknown) => (locationKeys.has(key) && typeof value === 'number' && value >= 0 ? toIndex(value) : value))) as PgNode
  } catch (error) {
    throw new StrataError('INTERNAL', 'the SQL parser returned an unreadable tree', { cause: error })
  }
  if (toIndex !== undefined) {
    for (const raw of (tree['stmts'] as { stmt_location?: number; stmt_len?: number }[] | undefined) ?? []) {
      const start = raw.stmt_location ?? 0
      if (raw.stmt_len !== undefined && raw.stmt_len > 0) raw.stmt_len = toIndex(start + raw.stmt_len) - toIndex(start)
      if (raw.stmt_location !== undefined) raw.stmt_location = toIndex(start)
    }
  }
  return { tree, error: undefined }
}

/**
 * The parse tree of `sql`; throws SYNTAX_ERROR (with the position) on a syntax error. For SQL the
 * engine wrote, or parts of a text `checkStatementLimits` passed: it checks no limits itself.
 */
export function parseTree(sql: string): PgNode {
  const parsed = parseText(sql)
  if (parsed.tree !== undefined) return parsed.tree
  throw syntaxError(sql, parsed.error)
}

/** A node of PostgreSQL's parse tree: `{ KindName: { …fields } }`. */
export type PgNode = Record<string, unknown>

export interface ParsedStatement {
  /** The statement's own text (without the separating semicolon). */
  readonly text: string
  /** Offset of `text` in the SQL it was split from. */
  readonly offset: number
  /** Subtract from a tree node's `location` to get its position in `text`. */
  readonly locationBase: number
  /** The PostgreSQL tree, or undefined when PostgreSQL's grammar rejected the text (DuckDB may accept it). */
  readonly tree: PgNode | undefined
  /** When `tree` is undefined: why PostgreSQL rejected it. */
  readonly parseError: StrataError | undefined
  /**
   * The scanner's tokens of `text`, offsets relative to `text`: a slice of the whole SQL text's one
   * scan (`sliceTokenSource`), taken when first asked for. Statements nobody asks about cost no scan.
   */
  readonly tokens: TokenSource
}

interface RawStatement {
  readonly stmt?: PgNode
  readonly stmt_location?: number
  readonly stmt_len?: number
}

/**
 * Splits and parses SQL into statements. A statement PostgreSQL's grammar rejects is returned with
 * `parseError` set (the engine then asks DuckDB's parser, for DuckDB-only syntax such as DESCRIBE).
 * An empty text, or one of only `;` and comments, has no statements. Throws LIMIT_EXCEEDED past the
 * bounds `checkStatementLimits` checks, unless the caller checked them already (`limitsChecked`).
 * `tokens` is `sql`'s token source when the caller has one (the same one it gave `checkStatementLimits`
 * and `extractTemporal`, or an `Extraction`'s `tokens` for its cleaned text): every statement's
 * `tokens` comes from it, so the text is scanned once at most.
 *
 * @example
 * const [statement] = parseStatements('SELECT 1')
 */
export function parseStatements(sql: string, options: { readonly limitsChecked?: boolean; readonly tokens?: TokenSource } = {}): ParsedStatement[] {
  const tokens = options.tokens ?? tokenSource(sql)
  if (options.limitsChecked !== true) checkStatementLimits(sql, tokens)
  if (sql.trim() === '') return []
  const whole = tryParse(sql)
  if (whole.tree !== undefined) {
    const statements = (whole.tree['stmts'] as RawStatement[] | undefined) ?? []
    return statements.map((raw) => {
      const start = raw.stmt_location ?? 0
      const text = raw.stmt_len === undefined || raw.stmt_len === 0 ? sql.slice(start) : sql.slice(start, start + raw.stmt_len)
      const leading = text.length - text.trimStart().length
      const own = trimStatement(text)
      const offset = start + leading
      return { text: own, offset, locationBase: offset, tree: raw.stmt, parseError: undefined, tokens: sliceTokenSource(tokens, offset, own) }
    }).filter((statement) => statement.text !== '')
  }
  // The whole text did not parse: split on the scanner's ';' tokens and parse each piece alone,
  // so one DuckDB-only statement does not hide the others. Each piece's error is about its own text.
  const pieces = splitStatements(sql, tokens)
  return pieces.map((piece) => {
    const single = piece.text === sql ? whole : tryParse(piece.text)
    const raw = ((single.tree?.['stmts'] as RawStatement[] | undefined) ?? [])[0]
    return { text: piece.text, offset: piece.offset, locationBase: 0, tree: raw?.stmt, parseError: single.error, tokens: sliceTokenSource(tokens, piece.offset, piece.text) }
  })
}

function trimStatement(text: string): string {
  return text.trim()
}

function tryParse(sql: string): { tree: PgNode | undefined; error: StrataError | undefined } {
  const parsed = parseText(sql)
  return parsed.tree !== undefined ? { tree: parsed.tree, error: undefined } : { tree: undefined, error: syntaxError(sql, parsed.error) }
}

/** PostgreSQL's message, at the position its parser reports (its cursor, in characters). */
function syntaxError(sql: string, message: string): StrataError {
  if (message.startsWith('memory exhausted')) {
    // Bison's own stack (10,000 entries) ran out: only nesting far past limits.expressionDepthMax gets here.
    return new StrataError('LIMIT_EXCEEDED', 'the statement is nested too deeply for the SQL parser', { statement: sql })
  }
  const cursor = parseErrorCursor(sql)
  const position = cursor === undefined ? undefined : characterPositionToIndex(sql, cursor)
  const where = position === undefined ? '' : ` (at position ${position})`
  return new StrataError('SYNTAX_ERROR', `${message}${where}`, { statement: sql, ...(position === undefined ? {} : { position }) })
}

/**
 * Splits at the scanner's top-level ';' tokens (quotes and comments are the scanner's business).
 * `scanned` is `sql`'s tokens or token source, when the caller has them.
 *
 * @example splitStatements('SELECT 1; SELECT 2').map((piece) => piece.offset) // → [0, 10]
 */
export function splitStatements(sql: string, scanned?: readonly ScanToken[] | TokenSource): { text: string; offset: number }[] {
  let tokens: readonly { start: number; end: number; text: string }[]
  try {
    tokens = scanned === undefined ? scanTokens(sql) : typeof scanned === 'function' ? tokensOf(sql, scanned) : scanned
  } catch (error) {
    if ((error instanceof StrataError && error.code !== 'SYNTAX_ERROR') || error instanceof AssertionError) throw error
    const text = sql.trim()
    return text === '' ? [] : [{ text, offset: sql.length - sql.trimStart().length }]
  }
  const pieces: { text: string; offset: number }[] = []
  let start = 0
  const piece = (end: number): void => {
    const raw = sql.slice(start, end)
    const text = raw.trim()
    if (text !== '') pieces.push({ text, offset: start + raw.length - raw.trimStart().length })
  }
  for (const token of tokens) {
    if (token.text === ';') {
      piece(token.start)
      start = token.end
    }
  }
  piece(sql.length)
  return pieces
}

/** What `checkStatementLimits` measured. */
export interface StatementShape {
  /** Tokens, comments not counted, of the whole text. */
  readonly tokens: number
  /** The deepest nesting of expressions (see `checkStatementLimits`). */
  readonly depth: number
}

/** Operators PostgreSQL spells as words; each nests the expression it applies to one level deeper. */
const wordOperators = new Set(['NOT', 'IS', 'ISNULL', 'NOTNULL', 'LIKE', 'ILIKE', 'SIMILAR', 'BETWEEN', 'IN', 'COLLATE', 'AT', 'OVERLAPS', 'ESCAPE'])
/** Left-deep chains of whole queries or tables (`a UNION b UNION c`, `a JOIN b JOIN c`): each link nests one level deeper. */
const chainWords = new Set(['UNION', 'INTERSECT', 'EXCEPT', 'JOIN'])
/** Words that start a new expression at the same level (the previous one's operators no longer nest it). */
const clauseWords = new Set(['SELECT', 'FROM', 'WHERE', 'GROUP', 'HAVING', 'ORDER', 'LIMIT', 'OFFSET', 'FETCH', 'WINDOW', 'ON', 'USING', 'WHEN', 'THEN', 'ELSE', 'SET', 'VALUES', 'RETURNING', 'AS', 'BY', 'FILTER', 'OVER', 'PARTITION', 'DO', 'WITH'])
/** PostgreSQL's operator characters: a token made only of them is an operator. */
const operatorCharacters = new Set('+-*/<>=~!@#%^&|`?:')

function isOperator(text: string): boolean {
  for (const character of text) if (!operatorCharacters.has(character)) return false
  return text.length > 0
}

/**
 * Measures a SQL text on the scanner's tokens. The depth is an upper bound of how deep the parse tree
 * nests expressions, counted per token: `(`, `[` and CASE open a level (closed by `)`, `]`, END); an
 * operator (`+`, `||`, `::`, `=`, NOT, IS, LIKE, …) adds one level to the expression it is in, until a
 * `,`, AND/OR (PostgreSQL and DuckDB keep AND/OR lists flat) or a clause word starts the next one;
 * UNION/INTERSECT/EXCEPT and JOIN add one level to everything after them in their parentheses.
 *
 * @example measureStatement('SELECT 1 + (2 * 3)').depth // → 3
 */
export function measureStatement(sql: string, tokens: readonly ScanToken[] = scanTokens(sql)): StatementShape & { readonly deepest?: number; readonly tooMany?: number } {
  interface Frame {
    readonly base: number
    readonly closer: 'bracket' | 'case'
    chain: number
    links: number
  }
  const frames: Frame[] = [{ base: 0, closer: 'bracket', chain: 0, links: 0 }]
  let count = 0
  let depth = 0
  let deepest: number | undefined
  let tooMany: number | undefined
  for (const token of tokens) {
    if (token.tokenName === 'SQL_COMMENT' || token.tokenName === 'C_COMMENT') continue
    count++
    if (count > limits.statementTokensMax && tooMany === undefined) tooMany = token.start
    const frame = frames[frames.length - 1]!
    const level = frame.base + frame.links + frame.chain
    const text = token.text
    const word = token.keywordName !== 'NO_KEYWORD' ? text.toUpperCase() : ''
    let reached = level
    if (text === '(' || text === '[' || word === 'CASE') {
      reached = level + 1
      frames.push({ base: reached, closer: word === 'CASE' ? 'case' : 'bracket', chain: 0, links: 0 })
    } else if (text === ')' || text === ']') {
      while (frames.length > 1 && frames.pop()!.closer !== 'bracket');
    } else if (word === 'END') {
      if (frame.closer === 'case') frames.pop()
    } else if (text === ',' || text === ';') {
      frame.chain = 0
    } else if (word === 'AND' || word === 'OR') {
      frame.chain = 1
    } else if (clauseWords.has(word)) {
      frame.chain = 0
    } else if (chainWords.has(word)) {
      frame.links++
      reached = level + 1
    } else if (wordOperators.has(word) || (word === '' && token.tokenName !== 'SCONST' && token.tokenName !== 'IDENT' && isOperator(text))) {
      frame.chain++
      reached = level + 1
    }
    if (reached > depth) {
      depth = reached
      if (depth > limits.expressionDepthMax && deepest === undefined) deepest = token.start
    }
  }
  return { tokens: count, depth, ...(deepest === undefined ? {} : { deepest }), ...(tooMany === undefined ? {} : { tooMany }) }
}

/**
 * An upper bound of `measureStatement`'s depth from the characters alone, so that most texts need no
 * scan (the scanner costs two to three times the parse). Every level the measure counts is added by
 * one token — `(`, `[`, an operator (made of operator characters) or a word (CASE, NOT, UNION, …) —
 * so the number of such characters and words bounds it. Quoted text and comments are counted as if
 * they were SQL, which only raises the bound; nothing is decided from it but "no need to scan".
 */
function depthBound(sql: string): number {
  let bound = 0
  let inWord = false
  for (let index = 0; index < sql.length; index++) {
    const code = sql.charCodeAt(index)
    const lower = code | 0x20
    const wordCharacter = (lower >= 0x61 && lower <= 0x7a) || code === 0x5f || code > 0x7f || (inWord && code >= 0x30 && code <= 0x39) || (inWord && code === 0x24)
    if (wordCharacter) {
      if (!inWord) bound++
      inWord = true
      continue
    }
    inWord = false
    if (code === 0x28 || code === 0x5b || operatorCharacters.has(sql.charAt(index))) bound++
  }
  return bound
}

/**
 * Refuses, before the parser sees it, a text past the bounds that keep parsing fast and the parser's
 * WebAssembly instance safe (see `limits.expressionDepthMax`, `statementTokensMax`,
 * `statementLengthMax`). Returns the scanner's tokens when it scanned. A text that cannot pass a
 * bound — at most `statementTokensMax` characters (a token takes one at least) and a `depthBound`
 * within `expressionDepthMax` — is not scanned. When it scans, it scans through `tokens` (`sql`'s
 * token source), which then holds them for every later consumer.
 *
 * @example
 * const tokens = tokenSource(sql)
 * checkStatementLimits(sql, tokens) // throws LIMIT_EXCEEDED past a bound
 * extractTemporal(sql, tokens) // no second scan
 */
export function checkStatementLimits(sql: string, tokens?: TokenSource): readonly ScanToken[] | undefined {
  checkLength(sql)
  if (sql.length <= limits.statementTokensMax && (sql.length <= limits.expressionDepthMax || depthBound(sql) <= limits.expressionDepthMax)) return undefined
  let scanned: readonly ScanToken[]
  try {
    scanned = tokensOf(sql, tokens)
  } catch (error) {
    // An unterminated quote or comment: the parser stops at the same token, before building anything.
    if (error instanceof StrataError && error.code === 'SYNTAX_ERROR') return undefined
    throw error
  }
  const shape = measureStatement(sql, scanned)
  if (shape.tooMany !== undefined) {
    const position = shape.tooMany + 1
    throw new StrataError('LIMIT_EXCEEDED', `the SQL text has ${shape.tokens} tokens; the limit is ${limits.statementTokensMax} (split it into several statements, or pass values as parameters, db.insert or COPY)`, { statement: sql, position })
  }
  if (shape.deepest !== undefined) {
    const position = shape.deepest + 1
    throw new StrataError('LIMIT_EXCEEDED', `expressions nest ${shape.depth} levels deep (at position ${position}); the limit is ${limits.expressionDepthMax} (parentheses, CASE, chained operators, UNION and JOIN chains each add one)`, { statement: sql, position })
  }
  return scanned
}

/** True when the text ends with a ';' token outside quotes and comments (shells use it). */
export function endsWithSemicolon(sql: string): boolean {
  try {
    const tokens = scanTokens(sql)
    return tokens.length > 0 && tokens[tokens.length - 1]!.text === ';'
  } catch {
    return false
  }
}

/** What the scanner says of a positional parameter (`$1`); the tests check it against the scanner. */
const parameterKind = { tokenType: 267, tokenName: 'PARAM', keywordKind: 0, keywordName: 'NO_KEYWORD' } as const

/**
 * Rewrites `$name` parameters to `$1…$n` using the scanner's tokens (PostgreSQL's grammar has only
 * positional parameters; DuckDB and our API accept names). Returns the names in positional order, and
 * the rewritten text's token source (each `$` and name become one PARAM token), so the rewritten text
 * needs no scan of its own. `tokens` is `sql`'s token source, when the caller has one.
 *
 * @example
 * positionalizeNamedParameters('SELECT $a, $b, $a') // → { sql: 'SELECT $1, $2, $1', names: ['a', 'b'], tokens }
 */
export function positionalizeNamedParameters(sql: string, tokens?: TokenSource): { sql: string; names: string[]; tokens: TokenSource } {
  const scanned = tokensOf(sql, tokens)
  const names: string[] = []
  /** Indexes of the `$` tokens rewritten, with the parameter they became. */
  const rewritten: { index: number; text: string }[] = []
  let out = ''
  let copied = 0
  for (let index = 0; index < scanned.length - 1; index++) {
    const dollar = scanned[index]!
    const name = scanned[index + 1]!
    if (dollar.text === '$' && name.start === dollar.end && /^[A-Za-z_][A-Za-z0-9_]*$/.test(name.text)) {
      let position = names.indexOf(name.text)
      if (position < 0) {
        names.push(name.text)
        position = names.length - 1
      }
      out += sql.slice(copied, dollar.start) + `$${position + 1}`
      rewritten.push({ index, text: `$${position + 1}` })
      copied = name.end
      index++
    }
  }
  if (rewritten.length === 0) return { sql, names, tokens: tokens ?? tokenSource(sql, scanned) }
  out += sql.slice(copied)
  // The scanner reads `$` and a number as one PARAM token. Nothing after a name can join the number:
  // a character that could continue a word would have been part of the name.
  const renumbered = (): readonly ScanToken[] => {
    const result: ScanToken[] = []
    let shift = 0
    let next = 0
    for (let index = 0; index < scanned.length; index++) {
      const token = scanned[index]!
      const parameter = rewritten[next]
      if (parameter !== undefined && parameter.index === index) {
        const name = scanned[index + 1]!
        const start = token.start - shift
        result.push({ start, end: start + parameter.text.length, text: parameter.text, ...parameterKind })
        shift += name.end - token.start - parameter.text.length
        next++
        index++
        continue
      }
      result.push(shift === 0 ? token : { ...token, start: token.start - shift, end: token.end - shift })
    }
    return result
  }
  const text = out
  return { sql: text, names, tokens: once(() => tokensOf(text, renumbered)) }
}

/**
 * Renumbers the `$n` parameters a text still uses to `$1…$k` and picks their values, for SQL that
 * lost some parameters to a rewrite (time-travel bounds are bound separately). Token-based.
 */
export function compactParameters(sql: string, params: readonly unknown[]): { sql: string; params: unknown[] } {
  const tokens = scanTokens(sql).filter((token) => token.tokenName === 'PARAM')
  const used = [...new Set(tokens.map((token) => Number(token.text.slice(1))))].sort((left, right) => left - right)
  if (used.length === params.length && used.every((number, index) => number === index + 1)) return { sql, params: [...params] }
  let out = ''
  let copied = 0
  for (const token of tokens) {
    out += sql.slice(copied, token.start) + `$${used.indexOf(Number(token.text.slice(1))) + 1}`
    copied = token.end
  }
  return { sql: out + sql.slice(copied), params: used.map((number) => params[number - 1]) }
}
