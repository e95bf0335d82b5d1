/**
 * The user's SQL text is scanned into tokens once at most (src/sql/parse.ts `tokenSource`): the bounds
 * check, the time clauses, the statements' own tokens, full-text DDL, CREATE TABLE AS, `$name`
 * parameters and the PostgreSQL server all take them from one lazy scan, and a plain SELECT costs
 * none. `scannerCalls()` counts the scanner's runs; tokens derived from another scan (a statement's
 * slice, the text left after time clauses are cut, the text after `$name` → `$n`) must be what the
 * scanner itself says of that text.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import pg from 'pg'
import { Engine } from '../src/engine/engine.js'
import { startPgServer, type PgServer } from '../src/interfaces/server/pg/index.js'
import { splitQuery, parameterCount } from '../src/interfaces/server/pg/statements.js'
import type { Catalog, TableDefinition } from '../src/sql/catalog.js'
import { recogniseCreateTableAs } from '../src/sql/create-table-as.js'
import { recogniseCreateFulltextIndex } from '../src/sql/fulltext.js'
import {
  checkStatementLimits,
  loadParser,
  parseStatements,
  positionalizeNamedParameters,
  scannerCalls,
  scanTokens,
  sliceTokenSource,
  tokenSource,
  tokensOf,
  type ScanToken,
} from '../src/sql/parse.js'
import { extractTemporal, planTemporal } from '../src/sql/temporal.js'
import { AssertionError } from '../src/util/assert.js'
import { StrataError } from '../src/util/errors.js'

const table: TableDefinition = {
  name: 't',
  columns: [
    { name: 'id', type: { name: 'INTEGER' }, notNull: true, default: undefined },
    { name: 'a', type: { name: 'VARCHAR' }, notNull: false, default: undefined },
  ],
  primaryKey: ['id'],
  uniques: [],
  checks: [],
  schemaTx: 1,
}
const catalog: Catalog = { tables: new Map([['t', table]]), views: new Map() }

/** Scanner calls made by `body`. */
function scansOf(body: () => void): number {
  const before = scannerCalls()
  body()
  return scannerCalls() - before
}

/** What a token is, for comparing with the scanner's own answer. */
function shape(tokens: readonly ScanToken[]): unknown[] {
  return tokens.map(({ start, end, text, tokenType, tokenName, keywordKind, keywordName }) => ({ start, end, text, tokenType, tokenName, keywordKind, keywordName }))
}

function assertScannerSays(text: string, tokens: readonly ScanToken[], what: string): void {
  assert.deepEqual(shape(tokens), shape(scanTokens(text)), `${what}: ${JSON.stringify(text)}`)
}

before(async () => {
  await loadParser()
})

describe('one scan per text', () => {
  test('a small plain SELECT costs no scan: parsed, checked for time clauses, split by the PostgreSQL server', () => {
    const sql = 'SELECT a, b FROM t WHERE id = 1'
    const scans = scansOf(() => {
      const tokens = tokenSource(sql)
      assert.equal(checkStatementLimits(sql, tokens), undefined)
      assert.equal(extractTemporal(sql, tokens), undefined)
      const [statement] = parseStatements(sql, { limitsChecked: true, tokens })
      assert.ok(statement?.tree !== undefined)
      const [wire] = splitQuery(`${sql} AND a = 'plain'`)
      assert.equal(wire?.kind, 'SelectStmt')
      assert.equal(parameterCount(wire!), 0)
    })
    assert.equal(scans, 0)
  })

  test('limits → time clauses → parse of the cleaned text → temporal plan → $name parameters: one scan', () => {
    const sql = 'SELECT * FROM t FOR SYSTEM_TIME AS OF 3 WHERE id = 1; SELECT 2'
    let plan: ReturnType<typeof planTemporal>
    let statements: ReturnType<typeof parseStatements> = []
    let positional: ReturnType<typeof positionalizeNamedParameters> | undefined
    const scans = scansOf(() => {
      const tokens = tokenSource(sql)
      checkStatementLimits(sql, tokens)
      const extraction = extractTemporal(sql, tokens)
      assert.ok(extraction !== undefined)
      statements = parseStatements(extraction.text, { limitsChecked: true, tokens: extraction.tokens })
      const first = statements[0]!
      plan = planTemporal(first.tree!, first.text, first.locationBase, catalog, { tableClauses: extraction.tableClauses, shorthand: undefined }, () => false, first.tokens)
      positional = positionalizeNamedParameters(sql, tokens)
    })
    assert.equal(scans, 1)
    assert.deepEqual(statements.map((statement) => statement.text), ['SELECT * FROM t   WHERE id = 1', 'SELECT 2'])
    const reference = [...plan!.references.values()][0]
    assert.equal(reference?.table.name, 't')
    assert.equal(reference?.nameLength, 1)
    assert.deepEqual(reference?.spec, { system: { kind: 'asOf', at: { text: '3', position: 38 } } })
    assert.deepEqual(positional?.names, [])
    assert.equal(positional?.sql, sql)
  })

  test('a text the bounds check scans (over the depth bound) fills the source for everyone after it', () => {
    const columns = Array.from({ length: 120 }, (_, index) => `c${index}`).join(', ')
    const sql = `SELECT ${columns} FROM t FOR SYSTEM_TIME AS OF 3; SELECT 1`
    let checked: readonly ScanToken[] | undefined
    let statementTokens: readonly ScanToken[] = []
    const tokens = tokenSource(sql)
    const scans = scansOf(() => {
      checked = checkStatementLimits(sql, tokens)
      const extraction = extractTemporal(sql, tokens)!
      const statements = parseStatements(extraction.text, { limitsChecked: true, tokens: extraction.tokens })
      statementTokens = statements[1]!.tokens()
    })
    assert.equal(scans, 1)
    assert.ok(checked !== undefined, 'the bounds check scanned')
    assert.equal(tokens(), checked, 'the source holds what the bounds check scanned')
    assert.deepEqual(statementTokens.map((token) => token.text), ['SELECT', '1'])
  })

  test('$name parameters first (as the engine does), then the pipeline on the rewritten text: one scan', () => {
    const sql = 'SELECT * FROM t FOR SYSTEM_TIME AS OF $at WHERE id = $id; SELECT $id'
    let rewritten: ReturnType<typeof positionalizeNamedParameters> | undefined
    let texts: string[] = []
    const scans = scansOf(() => {
      rewritten = positionalizeNamedParameters(sql, tokenSource(sql))
      checkStatementLimits(rewritten.sql, rewritten.tokens)
      const extraction = extractTemporal(rewritten.sql, rewritten.tokens)!
      const statements = parseStatements(extraction.text, { limitsChecked: true, tokens: extraction.tokens })
      texts = statements.map((statement) => statement.text)
      for (const statement of statements) statement.tokens()
    })
    assert.equal(scans, 1)
    assert.equal(rewritten?.sql, 'SELECT * FROM t FOR SYSTEM_TIME AS OF $1 WHERE id = $2; SELECT $2')
    assert.deepEqual(rewritten?.names, ['at', 'id'])
    assert.deepEqual(texts, ['SELECT * FROM t   WHERE id = $2', 'SELECT $2'])
  })

  test('CREATE FULLTEXT INDEX and CREATE TABLE AS recognised from the statements\' tokens: one scan', () => {
    const sql = "CREATE FULLTEXT INDEX docs_body ON docs (body); CREATE TABLE c AS SELECT * FROM 'f.parquet'"
    let fulltext: ReturnType<typeof recogniseCreateFulltextIndex>
    let createTableAs: ReturnType<typeof recogniseCreateTableAs>
    const scans = scansOf(() => {
      const [index, copy] = parseStatements(sql)
      assert.equal(index?.tree, undefined, 'PostgreSQL rejects it')
      fulltext = recogniseCreateFulltextIndex(index!.text, index!.tokens)
      assert.equal(recogniseCreateTableAs(index!.text, index!.tokens), undefined)
      createTableAs = recogniseCreateTableAs(copy!.text, copy!.tokens)
    })
    assert.equal(scans, 1)
    assert.deepEqual(fulltext, { name: 'docs_body', ifNotExists: false, table: 'docs', columns: ['body'] })
    assert.deepEqual(createTableAs, { name: 'c', ifNotExists: false, columnNames: [], query: "SELECT * FROM 'f.parquet'" })
  })

  test('the PostgreSQL server: statements PostgreSQL rejects take their first keyword and parameter count from the one scan', () => {
    let kinds: string[] = []
    let counts: number[] = []
    const scans = scansOf(() => {
      const statements = splitQuery('CREATE FULLTEXT INDEX ON docs (body); FROM t SELECT $3 -- one scan only')
      kinds = statements.map((statement) => statement.kind)
      counts = statements.map(parameterCount)
    })
    assert.equal(scans, 1)
    assert.deepEqual(kinds, ['CREATE', 'FROM'])
    assert.deepEqual(counts, [0, 3])
  })

  test('a source scans on its first call only, and remembers a scanner error', () => {
    const tokens = tokenSource('SELECT 1')
    assert.equal(scansOf(() => assert.equal(tokens(), tokens())), 1)
    const unterminated = tokenSource("SELECT 'abc")
    const scans = scansOf(() => {
      for (let attempt = 0; attempt < 2; attempt++) assert.throws(unterminated, (error) => error instanceof StrataError && error.code === 'SYNTAX_ERROR')
      // The statement split from it (the scanner refuses the whole text) throws the same without scanning.
      const [statement] = parseStatements("SELECT 'abc", { tokens: unterminated })
      assert.throws(() => statement!.tokens(), (error) => error instanceof StrataError && error.code === 'SYNTAX_ERROR')
    })
    assert.equal(scans, 1)
  })

  test('known tokens are not scanned again; tokens of another text are our bug, not a text to pass over', () => {
    const known = scanTokens('SELECT 1')
    assert.equal(scansOf(() => assert.equal(tokenSource('SELECT 1', known)(), known)), 0)
    assert.throws(() => tokenSource('VALUES (2)', known), AssertionError)
    assert.throws(() => tokensOf('VALUES (2)', () => known), AssertionError)
    assert.throws(() => recogniseCreateFulltextIndex('VALUES (2)', () => known), AssertionError)
    assert.throws(() => extractTemporal('VALUES (2) AS OF 1', () => known), AssertionError)
  })
})

describe('derived tokens are the scanner\'s own', () => {
  const texts = [
    'SELECT * FROM t FOR SYSTEM_TIME AS OF 3 WHERE id = 1; SELECT 2',
    "SELECT 'é😀' AS x; SELECT \"naïve\" FROM t FOR SYSTEM_TIME AS OF 3 -- ünï 😀\n WHERE a = '𝒳'",
    "/* lead ☃ */ SELECT 'a\nb' AS s -- trailing\n; SELECT $$x\ny$$ FROM t AS OF now() - INTERVAL '1 day' VALID AT 5",
    "ERASE FROM t WHERE id = 1; erase from \"t\" where a = 'ö\n'",
    "INSERT OR REPLACE INTO t VALUES (1, 'a'); insert  or\nreplace into t (id, a) values ($id, $name)",
    "UPDATE t FOR PORTION OF VALID_TIME FROM '2020-01-01' TO '2021-01-01' SET a = 'ü' WHERE id = $k",
    'SELECT * FROM t AS x FOR ALL SYSTEM_TIME JOIN main.t FOR VALID_TIME BETWEEN 1 AND 2 FOR SYSTEM_TIME FROM 1 TO $to ON x.id = t.id',
    "FROM t SELECT 'ö'; DESCRIBE t; SELECT $a::int, $b",
    'SELECT 1 AS a\u00A0; SELECT 2 AS b',
    `SELECT '${'z'.repeat(5_000)}' AS s, $$${'w'.repeat(3_000)}$$; SELECT $p FROM t FOR SYSTEM_TIME AS OF 1`,
    '  \n; ;SELECT 1;  ',
  ]

  for (const sql of texts) {
    test(JSON.stringify(sql.length > 80 ? `${sql.slice(0, 40)}…${sql.slice(-40)}` : sql), () => {
      const tokens = tokenSource(sql)
      for (const statement of parseStatements(sql, { tokens })) assertScannerSays(statement.text, statement.tokens(), 'a statement of the text')
      const extraction = extractTemporal(sql, tokens)
      if (extraction !== undefined) {
        assertScannerSays(extraction.text, extraction.tokens(), 'the text left after the time clauses')
        for (const statement of parseStatements(extraction.text, { tokens: extraction.tokens })) assertScannerSays(statement.text, statement.tokens(), 'a statement of the cleaned text')
      }
      const rewritten = positionalizeNamedParameters(sql, tokens)
      assertScannerSays(rewritten.sql, rewritten.tokens(), 'the text with $n for $name')
      const again = extractTemporal(rewritten.sql, rewritten.tokens)
      if (again !== undefined) assertScannerSays(again.text, again.tokens(), 'the rewritten text left after the time clauses')
    })
  }

  test('ERASE becomes the scanner\'s DELETE keyword, and INSERT OR REPLACE keeps INSERT as written', () => {
    const erase = extractTemporal('erase FROM t WHERE id = 1')!
    assert.equal(erase.text, 'DELETE FROM t WHERE id = 1')
    assert.deepEqual(shape(erase.tokens().slice(0, 1)), shape(scanTokens('DELETE')))
    const replace = extractTemporal('insert or replace into t VALUES (1)')!
    assert.deepEqual(replace.tokens().map((token) => token.text), ['insert', 'into', 't', 'VALUES', '(', '1', ')'])
    assert.equal(replace.text, 'insert   into t VALUES (1)')
    assert.deepEqual(replace.tokens().map((token) => token.start), [0, 9, 14, 16, 23, 24, 25])
  })

  test('a slice starting inside the text shifts every offset (UTF-16 indexes)', () => {
    const whole = tokenSource("SELECT 'é😀'; SELECT x")
    const sliced = sliceTokenSource(whole, 14, 'SELECT x')()
    assert.deepEqual(sliced.map((token) => [token.start, token.end, token.text]), [
      [0, 6, 'SELECT'],
      [7, 8, 'x'],
    ])
  })
})

describe('through the engine and the PostgreSQL server: one scan per text at most', () => {
  let engine: Engine
  let server: PgServer

  before(async () => {
    engine = await Engine.open(':memory:', {})
    await engine.execute(engine.session, "CREATE TABLE docs (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO docs VALUES (1, 'hello world'), (2, 'bye')", undefined)
    server = await startPgServer(engine, { host: '127.0.0.1', port: 0, auth: { kind: 'trust' }, maxConnections: 4, statementTimeoutMs: 60_000 })
  })

  after(async () => {
    await server.close({ graceMs: 100 })
    await engine.close()
  })

  /** Scanner calls made while `body` runs. */
  async function scansDuring(body: () => Promise<unknown>): Promise<number> {
    const before = scannerCalls()
    await body()
    return scannerCalls() - before
  }

  test('a plain point read, a write and a time-travel lookup by key through execute', async () => {
    assert.equal(await scansDuring(() => engine.execute(engine.session, 'SELECT body FROM docs WHERE id = 1', undefined)), 0)
    assert.equal(await scansDuring(() => engine.execute(engine.session, "UPDATE docs SET body = 'hello there' WHERE id = 1", undefined)), 0)
    const [past] = await engine.execute(engine.session, 'SELECT body FROM docs FOR SYSTEM_TIME AS OF 2 WHERE id = 1', undefined)
    assert.deepEqual(past!.rows, [{ body: 'hello world' }])
    assert.equal(past!.engine, 'row')
    assert.equal(await scansDuring(() => engine.execute(engine.session, 'SELECT body FROM docs FOR SYSTEM_TIME AS OF 2 WHERE id = 2', undefined)), 1)
    // Cached by text: no scan the second time.
    assert.equal(await scansDuring(() => engine.execute(engine.session, 'SELECT body FROM docs FOR SYSTEM_TIME AS OF 2 WHERE id = 2', undefined)), 0)
  })

  test('$name parameters: one scan the first time, none after', async () => {
    const sql = 'SELECT body FROM docs WHERE id = $id AND body <> $other'
    assert.equal(await scansDuring(() => engine.execute(engine.session, sql, { id: 2, other: 'x' })), 1)
    const [result] = await engine.execute(engine.session, sql, { id: 2, other: 'x' })
    assert.deepEqual(result!.rows, [{ body: 'bye' }])
    assert.equal(await scansDuring(() => engine.execute(engine.session, sql, { id: 1, other: 'x' })), 0)
  })

  test('CREATE FULLTEXT INDEX and an unsupported statement scan their text once', async () => {
    assert.equal(await scansDuring(() => engine.execute(engine.session, 'CREATE FULLTEXT INDEX docs_body ON docs (body)', undefined)), 1)
    let failure: unknown
    const scans = await scansDuring(async () => {
      try {
        await engine.execute(engine.session, 'CREATE FUNCTION f() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql', undefined)
      } catch (error) {
        failure = error
      }
    })
    assert.ok(failure instanceof StrataError && failure.code === 'NOT_SUPPORTED', String(failure))
    assert.match(failure.message, /CREATE FUNCTION/)
    assert.equal(scans, 1)
  })

  test('psql-style simple queries: the server splits, the engine runs what it split, one scan at most', async () => {
    const connection = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'tester', database: 'strata' })
    await connection.connect()
    try {
      assert.equal(await scansDuring(() => connection.query('SELECT id, body FROM docs WHERE id = 2')), 0)
      let past: pg.QueryResult | undefined
      const scans = await scansDuring(async () => {
        past = await connection.query('SELECT id, body FROM docs FOR SYSTEM_TIME AS OF 2 WHERE id = 1')
      })
      assert.deepEqual(past!.rows, [{ id: 1, body: 'hello world' }])
      assert.equal(scans, 1)
      assert.equal(await scansDuring(() => connection.query('BEGIN; SELECT body FROM docs FOR SYSTEM_TIME ALL WHERE id = 1; COMMIT')), 1)
    } finally {
      await connection.end()
    }
  })
})
