/**
 * The server's local socket: `strata serve` listens on a Unix socket in the data directory
 * (`DIR/strata.sock`) and advertises it in the directory's holder file, so that `strata sql`, `shell`,
 * `import` and `export` on a directory a server holds run through the server instead of failing on
 * the directory's lock (./client.ts is the other end; ./protocol.ts the messages).
 *
 * Trust: the socket lets in whoever may write the row store's file — it gets the write bits that
 * `strata.sqlite` has, for owner, group and others — which is who could open the directory directly
 * if no server held it. Nothing else is checked, as nothing else is when a process opens the files.
 * Import and export name files the server reads and writes with its own rights: the client is someone
 * who could write the database files, on the same machine.
 *
 * A connection is one engine session (so a shell's BEGIN … COMMIT spans its lines); a connection that
 * ends rolls its transaction back. Statements have no timeout here, as the CLI has none when it opens
 * the directory itself; a client's Ctrl-C cancels them (`cancel`).
 */
import { chmodSync, mkdtempSync, rmSync, statSync, unlinkSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import type { Engine, ExecuteOptions, StatementResult } from '../../../engine/engine.js'
import type { Session } from '../../../engine/session.js'
import { StrataError } from '../../../util/errors.js'
import { limits } from '../../../util/limits.js'
import { decodeValue, encodeValue, LineReader, localProtocolVersion, socketFileName, wireError, type Frame, type Request } from './protocol.js'

export interface LocalServerOptions {
  /** The data directory the engine holds. */
  readonly directory: string
  /** Default `limits.localConnectionsMax`. */
  readonly connectionsMax?: number
}

export interface LocalServer {
  /** Where it listens: `DIR/strata.sock`, or a short path under the temporary directory when that is too long for a socket. */
  readonly socketPath: string
  connectionCount(): number
  /**
   * Stops advertising and accepting, lets running requests finish for up to `graceMs` (default
   * `limits.serverShutdownGraceMs`), cancels the rest, closes every connection (rolling back its
   * transaction) and removes the socket. It does not close the engine.
   */
  close(options?: { readonly graceMs?: number }): Promise<void>
}

/** Temporary directories made for sockets whose path in the data directory would be too long. */
const fallbackDirectoryPrefix = 'strata-socket-'

/**
 * Listens on the data directory's local socket and advertises it.
 *
 * @example
 * const engine = await Engine.open('/srv/strata-data', {})
 * const local = await startLocalServer(engine, { directory: '/srv/strata-data' })
 * // strata sql --db /srv/strata-data "SELECT 1" now runs in this process
 * await local.close()
 */
export async function startLocalServer(engine: Engine, options: LocalServerOptions): Promise<LocalServer> {
  removePreviousSocket(engine.previousDirectoryHolder?.socket, options.directory)
  let socketPath = join(options.directory, socketFileName)
  let fallbackDirectory: string | undefined
  if (Buffer.byteLength(socketPath) > limits.socketPathBytesMax) {
    fallbackDirectory = mkdtempSync(join(tmpdir(), fallbackDirectoryPrefix))
    socketPath = join(fallbackDirectory, socketFileName)
  }
  const mode = socketMode(options.directory)
  if (fallbackDirectory !== undefined) chmodSync(fallbackDirectory, directoryModeFor(mode))
  // This process holds the directory's lock, so a socket file left there is a dead server's.
  removeFile(socketPath)
  const local = new LocalSocketServer(engine, options.connectionsMax ?? limits.localConnectionsMax)
  try {
    await local.listen(socketPath, mode)
    engine.advertiseLocalSocketSync(socketPath)
  } catch (error) {
    await local.close(0)
    if (fallbackDirectory !== undefined) rmSync(fallbackDirectory, { recursive: true, force: true })
    throw new StrataError('IO_ERROR', `cannot listen on the local socket ${socketPath}: ${(error as Error).message}`, { cause: error })
  }
  let closing: Promise<void> | undefined
  return {
    socketPath,
    connectionCount: () => local.connectionCount(),
    close: (closeOptions) => {
      closing ??= (async () => {
        // First: a CLI started from now on must not try a server that is going away. Best effort: the
        // socket is removed below anyway, and a CLI that finds nobody there opens the directory itself.
        try {
          engine.advertiseLocalSocketSync(undefined)
        } catch {
          // The holder file could not be rewritten (a full disk): the engine's close removes it.
        }
        await local.close(closeOptions?.graceMs ?? limits.serverShutdownGraceMs)
        removeFile(socketPath)
        if (fallbackDirectory !== undefined) rmSync(fallbackDirectory, { recursive: true, force: true })
      })()
      return closing
    },
  }
}

class LocalSocketServer {
  private readonly server: Server
  private readonly connections = new Set<LocalConnection>()
  private shuttingDown = false

  constructor(
    private readonly engine: Engine,
    private readonly connectionsMax: number,
  ) {
    this.server = createServer((socket) => {
      if (this.shuttingDown || this.connections.size >= this.connectionsMax) {
        const reason = this.shuttingDown ? 'the server is shutting down' : `the server has ${this.connectionsMax} local connections open, as many as it allows; try again later`
        socket.end(`${JSON.stringify({ type: 'error', error: { code: 'CLOSED', message: reason } } satisfies Frame)}\n`)
        return
      }
      const connection = new LocalConnection(this.engine, socket, () => this.connections.delete(connection))
      this.connections.add(connection)
    })
  }

  /** Binds with a umask that keeps the socket private until chmod gives it its mode, so nobody connects in between. */
  listen(socketPath: string, mode: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject)
      const umask = process.umask(0o177)
      try {
        this.server.listen(socketPath, () => {
          this.server.off('error', reject)
          try {
            chmodSync(socketPath, mode)
            resolve()
          } catch (error) {
            reject(error as Error)
          }
        })
      } finally {
        process.umask(umask)
      }
    })
  }

  connectionCount(): number {
    return this.connections.size
  }

  async close(graceMs: number): Promise<void> {
    this.shuttingDown = true
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    // A change feed never finishes by itself: it ends now, as closing a database ends its feeds.
    for (const connection of this.connections) connection.endFeed()
    const deadline = Date.now() + graceMs
    while ([...this.connections].some((connection) => connection.busy) && Date.now() < deadline) {
      await sleep(Math.min(20, Math.max(1, deadline - Date.now())))
    }
    await Promise.allSettled([...this.connections].map((connection) => connection.close('shutdown')))
    await closed
  }
}

/** One client: a session, a queue of its requests, and the one running. */
class LocalConnection {
  private readonly session: Session
  private readonly reader = new LineReader(limits.localRequestBytesMax)
  private readonly queue: WorkRequest[] = []
  private running: { readonly id: number; readonly op: WorkRequest['op']; readonly controller: AbortController } | undefined
  private pumping: Promise<void> | undefined
  private shuttingDown = false
  private closing: Promise<void> | undefined

  constructor(
    private readonly engine: Engine,
    private readonly socket: Socket,
    private readonly forget: () => void,
  ) {
    this.session = engine.newSession()
    socket.on('data', (chunk: Buffer) => this.receive(chunk))
    socket.on('error', () => undefined)
    socket.on('close', () => void this.close())
    this.sendNow({ type: 'hello', protocol: localProtocolVersion, pid: process.pid })
  }

  /** Shutdown: a running SUBSCRIBE ends, with an error frame saying why. */
  endFeed(): void {
    if (this.running?.op !== 'subscribe') return
    this.shuttingDown = true
    this.running.controller.abort()
  }

  /** A request is running or waiting. */
  get busy(): boolean {
    return this.running !== undefined || this.queue.length > 0
  }

  /**
   * Ends the connection: cancels what runs (on shutdown, telling the client why), rolls back the
   * session's transaction, and closes the socket once what was written is sent.
   */
  close(reason?: 'shutdown'): Promise<void> {
    this.closing ??= (async () => {
      this.shuttingDown = reason === 'shutdown'
      this.queue.length = 0
      this.running?.controller.abort()
      await this.pumping
      await this.engine.abortSession(this.session).catch(() => undefined)
      this.socket.destroySoon()
      this.forget()
    })()
    return this.closing
  }

  private receive(chunk: Buffer): void {
    if (this.closing !== undefined) return
    let lines: string[]
    try {
      lines = this.reader.push(chunk)
    } catch (error) {
      this.refuse(error)
      return
    }
    for (const line of lines) {
      let request: Request
      try {
        request = parseRequest(line)
      } catch (error) {
        this.refuse(error)
        return
      }
      if (request.op === 'cancel') {
        if (this.running?.id === request.id) this.running.controller.abort()
        continue
      }
      if (this.queue.length >= limits.localQueuedRequestsMax) {
        this.refuse(new StrataError('INVALID_PARAMETER', `more than ${limits.localQueuedRequestsMax} requests are waiting on one local connection; send one at a time`))
        return
      }
      this.queue.push(request)
    }
    this.pumping ??= this.pump().finally(() => {
      this.pumping = undefined
    })
  }

  /** A broken message: say why, and end the connection (the stream can no longer be trusted). */
  private refuse(error: unknown): void {
    this.sendNow({ type: 'error', error: wireError(error) })
    void this.close()
  }

  private async pump(): Promise<void> {
    for (let request = this.queue.shift(); request !== undefined && this.closing === undefined; request = this.queue.shift()) {
      const controller = new AbortController()
      this.running = { id: request.id, op: request.op, controller }
      try {
        await this.handle(request, controller.signal)
        await this.send({ id: request.id, type: 'done' })
      } catch (error) {
        const cancelled = controller.signal.aborted && this.shuttingDown && !(error instanceof StrataError && error.code === 'CLOSED')
        const reported = cancelled ? new StrataError('CLOSED', 'the server is shutting down; the statement was cancelled') : error
        await this.send({ id: request.id, type: 'error', error: wireError(reported) }).catch(() => undefined)
      } finally {
        this.running = undefined
      }
    }
  }

  private async handle(request: WorkRequest, signal: AbortSignal): Promise<void> {
    switch (request.op) {
      case 'exec': {
        const results = await this.engine.execute(this.session, request.sql, decodeParams(request.params), { signal })
        for (const result of results) await this.sendResult(request.id, result)
        return
      }
      case 'query': {
        const options: ExecuteOptions = { signal, ...(request.engine === undefined ? {} : { engine: request.engine }), ...(request.maxStalenessMs === undefined ? {} : { maxStalenessMs: request.maxStalenessMs }) }
        await this.sendResult(request.id, await this.engine.executeSingle(this.session, request.sql, decodeParams(request.params), options))
        return
      }
      case 'tables':
        await this.send({ id: request.id, type: 'value', value: this.engine.tableNames() })
        return
      case 'import': {
        const summary = await this.engine.importFile(request.file, {
          table: request.table,
          signal,
          // Progress comes from inside a synchronous insert loop: queued, not awaited.
          onProgress: (done, total) => this.sendNow({ id: request.id, type: 'progress', done, total }),
        })
        await this.send({ id: request.id, type: 'value', value: encodeValue({ txId: summary.txId ?? null, rowCount: summary.rowCount }) })
        return
      }
      case 'export': {
        const { rowCount } = await this.engine.exportTable(request.file, { table: request.table, signal })
        await this.send({ id: request.id, type: 'value', value: { rowCount } })
        return
      }
      case 'subscribe': {
        const feed = this.engine.subscribe({ ...(request.tables === undefined ? {} : { tables: request.tables }), ...(request.fromTx === undefined ? {} : { fromTx: request.fromTx }) })
        const stop = (): void => feed.close()
        signal.addEventListener('abort', stop, { once: true })
        try {
          for await (const change of feed) await this.send({ id: request.id, type: 'change', change: encodeValue(change) })
        } finally {
          signal.removeEventListener('abort', stop)
          feed.close()
        }
        if (this.shuttingDown) throw new StrataError('CLOSED', 'the server is shutting down; the change feed ended')
        return
      }
    }
  }

  /**
   * A result's head with its first rows, then the rest in frames of at most `limits.localResultBatchRows`
   * rows or about `limits.localResultBatchBytes` of text, each sent once the socket took the last.
   */
  private async sendResult(id: number, result: StatementResult): Promise<void> {
    const columns = result.columns.map((column) => ({ name: column.name, type: column.type, ...(column.nullable === undefined ? {} : { nullable: column.nullable }) }))
    const head = { id, type: 'result' as const, columns, rowCount: result.rowCount, engine: result.engine, ...(result.txId === undefined ? {} : { txId: result.txId }), durationMs: result.durationMs }
    let first = true
    let index = 0
    do {
      const batch: string[] = []
      let batchBytes = 0
      while (index < result.rows.length && batch.length < limits.localResultBatchRows && batchBytes < limits.localResultBatchBytes) {
        const text = JSON.stringify(encodeValue(result.rows[index]))
        batch.push(text)
        batchBytes += text.length
        index++
      }
      const more = index < result.rows.length
      // The rows go in as the text they were encoded to above: the frame's other members, then them.
      const members = JSON.stringify(first ? head : { id, type: 'rows' }).slice(0, -1)
      await this.write(`${members},"rows":[${batch.join(',')}],"more":${more}}\n`)
      first = false
    } while (index < result.rows.length)
  }

  private send(frame: Frame): Promise<void> {
    return this.write(`${JSON.stringify(frame)}\n`)
  }

  private sendNow(frame: Frame): void {
    if (!this.socket.destroyed) this.socket.write(`${JSON.stringify(frame)}\n`)
  }

  /** Resolves once the socket has taken the text (its buffer drained), so a slow client holds one batch, not a result. */
  private async write(text: string): Promise<void> {
    if (this.socket.destroyed || this.socket.writableEnded) throw new StrataError('CLOSED', 'the client closed the local connection')
    if (this.socket.write(text)) return
    await new Promise<void>((resolve) => {
      const done = (): void => {
        this.socket.off('drain', done)
        this.socket.off('close', done)
        resolve()
      }
      this.socket.on('drain', done)
      this.socket.on('close', done)
    })
  }
}

/** A request that does work (every one but cancel). */
type WorkRequest = Exclude<Request, { readonly op: 'cancel' }>

/** A request line, checked: anything malformed is INVALID_PARAMETER. */
function parseRequest(line: string): Request {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    throw new StrataError('INVALID_PARAMETER', 'a message on the local socket is not JSON')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new StrataError('INVALID_PARAMETER', 'a message on the local socket is not a JSON object')
  const message = value as Record<string, unknown>
  const id = message['id']
  if (typeof id !== 'number' || !Number.isSafeInteger(id)) throw new StrataError('INVALID_PARAMETER', 'a request on the local socket has no numeric "id"')
  const text = (name: string): string => {
    const member = message[name]
    if (typeof member !== 'string') throw new StrataError('INVALID_PARAMETER', `a "${String(message['op'])}" request needs a string "${name}"`)
    return member
  }
  switch (message['op']) {
    case 'exec':
      return { id, op: 'exec', sql: text('sql'), params: message['params'] }
    case 'query': {
      const engine = message['engine']
      const maxStalenessMs = message['maxStalenessMs']
      if (engine !== undefined && engine !== 'row' && engine !== 'column') throw new StrataError('INVALID_PARAMETER', '"engine" is "row" or "column"')
      if (maxStalenessMs !== undefined && typeof maxStalenessMs !== 'number') throw new StrataError('INVALID_PARAMETER', '"maxStalenessMs" is a number')
      return { id, op: 'query', sql: text('sql'), params: message['params'], ...(engine === undefined ? {} : { engine }), ...(maxStalenessMs === undefined ? {} : { maxStalenessMs }) }
    }
    case 'tables':
    case 'cancel':
      return { id, op: message['op'] }
    case 'import':
    case 'export':
      return { id, op: message['op'], file: text('file'), table: text('table') }
    case 'subscribe': {
      const tables = message['tables']
      const fromTx = message['fromTx']
      if (tables !== undefined && (!Array.isArray(tables) || !tables.every((table) => typeof table === 'string'))) throw new StrataError('INVALID_PARAMETER', '"tables" is a list of names')
      if (fromTx !== undefined && typeof fromTx !== 'number') throw new StrataError('INVALID_PARAMETER', '"fromTx" is a number')
      return { id, op: 'subscribe', ...(tables === undefined ? {} : { tables: tables as string[] }), ...(fromTx === undefined ? {} : { fromTx }) }
    }
    default:
      throw new StrataError('INVALID_PARAMETER', `unknown request ${JSON.stringify(message['op'])} on the local socket`)
  }
}

function decodeParams(params: unknown): readonly unknown[] | Readonly<Record<string, unknown>> | undefined {
  if (params === undefined || params === null) return undefined
  const decoded = decodeValue(params)
  if (typeof decoded !== 'object' || decoded === null) throw new StrataError('INVALID_PARAMETER', '"params" is a list or an object')
  return decoded as readonly unknown[] | Readonly<Record<string, unknown>>
}

/**
 * The socket's mode: read and write for each class (owner, group, others) that may write
 * `strata.sqlite` — connecting needs write permission on a socket — and nothing for the rest.
 */
function socketMode(directory: string): number {
  let fileMode: number
  try {
    fileMode = statSync(join(directory, 'strata.sqlite')).mode
  } catch {
    return 0o600
  }
  let mode = 0o600
  if ((fileMode & 0o020) !== 0) mode |= 0o060
  if ((fileMode & 0o002) !== 0) mode |= 0o006
  return mode
}

/** A fallback socket's private directory: searchable by the classes the socket lets in, listable by nobody else. */
function directoryModeFor(socketMode: number): number {
  return 0o700 | ((socketMode & 0o060) !== 0 ? 0o010 : 0) | ((socketMode & 0o006) !== 0 ? 0o001 : 0)
}

/**
 * A dead server's socket (the directory's previous holder, per its holder file): the file in the data
 * directory is replaced anyway; a fallback one under the temporary directory goes with its directory.
 */
function removePreviousSocket(socket: string | undefined, directory: string): void {
  if (socket === undefined || socket === join(directory, socketFileName)) return
  const parent = dirname(socket)
  if (dirname(parent) === tmpdir() && basename(parent).startsWith(fallbackDirectoryPrefix) && basename(socket) === socketFileName) {
    rmSync(parent, { recursive: true, force: true })
  }
}

function removeFile(path: string): void {
  try {
    unlinkSync(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
