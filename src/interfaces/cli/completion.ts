/**
 * The shell's tab completion for SQL, from the text typed so far. The context comes from PostgreSQL's
 * scanner (`scanTokens`), which tokenizes incomplete SQL as readily as complete SQL; only an open
 * quote or block comment makes it fail, and there (inside a string or a comment) nothing is offered.
 * Completion only suggests words: nothing here decides what SQL runs.
 *
 * - Right after FROM, JOIN, INTO, UPDATE, TABLE or DESCRIBE, or after a comma in a FROM list: table
 *   names only (`FROM ord<Tab>` → `orders`, never the keyword ORDER).
 * - After `name.`: the columns of the table (or alias) `name`.
 * - Anywhere else in a statement that names tables (its SELECT list, WHERE, ON, GROUP BY, …, also
 *   before the FROM, when the rest of the line names them): those tables' columns, then keywords.
 * - Elsewhere: keywords and table names.
 */
import { scanTokens } from '../../sql/parse.js'

/** What completion reads from the database. */
export interface CompletionCatalog {
  /** User table names. */
  tables(): Promise<readonly string[]>
  /** A table's column names, in order. */
  columns(table: string): Promise<readonly string[]>
}

export interface CompletionInput {
  /**
   * The statement so far, up to the cursor: the earlier lines of a multi-line statement joined with
   * '\n', then the current line up to the cursor.
   */
  readonly before: string
  /** The rest of the current line, after the cursor (it may name the tables: `SELECT na| FROM t`). */
  readonly after?: string
}

type Token = ReturnType<typeof scanTokens>[number]

/** Keywords after which a table name follows (and DESCRIBE, which PostgreSQL's scanner takes for a name). */
const tableIntroducers: readonly string[] = ['FROM', 'JOIN', 'INTO', 'UPDATE', 'TABLE']
/** Keywords that start a clause; the last one before the cursor says which clause it is in. */
const clauseKeywords: ReadonlySet<string> = new Set([
  'SELECT', 'FROM', 'WHERE', 'GROUP', 'ORDER', 'HAVING', 'LIMIT', 'OFFSET', 'ON', 'USING', 'SET', 'VALUES',
  'RETURNING', 'WINDOW', 'UNION', 'INTERSECT', 'EXCEPT', 'INTO', 'UPDATE', 'TABLE', 'JOIN',
])

/**
 * Candidates for the word before the cursor, as readline's completer returns them: `[candidates, word]`.
 *
 * @example
 * await completeSql({ before: 'SELECT * FROM ord' }, catalog)            // [['orders'], 'ord']
 * await completeSql({ before: 'SELECT * FROM orders WHERE to' }, catalog) // [['total', 'TO'], 'to']
 */
export async function completeSql(input: CompletionInput, catalog: CompletionCatalog): Promise<[string[], string]> {
  const word = lastWord(input.before)
  const contextText = input.before.slice(0, input.before.length - word.length)
  const contextTokens = tokensOf(contextText)
  if (contextTokens === undefined || insideLineComment(contextText, contextTokens)) return [[], word]
  // The current statement: after the last ';' before the cursor, up to the first ';' after it.
  const meaningful = contextTokens.filter((token) => !isComment(token))
  const lastSemicolon = meaningful.findLastIndex((token) => token.text === ';')
  const statementStart = lastSemicolon < 0 ? 0 : (meaningful[lastSemicolon]?.end ?? 0)
  const before = meaningful.slice(lastSemicolon + 1)
  const wholeTokens = tokensOf(`${input.before}${input.after ?? ''}`) ?? contextTokens
  const statement: Token[] = []
  for (const token of wholeTokens) {
    if (token.start < statementStart || isComment(token)) continue
    if (token.text === ';') break
    statement.push(token)
  }

  const tables = await catalog.tables()
  const references = tableReferences(statement).filter((reference) => findTable(tables, reference) !== undefined)
  const matches = (candidate: string): boolean => candidate.toLowerCase().startsWith(word.toLowerCase())
  const previous = before.at(-1)

  if (previous?.text === '.') {
    const qualifier = before.at(-2)
    const name = isName(qualifier) ? identifierName(qualifier) : undefined
    if (name === undefined) return [[], word]
    // An alias the statement declares, else a table it names without one, else any table of that name.
    const reference =
      references.find((candidate) => candidate.alias !== undefined && sameName(name, candidate.alias.name)) ??
      references.find((candidate) => candidate.alias === undefined && sameName(name, candidate.name))
    const table = findTable(tables, reference ?? name)
    return [table === undefined ? [] : (await columnsOf(catalog, [table])).filter(matches), word]
  }
  if (tableExpected(before)) return [tables.filter(matches), word]
  const keywords = word === '' ? [] : keywordCandidates(word)
  if (references.length > 0) {
    const columns = await columnsOf(catalog, references.map((reference) => findTable(tables, reference)).filter((table) => table !== undefined))
    return [unique([...columns.filter(matches), ...keywords]), word]
  }
  if (word === '') return [[], word]
  return [unique([...tables.filter(matches), ...keywords]), word]
}

/** The scanner's tokens; undefined when the text ends inside a quote or block comment (the scanner fails there). */
function tokensOf(text: string): Token[] | undefined {
  if (text.trim() === '') return []
  try {
    return scanTokens(text)
  } catch {
    return undefined
  }
}

function isComment(token: Token): boolean {
  return token.tokenName === 'SQL_COMMENT' || token.tokenName === 'C_COMMENT'
}

/** A `--` comment runs to the end of its line: the cursor is inside it when no line break follows it. */
function insideLineComment(text: string, tokens: readonly Token[]): boolean {
  const last = tokens.at(-1)
  return last?.tokenName === 'SQL_COMMENT' && !text.slice(last.end).includes('\n')
}

function isKeyword(token: Token | undefined, ...words: string[]): boolean {
  return token !== undefined && token.keywordName !== 'NO_KEYWORD' && words.includes(token.text.toUpperCase())
}

/** A token that can name a table or column: an identifier, or a keyword PostgreSQL allows as one. */
function isName(token: Token | undefined): token is Token {
  return token !== undefined && (token.tokenName === 'IDENT' || token.keywordName === 'UNRESERVED_KEYWORD' || token.keywordName === 'COL_NAME_KEYWORD')
}

interface NameInSql {
  readonly name: string
  /** Written in double quotes, so its case is exact; otherwise it folds to lower case. */
  readonly quoted: boolean
}

interface TableReference extends NameInSql {
  readonly alias: NameInSql | undefined
}

function identifierName(token: Token): NameInSql {
  const text = token.text
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) return { name: text.slice(1, -1).replaceAll('""', '"'), quoted: true }
  return { name: text, quoted: false }
}

function sameName(written: NameInSql, name: NameInSql | string): boolean {
  const other = typeof name === 'string' ? name : name.name
  return written.quoted ? written.name === other : written.name.toLowerCase() === other.toLowerCase()
}

function findTable(tables: readonly string[], reference: NameInSql): string | undefined {
  return tables.find((table) => sameName(reference, table))
}

/** A token after which a table name follows; `index` is its place in the statement. */
function introducesTable(token: Token, index: number): boolean {
  return isKeyword(token, ...tableIntroducers) || (index === 0 && token.text.toUpperCase() === 'DESCRIBE')
}

/** Whether a table name goes where the cursor is, from the tokens of the statement before it. */
function tableExpected(before: readonly Token[]): boolean {
  const previous = before.at(-1)
  if (previous === undefined) return false
  if (introducesTable(previous, before.length - 1)) return true
  return previous.text === ',' && clauseAt(before) === 'FROM'
}

/** The clause the end of `tokens` is in: the last clause keyword at the same parenthesis depth. */
function clauseAt(tokens: readonly Token[]): string | undefined {
  let depth = 0
  for (let index = tokens.length - 1; index >= 0; index -= 1) {
    const token = tokens[index]
    if (token === undefined) continue
    if (token.text === ')') depth += 1
    else if (token.text === '(') {
      if (depth === 0) return undefined
      depth -= 1
    } else if (depth === 0 && token.keywordName !== 'NO_KEYWORD' && clauseKeywords.has(token.text.toUpperCase())) {
      return token.text.toUpperCase()
    }
  }
  return undefined
}

/**
 * The tables a statement names (in subqueries too): the (schema-qualified) name after FROM, JOIN,
 * INTO, UPDATE, TABLE or DESCRIBE or a FROM list's comma, with the alias after it (`AS a` or `a`).
 */
function tableReferences(tokens: readonly Token[]): TableReference[] {
  const references: TableReference[] = []
  // Whether a ',' continues a FROM list, per parenthesis depth.
  const inFromList: boolean[] = [false]
  for (let index = 0; index < tokens.length; index += 1) {
    const token = tokens[index]
    if (token === undefined) continue
    if (token.text === '(') {
      inFromList.push(false)
      continue
    }
    if (token.text === ')') {
      if (inFromList.length > 1) inFromList.pop()
      continue
    }
    const depth = inFromList.length - 1
    const nameFollows = introducesTable(token, index) || (token.text === ',' && inFromList[depth] === true)
    if (isKeyword(token, 'FROM', 'JOIN')) inFromList[depth] = true
    else if (token.keywordName !== 'NO_KEYWORD' && clauseKeywords.has(token.text.toUpperCase())) inFromList[depth] = false
    if (!nameFollows) continue
    // name ('.' name)*: the last part is the table.
    let next = index + 1
    let nameToken = tokens[next]
    if (!isName(nameToken)) continue
    while (tokens[next + 1]?.text === '.' && isName(tokens[next + 2])) {
      next += 2
      nameToken = tokens[next]
    }
    if (nameToken === undefined) continue
    let alias: NameInSql | undefined
    const afterName = tokens[next + 1]
    const afterAs = tokens[next + 2]
    if (isKeyword(afterName, 'AS') && isName(afterAs)) {
      alias = identifierName(afterAs)
      next += 2
    } else if (afterName?.tokenName === 'IDENT') {
      alias = identifierName(afterName)
      next += 1
    }
    references.push({ ...identifierName(nameToken), alias })
    index = next
  }
  return references
}

/** The columns of `tables`, each name once; a table that cannot be described adds none. */
async function columnsOf(catalog: CompletionCatalog, tables: readonly string[]): Promise<string[]> {
  const columns: string[] = []
  for (const table of unique(tables)) {
    try {
      columns.push(...(await catalog.columns(table)))
    } catch {
      // A table dropped since the list was read: completion goes on without it.
    }
  }
  return unique(columns)
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)]
}

/** Keywords starting with `word`, in the case the user is typing in, so a lowercase query stays lowercase. */
function keywordCandidates(word: string): string[] {
  const wordLower = word.toLowerCase()
  const typesLowercase = word === wordLower
  return sqlKeywords.filter((keyword) => keyword.toLowerCase().startsWith(wordLower)).map((keyword) => (typesLowercase ? keyword.toLowerCase() : keyword))
}

/** The identifier-like characters at the end of the text: the word the cursor is completing. */
export function lastWord(text: string): string {
  let start = text.length
  while (start > 0 && isWordCharacter(text.charAt(start - 1))) start -= 1
  return text.slice(start)
}

function isWordCharacter(character: string): boolean {
  return (
    (character >= 'a' && character <= 'z') ||
    (character >= 'A' && character <= 'Z') ||
    (character >= '0' && character <= '9') ||
    character === '_' ||
    character === '$' ||
    // PostgreSQL identifiers may contain any non-ASCII letter.
    character > '\u007f'
  )
}

/** The keywords tab offers: the statements and clauses of SPEC section 5 and its types. */
const sqlKeywords: readonly string[] = [
  'ADD', 'ALL', 'ALTER', 'AND', 'AS', 'ASC', 'AVG', 'BEGIN', 'BETWEEN', 'BIGINT', 'BLOB', 'BOOLEAN', 'BY',
  'CASE', 'CAST', 'CHECK', 'COLUMN', 'COMMIT', 'CONFLICT', 'COUNT', 'CREATE', 'CROSS', 'DATE', 'DECIMAL',
  'DEFAULT', 'DELETE', 'DESC', 'DESCRIBE', 'DISTINCT', 'DO', 'DOUBLE', 'DROP', 'ELSE', 'END', 'EXCEPT',
  'EXISTS', 'EXPLAIN', 'FALSE', 'FIRST', 'FROM', 'FULL', 'GROUP', 'GROUPING', 'HAVING', 'IF', 'ILIKE', 'IN',
  'INDEX', 'INNER', 'INSERT', 'INTEGER', 'INTERSECT', 'INTO', 'IS', 'JOIN', 'JSON', 'KEY', 'LAST', 'LEFT',
  'LIKE', 'LIMIT', 'MAX', 'MIN', 'NOT', 'NOTHING', 'NULL', 'NULLS', 'OFFSET', 'ON', 'OR', 'ORDER', 'OUTER',
  'OVER', 'PARTITION', 'PRIMARY', 'REAL', 'RECURSIVE', 'RENAME', 'RETURNING', 'RIGHT', 'ROLLBACK', 'SELECT',
  'SET', 'SETS', 'SHOW', 'SMALLINT', 'SUBSCRIBE', 'SUM', 'TABLE', 'TABLES', 'TEXT', 'THEN', 'TIMESTAMP', 'TIMESTAMPTZ',
  'TO', 'TRUE', 'UNION', 'UNIQUE', 'UPDATE', 'USING', 'VALUES', 'VARCHAR', 'VIEW', 'WHEN', 'WHERE', 'WINDOW',
  'WITH',
]
