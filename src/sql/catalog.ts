/**
 * The catalog's data: table and view definitions as plain readonly data. The engine persists them in
 * the row store (`_strata_catalog`); the front end reads them to resolve names and types.
 */
import type { SqlType } from './types.js'

export type DefaultValue =
  | { readonly kind: 'value'; readonly value: null | number | string | boolean }
  | { readonly kind: 'now' }

export interface ColumnDefinition {
  readonly name: string
  readonly type: SqlType
  readonly notNull: boolean
  readonly default: DefaultValue | undefined
}

export interface TableDefinition {
  readonly name: string
  readonly columns: readonly ColumnDefinition[]
  /** Primary key columns; null when the table has a hidden row id instead. */
  readonly primaryKey: readonly string[] | null
  readonly uniques: readonly (readonly string[])[]
  /** CHECK constraints: the source text (for DESCRIBE) and its row-store translation. */
  readonly checks: readonly { readonly source: string; readonly sqlite: string; readonly columns: readonly string[] }[]
  /** The transaction of the last schema change (the mirror rebuilds a table whose schema moved on). */
  readonly schemaTx: number
  /**
   * Some current version's valid time may not cover "now" (it starts in the future or ends after
   * its commit), so default reads go through history; set by valid-time writes, never cleared.
   */
  readonly futureValidTime?: boolean
  /** Full-text indexes (SQLite FTS5, src/sql/fulltext.ts); absent in catalogs written before they existed. */
  readonly fulltext?: readonly FulltextIndexDefinition[]
  /**
   * Secondary indexes made by CREATE [UNIQUE] INDEX (not those of PRIMARY KEY and UNIQUE constraints);
   * absent in catalogs written before they were recorded.
   */
  readonly indexes?: readonly IndexDefinition[]
  /** Set when the table is a streaming source (CREATE SOURCE, SPEC 8): an append-only log of events with a watermark. */
  readonly source?: SourceDefinition
  /** Set when the table is a stream's output (CREATE STREAM, SPEC 8): written only by the stream. */
  readonly stream?: StreamDefinition
}

/** A continuous query over a source, whose results are its table's rows. */
export interface StreamDefinition {
  /** The query as written (planned again when the stream runs: src/sql/streaming.ts, planStream). */
  readonly query: string
  readonly source: string
  /** A windowed aggregate that emits changes: its windows' rows are updated as events arrive (EMIT CHANGES), not written once at close. */
  readonly emit?: 'changes'
  /**
   * A materialized view over an ordinary table (`source` names the table; it may be another stream's
   * or view's table): kept up to date inside every transaction that writes the table.
   */
  readonly over?: 'table'
  /** An interval join's second source (`source` is the first): the stream reads both. */
  readonly joins?: string
  /** For a view over a table: the table's columns it reads, as they were when it was created (so `*` keeps its meaning). */
  readonly columns?: readonly string[]
  /** For a view over a join of two tables: the second table's columns it reads, likewise. */
  readonly joinColumns?: readonly string[]
}

/** What makes a table a source: the event-time column its watermark follows, and the slack it allows. */
export interface SourceDefinition {
  /** The event-time column (TIMESTAMP or TIMESTAMPTZ), or null: the watermark moves only by db.advanceWatermark and db.flush. */
  readonly watermarkColumn: string | null
  /** The watermark trails the largest event time seen by this much (µs): `WATERMARK FOR ts AS ts - INTERVAL …`. */
  readonly delayUs: number
  /** An event earlier than the watermark by more than this (µs) is late: dropped and recorded in strata.late_events. */
  readonly allowedLatenessUs: number
  /**
   * Events earlier than the watermark by more than this (µs) leave the source's table (and its
   * history) once no stream needs them: `WITH (retention = INTERVAL …)`. Absent: kept for ever.
   */
  readonly retentionUs?: number
  /**
   * `WITH (idle_timeout = INTERVAL …)` (µs): once no event has arrived for this long (wall-clock time),
   * the source no longer holds back the streams that join it with other sources — when one of those
   * moves on, this source's watermark follows it (docs/streaming.md, "Idle sources"). Absent: never idle.
   */
  readonly idleTimeoutUs?: number
  /** Where events arrive from besides INSERT and db.push: a message broker the source reads by itself. */
  readonly connector?: SourceConnector
}

/**
 * Where a source's events come from besides INSERT and db.push: a message broker it reads by itself
 * (src/subsystems/streaming/connectors.ts), one kind per broker, each committing its position with
 * every batch so a restart neither loses nor repeats a message (docs/streaming.md, "Connectors").
 */
export type SourceConnector = NatsConnector | MqttConnector | RabbitmqConnector | PostgresCdcConnector

/** A NATS JetStream subject, read from the stream that holds it; offsets (stream sequences) commit with each batch. */
export interface NatsConnector {
  readonly kind: 'nats'
  readonly subject: string
  /** host:port; 127.0.0.1:4222 unless given. */
  readonly server: string
}

/**
 * An MQTT topic filter, read in a persistent session (QoS 1): a message is acknowledged to the broker
 * only once the batch holding it has committed, and a redelivery of one already committed is
 * recognised by the receipt committed with it.
 */
export interface MqttConnector {
  readonly kind: 'mqtt'
  /** A topic filter (`+` and `#` allowed). */
  readonly topic: string
  /** host:port; 127.0.0.1:1883 unless given. */
  readonly server: string
  /** 1 (at least once from the broker, exactly once into the source) unless given; 0 is at most once. */
  readonly qos: 0 | 1
  /**
   * The session's client id: given as `client_id`, or made once by CREATE SOURCE (the broker keeps the
   * session, and so the unacknowledged messages, under it). Absent only in a definition not yet created.
   */
  readonly clientId?: string
}

/** A RabbitMQ stream queue (x-queue-type = stream), read from the offset after the one committed with the last batch. */
export interface RabbitmqConnector {
  readonly kind: 'rabbitmq'
  readonly queue: string
  /** host:port, or an amqp:// URL with credentials and virtual host; 127.0.0.1:5672 (guest) unless given. */
  readonly server: string
}

/**
 * A PostgreSQL table's changes, read by logical replication (pgoutput) from a replication slot: each
 * change one event, each PostgreSQL transaction pushed whole, the commit's end LSN committed with the
 * batch and acknowledged to PostgreSQL only after it (docs/streaming.md, "PostgreSQL CDC").
 */
export interface PostgresCdcConnector {
  readonly kind: 'postgres-cdc'
  /** The table, `schema.name` as PostgreSQL stores the names (public when no schema is given). */
  readonly table: string
  /** host:port or a postgres:// URL; 127.0.0.1:5432 unless given. */
  readonly server: string
  /** The database, when given apart from the URL (postgres when neither names one). */
  readonly database?: string
  /** The user, when given apart from the URL (postgres when neither names one). */
  readonly user?: string
  /**
   * The logical replication slot: given as `slot`, or made once by CREATE SOURCE (strata_ and 16 hex
   * digits). Created by the connector when missing, dropped once a DROP SOURCE has committed. Absent
   * only in a definition not yet created.
   */
  readonly slot?: string
  /** A publication of the user's, which must exist; absent: the connector's own, named as the slot, created and dropped with it. */
  readonly publication?: string
  /**
   * 'initial': the table's rows are read first (events with `_op` 'r'), then its changes from the
   * snapshot's consistent point; 'never': its changes only. Every definition CREATE SOURCE makes now
   * has it; one stored before it existed has none, and reads as 'never' (as it did).
   */
  readonly snapshot?: 'initial' | 'never'
}

/**
 * What a connector reads (a subject, a topic filter, a queue, a table), as SHOW SOURCES and EXPLAIN STREAM show it.
 *
 * @example
 * connectorTarget({ kind: 'mqtt', topic: 'a/b/#', server: '127.0.0.1:1883', qos: 1 }) // 'a/b/#'
 */
export function connectorTarget(connector: SourceConnector): string {
  switch (connector.kind) {
    case 'nats':
      return connector.subject
    case 'mqtt':
      return connector.topic
    case 'rabbitmq':
      return connector.queue
    case 'postgres-cdc':
      return connector.table
  }
}

/**
 * A connector as SHOW SOURCES shows it: its kind, what it reads and where (a password in a server URL
 * is not shown).
 *
 * @example
 * describeConnector({ kind: 'nats', subject: 'a.b', server: '127.0.0.1:4222' }) // 'nats a.b at 127.0.0.1:4222'
 */
export function describeConnector(connector: SourceConnector): string {
  const database = connector.kind === 'postgres-cdc' && connector.database !== undefined ? ` (database ${connector.database})` : ''
  return `${connector.kind} ${connectorTarget(connector)} at ${serverShown(connector.server)}${database}`
}

/**
 * A server as shown (SHOW SOURCES, a connector's errors): a URL's password replaced by ***.
 *
 * @example
 * serverShown('postgres://u:secret@h:5432/db') // 'postgres://u:***@h:5432/db'
 */
export function serverShown(server: string): string {
  if (!server.includes('://')) return server
  try {
    const url = new URL(server)
    if (url.password === '') return server
    url.password = '***'
    return url.toString()
  } catch {
    return server
  }
}

/** A secondary index: a SQLite B-tree over some columns, ascending (PostgreSQL would call it btree). */
export interface IndexDefinition {
  readonly name: string
  readonly columns: readonly string[]
  readonly unique: boolean
}

/** A full-text index: an FTS5 table over some TEXT/VARCHAR/JSON columns, kept in step by triggers. */
export interface FulltextIndexDefinition {
  readonly name: string
  readonly columns: readonly string[]
}

export interface ViewDefinition {
  readonly name: string
  /** The defining SELECT as the user wrote it; views are answered by the column store. */
  readonly sql: string
  readonly schemaTx: number
}

export interface Catalog {
  readonly tables: ReadonlyMap<string, TableDefinition>
  readonly views: ReadonlyMap<string, ViewDefinition>
}

/** Hidden row id column of a table without a primary key. */
export const rowIdColumn = '_strata_row_id'
/** Key column of history tables and mirror tables: the key as a JSON array. */
export const keyColumn = '_strata_key'

/**
 * Whether a catalog table is Strata's own storage (a branch's tables, docs/branches.md): a user's table
 * never has such a name (`_strata` is reserved), and listings — SHOW TABLES, information_schema,
 * pg_catalog, `db.tables()`, change feeds over every table — leave it out.
 */
export function isInternalTable(name: string): boolean {
  return name.startsWith('_strata')
}

export function historyTableName(table: string): string {
  return `_strata_history_${table}`
}

/**
 * Hidden columns of a table's row (the open version of its key, docs/time-model.md): the version's
 * number; the transaction that inserted the row, which an UPDATE leaves alone (so the index on it never
 * churns); the transaction of the UPDATE that wrote the version, NULL when it is the inserted one; and
 * its valid-from when that differs from its transaction's system time (NULL = the same). Filled by
 * SQLite defaults from the ledger's counters on INSERT.
 */
export const openVersionColumn = '_strata_version'
export const openTxColumn = '_strata_tx'
export const openUpdatedColumn = '_strata_updated'
export const openValidFromColumn = '_strata_valid_from'

/** SQL of the transaction that wrote the open version of the table row `alias` (`_tx_from`). */
export function openWriterSql(alias: string): string {
  return `coalesce(${alias}."${openUpdatedColumn}", ${alias}."${openTxColumn}")`
}

/** The row store's index of a table's rows by the transaction that inserted them (CDC, change feeds). */
export function openTxIndexName(table: string): string {
  return `_strata_inserted_${table}`
}

/** A table's secondary indexes (none in a catalog written before they were recorded). */
export function indexesOf(table: TableDefinition): readonly IndexDefinition[] {
  return table.indexes ?? []
}

export function findColumn(table: TableDefinition, name: string): ColumnDefinition | undefined {
  return table.columns.find((column) => column.name === name)
}
