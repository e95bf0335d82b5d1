/**
 * The content-addressed chunk store and table snapshots (SPEC 10, docs/branches.md "The chunk
 * store"): BLAKE3 names, deduplication, atomic writes, verified reads (CORRUPTION, never data),
 * `CALL strata.verify()` and `strata.chunks`; `strata.table_hash` equal for equal states whatever
 * their history, and `EXPORT TABLE` writing Parquet that DuckDB reads back as the table's rows,
 * byte-identical for equal states.
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { blake3Hex, ChunkStore } from '../src/storage/chunks/chunkstore.js'
import { StrataError } from '../src/index.js'
import { assertRefused, openTemporary, temporaryDirectory } from './helpers.js'

describe('the chunk store', () => {
  test('BLAKE3 names, one copy of equal bytes, atomic writes, and a corrupt chunk never read as data', async (t) => {
    // BLAKE3's published test vectors.
    assert.equal(await blake3Hex(new Uint8Array()), 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262')
    assert.equal(await blake3Hex(Buffer.from('abc')), '6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85')
    const directory = temporaryDirectory('chunk-store')
    t.after(() => directory.remove())
    const store = new ChunkStore(join(directory.path, 'chunks'))
    const hash = await store.put(Buffer.from('hello chunks'))
    assert.equal(hash, await blake3Hex(Buffer.from('hello chunks')))
    assert.ok(existsSync(join(directory.path, 'chunks', hash.slice(0, 2), hash.slice(2, 4), hash)))
    assert.equal(await store.put(Buffer.from('hello chunks')), hash)
    await store.put(Buffer.from('another'))
    assert.deepEqual(store.list().map((entry) => entry.bytes).sort((x, y) => x - y), [7, 12])
    // Nothing half-written is left behind.
    assert.deepEqual(readdirSync(join(directory.path, 'chunks', 'tmp')), [])
    assert.deepEqual(await store.get(hash), Buffer.from('hello chunks'))
    // One flipped byte: the read fails, verify names it, and storing the bytes again repairs it.
    const path = store.pathOf(hash)
    const bytes = readFileSync(path)
    bytes[0] = bytes[0]! ^ 1
    writeFileSync(path, bytes)
    await assert.rejects(store.get(hash), (error: unknown) => error instanceof StrataError && error.code === 'CORRUPTION' && error.message.includes(hash))
    assert.deepEqual((await store.verify()).map((bad) => bad.hash), [hash])
    await store.put(Buffer.from('hello chunks'))
    assert.deepEqual(await store.verify(), [])
    await assert.rejects(store.get('0'.repeat(64)), (error: unknown) => error instanceof StrataError && error.code === 'CORRUPTION' && /missing/.test(error.message))
    await assert.rejects(store.get('not a hash'), (error: unknown) => error instanceof StrataError && error.code === 'INVALID_ARGUMENT')
  })
})

describe('table snapshots', () => {
  test('strata.table_hash is equal for equal states, whatever their history or branch, and changes with a row', async (t) => {
    const db = await openTemporary(t, 'table-hash')
    const columns = 'id INTEGER PRIMARY KEY, name TEXT, price DECIMAL(12,2), at TIMESTAMP, data BLOB'
    await db.query(`CREATE TABLE a (${columns})`)
    await db.query(`CREATE TABLE b (${columns})`)
    // a: inserted in order, then changed and changed back, a row deleted and inserted again; b: inserted once, backwards.
    await db.query("INSERT INTO a SELECT i, 'n' || i, i / 8, make_timestamp(1767225600000000 + i * 1000000), CAST('x' || i AS BLOB) FROM range(1, 150001) AS r(i)")
    await db.query("UPDATE a SET name = 'temporary' WHERE id BETWEEN 10 AND 20")
    await db.query("UPDATE a SET name = 'n' || id WHERE id BETWEEN 10 AND 20")
    await db.query('DELETE FROM a WHERE id = 77')
    await db.query("INSERT INTO a SELECT i, 'n' || i, i / 8, make_timestamp(1767225600000000 + i * 1000000), CAST('x' || i AS BLOB) FROM range(77, 78) AS r(i)")
    await db.query("INSERT INTO b SELECT i, 'n' || i, i / 8, make_timestamp(1767225600000000 + i * 1000000), CAST('x' || i AS BLOB) FROM range(150000, 0, -1) AS r(i)")
    const hash = async (sql: string): Promise<string> => String((await db.query(sql)).rows[0]!['h'])
    const a = await hash("SELECT strata.table_hash('a') AS h")
    assert.match(a, /^[0-9a-f]{64}$/)
    assert.equal(await hash("SELECT strata.table_hash('b') AS h"), a)
    // A branch with one row changed hashes otherwise; changed back, equal again; main at a past commit is that state.
    await db.query('CREATE BRANCH dev')
    await db.branch('dev').query("UPDATE a SET name = 'dev' WHERE id = 5")
    const dev = await hash("SELECT strata.table_hash('a', 'dev') AS h")
    assert.notEqual(dev, a)
    assert.equal(await hash("SELECT strata.table_hash('a', 'main') AS h"), a)
    const before = Number((await db.query('SELECT max(tx_id) AS tx FROM strata.transactions')).rows[0]!['tx'])
    await db.query("UPDATE a SET name = 'main' WHERE id = 6")
    assert.notEqual(await hash("SELECT strata.table_hash('a') AS h"), a)
    assert.equal(await hash(`SELECT strata.table_hash('a', ${before}) AS h`), a)
    await db.branch('dev').query("UPDATE a SET name = 'n5' WHERE id = 5")
    assert.equal(await hash("SELECT strata.table_hash('a', 'dev') AS h"), a)
    // Unaliased, the column is table_hash; on the branch itself the default ref is the branch.
    assert.deepEqual(Object.keys((await db.query("SELECT strata.table_hash('b')")).rows[0]!), ['table_hash'])
    assert.equal(String((await db.branch('dev').query("SELECT strata.table_hash('a') AS h")).rows[0]!['h']), a)
    // The states share their chunks: one changed row adds a chunk, not a copy of the table.
    const chunks = (await db.query("SELECT kind, count(*) AS n FROM strata.chunks WHERE kind <> 'corrupt' GROUP BY kind ORDER BY kind")).rows
    const parquet = Number(chunks.find((row) => row['kind'] === 'parquet')!['n'])
    const manifests = Number(chunks.find((row) => row['kind'] === 'manifest')!['n'])
    assert.equal(manifests, 3, 'three states: the original, the dev change, the main change')
    const perState = JSON.parse(readFileSync(join(db.path, 'chunks', a.slice(0, 2), a.slice(2, 4), a), 'utf8')).chunks.length
    assert.ok(perState >= 2, `150K rows make several chunks (${perState})`)
    assert.equal(parquet, perState + 2, 'each changed state adds one chunk')
    const refs = (await db.query("SELECT max(refs) AS most FROM strata.chunks WHERE kind = 'parquet'")).rows[0]!
    assert.equal(Number(refs['most']), 3)
  })

  test('EXPORT TABLE writes <hash>.parquet and manifest.json, byte-identical for equal states, read back by DuckDB as the rows', async (t) => {
    const db = await openTemporary(t, 'export-table')
    const out = temporaryDirectory('export-table-out')
    t.after(() => out.remove())
    await db.query('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, price DECIMAL(12,2), at TIMESTAMP, flag BOOLEAN)')
    await db.query("INSERT INTO t SELECT i, CASE WHEN i % 5 = 0 THEN NULL ELSE 'n' || i END, i / 3, make_timestamp(1767225600123456 + i * 60000000), i % 2 = 0 FROM range(1, 80001) AS r(i)")
    await db.query('CREATE TABLE copy AS SELECT * FROM t')
    const first = join(out.path, 'first')
    const second = join(out.path, 'second')
    const exported = (await db.query(`EXPORT TABLE t TO '${first}'`)).rows[0]!
    const hash = String((await db.query("SELECT strata.table_hash('t') AS h")).rows[0]!['h'])
    assert.equal(exported['table_hash'], hash)
    assert.equal(Number(exported['rows']), 80_000)
    const files = readdirSync(first).sort()
    assert.equal(files.length, Number(exported['chunks']) + 1)
    // Each file is named by its bytes' hash; the manifest's hash is the table's.
    for (const file of files) {
      const bytes = readFileSync(join(first, file))
      if (file === 'manifest.json') assert.equal(await blake3Hex(bytes), hash)
      else assert.equal(`${await blake3Hex(bytes)}.parquet`, file)
    }
    // CREATE TABLE … AS made a table without a key: a state of its own, exported whole and the same rows.
    await db.query(`EXPORT TABLE copy TO '${second}'`)
    const read = async (sql: string): Promise<unknown[]> => (await db.query(sql)).rows
    const original = await read('SELECT * FROM t ORDER BY id')
    assert.deepEqual(await read(`SELECT * FROM read_parquet('${first}/*.parquet') ORDER BY id`), original)
    assert.deepEqual(await read(`SELECT * FROM read_parquet('${second}/*.parquet') ORDER BY id`), original)
    // A branch's state: the same rows but one, exported from the branch; equal states export equal bytes.
    await db.query('CREATE BRANCH dev')
    await db.branch('dev').query("UPDATE t SET name = 'dev' WHERE id = 3")
    const third = join(out.path, 'third')
    const devExport = (await db.query(`EXPORT TABLE t AT (BRANCH => 'dev') TO '${third}'`)).rows[0]!
    assert.notEqual(devExport['table_hash'], hash)
    assert.deepEqual(await read(`SELECT name FROM read_parquet('${third}/*.parquet') WHERE id = 3`), [{ name: 'dev' }])
    await db.branch('dev').query("UPDATE t SET name = 'n3' WHERE id = 3")
    const fourth = join(out.path, 'fourth')
    await db.branch('dev').query(`EXPORT TABLE t TO '${fourth}'`)
    assert.deepEqual(readdirSync(fourth).sort(), files)
    for (const file of files) assert.deepEqual(readFileSync(join(fourth, file)), readFileSync(join(first, file)), file)
    // The exported chunks are in the store, and every one verifies.
    assert.deepEqual((await db.query('CALL strata.verify()')).rows, [])
  })

  test('a corrupt chunk is listed by strata.verify() and strata.chunks, and the errors of the statements', async (t) => {
    const db = await openTemporary(t, 'chunks-corrupt')
    await db.query('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)')
    await db.query("INSERT INTO t VALUES (1, 'a'), (2, 'b')")
    const hash = String((await db.query("SELECT strata.table_hash('t') AS h")).rows[0]!['h'])
    const path = join(db.path, 'chunks', hash.slice(0, 2), hash.slice(2, 4), hash)
    writeFileSync(path, Buffer.concat([readFileSync(path), Buffer.from(' ')]))
    assert.deepEqual((await db.query('CALL strata.verify()')).rows.map((row) => row['hash']), [hash])
    assert.deepEqual((await db.query('SELECT kind FROM strata.chunks WHERE hash = $1', [hash])).rows, [{ kind: 'corrupt' }])
    // Snapshotting the same state again stores the manifest anew: the store is whole again.
    assert.equal(String((await db.query("SELECT strata.table_hash('t') AS h")).rows[0]!['h']), hash)
    assert.deepEqual((await db.query('CALL strata.verify()')).rows, [])
    await assertRefused((sql) => db.query(sql), [
      ["EXPORT TABLE nope TO '/tmp/x'", 'UNDEFINED_TABLE', /"nope"/],
      ['EXPORT TABLE t TO', 'SYNTAX_ERROR', /the directory as a string/],
      ["EXPORT TABLE t AT (BRANCH => 'nope') TO '/tmp/x'", 'UNDEFINED_BRANCH', /"nope"/],
      ["EXPORT TABLE t AT (TAG => 'x') TO '/tmp/x'", 'SYNTAX_ERROR', /expected BRANCH/],
      ["SELECT strata.table_hash('nope')", 'UNDEFINED_TABLE', /"nope"/],
      ['SELECT strata.table_hash(1)', 'INVALID_ARGUMENT', /table's name/],
      ["SELECT strata.table_hash('t', 'nope')", 'UNDEFINED_BRANCH', /"nope"/],
      ['CALL strata.verify(1)', 'INVALID_ARGUMENT', /no arguments/],
      ['CALL strata.nothing()', 'NOT_SUPPORTED', /CALL/],
    ])
  })
})
