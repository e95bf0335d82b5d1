/**
 * The data directory's lock: one process at a time opens a directory. Two processes writing one
 * directory each believe they own the ledger's next transaction id and the mirror's position (issue
 * 9, point 7: a server wedged by a second process's INSERT), so a second opener is refused at open,
 * before it touches SQLite or DuckDB, with `LOCKED` naming the directory and the holder's pid.
 *
 * The lock is an operating-system lock, not a file's existence: an exclusive SQLite lock (POSIX fcntl
 * on Unix, LockFileEx on Windows) on `strata.lock`, held by a connection that began an EXCLUSIVE
 * transaction and never ends it. The kernel drops that lock when its process dies however it dies, so
 * a kill -9 leaves nothing to detect as stale and nothing to take over: the next opener simply gets
 * the lock, and two openers racing for it cannot both win. Node has no flock(2); SQLite's locking is
 * the portable one at hand, and this folder is the one importer of better-sqlite3. SQLite also keeps
 * its locks per file across the connections of one process, so a second open in the same process is
 * refused too.
 *
 * Who holds the lock is written beside it, in `strata.lock.json` (`{pid, hostname, startedAt,
 * socket?}`), by the holder right after it took the lock: a refused opener names the holder from it,
 * and the CLI finds a server's local socket in it. That file is information, never the lock, so a stale
 * one (its process gone) is just overwritten by the next holder. Nothing reads or writes `strata.lock`
 * but SQLite: closing any descriptor of a file drops the process's POSIX locks on it.
 */
import BetterSqlite3 from 'better-sqlite3'
import { readFileSync, realpathSync, renameSync, unlinkSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { StrataError } from '../../util/errors.js'
import { limits } from '../../util/limits.js'
import { addonOptions } from './native.js'

/** The file whose SQLite lock is the directory's lock. */
export const lockFileName = 'strata.lock'
/** Who holds the lock (JSON), written by the holder. */
export const holderFileName = 'strata.lock.json'

/** What `strata.lock.json` says about the process holding a directory. */
export interface DirectoryHolder {
  readonly pid: number
  readonly hostname: string
  /** When the holder took the lock, ISO 8601. */
  readonly startedAt: string
  /** The local socket of a server (`strata serve`) holding the directory, which the CLI goes through. */
  readonly socket?: string
}

/** A held directory lock. */
export interface DirectoryLock {
  readonly directory: string
  /** What the holder file said when this lock was taken: the previous holder (gone by now), if any. */
  readonly previousHolder: DirectoryHolder | undefined
  /** Records (or with undefined, forgets) the server socket other processes should use. */
  advertiseSocketSync(socket: string | undefined): void
  /** Removes the holder file and drops the lock. Idempotent. */
  releaseSync(): void
}

/** Directories this process holds (by real path), to tell "open in this process" from another process. */
const heldHere = new Set<string>()

/**
 * Takes the directory's lock (the directory must exist), or throws `LOCKED` naming the holder.
 *
 * @example
 * const lock = await lockDirectory('/srv/strata-data')
 * try { … } finally { lock.releaseSync() }
 */
export async function lockDirectory(directory: string): Promise<DirectoryLock> {
  const lockPath = join(directory, lockFileName)
  let database: BetterSqlite3.Database
  try {
    // timeout 0: a held lock is reported at once (SQLITE_BUSY), not waited for.
    database = new BetterSqlite3(lockPath, { timeout: 0, ...addonOptions() })
  } catch (error) {
    throw new StrataError('IO_ERROR', `cannot open the lock file ${lockPath}: ${(error as Error).message}`, { cause: error })
  }
  try {
    // SQLite takes no lock on an empty database file, so the file gets a table first (a no-op later;
    // reading the schema needs a shared lock, which a holder's exclusive one refuses).
    database.exec('CREATE TABLE IF NOT EXISTS strata_lock (note TEXT)')
    database.exec('BEGIN EXCLUSIVE')
  } catch (error) {
    database.close()
    if ((error as { code?: unknown }).code === 'SQLITE_BUSY') throw await lockedError(directory)
    throw new StrataError('IO_ERROR', `cannot lock ${lockPath}: ${(error as Error).message}`, { cause: error })
  }
  const key = realDirectory(directory)
  heldHere.add(key)
  const previousHolder = readDirectoryHolderSync(directory)
  const holder: { pid: number; hostname: string; startedAt: string; socket?: string } = { pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString() }
  let released = false
  const release = (): void => {
    if (released) return
    released = true
    heldHere.delete(key)
    // The holder file goes first, while the lock is still held: a later holder's file is never removed.
    try {
      unlinkSync(join(directory, holderFileName))
    } catch {
      // Already gone (removed by hand): nothing to undo.
    }
    database.close()
  }
  try {
    writeHolderSync(directory, holder)
  } catch (error) {
    release()
    throw new StrataError('IO_ERROR', `cannot write ${join(directory, holderFileName)}: ${(error as Error).message}`, { cause: error })
  }
  return {
    directory,
    previousHolder,
    advertiseSocketSync: (socket) => {
      if (released) return
      if (socket === undefined) delete holder.socket
      else holder.socket = socket
      writeHolderSync(directory, holder)
    },
    releaseSync: release,
  }
}

/**
 * What `strata.lock.json` in `directory` says, or undefined when there is none (or it is unreadable).
 * It may describe a process that is gone: the lock, not this file, says whether the directory is held.
 *
 * @example
 * readDirectoryHolderSync('/srv/strata-data')  // { pid: 4242, hostname: 'db1', startedAt: '…', socket: '/srv/strata-data/strata.sock' }
 */
export function readDirectoryHolderSync(directory: string): DirectoryHolder | undefined {
  let text: string
  try {
    text = readFileSync(join(directory, holderFileName), 'utf8')
  } catch {
    return undefined
  }
  try {
    const value: unknown = JSON.parse(text)
    if (typeof value !== 'object' || value === null) return undefined
    const { pid, hostname: host, startedAt, socket } = value as Record<string, unknown>
    if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0 || typeof host !== 'string' || typeof startedAt !== 'string') return undefined
    return { pid, hostname: host, startedAt, ...(typeof socket === 'string' && socket !== '' ? { socket } : {}) }
  } catch {
    return undefined
  }
}

/** Written to a temporary file and renamed over the old one, so a reader never sees half of it. */
function writeHolderSync(directory: string, holder: DirectoryHolder): void {
  const path = join(directory, holderFileName)
  const temporary = `${path}.${process.pid}.tmp`
  writeFileSync(temporary, `${JSON.stringify(holder)}\n`, { mode: 0o644 })
  renameSync(temporary, path)
}

/**
 * LOCKED, naming the holder. The holder writes its file just after it takes the lock, so a refusal
 * that finds no file of a live process yet looks again for a short while before saying the pid is unknown.
 */
async function lockedError(directory: string): Promise<StrataError> {
  const deadline = Date.now() + limits.directoryHolderWaitMs
  let holder = readDirectoryHolderSync(directory)
  while (!isPlausibleHolder(directory, holder) && Date.now() < deadline) {
    await sleep(20)
    holder = readDirectoryHolderSync(directory)
  }
  if (holder === undefined || !isPlausibleHolder(directory, holder)) {
    return new StrataError('LOCKED', `the data directory ${directory} is in use by another process (it has not recorded its pid in ${holderFileName}); one process at a time may open a data directory`)
  }
  if (holder.pid === process.pid && holder.hostname === hostname()) {
    return new StrataError('LOCKED', `the data directory ${directory} is already open in this process (pid ${holder.pid}); close that database first`)
  }
  const where = holder.hostname === hostname() ? '' : ` on host ${holder.hostname}`
  if (holder.socket !== undefined) {
    return new StrataError('LOCKED', `the data directory ${directory} is in use by a Strata server (pid ${holder.pid}${where}); connect to it (the strata CLI does so by itself) or stop it first`)
  }
  return new StrataError('LOCKED', `the data directory ${directory} is in use by another process (pid ${holder.pid}${where}); one process at a time may open a data directory: close it there, or serve it with \`strata serve\` and connect to the server`)
}

/** A holder record that can describe whoever holds the lock now: a live process (or one on another host, which we cannot check). */
function isPlausibleHolder(directory: string, holder: DirectoryHolder | undefined): holder is DirectoryHolder {
  if (holder === undefined) return false
  if (holder.hostname !== hostname()) return true
  if (holder.pid === process.pid) return heldHere.has(realDirectory(directory))
  try {
    process.kill(holder.pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function realDirectory(directory: string): string {
  try {
    return realpathSync(directory)
  } catch {
    return directory
  }
}
