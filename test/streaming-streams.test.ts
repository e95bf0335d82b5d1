/**
 * Streams (SPEC 8), differential: for each stream, what it has emitted equals DuckDB's batch
 * evaluation of the same query over the source's accepted events — after every batch for the windows
 * closed so far (none missing, none early), and in full after the input ends. Seeded, out-of-order
 * batches with late events; tumbling windows (with and without an offset) and hopping ones, both
 * spellings, session windows per key (checked against sessions computed from their definition), the
 * usual aggregates, aggregates without a window (EMIT CHANGES, HAVING), and a stateless stream; a
 * reopen in the middle.
 */
import * as assert from 'node:assert/strict'
import { test } from 'node:test'
import { open, StrataError, Timestamp, type Database } from '../src/index.js'
import { assertRefused, openTemporary, seededRandom, sortedRows, temporaryDirectory } from './helpers.js'
import { join } from 'node:path'
import Sqlite from 'better-sqlite3'

const base = Date.UTC(2026, 0, 5, 14, 30, 0)
const at = (seconds: number): Date => new Date(base + seconds * 1000)
const delaySeconds = 4
const latenessSeconds = 3

interface StreamCase {
  readonly name: string
  readonly create: string
  /** DuckDB's batch query over the source's accepted events, written independently of Strata's rewriting. */
  readonly oracle: string
  readonly windowed: boolean
}

/** Each event's windows by a join with every window start in range (not the stream's own arithmetic). */
const hopWindows = (slide: number, size: number): string =>
  `(SELECT e.*, w.ws AS window_start, w.ws + INTERVAL '${size} seconds' AS window_end FROM trades e JOIN ` +
  `(SELECT unnest(generate_series(TIMESTAMP '2026-01-05 14:25:00', TIMESTAMP '2026-01-05 14:45:00', INTERVAL '${slide} seconds')) AS ws) w ` +
  `ON e.ts >= w.ws AND e.ts < w.ws + INTERVAL '${size} seconds')`

/**
 * Sessions by their definition, not the stream's window functions: an event starts a session when no
 * earlier event of its key is less than the gap before it; its session is the count of starts up to
 * it; a session runs from its first event to its last plus the gap.
 */
const sessionOracle = (select: string, gapSeconds: number, key: string): string =>
  `SELECT ${select} FROM (SELECT *, min(ts) OVER (PARTITION BY ${key}, sid) AS window_start, max(ts) OVER (PARTITION BY ${key}, sid) + INTERVAL '${gapSeconds} seconds' AS window_end FROM ` +
  `(SELECT f.*, (SELECT sum(g.starts) FROM (SELECT e.*, CASE WHEN EXISTS (SELECT 1 FROM trades p WHERE p.${key} = e.${key} AND p.ts < e.ts AND p.ts > e.ts - INTERVAL '${gapSeconds} seconds') THEN 0 ELSE 1 END AS starts FROM trades e) g ` +
  `WHERE g.${key} = f.${key} AND g.ts <= f.ts) AS sid FROM trades f) AS numbered) AS sessions GROUP BY ${key}, window_start, window_end`

const cases: readonly StreamCase[] = [
  {
    name: 's_tumble',
    create: "CREATE STREAM s_tumble AS SELECT sym, window_start, window_end, count(*) AS n, sum(qty) AS qty, min(price) AS low, max(price) AS high, avg(price) AS mean FROM trades GROUP BY sym, tumble(ts, INTERVAL '10' SECOND) EMIT ON WINDOW CLOSE",
    oracle:
      "SELECT sym, time_bucket(INTERVAL '10 seconds', ts, TIMESTAMP '1970-01-01') AS window_start, time_bucket(INTERVAL '10 seconds', ts, TIMESTAMP '1970-01-01') + INTERVAL '10 seconds' AS window_end, " +
      'count(*) AS n, sum(qty) AS qty, min(price) AS low, max(price) AS high, avg(price) AS mean FROM trades GROUP BY ALL',
    windowed: true,
  },
  {
    name: 's_offset',
    create: "CREATE STREAM s_offset AS SELECT window_start, window_end, count(*) AS n FROM trades GROUP BY tumble(ts, INTERVAL '15' SECOND, INTERVAL '5' SECOND) EMIT FINAL",
    oracle:
      "SELECT time_bucket(INTERVAL '15 seconds', ts, TIMESTAMP '1970-01-01 00:00:05') AS window_start, time_bucket(INTERVAL '15 seconds', ts, TIMESTAMP '1970-01-01 00:00:05') + INTERVAL '15 seconds' AS window_end, count(*) AS n FROM trades GROUP BY ALL",
    windowed: true,
  },
  {
    name: 's_hop',
    create: "CREATE STREAM s_hop AS SELECT sym, window_start, window_end, sum(price * qty) AS notional, count(DISTINCT qty) AS sizes FROM trades GROUP BY sym, hop(ts, INTERVAL '12' SECOND, INTERVAL '4' SECOND)",
    oracle: `SELECT sym, window_start, window_end, sum(price * qty) AS notional, count(DISTINCT qty) AS sizes FROM ${hopWindows(4, 12)} GROUP BY ALL`,
    windowed: true,
  },
  {
    name: 's_hop_tf',
    create: "CREATE STREAM s_hop_tf AS SELECT window_start, window_end, max(price) - min(price) AS spread FROM HOP(trades, ts, INTERVAL '5' SECOND, INTERVAL '10' SECOND) WHERE sym <> 'C' GROUP BY window_start, window_end HAVING count(*) > 1",
    oracle: `SELECT window_start, window_end, max(price) - min(price) AS spread FROM ${hopWindows(5, 10)} WHERE sym <> 'C' GROUP BY ALL HAVING count(*) > 1`,
    windowed: true,
  },
  {
    name: 's_tumble_tf',
    create: "CREATE STREAM s_tumble_tf AS SELECT sym, window_end, sum(qty) AS qty FROM TUMBLE(trades, ts, INTERVAL '20' SECOND) t GROUP BY sym, window_start, window_end",
    oracle: "SELECT sym, time_bucket(INTERVAL '20 seconds', ts, TIMESTAMP '1970-01-01') + INTERVAL '20 seconds' AS window_end, sum(qty) AS qty FROM trades GROUP BY sym, time_bucket(INTERVAL '20 seconds', ts, TIMESTAMP '1970-01-01')",
    windowed: true,
  },
  {
    name: 's_session',
    create: "CREATE STREAM s_session AS SELECT sym, window_start, window_end, count(*) AS n, sum(qty) AS qty FROM trades GROUP BY sym, session(ts, INTERVAL '3' SECOND)",
    oracle: sessionOracle('sym, window_start, window_end, count(*) AS n, sum(qty) AS qty', 3, 'sym'),
    windowed: true,
  },
  {
    name: 's_session_tf',
    create: "CREATE STREAM s_session_tf AS SELECT qty, window_start, window_end, max(price) AS high FROM SESSION(trades, ts, INTERVAL '6' SECOND) GROUP BY qty, window_start, window_end",
    oracle: sessionOracle('qty, window_start, window_end, max(price) AS high', 6, 'qty'),
    windowed: true,
  },
  {
    // EMIT CHANGES of windows: every window's row is current after each batch, before it closes too.
    name: 'c_tumble',
    create: "CREATE STREAM c_tumble AS SELECT sym, window_start, window_end, count(*) AS n, max(price) AS high FROM trades GROUP BY sym, tumble(ts, INTERVAL '10' SECOND) HAVING count(*) < 6 EMIT CHANGES",
    oracle:
      "SELECT sym, time_bucket(INTERVAL '10 seconds', ts, TIMESTAMP '1970-01-01') AS window_start, time_bucket(INTERVAL '10 seconds', ts, TIMESTAMP '1970-01-01') + INTERVAL '10 seconds' AS window_end, count(*) AS n, max(price) AS high FROM trades GROUP BY ALL HAVING count(*) < 6",
    windowed: false,
  },
  {
    name: 'c_hop',
    create: "CREATE STREAM c_hop AS SELECT window_start, window_end, sum(qty) AS qty FROM HOP(trades, ts, INTERVAL '4' SECOND, INTERVAL '12' SECOND) GROUP BY window_start, window_end EMIT CHANGES",
    oracle: `SELECT window_start, window_end, sum(qty) AS qty FROM ${hopWindows(4, 12)} GROUP BY ALL`,
    windowed: false,
  },
  {
    name: 'c_sym',
    create: 'CREATE STREAM c_sym AS SELECT sym, count(*) AS n, sum(qty) AS qty, max(price) AS high, count(DISTINCT qty) AS sizes FROM trades GROUP BY sym',
    oracle: 'SELECT sym, count(*) AS n, sum(qty) AS qty, max(price) AS high, count(DISTINCT qty) AS sizes FROM trades GROUP BY sym',
    windowed: false,
  },
  {
    name: 'c_all',
    create: 'CREATE STREAM c_all AS SELECT count(*) AS n, avg(price) AS mean, min(ts) AS first_seen FROM trades EMIT CHANGES',
    oracle: 'SELECT count(*) AS n, avg(price) AS mean, min(ts) AS first_seen FROM trades',
    windowed: false,
  },
  {
    name: 'c_having',
    create: 'CREATE STREAM c_having AS SELECT sym, qty, count(*) AS n FROM trades GROUP BY sym, qty HAVING count(*) >= 3 EMIT CHANGES',
    oracle: 'SELECT sym, qty, count(*) AS n FROM trades GROUP BY sym, qty HAVING count(*) >= 3',
    windowed: false,
  },
  {
    // SELECT DISTINCT over a source is the set of distinct rows over every event so far, as a batch
    // query has it (it is kept as GROUP BY of its columns), not each batch's distinct rows.
    name: 'c_distinct',
    create: 'CREATE STREAM c_distinct AS SELECT DISTINCT sym, qty FROM trades',
    oracle: 'SELECT DISTINCT sym, qty FROM trades',
    windowed: false,
  },
  {
    // An aggregate the planner has no name for of its own: DuckDB's list of aggregate functions says it is one.
    name: 'c_rare',
    create: 'CREATE STREAM c_rare AS SELECT count_if(qty > 50) AS big, bit_count(bit_or(qty)) AS bits FROM trades',
    oracle: 'SELECT count_if(qty > 50) AS big, bit_count(bit_or(qty)) AS bits FROM trades',
    windowed: false,
  },
  {
    name: 's_big',
    create: 'CREATE STREAM s_big AS SELECT sym, price * qty AS notional, ts FROM trades WHERE qty >= 50',
    oracle: 'SELECT sym, price * qty AS notional, ts FROM trades WHERE qty >= 50',
    windowed: false,
  },
  // Select lists of the source's columns alone: their rows are the events' values, with no evaluation (Streams.emitRows).
  {
    name: 's_all',
    create: 'CREATE STREAM s_all AS SELECT * FROM trades',
    oracle: 'SELECT * FROM trades',
    windowed: false,
  },
  {
    name: 's_pick',
    create: 'CREATE STREAM s_pick AS SELECT t.ts, t.sym AS symbol, qty, t.qty AS again FROM trades t',
    oracle: 'SELECT ts, sym AS symbol, qty, qty AS again FROM trades',
    windowed: false,
  },
]

async function oracleRows(db: Database, sql: string, closedUntil: Date | null | 'all'): Promise<string[]> {
  const where = closedUntil === 'all' ? '' : closedUntil === null ? ' WHERE false' : ' WHERE window_end <= $1'
  const params = closedUntil instanceof Date ? [closedUntil] : []
  return sortedRows((await db.query(`SELECT * FROM (${sql}) AS oracle${where}`, params, { engine: 'column' })).rows)
}

async function emitted(db: Database, name: string): Promise<string[]> {
  return sortedRows((await db.query(`SELECT * FROM ${name}`, [], { engine: 'row' })).rows)
}

async function watermarkOf(db: Database): Promise<Date | null> {
  return (await db.query('SHOW SOURCES')).rows[0]!['watermark'] as Date | null
}

test('every stream emits what DuckDB computes in batch over the accepted events: after each batch for the closed windows, in full after the input ends', async (t) => {
  const directory = temporaryDirectory('streams')
  t.after(() => directory.remove())
  let db = await open(directory.path)
  t.after(async () => db.close())
  await db.query(
    `CREATE SOURCE trades (sym VARCHAR NOT NULL, price DOUBLE NOT NULL, qty INTEGER NOT NULL, ts TIMESTAMP NOT NULL, WATERMARK FOR ts AS ts - INTERVAL '${delaySeconds}' SECOND) WITH (allowed_lateness = INTERVAL '${latenessSeconds}' SECOND)`,
  )
  // Some events before the streams exist: a stream's first step processes them (backfill).
  await db.push('trades', [
    { sym: 'A', price: 10, qty: 5, ts: at(1) },
    { sym: 'B', price: 20, qty: 60, ts: at(2) },
  ])
  for (const stream of cases) await db.query(stream.create)
  const next = seededRandom(7)
  let clock = 2
  let late = 0
  for (let batch = 0; batch < 40; batch++) {
    if (batch === 20) {
      // A reopen in the middle: streams resume where they stood, without being declared again.
      await db.close()
      db = await open(directory.path)
    }
    clock += Math.floor(next() * 5)
    // Two batches large enough (2,400 values and more) that steps pass their events through a work table
    // (limits.streamInlineValuesMax); the others go inline, as query parameters.
    const size = batch === 12 || batch === 31 ? 600 : 1 + Math.floor(next() * 8)
    const events = Array.from({ length: size }, () => ({
      sym: ['A', 'B', 'C'][Math.floor(next() * 3)]!,
      // Quarters: every partial sum is exact, so a double aggregate does not depend on the order DuckDB adds in.
      price: Math.round(next() * 400) / 4,
      qty: [5, 10, 50, 100][Math.floor(next() * 4)]!,
      // Out of order: up to 12 s behind the clock, so some events are late.
      ts: at(clock - Math.floor(next() * 12)),
    }))
    const accepted = batch % 3 === 0 ? (await db.query(`INSERT INTO trades VALUES ${events.map((_, index) => `($${index * 4 + 1}, $${index * 4 + 2}, $${index * 4 + 3}, $${index * 4 + 4})`).join(', ')}`, events.flatMap((event) => [event.sym, event.price, event.qty, event.ts]))).rowCount : (await db.push('trades', events)).rowCount
    late += events.length - accepted
    const watermark = await watermarkOf(db)
    const closed = watermark === null ? null : new Date(watermark.getTime() - latenessSeconds * 1000)
    for (const stream of cases) {
      const expected = await oracleRows(db, stream.oracle, stream.windowed ? closed : 'all')
      assert.deepEqual(await emitted(db, stream.name), expected, `${stream.name} after batch ${batch} (windows closed up to ${closed?.toISOString() ?? 'none'})`)
    }
  }
  assert.ok(late > 10, `late events were exercised (${late})`)
  await db.flush('trades')
  for (const stream of cases) {
    const expected = await oracleRows(db, stream.oracle, 'all')
    assert.ok(expected.length >= (stream.windowed ? 4 : 1), `${stream.name} has results to compare (${expected.length})`)
    assert.deepEqual(await emitted(db, stream.name), expected, `${stream.name} after the input ended`)
  }
  // strata.streams: each stream's rows written, the late events of its source, its source's watermark.
  const lateCount = Number((await db.query('SELECT count(*) AS n FROM strata.late_events')).rows[0]!['n'])
  const status = new Map((await db.query('SELECT name, source, events_in, events_out, late, watermark, last_checkpoint, error FROM strata.streams')).rows.map((row) => [row['name'], row]))
  assert.equal(status.size, cases.length)
  for (const stream of cases) {
    const row = status.get(stream.name)!
    assert.equal(row['source'], 'trades')
    assert.equal(row['late'], lateCount, stream.name)
    assert.ok(Number(row['events_in']) > 0 && row['last_checkpoint'] instanceof Date && row['error'] === null, stream.name)
    if (!stream.name.startsWith('c_')) assert.equal(row['events_out'], Number((await db.query(`SELECT count(*) AS n FROM ${stream.name}`)).rows[0]!['n']), stream.name)
  }
  // After the end of input nothing more is emitted: a later event is late.
  assert.equal((await db.push('trades', [{ sym: 'A', price: 1, qty: 5, ts: at(clock + 100) }])).rowCount, 0)
  assert.deepEqual(await emitted(db, 's_tumble'), await oracleRows(db, cases[0]!.oracle, 'all'))
})

test('streams: what cannot be maintained incrementally is refused naming it; stream tables are written only by their stream; DROP', async (t) => {
  const db = await openTemporary(t, 'streams-errors')
  await db.query('CREATE SOURCE s (k VARCHAR, v INTEGER, ts TIMESTAMP, other TIMESTAMP, WATERMARK FOR ts)')
  await db.query('CREATE TABLE plain (k VARCHAR, v INTEGER)')
  const refused: readonly [string, string, RegExp][] = [
    ['CREATE STREAM x AS SELECT upper(k), count(*) FROM s GROUP BY upper(k)', 'NOT_SUPPORTED', /GROUP BY of an expression/],
    ['CREATE STREAM x AS SELECT count(*) FROM s GROUP BY k', 'NOT_SUPPORTED', /without selecting k itself/],
    ["CREATE STREAM x AS SELECT k, count(*) FROM s GROUP BY k, tumble(ts, INTERVAL '5' SECOND) EMIT CHANGES", 'NOT_SUPPORTED', /without selecting window_start itself/],
    ["CREATE STREAM x AS SELECT k, window_start, window_end, count(*) FROM s GROUP BY k, session(ts, INTERVAL '5' SECOND) EMIT CHANGES", 'NOT_SUPPORTED', /EMIT CHANGES of session windows/],
    ['CREATE STREAM x AS SELECT k, count(*) FROM s GROUP BY k EMIT ON WINDOW CLOSE', 'SYNTAX_ERROR', /needs a window/],
    ["CREATE STREAM x AS SELECT * FROM s ORDER BY ts", 'NOT_SUPPORTED', /ORDER BY/],
    ["CREATE STREAM x AS SELECT count(*) FROM s GROUP BY upper(k), session(ts, INTERVAL '5' SECOND)", 'NOT_SUPPORTED', /beside a session window/],
    ["CREATE STREAM x AS SELECT count(*) FROM s GROUP BY tumble(other, INTERVAL '5' SECOND)", 'NOT_SUPPORTED', /windows follow the source's event time/],
    ["CREATE STREAM x AS SELECT count(*) FROM s GROUP BY hop(ts, INTERVAL '3' SECOND, INTERVAL '5' SECOND)", 'INVALID_PARAMETER', /multiple of the slide/],
    ["CREATE STREAM x AS SELECT count(*) FROM s GROUP BY tumble(ts, INTERVAL '1' MONTH)", 'NOT_SUPPORTED', /months/],
    ['CREATE STREAM x AS SELECT * FROM nope', 'UNDEFINED_TABLE', /source "nope" does not exist/],
    ['CREATE STREAM x AS SELECT * FROM plain JOIN s ON s.k = plain.k', 'NOT_SUPPORTED', /a join of a table with anything but a table/],
    ["CREATE STREAM x AS SELECT *, row_number() OVER () FROM s", 'NOT_SUPPORTED', /OVER/],
    ['CREATE STREAM x AS', 'SYNTAX_ERROR', /expected the query/],
    ['CREATE STREAM x AS SELECT DISTINCT upper(k) FROM s', 'NOT_SUPPORTED', /DISTINCT of an expression/],
    ["CREATE STREAM x AS SELECT k, count(*) FROM s GROUP BY k, tumble(ts, INTERVAL '1' MINUTE) WITH (allowed_lateness = INTERVAL '10' SECOND)", 'NOT_SUPPORTED', /lateness is the source's/],
    ['CREATE STREAM x AS SELECT DISTINCT ON (k) k, v FROM s', 'NOT_SUPPORTED', /DISTINCT ON/],
    // State is kept by the relation's own column names, which a column alias list hides (it used to fail in SQLite, saying "no such column").
    ["CREATE STREAM x AS SELECT max(c.n) AS m, c.w FROM (SELECT count(*) AS num, window_start AS starttime FROM HOP(s, ts, INTERVAL '2' SECOND, INTERVAL '10' SECOND) GROUP BY k, window_start) AS c(n, w) GROUP BY c.w", 'NOT_SUPPORTED', /column alias list/],
    ['CREATE STREAM x AS SELECT c.a, count(*) FROM s AS c(a, b) GROUP BY c.a', 'NOT_SUPPORTED', /column alias list/],
    ['CREATE MATERIALIZED VIEW x AS SELECT c.a, count(*) AS n FROM plain AS c(a, b) GROUP BY c.a', 'NOT_SUPPORTED', /column alias list/],
    ['CREATE STREAM x AS SELECT k FROM s WHERE v IN (SELECT v FROM plain)', 'NOT_SUPPORTED', /subquery/],
    ['CREATE STREAM x AS SELECT k, (SELECT max(v) FROM plain) AS m FROM s', 'NOT_SUPPORTED', /subquery/],
    ['CREATE STREAM _strata_x AS SELECT k FROM s', 'SYNTAX_ERROR', /reserved/],
  ]
  await assertRefused((sql) => db.query(sql), refused)
  await db.query("CREATE STREAM counts AS SELECT k, window_end, count(*) AS n FROM s GROUP BY k, tumble(ts, INTERVAL '10' SECOND)")
  await db.query('CREATE STREAM IF NOT EXISTS counts AS SELECT * FROM s')
  await assert.rejects(db.query('CREATE STREAM counts AS SELECT * FROM s'), (error: unknown) => error instanceof StrataError && error.code === 'DUPLICATE_TABLE')
  for (const sql of ["INSERT INTO counts VALUES ('x', now(), 1)", 'UPDATE counts SET n = 2', 'DELETE FROM counts', 'ALTER TABLE counts ADD COLUMN w INTEGER', 'DROP TABLE counts']) {
    await assert.rejects(db.query(sql), (error: unknown) => error instanceof StrataError && error.code === 'NOT_SUPPORTED', sql)
  }
  assert.deepEqual((await db.query('SHOW STREAMS')).rows.map((row) => row['name']), ['counts'])
  const explained = (await db.query('EXPLAIN STREAM counts')).rows.map((row) => String(row['plan']))
  assert.deepEqual(explained.slice(0, 5), [
    'stream counts',
    '  source s (watermark ts - 00:00:00, allowed lateness 00:00:00)',
    '  -> window tumble size 00:00:10 on ts',
    '  -> aggregate, EMIT ON WINDOW CLOSE: each window once, when the watermark passes its end plus the allowed lateness (DuckDB)',
    '  -> table counts (with history)',
  ])
  assert.match(explained[5]!, /^DuckDB: SELECT k, window_end, count\(\*\) AS n FROM _strata_stream_windowed s GROUP BY k, window_start, window_end$/)
  await assert.rejects(db.query('EXPLAIN STREAM plain'), (error: unknown) => error instanceof StrataError && error.code === 'UNDEFINED_TABLE')
  await assert.rejects(db.query('DROP SOURCE s'), (error: unknown) => error instanceof StrataError && error.code === 'NOT_SUPPORTED' && /the stream "counts" reads it/.test(error.message))
  await assert.rejects(db.query('DROP STREAM plain'), (error: unknown) => error instanceof StrataError && error.code === 'UNDEFINED_TABLE')
  await db.query('DROP STREAM IF EXISTS nope')
  await db.query('DROP STREAM counts')
  assert.deepEqual((await db.query('SHOW STREAMS')).rows, [])
  await db.query('DROP SOURCE s')
})

test("EMIT CHANGES: a subscriber sees a group's row inserted, then updated with before and after; a group HAVING drops is deleted; an unchanged row is not touched", async (t) => {
  const db = await openTemporary(t, 'streams-changes')
  await db.query('CREATE SOURCE s (k VARCHAR, v INTEGER, ts TIMESTAMP, WATERMARK FOR ts)')
  await db.query('CREATE STREAM totals AS SELECT k, sum(v) AS total, max(v) AS top FROM s GROUP BY k HAVING sum(v) < 100')
  const feed = db.subscribe({ tables: ['totals'] })
  t.after(() => feed.close())
  await db.push('s', [{ k: 'a', v: 5, ts: at(1) }, { k: 'b', v: 1, ts: at(1) }])
  await db.push('s', [{ k: 'a', v: 7, ts: at(2) }])
  // b's row does not change (max and sum stay): no change for it.
  await db.push('s', [{ k: 'b', v: 0, ts: at(3) }])
  await db.push('s', [{ k: 'a', v: 90, ts: at(4) }])
  const changes: unknown[][] = []
  while (changes.length < 4) {
    const next = await feed.next()
    assert.equal(next.done, false)
    changes.push([next.value.op, next.value.before ?? null, next.value.after ?? null])
  }
  assert.deepEqual(changes, [
    ['insert', null, { k: 'a', total: 5, top: 5 }],
    ['insert', null, { k: 'b', total: 1, top: 1 }],
    ['update', { k: 'a', total: 5, top: 5 }, { k: 'a', total: 12, top: 7 }],
    // a's sum reached 102: HAVING drops its row. b's batch changed nothing: no change for it.
    ['delete', { k: 'a', total: 12, top: 7 }, null],
  ])
  assert.deepEqual((await db.query('SELECT k, total, top FROM totals')).rows, [{ k: 'b', total: 1, top: 1 }])
  // b's row has one version: the batch that left it as it was wrote nothing to it.
  assert.deepEqual((await db.query("SELECT count(*) AS versions FROM totals FOR SYSTEM_TIME ALL WHERE k = 'b'")).rows, [{ versions: 1 }])
})

test("a stream selecting its source's columns alone keeps every type's values exactly (NULLs, DECIMAL, BIGINT beyond 2^53, TIMESTAMPTZ, DATE, BLOB, BOOLEAN, JSON) on both stores, and a stream over it too", async (t) => {
  const db = await openTemporary(t, 'streams-projection')
  await db.query("CREATE SOURCE typed (id INTEGER, amount DECIMAL(18,4), big BIGINT, at TIMESTAMPTZ, day DATE, raw BLOB, flag BOOLEAN, doc JSON, note VARCHAR, ts TIMESTAMP, WATERMARK FOR ts)")
  await db.query('CREATE STREAM copied AS SELECT * FROM typed')
  await db.query('CREATE STREAM picked AS SELECT note, big AS wide, amount, doc, raw, id FROM typed')
  // A stream over the projection: its batches are the projection's rows.
  await db.query('CREATE STREAM picked_again AS SELECT wide, id FROM picked')
  const rows = [
    { id: 1, amount: '12345678901234.5678', big: 9007199254740993n, at: new Date('2026-01-05T14:30:00.123Z'), day: '2026-01-05', raw: new Uint8Array([0, 255, 7]), flag: true, doc: '{"a": [1, 2]}', note: 'é ✓', ts: new Date(base) },
    { id: 2, amount: '-0.0001', big: -9223372036854775808n, at: new Date('1969-12-31T23:59:59.999Z'), day: '1900-02-28', raw: new Uint8Array([]), flag: false, doc: 'null', note: '', ts: new Date(base + 1000) },
  ]
  await db.push('typed', rows)
  // A row of NULLs, through INSERT (the same batch path).
  await db.query("INSERT INTO typed VALUES (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, TIMESTAMP '2026-01-05 14:30:02')")
  for (const engine of ['row', 'column'] as const) {
    assert.deepEqual(sortedRows((await db.query('SELECT * FROM copied', [], { engine })).rows), sortedRows((await db.query('SELECT * FROM typed', [], { engine })).rows), `copied on the ${engine} store`)
    assert.deepEqual(sortedRows((await db.query('SELECT * FROM picked', [], { engine })).rows), sortedRows((await db.query('SELECT note, big AS wide, amount, doc, raw, id FROM typed', [], { engine })).rows), `picked on the ${engine} store`)
    assert.deepEqual(sortedRows((await db.query('SELECT * FROM picked_again', [], { engine })).rows), sortedRows((await db.query('SELECT big AS wide, id FROM typed', [], { engine })).rows), `picked_again on the ${engine} store`)
  }
  // The values are the source's, exactly: the BIGINT beyond 2^53 and the DECIMAL's digits.
  const first = (await db.query('SELECT wide, CAST(amount AS VARCHAR) AS amount FROM picked WHERE id = 1')).rows[0]!
  assert.equal(first['wide'], 9007199254740993n)
  assert.equal(first['amount'], '12345678901234.5678')
  // Their tables' columns have the source's types.
  const types = async (name: string): Promise<string[]> => (await db.query(`SELECT * FROM ${name} LIMIT 0`)).columns.map((column) => `${column.name} ${column.type}`)
  assert.deepEqual(await types('copied'), await types('typed'))
  assert.ok((await db.query('EXPLAIN STREAM picked')).rows.some((row) => row['plan'] === "  -> each batch's accepted events, their columns as they are (nothing to evaluate)"))
})

test('a lookup join sees the table as it is when each batch is processed, its own transaction\'s writes included; later changes do not rewrite earlier rows', async (t) => {
  const db = await openTemporary(t, 'streams-lookup')
  await db.query('CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner VARCHAR, tier VARCHAR)')
  await db.query("INSERT INTO accounts VALUES (1, 'ann', 'gold'), (2, 'bob', 'basic')")
  await db.query('CREATE SOURCE payments (account INTEGER, amount DOUBLE, ts TIMESTAMP, WATERMARK FOR ts)')
  await db.push('payments', [{ account: 2, amount: 1, ts: at(1) }])
  // Backfill joins the events held so far with the table as it is now.
  await db.query('CREATE STREAM enriched AS SELECT p.account, a.owner, a.tier, p.amount FROM payments p LEFT JOIN accounts a ON a.id = p.account')
  await db.query('CREATE STREAM gold AS SELECT account, amount FROM payments JOIN accounts ON accounts.id = payments.account WHERE tier = $$gold$$')
  await db.push('payments', [{ account: 1, amount: 10, ts: at(2) }, { account: 3, amount: 5, ts: at(2) }])
  await db.query("UPDATE accounts SET tier = 'platinum' WHERE id = 1")
  await db.push('payments', [{ account: 1, amount: 20, ts: at(3) }])
  await db.transaction(async (tx) => {
    await tx.query("INSERT INTO accounts VALUES (3, 'cy', 'gold')")
    await tx.query('INSERT INTO payments VALUES (3, 30, $1)', [at(4)])
  })
  assert.deepEqual(sortedRows((await db.query('SELECT * FROM enriched')).rows), sortedRows([
    { account: 2, owner: 'bob', tier: 'basic', amount: 1 },
    { account: 1, owner: 'ann', tier: 'gold', amount: 10 },
    { account: 3, owner: null, tier: null, amount: 5 },
    { account: 1, owner: 'ann', tier: 'platinum', amount: 20 },
    { account: 3, owner: 'cy', tier: 'gold', amount: 30 },
  ]))
  assert.deepEqual(sortedRows((await db.query('SELECT * FROM gold')).rows), sortedRows([{ account: 1, amount: 10 }, { account: 3, amount: 30 }]))
  await assertRefused((sql) => db.query(sql), [
    ['CREATE STREAM x AS SELECT * FROM accounts a RIGHT JOIN payments p ON a.id = p.account', 'NOT_SUPPORTED', /a join of a table with anything but a table/],
    ['CREATE STREAM x AS SELECT * FROM payments p FULL JOIN accounts a ON a.id = p.account', 'NOT_SUPPORTED', /a FULL join/],
    ['CREATE STREAM x AS SELECT * FROM payments p, accounts a', 'NOT_SUPPORTED', /comma join/],
    ['CREATE STREAM x AS SELECT * FROM payments p JOIN nope n ON n.id = p.account', 'UNDEFINED_TABLE', /nope/],
  ])
})

test('CREATE MATERIALIZED VIEW over a source is kept like a stream (one row per group, updated in place); DROP MATERIALIZED VIEW (views over tables: streaming-views.test.ts)', async (t) => {
  const db = await openTemporary(t, 'streams-matview')
  await db.query('CREATE SOURCE s (k VARCHAR, v INTEGER, ts TIMESTAMP, WATERMARK FOR ts)')
  await db.query('CREATE TABLE plain (k VARCHAR, v INTEGER)')
  await db.push('s', [{ k: 'a', v: 1, ts: at(1) }])
  await db.query('CREATE MATERIALIZED VIEW totals AS SELECT k, sum(v) AS total, count(*) AS n FROM s GROUP BY k')
  await db.query('CREATE MATERIALIZED VIEW IF NOT EXISTS totals AS SELECT k FROM s')
  await db.push('s', [{ k: 'a', v: 2, ts: at(2) }, { k: 'b', v: 5, ts: at(2) }])
  assert.deepEqual(sortedRows((await db.query('SELECT * FROM totals')).rows), sortedRows([{ k: 'a', total: 3, n: 2 }, { k: 'b', total: 5, n: 1 }]))
  assert.deepEqual((await db.query('SHOW STREAMS')).rows.map((row) => row['name']), ['totals'])
  await assertRefused((sql) => db.query(sql), [
    ['CREATE MATERIALIZED VIEW x (a, b) AS SELECT k, v FROM s', 'NOT_SUPPORTED', /column list/],
    ['DROP MATERIALIZED VIEW plain', 'UNDEFINED_TABLE', /is a table, not a materialized view/],
    ['DROP MATERIALIZED VIEW nope', 'UNDEFINED_TABLE', /materialized view "nope" does not exist/],
  ])
  await db.query('DROP MATERIALIZED VIEW IF EXISTS nope')
  await db.query('DROP MATERIALIZED VIEW totals')
  assert.deepEqual((await db.query('SHOW STREAMS')).rows, [])
})

test('streams over a stateless stream cascade in the same batch: windowed (on the event time it carries, with its source\'s watermark), stateless and EMIT CHANGES, each equal to DuckDB\'s batch answer; DROP order', async (t) => {
  const db = await openTemporary(t, 'streams-cascade')
  const seed = Math.floor(Math.random() * 2 ** 31)
  const random = seededRandom(seed)
  await db.query("CREATE SOURCE trades (sym VARCHAR, price DOUBLE, qty INTEGER, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '2' SECOND) WITH (allowed_lateness = INTERVAL '1' SECOND)")
  await db.query('CREATE STREAM big AS SELECT sym, price * qty AS notional, ts FROM trades WHERE qty >= 10')
  await db.push('trades', [{ sym: 'A', price: 10, qty: 20, ts: at(1) }])
  const downstream: readonly (readonly [string, string, string, boolean])[] = [
    [
      'big_windows',
      "CREATE STREAM big_windows AS SELECT sym, window_start, window_end, sum(notional) AS total, count(*) AS n FROM big GROUP BY sym, tumble(ts, INTERVAL '10' SECOND)",
      "SELECT sym, time_bucket(INTERVAL '10 seconds', ts, TIMESTAMP '1970-01-01') AS window_start, time_bucket(INTERVAL '10 seconds', ts, TIMESTAMP '1970-01-01') + INTERVAL '10 seconds' AS window_end, sum(price * qty) AS total, count(*) AS n FROM trades WHERE qty >= 10 GROUP BY ALL",
      true,
    ],
    ['huge', 'CREATE STREAM huge AS SELECT sym, notional, ts FROM big WHERE notional > 800', 'SELECT sym, price * qty AS notional, ts FROM trades WHERE qty >= 10 AND price * qty > 800', false],
    ['huge_again', 'CREATE STREAM huge_again AS SELECT sym FROM huge', 'SELECT sym FROM trades WHERE qty >= 10 AND price * qty > 800', false],
    ['big_counts', 'CREATE STREAM big_counts AS SELECT sym, count(*) AS n, max(notional) AS top FROM big GROUP BY sym', 'SELECT sym, count(*) AS n, max(price * qty) AS top FROM trades WHERE qty >= 10 GROUP BY sym', false],
    // A lookup join over a stream, then windows over the joined rows: an aggregate over a lookup join is a stream over the join's stream.
    ['big_sectors', 'CREATE STREAM big_sectors AS SELECT b.sym, s.sector, b.notional, b.ts FROM big b JOIN sectors s ON s.sym = b.sym', 'SELECT t.sym, s.sector, t.price * t.qty AS notional, t.ts FROM trades t JOIN sectors s ON s.sym = t.sym WHERE t.qty >= 10', false],
    [
      'sector_windows',
      "CREATE STREAM sector_windows AS SELECT sector, window_start, window_end, sum(notional) AS total FROM big_sectors GROUP BY sector, tumble(ts, INTERVAL '10' SECOND)",
      "SELECT s.sector, time_bucket(INTERVAL '10 seconds', t.ts, TIMESTAMP '1970-01-01') AS window_start, time_bucket(INTERVAL '10 seconds', t.ts, TIMESTAMP '1970-01-01') + INTERVAL '10 seconds' AS window_end, sum(t.price * t.qty) AS total FROM trades t JOIN sectors s ON s.sym = t.sym WHERE t.qty >= 10 GROUP BY ALL",
      true,
    ],
  ]
  await db.query('CREATE TABLE sectors (sym VARCHAR PRIMARY KEY, sector VARCHAR)')
  await db.query("INSERT INTO sectors VALUES ('A', 'tech'), ('B', 'tech'), ('C', 'energy')")
  for (const [, create] of downstream) await db.query(create)
  let clock = 2
  for (let batch = 0; batch < 25; batch++) {
    clock += Math.floor(random() * 4)
    await db.push('trades', Array.from({ length: 1 + Math.floor(random() * 6) }, () => ({ sym: ['A', 'B', 'C'][Math.floor(random() * 3)]!, price: Math.floor(random() * 60), qty: Math.floor(random() * 30), ts: at(clock - Math.floor(random() * 4)) })))
    const watermark = await watermarkOf(db)
    const closed = watermark === null ? null : new Date(watermark.getTime() - 1000)
    for (const [name, , oracle, windowed] of downstream) {
      assert.deepEqual(await emitted(db, name), await oracleRows(db, oracle, windowed ? closed : 'all'), `${name} after batch ${batch} (seed ${seed})`)
    }
  }
  await db.flush()
  for (const [name, , oracle] of downstream) assert.deepEqual(await emitted(db, name), await oracleRows(db, oracle, 'all'), `${name} after the input ended (seed ${seed})`)
  await assertRefused((sql) => db.query(sql), [
    ["CREATE STREAM x AS SELECT count(*) FROM huge_again GROUP BY tumble(ts, INTERVAL '5' SECOND)", 'NOT_SUPPORTED', /windows follow the source's event time/],
    ['DROP STREAM big', 'NOT_SUPPORTED', /the stream "big_counts" reads it/],
  ])
  // A stream over a stream whose rows change (EMIT CHANGES) or that emits windows reads its table, kept like a materialized view.
  await db.query('CREATE STREAM top_counts AS SELECT max(n) AS most FROM big_counts')
  await db.query('CREATE STREAM window_totals AS SELECT sym, sum(total) AS total FROM big_windows GROUP BY sym')
  await db.push('trades', [{ sym: 'B', price: 50, qty: 20, ts: at(clock + 50) }])
  await db.flush()
  assert.deepEqual((await db.query('SELECT most FROM top_counts')).rows, (await db.query('SELECT max(n) AS most FROM big_counts', [], { engine: 'column' })).rows)
  assert.deepEqual(sortedRows((await db.query('SELECT * FROM window_totals')).rows), sortedRows((await db.query('SELECT sym, sum(total) AS total FROM big_windows GROUP BY sym', [], { engine: 'column' })).rows))
  await db.query('DROP STREAM top_counts')
  await db.query('DROP STREAM window_totals')
  await db.query('DROP STREAM huge CASCADE')
  assert.deepEqual((await db.query('SHOW STREAMS')).rows.map((row) => row['name']), ['big', 'big_counts', 'big_sectors', 'big_windows', 'sector_windows'], 'DROP STREAM … CASCADE drops the streams that read it')
  await db.query('DROP SOURCE trades CASCADE')
  assert.deepEqual((await db.query('SHOW STREAMS')).rows, [])
})

test("windows close with every event while the column store lags behind the commits: a step reads the mirror's copy as of its position and the later commits' events from the row store", async (t) => {
  const db = await openTemporary(t, 'streams-lagging-mirror')
  await db.query("CREATE SOURCE ticks (k VARCHAR, v INTEGER, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)")
  await db.query("CREATE STREAM per_window AS SELECT k, window_start, window_end, count(*) AS n, sum(v) AS total FROM ticks GROUP BY k, tumble(ts, INTERVAL '2' SECOND)")
  await db.query("CREATE STREAM per_session AS SELECT k, window_start, window_end, count(*) AS n FROM ticks GROUP BY k, session(ts, INTERVAL '1.5' SECOND)")
  // Many small commits back to back, nothing reading the column store in between: the mirror falls
  // behind them (by one to four commits here; sampling it would wake it, so the test does not).
  for (let batch = 0; batch < 150; batch++) {
    // Each batch's events reach up to 0.9 s back, just inside the 1 s delay: into the windows the next batches close.
    await db.push('ticks', [0, 900, 500].map((back, index) => ({ k: ['a', 'b'][(batch + index) % 2]!, v: batch * 3 + index, ts: new Date(base + batch * 300 - back) })))
  }
  const tumbleOracle = "SELECT k, time_bucket(INTERVAL '2 seconds', ts, TIMESTAMP '1970-01-01') AS window_start, time_bucket(INTERVAL '2 seconds', ts, TIMESTAMP '1970-01-01') + INTERVAL '2 seconds' AS window_end, count(*) AS n, sum(v) AS total FROM ticks GROUP BY ALL"
  const watermark = (await db.query("SELECT watermark FROM strata.sources WHERE name = 'ticks'")).rows[0]!['watermark'] as Date
  assert.deepEqual(await emitted(db, 'per_window'), await oracleRows(db, tumbleOracle, watermark))
  await db.flush()
  assert.deepEqual(await emitted(db, 'per_window'), await oracleRows(db, tumbleOracle, 'all'))
  const sessions = (await db.query('SELECT k, count(*) AS n FROM per_session GROUP BY k', [], { engine: 'row' })).rows
  assert.equal(sessions.reduce((sum, row) => sum + Number(row['n']), 0) > 0, true)
  assert.equal(Number((await db.query('SELECT sum(n) AS n FROM per_session')).rows[0]!['n']), 450, 'every event is in one session')
})

test('a window step whose query fails fails its batch with the query\'s error, and nothing of the batch stays; the stream goes on with the next batches', async (t) => {
  const db = await openTemporary(t, 'streams-failing-window')
  await db.query('CREATE SOURCE ticks (k VARCHAR, ts TIMESTAMP, WATERMARK FOR ts)')
  await db.query("CREATE STREAM parsed AS SELECT window_start, sum(CAST(k AS INTEGER)) AS total FROM ticks GROUP BY tumble(ts, INTERVAL '1' SECOND)")
  await db.push('ticks', [{ k: '1', ts: at(0) }, { k: 'x', ts: at(0.5) }])
  // Its window closes with the next batch, and the cast fails: that batch is refused whole.
  await assert.rejects(db.push('ticks', [{ k: '2', ts: at(3) }]), (error: unknown) => error instanceof StrataError && error.code === 'TYPE_MISMATCH' && /x/.test(error.message))
  assert.equal(Number((await db.query('SELECT count(*) AS n FROM ticks')).rows[0]!['n']), 2, 'the refused batch left nothing')
  assert.deepEqual((await db.query('SELECT * FROM parsed')).rows, [])
  await db.query('DROP STREAM parsed')
  await db.query("CREATE STREAM parsed AS SELECT window_start, count(k) AS total FROM ticks GROUP BY tumble(ts, INTERVAL '1' SECOND)")
  await db.push('ticks', [{ k: '2', ts: at(3) }])
  assert.deepEqual((await db.query('SELECT total FROM parsed')).rows.map((row) => Number(row['total'])), [2])
})

test("a window step sees every batch of its transaction: several INSERTs into a source in one transaction, the last closing the windows the earlier ones filled", async (t) => {
  const db = await openTemporary(t, 'streams-one-transaction')
  await db.query("CREATE SOURCE ticks (k VARCHAR, v INTEGER, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)")
  await db.query("CREATE STREAM per_window AS SELECT k, window_start, window_end, count(*) AS n, sum(v) AS total FROM ticks GROUP BY k, tumble(ts, INTERVAL '2' SECOND)")
  await db.query("CREATE STREAM per_session AS SELECT k, window_start, window_end, count(*) AS n, sum(v) AS total FROM ticks GROUP BY k, session(ts, INTERVAL '1.5' SECOND)")
  // Committed batches first, and the column store caught up with them (a step then takes its own batch from memory).
  for (let batch = 0; batch < 3; batch++) await db.push('ticks', [{ k: 'a', v: batch, ts: new Date(base + batch * 500) }, { k: 'b', v: 10 + batch, ts: new Date(base + batch * 500 + 100) }])
  await db.query('SELECT count(*) FROM ticks', [], { engine: 'column' })
  await db.query('BEGIN')
  await db.query('INSERT INTO ticks VALUES ($1, $2, $3), ($4, $5, $6)', ['a', 100, new Date(base + 1_600), 'b', 200, new Date(base + 1_700)])
  await db.query('INSERT INTO ticks VALUES ($1, $2, $3)', ['a', 300, new Date(base + 1_900)])
  // Its watermark closes the first windows and sessions, which hold the earlier INSERTs' events.
  await db.query('INSERT INTO ticks VALUES ($1, $2, $3)', ['c', 1, new Date(base + 9_000)])
  await db.query('COMMIT')
  const tumbleOracle = "SELECT k, time_bucket(INTERVAL '2 seconds', ts, TIMESTAMP '1970-01-01') AS window_start, time_bucket(INTERVAL '2 seconds', ts, TIMESTAMP '1970-01-01') + INTERVAL '2 seconds' AS window_end, count(*) AS n, sum(v) AS total FROM ticks GROUP BY ALL"
  const watermark = (await db.query("SELECT watermark FROM strata.sources WHERE name = 'ticks'")).rows[0]!['watermark'] as Date
  const closed = await emitted(db, 'per_window')
  assert.deepEqual(closed, await oracleRows(db, tumbleOracle, watermark))
  assert.ok(closed.some((row) => row.includes('"n":5,"total":403')), `the window of a's events holds the transaction's earlier INSERTs (${closed.join(' ')})`)
  const sessions = (await db.query('SELECT k, n, total FROM per_session ORDER BY k', [], { engine: 'row' })).rows
  assert.deepEqual(sessions.map((row) => [row['k'], Number(row['n']), Number(row['total'])]), [['a', 5, 403], ['b', 4, 233]])
})

test('a window step reads exactly the windows that close: an event at the last microsecond of a window, a limit exactly at a window end, steps that close no window', async (t) => {
  const db = await openTemporary(t, 'streams-window-edges')
  await db.query("CREATE SOURCE edges (v INTEGER, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)")
  await db.query("CREATE STREAM edge_tumble AS SELECT window_start, window_end, count(*) AS n, sum(v) AS total FROM edges GROUP BY tumble(ts, INTERVAL '2' SECOND)")
  await db.query("CREATE STREAM edge_hop AS SELECT window_start, window_end, count(*) AS n, sum(v) AS total FROM edges GROUP BY hop(ts, INTERVAL '3' SECOND, INTERVAL '1' SECOND)")
  const tumbleOracle = "SELECT time_bucket(INTERVAL '2 seconds', ts, TIMESTAMP '1970-01-01') AS window_start, time_bucket(INTERVAL '2 seconds', ts, TIMESTAMP '1970-01-01') + INTERVAL '2 seconds' AS window_end, count(*) AS n, sum(v) AS total FROM edges GROUP BY ALL"
  // Each event's three windows by a join with every window start (not the stream's own arithmetic).
  const hopOracle =
    "SELECT w.ws AS window_start, w.ws + INTERVAL '3 seconds' AS window_end, count(*) AS n, sum(e.v) AS total FROM edges e JOIN " +
    "(SELECT unnest(generate_series(TIMESTAMP '2026-01-05 14:29:50', TIMESTAMP '2026-01-05 14:30:30', INTERVAL '1 second')) AS ws) w ON e.ts >= w.ws AND e.ts < w.ws + INTERVAL '3 seconds' GROUP BY ALL"
  const micros = (seconds: number): Timestamp => new Timestamp(BigInt(base) * 1000n + BigInt(Math.round(seconds * 1_000_000)))
  // Pushes one at a time: each moves the watermark to its time minus 1 s. The limits fall on a window's end
  // (2 s, 4 s, 6 s), between ends (2.5 s, 3.000001 s: nothing closes), and just past one (5.999999 s + 1 µs).
  const pushes: [number, number][] = [[0.5, 1], [1.999999, 2], [2, 4], [3, 8], [3.5, 16], [4.000001, 32], [5, 64], [5.999999, 128], [6, 256], [7, 512], [7.000001, 1024], [9.5, 2048]]
  for (const [seconds, v] of pushes) {
    await db.push('edges', [{ v, ts: micros(seconds) }])
    const watermark = await watermarkOf(db)
    assert.deepEqual(await emitted(db, 'edge_tumble'), await oracleRows(db, tumbleOracle, watermark), `tumble after the event at ${seconds} s`)
    assert.deepEqual(await emitted(db, 'edge_hop'), await oracleRows(db, hopOracle, watermark), `hop after the event at ${seconds} s`)
  }
  const closed = await emitted(db, 'edge_tumble')
  assert.ok(closed.some((row) => row.includes('"n":2,"total":3')), `the first window holds its last microsecond's event (${closed.join(' ')})`)
  await db.flush()
  assert.deepEqual(await emitted(db, 'edge_tumble'), await oracleRows(db, tumbleOracle, 'all'))
  assert.deepEqual(await emitted(db, 'edge_hop'), await oracleRows(db, hopOracle, 'all'))
})

test('an aggregate without a window reads its groups by index: many new groups in one push, then all of them again, equal DuckDB; the indexes go with the stream', async (t) => {
  const directory = temporaryDirectory('streams-many-groups')
  t.after(() => directory.remove())
  const db = await open(directory.path)
  t.after(async () => db.close())
  await db.query("CREATE SOURCE many (k BIGINT, v BIGINT, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '1' HOUR)")
  await db.query('CREATE STREAM per_key AS SELECT k, count(*) AS c, sum(v) AS total FROM many GROUP BY k EMIT CHANGES')
  const groups = 3_000
  for (let round = 0; round < 2; round++) {
    await db.push('many', Array.from({ length: groups }, (_, k) => ({ k, v: round * 10 + (k % 7), ts: new Date(base + round * 60_000 + k) })))
    const oracle = await db.query('SELECT k, count(*) AS c, sum(v) AS total FROM many GROUP BY k', [], { engine: 'column' })
    assert.deepEqual(await emitted(db, 'per_key'), sortedRows(oracle.rows), `after push ${round}`)
  }
  // Each step reads a touched group's events and its row by the GROUP BY column (before, a scan of both tables per group).
  const plan = (sql: string): string => {
    const file = new Sqlite(join(directory.path, 'strata.sqlite'), { readonly: true })
    try {
      return file.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(1).map((row) => String((row as { detail: string }).detail)).join('; ')
    } finally {
      file.close()
    }
  }
  assert.match(plan('SELECT k, v, ts FROM many WHERE k IS ?'), /USING (COVERING )?INDEX/)
  assert.match(plan('SELECT k, c, total FROM per_key WHERE k IS ?'), /USING (COVERING )?INDEX/)
  await db.query('DROP STREAM per_key')
  assert.doesNotMatch(plan('SELECT k, v, ts FROM many WHERE k IS ?'), /INDEX/, 'the index on the source went with the stream')
})
