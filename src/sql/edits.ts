/**
 * Text edits at parse-tree locations. Rewrites that must reach DuckDB as SQL text (time travel,
 * time-series functions) are computed from the tree and applied here, so no SQL is matched by pattern.
 */
import type { ParsedStatement } from './parse.js'

export interface TextEdit {
  /** A tree node's `location` (coordinates of the text the statement was parsed from). */
  readonly location: number
  /** How many characters of the statement the edit replaces (0 inserts). */
  readonly length: number
  readonly text: string
}

/**
 * Applies non-overlapping edits to a statement's text.
 *
 * @example
 * applyEdits(statement, [{ location: node.location, length: 5, text: 'arg_min' }])
 */
export function applyEdits(statement: Pick<ParsedStatement, 'text' | 'locationBase'>, edits: readonly TextEdit[]): string {
  if (edits.length === 0) return statement.text
  const sorted = [...edits].sort((left, right) => left.location - right.location)
  let out = ''
  let copied = 0
  for (const edit of sorted) {
    const start = edit.location - statement.locationBase
    if (start < copied || start + edit.length > statement.text.length) throw new RangeError(`overlapping or out-of-range text edit at ${edit.location}`)
    out += statement.text.slice(copied, start) + edit.text
    copied = start + edit.length
  }
  return out + statement.text.slice(copied)
}
