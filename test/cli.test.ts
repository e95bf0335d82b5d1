/**
 * The `strata` command, tested as users run it: the built binary in a child process (STYLE rule 15),
 * each test with its own data directory. Run from the repository root after `npm run build`.
 */
import * as assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { test } from 'node:test'
import { formatError, formatResult, formatTimestamp, toJsonValue } from '../src/interfaces/cli/format.js'
import { Timestamp, type QueryResult } from '../src/interfaces/api/types.js'

const binaryPath = path.resolve('dist/src/interfaces/cli/main.js')

/** Long enough for a cold start (WASM parser, DuckDB) on a slow CI machine. */
const commandTimeoutMs = 60_000

interface CommandRun {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs `strata <args>` to completion, feeding `input` on stdin (a pipe, so the shell runs without prompts). */
function runStrata(args: readonly string[], options: { input?: string; cwd?: string } = {}): CommandRun {
  const result = spawnSync(process.execPath, [binaryPath, ...args], {
    input: options.input ?? '',
    cwd: options.cwd ?? process.cwd(),
    encoding: 'utf8',
    timeout: commandTimeoutMs,
    env: {
      ...process.env,
      // A zone with a half-hour offset: timestamps must still print as the UTC instants they are.
      TZ: 'Asia/Kolkata',
      // The shell must never touch the user's own history file.
      STRATA_HISTORY: path.join(os.tmpdir(), 'strata-cli-test-history'),
    },
  })
  if (result.error !== undefined) throw result.error
  return { status: result.status, stdout: result.stdout, stderr: result.stderr }
}

/** Like runStrata, but fails the test with the command's stderr unless it exits 0. */
function runStrataOk(args: readonly string[], options: { input?: string; cwd?: string } = {}): string {
  const run = runStrata(args, options)
  assert.equal(run.status, 0, `strata ${args.join(' ')} failed:\n${run.stderr}`)
  assert.equal(run.stderr, '', `strata ${args.join(' ')} wrote to stderr`)
  return run.stdout
}

/** A fresh directory for one test, removed when the test ends. */
function temporaryDirectory(t: { after: (callback: () => void) => void }): string {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-cli-'))
  t.after(() => fs.rmSync(directory, { recursive: true, force: true }))
  return directory
}

const createPeople = `CREATE TABLE people (
  id INTEGER PRIMARY KEY,
  name VARCHAR,
  score DOUBLE,
  active BOOLEAN,
  created_at TIMESTAMP
)`

// Values chosen to exercise the formats' edge cases: a comma and quotes (CSV quoting), an empty string
// next to NULL (they must print differently), a negative number, and timestamps with and without ms.
const insertPeople = `INSERT INTO people VALUES
  (1, 'Ada, Countess', 9.5, true, TIMESTAMP '2024-01-01 10:00:00'),
  (2, 'Bob "the builder"', NULL, false, TIMESTAMP '2024-06-30 23:59:59.123'),
  (3, '', -2, NULL, NULL)`

const selectPeople = 'SELECT id, name, score, active, created_at FROM people ORDER BY id'

function createPeopleDatabase(t: { after: (callback: () => void) => void }): string {
  const databaseDirectory = path.join(temporaryDirectory(t), 'db')
  runStrataOk(['sql', '--db', databaseDirectory, createPeople, insertPeople])
  return databaseDirectory
}

test('sql --format json prints one array of row objects with ISO timestamps', (t) => {
  const databaseDirectory = createPeopleDatabase(t)
  const stdout = runStrataOk(['sql', '--db', databaseDirectory, '--format', 'json', selectPeople])
  assert.equal(
    stdout,
    '[{"id":1,"name":"Ada, Countess","score":9.5,"active":true,"created_at":"2024-01-01T10:00:00.000000Z"},\n' +
      '{"id":2,"name":"Bob \\"the builder\\"","score":null,"active":false,"created_at":"2024-06-30T23:59:59.123000Z"},\n' +
      '{"id":3,"name":"","score":-2,"active":null,"created_at":null}]\n',
  )
  assert.deepEqual(JSON.parse(stdout), [
    { id: 1, name: 'Ada, Countess', score: 9.5, active: true, created_at: '2024-01-01T10:00:00.000000Z' },
    { id: 2, name: 'Bob "the builder"', score: null, active: false, created_at: '2024-06-30T23:59:59.123000Z' },
    { id: 3, name: '', score: -2, active: null, created_at: null },
  ])
})

test('sql --format json prints timestamps with their microseconds, from either store', (t) => {
  const databaseDirectory = path.join(temporaryDirectory(t), 'db')
  runStrataOk(['sql', '--db', databaseDirectory, 'CREATE TABLE stamps (id INTEGER PRIMARY KEY, ts TIMESTAMP, tz TIMESTAMPTZ)', "INSERT INTO stamps VALUES (1, '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.000001+01'), (2, '2024-01-02 03:04:05.5', NULL)"])
  // A point read (row store), then an aggregate (column store).
  const point = runStrataOk(['sql', '--db', databaseDirectory, '--format', 'json', 'SELECT ts, tz FROM stamps WHERE id = 1'])
  assert.equal(point, '[{"ts":"2024-01-02T03:04:05.123456Z","tz":"2024-01-02T02:04:05.000001Z"}]\n')
  const aggregate = runStrataOk(['sql', '--db', databaseDirectory, '--format', 'json', 'SELECT min(ts) AS low, max(ts) AS high FROM stamps'])
  assert.equal(aggregate, '[{"low":"2024-01-02T03:04:05.123456Z","high":"2024-01-02T03:04:05.500000Z"}]\n')
  const table = runStrataOk(['sql', '--db', databaseDirectory, '--format', 'csv', 'SELECT ts FROM stamps ORDER BY id'])
  assert.equal(table, 'ts\n2024-01-02T03:04:05.123456Z\n2024-01-02T03:04:05.500000Z\n')
})

test('sql --format jsonl prints one object per line', (t) => {
  const databaseDirectory = createPeopleDatabase(t)
  const stdout = runStrataOk(['sql', '--db', databaseDirectory, '--format', 'jsonl', selectPeople])
  assert.equal(
    stdout,
    '{"id":1,"name":"Ada, Countess","score":9.5,"active":true,"created_at":"2024-01-01T10:00:00.000000Z"}\n' +
      '{"id":2,"name":"Bob \\"the builder\\"","score":null,"active":false,"created_at":"2024-06-30T23:59:59.123000Z"}\n' +
      '{"id":3,"name":"","score":-2,"active":null,"created_at":null}\n',
  )
})

test('sql --format csv prints a header and RFC 4180 quoting, NULL empty and "" for the empty string', (t) => {
  const databaseDirectory = createPeopleDatabase(t)
  const stdout = runStrataOk(['sql', '--db', databaseDirectory, '--format', 'csv', selectPeople])
  assert.equal(
    stdout,
    'id,name,score,active,created_at\n' +
      '1,"Ada, Countess",9.5,true,2024-01-01T10:00:00.000000Z\n' +
      '2,"Bob ""the builder""",,false,2024-06-30T23:59:59.123000Z\n' +
      '3,"",-2,,\n',
  )
})

test('sql prints a table by default, numbers right-aligned and NULL spelled out', (t) => {
  const databaseDirectory = createPeopleDatabase(t)
  const stdout = runStrataOk(['sql', '--db', databaseDirectory, selectPeople])
  assert.equal(
    stdout,
    [
      '┌────┬───────────────────┬───────┬────────┬─────────────────────────────┐',
      '│ id │ name              │ score │ active │ created_at                  │',
      '├────┼───────────────────┼───────┼────────┼─────────────────────────────┤',
      '│  1 │ Ada, Countess     │   9.5 │ true   │ 2024-01-01T10:00:00.000000Z │',
      '│  2 │ Bob "the builder" │  NULL │ false  │ 2024-06-30T23:59:59.123000Z │',
      '│  3 │                   │    -2 │ NULL   │ NULL                        │',
      '└────┴───────────────────┴───────┴────────┴─────────────────────────────┘',
      '(3 rows)',
      '',
    ].join('\n'),
  )
})

test('sql prints only the last statement of the last argument', (t) => {
  const databaseDirectory = path.join(temporaryDirectory(t), 'db')
  const stdout = runStrataOk([
    'sql',
    '--db',
    databaseDirectory,
    '--format',
    'json',
    'SELECT 1 AS first_value; SELECT 2 AS second_value',
    'SELECT 3 AS third_value; SELECT 4 AS fourth_value',
  ])
  assert.equal(stdout, '[{"fourth_value":4}]\n')
})

test('sql --format json keeps big integers exact', (t) => {
  const databaseDirectory = path.join(temporaryDirectory(t), 'db')
  const stdout = runStrataOk([
    'sql',
    '--db',
    databaseDirectory,
    '--format',
    'json',
    'CREATE TABLE numbers (id INTEGER PRIMARY KEY, amount BIGINT)',
    'INSERT INTO numbers VALUES (1, 9007199254740993), (2, 42)',
    'SELECT amount FROM numbers ORDER BY id',
  ])
  // 2^53 + 1 is not a JS number, so it is written as a string; 42 stays a number.
  assert.equal(stdout, '[{"amount":"9007199254740993"},\n{"amount":42}]\n')
})

test('a write as the last statement prints its row count and transaction', (t) => {
  const databaseDirectory = path.join(temporaryDirectory(t), 'db')
  const stdout = runStrataOk(['sql', '--db', databaseDirectory, createPeople, insertPeople])
  assert.match(stdout, /^OK, 3 rows \(tx \d+\)\n$/)
})

test('the default data directory is ./strata-data in the working directory', (t) => {
  const workingDirectory = temporaryDirectory(t)
  runStrataOk(['sql', 'CREATE TABLE kept (id INTEGER)', 'INSERT INTO kept VALUES (7)'], { cwd: workingDirectory })
  assert.ok(fs.statSync(path.join(workingDirectory, 'strata-data')).isDirectory())
  const stdout = runStrataOk(['sql', '--format', 'csv', 'SELECT id FROM kept'], { cwd: workingDirectory })
  assert.equal(stdout, 'id\n7\n')
})

test('a syntax error exits 1 with SYNTAX_ERROR on stderr and nothing on stdout', (t) => {
  const databaseDirectory = path.join(temporaryDirectory(t), 'db')
  const run = runStrata(['sql', '--db', databaseDirectory, 'SELEC 1'])
  assert.equal(run.status, 1)
  assert.match(run.stderr, /^Error \[SYNTAX_ERROR\]: .*SELEC/)
  assert.equal(run.stdout, '')
})

test('a failing later statement exits 1 with its code, and the earlier ones stay committed', (t) => {
  const databaseDirectory = path.join(temporaryDirectory(t), 'db')
  const run = runStrata(['sql', '--db', databaseDirectory, 'CREATE TABLE present (id INTEGER)', 'SELECT * FROM absent'])
  assert.equal(run.status, 1)
  assert.match(run.stderr, /^Error \[UNDEFINED_TABLE\]: /)
  assert.equal(run.stdout, '')
  assert.equal(runStrataOk(['sql', '--db', databaseDirectory, '--format', 'csv', 'SELECT count(*) AS n FROM present']), 'n\n0\n')
})

test('usage errors exit 2: an unknown option, a bad format, a missing argument or option', (t) => {
  const databaseDirectory = path.join(temporaryDirectory(t), 'db')
  const unknownOption = runStrata(['sql', '--db', databaseDirectory, '--bogus', 'SELECT 1'])
  assert.equal(unknownOption.status, 2)
  assert.match(unknownOption.stderr, /unknown option '--bogus'/)
  assert.equal(unknownOption.stdout, '')

  const badFormat = runStrata(['sql', '--db', databaseDirectory, '--format', 'xml', 'SELECT 1'])
  assert.equal(badFormat.status, 2)
  assert.match(badFormat.stderr, /'xml' is invalid/)

  const missingSql = runStrata(['sql', '--db', databaseDirectory])
  assert.equal(missingSql.status, 2)
  assert.match(missingSql.stderr, /missing required argument 'sql'/)

  const missingTable = runStrata(['import', 'people.csv', '--db', databaseDirectory])
  assert.equal(missingTable.status, 2)
  assert.match(missingTable.stderr, /required option '--table <name>' not specified/)
})

test('--help and --version exit 0 and say what they should', () => {
  const help = runStrata(['--help'])
  assert.equal(help.status, 0)
  for (const command of ['shell', 'sql', 'import', 'export']) assert.match(help.stdout, new RegExp(`\\n  ${command} `))
  const version = runStrata(['--version'])
  assert.equal(version.status, 0)
  const packageJson = JSON.parse(fs.readFileSync(path.resolve('package.json'), 'utf8')) as { version: string }
  assert.equal(version.stdout, `${packageJson.version}\n`)
})

test('import loads a CSV file into a new table', (t) => {
  const directory = temporaryDirectory(t)
  const databaseDirectory = path.join(directory, 'db')
  const csvFile = path.join(directory, 'scores.csv')
  fs.writeFileSync(csvFile, 'id,name,score\n1,Ada,9.5\n2,"Lovelace, Ada",7.25\n3,Bob,4\n')

  const stdout = runStrataOk(['import', csvFile, '--table', 'scores', '--db', databaseDirectory])
  assert.match(stdout, /^Imported 3 rows into scores \(tx [1-9]\d*\)\n$/)

  assert.equal(
    runStrataOk(['sql', '--db', databaseDirectory, '--format', 'json', 'SELECT count(*) AS n FROM scores']),
    '[{"n":3}]\n',
  )
  assert.equal(
    runStrataOk(['sql', '--db', databaseDirectory, '--format', 'csv', 'SELECT id, name, score FROM scores ORDER BY id']),
    'id,name,score\n1,Ada,9.5\n2,"Lovelace, Ada",7.25\n3,Bob,4\n',
  )
})

test('export to Parquet, then import that file into another table: the same rows', (t) => {
  const directory = temporaryDirectory(t)
  const databaseDirectory = createPeopleDatabase(t)
  const parquetFile = path.join(directory, 'people.parquet')

  const exported = runStrataOk(['export', '--table', 'people', parquetFile, '--db', databaseDirectory])
  assert.equal(exported, `Exported 3 rows to ${parquetFile}\n`)
  // Parquet files begin and end with the magic bytes PAR1.
  const parquetBytes = fs.readFileSync(parquetFile)
  assert.equal(parquetBytes.subarray(0, 4).toString('latin1'), 'PAR1')
  assert.equal(parquetBytes.subarray(-4).toString('latin1'), 'PAR1')

  const imported = runStrataOk(['import', parquetFile, '--table', 'people_copy', '--db', databaseDirectory])
  assert.match(imported, /^Imported 3 rows into people_copy \(tx [1-9]\d*\)\n$/)

  const original = runStrataOk(['sql', '--db', databaseDirectory, '--format', 'jsonl', selectPeople])
  const copy = runStrataOk([
    'sql',
    '--db',
    databaseDirectory,
    '--format',
    'jsonl',
    'SELECT id, name, score, active, created_at FROM people_copy ORDER BY id',
  ])
  assert.equal(copy, original)
  assert.equal(copy.split('\n').filter((line) => line !== '').length, 3)
  assert.match(copy, /"name":"Ada, Countess"/)
})

test('export to CSV writes a header and every row', (t) => {
  const directory = temporaryDirectory(t)
  const databaseDirectory = createPeopleDatabase(t)
  const csvFile = path.join(directory, 'people.csv')
  assert.equal(
    runStrataOk(['export', '--table', 'people', csvFile, '--db', databaseDirectory]),
    `Exported 3 rows to ${csvFile}\n`,
  )
  const lines = fs.readFileSync(csvFile, 'utf8').split('\n').filter((line) => line !== '')
  assert.equal(lines[0], 'id,name,score,active,created_at')
  assert.equal(lines.length, 4)
  assert.match(lines[1] ?? '', /^1,"Ada, Countess",9.5,true,/)
})

test('shell from stdin: multi-line statements, .tables, .mode json, errors go to stderr and it carries on', (t) => {
  const databaseDirectory = path.join(temporaryDirectory(t), 'db')
  const script = [
    'CREATE TABLE notes (',
    '  id INTEGER PRIMARY KEY,',
    '  body VARCHAR -- a comment; its semicolon ends nothing',
    ');',
    "INSERT INTO notes VALUES (1, 'semi;colon'),",
    "  (2, 'plain');",
    '.tables',
    'SELECT * FROM no_such_table;',
    '.mode json',
    'SELECT id, body',
    'FROM notes',
    'ORDER BY id;',
    '.mode csv',
    // The last statement has no ';': the end of the input completes it.
    'SELECT count(*) AS n FROM notes',
  ].join('\n')
  const run = runStrata(['shell', '--db', databaseDirectory], { input: script })
  assert.equal(
    run.stdout,
    'notes\n' + '[{"id":1,"body":"semi;colon"},\n{"id":2,"body":"plain"}]\n' + 'n\n2\n',
  )
  assert.match(run.stderr, /^Error \[UNDEFINED_TABLE\]: .*no_such_table/)
  // A script that hit an error exits 1, so `strata shell < script.sql` can fail a build.
  assert.equal(run.status, 1)
})

test('shell: .timer, .schema, .explain, and bad dot commands', (t) => {
  const databaseDirectory = path.join(temporaryDirectory(t), 'db')
  runStrataOk(['sql', '--db', databaseDirectory, 'CREATE TABLE events (id INTEGER PRIMARY KEY, kind VARCHAR)'])
  const script = [
    "INSERT INTO events VALUES (1, 'click'), (2, 'view'), (3, 'click');",
    '.mode csv',
    '.timer on',
    'SELECT kind, count(*) AS n FROM events GROUP BY kind ORDER BY kind;',
    '.timer off',
    '.mode json',
    '.schema events',
    '.explain SELECT kind, count(*) FROM events GROUP BY kind',
    '.mode xml',
    '.frobnicate',
  ].join('\n')
  const run = runStrata(['shell', '--db', databaseDirectory], { input: script })
  const lines = run.stdout.split('\n')
  assert.deepEqual(lines.slice(0, 3), ['kind,n', 'click,2', 'view,1'])
  assert.match(lines[3] ?? '', /^Run Time: \d+\.\d ms \((row|column) store\)$/)

  // DESCRIBE's column names are the engine's business; each column must appear with its type.
  const schemaLine = lines.slice(4).find((line) => line.startsWith('['))
  assert.ok(schemaLine !== undefined, `no .schema output in:\n${run.stdout}`)
  const schemaJson = run.stdout.slice(run.stdout.indexOf(schemaLine))
  const schemaRows = JSON.parse(schemaJson.slice(0, schemaJson.indexOf(']\n') + 1)) as Record<string, unknown>[]
  const described = schemaRows.map((row) => Object.values(row).map(String))
  assert.ok(described.some((values) => values.includes('id') && values.some((value) => value.includes('INT'))))
  assert.ok(described.some((values) => values.includes('kind') && values.some((value) => value.includes('VARCHAR'))))

  // EXPLAIN names the store; an aggregate goes to the column store (SPEC section 5).
  const explainText = run.stdout.slice(run.stdout.indexOf(schemaLine) + schemaJson.indexOf(']\n') + 2)
  assert.match(explainText, /column/i)

  assert.match(run.stderr, /Error \[INVALID_PARAMETER\]: \.mode expects one of table, json, jsonl, csv, not "xml"/)
  assert.match(run.stderr, /Error \[INVALID_PARAMETER\]: unknown command "\.frobnicate"/)
})

test('strata with no command is the shell', (t) => {
  const workingDirectory = temporaryDirectory(t)
  const stdout = runStrataOk([], { input: "SELECT 'hello' AS greeting;\n", cwd: workingDirectory })
  assert.equal(stdout, ['┌──────────┐', '│ greeting │', '├──────────┤', '│ hello    │', '└──────────┘', '(1 row)', ''].join('\n'))
})

// The formatting rules below cannot all be reached through SQL in every store (a Date mutated after it
// was read, non-finite doubles), so they are checked on the built module the binary itself uses.
test('format: timestamps get microseconds, bigints and bytes stay exact, NaN survives JSON', () => {
  assert.equal(formatTimestamp(new Date('2024-01-01T10:00:00Z')), '2024-01-01T10:00:00.000000Z')
  assert.equal(formatTimestamp(new Date('2024-01-01T10:00:00.5Z')), '2024-01-01T10:00:00.500000Z')
  assert.equal(formatTimestamp(new Timestamp(1_704_164_645_123_456n)), '2024-01-02T03:04:05.123456Z')
  assert.equal(formatTimestamp(new Timestamp(-1n)), '1969-12-31T23:59:59.999999Z')
  // A Timestamp whose Date part a setter moved no longer claims its old microseconds.
  const moved = new Timestamp(1_704_164_645_123_456n)
  moved.setTime(0)
  assert.equal(formatTimestamp(moved), '1970-01-01T00:00:00.000000Z')
  assert.equal(toJsonValue(2n ** 60n), '1152921504606846976')
  assert.equal(toJsonValue(-12n), -12)
  assert.equal(toJsonValue(new Uint8Array([0, 1, 255])), '\\x0001ff')
  assert.equal(toJsonValue(Number.NaN), 'NaN')
  assert.deepEqual(toJsonValue({ when: new Date(0), parts: [1n, null] }), {
    when: '1970-01-01T00:00:00.000000Z',
    parts: [1, null],
  })

  const result: QueryResult = {
    rows: [{ '1': 'integer-like name', b: new Uint8Array([171]), note: 'line\nbreak' }],
    columns: [
      { name: 'b', type: 'BLOB' },
      { name: '1', type: 'VARCHAR' },
      { name: 'note', type: 'VARCHAR' },
    ],
    rowCount: 1,
    engine: 'row',
    durationMs: 0.1,
  }
  // Column order is the SELECT list's, even for a name JS objects would sort first.
  assert.equal(formatResult(result, 'json'), '[{"b":"\\\\xab","1":"integer-like name","note":"line\\nbreak"}]\n')
  assert.equal(formatResult(result, 'csv'), 'b,1,note\n\\xab,integer-like name,"line\nbreak"\n')

  assert.equal(
    formatError({ code: 'SYNTAX_ERROR', message: 'syntax error at or near "FORM"', statement: 'SELECT 1\nFORM t', position: 10 }),
    'Error [SYNTAX_ERROR]: syntax error at or near "FORM"\nLINE 2: FORM t\n        ^\n',
  )
})
