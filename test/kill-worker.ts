/**
 * Child process for test/kill.test.ts: runs a mixed write load on a durable data directory until the
 * parent kills it with SIGKILL.
 *
 * Usage: node dist/test/kill-worker.js <dataDirectory> <seed> <nextIdFloor>
 *
 * Protocol (one JSON object per line on stdout, written with a synchronous write to fd 1, so a line is
 * in the pipe before the next step starts):
 * - `{"kind":"ready", …}` once the database is open and the table exists.
 * - `{"kind":"intent","seq":n,"ops":[…]}` BEFORE a write starts. `ops` is what the write will do if it
 *   commits, as a list applied atomically: `{op:'insert',id,balance,note}`, `{op:'update',id,delta}`,
 *   `{op:'delete',id}`, or `{op:'create'}` for the CREATE TABLE IF NOT EXISTS.
 * - `{"kind":"ack","seq":n,"txId":t,"rows":[…]}` only AFTER the write's promise resolved: the
 *   transaction id it committed as and the rows the engine returned (RETURNING) for it.
 * - A burst: `{"kind":"intent","seq":n,"ops":[…],"concurrent":true}` for several single-row inserts
 *   started at once, each its own autocommit transaction (they share COMMITs: group commit), then one
 *   `{"kind":"ack","seq":n,"part":i,…}` per insert as its promise resolves.
 * - `{"kind":"read","count":c,"sum":s,"engine":e}` after an analytical read resolved.
 * An operation whose intent was printed but whose ack was not may or may not have committed.
 */
import { writeSync } from 'node:fs'
import { open } from '../src/index.js'
import { seededRandom } from './helpers.js'

const [directory, seedText, floorText] = process.argv.slice(2)
// `node --test dist/test/` runs every .js file under a test/ folder, this one included, without
// arguments: then there is nothing to do (it is not a test by itself).
if (process.argv.length === 2) process.exit(0)
if (directory === undefined || seedText === undefined || floorText === undefined) {
  process.stderr.write('usage: kill-worker <dataDirectory> <seed> <nextIdFloor>\n')
  process.exit(2)
}

const random = seededRandom(Number(seedText))
const integer = (low: number, high: number): number => low + Math.floor(random() * (high - low + 1))

function emit(line: Record<string, unknown>): void {
  writeSync(1, JSON.stringify(line) + '\n')
}

// A worker the parent forgot to kill must not run forever.
setTimeout(() => {
  process.stderr.write('kill-worker: never killed, exiting\n')
  process.exit(3)
}, 60_000).unref()

type Op =
  | { readonly op: 'insert'; readonly id: number; readonly balance: number; readonly note: string | null }
  | { readonly op: 'update'; readonly id: number; readonly delta: number }
  | { readonly op: 'delete'; readonly id: number }

const db = await open(directory, { durability: 'full' })
let seq = 0

emit({ kind: 'intent', seq, ops: [{ op: 'create' }] })
const created = await db.query('CREATE TABLE IF NOT EXISTS acct (id INTEGER PRIMARY KEY, balance BIGINT NOT NULL, note TEXT)')
emit({ kind: 'ack', seq, txId: created.txId ?? null, rows: [] })
seq++

// The worker continues from whatever state the database is in: it learns the live rows (and the next
// free id) from the row store. Ids are never reused: the parent's floor covers ids of inserts that were
// started but never acknowledged.
const live = new Map<number, number>()
for (const row of (await db.query('SELECT id, balance FROM acct ORDER BY id', [], { engine: 'row' })).rows) {
  live.set(row['id'] as number, row['balance'] as number)
}
let nextId = Number(floorText)
for (const id of live.keys()) nextId = Math.max(nextId, id + 1)
emit({ kind: 'ready', pid: process.pid, liveRows: live.size, nextId })

function pickLive(exclude: ReadonlySet<number> = new Set()): number | undefined {
  const candidates = [...live.keys()].filter((id) => !exclude.has(id))
  if (candidates.length === 0) return undefined
  return candidates[integer(0, candidates.length - 1)]
}

function newInsert(): Op & { op: 'insert' } {
  const id = nextId++
  return { op: 'insert', id, balance: integer(0, 1000), note: random() < 0.2 ? null : `n${id}-${integer(0, 999)}` }
}

function applyLocally(ops: readonly Op[]): void {
  for (const op of ops) {
    if (op.op === 'insert') live.set(op.id, op.balance)
    else if (op.op === 'update') live.set(op.id, live.get(op.id)! + op.delta)
    else live.delete(op.id)
  }
}

for (;;) {
  const choice = random()
  if (choice >= 0.04 && choice < 0.1) {
    // A burst of concurrent autocommit inserts, started in one turn of the event loop: they join one
    // commit group and are acknowledged, in the order they started, only after its COMMIT.
    const burst = Array.from({ length: integer(2, 6) }, () => newInsert())
    emit({ kind: 'intent', seq, ops: burst, concurrent: true })
    const burstSeq = seq
    await Promise.all(
      burst.map((op, part) =>
        db.query('INSERT INTO acct (id, balance, note) VALUES ($1, $2, $3) RETURNING id, balance, note', [op.id, op.balance, op.note]).then((result) => {
          emit({ kind: 'ack', seq: burstSeq, part, txId: result.txId ?? null, rows: result.rows.map((row) => ({ op: 'insert', ...row })) })
        }),
      ),
    )
    applyLocally(burst)
    seq++
    continue
  }
  if (choice < 0.04) {
    // Analytical read: goes to the column store and waits for the CDC sync (read-your-writes).
    const result = await db.query('SELECT count(*) AS n, sum(balance) AS s FROM acct')
    const row = result.rows[0]!
    emit({ kind: 'read', count: Number(row['n']), sum: row['s'] === null ? null : Number(row['s']), engine: result.engine })
    continue
  }
  let ops: Op[]
  let run: () => Promise<{ txId: number | undefined; rows: Record<string, unknown>[] }>
  // Mix: 4 % reads (above), then roughly 31 % inserts, 25 % updates, 10 % deletes, 30 % transactions.
  const updateId = choice >= 0.35 && choice < 0.6 ? pickLive() : undefined
  const deleteId = choice >= 0.6 && choice < 0.7 && live.size > 5 ? pickLive() : undefined
  if (choice >= 0.7) {
    // A multi-statement transaction touching several rows: a transfer between two rows, one more
    // update, an insert, and sometimes a delete.
    ops = []
    const touched = new Set<number>()
    const from = pickLive(touched)
    if (from !== undefined) touched.add(from)
    const to = pickLive(touched)
    if (from !== undefined && to !== undefined) {
      touched.add(to)
      const amount = integer(1, 50)
      ops.push({ op: 'update', id: from, delta: -amount }, { op: 'update', id: to, delta: amount })
    }
    const inserted = newInsert()
    ops.push(inserted, { op: 'update', id: inserted.id, delta: 1 })
    const doomed = live.size > 8 && random() < 0.5 ? pickLive(touched) : undefined
    if (doomed !== undefined) ops.push({ op: 'delete', id: doomed })
    const transactionOps = ops
    run = async () => {
      const returned: Record<string, unknown>[] = []
      await db.transaction(async (tx) => {
        for (const op of transactionOps) {
          const result =
            op.op === 'insert'
              ? await tx.query('INSERT INTO acct (id, balance, note) VALUES ($1, $2, $3) RETURNING id, balance, note', [op.id, op.balance, op.note])
              : op.op === 'update'
                ? await tx.query('UPDATE acct SET balance = balance + $2 WHERE id = $1 RETURNING id, balance, note', [op.id, op.delta])
                : await tx.query('DELETE FROM acct WHERE id = $1 RETURNING id, balance, note', [op.id])
          if (result.rowCount !== 1) throw new Error(`${op.op} of ${op.id} changed ${result.rowCount} rows inside a transaction`)
          returned.push({ op: op.op, ...result.rows[0] })
        }
      })
      // The worker is the only writer, so the last committed transaction is this one.
      return { txId: (await db.syncStatus()).lastCommittedTx, rows: returned }
    }
  } else if (updateId !== undefined) {
    ops = [{ op: 'update', id: updateId, delta: 1 }]
    run = async () => {
      const result = await db.query('UPDATE acct SET balance = balance + 1 WHERE id = $1 RETURNING id, balance, note', [updateId])
      return { txId: result.txId, rows: result.rows.map((row) => ({ op: 'update', ...row })) }
    }
  } else if (deleteId !== undefined) {
    ops = [{ op: 'delete', id: deleteId }]
    run = async () => {
      const result = await db.query('DELETE FROM acct WHERE id = $1 RETURNING id, balance, note', [deleteId])
      return { txId: result.txId, rows: result.rows.map((row) => ({ op: 'delete', ...row })) }
    }
  } else {
    const op = newInsert()
    ops = [op]
    run = async () => {
      const result = await db.query('INSERT INTO acct (id, balance, note) VALUES ($1, $2, $3) RETURNING id, balance, note', [op.id, op.balance, op.note])
      return { txId: result.txId, rows: result.rows.map((row) => ({ op: 'insert', ...row })) }
    }
  }
  emit({ kind: 'intent', seq, ops })
  const acknowledged = await run()
  emit({ kind: 'ack', seq, txId: acknowledged.txId ?? null, rows: acknowledged.rows })
  applyLocally(ops)
  seq++
}
