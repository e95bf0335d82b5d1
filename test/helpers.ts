import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, connect as connectSocket, type AddressInfo, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve as resolvePath } from 'node:path'
import * as assert from 'node:assert/strict'
import { open, type Database } from '../src/index.js'
import { StrataError } from '../src/util/errors.js'

/** A fresh directory under the system temp dir; remove it with the returned function. */
export function temporaryDirectory(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), `strata-test-${prefix}-`))
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) }
}

/** Runs each statement and asserts it is refused with its StrataError code and a message matching the pattern. */
export async function assertRefused(run: (sql: string) => Promise<unknown>, refused: readonly (readonly [string, string, RegExp])[]): Promise<void> {
  for (const [sql, expected, message] of refused) {
    await assert.rejects(run(sql), (error: unknown) => {
      assert.ok(error instanceof StrataError, `${sql}: ${String(error)}`)
      assert.equal(error.code, expected, `${sql}: ${error.message}`)
      assert.match(error.message, message, sql)
      return true
    })
  }
}

/** A database in a fresh temporary directory, closed and removed when the test ends. */
export async function openTemporary(t: { after: (fn: () => Promise<void>) => void }, prefix: string): Promise<Database> {
  const directory = temporaryDirectory(prefix)
  const db = await open(directory.path)
  t.after(async () => {
    await db.close()
    directory.remove()
  })
  return db
}

/** Rows sorted by their JSON, for comparing results whose order SQL leaves open. */
export function sortedRows(rows: readonly Record<string, unknown>[]): string[] {
  return rows.map((row) => JSON.stringify(row, (_key, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value))).sort()
}

/**
 * A small deterministic PRNG (mulberry32) in [0, 1): tests print their seed so a failing run can be
 * replayed with the same numbers.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let value = state
    value = Math.imul(value ^ (value >>> 15), value | 1)
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61)
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296
  }
}

export interface Server {
  readonly child: ChildProcessWithoutNullStreams
  readonly base: string
  stdout(): string
  stderr(): string
  readonly exited: Promise<number | null>
  /** SIGTERM, and the exit status. */
  stop(): Promise<number | null>
}

/**
 * Starts the built `strata serve` on `database` (HTTP on a free port, no PostgreSQL, 500 ms grace) and
 * resolves once it has printed its banner, so its local socket is listening.
 */
export async function startServe(database: string, environment: NodeJS.ProcessEnv): Promise<Server> {
  const child = spawn(process.execPath, [resolvePath('dist/src/interfaces/cli/main.js'), 'serve', '--db', database, '--port', '0', '--no-pg', '--grace', '500'], { env: environment })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  // A cold start loads the WASM parser; give a slow CI machine room.
  const deadline = Date.now() + 60_000
  for (;;) {
    const match = /HTTP\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)
    if (match !== null && stdout.includes('Press Ctrl-C')) {
      return {
        child,
        base: match[1]!,
        stdout: () => stdout,
        stderr: () => stderr,
        exited,
        stop: async () => {
          if (child.exitCode === null) child.kill('SIGTERM')
          return exited
        },
      }
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`strata serve did not start:\n${stdout}\n${stderr}`)
    }
    await new Promise((done) => setTimeout(done, 20))
  }
}

/**
 * A TCP proxy in front of a broker, for the connector tests: `server` is what a source connects to.
 * `down()` drops every connection and refuses new ones (the broker gone away), `up()` lets them
 * through again; `holdUpstream(true)` lets the broker's bytes reach the client but swallows what the
 * client sends (its acknowledgements lost on the way, as when a process dies after writing them).
 */
export async function brokerProxy(t: { after: (fn: () => Promise<void>) => void }, target: { host: string; port: number }): Promise<{ server: string; down: () => void; up: () => void; holdUpstream: (hold: boolean) => void }> {
  const sockets = new Set<Socket>()
  let accepting = true
  let holding = false
  const proxy = createServer((client) => {
    if (!accepting) {
      client.destroy()
      return
    }
    const upstream = connectSocket(target.port, target.host)
    sockets.add(client).add(upstream)
    client.on('data', (chunk) => {
      if (!holding) upstream.write(chunk)
    })
    upstream.on('data', (chunk) => client.write(chunk))
    const end = () => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    client.on('close', end).on('error', end)
    upstream.on('close', end).on('error', end)
  })
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  const { port } = proxy.address() as AddressInfo
  t.after(async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise((resolve) => proxy.close(resolve))
  })
  return {
    server: `127.0.0.1:${port}`,
    down: () => {
      accepting = false
      for (const socket of sockets) socket.destroy()
    },
    up: () => {
      accepting = true
    },
    holdUpstream: (hold) => {
      holding = hold
    },
  }
}
