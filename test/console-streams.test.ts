/**
 * Live streams over HTTP: `GET /changes` (server-sent events) read by a plain HTTP client, and the web
 * console's Streams view in a real headless Chromium showing a stream's rows change as events are
 * pushed with `POST /sources/{name}` — without a reload.
 */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { after, before, describe, test } from 'node:test'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { Engine } from '../src/engine/engine.js'
import { startHttpServer, type HttpServer } from '../src/interfaces/server/http/index.js'
import { temporaryDirectory } from './helpers.js'

const chromiumPath = '/usr/bin/chromium'
/** As in test/console.test.ts: flags for a machine with no network beyond loopback. */
const chromiumFlags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
/** Every wait below is bounded by this: long for a loaded 2-core machine, short next to a hang. */
const waitMs = 15_000

interface Running {
  readonly url: string
  readonly engine: Engine
  readonly http: HttpServer
  close(): Promise<void>
}

async function startServer(options: { tokens?: string[]; readOnlyTokens?: string[]; changesKeepAliveMs?: number } = {}): Promise<Running> {
  const directory = temporaryDirectory('console-streams')
  const engine = await Engine.open(directory.path, {})
  const http = await startHttpServer(engine, { host: '127.0.0.1', port: 0, ...options })
  return {
    url: `http://127.0.0.1:${http.port}`,
    engine,
    http,
    async close() {
      await http.close({ graceMs: 1_000 })
      await engine.close()
      directory.remove()
    },
  }
}

async function post(url: string, sql: string, headers: Record<string, string> = {}): Promise<void> {
  const response = await fetch(`${url}/query`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ sql }) })
  assert.equal(response.status, 200, await response.text())
}

/** Pushes events as NDJSON; returns the batch's transaction id. */
async function push(url: string, source: string, events: readonly Record<string, unknown>[], headers: Record<string, string> = {}): Promise<number> {
  const response = await fetch(`${url}/sources/${source}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson', ...headers },
    body: events.map((event) => JSON.stringify(event)).join('\n'),
  })
  const body = (await response.json()) as { accepted: number; tx_id: number }
  assert.equal(response.status, 200, JSON.stringify(body))
  assert.equal(body.accepted, events.length)
  return body.tx_id
}

/** Waits until `check` holds, polling; fails after `waitMs`. */
async function eventually(what: string | (() => string), check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + waitMs
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${typeof what === 'string' ? what : what()}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

interface SseEvent {
  readonly type: string
  readonly id: string | undefined
  readonly data: string
}

/** A server-sent event stream read with fetch: its events and comments in order, as they arrive. */
class SseClient {
  readonly events: SseEvent[] = []
  readonly comments: string[] = []
  ended = false
  private readonly controller = new AbortController()

  static async open(url: string, headers: Record<string, string> = {}): Promise<{ client: SseClient; response: Response }> {
    const client = new SseClient()
    const response = await fetch(url, { headers, signal: client.controller.signal })
    if (response.ok) void client.read(response)
    return { client, response }
  }

  private async read(response: Response): Promise<void> {
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
    let pending = ''
    let event = { type: 'message', id: undefined as string | undefined, data: [] as string[] }
    try {
      for (;;) {
        const { value, done } = await reader.read()
        if (done) break
        pending += value
        const lines = pending.split('\n')
        pending = lines.pop()!
        for (const line of lines) {
          if (line === '') {
            if (event.data.length > 0 || event.id !== undefined) this.events.push({ type: event.type, id: event.id, data: event.data.join('\n') })
            event = { type: 'message', id: undefined, data: [] }
          } else if (line.startsWith(':')) this.comments.push(line.slice(1).trim())
          else {
            const colon = line.indexOf(':')
            const field = line.slice(0, colon)
            const fieldValue = line.slice(colon + 1).replace(/^ /, '')
            if (field === 'data') event.data.push(fieldValue)
            else if (field === 'id') event.id = fieldValue
            else if (field === 'event') event.type = fieldValue
          }
        }
      }
    } catch {
      // Aborted by close().
    }
    this.ended = true
  }

  /** Waits for at least `count` events and returns the first `count`. */
  async take(count: number): Promise<SseEvent[]> {
    await eventually(() => `${count} events (have ${this.events.length})`, () => this.events.length >= count)
    return this.events.slice(0, count)
  }

  changes(): { op: string; table: string; txId: number; before: Record<string, unknown> | null; after: Record<string, unknown> | null; id: string | undefined }[] {
    return this.events.filter((event) => event.type === 'message').map((event) => ({ ...(JSON.parse(event.data) as { op: string; table: string; txId: number; before: Record<string, unknown> | null; after: Record<string, unknown> | null }), id: event.id }))
  }

  close(): void {
    this.controller.abort()
  }
}

describe('GET /changes: committed changes as server-sent events', () => {
  let server: Running
  const auth = { authorization: 'Bearer full-token' }
  const readOnly = { authorization: 'Bearer reader-token' }

  before(async () => {
    server = await startServer({ tokens: ['full-token'], readOnlyTokens: ['reader-token'], changesKeepAliveMs: 100 })
    await post(server.url, 'CREATE SOURCE trades (sym VARCHAR NOT NULL, qty INTEGER, ts TIMESTAMP, WATERMARK FOR ts)', auth)
    await post(server.url, 'CREATE STREAM per_sym AS SELECT sym, count(*) AS n, sum(qty) AS q FROM trades GROUP BY sym EMIT CHANGES', auth)
  })
  after(async () => server?.close())

  test('one event per change in commit order, the id on the last change of each transaction; resumable by Last-Event-ID and fromTx', async () => {
    // A read-only token may read the changes.
    const { client, response } = await SseClient.open(`${server.url}/changes?tables=per_sym`, readOnly)
    assert.equal(response.status, 200)
    assert.equal(response.headers.get('content-type'), 'text/event-stream; charset=utf-8')
    assert.equal(response.headers.get('cache-control'), 'no-store')
    const [start] = await client.take(1)
    assert.equal(start!.type, 'start')
    const { fromTx } = JSON.parse(start!.data) as { fromTx: number }
    assert.equal(start!.id, String(fromTx - 1), 'the start event says where the stream begins, for a reconnect before any change')

    const first = await push(server.url, 'trades', [
      { sym: 'a', qty: 1, ts: '2024-01-01T00:00:00Z' },
      { sym: 'b', qty: 2, ts: '2024-01-01T00:00:01Z' },
    ], auth)
    assert.ok(first >= fromTx)
    const second = await push(server.url, 'trades', [{ sym: 'a', qty: 5, ts: '2024-01-01T00:00:02Z' }], auth)
    await client.take(4)
    const changes = client.changes()
    assert.deepEqual(
      changes.map(({ op, table, txId, before, after, id }) => ({ op, table, txId, before, after, id })),
      [
        { op: 'insert', table: 'per_sym', txId: first, before: null, after: { sym: 'a', n: 1, q: 1 }, id: undefined },
        { op: 'insert', table: 'per_sym', txId: first, before: null, after: { sym: 'b', n: 1, q: 2 }, id: String(first) },
        { op: 'update', table: 'per_sym', txId: second, before: { sym: 'a', n: 1, q: 1 }, after: { sym: 'a', n: 2, q: 6 }, id: String(second) },
      ],
    )
    const systemTime = (JSON.parse(client.events[1]!.data) as { systemTime: string }).systemTime
    assert.match(systemTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/)
    // Nothing happens for a while: keep-alive comments keep the connection in use.
    await eventually('a keep-alive comment', () => client.comments.includes('keep-alive'))
    client.close()

    // An EventSource reconnecting after the first batch sends its id: the stream resumes after it.
    const resumed = await SseClient.open(`${server.url}/changes?tables=per_sym`, { ...readOnly, 'last-event-id': String(first) })
    const [resumedStart, update] = await resumed.client.take(2)
    assert.equal(resumedStart!.id, String(first))
    assert.equal(JSON.parse(resumedStart!.data).fromTx, first + 1)
    assert.deepEqual(JSON.parse(update!.data).after, { sym: 'a', n: 2, q: 6 })
    assert.equal(update!.id, String(second))
    resumed.client.close()

    // ?fromTx= starts at that transaction: every change of the first batch again.
    const replay = await SseClient.open(`${server.url}/changes?tables=per_sym,trades&fromTx=${first}`, auth)
    await replay.client.take(1 + 6)
    assert.deepEqual(
      replay.client.changes().map((change) => [change.table, change.op, change.txId]),
      [
        ['per_sym', 'insert', first],
        ['per_sym', 'insert', first],
        ['trades', 'insert', first],
        ['trades', 'insert', first],
        ['per_sym', 'update', second],
        ['trades', 'insert', second],
      ],
    )
    assert.deepEqual(replay.client.changes().map((change) => change.id), [undefined, undefined, undefined, String(first), undefined, String(second)])
    replay.client.close()
  })

  test('a client that goes away closes its feed: nothing is left open in the server or the engine', async () => {
    await eventually('earlier streams closed', () => server.engine.openFeedCount === 0 && server.http.changeStreamCount() === 0)
    const clients = await Promise.all([1, 2, 3].map(() => SseClient.open(`${server.url}/changes?tables=per_sym`, auth)))
    await Promise.all(clients.map(({ client }) => client.take(1)))
    assert.equal(server.engine.openFeedCount, 3)
    assert.equal(server.http.changeStreamCount(), 3)
    const metrics = async (): Promise<string> => (await fetch(`${server.url}/metrics`, { headers: auth })).text()
    assert.match(await metrics(), /^strata_http_change_streams 3$/m)
    for (const { client } of clients) client.close()
    await eventually('the feeds to close', () => server.engine.openFeedCount === 0 && server.http.changeStreamCount() === 0)
    assert.match(await metrics(), /^strata_http_change_streams 0$/m)
    // The connections themselves went too (only the one /metrics used may linger, kept alive).
    await eventually('the connections to close', () => server.http.connectionCount() <= 1)
  })

  test('refusals: no token, an unknown table, a bad fromTx or Last-Event-ID, a POST — as JSON errors, with no feed left open', async () => {
    const refused = async (path: string, headers: Record<string, string>, status: number, code: string, method = 'GET'): Promise<void> => {
      const response = await fetch(`${server.url}${path}`, { method, headers })
      assert.equal(response.status, status, path)
      assert.equal(((await response.json()) as { error: { code: string } }).error.code, code, path)
    }
    await refused('/changes?tables=per_sym', {}, 401, 'UNAUTHORIZED')
    await refused('/changes?tables=nope', auth, 422, 'UNDEFINED_TABLE')
    await refused('/changes?tables=per_sym,', auth, 400, 'BAD_REQUEST')
    await refused('/changes?tables=per_sym&fromTx=0', auth, 400, 'BAD_REQUEST')
    await refused('/changes?tables=per_sym&fromTx=1.5', auth, 400, 'BAD_REQUEST')
    await refused('/changes?tables=per_sym', { ...auth, 'last-event-id': 'x' }, 400, 'BAD_REQUEST')
    await refused('/changes?tables=per_sym', auth, 405, 'METHOD_NOT_ALLOWED', 'POST')
    assert.equal(server.engine.openFeedCount, 0)
  })

  test('shutting the server down ends open streams at once, not after the grace period', async () => {
    const own = await startServer()
    try {
      await post(own.url, 'CREATE TABLE t (id INTEGER PRIMARY KEY)')
      const { client } = await SseClient.open(`${own.url}/changes`)
      await client.take(1)
      const startedMs = Date.now()
      await own.http.close({ graceMs: 10_000 })
      assert.ok(Date.now() - startedMs < 5_000, `close took ${Date.now() - startedMs} ms`)
      await eventually('the stream to end', () => client.ended)
      assert.equal(own.engine.openFeedCount, 0)
    } finally {
      await own.close()
    }
  })
})

describe('web console: Streams view in Chromium', () => {
  let server: Running
  let context: BrowserContext
  let page: Page
  let userData: { path: string; remove: () => void }
  const pageErrors: string[] = []

  before(async () => {
    assert.ok(existsSync(chromiumPath), `${chromiumPath} is missing: install Debian's chromium (apt-get install -y chromium; .ci/run does)`)
    server = await startServer()
    await post(server.url, 'CREATE SOURCE trades (sym VARCHAR NOT NULL, qty INTEGER, ts TIMESTAMP, WATERMARK FOR ts)')
    // HAVING drops a group's row once its quantity reaches 100: a delete.
    await post(server.url, 'CREATE STREAM per_sym AS SELECT sym, count(*) AS n, sum(qty) AS q FROM trades GROUP BY sym HAVING sum(qty) < 100 EMIT CHANGES')
    await push(server.url, 'trades', [{ sym: 'a', qty: 1, ts: '2024-01-01T00:00:00Z' }])
    userData = temporaryDirectory('chromium')
    context = await chromium.launchPersistentContext(userData.path, { executablePath: chromiumPath, headless: true, args: chromiumFlags, locale: 'en-US' })
    page = context.pages()[0] ?? (await context.newPage())
    page.on('pageerror', (error) => pageErrors.push(error.message))
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text())
    })
    await page.goto(`${server.url}/`)
    await page.getByRole('textbox', { name: 'SQL editor' }).waitFor()
  })

  after(async () => {
    await context?.close()
    userData?.remove()
    await server?.close()
  })

  test("a watched stream's rows appear, update in place and go as events are pushed, and its counters follow", async () => {
    await page.getByRole('tab', { name: 'Streams' }).click()
    const panel = page.getByRole('tabpanel', { name: 'Streams' })
    const list = panel.getByRole('table', { name: 'Streams' })
    const streamRow = list.getByRole('row').filter({ hasText: 'per_sym' })
    await streamRow.waitFor({ timeout: waitMs })
    assert.deepEqual(await list.getByRole('columnheader').allInnerTexts(), ['Stream', 'Source', 'Watermark', 'Events in', 'Events out', 'State rows', 'Last checkpoint', ''])
    const cells = async (): Promise<string[]> => streamRow.getByRole('cell').allInnerTexts()
    assert.deepEqual((await cells()).slice(0, 5), ['per_sym', 'trades', '2024-01-01T00:00:00.000000Z', '1', '1'])

    // A marker on the page's window: a reload would lose it.
    await page.evaluate(() => ((globalThis as unknown as { liveMarker: number }).liveMarker = 1))
    await panel.getByRole('button', { name: 'Watch per_sym' }).click()
    const rows = panel.getByRole('table', { name: 'Rows of per_sym' })
    /** The live table's body rows as text, in order. */
    const shown = async (): Promise<string[][]> =>
      rows.locator('tbody tr').evaluateAll((lines) => lines.map((line) => [...line.querySelectorAll('td')].map((cell) => cell.textContent ?? '')))
    await eventually('the row of a', async () => JSON.stringify(await shown()) === JSON.stringify([['a', '1', '1']]))
    assert.deepEqual(await rows.getByRole('columnheader').allInnerTexts(), ['sym', 'n', 'q'])

    // A new group appears; an existing one changes in place (the same row, not a second one).
    await push(server.url, 'trades', [
      { sym: 'b', qty: 2, ts: '2024-01-01T00:00:01Z' },
      { sym: 'a', qty: 5, ts: '2024-01-01T00:00:02Z' },
    ])
    await eventually('b inserted and a updated', async () => JSON.stringify(await shown()) === JSON.stringify([['a', '2', '6'], ['b', '1', '2']]))
    await eventually('the counters', async () => (await cells())[3] === '3')

    // A second push updates a row again, in place; one past HAVING's bound deletes the other.
    await push(server.url, 'trades', [
      { sym: 'b', qty: 10, ts: '2024-01-01T00:00:03Z' },
      { sym: 'a', qty: 200, ts: '2024-01-01T00:00:04Z' },
    ])
    await eventually('b updated and a deleted', async () => JSON.stringify(await shown()) === JSON.stringify([['b', '2', '12']]))
    let counters: string[] = []
    await eventually('the counters again', async () => {
      counters = await cells()
      return counters[3] === '5' && counters[2] === '2024-01-01T00:00:04.000000Z'
    }).catch((error: unknown) => assert.fail(`${String(error)}: ${counters.join(' | ')}`))
    assert.match(await panel.getByRole('status').last().innerText(), /^Live: 1 row, as of transaction \d+\.$/)
    assert.equal(await page.evaluate(() => (globalThis as unknown as { liveMarker?: number }).liveMarker), 1, 'the page was not reloaded')
  })

  test("the browser's own EventSource reads /changes: events in order, lastEventId the transaction's", async () => {
    const txId = await (async () => {
      const received = page.evaluate(
        (waitForMs) =>
          new Promise<{ starts: number; changes: { op: string; after: unknown; lastEventId: string }[] }>((resolve, reject) => {
            const source = new EventSource('/changes?tables=per_sym')
            let starts = 0
            const changes: { op: string; after: unknown; lastEventId: string }[] = []
            const timer = setTimeout(() => {
              source.close()
              reject(new Error(`no change within ${waitForMs} ms`))
            }, waitForMs)
            source.addEventListener('start', () => {
              starts += 1
              ;(globalThis as unknown as { eventSourceOpen: boolean }).eventSourceOpen = true
            })
            source.onmessage = (event: { readonly data: string; readonly lastEventId: string }) => {
              const change = JSON.parse(event.data) as { op: string; after: unknown }
              changes.push({ op: change.op, after: change.after, lastEventId: event.lastEventId })
              if (changes.length === 2) {
                clearTimeout(timer)
                source.close()
                resolve({ starts, changes })
              }
            }
          }),
        waitMs,
      )
      await page.waitForFunction(() => (globalThis as unknown as { eventSourceOpen?: boolean }).eventSourceOpen === true, undefined, { timeout: waitMs })
      const pushed = await push(server.url, 'trades', [
        { sym: 'c', qty: 1, ts: '2024-01-01T00:00:05Z' },
        { sym: 'd', qty: 1, ts: '2024-01-01T00:00:06Z' },
      ])
      const { starts, changes } = await received
      assert.equal(starts, 1)
      assert.deepEqual(changes.map((change) => [change.op, change.after]), [['insert', { sym: 'c', n: 1, q: 1 }], ['insert', { sym: 'd', n: 1, q: 1 }]])
      // The first change of the transaction carries the start's id, the last its own: a reconnect resumes after it.
      assert.equal(changes[1]!.lastEventId, String(pushed))
      assert.equal(changes[0]!.lastEventId, String(pushed - 1))
      return pushed
    })()
    // The console's own view saw the same transaction.
    await eventually('the console view', async () => /as of transaction (\d+)/.exec(await page.getByRole('tabpanel', { name: 'Streams' }).getByRole('status').last().innerText())?.[1] === String(txId))
    await eventually('the EventSource to close on the server', () => server.engine.openFeedCount === 1)
  })

  test('the page logged no errors', () => {
    assert.deepEqual(pageErrors, [])
  })
})
