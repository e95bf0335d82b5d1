/**
 * The column store's file is derived from the ledger: one DuckDB cannot open — cut short by a SIGKILL
 * while DuckDB was creating it (a CI run of the RabbitMQ kill loop left a 4,096-byte file), or
 * overwritten — is set aside and made anew from the row store, instead of failing every analytical
 * read for good. The row store's commits are all there, and the column store answers as it does.
 */
import assert from 'node:assert/strict'
import { readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { open } from '../src/index.js'
import { sortedRows, temporaryDirectory } from './helpers.js'

const damages: readonly [string, (file: string) => void][] = [
  ['cut short after its first block', (file) => truncateSync(file, 4096)],
  ['empty', (file) => truncateSync(file, 0)],
  ['overwritten', (file) => writeFileSync(file, Buffer.alloc(20_000, 7))],
]

for (const [damage, make] of damages) {
  test(`a column store file DuckDB cannot open (${damage}) is set aside and made anew from the row store`, async (t) => {
    const directory = temporaryDirectory('mirror-unreadable')
    t.after(() => directory.remove())
    let db = await open(directory.path)
    await db.query('CREATE TABLE t (id INTEGER PRIMARY KEY, v VARCHAR, amount DECIMAL(12,2))')
    await db.insert('t', Array.from({ length: 500 }, (_, id) => ({ id, v: `v${id}`, amount: `${id}.25` })))
    await db.query("UPDATE t SET v = 'changed' WHERE id < 10")
    assert.equal((await db.query('SELECT count(*) AS n FROM t', [], { engine: 'column' })).rows[0]!['n'], 500)
    await db.close()
    const mirror = join(directory.path, 'mirror.duckdb')
    make(mirror)
    db = await open(directory.path)
    try {
      const query = 'SELECT id, v, amount FROM t'
      const column = await db.query(query, [], { engine: 'column' })
      assert.equal(column.engine, 'column')
      assert.deepEqual(sortedRows(column.rows), sortedRows((await db.query(query, [], { engine: 'row' })).rows))
      assert.equal(column.rows.length, 500)
      // History reads on the column store work too: the new file mirrors it on first use.
      const versions = await db.query('SELECT count(*) AS n FROM t FOR SYSTEM_TIME ALL', [], { engine: 'column' })
      assert.equal(Number(versions.rows[0]!['n']), 510)
    } finally {
      await db.close()
    }
    const kept = readdirSync(directory.path).filter((name) => name.startsWith('mirror.duckdb.unreadable-'))
    assert.equal(kept.length, 1, `the unreadable file is kept beside the new one (${readdirSync(directory.path).join(', ')})`)
    assert.ok(statSync(mirror).size > 4096, 'the new file holds the rebuilt mirror')
  })
}
