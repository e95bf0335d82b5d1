/**
 * Interval joins of two sources (SPEC 8): after every batch of either side, the stream's rows equal
 * DuckDB's batch join of the two sources' accepted events (late events never reach the join).
 */
import * as assert from 'node:assert/strict'
import { test } from 'node:test'
import { assertRefused, openTemporary, seededRandom, sortedRows } from './helpers.js'

const base = Date.parse('2026-01-05T14:30:00Z')
const at = (seconds: number): Date => new Date(base + seconds * 1000)

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
  let clock = 5
  let nextAuction = 2
  for (let step = 0; step < 40; step++) {
    clock += Math.floor(random() * 6)
    const jitter = (): number => clock - Math.floor(random() * 12)
    const auctionEvents = Array.from({ length: Math.floor(random() * 3) }, () => ({ id: nextAuction++, seller: `s${Math.floor(random() * 4)}`, ts: at(jitter()) }))
    const bidEvents = Array.from({ length: Math.floor(random() * 6) }, () => ({ auction: Math.max(1, nextAuction - 1 - Math.floor(random() * 4)), price: Math.floor(random() * 30), ts: at(jitter()) }))
    const choice = random()
    if (choice < 0.4) await db.push('auctions', auctionEvents)
    else if (choice < 0.8) await db.push('bids', bidEvents)
    else {
      // One transaction feeding both sources: the second batch meets the first.
      await db.transaction(async (tx) => {
        for (const event of auctionEvents) await tx.query('INSERT INTO auctions VALUES ($1, $2, $3)', [event.id, event.seller, event.ts])
        for (const event of bidEvents) await tx.query('INSERT INTO bids VALUES ($1, $2, $3)', [event.auction, event.price, event.ts])
      })
    }
    for (const [name, query] of joins) {
      const kept = sortedRows((await db.query(`SELECT * FROM ${name}`, [], { engine: 'row' })).rows)
      const batch = sortedRows((await db.query(query, [], { engine: 'column' })).rows)
      assert.deepEqual(kept, batch, `${name} after step ${step} (seed ${seed}; replay with STRATA_JOINS_SEED=${seed})`)
    }
  }
  const late = Number((await db.query('SELECT count(*) AS n FROM strata.late_events')).rows[0]!['n'])
  const joined = Number((await db.query('SELECT count(*) AS n FROM j_window')).rows[0]!['n'])
  assert.ok(late > 0 && joined > 5, `late events were dropped (${late}) and pairs joined (${joined})`)
  const explained = (await db.query('EXPLAIN STREAM j_window')).rows.map((row) => String(row['plan']))
  assert.ok(explained.includes("  -> interval join with source auctions (watermark ts): each batch of either side with the other side's events with the same auction = id accepted before it"), explained.join('\n'))
})

test('interval joins: what they cannot keep yet is refused naming it; a source a join reads is not dropped without CASCADE', async (t) => {
  const db = await openTemporary(t, 'joins-errors')
  await db.query('CREATE SOURCE a (k INTEGER, ts TIMESTAMP, WATERMARK FOR ts)')
  await db.query('CREATE SOURCE b (k INTEGER, ts TIMESTAMP, WATERMARK FOR ts)')
  await assertRefused((sql) => db.query(sql), [
    ['CREATE STREAM x AS SELECT * FROM a LEFT JOIN b ON a.k = b.k', 'NOT_SUPPORTED', /an outer join of two sources/],
    ['CREATE STREAM x AS SELECT * FROM a JOIN a AS other ON a.k = other.k', 'NOT_SUPPORTED', /a source with itself/],
    ['CREATE STREAM x AS SELECT a.k, count(*) FROM a JOIN b ON a.k = b.k GROUP BY a.k', 'NOT_SUPPORTED', /a join in a windowed or aggregating stream/],
    ['CREATE STREAM x AS SELECT * FROM a JOIN b USING (k)', 'NOT_SUPPORTED', /USING/],
  ])
  await db.query('CREATE STREAM pairs AS SELECT a.k, b.ts AS later FROM a JOIN b ON a.k = b.k')
  await assertRefused((sql) => db.query(sql), [['DROP SOURCE b', 'NOT_SUPPORTED', /the stream "pairs" reads it/]])
  await db.push('a', [{ k: 1, ts: at(1) }])
  await db.push('b', [{ k: 1, ts: at(2) }, { k: 2, ts: at(2) }])
  assert.deepEqual((await db.query('SELECT k FROM pairs')).rows, [{ k: 1 }])
  await db.query('DROP SOURCE b CASCADE')
  assert.deepEqual((await db.query('SHOW STREAMS')).rows, [])
})
