/**
 * Errors of the HTTP API: every failure is `{"error":{"code","message"}}` with a status that says whose
 * fault it was. Statement errors keep their StrataError code (SPEC 11); request errors have codes of
 * their own, listed in `RequestErrorCode`.
 */
import { StrataError, type ErrorCode } from '../../../util/errors.js'

/** Codes of errors about the HTTP request itself, not a statement. */
export type RequestErrorCode =
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'PAYLOAD_TOO_LARGE'
  | 'NOT_ACCEPTABLE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'STATEMENT_TIMEOUT'
  | 'SHUTTING_DOWN'
  | 'TOO_MANY_CONNECTIONS'

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: RequestErrorCode | ErrorCode,
    message: string,
    /** Extra response headers (Allow for 405, WWW-Authenticate for 401, Retry-After for 503). */
    readonly headers: Readonly<Record<string, string>> = {},
    /** 1-based position in the SQL text, for syntax errors (PostgreSQL's convention). */
    readonly position?: number,
    /** Which store raised a statement error, and its own words. */
    readonly origin?: { readonly store: string; readonly detail: string | undefined },
  ) {
    super(message)
    this.name = 'HttpError'
  }
}

/**
 * The status for each statement error code. An exhaustive table, so a new code that nobody mapped
 * fails to compile instead of silently becoming a 500.
 *
 * - 400: the statement text or its parameters are malformed;
 * - 422: well-formed, but names something that does not exist or mixes types (PostgreSQL's class 42);
 * - 403: the caller may not do this (a write with a read-only token);
 * - 409: conflicts with the database's state (constraints, transactions, existing objects);
 * - 503: retry later (a lock or the column store did not become available in time, or the server is closing);
 * - 500: the server's or the disk's fault.
 */
const statusByCode: Readonly<Record<ErrorCode, number>> = {
  SYNTAX_ERROR: 400,
  INVALID_PARAMETER: 400,
  INVALID_ARGUMENT: 400,
  INVALID_NAME: 400,
  UNDEFINED_TABLE: 422,
  UNDEFINED_BRANCH: 422,
  UNDEFINED_COLUMN: 422,
  UNDEFINED_TRANSACTION: 422,
  TYPE_MISMATCH: 422,
  NOT_SUPPORTED: 422,
  // A statement too long or too deeply nested: well-formed, refused; the client must send a smaller one.
  LIMIT_EXCEEDED: 422,
  DUPLICATE_TABLE: 409,
  DUPLICATE_COLUMN: 409,
  DUPLICATE_BRANCH: 409,
  OBJECT_IN_USE: 409,
  CONSTRAINT_VIOLATION: 409,
  TX_STATE: 409,
  TX_CONFLICT: 409,
  MERGE_CONFLICT: 409,
  // The data directory is held by another process (open refuses; a running server never sees it).
  LOCKED: 409,
  READ_ONLY: 403,
  LOCK_TIMEOUT: 503,
  STALE_READ_TIMEOUT: 503,
  CLOSED: 503,
  // A statement aborted because its client went away: nobody reads this status. One aborted by the
  // server (timeout, shutdown) is turned into STATEMENT_TIMEOUT / SHUTTING_DOWN before it gets here.
  ABORTED: 499,
  IO_ERROR: 500,
  CORRUPTION: 500,
  INTERNAL: 500,
}

/**
 * Any thrown value as an HttpError: StrataErrors by the table above, anything else as INTERNAL (our bug;
 * the message is kept because it is what an operator needs, and the server holds no secrets in it).
 *
 * @example
 * toHttpError(new StrataError('UNDEFINED_TABLE', 'table "t" does not exist')).status // 422
 */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error
  if (error instanceof StrataError) {
    const status = statusByCode[error.code] ?? 500
    const retry: Record<string, string> = status === 503 ? { 'retry-after': '1' } : {}
    return new HttpError(status, error.code, error.message, retry, error.position, error.store === undefined ? undefined : { store: error.store, detail: error.detail })
  }
  const message = error instanceof Error ? error.message : String(error)
  return new HttpError(500, 'INTERNAL', message)
}

/** The error response body; `position` only for errors that have one, `store` and `detail` for errors a store raised. */
export function errorBody(error: HttpError): string {
  const body = {
    code: error.code,
    message: error.message,
    ...(error.position === undefined ? {} : { position: error.position }),
    ...(error.origin === undefined ? {} : { store: error.origin.store, ...(error.origin.detail === undefined ? {} : { detail: error.origin.detail }) }),
  }
  return JSON.stringify({ error: body })
}
