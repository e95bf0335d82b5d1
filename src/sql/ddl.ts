/**
 * DDL trees → catalog definitions, and the SQLite DDL for a definition. Pure: no I/O.
 */
import { StrataError } from '../util/errors.js'
import { findColumn, keyColumn, historyTableName, openTxColumn, openTxIndexName, openUpdatedColumn, openWriterSql, openValidFromColumn, openVersionColumn, rowIdColumn, type ColumnDefinition, type DefaultValue, type Catalog, type IndexDefinition, type TableDefinition } from './catalog.js'
import type { PgNode } from './parse.js'
import { compileCheck } from './rowsql.js'
import { constantValue, list, names, nodeBody, nodeKind, quoteIdentifier, stringValue, walk } from './tree.js'
import { sqliteStorage, toStorage, typeFromNames, typeLabel, type SqlType } from './types.js'

const reservedPrefix = '_strata'

/** Constraint kinds as SQL spells them (`CONSTR_FOREIGN` is FOREIGN KEY), for messages. */
const constraintNames: Readonly<Record<string, string>> = {
  CONSTR_FOREIGN: 'FOREIGN KEY',
  CONSTR_EXCLUSION: 'EXCLUDE',
  CONSTR_GENERATED: 'GENERATED ALWAYS AS',
  CONSTR_IDENTITY: 'GENERATED AS IDENTITY',
  CONSTR_ATTR_DEFERRABLE: 'DEFERRABLE',
  CONSTR_ATTR_NOT_DEFERRABLE: 'NOT DEFERRABLE',
  CONSTR_ATTR_DEFERRED: 'INITIALLY DEFERRED',
  CONSTR_ATTR_IMMEDIATE: 'INITIALLY IMMEDIATE',
  CONSTR_PRIMARY: 'PRIMARY KEY',
  CONSTR_UNIQUE: 'UNIQUE',
  CONSTR_CHECK: 'CHECK',
  CONSTR_NOTNULL: 'NOT NULL',
  CONSTR_NULL: 'NULL',
  CONSTR_DEFAULT: 'DEFAULT',
}

function constraintName(kind: unknown): string {
  return constraintNames[String(kind)] ?? String(kind).replace(/^CONSTR_/, '').replaceAll('_', ' ')
}

export function checkUserName(name: string, what: string): void {
  if (name.startsWith(reservedPrefix) || name.startsWith('_system_') || name.startsWith('_valid_') || name.startsWith('_tx_')) {
    throw new StrataError('SYNTAX_ERROR', `${what} name "${name}" is reserved for Strata's own use`)
  }
}

export function columnTypeOf(typeNameNode: unknown): SqlType {
  const typeName = (typeNameNode ?? {}) as PgNode
  if (list(typeName['arrayBounds']).length > 0) throw new StrataError('NOT_SUPPORTED', 'array column types are not supported')
  const modifiers = list(typeName['typmods']).map((modifier) => Number(constantValue(nodeBody(modifier, 'A_Const') ?? {}).value))
  return typeFromNames(names(typeName['names']), modifiers)
}

function defaultOf(expression: unknown, type: SqlType, column: string): DefaultValue {
  let node = expression
  if (nodeKind(node) === 'TypeCast') node = nodeBody(node, 'TypeCast')!['arg']
  const kind = nodeKind(node)
  if (kind === 'A_Const') {
    const { value } = constantValue(nodeBody(node, 'A_Const')!)
    let stored = value === null ? null : (value as number | string | boolean)
    // A DECIMAL default keeps the literal's exact digits (constantValue reads them as a double).
    const fval = (nodeBody(node, 'A_Const')!['fval'] as PgNode | undefined)?.['fval']
    if (type.name === 'DECIMAL' && typeof fval === 'string') stored = fval
    toStorage(stored, type)
    return { kind: 'value', value: typeof stored === 'bigint' ? Number(stored) : stored }
  }
  if (kind === 'SQLValueFunction' && nodeBody(node, 'SQLValueFunction')!['op'] === 'SVFOP_CURRENT_TIMESTAMP') return { kind: 'now' }
  if (kind === 'FuncCall' && names(nodeBody(node, 'FuncCall')!['funcname']).join('.').endsWith('now')) return { kind: 'now' }
  throw new StrataError('NOT_SUPPORTED', `DEFAULT for column "${column}" must be a constant or now()/CURRENT_TIMESTAMP`)
}

/** CREATE TABLE → a definition (without schemaTx, which the ledger assigns). */
export function tableFromCreate(create: PgNode): Omit<TableDefinition, 'schemaTx'> {
  const relation = nodeBody({ RangeVar: create['relation'] }, 'RangeVar')!
  const name = String(relation['relname'])
  checkUserName(name, 'table')
  if (list(create['inhRelations']).length > 0) throw new StrataError('NOT_SUPPORTED', 'CREATE TABLE … INHERITS')
  if (create['partspec'] !== undefined) throw new StrataError('NOT_SUPPORTED', 'partitioned tables')
  const columns: ColumnDefinition[] = []
  let primaryKey: string[] | null = null
  const uniques: string[][] = []
  const checkNodes: { node: unknown; source: string }[] = []
  const setPrimaryKey = (keys: string[]): void => {
    if (primaryKey !== null) throw new StrataError('SYNTAX_ERROR', `multiple primary keys for table "${name}" are not allowed`)
    primaryKey = keys
  }
  for (const element of list(create['tableElts'])) {
    const columnDef = nodeBody(element, 'ColumnDef')
    if (columnDef !== undefined) {
      const columnName = String(columnDef['colname'])
      checkUserName(columnName, 'column')
      if (columns.some((column) => column.name === columnName)) throw new StrataError('DUPLICATE_COLUMN', `column "${columnName}" specified more than once`)
      const type = columnTypeOf(columnDef['typeName'])
      let notNull = false
      let fallback: DefaultValue | undefined
      for (const constraintNode of list(columnDef['constraints'])) {
        const constraint = nodeBody(constraintNode, 'Constraint')!
        switch (constraint['contype']) {
          case 'CONSTR_NOTNULL':
            notNull = true
            break
          case 'CONSTR_NULL':
            break
          case 'CONSTR_PRIMARY':
            setPrimaryKey([columnName])
            notNull = true
            break
          case 'CONSTR_UNIQUE':
            uniques.push([columnName])
            break
          case 'CONSTR_DEFAULT':
            fallback = defaultOf(constraint['raw_expr'], type, columnName)
            break
          case 'CONSTR_CHECK':
            checkNodes.push({ node: constraint['raw_expr'], source: `CHECK on ${columnName}` })
            break
          default:
            throw new StrataError('NOT_SUPPORTED', `the column constraint ${constraintName(constraint['contype'])} on "${columnName}"`)
        }
      }
      columns.push({ name: columnName, type, notNull, default: fallback })
      continue
    }
    const constraint = nodeBody(element, 'Constraint')
    if (constraint === undefined) throw new StrataError('NOT_SUPPORTED', nodeKind(element) === 'TableLikeClause' ? 'LIKE in CREATE TABLE' : 'this element of CREATE TABLE')
    const keys = list(constraint['keys']).map((key) => stringValue(key) ?? '')
    switch (constraint['contype']) {
      case 'CONSTR_PRIMARY':
        setPrimaryKey(keys)
        break
      case 'CONSTR_UNIQUE':
        uniques.push(keys)
        break
      case 'CONSTR_CHECK':
        checkNodes.push({ node: constraint['raw_expr'], source: 'CHECK' })
        break
      default:
        throw new StrataError('NOT_SUPPORTED', `the table constraint ${constraintName(constraint['contype'])}`)
    }
  }
  if (columns.length === 0) throw new StrataError('SYNTAX_ERROR', `table "${name}" must have at least one column`)
  const keyNames: string[] = [...((primaryKey ?? []) as string[]), ...uniques.flat()]
  for (const key of keyNames) {
    if (!columns.some((column) => column.name === key)) throw new StrataError('UNDEFINED_COLUMN', `column "${key}" named in a key does not exist`)
  }
  const pk = primaryKey as string[] | null
  const finalColumns = pk === null ? columns : columns.map((column) => (pk.includes(column.name) ? { ...column, notNull: true } : column))
  const draft = { name, columns: finalColumns, primaryKey: pk, uniques, checks: [] as { source: string; sqlite: string; columns: string[] }[], schemaTx: 0 }
  for (const check of checkNodes) {
    const used = new Set<string>()
    walk(check.node, (kind, body) => {
      if (kind === 'ColumnRef') used.add(names(body['fields']).at(-1) ?? '')
    })
    draft.checks.push({ source: check.source, sqlite: compileCheck(draft, check.node), columns: [...used] })
  }
  const { schemaTx: _unused, ...definition } = draft
  return definition
}

/**
 * The names PostgreSQL gives the indexes of a table's PRIMARY KEY and UNIQUE constraints (`t_pkey`,
 * `t_a_b_key`); the PostgreSQL server shows them under these names, so no other index may take one.
 */
export function constraintIndexNames(table: Pick<TableDefinition, 'name' | 'primaryKey' | 'uniques'>): { readonly primaryKey: string | undefined; readonly uniques: readonly string[] } {
  return {
    primaryKey: table.primaryKey !== null && table.primaryKey.length > 0 ? `${table.name}_pkey` : undefined,
    uniques: table.uniques.map((unique) => `${table.name}_${unique.join('_')}_key`),
  }
}

/**
 * CREATE [UNIQUE] INDEX → the index's definition, its name chosen as PostgreSQL does when the
 * statement gives none (`t_a_b_idx`, then `t_a_b_idx1`, … while `nameTaken` says the name is used).
 * Returns undefined for IF NOT EXISTS with a name already taken (nothing is to be done).
 *
 * The index is a SQLite B-tree over the key columns, ascending: an ordering, NULLS FIRST/LAST, an
 * operator class, a collation, INCLUDE columns and the access method are accepted and do not change
 * it (none changes which rows a UNIQUE index admits). What would — a WHERE (partial index), NULLS NOT
 * DISTINCT — and expressions are NOT_SUPPORTED.
 *
 * @example indexFromCreate(tree, table, (name) => existing.has(name)) // → { name: 't_a_idx', columns: ['a'], unique: false }
 */
export function indexFromCreate(create: PgNode, table: TableDefinition, nameTaken: (name: string) => boolean): IndexDefinition | undefined {
  if (create['whereClause'] !== undefined) throw new StrataError('NOT_SUPPORTED', 'partial indexes (CREATE INDEX … WHERE)')
  if (create['nulls_not_distinct'] === true) throw new StrataError('NOT_SUPPORTED', 'CREATE UNIQUE INDEX … NULLS NOT DISTINCT')
  const columns = list(create['indexParams']).map((element) => {
    const name = nodeBody(element, 'IndexElem')!['name']
    if (typeof name !== 'string') throw new StrataError('NOT_SUPPORTED', 'indexes on expressions')
    if (findColumn(table, name) === undefined) throw new StrataError('UNDEFINED_COLUMN', `column "${name}" does not exist`)
    return name
  })
  const unique = create['unique'] === true
  if (typeof create['idxname'] === 'string') {
    const name = create['idxname']
    checkUserName(name, 'index')
    if (nameTaken(name)) {
      if (create['if_not_exists'] === true) return undefined
      throw new StrataError('DUPLICATE_TABLE', `relation "${name}" already exists`)
    }
    return { name, columns, unique }
  }
  const base = `${table.name}_${columns.join('_')}_idx`
  let name = base
  for (let suffix = 1; nameTaken(name); suffix++) name = `${base}${suffix}`
  checkUserName(name, 'index')
  return { name, columns, unique }
}

/**
 * Whether a table, a view, or an index (secondary, full-text, or a constraint's as the PostgreSQL
 * server names it) in the catalog is called `name`. Case-insensitive, as SQLite's names are; the
 * row store may also hold an index made before indexes were catalogued, which the caller checks.
 */
export function catalogNameTaken(catalog: Catalog, name: string): boolean {
  const lower = name.toLowerCase()
  const same = (candidate: string | undefined): boolean => candidate !== undefined && candidate.toLowerCase() === lower
  for (const view of catalog.views.keys()) if (same(view)) return true
  for (const table of catalog.tables.values()) {
    const constraints = constraintIndexNames(table)
    if (same(table.name) || same(constraints.primaryKey) || constraints.uniques.some(same)) return true
    if ((table.indexes ?? []).some((index) => same(index.name)) || (table.fulltext ?? []).some((index) => same(index.name))) return true
  }
  return false
}

/** The row store's DDL for a secondary index. */
export function sqliteCreateIndex(table: TableDefinition, index: IndexDefinition): string {
  return `CREATE ${index.unique ? 'UNIQUE ' : ''}INDEX ${quoteIdentifier(index.name)} ON ${quoteIdentifier(table.name)} (${index.columns.map(quoteIdentifier).join(', ')})`
}

/**
 * The position of the column SQLite makes its rowid (a single-column primary key stored as INTEGER),
 * or -1. SQLite gives such a column a fresh value when it is written NULL, NOT NULL or not, so the
 * engine refuses NULL there itself ({@link nullKeyError}), as PostgreSQL and DuckDB do.
 */
export function rowidAliasIndex(table: TableDefinition): number {
  if (table.primaryKey === null || table.primaryKey.length !== 1) return -1
  const index = table.columns.findIndex((column) => column.name === table.primaryKey![0])
  return index >= 0 && sqliteStorage(table.columns[index]!.type) === 'INTEGER' ? index : -1
}

/** PostgreSQL's error for a NULL written to a NOT NULL (here: primary key) column. */
export function nullKeyError(table: TableDefinition, column: string): StrataError {
  return new StrataError('CONSTRAINT_VIOLATION', `null value in column "${column}" of relation "${table.name}" violates not-null constraint`)
}

/** The row store's DDL for a table: a STRICT table so SQLite enforces storage types. */
export function sqliteCreateTable(table: TableDefinition, options: { readonly scratch?: boolean } = {}): string {
  const parts: string[] = []
  // AUTOINCREMENT: a row id is never reused, so a history key always names one entity.
  if (table.primaryKey === null && options.scratch !== true) parts.push(`${quoteIdentifier(rowIdColumn)} INTEGER PRIMARY KEY AUTOINCREMENT`)
  for (const column of table.columns) {
    parts.push(`${quoteIdentifier(column.name)} ${sqliteStorage(column.type)}${column.notNull ? ' NOT NULL' : ''}`)
  }
  // The open version's own columns (docs/time-model.md, "The row store's layout"), filled by the ledger's functions.
  if (options.scratch !== true) parts.push(...openVersionColumnsSql)
  if (table.primaryKey !== null) parts.push(`PRIMARY KEY (${table.primaryKey.map(quoteIdentifier).join(', ')})`)
  for (const unique of table.uniques) parts.push(`UNIQUE (${unique.map(quoteIdentifier).join(', ')})`)
  for (const check of table.checks) parts.push(`CHECK (${check.sqlite})`)
  // A scratch table (TEMP, no keys) checks values against the table's types and constraints.
  if (options.scratch === true) return `CREATE TEMP TABLE IF NOT EXISTS ${quoteIdentifier(table.name)} (${parts.join(', ')}) STRICT`
  return `CREATE TABLE ${quoteIdentifier(table.name)} (${parts.join(', ')}) STRICT`
}

/**
 * The hidden columns of a table's row: its open version's number and transaction come from the
 * ledger's SQL functions (src/ledger/ledger.ts) whenever an INSERT does not name them.
 */
export const openVersionColumnsSql: readonly string[] = [
  `${quoteIdentifier(openVersionColumn)} INTEGER NOT NULL DEFAULT (strata_version())`,
  `${quoteIdentifier(openTxColumn)} INTEGER NOT NULL DEFAULT (strata_tx())`,
  `${quoteIdentifier(openUpdatedColumn)} INTEGER`,
  `${quoteIdentifier(openValidFromColumn)} INTEGER`,
]

/**
 * The index of a table's rows by the transaction that inserted them. With history's index by `_tx_to`
 * it finds the rows a range of commits wrote ({@link writtenInRangeSql}); an UPDATE, which changes
 * `_strata_updated` but not `_strata_tx`, leaves it alone.
 */
export function sqliteCreateOpenTxIndex(table: string): string {
  return `CREATE INDEX ${quoteIdentifier(openTxIndexName(table))} ON ${quoteIdentifier(table)} (${quoteIdentifier(openTxColumn)})`
}

/**
 * A condition on the table's row `alias` (rowid table) that holds when its open version was written by
 * a transaction in (fromTx, toTx]; its `?` take `writtenInRangeParams(fromTx, toTx)`. Such a row was
 * inserted in the range (the index by inserting transaction), or its key had a version closed in the
 * range (an UPDATE closes the version it supersedes; history's index by `_tx_to`, then the table by
 * key): every UPDATE that writes a row's open version closes the one before, unless this transaction
 * wrote that one too, which was then itself inserted or closed one in the range; an UPDATE that changes
 * the key marks the row inserted (the history triggers).
 */
export function writtenInRangeSql(table: TableDefinition, alias: string): string {
  const name = `main.${quoteIdentifier(table.name)}`
  const history = `main.${quoteIdentifier(historyTableName(table.name))}`
  const inserted = quoteIdentifier(openTxColumn)
  const written = openWriterSql(alias)
  return (
    `${written} > ? AND ${written} <= ? AND ${alias}.rowid IN (` +
    // UNION ALL: IN ignores a rowid found twice, and UNION would sort both lists to drop it (a fifth
    // of the read for a 4,600-row commit of a 300K-row table, a temporary script).
    `SELECT rowid FROM ${name} WHERE ${inserted} > ? AND ${inserted} <= ? UNION ALL ` +
    `SELECT _strata_keyed.rowid FROM ${history} AS _strata_closed JOIN ${name} AS _strata_keyed ON ${keyMatch(table, '_strata_keyed', '_strata_closed')} ` +
    `WHERE _strata_closed._tx_to > ? AND _strata_closed._tx_to <= ?)`
  )
}

/**
 * Whether a commit after the bound (`?`, three times) changed `table`: a row inserted after it (the
 * index by inserting transaction), a version closed after it (an UPDATE or DELETE; history's index by
 * `_tx_to`) or a version written after it into history (a valid-time write; by `_tx_from`). Three
 * index probes, whatever the table's size. One row, 1 or 0.
 */
export function changedSinceSql(table: TableDefinition): string {
  const name = `main.${quoteIdentifier(table.name)}`
  const history = `main.${quoteIdentifier(historyTableName(table.name))}`
  return (
    `SELECT EXISTS (SELECT 1 FROM ${name} WHERE ${quoteIdentifier(openTxColumn)} > ?) ` +
    `OR EXISTS (SELECT 1 FROM ${history} WHERE _tx_to > ?) OR EXISTS (SELECT 1 FROM ${history} WHERE _tx_from > ?)`
  )
}

/**
 * The statements that copy one transaction's writes to a keyed table out of the writer's transaction
 * and back into a later one (a transaction parking its writes, src/engine/transactions.ts). `?` are
 * the primary key's values in key order, after the other values each statement names.
 */
export function parkingSql(table: TableDefinition): {
  /** The keys the pending transaction (`?`, twice) wrote: rows it inserted, versions it closed. */
  readonly writtenKeys: string
  /** A key's row now: its user columns. */
  readonly row: string
  /**
   * Whether a commit in (lower, upper] wrote the key: the bounds (`?`, `?`) four times, then the key;
   * `changedSinceParams`. The upper bound leaves out the pending transaction's own writes.
   */
  readonly changedSince: string
  readonly insert: string
  /** The user columns' values, then the key. */
  readonly update: string
  readonly delete: string
} {
  const keys = table.primaryKey!
  const name = `main.${quoteIdentifier(table.name)}`
  const history = `main.${quoteIdentifier(historyTableName(table.name))}`
  const keyList = keys.map(quoteIdentifier).join(', ')
  const byKey = keys.map((column) => `${quoteIdentifier(column)} = ?`).join(' AND ')
  const columns = table.columns.map((column) => quoteIdentifier(column.name))
  return {
    writtenKeys: `SELECT ${keyList} FROM ${name} WHERE ${quoteIdentifier(openTxColumn)} = ? UNION SELECT ${keyList} FROM ${history} WHERE _tx_to = ?`,
    row: `SELECT ${columns.join(', ')} FROM ${name} WHERE ${byKey}`,
    changedSince:
      `SELECT EXISTS (SELECT 1 FROM ${name} WHERE (${quoteIdentifier(openTxColumn)} > ? AND ${quoteIdentifier(openTxColumn)} <= ? ` +
      `OR ${quoteIdentifier(openUpdatedColumn)} > ? AND ${quoteIdentifier(openUpdatedColumn)} <= ?) AND ${byKey}) ` +
      `OR EXISTS (SELECT 1 FROM ${history} WHERE (_tx_to > ? AND _tx_to <= ? OR _tx_from > ? AND _tx_from <= ?) AND ${byKey})`,
    insert: `INSERT INTO ${name} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
    update: `UPDATE ${name} SET ${columns.map((column) => `${column} = ?`).join(', ')} WHERE ${byKey}`,
    delete: `DELETE FROM ${name} WHERE ${byKey}`,
  }
}

/** The values of `parkingSql(table).changedSince` for commits in (lower, upper] and a key. */
export function changedSinceParams<T>(lower: number, upper: number, key: readonly T[]): (number | T)[] {
  return [lower, upper, lower, upper, ...key, lower, upper, lower, upper, ...key]
}

export function writtenInRangeParams(fromTx: number, toTx: number): number[] {
  return [fromTx, toTx, fromTx, toTx, fromTx, toTx]
}

/** A table row (`row`) and a history version (`version`) of the same key. */
export function keyMatch(table: TableDefinition, row: string, version: string): string {
  if (table.primaryKey === null) return `${row}.${quoteIdentifier(rowIdColumn)} = json_extract(${version}.${quoteIdentifier(keyColumn)}, '$[0]')`
  return table.primaryKey.map((column) => `${row}.${quoteIdentifier(column)} = ${version}.${quoteIdentifier(column)}`).join(' AND ')
}

/**
 * The history table: every version of every row except the open ones the table itself holds (see
 * docs/time-model.md), and the index of the table's rows by transaction.
 */
export function sqliteCreateHistory(table: TableDefinition): string[] {
  const history = quoteIdentifier(historyTableName(table.name))
  const columns = table.columns.map((column) => `${quoteIdentifier(column.name)} ${sqliteStorage(column.type)}`)
  return [
    `CREATE TABLE ${history} (_version INTEGER PRIMARY KEY, ${quoteIdentifier(keyColumn)} TEXT NOT NULL, ${columns.join(', ')}, ` +
      `_tx_from INTEGER NOT NULL, _tx_to INTEGER, _system_from INTEGER NOT NULL, _system_to INTEGER, _valid_from INTEGER NOT NULL, _valid_to INTEGER) STRICT`,
    `CREATE INDEX ${quoteIdentifier(`${historyTableName(table.name)}_from`)} ON ${history} (_tx_from)`,
    `CREATE INDEX ${quoteIdentifier(`${historyTableName(table.name)}_to`)} ON ${history} (_tx_to, ${quoteIdentifier(keyColumn)}) WHERE _tx_to IS NOT NULL`,
    // Time-travel lookups by primary key (`… FOR SYSTEM_TIME AS OF x WHERE id = ?`) read every version of a key.
    ...(table.primaryKey === null
      ? []
      : [`CREATE INDEX ${quoteIdentifier(`${historyTableName(table.name)}_key`)} ON ${history} (${table.primaryKey.map(quoteIdentifier).join(', ')}, _valid_to, _system_from, _system_to)`]),
    sqliteCreateOpenTxIndex(table.name),
  ]
}

/**
 * The index of a table's current valid-time pieces by key (history's versions not yet closed). Only
 * valid-time writes look them up, so it is made by the first one on the table (`IF NOT EXISTS`), and
 * an ordinary UPDATE of a table that never had one, which adds such a piece each time, maintains no
 * index for it.
 */
export function sqliteCreateCurrentPiecesIndex(table: string): string {
  const history = historyTableName(table)
  return `CREATE INDEX IF NOT EXISTS ${quoteIdentifier(`${history}_current`)} ON ${quoteIdentifier(history)} (${quoteIdentifier(keyColumn)}) WHERE _tx_to IS NULL`
}

/** The columns every versions relation has, in order: history's, with the user columns in the middle. */
export function versionColumnNames(table: TableDefinition): string[] {
  return ['_version', keyColumn, ...table.columns.map((column) => column.name), '_tx_from', '_tx_to', '_system_from', '_system_to', '_valid_from', '_valid_to']
}

/**
 * The open versions of a table as rows of its history's shape (`versionColumnNames`): the table's
 * rows, their system time from the ledger. A row written by the writer's own uncommitted transaction
 * has no ledger fact yet; `strata_pending_time()` gives that transaction's time there (and NULL on a
 * reader, which never sees such a row).
 */
export function openVersionsSql(table: TableDefinition): string {
  const row = '_strata_open'
  const systemFrom = `coalesce(_strata_commit.system_time_us, strata_pending_time())`
  const columns = [
    `${row}.${quoteIdentifier(openVersionColumn)} AS _version`,
    `${keyExpression(table, row)} AS ${quoteIdentifier(keyColumn)}`,
    ...table.columns.map((column) => `${row}.${quoteIdentifier(column.name)} AS ${quoteIdentifier(column.name)}`),
    `${openWriterSql(row)} AS _tx_from`,
    'NULL AS _tx_to',
    `${systemFrom} AS _system_from`,
    'NULL AS _system_to',
    `coalesce(${row}.${quoteIdentifier(openValidFromColumn)}, ${systemFrom}) AS _valid_from`,
    'NULL AS _valid_to',
  ]
  return (
    `SELECT ${columns.join(', ')} FROM main.${quoteIdentifier(table.name)} AS ${row} ` +
    `LEFT JOIN main._strata_tx AS _strata_commit ON _strata_commit.tx_id = ${openWriterSql(row)}`
  )
}

/** The closed versions and valid-time pieces of a table, in the same shape. */
export function historyVersionsSql(table: TableDefinition): string {
  return `SELECT ${versionColumnNames(table).map(quoteIdentifier).join(', ')} FROM main.${quoteIdentifier(historyTableName(table.name))}`
}

/**
 * Every version of a table, as a derived table: its history and its open versions. SQLite pushes a
 * WHERE on it into both arms, so a condition on a key column reaches their indexes, and one that
 * cannot hold in an arm (`_tx_to = ?` on the open versions) skips it. (The open versions a range of
 * commits wrote are found by {@link writtenInRangeSql}, not by a condition on `_tx_from`.)
 */
export function versionsSql(table: TableDefinition): string {
  return `(${historyVersionsSql(table)} UNION ALL ${openVersionsSql(table)})`
}

/**
 * How to spell, in JavaScript, the text {@link keyExpression} gives in SQLite for a row about to be
 * stored: a function of the row's user-column storage forms (`values` from `offset`, in the table's
 * column order) that returns the key text, or undefined for a value it cannot be sure to spell as
 * SQLite's json_array does. Only INTEGER- and TEXT-stored key columns qualify (a REAL 5 is `5.0` in
 * SQLite's JSON), text only without a quote, backslash, control character or surrogate (which JSON
 * escapes); a table without a primary key has none (its key is the row id SQLite assigns).
 *
 * @example
 * storedKeyText(table)?.([7, 'ab', 2.5], 0)  // '[7]' for a table keyed by its INTEGER first column
 */
export function storedKeyText(table: TableDefinition): ((values: readonly unknown[], offset: number) => string | undefined) | undefined {
  if (table.primaryKey === null) return undefined
  const parts: { readonly index: number; readonly integer: boolean }[] = []
  for (const name of table.primaryKey) {
    const index = table.columns.findIndex((column) => column.name === name)
    const storage = index < 0 ? undefined : sqliteStorage(table.columns[index]!.type)
    if (storage !== 'INTEGER' && storage !== 'TEXT') return undefined
    parts.push({ index, integer: storage === 'INTEGER' })
  }
  return (values, offset) => {
    let text = '['
    for (let part = 0; part < parts.length; part++) {
      const { index, integer } = parts[part]!
      const value = values[offset + index]
      if (part > 0) text += ','
      if (integer && typeof value === 'number' && Number.isSafeInteger(value)) text += String(value)
      else if (integer && typeof value === 'bigint') text += String(value)
      else if (!integer && typeof value === 'string' && plainJsonText.test(value)) text += `"${value}"`
      else return undefined
    }
    return `${text}]`
  }
}

/** Text that JSON writes between quotes as it is. */
const plainJsonText = /^[^"\\\u0000-\u001f\u007f\ud800-\udfff]*$/

/** SQLite expression of a row's key from NEW, OLD or a table alias, as a JSON array (BLOB keys as hex). */
export function keyExpression(table: TableDefinition, row: string | undefined): string {
  const keyColumns = table.primaryKey ?? [rowIdColumn]
  const parts = keyColumns.map((name) => {
    const column = findColumn(table, name)
    const reference = `${row === undefined ? '' : `${row}.`}${quoteIdentifier(name)}`
    return column !== undefined && column.type.name === 'BLOB' ? `hex(${reference})` : reference
  })
  return `json_array(${parts.join(', ')})`
}

/**
 * The triggers that turn every write into facts (docs/time-model.md, "How a commit becomes facts").
 * They are TEMP triggers on the writer connection so they can read the connection's transaction
 * context (`temp._strata_context`: the tx id and system time the ledger assigned, and `raw`, set
 * while the engine writes valid-time pieces itself and the triggers must stay out of the way).
 *
 * An INSERT needs none: the row is the new open version, its hidden columns filled by their defaults.
 * An UPDATE or DELETE moves the old open version into history, closed at this commit (unless this
 * transaction wrote it: never visible, it just goes), and re-asserts the untouched part of its valid
 * period before this commit as a bounded piece (XTDB's default valid time: a write applies from its
 * commit on). An UPDATE's row then gets a new version number and this transaction, unless the
 * statement set them itself (the compiled UPDATE does; this covers every other path).
 */
export function sqliteHistoryTriggers(table: TableDefinition): string[] {
  const name = table.name
  const history = `main.${quoteIdentifier(historyTableName(name))}`
  const target = `main.${quoteIdentifier(name)}`
  const key = quoteIdentifier(keyColumn)
  const columnList = table.columns.map((column) => quoteIdentifier(column.name)).join(', ')
  const oldValues = table.columns.map((column) => `OLD.${quoteIdentifier(column.name)}`).join(', ')
  const context = 'temp._strata_context'
  const oldKey = keyExpression(table, 'OLD')
  const oldVersion = `OLD.${quoteIdentifier(openVersionColumn)}`
  const oldTx = openWriterSql('OLD')
  // The old version's system time: this transaction's, or its writer's in the ledger.
  const oldSystemFrom = `(CASE WHEN ${oldTx} = c.tx_id THEN c.system_time_us ELSE (SELECT system_time_us FROM main._strata_tx WHERE tx_id = ${oldTx}) END)`
  const oldValidFrom = `coalesce(OLD.${quoteIdentifier(openValidFromColumn)}, ${oldSystemFrom})`
  // The untouched past of the open version, re-asserted from this commit on (empty when it starts now).
  const keepPast =
    `INSERT INTO ${history} (_version, ${key}, ${columnList}, _tx_from, _system_from, _valid_from, _valid_to) ` +
    `SELECT strata_version(), ${oldKey}, ${oldValues}, c.tx_id, c.system_time_us, ${oldValidFrom}, c.system_time_us FROM ${context} AS c WHERE ${oldValidFrom} < c.system_time_us;`
  // The open version, closed at this commit; one this transaction wrote was never visible and just goes.
  const close =
    `INSERT INTO ${history} (_version, ${key}, ${columnList}, _tx_from, _tx_to, _system_from, _system_to, _valid_from, _valid_to) ` +
    `SELECT ${oldVersion}, ${oldKey}, ${oldValues}, ${oldTx}, c.tx_id, ${oldSystemFrom}, c.system_time_us, ${oldValidFrom}, NULL FROM ${context} AS c WHERE ${oldTx} <> c.tx_id;`
  const renew =
    `UPDATE ${target} SET ${quoteIdentifier(openVersionColumn)} = strata_version(), ${quoteIdentifier(openUpdatedColumn)} = (SELECT tx_id FROM ${context}), ${quoteIdentifier(openValidFromColumn)} = NULL ` +
    `WHERE rowid = NEW.rowid AND ${quoteIdentifier(openVersionColumn)} = ${oldVersion};`
  // A row whose key changed is a new entity's first version: found as inserted by this transaction.
  const rekeyed =
    `UPDATE ${target} SET ${quoteIdentifier(openTxColumn)} = (SELECT tx_id FROM ${context}), ${quoteIdentifier(openUpdatedColumn)} = NULL ` +
    `WHERE rowid = NEW.rowid AND ${keyExpression(table, 'NEW')} IS NOT ${oldKey};`
  const trigger = (event: string): string => quoteIdentifier(`_strata_${event}_${name}`)
  const when = `WHEN (SELECT raw FROM ${context}) = 0`
  return [
    `DROP TRIGGER IF EXISTS temp.${trigger('update')}`,
    `DROP TRIGGER IF EXISTS temp.${trigger('delete')}`,
    `CREATE TEMP TRIGGER ${trigger('update')} AFTER UPDATE ON ${target} ${when} BEGIN ${keepPast} ${close} ${renew} ${rekeyed} END`,
    `CREATE TEMP TRIGGER ${trigger('delete')} AFTER DELETE ON ${target} ${when} BEGIN ${keepPast} ${close} END`,
  ]
}

/** The SET items an UPDATE of a table's rows adds: a new open version, written by this transaction. */
export const renewOpenVersionSql = `${quoteIdentifier(openVersionColumn)} = strata_version(), ${quoteIdentifier(openUpdatedColumn)} = strata_tx(), ${quoteIdentifier(openValidFromColumn)} = NULL`

export function describeType(type: SqlType): string {
  return typeLabel(type)
}
