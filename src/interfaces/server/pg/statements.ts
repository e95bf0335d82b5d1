/**
 * What the wire needs to know about a statement, read from PostgreSQL's parse tree (src/sql/parse.ts):
 * its kind, its command tag, whether it returns rows, how many parameters it takes, and the column
 * names PostgreSQL would give its unnamed select-list items (`count`, `?column?`, …).
 */
import { parseStatements, type ParsedStatement, type PgNode } from '../../../sql/parse.js'
import { list, names, nodeBody, nodeKind, walk } from '../../../sql/tree.js'
import { integerShape, integerVariant, variantKey, type IntegerShape } from '../../../sql/variants.js'
import { limits } from '../../../util/limits.js'
import { isCatalogQuery } from './catalog.js'

export interface WireStatement {
  /** The statement's text, as the engine gets it. */
  readonly text: string
  /** 0-based offset of `text` in the query string the client sent (error positions are relative to that). */
  readonly offset: number
  /** PostgreSQL's tree, or undefined when its grammar rejected the text (DuckDB-only syntax, time travel). */
  readonly tree: PgNode | undefined
  /** The tree's node kind (SelectStmt, InsertStmt, …) or, without a tree, the first keyword in upper case. */
  readonly kind: string
  /** The node's fields (undefined without a tree). */
  readonly body: PgNode | undefined
  /** The statement as the parser split it (the engine runs it without parsing it again). */
  readonly parsed: ParsedStatement
  /** A SELECT that reads the PostgreSQL catalog (catalog.ts answers it), worked out once per statement. */
  readonly catalog: boolean
  /** PostgreSQL's names of its result columns (`resultNames`), worked out once per statement. */
  readonly resultNames: readonly string[] | undefined
}

/**
 * Splits a query string into statements (PostgreSQL's scanner decides where they end).
 *
 * @example splitQuery('BEGIN; SELECT 1').map((statement) => statement.kind) // ['TransactionStmt', 'SelectStmt']
 */
export function splitQuery(sql: string): readonly WireStatement[] {
  const cached = splitCache.get(sql)
  if (cached !== undefined) return cached
  const statements = variantOf(sql) ?? split(sql)
  // Prepared statements and repeated scripts send the same text again; trees are never mutated. A
  // text is kept from its second sighting on: clients that write their values into the text send
  // each text once, and keeping those trees would only make the garbage collector work harder.
  if (seenOnce.delete(sql)) {
    if (splitCache.size >= limits.statementCacheEntriesMax) splitCache.delete(splitCache.keys().next().value!)
    splitCache.set(sql, statements)
  } else {
    // Forgotten all at once when full: with values in the text, every text is new (one Set
    // operation each, not an eviction each); a text that comes back is kept from its next sighting.
    if (seenOnce.size >= limits.statementCacheEntriesMax) seenOnce.clear()
    seenOnce.add(sql)
  }
  return statements
}

const splitCache = new Map<string, readonly WireStatement[]>()
/** Texts split once and not kept (yet). */
const seenOnce = new Set<string>()

function split(sql: string): WireStatement[] {
  if (sql.trim() === '') return []
  const statements = parseStatements(sql).filter((statement) => statement.text !== '').map((statement): WireStatement => {
    const after = sql.slice(statement.offset)
    const offset = statement.offset + (after.length - after.trimStart().length)
    const tree = statement.tree
    if (tree === undefined) return { text: statement.text, offset, tree, kind: firstKeyword(statement), body: undefined, parsed: statement, catalog: false, resultNames: undefined }
    const kind = nodeKind(tree) ?? 'Unknown'
    const body = nodeBody(tree, kind)
    // What every run of the statement asks, worked out with the statement (kept with its text).
    return { text: statement.text, offset, tree, kind, body, parsed: statement, catalog: kind === 'SelectStmt' && isCatalogQuery(tree), resultNames: figureResultNames(kind, body) }
  })
  if (statements.length === 1) rememberShape(sql, statements[0]!)
  return statements
}

/**
 * Integer shapes of statements split before (src/sql/variants.ts), by `variantKey` of their text, most
 * recent first: a text that differs from one of them only in its integers is not parsed.
 */
const shapes = new Map<number, { readonly shape: IntegerShape; readonly statement: WireStatement }[]>()

function rememberShape(sql: string, statement: WireStatement): void {
  const shape = integerShape(sql, statement.parsed)
  if (shape === undefined) return
  const key = variantKey(sql)
  const known = shapes.get(key)
  if (known !== undefined) {
    known.unshift({ shape, statement })
    if (known.length > limits.variantShapesPerKeyMax) known.pop()
    return
  }
  if (shapes.size >= limits.statementCacheEntriesMax) shapes.delete(shapes.keys().next().value!)
  shapes.set(key, [{ shape, statement }])
}

/**
 * The one statement of `sql` when it is an integer variant of a statement split before: the tree the
 * parser would give it, built from that statement's, and what the wire worked out from the tree —
 * its kind, whether it reads the catalog, its result names — taken over, as no integer's value
 * changes them (`isCatalogQuery` reads names, `figureResultNames` a constant's kind only).
 */
function variantOf(sql: string): WireStatement[] | undefined {
  if (shapes.size === 0) return undefined
  const candidates = shapes.get(variantKey(sql))
  if (candidates === undefined) return undefined
  for (const { shape, statement } of candidates) {
    const parsed = integerVariant(shape, sql)
    if (parsed === undefined) continue
    const tree = parsed.tree!
    // The statement starts before its first integer, where the two texts are the same.
    return [{ text: parsed.text, offset: statement.offset, tree, kind: statement.kind, body: nodeBody(tree, statement.kind), parsed, catalog: statement.catalog, resultNames: statement.resultNames }]
  }
  return undefined
}

/** The statement's first token in upper case, from the query string's one scan (`ParsedStatement.tokens`). */
function firstKeyword(statement: ParsedStatement): string {
  try {
    const token = statement.tokens()[0]
    return token === undefined ? '' : token.text.toUpperCase()
  } catch {
    return ''
  }
}

/** The highest `$n` the statement uses (from the tree, or the scanner's PARAM tokens without one). */
export function parameterCount(statement: WireStatement): number {
  let highest = 0
  if (statement.tree !== undefined) {
    walk(statement.tree, (kind, body) => {
      if (kind === 'ParamRef' && typeof body['number'] === 'number') highest = Math.max(highest, body['number'])
    })
    return highest
  }
  try {
    for (const token of statement.parsed.tokens()) if (token.tokenName === 'PARAM') highest = Math.max(highest, Number(token.text.slice(1)))
  } catch {
    return 0
  }
  return highest
}

/**
 * Does the statement produce rows? Writes only with RETURNING; statements PostgreSQL's grammar
 * rejected are DuckDB-only reads (DESCRIBE, FROM-first, SUMMARIZE, …) except CREATE FULLTEXT INDEX.
 */
export function returnsRows(statement: WireStatement): boolean {
  const body = statement.body
  switch (statement.kind) {
    case 'SelectStmt':
      return body?.['intoClause'] === undefined
    case 'InsertStmt':
    case 'UpdateStmt':
    case 'DeleteStmt':
    case 'MergeStmt':
      return list(body?.['returningList']).length > 0
    case 'VariableShowStmt':
    case 'ExplainStmt':
      return true
    default:
      return statement.tree === undefined && readKeywords.has(statement.kind)
  }
}

/** First keywords of statements PostgreSQL's grammar rejected that read (DuckDB-only syntax, time travel). */
export const readKeywords: ReadonlySet<string> = new Set(['SELECT', 'WITH', 'FROM', 'VALUES', 'TABLE', 'DESCRIBE', 'SHOW', 'SUMMARIZE', 'EXPLAIN', 'PIVOT', 'UNPIVOT'])
const writeKeywords: ReadonlySet<string> = new Set(['INSERT', 'UPDATE', 'DELETE', 'ERASE', 'MERGE', 'CREATE', 'DROP', 'ALTER'])

/** Is it a write or DDL (something a several-statement query should run inside one transaction)? */
export function isWrite(statement: WireStatement): boolean {
  switch (statement.kind) {
    case 'SelectStmt':
      return statement.body?.['intoClause'] !== undefined
    case 'VariableShowStmt':
    case 'VariableSetStmt':
    case 'ExplainStmt':
    case 'TransactionStmt':
    case 'DiscardStmt':
    case 'DeallocateStmt':
      return false
    default:
      return statement.tree !== undefined || writeKeywords.has(statement.kind)
  }
}

const dropTags: Readonly<Record<string, string>> = {
  OBJECT_TABLE: 'DROP TABLE',
  OBJECT_VIEW: 'DROP VIEW',
  OBJECT_INDEX: 'DROP INDEX',
  OBJECT_SCHEMA: 'DROP SCHEMA',
  OBJECT_SEQUENCE: 'DROP SEQUENCE',
  OBJECT_MATVIEW: 'DROP MATERIALIZED VIEW',
  OBJECT_TYPE: 'DROP TYPE',
  OBJECT_FUNCTION: 'DROP FUNCTION',
}

const transactionTags: Readonly<Record<string, string>> = {
  TRANS_STMT_BEGIN: 'BEGIN',
  TRANS_STMT_START: 'START TRANSACTION',
  TRANS_STMT_COMMIT: 'COMMIT',
  TRANS_STMT_ROLLBACK: 'ROLLBACK',
  TRANS_STMT_SAVEPOINT: 'SAVEPOINT',
  TRANS_STMT_RELEASE: 'RELEASE',
  TRANS_STMT_ROLLBACK_TO: 'ROLLBACK',
  TRANS_STMT_PREPARE: 'PREPARE TRANSACTION',
  TRANS_STMT_COMMIT_PREPARED: 'COMMIT PREPARED',
  TRANS_STMT_ROLLBACK_PREPARED: 'ROLLBACK PREPARED',
}

/**
 * PostgreSQL's CommandComplete tag for a statement that ran (`INSERT 0 3`, `SELECT 2`, `CREATE TABLE`).
 *
 * @example commandTag(splitQuery('DELETE FROM t')[0]!, 4) // 'DELETE 4'
 */
export function commandTag(statement: WireStatement, rowCount: number): string {
  const body = statement.body ?? {}
  switch (statement.kind) {
    case 'SelectStmt':
      return `SELECT ${rowCount}`
    case 'InsertStmt':
      return `INSERT 0 ${rowCount}`
    case 'UpdateStmt':
      return `UPDATE ${rowCount}`
    case 'DeleteStmt':
      return `DELETE ${rowCount}`
    case 'MergeStmt':
      return `MERGE ${rowCount}`
    case 'CreateStmt':
      return 'CREATE TABLE'
    case 'CreateTableAsStmt':
      return body['objtype'] === 'OBJECT_MATVIEW' ? 'CREATE MATERIALIZED VIEW' : `SELECT ${rowCount}`
    case 'ViewStmt':
      return 'CREATE VIEW'
    case 'IndexStmt':
      return 'CREATE INDEX'
    case 'CreateSchemaStmt':
      return 'CREATE SCHEMA'
    case 'DropStmt':
      return dropTags[String(body['removeType'])] ?? 'DROP'
    case 'AlterTableStmt':
      return body['objtype'] === 'OBJECT_VIEW' ? 'ALTER VIEW' : body['objtype'] === 'OBJECT_INDEX' ? 'ALTER INDEX' : 'ALTER TABLE'
    case 'RenameStmt':
      return body['renameType'] === 'OBJECT_VIEW' || body['relationType'] === 'OBJECT_VIEW' ? 'ALTER VIEW' : 'ALTER TABLE'
    case 'TransactionStmt':
      return transactionTags[String(body['kind'])] ?? 'BEGIN'
    case 'VariableSetStmt':
      return body['kind'] === 'VAR_RESET' || body['kind'] === 'VAR_RESET_ALL' ? 'RESET' : 'SET'
    case 'VariableShowStmt':
      return 'SHOW'
    case 'ExplainStmt':
      return 'EXPLAIN'
    case 'CopyStmt':
      return `COPY ${rowCount}`
    case 'DiscardStmt':
      return body['target'] === 'DISCARD_ALL' || body['target'] === undefined ? 'DISCARD ALL' : 'DISCARD'
    case 'DeallocateStmt':
      return body['name'] === undefined ? 'DEALLOCATE ALL' : 'DEALLOCATE'
    default:
      if (statement.tree === undefined) return returnsRows(statement) ? `SELECT ${rowCount}` : statement.kind
      return statement.kind.replace(/Stmt$/, '').replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase()
  }
}

const valueFunctionNames: Readonly<Record<string, string>> = {
  SVFOP_CURRENT_DATE: 'current_date',
  SVFOP_CURRENT_TIME: 'current_time',
  SVFOP_CURRENT_TIME_N: 'current_time',
  SVFOP_CURRENT_TIMESTAMP: 'current_timestamp',
  SVFOP_CURRENT_TIMESTAMP_N: 'current_timestamp',
  SVFOP_LOCALTIME: 'localtime',
  SVFOP_LOCALTIME_N: 'localtime',
  SVFOP_LOCALTIMESTAMP: 'localtimestamp',
  SVFOP_LOCALTIMESTAMP_N: 'localtimestamp',
  SVFOP_CURRENT_ROLE: 'current_role',
  SVFOP_CURRENT_USER: 'current_user',
  SVFOP_USER: 'user',
  SVFOP_SESSION_USER: 'session_user',
  SVFOP_CURRENT_CATALOG: 'current_catalog',
  SVFOP_CURRENT_SCHEMA: 'current_schema',
}

/**
 * PostgreSQL's FigureColname (parse_target.c): the name of an unnamed select-list item, with its
 * strength (2 = a real name, 1 = a fallback such as a type name or `case`, 0 = none → `?column?`).
 */
function figure(node: unknown): { name: string; strength: number } {
  const kind = nodeKind(node)
  const body = kind === undefined ? undefined : nodeBody(node, kind)
  if (kind === undefined || body === undefined) return { name: '?column?', strength: 0 }
  switch (kind) {
    case 'ColumnRef': {
      const fields = list(body['fields'])
      const last = fields[fields.length - 1]
      const name = names([last])[0]
      return name === undefined || name === '' ? { name: '?column?', strength: 0 } : { name, strength: 2 }
    }
    case 'A_Indirection': {
      const indirection = list(body['indirection'])
      const last = indirection[indirection.length - 1]
      const name = nodeKind(last) === 'String' ? names([last])[0] : undefined
      return name !== undefined && name !== '' ? { name, strength: 2 } : figure(body['arg'])
    }
    case 'FuncCall': {
      const parts = names(body['funcname'])
      return { name: parts[parts.length - 1] ?? '?column?', strength: 2 }
    }
    case 'A_Expr':
      return body['kind'] === 'AEXPR_NULLIF' ? { name: 'nullif', strength: 2 } : { name: '?column?', strength: 0 }
    case 'TypeCast': {
      const inner = figure(body['arg'])
      if (inner.strength > 1) return inner
      const typeNames = names((body['typeName'] as PgNode | undefined)?.['names'])
      const last = typeNames[typeNames.length - 1]
      return last === undefined ? inner : { name: last, strength: 1 }
    }
    case 'CollateClause':
      return figure(body['arg'])
    case 'GroupingFunc':
      return { name: 'grouping', strength: 2 }
    case 'SubLink': {
      const type = body['subLinkType']
      if (type === 'EXISTS_SUBLINK') return { name: 'exists', strength: 2 }
      if (type === 'ARRAY_SUBLINK') return { name: 'array', strength: 2 }
      if (type === 'EXPR_SUBLINK') {
        const select = nodeBody(body['subselect'], 'SelectStmt')
        const first = nodeBody(list(select?.['targetList'])[0], 'ResTarget')
        if (first !== undefined) return typeof first['name'] === 'string' ? { name: first['name'], strength: 2 } : figure(first['val'])
      }
      return { name: '?column?', strength: 0 }
    }
    case 'CaseExpr': {
      const fallback = figure(body['defresult'])
      return fallback.strength > 1 ? fallback : { name: 'case', strength: 1 }
    }
    case 'A_ArrayExpr':
      return { name: 'array', strength: 2 }
    case 'RowExpr':
      return { name: 'row', strength: 2 }
    case 'CoalesceExpr':
      return { name: 'coalesce', strength: 2 }
    case 'MinMaxExpr':
      return { name: body['op'] === 'IS_LEAST' ? 'least' : 'greatest', strength: 2 }
    case 'SQLValueFunction':
      return { name: valueFunctionNames[String(body['op'])] ?? '?column?', strength: 2 }
    default:
      return { name: '?column?', strength: 0 }
  }
}

/**
 * The names PostgreSQL gives the statement's result columns, when they can be told from the tree
 * alone (no `*`); undefined otherwise (the engine's names stand). DuckDB names unnamed expressions by
 * their text (`count_star()`); PostgreSQL clients look rows up by PostgreSQL's names (`count`).
 *
 * @example resultNames(splitQuery('SELECT count(*), 1, a AS b FROM t')[0]!) // ['count', '?column?', 'b']
 */
export function resultNames(statement: WireStatement): readonly string[] | undefined {
  return statement.resultNames
}

function figureResultNames(kind: string, body: PgNode | undefined): string[] | undefined {
  if (body === undefined) return undefined
  let targets: unknown[]
  if (kind === 'SelectStmt') {
    let select: PgNode = body
    while (select['op'] !== undefined && select['op'] !== 'SETOP_NONE') select = (select['larg'] as PgNode | undefined) ?? {}
    if (select['valuesLists'] !== undefined) {
      const first = list(select['valuesLists'])[0]
      const width = list(nodeBody(first, 'List')?.['items']).length
      return Array.from({ length: width }, (_, index) => `column${index + 1}`)
    }
    targets = list(select['targetList'])
  } else if (kind === 'InsertStmt' || kind === 'UpdateStmt' || kind === 'DeleteStmt') {
    targets = list(body['returningList'])
  } else return undefined
  const out: string[] = []
  for (const target of targets) {
    const resTarget = nodeBody(target, 'ResTarget')
    if (resTarget === undefined) return undefined
    if (typeof resTarget['name'] === 'string') {
      out.push(resTarget['name'])
      continue
    }
    const value = resTarget['val']
    const columnRef = nodeBody(value, 'ColumnRef')
    if (columnRef !== undefined && list(columnRef['fields']).some((field) => nodeKind(field) === 'A_Star')) return undefined
    out.push(figure(value).name)
  }
  return out
}
