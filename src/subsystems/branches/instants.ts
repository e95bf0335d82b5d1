/** An instant a statement names (CREATE BRANCH … AS OF x, VACUUM HISTORY … BEFORE x) as a point of the global commit order. */
import { evaluateInstant, type TimeExpression } from '../../sql/temporal.js'
import type { RowConnection } from '../../storage/rowstore/rowstore.js'
import type { StatementCall, SubsystemHost } from '../seam.js'

/**
 * The last commit at or before `instant` — a transaction id or a time, as time travel's AS OF takes
 * them (an integer is that transaction's system time) — or 0 before the first.
 */
export function commitAtSync(host: SubsystemHost, call: StatementCall, connection: RowConnection, instant: TimeExpression): number {
  const ledger = host.ledger
  const committed = ledger.lastCommitted
  let nowUs = ledger.nowMicros()
  if (nowUs < committed.systemTimeUs) nowUs = committed.systemTimeUs
  const atUs = evaluateInstant(instant, {
    params: call.params,
    nowUs,
    transactionTime: (txId) => (txId <= committed.txId ? ledger.systemTimeOfSync(connection, txId) : undefined),
  })
  const row = connection.prepareSync('SELECT max(tx_id) FROM _strata_tx WHERE system_time_us <= ? AND tx_id <= ?', { bigints: true }).allSync([atUs, committed.txId])[0]
  return row?.[0] === null || row?.[0] === undefined ? 0 : Number(row[0])
}

