/**
 * Strata's PostgreSQL server: the frontend/backend protocol version 3 on its own port, so psql,
 * node-postgres, psycopg2, pgbench and the ORMs built on them talk to Strata unchanged.
 *
 * The pieces: `protocol.ts` (framing and message layouts), `connection.ts` (one client: startup,
 * authentication, simple and extended query, COPY, cancel), `statements.ts` (what the wire needs from
 * a parse tree), `values.ts` (type OIDs, text and binary encodings), `sqlstate.ts` (our error codes as
 * SQLSTATEs), `settings.ts` (SET/SHOW), `catalog.ts` (pg_catalog and information_schema), `copy.ts`
 * (COPY's data formats), `scram.ts` (SCRAM-SHA-256).
 */
import { readFileSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { createSecureContext, type SecureContext } from 'node:tls'
import type { Engine } from '../../../engine/engine.js'
import type { Catalog } from '../../../sql/catalog.js'
import { StrataError } from '../../../util/errors.js'
import { limits } from '../../../util/limits.js'
import { catalogModel, OidAllocator, type CatalogModel } from './catalog.js'
import { NotificationHub } from './notify.js'
import { PgConnection, type ServerContext } from './connection.js'
import { scramVerifier, type ScramVerifier } from './scram.js'

/** How clients prove who they are: no check (loopback use), or SCRAM-SHA-256 against these passwords. */
export type PgAuth = { kind: 'trust' } | { kind: 'scram'; users: ReadonlyMap<string, string> /* user → password */ }

export interface PgServerOptions {
  readonly host: string
  /** 0 picks a free port (see the returned `port`). */
  readonly port: number
  readonly auth: PgAuth
  /** PEM files; with them, SSLRequest is answered 'S' and the connection upgraded to TLS. */
  readonly tls?: { readonly cert: string; readonly key: string }
  /** Sessions at once; one more is refused with FATAL 53300 too_many_connections. */
  readonly maxConnections: number
  /** A statement running longer is cancelled (57014); a client may set its own with SET statement_timeout. 0 = none. */
  readonly statementTimeoutMs: number
}

export interface PgServer {
  /** The port it listens on. */
  readonly port: number
  /** Stops listening; idle sessions end now, busy ones get `graceMs` (default limits.serverShutdownGraceMs) and are then cancelled. */
  close(options?: { readonly graceMs?: number }): Promise<void>
  /** Sessions past startup. */
  connectionCount(): number
}

/**
 * Starts the PostgreSQL-protocol server on `engine`.
 *
 * @example
 * const server = await startPgServer(engine, { host: '127.0.0.1', port: 5433, auth: { kind: 'trust' }, maxConnections: 100, statementTimeoutMs: 300_000 })
 * // psql -h 127.0.0.1 -p 5433 -U me -c 'select 1'
 * await server.close()
 */
export async function startPgServer(engine: Engine, options: PgServerOptions): Promise<PgServer> {
  if (!Number.isInteger(options.maxConnections) || options.maxConnections < 1) throw new StrataError('INVALID_PARAMETER', 'maxConnections must be a positive integer')
  let secureContext: SecureContext | undefined
  if (options.tls !== undefined) {
    try {
      secureContext = createSecureContext({ cert: readFileSync(options.tls.cert), key: readFileSync(options.tls.key) })
    } catch (error) {
      throw new StrataError('IO_ERROR', `cannot load the TLS certificate or key: ${(error as Error).message}`, { cause: error })
    }
  }
  // Passwords are salted and hashed once, here; the server keeps only SCRAM verifiers.
  const verifiers = new Map<string, ScramVerifier>()
  if (options.auth.kind === 'scram') for (const [user, password] of options.auth.users) verifiers.set(user, scramVerifier(password))
  const oids = new OidAllocator()
  const connections = new Set<PgConnection>()
  const sessions = new Set<PgConnection>()
  const byProcessId = new Map<number, PgConnection>()
  let processIds = 1000 + (process.pid % 1000) * 10_000
  let closing = false
  let modelCache: { catalog: Catalog; model: Promise<CatalogModel> } | undefined

  const buildModel = async (catalog: Catalog): Promise<CatalogModel> => {
    // A view's columns are its result's: asked of the engine once per catalog snapshot.
    const viewColumns = new Map<string, { name: string; type: string }[]>()
    for (const view of catalog.views.keys()) {
      try {
        const [result] = await engine.execute(engine.newSession(), `SELECT * FROM "${view.replaceAll('"', '""')}" LIMIT 0`, undefined, {})
        viewColumns.set(view, result?.columns.map((column) => ({ name: column.name, type: column.type })) ?? [])
      } catch {
        viewColumns.set(view, [])
      }
    }
    return catalogModel(catalog, viewColumns, oids)
  }

  const context: ServerContext = {
    engine,
    auth: options.auth.kind === 'trust' ? { kind: 'trust' } : { kind: 'scram', verifiers },
    secureContext,
    statementTimeoutMs: options.statementTimeoutMs,
    get closing() {
      return closing
    },
    register(connection) {
      if (sessions.size >= options.maxConnections) return false
      sessions.add(connection)
      byProcessId.set(connection.processId, connection)
      return true
    },
    unregister(connection) {
      sessions.delete(connection)
      byProcessId.delete(connection.processId)
    },
    cancel(processId, secretKey) {
      const target = byProcessId.get(processId)
      if (target !== undefined && target.secretKey === secretKey) target.cancel()
    },
    nextProcessId() {
      processIds = (processIds + 1) % 2 ** 31
      return processIds
    },
    catalogModel() {
      const catalog = engine.catalogSnapshot
      if (modelCache === undefined || modelCache.catalog !== catalog) modelCache = { catalog, model: buildModel(catalog) }
      return modelCache.model
    },
    roles(user) {
      return options.auth.kind === 'scram' ? [user, ...[...options.auth.users.keys()].filter((name) => name !== user)] : [user]
    },
    notifications: new NotificationHub(),
  }

  const server: Server = createServer((socket: Socket) => {
    const connection = new PgConnection(context, socket)
    connections.add(connection)
    void connection.run().finally(() => connections.delete(connection))
  })
  // Sessions plus room for CancelRequests and refusals; beyond that the listener drops sockets.
  server.maxConnections = options.maxConnections + limits.pgPendingConnectionsMax
  await new Promise<void>((resolve, reject) => {
    const failed = (error: Error): void => reject(new StrataError('IO_ERROR', `cannot listen on ${options.host}:${options.port}: ${error.message}`, { cause: error }))
    server.once('error', failed)
    server.listen(options.port, options.host, () => {
      server.off('error', failed)
      resolve()
    })
  })
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : options.port
  let closed: Promise<void> | undefined

  return {
    port,
    connectionCount: () => sessions.size,
    close(closeOptions = {}) {
      closed ??= (async () => {
        closing = true
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
        const graceMs = closeOptions.graceMs ?? limits.serverShutdownGraceMs
        await Promise.all([...connections].map((connection) => connection.shutdown(graceMs)))
        // Each connection rolls back its session as it ends; wait until they all have.
        while (connections.size > 0) await new Promise((resolve) => setTimeout(resolve, 5))
        await stopped
      })()
      return closed
    },
  }
}
