/**
 * stratadb — an embedded data runtime: one ledger, a row store (SQLite) and a column store (DuckDB)
 * kept fresh by CDC, one SQL dialect.
 *
 * @example
 * import { open } from 'stratadb'
 * const db = await open()
 * await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v DOUBLE); INSERT INTO t VALUES (1, 2.5)')
 * console.log((await db.query('SELECT sum(v) AS total FROM t')).rows) // [{ total: 2.5 }] from the column store
 */
export { open } from './interfaces/api/database.js'
export { StrataError, type ErrorCode } from './util/errors.js'
export { Timestamp } from './interfaces/api/types.js'
export type {
  BatchItem,
  BranchHandle,
  Change,
  ChangeRow,
  Database,
  EngineName,
  ExportOptions,
  ImportOptions,
  InsertOptions,
  OpenOptions,
  Params,
  QueryOptions,
  QueryResult,
  Queryable,
  ResultColumn,
  SubscribeOptions,
  Subscription,
  SyncStatus,
  Transaction,
  WriteSummary,
  WriteTableOptions,
  WriteTableSummary,
} from './interfaces/api/types.js'
