/**
 * A source's `retention` (SPEC 8): events older than the watermark minus the retention leave the
 * source's table once no stream needs them — the streams' results stay equal to DuckDB's batch answer
 * over every event accepted (kept here in an ordinary table of its own), and both stores agree.
 */
import * as assert from 'node:assert/strict'
import { test } from 'node:test'
import { assertRefused, openTemporary, seededRandom, sortedRows } from './helpers.js'

const base = Date.UTC(2026, 0, 5, 14, 30, 0)
const at = (seconds: number): Date => new Date(base + seconds * 1000)

test("retention removes a source's events older than the watermark minus it, once no stream needs them; the streams' results equal the batch answer over every event", async (t) => {
  const db = await openTemporary(t, 'retention')
  await db.query("CREATE SOURCE ticks (k VARCHAR, v INTEGER, ts TIMESTAMP, WATERMARK FOR ts) WITH (retention = INTERVAL '2' SECOND)")
  // Every accepted event also goes here (the events are in order: none is late), for the batch answer.
  await db.query('CREATE TABLE archive (k VARCHAR, v INTEGER, ts TIMESTAMP)')
  await db.query("CREATE STREAM windows AS SELECT k, window_start, window_end, count(*) AS n, sum(v) AS total FROM ticks GROUP BY k, tumble(ts, INTERVAL '5' SECOND)")
  await db.query('CREATE STREAM big AS SELECT k, v, ts FROM ticks WHERE v > 5')
  // A source whose stream needs every event (an aggregate evaluated again over all of a group's): nothing leaves it.
  await db.query("CREATE SOURCE kept (k VARCHAR, v INTEGER, ts TIMESTAMP, WATERMARK FOR ts) WITH (retention = INTERVAL '1' SECOND)")
  await db.query('CREATE STREAM kept_totals AS SELECT k, sum(v) AS total FROM kept GROUP BY k')
  let second = 0
  for (let batch = 0; batch < 60; batch++) {
    const events = Array.from({ length: 5 }, (_, index) => ({ k: ['a', 'b'][(batch + index) % 2]!, v: (batch * 7 + index * 3) % 10, ts: at(second + index * 0.2) }))
    second += 1
    await db.push('ticks', events)
    await db.push('kept', events)
    await db.insert('archive', events)
    const watermark = (await db.query("SELECT watermark FROM strata.sources WHERE name = 'ticks'")).rows[0]!['watermark'] as Date
    const closed = `TIMESTAMP '${watermark.toISOString().replace('T', ' ').replace('Z', '')}'`
    const oracle =
      "SELECT k, time_bucket(INTERVAL '5 seconds', ts, TIMESTAMP '1970-01-01') AS window_start, time_bucket(INTERVAL '5 seconds', ts, TIMESTAMP '1970-01-01') + INTERVAL '5 seconds' AS window_end, count(*) AS n, sum(v) AS total FROM archive GROUP BY ALL"
    assert.deepEqual(sortedRows((await db.query('SELECT * FROM windows', [], { engine: 'row' })).rows), sortedRows((await db.query(`SELECT * FROM (${oracle}) AS o WHERE window_end <= ${closed}`, [], { engine: 'column' })).rows), `windows after batch ${batch}`)
    assert.deepEqual(sortedRows((await db.query('SELECT * FROM big', [], { engine: 'row' })).rows), sortedRows((await db.query('SELECT k, v, ts FROM archive WHERE v > 5', [], { engine: 'column' })).rows), `big after batch ${batch}`)
    assert.deepEqual(sortedRows((await db.query('SELECT * FROM kept_totals', [], { engine: 'row' })).rows), sortedRows((await db.query('SELECT k, sum(v) AS total FROM archive GROUP BY k', [], { engine: 'column' })).rows), `kept_totals after batch ${batch}`)
  }
  const count = async (sql: string, engine: 'row' | 'column'): Promise<number> => Number((await db.query(sql, [], { engine })).rows[0]!['n'])
  const all = await count('SELECT count(*) AS n FROM archive', 'row')
  const left = await count('SELECT count(*) AS n FROM ticks', 'row')
  assert.ok(left < all / 2, `expired events left the source (${left} of ${all} remain)`)
  // Nothing a stream could still read went: the windows not yet emitted start after the last emitted end minus a window.
  const oldest = (await db.query('SELECT min(ts) AS first FROM ticks', [], { engine: 'row' })).rows[0]!['first'] as Date
  assert.ok(oldest.getTime() >= at(second - 1 - 5 - 5 - 2).getTime(), `the oldest event kept is recent (${oldest.toISOString()})`)
  assert.equal(await count('SELECT count(*) AS n FROM ticks', 'column'), left, 'the column store holds what the row store holds')
  assert.equal(await count('SELECT count(*) AS n FROM ticks FOR SYSTEM_TIME ALL', 'row'), left, 'removed events leave no history versions')
  assert.ok((await count("SELECT count(*) AS n FROM strata.erasures WHERE table_name = 'ticks'", 'column')) > 0, 'each removal is recorded in strata.erasures')
  assert.equal(await count('SELECT count(*) AS n FROM kept', 'row'), all, 'a source whose stream needs every event keeps them all')
  await assertRefused((sql) => db.query(sql), [["CREATE SOURCE nowm (v INTEGER) WITH (retention = INTERVAL '1' HOUR)", 'SYNTAX_ERROR', /retention counts back from the watermark/]])
})

test("an interval join's time bounds let both sources' retention remove events the other side's watermark has passed; a join without bounds keeps every event; the results equal the batch join over every event", async (t) => {
  const db = await openTemporary(t, 'retention-joins')
  for (const suffix of ['', '_open']) {
    await db.query(`CREATE SOURCE orders${suffix} (id INTEGER, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH (retention = INTERVAL '1' SECOND)`)
    await db.query(`CREATE SOURCE payments${suffix} (order_id INTEGER, amount INTEGER, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '2' SECOND) WITH (retention = INTERVAL '1' SECOND)`)
  }
  // Every accepted event also goes here, for the batch answer.
  await db.query('CREATE TABLE orders_all (id INTEGER, ts TIMESTAMP)')
  await db.query('CREATE TABLE payments_all (order_id INTEGER, amount INTEGER, ts TIMESTAMP)')
  const joins = [
    ['j_between', "SELECT o.id, o.ts AS order_ts, p.amount FROM orders o JOIN payments p ON p.order_id = o.id AND p.ts BETWEEN o.ts AND o.ts + INTERVAL '3' SECOND"],
    // The bounds written the other way round, one of them strict: -1 s < payment − order ≤ 2 s.
    ['j_turned', "SELECT o.id, p.amount, p.ts AS paid FROM orders o JOIN payments p ON o.id = p.order_id AND o.ts >= p.ts - INTERVAL '2' SECOND AND o.ts < p.ts + INTERVAL '1' SECOND"],
  ] as const
  for (const [name, query] of joins) await db.query(`CREATE STREAM ${name} AS ${query}`)
  await db.query('CREATE STREAM j_open AS SELECT o.id, p.amount FROM orders_open o JOIN payments_open p ON p.order_id = o.id')
  // A LEFT join keeps its orders, and the payments that may match them, until it knows which have none.
  const leftJoin = "SELECT o.id, o.ts AS order_ts, p.amount FROM orders o LEFT JOIN payments p ON p.order_id = o.id AND p.ts BETWEEN o.ts - INTERVAL '1' SECOND AND o.ts + INTERVAL '2' SECOND"
  await db.query(`CREATE STREAM j_left AS ${leftJoin}`)
  // A FULL join keeps its payments too, and the orders that may match them, until it knows which have none.
  const fullJoin = "SELECT o.id, o.ts AS order_ts, p.order_id, p.amount FROM orders o FULL JOIN payments p ON p.order_id = o.id AND p.ts BETWEEN o.ts - INTERVAL '1' SECOND AND o.ts + INTERVAL '2' SECOND"
  await db.query(`CREATE STREAM j_full AS ${fullJoin}`)
  // And with the sides the other way round: its left side (payments) is the one whose watermark lags.
  const swappedJoin = "SELECT o.id, o.ts AS order_ts, p.order_id, p.amount FROM payments p FULL JOIN orders o ON p.order_id = o.id AND o.ts BETWEEN p.ts - INTERVAL '2' SECOND AND p.ts + INTERVAL '1' SECOND"
  await db.query(`CREATE STREAM j_swapped AS ${swappedJoin}`)
  // Windows over a join in one query keep both sides' events of the windows not yet closed.
  const windowedJoin = "SELECT window_start, count(*) AS n, sum(p.amount) AS total FROM orders o JOIN payments p ON p.order_id = o.id AND p.ts BETWEEN o.ts - INTERVAL '1' SECOND AND o.ts + INTERVAL '2' SECOND GROUP BY tumble(o.ts, INTERVAL '1' SECOND)"
  await db.query(`CREATE STREAM j_windows AS ${windowedJoin}`)
  const explained = (await db.query('EXPLAIN STREAM j_turned')).rows.map((row) => String(row['plan']))
  assert.ok(explained.includes("  -> time bounds: -00:00:01 <= payments.ts - orders.ts <= +00:00:02; each side's events kept until the other side's watermark passes them"), explained.join('\n'))
  assert.ok((await db.query('EXPLAIN STREAM j_open')).rows.some((row) => row['plan'] === '  -> no time bounds in ON: every event of both sides is kept'))
  // Times on a 250 ms grid, so pairs fall exactly on the bounds; each side's disorder a little over its
  // watermark delay, so events come right at the watermark and some are late (the test keeps its own
  // watermarks to archive only the accepted ones).
  const random = seededRandom(Number(process.env['STRATA_RETENTION_SEED'] ?? 7))
  const grid = (ticks: number): Date => new Date(base + ticks * 250)
  const watermarks = { orders: -Infinity, payments: -Infinity }
  const accepted = <T extends { readonly ts: Date }>(side: 'orders' | 'payments', delayTicks: number, events: readonly T[]): T[] => {
    const kept = events.filter((event) => event.ts.getTime() >= watermarks[side])
    for (const event of kept) watermarks[side] = Math.max(watermarks[side], event.ts.getTime() - delayTicks * 250)
    return kept
  }
  const orderTimes = new Map<number, number>()
  const pushBoth = async (orders: readonly { readonly id: number; readonly ts: Date }[], payments: readonly { readonly order_id: number; readonly amount: number; readonly ts: Date }[]): Promise<void> => {
    for (const suffix of ['', '_open']) {
      if (orders.length > 0) await db.push(`orders${suffix}`, orders)
      if (payments.length > 0) await db.push(`payments${suffix}`, payments)
    }
    const acceptedOrders = accepted('orders', 4, orders)
    for (const order of acceptedOrders) orderTimes.set(order.ts.getTime(), order.id)
    if (acceptedOrders.length > 0) await db.insert('orders_all', acceptedOrders)
    const acceptedPayments = accepted('payments', 8, payments)
    if (acceptedPayments.length > 0) await db.insert('payments_all', acceptedPayments)
    sent += orders.length + payments.length
  }
  let sent = 0
  let nextId = 1
  let probe: { readonly id: number; readonly ts: Date } | undefined
  for (let step = 0; step < 80; step++) {
    // The order a payment of the previous step waits for, alone in its batch: its pair is on the lower bound (same time).
    if (probe !== undefined) await pushBoth([probe], [])
    const orders = Array.from({ length: 2 }, () => ({ id: nextId++, ts: grid(step - Math.floor(random() * 8)) }))
    // Payments for orders of the last few seconds: within the bounds and after them.
    const payments = Array.from({ length: 3 }, () => ({ order_id: Math.max(1, nextId - 1 - Math.floor(random() * 36)), amount: Math.floor(random() * 50), ts: grid(step - Math.floor(random() * 12)) }))
    // A payment right at the payments watermark for an order 3 s older, where j_between's upper bound cuts.
    const edge = orderTimes.get(watermarks.payments - 3000)
    if (edge !== undefined) payments.push({ order_id: edge, amount: 99, ts: new Date(watermarks.payments) })
    probe = { id: nextId++, ts: grid(step - 2) }
    payments.push({ order_id: probe.id, amount: 98, ts: probe.ts })
    await pushBoth(orders, payments)
    const all = (query: string): string => query.replace('FROM orders o', 'FROM orders_all o').replace('JOIN payments p', 'JOIN payments_all p')
    for (const [name, query] of [...joins, ['j_open', 'SELECT o.id, p.amount FROM orders o JOIN payments p ON p.order_id = o.id'] as const]) {
      assert.deepEqual(sortedRows((await db.query(`SELECT * FROM ${name}`, [], { engine: 'row' })).rows), sortedRows((await db.query(all(query), [], { engine: 'column' })).rows), `${name} after step ${step}`)
    }
    // The LEFT join: every pair, and the orders known unmatched — those 2 s before the payments watermark.
    const known = `TIMESTAMP '${new Date(watermarks.payments - 2000).toISOString().replace('T', ' ').replace('Z', '')}'`
    const leftBatch = `${all(leftJoin).replace('LEFT JOIN', 'JOIN')} UNION ALL ${all(leftJoin)} WHERE p.order_id IS NULL AND o.ts < ${known}`
    assert.deepEqual(sortedRows((await db.query('SELECT * FROM j_left', [], { engine: 'row' })).rows), sortedRows((await db.query(leftBatch, [], { engine: 'column' })).rows), `j_left after step ${step}`)
    // The FULL join: those, and the payments known unmatched — those before the orders watermark − 1 s (an order still to come is at most 1 s after its payment).
    const knownPaid = `TIMESTAMP '${new Date(watermarks.orders - 1000).toISOString().replace('T', ' ').replace('Z', '')}'`
    const fullBatch =
      `${all(fullJoin).replace('FULL JOIN', 'JOIN')} UNION ALL ${all(fullJoin).replace('FULL JOIN', 'LEFT JOIN')} WHERE p.order_id IS NULL AND o.ts < ${known} ` +
      `UNION ALL ${all(fullJoin).replace('FULL JOIN', 'RIGHT JOIN')} WHERE o.id IS NULL AND p.ts < ${knownPaid}`
    assert.deepEqual(sortedRows((await db.query('SELECT * FROM j_full', [], { engine: 'row' })).rows), sortedRows((await db.query(fullBatch, [], { engine: 'column' })).rows), `j_full after step ${step}`)
    const swapped = (query: string): string => query.replace('FROM payments p', 'FROM payments_all p').replace('JOIN orders o', 'JOIN orders_all o')
    const swappedBatch =
      `${swapped(swappedJoin).replace('FULL JOIN', 'JOIN')} UNION ALL ${swapped(swappedJoin).replace('FULL JOIN', 'RIGHT JOIN')} WHERE p.order_id IS NULL AND o.ts < ${known} ` +
      `UNION ALL ${swapped(swappedJoin).replace('FULL JOIN', 'LEFT JOIN')} WHERE o.id IS NULL AND p.ts < ${knownPaid}`
    assert.deepEqual(sortedRows((await db.query('SELECT * FROM j_swapped', [], { engine: 'row' })).rows), sortedRows((await db.query(swappedBatch, [], { engine: 'column' })).rows), `j_swapped after step ${step}`)
    // Its windows closed: those ending by the lower of the orders watermark and the payments watermark − 2 s.
    const closed = `TIMESTAMP '${new Date(Math.min(watermarks.orders, watermarks.payments - 2000)).toISOString().replace('T', ' ').replace('Z', '')}'`
    const windowsBatch = `SELECT window_start, n, total FROM (SELECT time_bucket(INTERVAL '1 second', o.ts, TIMESTAMP '1970-01-01') AS window_start, count(*) AS n, sum(p.amount) AS total ${all(windowedJoin).slice(all(windowedJoin).indexOf('FROM'), all(windowedJoin).indexOf(' GROUP BY'))} GROUP BY ALL) AS w WHERE window_start + INTERVAL '1 second' <= ${closed}`
    assert.deepEqual(sortedRows((await db.query('SELECT * FROM j_windows', [], { engine: 'row' })).rows), sortedRows((await db.query(windowsBatch, [], { engine: 'column' })).rows), `j_windows after step ${step}`)
  }
  const count = async (sql: string): Promise<number> => Number((await db.query(sql)).rows[0]!['n'])
  const late = await count("SELECT count(*) AS n FROM strata.late_events WHERE source IN ('orders', 'payments')")
  assert.ok(late > 0, 'events came late')
  assert.equal(late + (await count('SELECT count(*) AS n FROM orders_all')) + (await count('SELECT count(*) AS n FROM payments_all')), sent, 'the archive holds exactly what the sources accepted')
  assert.ok((await count('SELECT count(*) AS n FROM j_between')) > 20 && (await count('SELECT count(*) AS n FROM j_turned')) > 20, 'the joins paired events')
  assert.ok((await count('SELECT count(*) AS n FROM j_between WHERE amount = 99')) > 20, 'pairs on the upper bound, at the payments watermark')
  assert.ok((await count('SELECT count(*) AS n FROM j_between WHERE amount = 98')) > 20, 'pairs on the lower bound, the order last')
  assert.ok((await count('SELECT count(*) AS n FROM j_left WHERE amount IS NULL')) > 10, 'orders without a payment')
  assert.ok((await count('SELECT count(*) AS n FROM j_full WHERE id IS NULL')) > 10, 'payments without an order')
  const orders = await count('SELECT count(*) AS n FROM orders_all')
  const payments = await count('SELECT count(*) AS n FROM payments_all')
  assert.ok((await count('SELECT count(*) AS n FROM orders')) < orders / 2, 'orders the payments watermark passed left the source')
  assert.ok((await count('SELECT count(*) AS n FROM payments')) < payments / 2, 'payments the orders watermark passed left the source')
  // Bounded: nothing was removed that a payment still to come could meet (the last checks above hold), and what is kept is recent.
  const oldest = (await db.query('SELECT min(ts) AS first FROM orders', [], { engine: 'row' })).rows[0]!['first'] as Date
  assert.ok(oldest.getTime() >= base + 79 * 250 - 2000 - 3000 - 1000 - 1000, `the oldest order kept is recent (${oldest.toISOString()})`)
  assert.equal(await count('SELECT count(*) AS n FROM orders_open'), orders, 'a join without time bounds keeps every order')
  assert.equal(await count('SELECT count(*) AS n FROM payments_open'), payments, 'and every payment')
})
