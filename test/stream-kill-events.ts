/**
 * What test/stream-kill-worker.ts pushes and test/stream-kill.test.ts checks: the source, the stream,
 * and each numbered batch's events (the same for every run of the worker with one seed).
 */
import { seededRandom } from './helpers.js'

export const streamKillSource =
  "CREATE SOURCE IF NOT EXISTS ticks (batch INTEGER NOT NULL, id INTEGER NOT NULL, k VARCHAR NOT NULL, v INTEGER NOT NULL, ts TIMESTAMP NOT NULL, WATERMARK FOR ts AS ts - INTERVAL '2' SECOND) WITH (allowed_lateness = INTERVAL '1' SECOND)"
export const streamKillStream =
  "CREATE STREAM IF NOT EXISTS tick_sums AS SELECT k, window_start, window_end, count(*) AS n, sum(v) AS total FROM ticks GROUP BY k, tumble(ts, INTERVAL '5' SECOND)"
/** A session window per key (its open sessions kept as state between batches, src/subsystems/streaming/sessions.ts). */
export const streamKillSessions =
  "CREATE STREAM IF NOT EXISTS tick_sessions AS SELECT k, window_start, window_end, count(*) AS n, sum(v) AS total FROM ticks GROUP BY k, session(ts, INTERVAL '1' SECOND)"
/** Sessions by their definition, over the events kept: an event starts one when no earlier event of its key is less than the gap before it. */
export const streamKillSessionsOracle =
  'SELECT k, window_start, window_end, count(*) AS n, sum(v) AS total FROM (SELECT *, min(ts) OVER (PARTITION BY k, sid) AS window_start, ' +
  "max(ts) OVER (PARTITION BY k, sid) + INTERVAL '1 second' AS window_end FROM (SELECT f.*, (SELECT sum(g.starts) FROM (SELECT e.*, CASE WHEN EXISTS " +
  "(SELECT 1 FROM ticks p WHERE p.k = e.k AND p.ts < e.ts AND p.ts > e.ts - INTERVAL '1 second') THEN 0 ELSE 1 END AS starts FROM ticks e) g " +
  'WHERE g.k = f.k AND g.ts <= f.ts) AS sid FROM ticks f) AS numbered) AS sessions GROUP BY k, window_start, window_end'
/** Subqueries in FROM, each kept as a part (a stream or view of its own): the keys with each window's highest total. */
export const streamKillPeaks =
  'CREATE STREAM IF NOT EXISTS tick_peaks AS SELECT s.k, s.window_start, s.total FROM ' +
  "(SELECT k, window_start, sum(v) AS total FROM ticks GROUP BY k, tumble(ts, INTERVAL '5' SECOND)) AS s JOIN " +
  "(SELECT max(w.total) AS top, w.window_start FROM (SELECT k, window_start, sum(v) AS total FROM ticks GROUP BY k, tumble(ts, INTERVAL '5' SECOND)) AS w GROUP BY w.window_start) AS m " +
  'ON s.window_start = m.window_start AND s.total = m.top'
export const streamKillPeaksOracle =
  "WITH s AS (SELECT k, time_bucket(INTERVAL '5 seconds', ts, TIMESTAMP '1970-01-01') AS window_start, sum(v) AS total FROM ticks GROUP BY ALL) " +
  'SELECT s.k, s.window_start, s.total FROM s JOIN (SELECT max(total) AS top, window_start FROM s GROUP BY window_start) AS m ON s.window_start = m.window_start AND s.total = m.top'
/** Materialized views kept in the batches' transactions: over the stream's table, and over the worker's ordinary table. */
export const streamKillViews: readonly (readonly [string, string])[] = [
  ['tick_totals', 'SELECT k, count(*) AS windows, sum(total) AS total FROM tick_sums GROUP BY k'],
  ['progress_summary', 'SELECT count(*) AS batches, max(n) AS newest FROM progress'],
]

/** Batch n's events: the same for every worker, out of order, some late. */
export function batchEvents(seed: number, batch: number): { batch: number; id: number; k: string; v: number; ts: Date }[] {
  const random = seededRandom(seed * 100_003 + batch)
  const clock = Date.UTC(2026, 0, 5, 14, 0, 0) + batch * 700
  return Array.from({ length: 1 + Math.floor(random() * 5) }, (_, index) => ({
    batch,
    id: batch * 10 + index,
    k: ['a', 'b'][Math.floor(random() * 2)]!,
    v: Math.floor(random() * 100),
    ts: new Date(clock - Math.floor(random() * 6000)),
  }))
}

