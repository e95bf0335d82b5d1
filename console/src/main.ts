/**
 * The web console: wires the editor, history, results grid, schema browser, plan view and chart to
 * the server's `POST /query`, and the Streams view to it and to `GET /changes` (a stream's rows, live).
 */
import './style.css'
import { QueryError, runQuery, type QueryResponse } from './api'
import { ChartView } from './chart'
import { SqlEditor } from './editor'
import { describeEngine, formatDuration } from './format'
import { ResultsGrid } from './grid'
import { QueryHistory } from './history'
import { SchemaBrowser, qualifiedName, schemaSql, tablesFrom } from './schema'
import { StreamsView } from './streams'
import { BranchPicker, DiffView } from './branches'

/** The history list shows the newest entries; older ones are still reachable with Ctrl+↑. */
const historyListEntriesMax = 50
const tokenStorageKey = 'strata.console.token'

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id)
  if (found === null) throw new Error(`the page has no #${id}`)
  return found as T
}

function storage(kind: 'localStorage' | 'sessionStorage'): Storage | undefined {
  try {
    return window[kind]
  } catch {
    return undefined // Storage disabled by the browser's settings: the console works without it.
  }
}

const history = new QueryHistory(storage('localStorage'))
let token = storage('sessionStorage')?.getItem(tokenStorageKey) ?? ''
/** The request in flight, if any; a newer run or Cancel aborts it. */
let running: AbortController | undefined

const runButton = element<HTMLButtonElement>('run')
const explainButton = element<HTMLButtonElement>('explain')
const cancelButton = element<HTMLButtonElement>('cancel')
const errorBox = element<HTMLDivElement>('error')
const status = element<HTMLParagraphElement>('status')
const historyList = element<HTMLOListElement>('history-list')
const planSummary = element<HTMLDListElement>('plan-summary')
const planText = element<HTMLPreElement>('plan-text')
const planPlaceholder = planText.textContent ?? ''

const editor = new SqlEditor(element('editor'), '', {
  run: () => void execute('run'),
  explain: () => void execute('explain'),
  historyPrevious: () => {
    const entry = history.previous(editor.text)
    if (entry !== undefined) editor.setText(entry)
  },
  historyNext: () => {
    const entry = history.next()
    if (entry !== undefined) editor.setText(entry)
  },
})

const grid = new ResultsGrid()
element('panel-results').append(grid.element)
const chart = new ChartView()
element('panel-chart').append(chart.element)
const streams = new StreamsView({ token: () => token })
element('panel-streams').append(streams.element)
const diff = new DiffView({ token: () => token })
element('panel-diff').append(diff.element)
/** The tables the schema browser shows, for the Diff view's choices. */
let tableNames: readonly string[] = []
const branchPicker = new BranchPicker({
  token: () => token,
  onChange: (branch) => {
    status.textContent = `Statements run on branch ${branch}.`
    diff.setChoices(tableNames, branchPicker.branches)
  },
})
element('branch-picker-slot').replaceWith(branchPicker.element)
const schema = new SchemaBrowser({
  onRefresh: () => void refreshSchema(),
  onSelectTable: (table) => {
    editor.setText(`SELECT * FROM ${qualifiedName(table)} LIMIT 100`)
    void execute('run')
  },
})
element('schema').replaceWith(schema.element)

// Tabs (WAI-ARIA tabs pattern): click or arrow keys; only the selected tab is in the tab order.
const tabs = [...document.querySelectorAll<HTMLButtonElement>('[role="tab"]')]
function selectTab(id: string, options: { focus?: boolean } = {}): void {
  for (const tab of tabs) {
    const selected = tab.id === id
    tab.setAttribute('aria-selected', String(selected))
    tab.tabIndex = selected ? 0 : -1
    const panel = document.getElementById(tab.getAttribute('aria-controls') ?? '')
    if (panel !== null) panel.hidden = !selected
    if (selected && options.focus === true) tab.focus()
  }
  // The counters are read when the view is opened, and then while a stream is watched.
  if (id === 'tab-streams') void streams.refresh()
  // The Diff view's choices are read again when it opens: tables and branches may have come from elsewhere.
  if (id === 'tab-diff') void Promise.all([refreshSchema(), branchPicker.refresh()]).then(() => diff.setChoices(tableNames, branchPicker.branches))
}
for (const [index, tab] of tabs.entries()) {
  tab.addEventListener('click', () => selectTab(tab.id))
  tab.addEventListener('keydown', (event) => {
    const step = event.key === 'ArrowRight' ? 1 : event.key === 'ArrowLeft' ? -1 : 0
    if (step === 0) return
    event.preventDefault()
    const next = tabs[(index + step + tabs.length) % tabs.length]
    if (next !== undefined) selectTab(next.id, { focus: true })
  })
}

function setBusy(busy: boolean): void {
  runButton.disabled = busy
  explainButton.disabled = busy
  cancelButton.hidden = !busy
  document.body.setAttribute('aria-busy', String(busy))
  if (busy) status.textContent = 'Running…'
}

function hideError(): void {
  errorBox.hidden = true
  errorBox.replaceChildren()
}

/**
 * After a failure nothing of an earlier result stays on screen: rows, chart and plan under the
 * banner would read as the failed statement's answer.
 */
function clearOutputs(): void {
  grid.clear('No result: see the error above.')
  chart.setResult([], [])
  planSummary.replaceChildren()
  planText.textContent = planPlaceholder
}

/**
 * Shows a failed query (and only it: see clearOutputs). `positionOffset` is how many characters the console put before the editor's
 * text (`EXPLAIN `); without it, or for a text of several statements (whose error positions count
 * from the start of the failing statement), the error's position is not offered.
 */
function showError(error: unknown, options: { positionOffset?: number } = {}): void {
  const code = error instanceof QueryError ? error.code : 'ERROR'
  const message = error instanceof Error ? error.message : String(error)
  const heading = document.createElement('strong')
  heading.className = 'error-code'
  heading.textContent = code
  const text = document.createElement('span')
  text.className = 'error-message'
  text.textContent = message
  errorBox.replaceChildren(heading, ' ', text)
  clearOutputs()
  // The error's `position`, or the "(at position N)" Strata's messages end with: 1-based in the statement.
  const position = error instanceof QueryError && error.position !== undefined ? error.position : Number(/\(at position (\d+)\)/.exec(message)?.[1] ?? NaN)
  const oneStatement = !withoutTrailingSemicolons(editor.text).includes(';')
  if (Number.isInteger(position) && options.positionOffset !== undefined && oneStatement) {
    const offset = position - 1 - options.positionOffset
    const show = document.createElement('button')
    show.type = 'button'
    show.className = 'small link'
    show.textContent = 'Show in editor'
    show.addEventListener('click', () => editor.focusAt(offset))
    errorBox.append(' ', show)
  }
  if (error instanceof QueryError && (error.status === 401 || error.status === 403)) {
    const details = element<HTMLDetailsElement>('token-details')
    details.open = true
    errorBox.append(' ', 'Enter an access token above and run again.')
  }
  errorBox.hidden = false
  status.textContent = ''
}

function describeTiming(result: QueryResponse): HTMLElement[] {
  const parts: HTMLElement[] = []
  const add = (name: string, label: string, value: string, title?: string): void => {
    const part = document.createElement('span')
    part.className = `status-part status-${name}`
    part.dataset.part = name
    const labelElement = document.createElement('span')
    labelElement.className = 'muted'
    labelElement.textContent = `${label} `
    const valueElement = document.createElement('span')
    valueElement.className = 'status-value'
    valueElement.textContent = value
    part.append(labelElement, valueElement)
    if (title !== undefined) part.title = title
    parts.push(part)
  }
  const rows = result.columns.length === 0 ? `${result.rowCount.toLocaleString()} changed` : result.rowCount.toLocaleString()
  add('rows', 'Rows', rows)
  add('engine', 'Store', describeEngine(result.engine))
  add(
    'time',
    'Time',
    result.executionTimeMs === undefined ? '—' : formatDuration(result.executionTimeMs),
    `Round trip including transfer: ${formatDuration(result.roundTripMs)}`,
  )
  if (result.queryRunId !== undefined) add('run', 'Run', result.queryRunId)
  if (result.warning !== undefined) add('warning', 'Note', result.warning)
  return parts
}

function showResult(result: QueryResponse): void {
  grid.setResult(result.columns, result.rows)
  chart.setResult(result.columns, result.rows)
  status.replaceChildren(...describeTiming(result))
  selectTab('tab-results')
}

function showPlan(result: QueryResponse): void {
  const planColumn = Math.max(0, result.columns.findIndex((column) => column.name === 'plan'))
  const lines = result.rows.map((row) => String(row[planColumn] ?? ''))
  // The first lines say where the statement goes and why; the rest is the store's own plan.
  const summary = lines.filter((line) => /^(store|why):/.test(line))
  planSummary.replaceChildren(
    ...summary.flatMap((line) => {
      const separator = line.indexOf(':')
      const term = document.createElement('dt')
      term.textContent = line.slice(0, separator)
      const definition = document.createElement('dd')
      definition.textContent = line.slice(separator + 1).trim()
      return [term, definition]
    }),
  )
  planText.textContent = lines.join('\n')
  status.replaceChildren(...describeTiming(result))
  selectTab('tab-plan')
}

function renderHistory(): void {
  const entries = history.entries.slice(-historyListEntriesMax).reverse()
  historyList.replaceChildren(
    ...entries.map((entry) => {
      const item = document.createElement('li')
      const button = document.createElement('button')
      button.type = 'button'
      button.className = 'history-entry'
      button.textContent = entry
      button.title = entry.slice(0, 2000)
      button.addEventListener('click', () => {
        editor.setText(entry)
        editor.focus()
      })
      item.append(button)
      return item
    }),
  )
}

/** A statement that may change what the schema browser shows. Only a hint: a refresh is cheap. */
function mayChangeSchema(sql: string): boolean {
  return /\b(create|drop|alter)\s+(or\s+replace\s+)?(temp\s+|temporary\s+)?(table|view|schema)\b/i.test(sql) || /\bimport\b/i.test(sql)
}

/** A statement that may change the list of branches (a hint: the list is cheap to read again). */
function mayChangeBranches(sql: string): boolean {
  return /\b(create|drop|merge)\s+branch\b/i.test(sql)
}

/** `USE BRANCH x` typed in the editor: the console's requests are sessions of their own, so the picker takes it. */
function usedBranch(sql: string): string | undefined {
  const match = /^\s*use\s+branch\s+(?:"((?:[^"]|"")+)"|([A-Za-z_][\w$]*))\s*;?\s*$/i.exec(sql)
  if (match === null) return undefined
  return match[1] !== undefined ? match[1].replaceAll('""', '"') : match[2]!.toLowerCase()
}

/** Strips what would stop `EXPLAIN <sql>` from being one statement: trailing semicolons. */
function withoutTrailingSemicolons(sql: string): string {
  return sql.replace(/[\s;]+$/, '')
}

async function execute(kind: 'run' | 'explain'): Promise<void> {
  const text = editor.text
  if (text.trim() === '') {
    showError(new QueryError('EMPTY', 'Write a statement first.', 0))
    editor.focus()
    return
  }
  running?.abort()
  const controller = new AbortController()
  running = controller
  hideError()
  setBusy(true)
  history.add(text)
  renderHistory()
  const prefix = kind === 'explain' ? 'EXPLAIN ' : ''
  const sql = kind === 'explain' ? `${prefix}${withoutTrailingSemicolons(text)}` : text
  try {
    const result = await runQuery(sql, { token, signal: controller.signal, branch: branchPicker.current })
    if (running !== controller) return
    if (kind === 'explain') showPlan(result)
    else showResult(result)
    if (kind === 'run' && mayChangeSchema(text)) void refreshSchema()
    if (kind === 'run' && mayChangeBranches(text)) void branchPicker.refresh()
    const used = kind === 'run' ? usedBranch(text) : undefined
    if (used !== undefined) {
      await branchPicker.refresh()
      branchPicker.choose(used)
    }
  } catch (error) {
    if (running !== controller) return // superseded by a newer run, which shows its own outcome
    showError(error, { positionOffset: prefix.length })
  } finally {
    if (running === controller) {
      running = undefined
      setBusy(false)
    }
  }
}

async function refreshSchema(): Promise<void> {
  schema.setLoading()
  try {
    const tables = tablesFrom(await runQuery(schemaSql, { token }))
    schema.setTables(tables)
    editor.setSchema(tables)
    tableNames = tables.filter((table) => table.schema === '' || table.schema === 'main' || table.schema === 'public').map((table) => table.name)
    diff.setChoices(tableNames, branchPicker.branches)
  } catch (error) {
    schema.setError(error instanceof Error ? error.message : String(error))
  }
}

runButton.addEventListener('click', () => void execute('run'))
explainButton.addEventListener('click', () => void execute('explain'))
cancelButton.addEventListener('click', () => {
  running?.abort()
  editor.focus()
})
element('history-clear').addEventListener('click', () => {
  history.clear()
  renderHistory()
})
element<HTMLFormElement>('token-form').addEventListener('submit', (event) => {
  event.preventDefault()
  token = element<HTMLInputElement>('token-input').value.trim()
  storage('sessionStorage')?.setItem(tokenStorageKey, token)
  element<HTMLDetailsElement>('token-details').open = false
  void refreshSchema()
  void branchPicker.refresh()
})
element('token-forget').addEventListener('click', () => {
  token = ''
  element<HTMLInputElement>('token-input').value = ''
  storage('sessionStorage')?.removeItem(tokenStorageKey)
})
document.querySelector('.skip-link')?.addEventListener('click', (event) => {
  event.preventDefault()
  editor.focus()
})

renderHistory()
void refreshSchema()
void branchPicker.refresh()
editor.focus()
