/**
 * A source read from a RabbitMQ stream queue (the broker on 127.0.0.1:5672, guest, as on CI): messages
 * published before and after the source exists arrive as batches, a stream over the source sees them,
 * a reopen resumes exactly after the last committed offset, the broker going away shows in SHOW
 * SOURCES and loses nothing, a queue that is not a stream queue is refused with the reason shown, and
 * SIGKILLs while messages are published leave every message exactly once. Each test declares queues
 * of its own and deletes them afterwards.
 */
import * as assert from 'node:assert/strict'
import { test } from 'node:test'
import { connect } from 'amqplib'
import { open, type Database } from '../src/index.js'
import { brokerProxy, sortedRows, temporaryDirectory } from './helpers.js'
import { base, count, sourceKillLoop, waitFor } from './source-kill.js'


async function shown(db: Database, name = 'ticks'): Promise<Record<string, unknown>> {
  return (await db.query('SHOW SOURCES')).rows.find((row) => row['name'] === name)!
}

/**
 * A queue of this test's own (a stream queue unless `classic`), deleted when the test ends, and a
 * publisher of JSON objects (or raw text) to it that waits for the broker's confirmation.
 */
async function rabbitQueue(t: { after: (fn: () => Promise<void>) => void }, suffix: string, kind: 'stream' | 'classic' = 'stream'): Promise<{ queue: string; publish: (event: object | string) => Promise<void> }> {
  const queue = `strata_test_${process.pid}_${Date.now()}_${suffix}`
  const connection = await connect('amqp://127.0.0.1:5672')
  connection.on('error', () => undefined)
  const channel = await connection.createConfirmChannel()
  await channel.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': kind } })
  t.after(async () => {
    await channel.deleteQueue(queue).catch(() => undefined)
    await connection.close()
  })
  return {
    queue,
    publish: async (event) => {
      channel.sendToQueue(queue, Buffer.from(typeof event === 'string' ? event : JSON.stringify(event)), { persistent: true })
      await channel.waitForConfirms()
    },
  }
}

test('a RabbitMQ stream queue source: messages become batches, a stream follows them, a reopen resumes exactly after the committed offset, a bad message stops it', { timeout: 60_000 }, async (t) => {
  const { queue, publish: publishEvent } = await rabbitQueue(t, 'reopen')
  const publish = async (from: number, to: number): Promise<void> => {
    for (let id = from; id < to; id++) await publishEvent({ id, k: id % 3 === 0 ? 'a' : 'b', v: id, ts: new Date(base + id * 1000).toISOString() })
  }
  await publish(0, 40)
  const directory = temporaryDirectory('rabbitmq')
  t.after(() => directory.remove())
  let db = await open(directory.path)
  try {
    await db.query(`CREATE SOURCE ticks (id INTEGER NOT NULL, k VARCHAR, v INTEGER, ts TIMESTAMP, WATERMARK FOR ts) WITH (connector = 'rabbitmq', queue = '${queue}')`)
    await db.query("CREATE STREAM sums AS SELECT k, window_start, window_end, count(*) AS n, sum(v) AS total FROM ticks GROUP BY k, tumble(ts, INTERVAL '10' SECOND)")
    await waitFor('the first 40 messages', async () => (await count(db, 'SELECT count(*) AS n FROM ticks')) === 40)
    await publish(40, 70)
    await waitFor('70 messages', async () => (await count(db, 'SELECT count(*) AS n FROM ticks')) === 70)
    const row = await shown(db)
    assert.equal(row['connector'], `rabbitmq ${queue} at 127.0.0.1:5672`)
    // Stream offsets count from 0: the 70th message has offset 69.
    assert.equal(row['connector_offset'], 69)
    assert.equal(row['connector_error'], null)
  } finally {
    await db.close()
  }
  await publish(70, 100)
  db = await open(directory.path)
  try {
    await waitFor('100 messages after the reopen', async () => (await count(db, 'SELECT count(*) AS n FROM ticks')) === 100)
    await new Promise((resolve) => setTimeout(resolve, 300))
    assert.equal(await count(db, 'SELECT count(*) AS n FROM ticks'), 100)
    assert.equal(await count(db, 'SELECT count(DISTINCT id) AS n FROM ticks WHERE id BETWEEN 0 AND 99'), 100)
    await db.flush('ticks')
    const expected = await db.query(
      "SELECT k, time_bucket(INTERVAL '10 seconds', ts, TIMESTAMP '1970-01-01') AS window_start, time_bucket(INTERVAL '10 seconds', ts, TIMESTAMP '1970-01-01') + INTERVAL '10 seconds' AS window_end, count(*) AS n, sum(v) AS total FROM ticks GROUP BY ALL",
      [],
      { engine: 'column' },
    )
    assert.deepEqual(sortedRows((await db.query('SELECT * FROM sums', [], { engine: 'row' })).rows), sortedRows(expected.rows))
    // A message that does not fit the source stops it there, with the error shown: the good one after it waits.
    await publishEvent('{"id": "not a number"}')
    await publishEvent({ id: 100, k: 'a', v: 100, ts: new Date(base + 100_000).toISOString() })
    await waitFor('the connector error', async () => (await shown(db))['connector_error'] !== null)
    assert.match(String((await shown(db))['connector_error']), /id/)
    await new Promise((resolve) => setTimeout(resolve, 500))
    assert.equal((await shown(db))['connector_offset'], 99)
    assert.equal(await count(db, 'SELECT count(*) AS n FROM ticks'), 100)
    await db.query('DROP SOURCE ticks CASCADE')
  } finally {
    await db.close()
  }
})

test('a RabbitMQ source: a broker away shows and loses nothing; a missing queue and a classic queue are errors in SHOW SOURCES', { timeout: 60_000 }, async (t) => {
  const { queue, publish: publishEvent } = await rabbitQueue(t, 'away')
  const classic = await rabbitQueue(t, 'classic', 'classic')
  const publish = async (from: number, to: number): Promise<void> => {
    for (let id = from; id < to; id++) await publishEvent({ id })
  }
  const proxy = await brokerProxy(t, { host: '127.0.0.1', port: 5672 })
  const directory = temporaryDirectory('rabbitmq-away')
  t.after(() => directory.remove())
  const db = await open(directory.path)
  try {
    await db.query(`CREATE SOURCE ticks (id INTEGER NOT NULL) WITH (connector = 'rabbitmq', queue = '${queue}', server = '${proxy.server}')`)
    await db.query(`CREATE SOURCE missing (id INTEGER) WITH (connector = 'rabbitmq', queue = '${queue}_missing')`)
    await db.query(`CREATE SOURCE classic (id INTEGER) WITH (connector = 'rabbitmq', queue = '${classic.queue}')`)
    await classic.publish({ id: 1 })
    await publish(0, 20)
    await waitFor('20 messages', async () => (await count(db, 'SELECT count(*) AS n FROM ticks')) === 20)
    proxy.down()
    await waitFor('the connector error', async () => (await shown(db))['connector_error'] !== null)
    assert.match(String((await shown(db))['connector_error']), /RabbitMQ|ECONNRESET|closed/)
    await publish(20, 40)
    proxy.up()
    await waitFor('40 messages', async () => (await count(db, 'SELECT count(*) AS n FROM ticks')) >= 40)
    await waitFor('the error cleared', async () => (await shown(db))['connector_error'] === null)
    await new Promise((resolve) => setTimeout(resolve, 300))
    assert.equal(await count(db, 'SELECT count(*) AS n FROM ticks'), 40)
    assert.equal(await count(db, 'SELECT count(DISTINCT id) AS n FROM ticks'), 40)
    await waitFor('the missing queue error', async () => (await shown(db, 'missing'))['connector_error'] !== null)
    assert.match(String((await shown(db, 'missing'))['connector_error']), /has no queue/)
    await waitFor('the classic queue error', async () => (await shown(db, 'classic'))['connector_error'] !== null)
    assert.match(String((await shown(db, 'classic'))['connector_error']), /not a stream queue/)
    assert.equal(await count(db, 'SELECT count(*) AS n FROM classic'), 0)
  } finally {
    await db.close()
  }
})

test('SIGKILL while a RabbitMQ source reads: after restarts every published message is in the source exactly once', { timeout: 60_000 }, async (t) => {
  const { queue, publish } = await rabbitQueue(t, 'kill')
  const statement = `CREATE SOURCE IF NOT EXISTS ticks (id INTEGER NOT NULL, ts TIMESTAMP, WATERMARK FOR ts) WITH (connector = 'rabbitmq', queue = '${queue}')`
  await sourceKillLoop(t, { name: 'rabbitmq', statement, publish, pauseMs: 5 })
})
