/** The subsystem seam (ARCHITECTURE.md, "The subsystem seam"): system relations and the registration's checks. */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { open, StrataError, type Database } from '../src/index.js'
import { parseStatements } from '../src/sql/parse.js'
import { Subsystems } from '../src/subsystems/index.js'
import type { ClauseRecogniser, Subsystem, SubsystemHost } from '../src/subsystems/seam.js'

let db: Database

before(async () => {
  db = await open()
  await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, \'a\')')
})

after(async () => {
  await db.close()
})

describe('system relations in the strata schema', () => {
  test('each relation the engine or a subsystem serves is read from the catalog', async () => {
    for (const name of ['sync_status', 'transactions', 'erasures']) {
      const result = await db.query(`SELECT * FROM strata.${name}`)
      assert.equal(result.engine, 'catalog', name)
    }
    const transactions = await db.query('SELECT count(*) AS n FROM strata.transactions')
    assert.ok(Number(transactions.rows[0]!['n']) >= 2)
  })

  test('any other strata.<name> is UNDEFINED_TABLE naming the relations that exist', async () => {
    await assert.rejects(db.query('SELECT * FROM strata.nope'), (error: unknown) => {
      assert.ok(error instanceof StrataError)
      assert.equal(error.code, 'UNDEFINED_TABLE')
      assert.match(error.message, /relation "strata\.nope" does not exist \(the strata schema has branches, erasures, late_events, sources, streams, sync_status, transactions\)/)
      return true
    })
    // Inside a join too, and before either store runs anything.
    await assert.rejects(db.query('SELECT * FROM t JOIN strata.missing m ON m.id = t.id'), { code: 'UNDEFINED_TABLE' })
  })
})

describe('the registration', () => {
  const clauses: ClauseRecogniser = { triggers: ['x'], extract: () => undefined }
  const host = {} as SubsystemHost

  test('two subsystems that cut clauses out of a text are refused when the engine opens', () => {
    const first = (): Subsystem => ({ name: 'first', clauses })
    const second = (): Subsystem => ({ name: 'second', clauses })
    assert.throws(() => new Subsystems(host, [first, second]), (error: unknown) => {
      assert.ok(error instanceof StrataError)
      assert.equal(error.code, 'INTERNAL')
      assert.match(error.message, /first, second/)
      return true
    })
    assert.equal(new Subsystems(host, [first]).clauses, clauses)
  })

  test('the first subsystem that claims a read runs it; relations map to their subsystem', () => {
    const claimed = { run: () => ({ rows: [], columns: [], rowCount: 0, engine: 'row' as const }), evaluate: async () => ({ columns: [], rows: [] }), explain: async () => ({ lines: [], engine: 'row' as const }) }
    const declines = (): Subsystem => ({ name: 'declines', claimRead: () => undefined })
    const claims = (): Subsystem => ({ name: 'claims', claimRead: () => claimed, relations: ['things'] })
    const never = (): Subsystem => ({
      name: 'never asked',
      claimRead: () => {
        throw new Error('asked after another subsystem claimed the read')
      },
    })
    const subsystems = new Subsystems(host, [declines, claims, never])
    assert.equal(subsystems.claimRead(parseStatements('SELECT 1')[0]!, {}), claimed)
    assert.equal(subsystems.relations.get('things'), 'claims')
    assert.equal(new Subsystems(host, [declines]).claimRead(parseStatements('SELECT 1')[0]!, {}), undefined)
  })
})
