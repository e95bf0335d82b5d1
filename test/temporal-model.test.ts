/**
 * Model-based test of the time model (SPEC 6, docs/time-model.md): random sequences of inserts,
 * updates, deletes, portion updates and deletes, and erasures, from a printed seed; after each step
 * every temporal query form is compared, on both stores, with a brute-force model of bitemporal
 * rectangles. Reproduce a failure with STRATA_MODEL_SEED=<seed>.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { open, StrataError, type Database } from '../src/index.js'
import { seededRandom } from './helpers.js'

/** One version: a value of a key over a system period and a valid period (null = open end). */
interface Rectangle {
  readonly id: number
  readonly v: number
  readonly systemFrom: bigint
  systemTo: bigint | null
  readonly validFrom: bigint
  readonly validTo: bigint | null
}

const second = 1_000_000n
const base = BigInt(Date.UTC(2024, 0, 1)) * 1000n

const lessThan = (left: bigint, right: bigint | null): boolean => right === null || left < right

class Model {
  rectangles: Rectangle[] = []

  current(id: number): Rectangle[] {
    return this.rectangles.filter((rectangle) => rectangle.id === id && rectangle.systemTo === null)
  }

  insert(id: number, v: number, at: bigint, validFrom: bigint | undefined, validTo: bigint | null): boolean {
    const from = validFrom ?? at
    if (validTo !== null && from >= validTo) return false
    if (this.current(id).some((rectangle) => lessThan(rectangle.validFrom, validTo) && lessThan(from, rectangle.validTo))) return false
    this.rectangles.push({ id, v, systemFrom: at, systemTo: null, validFrom: from, validTo })
    return true
  }

  /** UPDATE (v defined) or DELETE of key `id` over the valid period [from, to). */
  portion(id: number, v: number | undefined, at: bigint, from: bigint, to: bigint | null): number {
    let count = 0
    for (const rectangle of this.current(id)) {
      if (!(lessThan(rectangle.validFrom, to) && lessThan(from, rectangle.validTo))) continue
      count++
      rectangle.systemTo = at
      const keep = (validFrom: bigint, validTo: bigint | null, value: number): void => {
        if (validTo === null || validFrom < validTo) this.rectangles.push({ id, v: value, systemFrom: at, systemTo: null, validFrom, validTo })
      }
      if (rectangle.validFrom < from) keep(rectangle.validFrom, from, rectangle.v)
      if (to !== null && lessThan(to, rectangle.validTo)) keep(to, rectangle.validTo, rectangle.v)
      if (v !== undefined) {
        const start = rectangle.validFrom > from ? rectangle.validFrom : from
        const end = rectangle.validTo === null ? to : to === null ? rectangle.validTo : rectangle.validTo < to ? rectangle.validTo : to
        keep(start, end, v)
      }
    }
    return count
  }

  erase(id: number): void {
    this.rectangles = this.rectangles.filter((rectangle) => rectangle.id !== id)
  }
}

type Period = { kind: 'asOf'; at: bigint } | { kind: 'fromTo' | 'between'; from: bigint; to: bigint } | { kind: 'all' } | undefined

function matches(period: Period, from: bigint, to: bigint | null, fallback: bigint | 'current'): boolean {
  if (period === undefined) {
    if (fallback === 'current') return to === null
    return from <= fallback && lessThan(fallback, to)
  }
  switch (period.kind) {
    case 'asOf':
      return from <= period.at && lessThan(period.at, to)
    case 'fromTo':
      return period.from < period.to && from < period.to && lessThan(period.from, to)
    case 'between':
      return period.from <= period.to && from <= period.to && lessThan(period.from, to)
    case 'all':
      return true
  }
}

function clause(axis: string, period: Period, params: unknown[]): string {
  if (period === undefined) return ''
  const bind = (value: bigint): string => {
    params.push(new Date(Number(value / 1000n)))
    return `$${params.length}`
  }
  switch (period.kind) {
    case 'asOf':
      return ` FOR ${axis} AS OF ${bind(period.at)}`
    case 'fromTo':
      return ` FOR ${axis} FROM ${bind(period.from)} TO ${bind(period.to)}`
    case 'between':
      return ` FOR ${axis} BETWEEN ${bind(period.from)} AND ${bind(period.to)}`
    case 'all':
      return ` FOR ${axis} ALL`
  }
}

function key(row: { id: unknown; v: unknown; sf: unknown; st: unknown; vf: unknown; vt: unknown }): string {
  const time = (value: unknown): string => (value === null ? '∞' : (value as Date).toISOString())
  return `${String(row.id)}:${String(row.v)} sys[${time(row.sf)},${time(row.st)}) valid[${time(row.vf)},${time(row.vt)})`
}

function toDate(us: bigint | null): Date | null {
  return us === null ? null : new Date(Number(us / 1000n))
}

async function runSequence(seed: number, steps: number): Promise<void> {
  const next = seededRandom(seed)
  let now = base
  await using db: Database = await open(':memory:', { clock: () => now })
  await db.query('CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)')
  const model = new Model()
  const systemTimes: bigint[] = [now]
  // Valid times around the run: some before, during and after the system times of the writes.
  const validTime = (): bigint => base + BigInt(Math.floor(next() * 40) - 10) * 5n * second
  const context = (what: string): string => `seed ${seed}, ${what}`
  for (let step = 0; step < steps; step++) {
    now += 10n * second
    const id = 1 + Math.floor(next() * 4)
    const v = Math.floor(next() * 1000)
    const choice = next()
    let sql: string
    let params: unknown[]
    let expectOk = true
    let expectedCount: number | undefined
    if (choice < 0.3) {
      const explicit = next() < 0.6
      const from = explicit ? validTime() : undefined
      const to = explicit && next() < 0.6 ? validTime() : null
      if (explicit) {
        sql = to === null ? 'INSERT INTO t (id, v, _valid_from) VALUES ($1, $2, $3)' : 'INSERT INTO t (id, v, _valid_from, _valid_to) VALUES ($1, $2, $3, $4)'
        params = to === null ? [id, v, toDate(from!)] : [id, v, toDate(from!), toDate(to)]
      } else {
        sql = 'INSERT INTO t (id, v) VALUES ($1, $2)'
        params = [id, v]
      }
      expectOk = model.insert(id, v, now, from, to)
    } else if (choice < 0.5) {
      sql = 'UPDATE t SET v = $1 WHERE id = $2'
      params = [v, id]
      expectedCount = model.portion(id, v, now, now, null)
    } else if (choice < 0.65) {
      const a = validTime()
      const b = a + BigInt(1 + Math.floor(next() * 8)) * 5n * second
      sql = 'UPDATE t FOR PORTION OF VALID_TIME FROM $1 TO $2 SET v = $3 WHERE id = $4'
      params = [toDate(a), toDate(b), v, id]
      expectedCount = model.portion(id, v, now, a, b)
    } else if (choice < 0.75) {
      sql = 'DELETE FROM t WHERE id = $1'
      params = [id]
      expectedCount = model.portion(id, undefined, now, now, null)
    } else if (choice < 0.9) {
      const a = validTime()
      const b = a + BigInt(1 + Math.floor(next() * 8)) * 5n * second
      sql = 'DELETE FROM t FOR PORTION OF VALID_TIME FROM $1 TO $2 WHERE id = $3'
      params = [toDate(a), toDate(b), id]
      expectedCount = model.portion(id, undefined, now, a, b)
    } else {
      sql = 'ERASE FROM t WHERE id = $1'
      params = [id]
      model.erase(id)
    }
    const what = context(`step ${step}: ${sql} ${JSON.stringify(params)}`)
    if (expectOk) {
      const result = await db.query(sql, params)
      if (expectedCount !== undefined && result.rowCount !== expectedCount) {
        const pieces = await db.query('SELECT id, v, _system_from AS sf, _system_to AS st, _valid_from AS vf, _valid_to AS vt FROM t FOR SYSTEM_TIME ALL FOR VALID_TIME ALL WHERE id = $1', [id])
        const modelPieces = model.rectangles.filter((rectangle) => rectangle.id === id).map((r) => key({ id: r.id, v: r.v, sf: toDate(r.systemFrom), st: toDate(r.systemTo), vf: toDate(r.validFrom), vt: toDate(r.validTo) }))
        assert.fail(`${what}: ${result.rowCount} rows changed, the model says ${expectedCount}\n  engine: ${pieces.rows.map((row) => key(row as never)).sort().join('\n          ')}\n  model:  ${modelPieces.sort().join('\n          ')}`)
      }
    } else {
      await assert.rejects(db.query(sql, params), (error: unknown) => error instanceof StrataError && error.code === 'CONSTRAINT_VIOLATION', what)
    }
    systemTimes.push(now)
    if (step % 3 === 2 || step === steps - 1) await compareAll(db, model, systemTimes, now, next, validTime, what)
  }
}

async function compareAll(db: Database, model: Model, systemTimes: readonly bigint[], now: bigint, next: () => number, validTime: () => bigint, what: string): Promise<void> {
  const systemTime = (): bigint => {
    const at = systemTimes[Math.floor(next() * systemTimes.length)]!
    return next() < 0.3 ? at + 5n * second : at
  }
  const period = (time: () => bigint): Period => {
    const choice = next()
    if (choice < 0.15) return undefined
    if (choice < 0.5) return { kind: 'asOf', at: time() }
    if (choice < 0.85) {
      const a = time()
      const b = time()
      return { kind: next() < 0.5 ? 'fromTo' : 'between', from: a, to: b }
    }
    return { kind: 'all' }
  }
  for (let round = 0; round < 4; round++) {
    const system = round === 0 ? undefined : period(systemTime)
    const valid = round === 0 ? undefined : period(validTime)
    const params: unknown[] = []
    const sql = `SELECT id, v, _system_from AS sf, _system_to AS st, _valid_from AS vf, _valid_to AS vt FROM t${clause('SYSTEM_TIME', system, params)}${clause('VALID_TIME', valid, params)}`
    const expected = model.rectangles
      .filter((rectangle) => matches(system, rectangle.systemFrom, rectangle.systemTo, 'current') && matches(valid, rectangle.validFrom, rectangle.validTo, now))
      .map((rectangle) => key({ id: rectangle.id, v: rectangle.v, sf: toDate(rectangle.systemFrom), st: toDate(rectangle.systemTo), vf: toDate(rectangle.validFrom), vt: toDate(rectangle.validTo) }))
      .sort()
    for (const engine of ['row', 'column'] as const) {
      const result = await db.query(sql, params, { engine })
      const actual = result.rows.map((row) => key(row as never)).sort()
      assert.deepEqual(actual, expected, `${what}\n  query (${engine}): ${sql} ${JSON.stringify(params)}`)
    }
    // The same question as an aggregate (column store only) and as the statement shorthand.
    const countParams: unknown[] = []
    const counted = await db.query(`SELECT count(*) AS n FROM t${clause('SYSTEM_TIME', system, countParams)}${clause('VALID_TIME', valid, countParams)}`, countParams)
    assert.equal(counted.rows[0]!['n'], expected.length, `${what}\n  count: ${sql}`)
  }
  const at = systemTime()
  const validAt = validTime()
  const shorthand = await db.query('SELECT id, v FROM t AS OF $1 VALID AT $2', [toDate(at), toDate(validAt)])
  const expected = model.rectangles
    .filter((rectangle) => matches({ kind: 'asOf', at }, rectangle.systemFrom, rectangle.systemTo, 'current') && matches({ kind: 'asOf', at: validAt }, rectangle.validFrom, rectangle.validTo, now))
    .map((rectangle) => `${rectangle.id}:${rectangle.v}`)
    .sort()
  assert.deepEqual(shorthand.rows.map((row) => `${String(row['id'])}:${String(row['v'])}`).sort(), expected, `${what}\n  AS OF … VALID AT …`)
}

describe('time model against a brute-force model of bitemporal rectangles', () => {
  const seeds = process.env['STRATA_MODEL_SEED'] !== undefined ? [Number(process.env['STRATA_MODEL_SEED'])] : [Date.now() % 100_000, 7, 42]
  for (const seed of seeds) {
    test(`random sequence, seed ${seed}`, async () => {
      console.log(`temporal model seed: ${seed} (rerun with STRATA_MODEL_SEED=${seed})`)
      await runSequence(seed, 45)
    })
  }
})
