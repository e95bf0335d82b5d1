/**
 * The CLI on a directory a server holds (issue 9, point 7): `strata sql`, `shell`, `import` and
 * `export` run through `strata serve`'s local socket (DIR/strata.sock) instead of opening the
 * directory a second time, with the output they print when they open it themselves. Real binary,
 * real server process (STYLE rule 15).
 */
import * as assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { describe, test } from 'node:test'
import { Timestamp } from '../src/index.js'
import { decodeValue, encodeValue, LineReader } from '../src/interfaces/server/local/protocol.js'
import { startServe, temporaryDirectory } from './helpers.js'

const binaryPath = path.resolve('dist/src/interfaces/cli/main.js')
const commandTimeoutMs = 60_000
const environment = {
  ...process.env,
  STRATA_TOKEN: '',
  STRATA_PG_PASSWORD: '',
  TZ: 'Asia/Kolkata',
  STRATA_HISTORY: path.join(os.tmpdir(), 'strata-local-test-history'),
}

interface CommandRun {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

function strata(args: readonly string[], input = ''): CommandRun {
  const run = spawnSync(process.execPath, [binaryPath, ...args], { input, encoding: 'utf8', env: environment, timeout: commandTimeoutMs })
  if (run.error !== undefined) throw run.error
  return { status: run.status, stdout: run.stdout, stderr: run.stderr }
}

function strataOk(args: readonly string[], input = ''): string {
  const run = strata(args, input)
  assert.equal(run.status, 0, `strata ${args.join(' ')}:\n${run.stderr}`)
  assert.equal(run.stderr, '', `strata ${args.join(' ')} wrote to stderr`)
  return run.stdout
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

interface HttpResult {
  readonly status: number
  readonly body: { rows?: unknown[][]; engine?: string; tx_id?: number; error?: { code: string } }
}

async function httpQuery(base: string, sql: string): Promise<HttpResult> {
  const response = await fetch(`${base}/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sql, persist: false }) })
  return { status: response.status, body: (await response.json()) as HttpResult['body'] }
}

/** Values of every kind the CLI prints differently: micro-second timestamps, decimals, bytes, JSON, big integers, NULL, text needing quotes. */
const mixedTable = `CREATE TABLE mixed (id INTEGER PRIMARY KEY, seen_at TIMESTAMP, amount DECIMAL(10,2), raw BLOB, doc JSON, big BIGINT, note TEXT, day DATE, ok BOOLEAN, ratio DOUBLE)`
const mixedRows = `INSERT INTO mixed VALUES
  (1, TIMESTAMP '2024-01-02 03:04:05.123456', 12.50, '\\x01ff'::BLOB, '{"a": [1, 2], "$t": "x"}', 9007199254740993, 'comma, "quoted"', DATE '2024-02-29', true, 0.1),
  (2, NULL, NULL, NULL, NULL, -5, '', NULL, NULL, NULL)`
const mixedQueries = [
  'SELECT * FROM mixed ORDER BY id',
  'SELECT id, note FROM mixed WHERE id = 1',
  'SELECT count(*) AS n, sum(amount) AS total, max(seen_at) AS latest FROM mixed',
  "SELECT 1 AS a, 2 AS a, 'x' AS \"1\"",
]

describe('the local protocol', () => {
  test('values survive the trip as the library returns them', () => {
    const value = {
      at: new Timestamp(1_704_164_645_123_456n),
      whole: new Date('2024-01-02T03:04:05.123Z'),
      big: 2n ** 70n,
      bytes: new Uint8Array([0, 1, 255]),
      numbers: [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1.5, null],
      json: { $t: 'bigint', v: '1', nested: [{ $t: 'x' }] },
      nothing: undefined,
      text: 'line\nbreak "quoted"',
    }
    const decoded = decodeValue(JSON.parse(JSON.stringify(encodeValue(value)))) as typeof value
    assert.ok(decoded.at instanceof Timestamp)
    assert.equal(decoded.at.micros, 1_704_164_645_123_456n)
    assert.ok(decoded.whole instanceof Date && !(decoded.whole instanceof Timestamp))
    assert.deepEqual(decoded, value)
    const proto = decodeValue(JSON.parse(JSON.stringify(encodeValue(JSON.parse('{"__proto__": {"x": 1}}'))))) as Record<string, unknown>
    assert.deepEqual(Object.keys(proto), ['__proto__'])
    assert.equal(Object.getPrototypeOf(proto), Object.prototype)
  })

  test('lines are cut on bytes and bounded before they are held whole', () => {
    const reader = new LineReader(16)
    const text = Buffer.from('{"é":1}\n{"b":2}\n')
    // Split inside the two-byte é: the line is decoded whole.
    assert.deepEqual([...reader.push(text.subarray(0, 3)), ...reader.push(text.subarray(3))], ['{"é":1}', '{"b":2}'])
    assert.throws(() => reader.push(Buffer.from('x'.repeat(17))), /longer than 16 bytes/)
  })
})

describe('the CLI through a running server', () => {
  test('strata sql goes through the server: the server stays correct and fresh, output and exit codes are the local ones, and after the server stops the directory opens directly', async (t) => {
    const directory = temporaryDirectory('local-sql')
    t.after(directory.remove)
    const database = path.join(directory.path, 'db')
    strataOk(['sql', '--db', database, 'CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)', mixedTable, mixedRows])
    // What the CLI prints when it opens the directory itself, in every format.
    const local = new Map<string, string>()
    for (const format of ['table', 'json', 'jsonl', 'csv']) for (const sql of mixedQueries) local.set(`${format} ${sql}`, strataOk(['sql', '--db', database, '--format', format, sql]))

    const server = await startServe(database, environment)
    t.after(() => {
      if (server.child.exitCode === null) server.child.kill('SIGKILL')
    })
    const socket = path.join(database, 'strata.sock')
    assert.match(server.stdout(), new RegExp(`CLI\\s+${socket.replaceAll('/', '\\/')}`))
    // Whoever may write strata.sqlite may connect (0644 → the owner only), nobody else.
    assert.equal(fs.statSync(socket).mode & 0o777, 0o600)
    assert.equal(fs.statSync(path.join(database, 'strata.sqlite')).mode & 0o777, 0o644)

    // The write the issue saw wedge the server: through the server it is one more of its commits.
    assert.equal(strataOk(['sql', '--db', database, 'INSERT INTO t VALUES (1, 10)']), 'OK, 1 row (tx 4)\n')
    const write = await httpQuery(server.base, 'INSERT INTO t VALUES (2, 20)')
    assert.equal(write.status, 200, JSON.stringify(write.body))
    assert.equal(write.body.tx_id, 5)
    const read = await httpQuery(server.base, 'SELECT count(*), sum(v) FROM t')
    assert.equal(read.body.engine, 'column')
    assert.deepEqual(read.body.rows, [[2, 30]])
    assert.equal(strataOk(['sql', '--db', database, '--format', 'json', 'SELECT count(*) AS n, sum(v) AS s FROM t']), '[{"n":2,"s":30}]\n')
    const health = (await (await fetch(`${server.base}/health`)).json()) as { sync: { last_committed_tx: number; lag_tx: number } }
    assert.equal(health.sync.last_committed_tx, 5)

    // Same output, byte for byte, as when the CLI opened the directory itself.
    for (const format of ['table', 'json', 'jsonl', 'csv']) {
      for (const sql of mixedQueries) assert.equal(strataOk(['sql', '--db', database, '--format', format, sql]), local.get(`${format} ${sql}`), `${format}: ${sql}`)
    }
    // Several texts share one session, as locally: a transaction spans them.
    assert.equal(strataOk(['sql', '--db', database, '--format', 'csv', 'BEGIN', 'INSERT INTO t VALUES (3, 30)', 'SELECT count(*) AS n FROM t', 'ROLLBACK']), '')
    assert.equal(strataOk(['sql', '--db', database, '--format', 'csv', 'BEGIN', 'INSERT INTO t VALUES (3, 30)', 'COMMIT', 'SELECT count(*) AS n FROM t']), 'n\n3\n')

    // Errors: code and message on stderr, nothing on stdout, exit 1; usage errors exit 2.
    const duplicate = strata(['sql', '--db', database, 'INSERT INTO t VALUES (1, 0)'])
    assert.equal(duplicate.status, 1)
    assert.equal(duplicate.stdout, '')
    assert.match(duplicate.stderr, /^Error \[CONSTRAINT_VIOLATION\]: /)
    const syntax = strata(['sql', '--db', database, 'SELEC 1'])
    assert.equal(syntax.status, 1)
    assert.equal(syntax.stderr, 'Error [SYNTAX_ERROR]: syntax error at or near "SELEC" (at position 1)\nLINE 1: SELEC 1\n        ^\n')
    assert.equal(strata(['sql', '--db', database, '--format', 'xml', 'SELECT 1']).status, 2)

    // Ctrl-C cancels the statement on the server, as it does locally.
    const long = spawn(process.execPath, [binaryPath, 'sql', '--db', database, 'SELECT sum(i * i) FROM range(100000000000) t(i)'], { env: environment })
    let longError = ''
    long.stderr.setEncoding('utf8').on('data', (chunk: string) => (longError += chunk))
    const longExited = new Promise<number | null>((resolve) => long.once('exit', (code) => resolve(code)))
    await sleep(1_500)
    long.kill('SIGINT')
    assert.equal(await longExited, 1)
    assert.match(longError, /^Error \[ABORTED\]: /)
    assert.equal((await httpQuery(server.base, 'SELECT count(*) FROM t')).body.rows?.[0]?.[0], 3)

    assert.equal(await server.stop(), 0, server.stderr())
    assert.equal(fs.existsSync(socket), false)
    assert.equal(fs.existsSync(path.join(database, 'strata.lock.json')), false)
    // No server: the CLI opens the directory itself, and finds everything the server committed.
    assert.equal(strataOk(['sql', '--db', database, '--format', 'csv', 'SELECT id, v FROM t ORDER BY id', 'SELECT max(tx_id) AS last FROM strata.transactions']), 'last\n6\n')
    assert.equal(strataOk(['sql', '--db', database, '--format', 'csv', 'SELECT id, v FROM t ORDER BY id']), 'id,v\n1,10\n2,20\n3,30\n')
  })

  test('the shell through the server keeps a transaction across lines; the server rolls back what a vanished shell left open', async (t) => {
    const directory = temporaryDirectory('local-shell')
    t.after(directory.remove)
    const database = path.join(directory.path, 'db')
    strataOk(['sql', '--db', database, 'CREATE TABLE t (id INTEGER PRIMARY KEY)'])
    const server = await startServe(database, environment)
    t.after(() => {
      if (server.child.exitCode === null) server.child.kill('SIGKILL')
    })
    // SUBSCRIBE runs on the server too; its errors reach the shell, which carries on.
    const subscribeError = strata(['shell', '--db', database], 'SUBSCRIBE nope;\nSELECT 42 AS answer;\n')
    assert.equal(subscribeError.status, 1)
    assert.match(subscribeError.stderr, /^Error \[UNDEFINED_TABLE\]: .*"nope"/)
    assert.match(subscribeError.stdout, /42/)
    const shell = spawn(process.execPath, [binaryPath, 'shell', '--db', database], { env: environment })
    let stdout = ''
    let stderr = ''
    shell.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    shell.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const exited = new Promise<number | null>((resolve) => shell.once('exit', (code) => resolve(code)))
    const printed = async (text: string): Promise<void> => {
      const deadline = Date.now() + commandTimeoutMs
      while (!stdout.includes(text)) {
        if (shell.exitCode !== null || Date.now() > deadline) assert.fail(`the shell did not print ${JSON.stringify(text)}: ${stdout}\n${stderr}`)
        await sleep(20)
      }
    }
    shell.stdin.write(".mode csv\nBEGIN;\nINSERT INTO t VALUES (1);\nINSERT INTO t\n  VALUES (2);\nSELECT 'inside ' || count(*) AS x FROM t;\n")
    await printed('inside 2')
    // Another session (HTTP) does not see the shell's open transaction; the writer lock is the shell's.
    assert.deepEqual((await httpQuery(server.base, 'SELECT count(*) FROM t')).body.rows, [[0]])
    shell.stdin.write("COMMIT;\nSELECT 'after ' || count(*) AS x FROM t;\n.tables\n.schema t\n")
    await printed('after 2')
    await printed('column_name')
    assert.deepEqual((await httpQuery(server.base, 'SELECT count(*) FROM t')).body.rows, [[2]])
    // A transaction the shell leaves open when its input ends is rolled back by the server.
    shell.stdin.end("BEGIN;\nINSERT INTO t VALUES (3);\n")
    assert.equal(await exited, 0, stderr)
    assert.equal(stderr, '')
    assert.match(stdout, /^t$/m)
    let count: unknown
    for (let attempt = 0; attempt < 100 && count !== 2; attempt++) {
      const result = await httpQuery(server.base, 'INSERT INTO t VALUES (4); SELECT count(*) FROM t WHERE id <> 4')
      if (result.status === 200) count = result.body.rows?.[0]?.[0]
      else await sleep(50)
    }
    assert.equal(count, 2)
    assert.equal(await server.stop(), 0, server.stderr())
  })

  test('import and export through the server write what they write locally', async (t) => {
    const directory = temporaryDirectory('local-files')
    t.after(directory.remove)
    const database = path.join(directory.path, 'db')
    const csv = path.join(directory.path, 'people.csv')
    fs.writeFileSync(csv, 'id,name,joined\n1,ann,2024-01-02 03:04:05.123456\n2,"bob, jr",2024-02-03 00:00:00\n')
    const server = await startServe(database, environment)
    t.after(() => {
      if (server.child.exitCode === null) server.child.kill('SIGKILL')
    })
    assert.equal(strataOk(['import', csv, '--table', 'people', '--db', database]), 'Imported 2 rows into people (tx 1)\n')
    const missing = strata(['import', path.join(directory.path, 'nope.csv'), '--table', 'x', '--db', database])
    assert.equal(missing.status, 1)
    assert.match(missing.stderr, /^Error \[IO_ERROR\]: /)
    // The server's column store has the imported rows at once.
    assert.deepEqual((await httpQuery(server.base, 'SELECT count(*), max(name) FROM people')).body.rows, [[2, 'bob, jr']])
    const viaServer = path.join(directory.path, 'via-server.csv')
    const viaServerParquet = path.join(directory.path, 'via-server.parquet')
    // A relative path is the CLI's working directory's, not the server's.
    const relative = spawnSync(process.execPath, [binaryPath, 'export', '--table', 'people', 'via-server.csv', '--db', database], { cwd: directory.path, encoding: 'utf8', env: environment, timeout: commandTimeoutMs })
    assert.equal(relative.status, 0, relative.stderr)
    assert.equal(relative.stdout, 'Exported 2 rows to via-server.csv\n')
    assert.equal(strataOk(['export', '--table', 'people', viaServerParquet, '--db', database]), `Exported 2 rows to ${viaServerParquet}\n`)
    assert.equal(strata(['export', '--table', 'nobody', viaServer, '--db', database]).status, 1)
    assert.equal(await server.stop(), 0, server.stderr())

    const local = path.join(directory.path, 'local.csv')
    strataOk(['export', '--table', 'people', local, '--db', database])
    assert.equal(fs.readFileSync(viaServer, 'utf8'), fs.readFileSync(local, 'utf8'))
    assert.equal(
      strataOk(['sql', '--db', database, '--format', 'csv', `SELECT * FROM read_parquet('${viaServerParquet}') ORDER BY id`]),
      strataOk(['sql', '--db', database, '--format', 'csv', 'SELECT * FROM people ORDER BY id']),
    )
  })

  test('a server killed with SIGKILL leaves a socket nobody answers: the CLI opens the directory, and the next server starts', async (t) => {
    const directory = temporaryDirectory('local-kill')
    t.after(directory.remove)
    const database = path.join(directory.path, 'db')
    const server = await startServe(database, environment)
    assert.equal(strataOk(['sql', '--db', database, 'CREATE TABLE t (id INTEGER PRIMARY KEY)', 'INSERT INTO t VALUES (1)']), 'OK, 1 row (tx 2)\n')
    server.child.kill('SIGKILL')
    await server.exited
    assert.ok(fs.existsSync(path.join(database, 'strata.sock')))
    assert.match(fs.readFileSync(path.join(database, 'strata.lock.json'), 'utf8'), /"socket"/)
    assert.equal(strataOk(['sql', '--db', database, 'INSERT INTO t VALUES (2)']), 'OK, 1 row (tx 3)\n')
    const next = await startServe(database, environment)
    t.after(() => {
      if (next.child.exitCode === null) next.child.kill('SIGKILL')
    })
    assert.equal(strataOk(['sql', '--db', database, '--format', 'csv', 'SELECT count(*) AS n FROM t']), 'n\n2\n')
    assert.equal(await next.stop(), 0, next.stderr())
  })

  test('a data directory whose socket path would be too long gets one under the temporary directory', async (t) => {
    const directory = temporaryDirectory('local-long')
    t.after(directory.remove)
    const database = path.join(directory.path, 'a-data-directory-with-a-name-long-enough-that-its-socket-path-does-not-fit-in-sun-path')
    assert.ok(Buffer.byteLength(path.join(database, 'strata.sock')) > 103)
    const server = await startServe(database, environment)
    t.after(() => {
      if (server.child.exitCode === null) server.child.kill('SIGKILL')
    })
    const socket = (JSON.parse(fs.readFileSync(path.join(database, 'strata.lock.json'), 'utf8')) as { socket: string }).socket
    assert.equal(path.dirname(path.dirname(socket)), os.tmpdir())
    assert.equal(fs.statSync(path.dirname(socket)).mode & 0o777, 0o700)
    assert.match(server.stdout(), new RegExp(`CLI\\s+${socket.replaceAll('/', '\\/')}`))
    assert.equal(strataOk(['sql', '--db', database, '--format', 'csv', 'SELECT 42 AS answer']), 'answer\n42\n')
    assert.equal(await server.stop(), 0, server.stderr())
    assert.equal(fs.existsSync(path.dirname(socket)), false)
  })
})
