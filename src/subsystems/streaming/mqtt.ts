/**
 * The MQTT connector of a source (`CREATE SOURCE … WITH (connector = 'mqtt', topic = 'a/b/#')`): it
 * subscribes to the topic filter in a persistent session and pushes what arrives as batches.
 *
 * MQTT has no offsets to replay from, so nothing is lost this way: the subscription is QoS 1 in a
 * session the broker keeps while Strata is closed (MQTT 5, clean start off, a session expiry of
 * `limits.mqttSessionExpirySeconds`, under the client id CREATE SOURCE stored), and a message is
 * acknowledged (PUBACK) only after the batch holding it has committed. Until then the broker holds it
 * and sends it again on the next connection.
 *
 * And nothing is taken twice: a crash after a batch commits and before its acknowledgements reach the
 * broker makes the broker send those messages again, marked DUP, with the packet identifiers they had.
 * Each batch commits, per packet identifier, a digest of topic and payload (a receipt,
 * `_strata_source_receipts`); a DUP message whose identifier holds its own digest is acknowledged and
 * not pushed again. The broker reuses an identifier only once the message that had it was
 * acknowledged, so a newer message under it replaces the receipt, and the record stays bounded by the
 * identifiers (65,535). What this cannot tell apart: a message never committed whose topic and payload
 * equal those of the last message committed under the same identifier, delivered, then redelivered
 * after a crash before its batch committed — a second identical message one identifier cycle (65,535
 * messages at Mosquitto) later. docs/streaming.md says so.
 *
 * `qos = 0` subscribes at most once, without a session (nothing is kept while Strata is closed); a
 * message published at QoS 0 arrives at most once whatever the subscription. Retained messages are
 * not read (they are the last state of a topic, not an event). `mqtt` is loaded only when a source has
 * this connector.
 */
import { createHash } from 'node:crypto'
import type { MqttConnector } from '../../sql/catalog.js'
import { StrataError } from '../../util/errors.js'
import { limits } from '../../util/limits.js'
import { eventOf, Inbox, type ConnectorBackend, type ConnectorRun } from './backend.js'

export const mqttConnector: ConnectorBackend<MqttConnector> = { consume }

/** The part of an incoming PUBLISH this connector reads. */
interface Publish {
  readonly topic: string
  readonly payload: Uint8Array
  readonly qos: number
  readonly dup?: boolean
  readonly messageId?: number
}

/** The digest committed for a message: topic and payload, as a redelivery carries them unchanged. */
function receiptOf(message: Publish): string {
  return createHash('sha256').update(message.topic).update('\0').update(message.payload).digest('hex').slice(0, 32)
}

/** One connection's life: subscribe in the session, push batches, acknowledge each once it committed. */
async function consume(run: ConnectorRun<MqttConnector>): Promise<void> {
  const mqtt = await import('mqtt')
  const { topic, server, qos, clientId } = run.connector
  if (clientId === undefined) throw new StrataError('INTERNAL', `the MQTT source ${run.source} has no client id (CREATE SOURCE gives it one)`)
  const inbox = new Inbox<Publish>()
  const client = mqtt.connect(`mqtt://${server}`, {
    clientId,
    protocolVersion: 5,
    clean: qos === 0,
    // Reconnecting is connectors.ts's job (with its backoff, from the committed state).
    reconnectPeriod: 0,
    connectTimeout: limits.connectorConnectTimeoutMs,
    properties: {
      sessionExpiryInterval: qos === 0 ? 0 : limits.mqttSessionExpirySeconds,
      // The broker sends at most this many unacknowledged messages: a batch's worth held in memory.
      receiveMaximum: limits.connectorBatchMessagesMax,
    },
  })
  // Set before the first packet can arrive (connect() only starts the connection), so that messages the
  // broker sends again right after CONNACK are held like any other.
  client.handleMessage = (packet, callback) => {
    inbox.put(packet as Publish)
    callback()
  }
  // mqtt.js acknowledges a QoS 1 message as soon as handleMessage calls back, and handles the next only
  // then: waiting there would make every batch one message. So its PUBACKs are held back here (on the
  // private sender it uses, mqtt 5.16.0 pinned in package.json) and this connector sends them itself once
  // the batch has committed. test/streaming-mqtt.test.ts's kill loop fails if a PUBACK goes early.
  const sender = client as unknown as { _sendPacket: (packet: { readonly cmd: string; readonly messageId?: number }, callback?: () => void) => void }
  const sendPacket = sender._sendPacket.bind(client)
  sender._sendPacket = (packet, callback) => {
    if (packet.cmd !== 'puback') return sendPacket(packet, callback)
    callback?.()
  }
  const closed = (what: string) => inbox.fail(new StrataError('IO_ERROR', `MQTT broker ${server}: ${what}`))
  client.on('error', (error) => closed(error.message))
  client.on('close', () => closed('the connection closed'))
  client.on('disconnect', (packet) => closed(`disconnected by the broker (reason ${packet.reasonCode ?? 0})`))
  run.onStop(() => client.endAsync(true))
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve())
    client.once('error', reject)
    client.once('close', () => reject(new StrataError('IO_ERROR', `MQTT broker ${server}: the connection closed before it was accepted`)))
  })
  if (run.stopped) return
  // rh 2: retained messages are not sent. In a resumed session the subscription exists already; subscribing again changes nothing.
  const granted = await client.subscribeAsync(topic, { qos: qos as 0 | 1, rh: 2 })
  const refused = granted.find((grant) => grant.qos > 2)
  if (refused !== undefined) throw new StrataError('IO_ERROR', `MQTT broker ${server} refused the subscription to ${topic} (reason ${refused.qos})`)
  const receipts = run.committedReceipts()
  let taken = run.committedOffset() ?? 0
  while (!run.stopped) {
    const batch = await inbox.batch({ itemsMax: limits.connectorBatchMessagesMax, lingerMs: limits.connectorBatchLingerMs })
    if (run.stopped) break
    const events: Record<string, unknown>[] = []
    const committed: [number, string][] = []
    for (const message of batch) {
      const receipt = message.qos > 0 && message.messageId !== undefined ? receiptOf(message) : undefined
      // A redelivery of a message already committed: acknowledged below, not pushed again.
      if (message.dup === true && receipt !== undefined && receipts.get(message.messageId!) === receipt) continue
      events.push(eventOf(message.payload, `a message on ${message.topic}${message.messageId === undefined ? '' : ` (packet ${message.messageId})`}`))
      if (receipt !== undefined) committed.push([message.messageId!, receipt])
    }
    if (events.length > 0) {
      await run.push(events, { offset: taken + events.length, receipts: committed })
      taken += events.length
      for (const [slot, receipt] of committed) receipts.set(slot, receipt)
    }
    // In the order received, as MQTT asks of QoS 1 acknowledgements.
    for (const message of batch) if (message.qos > 0 && message.messageId !== undefined) sendPacket({ cmd: 'puback', messageId: message.messageId })
  }
}
