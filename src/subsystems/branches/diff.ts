/**
 * `strata.diff('t', refA, refB)` (SPEC 10, docs/branches.md "Diff"): one row per key whose row differs
 * between two states of a table — the key's columns under their own names, `diff_type` (`added`,
 * `removed`, `modified`), and `before` (the row in refA) and `after` (the row in refB) as JSON objects
 * of the user columns, NULL on the side that has none. A ref is a branch name (its head) or a
 * transaction id (the session's branch as of that commit). Read on the column store: the two states
 * (docs/branches.md, "Reading a branch") joined by key.
 */
import type { TableDefinition } from '../../sql/catalog.js'
import { tokensOf, type PgNode } from '../../sql/parse.js'
import { constantValue, list, names, nodeBody, quoteIdentifier, walk } from '../../sql/tree.js'
import { StrataError } from '../../util/errors.js'
import type { Statement } from '../seam.js'

/** One ref of a diff: a branch's head, or the session's branch as of a transaction. */
export type DiffRef = { readonly kind: 'branch'; readonly name: string } | { readonly kind: 'tx'; readonly txId: number }

/** A `strata.diff(…)` call in FROM: where its text is, and its arguments. */
export interface DiffCall {
  readonly location: number
  readonly length: number
  readonly table: string
  readonly refs: readonly [DiffRef, DiffRef]
  /** Written with an alias (`AS d`): the derived table keeps it; without one it is called `diff`. */
  readonly aliased: boolean
}

function isDiffCall(node: unknown): PgNode | undefined {
  const call = nodeBody(node, 'FuncCall')
  if (call === undefined) return undefined
  const name = names(call['funcname']).map((part) => part.toLowerCase())
  return name.length === 2 && name[0] === 'strata' && name[1] === 'diff' ? call : undefined
}

function refOf(argument: unknown, position: string): DiffRef {
  const constant = nodeBody(argument, 'A_Const')
  const value = constant === undefined ? undefined : constantValue(constant).value
  if (typeof value === 'string') return { kind: 'branch', name: value }
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return { kind: 'tx', txId: value }
  throw new StrataError('INVALID_ARGUMENT', `strata.diff: the ${position} ref must be a branch name or a transaction id, written as a constant`)
}

/** Every `strata.diff(…)` in the FROM clauses of `tree`, with its text's extent; empty when there is none. */
export function findDiffCalls(statement: Statement, tree: PgNode): DiffCall[] {
  const calls: DiffCall[] = []
  walk(tree, (kind, body) => {
    if (kind !== 'RangeFunction') return
    for (const item of list(body['functions'])) {
      const pair = list(nodeBody(item, 'List')?.['items'] ?? item)
      const call = isDiffCall(pair[0])
      if (call === undefined) continue
      const args = list(call['args'])
      const table = nodeBody(args[0], 'A_Const')
      const tableName = table === undefined ? undefined : constantValue(table).value
      if (args.length !== 3 || typeof tableName !== 'string') throw new StrataError('INVALID_ARGUMENT', "strata.diff takes a table's name and two refs: strata.diff('t', 'main', 'b')")
      const location = Number(call['location'] ?? 0)
      const tokens = tokensOf(statement.text, statement.tokens)
      const start = location - statement.locationBase
      let at = tokens.findIndex((token) => token.start === start)
      let depth = 0
      for (; at < tokens.length; at++) {
        const text = tokens[at]!.text
        if (text === '(') depth++
        else if (text === ')' && --depth === 0) break
      }
      if (at < 0 || at >= tokens.length) throw new StrataError('INTERNAL', 'strata.diff: no end to the call')
      calls.push({ location, length: tokens[at]!.end - start, table: tableName, refs: [refOf(args[1], 'first'), refOf(args[2], 'second')], aliased: body['alias'] !== undefined })
    }
  })
  return calls
}

/** The diff's rows in DuckDB's SQL, from the two states' derived tables (each the user columns). */
export function diffSql(table: TableDefinition, before: string, after: string): string {
  const key = table.primaryKey
  if (key === null) throw new StrataError('NOT_SUPPORTED', `strata.diff of table "${table.name}", which has no primary key (a diff is by key)`)
  const column = (alias: string, name: string): string => `${alias}.${quoteIdentifier(name)}`
  const json = (alias: string): string => `CASE WHEN ${alias}._strata_present THEN json_object(${table.columns.map((one) => `'${one.name.replaceAll("'", "''")}', ${column(alias, one.name)}`).join(', ')}) END`
  const differs = table.columns.map((one) => `${column('a', one.name)} IS DISTINCT FROM ${column('b', one.name)}`).join(' OR ')
  return (
    `SELECT ${key.map((name) => `coalesce(${column('a', name)}, ${column('b', name)}) AS ${quoteIdentifier(name)}`).join(', ')}, ` +
    `CASE WHEN a._strata_present IS NULL THEN 'added' WHEN b._strata_present IS NULL THEN 'removed' ELSE 'modified' END AS diff_type, ` +
    `${json('a')} AS before, ${json('b')} AS after ` +
    `FROM (SELECT *, true AS _strata_present FROM (${before})) AS a FULL OUTER JOIN (SELECT *, true AS _strata_present FROM (${after})) AS b ON ${key.map((name) => `${column('a', name)} = ${column('b', name)}`).join(' AND ')} ` +
    `WHERE a._strata_present IS NULL OR b._strata_present IS NULL OR ${differs}`
  )
}

/** Where each `strata.current_branch()` call stands in `tree`'s text (location and length); empty when there is none. */
export function findCurrentBranchCalls(statement: Statement, tree: PgNode): { readonly location: number; readonly length: number; readonly named: boolean }[] {
  const calls: { location: number; length: number; named: boolean }[] = []
  // A select item that is the call alone, unaliased, is named `current_branch` (as PostgreSQL names a function's column).
  const unnamed = unaliasedCalls(tree)
  walk(tree, (kind, body) => {
    if (kind !== 'FuncCall') return
    const name = names(body['funcname']).map((part) => part.toLowerCase())
    if (name.length !== 2 || name[0] !== 'strata' || name[1] !== 'current_branch') return
    if (list(body['args']).length > 0) throw new StrataError('INVALID_ARGUMENT', 'strata.current_branch() takes no arguments')
    const location = Number(body['location'] ?? 0)
    const tokens = tokensOf(statement.text, statement.tokens)
    const start = location - statement.locationBase
    const open = tokens.findIndex((token) => token.start >= start && token.text === '(')
    const close = tokens.findIndex((token, index) => index > open && token.text === ')')
    if (open < 0 || close < 0) throw new StrataError('INTERNAL', 'strata.current_branch: no end to the call')
    calls.push({ location, length: tokens[close]!.end - start, named: unnamed.has(body) })
  })
  return calls
}

/** A `strata.table_hash('t' [, ref])` call: where its text is, its table, its ref (undefined: the session's branch at its head). */
export interface TableHashCall {
  readonly location: number
  readonly length: number
  readonly table: string
  readonly ref: DiffRef | undefined
  /** A select item that is the call alone, unaliased: its column is named `table_hash`. */
  readonly named: boolean
}

/** Every `strata.table_hash(…)` in `tree`, with its text's extent; empty when there is none. */
export function findTableHashCalls(statement: Statement, tree: PgNode): TableHashCall[] {
  const calls: TableHashCall[] = []
  const unnamed = unaliasedCalls(tree)
  walk(tree, (kind, body) => {
    if (kind !== 'FuncCall') return
    const name = names(body['funcname']).map((part) => part.toLowerCase())
    if (name.length !== 2 || name[0] !== 'strata' || name[1] !== 'table_hash') return
    const args = list(body['args'])
    const table = nodeBody(args[0], 'A_Const')
    const tableName = table === undefined ? undefined : constantValue(table).value
    if (args.length < 1 || args.length > 2 || typeof tableName !== 'string') throw new StrataError('INVALID_ARGUMENT', "strata.table_hash takes a table's name and, optionally, a ref: strata.table_hash('t'), strata.table_hash('t', 'dev')")
    const location = Number(body['location'] ?? 0)
    calls.push({ location, length: callLength(statement, location, 'strata.table_hash'), table: tableName, ref: args.length === 2 ? refOf(args[1], 'second') : undefined, named: unnamed.has(body) })
  })
  return calls
}

/** The length of the call starting at `location` in the statement's text, through its closing parenthesis. */
function callLength(statement: Statement, location: number, what: string): number {
  const tokens = tokensOf(statement.text, statement.tokens)
  const start = location - statement.locationBase
  let at = tokens.findIndex((token) => token.start === start)
  let depth = 0
  for (; at >= 0 && at < tokens.length; at++) {
    const text = tokens[at]!.text
    if (text === '(') depth++
    else if (text === ')' && --depth === 0) break
  }
  if (at < 0 || at >= tokens.length) throw new StrataError('INTERNAL', `${what}: no end to the call`)
  return tokens[at]!.end - start
}

/** The function calls that stand alone, unaliased, as select items: their column takes the function's name. */
function unaliasedCalls(tree: PgNode): Set<unknown> {
  const unnamed = new Set<unknown>()
  walk(tree, (kind, body) => {
    if (kind === 'ResTarget' && body['name'] === undefined) unnamed.add(nodeBody(body['val'], 'FuncCall'))
  })
  return unnamed
}
