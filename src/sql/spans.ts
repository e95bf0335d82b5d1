/**
 * Where a function call's pieces sit in a statement's text, found with PostgreSQL's scanner tokens
 * (never by pattern matching). Parse-tree nodes carry only a start `location`; rewrites that edit
 * text at tree locations (time-series functions) need the end of a call and its argument spans too.
 */
import { scanTokens, tokensOf } from './parse.js'
import { limits } from '../util/limits.js'
import type { ParsedStatement } from './parse.js'

interface Token {
  readonly start: number
  readonly end: number
  readonly text: string
}

/** A span of the statement's text, in tree-location coordinates (add nothing, subtract nothing). */
export interface Span {
  readonly location: number
  readonly end: number
}

export interface CallSpan {
  /** The function name token(s), from the call's location to the end of the name. */
  readonly name: Span
  /** The whole call, from its name to just after its closing parenthesis. */
  readonly call: Span
  /** The opening and closing parentheses. */
  readonly open: Span
  readonly close: Span
  /** Each argument, from its first token to the end of its last. */
  readonly args: readonly Span[]
}

/**
 * The scanner's tokens of one statement, to measure the calls a rewrite edits: the statement's own
 * `tokens` when it has them (a `ParsedStatement` does, from its text's one scan), else a scan of its text.
 */
export class StatementSpans {
  private readonly tokens: readonly Token[]
  private readonly base: number

  constructor(private readonly statement: Pick<ParsedStatement, 'text' | 'locationBase'> & Partial<Pick<ParsedStatement, 'tokens'>>) {
    this.base = statement.locationBase
    // Comments are tokens too; a rewrite never needs them and they must not count as arguments.
    this.tokens = tokensOf(statement.text, statement.tokens).filter(
      (token) => token.tokenName !== 'SQL_COMMENT' && token.tokenName !== 'C_COMMENT',
    )
  }

  /** The source text of a span. */
  text(span: Span): string {
    return this.statement.text.slice(span.location - this.base, span.end - this.base)
  }

  /** The start (tree coordinates) of the statement's text. */
  get start(): number {
    return this.base
  }

  /** The end (tree coordinates) of the statement's text. */
  get end(): number {
    return this.base + this.statement.text.length
  }

  /**
   * The spans of the function call whose node location is `location`, or undefined when the text
   * there is not `name(…)` (a call written with a schema, or a syntax form that is not a call).
   */
  call(location: number): CallSpan | undefined {
    const first = this.indexAt(location - this.base)
    if (first < 0) return undefined
    let open = first + 1
    while (open < this.tokens.length && this.tokens[open]!.text !== '(') {
      // A qualified name: name . name
      if (this.tokens[open]!.text !== '.' && this.tokens[open - 1]!.text !== '.') return undefined
      open++
    }
    if (open >= this.tokens.length) return undefined
    const args: Span[] = []
    let depth = 0
    let argumentStart = -1
    let argumentEnd = -1
    for (let index = open; index < this.tokens.length; index++) {
      const token = this.tokens[index]!
      if (token.text === '(' || token.text === '[') {
        depth++
        if (depth === 1) continue
      } else if (token.text === ')' || token.text === ']') {
        depth--
        if (depth === 0) {
          if (argumentStart >= 0) args.push(this.span(argumentStart, argumentEnd))
          return {
            name: this.span(first, open - 1),
            call: this.span(first, index),
            open: this.span(open, open),
            close: this.span(index, index),
            args,
          }
        }
      } else if (token.text === ',' && depth === 1) {
        if (argumentStart >= 0) args.push(this.span(argumentStart, argumentEnd))
        argumentStart = -1
        continue
      }
      if (argumentStart < 0) argumentStart = index
      argumentEnd = index
    }
    return undefined
  }

  /**
   * Where an aggregate call ends once its trailing clauses are counted: after `FILTER (…)` and
   * `OVER (…)` / `OVER name` when they follow the closing parenthesis, else the call's own end.
   */
  clausesEnd(call: CallSpan): number {
    let index = this.indexAt(call.close.location - this.base) + 1
    let end = call.call.end
    const word = (at: number): string => this.tokens[at]?.text.toLowerCase() ?? ''
    // After the opening parenthesis at `at`: the index of its matching closing one, or -1.
    const matching = (at: number): number => {
      let depth = 0
      for (let scan = at; scan < this.tokens.length; scan++) {
        const text = this.tokens[scan]!.text
        if (text === '(' || text === '[') depth++
        else if (text === ')' || text === ']') {
          depth--
          if (depth === 0) return scan
        }
      }
      return -1
    }
    if (word(index) === 'filter' && word(index + 1) === '(') {
      const close = matching(index + 1)
      if (close < 0) return end
      end = this.tokens[close]!.end + this.base
      index = close + 1
    }
    if (word(index) === 'over') {
      if (word(index + 1) === '(') {
        const close = matching(index + 1)
        if (close >= 0) end = this.tokens[close]!.end + this.base
      } else if (index + 1 < this.tokens.length) end = this.tokens[index + 1]!.end + this.base
    }
    return end
  }

  private span(firstIndex: number, lastIndex: number): Span {
    return { location: this.tokens[firstIndex]!.start + this.base, end: this.tokens[lastIndex]!.end + this.base }
  }

  private indexAt(position: number): number {
    let low = 0
    let high = this.tokens.length - 1
    while (low <= high) {
      const middle = (low + high) >> 1
      const start = this.tokens[middle]!.start
      if (start === position) return middle
      if (start < position) low = middle + 1
      else high = middle - 1
    }
    return -1
  }
}

const keywordCache = new Map<string, boolean>()

/** True when PostgreSQL's scanner reads `word` as a keyword (DuckDB quotes those in column names). */
export function isKeyword(word: string): boolean {
  const cached = keywordCache.get(word)
  if (cached !== undefined) return cached
  let keyword = false
  try {
    const tokens = scanTokens(word) as { keywordKind?: number; text: string }[]
    keyword = tokens.length === 1 && (tokens[0]!.keywordKind ?? 0) !== 0
  } catch {
    keyword = false
  }
  if (keywordCache.size < limits.keywordCacheEntriesMax) keywordCache.set(word, keyword)
  return keyword
}
