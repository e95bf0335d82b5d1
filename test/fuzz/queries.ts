/**
 * The query part of the fuzzer: random single-table SELECTs the row store may run (WHERE, ORDER BY,
 * LIMIT/OFFSET), each forced onto the row store and the column store and compared; and ternary logic
 * partitioning (SQLancer's TLP) on each store: count(*) = count(*) WHERE p + count(*) WHERE NOT p +
 * count(*) WHERE (p) IS NULL. A mismatch is reduced (a smaller predicate, fewer rows and columns, a
 * plainer query) to a minimal reproduction in a fresh database.
 */
import { open, type Database } from '../../src/index.js'
import { templatesServed } from '../../src/sql/fingerprint.js'
import { columnsOf, predicate, render, shrinkCandidates, valueFor, type Expr, type GenerationContext } from './expressions.js'
import type { Random } from './random.js'
import { randomValue, type ValueOptions } from './values.js'
import { answer, createTable, describeAnswer, difference, tableScript, type Answer, type Table } from './tables.js'

export interface Ordering {
  readonly column: string
  readonly descending: boolean
  readonly nulls: 'first' | 'last' | undefined
}

export interface SelectCase {
  readonly kind: 'select'
  readonly table: string
  /** Column names (or expressions, which only the column store runs today), or '*'. */
  readonly projection: readonly (string | Expr)[] | '*'
  readonly where: Expr | undefined
  readonly orderBy: readonly Ordering[]
  /** ORDER BY fixes the order of the rows (it ends with a key, or names every column). */
  readonly ordered: boolean
  readonly limit: string | undefined
  readonly offset: string | undefined
}

export interface PartitionCase {
  readonly kind: 'tlp'
  readonly table: string
  readonly where: Expr
}

export type QueryCase = SelectCase | PartitionCase

export interface Mismatch {
  readonly kind: 'differential' | 'tlp' | 'round-trip' | 'dml' | 'history' | 'crash'
  readonly summary: string
  /** A self-contained reproduction: schema, data, statement(s), both answers. */
  readonly reproduction: string
}

export interface QueryCounters {
  queries: number
  compared: number
  rowUnsupported: number
  /** TLP checks done on some store (a store whose partitions failed is skipped). */
  partitioned: number
  /** Both stores failed with the same code (e.g. an overflow or a bad cast on both). */
  agreedErrors: number
  /** Row-store answers a plan template made from another statement of the same shape gave (src/sql/fingerprint.ts). */
  templated?: number
  /** Queries also answered on a branch that rewrote every row (docs/branches.md), and those a branch does not run yet. */
  branchCompared?: number
  branchUnsupported?: number
}

/**
 * The same case with other constants (literals of the same types; LIMIT/OFFSET counts), so that its
 * text has the case's fingerprint but not its values: run twice before the case, it leaves a plan
 * template (src/sql/fingerprint.ts) that the case's row-store answer then comes from whenever the
 * template serves its constants — and that answer is compared with the column store's like any other.
 */
export function variantCase(query: SelectCase, random: Random, values: ValueOptions): SelectCase {
  const vary = (expr: Expr): Expr => {
    switch (expr.k) {
      case 'literal':
        return expr.parameter || expr.value === null ? expr : { ...expr, value: randomValue(random, expr.type, values) }
      case 'column':
      case 'raw':
      case 'bool':
        return expr
      case 'compare':
      case 'and':
      case 'or':
      case 'arith':
      case 'concat':
        return { ...expr, left: vary(expr.left), right: vary(expr.right) } as Expr
      case 'not':
      case 'isnull':
      case 'cast':
        return { ...expr, arg: vary(expr.arg) } as Expr
      case 'in':
        return { ...expr, arg: vary(expr.arg), items: expr.items.map(vary) }
      case 'between':
        return { ...expr, arg: vary(expr.arg), low: vary(expr.low), high: vary(expr.high) }
      case 'like':
        return { ...expr, arg: vary(expr.arg), pattern: vary(expr.pattern) }
      case 'case':
        return { ...expr, when: vary(expr.when), then: vary(expr.then), otherwise: vary(expr.otherwise) }
      case 'coalesce':
        return { ...expr, args: expr.args.map(vary) }
    }
  }
  const count = (text: string | undefined): string | undefined => (text !== undefined && /^\d+$/.test(text) ? String(random.int(0, 8)) : text)
  return {
    ...query,
    projection: query.projection === '*' ? '*' : query.projection.map((item) => (typeof item === 'string' ? item : vary(item))),
    where: query.where === undefined ? undefined : vary(query.where),
    limit: count(query.limit),
    offset: count(query.offset),
  }
}


export function selectSql(query: SelectCase): { sql: string; params: unknown[] } {
  const params: unknown[] = []
  const item = (part: string | Expr, index: number): string => (typeof part === 'string' ? part : `${render(part, params)} AS e${index}`)
  let sql = `SELECT ${query.projection === '*' ? '*' : query.projection.map(item).join(', ')} FROM ${query.table}`
  if (query.where !== undefined) sql += ` WHERE ${render(query.where, params)}`
  if (query.orderBy.length > 0) {
    sql += ` ORDER BY ${query.orderBy.map((order) => `${order.column}${order.descending ? ' DESC' : ''}${order.nulls === undefined ? '' : ` NULLS ${order.nulls.toUpperCase()}`}`).join(', ')}`
  }
  if (query.limit !== undefined) sql += ` LIMIT ${query.limit}`
  if (query.offset !== undefined) sql += ` OFFSET ${query.offset}`
  return { sql, params }
}

function partitionSql(table: string, where: Expr, part: 'p' | 'not' | 'null' | 'all'): { sql: string; params: unknown[] } {
  const params: unknown[] = []
  if (part === 'all') return { sql: `SELECT count(*) AS n FROM ${table}`, params }
  const condition = render(where, params)
  const clause = part === 'p' ? ` WHERE ${condition}` : part === 'not' ? ` WHERE NOT ${condition}` : part === 'null' ? ` WHERE (${condition}) IS NULL` : ''
  return { sql: `SELECT count(*) AS n FROM ${table}${clause}`, params }
}

export function randomSelect(context: GenerationContext, table: Table): SelectCase {
  const { random } = context
  const names = table.columns.map((column) => column.name)
  let projection: (string | Expr)[] | '*' = random.chance(0.4) ? '*' : random.shuffle(names).slice(0, random.int(1, names.length))
  // Now and then an expression in the select list: the column store computes it, the row store declines.
  if (projection !== '*' && random.chance(0.08)) projection = [...projection, selectExpression(context)]
  const where = random.chance(0.85) ? predicate(context, random.weighted([[3, 0], [3, 1], [2, 2], [1, 3]])) : undefined
  let orderBy: Ordering[] = []
  let ordered = false
  let limit: string | undefined
  let offset: string | undefined
  if (random.chance(0.45)) {
    orderBy = random.shuffle(names).slice(0, random.int(1, Math.min(3, names.length))).map((column) => ({
      column,
      descending: random.chance(0.4),
      nulls: random.weighted<'first' | 'last' | undefined>([[3, undefined], [1, 'first'], [1, 'last']]),
    }))
    // A total order: the key (or every column) at the end, so LIMIT cuts the same rows on both stores.
    if (random.chance(0.7)) {
      const rest = (table.primaryKey ?? names).filter((name) => !orderBy.some((order) => order.column === name))
      orderBy = [...orderBy, ...rest.map((column) => ({ column, descending: random.chance(0.3), nulls: undefined }))]
      ordered = true
    }
    if (ordered && random.chance(0.6)) {
      limit = random.weighted<string>([[6, String(random.int(0, 8))], [1, 'NULL'], [1, '-1'], [1, '1.5'], [1, String(random.int(0, 3))]])
      if (random.chance(0.4)) offset = random.weighted<string>([[6, String(random.int(0, 6))], [1, 'NULL'], [1, '-1']])
    }
  }
  return { kind: 'select', table: table.name, projection, where, orderBy, ordered, limit, offset }
}

function selectExpression(context: GenerationContext): Expr {
  const { random, columns } = context
  const column = random.pick(columns)
  return random.weighted<() => Expr>([
    [2, () => predicate(context, 1)],
    [1, () => ({ k: 'coalesce', args: [{ k: 'column', column }, { k: 'literal', value: valueFor(context, column) ?? randomValue(random, column.type, context.values), type: column.type, parameter: false }] })],
    [1, () => ({ k: 'cast', arg: { k: 'column', column }, type: { kind: 'TEXT' } })],
    [1, () => ({ k: 'case', when: predicate(context, 0), then: { k: 'column', column }, otherwise: { k: 'literal', value: null, type: column.type, parameter: false } })],
  ])()
}

// ───────────────────────────── running ─────────────────────────────

export interface QueryOutcome {
  readonly mismatch?: { readonly summary: string; readonly answers: readonly (readonly [string, Answer])[] }
  /** Statements run on the row store before the case (a plan template's warm-up), for the reproduction. */
  readonly warmups?: readonly string[]
}

/**
 * Runs one select case on both stores; undefined when they agree (or the row store declines).
 * `warmup`: a variant of the case (`variantCase`) is run twice on the row store first, so that the
 * row store's answer comes from its plan template when the template serves the case's constants.
 */
export async function runSelect(db: Database, query: SelectCase, counters: QueryCounters, warmup?: SelectCase, branch?: string): Promise<QueryOutcome> {
  const { sql, params } = selectSql(query)
  const warmups: string[] = []
  if (warmup !== undefined) {
    const variant = selectSql(warmup)
    // Two texts of one tree: the second sighting of the fingerprint makes the template.
    for (const text of [variant.sql, `${variant.sql} `]) {
      await answer(db, text, variant.params, 'row')
      warmups.push(text)
    }
  }
  const served = templatesServed()
  const row = await answer(db, sql, params, 'row')
  if (templatesServed() > served) counters.templated = (counters.templated ?? 0) + 1
  const column = await answer(db, sql, params, 'column')
  counters.queries++
  const crash = crashed(row) ?? crashed(column)
  const before = warmups.length > 0 ? { warmups } : {}
  if (crash !== undefined) return { mismatch: { summary: crash, answers: [['row store', row], ['column store', column]] }, ...before }
  if (!row.ok && row.code === 'NOT_SUPPORTED') {
    counters.rowUnsupported++
    return {}
  }
  counters.compared++
  const different = difference(row, column, query.ordered)
  if (different !== undefined) return { mismatch: { summary: different, answers: [['row store', row], ['column store', column]] }, ...before }
  if (!row.ok) counters.agreedErrors++
  // On a branch that rewrote every row of its keyed tables to itself, a query reads the branch's own
  // rows and what it inherits (docs/branches.md): it must answer as main does.
  if (branch !== undefined) {
    const onBranch = await answer(db, sql, params, 'column', branch)
    if (!onBranch.ok && onBranch.code === 'NOT_SUPPORTED') {
      counters.branchUnsupported = (counters.branchUnsupported ?? 0) + 1
      return {}
    }
    counters.branchCompared = (counters.branchCompared ?? 0) + 1
    const differentOnBranch = difference(column, onBranch, query.ordered)
    if (differentOnBranch !== undefined) return { mismatch: { summary: `on a branch: ${differentOnBranch}`, answers: [['column store on main', column], [`column store on branch ${branch}`, onBranch]] }, ...before }
  }
  return {}
}

function crashed(result: Answer): string | undefined {
  if (result.ok) return undefined
  if (result.code.startsWith('CRASH') || result.code === 'INTERNAL') return `an internal error (${result.code}): ${result.message.split('\n')[0]}`
  return undefined
}

/** Row counts of a table per store, taken once per table (the query part does not write). */
export type Totals = Map<string, Partial<Record<'row' | 'column', Answer>>>

/** TLP on each store, and the partitions compared across stores. */
export async function runPartition(db: Database, query: PartitionCase, totals: Totals, counters: QueryCounters): Promise<QueryOutcome> {
  counters.queries++
  const answers: [string, Answer][] = []
  const counts: Partial<Record<'row' | 'column', number[]>> = {}
  /** Per store: the error code when every partition failed with it. */
  const failedWith: Partial<Record<'row' | 'column', string>> = {}
  for (const engine of ['row', 'column'] as const) {
    let total = totals.get(query.table)?.[engine]
    if (total === undefined) {
      const { sql, params } = partitionSql(query.table, query.where, 'all')
      total = await answer(db, sql, params, engine)
      totals.set(query.table, { ...totals.get(query.table), [engine]: total })
    }
    const parts: Answer[] = []
    for (const part of ['p', 'not', 'null'] as const) {
      const { sql, params } = partitionSql(query.table, query.where, part)
      const result = await answer(db, sql, params, engine)
      parts.push(result)
      answers.push([`${engine} store, ${part === 'p' ? 'WHERE p' : part === 'not' ? 'WHERE NOT p' : 'WHERE (p) IS NULL'}`, result])
      const crash = crashed(result)
      if (crash !== undefined) return { mismatch: { summary: crash, answers } }
    }
    answers.push([`${engine} store, count(*)`, total])
    if (engine === 'row' && parts.some((part) => !part.ok && part.code === 'NOT_SUPPORTED')) {
      counters.rowUnsupported++
      continue
    }
    // A partition that fails (an overflow, a bad cast) leaves nothing to add up; DuckDB may answer one
    // partition and fail another when its optimizer rewrote the failing expression away.
    const codes = new Set(parts.map((part) => (part.ok ? 'ok' : part.code)))
    if (codes.size === 1 && !codes.has('ok')) failedWith[engine] = [...codes][0]!
    if (!total.ok || parts.some((part) => !part.ok)) continue
    const numbers = parts.map((part) => Number((part as Extract<Answer, { ok: true }>).rows[0]![0]))
    const all = Number(total.rows[0]![0])
    counters.partitioned++
    if (numbers[0]! + numbers[1]! + numbers[2]! !== all) {
      return { mismatch: { summary: `TLP on the ${engine} store: ${numbers.join(' + ')} ≠ count(*) ${all}`, answers } }
    }
    counts[engine] = numbers
  }
  if (counts.row !== undefined && counts.column !== undefined) {
    counters.compared++
    if (counts.row.join(',') !== counts.column.join(',')) return { mismatch: { summary: `partitions differ: row store ${counts.row.join('/')} vs column store ${counts.column.join('/')}`, answers } }
  }
  if (failedWith.row !== undefined && failedWith.column !== undefined) {
    counters.compared++
    if (failedWith.row !== failedWith.column) return { mismatch: { summary: `partitions fail differently: ${failedWith.row} vs ${failedWith.column}`, answers } }
    counters.agreedErrors++
  } else if ((failedWith.row !== undefined && counts.column !== undefined) || (failedWith.column !== undefined && counts.row !== undefined)) {
    counters.compared++
    return { mismatch: { summary: `one store fails every partition (${failedWith.row ?? failedWith.column}), the other answers them`, answers } }
  }
  return {}
}

export function randomCase(context: GenerationContext, table: Table): QueryCase {
  if (context.random.chance(0.35)) return { kind: 'tlp', table: table.name, where: predicate(context, context.random.weighted([[2, 0], [3, 1], [2, 2], [1, 3]])) }
  return randomSelect(context, table)
}

// ───────────────────────────── reduction ─────────────────────────────

export function caseSql(query: QueryCase): string {
  if (query.kind === 'select') return selectSql(query).sql
  return partitionSql(query.table, query.where, 'p').sql
}

/** Whether a case still fails on a fresh database holding `table`: the same kind of summary. */
async function failsOn(table: Table, query: QueryCase): Promise<QueryOutcome | undefined> {
  await using db = await open()
  try {
    await createTable(db, table, () => false)
  } catch {
    return undefined
  }
  const counters: QueryCounters = { queries: 0, compared: 0, rowUnsupported: 0, partitioned: 0, agreedErrors: 0 }
  const outcome = query.kind === 'select' ? await runSelect(db, query, counters) : await runPartition(db, query, new Map(), counters)
  return outcome.mismatch === undefined ? undefined : outcome
}

/**
 * Reduces a failing case: a smaller predicate, then fewer rows, then fewer columns, then a plainer
 * query; each step kept only when the case still fails the same way (its summary's first words).
 * At most `attemptsMax` fresh databases.
 */
export async function reduce(table: Table, query: QueryCase, attemptsMax = 160): Promise<{ table: Table; query: QueryCase; outcome: QueryOutcome }> {
  let attempts = 0
  let best = { table, query, outcome: (await failsOn(table, query)) ?? {} }
  if (best.outcome.mismatch === undefined) return best
  const sameKind = (outcome: QueryOutcome | undefined): outcome is QueryOutcome =>
    outcome?.mismatch !== undefined && outcome.mismatch.summary.split(':')[0] === best.outcome.mismatch!.summary.split(':')[0]
  const attempt = async (candidateTable: Table, candidateQuery: QueryCase): Promise<boolean> => {
    if (attempts >= attemptsMax) return false
    attempts++
    const outcome = await failsOn(candidateTable, candidateQuery)
    if (!sameKind(outcome)) return false
    best = { table: candidateTable, query: candidateQuery, outcome }
    return true
  }
  // 1. The predicate.
  for (let changed = true; changed; ) {
    changed = false
    const where = best.query.where
    if (where === undefined) break
    for (const candidate of shrinkCandidates(where)) {
      if (await attempt(best.table, { ...best.query, where: candidate } as QueryCase)) {
        changed = true
        break
      }
    }
  }
  // 2. The rows: halves, then quarters, … then one at a time.
  for (let chunk = Math.max(1, Math.floor(best.table.rows.length / 2)); chunk >= 1; chunk = chunk === 1 ? 0 : Math.max(1, Math.floor(chunk / 2))) {
    for (let start = 0; start < best.table.rows.length; ) {
      const rows = [...best.table.rows.slice(0, start), ...best.table.rows.slice(start + chunk)]
      if (!(await attempt({ ...best.table, rows }, best.query))) start += chunk
    }
  }
  // 3. The columns no part of the query names (and that are not the key).
  const named = new Set<string>(best.query.where === undefined ? [] : columnsOf(best.query.where))
  if (best.query.kind === 'select') {
    if (best.query.projection !== '*') best.query.projection.forEach((part) => (typeof part === 'string' ? named.add(part) : columnsOf(part, named)))
    best.query.orderBy.forEach((order) => named.add(order.column))
  }
  for (const column of [...best.table.columns]) {
    if (named.has(column.name) || best.table.primaryKey?.includes(column.name) === true) continue
    const index = best.table.columns.indexOf(column)
    if (index < 0) continue
    await attempt({ ...best.table, columns: best.table.columns.filter((_, other) => other !== index), rows: best.table.rows.map((row) => row.filter((_, other) => other !== index)) }, best.query)
  }
  // 4. A plainer query: no LIMIT/OFFSET, no ORDER BY, every column.
  if (best.query.kind === 'select') {
    const select = best.query
    if (select.offset !== undefined) await attempt(best.table, { ...select, offset: undefined })
    if (best.query.kind === 'select' && best.query.limit !== undefined) await attempt(best.table, { ...best.query, limit: undefined, offset: undefined })
    if (best.query.kind === 'select' && best.query.orderBy.length > 0 && best.query.limit === undefined) await attempt(best.table, { ...best.query, orderBy: [], ordered: false })
    if (best.query.kind === 'select' && best.query.projection !== '*') await attempt(best.table, { ...best.query, projection: '*' })
  }
  return best
}

/** The reproduction text of a query mismatch. */
export function queryReproduction(table: Table, query: QueryCase, outcome: QueryOutcome): string {
  const lines = [tableScript(table)]
  if (query.kind === 'select') {
    const { sql, params } = selectSql(query)
    if (outcome.warmups !== undefined) lines.push('-- first, on the row store (they leave a plan template of the statement\'s shape):', ...outcome.warmups.map((text) => `${text};`))
    lines.push(`${sql};${params.length > 0 ? `  -- parameters: ${JSON.stringify(params, (_key, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value))}` : ''}`)
  } else {
    for (const part of ['all', 'p', 'not', 'null'] as const) {
      const { sql, params } = partitionSql(query.table, query.where, part)
      lines.push(`${sql};${params.length > 0 ? `  -- parameters: ${JSON.stringify(params, (_key, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value))}` : ''}`)
    }
  }
  for (const [label, result] of outcome.mismatch?.answers ?? []) lines.push(`-- ${label}: ${describeAnswer(result).replaceAll('\n', '\n--')}`)
  return lines.join('\n')
}
