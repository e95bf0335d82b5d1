/**
 * Persisted query results (the HTTP API's `result_id`s): where they live in the column store and how
 * SQL reads one as `strata.results."<id>"`. The HTTP API writes them (src/interfaces/server/http/results.ts);
 * the engine only reads them, so the layout is defined here, below both.
 *
 * Layout: two shared DuckDB tables, not one table per result — a catalog entry per result managed a
 * few hundred results a second, and a flood of small queries outran it.
 *
 * - `strata_results.results`: one row per result — id, columns (a JSON array of `{name, type, nullable}`),
 *   row count, execution time.
 * - `strata_results.result_rows`: one row per result row — id, ordinal, and the row as a JSON array
 *   encoded as the HTTP API encodes values (src/interfaces/server/http/encode.ts).
 *
 * Ids sort by creation time and results are appended in that order, so DuckDB's zone maps on
 * `result_id` skip every row group but a result's own. Reading casts each JSON element back to its
 * column's type; nested and unusual types stay JSON.
 */

export const resultsSchema = 'strata_results'
export const resultsTable = `${resultsSchema}.results`
export const resultRowsTable = `${resultsSchema}.result_rows`

/** A persisted result's column, as kept in `strata_results.results.columns`. */
export interface PersistedColumn {
  readonly name: string
  readonly type: string
  readonly nullable?: boolean
}

/** The statements that create the two tables; each is idempotent. */
export const resultsDdl: readonly string[] = [
  `CREATE SCHEMA IF NOT EXISTS ${resultsSchema}`,
  `CREATE TABLE IF NOT EXISTS ${resultsTable} (result_id VARCHAR NOT NULL, columns JSON NOT NULL, row_count BIGINT NOT NULL, execution_time_ms DOUBLE)`,
  `CREATE TABLE IF NOT EXISTS ${resultRowsTable} (result_id VARCHAR NOT NULL, ordinal BIGINT NOT NULL, "row" JSON NOT NULL)`,
]

/** Scalar types cast back by name; anything else (lists, structs, maps, intervals, …) is kept as JSON. */
const castableType = /^(BOOLEAN|TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|REAL|FLOAT|DOUBLE|DECIMAL\(\d+,\d+\)|VARCHAR|TEXT|DATE|TIME|TIMESTAMP|TIMESTAMPTZ|UUID)$/

/**
 * The SELECT that reads result `id` back with its columns' names and types, in its original row order.
 * `id` must be a well-formed result id (the caller checks); it is quoted as a literal anyway.
 *
 * @example
 * resultSelectSql('rslt_01…', [{ name: 'n', type: 'BIGINT' }])
 * // SELECT CAST(("row"->>0) AS BIGINT) AS "n" FROM strata_results.result_rows WHERE result_id = 'rslt_01…' ORDER BY ordinal
 */
export function resultSelectSql(id: string, columns: readonly PersistedColumn[]): string {
  const used = new Set<string>()
  const selections = columns.map((column, index) => {
    let name = column.name === '' ? `column_${index + 1}` : column.name
    for (let suffix = 2; used.has(name.toLowerCase()); suffix++) name = `${column.name}_${suffix}`
    used.add(name.toLowerCase())
    return `${valueExpression(column.type, index)} AS ${quoteIdentifier(name)}`
  })
  // Results without columns are never persisted; a lone NULL keeps the text valid should one be asked for.
  const list = selections.length === 0 ? 'NULL AS "?column?"' : selections.join(', ')
  return `SELECT ${list} FROM ${resultRowsTable} WHERE result_id = ${quoteLiteral(id)} ORDER BY ordinal`
}

/** The expression that turns element `index` of a row's JSON array back into a value of `type`. */
function valueExpression(type: string, index: number): string {
  const text = `("row"->>${index})`
  if (type === 'VARCHAR' || type === 'TEXT') return text
  if (type === 'BLOB') return `from_base64${text}`
  if (castableType.test(type)) return `CAST(${text} AS ${type})`
  // JSON columns and nested types: the encoded JSON value itself (a JSON null is SQL NULL).
  return `CAST(NULLIF(CAST(("row"->${index}) AS VARCHAR), 'null') AS JSON)`
}

/** Whether `text` has the shape of a result id (`rslt_` and 26 lowercase base-32 characters), so it is safe in SQL. */
export function isResultId(text: string): boolean {
  if (text.length !== 31 || !text.startsWith('rslt_')) return false
  for (let index = 5; index < text.length; index++) {
    const code = text.charCodeAt(index)
    if (!((code >= 48 && code <= 57) || (code >= 97 && code <= 122))) return false
  }
  return true
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}

function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`
}

/**
 * The result ids a statement reads as `strata.results."<id>"`, in order of appearance (a name that is
 * not a result id is returned too, so the caller can say no such result exists).
 *
 * @example
 * resultReferences(parseTree('SELECT * FROM strata.results."rslt_01…"'))  // ['rslt_01…']
 */
export function resultReferences(tree: unknown): string[] {
  const found: string[] = []
  visitWrappers(tree, (wrapper) => {
    const body = wrapper['RangeVar'] as Record<string, unknown> | undefined
    if (body !== undefined && isResultReference(body)) found.push(String(body['relname']))
  })
  return found
}

/**
 * Replaces, in place, every `strata.results."<id>"` table reference with a derived table reading the
 * shared rows (`(SELECT … FROM strata_results.result_rows WHERE result_id = '<id>') AS "<id>"`, or the
 * reference's own alias). `selectTree(id)` gives the parsed SELECT (resultSelectSql) for an id.
 */
export function rewriteResultReferences(tree: unknown, selectTree: (id: string) => unknown): void {
  visitWrappers(tree, (wrapper) => {
    const body = wrapper['RangeVar'] as Record<string, unknown> | undefined
    if (body === undefined || !isResultReference(body)) return
    const id = String(body['relname'])
    const alias = (body['alias'] as Record<string, unknown> | undefined) ?? { aliasname: id }
    delete wrapper['RangeVar']
    wrapper['RangeSubselect'] = { subquery: selectTree(id), alias }
  })
}

function isResultReference(body: Record<string, unknown>): boolean {
  return body['catalogname'] === 'strata' && body['schemaname'] === 'results' && typeof body['relname'] === 'string'
}

/** Calls `visit` with every object in the tree (the wrappers `{ Kind: body }` among them), parents first. */
function visitWrappers(node: unknown, visit: (wrapper: Record<string, unknown>) => void): void {
  if (Array.isArray(node)) {
    for (const item of node) visitWrappers(item, visit)
    return
  }
  if (typeof node !== 'object' || node === null) return
  const wrapper = node as Record<string, unknown>
  visit(wrapper)
  for (const value of Object.values(wrapper)) visitWrappers(value, visit)
}
