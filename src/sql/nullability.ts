/**
 * Which result columns of a SELECT can hold NULL (the HTTP API's `nullable`), inferred from the parse
 * tree and the catalog, as PostgreSQL's and DataFusion's planners do: a column is non-nullable only when
 * that is provable; anything this does not understand says nullable.
 *
 * Provably non-null:
 * - a column of a table that is declared NOT NULL or is in its primary key — unless the table is on
 *   the NULL-extended side of an outer join (the right of LEFT, the left of RIGHT, both of FULL);
 * - the system-time and valid-time starts (`_system_from`, `_valid_from`);
 * - a non-NULL constant, `count(…)`, `IS [NOT] NULL` and `IS [NOT] TRUE` tests, and casts, arithmetic
 *   (+ − *), concatenation, comparisons and AND/OR/NOT of non-null operands, `coalesce` with a non-null
 *   argument.
 *
 * Everything else — other functions and aggregates (sum of no rows is NULL), division (DuckDB gives
 * NULL for x / 0), subqueries, set operations, ROLLUP/CUBE/GROUPING SETS, CTEs, views, derived tables —
 * is nullable. Pure: no I/O.
 */
import type { TableDefinition } from './catalog.js'
import type { PgNode } from './parse.js'
import { list, nodeBody, nodeKind, stringValue } from './tree.js'

/** The catalog as this needs it: a table by name, or undefined. */
export type TableLookup = (name: string) => TableDefinition | undefined

interface Relation {
  /** The name columns are qualified with: the alias, else the table name. */
  readonly name: string
  /** undefined: a relation whose columns are not known here (a CTE, a view, a subquery, a function). */
  readonly table: TableDefinition | undefined
  /** On the NULL-extended side of an outer join. */
  nullExtended: boolean
}

/** Columns whose nullability is fixed, whatever the table says: the temporal columns (docs/time-model.md). */
const temporalColumns: ReadonlyMap<string, boolean> = new Map([
  ['_system_from', false],
  ['_system_to', true],
  ['_valid_from', false],
  ['_valid_to', true],
])

/**
 * One boolean per result column (true: may be NULL), or undefined when the column list itself cannot
 * be worked out here (a `*` over a relation with unknown columns, USING joins, set operations).
 *
 * @example
 * inferNullable(selectBody('SELECT id, name, count(*) FROM t GROUP BY 1, 2'), lookup)  // [false, true, false]
 */
export function inferNullable(select: PgNode, lookup: TableLookup): boolean[] | undefined {
  if (select['op'] !== undefined && select['op'] !== 'SETOP_NONE') return undefined
  if (select['valuesLists'] !== undefined) return undefined
  // ROLLUP, CUBE and GROUPING SETS put NULL in grouped columns of their super-aggregate rows.
  if (list(select['groupClause']).some((item) => nodeKind(item) === 'GroupingSet')) return undefined
  const cteNames = new Set<string>()
  const withClause = select['withClause'] as PgNode | undefined
  for (const cte of list(withClause?.['ctes'])) {
    const name = nodeBody(cte, 'CommonTableExpr')?.['ctename']
    if (typeof name === 'string') cteNames.add(name)
  }
  const relations: Relation[] = []
  for (const item of list(select['fromClause'])) if (!addRelations(item, relations, lookup, cteNames)) return undefined
  const result: boolean[] = []
  for (const target of list(select['targetList'])) {
    const body = nodeBody(target, 'ResTarget')
    if (body === undefined) return undefined
    const value = body['val']
    const star = starRelations(value, relations)
    if (star !== undefined) {
      if (star === 'unknown') return undefined
      for (const relation of star) for (const column of relation.table!.columns) result.push(columnNullable(relation, column.name))
      continue
    }
    result.push(expressionNullable(value, relations))
  }
  return result
}

/** Adds a FROM item's relations; false when the item's columns under `*` could not be listed (USING, NATURAL). */
function addRelations(item: unknown, relations: Relation[], lookup: TableLookup, cteNames: ReadonlySet<string>): boolean {
  const kind = nodeKind(item)
  const body = kind === undefined ? undefined : nodeBody(item, kind)
  if (kind === 'RangeVar' && body !== undefined) {
    const relname = String(body['relname'])
    const schema = body['schemaname']
    const alias = body['alias'] as PgNode | undefined
    const aliasName = typeof alias?.['aliasname'] === 'string' ? alias['aliasname'] : relname
    // A column alias list renames the columns: their names are then not the table's.
    const renamed = list(alias?.['colnames']).length > 0
    const ours = (schema === undefined || schema === 'main' || schema === 'public') && !cteNames.has(relname)
    relations.push({ name: aliasName, table: ours && !renamed ? lookup(relname) : undefined, nullExtended: false })
    return true
  }
  if (kind === 'JoinExpr' && body !== undefined) {
    if (list(body['usingClause']).length > 0 || body['isNatural'] === true) return false
    const left: Relation[] = []
    const right: Relation[] = []
    if (!addRelations(body['larg'], left, lookup, cteNames) || !addRelations(body['rarg'], right, lookup, cteNames)) return false
    const type = body['jointype']
    if (type === 'JOIN_LEFT' || type === 'JOIN_FULL') for (const relation of right) relation.nullExtended = true
    if (type === 'JOIN_RIGHT' || type === 'JOIN_FULL') for (const relation of left) relation.nullExtended = true
    // A join with an alias hides its relations' names; keep it simple and know nothing of its columns.
    if (body['alias'] !== undefined) {
      relations.push({ name: String((body['alias'] as PgNode)['aliasname']), table: undefined, nullExtended: false })
      return true
    }
    relations.push(...left, ...right)
    return true
  }
  // Derived tables, table functions, …: a relation of unknown columns, under its alias if it has one.
  const alias = body?.['alias'] as PgNode | undefined
  relations.push({ name: typeof alias?.['aliasname'] === 'string' ? alias['aliasname'] : '', table: undefined, nullExtended: false })
  return true
}

/** For `*` or `t.*`: the relations it expands to, 'unknown' when one has unknown columns, undefined when `value` is no star. */
function starRelations(value: unknown, relations: readonly Relation[]): readonly Relation[] | 'unknown' | undefined {
  const reference = nodeBody(value, 'ColumnRef')
  if (reference === undefined) return undefined
  const fields = list(reference['fields'])
  if (nodeKind(fields[fields.length - 1]) !== 'A_Star') return undefined
  const chosen = fields.length === 1 ? relations : relations.filter((relation) => relation.name === stringValue(fields[fields.length - 2]))
  if (chosen.length === 0 || chosen.some((relation) => relation.table === undefined)) return 'unknown'
  return chosen
}

function columnNullable(relation: Relation, name: string): boolean {
  if (relation.nullExtended) return true
  const fixed = temporalColumns.get(name)
  if (fixed !== undefined) return fixed
  const table = relation.table
  if (table === undefined) return true
  const column = table.columns.find((candidate) => candidate.name === name)
  if (column === undefined) return true
  return !(column.notNull || (table.primaryKey?.includes(name) ?? false))
}

function expressionNullable(value: unknown, relations: readonly Relation[]): boolean {
  const kind = nodeKind(value)
  const body = kind === undefined ? undefined : nodeBody(value, kind)
  if (kind === undefined || body === undefined) return true
  switch (kind) {
    case 'A_Const':
      return body['isnull'] === true
    case 'TypeCast':
      return expressionNullable(body['arg'], relations)
    case 'ColumnRef': {
      const fields = list(body['fields']).map(stringValue)
      if (fields.some((field) => field === undefined)) return true
      const name = fields[fields.length - 1]!
      if (fields.length >= 2) {
        const owner = relations.filter((relation) => relation.name === fields[fields.length - 2])
        return owner.length === 1 ? columnNullable(owner[0]!, name) : true
      }
      // Unqualified: it must belong to exactly one relation, and no relation of unknown columns may hide it.
      if (relations.some((relation) => relation.table === undefined)) return true
      const owners = relations.filter((relation) => relation.table!.columns.some((column) => column.name === name) || temporalColumns.has(name))
      return owners.length === 1 ? columnNullable(owners[0]!, name) : true
    }
    case 'A_Expr': {
      if (body['kind'] !== 'AEXPR_OP') return true
      const operator = list(body['name']).map(stringValue)
      if (operator.length !== 1 || !['+', '-', '*', '||', '=', '<>', '!=', '<', '>', '<=', '>='].includes(operator[0]!)) return true
      // Unary minus has no left operand.
      return (body['lexpr'] !== undefined && expressionNullable(body['lexpr'], relations)) || expressionNullable(body['rexpr'], relations)
    }
    case 'BoolExpr':
      return list(body['args']).some((argument) => expressionNullable(argument, relations))
    case 'NullTest':
    case 'BooleanTest':
      return false
    case 'CoalesceExpr':
      return list(body['args']).every((argument) => expressionNullable(argument, relations))
    case 'FuncCall': {
      const name = list(body['funcname']).map(stringValue)
      const bare = name[name.length - 1]?.toLowerCase()
      if (bare === 'count') return false
      if (bare === 'coalesce') return list(body['args']).every((argument) => expressionNullable(argument, relations))
      return true
    }
    default:
      return true
  }
}
