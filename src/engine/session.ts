/**
 * A session is one logical connection: the library's default database handle, one `db.transaction()`
 * body, or (later) one server connection. It carries the transaction state.
 */
import type { ColumnSession } from '../storage/columnstore/columnstore.js'
import { Mutex } from '../util/mutex.js'

export class Session {
  /** Set from BEGIN until COMMIT/ROLLBACK. */
  inTransaction = false
  /** Release of the writer lock while this session holds it. */
  releaseWriter: (() => void) | undefined
  /** Rows changed by the open transaction so far. */
  rowsChanged = 0
  /** The open transaction changed the schema. */
  changedSchema = false
  /** DuckDB connection for this transaction's private overlay reads (see docs/time-model.md). */
  overlay: ColumnSession | undefined
  /** Statements of one session run one at a time, as on one connection. */
  readonly statementLock = new Mutex()
  closed = false
}
