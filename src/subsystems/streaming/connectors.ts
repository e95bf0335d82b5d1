/**
 * Source connectors (`CREATE SOURCE … WITH (connector = 'nats' | 'mqtt' | 'rabbitmq', …)`): while the
 * database is open, each source with a connector has one running here, which reads its broker and
 * pushes what arrives as batches (`host.call('push', …)`: one batch, one transaction), the connector's
 * position after the batch committed in the same transaction. A restart resumes from that position.
 *
 * This file holds what every broker shares — which connectors run (reconcile), the retry loop with its
 * backoff and the error SHOW SOURCES shows. Each broker has one file with one export of the same shape,
 * a `ConnectorBackend` (backend.ts, with the batching and decoding they share): nats.ts, mqtt.ts,
 * rabbitmq.ts, postgres.ts, each one connection's life, from the committed position until it is stopped
 * or fails. A backend that holds something at the broker for its source (postgres.ts: a replication
 * slot) releases it once the source's DROP committed: DROP SOURCE records the connector in
 * `_strata_connector_releases` in its transaction, and after it committed (or at the next open, or
 * after a failure at the next DROP) the record is read from committed state, the connector stopped, the
 * slot dropped and the record deleted. A DROP that rolls back leaves no record, so its slot stays.
 * Broker packages are loaded by those files with a dynamic import, only when a source uses them.
 */
import type { SourceConnector } from '../../sql/catalog.js'
import { limits } from '../../util/limits.js'
import type { SubsystemHost } from '../seam.js'
import type { ConnectorBackend, ConnectorRun } from './backend.js'
import { mqttConnector } from './mqtt.js'
import { natsConnector } from './nats.js'
import { postgresCdcConnector } from './postgres.js'
import { rabbitmqConnector } from './rabbitmq.js'
import type { ConnectorRelease } from './sources.js'

type Backends = { readonly [Kind in SourceConnector['kind']]: ConnectorBackend<Extract<SourceConnector, { readonly kind: Kind }>> }

const backends: Backends = { nats: natsConnector, mqtt: mqttConnector, rabbitmq: rabbitmqConnector, 'postgres-cdc': postgresCdcConnector }

interface Running {
  readonly connector: SourceConnector
  stopped: boolean
  error: string | undefined
  /** Resolves when the loop has ended (after `stop`). */
  readonly done: Promise<void>
  /** Resolves when the connector is told to stop (`stop`). */
  readonly stopping: Promise<void>
  readonly signalStop: () => void
  close: (() => Promise<void>) | undefined
}

/** Two definitions read the same thing the same way (a CREATE OR REPLACE that changed neither keeps its connector running). */
function sameConnector(left: SourceConnector | undefined, right: SourceConnector): boolean {
  return left !== undefined && JSON.stringify(left) === JSON.stringify(right)
}

/** Whether two connectors hold the same thing at their broker (one PostgreSQL slot). */
function holdsSame(left: SourceConnector, right: SourceConnector): boolean {
  if (left.kind !== 'postgres-cdc' || right.kind !== 'postgres-cdc') return false
  return left.slot === right.slot && left.server === right.server && left.database === right.database
}

export class Connectors {
  private readonly running = new Map<string, Running>()
  /** Connectors told to stop whose loop has not ended yet: a slot is released only after. */
  private readonly stopping = new Set<Promise<void>>()
  private opened = false
  private releasing: Promise<void> | undefined
  private releaseAgain = false

  constructor(
    private readonly host: SubsystemHost,
    /** The committed offset of a source (its connector's position), or null. */
    private readonly offsetOf: (source: string) => number | null,
    /** The committed receipts of a source's connector. */
    private readonly receiptsOf: (source: string) => Map<number, string>,
    /** The committed release records (dropped sources' connectors whose broker state is still held). */
    private readonly releasesOf: () => readonly ConnectorRelease[],
  ) {}

  /** The last error of a source's connector, if it has one running and in trouble. */
  errorOf(source: string): string | undefined {
    return this.running.get(source)?.error
  }

  /** Once the engine is open: connectors start from here on, and after each commit that adds or drops one. */
  open(): void {
    this.opened = true
    this.reconcile()
  }

  /**
   * Reconciles once the statement that created or dropped a source has ended (its transaction committed
   * or rolled back): a connector started for a source whose CREATE then rolled back finds it gone and
   * stops by itself. (Reconciling from an `afterCommit` hook after every commit instead made
   * test/kill.test.ts's worker hang in about one run in five: its event loop emptied with a write
   * pending and V8 deadlocked draining tasks. The cause is not understood; the hook is not used.)
   */
  reconcileSoon(): void {
    setImmediate(() => this.reconcile())
  }

  /** Starts a connector for every source that has one and none running, stops those whose source is gone or changed. */
  reconcile(): void {
    if (!this.opened) return
    const wanted = new Map<string, SourceConnector>()
    for (const table of this.host.schema.catalog.tables.values()) {
      if (table.source?.connector !== undefined) wanted.set(table.name, table.source.connector)
    }
    for (const [name, running] of this.running) {
      if (!sameConnector(wanted.get(name), running.connector)) void this.stop(name)
    }
    for (const [name, connector] of wanted) if (!this.running.has(name)) this.start(name, connector)
    this.releaseSoon()
  }

  /**
   * Releases what dropped sources' connectors hold at their brokers, one pass at a time (a pass asked
   * for while one runs follows it). A failure (the broker away) leaves the record for a later pass.
   */
  private releaseSoon(): void {
    if (this.releasing !== undefined) {
      this.releaseAgain = true
      return
    }
    this.releasing = (async () => {
      do {
        this.releaseAgain = false
        await this.releaseOnce()
      } while (this.releaseAgain && this.opened)
    })().finally(() => (this.releasing = undefined))
  }

  private async releaseOnce(): Promise<void> {
    let releases: readonly ConnectorRelease[]
    try {
      releases = this.releasesOf()
    } catch {
      return
    }
    if (releases.length === 0) return
    // A slot is dropped only once the connector reading it has let go.
    await Promise.all([...this.stopping])
    for (const release of releases) {
      if (!this.opened) return
      try {
        const backend = backends[release.connector.kind] as ConnectorBackend<SourceConnector>
        // A source made again over the same slot keeps it (CREATE OR REPLACE naming its slot).
        const kept = [...this.host.schema.catalog.tables.values()].some((table) => table.source?.connector !== undefined && holdsSame(table.source.connector, release.connector))
        if (!kept) await backend.release?.(release.source, release.connector)
        await this.host.call('connectorReleased', [release.source, release.txId])
      } catch {
        // Tried again at the next open, or after the next CREATE or DROP SOURCE with a connector.
      }
    }
  }

  private start(source: string, connector: SourceConnector): void {
    let finish!: () => void
    let signalStop!: () => void
    const stopping = new Promise<void>((resolve) => (signalStop = resolve))
    const running: Running = { connector, stopped: false, error: undefined, done: new Promise((resolve) => (finish = resolve)), stopping, signalStop, close: undefined }
    this.running.set(source, running)
    void this.loop(source, running).finally(finish)
  }

  private async stop(source: string): Promise<void> {
    const running = this.running.get(source)
    if (running === undefined) return
    this.running.delete(source)
    running.stopped = true
    running.signalStop()
    const stopped = (async () => {
      await running.close?.().catch(() => undefined)
      await running.done
    })()
    this.stopping.add(stopped)
    await stopped.finally(() => this.stopping.delete(stopped))
  }

  async closeAll(): Promise<void> {
    this.opened = false
    await Promise.all([...this.running.keys()].map((source) => this.stop(source)))
    await this.releasing
  }

  /** Connections one after another, each from the committed position; between failures a backoff. */
  private async loop(source: string, running: Running): Promise<void> {
    let backoffMs: number = limits.connectorBackoffMinMs
    while (!running.stopped) {
      // Its source dropped or changed, or its CREATE rolled back: nothing to read for.
      if (!sameConnector(this.host.schema.catalog.tables.get(source)?.source?.connector, running.connector)) {
        if (this.running.get(source) === running) this.running.delete(source)
        break
      }
      try {
        await this.consume(source, running)
      } catch (error) {
        if (running.stopped) break
        running.error = error instanceof Error ? error.message : String(error)
        await new Promise((resolve) => setTimeout(resolve, backoffMs))
        backoffMs = Math.min(backoffMs * 2, limits.connectorBackoffMaxMs)
        continue
      } finally {
        await running.close?.().catch(() => undefined)
        running.close = undefined
      }
      backoffMs = limits.connectorBackoffMinMs
    }
  }

  private consume(source: string, running: Running): Promise<void> {
    const run: ConnectorRun<SourceConnector> = {
      source,
      connector: running.connector,
      columns: this.host.schema.catalog.tables.get(source)?.columns.map((column) => column.name) ?? [],
      get stopped() {
        return running.stopped
      },
      stopping: running.stopping,
      committedOffset: () => this.offsetOf(source),
      committedReceipts: () => this.receiptsOf(source),
      push: async (events, progress) => {
        const columns: string[] = []
        for (const event of events) for (const key of Object.keys(event)) if (!columns.includes(key)) columns.push(key)
        await this.host.call('push', [source, columns, events.map((event) => columns.map((column) => event[column])), 'error', progress])
        running.error = undefined
      },
      onStop: (close) => {
        running.close = close
      },
    }
    // Each backend takes its own kind of connector; the table above pairs them.
    return (backends[running.connector.kind] as ConnectorBackend<SourceConnector>).consume(run)
  }
}
