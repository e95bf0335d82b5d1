/**
 * PostgreSQL spellings in a SELECT that DuckDB does not take, made into DuckDB's for the column store
 * by text edits at tree locations (applied with the statement's other column-store edits, so the rest
 * of the user's text reaches DuckDB as written). Pure: no I/O.
 *
 * **JSON constructors.** DuckDB has PostgreSQL's under other names: `json_build_array(…)` is
 * `json_array(…)`, `json_build_object(…)` is `json_object(…)` (whose keys must be VARCHAR, where
 * PostgreSQL converts any key to text), and `json_agg(x)` is `to_json(list(x))` — DuckDB's
 * `json_group_array` is a macro that takes no ORDER BY, DISTINCT, FILTER or OVER, while `list` is an
 * aggregate that takes them all. What they share with PostgreSQL, checked against DuckDB
 * (test/api.test.ts, test/drizzle.test.ts): NULL arguments and elements are JSON null; json_agg of no
 * rows is NULL (list() of no rows is NULL); elements keep the aggregate's input order (or its ORDER
 * BY); a JSON value (a JSON column, a nested call) is embedded as JSON, not as a string; a text value
 * is a JSON string; a row is an object. What differs is only spelling inside the JSON text: DuckDB
 * writes it without PostgreSQL's spaces (`{"a":1}`, not `{"a" : 1}`) and a timestamp as
 * `2024-01-02 03:04:05.678` where PostgreSQL writes `2024-01-02T03:04:05.678`.
 *
 * **A parameter as a subquery's LIMIT or OFFSET.** DuckDB refuses `LIMIT $1` in a correlated subquery
 * ("non-constant limit"), which is how ORMs write a to-one relation (Drizzle: `… limit $1` with 1).
 * The parameter's value is written into the text instead when it is a non-negative integer or NULL
 * (LIMIT NULL is no limit and OFFSET NULL none, in both databases); the caller renumbers the rest.
 */
import { StrataError } from '../util/errors.js'
import type { TextEdit } from './edits.js'
import { tokensOf, type ParsedStatement, type PgNode } from './parse.js'
import { duckdbOnlyKeywords } from './deparse.js'
import { StatementSpans } from './spans.js'
import { list, names, nodeBody, nodeKind, walk } from './tree.js'

// ───────────────────────────── JSON constructors ─────────────────────────────

type JsonFunction = 'json_build_array' | 'json_build_object' | 'json_agg'

const jsonFunctions: ReadonlySet<string> = new Set<JsonFunction>(['json_build_array', 'json_build_object', 'json_agg'])

/** A PostgreSQL JSON constructor this module rewrites (`json_agg`, `pg_catalog.json_agg`, …), or undefined. */
function jsonFunctionOf(body: PgNode): JsonFunction | undefined {
  const name = names(body['funcname']).map((part) => part.toLowerCase())
  const simple = name.length === 1 ? name[0]! : name.length === 2 && name[0] === 'pg_catalog' ? name[1]! : undefined
  return simple !== undefined && jsonFunctions.has(simple) ? (simple as JsonFunction) : undefined
}

/**
 * An edit with what it must be ordered against at the same location: edits that close something
 * (`)`, ` AS VARCHAR)`, an alias) come before edits that open something there, inner closes before
 * outer ones, outer opens before inner ones (`owner` is the extent of the thing the edit belongs to).
 */
interface OrderedEdit extends TextEdit {
  readonly side: 'close' | 'open'
  readonly ownerSize: number
  readonly rank: number
}

function compareEdits(left: OrderedEdit, right: OrderedEdit): number {
  if (left.location !== right.location) return left.location - right.location
  if (left.side !== right.side) return left.side === 'close' ? -1 : 1
  if (left.ownerSize !== right.ownerSize) return left.side === 'close' ? left.ownerSize - right.ownerSize : right.ownerSize - left.ownerSize
  return left.rank - right.rank
}

/**
 * Text edits that make PostgreSQL's `json_build_array`, `json_build_object` and `json_agg` run on
 * DuckDB (see the module comment). An unaliased call directly in a select list keeps PostgreSQL's
 * column name (`json_agg`) instead of the name of what it became. Returns no edits when the
 * statement calls none of them.
 *
 * @example
 * const [statement] = parseStatements("SELECT json_agg(x ORDER BY x) FROM t")
 * applyEdits(statement, postgresJsonEdits(statement)) // → 'SELECT to_json(list(x ORDER BY x)) AS "json_agg" FROM t'
 */
export function postgresJsonEdits(statement: Pick<ParsedStatement, 'tree' | 'text' | 'locationBase'> & Partial<Pick<ParsedStatement, 'tokens'>>): TextEdit[] {
  const tree = statement.tree
  if (tree === undefined) return []
  let relevant = false
  walk(tree, (kind, body) => {
    if (kind === 'FuncCall' && jsonFunctionOf(body) !== undefined) relevant = true
    return !relevant
  })
  if (!relevant) return []
  const spans = new StatementSpans(statement)
  const unaliasedTargets = new Set<PgNode>()
  walk(tree, (kind, body) => {
    if (kind !== 'ResTarget' || typeof body['name'] === 'string') return
    const call = nodeBody(body['val'], 'FuncCall')
    if (call !== undefined && jsonFunctionOf(call) !== undefined) unaliasedTargets.add(call)
  })
  const edits: OrderedEdit[] = []
  walk(tree, (kind, body) => {
    if (kind !== 'FuncCall') return
    const name = jsonFunctionOf(body)
    if (name === undefined) return
    if (body['func_variadic'] === true) throw new StrataError('NOT_SUPPORTED', `${name}(VARIADIC …) on the column store`)
    const span = spans.call(Number(body['location']))
    if (span === undefined) throw new StrataError('NOT_SUPPORTED', `${name}(…) written in a form Strata cannot rewrite for the column store`)
    const end = name === 'json_agg' ? spans.clausesEnd(span) : span.call.end
    const size = end - span.name.location
    const replacement = name === 'json_build_array' ? 'json_array' : name === 'json_build_object' ? 'json_object' : 'to_json(list'
    edits.push({ location: span.name.location, length: span.name.end - span.name.location, text: replacement, side: 'open', ownerSize: size, rank: 1 })
    if (name === 'json_agg') edits.push({ location: end, length: 0, text: ')', side: 'close', ownerSize: size, rank: 0 })
    if (name === 'json_build_object') {
      // Keys are the 1st, 3rd, … arguments; PostgreSQL takes any type there and uses its text.
      list(body['args']).forEach((argument, index) => {
        if (index % 2 !== 0 || isStringConstant(argument)) return
        const argumentSpan = span.args[index]
        if (argumentSpan === undefined) throw new StrataError('NOT_SUPPORTED', `${name}(…) written in a form Strata cannot rewrite for the column store`)
        const argumentSize = argumentSpan.end - argumentSpan.location
        edits.push({ location: argumentSpan.location, length: 0, text: 'CAST(', side: 'open', ownerSize: argumentSize, rank: 0 })
        edits.push({ location: argumentSpan.end, length: 0, text: ' AS VARCHAR)', side: 'close', ownerSize: argumentSize, rank: 1 })
      })
    }
    if (unaliasedTargets.has(body)) edits.push({ location: end, length: 0, text: ` AS "${name}"`, side: 'close', ownerSize: size, rank: 2 })
  })
  return edits.sort(compareEdits).map(({ location, length, text }) => ({ location, length, text }))
}

function isStringConstant(node: unknown): boolean {
  return nodeKind(node) === 'A_Const' && nodeBody(node, 'A_Const')!['sval'] !== undefined
}

// ───────────────────────────── parameters as subquery limits ─────────────────────────────

interface LimitParameter {
  readonly location: number
  readonly number: number
}

/** Per tree: the parameters that are a nested SELECT's LIMIT or OFFSET (trees are immutable once parsed). */
const limitParameterCache = new WeakMap<PgNode, readonly LimitParameter[]>()

function limitParameters(tree: PgNode): readonly LimitParameter[] {
  let found = limitParameterCache.get(tree)
  if (found !== undefined) return found
  const top = nodeBody(tree, 'SelectStmt')
  const collected: LimitParameter[] = []
  walk(tree, (kind, body) => {
    if (kind !== 'SelectStmt' || body === top) return
    for (const clause of [body['limitCount'], body['limitOffset']]) {
      const parameter = nodeBody(clause, 'ParamRef')
      if (parameter !== undefined) collected.push({ location: Number(parameter['location']), number: Number(parameter['number']) })
    }
  })
  found = collected
  limitParameterCache.set(tree, found)
  return found
}

/** A LIMIT/OFFSET value as SQL text when it is certainly an integer ≥ 0 or NULL; undefined otherwise. */
function limitLiteral(value: unknown): string | undefined {
  if (value === null) return 'NULL'
  if (typeof value === 'bigint') return value >= 0n ? value.toString() : undefined
  // A string (a text-format wire parameter) only in its plain spelling: `1`, not `01` or `1e0`.
  const number = typeof value === 'number' ? value : typeof value === 'string' && String(Number(value)) === value ? Number(value) : Number.NaN
  return Number.isSafeInteger(number) && number >= 0 ? String(number) : undefined
}

/**
 * Text edits that write the values of parameters used as a subquery's LIMIT or OFFSET into the text
 * (see the module comment). After applying them, `compactParameters` renumbers the parameters left.
 * A value that is not a non-negative integer or NULL stays a parameter (DuckDB then says why not).
 *
 * @example
 * const [statement] = parseStatements('SELECT (SELECT x FROM (SELECT x FROM u WHERE u.k = t.k LIMIT $1) s) FROM t')
 * applyEdits(statement, subqueryLimitEdits(statement, [1])) // → '… WHERE u.k = t.k LIMIT 1) s) FROM t'
 */
export function subqueryLimitEdits(statement: Pick<ParsedStatement, 'tree' | 'text' | 'locationBase'>, params: readonly unknown[]): TextEdit[] {
  if (statement.tree === undefined) return []
  const edits: TextEdit[] = []
  for (const parameter of limitParameters(statement.tree)) {
    if (parameter.number < 1 || parameter.number > params.length) continue
    const literal = limitLiteral(params[parameter.number - 1])
    const written = `$${parameter.number}`
    const start = parameter.location - statement.locationBase
    // The tree's location is where `$n` starts; anything else (a `$name` the parser saw renumbered) is left alone.
    if (literal === undefined || statement.text.slice(start, start + written.length) !== written) continue
    edits.push({ location: parameter.location, length: written.length, text: literal })
  }
  return edits
}

/**
 * Quotes, for DuckDB, the names in a statement's text that PostgreSQL reads as names but DuckDB's
 * grammar as keywords (`at`, `columns`, `map`, `struct`, … : deparse.ts's list): a column called `at`
 * is a syntax error in DuckDB unquoted. Found with the scanner's tokens: such a word not followed by `(`
 * (a function of that name) and, for `at`, not by `TIME` (AT TIME ZONE). Edits that overlap
 * `others` (rewrites of the same text) are left out: those rewrites print their own text.
 *
 * @example
 * applyEdits(statement, duckdbKeywordEdits(statement, [])) // 'SELECT at FROM t' → 'SELECT "at" FROM t'
 */
export function duckdbKeywordEdits(statement: Pick<ParsedStatement, 'text' | 'locationBase'> & Partial<Pick<ParsedStatement, 'tokens'>>, others: readonly TextEdit[]): TextEdit[] {
  const lower = statement.text.toLowerCase()
  if (![...duckdbOnlyKeywords].some((word) => lower.includes(word))) return []
  const tokens = tokensOf(statement.text, statement.tokens).filter((token) => token.tokenName !== 'SQL_COMMENT' && token.tokenName !== 'C_COMMENT')
  const edits: TextEdit[] = []
  tokens.forEach((token, index) => {
    const word = token.text.toLowerCase()
    if (token.text.startsWith('"') || !duckdbOnlyKeywords.has(word)) return
    const next = tokens[index + 1]
    if (next?.text === '(' || (word === 'at' && next?.text.toUpperCase() === 'TIME')) return
    const overlaps = others.some((edit) => token.start < edit.location + Math.max(edit.length, 1) && edit.location < token.end)
    if (!overlaps) edits.push({ location: token.start, length: token.end - token.start, text: `"${word}"` })
  })
  return edits
}
