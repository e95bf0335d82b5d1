/**
 * Full-text search in the SQL front end (SPEC 7): SQLite FTS5 underneath, pure here (no I/O).
 *
 * - `CREATE FULLTEXT INDEX [IF NOT EXISTS] [name] ON t (col, …)` is not PostgreSQL grammar; it is
 *   recognised from the real scanner's tokens ({@link recogniseCreateFulltextIndex}).
 * - An index is an FTS5 table with external content (`content='t'`, `content_rowid` = t's rowid), kept
 *   in step by ordinary (non-TEMP) triggers on t, so every change of t reaches it whoever makes it:
 *   DML, the engine's raw valid-time writes, ERASE ({@link sqliteCreateFulltext}).
 * - `MATCH(col, 'query')` in a WHERE compiles to `t.rowid IN (SELECT rowid FROM fts WHERE fts.col
 *   MATCH ?)`; `bm25(col, 'query')` (alias `score`) to a column of a joined FTS subquery, higher = more
 *   relevant ({@link withFulltext}). Both are answered by the row store only.
 * - A malformed query is a `SYNTAX_ERROR` naming its position in the query string: FTS5's own messages
 *   do not say where, so the query is checked here first against FTS5's grammar ({@link checkFulltextQuery}).
 */
import { tokensOf, type TokenSource } from './parse.js'
import { AssertionError } from '../util/assert.js'
import { StrataError } from '../util/errors.js'
import { findColumn, rowIdColumn, type FulltextIndexDefinition, type TableDefinition } from './catalog.js'
import type { PgNode } from './parse.js'
import type { Binder } from './plan.js'
import { constantValue, list, names, nodeBody, nodeKind, quoteIdentifier, walk } from './tree.js'
import { typeFromNames, type SqlType } from './types.js'

// ───────────────────────────── catalog and SQLite DDL ─────────────────────────────

const doubleType: SqlType = { name: 'DOUBLE' }
const textType: SqlType = { name: 'VARCHAR' }

/** FTS5 reserves these column names for its hidden columns. */
const reservedColumnNames = new Set(['rowid', 'rank'])

export function fulltextIndexesOf(table: TableDefinition): readonly FulltextIndexDefinition[] {
  return table.fulltext ?? []
}

/**
 * The FTS5 table of an index. The trailing underscore keeps every FTS table name distinct from every
 * FTS5 shadow table name (`<name>_data`, `_idx`, `_docsize`, `_config`), whatever the index names are.
 */
export function fulltextTableName(index: FulltextIndexDefinition): string {
  return `_strata_fts_${index.name}_`
}

function triggerName(index: FulltextIndexDefinition, event: 'insert' | 'update' | 'delete'): string {
  return quoteIdentifier(`${fulltextTableName(index)}${event}`)
}

/**
 * How SQL names the SQLite rowid of `table`: the hidden row id column of a table without a primary
 * key (an INTEGER PRIMARY KEY, so stable), else `rowid` or one of its other spellings that no user
 * column shadows. (A primary-key table's rowid is the INTEGER key itself or SQLite's implicit rowid,
 * which UPDATE never changes; nothing VACUUMs the row store, which could renumber implicit rowids.)
 */
export function fulltextRowid(table: TableDefinition): string {
  if (table.primaryKey === null) return rowIdColumn
  for (const candidate of ['rowid', '_rowid_', 'oid']) {
    if (!table.columns.some((column) => column.name.toLowerCase() === candidate)) return candidate
  }
  throw new StrataError('NOT_SUPPORTED', `table "${table.name}" has columns named rowid, _rowid_ and oid, so its rows cannot be full-text indexed`)
}

function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`
}

/** Checks the columns of a new index; TYPE_MISMATCH for a column that is not text. */
export function checkFulltextColumns(table: TableDefinition, columns: readonly string[]): void {
  if (columns.length === 0) throw new StrataError('SYNTAX_ERROR', 'a full-text index needs at least one column')
  const seen = new Set<string>()
  for (const name of columns) {
    const column = findColumn(table, name)
    if (column === undefined) throw new StrataError('UNDEFINED_COLUMN', `column "${name}" of table "${table.name}" does not exist`)
    if (column.type.name !== 'VARCHAR' && column.type.name !== 'JSON') {
      throw new StrataError('TYPE_MISMATCH', `column "${name}" of table "${table.name}" is ${column.type.name}; only TEXT/VARCHAR and JSON columns can be full-text indexed`)
    }
    if (reservedColumnNames.has(name.toLowerCase())) throw new StrataError('NOT_SUPPORTED', `a column named "${name}" cannot be full-text indexed (FTS5 reserves the name)`)
    // FTS5 column names are case-insensitive.
    if (seen.has(name.toLowerCase())) throw new StrataError('DUPLICATE_COLUMN', `column "${name}" appears twice in the full-text index`)
    seen.add(name.toLowerCase())
  }
  fulltextRowid(table)
}

/**
 * The row store's DDL for one index: the FTS5 table over t's columns (external content, so the text
 * is stored once, in t), secure-delete (a deleted or erased row's terms leave the index's pages, not
 * just its visible state), the triggers that keep it in step with every change of t, and the initial
 * build from t's current rows.
 *
 * @example
 * sqliteCreateFulltext(docs, { name: 'docs_body', columns: ['body'] })
 * // → ['DROP TRIGGER IF EXISTS …', 'CREATE VIRTUAL TABLE "_strata_fts_docs_body_" USING fts5("body", content=\'docs\', …)', …]
 */
export function sqliteCreateFulltext(table: TableDefinition, index: FulltextIndexDefinition): string[] {
  const fts = quoteIdentifier(fulltextTableName(index))
  const rowid = fulltextRowid(table)
  const columns = index.columns.map(quoteIdentifier)
  const values = (row: 'new' | 'old'): string => index.columns.map((column) => `${row}.${quoteIdentifier(column)}`).join(', ')
  const insert = `INSERT INTO ${fts} (rowid, ${columns.join(', ')}) VALUES (new.${rowid}, ${values('new')});`
  // External content: FTS5 must be told the old values to remove their terms.
  const remove = `INSERT INTO ${fts} (${fts}, rowid, ${columns.join(', ')}) VALUES ('delete', old.${rowid}, ${values('old')});`
  const changed = [`old.${rowid} IS NOT new.${rowid}`, ...index.columns.map((column) => `old.${quoteIdentifier(column)} IS NOT new.${quoteIdentifier(column)}`)].join(' OR ')
  const target = quoteIdentifier(table.name)
  return [
    ...sqliteDropFulltext(index),
    `CREATE VIRTUAL TABLE ${fts} USING fts5(${columns.join(', ')}, content=${sqlString(table.name)}, content_rowid=${sqlString(rowid)})`,
    `INSERT INTO ${fts} (${fts}, rank) VALUES ('secure-delete', 1)`,
    // Ordinary triggers, not TEMP: they are part of the schema, fire on every connection and for every
    // writer (the history triggers' raw mode does not switch them off), and roll back with it.
    `CREATE TRIGGER ${triggerName(index, 'insert')} AFTER INSERT ON ${target} BEGIN ${insert} END`,
    `CREATE TRIGGER ${triggerName(index, 'delete')} AFTER DELETE ON ${target} BEGIN ${remove} END`,
    `CREATE TRIGGER ${triggerName(index, 'update')} AFTER UPDATE ON ${target} WHEN ${changed} BEGIN ${remove} ${insert} END`,
    `INSERT INTO ${fts} (${fts}) VALUES ('rebuild')`,
  ]
}

export function sqliteDropFulltext(index: FulltextIndexDefinition): string[] {
  return [
    `DROP TRIGGER IF EXISTS ${triggerName(index, 'insert')}`,
    `DROP TRIGGER IF EXISTS ${triggerName(index, 'update')}`,
    `DROP TRIGGER IF EXISTS ${triggerName(index, 'delete')}`,
    `DROP TABLE IF EXISTS ${quoteIdentifier(fulltextTableName(index))}`,
  ]
}

/** The index (and its table) called `name`, if any. */
export function findFulltextIndex(tables: Iterable<TableDefinition>, name: string): { table: TableDefinition; index: FulltextIndexDefinition } | undefined {
  for (const table of tables) {
    const index = fulltextIndexesOf(table).find((candidate) => candidate.name === name)
    if (index !== undefined) return { table, index }
  }
  return undefined
}

/** ALTER TABLE … DROP COLUMN of an indexed column is refused (the index would lose its meaning). */
export function checkFulltextDropColumn(table: TableDefinition, column: string): void {
  const index = fulltextIndexesOf(table).find((candidate) => candidate.columns.includes(column))
  if (index !== undefined) throw new StrataError('NOT_SUPPORTED', `cannot drop column "${column}": the full-text index "${index.name}" uses it (DROP INDEX ${index.name} first)`)
}

/** The table's full-text indexes with column `from` renamed to `to` (for the catalog); `{}` when none use it. */
export function renameFulltextColumn(table: TableDefinition, from: string, to: string): { fulltext?: FulltextIndexDefinition[] } {
  const indexes = fulltextIndexesOf(table)
  if (!indexes.some((index) => index.columns.includes(from))) return {}
  return { fulltext: indexes.map((index) => ({ ...index, columns: index.columns.map((column) => (column === from ? to : column)) })) }
}

// ───────────────────────────── CREATE FULLTEXT INDEX ─────────────────────────────

export interface CreateFulltextIndex {
  /** Undefined when the statement names none (a name is made from the table and columns). */
  readonly name: string | undefined
  readonly ifNotExists: boolean
  readonly table: string
  readonly columns: readonly string[]
}

export interface ScannerToken {
  readonly start: number
  readonly end: number
  readonly text: string
  readonly tokenName: string
  readonly keywordName: string
}

/**
 * The scanner's tokens of `text` — from `tokens`, `text`'s token source, when the caller has one — or
 * undefined when the scanner refuses the text (an unterminated quote or comment: no statement these
 * recognisers know, and the parser reports it).
 *
 * @example scanTokens('CREATE FULLTEXT INDEX ON docs (body)')?.length // → 8
 */
export function scanTokens(text: string, tokens?: TokenSource): readonly ScannerToken[] | undefined {
  try {
    return tokensOf(text, tokens)
  } catch (error) {
    // Tokens of another text are our bug, not a text to pass over.
    if (error instanceof AssertionError) throw error
    return undefined
  }
}

/** PostgreSQL folds unquoted identifiers to lower case (ASCII letters only). */
function foldCase(text: string): string {
  let folded = ''
  for (const character of text) folded += character >= 'A' && character <= 'Z' ? character.toLowerCase() : character
  return folded
}

/** The name a token spells where PostgreSQL expects a ColId, or undefined when it is not one. */
export function identifierOf(token: ScannerToken | undefined): string | undefined {
  if (token === undefined) return undefined
  if (token.tokenName === 'IDENT') return token.text.startsWith('"') ? token.text.slice(1, -1).replaceAll('""', '"') : foldCase(token.text)
  if (token.keywordName === 'UNRESERVED_KEYWORD' || token.keywordName === 'COL_NAME_KEYWORD') return foldCase(token.text)
  return undefined
}

export function isWord(token: ScannerToken | undefined, word: string): boolean {
  return token !== undefined && !token.text.startsWith('"') && token.text.toUpperCase() === word
}

/**
 * Recognises `CREATE FULLTEXT INDEX [IF NOT EXISTS] [name] ON [schema.]table (col, …)` from the
 * scanner's tokens. Undefined when the text is not a CREATE FULLTEXT statement at all; a
 * SYNTAX_ERROR naming the position when it starts like one but does not follow the grammar.
 * `tokenSource` is `text`'s tokens when the caller has them (a `ParsedStatement`'s `tokens`).
 *
 * @example
 * recogniseCreateFulltextIndex('CREATE FULLTEXT INDEX docs_body ON docs (body)')
 * // → { name: 'docs_body', ifNotExists: false, table: 'docs', columns: ['body'] }
 */
export function recogniseCreateFulltextIndex(text: string, tokenSource?: TokenSource): CreateFulltextIndex | undefined {
  const tokens = scanTokens(text, tokenSource)
  if (tokens === undefined || !isWord(tokens[0], 'CREATE') || !isWord(tokens[1], 'FULLTEXT')) return undefined
  let at = 2
  const fail = (expected: string): never => {
    const token = tokens[at]
    const position = token === undefined ? text.trimEnd().length + 1 : token.start + 1
    const found = token === undefined ? 'the end of the statement' : `"${token.text}"`
    throw new StrataError('SYNTAX_ERROR', `CREATE FULLTEXT INDEX: expected ${expected} but found ${found} (at position ${position})`, { statement: text, position })
  }
  const expectWord = (word: string): void => {
    if (!isWord(tokens[at], word)) fail(word)
    at++
  }
  const expectName = (what: string): string => {
    const name = identifierOf(tokens[at])
    if (name === undefined) fail(what)
    at++
    return name!
  }
  expectWord('INDEX')
  let ifNotExists = false
  if (isWord(tokens[at], 'IF')) {
    at++
    expectWord('NOT')
    expectWord('EXISTS')
    ifNotExists = true
  }
  let name: string | undefined
  if (!isWord(tokens[at], 'ON')) name = expectName(ifNotExists ? 'the index name' : 'the index name or ON')
  else if (ifNotExists) fail('the index name')
  expectWord('ON')
  let table = expectName('the table name')
  if (tokens[at]?.text === '.') {
    if (table !== 'main' && table !== 'public') throw new StrataError('NOT_SUPPORTED', `the schema ${table}`, { statement: text, position: tokens[at - 1]!.start + 1 })
    at++
    table = expectName('the table name')
  }
  if (tokens[at]?.text !== '(') fail('"("')
  at++
  const columns: string[] = []
  for (;;) {
    columns.push(expectName('a column name'))
    if (tokens[at]?.text === ',') {
      at++
      continue
    }
    if (tokens[at]?.text === ')') {
      at++
      break
    }
    fail('"," or ")"')
  }
  if (tokens[at]?.text === ';') at++
  if (at < tokens.length) fail('the end of the statement')
  return { name, ifNotExists, table, columns }
}

/** The name PostgreSQL-style defaulting gives an unnamed index: `<table>_<col>[_<col>…]_fulltext`. */
export function defaultFulltextIndexName(statement: CreateFulltextIndex): string {
  return `${statement.table}_${statement.columns.join('_')}_fulltext`
}

// ───────────────────────────── FTS5 query syntax ─────────────────────────────

type QueryTokenKind = 'string' | 'AND' | 'OR' | 'NOT' | '(' | ')' | '{' | '}' | ':' | ',' | '+' | '*' | '-' | '^' | 'end'

interface QueryToken {
  readonly kind: QueryTokenKind
  /** 0-based offset in the query string. */
  readonly start: number
  readonly text: string
  readonly quoted: boolean
}

const punctuation: ReadonlyMap<string, QueryTokenKind> = new Map([
  ['(', '('],
  [')', ')'],
  ['{', '{'],
  ['}', '}'],
  [':', ':'],
  [',', ','],
  ['+', '+'],
  ['*', '*'],
  ['-', '-'],
  ['^', '^'],
])

/** FTS5's bareword characters (fts5_expr.c, sqlite3Fts5IsBareword): any non-ASCII, [0-9A-Za-z_], 0x1A. */
function isBareword(code: number): boolean {
  return code >= 0x80 || (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || code === 0x5f || code === 0x1a
}

/** FTS5 skips exactly these between tokens. */
function isQuerySpace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d
}

function describeQuery(query: string): string {
  return JSON.stringify(query.length > 80 ? `${query.slice(0, 77)}…` : query)
}

function querySyntaxError(query: string, position: number, what: string): StrataError {
  return new StrataError('SYNTAX_ERROR', `malformed full-text query ${describeQuery(query)}: ${what} at position ${position + 1} of the query`, { cause: { query, position: position + 1 } })
}

/** FTS5's tokenizer for query text (fts5ExprGetToken); like FTS5, a NUL character ends the query. */
function tokenizeQuery(query: string): QueryToken[] {
  const nul = query.indexOf('\0')
  const end = nul < 0 ? query.length : nul
  const tokens: QueryToken[] = []
  let at = 0
  for (;;) {
    while (at < end && isQuerySpace(query.charCodeAt(at))) at++
    if (at >= end) {
      tokens.push({ kind: 'end', start: at, text: '', quoted: false })
      return tokens
    }
    const character = query[at]!
    const single = punctuation.get(character)
    if (single !== undefined) {
      tokens.push({ kind: single, start: at, text: character, quoted: false })
      at++
    } else if (character === '"') {
      let next = at + 1
      for (;;) {
        if (next >= end) throw querySyntaxError(query, at, 'unterminated string starting')
        if (query[next] === '"') {
          if (query[next + 1] === '"' && next + 1 < end) {
            next += 2
            continue
          }
          break
        }
        next++
      }
      tokens.push({ kind: 'string', start: at, text: query.slice(at, next + 1), quoted: true })
      at = next + 1
    } else if (isBareword(query.charCodeAt(at))) {
      let next = at + 1
      while (next < end && isBareword(query.charCodeAt(next))) next++
      const text = query.slice(at, next)
      const kind: QueryTokenKind = text === 'AND' || text === 'OR' || text === 'NOT' ? text : 'string'
      tokens.push({ kind, start: at, text, quoted: false })
      at = next
    } else throw querySyntaxError(query, at, `unexpected character ${JSON.stringify(character)}`)
  }
}

function unquote(token: QueryToken): string {
  return token.quoted ? token.text.slice(1, -1).replaceAll('""', '"') : token.text
}

/**
 * Checks a full-text query against FTS5's grammar (fts5parse.y) before SQLite sees it: phrases
 * (`"…"`, `a + b`), prefixes (`foo*`), `^` (first token), AND/OR/NOT (upper case), implicit AND,
 * parentheses, `NEAR(a b, N)`, and column filters (`col:`, `{a b}:`, `-col:`) naming `columns`.
 * Throws SYNTAX_ERROR naming the 1-based position in the query (UNDEFINED_COLUMN for an unknown
 * column filter).
 *
 * @example
 * checkFulltextQuery('"quick fox" OR NEAR(lazy dog, 5)', ['body']) // fine
 * checkFulltextQuery('AND fox', ['body']) // SYNTAX_ERROR: … unexpected "AND" at position 1 of the query
 */
export function checkFulltextQuery(query: string, columns: readonly string[]): void {
  const tokens = tokenizeQuery(query)
  let at = 0
  const peek = (offset = 0): QueryToken => tokens[Math.min(at + offset, tokens.length - 1)]!
  const unexpected = (): never => {
    const token = peek()
    if (token.kind === 'end') throw querySyntaxError(query, token.start, at === 0 ? 'the query is empty' : 'unexpected end of the query')
    throw querySyntaxError(query, token.start, `unexpected ${JSON.stringify(token.text)}`)
  }
  const expect = (kind: QueryTokenKind): QueryToken => {
    if (peek().kind !== kind) unexpected()
    return tokens[at++]!
  }
  const knownColumns = new Set(columns.map((column) => column.toLowerCase()))
  const columnName = (): void => {
    const token = expect('string')
    // FTS5 compares column names case-insensitively.
    if (!knownColumns.has(unquote(token).toLowerCase())) {
      throw new StrataError('UNDEFINED_COLUMN', `malformed full-text query ${describeQuery(query)}: no column ${JSON.stringify(unquote(token))} in the index (columns: ${columns.join(', ')}) at position ${token.start + 1} of the query`)
    }
  }
  const startsColumnFilter = (): boolean => peek().kind === '-' || peek().kind === '{' || (peek().kind === 'string' && peek(1).kind === ':')
  // colset := [-] ( '{' name+ '}' | name ) — followed by ':'
  const columnFilter = (): void => {
    if (peek().kind === '-') at++
    if (peek().kind === '{') {
      at++
      columnName()
      while (peek().kind === 'string') columnName()
      expect('}')
    } else columnName()
    expect(':')
  }
  // phrase := string ['*'] ('+' string ['*'])*
  const phrase = (): void => {
    expect('string')
    if (peek().kind === '*') at++
    while (peek().kind === '+') {
      at++
      expect('string')
      if (peek().kind === '*') at++
    }
  }
  // nearset := phrase | '^' phrase | NEAR '(' phrase+ [',' digits] ')'
  const nearset = (): void => {
    if (peek().kind === '^') {
      at++
      phrase()
      return
    }
    if (peek().kind === 'string' && peek(1).kind === '(') {
      const keyword = peek()
      if (keyword.quoted || keyword.text !== 'NEAR') throw querySyntaxError(query, keyword.start, `unexpected ${JSON.stringify(keyword.text)} (only NEAR, in upper case, takes a parenthesised group)`)
      at += 2
      phrase()
      while (peek().kind === 'string') phrase()
      if (peek().kind === ',') {
        at++
        const distance = expect('string')
        if (distance.quoted || [...distance.text].some((digit) => digit < '0' || digit > '9')) throw querySyntaxError(query, distance.start, `NEAR distance must be an integer, not ${JSON.stringify(distance.text)}`)
      }
      expect(')')
      return
    }
    phrase()
  }
  const startsNearset = (): boolean => peek().kind === 'string' || peek().kind === '^' || peek().kind === '-' || peek().kind === '{'
  // operand := '(' expr ')' | colset ':' '(' expr ')' | cnearset+   where cnearset := [colset ':'] nearset
  const operand = (): void => {
    if (peek().kind === '(') {
      at++
      expression()
      expect(')')
      return
    }
    if (startsColumnFilter()) {
      columnFilter()
      if (peek().kind === '(') {
        at++
        expression()
        expect(')')
        return
      }
    } else if (!startsNearset()) unexpected()
    nearset()
    while (startsNearset()) {
      if (startsColumnFilter()) columnFilter()
      nearset()
    }
  }
  // expr := operand (('AND' | 'OR' | 'NOT') operand)*  (precedence does not change what parses)
  const expression = (): void => {
    operand()
    while (peek().kind === 'AND' || peek().kind === 'OR' || peek().kind === 'NOT') {
      at++
      operand()
    }
  }
  expression()
  if (peek().kind !== 'end') unexpected()
}

// ───────────────────────────── MATCH and bm25 in queries ─────────────────────────────

const matchNames = new Set(['match'])
const scoreNames = new Set(['bm25', 'score'])

function callName(node: unknown): string | undefined {
  const call = nodeBody(node, 'FuncCall')
  if (call === undefined) return undefined
  const parts = names(call['funcname'])
  return parts.length === 1 ? parts[0]!.toLowerCase() : undefined
}

/** `MATCH(col, query)`: a condition. */
export function isFulltextMatchCall(node: unknown): boolean {
  const name = callName(node)
  return name !== undefined && matchNames.has(name)
}

/** `bm25(col, query)` / `score(col, query)`: a relevance number. */
export function isFulltextScoreCall(node: unknown): boolean {
  const name = callName(node)
  return name !== undefined && scoreNames.has(name)
}

/** Whether a parse tree uses full-text search anywhere. */
const fulltextUse = new WeakMap<object, boolean>()

export function usesFulltext(tree: unknown): boolean {
  // Trees are immutable once parsed (and cached per text), so the answer is remembered per tree.
  if (typeof tree === 'object' && tree !== null) {
    const known = fulltextUse.get(tree)
    if (known !== undefined) return known
    const found = findsFulltext(tree)
    fulltextUse.set(tree, found)
    return found
  }
  return findsFulltext(tree)
}

function findsFulltext(tree: unknown): boolean {
  let found = false
  walk(tree, (kind, body) => {
    if (found) return false
    if (kind === 'FuncCall' && (isFulltextMatchCall({ FuncCall: body }) || isFulltextScoreCall({ FuncCall: body }))) found = true
    return undefined
  })
  return found
}

/**
 * Full-text search runs on the row store only (DuckDB's FTS extension is a download we do not use):
 * a query that uses it but must run on the column store is NOT_SUPPORTED, naming why.
 */
export function rejectFulltextOutsideRowStore(tree: unknown, reason: string): void {
  if (!usesFulltext(tree)) return
  throw new StrataError(
    'NOT_SUPPORTED',
    `full-text search (MATCH, bm25) runs on the row store only, and this query needs the column store (${reason}); use MATCH in a query over one table ` +
      "with plain columns, conditions, ORDER BY and LIMIT (aggregates and GROUP BY over one table can run there with the option { engine: 'row' })",
  )
}

/**
 * The time-travel rule: full-text search reads the current state. A query with a time clause (or on
 * a table whose default read goes through history) cannot use it.
 */
export function rejectFulltextWithTimeTravel(tree: unknown, explicit: boolean): void {
  if (!usesFulltext(tree)) return
  throw new StrataError(
    'NOT_SUPPORTED',
    explicit
      ? 'full-text search (MATCH, bm25) reads the current state only: it cannot be combined with a time clause (FOR SYSTEM_TIME, FOR VALID_TIME, AS OF, VALID AT, FOR PORTION OF) or ERASE'
      : 'full-text search (MATCH, bm25) reads the current state only, and this table has versions whose valid time does not cover now, so its reads go through history',
  )
}

type QueryArgument = { readonly kind: 'value'; readonly value: string } | { readonly kind: 'param'; readonly index: number }

/** One resolved MATCH/bm25 call: which index, which column (undefined = all of the index's), which query. */
interface FulltextCall {
  readonly index: FulltextIndexDefinition
  readonly column: string | undefined
  readonly query: QueryArgument
  /** Equal for calls that search the same thing. */
  readonly key: string
}

/** What a compile scope needs from rowsql's Scope. */
interface FulltextScope {
  readonly table: TableDefinition
  readonly qualifiers: readonly string[]
  readonly inlineValues?: boolean
  readonly fulltext?: FulltextPlan
}

/** The FTS subqueries a SELECT joins for its bm25 calls (see {@link withFulltext}). */
export interface FulltextPlan {
  /** ` [LEFT] JOIN (SELECT rowid AS r, -bm25(fts) AS s FROM fts WHERE … MATCH ? LIMIT -1) AS … ON …`, in FROM order. */
  readonly joinSql: string
  readonly joinBinders: readonly Binder[]
  /** The joined subquery's alias (quoted) per call key. */
  readonly scores: ReadonlyMap<string, string>
  /** MATCH calls (FuncCall bodies) whose condition the inner join already is. */
  readonly satisfied: ReadonlySet<object>
  /** Select-list aliases of bm25 calls, so ORDER BY may name them. */
  readonly aliases: ReadonlyMap<string, unknown>
}

function queryArgument(node: unknown, what: string): QueryArgument {
  let value = node
  const cast = nodeBody(value, 'TypeCast')
  if (cast !== undefined) {
    const typeName = nodeBody({ TypeName: cast['typeName'] }, 'TypeName')
    let type: SqlType | undefined
    try {
      type = typeFromNames(names(typeName?.['names']), [])
    } catch {
      type = undefined
    }
    if (type?.name !== 'VARCHAR') throw new StrataError('TYPE_MISMATCH', `the query of ${what}(…) must be text`)
    value = cast['arg']
  }
  const constant = nodeBody(value, 'A_Const')
  if (constant !== undefined) {
    const text = constantValue(constant).value
    if (typeof text !== 'string') throw new StrataError('TYPE_MISMATCH', `the query of ${what}(…) must be text, not ${text === null ? 'NULL' : typeof text}`)
    return { kind: 'value', value: text }
  }
  const parameter = nodeBody(value, 'ParamRef')
  if (parameter !== undefined) {
    const number = parameter['number']
    return { kind: 'param', index: (typeof number === 'number' ? number : 0) - 1 }
  }
  throw new StrataError('NOT_SUPPORTED', `the query of ${what}(…) must be a string constant or a parameter`)
}

function resolveCall(scope: FulltextScope, node: unknown): FulltextCall {
  const call = nodeBody(node, 'FuncCall')!
  const what = callName(node)!
  const args = list(call['args'])
  if (args.length !== 2 || call['agg_star'] === true || call['agg_distinct'] === true || call['over'] !== undefined || call['agg_filter'] !== undefined || list(call['agg_order']).length > 0) {
    throw new StrataError('SYNTAX_ERROR', `${what}() takes a column (or a full-text index name) and a query: ${what}(col, 'query')`)
  }
  const reference = nodeBody(args[0], 'ColumnRef')
  const fields = reference === undefined ? [] : list(reference['fields'])
  if (reference === undefined || fields.some((field) => nodeKind(field) !== 'String') || fields.length > 2) {
    throw new StrataError('SYNTAX_ERROR', `the first argument of ${what}() must name a full-text indexed column or a full-text index`)
  }
  const parts = names(fields)
  if (parts.length === 2 && !scope.qualifiers.includes(parts[0]!)) throw new StrataError('UNDEFINED_TABLE', `missing FROM-clause entry for table "${parts[0]}"`)
  const name = parts[parts.length - 1]!
  const { table } = scope
  const indexes = fulltextIndexesOf(table)
  let index: FulltextIndexDefinition | undefined
  let column: string | undefined
  if (findColumn(table, name) !== undefined) {
    // A single-column index on it answers exactly; otherwise the first index that covers it, filtered to it.
    index = indexes.find((candidate) => candidate.columns.length === 1 && candidate.columns[0] === name) ?? indexes.find((candidate) => candidate.columns.includes(name))
    if (index === undefined) throw new StrataError('NOT_SUPPORTED', `${what}(${name}, …): column "${name}" of table "${table.name}" has no full-text index (CREATE FULLTEXT INDEX … ON ${table.name} (${name}))`)
    column = index.columns.length === 1 ? undefined : name
  } else {
    index = indexes.find((candidate) => candidate.name === name)
    if (index === undefined) throw new StrataError('UNDEFINED_COLUMN', `column "${name}" does not exist in table "${table.name}" (nor is it a full-text index on it)`)
  }
  const query = queryArgument(args[1], what)
  // A constant query is checked once, when the statement is compiled; a parameter when it is bound.
  if (query.kind === 'value') checkFulltextQuery(query.value, index.columns)
  const key = JSON.stringify([index.name, column ?? null, query.kind, query.kind === 'value' ? query.value : query.index])
  return { index, column, query, key }
}

function queryBinder(call: FulltextCall): Binder {
  if (call.query.kind === 'value') return { kind: 'value', value: call.query.value }
  return { kind: 'param', index: call.query.index, type: textType, fulltextColumns: call.index.columns }
}

/** `fts MATCH ?` or, for one column of a several-column index, `fts."col" MATCH ?` (FTS5's column filter). */
function matchTarget(call: FulltextCall): string {
  const fts = quoteIdentifier(fulltextTableName(call.index))
  return call.column === undefined ? `${fts} MATCH ?` : `${fts}.${quoteIdentifier(call.column)} MATCH ?`
}

function rowidOf(scope: FulltextScope): string {
  return `${quoteIdentifier(scope.qualifiers[0] ?? scope.table.name)}.${fulltextRowid(scope.table)}`
}

/** The top-level AND-ed conditions of a WHERE. */
function conjuncts(node: unknown): unknown[] {
  const bool = nodeBody(node, 'BoolExpr')
  if (bool !== undefined && bool['boolop'] === 'AND_EXPR') return list(bool['args']).flatMap(conjuncts)
  return [node]
}

/**
 * Plans the bm25 calls of a SELECT over one table: each distinct (index, column, query) becomes one
 * FTS subquery joined on the rowid, computing every matching row's score once (a correlated
 * subquery per row would re-run the query, and bm25's statistics, for each row). When the same
 * MATCH is a top-level AND-ed condition of the WHERE, the join is an inner join and is that
 * condition; otherwise a LEFT JOIN, and bm25 is NULL for rows that do not match.
 * `LIMIT -1` keeps SQLite from flattening the subquery, so the FTS cursor is never the inner loop.
 * Returns the scope unchanged when the SELECT has no bm25 call.
 */
export function withFulltext<S extends FulltextScope>(scope: S, select: PgNode, temporal: boolean): S {
  const parts = [select['targetList'], select['whereClause'], select['sortClause']]
  if (temporal) {
    rejectFulltextWithTimeTravel(parts, true)
    return scope
  }
  const scoreCalls: unknown[] = []
  walk(parts, (kind, body) => {
    if (kind === 'FuncCall' && isFulltextScoreCall({ FuncCall: body })) scoreCalls.push({ FuncCall: body })
  })
  if (scoreCalls.length === 0) return scope
  const matches = conjuncts(select['whereClause'])
    .filter(isFulltextMatchCall)
    .map((node) => ({ body: nodeBody(node, 'FuncCall')!, call: resolveCall(scope, node) }))
  const aliases = new Map<string, unknown>()
  for (const target of list(select['targetList'])) {
    const body = nodeBody(target, 'ResTarget')
    if (body !== undefined && typeof body['name'] === 'string' && isFulltextScoreCall(body['val'])) aliases.set(body['name'], body['val'])
  }
  const top = topRows(scope, select, aliases)
  let joinSql = ''
  const joinBinders: Binder[] = []
  const scores = new Map<string, string>()
  const satisfied = new Set<object>()
  for (const node of scoreCalls) {
    const call = resolveCall(scope, node)
    if (scores.has(call.key)) continue
    const alias = quoteIdentifier(`_strata_score_${scores.size}`)
    const fts = quoteIdentifier(fulltextTableName(call.index))
    const condition = matches.filter((match) => match.call.key === call.key)
    for (const match of condition) satisfied.add(match.body)
    joinSql +=
      ` ${condition.length > 0 ? 'JOIN' : 'LEFT JOIN'} (SELECT rowid AS "r", -bm25(${fts}) AS "s" FROM ${fts} WHERE ${matchTarget(call)}` +
      `${top?.key === call.key ? top.sql : ' LIMIT -1'}) AS ${alias} ON ${alias}."r" = ${rowidOf(scope)}`
    joinBinders.push(queryBinder(call), ...(top?.key === call.key ? top.binders : []))
    scores.set(call.key, alias)
  }
  return { ...scope, fulltext: { joinSql, joinBinders, scores, satisfied, aliases } }
}

/** A LIMIT or OFFSET the FTS subquery can repeat: an integer constant or a parameter (NULL: no limit, as DuckDB). */
function limitBinder(node: unknown): Binder | undefined {
  const constant = nodeBody(node, 'A_Const')
  if (constant !== undefined) {
    const { value } = constantValue(constant)
    return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? { kind: 'value', value } : undefined
  }
  const parameter = nodeBody(node, 'ParamRef')
  if (parameter === undefined) return undefined
  const number = parameter['number']
  return { kind: 'param', index: (typeof number === 'number' ? number : 0) - 1, type: { name: 'BIGINT' }, rowCount: true }
}

/**
 * The most common search, `WHERE MATCH(c, q) ORDER BY bm25(c, q) DESC LIMIT n`, needs only the n best
 * rows of the FTS query: when the WHERE is nothing but that MATCH and the ORDER BY nothing but that
 * score, the subquery itself keeps the top n (+ OFFSET), so the table is read for those rows only,
 * not for every match. (Which of several equally scored rows make the cut is unspecified either way.)
 */
function topRows(scope: FulltextScope, select: PgNode, aliases: ReadonlyMap<string, unknown>): { key: string; sql: string; binders: Binder[] } | undefined {
  const sorts = list(select['sortClause'])
  const limit = select['limitCount']
  if (sorts.length !== 1 || limit === undefined || select['limitOption'] === 'LIMIT_OPTION_WITH_TIES') return undefined
  const sort = nodeBody(sorts[0], 'SortBy')!
  if (sort['sortby_dir'] !== 'SORTBY_DESC') return undefined
  const reference = names(nodeBody(sort['node'], 'ColumnRef')?.['fields'])
  const node = reference.length === 1 && findColumn(scope.table, reference[0]!) === undefined ? (aliases.get(reference[0]!) ?? sort['node']) : sort['node']
  if (!isFulltextScoreCall(node)) return undefined
  const key = resolveCall(scope, node).key
  const where = select['whereClause']
  if (where === undefined || !conjuncts(where).every((condition) => isFulltextMatchCall(condition) && resolveCall(scope, condition).key === key)) return undefined
  const count = limitBinder(limit)
  const offset = select['limitOffset'] === undefined ? undefined : limitBinder(select['limitOffset'])
  if (count === undefined || (select['limitOffset'] !== undefined && offset === undefined)) return undefined
  return offset === undefined
    ? { key, sql: ' ORDER BY "s" DESC LIMIT coalesce(?, -1)', binders: [count] }
    : { key, sql: ' ORDER BY "s" DESC LIMIT coalesce(? + ?, -1)', binders: [count, offset] }
}

/**
 * `MATCH(col, query)` as a WHERE condition: the rows whose rowid the FTS index returns.
 *
 * @example
 * // WHERE match(body, 'fox') → ("docs".rowid IN (SELECT rowid FROM "_strata_fts_docs_body_" WHERE "_strata_fts_docs_body_" MATCH ?))
 */
export function fulltextCondition(scope: FulltextScope, node: unknown): { sql: string; binders: Binder[] } {
  if (scope.inlineValues === true) throw new StrataError('NOT_SUPPORTED', 'MATCH in a CHECK constraint')
  const call = resolveCall(scope, node)
  if (scope.fulltext?.satisfied.has(nodeBody(node, 'FuncCall')!) === true) {
    // The inner join with this query's FTS subquery already keeps exactly the matching rows.
    return { sql: `(${scope.fulltext.scores.get(call.key)!}."r" IS NOT NULL)`, binders: [] }
  }
  const fts = quoteIdentifier(fulltextTableName(call.index))
  return { sql: `(${rowidOf(scope)} IN (SELECT rowid FROM ${fts} WHERE ${matchTarget(call)}))`, binders: [queryBinder(call)] }
}

/** `bm25(col, query)`: the row's relevance (FTS5's bm25, negated so that higher = more relevant). */
export function fulltextScore(scope: FulltextScope, node: unknown): { sql: string; type: SqlType } {
  const call = resolveCall(scope, node)
  const alias = scope.fulltext?.scores.get(call.key)
  if (alias === undefined) throw new StrataError('NOT_SUPPORTED', `${callName(node)}() is available in a SELECT over one table (its select list, WHERE and ORDER BY)`)
  return { sql: `${alias}."s"`, type: doubleType }
}

/** ORDER BY may name a bm25 call by its select-list alias (when no column has that name). */
export function fulltextSortNode(scope: FulltextScope, node: unknown): unknown {
  const aliases = scope.fulltext?.aliases
  if (aliases === undefined) return node
  const fields = names(nodeBody(node, 'ColumnRef')?.['fields'])
  if (fields.length !== 1 || findColumn(scope.table, fields[0]!) !== undefined) return node
  return aliases.get(fields[0]!) ?? node
}

/** The output name of an unaliased bm25(…) in the select list: the function's name, as PostgreSQL does. */
export function fulltextOutputName(node: unknown): string {
  return callName(node) ?? 'bm25'
}

/**
 * Checks a bound full-text query parameter (constants are checked at compile time).
 *
 * @example checkBoundFulltextQuery('"quick fox', ['body']) // SYNTAX_ERROR … unterminated string starting at position 1 of the query
 */
export function checkBoundFulltextQuery(value: unknown, columns: readonly string[]): void {
  if (typeof value !== 'string') throw new StrataError('TYPE_MISMATCH', `a full-text query must be text, not ${value === null ? 'NULL' : typeof value}`)
  checkFulltextQuery(value, columns)
}
