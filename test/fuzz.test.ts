/**
 * The differential fuzzer's short fixed-seed run (docs/fuzzing.md): random tables, queries forced onto
 * each store, ternary logic partitioning, and writes against a model, from fixed seeds, so `npm test`
 * keeps fixed what the fuzzer found. `npm run fuzz -- --seeds 50 --queries 2000` is the long run;
 * rerun one seed with `npm run fuzz -- --seed N --seeds 1 --queries 800 --dml-steps 40`.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { knownOpenIds } from './fuzz/known.js'
import { mismatchText, runSeed, seedLine, type FuzzOptions } from './fuzz/runner.js'

const options: FuzzOptions = { queries: 800, dmlSteps: 40, excluded: knownOpenIds, reduce: true, mismatchesMax: 3 }

describe('differential fuzzer, fixed seeds', () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    test(`seed ${seed}: row store = column store = a branch that rewrote every row, TLP holds on both, writes and history match the model`, async () => {
      const report = await runSeed(seed, options)
      console.log(seedLine(report))
      assert.deepEqual(report.mismatches.map((mismatch) => mismatchText(seed, mismatch, options)), [])
      // A run that compared little proves little: most cases must have been compared.
      assert.ok(report.queries.compared >= options.queries / 2, `seed ${seed} compared only ${report.queries.compared} of ${report.queries.queries} queries`)
      assert.ok(report.dml.stateChecks > 0 && report.dml.historyChecks > 0, `seed ${seed} checked no writes or history`)
      assert.ok((report.queries.branchCompared ?? 0) >= options.queries / 4, `seed ${seed} compared only ${report.queries.branchCompared ?? 0} queries on a branch`)
    })
  }
})
