/**
 * Streaming sources (SPEC 8): CREATE/DROP/SHOW SOURCE, input by INSERT, db.push, db.insert,
 * db.advanceWatermark and db.flush, the watermark and late events. The batch semantics are checked
 * against a brute-force model over seeded, out-of-order batches: which events each store keeps, which
 * are late (and with what watermark), and where the watermark ends.
 */
import * as assert from 'node:assert/strict'
import { test } from 'node:test'
import { open, StrataError, type Database } from '../src/index.js'
import { assertRefused, seededRandom, temporaryDirectory } from './helpers.js'

async function withDatabase(t: { after: (fn: () => Promise<void> | void) => void }, path?: string): Promise<{ db: Database; path: string }> {
  const directory = path === undefined ? temporaryDirectory('sources') : undefined
  const db = await open(path ?? directory!.path)
  t.after(async () => {
    await db.close()
    directory?.remove()
  })
  return { db, path: path ?? directory!.path }
}

const base = Date.UTC(2026, 0, 5, 14, 30, 0)
const at = (seconds: number): Date => new Date(base + seconds * 1000)

function code(expected: string): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof StrataError, String(error))
    assert.equal(error.code, expected, error.message)
    return true
  }
}

async function sourceState(db: Database, name: string): Promise<{ watermark: Date | null; flushed: boolean }> {
  const row = (await db.query('SHOW SOURCES')).rows.find((candidate) => candidate['name'] === name)
  assert.ok(row !== undefined, `SHOW SOURCES lists ${name}`)
  return { watermark: row['watermark'] as Date | null, flushed: row['flushed'] as boolean }
}

test('CREATE SOURCE: the watermark clause, the WITH sugar, IF NOT EXISTS, OR REPLACE; SHOW SOURCES describes each', async (t) => {
  const { db } = await withDatabase(t)
  await db.query("CREATE SOURCE trades (sym VARCHAR NOT NULL, price DOUBLE, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) WITH (allowed_lateness = INTERVAL '2 seconds')")
  await db.query("CREATE SOURCE clicks (url VARCHAR, at TIMESTAMPTZ) WITH (watermark = 'at', allowed_lateness = '1 minute')")
  await db.query('CREATE SOURCE ticks (v INTEGER, ts TIMESTAMP, WATERMARK FOR ts)')
  await db.query('CREATE SOURCE bare (v INTEGER)')
  await db.query('CREATE SOURCE IF NOT EXISTS ticks (other INTEGER)')
  assert.deepEqual(
    (await db.query('SHOW SOURCES')).rows.map((row) => [row['name'], row['watermark_column'], row['watermark'], row['flushed'], row['watermark_delay'], row['allowed_lateness']]),
    [
      ['bare', null, null, false, '00:00:00', '00:00:00'],
      ['clicks', 'at', null, false, '00:00:00', '00:01:00'],
      ['ticks', 'ts', null, false, '00:00:00', '00:00:00'],
      ['trades', 'ts', null, false, '00:00:05', '00:00:02'],
    ],
  )
  // A source is a table of its accepted events: SELECT reads it, with its columns' types.
  const empty = await db.query('SELECT * FROM trades')
  assert.deepEqual(empty.columns.map((column) => [column.name, column.type]), [['sym', 'VARCHAR'], ['price', 'DOUBLE'], ['ts', 'TIMESTAMP']])
  await db.query('CREATE OR REPLACE SOURCE ticks (v BIGINT, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL \'1 minute\')')
  assert.deepEqual((await db.query('SELECT * FROM ticks')).columns.map((column) => column.type), ['BIGINT', 'TIMESTAMP'])
  await assert.rejects(db.query('CREATE SOURCE trades (v INTEGER)'), code('DUPLICATE_TABLE'))
  await db.query('CREATE TABLE plain (v INTEGER)')
  await assert.rejects(db.query('CREATE OR REPLACE SOURCE plain (v INTEGER)'), code('DUPLICATE_TABLE'))
})

test('CREATE SOURCE refuses what it cannot mean, with a code and, for syntax, the position', async (t) => {
  const { db } = await withDatabase(t)
  const refused: readonly [string, string, RegExp][] = [
    ['CREATE SOURCE s (id INTEGER PRIMARY KEY, ts TIMESTAMP)', 'NOT_SUPPORTED', /no key/],
    ['CREATE SOURCE s (v INTEGER, WATERMARK FOR v)', 'TYPE_MISMATCH', /TIMESTAMP/],
    ['CREATE SOURCE s (v INTEGER, WATERMARK FOR ts)', 'UNDEFINED_COLUMN', /"ts"/],
    ["CREATE SOURCE s (ts TIMESTAMP, WATERMARK FOR ts AS ts + INTERVAL '5' SECOND)", 'NOT_SUPPORTED', /ts - INTERVAL/],
    ["CREATE SOURCE s (ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '1 month')", 'NOT_SUPPORTED', /months/],
    ['CREATE SOURCE s (ts TIMESTAMP, WATERMARK ts)', 'SYNTAX_ERROR', /expected FOR but found "ts" \(at position 42\)/],
    ['CREATE SOURCE s (ts TIMESTAMP) WITH (speed = 3)', 'SYNTAX_ERROR', /unknown option speed/],
    ["CREATE SOURCE s (ts TIMESTAMP) WITH (retention = '1 day')", 'SYNTAX_ERROR', /retention counts back from the watermark/],
    ["CREATE SOURCE s (ts TIMESTAMP, WATERMARK FOR ts) WITH (watermark = 'other')", 'SYNTAX_ERROR', /ts and on other/],
    ['CREATE SOURCE s ()', 'SYNTAX_ERROR', /column definition/],
    ['CREATE SOURCE s (ts TIMESTAMP) trailing', 'SYNTAX_ERROR', /end of the statement/],
  ]
  await assertRefused((sql) => db.query(sql), refused)
  assert.deepEqual((await db.query('SHOW SOURCES')).rows, [])
})

interface ModelEvent {
  readonly id: number
  readonly seconds: number
}

/** The SPEC 8 rules, brute force: W moves after each batch to max(accepted) − delay, never back; late means earlier than W − lateness at the batch's start. */
class SourceModel {
  watermark: number | null = null
  private maxEvent: number | null = null
  readonly accepted: ModelEvent[] = []
  readonly late: { readonly event: ModelEvent; readonly watermark: number | null }[] = []
  flushed = false

  constructor(
    private readonly delay: number,
    private readonly lateness: number,
  ) {}

  batch(events: readonly ModelEvent[]): number {
    const before = this.watermark
    let count = 0
    for (const event of events) {
      if (this.flushed || (before !== null && event.seconds < before - this.lateness)) {
        this.late.push({ event, watermark: this.flushed ? null : before })
        continue
      }
      this.accepted.push(event)
      count++
      if (this.maxEvent === null || event.seconds > this.maxEvent) this.maxEvent = event.seconds
    }
    if (this.maxEvent !== null && (this.watermark === null || this.maxEvent - this.delay > this.watermark)) this.watermark = this.maxEvent - this.delay
    return count
  }

  advance(seconds: number): void {
    if (!this.flushed && (this.watermark === null || seconds > this.watermark)) this.watermark = seconds
  }
}

test('out-of-order batches by push, INSERT and db.insert: kept events, late events and the watermark equal a brute-force model', async (t) => {
  const { db } = await withDatabase(t)
  await db.query("CREATE SOURCE events (id INTEGER NOT NULL, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '3' SECOND) WITH (allowed_lateness = INTERVAL '2' SECOND)")
  const model = new SourceModel(3, 2)
  for (const seed of [1, 2, 3]) {
    const next = seededRandom(seed)
    let clock = seed * 1000
    let id = seed * 10_000
    for (let step = 0; step < 25; step++) {
      const action = next()
      if (action < 0.08) {
        // Sometimes ahead of the events (the next batches then leave it where it is), sometimes behind (ignored).
        const target = clock - 10 + Math.floor(next() * 20)
        await db.advanceWatermark('events', at(target))
        model.advance(target)
        continue
      }
      clock += Math.floor(next() * 6)
      // Out of order: events up to 12 s behind the clock, so some are late and some only behind.
      const events = Array.from({ length: 1 + Math.floor(next() * 6) }, () => ({ id: id++, seconds: clock - Math.floor(next() * 12) }))
      const expected = model.batch(events)
      const way = Math.floor(next() * 3)
      let accepted: number
      if (way === 0) accepted = (await db.push('events', events.map((event) => ({ id: event.id, ts: at(event.seconds) })))).rowCount
      else if (way === 1) accepted = (await db.insert('events', events.map((event) => ({ id: event.id, ts: at(event.seconds) })))).rowCount
      else {
        const values = events.map((_, index) => `($${index * 2 + 1}, $${index * 2 + 2})`).join(', ')
        accepted = (await db.query(`INSERT INTO events (id, ts) VALUES ${values}`, events.flatMap((event) => [event.id, at(event.seconds)]))).rowCount
      }
      assert.equal(accepted, expected, `seed ${seed} step ${step}: accepted events`)
      assert.deepEqual((await sourceState(db, 'events')).watermark, model.watermark === null ? null : at(model.watermark), `seed ${seed} step ${step}: watermark`)
    }
  }
  assert.ok(model.late.length > 5 && model.accepted.length > 50, `the streams exercised both outcomes (${model.late.length} late, ${model.accepted.length} accepted)`)
  const stored = (await db.query('SELECT id, ts FROM events ORDER BY id', [], { engine: 'row' })).rows
  assert.deepEqual(stored, model.accepted.sort((left, right) => left.id - right.id).map((event) => ({ id: event.id, ts: at(event.seconds) })))
  // The column store answers the same, and keeps the late events and the watermark (strata.*).
  const columnStored = (await db.query('SELECT id, ts FROM events ORDER BY id', [], { engine: 'column' })).rows
  assert.deepEqual(columnStored, stored)
  const late = (await db.query('SELECT source, event, event_time, watermark FROM strata.late_events ORDER BY tx_id, event_time')).rows
  assert.equal(late.length, model.late.length)
  const byId = new Map(late.map((row) => [(row['event'] as { id: number }).id, row]))
  for (const { event, watermark } of model.late) {
    const row = byId.get(event.id)
    assert.ok(row !== undefined, `late event ${event.id} recorded`)
    assert.deepEqual(row, { source: 'events', event: { id: event.id, ts: at(event.seconds).toISOString() }, event_time: at(event.seconds), watermark: watermark === null ? null : at(watermark) })
  }
  const mirrored = (await db.query("SELECT name, watermark, flushed FROM strata.sources WHERE name = 'events'")).rows
  assert.deepEqual(mirrored, [{ name: 'events', watermark: at(model.watermark!), flushed: false }])
  // The mirror's copy follows the flush (a BOOLEAN it writes as a literal when the sync moves few rows).
  await db.flush('events')
  const flushed = (await db.query("SELECT name, flushed FROM strata.sources WHERE name = 'events'", [], { engine: 'column' })).rows
  assert.deepEqual(flushed, [{ name: 'events', flushed: true }])
})

test('a bad row fails its whole batch, naming the row and the column; nothing of it is kept and the watermark stays', async (t) => {
  const { db } = await withDatabase(t)
  await db.query('CREATE SOURCE s (id INTEGER NOT NULL, v DOUBLE, ts TIMESTAMP, WATERMARK FOR ts)')
  await db.push('s', [{ id: 1, v: 1.5, ts: at(10) }])
  const good = { id: 2, v: 2.5, ts: at(20) }
  const bad: readonly [Record<string, unknown>[], string, RegExp][] = [
    [[good, { id: 3, v: 'lots', ts: at(21) }], 'TYPE_MISMATCH', /row 2, column "v"/],
    [[good, { id: 3, ts: at(21) }], 'TYPE_MISMATCH', /row 2: column "v" of the source "s" is missing/],
    [[good, { id: 3, v: 1, ts: at(21), extra: 1 }], 'TYPE_MISMATCH', /row 2: "extra" is not a column of the source "s"/],
    [[good, { id: 3, v: 1, ts: null }], 'TYPE_MISMATCH', /row 2: the event time "ts" is NULL/],
    [[good, { id: null, v: 1, ts: at(22) }], 'CONSTRAINT_VIOLATION', /row 2: null value in column "id"/],
    [[good, { id: 3, v: 1, ts: 'yesterday-ish' }], 'TYPE_MISMATCH', /row 2, column "ts"/],
  ]
  for (const [rows, expected, message] of bad) {
    await assert.rejects(db.push('s', rows), (error: unknown) => {
      assert.ok(error instanceof StrataError, String(error))
      assert.equal(error.code, expected, error.message)
      assert.match(error.message, message)
      return true
    })
  }
  await assert.rejects(db.query("INSERT INTO s (id, nope) VALUES (1, 2)"), code('UNDEFINED_COLUMN'))
  await assert.rejects(db.query("INSERT INTO s (id, ts) VALUES (1, '2026-01-05T14:30:30Z', 3)"), code('SYNTAX_ERROR'))
  await assert.rejects(db.push('nope', [good]), code('UNDEFINED_TABLE'))
  await db.query('CREATE TABLE plain (v INTEGER)')
  await assert.rejects(db.push('plain', [{ v: 1 }]), (error: unknown) => error instanceof StrataError && error.code === 'UNDEFINED_TABLE' && /is a table, not a source/.test(error.message))
  assert.deepEqual((await db.query('SELECT id FROM s')).rows, [{ id: 1 }])
  assert.deepEqual((await sourceState(db, 's')).watermark, at(10))
})

test('a source is append-only: UPDATE, DELETE, ALTER and DROP TABLE are refused; DROP SOURCE removes it', async (t) => {
  const { db } = await withDatabase(t)
  await db.query('CREATE SOURCE s (v INTEGER, ts TIMESTAMP, WATERMARK FOR ts)')
  await db.push('s', [{ v: 1, ts: at(1) }])
  await assert.rejects(db.query('UPDATE s SET v = 2'), code('NOT_SUPPORTED'))
  await assert.rejects(db.query('DELETE FROM s'), code('NOT_SUPPORTED'))
  await assert.rejects(db.query('ALTER TABLE s ADD COLUMN w INTEGER'), code('NOT_SUPPORTED'))
  await assert.rejects(db.query('ALTER TABLE s RENAME COLUMN v TO w'), code('NOT_SUPPORTED'))
  await assert.rejects(db.query('DROP TABLE s'), code('NOT_SUPPORTED'))
  await db.query('CREATE TABLE plain (v INTEGER)')
  await assert.rejects(db.query('DROP SOURCE plain'), code('UNDEFINED_TABLE'))
  await assert.rejects(db.query('DROP SOURCE nope'), code('UNDEFINED_TABLE'))
  await db.query('DROP SOURCE IF EXISTS nope')
  await db.query('DROP SOURCE s')
  assert.deepEqual((await db.query('SHOW SOURCES')).rows, [])
  await assert.rejects(db.query('SELECT * FROM s'), code('UNDEFINED_TABLE'))
  assert.deepEqual((await db.query('SELECT count(*) AS n FROM strata.sources')).rows, [{ n: 0 }])
  // The name is free again, with a fresh watermark.
  await db.query('CREATE SOURCE s (v INTEGER, ts TIMESTAMP, WATERMARK FOR ts)')
  assert.deepEqual(await sourceState(db, 's'), { watermark: null, flushed: false })
})

test('advanceWatermark moves forward only; flush ends the input, after which every event is late; state survives a reopen and a rollback', async (t) => {
  const directory = temporaryDirectory('sources-reopen')
  t.after(() => directory.remove())
  {
    const db = await open(directory.path)
    try {
      await db.query('CREATE SOURCE s (v INTEGER, ts TIMESTAMP, WATERMARK FOR ts)')
      await db.push('s', [{ v: 1, ts: at(10) }])
      await db.advanceWatermark('s', at(30))
      await db.advanceWatermark('s', at(20))
      assert.deepEqual(await sourceState(db, 's'), { watermark: at(30), flushed: false })
      // A batch rolled back leaves the watermark as it was.
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.query('INSERT INTO s VALUES (2, $1)', [at(40)])
          throw new Error('changed my mind')
        }),
        /changed my mind/,
      )
      assert.deepEqual(await sourceState(db, 's'), { watermark: at(30), flushed: false })
      await assert.rejects(db.advanceWatermark('s', 'not a time'), code('TYPE_MISMATCH'))
      // CHECKPOINT: the write-ahead log moved into the file (everything was durable already); not inside a transaction.
      assert.equal((await db.query('CHECKPOINT')).rowCount, 0)
      await assert.rejects(db.transaction((tx) => tx.query('CHECKPOINT')), code('TX_STATE'))
    } finally {
      await db.close()
    }
  }
  const db = await open(directory.path)
  try {
    assert.deepEqual(await sourceState(db, 's'), { watermark: at(30), flushed: false })
    assert.equal((await db.push('s', [{ v: 3, ts: at(29) }, { v: 4, ts: at(31) }])).rowCount, 1)
    await db.flush()
    assert.deepEqual(await sourceState(db, 's'), { watermark: at(31), flushed: true })
    assert.equal((await db.push('s', [{ v: 5, ts: at(100) }])).rowCount, 0)
    assert.deepEqual((await db.query('SELECT v FROM s ORDER BY v')).rows, [{ v: 1 }, { v: 4 }])
    const late = (await db.query('SELECT event, watermark FROM strata.late_events ORDER BY event_time')).rows
    assert.deepEqual(late, [
      { event: { v: 3, ts: at(29).toISOString() }, watermark: at(30) },
      { event: { v: 5, ts: at(100).toISOString() }, watermark: null },
    ])
  } finally {
    await db.close()
  }
})

test('strata.sources and strata.streams keep their rows when a sync step appends them after the DELETE that replaces them (a history read of a stream in between)', async (t) => {
  const { db } = await withDatabase(t)
  await db.query('CREATE SOURCE trades (sym VARCHAR NOT NULL, qty INTEGER, ts TIMESTAMP, WATERMARK FOR ts)')
  await db.query('CREATE STREAM per_sym AS SELECT sym, count(*) AS n, sum(qty) AS q FROM trades GROUP BY sym EMIT CHANGES')
  await db.push('trades', [{ sym: 'a', qty: 1, ts: at(0) }])
  // The first history read of a table makes the mirror keep its history: the next step's statements
  // are sent in another order, and strata.sources' BOOLEAN column is appended, not queued.
  const asOf = (await db.query('SELECT max(tx_id) AS tx FROM strata.transactions')).rows[0]!['tx']
  assert.deepEqual((await db.query(`SELECT sym, n FROM per_sym FOR SYSTEM_TIME AS OF ${Number(asOf)}`)).rows, [{ sym: 'a', n: 1 }])
  for (let step = 1; step <= 3; step++) {
    await db.push('trades', [{ sym: 'b', qty: 2, ts: at(step) }])
    assert.deepEqual((await db.query('SELECT name, watermark FROM strata.sources')).rows, [{ name: 'trades', watermark: at(step) }], `after batch ${step}`)
    assert.deepEqual((await db.query('SELECT name, watermark, events_in FROM strata.streams')).rows, [{ name: 'per_sym', watermark: at(step), events_in: 1 + step }], `after batch ${step}`)
    // lag: the last step's commit time minus the watermark.
    const { lag, last_checkpoint: checkpoint } = (await db.query('SELECT lag, last_checkpoint FROM strata.streams')).rows[0]!
    assert.deepEqual(lag, { months: 0, days: 0, micros: BigInt((checkpoint as Date).getTime() - at(step).getTime()) * 1000n }, `lag after batch ${step}`)
  }
})
