/**
 * The one interface a source connector's broker implements (connectors.ts runs them; nats.ts, mqtt.ts,
 * rabbitmq.ts and postgres.ts are the backends), and what the backends share: JSON decoding of a message into an
 * event, and batching of messages that arrive by callback.
 */
import type { SourceConnector } from '../../sql/catalog.js'
import { StrataError } from '../../util/errors.js'
import type { ConnectorProgress } from './sources.js'

/** What a backend gets for one connection's life: its source, its committed position, and the way in. */
export interface ConnectorRun<Connector extends SourceConnector> {
  readonly source: string
  readonly connector: Connector
  /** The source's columns: what an event may carry (a backend that builds its events picks these). */
  readonly columns: readonly string[]
  /** True once the connector is stopping: the backend returns (or throws) soon. */
  readonly stopped: boolean
  /** Resolves when the connector is told to stop. */
  readonly stopping: Promise<void>
  /** The offset committed with the source's last batch (as the backend defines it), or null before the first. */
  committedOffset(): number | null
  /** The receipts committed with the source's batches (slot → digest), for a backend that keeps them. */
  committedReceipts(): Map<number, string>
  /** One batch: the events (one JSON object each) and the position after them, committed together. */
  push(events: readonly Record<string, unknown>[], progress: ConnectorProgress): Promise<void>
  /** How to end the connection at once when the connector stops; a later call replaces an earlier one. */
  onStop(close: () => Promise<void>): void
}

/** One broker: reads from the committed position and pushes batches until stopped (returns) or in trouble (throws). */
export interface ConnectorBackend<Connector extends SourceConnector> {
  consume(run: ConnectorRun<Connector>): Promise<void>
  /**
   * For a backend that holds something at the broker for its source (a PostgreSQL replication slot,
   * which keeps WAL until read): frees it once the source's DROP committed and its connector stopped.
   * Must be idempotent: a failure is tried again later.
   */
  release?(source: string, connector: Connector): Promise<void>
}

/**
 * A connection being made (`connecting`), given up when the connector (or sink) is told to stop first: what it
 * made, or undefined once stopped — a connection made after that is closed by `close`. A stop never
 * waits for a broker that accepted the TCP connection and does not answer: pg's connect() never
 * settles when end() is called while it connects, NATS's waits for its connect timeout, amqplib's has
 * none (test/streaming-connector-stop.test.ts).
 *
 * @example
 * const connection = await connectUnlessStopped(run, nats.connect({ servers }), (made) => made.close())
 * if (connection === undefined) return
 */
export async function connectUnlessStopped<Made>(run: { readonly stopping: Promise<void> }, connecting: Promise<Made>, close: (made: Made) => unknown): Promise<Made | undefined> {
  const outcome = await Promise.race([connecting.then((made) => ({ made })), run.stopping.then(() => undefined)])
  if (outcome !== undefined) return outcome.made
  connecting.then(
    (made) => Promise.resolve(close(made)).catch(() => undefined),
    () => undefined,
  )
  return undefined
}

/**
 * A message's payload as one event: a JSON object (`where` names the message in the error).
 *
 * @example
 * eventOf(new TextEncoder().encode('{"v": 1}'), 'message 7 on a.b') // { v: 1 }
 */
export function eventOf(payload: Uint8Array, where: string): Record<string, unknown> {
  let event: unknown
  try {
    event = JSON.parse(new TextDecoder().decode(payload))
  } catch {
    throw new StrataError('TYPE_MISMATCH', `${where} is not JSON`)
  }
  if (typeof event !== 'object' || event === null || Array.isArray(event)) throw new StrataError('TYPE_MISMATCH', `${where} is not a JSON object`)
  return event as Record<string, unknown>
}

/**
 * Messages from a client that delivers by callback (MQTT, AMQP), taken in batches. It holds what the
 * broker sends unacknowledged, which the backends bound (MQTT's receive maximum, AMQP's prefetch) to
 * a batch's worth, so it needs no bound of its own. After a failure (the connection lost) it gives
 * what it already holds, then the failure.
 */
export class Inbox<Item> {
  private readonly items: Item[] = []
  private failure: Error | undefined
  private wake: (() => void) | undefined

  put(item: Item): void {
    if (this.failure !== undefined) return
    this.items.push(item)
    this.wake?.()
  }

  fail(error: Error): void {
    this.failure ??= error
    this.wake?.()
  }

  /** The next batch: whenever the first item comes, then whatever else arrives within the linger, up to `itemsMax`. */
  async batch({ itemsMax, lingerMs }: { readonly itemsMax: number; readonly lingerMs: number }): Promise<Item[]> {
    while (this.items.length === 0) {
      if (this.failure !== undefined) throw this.failure
      await new Promise<void>((resolve) => (this.wake = resolve))
      this.wake = undefined
    }
    const lingerUntil = Date.now() + lingerMs
    while (this.items.length < itemsMax && this.failure === undefined) {
      const waitMs = lingerUntil - Date.now()
      if (waitMs <= 0) break
      let timer: NodeJS.Timeout | undefined
      await new Promise<void>((resolve) => {
        this.wake = resolve
        timer = setTimeout(resolve, waitMs)
      })
      clearTimeout(timer)
      this.wake = undefined
    }
    return this.items.splice(0, itemsMax)
  }
}
