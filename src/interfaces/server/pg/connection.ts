/**
 * One client connection of the PostgreSQL server: startup (SSL/GSS negotiation, protocol version,
 * authentication), then the simple query protocol, the extended protocol (Parse/Bind/Describe/
 * Execute/Sync with named statements and portals), COPY in both directions, cancellation and
 * statement timeouts. Each connection runs its statements on its own engine Session, one at a time.
 *
 * Messages are pulled: the connection asks for the next message when it is ready for one, so COPY's
 * CopyData stream is read by the statement that wants it and a busy connection stops reading its
 * socket (TCP backpressure) instead of buffering what the client keeps sending.
 */
import { randomInt } from 'node:crypto'
import { getEventListeners, once } from 'node:events'
import type { Socket } from 'node:net'
import { TLSSocket, type SecureContext } from 'node:tls'
import { loadParser, parserReady } from '../../../sql/parse.js'
import { typeFromNames, typeLabel } from '../../../sql/types.js'
import { deparseStatement } from '../../../sql/deparse.js'
import type { ArrayStatementResult, Engine, StatementResult } from '../../../engine/engine.js'
import type { Session } from '../../../engine/session.js'
import type { PgNode, ScanToken } from '../../../sql/parse.js'
import { constantValue, list, names, nodeBody, nodeKind, quoteIdentifier } from '../../../sql/tree.js'
import { StrataError } from '../../../util/errors.js'
import { limits } from '../../../util/limits.js'
import { planCatalogQuery, type CatalogContext, type CatalogModel } from './catalog.js'
import { binaryCopyHeader, binaryCopyRow, binaryCopyTrailer, copiesThroughClient, copyFormat, CopyFormatError, copyLine, parseBinaryCopy, parseCopyRows, type CopyFormat } from './copy.js'
import {
  decodeBind,
  decodeDescribeOrClose,
  decodeExecute,
  decodeParse,
  decodeQuery,
  decodeSaslInitial,
  MessageReader,
  MessageWriter,
  InvalidTextEncoding,
  ProtocolViolation,
  writeAuthentication,
  writeCommandComplete,
  writeCopyResponse,
  writeError,
  writeParameterStatus,
  writeReadyForQuery,
  writeRowDescription,
  rowDescriptionMessage,
  utf8Text,
  type ErrorFields,
  type FieldDescription,
  type TypedMessage,
  type UntypedMessage,
} from './protocol.js'
import { ScramError, ScramExchange, scramMechanism, type ScramVerifier } from './scram.js'
import { notifyStatement, PendingNotifications, pgNotifyCall, type Listener, type NotificationHub, type Notification, type PendingAction } from './notify.js'
import { Settings } from './settings.js'
import { errorFields, sqlstate, WireError } from './sqlstate.js'
import { commandTag, isWrite, parameterCount, resultNames, returnsRows, splitQuery, type WireStatement } from './statements.js'
import { binaryValue, booleanText, byteaFromText, hasBinaryOutput, numericBinary, oid, parameterValue, textValue, wireType, type WireType } from './values.js'

/** What every connection shares: the engine, the configuration, and the server's bookkeeping. */
export interface ServerContext {
  readonly engine: Engine
  readonly auth: { readonly kind: 'trust' } | { readonly kind: 'scram'; readonly verifiers: ReadonlyMap<string, ScramVerifier> }
  readonly secureContext: SecureContext | undefined
  readonly statementTimeoutMs: number
  readonly closing: boolean
  /** Claims a session slot; false when maxConnections are in use. */
  register(connection: PgConnection): boolean
  unregister(connection: PgConnection): void
  cancel(processId: number, secretKey: number): void
  nextProcessId(): number
  catalogModel(): Promise<CatalogModel>
  /** The roles a catalog query shows (configured users, or the connecting user under trust). */
  roles(user: string): string[]
  /** LISTEN / NOTIFY channels (./notify.ts). */
  readonly notifications: NotificationHub
}

interface WireColumn {
  readonly name: string
  readonly type: WireType
}

/** A statement's result as the wire sends it. */
interface Outcome {
  /** Undefined: the statement returns no rows (NoData). */
  readonly columns: readonly WireColumn[] | undefined
  readonly rows: readonly (readonly unknown[])[]
  readonly tag: string
}

interface PreparedStatement {
  readonly name: string
  /** Undefined for an empty query string. */
  readonly statement: WireStatement | undefined
  /** Declared types, completed with 0 (unspecified) up to the statement's parameter count. */
  readonly parameterTypes: readonly number[]
  /** Its result shape, once a Describe asked. */
  shape?: readonly WireColumn[] | null
}

interface Portal {
  readonly prepared: PreparedStatement
  readonly parameters: readonly unknown[]
  readonly resultFormats: readonly number[]
  outcome?: Outcome
  /** Rows already sent by Execute. */
  sent: number
}

type Phase = 'startup' | 'ready' | 'closed'

const emptyOutcome = (tag: string): Outcome => ({ columns: undefined, rows: [], tag })

/** A callback that does nothing (a settled promise whose value nobody needs). */
const nothing = (): void => undefined

/**
 * A connection. `run()` resolves when it has closed and its session has been rolled back.
 *
 * @example
 * server.on('connection', (socket) => void new PgConnection(context, socket).run())
 */
export class PgConnection implements Listener {
  private socket: Socket
  /** NOTIFYs of the open transaction, sent at its COMMIT. */
  private readonly pendingNotifications = new PendingNotifications()
  private readonly reader = new MessageReader({ untypedBytesMax: limits.pgStartupBytesMax, typedBytesMax: limits.pgMessageBytesMax })
  private readonly out = new MessageWriter()
  private wake: (() => void) | undefined
  private ended = false
  private paused = false
  private phase: Phase = 'startup'
  private session: Session | undefined
  private settings: Settings | undefined
  private user = ''
  private database = ''
  readonly processId: number
  readonly secretKey = randomInt(0, 2 ** 31)
  private readonly prepared = new Map<string, PreparedStatement>()
  private readonly portals = new Map<string, Portal>()
  /** Extended protocol: after an error, messages are skipped until Sync. */
  private discarding = false
  /** The statement in flight: its abort controller, and whether its timeout fired. */
  private running: { readonly controller: AbortController; timedOut: boolean; readonly deadlineMs: number } | undefined
  /**
   * A finished statement's AbortController when nothing is left listening to its signal: a signal
   * that was never aborted and has no listeners is as good as new, and making one costs more than
   * a point read's own work.
   */
  private spareController: AbortController | undefined
  /** The statement-timeout timer and when it fires (performance.now() ms); one timer serves many statements. */
  private watchdog: NodeJS.Timeout | undefined
  private watchdogAtMs = 0
  /** Resolves when the statement in flight (if any) settles. */
  private idle: Promise<void> = Promise.resolve()
  /** The message being handled, until its answer is written. */
  private handling: Promise<void> | undefined
  private registered = false
  private readonly onData = (chunk: Buffer): void => {
    this.reader.push(chunk)
    if (this.reader.bufferedBytes > limits.pgMessageBytesMax && !this.paused) {
      this.paused = true
      this.socket.pause()
    }
    this.wake?.()
  }
  private readonly onEnd = (): void => {
    this.ended = true
    // A client that went away mid-statement: stop the statement, its result has nowhere to go.
    this.running?.controller.abort()
    this.wake?.()
  }

  constructor(
    private readonly server: ServerContext,
    socket: Socket,
  ) {
    this.socket = socket
    this.processId = server.nextProcessId()
    socket.setNoDelay(true)
    this.attach(socket)
  }

  private attach(stream: Socket): void {
    stream.on('data', this.onData)
    stream.on('end', this.onEnd)
    stream.on('close', this.onEnd)
    stream.on('error', this.onEnd)
  }

  private detach(stream: Socket): void {
    stream.off('data', this.onData)
    stream.off('end', this.onEnd)
    stream.off('close', this.onEnd)
    stream.off('error', this.onEnd)
  }

  async run(): Promise<void> {
    const timer = setTimeout(() => {
      if (this.phase === 'startup') this.socket.destroy()
    }, limits.pgAuthenticationTimeoutMs)
    timer.unref()
    try {
      if (await this.startup()) {
        clearTimeout(timer)
        await this.serve()
      }
    } catch (error) {
      if (error instanceof ProtocolViolation) await this.fatal({ severity: 'FATAL', code: sqlstate.protocolViolation, message: error.message })
      else if (error instanceof InvalidTextEncoding) await this.fatal({ severity: 'FATAL', code: sqlstate.characterNotInRepertoire, message: error.message })
      else if (!this.ended) await this.fatal({ severity: 'FATAL', code: sqlstate.internalError, message: `internal error: ${error instanceof Error ? error.message : String(error)}` })
    } finally {
      clearTimeout(timer)
      await this.cleanup()
    }
  }

  /** Cancels the statement in flight (CancelRequest with this connection's key). */
  cancel(): void {
    this.running?.controller.abort()
  }

  /**
   * Server shutdown: an idle connection is told FATAL 57P01 and closed now; a busy one gets `graceMs`
   * for its statement, then the statement is cancelled.
   */
  async shutdown(graceMs: number): Promise<void> {
    const handling = this.handling
    if (handling !== undefined) {
      const grace = new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref())
      await Promise.race([handling, grace])
      this.running?.controller.abort()
      // The message's own answer (its result or 57014) goes out before the FATAL.
      await handling
    }
    await this.fatal({ severity: 'FATAL', code: sqlstate.adminShutdown, message: 'terminating connection due to administrator command' })
  }

  // ───────────────────────────── reading and writing ─────────────────────────────

  private async waitForData(): Promise<void> {
    if (this.paused) {
      this.paused = false
      this.socket.resume()
    }
    await new Promise<void>((resolve) => {
      this.wake = resolve
    })
    this.wake = undefined
  }

  private async nextUntyped(): Promise<UntypedMessage | undefined> {
    for (;;) {
      const message = this.reader.nextUntyped()
      if (message !== undefined) return message
      if (this.ended) return undefined
      await this.waitForData()
    }
  }

  private async nextTyped(): Promise<TypedMessage | undefined> {
    for (;;) {
      const message = this.reader.nextTyped()
      if (message !== undefined) return message
      if (this.ended) return undefined
      await this.waitForData()
    }
  }

  /**
   * Sends what is buffered; a promise only when the client reads slower than we write (it resolves
   * when the socket drained).
   */
  private flush(): void | Promise<void> {
    if (this.out.size === 0 || this.ended || this.socket.destroyed) {
      if (this.ended) this.out.flush()
      return
    }
    if (!this.socket.write(this.out.flush())) {
      return Promise.race([once(this.socket, 'drain'), once(this.socket, 'close')]).then(nothing, nothing)
    }
  }

  private flushIfFull(): void | Promise<void> {
    if (this.out.size >= limits.pgOutputBufferBytes) return this.flush()
  }

  private async fatal(fields: ErrorFields): Promise<void> {
    if (this.phase === 'closed') return
    this.phase = 'closed'
    if (!this.ended && !this.socket.destroyed) {
      writeError(this.out, fields)
      await this.flush()
      this.socket.end()
    }
    this.ended = true
    this.wake?.()
  }

  private async cleanup(): Promise<void> {
    this.phase = 'closed'
    this.running?.controller.abort()
    await this.idle
    if (this.watchdog !== undefined) clearTimeout(this.watchdog)
    this.watchdog = undefined
    if (this.session !== undefined) await this.server.engine.abortSession(this.session).catch(() => undefined)
    this.pendingNotifications.take()
    this.server.notifications.unlisten(this, undefined)
    if (this.registered) this.server.unregister(this)
    this.registered = false
    this.detach(this.socket)
    // Let a FATAL message reach the client before the socket goes.
    if (this.socket.writableEnded && !this.socket.writableFinished && !this.socket.destroyed) {
      await Promise.race([once(this.socket, 'finish'), new Promise((resolve) => setTimeout(resolve, 1000).unref())]).catch(() => undefined)
    }
    if (!this.socket.destroyed) this.socket.destroy()
  }

  // ───────────────────────────── startup ─────────────────────────────

  /** True when the connection is authenticated and ready for queries. */
  private async startup(): Promise<boolean> {
    let secured = false
    for (;;) {
      const message = await this.nextUntyped()
      if (message === undefined) return false
      switch (message.kind) {
        case 'ssl': {
          if (this.server.secureContext === undefined || secured) {
            this.socket.write('N')
            continue
          }
          // Bytes sent before our answer would bypass encryption (PostgreSQL's CVE-2021-23214 check).
          if (this.reader.drain().length > 0) throw new ProtocolViolation('received unencrypted data after SSL request')
          this.socket.write('S')
          this.detach(this.socket)
          const secure = new TLSSocket(this.socket, { isServer: true, secureContext: this.server.secureContext })
          this.socket = secure
          this.attach(secure)
          secured = true
          continue
        }
        case 'gssenc':
          this.socket.write('N')
          continue
        case 'cancel':
          this.server.cancel(message.processId, message.secretKey)
          this.socket.end()
          return false
        case 'startup':
          return this.acceptStartup(message.version, message.parameters)
      }
    }
  }

  private async acceptStartup(version: number, parameters: ReadonlyMap<string, string>): Promise<boolean> {
    const major = version >>> 16
    const minor = version & 0xffff
    if (major !== 3) {
      await this.fatal({ severity: 'FATAL', code: sqlstate.featureNotSupported, message: `unsupported frontend protocol ${major}.${minor}: server supports 3.0 to 3.0` })
      return false
    }
    const user = parameters.get('user')
    if (user === undefined || user === '') {
      await this.fatal({ severity: 'FATAL', code: sqlstate.invalidAuthorizationSpecification, message: 'no PostgreSQL user name specified in startup packet' })
      return false
    }
    const replication = parameters.get('replication')
    if (replication !== undefined && !['false', 'off', 'no', '0'].includes(replication.toLowerCase())) {
      await this.fatal({ severity: 'FATAL', code: sqlstate.featureNotSupported, message: 'replication connections are not supported' })
      return false
    }
    if (this.server.closing) {
      await this.fatal({ severity: 'FATAL', code: '57P03', message: 'the database system is shutting down' })
      return false
    }
    if (!this.server.register(this)) {
      await this.fatal({ severity: 'FATAL', code: sqlstate.tooManyConnections, message: 'sorry, too many clients already' })
      return false
    }
    this.registered = true
    this.user = user
    this.database = parameters.get('database') || user
    // Options we do not know (protocol 3.x minor versions, _pq_.* extensions) are declined, as PostgreSQL does.
    const unknownOptions = [...parameters.keys()].filter((name) => name.startsWith('_pq_.'))
    if (minor > 0 || unknownOptions.length > 0) {
      this.out.begin('v').int32(0).int32(unknownOptions.length)
      for (const name of unknownOptions) this.out.cstring(name)
      this.out.end()
    }
    if (!(await this.authenticate(user))) return false
    const settings = new Settings({ user, applicationName: parameters.get('application_name') ?? '', statementTimeoutMs: this.server.statementTimeoutMs })
    try {
      for (const [name, value] of parameters) {
        if (['user', 'database', 'options', 'replication', 'application_name'].includes(name) || name.startsWith('_pq_.')) continue
        settings.set(name, value)
      }
      for (const [name, value] of commandLineOptions(parameters.get('options') ?? '')) settings.set(name, value)
    } catch (error) {
      await this.fatal({ ...errorFields(error), severity: 'FATAL' })
      return false
    }
    this.settings = settings
    this.session = this.server.engine.newSession()
    writeAuthentication(this.out, 0)
    for (const [name, value] of settings.reported()) writeParameterStatus(this.out, name, value)
    this.out.begin('K').int32(this.processId).int32(this.secretKey).end()
    writeReadyForQuery(this.out, 'I')
    this.phase = 'ready'
    await this.flush()
    return true
  }

  private async authenticate(user: string): Promise<boolean> {
    const auth = this.server.auth
    if (auth.kind === 'trust') return true
    const saslFailure = async (message: string, code: string = sqlstate.protocolViolation): Promise<false> => {
      await this.fatal({ severity: 'FATAL', code, message })
      return false
    }
    const exchange = new ScramExchange(auth.verifiers.get(user))
    writeAuthentication(this.out, 10, Buffer.from(`${scramMechanism}\0\0`))
    await this.flush()
    const initial = await this.nextTyped()
    if (initial === undefined) return false
    if (initial.type !== 'p') return saslFailure(`expected SASL response, got message type ${initial.type.charCodeAt(0)}`)
    try {
      const { mechanism, data } = decodeSaslInitial(initial.body)
      if (mechanism !== scramMechanism) return saslFailure('client selected an invalid SASL authentication mechanism', sqlstate.invalidAuthorizationSpecification)
      writeAuthentication(this.out, 11, Buffer.from(exchange.first(data.toString('utf8'))))
      await this.flush()
      const response = await this.nextTyped()
      if (response === undefined) return false
      if (response.type !== 'p') return saslFailure(`expected SASL response, got message type ${response.type.charCodeAt(0)}`)
      writeAuthentication(this.out, 12, Buffer.from(exchange.final(response.body.toString('utf8'))))
      return true
    } catch (error) {
      if (error instanceof ScramError) {
        if (error.badPassword) return saslFailure(`password authentication failed for user "${user}"`, sqlstate.invalidPassword)
        return saslFailure(error.message)
      }
      throw error
    }
  }

  // ───────────────────────────── the message loop ─────────────────────────────

  private async serve(): Promise<void> {
    for (;;) {
      // A message already buffered is taken without a turn of the promise machinery.
      const message = this.reader.nextTyped() ?? (await this.nextTyped())
      if (message === undefined || this.phase === 'closed') return
      if (this.paused && this.reader.bufferedBytes < limits.pgMessageBytesMax / 2) {
        this.paused = false
        this.socket.resume()
      }
      if (this.discarding && message.type !== 'S' && message.type !== 'X') continue
      if (message.type === 'X') return
      // Handled synchronously when its work is (a Bind, a point read, a Sync whose bytes the socket
      // took): nothing is in flight then, and the next message is read at once.
      const handling = this.handle(message)
      if (handling === undefined) continue
      this.handling = handling.then(nothing, nothing)
      try {
        await handling
      } finally {
        this.handling = undefined
      }
    }
  }

  /** One message; a promise only when its work waits for something (the engine, the socket, COPY data). */
  private handle(message: TypedMessage): void | Promise<void> {
    switch (message.type) {
      case 'Q': {
        let sql: string
        try {
          sql = decodeQuery(message.body)
        } catch (error) {
          if (!(error instanceof InvalidTextEncoding)) throw error
          this.sendError(error)
          writeReadyForQuery(this.out, this.transactionStatus())
          return this.flush()
        }
        return this.simpleQuery(sql)
      }
      case 'P':
        return this.extended(() => this.parse(message.body))
      case 'B':
        return this.extended(() => this.bind(message.body))
      case 'D':
        return this.extended(() => this.describe(message.body))
      case 'E':
        return this.extended(() => this.execute(message.body))
      case 'C':
        return this.extended(() => this.close(message.body))
      case 'S':
        this.sync()
        return this.flush()
      case 'H':
        return this.flush()
      case 'd':
      case 'c':
      case 'f':
        // CopyData/CopyDone/CopyFail outside COPY (left over after a failed COPY): ignored, as PostgreSQL does.
        return
      default:
        throw new ProtocolViolation(`invalid frontend message type ${message.type.charCodeAt(0)}`)
    }
  }

  private transactionStatus(): 'I' | 'T' {
    // A failed statement inside a transaction is undone on its own and the transaction stays open
    // (Strata's rule, as SQLite's), so there is no 'E' (failed transaction) state to report.
    return this.session?.inTransaction === true ? 'T' : 'I'
  }

  private sendError(error: unknown, positionBase = 0): void {
    if (error instanceof ProtocolViolation) throw error
    const timedOut = this.lastCancel === 'timeout'
    const fields = this.lastCancel !== undefined ? errorFields(new StrataError('ABORTED', 'canceled'), { timedOut }) : errorFields(error, { positionBase })
    this.lastCancel = undefined
    writeError(this.out, fields)
  }

  /** How the last statement was cancelled, if it was: its error becomes 57014 whatever the engine said. */
  private lastCancel: 'timeout' | 'cancel' | undefined

  /**
   * Runs `body` as the statement in flight: cancellable, with the statement timeout. A body that
   * completes synchronously (a row-store read) completes so here too: nothing could cancel it or time
   * it out while it ran (the event loop did not turn), and it costs no promise.
   */
  private guarded<T>(body: (signal: AbortSignal) => T | Promise<T>): T | Promise<T> {
    const controller = this.spareController ?? new AbortController()
    this.spareController = undefined
    const timeoutMs = this.settings?.statementTimeoutMs ?? this.server.statementTimeoutMs
    const state = { controller, timedOut: false, deadlineMs: timeoutMs > 0 ? performance.now() + timeoutMs : Infinity }
    if (timeoutMs > 0) this.armWatchdog(state.deadlineMs)
    this.running = state
    this.lastCancel = undefined
    let result: T | Promise<T>
    try {
      result = body(controller.signal)
    } catch (error) {
      this.settleGuarded(state, { error })
      throw error
    }
    if (!(result instanceof Promise)) {
      this.settleGuarded(state, undefined)
      return result
    }
    let settle: () => void = nothing
    this.idle = new Promise<void>((resolve) => {
      settle = resolve
    })
    return result.then(
      (value) => {
        this.settleGuarded(state, undefined)
        settle()
        return value
      },
      (error: unknown) => {
        this.settleGuarded(state, { error })
        settle()
        throw error
      },
    )
  }

  /** The statement in flight settled (`failure`: how it failed, if it did). */
  private settleGuarded(state: { readonly controller: AbortController; timedOut: boolean }, failure: { readonly error: unknown } | undefined): void {
    const controller = state.controller
    if (failure !== undefined && controller.signal.aborted && !(failure.error instanceof ProtocolViolation)) this.lastCancel = state.timedOut ? 'timeout' : 'cancel'
    this.running = undefined
    if (!controller.signal.aborted && getEventListeners(controller.signal, 'abort').length === 0) this.spareController = controller
  }

  /**
   * Makes sure the watchdog fires by `deadlineMs`. Deadlines mostly only grow (the same timeout,
   * later statements), so the timer already set usually serves: it fires, and re-arms itself for
   * the statement then running if that one's deadline is still ahead.
   */
  private armWatchdog(deadlineMs: number): void {
    if (this.watchdog !== undefined && this.watchdogAtMs <= deadlineMs) return
    if (this.watchdog !== undefined) clearTimeout(this.watchdog)
    this.watchdogAtMs = deadlineMs
    this.watchdog = setTimeout(() => this.checkDeadline(), Math.max(0, deadlineMs - performance.now()))
    this.watchdog.unref()
  }

  private checkDeadline(): void {
    this.watchdog = undefined
    const running = this.running
    if (running === undefined || running.deadlineMs === Infinity) return
    if (performance.now() >= running.deadlineMs) {
      running.timedOut = true
      running.controller.abort()
    } else this.armWatchdog(running.deadlineMs)
  }

  // ───────────────────────────── simple query ─────────────────────────────

  private simpleQuery(sql: string): void | Promise<void> {
    let statements: readonly WireStatement[]
    // The parser has no instance only in the moments after two faults in a row (src/sql/wasm.ts).
    if (!parserReady()) return loadParser().then(() => this.simpleQuery(sql))
    try {
      statements = splitQuery(sql)
    } catch (error) {
      this.sendError(error)
      return this.readyForQuery()
    }
    if (statements.length === 0) {
      this.out.begin('I').end()
      return this.readyForQuery()
    }
    if (statements.length === 1) return this.simpleStatement(statements[0]!)
    return this.simpleStatements(statements)
  }

  /** ReadyForQuery, and everything buffered sent. */
  private readyForQuery(): void | Promise<void> {
    writeReadyForQuery(this.out, this.transactionStatus())
    return this.flush()
  }

  /**
   * A Query message of one statement (no implicit transaction): synchronous when the statement's work
   * is (a point read), else once it settles; the same messages as `simpleStatements` sends for it.
   */
  private simpleStatement(statement: WireStatement): void | Promise<void> {
    let outcome: Outcome | Promise<Outcome>
    try {
      outcome = this.guarded((signal) => this.runStatement(statement, [], signal))
    } catch (error) {
      this.sendError(error, statement.offset)
      return this.readyForQuery()
    }
    if (outcome instanceof Promise) {
      return outcome.then(
        (settled) => this.sendSimpleOutcome(statement, settled),
        (error: unknown) => {
          this.sendError(error, statement.offset)
          return this.readyForQuery()
        },
      )
    }
    return this.sendSimpleOutcome(statement, outcome)
  }

  /** A simple-protocol statement's result: RowDescription, the rows, CommandComplete, ReadyForQuery. */
  private sendSimpleOutcome(statement: WireStatement, outcome: Outcome): void | Promise<void> {
    const failed = (error: unknown): void | Promise<void> => {
      this.sendError(error, statement.offset)
      return this.readyForQuery()
    }
    let sent: void | Promise<void>
    try {
      if (outcome.columns !== undefined) this.describeColumns(outcome.columns, [])
      sent = this.sendRows(outcome, [], 0, outcome.rows.length)
    } catch (error) {
      return failed(error)
    }
    if (sent instanceof Promise) {
      return sent.then(() => {
        writeCommandComplete(this.out, outcome.tag)
        return this.readyForQuery()
      }, failed)
    }
    writeCommandComplete(this.out, outcome.tag)
    return this.readyForQuery()
  }

  /** A Query message of several statements: one transaction when it writes (as PostgreSQL runs it). */
  private async simpleStatements(statements: readonly WireStatement[]): Promise<void> {
    const session = this.session!
    // PostgreSQL runs a several-statement Query as one transaction unless it controls transactions
    // itself; here too when it writes (a read-only one needs no writer lock).
    const implicit =
      statements.length > 1 && !session.inTransaction && statements.some(isWrite) && !statements.some((statement) => statement.kind === 'TransactionStmt' || statement.kind === 'CopyStmt')
    let failed = false
    if (implicit) {
      try {
        await this.guarded((signal) => this.server.engine.execute(session, 'BEGIN', undefined, { signal }))
      } catch (error) {
        this.sendError(error)
        failed = true
      }
    }
    for (const statement of failed ? [] : statements) {
      try {
        const outcome = await this.guarded((signal) => this.runStatement(statement, [], signal))
        if (outcome.columns !== undefined) this.describeColumns(outcome.columns, [])
        await this.sendRows(outcome, [], 0, outcome.rows.length)
        writeCommandComplete(this.out, outcome.tag)
      } catch (error) {
        this.sendError(error, statement.offset)
        failed = true
        break
      }
    }
    if (implicit && session.inTransaction) {
      let committed = false
      if (failed) await this.server.engine.abortSession(session).catch(() => undefined)
      else {
        try {
          await this.server.engine.execute(session, 'COMMIT', undefined, {})
          committed = true
        } catch (error) {
          this.sendError(error)
          await this.server.engine.abortSession(session).catch(() => undefined)
        }
      }
      this.settleNotifications(committed)
    }
    writeReadyForQuery(this.out, this.transactionStatus())
    await this.flush()
  }

  // ───────────────────────────── extended protocol ─────────────────────────────

  /** An extended-protocol message: after an error, the rest until Sync is skipped. Synchronous when `body` is. */
  private extended(body: () => void | Promise<void>): void | Promise<void> {
    const failed = (error: unknown): void | Promise<void> => {
      this.sendError(error)
      this.discarding = true
      return this.flushIfFull()
    }
    let done: void | Promise<void>
    try {
      done = body()
    } catch (error) {
      return failed(error)
    }
    if (done instanceof Promise) return done.then(() => this.flushIfFull(), failed)
    return this.flushIfFull()
  }

  private parse(body: Buffer): void | Promise<void> {
    const message = decodeParse(body)
    if (!parserReady()) return loadParser().then(() => this.parse(body))
    if (message.name !== '' && this.prepared.has(message.name)) throw new WireError(sqlstate.duplicatePreparedStatement, `prepared statement "${message.name}" already exists`)
    if (this.prepared.size >= limits.pgPreparedStatementsMax) throw new StrataError('INVALID_PARAMETER', `too many prepared statements (${limits.pgPreparedStatementsMax}); close some`)
    const statements = splitQuery(message.query)
    if (statements.length > 1) throw new StrataError('SYNTAX_ERROR', 'cannot insert multiple commands into a prepared statement')
    const statement = statements[0]
    const count = statement === undefined ? 0 : parameterCount(statement)
    const parameterTypes = Array.from({ length: Math.max(count, message.parameterTypes.length) }, (_, index) => message.parameterTypes[index] ?? 0)
    this.prepared.set(message.name, { name: message.name, statement, parameterTypes })
    this.out.begin('1').end()
  }

  private bind(body: Buffer): void {
    const message = decodeBind(body)
    const prepared = this.prepared.get(message.statement)
    if (prepared === undefined) throw new WireError(sqlstate.invalidSqlStatementName, `prepared statement "${message.statement}" does not exist`)
    if (message.parameters.length !== prepared.parameterTypes.length) {
      throw new ProtocolViolation(`bind message supplies ${message.parameters.length} parameters, but prepared statement "${message.statement}" requires ${prepared.parameterTypes.length}`)
    }
    if (message.portal !== '' && this.portals.has(message.portal)) throw new WireError(sqlstate.duplicateCursor, `cursor "${message.portal}" already exists`)
    const parameters = message.parameters.map((raw, index) => {
      try {
        return parameterValue(raw, message.parameterFormats[index] ?? 0, prepared.parameterTypes[index] ?? 0)
      } catch (error) {
        if (error instanceof TypeError) throw new StrataError('TYPE_MISMATCH', `${error.message} (parameter $${index + 1})`)
        throw error
      }
    })
    this.portals.set(message.portal, { prepared, parameters, resultFormats: message.resultFormats, sent: 0 })
    this.out.begin('2').end()
  }

  private describe(body: Buffer): void | Promise<void> {
    const { target, name } = decodeDescribeOrClose(body, 'Describe')
    if (target === 'S') {
      const prepared = this.prepared.get(name)
      if (prepared === undefined) throw new WireError(sqlstate.invalidSqlStatementName, `prepared statement "${name}" does not exist`)
      if (prepared.shape !== undefined) return this.describeStatement(prepared, prepared.shape)
      const described = (shape: readonly WireColumn[] | null): void => {
        prepared.shape = shape
        this.describeStatement(prepared, shape)
      }
      const shape = this.guarded((signal) => this.statementShape(prepared, signal))
      return shape instanceof Promise ? shape.then(described) : described(shape)
    }
    const portal = this.portals.get(name)
    if (portal === undefined) throw new WireError(sqlstate.invalidCursorName, `portal "${name}" does not exist`)
    const statement = portal.prepared.statement
    if (statement === undefined || !returnsRows(statement)) {
      this.out.begin('n').end()
      return
    }
    // The portal's shape is that of its result: it runs now (Execute, which node-postgres and others
    // send right after, hands out the rows). A RETURNING write therefore happens at Describe.
    const describePortal = (outcome: Outcome): void => {
      portal.outcome ??= outcome
      if (portal.outcome.columns === undefined) this.out.begin('n').end()
      else this.describeColumns(portal.outcome.columns, portal.resultFormats)
    }
    if (portal.outcome !== undefined) return describePortal(portal.outcome)
    const outcome = this.guarded((signal) => this.runStatement(statement, portal.parameters, signal))
    return outcome instanceof Promise ? outcome.then(describePortal) : describePortal(outcome)
  }

  /** ParameterDescription and RowDescription (or NoData) of a prepared statement. */
  private describeStatement(prepared: PreparedStatement, shape: readonly WireColumn[] | null): void {
    this.out.begin('t').int16(prepared.parameterTypes.length)
    // Types nobody declared are described as text: clients then send text, which the engine coerces.
    for (const type of prepared.parameterTypes) this.out.int32(type === 0 ? oid.text : type)
    this.out.end()
    if (shape === null) this.out.begin('n').end()
    else this.describeColumns(shape, [])
  }

  private execute(body: Buffer): void | Promise<void> {
    const { portal: name, rowsMax } = decodeExecute(body)
    const portal = this.portals.get(name)
    if (portal === undefined) throw new WireError(sqlstate.invalidCursorName, `portal "${name}" does not exist`)
    const statement = portal.prepared.statement
    if (statement === undefined) {
      this.out.begin('I').end()
      return
    }
    const executePortal = (outcome: Outcome): void | Promise<void> => {
      portal.outcome = outcome
      const start = portal.sent
      const end = rowsMax === 0 ? outcome.rows.length : Math.min(outcome.rows.length, start + rowsMax)
      const complete = (): void => {
        portal.sent = end
        // As PostgreSQL: a run that filled its row limit is suspended (even if nothing is left); the tag
        // counts the rows of this Execute.
        if (rowsMax > 0 && end - start === rowsMax) this.out.begin('s').end()
        else writeCommandComplete(this.out, outcome.columns === undefined ? outcome.tag : retag(outcome.tag, end - start))
      }
      const sent = this.sendRows(outcome, portal.resultFormats, start, end)
      return sent instanceof Promise ? sent.then(complete) : complete()
    }
    if (portal.outcome !== undefined) return executePortal(portal.outcome)
    const outcome = this.guarded((signal) => this.runStatement(statement, portal.parameters, signal))
    return outcome instanceof Promise ? outcome.then(executePortal) : executePortal(outcome)
  }

  private close(body: Buffer): void {
    const { target, name } = decodeDescribeOrClose(body, 'Close')
    if (target === 'S') this.prepared.delete(name)
    else this.portals.delete(name)
    this.out.begin('3').end()
  }

  private sync(): void {
    this.discarding = false
    // Portals live until the end of their transaction; outside one, that is now.
    if (this.session?.inTransaction !== true) this.portals.clear()
    else this.portals.delete('')
    writeReadyForQuery(this.out, this.transactionStatus())
  }

  /** A prepared statement's result columns without running it for real (null: it returns none). */
  private async statementShape(prepared: PreparedStatement, signal: AbortSignal): Promise<readonly WireColumn[] | null> {
    const statement = prepared.statement
    if (statement === undefined || !returnsRows(statement)) return null
    const nulls = prepared.parameterTypes.map(() => null)
    if (statement.tree === undefined) {
      // DuckDB-only syntax or time travel: a read (returnsRows said so). A query is wrapped in LIMIT 0;
      // DESCRIBE, SHOW, SUMMARIZE … run as they are, being cheap reads.
      const wrap = ['SELECT', 'WITH', 'FROM', 'VALUES', 'TABLE'].includes(statement.kind)
      const text = wrap ? `SELECT * FROM (\n${statement.text}\n) AS strata_describe LIMIT 0` : statement.text
      const [result] = await this.server.engine.execute(this.session!, text, nulls.length === 0 ? undefined : nulls, { signal })
      return result === undefined || result.columns.length === 0 ? null : this.columnsOf(statement, result)
    }
    switch (statement.kind) {
      case 'SelectStmt': {
        if (statement.catalog) return (await this.catalogQuery(statement, nulls, signal)).columns ?? null
        const body = statement.body!
        // LIMIT 0 keeps the statement's route (and so its types) and has no side effects.
        const text =
          body['limitCount'] === undefined && body['limitOffset'] === undefined && body['lockingClause'] === undefined
            ? `${statement.text}\nLIMIT 0`
            : `SELECT * FROM (\n${statement.text}\n) AS strata_describe LIMIT 0`
        const [result] = await this.server.engine.execute(this.session!, text, nulls, { signal })
        return result === undefined ? null : this.columnsOf(statement, result)
      }
      case 'VariableShowStmt':
        return (await this.show(statement, signal)).columns ?? null
      case 'InsertStmt':
      case 'UpdateStmt':
      case 'DeleteStmt':
        return this.returningShape(statement)
      default:
        return null
    }
  }

  /** RETURNING's columns from the catalog: a column has its type, anything else is text. */
  private returningShape(statement: WireStatement): readonly WireColumn[] {
    const relation = nodeBody({ RangeVar: statement.body?.['relation'] }, 'RangeVar')
    const table = this.server.engine.catalogSnapshot.tables.get(String(relation?.['relname'] ?? ''))
    const typeOf = (name: string): WireType => {
      const column = table?.columns.find((candidate) => candidate.name === name)
      return wireType(column === undefined ? 'VARCHAR' : column.type.name === 'DECIMAL' ? `DECIMAL(${column.type.precision ?? 18},${column.type.scale ?? 3})` : column.type.name)
    }
    const columns: WireColumn[] = []
    for (const item of list(statement.body?.['returningList'])) {
      const target = nodeBody(item, 'ResTarget')
      const reference = nodeBody(target?.['val'], 'ColumnRef')
      const fields = list(reference?.['fields'])
      const last = fields[fields.length - 1]
      if (nodeKind(last) === 'A_Star') {
        for (const column of table?.columns ?? []) columns.push({ name: column.name, type: typeOf(column.name) })
        continue
      }
      const columnName = nodeKind(last) === 'String' ? String(nodeBody(last, 'String')?.['sval'] ?? '') : undefined
      const name = typeof target?.['name'] === 'string' ? target['name'] : (columnName ?? '?column?')
      columns.push({ name, type: columnName === undefined ? wireType('VARCHAR') : typeOf(columnName) })
    }
    return columns
  }

  // ───────────────────────────── running a statement ─────────────────────────────

  /**
   * Runs one statement: the wire's own statements here, catalog SELECTs via catalog.ts, the rest by
   * the engine — synchronously when the engine's work is (a point read costs no promise).
   */
  private runStatement(statement: WireStatement, parameters: readonly unknown[], signal: AbortSignal): Outcome | Promise<Outcome> {
    const engine = this.server.engine
    const session = this.session!
    const body = statement.body
    switch (statement.kind) {
      case 'VariableSetStmt':
        return this.set(statement, body!, signal)
      case 'VariableShowStmt':
        return this.show(statement, signal)
      case 'DiscardStmt':
        for (const [name, value] of this.settings!.resetAll()) writeParameterStatus(this.out, name, value)
        this.prepared.clear()
        this.portals.clear()
        return emptyOutcome(commandTag(statement, 0))
      case 'DeallocateStmt':
        if (typeof body?.['name'] === 'string') this.prepared.delete(body['name'])
        else this.prepared.clear()
        return emptyOutcome(commandTag(statement, 0))
      case 'CopyStmt':
        return this.copy(statement, body!, signal)
      case 'ListenStmt':
        this.channelAction({ kind: 'listen', channel: String(body!['conditionname']) })
        return emptyOutcome(commandTag(statement, 0))
      case 'UnlistenStmt':
        this.channelAction({ kind: 'unlisten', channel: typeof body!['conditionname'] === 'string' ? body!['conditionname'] : undefined })
        return emptyOutcome(commandTag(statement, 0))
      case 'NotifyStmt':
        this.channelAction({ kind: 'notify', notification: notifyStatement(body!) })
        return emptyOutcome(commandTag(statement, 0))
      case 'TransactionStmt':
        return this.transactionStatement(statement, parameters, signal)
      case 'PrepareStmt':
        return this.prepareStatement(statement, body!)
      case 'ExecuteStmt':
        return this.executeStatement(body!, parameters, signal)
      case 'SelectStmt': {
        const notification = pgNotifyCall(body!, parameters)
        if (notification !== undefined) {
          this.channelAction({ kind: 'notify', notification })
          return { columns: [{ name: resultNames(statement)?.[0] ?? 'pg_notify', type: wireType('VOID') }], rows: [['']], tag: 'SELECT 1' }
        }
        if (statement.catalog) return this.catalogQuery(statement, parameters, signal)
        break
      }
      default:
        break
    }
    // Parsed once, here (splitQuery); rows as arrays, so two result columns with one name (a join's
    // two ids) both reach the client.
    const results = engine.executeParsedNow(session, statement.parsed, parameters, { signal })
    if (results instanceof Promise) return results.then(([result]) => this.engineOutcome(statement, result))
    return this.engineOutcome(statement, results[0])
  }

  private engineOutcome(statement: WireStatement, result: ArrayStatementResult | undefined): Outcome {
    return result === undefined ? emptyOutcome(commandTag(statement, 0)) : this.outcomeOf(statement, result)
  }

  /**
   * SQL-level `PREPARE name [(types)] AS statement`: the same prepared statements as the protocol's
   * Parse (one namespace, as in PostgreSQL; DEALLOCATE removes either kind). The statement is kept as
   * the engine's text for its tree.
   */
  private prepareStatement(statement: WireStatement, body: PgNode): Outcome {
    const name = String(body['name'])
    if (this.prepared.has(name)) throw new WireError(sqlstate.duplicatePreparedStatement, `prepared statement "${name}" already exists`)
    if (this.prepared.size >= limits.pgPreparedStatementsMax) throw new StrataError('INVALID_PARAMETER', `too many prepared statements (${limits.pgPreparedStatementsMax}); close some`)
    const [inner] = splitQuery(deparseStatement(body['query']))
    if (inner === undefined) throw new StrataError('SYNTAX_ERROR', 'PREPARE needs a statement after AS')
    const declared = list(body['argtypes']).map((typeName) => {
      const type = nodeBody(typeName, 'TypeName')
      return type === undefined ? 0 : wireType(typeLabel(typeFromNames(names(type['names']), list(type['typmods']).map((modifier) => Number(constantValue(nodeBody(modifier, 'A_Const') ?? {}).value))))).oid
    })
    const count = parameterCount(inner)
    const parameterTypes = Array.from({ length: Math.max(count, declared.length) }, (_, index) => declared[index] ?? 0)
    this.prepared.set(name, { name, statement: inner, parameterTypes })
    return emptyOutcome(commandTag(statement, 0))
  }

  /** SQL-level `EXECUTE name [(values)]`: constants (or the protocol's parameters), converted to the declared types. */
  private async executeStatement(body: PgNode, parameters: readonly unknown[], signal: AbortSignal): Promise<Outcome> {
    const name = String(body['name'])
    const prepared = this.prepared.get(name)
    if (prepared === undefined) throw new WireError(sqlstate.invalidSqlStatementName, `prepared statement "${name}" does not exist`)
    const given = list(body['params'])
    if (given.length !== prepared.parameterTypes.length) {
      throw new WireError(sqlstate.syntaxError, `wrong number of parameters for prepared statement "${name}": expected ${prepared.parameterTypes.length}, got ${given.length}`)
    }
    const values = given.map((expression, index) => {
      const value = executeArgument(expression, parameters)
      const typeOid = prepared.parameterTypes[index] ?? 0
      if (typeof value !== 'string' || typeOid === 0) return value
      try {
        return parameterValue(Buffer.from(value, 'utf8'), 0, typeOid)
      } catch (error) {
        if (error instanceof TypeError) throw new StrataError('TYPE_MISMATCH', `${error.message} (parameter $${index + 1} of "${name}")`)
        throw error
      }
    })
    if (prepared.statement === undefined) return emptyOutcome('EMPTY')
    return this.runStatement(prepared.statement, values, signal)
  }

  /**
   * COMMIT carries out the transaction's NOTIFY / LISTEN / UNLISTEN, ROLLBACK drops them, whether or
   * not the statement succeeded; savepoints mark where ROLLBACK TO cuts them back to.
   */
  private async transactionStatement(statement: WireStatement, parameters: readonly unknown[], signal: AbortSignal): Promise<Outcome> {
    const kind = statement.body?.['kind']
    const savepoint = String(statement.body?.['savepoint_name'] ?? '')
    const ends = kind === 'TRANS_STMT_COMMIT' || kind === 'TRANS_STMT_ROLLBACK'
    let committed = false
    try {
      const [result] = await this.server.engine.executeParsed(this.session!, statement.parsed, parameters, { signal })
      committed = kind === 'TRANS_STMT_COMMIT'
      if (kind === 'TRANS_STMT_SAVEPOINT') this.pendingNotifications.savepoint(savepoint)
      else if (kind === 'TRANS_STMT_RELEASE') this.pendingNotifications.release(savepoint)
      else if (kind === 'TRANS_STMT_ROLLBACK_TO') this.pendingNotifications.rollbackTo(savepoint)
      return result === undefined ? emptyOutcome(commandTag(statement, 0)) : this.outcomeOf(statement, result)
    } finally {
      if (ends) this.settleNotifications(committed)
    }
  }

  /** A NOTIFY, LISTEN or UNLISTEN: carried out now outside a transaction, at COMMIT inside one. */
  private channelAction(action: PendingAction): void {
    if (this.session!.inTransaction) this.pendingNotifications.add(action)
    else this.carryOut([action])
  }

  private settleNotifications(committed: boolean): void {
    const actions = this.pendingNotifications.take()
    if (committed) this.carryOut(actions)
  }

  private carryOut(actions: readonly PendingAction[]): void {
    const hub = this.server.notifications
    const notifications: Notification[] = []
    for (const action of actions) {
      if (action.kind === 'listen') hub.listen(this, action.channel)
      else if (action.kind === 'unlisten') hub.unlisten(this, action.channel)
      else notifications.push(action.notification)
    }
    if (notifications.length > 0) hub.publish(this.processId, notifications)
  }

  /** A NotificationResponse from any connection's NOTIFY on a channel this one listens on; sent at once. */
  deliver(processId: number, channel: string, payload: string): void {
    if (this.phase === 'closed' || this.ended || this.socket.destroyed) return
    this.out.begin('A').int32(processId).cstring(channel).cstring(payload).end()
    void this.flush()
  }

  private columnsOf(statement: WireStatement, result: Pick<StatementResult, 'columns'>): readonly WireColumn[] {
    const columns = result.columns
    const names = resultNames(statement)
    // The engine hands back a row-store plan's columns as one frozen array every time, for every
    // statement of the plan (a plan template's too): what the wire makes of them is kept with them.
    if (Object.isFrozen(columns)) {
      const known = wireColumnsOfColumns.get(columns)
      if (known !== undefined && sameNames(known.names, names)) return known.wire
      const wire = wireColumns(columns, names)
      wireColumnsOfColumns.set(columns, { names, wire })
      return wire
    }
    // A prepared statement gives the same columns every time: reuse what was derived from them.
    const cached = wireColumnsCache.get(statement)
    if (cached !== undefined && sameColumns(cached.source, columns)) return cached.wire
    const wire = wireColumns(columns, names)
    wireColumnsCache.set(statement, { source: columns.map((column) => ({ name: column.name, type: column.type })), wire })
    return wire
  }

  private outcomeOf(statement: WireStatement, result: ArrayStatementResult): Outcome {
    const tag = commandTag(statement, result.rowCount)
    // A SELECT always describes its columns; anything else has rows when the engine returned columns.
    if (result.columns.length === 0 && statement.kind !== 'SelectStmt') return { columns: undefined, rows: [], tag }
    return { columns: this.columnsOf(statement, result), rows: result.rows, tag }
  }

  private catalogContext(): CatalogContext {
    const settings = this.settings!
    return {
      user: this.user,
      database: this.database,
      processId: this.processId,
      roles: this.server.roles(this.user),
      setting: (name) => settings.get(name),
      settings: () => settings.all(),
      setSetting: (name, value) => {
        for (const [reported, current] of settings.set(name, value)) writeParameterStatus(this.out, reported, current)
      },
    }
  }

  private async catalogQuery(statement: WireStatement, parameters: readonly unknown[], signal: AbortSignal): Promise<Outcome> {
    const model = await this.server.catalogModel()
    const plan = planCatalogQuery(statement.tree!, model, this.catalogContext(), resultNames(statement))
    if (plan.kind === 'empty') return { columns: plan.names.map((name) => ({ name, type: wireType('VARCHAR') })), rows: [], tag: 'SELECT 0' }
    const result = await this.server.engine.columnStoreQuery(this.session!, plan.sql, parameters.length === 0 ? undefined : parameters, { signal })
    return { columns: this.columnsOf(statement, result), rows: result.rows, tag: `SELECT ${result.rows.length}` }
  }

  private async set(statement: WireStatement, body: PgNode, signal: AbortSignal): Promise<Outcome> {
    const settings = this.settings!
    const session = this.session!
    const name = typeof body['name'] === 'string' ? body['name'] : ''
    let changes: [string, string][] = []
    switch (body['kind']) {
      case 'VAR_SET_VALUE':
        changes = settings.set(name, list(body['args']).map(settingText).join(', '))
        break
      case 'VAR_SET_DEFAULT':
      case 'VAR_RESET':
        changes = settings.reset(name)
        break
      case 'VAR_RESET_ALL':
        changes = settings.resetAll()
        break
      case 'VAR_SET_MULTI':
        // SET TRANSACTION … and SET SESSION CHARACTERISTICS AS TRANSACTION …: the engine keeps READ
        // ONLY / READ WRITE (and accepts isolation levels: its transactions are serializable).
        await this.server.engine.executeParsed(session, statement.parsed, [], { signal })
        break
      default:
        // SET x FROM CURRENT: nothing to take from a function's context here.
        break
    }
    // The read-only settings are the engine session's, whichever way they were set.
    const key = name.toLowerCase()
    if (body['kind'] === 'VAR_RESET_ALL' || key === 'default_transaction_read_only') session.defaultReadOnly = isOn(settings.get('default_transaction_read_only'))
    if (key === 'transaction_read_only' && session.inTransaction) session.readOnly = isOn(settings.get('transaction_read_only'))
    if (body['kind'] === 'VAR_SET_MULTI' && name === 'SESSION CHARACTERISTICS') changes = settings.set('default_transaction_read_only', session.defaultReadOnly ? 'on' : 'off')
    for (const [reported, value] of changes) writeParameterStatus(this.out, reported, value)
    return emptyOutcome(commandTag(statement, 0))
  }

  private async show(statement: WireStatement, signal: AbortSignal): Promise<Outcome> {
    const name = String(statement.body?.['name'] ?? '')
    const settings = this.settings!
    // Strata's own SHOWs (the engine's SHOW TABLES, streaming's SHOW SOURCES, STREAMS and SINKS, SHOW BRANCHES), not settings.
    if (['tables', 'sources', 'streams', 'sinks', 'branches'].includes(name.toLowerCase())) {
      const [result] = await this.server.engine.execute(this.session!, statement.text, undefined, { signal, rowMode: 'array' })
      return this.outcomeOf(statement, result!)
    }
    const text = wireType('VARCHAR')
    if (name.toLowerCase() === 'all') {
      const rows = settings.all().map((setting) => [setting.name, setting.value, setting.description])
      return { columns: ['name', 'setting', 'description'].map((column) => ({ name: column, type: text })), rows, tag: 'SHOW' }
    }
    const value = settings.get(name)
    if (value === undefined) throw new WireError(sqlstate.undefinedObject, `unrecognized configuration parameter "${name}"`)
    const canonical = settings.all().find((setting) => setting.name.toLowerCase() === name.toLowerCase())?.name ?? name
    return { columns: [{ name: canonical, type: text }], rows: [[value]], tag: 'SHOW' }
  }

  // ───────────────────────────── COPY ─────────────────────────────

  private async copy(statement: WireStatement, body: PgNode, signal: AbortSignal): Promise<Outcome> {
    if (!copiesThroughClient(body)) {
      throw new StrataError('NOT_SUPPORTED', 'COPY to or from a file or program on the server is not supported; use COPY … FROM STDIN / TO STDOUT (psql: \\copy)')
    }
    const format = copyFormat(body)
    const relation = nodeBody({ RangeVar: body['relation'] }, 'RangeVar')
    const tableName = relation === undefined ? undefined : String(relation['relname'])
    const attributes = list(body['attlist']).map((item) => String(nodeBody(item, 'String')?.['sval'] ?? ''))
    if (body['is_from'] === true) return this.copyIn(tableName!, attributes, format, signal)
    return this.copyOut(statement, tableName, attributes, format, signal)
  }

  private async copyIn(tableName: string, attributes: readonly string[], format: CopyFormat, signal: AbortSignal): Promise<Outcome> {
    const engine = this.server.engine
    const table = engine.catalogSnapshot.tables.get(tableName)
    if (table === undefined) throw new StrataError('UNDEFINED_TABLE', engine.catalogSnapshot.views.has(tableName) ? `cannot copy to view "${tableName}"` : `relation "${tableName}" does not exist`)
    const columns = attributes.length > 0 ? attributes : table.columns.map((column) => column.name)
    for (const column of columns) {
      if (!table.columns.some((candidate) => candidate.name === column)) throw new StrataError('UNDEFINED_COLUMN', `column "${column}" of relation "${tableName}" does not exist`)
    }
    writeCopyResponse(this.out, 'G', format.binary ? 1 : 0, columns.length)
    await this.flush()
    const chunks: Buffer[] = []
    let bytes = 0
    let failure: StrataError | undefined
    for (;;) {
      const message = await this.nextTyped()
      if (message === undefined) throw new StrataError('ABORTED', 'the client went away during COPY')
      if (message.type === 'd') {
        bytes += message.body.length
        if (bytes > limits.pgCopyBytesMax) failure ??= new StrataError('NOT_SUPPORTED', `COPY data exceeds ${limits.pgCopyBytesMax} bytes; load it in parts`)
        else chunks.push(message.body)
      } else if (message.type === 'c') break
      else if (message.type === 'f') throw new StrataError('ABORTED', `COPY from stdin failed: ${message.body.toString('utf8').replace(/\0$/, '')}`)
      else if (message.type === 'H' || message.type === 'S') continue
      else throw new ProtocolViolation(`unexpected message type 0x${message.type.charCodeAt(0).toString(16)} during COPY from stdin`)
    }
    if (failure !== undefined) throw failure
    const columnTypes = columns.map((column) => wireType(typeLabel(table.columns.find((candidate) => candidate.name === column)!.type)))
    const rows: unknown[][] = format.binary ? binaryCopyRows(Buffer.concat(chunks), columnTypes) : parseCopyRows(utf8Text(Buffer.concat(chunks)), format)
    const blobs = columns.map((column) => table.columns.find((candidate) => candidate.name === column)?.type.name === 'BLOB')
    if (!format.binary) rows.forEach((row, index) => {
      if (row.length < columns.length) throw new WireError(sqlstate.badCopyFileFormat, `missing data for column "${columns[row.length]}" (COPY line ${index + 1})`)
      if (row.length > columns.length) throw new WireError(sqlstate.badCopyFileFormat, `extra data after last expected column (COPY line ${index + 1})`)
      blobs.forEach((blob, column) => {
        if (blob && typeof row[column] === 'string') row[column] = byteaFromText(row[column] as string)
      })
    })
    if (rows.length === 0) return emptyOutcome('COPY 0')
    const session = this.session!
    if (!session.inTransaction) {
      await engine.bulkInsert(tableName, columns.map((name) => ({ name })), rows, { signal })
      return emptyOutcome(`COPY ${rows.length}`)
    }
    // Inside a transaction the rows join it: multi-row INSERTs on this session.
    const perStatement = Math.max(1, Math.floor(limits.sqliteParametersMax / columns.length / 4))
    const columnList = columns.map(quoteIdentifier).join(', ')
    for (let start = 0; start < rows.length; start += perStatement) {
      const chunk = rows.slice(start, start + perStatement)
      const values = chunk.map((_, row) => `(${columns.map((__, column) => `$${row * columns.length + column + 1}`).join(', ')})`).join(', ')
      await engine.execute(session, `INSERT INTO ${quoteIdentifier(tableName)} (${columnList}) VALUES ${values}`, chunk.flat(), { signal })
    }
    return emptyOutcome(`COPY ${rows.length}`)
  }

  private async copyOut(statement: WireStatement, tableName: string | undefined, attributes: readonly string[], format: CopyFormat, signal: AbortSignal): Promise<Outcome> {
    const sql =
      tableName !== undefined
        ? `SELECT ${attributes.length > 0 ? attributes.map(quoteIdentifier).join(', ') : '*'} FROM ${quoteIdentifier(tableName)}`
        : innerQueryText(statement.text, statement.parsed.tokens())
    const [result] = await this.server.engine.execute(this.session!, sql, undefined, { signal, rowMode: 'array' })
    const columns = result?.columns ?? []
    const types = columns.map((column) => wireType(column.type))
    if (format.binary) return this.copyOutBinary(result?.rows ?? [], types)
    writeCopyResponse(this.out, 'H', 0, columns.length)
    if (format.header) this.copyData(copyLine(columns.map((column) => column.name), format))
    for (const row of result?.rows ?? []) {
      const fields = columns.map((_, index) => {
        const value = row[index]
        return value === null || value === undefined ? null : textValue(value, types[index]!)
      })
      this.copyData(copyLine(fields, format))
      await this.flushIfFull()
    }
    this.out.begin('c').end()
    return emptyOutcome(`COPY ${result?.rows.length ?? 0}`)
  }

  private copyData(line: string | Buffer): void {
    this.out.begin('d').bytes(typeof line === 'string' ? Buffer.from(line, 'utf8') : line).end()
  }

  /** COPY … TO STDOUT (FORMAT binary): the header, a row message per row in the types' binary send formats, the trailer. */
  private async copyOutBinary(rows: readonly (readonly unknown[])[], types: readonly WireType[]): Promise<Outcome> {
    const unsupported = types.find((type) => !hasBinaryOutput(type) && type.oid !== oid.numeric)
    if (unsupported !== undefined) throw new StrataError('NOT_SUPPORTED', `binary COPY of type ${unsupported.label} is not supported; use text or csv`)
    writeCopyResponse(this.out, 'H', 1, types.length)
    this.copyData(binaryCopyHeader())
    for (const row of rows) {
      const fields = types.map((type, index) => {
        const value = row[index]
        if (value === null || value === undefined) return null
        return type.oid === oid.numeric ? numericBinary(value, type) : binaryValue(value, type)
      })
      this.copyData(binaryCopyRow(fields))
      await this.flushIfFull()
    }
    this.copyData(binaryCopyTrailer())
    this.out.begin('c').end()
    return emptyOutcome(`COPY ${rows.length}`)
  }

  // ───────────────────────────── rows on the wire ─────────────────────────────

  /** RowDescription; in text (what most clients ask for), the message made once per column list. */
  private describeColumns(columns: readonly WireColumn[], formats: readonly number[]): void {
    if (!allText(formats)) {
      writeRowDescription(this.out, this.fields(columns, formats))
      return
    }
    let message = rowDescriptions.get(columns)
    if (message === undefined) {
      message = rowDescriptionMessage(this.fields(columns, []))
      rowDescriptions.set(columns, message)
    }
    this.out.bytes(message)
  }

  private fields(columns: readonly WireColumn[], formats: readonly number[]): FieldDescription[] {
    return columns.map((column, index) => ({
      name: column.name,
      tableOid: 0,
      columnNumber: 0,
      typeOid: column.type.oid,
      typeSize: column.type.size,
      typeModifier: column.type.modifier,
      format: formatFor(formats, index),
    }))
  }

  /** DataRow messages for rows `start` to `end`; a promise only when the socket must drain on the way. */
  private sendRows(outcome: Outcome, formats: readonly number[], start: number, end: number): void | Promise<void> {
    const columns = outcome.columns
    if (columns === undefined) return
    if (allText(formats)) return this.writeRows(outcome.rows, columns, undefined, start, end)
    const binary = columns.map((_, index) => formatFor(formats, index) === 1)
    binary.forEach((wanted, index) => {
      const type = columns[index]!.type
      if (wanted && !hasBinaryOutput(type) && type.oid !== oid.numeric) throw new StrataError('NOT_SUPPORTED', `binary output of type ${type.label} is not supported; ask for text`)
    })
    return this.writeRows(outcome.rows, columns, binary, start, end)
  }

  /** `binary`: per column, whether it goes out in binary; undefined: all in text. */
  private writeRows(rows: Outcome['rows'], columns: readonly WireColumn[], binary: readonly boolean[] | undefined, start: number, end: number): void | Promise<void> {
    for (let index = start; index < end; index++) {
      const row = rows[index]!
      this.out.begin('D').int16(columns.length)
      for (let column = 0; column < columns.length; column++) {
        const value = row[column]
        if (value === null || value === undefined) this.out.int32(-1)
        else if (binary?.[column] === true) {
          const type = columns[column]!.type
          const bytes = type.oid === oid.numeric ? numericBinary(value, type) : binaryValue(value, type)
          this.out.int32(bytes.length).bytes(bytes)
        } else this.out.lengthPrefixedString(textValue(value, columns[column]!.type))
      }
      this.out.end()
      if (this.out.size >= limits.pgOutputBufferBytes) {
        const flushed = this.flush()
        if (flushed instanceof Promise) return flushed.then(() => this.writeRows(rows, columns, binary, index + 1, end))
      }
    }
  }
}

/** Per statement: the engine's columns last seen and the wire columns made from them. */
const wireColumnsCache = new WeakMap<WireStatement, { readonly source: readonly { readonly name: string; readonly type: string }[]; readonly wire: readonly WireColumn[] }>()

/** Per frozen column list of the engine: the PostgreSQL names they were last described with and the wire columns made. */
const wireColumnsOfColumns = new WeakMap<readonly { readonly name: string; readonly type: string }[], { readonly names: readonly string[] | undefined; readonly wire: readonly WireColumn[] }>()

/** The wire's columns: PostgreSQL's names when the statement has them for every column, the engine's types. */
function wireColumns(columns: readonly { readonly name: string; readonly type: string }[], names: readonly string[] | undefined): readonly WireColumn[] {
  const useNames = names !== undefined && names.length === columns.length
  return columns.map((column, index) => ({ name: useNames ? names[index]! : column.name, type: wireType(column.type) }))
}

function sameNames(left: readonly string[] | undefined, right: readonly string[] | undefined): boolean {
  if (left === right) return true
  if (left === undefined || right === undefined || left.length !== right.length) return false
  for (let index = 0; index < left.length; index++) if (left[index] !== right[index]) return false
  return true
}

function sameColumns(left: readonly { readonly name: string; readonly type: string }[], right: readonly { readonly name: string; readonly type: string }[]): boolean {
  if (left.length !== right.length) return false
  for (let index = 0; index < left.length; index++) {
    if (left[index]!.name !== right[index]!.name || left[index]!.type !== right[index]!.type) return false
  }
  return true
}

/** RowDescription messages in text per wire column list (`describeColumns`). */
const rowDescriptions = new WeakMap<readonly WireColumn[], Buffer>()

/** Result formats that put every column in text (none given, or only zeros). */
function allText(formats: readonly number[]): boolean {
  for (const format of formats) if (format !== 0) return false
  return true
}

function formatFor(formats: readonly number[], index: number): number {
  if (formats.length === 0) return 0
  if (formats.length === 1) return formats[0]!
  return formats[index] ?? 0
}

/** `SELECT n` for the rows actually sent by a portal run to completion in several Executes. */
function retag(tag: string, rows: number): string {
  return tag.startsWith('SELECT ') ? `SELECT ${rows}` : tag
}

/** A SET value as text: string and number constants, `DEFAULT`, and casts of them. */
function settingText(node: unknown): string {
  let current = node
  while (nodeKind(current) === 'TypeCast') current = nodeBody(current, 'TypeCast')!['arg']
  const constant = nodeBody(current, 'A_Const')
  if (constant === undefined) return ''
  const sval = constant['sval'] as PgNode | undefined
  if (sval !== undefined) return String(sval['sval'] ?? '')
  const ival = constant['ival'] as PgNode | undefined
  if (ival !== undefined) return String(ival['ival'] ?? 0)
  const fval = constant['fval'] as PgNode | undefined
  if (fval !== undefined) return String(fval['fval'] ?? '0')
  const boolval = constant['boolval'] as PgNode | undefined
  if (boolval !== undefined) return boolval['boolval'] === true ? 'on' : 'off'
  return ''
}

/** `-c name=value` and `--name=value` from the startup packet's `options` (backslash escapes a space). */
function commandLineOptions(options: string): [string, string][] {
  const words: string[] = []
  let word = ''
  for (let index = 0; index < options.length; index++) {
    const char = options[index]!
    if (char === '\\' && index + 1 < options.length) word += options[++index]
    else if (char === ' ' || char === '\t') {
      if (word !== '') words.push(word)
      word = ''
    } else word += char
  }
  if (word !== '') words.push(word)
  const out: [string, string][] = []
  for (let index = 0; index < words.length; index++) {
    let setting = words[index]!
    if (setting === '-c') setting = words[++index] ?? ''
    else if (setting.startsWith('-c')) setting = setting.slice(2)
    else if (setting.startsWith('--')) setting = setting.slice(2)
    else continue
    const equals = setting.indexOf('=')
    if (equals > 0) out.push([setting.slice(0, equals).replaceAll('-', '_'), setting.slice(equals + 1)])
  }
  return out
}

/**
 * The query of `COPY (query) TO STDOUT …`: the text between the first '(' and its ')', by the scanner's
 * tokens (the statement's own, from its query string's one scan).
 */
function innerQueryText(text: string, tokens: readonly ScanToken[]): string {
  let depth = 0
  let start = -1
  for (const token of tokens) {
    if (token.text === '(') {
      if (depth === 0) start = token.end
      depth++
    } else if (token.text === ')') {
      depth--
      if (depth === 0 && start >= 0) return text.slice(start, token.start)
    }
  }
  throw new StrataError('SYNTAX_ERROR', 'COPY (query) TO STDOUT: the query is not in parentheses')
}

/** A boolean setting's text read as on (PostgreSQL's boolean spellings; anything else is off). */
function isOn(value: string | undefined): boolean {
  return booleanText(value ?? '') === true
}

/** A binary COPY stream's rows as values of the target columns' types (a malformed stream or value is 22P04). */
function binaryCopyRows(data: Buffer, types: readonly WireType[]): unknown[][] {
  try {
    return parseBinaryCopy(data, types.length).map((fields) => fields.map((raw, column) => parameterValue(raw, 1, types[column]!.oid)))
  } catch (error) {
    if (error instanceof CopyFormatError || error instanceof ProtocolViolation || error instanceof TypeError) throw new WireError(sqlstate.badCopyFileFormat, error.message)
    throw error
  }
}

/**
 * An EXECUTE argument: a constant (its text, or null), a cast of one (the cast's text form: the
 * prepared statement's declared type converts it), or one of the protocol's own parameters.
 * Anything to compute is not taken here.
 */
function executeArgument(expression: unknown, parameters: readonly unknown[]): unknown {
  const constant = nodeBody(expression, 'A_Const')
  if (constant !== undefined) {
    const { value } = constantValue(constant)
    if (value === null) return null
    const text = constant['sval'] as PgNode | undefined
    return text !== undefined ? String(text['sval'] ?? '') : typeof value === 'bigint' ? value.toString() : String(value)
  }
  const cast = nodeBody(expression, 'TypeCast')
  if (cast !== undefined) return executeArgument(cast['arg'], parameters)
  const parameter = nodeBody(expression, 'ParamRef')
  if (parameter !== undefined) return parameters[Number(parameter['number']) - 1] ?? null
  throw new StrataError('NOT_SUPPORTED', 'EXECUTE takes constants (or parameters) as its arguments here')
}
