/**
 * Session windows keep their open sessions as state between steps (src/subsystems/streaming/sessions.ts):
 * each batch's events are merged into them, and a session's events are evaluated once, when it
 * closes. Differential against sessions computed by their definition in DuckDB over the accepted
 * events, on a seeded out-of-order stream built to stress the merge: timestamps on whole seconds (so
 * events exactly the gap apart occur, which must start a new session), late events inside the allowed
 * lateness that bridge two open sessions, a NULL key (one partition, as GROUP BY has it), hot keys whose
 * sessions stay open across many batches, batches of one event and of hundreds. Midway, the state is
 * forgotten — as a stream made before it was kept — and the database reopened; the result must not
 * change. The state holds only sessions still open, and nothing after the input ends.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { EngineContext } from '../src/engine/context.js'
import { Engine } from '../src/engine/engine.js'
import { seededRandom, sortedRows, temporaryDirectory } from './helpers.js'

const gapSeconds = 3
const startMs = Date.UTC(2026, 0, 5, 10, 0, 0)

/** Sessions by their definition: an event starts one when no earlier event of its key (NULL as a key) is less than the gap before it. */
const oracle =
  `SELECT k, window_start, window_end, count(*) AS n, sum(v) AS total FROM (SELECT *, min(ts) OVER (PARTITION BY k, sid) AS window_start, max(ts) OVER (PARTITION BY k, sid) + INTERVAL '${gapSeconds} seconds' AS window_end FROM ` +
  `(SELECT f.*, (SELECT sum(g.starts) FROM (SELECT e.*, CASE WHEN EXISTS (SELECT 1 FROM events p WHERE p.k IS NOT DISTINCT FROM e.k AND p.ts < e.ts AND p.ts > e.ts - INTERVAL '${gapSeconds} seconds') THEN 0 ELSE 1 END AS starts FROM events e) g ` +
  `WHERE g.k IS NOT DISTINCT FROM f.k AND g.ts <= f.ts) AS sid FROM events f) AS numbered) AS sessions GROUP BY k, window_start, window_end`

async function rows(engine: Engine, sql: string, store: 'row' | 'column' = 'column'): Promise<Record<string, unknown>[]> {
  const [result] = await engine.execute(engine.session, sql, undefined, { engine: store })
  return result!.rows as Record<string, unknown>[]
}

test('session windows kept as state equal the sessions of the accepted events, across a lost state and a reopen', async (t) => {
  const directory = temporaryDirectory('sessions')
  t.after(() => directory.remove())
  const file = `${directory.path}/db`
  let engine = await Engine.open(file, {})
  // The row store's writer: the sessions table is the subsystem's own, not a relation queries see.
  const writer = (): EngineContext['rowStore']['writer'] => (engine as unknown as { context: EngineContext }).context.rowStore.writer
  const heldSessions = (): number => Number(writer().prepareSync('SELECT count(*) FROM _strata_sessions_per_session').allSync([])[0]![0])
  const exec = async (sql: string): Promise<void> => {
    await engine.execute(engine.session, sql, undefined)
  }
  await exec("CREATE SOURCE events (k VARCHAR, v BIGINT, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '2' SECOND) WITH (allowed_lateness = INTERVAL '4' SECOND)")
  await exec(`CREATE STREAM per_session AS SELECT k, window_start, window_end, count(*) AS n, sum(v) AS total FROM events GROUP BY k, session(ts, INTERVAL '${gapSeconds}' SECOND)`)
  const random = seededRandom(20261207)
  const keys = ['hot1', 'hot2', null, 'a', 'b', 'c', "d'd"]
  let clockSeconds = 0
  let pushed = 0
  const batches = 90
  for (let batch = 0; batch < batches; batch++) {
    // Hot keys come in every batch (their sessions stay open across many); each sparse key (the NULL one
    // too) now and then, so its sessions start, close, meet exactly the gap apart or are bridged.
    const size = batch % 10 === 3 ? 1 : 1 + Math.floor(random() * 300)
    const events: unknown[][] = []
    const event = (key: string | null): void => {
      // Mostly near the clock, some up to 7 s behind it (late beyond the lateness, or inside it and bridging sessions).
      const behind = random() < 0.15 ? Math.floor(random() * 8) : Math.floor(random() * 2)
      events.push([key, Math.floor(random() * 1000) - 200, new Date(startMs + (clockSeconds - behind) * 1000)])
    }
    for (let index = 0; index < size; index++) event(random() < 0.5 ? 'hot1' : 'hot2')
    for (const key of keys.slice(2)) if (random() < 0.3) event(key)
    clockSeconds += random() < 0.3 ? 0 : 1 + Math.floor(random() * 2)
    if (events.length === 0) continue
    await engine.callSubsystem('push', ['events', ['k', 'v', 'ts'], events, 'error'])
    pushed += events.length
    if (batch === 30) {
      // As a stream made before its sessions were kept: the next step builds them from its events since the earliest open session.
      writer().execSync('DROP TABLE "_strata_sessions_per_session"')
    }
    if (batch === 60) {
      await engine.close()
      engine = await Engine.open(file, {})
    }
    if (batch % 15 === 14) {
      // Only open sessions are kept: at most a few per key.
      assert.ok(heldSessions() <= keys.length * 4, `the state holds open sessions only (${heldSessions()})`)
    }
  }
  await engine.callSubsystem('flush', ['events'])
  const late = Number((await rows(engine, "SELECT count(*) AS n FROM strata.late_events WHERE source = 'events'", 'row'))[0]!['n'])
  const accepted = Number((await rows(engine, 'SELECT count(*) AS n FROM events'))[0]!['n'])
  assert.equal(accepted + late, pushed)
  assert.ok(late > 0, 'some events were late')
  const expected = sortedRows(await rows(engine, oracle))
  const actual = sortedRows(await rows(engine, 'SELECT k, window_start, window_end, n, total FROM per_session'))
  assert.ok(expected.length > 50, `enough sessions (${expected.length})`)
  assert.deepEqual(actual, expected)
  // A hot key's session spans many batches, and one key's sessions met exactly the gap apart or were bridged by a late event: the grid is what it should stress.
  const longest = Number((await rows(engine, "SELECT max(epoch(window_end) - epoch(window_start)) AS s FROM per_session WHERE k = 'hot1'"))[0]!['s'])
  assert.ok(longest > 30, `a hot key's session stayed open across batches (${longest} s)`)
  assert.equal(heldSessions(), 0, 'no session is held after the input ended')
  await engine.close()
})
