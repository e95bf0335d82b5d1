/**
 * A source's `retention` (SPEC 8): events older than the watermark minus the retention leave the
 * source's table once no stream needs them — the streams' results stay equal to DuckDB's batch answer
 * over every event accepted (kept here in an ordinary table of its own), and both stores agree.
 */
import * as assert from 'node:assert/strict'
import { test } from 'node:test'
import { assertRefused, openTemporary, sortedRows } from './helpers.js'

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
