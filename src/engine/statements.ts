/**
 * The front end as the engine drives it: a text becomes statements once (cached by text, LRU), with
 * the subsystems' clauses cut out and attached first (src/subsystems/seam.ts, `ClauseRecogniser`), and
 * `$name` parameters made positional. Everything after this works on the parsed statements.
 *
 * One pass over the text: every step that needs the scanner's tokens — the bounds, the clause
 * recogniser, `$name` parameters, the split, and later each statement's own recognisers and plans
 * (`statement.tokens`) — takes them from one lazy token source, so the text is scanned once at most,
 * and not at all when nothing needs tokens (a small plain statement).
 */
import { checkStatementLimits, parseStatements, positionalizeNamedParameters, tokenSource, type TokenSource } from '../sql/parse.js'
import { walk } from '../sql/tree.js'
import type { PgNode } from '../sql/parse.js'
import type { ClauseRecogniser, Statement } from '../subsystems/seam.js'
import { StrataError } from '../util/errors.js'
import { limits } from '../util/limits.js'
import { plainRead, type StatementStore } from './statement-store.js'
import { NotRowStore } from '../sql/rowsql.js'

export type Params = readonly unknown[] | Readonly<Record<string, unknown>> | undefined

const noParams: readonly unknown[] = Object.freeze([])

export class Statements {
  /** Parsed statements by SQL text (LRU), so repeated SQL skips the parser. Trees are never mutated. */
  private readonly cache = new Map<string, Statement[]>()
  /** The newest entry of the cache (a repeated statement skips the LRU refresh). */
  private lastText: string | undefined
  private lastStatements: Statement[] | undefined

  constructor(
    private readonly clauses: ClauseRecogniser | undefined,
    private readonly store?: StatementStore,
  ) {}

  /**
   * Whether `text` is one plain read that can be had without the parser: parsed in this process, or
   * stored by an earlier one (then it is read into this cache). For the moments while the parser loads.
   */
  knowsRead(text: string): boolean {
    let statements = text === this.lastText ? this.lastStatements : this.cache.get(text)
    if (statements === undefined) {
      statements = this.store?.lookupSync(text)
      if (statements === undefined) return false
      this.remember(text, statements)
    }
    return statements.length === 1 && statements[0]!.tree !== undefined && statements[0]!.clauses === undefined && plainRead(statements[0]!.tree)
  }

  /** Writes the most recently used statements for the next process (at close). */
  persistSync(tokensReady: boolean): void {
    this.store?.saveSync([...this.cache], tokensReady)
  }

  /**
   * The statements of `text`, parsed once per text: the bounds checked, clauses cut out and attached,
   * PostgreSQL's grammar applied to the rest.
   *
   * @example statements.parse('SELECT 1; SELECT 2').length // 2
   */
  parse(text: string, tokens?: TokenSource): Statement[] {
    // The same text as last time is already the newest entry of the LRU order: nothing to refresh.
    if (text === this.lastText && this.lastStatements !== undefined) return this.lastStatements
    const cached = this.cache.get(text)
    if (cached !== undefined) {
      // Refresh its place in the LRU order.
      this.cache.delete(text)
      this.cache.set(text, cached)
      this.lastText = text
      this.lastStatements = cached
      return cached
    }
    const source = tokens ?? tokenSource(text)
    // The bounds first: the clauses are parsed from parts of the text before the rest is.
    checkStatementLimits(text, source)
    const extraction = this.clauses !== undefined && mayHoldClauses(text, this.clauses) ? this.clauses.extract(text, source) : undefined
    const statements =
      extraction === undefined
        ? parseStatements(text, { limitsChecked: true, tokens: source })
        : extraction.attach(parseStatements(extraction.text, { limitsChecked: true, tokens: extraction.tokens }))
    this.remember(text, statements)
    return statements
  }

  private remember(text: string, statements: Statement[]): void {
    if (this.cache.size >= limits.statementCacheEntriesMax) {
      const oldest = this.cache.keys().next().value
      if (oldest !== undefined) this.cache.delete(oldest)
    }
    this.cache.set(text, statements)
    this.lastText = text
    this.lastStatements = statements
  }

  /** True when a parsed statement's text holds no clause a subsystem would cut out; remembered per tree when the text has a trigger word (trees are never mutated). */
  clauseFree(tree: PgNode, text: string, tokens: TokenSource): boolean {
    // The cheap test first: a text without a trigger word needs no memory (most texts, and a new one
    // each time when clients write values into the text).
    if (this.clauses === undefined || !mayHoldClauses(text, this.clauses)) return true
    let known = this.clauseFreeTrees.get(tree)
    if (known === undefined) {
      known = this.clauses.extract(text, tokens) === undefined
      this.clauseFreeTrees.set(tree, known)
    }
    return known
  }

  private readonly clauseFreeTrees = new WeakMap<PgNode, boolean>()

  /**
   * A call's statements and positional parameters: `$name` parameters made `$1…$n` (SPEC 3), the
   * parameter count checked. `tokens`: the text's token source when the caller has one (a statement
   * the PostgreSQL server split).
   */
  prepare(sql: string, params: Params, tokens?: TokenSource): { readonly statements: Statement[]; readonly positional: readonly unknown[] } {
    if (params === undefined || Array.isArray(params)) {
      const statements = this.parse(sql, tokens)
      const positional = (params as readonly unknown[] | undefined) ?? noParams
      if (positional.length > 0 && statements.length === 1) checkParameterCount(statements[0]!, positional.length)
      return { statements, positional }
    }
    const named = this.positionalized(sql, tokens)
    return { statements: this.parse(named.sql, named.tokens), positional: namedValues(named.names, params as Readonly<Record<string, unknown>>) }
  }

  /** A text's `$name` parameters made positional, remembered per text (a repeated call neither scans nor rewrites it again). */
  positionalized(sql: string, tokens?: TokenSource): { readonly sql: string; readonly names: readonly string[]; readonly tokens: TokenSource } {
    let named = this.namedCache.get(sql)
    if (named === undefined) {
      named = positionalizeNamedParameters(sql, tokens ?? tokenSource(sql))
      if (this.namedCache.size >= limits.statementCacheEntriesMax) {
        const oldest = this.namedCache.keys().next().value
        if (oldest !== undefined) this.namedCache.delete(oldest)
      }
      this.namedCache.set(sql, named)
    }
    return named
  }

  private readonly namedCache = new Map<string, { readonly sql: string; readonly names: readonly string[]; readonly tokens: TokenSource }>()
}

/** A cheap guard before scanning: every clause the recogniser knows contains one of its trigger words. */
function mayHoldClauses(text: string, clauses: ClauseRecogniser): boolean {
  const lower = text.toLowerCase()
  return clauses.triggers.some((word) => lower.includes(word))
}

/** The values of `$name` parameters in positional order (SPEC 3); INVALID_PARAMETER for a name without one. */
function namedValues(names: readonly string[], params: Readonly<Record<string, unknown>>): unknown[] {
  for (const name of names) {
    if (!(name in params)) throw new StrataError('INVALID_PARAMETER', `no value for parameter $${name}`)
  }
  return names.map((name) => params[name])
}

/** The highest `$n` a statement's tree uses, per tree (trees are cached with their text). */
const parameterCounts = new WeakMap<PgNode, number>()

/**
 * More parameters than the statement uses is INVALID_PARAMETER, as DuckDB and PostgreSQL say ("bind
 * message supplies 2 parameters, but prepared statement requires 1"); the row store would ignore the
 * extra ones. A statement with clauses cut out binds only the parameters it uses by design
 * (compactParameters), and one without a PostgreSQL tree is DuckDB's to check.
 */
function checkParameterCount(statement: Statement, given: number): void {
  const tree = statement.tree
  if (tree === undefined || statement.clauses !== undefined) return
  let used = parameterCounts.get(tree)
  if (used === undefined) {
    let highest = 0
    walk(tree, (kind, body) => {
      if (kind === 'ParamRef' && typeof body['number'] === 'number') highest = Math.max(highest, body['number'])
    })
    used = highest
    parameterCounts.set(tree, used)
  }
  if (given > used) throw new StrataError('INVALID_PARAMETER', `${given} parameters given for a statement that uses ${used}`)
}

/** A statement's error as the caller sees it: with the statement's text, NotRowStore as NOT_SUPPORTED. */
export function statementError(error: unknown, statement: Statement): unknown {
  if (error instanceof StrataError) return error.withStatement(statement.written ?? statement.text)
  if (error instanceof NotRowStore) return new StrataError('NOT_SUPPORTED', error.message, { statement: statement.written ?? statement.text, cause: error })
  return error
}
