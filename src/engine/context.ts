/**
 * What the statement families share: the stores, the ledger, the sync, the catalog and the writer
 * lock (`EngineContext`), and the binding of a plan's parameters to row-store values. Each family
 * takes the part of the context it needs (a `Pick` of it), never the `Engine`.
 */
import { join } from 'node:path'
import { ChunkStore } from '../storage/chunks/chunkstore.js'
import { Ledger, type Clock } from '../ledger/ledger.js'
import { historyTableName, type Catalog, type TableDefinition } from '../sql/catalog.js'
import { openVersionsSql, sqliteCreateHistory, sqliteCreateTable, sqliteHistoryTriggers, versionColumnNames } from '../sql/ddl.js'
import { statementStoreSchema } from './statement-store.js'
import { checkBoundFulltextQuery } from '../sql/fulltext.js'
import type { Binder } from '../sql/plan.js'
import { checkRowCount, checkTextParameter, comparisonParameter } from '../sql/rowsql.js'
import { quoteIdentifier } from '../sql/tree.js'
import { sqliteStorage, toStorage } from '../sql/types.js'
import { openRowStoreSync, type RowConnection, type RowStore, type RowValue } from '../storage/rowstore/rowstore.js'
import type { CatalogHolder, SubsystemHost } from '../subsystems/seam.js'
import { Subsystems } from '../subsystems/index.js'
import { Syncer } from '../sync/syncer.js'
import { assert } from '../util/assert.js'
import { StrataError } from '../util/errors.js'
import { Mutex } from '../util/mutex.js'
import { dateMicros } from '../util/timestamp.js'

export interface EngineContext {
  readonly rowStore: RowStore & { clearCachesSync(): void }
  readonly ledger: Ledger
  readonly syncer: Syncer
  readonly schema: Schema
  /** Writers serialize on this lock (bounded wait); readers never take it. */
  readonly writerLock: Mutex
  readonly subsystems: Subsystems
  /** Where the subsystems' `host.call` goes: set by the engine once it exists (`Engine.callSubsystem`). */
  readonly subsystemCalls: { run: SubsystemHost['call'] | undefined }
}

/**
 * Opens the stores of a data directory (locked by the caller) and everything that runs on them: the
 * row store, the ledger, the catalog with its history triggers, the sync (DuckDB opens lazily), the
 * subsystems. Closes the row store again if any step fails.
 *
 * @example const context = openContext('./strata-data', 'full', undefined)
 */
export function openContext(directory: string, durability: 'full' | 'normal' | 'off', clock: Clock | undefined): EngineContext {
  const rowStore = openRowStoreSync(join(directory, 'strata.sqlite'), { durability })
  let ledger: Ledger
  let schema: Schema
  let syncer: Syncer
  try {
    ledger = Ledger.openSync(rowStore.writer, clock, directory)
    rowStore.writer.execSync(statementStoreSchema)
    schema = new Schema(rowStore, ledger)
    checkDecimalStorageSync(rowStore.writer, schema.catalog)
    // The history triggers are installed by the first write (Schema.prepareForWritesSync), so that
    // opening for a read costs none of their DDL.
    // Its own reader connection opens when the mirror first syncs, not here: a short-lived process
    // (a CLI command, a first point read) may never start the column store.
    syncer = new Syncer(join(directory, 'mirror.duckdb'), () => rowStore.connectReaderSync(), ledger)
  } catch (error) {
    rowStore.closeSync()
    throw error
  }
  const subsystemCalls: EngineContext['subsystemCalls'] = { run: undefined }
  const subsystems: Subsystems = new Subsystems({
    rowStore,
    chunks: new ChunkStore(join(directory, 'chunks')),
    ledger,
    syncer,
    schema,
    bind: (binders, params, bounds) => bindValues(ledger, binders, params, bounds),
    beforeColumnStore: (tree, reason) => subsystems.beforeColumnStore(tree, reason),
    saveTableSync: (table) => schema.saveTableSync(table),
    createTableSync: (table) => schema.createTableSync(table),
    dropTableSync: (table) => {
      const pending = ledger.pendingCommit
      assert(pending !== undefined, 'a table is dropped inside a write transaction')
      schema.dropTableSync(table, pending.txId, () =>
        subsystems.dropTable({ writer: rowStore.writer, catalog: schema.catalog, saveTableSync: (changed) => schema.saveTableSync(changed) }, table),
      )
    },
    call: (name, args) => {
      if (subsystemCalls.run === undefined) return Promise.reject(new StrataError('INTERNAL', `${name}() was called before the engine was open`))
      return subsystemCalls.run(name, args)
    },
  })
  return { rowStore, ledger, syncer, schema, writerLock: new Mutex(), subsystems, subsystemCalls }
}

/**
 * A data directory written before DECIMAL was exact keeps it as REAL (a double) in SQLite, which this
 * engine would read as a scaled integer: refuse it with a clear error rather than return wrong values.
 * Only tables with a DECIMAL column are looked at (one PRAGMA each).
 */
function checkDecimalStorageSync(writer: RowConnection, catalog: Catalog): void {
  for (const table of catalog.tables.values()) {
    const decimals = table.columns.filter((column) => column.type.name === 'DECIMAL')
    if (decimals.length === 0) continue
    const declared = new Map(writer.prepareSync(`SELECT name, type FROM pragma_table_info(?)`).allSync([table.name]).map((row) => [String(row[0]), String(row[1]).toUpperCase()]))
    for (const column of decimals) {
      if (declared.get(column.name) !== sqliteStorage(column.type)) {
        throw new StrataError('NOT_SUPPORTED', `table "${table.name}" keeps its DECIMAL column "${column.name}" as a double (written by an earlier Strata, before DECIMAL was exact); export it with that version and import it into a new data directory`)
      }
    }
  }
}

/**
 * The catalog the engine runs against: an immutable snapshot replaced on every change (the version
 * goes up, so plans compiled against the old one are recompiled), kept in step with the row store's
 * history triggers, which are TEMP (per connection) and so installed anew on open and after a change.
 */
export class Schema implements CatalogHolder {
  catalog: Catalog
  version = 0
  /** Whether the writer connection has every table's history triggers (they are TEMP: per connection, installed by the first write). */
  private triggersInstalled = false

  constructor(
    private readonly rowStore: RowStore & { clearCachesSync(): void },
    private readonly ledger: Ledger,
  ) {
    this.catalog = ledger.loadCatalogSync(rowStore.writer)
  }

  set(catalog: Catalog): void {
    this.catalog = catalog
    this.version++
  }

  /**
   * Installs every table's history triggers on the writer connection unless it has them. Called by
   * every write transaction before its BEGIN (src/engine/transactions.ts: autocommit, a commit group,
   * BEGIN), with the writer lock held, so a process that only reads never pays for them — and outside
   * any transaction, whose rollback would take TEMP triggers with it.
   */
  prepareForWritesSync(): void {
    if (this.triggersInstalled) return
    assert(!this.rowStore.writer.inTransaction, 'history triggers are installed outside a transaction')
    for (const table of this.catalog.tables.values()) this.installTriggersSync(table)
    this.triggersInstalled = true
  }

  installTriggersSync(table: TableDefinition): void {
    for (const statement of sqliteHistoryTriggers(table)) this.rowStore.writer.execSync(statement)
  }

  dropTriggersSync(name: string): void {
    for (const event of ['insert', 'update', 'delete']) this.rowStore.writer.execSync(`DROP TRIGGER IF EXISTS temp.${quoteIdentifier(`_strata_${event}_${name}`)}`)
  }

  /** Persists a changed table definition in the open write transaction: the catalog, its triggers, the row store's caches. */
  saveTableSync(table: TableDefinition): void {
    this.ledger.saveTableSync(table)
    this.set({ tables: new Map([...this.catalog.tables, [table.name, table]]), views: this.catalog.views })
    this.installTriggersSync(table)
    this.rowStore.clearCachesSync()
  }

  /** A new table in the open write transaction: SQLite's table, its history table and indexes, the catalog entry and the history triggers. */
  createTableSync(table: TableDefinition): void {
    const writer = this.rowStore.writer
    writer.execSync(sqliteCreateTable(table))
    // A table dropped earlier under the same name left its history behind, renamed; start afresh.
    for (const statement of sqliteCreateHistory(table)) writer.execSync(statement)
    this.ledger.saveTableSync(table)
    this.set({ tables: new Map([...this.catalog.tables, [table.name, table]]), views: this.catalog.views })
    this.installTriggersSync(table)
  }

  /**
   * Drops a table in the open write transaction (`txId`'s): its history is kept under a name that
   * records when it went, with the open versions moved in. `beforeDrop` runs the subsystems' hooks.
   */
  dropTableSync(table: TableDefinition, txId: number, beforeDrop: () => void): void {
    const name = table.name
    const writer = this.rowStore.writer
    this.dropTriggersSync(name)
    beforeDrop()
    // The open versions join the rest in the history that is kept, as they were when the table went.
    writer.execSync(`INSERT INTO ${quoteIdentifier(historyTableName(name))} (${versionColumnNames(table).map(quoteIdentifier).join(', ')}) ${openVersionsSql(table)}`)
    writer.execSync(`DROP TABLE ${quoteIdentifier(name)}`)
    // History is never deleted by DROP: it is kept under a name that records when the table went.
    const kept = `_strata_dropped_${txId}_history_${name}`
    writer.execSync(`ALTER TABLE ${quoteIdentifier(historyTableName(name))} RENAME TO ${quoteIdentifier(kept)}`)
    // Its indexes keep their names across the rename; they serve no dropped table, and a new table of this name needs the names.
    const indexes = writer.prepareSync(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL`).allSync([kept])
    for (const [index] of indexes) writer.execSync(`DROP INDEX ${quoteIdentifier(String(index))}`)
    this.ledger.removeCatalogEntrySync(name)
    const tables = new Map(this.catalog.tables)
    tables.delete(name)
    this.set({ tables, views: this.catalog.views })
  }

  /** After a rollback of DDL: the catalog (and triggers) go back to what SQLite holds. */
  reloadSync(): void {
    for (const name of this.catalog.tables.keys()) this.dropTriggersSync(name)
    this.set(this.ledger.loadCatalogSync(this.rowStore.writer))
    if (this.triggersInstalled) for (const table of this.catalog.tables.values()) this.installTriggersSync(table)
    this.rowStore.clearCachesSync()
  }
}

/**
 * A plan's binders with this call's parameters → the row store's values: constants as compiled,
 * parameters coerced to the column's storage form (compared in the wider type where the compiler
 * asked, src/sql/rowsql.ts), `now()` as the ledger's clock, time-travel slots from `bounds`.
 *
 * @example bindValues(ledger, plan.binders, [42]) // [42]
 */
export function bindValues(ledger: Ledger, binders: readonly Binder[], params: readonly unknown[], bounds?: readonly bigint[]): RowValue[] {
  const values: RowValue[] = new Array(binders.length)
  for (let index = 0; index < binders.length; index++) {
    const binder = binders[index]!
    switch (binder.kind) {
      case 'value':
        values[index] = binder.value
        break
      case 'param': {
        if (binder.index < 0 || binder.index >= params.length) {
          throw new StrataError('INVALID_PARAMETER', `no value for parameter $${binder.index + 1} (${params.length} given)`)
        }
        const value = params[binder.index]
        values[index] = binder.type === undefined ? plainValue(value) : binder.compare === true ? comparisonParameter(value, binder.type) : toStorage(value, binder.type)
        // A full-text query is checked here so a malformed one is a SYNTAX_ERROR with its position (NULL: EXPLAIN's placeholder).
        if (binder.fulltextColumns !== undefined && value !== null) checkBoundFulltextQuery(value, binder.fulltextColumns)
        if (binder.rowCount === true) checkRowCount(values[index])
        if (binder.textOnly === true) checkTextParameter(value)
        break
      }
      case 'now':
        values[index] = toStorage(new Date(Number(ledger.nowMicros() / 1000n)), binder.type)
        break
      case 'slot':
        assert(bounds !== undefined, 'a time-travel plan is bound with its period bounds')
        values[index] = bounds[binder.slot]!
        break
    }
  }
  return values
}

/** A parameter bound where no column type is known: numbers, strings, bytes as they are. */
function plainValue(value: unknown): RowValue {
  if (value === null || value === undefined) return null
  if (typeof value === 'boolean') return value ? 1 : 0
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'string' || value instanceof Uint8Array) return value
  if (value instanceof Date) return Number(dateMicros(value))
  return JSON.stringify(value)
}
