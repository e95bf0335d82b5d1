/**
 * Branches in the console: the branch picker (the branch every statement of the console runs on, sent
 * as the request's `branch`; the list read from strata.branches) and the Diff view — a table's rows
 * that differ between two branches (`strata.diff`), before and after side by side, the cells that
 * changed marked.
 */
import { QueryError, runQuery } from './api'
import { formatValue } from './format'

export const branchesSql = "SELECT name FROM strata.branches ORDER BY name <> 'main', name"

/** A SQL string literal. */
function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`
}

/** A JSON column's value as an object: the server sends JSON as a value, or as its text. */
function objectOf(value: unknown): Record<string, unknown> | undefined {
  if (value === null || value === undefined) return undefined
  if (typeof value === 'string') {
    try {
      return objectOf(JSON.parse(value))
    } catch {
      return undefined
    }
  }
  return typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null)
}

export class BranchPicker {
  readonly element: HTMLElement
  readonly #select: HTMLSelectElement
  readonly #token: () => string
  readonly #onChange: (branch: string) => void
  #branches: readonly string[] = ['main']

  constructor(options: { readonly token: () => string; readonly onChange: (branch: string) => void }) {
    this.#token = options.token
    this.#onChange = options.onChange
    this.element = document.createElement('div')
    this.element.className = 'branch-picker'
    const label = document.createElement('label')
    label.htmlFor = 'branch-picker'
    label.textContent = 'Branch'
    this.#select = document.createElement('select')
    this.#select.id = 'branch-picker'
    this.#select.title = 'The branch the console’s statements run on'
    this.#select.addEventListener('change', () => this.#onChange(this.current))
    this.element.append(label, this.#select)
    this.#render('main')
  }

  /** The branch statements run on. */
  get current(): string {
    return this.#select.value === '' ? 'main' : this.#select.value
  }

  get branches(): readonly string[] {
    return this.#branches
  }

  /** Picks `branch` (when it exists) as if the person had. */
  choose(branch: string): void {
    if (!this.#branches.includes(branch) || branch === this.current) return
    this.#select.value = branch
    this.#onChange(branch)
  }

  /** Reads the list again; a branch that is gone falls back to main. */
  async refresh(): Promise<void> {
    const before = this.current
    try {
      const result = await runQuery(branchesSql, { token: this.#token() })
      this.#branches = result.rows.map((row) => String(row[0]))
    } catch (error) {
      if (!(error instanceof QueryError)) throw error
      this.#branches = ['main']
    }
    this.#render(this.#branches.includes(before) ? before : 'main')
    if (this.current !== before) this.#onChange(this.current)
  }

  #render(selected: string): void {
    this.#select.replaceChildren(
      ...this.#branches.map((name) => {
        const option = document.createElement('option')
        option.value = name
        option.textContent = name
        return option
      }),
    )
    this.#select.value = selected
  }
}

/** The Diff view: pick a table and two branches, see the rows that differ side by side. */
export class DiffView {
  readonly element: HTMLElement
  readonly #token: () => string
  readonly #table: HTMLSelectElement
  readonly #from: HTMLSelectElement
  readonly #to: HTMLSelectElement
  readonly #compare: HTMLButtonElement
  readonly #status: HTMLParagraphElement
  readonly #result: HTMLTableElement

  constructor(options: { readonly token: () => string }) {
    this.#token = options.token
    this.element = document.createElement('div')
    this.element.className = 'diff-view'
    const form = document.createElement('form')
    form.className = 'diff-form'
    const field = (id: string, text: string): HTMLSelectElement => {
      const label = document.createElement('label')
      label.htmlFor = id
      label.textContent = text
      const select = document.createElement('select')
      select.id = id
      form.append(label, select)
      return select
    }
    this.#table = field('diff-table', 'Table')
    this.#from = field('diff-from', 'From')
    this.#to = field('diff-to', 'To')
    this.#compare = document.createElement('button')
    this.#compare.type = 'submit'
    this.#compare.id = 'diff-compare'
    this.#compare.textContent = 'Compare'
    form.append(this.#compare)
    form.addEventListener('submit', (event) => {
      event.preventDefault()
      void this.compare()
    })
    this.#status = document.createElement('p')
    this.#status.className = 'diff-status'
    this.#status.setAttribute('role', 'status')
    this.#status.textContent = 'Pick a table and two branches, then Compare.'
    this.#result = document.createElement('table')
    this.#result.className = 'diff-table'
    this.#result.setAttribute('aria-label', 'Rows that differ')
    this.element.append(form, this.#status, this.#result)
  }

  /** The tables and branches to choose from (the selection kept where it still exists). */
  setChoices(tables: readonly string[], branches: readonly string[]): void {
    const fill = (select: HTMLSelectElement, values: readonly string[], fallback: string | undefined): void => {
      const keep = select.value
      select.replaceChildren(
        ...values.map((value) => {
          const option = document.createElement('option')
          option.value = value
          option.textContent = value
          return option
        }),
      )
      select.value = values.includes(keep) ? keep : (fallback ?? values[0] ?? '')
    }
    fill(this.#table, tables, undefined)
    fill(this.#from, branches, 'main')
    fill(this.#to, branches, branches.find((name) => name !== 'main'))
  }

  async compare(): Promise<void> {
    const [table, from, to] = [this.#table.value, this.#from.value, this.#to.value]
    if (table === '' || from === '' || to === '') {
      this.#status.textContent = 'Pick a table and two branches first.'
      return
    }
    this.#compare.disabled = true
    this.#status.textContent = 'Comparing…'
    try {
      const result = await runQuery(`SELECT * FROM strata.diff(${literal(table)}, ${literal(from)}, ${literal(to)}) ORDER BY 1`, { token: this.#token() })
      const at = (name: string): number => result.columns.findIndex((column) => column.name === name)
      const [typeAt, beforeAt, afterAt] = [at('diff_type'), at('before'), at('after')]
      const rows = result.rows.map((row) => ({ type: String(row[typeAt]), before: objectOf(row[beforeAt]), after: objectOf(row[afterAt]) }))
      // The table's columns, in the order the rows name them.
      const names: string[] = []
      for (const row of rows) for (const name of Object.keys({ ...row.before, ...row.after })) if (!names.includes(name)) names.push(name)
      this.#render(names, rows, from, to)
      const count = (type: string): number => rows.filter((row) => row.type === type).length
      this.#status.textContent =
        rows.length === 0 ? `No differences in ${table} between ${from} and ${to}.` : `${table}: ${count('added')} added · ${count('removed')} removed · ${count('modified')} modified (${from} → ${to})`
    } catch (error) {
      this.#result.replaceChildren()
      this.#status.textContent = error instanceof Error ? `${error instanceof QueryError ? `${error.code}: ` : ''}${error.message}` : String(error)
    } finally {
      this.#compare.disabled = false
    }
  }

  #render(names: readonly string[], rows: readonly { type: string; before: Record<string, unknown> | undefined; after: Record<string, unknown> | undefined }[], from: string, to: string): void {
    const head = document.createElement('thead')
    const groups = document.createElement('tr')
    const cell = (tag: 'th' | 'td', text: string, className?: string): HTMLTableCellElement => {
      const element = document.createElement(tag)
      element.textContent = text
      if (className !== undefined) element.className = className
      return element
    }
    const change = cell('th', 'Change')
    change.rowSpan = 2
    const before = cell('th', `Before (${from})`, 'diff-side')
    before.colSpan = Math.max(1, names.length)
    const after = cell('th', `After (${to})`, 'diff-side')
    after.colSpan = Math.max(1, names.length)
    groups.append(change, before, after)
    const columns = document.createElement('tr')
    for (let side = 0; side < 2; side++) for (const name of names) columns.append(cell('th', name))
    head.append(groups, columns)
    const body = document.createElement('tbody')
    for (const row of rows) {
      const line = document.createElement('tr')
      line.className = `diff-${row.type}`
      line.append(cell('td', row.type, 'diff-type'))
      for (const [side, values] of [
        ['before', row.before],
        ['after', row.after],
      ] as const) {
        for (const name of names) {
          const changed = row.type === 'modified' && !sameJson(row.before?.[name], row.after?.[name])
          const classes = [`diff-${side}`, ...(values === undefined ? ['diff-absent'] : []), ...(changed ? ['diff-changed'] : [])]
          line.append(cell('td', values === undefined ? '' : formatValue(values[name]), classes.join(' ')))
        }
      }
      body.append(line)
    }
    this.#result.replaceChildren(head, body)
  }
}
