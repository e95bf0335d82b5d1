/** Full-text search (SPEC 7): CREATE FULLTEXT INDEX, MATCH, bm25, and the index following every write. */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import BetterSqlite3 from 'better-sqlite3'
import { open, StrataError, type Database } from '../src/index.js'
import { checkFulltextQuery } from '../src/sql/fulltext.js'
import { temporaryDirectory } from './helpers.js'

function hasCode(code: string, ...fragments: string[]) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof StrataError, `expected a StrataError, got ${String(error)}`)
    assert.equal(error.code, code, error.message)
    for (const fragment of fragments) assert.ok(error.message.includes(fragment), `"${error.message}" should mention ${fragment}`)
    return true
  }
}

async function ids(db: Database, sql: string, params: unknown[] = []): Promise<number[]> {
  const result = await db.query(sql, params)
  assert.equal(result.engine, 'row', `full-text queries run on the row store: ${sql}`)
  return result.rows.map((row) => row['id'] as number)
}

const corpus: readonly [number, string, string, number][] = [
  [1, 'Foxes', 'The quick brown fox jumps over the lazy dog', 2019],
  [2, 'Dogs', 'A lazy dog sleeps in the sun all day long', 2020],
  [3, 'Fox facts', 'fox fox fox: the fox is a small wild canid, a fox indeed', 2021],
  [4, 'Birds', 'Quick birds fly south; quickly and quietly they go', 2022],
  [5, 'Mixed', 'The dog chased the fox, and the fox outran the dog', 2023],
  [6, 'Cats', 'Cats ignore foxes and dogs alike', 2024],
]

describe('full-text search', () => {
  let db: Database

  before(async () => {
    db = await open()
    await db.exec('CREATE TABLE docs (id INTEGER PRIMARY KEY, title TEXT, body TEXT, year INTEGER)')
    for (const row of corpus) await db.query('INSERT INTO docs VALUES ($1, $2, $3, $4)', [...row])
    // Built over existing rows, then kept in step by later writes.
    await db.exec('CREATE FULLTEXT INDEX docs_body ON docs (body)')
  })

  after(async () => {
    await db.close()
  })

  test('terms, phrases, prefixes, boolean operators and NEAR', async () => {
    assert.deepEqual(await ids(db, "SELECT id FROM docs WHERE MATCH(body, 'fox') ORDER BY id"), [1, 3, 5])
    // Case-insensitive terms (FTS5's unicode61 tokenizer); a phrase must appear in order.
    assert.deepEqual(await ids(db, `SELECT id FROM docs WHERE MATCH(body, '"LAZY DOG"') ORDER BY id`), [1, 2])
    assert.deepEqual(await ids(db, `SELECT id FROM docs WHERE MATCH(body, '"dog lazy"') ORDER BY id`), [])
    assert.deepEqual(await ids(db, "SELECT id FROM docs WHERE MATCH(body, 'quick*') ORDER BY id"), [1, 4])
    assert.deepEqual(await ids(db, "SELECT id FROM docs WHERE MATCH(body, 'fox*') ORDER BY id"), [1, 3, 5, 6])
    assert.deepEqual(await ids(db, "SELECT id FROM docs WHERE MATCH(body, 'fox AND dog') ORDER BY id"), [1, 5])
    assert.deepEqual(await ids(db, "SELECT id FROM docs WHERE MATCH(body, 'fox dog') ORDER BY id"), [1, 5], 'juxtaposition is AND')
    assert.deepEqual(await ids(db, "SELECT id FROM docs WHERE MATCH(body, 'birds OR cats') ORDER BY id"), [4, 6])
    assert.deepEqual(await ids(db, "SELECT id FROM docs WHERE MATCH(body, 'dog NOT fox') ORDER BY id"), [2])
    assert.deepEqual(await ids(db, "SELECT id FROM docs WHERE MATCH(body, '(dog OR birds) NOT lazy') ORDER BY id"), [4, 5])
    // NEAR: within 2 tokens of each other.
    assert.deepEqual(await ids(db, "SELECT id FROM docs WHERE MATCH(body, 'NEAR(quick fox, 2)') ORDER BY id"), [1])
    assert.deepEqual(await ids(db, "SELECT id FROM docs WHERE MATCH(body, 'NEAR(quick dog, 2)') ORDER BY id"), [])
    assert.deepEqual(await ids(db, "SELECT id FROM docs WHERE MATCH(body, 'NEAR(quick dog, 10)') ORDER BY id"), [1])
    // The query may be a parameter, positional or named.
    assert.deepEqual(await ids(db, 'SELECT id FROM docs WHERE MATCH(body, $1) ORDER BY id', ['sun']), [2])
    const named = await db.query('SELECT id FROM docs WHERE MATCH(body, $q) ORDER BY id', { q: 'cats' })
    assert.deepEqual(named.rows, [{ id: 6 }])
  })

  test('bm25 ranks the best match first (higher = more relevant), with score as an alias', async () => {
    const ranked = await db.query("SELECT id, bm25(body, 'fox') AS relevance FROM docs WHERE MATCH(body, 'fox') ORDER BY relevance DESC")
    assert.equal(ranked.engine, 'row')
    assert.deepEqual(ranked.rows.map((row) => row['id']), [3, 5, 1], 'five foxes in a short text beat two, which beat one in a longer text')
    assert.deepEqual(ranked.columns, [
      { name: 'id', type: 'INTEGER', nullable: false },
      { name: 'relevance', type: 'DOUBLE', nullable: true },
    ])
    const scores = ranked.rows.map((row) => row['relevance'] as number)
    assert.ok(scores[0]! > scores[1]! && scores[1]! > scores[2]! && scores[2]! > 0, `scores decrease and are positive: ${scores.join(', ')}`)
    // ORDER BY the call itself, ascending, score() alias, parameters, and the default output name.
    const ascending = await db.query('SELECT id, score(body, $1) FROM docs WHERE MATCH(body, $1) ORDER BY bm25(body, $1)', ['fox'])
    assert.deepEqual(ascending.rows.map((row) => row['id']), [1, 5, 3])
    assert.deepEqual(Object.keys(ascending.rows[0]!), ['id', 'score'])
    assert.equal(ascending.rows[2]!['score'], scores[0])
    // Without the MATCH in WHERE, bm25 is NULL for rows that do not match (sorted last).
    const all = await db.query("SELECT id, bm25(body, 'fox') AS s FROM docs ORDER BY s DESC, id")
    assert.deepEqual(all.rows.map((row) => row['id']), [3, 5, 1, 2, 4, 6])
    assert.equal(all.rows[3]!['s'], null)
    // The top rows with LIMIT and OFFSET (the FTS subquery keeps only those), constant or parameters.
    assert.deepEqual(await ids(db, "SELECT id FROM docs WHERE MATCH(body, 'fox') ORDER BY bm25(body, 'fox') DESC LIMIT 1 OFFSET 1"), [5])
    assert.deepEqual(await ids(db, 'SELECT id, bm25(body, $1) AS s FROM docs WHERE MATCH(body, $1) ORDER BY s DESC LIMIT $2 OFFSET $3', ['fox', 2, 1]), [5, 1])
    const plan = await db.query('EXPLAIN SELECT id, bm25(body, $1) AS s FROM docs WHERE MATCH(body, $1) ORDER BY s DESC LIMIT $2', ['fox', 2])
    assert.ok(plan.rows.some((row) => String(row['plan']).includes('ORDER BY "s" DESC LIMIT coalesce(?, -1)')), JSON.stringify(plan.rows))
    // A condition on the score.
    assert.deepEqual(await ids(db, "SELECT id FROM docs WHERE MATCH(body, 'fox') AND bm25(body, 'fox') > $1 ORDER BY id", [scores[2]!]), [3, 5])
  })

  test('MATCH combines with ordinary predicates, OR, NOT, ORDER BY and LIMIT', async () => {
    assert.deepEqual(await ids(db, "SELECT id FROM docs WHERE MATCH(body, 'fox') AND year >= 2020 ORDER BY id"), [3, 5])
    assert.deepEqual(await ids(db, "SELECT id FROM docs WHERE year = 2024 OR MATCH(body, 'sun') ORDER BY id"), [2, 6])
    assert.deepEqual(await ids(db, "SELECT id FROM docs WHERE NOT MATCH(body, 'fox OR dog') ORDER BY id"), [4, 6])
    assert.deepEqual(await ids(db, "SELECT id FROM docs WHERE MATCH(body, 'fox') ORDER BY year DESC LIMIT 2"), [5, 3])
    assert.deepEqual(await ids(db, "SELECT id FROM docs WHERE MATCH(body, 'fox OR dog') AND title LIKE 'F%' ORDER BY bm25(body, 'fox') DESC LIMIT 1"), [3])
    const aliased = await db.query("SELECT d.id, d.title FROM docs AS d WHERE MATCH(d.body, 'birds') AND d.year BETWEEN 2020 AND 2023")
    assert.deepEqual(aliased.rows, [{ id: 4, title: 'Birds' }])
    // A search as the source of a write (answered by the row store inside the writer's transaction).
    await db.query("CREATE TABLE fox_titles AS SELECT id, title FROM docs WHERE MATCH(body, 'fox') AND year < 2022")
    assert.deepEqual((await db.query('SELECT id, title FROM fox_titles ORDER BY id')).rows, [{ id: 1, title: 'Foxes' }, { id: 3, title: 'Fox facts' }])
  })

  test('EXPLAIN shows the row store and the FTS5 table', async () => {
    const explained = await db.query("EXPLAIN SELECT id FROM docs WHERE MATCH(body, 'fox') ORDER BY bm25(body, 'fox') DESC LIMIT 3")
    const lines = explained.rows.map((row) => String(row['plan']))
    assert.equal(lines[0], 'store: row')
    assert.ok(lines.some((line) => line.startsWith('sql:') && line.includes('_strata_fts_docs_body_') && line.includes('MATCH')), lines.join('\n'))
    assert.ok(lines.some((line) => line.startsWith('plan:') && line.includes('VIRTUAL TABLE')), lines.join('\n'))
  })

  test('a malformed query is a SYNTAX_ERROR naming its position, and nothing is written', async () => {
    await assert.rejects(db.query(`SELECT id FROM docs WHERE MATCH(body, '"unterminated')`), hasCode('SYNTAX_ERROR', 'unterminated string', 'position 1 of the query'))
    await assert.rejects(db.query("SELECT id FROM docs WHERE MATCH(body, 'AND foo')"), hasCode('SYNTAX_ERROR', '"AND"', 'position 1 of the query'))
    await assert.rejects(db.query('SELECT id FROM docs WHERE MATCH(body, $1)', ['fox OR']), hasCode('SYNTAX_ERROR', 'end of the query', 'position 7 of the query'))
    await assert.rejects(db.query('SELECT id FROM docs WHERE MATCH(body, $1)', ['NEAR(fox dog, far)']), hasCode('SYNTAX_ERROR', 'NEAR distance', 'position 15 of the query'))
    await assert.rejects(db.query('SELECT id FROM docs WHERE MATCH(body, $1)', ['fox % dog']), hasCode('SYNTAX_ERROR', 'position 5 of the query'))
    await assert.rejects(db.query('SELECT id FROM docs WHERE MATCH(body, $1)', ['   ']), hasCode('SYNTAX_ERROR', 'empty'))
    await assert.rejects(db.query('SELECT id FROM docs WHERE MATCH(body, $1)', [42]), hasCode('TYPE_MISMATCH'))
    await assert.rejects(db.query('SELECT id FROM docs WHERE MATCH(body, $1)', ['title: fox']), hasCode('UNDEFINED_COLUMN', 'position 1 of the query'))
    const before = (await db.query('SELECT * FROM strata.transactions')).rowCount
    await assert.rejects(db.query("DELETE FROM docs WHERE MATCH(body, 'fox AND')"), hasCode('SYNTAX_ERROR', 'position 8 of the query'))
    await assert.rejects(db.query('UPDATE docs SET year = 0 WHERE MATCH(body, $1)', ['"fox']), hasCode('SYNTAX_ERROR', 'position 1 of the query'))
    await assert.rejects(
      db.exec("INSERT INTO docs VALUES (99, 'x', 'y', 1); DELETE FROM docs WHERE MATCH(body, '(fox')"),
      hasCode('SYNTAX_ERROR', 'end of the query'),
    )
    // The INSERT before the bad statement committed on its own (autocommit); undo it so the corpus stays.
    await db.query('DELETE FROM docs WHERE id = 99')
    const count = await db.query('SELECT id FROM docs WHERE year = 0')
    assert.equal(count.rowCount, 0, 'the UPDATE with a malformed query wrote nothing')
    assert.deepEqual(await ids(db, "SELECT id FROM docs WHERE MATCH(body, 'fox') ORDER BY id"), [1, 3, 5], 'the DELETE with a malformed query wrote nothing')
    const afterwards = (await db.query('SELECT * FROM strata.transactions')).rowCount
    assert.equal(afterwards, before + 2, 'only the INSERT and the DELETE that undid it committed')
  })

  test('clear errors: unindexed column, non-text column, column-store queries, time travel, misuse', async () => {
    await assert.rejects(db.query("SELECT id FROM docs WHERE MATCH(title, 'fox')"), hasCode('NOT_SUPPORTED', 'no full-text index', 'title'))
    await assert.rejects(db.query("SELECT id FROM docs WHERE MATCH(nope, 'fox')"), hasCode('UNDEFINED_COLUMN', 'nope'))
    await assert.rejects(db.query('CREATE FULLTEXT INDEX docs_year ON docs (year)'), hasCode('TYPE_MISMATCH', 'year', 'INTEGER'))
    await assert.rejects(db.query('CREATE FULLTEXT INDEX docs_missing ON docs (missing)'), hasCode('UNDEFINED_COLUMN', 'missing'))
    await assert.rejects(db.query('CREATE FULLTEXT INDEX docs_x ON nowhere (body)'), hasCode('UNDEFINED_TABLE', 'nowhere'))
    await assert.rejects(db.query('CREATE FULLTEXT INDEX docs_body ON docs (body)'), hasCode('DUPLICATE_TABLE', 'docs_body'))
    await db.query('CREATE FULLTEXT INDEX IF NOT EXISTS docs_body ON docs (title)')
    await assert.rejects(db.query("SELECT id FROM docs WHERE MATCH(title, 'fox')"), hasCode('NOT_SUPPORTED'), 'IF NOT EXISTS created nothing')
    await assert.rejects(db.query('CREATE FULLTEXT INDEX d2 ON docs (body title)'), hasCode('SYNTAX_ERROR', '"title"', 'position 40'))
    // The column store has no full-text search: aggregates, joins and a forced column engine are refused.
    await assert.rejects(db.query("SELECT count(*) FROM docs WHERE MATCH(body, 'fox')"), hasCode('NOT_SUPPORTED', 'row store only', 'aggregate', "engine: 'row'"))
    // … which the row store answers when asked to.
    const counted = await db.query("SELECT count(*) AS n FROM docs WHERE MATCH(body, 'fox') AND year > 2019", [], { engine: 'row' })
    assert.equal(counted.engine, 'row')
    assert.equal(Number(counted.rows[0]!['n']), 2)
    await assert.rejects(db.query("INSERT INTO docs SELECT id + 100, title, body, year FROM docs WHERE MATCH(body, 'fox') AND id IN (SELECT 1)"), hasCode('NOT_SUPPORTED', 'row store only'))
    await assert.rejects(db.query("SELECT a.id FROM docs a JOIN docs b ON a.id = b.id WHERE MATCH(a.body, 'fox')"), hasCode('NOT_SUPPORTED', 'row store only', 'join'))
    await assert.rejects(db.query("SELECT id FROM docs WHERE MATCH(body, 'fox')", [], { engine: 'column' }), hasCode('NOT_SUPPORTED', 'row store only'))
    await assert.rejects(db.query("UPDATE docs SET title = upper(title) WHERE MATCH(body, 'fox')"), hasCode('NOT_SUPPORTED', 'row store only'))
    // Time travel: full-text search reads the current state only.
    await assert.rejects(db.query("SELECT id FROM docs FOR SYSTEM_TIME AS OF 2 WHERE MATCH(body, 'fox')"), hasCode('NOT_SUPPORTED', 'current state', 'time clause'))
    await assert.rejects(db.query("SELECT id, bm25(body, 'fox') FROM docs FOR SYSTEM_TIME ALL"), hasCode('NOT_SUPPORTED', 'current state'))
    await assert.rejects(db.query("SELECT id FROM docs WHERE MATCH(body, 'fox') AS OF 2"), hasCode('NOT_SUPPORTED', 'current state'))
    await assert.rejects(
      db.query("UPDATE docs FOR PORTION OF VALID_TIME FROM '2020-01-01' TO '2021-01-01' SET year = 0 WHERE MATCH(body, 'fox')"),
      hasCode('NOT_SUPPORTED', 'current state', 'FOR PORTION OF'),
    )
    await assert.rejects(db.query("ERASE FROM docs WHERE MATCH(body, 'fox')"), hasCode('NOT_SUPPORTED', 'current state', 'ERASE'))
    // Misuse of the functions.
    await assert.rejects(db.query("SELECT id FROM docs WHERE MATCH(body)"), hasCode('SYNTAX_ERROR', 'match()'))
    await assert.rejects(db.query('SELECT id FROM docs WHERE MATCH(body, NULL)'), hasCode('TYPE_MISMATCH', 'NULL'))
    await assert.rejects(db.query("DELETE FROM docs WHERE bm25(body, 'fox') > 0"), hasCode('NOT_SUPPORTED', 'bm25()'))
    // The table is unchanged by all of the above.
    assert.deepEqual(await ids(db, 'SELECT id FROM docs ORDER BY id'), [1, 2, 3, 4, 5, 6])
  })
})

describe('the index follows every change of the table', () => {
  test('INSERT, UPDATE, DELETE, ON CONFLICT DO UPDATE, ERASE, rollback', async () => {
    await using db = await open()
    await db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, tag TEXT); CREATE FULLTEXT INDEX notes_body ON notes (body)')
    const find = (query: string): Promise<number[]> => ids(db, 'SELECT id FROM notes WHERE MATCH(body, $1) ORDER BY id', [query])
    await db.query("INSERT INTO notes VALUES (1, 'alpha beta', 'a'), (2, 'beta gamma', 'b'), (3, NULL, 'c')")
    assert.deepEqual(await find('beta'), [1, 2])
    await db.query("UPDATE notes SET body = 'delta' WHERE id = 1")
    assert.deepEqual(await find('beta'), [2])
    assert.deepEqual(await find('alpha'), [])
    assert.deepEqual(await find('delta'), [1])
    // An update of another column leaves the index alone; a NULL text is indexed once set.
    await db.query("UPDATE notes SET tag = 'z' WHERE id = 2")
    assert.deepEqual(await find('gamma'), [2])
    await db.query("UPDATE notes SET body = 'epsilon' WHERE id = 3")
    assert.deepEqual(await find('epsilon'), [3])
    // Changing the key moves the row in the index (an INTEGER PRIMARY KEY is the rowid).
    await db.query('UPDATE notes SET id = 30 WHERE id = 3')
    assert.deepEqual(await find('epsilon'), [30])
    await db.query("INSERT INTO notes VALUES (2, 'zeta', 'b') ON CONFLICT (id) DO UPDATE SET body = excluded.body")
    assert.deepEqual(await find('gamma'), [])
    assert.deepEqual(await find('zeta'), [2])
    await db.query("INSERT INTO notes VALUES (2, 'eta', 'b') ON CONFLICT (id) DO NOTHING")
    assert.deepEqual(await find('eta'), [])
    await db.query('DELETE FROM notes WHERE id = 1')
    assert.deepEqual(await find('delta'), [])
    // Rollback of an explicit transaction takes its index changes with it; inside, the transaction sees them.
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.query("INSERT INTO notes VALUES (4, 'theta', 'd')")
        await tx.query("UPDATE notes SET body = 'iota' WHERE id = 2")
        const seen = await tx.query("SELECT id FROM notes WHERE MATCH(body, 'theta OR iota') ORDER BY id")
        assert.deepEqual(seen.rows, [{ id: 2 }, { id: 4 }])
        throw new Error('roll back')
      }),
      /roll back/,
    )
    assert.deepEqual(await find('theta OR iota'), [])
    assert.deepEqual(await find('zeta'), [2])
    // A statement that fails part-way (a duplicate key in the second row) leaves no trace in the index.
    await assert.rejects(db.query("INSERT INTO notes VALUES (5, 'kappa', 'e'), (2, 'lambda', 'f')"), hasCode('CONSTRAINT_VIOLATION'))
    assert.deepEqual(await find('kappa OR lambda'), [])
    // ERASE deletes the rows, and with them their terms.
    await db.query('ERASE FROM notes WHERE id = 2')
    assert.deepEqual(await find('zeta'), [])
    assert.deepEqual(await find('epsilon'), [30])
  })

  test('random writes against a brute-force model, on tables with and without a primary key', async () => {
    await using db = await open()
    const words = ['red', 'green', 'blue', 'cyan', 'magenta', 'yellow', 'black', 'white']
    let seed = 7
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648
      return seed % n
    }
    const text = (): string => Array.from({ length: 1 + random(4) }, () => words[random(words.length)]).join(' ')
    await db.exec('CREATE TABLE keyed (k TEXT PRIMARY KEY, id INTEGER, body TEXT); CREATE FULLTEXT INDEX keyed_body ON keyed (body)')
    await db.exec('CREATE TABLE loose (id INTEGER, body TEXT, other TEXT); CREATE FULLTEXT INDEX loose_all ON loose (body, other)')
    const model = new Map<number, string>()
    for (let step = 0; step < 300; step++) {
      const id = random(40)
      const body = text()
      const choice = random(4)
      if (choice < 2) {
        await db.query('INSERT INTO keyed VALUES ($1, $2, $3) ON CONFLICT (k) DO UPDATE SET body = excluded.body', [`k${id}`, id, body])
        if (model.has(id)) await db.query('UPDATE loose SET body = $2 WHERE id = $1', [id, body])
        else await db.query('INSERT INTO loose VALUES ($1, $2, $3)', [id, body, 'filler'])
        model.set(id, body)
      } else if (choice === 2) {
        await db.query('DELETE FROM keyed WHERE id = $1', [id])
        await db.query('DELETE FROM loose WHERE id = $1', [id])
        model.delete(id)
      } else {
        const word = words[random(words.length)]!
        const expected = [...model].filter(([, value]) => value.split(' ').includes(word)).map(([key]) => key).sort((a, b) => a - b)
        assert.deepEqual(await ids(db, 'SELECT id FROM keyed WHERE MATCH(body, $1) ORDER BY id', [word]), expected, `step ${step}: keyed ${word}`)
        assert.deepEqual(await ids(db, 'SELECT id FROM loose WHERE MATCH(body, $1) ORDER BY id', [word]), expected, `step ${step}: loose ${word}`)
        const prefix = `${word.slice(0, 2)}*`
        const prefixed = [...model].filter(([, value]) => value.split(' ').some((item) => item.startsWith(word.slice(0, 2)))).map(([key]) => key).sort((a, b) => a - b)
        assert.deepEqual(await ids(db, 'SELECT id FROM keyed WHERE MATCH(body, $1) ORDER BY id', [prefix]), prefixed, `step ${step}: ${prefix}`)
      }
    }
    // A several-column index: by its name (every column), by one column, with a column filter in the query.
    assert.ok(model.size > 5, 'the random walk left rows behind')
    assert.equal((await db.query("SELECT id FROM loose WHERE MATCH(loose_all, 'filler')")).rowCount, model.size)
    assert.equal((await db.query("SELECT id FROM loose WHERE MATCH(body, 'filler')")).rowCount, 0)
    assert.equal((await db.query("SELECT id FROM loose WHERE MATCH(loose_all, 'other: filler')")).rowCount, model.size)
    assert.equal((await db.query("SELECT id FROM loose WHERE MATCH(other, 'filler')")).rowCount, model.size)
  })

  test('survives close and reopen; FTS5 agrees its index matches the table; RENAME, DROP INDEX, DROP TABLE', async () => {
    const directory = temporaryDirectory('fulltext')
    try {
      const path = join(directory.path, 'db')
      let db = await open(path)
      await db.exec("CREATE TABLE docs (id INTEGER PRIMARY KEY, body TEXT, meta JSON); INSERT INTO docs VALUES (1, 'persistent words', '{\"tags\": [\"kept\"]}')")
      await db.exec('CREATE FULLTEXT INDEX docs_text ON docs (body, meta)')
      await db.query("INSERT INTO docs VALUES (2, 'more words', '{\"tags\": [\"other\"]}')")
      await db.close()
      db = await open(path)
      assert.deepEqual(await ids(db, "SELECT id FROM docs WHERE MATCH(docs_text, 'words') ORDER BY id"), [1, 2])
      assert.deepEqual(await ids(db, "SELECT id FROM docs WHERE MATCH(meta, 'kept')"), [1])
      await db.query("UPDATE docs SET body = 'changed after reopen' WHERE id = 2")
      // Renaming an indexed column rebuilds the index under the new name; dropping one is refused.
      await db.query('ALTER TABLE docs RENAME COLUMN body TO content')
      assert.deepEqual(await ids(db, "SELECT id FROM docs WHERE MATCH(content, 'reopen')"), [2])
      await db.query("INSERT INTO docs VALUES (3, 'after the rename', NULL)")
      assert.deepEqual(await ids(db, "SELECT id FROM docs WHERE MATCH(content, 'rename')"), [3])
      await assert.rejects(db.query('ALTER TABLE docs DROP COLUMN content'), hasCode('NOT_SUPPORTED', 'docs_text'))
      await db.close()
      // FTS5's own check: the index holds exactly the terms of the table's current rows.
      const raw = new BetterSqlite3(join(path, 'strata.sqlite'))
      try {
        raw.exec(`INSERT INTO "_strata_fts_docs_text_" ("_strata_fts_docs_text_", rank) VALUES ('integrity-check', 1)`)
        // The triggers are part of the schema (not TEMP): every connection and every writer fires them.
        const triggers = raw.prepare("SELECT name FROM sqlite_schema WHERE type = 'trigger' ORDER BY name").all() as { name: string }[]
        assert.deepEqual(triggers.map((trigger) => trigger.name), ['_strata_fts_docs_text_delete', '_strata_fts_docs_text_insert', '_strata_fts_docs_text_update'])
      } finally {
        raw.close()
      }
      db = await open(path)
      await db.query('DROP INDEX docs_text')
      await assert.rejects(db.query("SELECT id FROM docs WHERE MATCH(content, 'rename')"), hasCode('NOT_SUPPORTED', 'no full-text index'))
      await db.query('ALTER TABLE docs DROP COLUMN content')
      await db.query('CREATE FULLTEXT INDEX docs_meta ON docs (meta)')
      await db.query('DROP TABLE docs')
      await db.exec("CREATE TABLE papers (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO papers VALUES (7, 'fresh start')")
      // The dropped table took its index (and so the index's name) with it.
      await db.query('CREATE FULLTEXT INDEX docs_meta ON papers (body)')
      assert.deepEqual(await ids(db, "SELECT id FROM papers WHERE MATCH(body, 'fresh')"), [7])
      await db.close()
      const check = new BetterSqlite3(join(path, 'strata.sqlite'))
      try {
        const tables = check.prepare("SELECT name FROM sqlite_schema WHERE name LIKE '\\_strata\\_fts\\_%' ESCAPE '\\' AND type = 'table' ORDER BY name").all() as { name: string }[]
        assert.deepEqual(tables.map((table) => table.name), ['_strata_fts_docs_meta_', '_strata_fts_docs_meta__config', '_strata_fts_docs_meta__data', '_strata_fts_docs_meta__docsize', '_strata_fts_docs_meta__idx'])
        check.exec(`INSERT INTO "_strata_fts_docs_meta_" ("_strata_fts_docs_meta_", rank) VALUES ('integrity-check', 1)`)
      } finally {
        check.close()
      }
    } finally {
      directory.remove()
    }
  })

  test('a table whose default read goes through history cannot be searched (current state only)', async () => {
    await using db = await open()
    await db.exec("CREATE TABLE plans (id INTEGER PRIMARY KEY, body TEXT); CREATE FULLTEXT INDEX plans_body ON plans (body); INSERT INTO plans VALUES (1, 'now valid')")
    assert.deepEqual(await ids(db, "SELECT id FROM plans WHERE MATCH(body, 'valid')"), [1])
    // A version valid only in the future: the table's reads now go through its history.
    await db.query("INSERT INTO plans (id, body, _valid_from) VALUES (2, 'later valid', '2999-01-01')")
    await assert.rejects(db.query("SELECT id FROM plans WHERE MATCH(body, 'valid')"), hasCode('NOT_SUPPORTED', 'current state', 'valid time'))
    await assert.rejects(db.query("DELETE FROM plans WHERE MATCH(body, 'valid')"), hasCode('NOT_SUPPORTED', 'current state'))
    assert.equal((await db.query('SELECT id FROM plans FOR VALID_TIME ALL')).rowCount, 2)
  })

  test('CREATE FULLTEXT INDEX is DDL in the ledger and rolls back with its transaction', async () => {
    await using db = await open()
    await db.exec("CREATE TABLE t (body TEXT); INSERT INTO t VALUES ('one two')")
    const created = await db.query('CREATE FULLTEXT INDEX ON t (body)')
    assert.equal(typeof created.txId, 'number')
    const kinds = await db.query('SELECT kind FROM strata.transactions WHERE tx_id = $1', [created.txId])
    assert.deepEqual(kinds.rows, [{ kind: 'ddl' }])
    assert.deepEqual((await db.query("SELECT body FROM t WHERE MATCH(body, 'two')")).rows, [{ body: 'one two' }])
    await db.query('DROP INDEX t_body_fulltext')
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.query('CREATE FULLTEXT INDEX t_body ON t (body)')
        assert.equal((await tx.query("SELECT body FROM t WHERE MATCH(body, 'one')")).rowCount, 1)
        throw new Error('undo')
      }),
      /undo/,
    )
    await assert.rejects(db.query("SELECT body FROM t WHERE MATCH(body, 'one')"), hasCode('NOT_SUPPORTED', 'no full-text index'))
    await db.query('CREATE FULLTEXT INDEX t_body ON t (body)')
    assert.equal((await db.query("SELECT body FROM t WHERE MATCH(body, 'one')")).rowCount, 1)
  })
})

describe('the query checker agrees with FTS5', () => {
  test('on random queries (seeded): accepted exactly when FTS5 accepts them', () => {
    const sqlite = new BetterSqlite3(':memory:')
    try {
      sqlite.exec("CREATE VIRTUAL TABLE f USING fts5(body, title); INSERT INTO f VALUES ('a b c', 'd e')")
      const statement = sqlite.prepare('SELECT count(*) FROM f WHERE f MATCH ?')
      const pieces = ['a', 'fox', 'NEAR', 'near', 'AND', 'OR', 'NOT', 'and', '(', ')', '{', '}', ':', ',', '+', '*', '-', '^', '"', '""', '"a b"', ' ', ' ', '5', 'body', 'Title', 'nocol', '\t', '\n', '\f', '!', '.', 'é', '_x', '"x""y"', ',3', 'NEAR(', '\0', '#', "'"]
      let seed = 42
      const random = (n: number): number => {
        seed = (seed * 1103515245 + 12345) % 2147483648
        return seed % n
      }
      let accepted = 0
      for (let index = 0; index < 20_000; index++) {
        let query = ''
        for (let count = 1 + random(7); count > 0; count--) query += pieces[random(pieces.length)]
        let ours = true
        try {
          checkFulltextQuery(query, ['body', 'title'])
        } catch (error) {
          assert.ok(error instanceof StrataError && (error.code === 'SYNTAX_ERROR' || error.code === 'UNDEFINED_COLUMN'), String(error))
          assert.ok(error.message.includes('position'), error.message)
          ours = false
        }
        let theirs = true
        try {
          statement.get(query)
        } catch {
          theirs = false
        }
        assert.equal(ours, theirs, `query ${JSON.stringify(query)}: we say ${ours ? 'valid' : 'invalid'}, FTS5 says ${theirs ? 'valid' : 'invalid'}`)
        if (theirs) accepted++
      }
      assert.ok(accepted > 2_000 && accepted < 18_000, `the generator makes both kinds of queries (${accepted} valid)`)
    } finally {
      sqlite.close()
    }
  })
})
