/** DDL: both stores and the history stay consistent through schema changes; DDL is transactional. */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { Engine } from '../src/engine/engine.js'
import { open, StrataError } from '../src/index.js'
import { sortedRows, temporaryDirectory } from './helpers.js'

async function bothStores(db: Awaited<ReturnType<typeof open>>, sql: string): Promise<Record<string, unknown>[]> {
  const row = await db.query(sql, [], { engine: 'row' })
  const column = await db.query(sql, [], { engine: 'column' })
  assert.deepEqual(sortedRows(row.rows), sortedRows(column.rows), `stores differ on ${sql}`)
  assert.deepEqual(row.columns, column.columns)
  return row.rows
}

describe('schema changes', () => {
  test('ADD, RENAME and DROP COLUMN keep both stores and the history consistent, across a restart', async () => {
    const directory = temporaryDirectory('schema')
    try {
      let db = await open(directory.path)
      await db.exec(`CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL, age INTEGER CHECK (age >= 0));
        INSERT INTO people VALUES (1, 'ann', 30), (2, 'bob', 40)`)
      await db.query("ALTER TABLE people ADD COLUMN city TEXT DEFAULT 'paris'")
      assert.deepEqual(await bothStores(db, 'SELECT * FROM people ORDER BY id'), [
        { id: 1, name: 'ann', age: 30, city: 'paris' },
        { id: 2, name: 'bob', age: 40, city: 'paris' },
      ])
      await db.query('ALTER TABLE people RENAME COLUMN name TO full_name')
      await db.query("UPDATE people SET full_name = 'Ann' WHERE id = 1")
      await assert.rejects(db.query('ALTER TABLE people DROP COLUMN age'), (error: unknown) => error instanceof StrataError && error.code === 'NOT_SUPPORTED' && /CHECK/.test(error.message))
      await db.query('ALTER TABLE people ADD COLUMN nick TEXT')
      await db.query("UPDATE people SET nick = 'b' WHERE id = 2")
      await db.query('ALTER TABLE people DROP COLUMN nick')
      await db.query('UPDATE people SET age = NULL')
      await db.query('ALTER TABLE people RENAME COLUMN age TO years')
      await db.query("INSERT INTO people VALUES (3, 'cy', 5, 'rome')")
      await assert.rejects(db.query("INSERT INTO people VALUES (4, 'dee', -1, 'oslo')"), (error: unknown) => error instanceof StrataError && error.code === 'CONSTRAINT_VIOLATION')
      const expected = [
        { id: 1, full_name: 'Ann', years: null, city: 'paris' },
        { id: 2, full_name: 'bob', years: null, city: 'paris' },
        { id: 3, full_name: 'cy', years: 5, city: 'rome' },
      ]
      assert.deepEqual(await bothStores(db, 'SELECT * FROM people ORDER BY id'), expected)
      const described = await db.query('DESCRIBE people')
      assert.deepEqual(described.rows.map((row) => [row['column_name'], row['column_type'], row['key']]), [
        ['id', 'INTEGER', 'PRI'],
        ['full_name', 'VARCHAR', null],
        ['years', 'INTEGER', null],
        ['city', 'VARCHAR', null],
      ])
      await db.close()
      db = await open(directory.path)
      assert.deepEqual(await bothStores(db, 'SELECT * FROM people ORDER BY id'), expected)
      const columns = await db.query("SELECT column_name FROM information_schema.columns WHERE table_name = 'people' ORDER BY ordinal_position")
      assert.deepEqual(columns.rows.map((row) => row['column_name']), ['id', 'full_name', 'years', 'city'])
      // Every commit is in the ledger; the DDL ones say so.
      const kinds = await db.query('SELECT kind, count(*) AS n FROM strata.transactions GROUP BY kind ORDER BY kind')
      assert.deepEqual(kinds.rows, [
        { kind: 'data', n: 5 },
        { kind: 'ddl', n: 6 },
      ])
      await db.close()
    } finally {
      directory.remove()
    }
  })

  test('CREATE TABLE AS SELECT, CREATE INDEX, CREATE VIEW, DROP TABLE', async () => {
    await using db = await open()
    await db.exec(`CREATE TABLE sales (id INTEGER PRIMARY KEY, region TEXT, amount DOUBLE);
      INSERT INTO sales VALUES (1, 'n', 10), (2, 's', 5), (3, 'n', 2.5);
      CREATE INDEX sales_region ON sales (region);
      CREATE TABLE totals AS SELECT region, sum(amount) AS total FROM sales GROUP BY region;
      CREATE VIEW north AS SELECT * FROM sales WHERE region = 'n'`)
    assert.deepEqual(await bothStores(db, 'SELECT * FROM totals ORDER BY region'), [
      { region: 'n', total: 12.5 },
      { region: 's', total: 5 },
    ])
    const view = await db.query('SELECT sum(amount) AS s FROM north')
    assert.deepEqual(view.rows, [{ s: 12.5 }])
    const explained = await db.query("EXPLAIN SELECT * FROM sales WHERE region = 'n'")
    assert.ok(explained.rows.some((row) => String(row['plan']).includes('sales_region')), 'the row store uses the new index')
    await db.query('DROP TABLE totals')
    await assert.rejects(db.query('SELECT * FROM totals'), (error: unknown) => error instanceof StrataError && error.code === 'UNDEFINED_TABLE')
    await assert.rejects(db.query('SELECT count(*) FROM totals'), (error: unknown) => error instanceof StrataError && error.code === 'UNDEFINED_TABLE')
    assert.deepEqual((await db.query('SHOW TABLES')).rows.map((row) => row['name']), ['north', 'sales'])
  })

  test('CREATE INDEX is in the catalog through RENAME COLUMN, DROP COLUMN, DROP INDEX, a rollback, a restart and DROP TABLE', async () => {
    const rejectsWith = (code: string) => (error: unknown) => error instanceof StrataError && error.code === code
    const directory = temporaryDirectory('indexes')
    try {
      let db = await open(directory.path)
      await db.exec(`CREATE TABLE items (id INTEGER PRIMARY KEY, sku TEXT, shelf INTEGER, note TEXT);
        INSERT INTO items VALUES (1, 'a', 1, 'x'), (2, 'b', 1, 'y');
        CREATE UNIQUE INDEX items_sku ON items (sku);
        CREATE INDEX ON items (shelf, sku);
        CREATE INDEX items_note ON items (note);
        CREATE INDEX IF NOT EXISTS items_note ON items (shelf)`)
      await assert.rejects(db.query('CREATE INDEX items_note ON items (shelf)'), rejectsWith('DUPLICATE_TABLE'))
      // The primary key's index is items_pkey to PostgreSQL clients; no other index may take the name.
      await assert.rejects(db.query('CREATE INDEX items_pkey ON items (shelf)'), rejectsWith('DUPLICATE_TABLE'))
      await assert.rejects(db.query('CREATE UNIQUE INDEX items_some ON items (sku) WHERE shelf > 1'), rejectsWith('NOT_SUPPORTED'))
      // Unnamed again: PostgreSQL's next name.
      await db.query('CREATE INDEX ON items (shelf, sku)')
      await db.query('ALTER TABLE items RENAME COLUMN sku TO code')
      // As in PostgreSQL, dropping a column drops the indexes on it.
      await db.query('ALTER TABLE items DROP COLUMN note')
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.query('CREATE INDEX items_later ON items (shelf)')
          throw new Error('roll back')
        }),
        /roll back/,
      )
      await db.query('DROP INDEX items_shelf_sku_idx1')
      await assert.rejects(db.query('DROP INDEX items_shelf_sku_idx1'), rejectsWith('UNDEFINED_TABLE'))
      await db.query('DROP INDEX IF EXISTS items_shelf_sku_idx1')
      await db.close()

      db = await open(directory.path)
      await assert.rejects(db.query("INSERT INTO items VALUES (3, 'a', 2)"), rejectsWith('CONSTRAINT_VIOLATION'))
      await db.query("INSERT INTO items VALUES (3, 'c', 2)")
      const explained = await db.query('EXPLAIN SELECT * FROM items WHERE shelf = 1')
      assert.ok(explained.rows.some((row) => String(row['plan']).includes('items_shelf_sku_idx')), 'the row store uses the index after a restart')
      assert.deepEqual(await bothStores(db, 'SELECT * FROM items ORDER BY id'), [
        { id: 1, code: 'a', shelf: 1 },
        { id: 2, code: 'b', shelf: 1 },
        { id: 3, code: 'c', shelf: 2 },
      ])
      await db.close()

      const engine = await Engine.open(directory.path, {})
      try {
        assert.deepEqual(engine.catalogSnapshot.tables.get('items')!.indexes, [
          { name: 'items_sku', columns: ['code'], unique: true },
          { name: 'items_shelf_sku_idx', columns: ['shelf', 'code'], unique: false },
        ])
        // DROP TABLE takes its indexes along: the names are free for a new table.
        await engine.execute(engine.newSession(), 'DROP TABLE items; CREATE TABLE items (id INTEGER PRIMARY KEY, code TEXT); CREATE INDEX items_sku ON items (code)', undefined)
        assert.deepEqual(engine.catalogSnapshot.tables.get('items')!.indexes, [{ name: 'items_sku', columns: ['code'], unique: false }])
      } finally {
        await engine.close()
      }
    } finally {
      directory.remove()
    }
  })

  test('DDL inside a rolled-back transaction leaves nothing behind', async () => {
    await using db = await open()
    await db.query('CREATE TABLE keep (id INTEGER PRIMARY KEY)')
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.query('CREATE TABLE gone (id INTEGER)')
        await tx.query('INSERT INTO gone VALUES (1)')
        await tx.query('ALTER TABLE keep ADD COLUMN extra TEXT')
        const inside = await tx.query('SELECT count(*) AS n FROM gone')
        assert.deepEqual(inside.rows, [{ n: 1 }], 'the transaction sees its own new table in the column store')
        throw new Error('roll back')
      }),
      /roll back/,
    )
    assert.deepEqual(await db.tables(), ['keep'])
    assert.deepEqual((await db.query('DESCRIBE keep')).rows.map((row) => row['column_name']), ['id'])
    await assert.rejects(db.query('SELECT * FROM gone'), (error: unknown) => error instanceof StrataError && error.code === 'UNDEFINED_TABLE')
    const commits = await db.query('SELECT count(*) AS n FROM strata.transactions')
    assert.deepEqual(commits.rows, [{ n: 1 }])
  })

  test('a table without a primary key gets a hidden row id that SELECT * does not show', async () => {
    await using db = await open()
    await db.exec("CREATE TABLE log (msg TEXT); INSERT INTO log VALUES ('a'), ('a'), ('b')")
    await db.query("UPDATE log SET msg = 'c' WHERE msg = 'b'")
    await db.query("DELETE FROM log WHERE msg = 'a'")
    assert.deepEqual(await bothStores(db, 'SELECT * FROM log'), [{ msg: 'c' }])
  })
})
