/**
 * One fuzzer run per seed: random tables and rows (checked to come back from both stores as SPEC 3
 * says), then `queries` random query cases (differential or TLP), then the DML part against its
 * model. Everything random comes from the seed, so a seed replays exactly (`--seed N --seeds 1`).
 */
import { open } from '../../src/index.js'
import { runDml, type DmlCounters } from './dml.js'
import type { Column, GenerationContext } from './expressions.js'
import { caseSql, queryReproduction, randomCase, reduce, runPartition, runSelect, variantCase, type Mismatch, type QueryCounters, type Totals } from './queries.js'
import { Random } from './random.js'
import { answer, createTable, describeAnswer, modelAnswer, randomTable, rowKey, tableScript, type Table } from './tables.js'
import type { Value, ValueOptions } from './values.js'

export interface FuzzOptions {
  /** Query cases (a differential SELECT or a TLP check each). */
  readonly queries: number
  /** Steps of the DML part (a statement or a transaction each). */
  readonly dmlSteps: number
  /** Known-open classes the generator leaves out (known.ts). */
  readonly excluded: ReadonlySet<string>
  /** Reduce each mismatch to a minimal reproduction (slower). */
  readonly reduce: boolean
  /** Stop collecting a seed's mismatches after this many. */
  readonly mismatchesMax: number
}

export interface SeedReport {
  readonly seed: number
  readonly queries: QueryCounters
  readonly dml: DmlCounters
  readonly mismatches: readonly Mismatch[]
  readonly durationMs: number
}

/** The values a table holds, per column, as they are stored (a decimal as its rounded value, not as written). */
function samplesOf(table: Table): Map<string, Value[]> {
  const stored = (value: Value): Value => (value !== null && value.t === 'decimal' && value.written !== undefined ? { t: 'decimal', v: value.v, scale: value.scale } : value)
  return new Map(table.columns.map((column, index) => [column.name, table.rows.map((row) => stored(row[index]!)).filter((value) => value !== null)]))
}

/**
 * The first row that alone does not come back as written (a smaller reproduction of a round-trip
 * failure), with what each store answered for it; the whole table if no single row fails.
 */
async function smallestRoundTrip(table: Table): Promise<{ table: Table; answers: string[] }> {
  for (const candidate of [...table.rows.map((row): Table => ({ ...table, rows: [row] })), table]) {
    await using db = await open()
    try {
      await createTable(db, candidate, () => false)
    } catch (error) {
      return { table: candidate, answers: [`-- fails: ${error instanceof Error ? error.message : String(error)}`] }
    }
    const answers: string[] = []
    let failed = false
    for (const engine of ['row', 'column'] as const) {
      const result = await answer(db, `SELECT * FROM ${table.name}`, [], engine)
      answers.push(`SELECT * FROM ${table.name}; -- ${engine} store: ${describeAnswer(result).replaceAll('\n', '\n--')}`)
      if (!result.ok || result.rows.map(rowKey).sort().join('\n') !== modelAnswer(candidate.rows).join('\n')) failed = true
    }
    if (failed) return { table: candidate, answers: [...answers, '-- expected:', ...modelAnswer(candidate.rows).map((line) => `--     (${line})`)] }
  }
  return { table, answers: ['-- (no longer fails on a fresh database)'] }
}

export async function runSeed(seed: number, options: FuzzOptions): Promise<SeedReport> {
  const started = performance.now()
  const random = new Random(seed)
  const counters: QueryCounters = { queries: 0, compared: 0, rowUnsupported: 0, partitioned: 0, agreedErrors: 0 }
  const dml: DmlCounters = { steps: 0, statements: 0, stateChecks: 0, historyChecks: 0 }
  const mismatches: Mismatch[] = []
  const values: ValueOptions = {
    decimalDigitsMax: 38,
    negativeZero: !options.excluded.has('double-negative-zero'),
    overPreciseDecimals: true,
  }
  const report = (): SeedReport => ({ seed, queries: counters, dml, mismatches, durationMs: performance.now() - started })

  await using db = await open()
  const tables: Table[] = []
  for (let index = 0, count = random.int(1, 3); index < count; index++) {
    const table = randomTable(random, `t${index}`, { ...values, rowsMax: 24 })
    const byParameters = Array.from({ length: Math.ceil(table.rows.length / 8) + 1 }, () => random.chance(0.3))
    // A table whose rows do not come back as written is reported and left out of the query part.
    const roundTrip = async (summary: string): Promise<void> => {
      const smallest = options.reduce ? await smallestRoundTrip(table) : { table, answers: [] }
      mismatches.push({ kind: 'round-trip', summary, reproduction: [tableScript(smallest.table), ...smallest.answers].join('\n') })
    }
    try {
      await createTable(db, table, (chunk) => byParameters[chunk] === true)
    } catch (error) {
      await roundTrip(`creating and filling ${table.name} failed: ${error instanceof Error ? error.message : String(error)}`)
      continue
    }
    // Every value comes back from both stores as SPEC 3 says.
    let failed = false
    for (const engine of ['row', 'column'] as const) {
      const result = await answer(db, `SELECT * FROM ${table.name}`, [], engine)
      if (failed || (result.ok && result.rows.map(rowKey).sort().join('\n') === modelAnswer(table.rows).join('\n'))) continue
      await roundTrip(`the ${engine} store does not return ${table.name}'s rows as written`)
      failed = true
    }
    if (failed) continue
    tables.push(table)
  }

  // A branch on which every keyed table's rows are rewritten to themselves: every query is answered
  // there too, through the branch's own rows and what it inherits, and must give main's answer.
  const branch = 'fuzz_rewritten'
  await db.query(`CREATE BRANCH ${branch}`)
  for (const table of tables) {
    if (table.primaryKey === null) continue
    const column = table.columns.find((one) => !table.primaryKey!.includes(one.name)) ?? table.columns[0]!
    await db.query(`UPDATE ${table.name} SET ${column.name} = ${column.name}`, [], { branch })
  }
  const contexts = new Map<string, GenerationContext>(
    tables.map((table) => [table.name, { random, columns: table.columns as Column[], samples: samplesOf(table), excluded: options.excluded, values }]),
  )
  const totals: Totals = new Map()
  const seen = new Set<string>()
  // Plan templates' constants come from a PRNG of their own: the seed's cases stay what they were.
  const variants = new Random(seed ^ 0x7e3a1b)
  for (let index = 0; index < options.queries && tables.length > 0; index++) {
    const table = random.pick(tables)
    const query = randomCase(contexts.get(table.name)!, table)
    const outcome = query.kind === 'select' ? await runSelect(db, query, counters, variantCase(query, variants, values), branch) : await runPartition(db, query, totals, counters)
    if (outcome.mismatch === undefined || mismatches.length >= options.mismatchesMax) continue
    // One report per kind of difference and statement shape is enough for a seed.
    const signature = `${outcome.mismatch.summary.split(':')[0]} ${caseSql(query).replace(/'[^']*'|\d+/g, '?').slice(0, 80)}`
    if (seen.has(signature)) continue
    seen.add(signature)
    const reduced = options.reduce ? await reduce(table, query) : { table, query, outcome }
    const final = reduced.outcome.mismatch === undefined ? { table, query, outcome } : reduced
    mismatches.push({
      kind: outcome.mismatch.summary.startsWith('an internal error') ? 'crash' : query.kind === 'tlp' ? 'tlp' : 'differential',
      summary: final.outcome.mismatch?.summary ?? outcome.mismatch.summary,
      reproduction: queryReproduction(final.table, final.query, final.outcome.mismatch === undefined ? outcome : final.outcome),
    })
  }

  if (options.dmlSteps > 0 && mismatches.length < options.mismatchesMax) {
    const found = await runDml(random, options.dmlSteps, dml, { values, excluded: options.excluded })
    if (found !== undefined) mismatches.push(found)
  }
  return report()
}

/** One line per seed. */
export function seedLine(report: SeedReport): string {
  const { queries, dml } = report
  return (
    `seed ${report.seed}: ${queries.queries} queries, ${queries.compared} compared, ${queries.rowUnsupported} row-store unsupported, ` +
    `${queries.partitioned} TLP checks, ${queries.agreedErrors} errors on both stores, ${queries.templated ?? 0} row-store answers from a plan template, ${queries.branchCompared ?? 0} compared on a branch (${queries.branchUnsupported ?? 0} not run there); DML ${dml.steps} steps (${dml.statements} statements, ` +
    `${dml.stateChecks} state checks, ${dml.historyChecks} history checks); ${report.mismatches.length} mismatch${report.mismatches.length === 1 ? '' : 'es'} ` +
    `(${(report.durationMs / 1000).toFixed(1)} s)`
  )
}

/** A mismatch with its seed and reproduction, for the console. */
export function mismatchText(seed: number, mismatch: Mismatch, options: Pick<FuzzOptions, 'queries' | 'dmlSteps'>): string {
  return [
    `MISMATCH (seed ${seed}, ${mismatch.kind}): ${mismatch.summary}`,
    `  rerun: npm run fuzz -- --seed ${seed} --seeds 1 --queries ${options.queries} --dml-steps ${options.dmlSteps}`,
    ...mismatch.reproduction.split('\n').map((line) => `  ${line}`),
  ].join('\n')
}
