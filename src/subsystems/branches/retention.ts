/**
 * VACUUM HISTORY t BEFORE x [DRY RUN] (SPEC 10, docs/branches.md "Retention"): removes the versions of
 * main's table `t` that were closed at or before the last commit at x, except those something still
 * reads — a version a live branch sees at its fork point, and a version a change-feed cursor or a sink
 * has not read past — and never a current version or a current valid-time piece. DRY RUN counts the
 * same versions and removes nothing. A removal is a commit whose `_strata_erasures` record makes the
 * column store copy the table anew (as after ERASE), so both stores answer time travel alike.
 */
import { historyTableName, isInternalTable } from '../../sql/catalog.js'
import type { VacuumHistory } from '../../sql/branches.js'
import { quoteIdentifier } from '../../sql/tree.js'
import type { RowConnection } from '../../storage/rowstore/rowstore.js'
import { StrataError } from '../../util/errors.js'
import type { Rows, StatementCall, SubsystemHost } from '../seam.js'
import { commitAtSync } from './instants.js'

export class Retention {
  constructor(private readonly host: SubsystemHost) {}

  run(call: StatementCall, vacuum: VacuumHistory): Rows {
    const table = this.host.schema.catalog.tables.get(vacuum.table)
    if (table === undefined || isInternalTable(vacuum.table)) throw new StrataError('UNDEFINED_TABLE', `table "${vacuum.table}" does not exist`)
    if (!vacuum.dryRun && call.explicitTransaction) throw new StrataError('TX_STATE', 'VACUUM HISTORY cannot run inside a transaction block')
    const connection = call.rowConnection()
    // A reader at position p may still need the changes of commit p (a cursor part-way through it): their before-images stay.
    const cutoff = Math.min(commitAtSync(this.host, call, connection, vacuum.before), this.oldestReaderSync(connection) - 1)
    const forks = this.forkPointsSync(connection)
    const history = `main.${quoteIdentifier(historyTableName(table.name))}`
    // Closed at or before the cutoff, and visible at no live branch's fork point.
    const needed = forks.map((fork) => `(_tx_from <= ${fork} AND _tx_to > ${fork})`)
    const condition = `_tx_to IS NOT NULL AND _tx_to <= ${cutoff}${needed.length === 0 ? '' : ` AND NOT (${needed.join(' OR ')})`}`
    const columns = [
      { name: 'table', type: 'VARCHAR' },
      { name: 'versions', type: 'BIGINT' },
    ]
    let versions: number
    if (vacuum.dryRun) versions = Number(connection.prepareSync(`SELECT count(*) FROM ${history} WHERE ${condition}`).allSync([])[0]![0])
    else {
      const pending = this.host.ledger.pendingCommit
      if (pending === undefined) throw new StrataError('INTERNAL', 'VACUUM HISTORY ran outside a write transaction')
      versions = connection.prepareSync(`DELETE FROM ${history} WHERE ${condition}`).runSync([]).changes
      if (versions > 0) {
        // The column store's copy of the history is made anew from what remains, as after ERASE.
        connection.prepareSync('INSERT INTO _strata_erasures (tx_id, table_name, entities, versions) VALUES (?, ?, 0, ?)').runSync([pending.txId, table.name, versions])
        call.stateChanged()
      }
    }
    return { rows: [[table.name, versions]], columns, rowCount: 0, engine: 'row' }
  }

  /** Main's states that live branches read: for each, the earliest fork point along its ancestry. */
  private forkPointsSync(connection: RowConnection): number[] {
    const rows = connection.prepareSync('SELECT id, parent_id, fork_tx FROM _strata_branches').allSync([])
    const byId = new Map(rows.map((row) => [Number(row[0]), { parent: Number(row[1]), forkTx: Number(row[2]) }]))
    const live = connection.prepareSync('SELECT id FROM _strata_branches WHERE dropped_tx IS NULL').allSync([])
    const points = new Set<number>()
    for (const row of live) {
      let bound = Infinity
      for (let id = Number(row[0]); id !== 0; ) {
        const link = byId.get(id)
        if (link === undefined) break
        bound = Math.min(bound, link.forkTx)
        id = link.parent
      }
      if (bound !== Infinity) points.add(bound)
    }
    return [...points].sort((a, b) => a - b)
  }

  /** The oldest position a change-feed cursor or a sink still reads from: versions closed after it stay. */
  private oldestReaderSync(connection: RowConnection): number {
    let oldest = Number.MAX_SAFE_INTEGER
    const tables = new Set(connection.prepareSync("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('_strata_cursors', '_strata_sinks')").allSync([]).map((row) => String(row[0])))
    if (tables.has('_strata_cursors')) {
      const row = connection.prepareSync('SELECT min(tx_id) FROM _strata_cursors').allSync([])[0]
      if (row?.[0] !== null && row?.[0] !== undefined) oldest = Math.min(oldest, Number(row[0]))
    }
    if (tables.has('_strata_sinks')) {
      const row = connection.prepareSync('SELECT min(coalesce(position_tx, created_tx)) FROM _strata_sinks').allSync([])[0]
      if (row?.[0] !== null && row?.[0] !== undefined) oldest = Math.min(oldest, Number(row[0]))
    }
    return oldest
  }
}
