/**
 * CDC from the ledger into the column store (docs/time-model.md, "Views of the ledger").
 * The mirror's position (`applied`) lives in DuckDB, committed in the same DuckDB transaction as the
 * data it describes, so after any crash the mirror is at a consistent transaction and simply catches up.
 */
import type { ColumnSession, AppendKind } from '../storage/columnstore/columnstore.js'
import type { RowConnection } from '../storage/rowstore/rowstore.js'
import { historyTableName, keyColumn, type Catalog, type TableDefinition } from '../sql/catalog.js'
import { quoteIdentifier } from '../sql/tree.js'
import { duckdbType, typeLabel, type SqlType } from '../sql/types.js'
import { limits } from '../util/limits.js'

export const mirrorSchema = 'strata_mirror'
const stagingSchema = 'strata_staging'
const metaSchema = 'strata_meta'

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
  await session.run(`CREATE TABLE IF NOT EXISTS ${stagingSchema}.transactions (tx_id BIGINT, system_time_us BIGINT, kind VARCHAR, rows_changed BIGINT)`)
  await session.run(`CREATE TABLE IF NOT EXISTS strata.transactions (tx_id BIGINT NOT NULL, system_time TIMESTAMP NOT NULL, kind VARCHAR NOT NULL, rows_changed BIGINT NOT NULL)`)
  await session.run(`CREATE TABLE IF NOT EXISTS strata.erasures (tx_id BIGINT NOT NULL, table_name VARCHAR NOT NULL, entities BIGINT NOT NULL, versions BIGINT NOT NULL)`)
  await session.run(`CREATE TABLE IF NOT EXISTS strata_information_schema.tables (table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR, table_type VARCHAR)`)
  await session.run(
    `CREATE TABLE IF NOT EXISTS strata_information_schema.columns (table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR, column_name VARCHAR, ordinal_position INTEGER, column_default VARCHAR, is_nullable VARCHAR, data_type VARCHAR)`,
  )
}

export async function readAppliedTx(session: ColumnSession): Promise<number> {
  const result = await session.run(`SELECT applied_tx FROM ${metaSchema}.position`)
  return Number(result.rows[0]?.[0] ?? 0)
}

function appendKind(type: SqlType): AppendKind {
  switch (type.name) {
    case 'DOUBLE':
    case 'DECIMAL':
      return 'double'
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

function stagingType(kind: AppendKind): string {
  return { bigint: 'BIGINT', double: 'DOUBLE', varchar: 'VARCHAR', blob: 'BLOB', boolean: 'BOOLEAN' }[kind]
}

/** SQL that turns a staged primitive into the column's real type. */
function castFromStaging(column: string, type: SqlType): string {
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

async function rebuildTableShape(session: ColumnSession, table: TableDefinition): Promise<void> {
  const columns = table.columns.map((column) => `${quoteIdentifier(column.name)} ${duckdbType(column.type)}`)
  const staged = table.columns.map((column) => `${quoteIdentifier(column.name)} ${stagingType(appendKind(column.type))}`)
  await session.run(`DROP VIEW IF EXISTS main.${quoteIdentifier(table.name)}`)
  await session.run(`DROP TABLE IF EXISTS ${relationName(table)}`)
  await session.run(`CREATE TABLE ${relationName(table)} (${quoteIdentifier(keyColumn)} VARCHAR NOT NULL, ${columns.join(', ')})`)
  const times = historyTimeColumns.map((name) => `${name} BIGINT`).join(', ')
  for (const part of ['open', 'bounded'] as const) {
    await session.run(`DROP TABLE IF EXISTS ${mirrorHistoryName(table.name, part)}`)
    await session.run(`CREATE TABLE ${mirrorHistoryName(table.name, part)} (_version BIGINT NOT NULL, ${quoteIdentifier(keyColumn)} VARCHAR NOT NULL, ${columns.join(', ')}, ${times})`)
  }
  await session.run(`DROP TABLE IF EXISTS ${stagingSchema}.${quoteIdentifier(`hist_${table.name}`)}`)
  await session.run(`CREATE TABLE ${stagingSchema}.${quoteIdentifier(`hist_${table.name}`)} (_version BIGINT NOT NULL, ${quoteIdentifier(keyColumn)} VARCHAR NOT NULL, ${staged.join(', ')}, ${times})`)
  for (const [name, shape] of [
    [`rows_${table.name}`, `${quoteIdentifier(keyColumn)} VARCHAR NOT NULL, ${staged.join(', ')}`],
    [`keys_${table.name}`, `${quoteIdentifier(keyColumn)} VARCHAR NOT NULL`],
  ] as const) {
    await session.run(`DROP TABLE IF EXISTS ${stagingSchema}.${quoteIdentifier(name)}`)
    await session.run(`CREATE TABLE ${stagingSchema}.${quoteIdentifier(name)} (${shape})`)
  }
  // Users query the view: it hides the key column, so SELECT * means the same in both stores.
  await session.run(
    `CREATE VIEW main.${quoteIdentifier(table.name)} AS SELECT ${table.columns.map((column) => quoteIdentifier(column.name)).join(', ')} FROM ${relationName(table)}`,
  )
}

async function dropRelation(session: ColumnSession, name: string, kind: string): Promise<void> {
  await session.run(`DROP VIEW IF EXISTS main.${quoteIdentifier(name)}`)
  if (kind === 'table') {
    await session.run(`DROP TABLE IF EXISTS ${mirrorSchema}.${quoteIdentifier(name)}`)
    await session.run(`DROP TABLE IF EXISTS ${mirrorHistoryName(name, 'open')}`)
    await session.run(`DROP TABLE IF EXISTS ${mirrorHistoryName(name, 'bounded')}`)
    for (const staged of [`hist_${name}`, `rows_${name}`, `keys_${name}`]) await session.run(`DROP TABLE IF EXISTS ${stagingSchema}.${quoteIdentifier(staged)}`)
  }
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
}

/**
 * Reads, in one synchronous SQLite read (a consistent snapshot), every change of (fromTx, toTx] per
 * table. A table whose mirror shape is older than its schema is read whole, as of toTx.
 */
function readChangesSync(source: RowConnection, range: ApplyRange, mirrorSchemaTx: ReadonlyMap<string, number>, historyMirrored: ReadonlySet<string>): TableChanges[] {
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
    // Without its history, the mirror needs only what changes the current table (the narrow reads of the
    // sync's hot path).
    const columns = table.columns.map((column) => quoteIdentifier(column.name)).join(', ')
    const rows = source
      .prepareSync(
        `SELECT ${quoteIdentifier(keyColumn)}, ${columns} FROM ${history} WHERE _tx_from > ? AND _tx_from <= ? AND (_tx_to IS NULL OR _tx_to > ?) AND _valid_to IS NULL`,
        { bigints: true },
      )
      .allSync([rebuild ? 0 : range.fromTx, range.toTx, range.toTx])
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

/** A version's columns as the mirror stages them; a version closed after toTx (the two `?`) is still open as of toTx. */
function versionColumnsOf(table: TableDefinition): string {
  const columns = table.columns.map((column) => quoteIdentifier(column.name)).join(', ')
  return `_version, ${quoteIdentifier(keyColumn)}, ${columns}, _tx_from, CASE WHEN _tx_to <= ? THEN _tx_to END, _system_from, CASE WHEN _tx_to <= ? THEN _system_to END, _valid_from, _valid_to`
}

/** History versions written or closed in (fromTx, toTx] (all up to toTx when `everything`), as of toTx. */
function readVersionsSync(source: RowConnection, table: TableDefinition, fromTx: number, toTx: number, everything: boolean): unknown[][] {
  const history = quoteIdentifier(historyTableName(table.name))
  if (everything) return source.prepareSync(`SELECT ${versionColumnsOf(table)} FROM ${history} WHERE _tx_from <= ?`, { bigints: true }).allSync([toTx, toTx, toTx])
  return source
    .prepareSync(`SELECT ${versionColumnsOf(table)} FROM ${history} WHERE (_tx_from > ? AND _tx_from <= ?) OR (_tx_to > ? AND _tx_to <= ?)`, { bigints: true })
    .allSync([toTx, toTx, fromTx, toTx, fromTx, toTx])
}

async function readHistoryMirrored(session: ColumnSession): Promise<Set<string>> {
  const result = await session.run(`SELECT name FROM ${metaSchema}.history_mirrored`)
  return new Set(result.rows.map((row) => String(row[0])))
}

/**
 * Starts keeping the history of `tables` in the mirror (inside the session's open DuckDB transaction,
 * which must be at `appliedTx`): copies every version as of `appliedTx`; from then on each sync
 * applies its history too. Returns the tables it started.
 */
export async function mirrorHistory(session: ColumnSession, source: RowConnection, tables: readonly TableDefinition[], appliedTx: number): Promise<string[]> {
  const mirrored = await readHistoryMirrored(session)
  const relations = await readMirrorRelations(session)
  const started: string[] = []
  for (const table of tables) {
    if (mirrored.has(table.name)) continue
    await session.run(`INSERT INTO ${metaSchema}.history_mirrored VALUES ($1)`, [table.name])
    started.push(table.name)
    // A table the mirror does not hold in this shape yet is copied whole, history included, by the sync
    // that creates or rebuilds it.
    if (relations.get(table.name)?.schemaTx !== table.schemaTx) continue
    const versions = readVersionsSync(source, table, 0, appliedTx, true)
    for (const part of ['open', 'bounded'] as const) await session.run(`DELETE FROM ${mirrorHistoryName(table.name, part)}`)
    await applyVersions(session, table, versions, { fromTx: 0, rebuild: true, current: false, history: true })
  }
  return started
}

async function readMirrorRelations(session: ColumnSession): Promise<Map<string, { kind: string; schemaTx: number }>> {
  const result = await session.run(`SELECT name, kind, schema_tx FROM ${metaSchema}.relations`)
  return new Map(result.rows.map((row) => [String(row[0]), { kind: String(row[1]), schemaTx: Number(row[2]) }]))
}

/**
 * Applies (fromTx, toTx] to the mirror inside the session's open DuckDB transaction. Used both by the
 * background sync (source = the reader connection, then COMMIT) and by a transaction's private
 * overlay (source = the writer connection with its uncommitted writes, then ROLLBACK).
 *
 * @returns the number of rows appended
 */
export async function applyRange(session: ColumnSession, source: RowConnection, range: ApplyRange): Promise<number> {
  const relations = await readMirrorRelations(session)
  const mirrorSchemaTx = new Map([...relations].filter(([, relation]) => relation.kind === 'table').map(([name, relation]) => [name, relation.schemaTx]))
  const historyMirrored = await readHistoryMirrored(session)
  const changes = readChangesSync(source, range, mirrorSchemaTx, historyMirrored)
  let rowsAppended = 0
  let shapeChanged = false
  for (const [name, relation] of relations) {
    const stillThere = relation.kind === 'table' ? range.catalog.tables.has(name) : range.catalog.views.has(name)
    if (!stillThere) {
      await dropRelation(session, name, relation.kind)
      await session.run(`DELETE FROM ${metaSchema}.relations WHERE name = $1`, [name])
      await session.run(`DELETE FROM ${metaSchema}.history_mirrored WHERE name = $1`, [name])
      shapeChanged = true
    }
  }
  for (const change of changes) {
    const { table } = change
    if (change.rebuild) {
      await rebuildTableShape(session, table)
      await session.run(`INSERT OR REPLACE INTO ${metaSchema}.relations VALUES ($1, 'table', $2)`, [table.name, table.schemaTx])
      shapeChanged = true
    }
    if (change.versions !== undefined) {
      await applyVersions(session, table, change.versions, { fromTx: range.fromTx, rebuild: change.rebuild, current: true, history: true })
      rowsAppended += change.versions.length
      continue
    }
    const key = quoteIdentifier(keyColumn)
    if (change.removedKeys.length > 0) {
      const keys = `${stagingSchema}.${quoteIdentifier(`keys_${table.name}`)}`
      await session.append(stagingSchema, `keys_${table.name}`, ['varchar'], change.removedKeys.map((removed) => [removed]))
      await session.run(`DELETE FROM ${relationName(table)} WHERE ${key} IN (SELECT ${key} FROM ${keys})`)
      await session.run(`DELETE FROM ${keys}`)
    }
    if (change.rows.length > 0) {
      const staged = `${stagingSchema}.${quoteIdentifier(`rows_${table.name}`)}`
      await session.append(stagingSchema, `rows_${table.name}`, ['varchar', ...table.columns.map((column) => appendKind(column.type))], change.rows)
      const casts = table.columns.map((column) => castFromStaging(column.name, column.type)).join(', ')
      await session.run(`INSERT INTO ${relationName(table)} SELECT ${key}, ${casts} FROM ${staged}`)
      await session.run(`DELETE FROM ${staged}`)
      rowsAppended += change.rows.length
    }
  }
  for (const view of range.catalog.views.values()) {
    if (relations.get(view.name)?.schemaTx === view.schemaTx) continue
    await session.run(`CREATE OR REPLACE VIEW main.${quoteIdentifier(view.name)} AS ${view.sql}`)
    await session.run(`INSERT OR REPLACE INTO ${metaSchema}.relations VALUES ($1, 'view', $2)`, [view.name, view.schemaTx])
    shapeChanged = true
  }
  if (shapeChanged) await refreshInformationSchema(session, range.catalog)
  return rowsAppended
}

/**
 * Stages versions and applies them: to the current table (`current`: remove keys whose held open
 * version closed, add the open-ended versions current at toTx) and to the history parts (`history`:
 * replace by version). See docs/time-model.md, "Views of the ledger".
 */
async function applyVersions(
  session: ColumnSession,
  table: TableDefinition,
  versions: unknown[][],
  options: { readonly fromTx: number; readonly rebuild: boolean; readonly current: boolean; readonly history: boolean },
): Promise<void> {
  if (versions.length === 0) return
  const staged = `${stagingSchema}.${quoteIdentifier(`hist_${table.name}`)}`
  const key = quoteIdentifier(keyColumn)
  const kinds: AppendKind[] = ['bigint', 'varchar', ...table.columns.map((column) => appendKind(column.type)), ...historyTimeColumns.map((): AppendKind => 'bigint')]
  await session.append(stagingSchema, `hist_${table.name}`, kinds, versions)
  const casts = table.columns.map((column) => castFromStaging(column.name, column.type)).join(', ')
  // Versions the mirror already holds (written before the range) that the range closed. Deleting costs a
  // scan of the mirror's table, so a batch of new versions only skips it.
  const fromIndex = 2 + table.columns.length
  const closedHeld = !options.rebuild && versions.some((version) => Number(version[fromIndex]) <= options.fromTx)
  if (options.current) {
    if (closedHeld) {
      await session.run(`DELETE FROM ${relationName(table)} WHERE ${key} IN (SELECT ${key} FROM ${staged} WHERE _tx_to IS NOT NULL AND _valid_to IS NULL AND _tx_from <= $1)`, [options.fromTx])
    }
    await session.run(`INSERT INTO ${relationName(table)} SELECT ${key}, ${casts} FROM ${staged} WHERE _tx_to IS NULL AND _valid_to IS NULL`)
  }
  if (options.history) {
    // History rows only ever change by being closed, so they are replaced by version; a version's valid
    // period never changes, so it stays in one part.
    const times = historyTimeColumns.map((name) => (name.endsWith('_to') ? `coalesce(${name}, ${openEnd})` : name)).join(', ')
    for (const part of ['open', 'bounded'] as const) {
      const target = mirrorHistoryName(table.name, part)
      if (closedHeld) await session.run(`DELETE FROM ${target} WHERE _version IN (SELECT _version FROM ${staged} WHERE _tx_from <= $1)`, [options.fromTx])
      // A copy is laid out by when versions were closed, as the sync's appends are: a scan AS OF x then
      // skips the row groups of versions closed before x by their min/max.
      const order = options.rebuild ? ` ORDER BY coalesce(_tx_to, ${openEnd}), _tx_from` : ''
      await session.run(`INSERT INTO ${target} SELECT _version, ${key}, ${casts}, ${times} FROM ${staged} WHERE _valid_to IS ${part === 'open' ? '' : 'NOT '}NULL${order}`)
    }
  }
  await session.run(`DELETE FROM ${staged}`)
}

/** information_schema as users of PostgreSQL and DuckDB expect it, from our catalog (not DuckDB's internals). */
async function refreshInformationSchema(session: ColumnSession, catalog: Catalog): Promise<void> {
  await session.run('DELETE FROM strata_information_schema.tables')
  await session.run('DELETE FROM strata_information_schema.columns')
  const tableRows: unknown[][] = []
  const columnRows: unknown[][] = []
  for (const table of catalog.tables.values()) {
    tableRows.push(['strata', 'main', table.name, 'BASE TABLE'])
    table.columns.forEach((column, index) => {
      const fallback = column.default === undefined ? null : column.default.kind === 'now' ? 'now()' : JSON.stringify(column.default.value)
      columnRows.push(['strata', 'main', table.name, column.name, BigInt(index + 1), fallback, column.notNull ? 'NO' : 'YES', typeLabel(column.type)])
    })
  }
  for (const view of catalog.views.values()) tableRows.push(['strata', 'main', view.name, 'VIEW'])
  if (tableRows.length > 0) await session.append('strata_information_schema', 'tables', ['varchar', 'varchar', 'varchar', 'varchar'], tableRows)
  if (columnRows.length > 0) {
    await session.append('strata_information_schema', 'columns', ['varchar', 'varchar', 'varchar', 'varchar', 'bigint', 'varchar', 'varchar', 'varchar'], columnRows)
  }
}

/** Appends the ledger's commits in (fromTx, toTx] to strata.transactions and moves the position. */
export async function recordPosition(session: ColumnSession, source: RowConnection, fromTx: number, toTx: number): Promise<void> {
  const commits = source
    .prepareSync('SELECT tx_id, system_time_us, kind, rows_changed FROM _strata_tx WHERE tx_id > ? AND tx_id <= ? ORDER BY tx_id', { bigints: true })
    .allSync([fromTx, toTx])
  if (commits.length > 0) {
    await session.append(stagingSchema, 'transactions', ['bigint', 'bigint', 'varchar', 'bigint'], commits)
    await session.run(`INSERT INTO strata.transactions SELECT tx_id, make_timestamp(system_time_us), kind, rows_changed FROM ${stagingSchema}.transactions`)
    await session.run(`DELETE FROM ${stagingSchema}.transactions`)
  }
  const erasures = source
    .prepareSync('SELECT tx_id, table_name, entities, versions FROM _strata_erasures WHERE tx_id > ? AND tx_id <= ? ORDER BY tx_id', { bigints: true })
    .allSync([fromTx, toTx])
  if (erasures.length > 0) await session.append('strata', 'erasures', ['bigint', 'varchar', 'bigint', 'bigint'], erasures)
  await session.run(`UPDATE ${metaSchema}.position SET applied_tx = $1`, [toTx])
}

/** How far one sync batch may reach: bounded, but never splitting across a schema change. */
export function batchUpperBound(source: RowConnection, appliedTx: number, committedTx: number): number {
  const bounded = Math.min(committedTx, appliedTx + limits.syncBatchTransactionsMax)
  if (bounded === committedTx) return committedTx
  const ddl = source.prepareSync(`SELECT 1 FROM _strata_tx WHERE kind = 'ddl' AND tx_id > ? AND tx_id <= ? LIMIT 1`).allSync([appliedTx, committedTx])
  if (ddl.length > 0) return committedTx
  const erasure = source.prepareSync(`SELECT 1 FROM _strata_erasures WHERE tx_id > ? AND tx_id <= ? LIMIT 1`).allSync([appliedTx, committedTx])
  return erasure.length > 0 ? committedTx : bounded
}
