/**
 * A push hands the rows it appends — the source's accepted events, and the results of the streams that
 * only append (pass-through, filter, projection, windows closing) — to the column store's sync with its
 * commit (StatementCall.appendRowsSync, src/sync/syncer.ts offer), which applies them without reading
 * them back from the row store. Those rows must be exactly what reading them back would give: the key
 * text of each row (its row id), every value. Differential: after pushes big enough to be handed over,
 * mixed with small ones that are read back, late events, a stream updating its groups in place (EMIT
 * CHANGES, whose table is read back) and retention removing events, both stores answer alike for the
 * source and every stream, and the sync did apply steps from handed-over rows (else this would only
 * test the usual path).
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { Engine } from '../src/engine/engine.js'
import { limits } from '../src/util/limits.js'
import { seededRandom, sortedRows } from './helpers.js'

let engine: Engine
let directory: string

before(async () => {
  directory = mkdtempSync(join(tmpdir(), 'strata-handoff-'))
  engine = await Engine.open(join(directory, 'db'), {})
  await engine.execute(
    engine.session,
    `
    CREATE SOURCE trades (symbol VARCHAR, price DECIMAL(10,2), qty BIGINT, note VARCHAR, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
      WITH (retention = INTERVAL '40' SECOND);
    CREATE STREAM all_trades AS SELECT * FROM trades;
    CREATE STREAM big_trades AS SELECT symbol, price * qty AS notional, ts FROM trades WHERE qty > 50;
    CREATE STREAM per_second AS SELECT symbol, count(*) AS n, sum(qty) AS qty, window_start, window_end FROM TUMBLE(trades, ts, INTERVAL '1' SECOND) GROUP BY symbol, window_start, window_end;
    CREATE STREAM totals AS SELECT symbol, count(*) AS n, max(price) AS top FROM trades GROUP BY symbol;
    `,
    undefined,
  )
})

after(async () => {
  await engine.close()
  rmSync(directory, { recursive: true, force: true })
})

const columns = ['symbol', 'price', 'qty', 'note', 'ts']
const startMs = Date.UTC(2026, 0, 5, 9, 30)

/** `count` events from `fromMs` on, 1 ms apart with up to 300 ms of disorder; some notes NULL, some prices with cents. */
function events(random: () => number, fromMs: number, count: number): unknown[][] {
  return Array.from({ length: count }, (_, index) => [
    ['AAA', 'BBB', 'CCC', "D'D"][Math.floor(random() * 4)],
    (Math.floor(random() * 100_000) / 100).toFixed(2),
    Math.floor(random() * 100),
    random() < 0.2 ? null : `note ${index} ${'x'.repeat(Math.floor(random() * 40))}`,
    new Date(fromMs + index - Math.floor(random() * 300)),
  ])
}

async function rowsOf(sql: string, store: 'row' | 'column'): Promise<string[]> {
  const [result] = await engine.execute(engine.session, sql, undefined, { engine: store })
  return sortedRows(result!.rows)
}

async function countOf(sql: string): Promise<number> {
  const [result] = await engine.execute(engine.session, sql, undefined)
  return Number(Object.values(result!.rows[0] as object)[0])
}

async function sameInBothStores(table: string): Promise<number> {
  const sql = `SELECT * FROM ${table}`
  const [row, column] = [await rowsOf(sql, 'row'), await rowsOf(sql, 'column')]
  assert.equal(column.length, row.length, `${table}: row count`)
  assert.deepEqual(column, row, table)
  return row.length
}

test("a push's appended rows reach the column store without a read-back, equal to the row store's", async () => {
  const random = seededRandom(1207)
  const stepsBefore = engine.syncStepsFromHandedOverRows
  const big = Math.max(limits.syncHandoffRowsMin, 2_000)
  let atMs = startMs
  for (let round = 0; round < 6; round++) {
    // A big batch (handed over), then a small one (read back, below syncHandoffRowsMin), then one with late events.
    await engine.callSubsystem('push', ['trades', columns, events(random, atMs, big), 'error'])
    atMs += big
    await engine.callSubsystem('push', ['trades', columns, events(random, atMs, 20), 'error'])
    atMs += 20
    const late = events(random, atMs - 5_000, 30)
    await engine.callSubsystem('push', ['trades', columns, [...events(random, atMs, big), ...late], 'error'])
    atMs += big
    // Each round's time jumps 15 s ahead, so retention removes older events as the watermark passes them.
    atMs += 15_000
    for (const table of ['trades', 'all_trades', 'big_trades', 'per_second', 'totals']) await sameInBothStores(table)
  }
  assert.ok(engine.syncStepsFromHandedOverRows > stepsBefore, 'the sync applied steps from handed-over rows')
  // Every accepted event was passed through (the big batches alone are 12 × big), and some were late.
  assert.ok((await countOf('SELECT count(*) FROM all_trades')) > 6 * 2 * big, 'all accepted events were passed through')
  assert.ok((await countOf("SELECT count(*) FROM strata.late_events WHERE source = 'trades'")) > 0, 'some events were late')
})
