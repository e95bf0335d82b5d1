/**
 * Every bound Strata enforces, in one place, each with the reason for its value.
 * Relations between them are checked at the bottom so a careless edit fails at load time.
 */
export const limits = {
  /** How long a writer waits for the single writer lock before LOCK_TIMEOUT. Long enough for any
   *  ordinary transaction, short enough that a forgotten open transaction is noticed. */
  writerLockWaitMs: 10_000,
  /** Bounded wait of a fresh (read-your-writes) column-store read for the CDC sync; then STALE_READ_TIMEOUT. */
  freshReadWaitMs: 10_000,
  /** At most this many transactions go into one CDC batch, so a long backlog after a restart is
   *  applied in bounded chunks (a batch never splits across a schema change; see sync/mirror.ts). */
  syncBatchTransactionsMax: 50_000,
  /** The background sync runs at most this long after a commit (it is also woken by each commit). */
  syncIdleIntervalMs: 50,
  /** After open, the column store starts this much later (in the background) to catch up, so opening
   *  and the first point reads never wait for DuckDB to load. */
  mirrorStartDelayMs: 250,
  /** Parsed-and-planned statements kept per database (LRU), so repeated SQL skips the parser. */
  statementCacheEntriesMax: 1_000,
  /** One statement's SQL text; larger texts are refused before parsing (the parser is WASM with a
   *  bounded heap). */
  statementLengthMax: 16 * 1024 * 1024,
  /** Rows an INSERT … SELECT or DuckDB-evaluated UPDATE/DELETE may move through memory at once. */
  dmlEvaluatedRowsMax: 5_000_000,
  /** A TEXT or BLOB value larger than this is refused with TYPE_MISMATCH (SQLite's own default cap is 1e9). */
  valueBytesMax: 256 * 1024 * 1024,
  /** Rows one multi-row INSERT of a bulk insert (db.insert, import) carries: enough to amortize the
   *  per-statement cost (measured by bench/suites/bulk-insert.ts), few enough that re-running a failed
   *  chunk row by row, to name the bad row, stays cheap. */
  bulkInsertRowsPerStatement: 64,
  /** Bound parameters in one SQLite statement (SQLite's SQLITE_MAX_VARIABLE_NUMBER is 32766). */
  sqliteParametersMax: 32_000,
  /** Identifiers remembered as keyword or not (column names in generated names): column names are
   *  few, but a long-running process must not grow without bound. */
  keywordCacheEntriesMax: 10_000,
  /** History versions a change feed reads at once, and so the most changes it buffers per subscriber:
   *  big enough that a page costs one query per table, small enough that a thousand idle or slow
   *  subscribers hold a few MB between them. */
  feedPageRows: 1_000,
  /** A caught-up feed is woken by every commit of this process; it also looks this often for commits
   *  made by another process on the same directory (a shell subscribed while `strata sql` writes). */
  feedPollIntervalMs: 250,
} as const

if (limits.syncIdleIntervalMs >= limits.freshReadWaitMs) {
  throw new Error('limits: the sync must run more often than a fresh read is willing to wait')
}
if (limits.statementLengthMax > limits.valueBytesMax) {
  throw new Error('limits: a statement may not be larger than the largest value')
}
if (limits.feedPageRows < 1) {
  throw new Error('limits: a change feed must be able to read at least one version at a time')
}
