/**
 * What the row-store compilers produce, shared by rowsql.ts, rowgroup.ts and fulltext.ts: a plan's
 * SQLite text, how each `?` gets its value, and its result columns. Types only, so the compilers
 * depend on this module and not on each other in a circle.
 */
import type { PgNode } from './parse.js'
import type { SqlType } from './types.js'

/** A value SQLite gets: what the row store binds and stores. */
export type BoundValue = null | number | bigint | string | Uint8Array

/**
 * A bound value that a plan template (src/sql/fingerprint.ts) computes from a constant of the
 * statement: `compute` is the compiler's own code from that constant to the value, so calling it on
 * another statement's constant in `slot` gives what compiling that statement would have bound.
 */
export interface LiteralBinding {
  readonly slot: number
  readonly compute: (constant: PgNode) => BoundValue
}

/** How one `?` of the compiled SQL gets its value at execution time. */
export type Binder =
  /** `literal`: only in a plan compiled as a template, when the value comes from a constant. */
  | { readonly kind: 'value'; readonly value: BoundValue; readonly literal?: LiteralBinding }
  /**
   * `fulltextColumns`: the value is a full-text query over an index of these columns, checked when bound.
   * `rowCount`: the value is a LIMIT or OFFSET count, refused when negative (checkRowCount).
   * `textOnly`: the value is compared with text, refused unless it is text (checkTextParameter).
   * `compare`: the value is compared with a column of `type` (comparisonParameter), not assigned to one.
   */
  | { readonly kind: 'param'; readonly index: number; readonly type: SqlType | undefined; readonly fulltextColumns?: readonly string[]; readonly rowCount?: true; readonly textOnly?: true; readonly compare?: boolean }
  | { readonly kind: 'now'; readonly type: SqlType }
  /** A period bound of a time-travel reference, evaluated per execution (src/sql/temporal.ts). */
  | { readonly kind: 'slot'; readonly slot: number }

export interface OutputColumn {
  readonly name: string
  readonly type: SqlType
  /** The type name results report when it is not typeLabel(type) (a sum of integers is DuckDB's HUGEINT). */
  readonly label?: string
}

export interface RowPlan {
  readonly sql: string
  readonly binders: readonly Binder[]
  /** Result columns with their types (for reads and RETURNING); empty for writes without RETURNING. */
  readonly output: readonly OutputColumn[]
  /** The table it reads or writes. */
  readonly table: string
}
