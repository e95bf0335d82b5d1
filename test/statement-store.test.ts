/**
 * Statements kept across restarts (src/engine/statement-store.ts): what a process ran is stored at
 * close, and the next process runs those texts before its parser has loaded, with the same answers;
 * entries of another version are not used; texts that cannot be stored are left out.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import Database from 'better-sqlite3'
import { open } from '../src/index.js'
import { temporaryDirectory } from './helpers.js'

const run = promisify(execFile)
const worker = fileURLToPath(new URL('./statement-store-worker.js', import.meta.url))

const statements = [
  { sql: 'SELECT * FROM items WHERE id = $1', params: [7] },
  { sql: 'SELECT name, price FROM items WHERE price > $1 ORDER BY id LIMIT 3', params: ['2.50'] },
  { sql: 'SELECT count(*) AS n, sum(price) AS total FROM items', params: [] },
  // Answered from a printed tree (a catalog read): if the parser is still loading it runs again once it is there.
  { sql: "SELECT table_name FROM information_schema.tables WHERE table_name = 'items'", params: [] },
]

function plain(rows: unknown): string {
  return JSON.stringify(rows, (_key, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value))
}

async function childRun(directory: string, scratch: string): Promise<{ rows: unknown; parserLoaded: boolean }[]> {
  const file = join(scratch, 'statements.json')
  writeFileSync(file, JSON.stringify(statements))
  const { stdout } = await run(process.execPath, [worker, directory, file], { timeout: 60_000 })
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as { rows: unknown; parserLoaded: boolean }[]
}

describe('statements kept across restarts', () => {
  test('the next process runs the stored texts before its parser loads, with the answers a fresh parse gives', async () => {
    const scratch = temporaryDirectory('statement-store')
    try {
      const directory = join(scratch.path, 'data')
      // The expected answers: the same statements on a copy of the data, parsed by this process.
      const expected: string[] = []
      {
        await using db = await open(directory)
        await db.query('CREATE TABLE items (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, price DECIMAL(8,2))')
        await db.insert('items', Array.from({ length: 20 }, (_, index) => ({ id: index + 1, name: `item ${index + 1}`, price: `${index}.25` })))
        await using reference = await open(':memory:')
        await reference.query('CREATE TABLE items (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, price DECIMAL(8,2))')
        await reference.insert('items', Array.from({ length: 20 }, (_, index) => ({ id: index + 1, name: `item ${index + 1}`, price: `${index}.25` })))
        for (const statement of statements) {
          expected.push(plain((await reference.query(statement.sql, statement.params)).rows))
          // Run here too, so this process stores them at close.
          await db.query(statement.sql, statement.params)
        }
        // Writes are not stored (a read that needs the parser after all runs again; a write would not be run twice).
        await db.query('UPDATE items SET price = price + 1 WHERE id = $1', [3])
        await db.query('UPDATE items SET price = price - 1 WHERE id = $1', [3])
      }
      const file = new Database(join(directory, 'strata.sqlite'), { readonly: true })
      const stored = file.prepare('SELECT text, version FROM _strata_statements').all() as { text: string; version: string }[]
      file.close()
      for (const statement of statements) assert.ok(stored.some((row) => row.text === statement.sql), `stored: ${statement.sql}`)
      assert.ok(!stored.some((row) => row.text.startsWith('UPDATE')), 'a write is not stored')
      assert.ok(stored.every((row) => row.version.includes('@pgsql/parser')), 'entries carry the parser version')

      const first = await childRun(directory, scratch.path)
      assert.deepEqual(first.map((result) => plain(result.rows)), expected)
      // The first statement came back before the parser had loaded: it ran from the store.
      assert.equal(first[0]!.parserLoaded, false, 'the first statement waited for the parser')

      // Every entry another version's: they are not used, and the answers are the same (the child
      // waits for its parser instead).
      const tamper = new Database(join(directory, 'strata.sqlite'))
      tamper.prepare("UPDATE _strata_statements SET version = 'another version'").run()
      tamper.close()
      const second = await childRun(directory, scratch.path)
      assert.deepEqual(second.map((result) => plain(result.rows)), expected)
      assert.equal(second[0]!.parserLoaded, true, 'an entry of another version was used')
    } finally {
      scratch.remove()
    }
  })

  test('only single plain statements are stored: not several at once, not those with time clauses, not over-long texts', async () => {
    const scratch = temporaryDirectory('statement-store-kinds')
    try {
      const directory = join(scratch.path, 'data')
      const long = `SELECT id FROM t WHERE id IN (${Array.from({ length: 2_000 }, (_, index) => index).join(', ')})`
      {
        await using db = await open(directory)
        await db.query('CREATE TABLE t (id INTEGER PRIMARY KEY)')
        await db.exec('INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)')
        await db.query('SELECT * FROM t FOR SYSTEM_TIME ALL WHERE id = 1')
        await db.query(long)
        await db.query('SELECT id FROM t WHERE id = $1', [1])
      }
      const file = new Database(join(directory, 'strata.sqlite'), { readonly: true })
      const texts = (file.prepare('SELECT text FROM _strata_statements').all() as { text: string }[]).map((row) => row.text)
      file.close()
      assert.ok(texts.includes('SELECT id FROM t WHERE id = $1'))
      assert.ok(!texts.some((text) => text.includes('; INSERT')), 'a text of two statements is not stored')
      assert.ok(!texts.some((text) => text.includes('SYSTEM_TIME')), 'a statement with a time clause is not stored')
      assert.ok(!texts.includes(long), 'an over-long text is not stored')
    } finally {
      scratch.remove()
    }
  })
})
