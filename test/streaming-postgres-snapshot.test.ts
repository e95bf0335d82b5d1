/**
 * The PostgreSQL CDC source's initial snapshot (`snapshot = 'initial'`), against the machine's
 * PostgreSQL (127.0.0.1:5432, database test, wal_level = logical): rows already in the table arrive as
 * `_op` 'r' events before its changes; inserts, updates and deletes while a large snapshot is read are
 * each taken exactly once (every update adds 1, so a row's value counts its updates); a stream over the
 * source ends equal to the table; SIGKILLs during the snapshot (resumed from the last committed key in
 * a new exported snapshot) lose and double nothing; a definition stored before the option existed reads
 * changes only. Each test has a table and slot of its own (a random
 * suffix), dropped at its end even when it fails.
 */
import * as assert from 'node:assert/strict'
import * as path from 'node:path'
import { isDeepStrictEqual } from 'node:util'
import { test } from 'node:test'
import Sqlite from 'better-sqlite3'
import pg from 'pg'
import { open, type Database } from '../src/index.js'
import { compareKeys } from '../src/subsystems/streaming/postgres.js'
import { temporaryDirectory } from './helpers.js'
import { upstream } from './postgres-upstream.js'
import { count, startSourceWorker as startWorker, waitFor as waitForCondition } from './source-kill.js'

/** A snapshot of tens of thousands of rows takes a while on 2 busy cores: longer waits than the connector tests'. */
const waitFor = (what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> => waitForCondition(what, check, timeoutMs)

async function shown(db: Database, name: string): Promise<Record<string, unknown>> {
  return (await db.query('SHOW SOURCES')).rows.find((row) => row['name'] === name)!
}

/**
 * Each key's events folded: a key must be born once ('r' or 'c'), and its last value must be the value
 * it was born with plus the number of updates taken (every update adds 1) — a lost or doubled change
 * breaks one or the other. Returns the keys that break it, and the live rows (key → value).
 */
async function folded(db: Database, source: string): Promise<{ broken: number; live: Map<string, number> }> {
  const perKey = `SELECT k, count(*) FILTER (WHERE _op IN ('r', 'c')) AS births, max(v) FILTER (WHERE _op IN ('r', 'c')) AS base, count(*) FILTER (WHERE _op = 'u') AS ups, arg_max(v, _lsn) AS last, arg_max(_op, _lsn) AS op FROM ${source} GROUP BY k`
  const broken = await count(db, `SELECT count(*) AS n FROM (${perKey}) WHERE births <> 1 OR (op <> 'd' AND last <> base + ups)`)
  const rows = (await db.query(`SELECT CAST(k AS VARCHAR) AS k, last FROM (${perKey}) WHERE op <> 'd'`, [], { engine: 'column' })).rows
  return { broken, live: new Map(rows.map((row) => [String(row['k']), Number(row['last'])])) }
}

async function table(client: pg.Client, name: string): Promise<Map<string, number>> {
  const rows = (await client.query(`SELECT k::text AS k, v FROM ${name}`)).rows as { k: string; v: number }[]
  return new Map(rows.map((row) => [row.k, Number(row.v)]))
}

/** Random single-row changes, one PostgreSQL transaction each, until `stop()`: updates (+1) and deletes of existing keys, inserts of new ones. */
function writer(client: pg.Client, name: string, keysMax: number, key: (index: number) => string): { stop: () => Promise<number> } {
  let writing = true
  let changes = 0
  let inserted = 0
  const done = (async () => {
    while (writing) {
      const pick = key(Math.floor(Math.random() * keysMax))
      const kind = changes % 5
      if (kind === 4) await client.query(`DELETE FROM ${name} WHERE k = $1`, [pick])
      else if (kind === 3) await client.query(`INSERT INTO ${name} (k, v) VALUES ($1, 0)`, [`new${inserted++}`])
      else await client.query(`UPDATE ${name} SET v = v + 1 WHERE k = $1`, [pick])
      changes++
    }
  })()
  return {
    stop: async () => {
      writing = false
      await done
      return changes
    },
  }
}

test('compareKeys orders as the snapshot query does: integers by value, texts by UTF-8 bytes (COLLATE "C"), column by column', () => {
  assert.ok(compareKeys([{ name: 'id', kind: 'integer' }], ['9'], ['10']) < 0)
  assert.ok(compareKeys([{ name: 'id', kind: 'integer' }], ['-9007199254740993'], ['-9007199254740992']) < 0)
  assert.ok(compareKeys([{ name: 'k', kind: 'text' }], ['k9'], ['k10']) > 0)
  assert.ok(compareKeys([{ name: 'k', kind: 'text' }], ['Z'], ['a']) < 0)
  assert.ok(compareKeys([{ name: 'k', kind: 'text' }], ['z'], ['é']) < 0)
  assert.equal(compareKeys([{ name: 'a', kind: 'text' }, { name: 'b', kind: 'integer' }], ['x', '2'], ['x', '2']), 0)
  assert.ok(compareKeys([{ name: 'a', kind: 'text' }, { name: 'b', kind: 'integer' }], ['x', '2'], ['x', '10']) < 0)
})

test("compareKeys orders numeric, date, timestamp, timestamptz and bytea keys exactly as PostgreSQL's ORDER BY does (its own texts, in UTC and ISO as the connector asks, sorted by the server)", { timeout: 30_000 }, async () => {
  const client = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test', options: '-c DateStyle=ISO -c TimeZone=UTC' })
  await client.connect()
  try {
    const cases: readonly (readonly [string, 'numeric' | 'time' | 'text', readonly string[]])[] = [
      ['numeric', 'numeric', ['0', '-0.0001', '0.0001', '1e20', '-1e20', '123456789012345678901234567890.5', '123456789012345678901234567890.49', '2.50', '2.5', '10', '9.999', 'NaN', 'Infinity', '-Infinity', '-7', '-7.000001']],
      ['date', 'time', ['2026-01-05', '1969-12-31', '0001-01-01', '0001-12-31 BC', '0044-03-15 BC', '9999-12-31', '10000-01-01', '294276-12-31', '4713-01-01 BC', 'infinity', '-infinity', '2000-02-29', '1900-03-01']],
      ['timestamp', 'time', ['2026-01-05 14:30:00', '2026-01-05 14:30:00.000001', '2026-01-05 14:29:59.999999', '1969-12-31 23:59:59.5', '0001-01-01 00:00:00 BC', '0002-06-01 12:00:00 BC', '10000-01-01 00:00:00', 'infinity', '-infinity', '1970-01-01 00:00:00']],
      ['timestamptz', 'time', ['2026-01-05 14:30:00+00', '2026-01-05 15:30:00+01', '2026-01-05 14:30:00.5+00', '1969-12-31 23:59:59.999999+00', '0010-01-01 00:00:00+00 BC', 'infinity', '-infinity']],
      ['bytea', 'text', ['\\x', '\\x00', '\\x0000', '\\x01', '\\x7f', '\\x80', '\\xff', '\\xff00', '\\x00ff', '\\x10']],
    ]
    for (const [type, kind, values] of cases) {
      const sorted = (await client.query(`SELECT x::text AS v FROM unnest($1::${type}[]) AS u(x) ORDER BY x`, [values])).rows.map((row: { v: string }) => row.v)
      const keys = [{ name: 'k', kind }] as const
      const ours = [...sorted].sort((left, right) => compareKeys(keys, [left], [right]))
      assert.deepEqual(ours, sorted, `${type}: PostgreSQL's order`)
      for (let index = 1; index < sorted.length; index++) {
        const equal = (await client.query(`SELECT $1::${type} = $2::${type} AS equal`, [sorted[index - 1], sorted[index]])).rows[0].equal as boolean
        assert.equal(compareKeys(keys, [sorted[index - 1]!], [sorted[index]!]) === 0, equal, `${type}: ${sorted[index - 1]} and ${sorted[index]}`)
      }
    }
  } finally {
    await client.end()
  }
})

test("PostgreSQL CDC snapshot = 'initial' of a table keyed by numeric, date and bytea columns: every row once, then the changes", { timeout: 30_000 }, async (t) => {
  const up = await upstream(t, 'n numeric, d date, b bytea, v integer NOT NULL, PRIMARY KEY (n, d, b)', 'strata_snap')
  await up.client.query(`INSERT INTO ${up.table} SELECT (g % 7)::numeric / 4, DATE '2026-01-01' - (g % 5), decode(lpad(to_hex(g % 3), 2, '0'), 'hex'), g FROM generate_series(0, 104) AS g`)
  const db = await open(':memory:')
  up.closeFirst(db)
  await db.query(`CREATE SOURCE s (n DECIMAL(10, 2), d DATE, b BLOB, v INTEGER, _op VARCHAR, _ts TIMESTAMPTZ, WATERMARK FOR _ts) WITH (connector = 'postgres-cdc', database = 'test', table = '${up.table}', slot = '${up.table}')`)
  await waitFor('the snapshot done', async () => (await shown(db, 's'))['connector_offset'] !== null)
  await up.client.query(`INSERT INTO ${up.table} VALUES (99.5, DATE '1999-12-31', '\\x0a', 1000)`)
  await waitFor('the change after it', async () => (await count(db, "SELECT count(*) AS n FROM s WHERE _op = 'c'")) === 1)
  assert.equal(await count(db, "SELECT count(*) AS n FROM s WHERE _op = 'r'"), 105)
  assert.equal(await count(db, "SELECT count(DISTINCT (n, d, b)) AS n FROM s WHERE _op = 'r'"), 105)
  assert.equal(await count(db, "SELECT sum(v) AS n FROM s"), 104 * 105 / 2 + 1000)
})

test("PostgreSQL CDC snapshot = 'initial': the rows already there arrive as 'r' events, then the changes; changes during a large snapshot are taken exactly once; a stream over the source ends equal to the table", { timeout: 60_000 }, async (t) => {
  const up = await upstream(t, 'k text COLLATE "und-x-icu" PRIMARY KEY, v integer NOT NULL', 'strata_snap')
  const rowsBefore = 30_000
  // Mixed case in an ICU collation: the column orders these unlike COLLATE "C" (the bytes), which the snapshot reads by.
  const key = (index: number) => `${index % 2 === 0 ? 'K' : 'k'}${index}`
  await up.client.query(`INSERT INTO ${up.table} SELECT CASE WHEN g % 2 = 0 THEN 'K' ELSE 'k' END || g, 0 FROM generate_series(0, ${rowsBefore - 1}) AS g`)
  await up.client.query(`ALTER TABLE ${up.table} REPLICA IDENTITY FULL`)
  const db = await open(':memory:')
  up.closeFirst(db)
  const changes = writer(up.client, up.table, rowsBefore, key)
  let written: number
  try {
    // The default snapshot: 'initial'. The writer runs before, during and after the snapshot.
    await new Promise((resolve) => setTimeout(resolve, 100))
    await db.query(`CREATE SOURCE s (k VARCHAR, v INTEGER, _op VARCHAR, _before JSON, _ts TIMESTAMPTZ, _lsn BIGINT, WATERMARK FOR _ts) WITH (connector = 'postgres-cdc', database = 'test', table = '${up.table}', slot = '${up.table}')`)
    // Per _op: with every update adding 1 and a delete carrying the row it removed (REPLICA IDENTITY FULL),
    // the table's count and sum follow from these, and a lost or doubled change shows.
    await db.query('CREATE STREAM per_op AS SELECT _op, count(*) AS n, sum(v) AS total FROM s GROUP BY _op EMIT CHANGES')
    assert.equal((await shown(db, 's'))['connector_offset'], null)
    await waitFor('the snapshot done', async () => (await shown(db, 's'))['connector_offset'] !== null).catch(async (error: unknown) => {
      throw new Error(`${String(error)}: ${JSON.stringify(await shown(db, 's'))}, ${await count(db, 'SELECT count(*) AS n FROM s')} events`)
    })
    await new Promise((resolve) => setTimeout(resolve, 300))
  } finally {
    written = await changes.stop()
  }
  await up.client.query(`INSERT INTO ${up.table} VALUES ('after', 7)`)
  const expected = await table(up.client, up.table)
  await waitFor('the last change', async () => (await count(db, "SELECT count(*) AS n FROM s WHERE k = 'after'")) === 1)
  await new Promise((resolve) => setTimeout(resolve, 300))

  const snapshot = (await db.query("SELECT count(*) AS n, count(DISTINCT k) AS keys, min(_lsn) AS lsn, max(_lsn) AS lsn_max, count(*) FILTER (WHERE _before IS NOT NULL) AS befores, min(_ts) AS ts FROM s WHERE _op = 'r'", [], { engine: 'column' })).rows[0]!
  assert.ok(Number(snapshot['n']) > rowsBefore - written && Number(snapshot['n']) <= rowsBefore + written, `${snapshot['n']} snapshot rows`)
  assert.equal(snapshot['keys'], snapshot['n'])
  assert.equal(snapshot['lsn'], snapshot['lsn_max'], 'one snapshot, one consistent point')
  assert.equal(Number(snapshot['befores']), 0)
  assert.ok(Math.abs((snapshot['ts'] as Date).getTime() - Date.now()) < 60_000)
  // Every change after the snapshot's point, and some were written while it was read.
  assert.equal(await count(db, `SELECT count(*) AS n FROM s WHERE _op <> 'r' AND _lsn <= ${Number(snapshot['lsn'])}`), 0)
  assert.ok((await count(db, "SELECT count(*) AS n FROM s WHERE _op <> 'r'")) > 10)
  assert.ok(Number((await shown(db, 's'))['connector_offset']) > Number(snapshot['lsn']))

  const { broken, live } = await folded(db, 's')
  assert.equal(broken, 0, 'a key whose events lost or doubled a change')
  assert.deepEqual(live, expected)
  const perOp = new Map((await db.query('SELECT _op, n, total FROM per_op', [], { engine: 'column' })).rows.map((row) => [String(row['_op']), { n: Number(row['n']), total: Number(row['total'] ?? 0) }]))
  const of = (op: string) => perOp.get(op) ?? { n: 0, total: 0 }
  const streamed = { n: of('r').n + of('c').n - of('d').n, total: of('r').total + of('c').total + of('u').n - of('d').total }
  assert.deepEqual(streamed, { n: expected.size, total: [...expected.values()].reduce((sum, value) => sum + value, 0) })
  t.diagnostic(`${snapshot['n']} snapshot rows, ${written} changes written meanwhile`)
})

test("PostgreSQL CDC snapshot = 'never' reads changes only; a table without a primary key cannot be snapshot (shown in SHOW SOURCES); a source column the table lacks is named", { timeout: 30_000 }, async (t) => {
  const up = await upstream(t, 'k text PRIMARY KEY, v integer', 'strata_snap')
  await up.client.query(`INSERT INTO ${up.table} VALUES ('a', 1)`)
  const db = await open(':memory:')
  up.closeFirst(db)
  await db.query(`CREATE SOURCE s (k VARCHAR, v INTEGER, _op VARCHAR) WITH (connector = 'postgres-cdc', database = 'test', table = '${up.table}', slot = '${up.table}', snapshot = 'never')`)
  await waitFor('the slot read', async () => (await up.client.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [up.table])).rowCount === 1)
  await up.client.query(`INSERT INTO ${up.table} VALUES ('b', 2)`)
  await waitFor('the insert', async () => (await count(db, 'SELECT count(*) AS n FROM s')) === 1)
  assert.deepEqual((await db.query('SELECT k, _op FROM s')).rows, [{ k: 'b', _op: 'c' }])
  await db.query('DROP SOURCE s')

  await db.query(`CREATE SOURCE wrong (k VARCHAR, missing VARCHAR) WITH (connector = 'postgres-cdc', database = 'test', table = '${up.table}', slot = '${up.table}')`)
  await waitFor('the column error', async () => (await shown(db, 'wrong'))['connector_error'] !== null)
  assert.match(String((await shown(db, 'wrong'))['connector_error']), new RegExp(`column missing is not a column of public\\.${up.table} \\(its columns: k, v\\)`))
  assert.equal(await count(db, 'SELECT count(*) AS n FROM wrong'), 0)
  await db.query('DROP SOURCE wrong')

  await up.client.query(`ALTER TABLE ${up.table} DROP CONSTRAINT ${up.table}_pkey`)
  await db.query(`CREATE SOURCE nokey (k VARCHAR) WITH (connector = 'postgres-cdc', database = 'test', table = '${up.table}', slot = '${up.table}')`)
  await waitFor('the key error', async () => (await shown(db, 'nokey'))['connector_error'] !== null)
  assert.match(String((await shown(db, 'nokey'))['connector_error']), /has no primary key: snapshot = 'initial' reads the rows in the order of a primary key .*snapshot = 'never'/)
})

test("PostgreSQL CDC: a source stored before the snapshot option existed (no snapshot in its definition) reads changes only, as it did", { timeout: 30_000 }, async (t) => {
  const up = await upstream(t, 'k text PRIMARY KEY, v integer', 'strata_snap')
  const directory = temporaryDirectory('postgres-snapshot-legacy')
  t.after(() => directory.remove())
  let db = await open(directory.path)
  await db.query(`CREATE SOURCE s (k VARCHAR, v INTEGER, _op VARCHAR) WITH (connector = 'postgres-cdc', database = 'test', table = '${up.table}', slot = '${up.table}', snapshot = 'never')`)
  await waitFor('the slot read', async () => (await up.client.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [up.table])).rowCount === 1)
  await db.close()
  // The definition as an earlier version wrote it: no snapshot.
  const raw = new Sqlite(path.join(directory.path, 'strata.sqlite'))
  const stored = JSON.parse(String((raw.prepare("SELECT definition FROM _strata_catalog WHERE name = 's'").get() as { definition: string }).definition))
  assert.equal(stored.source.connector.snapshot, 'never')
  delete stored.source.connector.snapshot
  raw.prepare("UPDATE _strata_catalog SET definition = ? WHERE name = 's'").run(JSON.stringify(stored))
  raw.close()
  await up.client.query(`INSERT INTO ${up.table} VALUES ('before', 1)`)
  db = await open(directory.path)
  up.closeFirst(db)
  await waitFor('the slot read', async () => (await up.client.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [up.table])).rowCount === 1)
  await up.client.query(`INSERT INTO ${up.table} VALUES ('after', 2)`)
  await waitFor('the insert after', async () => (await count(db, "SELECT count(*) AS n FROM s WHERE k = 'after'")) === 1)
  await new Promise((resolve) => setTimeout(resolve, 300))
  // 'before' was written after the slot existed (the first open made it): a change, not a snapshot row.
  assert.deepEqual((await db.query('SELECT k, _op FROM s ORDER BY k')).rows, [{ k: 'after', _op: 'c' }, { k: 'before', _op: 'c' }])
})

test('SIGKILL during the snapshot while PostgreSQL keeps changing the table: resumed from the last committed key, every row and every change is in the source exactly once', { timeout: 60_000 }, async (t) => {
  const up = await upstream(t, 'k text COLLATE "und-x-icu" PRIMARY KEY, v integer NOT NULL', 'strata_snap')
  const rowsBefore = 60_000
  const key = (index: number) => `${index % 2 === 0 ? 'K' : 'k'}${index}`
  await up.client.query(`INSERT INTO ${up.table} SELECT CASE WHEN g % 2 = 0 THEN 'K' ELSE 'k' END || g, 0 FROM generate_series(0, ${rowsBefore - 1}) AS g`)
  const directory = temporaryDirectory('postgres-snapshot-kill')
  t.after(() => directory.remove())
  const statement = `CREATE SOURCE IF NOT EXISTS s (k VARCHAR, v INTEGER, _op VARCHAR, _lsn BIGINT) WITH (connector = 'postgres-cdc', database = 'test', table = '${up.table}', slot = '${up.table}', snapshot = 'initial')`
  const changes = writer(up.client, up.table, rowsBefore, key)
  let written: number
  try {
    for (let round = 0; round < 4; round++) {
      const worker = await startWorker(directory.path, statement)
      await new Promise((resolve) => setTimeout(resolve, 500 + round * 200))
      await worker.kill()
    }
  } finally {
    written = await changes.stop()
  }
  await up.client.query(`INSERT INTO ${up.table} VALUES ('after', 7)`)
  const expected = await table(up.client, up.table)
  const db = await open(directory.path)
  up.closeFirst(db)
  await waitFor('the last change', async () => (await count(db, "SELECT count(*) AS n FROM s WHERE k = 'after'")) === 1, 40_000)
  // After a resumed snapshot events are ordered per key only: 'after' may come before the rest of the
  // snapshot and the changes held for its keys. Wait for the source to match (a timeout leaves the
  // difference to the assertions below).
  await waitFor('every row and change', async () => isDeepStrictEqual((await folded(db, 's')).live, expected), 40_000).catch(() => undefined)
  await new Promise((resolve) => setTimeout(resolve, 300))
  // The kills fell inside the snapshot: it was read in more than one exported snapshot.
  const points = await count(db, "SELECT count(DISTINCT _lsn) AS n FROM s WHERE _op = 'r'")
  assert.ok(points > 1, `the snapshot was read in ${points} part(s): no kill fell inside it`)
  assert.equal(await count(db, "SELECT count(*) - count(DISTINCT k) AS n FROM s WHERE _op = 'r'"), 0)
  const { broken, live } = await folded(db, 's')
  assert.equal(broken, 0, 'a key whose events lost or doubled a change')
  assert.deepEqual(live, expected)
  t.diagnostic(`${rowsBefore} rows, ${written} changes written, the snapshot read in ${points} parts, 4 kills`)
})
