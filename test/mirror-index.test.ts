/**
 * The mirror's key index (src/sync/mirror.ts, keyIndexName): a table gets one in DuckDB the first time
 * a sync removes keys from it (UPDATE, DELETE), so a step's cost follows the rows it changes rather
 * than the table's size; a table only inserted into never gets one; a rebuild (ALTER TABLE) drops it
 * with the table, and the next removal makes it again. Both stores answer alike throughout.
 */
import * as assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { test } from 'node:test'
import { Engine } from '../src/engine/engine.js'

test('the mirror indexes a table’s key once a sync removes keys from it; inserts alone never do', async (t) => {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-mirror-index-'))
  const engine = await Engine.open(directory, {})
  t.after(async () => {
    await engine.close()
    fs.rmSync(directory, { recursive: true, force: true })
  })
  const session = engine.newSession()
  const run = async (sql: string, params: readonly unknown[] = [], options: { readonly engine?: 'row' | 'column' } = {}): Promise<unknown[]> =>
    (await engine.executeSingle(session, sql, params, options)).rows.map((row) => ({ ...row }))
  const indexed = async (): Promise<string[]> =>
    (await engine.columnStoreQuery(session, `SELECT table_name FROM duckdb_indexes() WHERE schema_name = 'strata_mirror' ORDER BY table_name`, [], {})).rows.map((row) => String((row as unknown[])[0]))
  // Both stores hold the same rows (a column-store read waits for the sync to reach the last commit).
  const sameOnBoth = async (table: string): Promise<void> => {
    const sql = `SELECT * FROM ${table} ORDER BY id`
    assert.deepEqual(await run(sql, [], { engine: 'column' }), await run(sql, [], { engine: 'row' }))
  }

  await run('CREATE TABLE appended (id INTEGER PRIMARY KEY, v INTEGER)')
  await run('CREATE TABLE changed (id INTEGER PRIMARY KEY, v INTEGER, note VARCHAR)')
  for (let id = 1; id <= 300; id++) {
    await run('INSERT INTO appended VALUES ($1, $2)', [id, id])
    await run('INSERT INTO changed VALUES ($1, $2, $3)', [id, id, `n${id}`])
  }
  await sameOnBoth('changed')
  assert.deepEqual(await indexed(), [], 'inserts alone make no index')

  // A transaction's own changes reach its column-store reads through an overlay that is rolled back:
  // it removes keys from the mirror's table too, and leaves no index behind.
  await run('BEGIN')
  await run('UPDATE changed SET v = -1 WHERE id = 5')
  assert.deepEqual(await run('SELECT sum(v) AS s FROM changed', [], { engine: 'column' }), [{ s: 300 * 301 / 2 - 5 - 1 }])
  await run('ROLLBACK')
  assert.deepEqual(await indexed(), [], 'a transaction\'s overlay makes no index')

  await run('UPDATE changed SET v = v * 10 WHERE id IN (3, 30, 300)')
  await sameOnBoth('changed')
  assert.deepEqual(await indexed(), ['changed'], 'the first UPDATE the sync applies makes the index')
  await run('DELETE FROM changed WHERE id % 7 = 0')
  await run('UPDATE changed SET note = NULL WHERE id < 50')
  await sameOnBoth('changed')
  await sameOnBoth('appended')
  assert.deepEqual(await indexed(), ['changed'])

  // ALTER TABLE rebuilds the mirror's table: the index goes with it, and comes back with the next removal.
  await run('ALTER TABLE changed ADD COLUMN w INTEGER')
  await sameOnBoth('changed')
  assert.deepEqual(await indexed(), [])
  await run('UPDATE changed SET w = id WHERE id > 250')
  await sameOnBoth('changed')
  assert.deepEqual(await indexed(), ['changed'])

  // A table dropped takes its index along; one created under the same name starts without.
  await run('DROP TABLE changed')
  await run('CREATE TABLE changed (id INTEGER PRIMARY KEY, v INTEGER)')
  await run('INSERT INTO changed VALUES (1, 1)')
  await sameOnBoth('changed')
  assert.deepEqual(await indexed(), [])
})
