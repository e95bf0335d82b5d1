/**
 * Statements about the database rather than its data: SHOW TABLES, DESCRIBE (DuckDB's grammar), and
 * EXPLAIN, which names the store a statement would run on and why, with that store's own plan.
 */
import { isInternalTable } from '../sql/catalog.js'
import { deparseStatement } from '../sql/deparse.js'
import type { ParsedStatement, PgNode } from '../sql/parse.js'
import { nodeKind } from '../sql/tree.js'
import { typeLabel } from '../sql/types.js'
import type { Statement } from '../subsystems/seam.js'
import { StrataError } from '../util/errors.js'
import { bindValues, type EngineContext } from './context.js'
import type { Reads } from './reads.js'
import type { EngineName, ExecuteOptions, Positional } from './rows.js'
import type { Session } from './session.js'

export class Introspection {
  constructor(
    private readonly context: Pick<EngineContext, 'rowStore' | 'ledger' | 'schema' | 'subsystems'>,
    private readonly reads: Pick<Reads, 'route' | 'columns' | 'call'>,
  ) {}

  showTables(): Positional {
    const catalog = this.context.schema.catalog
    const rows = [...[...catalog.tables.keys()].filter((name) => !isInternalTable(name)), ...catalog.views.keys()].sort().map((name) => [name])
    return { rows, columns: [{ name: 'name', type: 'VARCHAR' }], rowCount: rows.length, engine: 'catalog' }
  }

  /** PostgreSQL's grammar rejected it; DuckDB's parser may accept it (DESCRIBE, FROM-first, …). */
  async duckdbOnly(session: Session, statement: ParsedStatement, params: readonly unknown[], options: ExecuteOptions): Promise<Positional> {
    const serialized = await this.reads.columns.serializeSql(statement.text)
    if (serialized.error) throw statement.parseError ?? new StrataError('SYNTAX_ERROR', serialized.message, { statement: statement.text })
    const first = serialized.statements[0] as { node?: { from_table?: { type?: string; show_type?: string; query?: { from_table?: { table_name?: string } } } } } | undefined
    const from = first?.node?.from_table
    if (from?.type === 'SHOW_REF' && from.show_type === 'DESCRIBE') {
      const target = from.query?.from_table?.table_name
      if (target !== undefined && target !== '') return this.describe(target)
    }
    if (serialized.statements.length !== 1) throw new StrataError('NOT_SUPPORTED', 'one statement at a time for DuckDB-only syntax')
    return this.reads.columns.read(session, statement.text, params, options, 'column')
  }

  private describe(name: string): Positional {
    const catalog = this.context.schema.catalog
    const table = catalog.tables.get(name.replace(/^"|"$/g, ''))
    if (table === undefined) {
      if (catalog.views.has(name)) throw new StrataError('NOT_SUPPORTED', `DESCRIBE of the view "${name}"`)
      throw new StrataError('UNDEFINED_TABLE', `table "${name}" does not exist`)
    }
    const rows = table.columns.map((column) => [
      column.name,
      typeLabel(column.type),
      column.notNull ? 'NO' : 'YES',
      (table.primaryKey ?? []).includes(column.name) ? 'PRI' : table.uniques.some((unique) => unique.includes(column.name)) ? 'UNI' : null,
      column.default === undefined ? null : column.default.kind === 'now' ? 'now()' : column.default.value === null ? 'NULL' : String(column.default.value),
      null,
    ])
    const columns = ['column_name', 'column_type', 'null', 'key', 'default', 'extra'].map((column) => ({ name: column, type: 'VARCHAR' }))
    return { rows, columns, rowCount: rows.length, engine: 'catalog' }
  }

  async explain(session: Session, statement: Statement, body: PgNode, params: readonly unknown[], options: ExecuteOptions): Promise<Positional> {
    const query = body['query'] as PgNode
    const kind = nodeKind(query)
    const lines: string[] = []
    let engine: EngineName = 'row'
    const claim = kind === 'SelectStmt' ? this.context.subsystems.claimRead(statement, query) : undefined
    if (claim !== undefined) {
      const explained = await claim.explain(this.reads.call(session, statement, params, options, false), query)
      lines.push(...explained.lines)
      engine = explained.engine
    } else if (kind === 'SelectStmt') {
      const route = this.reads.route(query)
      const store = options.engine ?? route.store
      if (store !== 'row') this.context.subsystems.beforeColumnStore(query, route.reason)
      engine = store === 'catalog' ? 'catalog' : store
      lines.push(`store: ${store}`, `why: ${options.engine === undefined ? route.reason : `forced by the engine option (${route.reason})`}`)
      if (store === 'row' && route.plan !== undefined) {
        lines.push(`sql: ${route.plan.sql}`)
        const plan = this.context.rowStore.reader.prepareSync(`EXPLAIN QUERY PLAN ${route.plan.sql}`).allSync(bindValues(this.context.ledger, route.plan.binders, params.length > 0 ? params : route.plan.binders.map(() => null)))
        for (const row of plan) lines.push(`plan: ${String(row[3])}`)
      } else {
        const text = deparseStatement(query)
        const result = await this.reads.columns.query(session, `EXPLAIN ${text}`, params, options)
        for (const row of result.rows) for (const line of String(row[1]).split('\n')) if (line.trim() !== '') lines.push(`plan: ${line}`)
      }
    } else if (kind === 'InsertStmt' || kind === 'UpdateStmt' || kind === 'DeleteStmt') {
      lines.push('store: row', 'why: writes always run on the row store (and reach the column store by CDC)')
    } else {
      lines.push('store: row', 'why: schema changes and transaction control run on the row store')
    }
    const rows = lines.map((line) => [line])
    return { rows, columns: [{ name: 'plan', type: 'VARCHAR' }], rowCount: rows.length, engine }
  }
}
