/**
 * The schema browser: tables and their columns with types, read with plain SQL from
 * information_schema.columns through the same `POST /query` as everything else.
 */
import type { QueryResponse } from './api'
import { quoteIdentifier } from './format'

export interface SchemaColumn {
  readonly name: string
  readonly type: string
  readonly nullable: boolean
}

export interface SchemaTable {
  readonly schema: string
  readonly name: string
  readonly columns: readonly SchemaColumn[]
}

export const schemaSql =
  'SELECT table_schema, table_name, column_name, data_type, is_nullable FROM information_schema.columns ORDER BY table_schema, table_name, ordinal_position'

/** Groups information_schema.columns rows (in `schemaSql`'s column order) into tables. */
export function tablesFrom(result: QueryResponse): SchemaTable[] {
  const index = (name: string): number => result.columns.findIndex((column) => column.name === name)
  const at = { schema: index('table_schema'), table: index('table_name'), column: index('column_name'), type: index('data_type'), nullable: index('is_nullable') }
  const tables = new Map<string, { schema: string; name: string; columns: SchemaColumn[] }>()
  for (const row of result.rows) {
    const schema = String(row[at.schema] ?? '')
    const name = String(row[at.table] ?? '')
    const key = `${schema}\u0000${name}`
    let table = tables.get(key)
    if (table === undefined) {
      table = { schema, name, columns: [] }
      tables.set(key, table)
    }
    table.columns.push({ name: String(row[at.column] ?? ''), type: String(row[at.type] ?? ''), nullable: String(row[at.nullable] ?? 'YES').toUpperCase() !== 'NO' })
  }
  return [...tables.values()]
}

/** The name to write in SQL: schema-qualified only outside the default schema. */
export function qualifiedName(table: SchemaTable): string {
  return table.schema === '' || table.schema === 'main' || table.schema === 'public'
    ? quoteIdentifier(table.name)
    : `${quoteIdentifier(table.schema)}.${quoteIdentifier(table.name)}`
}

export interface SchemaBrowserEvents {
  /** The person asked to see a table's rows. */
  readonly onSelectTable: (table: SchemaTable) => void
  readonly onRefresh: () => void
}

export class SchemaBrowser {
  readonly element: HTMLElement
  readonly #list: HTMLUListElement
  readonly #status: HTMLParagraphElement
  readonly #filter: HTMLInputElement
  readonly #events: SchemaBrowserEvents
  #tables: readonly SchemaTable[] = []
  /** Tables the person opened, kept open across refreshes. */
  readonly #open = new Set<string>()

  constructor(events: SchemaBrowserEvents) {
    this.#events = events
    this.element = document.createElement('section')
    this.element.className = 'schema'
    this.element.setAttribute('aria-labelledby', 'schema-heading')
    const header = document.createElement('div')
    header.className = 'panel-header'
    const heading = document.createElement('h2')
    heading.id = 'schema-heading'
    heading.textContent = 'Schema'
    const refresh = document.createElement('button')
    refresh.type = 'button'
    refresh.className = 'small'
    refresh.textContent = 'Refresh'
    refresh.setAttribute('aria-label', 'Refresh schema')
    refresh.addEventListener('click', () => this.#events.onRefresh())
    header.append(heading, refresh)
    const filterLabel = document.createElement('label')
    filterLabel.className = 'visually-hidden'
    filterLabel.htmlFor = 'schema-filter'
    filterLabel.textContent = 'Filter tables'
    this.#filter = document.createElement('input')
    this.#filter.id = 'schema-filter'
    this.#filter.type = 'search'
    this.#filter.placeholder = 'Filter tables'
    this.#filter.addEventListener('input', () => this.#render())
    this.#status = document.createElement('p')
    this.#status.className = 'muted'
    this.#status.setAttribute('role', 'status')
    this.#list = document.createElement('ul')
    this.#list.className = 'schema-tables'
    this.#list.setAttribute('aria-label', 'Tables')
    this.element.append(header, filterLabel, this.#filter, this.#status, this.#list)
  }

  get tables(): readonly SchemaTable[] {
    return this.#tables
  }

  setLoading(): void {
    this.#status.textContent = 'Loading…'
  }

  setError(message: string): void {
    this.#status.textContent = `Could not read the schema: ${message}`
  }

  setTables(tables: readonly SchemaTable[]): void {
    this.#tables = tables
    this.#render()
  }

  #render(): void {
    const filter = this.#filter.value.trim().toLowerCase()
    const shown = this.#tables.filter((table) => filter === '' || `${table.schema}.${table.name}`.toLowerCase().includes(filter))
    this.#status.textContent = this.#tables.length === 0 ? 'No tables yet.' : shown.length === this.#tables.length ? `${shown.length} table${shown.length === 1 ? '' : 's'}` : `${shown.length} of ${this.#tables.length} tables`
    this.#list.replaceChildren(...shown.map((table) => this.#tableItem(table)))
  }

  #tableItem(table: SchemaTable): HTMLLIElement {
    const key = `${table.schema}.${table.name}`
    const item = document.createElement('li')
    const details = document.createElement('details')
    details.open = this.#open.has(key)
    details.addEventListener('toggle', () => (details.open ? this.#open.add(key) : this.#open.delete(key)))
    const summary = document.createElement('summary')
    const name = document.createElement('span')
    name.className = 'table-name'
    name.textContent = table.schema === 'main' || table.schema === '' ? table.name : key
    const count = document.createElement('span')
    count.className = 'muted'
    count.textContent = ` ${table.columns.length} col${table.columns.length === 1 ? '' : 's'}`
    summary.append(name, count)
    const select = document.createElement('button')
    select.type = 'button'
    select.className = 'small link'
    select.textContent = 'Query'
    select.setAttribute('aria-label', `Query ${table.name}`)
    select.addEventListener('click', () => this.#events.onSelectTable(table))
    const columns = document.createElement('ul')
    columns.className = 'schema-columns'
    columns.setAttribute('aria-label', `Columns of ${table.name}`)
    for (const column of table.columns) {
      const entry = document.createElement('li')
      const columnName = document.createElement('span')
      columnName.className = 'column-name'
      columnName.textContent = column.name
      const type = document.createElement('span')
      type.className = 'column-type'
      type.textContent = column.nullable ? column.type : `${column.type} NOT NULL`
      entry.append(columnName, ' ', type)
      columns.append(entry)
    }
    details.append(summary, select, columns)
    item.append(details)
    return item
  }
}
