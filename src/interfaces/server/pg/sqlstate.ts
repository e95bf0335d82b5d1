/**
 * Our error codes as PostgreSQL's SQLSTATEs (https://www.postgresql.org/docs/current/errcodes-appendix.html),
 * so drivers that branch on `err.code` (node-postgres, psycopg2's `pgcode`, JDBC's SQLState) behave as
 * they would against PostgreSQL.
 */
import { StrataError, type ErrorCode } from '../../../util/errors.js'
import { InvalidTextEncoding, type ErrorFields } from './protocol.js'

export const sqlstate = {
  successfulCompletion: '00000',
  featureNotSupported: '0A000',
  protocolViolation: '08P01',
  invalidAuthorizationSpecification: '28000',
  invalidPassword: '28P01',
  tooManyConnections: '53300',
  programLimitExceeded: '54000',
  statementTooComplex: '54001',
  queryCanceled: '57014',
  adminShutdown: '57P01',
  invalidParameterValue: '22023',
  characterNotInRepertoire: '22021',
  invalidTextRepresentation: '22P02',
  numericValueOutOfRange: '22003',
  datatypeMismatch: '42804',
  undefinedFunction: '42883',
  undefinedObject: '42704',
  syntaxError: '42601',
  undefinedTable: '42P01',
  undefinedColumn: '42703',
  duplicateTable: '42P07',
  duplicateColumn: '42701',
  duplicateObject: '42710',
  invalidName: '42602',
  integrityConstraintViolation: '23000',
  notNullViolation: '23502',
  foreignKeyViolation: '23503',
  uniqueViolation: '23505',
  checkViolation: '23514',
  invalidTransactionState: '25000',
  readOnlySqlTransaction: '25006',
  invalidSavepointSpecification: '3B001',
  activeSqlTransaction: '25001',
  noActiveSqlTransaction: '25P01',
  serializationFailure: '40001',
  lockNotAvailable: '55P03',
  objectNotInPrerequisiteState: '55000',
  objectInUse: '55006',
  ioError: '58030',
  dataCorrupted: 'XX001',
  internalError: 'XX000',
  invalidSqlStatementName: '26000',
  invalidCursorName: '34000',
  duplicatePreparedStatement: '42P05',
  duplicateCursor: '42P03',
  badCopyFileFormat: '22P04',
} as const

/**
 * An error of the protocol layer itself (no StrataError code fits: prepared statements, portals,
 * settings, COPY data), with the SQLSTATE PostgreSQL uses for it.
 */
export class WireError extends Error {
  constructor(
    readonly sqlstate: string,
    message: string,
  ) {
    super(message)
    this.name = 'WireError'
  }
}

const byCode: Readonly<Record<ErrorCode, string>> = {
  SYNTAX_ERROR: sqlstate.syntaxError,
  UNDEFINED_TABLE: sqlstate.undefinedTable,
  UNDEFINED_COLUMN: sqlstate.undefinedColumn,
  DUPLICATE_TABLE: sqlstate.duplicateTable,
  DUPLICATE_COLUMN: sqlstate.duplicateColumn,
  CONSTRAINT_VIOLATION: sqlstate.integrityConstraintViolation,
  TYPE_MISMATCH: sqlstate.datatypeMismatch,
  TX_STATE: sqlstate.invalidTransactionState,
  READ_ONLY: sqlstate.readOnlySqlTransaction,
  INVALID_NAME: sqlstate.invalidName,
  UNDEFINED_BRANCH: sqlstate.undefinedObject,
  DUPLICATE_BRANCH: sqlstate.duplicateObject,
  OBJECT_IN_USE: sqlstate.objectInUse,
  TX_CONFLICT: sqlstate.serializationFailure,
  // The target is not in a state the merge can be applied to until its conflicts are settled.
  MERGE_CONFLICT: sqlstate.objectNotInPrerequisiteState,
  LOCK_TIMEOUT: sqlstate.lockNotAvailable,
  // The data directory is held by another process: PostgreSQL's "database is being accessed by other users".
  LOCKED: sqlstate.objectInUse,
  NOT_SUPPORTED: sqlstate.featureNotSupported,
  LIMIT_EXCEEDED: sqlstate.programLimitExceeded,
  // A bounded wait for the CDC sync ran out: the mirror is not yet in the state the read needs.
  STALE_READ_TIMEOUT: sqlstate.objectNotInPrerequisiteState,
  INVALID_PARAMETER: sqlstate.invalidParameterValue,
  INVALID_ARGUMENT: sqlstate.invalidParameterValue,
  UNDEFINED_TRANSACTION: sqlstate.invalidParameterValue,
  IO_ERROR: sqlstate.ioError,
  CORRUPTION: sqlstate.dataCorrupted,
  CLOSED: sqlstate.adminShutdown,
  ABORTED: sqlstate.queryCanceled,
  INTERNAL: sqlstate.internalError,
}

/**
 * The SQLSTATE of a StrataError. Codes that cover several PostgreSQL conditions (constraints, type
 * errors, transaction state) are refined by what the message names.
 *
 * @example sqlstateOf(new StrataError('CONSTRAINT_VIOLATION', 'row store: UNIQUE constraint failed: t.id')) // '23505'
 */
export function sqlstateOf(error: StrataError): string {
  const message = error.message
  const lower = message.toLowerCase()
  switch (error.code) {
    case 'CONSTRAINT_VIOLATION':
      if (lower.includes('unique') || lower.includes('primary key') || lower.includes('duplicate key')) return sqlstate.uniqueViolation
      if (lower.includes('not null')) return sqlstate.notNullViolation
      if (lower.includes('check')) return sqlstate.checkViolation
      if (lower.includes('foreign key')) return sqlstate.foreignKeyViolation
      return sqlstate.integrityConstraintViolation
    case 'TYPE_MISMATCH':
      if (lower.includes('out of range')) return sqlstate.numericValueOutOfRange
      if (lower.includes('no function matches') || (lower.startsWith('function ') && lower.includes('does not exist'))) return sqlstate.undefinedFunction
      // A text that does not read as the column's type is PostgreSQL's invalid_text_representation.
      if (message.includes("cannot store '") || lower.includes('invalid input syntax') || lower.includes('conversion error') || lower.includes('could not convert') || lower.includes('not valid json')) {
        return sqlstate.invalidTextRepresentation
      }
      return sqlstate.datatypeMismatch
    case 'LIMIT_EXCEEDED':
      // PostgreSQL's own class 54: nesting is statement_too_complex (its "stack depth limit exceeded"), sizes program_limit_exceeded.
      return lower.includes('nest') ? sqlstate.statementTooComplex : sqlstate.programLimitExceeded
    case 'TX_STATE':
      if (lower.includes('already a transaction in progress')) return sqlstate.activeSqlTransaction
      if (lower.includes('no transaction in progress') || lower.includes('can only be used in a transaction block')) return sqlstate.noActiveSqlTransaction
      if (lower.startsWith('savepoint') && lower.includes('does not exist')) return sqlstate.invalidSavepointSpecification
      return sqlstate.invalidTransactionState
    default:
      return byCode[error.code] ?? sqlstate.internalError
  }
}

/**
 * The Detail field: our code, and which store raised the error in its own words.
 *
 * @example errorDetail(error) // 'strata code: UNDEFINED_TABLE; column store (DuckDB): Catalog Error: Table with name t does not exist!'
 */
export function errorDetail(error: StrataError): string {
  const store = error.store === 'row' ? 'row store (SQLite)' : error.store === 'column' ? 'column store (DuckDB)' : undefined
  if (store === undefined) return `strata code: ${error.code}`
  return `strata code: ${error.code}; ${store}${error.detail === undefined ? '' : `: ${error.detail}`}`
}

/**
 * ErrorResponse fields for anything a statement threw. `positionBase` is where the statement starts
 * in the query string the client sent (several statements may share one Query message).
 */
export function errorFields(error: unknown, options: { readonly positionBase?: number; readonly timedOut?: boolean } = {}): ErrorFields {
  if (error instanceof StrataError) {
    if (error.code === 'ABORTED') {
      return { severity: 'ERROR', code: sqlstate.queryCanceled, message: options.timedOut === true ? 'canceling statement due to statement timeout' : 'canceling statement due to user request' }
    }
    const position = error.position === undefined ? undefined : error.position + (options.positionBase ?? 0)
    return { severity: 'ERROR', code: sqlstateOf(error), message: error.message, detail: errorDetail(error), position }
  }
  if (error instanceof WireError) return { severity: 'ERROR', code: error.sqlstate, message: error.message }
  if (error instanceof InvalidTextEncoding) return { severity: 'ERROR', code: sqlstate.characterNotInRepertoire, message: error.message }
  const message = error instanceof Error ? error.message : String(error)
  return { severity: 'ERROR', code: sqlstate.internalError, message: `internal error: ${message}` }
}
