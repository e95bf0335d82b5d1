/**
 * The README's streaming example runs as written (the seed's VWAP and OHLC), and gives the rows its
 * comments promise: the block is read from README.md, so the README cannot drift from what works.
 */
import * as assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import type { Database } from '../src/index.js'
import { openTemporary } from './helpers.js'

/** The first ```ts block after the heading `## Streaming SQL`. */
function streamingExample(): string {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
  const section = readme.slice(readme.indexOf('## Streaming SQL'))
  const start = section.indexOf('```ts\n') + '```ts\n'.length
  return section.slice(start, section.indexOf('\n```', start))
}

test("the README's streaming example runs as written: VWAP and OHLC per symbol and minute, the late trade recorded and not counted", async (t) => {
  const db = await openTemporary(t, 'readme-streaming')
  const code = streamingExample()
  assert.match(code, /CREATE STREAM ohlc/)
  const run = new Function('db', `return (async () => {\n${code}\n})()`) as (db: Database) => Promise<void>
  await run(db)
  assert.deepEqual((await db.query('SELECT sym, window_start, round(vwap, 4) AS vwap FROM vwap ORDER BY sym')).rows, [
    { sym: 'AAPL', window_start: new Date('2026-01-05T14:30:00Z'), vwap: Math.round(((187.5 * 100 + 188 * 20) / 120) * 10_000) / 10_000 },
    { sym: 'MSFT', window_start: new Date('2026-01-05T14:31:00Z'), vwap: 402.1 },
  ])
  assert.deepEqual((await db.query('SELECT sym, window_start, open, high, low, close, volume FROM ohlc ORDER BY sym')).rows, [
    { sym: 'AAPL', window_start: new Date('2026-01-05T14:30:00Z'), open: 187.5, high: 188, low: 187.5, close: 188, volume: 120 },
    { sym: 'MSFT', window_start: new Date('2026-01-05T14:31:00Z'), open: 402.1, high: 402.1, low: 402.1, close: 402.1, volume: 50 },
  ])
  const late = (await db.query('SELECT source, event_time FROM strata.late_events')).rows
  assert.deepEqual(late, [{ source: 'trades', event_time: new Date('2026-01-05T14:29:00Z') }])
})
