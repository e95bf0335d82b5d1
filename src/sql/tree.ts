/** Small readers for PostgreSQL parse-tree nodes (`{ Kind: fields }`), shared by the front end. */
import type { PgNode } from './parse.js'

export function nodeKind(node: unknown): string | undefined {
  if (typeof node !== 'object' || node === null) return undefined
  // Object.keys(node) of length 1, without making the array (this runs for every node of every walk).
  let only: string | undefined
  for (const key in node) {
    if (!Object.hasOwn(node, key)) continue
    if (only !== undefined) return undefined
    only = key
  }
  return only
}

/** A node kind starts with an upper-case letter (A_Const, SelectStmt); field names do not. */
function isKindName(key: string): boolean {
  const code = key.charCodeAt(0)
  return code >= 65 && code <= 90
}

export function nodeBody(node: unknown, kind: string): PgNode | undefined {
  if (typeof node !== 'object' || node === null) return undefined
  const body = (node as PgNode)[kind]
  return typeof body === 'object' && body !== null ? (body as PgNode) : undefined
}

export function stringValue(node: unknown): string | undefined {
  const body = nodeBody(node, 'String')
  if (body === undefined) return undefined
  return typeof body['sval'] === 'string' ? body['sval'] : ''
}

export function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : []
}

export function names(value: unknown): string[] {
  return list(value).map((item) => stringValue(item) ?? '')
}

/**
 * Visits every object in the tree (depth first); return false from `visit` to skip a subtree. It
 * reads no constant's value and no location (an A_Const holds no node, a location is a number): a
 * plan template's instrumented tree (src/sql/fingerprint.ts) records such reads, and a walk is not one.
 */
export function walk(node: unknown, visit: (kind: string, body: PgNode) => boolean | void): void {
  if (Array.isArray(node)) {
    for (const item of node) walk(item, visit)
    return
  }
  if (typeof node !== 'object' || node === null) return
  const kind = nodeKind(node)
  if (kind !== undefined && isKindName(kind)) {
    const body = (node as PgNode)[kind]
    if (typeof body === 'object' && body !== null) {
      if (visit(kind, body as PgNode) === false || kind === 'A_Const') return
      walk(body, visit)
      return
    }
  }
  for (const key in node) if (Object.hasOwn(node, key) && key !== 'location' && key !== 'name_location') walk((node as PgNode)[key], visit)
}

/** The JS value of an A_Const (protobuf omits zero values: `{ ival: {} }` is 0). */
export function constantValue(body: PgNode): { value: unknown } {
  if (body['isnull'] === true) return { value: null }
  const ival = body['ival'] as PgNode | undefined
  if (ival !== undefined) return { value: typeof ival['ival'] === 'number' ? ival['ival'] : 0 }
  const fval = body['fval'] as PgNode | undefined
  if (fval !== undefined) {
    const text = String(fval['fval'] ?? '0')
    const number = Number(text)
    // Integer literals beyond int4 arrive as fval; keep them exact.
    if (/^-?\d+$/.test(text) && !Number.isSafeInteger(number)) return { value: BigInt(text) }
    return { value: number }
  }
  const sval = body['sval'] as PgNode | undefined
  if (sval !== undefined) return { value: typeof sval['sval'] === 'string' ? sval['sval'] : '' }
  const boolval = body['boolval'] as PgNode | undefined
  if (boolval !== undefined) return { value: boolval['boolval'] === true }
  const bsval = body['bsval'] as PgNode | undefined
  if (bsval !== undefined) return { value: String(bsval['bsval'] ?? '') }
  return { value: null }
}

/** Quotes an identifier for SQLite and DuckDB (both accept standard double quotes). */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}

/**
 * Conditions ORed as a balanced tree of parentheses: SQLite nests a chain of n ORs n deep and refuses
 * one deeper than 1,000 ("Expression tree is too large"); balanced, n terms nest about log2(n) deep.
 *
 * @example anyOf(['a = 1', 'a = 2', 'a = 3']) // '((a = 1) OR ((a = 2) OR (a = 3)))'
 */
export function anyOf(terms: readonly string[]): string {
  if (terms.length === 0) return 'false'
  if (terms.length === 1) return `(${terms[0]!})`
  const middle = Math.floor(terms.length / 2)
  return `(${anyOf(terms.slice(0, middle))} OR ${anyOf(terms.slice(middle))})`
}

