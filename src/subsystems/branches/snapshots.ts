/**
 * Table snapshots in the chunk store (SPEC 10, docs/branches.md "The chunk store"): a table's state
 * on a branch — its schema and current rows, not its history or the order rows were written in — as
 * Parquet chunks written by DuckDB's COPY (rows in key order, fixed row-group size and compression,
 * so equal states give equal bytes) and a manifest chunk of canonical JSON naming them. The
 * manifest's hash is the state's: `strata.table_hash`. `EXPORT TABLE` copies the chunks out of the
 * store (each read verified) as `<hash>.parquet` and the manifest as `manifest.json`.
 *
 * A table with a one-column integer or text key is cut into chunks at the keys whose hash is 0 modulo
 * `limits.snapshotChunkRowsTarget` (content-defined: a changed row changes its chunk only, so states
 * that differ in a few rows share the other chunks); any other table is one chunk.
 */
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { TableDefinition } from '../../sql/catalog.js'
import { quoteIdentifier } from '../../sql/tree.js'
import { typeLabel } from '../../sql/types.js'
import { StrataError } from '../../util/errors.js'
import { limits } from '../../util/limits.js'
import type { StatementCall, SubsystemHost } from '../seam.js'

/** The manifest chunk's format name, first key of its JSON. */
const manifestFormat = 'strata.table/1'

/** A table state's snapshot: the manifest's hash, the manifest, its chunks. */
export interface Snapshot {
  readonly hash: string
  readonly manifest: Buffer
  readonly chunks: readonly { readonly hash: string; readonly rows: number; readonly bytes: number }[]
  readonly rows: number
}

/** What a chunk holds, from its first bytes: Parquet ('PAR1') or a manifest (JSON). */
export function chunkKind(bytes: Buffer): 'parquet' | 'manifest' | 'unknown' {
  if (bytes.subarray(0, 4).toString('latin1') === 'PAR1') return 'parquet'
  if (bytes.subarray(0, 2).toString('latin1') === '{"') {
    try {
      const parsed = JSON.parse(bytes.toString('utf8')) as { format?: unknown }
      if (parsed.format === manifestFormat) return 'manifest'
    } catch {
      return 'unknown'
    }
  }
  return 'unknown'
}

/** The chunks a manifest names. */
export function manifestChunks(bytes: Buffer): string[] {
  const parsed = JSON.parse(bytes.toString('utf8')) as { chunks: { hash: string }[] }
  return parsed.chunks.map((chunk) => chunk.hash)
}

export class Snapshots {
  constructor(private readonly host: SubsystemHost) {}

  /**
   * Snapshots `table` as `state` (DuckDB's SQL of its user columns on some branch at some point) into
   * the chunk store.
   */
  async snapshot(call: StatementCall, table: TableDefinition, state: string): Promise<Snapshot> {
    const store = this.host.chunks
    const scratch = store.scratchDirectory()
    const key = table.primaryKey
    const columns = table.columns.map((column) => quoteIdentifier(column.name))
    const order = key === null ? columns.join(', ') : key.map(quoteIdentifier).join(', ')
    // Chunk boundaries: content-defined, on a one-column integer or text key.
    const keyType = key !== null && key.length === 1 ? table.columns.find((column) => column.name === key[0])!.type.name : undefined
    const ranges: (string | undefined)[] = []
    if (keyType === 'SMALLINT' || keyType === 'INTEGER' || keyType === 'BIGINT' || keyType === 'VARCHAR') {
      const name = quoteIdentifier(key![0]!)
      const boundaries = await call.columnQuery(`SELECT ${name} FROM (${state}) AS _strata_state WHERE hash(${name}) % ${limits.snapshotChunkRowsTarget} = 0 ORDER BY ${name}`, [])
      const literal = (value: unknown): string => (typeof value === 'string' ? `'${value.replaceAll("'", "''")}'` : String(value))
      const cuts = boundaries.rows.map((row) => literal(row[0]))
      for (let index = 0; index <= cuts.length; index++) {
        const lower = index === 0 ? undefined : `${name} >= ${cuts[index - 1]!}`
        const upper = index === cuts.length ? undefined : `${name} < ${cuts[index]!}`
        ranges.push([lower, upper].filter((part) => part !== undefined).join(' AND ') || undefined)
      }
    } else ranges.push(undefined)
    const chunks: { hash: string; rows: number; bytes: number }[] = []
    for (const range of ranges) {
      const file = join(scratch, `${randomBytes(8).toString('hex')}.parquet`)
      const select = `SELECT ${columns.join(', ')} FROM (${state}) AS _strata_state${range === undefined ? '' : ` WHERE ${range}`} ORDER BY ${order}`
      const copied = await call.columnQuery(`COPY (${select}) TO '${file.replaceAll("'", "''")}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${limits.snapshotRowGroupRows})`, [])
      const rows = Number(copied.rows[0]?.[0] ?? 0)
      // An empty range (the first, when the smallest key is a boundary) is no chunk.
      if (rows === 0 && ranges.length > 1) {
        rmSync(file, { force: true })
        continue
      }
      const bytes = statSync(file).size
      chunks.push({ hash: await store.putFile(file), rows, bytes })
    }
    // Canonical JSON: keys in a fixed order, no spaces; the table's name is not part of its state.
    const manifest = Buffer.from(
      JSON.stringify({
        format: manifestFormat,
        columns: table.columns.map((column) => ({ name: column.name, type: typeLabel(column.type) })),
        primary_key: key,
        rows: chunks.reduce((sum, chunk) => sum + chunk.rows, 0),
        chunks: chunks.map((chunk) => ({ hash: chunk.hash, rows: chunk.rows })),
      }),
      'utf8',
    )
    const hash = await store.put(manifest)
    return { hash, manifest, chunks, rows: chunks.reduce((sum, chunk) => sum + chunk.rows, 0) }
  }

  /** Copies a snapshot out of the store into `directory`: `<hash>.parquet` per chunk (each read verified) and `manifest.json`. */
  async export(snapshot: Snapshot, directory: string): Promise<void> {
    try {
      mkdirSync(directory, { recursive: true })
    } catch (error) {
      throw new StrataError('IO_ERROR', `EXPORT TABLE could not make the directory ${directory}: ${(error as Error).message}`, { cause: error })
    }
    for (const chunk of snapshot.chunks) {
      const bytes = await this.host.chunks.get(chunk.hash)
      writeFileSync(join(directory, `${chunk.hash}.parquet`), bytes)
    }
    writeFileSync(join(directory, 'manifest.json'), await this.host.chunks.get(snapshot.hash))
  }
}
