/**
 * A PostgreSQL table of a CDC test's own (the machine's PostgreSQL on 127.0.0.1:5432, database test),
 * shared by test/streaming-postgres-cdc.test.ts and test/streaming-postgres-snapshot.test.ts.
 */
import * as assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import type { Database } from '../src/index.js'
import { waitFor } from './source-kill.js'

export interface Upstream {
  /** The table (in public), also the slot's and the connector's publication's name. */
  readonly table: string
  readonly client: pg.Client
  /** A database of the test, closed when it ends, before the slot is dropped. */
  closeFirst(db: Database): Database
  /** Resolves once the source's connector is reading the slot (changes from then on are its). */
  reading(): Promise<void>
  /** Whether the slot, the publication exist. */
  exists(): Promise<{ readonly slot: boolean; readonly publication: boolean }>
}

/**
 * A PostgreSQL table of this test's own (`columns`), and its slot and publication dropped when the test
 * ends (an active slot's walsender terminated first), whatever happened.
 */
export async function upstream(t: { after: (fn: () => Promise<void>) => void }, columns: string, prefix = 'strata_cdc'): Promise<Upstream> {
  const table = `${prefix}_${randomBytes(6).toString('hex')}`
  const client = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' })
  client.on('error', () => undefined)
  await client.connect()
  await client.query(`CREATE TABLE ${table} (${columns})`)
  // Closes the test's databases first (their connectors let the slot go). It does not throw before its
  // end, so the client always ends; a slot it could not drop fails the test by the assertion at its end.
  const databases: Database[] = []
  t.after(async () => {
    for (const db of databases) await db.close().catch(() => undefined)
    let dropped = false
    for (let attempt = 0; attempt < 50 && !dropped; attempt++) {
      try {
        await client.query('SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL', [table])
        await client.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [table])
        dropped = true
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
    await client.query(`DROP PUBLICATION IF EXISTS ${table}`).catch(() => undefined)
    await client.query(`DROP TABLE IF EXISTS ${table}, ${table}_other`).catch(() => undefined)
    await client.end().catch(() => undefined)
    assert.ok(dropped, `the slot ${table} could not be dropped`)
  })
  return {
    table,
    client,
    closeFirst: (db) => {
      databases.push(db)
      return db
    },
    reading: () => waitFor(`the slot ${table} read`, async () => (await client.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [table])).rowCount === 1),
    exists: async () => ({
      slot: (await client.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [table])).rowCount === 1,
      publication: (await client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [table])).rowCount === 1,
    }),
  }
}

