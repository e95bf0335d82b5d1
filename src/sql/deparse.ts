/**
 * Parse tree → SQL text, for trees the engine rewrites and hands to DuckDB.
 *
 * @pgsql/parser's deparser prints every boolean constant as `false` (its A_Const boolval is lost), which
 * would silently change `WHERE flag = true` into `WHERE flag = false`. So boolean constants are printed
 * as `'true'::boolean` / `'false'::boolean`, which mean the same to DuckDB and PostgreSQL.
 *
 * `x LIKE p ESCAPE e` is kept by PostgreSQL's parser as `x ~~ pg_catalog.like_escape(p, e)`, which
 * the deparser prints so and DuckDB does not know: it is printed as DuckDB's `like_escape(x, p, e)`
 * (`ilike_escape` for ILIKE, under NOT for NOT LIKE).
 *
 * It also quotes only what PostgreSQL reserves, so an identifier that is a keyword to DuckDB alone
 * (`at`, `pivot`, `qualify`, …) would come out bare and fail in DuckDB's parser; such identifiers are
 * quoted afterwards.
 */
import { scanTokens } from './parse.js'
import type { PgNode } from './parse.js'
import { nodeBody } from './tree.js'
import { deparseRaw } from './wasm.js'

function booleanCast(value: boolean, location: unknown): PgNode {
  return {
    TypeCast: {
      arg: { A_Const: { sval: { sval: value ? 'true' : 'false' }, location } },
      typeName: { names: [{ String: { sval: 'pg_catalog' } }, { String: { sval: 'bool' } }], typemod: -1, location },
      location,
    },
  }
}

/**
 * `x [NOT] [I]LIKE p ESCAPE e`, which PostgreSQL's parser keeps as `x ~~ pg_catalog.like_escape(p, e)`
 * and the deparser prints so, as DuckDB's `[NOT] like_escape(x, p, e)` (`ilike_escape` for ILIKE):
 * DuckDB has no `pg_catalog.like_escape`. Undefined for any other node.
 */
function likeEscape(node: unknown): PgNode | undefined {
  const expression = nodeBody(node, 'A_Expr')
  if (expression === undefined || (expression['kind'] !== 'AEXPR_LIKE' && expression['kind'] !== 'AEXPR_ILIKE')) return undefined
  const call = nodeBody(expression['rexpr'], 'FuncCall')
  const names = (call?.['funcname'] as unknown[] | undefined)?.map((name) => nodeBody(name, 'String')?.['sval'])
  const args = call?.['args'] as unknown[] | undefined
  if (names?.at(-1) !== 'like_escape' || args?.length !== 2) return undefined
  const operator = (expression['name'] as unknown[] | undefined)?.map((name) => nodeBody(name, 'String')?.['sval']).join('')
  const escaped: PgNode = {
    FuncCall: {
      funcname: [{ String: { sval: expression['kind'] === 'AEXPR_ILIKE' ? 'ilike_escape' : 'like_escape' } }],
      args: [withBooleanCasts(expression['lexpr']), withBooleanCasts(args[0]), withBooleanCasts(args[1])],
      funcformat: 'COERCE_EXPLICIT_CALL',
      location: expression['location'],
    },
  }
  return operator?.startsWith('!') === true ? { BoolExpr: { boolop: 'NOT_EXPR', args: [escaped], location: expression['location'] } } : escaped
}

/** A copy of the tree with boolean constants spelled as casts (see the module comment), and LIKE … ESCAPE as DuckDB spells it (likeEscape). */
function withBooleanCasts(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withBooleanCasts)
  if (typeof node !== 'object' || node === null) return node
  const constant = nodeBody(node, 'A_Const')
  if (constant !== undefined && Object.keys(node).length === 1 && constant['boolval'] !== undefined) {
    const boolval = constant['boolval'] as PgNode
    return booleanCast(boolval['boolval'] === true, constant['location'])
  }
  const like = likeEscape(node)
  if (like !== undefined) return like
  const copy: PgNode = {}
  for (const [key, value] of Object.entries(node)) copy[key] = withBooleanCasts(value)
  return copy
}

/**
 * Words DuckDB reserves (or allows only as types and functions) that PostgreSQL does not reserve, from
 * DuckDB's `duckdb_keywords()`: bare, they cannot name a column in DuckDB.
 */
export const duckdbOnlyKeywords: ReadonlySet<string> = new Set([
  'describe', 'lambda', 'pivot', 'pivot_longer', 'pivot_wider', 'qualify', 'show', 'summarize', 'unpivot',
  'anti', 'asof', 'at', 'columns', 'generated', 'glob', 'map', 'positional', 'semi', 'struct', 'try_cast', 'unpack',
])

/**
 * Quotes DuckDB-only keywords used as names in deparsed text. The deparser prints keywords in upper
 * case and names as written, so a lower-case such word not followed by `(` (a function call) is a name.
 */
function quoteDuckdbKeywords(text: string): string {
  if (![...duckdbOnlyKeywords].some((word) => text.includes(word))) return text
  let tokens: ReturnType<typeof scanTokens>
  try {
    tokens = scanTokens(text)
  } catch {
    // (Only a -- comment mixed with a control character in a string refuses to scan; the deparser writes no comments.)
    return text
  }
  let out = ''
  let copied = 0
  tokens.forEach((token, index) => {
    if (!duckdbOnlyKeywords.has(token.text) || tokens[index + 1]?.text === '(') return
    out += `${text.slice(copied, token.start)}"${token.text}"`
    copied = token.end
  })
  return copied === 0 ? text : out + text.slice(copied)
}

/**
 * SQL text of one statement tree (`{ SelectStmt: … }` and the like).
 *
 * @example deparseStatement(parseStatements('SELECT 1 WHERE true')[0].tree) // → "SELECT 1 WHERE 'true'::boolean"
 */
export function deparseStatement(tree: unknown): string {
  return quoteDuckdbKeywords(deparseRaw({ version: 170004, stmts: [{ stmt: withBooleanCasts(tree) }] }))
}
