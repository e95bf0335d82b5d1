/**
 * Gap-free downsampling: `time_bucket_gapfill(width, ts[, start, finish])` (TimescaleDB's name) in a
 * grouped SELECT returns one row per bucket in [start, finish) — for each combination of the other
 * GROUP BY columns that occurs in the data — even where no row falls in the bucket. Aggregates of an
 * empty bucket are NULL; `locf(agg)` carries the last non-NULL value forward instead (per group).
 *
 * The rule (what `analyzeGapfill` accepts; anything else is NOT_SUPPORTED naming the reason):
 * - `time_bucket_gapfill` appears once in the select list of the top-level SELECT, and the query groups
 *   by it (by the call, its alias or its position). Every other GROUP BY item is an output column.
 * - start and finish are the third and fourth arguments, or else come from the WHERE clause's
 *   top-level AND terms on the same column: `ts >= a` / `ts > a` give start a, `ts < b` gives finish b
 *   (exclusive), `ts <= b` and `ts BETWEEN a AND b` give finish b inclusive. In WHERE they must be
 *   constants or parameters.
 * - No LIMIT/OFFSET, DISTINCT or set operation on the gap-filled query itself (wrap it instead).
 * - Without ORDER BY the rows come ordered by the other group columns, then the bucket.
 *
 * For the column store the query becomes plain DuckDB SQL by text edits at tree locations: the original
 * query (its gapfill calls turned into time_bucket, locf removed) is a CTE; the buckets come from
 * `range(time_bucket(width, start), finish, width)`, crossed with the distinct groups, LEFT JOINed to
 * the CTE; `locf` is `last_value(… IGNORE NULLS)` over the buckets. rowgroup.ts builds the same shape
 * for SQLite.
 */
import { StrataError } from '../util/errors.js'
import type { TextEdit } from './edits.js'
import type { PgNode } from './parse.js'
import type { StatementSpans } from './spans.js'
import { constantValue, list, names, nodeBody, nodeKind, quoteIdentifier, walk } from './tree.js'

export const gapfillFunctionName = 'time_bucket_gapfill'
export const locfFunctionName = 'locf'
/** The default column name of an unaliased gapfill bucket and of an unaliased `locf(…)`. */
const gapfillDefaultName = 'time_bucket_gapfill'
const locfDefaultName = 'locf'

export interface GapfillBound {
  readonly node: unknown
  /** From a call argument (any expression) or from WHERE (a constant or a parameter). */
  readonly source: 'argument' | 'where'
}

export interface GapfillPlan {
  /** The gapfill call in the select list, and every occurrence (select list, GROUP BY, ORDER BY). */
  readonly call: PgNode
  readonly calls: readonly PgNode[]
  readonly width: unknown
  readonly time: unknown
  readonly start: GapfillBound
  readonly finish: GapfillBound & { readonly inclusive: boolean }
  readonly bucket: { readonly index: number; readonly name: string; readonly named: boolean }
  readonly keys: readonly { readonly index: number; readonly name: string }[]
  readonly locf: readonly { readonly index: number; readonly call: PgNode; readonly name: string; readonly named: boolean }[]
  /** The final ORDER BY, by output position (0-based). */
  readonly order: readonly { readonly index: number; readonly descending: boolean; readonly nullsFirst: boolean }[]
}

function functionNameOf(body: PgNode): string | undefined {
  const name = names(body['funcname'])
  return name.length === 1 ? name[0]!.toLowerCase() : undefined
}

function refuse(reason: string): never {
  throw new StrataError('NOT_SUPPORTED', `time_bucket_gapfill: ${reason}`)
}

/**
 * Finds a gap-filling query's parts, or undefined when the statement uses neither
 * time_bucket_gapfill nor locf. Throws NOT_SUPPORTED when it does but breaks the rule above.
 */
export function analyzeGapfill(tree: PgNode): GapfillPlan | undefined {
  const gapfillCalls: PgNode[] = []
  const locfCalls: PgNode[] = []
  walk(tree, (kind, body) => {
    if (kind !== 'FuncCall') return
    const name = functionNameOf(body)
    if (name === gapfillFunctionName) gapfillCalls.push(body)
    if (name === locfFunctionName) locfCalls.push(body)
  })
  if (gapfillCalls.length === 0 && locfCalls.length === 0) return undefined
  if (gapfillCalls.length === 0) throw new StrataError('NOT_SUPPORTED', 'locf() carries values forward over the buckets of time_bucket_gapfill; use it in such a query')
  const root = nodeBody(tree, 'SelectStmt')
  if (root === undefined) refuse('it works in a SELECT only')
  if (root['op'] !== undefined && root['op'] !== 'SETOP_NONE') refuse('not in a set operation (wrap the gap-filled query in a subquery)')
  if (root['limitCount'] !== undefined || root['limitOffset'] !== undefined) refuse('LIMIT/OFFSET would cut the rows before the gaps are filled; wrap the query in a subquery and limit that')
  if (list(root['distinctClause']).length > 0) refuse('not with DISTINCT')
  const targets = list(root['targetList']).map((target) => nodeBody(target, 'ResTarget')!)
  const targetCalls = targets.map((target) => nodeBody(target['val'], 'FuncCall'))
  const bucketIndexes = targetCalls.flatMap((call, index) => (call !== undefined && functionNameOf(call) === gapfillFunctionName ? [index] : []))
  if (bucketIndexes.length !== 1) refuse('it must appear exactly once, directly in the select list of the outermost SELECT')
  const bucketIndex = bucketIndexes[0]!
  const call = targetCalls[bucketIndex]!
  const args = list(call['args'])
  if (args.length < 2 || args.length > 4) refuse('it takes (bucket_width, time[, start, finish])')
  if (call['agg_filter'] !== undefined || call['over'] !== undefined) refuse('it is not an aggregate or a window function')
  for (const target of targets) {
    const columnRef = nodeBody(target['val'], 'ColumnRef')
    if (columnRef !== undefined && list(columnRef['fields']).some((field) => nodeKind(field) === 'A_Star')) refuse('name the output columns (no *)')
  }

  // Every gapfill call is this one, repeated in GROUP BY or ORDER BY; every locf is a whole output column.
  const allowedCalls = new Set<PgNode>([call])
  const groupItems = list(root['groupClause'])
  const sortItems = list(root['sortClause']).map((sort) => nodeBody(sort, 'SortBy')!)
  for (const item of [...groupItems, ...sortItems.map((sort) => sort['node'])]) {
    const itemCall = nodeBody(item, 'FuncCall')
    if (itemCall !== undefined && functionNameOf(itemCall) === gapfillFunctionName) allowedCalls.add(itemCall)
  }
  for (const found of gapfillCalls) if (!allowedCalls.has(found)) refuse('it may appear only in the select list, GROUP BY and ORDER BY of the outermost SELECT')
  const locf: { index: number; call: PgNode; name: string; named: boolean }[] = []
  targetCalls.forEach((targetCall, index) => {
    if (targetCall === undefined || functionNameOf(targetCall) !== locfFunctionName) return
    if (list(targetCall['args']).length !== 1 || targetCall['over'] !== undefined || targetCall['agg_filter'] !== undefined) {
      throw new StrataError('NOT_SUPPORTED', 'locf takes one argument: an aggregate, e.g. locf(avg(v))')
    }
    const name = targets[index]!['name']
    locf.push({ index, call: targetCall, name: typeof name === 'string' ? name : locfDefaultName, named: typeof name === 'string' })
  })
  for (const found of locfCalls) {
    if (!locf.some((entry) => entry.call === found)) throw new StrataError('NOT_SUPPORTED', 'locf(…) must be a whole column of the select list')
  }

  const nameOf = (index: number): string | undefined => {
    const target = targets[index]!
    if (typeof target['name'] === 'string') return target['name']
    const fields = names(nodeBody(target['val'], 'ColumnRef')?.['fields'])
    return fields.length > 0 ? fields[fields.length - 1] : undefined
  }
  const bucketNameGiven = targets[bucketIndex]!['name']
  const bucket = { index: bucketIndex, name: typeof bucketNameGiven === 'string' ? bucketNameGiven : gapfillDefaultName, named: typeof bucketNameGiven === 'string' }

  // GROUP BY items → output positions.
  const outputIndex = (item: unknown, clause: string): number => {
    const constant = nodeBody(item, 'A_Const')
    if (constant !== undefined) {
      const { value } = constantValue(constant)
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > targets.length) refuse(`${clause} position ${String(value)} is not in the select list`)
      return value - 1
    }
    const itemCall = nodeBody(item, 'FuncCall')
    if (itemCall !== undefined && allowedCalls.has(itemCall)) return bucketIndex
    const fields = names(nodeBody(item, 'ColumnRef')?.['fields'])
    if (fields.length > 0) {
      const last = fields[fields.length - 1]!
      const byColumn = targets.findIndex((target) => {
        const targetFields = names(nodeBody(target['val'], 'ColumnRef')?.['fields'])
        return targetFields.length > 0 && targetFields[targetFields.length - 1] === last
      })
      if (byColumn >= 0) return byColumn
      if (fields.length === 1) {
        const byAlias = targets.findIndex((target) => target['name'] === last)
        if (byAlias >= 0) return byAlias
        if (bucket.name === last) return bucketIndex
      }
    }
    return refuse(`every ${clause} item must be a column of the select list (by name, alias or position)`)
  }
  const grouped = new Set(groupItems.map((item) => outputIndex(item, 'GROUP BY')))
  if (!grouped.has(bucketIndex)) refuse('the query must GROUP BY the gapfill bucket')
  const keys = [...grouped]
    .filter((index) => index !== bucketIndex)
    .sort((left, right) => left - right)
    .map((index) => {
      const name = requireName(nameOf(index))
      if (locf.some((entry) => entry.index === index)) refuse('locf(…) cannot be a GROUP BY column')
      return { index, name }
    })
  function requireName(name: string | undefined): string {
    if (name === undefined) refuse('name every GROUP BY expression of the select list with AS')
    return name
  }
  const referenced = [bucket.name, ...keys.map((key) => key.name), ...locf.map((entry) => entry.name)]
  if (new Set(referenced).size !== referenced.length) refuse('the bucket, the group columns and the locf columns need distinct names (use AS)')

  const order = sortItems.map((sort) => ({
    index: outputIndex(sort['node'], 'ORDER BY'),
    descending: sort['sortby_dir'] === 'SORTBY_DESC',
    nullsFirst: sort['sortby_nulls'] === 'SORTBY_NULLS_FIRST',
  }))
  if (order.length === 0) {
    for (const key of keys) order.push({ index: key.index, descending: false, nullsFirst: false })
    order.push({ index: bucketIndex, descending: false, nullsFirst: false })
  }

  // start and finish: arguments, else WHERE.
  const givenArgument = (node: unknown): boolean => node !== undefined && nodeBody(node, 'A_Const')?.['isnull'] !== true
  let start: GapfillBound | undefined = givenArgument(args[2]) ? { node: args[2], source: 'argument' } : undefined
  let finish: (GapfillBound & { inclusive: boolean }) | undefined = givenArgument(args[3]) ? { node: args[3], source: 'argument', inclusive: false } : undefined
  if (start === undefined || finish === undefined) {
    const bounds = boundsFromWhere(root['whereClause'], args[1])
    start ??= bounds.start
    finish ??= bounds.finish
  }
  if (start === undefined || finish === undefined) {
    refuse(`it needs a ${start === undefined ? 'start' : 'finish'}: pass start and finish as the third and fourth arguments, or bound the time column in WHERE (ts >= start AND ts < finish) with constants or parameters`)
  }
  return { call, calls: [...allowedCalls], width: args[0], time: args[1], start, finish, bucket, keys, locf, order }
}

/** Constants and parameters the WHERE clause may bound the time column with. */
function isBoundValue(node: unknown): boolean {
  const kind = nodeKind(node)
  if (kind === 'A_Const' || kind === 'ParamRef') return nodeBody(node, 'A_Const')?.['isnull'] !== true
  if (kind === 'TypeCast') return isBoundValue(nodeBody(node, 'TypeCast')!['arg'])
  return false
}

function boundsFromWhere(where: unknown, time: unknown): { start: GapfillBound | undefined; finish: (GapfillBound & { inclusive: boolean }) | undefined } {
  const timeFields = names(nodeBody(time, 'ColumnRef')?.['fields'])
  if (timeFields.length === 0 || where === undefined) return { start: undefined, finish: undefined }
  const isTime = (node: unknown): boolean => {
    const fields = names(nodeBody(node, 'ColumnRef')?.['fields'])
    return fields.length > 0 && fields[fields.length - 1] === timeFields[timeFields.length - 1]
  }
  const and = nodeBody(where, 'BoolExpr')
  const terms = and !== undefined && and['boolop'] === 'AND_EXPR' ? list(and['args']) : [where]
  const starts: GapfillBound[] = []
  const finishes: (GapfillBound & { inclusive: boolean })[] = []
  const mirrored: Readonly<Record<string, string>> = { '>=': '<=', '>': '<', '<=': '>=', '<': '>' }
  for (const term of terms) {
    const expression = nodeBody(term, 'A_Expr')
    if (expression === undefined) continue
    if (expression['kind'] === 'AEXPR_BETWEEN' && isTime(expression['lexpr'])) {
      const [low, high] = list(nodeBody(expression['rexpr'], 'List')?.['items'] ?? expression['rexpr'])
      if (isBoundValue(low)) starts.push({ node: low, source: 'where' })
      if (isBoundValue(high)) finishes.push({ node: high, source: 'where', inclusive: true })
      continue
    }
    if (expression['kind'] !== 'AEXPR_OP') continue
    let op = names(expression['name'])[0] ?? ''
    let value: unknown
    if (isTime(expression['lexpr'])) value = expression['rexpr']
    else if (isTime(expression['rexpr'])) {
      value = expression['lexpr']
      op = mirrored[op] ?? ''
    } else continue
    if (!isBoundValue(value)) continue
    if (op === '>=' || op === '>') starts.push({ node: value, source: 'where' })
    else if (op === '<') finishes.push({ node: value, source: 'where', inclusive: false })
    else if (op === '<=') finishes.push({ node: value, source: 'where', inclusive: true })
  }
  if (starts.length > 1 || finishes.length > 1) refuse('WHERE bounds the time column more than once; pass start and finish as arguments')
  return { start: starts[0], finish: finishes[0] }
}

/** SQL text for a WHERE-derived bound (a constant or a parameter, possibly cast), from the tree. */
export function boundText(node: unknown): string {
  const param = nodeBody(node, 'ParamRef')
  if (param !== undefined) return `$${Number(param['number'] ?? 0)}`
  const constant = nodeBody(node, 'A_Const')
  if (constant !== undefined) {
    const { value } = constantValue(constant)
    if (typeof value === 'string') return `'${value.replaceAll("'", "''")}'`
    return String(value)
  }
  const cast = nodeBody(node, 'TypeCast')
  if (cast !== undefined) {
    const typeNames = names(nodeBody({ TypeName: cast['typeName'] }, 'TypeName')!['names'])
    const type = (typeNames[typeNames.length - 1] ?? '').toLowerCase()
    const sqlType = type === 'timestamptz' ? 'TIMESTAMPTZ' : type === 'timestamp' ? 'TIMESTAMP' : type === 'date' ? 'DATE' : undefined
    if (sqlType === undefined) refuse(`a bound cast to ${type}`)
    return `CAST(${boundText(cast['arg'])} AS ${sqlType})`
  }
  return refuse('a bound in WHERE must be a constant or a parameter')
}

/** Text edits that run a gap-filling query on DuckDB (see the file comment); [] when there is none. */
export function gapfillEdits(tree: PgNode, spans: StatementSpans): TextEdit[] {
  const plan = analyzeGapfill(tree)
  if (plan === undefined) return []
  const edits: TextEdit[] = []
  const callSpan = (body: PgNode): NonNullable<ReturnType<StatementSpans['call']>> => {
    const span = spans.call(Number(body['location']))
    if (span === undefined) refuse('written in a form Strata cannot rewrite')
    return span
  }
  let widthText = ''
  let startText = ''
  let finishText = ''
  for (const body of plan.calls) {
    const span = callSpan(body)
    edits.push({ location: span.name.location, length: span.name.end - span.name.location, text: 'time_bucket' })
    const alias = body === plan.call && !plan.bucket.named ? ` AS ${quoteIdentifier(plan.bucket.name)}` : ''
    if (span.args.length > 2 || alias !== '') {
      edits.push({ location: span.args[1]!.end, length: span.close.end - span.args[1]!.end, text: `)${alias}` })
    }
    if (body === plan.call) {
      widthText = spans.text(span.args[0]!)
      if (plan.start.source === 'argument') startText = spans.text(span.args[2]!)
      if (plan.finish.source === 'argument') finishText = spans.text(span.args[3]!)
    }
  }
  if (plan.start.source === 'where') startText = boundText(plan.start.node)
  if (plan.finish.source === 'where') finishText = boundText(plan.finish.node)
  for (const entry of plan.locf) {
    const span = callSpan(entry.call)
    edits.push({ location: span.name.location, length: span.open.end - span.name.location, text: '' })
    edits.push({ location: span.close.location, length: span.close.end - span.close.location, text: entry.named ? '' : ` AS ${quoteIdentifier(entry.name)}` })
  }

  const data = '__strata_gapfill_data'
  const grid = '__strata_gapfill_grid'
  const groups = '__strata_gapfill_keys'
  const bucketColumn = `${grid}.__strata_bucket`
  const width = `CAST((${widthText}) AS INTERVAL)`
  const column = (table: string, name: string): string => `${table}.${quoteIdentifier(name)}`
  const replacements = [`coalesce(${column(data, plan.bucket.name)}, ${bucketColumn}) AS ${quoteIdentifier(plan.bucket.name)}`]
  for (const key of plan.keys) replacements.push(`${column(groups, key.name)} AS ${quoteIdentifier(key.name)}`)
  const partition = plan.keys.length === 0 ? '' : `PARTITION BY ${plan.keys.map((key) => column(groups, key.name)).join(', ')} `
  for (const entry of plan.locf) {
    replacements.push(`last_value(${column(data, entry.name)} IGNORE NULLS) OVER (${partition}ORDER BY ${bucketColumn} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS ${quoteIdentifier(entry.name)}`)
  }
  const series = plan.finish.inclusive ? 'generate_series' : 'range'
  let outer = `\n) SELECT ${data}.* REPLACE (${replacements.join(', ')}) FROM ${series}(time_bucket(${width}, CAST((${startText}) AS TIMESTAMP)), CAST((${finishText}) AS TIMESTAMP), ${width}) AS ${grid}(__strata_bucket)`
  if (plan.keys.length > 0) outer += ` CROSS JOIN (SELECT DISTINCT ${plan.keys.map((key) => quoteIdentifier(key.name)).join(', ')} FROM ${data}) AS ${groups}`
  const join = [`${column(data, plan.bucket.name)} = ${bucketColumn}`, ...plan.keys.map((key) => `${column(data, key.name)} IS NOT DISTINCT FROM ${column(groups, key.name)}`)]
  outer += ` LEFT JOIN ${data} ON ${join.join(' AND ')}`
  outer += ` ORDER BY ${plan.order.map((item) => `${item.index + 1} ${item.descending ? 'DESC' : 'ASC'} NULLS ${item.nullsFirst ? 'FIRST' : 'LAST'}`).join(', ')}`
  edits.push({ location: spans.start, length: 0, text: `WITH ${data} AS (` })
  edits.push({ location: spans.end, length: 0, text: outer })
  return edits
}
