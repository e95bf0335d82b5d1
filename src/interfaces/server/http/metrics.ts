/**
 * GET /metrics in Prometheus's text exposition format (version 0.0.4): queries by outcome and store,
 * a latency histogram, the CDC sync lag, open connections, and the subsystems' own samples (streaming's
 * sources and streams, read from committed state). Counters live in memory and start at zero with the
 * process, as Prometheus expects.
 */

/** Upper bounds (seconds) of the latency histogram: from a point read to a long analytical query. */
const latencyBucketsSeconds = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] as const

export type QueryOutcome = 'succeeded' | 'failed' | 'cancelled' | 'timeout'

interface Histogram {
  readonly bucketCounts: number[]
  count: number
  sumSeconds: number
}

/** A metric family a subsystem reports (the engine's `subsystemMetrics`): name, help, type, samples by labels. */
export interface SampledFamily {
  readonly name: string
  readonly help: string
  readonly type: 'counter' | 'gauge'
  readonly samples: readonly { readonly labels: Readonly<Record<string, string>>; readonly value: number }[]
}

/** What the server adds at scrape time: values that are read, not counted. */
export interface MetricsSnapshot {
  readonly sync: { readonly lastCommittedTx: number; readonly lastAppliedTx: number; readonly lagTx: number; readonly lagMs: number } | undefined
  readonly httpConnections: number
  readonly httpQueriesInFlight: number
  /** GET /changes responses being sent now. */
  readonly httpChangeStreams?: number
  /** Open PostgreSQL connections, when the PG server runs in this process. */
  readonly pgConnections: number | undefined
  readonly resultsPending: number
  /** The subsystems' own samples (streaming's sources and streams). */
  readonly subsystems?: readonly SampledFamily[]
}

export class Metrics {
  /** `${outcome}\u0000${engine}` → count. */
  private readonly queries = new Map<string, number>()
  private readonly latency = new Map<string, Histogram>()
  private readonly requests = new Map<string, number>()

  recordQuery(outcome: QueryOutcome, engine: string, durationMs: number): void {
    const key = `${outcome}\u0000${engine}`
    this.queries.set(key, (this.queries.get(key) ?? 0) + 1)
    let histogram = this.latency.get(engine)
    if (histogram === undefined) {
      histogram = { bucketCounts: latencyBucketsSeconds.map(() => 0), count: 0, sumSeconds: 0 }
      this.latency.set(engine, histogram)
    }
    const seconds = durationMs / 1000
    for (let index = 0; index < latencyBucketsSeconds.length; index++) {
      if (seconds <= latencyBucketsSeconds[index]!) histogram.bucketCounts[index]! += 1
    }
    histogram.count += 1
    histogram.sumSeconds += seconds
  }

  /** One HTTP response, by its status code (all routes together: ids in paths would explode the labels). */
  recordResponse(status: number): void {
    const key = String(status)
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1)
  }

  /**
   * The exposition text.
   *
   * @example
   * metrics.render({ sync: undefined, httpConnections: 1, httpQueriesInFlight: 0, pgConnections: undefined, resultsPending: 0 })
   * // '# HELP strata_http_queries_total …'
   */
  render(snapshot: MetricsSnapshot): string {
    const lines: string[] = []
    lines.push('# HELP strata_http_queries_total Statements run through POST /query, by outcome and the store that answered.')
    lines.push('# TYPE strata_http_queries_total counter')
    for (const [key, count] of [...this.queries].sort()) {
      const [outcome, engine] = key.split('\u0000') as [string, string]
      lines.push(`strata_http_queries_total{status="${outcome}",engine="${engine}"} ${count}`)
    }
    lines.push('# HELP strata_http_query_duration_seconds Time from receiving POST /query to having its result, by store.')
    lines.push('# TYPE strata_http_query_duration_seconds histogram')
    for (const [engine, histogram] of [...this.latency].sort(([a], [b]) => a.localeCompare(b))) {
      latencyBucketsSeconds.forEach((bound, index) => {
        lines.push(`strata_http_query_duration_seconds_bucket{engine="${engine}",le="${bound}"} ${histogram.bucketCounts[index]}`)
      })
      lines.push(`strata_http_query_duration_seconds_bucket{engine="${engine}",le="+Inf"} ${histogram.count}`)
      lines.push(`strata_http_query_duration_seconds_sum{engine="${engine}"} ${histogram.sumSeconds}`)
      lines.push(`strata_http_query_duration_seconds_count{engine="${engine}"} ${histogram.count}`)
    }
    lines.push('# HELP strata_http_responses_total HTTP responses, by status code.')
    lines.push('# TYPE strata_http_responses_total counter')
    for (const [status, count] of [...this.requests].sort()) lines.push(`strata_http_responses_total{code="${status}"} ${count}`)
    gauge(lines, 'strata_http_queries_in_flight', 'Statements of POST /query running now.', snapshot.httpQueriesInFlight)
    gauge(lines, 'strata_http_connections', 'Open HTTP connections.', snapshot.httpConnections)
    gauge(lines, 'strata_http_change_streams', 'GET /changes responses being sent now, each with its change feed.', snapshot.httpChangeStreams ?? 0)
    if (snapshot.pgConnections !== undefined) gauge(lines, 'strata_pg_connections', 'Open PostgreSQL protocol connections.', snapshot.pgConnections)
    gauge(lines, 'strata_results_pending', 'Results waiting to be persisted.', snapshot.resultsPending)
    if (snapshot.sync !== undefined) {
      gauge(lines, 'strata_last_committed_tx', 'Highest committed transaction id.', snapshot.sync.lastCommittedTx)
      gauge(lines, 'strata_last_applied_tx', 'Highest transaction id the column store reflects.', snapshot.sync.lastAppliedTx)
      gauge(lines, 'strata_sync_lag_tx', 'Committed transactions the column store does not reflect yet.', snapshot.sync.lagTx)
      gauge(lines, 'strata_sync_lag_ms', 'Age of the oldest commit the column store does not reflect yet (0 when caught up).', snapshot.sync.lagMs)
    }
    for (const family of snapshot.subsystems ?? []) {
      lines.push(`# HELP ${family.name} ${family.help}`, `# TYPE ${family.name} ${family.type}`)
      for (const sample of family.samples) {
        const labels = Object.entries(sample.labels).map(([name, value]) => `${name}="${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n')}"`)
        lines.push(`${family.name}${labels.length === 0 ? '' : `{${labels.join(',')}}`} ${sample.value}`)
      }
    }
    return `${lines.join('\n')}\n`
  }
}

function gauge(lines: string[], name: string, help: string, value: number): void {
  lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name} ${value}`)
}
