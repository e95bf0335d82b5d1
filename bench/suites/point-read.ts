/**
 * Point lookups by primary key on a 100K-row table, random keys (the same sequence on both sides):
 * Strata's `db.query('SELECT * FROM t WHERE id = $1')` against raw better-sqlite3's prepared `.get`.
 * SPEC 12: ≥ 0.8× raw better-sqlite3.
 *
 * PGlite (bench/pglite.ts) answers the same lookups with `db.query(…, [key])` on the same table; it is
 * slower per call, so it gets the first part of the key sequence. Every answer is checked: the row's
 * id and name must be the key's.
 */
import * as path from 'node:path'
import Database from 'better-sqlite3'
import { open } from '../../src/index.js'
import { copyRowsIntoPglite, describePgliteDurability, openPglite } from '../pglite.js'
import type { Measurement } from '../report.js'
import {
  insertRowsBatched,
  nowMs,
  perSecond,
  scaledCount,
  SeededRandom,
  withTemporaryDirectory,
  type Suite,
  type SuiteContext,
} from '../support.js'

function* rows(rowCount: number): Generator<[number, string, number]> {
  for (let id = 1; id <= rowCount; id += 1) yield [id, `name-${id}`, id * 1.5]
}

function randomKeys(seed: number, keyCount: number, rowCount: number): Int32Array {
  const random = new SeededRandom(seed)
  const keys = new Int32Array(keyCount)
  for (let index = 0; index < keyCount; index += 1) keys[index] = random.integer(1, rowCount)
  return keys
}

interface LookupResult {
  readonly lookupsPerSecond: number
  readonly misses: number
}

function baselineLookups(directory: string, rowCount: number, keys: Int32Array, warmupKeys: Int32Array): LookupResult {
  const database = new Database(path.join(directory, 'baseline.sqlite'))
  try {
    database.pragma('journal_mode = WAL')
    database.pragma('synchronous = FULL')
    database.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, amount REAL NOT NULL)')
    const insert = database.prepare('INSERT INTO t VALUES (?, ?, ?)')
    database.transaction(() => {
      for (const row of rows(rowCount)) insert.run(...row)
    })()
    const select = database.prepare('SELECT * FROM t WHERE id = ?')
    for (const key of warmupKeys) select.get(key)
    let misses = 0
    const startMs = nowMs()
    for (const key of keys) {
      const row = select.get(key) as { id: number } | undefined
      if (row?.id !== key) misses += 1
    }
    return { lookupsPerSecond: perSecond(keys.length, nowMs() - startMs), misses }
  } finally {
    database.close()
  }
}

async function strataLookups(
  directory: string,
  rowCount: number,
  keys: Int32Array,
  warmupKeys: Int32Array,
): Promise<LookupResult & { readonly engines: string[] }> {
  const db = await open(path.join(directory, 'strata'))
  try {
    await db.query('CREATE TABLE t (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, amount DOUBLE NOT NULL)')
    await db.transaction((transaction) => insertRowsBatched(transaction, { table: 't', rows: rows(rowCount) }))
    for (const key of warmupKeys) await db.query('SELECT * FROM t WHERE id = $1', [key])
    const engines = new Set<string>()
    let misses = 0
    const startMs = nowMs()
    for (const key of keys) {
      const result = await db.query('SELECT * FROM t WHERE id = $1', [key])
      if (result.rows[0]?.['id'] !== key) misses += 1
      engines.add(result.engine)
    }
    return { lookupsPerSecond: perSecond(keys.length, nowMs() - startMs), misses, engines: [...engines] }
  } finally {
    await db.close()
  }
}

async function pgliteLookups(directory: string, rowCount: number, keys: Int32Array, warmupKeys: Int32Array): Promise<LookupResult & { readonly label: string; readonly durability: string }> {
  const peer = await openPglite(path.join(directory, 'pglite'))
  try {
    await peer.db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, amount DOUBLE PRECISION NOT NULL)')
    await copyRowsIntoPglite(peer.db, 't', rows(rowCount))
    // No autovacuum in PGlite: without statistics the planner could still pick the primary key, but a
    // PostgreSQL user would have them.
    await peer.db.exec('ANALYZE t')
    const sql = 'SELECT * FROM t WHERE id = $1'
    for (const key of warmupKeys) await peer.db.query(sql, [key])
    let misses = 0
    const startMs = nowMs()
    for (const key of keys) {
      const row = (await peer.db.query<{ id: number; name: string }>(sql, [key])).rows[0]
      if (row?.id !== key || row.name !== `name-${key}`) misses += 1
    }
    return { lookupsPerSecond: perSecond(keys.length, nowMs() - startMs), misses, label: peer.label, durability: describePgliteDurability(peer.durability) }
  } finally {
    await peer.close()
  }
}

export const pointReadSuite: Suite = {
  name: 'point-read',
  description: 'SELECT * FROM t WHERE id = $1 on a 100K-row table, random keys',
  async run(context: SuiteContext): Promise<Measurement[]> {
    const rowCount = scaledCount(context, 100_000, 1_000)
    const lookupCount = scaledCount(context, 100_000, 1_000)
    const keys = randomKeys(context.seed, lookupCount, rowCount)
    const warmupKeys = randomKeys(context.seed + 1, Math.min(2_000, lookupCount), rowCount)
    return withTemporaryDirectory('point-read', async (directory) => {
      context.log(`${lookupCount} lookups on ${rowCount} rows in raw better-sqlite3`)
      const baseline = baselineLookups(directory, rowCount, keys, warmupKeys)
      context.log(`${lookupCount} lookups on ${rowCount} rows in Strata`)
      const strata = await strataLookups(directory, rowCount, keys, warmupKeys)
      const pgliteKeys = keys.subarray(0, Math.min(keys.length, scaledCount(context, 5_000, 500)))
      context.log(`${pgliteKeys.length} lookups on ${rowCount} rows in PGlite`)
      const pglite = await pgliteLookups(directory, rowCount, pgliteKeys, warmupKeys.subarray(0, 500))
      // Every key exists, so a miss is a wrong answer, not a slow one: the number would be meaningless.
      if (baseline.misses > 0 || strata.misses > 0 || pglite.misses > 0) {
        throw new Error(`point lookups missed existing keys: Strata ${strata.misses}, better-sqlite3 ${baseline.misses}, PGlite ${pglite.misses}`)
      }
      return [
        {
          metric: 'point read by primary key',
          unit: 'ops/s',
          strata: strata.lookupsPerSecond,
          baseline: baseline.lookupsPerSecond,
          baselineName: 'better-sqlite3',
          target: { kind: 'ratioAtLeast', value: 0.8 },
          // SPEC 5 routes a single-table lookup to the row store; 'column' here would be a routing bug.
          details: { rowCount, lookupCount, strataEngines: strata.engines },
        },
        {
          metric: 'point read by primary key',
          unit: 'ops/s',
          strata: strata.lookupsPerSecond,
          baseline: pglite.lookupsPerSecond,
          baselineName: pglite.label,
          details: { rowCount, strataLookupCount: lookupCount, pgliteLookupCount: pgliteKeys.length, pgliteDurability: pglite.durability },
        },
      ]
    })
  },
}
