/**
 * How messages name what a statement is or does: the keywords it starts with, a parse-tree enum as
 * SQL words, and the analytical constructs that send a query to the column store (EXPLAIN prints
 * them). Pure.
 */
import { aggregateFunctionNames } from './rowsql.js'
import { tokensOf, type PgNode, type TokenSource } from './parse.js'
import { list, names, nodeKind, walk } from './tree.js'

/**
 * The keywords a statement starts with (`CREATE FUNCTION`, `TRUNCATE`), for messages that name it
 * as its author wrote it rather than by its parse-tree node. `tokens`: the text's own (a statement's), when known.
 *
 * @example leadingKeywords('create function f() …') // 'CREATE FUNCTION'
 */
export function leadingKeywords(text: string, tokens?: TokenSource): string {
  const words: string[] = []
  try {
    for (const token of tokensOf(text, tokens)) {
      if (token.tokenName === 'SQL_COMMENT' || token.tokenName === 'C_COMMENT') continue
      if (token.keywordName === 'NO_KEYWORD' || words.length === 4) break
      words.push(token.text.toUpperCase())
    }
  } catch {
    // Not scannable: the generic name below.
  }
  return words.length === 0 ? 'this statement' : words.join(' ')
}

/**
 * A parse-tree enum's name as the SQL words it stands for.
 *
 * @example sqlWords('AddConstraint') // 'ADD CONSTRAINT'
 */
export function sqlWords(name: string): string {
  let out = ''
  for (const character of name) out += character >= 'A' && character <= 'Z' && out !== '' ? ` ${character}` : character
  return out.toUpperCase()
}

/**
 * Names the analytical construct that sent a query to the column store (EXPLAIN prints it).
 *
 * @example analyticalReason(selectBodyOf('SELECT count(*) FROM t GROUP BY k'), 'GROUP BY') // 'analytical: GROUP BY, an aggregate'
 */
export function analyticalReason(select: PgNode, construct: string): string {
  const reasons: string[] = []
  if (list(select['groupClause']).length > 0) reasons.push('GROUP BY')
  if (select['havingClause'] !== undefined) reasons.push('HAVING')
  if (select['withClause'] !== undefined) reasons.push('a CTE')
  if (select['op'] !== undefined && select['op'] !== 'SETOP_NONE') reasons.push('a set operation')
  let aggregate = false
  let window = false
  let subquery = false
  walk(select, (kind, body) => {
    if (kind === 'FuncCall') {
      if (body['over'] !== undefined) window = true
      else if (aggregateFunctionNames.has(names(body['funcname']).join('.').toLowerCase())) aggregate = true
    }
    if (kind === 'SubLink' || kind === 'RangeSubselect') subquery = true
  })
  if (aggregate) reasons.push('an aggregate')
  if (window) reasons.push('a window function')
  if (subquery) reasons.push('a subquery')
  if (list(select['fromClause']).length > 1 || list(select['fromClause']).some((item) => nodeKind(item) === 'JoinExpr')) reasons.push('a join')
  if (reasons.length === 0) return `not expressible in the row store (${construct})`
  return `analytical: ${reasons.join(', ')}`
}
