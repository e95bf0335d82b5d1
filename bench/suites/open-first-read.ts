/**
 * Open + first point read in a fresh process: a child `node` opens an existing durable database and
 * runs one lookup by key; the time from just before `open()` to the row is the measure (SPEC 12:
 * ≤ 50 ms for Strata; issue 11: ≤ 10 ms). Raw better-sqlite3 opening a file with the same table and
 * reading the same key is the baseline. Several runs, alternating, median.
 *
 * Two cases for Strata: the lookup's text is one the directory has run before (the preparing process
 * ran it, and each child stores it again at close: src/engine/statement-store.ts), so it runs before
 * the parser has loaded — an application restarting; and a text never run there (the stored
 * statements are cleared before each such child), which waits for the parser.
 */
import { execFile } from 'node:child_process'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import Database from 'better-sqlite3'
import { open } from '../../src/index.js'
import type { OpenFirstReadTiming } from '../child/open-first-read.js'
import type { Measurement } from '../report.js'
import { insertRowsBatched, median, scaledCount, withTemporaryDirectory, type Suite, type SuiteContext } from '../support.js'

const execFileAsync = promisify(execFile)
const childScript = fileURLToPath(new URL('../child/open-first-read.js', import.meta.url))

function* rows(rowCount: number): Generator<[number, string, number]> {
  for (let id = 1; id <= rowCount; id += 1) yield [id, `name-${id}`, id * 1.5]
}

async function runChild(mode: 'strata' | 'baseline', target: string, key: number): Promise<OpenFirstReadTiming> {
  const { stdout } = await execFileAsync(process.execPath, [childScript, mode, target, String(key)], { timeout: 60_000 })
  const lastLine = stdout.trim().split('\n').at(-1) ?? ''
  const timing = JSON.parse(lastLine) as OpenFirstReadTiming
  if (!timing.found) throw new Error(`${mode}: the first point read did not find key ${key}`)
  return timing
}

/** The parts of the measures, each timed in the child: loading the library, open() alone, the first read after it. */
const breakdown: readonly { readonly label: string; readonly field: 'importDurationMs' | 'openDurationMs' | 'firstReadDurationMs' }[] = [
  { label: 'of which: import of the library', field: 'importDurationMs' },
  { label: 'of which: open()', field: 'openDurationMs' },
  { label: 'of which: first point read after open()', field: 'firstReadDurationMs' },
]

export const openFirstReadSuite: Suite = {
  name: 'open-first-read',
  description: 'fresh process: open an existing durable database and run one point read',
  async run(context: SuiteContext): Promise<Measurement[]> {
    const rowCount = scaledCount(context, 100_000, 1_000)
    const runCount = 7
    const key = Math.ceil(rowCount / 2)
    return withTemporaryDirectory('open-first-read', async (directory) => {
      const strataDirectory = path.join(directory, 'strata')
      const baselineFile = path.join(directory, 'baseline.sqlite')
      context.log(`preparing ${rowCount}-row databases`)
      const db = await open(strataDirectory)
      try {
        await db.query('CREATE TABLE t (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, amount DOUBLE NOT NULL)')
        await db.transaction((transaction) => insertRowsBatched(transaction, { table: 't', rows: rows(rowCount) }))
        // The application's previous run: the lookup's text, stored at close.
        await db.query('SELECT * FROM t WHERE id = $1', [key])
      } finally {
        await db.close()
      }
      const database = new Database(baselineFile)
      try {
        database.pragma('journal_mode = WAL')
        database.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, amount REAL NOT NULL)')
        const insert = database.prepare('INSERT INTO t VALUES (?, ?, ?)')
        database.transaction(() => {
          for (const row of rows(rowCount)) insert.run(...row)
        })()
      } finally {
        database.close()
      }

      context.log(`${runCount} child processes each`)
      const strataTimings: OpenFirstReadTiming[] = []
      const newTextTimings: OpenFirstReadTiming[] = []
      const baselineTimings: OpenFirstReadTiming[] = []
      const forgetStatements = (): void => {
        const file = new Database(path.join(strataDirectory, 'strata.sqlite'))
        try {
          file.prepare('DELETE FROM _strata_statements').run()
        } finally {
          file.close()
        }
      }
      // Alternating, so a disturbance on the machine hits every side alike. The run with a new text
      // goes last in each round: it leaves the text stored for the next round's first run.
      for (let run = 0; run < runCount; run += 1) {
        strataTimings.push(await runChild('strata', strataDirectory, key))
        baselineTimings.push(await runChild('baseline', baselineFile, key))
        forgetStatements()
        newTextTimings.push(await runChild('strata', strataDirectory, key))
      }
      const openToResult = (timings: OpenFirstReadTiming[]): number =>
        median(timings.map((timing) => timing.openToResultDurationMs))
      const processStartToResult = (timings: OpenFirstReadTiming[]): number =>
        median(timings.map((timing) => timing.processStartToResultMs))
      return [
        {
          metric: `open + first point read, a text run there before (median of ${runCount})`,
          unit: 'ms',
          strata: openToResult(strataTimings),
          baseline: openToResult(baselineTimings),
          baselineName: 'better-sqlite3',
          target: { kind: 'valueAtMost', value: 10 },
          details: { strataDurationsMs: strataTimings.map((timing) => timing.openToResultDurationMs) },
        },
        {
          metric: `open + first point read, a text never run there (median of ${runCount})`,
          unit: 'ms',
          strata: openToResult(newTextTimings),
          baseline: openToResult(baselineTimings),
          baselineName: 'better-sqlite3',
          target: { kind: 'valueAtMost', value: 50 },
          details: {
            rowCount,
            strataDurationsMs: newTextTimings.map((timing) => timing.openToResultDurationMs),
            baselineDurationsMs: baselineTimings.map((timing) => timing.openToResultDurationMs),
            strataImportDurationMsMedian: median(strataTimings.map((timing) => timing.importDurationMs)),
            baselineImportDurationMsMedian: median(baselineTimings.map((timing) => timing.importDurationMs)),
            strataEngines: [...new Set(strataTimings.map((timing) => timing.engine))],
          },
        },
        {
          metric: `process start → first row, incl. node + imports (median of ${runCount})`,
          unit: 'ms',
          strata: processStartToResult(strataTimings),
          baseline: processStartToResult(baselineTimings),
          baselineName: 'better-sqlite3',
        },
        // A breakdown of the two rows above (medians of each part, so they need not add up exactly).
        ...breakdown.map(({ label, field }) => ({
          metric: `  ${label} (median of ${runCount})`,
          unit: 'ms',
          strata: median(strataTimings.map((timing) => timing[field])),
          baseline: median(baselineTimings.map((timing) => timing[field])),
          baselineName: 'better-sqlite3',
        })),
      ]
    })
  },
}
