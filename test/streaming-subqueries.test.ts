/**
 * Subqueries in FROM (derived tables) in a stream's or a materialized view's query: each is kept as a
 * part of its own (`_strata_part_<stream>_<n>`), and the stream reads the part in its place. The oracle
 * is DuckDB's batch answer of the same query over the accepted events: Nexmark's q5, q7 and q8 as
 * Nexmark writes them (subqueries in FROM, one of them nested; q7 a source joined with a subquery), a
 * stateless subquery feeding a window, one over an ordinary table, joins and aggregates in one query;
 * on both stores, after a restart too. Dropping the stream drops its parts.
 */
import * as assert from 'node:assert/strict'
import { test } from 'node:test'
import { open } from '../src/index.js'
import { derivedTables, sameRowsWithMore } from '../src/sql/streaming.js'
import { assertRefused, seededRandom, sortedRows, temporaryDirectory } from './helpers.js'

const base = Date.parse('2026-01-05T14:30:00Z')
const bucket = (column: string): string => `time_bucket(INTERVAL '10 seconds', ${column}, TIMESTAMP '1970-01-01')`

/** Each stream as written, and DuckDB's batch query over the sources' accepted events. */
const streams: readonly { readonly name: string; readonly sources: readonly string[]; readonly query: string; readonly batch: string }[] = [
  {
    // Nexmark q5 (hot items): the auctions with the most bids per 10 s window sliding by 2 s; MaxBids nests a subquery.
    name: 'q5',
    sources: ['bid'],
    query:
      'SELECT AuctionBids.auction, AuctionBids.num, AuctionBids.starttime FROM (SELECT auction, count(*) AS num, window_start AS starttime, window_end AS endtime ' +
      "FROM HOP(bid, ts, INTERVAL '2' SECOND, INTERVAL '10' SECOND) GROUP BY auction, window_start, window_end) AS AuctionBids " +
      'JOIN (SELECT max(CountBids.num) AS maxn, CountBids.starttime, CountBids.endtime FROM (SELECT count(*) AS num, window_start AS starttime, window_end AS endtime ' +
      "FROM HOP(bid, ts, INTERVAL '2' SECOND, INTERVAL '10' SECOND) GROUP BY auction, window_start, window_end) AS CountBids GROUP BY CountBids.starttime, CountBids.endtime) AS MaxBids " +
      'ON AuctionBids.starttime = MaxBids.starttime AND AuctionBids.endtime = MaxBids.endtime AND AuctionBids.num >= MaxBids.maxn',
    batch:
      "WITH hop AS (SELECT auction, time_bucket(INTERVAL '2 seconds', ts, TIMESTAMP '1970-01-01') - to_seconds(2 * k) AS window_start FROM bid, range(5) AS r(k)), " +
      "AuctionBids AS (SELECT auction, count(*) AS num, window_start AS starttime, window_start + INTERVAL '10 seconds' AS endtime FROM hop GROUP BY auction, window_start), " +
      'MaxBids AS (SELECT max(num) AS maxn, starttime, endtime FROM AuctionBids GROUP BY starttime, endtime) ' +
      'SELECT AuctionBids.auction, AuctionBids.num, AuctionBids.starttime FROM AuctionBids JOIN MaxBids ' +
      'ON AuctionBids.starttime = MaxBids.starttime AND AuctionBids.endtime = MaxBids.endtime AND AuctionBids.num >= MaxBids.maxn',
  },
  {
    // Nexmark q8 (monitor new users): people who opened an auction in the 10 s window they registered in.
    name: 'q8',
    sources: ['person', 'auction'],
    query:
      "SELECT P.id, P.name, P.starttime FROM (SELECT id, name, window_start AS starttime, window_end AS endtime FROM TUMBLE(person, ts, INTERVAL '10' SECOND) " +
      "GROUP BY id, name, window_start, window_end) P JOIN (SELECT seller, window_start AS starttime, window_end AS endtime FROM TUMBLE(auction, ts, INTERVAL '10' SECOND) " +
      'GROUP BY seller, window_start, window_end) A ON P.id = A.seller AND P.starttime = A.starttime AND P.endtime = A.endtime',
    batch:
      `SELECT P.id, P.name, P.starttime FROM (SELECT id, name, ${bucket('ts')} AS starttime, ${bucket('ts')} + INTERVAL '10 seconds' AS endtime FROM person GROUP BY ALL) P ` +
      `JOIN (SELECT seller, ${bucket('ts')} AS starttime, ${bucket('ts')} + INTERVAL '10 seconds' AS endtime FROM auction GROUP BY ALL) A ` +
      'ON P.id = A.seller AND P.starttime = A.starttime AND P.endtime = A.endtime',
  },
  {
    // A stateless subquery feeding a window: the part is a stream the window reads as a source.
    name: 'dear',
    sources: ['bid'],
    query: "SELECT d.auction, window_start AS starttime, count(*) AS n, sum(d.price) AS total FROM (SELECT auction, price * 2 AS price, ts FROM bid WHERE price > 20) AS d GROUP BY d.auction, tumble(d.ts, INTERVAL '10' SECOND)",
    batch: `SELECT auction, ${bucket('ts')} AS starttime, count(*) AS n, sum(price * 2) AS total FROM bid WHERE price > 20 GROUP BY ALL`,
  },
]

test("subqueries in FROM are kept as parts of the stream: Nexmark's q5 and q8 as written, a stateless subquery under a window; each equals DuckDB's batch answer on both stores, through a restart", async (t) => {
  const directory = temporaryDirectory('streaming-subqueries')
  t.after(() => directory.remove())
  const seed = process.env['STRATA_SUBQUERIES_SEED'] !== undefined ? Number(process.env['STRATA_SUBQUERIES_SEED']) : Math.floor(Math.random() * 2 ** 31)
  const random = seededRandom(seed)
  let db = await open(directory.path)
  try {
    await db.query("CREATE SOURCE person (id BIGINT, name VARCHAR, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '2' SECOND)")
    await db.query("CREATE SOURCE auction (id BIGINT, seller BIGINT, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '2' SECOND)")
    await db.query("CREATE SOURCE bid (auction BIGINT, price BIGINT, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH (allowed_lateness = INTERVAL '1' SECOND)")
    // Some events before the streams: the parts backfill them.
    let clock = 0
    let person = 0
    const step = async (): Promise<void> => {
      clock += Math.floor(random() * 1500)
      // Up to 6 s out of order: some events are late and never reach a window.
      const time = (): Date => new Date(base + clock - Math.floor(random() * 6000))
      const choice = random()
      if (choice < 0.25) await db.push('person', Array.from({ length: 1 + Math.floor(random() * 2) }, () => ({ id: person++, name: `p${person % 4}`, ts: time() })))
      else if (choice < 0.5) await db.push('auction', Array.from({ length: 1 + Math.floor(random() * 3) }, () => ({ id: Math.floor(random() * 1000), seller: Math.max(0, person - 1 - Math.floor(random() * 4)), ts: time() })))
      else await db.push('bid', Array.from({ length: 1 + Math.floor(random() * 8) }, () => ({ auction: Math.floor(random() * 4), price: Math.floor(random() * 50), ts: time() })))
    }
    for (let index = 0; index < 15; index++) await step()
    for (const stream of streams) await db.query(`CREATE STREAM ${stream.name} AS ${stream.query}`)
    const parts = (await db.query("SELECT name FROM strata.streams WHERE starts_with(name, '_strata_part_') ORDER BY name")).rows.map((row) => String(row['name']))
    // q5's CountBids has AuctionBids's rows without the auction: MaxBids reads AuctionBids's part (sameRowsWithMore).
    assert.deepEqual(parts, ['_strata_part_dear_1', '_strata_part_q5_1', '_strata_part_q5_2', '_strata_part_q8_1', '_strata_part_q8_2'])
    assert.match(String((await db.query("SELECT query FROM strata.streams WHERE name = '_strata_part_q5_2'")).rows[0]!['query']), /FROM "_strata_part_q5_1" AS CountBids/)
    /** The windows closed so far, by start: each source's watermark minus its lateness, the lowest of those a stream reads. */
    const check = async (context: string, closedOnly: boolean): Promise<void> => {
      const shown = (await db.query('SHOW SOURCES')).rows
      const limits = new Map(shown.map((row) => [String(row['name']), row['flushed'] === true ? Infinity : row['watermark'] === null ? -Infinity : (row['watermark'] as Date).getTime() - (row['name'] === 'bid' ? 1000 : 0)]))
      for (const stream of streams) {
        const limit = Math.min(...stream.sources.map((source) => limits.get(source)!))
        // q5's windows are 10 s long; the others' too: a window starting at s closed once the limit reached s + 10 s.
        const where = !closedOnly || limit === Infinity ? '' : ` WHERE starttime + INTERVAL '10 seconds' <= TIMESTAMP '${new Date(Number.isFinite(limit) ? limit : 0).toISOString().replace('T', ' ').replace('Z', '')}'`
        const oracle = sortedRows((await db.query(`SELECT * FROM (${stream.batch}) AS o${where}`, [], { engine: 'column' })).rows)
        for (const engine of ['row', 'column'] as const) {
          assert.deepEqual(sortedRows((await db.query(`SELECT * FROM ${stream.name}`, [], { engine })).rows), oracle, `${stream.name} on the ${engine} store after ${context} (replay with STRATA_SUBQUERIES_SEED=${seed})`)
        }
      }
    }
    for (let index = 0; index < 50; index++) {
      await step()
      if (index % 10 === 9) await check(`step ${index}`, true)
    }
    await db.close()
    db = await open(directory.path)
    for (let index = 0; index < 20; index++) await step()
    await check('a restart and more events', true)
    await db.flush()
    await check('the input ended', false)
    for (const stream of streams) assert.ok((await db.query(`SELECT count(*) AS n FROM ${stream.name}`)).rows[0]!['n'] !== 0n, `${stream.name} has rows (seed ${seed})`)
    // A part goes with its stream, and is not dropped on its own while its stream reads it.
    await assertRefused((sql) => db.query(sql), [['DROP STREAM _strata_part_q8_1', 'NOT_SUPPORTED', /"q8" reads it/]])
    await db.query('DROP STREAM q8')
    // DROP SOURCE … CASCADE drops the streams over it with their parts, whichever order it meets them in.
    await db.query('DROP SOURCE bid CASCADE')
    assert.deepEqual((await db.query('SELECT name FROM strata.streams')).rows, [])
    assert.deepEqual((await db.query("SELECT table_name FROM information_schema.tables WHERE table_name LIKE '%part%'")).rows, [])
  } finally {
    await db.close()
  }
})

test('subqueries in FROM: over an ordinary table (a view), EMIT CHANGES over a part, and what is refused (LATERAL)', async (t) => {
  const directory = temporaryDirectory('streaming-subqueries-refused')
  t.after(() => directory.remove())
  const db = await open(directory.path)
  try {
    await db.query('CREATE TABLE t (k INTEGER, v INTEGER)')
    await db.query("CREATE SOURCE bid (auction BIGINT, price BIGINT, ts TIMESTAMP, WATERMARK FOR ts)")
    await db.query('CREATE MATERIALIZED VIEW big AS SELECT x.k, x.total FROM (SELECT k, sum(v) AS total FROM t GROUP BY k) AS x WHERE x.total > 3')
    await db.query('CREATE STREAM per_auction AS SELECT auction, count(*) AS n FROM (SELECT auction FROM bid WHERE price > 5) AS b GROUP BY auction EMIT CHANGES')
    await db.query('INSERT INTO t VALUES (1, 2), (1, 3), (2, 1)')
    await db.push('bid', [{ auction: 1, price: 7, ts: new Date(base) }, { auction: 1, price: 2, ts: new Date(base) }, { auction: 2, price: 9, ts: new Date(base + 1000) }])
    await db.query('UPDATE t SET v = 10 WHERE k = 2')
    for (const engine of ['row', 'column'] as const) {
      assert.deepEqual(sortedRows((await db.query('SELECT * FROM big', [], { engine })).rows), sortedRows([{ k: 1, total: 5 }, { k: 2, total: 10 }]), engine)
      assert.deepEqual(sortedRows((await db.query('SELECT * FROM per_auction', [], { engine })).rows), sortedRows([{ auction: 1, n: 1 }, { auction: 2, n: 1 }]), engine)
    }
    await assertRefused((sql) => db.query(sql), [
      ['CREATE STREAM l AS SELECT b.auction, l.p FROM bid b JOIN LATERAL (SELECT b.price AS p) AS l ON true', 'NOT_SUPPORTED', /LATERAL subquery/],
    ])
    // The refused statement left none of its parts behind.
    assert.deepEqual((await db.query('SELECT name FROM strata.streams ORDER BY name')).rows.map((row) => row['name']), ['_strata_part_big_1', '_strata_part_per_auction_1', 'big', 'per_auction'])
    const explained = (await db.query('EXPLAIN STREAM per_auction')).rows.map((row) => String(row['plan'])).join('\n')
    assert.match(explained, /_strata_part_per_auction_1/)
  } finally {
    await db.close()
  }
})

test('joins and aggregates in one query, through a subquery in FROM or written directly: an aggregate over an interval join without a window (after every batch), session windows over a join, windows over a LEFT and over an ASOF join, an aggregate over a join of two tables, a third table joined to such a join — each equal to DuckDB\'s batch answer, unnamed expressions over qualified columns named as DuckDB names them', async (t) => {
  const directory = temporaryDirectory('streaming-subqueries-joins')
  t.after(() => directory.remove())
  const seed = process.env['STRATA_SUBQUERIES_SEED'] !== undefined ? Number(process.env['STRATA_SUBQUERIES_SEED']) : Math.floor(Math.random() * 2 ** 31)
  const random = seededRandom(seed)
  const db = await open(directory.path)
  try {
    await db.query("CREATE SOURCE auctions (id INTEGER, seller VARCHAR, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '10' SECOND)")
    await db.query("CREATE SOURCE bids (auction INTEGER, price INTEGER, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) WITH (allowed_lateness = INTERVAL '2' SECOND)")
    await db.query('CREATE SOURCE quotes (sym VARCHAR, bid INTEGER, ts TIMESTAMP, WATERMARK FOR ts)')
    await db.query("CREATE SOURCE trades (sym VARCHAR, qty INTEGER, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '3' SECOND)")
    await db.query('CREATE TABLE t (id INTEGER PRIMARY KEY, k VARCHAR, v INTEGER)')
    await db.query('CREATE TABLE labels (id INTEGER, label VARCHAR)')
    await db.query('CREATE TABLE owners (label VARCHAR, owner VARCHAR)')
    const on = "ON a.id = b.auction AND b.ts BETWEEN a.ts AND a.ts + INTERVAL '20' SECOND"
    const ends = (column: string, size: number): string => `time_bucket(INTERVAL '${size} seconds', ${column}, TIMESTAMP '1970-01-01')`
    const cases = [
      {
        name: 'per_seller',
        query: `SELECT seller, count(*) AS n, max(price) AS top FROM (SELECT a.seller, b.price FROM bids b JOIN auctions a ${on}) AS j GROUP BY seller`,
        batch: `SELECT a.seller, count(*) AS n, max(b.price) AS top FROM bids b JOIN auctions a ${on} GROUP BY ALL`,
        always: true,
      },
      {
        name: 'seller_sessions',
        query: `SELECT seller, count(*) AS n, window_start, window_end FROM (SELECT a.seller, b.ts FROM bids b JOIN auctions a ${on}) AS j GROUP BY seller, session(ts, INTERVAL '4' SECOND)`,
        // Gaps and islands per seller: a bid starts a session when it is 4 s or more after the one before.
        batch:
          `WITH pairs AS (SELECT a.seller, b.ts FROM bids b JOIN auctions a ${on}), marked AS (SELECT seller, ts, CASE WHEN ts - lag(ts) OVER (PARTITION BY seller ORDER BY ts) < INTERVAL '4 seconds' THEN 0 ELSE 1 END AS starts FROM pairs), ` +
          'numbered AS (SELECT seller, ts, sum(starts) OVER (PARTITION BY seller ORDER BY ts) AS session FROM marked) ' +
          "SELECT seller, count(*) AS n, min(ts) AS window_start, max(ts) + INTERVAL '4 seconds' AS window_end FROM numbered GROUP BY seller, session",
        always: false,
      },
      {
        name: 'left_windows',
        query: `SELECT auction, count(*) AS n, count(seller) AS matched, window_start FROM (SELECT b.auction, b.ts, a.seller FROM bids b LEFT JOIN auctions a ${on}) AS j GROUP BY auction, tumble(ts, INTERVAL '10' SECOND)`,
        batch: `SELECT b.auction, count(*) AS n, count(a.seller) AS matched, ${ends('b.ts', 10)} AS window_start FROM bids b LEFT JOIN auctions a ${on} GROUP BY ALL`,
        always: false,
      },
      {
        name: 'asof_windows',
        query: "SELECT sym, sum(qty * bid) AS notional, count(*) AS n, window_start FROM (SELECT t.sym, t.qty, q.bid, t.ts FROM trades t ASOF JOIN quotes q ON t.sym = q.sym AND t.ts >= q.ts) AS j GROUP BY sym, tumble(ts, INTERVAL '10' SECOND)",
        batch: `SELECT t.sym, sum(t.qty * q.bid) AS notional, count(*) AS n, ${ends('t.ts', 10)} AS window_start FROM trades t ASOF JOIN quotes q ON t.sym = q.sym AND t.ts >= q.ts GROUP BY ALL`,
        always: false,
      },
      {
        name: 'labelled',
        query: 'SELECT label, count(*) AS n, sum(v) AS total FROM (SELECT l.label, t.v FROM t JOIN labels l ON l.id = t.id) AS j GROUP BY label',
        batch: 'SELECT l.label, count(*) AS n, sum(t.v) AS total FROM t JOIN labels l ON l.id = t.id GROUP BY ALL',
        always: true,
      },
      // The same written in one query, without a subquery: the join is made a part all the same (joinAggregateSplit).
      {
        name: 'per_seller_direct',
        query: `SELECT a.seller, count(*) AS n, max(b.price) AS top FROM bids b JOIN auctions a ${on} GROUP BY a.seller`,
        batch: `SELECT a.seller, count(*) AS n, max(b.price) AS top FROM bids b JOIN auctions a ${on} GROUP BY ALL`,
        always: true,
      },
      {
        // Unnamed columns and expressions whose text the split leaves as it was: named as DuckDB names them in the batch query (the rows' keys are compared too).
        name: 'counted_direct',
        query: `SELECT a.seller, count(*), sum(price), count(DISTINCT auction) FROM bids b JOIN auctions a ${on} GROUP BY a.seller`,
        batch: `SELECT a.seller, count(*), sum(price), count(DISTINCT auction) FROM bids b JOIN auctions a ${on} GROUP BY a.seller`,
        always: true,
      },
      {
        // Unnamed expressions the split writes differently (`max(b.price)` reads the part's `price`): named as DuckDB names them as written.
        name: 'unnamed_direct',
        query: `SELECT a.seller, max(b.price), sum(b.price * 2) + 1, count(DISTINCT a.id) FROM bids b JOIN auctions a ${on} GROUP BY a.seller`,
        batch: `SELECT a.seller, max(b.price), sum(b.price * 2) + 1, count(DISTINCT a.id) FROM bids b JOIN auctions a ${on} GROUP BY a.seller`,
        always: true,
      },
      {
        name: 'seller_sessions_direct',
        query: `SELECT a.seller, count(*) AS n, window_start, window_end FROM bids b JOIN auctions a ${on} GROUP BY a.seller, session(b.ts, INTERVAL '4' SECOND)`,
        batch:
          `WITH pairs AS (SELECT a.seller, b.ts FROM bids b JOIN auctions a ${on}), marked AS (SELECT seller, ts, CASE WHEN ts - lag(ts) OVER (PARTITION BY seller ORDER BY ts) < INTERVAL '4 seconds' THEN 0 ELSE 1 END AS starts FROM pairs), ` +
          'numbered AS (SELECT seller, ts, sum(starts) OVER (PARTITION BY seller ORDER BY ts) AS session FROM marked) ' +
          "SELECT seller, count(*) AS n, min(ts) AS window_start, max(ts) + INTERVAL '4 seconds' AS window_end FROM numbered GROUP BY seller, session",
        always: false,
      },
      {
        // Both sides' ts are read: the part names them b_ts and a_ts.
        name: 'left_direct',
        query: `SELECT b.auction, count(*) AS n, max(a.ts) AS opened, window_start FROM bids b LEFT JOIN auctions a ${on} WHERE b.price > 2 GROUP BY b.auction, tumble(b.ts, INTERVAL '10' SECOND)`,
        batch: `SELECT b.auction, count(*) AS n, max(a.ts) AS opened, ${ends('b.ts', 10)} AS window_start FROM bids b LEFT JOIN auctions a ${on} WHERE b.price > 2 GROUP BY ALL`,
        always: false,
      },
      {
        name: 'asof_direct',
        query: "SELECT t.sym, sum(t.qty * q.bid) AS notional, window_start FROM trades t ASOF JOIN quotes q MATCH_CONDITION (t.ts >= q.ts) ON t.sym = q.sym GROUP BY t.sym, tumble(t.ts, INTERVAL '10' SECOND)",
        batch: `SELECT t.sym, sum(t.qty * q.bid) AS notional, ${ends('t.ts', 10)} AS window_start FROM trades t ASOF JOIN quotes q ON t.sym = q.sym AND t.ts >= q.ts GROUP BY ALL`,
        always: false,
      },
      {
        name: 'unnamed_asof',
        query: "SELECT t.sym, max(q.bid), window_start FROM trades t ASOF JOIN quotes q ON t.sym = q.sym AND t.ts >= q.ts GROUP BY t.sym, tumble(t.ts, INTERVAL '10' SECOND)",
        batch: `SELECT t.sym, max(q.bid), ${ends('t.ts', 10)} AS window_start FROM trades t ASOF JOIN quotes q ON t.sym = q.sym AND t.ts >= q.ts GROUP BY ALL`,
        always: false,
      },
      {
        name: 'unnamed_tables',
        query: 'SELECT l.label, count(t.id), sum(t.v) + 0 FROM t JOIN labels l ON l.id = t.id GROUP BY l.label',
        batch: 'SELECT l.label, count(t.id), sum(t.v) + 0 FROM t JOIN labels l ON l.id = t.id GROUP BY l.label',
        always: true,
      },
      {
        name: 'labelled_direct',
        query: 'SELECT l.label, count(*) AS n, sum(t.v) AS total FROM t JOIN labels l ON l.id = t.id GROUP BY l.label HAVING count(*) > 1',
        batch: 'SELECT l.label, count(*) AS n, sum(t.v) AS total FROM t JOIN labels l ON l.id = t.id GROUP BY ALL HAVING count(*) > 1',
        always: true,
      },
      {
        // Three tables: the first join a subquery, the third joined to it (a FULL join, kept by key too).
        name: 'owned',
        query: 'SELECT j.id, j.label, o.owner FROM (SELECT t.id, l.label FROM t JOIN labels l ON l.id = t.id) AS j FULL JOIN owners o ON o.label = j.label',
        batch: 'SELECT j.id, j.label, o.owner FROM (SELECT t.id, l.label FROM t JOIN labels l ON l.id = t.id) AS j FULL JOIN owners o ON o.label = j.label',
        always: true,
      },
    ] as const
    for (const one of cases) await db.query(`CREATE STREAM ${one.name} AS ${one.query}`)
    // The ASOF part is written as it was given, ASOF and all.
    assert.ok((await db.query("SELECT query FROM strata.streams WHERE name = '_strata_part_asof_windows_1'")).rows[0]!['query'] === 'SELECT t.sym, t.qty, q.bid, t.ts FROM trades t ASOF JOIN quotes q ON t.sym = q.sym AND t.ts >= q.ts')
    const check = async (context: string, all: boolean): Promise<void> => {
      for (const one of cases) {
        if (!all && !one.always) continue
        const oracle = sortedRows((await db.query(one.batch, [], { engine: 'column' })).rows)
        for (const engine of ['row', 'column'] as const) {
          assert.deepEqual(sortedRows((await db.query(`SELECT * FROM ${one.name}`, [], { engine })).rows), oracle, `${one.name} on the ${engine} store after ${context} (replay with STRATA_SUBQUERIES_SEED=${seed})`)
        }
      }
    }
    // A quote of each symbol before every trade, so each trade has a match (the ASOF windows are never empty).
    await db.push('quotes', [{ sym: 'A', bid: 50, ts: new Date(base - 20_000) }, { sym: 'B', bid: 60, ts: new Date(base - 20_000) }])
    let clock = 0
    let auction = 1
    let id = 1
    for (let step = 0; step < 40; step++) {
      clock += Math.floor(random() * 3000)
      const time = (): Date => new Date(base + clock - Math.floor(random() * 8000))
      const choice = random()
      if (choice < 0.2) await db.push('auctions', Array.from({ length: 1 + Math.floor(random() * 2) }, () => ({ id: auction++, seller: `s${Math.floor(random() * 3)}`, ts: time() })))
      else if (choice < 0.45) await db.push('bids', Array.from({ length: 1 + Math.floor(random() * 5) }, () => ({ auction: Math.max(1, auction - 1 - Math.floor(random() * 3)), price: Math.floor(random() * 30), ts: time() })))
      else if (choice < 0.55) await db.push('quotes', [{ sym: ['A', 'B'][Math.floor(random() * 2)], bid: Math.floor(random() * 100), ts: new Date(time().getTime() + Math.floor(random() * 997)) }])
      else if (choice < 0.75) await db.push('trades', Array.from({ length: 1 + Math.floor(random() * 3) }, () => ({ sym: ['A', 'B'][Math.floor(random() * 2)], qty: Math.floor(random() * 6), ts: time() })))
      else {
        await db.query('INSERT INTO t VALUES ($1, $2, $3)', [id, `k${id % 3}`, Math.floor(random() * 10)])
        await db.query('INSERT INTO labels VALUES ($1, $2), ($3, $4)', [Math.max(1, id - Math.floor(random() * 3)), `l${Math.floor(random() * 2)}`, id, `l${Math.floor(random() * 2)}`])
        if (random() < 0.5) await db.query('UPDATE t SET v = v + 1 WHERE id = $1', [Math.max(1, id - 1)])
        if (random() < 0.5) await db.query('INSERT INTO owners VALUES ($1, $2)', [`l${Math.floor(random() * 3)}`, `o${id}`])
        else if (random() < 0.3) await db.query('DELETE FROM owners WHERE owner = $1', [`o${Math.max(1, id - 2)}`])
        id++
      }
      await check(`step ${step}`, false)
    }
    // A trade on time, whatever the steps were: the ASOF windows have one at least.
    await db.push('trades', [{ sym: 'A', qty: 1, ts: new Date(base + clock + 1000) }])
    await db.flush()
    await check('the input ended', true)
    for (const one of cases) assert.ok((await db.query(`SELECT count(*) AS n FROM ${one.name}`)).rows[0]!['n'] !== 0, `${one.name} has rows (seed ${seed})`)
    // The names are DuckDB's for the query as written (the rows' keys above are compared too).
    assert.deepEqual((await db.query('SELECT * FROM unnamed_direct LIMIT 0')).columns.map((column) => column.name), ['seller', 'max(b.price)', '(sum((b.price * 2)) + 1)', 'count(DISTINCT a.id)'])
  } finally {
    await db.close()
  }
})

test("Nexmark's q7 as written — the bid source joined with a windowed subquery — is kept as a view over the source's table and the part's, and so is the source joined with a windowed stream by name: after every batch it equals DuckDB's batch join over the windows closed so far; the source's retention keeps every event while the view reads it", async (t) => {
  const directory = temporaryDirectory('streaming-subqueries-q7')
  t.after(() => directory.remove())
  const seed = process.env['STRATA_SUBQUERIES_SEED'] !== undefined ? Number(process.env['STRATA_SUBQUERIES_SEED']) : Math.floor(Math.random() * 2 ** 31)
  const random = seededRandom(seed)
  let db = await open(directory.path)
  try {
    await db.query("CREATE SOURCE bid (auction BIGINT, bidder BIGINT, price BIGINT, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH (allowed_lateness = INTERVAL '1' SECOND, retention = INTERVAL '5' SECOND)")
    await db.query(
      'CREATE STREAM q7 AS SELECT B.auction, B.price, B.bidder, B.ts FROM bid B JOIN (SELECT max(price) AS maxprice, window_end AS ts ' +
        "FROM TUMBLE(bid, ts, INTERVAL '10' SECOND) GROUP BY window_start, window_end) B1 ON B.price = B1.maxprice " +
        "WHERE B.ts BETWEEN B1.ts - INTERVAL '10' SECOND AND B1.ts",
    )
    // The same with the window maxima a stream of their own, joined by name: a table made from the
    // same events, so the join is kept as the batch join too (not a lookup of the maxima so far).
    await db.query("CREATE STREAM maxes AS SELECT max(price) AS maxprice, window_end AS ts FROM TUMBLE(bid, ts, INTERVAL '10' SECOND) GROUP BY window_start, window_end")
    await db.query("CREATE STREAM q7_named AS SELECT B.auction, B.price, B.bidder, B.ts FROM bid B JOIN maxes B1 ON B.price = B1.maxprice WHERE B.ts BETWEEN B1.ts - INTERVAL '10' SECOND AND B1.ts")
    const check = async (context: string): Promise<void> => {
      const shown = (await db.query("SELECT watermark, flushed FROM strata.sources WHERE name = 'bid'")).rows[0]!
      const limit = shown['flushed'] === true ? null : shown['watermark'] === null ? 0 : (shown['watermark'] as Date).getTime() - 1000
      // bid.ts, not ts: in HAVING DuckDB would take ts for the select list's alias.
      const closed = limit === null ? '' : ` HAVING ${bucket('bid.ts')} + INTERVAL '10 seconds' <= make_timestamp(${limit}::BIGINT * 1000)`
      const oracle = sortedRows(
        (
          await db.query(
            `SELECT B.auction, B.price, B.bidder, B.ts FROM bid B JOIN (SELECT max(price) AS maxprice, ${bucket('ts')} + INTERVAL '10 seconds' AS ts FROM bid GROUP BY ${bucket('ts')}${closed}) B1 ` +
              "ON B.price = B1.maxprice WHERE B.ts BETWEEN B1.ts - INTERVAL '10' SECOND AND B1.ts",
            [],
            { engine: 'column' },
          )
        ).rows,
      )
      for (const engine of ['row', 'column'] as const) {
        for (const stream of ['q7', 'q7_named']) {
          assert.deepEqual(sortedRows((await db.query(`SELECT * FROM ${stream}`, [], { engine })).rows), oracle, `${stream} on the ${engine} store after ${context} (replay with STRATA_SUBQUERIES_SEED=${seed})`)
        }
      }
    }
    let clock = 0
    let pushed = 0
    for (let step = 0; step < 60; step++) {
      if (step === 30) {
        await db.close()
        db = await open(directory.path)
      }
      clock += Math.floor(random() * 2500)
      // Prices from a small range, so windows' maxima repeat and bids at the window's end (BETWEEN's upper bound) occur.
      const events = Array.from({ length: 1 + Math.floor(random() * 6) }, () => ({ auction: Math.floor(random() * 5), bidder: Math.floor(random() * 3), price: Math.floor(random() * 12), ts: new Date(base + Math.floor((clock - random() * 4000) / 500) * 500) }))
      pushed += (await db.push('bid', events)).rowCount
      await check(`step ${step}`)
    }
    // Retention (5 s) would have removed most events; the view reads the source's whole table, so all stay.
    assert.equal((await db.query('SELECT count(*) AS n FROM bid', [], { engine: 'row' })).rows[0]!['n'], pushed)
    await db.flush()
    await check('the input ended')
    assert.ok((await db.query('SELECT count(*) AS n FROM q7')).rows[0]!['n'] !== 0, `q7 has rows (seed ${seed})`)
    const explained = (await db.query('EXPLAIN STREAM q7')).rows.map((row) => String(row['plan'])).join('\n')
    assert.match(explained, /materialized view q7/)
    assert.match((await db.query('EXPLAIN STREAM q7_named')).rows.map((row) => String(row['plan'])).join('\n'), /materialized view q7_named/)
    await db.query('DROP STREAM q7, q7_named, maxes')
    assert.deepEqual((await db.query('SELECT name FROM strata.streams')).rows, [])
  } finally {
    await db.close()
  }
})

test('a subquery reads an earlier part only with the same rows and a subset of its named columns (sameRowsWithMore)', () => {
  const earlier = "SELECT auction, count(*) AS num, window_start AS starttime FROM HOP(bid, ts, INTERVAL '2' SECOND, INTERVAL '10' SECOND) WHERE price > 1 GROUP BY auction, window_start"
  const hop = "FROM HOP(bid, ts, INTERVAL '2' SECOND, INTERVAL '10' SECOND)"
  assert.equal(sameRowsWithMore(`SELECT count(*) AS num, window_start AS starttime ${hop} WHERE price > 1 GROUP BY auction, window_start`, earlier), true)
  assert.equal(sameRowsWithMore(`SELECT  auction ${hop}  WHERE price > 1 GROUP BY auction, window_start`, earlier), true, 'a plain column is named by itself; spacing does not matter')
  for (const [subquery, why] of [
    [`SELECT count(*) AS num ${hop} WHERE price > 2 GROUP BY auction, window_start`, 'another WHERE'],
    [`SELECT count(*) AS num ${hop} WHERE price > 1 GROUP BY window_start`, 'another GROUP BY'],
    [`SELECT count(*) AS n ${hop} WHERE price > 1 GROUP BY auction, window_start`, 'another name'],
    [`SELECT count(*) ${hop} WHERE price > 1 GROUP BY auction, window_start`, 'an unnamed expression'],
    [`SELECT sum(price) AS num ${hop} WHERE price > 1 GROUP BY auction, window_start`, 'another expression'],
    [`SELECT DISTINCT count(*) AS num ${hop} WHERE price > 1 GROUP BY auction, window_start`, 'DISTINCT'],
    [`SELECT count(*) AS num FROM HOP(bid, ts, INTERVAL '4' SECOND, INTERVAL '10' SECOND) WHERE price > 1 GROUP BY auction, window_start`, 'another window'],
  ] as const) {
    assert.equal(sameRowsWithMore(subquery, earlier), false, why)
  }
  // An unnamed expression is named by DuckDB from its text, which two equal trees need not share (`count(*)`, `COUNT(*)`).
  assert.equal(sameRowsWithMore('SELECT count(*) FROM t GROUP BY k', 'SELECT k, COUNT(*) FROM t GROUP BY k'), false)
  // DISTINCT on both: fewer columns can make fewer rows.
  assert.equal(sameRowsWithMore('SELECT DISTINCT a FROM t', 'SELECT DISTINCT a, b FROM t'), false)
})

test('an earlier part stands in for a subquery only where the query reads columns by name (derivedTables)', () => {
  const sub = 'SELECT count(*) AS n FROM t GROUP BY k'
  const reuse = (subquery: string): string | undefined => (subquery === sub ? 'earlier' : undefined)
  let next = 0
  const name = (): string => `p${++next}`
  const byName = derivedTables(`SELECT max(c.n) AS m FROM (${sub}) AS c`, name, reuse)!
  assert.deepEqual(byName, { query: 'SELECT max(c.n) AS m FROM "earlier" AS c', parts: [] })
  for (const [query, why] of [
    [`SELECT * FROM (${sub}) AS c`, 'a star'],
    [`SELECT c.* FROM (${sub}) AS c`, 'a qualified star'],
    [`SELECT max(c.x) AS m FROM (${sub}) AS c(x)`, 'a column alias list'],
    [`SELECT max(c.n) AS m FROM (${sub}) AS c NATURAL JOIN u`, 'a NATURAL join'],
    [`SELECT max(c.n) AS m FROM (${sub}) AS c JOIN u USING (n)`, 'USING'],
  ] as const) {
    const split = derivedTables(query, name, reuse)!
    assert.equal(split.parts.length, 1, why)
    assert.equal(split.parts[0]!.query, sub, why)
  }
})
