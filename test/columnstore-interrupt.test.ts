/**
 * An interrupt that comes before DuckDB has begun the query (it is still queued for a worker thread)
 * must still stop it: DuckDB itself forgets such an interrupt, so the column store repeats it while
 * that call is in flight (src/storage/columnstore/columnstore.ts, Session.interrupt).
 */
import * as assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { test } from 'node:test'
import { openColumnStore } from '../src/storage/columnstore/columnstore.js'
import { StrataError } from '../src/util/errors.js'

test('an interrupt right after a query is sent stops it, however early it comes', async (t) => {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-interrupt-'))
  const store = await openColumnStore(path.join(directory, 'mirror.duckdb'))
  t.after(async () => {
    await store.close()
    fs.rmSync(directory, { recursive: true, force: true })
  })
  const session = await store.connect()
  for (let round = 0; round < 20; round++) {
    // Hours of work if nothing stops it.
    const running = session.run('SELECT sum(i * i) AS s FROM range(100000000000) t(i)')
    session.interrupt()
    let timer: NodeJS.Timeout | undefined
    const outcome = await Promise.race([
      running.then(
        () => 'finished',
        (error: unknown) => error,
      ),
      new Promise((resolve) => (timer = setTimeout(() => resolve('still running'), 10_000))),
    ])
    clearTimeout(timer)
    assert.ok(outcome instanceof StrataError, `round ${round}: ${String(outcome)}`)
    assert.match(outcome.message, /interrupt/i)
  }
  // The session still works afterwards.
  assert.deepEqual((await session.run('SELECT 42 AS answer')).rows, [[42]])
})
