/**
 * Result-column nullability (src/sql/nullability.ts), as `columns[i].nullable` in query results and
 * `nullable` in the HTTP API: checked against the data — a column said to be non-nullable never holds
 * a NULL on either store — and against the exact answer for queries whose answer is known.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { open, type Database } from '../src/index.js'
import { temporaryDirectory } from './helpers.js'

describe('result-column nullability', () => {
  const directory = temporaryDirectory('nullability')
  let db: Database
  before(async () => {
    db = await open(directory.path)
    await db.exec(`
      CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL, nick TEXT, age INTEGER);
      CREATE TABLE pets (pet_id INTEGER PRIMARY KEY, owner INTEGER NOT NULL, kind TEXT NOT NULL, note TEXT);
      INSERT INTO people VALUES (1, 'ada', NULL, 36), (2, 'bob', 'b', NULL), (3, 'cy', NULL, NULL);
      INSERT INTO pets VALUES (10, 1, 'cat', NULL), (11, 1, 'dog', 'loud'), (12, 9, 'fish', NULL);
    `)
  })
  after(async () => {
    await db.close()
    directory.remove()
  })

  const cases: readonly { readonly sql: string; readonly nullable: readonly boolean[] }[] = [
    { sql: 'SELECT * FROM people', nullable: [false, false, true, true] },
    { sql: 'SELECT id, name FROM people WHERE id = 1', nullable: [false, false] },
    { sql: "SELECT name || '!' AS shout, age + 1 AS next, age / 2 AS half, count(*) OVER () AS total FROM people", nullable: [false, true, true, false] },
    { sql: 'SELECT name, count(*) AS n, count(age) AS aged, sum(age) AS years, max(name) AS last FROM people GROUP BY name', nullable: [false, false, false, true, true] },
    { sql: 'SELECT p.name, q.kind, q.note FROM people p JOIN pets q ON q.owner = p.id', nullable: [false, false, true] },
    { sql: 'SELECT p.name, q.kind FROM people p LEFT JOIN pets q ON q.owner = p.id', nullable: [false, true] },
    { sql: 'SELECT p.name, q.kind FROM people p RIGHT JOIN pets q ON q.owner = p.id', nullable: [true, false] },
    { sql: 'SELECT p.id, q.pet_id FROM people p FULL JOIN pets q ON q.owner = p.id', nullable: [true, true] },
    { sql: "SELECT coalesce(nick, 'none') AS nick, nick IS NULL AS missing, NULL AS nothing, 1 AS one FROM people", nullable: [false, false, true, false] },
    { sql: 'SELECT _system_from, _system_to, _valid_from, _valid_to FROM people', nullable: [false, true, false, true] },
    { sql: 'SELECT name FROM people UNION ALL SELECT kind FROM pets', nullable: [true] },
    { sql: 'SELECT name, count(*) AS n FROM people GROUP BY ROLLUP (name)', nullable: [true, true] },
    { sql: 'WITH people AS (SELECT NULL::TEXT AS name) SELECT name FROM people', nullable: [true] },
    { sql: 'SELECT x.name FROM (SELECT name FROM people) AS x', nullable: [true] },
  ]

  test('each query says exactly which columns can be NULL, on both stores', async () => {
    for (const { sql, nullable } of cases) {
      for (const engine of ['row', 'column'] as const) {
        let result
        try {
          result = await db.query(sql, [], { engine })
        } catch (error) {
          // Not every query runs on the row store; the column store must answer all of them.
          if (engine === 'row') continue
          throw error
        }
        assert.deepEqual(
          result.columns.map((column) => column.nullable),
          nullable,
          `${sql} (${engine})`,
        )
        // The claim holds on the data: no NULL where a column says it has none.
        result.columns.forEach((column, index) => {
          if (column.nullable === false) for (const row of result.rows) assert.notEqual(Object.values(row)[index], null, `${sql}: ${column.name} (${engine})`)
        })
      }
    }
  })

  test('results of writes and catalog reads never claim a column that holds NULL is non-nullable', async () => {
    const returned = await db.query("INSERT INTO pets VALUES (13, 2, 'owl', NULL) RETURNING pet_id, note")
    assert.deepEqual(returned.rows, [{ pet_id: 13, note: null }])
    assert.notEqual(returned.columns[1]!.nullable, false)
    const catalog = await db.query("SELECT column_name, column_default FROM information_schema.columns WHERE table_name = 'pets' ORDER BY ordinal_position")
    assert.equal(catalog.rows[0]!['column_default'], null)
    assert.notEqual(catalog.columns[1]!.nullable, false)
  })
})
