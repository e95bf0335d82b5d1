/**
 * Schema changes, inside the write path (one ledger transaction of kind ddl): CREATE TABLE (and … AS,
 * including over a query only DuckDB's grammar accepts), CREATE INDEX, CREATE VIEW, DROP, ALTER TABLE
 * ADD/DROP COLUMN, RENAME COLUMN. The subsystems' schema hooks keep their own objects (full-text
 * indexes) right through them, in the same transaction.
 */
import { findColumn, historyTableName, indexesOf, keyColumn, type TableDefinition, type ViewDefinition } from '../sql/catalog.js'
import type { CreateTableAs } from '../sql/create-table-as.js'
import { catalogNameTaken, checkUserName, indexFromCreate, openVersionsSql, renewOpenVersionSql, versionColumnNames, sqliteCreateIndex, tableFromCreate } from '../sql/ddl.js'
import { deparseStatement } from '../sql/deparse.js'
import { sqlWords } from '../sql/naming.js'
import type { PgNode } from '../sql/parse.js'
import { list, names, nodeBody, quoteIdentifier, stringValue } from '../sql/tree.js'
import { sqliteStorage, toStorage, typeFromLabel } from '../sql/types.js'
import type { SchemaChange, Statement } from '../subsystems/seam.js'
import { assert } from '../util/assert.js'
import { StrataError } from '../util/errors.js'
import type { EngineContext } from './context.js'
import type { Reads } from './reads.js'
import { noRows, type ExecuteOptions, type Positional, type Tabular } from './rows.js'
import type { Session } from './session.js'

export class Ddl {
  constructor(
    private readonly context: Pick<EngineContext, 'rowStore' | 'ledger' | 'schema' | 'subsystems'>,
    private readonly reads: Pick<Reads, 'evaluateSelect' | 'columns'>,
  ) {}

  /** One DDL statement of PostgreSQL's grammar on `session`, which is inside the write's transaction. */
  async run(session: Session, kind: string, body: PgNode, params: readonly unknown[], options: ExecuteOptions, statement?: Statement): Promise<Positional> {
    const empty = noRows()
    const pending = this.context.ledger.pendingCommit
    assert(pending !== undefined, 'DDL runs with a transaction id assigned')
    const catalog = this.context.schema.catalog
    switch (kind) {
      case 'CreateStmt': {
        const definition = tableFromCreate(body)
        if (this.relationExists(definition.name)) {
          if (body['if_not_exists'] === true) return empty
          throw new StrataError('DUPLICATE_TABLE', `relation "${definition.name}" already exists`)
        }
        this.createTableSync(session, { ...definition, schemaTx: pending.txId })
        return empty
      }
      case 'CreateTableAsStmt': {
        const into = nodeBody({ IntoClause: body['into'] }, 'IntoClause')!
        const relation = nodeBody({ RangeVar: into['rel'] }, 'RangeVar')!
        if (body['objtype'] !== 'OBJECT_TABLE') throw new StrataError('NOT_SUPPORTED', `CREATE ${String(body['objtype']).replace('OBJECT_', '')} … AS`)
        const target = { name: String(relation['relname']), ifNotExists: body['if_not_exists'] === true, columnNames: list(into['colNames']).map((item) => stringValue(item) ?? '') }
        return this.createTableAs(session, target, () => this.reads.evaluateSelect(session, body['query'] as PgNode, params, options, statement))
      }
      case 'DropStmt':
        return this.drop(session, body)
      case 'AlterTableStmt':
        return this.alterTable(session, body, pending.txId)
      case 'RenameStmt':
        return this.rename(session, body, pending.txId)
      case 'IndexStmt': {
        const relation = nodeBody({ RangeVar: body['relation'] }, 'RangeVar')!
        const table = this.requireTable(String(relation['relname']))
        // Recorded in the catalog (the PostgreSQL server's pg_index shows it), in the same transaction as SQLite's index.
        const index = indexFromCreate(body, table, (name) => this.relationNameTaken(name))
        if (index === undefined) return empty
        this.context.rowStore.writer.execSync(sqliteCreateIndex(table, index))
        this.context.schema.saveTableSync({ ...table, indexes: [...indexesOf(table), index] })
        session.changedSchema = true
        return empty
      }
      case 'ViewStmt': {
        const relation = nodeBody({ RangeVar: body['view'] }, 'RangeVar')!
        const name = String(relation['relname'])
        checkUserName(name, 'view')
        const replace = body['replace'] === true
        if (catalog.tables.has(name) || (catalog.views.has(name) && !replace)) throw new StrataError('DUPLICATE_TABLE', `relation "${name}" already exists`)
        if (list(body['aliases']).length > 0) throw new StrataError('NOT_SUPPORTED', 'CREATE VIEW with a column list')
        const sql = deparseStatement(body['query'])
        const view: ViewDefinition = { name, sql, schemaTx: pending.txId }
        this.context.ledger.saveViewSync(view)
        this.context.schema.set({ tables: catalog.tables, views: new Map([...catalog.views, [name, view]]) })
        session.changedSchema = true
        return empty
      }
      default:
        throw new StrataError('NOT_SUPPORTED', kind)
    }
  }

  /** CREATE TABLE … AS <a query only DuckDB's grammar accepts>: checked to be one query by DuckDB's parser, then run on the column store. */
  async createTableAsDuckDBQuery(session: Session, statement: CreateTableAs, params: readonly unknown[], options: ExecuteOptions): Promise<Positional> {
    const serialized = await this.reads.columns.serializeSql(statement.query)
    if (serialized.error) throw new StrataError('SYNTAX_ERROR', serialized.message, { statement: statement.query })
    if (serialized.statements.length !== 1) throw new StrataError('SYNTAX_ERROR', 'CREATE TABLE … AS takes one query')
    return this.createTableAs(session, statement, () => this.reads.columns.inWrite(session, statement.query, params, options))
  }

  /** CREATE TABLE … AS: a table with the query's columns and types (no key), filled with its rows in the same commit. */
  private async createTableAs(session: Session, target: { readonly name: string; readonly ifNotExists: boolean; readonly columnNames: readonly string[] }, evaluate: () => Promise<Tabular>): Promise<Positional> {
    const empty = noRows()
    const pending = this.context.ledger.pendingCommit
    assert(pending !== undefined, 'DDL runs with a transaction id assigned')
    const name = target.name
    checkUserName(name, 'table')
    if (this.relationExists(name)) {
      if (target.ifNotExists) return empty
      throw new StrataError('DUPLICATE_TABLE', `relation "${name}" already exists`)
    }
    const evaluated = await evaluate()
    const columns = evaluated.columns.map((column, index) => ({
      name: target.columnNames[index] ?? column.name,
      type: typeFromLabel(column.type),
      notNull: false,
      default: undefined,
    }))
    for (const column of columns) checkUserName(column.name, 'column')
    const table: TableDefinition = { name, columns, primaryKey: null, uniques: [], checks: [], schemaTx: pending.txId }
    this.createTableSync(session, table)
    const insert = this.context.rowStore.writer.prepareSync(`INSERT INTO ${quoteIdentifier(name)} (${columns.map((column) => quoteIdentifier(column.name)).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`)
    for (const row of evaluated.rows) insert.runSync(columns.map((column, index) => toStorage(row[index], column.type)))
    return { ...empty, rowCount: evaluated.rows.length }
  }

  private relationExists(name: string): boolean {
    const catalog = this.context.schema.catalog
    return catalog.tables.has(name) || catalog.views.has(name)
  }

  /** Whether a new relation or index may not be called `name`: the catalog's names, and anything SQLite holds (case-insensitively, as SQLite compares them). */
  private relationNameTaken(name: string): boolean {
    if (catalogNameTaken(this.context.schema.catalog, name)) return true
    return this.context.rowStore.writer.prepareSync("SELECT 1 FROM sqlite_schema WHERE type IN ('table', 'index', 'view') AND name = ? COLLATE NOCASE").allSync([name]).length > 0
  }

  /** DROP INDEX of a secondary index: from SQLite and the catalog (one made before indexes were catalogued is only in SQLite). */
  private dropIndexSync(name: string, missingOk: boolean): void {
    const writer = this.context.rowStore.writer
    for (const table of this.context.schema.catalog.tables.values()) {
      const index = indexesOf(table).find((candidate) => candidate.name === name)
      if (index === undefined) continue
      writer.execSync(`DROP INDEX ${quoteIdentifier(name)}`)
      this.context.schema.saveTableSync({ ...table, indexes: indexesOf(table).filter((candidate) => candidate !== index) })
      return
    }
    checkUserName(name, 'index')
    // `name = ?` compares exactly: SQLite would drop "A" for "a", and PostgreSQL's names differ by case.
    const uncatalogued = writer.prepareSync("SELECT 1 FROM sqlite_schema WHERE type = 'index' AND name = ? AND sql IS NOT NULL").allSync([name]).length > 0
    if (uncatalogued) writer.execSync(`DROP INDEX ${quoteIdentifier(name)}`)
    else if (!missingOk) throw new StrataError('UNDEFINED_TABLE', `index "${name}" does not exist`)
  }

  private requireTable(name: string): TableDefinition {
    const table = this.context.schema.catalog.tables.get(name)
    if (table === undefined) throw new StrataError('UNDEFINED_TABLE', `table "${name}" does not exist`)
    return table
  }

  /** A new table: SQLite's table, its history table and indexes, the catalog entry and the history triggers. */
  createTableSync(session: Session, table: TableDefinition): void {
    this.context.schema.createTableSync(table)
    session.changedSchema = true
  }

  /** What a subsystem's schema hook may touch during this statement. */
  private schemaChange(session: Session): SchemaChange {
    return {
      writer: this.context.rowStore.writer,
      catalog: this.context.schema.catalog,
      saveTableSync: (table) => {
        this.context.schema.saveTableSync(table)
        session.changedSchema = true
      },
    }
  }

  private drop(session: Session, body: PgNode): Positional {
    const { ledger, schema, subsystems } = this.context
    const type = body['removeType']
    const missingOk = body['missing_ok'] === true
    const pending = ledger.pendingCommit!
    for (const object of list(body['objects'])) {
      const parts = names(nodeBody(object, 'List')?.['items'])
      const name = parts[parts.length - 1] ?? ''
      if (type === 'OBJECT_TABLE') {
        if (!schema.catalog.tables.has(name)) {
          if (missingOk) continue
          throw new StrataError('UNDEFINED_TABLE', `table "${name}" does not exist`)
        }
        const dropped = schema.catalog.tables.get(name)!
        if (dropped.source !== undefined) throw new StrataError('NOT_SUPPORTED', `DROP TABLE of the source "${name}"; use DROP SOURCE ${name}`)
        if (dropped.stream !== undefined) throw new StrataError('NOT_SUPPORTED', `DROP TABLE of the stream "${name}"; use DROP STREAM ${name}`)
        subsystems.checkDropTable(dropped, { cascade: body['behavior'] === 'DROP_CASCADE' })
        schema.dropTableSync(dropped, pending.txId, () => subsystems.dropTable(this.schemaChange(session), dropped))
      } else if (type === 'OBJECT_VIEW') {
        if (!schema.catalog.views.has(name)) {
          if (missingOk) continue
          throw new StrataError('UNDEFINED_TABLE', `view "${name}" does not exist`)
        }
        ledger.removeCatalogEntrySync(name)
        const views = new Map(schema.catalog.views)
        views.delete(name)
        schema.set({ tables: schema.catalog.tables, views })
      } else if (type === 'OBJECT_INDEX') {
        if (!subsystems.dropIndex(this.schemaChange(session), name)) this.dropIndexSync(name, missingOk)
      } else throw new StrataError('NOT_SUPPORTED', `DROP ${String(type).replace('OBJECT_', '')}`)
      session.changedSchema = true
    }
    return noRows()
  }

  private alterTable(session: Session, body: PgNode, txId: number): Positional {
    const { rowStore, ledger, schema, subsystems } = this.context
    const relation = nodeBody({ RangeVar: body['relation'] }, 'RangeVar')!
    const name = String(relation['relname'])
    if (!schema.catalog.tables.has(name)) {
      if (body['missing_ok'] === true) return noRows()
      throw new StrataError('UNDEFINED_TABLE', `table "${name}" does not exist`)
    }
    const altered = schema.catalog.tables.get(name)!
    if (altered.source !== undefined || altered.stream !== undefined) throw new StrataError('NOT_SUPPORTED', `ALTER TABLE of the ${altered.source !== undefined ? 'source' : 'stream'} "${name}"`)
    subsystems.checkAlterTable(altered)
    const writer = rowStore.writer
    for (const commandNode of list(body['cmds'])) {
      const command = nodeBody(commandNode, 'AlterTableCmd')!
      let table = schema.catalog.tables.get(name)!
      switch (command['subtype']) {
        case 'AT_AddColumn': {
          const draft = tableFromCreate({ relation: { relname: name }, tableElts: [command['def']] })
          const column = draft.columns[0]!
          if (draft.primaryKey !== null || draft.uniques.length > 0) throw new StrataError('NOT_SUPPORTED', 'ALTER TABLE ADD COLUMN with PRIMARY KEY or UNIQUE')
          if (findColumn(table, column.name) !== undefined) {
            if (command['missing_ok'] === true) continue
            throw new StrataError('DUPLICATE_COLUMN', `column "${column.name}" of relation "${name}" already exists`)
          }
          const fallbackValue = column.default === undefined ? null : column.default.kind === 'now' ? toStorage(new Date(Number(ledger.nowMicros() / 1000n)), column.type) : toStorage(column.default.value, column.type)
          if (column.notNull && fallbackValue === null) {
            const count = writer.prepareSync(`SELECT count(*) FROM ${quoteIdentifier(name)}`).allSync([])[0]?.[0]
            if (Number(count) > 0) throw new StrataError('CONSTRAINT_VIOLATION', `column "${column.name}" is NOT NULL without a DEFAULT, and "${name}" has rows`)
          }
          const sqliteColumnType = sqliteStorage(column.type)
          const literal = fallbackValue === null ? '' : ` DEFAULT ${typeof fallbackValue === 'string' ? `'${fallbackValue.replaceAll("'", "''")}'` : String(fallbackValue)}`
          schema.dropTriggersSync(name)
          writer.execSync(`ALTER TABLE ${quoteIdentifier(historyTableName(name))} ADD COLUMN ${quoteIdentifier(column.name)} ${sqliteColumnType}`)
          // Filling existing rows is a change of every row: each open version is superseded by one with
          // the default, as an UPDATE would, and what came before holds NULL there (the column did not exist).
          if (fallbackValue !== null) this.supersedeOpenVersionsSync(table)
          writer.execSync(`ALTER TABLE ${quoteIdentifier(name)} ADD COLUMN ${quoteIdentifier(column.name)} ${sqliteColumnType}${column.notNull && fallbackValue !== null ? ' NOT NULL' : ''}${literal}`)
          if (fallbackValue !== null) session.rowsChanged += this.renewOpenVersionsSync(table)
          table = { ...table, columns: [...table.columns, column], schemaTx: txId }
          schema.saveTableSync(table)
          break
        }
        case 'AT_DropColumn': {
          const columnName = String(command['name'])
          if (findColumn(table, columnName) === undefined) {
            if (command['missing_ok'] === true) continue
            throw new StrataError('UNDEFINED_COLUMN', `column "${columnName}" of relation "${name}" does not exist`)
          }
          if ((table.primaryKey ?? []).includes(columnName) || table.uniques.some((unique) => unique.includes(columnName))) {
            throw new StrataError('NOT_SUPPORTED', `cannot drop column "${columnName}": it is part of a key`)
          }
          if (table.checks.some((check) => check.columns.includes(columnName))) {
            throw new StrataError('NOT_SUPPORTED', `cannot drop column "${columnName}": a CHECK constraint uses it`)
          }
          subsystems.checkDropColumn(table, columnName)
          if (table.columns.length === 1) throw new StrataError('NOT_SUPPORTED', `cannot drop the only column of "${name}"`)
          schema.dropTriggersSync(name)
          // As in PostgreSQL, the indexes that use the column go with it (SQLite would refuse the drop).
          const gone = indexesOf(table).filter((index) => index.columns.includes(columnName))
          const kept = indexesOf(table).filter((index) => !index.columns.includes(columnName))
          for (const index of gone) writer.execSync(`DROP INDEX ${quoteIdentifier(index.name)}`)
          writer.execSync(`ALTER TABLE ${quoteIdentifier(name)} DROP COLUMN ${quoteIdentifier(columnName)}`)
          // The history keeps the dropped column's values, under a name that says when it was dropped.
          writer.execSync(`ALTER TABLE ${quoteIdentifier(historyTableName(name))} RENAME COLUMN ${quoteIdentifier(columnName)} TO ${quoteIdentifier(`_strata_dropped_${txId}_${columnName}`)}`)
          table = { ...table, columns: table.columns.filter((column) => column.name !== columnName), ...(table.indexes === undefined ? {} : { indexes: kept }), schemaTx: txId }
          schema.saveTableSync(table)
          break
        }
        case 'AT_AlterColumnType':
          throw new StrataError('NOT_SUPPORTED', 'ALTER COLUMN … TYPE')
        default:
          throw new StrataError('NOT_SUPPORTED', `ALTER TABLE … ${sqlWords(String(command['subtype']).replace('AT_', ''))}`)
      }
    }
    session.changedSchema = true
    return noRows()
  }

  /**
   * What the history triggers do for an UPDATE of every row, done set-wise (the triggers are off
   * meanwhile): each open version not written by this transaction is closed into history, and the part
   * of its valid period before this commit re-asserted as a bounded piece (docs/time-model.md).
   * `renewOpenVersionsSync` then makes every row a new open version.
   */
  private supersedeOpenVersionsSync(table: TableDefinition): void {
    const { rowStore, ledger } = this.context
    const commit = ledger.pendingCommit!
    const history = quoteIdentifier(historyTableName(table.name))
    const columns = versionColumnNames(table).map(quoteIdentifier)
    const open = `(${openVersionsSql(table)})`
    const users = table.columns.map((column) => quoteIdentifier(column.name))
    const writer = rowStore.writer
    writer
      .prepareSync(
        `INSERT INTO ${history} (${columns.join(', ')}) SELECT strata_version(), ${quoteIdentifier(keyColumn)}, ${users.join(', ')}, ?, NULL, ?, NULL, _valid_from, ? FROM ${open} WHERE _valid_from < ?`,
      )
      .runSync([commit.txId, commit.systemTimeUs, commit.systemTimeUs, commit.systemTimeUs])
    writer
      .prepareSync(`INSERT INTO ${history} (${columns.join(', ')}) SELECT _version, ${quoteIdentifier(keyColumn)}, ${users.join(', ')}, _tx_from, ?, _system_from, ?, _valid_from, NULL FROM ${open} WHERE _tx_from <> ?`)
      .runSync([commit.txId, commit.systemTimeUs, commit.txId])
  }

  /** Every row of `table` becomes a new open version written by this transaction; returns how many. */
  private renewOpenVersionsSync(table: TableDefinition): number {
    return this.context.rowStore.writer.prepareSync(`UPDATE ${quoteIdentifier(table.name)} SET ${renewOpenVersionSql}`).runSync([]).changes
  }

  private rename(session: Session, body: PgNode, txId: number): Positional {
    const { rowStore, schema, subsystems } = this.context
    if (body['renameType'] !== 'OBJECT_COLUMN') throw new StrataError('NOT_SUPPORTED', `ALTER … RENAME of ${String(body['renameType']).replace('OBJECT_', '').toLowerCase()}`)
    const relation = nodeBody({ RangeVar: body['relation'] }, 'RangeVar')!
    const table = this.requireTable(String(relation['relname']))
    if (table.source !== undefined || table.stream !== undefined) throw new StrataError('NOT_SUPPORTED', `ALTER TABLE of the ${table.source !== undefined ? 'source' : 'stream'} "${table.name}"`)
    subsystems.checkAlterTable(table)
    const from = String(body['subname'])
    const to = String(body['newname'])
    checkUserName(to, 'column')
    if (findColumn(table, from) === undefined) throw new StrataError('UNDEFINED_COLUMN', `column "${from}" of relation "${table.name}" does not exist`)
    if (findColumn(table, to) !== undefined) throw new StrataError('DUPLICATE_COLUMN', `column "${to}" of relation "${table.name}" already exists`)
    const writer = rowStore.writer
    schema.dropTriggersSync(table.name)
    writer.execSync(`ALTER TABLE ${quoteIdentifier(table.name)} RENAME COLUMN ${quoteIdentifier(from)} TO ${quoteIdentifier(to)}`)
    writer.execSync(`ALTER TABLE ${quoteIdentifier(historyTableName(table.name))} RENAME COLUMN ${quoteIdentifier(from)} TO ${quoteIdentifier(to)}`)
    const renameKey = (key: readonly string[]): string[] => key.map((column) => (column === from ? to : column))
    schema.saveTableSync({
      ...table,
      columns: table.columns.map((column) => (column.name === from ? { ...column, name: to } : column)),
      primaryKey: table.primaryKey === null ? null : renameKey(table.primaryKey),
      uniques: table.uniques.map(renameKey),
      checks: table.checks.map((check) => ({ ...check, columns: renameKey(check.columns) })),
      ...subsystems.renameColumn(table, from, to),
      // SQLite renames the column in its indexes itself.
      ...(table.indexes === undefined ? {} : { indexes: table.indexes.map((index) => ({ ...index, columns: renameKey(index.columns) })) }),
      schemaTx: txId,
    })
    subsystems.afterRenameColumn(this.schemaChange(session), schema.catalog.tables.get(table.name)!, to)
    session.changedSchema = true
    return noRows()
  }
}
