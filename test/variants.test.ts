/**
 * Integer variants (src/sql/variants.ts): a text that differs from a parsed one only in its integer
 * constants gets a tree built from that one's instead of a parse — and it must be the parser's own
 * tree, key order and locations included. Every shape below is parsed once, then many texts of it
 * with other integers (seeded) are compared with their real parse; texts whose integers the scanner
 * reads otherwise (too large, leading zeros) must not be variants. Then the same through the
 * PostgreSQL server's simple protocol, where pgbench and ORMs that inline ids meet it: rows, errors and
 * their positions as the texts' own.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import pg from 'pg'
import { Engine } from '../src/engine/engine.js'
import { startPgServer, type PgServer } from '../src/interfaces/server/pg/index.js'
import { splitQuery } from '../src/interfaces/server/pg/statements.js'
import { loadParser, parseStatements, type ParsedStatement } from '../src/sql/parse.js'
import { integerShape, integerVariant, integerVariantsMade, variantKey } from '../src/sql/variants.js'
import { seededRandom } from './helpers.js'

/** Shapes with `?` where integers go; each `?` is filled with a generated integer's text. */
const shapes = [
  'SELECT abalance FROM pgbench_accounts WHERE aid = ?',
  'SELECT abalance FROM pgbench_accounts WHERE aid = ?;',
  '  SELECT a FROM t WHERE id = ? ; ',
  'select a, b from t1 where id = ? and b > ? order by a limit ? offset ?',
  'SELECT a FROM t WHERE id IN (?, ?, ?) AND c = \'x7\' AND d = 1.5',
  'SELECT a FROM t WHERE id = -? OR id = - ? OR id = ?-? OR id = (-?)',
  'SELECT a FROM t WHERE id=-?',
  'SELECT a FROM t WHERE id = ? -- the id 12\n AND /* 34 */ b = ?',
  'SELECT ?, ? AS two, a + ? FROM t ORDER BY ?',
  'SELECT \'ünïcødé €\' AS s, a FROM t WHERE b = ? AND c = \'𝄞\' AND d = ?',
  'SELECT CAST(a AS numeric(?, ?)), b::varchar(?), c::float(30), d::float(7) FROM t WHERE id = ?',
  'SELECT a FROM t WHERE ts > now() - interval \'1 day\' AND id BETWEEN ? AND ?',
  'SELECT CASE WHEN a > ? THEN ? ELSE ? END FROM t FETCH FIRST ? ROWS ONLY',
  'SELECT a FROM t WHERE id = $1 AND b = ?',
  'SELECT count(*) FROM t GROUP BY a HAVING count(*) > ?',
  'SELECT a FROM (SELECT a FROM t WHERE b = ?) AS s WHERE a < ?',
  'INSERT INTO t (id, a) VALUES (?, ?), (?, -?)',
  'UPDATE pgbench_accounts SET abalance = abalance + ? WHERE aid = ?',
  'UPDATE t SET a = a - ? WHERE id = ? RETURNING a, ?',
  'DELETE FROM t WHERE id = ? OR id > ?',
]

/** Integers as a client writes them, and some the scanner reads as something else. */
function integerText(random: () => number): string {
  const choice = random()
  if (choice < 0.05) return '0'
  if (choice < 0.1) return '2147483647'
  if (choice < 0.13) return '2147483648' // a FCONST: not a variant
  if (choice < 0.16) return '99999999999' // a FCONST
  if (choice < 0.19) return '007' // a leading zero: not taken as a variant
  if (choice < 0.5) return String(Math.floor(random() * 10))
  return String(Math.floor(random() * 2147483647))
}

function fill(shape: string, integers: () => string): string {
  return shape.replaceAll('?', () => integers())
}

/** A statement as comparable data: the tree as the parser's JSON (key order counts), where it stands. */
function comparable(statement: ParsedStatement): string {
  return JSON.stringify({ text: statement.text, offset: statement.offset, locationBase: statement.locationBase, tree: statement.tree, parseError: statement.parseError })
}

describe('integer variants', () => {
  before(() => loadParser())

  test('a variant is the tree the parser gives its text, for every shape and many integers', () => {
    const random = seededRandom(11)
    let variants = 0
    for (const shape of shapes) {
      const base = fill(shape, () => String(1 + Math.floor(random() * 1000)))
      const [statement, ...rest] = parseStatements(base)
      assert.equal(rest.length, 0, base)
      const made = integerShape(base, statement!)
      assert.ok(made !== undefined, `a shape for ${base}`)
      for (let round = 0; round < 200; round++) {
        const sql = fill(shape, () => integerText(random))
        const variant = integerVariant(made, sql)
        if (variant === undefined) continue
        variants++
        const parsed = parseStatements(sql)
        assert.equal(parsed.length, 1, sql)
        assert.equal(comparable(variant), comparable(parsed[0]!), sql)
        assert.equal(variant.tokens().map((token) => token.text).join(' '), parsed[0]!.tokens().map((token) => token.text).join(' '), sql)
      }
    }
    // Most texts are variants (those with a too-large or zero-led integer are not).
    assert.ok(variants > shapes.length * 50, `only ${variants} variants`)
  })

  test('integers the scanner reads otherwise, and any other difference, are no variant', () => {
    const base = 'SELECT a FROM t1 WHERE id = 12 AND b = 1.5'
    const shape = integerShape(base, parseStatements(base)[0]!)!
    for (const sql of [
      'SELECT a FROM t1 WHERE id = 2147483648 AND b = 1.5', // past 32 bits: a decimal
      'SELECT a FROM t1 WHERE id = 012 AND b = 1.5',
      'SELECT a FROM t2 WHERE id = 12 AND b = 1.5', // digits that are no site stay as they were
      'SELECT a FROM t1 WHERE id = 12 AND b = 2.5',
      'SELECT a FROM t1 WHERE id = 12 AND b = 1.5 ',
      'SELECT a FROM t1 WHERE id =  12 AND b = 1.5',
      'SELECT a FROM t1 WHERE id = AND b = 1.5',
      'SELECT a FROM t1 WHERE id = 12x AND b = 1.5',
    ]) {
      assert.equal(integerVariant(shape, sql), undefined, sql)
    }
    assert.ok(integerVariant(shape, 'SELECT a FROM t1 WHERE id = 2147483647 AND b = 1.5') !== undefined)
    assert.equal(variantKey(base), variantKey('SELECT a FROM t9 WHERE id = 1234 AND b = 7.25'))
    assert.notEqual(variantKey(base), variantKey('SELECT a FROM t WHERE id = 12 AND b = 1.5'))
  })

  test('constants that are no integer sites: no shape', () => {
    for (const sql of [
      'SELECT a FROM t WHERE id = 1.5', // a decimal
      'SELECT a FROM t WHERE id = 0x1F', // hexadecimal
      'SELECT a FROM t WHERE id = 1_000', // digits with underscores
      'SELECT a FROM t WHERE id = 007',
      'SELECT a FROM t WHERE id = \'12\'', // a string
      'SELECT a::float(30) FROM t', // the grammar picks a type by it: no A_Const
      'SELECT a FROM t2', // digits of a name
      'CREATE TABLE t (a varchar(12))', // not a SELECT/INSERT/UPDATE/DELETE
    ]) {
      const [statement] = parseStatements(sql)
      assert.equal(integerShape(sql, statement!), undefined, sql)
    }
    const both = 'SELECT 1; SELECT 2'
    // The server asks only for a text of one statement; a split one's statements have no shape of their own here either.
    assert.equal(splitQuery(both).length, 2)
  })
})

describe('integer variants through the PostgreSQL server (simple protocol)', () => {
  let engine: Engine
  let server: PgServer
  let client: pg.Client

  before(async () => {
    engine = await Engine.open(':memory:', {})
    await engine.execute(engine.session, 'CREATE TABLE accounts (aid INTEGER PRIMARY KEY, abalance INTEGER, note TEXT)', undefined)
    const rows = Array.from({ length: 100 }, (_, index) => `(${index + 1}, ${(index + 1) * 10}, 'n${index + 1}')`).join(', ')
    await engine.execute(engine.session, `INSERT INTO accounts VALUES ${rows}`, undefined)
    server = await startPgServer(engine, { host: '127.0.0.1', port: 0, auth: { kind: 'trust' }, maxConnections: 4, statementTimeoutMs: 60_000 })
    client = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'test', database: 'test' })
    await client.connect()
  })

  after(async () => {
    await client.end()
    await server.close({ graceMs: 100 })
    await engine.close()
  })

  test('each text of one shape gets its own rows', async () => {
    const made = integerVariantsMade()
    const random = seededRandom(5)
    for (let round = 0; round < 300; round++) {
      const aid = 1 + Math.floor(random() * 120)
      const result = await client.query(`SELECT abalance, note FROM accounts WHERE aid = ${aid}`)
      assert.deepEqual(result.rows, aid <= 100 ? [{ abalance: aid * 10, note: `n${aid}` }] : [], `aid ${aid}`)
    }
    // Texts seen twice are kept whole (splitQuery), so not every one after the first is a variant.
    assert.ok(integerVariantsMade() - made > 100, 'the texts were read as variants')
    for (const [limit, offset] of [[3, 0], [0, 0], [2, 5], [5, 98]] as const) {
      const result = await client.query(`SELECT aid FROM accounts WHERE aid > 10 ORDER BY aid LIMIT ${limit} OFFSET ${offset}`)
      assert.deepEqual(result.rows.map((row: { aid: number }) => row.aid), Array.from({ length: Math.max(0, Math.min(limit, 90 - offset)) }, (_, index) => 11 + offset + index), `LIMIT ${limit} OFFSET ${offset}`)
    }
  })

  test('a literal that changes its kind or its meaning is answered as itself', async () => {
    await client.query('SELECT abalance FROM accounts WHERE aid = 7')
    await client.query('SELECT abalance FROM accounts WHERE aid = 8')
    // Past 32 bits the literal is a decimal: the text is parsed, and compared as PostgreSQL compares it.
    assert.deepEqual((await client.query('SELECT abalance FROM accounts WHERE aid = 2147483648')).rows, [])
    assert.deepEqual((await client.query('SELECT abalance FROM accounts WHERE aid = 9.0')).rows, [{ abalance: 90 }])
    assert.deepEqual((await client.query('SELECT abalance FROM accounts WHERE aid = 9.5')).rows, [])
    assert.deepEqual((await client.query('SELECT abalance FROM accounts WHERE aid = 010')).rows, [{ abalance: 100 }])
    assert.deepEqual((await client.query('SELECT abalance FROM accounts WHERE aid = -3')).rows, [])
    // ORDER BY 1 and ORDER BY 2 name different columns.
    const first = await client.query({ text: 'SELECT aid, 1000 - abalance AS down FROM accounts WHERE aid < 4 ORDER BY 1', rowMode: 'array' })
    const second = await client.query({ text: 'SELECT aid, 1000 - abalance AS down FROM accounts WHERE aid < 4 ORDER BY 2', rowMode: 'array' })
    assert.deepEqual(first.rows, [[1, 990], [2, 980], [3, 970]])
    assert.deepEqual(second.rows, [[3, 970], [2, 980], [1, 990]])
    // A constant that is a result column: its value, and its name PostgreSQL's.
    for (const value of [5, 123456]) {
      const result = await client.query(`SELECT ${value}, aid FROM accounts WHERE aid = 1`)
      assert.deepEqual(result.rows, [{ '?column?': value, aid: 1 }])
    }
    // Writes of one shape: each its own values.
    for (const [delta, aid] of [[5, 1], [-7, 2], [0, 3]] as const) {
      const before = (await client.query(`SELECT abalance FROM accounts WHERE aid = ${aid}`)).rows[0].abalance as number
      const update = await client.query(`UPDATE accounts SET abalance = abalance + ${delta} WHERE aid = ${aid}`)
      assert.equal(update.rowCount, 1)
      assert.equal((await client.query(`SELECT abalance FROM accounts WHERE aid = ${aid}`)).rows[0].abalance, before + delta)
    }
  })

  test('locations in a variant are its own: rewrites at tree locations for the column store, errors', async () => {
    // json_build_object is rewritten for DuckDB at its location, which comes after the integer.
    for (const value of [1000, 1, 123456789]) {
      const result = await client.query(`SELECT aid + ${value} AS n, json_build_object('a', aid) AS j FROM accounts WHERE aid = 5`)
      assert.deepEqual(result.rows, [{ n: 5 + value, j: { a: 5 } }], String(value))
    }
    for (const aid of [1, 22, 333333]) {
      const sql = `SELECT abalance FROM accounts WHERE aid = ${aid} AND nope = 1`
      await assert.rejects(client.query(sql), (error: { code?: string; message?: string }) => error.code === '42703' && /nope/.test(error.message ?? ''), sql)
    }
  })
})
