/**
 * The open sessions of a session window, kept in the row store between a stream's steps: one table
 * per stream (`_strata_sessions_<stream>`) with a row per session still open — its partition values
 * (storage values, as the source's columns hold them), its first and its last event (µs). A step
 * merges its batch's events into them (streams.ts, closeSessions) and evaluates a session's events
 * once, when it closes, instead of every event since the earliest open session at every step. The
 * table is written in the step's transaction, with its results and progress (exactly once), and
 * dropped with the stream. A stream without the table (made before it existed) builds it at its next
 * step from its events since the earliest open session.
 */
import type { WindowSpec } from '../../sql/streaming.js'
import { quoteIdentifier } from '../../sql/tree.js'
import { readsIntegersAsBigints, typeFromLabel, type SqlType } from '../../sql/types.js'
import type { RowConnection, RowValue } from '../../storage/rowstore/rowstore.js'

function tableOf(stream: string): string {
  return `main.${quoteIdentifier(`_strata_sessions_${stream}`)}`
}

function columnsOf(window: WindowSpec): string[] {
  return [...window.partition.map(quoteIdentifier), '_strata_ws', '_strata_wl']
}

/** Whether the stream keeps its open sessions (its table exists, in the writer's transaction). */
export function sessionsKeptSync(writer: RowConnection, stream: string): boolean {
  return writer.prepareSync("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").allSync([`_strata_sessions_${stream}`]).length > 0
}

/** Makes the stream's table of open sessions: untyped columns, so each value stays as stored. */
export function createSessionsSync(writer: RowConnection, stream: string, window: WindowSpec): void {
  writer.execSync(`CREATE TABLE ${tableOf(stream)} (${columnsOf(window).join(', ')})`)
}

/** The stream's open sessions: partition values (of `types`, the partition columns' types), first and last event µs. */
export function openSessionsSync(writer: RowConnection, stream: string, window: WindowSpec, types: readonly SqlType[]): RowValue[][] {
  const bigints = readsIntegersAsBigints([...types, typeFromLabel('BIGINT')])
  return writer.prepareSync(`SELECT ${columnsOf(window).join(', ')} FROM ${tableOf(stream)}`, { bigints }).allSync([])
}

/** The stream's open sessions become `sessions` (rows as {@link openSessionsSync} reads them). */
export function replaceSessionsSync(writer: RowConnection, stream: string, window: WindowSpec, sessions: readonly (readonly RowValue[])[]): void {
  writer.execSync(`DELETE FROM ${tableOf(stream)}`)
  const columns = columnsOf(window)
  const insert = writer.prepareSync(`INSERT INTO ${tableOf(stream)} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`)
  for (const session of sessions) insert.runSync(session)
}

/** The stream's table of open sessions goes with it. */
export function dropSessionsSync(writer: RowConnection, stream: string): void {
  writer.execSync(`DROP TABLE IF EXISTS ${tableOf(stream)}`)
}
