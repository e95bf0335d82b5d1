/**
 * Child process for test/statement-store.test.ts: opens a data directory in a fresh process (so the
 * parser's WebAssembly starts loading only now) and runs the given statements at once, one after the
 * other, as an application starting up would.
 *
 * Usage: node dist/test/statement-store-worker.js <dataDirectory> <statements.json>
 * where statements.json is `[{ "sql": …, "params": […] }, …]`. Prints one JSON line: for each
 * statement its rows and whether the parser had loaded when its result came back.
 */
import { readFileSync, writeSync } from 'node:fs'
import { open } from '../src/index.js'
import { parserReady } from '../src/sql/wasm.js'

// `node --test dist/test/` runs every .js file under a test/ folder, this one included, without
// arguments: then there is nothing to do (it is not a test by itself).
if (process.argv.length === 2) process.exit(0)
const [directory, statementsFile] = process.argv.slice(2)
if (directory === undefined || statementsFile === undefined) {
  process.stderr.write('usage: statement-store-worker <dataDirectory> <statements.json>\n')
  process.exit(2)
}
const statements = JSON.parse(readFileSync(statementsFile, 'utf8')) as { sql: string; params: unknown[] }[]
const db = await open(directory)
const results: { rows: unknown; parserLoaded: boolean }[] = []
for (const statement of statements) {
  const result = await db.query(statement.sql, statement.params)
  results.push({ rows: result.rows, parserLoaded: parserReady() })
}
await db.close()
writeSync(1, `${JSON.stringify(results, (_key, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value))}\n`)
