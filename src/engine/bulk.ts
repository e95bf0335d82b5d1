/**
 * Bulk and batch writes (SPEC 7): `db.insert(table, rows)` and `db.writeBatch([...])`, each one commit.
 *
 * The insert fast path writes straight to SQLite inside the engine's write transaction: one prepared
 * multi-row INSERT reused for every full chunk, values coerced exactly as parameters are (`toStorage`),
 * defaults filled as INSERT fills them, and each row its key's open version, as any INSERT's is.
 * A batch is a transaction on a private session: BEGIN, each item through the ordinary statement path,
 * COMMIT — so every statement means what it means alone, and the batch is all or nothing.
 */
import type { RowConnection, RowValue } from '../storage/rowstore/rowstore.js'
import { openTxColumn, openVersionColumn, rowIdColumn } from '../sql/catalog.js'
import { checkUserName, nullKeyError, renewOpenVersionSql, rowidAliasIndex, storedKeyText } from '../sql/ddl.js'
import { keyedDeleteSql, keyedUpdateSql } from '../sql/rowsql.js'
import { keyTextOfValues, sameStoredValue, storedKeyId } from '../util/row-values.js'
import { quoteIdentifier } from '../sql/tree.js'
import { toStorage, typeFromLabel, type SqlType } from '../sql/types.js'
import { StrataError } from '../util/errors.js'
import { limits } from '../util/limits.js'
import { handedRows, handOverInserted, type Session } from './session.js'
import { firstRowIdSync, type AppendTarget } from './append.js'
import type { EngineContext } from './context.js'
import type { Ddl } from './ddl.js'
import type { Transactions } from './transactions.js'
import { exportCopySql, fileReaderSql } from './files.js'
import type { Tabular } from './rows.js'

/** Rows to insert, column-major names with row-major values. */
export interface BulkRows {
  /** Column names, in the order of each row's values. */
  readonly columns: readonly string[]
  /** One array per row; `undefined` takes the column's DEFAULT, `null` is NULL. */
  readonly rows: readonly (readonly unknown[])[]
}

export interface BulkTarget extends AppendTarget {
  /** The next version number: each row takes one (a row's hidden column, given here so SQLite need not call the ledger's function per row). */
  nextVersion(): bigint
  /** The stored value of a `DEFAULT now()` column of this type (the statement's "now"). */
  now(type: SqlType): RowValue
}

export interface BulkProgress {
  readonly onProgress?: ((rowsDone: number, rowsTotal: number) => void) | undefined
  readonly signal?: AbortSignal | undefined
}

/** A StrataError that says which row (and column) of a bulk insert it came from. */
function rowError(error: unknown, rowIndex: number, column: string | undefined): unknown {
  if (!(error instanceof StrataError)) return error
  const where = column === undefined ? `row ${rowIndex}` : `row ${rowIndex}, column "${column}"`
  return error.withMessage(`${where}: ${error.message}`)
}

/**
 * Inserts `input` into `target.table` on the writer, which must be inside a transaction. Returns the
 * number of rows inserted; throws (leaving the caller to roll back) on the first bad row, naming it.
 *
 * @example
 * insertRowsSync({ writer, table, now }, { columns: ['id', 'v'], rows: [[1, 2.5], [2, null]] }, {})
 */
export function insertRowsSync(target: BulkTarget, input: BulkRows, progress: BulkProgress): { readonly rowCount: number; readonly inserted: unknown[][] | undefined } {
  const { table, writer } = target
  const seen = new Set<string>()
  for (const name of input.columns) {
    if (seen.has(name)) throw new StrataError('SYNTAX_ERROR', `column "${name}" is given twice`)
    seen.add(name)
    if (!table.columns.some((column) => column.name === name)) throw new StrataError('UNDEFINED_COLUMN', `column "${name}" of table "${table.name}" does not exist`)
  }
  const userWidth = table.columns.length
  // A table without a primary key is keyed by its row id. When the rows are handed over, each is given
  // the one SQLite would assign (AUTOINCREMENT: one more than the largest it ever gave), so that the
  // sync learns its key.
  let nextRowId = target.handOver === true && table.primaryKey === null ? firstRowIdSync(writer, table.name) : undefined
  const hidden = [...(nextRowId === undefined ? [] : [rowIdColumn]), openVersionColumn, openTxColumn]
  const width = userWidth + hidden.length
  const rowidAlias = rowidAliasIndex(table)
  const sources = table.columns.map((column) => input.columns.indexOf(column.name))
  const types = table.columns.map((column) => column.type)
  const defaults = table.columns.map((column): RowValue => {
    const fallback = column.default
    if (fallback === undefined) return null
    return fallback.kind === 'now' ? target.now(column.type) : toStorage(fallback.value, column.type)
  })
  const rowsPerStatement = Math.max(1, Math.min(limits.bulkInsertRowsPerStatement, Math.floor(limits.sqliteParametersMax / Math.max(1, width))))
  const head = `INSERT INTO ${quoteIdentifier(table.name)} (${[...table.columns.map((column) => column.name), ...hidden].map(quoteIdentifier).join(', ')}) VALUES `
  const tuple = `(${new Array<string>(width).fill('?').join(', ')})`
  // The rows for the sync: each row's key text and user columns, while every key has a text.
  const keyText = target.handOver !== true ? undefined : nextRowId !== undefined ? (values: readonly unknown[], at: number) => `[${String(values[at + userWidth])}]` : storedKeyText(table)
  let inserted: unknown[][] | undefined = keyText === undefined ? undefined : []
  const statementFor = (count: number): ReturnType<RowConnection['prepareSync']> => writer.prepareSync(head + new Array<string>(count).fill(tuple).join(', '))
  const fullStatement = statementFor(rowsPerStatement)
  const fullValues: RowValue[] = new Array(width * rowsPerStatement)
  const total = input.rows.length
  const fill = (values: RowValue[], at: number, rowIndex: number): void => {
    const row = input.rows[rowIndex]!
    for (let column = 0; column < userWidth; column++) {
      const source = sources[column]!
      const value = source < 0 ? undefined : row[source]
      if (value === undefined) values[at + column] = defaults[column]!
      else if (value === null) values[at + column] = null
      else {
        try {
          values[at + column] = toStorage(value, types[column]!)
        } catch (error) {
          throw rowError(error, rowIndex, table.columns[column]!.name)
        }
      }
    }
    if (rowidAlias >= 0 && values[at + rowidAlias] === null) throw rowError(nullKeyError(table, table.columns[rowidAlias]!.name), rowIndex, undefined)
    let hiddenAt = at + userWidth
    if (nextRowId !== undefined) values[hiddenAt++] = nextRowId++
    values[hiddenAt] = target.nextVersion()
    values[hiddenAt + 1] = target.txId
  }
  let done = 0
  let reported = 0
  for (let start = 0; start < total; start += rowsPerStatement) {
    if (progress.signal?.aborted === true) throw new StrataError('ABORTED', `the insert into "${table.name}" was aborted after ${done} rows (nothing was written)`)
    const count = Math.min(rowsPerStatement, total - start)
    const statement = count === rowsPerStatement ? fullStatement : statementFor(count)
    const values = count === rowsPerStatement ? fullValues : new Array<RowValue>(width * count)
    for (let offset = 0; offset < count; offset++) fill(values, offset * width, start + offset)
    try {
      statement.runSync(values)
    } catch (error) {
      // A failed statement undoes itself; find the row by inserting the chunk's rows one at a time.
      const single = statementFor(1)
      const rowValues: RowValue[] = new Array(width)
      for (let offset = 0; offset < count; offset++) {
        fill(rowValues, 0, start + offset)
        try {
          single.runSync(rowValues)
        } catch (rowFailure) {
          throw rowError(rowFailure, start + offset, undefined)
        }
      }
      throw error
    }
    if (inserted !== undefined) inserted = handedRows(inserted, keyText!, values, { count, stride: width, width: userWidth })
    done += count
    if (progress.onProgress !== undefined && done - reported >= 10_000) {
      reported = done
      progress.onProgress(done, total)
    }
  }
  progress.onProgress?.(done, total)
  return { rowCount: done, inserted }
}


/** One statement of a write batch. */
export type BatchItem = string | { readonly sql: string; readonly params?: readonly unknown[] | Readonly<Record<string, unknown>> | undefined }

/** What a batch needs from the engine. */
export interface BatchRunner {
  newSession(): Session
  execute(session: Session, sql: string, params: readonly unknown[] | Readonly<Record<string, unknown>> | undefined, options: { readonly signal?: AbortSignal | undefined }): Promise<readonly { readonly txId?: number }[]>
  abortSession(session: Session): Promise<void>
  /** The statement kinds (`SelectStmt`, `TransactionStmt`, …) of a text, from the (cached) parse. */
  statementKinds(sql: string, params: readonly unknown[] | Readonly<Record<string, unknown>> | undefined): string[]
}

/**
 * Runs `items` as one transaction and commits once. A failing item rolls everything back and the
 * error names it: `writeBatch item 3: …`.
 *
 * @example
 * await runWriteBatch(runner, ['INSERT INTO t VALUES (1)', { sql: 'UPDATE t SET a = $1', params: [2] }], {})
 */
export async function runWriteBatch(runner: BatchRunner, items: readonly BatchItem[], options: { readonly signal?: AbortSignal | undefined; readonly what?: string }): Promise<{ txId: number | undefined; rowCount: number }> {
  if (!Array.isArray(items)) throw new StrataError('INVALID_PARAMETER', 'writeBatch() takes an array of SQL strings or { sql, params } objects')
  const what = options.what ?? 'writeBatch item'
  const statements = items.map((item, index) => {
    const sql = typeof item === 'string' ? item : typeof item === 'object' && item !== null && typeof item.sql === 'string' ? item.sql : undefined
    if (sql === undefined) throw new StrataError('INVALID_PARAMETER', `${what} ${index}: expected a SQL string or { sql, params }`)
    const params = typeof item === 'string' ? undefined : item.params
    let kinds: string[]
    try {
      kinds = runner.statementKinds(sql, params)
    } catch (error) {
      throw wrapItem(error, what, index)
    }
    if (kinds.includes('TransactionStmt')) {
      throw new StrataError('TX_STATE', `${what} ${index}: BEGIN, COMMIT and ROLLBACK cannot appear inside a batch (the batch is the transaction)`, { statement: sql })
    }
    return { sql, params }
  })
  if (statements.length === 0) return { txId: undefined, rowCount: 0 }
  const session = runner.newSession()
  await runner.execute(session, 'BEGIN', undefined, options)
  let index = 0
  try {
    for (; index < statements.length; index++) {
      const { sql, params } = statements[index]!
      await runner.execute(session, sql, params, options)
    }
  } catch (error) {
    await runner.abortSession(session)
    throw wrapItem(error, what, index)
  }
  const rowCount = session.rowsChanged
  const committed = await runner.execute(session, 'COMMIT', undefined, options)
  return { txId: committed[committed.length - 1]?.txId, rowCount }
}

function wrapItem(error: unknown, what: string, index: number): unknown {
  if (!(error instanceof StrataError)) return error
  return error.withMessage(`${what} ${index}: ${error.message}`)
}

export interface BulkInsertOptions {
  /** Create the table from the columns (and their type labels) when it does not exist: file import only. */
  readonly createTable?: boolean
  readonly onProgress?: ((rowsDone: number, rowsTotal: number) => void) | undefined
  readonly signal?: AbortSignal | undefined
}

/** How `db.writeTable` treats the rows already in the table. */
export type WriteTableMode = 'replace' | 'append' | 'upsert'

/** The bulk paths: `db.insert`, `db.writeTable`, file import and export, `db.writeBatch`. */
export class Bulk {
  constructor(
    private readonly context: Pick<EngineContext, 'rowStore' | 'ledger' | 'schema' | 'subsystems'>,
    private readonly transactions: Pick<Transactions, 'write'>,
    private readonly ddl: Pick<Ddl, 'createTableSync'>,
    private readonly runner: BatchRunner,
    /** A query on the column store, fresh (SPEC 5), on a session of its own. */
    private readonly columnQuery: (sql: string, params: readonly unknown[] | undefined, signal: AbortSignal | undefined) => Promise<Tabular>,
  ) {}

  /**
   * Inserts rows into `table` as one commit (db.insert, file import): one SQLite transaction, a
   * prepared multi-row INSERT, history by the usual triggers (`insertRowsSync`). Rows a subsystem
   * claims (valid time) go through its statements instead, still as one commit. The table must exist,
   * unless `createTable` (file import only) asks to create it from `columns`.
   *
   * @example
   * await bulk.insert('t', [{ name: 'id' }, { name: 'v' }], [[1, 2.5]], {})
   */
  async insert(table: string, columns: readonly { readonly name: string; readonly type?: string }[], rows: readonly (readonly unknown[])[], options: BulkInsertOptions = {}): Promise<{ txId: number | undefined; rowCount: number }> {
    const { schema, ledger, rowStore, subsystems } = this.context
    const existing = schema.catalog.tables.get(table)
    if (existing === undefined && options.createTable !== true) {
      throw new StrataError('UNDEFINED_TABLE', schema.catalog.views.has(table) ? `"${table}" is a view; views cannot be written` : `table "${table}" does not exist`)
    }
    const names = columns.map((column) => column.name)
    if (existing !== undefined && subsystems.claimBulkInsert(existing, names)) {
      const items = rows.map((row) => {
        const given = names.flatMap((name, index) => (row[index] === undefined ? [] : [{ name, value: row[index] }]))
        const sql = `INSERT INTO ${quoteIdentifier(table)} (${given.map((column) => quoteIdentifier(column.name)).join(', ')}) VALUES (${given.map((_, index) => `$${index + 1}`).join(', ')})`
        return { sql, params: given.map((column) => column.value) }
      })
      return runWriteBatch(this.runner, items, { signal: options.signal, what: 'insert row' })
    }
    const result = await this.transactions.write(this.runner.newSession(), { signal: options.signal }, async (active) => {
      const pending = ledger.pendingCommit!
      let definition = schema.catalog.tables.get(table)
      if (definition === undefined) {
        checkUserName(table, 'table')
        definition = {
          name: table,
          columns: columns.map((column) => ({ name: column.name, type: typeFromLabel(column.type ?? 'VARCHAR'), notNull: false, default: undefined })),
          primaryKey: null,
          uniques: [],
          checks: [],
          schemaTx: pending.txId,
        }
        this.ddl.createTableSync(active, definition)
      }
      const { rowCount, inserted } = insertRowsSync(
        {
          writer: rowStore.writer,
          table: definition,
          txId: pending.txId,
          nextVersion: () => ledger.nextVersion(),
          reserveVersions: (count) => ledger.reserveVersions(count),
          now: (type) => toStorage(new Date(Number(ledger.nowMicros() / 1000n)), type),
          handOver: rows.length >= limits.syncHandoffRowsMin,
        },
        { columns: names, rows },
        { onProgress: options.onProgress, signal: options.signal },
      )
      handOverInserted(active, definition, inserted, limits.syncHandoffRowsMax)
      return { rows: [], columns: [], rowCount, engine: 'row' }
    })
    return { txId: result.txId, rowCount: result.rowCount }
  }

  /**
   * `db.writeTable` (SPEC 10, UDR's write_table): makes `table` hold `rows` by its row-level
   * difference from the current state, as one commit — new keys inserted, changed rows updated (the
   * given columns), and for `replace` the keys absent from the input deleted — so an unchanged row
   * adds no version. `key` (default: the primary key) names the columns that identify a row; they
   * must be given and unique in the input, and unique in the table. An empty input to `replace` is
   * refused unless `allowEmpty`, so an empty file never empties a table by accident.
   *
   * @example
   * await bulk.writeTable('t', ['id', 'v'], [[1, 'a']], { mode: 'replace' })  // { txId: 7, added: 1, removed: 0, modified: 0 }
   */
  async writeTable(
    table: string,
    columns: readonly string[],
    rows: readonly (readonly unknown[])[],
    options: { readonly mode: WriteTableMode; readonly key?: readonly string[] | undefined; readonly allowEmpty?: boolean | undefined; readonly signal?: AbortSignal | undefined },
  ): Promise<{ txId: number | undefined; added: number; removed: number; modified: number }> {
    const { schema, ledger, rowStore, subsystems } = this.context
    const definition = schema.catalog.tables.get(table)
    if (definition === undefined) throw new StrataError('UNDEFINED_TABLE', schema.catalog.views.has(table) ? `"${table}" is a view; views cannot be written` : `table "${table}" does not exist`)
    if (!(['replace', 'append', 'upsert'] as const).includes(options.mode)) throw new StrataError('INVALID_ARGUMENT', `writeTable(): mode must be 'replace', 'append' or 'upsert', not ${JSON.stringify(options.mode)}`)
    if (definition.source !== undefined || definition.stream !== undefined) throw new StrataError('NOT_SUPPORTED', `writeTable() into the ${definition.source !== undefined ? 'source' : 'stream'} "${table}"`)
    if (subsystems.claimBulkInsert(definition, columns)) throw new StrataError('NOT_SUPPORTED', `writeTable() with valid-time columns into "${table}" (INSERT … FOR PORTION OF writes valid time)`)
    const seen = new Set<string>()
    for (const name of columns) {
      if (seen.has(name)) throw new StrataError('SYNTAX_ERROR', `column "${name}" is given twice`)
      seen.add(name)
      if (!definition.columns.some((column) => column.name === name)) throw new StrataError('UNDEFINED_COLUMN', `column "${name}" of table "${table}" does not exist`)
    }
    if (rows.length === 0 && options.mode === 'replace' && options.allowEmpty !== true) {
      throw new StrataError('INVALID_ARGUMENT', `writeTable('${table}', [], { mode: 'replace' }) would delete every row: pass { allowEmpty: true } to mean it`)
    }
    if (options.mode === 'append') {
      const result = await this.insert(table, columns.map((name) => ({ name })), rows, { signal: options.signal })
      return { txId: result.txId, added: result.rowCount, removed: 0, modified: 0 }
    }
    const key = options.key ?? definition.primaryKey
    if (key === null || key === undefined || key.length === 0) throw new StrataError('INVALID_ARGUMENT', `writeTable('${table}') in mode '${options.mode}' needs a key: the table has no primary key, so pass { key: [columns] }`)
    for (const name of key) {
      if (!definition.columns.some((column) => column.name === name)) throw new StrataError('UNDEFINED_COLUMN', `key column "${name}" of table "${table}" does not exist`)
      if (rows.length > 0 && !columns.includes(name)) throw new StrataError('INVALID_ARGUMENT', `writeTable('${table}'): every row must give the key column "${name}"`)
    }
    // The input in storage values, by key: the given columns only (others keep their values, or take their defaults when inserted).
    const given = columns.map((name) => definition.columns.findIndex((column) => column.name === name))
    const keyPositions = key.map((name) => columns.indexOf(name))
    // A value left undefined (a row object without the column) keeps the current one, or takes the default in a new row.
    const input = new Map<string, { readonly index: number; readonly stored: (RowValue | undefined)[] }>()
    rows.forEach((row, index) => {
      const stored = given.map((at, position) => {
        const value = row[position]
        try {
          return value === undefined ? undefined : value === null ? null : toStorage(value, definition.columns[at]!.type)
        } catch (error) {
          throw error instanceof StrataError ? error.withMessage(`row ${index}, column "${columns[position]!}": ${error.message}`) : error
        }
      })
      const id = storedKeyId(keyPositions.map((position) => stored[position]))
      if (input.has(id)) throw new StrataError('INVALID_ARGUMENT', `writeTable('${table}'): rows ${input.get(id)!.index} and ${index} have the same key (${key.join(', ')})`)
      input.set(id, { index, stored })
    })
    const counts = { added: 0, removed: 0, modified: 0 }
    const result = await this.transactions.write(this.runner.newSession(), { signal: options.signal }, (active) => {
      const writer = rowStore.writer
      const pending = ledger.pendingCommit!
      // Each current row's given columns, and the key the row store's keyed writes name it by.
      const rowKey = definition.primaryKey ?? [rowIdColumn]
      const selected = [...columns, ...rowKey].map(quoteIdentifier).join(', ')
      // One pass over the table's rows, each met with the input row of its key: no copy of the table is kept.
      const inserts: (readonly unknown[])[] = []
      const updates: { readonly keyText: string; readonly stored: readonly RowValue[] }[] = []
      const deletes: string[] = []
      const met = new Set<string>()
      for (const row of writer.prepareSync(`SELECT ${selected} FROM ${quoteIdentifier(table)}`, { bigints: true }).iterateSync([])) {
        const id = storedKeyId(keyPositions.map((position) => row[position]))
        if (met.has(id)) throw new StrataError('INVALID_ARGUMENT', `writeTable('${table}'): the key (${key.join(', ')}) is not unique in the table`)
        met.add(id)
        const wanted = input.get(id)
        if (wanted === undefined) {
          if (options.mode === 'replace') deletes.push(keyTextOfValues(row.slice(columns.length)))
          continue
        }
        let differs = false
        const stored = wanted.stored.map((value, position) => {
          const kept = value === undefined ? row[position]! : value
          if (!differs && !sameStoredValue(kept, row[position])) differs = true
          return kept
        })
        if (differs) updates.push({ keyText: keyTextOfValues(row.slice(columns.length)), stored })
      }
      // A new row goes in as the caller gave it (a column left undefined takes its default).
      for (const [id, wanted] of input) if (!met.has(id)) inserts.push(rows[wanted.index]!)
      if (options.signal?.aborted === true) throw new StrataError('ABORTED', `writeTable('${table}') was aborted (nothing was written)`)
      for (let start = 0; start < deletes.length; start += limits.keyedUpdateRowsPerStatement) {
        writer.prepareSync(keyedDeleteSql(definition)).runSync([`[${deletes.slice(start, start + limits.keyedUpdateRowsPerStatement).join(',')}]`])
      }
      // The given columns that are not the key are set; a key column that is not the row store's key may be too (it is equal).
      const assigned = columns.filter((name) => !(definition.primaryKey ?? []).includes(name))
      if (updates.length > 0 && assigned.length > 0) {
        const positions = assigned.map((name) => columns.indexOf(name))
        const perStatement = Math.max(1, Math.min(limits.keyedUpdateRowsPerStatement, Math.floor(limits.sqliteParametersMax / (assigned.length + 1))))
        for (let start = 0; start < updates.length; start += perStatement) {
          const chunk = updates.slice(start, start + perStatement)
          const params: RowValue[] = []
          for (const update of chunk) params.push(update.keyText, ...positions.map((position) => update.stored[position]!))
          writer.prepareSync(keyedUpdateSql(definition, assigned, chunk.length, renewOpenVersionSql)).runSync(params)
        }
      }
      if (inserts.length > 0) {
        insertRowsSync(
          {
            writer,
            table: definition,
            txId: pending.txId,
            nextVersion: () => ledger.nextVersion(),
            reserveVersions: (count) => ledger.reserveVersions(count),
            now: (type) => toStorage(new Date(Number(ledger.nowMicros() / 1000n)), type),
            handOver: false,
          },
          { columns, rows: inserts },
          { signal: options.signal },
        )
      }
      // Rows updated and deleted as well: the sync reads the commit's rows back rather than taking them.
      handOverInserted(active, definition, undefined, limits.syncHandoffRowsMax)
      counts.added = inserts.length
      counts.removed = deletes.length
      counts.modified = updates.length
      return { rows: [], columns: [], rowCount: inserts.length + updates.length + deletes.length, engine: 'row' }
    })
    return { txId: result.txId, ...counts }
  }

  /**
   * Loads a CSV, Parquet or JSON file (by extension, read by DuckDB's readers) into `table` as one
   * commit, creating the table from the file's columns when it does not exist.
   *
   * @example
   * await bulk.importFile('/tmp/people.csv', { table: 'people' })  // { txId: 4, rowCount: 3 }
   */
  async importFile(file: string, options: { readonly table: string } & Pick<BulkInsertOptions, 'onProgress' | 'signal'>): Promise<{ txId: number | undefined; rowCount: number }> {
    const result = await this.columnQuery(`SELECT * FROM ${fileReaderSql(file)}`, [file], options.signal)
    return this.insert(options.table, result.columns, result.rows, { createTable: true, onProgress: options.onProgress, signal: options.signal })
  }

  /**
   * Writes a table's current state to a .parquet, .csv or .json file (by extension); returns the rows written.
   *
   * @example
   * await bulk.exportTable('/tmp/people.parquet', { table: 'people' })  // { rowCount: 3 }
   */
  async exportTable(file: string, options: { readonly table: string; readonly signal?: AbortSignal | undefined }): Promise<{ readonly rowCount: number }> {
    if (!this.context.schema.catalog.tables.has(options.table)) throw new StrataError('UNDEFINED_TABLE', `table "${options.table}" does not exist`)
    const result = await this.columnQuery(exportCopySql(options.table, file), undefined, options.signal)
    return { rowCount: Number(result.rows[0]?.[0] ?? 0) }
  }

  /**
   * Runs statements as one transaction with one commit (db.writeBatch): all or nothing; an error names
   * the failing item.
   *
   * @example
   * await bulk.writeBatch(['INSERT INTO t VALUES (1)', { sql: 'DELETE FROM t WHERE id = $1', params: [2] }], {})
   */
  writeBatch(items: readonly BatchItem[], options: { readonly signal?: AbortSignal | undefined } = {}): Promise<{ txId: number | undefined; rowCount: number }> {
    return runWriteBatch(this.runner, items, options)
  }
}
