/**
 * Random tables (with or without a primary key, single or composite, NOT NULL columns) and their
 * rows, as CREATE TABLE and INSERT text; and how a statement's answer is taken from a store and
 * compared with another's (SPEC 3's JS values; a multiset unless ORDER BY fixes the order).
 */
import { StrataError, type Database } from '../../src/index.js'
import type { Column } from './expressions.js'
import type { Random } from './random.js'
import { canonical, expectedJs, literalSql, parameterValue, randomType, randomValue, shown, typeSql, type FuzzType, type Value, type ValueOptions } from './values.js'

export interface Table {
  readonly name: string
  readonly columns: readonly Column[]
  /** Primary-key column names; null: no primary key (a hidden row id). */
  readonly primaryKey: readonly string[] | null
  readonly rows: readonly (readonly Value[])[]
}

/** Types a primary key is made of: ones whose equality both stores and the model agree on exactly. */
const keyTypes: readonly FuzzType['kind'][] = ['SMALLINT', 'INTEGER', 'BIGINT', 'TEXT', 'VARCHAR', 'DATE', 'TIMESTAMP', 'BOOLEAN']

export function randomTable(random: Random, name: string, options: ValueOptions & { readonly rowsMax: number }): Table {
  const columnCount = random.int(2, 6)
  const columns: Column[] = []
  for (let index = 0; index < columnCount; index++) columns.push({ name: `c${index}`, type: randomType(random), notNull: random.chance(0.2) })
  let primaryKey: string[] | null = null
  const keyChoice = random.float()
  if (keyChoice < 0.5) {
    const type: FuzzType = { kind: random.chance(0.6) ? 'INTEGER' : random.pick(keyTypes) }
    columns.unshift({ name: 'k', type, notNull: true })
    primaryKey = ['k']
  } else if (keyChoice < 0.65) {
    columns.unshift({ name: 'k1', type: { kind: random.pick(keyTypes) }, notNull: true }, { name: 'k2', type: { kind: random.pick(keyTypes) }, notNull: true })
    primaryKey = ['k1', 'k2']
  }
  const rows: Value[][] = []
  const keys = new Set<string>()
  const target = random.int(0, options.rowsMax)
  for (let attempt = 0; rows.length < target && attempt < target * 4; attempt++) {
    const row = columns.map((column) => {
      const value = randomValue(random, column.type, options)
      return column.notNull || random.chance(0.85) ? value : null
    })
    if (primaryKey !== null) {
      const key = primaryKey.map((name) => canonical(expectedJs(row[columns.findIndex((column) => column.name === name)]!))).join('|')
      if (keys.has(key)) continue
      keys.add(key)
    } else if (rows.length > 0 && random.chance(0.1)) {
      // Without a key, an exact duplicate row now and then (the multiset comparison must count it).
      rows.push([...random.pick(rows)])
      continue
    }
    rows.push(row)
  }
  return { name, columns, primaryKey, rows }
}

export function createSql(table: Table): string {
  const columns = table.columns.map((column) => `${column.name} ${typeSql(column.type)}${column.notNull && table.primaryKey?.includes(column.name) !== true ? ' NOT NULL' : ''}`)
  if (table.primaryKey !== null) columns.push(`PRIMARY KEY (${table.primaryKey.join(', ')})`)
  return `CREATE TABLE ${table.name} (${columns.join(', ')})`
}

/** The rows as INSERT statements of up to 8 rows each, with literals or (`parameters`) as $n. */
export function insertStatements(table: Table, parameters: (chunk: number) => boolean): { sql: string; params: unknown[] }[] {
  const statements: { sql: string; params: unknown[] }[] = []
  for (let start = 0, chunk = 0; start < table.rows.length; start += 8, chunk++) {
    const rows = table.rows.slice(start, start + 8)
    const params: unknown[] = []
    const byParameters = parameters(chunk)
    const values = rows.map((row) => `(${row.map((value, index) => {
      if (!byParameters) return literalSql(value, table.columns[index]!.type)
      params.push(parameterValue(value))
      return `$${params.length}`
    }).join(', ')})`)
    statements.push({ sql: `INSERT INTO ${table.name} VALUES ${values.join(', ')}`, params })
  }
  return statements
}

/** A self-contained SQL script of the table and its rows (literals only), for a reproduction. */
export function tableScript(table: Table): string {
  return [createSql(table), ...insertStatements(table, () => false).map((statement) => statement.sql)].map((sql) => `${sql};`).join('\n')
}

export async function createTable(db: Database, table: Table, parameters: (chunk: number) => boolean): Promise<void> {
  await db.query(createSql(table))
  for (const statement of insertStatements(table, parameters)) await db.query(statement.sql, statement.params)
}

// ───────────────────────────── answers ─────────────────────────────

export type Answer =
  | { readonly ok: true; readonly columns: readonly string[]; readonly types: readonly string[]; readonly rows: readonly (readonly unknown[])[] }
  | { readonly ok: false; readonly code: string; readonly message: string }

/** A statement forced onto one store: its rows as value arrays, or its error code. */
export async function answer(db: Database, sql: string, params: readonly unknown[], engine: 'row' | 'column', branch?: string): Promise<Answer> {
  try {
    const result = await db.query(sql, params as unknown[], branch === undefined ? { engine } : { engine, branch })
    const names = result.columns.map((column) => column.name)
    return { ok: true, columns: names, types: result.columns.map((column) => column.type), rows: result.rows.map((row) => names.map((name) => row[name])) }
  } catch (error) {
    if (error instanceof StrataError) return { ok: false, code: error.code, message: error.message }
    return { ok: false, code: `CRASH(${error instanceof Error ? error.name : typeof error})`, message: error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error) }
  }
}

export function rowKey(row: readonly unknown[]): string {
  return row.map(canonical).join(' | ')
}

/**
 * Whether two answers agree: the same error code, or the same columns, types and rows (in order
 * when `ordered`, else as multisets). Returns a description of the difference, or undefined.
 */
export function difference(left: Answer, right: Answer, ordered: boolean): string | undefined {
  if (!left.ok || !right.ok) {
    if (!left.ok && !right.ok) return left.code === right.code ? undefined : `different errors: ${left.code} vs ${right.code}`
    return `one store fails (${!left.ok ? left.code : (right as { code: string }).code}), the other answers`
  }
  if (left.columns.join(',') !== right.columns.join(',')) return `different columns: ${left.columns.join(',')} vs ${right.columns.join(',')}`
  if (left.types.join(',') !== right.types.join(',')) return `different column types: ${left.types.join(',')} vs ${right.types.join(',')}`
  const leftRows = left.rows.map(rowKey)
  const rightRows = right.rows.map(rowKey)
  if (!ordered) {
    leftRows.sort()
    rightRows.sort()
  }
  if (leftRows.length !== rightRows.length) return `${leftRows.length} rows vs ${rightRows.length} rows`
  for (let index = 0; index < leftRows.length; index++) {
    if (leftRows[index] !== rightRows[index]) return `${ordered ? `row ${index}` : 'rows'} differ: ${leftRows[index]} vs ${rightRows[index]}`
  }
  return undefined
}

/** An answer for a report: the error, or up to 12 rows. */
export function describeAnswer(result: Answer): string {
  if (!result.ok) return `error ${result.code}: ${result.message.split('\n')[0]}`
  const lines = result.rows.slice(0, 12).map((row) => `    (${row.map(shown).join(', ')})`)
  if (result.rows.length > 12) lines.push(`    … ${result.rows.length - 12} more`)
  return `${result.rows.length} row(s) [${result.columns.map((name, index) => `${name} ${result.types[index]}`).join(', ')}]${lines.length > 0 ? `\n${lines.join('\n')}` : ''}`
}

/** The answer the model expects for `SELECT * FROM t` of these rows. */
export function modelAnswer(rows: readonly (readonly Value[])[]): readonly string[] {
  return rows.map((row) => rowKey(row.map(expectedJs))).sort()
}
