/**
 * The console's only way to the server: `POST /query`, the same HTTP API every client uses.
 * Responses are normalized once here (rows as arrays in column order), so the rest of the console does
 * not care whether the server sends rows as objects or arrays, or columns as names or `{name, type}`.
 */
import { isNumericType, isTemporalType } from './format'

/** What a column's values are for display and charts: numbers, dates/timestamps, or anything else. */
export type ColumnKind = 'number' | 'time' | 'other'

export interface Column {
  readonly name: string
  /** The SQL type name when the server says it (INTEGER, VARCHAR, TIMESTAMP, …), else ''. */
  readonly type: string
  readonly nullable: boolean | undefined
  /** From the type when there is one, else from the values (the first rows that are not NULL). */
  readonly kind: ColumnKind
}

export interface QueryResponse {
  readonly columns: readonly Column[]
  /** One array per row, values in column order, as JSON carried them. */
  readonly rows: readonly (readonly unknown[])[]
  readonly rowCount: number
  /** Which store answered: row, column, catalog, … */
  readonly engine: string
  readonly executionTimeMs: number | undefined
  readonly queryRunId: string | undefined
  readonly resultId: string | undefined
  /** Time from sending the request to having parsed the response, as the browser saw it. */
  readonly roundTripMs: number
  /** Something the server wants the person to know about an otherwise good result. */
  readonly warning: string | undefined
}

/** A failed query as the server (or the network) reported it: `{"error": {"code", "message"}}`. */
export class QueryError extends Error {
  readonly code: string
  /** HTTP status, or 0 when no response arrived. */
  readonly status: number
  /** 1-based character position in the statement, for syntax errors. */
  readonly position: number | undefined

  constructor(code: string, message: string, status: number, position?: number) {
    super(message)
    this.name = 'QueryError'
    this.code = code
    this.status = status
    this.position = position
  }
}

export interface QueryOptions {
  readonly params?: readonly unknown[] | Readonly<Record<string, unknown>>
  /** Sent as `Authorization: Bearer …` when the server requires a token. */
  readonly token?: string
  readonly signal?: AbortSignal
  /** The branch the statements run on (the request's `branch`); the server's default, main, when absent. */
  readonly branch?: string
}

/** The API's address, relative to the page, so a server mounted under a path prefix still works. */
function endpoint(path: string): string {
  return new URL(path, document.baseURI).toString()
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Rows looked at to tell a column's kind when the server sent no type. */
const kindSampleRows = 100
const isoDate = /^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$/

function kindOf(type: string, rows: readonly (readonly unknown[])[], index: number): ColumnKind {
  if (isNumericType(type)) return 'number'
  if (isTemporalType(type)) return 'time'
  if (type !== '') return 'other'
  const sample: unknown[] = []
  for (let row = 0; row < rows.length && sample.length < kindSampleRows; row += 1) {
    const value = rows[row]?.[index]
    if (value !== null && value !== undefined) sample.push(value)
  }
  if (sample.length === 0) return 'other'
  if (sample.every((value) => typeof value === 'number')) return 'number'
  if (sample.every((value) => typeof value === 'string' && isoDate.test(value))) return 'time'
  return 'other'
}

type ColumnWithoutKind = Omit<Column, 'kind'>

/** Columns as names (with `column_types` beside them) or as `{name, type}` objects. */
function normalizeColumns(body: Record<string, unknown>): ColumnWithoutKind[] {
  const raw = Array.isArray(body.columns) ? body.columns : []
  const nullable = Array.isArray(body.nullable) ? body.nullable : []
  const types = Array.isArray(body.column_types) ? body.column_types : []
  return raw.map((column: unknown, index) => {
    const nullableValue = nullable[index]
    const nullableFlag = typeof nullableValue === 'boolean' ? nullableValue : undefined
    const typeValue = types[index]
    if (typeof column === 'string') return { name: column, type: typeof typeValue === 'string' ? typeValue : '', nullable: nullableFlag }
    if (isRecord(column)) {
      return {
        name: String(column.name ?? `column${index + 1}`),
        type: typeof column.type === 'string' ? column.type : '',
        nullable: typeof column.nullable === 'boolean' ? column.nullable : nullableFlag,
      }
    }
    return { name: `column${index + 1}`, type: '', nullable: nullableFlag }
  })
}

function normalizeRows(body: Record<string, unknown>, columns: readonly ColumnWithoutKind[]): unknown[][] {
  const raw = Array.isArray(body.rows) ? body.rows : []
  return raw.map((row: unknown) => {
    if (Array.isArray(row)) return row
    if (isRecord(row)) return columns.map((column) => row[column.name])
    return [row]
  })
}

function errorFrom(body: unknown, status: number, fallbackText: string): QueryError {
  if (isRecord(body) && isRecord(body.error)) {
    const code = typeof body.error.code === 'string' ? body.error.code : `HTTP_${status}`
    const message = typeof body.error.message === 'string' ? body.error.message : fallbackText
    const position = typeof body.error.position === 'number' ? body.error.position : undefined
    return new QueryError(code, message, status, position)
  }
  const text = fallbackText.trim().slice(0, 500)
  return new QueryError(`HTTP_${status}`, text === '' ? `The server answered ${status}.` : text, status)
}

/**
 * Runs one SQL text on the server.
 *
 * @example
 * const result = await runQuery('SELECT 42 AS answer')
 * result.rows[0]?.[0] // 42
 */
export async function runQuery(sql: string, options: QueryOptions = {}): Promise<QueryResponse> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' }
  if (options.token !== undefined && options.token !== '') headers.authorization = `Bearer ${options.token}`
  const payload: Record<string, unknown> = { sql }
  if (options.params !== undefined) payload.params = options.params
  if (options.branch !== undefined && options.branch !== 'main') payload.branch = options.branch
  const started = performance.now()
  let response: Response
  try {
    response = await fetch(endpoint('query'), {
      method: 'POST',
      headers,
      body: JSON.stringify(payload),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    })
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw new QueryError('CANCELLED', 'The query was cancelled in the console.', 0)
    throw new QueryError('NETWORK', `The server could not be reached (${error instanceof Error ? error.message : String(error)}).`, 0)
  }
  const text = await response.text()
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    throw errorFrom(undefined, response.status, response.ok ? 'The server answered with something that is not JSON.' : text)
  }
  if (!response.ok || (isRecord(body) && 'error' in body)) throw errorFrom(body, response.status, text)
  if (!isRecord(body)) throw new QueryError('BAD_RESPONSE', 'The server answered with JSON that is not a query result.', response.status)
  const bareColumns = normalizeColumns(body)
  const rows = normalizeRows(body, bareColumns)
  return {
    columns: bareColumns.map((column, index) => ({ ...column, kind: kindOf(column.type, rows, index) })),
    rows,
    rowCount: typeof body.row_count === 'number' ? body.row_count : rows.length,
    engine: typeof body.engine === 'string' ? body.engine : '',
    executionTimeMs: typeof body.execution_time_ms === 'number' ? body.execution_time_ms : undefined,
    queryRunId: body.query_run_id === undefined || body.query_run_id === null ? undefined : String(body.query_run_id),
    resultId: body.result_id === undefined || body.result_id === null ? undefined : String(body.result_id),
    roundTripMs: performance.now() - started,
    warning: typeof body.warning === 'string' ? body.warning : undefined,
  }
}

/** One committed row change, as `GET /changes` sends it (values as JSON carries them, like rows above). */
export interface RowChange {
  readonly op: 'insert' | 'update' | 'delete'
  readonly table: string
  readonly txId: number
  readonly systemTime: string
  readonly before: Readonly<Record<string, unknown>> | null
  readonly after: Readonly<Record<string, unknown>> | null
}

export interface ChangeHandlers {
  /**
   * The stream (re)started: the changes that follow are those of transaction `fromTx` on. After a
   * reconnect this comes again, and a change of the transaction that was cut off may come twice, so a
   * view rebuilds its state as of `fromTx - 1` here.
   */
  readonly onStart: (fromTx: number) => void
  readonly onChange: (change: RowChange) => void
  /** The connection failed or ended; `willRetry` says whether it is being reopened. */
  readonly onInterrupted: (error: QueryError, willRetry: boolean) => void
}

/** Waited before reopening a change stream, unless the server's `retry:` says otherwise. */
const changesRetryMsDefault = 1_000

/**
 * Follows `GET /changes?tables=…` until `signal` aborts, reopening it where it stopped (Last-Event-ID)
 * when the connection drops. Read with fetch rather than EventSource, which cannot send the bearer
 * token the server may need.
 *
 * @example
 * const stop = new AbortController()
 * void watchChanges(['per_sym'], { onStart: reload, onChange: apply, onInterrupted: show }, { token, signal: stop.signal })
 */
export async function watchChanges(tables: readonly string[], handlers: ChangeHandlers, options: QueryOptions = {}): Promise<void> {
  const signal = options.signal
  // A function, not `signal.aborted` inline: TypeScript would keep its narrowing across the awaits.
  const aborted = (): boolean => signal?.aborted === true
  let lastEventId = ''
  let retryMs = changesRetryMsDefault
  while (!aborted()) {
    const headers: Record<string, string> = { accept: 'text/event-stream' }
    if (options.token !== undefined && options.token !== '') headers.authorization = `Bearer ${options.token}`
    if (lastEventId !== '') headers['last-event-id'] = lastEventId
    let failure: QueryError
    try {
      const response = await fetch(endpoint(`changes?tables=${tables.map(encodeURIComponent).join(',')}`), { headers, ...(signal === undefined ? {} : { signal }) })
      if (!response.ok || response.body === null) {
        const text = await response.text()
        let body: unknown
        try {
          body = JSON.parse(text)
        } catch {
          body = undefined
        }
        // A refusal (unknown table, no token) will not change by asking again.
        handlers.onInterrupted(errorFrom(body, response.status, text), false)
        return
      }
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
      let pending = ''
      let event = { type: '', data: '', id: undefined as string | undefined }
      for (;;) {
        const { value, done } = await reader.read()
        if (done) break
        pending += value
        // Server-sent events: fields on lines, an empty line ends an event; lines may end in CR, LF or CRLF.
        const lines = pending.split(/\r\n|\r|\n/)
        pending = lines.pop() ?? ''
        for (const line of lines) {
          if (line === '') {
            if (event.id !== undefined) lastEventId = event.id
            if (event.type === 'start') handlers.onStart(Number((JSON.parse(event.data) as { fromTx: number }).fromTx))
            else if (event.type === 'error') {
              const body = JSON.parse(event.data) as { code?: string; message?: string }
              handlers.onInterrupted(new QueryError(body.code ?? 'ERROR', body.message ?? 'The change stream failed.', 200), true)
            } else if (event.data !== '') handlers.onChange(JSON.parse(event.data) as RowChange)
            event = { type: '', data: '', id: undefined }
            continue
          }
          if (line.startsWith(':')) continue // a comment: the server's keep-alive
          const colon = line.indexOf(':')
          const field = colon < 0 ? line : line.slice(0, colon)
          const fieldValue = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
          if (field === 'data') event.data = event.data === '' ? fieldValue : `${event.data}\n${fieldValue}`
          else if (field === 'event') event.type = fieldValue
          else if (field === 'id') event.id = fieldValue
          else if (field === 'retry' && /^\d+$/.test(fieldValue)) retryMs = Number(fieldValue)
        }
      }
      failure = new QueryError('DISCONNECTED', 'The server ended the change stream.', 0)
    } catch (error) {
      if (aborted()) return
      failure = new QueryError('NETWORK', `The change stream was cut off (${error instanceof Error ? error.message : String(error)}).`, 0)
    }
    if (aborted()) return
    handlers.onInterrupted(failure, true)
    await new Promise((resolve) => setTimeout(resolve, retryMs))
  }
}
