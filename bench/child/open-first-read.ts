/**
 * Child process for the open-first-read suite: opens an existing database, runs one point read, prints
 * one JSON line with the timings and exits. It runs in a fresh `node` so that nothing is warm: no module
 * cache, no open handles, no JIT — what a CLI invocation or a serverless cold start pays.
 *
 * Usage: node dist/bench/child/open-first-read.js strata|baseline <path> <key>
 *
 * The drivers are imported dynamically so that each mode loads only what it uses, and so the import
 * cost can be reported apart from open-to-result.
 */
import { createRequire } from 'node:module'

export interface OpenFirstReadTiming {
  /** Loading the library's modules (not part of the target, reported for context). */
  readonly importDurationMs: number
  /** From just before open() to the point read's row in hand: the SPEC 12 measure. */
  readonly openToResultDurationMs: number
  /** The part of openToResultDurationMs until open() resolved (a breakdown, not a second measure). */
  readonly openDurationMs: number
  /** The rest of openToResultDurationMs: the first point read on the just-opened database. */
  readonly firstReadDurationMs: number
  /** From process start (performance's time origin) to the row: what a user waiting on a CLI sees. */
  readonly processStartToResultMs: number
  readonly found: boolean
  readonly engine: string
}

async function strata(directory: string, key: number): Promise<OpenFirstReadTiming> {
  const importStartMs = performance.now()
  const { open } = await import('../../src/index.js')
  const startMs = performance.now()
  const db = await open(directory)
  const openedMs = performance.now()
  const result = await db.query('SELECT * FROM t WHERE id = $1', [key])
  const endMs = performance.now()
  await db.close()
  return {
    importDurationMs: startMs - importStartMs,
    openToResultDurationMs: endMs - startMs,
    openDurationMs: openedMs - startMs,
    firstReadDurationMs: endMs - openedMs,
    processStartToResultMs: endMs,
    found: result.rows[0]?.['id'] === key,
    engine: result.engine,
  }
}

async function baseline(file: string, key: number): Promise<OpenFirstReadTiming> {
  const importStartMs = performance.now()
  // createRequire: better-sqlite3 is CommonJS, and this keeps its constructor's types.
  const Database = createRequire(import.meta.url)('better-sqlite3') as typeof import('better-sqlite3')
  const startMs = performance.now()
  // The same pragmas Strata's row store runs with, so opening costs the same kind of work.
  const database = new Database(file)
  database.pragma('journal_mode = WAL')
  database.pragma('synchronous = FULL')
  const openedMs = performance.now()
  const row = database.prepare('SELECT * FROM t WHERE id = ?').get(key) as { id: number } | undefined
  const endMs = performance.now()
  database.close()
  return {
    importDurationMs: startMs - importStartMs,
    openToResultDurationMs: endMs - startMs,
    openDurationMs: openedMs - startMs,
    firstReadDurationMs: endMs - openedMs,
    processStartToResultMs: endMs,
    found: row?.id === key,
    engine: 'better-sqlite3',
  }
}

const [mode, target, keyText] = process.argv.slice(2)
if ((mode !== 'strata' && mode !== 'baseline') || target === undefined || keyText === undefined) {
  process.stderr.write('usage: open-first-read.js strata|baseline <path> <key>\n')
  process.exit(2)
}
const timing = mode === 'strata' ? await strata(target, Number(keyText)) : await baseline(target, Number(keyText))
process.stdout.write(`${JSON.stringify(timing)}\n`)
// Exit explicitly: a background timer left by the library must not keep the child (and the bench) waiting.
process.exit(0)
