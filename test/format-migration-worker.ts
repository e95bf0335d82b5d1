/**
 * Child process for test/format-migration.test.ts: opens a data directory (which may migrate it to
 * the current format), waits for the column store to catch up, closes it, and reports each step, until
 * the parent kills it with SIGKILL or it is done.
 *
 * Usage: node dist/test/format-migration-worker.js <dataDirectory>
 *
 * Protocol (one JSON object per line on stdout, written synchronously to fd 1):
 * - `{"kind":"starting","ms":…}` right before `open` (the modules are loaded);
 * - `{"kind":"opened","ms":…}` once `open` resolved (any migration done);
 * - `{"kind":"mirrored","ms":…,"rows":n}` once a column-store read of `account` answered;
 * - `{"kind":"closed","ms":…}` after `close`; then the process exits 0.
 * `ms` counts from the start of this process.
 */
import { writeSync } from 'node:fs'
import { open } from '../src/index.js'

// `node --test dist/test/` runs every .js file under a test/ folder, this one included, without
// arguments: then there is nothing to do.
if (process.argv.length === 2) process.exit(0)
const [directory] = process.argv.slice(2)
if (directory === undefined) {
  process.stderr.write('usage: format-migration-worker <dataDirectory>\n')
  process.exit(2)
}

function emit(line: Record<string, unknown>): void {
  writeSync(1, `${JSON.stringify({ ...line, ms: Math.round(performance.now()) })}\n`)
}

// A worker the parent forgot to kill must not run forever.
setTimeout(() => {
  process.stderr.write('format-migration-worker: still running after 120 s, exiting\n')
  process.exit(3)
}, 120_000).unref()

emit({ kind: 'starting' })
const db = await open(directory)
emit({ kind: 'opened' })
const counted = await db.query('SELECT count(*) AS n FROM account', [], { engine: 'column' })
emit({ kind: 'mirrored', rows: Number(counted.rows[0]!['n']) })
await db.close()
emit({ kind: 'closed' })
