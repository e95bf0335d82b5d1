/**
 * The shell's history: one entry per statement, however many lines it was typed on, kept in
 * $STRATA_HISTORY (else ~/.strata_history) between sessions.
 *
 * readline's history is line-based (Up recalls one line, and readline adds each line as it is
 * entered), so a statement typed on several lines is stored as one line: the line breaks between its
 * tokens become spaces, with PostgreSQL's scanner saying where the tokens are. A `--` comment would
 * swallow what follows it on one line, so it becomes a block comment; a line break inside a string
 * literal or quoted identifier is part of the value and stays (the file stores it escaped).
 */
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { scanTokens } from '../../sql/parse.js'

/** Entries the history keeps; older ones are dropped (readline's own default is only 30). */
export const historyEntriesMax = 1000

/**
 * In the file, a line break inside an entry (one inside a string literal) is written as this
 * character, so that the file stays one entry per line (psql's history file does the same).
 */
const lineBreakInEntry = '\u0001'

/**
 * A statement typed on several lines as one history line.
 *
 * @example
 * historyEntry('SELECT id -- the key\nFROM t\nWHERE id = 1;') // 'SELECT id /* the key *\/ FROM t WHERE id = 1;'
 */
export function historyEntry(statementText: string): string {
  let tokens: ReturnType<typeof scanTokens>
  try {
    tokens = statementText.trim() === '' ? [] : scanTokens(statementText)
  } catch {
    // An open quote or comment (a statement abandoned half-typed): no tokens to go by. The text
    // never ran as typed, so its line breaks simply become spaces.
    return statementText.split('\n').map((line) => line.trim()).filter((line) => line !== '').join(' ')
  }
  let entry = ''
  let previousEnd: number | undefined
  for (const token of tokens) {
    if (previousEnd !== undefined) {
      const gap = statementText.slice(previousEnd, token.start)
      entry += gap.includes('\n') || gap.includes('\r') ? ' ' : gap
    }
    let text = statementText.slice(token.start, token.end)
    if (token.tokenName === 'SQL_COMMENT') {
      // '-- note' → '/* note */'; a '*/' or '/*' in the note must not end or nest the block comment.
      text = `/*${text.slice(2).replaceAll('*/', '* /').replaceAll('/*', '/ *')} */`
    } else if (token.tokenName === 'C_COMMENT') {
      text = text.replaceAll('\r\n', ' ').replaceAll('\n', ' ').replaceAll('\r', ' ')
    }
    entry += text
    previousEnd = token.end
  }
  return entry
}

/** $STRATA_HISTORY, else ~/.strata_history. */
export function historyFilePath(): string {
  const configured = process.env['STRATA_HISTORY']
  return configured !== undefined && configured !== '' ? configured : path.join(os.homedir(), '.strata_history')
}

/** The history file holds the oldest entry first; readline wants the newest first. */
export function loadHistory(): string[] {
  try {
    const lines = fs.readFileSync(historyFilePath(), 'utf8').split('\n').filter((line) => line !== '')
    return lines.reverse().slice(0, historyEntriesMax).map((line) => line.replaceAll(lineBreakInEntry, '\n'))
  } catch {
    // No history yet (first run) or an unreadable file: start with none rather than refuse to start.
    return []
  }
}

export function saveHistory(newestFirst: readonly string[]): void {
  try {
    const oldestFirst = [...newestFirst].reverse().map((entry) => entry.replaceAll('\n', lineBreakInEntry))
    fs.writeFileSync(historyFilePath(), oldestFirst.length === 0 ? '' : `${oldestFirst.join('\n')}\n`, { mode: 0o600 })
  } catch {
    // Losing the history (read-only home, full disk) must not turn a clean exit into a failure.
  }
}
