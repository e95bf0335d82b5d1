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
  | 'LOCKED'
  | 'NOT_SUPPORTED'
  /** A statement past a bound of `limits` (too long, too many tokens, nested too deeply): valid, but refused. */
  | 'LIMIT_EXCEEDED'
  | 'STALE_READ_TIMEOUT'
  /** A statement parameter's value cannot be used (missing, out of range for its place, nested too deeply). */
  | 'INVALID_PARAMETER'
  /** A call's argument is not what the API takes (params that are neither an array nor a plain object). */
  | 'INVALID_ARGUMENT'
  | 'READ_ONLY'
  /** A name that breaks its kind's rules (a branch name git would refuse as a ref). */
  | 'INVALID_NAME'
  | 'UNDEFINED_BRANCH'
  | 'DUPLICATE_BRANCH'
  /** An object something still uses (a branch a session is on, or with branches of its own) cannot be dropped. */
  | 'OBJECT_IN_USE'
  | 'UNDEFINED_TRANSACTION'
  /** A merge found cells both sides changed differently, and no `resolve` said which side wins: nothing was merged (strata.conflicts lists them). */
  | 'MERGE_CONFLICT'
  | 'IO_ERROR'
  | 'CORRUPTION'
  | 'CLOSED'
  | 'ABORTED'
  | 'INTERNAL'

/** The store an error came from: the row store (SQLite) or the column store (DuckDB). */
export type ErrorStore = 'row' | 'column'

export interface StrataErrorOptions {
  readonly cause?: unknown
  /** The statement that failed, when there is one. */
  readonly statement?: string
  /** 1-based position in `statement` (a string index + 1, as JavaScript counts), for syntax errors and limits. */
  readonly position?: number
  /** Which store raised it, when one did; the message is in Strata's words either way. */
  readonly store?: ErrorStore
  /** The store's own words (SQLite's or DuckDB's message), for whoever needs to dig. */
  readonly detail?: string
}

/**
 * Messages are in one voice, PostgreSQL's: lower case, what went wrong and where (`table "t" does not
 * exist`), never a store's prefix ("Catalog Error: …") or a parse-tree node's name. Which store
 * raised an error, and its own message, are in `store` and `detail`.
 */
export class StrataError extends Error {
  readonly code: ErrorCode
  readonly statement: string | undefined
  readonly position: number | undefined
  readonly store: ErrorStore | undefined
  readonly detail: string | undefined

  constructor(code: ErrorCode, message: string, options: StrataErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'StrataError'
    this.code = code
    this.statement = options.statement
    this.position = options.position
    this.store = options.store
    this.detail = options.detail
  }

  /** A copy of this error that also carries the statement it came from. */
  withStatement(statement: string): StrataError {
    if (this.statement !== undefined) return this
    const copy = new StrataError(this.code, this.message, { ...this.options(), statement })
    copy.stack = this.stack
    return copy
  }

  /** A copy with another message (a prefix saying which row or item), keeping everything else. */
  withMessage(message: string): StrataError {
    const copy = new StrataError(this.code, message, { ...this.options(), cause: this })
    copy.stack = this.stack
    return copy
  }

  private options(): StrataErrorOptions {
    return {
      cause: this.cause,
      ...(this.statement === undefined ? {} : { statement: this.statement }),
      ...(this.position === undefined ? {} : { position: this.position }),
      ...(this.store === undefined ? {} : { store: this.store }),
      ...(this.detail === undefined ? {} : { detail: this.detail }),
    }
  }
}

export function isStrataError(value: unknown): value is StrataError {
  return value instanceof StrataError
}
