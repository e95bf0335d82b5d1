/**
 * The content-addressed chunk store (SPEC 10, docs/branches.md "The chunk store"): immutable chunks
 * named by their BLAKE3-256 hash (64 lowercase hex digits), kept as `<h[0:2]>/<h[2:4]>/<h>` under the
 * store's directory (`chunks/` in the data directory). The same bytes are stored once; a chunk is
 * written to a temporary file, fsynced, and renamed into place (a crash leaves it whole or absent);
 * every read hashes it again, and a mismatch is CORRUPTION, never data.
 *
 * BLAKE3 comes from hash-wasm (WebAssembly, no native build, 0.6–0.9 GB/s here against 45 MB/s for
 * @noble/hashes' pure JavaScript: every read is hashed, so the speed is the read's).
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { createBLAKE3, type IHasher } from 'hash-wasm'
import { StrataError } from '../../util/errors.js'

let hasher: Promise<IHasher> | undefined

/** The BLAKE3-256 hash of `bytes`, as 64 lowercase hex digits. */
export async function blake3Hex(bytes: Uint8Array): Promise<string> {
  hasher ??= createBLAKE3(256)
  const instance = await hasher
  // One instance, used synchronously from init to digest: calls cannot interleave.
  instance.init()
  instance.update(bytes)
  return instance.digest('hex')
}

const hashPattern = /^[0-9a-f]{64}$/

/** One chunk as the store lists it. */
export interface ChunkEntry {
  readonly hash: string
  readonly bytes: number
}

export class ChunkStore {
  constructor(readonly directory: string) {}

  /** Where chunk `hash` lives (whether or not it is there). */
  pathOf(hash: string): string {
    checkHash(hash)
    return join(this.directory, hash.slice(0, 2), hash.slice(2, 4), hash)
  }

  /** A directory for files on their way in (the caller removes what it leaves there). */
  scratchDirectory(): string {
    const directory = join(this.directory, 'tmp')
    mkdirSync(directory, { recursive: true })
    return directory
  }

  /**
   * Stores `bytes` and returns their hash. Already stored (and whole): nothing is written. A stored
   * copy that no longer matches its name is replaced by these bytes.
   */
  async put(bytes: Uint8Array): Promise<string> {
    const hash = await blake3Hex(bytes)
    const target = this.pathOf(hash)
    if (existsSync(target)) {
      try {
        await this.get(hash)
        return hash
      } catch (error) {
        if (!(error instanceof StrataError) || error.code !== 'CORRUPTION') throw error
      }
    }
    const folder = join(this.directory, hash.slice(0, 2), hash.slice(2, 4))
    try {
      mkdirSync(folder, { recursive: true })
      const temporary = join(this.scratchDirectory(), `${hash}.${randomBytes(6).toString('hex')}.part`)
      const descriptor = openSync(temporary, 'w')
      try {
        let written = 0
        while (written < bytes.length) written += writeSync(descriptor, bytes, written, bytes.length - written)
        fsyncSync(descriptor)
      } finally {
        closeSync(descriptor)
      }
      renameSync(temporary, target)
      syncDirectory(folder)
    } catch (error) {
      throw new StrataError('IO_ERROR', `the chunk store could not write chunk ${hash}: ${(error as Error).message}`, { cause: error })
    }
    return hash
  }

  /** Stores the file at `path` (then removes it) and returns its hash. */
  async putFile(path: string): Promise<string> {
    try {
      return await this.put(readFileSync(path))
    } finally {
      rmSync(path, { force: true })
    }
  }

  /** Chunk `hash`'s bytes, hashed again: CORRUPTION when they no longer match (or the chunk is gone). */
  async get(hash: string): Promise<Buffer> {
    const path = this.pathOf(hash)
    let bytes: Buffer
    try {
      bytes = readFileSync(path)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new StrataError('CORRUPTION', `chunk ${hash} is missing from the chunk store (${this.directory})`)
      throw new StrataError('IO_ERROR', `the chunk store could not read chunk ${hash}: ${(error as Error).message}`, { cause: error })
    }
    const actual = await blake3Hex(bytes)
    if (actual !== hash) throw new StrataError('CORRUPTION', `chunk ${hash} is corrupt: its bytes hash to ${actual} (${path})`)
    return bytes
  }

  /** Every chunk in the store, by hash. */
  list(): ChunkEntry[] {
    const entries: ChunkEntry[] = []
    const names = (directory: string): string[] => {
      try {
        return readdirSync(directory).sort()
      } catch {
        return []
      }
    }
    for (const first of names(this.directory)) {
      if (!/^[0-9a-f]{2}$/.test(first)) continue
      for (const second of names(join(this.directory, first))) {
        for (const name of names(join(this.directory, first, second))) {
          if (!hashPattern.test(name)) continue
          entries.push({ hash: name, bytes: statSync(join(this.directory, first, second, name)).size })
        }
      }
    }
    return entries
  }

  /** Every chunk read and hashed again: the ones that fail, with what is wrong. */
  async verify(): Promise<{ readonly hash: string; readonly problem: string }[]> {
    const bad: { hash: string; problem: string }[] = []
    for (const entry of this.list()) {
      try {
        await this.get(entry.hash)
      } catch (error) {
        bad.push({ hash: entry.hash, problem: error instanceof Error ? error.message : String(error) })
      }
    }
    return bad
  }
}

function checkHash(hash: string): void {
  if (!hashPattern.test(hash)) throw new StrataError('INVALID_ARGUMENT', `"${hash}" is not a chunk hash (64 lowercase hex digits)`)
}

/** A rename is durable once its directory is synced. */
function syncDirectory(directory: string): void {
  const descriptor = openSync(directory, 'r')
  try {
    fsyncSync(descriptor)
  } finally {
    closeSync(descriptor)
  }
}
