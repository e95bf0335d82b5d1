/**
 * Child process for test/stream-kill.test.ts: pushes numbered batches of events into a source that a
 * windowed stream reads, until the parent kills it with SIGKILL. A restarted worker continues after
 * the last batch the source holds, so the events of batch n are always the same.
 *
 * Usage: node dist/test/stream-kill-worker.js <dataDirectory> <seed>
 *
 * Protocol (one JSON object per line on stdout, written synchronously): `{"kind":"ready","next":n}`
 * once the database is open, then `{"kind":"ack","batch":n,"accepted":a}` after batch n's push
 * resolved (its events, the stream's results and the materialized views over them are durable).
 */
import { writeSync } from 'node:fs'
import { open } from '../src/index.js'
import { batchEvents, streamKillPeaks, streamKillSessions, streamKillSource, streamKillStream, streamKillViews } from './stream-kill-events.js'

const [directory, seedText] = process.argv.slice(2)
// Run without arguments by `node --test dist/test/`: nothing to do.
if (process.argv.length === 2) process.exit(0)
if (directory === undefined || seedText === undefined) {
  process.stderr.write('usage: stream-kill-worker <dataDirectory> <seed>\n')
  process.exit(2)
}
setTimeout(() => {
  process.stderr.write('stream-kill-worker: never killed, exiting\n')
  process.exit(3)
}, 60_000).unref()

function emit(line: Record<string, unknown>): void {
  writeSync(1, JSON.stringify(line) + '\n')
}

const seed = Number(seedText)
const db = await open(directory, { durability: 'full' })
await db.query(streamKillSource)
await db.query(streamKillStream)
await db.query(streamKillSessions)
await db.query(streamKillPeaks)
// The worker's own note of each batch commits with it, so a restarted worker knows where it stood.
await db.query('CREATE TABLE IF NOT EXISTS progress (n INTEGER NOT NULL)')
for (const [name, query] of streamKillViews) await db.query(`CREATE MATERIALIZED VIEW IF NOT EXISTS ${name} AS ${query}`)
const newest = (await db.query('SELECT n FROM progress ORDER BY n DESC LIMIT 1', [], { engine: 'row' })).rows[0]
const next = newest === undefined ? 0 : Number(newest['n']) + 1
emit({ kind: 'ready', next })
for (let batch = next; ; batch++) {
  const events = batchEvents(seed, batch)
  const accepted = await db.transaction(async (tx) => {
    const result = await tx.query(`INSERT INTO ticks VALUES ${events.map((_, index) => `($${index * 5 + 1}, $${index * 5 + 2}, $${index * 5 + 3}, $${index * 5 + 4}, $${index * 5 + 5})`).join(', ')}`, events.flatMap((event) => [event.batch, event.id, event.k, event.v, event.ts]))
    await tx.query('INSERT INTO progress VALUES ($1)', [batch])
    return result.rowCount
  })
  emit({ kind: 'ack', batch, accepted })
}
