/**
 * The benchmark entry point (`npm run bench`). Runs every suite, or those named on the command line, in
 * this one process, each with its baseline side by side; prints a table of ratios against the SPEC 12
 * targets and writes the same numbers to bench/results/latest.json.
 *
 * @example
 * node dist/bench/run.js                  # every suite
 * node dist/bench/run.js insert point     # suites whose names start with "insert" or "point"
 * STRATA_BENCH_SCALE=0.2 node dist/bench/run.js tpch
 *
 * Environment: STRATA_BENCH_SCALE (default 1) multiplies every size; STRATA_BENCH_SEED (default 42)
 * seeds every generator; STRATA_BENCH_TPCH_LOAD=insert|import picks how the TPC-H data enters Strata;
 * STRATA_BENCH_NEXMARK_QUERIES=q0,q11 runs only those Nexmark queries (STRATA_BENCH_SCALE=100 is
 * Nexmark's 10M events per query).
 * The exit status is 1 if a suite failed (an error, or answers that differ from the baseline's); a
 * missed target is reported in the table, not in the exit status.
 */
import { environmentSummary, renderTable, writeJsonReport, type Measurement, type SuiteOutcome } from './report.js'
import { branchesSuite } from './suites/branches.js'
import { bulkWriteSuite } from './suites/bulk-write.js'
import { cdcSyncSuite } from './suites/cdc-sync.js'
import { historyOverheadSuite } from './suites/history-overhead.js'
import { httpSuite } from './suites/http.js'
import { feedSuite } from './suites/feed.js'
import { footprintSuite } from './suites/footprint.js'
import { fulltextSuite } from './suites/fulltext.js'
import { insertAutocommitSuite } from './suites/insert-autocommit.js'
import { insertBatchedSuite } from './suites/insert-batched.js'
import { openFirstReadSuite } from './suites/open-first-read.js'
import { nexmarkSuite } from './suites/nexmark.js'
import { pgbenchSuite } from './suites/pgbench.js'
import { pointReadSuite } from './suites/point-read.js'
import { timeTravelSuite } from './suites/time-travel.js'
import { tpchSuite } from './suites/tpch.js'
import { transactionsSuite } from './suites/transactions.js'
import { updateAutocommitSuite } from './suites/update-autocommit.js'
import { writeToVisibleSuite } from './suites/write-to-visible.js'
import { errorMessage, nowMs, type Suite, type SuiteContext } from './support.js'

const suites: readonly Suite[] = [
  insertAutocommitSuite,
  updateAutocommitSuite,
  transactionsSuite,
  insertBatchedSuite,
  bulkWriteSuite,
  historyOverheadSuite,
  footprintSuite,
  pointReadSuite,
  tpchSuite,
  writeToVisibleSuite,
  cdcSyncSuite,
  timeTravelSuite,
  feedSuite,
  openFirstReadSuite,
  fulltextSuite,
  httpSuite,
  pgbenchSuite,
  nexmarkSuite,
  branchesSuite,
]

function positiveNumberFromEnvironment(name: string, fallback: number): number {
  const text = process.env[name]
  if (text === undefined || text === '') return fallback
  const value = Number(text)
  if (!Number.isFinite(value) || value <= 0) {
    process.stderr.write(`${name} must be a positive number, not ${JSON.stringify(text)}\n`)
    process.exit(2)
  }
  return value
}

/** Suites named exactly, or by a prefix ("insert" → both insert suites), in the canonical order. */
function selectSuites(names: readonly string[]): Suite[] {
  if (names.length === 0) return [...suites]
  const usage = (): void => {
    process.stderr.write('usage: node dist/bench/run.js [suite-or-prefix …]\nsuites:\n')
    for (const suite of suites) process.stderr.write(`  ${suite.name.padEnd(18)} ${suite.description}\n`)
  }
  if (names.includes('--help') || names.includes('-h')) {
    usage()
    process.exit(0)
  }
  const unknown = names.filter((name) => !suites.some((suite) => suite.name === name || suite.name.startsWith(name)))
  if (unknown.length > 0) {
    process.stderr.write(`unknown suite ${unknown.join(', ')}\n`)
    usage()
    process.exit(2)
  }
  return suites.filter((suite) => names.some((name) => suite.name === name || suite.name.startsWith(name)))
}

async function main(): Promise<void> {
  const selected = selectSuites(process.argv.slice(2))
  const scale = positiveNumberFromEnvironment('STRATA_BENCH_SCALE', 1)
  const seed = Math.floor(positiveNumberFromEnvironment('STRATA_BENCH_SEED', 42))
  const startedAt = new Date().toISOString()
  const runStartMs = nowMs()
  const outcomes: SuiteOutcome[] = []
  for (const suite of selected) {
    const context: SuiteContext = {
      scale,
      seed,
      log: (message) => process.stderr.write(`[${suite.name}] ${message}\n`),
    }
    process.stderr.write(`[${suite.name}] ${suite.description}\n`)
    const suiteStartMs = nowMs()
    let measurements: Measurement[] = []
    let error: string | undefined
    try {
      measurements = await suite.run(context)
    } catch (thrown) {
      // One broken suite must not hide the others' numbers; it is reported and fails the exit status.
      error = errorMessage(thrown)
      process.stderr.write(`[${suite.name}] FAILED: ${thrown instanceof Error ? (thrown.stack ?? error) : error}\n`)
    }
    const durationMs = nowMs() - suiteStartMs
    process.stderr.write(`[${suite.name}] done in ${(durationMs / 1000).toFixed(1)} s\n`)
    outcomes.push({ suite: suite.name, durationMs, measurements, ...(error === undefined ? {} : { error }) })
  }
  const report = {
    startedAt,
    durationMs: nowMs() - runStartMs,
    scale,
    seed,
    environment: environmentSummary(),
    suites: outcomes,
  }
  process.stdout.write(`\n${renderTable(report)}\n\n`)
  const file = await writeJsonReport(report)
  process.stdout.write(`JSON: ${file}\n`)
  process.stdout.write(`total ${(report.durationMs / 1000).toFixed(1)} s at scale ${scale}\n`)
  if (outcomes.some((outcome) => outcome.error !== undefined)) process.exitCode = 1
}

await main()
// Exit explicitly: a timer or handle the engine failed to release must not keep a finished bench alive
// (stdout to a file or pipe is written synchronously on Linux, so nothing printed is lost).
process.exit(process.exitCode ?? 0)
