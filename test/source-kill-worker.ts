/**
 * Child process for the connector tests' kill loops (test/source-kill.ts: NATS, MQTT, RabbitMQ):
 * opens the data directory, runs the CREATE SOURCE IF NOT EXISTS it is given, says ready, and lets
 * the source's connector read until the parent kills it.
 *
 * Usage: node dist/test/source-kill-worker.js <dataDirectory> <CREATE SOURCE statement>
 */
import { writeSync } from 'node:fs'
import { open } from '../src/index.js'

const [directory, statement] = process.argv.slice(2)
// Run without arguments by `node --test dist/test/`: nothing to do.
if (process.argv.length === 2) process.exit(0)
if (directory === undefined || statement === undefined) {
  process.stderr.write('usage: source-kill-worker <dataDirectory> <CREATE SOURCE statement>\n')
  process.exit(2)
}
setTimeout(() => {
  process.stderr.write('source-kill-worker: never killed, exiting\n')
  process.exit(3)
}, 60_000).unref()

const db = await open(directory)
await db.query(statement)
writeSync(1, '{"kind":"ready"}\n')
// The connector reads in the background; the process lives until it is killed.
setInterval(() => undefined, 1_000)
