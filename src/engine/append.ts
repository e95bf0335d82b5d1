/**
 * Rows a subsystem makes itself (a source's events, a stream's results) appended to a table in the
 * open write transaction, the way the bulk insert writes them (bulk.ts): values already in storage
 * form, each row's hidden columns given here.
 */
import type { RowConnection, RowValue } from '../storage/rowstore/rowstore.js'
import { openTxColumn, openVersionColumn, rowIdColumn, type TableDefinition } from '../sql/catalog.js'
import { storedKeyText } from '../sql/ddl.js'
import { quoteIdentifier } from '../sql/tree.js'
import { limits } from '../util/limits.js'

/** Where appended rows go: the writer (inside its transaction), the table, and each row's transaction and version. */
export interface AppendTarget {
  readonly writer: RowConnection
  readonly table: TableDefinition
  readonly txId: number
  /** The next `count` versions at once (as `nextVersion` would give them one by one): the first of them. */
  reserveVersions(count: number): bigint
  /** Also return the rows as the column store's sync takes them (InsertedRows), when it can. */
  readonly handOver?: boolean
}

/**
 * Appends rows already in storage form (each the table's user columns, in order) to `target.table` on
 * the writer, inside its transaction: how a subsystem writes the rows it makes itself (a source's
 * events, a stream's results). One prepared multi-row INSERT per full chunk; each row's hidden columns
 * (row id of a keyless table, version, transaction) are given here, so SQLite calls no function per
 * row. Returns the rows in the sync's form (InsertedRows: key text, then the user columns) when
 * `target.handOver` and every row's key has a text, else undefined. Values are not checked: a
 * subsystem gives values it has made with `toStorage`.
 */
export function appendStoredRowsSync(target: AppendTarget, rows: readonly (readonly RowValue[])[]): unknown[][] | undefined {
  const { table, writer } = target
  const total = rows.length
  if (total === 0) return target.handOver === true ? [] : undefined
  const userWidth = table.columns.length
  let nextRowId = table.primaryKey === null ? firstRowIdSync(writer, table.name) : undefined
  const hidden = [...(nextRowId === undefined ? [] : [rowIdColumn]), openVersionColumn, openTxColumn]
  const width = userWidth + hidden.length
  const rowsPerStatement = Math.max(1, Math.min(limits.bulkInsertRowsPerStatement, Math.floor(limits.sqliteParametersMax / width)))
  const head = `INSERT INTO main.${quoteIdentifier(table.name)} (${[...table.columns.map((column) => column.name), ...hidden].map(quoteIdentifier).join(', ')}) VALUES `
  const tuple = `(${new Array<string>(width).fill('?').join(', ')})`
  const statementFor = (count: number): ReturnType<RowConnection['prepareSync']> => writer.prepareSync(head + new Array<string>(count).fill(tuple).join(', '))
  const keyText = target.handOver !== true ? undefined : nextRowId !== undefined ? undefined : storedKeyText(table)
  let handed: unknown[][] | undefined = target.handOver === true && (nextRowId !== undefined || keyText !== undefined) ? new Array(total) : undefined
  const txId = target.txId
  // The rows' versions, reserved at once: as numbers while they are exact (no BigInt per row).
  const firstVersion = target.reserveVersions(total)
  const versionsExact = firstVersion + BigInt(total) < BigInt(Number.MAX_SAFE_INTEGER)
  const firstVersionNumber = Number(firstVersion)
  const fullStatement = total >= rowsPerStatement ? statementFor(rowsPerStatement) : undefined
  const fullValues: RowValue[] = new Array(width * Math.min(rowsPerStatement, total))
  for (let start = 0; start < total; start += rowsPerStatement) {
    const count = Math.min(rowsPerStatement, total - start)
    const values = count === rowsPerStatement ? fullValues : new Array<RowValue>(count * width)
    let at = 0
    for (let index = start; index < start + count; index++) {
      const row = rows[index]!
      for (let column = 0; column < userWidth; column++) values[at + column] = row[column]!
      let hiddenAt = at + userWidth
      let key: string | undefined
      if (nextRowId !== undefined) {
        values[hiddenAt++] = nextRowId
        if (handed !== undefined) key = `[${nextRowId}]`
        nextRowId++
      } else if (handed !== undefined) {
        key = keyText!(values, at)
        if (key === undefined) handed = undefined
      }
      values[hiddenAt] = versionsExact ? firstVersionNumber + index : firstVersion + BigInt(index)
      values[hiddenAt + 1] = txId
      if (handed !== undefined) {
        const one: unknown[] = new Array(userWidth + 1)
        one[0] = key
        for (let column = 0; column < userWidth; column++) one[column + 1] = row[column]
        handed[index] = one
      }
      at += width
    }
    const statement = count === rowsPerStatement ? fullStatement! : statementFor(count)
    statement.runSync(values)
  }
  return handed
}

/**
 * The row id SQLite would give the next row of a table keyed by its AUTOINCREMENT row id: one more
 * than the largest it ever gave (sqlite_sequence) or holds; undefined past 2^53 (left to SQLite).
 */
export function firstRowIdSync(writer: RowConnection, table: string): number | undefined {
  const row = writer
    .prepareSync(`SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = ?), 0), coalesce((SELECT max(${quoteIdentifier(rowIdColumn)}) FROM ${quoteIdentifier(table)}), 0))`, { bigints: true })
    .allSync([table])[0]
  const largest = row?.[0]
  return typeof largest === 'bigint' && largest < BigInt(Number.MAX_SAFE_INTEGER) - 1_000_000_000n ? Number(largest) + 1 : undefined
}
