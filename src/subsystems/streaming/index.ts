/**
 * Streaming SQL as a subsystem (SPEC 8): sources — CREATE/DROP/SHOW SOURCE (recognised from the
 * scanner's tokens by src/sql/streaming.ts), input by INSERT, `db.push`, `db.advanceWatermark` and
 * `db.flush`, watermarks and late events (sources.ts) — and streams over them — CREATE/DROP/SHOW
 * STREAM: stateless queries (with lookup joins), windowed aggregates (tumble, hop, session) and
 * aggregates without a window (EMIT CHANGES), evaluated by DuckDB in the batch's transaction
 * (streams.ts). A source is a table with a `source` definition in the catalog, a stream's output a
 * table with a `stream` one, so both read like any table; only Strata writes them (UPDATE, DELETE and
 * ALTER of a source, any write to a stream's table, are refused). What is not built yet is listed in
 * docs/streaming.md.
 */
import { deparseStatement } from '../../sql/deparse.js'
import type { PgNode } from '../../sql/parse.js'
import {
  recogniseCreateSink,
  recogniseCreateSource,
  recogniseCreateStream,
  recogniseDropSink,
  recogniseDropSource,
  recogniseDropStream,
  recogniseExplainStream,
  recogniseShowSinks,
  recogniseShowSources,
  recogniseShowStreams,
  type CreateStream,
} from '../../sql/streaming.js'
import { list, names, nodeBody, nodeKind } from '../../sql/tree.js'
import { StrataError } from '../../util/errors.js'
import type { OwnStatement, Rows, StatementCall, Subsystem, SubsystemHost } from '../seam.js'
import { Sources, type ConnectorProgress } from './sources.js'
import { Connectors } from './connectors.js'
import { Sinks } from './sinks.js'
import { Streams } from './streams.js'
import { TableViews } from './views.js'

/**
 * The streaming subsystem, registered in src/subsystems/index.ts.
 *
 * @example
 * const subsystem = streamingSubsystem(host)
 * subsystem.recognise?.(parseStatements('CREATE SOURCE s (v INT, ts TIMESTAMP, WATERMARK FOR ts)')[0]!)?.writes // true
 */
export function streamingSubsystem(host: SubsystemHost): Subsystem {
  const checkSinks = (table: Parameters<Sinks['checkDrop']>[0], cascade: boolean): void => sinks.checkDrop(table, cascade)
  const streams = new Streams(host, checkSinks)
  const views = new TableViews(host, streams)
  streams.createOverTable = (call, create, plan, table) => views.create(call, create, plan, table)
  streams.progressOf = (name) => sources.progressSync(host.rowStore.writer, name)
  streams.connectorErrorOf = (name) => connectors.errorOf(name)
  // Parquet files of a relation that only gains rows hold its rows; of one whose rows change, its changelog.
  const sinks: Sinks = new Sinks(host, (table) => table.source !== undefined || (table.stream !== undefined && !streams.emitsChanges(table as typeof table & { readonly stream: NonNullable<typeof table.stream> })))
  const connectors: Connectors = new Connectors(
    host,
    (name): number | null => sources.connectorOffsetSync(host.rowStore.reader, name),
    (name): Map<number, string> => sources.connectorReceiptsSync(host.rowStore.reader, name),
    () => sources.connectorReleasesSync(host.rowStore.reader),
  )
  // A CREATE or DROP SOURCE with a connector starts or stops it (connectors.ts: a connector whose source is gone, or never committed, stops itself).
  const sources: Sources = new Sources(host, streams, (name): string | undefined => connectors.errorOf(name), () => connectors.reconcileSoon(), checkSinks)
  sources.sinkReads = (relation) => sinks.overSync(host.rowStore.writer, relation).length > 0
  const dropStreams = (call: StatementCall, dropped: readonly string[], ifExists: boolean, cascade: boolean, what: string): Rows => {
    for (const name of dropped) {
      const table = host.schema.catalog.tables.get(name)
      if (table?.stream === undefined) {
        if (ifExists && table === undefined) continue
        throw new StrataError('UNDEFINED_TABLE', table === undefined ? `${what} "${name}" does not exist` : `"${name}" is a table, not a ${what}`)
      }
      // CASCADE drops the streams that read this one first, farthest first, with their sinks.
      if (cascade) {
        for (const listed of streams.dependentsOf(name)) {
          // A stream dropped earlier in the loop may have taken this one with it (its part).
          const dependent = host.schema.catalog.tables.get(listed.name)
          if (dependent?.stream === undefined) continue
          sinks.checkDrop(dependent, true)
          streams.dropSync(call, dependent as typeof listed)
        }
      }
      // A part of a stream dropped with its stream just now is gone already.
      const current = host.schema.catalog.tables.get(name)
      if (current?.stream === undefined) continue
      sinks.checkDrop(current, cascade)
      streams.dropSync(call, current as typeof current & { readonly stream: NonNullable<typeof current.stream> })
    }
    return { rows: [], columns: [], rowCount: 0, engine: 'row' }
  }
  /**
   * CREATE MATERIALIZED VIEW over a source is a stream (EMIT CHANGES for an aggregate without a
   * window, each window once for a windowed one); DROP MATERIALIZED VIEW drops one.
   */
  const materializedView = (tree: PgNode | undefined): OwnStatement | undefined => {
    const create = nodeBody(tree, 'CreateTableAsStmt')
    if (create !== undefined && create['objtype'] === 'OBJECT_MATVIEW') {
      const into = nodeBody({ IntoClause: create['into'] }, 'IntoClause')!
      const relation = nodeBody({ RangeVar: into['rel'] }, 'RangeVar')!
      if (list(into['colNames']).length > 0) throw new StrataError('NOT_SUPPORTED', 'CREATE MATERIALIZED VIEW with a column list (name the columns in the query)')
      const query = deparseStatement(create['query'])
      const definition: CreateStream = { name: String(relation['relname']), orReplace: false, ifNotExists: create['if_not_exists'] === true, query, emit: undefined }
      return { writes: true, run: (call: StatementCall) => streams.create(call, definition, 'materialized view') }
    }
    const drop = nodeBody(tree, 'DropStmt')
    if (drop !== undefined && drop['removeType'] === 'OBJECT_MATVIEW') {
      const dropped = list(drop['objects']).map((object) => names(nodeBody(object, 'List')?.['items']).at(-1) ?? '')
      return { writes: true, run: (call: StatementCall) => dropStreams(call, dropped, drop['missing_ok'] === true, drop['behavior'] === 'DROP_CASCADE', 'materialized view') }
    }
    return undefined
  }
  return {
    name: 'streaming',
    /** strata.sources (each source's watermark), strata.late_events and strata.streams, kept in the mirror by CDC (src/sync/mirror.ts). */
    relations: ['sources', 'late_events', 'streams'],
    recognise(statement) {
      // CREATE/DROP MATERIALIZED VIEW parse as PostgreSQL's; SHOW SOURCES is a SHOW of a setting by its grammar; the rest it rejects.
      const view = materializedView(statement.tree)
      if (view !== undefined) return view
      if (statement.tree !== undefined && nodeKind(statement.tree) !== 'VariableShowStmt') return undefined
      if (recogniseShowSources(statement.text, statement.tokens)) return { writes: false, run: (call: StatementCall) => sources.show(call) }
      if (recogniseShowStreams(statement.text, statement.tokens)) return { writes: false, run: (call: StatementCall) => streams.show(call) }
      if (recogniseShowSinks(statement.text, statement.tokens)) return { writes: false, run: (call: StatementCall) => sinks.show(call) }
      if (statement.tree !== undefined) return undefined
      const explained = recogniseExplainStream(statement.text, statement.tokens)
      if (explained !== undefined) return { writes: false, run: () => streams.explain(explained) }
      const stream = recogniseCreateStream(statement.text, statement.tokens)
      if (stream !== undefined) return { writes: true, run: (call: StatementCall) => streams.create(call, stream) }
      const dropStream = recogniseDropStream(statement.text, statement.tokens)
      if (dropStream !== undefined) return { writes: true, run: (call: StatementCall) => dropStreams(call, dropStream.names, dropStream.ifExists, dropStream.cascade, 'stream') }
      const createSink = recogniseCreateSink(statement.text, statement.tokens)
      if (createSink !== undefined) return { writes: true, run: (call: StatementCall) => sinks.create(call, createSink) }
      const dropSink = recogniseDropSink(statement.text, statement.tokens)
      if (dropSink !== undefined) return { writes: true, run: (call: StatementCall) => sinks.drop(call, dropSink) }
      const create = recogniseCreateSource(statement.text, statement.tokens)
      if (create !== undefined) return { writes: true, run: (call: StatementCall) => sources.create(call, create) }
      const drop = recogniseDropSource(statement.text, statement.tokens)
      if (drop !== undefined) return { writes: true, run: (call: StatementCall) => sources.drop(call, drop) }
      return undefined
    },
    claimWrite(_statement, kind, body) {
      const relation = nodeBody({ RangeVar: body['relation'] }, 'RangeVar')
      const table = relation === undefined ? undefined : host.schema.catalog.tables.get(String(relation['relname']))
      if (table?.stream !== undefined) return () => Promise.reject(new StrataError('NOT_SUPPORTED', `writing to the stream "${table.name}" (its rows are its query's results)`))
      if (table?.source === undefined) return undefined
      const source = table as typeof table & { readonly source: NonNullable<typeof table.source> }
      if (kind !== 'InsertStmt') {
        return () => Promise.reject(new StrataError('NOT_SUPPORTED', `${kind === 'UpdateStmt' ? 'UPDATE' : 'DELETE'} of the source "${table.name}" (a source is an append-only log of events)`))
      }
      return (call) => sources.insert(call, source, body)
    },
    calls: {
      push: (call, args) =>
        sources.push(call, String(args[0]), args[1] as readonly string[], args[2] as readonly (readonly unknown[])[], args[3] === 'default' ? 'default' : 'error', args[4] as ConnectorProgress | undefined),
      advanceWatermark: (call, args) => sources.advanceWatermark(call, String(args[0]), args[1]),
      flush: (call, args) => sources.flush(call, args[0] === undefined ? undefined : String(args[0])),
      sinkDelivered: (call, args) => sinks.delivered(call, args),
      // Internal: connectors.ts, once a dropped source's slot is dropped.
      connectorReleased: (call, args) => Promise.resolve(sources.connectorReleased(call, String(args[0]), Number(args[1]))),
    },
    beforeCommit: (call) => views.beforeCommit(call),
    onOpen: () => {
      connectors.open()
      sinks.open()
    },
    // Wakes the sinks' caught-up feeds (nothing when no sink runs). After a commit that dropped a source
    // holding a PostgreSQL slot, releases it (a DROP inside an explicit transaction commits after its
    // statement's reconcile); other commits do nothing here (connectors.ts says why reconciling after
    // every commit is avoided).
    afterCommit: () => {
      sinks.afterCommit()
      if (!sources.releasesPending) return
      sources.releasesPending = false
      connectors.reconcileSoon()
    },
    metrics: () => [...sources.metrics(host.rowStore.reader), ...streams.metrics(host.rowStore.reader)],
    onClose: async () => {
      await Promise.all([connectors.closeAll(), sinks.closeAll()])
    },
    schema: {
      checkDropTable: (table, options) => sinks.checkDrop(table, options.cascade),
      dropTable: (change, table) => {
        views.checkSchemaChange(table, 'DROP')
        streams.checkDropSync(table)
        sources.droppedSync(change.writer, table)
        streams.droppedSync(change.writer, table)
        views.droppedIndexesSync(change.writer, table)
        sinks.droppedSync(change.writer, table)
      },
      checkDropColumn: (table) => views.checkSchemaChange(table, 'DROP COLUMN'),
      renameColumn: (table) => {
        views.checkSchemaChange(table, 'RENAME COLUMN')
        return {}
      },
    },
  }
}
