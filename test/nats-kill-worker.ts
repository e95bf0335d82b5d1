/**
 * Child process for test/streaming-nats.test.ts's kill loop: opens the data directory, makes sure the
 * NATS source exists, says ready, and lets its connector read until the parent kills it.
 *
 * Usage: node dist/test/nats-kill-worker.js <dataDirectory> <subject>
 */
import { writeSync } from 'node:fs'
import { open } from '../src/index.js'

const [directory, subject] = process.argv.slice(2)
// Run without arguments by `node --test dist/test/`: nothing to do.
if (process.argv.length === 2) process.exit(0)
if (directory === undefined || subject === undefined) {
  process.stderr.write('usage: nats-kill-worker <dataDirectory> <subject>\n')
  process.exit(2)
}
setTimeout(() => {
  process.stderr.write('nats-kill-worker: never killed, exiting\n')
  process.exit(3)
}, 60_000).unref()

const db = await open(directory)
await db.query(`CREATE SOURCE IF NOT EXISTS ticks (id INTEGER NOT NULL, ts TIMESTAMP, WATERMARK FOR ts) WITH (connector = 'nats', subject = '${subject}')`)
writeSync(1, '{"kind":"ready"}\n')
// The connector reads in the background; the process lives until it is killed.
setInterval(() => undefined, 1_000)
