/**
 * The shell's `SUBSCRIBE [t, …] [FROM TX n]`: follows a change feed (SPEC 7) and prints each change
 * as one JSON line as it commits, until Ctrl-C. It is a shell command, not SQL: the shell recognises
 * it by PostgreSQL's scanner tokens and never sends it to the engine.
 */
import { scanTokens } from '../../sql/parse.js'
import type { Change, SubscribeOptions } from '../api/types.js'
import { toJsonValue } from './format.js'

export type SubscribeCommand =
  | { readonly kind: 'subscribe'; readonly tables: readonly string[]; readonly fromTx: number | undefined }
  | { readonly kind: 'invalid'; readonly message: string }

export const subscribeUsage = 'SUBSCRIBE [table, …] [FROM TX n]'

interface Token {
  readonly text: string
  readonly tokenName: string
}

/**
 * Whether `line` is a SUBSCRIBE command, and what it asks for. Unquoted names fold to lower case and
 * quoted ones keep their case, as in SQL. Returns undefined for any other line.
 *
 * @example
 * parseSubscribeCommand('SUBSCRIBE orders FROM TX 5;')  // { kind: 'subscribe', tables: ['orders'], fromTx: 5 }
 * parseSubscribeCommand('SELECT 1;')                     // undefined
 */
export function parseSubscribeCommand(line: string): SubscribeCommand | undefined {
  if (line.trim() === '') return undefined
  let tokens: Token[]
  try {
    tokens = scanTokens(line).filter((token: Token) => token.tokenName !== 'SQL_COMMENT' && token.tokenName !== 'C_COMMENT')
  } catch {
    // An unterminated quote: not a command this recognises (the SQL path reports it).
    return undefined
  }
  const first = tokens[0]
  if (first === undefined || first.tokenName !== 'IDENT' || first.text.toLowerCase() !== 'subscribe') return undefined
  const invalid = (message: string): SubscribeCommand => ({ kind: 'invalid', message: `${message} (usage: ${subscribeUsage})` })
  let rest = tokens.slice(1)
  if (rest.at(-1)?.text === ';') rest = rest.slice(0, -1)
  const tables: string[] = []
  let index = 0
  while (index < rest.length && rest[index]!.text.toLowerCase() !== 'from') {
    const token = rest[index]!
    if (token.tokenName !== 'IDENT') return invalid(`expected a table name, not "${token.text}"`)
    tables.push(identifierName(token.text))
    index++
    if (index < rest.length && rest[index]!.text === ',') {
      index++
      if (index >= rest.length || rest[index]!.tokenName !== 'IDENT') return invalid('expected a table name after ","')
    }
  }
  let fromTx: number | undefined
  if (index < rest.length) {
    const [, tx, number, ...extra] = rest.slice(index)
    if (tx === undefined || tx.text.toLowerCase() !== 'tx' || number === undefined || number.tokenName !== 'ICONST' || extra.length > 0) {
      return invalid('expected FROM TX followed by a transaction id')
    }
    fromTx = Number(number.text)
  }
  return { kind: 'subscribe', tables, fromTx }
}

/** An identifier token's name: "Quoted" keeps its case (with "" unescaped), bare names fold to lower case. */
function identifierName(text: string): string {
  if (text.startsWith('"') && text.endsWith('"') && text.length >= 2) return text.slice(1, -1).replaceAll('""', '"')
  return text.toLowerCase()
}

/**
 * Prints every change of the feed as one JSON line (timestamps as ISO 8601 with microseconds, like
 * `--format json`) until `signal` fires; then closes the feed and returns.
 *
 * @example
 * await followChanges(db, { kind: 'subscribe', tables: ['orders'], fromTx: undefined }, (text) => process.stdout.write(text), signal)
 */
export async function followChanges(
  database: { subscribe(options: SubscribeOptions): AsyncIterable<Change> & { close(): void } },
  command: Extract<SubscribeCommand, { kind: 'subscribe' }>,
  write: (text: string) => void,
  signal: AbortSignal,
): Promise<void> {
  const options: SubscribeOptions = {
    ...(command.tables.length > 0 ? { tables: command.tables } : {}),
    ...(command.fromTx !== undefined ? { fromTx: command.fromTx } : {}),
  }
  const feed = database.subscribe(options)
  const stop = (): void => feed.close()
  if (signal.aborted) stop()
  signal.addEventListener('abort', stop, { once: true })
  try {
    for await (const change of feed) write(`${JSON.stringify(toJsonValue(change))}\n`)
  } finally {
    signal.removeEventListener('abort', stop)
    feed.close()
  }
}
