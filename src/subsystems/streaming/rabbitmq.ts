/**
 * The RabbitMQ connector of a source (`CREATE SOURCE … WITH (connector = 'rabbitmq', queue = …)`): it
 * reads a stream queue (`x-queue-type = stream`, RabbitMQ 3.9 and later) over AMQP 0.9.1 and pushes
 * what arrives as batches, the last message's stream offset committed with each batch. A stream
 * queue keeps its messages after they are read and a consumer may start at any offset
 * (`x-stream-offset`), like a JetStream stream: a restart resumes after the committed offset, so no
 * message is lost or taken twice, with no acknowledgement to lose and no record of receipts.
 *
 * Classic and quorum queues are not read: a message taken from one is gone once acknowledged, which
 * needs acknowledgements after commit and a record of what was committed (as mqtt.ts keeps). The broker
 * refuses a starting offset on such a queue, and SHOW SOURCES says why; its messages stay in it. The queue
 * must exist: the connector does not declare it (its arguments — retention, size — are the owner's).
 * `amqplib` is loaded only when a source has this connector.
 */
import type { ConsumeMessage } from 'amqplib'
import type { RabbitmqConnector } from '../../sql/catalog.js'
import { StrataError } from '../../util/errors.js'
import { limits } from '../../util/limits.js'
import { connectUnlessStopped, eventOf, Inbox, type ConnectorBackend, type ConnectorRun } from './backend.js'

export const rabbitmqConnector: ConnectorBackend<RabbitmqConnector> = { consume }

/** One connection's life: consume the stream queue from the offset after the committed one, push batches. */
async function consume(run: ConnectorRun<RabbitmqConnector>): Promise<void> {
  const amqp = await import('amqplib')
  const { queue, server } = run.connector
  const inbox = new Inbox<ConsumeMessage>()
  const connection = await connectUnlessStopped(run, amqp.connect(server.includes('://') ? server : `amqp://${server}`, { timeout: limits.connectorConnectTimeoutMs }), (made) => made.close())
  if (connection === undefined) return
  const closed = (what: string) => inbox.fail(new StrataError('IO_ERROR', `RabbitMQ ${server}: ${what}`))
  // Without a listener an 'error' event would end the process.
  connection.on('error', (error: Error) => closed(error.message))
  connection.on('close', () => closed('the connection closed'))
  run.onStop(() => connection.close())
  if (run.stopped) return
  const channel = await connection.createChannel()
  channel.on('error', (error: Error) => closed(error.message))
  channel.on('close', () => closed('the channel closed'))
  try {
    await channel.checkQueue(queue)
  } catch (error) {
    throw new StrataError('IO_ERROR', `RabbitMQ ${server} has no queue ${queue}`, { cause: error })
  }
  // A stream queue needs a prefetch: how many unacknowledged messages it sends (a batch's worth).
  await channel.prefetch(limits.connectorBatchMessagesMax)
  let offset = run.committedOffset()
  try {
    await channel.consume(queue, (message) => (message === null ? closed(`the queue ${queue} cancelled the consumer`) : inbox.put(message)), {
      noAck: false,
      arguments: { 'x-stream-offset': offset === null ? 'first' : offset + 1 },
    })
  } catch (error) {
    // 406 PRECONDITION_FAILED: a classic or quorum queue refuses a starting offset.
    if ((error as { code?: unknown }).code !== 406) throw error
    throw new StrataError('NOT_SUPPORTED', `the RabbitMQ queue ${queue} is not a stream queue (x-queue-type = stream): classic and quorum queues are not read yet`, { cause: error })
  }
  while (!run.stopped) {
    const batch = await inbox.batch({ itemsMax: limits.connectorBatchMessagesMax, lingerMs: limits.connectorBatchLingerMs })
    if (run.stopped) break
    const events: Record<string, unknown>[] = []
    let last = offset
    for (const message of batch) {
      const messageOffset: unknown = message.properties.headers?.['x-stream-offset']
      if (typeof messageOffset !== 'number') {
        throw new StrataError('NOT_SUPPORTED', `the RabbitMQ queue ${queue} is not a stream queue (x-queue-type = stream): classic and quorum queues are not read yet`)
      }
      // The broker starts at the offset asked for; one at or before the committed offset is not taken again.
      if (last !== null && messageOffset <= last) continue
      events.push(eventOf(message.content, `message ${messageOffset} in ${queue}`))
      last = messageOffset
    }
    if (events.length > 0) {
      await run.push(events, { offset: last! })
      offset = last
    }
    // On a stream queue an acknowledgement removes nothing: it lets the broker send the next batch.
    channel.ack(batch[batch.length - 1]!, true)
  }
}
