/**
 * `npm run fuzz`: the seeded differential fuzzer (docs/fuzzing.md). For each seed, random tables,
 * queries and writes run on the row store and the column store and against a model; it prints one
 * line per seed (queries run, compared, row-store unsupported, TLP checks, DML steps, mismatches),
 * each mismatch with a minimal reproduction, and exits 1 if there was any.
 *
 * @example
 * npm run fuzz                                        # seeds 1–10, 2,000 queries each
 * npm run fuzz -- --seeds 50 --queries 2000           # the long run
 * npm run fuzz -- --seed 1234 --seeds 1               # replay one seed
 * npm run fuzz -- --include-known                     # also generate the known-open classes
 * npm run fuzz -- --include-known decimal-beyond-double,null-primary-key
 */
import { knownOpen, knownOpenIds } from './known.js'
import { mismatchText, runSeed, seedLine, type FuzzOptions } from './runner.js'

const usage = `usage: npm run fuzz -- [--seeds N] [--seed FIRST] [--queries N] [--dml-steps N] [--include-known [id,…]] [--no-reduce]
  --seeds N          how many seeds (default 10)
  --seed FIRST       the first seed (default 1); seeds run FIRST, FIRST+1, …
  --queries N        query cases per seed (default 2000)
  --dml-steps N      DML steps per seed (default queries / 20, at least 10)
  --include-known    generate every known-open class too (or only the listed ids)
  --no-reduce        report mismatches as found, without reducing them`

function parse(argv: readonly string[]): { seeds: number; first: number; options: FuzzOptions } {
  let seeds = 10
  let first = 1
  let queries = 2000
  let dmlSteps: number | undefined
  let excluded = new Set(knownOpenIds)
  let reduce = true
  for (let index = 0; index < argv.length; index++) {
    const flag = argv[index]!
    const next = (): number => {
      const value = Number(argv[++index])
      if (!Number.isInteger(value) || value < 0) throw new Error(`${flag} takes a non-negative integer`)
      return value
    }
    if (flag === '--seeds') seeds = next()
    else if (flag === '--seed') first = next()
    else if (flag === '--queries') queries = next()
    else if (flag === '--dml-steps') dmlSteps = next()
    else if (flag === '--no-reduce') reduce = false
    else if (flag === '--include-known') {
      const list = argv[index + 1]
      if (list !== undefined && !list.startsWith('--')) {
        index++
        for (const id of list.split(',')) {
          if (!knownOpenIds.has(id)) throw new Error(`unknown known-open id ${id} (known: ${[...knownOpenIds].join(', ')})`)
          excluded.delete(id)
        }
      } else excluded = new Set()
    } else if (flag === '--help' || flag === '-h') {
      console.log(usage)
      process.exit(0)
    } else throw new Error(`unknown option ${flag}`)
  }
  return { seeds, first, options: { queries, dmlSteps: dmlSteps ?? Math.max(10, Math.floor(queries / 20)), excluded, reduce, mismatchesMax: 5 } }
}

async function main(): Promise<number> {
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(process.argv.slice(2))
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n${usage}`)
    return 2
  }
  const { seeds, first, options } = parsed
  console.log(`fuzzing seeds ${first}–${first + seeds - 1}: ${options.queries} queries and ${options.dmlSteps} DML steps each`)
  const excluded = knownOpen.filter((issue) => options.excluded.has(issue.id))
  console.log(excluded.length === 0 ? 'known-open classes: all generated' : `known-open classes not generated (test/fuzz/known.ts): ${excluded.map((issue) => `${issue.id} (${issue.owner})`).join(', ')}`)
  const started = performance.now()
  let mismatches = 0
  let queries = 0
  for (let seed = first; seed < first + seeds; seed++) {
    const report = await runSeed(seed, options)
    console.log(seedLine(report))
    for (const mismatch of report.mismatches) console.log(mismatchText(seed, mismatch, options))
    mismatches += report.mismatches.length
    queries += report.queries.queries
  }
  console.log(`${seeds} seed(s), ${queries} queries, ${mismatches} mismatch${mismatches === 1 ? '' : 'es'} in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  return mismatches === 0 ? 0 : 1
}

process.exitCode = await main()
