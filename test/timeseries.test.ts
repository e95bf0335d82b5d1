/**
 * Time series (SPEC 7): time_bucket, first/last(v, ts) and gap filling give the same rows and JS types
 * on the row store (forced), the column store, and a brute-force model written here in plain JS.
 * The readings are generated from a printed seed, with gaps (whole days without data), NULL values,
 * and a few timestamps before 2000 and before 1970 so that bucketing rounds down across the origins.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { open, type Database, type QueryResult } from '../src/index.js'
import { seededRandom } from './helpers.js'

const seed = Number(process.env['STRATA_TEST_SEED'] ?? 20240101)

interface Reading {
  readonly id: number
  readonly ts: Date | null
  readonly dev: string | null
  readonly v: number | null
  readonly n: number
  readonly day: string | null
}

let db: Database
const readings: Reading[] = []

function dateText(date: Date): string {
  return date.toISOString().slice(0, 10)
}

before(async () => {
  process.stderr.write(`timeseries.test seed ${seed} (set STRATA_TEST_SEED to repeat)\n`)
  const next = seededRandom(seed)
  const start = Date.UTC(2023, 11, 20)
  let id = 0
  const push = (ts: Date | null, dev: string | null, v: number | null): void => {
    id++
    readings.push({ id, ts, dev, v, n: Math.floor(next() * 100) - 20, day: ts === null ? null : dateText(ts) })
  }
  for (let step = 0; step < 700; step++) {
    // About 80 days of readings every few hours, with whole days (and one week) missing.
    const ms = start + Math.floor(next() * 80 * 24) * 3_600_000 + Math.floor(next() * 3_600_000) + Math.floor(next() * 1000) * 1000
    const dayIndex = Math.floor((ms - start) / 86_400_000)
    if (dayIndex % 9 === 4 || (dayIndex >= 30 && dayIndex < 37)) continue
    const dev = ['a', 'b', 'c'][Math.floor(next() * 3)]!
    // Multiples of 1/4: sums and averages are exact doubles on both stores.
    const v = next() < 0.1 ? null : Math.round(next() * 400) / 4 - 20
    push(new Date(ms), dev, v)
  }
  push(new Date(Date.UTC(1999, 11, 31, 23, 59, 59)), 'a', 1.5)
  push(new Date(Date.UTC(1969, 11, 31, 23, 0, 0)), 'b', -2)
  push(new Date(Date.UTC(1950, 5, 15, 12, 0, 0)), 'c', 3)
  push(null, 'a', 7)
  push(new Date(Date.UTC(2024, 0, 10, 12)), null, 4.25)
  db = await open()
  await db.exec('CREATE TABLE readings (id INTEGER PRIMARY KEY, ts TIMESTAMP, dev TEXT, v DOUBLE, n INTEGER, day DATE, tz TIMESTAMPTZ)')
  for (let index = 0; index < readings.length; index += 100) {
    const chunk = readings.slice(index, index + 100)
    const values = chunk.map((_, row) => `(${[1, 2, 3, 4, 5, 6, 7].map((column) => `$${row * 7 + column}`).join(', ')})`).join(', ')
    await db.query(`INSERT INTO readings VALUES ${values}`, chunk.flatMap((r) => [r.id, r.ts, r.dev, r.v, r.n, r.day, r.ts]))
  }
})

after(async () => {
  await db.close()
})

// ───────────────────────────── the model ─────────────────────────────

const microsPerDay = 86_400_000_000n
const originMicros = BigInt(Date.UTC(2000, 0, 3)) * 1000n

function floorDivide(a: bigint, b: bigint): bigint {
  const q = a / b
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q
}

interface Width {
  readonly micros?: bigint
  readonly months?: number
}

/** DuckDB's time_bucket, written from its documentation: origin 2000-01-03 (µs widths) or 2000-01 (months). */
function bucketOf(ts: Date, width: Width, options: { origin?: Date; offsetMicros?: bigint } = {}): Date {
  const offset = options.offsetMicros ?? 0n
  const micros = BigInt(ts.getTime()) * 1000n - offset
  if (width.months !== undefined) {
    const shifted = new Date(Number(micros / 1000n))
    const months = (shifted.getUTCFullYear() - 1970) * 12 + shifted.getUTCMonth()
    const origin = options.origin === undefined ? 360 : (options.origin.getUTCFullYear() - 1970) * 12 + options.origin.getUTCMonth()
    const bucket = origin + Math.floor((months - origin) / width.months) * width.months
    const result = new Date(0)
    result.setUTCFullYear(1970 + Math.floor(bucket / 12), ((bucket % 12) + 12) % 12, 1)
    return new Date(result.getTime() + Number(offset / 1000n))
  }
  const origin = options.origin === undefined ? originMicros : BigInt(options.origin.getTime()) * 1000n
  const bucket = origin + floorDivide(micros - origin, width.micros!) * width.micros! + offset
  return new Date(Number(bucket / 1000n))
}

interface Group {
  readonly bucket: Date | null
  readonly dev: string | null
  readonly rows: Reading[]
}

function groupRows(rows: readonly Reading[], key: (reading: Reading) => Date | null): Group[] {
  const groups = new Map<string, Group>()
  for (const reading of rows) {
    const bucket = key(reading)
    const id = `${bucket?.getTime() ?? 'null'}|${reading.dev ?? 'null'}`
    let group = groups.get(id)
    if (group === undefined) {
      group = { bucket, dev: reading.dev, rows: [] }
      groups.set(id, group)
    }
    group.rows.push(reading)
  }
  // ORDER BY bucket, dev — NULLs last, as DuckDB.
  const order = (left: Group, right: Group): number => {
    if (left.bucket?.getTime() !== right.bucket?.getTime()) {
      if (left.bucket === null) return 1
      if (right.bucket === null) return -1
      return left.bucket.getTime() - right.bucket.getTime()
    }
    if (left.dev === right.dev) return 0
    if (left.dev === null) return 1
    if (right.dev === null) return -1
    return left.dev < right.dev ? -1 : 1
  }
  return [...groups.values()].sort(order)
}

function aggregates(rows: readonly Reading[]): Record<string, unknown> {
  const values = rows.filter((r) => r.v !== null).map((r) => r.v!)
  const timed = rows.filter((r) => r.v !== null && r.ts !== null).sort((a, b) => a.ts!.getTime() - b.ts!.getTime())
  return {
    n: rows.length,
    nv: values.length,
    total: rows.reduce((sum, r) => sum + r.n, 0),
    mean: values.length === 0 ? null : values.reduce((sum, v) => sum + v, 0) / values.length,
    low: values.length === 0 ? null : Math.min(...values),
    high: values.length === 0 ? null : Math.max(...values),
    open: timed[0]?.v ?? null,
    close: timed[timed.length - 1]?.v ?? null,
  }
}

// ───────────────────────────── helpers ─────────────────────────────

async function bothStores(sql: string, params: readonly unknown[] = []): Promise<QueryResult> {
  const row = await db.query(sql, params, { engine: 'row' })
  const column = await db.query(sql, params, { engine: 'column' })
  assert.equal(row.engine, 'row')
  assert.equal(column.engine, 'column')
  assert.deepEqual(row.columns, column.columns, `column names and types: ${sql}`)
  assert.deepEqual(row.rows, column.rows, `rows: ${sql}`)
  return column
}

async function rejectedOnBoth(sql: string, code: string, rowCode = code): Promise<void> {
  await assert.rejects(db.query(sql, [], { engine: 'column' }), (error: { code?: string }) => error.code === code, `column store, ${code}: ${sql}`)
  await assert.rejects(db.query(sql, [], { engine: 'row' }), (error: { code?: string }) => error.code === rowCode, `row store, ${rowCode}: ${sql}`)
}

const widths: readonly { readonly sql: string; readonly width: Width }[] = [
  { sql: "INTERVAL '90 seconds'", width: { micros: 90_000_000n } },
  { sql: "INTERVAL '5 minutes'", width: { micros: 300_000_000n } },
  { sql: "'1 hour 30 minutes'", width: { micros: 5_400_000_000n } },
  { sql: "INTERVAL '7' HOUR", width: { micros: 7n * 3_600_000_000n } },
  { sql: "INTERVAL '1 day'", width: { micros: microsPerDay } },
  { sql: "INTERVAL '1 week'", width: { micros: 7n * microsPerDay } },
  { sql: "'10 days'::interval", width: { micros: 10n * microsPerDay } },
  { sql: "INTERVAL '1 month'", width: { months: 1 } },
  { sql: "INTERVAL '5 months'", width: { months: 5 } },
  { sql: "INTERVAL '1 year'", width: { months: 12 } },
]

describe('time_bucket, first and last: row store = column store = model', () => {
  for (const { sql: widthSql, width } of widths) {
    test(`time_bucket(${widthSql}, ts) with every aggregate`, async () => {
      const sql = `SELECT time_bucket(${widthSql}, ts) AS bucket, dev, count(*) AS n, count(v) AS nv, sum(n) AS total, avg(v) AS mean,
        min(v) AS low, max(v) AS high, first(v, ts) AS open, last(v, ts) AS close
        FROM readings GROUP BY bucket, dev ORDER BY bucket, dev`
      const result = await bothStores(sql)
      const expected = groupRows(readings, (r) => (r.ts === null ? null : bucketOf(r.ts, width))).map((group) => ({ bucket: group.bucket, dev: group.dev, ...aggregates(group.rows) }))
      assert.deepEqual(result.rows, expected)
      assert.deepEqual(result.columns.map((c) => c.type), ['TIMESTAMP', 'VARCHAR', 'BIGINT', 'BIGINT', 'HUGEINT', 'DOUBLE', 'DOUBLE', 'DOUBLE', 'DOUBLE', 'DOUBLE'])
    })
  }

  test('origin and offset arguments', async () => {
    const cases: readonly [string, Width, { origin?: Date; offsetMicros?: bigint }][] = [
      ["INTERVAL '1 hour', ts, INTERVAL '15 minutes'", { micros: 3_600_000_000n }, { offsetMicros: 900_000_000n }],
      ["INTERVAL '1 day', ts, TIMESTAMP '2024-01-01 06:00:00'", { micros: microsPerDay }, { origin: new Date(Date.UTC(2024, 0, 1, 6)) }],
      ["INTERVAL '2 months', ts, TIMESTAMP '2000-02-15'", { months: 2 }, { origin: new Date(Date.UTC(2000, 1, 15)) }],
      ["INTERVAL '3 months', ts, INTERVAL '2 days'", { months: 3 }, { offsetMicros: 2n * microsPerDay }],
    ]
    for (const [args, width, options] of cases) {
      const result = await bothStores(`SELECT time_bucket(${args}) AS bucket, count(*) AS n FROM readings WHERE ts IS NOT NULL GROUP BY bucket ORDER BY bucket`)
      const expected = groupRows(
        readings.filter((r) => r.ts !== null).map((r) => ({ ...r, dev: null })),
        (r) => bucketOf(r.ts!, width, options),
      ).map((group) => ({ bucket: group.bucket, n: group.rows.length }))
      assert.deepEqual(result.rows, expected, args)
    }
  })

  test('unaliased columns are named alike on both stores', async () => {
    const result = await bothStores(`SELECT time_bucket(INTERVAL '1 day', ts), count(*), sum(n), first(v, ts), last(v, ts), min(ts) FROM readings GROUP BY 1 ORDER BY 1`)
    assert.deepEqual(result.columns.map((c) => c.name), ["time_bucket(CAST('1 day' AS INTERVAL), ts)", 'count_star()', 'sum(n)', 'first(v, ts)', 'last(v, ts)', 'min(ts)'])
  })

  test('DATE and TIMESTAMPTZ columns bucket as DuckDB does', async () => {
    const dates = await bothStores(`SELECT time_bucket(INTERVAL '1 week', day) AS week, count(*) AS n, last(v, day) AS latest FROM readings GROUP BY week ORDER BY week`)
    assert.equal(dates.columns[0]!.type, 'DATE')
    assert.equal(typeof dates.rows[0]!['week'], 'string')
    const zoned = await bothStores(`SELECT time_bucket(INTERVAL '1 day', tz) AS d, first(n, tz) AS first_n FROM readings GROUP BY d ORDER BY d`)
    assert.equal(zoned.columns[0]!.type, 'TIMESTAMPTZ')
    const plain = await db.query(`SELECT time_bucket(INTERVAL '1 day', ts) AS d, first(n, ts) AS first_n FROM readings GROUP BY d ORDER BY d`, [], { engine: 'row' })
    assert.deepEqual(zoned.rows.map((r) => [r['d'], r['first_n']]), plain.rows.map((r) => [r['d'], r['first_n']]))
  })

  test('aggregates without GROUP BY, WHERE, parameters, ORDER BY an aggregate', async () => {
    await bothStores('SELECT count(*), sum(n), first(v, ts) AS f, last(dev, ts) AS l FROM readings WHERE ts >= $1', [new Date(Date.UTC(2024, 0, 15))])
    await bothStores('SELECT count(*) AS n FROM readings WHERE id < 0')
    await bothStores('SELECT dev, count(*) AS n FROM readings GROUP BY dev ORDER BY n DESC, dev LIMIT 2')
  })

  test('with time travel and inside a transaction (own writes included)', async () => {
    await db.exec("CREATE TABLE ticks (id INTEGER PRIMARY KEY, ts TIMESTAMP, v DOUBLE); INSERT INTO ticks VALUES (1, '2024-01-01 00:01', 1), (2, '2024-01-01 00:09', 2)")
    const before = (await db.query('SELECT max(tx_id) AS tx FROM strata.transactions')).rows[0]!['tx'] as number
    await db.query('UPDATE ticks SET v = 5 WHERE id = 2')
    const past = await db.query(`SELECT first(v, ts), last(v, ts) FROM ticks FOR SYSTEM_TIME AS OF ${before}`)
    assert.deepEqual(past.rows, [{ 'first(v, ts)': 1, 'last(v, ts)': 2 }])
    const filled = await db.query(`SELECT time_bucket_gapfill(INTERVAL '5 minutes', ts) AS b, locf(last(v, ts)) AS l FROM ticks FOR SYSTEM_TIME AS OF ${before}
      WHERE ts >= '2024-01-01' AND ts < '2024-01-01 00:15' GROUP BY b`)
    assert.deepEqual(filled.rows.map((r) => r['l']), [1, 2, 2])
    await db.transaction(async (tx) => {
      await tx.query("INSERT INTO ticks VALUES (3, '2024-01-01 00:14', 9)")
      for (const engine of ['row', 'column'] as const) {
        const { rows } = await tx.query(`SELECT time_bucket(INTERVAL '5 minutes', ts) AS b, last(v, ts) AS l FROM ticks GROUP BY b ORDER BY b`, [], { engine })
        assert.deepEqual(rows.map((r) => r['l']), [1, 5, 9], engine)
      }
    })
  })

  test('routing is unchanged: aggregates still go to the column store by default', async () => {
    const result = await db.query(`SELECT time_bucket(INTERVAL '1 hour', ts) AS h, last(v, ts) FROM readings GROUP BY h`)
    assert.equal(result.engine, 'column')
  })
})

describe('time_bucket_gapfill: one row per bucket, on both stores', () => {
  const from = new Date(Date.UTC(2024, 0, 10))
  const to = new Date(Date.UTC(2024, 1, 20))

  function gapfilled(width: Width, start: Date, finish: Date, inclusive: boolean): Record<string, unknown>[] {
    const inRange = readings.filter((r) => r.ts !== null && r.ts >= start && (inclusive ? r.ts <= finish : r.ts < finish))
    const devices = [...new Set(inRange.map((r) => r.dev))].sort((a, b) => (a === null ? 1 : b === null ? -1 : a < b ? -1 : a > b ? 1 : 0))
    const rows: Record<string, unknown>[] = []
    for (const dev of devices) {
      let carried: number | null = null
      for (let bucket = bucketOf(start, width); inclusive ? bucket <= finish : bucket < finish; bucket = new Date(bucket.getTime() + Number(width.micros! / 1000n))) {
        const end = bucket.getTime() + Number(width.micros! / 1000n)
        const inBucket = inRange.filter((r) => r.dev === dev && r.ts!.getTime() >= bucket.getTime() && r.ts!.getTime() < end)
        const { n, mean, close } = aggregates(inBucket)
        if (close !== null) carried = close as number
        rows.push({ bucket_day: bucket, dev, n: inBucket.length === 0 ? null : n, mean, carried })
      }
    }
    return rows
  }

  test('bounds from WHERE (parameters), locf per device', async () => {
    const sql = `SELECT time_bucket_gapfill(INTERVAL '1 day', ts) AS bucket_day, dev, count(*) AS n, avg(v) AS mean, locf(last(v, ts)) AS carried
      FROM readings WHERE ts >= $1 AND ts < $2 GROUP BY bucket_day, dev`
    const result = await bothStores(sql, [from, to])
    assert.deepEqual(result.rows, gapfilled({ micros: microsPerDay }, from, to, false))
    assert.ok(result.rows.some((r) => r['n'] === null), 'the data has gaps, so some buckets are empty')
  })

  test('bounds as arguments; BETWEEN is inclusive', async () => {
    const args = await bothStores(`SELECT time_bucket_gapfill(INTERVAL '1 day', ts, TIMESTAMP '2024-01-10', TIMESTAMP '2024-02-20') AS bucket_day, dev, count(*) AS n, avg(v) AS mean, locf(last(v, ts)) AS carried
      FROM readings WHERE ts >= '2024-01-10' AND ts < '2024-02-20' GROUP BY bucket_day, dev`)
    assert.deepEqual(args.rows, gapfilled({ micros: microsPerDay }, from, to, false))
    const between = await bothStores(`SELECT time_bucket_gapfill(INTERVAL '1 day', ts) AS bucket_day, dev, count(*) AS n, avg(v) AS mean, locf(last(v, ts)) AS carried
      FROM readings WHERE ts BETWEEN '2024-01-10' AND '2024-02-20' GROUP BY bucket_day, dev`)
    assert.deepEqual(between.rows, gapfilled({ micros: microsPerDay }, from, to, true))
  })

  test('without other group columns, with ORDER BY, and month buckets', async () => {
    const single = await bothStores(`SELECT time_bucket_gapfill(INTERVAL '6 hours', ts) AS h, count(*) AS n, locf(max(v)) AS m FROM readings
      WHERE ts >= '2024-01-19' AND ts < '2024-01-28' GROUP BY h ORDER BY h DESC`)
    assert.equal(single.rowCount, 36)
    assert.ok((single.rows[0]!['h'] as Date) > (single.rows[35]!['h'] as Date))
    const months = await bothStores(`SELECT time_bucket_gapfill(INTERVAL '1 month', ts) AS month, count(*) AS n FROM readings
      WHERE ts >= '2023-10-01' AND ts < '2024-06-01' GROUP BY month`)
    assert.deepEqual(months.rows.map((r) => (r['month'] as Date).toISOString().slice(0, 7)), ['2023-10', '2023-11', '2023-12', '2024-01', '2024-02', '2024-03', '2024-04', '2024-05'])
    assert.equal(months.rows[0]!['n'], null)
  })
})

describe('time-series errors', () => {
  test('bucket widths DuckDB refuses are refused on both stores with its codes', async () => {
    await rejectedOnBoth("SELECT time_bucket(INTERVAL '0 minutes', ts) AS b FROM readings", 'NOT_SUPPORTED')
    await rejectedOnBoth("SELECT time_bucket(INTERVAL '1 month 2 days', ts) AS b FROM readings", 'NOT_SUPPORTED')
    await rejectedOnBoth("SELECT time_bucket(INTERVAL '1.5 months', ts) AS b FROM readings", 'NOT_SUPPORTED')
  })

  test('an interval the row store does not parse is NOT_SUPPORTED there, naming it', async () => {
    await assert.rejects(db.query("SELECT time_bucket(INTERVAL '2 minutes ago', ts) AS b FROM readings", [], { engine: 'row' }), (error: { code?: string; message?: string }) => error.code === 'NOT_SUPPORTED' && /2 minutes ago/.test(error.message ?? ''))
  })

  test('wrong argument types', async () => {
    await rejectedOnBoth("SELECT time_bucket(INTERVAL '5 minutes', n) AS b FROM readings", 'TYPE_MISMATCH')
    await rejectedOnBoth('SELECT time_bucket(5, ts) AS b FROM readings', 'TYPE_MISMATCH')
    await rejectedOnBoth('SELECT sum(dev) AS s FROM readings', 'TYPE_MISMATCH')
    await assert.rejects(db.query('SELECT first(v) AS f FROM readings', [], { engine: 'row' }), { code: 'NOT_SUPPORTED' })
    await assert.rejects(db.query('SELECT sum(n), dev, v FROM readings GROUP BY dev', [], { engine: 'row' }), { code: 'NOT_SUPPORTED' })
  })

  test('gap filling needs a range, a top-level grouped query, and no LIMIT', async () => {
    await rejectedOnBoth('SELECT time_bucket_gapfill(INTERVAL \'1 day\', ts) AS d, count(*) FROM readings GROUP BY d', 'NOT_SUPPORTED')
    await rejectedOnBoth("SELECT time_bucket_gapfill(INTERVAL '1 day', ts) AS d, count(*) FROM readings WHERE ts >= '2024-01-01' AND ts < '2024-02-01' GROUP BY d LIMIT 3", 'NOT_SUPPORTED')
    await rejectedOnBoth('SELECT locf(max(v)) FROM readings', 'NOT_SUPPORTED')
    await rejectedOnBoth("SELECT count(*) FROM (SELECT time_bucket_gapfill(INTERVAL '1 day', ts) AS d FROM readings WHERE ts >= '2024-01-01' AND ts < '2024-02-01' GROUP BY d) AS g", 'NOT_SUPPORTED')
  })
})
