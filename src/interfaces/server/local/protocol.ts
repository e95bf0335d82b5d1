/**
 * The local protocol: how the `strata` CLI talks to a server holding the same data directory, over
 * the server's Unix socket (./server.ts, ./client.ts).
 *
 * Why a protocol of our own rather than the HTTP API or the PostgreSQL protocol over that socket: the
 * CLI must print exactly what it prints when it opens the directory itself, and keep a session across
 * statements (the shell's BEGIN … COMMIT). HTTP has no sessions, and both it and PostgreSQL's text
 * format change values on the way (a DECIMAL's scale, a TIMESTAMP's type, BIGINT vs number, the
 * library's column type names), so the CLI would have to reconstruct the library's results from them.
 * Here the server runs the same engine calls the library makes and sends their results losslessly.
 *
 * Framing: one JSON object per line (UTF-8, `\n`; JSON escapes line breaks inside strings). A
 * connection is one engine session. The server greets with `{type: 'hello', protocol, pid}`. The
 * client sends one request at a time, `{id, op, …}`; the server answers with frames carrying the same
 * id and ends each request with `done` or `error`. `{op: 'cancel', id}` may come at any time and aborts
 * request `id` if it is still running. See {@link Request} and {@link Frame}.
 *
 * Values: JSON's own types pass as they are; anything else is an object tagged `$t` (bigint,
 * Date, Timestamp, bytes, non-finite numbers), and a plain object that happens to have a `$t` key is
 * wrapped, so every tagged object means one thing.
 */
import { StrataError, type ErrorCode } from '../../../util/errors.js'
import { Timestamp } from '../../../util/timestamp.js'

/** Bumped on an incompatible change; a client refuses a server that speaks another version. */
export const localProtocolVersion = 1

/** The socket's name in the data directory. */
export const socketFileName = 'strata.sock'

export type Request =
  | { readonly id: number; readonly op: 'exec'; readonly sql: string; readonly params?: unknown }
  | { readonly id: number; readonly op: 'query'; readonly sql: string; readonly params?: unknown; readonly engine?: 'row' | 'column'; readonly maxStalenessMs?: number }
  | { readonly id: number; readonly op: 'tables' }
  | { readonly id: number; readonly op: 'import'; readonly file: string; readonly table: string }
  | { readonly id: number; readonly op: 'export'; readonly file: string; readonly table: string }
  | { readonly id: number; readonly op: 'subscribe'; readonly tables?: readonly string[]; readonly fromTx?: number }
  /** Aborts request `id` if it is running; nothing otherwise. Needs no answer. */
  | { readonly id: number; readonly op: 'cancel' }

export interface WireColumn {
  readonly name: string
  readonly type: string
  readonly nullable?: boolean
}

export interface WireError {
  readonly code: string
  readonly message: string
  readonly statement?: string
  readonly position?: number
}

export type Frame =
  | { readonly type: 'hello'; readonly protocol: number; readonly pid: number }
  /** A statement's result; its rows follow in `rows` frames while `more` is true. */
  | { readonly id: number; readonly type: 'result'; readonly columns: readonly WireColumn[]; readonly rowCount: number; readonly engine: string; readonly txId?: number; readonly durationMs: number; readonly rows: readonly unknown[]; readonly more: boolean }
  | { readonly id: number; readonly type: 'rows'; readonly rows: readonly unknown[]; readonly more: boolean }
  | { readonly id: number; readonly type: 'progress'; readonly done: number; readonly total: number }
  | { readonly id: number; readonly type: 'change'; readonly change: unknown }
  | { readonly id: number; readonly type: 'value'; readonly value: unknown }
  | { readonly id: number; readonly type: 'done' }
  /** Ends a request; without an id (a connection refused, a malformed request line), it ends the connection. */
  | { readonly id?: number; readonly type: 'error'; readonly error: WireError }

/**
 * A result value (or a parameter) as JSON-safe data that {@link decodeValue} turns back into the same
 * value: a Timestamp keeps its microseconds, a bigint its digits, bytes their bytes.
 *
 * @example
 * decodeValue(JSON.parse(JSON.stringify(encodeValue(2n ** 70n))))  // 1180591620717411303424n
 */
export function encodeValue(value: unknown): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value
  if (typeof value === 'number') return Number.isFinite(value) ? value : { $t: 'number', v: String(value) }
  if (typeof value === 'bigint') return { $t: 'bigint', v: value.toString() }
  if (value === undefined) return { $t: 'undefined' }
  if (value instanceof Timestamp) return { $t: 'timestamp', v: value.micros.toString() }
  if (value instanceof Date) return { $t: 'date', v: value.getTime() }
  if (value instanceof Uint8Array) return { $t: 'bytes', v: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') }
  if (Array.isArray(value)) return value.map(encodeValue)
  if (typeof value === 'object') {
    const members = Object.fromEntries(Object.entries(value).map(([key, member]) => [key, encodeValue(member)]))
    return '$t' in members ? { $t: 'object', v: members } : members
  }
  // Functions and symbols never come out of a store; say so rather than send something else.
  throw new StrataError('INTERNAL', `cannot send a ${typeof value} over the local socket`)
}

/**
 * The value {@link encodeValue} encoded.
 *
 * @example
 * decodeValue({ $t: 'timestamp', v: '1704164645123456' })  // Timestamp 2024-01-02T03:04:05.123456Z
 */
export function decodeValue(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map(decodeValue)
  const record = value as Record<string, unknown>
  const tag = record['$t']
  if (tag === undefined) return decodeMembers(record)
  const body = record['v']
  switch (tag) {
    case 'number':
      return Number(body)
    case 'bigint':
      return BigInt(String(body))
    case 'undefined':
      return undefined
    case 'timestamp':
      return new Timestamp(BigInt(String(body)))
    case 'date':
      return new Date(Number(body))
    case 'bytes':
      return new Uint8Array(Buffer.from(String(body), 'base64'))
    case 'object':
      return decodeMembers(body as Record<string, unknown>)
    default:
      throw new StrataError('INTERNAL', `the local socket sent a value tagged ${JSON.stringify(tag)}`)
  }
}

/** Object.fromEntries defines own properties, so a member named `__proto__` stays a member. */
function decodeMembers(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).map(([key, member]) => [key, decodeValue(member)]))
}

/**
 * Anything thrown, as the error frame's body: a StrataError keeps its code, statement and position;
 * anything else is INTERNAL with its message (as the CLI prints it locally).
 */
export function wireError(error: unknown): WireError {
  if (error instanceof StrataError) {
    return {
      code: error.code,
      message: error.message,
      ...(error.statement === undefined ? {} : { statement: error.statement }),
      ...(error.position === undefined ? {} : { position: error.position }),
    }
  }
  return { code: 'INTERNAL', message: error instanceof Error ? error.message : String(error) }
}

/** The StrataError an error frame describes. */
export function errorFromWire(error: WireError): StrataError {
  return new StrataError(error.code as ErrorCode, error.message, {
    ...(error.statement === undefined ? {} : { statement: error.statement }),
    ...(error.position === undefined ? {} : { position: error.position }),
  })
}

/**
 * Splits a byte stream into lines (without the `\n`), refusing a line longer than `lineBytesMax`
 * before it is held whole. A `\n` byte never occurs inside a multi-byte UTF-8 character, so lines are
 * cut on bytes and decoded whole.
 *
 * @example
 * const reader = new LineReader(1024)
 * reader.push(Buffer.from('{"a":1}\n{"b"'))  // ['{"a":1}']
 * reader.push(Buffer.from(':2}\n'))          // ['{"b":2}']
 */
export class LineReader {
  private parts: Buffer[] = []
  private partBytes = 0

  constructor(private readonly lineBytesMax: number) {}

  /** The lines completed by `chunk`; throws INVALID_PARAMETER when a line grows past the bound. */
  push(chunk: Buffer): string[] {
    const lines: string[] = []
    let start = 0
    for (let end = chunk.indexOf(10, start); end !== -1; end = chunk.indexOf(10, start)) {
      this.append(chunk.subarray(start, end))
      lines.push(Buffer.concat(this.parts, this.partBytes).toString('utf8'))
      this.parts = []
      this.partBytes = 0
      start = end + 1
    }
    if (start < chunk.length) this.append(chunk.subarray(start))
    return lines
  }

  private append(part: Buffer): void {
    if (this.partBytes + part.length > this.lineBytesMax) {
      throw new StrataError('INVALID_PARAMETER', `a message on the local socket is longer than ${this.lineBytesMax} bytes`)
    }
    if (part.length === 0) return
    this.parts.push(part)
    this.partBytes += part.length
  }
}
