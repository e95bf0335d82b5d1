/** Engine.stream: a query's rows in batches as the stores produce them (the HTTP API's NDJSON mode). */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { Engine } from '../src/engine/engine.js'
import { loadParser } from '../src/sql/parse.js'

async function collect(batches: AsyncIterable<unknown[][]>): Promise<{ batches: number; rows: unknown[][] }> {
  let count = 0
  const rows: unknown[][] = []
  for await (const batch of batches) {
    count++
    rows.push(...batch)
  }
  return { batches: count, rows }
}

describe('Engine.stream', () => {
  test('a row-store scan and a column-store query arrive in several batches, in order, with SPEC 3 values', async () => {
    await loadParser()
    const engine = await Engine.open(':memory:', {})
    try {
      const session = engine.newSession()
      await engine.execute(session, 'CREATE TABLE t (id INTEGER PRIMARY KEY, at TIMESTAMP)', undefined)
      await engine.execute(session, "INSERT INTO t SELECT i, TIMESTAMP '2024-01-01' + i * INTERVAL '1 second' FROM range(10000) r(i)", undefined)
      const scan = await engine.stream(session, 'SELECT id, at FROM t WHERE id >= $1 ORDER BY id', [0])
      assert.equal(scan.engine, 'row')
      assert.deepEqual(scan.columns, [
        { name: 'id', type: 'INTEGER', nullable: false },
        { name: 'at', type: 'TIMESTAMP', nullable: true },
      ])
      const scanned = await collect(scan.batches)
      assert.ok(scanned.batches >= 4, `expected several batches, got ${scanned.batches}`)
      assert.equal(scanned.rows.length, 10_000)
      assert.deepEqual(scanned.rows[9_999], [9_999, new Date(Date.UTC(2024, 0, 1) + 9_999_000)])
      const series = await engine.stream(session, 'SELECT i, i * 2 AS twice FROM range(100000) r(i) ORDER BY i', undefined)
      assert.equal(series.engine, 'column')
      const seriesRows = await collect(series.batches)
      assert.ok(seriesRows.batches >= 10, `expected many chunks, got ${seriesRows.batches}`)
      assert.equal(seriesRows.rows.length, 100_000)
      assert.deepEqual(seriesRows.rows[99_999], [99_999, 199_998])
    } finally {
      await engine.close()
    }
  })

  test('leaving early releases the connection; other work goes on; a write is handed over as one batch', async () => {
    await loadParser()
    const engine = await Engine.open(':memory:', {})
    try {
      const session = engine.newSession()
      await engine.execute(session, 'CREATE TABLE t (id INTEGER PRIMARY KEY)', undefined)
      await engine.execute(session, 'INSERT INTO t SELECT i FROM range(5000) r(i)', undefined)
      for (const sql of ['SELECT id FROM t', 'SELECT id, count(*) AS n FROM t GROUP BY id']) {
        const streamed = await engine.stream(session, sql, undefined)
        for await (const batch of streamed.batches) {
          assert.ok(batch.length > 0)
          break
        }
      }
      // Writes and reads still run, and the connections the streams held were given back.
      await engine.execute(session, 'INSERT INTO t VALUES (99999)', undefined)
      const write = await engine.stream(session, 'INSERT INTO t VALUES (100000) RETURNING id', undefined)
      assert.equal(typeof write.txId, 'number')
      assert.deepEqual((await collect(write.batches)).rows, [[100_000]])
      const [count] = await engine.execute(session, 'SELECT count(*) AS n FROM t', undefined)
      assert.deepEqual(count!.rows, [{ n: 5_002 }])
    } finally {
      await engine.close()
    }
  })
})
