/**
 * Full-text index DDL, executed (the SQL side is src/sql/fulltext.ts): CREATE FULLTEXT INDEX, DROP
 * INDEX of a full-text index, and keeping indexes right through DROP TABLE and RENAME COLUMN. All of it
 * runs inside the engine's write path (the subsystem's statement and schema hooks, ./index.ts), so it
 * is one ledger transaction (kind ddl) that commits or rolls back with the FTS5 tables and triggers it made.
 */
import type { RowConnection } from '../../storage/rowstore/rowstore.js'
import type { Catalog, FulltextIndexDefinition, TableDefinition } from '../../sql/catalog.js'
import { checkUserName } from '../../sql/ddl.js'
import {
  checkFulltextColumns,
  defaultFulltextIndexName,
  findFulltextIndex,
  fulltextIndexesOf,
  sqliteCreateFulltext,
  sqliteDropFulltext,
  type CreateFulltextIndex,
} from '../../sql/fulltext.js'
import { StrataError } from '../../util/errors.js'

/** What the DDL needs from the engine: the writer, the catalog, and how to save a changed table. */
export interface FulltextContext {
  readonly writer: RowConnection
  readonly catalog: Catalog
  /** Persists the definition, installs it in the catalog, marks the transaction as DDL. */
  saveTableSync(table: TableDefinition): void
}

function execAll(writer: RowConnection, statements: readonly string[]): void {
  for (const statement of statements) writer.execSync(statement)
}

/** Whether some relation or index (ordinary or full-text) is already called `name`. */
function nameTaken(context: FulltextContext, name: string): boolean {
  if (context.catalog.tables.has(name) || context.catalog.views.has(name)) return true
  const lower = name.toLowerCase()
  // SQLite names (and so FTS5 table names) are case-insensitive.
  for (const table of context.catalog.tables.values()) {
    if (fulltextIndexesOf(table).some((index) => index.name.toLowerCase() === lower)) return true
  }
  return context.writer.prepareSync("SELECT 1 FROM sqlite_schema WHERE type = 'index' AND name = ? COLLATE NOCASE").allSync([name]).length > 0
}

/**
 * CREATE FULLTEXT INDEX: checks the table and columns, creates the FTS5 table and its triggers,
 * indexes the existing rows, and records the index in the catalog. Returns false when IF NOT EXISTS
 * found the name taken (nothing is written).
 *
 * @example createFulltextIndexSync(context, recogniseCreateFulltextIndex('CREATE FULLTEXT INDEX d ON docs (body)')!)
 */
export function createFulltextIndexSync(context: FulltextContext, statement: CreateFulltextIndex): boolean {
  const table = context.catalog.tables.get(statement.table)
  if (table === undefined) {
    throw new StrataError('UNDEFINED_TABLE', context.catalog.views.has(statement.table) ? `"${statement.table}" is a view; only tables can have full-text indexes` : `table "${statement.table}" does not exist`)
  }
  const name = statement.name ?? defaultFulltextIndexName(statement)
  checkUserName(name, 'index')
  if (nameTaken(context, name)) {
    if (statement.ifNotExists) return false
    throw new StrataError('DUPLICATE_TABLE', `relation "${name}" already exists`)
  }
  checkFulltextColumns(table, statement.columns)
  const index: FulltextIndexDefinition = { name, columns: [...statement.columns] }
  execAll(context.writer, sqliteCreateFulltext(table, index))
  context.saveTableSync({ ...table, fulltext: [...fulltextIndexesOf(table), index] })
  return true
}

/** DROP INDEX of a full-text index. Returns false when `name` is no full-text index (an ordinary one, or none). */
export function dropFulltextIndexSync(context: FulltextContext, name: string): boolean {
  const found = findFulltextIndex(context.catalog.tables.values(), name)
  if (found === undefined) return false
  execAll(context.writer, sqliteDropFulltext(found.index))
  context.saveTableSync({ ...found.table, fulltext: fulltextIndexesOf(found.table).filter((index) => index !== found.index) })
  return true
}

/** DROP TABLE: its full-text indexes go with it (SQLite drops the triggers; the FTS5 tables are ours to drop). */
export function dropTableFulltextSync(writer: RowConnection, table: TableDefinition): void {
  for (const index of fulltextIndexesOf(table)) execAll(writer, sqliteDropFulltext(index))
}

/**
 * After RENAME COLUMN: FTS5 cannot rename a column, and its external content is read by column name,
 * so each index on the renamed column is made afresh under the new name (an O(rows) rebuild).
 * `table` is the definition after the rename.
 */
export function renameFulltextColumnSync(writer: RowConnection, table: TableDefinition, renamedTo: string): void {
  for (const index of fulltextIndexesOf(table)) {
    if (index.columns.includes(renamedTo)) execAll(writer, sqliteCreateFulltext(table, index))
  }
}
