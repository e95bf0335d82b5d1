/**
 * Every bound Strata enforces, in one place, each with the reason for its value.
 * Relations between them are checked at the bottom so a careless edit fails at load time.
 */
export const limits = {
  /** How long a writer waits for the single writer lock before LOCK_TIMEOUT. Long enough for any
   *  ordinary transaction, short enough that a forgotten open transaction is noticed. */
  writerLockWaitMs: 10_000,
  /** An explicit transaction idle between statements gives the writer lock up to another writer by
   *  parking its writes in memory (src/engine/transactions.ts) only while it has changed at most this
   *  many rows: parking copies them out and back, and a bulk load in one transaction should keep it. */
  parkedRowsMax: 10_000,
  /** Bounded wait of a fresh (read-your-writes) column-store read for the CDC sync; then STALE_READ_TIMEOUT. */
  freshReadWaitMs: 10_000,
  /** At most this many transactions go into one CDC batch, so a long backlog after a restart is
   *  applied in bounded chunks (a batch never splits across a schema change; see sync/mirror.ts). */
  syncBatchTransactionsMax: 50_000,
  /** A CDC step with at most this many rows for a table sends them as INSERT … VALUES (or DELETE … IN)
   *  text with the batch's other statements — one DuckDB call with its BEGIN and COMMIT — instead of
   *  through an appender, which needs the transaction begun first (a second call) and blocks the event
   *  loop while it flushes. Larger steps use the appender: it is the faster path per row. DuckDB binds
   *  a VALUES list row by row (about 55 µs a row of five columns with two timestamps), while a BEGIN,
   *  an append and a COMMIT cost about 1.4 ms whatever the rows: they break even near 20 rows (a
   *  temporary script, 30 runs per size; 256 rows took 14.9 ms as VALUES, 1.6 ms appended). */
  syncInlineRowsMax: 16,
  /** A bulk insert of at least this many rows hands them to the sync, which applies its commit in a
   *  step of its own without reading them back (sync/syncer.ts, offer); smaller ones are read back with
   *  the commits around them, in one step. */
  syncHandoffRowsMin: 1_000,
  /** An INSERT statement hands its rows over (for its transaction, see syncHandoffRowsMin) only when
   *  it inserts at least this many: a transaction of small statements is read back as usual, and the
   *  autocommit single-row INSERT pays nothing for the hand-over. */
  syncHandoffStatementRowsMin: 64,
  /** Rows handed over and not yet applied that the sync holds at most (memory); beyond, they are read back. */
  syncHandoffRowsMax: 2_000_000,
  /** The background sync runs at most this long after a commit (it is also woken by each commit); and
   *  synchronous writes hold the event loop at most this long while the mirror lags (engine: yieldingToSync). */
  syncIdleIntervalMs: 50,
  /** Commits that follow each other closely are applied by one sync step: a step starts at most this
   *  long after the previous one ended, unless a reader waits for the column store (then at once). A
   *  step per commit (one DuckDB transaction each) would cost more CPU than the commits themselves. */
  syncCoalesceMs: 10,
  /** After open, the column store starts this much later (in the background) to catch up, so opening
   *  and the first point reads never wait for DuckDB to load. */
  mirrorStartDelayMs: 250,
  /** The SQL parser keeps a spare WebAssembly instance to replace one that faults (src/sql/wasm.ts);
   *  it is made this long after the first, so that compiling it does not slow opening a database. */
  parserSpareDelayMs: 200,
  /** Key values per scan when a materialized view over a table reads the groups a transaction touched,
   *  or an interval join the other source's events with a batch's keys (SQLite's bound on a
   *  statement's parameters is 32,766; the keys' conditions are ORed as a balanced tree, `anyOf`,
   *  since SQLite refuses an expression nested more than 1,000 deep). */
  keysPerScanMax: 2_000,
  /** Values (events × columns) up to which a stream's step passes its events to DuckDB inside the
   *  query, as parameters, instead of appending them to a work table first: one round trip instead of
   *  four for the small batches that set push-to-visible latency. Only for a few events: DuckDB binds
   *  a VALUES list row by row, about 120 µs a row of six columns, where a work table costs about 2 ms
   *  whatever the rows (333 rows: 39 ms inline, 2.1 ms through a work table; a temporary script). */
  streamInlineValuesMax: 64,
  /** A source's expired events (its `retention`) leave once they are at least 1/this of its table: each
   *  removal makes the column store copy the source anew, so the copying stays within this many times
   *  the events removed. */
  retentionShareDivisor: 10,
  /** Parsed-and-planned statements kept per database (LRU), so repeated SQL skips the parser. */
  statementCacheEntriesMax: 1_000,
  /** Shapes of statements whose texts differ only in their digits (src/sql/variants.ts) kept per key, most
   *  recent first: texts such as `t1`/`t2` share a key, and each lookup tries these few before parsing. */
  variantShapesPerKeyMax: 4,
  /** Parsed statements written at close for the next process (src/engine/statement-store.ts): the most recently used. */
  storedStatementsMax: 128,
  /** A text longer than this (characters) is not stored for the next process. */
  storedStatementTextMax: 4_096,
  /** One SQL text handed to the engine (all its statements), in characters; a longer one is refused
   *  (LIMIT_EXCEEDED) before the scanner sees it. The scanner and the parser run synchronously, on the
   *  event loop, at about 2 µs and 1 µs a token (measured on this project's 2-core machine under load:
   *  1 MiB of one-character tokens scanned in 2.1 s and parsed in 1.2 s; 4 MiB took 19 s and 2.6 GB), so
   *  this bounds how long one text can stall every other client. Large values belong in parameters,
   *  `db.insert` or COPY; a long string literal is one token and cheap. */
  statementLengthMax: 1024 * 1024,
  /** Tokens (comments not counted) in one SQL text; more are refused before parsing. Below it a text
   *  scans and parses in about 0.2 s at worst (100,000 tokens of an IN list: 0.2 s scan + 0.1 s parse
   *  on the loaded 2-core machine; a 5,000-row two-column INSERT … VALUES is 25,000), and the tree the
   *  engine walks stays within a few tens of MB. */
  statementTokensMax: 100_000,
  /** How deep expressions may nest, as the scanner counts it before parsing (src/sql/parse.ts
   *  `measureStatement`: parentheses, CASE, chained operators like `1+1+…`, UNION and JOIN chains each
   *  add a level). The parser's WebAssembly instance has a small fixed stack that its recursive tree
   *  output overflows — corrupting the instance — from about 150 nested scalar subqueries or 550 chained
   *  operators (measured); and DuckDB binds a chain of n operators in roughly n³ time (100: 20-40 ms,
   *  200: 60-125 ms, 400: 0.5-0.8 s, 800: 12 s). 100 keeps both far away, and is deeper than SQL people
   *  or ORMs write (long AND/OR lists and IN lists are flat and do not count). */
  expressionDepthMax: 100,
  /** How deeply arrays and objects may nest in one parameter value (a JSON document): converting a
   *  value for either store recurses once per level (JSON.stringify among them), and V8's stack runs
   *  out at around 10,000 (measured: a 10,000-deep array parameter failed with a stack overflow). */
  parameterNestingMax: 1_000,
  /** Rows an INSERT … SELECT or DuckDB-evaluated UPDATE/DELETE may move through memory at once. */
  dmlEvaluatedRowsMax: 5_000_000,
  /** A TEXT or BLOB value larger than this is refused with TYPE_MISMATCH (SQLite's own default cap is 1e9). */
  valueBytesMax: 256 * 1024 * 1024,
  /** Rows one multi-row INSERT of a bulk insert (db.insert, import) carries: enough to amortize the
   *  per-statement cost (measured by bench/suites/bulk-insert.ts), few enough that re-running a failed
   *  chunk row by row, to name the bad row, stays cheap. */
  bulkInsertRowsPerStatement: 64,
  /** Rows one statement of an UPDATE applied by key carries (the column store evaluated it, engine/
   *  writes.ts): one statement per row was quadratic inside a statement savepoint (src/sql/rowsql.ts
   *  keyedUpdateSql); the statement cache keeps one plan for the full size. */
  keyedUpdateRowsPerStatement: 256,
  /** A table snapshot's chunks end at keys whose hash is 0 modulo this: about this many rows per chunk (docs/branches.md, "The chunk store"). */
  snapshotChunkRowsTarget: 65_536,
  /** Rows per Parquet row group in a snapshot's chunks. */
  snapshotRowGroupRows: 16_384,
  /** strata.diff lists the keys either side changed as constants in the query up to this many; beyond, it compares the two states whole. */
  diffListedKeysMax: 2_000,
  /** Bound parameters in one SQLite statement (SQLite's SQLITE_MAX_VARIABLE_NUMBER is 32766); a read or
   *  write that would bind more (an IN list of tens of thousands) runs on the column store instead. */
  sqliteParametersMax: 32_000,
  /** Identifiers remembered as keyword or not (column names in generated names): column names are
   *  few, but a long-running process must not grow without bound. */
  keywordCacheEntriesMax: 10_000,
  /** History versions a change feed reads at once, and so the most changes it buffers per subscriber:
   *  big enough that a page costs one query per table, small enough that a thousand idle or slow
   *  subscribers hold a few MB between them. */
  feedPageRows: 1_000,
  /** A caught-up feed is woken by every commit; it also looks this often anyway, so a feed that stopped
   *  at a table altered by a transaction still open carries on soon after that transaction ends
   *  (rolled back, it wakes nobody). */
  feedPollIntervalMs: 250,
  /** Changes a streaming sink takes from its feed before it delivers them and records its position:
   *  one feed page, so a sink holds at most a page of changes (plus a Parquet sink's unfinished
   *  transaction) in memory, and one position commit costs a few hundred messages. */
  sinkBatchChangesMax: 1_000,
  /** Messages a sink sends before it waits for their acknowledgements: enough to keep a broker on this
   *  machine busy, few enough that a broker gone away leaves little to send again. */
  sinkInFlightMax: 256,
  /** How long a sink waits for a broker to acknowledge what it sent (or to connect) before it counts
   *  the broker as away, shows the error and retries from its committed position. */
  sinkSendTimeoutMs: 10_000,
  /** A sink in trouble retries after this, doubling up to `sinkBackoffMaxMs`. */
  sinkBackoffMinMs: 100,
  sinkBackoffMaxMs: 5_000,
  /** An opener refused by a data directory's lock waits at most this long for the holder to have
   *  written its pid (it does so right after taking the lock), so the error can name it. */
  directoryHolderWaitMs: 1_000,
  /** The longest path a Unix socket may have: sun_path is 108 bytes on Linux and 104 on macOS, with
   *  its terminating NUL. A data directory whose `strata.sock` would be longer gets its socket in a
   *  private directory under the temporary directory instead (recorded in the holder file). */
  socketPathBytesMax: 103,
  /** CLI processes connected to one server's local socket at once: far more than people run by hand,
   *  few enough that a runaway script cannot exhaust file handles. */
  localConnectionsMax: 64,
  /** One request on the local socket (JSON: SQL text and parameters): the longest statement, with room
   *  for JSON's escapes; each connection buffers at most one line. */
  localRequestBytesMax: 64 * 1024 * 1024,
  /** Requests a local client may send before the one running finishes (the CLI sends one at a time;
   *  only a Ctrl-C's cancel comes in between), so a misbehaving client cannot queue without bound. */
  localQueuedRequestsMax: 8,
  /** Rows per frame of a result sent over the local socket, and roughly the text per frame (a frame
   *  ends after the row that passes it): a slow client holds the server to one frame at a time. */
  localResultBatchRows: 1_000,
  localResultBatchBytes: 1024 * 1024,
  /** One frame a local client accepts from its server: a single row may hold a value of
   *  valueBytesMax, which JSON (base64 for bytes) makes at most about twice as long. */
  localFrameBytesMax: 512 * 1024 * 1024,
  /** How long a client waits for a server's greeting on its local socket before opening the directory itself. */
  localConnectTimeoutMs: 5_000,
  /** A request body of the HTTP API (JSON: SQL text and parameters). Bigger bodies get 413 before they
   *  are read: a server with `httpConnectionsMax` connections must not be made to hold gigabytes.
   *  (The SQL text in it is bounded by statementLengthMax; the rest is parameters.) */
  httpRequestBodyBytesMax: 8 * 1024 * 1024,
  /** Open HTTP connections; more are refused by the listener, so a flood cannot exhaust file handles. */
  httpConnectionsMax: 512,
  /** A statement run over HTTP (or the PG protocol) without its own timeout is cancelled after this
   *  long: long enough for heavy analytical queries, short enough that a runaway query is not forever. */
  serverStatementTimeoutMsDefault: 5 * 60_000,
  /** The largest per-request `timeout_ms` the HTTP API accepts. */
  serverStatementTimeoutMsMax: 24 * 60 * 60_000,
  /** On SIGINT/SIGTERM, in-flight statements get this long to finish before they are cancelled. */
  serverShutdownGraceMs: 10_000,
  /** GET /changes (server-sent events) writes a comment line this often while no change comes: proxies
   *  and load balancers close a connection idle for 30–60 s, and a write is also how a server notices,
   *  through a failed write, a client that vanished without closing its connection. */
  httpChangesKeepAliveMs: 15_000,
  /** What GET /changes tells an EventSource to wait before it reconnects (its `retry:` field): the
   *  browsers' default of 3 s would leave a live view stale for that long after a server restart. */
  httpChangesRetryMs: 1_000,
  /** Rows serialized per write to an HTTP response: big enough that a write is not per row, small
   *  enough that a slow client holds the server to a few hundred kB of serialized text at a time. */
  httpResponseBatchRows: 1_000,
  /** Rows per batch when the engine streams a query's result (Engine.stream). */
  streamBatchRows: 2_048,
  /** Statement runs the HTTP API remembers for GET /query-runs (in memory; the oldest are forgotten). */
  queryRunsKeptMax: 10_000,
  /** SQL text kept per remembered run (longer texts are cut, with an ellipsis), so the run log stays
   *  within a few hundred MB even when every request carries a body of httpRequestBodyBytesMax. */
  queryRunSqlCharsMax: 16 * 1024,
  /** Persisted HTTP results kept in the column store (strata.results."<id>"); the oldest are dropped,
   *  so a busy API does not grow the data directory without bound. */
  resultsKeptMax: 10_000,
  /** Rows of persisted results kept in all; the oldest results are dropped beyond it (and beyond resultsKeptMax). */
  resultsKeptRowsMax: 10_000_000,
  /** A result with more rows is not persisted (its status is failed): persisting copies every row. */
  resultPersistRowsMax: 1_000_000,
  /** Results waiting to be persisted; beyond this a new result is not persisted (result_id null and a
   *  warning), so a burst of queries cannot queue unbounded memory behind the background writer. */
  resultPersistQueueMax: 4_096,
  /** Rows of the results waiting to be persisted, in all; the same bound, counted in rows. */
  resultPersistQueueRowsMax: 2_000_000,
  /** PostgreSQL-protocol sessions `strata serve` allows at once (PostgreSQL's own max_connections
   *  default); each holds a session and its buffers, and writers serialize anyway. */
  pgConnectionsMax: 100,
  /** A PostgreSQL-protocol startup packet (PostgreSQL's own MAX_STARTUP_PACKET_LENGTH). */
  pgStartupBytesMax: 10_000,
  /** One PostgreSQL-protocol message after startup (a Query, a Bind with its parameters, one CopyData):
   *  above the largest statement, far below PostgreSQL's 1 GB, because each connection buffers a whole
   *  message before acting on it. Larger values go in by COPY, which streams in many messages. */
  pgMessageBytesMax: 64 * 1024 * 1024,
  /** The data of one COPY … FROM STDIN, held until CopyDone so the load commits as one transaction. */
  pgCopyBytesMax: 512 * 1024 * 1024,
  /** A connection must finish startup and authentication within this (PostgreSQL's authentication_timeout). */
  pgAuthenticationTimeoutMs: 60_000,
  /** Sockets beyond the configured maximum of sessions, for CancelRequests and connections being
   *  refused with 53300; more are dropped by the listener, so a flood cannot exhaust file handles. */
  pgPendingConnectionsMax: 64,
  /** Named prepared statements and portals one connection may hold (PostgreSQL has no limit; memory does). */
  pgPreparedStatementsMax: 10_000,
  /** Result bytes buffered for one connection before waiting for the socket to drain. */
  pgOutputBufferBytes: 256 * 1024,
  /** Messages a source's connector pushes as one batch (one transaction): large enough that a backlog
   *  after a restart is read in few commits, small enough that a batch's events fit in memory twice. */
  connectorBatchMessagesMax: 1_000,
  /** After a batch's first message, how long more messages may join it: a commit per 10 ms at most
   *  while messages trickle, and a lone message waits no longer than that. */
  connectorBatchLingerMs: 10,
  /** A connector in trouble (broker away, a batch refused) retries after 0.1 s, doubling up to 5 s: a
   *  broker back after a restart is found within seconds, one that stays away costs little. */
  connectorBackoffMinMs: 100,
  connectorBackoffMaxMs: 5_000,
  /** How long a source's connector waits for a broker to accept its connection (TCP and handshake)
   *  before it counts the broker as away and retries with backoff. */
  connectorConnectTimeoutMs: 10_000,
  /** An MQTT client id Strata makes or accepts: 23 characters is what MQTT 3.1.1 obliges every broker
   *  to accept (MQTT 5 brokers usually take more). */
  mqttClientIdLengthMax: 23,
  /** How long the broker keeps an MQTT source's session (and the messages it queues for it) while Strata
   *  is closed: a week, so a database closed over a long weekend loses nothing; after that the broker may
   *  drop the session and what it held. (Mosquitto also caps the messages it queues, max_queued_messages.) */
  mqttSessionExpirySeconds: 7 * 24 * 3600,
  /** Events of committed PostgreSQL transactions a CDC connector holds before it stops reading its socket
   *  (PostgreSQL then waits): ten batches, so batches follow one another without a wait while a backlog
   *  is read, and memory stays bounded (a transaction is held whole, however large). */
  postgresCdcBufferedEventsMax: 10_000,
  /** Rows a CDC connector's initial snapshot fetches from its cursor and pushes as one batch: a batch's
   *  worth, so a snapshot commits its progress as often as a backlog of changes would. */
  postgresCdcSnapshotBatchRowsMax: 1_000,
  /** How long a stopping connector's PostgreSQL connection waits for the server to close it after the
   *  goodbye: a server that answers closes at once; one that stopped answering never would, and its
   *  socket is then destroyed, so DROP SOURCE and close do not wait on it. */
  postgresEndWaitMs: 1_000,
  /** The longest branch name (characters): git refs have no bound of their own, but a name appears in
   *  every commit's record and prompt; GitHub refuses refs over 255 bytes, so this is as long as a
   *  name that travels to a git host can be. */
  branchNameLengthMax: 255,
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
if (limits.httpResponseBatchRows < 1 || limits.resultsKeptMax < 1) {
  throw new Error('limits: HTTP responses and persisted results need room for at least one')
}
if (limits.serverStatementTimeoutMsDefault > limits.serverStatementTimeoutMsMax) {
  throw new Error('limits: the default statement timeout may not exceed the largest one a request may ask for')
}
if (limits.localRequestBytesMax < 2 * limits.statementLengthMax) {
  throw new Error('limits: a local-socket request must be able to carry the longest statement, escaped')
}
if (limits.localFrameBytesMax < 2 * limits.valueBytesMax) {
  throw new Error('limits: a local-socket frame must be able to carry a row with the largest value')
}
if (limits.expressionDepthMax > limits.statementTokensMax || limits.statementTokensMax > limits.statementLengthMax) {
  throw new Error('limits: a token takes a character and a level of nesting a token, so the bounds must be ordered depth ≤ tokens ≤ length')
}
if (limits.connectorBackoffMinMs > limits.connectorBackoffMaxMs || limits.connectorBatchMessagesMax < 1) {
  throw new Error('limits: a connector backs off from the least to the most, and reads at least one message a batch')
}
if (limits.postgresCdcBufferedEventsMax < 2 * limits.connectorBatchMessagesMax) {
  throw new Error('limits: a CDC connector holds at least two batches, so it reads on while one is pushed')
}
if (limits.connectorBatchMessagesMax > 65_535) {
  throw new Error('limits: an MQTT receive maximum (a batch of unacknowledged messages) is at most 65,535')
}
if (limits.pgMessageBytesMax < limits.statementLengthMax) {
  throw new Error('limits: a PostgreSQL-protocol Query message must be able to carry the longest statement')
}
