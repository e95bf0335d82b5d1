/**
 * The PostgreSQL CDC connector of a source (`CREATE SOURCE … WITH (connector = 'postgres-cdc', table =
 * 'public.orders')`): it reads the table's changes by logical replication (the pgoutput plugin, decoded
 * by pg-logical-replication's parser) from a replication slot, and pushes each change as one event.
 *
 * An event: `_op` 'c' (insert), 'u' (update) or 'd' (delete), as Debezium writes them; the source's
 * other columns by name from the row after the change (before it, for a delete); and, when the source
 * has them, `_before` (the row before the change as a JSON object of PostgreSQL's texts, when PostgreSQL
 * sends it: REPLICA IDENTITY FULL, or the key columns of a delete or of an update that changed the key),
 * `_ts` (the transaction's commit time, the column to put a watermark on) and `_lsn` (the end LSN of the
 * transaction's commit record, shared by its events). Values arrive as PostgreSQL's text and are stored
 * by the source's column types (exact for DECIMAL, microseconds for timestamps).
 *
 * Exactly once: PostgreSQL sends a transaction at its commit, whole, in commit order. Batches hold
 * whole transactions; each commits with the end LSN of its last one (`connector_offset`), and only then
 * is that LSN acknowledged to PostgreSQL as flushed (a standby status update), so the slot keeps the WAL
 * of everything not committed here. A restart asks for replication from the committed LSN: PostgreSQL
 * skips the transactions committed before it (even when its slot stands earlier, an acknowledgement
 * lost in a crash), and this connector too (one whose commit ends at or before it), so nothing is lost
 * or taken twice. While nothing is held or being pushed, a keepalive's position is acknowledged too, so
 * a quiet table in a busy database does not make the slot keep WAL. A transaction is never split: one larger than a batch
 * is a batch of its own, held in memory whole.
 *
 * First, unless `snapshot = 'never'` (or the definition predates the option), the table's rows as events
 * with `_op` 'r', read from the snapshot the slot exported when it was created, so rows and changes meet
 * at its consistent point; progress commits with each batch and a restart resumes after the last key
 * (takeSnapshot, SnapshotState).
 *
 * The slot (pgoutput) and, without a `publication` option, a publication of the table's inserts,
 * updates and deletes, both named by the slot, are created by the connector when missing; a DROP
 * SOURCE drops them once it has committed (connectors.ts, `release`), so a dropped source's slot does
 * not hold WAL forever. Needs wal_level = logical and a user with REPLICATION (and ownership of the
 * table to create the publication). `pg` and `pg-logical-replication` are loaded only when a source has
 * this connector.
 */
import { randomBytes } from 'node:crypto'
import type { Client, ClientConfig } from 'pg'
import type { Pgoutput } from 'pg-logical-replication'
import { serverShown, type PostgresCdcConnector } from '../../sql/catalog.js'
import { quoteIdentifier } from '../../sql/tree.js'
import { compareDecimals, parseDecimal } from '../../util/decimal.js'
import { StrataError } from '../../util/errors.js'
import { limits } from '../../util/limits.js'
import { connectUnlessStopped, Inbox, type ConnectorBackend, type ConnectorRun } from './backend.js'

export const postgresCdcConnector: ConnectorBackend<PostgresCdcConnector> = { consume, release }

/** The columns an event may carry besides the table's (the source takes those it has). */
export const postgresCdcColumns = ['_op', '_before', '_ts', '_lsn'] as const

/** One PostgreSQL transaction's events, and where its commit record ends. */
interface Transaction {
  readonly endLsn: number
  readonly events: readonly Record<string, unknown>[]
}

/** Microseconds from the Unix epoch to PostgreSQL's (2000-01-01). */
const postgresEpochUs = 946_684_800_000_000n

/** The PostgreSQL type id of bytea, whose text (`\x0a0b`) becomes bytes. */
const byteaOid = 17

/**
 * An LSN (`16/B374D848`) as a number: exact up to 2^53 bytes of WAL, which a cluster does not reach.
 *
 * @example
 * lsnNumber('1/0') // 4294967296
 */
export function lsnNumber(text: string): number {
  const [high, low] = text.split('/')
  const value = Number.parseInt(high ?? '', 16) * 2 ** 32 + Number.parseInt(low ?? '', 16)
  if (!Number.isSafeInteger(value) || value < 0) throw new StrataError('INTERNAL', `an LSN beyond 2^53: ${text}`)
  return value
}

/**
 * A number as an LSN's text, as START_REPLICATION takes it.
 *
 * @example
 * lsnText(4294967296) // '1/0'
 */
export function lsnText(value: number): string {
  return `${Math.floor(value / 2 ** 32).toString(16).toUpperCase()}/${(value % 2 ** 32).toString(16).toUpperCase()}`
}

/**
 * The error for a server whose wal_level is not logical, or undefined when it is.
 *
 * @example
 * walLevelProblem('replica', '127.0.0.1:5432')?.message // 'PostgreSQL at 127.0.0.1:5432 has wal_level = replica: …'
 */
export function walLevelProblem(walLevel: string, server: string): StrataError | undefined {
  if (walLevel === 'logical') return undefined
  return new StrataError(
    'NOT_SUPPORTED',
    `PostgreSQL at ${server} has wal_level = ${walLevel}: logical replication needs wal_level = logical (ALTER SYSTEM SET wal_level = logical, then restart PostgreSQL)`,
  )
}

/** The connection settings: a URL's, completed by the database and user options (postgres for both unless given). */
function clientConfig(connector: PostgresCdcConnector): ClientConfig {
  // Values as text in ISO dates and UTC, doubles exact: what the source's column types parse.
  const options = '-c DateStyle=ISO -c TimeZone=UTC -c extra_float_digits=3 -c IntervalStyle=iso_8601'
  const named = { ...(connector.database === undefined ? {} : { database: connector.database }), ...(connector.user === undefined ? {} : { user: connector.user }) }
  if (connector.server.includes('://')) {
    const url = new URL(connector.server)
    // A URL's own `options` (`?options=-c%20wal_sender_timeout%3D10s`) come first; these follow.
    const given = url.searchParams.get('options')
    return {
      connectionString: connector.server,
      ...(url.pathname.length > 1 ? {} : { database: 'postgres' }),
      ...(url.username !== '' ? {} : { user: 'postgres' }),
      ...named,
      options: given === null ? options : `${given} ${options}`,
      connectionTimeoutMillis: 10_000,
    }
  }
  const colon = connector.server.lastIndexOf(':')
  const host = colon < 0 ? connector.server : connector.server.slice(0, colon)
  const port = colon < 0 ? 5432 : Number(connector.server.slice(colon + 1))
  return { host, port, database: 'postgres', user: 'postgres', ...named, options, connectionTimeoutMillis: 10_000 }
}

/** The table's schema and name. */
function tableName(connector: PostgresCdcConnector): { readonly schema: string; readonly name: string } {
  const dot = connector.table.indexOf('.')
  return { schema: connector.table.slice(0, dot), name: connector.table.slice(dot + 1) }
}

/** A string as an SQL literal. */
function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`
}

function slotOf(run: { readonly source: string; readonly connector: PostgresCdcConnector }): string {
  if (run.connector.slot === undefined) throw new StrataError('INTERNAL', `the PostgreSQL CDC source ${run.source} has no slot (CREATE SOURCE gives it one)`)
  return run.connector.slot
}

/** A PostgreSQL error as the connector shows it: the server named, the cause kept. */
function worldError(connector: PostgresCdcConnector, error: unknown): StrataError {
  if (error instanceof StrataError) return error
  const message = error instanceof Error ? error.message : String(error)
  return new StrataError('IO_ERROR', `PostgreSQL ${serverShown(connector.server)}: ${message}`, { cause: error })
}

/**
 * On an ordinary connection: checks wal_level and the table, creates the connector's publication and
 * the slot when missing.
 */
async function prepare(client: Client, run: ConnectorRun<PostgresCdcConnector>, options: { readonly slot: string; readonly createSlot: boolean }): Promise<string> {
  const { slot } = options
  const { connector } = run
  const walLevel = String((await client.query('SHOW wal_level')).rows[0]?.wal_level)
  const problem = walLevelProblem(walLevel, serverShown(connector.server))
  if (problem !== undefined) throw problem
  const { schema, name } = tableName(connector)
  const table = await client.query('SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2', [schema, name])
  if (table.rowCount === 0) throw new StrataError('IO_ERROR', `PostgreSQL ${serverShown(connector.server)} has no table ${connector.table}`)
  const publication = connector.publication ?? slot
  const published = await client.query('SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = $1', [publication])
  if (published.rowCount === 0) {
    if (connector.publication !== undefined) throw new StrataError('IO_ERROR', `PostgreSQL ${serverShown(connector.server)} has no publication ${publication} (the source names it: it must exist)`)
    // TRUNCATE is not published: it is no change of a row, and an event has none to carry.
    await client.query(`CREATE PUBLICATION ${quoteIdentifier(publication)} FOR TABLE ${quoteIdentifier(schema)}.${quoteIdentifier(name)} WITH (publish = 'insert, update, delete')`)
  }
  const slots = await client.query('SELECT plugin, database FROM pg_catalog.pg_replication_slots WHERE slot_name = $1', [slot])
  if (slots.rowCount === 0) {
    // A snapshot about to start creates the slot itself, with the snapshot exported (takeSnapshot).
    if (!options.createSlot) return publication
    // From here on every committed change is kept for the slot until it is acknowledged.
    await client.query('SELECT pg_catalog.pg_create_logical_replication_slot($1, $2)', [slot, 'pgoutput'])
  } else if (slots.rows[0]!.plugin !== 'pgoutput' || slots.rows[0]!.database !== (await client.query('SELECT current_database() AS name')).rows[0]!.name) {
    throw new StrataError('IO_ERROR', `PostgreSQL ${serverShown(connector.server)}: the replication slot ${slot} exists for another plugin or database (pgoutput in this database is needed)`)
  }
  return publication
}

/**
 * A key column of the table, and how its values (PostgreSQL's texts) are ordered: as integers, as
 * UTF-8 bytes (text and varchar COLLATE "C", uuid, bytea's hex), as exact decimals (numeric: NaN
 * above everything, as PostgreSQL sorts it), or as instants (date, timestamp, timestamptz: ISO texts
 * in UTC, as every connection of this connector asks for them; BC and ±infinity included).
 */
interface SnapshotKey {
  readonly name: string
  readonly kind: 'integer' | 'text' | 'numeric' | 'time'
}

/**
 * Where a source's initial snapshot stands, committed with each of its batches (as the receipt
 * `snapshotReceipt` of `_strata_source_receipts`), so a restart knows what was read.
 *
 * The rows are read in key order. A snapshot read from start to end in one connection has one
 * segment: every key, read in the snapshot the slot exported at its consistent point. A restart in
 * the middle cannot read that snapshot again (it died with the replication connection); it reads the
 * keys after the last one committed in a new snapshot, exported by a temporary slot, whose consistent
 * point is later. Each segment is a key range (up to and including `upTo`; the last one has no bound)
 * and the LSN its rows were read at: a change of a key in a segment is taken from the slot only when it
 * committed after that segment's LSN (segmentLsnOf).
 */
interface SnapshotState {
  readonly keys: readonly SnapshotKey[]
  readonly segments: readonly { readonly lsn: number; readonly upTo: readonly string[] | null }[]
  /** The last key read in the last segment, or null before its first row. */
  readonly last: readonly string[] | null
  readonly done: boolean
  /**
   * The rows' `_ts`, PostgreSQL's clock just before the first slot's snapshot was taken, kept for every
   * segment: no later than the commit times of the changes that follow, so a watermark on `_ts` does not
   * make them late (as far as PostgreSQL's commit times follow its commit order, which they nearly do).
   */
  readonly takenAt: string
}

/** The receipt under which the snapshot's state is committed (this connector has no other receipts). */
const snapshotReceipt = 0

/** PostgreSQL type ids of keys a snapshot orders and compares here exactly as PostgreSQL does, by the kind of comparison. */
const keyKindByOid: ReadonlyMap<number, SnapshotKey['kind']> = new Map([
  [20, 'integer'],
  [21, 'integer'],
  [23, 'integer'],
  // text and varchar (ordered with COLLATE "C", by bytes), uuid and bytea (ordered by their bytes, as their lowercase hex texts are).
  [25, 'text'],
  [1043, 'text'],
  [2950, 'text'],
  [byteaOid, 'text'],
  [1700, 'numeric'],
  [1082, 'time'],
  [1114, 'time'],
  [1184, 'time'],
])
const collatableKeyOids = new Set([25, 1043])

/** numeric's special values, in PostgreSQL's order around the finite ones. */
const numericRank: Readonly<Record<string, number>> = { '-Infinity': -1, Infinity: 1, NaN: 2 }

function compareNumeric(a: string, b: string): number {
  const rankA = numericRank[a] ?? 0
  const rankB = numericRank[b] ?? 0
  if (rankA !== 0 || rankB !== 0) return rankA - rankB
  const left = parseDecimal(a)
  const right = parseDecimal(b)
  if (left === undefined || right === undefined) throw new StrataError('INTERNAL', `a numeric key that does not parse: ${left === undefined ? a : b}`)
  return compareDecimals(left, right)
}

/** Days from 0000-03-01 (proleptic Gregorian, astronomical years) to the given date: an order-preserving day number. */
function dayNumber(year: bigint, month: bigint, day: bigint): bigint {
  const shifted = month <= 2n ? year - 1n : year
  const era = (shifted >= 0n ? shifted : shifted - 399n) / 400n
  const yearOfEra = shifted - era * 400n
  const dayOfYear = (153n * (month > 2n ? month - 3n : month + 9n) + 2n) / 5n + day - 1n
  return era * 146_097n + yearOfEra * 365n + yearOfEra / 4n - yearOfEra / 100n + dayOfYear
}

/**
 * A date, timestamp or timestamptz key's text (ISO, UTC) as a comparable pair: ±infinity first by
 * its rank, then µs from a fixed day. `2026-01-05`, `2026-01-05 14:30:00.5`, `… 14:30:00+00`, `… BC`.
 */
function instantOf(text: string): readonly [number, bigint] {
  if (text === 'infinity') return [1, 0n]
  if (text === '-infinity') return [-1, 0n]
  const bc = text.endsWith(' BC')
  const body = bc ? text.slice(0, -3) : text
  const [datePart = '', timePart] = body.split(' ')
  const [yearText = '', monthText = '', dayText = ''] = datePart.split('-')
  const clock = (timePart ?? '00:00:00').replace(/[+-]\d\d(:?\d\d)?$/, '')
  const [hours = '0', minutes = '0', secondsText = '0'] = clock.split(':')
  const [seconds = '0', fraction = ''] = secondsText.split('.')
  if (!/^\d+$/.test(yearText) || !/^\d+$/.test(monthText) || !/^\d+$/.test(dayText)) throw new StrataError('INTERNAL', `a date or time key that does not parse: ${text}`)
  // 1 BC is year 0, 2 BC year −1.
  const year = bc ? 1n - BigInt(yearText) : BigInt(yearText)
  const micros = BigInt(hours) * 3_600_000_000n + BigInt(minutes) * 60_000_000n + BigInt(seconds) * 1_000_000n + BigInt(fraction.padEnd(6, '0').slice(0, 6) || '0')
  return [0, dayNumber(year, BigInt(monthText), BigInt(dayText)) * 86_400_000_000n + micros]
}

function compareInstants(a: string, b: string): number {
  const [rankA, microsA] = instantOf(a)
  const [rankB, microsB] = instantOf(b)
  if (rankA !== rankB) return rankA - rankB
  return microsA < microsB ? -1 : microsA > microsB ? 1 : 0
}

function snapshotStateOf(run: ConnectorRun<PostgresCdcConnector>): SnapshotState | undefined {
  const text = run.committedReceipts().get(snapshotReceipt)
  return text === undefined ? undefined : (JSON.parse(text) as SnapshotState)
}

/**
 * Two keys compared as PostgreSQL orders them in the snapshot's ORDER BY (integers by value, texts
 * by their UTF-8 bytes, which is COLLATE "C" in a UTF8 database, numerics as exact decimals, dates
 * and times as instants).
 *
 * @example
 * compareKeys([{ name: 'id', kind: 'integer' }], ['9'], ['10']) // < 0
 */
export function compareKeys(keys: readonly SnapshotKey[], left: readonly string[], right: readonly string[]): number {
  for (let index = 0; index < keys.length; index++) {
    const a = left[index] ?? ''
    const b = right[index] ?? ''
    const kind = keys[index]!.kind
    const order =
      kind === 'integer'
        ? BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0
        : kind === 'numeric'
          ? compareNumeric(a, b)
          : kind === 'time'
            ? compareInstants(a, b)
            : Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
    if (order !== 0) return order
  }
  return 0
}

/** The LSN at which the snapshot read the key's range: a change committed at or before it is in the snapshot already. */
function segmentLsnOf(state: SnapshotState, key: readonly string[]): number {
  for (const segment of state.segments) if (segment.upTo === null || compareKeys(state.keys, key, segment.upTo) <= 0) return segment.lsn
  throw new StrataError('INTERNAL', 'a finished snapshot whose last segment has an upper bound')
}

/** The table's primary key, as a snapshot orders by it; NOT_SUPPORTED for a table without one, or with a kind of key it cannot order. */
async function snapshotKeys(client: Client, connector: PostgresCdcConnector): Promise<{ readonly keys: SnapshotKey[]; readonly orderBy: string[] }> {
  const { schema, name } = tableName(connector)
  const qualified = `${quoteIdentifier(schema)}.${quoteIdentifier(name)}`
  const result = await client.query(
    'SELECT a.attname AS name, a.atttypid AS type FROM pg_catalog.pg_index i JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY array_position(i.indkey::int2[], a.attnum)',
    [qualified],
  )
  const needs = `snapshot = 'initial' reads the rows in the order of a primary key of integer, numeric, text, varchar, uuid, bytea, date, timestamp or timestamptz columns (or give snapshot = 'never': changes only)`
  if (result.rowCount === 0) throw new StrataError('NOT_SUPPORTED', `PostgreSQL ${serverShown(connector.server)}: ${connector.table} has no primary key: ${needs}`)
  const keys: SnapshotKey[] = []
  const orderBy: string[] = []
  for (const row of result.rows as { name: string; type: number }[]) {
    const type = Number(row.type)
    const kind = keyKindByOid.get(type)
    if (kind === undefined) throw new StrataError('NOT_SUPPORTED', `PostgreSQL ${serverShown(connector.server)}: the key column ${row.name} of ${connector.table} is of another type: ${needs}`)
    keys.push({ name: row.name, kind })
    orderBy.push(collatableKeyOids.has(type) ? `${quoteIdentifier(row.name)} COLLATE "C"` : quoteIdentifier(row.name))
  }
  if (keys.some((key) => key.kind === 'text')) {
    const encoding = String((await client.query('SHOW server_encoding')).rows[0]?.server_encoding)
    if (encoding !== 'UTF8' && encoding !== 'SQL_ASCII') throw new StrataError('NOT_SUPPORTED', `PostgreSQL ${serverShown(connector.server)}: server_encoding ${encoding}: ${needs}, in a UTF8 database`)
  }
  return { keys, orderBy }
}

/**
 * The initial snapshot (`snapshot = 'initial'`): the table's rows as events with `_op` 'r', in key
 * order, in batches, each committed with the snapshot's state; the last one with the offset from which
 * the changes follow (the slot's consistent point). On a normal connection, `admin`, which is free
 * again when this returns.
 *
 * Started afresh (no state committed), the slot is dropped if it exists — nothing read from it was
 * committed — and created on a replication connection with its snapshot exported, which a REPEATABLE
 * READ transaction takes: the rows it reads are exactly those committed before the slot's consistent
 * point, and the slot holds exactly the changes committed after. Resumed (state committed, not done),
 * the slot is where it was; the keys after the last one committed are read in the snapshot of a
 * temporary slot, and SnapshotState records the point they were read at.
 */
async function takeSnapshot(run: ConnectorRun<PostgresCdcConnector>, admin: Client, slot: string): Promise<void> {
  const pg = (await import('pg')).default
  const { connector } = run
  const config = clientConfig(connector)
  const committed = snapshotStateOf(run)
  const { keys, orderBy } = await snapshotKeys(admin, connector)
  if (committed !== undefined && JSON.stringify(committed.keys) !== JSON.stringify(keys)) {
    throw new StrataError('IO_ERROR', `PostgreSQL ${serverShown(connector.server)}: the primary key of ${connector.table} changed while the source's snapshot was read (drop the source and create it again)`)
  }
  const slots = await admin.query('SELECT 1 FROM pg_catalog.pg_replication_slots WHERE slot_name = $1', [slot])
  if (committed === undefined && slots.rowCount !== 0) {
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.query('SELECT pg_catalog.pg_drop_replication_slot($1)', [slot])
        break
      } catch (error) {
        // 55006 object_in_use: the walsender of a killed process has not exited yet.
        if ((error as { code?: unknown }).code !== '55006' || attempt >= 100) throw error
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
  }
  if (committed !== undefined && slots.rowCount === 0) {
    throw new StrataError('IO_ERROR', `PostgreSQL ${serverShown(connector.server)}: the replication slot ${slot} is gone while the source's snapshot was read (its changes since are lost: drop the source and create it again)`)
  }

  const replication = new pg.Client({ ...config, replication: 'database' } as ClientConfig)
  replication.on('error', () => undefined)
  // Every value as PostgreSQL's text, as pgoutput sends it.
  const reader = new pg.Client({ ...config, types: { getTypeParser: () => (text: string) => text } } as ClientConfig)
  reader.on('error', () => undefined)
  run.onStop(async () => {
    await Promise.all([endNow(replication), endNow(reader)])
  })
  try {
    if ((await connectUnlessStopped(run, replication.connect().then(() => replication), (made) => endNow(made))) === undefined) return
    if ((await connectUnlessStopped(run, reader.connect().then(() => reader), (made) => endNow(made))) === undefined) return
    if (run.stopped) return
    const takenAt = committed?.takenAt ?? String((await reader.query('SELECT clock_timestamp() AS taken')).rows[0]!.taken)
    // A fresh snapshot's slot is the source's; a resumed one's is temporary (dropped when this connection ends).
    const created = committed === undefined
      ? await replication.query(`CREATE_REPLICATION_SLOT ${quoteIdentifier(slot)} LOGICAL pgoutput (SNAPSHOT 'export')`)
      : await replication.query(`CREATE_REPLICATION_SLOT ${quoteIdentifier(`strata_snapshot_${randomBytes(8).toString('hex')}`)} TEMPORARY LOGICAL pgoutput (SNAPSHOT 'export')`)
    const pointLsn = lsnNumber(String(created.rows[0]!.consistent_point))
    const exported = String(created.rows[0]!.snapshot_name)
    const closed = committed === undefined ? [] : committed.last === null ? committed.segments.slice(0, -1) : [...committed.segments.slice(0, -1), { lsn: committed.segments.at(-1)!.lsn, upTo: committed.last }]
    const after = closed.at(-1)?.upTo ?? null
    let state: SnapshotState = { keys, segments: [...closed, { lsn: pointLsn, upTo: null }], last: null, done: false, takenAt }

    await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
    await reader.query(`SET TRANSACTION SNAPSHOT ${literal(exported)}`)
    const { schema, name } = tableName(connector)
    const where = after === null ? '' : ` WHERE (${orderBy.join(', ')}) > (${keys.map((_, index) => `$${index + 1}`).join(', ')})`
    await reader.query(`DECLARE strata_snapshot NO SCROLL CURSOR FOR SELECT * FROM ${quoteIdentifier(schema)}.${quoteIdentifier(name)}${where} ORDER BY ${orderBy.join(', ')}`, after === null ? [] : [...after])
    let checked = false
    while (!run.stopped) {
      const fetched = await reader.query(`FETCH ${limits.postgresCdcSnapshotBatchRowsMax} FROM strata_snapshot`)
      if (!checked) {
        checked = true
        const names = fetched.fields.map((field) => field.name)
        const missing = run.columns.filter((column) => !(postgresCdcColumns as readonly string[]).includes(column) && !names.includes(column))
        if (missing.length > 0) throw new StrataError('TYPE_MISMATCH', `the source ${run.source}'s column ${missing[0]} is not a column of ${connector.table} (its columns: ${names.join(', ')})`)
      }
      const rows = fetched.rows as Record<string, unknown>[]
      const byteaColumns = fetched.fields.filter((field) => field.dataTypeID === byteaOid).map((field) => field.name)
      const events = rows.map((row) => {
        const event: Record<string, unknown> = {}
        for (const column of run.columns) {
          if (column === '_op') event[column] = 'r'
          else if (column === '_before') event[column] = null
          else if (column === '_ts') event[column] = takenAt
          else if (column === '_lsn') event[column] = pointLsn
          else {
            const value = row[column] ?? null
            event[column] = byteaColumns.includes(column) && typeof value === 'string' && value.startsWith('\\x') ? Buffer.from(value.slice(2), 'hex') : value
          }
        }
        return event
      })
      const last = rows.length === 0 ? state.last : keys.map((key) => String(rows.at(-1)![key.name]))
      const done = rows.length < limits.postgresCdcSnapshotBatchRowsMax
      // A resumed snapshot that read nothing more still closes its segment where it started, so no key is in two.
      state = { ...state, last, done }
      if (done) state = { ...state, segments: [...state.segments.slice(0, -1), { lsn: pointLsn, upTo: null }] }
      // The changes follow from the first segment's point: the slot's own, where it has held every change since.
      await run.push(events, { receipts: [[snapshotReceipt, JSON.stringify(state)]], ...(done ? { offset: state.segments[0]!.lsn } : {}) })
      if (done) break
    }
    await reader.query('COMMIT')
  } finally {
    await Promise.all([endNow(replication), endNow(reader)])
  }
}

/**
 * Ends a client's connection now: pg's end() sends the goodbye and waits for the server to close the
 * socket, which a server that stopped answering never does (test/streaming-connector-stop.test.ts);
 * after `limits.postgresEndWaitMs` the socket is destroyed.
 */
async function endNow(client: Client): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, limits.postgresEndWaitMs)))
  await Promise.race([client.end().catch(() => undefined), waited])
  clearTimeout(timer)
  ;(client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy()
}

/** A standby status update: `lsn` written, flushed and applied, no reply asked. */
function statusUpdate(lsn: number): Buffer {
  const message = Buffer.alloc(34)
  message.write('r', 0)
  message.writeBigUInt64BE(BigInt(lsn), 1)
  message.writeBigUInt64BE(BigInt(lsn), 9)
  message.writeBigUInt64BE(BigInt(lsn), 17)
  message.writeBigUInt64BE(BigInt(Date.now()) * 1000n - postgresEpochUs, 25)
  message.writeUInt8(0, 33)
  return message
}

/** One connection's life: from the committed LSN, stream the table's changes, push whole transactions, acknowledge each batch once it committed. */
async function consume(run: ConnectorRun<PostgresCdcConnector>): Promise<void> {
  const pg = (await import('pg')).default
  const { PgoutputPlugin } = await import('pg-logical-replication')
  const { connector } = run
  const slot = slotOf(run)
  const config = clientConfig(connector)
  const admin = new pg.Client(config)
  admin.on('error', () => undefined)
  run.onStop(() => endNow(admin))
  let publication: string
  const snapshotPending = connector.snapshot === 'initial' && snapshotStateOf(run)?.done !== true
  try {
    if ((await connectUnlessStopped(run, admin.connect().then(() => admin), (made) => endNow(made))) === undefined) return
    if (run.stopped) return
    publication = await prepare(admin, run, { slot, createSlot: !snapshotPending })
    if (snapshotPending) await takeSnapshot(run, admin, slot)
  } catch (error) {
    throw worldError(connector, error)
  } finally {
    await endNow(admin)
  }
  if (run.stopped) return
  // After a snapshot resumed once or more, changes to a key range read later than the slot's consistent
  // point are taken only from the point that range was read at (segmentLsnOf).
  const snapshot = connector.snapshot === 'initial' ? snapshotStateOf(run) : undefined
  const filtered = snapshot !== undefined && snapshot.segments.length > 1 ? snapshot : undefined

  const inbox = new Inbox<Transaction>()
  const client = new pg.Client({ ...config, replication: 'database' } as ClientConfig)
  const closed = (what: string) => inbox.fail(new StrataError('IO_ERROR', `PostgreSQL ${serverShown(connector.server)}: ${what}`))
  client.on('error', (error) => closed(error.message))
  client.on('end', () => closed('the replication connection closed'))
  run.onStop(() => endNow(client))
  try {
    if ((await connectUnlessStopped(run, client.connect().then(() => client), (made) => endNow(made))) === undefined) return
  } catch (error) {
    throw worldError(connector, error)
  }
  if (run.stopped) return
  // pg's connection: its copy-data events and its socket (paused while enough is held here).
  const connection = (client as unknown as { connection: { on(event: 'copyData', listener: (message: { chunk: Buffer }) => void): void; sendCopyFromChunk(chunk: Buffer): void; stream: NodeJS.ReadableStream } }).connection

  const plugin = new PgoutputPlugin({ protoVersion: 1, publicationNames: [publication] })
  const { schema, name } = tableName(connector)
  // What is committed here, what was acknowledged to PostgreSQL, what is held and not yet pushed.
  let committedLsn = run.committedOffset() ?? 0
  let acknowledgedLsn = committedLsn
  let bufferedEvents = 0
  let paused = false
  let pushing = false
  let open: { readonly commitTimeUs: bigint; readonly events: Record<string, unknown>[]; readonly keys: (readonly string[])[] } | undefined
  const acknowledge = (lsn: number) => {
    if (lsn <= acknowledgedLsn) return
    acknowledgedLsn = lsn
    connection.sendCopyFromChunk(statusUpdate(lsn))
  }

  const relationChecked = new Set<number>()
  const checkRelation = (relation: Pgoutput.MessageRelation) => {
    if (relationChecked.has(relation.relationOid)) return
    relationChecked.add(relation.relationOid)
    const missing = run.columns.filter((column) => !(postgresCdcColumns as readonly string[]).includes(column) && !relation.columns.some((candidate) => candidate.name === column))
    if (missing.length > 0) {
      throw new StrataError('TYPE_MISMATCH', `the source ${run.source}'s column ${missing[0]} is not a column of ${connector.table} (its columns: ${relation.columns.map((column) => column.name).join(', ')})`)
    }
  }
  const rowOf = (relation: Pgoutput.MessageRelation, tuple: Record<string, unknown> | null): Record<string, unknown> => {
    const row: Record<string, unknown> = {}
    for (const column of relation.columns) {
      const value = tuple?.[column.name]
      // undefined: a TOASTed value the change left as it was (PostgreSQL does not send it), or a non-key column of a key-only row.
      row[column.name] = value === undefined ? null : column.typeOid === byteaOid && typeof value === 'string' && value.startsWith('\\x') ? Buffer.from(value.slice(2), 'hex') : value
    }
    return row
  }
  const eventOf = (op: 'c' | 'u' | 'd', relation: Pgoutput.MessageRelation, row: Record<string, unknown> | null, before: Record<string, unknown> | null) => {
    checkRelation(relation)
    const values = rowOf(relation, row)
    const event: Record<string, unknown> = {}
    for (const column of run.columns) {
      switch (column) {
        case '_op':
          event[column] = op
          break
        case '_before':
          // The columns PostgreSQL sent (a key-only row has its key's), as its texts (bytea as \x…).
          event[column] = before === null ? null : JSON.stringify(Object.fromEntries(relation.columns.filter((candidate) => before[candidate.name] !== undefined).map((candidate) => [candidate.name, before[candidate.name]])))
          break
        case '_ts':
          // The transaction's commit time; filled in at its commit, as is its LSN.
          event[column] = null
          break
        case '_lsn':
          event[column] = null
          break
        default:
          event[column] = values[column]
      }
    }
    if (open === undefined) throw new StrataError('INTERNAL', `PostgreSQL ${serverShown(connector.server)} sent a change outside a transaction`)
    open.events.push(event)
    // The row's key (the new one of an update), by which a resumed snapshot's filter places it.
    if (filtered !== undefined) open.keys.push(filtered.keys.map((key) => String((op === 'd' ? before : row)?.[key.name] ?? '')))
  }

  const take = (chunk: Buffer) => {
    if (chunk[0] === 0x6b) {
      // A keepalive. With nothing held or being pushed, everything PostgreSQL sent before it is
      // committed here (it sends in order), so its position may be acknowledged: the slot then keeps no
      // WAL for changes of other tables while this one is quiet. Otherwise the committed LSN is repeated.
      const walEnd = Number(chunk.readBigUInt64BE(1))
      const before = acknowledgedLsn
      if (open === undefined && bufferedEvents === 0 && !pushing) acknowledge(walEnd)
      // PostgreSQL asks for a reply when it has heard nothing for half its wal_sender_timeout.
      if (chunk[17] === 1 && acknowledgedLsn === before) connection.sendCopyFromChunk(statusUpdate(acknowledgedLsn))
      return
    }
    if (chunk[0] !== 0x77) return
    const message = plugin.parse(chunk.subarray(25))
    switch (message.tag) {
      case 'relation':
        // Every value as PostgreSQL's text: the source's column types parse it (pg's parsers would
        // make timestamps Dates, losing microseconds).
        for (const column of message.columns) column.parser = (text: unknown) => text
        // Sent again after an ALTER TABLE: the source's columns are checked against it anew.
        relationChecked.delete(message.relationOid)
        break
      case 'begin':
        open = { commitTimeUs: BigInt(message.commitTime as bigint), events: [], keys: [] }
        break
      case 'insert':
        if (message.relation.schema === schema && message.relation.name === name) eventOf('c', message.relation, message.new, null)
        break
      case 'update':
        if (message.relation.schema === schema && message.relation.name === name) eventOf('u', message.relation, message.new, message.old ?? message.key)
        break
      case 'delete':
        if (message.relation.schema === schema && message.relation.name === name) eventOf('d', message.relation, message.old ?? message.key, message.old ?? message.key)
        break
      case 'commit': {
        const transaction = open
        open = undefined
        if (transaction === undefined || message.commitEndLsn === null) throw new StrataError('INTERNAL', `PostgreSQL ${serverShown(connector.server)} sent a commit outside a transaction`)
        const endLsn = lsnNumber(message.commitEndLsn)
        // (Past the last segment's point every change is taken: the filter ends there.)
        if (filtered !== undefined && endLsn <= filtered.segments.at(-1)!.lsn) {
          // A change already in the snapshot that read its key range (committed at or before that range's point) is not taken again.
          const kept = transaction.events.filter((_, index) => endLsn > segmentLsnOf(filtered, transaction.keys[index]!))
          transaction.events.length = 0
          for (const event of kept) transaction.events.push(event)
        }
        // Committed here already: not taken again. PostgreSQL starts at the LSN asked for when it is past the
        // slot's confirmed position, so it sends none such (test/streaming-postgres-cdc.test.ts, acknowledgements
        // lost); this check holds should it ever start earlier.
        if (endLsn <= committedLsn || transaction.events.length === 0) break
        const commitTime = new Date(Number(transaction.commitTimeUs / 1000n))
        const timeText = `${commitTime.toISOString().slice(0, 19)}.${String(transaction.commitTimeUs % 1_000_000n).padStart(6, '0')}Z`
        for (const event of transaction.events) {
          if ('_ts' in event) event['_ts'] = timeText
          if ('_lsn' in event) event['_lsn'] = endLsn
        }
        inbox.put({ endLsn, events: transaction.events })
        bufferedEvents += transaction.events.length
        if (!paused && bufferedEvents >= limits.postgresCdcBufferedEventsMax) {
          paused = true
          connection.stream.pause()
        }
        break
      }
      default:
        // Origin and type messages need nothing; truncates are not published; messages are not asked for.
        break
    }
  }
  connection.on('copyData', ({ chunk }) => {
    try {
      take(chunk)
    } catch (error) {
      inbox.fail(error instanceof Error ? error : new Error(String(error)))
    }
  })
  // Resolves or fails when the stream ends; its failure (the walsender terminated) is the inbox's.
  const options = [`proto_version '1'`, `publication_names ${literal(quoteIdentifier(publication))}`]
  client.query(`START_REPLICATION SLOT ${quoteIdentifier(slot)} LOGICAL ${lsnText(committedLsn)} (${options.join(', ')})`).then(
    () => closed('replication ended'),
    (error: unknown) => closed(error instanceof Error ? error.message : String(error)),
  )

  let carried: Transaction[] = []
  while (!run.stopped) {
    const available = carried.length > 0 ? carried : await inbox.batch({ itemsMax: limits.connectorBatchMessagesMax, lingerMs: limits.connectorBatchLingerMs })
    if (run.stopped) break
    // Whole transactions, up to a batch's worth of events (a larger transaction alone).
    const events: Record<string, unknown>[] = []
    let taken = 0
    while (taken < available.length && (events.length === 0 || events.length + available[taken]!.events.length <= limits.connectorBatchMessagesMax)) {
      // One by one: a spread of a large transaction's events would overflow the stack.
      for (const event of available[taken]!.events) events.push(event)
      taken++
    }
    carried = available.slice(taken)
    const endLsn = available[taken - 1]!.endLsn
    pushing = true
    try {
      await run.push(events, { offset: endLsn })
    } finally {
      pushing = false
    }
    committedLsn = endLsn
    bufferedEvents -= events.length
    // Only now may PostgreSQL forget these changes.
    acknowledge(endLsn)
    if (paused && bufferedEvents < limits.postgresCdcBufferedEventsMax / 2) {
      paused = false
      connection.stream.resume()
    }
  }
}

/**
 * A dropped source's slot (and its own publication) dropped, once its DROP SOURCE committed and its
 * connector stopped. A slot still active for a moment after the connector left is waited for.
 */
async function release(source: string, connector: PostgresCdcConnector): Promise<void> {
  const pg = (await import('pg')).default
  const slot = slotOf({ source, connector })
  const client = new pg.Client(clientConfig(connector))
  client.on('error', () => undefined)
  try {
    await client.connect()
    for (let attempt = 0; ; attempt++) {
      try {
        await client.query('SELECT pg_catalog.pg_drop_replication_slot(slot_name) FROM pg_catalog.pg_replication_slots WHERE slot_name = $1', [slot])
        break
      } catch (error) {
        // 55006 object_in_use: the walsender of the stopped connector has not exited yet.
        if ((error as { code?: unknown }).code !== '55006' || attempt >= 50) throw error
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
    if (connector.publication === undefined) await client.query(`DROP PUBLICATION IF EXISTS ${quoteIdentifier(slot)}`)
  } catch (error) {
    throw worldError(connector, error)
  } finally {
    await endNow(client)
  }
}
