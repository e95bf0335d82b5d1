/**
 * Bounds on what reaches the SQL parser (src/util/limits.ts, checked on the scanner's tokens before the
 * parse) and the parser's recovery from a fault inside its WebAssembly instance (src/sql/wasm.ts).
 * The servers' side (a later write still works after oversized requests) is in http.test.ts and
 * pgwire.test.ts.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { open, StrataError, type Database } from '../src/index.js'
import { checkStatementLimits, measureStatement, parseStatements, scanTokens } from '../src/sql/parse.js'
import { loadParserSpare, parseRaw, parserFaults } from '../src/sql/wasm.js'
import { limits } from '../src/util/limits.js'
import { seededRandom } from './helpers.js'

async function failure(promise: Promise<unknown>): Promise<StrataError> {
  try {
    await promise
  } catch (error) {
    assert.ok(error instanceof StrataError, `a StrataError, not ${String(error)}`)
    return error
  }
  assert.fail('expected the statement to fail')
}

async function withTable(body: (db: Database) => Promise<void>): Promise<void> {
  await using db = await open()
  await db.query('CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, s TEXT)')
  await db.query("INSERT INTO t VALUES (1, 1, 'x')")
  await body(db)
}

/** A later write and read on the same process still work (the parser was not left broken). */
async function stillWrites(db: Database, id: number): Promise<void> {
  const written = await db.query('INSERT INTO t VALUES ($1, $2, $3)', [id, id, 'later'])
  assert.equal(written.rowCount, 1)
  assert.deepEqual((await db.query('SELECT s FROM t WHERE id = $1', [id])).rows, [{ s: 'later' }])
}

const chain = (terms: number, operator = '+'): string => `SELECT ${Array.from({ length: terms }, () => '1').join(operator)} AS n`

describe('limits on what reaches the parser', () => {
  test('a 10,000-deep parenthesised expression, a 10,000-term 1+1+… and a 100,000-element IN list are refused with LIMIT_EXCEEDED; later writes work', async () => {
    await withTable(async (db) => {
      const deep = await failure(db.query(`SELECT ${'('.repeat(10_000)}1${')'.repeat(10_000)} AS n`))
      assert.equal(deep.code, 'LIMIT_EXCEEDED')
      assert.match(deep.message, /nest .* levels deep .*the limit is 100/)
      assert.equal(deep.position, 'SELECT '.length + limits.expressionDepthMax + 1, 'the position of the first parenthesis past the limit')
      const started = performance.now()
      const terms = await failure(db.query(chain(10_000)))
      assert.equal(terms.code, 'LIMIT_EXCEEDED')
      assert.ok(performance.now() - started < 5_000, 'refused without parsing (it used to take minutes)')
      const inList = await failure(db.query(`SELECT * FROM t WHERE a IN (${Array.from({ length: 100_000 }, (_, index) => index).join(', ')})`))
      assert.equal(inList.code, 'LIMIT_EXCEEDED')
      assert.match(inList.message, /tokens; the limit is 100000/)
      await stillWrites(db, 2)
    })
  })

  test('the depth limit is exact: 100 chained operators run, 101 are refused; flat AND/OR and IN lists do not count', async () => {
    await withTable(async (db) => {
      assert.equal(measureStatement(chain(101)).depth, 100)
      assert.deepEqual((await db.query(chain(101))).rows, [{ n: 101 }])
      assert.equal((await failure(db.query(chain(102)))).code, 'LIMIT_EXCEEDED')
      const nested = (levels: number): string => `SELECT ${'(SELECT '.repeat(levels)}1${')'.repeat(levels)} AS n`
      assert.equal(measureStatement(nested(100)).depth, 100)
      assert.equal((await failure(db.query(nested(101)))).code, 'LIMIT_EXCEEDED')
      const orList = `SELECT count(*) AS n FROM t WHERE ${Array.from({ length: 3_000 }, (_, index) => `a = ${index}`).join(' OR ')}`
      assert.ok(measureStatement(orList).depth < 10)
      const inList = `SELECT id FROM t WHERE a IN (${Array.from({ length: 10_000 }, (_, index) => index).join(', ')})`
      assert.deepEqual((await db.query(inList)).rows, [{ id: 1 }])
    })
  })

  test('a text over statementLengthMax is refused before it is scanned; a long string literal is one token and fine', async () => {
    await withTable(async (db) => {
      const long = await failure(db.query(`SELECT '${'x'.repeat(limits.statementLengthMax)}' AS s`))
      assert.equal(long.code, 'LIMIT_EXCEEDED')
      assert.match(long.message, /characters long; the limit is/)
      // Long literals with newlines, quotes and non-ASCII text, in a statement the scanner reads (named
      // parameters are found by its tokens), with a -- comment: the scanner's answer for such a text is
      // cut short by the WASM wrapper, and used to fail.
      const text = `é😀\n'${'y'.repeat(20_000)}`
      const result = await db.query(`INSERT INTO t VALUES ($id, 7, '${text.replaceAll("'", "''")}') -- a comment\nRETURNING id`, { id: 3 })
      assert.deepEqual(result.rows, [{ id: 3 }])
      assert.deepEqual((await db.query('SELECT s FROM t WHERE id = 3')).rows, [{ s: text }])
      const tokens = scanTokens(`SELECT '${'z'.repeat(5_000)}', $$${'w'.repeat(3_000)}$$, 'a\nb' -- c\n, 2`)
      assert.deepEqual(tokens.map((token) => token.tokenName), ['UNKNOWN', 'SCONST', 'ASCII_44', 'SCONST', 'ASCII_44', 'SCONST', 'SQL_COMMENT', 'ASCII_44', 'ICONST'])
      assert.equal(tokens[1]!.text.length, 5_002)
    })
  })

  test('offsets count string characters, not UTF-8 bytes: edits after non-ASCII text land where they belong', async () => {
    await withTable(async (db) => {
      await db.query("UPDATE t SET s = 'é😀' WHERE id = 1")
      // json_build_object is rewritten at its tree location for DuckDB; byte offsets used to cut the text mid-literal.
      const { rows } = await db.query("SELECT 'é😀' AS x, json_build_object('a', s) AS j FROM t")
      assert.deepEqual(rows, [{ x: 'é😀', j: { a: 'é😀' } }])
      const [first, second] = parseStatements("SELECT 'é😀' AS x; SELECT abc FROM t")
      assert.equal(first!.text, "SELECT 'é😀' AS x")
      assert.equal(second!.text, 'SELECT abc FROM t')
      assert.equal(second!.offset, 19)
    })
  })
})

describe('the check before the parse', () => {
  test('a text is refused exactly when the scanner measures it past a bound (random texts near the depth limit, seeded)', () => {
    const seed = 9_5
    const random = seededRandom(seed)
    // Openers and operators outnumber closers and separators, so depths spread around the limit.
    const pieces = ['(', '(', '(', ')', '+', '+', '||', '::int', 'CASE', 'END', 'NOT', 'a', 'b1', ',', 'AND', "'x + y ('", '/* ( + */', 'UNION', 'SELECT', 'JOIN', '1', '[', ']', '-', 'IS', 'IN']
    let refused = 0
    for (let round = 0; round < 300; round++) {
      const length = 50 + Math.floor(random() * 600)
      const parts = ['SELECT']
      for (let index = 0; index < length; index++) parts.push(pieces[Math.floor(random() * pieces.length)]!)
      const sql = parts.join(random() < 0.5 ? ' ' : '')
      let measured: number
      try {
        measured = measureStatement(sql).depth
      } catch {
        continue // not scannable (an unterminated quote or comment): the parser stops there
      }
      let threw = false
      try {
        checkStatementLimits(sql)
      } catch (error) {
        assert.ok(error instanceof StrataError && error.code === 'LIMIT_EXCEEDED', `seed ${seed}: ${String(error)}`)
        threw = true
      }
      assert.equal(threw, measured > limits.expressionDepthMax, `seed ${seed}, depth ${measured}: ${sql}`)
      if (threw) refused++
    }
    assert.ok(refused > 20 && refused < 280, `both sides of the limit were tried (seed ${seed}, ${refused} refused)`)
  })
})

describe('the parser recovers from a fault', () => {
  test('a fault inside the WebAssembly instance is an error for that statement only; later statements, writes included, work', async () => {
    await withTable(async (db) => {
      // 700 chained operators overflow the instance's stack (the limits keep statements from this; here the
      // parser is called directly, past them).
      const overflow = chain(700)
      await loadParserSpare()
      const before = parserFaults()
      const fault = (() => {
        try {
          parseRaw(overflow)
        } catch (error) {
          return error
        }
        return undefined
      })()
      assert.ok(fault instanceof StrataError && fault.code === 'INTERNAL', `a fault, not ${String(fault)}`)
      assert.match(fault.message, /restarted/)
      assert.equal(parserFaults(), before + 1)
      assert.match(parseRaw('SELECT 1'), /^\{/, 'the next parse works at once (a spare instance took over)')
      await stillWrites(db, 4)
      // Two faults in a row leave no instance for a moment: the engine waits for the next one.
      const exitCode = process.exitCode
      for (let index = 0; index < 2; index++) {
        try {
          parseRaw(overflow)
        } catch {
          // expected
        }
      }
      assert.equal(process.exitCode, exitCode, 'a fault does not set the exit status of the process')
      await stillWrites(db, 5)
      assert.deepEqual((await db.query('SELECT count(*) AS n FROM t')).rows, [{ n: 3 }])
    })
  })

  test('while an instance is being made, the process holds referenced work (Node does not count a WebAssembly compilation as such)', async () => {
    // Without it, a script whose only work is a statement waiting for the parser empties its event
    // loop, and Node finishes the compilation in its exit path, where it can deadlock (src/sql/wasm.ts).
    await loadParserSpare()
    const timers = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length
    const idle = timers()
    try {
      parseRaw(chain(700))
    } catch {
      // a fault: the spare takes over, and a new spare is made in the background
    }
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(timers(), idle + 1, 'one referenced timer while the new spare compiles')
    await loadParserSpare()
    assert.equal(timers(), idle, 'and none once it is there')
  })
})
