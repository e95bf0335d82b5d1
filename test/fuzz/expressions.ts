/**
 * Random expressions as small trees: generated with the table's columns and values (so equalities
 * hit), rendered to SQL (literals inline or as parameters), shrunk when a mismatch is reduced, and —
 * for the DML model — evaluated in JS with SQL's three-valued logic.
 *
 * What the generator makes: comparisons (also across types: an integer column with a decimal or a
 * scientific literal, text with a number, a number with text, a date with a timestamp), AND/OR/NOT,
 * IS [NOT] NULL, [NOT] IN lists, [NOT] BETWEEN, [NOT] LIKE, arithmetic, CASE, COALESCE, CAST,
 * `(p) IS NULL`. Classes in the exclusion list (known.ts) are not generated.
 */
import type { Random } from './random.js'
import { compareValues, decimalText, integerRanges, isFloat, isInteger, isNumeric, isText, isTime, literalSql, parameterValue, randomValue, typeSql, type FuzzType, type Value, type ValueOptions } from './values.js'

export interface Column {
  readonly name: string
  readonly type: FuzzType
  readonly notNull: boolean
}

export type ComparisonOperator = '=' | '<>' | '<' | '<=' | '>' | '>='

export type Expr =
  | { readonly k: 'column'; readonly column: Column }
  /** A value of `type`; `parameter` renders it as $n. */
  | { readonly k: 'literal'; readonly value: Value; readonly type: FuzzType; readonly parameter: boolean }
  /** A literal spelled out as-is (mixed-type comparisons: `1.5`, `1e2`, `'12'`). */
  | { readonly k: 'raw'; readonly sql: string }
  | { readonly k: 'compare'; readonly op: ComparisonOperator; readonly left: Expr; readonly right: Expr }
  | { readonly k: 'and' | 'or'; readonly left: Expr; readonly right: Expr }
  | { readonly k: 'not'; readonly arg: Expr }
  | { readonly k: 'isnull'; readonly arg: Expr; readonly negated: boolean }
  | { readonly k: 'in'; readonly arg: Expr; readonly items: readonly Expr[]; readonly negated: boolean }
  | { readonly k: 'between'; readonly arg: Expr; readonly low: Expr; readonly high: Expr; readonly negated: boolean }
  | { readonly k: 'like'; readonly arg: Expr; readonly pattern: Expr; readonly negated: boolean }
  | { readonly k: 'arith'; readonly op: '+' | '-' | '*'; readonly left: Expr; readonly right: Expr }
  | { readonly k: 'case'; readonly when: Expr; readonly then: Expr; readonly otherwise: Expr }
  | { readonly k: 'coalesce'; readonly args: readonly Expr[] }
  | { readonly k: 'cast'; readonly arg: Expr; readonly type: FuzzType }
  | { readonly k: 'concat'; readonly left: Expr; readonly right: Expr }
  | { readonly k: 'bool'; readonly value: boolean }

// ───────────────────────────── rendering ─────────────────────────────

/** SQL text; parameters are appended to `params` and written as $n. */
export function render(expr: Expr, params: unknown[]): string {
  switch (expr.k) {
    case 'column':
      return expr.column.name
    case 'literal':
      if (expr.parameter) {
        params.push(parameterValue(expr.value))
        return `$${params.length}`
      }
      return literalSql(expr.value, expr.type)
    case 'raw':
      return expr.sql
    case 'compare':
      return `(${render(expr.left, params)} ${expr.op} ${render(expr.right, params)})`
    case 'and':
    case 'or':
      return `(${render(expr.left, params)} ${expr.k.toUpperCase()} ${render(expr.right, params)})`
    case 'not':
      return `(NOT ${render(expr.arg, params)})`
    case 'isnull':
      return `(${render(expr.arg, params)} IS ${expr.negated ? 'NOT ' : ''}NULL)`
    case 'in':
      return `(${render(expr.arg, params)} ${expr.negated ? 'NOT ' : ''}IN (${expr.items.map((item) => render(item, params)).join(', ')}))`
    case 'between':
      return `(${render(expr.arg, params)} ${expr.negated ? 'NOT ' : ''}BETWEEN ${render(expr.low, params)} AND ${render(expr.high, params)})`
    case 'like':
      return `(${render(expr.arg, params)} ${expr.negated ? 'NOT ' : ''}LIKE ${render(expr.pattern, params)})`
    case 'arith':
      return `(${render(expr.left, params)} ${expr.op} ${render(expr.right, params)})`
    case 'case':
      return `(CASE WHEN ${render(expr.when, params)} THEN ${render(expr.then, params)} ELSE ${render(expr.otherwise, params)} END)`
    case 'coalesce':
      return `COALESCE(${expr.args.map((arg) => render(arg, params)).join(', ')})`
    case 'cast':
      return `CAST(${render(expr.arg, params)} AS ${typeSql(expr.type)})`
    case 'concat':
      return `(${render(expr.left, params)} || ${render(expr.right, params)})`
    case 'bool':
      return expr.value ? 'TRUE' : 'FALSE'
  }
}

/** The columns an expression reads. */
export function columnsOf(expr: Expr, into: Set<string> = new Set()): Set<string> {
  const visit = (node: Expr): void => {
    if (node.k === 'column') into.add(node.column.name)
    for (const child of children(node)) visit(child)
  }
  visit(expr)
  return into
}

function children(expr: Expr): Expr[] {
  switch (expr.k) {
    case 'column':
    case 'literal':
    case 'raw':
    case 'bool':
      return []
    case 'compare':
    case 'and':
    case 'or':
    case 'arith':
    case 'concat':
      return [expr.left, expr.right]
    case 'not':
    case 'isnull':
    case 'cast':
      return [expr.arg]
    case 'in':
      return [expr.arg, ...expr.items]
    case 'between':
      return [expr.arg, expr.low, expr.high]
    case 'like':
      return [expr.arg, expr.pattern]
    case 'case':
      return [expr.when, expr.then, expr.otherwise]
    case 'coalesce':
      return [...expr.args]
  }
}

const booleanKinds = new Set(['compare', 'and', 'or', 'not', 'isnull', 'in', 'between', 'like', 'bool'])

/**
 * Simpler predicates to try when reducing a mismatch, simplest first: every boolean sub-expression,
 * then the same node with fewer IN items or with one side of AND/OR dropped.
 */
export function shrinkCandidates(expr: Expr): Expr[] {
  const candidates: Expr[] = []
  const visit = (node: Expr, root: boolean): void => {
    if (!root && (booleanKinds.has(node.k) || (node.k === 'column' && node.column.type.kind === 'BOOLEAN'))) candidates.push(node)
    for (const child of children(node)) visit(child, false)
  }
  visit(expr, true)
  if (expr.k === 'in' && expr.items.length > 1) {
    for (let index = 0; index < expr.items.length; index++) candidates.push({ ...expr, items: expr.items.filter((_, other) => other !== index) })
  }
  if (expr.k === 'not' && expr.arg.k === 'not') candidates.push(expr.arg.arg)
  if (expr.k === 'between') candidates.push({ k: 'compare', op: '>=', left: expr.arg, right: expr.low }, { k: 'compare', op: '<=', left: expr.arg, right: expr.high })
  // Literals written inline instead of as parameters.
  const inline = withoutParameters(expr)
  if (inline !== expr) candidates.push(inline)
  candidates.sort((left, right) => size(left) - size(right))
  return candidates
}

function withoutParameters(expr: Expr): Expr {
  let changed = false
  const map = (node: Expr): Expr => {
    if (node.k === 'literal' && node.parameter) {
      changed = true
      return { ...node, parameter: false }
    }
    switch (node.k) {
      case 'compare':
      case 'and':
      case 'or':
      case 'arith':
      case 'concat':
        return { ...node, left: map(node.left), right: map(node.right) }
      case 'not':
      case 'isnull':
      case 'cast':
        return { ...node, arg: map(node.arg) }
      case 'in':
        return { ...node, arg: map(node.arg), items: node.items.map(map) }
      case 'between':
        return { ...node, arg: map(node.arg), low: map(node.low), high: map(node.high) }
      case 'like':
        return { ...node, arg: map(node.arg), pattern: map(node.pattern) }
      case 'case':
        return { ...node, when: map(node.when), then: map(node.then), otherwise: map(node.otherwise) }
      case 'coalesce':
        return { ...node, args: node.args.map(map) }
      default:
        return node
    }
  }
  const result = map(expr)
  return changed ? result : expr
}

export function size(expr: Expr): number {
  return 1 + children(expr).reduce((sum, child) => sum + size(child), 0)
}

// ───────────────────────────── generation ─────────────────────────────

export interface GenerationContext {
  readonly random: Random
  readonly columns: readonly Column[]
  /** Values present in the table, per column name (equalities and IN lists pick from them). */
  readonly samples: ReadonlyMap<string, readonly Value[]>
  /** Known-open classes not to generate (known.ts). */
  readonly excluded: ReadonlySet<string>
  /** Which values may be generated (known.ts). */
  readonly values: ValueOptions
}

/** A value for a column: mostly one the table holds, sometimes any value of the type, rarely NULL. */
export function valueFor(context: GenerationContext, column: Column): Value {
  const { random } = context
  const samples = context.samples.get(column.name) ?? []
  if (random.chance(0.05)) return null
  if (samples.length > 0 && random.chance(0.65)) return random.pick(samples)
  return randomValue(random, column.type, context.values)
}

export function literalFor(context: GenerationContext, column: Column, value: Value = valueFor(context, column)): Expr {
  // NULL as a parameter has no type for DuckDB to infer in some positions; keep it inline.
  return { k: 'literal', value, type: column.type, parameter: value !== null && context.random.chance(0.15) }
}

function comparisonOperator(random: Random): ComparisonOperator {
  return random.weighted<ComparisonOperator>([[4, '='], [2, '<>'], [1, '<'], [1, '<='], [1, '>'], [1, '>=']])
}

/** Types whose values compare with each other in both stores. */
function sameFamily(left: FuzzType, right: FuzzType): boolean {
  if (isInteger(left) && isInteger(right)) return true
  if (isFloat(left) && isFloat(right)) return true
  if (isText(left) && isText(right)) return true
  if (isTime(left) && isTime(right)) return left.kind === right.kind
  return left.kind === right.kind && (left.kind !== 'DECIMAL' || (left.precision === right.precision && left.scale === right.scale))
}

/** A random predicate over the context's columns, `depth` levels of AND/OR/NOT at most. */
export function predicate(context: GenerationContext, depth: number): Expr {
  const { random, columns } = context
  const column = random.pick(columns)
  const choices: [number, () => Expr | undefined][] = [
    [9, () => ({ k: 'compare', op: comparisonOperator(random), left: { k: 'column', column }, right: literalFor(context, column) })],
    [1, () => ({ k: 'compare', op: comparisonOperator(random), left: literalFor(context, column), right: { k: 'column', column } })],
    [2, () => columnComparison(context)],
    [3, () => ({ k: 'isnull', arg: { k: 'column', column }, negated: random.chance(0.4) })],
    [3, () => ({ k: 'in', arg: { k: 'column', column }, items: Array.from({ length: random.int(1, 4) }, () => literalFor(context, column)), negated: random.chance(0.3) })],
    [3, () => between(context, column)],
    [3, () => like(context)],
    [1, () => booleanColumn(context)],
    [3, () => mixedComparison(context, column)],
    [2, () => arithmeticComparison(context)],
    [2, () => columnStoreOnly(context, depth)],
    [1, () => ({ k: 'bool', value: random.chance(0.5) })],
  ]
  if (depth > 0) {
    choices.push(
      [4, () => ({ k: random.chance(0.5) ? 'and' : 'or', left: predicate(context, depth - 1), right: predicate(context, depth - 1) })],
      [2, () => ({ k: 'not', arg: predicate(context, depth - 1) })],
      [1, () => ({ k: 'isnull', arg: predicate(context, depth - 1), negated: random.chance(0.5) })],
    )
  }
  for (let attempt = 0; attempt < 20; attempt++) {
    const made = random.weighted(choices)()
    if (made !== undefined) return made
  }
  return { k: 'isnull', arg: { k: 'column', column }, negated: false }
}

function columnComparison(context: GenerationContext): Expr | undefined {
  const { random, columns } = context
  const left = random.pick(columns)
  const partners = columns.filter((other) => other !== left && sameFamily(left.type, other.type))
  if (partners.length === 0) return undefined
  return { k: 'compare', op: comparisonOperator(random), left: { k: 'column', column: left }, right: { k: 'column', column: random.pick(partners) } }
}

function between(context: GenerationContext, column: Column): Expr | undefined {
  const { random } = context
  let low = valueFor(context, column)
  let high = valueFor(context, column)
  // Usually low ≤ high, so the range holds rows; sometimes reversed (an empty range).
  if (low !== null && high !== null && compareValues(low, high) > 0 && random.chance(0.8)) [low, high] = [high, low]
  return { k: 'between', arg: { k: 'column', column }, low: literalFor(context, column, low), high: literalFor(context, column, high), negated: random.chance(0.3) }
}

function like(context: GenerationContext): Expr | undefined {
  const { random, columns } = context
  const texts = columns.filter((column) => isText(column.type))
  if (texts.length === 0) return undefined
  const column = random.pick(texts)
  const source = valueFor(context, column)
  const text = source !== null && source.t === 'text' ? source.v : 'a'
  const characters = [...text]
  const start = random.int(0, characters.length)
  const end = random.int(start, characters.length)
  const middle = characters.slice(start, end).map((character) => (random.chance(0.15) ? '_' : character)).join('')
  const pattern = random.pick([`${middle}%`, `%${middle}`, `%${middle}%`, middle, `_${middle}`, '%', '', text.toUpperCase()])
  return { k: 'like', arg: { k: 'column', column }, pattern: { k: 'literal', value: { t: 'text', v: pattern }, type: { kind: 'TEXT' }, parameter: random.chance(0.15) }, negated: random.chance(0.3) }
}

function booleanColumn(context: GenerationContext): Expr | undefined {
  const booleans = context.columns.filter((column) => column.type.kind === 'BOOLEAN')
  return booleans.length === 0 ? undefined : { k: 'column', column: context.random.pick(booleans) }
}

/**
 * A column compared with a literal of another type: the implicit casts where SQLite and DuckDB most
 * easily disagree. A literal that does not convert to the column's type (out of its range, text that
 * is not one of its values) is the class 'literal-outside-column-type' of known.ts; the others named
 * there are generated only when they are not excluded.
 */
function mixedComparison(context: GenerationContext, column: Column): Expr | undefined {
  const { random, excluded } = context
  const op = comparisonOperator(random)
  /** Literals: [sql, the known-open class it belongs to (if any)]. */
  const pick = (choices: readonly (readonly [string, string?])[]): Expr | undefined => {
    const allowed = choices.filter(([, known]) => known === undefined || !excluded.has(known))
    if (allowed.length === 0) return undefined
    return { k: 'compare', op, left: { k: 'column', column }, right: { k: 'raw', sql: random.pick(allowed)[0] } }
  }
  const outside = 'literal-outside-column-type'
  const type = column.type
  if (isInteger(type)) {
    const [low, high] = integerRanges[type.kind]
    const fraction = 'decimal-literal-vs-integer-column'
    return pick([
      ['1.5', fraction], ['-0.5', fraction], ['0.5', fraction], ['2.25', fraction], ['-7.5', fraction], [`${high}.5`, fraction],
      ['1.0'], ['0.0'], ['-1.0'], ['7.00'], ['1e0'], ['2e1'], ['1E2'],
      [`${high + 1n}`, outside], [`${low - 1n}`, outside], ['100000', outside], ['-9999999999', outside], ['99999999999999999999', outside],
      ["'1'"], ["'0'"], ["'-1'"], ["'7'"], ["' 7'"], ["'+7'"], ["'abc'", outside], ["''", outside], ["'1.5'", outside], ["'1e1'", outside],
      ['TRUE'], ['FALSE'],
    ])
  }
  if (type.kind === 'DECIMAL') {
    const scale = type.scale!
    const integerDigits = type.precision! - scale
    const fits = (value: number): string | undefined => (Math.abs(value) < 10 ** integerDigits ? undefined : outside)
    const whole = random.int(-20, 20)
    // A value the column holds with one more digit: the row store would round it back to that value.
    const held = valueFor(context, column)
    const precise = held !== null && held.t === 'decimal' ? `${decimalText(held.v, held.scale)}${scale === 0 ? '.' : ''}${random.int(1, 9)}` : `${whole}.${'0'.repeat(scale)}${random.int(1, 9)}`
    return pick([
      [precise, 'precise-literal-vs-decimal-column'],
      [String(whole), fits(whole)],
      ['1e1', fits(10)], ['2.5e0', fits(2.5)], ['-0.0'],
      ["'1'", fits(1)], ["'1.5'", scale >= 1 ? fits(1.5) : 'precise-literal-vs-decimal-column'], ["'-0.25'", scale >= 2 ? fits(0.25) : 'precise-literal-vs-decimal-column'], ["'x'", outside],
    ])
  }
  if (isFloat(type)) return pick([['1'], ['0'], ['-1'], ['1.5'], ['0.1'], ['1e308'], ['1e-5'], ["'1.5'"], ["'abc'", outside], ["'-0'"], ['99999999999999999999']])
  if (isText(type)) return pick([['1'], ['0'], ['1.5'], ['-1'], ['TRUE'], ['01']])
  if (type.kind === 'JSON') return pick([['1'], ["'1'"], ["'{\"a\":1}'"], ["'{\"a\": 1}'"], ["'null'"], ['TRUE']])
  if (type.kind === 'BOOLEAN') return pick([['1'], ['0'], ["'t'"], ["'yes'"], ["'no'"], ["'x'", outside], ['2', outside]])
  if (type.kind === 'DATE') {
    return pick([["TIMESTAMP '2024-01-01 00:00:00'"], ["TIMESTAMP '2024-01-01 12:00:00'"], ["'2024-01-01 00:00:00'"], ["'2024-01-01'"], ["'20240101'", outside], ['20240101', outside], ["'2024-13-01'", outside]])
  }
  if (isTime(type)) {
    return pick([["DATE '2024-01-01'"], ["'2024-01-01'"], ["'2024-01-01T00:00:00Z'"], ["'2024-01-01 00:00:00+01'"], ["TIMESTAMPTZ '2024-01-01 00:00:00+00'"], ["TIMESTAMP '2024-01-01 00:00:00'"], ["'1970-01-01 00:00:00.000001'"], ['0', outside]])
  }
  if (type.kind === 'BLOB') return pick([["'abc'"], ["'\\x61'"], ["''"], ["'\\xFF'::BLOB"], ['1', outside]])
  return undefined
}

/** `column op literal <cmp> literal` on a numeric column: DuckDB checks integer overflow, and its optimizer moves constants. */
function arithmeticComparison(context: GenerationContext): Expr | undefined {
  const { random, columns, excluded } = context
  const numeric = columns.filter((column) => isInteger(column.type) || isFloat(column.type))
  if (numeric.length === 0) return undefined
  const column = random.pick(numeric)
  const op = random.pick(['+', '-', '*'] as const)
  const operandValue = isInteger(column.type)
    ? random.pick([1n, 2n, -1n, 3n, 0n, 7n, integerRanges[column.type.kind as 'SMALLINT'][1]])
    : undefined
  const operand: Expr = operandValue === undefined ? literalFor(context, column) : { k: 'literal', value: { t: 'int', v: operandValue }, type: column.type, parameter: false }
  const minimum: Value | undefined = isInteger(column.type) ? { t: 'int', v: integerRanges[column.type.kind as 'SMALLINT'][0] } : undefined
  const right = operandValue === -1n && minimum !== undefined && random.chance(0.3) ? literalFor(context, column, minimum) : literalFor(context, column)
  if (excluded.has('duckdb-negated-minimum') && isInteger(column.type) && op === '*' && operandValue === -1n) {
    // `x * -1 <op> <x's minimum>` is folded to FALSE by DuckDB 1.5.6 (known.ts).
    if (right.k === 'literal' && right.value !== null && right.value.t === 'int' && right.value.v === integerRanges[column.type.kind as 'SMALLINT'][0]) return undefined
  }
  const arithmetic: Expr = random.chance(0.8) ? { k: 'arith', op, left: { k: 'column', column }, right: operand } : { k: 'arith', op, left: operand, right: { k: 'column', column } }
  return { k: 'compare', op: comparisonOperator(random), left: arithmetic, right }
}

/** Constructs only the column store runs today (CASE, COALESCE, CAST, ||): they count as row-store unsupported and feed the TLP check. */
function columnStoreOnly(context: GenerationContext, depth: number): Expr | undefined {
  const { random, columns } = context
  const column = random.pick(columns)
  return random.weighted<() => Expr | undefined>([
    [2, () => ({ k: 'compare', op: comparisonOperator(random), left: { k: 'coalesce', args: [{ k: 'column', column }, literalFor(context, column, valueFor(context, column) ?? randomValue(random, column.type, context.values))] }, right: literalFor(context, column) })],
    [2, () => ({ k: 'case', when: predicate(context, Math.max(0, depth - 1)), then: predicate(context, 0), otherwise: predicate(context, 0) })],
    [2, () => {
      const target: FuzzType = random.pick<FuzzType>([{ kind: 'TEXT' }, { kind: 'BIGINT' }, { kind: 'DOUBLE' }, { kind: 'INTEGER' }])
      if (target.kind !== 'TEXT' && !isNumeric(column.type) && column.type.kind !== 'BOOLEAN') return undefined
      const literal: Expr = target.kind === 'TEXT' ? { k: 'literal', value: { t: 'text', v: random.pick(['1', 'a', '']) }, type: target, parameter: false } : { k: 'literal', value: { t: 'int', v: BigInt(random.int(-3, 3)) }, type: target, parameter: false }
      return { k: 'compare', op: comparisonOperator(random), left: { k: 'cast', arg: { k: 'column', column }, type: target }, right: literal }
    }],
    [1, () => {
      const texts = columns.filter((candidate) => isText(candidate.type))
      if (texts.length === 0) return undefined
      const text = random.pick(texts)
      return { k: 'compare', op: '=', left: { k: 'concat', left: { k: 'column', column: text }, right: { k: 'literal', value: { t: 'text', v: random.pick(['', 'x', '😀']) }, type: text.type, parameter: false } }, right: literalFor(context, text) }
    }],
  ])()
}

// ───────────────────────────── evaluation (the DML model) ─────────────────────────────

export type Truth = boolean | null

/**
 * Evaluates the predicates the DML generator makes (comparisons of a column with a literal or with
 * `column + literal`, IS NULL, IN, BETWEEN, AND/OR/NOT) on a row, with SQL's three-valued logic.
 */
export function evaluate(expr: Expr, row: ReadonlyMap<string, Value>): Truth {
  switch (expr.k) {
    case 'bool':
      return expr.value
    case 'and': {
      const left = evaluate(expr.left, row)
      const right = evaluate(expr.right, row)
      if (left === false || right === false) return false
      return left === null || right === null ? null : true
    }
    case 'or': {
      const left = evaluate(expr.left, row)
      const right = evaluate(expr.right, row)
      if (left === true || right === true) return true
      return left === null || right === null ? null : false
    }
    case 'not': {
      const inner = evaluate(expr.arg, row)
      return inner === null ? null : !inner
    }
    case 'isnull': {
      const value = scalar(expr.arg, row)
      return (value === null) !== expr.negated
    }
    case 'compare': {
      const left = scalar(expr.left, row)
      const right = scalar(expr.right, row)
      if (left === null || right === null) return null
      const order = compareValues(left, right)
      switch (expr.op) {
        case '=':
          return order === 0
        case '<>':
          return order !== 0
        case '<':
          return order < 0
        case '<=':
          return order <= 0
        case '>':
          return order > 0
        case '>=':
          return order >= 0
      }
      break
    }
    case 'in': {
      const value = scalar(expr.arg, row)
      if (value === null) return null
      let sawNull = false
      for (const item of expr.items) {
        const other = scalar(item, row)
        if (other === null) sawNull = true
        else if (compareValues(value, other) === 0) return !expr.negated
      }
      return sawNull ? null : expr.negated
    }
    case 'between': {
      const value = scalar(expr.arg, row)
      const low = scalar(expr.low, row)
      const high = scalar(expr.high, row)
      const above = value === null || low === null ? null : compareValues(value, low) >= 0
      const below = value === null || high === null ? null : compareValues(value, high) <= 0
      const inside = above === false || below === false ? false : above === null || below === null ? null : true
      return inside === null ? null : inside !== expr.negated
    }
    default:
      break
  }
  throw new Error(`the DML model cannot evaluate ${expr.k}`)
}

function scalar(expr: Expr, row: ReadonlyMap<string, Value>): Value {
  if (expr.k === 'column') return row.get(expr.column.name) ?? null
  if (expr.k === 'literal') return expr.value
  if (expr.k === 'arith') {
    const left = scalar(expr.left, row)
    const right = scalar(expr.right, row)
    if (left === null || right === null) return null
    if (left.t !== 'int' || right.t !== 'int') throw new Error('the DML model evaluates integer arithmetic only')
    return { t: 'int', v: expr.op === '+' ? left.v + right.v : expr.op === '-' ? left.v - right.v : left.v * right.v }
  }
  throw new Error(`the DML model cannot evaluate ${expr.k} as a value`)
}
