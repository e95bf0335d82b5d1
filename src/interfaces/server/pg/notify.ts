/**
 * LISTEN / NOTIFY between the connections of one server, as PostgreSQL does it:
 *
 * - `LISTEN ch` subscribes the connection to channel `ch`; `UNLISTEN ch` / `UNLISTEN *` stop it; a
 *   closed connection stops everything.
 * - `NOTIFY ch [, 'payload']` and `SELECT pg_notify('ch', 'payload')` send a NotificationResponse to
 *   every connection listening on `ch` (the sender too), with the sender's process id. Outside a
 *   transaction at once; inside one at COMMIT, and not at all after ROLLBACK. Within a transaction
 *   identical notifications (channel and payload) are sent once, in the order first made.
 * - A payload is at most 7999 bytes (PostgreSQL's limit), else 22023.
 *
 * - LISTEN and UNLISTEN inside a transaction take effect at its COMMIT (none after ROLLBACK); ROLLBACK
 *   TO a savepoint forgets the NOTIFYs, LISTENs and UNLISTENs made after it.
 *
 * Notifications are not ledger facts: like PostgreSQL's queue they live in memory, and a server
 * restart forgets them. For changes to tables, the change feed (`db.subscribe`) is the durable way.
 */
import type { PgNode } from '../../../sql/parse.js'
import { list, nodeBody, stringValue } from '../../../sql/tree.js'
import { sqlstate, WireError } from './sqlstate.js'

/** PostgreSQL refuses payloads of 8000 bytes or more. */
const payloadBytesMax = 7_999

/** What a listening connection must be able to do: take a notification and send it when it can. */
export interface Listener {
  deliver(processId: number, channel: string, payload: string): void
}

/** The server's channels: who listens on what. */
export class NotificationHub {
  private readonly channels = new Map<string, Set<Listener>>()

  listen(listener: Listener, channel: string): void {
    let listeners = this.channels.get(channel)
    if (listeners === undefined) {
      listeners = new Set()
      this.channels.set(channel, listeners)
    }
    listeners.add(listener)
  }

  /** Stops `listener` listening on `channel`, or on every channel when `channel` is undefined. */
  unlisten(listener: Listener, channel: string | undefined): void {
    for (const [name, listeners] of this.channels) {
      if (channel !== undefined && name !== channel) continue
      listeners.delete(listener)
      if (listeners.size === 0) this.channels.delete(name)
    }
  }

  publish(processId: number, notifications: readonly Notification[]): void {
    for (const { channel, payload } of notifications) {
      for (const listener of this.channels.get(channel) ?? []) listener.deliver(processId, channel, payload)
    }
  }
}

export interface Notification {
  readonly channel: string
  readonly payload: string
}

/** Something a transaction does to channels at its COMMIT: send a notification, or start or stop listening. */
export type PendingAction =
  | { readonly kind: 'notify'; readonly notification: Notification }
  | { readonly kind: 'listen'; readonly channel: string }
  | { readonly kind: 'unlisten'; readonly channel: string | undefined }

/** A connection's NOTIFY / LISTEN / UNLISTEN inside its open transaction, carried out at COMMIT, with its savepoints. */
export class PendingNotifications {
  private readonly pending: PendingAction[] = []
  /** `channel NUL payload` of each pending notification, for dropping identical ones. */
  private readonly notified = new Set<string>()
  /** Each savepoint of the transaction and how many actions were pending when it was made. */
  private readonly savepoints: { readonly name: string; readonly length: number }[] = []

  add(action: PendingAction): void {
    // Identical notifications within a transaction are sent once (the first one's place).
    if (action.kind === 'notify') {
      const key = notificationKey(action.notification)
      if (this.notified.has(key)) return
      this.notified.add(key)
    }
    this.pending.push(action)
  }

  savepoint(name: string): void {
    this.savepoints.push({ name, length: this.pending.length })
  }

  /** RELEASE: the savepoint and those after it go; their actions stay. */
  release(name: string): void {
    const index = this.savepointIndex(name)
    if (index >= 0) this.savepoints.length = index
  }

  /** ROLLBACK TO: the actions after the savepoint go; it stays. */
  rollbackTo(name: string): void {
    const index = this.savepointIndex(name)
    if (index < 0) return
    for (const dropped of this.pending.splice(this.savepoints[index]!.length)) if (dropped.kind === 'notify') this.notified.delete(notificationKey(dropped.notification))
    this.savepoints.length = index + 1
  }

  /** Everything pending, in order, emptied (the transaction ended). */
  take(): PendingAction[] {
    this.savepoints.length = 0
    this.notified.clear()
    return this.pending.splice(0)
  }

  private savepointIndex(name: string): number {
    for (let index = this.savepoints.length - 1; index >= 0; index--) if (this.savepoints[index]!.name === name) return index
    return -1
  }
}

/** A NotifyStmt's channel and payload, checked. */
export function notifyStatement(body: PgNode): Notification {
  return checked(String(body['conditionname']), typeof body['payload'] === 'string' ? body['payload'] : '')
}

/**
 * `SELECT pg_notify(channel, payload)` — one call, no FROM, arguments that are constants or
 * parameters — as a notification; undefined for any other SELECT (the engine runs it, and it fails
 * there if it calls pg_notify some other way).
 */
export function pgNotifyCall(select: PgNode, parameters: readonly unknown[]): Notification | undefined {
  if (list(select['fromClause']).length > 0 || select['whereClause'] !== undefined) return undefined
  const targets = list(select['targetList'])
  if (targets.length !== 1) return undefined
  const call = nodeBody(nodeBody(targets[0], 'ResTarget')?.['val'], 'FuncCall')
  if (call === undefined) return undefined
  const name = list(call['funcname']).map(stringValue)
  if (name[name.length - 1] !== 'pg_notify' || (name.length === 2 && name[0] !== 'pg_catalog') || name.length > 2) return undefined
  const args = list(call['args'])
  if (args.length !== 2) throw new WireError(sqlstate.undefinedFunction, 'function pg_notify takes two arguments: a channel and a payload')
  const [channel, payload] = args.map((argument) => argumentText(argument, parameters))
  if (channel === undefined || channel === null || channel === '') throw new WireError(sqlstate.invalidParameterValue, 'channel name cannot be empty')
  return checked(channel, payload ?? '')
}

/** A constant or parameter argument as text; null for SQL NULL; undefined for anything else. */
function argumentText(argument: unknown, parameters: readonly unknown[]): string | null | undefined {
  const constant = nodeBody(argument, 'A_Const')
  if (constant !== undefined) {
    if (constant['isnull'] === true) return null
    const text = nodeBody(constant['sval'], 'String') ?? (constant['sval'] as PgNode | undefined)
    if (text !== undefined) return typeof text['sval'] === 'string' ? text['sval'] : ''
    throw new WireError(sqlstate.undefinedFunction, 'pg_notify takes text arguments')
  }
  const parameter = nodeBody(argument, 'ParamRef')
  if (parameter !== undefined) {
    const value = parameters[Number(parameter['number']) - 1]
    return value === null || value === undefined ? null : String(value)
  }
  // A cast of a constant or parameter ('x'::text, $1::text) is the same text.
  const cast = nodeBody(argument, 'TypeCast')
  if (cast !== undefined) return argumentText(cast['arg'], parameters)
  throw new WireError(sqlstate.featureNotSupported, 'pg_notify takes constants or parameters as its arguments here')
}

function checked(channel: string, payload: string): Notification {
  if (Buffer.byteLength(payload, 'utf8') > payloadBytesMax) throw new WireError(sqlstate.invalidParameterValue, 'payload string too long')
  return { channel, payload }
}

function notificationKey(notification: Notification): string {
  return `${notification.channel}\u0000${notification.payload}`
}
