/**
 * A bulk insert hands its rows to the column store's sync (src/sync/syncer.ts, offer), which applies
 * that commit from them instead of reading them back from the row store. The rows it hands over must
 * be exactly what CDC would have read — the key text SQLite spells for each row above all, since later
 * updates and deletes find the mirror's rows by it. Differential: after the insert, and again after
 * updates and deletes of some of its rows, both stores answer alike, for tables of every key kind; and
 * the tables that can hand their rows over did (else these checks would only test the usual path).
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { Engine } from '../src/engine/engine.js'
import { limits } from '../src/util/limits.js'
import { sortedRows } from './helpers.js'

let engine: Engine

before(async () => {
  engine = await Engine.open(':memory:', {})
  await engine.execute(
    engine.session,
    `
    CREATE TABLE by_int (id INTEGER PRIMARY KEY, device TEXT NOT NULL, ts TIMESTAMP, v DOUBLE, n BIGINT, ok BOOLEAN DEFAULT true,
      meta JSON, raw BLOB, day DATE, price DECIMAL(8,2), huge DECIMAL(30,4), at TIMESTAMP DEFAULT now());
    CREATE TABLE by_big (id BIGINT PRIMARY KEY, v DOUBLE);
    CREATE TABLE by_text (code TEXT PRIMARY KEY, v INTEGER);
    CREATE TABLE by_pair (a INTEGER, b VARCHAR, v DOUBLE, PRIMARY KEY (a, b));
    CREATE TABLE by_time (ts TIMESTAMP PRIMARY KEY, v INTEGER);
    CREATE TABLE by_day (day DATE PRIMARY KEY, v INTEGER);
    CREATE TABLE by_price (price DECIMAL(8,2) PRIMARY KEY, v INTEGER);
    CREATE TABLE by_double (x DOUBLE PRIMARY KEY, v INTEGER);
    CREATE TABLE by_blob (k BLOB PRIMARY KEY, v INTEGER);
    CREATE TABLE keyless (a INTEGER, b TEXT);
    `,
    undefined,
  )
})

after(async () => {
  await engine.close()
})

const rowCount = Math.max(limits.syncHandoffRowsMin, 1_500)

async function rowsOf(sql: string, store: 'row' | 'column'): Promise<string[]> {
  const [result] = await engine.execute(engine.session, sql, undefined, { engine: store })
  return sortedRows(result!.rows)
}

/** Both stores answer `SELECT *` of `table` alike (the column read waits for the sync: fresh by default). */
async function sameInBothStores(table: string): Promise<void> {
  const sql = `SELECT * FROM ${table}`
  const [row, column] = [await rowsOf(sql, 'row'), await rowsOf(sql, 'column')]
  assert.equal(column.length, row.length, `${table}: row count`)
  assert.deepEqual(column, row, table)
}

/** Inserts `rows` in one bulk insert and says whether the sync applied it from the handed-over rows. */
async function insertAndSync(table: string, columns: readonly string[], rows: readonly (readonly unknown[])[]): Promise<boolean> {
  const stepsBefore = engine.syncStepsFromHandedOverRows
  await engine.bulkInsert(table, columns.map((name) => ({ name })), rows)
  await sameInBothStores(table)
  return engine.syncStepsFromHandedOverRows > stepsBefore
}

/** Updates and deletes some rows (found in the mirror by their key text), then compares again. */
async function changeSomeAndCompare(table: string, where: string): Promise<void> {
  await engine.execute(engine.session, `UPDATE ${table} SET v = v + 1 WHERE ${where}`, undefined)
  await engine.execute(engine.session, `DELETE FROM ${table} WHERE NOT (${where}) AND v IS NOT NULL AND v < 300`, undefined)
  await sameInBothStores(table)
}

describe('a bulk insert hands its rows to the column store', () => {
  test('INTEGER keys, with every column type, defaults and NULLs', async () => {
    const rows = Array.from({ length: rowCount }, (_, id) => [
      id,
      `d${id % 7}`,
      new Date(Date.UTC(2024, 0, 1) + id * 1000),
      id % 5 === 0 ? null : id / 4,
      BigInt(id) * 1_000_000_007n,
      id % 3 === 0 ? undefined : id % 2 === 0,
      id % 4 === 0 ? null : { id, tags: ['a', 'b'] },
      id % 6 === 0 ? null : new Uint8Array([id % 256, 7]),
      id % 9 === 0 ? null : `2024-02-${String((id % 28) + 1).padStart(2, '0')}`,
      `${id}.25`,
      `12345678901234567890.${String(id % 10_000).padStart(4, '0')}`,
    ])
    const handed = await insertAndSync('by_int', ['id', 'device', 'ts', 'v', 'n', 'ok', 'meta', 'raw', 'day', 'price', 'huge'], rows)
    assert.ok(handed, 'the sync applied the insert from its handed-over rows')
    await changeSomeAndCompare('by_int', 'id % 3 = 0')
  })

  test('BIGINT keys beyond 2^53, TEXT keys, two-column keys, TIMESTAMP, DATE and DECIMAL keys', async () => {
    const cases: { table: string; columns: string[]; rows: unknown[][]; where: string }[] = [
      { table: 'by_big', columns: ['id', 'v'], rows: Array.from({ length: rowCount }, (_, i) => [9_007_199_254_740_993n + BigInt(i) * 3n, i]), where: 'v % 2 = 0' },
      { table: 'by_text', columns: ['code', 'v'], rows: Array.from({ length: rowCount }, (_, i) => [`code/${i}·é ${'x'.repeat(i % 5)}`, i]), where: 'v % 2 = 0' },
      { table: 'by_pair', columns: ['a', 'b', 'v'], rows: Array.from({ length: rowCount }, (_, i) => [i % 50, `b${Math.floor(i / 50)}`, i]), where: 'v % 2 = 0' },
      { table: 'by_time', columns: ['ts', 'v'], rows: Array.from({ length: rowCount }, (_, i) => [new Date(Date.UTC(2020, 0, 1) + i * 60_000), i]), where: 'v % 2 = 0' },
      { table: 'by_day', columns: ['day', 'v'], rows: Array.from({ length: rowCount }, (_, i) => [new Date(Date.UTC(2000, 0, 1) + i * 86_400_000).toISOString().slice(0, 10), i]), where: 'v % 2 = 0' },
      { table: 'by_price', columns: ['price', 'v'], rows: Array.from({ length: rowCount }, (_, i) => [`${i}.${String(i % 100).padStart(2, '0')}`, i]), where: 'v % 2 = 0' },
    ]
    for (const { table, columns, rows, where } of cases) {
      assert.ok(await insertAndSync(table, columns, rows), `${table}: the sync applied the insert from its handed-over rows`)
      await changeSomeAndCompare(table, where)
    }
  })

  test('keys JavaScript cannot spell as SQLite does are read back instead, with the same answer', async () => {
    const cases: { table: string; columns: string[]; rows: unknown[][]; where: string }[] = [
      // A REAL key is `5.0` in SQLite's JSON; a text key with a quote or a control character is escaped.
      { table: 'by_double', columns: ['x', 'v'], rows: Array.from({ length: rowCount }, (_, i) => [i % 2 === 0 ? i : i + 0.5, i]), where: 'v % 2 = 0' },
      { table: 'by_text', columns: ['code', 'v'], rows: Array.from({ length: rowCount }, (_, i) => [`"quoted" ${i}\t\\ ${i % 3 === 0 ? '\u0001' : ''}`, i]), where: 'v % 2 = 0' },
      { table: 'by_blob', columns: ['k', 'v'], rows: Array.from({ length: rowCount }, (_, i) => [new Uint8Array([i % 256, Math.floor(i / 256)]), i]), where: 'v % 2 = 0' },
    ]
    for (const { table, columns, rows, where } of cases) {
      assert.equal(await insertAndSync(table, columns, rows), false, `${table}: read back`)
      await changeSomeAndCompare(table, where)
    }
  })

  test('a table without a primary key: each row is given the row id SQLite would have given it', async () => {
    const rows = (first: number): unknown[][] => Array.from({ length: rowCount }, (_, i) => [first + i, `b${i}`])
    assert.ok(await insertAndSync('keyless', ['a', 'b'], rows(0)))
    // Deleting the last rows leaves AUTOINCREMENT's largest id above the table's: the next ids continue after it.
    await engine.execute(engine.session, `DELETE FROM keyless WHERE a >= ${rowCount - 10} OR a % 7 = 0`, undefined)
    const feed = engine.subscribe({ tables: ['keyless'] })
    assert.ok(await insertAndSync('keyless', ['a', 'b'], rows(rowCount)))
    const keys: unknown[] = []
    for await (const change of feed) {
      keys.push(change.key['_strata_row_id'])
      if (keys.length === rowCount) break
    }
    assert.deepEqual(keys, Array.from({ length: rowCount }, (_, i) => rowCount + 1 + i))
    await engine.execute(engine.session, 'DELETE FROM keyless WHERE a % 3 = 0', undefined)
    await engine.execute(engine.session, "UPDATE keyless SET b = b || '!' WHERE a % 5 = 0", undefined)
    await sameInBothStores('keyless')
  })

  test('a transaction of large multi-row INSERTs hands its rows over; one that does anything else is read back', async () => {
    await engine.execute(engine.session, 'CREATE TABLE stmt (id INTEGER PRIMARY KEY, name TEXT, amount DECIMAL(12,2), at TIMESTAMP DEFAULT now())', undefined)
    const values = (first: number, count: number): { sql: string; params: unknown[] } => {
      const params: unknown[] = []
      const tuples: string[] = []
      for (let id = first; id < first + count; id++) {
        tuples.push(`($${params.length + 1}, $${params.length + 2}, $${params.length + 3})`)
        params.push(id, `name ${id}`, `${id}.${String(id % 100).padStart(2, '0')}`)
      }
      return { sql: `INSERT INTO stmt (id, name, amount) VALUES ${tuples.join(', ')}`, params }
    }
    const run = async (statements: readonly { sql: string; params?: unknown[] }[]): Promise<boolean> => {
      const stepsBefore = engine.syncStepsFromHandedOverRows
      const session = engine.newSession()
      await engine.execute(session, 'BEGIN', undefined)
      for (const { sql, params } of statements) await engine.execute(session, sql, params)
      await engine.execute(session, 'COMMIT', undefined)
      await sameInBothStores('stmt')
      return engine.syncStepsFromHandedOverRows > stepsBefore
    }
    const batches = (first: number): { sql: string; params: unknown[] }[] => Array.from({ length: 5 }, (_, index) => values(first + index * 300, 300))
    assert.ok(await run(batches(0)), 'five INSERTs of 300 rows')
    assert.equal(await run([...batches(10_000), { sql: 'UPDATE stmt SET name = name || $1 WHERE id < 5', params: ['!'] }]), false, 'and an UPDATE')
    assert.equal(await run([...batches(20_000), { sql: 'DELETE FROM stmt WHERE id = 3' }]), false, 'and a DELETE')
    assert.equal(await run([...batches(30_000), values(40_000, 2)]), false, 'and a small INSERT')
    assert.equal(await run([...batches(50_000), { sql: 'INSERT INTO stmt (id, name) VALUES (5, $1) ON CONFLICT (id) DO UPDATE SET name = excluded.name', params: ['x'] }]), false, 'and an upsert')
    assert.equal(await run([values(60_000, 300), { sql: 'SAVEPOINT s' }, values(61_000, 900), { sql: 'ROLLBACK TO SAVEPOINT s' }, values(62_000, 900)]), false, 'rolled back to a savepoint')
    assert.equal(await run([values(70_000, 300), { sql: 'INSERT INTO by_int (id, device) VALUES (999999, $1)', params: ['x'] }, values(71_000, 900)]), false, 'and another table')
    // A failing statement inside the transaction: its rows are not handed over, the others are.
    const stepsBefore = engine.syncStepsFromHandedOverRows
    const session = engine.newSession()
    await engine.execute(session, 'BEGIN', undefined)
    await engine.execute(session, values(80_000, 600).sql, values(80_000, 600).params)
    const clash = values(80_500, 600)
    await assert.rejects(engine.execute(session, clash.sql, clash.params))
    await engine.execute(session, values(81_000, 600).sql, values(81_000, 600).params)
    await engine.execute(session, 'COMMIT', undefined)
    await sameInBothStores('stmt')
    assert.ok(engine.syncStepsFromHandedOverRows > stepsBefore, 'the rows of the statements that succeeded')
    await engine.execute(engine.session, 'UPDATE stmt SET amount = amount + 0.01 WHERE id % 3 = 0', undefined)
    await engine.execute(engine.session, 'DELETE FROM stmt WHERE id % 7 = 0', undefined)
    await sameInBothStores('stmt')
  })

  test('tables made and loaded one after another, with other writes between, before the sync catches up', async () => {
    const stepsBefore = engine.syncStepsFromHandedOverRows
    // Awaited one after another, these settle without the event loop turning, so the sync sees them
    // all in one step (as after a long load), whose catalog is the last one: each table's rows are
    // still taken as handed over.
    for (const name of ['load_a', 'load_b', 'load_c']) {
      await engine.execute(engine.session, `CREATE TABLE ${name} (id INTEGER PRIMARY KEY, v DOUBLE)`, undefined)
      await engine.bulkInsert(name, [{ name: 'id' }, { name: 'v' }], Array.from({ length: rowCount }, (_, i) => [i, i / 3]))
      await engine.bulkInsert(name, [{ name: 'id' }, { name: 'v' }], Array.from({ length: rowCount }, (_, i) => [rowCount + i, i / 7]))
    }
    // Two tables also get a small insert or an update in between: they are read back.
    await engine.execute(engine.session, 'INSERT INTO load_b VALUES (-1, 0.5)', undefined)
    await engine.execute(engine.session, 'UPDATE load_c SET v = v + 1 WHERE id = 3', undefined)
    await engine.bulkInsert('load_a', [{ name: 'id' }, { name: 'v' }], Array.from({ length: rowCount }, (_, i) => [2 * rowCount + i, i]))
    for (const name of ['load_a', 'load_b', 'load_c']) await sameInBothStores(name)
    assert.ok(engine.syncStepsFromHandedOverRows > stepsBefore)
    for (const name of ['load_a', 'load_b', 'load_c']) {
      await engine.execute(engine.session, `DELETE FROM ${name} WHERE id % 5 = 0`, undefined)
      await sameInBothStores(name)
    }
  })

  test('a file import that creates its table is copied to the column store from the rows it inserted', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'strata-handoff-'))
    try {
      const file = join(directory, 'people.csv')
      writeFileSync(file, `id,name,score\n${Array.from({ length: rowCount }, (_, i) => `${i},name ${i},${i / 8}`).join('\n')}\n`)
      const stepsBefore = engine.syncStepsFromHandedOverRows
      await engine.importFile(file, { table: 'people' })
      await sameInBothStores('people')
      assert.ok(engine.syncStepsFromHandedOverRows > stepsBefore, 'the sync copied the new table from the handed-over rows')
      await engine.execute(engine.session, 'DELETE FROM people WHERE id % 4 = 0', undefined)
      await engine.execute(engine.session, 'UPDATE people SET score = score + 1 WHERE id % 3 = 0', undefined)
      await sameInBothStores('people')
    } finally {
      rmSync(directory, { recursive: true, force: true })
    }
  })

  test('a bulk insert into a table created just before, and one after a schema change, are applied alike', async () => {
    await engine.execute(engine.session, 'CREATE TABLE fresh (id INTEGER PRIMARY KEY, v INTEGER)', undefined)
    assert.ok(await insertAndSync('fresh', ['id', 'v'], Array.from({ length: rowCount }, (_, i) => [i, i])))
    // Two inserts and a schema change between them, all before the sync runs: the later insert is read back.
    await engine.bulkInsert('fresh', [{ name: 'id' }, { name: 'v' }], Array.from({ length: rowCount }, (_, i) => [rowCount + i, i]))
    await engine.execute(engine.session, 'ALTER TABLE fresh ADD COLUMN w INTEGER DEFAULT 5', undefined)
    await engine.bulkInsert('fresh', [{ name: 'id' }, { name: 'v' }, { name: 'w' }], Array.from({ length: rowCount }, (_, i) => [2 * rowCount + i, i, i]))
    await sameInBothStores('fresh')
    await changeSomeAndCompare('fresh', 'id % 5 = 0')
  })
})
