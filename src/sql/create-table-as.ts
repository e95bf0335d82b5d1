/**
 * `CREATE TABLE [IF NOT EXISTS] name [(columns)] AS <query>` whose query only DuckDB's grammar accepts
 * (`SELECT * FROM 'file.parquet'`, `FROM t SELECT …`): PostgreSQL's parser rejects the whole statement,
 * so its head is recognised from the scanner's tokens and the query is handed on as written. Pure.
 */
import { identifierOf, isWord, scanTokens } from './fulltext.js'
import type { TokenSource } from './parse.js'

export interface CreateTableAs {
  readonly name: string
  readonly ifNotExists: boolean
  /** The column names given after the table name (empty: the query's own). */
  readonly columnNames: readonly string[]
  /** The query's text, as the user wrote it. */
  readonly query: string
}

/**
 * Undefined when the text does not start like `CREATE TABLE … AS`. `tokenSource` is `text`'s tokens
 * when the caller has them (a `ParsedStatement`'s `tokens`).
 *
 * @example
 * recogniseCreateTableAs("CREATE TABLE t AS SELECT * FROM 'f.parquet'")
 * // → { name: 't', ifNotExists: false, columnNames: [], query: "SELECT * FROM 'f.parquet'" }
 */
export function recogniseCreateTableAs(text: string, tokenSource?: TokenSource): CreateTableAs | undefined {
  const tokens = scanTokens(text, tokenSource)
  if (tokens === undefined || !isWord(tokens[0], 'CREATE') || !isWord(tokens[1], 'TABLE')) return undefined
  let at = 2
  let ifNotExists = false
  if (isWord(tokens[at], 'IF') && isWord(tokens[at + 1], 'NOT') && isWord(tokens[at + 2], 'EXISTS')) {
    ifNotExists = true
    at += 3
  }
  let name = identifierOf(tokens[at])
  if (name === undefined) return undefined
  at++
  if (tokens[at]?.text === '.') {
    if (name !== 'main' && name !== 'public') return undefined
    name = identifierOf(tokens[at + 1])
    if (name === undefined) return undefined
    at += 2
  }
  const columnNames: string[] = []
  if (tokens[at]?.text === '(') {
    at++
    for (;;) {
      const column = identifierOf(tokens[at])
      if (column === undefined) return undefined
      columnNames.push(column)
      at++
      if (tokens[at]?.text === ',') {
        at++
        continue
      }
      if (tokens[at]?.text !== ')') return undefined
      at++
      break
    }
  }
  if (!isWord(tokens[at], 'AS') || tokens[at + 1] === undefined) return undefined
  return { name, ifNotExists, columnNames, query: text.slice(tokens[at + 1]!.start) }
}
