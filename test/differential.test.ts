/**
 * The same SQL against the row store and the column store must give the same rows with the same JS
 * types (SPEC 3, 5). Every query here is one the row store can run, forced to each store in turn.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { open, StrataError, Timestamp, type Database } from '../src/index.js'
import { sortedRows } from './helpers.js'

let db: Database

before(async () => {
  db = await open()
  await db.exec(`
    CREATE TABLE items (
      id INTEGER PRIMARY KEY, name TEXT NOT NULL, price DECIMAL(10,2), weight DOUBLE, qty SMALLINT,
      big BIGINT, active BOOLEAN, created TIMESTAMP, created_tz TIMESTAMPTZ, day DATE, meta JSON, raw BLOB
    );
    CREATE TABLE pairs (a INTEGER, b TEXT, PRIMARY KEY (a, b));
    CREATE TABLE loose (x INTEGER, y TEXT);
  `)
  const rows: unknown[][] = []
  for (let id = 1; id <= 60; id++) {
    rows.push([
      id,
      `item-${String(id % 7)}-${id}`,
      id % 5 === 0 ? null : (id * 1.25).toFixed(2),
      id % 4 === 0 ? null : id / 3,
      id % 3,
      id === 7 ? 9007199254740993n : id * 1_000_000_000,
      id % 2 === 0,
      new Date(Date.UTC(2024, 0, 1, 0, 0, id)),
      new Date(Date.UTC(2024, 5, 1, 12, id, 0)),
      `2024-02-${String((id % 28) + 1).padStart(2, '0')}`,
      id % 6 === 0 ? null : { id, tags: ['a', id % 2 === 0 ? 'even' : 'odd'] },
      id % 9 === 0 ? null : new Uint8Array([id, 255 - id]),
    ])
  }
  for (const row of rows) await db.query('INSERT INTO items VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)', row)
  await db.exec(`INSERT INTO pairs VALUES (1, 'x'), (1, 'y'), (2, 'x'), (3, NULL::TEXT) ON CONFLICT DO NOTHING`).catch(async () => {
    // (3, NULL) violates NOT NULL of a primary-key column; insert the valid rows only.
    await db.exec(`INSERT INTO pairs VALUES (1, 'x'), (1, 'y'), (2, 'x')`)
  })
  await db.exec(`INSERT INTO loose VALUES (1, 'a'), (1, 'a'), (NULL, 'b'), (3, NULL)`)
})

after(async () => {
  await db.close()
})

const queries: readonly [string, readonly unknown[]][] = [
  ['SELECT * FROM items', []],
  ['SELECT * FROM items WHERE id = $1', [7]],
  ['SELECT id, name FROM items WHERE id = 5', []],
  ['SELECT * FROM items WHERE price > 10 AND active = true', []],
  ['SELECT id, price FROM items WHERE price IS NULL', []],
  ['SELECT id FROM items WHERE weight >= $1 OR qty = 0', [5]],
  ['SELECT id, name FROM items WHERE name LIKE $1', ['item-3%']],
  ['SELECT id FROM items WHERE name NOT LIKE \'%-1%\'', []],
  ['SELECT id, created FROM items WHERE created BETWEEN $1 AND $2', ['2024-01-01 00:00:10', '2024-01-01 00:00:20']],
  ["SELECT id FROM items WHERE created > TIMESTAMP '2024-01-01 00:00:50'", []],
  ['SELECT id, day FROM items WHERE day = $1', ['2024-02-03']],
  ["SELECT id FROM items WHERE day < '2024-02-05'", []],
  ['SELECT id, big FROM items WHERE big > 40000000000', []],
  ['SELECT id FROM items WHERE id IN (1, 2, 3, 99)', []],
  ['SELECT id FROM items WHERE id NOT IN (1, 2, 3)', []],
  ['SELECT id, meta, raw FROM items WHERE id <= 12', []],
  ['SELECT id, active FROM items WHERE NOT active', []],
  ['SELECT id, name FROM items ORDER BY name DESC, id LIMIT 10', []],
  ['SELECT id, weight FROM items ORDER BY weight, id LIMIT 5 OFFSET 2', []],
  ['SELECT id, weight FROM items ORDER BY weight DESC NULLS FIRST, id LIMIT 8', []],
  ['SELECT i.id AS ident, i.name FROM items AS i WHERE i.id < $1', [4]],
  ['SELECT * FROM pairs WHERE a = 1', []],
  ['SELECT * FROM loose', []],
  ['SELECT x, y FROM loose WHERE x IS NOT NULL ORDER BY x', []],
  ['SELECT * FROM items WHERE created_tz >= $1', [new Date(Date.UTC(2024, 5, 1, 12, 30, 0))]],
]

describe('row store and column store give the same rows', () => {
  for (const [sql, params] of queries) {
    test(sql, async () => {
      const row = await db.query(sql, params, { engine: 'row' })
      const column = await db.query(sql, params, { engine: 'column' })
      assert.equal(row.engine, 'row')
      assert.equal(column.engine, 'column')
      assert.deepEqual(row.columns.map((c) => c.name), column.columns.map((c) => c.name))
      assert.deepEqual(row.columns.map((c) => c.type), column.columns.map((c) => c.type))
      if (sql.includes('ORDER BY')) assert.deepEqual(row.rows, column.rows)
      else assert.deepEqual(sortedRows(row.rows), sortedRows(column.rows))
      assert.ok(row.rowCount > 0 || sql.includes('NOT NULL'), `query returned no rows, so it proves nothing: ${sql}`)
    })
  }

  test('JS types follow SPEC 3 on both stores', async () => {
    for (const engine of ['row', 'column'] as const) {
      const { rows } = await db.query('SELECT * FROM items WHERE id = 7', [], { engine })
      const item = rows[0]!
      assert.equal(typeof item['id'], 'number')
      assert.equal(item['big'], 9007199254740993n, `${engine}: BIGINT outside ±2^53 is a bigint`)
      assert.equal(typeof item['price'], 'number')
      assert.equal(item['price'], 8.75)
      assert.equal(item['active'], false)
      assert.ok(item['created'] instanceof Date)
      assert.equal((item['created'] as Date).toISOString(), '2024-01-01T00:00:07.000Z')
      assert.equal(item['day'], '2024-02-08')
      assert.deepEqual(item['meta'], { id: 7, tags: ['a', 'odd'] })
      assert.ok(item['raw'] instanceof Uint8Array)
      assert.deepEqual([...(item['raw'] as Uint8Array)], [7, 248])
      assert.deepEqual(Object.keys(item), ['id', 'name', 'price', 'weight', 'qty', 'big', 'active', 'created', 'created_tz', 'day', 'meta', 'raw'])
    }
  })

  test('after updates and deletes (fast and evaluated paths) both stores still agree', async () => {
    await db.query('UPDATE items SET qty = qty + 1 WHERE id < $1', [10])
    await db.query("UPDATE items SET name = upper(name) || '!' WHERE id % 10 = 0")
    await db.query('DELETE FROM items WHERE id IN (SELECT id FROM items WHERE weight > 15)')
    await db.query('INSERT INTO items (id, name, price) SELECT id + 100, name, price FROM items WHERE id <= 3')
    await db.query("INSERT INTO items (id, name) VALUES (2, 'dup') ON CONFLICT (id) DO UPDATE SET name = excluded.name")
    const row = await db.query('SELECT * FROM items', [], { engine: 'row' })
    const column = await db.query('SELECT * FROM items', [], { engine: 'column' })
    assert.deepEqual(sortedRows(row.rows), sortedRows(column.rows))
    const names = await db.query('SELECT name FROM items WHERE id IN (2, 10, 101)', [], { engine: 'row' })
    assert.deepEqual(names.rows.map((r) => r['name']).sort(), ['ITEM-3-10!', 'dup', 'item-1-1'])
    const count = await db.query('SELECT count(*) AS n FROM items WHERE weight > 15')
    assert.equal(count.rows[0]!['n'], 0)
  })
})

/**
 * Divergences the differential fuzzer found (issue 9, `npm run fuzz`, docs/fuzzing.md): each one
 * answered on one store and failed, or answered differently, on the other. The answer pinned here is
 * DuckDB's (SPEC 5's dialect), or the row store declines (NOT_SUPPORTED) and the column store answers.
 */
describe('divergences found by the fuzzer', () => {
  let fuzzed: Database

  before(async () => {
    fuzzed = await open()
    await fuzzed.exec(`
      CREATE TABLE f (id INTEGER PRIMARY KEY, s SMALLINT, i INTEGER, b BIGINT, txt TEXT, d DOUBLE);
      INSERT INTO f VALUES (1, 32767, 2147483647, 9223372036854775807, '1', 1.5), (2, -32768, -2147483648, -9223372036854775808, 'a', -2.5),
        (3, 1, 1, 1, '01', 0), (4, NULL, NULL, NULL, NULL, NULL);
    `)
  })

  after(async () => {
    await fuzzed.close()
  })

  /** The same statement on both stores: the same rows, or the same error code; NOT_SUPPORTED is the row store declining. */
  async function bothStores(sql: string, params: readonly unknown[] = []): Promise<{ row: string[] | string; column: string[] | string }> {
    const answer = async (engine: 'row' | 'column'): Promise<string[] | string> => {
      try {
        return sortedRows((await fuzzed.query(sql, params, { engine })).rows)
      } catch (error) {
        if (error instanceof StrataError) return error.code
        throw error
      }
    }
    return { row: await answer('row'), column: await answer('column') }
  }

  test('LIMIT/OFFSET -1 fail on both stores (DuckDB: cannot be negative), as literals and as parameters', async () => {
    for (const [sql, params] of [
      ['SELECT id FROM f ORDER BY id LIMIT -1', []],
      ['SELECT id FROM f ORDER BY id LIMIT 2 OFFSET -1', []],
      ['SELECT id FROM f ORDER BY id LIMIT $1', [-1]],
      ['SELECT id FROM f ORDER BY id LIMIT 1 OFFSET $1', [-3]],
    ] as const) {
      const answers = await bothStores(sql, params)
      assert.deepEqual(answers, { row: 'INVALID_PARAMETER', column: 'INVALID_PARAMETER' }, sql)
    }
  })

  test('LIMIT NULL and OFFSET NULL mean no limit and no offset on both stores', async () => {
    const all = sortedRows([{ id: 1 }, { id: 2 }, { id: 3 }, { id: 4 }])
    for (const [sql, params] of [
      ['SELECT id FROM f ORDER BY id LIMIT NULL', []],
      ['SELECT id FROM f ORDER BY id LIMIT NULL OFFSET NULL', []],
      ['SELECT id FROM f ORDER BY id OFFSET NULL', []],
      ['SELECT id FROM f ORDER BY id LIMIT $1 OFFSET $2', [null, null]],
    ] as const) {
      assert.deepEqual(await bothStores(sql, params), { row: all, column: all }, sql)
    }
    assert.deepEqual(await bothStores('SELECT id FROM f ORDER BY id LIMIT NULL OFFSET 3'), { row: sortedRows([{ id: 4 }]), column: sortedRows([{ id: 4 }]) })
  })

  test('a text column compared with a number is DuckDB\'s comparison (the text cast to the number), so the row store declines it', async () => {
    // DuckDB casts txt to INTEGER: 'a' fails to convert. SQLite compared '1' = '1' and answered.
    assert.deepEqual(await bothStores('SELECT id FROM f WHERE txt = 1'), { row: 'NOT_SUPPORTED', column: 'TYPE_MISMATCH' })
    assert.deepEqual(await bothStores('SELECT id FROM f WHERE txt IN (1, 2)'), { row: 'NOT_SUPPORTED', column: 'TYPE_MISMATCH' })
    // '01' = 1 as numbers: DuckDB's answer, which comparing text would not give.
    const answered = await fuzzed.query("SELECT id FROM f WHERE txt = 1 AND id <> 2 AND txt <> 'a'")
    assert.equal(answered.engine, 'column')
    assert.deepEqual(answered.rows.map((row) => row['id']).sort(), [1, 3])
    // A text literal is text on both stores.
    assert.deepEqual(await bothStores("SELECT id FROM f WHERE txt = '1'"), { row: sortedRows([{ id: 1 }]), column: sortedRows([{ id: 1 }]) })
    // A number as a parameter: the row store cannot know it at planning time, so it refuses the value.
    assert.deepEqual(await bothStores('SELECT id FROM f WHERE txt = $1', [1]), { row: 'NOT_SUPPORTED', column: 'TYPE_MISMATCH' })
    assert.deepEqual(await bothStores('SELECT id FROM f WHERE txt = $1', ['01']), { row: sortedRows([{ id: 3 }]), column: sortedRows([{ id: 3 }]) })
    // JSON compares as its text in both stores; with a number, DuckDB casts the JSON.
    await fuzzed.exec(`CREATE TABLE fj (id INTEGER PRIMARY KEY, j JSON); INSERT INTO fj VALUES (1, '{"a":1}'), (2, '1')`)
    assert.deepEqual(await bothStores('SELECT id FROM fj WHERE j = 1'), { row: 'NOT_SUPPORTED', column: 'TYPE_MISMATCH' })
    assert.deepEqual(await bothStores("SELECT id FROM fj WHERE j = '1'"), { row: sortedRows([{ id: 2 }]), column: sortedRows([{ id: 2 }]) })
  })

  test('integer arithmetic in a condition is not answered by the row store (DuckDB decides overflow: an error, or a rewrite that avoids it)', async () => {
    // SQLite computes in 64 bits; DuckDB multiplies SMALLINTs as SMALLINT and fails on overflow.
    assert.deepEqual(await bothStores('SELECT id FROM f WHERE s * 3 > 1'), { row: 'NOT_SUPPORTED', column: 'TYPE_MISMATCH' })
    assert.deepEqual(await bothStores('SELECT id FROM f WHERE i + 1 > 0'), { row: 'NOT_SUPPORTED', column: sortedRows([{ id: 1 }, { id: 3 }]) })
    // DuckDB moves the constants of `b - 1 < 0` (b < 1) and `b * 2 = 2` (b = 1): no overflow is possible.
    assert.deepEqual(await bothStores('SELECT id FROM f WHERE b - 1 < 0 OR b * 2 = 2'), { row: 'NOT_SUPPORTED', column: sortedRows([{ id: 2 }, { id: 3 }]) })
    assert.deepEqual(await bothStores('SELECT id FROM f WHERE b * 2 > 1'), { row: 'NOT_SUPPORTED', column: 'TYPE_MISMATCH' })
    const routed = await fuzzed.query('SELECT id FROM f WHERE s * 2 = 2')
    assert.equal(routed.engine, 'column')
    assert.deepEqual(routed.rows, [{ id: 3 }])
  })

  test('integer arithmetic in SET overflows as DuckDB does (TYPE_MISMATCH), leaving the row and the mirror as they were', async () => {
    for (const [sql, params] of [
      ['UPDATE f SET s = s * 2 WHERE id = 1', []],
      ['UPDATE f SET s = s - 1 WHERE id = 2', []],
      ['UPDATE f SET i = i + $1 WHERE id = 1', [1]],
      ['UPDATE f SET b = b + 1 WHERE id = 1', []],
      ['UPDATE f SET b = b * -1 WHERE id = 2', []],
      ['UPDATE f SET b = b - 1 WHERE id = 2', []],
    ] as const) {
      await assert.rejects(fuzzed.query(sql, params), (error: unknown) => error instanceof StrataError && error.code === 'TYPE_MISMATCH' && /Overflow in (addition|subtraction|multiplication) of INT(16|32|64)/.test(error.message), sql)
    }
    await fuzzed.query('UPDATE f SET s = s * 2, i = i - 1, b = b + 1 WHERE id = 3')
    await fuzzed.query('UPDATE f SET s = s * -1 WHERE id = 1')
    for (const engine of ['row', 'column'] as const) {
      const { rows } = await fuzzed.query('SELECT id, s, i, b FROM f WHERE id IN (1, 2, 3) ORDER BY id', [], { engine })
      assert.deepEqual(rows, [
        { id: 1, s: -32767, i: 2147483647, b: 9223372036854775807n },
        { id: 2, s: -32768, i: -2147483648, b: -9223372036854775808n },
        { id: 3, s: 2, i: 0, b: 2 },
      ], engine)
    }
    await fuzzed.query('UPDATE f SET s = s * -1 WHERE id = 1')
    await fuzzed.query('UPDATE f SET s = 1, i = 1, b = 1 WHERE id = 3')
  })

  test('DuckDB 1.5.6 folds `x * -1 <op> <minimum of x\'s type>` to false (upstream bug, docs/fuzzing.md); pinned until upstream fixes it', async () => {
    // Without the optimizer DuckDB fails (-32768 * -1 overflows SMALLINT); by DuckDB's own rule an
    // optimization may instead give the answer as if nothing overflowed: ids 1, 2 and 3. DuckDB
    // 1.5.6's MoveConstantsRule answers no rows. The row store declines integer arithmetic in a
    // condition, so this is the only store that answers: the answer is DuckDB's. When this test fails
    // after a DuckDB upgrade, update the "Known upstream bugs" list in docs/fuzzing.md.
    assert.deepEqual(await bothStores('SELECT id FROM f WHERE s * -1 != -32768'), { row: 'NOT_SUPPORTED', column: [] })
    assert.deepEqual(await bothStores('SELECT id FROM f WHERE s * -1 > -32768'), { row: 'NOT_SUPPORTED', column: [] })
    // Not the minimum: the rewrite is right.
    assert.deepEqual(await bothStores('SELECT id FROM f WHERE s * -1 != -32767'), { row: 'NOT_SUPPORTED', column: sortedRows([{ id: 2 }, { id: 3 }]) })
  })

  test('dates and timestamps of the years 1–99 are those years, not 1901–1999 (Date.UTC), on both stores', async () => {
    await fuzzed.exec(`CREATE TABLE years (id INTEGER PRIMARY KEY, d DATE, ts TIMESTAMP);
      INSERT INTO years VALUES (1, '0001-01-01', TIMESTAMP '0001-01-01 00:00:00'), (2, '0099-12-31', '0045-06-15 12:00:00'), (3, '1999-12-31', '1950-01-01 00:00:00')`)
    for (const engine of ['row', 'column'] as const) {
      const { rows } = await fuzzed.query('SELECT id, d, ts FROM years ORDER BY id', [], { engine })
      assert.deepEqual(rows.map((row) => [row['d'], (row['ts'] as Date).toISOString()]), [
        ['0001-01-01', '0001-01-01T00:00:00.000Z'],
        ['0099-12-31', '0045-06-15T12:00:00.000Z'],
        ['1999-12-31', '1950-01-01T00:00:00.000Z'],
      ], engine)
      const old = await fuzzed.query("SELECT id FROM years WHERE d < '1000-01-01' AND ts < TIMESTAMP '0100-01-01 00:00:00' ORDER BY id", [], { engine })
      assert.deepEqual(old.rows, [{ id: 1 }, { id: 2 }], engine)
    }
  })

  test('timestamps before 1685 and after 2255 keep every microsecond (beyond 2^53 µs), on both stores', async () => {
    await fuzzed.exec(`CREATE TABLE far (id INTEGER PRIMARY KEY, ts TIMESTAMP, tz TIMESTAMPTZ);
      INSERT INTO far VALUES (1, TIMESTAMP '9999-12-31 23:59:59.999999', TIMESTAMPTZ '0001-01-01 00:00:00.000001+00'), (2, TIMESTAMP '9999-12-31 23:59:59.999998', NULL)`)
    await fuzzed.query('INSERT INTO far VALUES ($1, $2, $3)', [3, new Timestamp(-62135596799999999n), new Timestamp(253402300799999999n)])
    for (const engine of ['row', 'column'] as const) {
      const { rows } = await fuzzed.query('SELECT id, ts, tz FROM far ORDER BY id', [], { engine })
      const micros = (value: unknown): bigint | null => (value === null ? null : (value as Timestamp).micros)
      assert.deepEqual(rows.map((row) => [micros(row['ts']), micros(row['tz'])]), [
        [253402300799999999n, -62135596799999999n],
        [253402300799999998n, null],
        [-62135596799999999n, 253402300799999999n],
      ], engine)
      const latest = await fuzzed.query("SELECT id FROM far WHERE ts > TIMESTAMP '9999-12-31 23:59:59.999998'", [], { engine })
      assert.deepEqual(latest.rows, [{ id: 1 }], engine)
    }
  })

  test('a TIMESTAMP read from text with a UTC offset drops the offset (DuckDB, PostgreSQL); a TIMESTAMPTZ applies it', async () => {
    await fuzzed.exec(`CREATE TABLE zoned (id INTEGER PRIMARY KEY, ts TIMESTAMP, tz TIMESTAMPTZ);
      INSERT INTO zoned VALUES (1, '2024-01-01 00:00:00+01', '2024-01-01 00:00:00+01')`)
    await fuzzed.query('INSERT INTO zoned VALUES ($1, $2, $3)', [2, '2024-01-01 00:00:00-05:30', '2024-01-01 00:00:00-05:30'])
    for (const engine of ['row', 'column'] as const) {
      const { rows } = await fuzzed.query('SELECT id, ts, tz FROM zoned ORDER BY id', [], { engine })
      assert.deepEqual(rows.map((row) => [(row['ts'] as Date).toISOString(), (row['tz'] as Date).toISOString()]), [
        ['2024-01-01T00:00:00.000Z', '2023-12-31T23:00:00.000Z'],
        ['2024-01-01T00:00:00.000Z', '2024-01-01T05:30:00.000Z'],
      ], engine)
    }
    assert.deepEqual(await bothStores("SELECT id FROM zoned WHERE ts = '2024-01-01 00:00:00+07'"), { row: sortedRows([{ id: 1 }, { id: 2 }]), column: sortedRows([{ id: 1 }, { id: 2 }]) })
  })

  test('a number parameter beyond 2^53 (1e308) is a DOUBLE on the column store, not a BIGINT that overflows', async () => {
    for (const value of [1e308, -1.7976931348623157e308, 2 ** 63, 2 ** 60]) {
      const all = sortedRows([{ id: 1 }, { id: 2 }, { id: 3 }])
      assert.deepEqual(await bothStores(`SELECT id FROM f WHERE d ${value > 0 ? '<' : '>'} $1`, [value]), { row: all, column: all }, String(value))
    }
  })

  test('(p) IS NULL of a condition runs on the row store, so ternary logic partitions a table on both stores', async () => {
    for (const engine of ['row', 'column'] as const) {
      const count = async (where: string): Promise<number> => Number((await fuzzed.query(`SELECT count(*) AS n FROM f${where}`, [], { engine })).rows[0]!['n'])
      const condition = "(s > 0 AND txt <> 'a')"
      assert.deepEqual([await count(` WHERE ${condition}`), await count(` WHERE NOT ${condition}`), await count(` WHERE (${condition}) IS NULL`), await count('')], [2, 1, 1, 4], engine)
    }
  })

  test('a DOUBLE compared with a decimal literal of more than 15 digits is DuckDB\'s comparison (its own rounding, upstream issue 22837), so the row store declines it', async () => {
    await fuzzed.exec('CREATE TABLE wide (id INTEGER PRIMARY KEY, d DOUBLE); INSERT INTO wide VALUES (1, -0.0000014319621422328054), (2, 57420463177599844.25375)')
    // Stored as the nearest double (as JS and SQLite parse it); DuckDB turns the literal into a neighbour.
    assert.deepEqual(await bothStores('SELECT id FROM wide WHERE d >= -0.0000014319621422328054 AND d < 1'), { row: 'NOT_SUPPORTED', column: [] })
    assert.deepEqual(await bothStores('SELECT id FROM wide WHERE d = 57420463177599844.25375'), { row: 'NOT_SUPPORTED', column: [] })
    // Fifteen digits or fewer convert exactly everywhere; so do the same digits written as a double.
    assert.deepEqual(await bothStores('SELECT id FROM wide WHERE d = -1.4319621422328054e-6'), { row: sortedRows([{ id: 1 }]), column: sortedRows([{ id: 1 }]) })
    assert.deepEqual(await bothStores('SELECT id FROM wide WHERE d > 0.5'), { row: sortedRows([{ id: 2 }]), column: sortedRows([{ id: 2 }]) })
  })

  test('DOUBLE infinities are stored from DuckDB\'s spellings; NaN, which SQLite would keep as NULL, is NOT_SUPPORTED (never a silent NULL)', async () => {
    await fuzzed.exec("CREATE TABLE special (id INTEGER PRIMARY KEY, d DOUBLE); INSERT INTO special VALUES (1, 'inf'), (2, '-Infinity'), (3, 1.5)")
    await fuzzed.query('INSERT INTO special VALUES ($1, $2)', [4, -Infinity])
    for (const engine of ['row', 'column'] as const) {
      const { rows } = await fuzzed.query('SELECT id, d FROM special ORDER BY id', [], { engine })
      assert.deepEqual(rows, [{ id: 1, d: Infinity }, { id: 2, d: -Infinity }, { id: 3, d: 1.5 }, { id: 4, d: -Infinity }], engine)
    }
    assert.deepEqual(await bothStores("SELECT id FROM special WHERE d = 'inf'"), { row: sortedRows([{ id: 1 }]), column: sortedRows([{ id: 1 }]) })
    for (const [sql, params] of [
      ['INSERT INTO special VALUES ($1, $2)', [5, NaN]],
      ["INSERT INTO special VALUES (6, 'NaN')", []],
      ['UPDATE special SET d = d - d WHERE id = 1', []],
      ['UPDATE special SET d = d * 0 WHERE id = 2', []],
    ] as const) {
      await assert.rejects(fuzzed.query(sql, params), (error: unknown) => error instanceof StrataError && error.code === 'NOT_SUPPORTED' && /NaN/.test(error.message), sql)
    }
    await fuzzed.query('UPDATE special SET d = d * 2 + 1 WHERE id = 3')
    assert.deepEqual((await fuzzed.query('SELECT d FROM special WHERE id IN (1, 2, 3) ORDER BY id', [], { engine: 'column' })).rows, [{ d: Infinity }, { d: -Infinity }, { d: 4 }])
  })

  test('DuckDB\'s errors for a comparison of two types and for a parameter too many have our codes, not SYNTAX_ERROR or INTERNAL', async () => {
    // DATE against an integer: DuckDB's binder refuses it; the row store leaves a literal that is not a
    // DATE to the column store (NOT_SUPPORTED when forced there), so it never answers differently.
    assert.deepEqual(await bothStores('SELECT count(*) AS n FROM years WHERE d >= 20240101'), { row: 'NOT_SUPPORTED', column: 'TYPE_MISMATCH' })
    await assert.rejects(fuzzed.query('SELECT count(*) AS n FROM years WHERE d >= 20240101'), (error: unknown) => error instanceof StrataError && error.code === 'TYPE_MISMATCH')
    const extra = await fuzzed.query('SELECT id FROM f WHERE id = $1', [1, 2], { engine: 'column' }).then(() => 'answered', (error: unknown) => (error instanceof StrataError ? error.code : 'crash'))
    assert.equal(extra, 'INVALID_PARAMETER')
  })
})
