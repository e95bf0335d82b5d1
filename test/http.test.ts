/**
 * The HTTP API (issue 4), driven over real HTTP with fetch against the server on a free loopback port:
 * every endpoint, every error status, value encodings, persisted results, streaming, auth, timeouts,
 * a disconnecting client, and a bounded load test.
 */
import assert from 'node:assert/strict'
import { request as httpRequest } from 'node:http'
import { connect, type Socket } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { RecordBatchReader } from 'apache-arrow'
import { Engine } from '../src/engine/engine.js'
import { startHttpServer, type HttpServer } from '../src/interfaces/server/http/index.js'
import { temporaryDirectory } from './helpers.js'

interface Served {
  readonly engine: Engine
  readonly http: HttpServer
  readonly base: string
  stop(): Promise<void>
}

async function serve(
  options: { tokens?: string[]; readOnlyTokens?: string[]; requestBodyBytesMax?: number; statementTimeoutMs?: number; connectionsMax?: number; resultsKeptMax?: number; resultsKeptRowsMax?: number } = {},
  directory = temporaryDirectory('http'),
): Promise<Served> {
  const engine = await Engine.open(directory.path, {})
  const http = await startHttpServer(engine, { host: '127.0.0.1', port: 0, ...options })
  return {
    engine,
    http,
    base: `http://127.0.0.1:${http.port}`,
    async stop() {
      await http.close({ graceMs: 1_000 })
      await engine.close()
      directory.remove()
    },
  }
}

interface QueryResponse {
  query_run_id: string
  result_id: string | null
  columns: string[]
  column_types: string[]
  nullable: boolean[]
  rows: unknown[][]
  row_count: number
  execution_time_ms: number
  engine: string
  tx_id?: number
  warning?: string
}

interface ErrorResponse {
  error: { code: string; message: string; position?: number }
}

async function post(base: string, body: unknown, init: { headers?: Record<string, string>; path?: string; signal?: AbortSignal } = {}): Promise<Response> {
  return fetch(`${base}${init.path ?? '/query'}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...init.headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...(init.signal === undefined ? {} : { signal: init.signal }),
  })
}

async function query(base: string, body: Record<string, unknown>): Promise<QueryResponse> {
  const response = await post(base, body)
  const json = (await response.json()) as QueryResponse | ErrorResponse
  assert.equal(response.status, 200, JSON.stringify(json))
  return json as QueryResponse
}

async function expectError(response: Response, status: number, code: string): Promise<ErrorResponse['error']> {
  const text = await response.text()
  assert.equal(response.status, status, text)
  assert.match(response.headers.get('content-type') ?? '', /application\/json/)
  const body = JSON.parse(text) as ErrorResponse
  assert.equal(body.error.code, code, text)
  assert.equal(typeof body.error.message, 'string')
  return body.error
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

async function readyResult(base: string, id: string): Promise<Record<string, unknown>> {
  return readyResultWith(base, id, {})
}

async function readyResultWith(base: string, id: string, headers: Record<string, string>): Promise<Record<string, unknown>> {
  return waitFor(`result ${id}`, async () => {
    const body = (await (await fetch(`${base}/results/${id}`, { headers })).json()) as Record<string, unknown>
    if (body['status'] === 'failed') throw new Error(`result ${id} failed: ${String(body['error_message'])}`)
    return body['status'] === 'ready' ? body : undefined
  })
}

describe('HTTP API', () => {
  let served: Served
  before(async () => {
    served = await serve()
    await query(served.base, {
      sql: `CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL, born DATE, seen TIMESTAMP, big BIGINT, photo BLOB, score DOUBLE, tags JSON, balance DECIMAL(10,2))`,
    })
  })
  after(async () => served.stop())

  test('POST /query: the response shape, and values encoded as documented', async () => {
    const inserted = await query(served.base, {
      sql: 'INSERT INTO people VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id',
      params: [1, 'ann', '1990-05-17', '2024-01-02 03:04:05.678901', '9007199254740993', 'AQID', 1.5, { langs: ['sql'] }, 12.5],
    })
    assert.equal(inserted.engine, 'row')
    assert.equal(typeof inserted.tx_id, 'number')
    assert.deepEqual(inserted.rows, [[1]])
    await query(served.base, { sql: "INSERT INTO people (id, name, big, score) VALUES (2, 'bob', 7, 2.5)" })
    const selected = await query(served.base, { sql: 'SELECT id, name, born, seen, big, photo, score, tags, balance FROM people WHERE id = $1', params: [1] })
    assert.deepEqual(Object.keys(selected).sort(), ['column_types', 'columns', 'engine', 'execution_time_ms', 'nullable', 'query_run_id', 'result_id', 'row_count', 'rows'])
    assert.match(selected.query_run_id, /^qrun_[0-9a-z]{26}$/)
    assert.match(selected.result_id ?? '', /^rslt_[0-9a-z]{26}$/)
    assert.deepEqual(selected.columns, ['id', 'name', 'born', 'seen', 'big', 'photo', 'score', 'tags', 'balance'])
    assert.deepEqual(selected.column_types, ['INTEGER', 'VARCHAR', 'DATE', 'TIMESTAMP', 'BIGINT', 'BLOB', 'DOUBLE', 'JSON', 'DECIMAL(10,2)'])
    // id is the primary key and name is NOT NULL; the rest may be NULL.
    assert.deepEqual(selected.nullable, [false, false, true, true, true, true, true, true, true])
    // The persisted result and the NDJSON head say the same.
    assert.deepEqual((await readyResult(served.base, selected.result_id!))['nullable'], selected.nullable)
    const streamedHead = JSON.parse((await (await post(served.base, { sql: 'SELECT id, name, born FROM people' }, { headers: { accept: 'application/x-ndjson' } })).text()).split('\n')[0]!) as { nullable: boolean[] }
    assert.deepEqual(streamedHead.nullable, [false, false, true])
    assert.equal(selected.row_count, 1)
    assert.equal(selected.engine, 'row')
    assert.ok(selected.execution_time_ms >= 0)
    // 'AQID' went in as text; the BLOB holds its bytes, and comes back as their base64.
    const photo = Buffer.from('AQID').toString('base64')
    // Timestamps: ISO 8601 with the six digits stored; 2^53 + 1 as a string.
    assert.deepEqual(selected.rows, [[1, 'ann', '1990-05-17', '2024-01-02T03:04:05.678901Z', '9007199254740993', photo, 1.5, { langs: ['sql'] }, 12.5]])
    // Arrow IPC keeps the microseconds too (a microsecond timestamp's raw Int64 data).
    const arrowRow = await post(served.base, { sql: 'SELECT seen FROM people WHERE id = 1', persist: false }, { path: '/query?format=arrow' })
    const arrowTable = await RecordBatchReader.from(arrowRow.body! as unknown as AsyncIterable<Uint8Array>)
    const seenBatches = []
    for await (const batch of arrowTable) seenBatches.push(batch)
    assert.equal((seenBatches[0]!.getChild('seen')!.data[0]!.values as BigInt64Array)[0], 1_704_164_645_678_901n)
    // DECIMAL is an exact Decimal128 at the column's precision and scale (12.50 → unscaled 1250).
    const decimalRow = await post(served.base, { sql: "SELECT balance, CAST('12345678901234567.1' AS DECIMAL(38,10)) AS wide FROM people WHERE id = 1", persist: false }, { path: '/query?format=arrow' })
    const decimalBatches = []
    for await (const batch of await RecordBatchReader.from(decimalRow.body! as unknown as AsyncIterable<Uint8Array>)) decimalBatches.push(batch)
    const unscaled = (words: Uint32Array): bigint => BigInt.asIntN(128, words.reduceRight((sum, word) => (sum << 32n) | BigInt(word), 0n))
    const balanceField = decimalBatches[0]!.schema.fields[0]!.type as { precision: number; scale: number }
    assert.deepEqual([balanceField.precision, balanceField.scale], [10, 2])
    assert.equal(unscaled(decimalBatches[0]!.getChild('balance')!.get(0) as Uint32Array), 1250n)
    assert.equal(unscaled(decimalBatches[0]!.getChild('wide')!.get(0) as Uint32Array), 123456789012345671000000000n)
    const aggregate = await query(served.base, { sql: "SELECT count(*) AS n, max(big) AS top, max(score) AS best, 'NaN'::DOUBLE AS nan, '-Infinity'::DOUBLE AS low FROM people" })
    assert.equal(aggregate.engine, 'column')
    assert.deepEqual(aggregate.rows, [[2, '9007199254740993', 2.5, 'NaN', '-Infinity']])
    // $name parameters, several statements (the last one's result), a DDL result has no result id.
    const named = await query(served.base, { sql: 'SELECT name FROM people WHERE id = $id', params: { id: 2 } })
    assert.deepEqual(named.rows, [['bob']])
    const several = await query(served.base, { sql: "BEGIN; UPDATE people SET name = 'bobby' WHERE id = 2; COMMIT; SELECT name FROM people WHERE id = 2" })
    assert.deepEqual(several.rows, [['bobby']])
    // Columns that share a name all arrive; in SQL the persisted result names them a, a_2.
    const twins = await query(served.base, { sql: "SELECT 1 AS a, 'two' AS a, p.id, q.id FROM people p JOIN people q ON q.id = p.id WHERE p.id = 1" })
    assert.deepEqual(twins.columns, ['a', 'a', 'id', 'id'])
    assert.deepEqual(twins.rows, [[1, 'two', 1, 1]])
    const twinsReady = await readyResult(served.base, twins.result_id!)
    assert.deepEqual([twinsReady['columns'], twinsReady['rows']], [twins.columns, twins.rows])
    const twinsInSql = await query(served.base, { sql: `SELECT a_2, id_2 FROM strata.results."${twins.result_id}"`, persist: false })
    assert.deepEqual(twinsInSql.rows, [['two', 1]])
    const ddl = await query(served.base, { sql: 'CREATE TABLE scratch (id INTEGER)' })
    assert.equal(ddl.result_id, null)
    assert.deepEqual(ddl.columns, [])
  })

  test('GET /results/{id}: processing, then ready with the rows; strata.results."<id>" in SQL', async () => {
    const first = await query(served.base, { sql: 'SELECT i AS n, i * 2 AS twice, now()::TIMESTAMP AS at, NULL::BLOB AS nothing FROM range(5) t(i) ORDER BY i' })
    const id = first.result_id!
    const ready = await readyResult(served.base, id)
    assert.equal(ready['result_id'], id)
    assert.deepEqual(ready['columns'], first.columns)
    assert.deepEqual(ready['column_types'], first.column_types)
    assert.deepEqual(ready['rows'], first.rows)
    assert.equal(ready['row_count'], 5)
    const viaSql = await query(served.base, { sql: `SELECT sum(twice) AS total, count(nothing) AS blobs FROM strata.results."${id}"`, persist: false })
    assert.equal(viaSql.result_id, null, 'persist: false keeps no result')
    assert.deepEqual(viaSql.rows, [[20, 0]])
    // Larger results go to the column store through a file, empty ones keep their columns.
    const large = await query(served.base, { sql: "SELECT i AS n, 'x' || i AS label, i::DOUBLE / 4 AS quarter FROM range(250) t(i) ORDER BY i" })
    const largeReady = await readyResult(served.base, large.result_id!)
    assert.equal(largeReady['row_count'], 250)
    assert.deepEqual(largeReady['rows'], large.rows)
    const empty = await query(served.base, { sql: 'SELECT 1 AS a, now() AS b WHERE false' })
    const emptyReady = await readyResult(served.base, empty.result_id!)
    assert.deepEqual(emptyReady['rows'], [])
    assert.deepEqual(emptyReady['column_types'], empty.column_types)
    const counted = await query(served.base, { sql: `SELECT (SELECT count(*) FROM strata.results."${large.result_id}") AS large, (SELECT count(*) FROM strata.results."${empty.result_id}") AS empty`, persist: false })
    assert.deepEqual(counted.rows, [[250, 0]])
    // NDJSON for a persisted result too.
    const ndjson = await (await fetch(`${served.base}/results/${id}?format=ndjson`)).text()
    assert.equal(ndjson.trim().split('\n').length, 1 + 5)
    // Unknown and malformed ids.
    await expectError(await fetch(`${served.base}/results/rslt_00000000000000000000000000`), 404, 'NOT_FOUND')
    await expectError(await fetch(`${served.base}/results/not-an-id`), 404, 'NOT_FOUND')
    await expectError(await fetch(`${served.base}/results/%E0%A4%A`), 404, 'NOT_FOUND')
  })

  test('GET /query-runs: each run with SQL, status, timings, engine, rows, error; paging; one run by id', async () => {
    const ok = await query(served.base, { sql: 'SELECT 7 AS seven' })
    const failed = await post(served.base, { sql: 'SELECT * FROM missing_table' })
    await expectError(failed, 422, 'UNDEFINED_TABLE')
    const page = (await (await fetch(`${served.base}/query-runs?limit=2`)).json()) as {
      query_runs: Record<string, unknown>[]
      count: number
      limit: number
      has_more: boolean
      next_cursor: string | null
    }
    assert.equal(page.count, 2)
    assert.equal(page.limit, 2)
    assert.equal(page.has_more, true)
    const [latest, previous] = page.query_runs
    assert.equal(latest!['sql'], 'SELECT * FROM missing_table')
    assert.equal(latest!['status'], 'failed')
    assert.equal((latest!['error'] as { code: string }).code, 'UNDEFINED_TABLE')
    assert.equal(previous!['id'], ok.query_run_id)
    assert.equal(previous!['status'], 'succeeded')
    assert.equal(previous!['engine'], 'column')
    assert.equal(previous!['row_count'], 1)
    assert.equal(previous!['result_id'], ok.result_id)
    assert.ok(typeof previous!['duration_ms'] === 'number')
    assert.ok(Date.parse(String(previous!['started_at'])) <= Date.parse(String(previous!['finished_at'])))
    const next = (await (await fetch(`${served.base}/query-runs?limit=1&cursor=${page.next_cursor}`)).json()) as { query_runs: Record<string, unknown>[] }
    assert.notEqual(next.query_runs[0]!['id'], previous!['id'])
    const one = (await (await fetch(`${served.base}/query-runs/${ok.query_run_id}`)).json()) as Record<string, unknown>
    assert.equal(one['sql'], 'SELECT 7 AS seven')
    await expectError(await fetch(`${served.base}/query-runs/qrun_nope`), 404, 'NOT_FOUND')
    await expectError(await fetch(`${served.base}/query-runs?limit=0`), 400, 'BAD_REQUEST')
  })

  test('POST /sources/{name}: an NDJSON batch of events, accepted whole; late events counted out; bad input refused with its code', async () => {
    await query(served.base, { sql: "CREATE SOURCE http_ticks (v INTEGER NOT NULL, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)" })
    await query(served.base, { sql: 'CREATE STREAM http_big AS SELECT v FROM http_ticks WHERE v > 1' })
    const ndjson = { 'content-type': 'application/x-ndjson' }
    const lines = (events: readonly object[]): string => events.map((event) => JSON.stringify(event)).join('\n') + '\n'
    let response = await post(served.base, lines([{ v: 1, ts: '2026-01-05T14:30:10Z' }, { v: 2, ts: '2026-01-05T14:30:20.5Z' }]), { path: '/sources/http_ticks', headers: ndjson })
    assert.equal(response.status, 200)
    const first = (await response.json()) as { source: string; accepted: number; received: number; tx_id: number }
    assert.deepEqual({ ...first, tx_id: typeof first.tx_id }, { source: 'http_ticks', accepted: 2, received: 2, tx_id: 'number' })
    // The watermark is 14:30:19.5: the event at 14:30:15 is late.
    response = await post(served.base, lines([{ v: 3, ts: '2026-01-05T14:30:15Z' }, { v: 4, ts: '2026-01-05T14:30:21Z' }]), { path: '/sources/http_ticks', headers: ndjson })
    assert.deepEqual(await response.json(), { source: 'http_ticks', accepted: 1, received: 2, tx_id: first.tx_id + 1 })
    // A bad line, a mistyped value, a missing column: nothing of the batch is accepted.
    await expectError(await post(served.base, '{"v": 5, "ts": "2026-01-05T14:30:30Z"}\nnot json\n', { path: '/sources/http_ticks', headers: ndjson }), 400, 'BAD_REQUEST')
    await expectError(await post(served.base, lines([{ v: 5, ts: '2026-01-05T14:30:30Z' }, { v: 'six', ts: '2026-01-05T14:30:31Z' }]), { path: '/sources/http_ticks', headers: ndjson }), 422, 'TYPE_MISMATCH')
    await expectError(await post(served.base, lines([{ v: 5 }]), { path: '/sources/http_ticks', headers: ndjson }), 422, 'TYPE_MISMATCH')
    await expectError(await post(served.base, lines([{ v: 5, ts: '2026-01-05T14:30:30Z' }]), { path: '/sources/nope', headers: ndjson }), 422, 'UNDEFINED_TABLE')
    await expectError(await post(served.base, lines([{ v: 5, ts: '2026-01-05T14:30:30Z' }]), { path: '/sources/http_ticks' }), 415, 'UNSUPPORTED_MEDIA_TYPE')
    await expectError(await fetch(`${served.base}/sources/http_ticks`), 405, 'METHOD_NOT_ALLOWED')
    const stored = await query(served.base, { sql: 'SELECT v FROM http_ticks ORDER BY v' })
    assert.deepEqual(stored.rows, [[1], [2], [4]])
    // GET /metrics: the source's watermark (14:30:20 less the 1 s delay) and late events, the stream's events in and rows out.
    const metrics = await (await fetch(`${served.base}/metrics`)).text()
    assert.match(metrics, /^# TYPE strata_source_watermark_seconds gauge$/m)
    assert.match(metrics, new RegExp(`^strata_source_watermark_seconds\\{source="http_ticks"\\} ${Date.UTC(2026, 0, 5, 14, 30, 20) / 1000}$`, 'm'))
    assert.match(metrics, /^strata_source_late_events_total\{source="http_ticks"\} 1$/m)
    assert.match(metrics, /^strata_stream_events_in_total\{stream="http_big"\} 3$/m)
    assert.match(metrics, /^strata_stream_events_out_total\{stream="http_big"\} 2$/m)
  })

  test('GET /health and GET /metrics', async () => {
    const health = (await (await fetch(`${served.base}/health`)).json()) as { status: string; sync: Record<string, number> }
    assert.equal(health.status, 'ok')
    assert.deepEqual(Object.keys(health.sync).sort(), ['lag_ms', 'lag_tx', 'last_applied_tx', 'last_committed_tx'])
    assert.ok(health.sync['last_committed_tx']! >= 1)
    const response = await fetch(`${served.base}/metrics`)
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
    const text = await response.text()
    assert.match(text, /^strata_http_queries_total\{status="succeeded",engine="row"\} \d+$/m)
    assert.match(text, /^strata_http_queries_total\{status="failed",engine="none"\} \d+$/m)
    assert.match(text, /^strata_http_query_duration_seconds_bucket\{engine="column",le="\+Inf"\} \d+$/m)
    assert.match(text, /^strata_http_query_duration_seconds_count\{engine="row"\} \d+$/m)
    assert.match(text, /^strata_sync_lag_tx \d+$/m)
    assert.match(text, /^strata_sync_lag_ms [\d.e-]+$/m)
    assert.match(text, /^strata_http_connections [1-9]\d*$/m)
    assert.match(text, /^strata_http_responses_total\{code="200"\} \d+$/m)
  })

  test('request errors: 400 empty or malformed bodies, 404 routes, 405 methods, 413 bodies', async () => {
    await expectError(await post(served.base, ''), 400, 'BAD_REQUEST')
    await expectError(await post(served.base, '{"sql": '), 400, 'BAD_REQUEST')
    await expectError(await post(served.base, '[1, 2]'), 400, 'BAD_REQUEST')
    await expectError(await post(served.base, {}), 400, 'BAD_REQUEST')
    await expectError(await post(served.base, { sql: 42 }), 400, 'BAD_REQUEST')
    await expectError(await post(served.base, { sql: '   ' }), 400, 'BAD_REQUEST')
    await expectError(await post(served.base, { sql: '-- nothing' }), 400, 'BAD_REQUEST')
    await expectError(await post(served.base, { sql: 'SELECT 1', params: 'x' }), 400, 'BAD_REQUEST')
    await expectError(await post(served.base, { sql: 'SELECT 1', timeout_ms: -5 }), 400, 'BAD_REQUEST')
    await expectError(await post(served.base, { sql: 'SELECT 1', engine: 'cloud' }), 400, 'BAD_REQUEST')
    await expectError(await post(served.base, { sql: 'SELECT 1' }, { path: '/query?format=xml' }), 400, 'BAD_REQUEST')
    await expectError(await fetch(`${served.base}/nowhere`), 404, 'NOT_FOUND')
    await expectError(await post(served.base, {}, { path: '/health' }), 405, 'METHOD_NOT_ALLOWED')
    const wrongMethod = await fetch(`${served.base}/query`)
    assert.equal(wrongMethod.headers.get('allow'), 'POST')
    await expectError(wrongMethod, 405, 'METHOD_NOT_ALLOWED')
    await expectError(await fetch(`${served.base}/query`, { method: 'DELETE' }), 405, 'METHOD_NOT_ALLOWED')
    // 413 from the declared length, and from a chunked body that grows past the limit.
    const small = await serve({ requestBodyBytesMax: 1_024 })
    try {
      await expectError(await post(small.base, { sql: `SELECT '${'x'.repeat(2_000)}'` }), 413, 'PAYLOAD_TOO_LARGE')
      const chunked = await rawRequest(small.http.port, { method: 'POST', path: '/query', headers: { 'transfer-encoding': 'chunked' }, chunks: [`{"sql": "SELECT '`, 'y'.repeat(4_000), `'"}`] })
      assert.equal(chunked.status, 413)
      assert.equal((JSON.parse(chunked.body) as ErrorResponse).error.code, 'PAYLOAD_TOO_LARGE')
      await query(small.base, { sql: 'SELECT 1 AS still_up' })
    } finally {
      await small.stop()
    }
  })

  test('statement errors keep their code: 400 syntax (with position), 422 unknown names, 409 conflicts', async () => {
    const syntax = await expectError(await post(served.base, { sql: 'SELEC 1' }), 400, 'SYNTAX_ERROR')
    assert.equal(syntax.position, 1)
    await expectError(await post(served.base, { sql: 'SELECT nope FROM people' }), 422, 'UNDEFINED_COLUMN')
    const nowhere = await expectError(await post(served.base, { sql: 'SELECT * FROM nowhere' }), 422, 'UNDEFINED_TABLE')
    assert.equal(nowhere.message, 'table "nowhere" does not exist')
    assert.equal((nowhere as { store?: string }).store, 'column')
    assert.match((nowhere as { detail?: string }).detail ?? '', /^Catalog Error: Table with name nowhere does not exist/)
    await expectError(await post(served.base, { sql: "INSERT INTO people (id, name) VALUES (1, 'dup')" }), 409, 'CONSTRAINT_VIOLATION')
    await expectError(await post(served.base, { sql: 'COMMIT' }), 409, 'TX_STATE')
    // A transaction left open is rolled back, and said so.
    await expectError(await post(served.base, { sql: "BEGIN; INSERT INTO people (id, name) VALUES (99, 'ghost')" }), 409, 'TX_STATE')
    const ghost = await query(served.base, { sql: 'SELECT count(*) AS n FROM people WHERE id = 99' })
    assert.deepEqual(ghost.rows, [[0]])
    // …and the writer lock is free again.
    await query(served.base, { sql: "INSERT INTO people (id, name) VALUES (100, 'after')" })
  })

  test('bad parameter values are 400 INVALID_PARAMETER, not 500: LIMIT $1 = 1e300 on either store, a value nested 100,000 deep', async () => {
    for (const engine of ['row', 'column']) {
      const error = await expectError(await post(served.base, { sql: 'SELECT id FROM people LIMIT $1', params: [1e300], engine }), 400, 'INVALID_PARAMETER')
      assert.match(error.message, /LIMIT \$1 must be a row count/)
    }
    const deep = `${'['.repeat(100_000)}1${']'.repeat(100_000)}`
    for (const body of [
      `{"sql": "SELECT $1::VARCHAR AS x", "params": [${deep}]}`,
      `{"sql": "SELECT $a::VARCHAR AS x", "params": {"a": ${deep}}}`,
      `{"sql": "INSERT INTO people (id, name, tags) VALUES (500, 'deep', $1)", "params": [${deep}]}`,
    ]) {
      const error = await expectError(await post(served.base, body), 400, 'INVALID_PARAMETER')
      assert.match(error.message, /nested more than 1000 levels deep/)
    }
    const kept = await query(served.base, { sql: 'SELECT count(*) AS n FROM people WHERE id = 500' })
    assert.deepEqual(kept.rows, [[0]])
  })

  test('a 100K-row result streams as NDJSON, JSON and Arrow in many chunks', async () => {
    const sql = "SELECT i AS id, 'row-' || i AS name, i * 0.5 AS half FROM range(100000) t(i) ORDER BY i"
    const ndjson = await post(served.base, { sql, persist: false }, { headers: { accept: 'application/x-ndjson' } })
    assert.equal(ndjson.status, 200)
    assert.match(ndjson.headers.get('content-type') ?? '', /application\/x-ndjson/)
    assert.equal(ndjson.headers.get('content-length'), null, 'streamed, so no length up front')
    let chunks = 0
    let text = ''
    const decoder = new TextDecoder()
    for await (const chunk of ndjson.body!) {
      chunks += 1
      text += decoder.decode(chunk, { stream: true })
    }
    const lines = text.trimEnd().split('\n')
    // Streamed from the engine: the head line, the rows, and a summary line once the count is known.
    const head = JSON.parse(lines[0]!) as Record<string, unknown>
    assert.deepEqual(head['columns'], ['id', 'name', 'half'])
    assert.equal(head['engine'], 'column')
    assert.equal(head['result_id'], null)
    assert.equal(lines.length, 1 + 100_000 + 1)
    assert.deepEqual(JSON.parse(lines[1]!), [0, 'row-0', 0])
    assert.deepEqual(JSON.parse(lines[100_000]!), [99_999, 'row-99999', 49_999.5])
    const summary = JSON.parse(lines[100_001]!) as Record<string, unknown>
    assert.equal(summary['row_count'], 100_000)
    assert.equal(typeof summary['execution_time_ms'], 'number')
    assert.ok(chunks >= 10, `expected the body in many chunks, got ${chunks}`)

    const json = await post(served.base, { sql, persist: false })
    let jsonChunks = 0
    let jsonText = ''
    for await (const chunk of json.body!) {
      jsonChunks += 1
      jsonText += decoder.decode(chunk, { stream: true })
    }
    const parsed = JSON.parse(jsonText) as QueryResponse
    assert.equal(parsed.rows.length, 100_000)
    assert.ok(jsonChunks >= 10, `expected the JSON body in many chunks, got ${jsonChunks}`)

    const arrow = await post(served.base, { sql, persist: false }, { path: '/query?format=arrow' })
    assert.equal(arrow.headers.get('content-type'), 'application/vnd.apache.arrow.stream')
    assert.equal(arrow.headers.get('x-strata-row-count'), '100000')
    const reader = await RecordBatchReader.from(arrow.body! as unknown as AsyncIterable<Uint8Array>)
    let batches = 0
    let rows = 0
    let lastId: unknown
    for await (const batch of reader) {
      batches += 1
      rows += batch.numRows
      lastId = batch.getChild('id')!.get(batch.numRows - 1)
    }
    assert.equal(rows, 100_000)
    assert.equal(lastId, 99_999n)
    assert.ok(batches >= 10, `expected many record batches, got ${batches}`)
  })

  test('a statement past its timeout is cancelled with STATEMENT_TIMEOUT; the server stays up', async () => {
    const started = Date.now()
    const slow = await post(served.base, { sql: 'SELECT sum(i * i) FROM range(100000000000) t(i)', timeout_ms: 300, persist: false })
    const error = await expectError(slow, 408, 'STATEMENT_TIMEOUT')
    assert.match(error.message, /300 ms/)
    assert.ok(Date.now() - started < 10_000, 'cancelled promptly')
    await query(served.base, { sql: 'SELECT 1 AS alive' })
    const runs = (await (await fetch(`${served.base}/query-runs?limit=5`)).json()) as { query_runs: Record<string, unknown>[] }
    const run = runs.query_runs.find((candidate) => String(candidate['sql']).includes('range(100000000000)'))
    assert.equal(run?.['status'], 'cancelled')
    const metrics = await (await fetch(`${served.base}/metrics`)).text()
    assert.match(metrics, /^strata_http_queries_total\{status="timeout",engine="none"\} 1$/m)
    // Inside a transaction that has written, a column-store read sees the transaction's own rows
    // through an overlay; it is cancelled the same way, and the write is rolled back.
    const inTransaction = Date.now()
    const overlaid = await post(served.base, {
      sql: "BEGIN; INSERT INTO people (id, name) VALUES (9001, 'overlay'); SELECT sum(i * i) + (SELECT count(*) FROM people) FROM range(100000000000) t(i); COMMIT",
      timeout_ms: 300,
      persist: false,
    })
    await expectError(overlaid, 408, 'STATEMENT_TIMEOUT')
    assert.ok(Date.now() - inTransaction < 10_000, 'cancelled promptly')
    assert.deepEqual((await query(served.base, { sql: 'SELECT count(*) AS n FROM people WHERE id = 9001' })).rows, [[0]])
  })

  test('a client that disconnects mid-query cancels it', async () => {
    const controller = new AbortController()
    const pending = post(served.base, { sql: 'SELECT sum(i * i) AS s FROM range(100000000001) t(i)', persist: false }, { signal: controller.signal })
    await waitFor('the statement to start', async () => {
      const text = await (await fetch(`${served.base}/metrics`)).text()
      return /^strata_http_queries_in_flight 1$/m.test(text) ? true : undefined
    })
    controller.abort()
    await assert.rejects(pending)
    await waitFor('the statement to be cancelled', async () => {
      const runs = (await (await fetch(`${served.base}/query-runs?limit=5`)).json()) as { query_runs: Record<string, unknown>[] }
      const run = runs.query_runs.find((candidate) => String(candidate['sql']).includes('range(100000000001)'))
      return run?.['status'] === 'cancelled' ? run : undefined
    })
    const metrics = await (await fetch(`${served.base}/metrics`)).text()
    assert.match(metrics, /^strata_http_queries_in_flight 0$/m)
  })

  test('an NDJSON reader that stops reading does not hold its statement past the timeout', async () => {
    const response = await post(served.base, { sql: 'SELECT i, repeat(\'x\', 100) AS pad FROM range(100000000) t(i)', persist: false, timeout_ms: 400 }, { headers: { accept: 'application/x-ndjson' } })
    assert.equal(response.status, 200)
    const reader = response.body!.getReader()
    assert.equal((await reader.read()).done, false)
    // Read nothing more: the server's writes back up until the timeout ends the statement.
    const run = await waitFor('the stalled stream to be cancelled', async () => {
      const runs = (await (await fetch(`${served.base}/query-runs?limit=5`)).json()) as { query_runs: Record<string, unknown>[] }
      const found = runs.query_runs.find((candidate) => String(candidate['sql']).includes('range(100000000)'))
      return found !== undefined && found['status'] !== 'running' ? found : undefined
    })
    assert.equal(run['status'], 'cancelled')
    await reader.cancel().catch(() => undefined)
    assert.match(await (await fetch(`${served.base}/metrics`)).text(), /^strata_http_queries_in_flight 0$/m)
  })

  test('load: 8 clients mixing writes and analytical reads for a few seconds; no errors, no lost writes', async () => {
    await query(served.base, { sql: 'CREATE TABLE events (id INTEGER PRIMARY KEY, client INTEGER NOT NULL, v DOUBLE NOT NULL)' })
    const clientCount = 8
    const durationMs = 3_000
    const deadline = Date.now() + durationMs
    const acknowledged: number[] = new Array(clientCount).fill(0)
    const failures: string[] = []
    await Promise.all(
      Array.from({ length: clientCount }, async (_, client) => {
        for (let step = 0; Date.now() < deadline; step++) {
          const kind = step % 4
          let body: Record<string, unknown>
          if (kind === 3) body = { sql: 'SELECT client, count(*) AS n, sum(v) AS total FROM events GROUP BY client ORDER BY client' }
          else if (kind === 2) body = { sql: 'SELECT * FROM events WHERE id = $1', params: [client * 1_000_000 + step - 1] }
          else body = { sql: 'INSERT INTO events VALUES ($1, $2, $3)', params: [client * 1_000_000 + step, client, step / 2] }
          const response = await post(served.base, body)
          const text = await response.text()
          if (response.status !== 200) failures.push(`${response.status} ${text}`)
          else if (kind < 2) acknowledged[client]! += 1
        }
      }),
    )
    assert.deepEqual(failures, [])
    const total = acknowledged.reduce((sum, count) => sum + count, 0)
    assert.ok(total > 50, `only ${total} writes in ${durationMs} ms`)
    const counted = await query(served.base, { sql: 'SELECT client, count(*) AS n FROM events GROUP BY client ORDER BY client' })
    assert.deepEqual(counted.rows, acknowledged.map((count, client) => [client, count]))
  })
})

describe('HTTP API persisted results', () => {
  test('a flood of small results is persisted whole; a large one through a file; both read back in SQL', async () => {
    const served = await serve()
    try {
      const clients = 8
      const perClient = 150
      const responses: QueryResponse[] = []
      await Promise.all(
        Array.from({ length: clients }, async (_, client) => {
          for (let index = 0; index < perClient; index++) {
            const n = client * perClient + index
            responses.push(await query(served.base, { sql: "SELECT $1::INTEGER AS n, 'q' || $1 AS label, $1::INTEGER % 2 = 0 AS even", params: [n] }))
          }
        }),
      )
      for (const response of responses) {
        assert.equal(response.warning, undefined)
        assert.match(response.result_id ?? '', /^rslt_[0-9a-z]{26}$/)
      }
      assert.equal(new Set(responses.map((response) => response.result_id)).size, clients * perClient)
      // Every one becomes ready, with its own row.
      for (const response of responses) {
        const ready = await readyResult(served.base, response.result_id!)
        assert.deepEqual(ready['rows'], response.rows)
        assert.deepEqual(ready['column_types'], ['INTEGER', 'VARCHAR', 'BOOLEAN'])
      }
      // Two results joined in SQL, one under an alias.
      const [first, second] = [responses[0]!, responses[responses.length - 1]!]
      const joined = await query(served.base, {
        sql: `SELECT a.n + r.n AS total, "${first.result_id}".label, r.even FROM strata.results."${first.result_id}" CROSS JOIN strata.results."${second.result_id}" AS r, (SELECT 1) AS a (n)`,
        persist: false,
      })
      assert.deepEqual(joined.rows, [[1 + (second.rows[0]![0] as number), first.rows[0]![1], second.rows[0]![2]]])
      // Over half a megabyte of rows: written through a staging file.
      const large = await query(served.base, { sql: "SELECT i AS n, repeat('x', 100) || i AS label FROM range(10000) t(i) ORDER BY i" })
      const largeReady = await readyResult(served.base, large.result_id!)
      assert.equal(largeReady['row_count'], 10_000)
      assert.deepEqual(largeReady['rows'], large.rows)
      const summed = await query(served.base, { sql: `SELECT sum(n) AS total, max(length(label)) AS longest FROM strata.results."${large.result_id}"`, persist: false })
      assert.deepEqual(summed.rows, [[(9_999 * 10_000) / 2, 104]])
      // A well-formed id that names no result, and a name that is no id.
      await expectError(await post(served.base, { sql: 'SELECT * FROM strata.results."rslt_00000000000000000000000000"' }), 422, 'UNDEFINED_TABLE')
      await expectError(await post(served.base, { sql: 'SELECT * FROM strata.results.nothing' }), 422, 'UNDEFINED_TABLE')
    } finally {
      await served.stop()
    }
  })

  test('the oldest results are dropped beyond the bounds; the kept ones survive a restart', async () => {
    const directory = temporaryDirectory('http-results')
    let served = await serve({ resultsKeptMax: 20, resultsKeptRowsMax: 610 }, directory)
    /** [results, rows] in the shared tables. */
      const kept = async (): Promise<number[]> => {
        const table = await served.engine.columnStoreQuery(served.engine.newSession(), 'SELECT count(*), (SELECT count(*) FROM strata_results.result_rows) FROM strata_results.results', undefined, {})
        return table.rows[0]!.map(Number)
      }
    try {
      const ids: string[] = []
      for (let index = 0; index < 30; index++) ids.push((await query(served.base, { sql: 'SELECT $1::INTEGER AS n', params: [index] })).result_id!)
      await readyResult(served.base, ids[29]!)
      await waitFor('the oldest results to be dropped', async () => ((await fetch(`${served.base}/results/${ids[0]}`)).status === 404 ? true : undefined))
      for (const id of ids.slice(0, 10)) await expectError(await fetch(`${served.base}/results/${id}`), 404, 'NOT_FOUND')
      for (const [index, id] of ids.slice(10).entries()) assert.deepEqual((await readyResult(served.base, id))['rows'], [[index + 10]])
      assert.deepEqual(await kept(), [20, 20])
      // Rows count too: a 600-row result pushes out the oldest until at most 610 rows are kept.
      const wide = (await query(served.base, { sql: 'SELECT i AS n FROM range(600) t(i)' })).result_id!
      await readyResult(served.base, wide)
      await waitFor('the row bound to hold', async () => ((await kept())[1]! <= 610 ? true : undefined))
      assert.deepEqual(await kept(), [11, 610], 'the wide result and the ten newest one-row results')
      await expectError(await fetch(`${served.base}/results/${ids[19]}`), 404, 'NOT_FOUND')
      assert.deepEqual((await readyResult(served.base, ids[20]!))['rows'], [[20]])
      // A restart: the kept results are still there, in GET and in SQL.
      await served.http.close()
      await served.engine.close()
      served = await serve({ resultsKeptMax: 20, resultsKeptRowsMax: 610 }, directory)
      assert.equal((await readyResult(served.base, wide))['row_count'], 600)
      assert.deepEqual((await query(served.base, { sql: `SELECT count(*) AS n FROM strata.results."${wide}"`, persist: false })).rows, [[600]])
      assert.deepEqual((await readyResult(served.base, ids[29]!))['rows'], [[29]])
      await expectError(await fetch(`${served.base}/results/${ids[0]}`), 404, 'NOT_FOUND')
    } finally {
      await served.stop()
    }
  })
})

describe('HTTP API with bearer tokens', () => {
  let served: Served
  before(async () => {
    served = await serve({ tokens: ['s3cret-token'], readOnlyTokens: ['reader-token'] })
  })
  after(async () => served.stop())

  test('401 without or with a wrong token; 200 with the right one; /health needs none', async () => {
    const missing = await post(served.base, { sql: 'SELECT 1' })
    assert.match(missing.headers.get('www-authenticate') ?? '', /^Bearer/)
    await expectError(missing, 401, 'UNAUTHORIZED')
    await expectError(await post(served.base, { sql: 'SELECT 1' }, { headers: { authorization: 'Bearer wrong' } }), 401, 'UNAUTHORIZED')
    await expectError(await post(served.base, { sql: 'SELECT 1' }, { headers: { authorization: 'Basic czNjcmV0LXRva2Vu' } }), 401, 'UNAUTHORIZED')
    await expectError(await fetch(`${served.base}/query-runs`), 401, 'UNAUTHORIZED')
    await expectError(await fetch(`${served.base}/metrics`), 401, 'UNAUTHORIZED')
    await expectError(await fetch(`${served.base}/nowhere`), 401, 'UNAUTHORIZED')
    const ok = await post(served.base, { sql: 'SELECT 1 AS one' }, { headers: { authorization: 'Bearer s3cret-token' } })
    assert.equal(ok.status, 200)
    assert.deepEqual(((await ok.json()) as QueryResponse).rows, [[1]])
    assert.equal((await fetch(`${served.base}/health`)).status, 200)
  })

  test('a read-only token reads, in every format, and gets 403 READ_ONLY for anything that writes', async () => {
    const full = { authorization: 'Bearer s3cret-token' }
    const reader = { authorization: 'Bearer reader-token' }
    const write = async (sql: string, headers: Record<string, string>): Promise<Response> => post(served.base, { sql }, { headers })
    assert.equal((await write('CREATE TABLE guarded (id INTEGER PRIMARY KEY, v TEXT)', full)).status, 200)
    assert.equal((await write("INSERT INTO guarded VALUES (1, 'a')", full)).status, 200)
    const refusals = [
      "INSERT INTO guarded VALUES (2, 'b')",
      "UPDATE guarded SET v = 'z'",
      'DELETE FROM guarded',
      'CREATE TABLE other (id INTEGER)',
      'DROP TABLE guarded',
      'CREATE INDEX guarded_v ON guarded (v)',
      'CREATE VIEW guarded_view AS SELECT * FROM guarded',
      'CREATE TABLE copied AS SELECT * FROM guarded',
      'ALTER TABLE guarded ADD COLUMN w INTEGER',
      'CREATE FULLTEXT INDEX ON guarded (v)',
      "BEGIN; INSERT INTO guarded VALUES (3, 'c'); COMMIT",
      'CREATE SOURCE guarded_events (v INTEGER)',
      'INSERT INTO guarded_source VALUES (2)',
      'DROP SOURCE guarded_source',
    ]
    assert.equal((await write('CREATE SOURCE guarded_source (v INTEGER)', full)).status, 200)
    for (const sql of refusals) await expectError(await write(sql, reader), 403, 'READ_ONLY')
    await expectError(await post(served.base, '{"v": 1}\n', { path: '/sources/guarded_source', headers: { ...reader, 'content-type': 'application/x-ndjson' } }), 403, 'READ_ONLY')
    assert.equal((await post(served.base, '{"v": 1}\n', { path: '/sources/guarded_source', headers: { ...full, 'content-type': 'application/x-ndjson' } })).status, 200)
    const ndjson = await post(served.base, { sql: "INSERT INTO guarded VALUES (4, 'd') RETURNING id" }, { headers: { ...reader, accept: 'application/x-ndjson' } })
    await expectError(ndjson, 403, 'READ_ONLY')
    // Nothing was written, and reads work for the reader: JSON, NDJSON, a transaction, GET routes.
    const read = await post(served.base, { sql: 'SELECT id, v FROM guarded ORDER BY id' }, { headers: reader })
    const body = (await read.json()) as QueryResponse
    assert.deepEqual(body.rows, [[1, 'a']])
    const streamed = await (await post(served.base, { sql: 'SELECT count(*) AS n FROM guarded' }, { headers: { ...reader, accept: 'application/x-ndjson' } })).text()
    assert.deepEqual(JSON.parse(streamed.trim().split('\n')[1]!), [1])
    const inTransaction = (await (await write('BEGIN; SELECT v FROM guarded; COMMIT', reader)).json()) as QueryResponse
    assert.deepEqual(inTransaction.rows, [])
    assert.equal((await fetch(`${served.base}/query-runs`, { headers: reader })).status, 200)
    assert.equal((await readyResultWith(served.base, body.result_id!, reader))['row_count'], 1)
  })

  test('oversized reads with a read-only token get 422 LIMIT_EXCEEDED quickly, and leave the parser working: a later write succeeds', async () => {
    const full = { authorization: 'Bearer s3cret-token' }
    const reader = { authorization: 'Bearer reader-token' }
    assert.equal((await post(served.base, { sql: 'CREATE TABLE after_limits (id INTEGER PRIMARY KEY, v INTEGER)' }, { headers: full })).status, 200)
    const oversized = [
      `SELECT ${'('.repeat(10_000)}1${')'.repeat(10_000)}`,
      `SELECT ${Array.from({ length: 10_000 }, () => '1').join('+')}`,
      `SELECT * FROM after_limits WHERE v IN (${Array.from({ length: 100_000 }, (_, index) => index).join(',')})`,
    ]
    const started = performance.now()
    for (const sql of oversized) {
      const error = await expectError(await post(served.base, { sql }, { headers: reader }), 422, 'LIMIT_EXCEEDED')
      assert.match(error.message, /the limit is/)
    }
    assert.ok(performance.now() - started < 20_000, 'refused before parsing')
    const write = await post(served.base, { sql: 'INSERT INTO after_limits VALUES (1, 2)' }, { headers: full })
    assert.equal(write.status, 200, await write.clone().text())
    const read = (await (await post(served.base, { sql: 'SELECT v FROM after_limits WHERE id = 1' }, { headers: reader })).json()) as QueryResponse
    assert.deepEqual(read.rows, [[2]])
  })
})

describe('HTTP API connection limit', () => {
  test('connections beyond the maximum get 503 TOO_MANY_CONNECTIONS; the server stays up', async () => {
    const served = await serve({ connectionsMax: 2 })
    const idle = await Promise.all([0, 1].map(() => openSocket(served.http.port)))
    try {
      await waitFor('both connections to count', async () => (served.http.connectionCount() === 2 ? true : undefined))
      const refused = await fetch(`${served.base}/health`)
      assert.equal(refused.headers.get('retry-after'), '1')
      await expectError(refused, 503, 'TOO_MANY_CONNECTIONS')
    } finally {
      for (const socket of idle) socket.destroy()
    }
    await waitFor('the connections to close', async () => (served.http.connectionCount() === 0 ? true : undefined))
    const health = await fetch(`${served.base}/health`, { headers: { connection: 'close' } })
    assert.equal(health.status, 200)
    await health.text()
    await served.stop()
  })
})

describe('HTTP API shutdown', () => {
  test('close lets a quick statement finish, cancels a long one after the grace period, refuses new ones', async () => {
    const served = await serve()
    await query(served.base, { sql: 'CREATE TABLE kept (id INTEGER PRIMARY KEY)' })
    const long = post(served.base, { sql: 'SELECT sum(i * i) FROM range(100000000002) t(i)', persist: false })
    await waitFor('the long statement to start', async () => {
      const text = await (await fetch(`${served.base}/metrics`)).text()
      return /^strata_http_queries_in_flight 1$/m.test(text) ? true : undefined
    })
    const closing = served.http.close({ graceMs: 300 })
    const longResponse = await long
    await expectError(longResponse, 503, 'SHUTTING_DOWN')
    await closing
    await assert.rejects(fetch(`${served.base}/health`))
    await served.stop()
  })
})

/** A request written by hand (fetch cannot send a chunked body of our choosing), body read as text. */
function rawRequest(
  port: number,
  options: { method: string; path: string; headers: Record<string, string>; chunks: string[] },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({ host: '127.0.0.1', port, method: options.method, path: options.path, headers: options.headers }, (response) => {
      let body = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => {
        body += chunk
      })
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }))
      response.on('error', reject)
    })
    outgoing.on('error', reject)
    for (const chunk of options.chunks) outgoing.write(chunk)
    outgoing.end()
  })
}

function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket))
    socket.once('error', reject)
  })
}
