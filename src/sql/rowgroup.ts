/**
 * Grouped SELECTs for the row store, when a caller forces one there (`{ engine: 'row' }`; routing
 * still sends aggregates to DuckDB): one table, GROUP BY columns and `time_bucket(…)`, the aggregates
 * count/sum/min/max/avg and `first(v, ts)`/`last(v, ts)`, ORDER BY output columns, and gap filling.
 * Every construct compiles to SQLite with DuckDB's meaning, result types and column names, or is
 * refused naming it (never a different answer):
 *
 * - `count` → BIGINT; `sum` of SMALLINT/INTEGER/BIGINT → HUGEINT (DuckDB's type; the values are the
 *   same integers), of DOUBLE → DOUBLE; `avg` of integers or DOUBLE → DOUBLE; `min`/`max` keep the
 *   type. `sum`/`avg` of DECIMAL are refused: DuckDB sums into DECIMAL(38,s), beyond SQLite's 64-bit
 *   integers; `min`/`max` of a DECIMAL kept as text (precision over 18) too.
 * - An unaliased column is named as DuckDB names it: `count_star()`, `sum(v)`, `min("value")`,
 *   `time_bucket(CAST('5 minutes' AS INTERVAL), ts)`; `first(v, ts)` on both stores (timeseries.ts).
 *
 * rowsql.ts calls `compileGrouping` from compileSelect and keeps the FROM and WHERE parts its own.
 */
import { StrataError } from '../util/errors.js'
import type { TableDefinition } from './catalog.js'
import { analyzeGapfill, type GapfillBound, type GapfillPlan } from './gapfill.js'
import type { PgNode } from './parse.js'
import type { Binder, OutputColumn, RowPlan } from './plan.js'
import {
  bucketWidth,
  columnReferenceName,
  defaultOriginMicros,
  defaultOriginMonths,
  firstLastCall,
  firstLastColumnName,
  intervalFromNode,
  sqliteFunctionNames,
  type BucketWidth,
} from './timeseries.js'
import { constantValue, list, names, nodeBody, nodeKind, quoteIdentifier } from './tree.js'
import { decimalIsScaled, parseTimestampMicros, toStorage, typeLabel, type SqlType } from './types.js'

/** What compileSelect lends the grouped compiler: its table scope, without its internals. */
export interface GroupingScope {
  readonly table: TableDefinition
  /** A column reference compiled for SQLite with its type; throws for anything else. */
  column(node: unknown): { readonly sql: string; readonly type: SqlType }
  /** Whether a bare name is a column of the FROM table (GROUP BY prefers columns to aliases, as DuckDB). */
  hasColumn(name: string): boolean
  /** Throws rowsql's NotRowStore naming the construct. */
  notRowStore(construct: string): never
}

export interface Grouping {
  /** Select-list items (`expr AS "name"`), and the output columns they make. */
  readonly sql: readonly string[]
  readonly output: readonly OutputColumn[]
  /** The GROUP BY list, or '' when the query does not group. */
  readonly groupBy: string
  /** One ORDER BY item (a SortBy body). */
  orderBy(sort: PgNode): string
  /** Wraps the compiled query (gap filling); the identity otherwise. */
  finish(plan: RowPlan): RowPlan
}

interface Compiled {
  readonly sql: string
  readonly type: SqlType
  /** The type name results report when it is not typeLabel(type) (sum of integers: HUGEINT). */
  readonly label?: string
  readonly aggregate: boolean
  /** DuckDB's name for the expression when unaliased; undefined when we cannot be sure of it. */
  readonly name: string | undefined
}

const integerTypes = new Set(['SMALLINT', 'INTEGER', 'BIGINT'])
const orderableTypes = new Set(['BOOLEAN', 'SMALLINT', 'INTEGER', 'BIGINT', 'DOUBLE', 'DECIMAL', 'VARCHAR', 'DATE', 'TIMESTAMP', 'TIMESTAMPTZ'])
const timeTypes = new Set(['TIMESTAMP', 'TIMESTAMPTZ', 'DATE'])
const byTypes = new Set(['SMALLINT', 'INTEGER', 'BIGINT', 'DOUBLE', 'DATE', 'TIMESTAMP', 'TIMESTAMPTZ'])

/**
 * Compiles the select list, GROUP BY and ORDER BY items of a grouped SELECT (see the file comment).
 *
 * @example
 * compileGrouping(select, scope).groupBy // → 'strata_time_bucket("ts", 300000000, 0, 946857600000000, 0)'
 */
export function compileGrouping(select: PgNode, scope: GroupingScope): Grouping {
  if (select['havingClause'] !== undefined) scope.notRowStore('HAVING')
  const gapfill = analyzeGapfill({ SelectStmt: select })
  const targets = list(select['targetList']).map((target) => nodeBody(target, 'ResTarget') ?? scope.notRowStore('the select list'))
  const compiled = targets.map((target) => {
    let value = target['val']
    const call = nodeBody(value, 'FuncCall')
    if (gapfill !== undefined && call !== undefined && gapfill.locf.some((entry) => entry.call === call)) value = list(call['args'])[0]
    const expression = compileExpression(scope, value, { allowAggregate: true, gapfill })
    const alias = typeof target['name'] === 'string' ? target['name'] : undefined
    let name = alias
    if (name === undefined && gapfill !== undefined) {
      if (call !== undefined && call === gapfill.call) name = gapfill.bucket.name
      else if (gapfill.locf.some((entry) => entry.call === call)) name = gapfill.locf.find((entry) => entry.call === call)!.name
    }
    name ??= expression.name
    if (name === undefined) scope.notRowStore(`an unaliased ${describe(value)} in the select list (name it with AS)`)
    return { ...expression, outputName: name }
  })
  const groupItems = list(select['groupClause'])
  const groups: string[] = []
  for (const item of groupItems) {
    const sql = groupItem(scope, item, targets, compiled, gapfill)
    if (!groups.includes(sql)) groups.push(sql)
  }
  const anyAggregate = compiled.some((item) => item.aggregate)
  if (groups.length > 0 || anyAggregate) {
    for (const [index, item] of compiled.entries()) {
      if (item.aggregate) continue
      if (!groups.includes(item.sql)) scope.notRowStore(`the select-list column ${index + 1}, which is neither grouped nor aggregated`)
    }
  }
  const output: OutputColumn[] = compiled.map((item) => ({ name: item.outputName, type: item.type, ...(item.label === undefined ? {} : { label: item.label }) }))
  const orderBy = (sort: PgNode): string => {
    const position = outputPosition(sort['node'], targets, compiled, scope, gapfill)
    let expression: string
    let type: SqlType
    if (position !== undefined) {
      expression = String(position + 1)
      type = compiled[position]!.type
    } else {
      const item = compileExpression(scope, sort['node'], { allowAggregate: false, gapfill })
      if ((groups.length > 0 || anyAggregate) && !groups.includes(item.sql)) scope.notRowStore('ORDER BY an expression that is neither grouped nor in the select list')
      expression = item.sql
      type = item.type
    }
    if (type.name === 'DECIMAL' && !decimalIsScaled(type)) scope.notRowStore(`ORDER BY a ${typeLabel(type)} value (kept as text)`)
    const descending = sort['sortby_dir'] === 'SORTBY_DESC'
    const nulls = sort['sortby_nulls'] === 'SORTBY_NULLS_FIRST' ? 'NULLS FIRST' : 'NULLS LAST'
    return `${expression} ${descending ? 'DESC' : 'ASC'} ${nulls}`
  }
  if (gapfill === undefined) {
    return {
      sql: compiled.map((item) => `${item.sql} AS ${quoteIdentifier(item.outputName)}`),
      output,
      groupBy: groups.join(', '),
      orderBy,
      finish: (plan) => plan,
    }
  }
  // Gap filling: the grouped query is a CTE under internal column names; the outer query renames.
  const time = compileExpression(scope, gapfill.time, { allowAggregate: false, gapfill })
  if (time.type.name === 'DATE') scope.notRowStore('time_bucket_gapfill over a DATE column')
  const width = bucketArguments(scope, gapfill.width, [], time.type)
  return {
    sql: compiled.map((item, index) => `${item.sql} AS ${quoteIdentifier(`__c${index}`)}`),
    output,
    groupBy: groups.join(', '),
    orderBy,
    finish: (plan) => gapfillPlan(plan, gapfill, output, width, time.type, scope),
  }
}

function describe(node: unknown): string {
  const call = nodeBody(node, 'FuncCall')
  if (call !== undefined) return `${names(call['funcname']).join('.')}(…)`
  return nodeKind(node) ?? 'expression'
}

/** A GROUP BY item → its SQL: a position, a table column (preferred), an alias, or an expression. */
function groupItem(scope: GroupingScope, item: unknown, targets: readonly PgNode[], compiled: readonly Compiled[], gapfill: GapfillPlan | undefined): string {
  const constant = nodeBody(item, 'A_Const')
  if (constant !== undefined) {
    const { value } = constantValue(constant)
    if (typeof value !== 'number' || !Number.isInteger(value)) scope.notRowStore('GROUP BY a constant')
    const target = compiled[value - 1]
    if (target === undefined) throw new StrataError('SYNTAX_ERROR', `GROUP BY term out of range: ${value} (the select list has ${compiled.length} items)`)
    if (target.aggregate) throw new StrataError('SYNTAX_ERROR', 'GROUP BY cannot contain an aggregate')
    return target.sql
  }
  const fields = names(nodeBody(item, 'ColumnRef')?.['fields'])
  if (fields.length === 1 && !scope.hasColumn(fields[0]!)) {
    const index = targets.findIndex((target) => target['name'] === fields[0])
    if (index >= 0) {
      if (compiled[index]!.aggregate) throw new StrataError('SYNTAX_ERROR', 'GROUP BY cannot contain an aggregate')
      return compiled[index]!.sql
    }
    if (gapfill !== undefined && gapfill.bucket.name === fields[0]) return compiled[gapfill.bucket.index]!.sql
  }
  return compileExpression(scope, item, { allowAggregate: false, gapfill }).sql
}

/** The output position an ORDER BY item names (alias or output name first, as DuckDB), if any. */
function outputPosition(node: unknown, targets: readonly PgNode[], compiled: readonly (Compiled & { outputName: string })[], scope: GroupingScope, gapfill: GapfillPlan | undefined): number | undefined {
  const constant = nodeBody(node, 'A_Const')
  if (constant !== undefined) {
    const { value } = constantValue(constant)
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > compiled.length) {
      throw new StrataError('SYNTAX_ERROR', `ORDER BY term out of range: ${String(value)}`)
    }
    return value - 1
  }
  const fields = names(nodeBody(node, 'ColumnRef')?.['fields'])
  if (fields.length === 1) {
    const byName = compiled.findIndex((item, index) => targets[index]!['name'] === fields[0] || (targets[index]!['name'] === undefined && item.outputName === fields[0]))
    if (byName >= 0) return byName
  }
  const call = nodeBody(node, 'FuncCall')
  if (call !== undefined) {
    const sql = compileExpression(scope, node, { allowAggregate: true, gapfill }).sql
    const found = compiled.findIndex((item) => item.sql === sql)
    if (found >= 0) return found
  }
  return undefined
}

interface ExpressionContext {
  readonly allowAggregate: boolean
  readonly gapfill: GapfillPlan | undefined
}

function compileExpression(scope: GroupingScope, node: unknown, context: ExpressionContext): Compiled {
  const kind = nodeKind(node)
  if (kind === 'ColumnRef') {
    const fields = list(nodeBody(node, 'ColumnRef')!['fields'])
    if (fields.some((field) => nodeKind(field) === 'A_Star')) scope.notRowStore('* in a grouped select list')
    const column = scope.column(node)
    const fieldNames = names(fields)
    return { sql: column.sql, type: column.type, aggregate: false, name: fieldNames[fieldNames.length - 1] }
  }
  if (kind !== 'FuncCall') scope.notRowStore(`${kind === undefined ? 'an expression' : `the expression ${kind}`} in a grouped query`)
  const call = nodeBody(node, 'FuncCall')!
  const qualified = names(call['funcname'])
  const name = (qualified[qualified.length - 1] ?? '').toLowerCase()
  if (qualified.length !== 1) scope.notRowStore(`the function ${qualified.join('.')}()`)
  if (call['over'] !== undefined) scope.notRowStore('a window function')
  if (call['agg_filter'] !== undefined) scope.notRowStore('an aggregate with FILTER')
  if (list(call['agg_order']).length > 0 || call['agg_within_group'] === true) scope.notRowStore('an ordered aggregate')
  if (call['agg_distinct'] === true) scope.notRowStore(`${name}(DISTINCT …)`)
  if (call['func_variadic'] === true) scope.notRowStore('VARIADIC')
  const args = list(call['args'])
  if (name === 'time_bucket' || (context.gapfill !== undefined && call === context.gapfill.call) || (context.gapfill !== undefined && name === 'time_bucket_gapfill')) {
    const gapfillCall = name === 'time_bucket_gapfill'
    return timeBucket(scope, gapfillCall ? args.slice(0, 2) : args, !gapfillCall)
  }
  const aggregate = (): void => {
    if (!context.allowAggregate) scope.notRowStore(`the aggregate ${name}() here`)
  }
  const columnArgument = (argument: unknown): { sql: string; type: SqlType; name: string } => {
    if (nodeKind(argument) !== 'ColumnRef') scope.notRowStore(`${name}() of an expression`)
    const column = scope.column(argument)
    const rendered = columnReferenceName(argument)
    if (rendered === undefined) scope.notRowStore(`${name}() of an unusual column reference`)
    return { ...column, name: rendered }
  }
  switch (name) {
    case 'count': {
      aggregate()
      if (call['agg_star'] === true) return { sql: 'count(*)', type: { name: 'BIGINT' }, aggregate: true, name: 'count_star()' }
      if (args.length !== 1) scope.notRowStore('count() with several arguments')
      const argument = columnArgument(args[0])
      return { sql: `count(${argument.sql})`, type: { name: 'BIGINT' }, aggregate: true, name: `count(${argument.name})` }
    }
    case 'sum':
    case 'avg':
    case 'min':
    case 'max': {
      aggregate()
      if (args.length !== 1) scope.notRowStore(`${name}() with ${args.length} arguments`)
      const argument = columnArgument(args[0])
      const typeName = argument.type.name
      let type: SqlType = argument.type
      let label: string | undefined
      if (name === 'sum' || name === 'avg') {
        if (!integerTypes.has(typeName) && typeName !== 'DOUBLE') {
          if (typeName === 'DECIMAL') scope.notRowStore(`${name}() of DECIMAL (DuckDB sums into DECIMAL(38,s), beyond SQLite's 64-bit integers)`)
          throw new StrataError('TYPE_MISMATCH', `${name}(${typeLabel(argument.type)}) does not exist: ${name} takes a number`)
        }
        if (name === 'avg') type = { name: 'DOUBLE' }
        else if (integerTypes.has(typeName)) {
          type = { name: 'BIGINT' }
          label = 'HUGEINT'
        }
      } else if (!orderableTypes.has(typeName) || (typeName === 'DECIMAL' && !decimalIsScaled(argument.type))) scope.notRowStore(`${name}() of ${typeLabel(argument.type)}`)
      return { sql: `${name}(${argument.sql})`, type, ...(label === undefined ? {} : { label }), aggregate: true, name: `${name}(${argument.name})` }
    }
    case 'first':
    case 'last': {
      const firstLast = firstLastCall(node)
      if (firstLast === undefined) scope.notRowStore(`${name}() without a time argument (${name}(value, time) is the time-series aggregate)`)
      aggregate()
      const value = columnArgument(args[0])
      const by = columnArgument(args[1])
      if (!byTypes.has(by.type.name)) scope.notRowStore(`${name}(value, time) ordered by a ${typeLabel(by.type)} column`)
      const functionName = name === 'first' ? sqliteFunctionNames.first : sqliteFunctionNames.last
      return {
        sql: `${functionName}(${value.sql}, ${by.sql})`,
        type: value.type,
        aggregate: true,
        name: firstLastColumnName(firstLast.name, args),
      }
    }
    default:
      return scope.notRowStore(`the function ${name}()`)
  }
}

/** The SQLite arguments after `ts` for a bucket width (and origin or offset), DuckDB's defaults otherwise. */
function bucketArguments(
  scope: GroupingScope,
  widthNode: unknown,
  rest: readonly unknown[],
  timeType: SqlType,
): { sql: string; width: BucketWidth; widthName: string | undefined; restName: string; offsetMicros: bigint } {
  const interval = intervalFromNode(widthNode, true)
  if (interval === 'not-constant') {
    if (nodeKind(widthNode) === 'ParamRef') scope.notRowStore('time_bucket with a parameter as its width')
    const constant = nodeBody(widthNode, 'A_Const')
    if (constant !== undefined) throw new StrataError('TYPE_MISMATCH', 'time_bucket: the bucket width must be an INTERVAL (e.g. INTERVAL \'5 minutes\')')
    scope.notRowStore('time_bucket with a computed width')
  }
  if (interval === 'unsupported') {
    const text = constantValue(nodeBody(nodeBody(widthNode, 'TypeCast')?.['arg'] ?? widthNode, 'A_Const') ?? {}).value
    scope.notRowStore(`the interval '${String(text)}' (the row store takes e.g. '90 seconds', '5 minutes', '1 hour 30 minutes', '2 days', '1 week', '3 months', '1 year')`)
  }
  const width = bucketWidth(interval.value)
  let widthName: string | undefined
  if (nodeKind(widthNode) === 'A_Const') widthName = sqlString(interval.text)
  else if (list(nodeBody({ TypeName: nodeBody(widthNode, 'TypeCast')!['typeName'] }, 'TypeName')!['typmods']).length === 0) widthName = `CAST(${sqlString(interval.text)} AS INTERVAL)`
  let origin: bigint | number = width.unit === 'months' ? defaultOriginMonths : defaultOriginMicros
  let offsetMicros = 0n
  let restName = ''
  if (rest.length > 0) {
    if (timeType.name === 'DATE') scope.notRowStore('time_bucket over a DATE with an origin or offset')
    const third = rest[0]
    const cast = nodeBody(third, 'TypeCast')
    const typeNames = cast === undefined ? [] : names(nodeBody({ TypeName: cast['typeName'] }, 'TypeName')!['names'])
    const castTo = (typeNames[typeNames.length - 1] ?? '').toLowerCase()
    const text = constantValue(nodeBody(cast?.['arg'], 'A_Const') ?? {}).value
    if (cast === undefined || typeof text !== 'string') scope.notRowStore('time_bucket with an origin or offset that is not a typed constant (TIMESTAMP \'…\' or INTERVAL \'…\')')
    if (castTo === 'interval') {
      const offset = intervalFromNode(third, false)
      if (typeof offset === 'string' || offset.value.months !== 0n) scope.notRowStore(`the offset interval '${text}'`)
      offsetMicros = offset.value.days * 86_400_000_000n + offset.value.micros
      restName = `, CAST(${sqlString(text)} AS INTERVAL)`
    } else if ((castTo === 'timestamp' && timeType.name === 'TIMESTAMP') || (castTo === 'timestamptz' && timeType.name === 'TIMESTAMPTZ')) {
      const micros = parseTimestampMicros(text)
      if (micros === undefined) throw new StrataError('TYPE_MISMATCH', `time_bucket: '${text}' is not a timestamp`)
      if (width.unit === 'months') {
        const date = new Date(Number(micros / 1000n - (micros % 1000n < 0n ? 1n : 0n)))
        origin = (date.getUTCFullYear() - 1970) * 12 + date.getUTCMonth()
      } else origin = micros
      restName = `, CAST(${sqlString(text)} AS ${castTo === 'timestamp' ? 'TIMESTAMP' : '"TIMESTAMP WITH TIME ZONE"'})`
    } else scope.notRowStore(`time_bucket with a ${castTo} origin over a ${typeLabel(timeType)} column`)
  }
  const sql = width.unit === 'months' ? `0, ${width.months}, ${origin}, ${offsetMicros}` : `${width.micros}, 0, ${origin}, ${offsetMicros}`
  return { sql, width, widthName, restName, offsetMicros }
}

function timeBucket(scope: GroupingScope, args: readonly unknown[], named: boolean): Compiled {
  if (args.length < 2 || args.length > 3) throw new StrataError('TYPE_MISMATCH', `time_bucket takes (bucket_width, ts[, origin or offset]), not ${args.length} arguments`)
  if (nodeKind(args[1]) !== 'ColumnRef') scope.notRowStore('time_bucket of an expression')
  const time = scope.column(args[1])
  if (!timeTypes.has(time.type.name)) {
    throw new StrataError('TYPE_MISMATCH', `time_bucket(INTERVAL, ${typeLabel(time.type)}) does not exist: time_bucket takes a TIMESTAMP, TIMESTAMPTZ or DATE`)
  }
  const bucket = bucketArguments(scope, args[0], args.slice(2), time.type)
  const timeName = columnReferenceName(args[1])
  let name: string | undefined
  // DuckDB's name for it: time_bucket(CAST('5 minutes' AS INTERVAL), ts[, CAST('…' AS TIMESTAMP)]).
  if (named && bucket.widthName !== undefined && timeName !== undefined) name = `time_bucket(${bucket.widthName}, ${timeName}${bucket.restName})`
  return { sql: `${sqliteFunctionNames.timeBucket}(${time.sql}, ${bucket.sql})`, type: time.type, aggregate: false, name }
}

function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`
}

/** A start or finish bound as a binder: a constant (typed like the time column) or a parameter. */
function boundBinder(scope: GroupingScope, bound: GapfillBound, timeType: SqlType): Binder {
  let node = bound.node
  const cast = nodeBody(node, 'TypeCast')
  if (cast !== undefined) node = cast['arg']
  const param = nodeBody(node, 'ParamRef')
  if (param !== undefined) return { kind: 'param', index: Number(param['number'] ?? 0) - 1, type: timeType }
  const constant = nodeBody(node, 'A_Const')
  if (constant !== undefined) {
    const { value } = constantValue(constant)
    return { kind: 'value', value: toStorage(value, timeType) }
  }
  return scope.notRowStore('a time_bucket_gapfill start or finish that is not a constant or a parameter')
}

function gapfillPlan(inner: RowPlan, gapfill: GapfillPlan, output: readonly OutputColumn[], width: { sql: string; width: BucketWidth; offsetMicros: bigint }, timeType: SqlType, scope: GroupingScope): RowPlan {
  const data = '__strata_gapfill_data'
  const grid = '__strata_gapfill_grid'
  const groups = '__strata_gapfill_keys'
  const internal = (index: number): string => quoteIdentifier(`__c${index}`)
  const bucket = `${grid}.__strata_bucket`
  const startBinder = boundBinder(scope, gapfill.start, timeType)
  const finishBinder = boundBinder(scope, gapfill.finish, timeType)
  const next = width.width.unit === 'months' ? `strata_bucket_add(__strata_bucket, 0, ${width.width.months}, ${width.offsetMicros})` : `(__strata_bucket + ${width.width.micros})`
  const compare = gapfill.finish.inclusive ? '<=' : '<'
  const keyColumns = gapfill.keys.map((key) => `${groups}.${internal(key.index)}`)
  const partition = keyColumns.length === 0 ? '' : `PARTITION BY ${keyColumns.join(', ')} `
  const columns = output.map((column, index) => {
    if (index === gapfill.bucket.index) return `${bucket} AS ${quoteIdentifier(column.name)}`
    if (gapfill.keys.some((key) => key.index === index)) return `${groups}.${internal(index)} AS ${quoteIdentifier(column.name)}`
    if (gapfill.locf.some((entry) => entry.index === index)) {
      return `strata_locf(${data}.${internal(index)}) OVER (${partition}ORDER BY ${bucket} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS ${quoteIdentifier(column.name)}`
    }
    return `${data}.${internal(index)} AS ${quoteIdentifier(column.name)}`
  })
  let sql = `WITH RECURSIVE ${data} AS (${inner.sql}), ${grid}(__strata_bucket, __strata_finish) AS (`
  sql += `SELECT ${sqliteFunctionNames.timeBucket}(?, ${width.sql}), ? UNION ALL SELECT ${next}, __strata_finish FROM ${grid} WHERE __strata_bucket ${compare} __strata_finish)`
  if (keyColumns.length > 0) sql += `, ${groups} AS (SELECT DISTINCT ${gapfill.keys.map((key) => internal(key.index)).join(', ')} FROM ${data})`
  sql += ` SELECT ${columns.join(', ')} FROM ${grid}`
  if (keyColumns.length > 0) sql += ` CROSS JOIN ${groups}`
  const join = [`${data}.${internal(gapfill.bucket.index)} = ${bucket}`, ...gapfill.keys.map((key) => `${data}.${internal(key.index)} IS ${groups}.${internal(key.index)}`)]
  sql += ` LEFT JOIN ${data} ON ${join.join(' AND ')} WHERE ${bucket} ${compare} ${grid}.__strata_finish`
  sql += ` ORDER BY ${gapfill.order.map((item) => `${item.index + 1} ${item.descending ? 'DESC' : 'ASC'} NULLS ${item.nullsFirst ? 'FIRST' : 'LAST'}`).join(', ')}`
  return { ...inner, sql, binders: [...inner.binders, startBinder, finishBinder], output }
}
