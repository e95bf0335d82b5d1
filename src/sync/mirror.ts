/**
 * CDC from the ledger into the column store (docs/time-model.md, "Views of the ledger").
 * The mirror's position (`applied`) lives in DuckDB, committed in the same DuckDB transaction as the
 * data it describes, so after any crash the mirror is at a consistent transaction and simply catches up.
 */
import type { ColumnSession, AppendKind, ColumnResult } from '../storage/columnstore/columnstore.js'
import type { RowConnection } from '../storage/rowstore/rowstore.js'
import { historyTableName, isInternalTable, keyColumn, openTxColumn, openWriterSql, type Catalog, type TableDefinition } from '../sql/catalog.js'
import { keyExpression, openVersionsSql, versionsSql, writtenInRangeParams, writtenInRangeSql } from '../sql/ddl.js'
import { mainBranch } from '../sql/branches.js'
import { quoteIdentifier } from '../sql/tree.js'
import { decimalIsScaled, duckdbType, readsIntegersAsBigints, typeLabel, type SqlType } from '../sql/types.js'
import { decimalText } from '../util/decimal.js'
import { limits } from '../util/limits.js'
import { assert } from '../util/assert.js'

export const mirrorSchema = 'strata_mirror'
const stagingSchema = 'strata_staging'
/** The prefix of the sync's temporary staging tables (stagingTable). */
const stagingPrefix = '_strata_staging_'
const metaSchema = 'strata_meta'

/**
 * The statements of one step of the sync, sent to DuckDB together. Each DuckDB call is a trip through
 * its worker thread and back through the event loop, which a busy writer delays (milliseconds each), so
 * statements that need no result are queued and sent as one call (`runStatements`) — before an append to
 * a table a queued statement touches (the append must see their effect), before a query, and at the end
 * of the step (whose last statement is the COMMIT). A few rows are queued as INSERT … VALUES text
 * ({@link StatementBatch.insert}) rather than appended, so a batch of the sync that moves few rows is one
 * call: BEGIN, its statements and the COMMIT.
 */
export class StatementBatch {
  private readonly pending: string[] = []
  /** Tables (`schema.name`, as passed to append) that queued statements read or change. */
  private readonly touched = new Set<string>()
  /** A queued statement changes the schema: an appender must not be created before it runs. */
  private ddlPending = false

  constructor(readonly session: ColumnSession) {}

  /**
   * Queues a statement without parameters whose result nobody reads. `ddl`: no appender may be created
   * before it runs (a schema change, or the BEGIN the appends belong to).
   */
  add(sql: string, options: { readonly touches?: readonly string[]; readonly ddl?: boolean } = {}): void {
    this.pending.push(sql)
    for (const table of options.touches ?? []) this.touched.add(table)
    if (options.ddl === true) this.ddlPending = true
  }

  /** Appends rows to a table of the mirror's file, or of the session's temporary catalog (`catalog` 'temp'). */
  async append(schema: string, table: string, kinds: readonly AppendKind[], rows: readonly (readonly unknown[])[], catalog?: 'temp'): Promise<void> {
    if (this.ddlPending || this.touched.has(`${schema}.${table}`)) await this.flush()
    await this.session.append(schema, table, kinds, rows, catalog)
  }

  /**
   * Adds rows to a table: queued as INSERT … VALUES when they are few and each value has a literal that
   * gives exactly what the appender stores ({@link valuesLiteral}); appended otherwise.
   */
  async insert(schema: string, table: string, kinds: readonly AppendKind[], rows: readonly (readonly unknown[])[]): Promise<void> {
    const values = rows.length <= limits.syncInlineRowsMax ? valuesLiteral(kinds, rows) : undefined
    if (values === undefined) return this.append(schema, table, kinds, rows)
    this.add(`INSERT INTO ${quoteIdentifier(schema)}.${quoteIdentifier(table)} VALUES ${values}`, { touches: [`${schema}.${table}`] })
  }

  async query(sql: string): Promise<ColumnResult> {
    await this.flush()
    return this.session.run(sql)
  }

  /** Sends the queued statements (in order, as one call). */
  async flush(): Promise<void> {
    if (this.pending.length === 0) return
    const text = this.pending.join(';\n')
    this.pending.length = 0
    this.touched.clear()
    this.ddlPending = false
    await this.session.runStatements(text)
  }
}

/** A string as a DuckDB literal (standard SQL quoting: only `'` is special). */
function literal(value: string): string {
  return `'${value.replaceAll("'", "''")}'`
}

/**
 * A value as the SQL literal that stores exactly what the appender stores for it with `kind`
 * (columnstore.ts, `append`), or undefined when there is no such literal here: the caller appends.
 * Numbers go through DuckDB's string-to-DOUBLE cast (correctly rounded; a bare `0.1` would be a DECIMAL
 * first); strings with NUL (the statement text is a C string) or lone surrogates are left to the appender.
 */
function valueLiteral(kind: AppendKind, value: unknown): string | undefined {
  if (value === null || value === undefined) return 'NULL'
  switch (kind) {
    case 'bigint':
    case 'timestamp': {
      let integer: string
      if (typeof value === 'bigint') integer = String(value)
      else if (typeof value === 'number' && Number.isSafeInteger(value)) integer = String(value)
      else return undefined
      return kind === 'bigint' ? integer : `make_timestamp(CAST(${integer} AS BIGINT))`
    }
    case 'double': {
      const number = Number(value)
      if (!Number.isFinite(number) || Object.is(number, -0)) return undefined
      return `CAST('${String(number)}' AS DOUBLE)`
    }
    case 'boolean':
      // As the appender stores it (chunks.ts): true, 1 and 1n are true, anything else false.
      return value === true || value === 1 || value === 1n ? 'true' : 'false'
    case 'varchar': {
      const text = String(value)
      // With the u flag a surrogate pair is one code point, so only a lone surrogate matches.
      if (text.includes('\0') || /\p{Surrogate}/u.test(text)) return undefined
      return literal(text)
    }
    default:
      return undefined
  }
}

/** Rows as the text of a VALUES list, or undefined when a value has no literal ({@link valueLiteral}). */
function valuesLiteral(kinds: readonly AppendKind[], rows: readonly (readonly unknown[])[]): string | undefined {
  const parts: string[] = []
  for (const row of rows) {
    const values: string[] = []
    for (let index = 0; index < kinds.length; index++) {
      const value = valueLiteral(kinds[index]!, row[index])
      if (value === undefined) return undefined
      values.push(value)
    }
    parts.push(`(${values.join(', ')})`)
  }
  return parts.length === 0 ? undefined : parts.join(', ')
}

/** A transaction id written into a statement's text. */
function txLiteral(txId: number): string {
  assert(Number.isSafeInteger(txId), `a transaction id is an integer, not ${txId}`)
  return String(txId)
}

/** The mirror's own bookkeeping: the relations it holds (with the schema they were made for) and the tables whose history it keeps. */
export interface MirrorState {
  readonly relations: ReadonlyMap<string, { readonly kind: string; readonly schemaTx: number }>
  readonly historyMirrored: ReadonlySet<string>
}

/** Reads {@link MirrorState} from DuckDB (the sync keeps it in memory between batches). */
export async function readMirrorState(session: ColumnSession): Promise<MirrorState> {
  const result = await session.run(`SELECT name, kind, schema_tx FROM ${metaSchema}.relations UNION ALL SELECT name, NULL, NULL FROM ${metaSchema}.history_mirrored`)
  const relations = new Map<string, { kind: string; schemaTx: number }>()
  const historyMirrored = new Set<string>()
  for (const row of result.rows) {
    if (row[1] === null) historyMirrored.add(String(row[0]))
    else relations.set(String(row[0]), { kind: String(row[1]), schemaTx: Number(row[2]) })
  }
  return { relations, historyMirrored }
}

/** Creates the mirror's own schemas and position row; safe to run on every start. */
export async function prepareMirror(session: ColumnSession): Promise<void> {
  await session.run(`SET TimeZone = 'UTC'`)
  for (const schema of [mirrorSchema, stagingSchema, metaSchema, 'strata', 'strata_information_schema']) {
    await session.run(`CREATE SCHEMA IF NOT EXISTS ${schema}`)
  }
  await session.run(`CREATE TABLE IF NOT EXISTS ${metaSchema}.position (applied_tx BIGINT NOT NULL)`)
  await session.run(`INSERT INTO ${metaSchema}.position SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM ${metaSchema}.position)`)
  await session.run(`CREATE TABLE IF NOT EXISTS ${metaSchema}.relations (name VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, schema_tx BIGINT NOT NULL)`)
  // Tables whose history the mirror keeps (from the first column-store read of their history on).
  await session.run(`CREATE TABLE IF NOT EXISTS ${metaSchema}.history_mirrored (name VARCHAR PRIMARY KEY)`)
  await session.run(`CREATE TABLE IF NOT EXISTS strata.transactions (tx_id BIGINT NOT NULL, system_time TIMESTAMP NOT NULL, kind VARCHAR NOT NULL, rows_changed BIGINT NOT NULL, branch VARCHAR)`)
  // A mirror made before branches (format 2) gains the column: every commit it holds was main's.
  await session.run(`ALTER TABLE strata.transactions ADD COLUMN IF NOT EXISTS branch VARCHAR DEFAULT '${mainBranch}'`)
  // Branches other than main (src/subsystems/branches/), replaced whenever a commit changes the list;
  // strata.branches adds main and each branch's head from the commits (as branchesSync computes them).
  await session.run(`CREATE TABLE IF NOT EXISTS ${metaSchema}.branches (id BIGINT NOT NULL, name VARCHAR NOT NULL, parent VARCHAR NOT NULL, fork_tx BIGINT NOT NULL, created_tx BIGINT NOT NULL, merged_tx BIGINT)`)
  await session.run(
    `CREATE OR REPLACE VIEW strata.branches AS ` +
      `SELECT '${mainBranch}' AS name, CAST(NULL AS VARCHAR) AS parent, CAST(NULL AS BIGINT) AS fork_tx, ` +
      `coalesce((SELECT max(tx_id) FROM strata.transactions WHERE branch = '${mainBranch}'), 0) AS head_tx, (SELECT min(system_time) FROM strata.transactions) AS created_at ` +
      `UNION ALL SELECT b.name, b.parent, b.fork_tx, ` +
      // A dropped branch's name may be taken again: only the commits after this one's creation are its.
      `greatest(b.fork_tx, coalesce(b.merged_tx, 0), coalesce((SELECT max(t.tx_id) FROM strata.transactions t WHERE t.branch = b.name AND t.tx_id > b.created_tx), 0)), ` +
      `c.system_time FROM ${metaSchema}.branches b JOIN strata.transactions c ON c.tx_id = b.created_tx`,
  )
  await session.run(`CREATE TABLE IF NOT EXISTS strata.erasures (tx_id BIGINT NOT NULL, table_name VARCHAR NOT NULL, entities BIGINT NOT NULL, versions BIGINT NOT NULL)`)
  // Streaming sources (src/subsystems/streaming/sources.ts): each one's watermark, and the events that came too late.
  await session.run(`CREATE TABLE IF NOT EXISTS strata.sources (name VARCHAR NOT NULL, watermark TIMESTAMP, max_event_time TIMESTAMP, flushed BOOLEAN NOT NULL)`)
  await session.run(`CREATE TABLE IF NOT EXISTS strata.late_events (source VARCHAR NOT NULL, event JSON NOT NULL, event_time TIMESTAMP NOT NULL, watermark TIMESTAMP, tx_id BIGINT NOT NULL)`)
  // Streams: their counters as the row store keeps them, and strata.streams over them with their source's watermark and late events.
  await session.run(`CREATE TABLE IF NOT EXISTS ${metaSchema}.stream_state (name VARCHAR NOT NULL, source VARCHAR NOT NULL, query VARCHAR NOT NULL, events_in BIGINT NOT NULL, events_out BIGINT NOT NULL, state_rows BIGINT NOT NULL, tx_id BIGINT NOT NULL)`)
  await session.run(
    `CREATE OR REPLACE VIEW strata.streams AS SELECT s.name, s.source, s.query, src.watermark, s.events_in, s.events_out, ` +
      `(SELECT count(*) FROM strata.late_events l WHERE l.source = s.source) AS late, s.state_rows, t.system_time AS last_checkpoint, ` +
      // How far event time trails the stream's last step: its commit time minus its source's watermark.
      `to_milliseconds(epoch_ms(t.system_time) - epoch_ms(src.watermark)) AS lag, CAST(NULL AS VARCHAR) AS error ` +
      `FROM ${metaSchema}.stream_state s LEFT JOIN strata.sources src ON src.name = s.source LEFT JOIN strata.transactions t ON t.tx_id = s.tx_id`,
  )
  await session.run(`CREATE TABLE IF NOT EXISTS strata_information_schema.tables (table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR, table_type VARCHAR)`)
  await session.run(
    `CREATE TABLE IF NOT EXISTS strata_information_schema.columns (table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR, column_name VARCHAR, ordinal_position INTEGER, column_default VARCHAR, is_nullable VARCHAR, data_type VARCHAR)`,
  )
}

export async function readAppliedTx(session: ColumnSession): Promise<number> {
  const result = await session.run(`SELECT applied_tx FROM ${metaSchema}.position`)
  return Number(result.rows[0]?.[0] ?? 0)
}

export function appendKind(type: SqlType): AppendKind {
  switch (type.name) {
    case 'DOUBLE':
      return 'double'
    case 'DECIMAL':
      // Exact both ways: the scaled integer or the canonical text, made a DECIMAL by castFromStaging.
      return decimalIsScaled(type) ? 'bigint' : 'varchar'
    case 'VARCHAR':
    case 'DATE':
    case 'JSON':
      return 'varchar'
    case 'BLOB':
      return 'blob'
    default:
      return 'bigint'
  }
}

export function stagingType(kind: AppendKind): string {
  return { bigint: 'BIGINT', double: 'DOUBLE', varchar: 'VARCHAR', blob: 'BLOB', boolean: 'BOOLEAN', timestamp: 'TIMESTAMP', timestamptz: 'TIMESTAMPTZ' }[kind]
}

/**
 * How a column's stored value is appended straight into the mirror's typed column, when that gives
 * exactly what staging and {@link castFromStaging} give: integers and BOOLEAN (the appender converts
 * as CAST does), DOUBLE, VARCHAR and BLOB unchanged, timestamps from their microseconds. DECIMAL, DATE
 * and JSON go through staging, so that DuckDB's SQL casts convert them.
 */
function directKind(type: SqlType): AppendKind | undefined {
  switch (type.name) {
    case 'BOOLEAN':
    case 'SMALLINT':
    case 'INTEGER':
    case 'BIGINT':
      return 'bigint'
    case 'DOUBLE':
      return 'double'
    case 'VARCHAR':
      return 'varchar'
    case 'BLOB':
      return 'blob'
    case 'TIMESTAMP':
      return 'timestamp'
    case 'TIMESTAMPTZ':
      return 'timestamptz'
    default:
      return undefined
  }
}

/** The kinds to append a table's (key, columns) rows with straight into its mirror, or undefined when a column needs staging. */
function directKinds(table: TableDefinition): AppendKind[] | undefined {
  const kinds: AppendKind[] = ['varchar']
  for (const column of table.columns) {
    const kind = directKind(column.type)
    if (kind === undefined) return undefined
    kinds.push(kind)
  }
  return kinds
}

/**
 * Whether reading a table's stored integers needs BigInts: only BIGINT and timestamps (µs) can pass
 * 2^53. Making a BigInt per value is a large part of the sync's read, so other tables read numbers.
 */
function readsBigints(table: TableDefinition): boolean {
  return readsIntegersAsBigints(table.columns.map((column) => column.type))
}

/** SQL that turns a staged primitive into the column's real type. */
export function castFromStaging(column: string, type: SqlType): string {
  const reference = quoteIdentifier(column)
  switch (type.name) {
    case 'TIMESTAMP':
      return `make_timestamp(${reference})`
    case 'TIMESTAMPTZ':
      return `CAST(make_timestamp(${reference}) AS TIMESTAMPTZ)`
    case 'DOUBLE':
    case 'VARCHAR':
    case 'BLOB':
      return reference
    case 'DECIMAL': {
      // A scaled integer times 10^-s, in DECIMAL arithmetic (exact; the product's scale is s).
      const scale = type.scale ?? 3
      if (!decimalIsScaled(type) || scale === 0) return `CAST(${reference} AS ${duckdbType(type)})`
      return `CAST(CAST(${reference} AS DECIMAL(18,0)) * ${decimalText({ unscaled: 1n, scale })} AS ${duckdbType(type)})`
    }
    default:
      return `CAST(${reference} AS ${duckdbType(type)})`
  }
}

function relationName(table: TableDefinition): string {
  return `${mirrorSchema}.${quoteIdentifier(table.name)}`
}

/**
 * The mirror of a table's history, split by valid time: `open` holds the versions whose valid period
 * is open-ended (the system-time history of the current state), `bounded` the valid-time pieces. Times
 * are µs integers, and an open end is stored as {@link openEnd} instead of NULL, so a scan can skip
 * row groups by their min/max (docs/time-model.md, "Views of the ledger").
 */
export function mirrorHistoryName(table: string, part: 'open' | 'bounded'): string {
  return `${mirrorSchema}.${quoteIdentifier(`${historyTableName(table)}${part === 'open' ? '' : '_pieces'}`)}`
}

/** The largest BIGINT: "not yet" for `_tx_to`/`_system_to`, "end of time" for `_valid_to`, in the mirror's history. */
export const openEnd = '9223372036854775807'

const historyTimeColumns = ['_tx_from', '_tx_to', '_system_from', '_system_to', '_valid_from', '_valid_to'] as const

function rebuildTableShape(batch: StatementBatch, table: TableDefinition): void {
  const columns = table.columns.map((column) => `${quoteIdentifier(column.name)} ${duckdbType(column.type)}`)
  const ddl = (sql: string): void => batch.add(sql, { ddl: true })
  ddl(`DROP VIEW IF EXISTS main.${quoteIdentifier(table.name)}`)
  ddl(`DROP TABLE IF EXISTS ${relationName(table)}`)
  ddl(`CREATE TABLE ${relationName(table)} (${quoteIdentifier(keyColumn)} VARCHAR NOT NULL, ${columns.join(', ')})`)
  const times = historyTimeColumns.map((name) => `${name} BIGINT`).join(', ')
  for (const part of ['open', 'bounded'] as const) {
    ddl(`DROP TABLE IF EXISTS ${mirrorHistoryName(table.name, part)}`)
    ddl(`CREATE TABLE ${mirrorHistoryName(table.name, part)} (_version BIGINT NOT NULL, ${quoteIdentifier(keyColumn)} VARCHAR NOT NULL, ${columns.join(', ')}, ${times})`)
  }
  // Staging tables of the mirror's file, as versions before 2026-12-07 made them (staging is temporary now: stagingTable).
  for (const name of [`hist_${table.name}`, `rows_${table.name}`, `keys_${table.name}`]) ddl(`DROP TABLE IF EXISTS ${stagingSchema}.${quoteIdentifier(name)}`)
  // Users query the view: it hides the key column, so SELECT * means the same in both stores.
  ddl(`CREATE VIEW main.${quoteIdentifier(table.name)} AS SELECT ${table.columns.map((column) => quoteIdentifier(column.name)).join(', ')} FROM ${relationName(table)}`)
}

function dropRelation(batch: StatementBatch, name: string, kind: string): void {
  batch.add(`DROP VIEW IF EXISTS main.${quoteIdentifier(name)}`, { ddl: true })
  if (kind === 'table') {
    batch.add(`DROP TABLE IF EXISTS ${mirrorSchema}.${quoteIdentifier(name)}`, { ddl: true })
    batch.add(`DROP TABLE IF EXISTS ${mirrorHistoryName(name, 'open')}`, { ddl: true })
    batch.add(`DROP TABLE IF EXISTS ${mirrorHistoryName(name, 'bounded')}`, { ddl: true })
    for (const staged of [`hist_${name}`, `rows_${name}`, `keys_${name}`]) batch.add(`DROP TABLE IF EXISTS ${stagingSchema}.${quoteIdentifier(staged)}`, { ddl: true })
  }
}

/**
 * A staging table of the step's session, made afresh and empty in the table's current shape: a
 * temporary table (per connection, in memory), so the rows appended to it and read once by an
 * INSERT … SELECT never reach DuckDB's write-ahead log — before, staging tables of the mirror's file
 * made every staged row written to it three times (appended, inserted, deleted). `name` is what it
 * stages (`rows_t`); the result names it for `append` (schema and table, catalog 'temp') and in SQL.
 */
function stagingTable(batch: StatementBatch, name: string, shape: string): { readonly table: string; readonly sql: string; readonly touches: string } {
  const table = `${stagingPrefix}${name}`
  batch.add(`CREATE OR REPLACE TEMP TABLE ${quoteIdentifier(table)} (${shape})`, { ddl: true })
  return { table, sql: `temp.main.${quoteIdentifier(table)}`, touches: `main.${table}` }
}

/** A table's columns as its staging tables hold them (the appender's kinds, cast by castFromStaging). */
function stagedColumns(table: TableDefinition): string {
  return table.columns.map((column) => `${quoteIdentifier(column.name)} ${stagingType(appendKind(column.type))}`).join(', ')
}

export interface ApplyRange {
  /** Exclusive lower bound: the mirror (or the overlay base) already reflects this transaction. */
  readonly fromTx: number
  /** Inclusive upper bound. */
  readonly toTx: number
  readonly catalog: Catalog
}

interface TableChanges {
  readonly table: TableDefinition
  /** The table is copied anew (schema change or erasure). */
  readonly rebuild: boolean
  /**
   * For a table whose history the mirror keeps: history versions written or closed in the range
   * (`_tx_to`/`_system_to` as of toTx; all versions on a rebuild). The current table follows from them.
   */
  readonly versions: unknown[][] | undefined
  /** Otherwise: the open-ended versions current at toTx that the range wrote (key, columns)… */
  readonly rows: unknown[][]
  /** …and the keys whose open-ended version the mirror holds and the range closed. */
  readonly removedKeys: string[]
  /** The rows are those the range's commits handed over (not read back). */
  readonly handedOver?: boolean
}

/**
 * Reads, in one synchronous SQLite read (a consistent snapshot), every change of (fromTx, toTx] per
 * table. A table whose mirror shape is older than its schema is read whole, as of toTx.
 */
function readChangesSync(
  source: RowConnection,
  range: ApplyRange,
  mirrorSchemaTx: ReadonlyMap<string, number>,
  historyMirrored: ReadonlySet<string>,
  inserted: readonly InsertedRows[],
): TableChanges[] {
  const changes: TableChanges[] = []
  const erased = new Set(
    source
      .prepareSync('SELECT DISTINCT table_name FROM _strata_erasures WHERE tx_id > ? AND tx_id <= ?')
      .allSync([range.fromTx, range.toTx])
      .map((row) => String(row[0])),
  )
  for (const table of range.catalog.tables.values()) {
    const history = quoteIdentifier(historyTableName(table.name))
    // An erasure removed history rows, which no incremental change describes: copy the table anew.
    const rebuild = mirrorSchemaTx.get(table.name) !== table.schemaTx || erased.has(table.name)
    // A rebuild only happens when a schema change or erasure lies in the range, and then the range always
    // ends at the source's latest transaction (batchUpperBound).
    if (historyMirrored.has(table.name)) {
      const versions = readVersionsSync(source, table, range.fromTx, range.toTx, rebuild)
      if (rebuild || versions.length > 0) changes.push({ table, rebuild, versions, rows: [], removedKeys: [] })
      continue
    }
    const handed = handedRowsOf(source, table, range, rebuild, inserted)
    if (handed !== undefined) {
      if (rebuild || handed.length > 0) changes.push({ table, rebuild, versions: undefined, rows: handed, removedKeys: [], handedOver: true })
      continue
    }
    // Without its history, the mirror needs only what changes the current table (the narrow reads of the
    // sync's hot path).
    const columns = table.columns.map((column) => quoteIdentifier(column.name)).join(', ')
    // The table's rows the range wrote (src/sql/ddl.ts writtenInRangeSql; all of them up to toTx on a
    // rebuild), and the open-ended versions it wrote that history holds because a later commit closed them.
    const fromTx = rebuild ? 0 : range.fromTx
    const own = table.columns.map((column) => `_strata_row.${quoteIdentifier(column.name)}`).join(', ')
    const rows = source
      .prepareSync(
        `SELECT ${keyExpression(table, '_strata_row')}, ${own} FROM main.${quoteIdentifier(table.name)} AS _strata_row WHERE ` +
          (rebuild ? `${openWriterSql('_strata_row')} <= ?` : writtenInRangeSql(table, '_strata_row')) +
          ` UNION ALL SELECT ${quoteIdentifier(keyColumn)}, ${columns} FROM ${history} WHERE _tx_from > ? AND _tx_from <= ? AND _tx_to > ? AND _valid_to IS NULL`,
        { bigints: readsBigints(table) },
      )
      .allSync([...(rebuild ? [range.toTx] : writtenInRangeParams(fromTx, range.toTx)), fromTx, range.toTx, range.toTx])
    const removedKeys = rebuild
      ? []
      : source
          .prepareSync(`SELECT DISTINCT ${quoteIdentifier(keyColumn)} FROM ${history} WHERE _tx_to > ? AND _tx_to <= ? AND _valid_to IS NULL AND _tx_from <= ?`)
          .allSync([range.fromTx, range.toTx, range.fromTx])
          .map((row) => String(row[0]))
    if (rebuild || rows.length > 0 || removedKeys.length > 0) changes.push({ table, rebuild, versions: undefined, rows, removedKeys })
  }
  return changes
}

/**
 * The rows the range's handed-over commits inserted into `table` (`inserted`: each of them all its
 * commit changed, see {@link InsertedRows}), when they are exactly what reading the table's changes
 * would give; otherwise undefined, and the table is read. They are when every one of them was made
 * for the table's current shape, and the row store shows no other write to it: as many of its rows
 * inserted in the range (from the start, when it is copied anew) as were handed over, and no version
 * of it closed or written to history there (an UPDATE, a DELETE, a valid-time write, or a later
 * change to a row inserted in the range). Both are counts and seeks on the indexes by transaction.
 */
function handedRowsOf(source: RowConnection, table: TableDefinition, range: ApplyRange, rebuild: boolean, inserted: readonly InsertedRows[]): unknown[][] | undefined {
  const mine = inserted.filter((handed) => handed.table.name === table.name)
  if (mine.length === 0 || mine.some((handed) => handed.table.schemaTx !== table.schemaTx)) return undefined
  if (!onlyHandedWritesSync(source, table.name, rebuild ? 0 : range.fromTx, range.toTx, mine)) return undefined
  if (mine.length === 1) return mine[0]!.rows
  const rows: unknown[][] = []
  for (const handed of mine) for (const one of handed.rows) rows.push(one)
  return rows
}

/**
 * Whether the rows `mine` (handed over for `table`) are all that (fromTx, toTx] wrote to it: as many of
 * its rows inserted in the range, and no version of it closed or written to history there (an UPDATE,
 * a DELETE, a valid-time write, or a later change to a row inserted in the range). Both are counts
 * and seeks on the indexes by transaction.
 */
function onlyHandedWritesSync(source: RowConnection, table: string, fromTx: number, toTx: number, mine: readonly InsertedRows[]): boolean {
  const history = `main.${quoteIdentifier(historyTableName(table))}`
  const row = source
    .prepareSync(
      `SELECT (SELECT count(*) FROM main.${quoteIdentifier(table)} WHERE ${quoteIdentifier(openTxColumn)} > ? AND ${quoteIdentifier(openTxColumn)} <= ?), ` +
        `EXISTS (SELECT 1 FROM ${history} WHERE _tx_to > ? AND _tx_to <= ?) OR EXISTS (SELECT 1 FROM ${history} WHERE _tx_from > ? AND _tx_from <= ?)`,
    )
    .allSync([fromTx, toTx, fromTx, toTx, fromTx, toTx])[0]
  const count = mine.reduce((sum, handed) => sum + handed.rows.length, 0)
  return Number(row?.[0]) === count && Number(row?.[1]) === 0
}

/**
 * Whether a sync step over (fromTx, toTx] — no schema change or erasure in it — may take every table
 * that `inserted` (the rows its commits handed over) covers from those rows: no other commit of the
 * range wrote those tables. Then handed-over commits need no step of their own (syncer.ts, stepEnd).
 */
export function handedRowsStandSync(source: RowConnection, fromTx: number, toTx: number, inserted: readonly InsertedRows[]): boolean {
  const byTable = new Map<string, InsertedRows[]>()
  for (const handed of inserted) byTable.set(handed.table.name, [...(byTable.get(handed.table.name) ?? []), handed])
  for (const [table, mine] of byTable) if (!onlyHandedWritesSync(source, table, fromTx, toTx, mine)) return false
  return true
}

/** A version's columns as the mirror stages them; a version closed after toTx (the two `?`) is still open as of toTx. */
function versionColumnsOf(table: TableDefinition): string {
  const columns = table.columns.map((column) => quoteIdentifier(column.name)).join(', ')
  return `_version, ${quoteIdentifier(keyColumn)}, ${columns}, _tx_from, CASE WHEN _tx_to <= ? THEN _tx_to END, _system_from, CASE WHEN _tx_to <= ? THEN _system_to END, _valid_from, _valid_to`
}

/** Versions written or closed in (fromTx, toTx] (all up to toTx when `everything`), as of toTx. */
function readVersionsSync(source: RowConnection, table: TableDefinition, fromTx: number, toTx: number, everything: boolean): unknown[][] {
  if (everything) return source.prepareSync(`SELECT ${versionColumnsOf(table)} FROM ${versionsSql(table)} AS v WHERE _tx_from <= ?`, { bigints: true }).allSync([toTx, toTx, toTx])
  // A closed version is in history; the table's rows (open versions) were written in the range or not at all.
  return source
    .prepareSync(
      `SELECT ${versionColumnsOf(table)} FROM main.${quoteIdentifier(historyTableName(table.name))} WHERE (_tx_from > ? AND _tx_from <= ?) OR (_tx_to > ? AND _tx_to <= ?) ` +
        `UNION ALL SELECT ${versionColumnsOf(table)} FROM (${openVersionsSql(table)} WHERE ${writtenInRangeSql(table, '_strata_open')})`,
      { bigints: true },
    )
    .allSync([toTx, toTx, fromTx, toTx, fromTx, toTx, toTx, toTx, ...writtenInRangeParams(fromTx, toTx)])
}

/**
 * Starts keeping the history of `tables` in the mirror (inside the batch's open DuckDB transaction,
 * which must be at `appliedTx`): copies every version as of `appliedTx`; from then on each sync
 * applies its history too. Returns the state once the batch commits.
 */
export async function mirrorHistory(batch: StatementBatch, source: RowConnection, tables: readonly TableDefinition[], appliedTx: number, state: MirrorState): Promise<MirrorState> {
  const historyMirrored = new Set(state.historyMirrored)
  for (const table of tables) {
    if (historyMirrored.has(table.name)) continue
    batch.add(`INSERT INTO ${metaSchema}.history_mirrored VALUES (${literal(table.name)})`)
    historyMirrored.add(table.name)
    // A table the mirror does not hold in this shape yet is copied whole, history included, by the sync
    // that creates or rebuilds it.
    if (state.relations.get(table.name)?.schemaTx !== table.schemaTx) continue
    const versions = readVersionsSync(source, table, 0, appliedTx, true)
    for (const part of ['open', 'bounded'] as const) batch.add(`DELETE FROM ${mirrorHistoryName(table.name, part)}`)
    await applyVersions(batch, table, versions, { fromTx: 0, rebuild: true, current: false, history: true })
  }
  return { relations: state.relations, historyMirrored }
}

/**
 * Applies (fromTx, toTx] to the mirror inside the session's open DuckDB transaction, for a
 * transaction's private overlay (source = the writer connection with its uncommitted writes, then
 * ROLLBACK). The background sync uses {@link applyRangeBatched} with the state it keeps.
 *
 * @returns the number of rows appended
 */
export async function applyRange(session: ColumnSession, source: RowConnection, range: ApplyRange): Promise<number> {
  const batch = new StatementBatch(session)
  const applied = await applyRangeBatched(batch, source, range, await readMirrorState(session))
  await batch.flush()
  return applied.rowsAppended
}

/** What the row store says about (fromTx, toTx]: read at once, so the read snapshot can end before the column store's work starts. */
export interface RangeChanges {
  readonly range: ApplyRange
  readonly tables: readonly TableChanges[]
}

/**
 * Reads every change of (fromTx, toTx] for a mirror in `state`, synchronously (one snapshot of
 * `source`). `inserted`: the rows commits of the range inserted, handed over (see
 * {@link InsertedRows}; the caller has checked the ledger counts as many rows changed by each), taken
 * for a table's changes instead of reading them where they are exactly those.
 */
export function readRangeSync(source: RowConnection, range: ApplyRange, state: MirrorState, inserted: readonly InsertedRows[] = []): RangeChanges {
  const mirrorSchemaTx = new Map([...state.relations].filter(([, relation]) => relation.kind === 'table').map(([name, relation]) => [name, relation.schemaTx]))
  return { range, tables: readChangesSync(source, range, mirrorSchemaTx, state.historyMirrored, inserted) }
}

/**
 * Applies (fromTx, toTx] to the mirror inside the batch's open DuckDB transaction, given the mirror's
 * state at fromTx. Some statements may still be queued when it returns (the caller flushes, usually
 * with its COMMIT); the state returned holds once they ran.
 */
export async function applyRangeBatched(batch: StatementBatch, source: RowConnection, range: ApplyRange, state: MirrorState): Promise<{ readonly rowsAppended: number; readonly state: MirrorState }> {
  return applyChangesBatched(batch, readRangeSync(source, range, state), state)
}

/** {@link applyRangeBatched} for changes read already ({@link readRangeSync}, with the same `state`). */
export async function applyChangesBatched(batch: StatementBatch, read: RangeChanges, state: MirrorState): Promise<{ readonly rowsAppended: number; readonly state: MirrorState }> {
  const range = read.range
  const relations = new Map(state.relations)
  const historyMirrored = new Set(state.historyMirrored)
  const changes = read.tables
  let rowsAppended = 0
  let shapeChanged = false
  for (const [name, relation] of [...relations]) {
    const stillThere = relation.kind === 'table' ? range.catalog.tables.has(name) : range.catalog.views.has(name)
    if (!stillThere) {
      dropRelation(batch, name, relation.kind)
      batch.add(`DELETE FROM ${metaSchema}.relations WHERE name = ${literal(name)}`)
      batch.add(`DELETE FROM ${metaSchema}.history_mirrored WHERE name = ${literal(name)}`)
      relations.delete(name)
      historyMirrored.delete(name)
      shapeChanged = true
    }
  }
  for (const change of changes) {
    const { table } = change
    if (change.rebuild) {
      rebuildTableShape(batch, table)
      batch.add(`INSERT OR REPLACE INTO ${metaSchema}.relations VALUES (${literal(table.name)}, 'table', ${txLiteral(table.schemaTx)})`)
      relations.set(table.name, { kind: 'table', schemaTx: table.schemaTx })
      shapeChanged = true
    }
    if (change.versions !== undefined) {
      await applyVersions(batch, table, change.versions, { fromTx: range.fromTx, rebuild: change.rebuild, current: true, history: true })
      rowsAppended += change.versions.length
      continue
    }
    const key = quoteIdentifier(keyColumn)
    const removedList = change.removedKeys.length <= limits.syncInlineRowsMax ? valuesLiteral(['varchar'], change.removedKeys.map((removed) => [removed])) : undefined
    if (removedList !== undefined) {
      // A few keys: written into the DELETE itself (queued, no staging append).
      batch.add(`DELETE FROM ${relationName(table)} WHERE ${key} IN (${change.removedKeys.map(literal).join(', ')})`, { touches: [`${mirrorSchema}.${table.name}`] })
    } else if (change.removedKeys.length > 0) {
      const keys = stagingTable(batch, `keys_${table.name}`, `${key} VARCHAR NOT NULL`)
      await batch.append('main', keys.table, ['varchar'], change.removedKeys.map((removed) => [removed]), 'temp')
      // It touches the mirror's table too: rows appended straight into it must come after it.
      batch.add(`DELETE FROM ${relationName(table)} WHERE ${key} IN (SELECT ${key} FROM ${keys.sql})`, { touches: [keys.touches, `${mirrorSchema}.${table.name}`] })
      batch.add(`DELETE FROM ${keys.sql}`, { touches: [keys.touches] })
    }
    const direct = directKinds(table)
    if (change.rows.length > 0 && direct !== undefined) {
      // Straight into the mirror's table: no staging copy, no INSERT … SELECT.
      await batch.insert(mirrorSchema, table.name, direct, change.rows)
      rowsAppended += change.rows.length
    } else if (change.rows.length > 0) {
      const staged = stagingTable(batch, `rows_${table.name}`, `${key} VARCHAR NOT NULL, ${stagedColumns(table)}`)
      await batch.append('main', staged.table, ['varchar', ...table.columns.map((column) => appendKind(column.type))], change.rows, 'temp')
      const casts = table.columns.map((column) => castFromStaging(column.name, column.type)).join(', ')
      batch.add(`INSERT INTO ${relationName(table)} SELECT ${key}, ${casts} FROM ${staged.sql}`, { touches: [staged.touches] })
      batch.add(`DELETE FROM ${staged.sql}`, { touches: [staged.touches] })
      rowsAppended += change.rows.length
    }
  }
  for (const view of range.catalog.views.values()) {
    if (relations.get(view.name)?.schemaTx === view.schemaTx) continue
    batch.add(`CREATE OR REPLACE VIEW main.${quoteIdentifier(view.name)} AS ${view.sql}`, { ddl: true })
    batch.add(`INSERT OR REPLACE INTO ${metaSchema}.relations VALUES (${literal(view.name)}, 'view', ${txLiteral(view.schemaTx)})`)
    relations.set(view.name, { kind: 'view', schemaTx: view.schemaTx })
    shapeChanged = true
  }
  if (shapeChanged) await refreshInformationSchema(batch, range.catalog)
  return { rowsAppended, state: { relations, historyMirrored } }
}

/**
 * Stages versions and applies them: to the current table (`current`: remove keys whose held open
 * version closed, add the open-ended versions current at toTx) and to the history parts (`history`:
 * replace by version). See docs/time-model.md, "Views of the ledger".
 */
async function applyVersions(
  batch: StatementBatch,
  table: TableDefinition,
  versions: unknown[][],
  options: { readonly fromTx: number; readonly rebuild: boolean; readonly current: boolean; readonly history: boolean },
): Promise<void> {
  if (versions.length === 0) return
  const key = quoteIdentifier(keyColumn)
  const timeColumns = historyTimeColumns.map((name) => `${name} BIGINT`).join(', ')
  const stagedVersions = stagingTable(batch, `hist_${table.name}`, `_version BIGINT NOT NULL, ${key} VARCHAR NOT NULL, ${stagedColumns(table)}, ${timeColumns}`)
  const staged = stagedVersions.sql
  const touches = [stagedVersions.touches]
  const kinds: AppendKind[] = ['bigint', 'varchar', ...table.columns.map((column) => appendKind(column.type)), ...historyTimeColumns.map((): AppendKind => 'bigint')]
  await batch.append('main', stagedVersions.table, kinds, versions, 'temp')
  const casts = table.columns.map((column) => castFromStaging(column.name, column.type)).join(', ')
  const fromTx = txLiteral(options.fromTx)
  // Versions the mirror already holds (written before the range) that the range closed. Deleting costs a
  // scan of the mirror's table, so a batch of new versions only skips it.
  const fromIndex = 2 + table.columns.length
  const closedHeld = !options.rebuild && versions.some((version) => Number(version[fromIndex]) <= options.fromTx)
  if (options.current) {
    if (closedHeld) {
      batch.add(`DELETE FROM ${relationName(table)} WHERE ${key} IN (SELECT ${key} FROM ${staged} WHERE _tx_to IS NOT NULL AND _valid_to IS NULL AND _tx_from <= ${fromTx})`, { touches })
    }
    batch.add(`INSERT INTO ${relationName(table)} SELECT ${key}, ${casts} FROM ${staged} WHERE _tx_to IS NULL AND _valid_to IS NULL`, { touches })
  }
  if (options.history) {
    // History rows only ever change by being closed, so they are replaced by version; a version's valid
    // period never changes, so it stays in one part.
    const times = historyTimeColumns.map((name) => (name.endsWith('_to') ? `coalesce(${name}, ${openEnd})` : name)).join(', ')
    for (const part of ['open', 'bounded'] as const) {
      const target = mirrorHistoryName(table.name, part)
      if (closedHeld) batch.add(`DELETE FROM ${target} WHERE _version IN (SELECT _version FROM ${staged} WHERE _tx_from <= ${fromTx})`, { touches })
      // A copy is laid out by when versions were closed, as the sync's appends are: a scan AS OF x then
      // skips the row groups of versions closed before x by their min/max.
      const order = options.rebuild ? ` ORDER BY coalesce(_tx_to, ${openEnd}), _tx_from` : ''
      batch.add(`INSERT INTO ${target} SELECT _version, ${key}, ${casts}, ${times} FROM ${staged} WHERE _valid_to IS ${part === 'open' ? '' : 'NOT '}NULL${order}`, { touches })
    }
  }
  batch.add(`DELETE FROM ${staged}`, { touches })
}

/** information_schema as users of PostgreSQL and DuckDB expect it, from our catalog (not DuckDB's internals). */
async function refreshInformationSchema(batch: StatementBatch, catalog: Catalog): Promise<void> {
  batch.add('DELETE FROM strata_information_schema.tables', { touches: ['strata_information_schema.tables'] })
  batch.add('DELETE FROM strata_information_schema.columns', { touches: ['strata_information_schema.columns'] })
  const tableRows: unknown[][] = []
  const columnRows: unknown[][] = []
  for (const table of catalog.tables.values()) {
    if (isInternalTable(table.name)) continue
    tableRows.push(['strata', 'main', table.name, 'BASE TABLE'])
    table.columns.forEach((column, index) => {
      const fallback = column.default === undefined ? null : column.default.kind === 'now' ? 'now()' : JSON.stringify(column.default.value)
      columnRows.push(['strata', 'main', table.name, column.name, BigInt(index + 1), fallback, column.notNull ? 'NO' : 'YES', typeLabel(column.type)])
    })
  }
  for (const view of catalog.views.values()) tableRows.push(['strata', 'main', view.name, 'VIEW'])
  if (tableRows.length > 0) await batch.append('strata_information_schema', 'tables', ['varchar', 'varchar', 'varchar', 'varchar'], tableRows)
  if (columnRows.length > 0) {
    await batch.append('strata_information_schema', 'columns', ['varchar', 'varchar', 'varchar', 'varchar', 'bigint', 'varchar', 'varchar', 'varchar'], columnRows)
  }
}

/** The ledger's commits and erasures in (fromTx, toTx], as {@link recordPosition} writes them. */
export interface LedgerRange {
  readonly toTx: number
  readonly commits: readonly unknown[][]
  readonly erasures: readonly unknown[][]
  /** Events the range's batches found late, as strata.late_events holds them. */
  readonly lateEvents: readonly unknown[][]
  /** Every source's state when a source's watermark moved or the schema changed in the range (strata.sources is then replaced), else undefined. */
  readonly sources: readonly unknown[][] | undefined
  /** Every stream's counters when one moved or the schema changed in the range (replaced then), else undefined. */
  readonly streams: readonly unknown[][] | undefined
  /** Every live branch but main when a commit of the range changed the list (strata_meta.branches is then replaced), else undefined. */
  readonly branches: readonly unknown[][] | undefined
}

export function readLedgerRangeSync(source: RowConnection, fromTx: number, toTx: number): LedgerRange {
  // Each commit with its branch's name (NULL for a commit that changed the list of branches).
  const commits = source
    .prepareSync(
      'SELECT t.tx_id, t.system_time_us, t.kind, t.rows_changed, CASE WHEN t.branch = 0 THEN ? ELSE b.name END ' +
        'FROM _strata_tx t LEFT JOIN _strata_branches b ON b.id = t.branch WHERE t.tx_id > ? AND t.tx_id <= ? ORDER BY t.tx_id',
      { bigints: true },
    )
    .allSync([mainBranch, fromTx, toTx])
  const erasures = source
    .prepareSync('SELECT tx_id, table_name, entities, versions FROM _strata_erasures WHERE tx_id > ? AND tx_id <= ? ORDER BY tx_id', { bigints: true })
    .allSync([fromTx, toTx])
  const lateEvents = source
    .prepareSync('SELECT source, event, event_time_us, watermark_us, tx_id FROM _strata_late_events WHERE tx_id > ? AND tx_id <= ? ORDER BY tx_id, rowid', { bigints: true })
    .allSync([fromTx, toTx])
  const sourcesMoved =
    source.prepareSync('SELECT 1 FROM _strata_sources WHERE tx_id > ? AND tx_id <= ? LIMIT 1').allSync([fromTx, toTx]).length > 0 ||
    commits.some((commit) => commit[2] === 'ddl')
  const sources = sourcesMoved ? source.prepareSync('SELECT name, watermark_us, max_event_us, flushed FROM _strata_sources ORDER BY name', { bigints: true }).allSync([]) : undefined
  const streamsMoved =
    source.prepareSync('SELECT 1 FROM _strata_streams WHERE tx_id > ? AND tx_id <= ? LIMIT 1').allSync([fromTx, toTx]).length > 0 ||
    commits.some((commit) => commit[2] === 'ddl')
  const streams = streamsMoved
    ? source.prepareSync('SELECT name, source, query, events_in, events_out, state_rows, tx_id FROM _strata_streams ORDER BY name', { bigints: true }).allSync([])
    : undefined
  // DROP BRANCH of a branch with tables of its own is a DDL commit (made on no branch).
  const branches = commits.some((commit) => commit[2] === 'branch' || (commit[2] === 'ddl' && commit[4] === null))
    ? source
        .prepareSync(
          'SELECT b.id, b.name, coalesce(p.name, ?), b.fork_tx, b.created_tx, b.merged_tx FROM _strata_branches b LEFT JOIN _strata_branches p ON p.id = b.parent_id ' +
            'WHERE (b.dropped_tx IS NULL OR b.dropped_tx > ?) AND b.created_tx <= ? ORDER BY b.id',
          { bigints: true },
        )
        .allSync([mainBranch, toTx, toTx])
    : undefined
  return { toTx, commits, erasures, lateEvents, sources, streams, branches }
}

/**
 * Appends the ledger's commits in the range to strata.transactions and moves the position (the
 * statements may stay queued in the batch until its COMMIT).
 */
export async function recordPosition(batch: StatementBatch, ledger: LedgerRange): Promise<void> {
  if (ledger.commits.length > 0) await batch.insert('strata', 'transactions', ['bigint', 'timestamp', 'varchar', 'bigint', 'varchar'], ledger.commits)
  if (ledger.branches !== undefined) {
    batch.add(`DELETE FROM ${metaSchema}.branches`, { touches: [`${metaSchema}.branches`] })
    if (ledger.branches.length > 0) await batch.insert(metaSchema, 'branches', ['bigint', 'varchar', 'varchar', 'bigint', 'bigint', 'bigint'], ledger.branches)
  }
  if (ledger.erasures.length > 0) await batch.insert('strata', 'erasures', ['bigint', 'varchar', 'bigint', 'bigint'], ledger.erasures)
  if (ledger.lateEvents.length > 0) await batch.insert('strata', 'late_events', ['varchar', 'varchar', 'timestamp', 'timestamp', 'bigint'], ledger.lateEvents)
  if (ledger.sources !== undefined) {
    // `touches`: a batch appends (rather than queues) rows it has no literal for, or more rows than it
    // inlines, and an append runs at once; the DELETE must have run before it.
    batch.add('DELETE FROM strata.sources', { touches: ['strata.sources'] })
    if (ledger.sources.length > 0) await batch.insert('strata', 'sources', ['varchar', 'timestamp', 'timestamp', 'boolean'], ledger.sources)
  }
  if (ledger.streams !== undefined) {
    batch.add(`DELETE FROM ${metaSchema}.stream_state`, { touches: [`${metaSchema}.stream_state`] })
    if (ledger.streams.length > 0) await batch.insert(metaSchema, 'stream_state', ['varchar', 'varchar', 'varchar', 'bigint', 'bigint', 'bigint', 'bigint'], ledger.streams)
  }
  batch.add(`UPDATE ${metaSchema}.position SET applied_tx = ${txLiteral(ledger.toTx)}`)
}

/** How far one sync batch may reach: bounded, but never splitting across a schema change. */
export function batchUpperBound(source: RowConnection, appliedTx: number, committedTx: number): number {
  const bounded = Math.min(committedTx, appliedTx + limits.syncBatchTransactionsMax)
  if (bounded === committedTx) return committedTx
  return reshapedIn(source, appliedTx, committedTx) ? committedTx : bounded
}

/**
 * Whether a schema change or an erasure lies in (fromTx, toTx]. A sync step over a range with one
 * reads the catalog as of the snapshot and may rebuild tables, so it must reach the snapshot's end.
 */
export function reshapedIn(source: RowConnection, fromTx: number, toTx: number): boolean {
  if (source.prepareSync(`SELECT 1 FROM _strata_tx WHERE kind = 'ddl' AND tx_id > ? AND tx_id <= ? LIMIT 1`).allSync([fromTx, toTx]).length > 0) return true
  return source.prepareSync(`SELECT 1 FROM _strata_erasures WHERE tx_id > ? AND tx_id <= ? LIMIT 1`).allSync([fromTx, toTx]).length > 0
}

/**
 * The rows one commit inserted into one table, handed over by what wrote them — a bulk insert
 * (src/engine/bulk.ts), a transaction's large plain INSERTs (src/engine/writes.ts; Session.inserted) or
 * a subsystem's appends (src/engine/append.ts; Session.appended) — in the shape {@link readChangesSync}
 * reads: the key's text, then the user columns' storage forms. Whether they are all the range wrote to
 * their table is checked against the row store before they are used.
 */
export interface InsertedRows {
  readonly table: TableDefinition
  readonly rows: unknown[][]
}
