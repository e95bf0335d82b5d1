/**
 * The NATS JetStream connector of a source (`CREATE SOURCE … WITH (connector = 'nats', subject = …)`):
 * it reads the subject from the JetStream stream that holds it and pushes each fetch as one batch, the
 * last message's stream sequence committed with that batch. A restart resumes after the committed
 * sequence, so no message is lost or taken twice.
 *
 * Messages are JSON objects, one event each, with every column of the source (timestamps in ISO 8601).
 * A message that does not fit the source fails its batch: the connector shows the error and retries
 * from the committed sequence (connectors.ts), so it stops the source there, as a failing INSERT
 * would, rather than being skipped. `nats` is loaded only when a source has this connector.
 */
import type { NatsConnector } from '../../sql/catalog.js'
import { StrataError } from '../../util/errors.js'
import { limits } from '../../util/limits.js'
import { connectUnlessStopped, eventOf, type ConnectorBackend, type ConnectorRun } from './backend.js'

export const natsConnector: ConnectorBackend<NatsConnector> = { consume }

/** One connection's life: from the committed sequence, fetch and push until stopped or something fails. */
async function consume(run: ConnectorRun<NatsConnector>): Promise<void> {
  const nats = await import('nats')
  const { subject, server } = run.connector
  const connection = await connectUnlessStopped(run, nats.connect({ servers: server, reconnect: false, timeout: limits.connectorConnectTimeoutMs }), (made) => made.close())
  if (connection === undefined) return
  run.onStop(() => connection.close())
  if (run.stopped) return
  const manager = await connection.jetstreamManager()
  let stream: string
  try {
    stream = await manager.streams.find(subject)
  } catch (error) {
    throw new StrataError('IO_ERROR', `no JetStream stream holds the subject ${subject} on ${server}`, { cause: error })
  }
  const offset = run.committedOffset()
  // An ephemeral consumer from the next message after the committed one; the server drops it once idle.
  const info = await manager.consumers.add(stream, {
    filter_subject: subject,
    deliver_policy: offset === null ? nats.DeliverPolicy.All : nats.DeliverPolicy.StartSequence,
    ...(offset === null ? {} : { opt_start_seq: offset + 1 }),
    ack_policy: nats.AckPolicy.None,
    inactive_threshold: nats.nanos(60_000),
  })
  const consumer = await connection.jetstream().consumers.get(stream, info.name)
  // Pulled, not pushed: the consumer asks for more only as batches are taken, so nothing piles up in memory.
  const messages = await consumer.consume({ max_messages: limits.connectorBatchMessagesMax })
  run.onStop(async () => {
    messages.stop()
    await connection.close()
  })
  const iterator = messages[Symbol.asyncIterator]()
  let pending = iterator.next()
  while (!run.stopped) {
    // A batch: the next message whenever it comes, then whatever else arrives within the linger.
    const first = await pending
    if (first.done === true) break
    const batch = [first.value]
    pending = iterator.next()
    const lingerUntil = Date.now() + limits.connectorBatchLingerMs
    while (batch.length < limits.connectorBatchMessagesMax) {
      let timer: NodeJS.Timeout | undefined
      const next = await Promise.race([pending, new Promise<'linger'>((resolve) => (timer = setTimeout(() => resolve('linger'), Math.max(0, lingerUntil - Date.now()))))])
      clearTimeout(timer)
      if (next === 'linger' || next.done === true) break
      batch.push(next.value)
      pending = iterator.next()
    }
    if (run.stopped) break
    const events = batch.map((message) => eventOf(message.data, `message ${message.seq} on ${subject}`))
    await run.push(events, { offset: batch[batch.length - 1]!.seq })
  }
}
