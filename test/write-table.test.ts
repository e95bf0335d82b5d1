/**
 * `db.writeTable` (SPEC 10, UDR's write_table): a table made to hold the given rows by their row-level
 * difference — seeded random rounds checked against a model of the table and of its history (an
 * unchanged row adds no version, a changed one adds what an UPDATE would), on both stores; the three
 * modes, the key option, Arrow input, and the refusals that keep a table from being emptied by
 * accident.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { tableFromArrays } from 'apache-arrow'
import { StrataError } from '../src/index.js'
import { openTemporary, seededRandom } from './helpers.js'

type Row = { id: number; name: string; price: string }

describe('db.writeTable', () => {
  test('seeded rounds of replace and upsert equal a model of the rows and of their versions, on both stores', async (t) => {
    const db = await openTemporary(t, 'write-table-model')
    const random = seededRandom(41)
    await db.query('CREATE TABLE prices (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price DECIMAL(12,2) NOT NULL)')
    const model = new Map<number, Row>()
    const versions = new Map<number, number>()
    for (let round = 0; round < 8; round++) {
      const mode = round % 3 === 2 ? 'upsert' : 'replace'
      // Start from the model: drop some keys, change some prices, add some keys.
      const next = new Map<number, Row>()
      for (const [id, row] of model) {
        const fate = random()
        if (fate < 0.1) continue
        next.set(id, fate < 0.25 ? { ...row, price: (Math.floor(random() * 100_000) / 100).toFixed(2) } : row)
      }
      for (let added = 0; added < 40; added++) {
        const id = 1 + Math.floor(random() * 400)
        if (!next.has(id)) next.set(id, { id, name: `item ${id}`, price: (Math.floor(random() * 100_000) / 100).toFixed(2) })
      }
      let expected = { added: 0, removed: 0, modified: 0 }
      for (const [id, row] of next) {
        const old = model.get(id)
        if (old === undefined) expected.added++
        else if (old.price !== row.price || old.name !== row.name) expected.modified++
      }
      if (mode === 'replace') for (const id of model.keys()) if (!next.has(id)) expected.removed++
      const before = Number((await db.query('SELECT count(*) AS c FROM strata.transactions')).rows[0]!['c'])
      // Prices as exact text: DECIMAL(12,2) never goes through a double.
      const result = await db.writeTable('prices', [...next.values()].map((row) => ({ ...row })), { mode })
      assert.deepEqual({ added: result.added, removed: result.removed, modified: result.modified }, expected, `round ${round} (${mode})`)
      const after = Number((await db.query('SELECT count(*) AS c FROM strata.transactions')).rows[0]!['c'])
      assert.equal(after - before, expected.added + expected.removed + expected.modified > 0 ? 1 : 0, `round ${round}: one commit, or none when nothing changed`)
      if (expected.added + expected.removed + expected.modified === 0) assert.equal(result.txId, undefined)
      for (const [id, row] of next) {
        const old = model.get(id)
        if (old === undefined || old.price !== row.price) versions.set(id, (versions.get(id) ?? 0) + 1)
        model.set(id, row)
      }
      if (mode === 'replace') for (const id of [...model.keys()]) if (!next.has(id)) model.delete(id)
      const expectedRows = [...model.values()].sort((a, b) => a.id - b.id)
      for (const engine of ['row', 'column'] as const) {
        // A DECIMAL comes back as a number when the number spells it exactly (SPEC 3), else as text.
        const rows = (await db.query('SELECT id, name, price FROM prices ORDER BY id', [], { engine })).rows
        const decimal = (value: unknown): string => (typeof value === 'number' ? value.toFixed(2) : String(value))
        assert.deepEqual(rows.map((row) => ({ ...row, price: decimal(row['price']) })), expectedRows, `round ${round}: the rows on the ${engine} store`)
      }
      // Versions: one per insert and per change of a row; an unchanged row has none more.
      const counted = (await db.query('SELECT id, count(*) AS c FROM prices FOR SYSTEM_TIME ALL GROUP BY id ORDER BY id')).rows
      assert.deepEqual(
        counted.map((row) => [row['id'], Number(row['c'])]),
        [...versions].sort((a, b) => a[0] - b[0]),
        `round ${round}: versions per key`,
      )
    }
    // The same rows once more: nothing changes, nothing is committed.
    const again = await db.writeTable('prices', [...model.values()], { mode: 'replace' })
    assert.deepEqual(again, { txId: undefined, added: 0, removed: 0, modified: 0 })
  })

  test('append, a column a row leaves out, Arrow input, and a key other than the primary key', async (t) => {
    const db = await openTemporary(t, 'write-table-modes')
    await db.query("CREATE TABLE t (id INTEGER PRIMARY KEY, email TEXT NOT NULL, note TEXT DEFAULT 'none')")
    const appended = await db.writeTable('t', [{ id: 1, email: 'a@x' }, { id: 2, email: 'b@x', note: 'kept' }], { mode: 'append' })
    assert.deepEqual([appended.added, appended.removed, appended.modified], [2, 0, 0])
    assert.ok(typeof appended.txId === 'number')
    // Appending a key that exists is the primary key's violation, and writes nothing.
    await assert.rejects(db.writeTable('t', [{ id: 3, email: 'c@x' }, { id: 1, email: 'again' }], { mode: 'append' }), (error: unknown) => error instanceof StrataError && error.code === 'CONSTRAINT_VIOLATION')
    assert.equal((await db.query('SELECT count(*) AS c FROM t')).rows[0]!['c'], 2)
    // Upsert by email: the row of b@x keeps its note (not given), a@x's note changes, c@x is new.
    const byEmail = await db.writeTable('t', [{ id: 2, email: 'b@x' }, { id: 1, email: 'a@x', note: 'changed' }, { id: 3, email: 'c@x' }], { mode: 'upsert', key: ['email'] })
    assert.deepEqual([byEmail.added, byEmail.removed, byEmail.modified], [1, 0, 1])
    assert.deepEqual((await db.query('SELECT * FROM t ORDER BY id')).rows, [
      { id: 1, email: 'a@x', note: 'changed' },
      { id: 2, email: 'b@x', note: 'kept' },
      { id: 3, email: 'c@x', note: 'none' },
    ])
    // An apache-arrow Table, replacing: id 3 goes, id 2's email changes.
    const arrow = tableFromArrays({ id: Int32Array.from([1, 2]), email: ['a@x', 'b2@x'], note: ['changed', 'kept'] })
    const replaced = await db.writeTable('t', arrow, { mode: 'replace' })
    assert.deepEqual([replaced.added, replaced.removed, replaced.modified], [0, 1, 1])
    assert.deepEqual((await db.query('SELECT id, email FROM t ORDER BY id', [], { engine: 'column' })).rows, [
      { id: 1, email: 'a@x' },
      { id: 2, email: 'b2@x' },
    ])
    // A table without a primary key, by a key given.
    await db.query('CREATE TABLE loose (code TEXT, qty INTEGER)')
    await db.writeTable('loose', [{ code: 'x', qty: 1 }, { code: 'y', qty: 2 }], { mode: 'append' })
    const loose = await db.writeTable('loose', [{ code: 'x', qty: 5 }, { code: 'z', qty: 3 }], { mode: 'replace', key: ['code'] })
    assert.deepEqual([loose.added, loose.removed, loose.modified], [1, 1, 1])
    assert.deepEqual((await db.query('SELECT code, qty FROM loose ORDER BY code')).rows, [
      { code: 'x', qty: 5 },
      { code: 'z', qty: 3 },
    ])
  })

  test('refusals: an empty replace, duplicate keys, a key not unique in the table, no key, unknown names and modes', async (t) => {
    const db = await openTemporary(t, 'write-table-refusals')
    await db.query('CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)')
    await db.query('CREATE TABLE loose (code TEXT, v INTEGER)')
    await db.query("INSERT INTO loose VALUES ('a', 1), ('a', 2)")
    await db.writeTable('t', [{ id: 1, v: 1 }], { mode: 'append' })
    const refused = async (run: () => Promise<unknown>, code: string, message: RegExp): Promise<void> => {
      await assert.rejects(run(), (error: unknown) => error instanceof StrataError && error.code === code && message.test(error.message))
    }
    await refused(() => db.writeTable('t', [], { mode: 'replace' }), 'INVALID_ARGUMENT', /allowEmpty/)
    await refused(() => db.writeTable('t', [{ id: 2, v: 1 }, { id: 2, v: 2 }], { mode: 'upsert' }), 'INVALID_ARGUMENT', /rows 0 and 1 have the same key/)
    await refused(() => db.writeTable('loose', [{ code: 'a', v: 1 }], { mode: 'replace', key: ['code'] }), 'INVALID_ARGUMENT', /not unique in the table/)
    await refused(() => db.writeTable('loose', [{ code: 'a', v: 1 }], { mode: 'upsert' }), 'INVALID_ARGUMENT', /needs a key/)
    await refused(() => db.writeTable('t', [{ v: 1 }], { mode: 'upsert' }), 'INVALID_ARGUMENT', /every row must give the key column "id"/)
    await refused(() => db.writeTable('t', [{ id: 1, nope: 1 }], { mode: 'upsert' }), 'UNDEFINED_COLUMN', /"nope"/)
    await refused(() => db.writeTable('nope', [{ id: 1 }], { mode: 'upsert' }), 'UNDEFINED_TABLE', /"nope"/)
    await refused(() => db.writeTable('t', [{ id: 1 }], { mode: 'merge' as never }), 'INVALID_ARGUMENT', /mode must be/)
    await refused(() => db.writeTable('t', [{ id: 1, v: 'many' }], { mode: 'upsert' }), 'TYPE_MISMATCH', /row 0, column "v"/)
    // Nothing of the refused calls was written; an empty replace that means it empties the table.
    assert.deepEqual((await db.query('SELECT * FROM t')).rows, [{ id: 1, v: 1 }])
    const emptied = await db.writeTable('t', [], { mode: 'replace', allowEmpty: true })
    assert.deepEqual([emptied.added, emptied.removed, emptied.modified], [0, 1, 0])
    assert.deepEqual((await db.query('SELECT * FROM t')).rows, [])
  })
})
