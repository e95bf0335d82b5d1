/**
 * The row store's format version, and the migration of a data directory written by an older one
 * (docs/time-model.md, "The row store's layout"). The version is `_strata_meta.format`:
 *
 * - 1 (no marker): every version of a row, the open one included, is in the history table, and the
 *   table holds a copy of each open-ended current version.
 * - 2: the table holds its open versions with their number, transaction and valid-from in hidden
 *   columns; the history table holds every other version. Each version is stored once.
 * - 3: each commit records the branch it was made on (`_strata_tx.branch`, indexed with the
 *   transaction id, docs/branches.md); a format-2 directory gains the column, its commits all main's.
 *
 * A directory of format 1 is migrated when it is opened, in one SQLite transaction: a crash during the
 * migration leaves format 1 untouched and the next open starts over. A directory of a newer format is
 * refused, unchanged.
 */
import type { RowConnection } from '../storage/rowstore/rowstore.js'
import { historyTableName, indexesOf, keyColumn, openTxColumn, openValidFromColumn, openVersionColumn, rowIdColumn, type TableDefinition } from '../sql/catalog.js'
import { keyExpression, rowidAliasIndex, sqliteCreateIndex, sqliteCreateOpenTxIndex, sqliteCreateTable } from '../sql/ddl.js'
import { sqliteCreateFulltext } from '../sql/fulltext.js'
import { quoteIdentifier } from '../sql/tree.js'
import { StrataError } from '../util/errors.js'

/** The format this code writes. */
export const currentFormat = 3

const formatKey = 'format'

/**
 * Brings the row store to {@link currentFormat}, called once on open after the ledger tables exist
 * (`CREATE TABLE IF NOT EXISTS`). A fresh store is marked; an older one migrated; a newer one refused.
 */
export function upgradeFormatSync(writer: RowConnection, directory: string): void {
  const marked = writer.prepareSync('SELECT value FROM _strata_meta WHERE key = ?').allSync([formatKey])[0]?.[0]
  if (marked !== undefined) {
    const format = Number(marked)
    if (format === currentFormat) return
    if (!Number.isInteger(format) || format > currentFormat) {
      throw new StrataError('NOT_SUPPORTED', `the data directory ${directory} has format ${String(marked)}, newer than this version of Strata reads (format ${currentFormat}); open it with a newer Strata`)
    }
  }
  // No marker: a store this code just created (its ledger table has `last_version` and `branch`), or one
  // of format 1. Format 2 is marked.
  const ledgerColumns = writer.prepareSync('SELECT name FROM pragma_table_info(?)').allSync(['_strata_tx']).map((row) => String(row[0]))
  writer.execSync('BEGIN IMMEDIATE')
  try {
    if (!ledgerColumns.includes('last_version')) migrateFromFormat1Sync(writer)
    // Format 2 → 3: every commit so far was made on main. SQLite adds a column with a constant default
    // without rewriting the table.
    if (!ledgerColumns.includes('branch')) writer.execSync('ALTER TABLE _strata_tx ADD COLUMN branch INTEGER DEFAULT 0')
    writer.execSync('CREATE INDEX IF NOT EXISTS _strata_tx_branch ON _strata_tx (branch, tx_id)')
    writer.prepareSync('INSERT OR REPLACE INTO _strata_meta (key, value) VALUES (?, ?)').runSync([formatKey, String(currentFormat)])
    writer.execSync('COMMIT')
  } catch (error) {
    if (writer.inTransaction) writer.execSync('ROLLBACK')
    throw error
  }
}

function tablesOf(writer: RowConnection): TableDefinition[] {
  return writer
    .prepareSync("SELECT definition FROM _strata_catalog WHERE kind = 'table' ORDER BY name")
    .allSync([])
    .map((row) => JSON.parse(String(row[0])) as TableDefinition)
}

/** Format 1 → 2, inside the caller's transaction. */
function migrateFromFormat1Sync(writer: RowConnection): void {
  writer.execSync('ALTER TABLE _strata_tx ADD COLUMN last_version INTEGER')
  let lastVersion = 0n
  for (const table of tablesOf(writer)) {
    const history = quoteIdentifier(historyTableName(table.name))
    const highest = writer.prepareSync(`SELECT max(_version) FROM ${history}`, { bigints: true }).allSync([])[0]?.[0]
    if (typeof highest === 'bigint' && highest > lastVersion) lastVersion = highest
    moveOpenVersionsSync(writer, table)
  }
  // The ledger's version counter continues above every version any table holds.
  writer.prepareSync('UPDATE _strata_tx SET last_version = ? WHERE tx_id = (SELECT max(tx_id) FROM _strata_tx)').runSync([lastVersion])
}

/**
 * Rebuilds one table with the hidden columns, each row taking its open-ended current version's number,
 * transaction and valid-from from history, and removes those versions from history. A row without
 * exactly one such version means the store is damaged: the migration stops and changes nothing.
 */
function moveOpenVersionsSync(writer: RowConnection, table: TableDefinition): void {
  const name = quoteIdentifier(table.name)
  const old = quoteIdentifier(`_strata_migrating_${table.name}`)
  const history = quoteIdentifier(historyTableName(table.name))
  writer.execSync(`ALTER TABLE ${name} RENAME TO ${old}`)
  writer.execSync(sqliteCreateTable(table))
  // The row ids stay: a keyless table's are its keys, and other tables keep theirs for whatever holds them.
  const ids = table.primaryKey === null ? [quoteIdentifier(rowIdColumn)] : rowidAliasIndex(table) >= 0 ? [] : ['rowid']
  const columns = [...ids, ...table.columns.map((column) => quoteIdentifier(column.name))]
  // Each open version counts as the row's inserted one (`_strata_updated` NULL): it was written by `_tx_from`.
  const hidden = [openVersionColumn, openTxColumn, openValidFromColumn].map(quoteIdentifier)
  const moved = writer
    .prepareSync(
      `INSERT INTO ${name} (${[...columns, ...hidden].join(', ')}) ` +
        `SELECT ${columns.map((column) => `t.${column}`).join(', ')}, h._version, h._tx_from, CASE WHEN h._valid_from = h._system_from THEN NULL ELSE h._valid_from END ` +
        `FROM ${old} AS t JOIN ${history} AS h ON h.${quoteIdentifier(keyColumn)} = ${keyExpression(table, 't')} AND h._tx_to IS NULL AND h._valid_to IS NULL`,
    )
    .runSync([]).changes
  const rows = Number(writer.prepareSync(`SELECT count(*) FROM ${old}`).allSync([])[0]?.[0])
  if (moved !== rows) {
    throw new StrataError('CORRUPTION', `table "${table.name}" has ${rows} rows but ${moved} open versions in its history; the data directory was not migrated`)
  }
  if (table.primaryKey === null) {
    // Row ids are never reused: the new table's counter continues where the old one's stood.
    writer.prepareSync('DELETE FROM sqlite_sequence WHERE name = ?').runSync([table.name])
    writer.prepareSync('INSERT INTO sqlite_sequence (name, seq) SELECT ?, seq FROM sqlite_sequence WHERE name = ?').runSync([table.name, `_strata_migrating_${table.name}`])
  }
  writer.execSync(`DROP TABLE ${old}`)
  for (const index of indexesOf(table)) writer.execSync(sqliteCreateIndex(table, index))
  writer.execSync(sqliteCreateOpenTxIndex(table.name))
  for (const index of table.fulltext ?? []) for (const statement of sqliteCreateFulltext(table, index)) writer.execSync(statement)
  writer.execSync(`DELETE FROM ${history} WHERE _tx_to IS NULL AND _valid_to IS NULL`)
}
