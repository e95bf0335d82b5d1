/**
 * Compiles PostgreSQL parse trees into SQLite SQL for the row store — from the tree, never by editing
 * text. Only constructs whose meaning is identical in SQLite and DuckDB are compiled; anything else
 * raises `NotRowStore` naming the construct, and the caller routes the statement to the column store
 * (reads) or evaluates it there (writes). This is what keeps one dialect giving one answer.
 */
import { StrataError } from '../util/errors.js'
import { limits } from '../util/limits.js'
import { findColumn, rowIdColumn, type ColumnDefinition, type TableDefinition } from './catalog.js'
import { constantSlot, type TemplateRecorder } from './fingerprint.js'
import { fulltextCondition, fulltextOutputName, fulltextScore, fulltextSortNode, isFulltextMatchCall, isFulltextScoreCall, withFulltext, type FulltextPlan } from './fulltext.js'
import type { PgNode } from './parse.js'
import type { Binder, BoundValue, OutputColumn, RowPlan } from './plan.js'
import { compileGrouping, type GroupingScope } from './rowgroup.js'
import { constantValue, list, names, nodeBody, nodeKind, quoteIdentifier, stringValue } from './tree.js'
import { decimalIsScaled, toStorage, typeFromNames, typeLabel, type SqlType } from './types.js'
import { decimalFromNumber, decimalText, fitsScale, parseDecimal, powerOfTen, rescale, significantDigits } from '../util/decimal.js'

/** Thrown when a construct cannot be compiled for the row store with identical meaning. */
export class NotRowStore extends Error {
  constructor(readonly construct: string) {
    super(`the row store cannot run ${construct}`)
  }
}

export type { Binder, BoundValue, OutputColumn, RowPlan } from './plan.js'

type Operand =
  | { readonly kind: 'sql'; readonly sql: string; readonly type: SqlType; readonly binders: readonly Binder[] }
  /**
   * `text`: a numeric literal's exact digits as written (its `value` is a double). `wideDecimal`: a
   * decimal literal whose digits exceed 2^53, which DuckDB turns into a DOUBLE its own way (wideDecimalLiteral).
   */
  | { readonly kind: 'value'; readonly value: unknown; readonly type: SqlType | undefined; readonly text?: string; readonly wideDecimal?: true }
  | { readonly kind: 'param'; readonly index: number; readonly type: SqlType | undefined }
  | { readonly kind: 'now' }

type LiteralOperand = Extract<Operand, { kind: 'value' }>

/**
 * A literal of a plan template's instrumented tree (src/sql/fingerprint.ts): the operand the compiler
 * gets has getters that pin the constant's slot when its `value`, `text` or `wideDecimal` is read;
 * a literal site reads the plain operand behind it instead (`decide`, `literalBinder`), recording what
 * it decided and how it computed its value.
 */
const trackedLiterals = new WeakMap<object, { readonly plain: LiteralOperand; readonly slot: number; readonly recorder: TemplateRecorder }>()

function trackedLiteral(plain: LiteralOperand, slot: number, recorder: TemplateRecorder): LiteralOperand {
  const tracked = { kind: 'value' as const, type: undefined }
  for (const field of ['value', 'text', 'wideDecimal'] as const) {
    Object.defineProperty(tracked, field, {
      enumerable: plain[field] !== undefined || field === 'value',
      get: () => {
        recorder.pin(slot)
        return plain[field]
      },
    })
  }
  trackedLiterals.set(tracked, { plain, slot, recorder })
  return tracked as unknown as LiteralOperand
}

/** The literal operand of a constant (an A_Const body), as `operand` makes it. */
function literalOf(constant: PgNode): LiteralOperand {
  const text = (constant['fval'] as PgNode | undefined)?.['fval']
  if (typeof text !== 'string') return { kind: 'value', value: constantValue(constant).value, type: undefined }
  return { kind: 'value', value: constantValue(constant).value, type: undefined, text, ...(wideDecimalLiteral(constant) ? { wideDecimal: true as const } : {}) }
}

/**
 * A literal site's decision on a literal (whether a comparison is fractional, whether LIMIT is NULL,
 * a check that throws NotRowStore): `decision` run on it. For a template's literal, recorded with its
 * outcome: the template serves another constant only when `decision` gives the same outcome on it.
 */
function decide<T>(operand: LiteralOperand, decision: (literal: LiteralOperand) => T): T {
  const tracked = trackedLiterals.get(operand)
  if (tracked === undefined) return decision(operand)
  const outcome = decision(tracked.plain)
  tracked.recorder.check(tracked.slot, (constant: PgNode) => decision(literalOf(constant)), outcome)
  return outcome
}

/**
 * The binder of a value `compute` makes of a literal. For a template's literal it carries `compute`
 * (as a function of the constant), and reading its `value` while the template is compiled pins the
 * slot: code that copied the value elsewhere would make the plan depend on this constant.
 */
function literalBinder(operand: LiteralOperand, compute: (literal: LiteralOperand) => BoundValue): Binder {
  const tracked = trackedLiterals.get(operand)
  if (tracked === undefined) return { kind: 'value', value: compute(operand) }
  const { plain, slot, recorder } = tracked
  const value = compute(plain)
  const binder = { kind: 'value' as const, literal: { slot, compute: (constant: PgNode) => compute(literalOf(constant)) } }
  Object.defineProperty(binder, 'value', {
    enumerable: true,
    get: () => {
      if (recorder.compiling) recorder.pin(slot)
      return value
    },
  })
  return binder as unknown as Binder
}

interface Scope {
  readonly table: TableDefinition
  /** Names a column reference may be qualified with. */
  readonly qualifiers: readonly string[]
  /** `excluded.col` is allowed (ON CONFLICT DO UPDATE). */
  readonly excluded: boolean
  /** Write constants into the SQL instead of binding them (CHECK constraints cannot have parameters). */
  readonly inlineValues?: boolean
  /** Columns a reference may name that `*` does not include (the period columns of a time-travel read). */
  readonly hidden?: readonly ColumnDefinition[]
  /** The FTS subqueries a SELECT joins for bm25 (src/sql/fulltext.ts). */
  readonly fulltext?: FulltextPlan
  /**
   * Arithmetic (+, -, *): 'checked' (SET values) fails on integer overflow as DuckDB does, and on a
   * DOUBLE NaN the row store cannot store, through its strata_int_* and strata_real_* functions;
   * 'plain' (CHECK constraints, which only the row store evaluates) is SQLite's; undefined
   * (conditions of reads, UPDATE and DELETE) refuses it, because there DuckDB's optimizer decides
   * whether an overflow fails or is rewritten away (`s * 2 > 0` is read as `s > 0`), which SQLite
   * cannot follow.
   */
  readonly arithmetic?: 'checked' | 'plain'
}

/** The row store's checked arithmetic (src/storage/rowstore/arithmetic-functions.ts): integer overflow, DOUBLE NaN. */
const checkedArithmetic: Readonly<Record<string, string>> = { '+': 'strata_int_add', '-': 'strata_int_subtract', '*': 'strata_int_multiply' }
const checkedRealArithmetic: Readonly<Record<string, string>> = { '+': 'strata_real_add', '-': 'strata_real_subtract', '*': 'strata_real_multiply' }
const integerBits: Readonly<Record<string, number>> = { SMALLINT: 16, INTEGER: 32, BIGINT: 64 }

const comparisonOperators = new Set(['=', '<>', '!=', '<', '<=', '>', '>='])
const integerTypes = new Set(['SMALLINT', 'INTEGER', 'BIGINT'])

function isNumeric(type: SqlType): boolean {
  return integerTypes.has(type.name) || type.name === 'DOUBLE'
}

function sameType(left: SqlType, right: SqlType): boolean {
  return typeLabel(left) === typeLabel(right)
}

/** The scale a value of this type is stored at when it is an exact integer in SQLite: 0 for integers, s for a scaled DECIMAL; else undefined. */
function integerStorageScale(type: SqlType): number | undefined {
  if (integerTypes.has(type.name)) return 0
  if (type.name === 'DECIMAL' && decimalIsScaled(type)) return type.scale ?? 3
  return undefined
}

/** Types whose stored forms compare the way DuckDB compares the values. */
function comparable(left: SqlType, right: SqlType): boolean {
  if (left.name === 'DECIMAL' || right.name === 'DECIMAL') {
    // Scaled integers compare as the decimals they mean only at the same scale (an integer is scale 0).
    const leftScale = integerStorageScale(left)
    return leftScale !== undefined && leftScale === integerStorageScale(right)
  }
  if (sameType(left, right)) return true
  if (isNumeric(left) && isNumeric(right)) return true
  if ((left.name === 'TIMESTAMP' || left.name === 'TIMESTAMPTZ') && (right.name === 'TIMESTAMP' || right.name === 'TIMESTAMPTZ')) return true
  return false
}

/**
 * What a literal operand is bound for: `compare` keeps its value (DuckDB compares a column with a
 * literal in the wider type: `i = 1.5` is false for every integer i); `assign` converts it to the
 * column's type as a cast would (an INSERT or SET of 1.5 into an INTEGER column stores 2);
 * `arithmetic` needs an integer literal.
 */
type Purpose = 'compare' | 'assign' | 'arithmetic'

function bindOperand(scope: Scope, operand: Operand, type: SqlType, purpose: Purpose = 'compare'): { sql: string; binders: Binder[] } {
  // A DECIMAL of more than 18 digits is text in SQLite: stored and read exactly, never compared there
  // (IN, BETWEEN and parameters included) — text order is not numeric order.
  if (purpose !== 'assign' && type.name === 'DECIMAL' && !decimalIsScaled(type)) throw new NotRowStore(`a comparison on a ${typeLabel(type)} column (kept as text)`)
  switch (operand.kind) {
    case 'sql':
      if (operand.type.name === 'DECIMAL' && !decimalIsScaled(operand.type)) throw new NotRowStore(`a comparison on a ${typeLabel(operand.type)} column (kept as text)`)
      if (!comparable(operand.type, type)) throw new NotRowStore(`a comparison of ${typeLabel(operand.type)} with ${typeLabel(type)}`)
      return { sql: operand.sql, binders: [...operand.binders] }
    case 'value': {
      checkLiteralType(operand, type)
      const storage = literalValue(type, purpose)
      // Written into the text: a template's constant is pinned (the getters see the read).
      if (scope.inlineValues === true) return { sql: sqlLiteral(storage(operand)), binders: [] }
      return { sql: '?', binders: [literalBinder(operand, storage)] }
    }
    case 'param':
      if (operand.type !== undefined && !comparable(operand.type, type)) {
        throw new NotRowStore(`a parameter cast to ${typeLabel(operand.type)} used as ${typeLabel(type)}`)
      }
      // An uncast parameter in a comparison keeps its value (comparisonParameter), as DuckDB binds it.
      if (purpose === 'compare' && operand.type === undefined) return { sql: '?', binders: [{ kind: 'param', index: operand.index, type, compare: true }] }
      return { sql: '?', binders: [{ kind: 'param', index: operand.index, type }] }
    case 'now':
      if (type.name !== 'TIMESTAMP' && type.name !== 'TIMESTAMPTZ' && type.name !== 'DATE') throw new NotRowStore('now() used as a non-timestamp')
      return { sql: '?', binders: [{ kind: 'now', type }] }
  }
}

/** A typed literal (`'1'::INTEGER`) must be comparable with what it is bound as. */
function checkLiteralType(operand: LiteralOperand, type: SqlType): void {
  if (operand.type !== undefined && !comparable(operand.type, type)) {
    throw new NotRowStore(`a ${typeLabel(operand.type)} literal used as ${typeLabel(type)}`)
  }
}

/** How a literal bound as `type` for `purpose` becomes the value SQLite gets (bindOperand's, as a function of the literal). */
function literalValue(type: SqlType, purpose: Purpose): (literal: LiteralOperand) => BoundValue {
  return (literal) => {
    // A DECIMAL gets the literal's exact digits (its `value` is a double).
    const exact = type.name === 'DECIMAL' && literal.text !== undefined ? literal.text : literal.value
    return purpose === 'assign' || (literal.type !== undefined && sameType(literal.type, type)) ? toStorage(exact, type) : literalStorage(literal, type, purpose)
  }
}

const bigintLow = -(2n ** 63n)
const bigintHigh = 2n ** 63n - 1n

/**
 * A literal compared with (or combined in arithmetic with) a column of `type`, as the value SQLite
 * must compare the stored form with so that the answer is DuckDB's. A number is compared in the
 * wider type, never rounded to the column's: against an integer column (or a DECIMAL scaled to an
 * integer) an integral value stays itself even out of the column's range, a fractional one is a
 * double — exact enough, since with at most 15 significant digits the double is on the same side of
 * every integer as the decimal it spells. Anything that cannot be compared exactly this way is
 * NotRowStore (the column store answers). Strings are cast to the column's type, as DuckDB casts a
 * string literal.
 */
/**
 * A compared literal cast to the column's type. One that is not a value of the type (`b = 2` on a
 * BOOLEAN, `d = '20240101'` on a DATE, `i >= '1.5'`) is the column store's: DuckDB casts it where and
 * when it evaluates the comparison (an empty table answers, a row that reaches it fails), which the row
 * store cannot mirror by refusing the literal up front.
 */
function castLiteral(value: unknown, type: SqlType): null | number | bigint | string | Uint8Array {
  try {
    return toStorage(value, type)
  } catch (error) {
    if (error instanceof StrataError && error.code === 'TYPE_MISMATCH') throw new NotRowStore(`a literal that is not a ${typeLabel(type)} value compared with a ${typeLabel(type)} column`)
    throw error
  }
}

function literalStorage(operand: Extract<Operand, { kind: 'value' }>, type: SqlType, purpose: Purpose): null | number | bigint | string | Uint8Array {
  const value = operand.value
  if (value === null || value === undefined) return null
  const scale = integerStorageScale(type)
  if (typeof value !== 'number' && typeof value !== 'bigint') {
    if (purpose === 'arithmetic') throw new NotRowStore('arithmetic with a non-numeric literal')
    return castLiteral(value, type)
  }
  if (operand.type !== undefined && operand.type.name === 'DOUBLE' && type.name === 'DECIMAL') {
    throw new NotRowStore(`a DOUBLE compared with a ${typeLabel(type)} column`)
  }
  if (type.name === 'DOUBLE') return Number(value)
  // A DECIMAL kept as text never gets here: bindOperand refuses every comparison with it.
  if (scale === undefined) return castLiteral(value, type)
  // An integer written as one (no decimal text) against an integer column is itself (what the exact
  // path below gives, without its decimal arithmetic: the hot path of a point read by key).
  if (scale === 0 && typeof value === 'number' && operand.text === undefined && Number.isSafeInteger(value)) return value + 0
  const decimal = typeof value === 'bigint' ? { unscaled: value, scale: 0 } : (operand.text !== undefined ? parseDecimal(operand.text) : undefined) ?? decimalFromNumber(value)
  const shifted = { unscaled: decimal.unscaled, scale: decimal.scale - scale }
  if (shifted.scale <= 0 || fitsScale(shifted, 0)) {
    const integer = rescale(shifted, 0).unscaled
    if (integer < bigintLow || integer > bigintHigh) throw new NotRowStore('a literal beyond BIGINT compared with an integer')
    return integer >= BigInt(Number.MIN_SAFE_INTEGER) && integer <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(integer) : integer
  }
  if (purpose === 'arithmetic') throw new NotRowStore('arithmetic with a fractional literal on an integer column')
  if (significantDigits(decimal) > 15) throw new NotRowStore('a literal of more than 15 significant digits compared with an integer')
  return Number(decimalText(shifted))
}

function columnOperand(scope: Scope, fields: string[]): Operand {
  let name: string
  let prefix = ''
  if (fields.length === 1) name = fields[0]!
  else if (fields.length === 2) {
    const qualifier = fields[0]!
    name = fields[1]!
    if (scope.excluded && qualifier === 'excluded') prefix = 'excluded.'
    else if (!scope.qualifiers.includes(qualifier)) {
      throw new StrataError('UNDEFINED_TABLE', `missing FROM-clause entry for table "${qualifier}"`)
    }
  } else throw new NotRowStore('a column reference qualified by schema')
  const column = findColumn(scope.table, name) ?? scope.hidden?.find((candidate) => candidate.name === name)
  if (column === undefined) {
    throw new StrataError('UNDEFINED_COLUMN', `column "${name}" does not exist in table "${scope.table.name}"`)
  }
  return { kind: 'sql', sql: `${prefix}${quoteIdentifier(column.name)}`, type: column.type, binders: [] }
}

function operand(scope: Scope, node: unknown): Operand {
  const kind = nodeKind(node)
  switch (kind) {
    case 'ColumnRef': {
      const fields = list(nodeBody(node, 'ColumnRef')!['fields'])
      if (fields.some((field) => nodeKind(field) === 'A_Star')) throw new NotRowStore('* inside an expression')
      return columnOperand(scope, names(fields))
    }
    case 'A_Const': {
      const body = nodeBody(node, 'A_Const')!
      const site = constantSlot(body)
      return site === undefined ? literalOf(body) : trackedLiteral(literalOf(site.body), site.slot, site.recorder)
    }
    case 'ParamRef': {
      const number = nodeBody(node, 'ParamRef')!['number']
      return { kind: 'param', index: (typeof number === 'number' ? number : 0) - 1, type: undefined }
    }
    case 'TypeCast': {
      const body = nodeBody(node, 'TypeCast')!
      const typeName = nodeBody({ TypeName: body['typeName'] }, 'TypeName')!
      const modifiers = list(typeName['typmods']).map((modifier) => Number(constantValue(nodeBody(modifier, 'A_Const') ?? {}).value))
      let type: SqlType
      try {
        type = typeFromNames(names(typeName['names']), modifiers)
      } catch {
        throw new NotRowStore(`a cast to ${names(typeName['names']).join('.')}`)
      }
      const inner = operand(scope, body['arg'])
      if (inner.kind === 'value') {
        if (inner.value === null) return { kind: 'value', value: null, type }
        // A typed literal: check it now, as DuckDB would when binding the statement.
        toStorage(inner.value, type)
        return { kind: 'value', value: inner.value, type }
      }
      if (inner.kind === 'param') return { kind: 'param', index: inner.index, type }
      if (inner.kind === 'sql' && sameType(inner.type, type)) return inner
      throw new NotRowStore('a cast of a column')
    }
    case 'SQLValueFunction': {
      const op = nodeBody(node, 'SQLValueFunction')!['op']
      if (op === 'SVFOP_CURRENT_TIMESTAMP' || op === 'SVFOP_LOCALTIMESTAMP') return { kind: 'now' }
      throw new NotRowStore(`the SQL function ${String(op).replace(/^SVFOP_/, '')}`)
    }
    case 'FuncCall': {
      if (isFulltextScoreCall(node)) return { kind: 'sql', ...fulltextScore(scope, node), binders: [] }
      const body = nodeBody(node, 'FuncCall')!
      const name = names(body['funcname']).join('.')
      if ((name === 'now' || name === 'pg_catalog.now') && list(body['args']).length === 0 && body['over'] === undefined) return { kind: 'now' }
      throw new NotRowStore(`the function ${name}()`)
    }
    case 'A_Expr': {
      const body = nodeBody(node, 'A_Expr')!
      const op = names(body['name'])[0] ?? ''
      if (body['kind'] === 'AEXPR_OP' && (op === '+' || op === '-' || op === '*') && body['lexpr'] !== undefined) {
        if (scope.arithmetic === undefined) throw new NotRowStore(`arithmetic (${op}) in a condition`)
        const left = operand(scope, body['lexpr'])
        const right = operand(scope, body['rexpr'])
        const typed = left.kind === 'sql' ? left : right.kind === 'sql' ? right : undefined
        if (typed === undefined || !isNumeric(typed.type)) throw new NotRowStore(`arithmetic (${op}) outside integer or DOUBLE columns`)
        const leftBound = bindOperand(scope, left, typed.type, 'arithmetic')
        const rightBound = bindOperand(scope, right, typed.type, 'arithmetic')
        if (left.kind === 'sql' && right.kind === 'sql' && !sameType(left.type, right.type)) throw new NotRowStore('arithmetic across types')
        const binders = [...leftBound.binders, ...rightBound.binders]
        const bits = integerBits[typed.type.name]
        if (scope.arithmetic === 'checked' && bits !== undefined) {
          return { kind: 'sql', sql: `${checkedArithmetic[op]!}(${leftBound.sql}, ${rightBound.sql}, ${bits})`, type: typed.type, binders }
        }
        if (scope.arithmetic === 'checked') return { kind: 'sql', sql: `${checkedRealArithmetic[op]!}(${leftBound.sql}, ${rightBound.sql})`, type: typed.type, binders }
        return { kind: 'sql', sql: `(${leftBound.sql} ${op} ${rightBound.sql})`, type: typed.type, binders }
      }
      if (body['kind'] === 'AEXPR_OP' && op === '||') {
        const left = operand(scope, body['lexpr'])
        const right = operand(scope, body['rexpr'])
        const text: SqlType = { name: 'VARCHAR' }
        if ((left.kind === 'sql' && left.type.name !== 'VARCHAR') || (right.kind === 'sql' && right.type.name !== 'VARCHAR')) {
          throw new NotRowStore('|| on non-text values')
        }
        const leftBound = bindOperand(scope, left, text)
        const rightBound = bindOperand(scope, right, text)
        return { kind: 'sql', sql: `(${leftBound.sql} || ${rightBound.sql})`, type: text, binders: [...leftBound.binders, ...rightBound.binders] }
      }
      throw new NotRowStore(`the operator ${op}`)
    }
    case 'CoalesceExpr':
      return coalesceOperand(scope, list(nodeBody(node, 'CoalesceExpr')!['args']))
    default:
      throw new NotRowStore(describeNode(kind))
  }
}

/**
 * COALESCE(a, b, …) where SQLite's coalesce means exactly DuckDB's: every column argument of one type,
 * and every constant already a value of that type (an integral literal for an integer column, a
 * string for text), so the result type is that type on both stores. Otherwise DuckDB would widen the
 * result (`coalesce(i, 1.5)` is a DECIMAL), and the column store answers.
 */
function coalesceOperand(scope: Scope, argumentNodes: readonly unknown[]): Operand {
  const operands = argumentNodes.map((argument) => operand(scope, argument))
  const typed = operands.find((item): item is Extract<Operand, { kind: 'sql' }> => item.kind === 'sql')
  if (typed === undefined) throw new NotRowStore('COALESCE without a column')
  const type = typed.type
  const parts: string[] = []
  const binders: Binder[] = []
  for (const item of operands) {
    if (item.kind === 'sql') {
      if (!sameType(item.type, type)) throw new NotRowStore('COALESCE across types')
      parts.push(item.sql)
      binders.push(...item.binders)
      continue
    }
    if (item.kind !== 'value' || item.type !== undefined || !constantOfType(item.value, type)) throw new NotRowStore('COALESCE with a value of another type')
    // DuckDB converts such a literal to a DOUBLE its own way, not to the nearest double (wideDecimalLiteral).
    if (type.name === 'DOUBLE' && item.wideDecimal === true) throw new NotRowStore(`COALESCE of a DOUBLE with the decimal ${String(item.text ?? item.value)} of more than 15 digits`)
    const bound = bindOperand(scope, item, type, 'assign')
    parts.push(bound.sql)
    binders.push(...bound.binders)
  }
  return { kind: 'sql', sql: `coalesce(${parts.join(', ')})`, type, binders }
}

/** Whether an untyped constant is already a value of `type` (DuckDB would not widen the type for it). */
function constantOfType(value: unknown, type: SqlType): boolean {
  if (value === null) return true
  switch (type.name) {
    case 'SMALLINT':
    case 'INTEGER':
    case 'BIGINT': {
      if (typeof value !== 'number' && typeof value !== 'bigint') return false
      if (typeof value === 'number' && !Number.isSafeInteger(value)) return false
      try {
        toStorage(value, type)
        return true
      } catch {
        return false
      }
    }
    case 'DOUBLE':
      return typeof value === 'number'
    case 'VARCHAR':
      return typeof value === 'string'
    case 'BOOLEAN':
      return typeof value === 'boolean'
    default:
      return false
  }
}

/** Expressions by their parse-tree kind, as SQL names them (messages never show a node's name). */
const expressionNames: Readonly<Record<string, string>> = {
  SubLink: 'a subquery',
  CaseExpr: 'CASE',
  CoalesceExpr: 'COALESCE',
  FuncCall: 'a function call',
  TypeCast: 'a cast',
  A_ArrayExpr: 'an ARRAY constructor',
  RowExpr: 'a row constructor',
  BooleanTest: 'IS TRUE / IS FALSE / IS UNKNOWN',
  NullTest: 'IS NULL',
  MinMaxExpr: 'GREATEST / LEAST',
  SQLValueFunction: 'a CURRENT_… function',
  A_Indirection: 'a subscript or field selection',
  CollateClause: 'COLLATE',
  GroupingFunc: 'GROUPING()',
  BoolExpr: 'AND / OR / NOT',
  A_Expr: 'an operator',
  ColumnRef: 'a column',
  A_Const: 'a constant',
  ParamRef: 'a parameter',
  XmlExpr: 'an XML expression',
  XmlSerialize: 'XMLSERIALIZE',
  MultiAssignRef: 'SET (a, b) = …',
  SetToDefault: 'DEFAULT',
  JsonObjectConstructor: 'JSON_OBJECT',
  JsonArrayConstructor: 'JSON_ARRAY',
  JsonArrayQueryConstructor: 'JSON_ARRAY(subquery)',
  JsonObjectAgg: 'JSON_OBJECTAGG',
  JsonArrayAgg: 'JSON_ARRAYAGG',
  JsonIsPredicate: 'IS JSON',
  JsonParseExpr: 'JSON()',
  JsonScalarExpr: 'JSON_SCALAR',
  JsonSerializeExpr: 'JSON_SERIALIZE',
  JsonFuncExpr: 'JSON_QUERY / JSON_VALUE / JSON_EXISTS',
  MergeSupportFunc: 'MERGE_ACTION()',
}

/** Operator expressions (`A_Expr` kinds) as SQL names them. */
const operatorNames: Readonly<Record<string, string>> = {
  AEXPR_OP_ANY: 'ANY (…)',
  AEXPR_OP_ALL: 'ALL (…)',
  AEXPR_DISTINCT: 'IS DISTINCT FROM',
  AEXPR_NOT_DISTINCT: 'IS NOT DISTINCT FROM',
  AEXPR_NULLIF: 'NULLIF',
  AEXPR_IN: 'IN',
  AEXPR_LIKE: 'LIKE',
  AEXPR_ILIKE: 'ILIKE',
  AEXPR_SIMILAR: 'SIMILAR TO',
  AEXPR_BETWEEN: 'BETWEEN',
  AEXPR_NOT_BETWEEN: 'NOT BETWEEN',
  AEXPR_BETWEEN_SYM: 'BETWEEN SYMMETRIC',
  AEXPR_NOT_BETWEEN_SYM: 'NOT BETWEEN SYMMETRIC',
}

/**
 * What an expression is, in SQL's words, for messages.
 *
 * @example describeNode('CaseExpr') // 'CASE'
 */
export function describeNode(kind: string | undefined): string {
  if (kind === undefined) return 'an unknown expression'
  return expressionNames[kind] ?? 'an expression of a kind the row store does not evaluate'
}

/** A WHERE / CHECK / ON CONFLICT … WHERE predicate. */
function predicate(scope: Scope, node: unknown): { sql: string; binders: Binder[] } {
  const kind = nodeKind(node)
  if (kind === 'BoolExpr') {
    const body = nodeBody(node, 'BoolExpr')!
    const parts = list(body['args']).map((argument) => predicate(scope, argument))
    const binders = parts.flatMap((part) => part.binders)
    if (body['boolop'] === 'NOT_EXPR') return { sql: `(NOT ${parts[0]!.sql})`, binders }
    const joiner = body['boolop'] === 'AND_EXPR' ? ' AND ' : ' OR '
    return { sql: balanced(parts.map((part) => part.sql), joiner), binders }
  }
  if (kind === 'NullTest') {
    const body = nodeBody(node, 'NullTest')!
    if (isCondition(body['arg'])) {
      // `(p) IS NULL` of a condition (the third partition of ternary logic): SQLite's three-valued logic is SQL's.
      const condition = predicate(scope, body['arg'])
      return { sql: `(${condition.sql} ${body['nulltesttype'] === 'IS_NULL' ? 'IS NULL' : 'IS NOT NULL'})`, binders: condition.binders }
    }
    const argument = operand(scope, body['arg'])
    if (argument.kind !== 'sql') throw new NotRowStore('IS NULL on a non-column')
    return { sql: `(${argument.sql} ${body['nulltesttype'] === 'IS_NULL' ? 'IS NULL' : 'IS NOT NULL'})`, binders: [...argument.binders] }
  }
  if (kind === 'ColumnRef') {
    const column = operand(scope, node)
    if (column.kind === 'sql' && column.type.name === 'BOOLEAN') return { sql: `(${column.sql} <> 0)`, binders: [...column.binders] }
    throw new NotRowStore('a non-boolean column used as a condition')
  }
  if (kind === 'A_Const') {
    const { value } = constantValue(nodeBody(node, 'A_Const')!)
    if (typeof value === 'boolean') return { sql: value ? '1' : '0', binders: [] }
    throw new NotRowStore('a non-boolean constant used as a condition')
  }
  if (kind === 'TypeCast') {
    const inner = operand(scope, node)
    if (inner.kind === 'value' && inner.type?.name === 'BOOLEAN') return { sql: '?', binders: [{ kind: 'value', value: toStorage(inner.value, inner.type) }] }
    throw new NotRowStore('a cast used as a condition')
  }
  if (kind === 'FuncCall' && isFulltextMatchCall(node)) return fulltextCondition(scope, node)
  if (kind !== 'A_Expr') throw new NotRowStore(describeNode(kind))
  const body = nodeBody(node, 'A_Expr')!
  const op = names(body['name'])[0] ?? ''
  switch (body['kind']) {
    case 'AEXPR_OP': {
      if (!comparisonOperators.has(op)) throw new NotRowStore(`the operator ${op} in a condition`)
      return comparison(scope, body['lexpr'], op === '!=' ? '<>' : op, body['rexpr'])
    }
    case 'AEXPR_IN': {
      const left = operand(scope, body['lexpr'])
      if (left.kind !== 'sql') throw new NotRowStore('IN on a non-column')
      if (nodeKind(body['rexpr']) === 'SubLink') throw new NotRowStore('IN (subquery)')
      const items = listItems(body['rexpr'])
      if (items.length === 0) throw new NotRowStore('an empty IN list')
      const bound = items.map((item) => comparedOperand(scope, operand(scope, item), left.type))
      return {
        sql: `(${left.sql} ${op === '=' ? 'IN' : 'NOT IN'} (${bound.map((item) => item.sql).join(', ')}))`,
        binders: [...left.binders, ...bound.flatMap((item) => item.binders)],
      }
    }
    case 'AEXPR_LIKE': {
      const left = operand(scope, body['lexpr'])
      if (left.kind !== 'sql' || left.type.name !== 'VARCHAR') throw new NotRowStore('LIKE on a non-text value')
      const pattern = comparedOperand(scope, operand(scope, body['rexpr']), left.type)
      const negated = op === '!~~'
      if (op !== '~~' && !negated) throw new NotRowStore('ILIKE or a LIKE variant')
      // SQLite's LIKE has no default escape character; DuckDB's default is none as well.
      return { sql: `(${left.sql} ${negated ? 'NOT LIKE' : 'LIKE'} ${pattern.sql})`, binders: [...left.binders, ...pattern.binders] }
    }
    case 'AEXPR_BETWEEN':
    case 'AEXPR_NOT_BETWEEN': {
      const left = operand(scope, body['lexpr'])
      if (left.kind !== 'sql') throw new NotRowStore('BETWEEN on a non-column')
      const [lowNode, highNode] = listItems(body['rexpr'])
      const low = comparedOperand(scope, operand(scope, lowNode), left.type)
      const high = comparedOperand(scope, operand(scope, highNode), left.type)
      const negated = body['kind'] === 'AEXPR_NOT_BETWEEN'
      return {
        sql: `(${left.sql} ${negated ? 'NOT BETWEEN' : 'BETWEEN'} ${low.sql} AND ${high.sql})`,
        binders: [...left.binders, ...low.binders, ...high.binders],
      }
    }
    default:
      throw new NotRowStore(`the condition ${operatorNames[String(body['kind'])] ?? 'with this operator'}`)
  }
}

/** A node that is a condition (AND/OR/NOT, a comparison, IN, LIKE, BETWEEN, IS NULL), not a value. */
function isCondition(node: unknown): boolean {
  const kind = nodeKind(node)
  if (kind === 'BoolExpr' || kind === 'NullTest') return true
  if (kind !== 'A_Expr') return false
  const body = nodeBody(node, 'A_Expr')!
  return body['kind'] !== 'AEXPR_OP' || comparisonOperators.has(names(body['name'])[0] ?? '')
}

/**
 * `(a OR b OR …)` grouped as a balanced tree of parentheses. SQLite's parser nests a chain one level per
 * operator and refuses a tree deeper than 1,000 (SQLITE_MAX_EXPR_DEPTH), while PostgreSQL and DuckDB
 * keep an AND/OR list flat; AND and OR are associative in three-valued logic and the order of the
 * operands is kept, so the grouping changes nothing but the depth (log₂ of the length).
 */
function balanced(parts: readonly string[], joiner: string): string {
  if (parts.length <= 16) return `(${parts.join(joiner)})`
  const middle = Math.ceil(parts.length / 2)
  return `(${balanced(parts.slice(0, middle), joiner)}${joiner}${balanced(parts.slice(middle), joiner)})`
}

/** SQLite binds at most SQLITE_MAX_VARIABLE_NUMBER values: a plan with more (an IN list of tens of thousands) is the column store's. */
function bounded(plan: RowPlan): RowPlan {
  if (plan.binders.length > limits.sqliteParametersMax) throw new NotRowStore(`${plan.binders.length} values in one statement (SQLite binds at most ${limits.sqliteParametersMax})`)
  return plan
}

/** The items of a `{ List: { items } }` node (IN lists, BETWEEN bounds) or of a bare array. */
function listItems(node: unknown): unknown[] {
  const wrapped = nodeBody(node, 'List')
  return wrapped === undefined ? list(node) : list(wrapped['items'])
}

function comparison(scope: Scope, leftNode: unknown, op: string, rightNode: unknown): { sql: string; binders: Binder[] } {
  const left = operand(scope, leftNode)
  const right = operand(scope, rightNode)
  const typed = left.kind === 'sql' ? left : right.kind === 'sql' ? right : undefined
  if (typed === undefined) throw new NotRowStore('a comparison without a column')
  if (left.kind === 'sql' && right.kind === 'sql' && !comparable(left.type, right.type)) {
    throw new NotRowStore(`a comparison of ${typeLabel(left.type)} with ${typeLabel(right.type)}`)
  }
  const literal = left.kind === 'value' ? left : right.kind === 'value' ? right : undefined
  if (literal !== undefined && literal.type === undefined && typed.binders.length === 0) {
    const exact = fractionalComparison(scope, typed, literal, left === typed ? op : mirroredOperators[op]!)
    if (exact !== undefined) return exact
  }
  const leftBound = comparedOperand(scope, left, typed.type)
  const rightBound = comparedOperand(scope, right, typed.type)
  return { sql: `(${leftBound.sql} ${op} ${rightBound.sql})`, binders: [...leftBound.binders, ...rightBound.binders] }
}

/**
 * A parameter's value where it is compared with a column of `type` (a binder with `compare`): a JS
 * number is a double and is compared as that double — the column store binds it as DOUBLE, and SQLite
 * compares an integer with a double exactly — so `i = $1` with 1.5 matches nothing and `i < $1` with
 * 2147483648 compares rather than failing; against a scaled DECIMAL it is scaled exactly first. A
 * bigint beyond BIGINT is compared as a double. Anything else (a string, a Date) is cast to the
 * column's type, as DuckDB casts a VARCHAR parameter.
 *
 * @example comparisonParameter(1.5, { name: 'INTEGER' }) // 1.5
 */
export function comparisonParameter(value: unknown, type: SqlType): null | number | bigint | string | Uint8Array {
  if (value === null || value === undefined) return null
  const scale = integerStorageScale(type)
  if (scale === undefined || (typeof value !== 'number' && typeof value !== 'bigint')) return toStorage(value, type)
  if (typeof value === 'bigint') {
    if (scale > 0) return toStorage(value, type)
    return value >= bigintLow && value <= bigintHigh ? value : Number(value)
  }
  if (!Number.isFinite(value)) return value
  if (scale === 0) return value + 0
  const decimal = decimalFromNumber(value)
  const shifted = { unscaled: decimal.unscaled, scale: decimal.scale - scale }
  if (shifted.scale <= 0 || fitsScale(shifted, 0)) {
    const integer = rescale(shifted, 0).unscaled
    if (integer >= BigInt(Number.MIN_SAFE_INTEGER) && integer <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(integer)
    return integer >= bigintLow && integer <= bigintHigh ? integer : Number(integer)
  }
  return Number(decimalText(shifted))
}

/** `a op b` ⟺ `b mirrored(op) a`. */
const mirroredOperators: Readonly<Record<string, string>> = { '=': '=', '<>': '<>', '<': '>', '<=': '>=', '>': '<', '>=': '<=' }

/**
 * `column op literal` where the column is stored as an integer (an integer type, or a DECIMAL scaled
 * to one) and the literal, at the column's scale, has a fractional part: exact, without a double, by
 * comparing with the literal's floor (`i > 1.5` ⟺ `i > 1`, `i <= 1.5` ⟺ `i <= 1`; `=` is false and
 * `<>` true for every non-NULL value, NULL stays NULL). Undefined when the literal is integral there
 * (the ordinary comparison is exact) or not a number.
 */
function fractionalComparison(scope: Scope, column: Extract<Operand, { kind: 'sql' }>, literal: LiteralOperand, op: string): { sql: string; binders: Binder[] } | undefined {
  const scale = integerStorageScale(column.type)
  if (scale === undefined) return undefined
  /** The literal's floor at the column's scale when it has a fractional part there; undefined when it has none or is not a number. */
  const floorOf = (candidate: LiteralOperand): bigint | undefined => {
    const value = candidate.value
    if (typeof value !== 'number' || !Number.isFinite(value)) return undefined
    // An integer written as one (no decimal text) has no fractional part at any scale.
    if (candidate.text === undefined && Number.isInteger(value)) return undefined
    const decimal = (candidate.text !== undefined ? parseDecimal(candidate.text) : undefined) ?? decimalFromNumber(value)
    const shifted = { unscaled: decimal.unscaled, scale: decimal.scale - scale }
    if (shifted.scale <= 0 || fitsScale(shifted, 0)) return undefined
    const truncated = decimal.unscaled / powerOfTen(shifted.scale)
    return decimal.unscaled < 0n ? truncated - 1n : truncated
  }
  if (!decide(literal, (candidate) => floorOf(candidate) !== undefined)) return undefined
  if (op === '=') return { sql: `(${column.sql} <> ${column.sql})`, binders: [] }
  if (op === '<>') return { sql: `(${column.sql} = ${column.sql})`, binders: [] }
  const bound = (candidate: LiteralOperand): BoundValue => {
    const floor = floorOf(candidate)!
    if (floor < bigintLow || floor > bigintHigh) throw new NotRowStore('a literal beyond BIGINT compared with an integer')
    return floor >= BigInt(Number.MIN_SAFE_INTEGER) && floor <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(floor) : floor
  }
  const sqlOp = op === '<' || op === '<=' ? '<=' : '>'
  if (scope.inlineValues === true) return { sql: `(${column.sql} ${sqlOp} ${String(bound(literal))})`, binders: [] }
  return { sql: `(${column.sql} ${sqlOp} ?)`, binders: [literalBinder(literal, bound)] }
}

/**
 * An operand compared with a value of `type` (=, <, IN, BETWEEN, LIKE). DuckDB compares text (and
 * JSON) with a number or a boolean by casting the text (`txt = 1` fails on 'a', and '01' = 1 holds),
 * where SQLite would compare the number's text: such a literal makes the comparison the column
 * store's, and such a parameter value is NOT_SUPPORTED when bound (the binder's `textOnly`). A text
 * literal, or one cast to a type, is bound as that type on both stores.
 */
function comparedOperand(scope: Scope, other: Operand, type: SqlType): { sql: string; binders: Binder[] } {
  const text = type.name === 'VARCHAR' || type.name === 'JSON'
  if (other.kind === 'value') {
    decide(other, (literal) => {
      if (text && literal.type === undefined && literal.value !== null && typeof literal.value !== 'string') {
        throw new NotRowStore(`a comparison of ${typeLabel(type)} with the ${typeof literal.value === 'boolean' ? 'boolean' : 'number'} ${String(literal.value)}`)
      }
      if (type.name === 'DOUBLE' && literal.wideDecimal === true) throw new NotRowStore(`a DOUBLE compared with the decimal ${String(literal.value)} of more than 15 digits`)
      return undefined
    })
  }
  const bound = bindOperand(scope, other, type)
  if (!text || other.kind !== 'param' || other.type !== undefined) return bound
  return { sql: bound.sql, binders: bound.binders.map((binder) => (binder.kind === 'param' ? { ...binder, textOnly: true } : binder)) }
}

/**
 * A decimal literal (`0.30000000000000004`, not `3e-1`) whose digits, without the point, exceed 2^53.
 * DuckDB types it DECIMAL and, compared with a DOUBLE, converts it with a rounding of its own (not
 * the nearest double, which SQLite and JS give: DuckDB issue 22837, docs/fuzzing.md).
 */
function wideDecimalLiteral(constant: PgNode): boolean {
  const text = (constant['fval'] as PgNode | undefined)?.['fval']
  if (typeof text !== 'string' || !text.includes('.') || /e/i.test(text)) return false
  const digits = text.replace(/^[+-]/, '').replace('.', '').replace(/^0+/, '')
  return digits.length > 15 && BigInt(digits) > 2n ** 53n
}

/** A parameter compared with text must not be a number or a boolean: see comparedOperand. */
export function checkTextParameter(value: unknown): void {
  if (typeof value !== 'number' && typeof value !== 'bigint' && typeof value !== 'boolean') return
  throw new StrataError('NOT_SUPPORTED', `the row store cannot compare text with the parameter ${typeof value === 'bigint' ? `${value}n` : String(value)}: DuckDB would compare them as ${typeof value === 'boolean' ? 'booleans' : 'numbers'} (pass the parameter as a string, or run the query on the column store)`)
}

function relationOf(node: unknown): { name: string; alias: string | undefined; schema: string | undefined; body: PgNode } {
  // FROM items are wrapped ({ RangeVar: … }); the target of INSERT/UPDATE/DELETE is the bare body.
  const body = nodeBody(node, 'RangeVar') ?? (typeof (node as PgNode | undefined)?.['relname'] === 'string' ? (node as PgNode) : undefined)
  if (body === undefined) throw new NotRowStore(describeFrom(node))
  const alias = nodeBody({ Alias: body['alias'] }, 'Alias')
  return {
    name: String(body['relname']),
    alias: alias === undefined ? undefined : String(alias['aliasname']),
    schema: typeof body['schemaname'] === 'string' ? body['schemaname'] : undefined,
    body,
  }
}

function describeFrom(node: unknown): string {
  switch (nodeKind(node)) {
    case 'JoinExpr':
      return 'a join'
    case 'RangeSubselect':
      return 'a subquery in FROM'
    case 'RangeFunction':
      return 'a table function'
    default:
      return `FROM ${nodeKind(node) ?? 'something unknown'}`
  }
}

export interface TableResolver {
  table(name: string): TableDefinition | undefined
  /**
   * A table reference (by tree location) that reads history: its table, the derived table's SQLite
   * SQL, the bound slots of its `?`s, and the hidden columns it exposes.
   */
  temporal?(location: number): { readonly table: TableDefinition; readonly sql: string; readonly slots: readonly number[]; readonly hidden: readonly ColumnDefinition[] } | undefined
}

function resolveTable(resolver: TableResolver, relation: { name: string; schema: string | undefined }): TableDefinition {
  if (relation.schema !== undefined && relation.schema !== 'main' && relation.schema !== 'public') {
    throw new NotRowStore(`the schema ${relation.schema}`)
  }
  const table = resolver.table(relation.name)
  if (table === undefined) throw new NotRowStore(`"${relation.name}", which is not a table of the row store`)
  return table
}

function scopeFor(table: TableDefinition, alias: string | undefined, excluded = false): Scope {
  return { table, qualifiers: alias === undefined ? [table.name] : [alias], excluded }
}

function outputList(scope: Scope, targets: readonly unknown[], what: string): { sql: string[]; output: OutputColumn[] } {
  const sql: string[] = []
  const output: OutputColumn[] = []
  for (const target of targets) {
    const body = nodeBody(target, 'ResTarget')
    if (body === undefined) throw new NotRowStore(what)
    const value = body['val']
    if (isFulltextScoreCall(value)) {
      const name = typeof body['name'] === 'string' ? body['name'] : fulltextOutputName(value)
      const score = fulltextScore(scope, value)
      sql.push(`${score.sql} AS ${quoteIdentifier(name)}`)
      output.push({ name, type: score.type })
      continue
    }
    if (nodeKind(value) === 'CoalesceExpr' && typeof body['name'] === 'string') {
      // Aliased only: an unaliased one is named after its text by DuckDB, which the row store does not keep.
      // Its constants are written into the text, so the select list binds nothing.
      const coalesced = operand({ ...scope, inlineValues: true }, value)
      if (coalesced.kind !== 'sql' || coalesced.binders.length > 0) throw new NotRowStore(`COALESCE in the ${what}`)
      sql.push(`${coalesced.sql} AS ${quoteIdentifier(body['name'])}`)
      output.push({ name: body['name'], type: coalesced.type })
      continue
    }
    const columnRef = nodeBody(value, 'ColumnRef')
    if (columnRef === undefined) throw new NotRowStore(`${describeNode(nodeKind(value))} in the ${what}`)
    const fields = list(columnRef['fields'])
    const last = fields[fields.length - 1]
    if (nodeKind(last) === 'A_Star') {
      if (fields.length === 2 && !scope.qualifiers.includes(stringValue(fields[0]) ?? '')) {
        throw new StrataError('UNDEFINED_TABLE', `missing FROM-clause entry for table "${stringValue(fields[0])}"`)
      }
      for (const column of scope.table.columns) {
        sql.push(quoteIdentifier(column.name))
        output.push({ name: column.name, type: column.type })
      }
      continue
    }
    const column = operand(scope, value)
    if (column.kind !== 'sql') throw new NotRowStore(`a non-column in the ${what}`)
    const name = typeof body['name'] === 'string' ? body['name'] : names(fields)[fields.length - 1]!
    sql.push(`${column.sql} AS ${quoteIdentifier(name)}`)
    output.push({ name, type: column.type })
  }
  return { sql, output }
}

/**
 * A SELECT the row store answers: one table, plain columns, simple conditions, ORDER BY columns,
 * LIMIT/OFFSET. Throws NotRowStore naming the first construct that does not fit.
 *
 * @example
 * compileSelect(tree.SelectStmt, catalog) // → { sql: 'SELECT "id" AS "id" FROM "t" WHERE ("id" = ?)', … }
 */
export function compileSelect(select: PgNode, resolver: TableResolver, options: { readonly grouped?: boolean } = {}): RowPlan {
  if (select['op'] !== undefined && select['op'] !== 'SETOP_NONE') throw new NotRowStore('a set operation')
  if (select['withClause'] !== undefined) throw new NotRowStore('a WITH clause (CTE)')
  if (list(select['valuesLists']).length > 0) throw new NotRowStore('VALUES')
  if (list(select['distinctClause']).length > 0) throw new NotRowStore('DISTINCT')
  // `grouped` (a read forced onto the row store): GROUP BY, aggregates and time series, see rowgroup.ts.
  if (list(select['groupClause']).length > 0 && options.grouped !== true) throw new NotRowStore('GROUP BY')
  if (select['havingClause'] !== undefined) throw new NotRowStore('HAVING')
  if (list(select['windowClause']).length > 0) throw new NotRowStore('a WINDOW clause')
  if (select['intoClause'] !== undefined) throw new NotRowStore('SELECT INTO')
  if (list(select['lockingClause']).length > 0) throw new NotRowStore('FOR UPDATE')
  const from = list(select['fromClause'])
  if (from.length === 0) throw new NotRowStore('a SELECT without FROM')
  if (from.length > 1) throw new NotRowStore('a join')
  const relation = relationOf(from[0])
  // The location only when a resolver knows temporal references: a plan template reads none (src/sql/fingerprint.ts).
  const temporal = resolver.temporal === undefined ? undefined : resolver.temporal(Number(relation.body['location'] ?? 0))
  const table = temporal?.table ?? resolveTable(resolver, relation)
  const scope: Scope = withFulltext(temporal === undefined ? scopeFor(table, relation.alias) : { ...scopeFor(table, relation.alias), hidden: temporal.hidden }, select, temporal !== undefined)
  const targets = list(select['targetList'])
  for (const target of options.grouped === true ? [] : targets) {
    const value = nodeBody(target, 'ResTarget')?.['val']
    const kind = nodeKind(value)
    if (kind === 'FuncCall' && !isFulltextScoreCall(value)) {
      const call = nodeBody(value, 'FuncCall')!
      if (call['over'] !== undefined) throw new NotRowStore('a window function')
      throw new NotRowStore(aggregateFunctionNames.has(names(call['funcname']).join('.').toLowerCase()) ? 'an aggregate' : 'a function call in the select list')
    }
  }
  const grouping = options.grouped === true ? compileGrouping(select, groupingScope(scope)) : undefined
  const projection = grouping ?? outputList(scope, targets, 'select list')
  const binders: Binder[] = []
  let sql: string
  if (temporal !== undefined) {
    sql = `SELECT ${projection.sql.join(', ')} FROM (${temporal.sql}) AS ${quoteIdentifier(relation.alias ?? table.name)}`
    binders.push(...temporal.slots.map((slot): Binder => ({ kind: 'slot', slot })))
  } else {
    sql = `SELECT ${projection.sql.join(', ')} FROM ${quoteIdentifier(table.name)}`
    if (relation.alias !== undefined) sql += ` AS ${quoteIdentifier(relation.alias)}`
  }
  if (scope.fulltext !== undefined) {
    sql += scope.fulltext.joinSql
    binders.push(...scope.fulltext.joinBinders)
  }
  if (select['whereClause'] !== undefined) {
    const where = predicate(scope, select['whereClause'])
    sql += ` WHERE ${where.sql}`
    binders.push(...where.binders)
  }
  if (grouping !== undefined && grouping.groupBy !== '') sql += ` GROUP BY ${grouping.groupBy}`
  const sorts = list(select['sortClause'])
  if (sorts.length > 0) {
    const parts = sorts.map((sort) => {
      const body = nodeBody(sort, 'SortBy')!
      if (grouping !== undefined) return grouping.orderBy(body)
      const node = fulltextSortNode(scope, body['node'])
      if (nodeKind(node) !== 'ColumnRef' && !isFulltextScoreCall(node)) throw new NotRowStore('ORDER BY an expression')
      const column = operand(scope, node)
      if (column.kind !== 'sql') throw new NotRowStore('ORDER BY a non-column')
      if (column.type.name === 'DECIMAL' && !decimalIsScaled(column.type)) throw new NotRowStore(`ORDER BY a ${typeLabel(column.type)} column (kept as text)`)
      const descending = body['sortby_dir'] === 'SORTBY_DESC'
      // DuckDB sorts NULLs last in both directions unless told otherwise; SQLite must be told.
      const nulls = body['sortby_nulls'] === 'SORTBY_NULLS_FIRST' ? 'NULLS FIRST' : 'NULLS LAST'
      return `${column.sql} ${descending ? 'DESC' : 'ASC'} ${nulls}`
    })
    sql += ` ORDER BY ${parts.join(', ')}`
  }
  const limit = select['limitCount']
  const offset = select['limitOffset']
  if (limit !== undefined || offset !== undefined) {
    if (select['limitOption'] === 'LIMIT_OPTION_WITH_TIES') throw new NotRowStore('FETCH … WITH TIES')
    const limitBound = limit === undefined ? { sql: '-1', binders: [] } : rowCount(scope, limit)
    sql += ` LIMIT ${limitBound.sql}`
    binders.push(...limitBound.binders)
    if (offset !== undefined) {
      const offsetBound = rowCount(scope, offset)
      sql += ` OFFSET ${offsetBound.sql}`
      binders.push(...offsetBound.binders)
    }
  }
  const plan: RowPlan = { sql, binders, output: projection.output, table: table.name }
  return bounded(grouping === undefined ? plan : grouping.finish(plan))
}

/**
 * A LIMIT or OFFSET count as DuckDB takes it: NULL means none (SQLite's -1, which OFFSET reads as 0), a
 * negative count is an error, checked here for a constant and when bound for a parameter (the binder's
 * `rowCount`). SQLite would take a negative count as no limit and fail on NULL.
 */
function rowCount(scope: Scope, node: unknown): { sql: string; binders: Binder[] } {
  const count = operand(scope, node)
  const type: SqlType = { name: 'BIGINT' }
  if (count.kind === 'value' && scope.inlineValues !== true) {
    // bindOperand's value case, with the count checked and NULL (no limit) decided on the literal.
    checkLiteralType(count, type)
    const storage = literalValue(type, 'assign')
    const checked = (literal: LiteralOperand): BoundValue => {
      const value = storage(literal)
      checkRowCount(value)
      return value
    }
    if (decide(count, (literal) => checked(literal) === null)) return { sql: '-1', binders: [] }
    return { sql: '?', binders: [literalBinder(count, checked)] }
  }
  const bound = bindOperand(scope, count, type, 'assign')
  const binder = bound.binders[0]
  if (count.kind === 'param' && binder?.kind === 'param') return { sql: 'coalesce(?, -1)', binders: [{ ...binder, rowCount: true }] }
  throw new NotRowStore('a LIMIT or OFFSET that is not a constant or a parameter')
}

/** DuckDB refuses a negative LIMIT or OFFSET ("LIMIT/OFFSET cannot be negative"). */
export function checkRowCount(value: unknown): void {
  if ((typeof value === 'number' || typeof value === 'bigint') && value < 0) throw new StrataError('INVALID_PARAMETER', 'LIMIT/OFFSET cannot be negative')
}

/** What the grouped compiler (rowgroup.ts) may use of a SELECT's scope. */
function groupingScope(scope: Scope): GroupingScope {
  return {
    table: scope.table,
    column(node) {
      const column = operand(scope, node)
      if (column.kind !== 'sql' || column.binders.length > 0) throw new NotRowStore('a non-column where a column is expected')
      return { sql: column.sql, type: column.type }
    },
    hasColumn: (name) => findColumn(scope.table, name) !== undefined || scope.hidden?.some((column) => column.name === name) === true,
    notRowStore(construct) {
      throw new NotRowStore(construct)
    },
  }
}

/** Aggregate functions, so routing and EXPLAIN can name "an aggregate" as the reason. */
export const aggregateFunctionNames: ReadonlySet<string> = new Set(['count', 'sum', 'avg', 'min', 'max', 'string_agg', 'array_agg', 'bool_and', 'bool_or', 'stddev', 'stddev_pop', 'stddev_samp', 'variance', 'var_pop', 'var_samp', 'median', 'first', 'last', 'list', 'any_value', 'approx_count_distinct', 'quantile', 'mode', 'arg_min', 'arg_max'])

function returning(scope: Scope, node: PgNode): { sql: string; output: OutputColumn[] } {
  const targets = list(node['returningList'])
  if (targets.length === 0) return { sql: '', output: [] }
  const projection = outputList(scope, targets, 'RETURNING list')
  return { sql: ` RETURNING ${projection.sql.join(', ')}`, output: projection.output }
}

/** A value in VALUES (or a SET) that the row store can bind directly; undefined when it cannot. */
function valueBinder(scope: Scope, node: unknown, type: SqlType, defaultBinder: () => Binder): Binder | undefined {
  if (nodeKind(node) === 'SetToDefault') return defaultBinder()
  let value: Operand
  try {
    value = operand(scope, node)
  } catch (error) {
    if (error instanceof NotRowStore) return undefined
    throw error
  }
  if (value.kind === 'sql') return undefined
  const bound = bindOperand(scope, value, type, 'assign')
  return bound.binders[0]
}

export interface InsertTarget {
  readonly table: TableDefinition
  readonly columns: readonly string[]
}

export function insertTarget(insert: PgNode, resolver: TableResolver): InsertTarget {
  const relation = relationOf(insert['relation'])
  const table = resolver.table(relation.name)
  if (table === undefined || (relation.schema !== undefined && relation.schema !== 'main' && relation.schema !== 'public')) {
    throw new StrataError('UNDEFINED_TABLE', `table "${relation.name}" does not exist`)
  }
  const named = list(insert['cols']).map((target) => String(nodeBody(target, 'ResTarget')!['name']))
  for (const name of named) {
    if (findColumn(table, name) === undefined) throw new StrataError('UNDEFINED_COLUMN', `column "${name}" of table "${table.name}" does not exist`)
  }
  if (new Set(named).size !== named.length) throw new StrataError('SYNTAX_ERROR', 'a column is named twice in the INSERT column list')
  return { table, columns: named.length > 0 ? named : table.columns.map((column) => column.name) }
}

export function defaultBinderFor(table: TableDefinition, name: string): Binder {
  const column = findColumn(table, name)!
  const fallback = column.default
  if (fallback === undefined) return { kind: 'value', value: null }
  if (fallback.kind === 'now') return { kind: 'now', type: column.type }
  return { kind: 'value', value: toStorage(fallback.value, column.type) }
}

/**
 * The INSERT's SQLite text for one row of values: all table columns listed, defaults filled in,
 * with the ON CONFLICT and RETURNING clauses compiled. `rowBinders` is the per-row value binders.
 */
/**
 * `renew`: SET items every update of a row adds (the engine's: a new open version, src/sql/ddl.ts
 * renewOpenVersionSql); not for scratch tables.
 */
export function compileInsertShell(insert: PgNode, target: InsertTarget, renew?: string): { prefix: string; suffix: string; suffixBinders: Binder[]; output: OutputColumn[] } {
  const { table } = target
  const relation = relationOf(insert['relation'])
  const scope = scopeFor(table, relation.alias)
  const columns = table.columns.map((column) => quoteIdentifier(column.name))
  const prefix = `INSERT INTO ${quoteIdentifier(table.name)}${relation.alias === undefined ? '' : ` AS ${quoteIdentifier(relation.alias)}`} (${columns.join(', ')}) VALUES `
  let suffix = ''
  const suffixBinders: Binder[] = []
  const conflict = insert['onConflictClause'] as PgNode | undefined
  if (conflict !== undefined) {
    const infer = conflict['infer'] as PgNode | undefined
    let targetSql = ''
    if (infer !== undefined) {
      if (infer['whereClause'] !== undefined) throw new NotRowStore('ON CONFLICT … WHERE on the conflict target')
      const elements = list(infer['indexElems']).map((element) => {
        const name = String(nodeBody(element, 'IndexElem')!['name'])
        if (findColumn(table, name) === undefined) throw new StrataError('UNDEFINED_COLUMN', `column "${name}" does not exist`)
        return quoteIdentifier(name)
      })
      if (elements.length > 0) targetSql = ` (${elements.join(', ')})`
    }
    if (conflict['action'] === 'ONCONFLICT_NOTHING') suffix += ` ON CONFLICT${targetSql} DO NOTHING`
    else {
      const updateScope: Scope = { ...scope, excluded: true }
      const sets = setList(updateScope, list(conflict['targetList']))
      suffix += ` ON CONFLICT${targetSql} DO UPDATE SET ${sets.sql}${renew === undefined ? '' : `, ${renew}`}`
      suffixBinders.push(...sets.binders)
      if (conflict['whereClause'] !== undefined) {
        const where = predicate(updateScope, conflict['whereClause'])
        suffix += ` WHERE ${where.sql}`
        suffixBinders.push(...where.binders)
      }
    }
  }
  const back = returning(scope, insert)
  suffix += back.sql
  return { prefix, suffix, suffixBinders, output: back.output }
}

/**
 * Binders for each VALUES row, in table-column order, or undefined when some value needs the column
 * store to evaluate (a function call, a subquery, …).
 */
export function compileValuesRows(insert: PgNode, target: InsertTarget): Binder[][] | undefined {
  const select = nodeBody(insert['selectStmt'], 'SelectStmt')
  if (select === undefined) return undefined
  const rows = list(select['valuesLists'])
  if (rows.length === 0 || list(select['targetList']).length > 0) return undefined
  if (select['withClause'] !== undefined || list(select['sortClause']).length > 0 || select['limitCount'] !== undefined) return undefined
  const scope = scopeFor(target.table, undefined)
  const result: Binder[][] = []
  for (const row of rows) {
    const items = list(nodeBody(row, 'List')?.['items'])
    if (items.length !== target.columns.length) {
      throw new StrataError('SYNTAX_ERROR', `INSERT has ${items.length} values for ${target.columns.length} columns`)
    }
    const byName = new Map<string, Binder>()
    for (let index = 0; index < items.length; index++) {
      const name = target.columns[index]!
      const column = findColumn(target.table, name)!
      const binder = valueBinder(scope, items[index], column.type, () => defaultBinderFor(target.table, name))
      if (binder === undefined) return undefined
      byName.set(name, binder)
    }
    result.push(target.table.columns.map((column) => byName.get(column.name) ?? defaultBinderFor(target.table, column.name)))
  }
  return result
}

function setList(scope: Scope, targets: readonly unknown[]): { sql: string; binders: Binder[] } {
  const parts: string[] = []
  const binders: Binder[] = []
  for (const target of targets) {
    const body = nodeBody(target, 'ResTarget')!
    const name = String(body['name'])
    if (list(body['indirection']).length > 0) throw new NotRowStore('SET of a sub-field')
    const column = findColumn(scope.table, name)
    if (column === undefined) throw new StrataError('UNDEFINED_COLUMN', `column "${name}" of table "${scope.table.name}" does not exist`)
    if (nodeKind(body['val']) === 'MultiAssignRef') throw new NotRowStore('SET (a, b) = …')
    if (nodeKind(body['val']) === 'SetToDefault') {
      parts.push(`${quoteIdentifier(name)} = ?`)
      binders.push(defaultBinderFor(scope.table, name))
      continue
    }
    const value = operand({ ...scope, arithmetic: 'checked' }, body['val'])
    if (value.kind === 'sql' && !sameType(value.type, column.type)) throw new NotRowStore(`assigning ${typeLabel(value.type)} to a ${typeLabel(column.type)} column`)
    const bound = bindOperand(scope, value, column.type, 'assign')
    parts.push(`${quoteIdentifier(name)} = ${bound.sql}`)
    binders.push(...bound.binders)
  }
  return { sql: parts.join(', '), binders }
}

/** UPDATE t SET … WHERE … [RETURNING …] with simple expressions; `renew` as for compileInsertShell. */
export function compileUpdate(update: PgNode, resolver: TableResolver, renew?: string): RowPlan {
  if (list(update['fromClause']).length > 0) throw new NotRowStore('UPDATE … FROM')
  if (update['withClause'] !== undefined) throw new NotRowStore('a WITH clause')
  const relation = relationOf(update['relation'])
  const table = resolveTable(resolver, relation)
  const scope = scopeFor(table, relation.alias)
  const sets = setList(scope, list(update['targetList']))
  const sql = `UPDATE ${quoteIdentifier(table.name)}${relation.alias === undefined ? '' : ` AS ${quoteIdentifier(relation.alias)}`} SET ${sets.sql}${renew === undefined ? '' : `, ${renew}`}`
  return withWhereAndReturning(scope, update, sql, [...sets.binders])
}

/** The WHERE and RETURNING clauses UPDATE and DELETE share. */
function withWhereAndReturning(scope: Scope, node: PgNode, head: string, binders: Binder[]): RowPlan {
  let sql = head
  if (node['whereClause'] !== undefined) {
    const where = predicate(scope, node['whereClause'])
    sql += ` WHERE ${where.sql}`
    binders.push(...where.binders)
  }
  const back = returning(scope, node)
  return bounded({ sql: sql + back.sql, binders, output: back.output, table: scope.table.name })
}

/** DELETE FROM t WHERE … [RETURNING …] with a simple condition. */
export function compileDelete(remove: PgNode, resolver: TableResolver): RowPlan {
  if (list(remove['usingClause']).length > 0) throw new NotRowStore('DELETE … USING')
  if (remove['withClause'] !== undefined) throw new NotRowStore('a WITH clause')
  const relation = relationOf(remove['relation'])
  const table = resolveTable(resolver, relation)
  const scope = scopeFor(table, relation.alias)
  const sql = `DELETE FROM ${quoteIdentifier(table.name)}${relation.alias === undefined ? '' : ` AS ${quoteIdentifier(relation.alias)}`}`
  return withWhereAndReturning(scope, remove, sql, [])
}

/** A CHECK constraint's expression, compiled for SQLite; NOT_SUPPORTED when it cannot be. */
export function compileCheck(table: TableDefinition, expression: unknown): string {
  try {
    const compiled = predicate({ ...scopeFor(table, undefined), inlineValues: true, arithmetic: 'plain' }, expression)
    if (compiled.binders.length > 0) throw new StrataError('NOT_SUPPORTED', 'CHECK constraints may use only columns and constants')
    return compiled.sql
  } catch (error) {
    if (error instanceof NotRowStore) throw new StrataError('NOT_SUPPORTED', `CHECK constraint: ${error.message}`)
    throw error
  }
}

function sqlLiteral(value: null | number | bigint | string | Uint8Array): string {
  if (value === null) return 'NULL'
  if (typeof value === 'number' || typeof value === 'bigint') return String(value)
  if (typeof value === 'string') return `'${value.replaceAll("'", "''")}'`
  throw new StrataError('NOT_SUPPORTED', 'CHECK constraints cannot compare BLOB values')
}

/**
 * A table's key parts taken out of key texts (src/sql/ddl.ts keyExpression: a JSON array of the
 * stored key values, BLOBs as hex). The parts are taken out in SQL, as the stored values they are:
 * JavaScript would read an integer beyond 2^53 inexactly, and converting a part as a user value
 * would misread a timestamp's µs or a DECIMAL's scaled integer.
 */
function keyParts(table: TableDefinition, keyText: string): { readonly column: string; readonly value: string }[] {
  return (table.primaryKey ?? [rowIdColumn]).map((name, index) => {
    const part = `json_extract(${keyText}, '$[${index}]')`
    return { column: quoteIdentifier(name), value: findColumn(table, name)?.type.name === 'BLOB' ? `unhex(${part})` : part }
  })
}

/**
 * An UPDATE of many rows by key in one statement: each row's key text and new values are a row of a
 * VALUES list (`rows` rows of 1 + `columns.length` parameters), joined to the table by its key index.
 * The column store evaluates what the row store cannot (engine/writes.ts); this applies the result.
 * One statement, not one per row: every statement inside a transaction's statement savepoint makes
 * SQLite truncate its in-memory statement journal, a walk over all that the savepoint journaled, so
 * a statement per row was quadratic in the rows.
 *
 * @example keyedUpdateSql(t, ['amount'], 2, 'v = 1')
 * // → 'WITH "_strata_values" AS (VALUES (?, ?), (?, ?)) UPDATE "t" SET "amount" = "_strata_values"."column2", v = 1
 * //    FROM "_strata_values" WHERE "t"."id" = json_extract("_strata_values"."column1", \'$[0]\')'
 */
export function keyedUpdateSql(table: TableDefinition, columns: readonly string[], rows: number, extraSet: string): string {
  const values = `"_strata_values"`
  const row = `(${new Array<string>(columns.length + 1).fill('?').join(', ')})`
  const target = quoteIdentifier(table.name)
  const set = columns.map((name, index) => `${quoteIdentifier(name)} = ${values}."column${index + 2}"`)
  const where = keyParts(table, `${values}."column1"`).map((part) => `${target}.${part.column} = ${part.value}`)
  return `WITH ${values} AS (VALUES ${new Array<string>(rows).fill(row).join(', ')}) UPDATE ${target} SET ${[...set, extraSet].join(', ')} FROM ${values} WHERE ${where.join(' AND ')}`
}

/**
 * A DELETE of many rows by key in one statement: its one parameter is a JSON array of key texts.
 *
 * @example keyedDeleteSql(t) // → 'DELETE FROM "t" WHERE ("id") IN (SELECT json_extract(value, \'$[0]\') FROM json_each(?))'
 */
export function keyedDeleteSql(table: TableDefinition): string {
  const parts = keyParts(table, 'value')
  return `DELETE FROM ${quoteIdentifier(table.name)} WHERE (${parts.map((part) => part.column).join(', ')}) IN (SELECT ${parts.map((part) => part.value).join(', ')} FROM json_each(?))`
}
