/**
 * The one error type users see. `code` is stable and safe to branch on; the message says what went
 * wrong and where. Assertions (our bugs) use `assert` from ./assert.ts instead.
 *
 * @example
 * try { await db.query('SELEC 1') } catch (e) {
 *   if (e instanceof StrataError && e.code === 'SYNTAX_ERROR') console.log(e.position)
 * }
 */
export type ErrorCode =
  | 'SYNTAX_ERROR'
  | 'UNDEFINED_TABLE'
  | 'UNDEFINED_COLUMN'
  | 'DUPLICATE_TABLE'
  | 'DUPLICATE_COLUMN'
  | 'CONSTRAINT_VIOLATION'
  | 'TYPE_MISMATCH'
  | 'TX_STATE'
  | 'TX_CONFLICT'
  | 'LOCK_TIMEOUT'
  | 'NOT_SUPPORTED'
  /** A statement past a bound of `limits` (too long, too many tokens, nested too deeply): valid, but refused. */
  | 'LIMIT_EXCEEDED'
  | 'STALE_READ_TIMEOUT'
  /** A statement parameter's value cannot be used (missing, out of range for its place, nested too deeply). */
  | 'INVALID_PARAMETER'
  /** A call's argument is not what the API takes (params that are neither an array nor a plain object). */
  | 'INVALID_ARGUMENT'
  | 'READ_ONLY'
  | 'UNDEFINED_TRANSACTION'
  | 'IO_ERROR'
  | 'CORRUPTION'
  | 'CLOSED'
  | 'ABORTED'
  | 'INTERNAL'

export interface StrataErrorOptions {
  readonly cause?: unknown
  /** The statement that failed, when there is one. */
  readonly statement?: string
  /** 1-based character position in `statement` (PostgreSQL's convention), for syntax errors. */
  readonly position?: number
}

export class StrataError extends Error {
  readonly code: ErrorCode
  readonly statement: string | undefined
  readonly position: number | undefined

  constructor(code: ErrorCode, message: string, options: StrataErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'StrataError'
    this.code = code
    this.statement = options.statement
    this.position = options.position
  }

  /** A copy of this error that also carries the statement it came from. */
  withStatement(statement: string): StrataError {
    if (this.statement !== undefined) return this
    const copy = new StrataError(this.code, this.message, {
      cause: this.cause,
      statement,
      ...(this.position === undefined ? {} : { position: this.position }),
    })
    copy.stack = this.stack
    return copy
  }
}

export function isStrataError(value: unknown): value is StrataError {
  return value instanceof StrataError
}
