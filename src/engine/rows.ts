/**
 * Results as the engine hands them around and back: the public result types, and row-store rows
 * (storage values) shaped into SPEC 3 values. Every statement family returns a `Positional`; the
 * dispatcher turns it into the caller's `StatementResult` (rows as objects) or `ArrayStatementResult`.
 */
import type { RowValue } from '../storage/rowstore/rowstore.js'
import type { OutputColumn } from '../sql/plan.js'
import { fromStorage, readsIntegersAsBigints, typeLabel, type TypeName } from '../sql/types.js'
import type { EngineName, Rows, Tabular } from '../subsystems/seam.js'

export type { EngineName, Tabular }

/** A query's rows as they are read (`Engine.stream`). */
export interface StreamedResult {
  readonly columns: readonly ResultColumn[]
  readonly engine: EngineName
  readonly txId?: number | undefined
  /** Batches of rows, each row an array in column order with SPEC 3 values. */
  readonly batches: AsyncIterable<unknown[][]>
}

/** A result column: `nullable` is false when the column provably holds no NULL (src/sql/nullability.ts), true when it may; absent when unknown (results of writes). */
export interface ResultColumn {
  readonly name: string
  readonly type: string
  readonly nullable?: boolean
}

export interface StatementResult {
  readonly rows: Record<string, unknown>[]
  readonly columns: readonly ResultColumn[]
  readonly rowCount: number
  readonly engine: EngineName
  readonly txId?: number
  readonly durationMs: number
}

/**
 * A result with each row an array in column order (`execute` with `rowMode: 'array'`): every column
 * is there even when two share a name (`SELECT 1 AS a, 2 AS a`, a join's two `id`s), which the
 * objects of {@link StatementResult} cannot hold.
 */
export interface ArrayStatementResult extends Omit<StatementResult, 'rows'> {
  readonly rows: unknown[][]
}

/** A statement's result inside the engine: rows are arrays in column order with SPEC 3 values. */
export type Positional = Rows

export interface ExecuteOptions {
  readonly engine?: 'row' | 'column' | undefined
  readonly maxStalenessMs?: number | undefined
  readonly signal?: AbortSignal | undefined
  /** Refuse every statement that would write (DML, DDL, index changes) with READ_ONLY; reads and transaction control run. */
  readonly readOnly?: boolean | undefined
  /** 'object' (default): rows keyed by column name (a later column wins a shared name); 'array': rows in column order. */
  readonly rowMode?: 'object' | 'array' | undefined
  /** The branch the statement runs on, instead of the session's (docs/branches.md). */
  readonly branch?: string | undefined
}

export const noOptions: ExecuteOptions = Object.freeze({})

/** The result of a statement that returns no rows (DDL, transaction control, SET). */
export function noRows(engine: EngineName = 'row'): Positional {
  return { rows: [], columns: [], rowCount: 0, engine }
}

export const bigintRows = Object.freeze({ bigints: true })
export const numberRows = Object.freeze({ bigints: false })

export function outputColumn(column: OutputColumn): { name: string; type: string } {
  return { name: column.name, type: column.label ?? typeLabel(column.type) }
}

/** What a plan's output needs, worked out once per (cached, immutable) output list. */
export interface OutputShape {
  readonly output: readonly OutputColumn[]
  readonly columns: readonly { name: string; type: string }[]
  /** A BIGINT column: SQLite hands back every integer as a bigint. */
  readonly bigints: boolean
  /** The columns whose storage values fromStorage may change: all of them when integers come back as bigints, else only the types it converts. */
  readonly converted: readonly number[]
}

/** Types whose storage value fromStorage returns unchanged when it is not a bigint (src/sql/types.ts). */
const unconvertedTypes: ReadonlySet<TypeName> = new Set<TypeName>(['SMALLINT', 'INTEGER', 'BIGINT', 'DOUBLE', 'VARCHAR', 'BLOB', 'DATE'])

export function outputShape(output: readonly OutputColumn[]): OutputShape {
  let shape = outputShapes.get(output)
  if (shape === undefined) {
    const bigints = readsIntegersAsBigints(output.map((column) => column.type))
    const converted: number[] = []
    output.forEach((column, index) => {
      if (bigints || !unconvertedTypes.has(column.type.name)) converted.push(index)
    })
    shape = { output, columns: resultColumns(output), bigints, converted }
    outputShapes.set(output, shape)
  }
  return shape
}

const outputShapes = new WeakMap<readonly OutputColumn[], OutputShape>()

/** Row-store rows (storage values) → SPEC 3 values, in place: the arrays are the statement's own. */
export function convertRows(shape: OutputShape, rows: RowValue[][]): unknown[][] {
  const converted = shape.converted
  if (converted.length === 0) return rows as unknown[][]
  const output = shape.output
  for (let index = 0; index < rows.length; index++) {
    const row = rows[index]! as unknown[]
    for (const column of converted) row[column] = fromStorage(row[column], output[column]!.type)
  }
  return rows as unknown[][]
}

/** Row-store rows (storage values) → SPEC 3 values with their columns. */
export function shapeRows(output: readonly OutputColumn[], rows: RowValue[][]): { rows: unknown[][]; columns: readonly { name: string; type: string }[]; rowCount: number } {
  const shape = outputShape(output)
  return { rows: convertRows(shape, rows), columns: shape.columns, rowCount: rows.length }
}

/** A plan's result columns, made once per plan (plans are cached; the PostgreSQL server caches what it derives from them). */
function resultColumns(output: readonly OutputColumn[]): readonly { name: string; type: string }[] {
  let columns = resultColumnsByOutput.get(output)
  if (columns === undefined) {
    columns = Object.freeze(output.map((column) => Object.freeze(outputColumn(column))))
    resultColumnsByOutput.set(output, columns)
  }
  return columns
}

const resultColumnsByOutput = new WeakMap<readonly OutputColumn[], readonly { name: string; type: string }[]>()

export function shapeTabular(result: Tabular): { rows: unknown[][]; columns: readonly { name: string; type: string }[]; rowCount: number } {
  return { rows: result.rows, columns: result.columns, rowCount: result.rows.length }
}

/** A statement's result with its duration, rows as objects or arrays; the same keys in the same order as `{ ...result, durationMs }`. */
export function finishedResult(result: Positional, durationMs: number, rowMode: 'object' | 'array'): StatementResult | ArrayStatementResult {
  const rows = rowMode === 'array' ? result.rows : keyedRows(result.columns, result.rows)
  if (result.txId === undefined) return { rows, columns: result.columns, rowCount: result.rowCount, engine: result.engine, durationMs } as StatementResult | ArrayStatementResult
  return { rows, columns: result.columns, rowCount: result.rowCount, engine: result.engine, txId: result.txId, durationMs } as StatementResult | ArrayStatementResult
}

/** Positional rows → objects keyed by column name (SPEC 3's rows); of two columns with one name, the later wins. */
function keyedRows(columns: readonly { readonly name: string }[], rows: readonly unknown[][]): Record<string, unknown>[] {
  const keyed: Record<string, unknown>[] = new Array(rows.length)
  for (let index = 0; index < rows.length; index++) {
    const row = rows[index]!
    const record: Record<string, unknown> = {}
    for (let column = 0; column < columns.length; column++) record[columns[column]!.name] = row[column]
    keyed[index] = record
  }
  return keyed
}
