/**
 * The list of branches (SPEC 10, docs/branches.md): CREATE BRANCH [FROM] [AS OF], DROP BRANCH, SHOW
 * BRANCHES and strata.branches — the row store's answer (SHOW BRANCHES) and the column store's
 * (strata.branches) compared on every check —, git's rules for names, the refusals with their codes,
 * the ledger's record of each commit's branch, and a format-2 directory brought to format 3.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import Sqlite from 'better-sqlite3'
import { DuckDBInstance } from '@duckdb/node-api'
import { join } from 'node:path'
import { open, type Database } from '../src/index.js'
import { assertRefused, openTemporary, temporaryDirectory } from './helpers.js'

interface Branch {
  readonly name: string
  readonly parent: string | null
  readonly fork_tx: number | null
  readonly head_tx: number
  readonly created_at: string | null
}

function branchOf(row: Record<string, unknown>): Branch {
  const created = row['created_at']
  return {
    name: String(row['name']),
    parent: row['parent'] === null ? null : String(row['parent']),
    fork_tx: row['fork_tx'] === null ? null : Number(row['fork_tx']),
    head_tx: Number(row['head_tx']),
    created_at: created === null ? null : (created as Date).toISOString(),
  }
}

/** The branches as both stores list them, asserted equal; sorted by name. */
async function branches(db: Database): Promise<Branch[]> {
  const shown = (await db.query('SHOW BRANCHES')).rows.map(branchOf).sort((a, b) => a.name.localeCompare(b.name))
  const mirrored = (await db.query('SELECT * FROM strata.branches ORDER BY name', [], { engine: 'column' })).rows.map(branchOf)
  assert.deepEqual(mirrored, shown, 'strata.branches (column store) and SHOW BRANCHES (row store) differ')
  return shown
}

/** System time of a transaction, as strata.transactions shows it. */
async function systemTime(db: Database, txId: number): Promise<string> {
  const row = (await db.query('SELECT system_time FROM strata.transactions WHERE tx_id = $1', [txId])).rows[0]
  return (row!['system_time'] as Date).toISOString()
}

/** A transaction's system time in µs, and as a TIMESTAMP literal's text to the microsecond. */
async function systemMicros(db: Database, txId: number): Promise<bigint> {
  const row = (await db.query('SELECT epoch_us(system_time) AS us FROM strata.transactions WHERE tx_id = $1', [txId], { engine: 'column' })).rows[0]
  return BigInt(row!['us'] as number)
}

function timestampText(micros: bigint): string {
  const date = new Date(Number(micros / 1000n)).toISOString()
  return `${date.slice(0, 10)} ${date.slice(11, 19)}.${String(micros % 1_000_000n).padStart(6, '0')}`
}

describe('branches: the list', () => {
  test('CREATE BRANCH forks at its parent’s head; a commit moves only its own branch’s head; both stores list the same', async (t) => {
    const db = await openTemporary(t, 'branches-list')
    // An empty database has main, headed nowhere yet.
    assert.deepEqual(await branches(db), [{ name: 'main', parent: null, fork_tx: null, head_tx: 0, created_at: null }])
    await db.query('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)')
    await db.query("INSERT INTO t VALUES (1, 'a')")
    await db.query('CREATE BRANCH b1')
    const made = (await db.query('SELECT max(tx_id) AS tx FROM strata.transactions')).rows[0]!['tx'] as number
    await db.query("INSERT INTO t VALUES (2, 'b')")
    await db.query('CREATE BRANCH "feature/x-1" FROM b1')
    const first = await systemTime(db, 1)
    assert.deepEqual(await branches(db), [
      { name: 'b1', parent: 'main', fork_tx: 2, head_tx: 2, created_at: await systemTime(db, made) },
      { name: 'feature/x-1', parent: 'b1', fork_tx: 2, head_tx: 2, created_at: await systemTime(db, made + 2) },
      { name: 'main', parent: null, fork_tx: null, head_tx: made + 1, created_at: first },
    ])
    // Each change of the list is a commit of its own, made on no branch; main's commits are main's.
    const transactions = (await db.query('SELECT tx_id, kind, branch FROM strata.transactions ORDER BY tx_id')).rows
    assert.deepEqual(transactions, [
      { tx_id: 1, kind: 'ddl', branch: 'main' },
      { tx_id: 2, kind: 'data', branch: 'main' },
      { tx_id: 3, kind: 'branch', branch: null },
      { tx_id: 4, kind: 'data', branch: 'main' },
      { tx_id: 5, kind: 'branch', branch: null },
    ])
  })

  test('AS OF a transaction id or a time forks at the last commit at or before it; a later one than committed is refused', async (t) => {
    const db = await openTemporary(t, 'branches-as-of')
    await db.query('CREATE TABLE t (id INTEGER PRIMARY KEY)')
    for (let id = 1; id <= 3; id++) await db.query('INSERT INTO t VALUES ($1)', [id])
    // Commits: 1 CREATE TABLE, 2–4 the inserts.
    await db.query('CREATE BRANCH at2 AS OF 2')
    const third = await systemMicros(db, 3)
    // A time between two commits forks at the earlier one; a commit's own time at that commit.
    await db.query(`CREATE BRANCH before3 AS OF TIMESTAMP '${timestampText(third - 1n)}'`)
    await db.query(`CREATE BRANCH at3 AS OF '${timestampText(third)}'`)
    // A fork point past the parent's head is the head: a branch's state after its head is its head's.
    await db.query('CREATE BRANCH later FROM at2 AS OF 5')
    const listed = new Map((await branches(db)).map((branch) => [branch.name, branch]))
    assert.deepEqual(
      ['at2', 'before3', 'at3', 'later'].map((name) => [name, listed.get(name)?.fork_tx, listed.get(name)?.head_tx, listed.get(name)?.parent]),
      [
        ['at2', 2, 2, 'main'],
        ['before3', 2, 2, 'main'],
        ['at3', 3, 3, 'main'],
        ['later', 2, 2, 'at2'],
      ],
    )
    await assertRefused((sql) => db.query(sql), [['CREATE BRANCH future AS OF 99', 'UNDEFINED_TRANSACTION', /99/]])
  })

  test('names follow git’s ref rules; duplicates, unknown branches, main and a parent are refused with their codes; nothing is left of a refusal', async (t) => {
    const db = await openTemporary(t, 'branches-refused')
    await db.query('CREATE BRANCH "release/v1.2"')
    await db.query('CREATE BRANCH "a.b-c_d/e@f"')
    await db.query('CREATE BRANCH child FROM "release/v1.2"')
    const invalid = ['a..b', '-lead', 'trail/', 'trail.', 'a//b', '/lead', '.hidden', 'a/.hidden', 'x.lock', 'a/x.lock/b', 'a b', 'a~b', 'a^b', 'a:b', 'a?b', 'a*b', 'a[b', 'a\\b', 'a@{b', '@', 'tab\tname', 'x'.repeat(256)]
    await assertRefused(
      (sql) => db.query(sql),
      invalid.map((name) => [`CREATE BRANCH "${name}"`, 'INVALID_NAME', /invalid branch name/] as const),
    )
    await assertRefused(
      (sql) => db.query(sql),
      [
        ['CREATE BRANCH "release/v1.2"', 'DUPLICATE_BRANCH', /already exists/],
        ['CREATE BRANCH main', 'DUPLICATE_BRANCH', /already exists/],
        ['CREATE BRANCH x FROM nope', 'UNDEFINED_BRANCH', /"nope" does not exist/],
        ['DROP BRANCH nope', 'UNDEFINED_BRANCH', /"nope" does not exist/],
        ['DROP BRANCH main', 'OBJECT_IN_USE', /"main" cannot be dropped/],
        ['DROP BRANCH "release/v1.2"', 'OBJECT_IN_USE', /"child" was made from it/],
        ['DROP BRANCH "a..b"', 'INVALID_NAME', /invalid branch name/],
        ['CREATE BRANCH', 'SYNTAX_ERROR', /expected a branch name/],
        ['CREATE BRANCH b FROM', 'SYNTAX_ERROR', /expected a branch name/],
        ['CREATE BRANCH b AS OF', 'SYNTAX_ERROR', /AS OF/],
        ['CREATE BRANCH b c', 'SYNTAX_ERROR', /expected the end of the statement/],
        ['SHOW BRANCHES now', 'SYNTAX_ERROR', /expected the end of the statement/],
      ],
    )
    // IF [NOT] EXISTS make the same statements no-ops.
    await db.query('CREATE BRANCH IF NOT EXISTS "release/v1.2" FROM child')
    await db.query('DROP BRANCH IF EXISTS nope')
    // The list can only change outside a transaction block (it is a commit of its own).
    await db.query('BEGIN')
    await assertRefused(
      (sql) => db.query(sql),
      [
        ['CREATE BRANCH inside', 'TX_STATE', /inside a transaction block/],
        ['DROP BRANCH child', 'TX_STATE', /inside a transaction block/],
      ],
    )
    await db.query('ROLLBACK')
    const names = (await branches(db)).map((branch) => [branch.name, branch.parent])
    assert.deepEqual(names, [
      ['a.b-c_d/e@f', 'main'],
      ['child', 'release/v1.2'],
      ['main', null],
      ['release/v1.2', 'main'],
    ])
    // A dropped branch's name may be taken again; its parent may then be dropped.
    await db.query('DROP BRANCH child')
    await db.query('DROP BRANCH "release/v1.2"')
    await db.query('CREATE BRANCH child')
    assert.deepEqual(
      (await branches(db)).map((branch) => [branch.name, branch.parent]),
      [
        ['a.b-c_d/e@f', 'main'],
        ['child', 'main'],
        ['main', null],
      ],
    )
  })

  test('the list persists across a restart, and a format-2 directory (and its mirror) is brought to format 3 with every old commit main’s', async () => {
    const directory = temporaryDirectory('branches-format')
    try {
      let db = await open(directory.path)
      await db.query('CREATE TABLE t (id INTEGER PRIMARY KEY)')
      await db.query('INSERT INTO t VALUES (1)')
      await db.query('SELECT count(*) FROM t', [], { engine: 'column' })
      await db.close()
      // Make it what format 2 wrote: no branch column or index in the ledger, none in the mirror's strata.transactions.
      const raw = new Sqlite(join(directory.path, 'strata.sqlite'))
      raw.exec('DROP INDEX _strata_tx_branch; ALTER TABLE _strata_tx DROP COLUMN branch')
      raw.prepare("UPDATE _strata_meta SET value = '2' WHERE key = 'format'").run()
      raw.close()
      const instance = await DuckDBInstance.create(join(directory.path, 'mirror.duckdb'))
      const connection = await instance.connect()
      await connection.run('ALTER TABLE strata.transactions DROP COLUMN branch')
      connection.closeSync()
      instance.closeSync()

      db = await open(directory.path)
      await db.query('CREATE BRANCH kept')
      await db.query('INSERT INTO t VALUES (2)')
      assert.deepEqual(
        (await db.query('SELECT tx_id, kind, branch FROM strata.transactions ORDER BY tx_id')).rows,
        [
          { tx_id: 1, kind: 'ddl', branch: 'main' },
          { tx_id: 2, kind: 'data', branch: 'main' },
          { tx_id: 3, kind: 'branch', branch: null },
          { tx_id: 4, kind: 'data', branch: 'main' },
        ],
      )
      await db.close()
      const marked = new Sqlite(join(directory.path, 'strata.sqlite'), { readonly: true })
      assert.equal((marked.prepare("SELECT value FROM _strata_meta WHERE key = 'format'").get() as { value: string }).value, '3')
      marked.close()

      db = await open(directory.path)
      assert.deepEqual(
        (await branches(db)).map((branch) => [branch.name, branch.parent, branch.fork_tx, branch.head_tx]),
        [
          ['kept', 'main', 2, 2],
          ['main', null, null, 4],
        ],
      )
      await db.close()
    } finally {
      directory.remove()
    }
  })
})
