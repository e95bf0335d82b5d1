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
 * The slot (pgoutput) and, without a `publication` option, a publication of the table's inserts,
 * updates and deletes, both named by the slot, are created by the connector when missing; a DROP
 * SOURCE drops them once it has committed (connectors.ts, `release`), so a dropped source's slot does
 * not hold WAL forever. Needs wal_level = logical and a user with REPLICATION (and ownership of the
 * table to create the publication). `pg` and `pg-logical-replication` are loaded only when a source has
 * this connector.
 */
import type { Client, ClientConfig } from 'pg'
import type { Pgoutput } from 'pg-logical-replication'
import { serverShown, type PostgresCdcConnector } from '../../sql/catalog.js'
import { quoteIdentifier } from '../../sql/tree.js'
import { StrataError } from '../../util/errors.js'
import { limits } from '../../util/limits.js'
import { Inbox, type ConnectorBackend, type ConnectorRun } from './backend.js'

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
async function prepare(client: Client, run: ConnectorRun<PostgresCdcConnector>, slot: string): Promise<string> {
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
    // From here on every committed change is kept for the slot until it is acknowledged.
    await client.query('SELECT pg_catalog.pg_create_logical_replication_slot($1, $2)', [slot, 'pgoutput'])
  } else if (slots.rows[0]!.plugin !== 'pgoutput' || slots.rows[0]!.database !== (await client.query('SELECT current_database() AS name')).rows[0]!.name) {
    throw new StrataError('IO_ERROR', `PostgreSQL ${serverShown(connector.server)}: the replication slot ${slot} exists for another plugin or database (pgoutput in this database is needed)`)
  }
  return publication
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
  run.onStop(() => admin.end())
  let publication: string
  try {
    await admin.connect()
    if (run.stopped) return
    publication = await prepare(admin, run, slot)
  } catch (error) {
    throw worldError(connector, error)
  } finally {
    await admin.end().catch(() => undefined)
  }
  if (run.stopped) return

  const inbox = new Inbox<Transaction>()
  const client = new pg.Client({ ...config, replication: 'database' } as ClientConfig)
  const closed = (what: string) => inbox.fail(new StrataError('IO_ERROR', `PostgreSQL ${serverShown(connector.server)}: ${what}`))
  client.on('error', (error) => closed(error.message))
  client.on('end', () => closed('the replication connection closed'))
  run.onStop(() => client.end())
  try {
    await client.connect()
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
  let open: { readonly commitTimeUs: bigint; readonly events: Record<string, unknown>[] } | undefined
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
        open = { commitTimeUs: BigInt(message.commitTime as bigint), events: [] }
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
    await client.end().catch(() => undefined)
  }
}
