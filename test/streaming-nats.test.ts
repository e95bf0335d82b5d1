/**
 * A source read from NATS JetStream (the broker on 127.0.0.1:4222, as on CI): messages published
 * before and after the source exists arrive as batches, a stream over the source sees them, and a
 * reopen resumes after the last committed message — none lost, none twice. Each run uses a JetStream
 * stream and subject of its own and deletes the stream afterwards.
 */
import * as assert from 'node:assert/strict'
import { test } from 'node:test'
import { connect, StringCodec, type NatsConnection } from 'nats'
import { open, StrataError } from '../src/index.js'
import { openTemporary, sortedRows, temporaryDirectory } from './helpers.js'
import { base, count, sourceKillLoop, waitFor } from './source-kill.js'


/**
 * A JetStream stream of this test's own on the broker, deleted when the test ends: its subject, and a
 * publisher of JSON objects (or, for a poison message, raw text) to it.
 */
async function jetStream(t: { after: (fn: () => Promise<void>) => void }, suffix: string): Promise<{ subject: string; publish: (event: object | string) => Promise<void> }> {
  const unique = `${process.pid}_${Date.now()}_${suffix}`
  const streamName = `STRATA_TEST_${unique}`
  const subject = `strata.test.${unique}.ticks`
  const nc: NatsConnection = await connect({ servers: '127.0.0.1:4222' })
  const manager = await nc.jetstreamManager()
  await manager.streams.add({ name: streamName, subjects: [`strata.test.${unique}.>`] })
  t.after(async () => {
    await manager.streams.delete(streamName).catch(() => undefined)
    await nc.close()
  })
  const js = nc.jetstream()
  const codec = StringCodec()
  return { subject, publish: async (event) => void (await js.publish(subject, codec.encode(typeof event === 'string' ? event : JSON.stringify(event)))) }
}

test('a NATS JetStream source: messages become batches, a stream follows them, a reopen resumes exactly after the last committed message', { timeout: 60_000 }, async (t) => {
  const { subject, publish: publishEvent } = await jetStream(t, 'reopen')
  const publish = async (from: number, to: number): Promise<void> => {
    for (let id = from; id < to; id++) {
      await publishEvent({ id, k: id % 3 === 0 ? 'a' : 'b', v: id, ts: new Date(base + id * 1000).toISOString() })
    }
  }
  await publish(0, 40)
  const directory = temporaryDirectory('nats')
  t.after(() => directory.remove())
  let db = await open(directory.path)
  try {
    await db.query(`CREATE SOURCE ticks (id INTEGER NOT NULL, k VARCHAR, v INTEGER, ts TIMESTAMP, WATERMARK FOR ts) WITH (connector = 'nats', subject = '${subject}')`)
    await db.query("CREATE STREAM sums AS SELECT k, window_start, window_end, count(*) AS n, sum(v) AS total FROM ticks GROUP BY k, tumble(ts, INTERVAL '10' SECOND)")
    await waitFor('the first 40 messages', async () => (await count(db, 'SELECT count(*) AS n FROM ticks')) === 40)
    await publish(40, 70)
    await waitFor('70 messages', async () => (await count(db, 'SELECT count(*) AS n FROM ticks')) === 70)
    const shown = (await db.query('SHOW SOURCES')).rows[0]!
    assert.equal(shown['connector'], `nats ${subject} at 127.0.0.1:4222`)
    assert.equal(shown['connector_offset'], 70)
    assert.equal(shown['connector_error'], null)
  } finally {
    await db.close()
  }
  // Published while the database is closed: read after the reopen, from message 71 on.
  await publish(70, 100)
  db = await open(directory.path)
  try {
    await waitFor('100 messages after the reopen', async () => (await count(db, 'SELECT count(*) AS n FROM ticks')) === 100)
    // Nothing twice, nothing missing.
    assert.equal(await count(db, 'SELECT count(DISTINCT id) AS n FROM ticks'), 100)
    assert.equal(await count(db, 'SELECT count(*) AS n FROM ticks WHERE id BETWEEN 0 AND 99'), 100)
    await db.flush('ticks')
    const expected = await db.query(
      "SELECT k, time_bucket(INTERVAL '10 seconds', ts, TIMESTAMP '1970-01-01') AS window_start, time_bucket(INTERVAL '10 seconds', ts, TIMESTAMP '1970-01-01') + INTERVAL '10 seconds' AS window_end, count(*) AS n, sum(v) AS total FROM ticks GROUP BY ALL",
      [],
      { engine: 'column' },
    )
    assert.deepEqual(sortedRows((await db.query('SELECT * FROM sums', [], { engine: 'row' })).rows), sortedRows(expected.rows))
    // A message that does not fit the source stops it there, with the error shown, rather than being skipped.
    await publishEvent('{"id": "not a number"}')
    await waitFor('the connector error', async () => (await db.query('SHOW SOURCES')).rows[0]!['connector_error'] !== null)
    assert.match(String((await db.query('SHOW SOURCES')).rows[0]!['connector_error']), /id/)
    assert.equal((await db.query('SHOW SOURCES')).rows[0]!['connector_offset'], 100)
    await db.query('DROP SOURCE ticks CASCADE')
  } finally {
    await db.close()
  }
})

test('CREATE SOURCE … WITH (connector …) refuses what it cannot read', async (t) => {
  const db = await openTemporary(t, 'nats-errors')
  const refused: readonly [string, string, RegExp][] = [
    ["CREATE SOURCE s (v INTEGER) WITH (connector = 'kafka', subject = 'x')", 'NOT_SUPPORTED', /kafka/],
    ["CREATE SOURCE s (v INTEGER) WITH (connector = 'nats')", 'SYNTAX_ERROR', /subject/],
    ["CREATE SOURCE s (v INTEGER) WITH (subject = 'x')", 'SYNTAX_ERROR', /belongs to a connector/],
    ["CREATE SOURCE s (v INTEGER) WITH (connector = 'nats', subject = 'x', format = 'avro')", 'NOT_SUPPORTED', /avro/],
  ]
  for (const [sql, code, message] of refused) {
    await assert.rejects(db.query(sql), (error: unknown) => error instanceof StrataError && error.code === code && message.test(error.message), sql)
  }
})

test('SIGKILL while a NATS source reads: after restarts every published message is in the source exactly once', { timeout: 90_000 }, async (t) => {
  const { subject, publish } = await jetStream(t, 'kill')
  const statement = `CREATE SOURCE IF NOT EXISTS ticks (id INTEGER NOT NULL, ts TIMESTAMP, WATERMARK FOR ts) WITH (connector = 'nats', subject = '${subject}')`
  await sourceKillLoop(t, { name: 'nats', statement, publish, pauseMs: 5 })
})
