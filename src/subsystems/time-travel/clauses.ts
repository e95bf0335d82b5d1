/**
 * Time clauses between the front end and the statements: `extractTemporal` (src/sql/temporal.ts) cuts
 * them out of a text before PostgreSQL parses it; here each clause is handed to the statement it lies
 * in, with locations moved into that statement's tree.
 */
import type { ParsedStatement } from '../../sql/parse.js'
import type { Extraction, StatementTemporal, TemporalSpec } from '../../sql/temporal.js'
import { StrataError } from '../../util/errors.js'
import type { Statement } from '../seam.js'

export type { StatementTemporal } from '../../sql/temporal.js'

/** The time clauses of a statement, if it has any. */
export function temporalClauses(statement: Statement): StatementTemporal | undefined {
  return statement.clauses as StatementTemporal | undefined
}

/**
 * Hands each statement the temporal clauses that lie inside it (locations of the cleaned text).
 *
 * @example
 * const extraction = extractTemporal('SELECT * FROM t FOR SYSTEM_TIME AS OF 3')!
 * attachTemporal(parseStatements(extraction.text), extraction)[0]!.clauses // { tableClauses: Map { 14 → … }, … }
 */
export function attachTemporal(statements: ParsedStatement[], extraction: Extraction): Statement[] {
  const starts = statements.map((statement) => {
    const rest = extraction.text.slice(statement.offset)
    return statement.offset + (rest.length - rest.trimStart().length)
  })
  // A clause belongs to the last statement starting at or before it (a cut may sit after the trimmed text).
  const owner = (location: number): number => {
    let found = -1
    for (let index = 0; index < starts.length; index++) if (starts[index]! <= location) found = index
    return found
  }
  return statements.map((statement, index) => {
    const start = starts[index]!
    const inside = (location: number): boolean => owner(location) === index
    const toTree = (location: number): number => location - start + statement.locationBase
    const tableClauses = new Map<number, TemporalSpec>()
    for (const [location, spec] of extraction.tableClauses) if (inside(location)) tableClauses.set(toTree(location), spec)
    const shorthands = extraction.shorthands.filter((item) => inside(item.location))
    const portions = extraction.portions.filter((item) => inside(item.location))
    const erase = extraction.erasures.some(inside)
    const replace = extraction.replacements.some(inside)
    if (tableClauses.size === 0 && shorthands.length === 0 && portions.length === 0 && !erase && !replace) return statement
    if (shorthands.length > 1) throw new StrataError('SYNTAX_ERROR', 'AS OF is given twice in one statement', { statement: statement.text })
    if (portions.length > 1) throw new StrataError('SYNTAX_ERROR', 'FOR PORTION OF is given twice in one statement', { statement: statement.text })
    const portion = portions[0]
    // A clause cut at the very end lies past the trimmed text: the written text reaches past it.
    const end = Math.max(start + statement.text.length, ...extraction.cutEnds.filter(inside))
    const clauses: StatementTemporal = { tableClauses, shorthand: shorthands[0]?.spec, portion: portion === undefined ? undefined : { from: portion.from, to: portion.to }, erase, replace }
    return { ...statement, written: extraction.originalText(start, end).trim(), clauses }
  })
}
