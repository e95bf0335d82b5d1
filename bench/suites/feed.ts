/**
 * Change-feed throughput: how fast a subscriber consumes committed row changes (SPEC 7). N row
 * changes are committed in batches first — inserts, then updates (whose before and after images the
 * feed pairs), then deletes — and a feed started at the first of those commits reads them all; the
 * clock runs from its first next() to its last change. The baseline is raw better-sqlite3 reading the
 * same history rows on its own connection (one indexed range scan, no pairing, no row objects), so the
 * ratio is the feed's overhead over merely touching the versions.
 *
 * A second measurement follows live commits: single-row autocommit inserts, one at a time, each timed
 * from calling query() to its change arriving at a waiting subscriber (so it includes the write and
 * its fsync; the write alone is in the details). The subscriber is woken by the commit itself.
 */
import * as path from 'node:path'
import Database from 'better-sqlite3'
import { open, type Change } from '../../src/index.js'
import { limits } from '../../src/util/limits.js'
import type { Measurement } from '../report.js'
import { insertRowsBatched, nowMs, perSecond, quantile, scaledCount, withTemporaryDirectory, type Suite, type SuiteContext } from '../support.js'

function* rows(firstId: number, rowCount: number): Generator<[number, string, number, string]> {
  for (let id = firstId; id < firstId + rowCount; id += 1) {
    yield [id, id % 3 === 0 ? 'click' : 'view', (id % 1_000) / 10, `user-${id % 5_000}`]
  }
}

/**
 * Raw better-sqlite3 over the same versions the feed reads, the floor for any feed: history's, and the
 * open versions the table itself holds (docs/time-model.md, "The row store's layout"), one scan each.
 */
function baselineScan(file: string, fromTx: number): { versionsPerSecond: number; versionCount: number } {
  const database = new Database(file, { readonly: true })
  try {
    const history = database.prepare('SELECT * FROM _strata_history_events WHERE (_tx_from >= ? AND _valid_to IS NULL) OR _tx_to >= ?').raw(true)
    const open = database.prepare('SELECT * FROM events WHERE coalesce(_strata_updated, _strata_tx) >= ?').raw(true)
    const startMs = nowMs()
    let versionCount = 0
    for (const row of history.iterate(fromTx, fromTx)) if (row !== undefined) versionCount += 1
    for (const row of open.iterate(fromTx)) if (row !== undefined) versionCount += 1
    return { versionsPerSecond: perSecond(versionCount, nowMs() - startMs), versionCount }
  } finally {
    database.close()
  }
}

export const feedSuite: Suite = {
  name: 'feed',
  description: 'change-feed changes per second for a backlog of row changes committed in batches',
  async run(context: SuiteContext): Promise<Measurement[]> {
    const insertCount = scaledCount(context, 150_000, 1_000)
    const updateCount = scaledCount(context, 30_000, 200)
    const deleteCount = scaledCount(context, 20_000, 200)
    const changeCount = insertCount + updateCount + deleteCount
    const insertRowsPerTransaction = 1_000
    // UPDATE and DELETE of many rows in one transaction cost the history triggers more per row, so
    // those batches are smaller; the feed reads them the same way.
    const rowsPerChangeBatch = 250
    return withTemporaryDirectory('feed', async (directory) => {
      const databaseDirectory = path.join(directory, 'strata')
      const db = await open(databaseDirectory)
      try {
        await db.query('CREATE TABLE events (id INTEGER PRIMARY KEY, kind VARCHAR NOT NULL, amount DOUBLE NOT NULL, owner VARCHAR NOT NULL)')
        const firstTx = (await db.syncStatus()).lastCommittedTx + 1
        context.log(`${changeCount} changes: ${insertCount} inserts, ${updateCount} updates, ${deleteCount} deletes`)
        const writeStartMs = nowMs()
        for (let first = 1; first <= insertCount; first += insertRowsPerTransaction) {
          const count = Math.min(insertRowsPerTransaction, insertCount - first + 1)
          await db.transaction((transaction) => insertRowsBatched(transaction, { table: 'events', rows: rows(first, count), rowsPerStatement: 1_000 }))
        }
        for (let first = 1; first <= updateCount; first += rowsPerChangeBatch) {
          await db.query('UPDATE events SET amount = amount + 1 WHERE id >= $1 AND id < $2', [first, Math.min(first + rowsPerChangeBatch, updateCount + 1)])
        }
        const deleteFrom = insertCount - deleteCount + 1
        for (let first = deleteFrom; first <= insertCount; first += rowsPerChangeBatch) {
          await db.query('DELETE FROM events WHERE id >= $1 AND id < $2', [first, Math.min(first + rowsPerChangeBatch, insertCount + 1)])
        }
        const writeDurationMs = nowMs() - writeStartMs
        context.log(`written in ${(writeDurationMs / 1000).toFixed(1)} s; reading the backlog`)

        const feed = db.subscribe({ fromTx: firstTx })
        const counts = { insert: 0, update: 0, delete: 0 }
        let bufferedMax = 0
        let previousTx = 0
        const readStartMs = nowMs()
        for (let index = 0; index < changeCount; index += 1) {
          const result = await feed.next()
          if (result.done === true) throw new Error(`the feed ended after ${index} of ${changeCount} changes`)
          const change: Change = result.value
          if (change.txId < previousTx) throw new Error(`change of tx ${change.txId} after tx ${previousTx}`)
          previousTx = change.txId
          counts[change.op] += 1
          if (feed.bufferedCount > bufferedMax) bufferedMax = feed.bufferedCount
        }
        const readDurationMs = nowMs() - readStartMs
        feed.close()
        if (counts.insert !== insertCount || counts.update !== updateCount || counts.delete !== deleteCount) {
          throw new Error(`the feed delivered ${JSON.stringify(counts)}, expected ${insertCount}/${updateCount}/${deleteCount}`)
        }
        if (bufferedMax > limits.feedPageRows) throw new Error(`a subscriber buffered ${bufferedMax} changes, more than a page`)

        const baseline = baselineScan(path.join(databaseDirectory, 'strata.sqlite'), firstTx)

        // Live: a waiting subscriber and single-row autocommit inserts, one at a time.
        const liveCount = scaledCount(context, 2_000, 100)
        const live = db.subscribe({ tables: ['events'] })
        const latenciesMs: number[] = []
        const writesMs: number[] = []
        for (let index = 0; index < liveCount; index += 1) {
          const id = insertCount + 1 + index
          const startMs = nowMs()
          let deliveredMs = 0
          const waiting = live.next().then((result) => {
            deliveredMs = nowMs()
            return result
          })
          await db.query('INSERT INTO events VALUES ($1, $2, $3, $4)', [id, 'live', 1, 'user-live'])
          writesMs.push(nowMs() - startMs)
          const result = await waiting
          if (result.done === true || result.value.key['id'] !== id) throw new Error('the live feed delivered the wrong change')
          latenciesMs.push(deliveredMs - startMs)
        }
        live.close()
        const details = {
          changeCount,
          insertCount,
          updateCount,
          deleteCount,
          insertRowsPerTransaction,
          rowsPerChangeBatch,
          pageRows: limits.feedPageRows,
          bufferedMax,
          readDurationMs,
          writeDurationMs,
          baselineVersionCount: baseline.versionCount,
          liveCount,
          liveWriteMedianMs: quantile(writesMs, 0.5),
        }
        context.log(JSON.stringify(details))
        return [
          {
            metric: `feed catch-up, ${changeCount} changes in batches`,
            unit: 'changes/s',
            strata: perSecond(changeCount, readDurationMs),
            baseline: perSecond(changeCount, (baseline.versionCount / baseline.versionsPerSecond) * 1000),
            baselineName: 'better-sqlite3 history scan',
            details,
          },
          {
            metric: 'feed live: insert() called → change delivered, p50',
            unit: 'ms',
            strata: quantile(latenciesMs, 0.5),
            baseline: null,
            details: { liveCount, liveWriteMedianMs: quantile(writesMs, 0.5) },
          },
          {
            metric: 'feed live: insert() called → change delivered, p99',
            unit: 'ms',
            strata: quantile(latenciesMs, 0.99),
            baseline: null,
            details: { liveCount, liveWriteP99Ms: quantile(writesMs, 0.99) },
          },
        ]
      } finally {
        await db.close()
      }
    })
  },
}
