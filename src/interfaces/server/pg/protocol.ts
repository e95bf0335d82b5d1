/**
 * PostgreSQL's frontend/backend protocol, version 3: framing and the messages' byte layouts
 * (https://www.postgresql.org/docs/current/protocol-message-formats.html). Pure: no sockets here.
 *
 * Why our own framing: the npm packages for the server side either parse only the backend's messages
 * (`pg-protocol` is node-postgres's client half) or are pre-1.0 wrappers (`pg-gateway`) that hand
 * every message after authentication back as raw bytes — the extended protocol's messages would
 * still be ours to decode — and that own the socket, the TLS upgrade and the limits. The layout is
 * small and fixed; what matters is the bounds: a length is checked against `limits` as soon as its
 * four bytes arrive, before anything is buffered, and malformed contents are a `ProtocolViolation`
 * (the connection answers FATAL 08P01 and closes; the server stays up).
 */

/** The frontend broke the protocol: answered with FATAL 08P01 protocol_violation, then the connection closes. */
export class ProtocolViolation extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ProtocolViolation'
  }
}

/**
 * Text from the frontend that is not valid UTF-8, the server's only encoding: answered, as PostgreSQL
 * does, with 22021 character_not_in_repertoire ("invalid byte sequence for encoding "UTF8"") — an
 * ERROR for a query or a parameter, never stored with U+FFFD in place of the bad bytes.
 */
export class InvalidTextEncoding extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'InvalidTextEncoding'
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** Strings this short are checked for ASCII byte by byte first (a decoder call costs more). */
const asciiScanMax = 64

function isAscii(bytes: Uint8Array, start: number, end: number): boolean {
  for (let index = start; index < end; index++) if (bytes[index]! >= 0x80) return false
  return true
}

/** Bytes below 0x80 as the characters they are (ASCII is UTF-8 and Latin-1 alike). */
function latin1Text(bytes: Uint8Array, start: number, end: number): string {
  if (start === end) return ''
  return (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)).toString('latin1', start, end)
}

/**
 * Decodes UTF-8 strictly (Buffer's own decoding replaces bad bytes with U+FFFD).
 *
 * @example utf8Text(Buffer.from([0x61, 0xff])) // throws InvalidTextEncoding: invalid byte sequence for encoding "UTF8": 0xff
 */
export function utf8Text(bytes: Uint8Array): string {
  // Short ASCII (names, numbers as text) is its own UTF-8: no decoder call for the commonest strings.
  if (bytes.length <= asciiScanMax && isAscii(bytes, 0, bytes.length)) return latin1Text(bytes, 0, bytes.length)
  try {
    return strictUtf8.decode(bytes)
  } catch {
    // The first bad byte, for the message: the shortest prefix that does not decode (a sequence cut at the end is not bad yet).
    let good = 0
    let bad = bytes.length
    while (good + 1 < bad) {
      const middle = (good + bad) >> 1
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, middle), { stream: true })
        good = middle
      } catch {
        bad = middle
      }
    }
    const at = Math.max(0, bad - 1)
    const shown = [...bytes.subarray(at, Math.min(bytes.length, at + 2))].map((byte) => `0x${byte.toString(16).padStart(2, '0')}`).join(' ')
    throw new InvalidTextEncoding(`invalid byte sequence for encoding "UTF8": ${shown}`)
  }
}

/** Protocol 3.0 (major 3, minor 0) in a StartupMessage. */
export const protocolVersion3 = 196608
/** The special "protocol versions" of the untyped first messages. */
export const sslRequestCode = 80877103
export const gssEncRequestCode = 80877104
export const cancelRequestCode = 80877102

export type UntypedMessage =
  | { readonly kind: 'ssl' }
  | { readonly kind: 'gssenc' }
  | { readonly kind: 'cancel'; readonly processId: number; readonly secretKey: number }
  | { readonly kind: 'startup'; readonly version: number; readonly parameters: ReadonlyMap<string, string> }

export interface TypedMessage {
  /** The message type byte as a character ('Q', 'P', 'B', …). */
  readonly type: string
  readonly body: Buffer
}

/**
 * Accumulates socket bytes and cuts them into messages. Chunks are kept as a list and joined once a
 * whole message is there, so a large message arriving in many small chunks is copied once.
 *
 * @example
 * const reader = new MessageReader({ untypedBytesMax: 10_000, typedBytesMax: 1 << 26 })
 * reader.push(chunk)
 * const first = reader.nextUntyped() // SSLRequest, CancelRequest or StartupMessage
 */
export class MessageReader {
  private chunks: Buffer[] = []
  /** Where the unread bytes of `chunks[0]` start (messages are cut from a chunk without copying it). */
  private offset = 0
  private buffered = 0

  constructor(private readonly bounds: { readonly untypedBytesMax: number; readonly typedBytesMax: number }) {}

  push(chunk: Buffer): void {
    if (chunk.length === 0) return
    this.chunks.push(chunk)
    this.buffered += chunk.length
  }

  get bufferedBytes(): number {
    return this.buffered
  }

  /** The next startup-phase message (length-prefixed, no type byte), or undefined until it is complete. */
  nextUntyped(): UntypedMessage | undefined {
    if (this.buffered < 4) return undefined
    const first = this.contiguous(4)
    const length = first.readInt32BE(this.offset)
    if (length < 8 || length > this.bounds.untypedBytesMax) throw new ProtocolViolation(`invalid length of startup packet: ${length}`)
    if (this.buffered < length) return undefined
    const body = this.take(length).subarray(4)
    return decodeUntyped(body)
  }

  /** The next regular message (type byte, length, body), or undefined until it is complete. */
  nextTyped(): TypedMessage | undefined {
    if (this.buffered < 5) return undefined
    const header = this.contiguous(5)
    const at = this.offset
    const type = String.fromCharCode(header[at]!)
    const length = header.readInt32BE(at + 1)
    if (length < 4) throw new ProtocolViolation(`invalid message length ${length} for message type "${printable(type)}"`)
    if (length > this.bounds.typedBytesMax) throw new ProtocolViolation(`message of type "${printable(type)}" is ${length} bytes; the limit is ${this.bounds.typedBytesMax}`)
    if (this.buffered < length + 1) return undefined
    return { type, body: this.take(length + 1, 5) }
  }

  /** Bytes left after the messages taken so far (an SSL upgrade must not find any). */
  drain(): Buffer {
    if (this.chunks.length > 0) this.chunks[0] = this.chunks[0]!.subarray(this.offset)
    const rest = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks)
    this.chunks = []
    this.offset = 0
    this.buffered = 0
    return rest
  }

  /** The first chunk, joined with the next ones until `count` unread bytes are in it. */
  private contiguous(count: number): Buffer {
    let first = this.chunks[0]!
    if (first.length - this.offset >= count) return first
    // Join just enough chunks to cover `count` bytes (one copy), keep the rest as it is.
    const parts: Buffer[] = [first.subarray(this.offset)]
    let gathered = first.length - this.offset
    this.chunks.shift()
    while (gathered < count) {
      const chunk = this.chunks.shift()!
      parts.push(chunk)
      gathered += chunk.length
    }
    first = Buffer.concat(parts, gathered)
    this.chunks.unshift(first)
    this.offset = 0
    return first
  }

  /** The next `count` bytes but the first `skip` (a message's header). */
  private take(count: number, skip = 0): Buffer {
    const first = this.contiguous(count)
    const message = first.subarray(this.offset + skip, this.offset + count)
    this.offset += count
    if (this.offset === first.length) {
      this.chunks.shift()
      this.offset = 0
    }
    this.buffered -= count
    return message
  }
}

function printable(type: string): string {
  const code = type.charCodeAt(0)
  return code >= 32 && code < 127 ? type : `\\x${code.toString(16).padStart(2, '0')}`
}

function decodeUntyped(body: Buffer): UntypedMessage {
  const code = body.readInt32BE(0)
  if (code === sslRequestCode) return { kind: 'ssl' }
  if (code === gssEncRequestCode) return { kind: 'gssenc' }
  if (code === cancelRequestCode) {
    if (body.length !== 12) throw new ProtocolViolation('invalid length of cancel request')
    return { kind: 'cancel', processId: body.readInt32BE(4), secretKey: body.readInt32BE(8) }
  }
  const reader = new BodyReader(body.subarray(4), 'StartupMessage')
  const parameters = new Map<string, string>()
  for (;;) {
    const name = reader.cstring()
    if (name === '') break
    parameters.set(name, reader.cstring())
  }
  reader.end()
  return { kind: 'startup', version: code, parameters }
}

/** Reads the fields of one message body; every overrun is a ProtocolViolation naming the message. */
export class BodyReader {
  private offset = 0

  constructor(
    private readonly body: Buffer,
    private readonly what: string,
  ) {}

  int16(): number {
    this.need(2)
    const value = this.body.readInt16BE(this.offset)
    this.offset += 2
    return value
  }

  int32(): number {
    this.need(4)
    const value = this.body.readInt32BE(this.offset)
    this.offset += 4
    return value
  }

  byte(): string {
    this.need(1)
    return String.fromCharCode(this.body[this.offset++]!)
  }

  cstring(): string {
    const end = this.body.indexOf(0, this.offset)
    if (end < 0) throw new ProtocolViolation(`invalid string in message ${this.what}`)
    const value = end - this.offset <= asciiScanMax && isAscii(this.body, this.offset, end) ? latin1Text(this.body, this.offset, end) : utf8Text(this.body.subarray(this.offset, end))
    this.offset = end + 1
    return value
  }

  bytes(count: number): Buffer {
    if (count < 0) throw new ProtocolViolation(`negative length in message ${this.what}`)
    this.need(count)
    const value = this.body.subarray(this.offset, this.offset + count)
    this.offset += count
    return value
  }

  rest(): Buffer {
    const value = this.body.subarray(this.offset)
    this.offset = this.body.length
    return value
  }

  /** The body must be used up exactly. */
  end(): void {
    if (this.offset !== this.body.length) throw new ProtocolViolation(`invalid message format of ${this.what}`)
  }

  private need(count: number): void {
    if (this.offset + count > this.body.length) throw new ProtocolViolation(`invalid message format of ${this.what}`)
  }
}

// ───────────────────────────── frontend messages ─────────────────────────────

export interface ParseMessage {
  readonly name: string
  readonly query: string
  readonly parameterTypes: readonly number[]
}

export interface BindMessage {
  readonly portal: string
  readonly statement: string
  /** One format code per parameter (0 text, 1 binary), already expanded from PostgreSQL's short forms. */
  readonly parameterFormats: readonly number[]
  /** null = SQL NULL. */
  readonly parameters: readonly (Buffer | null)[]
  /** Result column format codes as sent: empty = all text, one = for all columns, else one per column. */
  readonly resultFormats: readonly number[]
}

export function decodeParse(body: Buffer): ParseMessage {
  const reader = new BodyReader(body, 'Parse')
  const name = reader.cstring()
  const query = reader.cstring()
  const count = reader.int16()
  if (count < 0) throw new ProtocolViolation('invalid parameter count in Parse')
  const parameterTypes: number[] = []
  for (let index = 0; index < count; index++) parameterTypes.push(reader.int32() >>> 0)
  reader.end()
  return { name, query, parameterTypes }
}

export function decodeBind(body: Buffer): BindMessage {
  const reader = new BodyReader(body, 'Bind')
  const portal = reader.cstring()
  const statement = reader.cstring()
  const formatCount = reader.int16()
  if (formatCount < 0) throw new ProtocolViolation('invalid format count in Bind')
  const formats: number[] = []
  for (let index = 0; index < formatCount; index++) formats.push(formatCode(reader.int16()))
  const parameterCount = reader.int16()
  if (parameterCount < 0) throw new ProtocolViolation('invalid parameter count in Bind')
  if (formatCount > 1 && formatCount !== parameterCount) {
    throw new ProtocolViolation(`bind message has ${formatCount} parameter formats but ${parameterCount} parameters`)
  }
  const parameters: (Buffer | null)[] = []
  for (let index = 0; index < parameterCount; index++) {
    const length = reader.int32()
    if (length === -1) parameters.push(null)
    else if (length < -1) throw new ProtocolViolation('invalid parameter length in Bind')
    else parameters.push(reader.bytes(length))
  }
  const resultCount = reader.int16()
  if (resultCount < 0) throw new ProtocolViolation('invalid result format count in Bind')
  const resultFormats: number[] = []
  for (let index = 0; index < resultCount; index++) resultFormats.push(formatCode(reader.int16()))
  reader.end()
  const parameterFormats = parameters.map((_, index) => (formatCount === 0 ? 0 : formatCount === 1 ? formats[0]! : formats[index]!))
  return { portal, statement, parameterFormats, parameters, resultFormats }
}

function formatCode(code: number): number {
  if (code !== 0 && code !== 1) throw new ProtocolViolation(`unsupported format code: ${code}`)
  return code
}

export function decodeDescribeOrClose(body: Buffer, what: 'Describe' | 'Close'): { readonly target: 'S' | 'P'; readonly name: string } {
  const reader = new BodyReader(body, what)
  const target = reader.byte()
  if (target !== 'S' && target !== 'P') throw new ProtocolViolation(`invalid ${what} message subtype ${target.charCodeAt(0)}`)
  const name = reader.cstring()
  reader.end()
  return { target, name }
}

export function decodeExecute(body: Buffer): { readonly portal: string; readonly rowsMax: number } {
  const reader = new BodyReader(body, 'Execute')
  const portal = reader.cstring()
  const rowsMax = reader.int32()
  reader.end()
  return { portal, rowsMax: rowsMax <= 0 ? 0 : rowsMax }
}

export function decodeQuery(body: Buffer): string {
  const reader = new BodyReader(body, 'Query')
  const query = reader.cstring()
  reader.end()
  return query
}

/** SASLInitialResponse: mechanism name, then the client-first-message (length-prefixed, -1 = none). */
export function decodeSaslInitial(body: Buffer): { readonly mechanism: string; readonly data: Buffer } {
  const reader = new BodyReader(body, 'SASLInitialResponse')
  const mechanism = reader.cstring()
  const length = reader.int32()
  const data = length === -1 ? Buffer.alloc(0) : reader.bytes(length)
  reader.end()
  return { mechanism, data }
}

// ───────────────────────────── backend messages ─────────────────────────────

/**
 * Builds backend messages into one growing buffer, so a batch of rows goes out in one socket write.
 *
 * @example
 * const out = new MessageWriter()
 * out.begin('Z').byte('I').end()
 * socket.write(out.flush())
 */
export class MessageWriter {
  private buffer = Buffer.allocUnsafe(16 * 1024)
  private length = 0
  private start = -1

  get size(): number {
    return this.length
  }

  begin(type: string): this {
    this.ensure(5)
    this.start = this.length
    this.buffer[this.length] = type.charCodeAt(0)
    this.length += 5
    return this
  }

  end(): this {
    this.buffer.writeInt32BE(this.length - this.start - 1, this.start + 1)
    this.start = -1
    return this
  }

  byte(value: string): this {
    this.ensure(1)
    this.buffer[this.length++] = value.charCodeAt(0)
    return this
  }

  int16(value: number): this {
    this.ensure(2)
    this.buffer.writeInt16BE(value, this.length)
    this.length += 2
    return this
  }

  int32(value: number): this {
    this.ensure(4)
    this.buffer.writeInt32BE(value | 0, this.length)
    this.length += 4
    return this
  }

  cstring(value: string): this {
    const bytes = Buffer.byteLength(value)
    this.ensure(bytes + 1)
    this.buffer.write(value, this.length, 'utf8')
    this.length += bytes
    this.buffer[this.length++] = 0
    return this
  }

  bytes(value: Uint8Array): this {
    this.ensure(value.length)
    this.buffer.set(value, this.length)
    this.length += value.length
    return this
  }

  /** A length-prefixed UTF-8 string (a DataRow field). */
  lengthPrefixedString(value: string): this {
    const bytes = Buffer.byteLength(value)
    this.ensure(bytes + 4)
    this.buffer.writeInt32BE(bytes, this.length)
    this.length += 4
    this.buffer.write(value, this.length, 'utf8')
    this.length += bytes
    return this
  }

  /** Everything written so far, as a fresh buffer; the writer starts over. */
  flush(): Buffer {
    const out = Buffer.from(this.buffer.subarray(0, this.length))
    this.length = 0
    if (this.buffer.length > 1024 * 1024) this.buffer = Buffer.allocUnsafe(16 * 1024)
    return out
  }

  private ensure(extra: number): void {
    if (this.length + extra <= this.buffer.length) return
    let size = this.buffer.length * 2
    while (size < this.length + extra) size *= 2
    const grown = Buffer.allocUnsafe(size)
    this.buffer.copy(grown, 0, 0, this.length)
    this.buffer = grown
  }
}

/** ErrorResponse / NoticeResponse fields (https://www.postgresql.org/docs/current/protocol-error-fields.html). */
export interface ErrorFields {
  readonly severity: 'ERROR' | 'FATAL' | 'PANIC' | 'WARNING' | 'NOTICE' | 'DEBUG' | 'INFO' | 'LOG'
  readonly code: string
  readonly message: string
  readonly detail?: string | undefined
  readonly hint?: string | undefined
  /** 1-based character position in the query string. */
  readonly position?: number | undefined
}

export function writeError(out: MessageWriter, fields: ErrorFields, type: 'E' | 'N' = 'E'): void {
  out.begin(type)
  out.byte('S').cstring(fields.severity)
  out.byte('V').cstring(fields.severity)
  out.byte('C').cstring(fields.code)
  out.byte('M').cstring(fields.message)
  if (fields.detail !== undefined) out.byte('D').cstring(fields.detail)
  if (fields.hint !== undefined) out.byte('H').cstring(fields.hint)
  if (fields.position !== undefined) out.byte('P').cstring(String(fields.position))
  out.byte('\0')
  out.end()
}

export interface FieldDescription {
  readonly name: string
  readonly tableOid: number
  readonly columnNumber: number
  readonly typeOid: number
  readonly typeSize: number
  readonly typeModifier: number
  /** 0 text, 1 binary. */
  readonly format: number
}

export function writeRowDescription(out: MessageWriter, fields: readonly FieldDescription[]): void {
  out.begin('T').int16(fields.length)
  for (const field of fields) {
    out.cstring(field.name).int32(field.tableOid).int16(field.columnNumber).int32(field.typeOid).int16(field.typeSize).int32(field.typeModifier).int16(field.format)
  }
  out.end()
}

/** A RowDescription message as bytes, to write as it is each time a statement's columns are described. */
export function rowDescriptionMessage(fields: readonly FieldDescription[]): Buffer {
  const out = new MessageWriter()
  writeRowDescription(out, fields)
  return out.flush()
}

export function writeParameterStatus(out: MessageWriter, name: string, value: string): void {
  out.begin('S').cstring(name).cstring(value).end()
}

export function writeReadyForQuery(out: MessageWriter, status: 'I' | 'T' | 'E'): void {
  out.begin('Z').byte(status).end()
}

export function writeCommandComplete(out: MessageWriter, tag: string): void {
  out.begin('C').cstring(tag).end()
}

export function writeAuthentication(out: MessageWriter, code: number, data?: Buffer): void {
  out.begin('R').int32(code)
  if (data !== undefined) out.bytes(data)
  out.end()
}

/** CopyInResponse ('G') / CopyOutResponse ('H'): overall format, then one format code per column. */
export function writeCopyResponse(out: MessageWriter, type: 'G' | 'H', format: 0 | 1, columns: number): void {
  out.begin(type).byte(String.fromCharCode(format)).int16(columns)
  for (let index = 0; index < columns; index++) out.int16(format)
  out.end()
}
