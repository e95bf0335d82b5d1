/**
 * Bulk and batch writes (SPEC 7): `db.insert(table, rows)` and `db.writeBatch([...])`, each one commit.
 *
 * The insert fast path writes straight to SQLite inside the engine's write transaction: one prepared
 * multi-row INSERT reused for every full chunk, values coerced exactly as parameters are (`toStorage`),
 * defaults filled as INSERT fills them, and the history recorded by the same triggers as any INSERT.
 * A batch is a transaction on a private session: BEGIN, each item through the ordinary statement path,
 * COMMIT — so every statement means what it means alone, and the batch is all or nothing.
 */
import type { RowConnection, RowValue } from '../storage/rowstore/rowstore.js'
import type { TableDefinition } from '../sql/catalog.js'
import { nullKeyError, rowidAliasIndex } from '../sql/ddl.js'
import { quoteIdentifier } from '../sql/tree.js'
import { toStorage, type SqlType } from '../sql/types.js'
import { StrataError } from '../util/errors.js'
import { limits } from '../util/limits.js'
import type { Session } from './session.js'

/** Rows to insert, column-major names with row-major values. */
export interface BulkRows {
  /** Column names, in the order of each row's values. */
  readonly columns: readonly string[]
  /** One array per row; `undefined` takes the column's DEFAULT, `null` is NULL. */
  readonly rows: readonly (readonly unknown[])[]
}

export interface BulkTarget {
  readonly writer: RowConnection
  readonly table: TableDefinition
  /** The stored value of a `DEFAULT now()` column of this type (the statement's "now"). */
  now(type: SqlType): RowValue
}

export interface BulkProgress {
  readonly onProgress?: ((rowsDone: number, rowsTotal: number) => void) | undefined
  readonly signal?: AbortSignal | undefined
}

/** Columns a bulk insert cannot write directly (valid time goes through the temporal writer). */
export const validTimeColumns: ReadonlySet<string> = new Set(['_valid_from', '_valid_to'])

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
export function insertRowsSync(target: BulkTarget, input: BulkRows, progress: BulkProgress): number {
  const { table, writer } = target
  const seen = new Set<string>()
  for (const name of input.columns) {
    if (seen.has(name)) throw new StrataError('SYNTAX_ERROR', `column "${name}" is given twice`)
    seen.add(name)
    if (!table.columns.some((column) => column.name === name)) throw new StrataError('UNDEFINED_COLUMN', `column "${name}" of table "${table.name}" does not exist`)
  }
  const width = table.columns.length
  const rowidAlias = rowidAliasIndex(table)
  const sources = table.columns.map((column) => input.columns.indexOf(column.name))
  const types = table.columns.map((column) => column.type)
  const defaults = table.columns.map((column): RowValue => {
    const fallback = column.default
    if (fallback === undefined) return null
    return fallback.kind === 'now' ? target.now(column.type) : toStorage(fallback.value, column.type)
  })
  const rowsPerStatement = Math.max(1, Math.min(limits.bulkInsertRowsPerStatement, Math.floor(limits.sqliteParametersMax / Math.max(1, width))))
  const head = `INSERT INTO ${quoteIdentifier(table.name)} (${table.columns.map((column) => quoteIdentifier(column.name)).join(', ')}) VALUES `
  const tuple = `(${table.columns.map(() => '?').join(', ')})`
  const statementFor = (count: number): ReturnType<RowConnection['prepareSync']> => writer.prepareSync(head + new Array<string>(count).fill(tuple).join(', '))
  const fullStatement = statementFor(rowsPerStatement)
  const fullValues: RowValue[] = new Array(width * rowsPerStatement)
  const total = input.rows.length
  const fill = (values: RowValue[], at: number, rowIndex: number): void => {
    const row = input.rows[rowIndex]!
    for (let column = 0; column < width; column++) {
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
    done += count
    if (progress.onProgress !== undefined && done - reported >= 10_000) {
      reported = done
      progress.onProgress(done, total)
    }
  }
  progress.onProgress?.(done, total)
  return done
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
