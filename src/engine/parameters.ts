/**
 * Checks on the parameters a call hands the engine, before either store sees them: their shape (an
 * array for `$1, $2, …`, a plain object for `$name`), how deeply a value nests (the stores' value
 * conversions recurse per level), and that a parameter used as a LIMIT or OFFSET is a row count.
 * SQLite and DuckDB would otherwise each fail in their own way (SQLite even runs `LIMIT -1` as no
 * limit, where DuckDB refuses it), or with a JavaScript stack overflow.
 */
import type { PgNode } from '../sql/parse.js'
import { nodeBody, nodeKind, walk } from '../sql/tree.js'
import { StrataError } from '../util/errors.js'
import { limits } from '../util/limits.js'

/** Objects a parameter value may nest: arrays and plain objects (JSON), not Dates or byte arrays. */
function isContainer(value: unknown): value is object {
  if (typeof value !== 'object' || value === null) return false
  if (Array.isArray(value)) return true
  const prototype = Object.getPrototypeOf(value) as unknown
  return prototype === Object.prototype || prototype === null
}

/** True for an array, or an object made by `{…}` or `Object.create(null)`. */
function isPlainParameters(value: unknown): boolean {
  return Array.isArray(value) || (isContainer(value) && !Array.isArray(value))
}

/** Whether `value` nests arrays and objects more than `limit` levels deep; iterative, so any depth is safe to ask about. */
function nestsDeeperThan(value: unknown, limit: number): boolean {
  if (!isContainer(value)) return false
  const pending: [unknown, number][] = [[value, 1]]
  while (pending.length > 0) {
    const [current, depth] = pending.pop()!
    if (depth > limit) return true
    for (const child of Array.isArray(current) ? current : Object.values(current as object)) {
      if (isContainer(child)) pending.push([child, depth + 1])
    }
  }
  return false
}

/**
 * Throws INVALID_ARGUMENT when `params` is neither undefined, an array nor a plain object, and
 * INVALID_PARAMETER when a value nests deeper than `limits.parameterNestingMax`.
 *
 * @example checkParameters('abc') // throws INVALID_ARGUMENT
 */
export function checkParameters(params: unknown): void {
  if (params === undefined) return
  if (!isPlainParameters(params)) {
    const what = params === null ? 'null' : params instanceof Date ? 'a Date' : typeof params === 'object' ? `a ${(params as object).constructor?.name ?? 'object'}` : `a ${typeof params}`
    throw new StrataError('INVALID_ARGUMENT', `params must be an array ($1, $2, …) or a plain object ($name); got ${what}`)
  }
  const tooDeep = (name: string): StrataError => new StrataError('INVALID_PARAMETER', `parameter ${name} is nested more than ${limits.parameterNestingMax} levels deep`)
  // Most values are scalars: only a container is walked, and a name made only for the error.
  if (Array.isArray(params)) {
    for (let index = 0; index < params.length; index++) {
      const value: unknown = params[index]
      if (typeof value === 'object' && value !== null && nestsDeeperThan(value, limits.parameterNestingMax)) throw tooDeep(`$${index + 1}`)
    }
    return
  }
  for (const [name, value] of Object.entries(params as object)) {
    if (nestsDeeperThan(value, limits.parameterNestingMax)) throw tooDeep(`$${name}`)
  }
}

const rowCountMax = 2n ** 63n - 1n

/** A LIMIT/OFFSET value both stores read the same way: NULL (no bound) or a whole number from 0 to 2^63 − 1. */
function isRowCount(value: unknown): boolean {
  if (value === null || value === undefined) return true
  let count: bigint
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return false
    count = BigInt(value)
  } else if (typeof value === 'bigint') count = value
  else if (typeof value === 'string') {
    // The PostgreSQL protocol sends parameters as text.
    const text = value.trim()
    if (text === '' || ![...text].every((character) => character >= '0' && character <= '9')) return false
    count = BigInt(text)
  } else return false
  return count >= 0n && count <= rowCountMax
}

/** The `$n` (0-based) used directly as a LIMIT or OFFSET anywhere in a statement, with the clause. */
export function rowCountParameters(tree: PgNode): readonly { readonly index: number; readonly clause: 'LIMIT' | 'OFFSET' }[] {
  const found: { index: number; clause: 'LIMIT' | 'OFFSET' }[] = []
  walk(tree, (kind, body) => {
    if (kind !== 'SelectStmt') return
    for (const [key, clause] of [['limitCount', 'LIMIT'], ['limitOffset', 'OFFSET']] as const) {
      const node = body[key]
      if (nodeKind(node) === 'ParamRef') found.push({ index: Number(nodeBody(node, 'ParamRef')!['number']) - 1, clause })
    }
  })
  return found
}

/**
 * Throws INVALID_PARAMETER for a LIMIT or OFFSET parameter that is not a row count.
 *
 * @example checkRowCounts([{ index: 0, clause: 'LIMIT' }], [1e300]) // throws INVALID_PARAMETER
 */
export function checkRowCounts(uses: readonly { readonly index: number; readonly clause: 'LIMIT' | 'OFFSET' }[], params: readonly unknown[]): void {
  for (const { index, clause } of uses) {
    const value = params[index]
    if (!isRowCount(value)) {
      const shown = typeof value === 'string' ? `'${value.length > 40 ? `${value.slice(0, 40)}…` : value}'` : String(value)
      throw new StrataError('INVALID_PARAMETER', `${clause} $${index + 1} must be a row count (a whole number from 0 to ${rowCountMax}, or NULL); got ${shown}`)
    }
  }
}
