/**
 * `strata serve`, tested as users run it: the built binary in a child process (STYLE rule 15), on
 * free ports, with its own data directory.
 */
import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process'
import * as path from 'node:path'
import { describe, test } from 'node:test'
import pg from 'pg'
import { open } from '../src/index.js'
import { isLoopback, refusal, serveDefaults } from '../src/interfaces/server/serve.js'
import { temporaryDirectory } from './helpers.js'

const binaryPath = path.resolve('dist/src/interfaces/cli/main.js')
/** A cold start loads the WASM parser; give a slow CI machine room. */
const startTimeoutMs = 60_000

interface Running {
  readonly child: ChildProcessWithoutNullStreams
  readonly base: string
  stdout(): string
  stderr(): string
  exited: Promise<number | null>
}

/** Starts `strata serve <args>` and resolves once it has printed its HTTP address. */
async function startServe(args: readonly string[], env: Record<string, string> = {}): Promise<Running> {
  const child = spawn(process.execPath, [binaryPath, 'serve', ...args], { env: { ...process.env, STRATA_TOKEN: '', STRATA_PG_PASSWORD: '', ...env } })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const deadline = Date.now() + startTimeoutMs
  for (;;) {
    const match = /HTTP\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)
    if (match !== null) return { child, base: match[1]!, stdout: () => stdout, stderr: () => stderr, exited }
    if (child.exitCode !== null) throw new Error(`strata serve exited with ${child.exitCode}:\n${stdout}\n${stderr}`)
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`strata serve printed no address:\n${stdout}\n${stderr}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

async function post(base: string, body: unknown): Promise<Response> {
  return fetch(`${base}/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
}

describe('strata serve', () => {
  test('prints how to connect, answers /health, and on SIGTERM finishes cleanly with every commit kept', async (t) => {
    const directory = temporaryDirectory('serve')
    t.after(() => directory.remove())
    const dataDirectory = path.join(directory.path, 'db')
    const running = await startServe(['--db', dataDirectory, '--port', '0', '--pg-port', '0', '--grace', '500'])
    try {
      const printed = running.stdout()
      assert.match(printed, new RegExp(`Strata is serving ${dataDirectory.replaceAll('/', '\\/')}`))
      assert.match(printed, /curl -s http:\/\/127\.0\.0\.1:\d+\/query -H 'content-type: application\/json' -d '\{"sql": "SELECT 42 AS answer"\}'/)
      // The PostgreSQL line: a real port, and the psql and node-postgres lines that reach it.
      const pgPort = /PostgreSQL\s+127\.0\.0\.1:(\d+)\s+\(user strata, trust, loopback only\)/.exec(printed)?.[1]
      assert.ok(pgPort !== undefined && pgPort !== '0', printed)
      const url = `postgresql://strata@127.0.0.1:${pgPort}/strata`
      assert.match(printed, new RegExp(`psql "${url.replaceAll('.', '\\.')}"`))
      assert.match(printed, new RegExp(`node-postgres: new pg\\.Client\\(\\{ connectionString: '${url.replaceAll('.', '\\.')}' \\}\\)`))
      const client = new pg.Client({ connectionString: url })
      await client.connect()
      try {
        assert.deepEqual((await client.query('SELECT 41 + $1::INTEGER AS answer', [1])).rows, [{ answer: 42 }])
        const metrics = await (await fetch(`${running.base}/metrics`)).text()
        assert.match(metrics, /^strata_pg_connections 1$/m)
      } finally {
        await client.end()
      }

      const health = await fetch(`${running.base}/health`)
      assert.equal(health.status, 200)
      assert.equal(((await health.json()) as { status: string }).status, 'ok')
      assert.equal((await post(running.base, { sql: 'CREATE TABLE kept (id INTEGER PRIMARY KEY, note TEXT)' })).status, 200)
      for (let id = 1; id <= 20; id++) assert.equal((await post(running.base, { sql: 'INSERT INTO kept VALUES ($1, $2)', params: [id, `note ${id}`] })).status, 200)

      // A statement still running at SIGTERM is cancelled once the grace period is over.
      const long = post(running.base, { sql: 'SELECT sum(i * i) FROM range(100000000000) t(i)', persist: false })
      await new Promise((resolve) => setTimeout(resolve, 200))
      running.child.kill('SIGTERM')
      const longResponse = await long
      assert.equal(longResponse.status, 503)
      assert.equal(((await longResponse.json()) as { error: { code: string } }).error.code, 'SHUTTING_DOWN')
      assert.equal(await running.exited, 0, running.stderr())
      assert.match(running.stdout(), /SIGTERM: shutting down/)
      assert.match(running.stdout(), /stopped; the database is closed/)
    } finally {
      if (running.child.exitCode === null) running.child.kill('SIGKILL')
    }
    await using db = await open(dataDirectory)
    const { rows } = await db.query('SELECT count(*) AS n, max(note) AS last FROM kept')
    assert.deepEqual(rows, [{ n: 20, last: 'note 9' }])
  })

  test('SIGINT shuts down the same way', async (t) => {
    const directory = temporaryDirectory('serve-int')
    t.after(() => directory.remove())
    const running = await startServe(['--db', path.join(directory.path, 'db'), '--port', '0', '--no-pg'])
    assert.match(running.stdout(), /PostgreSQL\s+turned off/)
    assert.equal((await post(running.base, { sql: 'SELECT 1' })).status, 200)
    running.child.kill('SIGINT')
    assert.equal(await running.exited, 0, running.stderr())
  })

  test('a second `strata serve` on a directory in use fails before its banner, naming the directory and the holder pid', async (t) => {
    const directory = temporaryDirectory('serve-twice')
    t.after(() => directory.remove())
    const dataDirectory = path.join(directory.path, 'db')
    const running = await startServe(['--db', dataDirectory, '--port', '0', '--no-pg'])
    try {
      const second = spawnSync(process.execPath, [binaryPath, 'serve', '--db', dataDirectory, '--port', '0', '--no-pg'], {
        encoding: 'utf8',
        timeout: startTimeoutMs,
        env: { ...process.env, STRATA_TOKEN: '', STRATA_PG_PASSWORD: '' },
      })
      assert.equal(second.status, 1, second.stderr)
      assert.equal(second.stdout, '')
      assert.match(second.stderr, new RegExp(`^strata serve: LOCKED: the data directory ${dataDirectory.replaceAll('/', '\\/')} is in use by a Strata server \\(pid ${running.child.pid}\\)`))
      // The first server carries on.
      assert.equal((await post(running.base, { sql: 'SELECT 1 AS one' })).status, 200)
    } finally {
      running.child.kill('SIGTERM')
      assert.equal(await running.exited, 0, running.stderr())
    }
  })

  test('refuses a non-loopback address without authentication (exit 2), and bad ports', () => {
    const directory = temporaryDirectory('serve-refuse')
    try {
      const run = (args: readonly string[], env: Record<string, string> = {}) =>
        spawnSync(process.execPath, [binaryPath, 'serve', '--db', path.join(directory.path, 'db'), ...args], {
          encoding: 'utf8',
          timeout: startTimeoutMs,
          env: { ...process.env, STRATA_TOKEN: '', STRATA_PG_PASSWORD: '', ...env },
        })
      const bare = run(['--host', '0.0.0.0', '--port', '0', '--pg-port', '0'])
      assert.equal(bare.status, 2, bare.stderr)
      assert.match(bare.stderr, /refusing to listen on 0\.0\.0\.0 without authentication/)
      assert.match(bare.stderr, /--token or STRATA_TOKEN/)
      assert.match(bare.stderr, /--pg-password or STRATA_PG_PASSWORD/)
      // A token alone is not enough while the PostgreSQL server would listen too.
      const tokenOnly = run(['--host', '0.0.0.0', '--port', '0', '--pg-port', '0'], { STRATA_TOKEN: 'x' })
      assert.equal(tokenOnly.status, 2, tokenOnly.stderr)
      assert.doesNotMatch(tokenOnly.stderr, /--token/)
      assert.match(tokenOnly.stderr, /--pg-password/)
      const badPort = run(['--port', 'eighty'])
      assert.equal(badPort.status, 2)
      assert.match(badPort.stderr, /port/)
    } finally {
      directory.remove()
    }
  })

  test('what counts as loopback, and the defaults', () => {
    for (const host of ['127.0.0.1', '127.0.0.2', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) assert.equal(isLoopback(host), true, host)
    for (const host of ['0.0.0.0', '::', '192.168.1.10', 'example.com', '']) assert.equal(isLoopback(host), false, host)
    const options = { databasePath: '/tmp/x', host: '10.0.0.1', port: 0, pgPort: 0, pgUser: 'strata' }
    assert.match(refusal(options) ?? '', /--token/)
    assert.equal(refusal({ ...options, token: 't', pgPassword: 'p' }), undefined)
    assert.equal(refusal({ ...options, token: 't', pgPort: undefined }), undefined)
    // A read-only token alone is authentication too: nobody can write over HTTP then.
    assert.equal(refusal({ ...options, readOnlyToken: 'r', pgPort: undefined }), undefined)
    assert.match(refusal({ ...options, readOnlyToken: '', pgPort: undefined }) ?? '', /--read-only-token/)
    assert.equal(refusal({ ...options, host: '127.0.0.1' }), undefined)
    assert.deepEqual(serveDefaults, { host: '127.0.0.1', port: 8080, pgPort: 5433, pgUser: 'strata' })
  })
})
