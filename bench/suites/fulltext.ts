/**
 * Full-text query latency: the same generated corpus (100K documents, Zipf-distributed words from a
 * seeded generator) in Strata with `CREATE FULLTEXT INDEX` and in raw better-sqlite3 with an FTS5
 * table over the same rows (external content, as Strata builds it), and the same queries on both:
 * top-10 by relevance for a rare term, a common term, a phrase, a prefix, a boolean query and NEAR,
 * plus a MATCH combined with an ordinary predicate. Reports mean latency per query and the ratio
 * Strata ÷ raw (lower is better; SPEC 12 sets no target for search). Answers are compared: the
 * ranked queries must give the same scores in the same order, the filtered one the same ids.
 *
 * The raw queries are written the way FTS5's documentation does (`JOIN … ORDER BY rank LIMIT 10`);
 * Strata compiles the same question to a different plan (the FTS subquery keeps the top rows with
 * SQLite's bounded sort). One more measurement runs Strata's compiled SQL itself in raw SQLite, so
 * the cost of Strata's own layers (parse cache, routing, binding, result shaping) shows separately.
 */
import * as path from 'node:path'
import Database from 'better-sqlite3'
import { open } from '../../src/index.js'
import type { Measurement } from '../report.js'
import { insertRowsBatched, nowMs, scaledCount, SeededRandom, waitForSync, withTemporaryDirectory, type Suite, type SuiteContext } from '../support.js'

type Row = [number, string, string, number]

const syllables = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'ti', 'vo', 'ze', 'po', 'da', 'fe', 'gu', 'hi', 'jo', 'be', 'co', 'wi', 'xu', 'yo']

/** A vocabulary of distinct pseudo-words, rank 0 the most frequent. */
function vocabulary(size: number): string[] {
  const words: string[] = []
  for (let index = 0; words.length < size; index++) {
    let word = ''
    let rest = index
    do {
      word += syllables[rest % syllables.length]
      rest = Math.floor(rest / syllables.length)
    } while (rest > 0)
    words.push(`${word}${index % 7 === 0 ? 'n' : ''}`)
  }
  return words
}

/** A word rank with probability ∝ 1/(rank+1) (Zipf's law, as in natural text). */
function zipfRank(random: SeededRandom, size: number): number {
  return Math.min(size - 1, Math.floor(Math.exp(random.float() * Math.log(size + 1))) - 1)
}

function* documents(seed: number, count: number, words: readonly string[]): Generator<Row> {
  const random = new SeededRandom(seed)
  for (let id = 1; id <= count; id++) {
    const length = random.integer(20, 60)
    const body: string[] = []
    for (let index = 0; index < length; index++) body.push(words[zipfRank(random, words.length)]!)
    const title = [0, 1, 2].map(() => words[zipfRank(random, words.length)]!).join(' ')
    yield [id, title, body.join(' '), random.integer(0, 9)]
  }
}

interface QueryKind {
  readonly name: string
  /** Strata's SQL; $1 is the query, $2 (when used) the category. */
  readonly strata: string
  /** The same question in raw SQLite FTS5, written the way FTS5's documentation does. */
  readonly raw: string
  readonly ranked: boolean
  make(random: SeededRandom, words: readonly string[], sample: () => string[]): unknown[]
}

const topTen = (condition: string): string => `SELECT id, title, bm25(body, $1) AS score FROM docs WHERE ${condition} ORDER BY score DESC LIMIT 10`
/** Named as Strata names its FTS table, so that Strata's compiled SQL also runs on the raw database. */
const ftsTable = '_strata_fts_docs_body_'
const rawTopTen = `SELECT d.id, d.title, -${ftsTable}.rank AS score FROM ${ftsTable} JOIN docs AS d ON d.id = ${ftsTable}.rowid WHERE ${ftsTable} MATCH ? ORDER BY ${ftsTable}.rank LIMIT 10`

const kinds: readonly QueryKind[] = [
  { name: 'rare term, top 10', strata: topTen('MATCH(body, $1)'), raw: rawTopTen, ranked: true, make: (random, words) => [words[random.integer(500, 3000)]] },
  { name: 'common term, top 10', strata: topTen('MATCH(body, $1)'), raw: rawTopTen, ranked: true, make: (random, words) => [words[random.integer(5, 40)]] },
  {
    name: 'phrase, top 10',
    strata: topTen('MATCH(body, $1)'),
    raw: rawTopTen,
    ranked: true,
    make: (random, _words, sample) => {
      const body = sample()
      const at = random.integer(0, body.length - 2)
      return [`"${body[at]} ${body[at + 1]}"`]
    },
  },
  { name: 'prefix, top 10', strata: topTen('MATCH(body, $1)'), raw: rawTopTen, ranked: true, make: (random, words) => [`${words[random.integer(20, 400)]!.slice(0, 4)}*`] },
  {
    name: 'boolean, top 10',
    strata: topTen('MATCH(body, $1)'),
    raw: rawTopTen,
    ranked: true,
    make: (random, words) => [`(${words[random.integer(50, 300)]} OR ${words[random.integer(50, 300)]}) NOT ${words[random.integer(0, 10)]}`],
  },
  {
    name: 'NEAR, top 10',
    strata: topTen('MATCH(body, $1)'),
    raw: rawTopTen,
    ranked: true,
    make: (random, words) => [`NEAR(${words[random.integer(0, 60)]} ${words[random.integer(0, 60)]}, 5)`],
  },
  {
    name: 'term + predicate, 20 by id',
    strata: 'SELECT id, title FROM docs WHERE MATCH(body, $1) AND category = $2 ORDER BY id LIMIT 20',
    raw: `SELECT d.id, d.title FROM ${ftsTable} JOIN docs AS d ON d.id = ${ftsTable}.rowid WHERE ${ftsTable} MATCH ? AND d.category = ? ORDER BY d.id LIMIT 20`,
    ranked: false,
    make: (random, words) => [words[random.integer(20, 200)], random.integer(0, 9)],
  },
]

interface Side {
  run(sql: string, params: readonly unknown[]): Promise<Record<string, unknown>[]>
}

interface Timed {
  readonly meanMs: number
  readonly answers: Record<string, unknown>[][]
}

/**
 * Runs every query on both sides: one warm-up pass each (statement caches, pages in memory), then a
 * timed pass that alternates the sides query by query, so a change in machine load between two
 * blocks of queries cannot pass for a difference between the sides.
 */
async function timeBoth(strata: { side: Side; sql: string }, baseline: { side: Side; sql: string }, queries: readonly (readonly unknown[])[]): Promise<{ strata: Timed; baseline: Timed }> {
  for (const params of queries) await baseline.side.run(baseline.sql, params)
  for (const params of queries) await strata.side.run(strata.sql, params)
  const strataAnswers: Record<string, unknown>[][] = []
  const baselineAnswers: Record<string, unknown>[][] = []
  let strataMs = 0
  let baselineMs = 0
  for (const params of queries) {
    let startMs = nowMs()
    baselineAnswers.push(await baseline.side.run(baseline.sql, params))
    baselineMs += nowMs() - startMs
    startMs = nowMs()
    strataAnswers.push(await strata.side.run(strata.sql, params))
    strataMs += nowMs() - startMs
  }
  return {
    strata: { meanMs: strataMs / queries.length, answers: strataAnswers },
    baseline: { meanMs: baselineMs / queries.length, answers: baselineAnswers },
  }
}

function sameAnswers(kind: QueryKind, strata: readonly Record<string, unknown>[][], raw: readonly Record<string, unknown>[][], queries: readonly (readonly unknown[])[]): void {
  for (let index = 0; index < queries.length; index++) {
    const ours = strata[index]!
    const theirs = raw[index]!
    const where = `${kind.name}, query ${JSON.stringify(queries[index])}`
    if (ours.length !== theirs.length) throw new Error(`${where}: Strata returned ${ours.length} rows, FTS5 ${theirs.length}`)
    for (let row = 0; row < ours.length; row++) {
      if (kind.ranked) {
        // Ties may come in either order; the scores, in order, may not differ.
        const a = ours[row]!['score'] as number
        const b = theirs[row]!['score'] as number
        if (Math.abs(a - b) > 1e-9 * Math.max(1, Math.abs(b))) throw new Error(`${where}: score ${row} is ${a} in Strata and ${b} in FTS5`)
      } else if (ours[row]!['id'] !== theirs[row]!['id']) throw new Error(`${where}: row ${row} is id ${String(ours[row]!['id'])} in Strata and ${String(theirs[row]!['id'])} in FTS5`)
    }
  }
}

export const fulltextSuite: Suite = {
  name: 'fulltext',
  description: 'full-text queries (MATCH, bm25 top 10) on 100K generated documents vs raw SQLite FTS5',
  async run(context: SuiteContext): Promise<Measurement[]> {
    const documentCount = scaledCount(context, 100_000, 1_000)
    const queryCount = scaledCount(context, 200, 20)
    const words = vocabulary(5_000)
    return withTemporaryDirectory('fulltext', async (directory) => {
      context.log(`${documentCount} documents into raw better-sqlite3 + FTS5`)
      const raw = new Database(path.join(directory, 'baseline.sqlite'))
      const db = await open(path.join(directory, 'strata'))
      try {
        raw.pragma('journal_mode = WAL')
        raw.pragma('synchronous = FULL')
        // Strata's row store sets this too; sorts and IN lists would otherwise spill to temporary files.
        raw.pragma('temp_store = MEMORY')
        raw.exec('CREATE TABLE docs (id INTEGER PRIMARY KEY, title TEXT, body TEXT, category INTEGER)')
        const insert = raw.prepare('INSERT INTO docs VALUES (?, ?, ?, ?)')
        let loadStartMs = nowMs()
        raw.transaction(() => {
          for (const row of documents(context.seed, documentCount, words)) insert.run(...row)
        })()
        raw.exec(`CREATE VIRTUAL TABLE ${ftsTable} USING fts5(body, content='docs', content_rowid='id'); INSERT INTO ${ftsTable} (${ftsTable}) VALUES ('rebuild')`)
        const rawLoadMs = nowMs() - loadStartMs

        context.log(`${documentCount} documents into Strata, then CREATE FULLTEXT INDEX`)
        loadStartMs = nowMs()
        await db.query('CREATE TABLE docs (id INTEGER PRIMARY KEY, title TEXT, body TEXT, category INTEGER)')
        await db.transaction((transaction) => insertRowsBatched(transaction, { table: 'docs', rows: documents(context.seed, documentCount, words) }))
        await db.query('CREATE FULLTEXT INDEX docs_body ON docs (body)')
        const strataLoadMs = nowMs() - loadStartMs
        // The column store's catch-up would compete with the measured queries for the CPU.
        await waitForSync(db)

        const bodies = raw.prepare('SELECT body FROM docs WHERE id = ?').pluck()
        const sampleRandom = new SeededRandom(context.seed + 7)
        const sample = (): string[] => String(bodies.get(sampleRandom.integer(1, documentCount))).split(' ')
        const engines = new Set<string>()
        const strataSide: Side = {
          run: async (sql, params) => {
            const result = await db.query(sql, params as unknown[])
            engines.add(result.engine)
            return result.rows
          },
        }
        const statements = new Map<string, Database.Statement>()
        const rawSide: Side = {
          run: (sql, params) => {
            let statement = statements.get(sql)
            if (statement === undefined) {
              statement = raw.prepare(sql)
              statements.set(sql, statement)
            }
            return Promise.resolve(statement.all(...params) as Record<string, unknown>[])
          },
        }
        const measurements: Measurement[] = []
        for (const [position, kind] of kinds.entries()) {
          const random = new SeededRandom(context.seed + 100 + position)
          const queries = Array.from({ length: queryCount }, () => kind.make(random, words, sample))
          context.log(`${kind.name}: ${queryCount} queries on each side`)
          const { strata, baseline } = await timeBoth({ side: strataSide, sql: kind.strata }, { side: rawSide, sql: kind.raw }, queries)
          sameAnswers(kind, strata.answers, baseline.answers, queries)
          // SPEC 7: search runs on the row store; any other engine here would be a routing bug.
          if (engines.size !== 1 || !engines.has('row')) throw new Error(`full-text queries ran on ${[...engines].join(', ')}`)
          const rowsReturned = baseline.answers.reduce((sum, answer) => sum + answer.length, 0)
          measurements.push({
            metric: `full-text ${kind.name}`,
            unit: 'ms',
            strata: strata.meanMs,
            baseline: baseline.meanMs,
            baselineName: 'better-sqlite3 FTS5',
            details: { documentCount, queryCount, rowsReturnedMean: rowsReturned / queryCount, strataSql: kind.strata, rawSql: kind.raw, example: queries[0] },
          })
        }
        // Strata's own overhead: the common-term query against raw SQLite running Strata's compiled SQL.
        const common = kinds[1]!
        const explained = await db.query(`EXPLAIN ${common.strata}`, ['x'])
        const compiled = explained.rows.map((row) => String(row['plan'])).find((line) => line.startsWith('sql: '))?.slice('sql: '.length)
        // Its parameters: the query, then the constant 10 twice (the FTS subquery's top rows and the outer LIMIT).
        if (compiled === undefined || compiled.split('?').length - 1 !== 3) throw new Error(`unexpected compiled SQL: ${String(compiled)}`)
        const random = new SeededRandom(context.seed + 101)
        const queries = Array.from({ length: queryCount }, () => common.make(random, words, sample))
        context.log(`${common.name}: Strata's compiled SQL in raw SQLite`)
        const { strata, baseline: sameSql } = await timeBoth(
          { side: strataSide, sql: common.strata },
          { side: { run: (sql, params) => rawSide.run(sql, [params[0], 10, 10]) }, sql: compiled },
          queries,
        )
        sameAnswers(common, strata.answers, sameSql.answers, queries)
        measurements.push({
          metric: `Strata overhead: ${common.name}, same SQL`,
          unit: 'ms',
          strata: strata.meanMs,
          baseline: sameSql.meanMs,
          baselineName: 'better-sqlite3, Strata\'s SQL',
          details: { documentCount, queryCount, compiledSql: compiled },
        })
        measurements.push({
          metric: 'full-text load + index build',
          unit: 'ms',
          strata: strataLoadMs,
          baseline: rawLoadMs,
          baselineName: 'better-sqlite3 FTS5',
          // Strata's load also records every row's history; the number is context, not a target.
          details: { documentCount, strataEngines: [...engines] },
        })
        return measurements
      } finally {
        raw.close()
        await db.close()
      }
    })
  },
}
