/**
 * SELECT: routing (Rhei's rules: simple single-table lookups → row store; everything analytical →
 * column store), row-store reads, column-store reads through `ColumnReads`, result columns' nullability,
 * streamed reads, and the evaluation of a write's source query. A SELECT a subsystem claims (time
 * travel) is run by it, through a `StatementCall` made here.
 */
import type { RowValue } from '../storage/rowstore/rowstore.js'
import { applyEdits } from '../sql/edits.js'
import { fingerprintHash, finishTemplate, instrument, matchConstants, templateValues, type Template } from '../sql/fingerprint.js'
import { analyticalReason } from '../sql/naming.js'
import { inferNullable } from '../sql/nullability.js'
import { compactParameters, type ParsedStatement, type PgNode } from '../sql/parse.js'
import { duckdbKeywordEdits, postgresJsonEdits, subqueryLimitEdits } from '../sql/pgcompat.js'
import type { RowPlan } from '../sql/plan.js'
import { compileSelect, NotRowStore } from '../sql/rowsql.js'
import { timeSeriesEdits } from '../sql/timeseries.js'
import { deparseStatement } from '../sql/deparse.js'
import { list, nodeBody, nodeKind, walk } from '../sql/tree.js'
import { fromStorage, readsIntegersAsBigints } from '../sql/types.js'
import type { Statement, StatementCall } from '../subsystems/seam.js'
import { StrataError } from '../util/errors.js'
import { limits } from '../util/limits.js'
import type { ColumnReads } from './column-reads.js'
import { bindValues, type EngineContext } from './context.js'
import { bigintRows, convertRows, numberRows, outputColumn, outputShape, type ExecuteOptions, type OutputShape, type Positional, type ResultColumn, type StreamedResult, type Tabular } from './rows.js'
import { handOverAppended, type Session } from './session.js'
import { appendStoredRowsSync } from './append.js'

/** Where a read goes, and why (EXPLAIN prints this). */
export interface Route {
  readonly store: 'row' | 'column' | 'catalog'
  readonly reason: string
  readonly plan?: RowPlan
}

/** A plain row read's plan for every tree of one fingerprint (src/sql/fingerprint.ts), with what the constants decide. */
interface PlainTemplate {
  readonly catalogVersion: number
  /** The tree it was made from: another tree uses it when `matchConstants` pairs their constants. */
  readonly tree: PgNode
  readonly plan: RowPlan
  readonly shape: OutputShape
  readonly columns: readonly ResultColumn[]
  readonly template: Template
}

/** The `strata.*` relations the engine serves itself: the mirror's position and the ledger's commits (both kept by CDC). */
const systemRelations: ReadonlySet<string> = new Set(['sync_status', 'transactions'])

export class Reads {
  /** Routing decisions (with compiled row-store plans) per cached tree and catalog version. */
  private readonly routeCache = new WeakMap<PgNode, { readonly catalogVersion: number; readonly route: Route }>()
  private readonly nullabilityCache = new WeakMap<
    PgNode,
    { readonly catalogVersion: number; readonly nullable: readonly boolean[] | undefined; input?: readonly ResultColumn[]; output?: readonly ResultColumn[] }
  >()
  /** SELECTs that read current state from the row store: plan, output shape and annotated columns per tree and catalog version (the dispatcher's fast path). */
  private readonly plainRowReads = new WeakMap<PgNode, { readonly catalogVersion: number; readonly plan: RowPlan; readonly shape: OutputShape; readonly columns: readonly ResultColumn[] }>()
  /** Row-store plans of grouped reads forced onto the row store, per tree and catalog version. */
  private readonly groupedPlanCache = new WeakMap<PgNode, { readonly catalogVersion: number; readonly plan: RowPlan | NotRowStore }>()
  /** A SELECT's text with the time-series rewrite applied, per tree (the rewrite does not depend on the catalog). */
  private readonly columnTextCache = new WeakMap<PgNode, string>()
  /**
   * Plain row reads' plan templates per fingerprint hash (oldest made first out), for trees that
   * differ from a remembered one only in their constants (clients that write values into the text);
   * `template: undefined`: the fingerprint makes none at this catalog version (a subsystem claims it,
   * or something read a location).
   */
  private readonly templates = new Map<number, PlainTemplate | { readonly catalogVersion: number; readonly tree: PgNode; readonly template: undefined }>()
  /** Fingerprints (hashes) of plain row reads seen once (a template is made at the second sighting), oldest first. */
  private readonly fingerprintsSeenOnce = new Set<number>()

  /** The engine's write path, for `StatementCall.runWrite` (set by the engine once its writes exist). */
  runWrite: ((session: Session, kind: 'InsertStmt' | 'UpdateStmt' | 'DeleteStmt', body: PgNode, params: readonly unknown[], options: ExecuteOptions, statement: Statement) => Positional | Promise<Positional>) | undefined

  constructor(
    private readonly context: Pick<EngineContext, 'rowStore' | 'ledger' | 'schema' | 'subsystems'>,
    readonly columns: ColumnReads,
    /** Plan templates per fingerprint (on by default; tests compare with them off). */
    private readonly planTemplates = true,
  ) {}

  /**
   * A plain SELECT seen before at this catalog version (only those are in plainRowReads), or one
   * whose fingerprint's plan template serves it (`templateRead`), read from the row store with one
   * cache entry instead of the statement kind and the subsystems', route and nullability caches;
   * undefined for anything else. Small on purpose: it is the hot path of a point read.
   */
  plainRowRead(session: Session, statement: Statement, tree: PgNode, params: readonly unknown[], options: ExecuteOptions): Positional | undefined {
    if (options.engine === 'column') return undefined
    const plain = this.plainRowReads.get(tree)
    if (plain === undefined || plain.catalogVersion !== this.context.schema.version) return this.templateRead(session, statement, tree, params)
    const rowStore = this.context.rowStore
    const connection = session.writing ? rowStore.writer : rowStore.reader
    const rows = connection.prepareSync(plain.plan.sql, plain.shape.bigints ? bigintRows : numberRows).allSync(bindValues(this.context.ledger, plain.plan.binders, params))
    return { rows: convertRows(plain.shape, rows), columns: plain.columns, rowCount: rows.length, engine: 'row' }
  }

  /**
   * A SELECT not seen before whose fingerprint has a plan template that serves its constants: read
   * with the template's plan, its literal binders computed from this tree's constants — what compiling
   * this tree would have bound (src/sql/fingerprint.ts). Undefined otherwise (the ordinary path).
   */
  private templateRead(session: Session, statement: Statement, tree: PgNode, params: readonly unknown[]): Positional | undefined {
    // Statements with clauses cut out (time travel) are claimed by their subsystem, whatever their tree.
    if (this.templates.size === 0 || statement.clauses !== undefined || nodeKind(tree) !== 'SelectStmt') return undefined
    const entry = this.templates.get(this.hashOf(tree))
    if (entry?.template === undefined || entry.catalogVersion !== this.context.schema.version) return undefined
    const { plan, template } = entry as PlainTemplate
    const constants = matchConstants(entry.tree, tree)
    const literals = constants === undefined ? undefined : templateValues(template, constants)
    if (literals === undefined) return undefined
    const values = bindValues(this.context.ledger, plan.binders, params)
    for (let index = 0; index < literals.length; index++) values[template.values[index]!.index] = literals[index]!
    const rowStore = this.context.rowStore
    const connection = session.writing ? rowStore.writer : rowStore.reader
    const rows = connection.prepareSync(plan.sql, entry.shape.bigints ? bigintRows : numberRows).allSync(values)
    return { rows: convertRows(entry.shape, rows), columns: entry.columns, rowCount: rows.length, engine: 'row' }
  }

  /** A SELECT statement: claimed by a subsystem (time travel), else routed; its columns annotated with nullability. */
  select(session: Session, statement: Statement, params: readonly unknown[], options: ExecuteOptions): Positional | Promise<Positional> {
    const tree = statement.tree!
    const claim = this.context.subsystems.claimRead(statement, tree)
    let result: Positional | Promise<Positional>
    if (claim !== undefined) result = claim.run(this.call(session, statement, params, options, false))
    else {
      if (options.engine !== 'column') this.rememberPlainRowRead(statement, tree)
      result = this.read(session, statement, params, options)
    }
    if (result instanceof Promise) return result.then((settled) => this.withNullableColumns(tree, settled))
    return this.withNullableColumns(tree, result)
  }

  /**
   * Remembers a SELECT that reads current state (no subsystem claimed it) and routes to the row
   * store, with its plan, output shape and annotated columns, for this catalog version: what `select`
   * would work out from the route and nullability caches each time.
   */
  private rememberPlainRowRead(statement: Statement, tree: PgNode): void {
    let route: Route
    try {
      route = this.route(tree)
    } catch {
      return // read() meets the same error and reports it
    }
    if (route.store !== 'row' || route.plan === undefined) return
    const shape = outputShape(route.plan.output)
    const columns = this.nullableColumns(tree, shape.columns)
    this.plainRowReads.set(tree, { catalogVersion: this.context.schema.version, plan: route.plan, shape, columns })
    if (this.planTemplates && statement.clauses === undefined) this.rememberTemplate(statement, tree)
  }

  /**
   * A plain row read's fingerprint, seen the second time at this catalog version: its plan template,
   * made by what `select` does for a tree — the subsystems' claim, the route and its row-store plan,
   * the nullability of its columns — run on an instrumented copy of the tree (src/sql/fingerprint.ts),
   * so that whatever reads a constant there pins it or records what it decided on it.
   */
  private rememberTemplate(statement: Statement, tree: PgNode): void {
    const version = this.context.schema.version
    const key = this.hashOf(tree)
    const known = this.templates.get(key)
    // One entry per hash: another shape of the same hash replaces it (a collision costs only hits).
    if (known !== undefined && known.catalogVersion === version && matchConstants(known.tree, tree) !== undefined) return
    if (known === undefined && !this.fingerprintsSeenOnce.delete(key)) {
      if (this.fingerprintsSeenOnce.size >= limits.statementCacheEntriesMax) this.fingerprintsSeenOnce.delete(this.fingerprintsSeenOnce.values().next().value!)
      this.fingerprintsSeenOnce.add(key)
      return
    }
    if (this.templates.size >= limits.statementCacheEntriesMax) this.templates.delete(this.templates.keys().next().value!)
    this.templates.delete(key)
    this.templates.set(key, this.makeTemplate(statement, tree) ?? { catalogVersion: version, tree, template: undefined })
  }

  /** The tree's fingerprint hash; the last one is kept (a tree that finds no template is remembered right after). */
  private hashOf(tree: PgNode): number {
    if (this.lastHashed?.tree !== tree) this.lastHashed = { tree, hash: fingerprintHash(tree) }
    return this.lastHashed.hash
  }

  private lastHashed: { readonly tree: PgNode; readonly hash: number } | undefined

  private makeTemplate(statement: Statement, tree: PgNode): PlainTemplate | undefined {
    const { schema } = this.context
    const copy = instrument(tree)
    try {
      if (this.context.subsystems.claimRead(statement, copy.tree) !== undefined) return undefined
      const route = this.computeRoute(copy.tree)
      if (route.store !== 'row' || route.plan === undefined) return undefined
      const shape = outputShape(route.plan.output)
      const nullable = inferNullable(nodeBody(copy.tree, 'SelectStmt')!, (name) => schema.catalog.tables.get(name))
      const columns = annotatedColumns(shape.columns, nullable)
      const template = finishTemplate(copy.recorder, route.plan.binders)
      if (template === undefined) return undefined
      return { catalogVersion: schema.version, tree, plan: route.plan, shape, columns, template }
    } catch {
      return undefined
    }
  }

  route(tree: PgNode): Route {
    const cached = this.routeCache.get(tree)
    const version = this.context.schema.version
    if (cached !== undefined && cached.catalogVersion === version) return cached.route
    const route = this.computeRoute(tree)
    this.routeCache.set(tree, { catalogVersion: version, route })
    return route
  }

  private computeRoute(tree: PgNode): Route {
    const select = nodeBody(tree, 'SelectStmt')!
    const catalog = this.context.schema.catalog
    let catalogReference = false
    let viewReference: string | undefined
    walk(tree, (kind, body) => {
      if (kind === 'RangeVar') {
        const schema = typeof body['schemaname'] === 'string' ? body['schemaname'] : undefined
        if (schema === 'strata' && body['catalogname'] === undefined) this.checkSystemRelation(String(body['relname']))
        if (schema === 'strata' || schema === 'information_schema' || schema === 'pg_catalog') catalogReference = true
        else if (body['catalogname'] === 'strata' && schema === 'results') catalogReference = true
        else if (catalog.views.has(String(body['relname']))) viewReference = String(body['relname'])
      }
    })
    if (catalogReference) return { store: 'catalog', reason: 'it reads the system catalog (strata.*, information_schema)' }
    if (viewReference !== undefined) return { store: 'column', reason: `it reads the view ${viewReference}, which the column store answers` }
    try {
      const plan = compileSelect(select, { table: (name) => catalog.tables.get(name) })
      return { store: 'row', reason: 'a simple single-table lookup', plan }
    } catch (error) {
      if (error instanceof NotRowStore) return { store: 'column', reason: analyticalReason(select, error.construct) }
      throw error
    }
  }

  /** `strata.<name>` must be a relation the engine or a subsystem serves (src/subsystems/seam.ts, `relations`). */
  private checkSystemRelation(name: string): void {
    if (systemRelations.has(name) || this.context.subsystems.relations.has(name)) return
    const known = [...systemRelations, ...this.context.subsystems.relations.keys()].sort()
    throw new StrataError('UNDEFINED_TABLE', `relation "strata.${name}" does not exist (the strata schema has ${known.join(', ')})`)
  }

  /** A SELECT's result columns with `nullable` where its tree and the catalog prove it (src/sql/nullability.ts). */
  nullableColumns(tree: PgNode, columns: readonly ResultColumn[]): readonly ResultColumn[] {
    const { schema } = this.context
    let cached = this.nullabilityCache.get(tree)
    if (cached === undefined || cached.catalogVersion !== schema.version) {
      cached = { catalogVersion: schema.version, nullable: inferNullable(nodeBody(tree, 'SelectStmt')!, (name) => schema.catalog.tables.get(name)) }
      this.nullabilityCache.set(tree, cached)
    }
    // Row-store plans hand back the same frozen columns every time (resultColumns): the annotated
    // copy made for them last time is reused, frozen too. Keyed by tree, catalog version (the entry
    // is replaced when it changes) and the columns array itself.
    if (cached.input === columns && cached.output !== undefined) return cached.output
    if (!Object.isFrozen(columns)) return columns.map((column, index) => ({ ...column, nullable: nullableAt(cached.nullable, columns.length, index) }))
    cached.input = columns
    cached.output = annotatedColumns(columns, cached.nullable)
    return cached.output
  }

  private withNullableColumns(tree: PgNode, result: Positional): Positional {
    const columns = this.nullableColumns(tree, result.columns)
    if (result.txId === undefined) return { rows: result.rows, columns, rowCount: result.rowCount, engine: result.engine }
    return { rows: result.rows, columns, rowCount: result.rowCount, engine: result.engine, txId: result.txId }
  }

  /** A row-store read returns its result synchronously; the column store's and the catalog's are promises. */
  private read(session: Session, statement: Statement, params: readonly unknown[], options: ExecuteOptions): Positional | Promise<Positional> {
    const tree = statement.tree!
    const route = this.route(tree)
    if (route.store === 'catalog') return this.columns.catalogRead(session, tree, params, options)
    if (options.engine === 'row' && route.store !== 'row') return this.rowRead(session, this.groupedRowPlan(tree, route), params)
    if (route.store === 'row' && options.engine !== 'column') return this.rowRead(session, route.plan!, params)
    this.context.subsystems.beforeColumnStore(tree, options.engine === 'column' ? 'the engine option asks for it' : route.reason)
    // The DuckDB text (time-series calls rewritten) only when the column store answers.
    const column = this.columnSelect(statement, params)
    return this.columns.read(session, column.sql, column.params, options, 'column')
  }

  /**
   * A grouped query forced onto the row store (routing sends aggregates to DuckDB): GROUP BY,
   * aggregates and time-series functions compiled for SQLite (src/sql/rowgroup.ts), or NOT_SUPPORTED.
   */
  private groupedRowPlan(tree: PgNode, route: Route): RowPlan {
    const select = nodeBody(tree, 'SelectStmt')!
    const grouped = list(select['groupClause']).length > 0 || list(select['targetList']).some((target) => nodeKind(nodeBody(target, 'ResTarget')?.['val']) === 'FuncCall')
    if (!grouped) throw new StrataError('NOT_SUPPORTED', `the row store cannot run this query: ${route.reason}`)
    const { schema } = this.context
    const cached = this.groupedPlanCache.get(tree)
    let plan: RowPlan | NotRowStore
    if (cached !== undefined && cached.catalogVersion === schema.version) plan = cached.plan
    else {
      try {
        plan = compileSelect(select, { table: (name) => schema.catalog.tables.get(name) }, { grouped: true })
      } catch (error) {
        if (!(error instanceof NotRowStore)) throw error
        plan = error
      }
      this.groupedPlanCache.set(tree, { catalogVersion: schema.version, plan })
    }
    if (plan instanceof NotRowStore) throw new StrataError('NOT_SUPPORTED', `the row store cannot run this query (${route.reason}): ${plan.message}`, { cause: plan })
    return plan
  }

  /**
   * A SELECT's text and parameters for DuckDB: the cached text, or, when a parameter is a subquery's
   * LIMIT/OFFSET (which DuckDB refuses in a correlated subquery), its value written in (src/sql/pgcompat.ts).
   */
  private columnSelect(statement: ParsedStatement, params: readonly unknown[]): { sql: string; params: readonly unknown[] } {
    const limitEdits = subqueryLimitEdits(statement, params)
    if (limitEdits.length === 0) return { sql: this.columnSelectText(statement), params }
    const edits = [...postgresJsonEdits(statement), ...limitEdits, ...timeSeriesEdits(statement)]
    return compactParameters(applyEdits(statement, [...edits, ...duckdbKeywordEdits(statement, edits)]), params)
  }

  /** A SELECT's text for DuckDB: PostgreSQL's JSON constructors and time-series calls rewritten at tree locations (src/sql/pgcompat.ts, src/sql/timeseries.ts), names DuckDB reads as keywords quoted. */
  private columnSelectText(statement: ParsedStatement): string {
    const tree = statement.tree!
    let text = this.columnTextCache.get(tree)
    if (text === undefined) {
      const edits = [...postgresJsonEdits(statement), ...timeSeriesEdits(statement)]
      text = applyEdits(statement, [...edits, ...duckdbKeywordEdits(statement, edits)])
      this.columnTextCache.set(tree, text)
    }
    return text
  }

  rowRead(session: Session, plan: RowPlan, params: readonly unknown[], bounds?: readonly bigint[]): Positional {
    const rowStore = this.context.rowStore
    const connection = session.writing ? rowStore.writer : rowStore.reader
    const values = bindValues(this.context.ledger, plan.binders, params, bounds)
    const shape = outputShape(plan.output)
    const rows = connection.prepareSync(plan.sql, shape.bigints ? bigintRows : numberRows).allSync(values)
    return { rows: convertRows(shape, rows), columns: shape.columns, rowCount: rows.length, engine: 'row' }
  }

  /** A SELECT for a write's source: routed like a query, inside the writer's transaction (`statement`: the write it belongs to). */
  async evaluateSelect(session: Session, tree: PgNode, params: readonly unknown[], options: ExecuteOptions, statement?: Statement): Promise<Tabular> {
    const claim = statement === undefined ? undefined : this.context.subsystems.claimRead(statement, tree)
    if (claim !== undefined) return claim.evaluate(this.call(session, statement!, params, options, true), tree)
    const route = this.route(tree)
    if (route.store === 'row') {
      const plan = route.plan!
      const values = bindValues(this.context.ledger, plan.binders, params)
      const rows = this.context.rowStore.writer.prepareSync(plan.sql, { bigints: true }).allSync(values)
      return { columns: plan.output.map(outputColumn), rows: rows.map((row) => row.map((value, index) => fromStorage(value, plan.output[index]!.type))) }
    }
    this.context.subsystems.beforeColumnStore(tree, route.reason)
    const text = deparseStatement(tree)
    return this.columns.inWrite(session, text, params, options)
  }

  /**
   * The `StatementCall` a subsystem gets for one statement on `session`: reads where the session
   * reads, column-store queries fresh or over the transaction's overlay (`inWrite`: always the
   * overlay, as a write's own reads must see its transaction).
   */
  call(session: Session, statement: Statement, params: readonly unknown[], options: ExecuteOptions, inWrite: boolean): StatementCall {
    const rowStore = this.context.rowStore
    return {
      statement,
      params,
      options,
      inTransaction: session.writing,
      rowConnection: () => (session.writing ? rowStore.writer : rowStore.reader),
      rowRead: (plan, bounds) => this.rowRead(session, plan, params, bounds),
      columnQuery: (sql, queryParams) => (inWrite ? this.columns.inWrite(session, sql, queryParams, options) : this.columns.query(session, sql, queryParams, options)),
      evaluate: (tree) => this.evaluateSelect(session, tree, params, {}),
      appendRowsSync: (table, rows, handOver) => {
        const ledger = this.context.ledger
        const pending = ledger.pendingCommit
        if (pending === undefined) throw new StrataError('INTERNAL', `rows appended to "${table.name}" outside a write transaction`)
        const held = session.appended?.get(table.name)
        const handed = appendStoredRowsSync({ writer: rowStore.writer, table, txId: pending.txId, reserveVersions: (count) => ledger.reserveVersions(count), handOver: handOver && session.appended !== null && held !== null }, rows)
        handOverAppended(session, table, handed, limits.syncHandoffRowsMax)
      },
      schemaChanged: () => {
        session.changedSchema = true
      },
      stateChanged: () => {
        session.changedState = true
      },
      branchesChanged: () => {
        session.changedBranches = true
      },
      explicitTransaction: session.explicit,
      snapshotTx: session.explicit && !session.writing ? session.snapshotTx : undefined,
      readTable: (table) => {
        if (session.explicit && !session.writing) session.tablesRead.add(table)
      },
      branch: options.branch ?? session.branch,
      useBranch: (name) => {
        session.branch = name
      },
      runWrite: async (kind, body) => {
        const result = await this.runWrite!(session, kind, body, params, options, statement)
        return { rows: result.rows, columns: result.columns, rowCount: result.rowCount, engine: result.engine }
      },
    }
  }

  /**
   * A query's rows in batches as the store produces them (`Engine.stream`): `statement` is one plain
   * SELECT outside a transaction that routes to a store, read from a row-store connection of its own
   * or from a DuckDB result chunk by chunk, under the same freshness rules as `execute`; undefined when
   * it is not (the caller then executes it as usual).
   */
  async stream(session: Session, statement: Statement, params: readonly unknown[], options: ExecuteOptions): Promise<StreamedResult | undefined> {
    const tree = statement.tree
    if (tree === undefined || nodeKind(tree) !== 'SelectStmt' || session.inTransaction || this.context.subsystems.claimRead(statement, tree) !== undefined) return undefined
    const route = this.route(tree)
    if (route.store === 'catalog' || (options.engine === 'row' && route.store !== 'row')) return undefined
    const batchRows = limits.streamBatchRows
    if (route.store === 'row' && options.engine !== 'column') {
      const plan = route.plan!
      // A connection of its own: an open iterator keeps its connection busy.
      const connection = this.context.rowStore.connectReaderSync()
      let iterator: IterableIterator<RowValue[]>
      try {
        iterator = connection.prepareSync(plan.sql, { bigints: readsIntegersAsBigints(plan.output.map((column) => column.type)) }).iterateSync(bindValues(this.context.ledger, plan.binders, params))
      } catch (error) {
        connection.closeSync()
        throw error instanceof StrataError ? error.withStatement(statement.text) : error
      }
      const output = plan.output
      const signal = options.signal
      async function* batches(): AsyncGenerator<unknown[][]> {
        try {
          let batch: unknown[][] = []
          for (const row of iterator) {
            batch.push(row.map((value, index) => fromStorage(value, output[index]!.type)))
            if (batch.length >= batchRows) {
              if (signal?.aborted === true) throw new StrataError('ABORTED', 'the streamed read was aborted')
              yield batch
              batch = []
            }
          }
          if (batch.length > 0) yield batch
        } finally {
          iterator.return?.()
          connection.closeSync()
        }
      }
      return { columns: this.nullableColumns(tree, output.map(outputColumn)), engine: 'row', batches: batches() }
    }
    this.context.subsystems.beforeColumnStore(tree, options.engine === 'column' ? 'the engine option asks for it' : route.reason)
    const { duck, release } = await this.columns.freshSession(options)
    let streamed
    try {
      const column = this.columnSelect(statement, params)
      streamed = await duck.stream(column.sql, column.params.length === 0 ? undefined : column.params)
    } catch (error) {
      release()
      throw error instanceof StrataError ? error.withStatement(statement.text) : error
    }
    const chunks = streamed.chunks
    async function* batches(): AsyncGenerator<unknown[][]> {
      try {
        for await (const chunk of chunks) yield chunk
      } finally {
        release()
      }
    }
    return { columns: this.nullableColumns(tree, streamed.columns), engine: 'column', batches: batches() }
  }
}

/** Not worked out (a set operation, `*` over a derived table, …): every column may be NULL. */
function nullableAt(nullable: readonly boolean[] | undefined, width: number, index: number): boolean {
  return nullable?.length === width ? (nullable[index] ?? true) : true
}

/** Columns annotated with `nullable`, frozen: made once per plan and handed out every time. */
function annotatedColumns(columns: readonly ResultColumn[], nullable: readonly boolean[] | undefined): readonly ResultColumn[] {
  return Object.freeze(columns.map((column, index) => Object.freeze({ ...column, nullable: nullableAt(nullable, columns.length, index) })))
}
