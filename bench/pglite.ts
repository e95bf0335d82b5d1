/**
 * PGlite (@electric-sql/pglite: PostgreSQL compiled to WebAssembly, the embedded PostgreSQL many
 * TypeScript users pick) as a peer in the suites that already have a raw SQLite or DuckDB baseline.
 * Only bench files import it, and only through this module, so every suite opens it the same way and
 * reports the same durability.
 *
 * Durability, as PGlite ships (version 0.6.1, pinned in package.json): its PostgreSQL runs with
 * `fsync=off` (the build's default; `SHOW fsync` says so, and `pgliteDurability` reads it at run time
 * rather than trusting this comment). Every commit is written through Emscripten's NODEFS into the data
 * directory's files (so it survives the process dying) but is never flushed to the disk, so a power
 * loss or an operating-system crash can lose acknowledged commits or corrupt the cluster — weaker
 * than SQLite's synchronous=NORMAL in WAL mode, which can lose recent commits but not corrupt. The
 * `relaxedDurability` option only decides whether a query waits for the file system's `syncToFs`, which
 * is a no-op for the Node file system (it matters for IndexedDB in a browser), so it changes nothing
 * here; we leave it at its default (false). Rows that compare PGlite name this in their baseline label.
 *
 * @example
 * const peer = await openPglite(path.join(directory, 'pglite'))
 * try { await peer.db.query('SELECT 1') } finally { await peer.close() }
 */
import { rmSync } from 'node:fs'
import { cp, mkdtemp } from 'node:fs/promises'
import * as os from 'node:os'
import * as path from 'node:path'
import { PGlite } from '@electric-sql/pglite'

/** What PGlite's PostgreSQL says about its own durability, read with SHOW after opening. */
export interface PgliteDurability {
  readonly fsync: string
  readonly synchronousCommit: string
  /** "PGlite 0.6.1" from version(). */
  readonly version: string
}

export interface PglitePeer {
  readonly db: PGlite
  readonly durability: PgliteDurability
  /** The baseline name for the report: `pglite (fsync=off)`. */
  readonly label: string
  close(): Promise<void>
}

// initdb takes seconds (it runs PostgreSQL's bootstrap in WebAssembly); a suite should not pay that in
// every run. The first open in a process initialises a template cluster, closes it, and every peer is
// a copy of that closed cluster's directory, which is what PostgreSQL's own `createdb` from a template
// or a file-level backup amounts to.
let templateDirectory: Promise<string> | undefined

async function template(): Promise<string> {
  templateDirectory ??= (async () => {
    const directory = await mkdtemp(path.join(os.tmpdir(), 'strata-bench-pglite-template-'))
    // The bench exits with process.exit, so an 'exit' hook (synchronous) is the one place that always runs.
    process.on('exit', () => rmSync(directory, { recursive: true, force: true }))
    const db = await PGlite.create(path.join(directory, 'cluster'))
    await db.close()
    return path.join(directory, 'cluster')
  })()
  return templateDirectory
}

/** Opens a fresh PGlite cluster in `directory` (which must not exist yet) and reads its durability. */
export async function openPglite(directory: string): Promise<PglitePeer> {
  await cp(await template(), directory, { recursive: true })
  const db = await PGlite.create(directory)
  try {
    const durability = await pgliteDurability(db)
    return {
      db,
      durability,
      label: `pglite (fsync=${durability.fsync})`,
      close: () => db.close(),
    }
  } catch (error) {
    await db.close()
    throw error
  }
}

export async function pgliteDurability(db: PGlite): Promise<PgliteDurability> {
  const setting = async (name: string): Promise<string> =>
    String((await db.query<Record<string, unknown>>(`SHOW ${name}`)).rows[0]?.[name])
  const versionText = String((await db.query<{ version: string }>('SELECT version() AS version')).rows[0]?.version)
  return {
    fsync: await setting('fsync'),
    synchronousCommit: await setting('synchronous_commit'),
    version: /PGlite [\d.]+/.exec(versionText)?.[0] ?? versionText,
  }
}

/** The durability as one sentence for a measurement's details. */
export function describePgliteDurability(durability: PgliteDurability): string {
  return (
    `${durability.version}: fsync=${durability.fsync}, synchronous_commit=${durability.synchronousCommit}; ` +
    'commits reach the OS page cache through NODEFS, never flushed (relaxedDurability has no effect on Node)'
  )
}

/** One CSV field: empty for NULL, ISO text for a Date, quoted when it holds a separator or a quote. */
function csvField(value: unknown): string {
  if (value === null || value === undefined) return ''
  if (value instanceof Date) return value.toISOString()
  const text = String(value)
  return /[",\n\r]/.test(text) || text === '' ? `"${text.replaceAll('"', '""')}"` : text
}

/**
 * Loads rows into a PGlite table with `COPY … FROM '/dev/blob'` (PGlite's device for COPY from a Blob):
 * PostgreSQL's bulk path, one statement and one commit. Building the CSV text is part of the load, as
 * it is part of any COPY a program does from its own rows.
 *
 * @example await copyRowsIntoPglite(peer.db, 't', [[1, 'a'], [2, 'b']])
 */
export async function copyRowsIntoPglite(db: PGlite, table: string, rows: Iterable<readonly unknown[]>): Promise<number> {
  const parts: string[] = []
  let buffer = ''
  for (const row of rows) {
    buffer += `${row.map(csvField).join(',')}\n`
    if (buffer.length > 1 << 20) {
      parts.push(buffer)
      buffer = ''
    }
  }
  parts.push(buffer)
  return copyBlobIntoPglite(db, table, new Blob(parts), { header: false })
}

/** `COPY table FROM '/dev/blob'` for CSV text already in hand (a file read into a Blob). */
export async function copyBlobIntoPglite(db: PGlite, table: string, blob: Blob, options: { readonly header: boolean }): Promise<number> {
  const result = await db.query(`COPY ${table} FROM '/dev/blob' WITH (FORMAT csv, HEADER ${options.header ? 'true' : 'false'})`, [], { blob })
  return result.affectedRows ?? 0
}
