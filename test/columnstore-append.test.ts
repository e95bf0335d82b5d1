/**
 * The column store's bulk path (src/storage/columnstore/chunks.ts) writes DuckDB's vectors itself:
 * integers as int64 words, short ASCII strings inline in DuckDB's string layout, the rest through
 * DuckDB's own call. Checked against a model: every value appended is read back by DuckDB exactly as
 * it went in, across chunk boundaries, NULLs, the 12-byte inline limit and non-ASCII text.
 */
import * as assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { test } from 'node:test'
import { openColumnStore, type AppendKind, type ColumnSession } from '../src/storage/columnstore/columnstore.js'
import { StrataError } from '../src/util/errors.js'
import { seededRandom } from './helpers.js'

async function withSession(t: { after: (fn: () => Promise<void>) => void }): Promise<ColumnSession> {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-append-'))
  const store = await openColumnStore(path.join(directory, 'mirror.duckdb'))
  t.after(async () => {
    await store.close()
    fs.rmSync(directory, { recursive: true, force: true })
  })
  return store.connect()
}

const pieces = ['a', 'Z', '0', ' ', '-', 'é', '日', '😀', '\u0000', "'", '"', '\\']

function text(next: () => number): string {
  // Lengths around DuckDB's 12-byte inline limit come up often.
  const length = next() < 0.5 ? 10 + Math.floor(next() * 5) : Math.floor(next() * 40)
  const ascii = next() < 0.6
  let result = ''
  for (let index = 0; index < length; index++) {
    result += ascii ? String.fromCharCode(32 + Math.floor(next() * 95)) : pieces[Math.floor(next() * pieces.length)]!
  }
  return result
}

const integerEdges: readonly (number | bigint)[] = [
  0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, -(2 ** 31) - 1, 2 ** 32, -(2 ** 32), Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER,
  2n ** 63n - 1n, -(2n ** 63n), 12345678901234567n, -98765432109876543n,
]

function integer(next: () => number): number | bigint {
  const pick = next()
  if (pick < 0.3) return integerEdges[Math.floor(next() * integerEdges.length)]!
  if (pick < 0.6) return Math.floor((next() - 0.5) * 2000)
  if (pick < 0.8) return Math.floor((next() - 0.5) * 2 * Number.MAX_SAFE_INTEGER)
  return BigInt(Math.floor((next() - 0.5) * 2 ** 52)) * 1024n
}

/** Microseconds since the epoch, before and after 1970, some with sub-millisecond digits. */
function micros(next: () => number): number | bigint {
  const value = Math.floor((next() - 0.3) * 4e15)
  return next() < 0.5 ? value : BigInt(value)
}

function bytes(next: () => number): Uint8Array {
  const result = new Uint8Array(Math.floor(next() * 30))
  for (let index = 0; index < result.length; index++) result[index] = Math.floor(next() * 256)
  return result
}

test('appended rows read back exactly: integers, doubles, booleans, timestamps, text and bytes, with NULLs, over many chunks', async (t) => {
  const session = await withSession(t)
  await session.run('CREATE TABLE a (n INTEGER, s VARCHAR, i BIGINT, d DOUBLE, b BOOLEAN, ts TIMESTAMP, tz TIMESTAMPTZ, x BLOB)')
  const kinds: AppendKind[] = ['bigint', 'varchar', 'bigint', 'double', 'boolean', 'timestamp', 'timestamptz', 'blob']
  const next = seededRandom(11)
  const maybe = <T>(make: () => T): T | null | undefined => (next() < 0.1 ? (next() < 0.5 ? null : undefined) : make())
  const rows: unknown[][] = []
  // More than two of DuckDB's 2048-row vectors, and a part-filled last one.
  for (let n = 0; n < 5000; n++) {
    rows.push([
      n,
      maybe(() => text(next)),
      maybe(() => integer(next)),
      maybe(() => (next() < 0.05 ? [0.1, -1e308, 5e-324, Infinity, -Infinity][Math.floor(next() * 5)]! : (next() - 0.5) * 1e6)),
      maybe(() => [true, false, 1, 0, 1n, 0n][Math.floor(next() * 6)]),
      maybe(() => micros(next)),
      maybe(() => micros(next)),
      maybe(() => bytes(next)),
    ])
  }
  await session.append('main', 'a', kinds, rows)
  const result = await session.run('SELECT n, s, i::VARCHAR AS i, d, b, epoch_us(ts)::VARCHAR AS ts, epoch_us(tz)::VARCHAR AS tz, hex(x) AS x FROM a ORDER BY n')
  assert.equal(result.rows.length, rows.length)
  const absent = (value: unknown): boolean => value === null || value === undefined
  for (let index = 0; index < rows.length; index++) {
    const [n, s, i, d, b, ts, tz, x] = rows[index]!
    const expected = [
      n,
      absent(s) ? null : s,
      absent(i) ? null : String(i),
      absent(d) ? null : d,
      absent(b) ? null : b === true || b === 1 || b === 1n,
      absent(ts) ? null : String(ts),
      absent(tz) ? null : String(tz),
      absent(x) ? null : Buffer.from(x as Uint8Array).toString('hex').toUpperCase(),
    ]
    assert.deepEqual(result.rows[index], expected, `row ${index}`)
  }
})

test('an integer goes into a narrower integer or BOOLEAN column as CAST gives it; one that does not fit is refused with TYPE_MISMATCH', async (t) => {
  const session = await withSession(t)
  await session.run('CREATE TABLE narrow (t TINYINT, s SMALLINT, i INTEGER, b BOOLEAN)')
  const kinds: AppendKind[] = ['bigint', 'bigint', 'bigint', 'bigint']
  await session.append('main', 'narrow', kinds, [[-128, -32768, -(2 ** 31), 0], [127n, 32767n, 2 ** 31 - 1, 2], [null, null, null, 1n], [0, -1, -1, -7]])
  assert.deepEqual((await session.run('SELECT t, s, i, b FROM narrow ORDER BY i NULLS LAST')).rows, [
    [-128, -32768, -(2 ** 31), false],
    [0, -1, -1, true],
    [127, 32767, 2 ** 31 - 1, true],
    [null, null, null, true],
  ])
  const refused = (error: unknown): boolean => error instanceof StrataError && error.code === 'TYPE_MISMATCH'
  await assert.rejects(session.append('main', 'narrow', kinds, [[128, 0, 0, 0]]), refused)
  await assert.rejects(session.append('main', 'narrow', kinds, [[0, -32769n, 0, 0]]), refused)
  await assert.rejects(session.append('main', 'narrow', kinds, [[0, 0, 2 ** 31, 0]]), refused)
  await assert.rejects(session.append('main', 'narrow', kinds, [[0, 0, 1.5, 0]]), refused)
  await session.run('CREATE TABLE wide (i BIGINT)')
  await assert.rejects(session.append('main', 'wide', ['bigint'], [[2n ** 63n]]), refused)
  // Nothing of a refused append arrived; the session still works.
  assert.deepEqual((await session.run('SELECT (SELECT count(*) FROM narrow) AS n, (SELECT count(*) FROM wide) AS w')).rows, [[4, 0]])
})

test('a kind the chunk path does not write into its column type (text into DATE, DECIMAL) is appended value by value, converted as CAST does', async (t) => {
  const session = await withSession(t)
  await session.run('CREATE TABLE other (d DATE, m DECIMAL(18, 3), h HUGEINT)')
  const rows = Array.from({ length: 3000 }, (_, n) => [n % 7 === 0 ? null : `2024-01-${String((n % 28) + 1).padStart(2, '0')}`, `${n}.125`, BigInt(n) * 10n ** 15n])
  await session.append('main', 'other', ['varchar', 'varchar', 'bigint'], rows)
  const result = await session.run("SELECT count(d) AS d, sum(m)::VARCHAR AS m, sum(h)::VARCHAR AS h, strftime(max(d), '%Y-%m-%d') AS last FROM other")
  const expectedM = rows.reduce((sum, row) => sum + BigInt(String(row[1]).replace('.', '')), 0n)
  const expectedH = rows.reduce((sum, row) => sum + (row[2] as bigint), 0n)
  assert.deepEqual(result.rows, [[rows.filter((row) => row[0] !== null).length, `${expectedM / 1000n}.${String(expectedM % 1000n).padStart(3, '0')}`, String(expectedH), '2024-01-28']])
})
