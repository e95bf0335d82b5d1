/**
 * Regressions of issue 9's wrong answers: literals compared in the wider type (never rounded to the
 * column's), DECIMAL exact end to end (storage, CDC, parameters, results, text outputs), and primary
 * keys that refuse NULL. Each query runs on both stores and must give the same, right answer.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { after, before, describe, test } from 'node:test'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Sqlite from 'better-sqlite3'
import { open, StrataError, type Database } from '../src/index.js'
import { toStorage, type SqlType } from '../src/sql/types.js'
import { seededRandom, sortedRows, temporaryDirectory } from './helpers.js'

let db: Database

async function bothStores(sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
  const row = await db.query(sql, params, { engine: 'row' })
  const column = await db.query(sql, params, { engine: 'column' })
  assert.equal(row.engine, 'row', `${sql} ran on the row store`)
  assert.deepEqual(sortedRows(row.rows), sortedRows(column.rows), `${sql}: row store and column store agree`)
  return column.rows
}

async function ids(sql: string): Promise<number[]> {
  return (await bothStores(sql)).map((row) => row['id'] as number).sort((a, b) => a - b)
}

before(async () => {
  db = await open()
  await db.exec(`
    CREATE TABLE n (id INTEGER PRIMARY KEY, i INTEGER, s SMALLINT, d DECIMAL(10,2), e DECIMAL(18,6));
    INSERT INTO n VALUES (1, 2, 2, 1.23, 0.000001), (2, 0, 0, 1.01, 123456789012.123456), (3, 5, -5, -0.13, -1), (4, NULL, NULL, NULL, NULL);
  `)
})

after(async () => {
  await db.close()
})

describe('a literal is compared in the wider type, not coerced to the column', () => {
  test('an INTEGER column against fractional literals', async () => {
    assert.deepEqual(await ids('SELECT id FROM n WHERE i = 1.5'), [])
    assert.deepEqual(await ids('SELECT id FROM n WHERE i > 1.5'), [1, 3])
    assert.deepEqual(await ids('SELECT id FROM n WHERE i <= 1.999'), [2])
    assert.deepEqual(await ids('SELECT id FROM n WHERE i IN (-0.3, 5)'), [3])
    assert.deepEqual(await ids('SELECT id FROM n WHERE i BETWEEN 0.5 AND 2.5'), [1])
    assert.deepEqual(await ids('SELECT id FROM n WHERE s <> 2.0'), [2, 3])
  })

  test('a literal out of the column type range is compared, not refused', async () => {
    assert.deepEqual(await ids('SELECT id FROM n WHERE i < 2147483648'), [1, 2, 3])
    assert.deepEqual(await ids('SELECT id FROM n WHERE s > -40000'), [1, 2, 3])
    assert.deepEqual(await ids('SELECT id FROM n WHERE i = 9223372036854775807'), [])
  })

  test('a DECIMAL column against literals with more digits than its scale', async () => {
    assert.deepEqual(await ids('SELECT id FROM n WHERE d = 1.234'), [])
    assert.deepEqual(await ids('SELECT id FROM n WHERE d = 1.230'), [1])
    assert.deepEqual(await ids('SELECT id FROM n WHERE d > 1.226'), [1])
    assert.deepEqual(await ids('SELECT id FROM n WHERE d < -0.125'), [3])
    assert.deepEqual(await ids('SELECT id FROM n WHERE e = 0.000001'), [1])
    assert.deepEqual(await ids('SELECT id FROM n WHERE e > 123456789012.1234555'), [2])
    assert.deepEqual(await ids('SELECT id FROM n WHERE d IN (1.01, 7) ORDER BY d'), [2])
  })

  test('a number parameter is compared as the number it is; a string parameter is cast', async () => {
    const withParam = async (sql: string, params: unknown[]): Promise<number[]> => (await bothStores(sql, params)).map((row) => row['id'] as number).sort((a, b) => a - b)
    assert.deepEqual(await withParam('SELECT id FROM n WHERE i = $1', [1.5]), [])
    assert.deepEqual(await withParam('SELECT id FROM n WHERE i > $1', [1.5]), [1, 3])
    assert.deepEqual(await withParam('SELECT id FROM n WHERE i < $1', [2147483648]), [1, 2, 3])
    assert.deepEqual(await withParam('SELECT id FROM n WHERE d = $1', [1.234]), [])
    assert.deepEqual(await withParam('SELECT id FROM n WHERE d = $1', [1.23]), [1])
    assert.deepEqual(await withParam('SELECT id FROM n WHERE d = $1', ['1.234']), [1])
    assert.deepEqual(await withParam('SELECT id FROM n WHERE i = $1', ['2']), [1])
  })

  test('more parameters than the statement uses is INVALID_PARAMETER on every route', async () => {
    for (const engine of ['row', 'column', undefined] as const) {
      await assert.rejects(db.query('SELECT id FROM n WHERE id = $1', [1, 2], engine === undefined ? {} : { engine }), (error: unknown) => error instanceof StrataError && error.code === 'INVALID_PARAMETER', String(engine))
    }
    await assert.rejects(db.query('SELECT 1 AS one', [1]), (error: unknown) => error instanceof StrataError && error.code === 'INVALID_PARAMETER')
    assert.deepEqual((await db.query('SELECT id FROM n WHERE id = $2 OR id = $1 ORDER BY id', [1, 2])).rows, [{ id: 1 }, { id: 2 }])
  })

  test('a decimal literal of more than 15 digits beside a DOUBLE answers as DuckDB converts it (fuzzer seed 204)', async () => {
    await db.exec('CREATE TABLE dbl (id INTEGER PRIMARY KEY, d DOUBLE, missing DOUBLE); INSERT INTO dbl VALUES (1, 0.5, NULL)')
    // DuckDB types the literal DECIMAL(20,20) and converts it to a DOUBLE its own way (not the nearest
    // double: duckdb/duckdb#22837), so COALESCE's result is the column store's, as any route answers it.
    const sql = 'SELECT id, COALESCE(missing, 0.00044416990177705885) AS e FROM dbl'
    const routed = await db.query(sql)
    const column = await db.query(sql, [], { engine: 'column' })
    assert.deepEqual(routed.rows, column.rows)
    assert.equal(routed.engine, 'column')
    await assert.rejects(db.query(sql, [], { engine: 'row' }), (error: unknown) => error instanceof StrataError && error.code === 'NOT_SUPPORTED' && /more than 15 digits/.test(error.message))
    // A literal of 15 digits or fewer is the nearest double on both stores: the row store keeps it.
    assert.deepEqual(await bothStores('SELECT id, COALESCE(missing, 0.000444169901777) AS e FROM dbl'), [{ id: 1, e: 0.000444169901777 }])
    await db.exec('DROP TABLE dbl')
  })

  test('assignment still casts to the column type (DuckDB rounds half away from zero)', async () => {
    await db.query('INSERT INTO n (id, i, d) VALUES (10, 2.5, 1.005), (11, -2.5, -0.125)')
    assert.deepEqual(await bothStores('SELECT id, i, d FROM n WHERE id >= 10 ORDER BY id'), [
      { id: 10, i: 3, d: 1.01 },
      { id: 11, i: -3, d: -0.13 },
    ])
    await db.query('DELETE FROM n WHERE id >= 10')
  })
})

describe('DECIMAL is exact end to end', () => {
  test('38-digit values keep every digit on both stores, through CDC', async () => {
    await db.exec(`CREATE TABLE wide (id INTEGER PRIMARY KEY, v DECIMAL(38,10));
      INSERT INTO wide VALUES (1, 12345678901234567.1), (2, '99999999999999999999.9999999999'), (3, 0.5), (4, -0.00000000005)`)
    const rows = await bothStores('SELECT id, v FROM wide ORDER BY id')
    assert.deepEqual(rows, [
      { id: 1, v: '12345678901234567.1000000000' },
      { id: 2, v: '99999999999999999999.9999999999' },
      { id: 3, v: 0.5 },
      { id: 4, v: -1e-10 },
    ])
    // Comparisons of a DECIMAL kept as text run on the column store, parameters and lists included
    // (the fuzzer found `v BETWEEN $1 AND $2` compared as text on the row store).
    const between = await db.query('SELECT id FROM wide WHERE v BETWEEN $1 AND $2 ORDER BY id', ['-1', '12345678901234567.1'])
    assert.deepEqual(between.rows, [{ id: 1 }, { id: 3 }, { id: 4 }])
    assert.equal(between.engine, 'column')
    assert.deepEqual((await db.query('SELECT id FROM wide WHERE v IN ($1, 0.5) ORDER BY id', ['99999999999999999999.9999999999'])).rows, [{ id: 2 }, { id: 3 }])
    await assert.rejects(db.query('SELECT id FROM wide WHERE v > $1', ['1'], { engine: 'row' }), (error: unknown) => error instanceof StrataError && error.code === 'NOT_SUPPORTED')
    // Equality on the exact value gives the same rows wherever it runs.
    const exact = await db.query('SELECT id FROM wide WHERE v = 12345678901234567.1')
    assert.deepEqual(exact.rows, [{ id: 1 }])
    const sum = await db.query('SELECT sum(v) AS total FROM wide')
    assert.equal(sum.rows[0]!['total'], '100012345678901234567.5999999998')
  })

  test('queryArrow carries DECIMAL as an exact Decimal128 at the column precision and scale', async () => {
    const table = await db.queryArrow('SELECT id, v FROM wide ORDER BY id')
    const type = table.schema.fields[1]!.type as { scale: number; precision: number; bitWidth: number }
    assert.deepEqual([type.precision, type.scale, type.bitWidth], [38, 10, 128])
    const unscaled = (words: Uint32Array): bigint => BigInt.asIntN(128, words.reduceRight((sum, word) => (sum << 32n) | BigInt(word), 0n))
    const column = table.getChild('v')!
    assert.deepEqual([0, 1, 2, 3].map((index) => unscaled(column.get(index) as Uint32Array)), [
      123456789012345671000000000n,
      999999999999999999999999999999n,
      5000000000n,
      -1n,
    ])
  })

  test('a value out of the column range is refused; rounding on write is half away from zero', async () => {
    await db.exec('CREATE TABLE small (id INTEGER PRIMARY KEY, v DECIMAL(4,2))')
    await assert.rejects(db.query('INSERT INTO small VALUES (1, 100)'), (error: unknown) => error instanceof StrataError && error.code === 'TYPE_MISMATCH')
    await assert.rejects(db.query('INSERT INTO small VALUES (1, $1)', ['99.995']), (error: unknown) => error instanceof StrataError && error.code === 'TYPE_MISMATCH')
    await db.query('INSERT INTO small VALUES (1, $1), (2, $2), (3, $3), (4, 99.994)', [1.005, '-0.125', 2.675])
    assert.deepEqual(await bothStores('SELECT id, v FROM small ORDER BY id'), [
      { id: 1, v: 1.01 },
      { id: 2, v: -0.13 },
      { id: 3, v: 2.68 },
      { id: 4, v: 99.99 },
    ])
  })

  test('parameters, UPDATE evaluated by DuckDB, and DEFAULT keep exact digits', async () => {
    await db.exec(`CREATE TABLE acct (id INTEGER PRIMARY KEY, v DECIMAL(30,8) DEFAULT 12345678901234567.12345678, w DECIMAL(18,4))`)
    await db.query('INSERT INTO acct (id, w) VALUES (1, $1)', ['12345678901234.5678'])
    await db.query('UPDATE acct SET v = v * 2, w = w + 0.0001 WHERE id = 1')
    assert.deepEqual(await bothStores('SELECT v, w FROM acct'), [{ v: '24691357802469134.24691356', w: '12345678901234.5679' }])
    const matched = await db.query('SELECT id FROM acct WHERE w = $1', ['12345678901234.5679'])
    assert.deepEqual(matched.rows, [{ id: 1 }])
  })

  test('UPDATE and DELETE evaluated by DuckDB find rows by keys of every stored kind', async () => {
    // `%` makes the statement evaluated by the column store, which hands back each row's key text
    // (SQLite's json_array of the stored key): its parts are stored forms — µs, scaled integers, hex,
    // integers beyond 2^53 — not values to convert again.
    await db.exec(`
      CREATE TABLE k_time (k TIMESTAMP PRIMARY KEY, v INTEGER);
      CREATE TABLE k_price (k DECIMAL(8,2) PRIMARY KEY, v INTEGER);
      CREATE TABLE k_wide (k DECIMAL(30,4) PRIMARY KEY, v INTEGER);
      CREATE TABLE k_big (k BIGINT PRIMARY KEY, v INTEGER);
      CREATE TABLE k_blob (k BLOB PRIMARY KEY, v INTEGER);
      CREATE TABLE k_pair (a DATE, b BIGINT, v INTEGER, PRIMARY KEY (a, b));
      CREATE TABLE k_none (a INTEGER, v INTEGER);
      INSERT INTO k_time VALUES ('2020-01-01 00:00:00', 1), ('2020-01-02 00:00:00.5', 2), ('2020-01-03', 4);
      INSERT INTO k_price VALUES (1.25, 1), (8.25, 2), (9, 4);
      INSERT INTO k_wide VALUES (12345678901234567890.1234, 1), (-0.5, 2), (3, 4);
      INSERT INTO k_big VALUES (9007199254740993, 1), (9007199254740992, 2), (-9223372036854775808, 4);
      INSERT INTO k_blob VALUES ('\\x00ff'::BLOB, 1), ('\\x0a'::BLOB, 2), ('\\x0b0c'::BLOB, 4);
      INSERT INTO k_pair VALUES ('2024-02-29', 9007199254740993, 1), ('2024-02-29', 9007199254740992, 2), ('2024-03-01', 1, 4);
      INSERT INTO k_none VALUES (1, 1), (2, 2), (2, 4);
    `)
    for (const table of ['k_time', 'k_price', 'k_wide', 'k_big', 'k_blob', 'k_pair', 'k_none']) {
      const updated = await db.query(`UPDATE ${table} SET v = v * 10 WHERE v % 2 = 0`)
      assert.equal(updated.rowCount, 2, `${table}: UPDATE found both rows`)
      const deleted = await db.query(`DELETE FROM ${table} WHERE v % 40 = 0`)
      assert.equal(deleted.rowCount, 1, `${table}: DELETE found its row`)
      assert.deepEqual((await bothStores(`SELECT v FROM ${table}`)).map((row) => row['v']).sort(), [1, 20], table)
    }
  })

  test('a directory whose DECIMAL is still a double (an earlier Strata) is refused at open, not misread', async () => {
    const dir = temporaryDirectory('decimal-old')
    try {
      const first = await open(dir.path)
      await first.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, d DECIMAL(10,2)); INSERT INTO t VALUES (1, 12.5)')
      await first.close()
      // What an earlier build wrote: the column declared REAL, the value a double.
      const sqlite = new Sqlite(join(dir.path, 'strata.sqlite'))
      sqlite.exec('ALTER TABLE t DROP COLUMN d; ALTER TABLE t ADD COLUMN d REAL; UPDATE t SET d = 12.5')
      sqlite.close()
      await assert.rejects(open(dir.path), (error: unknown) => error instanceof StrataError && error.code === 'NOT_SUPPORTED' && /DECIMAL column "d"/.test(error.message))
    } finally {
      dir.remove()
    }
  })

  test('the CLI prints DECIMAL with its scale in every format', async () => {
    const dir = temporaryDirectory('decimal-cli')
    try {
      const binary = fileURLToPath(new URL('../src/interfaces/cli/main.js', import.meta.url))
      const run = (...args: string[]): string => execFileSync(process.execPath, [binary, 'sql', '--db', dir.path, ...args], { encoding: 'utf8' })
      run('CREATE TABLE p (id INTEGER PRIMARY KEY, price DECIMAL(10,2), big DECIMAL(38,10))', 'INSERT INTO p VALUES (1, 99, 12345678901234567.1)')
      const select = 'SELECT price, big FROM p'
      assert.equal(run('--format', 'json', select), '[{"price":99.00,"big":12345678901234567.1000000000}]\n')
      assert.equal(run('--format', 'csv', select), 'price,big\n99.00,12345678901234567.1000000000\n')
      assert.match(run('--format', 'table', select), /99\.00 .*12345678901234567\.1000000000/)
    } finally {
      dir.remove()
    }
  })
})

describe('a primary key refuses NULL', () => {
  test('INSERT of NULL into an integer key, by VALUES, by SELECT and by db.insert', async () => {
    await db.exec('CREATE TABLE k (id BIGINT PRIMARY KEY, b TEXT); CREATE TABLE k2 (a TEXT, b INTEGER, PRIMARY KEY (a, b))')
    const isViolation = (error: unknown): boolean => error instanceof StrataError && error.code === 'CONSTRAINT_VIOLATION'
    await assert.rejects(db.query(`INSERT INTO k VALUES (NULL, 'b')`), isViolation)
    await assert.rejects(db.query(`INSERT INTO k (b) VALUES ('b')`), isViolation)
    await assert.rejects(db.query(`INSERT INTO k VALUES ($1, 'b')`, [null]), isViolation)
    await assert.rejects(db.query(`INSERT INTO k SELECT NULL, 'c'`), isViolation)
    await assert.rejects(db.insert('k', [{ b: 'x' }]), isViolation)
    await assert.rejects(db.query(`INSERT INTO k (id, b, _valid_from) VALUES (NULL, 'x', '2020-01-01')`), isViolation)
    await db.query(`INSERT INTO k VALUES (1, 'kept')`)
    await assert.rejects(db.query(`UPDATE k SET id = NULL WHERE id = 1`), isViolation)
    await assert.rejects(db.query(`UPDATE k SET id = $1 WHERE id = 1`, [null]), isViolation)
    await db.query(`DELETE FROM k`)
    await assert.rejects(db.query(`INSERT INTO k2 VALUES (NULL, 1)`), isViolation)
    await assert.rejects(db.query(`INSERT INTO k2 VALUES ('a', NULL)`), isViolation)
    assert.deepEqual((await db.query('SELECT count(*) AS n FROM k')).rows, [{ n: 0 }])
    assert.deepEqual((await db.query('SELECT count(*) AS n FROM k2')).rows, [{ n: 0 }])
  })
})

describe('value conversion fast paths give what the general path gives', () => {
  // Plain texts (digits and a point; YYYY-MM-DD) take a fast path in toStorage; the same text with a
  // leading blank takes the general one (which trims it). Both must store the same, or fail alike.
  // Every scale and precision a scaled DECIMAL has: what the fast paths cover.
  const scaledDecimals: SqlType[] = [
    { name: 'DECIMAL', precision: 15, scale: 2 },
    { name: 'DECIMAL', precision: 18, scale: 0 },
    { name: 'DECIMAL', precision: 18, scale: 6 },
    { name: 'DECIMAL', precision: 5, scale: 5 },
    { name: 'DECIMAL', precision: 10, scale: 3 },
  ]
  const outcome = (value: unknown, type: SqlType): unknown => {
    try {
      return toStorage(value, type)
    } catch (error) {
      return error instanceof StrataError ? `error ${error.code}` : error
    }
  }
  test('DECIMAL texts at every scale and precision a scaled DECIMAL has, including rounding, overflow and malformed ones', () => {
    const random = seededRandom(11)
    const digits = (count: number): string => Array.from({ length: count }, () => String(Math.floor(random() * 10))).join('')
    const fixed = ['0', '-0', '0.00', '-0.00', '.5', '5.', '.', '-', '', '-.', '1..2', '12a', '007.10', '999999999999999', '9999999999999999', '0.000001', '123456789012.345', '-99999.99999']
    let compared = 0
    for (const type of scaledDecimals) {
      const texts = [...fixed]
      for (let index = 0; index < 400; index++) {
        const sign = random() < 0.3 ? '-' : ''
        const whole = digits(Math.floor(random() * 14))
        const fraction = random() < 0.8 ? `.${digits(Math.floor(random() * 9))}` : ''
        texts.push(`${sign}${whole}${fraction}`)
      }
      for (const text of texts) {
        assert.deepEqual(outcome(text, type), outcome(` ${text}`, type), `${text} as DECIMAL(${type.precision},${type.scale})`)
        compared++
      }
    }
    assert.ok(compared > 2_000)
  })

  test('DECIMAL from JS numbers: what the number spells, rounded once, as from its text', () => {
    const random = seededRandom(13)
    const types: SqlType[] = [...scaledDecimals, { name: 'DECIMAL', precision: 18, scale: 17 }]
    const numbers = [0, -0, 0.1 + 0.2, 1.005, 2.675, -1.005, 1e-7, 5e-324, 0.5, -0.5, 1.5, 2.5, 123456789.123, 2 ** 51 / 100, 2 ** 51 / 100 + 0.01, 2 ** 53, 999999999999999.9, 1e21, -1e15, 9999.99999]
    for (let index = 0; index < 600; index++) {
      const magnitude = 10 ** Math.floor(random() * 18 - 6)
      const value = random() < 0.5 ? Math.round(random() * 1e6) / 10 ** Math.floor(random() * 8) : random() * magnitude
      numbers.push(random() < 0.3 ? -value : value)
    }
    let compared = 0
    for (const type of types) {
      for (const value of numbers) {
        assert.deepEqual(outcome(value, type), outcome(` ${String(value)}`, type), `${value} as DECIMAL(${type.precision},${type.scale})`)
        compared++
      }
    }
    assert.ok(compared > 3_000)
  })

  test('DATE texts: valid days, leap years, and days that do not exist', () => {
    const texts = ['1996-03-13', '2000-02-29', '1900-02-29', '2024-02-29', '2023-02-29', '0000-02-29', '0001-01-01', '9999-12-31', '2024-04-31', '2024-13-01', '2024-00-10', '2024-01-00', '2024-1-01', '2024/01/01', '20240101xx']
    const random = seededRandom(12)
    for (let index = 0; index < 500; index++) {
      const year = String(Math.floor(random() * 10_000)).padStart(4, '0')
      const month = String(Math.floor(random() * 14)).padStart(2, '0')
      const day = String(Math.floor(random() * 33)).padStart(2, '0')
      texts.push(`${year}-${month}-${day}`)
    }
    for (const text of texts) assert.deepEqual(outcome(text, { name: 'DATE' }), outcome(` ${text}`, { name: 'DATE' }), text)
  })
})
