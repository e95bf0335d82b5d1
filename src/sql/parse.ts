/**
 * Parsing with PostgreSQL's own parser (libpg_query compiled to WASM, via @pgsql/parser).
 * No regular expressions touch SQL here: statements are split and parameters found by the real
 * scanner's tokens, and trees come from the real grammar.
 */
import { loadModule, parseSync, scanSync } from '@pgsql/parser'
import { StrataError } from '../util/errors.js'
import { limits } from '../util/limits.js'

let loaded: Promise<void> | undefined

type ScanToken = ReturnType<typeof scanSync>['tokens'][number]

/**
 * @pgsql/parser throws any result whose JSON text contains "ERROR", so a statement that merely mentions
 * ERROR (`SELECT 'ERROR'`) looks like a failure; its message is then the valid result itself.
 */
function recovered<T>(error: unknown): T | undefined {
  const message = error instanceof Error ? error.message : ''
  if (!message.startsWith('{')) return undefined
  try {
    return JSON.parse(message) as T
  } catch {
    return undefined
  }
}

/**
 * The PostgreSQL scanner's tokens for `sql`, robust to two faults of the WASM wrapper: a result
 * mentioning ERROR (see {@link recovered}), and a control character inside a quoted string, which it
 * copies raw into its JSON. For the latter a copy of the same length with control characters as
 * spaces is scanned (positions are the same) and each token's text is taken from `sql`.
 *
 * @example scanTokens("SELECT 'a\nb'").map((token) => token.text) // → ['SELECT', "'a\nb'"]
 */
export function scanTokens(sql: string): ScanToken[] {
  try {
    return scanSync(sql).tokens
  } catch (error) {
    const result = recovered<ReturnType<typeof scanSync>>(error)
    if (result !== undefined) return result.tokens
    // A SyntaxError is JSON.parse failing on the raw text; a JSON message that did not parse is the same.
    const rawJson = error instanceof Error && error.message.startsWith('{')
    if (!(error instanceof SyntaxError) && !rawJson) throw error
  }
  // In the copy a newline no longer ends a -- comment, which would swallow the rest: refuse that mix.
  if (sql.includes('--')) {
    throw new StrataError('NOT_SUPPORTED', 'a -- comment in a statement with a control character (a newline, a tab) inside a quoted string: write the comment as /* … */')
  }
  let copy = ''
  for (const char of sql) copy += char.charCodeAt(0) < 32 ? ' ' : char
  let tokens: ScanToken[]
  try {
    tokens = scanSync(copy).tokens
  } catch (error) {
    const result = recovered<ReturnType<typeof scanSync>>(error)
    if (result === undefined) throw error
    tokens = result.tokens
  }
  return tokens.map((token) => ({ ...token, text: sql.slice(token.start, token.end) }))
}

/** The parse tree of `sql` (see {@link recovered} for the ERROR fault it works around); throws on a syntax error. */
export function parseTree(sql: string): PgNode {
  try {
    return parseSync(sql) as unknown as PgNode
  } catch (error) {
    const result = recovered<PgNode>(error)
    if (result !== undefined) return result
    throw error
  }
}

/** The WASM parser must be instantiated once per process before the synchronous calls work. */
export function loadParser(): Promise<void> {
  loaded ??= loadModule()
  return loaded
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
}

interface RawStatement {
  readonly stmt?: PgNode
  readonly stmt_location?: number
  readonly stmt_len?: number
}

/**
 * Splits and parses SQL into statements. A statement PostgreSQL's grammar rejects is returned with
 * `parseError` set (the engine then asks DuckDB's parser, for DuckDB-only syntax such as DESCRIBE).
 *
 * @example
 * const [statement] = parseStatements('SELECT 1')
 */
export function parseStatements(sql: string): ParsedStatement[] {
  if (sql.length > limits.statementLengthMax) {
    throw new StrataError('NOT_SUPPORTED', `statement is ${sql.length} characters; the limit is ${limits.statementLengthMax}`)
  }
  const whole = tryParse(sql)
  if (whole.tree !== undefined) {
    const statements = (whole.tree['stmts'] as RawStatement[] | undefined) ?? []
    return statements.map((raw) => {
      const start = raw.stmt_location ?? 0
      const text = raw.stmt_len === undefined || raw.stmt_len === 0 ? sql.slice(start) : sql.slice(start, start + raw.stmt_len)
      const leading = text.length - text.trimStart().length
      return { text: trimStatement(text), offset: start, locationBase: start + leading, tree: raw.stmt, parseError: undefined }
    }).filter((statement) => statement.text !== '')
  }
  // The whole text did not parse: split on the scanner's ';' tokens and parse each piece alone,
  // so one DuckDB-only statement does not hide the others.
  const pieces = splitStatements(sql)
  if (pieces.length <= 1) {
    return pieces.map((piece) => ({ text: piece.text, offset: piece.offset, locationBase: 0, tree: undefined, parseError: whole.error }))
  }
  return pieces.map((piece) => {
    const single = tryParse(piece.text)
    const raw = ((single.tree?.['stmts'] as RawStatement[] | undefined) ?? [])[0]
    return { text: piece.text, offset: piece.offset, locationBase: 0, tree: raw?.stmt, parseError: single.error }
  })
}

function trimStatement(text: string): string {
  return text.trim()
}

function tryParse(sql: string): { tree: PgNode | undefined; error: StrataError | undefined } {
  try {
    return { tree: parseTree(sql), error: undefined }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    return { tree: undefined, error: syntaxError(sql, message, error) }
  }
}

/** PostgreSQL's messages say "at or near X" or "at end of input"; the scanner finds where X is. */
function syntaxError(sql: string, message: string, cause: unknown): StrataError {
  let position: number | undefined
  if (message.includes('at end of input')) position = sql.trimEnd().length + 1
  else {
    const marker = 'at or near "'
    const at = message.indexOf(marker)
    if (at >= 0) {
      const near = message.slice(at + marker.length, message.lastIndexOf('"'))
      try {
        const token = scanTokens(sql).find((candidate) => candidate.text === near)
        if (token !== undefined) position = token.start + 1
      } catch {
        position = undefined
      }
    }
  }
  const where = position === undefined ? '' : ` (at position ${position})`
  return new StrataError('SYNTAX_ERROR', `${message}${where}`, { cause, statement: sql, ...(position === undefined ? {} : { position }) })
}

/** Splits at the scanner's top-level ';' tokens (quotes and comments are the scanner's business). */
export function splitStatements(sql: string): { text: string; offset: number }[] {
  let tokens: { start: number; end: number; text: string }[]
  try {
    tokens = scanTokens(sql)
  } catch {
    return [{ text: sql.trim(), offset: 0 }]
  }
  const pieces: { text: string; offset: number }[] = []
  let start = 0
  for (const token of tokens) {
    if (token.text === ';') {
      const text = sql.slice(start, token.start).trim()
      if (text !== '') pieces.push({ text, offset: start })
      start = token.end
    }
  }
  const rest = sql.slice(start).trim()
  if (rest !== '') pieces.push({ text: rest, offset: start })
  return pieces
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

/**
 * Rewrites `$name` parameters to `$1…$n` using the scanner's tokens (PostgreSQL's grammar has only
 * positional parameters; DuckDB and our API accept names). Returns the names in positional order.
 */
export function positionalizeNamedParameters(sql: string): { sql: string; names: string[] } {
  const tokens = scanTokens(sql)
  const names: string[] = []
  let out = ''
  let copied = 0
  for (let index = 0; index < tokens.length - 1; index++) {
    const dollar = tokens[index]!
    const name = tokens[index + 1]!
    if (dollar.text === '$' && name.start === dollar.end && /^[A-Za-z_][A-Za-z0-9_]*$/.test(name.text)) {
      let position = names.indexOf(name.text)
      if (position < 0) {
        names.push(name.text)
        position = names.length - 1
      }
      out += sql.slice(copied, dollar.start) + `$${position + 1}`
      copied = name.end
      index++
    }
  }
  out += sql.slice(copied)
  return { sql: out, names }
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
