/**
 * The PostgreSQL wire protocol, driven by real clients against the built server (src/interfaces/server/pg):
 * node-postgres, psql (Debian's postgresql-client), psycopg2 (Debian's python3-psycopg2) when present,
 * and a raw protocol client for what drivers do not expose (row limits, binary formats, malformed
 * messages, CancelRequest).
 */
import * as assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import { connect, type Socket } from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { after, before, describe, test } from 'node:test'
import pg from 'pg'
import { Kysely, PostgresDialect, sql } from 'kysely'
import { Engine } from '../src/engine/engine.js'
import { startPgServer, type PgServer } from '../src/interfaces/server/pg/index.js'
import { loadParser } from '../src/sql/parse.js'
import { binaryCopyHeader, binaryCopyRow, binaryCopyTrailer, copyFormat, copyLine, parseBinaryCopy, parseCopyRows } from '../src/interfaces/server/pg/copy.js'
import { MessageReader, ProtocolViolation } from '../src/interfaces/server/pg/protocol.js'
import { ScramExchange, scramVerifier } from '../src/interfaces/server/pg/scram.js'
import { resultNames, splitQuery } from '../src/interfaces/server/pg/statements.js'
import { floatText, numericBinary, parameterValue, textValue, timestampText, wireType } from '../src/interfaces/server/pg/values.js'
import { Timestamp } from '../src/index.js'

const psql = '/usr/bin/psql'
const hasPsql = fs.existsSync(psql)
const systemPython = '/usr/bin/python3'
const hasPsycopg2 = fs.existsSync(systemPython) && spawnSync(systemPython, ['-c', 'import psycopg2'], { encoding: 'utf8' }).status === 0

interface Fixture {
  readonly engine: Engine
  readonly server: PgServer
  readonly port: number
  close(): Promise<void>
}

async function startFixture(options: Partial<Parameters<typeof startPgServer>[1]> = {}): Promise<Fixture> {
  const engine = await Engine.open(':memory:', {})
  const server = await startPgServer(engine, { host: '127.0.0.1', port: 0, auth: { kind: 'trust' }, maxConnections: 20, statementTimeoutMs: 60_000, ...options })
  return {
    engine,
    server,
    port: server.port,
    async close() {
      await server.close({ graceMs: 100 })
      await engine.close()
    },
  }
}

function client(fixture: Fixture, options: pg.ClientConfig = {}): pg.Client {
  return new pg.Client({ host: '127.0.0.1', port: fixture.port, user: 'tester', database: 'strata', ...options })
}

async function sqlstateOf(promise: Promise<unknown>): Promise<{ code: string; message: string; position?: string }> {
  try {
    await promise
  } catch (error) {
    const failure = error as { code: string; message: string; position?: string }
    return failure
  }
  assert.fail('expected the statement to fail')
}

interface Run {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs a program to completion without blocking the event loop (the server under test runs in this process). */
function run(program: string, args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.on('error', reject)
    child.on('close', (status) => {
      clearTimeout(timer)
      resolve({ status, stdout, stderr })
    })
  })
}

function runPsql(port: number, args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  return run(psql, ['-h', '127.0.0.1', '-p', String(port), '-U', 'tester', '-d', 'strata', '-X', '-v', 'ON_ERROR_STOP=1', ...args], { PGCONNECT_TIMEOUT: '10', ...env })
}

// ───────────────────────────── a raw protocol client ─────────────────────────────

interface Message {
  readonly type: string
  readonly body: Buffer
}

function cstring(value: string): Buffer {
  return Buffer.concat([Buffer.from(value, 'utf8'), Buffer.from([0])])
}

function int16(value: number): Buffer {
  const out = Buffer.alloc(2)
  out.writeInt16BE(value)
  return out
}

function int32(value: number): Buffer {
  const out = Buffer.alloc(4)
  out.writeInt32BE(value)
  return out
}

function frame(type: string, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts)
  return Buffer.concat([Buffer.from(type, 'latin1'), int32(body.length + 4), body])
}

/** Speaks the protocol byte by byte; collects every backend message. */
class RawClient {
  private buffer = Buffer.alloc(0)
  private waiting: (() => void) | undefined
  closed = false
  processId = 0
  secretKey = 0

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk])
      this.waiting?.()
    })
    socket.on('close', () => {
      this.closed = true
      this.waiting?.()
    })
    socket.on('error', () => undefined)
  }

  static async open(port: number): Promise<RawClient> {
    const socket = connect(port, '127.0.0.1')
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('error', reject)
    })
    return new RawClient(socket)
  }

  /** Connects and completes startup (trust). */
  static async ready(port: number): Promise<RawClient> {
    const raw = await RawClient.open(port)
    raw.socket.write(startupPacket({ user: 'tester', database: 'strata' }))
    const messages = await raw.until('Z')
    const key = messages.find((message) => message.type === 'K')!
    raw.processId = key.body.readInt32BE(0)
    raw.secretKey = key.body.readInt32BE(4)
    return raw
  }

  send(...frames: Buffer[]): void {
    this.socket.write(Buffer.concat(frames))
  }

  async next(timeoutMs = 20_000): Promise<Message | undefined> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      if (this.buffer.length >= 5) {
        const length = this.buffer.readInt32BE(1)
        if (this.buffer.length >= length + 1) {
          const message = { type: String.fromCharCode(this.buffer[0]!), body: this.buffer.subarray(5, length + 1) }
          this.buffer = this.buffer.subarray(length + 1)
          return message
        }
      }
      if (this.closed) return undefined
      if (Date.now() > deadline) throw new Error('timed out waiting for a backend message')
      await new Promise<void>((resolve) => {
        this.waiting = resolve
        setTimeout(resolve, 50)
      })
    }
  }

  /** Messages up to and including the first of `type` (or until the server closes). */
  async until(type: string): Promise<Message[]> {
    const out: Message[] = []
    for (;;) {
      const message = await this.next()
      if (message === undefined) return out
      out.push(message)
      if (message.type === type) return out
    }
  }

  close(): void {
    this.socket.destroy()
  }
}

function startupPacket(parameters: Record<string, string>): Buffer {
  const body = Buffer.concat([int32(196608), ...Object.entries(parameters).flatMap(([key, value]) => [cstring(key), cstring(value)]), Buffer.from([0])])
  return Buffer.concat([int32(body.length + 4), body])
}

function errorField(message: Message, field: string): string | undefined {
  let offset = 0
  while (offset < message.body.length && message.body[offset] !== 0) {
    const code = String.fromCharCode(message.body[offset]!)
    const end = message.body.indexOf(0, offset + 1)
    const value = message.body.toString('utf8', offset + 1, end)
    if (code === field) return value
    offset = end + 1
  }
  return undefined
}

function dataRowValues(message: Message): (Buffer | null)[] {
  const count = message.body.readInt16BE(0)
  const values: (Buffer | null)[] = []
  let offset = 2
  for (let index = 0; index < count; index++) {
    const length = message.body.readInt32BE(offset)
    offset += 4
    if (length < 0) values.push(null)
    else {
      values.push(message.body.subarray(offset, offset + length))
      offset += length
    }
  }
  return values
}

const parse = (name: string, sql: string, types: number[] = []): Buffer => frame('P', cstring(name), cstring(sql), int16(types.length), ...types.map(int32))
const bind = (portal: string, statement: string, parameters: { format: number; value: Buffer | null }[], resultFormats: number[] = []): Buffer =>
  frame(
    'B',
    cstring(portal),
    cstring(statement),
    int16(parameters.length),
    ...parameters.map((parameter) => int16(parameter.format)),
    int16(parameters.length),
    ...parameters.flatMap((parameter) => (parameter.value === null ? [int32(-1)] : [int32(parameter.value.length), parameter.value])),
    int16(resultFormats.length),
    ...resultFormats.map(int16),
  )
const describeMessage = (kind: 'S' | 'P', name: string): Buffer => frame('D', Buffer.from(kind), cstring(name))
const execute = (portal: string, rowsMax = 0): Buffer => frame('E', cstring(portal), int32(rowsMax))
const sync = (): Buffer => frame('S')
const query = (sql: string): Buffer => frame('Q', cstring(sql))

// ───────────────────────────── node-postgres ─────────────────────────────

describe('PostgreSQL wire protocol', () => {
  let fixture: Fixture
  before(async () => {
    fixture = await startFixture()
  })
  after(async () => {
    await fixture.close()
  })

  test('node-postgres: a streaming source takes CREATE SOURCE, INSERT batches with parameters, and SHOW SOURCES', async () => {
    const db = client(fixture)
    await db.connect()
    try {
      await db.query("CREATE SOURCE wire_ticks (v INTEGER, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)")
      const inserted = await db.query('INSERT INTO wire_ticks VALUES ($1, $2), ($3, $4)', [1, '2026-01-05 14:30:10', 2, '2026-01-05 14:30:20'])
      assert.equal(inserted.command, 'INSERT')
      assert.equal(inserted.rowCount, 2)
      // The watermark is now 14:30:19: an event at 14:30:05 is late and not stored.
      assert.equal((await db.query("INSERT INTO wire_ticks VALUES (3, '2026-01-05 14:30:05')")).rowCount, 0)
      const shown = await db.query({ text: 'SHOW SOURCES', rowMode: 'array' })
      assert.deepEqual(shown.fields.map((field) => field.name), ['name', 'watermark_column', 'watermark', 'flushed', 'watermark_delay', 'allowed_lateness', 'idle_timeout', 'connector', 'connector_offset', 'connector_error'])
      assert.deepEqual(shown.rows.map((row: unknown[]) => [row[0], row[1], row[3], row[4]]), [['wire_ticks', 'ts', false, '00:00:01']])
      assert.deepEqual((await db.query('SELECT v FROM wire_ticks ORDER BY v')).rows, [{ v: 1 }, { v: 2 }])
      await db.query('DROP SOURCE wire_ticks')
    } finally {
      await db.end()
    }
  })

  test('node-postgres: types, text encodings, parameters, command tags', async () => {
    const db = client(fixture)
    await db.connect()
    try {
      const created = await db.query(
        "CREATE TABLE kinds (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT 'x', amount DECIMAL(10,2), at TIMESTAMP, atz TIMESTAMPTZ, raw BLOB, doc JSON, day DATE, ratio DOUBLE, flag BOOLEAN, big BIGINT, small SMALLINT)",
      )
      assert.equal(created.command, 'CREATE')
      const inserted = await db.query('INSERT INTO kinds VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)', [
        1, 'ann', 12.5, '2024-01-02 03:04:05.123', '2024-01-02 03:04:05.5+02', Buffer.from([0, 1, 255]), { a: [1, 2] }, '2024-01-02', 0.1, true, '9007199254740993', 7,
      ])
      assert.equal(inserted.command, 'INSERT')
      assert.equal(inserted.rowCount, 1)
      const result = await db.query({ text: 'SELECT * FROM kinds WHERE id = $1', values: [1], rowMode: 'array' })
      assert.deepEqual(
        result.fields.map((field) => [field.name, field.dataTypeID]),
        [['id', 23], ['name', 25], ['amount', 1700], ['at', 1114], ['atz', 1184], ['raw', 17], ['doc', 114], ['day', 1082], ['ratio', 701], ['flag', 16], ['big', 20], ['small', 21]],
      )
      // The raw text PostgreSQL would send, read back through a parser that keeps text as it came.
      const text = await db.query({ text: 'SELECT * FROM kinds', rowMode: 'array', types: { getTypeParser: () => (value: string) => value } })
      assert.deepEqual(text.rows[0], ['1', 'ann', '12.50', '2024-01-02 03:04:05.123', '2024-01-02 01:04:05.5+00', '\\x0001ff', '{"a":[1,2]}', '2024-01-02', '0.1', 't', '9007199254740993', '7'])
      // node-postgres's own parsers turn them into JS values.
      const parsed = (await db.query('SELECT raw, doc, flag, big, atz FROM kinds')).rows[0]
      assert.deepEqual([...parsed.raw], [0, 1, 255])
      assert.deepEqual(parsed.doc, { a: [1, 2] })
      assert.equal(parsed.flag, true)
      assert.equal(parsed.big, '9007199254740993')
      assert.equal(parsed.atz.toISOString(), '2024-01-02T01:04:05.500Z')
      const returning = await db.query('INSERT INTO kinds (id, name) VALUES ($1, $2), ($3, $4) RETURNING id, name', [2, 'bob', 3, 'cy'])
      assert.equal(returning.command, 'INSERT')
      assert.deepEqual(returning.rows, [{ id: 2, name: 'bob' }, { id: 3, name: 'cy' }])
      const updated = await db.query('UPDATE kinds SET name = $1 WHERE id >= $2', ['z', 2])
      assert.deepEqual([updated.command, updated.rowCount], ['UPDATE', 2])
      const deleted = await db.query('DELETE FROM kinds WHERE id = $1', [3])
      assert.deepEqual([deleted.command, deleted.rowCount], ['DELETE', 1])
      // PostgreSQL's names for unnamed columns (DuckDB would say count_star()).
      const counted = await db.query('SELECT count(*), sum(id), 1, max(name) AS top FROM kinds')
      assert.deepEqual(counted.fields.map((field) => field.name), ['count', 'sum', '?column?', 'top'])
      assert.equal(counted.rows[0].count, '2')
      // A named prepared statement, used twice.
      for (const id of [1, 2]) {
        const named = await db.query({ name: 'by-id', text: 'SELECT name FROM kinds WHERE id = $1', values: [id] })
        assert.equal(named.rows[0].name, id === 1 ? 'ann' : 'z')
      }
      // DuckDB-only syntax (FROM-first) through the extended protocol, and DESCRIBE through the simple one.
      assert.deepEqual((await db.query('FROM kinds SELECT id, name WHERE id = $1', [1])).rows, [{ id: 1, name: 'ann' }])
      assert.ok((await db.query('DESCRIBE kinds')).rows.some((row: { column_name: string }) => row.column_name === 'amount'))
      const several = (await db.query('SELECT 1 AS a; SELECT 2 AS b')) as unknown as pg.QueryResult[]
      assert.deepEqual(several.map((part) => part.rows[0]), [{ a: 1 }, { b: 2 }])
      const empty = await db.query('')
      assert.equal(empty.rowCount, null)
    } finally {
      await db.end()
    }
  })

  test('timestamps keep their microseconds: text and binary, both stores, node-postgres and psql', async () => {
    const db = client(fixture)
    await db.connect()
    const raw = await RawClient.ready(fixture.port)
    try {
      await db.query('CREATE TABLE stamps (id INTEGER PRIMARY KEY, ts TIMESTAMP, tz TIMESTAMPTZ)')
      await db.query("INSERT INTO stamps VALUES (1, '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.123456+02'), (2, '2024-01-02 03:04:05.5', NULL)")
      // A text parameter keeps its microseconds too.
      await db.query('INSERT INTO stamps VALUES ($1, $2, $3)', [3, '1999-12-31 23:59:59.999999', '1969-12-31 23:59:59.000001'])
      const asText = { types: { getTypeParser: () => (value: string) => value } }
      const point = await db.query({ text: 'SELECT ts, tz FROM stamps WHERE id = $1', values: [1], rowMode: 'array', ...asText })
      assert.deepEqual(point.rows, [['2024-01-02 03:04:05.123456', '2024-01-02 01:04:05.123456+00']])
      const parameter = await db.query({ text: 'SELECT ts, tz FROM stamps WHERE id = 3', rowMode: 'array', ...asText })
      assert.deepEqual(parameter.rows, [['1999-12-31 23:59:59.999999', '1969-12-31 23:59:59.000001+00']])
      // An aggregate runs on the column store: the same text.
      const aggregate = await db.query({ text: 'SELECT min(ts), max(ts), min(tz) FROM stamps WHERE id < 3', rowMode: 'array', ...asText })
      assert.deepEqual(aggregate.rows, [['2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.5', '2024-01-02 01:04:05.123456+00']])
      // Time travel (its clause is cut out before parsing) and a rewritten second statement of one
      // query (last(v, ts) → arg_max at tree locations past the first statement) through the server.
      const history = await db.query({ text: 'SELECT ts FROM stamps FOR SYSTEM_TIME ALL WHERE id = 1', rowMode: 'array', ...asText })
      assert.deepEqual(history.rows, [['2024-01-02 03:04:05.123456']])
      const printedTwo = await runPsql(fixture.port, ['-At', '-c', 'SELECT 1 AS one; SELECT last(ts, id) AS newest, first(ts, id) AS oldest FROM stamps WHERE id < 3'])
      assert.equal(printedTwo.status, 0, printedTwo.stderr)
      assert.equal(printedTwo.stdout, '1\n2024-01-02 03:04:05.5|2024-01-02 03:04:05.123456\n')
      // Binary: microseconds since 2000-01-01 (PostgreSQL's epoch) as an int8.
      raw.send(parse('', 'SELECT ts, tz FROM stamps WHERE id = 1'), bind('', '', [], [1]), execute(''), sync())
      const binary = await raw.until('Z')
      const [ts, tz] = dataRowValues(binary.find((message) => message.type === 'D')!)
      const postgresEpochMicros = 946_684_800_000_000n
      assert.equal(ts!.readBigInt64BE(0), 1_704_164_645_123_456n - postgresEpochMicros)
      assert.equal(tz!.readBigInt64BE(0), 1_704_164_645_123_456n - 7_200_000_000n - postgresEpochMicros)
      // psql prints what the server sends.
      assert.ok(hasPsql, `${psql} is missing: install postgresql-client (as .ci/run does)`)
      const printed = await runPsql(fixture.port, ['-At', '-c', 'SELECT ts, tz FROM stamps WHERE id = 1', '-c', 'SELECT max(ts) FROM stamps WHERE id = 1'])
      assert.equal(printed.status, 0, printed.stderr)
      assert.equal(printed.stdout, '2024-01-02 03:04:05.123456|2024-01-02 01:04:05.123456+00\n2024-01-02 03:04:05.123456\n')
    } finally {
      raw.close()
      await db.end()
    }
  })

  test('two result columns with the same name both arrive (PostgreSQL sends both)', async () => {
    const db = client(fixture)
    await db.connect()
    try {
      await db.query('CREATE TABLE owners (id INTEGER PRIMARY KEY, name TEXT); CREATE TABLE pets (id INTEGER PRIMARY KEY, owner_id INTEGER, name TEXT)')
      await db.query("INSERT INTO owners VALUES (1, 'ann'); INSERT INTO pets VALUES (10, 1, 'rex')")
      const constants = await db.query({ text: 'SELECT 1 AS a, 2 AS a', rowMode: 'array' })
      assert.deepEqual(constants.fields.map((field) => field.name), ['a', 'a'])
      assert.deepEqual(constants.rows, [[1, 2]])
      // A join (column store) in the extended protocol, and a point read (row store) in the simple one.
      const joined = await db.query({ text: 'SELECT * FROM owners JOIN pets ON pets.owner_id = owners.id WHERE owners.id = $1', values: [1], rowMode: 'array' })
      assert.deepEqual(joined.fields.map((field) => field.name), ['id', 'name', 'id', 'owner_id', 'name'])
      assert.deepEqual(joined.rows, [[1, 'ann', 10, 1, 'rex']])
      const point = await db.query({ text: 'SELECT id, name AS id FROM pets WHERE id = 10', rowMode: 'array' })
      assert.deepEqual(point.rows, [[10, 'rex']])
      const returning = await db.query({ text: "INSERT INTO pets VALUES (11, 1, 'tom') RETURNING id, owner_id AS id", rowMode: 'array' })
      assert.deepEqual(returning.rows, [[11, 1]])
      const printed = await runPsql(fixture.port, ['-At', '-c', 'SELECT * FROM owners JOIN pets ON pets.owner_id = owners.id ORDER BY pets.id', '-c', 'COPY (SELECT 1 AS a, 2 AS a) TO STDOUT'])
      assert.equal(printed.status, 0, printed.stderr)
      assert.equal(printed.stdout, '1|ann|10|1|rex\n1|ann|11|1|tom\n1\t2\n')
    } finally {
      await db.end()
    }
  })

  test('node-postgres: errors carry SQLSTATE codes, and the connection goes on', async () => {
    const db = client(fixture)
    await db.connect()
    try {
      await db.query('CREATE TABLE strict_rows (id INTEGER PRIMARY KEY, name TEXT NOT NULL, amount INTEGER CHECK (amount > 0))')
      await db.query("INSERT INTO strict_rows VALUES (1, 'a', 1)")
      const syntax = await sqlstateOf(db.query('SELECT 1 FROM strict_rows WHER id = 1'))
      assert.equal(syntax.code, '42601')
      assert.equal(syntax.position, '32')
      const missing = (await sqlstateOf(db.query('SELECT * FROM no_such_table'))) as { code: string; message: string; detail?: string }
      assert.equal(missing.code, '42P01')
      assert.equal(missing.message, 'table "no_such_table" does not exist')
      assert.match(missing.detail ?? '', /^strata code: UNDEFINED_TABLE; column store \(DuckDB\): Catalog Error: Table with name no_such_table does not exist/)
      assert.equal((await sqlstateOf(db.query('SELECT no_such_column FROM strict_rows'))).code, '42703')
      assert.equal((await sqlstateOf(db.query('CREATE TABLE strict_rows (x INTEGER)'))).code, '42P07')
      assert.equal((await sqlstateOf(db.query("INSERT INTO strict_rows VALUES (1, 'b', 1)"))).code, '23505')
      assert.equal((await sqlstateOf(db.query('INSERT INTO strict_rows VALUES (2, NULL, 1)'))).code, '23502')
      assert.equal((await sqlstateOf(db.query("INSERT INTO strict_rows VALUES (3, 'c', -1)"))).code, '23514')
      assert.equal((await sqlstateOf(db.query("INSERT INTO strict_rows VALUES ('x', 'c', 1)"))).code, '22P02')
      assert.equal((await sqlstateOf(db.query('COMMIT'))).code, '25P01')
      assert.equal((await sqlstateOf(db.query('SAVEPOINT s'))).code, '25P01')
      assert.equal((await sqlstateOf(db.query('PREPARE TRANSACTION $$t$$'))).code, '0A000')
      assert.equal((await sqlstateOf(db.query('SELECT $1::int', ['nope']))).code, '22P02')
      assert.equal((await db.query('SELECT 1 AS still_here')).rows[0].still_here, 1)
    } finally {
      await db.end()
    }
  })

  test('oversized statements get 54001/54000 and leave the parser working: later writes succeed on this and other connections', async () => {
    const db = client(fixture)
    await db.connect()
    try {
      await db.query('CREATE TABLE after_limits (id INTEGER PRIMARY KEY, v INTEGER)')
      const deep = await sqlstateOf(db.query(`SELECT ${'('.repeat(10_000)}1${')'.repeat(10_000)}`))
      assert.equal(deep.code, '54001', deep.message)
      assert.equal(deep.position, String('SELECT '.length + 101))
      assert.equal((await sqlstateOf(db.query(`SELECT ${Array.from({ length: 10_000 }, () => '1').join('+')}`))).code, '54001')
      const inList = await sqlstateOf(db.query(`SELECT * FROM after_limits WHERE v IN (${Array.from({ length: 100_000 }, (_, index) => index).join(',')})`))
      assert.equal(inList.code, '54000', inList.message)
      // The extended protocol parses too.
      assert.equal((await sqlstateOf(db.query({ text: `SELECT ${'('.repeat(10_000)}$1::int${')'.repeat(10_000)}`, values: [1] }))).code, '54001')
      await db.query('INSERT INTO after_limits VALUES ($1, $2)', [1, 2])
      assert.deepEqual((await db.query('SELECT v FROM after_limits WHERE id = 1')).rows, [{ v: 2 }])
    } finally {
      await db.end()
    }
    const other = client(fixture)
    await other.connect()
    try {
      await other.query('INSERT INTO after_limits VALUES (2, 3)')
      assert.deepEqual((await other.query('SELECT count(*)::int AS n FROM after_limits')).rows, [{ n: 2 }])
    } finally {
      await other.end()
    }
  })

  test('node-postgres: two connections, transactions and isolation', async () => {
    const writer = client(fixture)
    const reader = client(fixture)
    await writer.connect()
    await reader.connect()
    try {
      await writer.query('CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)')
      await writer.query('INSERT INTO accounts VALUES (1, 100), (2, 50)')
      await writer.query('BEGIN')
      await writer.query('UPDATE accounts SET balance = balance - $1 WHERE id = $2', [30, 1])
      await writer.query('UPDATE accounts SET balance = balance + $1 WHERE id = $2', [30, 2])
      // The writer sees its own writes (aggregates included); the reader sees none of them yet.
      assert.equal((await writer.query('SELECT balance FROM accounts WHERE id = 1')).rows[0].balance, 70)
      assert.equal((await writer.query('SELECT sum(balance) AS total FROM accounts')).rows[0].total, '150')
      assert.equal((await reader.query('SELECT balance FROM accounts WHERE id = 1')).rows[0].balance, 100)
      assert.equal((await reader.query('SELECT count(*) FROM accounts WHERE balance = 80')).rows[0].count, '0')
      // A failed statement inside the transaction is undone alone; the transaction stays open ('T').
      assert.equal((await sqlstateOf(writer.query('INSERT INTO accounts VALUES (1, 0)'))).code, '23505')
      await writer.query('COMMIT')
      assert.deepEqual((await reader.query('SELECT id, balance FROM accounts ORDER BY id')).rows, [{ id: 1, balance: 70 }, { id: 2, balance: 80 }])
      // ROLLBACK leaves nothing behind.
      await reader.query('BEGIN')
      await reader.query('DELETE FROM accounts')
      await reader.query('ROLLBACK')
      assert.equal((await writer.query('SELECT count(*) FROM accounts')).rows[0].count, '2')
      // Several statements in one Query message are one transaction: a failure undoes the earlier ones.
      assert.equal((await sqlstateOf(writer.query('INSERT INTO accounts VALUES (3, 1); INSERT INTO accounts VALUES (1, 1)'))).code, '23505')
      assert.equal((await reader.query('SELECT count(*) FROM accounts')).rows[0].count, '2')
    } finally {
      await writer.end()
      await reader.end()
    }
  })

  test('load: concurrent clients mixing writes, transactions and analytical reads lose nothing', async () => {
    const setup = client(fixture)
    await setup.connect()
    await setup.query('CREATE TABLE events (id INTEGER PRIMARY KEY, client INTEGER NOT NULL, amount INTEGER NOT NULL)')
    await setup.end()
    const clientCount = 8
    const roundsPerClient = 25
    const deadline = Date.now() + 60_000
    const failures: string[] = []
    await Promise.all(
      Array.from({ length: clientCount }, async (_, clientIndex) => {
        const db = client(fixture)
        await db.connect()
        try {
          for (let round = 0; round < roundsPerClient && Date.now() < deadline; round++) {
            const base = (clientIndex * roundsPerClient + round) * 3
            try {
              await db.query('INSERT INTO events VALUES ($1, $2, $3)', [base, clientIndex, 1])
              await db.query('BEGIN')
              await db.query('INSERT INTO events VALUES ($1, $2, $3), ($4, $2, $3)', [base + 1, clientIndex, 2, base + 2])
              await db.query('COMMIT')
              const seen = await db.query('SELECT count(*) AS n, sum(amount) AS total FROM events WHERE client = $1', [clientIndex])
              // Read-your-writes on the column store: every commit of this client is visible.
              if (Number(seen.rows[0].n) !== (round + 1) * 3) failures.push(`client ${clientIndex} round ${round}: saw ${seen.rows[0].n} rows`)
            } catch (error) {
              failures.push(`client ${clientIndex} round ${round}: ${(error as Error).message}`)
            }
          }
        } finally {
          await db.end()
        }
      }),
    )
    assert.deepEqual(failures, [])
    const check = client(fixture)
    await check.connect()
    const totals = await check.query('SELECT count(*) AS n, sum(amount) AS total, count(DISTINCT client) AS clients FROM events')
    await check.end()
    assert.deepEqual(totals.rows[0], { n: String(clientCount * roundsPerClient * 3), total: String(clientCount * roundsPerClient * 5), clients: String(clientCount) })
  })

  test('ReadyForQuery reports the transaction status', async () => {
    const raw = await RawClient.ready(fixture.port)
    try {
      const status = async (sql: string): Promise<string> => {
        raw.send(query(sql))
        const messages = await raw.until('Z')
        return messages[messages.length - 1]!.body.toString('latin1')
      }
      assert.equal(await status('SELECT 1'), 'I')
      assert.equal(await status('BEGIN'), 'T')
      assert.equal(await status('SELECT * FROM no_such_table'), 'T')
      assert.equal(await status('ROLLBACK'), 'I')
    } finally {
      raw.close()
    }
  })

  test('an empty query (nothing, only semicolons, only comments) gets EmptyQueryResponse, as PostgreSQL answers it', async () => {
    const raw = await RawClient.ready(fixture.port)
    try {
      for (const sql of ['', ';;;', '-- nothing', '/* nothing */ ;']) {
        raw.send(query(sql))
        assert.deepEqual((await raw.until('Z')).map((message) => message.type), ['I', 'Z'], JSON.stringify(sql))
      }
    } finally {
      raw.close()
    }
  })

  test('text that is not valid UTF-8 gets 22021 (in a query, a Parse, a Bind parameter), nothing is stored, and the connection goes on', async () => {
    const raw = await RawClient.ready(fixture.port)
    try {
      raw.send(query('CREATE TABLE encoded (id INTEGER PRIMARY KEY, v TEXT)'))
      await raw.until('Z')
      const invalid = Buffer.concat([Buffer.from("INSERT INTO encoded VALUES (1, 'a"), Buffer.from([0xff, 0xfe]), Buffer.from("')")])
      raw.send(frame('Q', invalid, Buffer.from([0])))
      const simple = await raw.until('Z')
      assert.deepEqual(simple.map((message) => message.type), ['E', 'Z'])
      assert.equal(errorField(simple[0]!, 'C'), '22021')
      assert.match(errorField(simple[0]!, 'M') ?? '', /invalid byte sequence for encoding "UTF8": 0xff/)
      raw.send(frame('P', cstring(''), invalid, Buffer.from([0]), int16(0)), sync())
      const parsed = await raw.until('Z')
      assert.deepEqual(parsed.map((message) => message.type), ['E', 'Z'])
      assert.equal(errorField(parsed[0]!, 'C'), '22021')
      raw.send(parse('put', 'INSERT INTO encoded VALUES ($1, $2)', [23, 25]), bind('', 'put', [{ format: 0, value: Buffer.from('2') }, { format: 0, value: Buffer.from([0x61, 0xc3, 0x28]) }]), execute(''), sync())
      const bound = await raw.until('Z')
      assert.deepEqual(bound.map((message) => message.type), ['1', 'E', 'Z'])
      assert.equal(errorField(bound[1]!, 'C'), '22021')
      raw.send(query('SELECT count(*) FROM encoded'))
      const counted = await raw.until('Z')
      assert.equal(dataRowValues(counted.find((message) => message.type === 'D')!)[0]!.toString(), '0')
    } finally {
      raw.close()
    }
  })

  test('extended protocol: Describe, row limits with PortalSuspended, binary formats, errors until Sync', async () => {
    const raw = await RawClient.ready(fixture.port)
    try {
      raw.send(query('CREATE TABLE numbers (n INTEGER PRIMARY KEY, label TEXT, price DECIMAL(8,3)); INSERT INTO numbers SELECT range, \'n\' || range, range / 4 FROM range(1, 6)'))
      await raw.until('Z')
      raw.send(parse('few', 'SELECT n, label, price FROM numbers WHERE n >= $1 ORDER BY n', [23]), describeMessage('S', 'few'), sync())
      const described = await raw.until('Z')
      assert.deepEqual(described.map((message) => message.type), ['1', 't', 'T', 'Z'])
      assert.equal(described[1]!.body.readInt16BE(0), 1)
      assert.equal(described[1]!.body.readInt32BE(2), 23)
      raw.send(parse('duck', 'FROM numbers SELECT n, label WHERE n < $1'), describeMessage('S', 'duck'), sync())
      const duck = await raw.until('Z')
      assert.deepEqual(duck.map((message) => message.type), ['1', 't', 'T', 'Z'])
      // Binary parameter in, binary n and text label out, two rows at a time.
      raw.send(bind('cursor', 'few', [{ format: 1, value: int32(2) }], [1, 0, 1]), execute('cursor', 2))
      raw.send(execute('cursor', 2), execute('cursor', 2), sync())
      const messages = await raw.until('Z')
      assert.deepEqual(messages.map((message) => message.type), ['2', 'D', 'D', 's', 'D', 'D', 's', 'C', 'Z'])
      const rows = messages.filter((message) => message.type === 'D').map(dataRowValues)
      assert.deepEqual(rows.map((row) => row[0]!.readInt32BE(0)), [2, 3, 4, 5])
      assert.deepEqual(rows.map((row) => row[1]!.toString()), ['n2', 'n3', 'n4', 'n5'])
      // numeric in binary: 0.5 is one base-10000 digit 5000 at weight -1, display scale 3.
      assert.deepEqual([rows[0]![2]!.readInt16BE(0), rows[0]![2]!.readInt16BE(2), rows[0]![2]!.readInt16BE(6), rows[0]![2]!.readInt16BE(8)], [1, -1, 3, 5000])
      const completes = messages.filter((message) => message.type === 'C').map((message) => message.body.toString('utf8', 0, message.body.length - 1))
      assert.deepEqual(completes, ['SELECT 0'])
      // An error skips everything up to Sync, then the connection is usable again.
      raw.send(parse('', 'SELECT * FROM missing_table'), bind('', '', []), execute(''), parse('', 'SELECT 1'), sync())
      const failed = await raw.until('Z')
      // Parse and Bind succeed (tables are resolved when the statement runs); Execute fails; the Parse after it is skipped.
      assert.deepEqual(failed.map((message) => message.type), ['1', '2', 'E', 'Z'])
      assert.equal(errorField(failed[2]!, 'C'), '42P01')
      raw.send(bind('', 'no-such-statement', []), sync())
      const unknown = await raw.until('Z')
      assert.equal(errorField(unknown[0]!, 'C'), '26000')
      raw.send(parse('', 'SELECT $1::text AS echo'), bind('', '', [{ format: 0, value: Buffer.from('hi') }]), describeMessage('P', ''), execute(''), sync())
      const again = await raw.until('Z')
      assert.deepEqual(again.map((message) => message.type), ['1', '2', 'T', 'D', 'C', 'Z'])
      assert.equal(dataRowValues(again[3]!)[0]!.toString(), 'hi')
    } finally {
      raw.close()
    }
  })

  test('malformed and oversized messages get FATAL 08P01; the server stays up', async () => {
    const garbage = await RawClient.ready(fixture.port)
    garbage.send(frame('\x01', Buffer.from('nonsense')))
    const fatal = await garbage.until('E')
    assert.equal(errorField(fatal[fatal.length - 1]!, 'S'), 'FATAL')
    assert.equal(errorField(fatal[fatal.length - 1]!, 'C'), '08P01')
    assert.equal(await garbage.next(), undefined)
    const huge = await RawClient.ready(fixture.port)
    huge.socket.write(Buffer.concat([Buffer.from('Q'), int32(0x7fff_fff0)]))
    const tooBig = await huge.until('E')
    assert.equal(errorField(tooBig[tooBig.length - 1]!, 'C'), '08P01')
    const badStartup = await RawClient.open(fixture.port)
    badStartup.socket.write(Buffer.concat([int32(8), int32(12345678)]))
    const refused = await badStartup.until('E')
    assert.equal(errorField(refused[refused.length - 1]!, 'S'), 'FATAL')
    const badBind = await RawClient.ready(fixture.port)
    badBind.send(frame('B', cstring(''), cstring('')))
    assert.equal(errorField((await badBind.until('E')).pop()!, 'C'), '08P01')
    const db = client(fixture)
    await db.connect()
    assert.equal((await db.query('SELECT 42 AS alive')).rows[0].alive, 42)
    await db.end()
  })

  test('CancelRequest cancels the running statement; statement_timeout too (57014)', async () => {
    const raw = await RawClient.ready(fixture.port)
    try {
      const slow = 'SELECT sum(a.range * b.range) FROM range(200000) a, range(200000) b'
      raw.send(query(slow))
      await new Promise((resolve) => setTimeout(resolve, 300))
      const cancel = await RawClient.open(fixture.port)
      cancel.socket.write(Buffer.concat([int32(16), int32(80877102), int32(raw.processId), int32(raw.secretKey)]))
      const messages = await raw.until('Z')
      const error = messages.find((message) => message.type === 'E')!
      assert.equal(errorField(error, 'C'), '57014')
      assert.match(errorField(error, 'M')!, /user request/)
      raw.send(query(`SET statement_timeout = '200ms'; ${slow}`))
      const timedOut = await raw.until('Z')
      const timeout = timedOut.find((message) => message.type === 'E')!
      assert.equal(errorField(timeout, 'C'), '57014')
      assert.match(errorField(timeout, 'M')!, /statement timeout/)
      raw.send(query('SELECT 1'))
      assert.ok((await raw.until('Z')).some((message) => message.type === 'D'))
    } finally {
      raw.close()
    }
  })

  test('a client that disconnects mid-transaction and mid-query leaves nothing locked', async () => {
    const raw = await RawClient.ready(fixture.port)
    raw.send(query('CREATE TABLE left_behind (id INTEGER PRIMARY KEY); BEGIN; INSERT INTO left_behind VALUES (1)'))
    await raw.until('Z')
    raw.close()
    const busy = await RawClient.ready(fixture.port)
    busy.send(query('SELECT sum(a.range * b.range) FROM range(200000) a, range(200000) b'))
    await new Promise((resolve) => setTimeout(resolve, 200))
    busy.close()
    const db = client(fixture)
    await db.connect()
    try {
      // The writer lock was released (BEGIN would wait 10 s for it otherwise) and the insert rolled back.
      const started = Date.now()
      await db.query('BEGIN')
      await db.query('INSERT INTO left_behind VALUES (2)')
      await db.query('COMMIT')
      assert.ok(Date.now() - started < 5_000)
      assert.deepEqual((await db.query('SELECT id FROM left_behind')).rows, [{ id: 2 }])
    } finally {
      await db.end()
    }
  })

  test('SET, SHOW and catalog functions answer as PostgreSQL does', async () => {
    const db = client(fixture, { application_name: 'wire-test' })
    await db.connect()
    try {
      assert.equal((await db.query('SHOW application_name')).rows[0].application_name, 'wire-test')
      await db.query("SET search_path TO public; SET TIME ZONE 'UTC'; SET extra_float_digits = 3")
      assert.equal((await db.query('SHOW search_path')).rows[0].search_path, 'public')
      assert.equal((await sqlstateOf(db.query('SHOW no_such_setting'))).code, '42704')
      const row = (await db.query("SELECT version(), current_database(), current_schema(), current_user, current_setting('TimeZone') AS zone, set_config('application_name', 'renamed', false) AS renamed, pg_backend_pid() AS pid")).rows[0]
      assert.match(row.version, /^PostgreSQL 16\.0/)
      assert.deepEqual([row.current_database, row.current_schema, row.current_user, row.zone, row.renamed], ['strata', 'public', 'tester', 'UTC', 'renamed'])
      assert.equal(typeof row.pid, 'number')
      await db.query('CREATE TABLE catalogued (id INTEGER PRIMARY KEY, note TEXT)')
      const columns = await db.query("SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = 'catalogued' ORDER BY ordinal_position")
      assert.deepEqual(columns.rows, [
        { column_name: 'id', data_type: 'integer', is_nullable: 'NO' },
        { column_name: 'note', data_type: 'text', is_nullable: 'YES' },
      ])
      const tables = await db.query("SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname = $1", ['catalogued'])
      assert.deepEqual(tables.rows, [{ relname: 'catalogued' }])
      assert.equal((await db.query("SELECT 'catalogued'::regclass::oid > 0 AS found")).rows[0].found, true)
      await db.query('DISCARD ALL')
    } finally {
      await db.end()
    }
  })

  test("SQL-level PREPARE / EXECUTE / DEALLOCATE share the protocol's prepared statements", async () => {
    const db = client(fixture)
    await db.connect()
    try {
      await db.query('CREATE TABLE prepared_people (id INTEGER PRIMARY KEY, name TEXT, born DATE)')
      assert.equal((await db.query('PREPARE add_person (int, text, date) AS INSERT INTO prepared_people VALUES ($1, $2, $3) RETURNING id')).command, 'PREPARE')
      const added = await db.query("EXECUTE add_person(1, 'ann', '1990-05-17')")
      assert.equal(added.command, 'INSERT')
      assert.deepEqual(added.rows, [{ id: 1 }])
      await db.query("EXECUTE add_person('2', 'bob', NULL)")
      await db.query('PREPARE by_id (bigint) AS SELECT name, born FROM prepared_people WHERE id = $1')
      const found = await db.query('EXECUTE by_id(1)')
      assert.equal(found.command, 'SELECT')
      assert.deepEqual(found.rows.map((row) => [row.name, row.born instanceof Date]), [['ann', true]])
      assert.deepEqual((await db.query("EXECUTE by_id('2')")).rows, [{ name: 'bob', born: null }])
      // Errors: a name taken, an unknown one, the wrong number of values, a value of the wrong type.
      assert.equal((await sqlstateOf(db.query('PREPARE by_id AS SELECT 1'))).code, '42P05')
      assert.equal((await sqlstateOf(db.query('EXECUTE nothing_such(1)'))).code, '26000')
      assert.equal((await sqlstateOf(db.query('EXECUTE by_id(1, 2)'))).code, '42601')
      assert.equal((await sqlstateOf(db.query("EXECUTE by_id('x')"))).code, '22P02')
      assert.equal((await db.query('DEALLOCATE by_id')).command, 'DEALLOCATE')
      assert.equal((await sqlstateOf(db.query('EXECUTE by_id(1)'))).code, '26000')
      await db.query('DEALLOCATE ALL')
      await db.query('DROP TABLE prepared_people')
    } finally {
      await db.end()
    }
  })

  test('binary COPY both ways, checked against the real PostgreSQL on this machine', async () => {
    assert.ok(hasPsql, `${psql} is missing: install postgresql-client (as .ci/run does)`)
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-pgwire-binary-copy-'))
    const table = `binary_copy_${process.pid}_${Date.now()}`
    const columns = 'id INTEGER PRIMARY KEY, big BIGINT, name TEXT, ok BOOLEAN, score DOUBLE PRECISION, price DECIMAL(10,2), born DATE, seen TIMESTAMP, at TIMESTAMPTZ, photo BYTEA'
    const rows = `(1, 9007199254740993, 'ann', true, 1.5, 12.34, '1990-05-17', '2024-01-02 03:04:05.678901', '2024-01-02 03:04:05.5+00', '\\x01ff'),
      (2, -7, 'tab\there, "quotes" and ünïcode', false, -0.25, -1.00, '2000-02-29', '1969-12-31 23:59:59.999999', '1970-01-01 00:00:00+00', '\\x'),
      (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`
    const postgres = (args: readonly string[]): Promise<Run> => run(psql, ['-h', '127.0.0.1', '-p', '5432', '-d', 'test', '-X', '-v', 'ON_ERROR_STOP=1', ...args], { PGCONNECT_TIMEOUT: '10' })
    const fromPostgres = path.join(directory, 'from-postgres.bin')
    const fromStrata = path.join(directory, 'from-strata.bin')
    const select = `SELECT * FROM ${table} ORDER BY id`
    try {
      // PostgreSQL writes a binary file; Strata loads it and must hold the same rows.
      assert.equal((await postgres(['-c', `CREATE TABLE ${table} (${columns})`, '-c', `INSERT INTO ${table} VALUES ${rows}`])).status, 0)
      const exported = await postgres(['-c', `\\copy ${table} TO '${fromPostgres}' WITH (FORMAT binary)`])
      assert.equal(exported.status, 0, exported.stderr)
      const created = await runPsql(fixture.port, ['-c', `CREATE TABLE ${table} (${columns.replace('DOUBLE PRECISION', 'DOUBLE').replace('BYTEA', 'BLOB')})`])
      assert.equal(created.status, 0, created.stderr)
      const loaded = await runPsql(fixture.port, ['-c', `\\copy ${table} FROM '${fromPostgres}' WITH (FORMAT binary)`])
      assert.equal(loaded.status, 0, loaded.stderr)
      assert.match(loaded.stdout, /COPY 3/)
      const strataText = await runPsql(fixture.port, ['-At', '-c', select])
      const postgresText = await postgres(['-At', '-c', select])
      assert.equal(strataText.stdout, postgresText.stdout)
      // Strata writes a binary file; PostgreSQL loads it into an emptied table and must hold the same rows.
      const written = await runPsql(fixture.port, ['-c', `\\copy ${table} TO '${fromStrata}' WITH (FORMAT binary)`])
      assert.equal(written.status, 0, written.stderr)
      const reloaded = await postgres(['-c', `TRUNCATE ${table}`, '-c', `\\copy ${table} FROM '${fromStrata}' WITH (FORMAT binary)`])
      assert.equal(reloaded.status, 0, reloaded.stderr)
      assert.equal((await postgres(['-At', '-c', select])).stdout, strataText.stdout)
      // A malformed stream is 22P04 and loads nothing.
      fs.writeFileSync(path.join(directory, 'bad.bin'), Buffer.concat([fs.readFileSync(fromStrata).subarray(0, 40)]))
      const bad = await runPsql(fixture.port, ['-c', `\\copy ${table} FROM '${path.join(directory, 'bad.bin')}' WITH (FORMAT binary)`])
      assert.notEqual(bad.status, 0)
      assert.match(bad.stderr, /COPY|EOF|format/i)
      assert.equal((await runPsql(fixture.port, ['-At', '-c', `SELECT count(*) FROM ${table}`])).stdout, '3\n')
    } finally {
      await postgres(['-c', `DROP TABLE IF EXISTS ${table}`])
      await runPsql(fixture.port, ['-c', `DROP TABLE IF EXISTS ${table}`])
      fs.rmSync(directory, { recursive: true, force: true })
    }
  })

  test('LISTEN / NOTIFY / pg_notify between connections: at once outside a transaction, at COMMIT inside one', async () => {
    const listener = client(fixture)
    const sender = client(fixture)
    await listener.connect()
    await sender.connect()
    const received: { channel: string; payload: string | undefined; processId: number }[] = []
    listener.on('notification', (message) => received.push({ channel: message.channel, payload: message.payload, processId: message.processId }))
    const waitForCount = async (count: number): Promise<void> => {
      const deadline = Date.now() + 5_000
      while (received.length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
    }
    try {
      assert.equal((await listener.query('LISTEN jobs')).command, 'LISTEN')
      const senderPid = (await sender.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number
      assert.equal((await sender.query("NOTIFY jobs, 'first'")).command, 'NOTIFY')
      await sender.query('NOTIFY other_channel')
      await waitForCount(1)
      assert.deepEqual(received, [{ channel: 'jobs', payload: 'first', processId: senderPid }])
      // Inside a transaction: nothing until COMMIT, then each distinct notification once, in order.
      await sender.query('BEGIN')
      await sender.query("NOTIFY jobs, 'second'")
      await sender.query("NOTIFY jobs, 'second'")
      await sender.query("SELECT pg_notify('jobs', $1)", ['third'])
      await new Promise((resolve) => setTimeout(resolve, 100))
      assert.equal(received.length, 1)
      await sender.query('COMMIT')
      await waitForCount(3)
      assert.deepEqual(received.slice(1).map((message) => message.payload), ['second', 'third'])
      // ROLLBACK drops them; so does a several-statement Query whose write fails.
      await sender.query('BEGIN')
      await sender.query("NOTIFY jobs, 'rolled back'")
      await sender.query('ROLLBACK')
      await sender.query('CREATE TABLE notified (id INTEGER PRIMARY KEY)')
      await sqlstateOf(sender.query("INSERT INTO notified VALUES (1); NOTIFY jobs, 'implicit'; INSERT INTO notified VALUES (1)"))
      await sender.query("INSERT INTO notified VALUES (2); NOTIFY jobs, 'implicit commit'")
      await waitForCount(4)
      await new Promise((resolve) => setTimeout(resolve, 100))
      assert.deepEqual(received.slice(3).map((message) => message.payload), ['implicit commit'])
      // A listener hears its own notifications; UNLISTEN stops them; payloads are bounded.
      await listener.query("NOTIFY jobs, 'to myself'")
      await waitForCount(5)
      assert.equal(received[4]!.payload, 'to myself')
      await listener.query('UNLISTEN *')
      await sender.query("NOTIFY jobs, 'unheard'")
      await new Promise((resolve) => setTimeout(resolve, 100))
      assert.equal(received.length, 5)
      assert.equal((await sqlstateOf(sender.query(`NOTIFY jobs, '${'x'.repeat(8_000)}'`))).code, '22023')
      // LISTEN in a transaction counts from its COMMIT; ROLLBACK TO a savepoint forgets what came after.
      await listener.query('BEGIN')
      await listener.query('LISTEN later')
      await listener.query('ROLLBACK')
      await sender.query("NOTIFY later, 'not listening'")
      await listener.query('BEGIN')
      await listener.query('LISTEN later')
      await sender.query("NOTIFY later, 'not yet'")
      await listener.query('COMMIT')
      await sender.query('BEGIN')
      await sender.query("NOTIFY later, 'kept'")
      await sender.query('SAVEPOINT s')
      await sender.query("NOTIFY later, 'cut'")
      await sender.query('ROLLBACK TO SAVEPOINT s')
      await sender.query("NOTIFY later, 'after'")
      await sender.query('COMMIT')
      await waitForCount(7)
      await new Promise((resolve) => setTimeout(resolve, 100))
      assert.deepEqual(received.slice(5).map((message) => `${message.channel}:${message.payload}`), ['later:kept', 'later:after'])
      await sender.query('DROP TABLE notified')
    } finally {
      await listener.end()
      await sender.end()
    }
    // psql prints a notification it receives.
    const printed = await runPsql(fixture.port, ['-c', 'LISTEN psql_channel', '-c', "NOTIFY psql_channel, 'hello'"])
    assert.equal(printed.status, 0, printed.stderr)
    assert.match(printed.stdout, /Asynchronous notification "psql_channel" with payload "hello" received/)
  })

  test('savepoints: node-postgres ROLLBACK TO and RELEASE, and psql ON_ERROR_ROLLBACK', async () => {
    const db = client(fixture)
    await db.connect()
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-pgwire-savepoints-'))
    try {
      await db.query('CREATE TABLE saved_wire (id INTEGER PRIMARY KEY)')
      assert.equal((await sqlstateOf(db.query('SAVEPOINT early'))).code, '25P01')
      await db.query('BEGIN')
      await db.query('INSERT INTO saved_wire VALUES (1)')
      assert.equal((await db.query('SAVEPOINT one')).command, 'SAVEPOINT')
      await db.query('INSERT INTO saved_wire VALUES (2)')
      assert.equal((await db.query('ROLLBACK TO SAVEPOINT one')).command, 'ROLLBACK')
      await db.query('INSERT INTO saved_wire VALUES (3)')
      assert.equal((await db.query('RELEASE SAVEPOINT one')).command, 'RELEASE')
      assert.equal((await sqlstateOf(db.query('ROLLBACK TO one'))).code, '3B001')
      await db.query('COMMIT')
      assert.deepEqual((await db.query('SELECT id FROM saved_wire ORDER BY id')).rows, [{ id: 1 }, { id: 3 }])
      // psql wraps each statement of a transaction in a savepoint of its own and rolls back to it on error.
      const script = path.join(directory, 'on-error-rollback.sql')
      fs.writeFileSync(script, '\\set ON_ERROR_ROLLBACK on\nBEGIN;\nINSERT INTO saved_wire VALUES (4);\nINSERT INTO saved_wire VALUES (4);\nINSERT INTO saved_wire VALUES (5);\nCOMMIT;\n')
      const ran = await runPsql(fixture.port, ['-v', 'ON_ERROR_STOP=0', '-f', script])
      assert.equal(ran.stderr.match(/ERROR/g)?.length, 1, ran.stderr)
      assert.match(ran.stderr, /duplicate|unique|constraint/i)
      assert.deepEqual((await db.query('SELECT id FROM saved_wire ORDER BY id')).rows, [{ id: 1 }, { id: 3 }, { id: 4 }, { id: 5 }])
      await db.query('DROP TABLE saved_wire')
    } finally {
      fs.rmSync(directory, { recursive: true, force: true })
      await db.end()
    }
  })

  test('READ ONLY transactions and sessions refuse writes with 25006; READ WRITE and RESET lift it', async () => {
    const db = client(fixture)
    await db.connect()
    try {
      await db.query('CREATE TABLE guarded_wire (id INTEGER PRIMARY KEY)')
      await db.query('BEGIN READ ONLY')
      assert.equal((await sqlstateOf(db.query('INSERT INTO guarded_wire VALUES (1)'))).code, '25006')
      await db.query('ROLLBACK')
      await db.query('BEGIN')
      await db.query('SET TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ ONLY')
      assert.equal((await sqlstateOf(db.query('INSERT INTO guarded_wire VALUES (1)'))).code, '25006')
      await db.query('ROLLBACK')
      await db.query('SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY')
      assert.equal((await db.query('SHOW default_transaction_read_only')).rows[0].default_transaction_read_only, 'on')
      assert.equal((await sqlstateOf(db.query('INSERT INTO guarded_wire VALUES (1)'))).code, '25006')
      await db.query('BEGIN READ WRITE')
      await db.query('INSERT INTO guarded_wire VALUES (1)')
      await db.query('COMMIT')
      await db.query('RESET default_transaction_read_only')
      await db.query('INSERT INTO guarded_wire VALUES (2)')
      await db.query('SET default_transaction_read_only = on')
      assert.equal((await sqlstateOf(db.query('DROP TABLE guarded_wire'))).code, '25006')
      assert.deepEqual((await db.query('SELECT id FROM guarded_wire ORDER BY id')).rows, [{ id: 1 }, { id: 2 }])
      await db.query('SET default_transaction_read_only = off')
      await db.query('DROP TABLE guarded_wire')
    } finally {
      await db.end()
    }
  })

  test('psql: USE BRANCH, SHOW BRANCHES and MERGE BRANCH in one session', async () => {
    assert.ok(hasPsql, `${psql} is missing: install postgresql-client (as .ci/run does)`)
    const commands = [
      'CREATE TABLE psql_branch_t (id INTEGER PRIMARY KEY, v TEXT)',
      "INSERT INTO psql_branch_t VALUES (1, 'on main')",
      'CREATE BRANCH "psql/dev"',
      'USE BRANCH "psql/dev"',
      "UPDATE psql_branch_t SET v = 'on dev' WHERE id = 1",
      'SELECT strata.current_branch()',
      'SELECT v FROM psql_branch_t',
      'SHOW BRANCHES',
      'USE BRANCH main',
      'SELECT v FROM psql_branch_t',
      'MERGE BRANCH "psql/dev"',
      'SELECT v FROM psql_branch_t',
    ]
    const result = await runPsql(fixture.port, ['-Atq', ...commands.flatMap((command) => ['-c', command])])
    assert.equal(result.status, 0, result.stderr)
    const lines = result.stdout.trimEnd().split('\n')
    assert.equal(lines[0], 'psql/dev')
    assert.equal(lines[1], 'on dev')
    assert.ok(lines.some((line) => /^psql\/dev\|main\|\d+\|\d+\|/.test(line)), result.stdout)
    assert.ok(lines.some((line) => /^main\|\|/.test(line)), result.stdout)
    const after = lines.slice(lines.findIndex((line) => line.startsWith('main|')) + 1).filter((line) => !/^psql\/dev\|/.test(line))
    assert.equal(after[0], 'on main')
    assert.match(after[1] ?? '', /^\d+\|1\|0$/)
    assert.equal(after[2], 'on dev')
  })

  test('psql: -c, a script file, \\dt, \\d, \\d table, \\di, \\d+, \\l, and COPY both ways', async () => {
    // .ci/run installs Debian's postgresql-client; without it this test must fail, not pass quietly.
    assert.ok(hasPsql, `${psql} is missing: install postgresql-client (as .ci/run does)`)
    const one = await runPsql(fixture.port, ['-At', '-c', 'select 1'])
    assert.equal(one.status, 0, one.stderr)
    assert.equal(one.stdout, '1\n')
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-pgwire-'))
    try {
      const script = path.join(directory, 'setup.sql')
      fs.writeFileSync(
        script,
        `CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT 'anon', score DECIMAL(6,2), email TEXT UNIQUE, CHECK (score >= 0));
INSERT INTO people VALUES (1, 'ann', 9.5, 'ann@example.com');
INSERT INTO people (id, score) VALUES (2, 3);
CREATE VIEW good_people AS SELECT id, name FROM people WHERE score > 5;
CREATE INDEX people_name_idx ON people (name);
CREATE UNIQUE INDEX people_name_score ON people (name, score);
SELECT name, score FROM people ORDER BY id;
`,
      )
      const ran = await runPsql(fixture.port, ['-f', script])
      assert.equal(ran.status, 0, ran.stderr)
      assert.match(ran.stdout, /CREATE TABLE\nINSERT 0 1\nINSERT 0 1\nCREATE VIEW\nCREATE INDEX\nCREATE INDEX\n/)
      assert.match(ran.stdout, / ann  \| {2}9\.50\n anon \| {2}3\.00\n\(2 rows\)/)
      const listed = await runPsql(fixture.port, ['-c', '\\dt'])
      assert.equal(listed.status, 0, listed.stderr)
      assert.match(listed.stdout, /public \| people +\| table \| tester/)
      assert.doesNotMatch(listed.stdout, /good_people/)
      const all = await runPsql(fixture.port, ['-c', '\\d'])
      assert.match(all.stdout, /public \| good_people +\| view {2}\| tester/)
      const table = await runPsql(fixture.port, ['-c', '\\d people'])
      assert.equal(table.status, 0, table.stderr)
      assert.match(table.stdout, /Table "public\.people"/)
      assert.match(table.stdout, / id +\| integer +\| +\| not null \|/)
      assert.match(table.stdout, / name +\| text +\| +\| not null \| 'anon'::text/)
      assert.match(table.stdout, / score +\| numeric\(6,2\) +\| +\| +\|/)
      assert.match(table.stdout, /"people_pkey" PRIMARY KEY, btree \(id\)/)
      assert.match(table.stdout, /"people_email_key" UNIQUE CONSTRAINT, btree \(email\)/)
      assert.match(table.stdout, /"people_score_check" CHECK/)
      assert.match(table.stdout, /"people_name_idx" btree \(name\)\n/)
      assert.match(table.stdout, /"people_name_score" UNIQUE, btree \(name, score\)\n/)
      const indexes = await runPsql(fixture.port, ['-c', '\\di'])
      assert.equal(indexes.status, 0, indexes.stderr)
      for (const index of ['people_email_key', 'people_name_idx', 'people_name_score', 'people_pkey']) {
        assert.match(indexes.stdout, new RegExp(` public \\| ${index} +\\| index \\| tester \\| people\\n`))
      }
      const definition = await runPsql(fixture.port, ['-At', '-c', "SELECT indexdef FROM pg_indexes WHERE indexname = 'people_name_score'"])
      assert.equal(definition.stdout, 'CREATE UNIQUE INDEX people_name_score ON public.people USING btree (name, score)\n')
      const plus = await runPsql(fixture.port, ['-c', '\\d+ people'])
      assert.equal(plus.status, 0, plus.stderr)
      assert.match(plus.stdout, /Storage/)
      const view = await runPsql(fixture.port, ['-c', '\\d good_people'])
      assert.equal(view.status, 0, view.stderr)
      assert.match(view.stdout, /View "public\.good_people"/)
      const databases = await runPsql(fixture.port, ['-c', '\\l'])
      assert.equal(databases.status, 0, databases.stderr)
      assert.match(databases.stdout, /strata +\| tester +\| UTF8/)
      // COPY FROM STDIN (text and CSV) and COPY TO STDOUT.
      const tsv = path.join(directory, 'more.tsv')
      fs.writeFileSync(tsv, '10\tbo\t1.25\t\\N\n11\tcy\\tz\t2\tcy@example.com\n')
      const csv = path.join(directory, 'more.csv')
      fs.writeFileSync(csv, 'id,name,score\n20,"di, the second",4\n21,"ed ""q""",\n')
      const copied = await runPsql(fixture.port, ['-c', `\\copy people (id, name, score, email) from '${tsv}'`, '-c', `\\copy people (id, name, score) from '${csv}' with (format csv, header)`])
      assert.equal(copied.status, 0, copied.stderr)
      assert.match(copied.stdout, /COPY 2\nCOPY 2/)
      const out = await runPsql(fixture.port, ['-c', 'COPY (SELECT id, name, score, email FROM people WHERE id >= 10 ORDER BY id) TO STDOUT WITH (FORMAT csv, HEADER)'])
      assert.equal(out.status, 0, out.stderr)
      assert.equal(out.stdout, 'id,name,score,email\n10,bo,1.25,\n11,cy\tz,2.00,cy@example.com\n20,"di, the second",4.00,\n21,"ed ""q""",,\n')
      const text = await runPsql(fixture.port, ['-c', 'COPY people (id, name) TO STDOUT'])
      assert.match(text.stdout, /^11\tcy\\tz$/m)
      // COPY inside a transaction joins it (data inline in a script, as psql sends it).
      const inline = path.join(directory, 'inline.sql')
      fs.writeFileSync(inline, 'BEGIN;\nCOPY people (id, name) FROM STDIN;\n30\tinline\n31\tinline too\n\\.\nSELECT count(*) FROM people WHERE id >= 30;\nROLLBACK;\nSELECT count(*) FROM people WHERE id >= 30;\n')
      const inTransaction = await runPsql(fixture.port, ['-At', '-f', inline])
      assert.equal(inTransaction.status, 0, inTransaction.stderr)
      assert.equal(inTransaction.stdout, 'BEGIN\nCOPY 2\n2\nROLLBACK\n0\n')
      const bad = await runPsql(fixture.port, ['-c', `\\copy people (id, name) from '${tsv}'`])
      assert.notEqual(bad.status, 0)
      assert.match(bad.stderr, /extra data after last expected column/)
    } finally {
      fs.rmSync(directory, { recursive: true, force: true })
    }
  })

  test('Kysely over pg: typed inserts and selects, a transaction, and its PostgreSQL introspection', async () => {
    const fixture = await startFixture()
    interface Schema {
      pets: { id: number; name: string; born: Date | null }
    }
    const pool = new pg.Pool({ host: '127.0.0.1', port: fixture.port, user: 'tester', database: 'strata', max: 3 })
    // An idle pooled connection hears the server's shutdown notice; that is not a failure of this test.
    pool.on('error', () => undefined)
    const db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) })
    try {
      await sql`CREATE TABLE pets (id INTEGER PRIMARY KEY, name TEXT NOT NULL, born TIMESTAMP)`.execute(db)
      await db.insertInto('pets').values([{ id: 1, name: 'Rex', born: new Date('2020-01-02T03:04:05Z') }, { id: 2, name: 'Tom', born: null }]).execute()
      const rex = await db.selectFrom('pets').select(['id', 'name', 'born']).where('name', '=', 'Rex').executeTakeFirstOrThrow()
      assert.deepEqual(rex, { id: 1, name: 'Rex', born: new Date('2020-01-02T03:04:05Z') })
      await db.transaction().execute(async (tx) => {
        await tx.updateTable('pets').set({ name: 'Tommy' }).where('id', '=', 2).execute()
        const inside = await tx.selectFrom('pets').select('name').where('id', '=', 2).executeTakeFirstOrThrow()
        assert.equal(inside.name, 'Tommy')
      })
      await assert.rejects(
        db.transaction().execute(async (tx) => {
          await tx.deleteFrom('pets').execute()
          throw new Error('roll it back')
        }),
        /roll it back/,
      )
      assert.equal((await db.selectFrom('pets').select(db.fn.countAll().as('n')).executeTakeFirstOrThrow()).n, '2')
      const tables = await db.introspection.getTables()
      const pets = tables.find((table) => table.name === 'pets')
      assert.ok(pets !== undefined, `introspection found ${JSON.stringify(tables.map((table) => table.name))}`)
      assert.deepEqual(
        pets.columns.map((column) => [column.name, column.dataType, column.isNullable]),
        [
          ['id', 'int4', false],
          ['name', 'text', false],
          ['born', 'timestamp', true],
        ],
      )
    } finally {
      await db.destroy()
      await fixture.close()
    }
  })

  test('psycopg2 (Debian python3-psycopg2): parameters, a transaction, an error code', async () => {
    assert.ok(hasPsycopg2, 'python3-psycopg2 is missing for /usr/bin/python3: install it (as .ci/run does)')
    const program = `
import psycopg2, sys
conn = psycopg2.connect(host='127.0.0.1', port=${fixture.port}, user='tester', dbname='strata')
cur = conn.cursor()
cur.execute("CREATE TABLE py_items (id INTEGER PRIMARY KEY, name TEXT, price DECIMAL(8,2))")
cur.execute("INSERT INTO py_items VALUES (%s, %s, %s)", (1, "it's", 2.5))
cur.executemany("INSERT INTO py_items VALUES (%s, %s, %s)", [(2, 'b', 1), (3, 'c', None)])
conn.commit()
cur.execute("SELECT id, name, price FROM py_items WHERE id <= %s ORDER BY id", (2,))
print(cur.fetchall())
try:
    cur.execute("INSERT INTO py_items VALUES (1, 'dup', 0)")
except psycopg2.Error as error:
    print(error.pgcode)
conn.rollback()
cur.execute("SELECT count(*) FROM py_items")
print(cur.fetchone()[0])
conn.close()
`
    const ran = await run(systemPython, ['-c', program])
    assert.equal(ran.status, 0, ran.stderr)
    assert.equal(ran.stdout, "[(1, \"it's\", Decimal('2.50')), (2, 'b', Decimal('1.00'))]\n23505\n3\n")
  })
})

describe('PostgreSQL wire protocol: authentication, TLS, limits', () => {
  test('SCRAM-SHA-256: the right password connects, a wrong one or an unknown user gets 28P01', async () => {
    const fixture = await startFixture({ auth: { kind: 'scram', users: new Map([['ann', 's3cret']]) } })
    try {
      const good = client(fixture, { user: 'ann', password: 's3cret' })
      await good.connect()
      assert.equal((await good.query('SELECT current_user AS who')).rows[0].who, 'ann')
      await good.end()
      for (const [user, password] of [['ann', 'wrong'], ['bob', 's3cret']] as const) {
        const bad = client(fixture, { user, password })
        const failure = await sqlstateOf(bad.connect())
        assert.equal(failure.code, '28P01')
        assert.match(failure.message, /password authentication failed/)
      }
      if (hasPsql) {
        const viaPsql = await run(psql, ['-h', '127.0.0.1', '-p', String(fixture.port), '-U', 'ann', '-d', 'strata', '-Atc', 'select 7'], { PGPASSWORD: 's3cret' })
        assert.equal(viaPsql.stdout, '7\n', viaPsql.stderr)
      }
      assert.equal(fixture.server.connectionCount(), 0)
    } finally {
      await fixture.close()
    }
  })

  test('TLS from certificate files; SSLRequest answered N without them', async (t) => {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-pgtls-'))
    t.after(() => fs.rmSync(directory, { recursive: true, force: true }))
    const cert = path.join(directory, 'cert.pem')
    const key = path.join(directory, 'key.pem')
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'], { encoding: 'utf8' })
    assert.equal(made.status, 0, `openssl could not make a certificate: ${made.stderr}`)
    const fixture = await startFixture({ tls: { cert, key } })
    try {
      const secure = client(fixture, { ssl: { rejectUnauthorized: false } })
      await secure.connect()
      assert.equal((await secure.query('SELECT 1 AS over_tls')).rows[0].over_tls, 1)
      await secure.end()
      if (hasPsql) {
        const viaPsql = await runPsql(fixture.port, ['-Atc', 'select 2'], { PGSSLMODE: 'require' })
        assert.equal(viaPsql.stdout, '2\n', viaPsql.stderr)
      }
    } finally {
      await fixture.close()
    }
    const plain = await startFixture()
    try {
      const refused = client(plain, { ssl: { rejectUnauthorized: false } })
      await assert.rejects(refused.connect(), /does not support SSL/)
    } finally {
      await plain.close()
    }
  })

  test('maxConnections: one more session gets FATAL 53300; a freed slot is reused', async () => {
    const fixture = await startFixture({ maxConnections: 2 })
    try {
      const first = client(fixture)
      const second = client(fixture)
      await first.connect()
      await second.connect()
      assert.equal(fixture.server.connectionCount(), 2)
      const third = client(fixture)
      assert.equal((await sqlstateOf(third.connect())).code, '53300')
      await first.end()
      for (let attempt = 0; attempt < 50 && fixture.server.connectionCount() > 1; attempt++) await new Promise((resolve) => setTimeout(resolve, 20))
      const fourth = client(fixture)
      await fourth.connect()
      assert.equal((await fourth.query('SELECT 1 AS ok')).rows[0].ok, 1)
      await fourth.end()
      await second.end()
    } finally {
      await fixture.close()
    }
  })

  test('close() ends idle sessions with 57P01 and waits for a running statement', async () => {
    const fixture = await startFixture()
    const idle = client(fixture)
    await idle.connect()
    const ended = new Promise<Error>((resolve) => idle.on('error', resolve))
    const busy = client(fixture)
    busy.on('error', () => undefined)
    await busy.connect()
    const running = busy.query('SELECT sum(a.range * b.range) FROM range(200000) a, range(200000) b').then(
      () => 'finished',
      (error: { code?: string }) => error.code,
    )
    await new Promise((resolve) => setTimeout(resolve, 200))
    await fixture.server.close({ graceMs: 200 })
    assert.equal(((await ended) as { code?: string }).code, '57P01')
    assert.equal(await running, '57014')
    await fixture.engine.close()
  })
})

describe('PostgreSQL wire protocol: the pieces', () => {
  test('framing: messages split across chunks and several in one chunk; bounds are violations', () => {
    const reader = new MessageReader({ untypedBytesMax: 10_000, typedBytesMax: 1024 })
    const bytes = Buffer.concat([query('SELECT 1'), query('SELECT 2')])
    for (const byte of bytes.subarray(0, 7)) reader.push(Buffer.from([byte]))
    assert.equal(reader.nextTyped(), undefined)
    reader.push(bytes.subarray(7))
    assert.equal(reader.nextTyped()!.body.toString(), 'SELECT 1\0')
    assert.equal(reader.nextTyped()!.body.toString(), 'SELECT 2\0')
    assert.equal(reader.nextTyped(), undefined)
    reader.push(Buffer.concat([Buffer.from('Q'), int32(5000)]))
    assert.throws(() => reader.nextTyped(), ProtocolViolation)
    const startup = new MessageReader({ untypedBytesMax: 10_000, typedBytesMax: 1024 })
    startup.push(startupPacket({ user: 'ann', database: 'db' }))
    const message = startup.nextUntyped()
    assert.equal(message?.kind, 'startup')
    assert.equal(message?.kind === 'startup' ? message.parameters.get('database') : undefined, 'db')
  })

  test('SCRAM-SHA-256 follows RFC 7677\'s example exchange', () => {
    const verifier = scramVerifier('pencil', Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'))
    const exchange = new ScramExchange(verifier, '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0')
    assert.equal(exchange.first('n,,n=user,r=rOprNGfwEbeRWgbNEkqO'), 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096')
    assert.equal(
      exchange.final('c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ='),
      'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
    )
    const wrong = new ScramExchange(verifier, 'x')
    wrong.first('n,,n=user,r=abc')
    assert.throws(() => wrong.final(`c=biws,r=abcx,p=${Buffer.alloc(32).toString('base64')}`), /password authentication failed/)
  })

  test('values: PostgreSQL text output, numeric binary, parameters', () => {
    assert.equal(floatText(1e-7), '1e-07')
    assert.equal(floatText(0.1), '0.1')
    assert.equal(floatText(Number.NaN), 'NaN')
    assert.equal(timestampText(new Date('2024-01-02T03:04:05.120Z'), false), '2024-01-02 03:04:05.12')
    assert.equal(timestampText(new Date('2024-01-02T03:04:05Z'), true), '2024-01-02 03:04:05+00')
    assert.equal(timestampText(new Timestamp(1_704_164_645_123_450n), false), '2024-01-02 03:04:05.12345')
    assert.equal(timestampText(new Timestamp(-62_135_596_800_000_001n), false), '0001-12-31 23:59:59.999999 BC')
    assert.equal(textValue(12.5, wireType('DECIMAL(10,2)')), '12.50')
    assert.equal(textValue(new Uint8Array([0, 255]), wireType('BLOB')), '\\x00ff')
    assert.equal(textValue([1, null, 3], wireType('INTEGER[]')), '{1,NULL,3}')
    assert.equal(textValue({ months: 14, days: 3, micros: 3_600_000_001n }, wireType('INTERVAL')), '1 year 2 mons 3 days 01:00:00.000001')
    const numeric = numericBinary(-1234.5, wireType('DECIMAL(10,2)'))
    assert.deepEqual([numeric.readInt16BE(0), numeric.readInt16BE(2), numeric.readUInt16BE(4), numeric.readInt16BE(6), numeric.readInt16BE(8), numeric.readInt16BE(10)], [2, 0, 0x4000, 2, 1234, 5000])
    assert.equal(parameterValue(Buffer.from('42'), 0, 23), 42)
    assert.equal(parameterValue(Buffer.from('9007199254740993'), 0, 20), 9007199254740993n)
    assert.deepEqual(parameterValue(Buffer.from('\\x01ff'), 0, 17), new Uint8Array([1, 255]))
    assert.equal(parameterValue(Buffer.from([0, 0, 0, 0, 0, 0, 0, 0]), 1, 1114), '2000-01-01 00:00:00.000000')
    assert.throws(() => parameterValue(Buffer.from('x'), 0, 23), /invalid input syntax/)
  })

  test('COPY formats: text escapes, CSV quoting, NULLs, headers', async () => {
    await loadParser()
    const [textCopy] = splitQuery('COPY t FROM STDIN')
    const text = copyFormat(textCopy!.body!)
    assert.deepEqual(parseCopyRows('1\ta\\tb\t\\N\n2\t\\\\x\t\n\\.\nignored\n', text), [['1', 'a\tb', null], ['2', '\\x', '']])
    assert.equal(copyLine(['1', 'a\tb', null], text), '1\ta\\tb\t\\N\n')
    const [csvCopy] = splitQuery("COPY t FROM STDIN WITH (FORMAT csv, HEADER, NULL 'NULL')")
    const csv = copyFormat(csvCopy!.body!)
    assert.deepEqual(parseCopyRows('a,b\n"x, ""y""",NULL\r\n"multi\nline",""\n', csv), [['x, "y"', null], ['multi\nline', '']])
    assert.equal(copyLine(['x, "y"', null, 'NULL'], csv), '"x, ""y""",NULL,"NULL"\n')
    const [binary] = splitQuery('COPY t FROM STDIN (FORMAT binary)')
    assert.equal(copyFormat(binary!.body!).binary, true)
    const [binaryWithDelimiter] = splitQuery("COPY t FROM STDIN (FORMAT binary, DELIMITER ',')")
    assert.throws(() => copyFormat(binaryWithDelimiter!.body!), /BINARY mode/)
    // Binary rows round-trip, and every kind of damage is named.
    const file = Buffer.concat([binaryCopyHeader(), binaryCopyRow([Buffer.from([0, 0, 0, 7]), null]), binaryCopyRow([Buffer.from('x'), Buffer.alloc(0)]), binaryCopyTrailer()])
    assert.deepEqual(parseBinaryCopy(file, 2), [[Buffer.from([0, 0, 0, 7]), null], [Buffer.from('x'), Buffer.alloc(0)]])
    assert.throws(() => parseBinaryCopy(file, 3), /field count is 2, expected 3/)
    assert.throws(() => parseBinaryCopy(file.subarray(0, file.length - 2), 2), /no trailer/)
    assert.throws(() => parseBinaryCopy(Buffer.concat([file, Buffer.from([0])]), 2), /after the file trailer/)
    assert.throws(() => parseBinaryCopy(Buffer.from('PGCOPY\nnot really'), 2), /signature/)
  })

  test("statements: PostgreSQL's column names, splitting with offsets", async () => {
    await loadParser()
    const [select] = splitQuery("SELECT count(*), t.a, 1, x::int, 'y'::text, CASE WHEN true THEN 1 END, (SELECT max(b) FROM u), EXISTS (SELECT 1), a + 1 AS total FROM t")
    assert.deepEqual(resultNames(select!), ['count', 'a', '?column?', 'x', 'text', 'case', 'max', 'exists', 'total'])
    assert.equal(resultNames(splitQuery('SELECT * FROM t')[0]!), undefined)
    assert.deepEqual(resultNames(splitQuery('VALUES (1, 2)')[0]!), ['column1', 'column2'])
    const statements = splitQuery('SELECT 1;\n  SELECT 2')
    assert.deepEqual(statements.map((statement) => [statement.text, statement.offset]), [['SELECT 1', 0], ['SELECT 2', 12]])
    assert.deepEqual(splitQuery('  '), [])
  })
})
