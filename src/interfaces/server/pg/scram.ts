/**
 * SCRAM-SHA-256, the server's half (RFC 5802 with SHA-256 per RFC 7677), as PostgreSQL runs it inside
 * SASL: AuthenticationSASL → client-first → AuthenticationSASLContinue (server-first) → client-final →
 * AuthenticationSASLFinal (server signature) → AuthenticationOk. Channel binding is not offered (only
 * `SCRAM-SHA-256`, not `-PLUS`), as PostgreSQL does without TLS.
 *
 * Passwords are never kept: each configured user's password is salted and hashed once at start-up
 * (PBKDF2, 4096 iterations, PostgreSQL's default) into StoredKey/ServerKey. An unknown user goes
 * through the same exchange with a made-up verifier and fails at the end, so a client cannot tell an
 * unknown user from a wrong password.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto'

export const scramMechanism = 'SCRAM-SHA-256'
const iterations = 4096

export interface ScramVerifier {
  readonly salt: Buffer
  readonly iterations: number
  readonly storedKey: Buffer
  readonly serverKey: Buffer
}

function hmac(key: Buffer, text: string): Buffer {
  return createHmac('sha256', key).update(text).digest()
}

function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest()
}

/**
 * The verifier PostgreSQL would store for `password` (its SASLprep is skipped: passwords are used as
 * given, which matches SASLprep for ASCII passwords).
 *
 * @example const verifier = scramVerifier('secret')
 */
export function scramVerifier(password: string, salt: Buffer = randomBytes(16)): ScramVerifier {
  const salted = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, 32, 'sha256')
  return { salt, iterations, storedKey: sha256(hmac(salted, 'Client Key')), serverKey: hmac(salted, 'Server Key') }
}

/** Attributes of a SCRAM message: `a=1,b=2` (values may contain '='). */
function attributes(message: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const part of message.split(',')) {
    const equals = part.indexOf('=')
    if (equals === 1) out.set(part[0]!, part.slice(2))
  }
  return out
}

export class ScramError extends Error {
  constructor(
    message: string,
    /** true: the proof was wrong (28P01); false: the exchange itself was malformed (08P01). */
    readonly badPassword: boolean,
  ) {
    super(message)
    this.name = 'ScramError'
  }
}

/**
 * One exchange. `first` takes the client-first-message and returns the server-first-message; `final`
 * takes the client-final-message and returns the server-final-message, or throws ScramError.
 *
 * @example
 * const exchange = new ScramExchange(verifiers.get(user))
 * send(exchange.first(clientFirst)); send(exchange.final(clientFinal))
 */
export class ScramExchange {
  private clientFirstBare = ''
  private serverFirst = ''
  private nonce = ''
  private gs2Header = ''
  private readonly verifier: ScramVerifier
  private readonly known: boolean

  /** `serverNonce` is for tests (RFC 7677's example); by default 18 random bytes. */
  constructor(
    verifier: ScramVerifier | undefined,
    private readonly serverNonce: string = randomBytes(18).toString('base64'),
  ) {
    this.known = verifier !== undefined
    this.verifier = verifier ?? scramVerifier(randomBytes(24).toString('base64'))
  }

  first(clientFirst: string): string {
    // gs2-header: "n,," (no channel binding) or "y,," (client could bind but we did not offer it).
    const comma = clientFirst.indexOf(',')
    const second = clientFirst.indexOf(',', comma + 1)
    if (comma < 0 || second < 0) throw new ScramError('malformed SCRAM message (no GS2 header)', false)
    const flag = clientFirst.slice(0, comma)
    if (flag.startsWith('p=')) throw new ScramError('channel binding was not offered; the client must not require it', false)
    if (flag !== 'n' && flag !== 'y') throw new ScramError('malformed SCRAM message (invalid GS2 flag)', false)
    this.gs2Header = clientFirst.slice(0, second + 1)
    this.clientFirstBare = clientFirst.slice(second + 1)
    const clientNonce = attributes(this.clientFirstBare).get('r')
    if (clientNonce === undefined || clientNonce === '') throw new ScramError('malformed SCRAM message (no client nonce)', false)
    this.nonce = clientNonce + this.serverNonce
    this.serverFirst = `r=${this.nonce},s=${this.verifier.salt.toString('base64')},i=${this.verifier.iterations}`
    return this.serverFirst
  }

  final(clientFinal: string): string {
    const proofAt = clientFinal.lastIndexOf(',p=')
    if (proofAt < 0) throw new ScramError('malformed SCRAM message (no proof)', false)
    const withoutProof = clientFinal.slice(0, proofAt)
    const fields = attributes(clientFinal)
    if (fields.get('c') !== Buffer.from(this.gs2Header).toString('base64')) throw new ScramError('SCRAM channel binding check failed', false)
    if (fields.get('r') !== this.nonce) throw new ScramError('SCRAM nonce mismatch', false)
    const proof = Buffer.from(clientFinal.slice(proofAt + 3), 'base64')
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`
    const signature = hmac(this.verifier.storedKey, authMessage)
    if (proof.length !== signature.length) throw new ScramError('password authentication failed', true)
    const clientKey = Buffer.alloc(proof.length)
    for (let index = 0; index < proof.length; index++) clientKey[index] = proof[index]! ^ signature[index]!
    if (!timingSafeEqual(sha256(clientKey), this.verifier.storedKey) || !this.known) throw new ScramError('password authentication failed', true)
    return `v=${hmac(this.verifier.serverKey, authMessage).toString('base64')}`
  }
}
