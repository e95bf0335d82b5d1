/**
 * The web console in a real headless Chromium (Debian's `chromium`, driven by playwright-core), against
 * a real Strata database. Each test drives the page the way a person does: typing in the editor,
 * keyboard shortcuts, buttons, and reads what the page shows.
 */
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { dirname, join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { Engine } from '../src/engine/engine.js'
import { consoleAssetsDirectory } from '../src/interfaces/server/console.js'
import { startHttpServer } from '../src/interfaces/server/http/index.js'
import { temporaryDirectory } from './helpers.js'

/** This file runs as dist/test/console.test.js. */
const repositoryRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const chromiumPath = '/usr/bin/chromium'
/** Flags that work on a machine with no network beyond loopback (see the README's Web console section). */
const chromiumFlags = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/** The real HTTP API (which mounts the console with `serveConsoleAsset`) over a fresh data directory. */
async function startServer(options: { tokens?: string[] } = {}): Promise<{ url: string; close: () => Promise<void> }> {
  const directory = temporaryDirectory('console')
  const engine = await Engine.open(directory.path, {})
  const http = await startHttpServer(engine, { host: '127.0.0.1', port: 0, ...options })
  return {
    url: `http://127.0.0.1:${http.port}`,
    async close() {
      await http.close({ graceMs: 1_000 })
      await engine.close()
      directory.remove()
    },
  }
}

/** Runs SQL over the API, outside the browser (to set up data). */
async function post(url: string, sql: string): Promise<void> {
  const response = await fetch(`${url}/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sql }) })
  assert.equal(response.status, 200, await response.text())
}

/** A raw GET, so paths like `/../x` reach the server unnormalized (fetch would normalize them). */
function rawGet(url: string, path: string, method = 'GET'): Promise<{ status: number; headers: IncomingMessage['headers']; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(`${url}${path}`, { method, path }, (response) => {
      let body = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => (body += chunk))
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }))
    })
    request.on('error', reject)
    request.end()
  })
}

let server: { url: string; close: () => Promise<void> }
let context: BrowserContext
let page: Page
let userData: { path: string; remove: () => void }
const requestedUrls: string[] = []
const pageErrors: string[] = []

/** Replaces the editor's text by typing, as a person would (select all, then type). */
async function setEditorText(text: string): Promise<void> {
  await page.locator('.cm-content').click()
  await page.keyboard.press('ControlOrMeta+A')
  await page.keyboard.insertText(text)
}

async function editorText(): Promise<string> {
  return page.locator('.cm-content').innerText()
}

/** Waits until the console is no longer running a request. */
async function settled(): Promise<void> {
  await page.locator('body:not([aria-busy="true"])').waitFor()
}

/** Types `sql` and runs it with Ctrl+Enter. */
async function runInConsole(sql: string): Promise<void> {
  await setEditorText(sql)
  await page.keyboard.press('Control+Enter')
  await settled()
}

function statusPart(name: string): ReturnType<Page['locator']> {
  return page.locator(`#status [data-part="${name}"] .status-value`)
}

describe('web console', () => {
  before(async () => {
    assert.ok(existsSync(chromiumPath), `${chromiumPath} is missing: install Debian's chromium (apt-get install -y chromium; .ci/run does)`)
    server = await startServer()
    await post(server.url, 'CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner VARCHAR NOT NULL, balance DOUBLE, opened DATE)')
    await post(server.url, "INSERT INTO accounts VALUES (1, 'ann', 100.5, '2024-01-02'), (2, 'bob', 42, '2024-02-03'), (3, 'cy', NULL, '2024-03-04')")
    // Long-form data: one row per day and region; east has no row on 2024-03-02.
    await post(server.url, 'CREATE TABLE sales (day DATE, region VARCHAR, units INTEGER, PRIMARY KEY (day, region))')
    await post(
      server.url,
      "INSERT INTO sales VALUES ('2024-03-03', 'north', 13), ('2024-03-01', 'north', 11), ('2024-03-02', 'north', 12), ('2024-03-02', 'south', 22), ('2024-03-01', 'south', 21), ('2024-03-03', 'south', 23), ('2024-03-01', 'east', 31), ('2024-03-03', 'east', 33)",
    )
    userData = temporaryDirectory('chromium')
    context = await chromium.launchPersistentContext(userData.path, { executablePath: chromiumPath, headless: true, args: chromiumFlags, locale: 'en-US' })
    context.on('request', (request) => requestedUrls.push(request.url()))
    page = context.pages()[0] ?? (await context.newPage())
    page.on('pageerror', (error) => pageErrors.push(error.message))
    page.on('console', (message) => {
      // A failed query is a 4xx response, which Chromium logs; anything else in red is a console bug.
      if (message.type() === 'error' && !message.text().includes('the server responded with a status of 4')) pageErrors.push(message.text())
    })
    await page.goto(`${server.url}/`)
    await page.getByRole('textbox', { name: 'SQL editor' }).waitFor()
  })

  after(async () => {
    await context?.close()
    userData?.remove()
    await server?.close()
  })

  test('the bundle is served from the package with its content types, and nothing else is', async () => {
    const directory = consoleAssetsDirectory()
    assert.match(directory, /dist[\\/]console$/)
    assert.ok(existsSync(join(directory, 'index.html')))
    const page = await rawGet(server.url, '/')
    assert.equal(page.status, 200)
    assert.equal(page.headers['content-type'], 'text/html; charset=utf-8')
    assert.match(String(page.headers['content-security-policy']), /default-src 'self'/)
    assert.match(page.body, /<title>Strata console<\/title>/)
    assert.doesNotMatch(page.body, /https?:\/\//, 'the page links nothing outside its own origin')
    const assets = readdirSync(join(directory, 'assets'))
    const script = assets.find((name) => name.endsWith('.js'))
    const style = assets.find((name) => name.endsWith('.css'))
    assert.ok(script !== undefined && style !== undefined)
    const scriptResponse = await rawGet(server.url, `/assets/${script}`)
    assert.equal(scriptResponse.status, 200)
    assert.equal(scriptResponse.headers['content-type'], 'text/javascript; charset=utf-8')
    assert.match(String(scriptResponse.headers['cache-control']), /immutable/)
    assert.equal((await rawGet(server.url, `/assets/${style}`)).headers['content-type'], 'text/css; charset=utf-8')
    const head = await rawGet(server.url, '/', 'HEAD')
    assert.equal(head.status, 200)
    assert.equal(head.body, '')
    // Not the console's: left to the API's own routes and its JSON 404s.
    assert.equal((await rawGet(server.url, '/health')).headers['content-type'], 'application/json; charset=utf-8')
    for (const path of ['/assets/nope.js', '/../package.json', '/%2e%2e/%2e%2e/package.json', '/assets/../../package.json']) {
      const response = await rawGet(server.url, path)
      assert.equal(response.status, 404, path)
      assert.match(response.body, /"code":"NOT_FOUND"/, path)
    }
    assert.notEqual((await rawGet(server.url, '/', 'POST')).status, 200)

    // The console speaks only HTTP: no import of its source reaches outside console/ (ARCHITECTURE.md).
    const consoleSource = join(repositoryRoot, 'console', 'src')
    for (const name of readdirSync(consoleSource).filter((file) => file.endsWith('.ts'))) {
      for (const match of readFileSync(join(consoleSource, name), 'utf8').matchAll(/(?:from|import)\s*'([^']+)'/g)) {
        assert.ok(!(match[1] ?? '').startsWith('..'), `console/src/${name} imports ${match[1]}`)
      }
    }
  })

  test('runs a query with Ctrl+Enter and shows its rows, the store and the time it took', async () => {
    await runInConsole("SELECT id, owner, balance FROM accounts WHERE id = 1")
    const grid = page.getByRole('grid', { name: 'Query results' })
    await grid.getByRole('gridcell', { name: 'ann', exact: true }).waitFor()
    assert.deepEqual(await grid.getByRole('columnheader').allInnerTexts(), ['id INTEGER', 'owner VARCHAR', 'balance DOUBLE'])
    assert.equal(await statusPart('rows').innerText(), '1')
    assert.match(await statusPart('engine').innerText(), /^row store/)
    assert.match(await statusPart('time').innerText(), /^\d+(\.\d+)? (ms|s)$/)

    // An analytical query goes to the column store, and the page says so.
    await page.getByRole('textbox', { name: 'SQL editor' }).focus()
    await setEditorText('SELECT count(*) AS n, sum(balance) AS total FROM accounts')
    await page.getByRole('button', { name: 'Run', exact: true }).click()
    await settled()
    await grid.getByRole('gridcell', { name: '142.5', exact: true }).waitFor()
    assert.match(await statusPart('engine').innerText(), /^column store/)
    assert.equal(await page.getByRole('alert').isVisible(), false)
  })

  test('a DECIMAL keeps its scale: 99 in DECIMAL(10,2) shows 99.00, a 38-digit value every digit', async () => {
    await runInConsole("SELECT CAST(99 AS DECIMAL(10,2)) AS price, CAST('12345678901234567.1' AS DECIMAL(38,10)) AS big, CAST(0.5 AS DECIMAL(4,3)) AS small")
    const grid = page.getByRole('grid', { name: 'Query results' })
    await grid.getByRole('gridcell', { name: '99.00', exact: true }).waitFor()
    await grid.getByRole('gridcell', { name: '12345678901234567.1000000000', exact: true }).waitFor()
    await grid.getByRole('gridcell', { name: '0.500', exact: true }).waitFor()
  })

  test('bad SQL shows the error code and message from the server', async () => {
    await runInConsole('SELEC 1')
    const alert = page.getByRole('alert')
    await alert.waitFor()
    assert.equal(await alert.locator('.error-code').innerText(), 'SYNTAX_ERROR')
    assert.match(await alert.innerText(), /syntax error at or near "SELEC"/)
    await alert.getByRole('button', { name: 'Show in editor' }).click()
    assert.equal(await page.locator('.cm-content:focus').count(), 1, 'the editor has the focus')

    await runInConsole('SELECT * FROM no_such_table')
    assert.equal(await alert.locator('.error-code').innerText(), 'UNDEFINED_TABLE')

    // The next good query clears the error.
    await runInConsole('SELECT 1 AS one')
    assert.equal(await alert.isVisible(), false)
  })

  test('an error clears the previous result: the rows, the chart and the plan go, only the error shows', async () => {
    await runInConsole('SELECT id, owner, balance FROM accounts ORDER BY id')
    const grid = page.getByRole('grid', { name: 'Query results' })
    await grid.getByRole('gridcell', { name: 'ann', exact: true }).waitFor()
    await page.getByRole('tab', { name: 'Chart' }).click()
    const chartPanel = page.getByRole('tabpanel', { name: 'Chart' })
    await chartPanel.getByRole('button', { name: 'Draw chart' }).click()
    await chartPanel.locator('canvas').first().waitFor()
    await setEditorText('SELECT * FROM accounts')
    await page.getByRole('button', { name: 'Explain' }).click()
    await settled()

    await runInConsole('SELECT * FROM no_such_table')
    await page.getByRole('alert').waitFor()
    assert.equal(await chartPanel.locator('canvas').count(), 0, 'the old chart is gone')
    assert.doesNotMatch(await page.locator('#plan-text').innerText(), /store:/, 'the old plan is gone')
    assert.equal(await page.locator('#plan-summary dt').count(), 0)
    await page.getByRole('tab', { name: 'Results' }).click()
    assert.ok(await grid.isVisible())
    assert.equal(await grid.getByRole('gridcell').count(), 0, 'no rows of the earlier result under the error')
    assert.equal(await grid.getByRole('columnheader').count(), 0)
    assert.equal(await grid.getAttribute('aria-rowcount'), '1')
    assert.ok(await grid.getByText('No result: see the error above.').isVisible())

    await runInConsole('SELECT 7 AS seven')
    await grid.getByRole('gridcell', { name: '7', exact: true }).waitFor()
    assert.equal(await grid.getByText('No result: see the error above.').isVisible(), false)
  })

  test('column headers show their whole type label, wrapping rather than cutting it off', async () => {
    // Short names over short (or NULL) values: the type is what sets the width. The STRUCT's label is
    // longer than a column may be wide, so it must wrap inside its header.
    const wideStruct = '{a: 1, a_rather_long_field_name_number_one: 2, another_long_field_name_number_two: 3}'
    await runInConsole(`SELECT CAST(NULL AS TIMESTAMP WITH TIME ZONE) AS z, CAST(1.5 AS DECIMAL(18,3)) AS d, ${wideStruct} AS s, 1 AS n`)
    const grid = page.getByRole('grid', { name: 'Query results' })
    await grid.locator('[role="row"][aria-rowindex="2"]').waitFor()
    const headers = await grid.getByRole('columnheader').evaluateAll((cells) =>
      cells.map((cell) => {
        const label = cell.querySelector('.grid-column-type')
        const cellBox = cell.getBoundingClientRect()
        const labelBox = label?.getBoundingClientRect()
        return {
          type: label?.textContent ?? '',
          inside: labelBox !== undefined && labelBox.left >= cellBox.left - 0.5 && labelBox.right <= cellBox.right + 0.5 && labelBox.top >= cellBox.top - 0.5 && labelBox.bottom <= cellBox.bottom + 0.5,
          fits: label !== null && label.scrollWidth <= label.clientWidth,
          width: cellBox.width,
        }
      }),
    )
    assert.deepEqual(headers.map((header) => header.type.split('(')[0]), ['TIMESTAMPTZ', 'DECIMAL', 'STRUCT', 'INTEGER'])
    for (const header of headers) {
      assert.ok(header.inside, `the label ${header.type} lies inside its header cell`)
      assert.ok(header.fits, `the label ${header.type} is not clipped`)
    }
    // The rows start below the header, however tall the wrapped label made it.
    const headerBottom = await grid.locator('.grid-header').evaluate((element) => element.getBoundingClientRect().bottom)
    const firstRowTop = await grid.locator('[role="row"][aria-rowindex="2"]').evaluate((element) => element.getBoundingClientRect().top)
    assert.ok(firstRowTop >= headerBottom - 0.5, `first row at ${firstRowTop}, header ends at ${headerBottom}`)
  })

  test('a 100K-row result keeps a bounded number of rows in the DOM, and scrolling shows later rows', async () => {
    const started = Date.now()
    await runInConsole('SELECT i, i * 2 AS doubled FROM range(100000) r(i)')
    const grid = page.getByRole('grid', { name: 'Query results' })
    await grid.getByRole('gridcell', { name: '0', exact: true }).first().waitFor()
    const elapsedMs = Date.now() - started
    assert.equal(await statusPart('rows').innerText(), (100_000).toLocaleString('en-US'))
    assert.equal(await grid.getAttribute('aria-rowcount'), '100001')
    const renderedRows = async (): Promise<number> => grid.locator('.grid-spacer [role="row"]:not([hidden])').count()
    const rowsAtTop = await renderedRows()
    assert.ok(rowsAtTop > 5 && rowsAtTop < 120, `${rowsAtTop} row elements for 100K rows`)

    // Scroll to the middle, then to the end: the rows shown there are rendered, the count stays bounded.
    await grid.evaluate((viewport) => (viewport.scrollTop = 50_000 * 26))
    await grid.locator('[role="row"][aria-rowindex="50002"]').getByRole('gridcell', { name: '50000', exact: true }).waitFor()
    await grid.evaluate((viewport) => (viewport.scrollTop = viewport.scrollHeight))
    const lastRow = grid.locator('[role="row"][aria-rowindex="100001"]')
    await lastRow.getByRole('gridcell', { name: '99999', exact: true }).waitFor()
    await lastRow.getByRole('gridcell', { name: '199998', exact: true }).waitFor()
    assert.ok(await lastRow.isVisible(), 'the last row is in view')
    assert.ok((await renderedRows()) < 120)
    assert.ok((await page.locator('[role="row"]').count()) < 130, 'the whole page holds a bounded number of rows')

    // Keyboard: the grid takes focus, and End / Home scroll it.
    await grid.focus()
    await page.keyboard.press('Home')
    await grid.locator('[role="row"][aria-rowindex="2"]').waitFor()
    // Generous: a loaded CI machine; the point is that 100K rows do not take the page down.
    assert.ok(elapsedMs < 20_000, `100K rows took ${elapsedMs} ms to show`)
  })

  test('history: Ctrl+Up / Ctrl+Down walk it, and it survives a reload', async () => {
    await runInConsole('SELECT 1 AS first_query')
    await runInConsole('SELECT 2 AS second_query')
    await page.keyboard.press('Control+ArrowUp')
    assert.equal(await editorText(), 'SELECT 1 AS first_query')
    await page.keyboard.press('Control+ArrowDown')
    assert.equal(await editorText(), 'SELECT 2 AS second_query')

    await page.reload()
    await page.getByRole('textbox', { name: 'SQL editor' }).waitFor()
    const history = page.getByRole('list', { name: 'Queries run, newest first' })
    assert.deepEqual((await history.getByRole('button').allInnerTexts()).slice(0, 2), ['SELECT 2 AS second_query', 'SELECT 1 AS first_query'])
    await page.getByRole('textbox', { name: 'SQL editor' }).focus()
    await page.keyboard.press('Control+ArrowUp')
    assert.equal(await editorText(), 'SELECT 2 AS second_query')
    // Clicking an entry puts it in the editor.
    await history.getByRole('button', { name: 'SELECT 1 AS first_query' }).click()
    assert.equal(await editorText(), 'SELECT 1 AS first_query')
  })

  test('the schema browser lists tables and their columns with types, and follows DDL', async () => {
    const tables = page.getByRole('list', { name: 'Tables' })
    await tables.getByText('accounts', { exact: true }).click()
    const accountColumns = page.getByRole('list', { name: 'Columns of accounts' })
    await accountColumns.waitFor()
    assert.deepEqual(await accountColumns.getByRole('listitem').allInnerTexts(), ['id INTEGER NOT NULL', 'owner VARCHAR NOT NULL', 'balance DOUBLE', 'opened DATE'])

    // A table created in the console appears without a manual refresh.
    await runInConsole('CREATE TABLE events (id INTEGER PRIMARY KEY, at TIMESTAMP, kind VARCHAR)')
    await tables.getByText('events', { exact: true }).click()
    assert.deepEqual(await page.getByRole('list', { name: 'Columns of events' }).getByRole('listitem').allInnerTexts(), ['id INTEGER NOT NULL', 'at TIMESTAMP', 'kind VARCHAR'])

    // "Query" runs a SELECT of the table.
    await page.getByRole('button', { name: 'Query accounts' }).click()
    await settled()
    assert.match(await editorText(), /^SELECT \* FROM accounts LIMIT 100$/)
    await page.getByRole('grid', { name: 'Query results' }).getByRole('gridcell', { name: 'bob', exact: true }).waitFor()
  })

  test('EXPLAIN shows the store, the reason and the plan', async () => {
    await setEditorText('SELECT * FROM accounts WHERE id = 2;')
    await page.getByRole('button', { name: 'Explain' }).click()
    await settled()
    const plan = page.getByRole('tabpanel', { name: 'Plan' })
    await plan.waitFor()
    assert.match(await plan.getByLabel('Query plan').innerText(), /^store: row$/m)
    assert.equal(await plan.locator('dt').first().innerText(), 'store')
    assert.equal(await plan.locator('dd').first().innerText(), 'row')

    await setEditorText('SELECT owner, sum(balance) FROM accounts GROUP BY owner')
    await page.keyboard.press('Control+Shift+Enter')
    await settled()
    assert.match(await plan.getByLabel('Query plan').innerText(), /store: column/)
    assert.match(await plan.getByLabel('Query plan').innerText(), /why: /)
  })

  test('a chart appears when asked for: line over numbers, bar over names', async () => {
    await runInConsole('SELECT i AS x, i * i AS square, 10 * i AS tenfold FROM range(50) r(i)')
    await page.getByRole('tab', { name: 'Chart' }).click()
    const panel = page.getByRole('tabpanel', { name: 'Chart' })
    assert.equal(await panel.locator('canvas').count(), 0, 'no chart until one is asked for')
    await panel.getByLabel('Chart type').selectOption('line')
    await panel.getByLabel('X axis').selectOption({ label: 'x' })
    await panel.getByRole('checkbox', { name: 'square' }).check()
    await panel.getByRole('checkbox', { name: 'tenfold' }).check()
    await panel.getByRole('button', { name: 'Draw chart' }).click()
    const plot = panel.getByRole('img', { name: /^Line chart of square, tenfold by x, 50 points$/ })
    await plot.locator('canvas').waitFor()
    const box = await plot.locator('canvas').boundingBox()
    assert.ok(box !== null && box.width > 100 && box.height > 100, 'the canvas has a size')

    await runInConsole('SELECT owner, balance FROM accounts ORDER BY id')
    await page.getByRole('tab', { name: 'Chart' }).click()
    assert.equal(await panel.locator('canvas').count(), 0, 'a new result clears the old chart')
    await panel.getByLabel('Chart type').selectOption('bar')
    await panel.getByLabel('X axis').selectOption({ label: 'owner' })
    assert.equal(await panel.getByRole('checkbox', { name: 'balance' }).isChecked(), true, 'the numeric column is the default y')
    await panel.getByRole('button', { name: 'Draw chart' }).click()
    await panel.getByRole('img', { name: /^Bar chart of balance by owner/ }).locator('canvas').waitFor()
  })

  test('a chart of long-form rows draws one series per category, x sorted; y offers only numbers', async () => {
    // Rows not in day order: a line through them in row order would zig-zag.
    await runInConsole('SELECT day, region, units FROM sales ORDER BY region, day DESC')
    await page.getByRole('tab', { name: 'Chart' }).click()
    const panel = page.getByRole('tabpanel', { name: 'Chart' })
    assert.equal(await panel.getByLabel('X axis').locator('option:checked').innerText(), 'day')
    assert.equal(await panel.getByRole('combobox', { name: /^Series/ }).locator('option:checked').innerText(), 'region', 'x repeats, so the text column splits the series')
    assert.deepEqual(await panel.locator('.chart-ys label').allInnerTexts(), ['units'], 'neither the date nor the text column is offered as y')
    await panel.getByLabel('Chart type').selectOption('line')
    await panel.getByRole('button', { name: 'Draw chart' }).click()
    const plot = panel.getByRole('img', { name: 'Line chart of units by day, one series per region: 3 series, 3 x values' })
    await plot.locator('canvas').waitFor()
    // uPlot's legend: the x series, then one per region, in order of first appearance.
    assert.deepEqual(await panel.locator('.u-legend .u-series .u-label').allInnerTexts(), ['day', 'east', 'north', 'south'])
    // Hovering the left and right ends reads the first and last day: x is sorted, each region's value in its own series.
    const legendValues = async (): Promise<string[]> => panel.locator('.u-legend .u-series .u-value').allInnerTexts()
    const over = await panel.locator('.u-over').boundingBox()
    assert.ok(over !== null)
    await page.mouse.move(over.x + 1, over.y + over.height / 2)
    await panel.locator('.u-legend .u-series .u-value', { hasText: /^2024-03-01/ }).waitFor()
    assert.deepEqual((await legendValues()).slice(1), ['31', '11', '21'])
    await page.mouse.move(over.x + over.width - 1, over.y + over.height / 2)
    await panel.locator('.u-legend .u-series .u-value', { hasText: /^2024-03-03/ }).waitFor()
    assert.deepEqual((await legendValues()).slice(1), ['33', '13', '23'])

    // Bars: the same series, side by side.
    await panel.getByLabel('Chart type').selectOption('bar')
    await panel.getByRole('button', { name: 'Draw chart' }).click()
    await panel.getByRole('img', { name: 'Bar chart of units by day, one series per region: 3 series, 3 x values' }).locator('canvas').waitFor()

    // "(none)" draws the rows as one series again.
    await panel.getByRole('combobox', { name: /^Series/ }).selectOption({ label: '(none)' })
    await panel.getByLabel('Chart type').selectOption('line')
    await panel.getByRole('button', { name: 'Draw chart' }).click()
    await panel.getByRole('img', { name: 'Line chart of units by day, 8 points' }).locator('canvas').waitFor()

    // More categories than the cap: the largest are drawn, and the rest are counted.
    await runInConsole("SELECT i % 3 AS x, 'c' || i AS cat, i AS v FROM range(30) r(i)")
    await page.getByRole('tab', { name: 'Chart' }).click()
    await panel.getByRole('button', { name: 'Draw chart' }).click()
    await panel.getByRole('img', { name: /one series per cat: 20 series, 3 x values$/ }).locator('canvas').waitFor()
    assert.equal(await panel.locator('.u-legend .u-series').count(), 21)
    assert.match(await panel.getByRole('status').innerText(), /10 more cat values not drawn: at most 20 series, the largest by total v are shown/)
    // The largest ten by v (c20…c29) are among those drawn; the smallest are not.
    const drawn = await panel.locator('.u-legend .u-series .u-label').allInnerTexts()
    assert.ok(drawn.includes('c29') && drawn.includes('c10') && !drawn.includes('c9') && !drawn.includes('c0'), drawn.join(' '))

    // One row per x: no series by default, and text columns are never a y.
    await runInConsole('SELECT id, owner, balance, opened FROM accounts ORDER BY id')
    await page.getByRole('tab', { name: 'Chart' }).click()
    assert.equal(await panel.getByLabel('X axis').locator('option:checked').innerText(), 'opened')
    assert.equal(await panel.getByRole('combobox', { name: /^Series/ }).locator('option:checked').innerText(), '(none)')
    assert.deepEqual(await panel.locator('.chart-ys label').allInnerTexts(), ['id', 'balance'])
    await panel.getByLabel('X axis').selectOption({ label: 'owner' })
    assert.deepEqual(await panel.locator('.chart-ys label').allInnerTexts(), ['id', 'balance'])
    assert.deepEqual(await panel.getByRole('combobox', { name: /^Series/ }).locator('option').allInnerTexts(), ['(none)', 'id', 'balance', 'opened'])
  })

  test('completion offers the columns of the tables the statement names', async () => {
    const editor = page.getByRole('textbox', { name: 'SQL editor' })
    /** The completion list's labels with the cursor `fromEnd` characters before the end of `text`. */
    const completions = async (text: string, fromEnd = 0): Promise<string[]> => {
      await setEditorText(text)
      for (let step = 0; step < fromEnd; step += 1) await page.keyboard.press('ArrowLeft')
      await page.keyboard.press('Control+Space')
      const list = page.locator('.cm-tooltip-autocomplete')
      await list.waitFor()
      const labels = await list.locator('.cm-completionLabel').allInnerTexts()
      await page.keyboard.press('Escape')
      await list.waitFor({ state: 'detached' })
      return labels
    }
    await editor.focus()
    const accountColumns = ['id', 'owner', 'balance', 'opened']
    const includesAll = (labels: readonly string[], wanted: readonly string[]): boolean => wanted.every((label) => labels.includes(label))

    const afterWhere = await completions('SELECT * FROM accounts WHERE ')
    assert.ok(includesAll(afterWhere, accountColumns), afterWhere.slice(0, 20).join(' '))
    assert.deepEqual(afterWhere.slice(0, 4).sort(), [...accountColumns].sort(), 'columns come before table names and keywords')
    assert.ok(!afterWhere.includes('region'), 'not the columns of a table the statement does not name')
    // The SELECT list, before the FROM that names the table.
    assert.ok((await completions('SELECT ow FROM accounts', ' FROM accounts'.length)).includes('owner'))
    // ON, GROUP BY and ORDER BY; tables with aliases; several tables.
    const onClause = await completions('SELECT * FROM accounts AS a JOIN sales s ON ')
    assert.ok(includesAll(onClause, [...accountColumns, 'day', 'region', 'units']), onClause.slice(0, 20).join(' '))
    assert.ok((await completions('SELECT region, sum(units) FROM sales GROUP BY ')).includes('region'))
    assert.ok((await completions('SELECT region, sum(units) FROM sales GROUP BY region ORDER BY ')).includes('units'))
    assert.ok(includesAll(await completions('SELECT * FROM accounts acc WHERE acc.'), accountColumns))
    // A subquery sees its own table.
    assert.ok((await completions('SELECT * FROM accounts WHERE id IN (SELECT  FROM sales)', ' FROM sales)'.length)).includes('units'))
    // Where a table name goes, tables and not columns.
    const afterFrom = await completions('SELECT * FROM acc')
    assert.ok(afterFrom.includes('accounts'))
    assert.ok(!afterFrom.includes('owner'), afterFrom.slice(0, 20).join(' '))
  })

  test('a server that needs a token: the console says so, takes one, and runs with it', async () => {
    const guarded = await startServer({ tokens: ['console-secret'] })
    const guardedPage = await context.newPage()
    try {
      await guardedPage.goto(`${guarded.url}/`)
      await guardedPage.locator('.cm-content').click()
      await guardedPage.keyboard.insertText('SELECT 42 AS answer')
      await guardedPage.keyboard.press('Control+Enter')
      const alert = guardedPage.getByRole('alert')
      await alert.waitFor()
      assert.equal(await alert.locator('.error-code').innerText(), 'UNAUTHORIZED')
      const tokenInput = guardedPage.getByLabel('Bearer token (kept for this tab only)')
      assert.ok(await tokenInput.isVisible(), 'the token form opens')
      await tokenInput.fill('console-secret')
      await guardedPage.getByRole('button', { name: 'Save' }).click()
      await guardedPage.getByRole('button', { name: 'Run', exact: true }).click()
      await guardedPage.getByRole('grid', { name: 'Query results' }).getByRole('gridcell', { name: '42', exact: true }).waitFor()
      assert.equal(await alert.isVisible(), false)
    } finally {
      await guardedPage.close()
      await guarded.close()
    }
  })

  test('the branch picker runs statements on the branch picked; the Diff view shows a table’s rows side by side', async () => {
    await post(server.url, 'CREATE TABLE items (id INTEGER PRIMARY KEY, name VARCHAR, qty INTEGER)')
    await post(server.url, "INSERT INTO items VALUES (1, 'bolt', 10), (2, 'nut', 20), (3, 'gear', 30)")
    // Made in the console: the picker reads the list again after CREATE BRANCH.
    await runInConsole('CREATE BRANCH "feature/stock"')
    const picker = page.getByLabel('Branch', { exact: true })
    await picker.locator('option[value="feature/stock"]').waitFor({ state: 'attached' })
    assert.deepEqual(await picker.locator('option').allInnerTexts(), ['main', 'feature/stock'])
    await picker.selectOption('feature/stock')
    await runInConsole("UPDATE items SET qty = 11 WHERE id = 1; DELETE FROM items WHERE id = 3; INSERT INTO items VALUES (4, 'cog', 40)")
    await runInConsole('SELECT id, qty FROM items ORDER BY id')
    const grid = page.getByRole('grid', { name: 'Query results' })
    await grid.getByRole('gridcell', { name: '40', exact: true }).waitFor()
    assert.equal(await grid.getByRole('gridcell', { name: '30', exact: true }).count(), 0)
    // Back on main, main's rows: the branch's writes stayed there.
    await picker.selectOption('main')
    await runInConsole('SELECT id, qty FROM items ORDER BY id')
    await grid.getByRole('gridcell', { name: '30', exact: true }).waitFor()
    assert.equal(await grid.getByRole('gridcell', { name: '40', exact: true }).count(), 0)
    // USE BRANCH typed in the editor moves the picker.
    await runInConsole('USE BRANCH "feature/stock"')
    assert.equal(await picker.inputValue(), 'feature/stock')
    await picker.selectOption('main')

    await page.getByRole('tab', { name: 'Diff' }).click()
    const panel = page.getByRole('tabpanel', { name: 'Diff' })
    await panel.getByLabel('Table').selectOption('items')
    // The view reads the tables and branches again when it opens.
    await panel.getByLabel('To').locator('option[value="feature/stock"]').waitFor({ state: 'attached' })
    await panel.getByLabel('From').selectOption('main')
    await panel.getByLabel('To').selectOption('feature/stock')
    await panel.getByRole('button', { name: 'Compare' }).click()
    await panel.getByText('items: 1 added · 1 removed · 1 modified (main → feature/stock)').waitFor()
    const table = panel.getByRole('table', { name: 'Rows that differ' })
    const header = await table.locator('thead tr').first().locator('th').allInnerTexts()
    assert.deepEqual(header, ['Change', 'Before (main)', 'After (feature/stock)'])
    assert.deepEqual(await table.locator('thead tr').nth(1).locator('th').allInnerTexts(), ['id', 'name', 'qty', 'id', 'name', 'qty'])
    const rows = table.locator('tbody tr')
    assert.equal(await rows.count(), 3)
    const cells = async (index: number): Promise<string[]> => rows.nth(index).locator('td').allInnerTexts()
    assert.deepEqual(await cells(0), ['modified', '1', 'bolt', '10', '1', 'bolt', '11'])
    assert.deepEqual(await cells(1), ['removed', '3', 'gear', '30', '', '', ''])
    assert.deepEqual(await cells(2), ['added', '', '', '', '4', 'cog', '40'])
    // Only the cell that changed is marked, on both sides; the rows carry their kind.
    assert.deepEqual(await rows.nth(0).locator('td.diff-changed').allInnerTexts(), ['10', '11'])
    assert.deepEqual(await table.locator('tbody tr').evaluateAll((lines) => lines.map((line) => line.className)), ['diff-modified', 'diff-removed', 'diff-added'])
    // Comparing a branch with itself: nothing differs.
    await panel.getByLabel('To').selectOption('main')
    await panel.getByRole('button', { name: 'Compare' }).click()
    await panel.getByText('No differences in items between main and main.').waitFor()
    await page.getByRole('tab', { name: 'Results' }).click()
  })

  test('the page made no request outside its own origin and logged no errors', () => {
    assert.ok(requestedUrls.length > 0)
    assert.deepEqual(requestedUrls.filter((url) => !url.startsWith('http://127.0.0.1:')), [])
    assert.deepEqual(pageErrors, [])
  })
})
