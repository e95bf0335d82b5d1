/**
 * `GET /changes`: a change feed (src/feed/feed.ts) as server-sent events, the format a browser's
 * EventSource reads and reconnects by itself.
 *
 *   retry: 1000
 *   event: start
 *   id: 41                      ← every change of transactions up to 41 is before this stream
 *   data: {"fromTx":42}
 *
 *   data: {"op":"update","table":"per_sym","txId":42,"systemTime":"…","key":{…},"before":{…},"after":{…}}
 *
 *   id: 42                      ← only on the last change of transaction 42
 *   data: {"op":"insert","table":"per_sym","txId":42,…}
 *
 *   : keep-alive
 *
 * Why an event's `id:` is its transaction's and only on the transaction's last change: an EventSource
 * reconnects with the last id it saw in `Last-Event-ID`, and the server resumes at the transaction after
 * it. Had every change carried its transaction id, a connection lost in the middle of a transaction
 * would resume either after it (losing the rest of it) or at it (repeating what had arrived). As it is, a
 * reconnect repeats at most the changes of one transaction whose last change never arrived, and loses
 * nothing. The `start` event's id covers a client that reconnects before any change arrived.
 *
 * Knowing that a change is its transaction's last needs the next one: the feed is asked for it and
 * given one turn of the event loop. A feed that has more to read answers within it (from its buffer, or
 * from a page it reads synchronously); one that waits for the next commit has read every committed
 * change, so the held change was the last of a transaction that committed whole.
 *
 * Bounded: the feed is pull-based, and the next change is asked for only once the socket took the last
 * one, so a slow client holds its feed's position and at most one page (`limits.feedPageRows`), never a
 * queue. A client that goes away closes its feed at once (the response's 'close').
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Engine } from '../../../engine/engine.js'
import type { Change } from '../../api/types.js'
import { limits } from '../../../util/limits.js'
import { encodeValue } from './encode.js'
import { HttpError, toHttpError } from './errors.js'
import { ClientGone, writeChunk } from './respond.js'

/** What a GET /changes asks for, checked. */
export interface ChangesRequest {
  /** Undefined: every table, including those created later. */
  readonly tables: readonly string[] | undefined
  /** Undefined: from the next commit. */
  readonly fromTx: number | undefined
}

/**
 * Reads `?tables=a,b`, `?fromTx=n` and the `Last-Event-ID` header of a reconnecting EventSource, which
 * wins over `fromTx` (it reconnects to the URL it was given, and the header says how far it got).
 *
 * @example
 * changesRequest(request, new URL('http://x/changes?tables=orders&fromTx=7')) // { tables: ['orders'], fromTx: 7 }
 */
export function changesRequest(request: IncomingMessage, url: URL): ChangesRequest {
  const tablesText = url.searchParams.get('tables')
  let tables: string[] | undefined
  if (tablesText !== null) {
    tables = tablesText.split(',').map((name) => name.trim())
    if (tables.some((name) => name === '')) throw new HttpError(400, 'BAD_REQUEST', '"tables" must be table names separated by commas, none empty (omit it for every table)')
  }
  let fromTx = transactionId(url.searchParams.get('fromTx'), '"fromTx"', 1)
  const lastEventId = request.headers['last-event-id']
  if (typeof lastEventId === 'string' && lastEventId.trim() !== '') fromTx = transactionId(lastEventId.trim(), 'the Last-Event-ID header', 0)! + 1
  return { tables, fromTx }
}

function transactionId(text: string | null, what: string, minimum: number): number | undefined {
  if (text === null) return undefined
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN
  if (!Number.isSafeInteger(value) || value < minimum) throw new HttpError(400, 'BAD_REQUEST', `${what} must be a transaction id (an integer from ${minimum}), not "${text.slice(0, 40)}"`)
  return value
}

/**
 * Answers a GET /changes: subscribes (an unknown table fails here, before any byte is sent, as a JSON
 * error), then sends events until the client goes away, `signal` aborts (shutdown), or the database
 * closes. Resolves when the feed is closed.
 */
export async function streamChanges(
  engine: Engine,
  response: ServerResponse,
  changes: ChangesRequest,
  options: { readonly keepAliveMs: number; readonly signal: AbortSignal },
): Promise<void> {
  const feed = engine.subscribe({ tables: changes.tables, fromTx: changes.fromTx })
  const stop = (): void => feed.close()
  options.signal.addEventListener('abort', stop, { once: true })
  response.once('close', stop)
  let keepAlive: NodeJS.Timeout | undefined
  try {
    if (options.signal.aborted || response.destroyed) return
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      // A reverse proxy (nginx) would otherwise buffer the stream and deliver events late, in bursts.
      'x-accel-buffering': 'no',
      'x-content-type-options': 'nosniff',
    })
    await writeChunk(response, `retry: ${limits.httpChangesRetryMs}\nevent: start\nid: ${feed.startTx - 1}\ndata: ${JSON.stringify({ fromTx: feed.startTx })}\n\n`)
    keepAlive = setInterval(() => {
      // Skipped while the socket is full: the client is behind, not idle.
      if (!response.destroyed && !response.writableNeedDrain) response.write(': keep-alive\n\n')
    }, options.keepAliveMs)
    let current = await feed.next()
    while (current.done !== true) {
      const following = feed.next()
      // Never left rejected and unawaited: a client gone while this change is written leaves it behind.
      following.catch(() => undefined)
      const peeked = await Promise.race([following, nextTurn()])
      const lastOfTransaction = peeked === undefined || peeked.done === true || peeked.value.txId !== current.value.txId
      await writeChunk(response, changeEvent(current.value, lastOfTransaction))
      current = peeked ?? (await following)
    }
  } catch (error) {
    if (error instanceof ClientGone) return
    if (!response.headersSent) throw error
    // The stream has begun: the error is its last event, and the client may reconnect.
    const { code, message } = toHttpError(error)
    if (!response.destroyed) response.write(`event: error\ndata: ${JSON.stringify({ code, message })}\n\n`)
  } finally {
    clearInterval(keepAlive)
    options.signal.removeEventListener('abort', stop)
    response.off('close', stop)
    feed.close()
    if (!response.destroyed && response.headersSent) response.end()
  }
}

/** One change as an event; `id:` (its transaction) only on the last change of its transaction. */
function changeEvent(change: Change, lastOfTransaction: boolean): string {
  const data = JSON.stringify(
    encodeValue({ op: change.op, table: change.table, txId: change.txId, systemTime: change.systemTime, key: change.key, before: change.before, after: change.after }),
  )
  return `${lastOfTransaction ? `id: ${change.txId}\n` : ''}data: ${data}\n\n`
}

/** Resolves (with undefined) after the pending I/O callbacks and microtasks of this turn. */
function nextTurn(): Promise<undefined> {
  return new Promise((resolve) => setImmediate(() => resolve(undefined)))
}
