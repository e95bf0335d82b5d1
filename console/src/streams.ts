/**
 * The Streams view: every stream with its counters (strata.streams, through `POST /query`), and for the
 * stream being watched, its table's rows kept current from `GET /changes` — a new group's row appears,
 * an updated row changes in place, a deleted one goes — without running the query again.
 *
 * Why the rows start from `FOR SYSTEM_TIME AS OF` the transaction before the change stream's first:
 * the change stream says where it starts, and the table as of just before that point plus every change
 * from it is the table now, with nothing missed or applied twice however long the first query takes.
 */
import { QueryError, runQuery, watchChanges, type Column, type QueryResponse, type RowChange } from './api'
import { formatCell, formatValue, isNumericType, quoteIdentifier } from './format'

export const streamsSql = 'SELECT name, source, watermark, events_in, events_out, state_rows, last_checkpoint FROM strata.streams ORDER BY name'

/** Rows of a watched stream's table kept on the page: a live view is for watching, not for paging. */
const liveRowsMax = 1_000
/** A watched stream's counters are read again at most this often while its changes arrive. */
const countersRefreshMs = 1_000
/** And this often when nothing arrives: events may move the counters without changing a row. */
const countersIdleRefreshMs = 5_000
/** How long a changed row stays marked. */
const changedMarkMs = 1_500

const counterColumns: readonly { readonly name: string; readonly label: string }[] = [
  { name: 'name', label: 'Stream' },
  { name: 'source', label: 'Source' },
  { name: 'watermark', label: 'Watermark' },
  { name: 'events_in', label: 'Events in' },
  { name: 'events_out', label: 'Events out' },
  { name: 'state_rows', label: 'State rows' },
  { name: 'last_checkpoint', label: 'Last checkpoint' },
]

/** A JSON value's identity: the server encodes a value the same way in a result row and in a change. */
function sameValue(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a ?? null) === JSON.stringify(b ?? null)
}

export class StreamsView {
  readonly element: HTMLElement
  readonly #token: () => string
  readonly #list: HTMLTableSectionElement
  readonly #listStatus: HTMLParagraphElement
  readonly #live: HTMLElement
  readonly #liveHeading: HTMLHeadingElement
  readonly #liveStatus: HTMLParagraphElement
  readonly #liveTable: HTMLTableElement
  #watched: string | undefined
  #watch: AbortController | undefined
  #columns: readonly Column[] = []
  /** The watched table's rows, values in column order; undefined while they load. */
  #rows: unknown[][] | undefined
  /** Changes that arrived while the rows loaded, applied once they are there. */
  #early: RowChange[] = []
  #more = false
  #lastTxId: number | undefined
  #countersTimer: ReturnType<typeof setTimeout> | undefined
  #countersDueMs = 0
  #countersLoading = false

  constructor(options: { readonly token: () => string }) {
    this.#token = options.token
    this.element = document.createElement('section')
    this.element.className = 'streams'
    this.element.setAttribute('aria-labelledby', 'streams-heading')
    const header = document.createElement('div')
    header.className = 'panel-header'
    const heading = document.createElement('h2')
    heading.id = 'streams-heading'
    heading.textContent = 'Streams'
    const refresh = document.createElement('button')
    refresh.type = 'button'
    refresh.className = 'small'
    refresh.textContent = 'Refresh'
    refresh.setAttribute('aria-label', 'Refresh streams')
    refresh.addEventListener('click', () => void this.refresh())
    header.append(heading, refresh)
    this.#listStatus = document.createElement('p')
    this.#listStatus.className = 'muted streams-status'
    this.#listStatus.setAttribute('role', 'status')
    const listTable = document.createElement('table')
    listTable.className = 'live-table'
    listTable.setAttribute('aria-label', 'Streams')
    const head = listTable.createTHead().insertRow()
    for (const column of counterColumns) {
      const cell = document.createElement('th')
      cell.scope = 'col'
      cell.textContent = column.label
      head.append(cell)
    }
    head.append(document.createElement('th'))
    this.#list = listTable.createTBody()
    this.#live = document.createElement('section')
    this.#live.className = 'live'
    this.#live.hidden = true
    this.#live.setAttribute('aria-labelledby', 'live-heading')
    this.#liveHeading = document.createElement('h3')
    this.#liveHeading.id = 'live-heading'
    this.#liveStatus = document.createElement('p')
    this.#liveStatus.className = 'muted streams-status'
    this.#liveStatus.setAttribute('role', 'status')
    this.#liveTable = document.createElement('table')
    this.#liveTable.className = 'live-table'
    const scroller = document.createElement('div')
    scroller.className = 'live-scroller'
    scroller.append(this.#liveTable)
    this.#live.append(this.#liveHeading, this.#liveStatus, scroller)
    const listScroller = document.createElement('div')
    listScroller.className = 'live-scroller streams-list'
    listScroller.append(listTable)
    this.element.append(header, this.#listStatus, listScroller, this.#live)
  }

  /** Reads every stream's counters again. */
  async refresh(): Promise<void> {
    if (this.#countersLoading) return
    this.#countersLoading = true
    try {
      this.#renderStreams(await runQuery(streamsSql, { token: this.#token() }))
    } catch (error) {
      this.#listStatus.textContent = `Could not read the streams: ${error instanceof Error ? error.message : String(error)}`
    } finally {
      this.#countersLoading = false
    }
  }

  /** Follows `name`'s table live, instead of the stream watched before. */
  watch(name: string): void {
    this.stop()
    const watch = new AbortController()
    this.#watch = watch
    this.#watched = name
    this.#columns = []
    this.#rows = undefined
    this.#early = []
    this.#lastTxId = undefined
    this.#live.hidden = false
    this.#liveHeading.textContent = `Rows of ${name}`
    this.#liveTable.setAttribute('aria-label', `Rows of ${name}`)
    this.#liveTable.replaceChildren()
    this.#liveStatus.textContent = 'Connecting…'
    this.#markWatched()
    void watchChanges(
      [name],
      {
        onStart: (fromTx) => void this.#load(name, fromTx, watch.signal),
        onChange: (change) => this.#receive(change),
        onInterrupted: (error, willRetry) => {
          if (watch.signal.aborted) return
          this.#liveStatus.textContent = `${error.code}: ${error.message}${willRetry ? ' Reconnecting…' : ''}`
        },
      },
      { token: this.#token(), signal: watch.signal },
    )
    this.#scheduleCounters(countersIdleRefreshMs)
  }

  /** Stops following the watched stream (its rows stay as they were). */
  stop(): void {
    this.#watch?.abort()
    this.#watch = undefined
    clearTimeout(this.#countersTimer)
    this.#countersTimer = undefined
  }

  /** The table as of the transaction before the change stream's first, then the changes that came meanwhile. */
  async #load(name: string, fromTx: number, signal: AbortSignal): Promise<void> {
    this.#rows = undefined
    this.#early = []
    this.#liveStatus.textContent = 'Loading rows…'
    const asOf = fromTx > 1 ? ` FOR SYSTEM_TIME AS OF ${fromTx - 1}` : ''
    let result: QueryResponse
    try {
      result = await runQuery(`SELECT * FROM ${quoteIdentifier(name)}${asOf} LIMIT ${liveRowsMax + 1}`, { token: this.#token(), signal })
    } catch (error) {
      if (signal.aborted) return
      this.#liveStatus.textContent = error instanceof QueryError ? `${error.code}: ${error.message}` : String(error)
      return
    }
    if (signal.aborted) return
    this.#columns = result.columns
    this.#more = result.rows.length > liveRowsMax
    this.#rows = result.rows.slice(0, liveRowsMax).map((row) => [...row])
    this.#lastTxId = fromTx - 1
    const early = this.#early
    this.#early = []
    for (const change of early) this.#apply(change)
    this.#renderRows(new Set())
  }

  #receive(change: RowChange): void {
    if (this.#rows === undefined) {
      this.#early.push(change)
      return
    }
    const changed = this.#apply(change)
    this.#renderRows(changed === undefined ? new Set() : new Set([changed]))
    this.#scheduleCounters(countersRefreshMs)
  }

  /** Applies one change to the rows; returns the row it inserted or changed. */
  #apply(change: RowChange): unknown[] | undefined {
    const rows = this.#rows!
    this.#lastTxId = change.txId
    const values = (image: Readonly<Record<string, unknown>>): unknown[] => this.#columns.map((column) => image[column.name] ?? null)
    // A stream's table has no key of its own that a result shows: its row is found by its values before the change.
    const index = change.before === null ? -1 : rows.findIndex((row) => this.#columns.every((column, at) => sameValue(row[at], change.before![column.name])))
    if (change.op === 'delete') {
      if (index >= 0) rows.splice(index, 1)
      return undefined
    }
    const after = values(change.after!)
    if (index >= 0) {
      rows[index] = after
      return after
    }
    // An insert, or an update of a row beyond those shown.
    if (rows.length >= liveRowsMax) {
      this.#more = true
      return undefined
    }
    rows.push(after)
    return after
  }

  #renderRows(changed: ReadonlySet<unknown[]>): void {
    const rows = this.#rows ?? []
    const head = document.createElement('thead')
    const headRow = head.insertRow()
    for (const column of this.#columns) {
      const cell = document.createElement('th')
      cell.scope = 'col'
      cell.textContent = column.name
      cell.title = column.type
      headRow.append(cell)
    }
    const body = document.createElement('tbody')
    for (const row of rows) {
      const line = body.insertRow()
      if (changed.has(row)) {
        line.className = 'changed'
        setTimeout(() => line.classList.remove('changed'), changedMarkMs)
      }
      this.#columns.forEach((column, index) => {
        const cell = line.insertCell()
        const value = row[index]
        cell.textContent = formatCell(value, column.type)
        if (isNumericType(column.type)) cell.className = 'numeric'
        if (value === null || value === undefined) cell.classList.add('null')
      })
    }
    this.#liveTable.replaceChildren(head, body)
    const shown = `${rows.length.toLocaleString()} row${rows.length === 1 ? '' : 's'}${this.#more ? ` (at most ${liveRowsMax.toLocaleString()} are kept here)` : ''}`
    this.#liveStatus.textContent = `Live: ${shown}, as of transaction ${this.#lastTxId ?? '—'}.`
  }

  #renderStreams(result: QueryResponse): void {
    const at = counterColumns.map((column) => result.columns.findIndex((candidate) => candidate.name === column.name))
    const types = at.map((index) => result.columns[index]?.type ?? '')
    this.#list.replaceChildren(
      ...result.rows.map((row) => {
        const line = document.createElement('tr')
        const name = String(row[at[0]!] ?? '')
        line.dataset.stream = name
        at.forEach((index, position) => {
          const cell = line.insertCell()
          const value = index < 0 ? null : row[index]
          cell.textContent = position === 0 ? formatValue(value) : formatCell(value, types[position]!)
          if (isNumericType(types[position]!)) cell.className = 'numeric'
        })
        const action = line.insertCell()
        const watch = document.createElement('button')
        watch.type = 'button'
        watch.className = 'small'
        watch.textContent = 'Watch'
        watch.setAttribute('aria-label', `Watch ${name}`)
        watch.addEventListener('click', () => this.watch(name))
        action.append(watch)
        return line
      }),
    )
    this.#listStatus.textContent = result.rows.length === 0 ? 'No streams yet: CREATE STREAM … AS SELECT … FROM a source.' : `${result.rows.length} stream${result.rows.length === 1 ? '' : 's'}`
    this.#markWatched()
  }

  #markWatched(): void {
    for (const line of this.#list.rows) {
      if (line.dataset.stream === this.#watched) line.setAttribute('aria-current', 'true')
      else line.removeAttribute('aria-current')
    }
  }

  /** Reads the counters again in `delayMs`, unless a read is already due sooner. */
  #scheduleCounters(delayMs: number): void {
    if (this.#watch === undefined) return
    const dueMs = performance.now() + delayMs
    if (this.#countersTimer !== undefined && this.#countersDueMs <= dueMs) return
    clearTimeout(this.#countersTimer)
    this.#countersDueMs = dueMs
    this.#countersTimer = setTimeout(() => {
      this.#countersTimer = undefined
      void this.refresh().finally(() => this.#scheduleCounters(countersIdleRefreshMs))
    }, delayMs)
  }
}
