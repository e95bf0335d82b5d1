/** Rhei's routing table (SPEC 5): which store answers which statement, and EXPLAIN says the same. */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { open, StrataError, type Database } from '../src/index.js'

let db: Database

before(async () => {
  db = await open()
  await db.exec(`
    CREATE TABLE orders (id INTEGER PRIMARY KEY, customer INTEGER, total DOUBLE, placed TIMESTAMP);
    CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);
    INSERT INTO customers VALUES (1, 'ann'), (2, 'bob');
    INSERT INTO orders VALUES (1, 1, 10.5, '2024-01-01'), (2, 1, 20, '2024-01-02'), (3, 2, 7.25, '2024-01-03');
    CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 8;
  `)
})

after(async () => {
  await db.close()
})

const table: readonly [string, 'row' | 'column' | 'catalog'][] = [
  ['SELECT * FROM orders WHERE id = 1', 'row'],
  ['SELECT id, total FROM orders WHERE customer = 1 ORDER BY id LIMIT 1', 'row'],
  ['SELECT * FROM orders', 'row'],
  ['SELECT count(*) FROM orders', 'column'],
  ['SELECT customer, sum(total) FROM orders GROUP BY customer', 'column'],
  ['SELECT customer FROM orders GROUP BY customer HAVING count(*) > 1', 'column'],
  ['SELECT o.id, c.name FROM orders o JOIN customers c ON c.id = o.customer', 'column'],
  ['SELECT id, row_number() OVER (ORDER BY total) FROM orders', 'column'],
  ['WITH t AS (SELECT * FROM orders) SELECT * FROM t', 'column'],
  ['SELECT id FROM orders UNION SELECT id FROM customers', 'column'],
  ['SELECT * FROM orders WHERE customer IN (SELECT id FROM customers)', 'column'],
  ['SELECT DISTINCT customer FROM orders', 'column'],
  ['SELECT upper(name) FROM customers WHERE id = 1', 'column'],
  ['SELECT 1 + 1', 'column'],
  ['SELECT * FROM big_orders', 'column'],
  ['SELECT * FROM strata.transactions', 'catalog'],
  ['SELECT table_name FROM information_schema.tables', 'catalog'],
  ['SHOW TABLES', 'catalog'],
  ['DESCRIBE orders', 'catalog'],
  ["INSERT INTO customers VALUES (10, 'x') ON CONFLICT DO NOTHING", 'row'],
  ["UPDATE customers SET name = 'y' WHERE id = 10", 'row'],
  ['DELETE FROM customers WHERE id = 10', 'row'],
]

describe('routing', () => {
  for (const [sql, expected] of table) {
    test(`${expected}: ${sql}`, async () => {
      const result = await db.query(sql)
      assert.equal(result.engine, expected)
      if (sql.startsWith('SELECT')) {
        const explained = await db.query(`EXPLAIN ${sql}`)
        assert.equal(explained.rows[0]!['plan'], `store: ${expected}`)
        assert.match(String(explained.rows[1]!['plan']), /^why: /)
        assert.ok(explained.rows.length > 2, 'EXPLAIN shows the plan after the store and the reason')
      }
    })
  }

  test('forcing the row store on an analytical query is NOT_SUPPORTED naming the construct', async () => {
    // Plain GROUP BY and count/sum/min/max/avg run on the row store when forced (test/timeseries.test.ts).
    await assert.rejects(db.query('SELECT count(DISTINCT customer) FROM orders', [], { engine: 'row' }), (error: unknown) => {
      assert.ok(error instanceof StrataError)
      assert.equal(error.code, 'NOT_SUPPORTED')
      assert.match(error.message, /aggregate/)
      return true
    })
  })

  test('EXPLAIN of a join says why it went to the column store', async () => {
    const explained = await db.query('EXPLAIN SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer')
    assert.equal(explained.engine, 'column')
    assert.match(String(explained.rows[1]!['plan']), /join/)
  })

  test('the column store answers what it is routed, with the right values', async () => {
    const result = await db.query('SELECT c.name, sum(o.total) AS spent FROM orders o JOIN customers c ON c.id = o.customer GROUP BY c.name ORDER BY c.name')
    assert.deepEqual(result.rows, [
      { name: 'ann', spent: 30.5 },
      { name: 'bob', spent: 7.25 },
    ])
  })
})

describe('names that are keywords only to DuckDB', () => {
  test('a column or table named at, columns, map, struct … reads the same on both stores (the column store gets them quoted)', async () => {
    const db = await open(':memory:')
    try {
      await db.query('CREATE TABLE map (id INTEGER PRIMARY KEY, at TIMESTAMP, columns INTEGER, struct VARCHAR)')
      await db.query("INSERT INTO map VALUES (1, '2026-01-01 10:00:00', 3, 'x'), (2, '2026-01-02 11:00:00', 4, 'y')")
      for (const sql of [
        'SELECT id, at, columns, struct FROM map ORDER BY id',
        "SELECT max(at) AS latest, sum(columns) AS total FROM map WHERE at > '2026-01-01 12:00:00' OR struct = 'x'",
        'SELECT m.at, m.columns FROM map AS m ORDER BY m.at',
        "SELECT id, at AT TIME ZONE 'UTC' AS zoned FROM map ORDER BY id",
      ]) {
        const column = await db.query(sql, [], { engine: 'column' })
        assert.equal(column.engine, 'column')
        // AT TIME ZONE is the column store's only (the row store refuses it with NOT_SUPPORTED).
        const row = sql.includes('AT TIME ZONE') ? undefined : await db.query(sql, [], { engine: 'row' })
        if (row !== undefined) assert.deepEqual(column.rows, row.rows, sql)
        else assert.equal(column.rows.length, 2, sql)
      }
    } finally {
      await db.close()
    }
  })
})
