/**
 * Sinks (SPEC 8) against the real brokers on this machine (NATS JetStream 4222, Mosquitto 1883,
 * RabbitMQ 5672) and Parquet files read back by DuckDB: the messages a sink delivers are the
 * relation's changes (insert, update, delete of an EMIT CHANGES stream, in commit order) in JSON and
 * in Debezium's envelope; a reopen resumes from the committed position without repeats; a broker that
 * goes away shows its error in SHOW SINKS and gets everything once it is back. Every broker object is
 * this run's own (a random suffix) and removed afterwards.
 */
import * as assert from 'node:assert/strict'
import { copyFileSync, existsSync, readdirSync } from 'node:fs'
import * as net from 'node:net'
import { join } from 'node:path'
import { test } from 'node:test'
import { DuckDBInstance } from '@duckdb/node-api'
import amqp from 'amqplib'
import BetterSqlite3 from 'better-sqlite3'
import mqtt from 'mqtt'
import { AckPolicy, connect, type NatsConnection } from 'nats'
import { open, type Database } from '../src/index.js'
import { assertRefused, openTemporary, temporaryDirectory } from './helpers.js'

const base = Date.UTC(2026, 0, 5, 14, 30, 0)
const unique = (): string => `${process.pid}_${Date.now()}_${Math.floor(Math.random() * 1e6)}`

async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** A value as a sink's JSON carries it (bigints as numbers, timestamps in ISO 8601 with µs). */
function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_key, item: unknown) => (typeof item === 'bigint' ? Number(item) : item)))
}

interface Expected {
  readonly op: string
  readonly tx: number
  readonly index: number
  readonly before: unknown
  readonly after: unknown
}

/** The relation's changes as its change feed gives them, each with its index in its transaction: what a sink must deliver. */
async function changesOf(db: Database, table: string, count: number): Promise<Expected[]> {
  const feed = db.subscribe({ tables: [table], fromTx: 1 })
  const changes: Expected[] = []
  let index = 0
  const timer = setTimeout(() => feed.close(), 10_000)
  try {
    for await (const change of feed) {
      index = changes.length > 0 && changes[changes.length - 1]!.tx === change.txId ? index + 1 : 0
      changes.push({ op: change.op, tx: change.txId, index, before: plain(change.before), after: plain(change.after) })
      if (changes.length === count) break
    }
  } finally {
    clearTimeout(timer)
    feed.close()
  }
  assert.equal(changes.length, count, `${table} has ${count} changes`)
  return changes
}

const sourceSql = 'CREATE SOURCE ticks (k VARCHAR, v INTEGER, ts TIMESTAMP, WATERMARK FOR ts)'
// Each group's first event inserts its row, the second updates it, the third deletes it (HAVING).
const streamSql = 'CREATE STREAM totals AS SELECT k, count(*) AS n, sum(v) AS total FROM ticks GROUP BY k HAVING count(*) < 3'

/**
 * Events `from` … `to` − 1 (`from` even) in batches of two, one for each of two groups, each group in
 * three batches running: so each event is one change of `totals` (insert, update, delete) and each
 * batch a transaction of two.
 */
async function pushEvents(db: Database, from: number, to: number): Promise<void> {
  for (let start = from; start < to; start += 2) {
    const batch = start / 2
    const events = []
    for (let id = start; id < Math.min(start + 2, to); id++) events.push({ k: `${id % 2 === 0 ? 'a' : 'b'}${Math.floor(batch / 3)}`, v: id, ts: new Date(base + id * 1000) })
    await db.push('ticks', events)
  }
}

function jsonMessage(text: string): Expected {
  const message = JSON.parse(text) as Record<string, unknown>
  assert.equal(typeof message['ts'], 'string')
  return { op: String(message['op']), tx: Number(message['tx']), index: Number(message['index']), before: message['before'], after: message['after'] }
}

const debeziumOperations: Record<string, string> = { c: 'insert', u: 'update', d: 'delete' }

function debeziumMessage(text: string, table: string): Expected {
  const message = JSON.parse(text) as { before: unknown; after: unknown; op: string; source: Record<string, unknown>; transaction: Record<string, unknown>; ts_ms: number }
  assert.equal(message.source['table'], table)
  assert.equal(message.source['connector'], 'strata')
  assert.equal(typeof message.ts_ms, 'number')
  assert.equal(message.transaction['id'], String(message.source['txId']))
  return { op: debeziumOperations[message.op]!, tx: Number(message.source['txId']), index: Number(message.transaction['total_order']) - 1, before: message.before, after: message.after }
}

/** A JetStream stream of this test's own, deleted when the test ends, and every message on one of its subjects. */
async function jetStream(t: { after: (fn: () => Promise<void>) => void }): Promise<{ prefix: string; messages: (subject: string) => Promise<{ id: string | undefined; text: string }[]> }> {
  const suffix = unique()
  const streamName = `STRATA_SINK_TEST_${suffix}`
  const nc: NatsConnection = await connect({ servers: '127.0.0.1:4222' })
  const manager = await nc.jetstreamManager()
  await manager.streams.add({ name: streamName, subjects: [`strata.sinktest.${suffix}.>`] })
  t.after(async () => {
    await manager.streams.delete(streamName).catch(() => undefined)
    await nc.close()
  })
  return {
    prefix: `strata.sinktest.${suffix}`,
    messages: async (subject) => {
      const info = await manager.consumers.add(streamName, { filter_subject: subject, ack_policy: AckPolicy.None, inactive_threshold: 10_000_000_000 })
      const consumer = await nc.jetstream().consumers.get(streamName, info.name)
      const pending = info.num_pending
      const found: { id: string | undefined; text: string }[] = []
      if (pending > 0) {
        for await (const message of await consumer.fetch({ max_messages: pending, expires: 2_000 })) {
          found.push({ id: message.headers?.get('Nats-Msg-Id'), text: message.string() })
          if (found.length === pending) break
        }
      }
      await manager.consumers.delete(streamName, info.name).catch(() => undefined)
      return found
    },
  }
}

test('a NATS sink: JSON and Debezium messages equal the stream\'s changes; a reopen resumes without repeats; a lost position is delivered again and deduped', { timeout: 60_000 }, async (t) => {
  const { prefix, messages } = await jetStream(t)
  const directory = temporaryDirectory('sink-nats')
  t.after(() => directory.remove())
  let db = await open(directory.path)
  const json = `${prefix}.json`
  const debezium = `${prefix}.debezium`
  const check = async (count: number): Promise<void> => {
    const expected = await changesOf(db, 'totals', count)
    assert.deepEqual(new Set(expected.map((change) => change.op)), new Set(['insert', 'update', 'delete']))
    await waitFor(`${count} messages on each subject`, async () => (await messages(json)).length >= count && (await messages(debezium)).length >= count)
    const jsonMessages = await messages(json)
    assert.deepEqual(jsonMessages.map((message) => jsonMessage(message.text)), expected)
    assert.deepEqual((await messages(debezium)).map((message) => debeziumMessage(message.text, 'totals')), expected)
    // Each message's id names the sink, the transaction that created it, the change's transaction and its index.
    assert.match(jsonMessages[0]!.id ?? '', new RegExp(`^to_nats-\\d+-${expected[0]!.tx}-0$`))
  }
  try {
    await db.query(sourceSql)
    await db.query(streamSql)
    await pushEvents(db, 0, 4)
    // Created after the stream has rows: the sink starts from the relation's first change.
    await db.query(`CREATE SINK to_nats FROM totals WITH (connector = 'nats', subject = '${json}')`)
    await db.query(`CREATE SINK to_nats_debezium FROM totals WITH (connector = 'nats', subject = '${debezium}', format = 'debezium')`)
    await pushEvents(db, 4, 12)
    await check(12)
    const shown = (await db.query('SHOW SINKS')).rows
    assert.deepEqual(shown.map((row) => [row['name'], row['relation'], row['connector'], row['format'], row['error']]), [
      ['to_nats', 'totals', `nats ${json} at 127.0.0.1:4222`, 'json', null],
      ['to_nats_debezium', 'totals', `nats ${debezium} at 127.0.0.1:4222`, 'debezium', null],
    ])
  } finally {
    await db.close()
  }
  // Reopened: the sinks resume after their positions (nothing repeated), and deliver what comes next.
  db = await open(directory.path)
  try {
    await pushEvents(db, 12, 18)
    await check(18)
    await waitFor('the positions after the reopen', async () => {
      const rows = (await db.query('SHOW SINKS')).rows
      const last = (await changesOf(db, 'totals', 18)).at(-1)!.tx
      return rows.every((row) => row['position'] === last)
    })
  } finally {
    await db.close()
  }
  // As if the process had died after publishing and before recording its position: everything is
  // published again, and JetStream drops each repeat by its Nats-Msg-Id.
  const sqlite = new BetterSqlite3(join(directory.path, 'strata.sqlite'))
  sqlite.prepare('UPDATE _strata_sinks SET position_tx = NULL').run()
  sqlite.close()
  db = await open(directory.path)
  try {
    const last = (await changesOf(db, 'totals', 18)).at(-1)!.tx
    await waitFor('the positions after the republish', async () => (await db.query('SHOW SINKS')).rows.every((row) => row['position'] === last))
    await check(18)
    assert.equal((await messages(json)).length, 18)
  } finally {
    await db.close()
  }
})

/** A TCP proxy to a broker that the test takes down and brings back on the same port. */
async function proxyTo(port: number): Promise<{ port: number; down: () => Promise<void>; up: () => Promise<void> }> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1')
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('error', () => undefined)
      socket.on('close', () => {
        sockets.delete(socket)
        client.destroy()
        upstream.destroy()
      })
    }
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const listening = (server.address() as net.AddressInfo).port
  return {
    port: listening,
    down: async () => {
      const closed = new Promise((resolve) => server.close(resolve))
      for (const socket of sockets) socket.destroy()
      await closed
    },
    up: () => new Promise<void>((resolve) => server.listen(listening, '127.0.0.1', resolve)),
  }
}

test('an MQTT sink: JSON messages equal the stream\'s changes; a broker that goes away shows its error, and gets everything when it is back', { timeout: 60_000 }, async (t) => {
  const topic = `strata/sinktest/${unique()}`
  const subscriber = await mqtt.connectAsync('mqtt://127.0.0.1:1883')
  t.after(async () => {
    await subscriber.endAsync()
  })
  const received: Expected[] = []
  subscriber.on('message', (_topic, payload) => received.push(jsonMessage(payload.toString())))
  await subscriber.subscribeAsync(topic, { qos: 1 })
  const proxy = await proxyTo(1883)
  t.after(() => proxy.down().catch(() => undefined))
  const db = await openTemporary(t, 'sink-mqtt')
  await db.query(sourceSql)
  await db.query(streamSql)
  await db.query(`CREATE SINK to_mqtt FROM totals WITH (connector = 'mqtt', topic = '${topic}', server = '127.0.0.1:${proxy.port}', qos = 1)`)
  await pushEvents(db, 0, 6)
  await waitFor('6 messages', () => received.length >= 6)
  await proxy.down()
  await pushEvents(db, 6, 12)
  await waitFor('the error in SHOW SINKS', async () => typeof (await db.query('SHOW SINKS')).rows[0]!['error'] === 'string')
  await proxy.up()
  await waitFor('the error cleared', async () => (await db.query('SHOW SINKS')).rows[0]!['error'] === null)
  // At least once: a change may come again after the broker returns; (tx, index) tells the repeat.
  const seen = new Set<string>()
  await waitFor('12 distinct changes', () => new Set(received.map((change) => `${change.tx}/${change.index}`)).size >= 12)
  const distinct = received.filter((change) => {
    const id = `${change.tx}/${change.index}`
    if (seen.has(id)) return false
    seen.add(id)
    return true
  })
  assert.deepEqual(distinct, await changesOf(db, 'totals', 12))
})

test('a RabbitMQ sink: Debezium messages on a queue equal the stream\'s changes; a missing queue is an error in SHOW SINKS', { timeout: 60_000 }, async (t) => {
  const queue = `strata.sinktest.${unique()}`
  const connection = await amqp.connect('amqp://127.0.0.1:5672')
  const channel = await connection.createChannel()
  await channel.assertQueue(queue, { durable: false })
  t.after(async () => {
    await channel.deleteQueue(queue).catch(() => undefined)
    await connection.close()
  })
  const received: { id: unknown; change: Expected }[] = []
  await channel.consume(queue, (message) => {
    if (message !== null) received.push({ id: message.properties.messageId, change: debeziumMessage(message.content.toString(), 'totals') })
  }, { noAck: true })
  const db = await openTemporary(t, 'sink-rabbitmq')
  await db.query(sourceSql)
  await db.query(streamSql)
  await db.query(`CREATE SINK to_rabbit FROM totals WITH (connector = 'rabbitmq', queue = '${queue}', format = 'debezium')`)
  await db.query(`CREATE SINK to_nowhere FROM totals WITH (connector = 'rabbitmq', queue = '${queue}.missing')`)
  await pushEvents(db, 0, 9)
  await waitFor('9 messages', () => received.length >= 9)
  const expected = await changesOf(db, 'totals', 9)
  assert.deepEqual(received.map((message) => message.change), expected)
  assert.match(String(received[0]!.id), new RegExp(`^to_rabbit-\\d+-${expected[0]!.tx}-0$`))
  await waitFor('the missing queue in SHOW SINKS', async () => /NOT_FOUND|404/.test(String((await db.query('SHOW SINKS')).rows.find((row) => row['name'] === 'to_nowhere')!['error'])))
})

test('a Parquet sink: files partitioned by window_start read back by DuckDB equal the stream\'s table; a table\'s changelog gives its rows; a re-run replaces files', { timeout: 60_000 }, async (t) => {
  const directory = temporaryDirectory('sink-parquet')
  t.after(() => directory.remove())
  const windows = join(directory.path, 'lake', 'windows')
  const accounts = join(directory.path, 'lake', 'accounts')
  const duckdb = await DuckDBInstance.create(':memory:')
  const reader = await duckdb.connect()
  t.after(() => {
    reader.closeSync()
    duckdb.closeSync()
  })
  const read = async (sql: string): Promise<string> => JSON.stringify((await reader.runAndReadAll(sql)).getRowsJson())
  const windowFiles = `read_parquet('${windows}/**/*.parquet', hive_partitioning = true, hive_types = {'window_start': TIMESTAMP})`
  const accountFiles = `read_parquet('${accounts}/*.parquet')`
  const current = `SELECT id, balance FROM (SELECT *, row_number() OVER (PARTITION BY id ORDER BY _strata_tx DESC, _strata_index DESC) AS r FROM ${accountFiles}) WHERE r = 1 AND _strata_op <> 'delete' ORDER BY id`
  const same = async (db: Database): Promise<boolean> => {
    if (!existsSync(windows) || !existsSync(accounts)) return false
    const table = (await db.query('SELECT k, window_start, window_end, n, total FROM sums ORDER BY window_start, k', [], { engine: 'column' })).rows
    const expected = JSON.stringify(table.map((row) => [row['k'], (row['window_start'] as Date).toISOString().replace('T', ' ').replace('.000Z', ''), (row['window_end'] as Date).toISOString().replace('T', ' ').replace('.000Z', ''), String(row['n']), String(row['total'])]))
    const files = await read(`SELECT k, CAST(window_start AS VARCHAR), CAST(window_end AS VARCHAR), CAST(n AS VARCHAR), CAST(total AS VARCHAR) FROM ${windowFiles} ORDER BY window_start, k`).catch(() => '')
    const rows = JSON.stringify((await db.query('SELECT id, balance FROM accounts ORDER BY id')).rows.map((row) => [String(row['id']), String(row['balance'])]))
    const changelog = await read(current.replace('SELECT id, balance FROM (', 'SELECT CAST(id AS VARCHAR), CAST(balance AS VARCHAR) FROM (')).catch(() => '')
    return table.length > 0 && files === expected && changelog === rows
  }
  let db = await open(directory.path)
  try {
    await db.query(sourceSql)
    await db.query("CREATE STREAM sums AS SELECT k, window_start, window_end, count(*) AS n, sum(v) AS total FROM ticks GROUP BY k, tumble(ts, INTERVAL '10' SECOND)")
    await db.query('CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER)')
    await db.query(`CREATE SINK windows_lake FROM sums WITH (connector = 'parquet', path = '${windows}')`)
    await db.query(`CREATE SINK accounts_lake FROM accounts WITH (connector = 'parquet', path = '${accounts}')`)
    for (let id = 0; id < 40; id += 4) await db.push('ticks', [0, 1, 2, 3].map((step) => ({ k: `k${(id + step) % 3}`, v: id + step, ts: new Date(base + (id + step) * 1000) })))
    await db.query('INSERT INTO accounts VALUES (1, 10), (2, 20), (3, 30)')
    await db.query('UPDATE accounts SET balance = balance + 1 WHERE id >= 2')
    await db.query('DELETE FROM accounts WHERE id = 1')
    await waitFor('the Parquet files to equal the tables', () => same(db))
    // One directory per window, DuckDB's Hive layout; a file per delivery named by its transactions.
    const partitions = readdirSync(windows).filter((name) => name.startsWith('window_start='))
    assert.equal(partitions.length, 3)
    for (const partition of partitions) for (const file of readdirSync(join(windows, partition))) assert.match(file, /^part-\d+-\d+\.parquet$/)
  } finally {
    await db.close()
  }
  // As if the process had died after writing files and before recording them: files after the
  // recorded position are removed when the sink starts and written again, never twice.
  const first = readdirSync(accounts).find((name) => name.startsWith('part-'))!
  copyFileSync(join(accounts, first), join(accounts, 'part-999990-999999.parquet'))
  const sqlite = new BetterSqlite3(join(directory.path, 'strata.sqlite'))
  sqlite.prepare("UPDATE _strata_sinks SET position_tx = NULL WHERE name = 'windows_lake'").run()
  sqlite.close()
  db = await open(directory.path)
  try {
    for (let id = 40; id < 60; id += 4) await db.push('ticks', [0, 1, 2, 3].map((step) => ({ k: `k${(id + step) % 3}`, v: id + step, ts: new Date(base + (id + step) * 1000) })))
    await db.query('INSERT INTO accounts VALUES (4, 40)')
    await db.query('UPDATE accounts SET balance = 0 WHERE id = 2')
    await waitFor('the Parquet files to equal the tables after the reopen', () => same(db))
    assert.ok(!existsSync(join(accounts, 'part-999990-999999.parquet')), 'the unrecorded file is gone')
    assert.equal((await db.query('SHOW SINKS')).rows.every((row) => row['error'] === null), true)
  } finally {
    await db.close()
  }
})

test('CREATE/DROP/SHOW SINKS: what is refused, CASCADE, and a rolled-back CREATE', async (t) => {
  const db = await openTemporary(t, 'sink-ddl')
  const lake = temporaryDirectory('sink-ddl-lake')
  t.after(() => lake.remove())
  await db.query(sourceSql)
  await db.query(streamSql)
  await db.query('CREATE TABLE plain (id INTEGER PRIMARY KEY)')
  await db.query('CREATE VIEW seen AS SELECT * FROM plain')
  const parquet = `connector = 'parquet', path = '${lake.path}'`
  await assertRefused((sql) => db.query(sql), [
    [`CREATE SINK s FROM missing WITH (${parquet})`, 'UNDEFINED_TABLE', /relation "missing" does not exist/],
    [`CREATE SINK s FROM seen WITH (${parquet})`, 'NOT_SUPPORTED', /view "seen"/],
    ['CREATE SINK s FROM totals', 'SYNTAX_ERROR', /WITH/],
    ["CREATE SINK s FROM totals WITH (subject = 'x')", 'SYNTAX_ERROR', /connector = /],
    ["CREATE SINK s FROM totals WITH (connector = 'kafka', topic = 'x')", 'NOT_SUPPORTED', /kafka/],
    ["CREATE SINK s FROM totals WITH (connector = 'nats')", 'SYNTAX_ERROR', /subject = '…' is required/],
    ["CREATE SINK s FROM totals WITH (connector = 'nats', subject = 'x', topic = 'y')", 'SYNTAX_ERROR', /unknown option topic/],
    ["CREATE SINK s FROM totals WITH (connector = 'nats', subject = 'x', format = 'avro')", 'NOT_SUPPORTED', /avro/],
    ["CREATE SINK s FROM totals WITH (connector = 'mqtt', topic = 'x', qos = 3)", 'INVALID_PARAMETER', /qos/],
    ["CREATE SINK s FROM totals WITH (connector = 'rabbitmq')", 'SYNTAX_ERROR', /exchange = '…' or queue = '…'/],
    ['CREATE SINK s AS SELECT * FROM totals', 'NOT_SUPPORTED', /AS SELECT/],
    [`CREATE SINK _strata_s FROM totals WITH (${parquet})`, 'SYNTAX_ERROR', /reserved/],
    ['DROP SINK missing', 'UNDEFINED_TABLE', /sink "missing" does not exist/],
  ])
  await db.query(`CREATE SINK from_stream FROM totals WITH (${parquet})`)
  await db.query(`CREATE SINK IF NOT EXISTS from_stream FROM totals WITH (${parquet})`)
  await db.query(`CREATE SINK from_source FROM ticks WITH (${parquet})`)
  await db.query(`CREATE SINK from_table FROM plain WITH (${parquet})`)
  await assertRefused((sql) => db.query(sql), [
    [`CREATE SINK from_stream FROM totals WITH (${parquet})`, 'DUPLICATE_TABLE', /sink "from_stream" already exists/],
    ['DROP STREAM totals', 'NOT_SUPPORTED', /the sink "from_stream" reads it \(DROP STREAM totals CASCADE/],
    ['DROP TABLE plain', 'NOT_SUPPORTED', /the sink "from_table" reads it \(DROP TABLE plain CASCADE/],
    [streamSql.replace('CREATE STREAM', 'CREATE OR REPLACE STREAM'), 'NOT_SUPPORTED', /the sink "from_stream"/],
  ])
  assert.deepEqual((await db.query('SHOW SINKS')).rows.map((row) => [row['name'], row['relation'], row['format']]), [
    ['from_source', 'ticks', 'parquet'],
    ['from_stream', 'totals', 'parquet'],
    ['from_table', 'plain', 'parquet'],
  ])
  await db.query('DROP TABLE plain CASCADE')
  await db.query('DROP STREAM totals CASCADE')
  await assertRefused((sql) => db.query(sql), [['DROP SOURCE ticks', 'NOT_SUPPORTED', /the sink "from_source" reads it \(DROP SOURCE ticks CASCADE/]])
  await db.query('DROP SINK from_source')
  await db.query('DROP SINK IF EXISTS from_source')
  assert.deepEqual((await db.query('SHOW SINKS')).rows, [])
  // A CREATE SINK that rolls back leaves no sink (and no delivery running for it).
  await db.query('BEGIN')
  await db.query(`CREATE SINK rolled_back FROM ticks WITH (${parquet})`)
  assert.equal((await db.query('SHOW SINKS')).rows.length, 1)
  await db.query('ROLLBACK')
  assert.deepEqual((await db.query('SHOW SINKS')).rows, [])
  await db.query('DROP SOURCE ticks')
})

/** A Kafka Connect Decimal's value (base64 of the unscaled integer, big-endian two's complement) as decimal text at its scale. */
function connectDecimal(base64: string, scale: number): string {
  const bytes = Buffer.from(base64, 'base64')
  let unscaled = 0n
  for (const byte of bytes) unscaled = (unscaled << 8n) | BigInt(byte)
  if (bytes.length > 0 && (bytes[0]! & 0x80) !== 0) unscaled -= 1n << BigInt(8 * bytes.length)
  const sign = unscaled < 0n ? '-' : ''
  const digits = (unscaled < 0n ? -unscaled : unscaled).toString().padStart(scale + 1, '0')
  return scale === 0 ? `${sign}${digits}` : `${sign}${digits.slice(0, -scale)}.${digits.slice(-scale)}`
}

test("a Debezium sink with schemas = 'true': each message is Kafka Connect's schema and payload, every column's value in the type its schema states (int64 beyond 2^53 exact, Decimal bytes, µs timestamps, days)", { timeout: 60_000 }, async (t) => {
  const { prefix, messages } = await jetStream(t)
  const db = await openTemporary(t, 'sink-debezium-schemas')
  const subject = `${prefix}.typed`
  await db.query('CREATE TABLE typed (id BIGINT PRIMARY KEY, flag BOOLEAN, small SMALLINT, mid INTEGER, big BIGINT NOT NULL, real_value DOUBLE, money DECIMAL(20, 4), day DATE, at TIMESTAMP, zoned TIMESTAMPTZ, doc JSON, raw BLOB, label VARCHAR)')
  await db.query(`CREATE SINK typed_out FROM typed WITH (connector = 'nats', subject = '${subject}', format = 'debezium', schemas = 'true')`)
  assert.deepEqual((await db.query('SHOW SINKS')).rows.map((row) => row['format']), ['debezium with schemas'])
  await db.query(
    "INSERT INTO typed VALUES (1, true, -7, 123456, 9007199254740993, 2.5, -12345678901234.5678, DATE '1969-12-31', TIMESTAMP '2026-01-05 14:30:00.123456', TIMESTAMPTZ '2026-01-05 14:30:00.5+00', '{\"a\": [1, 2]}', '\\x00\\xff\\x10'::BLOB, 'text'), " +
      "(2, NULL, NULL, NULL, -9223372036854775808, NULL, 0.0001, DATE '2026-01-05', TIMESTAMP '1960-01-01 00:00:00.000001', NULL, NULL, NULL, NULL)",
  )
  await db.query('UPDATE typed SET money = 0.0128 WHERE id = 2')
  await waitFor('3 messages', async () => (await messages(subject)).length >= 3)
  const found = (await messages(subject)).map((message) => message.text)
  assert.equal(found.length, 3)
  const first = JSON.parse(found[0]!) as { schema: { fields: { field: string; fields?: Record<string, unknown>[] }[]; name: string }; payload: Record<string, unknown> }
  assert.equal(first.schema.name, 'strata.main.typed.Envelope')
  const after = first.schema.fields.find((field) => field.field === 'after')!.fields!
  const schemaOf = (name: string): Record<string, unknown> => after.find((field) => field['field'] === name)!
  assert.deepEqual(after.map((field) => field['field']), ['id', 'flag', 'small', 'mid', 'big', 'real_value', 'money', 'day', 'at', 'zoned', 'doc', 'raw', 'label'])
  assert.deepEqual(
    after.map((field) => [field['type'], field['name'] ?? null, field['optional']]),
    [
      ['int64', null, false],
      ['boolean', null, true],
      ['int16', null, true],
      ['int32', null, true],
      ['int64', null, false],
      ['double', null, true],
      ['bytes', 'org.apache.kafka.connect.data.Decimal', true],
      ['int32', 'io.debezium.time.Date', true],
      ['int64', 'io.debezium.time.MicroTimestamp', true],
      ['string', 'io.debezium.time.ZonedTimestamp', true],
      ['string', 'io.debezium.data.Json', true],
      ['bytes', null, true],
      ['string', null, true],
    ],
  )
  assert.deepEqual(schemaOf('money')['parameters'], { scale: '4', 'connect.decimal.precision': '20' })
  // Integers beyond 2^53 are JSON numbers with every digit: read from the text, not through a double.
  assert.match(found[0]!, /"big":9007199254740993[,}]/)
  assert.match(found[1]!, /"big":-9223372036854775808[,}]/)
  const row = first.payload['after'] as Record<string, unknown>
  assert.equal(first.payload['op'], 'c')
  assert.equal(row['flag'], true)
  assert.equal(row['small'], -7)
  assert.equal(row['mid'], 123456)
  assert.equal(row['real_value'], 2.5)
  assert.equal(connectDecimal(String(row['money']), 4), '-12345678901234.5678')
  assert.equal(row['day'], -1)
  assert.equal(row['at'], Date.UTC(2026, 0, 5, 14, 30) * 1000 + 123456)
  assert.equal(row['zoned'], '2026-01-05T14:30:00.500000Z')
  assert.deepEqual(JSON.parse(String(row['doc'])), { a: [1, 2] })
  assert.deepEqual([...Buffer.from(String(row['raw']), 'base64')], [0x00, 0xff, 0x10])
  assert.equal(row['label'], 'text')
  const second = (JSON.parse(found[1]!) as { payload: Record<string, Record<string, unknown>> }).payload['after']!
  assert.equal(connectDecimal(String(second['money']), 4), '0.0001')
  assert.equal(second['day'], Date.UTC(2026, 0, 5) / 86_400_000)
  assert.equal(second['at'], Date.UTC(1960, 0, 1) * 1000 + 1)
  assert.equal(second['flag'], null)
  const update = (JSON.parse(found[2]!) as { payload: Record<string, Record<string, unknown> | string> }).payload
  assert.equal(update['op'], 'u')
  assert.equal(connectDecimal(String((update['before'] as Record<string, unknown>)['money']), 4), '0.0001')
  // 0.0128 is 128 unscaled: 0x80 alone would read as -128, so it takes a sign byte (0x00 0x80).
  assert.equal(connectDecimal(String((update['after'] as Record<string, unknown>)['money']), 4), '0.0128')
  await assertRefused((sql) => db.query(sql), [
    [`CREATE SINK x FROM typed WITH (connector = 'nats', subject = '${subject}', schemas = 'true')`, 'SYNTAX_ERROR', /schemas = 'true' goes with format = 'debezium'/],
    [`CREATE SINK x FROM typed WITH (connector = 'nats', subject = '${subject}', format = 'debezium', schemas = 'yes')`, 'INVALID_PARAMETER', /schemas must be 'true' or 'false'/],
  ])
})
