/**
 * Interval joins of two sources (SPEC 8): after every batch of either side, the stream's rows equal
 * DuckDB's batch join of the two sources' accepted events (late events never reach the join).
 */
import * as assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Database } from '../src/index.js'
import { assertRefused, openTemporary, seededRandom, sortedRows } from './helpers.js'

const base = Date.parse('2026-01-05T14:30:00Z')
const at = (seconds: number): Date => new Date(base + seconds * 1000)

/**
 * The seeded load of auctions and bids the join tests share: each step moves the clock on and a batch
 * of auctions, of bids, or of both in one transaction (the second batch then meets the first)
 * arrives, up to 12 s out of order. A bid's auction is among the last few opened, or from `ahead`
 * ids on when the test wants bids for auctions not yet open or never to open.
 */
class AuctionLoad {
  clock = 5
  nextAuction: number
  constructor(
    private readonly db: Database,
    private readonly random: () => number,
    private readonly options: { readonly firstAuction: number; readonly sellers: number; readonly ahead: number; readonly pushShare: number },
  ) {
    this.nextAuction = options.firstAuction
  }

  /** An event time of this step: the clock, up to 12 s back. */
  jitter(): Date {
    return at(this.clock - Math.floor(this.random() * 12))
  }

  async step(): Promise<void> {
    const random = this.random
    this.clock += Math.floor(random() * 6)
    const auctionEvents = Array.from({ length: Math.floor(random() * 3) }, () => ({ id: this.nextAuction++, seller: `s${Math.floor(random() * this.options.sellers)}`, ts: this.jitter() }))
    const spread = 4 + this.options.ahead
    const bidEvents = Array.from({ length: Math.floor(random() * 6) }, () => ({ auction: Math.max(1, this.nextAuction - 1 + this.options.ahead - Math.floor(random() * spread)), price: Math.floor(random() * 30), ts: this.jitter() }))
    const choice = random()
    if (choice < this.options.pushShare) await this.db.push('auctions', auctionEvents)
    else if (choice < 2 * this.options.pushShare) await this.db.push('bids', bidEvents)
    else {
      await this.db.transaction(async (tx) => {
        for (const event of auctionEvents) await tx.query('INSERT INTO auctions VALUES ($1, $2, $3)', [event.id, event.seller, event.ts])
        for (const event of bidEvents) await tx.query('INSERT INTO bids VALUES ($1, $2, $3)', [event.auction, event.price, event.ts])
      })
    }
  }
}

const joins: readonly (readonly [string, string])[] = [
  [
    'j_window',
    "SELECT b.auction, b.price, a.seller, b.ts AS bid_ts FROM bids b JOIN auctions a ON a.id = b.auction AND b.ts BETWEEN a.ts AND a.ts + INTERVAL '20' SECOND",
  ],
  ['j_plain', 'SELECT a.id, a.seller, b.price FROM auctions a JOIN bids b ON b.auction = a.id WHERE b.price > 10'],
  ['j_no_key', "SELECT a.id AS auction, b.auction AS bid_for FROM bids b JOIN auctions a ON b.ts > a.ts + INTERVAL '55' SECOND AND b.price < 3"],
]

test('an interval join of two sources equals DuckDB\'s batch join of their accepted events after every batch of either side, out of order, late events dropped, a transaction feeding both', async (t) => {
  const db = await openTemporary(t, 'joins-differential')
  const seed = process.env['STRATA_JOINS_SEED'] !== undefined ? Number(process.env['STRATA_JOINS_SEED']) : Math.floor(Math.random() * 2 ** 31)
  const random = seededRandom(seed)
  await db.query("CREATE SOURCE auctions (id INTEGER, seller VARCHAR, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '10' SECOND)")
  await db.query("CREATE SOURCE bids (auction INTEGER, price INTEGER, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)")
  // Events before the streams exist: the backfill joins them.
  await db.push('auctions', [{ id: 1, seller: 's1', ts: at(0) }])
  await db.push('bids', [{ auction: 1, price: 20, ts: at(3) }, { auction: 1, price: 2, ts: at(70) }])
  for (const [name, query] of joins) await db.query(`CREATE STREAM ${name} AS ${query}`)
  // An aggregate over a join: a stream over the join's stream (its rows are only appended).
  await db.query('CREATE STREAM j_sellers AS SELECT seller, count(*) AS n, max(price) AS top FROM j_window GROUP BY seller')
  const load = new AuctionLoad(db, random, { firstAuction: 2, sellers: 4, ahead: 0, pushShare: 0.4 })
  for (let step = 0; step < 40; step++) {
    await load.step()
    for (const [name, query] of [...joins, ['j_sellers', `SELECT seller, count(*) AS n, max(price) AS top FROM (${joins[0]![1]}) AS j GROUP BY seller`] as const]) {
      const kept = sortedRows((await db.query(`SELECT * FROM ${name}`, [], { engine: 'row' })).rows)
      const batch = sortedRows((await db.query(query, [], { engine: 'column' })).rows)
      assert.deepEqual(kept, batch, `${name} after step ${step} (seed ${seed}; replay with STRATA_JOINS_SEED=${seed})`)
    }
  }
  const late = Number((await db.query('SELECT count(*) AS n FROM strata.late_events')).rows[0]!['n'])
  const joined = Number((await db.query('SELECT count(*) AS n FROM j_plain')).rows[0]!['n'])
  const windowed = Number((await db.query('SELECT count(*) AS n FROM j_window')).rows[0]!['n'])
  assert.ok(late > 0 && joined > 0 && windowed > 0, `late events were dropped (${late}) and pairs joined (${joined}, ${windowed} within the interval)`)
  const explained = (await db.query('EXPLAIN STREAM j_window')).rows.map((row) => String(row['plan']))
  assert.ok(explained.includes("  -> interval join with source auctions (watermark ts): each batch of either side with the other side's events with the same auction = id accepted before it"), explained.join('\n'))
})

test('interval joins: what they cannot keep yet is refused naming it; a source a join reads is not dropped without CASCADE', async (t) => {
  const db = await openTemporary(t, 'joins-errors')
  await db.query('CREATE SOURCE a (k INTEGER, ts TIMESTAMP, WATERMARK FOR ts)')
  await db.query('CREATE SOURCE b (k INTEGER, ts TIMESTAMP, WATERMARK FOR ts)')
  await assertRefused((sql) => db.query(sql), [
    ['CREATE STREAM x AS SELECT * FROM a LEFT JOIN b ON a.k = b.k', 'NOT_SUPPORTED', /LEFT JOIN of two sources without an upper bound/],
    ['CREATE STREAM x AS SELECT * FROM a FULL JOIN b ON a.k = b.k', 'NOT_SUPPORTED', /a FULL JOIN of two sources without an upper bound/],
    ['CREATE STREAM x AS SELECT * FROM a JOIN a AS other ON a.k = other.k', 'NOT_SUPPORTED', /a source with itself/],
    ['CREATE STREAM x AS SELECT * FROM a JOIN b USING (k)', 'NOT_SUPPORTED', /USING/],
    ["CREATE STREAM x AS SELECT count(*) AS n FROM a JOIN b ON a.k = b.k GROUP BY tumble(a.ts, INTERVAL '5' SECOND)", 'NOT_SUPPORTED', /windows over a join other than .* with an upper bound/],
  ])
  // Session windows over a join, and windows on the right side's time, are kept as a cascade: the join a part of its own.
  await db.query("CREATE STREAM x_sessions AS SELECT count(*) AS n, window_start FROM a JOIN b ON a.k = b.k AND b.ts BETWEEN a.ts AND a.ts + INTERVAL '1' SECOND GROUP BY session(a.ts, INTERVAL '5' SECOND)")
  await db.query("CREATE STREAM x_right AS SELECT count(*) AS n, window_start FROM a JOIN b ON a.k = b.k AND b.ts BETWEEN a.ts AND a.ts + INTERVAL '1' SECOND GROUP BY tumble(b.ts, INTERVAL '5' SECOND)")
  assert.deepEqual((await db.query("SELECT name FROM strata.streams WHERE starts_with(name, 'x_') OR starts_with(name, '_strata_part_x_') ORDER BY name")).rows.map((row) => row['name']), ['_strata_part_x_right_1', '_strata_part_x_sessions_1', 'x_right', 'x_sessions'])
  await db.query('DROP STREAM x_sessions')
  await db.query('DROP STREAM x_right')
  await db.query('CREATE STREAM pairs AS SELECT a.k, b.ts AS later FROM a JOIN b ON a.k = b.k')
  await assertRefused((sql) => db.query(sql), [['DROP SOURCE b', 'NOT_SUPPORTED', /the stream "pairs" reads it/]])
  await db.push('a', [{ k: 1, ts: at(1) }])
  await db.push('b', [{ k: 1, ts: at(2) }, { k: 2, ts: at(2) }])
  assert.deepEqual((await db.query('SELECT k FROM pairs')).rows, [{ k: 1 }])
  await db.query('DROP SOURCE b CASCADE')
  assert.deepEqual((await db.query('SHOW STREAMS')).rows, [])
})

/** Name, the stream's query, and DuckDB's own spelling of it (DuckDB has no MATCH_CONDITION). */
const asofJoins: readonly (readonly [string, string, string])[] = [
  ['a_plain', 'SELECT t.sym, t.qty, t.ts, q.bid, q.ts AS quoted FROM trades t ASOF JOIN quotes q ON t.sym = q.sym AND t.ts >= q.ts', ''],
  ['a_match', 'SELECT t.sym, t.qty, q.bid FROM trades t ASOF JOIN quotes q MATCH_CONDITION (t.ts > q.ts) ON t.sym = q.sym WHERE t.qty > 2', 'SELECT t.sym, t.qty, q.bid FROM trades t ASOF JOIN quotes q ON t.sym = q.sym AND t.ts > q.ts WHERE t.qty > 2'],
  ['a_left', 'SELECT t.sym, t.qty, t.ts, q.bid FROM trades t ASOF LEFT JOIN quotes q ON q.sym = t.sym AND q.ts <= t.ts', ''],
]

test("an ASOF join emits each left event once its match is final (the right source's watermark passed it), equal to DuckDB's ASOF JOIN over everything accepted; MATCH_CONDITION and ASOF LEFT JOIN", async (t) => {
  const db = await openTemporary(t, 'joins-asof')
  const seed = process.env['STRATA_JOINS_SEED'] !== undefined ? Number(process.env['STRATA_JOINS_SEED']) : Math.floor(Math.random() * 2 ** 31)
  const random = seededRandom(seed)
  await db.query("CREATE SOURCE quotes (sym VARCHAR, bid INTEGER, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '4' SECOND) WITH (allowed_lateness = INTERVAL '1' SECOND)")
  await db.query("CREATE SOURCE trades (sym VARCHAR, qty INTEGER, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '3' SECOND)")
  // No two quotes of a symbol at the same time: DuckDB's ASOF JOIN may pick either of two equal ones.
  let quoteMillis = 0
  const quoteAt = (seconds: number): Date => new Date(base + seconds * 1000 + (quoteMillis++ % 997))
  await db.push('quotes', [{ sym: 'A', bid: 10, ts: quoteAt(0) }])
  await db.push('trades', [{ sym: 'A', qty: 5, ts: at(1) }])
  for (const [name, query] of asofJoins) await db.query(`CREATE STREAM ${name} AS ${query}`)
  await db.query('CREATE STREAM a_symbols AS SELECT sym, count(*) AS n, sum(qty) AS qty, max(bid) AS top FROM a_plain GROUP BY sym')
  const symbols = ['A', 'B', 'C']
  let clock = 2
  const check = async (context: string): Promise<void> => {
    const watermark = (await db.query("SELECT watermark FROM strata.sources WHERE name = 'quotes'")).rows[0]!['watermark'] as Date | null
    const flushed = (await db.query('SHOW SOURCES')).rows.find((row) => row['name'] === 'quotes')!['flushed'] === true
    const limit = flushed ? null : watermark === null ? new Date(0) : new Date(watermark.getTime() - 1000)
    const symbols: readonly (readonly [string, string, string])[] = [['a_symbols', '', `SELECT sym, count(*) AS n, sum(qty) AS qty, max(bid) AS top FROM (${asofJoins[0]![1]}) AS a GROUP BY sym`]]
    for (const [name, written, duckdb] of [...asofJoins, ...symbols]) {
      const query = duckdb === '' ? written : duckdb
      const kept = sortedRows((await db.query(`SELECT * FROM ${name}`, [], { engine: 'row' })).rows)
      // The batch answer for the trades whose match is final: before the quotes' watermark minus their lateness.
      const final = limit === null ? query : query.replace(' FROM trades t ', ` FROM (SELECT * FROM trades WHERE ts < TIMESTAMP '${limit.toISOString().replace('T', ' ').replace('Z', '')}') t `)
      const batch = sortedRows((await db.query(final, [], { engine: 'column' })).rows)
      assert.deepEqual(kept, batch, `${name} after ${context} (seed ${seed}; replay with STRATA_JOINS_SEED=${seed})`)
    }
  }
  for (let step = 0; step < 30; step++) {
    clock += Math.floor(random() * 4)
    const jitter = (): number => clock - Math.floor(random() * 6)
    if (random() < 0.5) await db.push('quotes', Array.from({ length: 1 + Math.floor(random() * 3) }, () => ({ sym: symbols[Math.floor(random() * 3)]!, bid: Math.floor(random() * 100), ts: quoteAt(jitter()) })))
    else await db.push('trades', Array.from({ length: 1 + Math.floor(random() * 4) }, () => ({ sym: symbols[Math.floor(random() * 3)]!, qty: Math.floor(random() * 6), ts: at(jitter()) })))
    await check(`step ${step}`)
  }
  await db.flush('quotes')
  await check('the quotes ended')
  await db.push('trades', [{ sym: 'B', qty: 9, ts: at(clock + 30) }])
  await check('a trade after the quotes ended')
  const explained = (await db.query('EXPLAIN STREAM a_plain')).rows.map((row) => String(row['plan']))
  assert.ok(explained.some((line) => line.startsWith('  -> ASOF join with source quotes: each event with the latest quotes event of the same sym = sym at or before it')), explained.join('\n'))
  assert.ok(Number((await db.query('SELECT count(*) AS n FROM a_plain')).rows[0]!['n']) > 10)
})

test('ASOF joins: what they cannot keep is refused naming it', async (t) => {
  const db = await openTemporary(t, 'joins-asof-errors')
  await db.query('CREATE SOURCE a (k INTEGER, v INTEGER, ts TIMESTAMP, WATERMARK FOR ts)')
  await db.query('CREATE SOURCE b (k INTEGER, v INTEGER, ts TIMESTAMP, WATERMARK FOR ts)')
  await db.query('CREATE TABLE plain (k INTEGER, ts TIMESTAMP)')
  await assertRefused((sql) => db.query(sql), [
    ['CREATE STREAM x AS SELECT * FROM a ASOF JOIN b ON a.k = b.k AND a.ts <= b.ts', 'NOT_SUPPORTED', /without one inequality/],
    ['CREATE STREAM x AS SELECT * FROM a ASOF JOIN b ON a.k = b.k AND a.v >= b.v', 'NOT_SUPPORTED', /event-time columns/],
    ['CREATE STREAM x AS SELECT * FROM a ASOF JOIN b ON a.k = b.k', 'NOT_SUPPORTED', /without one inequality/],
    ['CREATE STREAM x AS SELECT * FROM a ASOF JOIN plain p ON a.k = p.k AND a.ts >= p.ts', 'NOT_SUPPORTED', /ASOF join with a table/],
    ['CREATE STREAM x AS SELECT * FROM a ASOF JOIN b MATCH_CONDITION (a.ts >= b.ts ON a.k = b.k', 'SYNTAX_ERROR', /MATCH_CONDITION/],
  ])
})

test("an idle source stops holding back an ASOF join: after idle_timeout without events, its watermark follows the other side's, the waiting left events are emitted, and its older events are late from then on", async (t) => {
  const db = await openTemporary(t, 'joins-idle')
  await db.query("CREATE SOURCE quotes (sym VARCHAR, bid INTEGER, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '2' SECOND) WITH (idle_timeout = INTERVAL '0.3' SECOND)")
  await db.query("CREATE SOURCE trades (sym VARCHAR, qty INTEGER, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)")
  // The same pair without an idle timeout: its trades wait for quotes.
  await db.query("CREATE SOURCE quotes_kept (sym VARCHAR, bid INTEGER, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '2' SECOND)")
  await db.query("CREATE SOURCE trades_kept (sym VARCHAR, qty INTEGER, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)")
  const query = 'SELECT t.sym, t.qty, t.ts, q.bid FROM trades t ASOF JOIN quotes q ON t.sym = q.sym AND t.ts >= q.ts'
  await db.query(`CREATE STREAM matched AS ${query}`)
  await db.query(`CREATE STREAM matched_kept AS ${query.replace('trades t', 'trades_kept t').replace('quotes q', 'quotes_kept q')}`)
  const shown = (await db.query('SHOW SOURCES')).rows.find((row) => row['name'] === 'quotes')!
  assert.equal(shown['idle_timeout'], '00:00:00.3')
  const both = async (name: 'quotes' | 'trades', events: readonly Record<string, unknown>[]): Promise<void> => {
    await db.push(name, events)
    await db.push(`${name}_kept`, events)
  }
  const count = async (sql: string): Promise<number> => Number((await db.query(sql)).rows[0]!['n'])
  await both('quotes', [{ sym: 'A', bid: 10, ts: at(0) }, { sym: 'B', bid: 20, ts: at(1) }, { sym: 'A', bid: 11, ts: at(4) }])
  // Quotes' watermark: 2 s. Trades at 1 s and later wait for it; the quotes are not idle yet.
  await both('trades', [{ sym: 'A', qty: 1, ts: at(1) }, { sym: 'B', qty: 2, ts: at(3) }, { sym: 'A', qty: 3, ts: at(5) }])
  await both('trades', [{ sym: 'A', qty: 4, ts: at(12) }])
  assert.equal(await count('SELECT count(*) AS n FROM matched'), 1, 'the trade before the quotes watermark only, while the quotes are not idle')
  await new Promise((resolve) => setTimeout(resolve, 400))
  // The quotes are idle now: a trades batch moves the quotes watermark to the trades' (16 s - 1 s).
  await both('trades', [{ sym: 'B', qty: 5, ts: at(16) }])
  const watermarks = new Map((await db.query('SELECT name, watermark FROM strata.sources')).rows.map((row) => [row['name'], (row['watermark'] as Date).getTime()]))
  assert.equal(watermarks.get('quotes'), at(15).getTime(), "the idle source's watermark followed the trades'")
  assert.equal(watermarks.get('quotes_kept'), at(2).getTime(), 'without idle_timeout it stays')
  const batch = async (before: number): Promise<unknown[]> => sortedRows((await db.query(`SELECT * FROM (${query}) AS a WHERE ts < TIMESTAMP '2026-01-05 14:30:${String(before).padStart(2, '0')}'`, [], { engine: 'column' })).rows)
  assert.deepEqual(sortedRows((await db.query('SELECT * FROM matched', [], { engine: 'row' })).rows), await batch(15), 'the trades before the new watermark, with their quotes')
  assert.equal(await count('SELECT count(*) AS n FROM matched'), 4)
  assert.equal(await count('SELECT count(*) AS n FROM matched_kept'), 1, 'the trades still wait without idle_timeout')
  // A quote older than the new watermark is late now (it would have changed emitted matches); a newer one counts.
  await both('quotes', [{ sym: 'A', bid: 99, ts: at(11) }, { sym: 'B', bid: 30, ts: at(15.5) }])
  assert.equal(await count("SELECT count(*) AS n FROM strata.late_events WHERE source = 'quotes'"), 1)
  assert.equal(await count("SELECT count(*) AS n FROM strata.late_events WHERE source = 'quotes_kept'"), 0)
  await db.flush()
  assert.deepEqual(sortedRows((await db.query('SELECT * FROM matched', [], { engine: 'row' })).rows), await batch(59), 'after the end of input: the batch ASOF join over the events accepted')
  assert.deepEqual(sortedRows((await db.query('SELECT * FROM matched_kept', [], { engine: 'row' })).rows), sortedRows((await db.query(query.replace('trades t', 'trades_kept t').replace('quotes q', 'quotes_kept q'), [], { engine: 'column' })).rows))
  await assertRefused((sql) => db.query(sql), [
    ["CREATE SOURCE bad (ts TIMESTAMP, WATERMARK FOR ts) WITH (idle_timeout = INTERVAL '0' SECOND)", 'INVALID_PARAMETER', /idle_timeout must be greater than zero/],
    ["CREATE SOURCE bad (ts TIMESTAMP, WATERMARK FOR ts) WITH (idle_timeout = 'soon')", 'NOT_SUPPORTED', /idle_timeout/],
  ])
})

test("windows over a join's rows close by the join's own watermark — the lower of what either side may still bring, through the time bounds — and equal DuckDB's batch windows over the batch join after every batch", async (t) => {
  const db = await openTemporary(t, 'joins-windows')
  const seed = process.env['STRATA_JOINS_SEED'] !== undefined ? Number(process.env['STRATA_JOINS_SEED']) : Math.floor(Math.random() * 2 ** 31)
  const random = seededRandom(seed)
  await db.query("CREATE SOURCE auctions (id INTEGER, seller VARCHAR, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '10' SECOND)")
  await db.query("CREATE SOURCE bids (auction INTEGER, price INTEGER, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) WITH (allowed_lateness = INTERVAL '2' SECOND)")
  await db.query("CREATE SOURCE quotes (sym VARCHAR, bid INTEGER, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '4' SECOND)")
  await db.query("CREATE SOURCE trades (sym VARCHAR, qty INTEGER, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '3' SECOND)")
  const on = "ON a.id = b.auction AND b.ts BETWEEN a.ts AND a.ts + INTERVAL '20' SECOND"
  // Bids (left) meet auctions (right) opened 0–20 s before them: auction time − bid time is in [-20 s, 0].
  await db.query(`CREATE STREAM j_bidtime AS SELECT b.auction, b.price, b.ts AS bid_ts FROM bids b JOIN auctions a ${on}`)
  await db.query(`CREATE STREAM j_opentime AS SELECT a.seller, a.ts AS opened, b.price FROM bids b JOIN auctions a ${on}`)
  await db.query('CREATE STREAM j_asof AS SELECT t.sym, t.qty, q.bid, t.ts FROM trades t ASOF JOIN quotes q ON t.sym = q.sym AND t.ts >= q.ts')
  const windows = [
    {
      name: 'w_bids',
      create: "SELECT auction, window_start, window_end, count(*) AS n, sum(price) AS total FROM j_bidtime GROUP BY auction, tumble(bid_ts, INTERVAL '10' SECOND)",
      oracle: `SELECT b.auction, time_bucket(INTERVAL '10 seconds', b.ts, TIMESTAMP '1970-01-01') AS window_start, time_bucket(INTERVAL '10 seconds', b.ts, TIMESTAMP '1970-01-01') + INTERVAL '10 seconds' AS window_end, count(*) AS n, sum(b.price) AS total FROM bids b JOIN auctions a ${on} GROUP BY ALL`,
      // The bid time: bids still to come, or auctions still to come with a bid at most 0 s before… after them.
      closedUntil: (limits: Map<string, number>): number => Math.min(limits.get('bids')!, limits.get('auctions')! - 0),
    },
    {
      name: 'w_opened',
      create: "SELECT seller, window_start, window_end, count(*) AS n, max(price) AS top FROM j_opentime GROUP BY seller, hop(opened, INTERVAL '5' SECOND, INTERVAL '10' SECOND)",
      oracle:
        `SELECT a.seller, w.ws AS window_start, w.ws + INTERVAL '10 seconds' AS window_end, count(*) AS n, max(b.price) AS top FROM bids b JOIN auctions a ${on} ` +
        "JOIN (SELECT unnest(generate_series(TIMESTAMP '2026-01-05 14:29:00', TIMESTAMP '2026-01-05 14:40:00', INTERVAL '5 seconds')) AS ws) w ON a.ts >= w.ws AND a.ts < w.ws + INTERVAL '10 seconds' GROUP BY ALL",
      // The auction time: auctions still to come, or bids still to come for auctions up to 20 s before them.
      closedUntil: (limits: Map<string, number>): number => Math.min(limits.get('auctions')!, limits.get('bids')! - 20_000),
    },
    {
      // The join and its windows in one query: tumble windows on the left (bid) time.
      name: 'w_one',
      create: `SELECT a.seller, window_start, window_end, count(*) AS n, max(b.price) AS top FROM bids b JOIN auctions a ${on} GROUP BY a.seller, tumble(b.ts, INTERVAL '10' SECOND)`,
      oracle: `SELECT a.seller, time_bucket(INTERVAL '10 seconds', b.ts, TIMESTAMP '1970-01-01') AS window_start, time_bucket(INTERVAL '10 seconds', b.ts, TIMESTAMP '1970-01-01') + INTERVAL '10 seconds' AS window_end, count(*) AS n, max(b.price) AS top FROM bids b JOIN auctions a ${on} GROUP BY ALL`,
      closedUntil: (limits: Map<string, number>): number => Math.min(limits.get('bids')!, limits.get('auctions')! - 0),
    },
    {
      // And hop windows, with a filter on the other side's column.
      name: 'w_one_hop',
      create: `SELECT b.auction, window_start, window_end, sum(b.price) AS total FROM bids b JOIN auctions a ${on} WHERE a.seller <> 's1' GROUP BY b.auction, hop(b.ts, INTERVAL '5' SECOND, INTERVAL '10' SECOND)`,
      oracle:
        `SELECT b.auction, w.ws AS window_start, w.ws + INTERVAL '10 seconds' AS window_end, sum(b.price) AS total FROM bids b JOIN auctions a ${on} ` +
        "JOIN (SELECT unnest(generate_series(TIMESTAMP '2026-01-05 14:29:00', TIMESTAMP '2026-01-05 14:40:00', INTERVAL '5 seconds')) AS ws) w ON b.ts >= w.ws AND b.ts < w.ws + INTERVAL '10 seconds' WHERE a.seller <> 's1' GROUP BY ALL",
      closedUntil: (limits: Map<string, number>): number => Math.min(limits.get('bids')!, limits.get('auctions')! - 0),
    },
    {
      name: 'w_asof',
      create: "SELECT sym, window_start, window_end, sum(qty * bid) AS notional, count(*) AS n FROM j_asof GROUP BY sym, tumble(ts, INTERVAL '10' SECOND)",
      oracle:
        "SELECT t.sym, time_bucket(INTERVAL '10 seconds', t.ts, TIMESTAMP '1970-01-01') AS window_start, time_bucket(INTERVAL '10 seconds', t.ts, TIMESTAMP '1970-01-01') + INTERVAL '10 seconds' AS window_end, sum(t.qty * q.bid) AS notional, count(*) AS n " +
        'FROM trades t ASOF JOIN quotes q ON t.sym = q.sym AND t.ts >= q.ts GROUP BY ALL',
      closedUntil: (limits: Map<string, number>): number => Math.min(limits.get('trades')!, limits.get('quotes')!),
    },
  ] as const
  for (const window of windows) await db.query(`CREATE STREAM ${window.name} AS ${window.create}`)
  const lateness = new Map([['bids', 2000]])
  const check = async (context: string): Promise<void> => {
    const shown = (await db.query('SHOW SOURCES')).rows
    // Each source's limit: watermark minus allowed lateness; +∞ once flushed, −∞ before any watermark.
    const limits = new Map(shown.map((row) => [String(row['name']), row['flushed'] === true ? Infinity : row['watermark'] === null ? -Infinity : (row['watermark'] as Date).getTime() - (lateness.get(String(row['name'])) ?? 0)]))
    for (const window of windows) {
      const until = window.closedUntil(limits)
      const where = until === Infinity ? '' : ` WHERE window_end <= TIMESTAMP '${new Date(Number.isFinite(until) ? until : 0).toISOString().replace('T', ' ').replace('Z', '')}'`
      const oracle = sortedRows((await db.query(`SELECT * FROM (${window.oracle}) AS o${where}`, [], { engine: 'column' })).rows)
      assert.deepEqual(sortedRows((await db.query(`SELECT * FROM ${window.name}`, [], { engine: 'row' })).rows), oracle, `${window.name} after ${context} (seed ${seed}; replay with STRATA_JOINS_SEED=${seed})`)
    }
  }
  const load = new AuctionLoad(db, random, { firstAuction: 1, sellers: 3, ahead: 0, pushShare: 0.35 })
  for (let step = 0; step < 40; step++) {
    await load.step()
    const symbol = (): string => ['A', 'B'][Math.floor(random() * 2)]!
    if (random() < 0.5) await db.push('quotes', Array.from({ length: 1 + Math.floor(random() * 2) }, () => ({ sym: symbol(), bid: Math.floor(random() * 100), ts: new Date(load.jitter().getTime() + Math.floor(random() * 997)) })))
    else await db.push('trades', Array.from({ length: 1 + Math.floor(random() * 3) }, () => ({ sym: symbol(), qty: Math.floor(random() * 6), ts: load.jitter() })))
    await check(`step ${step}`)
  }
  const count = async (sql: string): Promise<number> => Number((await db.query(sql)).rows[0]!['n'])
  assert.ok((await count('SELECT count(*) AS n FROM w_bids')) > 3 && (await count('SELECT count(*) AS n FROM w_opened')) > 3 && (await count('SELECT count(*) AS n FROM w_asof')) > 3, 'windows closed before the input ended')
  await db.flush('auctions')
  await check('the auctions ended')
  await db.flush()
  await check('the input ended')
  const explained = (await db.query('EXPLAIN STREAM j_bidtime')).rows.map((row) => String(row['plan']))
  assert.ok(explained.includes("  -> time bounds: -00:00:20 <= auctions.ts - bids.ts <= +00:00:00; each side's events kept until the other side's watermark passes them"), explained.join('\n'))
  // Without the bound a carried time needs, the join's rows have no event time to window.
  await db.query('CREATE SOURCE x1 (k INTEGER, ts TIMESTAMP, WATERMARK FOR ts)')
  await db.query('CREATE SOURCE x2 (k INTEGER, ts TIMESTAMP, WATERMARK FOR ts)')
  await db.query("CREATE STREAM x_after AS SELECT x1.k, x1.ts AS t1, x2.ts AS t2 FROM x1 JOIN x2 ON x1.k = x2.k AND x2.ts >= x1.ts - INTERVAL '5' SECOND")
  await assertRefused((sql) => db.query(sql), [
    ["CREATE STREAM x_windows AS SELECT count(*) AS n FROM x_after GROUP BY tumble(t1, INTERVAL '5' SECOND)", 'NOT_SUPPORTED', /windows follow the source's event time/],
  ])
  await db.query("CREATE STREAM x_windows AS SELECT count(*) AS n, window_end FROM x_after GROUP BY tumble(t2, INTERVAL '5' SECOND)")
})

test("a LEFT interval join emits its pairs as they meet and each left event without a match once the right side's watermark has passed its time plus the upper bound, NULL-extended; windows over it close by its own watermark; all equal DuckDB's batch LEFT JOIN", async (t) => {
  const db = await openTemporary(t, 'joins-left')
  const seed = process.env['STRATA_JOINS_SEED'] !== undefined ? Number(process.env['STRATA_JOINS_SEED']) : Math.floor(Math.random() * 2 ** 31)
  const random = seededRandom(seed)
  await db.query("CREATE SOURCE auctions (id INTEGER, seller VARCHAR, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '6' SECOND) WITH (allowed_lateness = INTERVAL '2' SECOND)")
  await db.query("CREATE SOURCE bids (auction INTEGER, price INTEGER, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '4' SECOND)")
  // Before the streams exist: the backfill emits this bid unmatched at once when the auctions are far enough ahead.
  await db.push('bids', [{ auction: 99, price: 1, ts: at(0) }])
  const on = "ON a.id = b.auction AND a.ts BETWEEN b.ts - INTERVAL '20' SECOND AND b.ts + INTERVAL '3' SECOND"
  const lefts = [
    ['l_left', `SELECT b.auction, b.price, b.ts AS bid_ts, a.seller FROM bids b LEFT JOIN auctions a ${on}`],
    ['l_filtered', `SELECT b.price, a.seller, a.id FROM bids b LEFT JOIN auctions a ${on} WHERE a.seller IS NULL OR a.seller <> 's0'`],
    // The same join written the other way round: kept as the LEFT JOIN with the sides swapped.
    ['l_right', `SELECT a.seller, b.auction, b.ts AS bid_ts FROM auctions a RIGHT JOIN bids b ${on}`],
  ] as const
  for (const [name, query] of lefts) await db.query(`CREATE STREAM ${name} AS ${query}`)
  await db.query("CREATE STREAM l_windows AS SELECT window_start, window_end, count(*) AS n, count(seller) AS matched FROM l_left GROUP BY tumble(bid_ts, INTERVAL '10' SECOND)")
  const windowsOracle = `SELECT time_bucket(INTERVAL '10 seconds', b.ts, TIMESTAMP '1970-01-01') AS window_start, time_bucket(INTERVAL '10 seconds', b.ts, TIMESTAMP '1970-01-01') + INTERVAL '10 seconds' AS window_end, count(*) AS n, count(a.seller) AS matched FROM bids b LEFT JOIN auctions a ${on} GROUP BY ALL`
  const literal = (millis: number): string => `TIMESTAMP '${new Date(millis).toISOString().replace('T', ' ').replace('Z', '')}'`
  const check = async (context: string): Promise<void> => {
    const shown = new Map((await db.query('SHOW SOURCES')).rows.map((row) => [String(row['name']), row]))
    const limit = (name: string, latenessMs: number): number => (shown.get(name)!['flushed'] === true ? Infinity : shown.get(name)!['watermark'] === null ? -Infinity : (shown.get(name)!['watermark'] as Date).getTime() - latenessMs)
    // Left events before this are known unmatched: no auction still to come is within 3 s after them.
    const threshold = limit('auctions', 2000) - 3000
    for (const [name, query] of lefts) {
      const unmatchedWhere = Number.isFinite(threshold) ? ` AND b.ts < ${literal(threshold)}` : threshold === Infinity ? '' : ' AND false'
      const inner = query.replace('LEFT JOIN', 'JOIN').replace('RIGHT JOIN', 'JOIN')
      const unmatched = query.includes(' WHERE ') ? query.replace(' WHERE ', ` WHERE a.id IS NULL${unmatchedWhere} AND (`) + ')' : `${query} WHERE a.id IS NULL${unmatchedWhere}`
      const batch = sortedRows((await db.query(`${inner} UNION ALL ${unmatched}`, [], { engine: 'column' })).rows)
      assert.deepEqual(sortedRows((await db.query(`SELECT * FROM ${name}`, [], { engine: 'row' })).rows), batch, `${name} after ${context} (seed ${seed}; replay with STRATA_JOINS_SEED=${seed})`)
    }
    const closedUntil = Math.min(limit('bids', 0), threshold)
    const where = closedUntil === Infinity ? '' : ` WHERE window_end <= ${literal(Number.isFinite(closedUntil) ? closedUntil : 0)}`
    assert.deepEqual(sortedRows((await db.query('SELECT * FROM l_windows', [], { engine: 'row' })).rows), sortedRows((await db.query(`SELECT * FROM (${windowsOracle}) AS o${where}`, [], { engine: 'column' })).rows), `l_windows after ${context} (seed ${seed})`)
  }
  await check('the backfill')
  // Bids for recent auctions, some for auctions not yet open or never to open (unmatched).
  const load = new AuctionLoad(db, random, { firstAuction: 1, sellers: 3, ahead: 2, pushShare: 0.35 })
  for (let step = 0; step < 40; step++) {
    await load.step()
    await check(`step ${step}`)
  }
  const count = async (sql: string): Promise<number> => Number((await db.query(sql)).rows[0]!['n'])
  assert.ok((await count('SELECT count(*) AS n FROM l_left WHERE seller IS NULL')) > 3 && (await count('SELECT count(*) AS n FROM l_left WHERE seller IS NOT NULL')) > 3, 'unmatched and matched bids before the input ended')
  await db.flush('auctions')
  await check('the auctions ended')
  await db.push('bids', [{ auction: 1, price: 7, ts: at(load.clock + 1) }])
  await check('a bid after the auctions ended')
  await db.flush()
  await check('the input ended')
  const explained = (await db.query('EXPLAIN STREAM l_left')).rows.map((row) => String(row['plan']))
  assert.ok(explained.includes("  -> LEFT join: a bids event without a match is emitted with NULLs once auctions's watermark minus its allowed lateness passes its time +00:00:03"), explained.join('\n'))
  await db.query('CREATE SOURCE x1 (k INTEGER, ts TIMESTAMP, WATERMARK FOR ts)')
  await db.query('CREATE SOURCE x2 (k INTEGER, ts TIMESTAMP, WATERMARK FOR ts)')
  await assertRefused((sql) => db.query(sql), [
    ["CREATE STREAM x AS SELECT * FROM x1 LEFT JOIN x2 ON x1.k = x2.k AND x2.ts >= x1.ts - INTERVAL '5' SECOND", 'NOT_SUPPORTED', /LEFT JOIN of two sources without an upper bound/],
    ['CREATE STREAM x AS SELECT * FROM x1 RIGHT JOIN x2 ON x1.k = x2.k AND x2.ts = x1.ts', 'NOT_SUPPORTED', /a RIGHT JOIN of two sources selecting \* \(name the columns/],
  ])
  // A LEFT join's right time is NULL in its unmatched rows: no event time to window by.
  await db.query("CREATE STREAM x_right AS SELECT x2.ts FROM x1 LEFT JOIN x2 ON x1.k = x2.k AND x2.ts BETWEEN x1.ts AND x1.ts + INTERVAL '1' SECOND")
  await assertRefused((sql) => db.query(sql), [["CREATE STREAM x AS SELECT count(*) AS n FROM x_right GROUP BY tumble(ts, INTERVAL '5' SECOND)", 'NOT_SUPPORTED', /windows follow the source's event time/]])
})

test("a FULL interval join emits its pairs as they meet, each left event without a match once the right side's watermark has passed its time plus the upper bound, and each right event without one once the left side's has passed its time minus the lower bound; all equal DuckDB's batch FULL JOIN", async (t) => {
  const db = await openTemporary(t, 'joins-full')
  const seed = process.env['STRATA_JOINS_SEED'] !== undefined ? Number(process.env['STRATA_JOINS_SEED']) : Math.floor(Math.random() * 2 ** 31)
  const random = seededRandom(seed)
  await db.query("CREATE SOURCE auctions (id INTEGER, seller VARCHAR, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '6' SECOND) WITH (allowed_lateness = INTERVAL '2' SECOND)")
  await db.query("CREATE SOURCE bids (auction INTEGER, price INTEGER, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '4' SECOND)")
  // Before the streams exist: the backfill takes these.
  await db.push('bids', [{ auction: 99, price: 1, ts: at(0) }])
  await db.push('auctions', [{ id: 98, seller: 's9', ts: at(0) }])
  // Right (auction) time − left (bid) time in [-20 s, +3 s].
  const on = "ON a.id = b.auction AND a.ts BETWEEN b.ts - INTERVAL '20' SECOND AND b.ts + INTERVAL '3' SECOND"
  const fulls = [
    { name: 'f_all', select: 'SELECT b.auction, b.price, b.ts AS bid_ts, a.id, a.seller, a.ts AS opened', where: '' },
    { name: 'f_filtered', select: 'SELECT b.price, a.seller', where: "a.seller IS NULL OR a.seller <> 's0'" },
  ] as const
  for (const full of fulls) await db.query(`CREATE STREAM ${full.name} AS ${full.select} FROM bids b FULL JOIN auctions a ${on}${full.where === '' ? '' : ` WHERE ${full.where}`}`)
  const literal = (millis: number): string => `TIMESTAMP '${new Date(millis).toISOString().replace('T', ' ').replace('Z', '')}'`
  const before = (column: string, millis: number): string => (Number.isFinite(millis) ? `${column} < ${literal(millis)}` : millis === Infinity ? 'true' : 'false')
  const check = async (context: string): Promise<void> => {
    const shown = new Map((await db.query('SHOW SOURCES')).rows.map((row) => [String(row['name']), row]))
    const limit = (name: string, latenessMs: number): number => (shown.get(name)!['flushed'] === true ? Infinity : shown.get(name)!['watermark'] === null ? -Infinity : (shown.get(name)!['watermark'] as Date).getTime() - latenessMs)
    // Bids before this are known unmatched (no auction still to come is within 3 s after them); auctions before the other, likewise (no bid still to come is within 20 s before them).
    const bidsPassed = limit('auctions', 2000) - 3000
    const auctionsPassed = limit('bids', 0) - 20_000
    for (const full of fulls) {
      const also = full.where === '' ? '' : ` AND (${full.where})`
      const oracle =
        `${full.select} FROM bids b JOIN auctions a ${on}${full.where === '' ? '' : ` WHERE ${full.where}`} UNION ALL ` +
        `${full.select} FROM bids b LEFT JOIN auctions a ${on} WHERE a.ts IS NULL AND ${before('b.ts', bidsPassed)}${also} UNION ALL ` +
        `${full.select} FROM bids b RIGHT JOIN auctions a ${on} WHERE b.ts IS NULL AND ${before('a.ts', auctionsPassed)}${also}`
      const batch = sortedRows((await db.query(oracle, [], { engine: 'column' })).rows)
      for (const engine of ['row', 'column'] as const) {
        assert.deepEqual(sortedRows((await db.query(`SELECT * FROM ${full.name}`, [], { engine })).rows), batch, `${full.name} on the ${engine} store after ${context} (seed ${seed}; replay with STRATA_JOINS_SEED=${seed})`)
      }
    }
  }
  await check('the backfill')
  // Bids for recent auctions and for auctions not yet open or never to open; auctions nobody bids on.
  const load = new AuctionLoad(db, random, { firstAuction: 1, sellers: 3, ahead: 2, pushShare: 0.35 })
  for (let step = 0; step < 40; step++) {
    await load.step()
    await check(`step ${step}`)
  }
  const count = async (sql: string): Promise<number> => Number((await db.query(sql)).rows[0]!['n'])
  assert.ok((await count('SELECT count(*) AS n FROM f_all WHERE seller IS NULL')) > 2 && (await count('SELECT count(*) AS n FROM f_all WHERE price IS NULL')) > 2 && (await count('SELECT count(*) AS n FROM f_all WHERE price IS NOT NULL AND seller IS NOT NULL')) > 2, `unmatched on either side and matched rows before the input ended (seed ${seed})`)
  await db.flush('bids')
  await check('the bids ended')
  await db.push('auctions', [{ id: 1, seller: 's1', ts: at(load.clock + 1) }])
  await check('an auction after the bids ended')
  await db.flush()
  await check('the input ended')
  const explained = (await db.query('EXPLAIN STREAM f_all')).rows.map((row) => String(row['plan']))
  assert.ok(explained.includes("  -> FULL join: a auctions event without a match is emitted with NULLs once bids's watermark minus its allowed lateness passes its time +00:00:20"), explained.join('\n'))
  await db.query('CREATE SOURCE x1 (k INTEGER, ts TIMESTAMP, WATERMARK FOR ts)')
  await db.query('CREATE SOURCE x2 (k INTEGER, ts TIMESTAMP, WATERMARK FOR ts)')
  await db.query('CREATE TABLE dim (k INTEGER, label VARCHAR)')
  await assertRefused((sql) => db.query(sql), [
    ["CREATE STREAM x AS SELECT x1.k, x2.ts FROM x1 FULL JOIN x2 ON x1.k = x2.k AND x2.ts <= x1.ts + INTERVAL '5' SECOND", 'NOT_SUPPORTED', /FULL JOIN of two sources without a lower bound/],
    ["CREATE STREAM x AS SELECT x1.k, x2.ts FROM x1 FULL JOIN x2 ON x1.k = x2.k AND x2.ts >= x1.ts - INTERVAL '5' SECOND", 'NOT_SUPPORTED', /FULL JOIN of two sources without an upper bound/],
    ['CREATE STREAM x AS SELECT x1.k, dim.label FROM x1 FULL JOIN dim ON x1.k = dim.k', 'NOT_SUPPORTED', /a FULL join of a source with a table/],
  ])
  // A FULL join's rows carry no event time (either side may be NULL): nothing to window by.
  await db.query("CREATE STREAM x_full AS SELECT x1.ts AS t1, x2.ts AS t2 FROM x1 FULL JOIN x2 ON x1.k = x2.k AND x2.ts BETWEEN x1.ts AND x1.ts + INTERVAL '1' SECOND")
  await assertRefused((sql) => db.query(sql), [["CREATE STREAM x AS SELECT count(*) AS n FROM x_full GROUP BY tumble(t1, INTERVAL '5' SECOND)", 'NOT_SUPPORTED', /windows follow the source's event time/]])
})
