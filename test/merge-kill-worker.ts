/**
 * Child process for test/branches-merge.test.ts: opens a data directory, says `merging` on stdout, and
 * merges branch `big` into main until the parent kills it with SIGKILL (or the merge ends: `merged`).
 *
 * Usage: node dist/test/merge-kill-worker.js <dataDirectory>
 */
import { writeSync } from 'node:fs'
import { open } from '../src/index.js'

// `node --test dist/test/` runs every .js file under a test/ folder, this one too, without arguments.
if (process.argv.length === 2) process.exit(0)
const directory = process.argv[2]!
const db = await open(directory)
writeSync(1, 'merging\n')
await db.query('MERGE BRANCH big INTO main')
writeSync(1, 'merged\n')
await db.close()
