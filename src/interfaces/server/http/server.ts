/**
 * The HTTP API (issue 4, shaped like the RuntimeDB seed's): JSON over node:http.
 *
 *   POST /query            {"sql", "params"?, "timeout_ms"?, "engine"?, "max_staleness_ms"?, "persist"?}
 *   GET  /results/{id}     a persisted result: status processing | ready | failed, rows when ready
 *   GET  /query-runs       statement runs, newest first (?limit, ?cursor); GET /query-runs/{id}
 *   GET  /health           ok and the CDC sync status (no token needed)
 *   GET  /metrics          Prometheus text
 *   POST /sources/{name}   a batch of events for a streaming source (NDJSON)
 *   GET  /changes          committed row changes as server-sent events (./changes.ts)
 *   GET  /                 the web console (./console.ts), when it is built
 *
 * Why node:http and no framework: six routes, and what matters here — streaming with backpressure,
 * noticing a client that disconnects mid-query, a body-size bound, draining on shutdown — is plain
 * node:http API that a framework would only wrap.
 *
 * Each POST /query runs on a session of its own (autocommit; a text may hold `BEGIN; …; COMMIT`, and a
 * transaction left open at the end is rolled back and reported). Its statement is cancelled when the
 * client disconnects, when it runs past its timeout, or when the server shuts down.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { ArrayStatementResult, Engine, ExecuteOptions, StreamedResult } from '../../../engine/engine.js'
import type { Session } from '../../../engine/session.js'
import { StrataError } from '../../../util/errors.js'
import { checkBranchName } from '../../../util/branch-names.js'
import { limits } from '../../../util/limits.js'
import { serveConsoleAsset } from '../console.js'
import { changesRequest, streamChanges } from './changes.js'
import { HttpError, toHttpError } from './errors.js'
import { Metrics, type QueryOutcome } from './metrics.js'
import { ClientGone, sendError, sendJson, sendResult, writeChunk, type ResultFormat } from './respond.js'
import { encodeValue } from './encode.js'
import { ResultStore, type ResultRows } from './results.js'
import { queryRunJson, QueryRunLog } from './runs.js'

export interface HttpServerOptions {
  /** Address to listen on; the caller (serve.ts) decides whether a non-loopback one is allowed. */
  readonly host: string
  /** 0 picks a free port. */
  readonly port: number
  /** Bearer tokens accepted with full access; with neither these nor read-only ones (the default), no authentication. */
  readonly tokens?: readonly string[]
  /** Bearer tokens that may only read: a statement that would write is refused with 403 READ_ONLY. */
  readonly readOnlyTokens?: readonly string[]
  /** For statements whose request has no `timeout_ms`. Default `limits.serverStatementTimeoutMsDefault`. */
  readonly statementTimeoutMs?: number
  /** Default `limits.httpRequestBodyBytesMax`. */
  readonly requestBodyBytesMax?: number
  /** Default `limits.httpConnectionsMax`. */
  readonly connectionsMax?: number
  /** Persist results unless a request says `"persist": false`. Default true. */
  readonly persistResults?: boolean
  /** Persisted results kept, at most (the oldest are dropped). Default `limits.resultsKeptMax`. */
  readonly resultsKeptMax?: number
  /** Rows of persisted results kept, at most. Default `limits.resultsKeptRowsMax`. */
  readonly resultsKeptRowsMax?: number
  /** Open PostgreSQL connections, for /metrics, when the PG server runs alongside. */
  readonly pgConnectionCount?: () => number | undefined
  /** How often GET /changes sends a keep-alive comment. Default `limits.httpChangesKeepAliveMs`. */
  readonly changesKeepAliveMs?: number
}

export interface HttpServer {
  readonly host: string
  readonly port: number
  /** Open HTTP connections. */
  connectionCount(): number
  /** GET /changes responses being sent now, each with its change feed. */
  changeStreamCount(): number
  /**
   * Stops accepting connections, lets running statements finish for up to `graceMs`
   * (default `limits.serverShutdownGraceMs`), cancels the rest, and closes every connection.
   * It does not close the engine.
   */
  close(options?: { readonly graceMs?: number }): Promise<void>
}

type AbortReason = 'timeout' | 'client' | 'shutdown'

interface RunningStatement {
  readonly controller: AbortController
  reason: AbortReason | undefined
}

/** The body of POST /query, checked. */
interface QueryRequest {
  readonly sql: string
  readonly params: readonly unknown[] | Readonly<Record<string, unknown>> | undefined
  readonly timeoutMs: number
  readonly engine: 'row' | 'column' | undefined
  readonly maxStalenessMs: number | undefined
  readonly persist: boolean
  /** The request came with a read-only token. */
  readonly readOnly: boolean
  /** The branch the request's statements run on (docs/branches.md); main when absent. */
  readonly branch: string | undefined
}

/** What a request's bearer token allows. */
type Access = 'full' | 'read'

const queryRunsPageDefault = 100
const queryRunsPageMax = 1_000
/** After the grace period and cancellation, how long handlers get to write their error responses. */
const cancelledResponseWaitMs = 2_000
/** A connection over the limit that sends no request within this is closed. */
const refusedConnectionIdleMs = 2_000

/**
 * Starts the HTTP API on `options.host:options.port` over an open engine.
 *
 * @example
 * const engine = await Engine.open('./strata-data', {})
 * const http = await startHttpServer(engine, { host: '127.0.0.1', port: 0 })
 * console.log(`curl http://127.0.0.1:${http.port}/health`)
 * await http.close()
 * await engine.close()
 */
export async function startHttpServer(engine: Engine, options: HttpServerOptions): Promise<HttpServer> {
  const api = new HttpApi(engine, options)
  return api.listen()
}

class HttpApi {
  private readonly server: Server
  private readonly metrics = new Metrics()
  private readonly runs = new QueryRunLog()
  private readonly results: ResultStore
  private readonly tokenDigests: readonly { readonly digest: Buffer; readonly access: Access }[]
  private readonly statementTimeoutMs: number
  private readonly requestBodyBytesMax: number
  private readonly running = new Set<RunningStatement>()
  /** GET /changes responses being sent: each is aborted on shutdown, since a feed never ends by itself. */
  private readonly changeStreams = new Set<AbortController>()
  /** Every request being handled (to wait for on shutdown). */
  private readonly handling = new Set<Promise<void>>()
  private readonly sockets = new Set<Socket>()
  /** Connections accepted beyond `connectionsMax`, to be answered 503 and closed. */
  private readonly refused = new WeakSet<Socket>()
  private shuttingDown = false
  private closing: Promise<void> | undefined

  constructor(
    private readonly engine: Engine,
    private readonly options: HttpServerOptions,
  ) {
    this.results = new ResultStore(engine, {
      ...(options.resultsKeptMax === undefined ? {} : { keptMax: options.resultsKeptMax }),
      ...(options.resultsKeptRowsMax === undefined ? {} : { keptRowsMax: options.resultsKeptRowsMax }),
    })
    this.tokenDigests = [
      ...(options.tokens ?? []).map((token) => ({ digest: digest(token), access: 'full' as const })),
      ...(options.readOnlyTokens ?? []).map((token) => ({ digest: digest(token), access: 'read' as const })),
    ]
    this.statementTimeoutMs = options.statementTimeoutMs ?? limits.serverStatementTimeoutMsDefault
    this.requestBodyBytesMax = options.requestBodyBytesMax ?? limits.httpRequestBodyBytesMax
    this.server = createServer((request, response) => {
      const handled = this.handle(request, response).catch((error: unknown) => sendError(response, toHttpError(error)))
      this.handling.add(handled)
      void handled.finally(() => this.handling.delete(handled))
    })
    const connectionsMax = options.connectionsMax ?? limits.httpConnectionsMax
    this.server.on('connection', (socket: Socket) => {
      if (this.sockets.size >= connectionsMax) {
        // Over the limit: its request is answered 503 TOO_MANY_CONNECTIONS (a bare reset would not
        // say why), and a connection that sends nothing is dropped soon.
        this.refused.add(socket)
        socket.setTimeout(refusedConnectionIdleMs, () => socket.destroy())
        return
      }
      this.sockets.add(socket)
      socket.once('close', () => this.sockets.delete(socket))
    })
  }

  listen(): Promise<HttpServer> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', reject)
        const address = this.server.address() as AddressInfo
        resolve({
          host: this.options.host,
          port: address.port,
          connectionCount: () => this.sockets.size,
          changeStreamCount: () => this.changeStreams.size,
          close: (closeOptions) => this.close(closeOptions?.graceMs ?? limits.serverShutdownGraceMs),
        })
      })
    })
  }

  /** Idempotent: a second call waits for the first. */
  private close(graceMs: number): Promise<void> {
    this.closing ??= this.closeOnce(graceMs)
    return this.closing
  }

  private async closeOnce(graceMs: number): Promise<void> {
    this.shuttingDown = true
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    this.server.closeIdleConnections()
    // A change feed never finishes by itself: it ends now, as closing a database ends its feeds.
    for (const stream of this.changeStreams) stream.abort()
    const deadline = Date.now() + graceMs
    // Requests in progress (statements running, responses being written) get the grace period.
    while ((this.running.size > 0 || this.handling.size > 0) && Date.now() < deadline) await sleep(Math.min(20, Math.max(1, deadline - Date.now())))
    for (const statement of this.running) {
      statement.reason ??= 'shutdown'
      statement.controller.abort()
    }
    await Promise.race([Promise.allSettled([...this.handling]), sleep(cancelledResponseWaitMs)])
    this.server.closeAllConnections()
    await closed
    await this.results.close()
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    response.once('finish', () => this.metrics.recordResponse(response.statusCode))
    if (this.refused.has(request.socket)) {
      throw new HttpError(503, 'TOO_MANY_CONNECTIONS', 'the server has as many connections open as it allows; try again later', { 'retry-after': '1', connection: 'close' })
    }
    if (this.shuttingDown) {
      throw new HttpError(503, 'SHUTTING_DOWN', 'the server is shutting down', { 'retry-after': '1', connection: 'close' })
    }
    if (serveConsoleAsset(request, response)) return
    const url = new URL(request.url ?? '/', 'http://localhost')
    const path = url.pathname.length > 1 && url.pathname.endsWith('/') ? url.pathname.slice(0, -1) : url.pathname
    const method = request.method ?? 'GET'
    if (path === '/health') return this.route(method, ['GET', 'HEAD'], () => this.health(response))
    const access = this.authenticate(request)
    if (path === '/query') return this.route(method, ['POST'], () => this.query(request, response, url, access))
    if (path === '/query-runs') return this.route(method, ['GET'], () => this.queryRuns(response, url))
    if (path.startsWith('/query-runs/')) return this.route(method, ['GET'], () => this.queryRun(response, path.slice('/query-runs/'.length)))
    if (path.startsWith('/results/')) return this.route(method, ['GET'], () => this.result(request, response, url, path.slice('/results/'.length)))
    if (path === '/metrics') return this.route(method, ['GET'], () => this.metricsText(response))
    if (path === '/changes') return this.route(method, ['GET'], () => this.changes(request, response, url))
    if (path.startsWith('/sources/')) return this.route(method, ['POST'], () => this.pushEvents(request, response, decodePathSegment(path.slice('/sources/'.length)), access))
    throw new HttpError(404, 'NOT_FOUND', `no route ${method} ${url.pathname}`)
  }

  private async route(method: string, allowed: readonly string[], body: () => Promise<void>): Promise<void> {
    if (!allowed.includes(method)) throw new HttpError(405, 'METHOD_NOT_ALLOWED', `use ${allowed.join(' or ')} here, not ${method}`, { allow: allowed.join(', ') })
    await body()
  }

  /** Bearer-token authentication, when tokens are configured: constant-time comparison of digests. */
  private authenticate(request: IncomingMessage): Access {
    if (this.tokenDigests.length === 0) return 'full'
    const header = request.headers.authorization
    const challenge = { 'www-authenticate': 'Bearer realm="strata"' }
    if (header === undefined) throw new HttpError(401, 'UNAUTHORIZED', 'this server needs a bearer token: send "Authorization: Bearer <token>"', challenge)
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
    const offered = match === null ? undefined : digest(match[1]!)
    // Every known token is compared, so the time taken does not say which one (or which kind) matched.
    let access: Access | undefined
    for (const known of this.tokenDigests) if (offered !== undefined && timingSafeEqual(known.digest, offered)) access ??= known.access
    if (access === undefined) {
      throw new HttpError(401, 'UNAUTHORIZED', 'the bearer token is not valid', { 'www-authenticate': 'Bearer realm="strata", error="invalid_token"' })
    }
    return access
  }

  // ───────────────────────────── routes ─────────────────────────────

  private async health(response: ServerResponse): Promise<void> {
    if (this.engine.isClosed) throw new HttpError(503, 'CLOSED', 'the database is closed')
    const status = await this.engine.syncStatus()
    sendJson(response, 200, {
      status: 'ok',
      sync: { last_committed_tx: status.lastCommittedTx, last_applied_tx: status.lastAppliedTx, lag_tx: status.lagTx, lag_ms: status.lagMs },
    })
  }

  private async metricsText(response: ServerResponse): Promise<void> {
    const sync = this.engine.isClosed ? undefined : await this.engine.syncStatus().catch(() => undefined)
    const text = this.metrics.render({
      sync,
      httpConnections: this.sockets.size,
      httpQueriesInFlight: this.running.size,
      httpChangeStreams: this.changeStreams.size,
      pgConnections: this.options.pgConnectionCount?.(),
      resultsPending: this.results.pendingCount,
      subsystems: this.engine.isClosed ? [] : this.engine.subsystemMetrics(),
    })
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(text) })
    response.end(text)
  }

  /**
   * `GET /changes?tables=a,b[&fromTx=n]`: committed row changes as server-sent events, until the client
   * goes away (./changes.ts). Reading needs no more than a read-only token.
   */
  private async changes(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    const parsed = changesRequest(request, url)
    const stream = new AbortController()
    this.changeStreams.add(stream)
    try {
      await streamChanges(this.engine, response, parsed, { keepAliveMs: this.options.changesKeepAliveMs ?? limits.httpChangesKeepAliveMs, signal: stream.signal })
    } finally {
      this.changeStreams.delete(stream)
    }
  }

  /**
   * `POST /sources/{name}`: one batch of events for a streaming source, as NDJSON (one JSON object per
   * line, timestamps in ISO 8601), accepted whole or not at all (`db.push`); answered once it is.
   */
  private async pushEvents(request: IncomingMessage, response: ServerResponse, source: string, access: Access): Promise<void> {
    if (access === 'read') throw new HttpError(403, 'READ_ONLY', 'this token may only read; pushing events writes')
    const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
    if (type !== 'application/x-ndjson') throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the events as application/x-ndjson: one JSON object per line')
    const body = await readBody(request, this.requestBodyBytesMax)
    const columns: string[] = []
    const objects: Record<string, unknown>[] = []
    for (const [index, line] of body.toString('utf8').split('\n').entries()) {
      if (line.trim() === '') continue
      let value: unknown
      try {
        value = JSON.parse(line)
      } catch (error) {
        throw new HttpError(400, 'BAD_REQUEST', `line ${index + 1} is not valid JSON: ${(error as Error).message}`)
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, 'BAD_REQUEST', `line ${index + 1} is not a JSON object`)
      for (const key of Object.keys(value)) if (!columns.includes(key)) columns.push(key)
      objects.push(value as Record<string, unknown>)
    }
    const rows = objects.map((object) => columns.map((column) => object[column]))
    const summary = await this.engine.callSubsystem('push', [source, columns, rows, 'error'])
    sendJson(response, 200, { source, accepted: summary.rowCount, received: rows.length, tx_id: summary.txId ?? null })
  }

  private async queryRuns(response: ServerResponse, url: URL): Promise<void> {
    const limit = integerParameter(url, 'limit', { minimum: 1, maximum: queryRunsPageMax }) ?? queryRunsPageDefault
    const cursor = url.searchParams.get('cursor') ?? undefined
    const page = this.runs.page({ limit, cursor })
    sendJson(response, 200, { query_runs: page.runs.map(queryRunJson), count: page.runs.length, limit, has_more: page.hasMore, next_cursor: page.nextCursor ?? null })
  }

  private async queryRun(response: ServerResponse, id: string): Promise<void> {
    const run = this.runs.get(decodePathSegment(id))
    if (run === undefined) throw new HttpError(404, 'NOT_FOUND', `no query run ${id}`)
    sendJson(response, 200, queryRunJson(run))
  }

  private async result(request: IncomingMessage, response: ServerResponse, url: URL, id: string): Promise<void> {
    const format = resultFormat(request, url)
    const found = await this.results.lookup(decodePathSegment(id))
    if (found === undefined) throw new HttpError(404, 'NOT_FOUND', `no result ${id} (only the newest results are kept)`)
    if (found.status !== 'ready') {
      sendJson(response, 200, { result_id: id, status: found.status, ...(found.error === undefined ? {} : { error_message: found.error }) })
      return
    }
    const rows: ResultRows = { columns: found.columns, rowCount: found.rows.length, values: (index) => found.rows[index]! }
    const head = {
      result_id: id,
      status: 'ready',
      columns: found.columns.map((column) => column.name),
      column_types: found.columns.map((column) => column.type),
      nullable: found.columns.map((column) => column.nullable ?? true),
      row_count: found.rows.length,
      execution_time_ms: found.executionTimeMs === undefined ? null : roundMs(found.executionTimeMs),
    }
    await sendResult(response, format, head, rows).catch(ignoreClientGone)
  }

  private async query(request: IncomingMessage, response: ServerResponse, url: URL, access: Access): Promise<void> {
    const format = resultFormat(request, url)
    const body = await readBody(request, this.requestBodyBytesMax)
    const parsed = this.parseQueryRequest(body, access)
    const statement: RunningStatement = { controller: new AbortController(), reason: undefined }
    const timer = setTimeout(() => {
      statement.reason ??= 'timeout'
      statement.controller.abort()
    }, parsed.timeoutMs)
    // 'close' before the response is finished: the client hung up, so nobody wants the answer.
    const onClose = (): void => {
      if (response.writableFinished) return
      statement.reason ??= 'client'
      statement.controller.abort()
    }
    response.once('close', onClose)
    // The client may have hung up while the body was read, before the listener existed. (Not
    // request.destroyed: a request stream is destroyed once its body has been read.)
    if (response.destroyed || request.socket.destroyed) onClose()
    this.running.add(statement)
    const run = this.runs.start(parsed.sql)
    if (format === 'ndjson') {
      try {
        await this.streamQuery(response, parsed, statement, run)
      } finally {
        clearTimeout(timer)
        this.running.delete(statement)
        response.off('close', onClose)
      }
      return
    }
    const session = this.engine.newSession()
    if (parsed.branch !== undefined) session.branch = parsed.branch
    const startedMs = performance.now()
    let results: ArrayStatementResult[]
    try {
      // Rows as arrays: every column arrives, even two with the same name.
      results = await this.engine.execute(session, parsed.sql, parsed.params, { ...executeOptions(parsed, statement), rowMode: 'array' })
      await this.refuseOpenTransaction(session)
      if (results.length === 0) throw new HttpError(400, 'BAD_REQUEST', '"sql" holds no statement')
    } catch (thrown) {
      if (session.inTransaction) await this.engine.abortSession(session).catch(() => undefined)
      throw this.queryFailure(thrown, statement, run, parsed, performance.now() - startedMs)
    } finally {
      clearTimeout(timer)
      this.running.delete(statement)
    }
    const durationMs = performance.now() - startedMs
    const last = results[results.length - 1]!
    const rows = resultRows(last)
    const persisted = parsed.persist ? this.results.enqueue(rows, { executionTimeMs: durationMs }) : {}
    this.runs.finish(run, { status: 'succeeded', durationMs, engine: last.engine, rowCount: last.rowCount, ...(persisted.resultId === undefined ? {} : { resultId: persisted.resultId }) })
    this.metrics.recordQuery('succeeded', last.engine, durationMs)
    const head: Record<string, unknown> = {
      query_run_id: run.id,
      result_id: persisted.resultId ?? null,
      columns: last.columns.map((column) => column.name),
      column_types: last.columns.map((column) => column.type),
      // false only where the engine proves the column holds no NULL (src/sql/nullability.ts).
      nullable: last.columns.map((column) => column.nullable ?? true),
      row_count: last.rowCount,
      execution_time_ms: roundMs(durationMs),
      engine: last.engine,
    }
    if (last.txId !== undefined) head['tx_id'] = last.txId
    if (persisted.warning !== undefined) head['warning'] = persisted.warning
    response.off('close', onClose)
    await sendResult(response, format, head, rows).catch(ignoreClientGone)
  }

  /** A failed statement: its HTTP error (timeouts, shutdown and hang-ups told apart), recorded in the run log and metrics. */
  private queryFailure(thrown: unknown, statement: RunningStatement, run: ReturnType<QueryRunLog['start']>, parsed: QueryRequest, durationMs: number): HttpError {
    let error = toHttpError(thrown)
    let outcome: QueryOutcome = 'failed'
    if (statement.controller.signal.aborted && error.code === 'ABORTED') {
      if (statement.reason === 'timeout') {
        outcome = 'timeout'
        error = new HttpError(408, 'STATEMENT_TIMEOUT', `the statement ran longer than its timeout of ${parsed.timeoutMs} ms and was cancelled`)
      } else if (statement.reason === 'shutdown') {
        outcome = 'cancelled'
        error = new HttpError(503, 'SHUTTING_DOWN', 'the server is shutting down; the statement was cancelled', { 'retry-after': '1', connection: 'close' })
      } else outcome = 'cancelled'
    }
    this.runs.finish(run, { status: outcome === 'failed' ? 'failed' : 'cancelled', durationMs, error: { code: error.code, message: error.message } })
    this.metrics.recordQuery(outcome, 'none', durationMs)
    return error
  }

  /**
   * NDJSON straight from the engine's stream (Engine.stream): the head line (columns, types, store),
   * then one line per row as the store produces them, then a summary line with `row_count` and
   * `execution_time_ms`. The result is never held whole, so it is not persisted (`result_id` null).
   * An error after the head line ends the stream with an `{"error":…}` line.
   */
  private async streamQuery(response: ServerResponse, parsed: QueryRequest, statement: RunningStatement, run: ReturnType<QueryRunLog['start']>): Promise<void> {
    const session = this.engine.newSession()
    if (parsed.branch !== undefined) session.branch = parsed.branch
    const startedMs = performance.now()
    let streamed: StreamedResult
    try {
      streamed = await this.engine.stream(session, parsed.sql, parsed.params, executeOptions(parsed, statement))
      await this.refuseOpenTransaction(session)
    } catch (thrown) {
      if (session.inTransaction) await this.engine.abortSession(session).catch(() => undefined)
      throw this.queryFailure(thrown, statement, run, parsed, performance.now() - startedMs)
    }
    const head: Record<string, unknown> = {
      query_run_id: run.id,
      result_id: null,
      columns: streamed.columns.map((column) => column.name),
      column_types: streamed.columns.map((column) => column.type),
      nullable: streamed.columns.map((column) => column.nullable ?? true),
      engine: streamed.engine,
    }
    if (streamed.txId !== undefined) head['tx_id'] = streamed.txId
    response.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'x-content-type-options': 'nosniff' })
    // A client that stops reading must not hold the statement past its timeout (or a shutdown): waiting
    // for the socket to drain also ends when the statement is aborted, and the connection is dropped.
    const signal = statement.controller.signal
    const write = (text: string): Promise<void> => {
      if (signal.aborted) return Promise.reject(new StrataError('ABORTED', 'the streamed read was aborted'))
      return new Promise<void>((resolve, reject) => {
        const onAbort = (): void => {
          response.destroy()
          reject(new StrataError('ABORTED', 'the streamed read was aborted'))
        }
        signal.addEventListener('abort', onAbort, { once: true })
        writeChunk(response, text).then(
          () => {
            signal.removeEventListener('abort', onAbort)
            resolve()
          },
          (error: unknown) => {
            signal.removeEventListener('abort', onAbort)
            reject(error)
          },
        )
      })
    }
    let rowCount = 0
    try {
      await write(`${JSON.stringify(head)}\n`)
      for await (const batch of streamed.batches) {
        let text = ''
        for (const row of batch) text += `${JSON.stringify(row.map(encodeValue))}\n`
        rowCount += batch.length
        await write(text)
      }
    } catch (thrown) {
      const error = this.queryFailure(thrown, statement, run, parsed, performance.now() - startedMs)
      if (!response.destroyed) response.end(`${JSON.stringify({ error: { code: error.code, message: error.message } })}\n`)
      return
    }
    const durationMs = performance.now() - startedMs
    this.runs.finish(run, { status: 'succeeded', durationMs, engine: streamed.engine, rowCount })
    this.metrics.recordQuery('succeeded', streamed.engine, durationMs)
    response.end(`${JSON.stringify({ row_count: rowCount, execution_time_ms: roundMs(durationMs) })}\n`)
  }

  /** Each request is a session of its own: a text that leaves a transaction open is rolled back and refused. */
  private async refuseOpenTransaction(session: Session): Promise<void> {
    if (!session.inTransaction) return
    await this.engine.abortSession(session)
    throw new StrataError('TX_STATE', 'the SQL left a transaction open, so it was rolled back: send BEGIN … COMMIT in one request')
  }

  private parseQueryRequest(body: Buffer, access: Access): QueryRequest {
    if (body.length === 0) throw new HttpError(400, 'BAD_REQUEST', 'the request body is empty: send {"sql": "…"}')
    let value: unknown
    try {
      value = JSON.parse(body.toString('utf8'))
    } catch (error) {
      throw new HttpError(400, 'BAD_REQUEST', `the request body is not valid JSON: ${(error as Error).message}`)
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, 'BAD_REQUEST', 'the request body must be a JSON object: {"sql": "…"}')
    const fields = value as Record<string, unknown>
    const sql = fields['sql']
    if (typeof sql !== 'string') throw new HttpError(400, 'BAD_REQUEST', '"sql" is missing or not a string')
    if (sql.trim() === '') throw new HttpError(400, 'BAD_REQUEST', '"sql" is empty')
    const params = fields['params']
    if (params !== undefined && params !== null && typeof params !== 'object') throw new HttpError(400, 'BAD_REQUEST', '"params" must be an array ($1, $2, …) or an object ($name)')
    const timeoutMs = fields['timeout_ms'] ?? this.statementTimeoutMs
    if (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > limits.serverStatementTimeoutMsMax) {
      throw new HttpError(400, 'BAD_REQUEST', `"timeout_ms" must be an integer from 1 to ${limits.serverStatementTimeoutMsMax}`)
    }
    const engine = fields['engine']
    if (engine !== undefined && engine !== 'row' && engine !== 'column') throw new HttpError(400, 'BAD_REQUEST', '"engine" must be "row" or "column"')
    const maxStalenessMs = fields['max_staleness_ms']
    if (maxStalenessMs !== undefined && (typeof maxStalenessMs !== 'number' || !(maxStalenessMs >= 0))) throw new HttpError(400, 'BAD_REQUEST', '"max_staleness_ms" must be a non-negative number')
    const branch = fields['branch']
    if (branch !== undefined && typeof branch !== 'string') throw new HttpError(400, 'BAD_REQUEST', '"branch" must be a branch name')
    if (branch !== undefined) checkBranchName(branch)
    const persist = fields['persist'] ?? this.options.persistResults ?? true
    if (typeof persist !== 'boolean') throw new HttpError(400, 'BAD_REQUEST', '"persist" must be true or false')
    return {
      sql,
      params: params === null ? undefined : (params as QueryRequest['params']),
      timeoutMs,
      engine,
      maxStalenessMs,
      persist,
      readOnly: access === 'read',
      branch,
    }
  }
}

/** The engine options for a request's statement: its cancellation, store, staleness and access. */
function executeOptions(parsed: QueryRequest, statement: RunningStatement): ExecuteOptions {
  return { signal: statement.controller.signal, engine: parsed.engine, maxStalenessMs: parsed.maxStalenessMs, readOnly: parsed.readOnly }
}

/** A statement's result as rows the writers and the result store read by index. */
function resultRows(result: ArrayStatementResult): ResultRows {
  return { columns: result.columns, rowCount: result.rows.length, values: (index) => result.rows[index]! }
}

/** `?format=` wins over the Accept header; JSON is the default. */
function resultFormat(request: IncomingMessage, url: URL): ResultFormat {
  const requested = url.searchParams.get('format')
  if (requested !== null) {
    if (requested === 'json' || requested === 'ndjson' || requested === 'arrow') return requested
    throw new HttpError(400, 'BAD_REQUEST', `unknown format "${requested}": use json, ndjson or arrow`)
  }
  const accept = request.headers.accept ?? ''
  if (accept.includes('application/x-ndjson')) return 'ndjson'
  if (accept.includes('application/vnd.apache.arrow.stream')) return 'arrow'
  return 'json'
}

/** Reads the whole body, refusing (413) one larger than `bytesMax` before or while it arrives. */
async function readBody(request: IncomingMessage, bytesMax: number): Promise<Buffer> {
  const tooLarge = (): HttpError => new HttpError(413, 'PAYLOAD_TOO_LARGE', `the request body is larger than ${bytesMax} bytes`, { connection: 'close' })
  const declared = Number(request.headers['content-length'])
  if (Number.isFinite(declared) && declared > bytesMax) throw tooLarge()
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of request) {
    size += (chunk as Buffer).length
    if (size > bytesMax) throw tooLarge()
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

function integerParameter(url: URL, name: string, bounds: { readonly minimum: number; readonly maximum: number }): number | undefined {
  const text = url.searchParams.get(name)
  if (text === null) return undefined
  const value = Number(text)
  if (!Number.isInteger(value) || value < bounds.minimum || value > bounds.maximum) {
    throw new HttpError(400, 'BAD_REQUEST', `"${name}" must be an integer from ${bounds.minimum} to ${bounds.maximum}`)
  }
  return value
}

/** A path segment decoded; a malformed escape names nothing (so: not found). */
function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    return ''
  }
}

/** Milliseconds to the microsecond: more digits would be noise. */
function roundMs(durationMs: number): number {
  return Math.round(durationMs * 1000) / 1000
}

function ignoreClientGone(error: unknown): void {
  if (!(error instanceof ClientGone)) throw error
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest()
}

function sleep(durationMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, durationMs))
}
