/**
 * `strata serve`: one process that opens a data directory and serves it over HTTP (./http/), the
 * PostgreSQL wire protocol (./pg/) and a local socket in the directory for the `strata` CLI
 * (./local/), until SIGINT or SIGTERM. It holds the directory's lock, so it is the only process with
 * the directory open; the CLI's commands on it run through the local socket.
 *
 * Safety by default: it listens on loopback only. Any other address needs authentication configured
 * for every server it starts (a bearer token for HTTP, a password for PostgreSQL), or it refuses to
 * start (exit status 2). On a signal it stops accepting connections, gives running statements
 * `graceMs` to finish, cancels the rest, and closes the database: every acknowledged commit is
 * already durable in the row store, and close waits for the column store's sync to stop cleanly.
 */
import { isIP } from 'node:net'
import { Engine } from '../../engine/engine.js'
import { limits } from '../../util/limits.js'
import { startHttpServer, type HttpServer } from './http/index.js'
import { startLocalServer, type LocalServer } from './local/index.js'
import { startPgServer, type PgServer } from './pg/index.js'

export { serveDefaults } from './defaults.js'

export interface ServeOptions {
  /** A data directory (made absolute by the caller) or ':memory:'. */
  readonly databasePath: string
  readonly host: string
  /** 0 picks a free port. */
  readonly port: number
  /** undefined: no PostgreSQL server. 0 picks a free port. */
  readonly pgPort: number | undefined
  /** Bearer token the HTTP API requires (none, and no read-only token: no authentication). */
  readonly token?: string | undefined
  /** A second bearer token that may only read (writes get 403 READ_ONLY). */
  readonly readOnlyToken?: string | undefined
  readonly pgUser: string
  /** With it, PostgreSQL clients authenticate with SCRAM-SHA-256; without it, trust (loopback only). */
  readonly pgPassword?: string | undefined
  /** PEM files for TLS on the PostgreSQL port. */
  readonly tlsCertFile?: string | undefined
  readonly tlsKeyFile?: string | undefined
  readonly statementTimeoutMs?: number | undefined
  /** How long running statements may finish on shutdown. Default `limits.serverShutdownGraceMs`. */
  readonly graceMs?: number | undefined
}

export interface ServeOutput {
  writeOut(text: string): void
  writeError(text: string): void
}

/** A running `strata serve`. */
export interface Serving {
  readonly engine: Engine
  readonly http: HttpServer
  /** undefined when the PostgreSQL server is off (--no-pg). */
  readonly pg: PgServer | undefined
  /** The CLI's local socket in the data directory; undefined for ':memory:', which no other process can name. */
  readonly local: LocalServer | undefined
  /** Why there is no PostgreSQL server, when there is none. */
  readonly pgUnavailable: string | undefined
  /** How to connect: psql, node-postgres and curl lines with the actual ports. */
  connectionText(): string
  close(options?: { readonly graceMs?: number }): Promise<void>
}

/** Whether `host` only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
  if (bare === 'localhost' || bare === '::1') return true
  if (isIP(bare) === 4) return bare.startsWith('127.')
  return bare.startsWith('::ffff:127.')
}

/**
 * The reason these options may not be used, or undefined when they are fine: a non-loopback address
 * without authentication for every server that would listen on it.
 *
 * @example
 * refusal({ ...options, host: '0.0.0.0' }) // 'refusing to listen on 0.0.0.0 without authentication: …'
 */
export function refusal(options: ServeOptions): string | undefined {
  if (isLoopback(options.host)) return undefined
  const missing: string[] = []
  if ((options.token === undefined || options.token === '') && (options.readOnlyToken === undefined || options.readOnlyToken === '')) {
    missing.push('a bearer token for HTTP (--token or STRATA_TOKEN, or --read-only-token)')
  }
  if (options.pgPort !== undefined && (options.pgPassword === undefined || options.pgPassword === '')) {
    missing.push('a password for PostgreSQL (--pg-password or STRATA_PG_PASSWORD; or --no-pg)')
  }
  if (missing.length === 0) return undefined
  return `refusing to listen on ${options.host} without authentication: set ${missing.join(' and ')}, or listen on loopback (--host 127.0.0.1)`
}

/**
 * Opens the database and starts the servers. The caller must have checked `refusal(options)`.
 *
 * @example
 * const serving = await startServing({ databasePath: '/tmp/db', host: '127.0.0.1', port: 0, pgPort: 0, pgUser: 'strata' })
 * console.log(serving.connectionText())
 * await serving.close()
 */
export async function startServing(options: ServeOptions): Promise<Serving> {
  const engine = await Engine.open(options.databasePath, {})
  let http: HttpServer | undefined
  let pg: PgServer | undefined
  let local: LocalServer | undefined
  let pgUnavailable: string | undefined
  try {
    if (options.databasePath !== ':memory:') local = await startLocalServer(engine, { directory: options.databasePath })
    const token = options.token === undefined || options.token === '' ? undefined : options.token
    const readOnlyToken = options.readOnlyToken === undefined || options.readOnlyToken === '' ? undefined : options.readOnlyToken
    http = await startHttpServer(engine, {
      host: options.host,
      port: options.port,
      ...(token === undefined ? {} : { tokens: [token] }),
      ...(readOnlyToken === undefined ? {} : { readOnlyTokens: [readOnlyToken] }),
      ...(options.statementTimeoutMs === undefined ? {} : { statementTimeoutMs: options.statementTimeoutMs }),
      pgConnectionCount: () => pg?.connectionCount(),
    })
    if (options.pgPort === undefined) pgUnavailable = 'turned off (--no-pg)'
    else {
      const password = options.pgPassword === undefined || options.pgPassword === '' ? undefined : options.pgPassword
      pg = await startPgServer(engine, {
        host: options.host,
        port: options.pgPort,
        auth: password === undefined ? { kind: 'trust' } : { kind: 'scram', users: new Map([[options.pgUser, password]]) },
        ...(options.tlsCertFile === undefined || options.tlsKeyFile === undefined ? {} : { tls: { cert: options.tlsCertFile, key: options.tlsKeyFile } }),
        maxConnections: limits.pgConnectionsMax,
        statementTimeoutMs: options.statementTimeoutMs ?? limits.serverStatementTimeoutMsDefault,
      })
    }
  } catch (error) {
    await http?.close({ graceMs: 0 }).catch(() => undefined)
    await local?.close({ graceMs: 0 }).catch(() => undefined)
    await engine.close().catch(() => undefined)
    throw error
  }
  const httpServer = http
  let closing: Promise<void> | undefined
  return {
    engine,
    http: httpServer,
    pg,
    local,
    pgUnavailable,
    connectionText: () => connectionText(options, httpServer, pg, pgUnavailable, local),
    close: (closeOptions) => {
      const graceMs = closeOptions?.graceMs ?? options.graceMs ?? limits.serverShutdownGraceMs
      // The servers drain at once, then the database closes: nothing is left that could still write.
      closing ??= Promise.allSettled([httpServer.close({ graceMs }), pg?.close({ graceMs }), local?.close({ graceMs })]).then(async (outcomes) => {
        await engine.close()
        for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason
      })
      return closing
    },
  }
}

/**
 * The whole command: checks the options, serves, prints how to connect, and on SIGINT/SIGTERM shuts
 * down gracefully. Returns the exit status: 0 after a clean shutdown, 1 when the database or a server
 * failed, 2 when the options are refused. A second signal during shutdown exits at once (130).
 */
export async function runServe(options: ServeOptions, output: ServeOutput): Promise<number> {
  const refused = refusal(options)
  if (refused !== undefined) {
    output.writeError(`strata serve: ${refused}\n`)
    return 2
  }
  let serving: Serving
  try {
    serving = await startServing(options)
  } catch (error) {
    output.writeError(`strata serve: ${describe(error)}\n`)
    return 1
  }
  output.writeOut(serving.connectionText())
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const onSignal = (received: NodeJS.Signals): void => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      resolve(received)
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })
  const again = (): void => process.exit(130)
  process.once('SIGINT', again)
  process.once('SIGTERM', again)
  const graceMs = options.graceMs ?? limits.serverShutdownGraceMs
  output.writeOut(`\n${signal}: shutting down (running statements get ${graceMs} ms to finish)\n`)
  try {
    await serving.close({ graceMs })
  } catch (error) {
    output.writeError(`strata serve: shutting down failed: ${describe(error)}\n`)
    return 1
  } finally {
    process.off('SIGINT', again)
    process.off('SIGTERM', again)
  }
  output.writeOut('stopped; the database is closed\n')
  return 0
}

function connectionText(options: ServeOptions, http: HttpServer, pg: PgServer | undefined, pgUnavailable: string | undefined, local: LocalServer | undefined): string {
  // A wildcard address listens everywhere; examples run on this machine use loopback.
  const wildcard = options.host === '0.0.0.0' || options.host === '::' || options.host === ''
  const shown = wildcard ? '127.0.0.1' : options.host
  const hostInUrl = isIP(shown) === 6 ? `[${shown}]` : shown
  const httpUrl = `http://${hostInUrl}:${http.port}`
  const lines = [`Strata is serving ${options.databasePath}${wildcard ? ` on every interface (${options.host})` : ''}`, `  HTTP        ${httpUrl}${options.token || options.readOnlyToken ? '  (bearer token required)' : ''}`]
  if (pg !== undefined) {
    const auth = options.pgPassword ? 'SCRAM-SHA-256 password' : 'trust, loopback only'
    lines.push(`  PostgreSQL  ${hostInUrl}:${pg.port}  (user ${options.pgUser}, ${auth})`)
  } else lines.push(`  PostgreSQL  ${pgUnavailable ?? 'off'}`)
  if (local !== undefined) lines.push(`  CLI         ${local.socketPath}  (strata sql, shell, import and export --db ${options.databasePath} run through it)`)
  lines.push('', 'Connect:')
  if (pg !== undefined) {
    const url = `postgresql://${encodeURIComponent(options.pgUser)}@${hostInUrl}:${pg.port}/strata`
    const password = options.pgPassword ? 'PGPASSWORD=… ' : ''
    lines.push(`  ${password}psql "${url}"`)
    lines.push(`  node-postgres: new pg.Client({ connectionString: '${url}'${options.pgPassword ? ', password: process.env.STRATA_PG_PASSWORD' : ''} })`)
  }
  const authorization = options.token ? ` -H "Authorization: Bearer $STRATA_TOKEN"` : options.readOnlyToken ? ` -H "Authorization: Bearer $STRATA_READ_ONLY_TOKEN"` : ''
  lines.push(`  curl -s ${httpUrl}/query${authorization} -H 'content-type: application/json' -d '{"sql": "SELECT 42 AS answer"}'`)
  lines.push(`  curl -s ${httpUrl}/health`)
  lines.push('', 'Press Ctrl-C to stop.', '')
  return lines.join('\n')
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code
    return typeof code === 'string' ? `${code}: ${error.message}` : error.message
  }
  return String(error)
}
