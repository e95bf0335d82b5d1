/**
 * Streaming SQL as a subsystem (SPEC 8). This first part is its sources: CREATE/DROP/SHOW SOURCE
 * (recognised from the scanner's tokens by src/sql/streaming.ts), input by INSERT, `db.push`,
 * `db.advanceWatermark` and `db.flush`, watermarks and late events (sources.ts). A source is a table
 * with a `source` definition in the catalog, so `SELECT * FROM s` reads its accepted events like any
 * table; UPDATE, DELETE and ALTER of a source are refused (it is an append-only log of events).
 * Streams, windows and materialized views over sources come next (docs/streaming.md).
 */
import { recogniseCreateSource, recogniseDropSource, recogniseShowSources } from '../../sql/streaming.js'
import { nodeBody, nodeKind } from '../../sql/tree.js'
import { StrataError } from '../../util/errors.js'
import type { StatementCall, Subsystem, SubsystemHost } from '../seam.js'
import { Sources } from './sources.js'

/**
 * The streaming subsystem, registered in src/subsystems/index.ts.
 *
 * @example
 * const subsystem = streamingSubsystem(host)
 * subsystem.recognise?.(parseStatements('CREATE SOURCE s (v INT, ts TIMESTAMP, WATERMARK FOR ts)')[0]!)?.writes // true
 */
export function streamingSubsystem(host: SubsystemHost): Subsystem {
  const sources = new Sources(host)
  return {
    name: 'streaming',
    /** strata.sources (each source's watermark) and strata.late_events, kept in the mirror by CDC (src/sync/mirror.ts). */
    relations: ['sources', 'late_events'],
    recognise(statement) {
      // SHOW SOURCES is a PostgreSQL SHOW of a setting by its grammar; the rest it rejects.
      if (statement.tree !== undefined && nodeKind(statement.tree) !== 'VariableShowStmt') return undefined
      if (recogniseShowSources(statement.text, statement.tokens)) return { writes: false, run: (call: StatementCall) => sources.show(call) }
      if (statement.tree !== undefined) return undefined
      const create = recogniseCreateSource(statement.text, statement.tokens)
      if (create !== undefined) return { writes: true, run: (call: StatementCall) => sources.create(call, create) }
      const drop = recogniseDropSource(statement.text, statement.tokens)
      if (drop !== undefined) return { writes: true, run: (call: StatementCall) => sources.drop(call, drop) }
      return undefined
    },
    claimWrite(_statement, kind, body) {
      const relation = nodeBody({ RangeVar: body['relation'] }, 'RangeVar')
      const table = relation === undefined ? undefined : host.schema.catalog.tables.get(String(relation['relname']))
      if (table?.source === undefined) return undefined
      const source = table as typeof table & { readonly source: NonNullable<typeof table.source> }
      if (kind !== 'InsertStmt') {
        return () => Promise.reject(new StrataError('NOT_SUPPORTED', `${kind === 'UpdateStmt' ? 'UPDATE' : 'DELETE'} of the source "${table.name}" (a source is an append-only log of events)`))
      }
      return (call) => sources.insert(call, source, body)
    },
    calls: {
      push: (call, args) => sources.push(call, String(args[0]), args[1] as readonly string[], args[2] as readonly (readonly unknown[])[], args[3] === 'default' ? 'default' : 'error'),
      advanceWatermark: (call, args) => sources.advanceWatermark(call, String(args[0]), args[1]),
      flush: (call, args) => sources.flush(call, args[0] === undefined ? undefined : String(args[0])),
    },
    schema: {
      dropTable: (change, table) => sources.droppedSync(change.writer, table),
      checkDropColumn: (table) => {
        if (table.source !== undefined) throw new StrataError('NOT_SUPPORTED', `ALTER TABLE of the source "${table.name}"`)
      },
    },
  }
}
