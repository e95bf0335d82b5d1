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
