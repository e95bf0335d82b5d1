/**
 * Parse tree → SQL text, for trees the engine rewrites and hands to DuckDB.
 *
 * @pgsql/parser's deparser prints every boolean constant as `false` (its A_Const boolval is lost), which
 * would silently change `WHERE flag = true` into `WHERE flag = false`. So boolean constants are printed
 * as `'true'::boolean` / `'false'::boolean`, which mean the same to DuckDB and PostgreSQL.
 */
import { deparseSync } from '@pgsql/parser'
import type { PgNode } from './parse.js'
import { nodeBody } from './tree.js'

function booleanCast(value: boolean, location: unknown): PgNode {
  return {
    TypeCast: {
      arg: { A_Const: { sval: { sval: value ? 'true' : 'false' }, location } },
      typeName: { names: [{ String: { sval: 'pg_catalog' } }, { String: { sval: 'bool' } }], typemod: -1, location },
      location,
    },
  }
}

/** A copy of the tree with boolean constants spelled as casts (see the module comment). */
function withBooleanCasts(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withBooleanCasts)
  if (typeof node !== 'object' || node === null) return node
  const constant = nodeBody(node, 'A_Const')
  if (constant !== undefined && Object.keys(node).length === 1 && constant['boolval'] !== undefined) {
    const boolval = constant['boolval'] as PgNode
    return booleanCast(boolval['boolval'] === true, constant['location'])
  }
  const copy: PgNode = {}
  for (const [key, value] of Object.entries(node)) copy[key] = withBooleanCasts(value)
  return copy
}

/**
 * SQL text of one statement tree (`{ SelectStmt: … }` and the like).
 *
 * @example deparseStatement(parseStatements('SELECT 1 WHERE true')[0].tree) // → "SELECT 1 WHERE 'true'::boolean"
 */
export function deparseStatement(tree: unknown): string {
  return deparseSync({ version: 170004, stmts: [{ stmt: withBooleanCasts(tree) }] } as never)
}
