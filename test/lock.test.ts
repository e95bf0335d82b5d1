/**
 * One process per data directory (issue 9, point 7): `open(dir)` locks the directory before it
 * touches either store, a second opener — another process, or this one again — gets LOCKED naming the
 * directory and the holder's pid, and a holder killed with SIGKILL leaves a lock the next open takes
 * (the operating system dropped it). The other process is the real binary (`strata shell`).
 */
import * as assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { describe, test } from 'node:test'
import { open, StrataError } from '../src/index.js'
import { temporaryDirectory } from './helpers.js'

const binaryPath = path.resolve('dist/src/interfaces/cli/main.js')
const commandTimeoutMs = 60_000
const environment = { ...process.env, STRATA_HISTORY: path.join(os.tmpdir(), 'strata-lock-test-history') }

function isLocked(pattern: RegExp): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof StrataError, String(error))
    assert.equal(error.code, 'LOCKED')
    assert.match(error.message, pattern)
    return true
  }
}

function escaped(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
}

/** A `strata shell` on `database` that has opened it (it answered a first statement) and keeps it open until its stdin ends. */
interface Holder {
  readonly child: ChildProcessWithoutNullStreams
  readonly exited: Promise<number | null>
  /** Resolves once the shell has printed `text` on stdout. */
  printed(text: string): Promise<void>
}

async function startShellHolder(database: string): Promise<Holder> {
  const child = spawn(process.execPath, [binaryPath, 'shell', '--db', database], { env: environment })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const printed = async (text: string): Promise<void> => {
    const deadline = Date.now() + commandTimeoutMs
    while (!stdout.includes(text)) {
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL')
        assert.fail(`the holder shell did not print ${text}: ${stdout}\n${stderr}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
  child.stdin.write("SELECT 'holding' AS state;\n")
  await printed('holding')
  return { child, exited, printed }
}

describe('the data directory lock', () => {
  test('a second open in this process is LOCKED naming the directory and this pid; after close it opens', async (t) => {
    const directory = temporaryDirectory('lock-same')
    t.after(directory.remove)
    const first = await open(directory.path)
    await first.query('CREATE TABLE t (id INTEGER PRIMARY KEY)')
    await assert.rejects(open(directory.path), isLocked(new RegExp(`${escaped(directory.path)} is already open in this process \\(pid ${process.pid}\\)`)))
    // The refused open changed nothing: the first handle still writes, and reads its writes on both stores.
    await first.query('INSERT INTO t VALUES (1)')
    assert.equal((await first.query('SELECT count(*) AS n FROM t', [], { engine: 'column' })).rows[0]?.['n'], 1)
    await first.close()
    await using second = await open(directory.path)
    assert.equal((await second.query('SELECT count(*) AS n FROM t')).rows[0]?.['n'], 1)
    // In-memory databases are private: any number of them.
    await using memoryA = await open(':memory:')
    await using memoryB = await open()
    assert.equal((await memoryA.query('SELECT 1 AS x')).rows[0]?.['x'], 1)
    assert.equal((await memoryB.query('SELECT 2 AS x')).rows[0]?.['x'], 2)
  })

  test('another process holding the directory: open and `strata sql` are LOCKED naming its pid; after kill -9 the next open takes over', async (t) => {
    const directory = temporaryDirectory('lock-other')
    t.after(directory.remove)
    const database = path.join(directory.path, 'db')
    const create = spawnSync(process.execPath, [binaryPath, 'sql', '--db', database, 'CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1)'], { encoding: 'utf8', env: environment, timeout: commandTimeoutMs })
    assert.equal(create.status, 0, create.stderr)
    const holder = await startShellHolder(database)
    t.after(() => {
      if (holder.child.exitCode === null) holder.child.kill('SIGKILL')
    })
    const pid = holder.child.pid!
    const message = new RegExp(`the data directory ${escaped(database)} is in use by another process \\(pid ${pid}\\)`)
    await assert.rejects(open(database), isLocked(message))

    const refused = spawnSync(process.execPath, [binaryPath, 'sql', '--db', database, 'INSERT INTO t VALUES (2)'], { encoding: 'utf8', env: environment, timeout: commandTimeoutMs })
    assert.equal(refused.status, 1, refused.stderr)
    assert.equal(refused.stdout, '')
    assert.match(refused.stderr, /^Error \[LOCKED\]: /)
    assert.match(refused.stderr, message)

    // The holder is unharmed: its writes commit with the next transaction id, and its column store sees them.
    holder.child.stdin.write(".mode csv\nINSERT INTO t VALUES (3);\nSELECT 'last tx ' || max(tx_id) AS x FROM strata.transactions;\nSELECT 'rows ' || count(*) AS y FROM t;\n")
    await holder.printed('last tx 3')
    await holder.printed('rows 2')

    // kill -9: the operating system drops the lock with the process; the holder file stays behind, naming a dead pid.
    holder.child.kill('SIGKILL')
    await holder.exited
    assert.ok(fs.existsSync(path.join(database, 'strata.lock.json')))
    await using db = await open(database)
    assert.deepEqual((await db.query('SELECT id FROM t ORDER BY id')).rows.map((row) => row['id']), [1, 3])
    assert.deepEqual((await db.query('SELECT tx_id FROM strata.transactions ORDER BY tx_id')).rows.map((row) => row['tx_id']), [1, 2, 3])
    const holderFile = JSON.parse(fs.readFileSync(path.join(database, 'strata.lock.json'), 'utf8')) as { pid: number }
    assert.equal(holderFile.pid, process.pid)
    await db.close()
    // A clean close removes the holder file.
    assert.equal(fs.existsSync(path.join(database, 'strata.lock.json')), false)
  })
})
