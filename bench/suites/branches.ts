/**
 * Branches (issue 13, docs/branches.md): what making a branch costs on a large table, and what reading
 * on a branch costs against reading the same table on main, in one run.
 *
 * - **Create.** `CREATE BRANCH` on a table of N rows (100K at scale 1), the median of several, next to
 *   what a user would otherwise do for a copy to experiment on: `CREATE TABLE copy AS SELECT * FROM t`
 *   (the naive branch). Issue 13's target: at most 5 ms, and no slower than on an empty table (the
 *   empty database's median is in the details).
 * - **Point read.** Reads by primary key, one statement each, on main and on a branch that changed 1%
 *   of the rows (its own rows and inherited ones alike): the branch's reads per second against main's
 *   (target: the branch at most 1.2× slower, a ratio of at least 0.83).
 * - **Analytical query.** TPC-H Q1's shape (a filter, two grouping columns, sums of expressions,
 *   averages, a count) over the whole table on the column store, on main and on the branch (target: at
 *   most 1.2× main's time).
 * - **Diff.** `strata.diff` between main and a branch that changed one row (issue 13's target: at
 *   most 10 ms; doltlite publishes about 30 ms on 1M rows), next to what a user would otherwise do with
 *   a copy: `EXCEPT` between the table and the copy, both ways, on the column store.
 * - **Merge.** MERGE BRANCH of a branch that changed 10% of the rows (10K at scale 1) into an
 *   unchanged main, next to writing the same change on main by hand (the UPDATE, run on the copy).
 * - **Whole-table write.** `db.writeTable(…, { mode: 'replace' })` of the whole table with 1% of the
 *   rows changed, next to a plain reload (DELETE every row, then `db.insert` them all), which is what
 *   a user does without a diffing write — and which adds a version for every row.
 */
import * as path from 'node:path'
import { open, type Database } from '../../src/index.js'
import type { Measurement } from '../report.js'
import { median, nowMs, perSecond, scaledCount, SeededRandom, withTemporaryDirectory, type Suite, type SuiteContext } from '../support.js'

const tableSql = 'CREATE TABLE items (id INTEGER PRIMARY KEY, grp INTEGER NOT NULL, price DOUBLE NOT NULL, name TEXT NOT NULL)'
// TPC-H Q1's shape over this table: a filter on most rows, two grouping columns, sums of expressions, averages and a count.
const analyticalSql =
  'SELECT grp % 10 AS flag, grp % 3 AS status, sum(price) AS sum_price, sum(price * 0.9) AS sum_disc_price, sum(price * 0.9 * 1.08) AS sum_charge, ' +
  'avg(price) AS avg_price, avg(id) AS avg_id, count(*) AS count_order FROM items WHERE id % 50 <> 0 GROUP BY 1, 2 ORDER BY 1, 2'

async function load(db: Database, rows: number, random: SeededRandom): Promise<void> {
  await db.query(tableSql)
  const batch = 50_000
  for (let start = 0; start < rows; start += batch) {
    const items: Record<string, unknown>[] = []
    for (let id = start + 1; id <= Math.min(rows, start + batch); id++) items.push({ id, grp: id % 100, price: Math.round(random.float() * 10_000) / 100, name: `item ${id}` })
    await db.insert('items', items)
  }
}

/** Median ms of `runs` CREATE BRANCH statements (each a new branch). */
async function createMs(db: Database, prefix: string, runs: number): Promise<number> {
  const times: number[] = []
  for (let run = 0; run < runs; run++) {
    const startMs = nowMs()
    await db.query(`CREATE BRANCH ${prefix}_${run}`)
    times.push(nowMs() - startMs)
  }
  return median(times)
}

async function pointReadsPerSecond(db: Database, rows: number, reads: number, random: SeededRandom, branch: string | undefined): Promise<number> {
  const options = branch === undefined ? {} : { branch }
  // Warm: plans and caches, as a running application has them.
  for (let read = 0; read < 200; read++) await db.query('SELECT * FROM items WHERE id = $1', [1 + Math.floor(random.float() * rows)], options)
  const startMs = nowMs()
  for (let read = 0; read < reads; read++) {
    const result = await db.query('SELECT * FROM items WHERE id = $1', [1 + Math.floor(random.float() * rows)], options)
    if (result.rows.length !== 1) throw new Error('a point read found no row')
  }
  return perSecond(reads, nowMs() - startMs)
}

async function analyticalMs(db: Database, branch: string | undefined, runs: number): Promise<{ readonly ms: number; readonly checksum: string }> {
  const options = branch === undefined ? {} : { branch }
  let checksum = ''
  await db.query(analyticalSql, [], options)
  const times: number[] = []
  for (let run = 0; run < runs; run++) {
    const startMs = nowMs()
    const result = await db.query(analyticalSql, [], options)
    times.push(nowMs() - startMs)
    checksum = String(result.rows.length)
  }
  return { ms: median(times), checksum }
}

export const branchesSuite: Suite = {
  name: 'branches',
  description: 'branches: CREATE BRANCH on a large table against copying it, and point reads and an analytical query on a branch against main',
  async run(context: SuiteContext): Promise<Measurement[]> {
    const rows = scaledCount(context, 100_000, 1_000)
    const random = new SeededRandom(context.seed)
    const measurements: Measurement[] = []
    await withTemporaryDirectory('branches', async (directory) => {
      const empty = await open(path.join(directory, 'empty'))
      let emptyCreateMs: number
      try {
        await empty.query(tableSql)
        emptyCreateMs = await createMs(empty, 'e', 9)
      } finally {
        await empty.close()
      }
      const db = await open(path.join(directory, 'strata'))
      try {
        await load(db, rows, random)
        const fullCreateMs = await createMs(db, 'c', 9)
        const copyStartMs = nowMs()
        await db.query('CREATE TABLE items_copy AS SELECT * FROM items')
        const copyMs = nowMs() - copyStartMs
        context.log(`CREATE BRANCH on ${rows} rows: ${fullCreateMs.toFixed(2)} ms (empty database ${emptyCreateMs.toFixed(2)} ms); copying the table ${copyMs.toFixed(0)} ms`)
        measurements.push({
          metric: `CREATE BRANCH on ${rows.toLocaleString('en-US')} rows, ms (median of 9)`,
          unit: 'ms',
          strata: fullCreateMs,
          baseline: copyMs,
          baselineName: 'CREATE TABLE … AS SELECT (a copy)',
          target: { kind: 'valueAtMost', value: 5 },
          details: { rows, emptyDatabaseMs: emptyCreateMs },
        })
        // The branch under test changes 1% of the rows, spread over the table.
        await db.query('CREATE BRANCH dev')
        const dev = db.branch('dev')
        const changed = Math.max(1, Math.floor(rows / 100))
        await dev.transaction(async (tx) => {
          for (let index = 0; index < changed; index++) await tx.query('UPDATE items SET price = price + 1 WHERE id = $1', [1 + Math.floor((index * rows) / changed)])
        })
        const reads = scaledCount(context, 20_000, 1_000)
        const mainReads = await pointReadsPerSecond(db, rows, reads, random, undefined)
        const branchReads = await pointReadsPerSecond(db, rows, reads, random, 'dev')
        context.log(`point reads: main ${mainReads.toFixed(0)}/s, branch ${branchReads.toFixed(0)}/s (${changed} of ${rows} rows changed on the branch)`)
        measurements.push({
          metric: 'point read by key on a branch (1% of rows changed), reads/s',
          unit: 'reads/s',
          strata: branchReads,
          baseline: mainReads,
          baselineName: 'the same reads on main',
          target: { kind: 'ratioAtLeast', value: 1 / 1.2 },
          details: { rows, changed, reads },
        })
        const main = await analyticalMs(db, undefined, 15)
        const branch = await analyticalMs(db, 'dev', 15)
        if (main.checksum !== branch.checksum) throw new Error('the analytical query gave different group counts on main and on the branch')
        context.log(`analytical query: main ${main.ms.toFixed(1)} ms, branch ${branch.ms.toFixed(1)} ms`)
        measurements.push({
          metric: 'TPC-H Q1-like query over the table on a branch, ms (median of 15)',
          unit: 'ms',
          strata: branch.ms,
          baseline: main.ms,
          baselineName: 'the same query on main',
          target: { kind: 'ratioAtMost', value: 1.2 },
          details: { rows, changed },
        })
        // Diff: a branch that changed one row, against main.
        await db.query('CREATE BRANCH one')
        await db.branch('one').query('UPDATE items SET price = price + 1 WHERE id = $1', [Math.ceil(rows / 2)])
        const diffSql = "SELECT count(*) AS n FROM strata.diff('items', 'main', 'one')"
        const exceptSql = 'SELECT count(*) AS n FROM ((SELECT * FROM items EXCEPT SELECT * FROM items_copy) UNION ALL (SELECT * FROM items_copy EXCEPT SELECT * FROM items))'
        const timed = async (sql: string, runs: number): Promise<{ readonly ms: number; readonly count: number }> => {
          let count = 0
          await db.query(sql)
          const times: number[] = []
          for (let run = 0; run < runs; run++) {
            const startMs = nowMs()
            count = Number((await db.query(sql)).rows[0]!['n'])
            times.push(nowMs() - startMs)
          }
          return { ms: median(times), count }
        }
        const diff = await timed(diffSql, 15)
        if (diff.count !== 1) throw new Error(`strata.diff found ${diff.count} changed rows, not 1`)
        // The copy differs from main by the one row the baseline must find too.
        await db.query('UPDATE items_copy SET price = price + 1 WHERE id = $1', [Math.ceil(rows / 2)])
        const except = await timed(exceptSql, 15)
        if (except.count !== 2) throw new Error(`EXCEPT found ${except.count} rows, not 2`)
        context.log(`diff of one changed row: strata.diff ${diff.ms.toFixed(1)} ms, EXCEPT over a copy ${except.ms.toFixed(1)} ms`)
        measurements.push({
          metric: `strata.diff of one changed row of ${rows.toLocaleString('en-US')}, ms (median of 15)`,
          unit: 'ms',
          strata: diff.ms,
          baseline: except.ms,
          baselineName: 'EXCEPT both ways between the table and a copy',
          target: { kind: 'valueAtMost', value: 10 },
          details: { rows },
        })
        // Merge: 10% of the rows changed on a branch, merged into main (which did not change since).
        const bulkRows = Math.max(1, Math.floor(rows / 10))
        await db.query('CREATE BRANCH bulk')
        await db.branch('bulk').query('UPDATE items SET price = price + 2 WHERE id <= $1', [bulkRows])
        const mergeStartMs = nowMs()
        const merged = await db.query('MERGE BRANCH bulk INTO main')
        const mergeMs = nowMs() - mergeStartMs
        if (Number(merged.rows[0]!['rows_changed']) !== bulkRows) throw new Error(`the merge changed ${String(merged.rows[0]!['rows_changed'])} rows, not ${bulkRows}`)
        const handStartMs = nowMs()
        await db.query('UPDATE items_copy SET price = price + 2 WHERE id <= $1', [bulkRows])
        const handMs = nowMs() - handStartMs
        context.log(`merge of ${bulkRows} changed rows: ${mergeMs.toFixed(0)} ms; the same UPDATE on main by hand ${handMs.toFixed(0)} ms`)
        measurements.push({
          metric: `MERGE BRANCH of ${bulkRows.toLocaleString('en-US')} changed rows into main, ms`,
          unit: 'ms',
          strata: mergeMs,
          baseline: handMs,
          baselineName: 'the same UPDATE written on main by hand',
          details: { rows, changed: bulkRows },
        })
        // Whole-table write: the table's rows with 1% changed, by writeTable and by a reload.
        const all = (await db.query('SELECT id, grp, price, name FROM items ORDER BY id')).rows.map((row) => ({ ...row }))
        const changedRows = Math.max(1, Math.floor(rows / 100))
        for (let index = 0; index < changedRows; index++) {
          const row = all[Math.floor((index * all.length) / changedRows)]!
          row['price'] = Number(row['price']) + 0.5
        }
        const writeStartMs = nowMs()
        const written = await db.writeTable('items', all, { mode: 'replace' })
        const writeMs = nowMs() - writeStartMs
        if (written.modified !== changedRows || written.added !== 0 || written.removed !== 0) throw new Error(`writeTable changed ${JSON.stringify(written)}, not ${changedRows} rows`)
        const reloadStartMs = nowMs()
        await db.query('DELETE FROM items_copy')
        await db.insert('items_copy', all)
        const reloadMs = nowMs() - reloadStartMs
        context.log(`writeTable replace of ${rows} rows, ${changedRows} changed: ${writeMs.toFixed(0)} ms; a reload ${reloadMs.toFixed(0)} ms`)
        measurements.push({
          metric: `writeTable replace of ${rows.toLocaleString('en-US')} rows with 1% changed, ms`,
          unit: 'ms',
          strata: writeMs,
          baseline: reloadMs,
          baselineName: 'a reload: DELETE every row, then db.insert them all',
          details: { rows, changed: changedRows, versionsAdded: changedRows, versionsAddedByReload: rows * 2 },
        })
      } finally {
        await db.close()
      }
    })
    return measurements
  },
}
