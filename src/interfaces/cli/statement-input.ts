/**
 * Decides when the text typed into the shell so far is a whole statement. PostgreSQL's own scanner
 * (libpg_query, through @pgsql/parser) tokenizes the text, so a ';' inside a string, a quoted
 * identifier, a dollar-quoted body or a comment never ends a statement.
 */
import { loadParser, scanTokens } from '../../sql/parse.js'

let scannerLoaded: Promise<void> | undefined

/**
 * Loads the scanner's WebAssembly module; call (and await) once before `classifyInput`.
 *
 * @example
 * await loadStatementScanner()
 * classifyInput('SELECT 1;')  // 'complete'
 */
export function loadStatementScanner(): Promise<void> {
  scannerLoaded ??= loadParser()
  return scannerLoaded
}

/**
 * - `empty`: nothing but whitespace and comments; there is nothing to run.
 * - `incomplete`: more input is needed (no closing ';' yet, or an open quote or comment).
 * - `complete`: the text ends with a ';' outside quotes and comments; it may hold several statements.
 */
export type InputState = 'empty' | 'incomplete' | 'complete'

/**
 * Classifies the shell's input buffer. The scanner only tokenizes; whether the SQL is valid is for the
 * engine to say when the statement runs.
 *
 * @example
 * classifyInput("SELECT 'a;")     // 'incomplete' (the quote is still open)
 * classifyInput("SELECT 'a;';")   // 'complete'
 * classifyInput('-- just a note') // 'empty'
 */
export function classifyInput(text: string): InputState {
  // The scanner rejects an empty string, so whitespace is settled before it is asked.
  if (text.trim() === '') return 'empty'
  let tokens
  try {
    tokens = scanTokens(text)
  } catch {
    // The scanner fails on an unterminated string, identifier or block comment: the user is still typing.
    return 'incomplete'
  }
  const meaningfulTokens = tokens.filter((token) => !commentTokenNames.has(token.tokenName))
  const lastToken = meaningfulTokens.at(-1)
  if (lastToken === undefined) return 'empty'
  return lastToken.text === ';' ? 'complete' : 'incomplete'
}

const commentTokenNames: ReadonlySet<string> = new Set(['SQL_COMMENT', 'C_COMMENT'])
