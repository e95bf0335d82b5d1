/**
 * The CLI's end of a server's local socket (./server.ts): `connectLocalServer(dir)` finds the socket a
 * server holding `dir` advertises and returns a client with the part of the library's `Database` the
 * CLI uses (`exec`, `query`, `tables`, `importFile`, `exportTable`, `subscribe`, `close`), whose results
 * are the library's own values, sent losslessly (./protocol.ts). One client is one server session.
 */
import { connect, type Socket } from 'node:net'
import { Engine } from '../../../engine/engine.js'
import { StrataError } from '../../../util/errors.js'
import { limits } from '../../../util/limits.js'
import type { Change, EngineName, ExportOptions, ImportOptions, Params, QueryOptions, QueryResult, ResultColumn, SubscribeOptions, WriteSummary } from '../../api/types.js'
import { decodeValue, encodeValue, errorFromWire, LineReader, localProtocolVersion, type Frame, type Request } from './protocol.js'

/** Omit over each member of a union. */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

/** A request without its id (the client numbers them). */
type Outgoing = DistributiveOmit<Request, 'id'>

interface Pending {
  readonly id: number
  readonly onFrame: (frame: Frame) => void
  readonly resolve: () => void
  readonly reject: (error: unknown) => void
}

/**
 * A client of the server holding `directory`, or undefined when no live server advertises a socket
 * there (none runs, or it is gone: then the caller opens the directory itself).
 *
 * @example
 * const database = (await connectLocalServer('/srv/strata-data')) ?? (await open('/srv/strata-data'))
 * await database.exec('SELECT 1')
 */
export async function connectLocalServer(directory: string): Promise<LocalClient | undefined> {
  const holder = Engine.directoryHolder(directory)
  if (holder?.socket === undefined) return undefined
  let socket: Socket
  try {
    socket = await new Promise<Socket>((resolve, reject) => {
      const attempt = connect(holder.socket!)
      attempt.once('connect', () => {
        attempt.off('error', reject)
        resolve(attempt)
      })
      attempt.once('error', reject)
    })
  } catch (error) {
    // Nobody listens there any more (the server stopped or died): the directory is the caller's to open.
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'ENOTSOCK') return undefined
    throw new StrataError('IO_ERROR', `cannot connect to the Strata server (pid ${holder.pid}) holding ${directory} at ${holder.socket}: ${(error as Error).message}`, { cause: error })
  }
  const client = new LocalClient(socket, directory)
  try {
    await client.greeting
  } catch (error) {
    socket.destroy()
    throw error
  }
  return client
}

export class LocalClient {
  /** Resolves once the server has said hello (with a protocol this client speaks). */
  readonly greeting: Promise<void>
  /** The server's process id (from its greeting). */
  serverPid = 0
  private readonly reader = new LineReader(limits.localFrameBytesMax)
  private nextId = 1
  private current: Pending | undefined
  private tail: Promise<unknown> = Promise.resolve()
  private failure: StrataError | undefined
  private readonly closed: Promise<void>

  constructor(
    private readonly socket: Socket,
    readonly directory: string,
  ) {
    let greeted: () => void = () => undefined
    let refused: (error: unknown) => void = () => undefined
    this.greeting = new Promise<void>((resolve, reject) => {
      greeted = resolve
      refused = reject
    })
    // An unawaited rejection must not crash the process; callers await it where it matters.
    this.greeting.catch(() => undefined)
    const timer = setTimeout(() => {
      refused(new StrataError('IO_ERROR', `the Strata server holding ${directory} did not answer on its local socket within ${limits.localConnectTimeoutMs} ms`))
    }, limits.localConnectTimeoutMs)
    timer.unref()
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()))
    socket.on('data', (chunk: Buffer) => {
      let lines: string[]
      try {
        lines = this.reader.push(chunk)
      } catch (error) {
        this.fail(error as StrataError)
        socket.destroy()
        return
      }
      for (const line of lines) {
        let frame: Frame
        try {
          frame = JSON.parse(line) as Frame
        } catch {
          this.fail(new StrataError('INTERNAL', 'the server sent a message on the local socket that is not JSON'))
          socket.destroy()
          return
        }
        if (frame.type === 'hello') {
          clearTimeout(timer)
          this.serverPid = frame.protocol === localProtocolVersion ? frame.pid : 0
          if (frame.protocol === localProtocolVersion) greeted()
          else {
            refused(new StrataError('NOT_SUPPORTED', `the Strata server holding ${directory} speaks local protocol ${frame.protocol}; this strata speaks ${localProtocolVersion} (run the same version of strata)`))
          }
        } else if (frame.type === 'error' && frame.id === undefined) {
          // The connection itself was refused or broken: every request from now on fails with it.
          clearTimeout(timer)
          const error = errorFromWire(frame.error)
          refused(error)
          this.fail(error)
        } else if (this.current !== undefined && frame.id === this.current.id) {
          this.current.onFrame(frame)
        }
      }
    })
    socket.on('error', () => undefined)
    socket.on('close', () => {
      clearTimeout(timer)
      const error = new StrataError('CLOSED', `the Strata server${this.serverPid === 0 ? '' : ` (pid ${this.serverPid})`} holding ${directory} closed the connection`)
      refused(error)
      this.fail(error)
    })
  }

  /** Several statements, as `Database.exec`: every statement's result, in order. */
  async exec(sql: string, options: { readonly signal?: AbortSignal } = {}): Promise<QueryResult[]> {
    const results: MutableResult[] = []
    await this.request({ op: 'exec', sql }, (frame) => collectResult(results, frame), options.signal)
    return results
  }

  /** One statement, as `Database.query`. */
  async query(sql: string, params?: Params, options: QueryOptions = {}): Promise<QueryResult> {
    const results: MutableResult[] = []
    const request: Outgoing = {
      op: 'query',
      sql,
      ...(params === undefined ? {} : { params: encodeValue(params) }),
      ...(options.engine === undefined ? {} : { engine: options.engine }),
      ...(options.maxStalenessMs === undefined ? {} : { maxStalenessMs: options.maxStalenessMs }),
    }
    await this.request(request, (frame) => collectResult(results, frame), options.signal)
    const result = results[0]
    if (result === undefined) throw new StrataError('INTERNAL', 'the server sent no result for a query')
    return result
  }

  async tables(): Promise<string[]> {
    let tables: string[] = []
    await this.request({ op: 'tables' }, (frame) => {
      if (frame.type === 'value') tables = frame.value as string[]
    })
    return tables
  }

  /** The server reads `file` (an absolute path on this machine) with DuckDB's readers, as `Database.importFile`. */
  async importFile(file: string, options: ImportOptions): Promise<WriteSummary> {
    let summary: WriteSummary = { txId: undefined, rowCount: 0 }
    await this.request(
      { op: 'import', file, table: options.table },
      (frame) => {
        if (frame.type === 'progress') options.onProgress?.(frame.done, frame.total)
        if (frame.type === 'value') {
          const value = decodeValue(frame.value) as { txId: number | null; rowCount: number }
          summary = { txId: value.txId ?? undefined, rowCount: value.rowCount }
        }
      },
      options.signal,
    )
    return summary
  }

  /** The server writes `file` (an absolute path on this machine), as `Database.exportTable`. */
  async exportTable(file: string, options: ExportOptions): Promise<{ readonly rowCount: number }> {
    let rowCount = 0
    await this.request(
      { op: 'export', file, table: options.table },
      (frame) => {
        if (frame.type === 'value') rowCount = (frame.value as { rowCount: number }).rowCount
      },
      options.signal,
    )
    return { rowCount }
  }

  /** A change feed run by the server; `close()` ends it. Errors (an unknown table) come from the first `next()`. */
  subscribe(options: SubscribeOptions = {}): RemoteFeed {
    return new RemoteFeed(this, options)
  }

  /** Ends the session (the server rolls back a transaction left open) and waits for the socket to close. */
  async close(): Promise<void> {
    this.socket.end()
    await Promise.race([this.closed, new Promise((resolve) => setTimeout(resolve, limits.localConnectTimeoutMs).unref())])
    this.socket.destroy()
  }

  /** Stops reading the socket (the server then waits to send more), for a feed whose consumer is behind. */
  pauseReading(): void {
    this.socket.pause()
  }

  resumeReading(): void {
    this.socket.resume()
  }

  /**
   * Sends a request once the previous one finished (one at a time, as on one connection), hands its
   * frames to `onFrame`, and resolves at its `done` (rejects at its `error`). `signal` sends a cancel.
   */
  request(message: Outgoing, onFrame: (frame: Frame) => void, signal?: AbortSignal): Promise<void> {
    const run = (): Promise<void> =>
      new Promise<void>((resolve, reject) => {
        if (this.failure !== undefined) {
          reject(this.failure)
          return
        }
        const id = this.nextId++
        const cancel = (): void => void this.socket.write(`${JSON.stringify({ id, op: 'cancel' } satisfies Request)}\n`)
        const finish = (): void => {
          signal?.removeEventListener('abort', cancel)
          this.current = undefined
        }
        this.current = {
          id,
          onFrame: (frame) => {
            if (frame.type === 'done') {
              finish()
              resolve()
            } else if (frame.type === 'error') {
              finish()
              reject(errorFromWire(frame.error))
            } else onFrame(frame)
          },
          resolve,
          reject: (error) => {
            finish()
            reject(error)
          },
        }
        this.socket.write(`${JSON.stringify({ ...message, id })}\n`)
        if (signal?.aborted === true) cancel()
        else signal?.addEventListener('abort', cancel, { once: true })
      })
    const result = this.tail.then(run, run)
    this.tail = result.catch(() => undefined)
    return result
  }

  private fail(error: StrataError): void {
    this.failure ??= error
    this.current?.reject(this.failure)
  }
}

/** A result being received: the head, then its rows frame by frame. */
interface MutableResult {
  rows: Record<string, unknown>[]
  columns: readonly ResultColumn[]
  rowCount: number
  engine: EngineName
  txId?: number
  durationMs: number
}

function collectResult(results: MutableResult[], frame: Frame): void {
  if (frame.type === 'result') {
    results.push({
      rows: frame.rows.map((row) => decodeValue(row) as Record<string, unknown>),
      columns: frame.columns,
      rowCount: frame.rowCount,
      engine: frame.engine as EngineName,
      ...(frame.txId === undefined ? {} : { txId: frame.txId }),
      durationMs: frame.durationMs,
    })
  } else if (frame.type === 'rows') {
    const last = results.at(-1)
    if (last === undefined) throw new StrataError('INTERNAL', 'the server sent rows before their result')
    for (const row of frame.rows) last.rows.push(decodeValue(row) as Record<string, unknown>)
  }
}

/**
 * A change feed on the server, read through the local socket. It buffers at most a feed page of
 * changes; beyond that it stops reading the socket until the consumer catches up.
 */
export class RemoteFeed implements AsyncIterableIterator<Change> {
  private readonly buffer: Change[] = []
  private readonly controller = new AbortController()
  private finished = false
  /** close() was called: next() is done at once, as a local feed's is. */
  private closed = false
  private failure: unknown
  private waiter: (() => void) | undefined

  constructor(
    private readonly client: LocalClient,
    options: SubscribeOptions,
  ) {
    const request: Outgoing = {
      op: 'subscribe',
      ...(options.tables === undefined ? {} : { tables: options.tables }),
      ...(options.fromTx === undefined ? {} : { fromTx: options.fromTx }),
    }
    client
      .request(
        request,
        (frame) => {
          if (frame.type !== 'change' || this.closed) return
          this.buffer.push(decodeValue(frame.change) as Change)
          if (this.buffer.length >= limits.feedPageRows) client.pauseReading()
          this.wake()
        },
        this.controller.signal,
      )
      .then(
        () => {
          this.finished = true
          this.wake()
        },
        (error: unknown) => {
          this.finished = true
          this.failure = error
          this.wake()
        },
      )
  }

  async next(): Promise<IteratorResult<Change, undefined>> {
    for (;;) {
      if (this.closed) return { done: true, value: undefined }
      const change = this.buffer.shift()
      if (change !== undefined) {
        if (this.buffer.length === limits.feedPageRows - 1) this.client.resumeReading()
        return { done: false, value: change }
      }
      if (this.failure !== undefined) {
        const failure = this.failure
        this.failure = undefined
        throw failure
      }
      if (this.finished) return { done: true, value: undefined }
      await new Promise<void>((resolve) => {
        this.waiter = resolve
      })
    }
  }

  async return(): Promise<IteratorResult<Change, undefined>> {
    this.close()
    return { done: true, value: undefined }
  }

  /** Ends the feed: a pending next() resolves done, and the server is asked to stop (its last frames are read and dropped). */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.buffer.length = 0
    this.client.resumeReading()
    this.controller.abort()
    this.wake()
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  private wake(): void {
    const waiter = this.waiter
    this.waiter = undefined
    waiter?.()
  }
}
