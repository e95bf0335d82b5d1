/**
 * Valid-time writes (SPEC 6, docs/time-model.md "Valid-time writes"): INSERT with `_valid_from` /
 * `_valid_to`, UPDATE/DELETE … FOR PORTION OF VALID_TIME, INSERT OR REPLACE, writes to tables whose
 * current versions do not all cover "now", and ERASE.
 *
 * The history triggers cover ordinary writes. These writes change valid-time pieces directly: with
 * the triggers switched off (`ledger.setRawSync`), they close or remove the affected versions and
 * append the new pieces. A key's open-ended current piece is its row in the table (docs/time-model.md,
 * "The row store's layout"): closing it moves the row to history, and an open-ended piece appended
 * becomes the row.
 */
import type { RowConnection, RowValue } from '../../storage/rowstore/rowstore.js'
import type { Commit, Ledger } from '../../ledger/ledger.js'
import { findColumn, historyTableName, keyColumn, openTxColumn, openValidFromColumn, openVersionColumn, rowIdColumn, type ColumnDefinition, type TableDefinition } from '../../sql/catalog.js'
import { keyExpression, openVersionsSql, sqliteCreateCurrentPiecesIndex, sqliteCreateTable, versionsSql } from '../../sql/ddl.js'
import type { PgNode } from '../../sql/parse.js'
import { compileDelete, compileSelect, compileUpdate, compileValuesRows, defaultBinderFor, insertTarget, NotRowStore, type Binder } from '../../sql/rowsql.js'
import { evaluateInstantNode, instantFromValue, periodColumnDefinitions, rowStoreSource, type InstantContext } from '../../sql/temporal.js'
import { list, names, nodeBody, nodeKind, quoteIdentifier } from '../../sql/tree.js'
import { toStorage } from '../../sql/types.js'
import { StrataError } from '../../util/errors.js'
import { dateFromMicros, isoTimestamp } from '../../util/timestamp.js'

/** What the engine lends the valid-time writer. */
export interface TemporalHost {
  readonly writer: RowConnection
  readonly ledger: Ledger
  table(name: string): TableDefinition | undefined
  bind(binders: readonly Binder[], params: readonly unknown[]): RowValue[]
  /** Runs a SELECT for a write's source (routed like a query, inside the transaction). */
  evaluate(tree: PgNode, params: readonly unknown[]): Promise<{ readonly columns: readonly { readonly name: string }[]; readonly rows: unknown[][] }>
  /** Records that some current version of `table` may not cover "now" in valid time. */
  markFutureValidTime(table: TableDefinition): void
  instantContext(params: readonly unknown[]): InstantContext
}

interface Piece {
  readonly version: bigint
  readonly key: string
  /** User columns, storage format. */
  readonly values: RowValue[]
  readonly validFrom: bigint
  /** null = end of time: then the piece is the table's row for its key (its open version). */
  readonly validTo: bigint | null
  readonly txFrom: number
}

const validColumns = new Set(['_valid_from', '_valid_to'])

function history(table: TableDefinition): string {
  return `main.${quoteIdentifier(historyTableName(table.name))}`
}

function columnList(table: TableDefinition): string {
  return table.columns.map((column) => quoteIdentifier(column.name)).join(', ')
}

/** The columns a piece is read with, from history or from the versions relation. */
function pieceColumns(table: TableDefinition): string {
  return `_version, ${quoteIdentifier(keyColumn)}, ${columnList(table)}, _valid_from, _valid_to, _tx_from`
}

function before(left: bigint | null, right: bigint | null): boolean {
  if (left === null) return false
  return right === null || left < right
}

function minEnd(left: bigint | null, right: bigint | null): bigint | null {
  if (left === null) return right
  if (right === null) return left
  return left < right ? left : right
}

function formatMicros(us: bigint | null): string {
  if (us === null) return '∞'
  return isoTimestamp(dateFromMicros(us))
}

/** True when an INSERT names a valid-time column (and so takes the valid-time path). */
export function insertNamesValidTime(insert: PgNode): boolean {
  return list(insert['cols']).some((target) => validColumns.has(String(nodeBody(target, 'ResTarget')?.['name'])))
}

export class TemporalWriter {
  constructor(private readonly host: TemporalHost) {}

  private get writer(): RowConnection {
    return this.host.writer
  }

  private commit(): Commit {
    return this.host.ledger.pendingCommit!
  }

  private raw<T>(body: () => T): T {
    this.host.ledger.setRawSync(true)
    try {
      return body()
    } finally {
      this.host.ledger.setRawSync(false)
    }
  }

  /** The table a valid-time write names, with the index its current pieces are found by (made by the first such write). */
  private requireTable(relation: unknown): TableDefinition {
    const body = nodeBody({ RangeVar: relation }, 'RangeVar')!
    const name = String(body['relname'])
    const table = this.host.table(name)
    if (table === undefined) throw new StrataError('UNDEFINED_TABLE', `table "${name}" does not exist`)
    this.writer.execSync(sqliteCreateCurrentPiecesIndex(table.name))
    return table
  }

  // ───────────────────────────── pieces ─────────────────────────────

  /**
   * The table's row for a key, as SQL conditions on it and their values: by primary key (`values`
   * holds the key's columns, storage format), or by row id for a table without one.
   */
  private rowOf(table: TableDefinition, key: string, values: readonly RowValue[], alias: string): { where: string; params: RowValue[] } {
    const prefix = alias === '' ? '' : `${alias}.`
    if (table.primaryKey === null) return { where: `${prefix}${quoteIdentifier(rowIdColumn)} = ?`, params: [(JSON.parse(key) as [number])[0]] }
    return {
      where: table.primaryKey.map((name) => `${prefix}${quoteIdentifier(name)} = ?`).join(' AND '),
      params: table.primaryKey.map((name) => values[table.columns.findIndex((column) => column.name === name)]!),
    }
  }

  /** The current pieces of a key: its bounded ones in history and its open one, the table's row. */
  private piecesOf(table: TableDefinition, key: string, values: readonly RowValue[]): Piece[] {
    const bounded = this.writer
      .prepareSync(`SELECT ${pieceColumns(table)} FROM ${history(table)} WHERE ${quoteIdentifier(keyColumn)} = ? AND _tx_to IS NULL`, { bigints: true })
      .allSync([key])
    const row = this.rowOf(table, key, values, '_strata_open')
    const open = this.writer.prepareSync(`SELECT ${pieceColumns(table)} FROM (${openVersionsSql(table)} WHERE ${row.where})`, { bigints: true }).allSync(row.params)
    return [...bounded, ...open].map((piece) => this.piece(table, piece))
  }

  private piece(table: TableDefinition, row: RowValue[]): Piece {
    const width = table.columns.length
    return {
      version: row[0] as bigint,
      key: String(row[1]),
      values: row.slice(2, 2 + width),
      validFrom: row[2 + width] as bigint,
      validTo: row[3 + width] as bigint | null,
      txFrom: Number(row[4 + width]),
    }
  }

  /**
   * Asserts `values` for [validFrom, validTo) from this commit on: an open-ended piece becomes the
   * table's row for its key (which has none at this point), a bounded one goes to history.
   */
  private appendPiece(table: TableDefinition, key: string, values: readonly RowValue[], validFrom: bigint, validTo: bigint | null): void {
    const commit = this.commit()
    if (validTo !== null && validFrom >= validTo) return
    const version = this.host.ledger.nextVersion()
    if (validTo === null) {
      const ids = table.primaryKey === null ? [quoteIdentifier(rowIdColumn)] : []
      const idValues = table.primaryKey === null ? [(JSON.parse(key) as [number])[0]] : []
      // A row the table did not hold: inserted by this transaction (src/sql/ddl.ts writtenInRangeSql).
      const hidden = [openVersionColumn, openTxColumn, openValidFromColumn].map(quoteIdentifier)
      const columns = [...ids, columnList(table), ...hidden]
      this.writer
        .prepareSync(`INSERT INTO main.${quoteIdentifier(table.name)} (${columns.join(', ')}) VALUES (${[...ids, ...table.columns, ...hidden].map(() => '?').join(', ')})`)
        .runSync([...idValues, ...values, version, commit.txId, validFrom === commit.systemTimeUs ? null : validFrom])
    } else {
      this.writer
        .prepareSync(
          `INSERT INTO ${history(table)} (_version, ${quoteIdentifier(keyColumn)}, ${columnList(table)}, _tx_from, _system_from, _valid_from, _valid_to) VALUES (?, ?, ${table.columns.map(() => '?').join(', ')}, ?, ?, ?, ?)`,
        )
        .runSync([version, key, ...values, commit.txId, commit.systemTimeUs, validFrom, validTo])
    }
    if ((validTo === null && validFrom > commit.systemTimeUs) || (validTo !== null && validTo > commit.systemTimeUs)) this.host.markFutureValidTime(table)
  }

  /**
   * Ends a piece at this commit and re-asserts its parts outside [from, to) with the old values.
   * A piece this transaction wrote itself was never visible: it is removed instead. An open piece
   * (the table's row) is closed by moving it to history.
   */
  private supersede(table: TableDefinition, piece: Piece, from: bigint, to: bigint | null): void {
    const commit = this.commit()
    if (piece.validTo === null) {
      if (piece.txFrom !== commit.txId) {
        const systemFrom = this.host.ledger.systemTimeOfSync(this.writer, piece.txFrom)!
        this.writer
          .prepareSync(
            `INSERT INTO ${history(table)} (_version, ${quoteIdentifier(keyColumn)}, ${columnList(table)}, _tx_from, _tx_to, _system_from, _system_to, _valid_from, _valid_to) ` +
              `VALUES (?, ?, ${table.columns.map(() => '?').join(', ')}, ?, ?, ?, ?, ?, NULL)`,
          )
          .runSync([piece.version, piece.key, ...piece.values, piece.txFrom, commit.txId, systemFrom, commit.systemTimeUs, piece.validFrom])
      }
      const row = this.rowOf(table, piece.key, piece.values, '')
      this.writer.prepareSync(`DELETE FROM main.${quoteIdentifier(table.name)} WHERE ${row.where}`).runSync(row.params)
    } else if (piece.txFrom === commit.txId) {
      this.writer.prepareSync(`DELETE FROM ${history(table)} WHERE _version = ?`).runSync([piece.version])
    } else {
      this.writer.prepareSync(`UPDATE ${history(table)} SET _tx_to = ?, _system_to = ? WHERE _version = ?`).runSync([commit.txId, commit.systemTimeUs, piece.version])
    }
    if (piece.validFrom < from) this.appendPiece(table, piece.key, piece.values, piece.validFrom, minEnd(piece.validTo, from))
    if (to !== null && before(to, piece.validTo)) this.appendPiece(table, piece.key, piece.values, to, piece.validTo)
  }

  /** A TEMP copy of the table's columns and constraints, without keys, for checking and evaluating values. */
  private scratch(table: TableDefinition, withVersion: boolean): TableDefinition {
    const columns: ColumnDefinition[] = [...table.columns]
    if (withVersion) columns.push({ name: '_version', type: { name: 'BIGINT' }, notNull: false, default: undefined })
    const definition: TableDefinition = {
      ...table,
      name: `_strata_${withVersion ? 'portion' : 'check'}_${table.name}_${table.schemaTx}`,
      columns,
      primaryKey: null,
      uniques: [],
    }
    this.writer.execSync(sqliteCreateTable(definition, { scratch: true }))
    this.writer.execSync(`DELETE FROM temp.${quoteIdentifier(definition.name)}`)
    return definition
  }

  // ───────────────────────────── INSERT ─────────────────────────────

  /**
   * INSERT with explicit valid time, INSERT OR REPLACE, or an INSERT into a table with future validity.
   * Keys are unique per valid time: an overlap with a current piece of the same key is a
   * CONSTRAINT_VIOLATION, unless the statement replaces (then the new row supersedes what overlapped)
   * or says ON CONFLICT DO NOTHING (then the row is skipped).
   */
  async insert(insert: PgNode, params: readonly unknown[], replace: boolean): Promise<number> {
    const table = this.requireTable(insert['relation'])
    if (list(insert['returningList']).length > 0) throw new StrataError('NOT_SUPPORTED', 'RETURNING in a valid-time INSERT')
    const conflict = insert['onConflictClause'] as PgNode | undefined
    let skipOverlaps = false
    if (conflict !== undefined) {
      if (conflict['action'] === 'ONCONFLICT_NOTHING') skipOverlaps = true
      else {
        // DO UPDATE SET c = EXCLUDED.c for every column it names: the new row is asserted for its period.
        for (const target of list(conflict['targetList'])) {
          const body = nodeBody(target, 'ResTarget')!
          const fields = names(nodeBody(body['val'], 'ColumnRef')?.['fields'])
          if (fields.length !== 2 || fields[0] !== 'excluded' || fields[1] !== body['name']) {
            throw new StrataError('NOT_SUPPORTED', 'ON CONFLICT DO UPDATE with valid time supersedes the overlapping versions with the new row; only SET c = EXCLUDED.c is accepted')
          }
        }
        replace = true
      }
    }
    const named = list(insert['cols']).map((target) => String(nodeBody(target, 'ResTarget')!['name']))
    const fromIndex = named.indexOf('_valid_from')
    const toIndex = named.indexOf('_valid_to')
    const keep = named.map((name, index) => (validColumns.has(name) ? -1 : index)).filter((index) => index >= 0)
    const stripped: PgNode = { ...insert, cols: keep.map((index) => list(insert['cols'])[index]), onConflictClause: undefined }
    const select = nodeBody(insert['selectStmt'], 'SelectStmt')
    if (select === undefined) throw new StrataError('NOT_SUPPORTED', 'INSERT … DEFAULT VALUES')
    const strippedSelect: PgNode = {
      ...select,
      valuesLists: list(select['valuesLists']).map((row) => ({ List: { items: keep.map((index) => list(nodeBody(row, 'List')?.['items'])[index]) } })),
    }
    if (named.length === 0) strippedSelect['valuesLists'] = select['valuesLists']
    stripped['selectStmt'] = { SelectStmt: strippedSelect }
    const target = insertTarget(stripped, { table: (name) => (name === table.name ? table : undefined) })
    const context = this.host.instantContext(params)
    const rows: { values: RowValue[]; validFrom: bigint | null; validTo: bigint | null }[] = []
    const fast = list(select['valuesLists']).length > 0 ? compileValuesRows(stripped, target) : undefined
    if (fast !== undefined) {
      const valuesLists = list(select['valuesLists'])
      fast.forEach((binders, index) => {
        const items = list(nodeBody(valuesLists[index], 'List')?.['items'])
        rows.push({
          values: this.host.bind(binders, params),
          validFrom: fromIndex < 0 ? null : this.validValue(items[fromIndex], context, '_valid_from'),
          validTo: toIndex < 0 ? null : this.validValue(items[toIndex], context, '_valid_to'),
        })
      })
    } else {
      const evaluated = await this.host.evaluate({ SelectStmt: select }, params)
      const width = named.length === 0 ? table.columns.length : named.length
      if (evaluated.columns.length !== width) throw new StrataError('SYNTAX_ERROR', `INSERT has ${width} target columns but the query returns ${evaluated.columns.length}`)
      for (const row of evaluated.rows) {
        const byName = new Map<string, Binder>()
        target.columns.forEach((name, position) => {
          const column = findColumn(table, name)!
          byName.set(name, { kind: 'value', value: toStorage(row[named.length === 0 ? position : keep[position]!], column.type) })
        })
        const binders = table.columns.map((column) => byName.get(column.name) ?? defaultBinderFor(table, column.name))
        rows.push({
          values: this.host.bind(binders, params),
          validFrom: fromIndex < 0 ? null : instantFromValue(row[fromIndex], context, '_valid_from'),
          validTo: toIndex < 0 ? null : instantFromValue(row[toIndex], context, '_valid_to'),
        })
      }
    }
    return this.raw(() => {
      let count = 0
      for (const row of rows) if (this.insertRow(table, row.values, row.validFrom ?? this.commit().systemTimeUs, row.validTo, replace, skipOverlaps)) count++
      return count
    })
  }

  private validValue(node: unknown, context: InstantContext, label: string): bigint | null {
    if (nodeKind(node) === 'SetToDefault') return null
    return evaluateInstantNode(node, context, label)
  }

  private insertRow(table: TableDefinition, values: RowValue[], validFrom: bigint, validTo: bigint | null, replace: boolean, skipOverlaps: boolean): boolean {
    if (validTo !== null && validFrom >= validTo) {
      throw new StrataError('CONSTRAINT_VIOLATION', `the valid period [${formatMicros(validFrom)}, ${formatMicros(validTo)}) is empty: _valid_from must precede _valid_to`)
    }
    let key: string
    if (table.primaryKey === null) {
      // A table without a primary key: every INSERT is a new entity with a fresh row id.
      const id = this.writer.prepareSync(`INSERT INTO main.${quoteIdentifier(table.name)} (${columnList(table)}) VALUES (${table.columns.map(() => '?').join(', ')}) RETURNING ${quoteIdentifier(rowIdColumn)}`).allSync(values)[0]![0]
      key = `[${String(id)}]`
      this.writer.prepareSync(`DELETE FROM main.${quoteIdentifier(table.name)} WHERE ${quoteIdentifier(rowIdColumn)} = ?`).runSync([id!])
    } else {
      const check = this.scratch(table, false)
      key = String(
        this.writer
          .prepareSync(`INSERT INTO temp.${quoteIdentifier(check.name)} (${columnList(table)}) VALUES (${table.columns.map(() => '?').join(', ')}) RETURNING ${keyExpression(table, undefined)}`)
          .allSync(values)[0]![0],
      )
      this.writer.execSync(`DELETE FROM temp.${quoteIdentifier(check.name)}`)
    }
    const overlapping = this.piecesOf(table, key, values).filter((piece) => before(piece.validFrom, validTo) && before(validFrom, piece.validTo))
    if (overlapping.length > 0) {
      if (skipOverlaps) return false
      if (!replace) {
        const first = overlapping[0]!
        throw new StrataError(
          'CONSTRAINT_VIOLATION',
          `duplicate key ${key} in table "${table.name}": a version is already valid over [${formatMicros(first.validFrom)}, ${formatMicros(first.validTo)}), which overlaps [${formatMicros(validFrom)}, ${formatMicros(validTo)})`,
        )
      }
      for (const piece of overlapping) this.supersede(table, piece, validFrom, validTo)
    }
    this.appendPiece(table, key, values, validFrom, validTo)
    return true
  }

  // ───────────────────────────── UPDATE / DELETE ─────────────────────────────

  /**
   * UPDATE or DELETE over the valid period [from, to) (to null = end of time): every current piece
   * that overlaps it and satisfies WHERE is split; the part inside gets the new values (UPDATE) or
   * none (DELETE), the parts outside keep the old ones.
   */
  portion(kind: 'UpdateStmt' | 'DeleteStmt', body: PgNode, params: readonly unknown[], from: bigint, to: bigint | null): number {
    const table = this.requireTable(body['relation'])
    if (list(body['returningList']).length > 0) throw new StrataError('NOT_SUPPORTED', 'RETURNING in a valid-time UPDATE or DELETE')
    if (to !== null && from >= to) {
      throw new StrataError('CONSTRAINT_VIOLATION', `FOR PORTION OF VALID_TIME FROM ${formatMicros(from)} TO ${formatMicros(to)} is an empty period: FROM must precede TO`)
    }
    return this.raw(() => {
      const candidates = this.writer
        .prepareSync(
          `SELECT ${pieceColumns(table)} FROM ${versionsSql(table)} AS v WHERE _tx_to IS NULL AND (_valid_to IS NULL OR _valid_to > ?)${to === null ? '' : ' AND _valid_from < ?'}`,
          { bigints: true },
        )
        .allSync(to === null ? [from] : [from, to])
        .map((row) => this.piece(table, row))
      if (candidates.length === 0) return 0
      const scratch = this.scratch(table, true)
      const byVersion = new Map(candidates.map((piece) => [piece.version, piece]))
      const load = this.writer.prepareSync(`INSERT INTO temp.${quoteIdentifier(scratch.name)} (${columnList(table)}, _version) VALUES (${table.columns.map(() => '?').join(', ')}, ?)`)
      for (const piece of candidates) load.runSync([...piece.values, piece.version])
      // The user's SET and WHERE, evaluated by SQLite on the scratch copy of the pieces.
      const relation = nodeBody({ RangeVar: body['relation'] }, 'RangeVar')!
      const aliased: PgNode = { ...relation, alias: relation['alias'] ?? { aliasname: table.name } }
      const tree: PgNode = { ...body, relation: aliased, returningList: [{ ResTarget: { val: { ColumnRef: { fields: [{ A_Star: {} }] } } } }] }
      const resolver = { table: (name: string) => (name === table.name ? scratch : undefined) }
      let plan
      try {
        plan = kind === 'UpdateStmt' ? compileUpdate(tree, resolver) : compileDelete(tree, resolver)
      } catch (error) {
        if (error instanceof NotRowStore) throw new StrataError('NOT_SUPPORTED', `a valid-time ${kind === 'UpdateStmt' ? 'UPDATE' : 'DELETE'} with ${error.construct}`)
        throw error
      }
      const changed = this.writer.prepareSync(plan.sql, { bigints: true }).allSync(this.host.bind(plan.binders, params))
      this.writer.execSync(`DELETE FROM temp.${quoteIdentifier(scratch.name)}`)
      const width = table.columns.length
      for (const row of changed) {
        const piece = byVersion.get(row[width] as bigint)!
        const values = row.slice(0, width)
        if (kind === 'UpdateStmt') {
          for (const keyName of table.primaryKey ?? []) {
            const index = table.columns.findIndex((column) => column.name === keyName)
            if (!sameValue(values[index], piece.values[index])) throw new StrataError('NOT_SUPPORTED', 'changing a primary key in a valid-time UPDATE (delete and insert instead)')
          }
        }
        this.supersede(table, piece, from, to)
        if (kind === 'UpdateStmt') {
          const start = piece.validFrom > from ? piece.validFrom : from
          this.appendPiece(table, piece.key, values, start, minEnd(piece.validTo, to))
        }
      }
      return changed.length
    })
  }

  // ───────────────────────────── ERASE ─────────────────────────────

  /**
   * ERASE FROM t WHERE …: an entity matches when any of its versions, at any system or valid time,
   * satisfies the condition; all its versions go, from history and from the table. What remains is
   * the record in `_strata_erasures` (table, transaction, how many entities and versions).
   */
  erase(body: PgNode, params: readonly unknown[]): number {
    const table = this.requireTable(body['relation'])
    if (list(body['returningList']).length > 0) throw new StrataError('NOT_SUPPORTED', 'RETURNING in ERASE')
    if (list(body['usingClause']).length > 0) throw new StrataError('NOT_SUPPORTED', 'ERASE … USING')
    const relation = nodeBody({ RangeVar: body['relation'] }, 'RangeVar')!
    const select: PgNode = {
      targetList: [{ ResTarget: { val: { ColumnRef: { fields: [{ String: { sval: keyColumn } }] } } } }],
      fromClause: [{ RangeVar: relation }],
      whereClause: body['whereClause'],
      limitOption: 'LIMIT_OPTION_DEFAULT',
      op: 'SETOP_NONE',
    }
    const reference = { location: 0, nameLength: 0, table, alias: undefined, spec: { system: { kind: 'all' as const }, valid: { kind: 'all' as const } }, slot: 0 }
    let plan
    try {
      plan = compileSelect(select, {
        table: (name) => this.host.table(name),
        temporal: () => {
          const source = rowStoreSource(reference, [keyColumn])
          return { table, sql: source.sql, slots: source.slots, hidden: [...periodColumnDefinitions, { name: keyColumn, type: { name: 'VARCHAR' }, notNull: true, default: undefined }] }
        },
      })
    } catch (error) {
      if (error instanceof NotRowStore) throw new StrataError('NOT_SUPPORTED', `ERASE with ${error.construct}`)
      throw error
    }
    const keys = [...new Set(this.writer.prepareSync(plan.sql).allSync(this.host.bind(plan.binders, params)).map((row) => String(row[0])))]
    if (keys.length === 0) return 0
    return this.raw(() => {
      this.writer.execSync('PRAGMA secure_delete = ON')
      try {
        // One pass over each: the table's rows (open versions) and history, by key.
        const erased = JSON.stringify(keys)
        const rows = this.writer
          .prepareSync(`DELETE FROM main.${quoteIdentifier(table.name)} WHERE ${keyExpression(table, undefined)} IN (SELECT value FROM json_each(?))`)
          .runSync([erased]).changes
        const versions = this.writer.prepareSync(`DELETE FROM ${history(table)} WHERE ${quoteIdentifier(keyColumn)} IN (SELECT value FROM json_each(?))`).runSync([erased]).changes
        const commit = this.commit()
        this.writer.prepareSync('INSERT INTO _strata_erasures (tx_id, table_name, entities, versions) VALUES (?, ?, ?, ?)').runSync([commit.txId, table.name, keys.length, rows + versions])
        return keys.length
      } finally {
        this.writer.execSync('PRAGMA secure_delete = OFF')
      }
    })
  }
}

function sameValue(left: RowValue | undefined, right: RowValue | undefined): boolean {
  if (left instanceof Uint8Array && right instanceof Uint8Array) return Buffer.from(left).equals(Buffer.from(right))
  return left === right
}
