/**
 * A source read from MQTT (Mosquitto on 127.0.0.1:1883, as on CI): messages published before and after
 * the source exists arrive as batches, a stream over the source sees them, a reopen resumes without loss
 * or repeats, a redelivery of committed messages whose acknowledgements were lost is not taken twice,
 * the broker going away shows in SHOW SOURCES and loses nothing, and SIGKILLs while messages are
 * published leave every message exactly once. Each test uses topics and client ids of its own and
 * removes its sessions from the broker afterwards.
 */
import * as assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import * as path from 'node:path'
import { test } from 'node:test'
import Sqlite from 'better-sqlite3'
import { connectAsync, type MqttClient } from 'mqtt'
import { open, type Database } from '../src/index.js'
import { assertRefused, brokerProxy, openTemporary, sortedRows, temporaryDirectory } from './helpers.js'
import { base, count, sourceKillLoop, waitFor } from './source-kill.js'

const broker = 'mqtt://127.0.0.1:1883'

async function shown(db: Database, name = 'ticks'): Promise<Record<string, unknown>> {
  return (await db.query('SHOW SOURCES')).rows.find((row) => row['name'] === name)!
}

/**
 * A topic and a client id of this test's own, with the client's persistent session made on the broker
 * before the source exists (so messages published from now on are kept for it), a publisher (QoS 1) of
 * JSON objects or raw text, and the session removed when the test ends.
 */
async function mqttTopic(t: { after: (fn: () => Promise<void>) => void }, suffix: string): Promise<{ topic: string; clientId: string; publish: (event: object | string) => Promise<void> }> {
  const unique = `${process.pid}_${Date.now()}_${suffix}`
  const topic = `strata/test/${unique}/ticks`
  const clientId = `st-${randomBytes(8).toString('hex')}`
  const session = await connectAsync(broker, { clientId, protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 600 } })
  // The source's own filter: a second, overlapping one in the same session would have every message sent twice.
  await session.subscribeAsync(topic, { qos: 1, rh: 2 })
  await session.endAsync()
  const publisher: MqttClient = await connectAsync(broker, { protocolVersion: 5 })
  t.after(async () => {
    await publisher.endAsync()
    // A clean start with no expiry ends the session and what it still holds.
    const cleaner = await connectAsync(broker, { clientId, protocolVersion: 5, clean: true, properties: { sessionExpiryInterval: 0 } })
    await cleaner.endAsync()
  })
  return { topic, clientId, publish: async (event) => void (await publisher.publishAsync(topic, typeof event === 'string' ? event : JSON.stringify(event), { qos: 1 })) }
}

test('an MQTT source: messages become batches, a stream follows them, a reopen resumes without loss or repeats, a bad message stops it', { timeout: 60_000 }, async (t) => {
  const { topic, clientId, publish: publishEvent } = await mqttTopic(t, 'reopen')
  const publish = async (from: number, to: number): Promise<void> => {
    for (let id = from; id < to; id++) await publishEvent({ id, k: id % 3 === 0 ? 'a' : 'b', v: id, ts: new Date(base + id * 1000).toISOString() })
  }
  // Published before the source exists: kept in its session.
  await publish(0, 40)
  const directory = temporaryDirectory('mqtt')
  t.after(() => directory.remove())
  let db = await open(directory.path)
  try {
    await db.query(`CREATE SOURCE ticks (id INTEGER NOT NULL, k VARCHAR, v INTEGER, ts TIMESTAMP, WATERMARK FOR ts) WITH (connector = 'mqtt', topic = '${topic}', client_id = '${clientId}', qos = 1)`)
    await db.query("CREATE STREAM sums AS SELECT k, window_start, window_end, count(*) AS n, sum(v) AS total FROM ticks GROUP BY k, tumble(ts, INTERVAL '10' SECOND)")
    await waitFor('the first 40 messages', async () => (await count(db, 'SELECT count(*) AS n FROM ticks')) === 40)
    await publish(40, 70)
    await waitFor('70 messages', async () => (await count(db, 'SELECT count(*) AS n FROM ticks')) === 70)
    const row = await shown(db)
    assert.equal(row['connector'], `mqtt ${topic} at 127.0.0.1:1883`)
    assert.equal(row['connector_offset'], 70)
    assert.equal(row['connector_error'], null)
  } finally {
    await db.close()
  }
  // Published while the database is closed: kept by the broker in the session, read after the reopen.
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
    assert.equal((await shown(db))['connector_offset'], 100)
    assert.equal(await count(db, 'SELECT count(*) AS n FROM ticks'), 100)
    await db.query('DROP SOURCE ticks CASCADE')
  } finally {
    await db.close()
  }
})

test('an MQTT source: committed messages redelivered after their acknowledgements were lost are not taken twice; a broker away shows and loses nothing', { timeout: 60_000 }, async (t) => {
  const { topic, clientId, publish: publishEvent } = await mqttTopic(t, 'redeliver')
  const publish = async (from: number, to: number): Promise<void> => {
    for (let id = from; id < to; id++) await publishEvent({ id, ts: new Date(base + id * 1000).toISOString() })
  }
  const proxy = await brokerProxy(t, { host: '127.0.0.1', port: 1883 })
  const directory = temporaryDirectory('mqtt-redeliver')
  t.after(() => directory.remove())
  const create = `CREATE SOURCE ticks (id INTEGER NOT NULL, ts TIMESTAMP, WATERMARK FOR ts) WITH (connector = 'mqtt', topic = '${topic}', server = '${proxy.server}', client_id = '${clientId}')`
  let db = await open(directory.path)
  try {
    await db.query(create)
    await publish(0, 1)
    await waitFor('the first message', async () => (await count(db, 'SELECT count(*) AS n FROM ticks')) === 1)
    // From here the broker's messages arrive and commit, but the acknowledgements never reach it.
    proxy.holdUpstream(true)
    await publish(1, 21)
    await waitFor('21 messages', async () => (await count(db, 'SELECT count(*) AS n FROM ticks')) === 21)
  } finally {
    await db.close()
  }
  proxy.holdUpstream(false)
  db = await open(directory.path)
  try {
    // The broker sends messages 1–20 again (DUP); their receipts say they are in already.
    await publish(21, 31)
    await waitFor('31 messages', async () => (await count(db, 'SELECT count(*) AS n FROM ticks')) >= 31)
    await new Promise((resolve) => setTimeout(resolve, 300))
    assert.equal(await count(db, 'SELECT count(*) AS n FROM ticks'), 31)
    assert.equal(await count(db, 'SELECT count(DISTINCT id) AS n FROM ticks'), 31)
    // The broker goes away: the error shows, the connector retries, and what was published meanwhile arrives once it is back.
    await db.query('CREATE STREAM IF NOT EXISTS tick_ids AS SELECT id FROM ticks')
    proxy.down()
    await waitFor('the connector error', async () => (await shown(db))['connector_error'] !== null)
    assert.match(String((await shown(db))['connector_error']), /MQTT broker/)
    // A stream over the source shows its connector's error too.
    assert.match(String((await db.query('SHOW STREAMS')).rows.find((row) => row['name'] === 'tick_ids')!['error']), /MQTT broker/)
    await publish(31, 50)
    proxy.up()
    await waitFor('50 messages', async () => (await count(db, 'SELECT count(*) AS n FROM ticks')) >= 50)
    await waitFor('the error cleared', async () => (await shown(db))['connector_error'] === null)
    assert.equal((await db.query('SHOW STREAMS')).rows.find((row) => row['name'] === 'tick_ids')!['error'], null)
    assert.equal(await count(db, 'SELECT count(*) AS n FROM ticks'), 50)
    assert.equal(await count(db, 'SELECT count(DISTINCT id) AS n FROM ticks'), 50)
  } finally {
    await db.close()
  }
})

test('an MQTT source without client_id keeps the session CREATE SOURCE made for it across a reopen', { timeout: 30_000 }, async (t) => {
  const unique = `${process.pid}_${Date.now()}_own`
  const topic = `strata/test/${unique}/ticks`
  const publisher = await connectAsync(broker, { protocolVersion: 5 })
  t.after(() => publisher.endAsync())
  const directory = temporaryDirectory('mqtt-own')
  t.after(() => directory.remove())
  let db = await open(directory.path)
  let next = 0
  try {
    await db.query(`CREATE SOURCE ticks (id INTEGER NOT NULL) WITH (connector = 'mqtt', topic = '${topic}')`)
    // Until the connector has subscribed nothing is kept for it: publish until one arrives.
    await waitFor('the subscription', async () => {
      await publisher.publishAsync(topic, JSON.stringify({ id: next++ }), { qos: 1 })
      return (await count(db, 'SELECT count(*) AS n FROM ticks')) > 0
    })
    await waitFor('every probe', async () => (await count(db, 'SELECT count(*) AS n FROM ticks')) === (await count(db, `SELECT count(*) AS n FROM ticks WHERE id < ${next}`)))
  } finally {
    await db.close()
  }
  const before = next
  for (let index = 0; index < 10; index++) await publisher.publishAsync(topic, JSON.stringify({ id: next++ }), { qos: 1 })
  // The id CREATE SOURCE made, read from the catalog, to remove the session from the broker afterwards.
  const catalog = new Sqlite(path.join(directory.path, 'strata.sqlite'), { readonly: true })
  const definition = catalog.prepare("SELECT definition FROM _strata_catalog WHERE name = 'ticks'").get() as { definition: string }
  catalog.close()
  const clientId = (JSON.parse(definition.definition) as { source: { connector: { clientId: string } } }).source.connector.clientId
  assert.match(clientId, /^strata-[0-9a-f]{16}$/)
  t.after(async () => {
    const cleaner = await connectAsync(broker, { clientId, protocolVersion: 5, clean: true, properties: { sessionExpiryInterval: 0 } })
    await cleaner.endAsync()
  })
  db = await open(directory.path)
  try {
    await waitFor('the messages published while closed', async () => (await count(db, `SELECT count(*) AS n FROM ticks WHERE id >= ${before}`)) === 10)
    await db.query('DROP SOURCE ticks')
  } finally {
    await db.close()
  }
})

test("CREATE SOURCE … WITH (connector = 'mqtt' | 'rabbitmq' …) refuses what it cannot read", async (t) => {
  const db = await openTemporary(t, 'mqtt-errors')
  await assertRefused((sql) => db.query(sql), [
    ["CREATE SOURCE s (v INTEGER) WITH (connector = 'mqtt')", 'SYNTAX_ERROR', /topic = '…' is required/],
    ["CREATE SOURCE s (v INTEGER) WITH (connector = 'mqtt', topic = 'a/b', subject = 'x')", 'SYNTAX_ERROR', /unknown option subject \(known: .*topic, server, qos, client_id, format\)/],
    ["CREATE SOURCE s (v INTEGER) WITH (connector = 'mqtt', topic = 'a/b', qos = 2)", 'NOT_SUPPORTED', /qos = 2/],
    ["CREATE SOURCE s (v INTEGER) WITH (connector = 'mqtt', topic = 'a/b', qos = 5)", 'SYNTAX_ERROR', /0 or 1/],
    ["CREATE SOURCE s (v INTEGER) WITH (connector = 'mqtt', topic = 'a/b', client_id = 'a-client-id-longer-than-23')", 'SYNTAX_ERROR', /client_id/],
    ["CREATE SOURCE s (v INTEGER) WITH (connector = 'mqtt', topic = 'a/b', format = 'avro')", 'NOT_SUPPORTED', /avro/],
    ["CREATE SOURCE s (v INTEGER) WITH (connector = 'rabbitmq')", 'SYNTAX_ERROR', /queue = '…' is required/],
    ["CREATE SOURCE s (v INTEGER) WITH (connector = 'rabbitmq', queue = 'q', topic = 'x')", 'SYNTAX_ERROR', /unknown option topic/],
    ["CREATE SOURCE s (v INTEGER) WITH (topic = 'a/b')", 'SYNTAX_ERROR', /belongs to a connector \(connector = 'mqtt'\)/],
    ["CREATE SOURCE s (v INTEGER) WITH (colour = 'red')", 'SYNTAX_ERROR', /unknown option colour/],
    ["CREATE SOURCE s (v INTEGER) WITH (connector = 'postgres-cdc', table = 't', hostname = 'h')", 'SYNTAX_ERROR', /unknown option hostname \(known: .*table, server, database, user, slot, publication, snapshot\)/],
    ["CREATE SOURCE s (v INTEGER) WITH (connector = 'kafka', topic = 't')", 'NOT_SUPPORTED', /kafka.*not yet \(nats, mqtt, rabbitmq, postgres-cdc exist\)/],
    ["CREATE SOURCE s (v INTEGER) WITH (connector = 'carrier-pigeon')", 'NOT_SUPPORTED', /no such connector/],
  ])
})

test('SIGKILL while an MQTT source reads: after restarts every published message is in the source exactly once', { timeout: 60_000 }, async (t) => {
  const { topic, clientId, publish } = await mqttTopic(t, 'kill')
  const statement = `CREATE SOURCE IF NOT EXISTS ticks (id INTEGER NOT NULL, ts TIMESTAMP, WATERMARK FOR ts) WITH (connector = 'mqtt', topic = '${topic}', client_id = '${clientId}')`
  // Publishing about 300 a second, slow enough that Mosquitto's queue for the session never fills while
  // no worker runs: beyond max_queued_messages (1,000 by default) the broker drops messages, which no
  // client can prevent (at 20 every 20 ms, 2 runs in 6 lost some, and Mosquitto's log said it dropped them).
  await sourceKillLoop(t, { name: 'mqtt', statement, publish, pauseMs: 60 })
})
