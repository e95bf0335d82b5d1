/**
 * Plan templates per literal-normalized fingerprint (src/sql/fingerprint.ts): a SELECT that differs
 * from a remembered one only in its constants reuses its plan with the new constants bound — and the
 * answer must be byte for byte the one the ordinary path gives. Each statement runs on an engine with
 * templates and on one without; results (rows with their JS types, columns, counts, store) and errors
 * (code, message, position) must be identical. Literal variants cover what makes a literal differ
 * from a parameter in Strata: integers at every width's edges, negatives, fractional values against
 * integer and DECIMAL columns, digits past 2^53 and past BIGINT, exponents, strings that are or are not
 * values of the column's type, NULL, booleans, bit strings, typed literals, LIMIT/OFFSET.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import pg from 'pg'
import { Engine } from '../src/engine/engine.js'
import { startPgServer, type PgServer } from '../src/interfaces/server/pg/index.js'
import { fingerprintHash, matchConstants, templatesServed } from '../src/sql/fingerprint.js'
import { loadParser, parseTree } from '../src/sql/parse.js'
import type { PgNode } from '../src/sql/parse.js'
import { StrataError } from '../src/util/errors.js'
import { canonical } from './fuzz/values.js'
import { seededRandom } from './helpers.js'

function tree(sql: string): PgNode {
  return (parseTree(sql)['stmts'] as { stmt: PgNode }[])[0]!.stmt
}

describe('fingerprints', () => {
  before(() => loadParser())

  test('trees that differ only in constants (and where things are) share one; anything else does not', () => {
    const base = tree('SELECT a FROM t WHERE id = 1 AND s = \'x\' LIMIT 10')
    const same = tree('SELECT a  FROM t WHERE id = 123456 AND s = \'a much longer string\' LIMIT 0')
    assert.equal(fingerprintHash(base), fingerprintHash(same))
    const constants = matchConstants(base, same)
    assert.deepEqual(
      constants?.map((constant) => ({ ...constant, location: undefined })),
      [{ ival: { ival: 123456 }, location: undefined }, { sval: { sval: 'a much longer string' }, location: undefined }, { ival: {}, location: undefined }],
    )
    for (const other of [
      'SELECT a FROM t WHERE id = 1.5 AND s = \'x\' LIMIT 10', // another variant (decimal, not integer)
      'SELECT a FROM t WHERE id = NULL AND s = \'x\' LIMIT 10',
      'SELECT a FROM t WHERE id = 1 AND s = \'x\' LIMIT ALL',
      'SELECT b FROM t WHERE id = 1 AND s = \'x\' LIMIT 10',
      'SELECT a FROM t WHERE id < 1 AND s = \'x\' LIMIT 10',
      'SELECT a FROM t WHERE id = 1 AND s = \'x\' LIMIT 10 OFFSET 1',
      'SELECT a FROM t AS t WHERE id = 1 AND s = \'x\' LIMIT 10',
      'SELECT a FROM t WHERE id = 1::bigint AND s = \'x\' LIMIT 10',
    ]) {
      assert.equal(matchConstants(base, tree(other)), undefined, other)
    }
  })
})

/** One answer of a statement, as text: every JS type kept (1, 1n, '1', -0 differ), or the error. */
async function outcome(engine: Engine, sql: string, params?: unknown[]): Promise<string> {
  try {
    const results = await engine.execute(engine.session, sql, params, { rowMode: 'array' })
    return results
      .map((result) => JSON.stringify({ columns: result.columns, rowCount: result.rowCount, engine: result.engine, rows: result.rows.map((row) => row.map(canonical)) }))
      .join('\n')
  } catch (error) {
    if (!(error instanceof StrataError)) throw error
    return JSON.stringify({ code: error.code, message: error.message, position: error.position, statement: error.statement })
  }
}

const setup = `
  CREATE TABLE v (
    id INTEGER PRIMARY KEY, s SMALLINT, i INTEGER, b BIGINT, r REAL, d DOUBLE, m DECIMAL(10,2), w DECIMAL(18,4),
    x DECIMAL(30,5), t VARCHAR, j JSON, f BOOLEAN, dt DATE, ts TIMESTAMP, tz TIMESTAMPTZ, bl BLOB, nn INTEGER NOT NULL
  );
  INSERT INTO v VALUES
    (1, 1, 1, 1, 1.5, 1.5, 1.00, 1.0000, 1.00000, '1', '1', true, '2024-01-01', '2024-01-01 10:00:00', '2024-01-01 10:00:00+00', '\\x01', 1),
    (2, -1, -1, -1, -1.5, -1.5, -1.50, -1.2500, -1.50000, 'abc', '{"a":1}', false, '2023-12-31', '2023-12-31 23:59:59.999999', '2024-01-01 08:00:00+00', '\\x1f', 2),
    (3, 32767, 2147483647, 9223372036854775807, 3.4e38, 1e308, 99999999.99, 99999999999999.9999, 1234567890123456789012345.12345, '', '[]', NULL, '0001-01-01', '0001-01-01 00:00:00', '2000-01-01 00:00:00+00', '\\x00ff', 3),
    (4, -32768, -2147483648, -9223372036854775808, -3.4e38, -1e308, -99999999.99, -99999999999999.9999, -1234567890123456789012345.12345, 'a%', 'null', true, '9999-12-31', '9999-12-31 23:59:59', '2099-01-01 00:00:00+00', '\\xff', 4),
    (5, 0, 0, 0, 0, 0.30000000000000004, 0.00, 0.0000, 0.00000, '%b%', '"s"', false, '2024-02-29', '2024-02-29 12:00:00', '2024-02-29 12:00:00+00', '\\x00', 5),
    (6, 2, 2, 9007199254740993, 2.5, 2.5, 2.50, 1.2550, 12345678901234567.50000, '2', '2', true, '2024-01-02', '2024-01-01 10:00:00.5', '2024-01-01 10:00:00+02', '\\x0102', 6),
    (7, 42, 42, 42, 42, 42, 42.00, 42.0000, 42.00000, '1.5', '1.5', NULL, NULL, NULL, NULL, NULL, 7),
    (8, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 8),
    (9, 100, 100, 100, 100, 100, 100.00, 100.0000, 100.00000, '2024-01-01', '100', false, '2024-01-01', '2024-01-01 00:00:00', '2024-01-01 00:00:00+00', '\\x41', 9),
    (10, 3, 3, -9007199254740993, 1.25, 1.25, 1.25, 1.2500, 1.25000, 'abcd', '{"b":[1,2]}', true, '2024-03-01', '2024-03-01 00:00:00', '2024-03-01 00:00:00+00', '\\x42', 10)
`

/** Constants of every kind that makes a literal mean something of its own in Strata. */
const literals = [
  '0', '1', '-1', '2', '42', '100', '32767', '32768', '-32769', '2147483647', '2147483648', '-2147483649',
  '9007199254740993', '9223372036854775807', '9223372036854775808', '-9223372036854775809', '99999999999999999999',
  '1.5', '-1.5', '0.5', '2.0', '1.25', '1.255', '1.00', '100.00', '-0.0', '0.001', '99999999.99', '99999999.995', '1e2', '1.5e0', '2.5E-1',
  '0.30000000000000004', '12345678901234567.5', '1234567890123456789012345.12345', '1e400',
  "'1'", "'2'", "'-1'", "'1.5'", "'abc'", "''", "'a%'", "'%b%'", "'2024-01-01'", "'2024-01-01 10:00:00'", "'2024-01-01T10:00:00+02:00'", "'{\"a\":1}'", "'true'", "'\\x01'",
  'NULL', 'true', 'false', "B'101'", "X'1F'",
]

/** Statement shapes: each `?` is filled with a literal. */
const columns = ['id', 's', 'i', 'b', 'r', 'd', 'm', 'w', 'x', 't', 'j', 'f', 'dt', 'ts', 'tz', 'bl']
const shapes = [
  'SELECT * FROM v WHERE id = ?',
  ...columns.map((column) => `SELECT id, ${column} FROM v WHERE ${column} = ?`),
  ...['i', 'm', 'w', 'd', 't', 'ts'].flatMap((column) => ['<>', '<=', '>'].map((op) => `SELECT id FROM v WHERE ${column} ${op} ? ORDER BY id`)),
  'SELECT id FROM v WHERE ? < i',
  'SELECT id FROM v WHERE ? = m',
  'SELECT id FROM v WHERE i IN (?, ?, ?)',
  'SELECT id FROM v WHERE m NOT IN (?, ?)',
  'SELECT id FROM v WHERE t IN (?, ?)',
  'SELECT id FROM v WHERE i BETWEEN ? AND ?',
  'SELECT id FROM v WHERE w NOT BETWEEN ? AND ?',
  'SELECT id FROM v WHERE t LIKE ?',
  'SELECT id FROM v WHERE t NOT LIKE ?',
  'SELECT id FROM v ORDER BY id LIMIT ?',
  'SELECT id FROM v ORDER BY id LIMIT ? OFFSET ?',
  'SELECT id FROM v ORDER BY id OFFSET ?',
  'SELECT id, m FROM v WHERE i >= ? AND m < ? ORDER BY m DESC NULLS FIRST, id LIMIT ?',
  'SELECT id FROM v WHERE i = ? OR d = ? OR t = ?',
  'SELECT id FROM v WHERE NOT (b > ?)',
  'SELECT id FROM v WHERE (i > ?) IS NULL',
  'SELECT id FROM v WHERE i IS NULL AND id = ?',
  'SELECT id FROM v WHERE ?',
  'SELECT id FROM v WHERE f = ? AND id > ?',
  'SELECT coalesce(i, ?) AS c FROM v WHERE id = ?',
  'SELECT coalesce(t, ?) AS c FROM v ORDER BY id',
  'SELECT id FROM v WHERE t = ? || ?',
  'SELECT id FROM v WHERE i = ?::INTEGER',
  'SELECT id FROM v WHERE m = ?::DECIMAL(10,2)',
  'SELECT id FROM v WHERE ts < ?::TIMESTAMP',
  'SELECT id FROM v WHERE i + 1 > ?',
  'SELECT count(*) FROM v WHERE i > ?',
  'SELECT id, ? AS k FROM v WHERE id = 1',
  'SELECT id FROM v WHERE nn = ? AND i = $1',
]

/** Each `?` of `shape` filled in turn from `values`. */
function fill(shape: string, values: readonly string[]): string {
  let index = 0
  return shape.replace(/\?/g, () => values[index++]!)
}

describe('plan templates answer as the ordinary path, byte for byte', () => {
  let templated: Engine
  let plain: Engine

  before(async () => {
    templated = await Engine.open(':memory:', {})
    plain = await Engine.open(':memory:', { planTemplates: false })
    for (const engine of [templated, plain]) await engine.execute(engine.session, setup, undefined)
  })

  after(async () => {
    await templated.close()
    await plain.close()
  })

  /** Runs `sql` on both engines and requires the same answer. */
  async function same(sql: string, params?: unknown[]): Promise<void> {
    const [withTemplates, without] = [await outcome(templated, sql, params), await outcome(plain, sql, params)]
    assert.equal(withTemplates, without, sql)
  }

  test('every shape × literal, with templates made from several different constants', async () => {
    const random = seededRandom(11)
    const served = templatesServed()
    let statements = 0
    for (const [shapeIndex, shape] of shapes.entries()) {
      const holes = shape.split('?').length - 1
      const params = shape.includes('$1') ? [2] : undefined
      const combos = holes === 1 ? literals.map((literal) => [literal]) : Array.from({ length: 40 }, () => Array.from({ length: holes }, () => literals[Math.floor(random() * literals.length)]!))
      // The template's own constants decide what it pins and records: make it from several.
      const bases = [['1'], ['1.5'], ["'abc'"], ['2147483648', 'NULL']].map((base) => Array.from({ length: holes }, (_, index) => base[index % base.length]!))
      for (const [baseIndex, base] of bases.entries()) {
        // A new fingerprint per base (the alias), seen twice (two texts) so that its template is made.
        const aliased = shape.replace(/FROM v/, `FROM v AS q${shapeIndex}_${baseIndex}`)
        await same(fill(aliased, base), params)
        await same(`${fill(aliased, base)} `, params)
        for (const combo of combos) {
          await same(fill(aliased, combo), params)
          statements++
        }
      }
    }
    const hits = templatesServed() - served
    // Many statements are served by a template (the others have another fingerprint — a constant of
    // another variant — or differ where the plan depends on the constant).
    assert.ok(hits > statements / 6, `${hits} of ${statements} statements served by a template`)
  })

  test('a schema change is never answered with the old plan', async () => {
    for (const engine of [templated, plain]) await engine.execute(engine.session, 'CREATE TABLE c (id INTEGER PRIMARY KEY, k INTEGER); INSERT INTO c VALUES (1, 1), (2, 2)', undefined)
    await same('SELECT * FROM c WHERE k = 1')
    await same('SELECT * FROM c WHERE k = 2')
    await same('SELECT * FROM c WHERE k = 1.5')
    for (const engine of [templated, plain]) await engine.execute(engine.session, "DROP TABLE c; CREATE TABLE c (id INTEGER PRIMARY KEY, k DECIMAL(10,1)); INSERT INTO c VALUES (1, 1.5), (2, 2)", undefined)
    for (const literal of ['1', '2', '1.5', '1.55', "'1.5'"]) await same(`SELECT * FROM c WHERE k = ${literal}`)
    for (const engine of [templated, plain]) await engine.execute(engine.session, "DROP TABLE c; CREATE TABLE c (id INTEGER PRIMARY KEY, k VARCHAR); INSERT INTO c VALUES (1, '1.5'), (2, '2')", undefined)
    for (const literal of ['1', '2', "'2'", '1.5', "'1.5'"]) await same(`SELECT * FROM c WHERE k = ${literal}`)
  })

  test('inside a transaction a template reads the transaction\'s own writes; time clauses are never templated away', async () => {
    await same('SELECT id, i FROM v WHERE id = 1')
    await same('SELECT id, i FROM v WHERE id = 2')
    for (const engine of [templated, plain]) await engine.execute(engine.session, 'BEGIN; UPDATE v SET i = 77 WHERE id = 3', undefined)
    await same('SELECT id, i FROM v WHERE id = 3')
    for (const engine of [templated, plain]) await engine.execute(engine.session, 'ROLLBACK', undefined)
    await same('SELECT id, i FROM v WHERE id = 3')
    await same('SELECT id, i FROM v FOR SYSTEM_TIME AS OF 1 WHERE id = 4')
    await same('SELECT id, i FROM v FOR SYSTEM_TIME ALL WHERE id = 5')
  })
})

describe('through the PostgreSQL server (simple protocol): the same bytes on the wire', () => {
  let templated: { engine: Engine; server: PgServer; client: pg.Client }
  let plain: { engine: Engine; server: PgServer; client: pg.Client }

  async function start(planTemplates: boolean): Promise<{ engine: Engine; server: PgServer; client: pg.Client }> {
    const engine = await Engine.open(':memory:', { planTemplates })
    await engine.execute(engine.session, setup, undefined)
    const server = await startPgServer(engine, { host: '127.0.0.1', port: 0, auth: { kind: 'trust' }, maxConnections: 4, statementTimeoutMs: 60_000 })
    // Every value as the text the server sent.
    const client = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'test', database: 'test', types: { getTypeParser: () => (text: string) => text } })
    await client.connect()
    return { engine, server, client }
  }

  before(async () => {
    templated = await start(true)
    plain = await start(false)
  })

  after(async () => {
    for (const side of [templated, plain]) {
      await side.client.end()
      await side.server.close({ graceMs: 100 })
      await side.engine.close()
    }
  })

  async function wire(client: pg.Client, sql: string): Promise<string> {
    try {
      const result = await client.query({ text: sql, rowMode: 'array' })
      return JSON.stringify({ command: result.command, rowCount: result.rowCount, fields: result.fields.map((field) => [field.name, field.dataTypeID, field.dataTypeSize, field.dataTypeModifier, field.format]), rows: result.rows })
    } catch (error) {
      const failure = error as { code?: string; message?: string; position?: string; detail?: string }
      return JSON.stringify({ code: failure.code, message: failure.message, position: failure.position, detail: failure.detail })
    }
  }

  test('point reads and ranges with every literal', async () => {
    const served = templatesServed()
    for (const shape of ['SELECT * FROM v WHERE id = ?', 'SELECT id, m, w FROM v WHERE m > ? ORDER BY id', 'SELECT t, id FROM v WHERE t = ?', 'SELECT id FROM v ORDER BY id LIMIT ?', 'SELECT coalesce(i, ?) AS c FROM v WHERE id = 1']) {
      for (const literal of ['1', ...literals]) {
        const sql = fill(shape, [literal])
        assert.equal(await wire(templated.client, sql), await wire(plain.client, sql), sql)
      }
    }
    assert.ok(templatesServed() - served > 50, 'the server\'s statements were served by templates')
  })
})
