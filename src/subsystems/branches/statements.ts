/**
 * Statements on a branch other than main (docs/branches.md, "Reading a branch" and "Writing on a
 * branch"). A SELECT reads every table through the branch's derived table (storage.ts): on the row
 * store for a lookup by key (or when asked), else on the column store over the mirror. An INSERT,
 * UPDATE or DELETE copies in the inherited rows it touches, then runs on the branch's own table by the
 * engine's write path, then records the keys the branch now owns. A SELECT with system-time AS OF
 * reads the derived tables at that commit; EXPLAIN shows the store and its plan of them. Branches'
 * functions and relations (strata.diff, strata.table_hash, strata.conflicts, strata.chunks), EXPORT
 * TABLE and `FROM t AT (BRANCH => 'b')` run here too, on any branch.
 *
 * Not built yet, refused with NOT_SUPPORTED: DDL on a branch, time travel other than system-time AS
 * OF, valid time and valid-time writes on a branch, tables whose valid time may not cover "now",
 * writes that read other tables, ON CONFLICT, writes to a table without a primary key.
 */
import { applyEdits, type TextEdit } from '../../sql/edits.js'
import { compactParameters, parseStatements, tokensOf, type PgNode } from '../../sql/parse.js'
import { postgresJsonEdits, subqueryLimitEdits } from '../../sql/pgcompat.js'
import { compileSelect, compileValuesRows, defaultBinderFor, insertTarget, NotRowStore, type Binder, type RowPlan } from '../../sql/rowsql.js'
import { deparseStatement } from '../../sql/deparse.js'
import { toStorage } from '../../sql/types.js'
import type { TableDefinition } from '../../sql/catalog.js'
import { openWriterSql } from '../../sql/catalog.js'
import { isKeyLookup, referenceNameLength, type StatementTemporal, type TemporalSpec } from '../../sql/temporal.js'
import { commitAtSync } from './instants.js'
import { timeSeriesEdits } from '../../sql/timeseries.js'
import { list, names, nodeBody, nodeKind, quoteIdentifier, walk } from '../../sql/tree.js'
import { StrataError } from '../../util/errors.js'
import type { RowValue } from '../../storage/rowstore/rowstore.js'
import type { ClaimedRead, OwnStatement, Rows, Statement, StatementCall, SubsystemHost } from '../seam.js'
import { diffSql, findCurrentBranchCalls, findDiffCalls, findTableHashCalls, type DiffCall, type DiffRef, type TableHashCall } from './diff.js'
import { chunkKind, manifestChunks, Snapshots, type Snapshot } from './snapshots.js'
import type { BranchClause, ExportTable } from '../../sql/branches.js'
import { splitPoint, type Conflict } from './merge.js'
import { mainBranch } from '../../util/branch-names.js'
import { limits } from '../../util/limits.js'
import { changedKeysSql, inUserTerms, columnStoreBranchSql, isBranchStorage, ownDefinitions, ownKeysName, ownTableName, resolveBranchSync, columnStoreStateSql, keyMatch, mainWroteSinceSync, rowStoreBranchSql, rowStoreParentSql, sinceColumn, type PhysicalRead, type ResolvedBranch } from './storage.js'

/** A table reference of a statement: where it stands, how long its name is, its table and alias. */
interface Reference {
  readonly location: number
  readonly nameLength: number
  readonly table: TableDefinition
  readonly alias: string | undefined
}

type WriteKind = 'InsertStmt' | 'UpdateStmt' | 'DeleteStmt'

/** A SELECT's plan on one branch at one catalog version: its references, and how each store reads it. */
interface ReadPlan {
  readonly catalogVersion: number
  /** The ancestry it was made for (a branch dropped and made again under its name is another). */
  readonly branch: ResolvedBranch
  /** The row store's plan when it answers (a lookup by key, or when asked), undefined when it cannot. */
  readonly row: RowPlan | undefined
  readonly lookup: boolean
  /** The column store's text edits for the references (the derived tables), and the tables it reads history of. */
  readonly edits: readonly TextEdit[]
  readonly historyOf: readonly TableDefinition[]
  /** The same edits when main has not written any of the tables since the fork point: main's part is its current table. */
  readonly editsMainUnchanged: readonly TextEdit[]
  readonly historyOfMainUnchanged: readonly TableDefinition[]
  /** The user tables it reads, and main's fork point along the branch's ancestry (the earliest). */
  readonly tables: readonly TableDefinition[]
  readonly mainBound: number
}

export class BranchStatements {
  /** Each branch's ancestry by name, kept until the list of branches changes (`forgetBranches`). */
  private readonly branches = new Map<string, ResolvedBranch>()
  private readonly referenceCache = new WeakMap<PgNode, { readonly catalogVersion: number; readonly references: readonly Reference[] }>()
  private readonly plans = new WeakMap<PgNode, Map<string, ReadPlan>>()
  /** The column store's text of a read plan's route (its edits) for a statement without parameters. */
  private readonly columnTexts = new WeakMap<readonly TextEdit[], { readonly sql: string; readonly params: unknown[] }>()
  /** Each SELECT's statement on a branch, made once per tree. */
  private readonly reads = new WeakMap<PgNode, OwnStatement>()

  private readonly functionCalls = new WeakMap<PgNode, FunctionCalls>()

  private readonly snapshots: Snapshots

  constructor(
    private readonly host: SubsystemHost,
    /** The last failed merge's conflicts (merge.ts), served as `strata.conflicts`. */
    private readonly conflicts: () => readonly Conflict[],
  ) {
    this.snapshots = new Snapshots(host)
  }

  /**
   * A SELECT that calls branches' functions — `strata.diff(…)` in FROM, `strata.current_branch()` —
   * or reads `strata.conflicts`, on any branch: run on the column store, each diff's rows and the
   * conflicts as derived tables and each current_branch() as the session's branch's name.
   */
  claimFunctions(statement: Statement, tree: PgNode): ClaimedRead | undefined {
    let calls = this.functionCalls.get(tree)
    if (calls === undefined) {
      // One walk settles the common case, a SELECT that calls no function of the strata schema.
      let mentioned = false
      let storage: string | undefined
      walk(tree, (kind, body) => {
        if (kind === 'FuncCall' && names(body['funcname'])[0]?.toLowerCase() === 'strata') mentioned = true
        if (kind === 'RangeVar' && body['schemaname'] === 'strata' && (body['relname'] === 'conflicts' || body['relname'] === 'chunks')) mentioned = true
        if (kind === 'RangeVar' && body['schemaname'] !== 'strata' && isBranchStorage(String(body['relname']))) storage = String(body['relname'])
      })
      calls = mentioned
        ? {
            diffs: findDiffCalls(statement, tree),
            currentBranch: findCurrentBranchCalls(statement, tree),
            tableHashes: findTableHashCalls(statement, tree),
            conflicts: findStrataReferences(statement, tree, 'conflicts'),
            chunks: findStrataReferences(statement, tree, 'chunks'),
            storage,
          }
        : { diffs: [], currentBranch: [], tableHashes: [], conflicts: [], chunks: [], storage }
      this.functionCalls.set(tree, calls)
    }
    // A branch's own tables are reached only through its branch: named directly, they do not exist.
    if (calls.storage !== undefined) throw new StrataError('UNDEFINED_TABLE', `table "${calls.storage}" does not exist`)
    if (calls.diffs.length === 0 && calls.currentBranch.length === 0 && calls.tableHashes.length === 0 && calls.conflicts.length === 0 && calls.chunks.length === 0) return undefined
    const found = calls
    const refuse = (what: string): never => {
      throw new StrataError('NOT_SUPPORTED', `strata.diff, strata.current_branch(), strata.table_hash, strata.conflicts and strata.chunks ${what}`)
    }
    return {
      run: (call) => this.runFunctions(call, statement, tree, found),
      evaluate: () => refuse('as the source of a write'),
      explain: () => refuse('in EXPLAIN'),
    }
  }

  private async runFunctions(call: StatementCall, statement: Statement, tree: PgNode, found: FunctionCalls): Promise<Rows> {
    const { diffs: calls, currentBranch } = found
    if (call.branch !== mainBranch && this.references(statement, tree).length > 0) throw new StrataError('NOT_SUPPORTED', "branches' strata functions and relations in a query that also reads tables, on a branch other than main")
    const catalog = this.host.schema.catalog
    const tables = (name: string): TableDefinition | undefined => catalog.tables.get(name)
    const ledger = this.host.ledger
    const committed = ledger.lastCommitted.txId
    const lineOf = (ref: DiffRef): { readonly line: ResolvedBranch | undefined; readonly point: number } => {
      if (ref.kind === 'branch') return { line: ref.name === mainBranch ? undefined : this.branchSync(ref.name), point: Infinity }
      if (ref.txId > committed) throw new StrataError('UNDEFINED_TRANSACTION', `transaction ${ref.txId} has not been committed (yet)`)
      return { line: call.branch === mainBranch ? undefined : this.branchSync(call.branch), point: ref.txId }
    }
    const diffs = calls.map((one) => {
      const table = catalog.tables.get(one.table)
      if (table === undefined || isBranchStorage(one.table)) throw new StrataError('UNDEFINED_TABLE', `table "${one.table}" does not exist`)
      return { call: one, table, sides: [lineOf(one.refs[0]), lineOf(one.refs[1])] as const }
    })
    // strata.table_hash: each state snapshotted into the chunk store, its manifest's hash a constant.
    const constantEdits: TextEdit[] = []
    for (const one of found.tableHashes) {
      const table = catalog.tables.get(one.table)
      if (table === undefined || isBranchStorage(one.table)) throw new StrataError('UNDEFINED_TABLE', `table "${one.table}" does not exist`)
      const side = lineOf(one.ref ?? { kind: 'branch', name: call.branch })
      const snapshot = await this.snapshotOf(call, table, side.line, side.point === Infinity ? undefined : side.point)
      constantEdits.push({ location: one.location, length: one.length, text: `'${snapshot.hash}'${one.named ? ' AS table_hash' : ''}` })
    }
    if (found.chunks.length > 0) {
      const rows = await this.chunkRows()
      for (const one of found.chunks) constantEdits.push({ location: one.location, length: one.length, text: `(${rows})${one.aliased ? '' : ' AS chunks'}` })
    }
    // The edits for one attempt. `fast`: each diff reads only the keys either side changed since the
    // two states split (found by index ranges on the row store), and a branch head whose main part did
    // not change since its fork reads main's current table; undefined when that cannot be had.
    const attempt = async (fast: boolean): Promise<Rows | undefined> => {
      const reads: PhysicalRead[] = []
      const writer = this.host.rowStore.writer
      const edits: TextEdit[] = [...constantEdits]
      for (const { call: one, table, sides } of diffs) {
        let filter: string | undefined
        if (fast) {
          filter = this.changedKeysFilter(call, table, sides[0], sides[1])
          if (filter === undefined) return undefined
        }
        const state = (side: { readonly line: ResolvedBranch | undefined; readonly point: number }): string => {
          const bound = side.point === Infinity ? undefined : side.point
          const unchanged = fast && bound === undefined && side.line !== undefined && !mainWroteSinceSync(writer, table, Math.min(...side.line.chain.map((link) => link.forkTx)))
          const sql = unchanged ? columnStoreBranchSql(table, side.line!, tables, reads, true) : columnStoreStateSql(table, side.line, bound, tables, reads)
          return filter === undefined ? sql : `SELECT * FROM (${sql}) AS _strata_side WHERE ${filter}`
        }
        const sql = diffSql(table, state(sides[0]), state(sides[1]))
        edits.push({ location: one.location, length: one.length, text: `(${sql})${one.aliased ? '' : ' AS diff'}` })
      }
      for (const one of currentBranch) edits.push({ location: one.location, length: one.length, text: `'${call.branch.replaceAll("'", "''")}'${one.named ? ' AS current_branch' : ''}` })
      if (found.conflicts.length > 0) {
        const rows = conflictsSql(this.conflicts())
        for (const one of found.conflicts) edits.push({ location: one.location, length: one.length, text: `(${rows})${one.aliased ? '' : ' AS conflicts'}` })
      }
      return this.onColumnStore(call, statement, tree, 'strata.diff', edits, reads)
    }
    // The fast attempt's keys and main's part were read from the row store before the column store's
    // snapshot: a commit in between (which that snapshot may hold) sends the query the long way.
    if (diffs.length > 0) {
      const fast = await attempt(true)
      if (fast !== undefined && ledger.lastCommitted.txId === committed) return fast
    }
    return (await attempt(false))!
  }

  /**
   * A SELECT with `AT (BRANCH => 'b')` after table names (`clauses`, blanked out of `text`): each such
   * reference reads that branch's table, every other one the session's branch, as one query on the
   * column store over the references' derived tables.
   */
  async readAtBranches(call: StatementCall, text: string, clauses: readonly BranchClause[]): Promise<Rows> {
    const parsed = parseStatements(text)
    if (parsed.length !== 1) throw new StrataError('INTERNAL', 'AT (BRANCH => …): not one statement')
    const statement: Statement = parsed[0]!
    if (statement.tree === undefined) throw statement.parseError!
    const tree = statement.tree
    const select = nodeBody(tree, 'SelectStmt')
    if (select === undefined) throw new StrataError('NOT_SUPPORTED', `AT (BRANCH => …) in ${leadingWords(text)} (only a query reads another branch)`)
    if (this.claimFunctions(statement, select) !== undefined) throw new StrataError('NOT_SUPPORTED', "branches' strata functions and relations together with AT (BRANCH => …)")
    const references = this.findReferences(statement, select)
    const tables = (name: string): TableDefinition | undefined => this.host.schema.catalog.tables.get(name)
    const used = new Set<BranchClause>()
    const reads: PhysicalRead[] = []
    const edits = references.map((reference) => {
      const nameEnd = reference.location + reference.nameLength
      const clause = clauses.find((one) => one.start >= nameEnd && text.slice(nameEnd, one.start).trim() === '')
      if (clause !== undefined) used.add(clause)
      const branch = clause?.branch ?? call.branch
      if (branch === call.branch) call.readTable(reference.table.name)
      const line = branch === mainBranch ? undefined : this.branchSync(branch)
      // Inside a transaction every branch is read as of its snapshot (the state at that point of the global order).
      const state = columnStoreStateSql(reference.table, line, call.snapshotTx, tables, reads)
      return { location: reference.location, length: reference.nameLength, text: `(${state})` + (reference.alias === undefined ? ` AS ${quoteIdentifier(reference.table.name)}` : '') }
    })
    const stray = clauses.find((clause) => !used.has(clause))
    if (stray !== undefined) throw new StrataError('SYNTAX_ERROR', "AT (BRANCH => …) must follow a table's name (FROM t AT (BRANCH => 'dev') AS x)", { statement: text, position: stray.start + 1 })
    return this.onColumnStore(call, statement, tree, 'AT (BRANCH => …)', edits, reads)
  }

  /** A table's state on a line at a point (undefined: its head), snapshotted into the chunk store. */
  private async snapshotOf(call: StatementCall, table: TableDefinition, line: ResolvedBranch | undefined, bound: number | undefined): Promise<Snapshot> {
    const reads: PhysicalRead[] = []
    const tables = (name: string): TableDefinition | undefined => this.host.schema.catalog.tables.get(name)
    const state = columnStoreStateSql(table, line, bound, tables, reads)
    const bounded = boundedTables(reads)
    if (bounded.length > 0) await this.host.syncer.mirrorHistory(bounded)
    return this.snapshots.snapshot(call, table, state)
  }

  /** EXPORT TABLE: the table's state on a branch as Parquet chunks and a manifest in a directory. */
  async exportTable(call: StatementCall, exported: ExportTable): Promise<Rows> {
    const table = this.host.schema.catalog.tables.get(exported.table)
    if (table === undefined || isBranchStorage(exported.table)) throw new StrataError('UNDEFINED_TABLE', `table "${exported.table}" does not exist`)
    const branch = exported.branch ?? call.branch
    const snapshot = await this.snapshotOf(call, table, branch === mainBranch ? undefined : this.branchSync(branch), undefined)
    await this.snapshots.export(snapshot, exported.directory)
    return {
      rows: [[snapshot.hash, snapshot.chunks.length, snapshot.rows, snapshot.chunks.reduce((sum, chunk) => sum + chunk.bytes, 0) + snapshot.manifest.length]],
      columns: [
        { name: 'table_hash', type: 'VARCHAR' },
        { name: 'chunks', type: 'BIGINT' },
        { name: 'rows', type: 'BIGINT' },
        { name: 'bytes', type: 'BIGINT' },
      ],
      rowCount: 1,
      engine: 'column',
    }
  }

  /** CALL strata.verify(): every chunk read and hashed again; the bad ones. */
  async verifyChunks(): Promise<Rows> {
    const bad = await this.host.chunks.verify()
    return {
      rows: bad.map((chunk) => [chunk.hash, chunk.problem]),
      columns: [
        { name: 'hash', type: 'VARCHAR' },
        { name: 'problem', type: 'VARCHAR' },
      ],
      rowCount: bad.length,
      engine: 'row',
    }
  }

  /** strata.chunks' rows as DuckDB's SQL: hash, bytes, kind (parquet, manifest), refs (the manifests naming it). */
  private async chunkRows(): Promise<string> {
    const store = this.host.chunks
    const entries = store.list()
    const kinds = new Map<string, string>()
    const refs = new Map<string, number>()
    for (const entry of entries) {
      // Verified reads: a corrupt chunk is listed as such, never parsed.
      let bytes: Buffer
      try {
        bytes = await store.get(entry.hash)
      } catch (error) {
        if (error instanceof StrataError && error.code === 'CORRUPTION') {
          kinds.set(entry.hash, 'corrupt')
          continue
        }
        throw error
      }
      const kind = chunkKind(bytes)
      kinds.set(entry.hash, kind)
      if (kind === 'manifest') for (const hash of manifestChunks(bytes)) refs.set(hash, (refs.get(hash) ?? 0) + 1)
    }
    const columns = 'CAST(hash AS VARCHAR) AS hash, CAST(bytes AS BIGINT) AS bytes, CAST(kind AS VARCHAR) AS kind, CAST(refs AS BIGINT) AS refs'
    if (entries.length === 0) return `SELECT ${columns} FROM (SELECT NULL AS hash, NULL AS bytes, NULL AS kind, NULL AS refs) WHERE false`
    const rows = entries.map((entry) => `('${entry.hash}', ${entry.bytes}, '${kinds.get(entry.hash)!}', ${refs.get(entry.hash) ?? 0})`)
    return `SELECT ${columns} FROM (VALUES ${rows.join(', ')}) AS _strata_chunks(hash, bytes, kind, refs)`
  }

  /**
   * A condition on the key's columns selecting the keys either of two states of `table` may differ on
   * — those each side's line wrote since the two split (storage.ts `changedKeysSql`), as constants in
   * DuckDB's SQL — or undefined when there are too many to list, or the key's types are not listed as
   * constants here (integers and text).
   */
  private changedKeysFilter(call: StatementCall, table: TableDefinition, a: { readonly line: ResolvedBranch | undefined; readonly point: number }, b: { readonly line: ResolvedBranch | undefined; readonly point: number }): string | undefined {
    const key = table.primaryKey
    if (key === null) return undefined
    const types = key.map((name) => table.columns.find((column) => column.name === name)!.type.name)
    if (!types.every((type) => type === 'SMALLINT' || type === 'INTEGER' || type === 'BIGINT' || type === 'VARCHAR')) return undefined
    const sameLine = (a.line?.id ?? 0) === (b.line?.id ?? 0)
    const split = sameLine ? 0 : splitPoint(a.line, b.line).bound
    const since = Math.min(sameLine ? Math.min(a.point, b.point) : split, a.point, b.point)
    if (since === Infinity) return 'false'
    const tables = (name: string): TableDefinition | undefined => this.host.schema.catalog.tables.get(name)
    const candidates = `${changedKeysSql(table, a.line, since, tables)} UNION ALL ${changedKeysSql(table, b.line, since, tables)}`
    const max = limits.diffListedKeysMax
    const keys = call.rowConnection().prepareSync(`SELECT DISTINCT * FROM (${candidates}) LIMIT ${max + 1}`, { bigints: true }).allSync([])
    if (keys.length > max) return undefined
    if (keys.length === 0) return 'false'
    const literal = (value: unknown): string => (typeof value === 'string' ? `'${value.replaceAll("'", "''")}'` : String(value))
    if (key.length === 1) return `${quoteIdentifier(key[0]!)} IN (${keys.map((row) => literal(row[0])).join(', ')})`
    return keys.map((row) => `(${key.map((name, index) => `${quoteIdentifier(name)} = ${literal(row[index])}`).join(' AND ')})`).join(' OR ')
  }

  /** After CREATE or DROP BRANCH: ancestries are read again. */
  forgetBranches(): void {
    this.branches.clear()
  }

  private branchSync(name: string): ResolvedBranch {
    let branch = this.branches.get(name)
    if (branch === undefined) {
      branch = resolveBranchSync(this.host.rowStore.writer, name)
      this.branches.set(name, branch)
    }
    return branch
  }

  /** How `statement` runs on `branch`, or undefined when it does not (yet). */
  statement(statement: Statement, kind: string, body: PgNode): OwnStatement | 'as-main' | undefined {
    if (statement.clauses !== undefined) return this.pastRead(statement, kind, body)
    if (kind === 'SelectStmt') {
      // A SELECT of no user table (`SELECT 1`, the catalog, `strata.*`, `strata.diff(…)`) reads what every branch shares.
      if (this.references(statement, body).length === 0) return 'as-main'
      if (this.claimFunctions(statement, body) !== undefined) throw new StrataError('NOT_SUPPORTED', "branches' strata functions and relations in a query that also reads tables, on a branch other than main")
      let read = this.reads.get(body)
      if (read === undefined) {
        read = {
          writes: false,
          run: (call) => this.read(call, statement, body),
          rowPlan: (options, branch) => rowRoute(this.readPlan(statement, body, branch), options.engine),
        }
        this.reads.set(body, read)
      }
      return read
    }
    if (kind === 'InsertStmt' || kind === 'UpdateStmt' || kind === 'DeleteStmt') return { writes: true, run: (call) => this.write(call, kind, body) }
    if (kind === 'ExplainStmt') return this.explain(statement, body)
    return undefined
  }

  // ───────────────────────────── reads ─────────────────────────────

  /**
   * A SELECT with system-time AS OF on a branch (`FROM t FOR SYSTEM_TIME AS OF x`, or the statement's
   * `AS OF x`): each reference reads the branch's state at the last commit at or before x — before
   * the fork point, its parent's (docs/branches.md, "Terms") — on the column store. Valid time and
   * the other periods are not built on a branch yet.
   */
  private pastRead(statement: Statement, kind: string, body: PgNode): OwnStatement | 'as-main' {
    const clauses = statement.clauses as StatementTemporal
    const refuse = (what: string): never => {
      throw new StrataError('NOT_SUPPORTED', `${what} on a branch other than main (docs/branches.md, "Status")`)
    }
    if (kind !== 'SelectStmt' || clauses.portion !== undefined || clauses.erase || clauses.replace) refuse('valid-time writes, ERASE, INSERT OR REPLACE and writes with AS OF')
    const references = this.references(statement, body)
    if (references.length === 0) return 'as-main'
    const located = new Set(references.map((reference) => reference.location))
    for (const location of clauses.tableClauses.keys()) if (!located.has(location)) refuse('a time clause on something other than a table')
    const specs = references.map((reference) => clauses.tableClauses.get(reference.location) ?? clauses.shorthand)
    for (const spec of specs) {
      if (spec?.valid !== undefined) refuse('valid time (VALID AT, FOR VALID_TIME)')
      if (spec?.system !== undefined && spec.system.kind !== 'asOf') refuse(`FOR SYSTEM_TIME ${spec.system.kind === 'all' ? 'ALL' : spec.system.kind === 'between' ? 'BETWEEN' : 'FROM … TO'}`)
    }
    return { writes: false, run: (call) => this.readAt(call, statement, body, references, specs) }
  }

  private async readAt(call: StatementCall, statement: Statement, select: PgNode, references: readonly Reference[], specs: readonly (TemporalSpec | undefined)[]): Promise<Rows> {
    const line = this.branchSync(call.branch)
    const connection = call.rowConnection()
    const tables = (name: string): TableDefinition | undefined => this.host.schema.catalog.tables.get(name)
    const reads: PhysicalRead[] = []
    const edits = references.map((reference, index) => {
      const at = specs[index]?.system
      const bound = at?.kind === 'asOf' ? commitAtSync(this.host, call, connection, at.at) : undefined
      return { location: reference.location, length: reference.nameLength, text: `(${columnStoreStateSql(reference.table, line, bound, tables, reads)})` + (reference.alias === undefined ? ` AS ${quoteIdentifier(reference.table.name)}` : '') }
    })
    return this.onColumnStore(call, statement, { SelectStmt: select }, 'time travel on a branch', edits, reads)
  }

  /**
   * EXPLAIN on a branch: which store a SELECT goes to and why, and that store's plan of the derived
   * tables it reads (the row store's EXPLAIN QUERY PLAN, or DuckDB's EXPLAIN); a write's store.
   */
  private explain(statement: Statement, body: PgNode): OwnStatement | 'as-main' | undefined {
    const query = body['query'] as PgNode
    const kind = nodeKind(query)
    const answer = (lines: readonly string[], engine: 'row' | 'column'): Rows => ({ rows: lines.map((line) => [line]), columns: [{ name: 'plan', type: 'VARCHAR' }], rowCount: lines.length, engine })
    if (kind === 'InsertStmt' || kind === 'UpdateStmt' || kind === 'DeleteStmt') {
      return { writes: false, run: (call) => answer(['store: row', `why: a write on branch "${call.branch}" runs on the row store, on the branch's own table (docs/branches.md)`], 'row') }
    }
    const select = nodeBody(query, 'SelectStmt')
    if (select === undefined) return undefined
    if (this.references(statement, select).length === 0) return 'as-main'
    return {
      writes: false,
      run: async (call) => {
        const plan = this.readPlan(statement, select, call.branch)
        const row = rowRoute(plan, call.options.engine)
        if (row !== undefined) {
          const lines = ['store: row', `why: ${call.options.engine === 'row' ? 'forced by the engine option' : 'a lookup by key'} on branch "${call.branch}": the branch's own rows, then its parent's as of the fork point`, `sql: ${row.sql}`]
          const explained = call.rowConnection().prepareSync(`EXPLAIN QUERY PLAN ${row.sql}`).allSync(this.host.bind(row.binders, call.params.length > 0 ? call.params : row.binders.map(() => null)))
          for (const step of explained) lines.push(`plan: ${String(step[3])}`)
          return answer(lines, 'row')
        }
        const writer = this.host.rowStore.writer
        const mainUnchanged = plan.tables.every((table) => !mainWroteSinceSync(writer, table, plan.mainBound))
        const reads = (mainUnchanged ? plan.historyOfMainUnchanged : plan.historyOf).map((table) => ({ table, bound: 0 }))
        const explained = await this.onColumnStore(call, statement, query, 'EXPLAIN on a branch', mainUnchanged ? plan.editsMainUnchanged : plan.edits, reads)
        const lines = ['store: column', `why: a read on branch "${call.branch}": the branch's own rows, then its parent's as of the fork point${mainUnchanged ? ' (main has not written these tables since: its current table)' : ''}`]
        for (const step of explained.rows) for (const line of String(step[1]).split('\n')) if (line.trim() !== '') lines.push(`plan: ${line}`)
        return answer(lines, 'column')
      },
    }
  }

  /**
   * A statement whose table references (and branches' functions) `edits` replaced by derived tables,
   * run on the column store: the history of the tables `reads` reads at a past state mirrored first,
   * the PostgreSQL-to-DuckDB edits every column-store query takes applied with them.
   */
  private async onColumnStore(call: StatementCall, statement: Statement, tree: PgNode, reason: string, edits: readonly TextEdit[], reads: readonly PhysicalRead[]): Promise<Rows> {
    const bounded = boundedTables(reads)
    if (bounded.length > 0) await this.host.syncer.mirrorHistory(bounded)
    this.host.beforeColumnStore(tree, reason)
    const result = await call.columnQuery(...columnText(statement, edits, call.params))
    return { rows: result.rows, columns: result.columns, rowCount: result.rows.length, engine: 'column' }
  }

  private read(call: StatementCall, statement: Statement, select: PgNode): Rows | Promise<Rows> {
    const plan = this.readPlan(statement, select, call.branch)
    const engine = call.options.engine
    if (engine === 'row' && plan.row === undefined) throw new StrataError('NOT_SUPPORTED', 'the row store cannot run this query on a branch')
    const row = rowRoute(plan, engine)
    return row !== undefined ? call.rowRead(row) : this.columnRead(call, statement, select, plan)
  }

  private async columnRead(call: StatementCall, statement: Statement, select: PgNode, plan: ReadPlan): Promise<Rows> {
    this.host.beforeColumnStore({ SelectStmt: select }, 'a read on a branch')
    const params = call.params
    const run = async (edits: readonly TextEdit[]): Promise<Rows> => {
      // The text for a statement without parameters is made once per plan and route (the edits' walks
      // of the tree cost more than the query on a small table).
      let compacted = params.length === 0 ? this.columnTexts.get(edits) : undefined
      if (compacted === undefined) {
        const [sql, compactedParams] = columnText(statement, edits, params)
        compacted = { sql, params: compactedParams }
        if (params.length === 0) this.columnTexts.set(edits, compacted)
      }
      const result = await call.columnQuery(compacted.sql, compacted.params)
      return { rows: result.rows, columns: result.columns, rowCount: result.rows.length, engine: 'column' }
    }
    // When main has not written the tables since the fork point, its part is its current table. Checked
    // again after the query (on the writer, which sees every commit): a commit that reached the
    // mirror's snapshot in between makes the read go through history after all.
    const writer = this.host.rowStore.writer
    const mainUnchanged = (): boolean => plan.tables.every((table) => !mainWroteSinceSync(writer, table, plan.mainBound))
    if (mainUnchanged()) {
      // A branch's ancestors' own tables are still read as of the fork points, from their history.
      if (plan.historyOfMainUnchanged.length > 0) await this.host.syncer.mirrorHistory(plan.historyOfMainUnchanged)
      const rows = await run(plan.editsMainUnchanged)
      if (mainUnchanged()) return rows
    }
    // A past state of a table is read from its mirrored history.
    if (plan.historyOf.length > 0) await this.host.syncer.mirrorHistory(plan.historyOf)
    return run(plan.edits)
  }

  /** The SELECT's plan on `branchName`, made once per tree, branch and catalog version. */
  private readPlan(statement: Statement, select: PgNode, branchName: string): ReadPlan {
    const catalogVersion = this.host.schema.version
    let byBranch = this.plans.get(select)
    const cached = byBranch?.get(branchName)
    const branch = this.branchSync(branchName)
    if (cached !== undefined && cached.catalogVersion === catalogVersion && cached.branch === branch) return cached
    const references = this.references(statement, select)
    const tables = (name: string): TableDefinition | undefined => this.host.schema.catalog.tables.get(name)
    const byLocation = new Map(references.map((reference) => [reference.location, reference]))
    let row: RowPlan | undefined
    try {
      row = compileSelect(select, {
        table: tables,
        temporal: (location) => {
          const reference = byLocation.get(location)
          if (reference === undefined) return undefined
          return { table: reference.table, sql: rowStoreBranchSql(reference.table, branch, tables), slots: [], hidden: [] }
        },
      })
    } catch (error) {
      if (!(error instanceof NotRowStore)) throw error
    }
    const reads: PhysicalRead[] = []
    const edits = referenceEdits(references, (table) => columnStoreBranchSql(table, branch, tables, reads))
    const fastReads: PhysicalRead[] = []
    const editsMainUnchanged = referenceEdits(references, (table) => columnStoreBranchSql(table, branch, tables, fastReads, true))
    const plan: ReadPlan = {
      catalogVersion,
      branch,
      row,
      lookup: references.length === 1 && isKeyLookup(select, references[0]!.table),
      edits,
      historyOf: boundedTables(reads),
      editsMainUnchanged,
      historyOfMainUnchanged: boundedTables(fastReads),
      tables: [...new Map(references.map((reference) => [reference.table.name, reference.table])).values()],
      mainBound: Math.min(...branch.chain.map((link) => link.forkTx)),
    }
    if (byBranch === undefined) {
      byBranch = new Map()
      this.plans.set(select, byBranch)
    }
    byBranch.set(branchName, plan)
    return plan
  }

  /** Every reference to a user table in `tree` (not a WITH query's name), with its name's extent in the text; once per tree and catalog version. */
  private references(statement: Statement, tree: PgNode): readonly Reference[] {
    const catalogVersion = this.host.schema.version
    const cached = this.referenceCache.get(tree)
    if (cached !== undefined && cached.catalogVersion === catalogVersion) return cached.references
    const references = this.findReferences(statement, tree)
    this.referenceCache.set(tree, { catalogVersion, references })
    return references
  }

  private findReferences(statement: Statement, tree: PgNode): Reference[] {
    // (Also for a query of any branch with AT (BRANCH => …): views are refused there too.)
    const catalog = this.host.schema.catalog
    const cteNames = new Set<string>()
    const ranges: PgNode[] = []
    walk(tree, (kind, body) => {
      if (kind === 'CommonTableExpr') cteNames.add(String(body['ctename']))
      else if (kind === 'RangeVar') ranges.push(body)
    })
    const references: Reference[] = []
    let tokens: ReturnType<typeof tokensOf> | undefined
    for (const range of ranges) {
      const name = String(range['relname'])
      const schema = typeof range['schemaname'] === 'string' ? range['schemaname'] : undefined
      if (schema !== undefined && schema !== 'main' && schema !== 'public') continue
      if (schema === undefined && cteNames.has(name)) continue
      if (catalog.views.has(name)) throw new StrataError('NOT_SUPPORTED', `the view "${name}" on a branch other than main (docs/branches.md, "Status")`)
      const table = catalog.tables.get(name)
      if (table === undefined || isBranchStorage(name)) continue
      if (table.futureValidTime === true) throw new StrataError('NOT_SUPPORTED', `table "${name}" on a branch other than main: its valid time may not cover now (docs/branches.md, "Status")`)
      const location = Number(range['location'] ?? 0)
      tokens ??= tokensOf(statement.text, statement.tokens)
      const alias = nodeBody({ Alias: range['alias'] }, 'Alias')
      references.push({ location, nameLength: referenceNameLength(tokens, location - statement.locationBase, name), table, alias: alias === undefined ? undefined : String(alias['aliasname']) })
    }
    return references
  }

  // ───────────────────────────── writes ─────────────────────────────

  private async write(call: StatementCall, kind: WriteKind, body: PgNode): Promise<Rows> {
    const branch = this.branchSync(call.branch)
    const relation = nodeBody({ RangeVar: body['relation'] }, 'RangeVar')!
    const name = String(relation['relname'])
    const catalog = this.host.schema.catalog
    const table = catalog.tables.get(name)
    if (table === undefined || isBranchStorage(name)) throw new StrataError('UNDEFINED_TABLE', catalog.views.has(name) ? `"${name}" is a view; views cannot be written` : `table "${name}" does not exist`)
    this.refuseOnBranch(table, body, relation)
    const pending = this.host.ledger.pendingCommit
    if (pending === undefined) throw new StrataError('INTERNAL', 'a write on a branch ran outside a write transaction')
    this.host.ledger.writesOnBranch(branch.id)
    const own = this.ownTablesSync(call, branch, table, pending.txId)
    const tables = (tableName: string): TableDefinition | undefined => this.host.schema.catalog.tables.get(tableName)
    // The parent's state at the fork point: what the branch inherits for the keys it does not own.
    const parentState = rowStoreParentSql(table, branch, tables)
    // An UPDATE or DELETE whose WHERE reads tables: by the keys it touches, found on the branch.
    let write = body
    if (kind !== 'InsertStmt' && readsInWhere(body, relation)) {
      const keyed = await this.byMatchedKeys(call, table, own, body, branch)
      if (keyed === undefined) return { rows: [], columns: [], rowCount: 0, engine: 'row' }
      write = keyed
    } else if (kind !== 'InsertStmt') this.copyInSync(call, table, own, body, branch)
    // INSERT … ON CONFLICT: the inherited rows its keys meet are copied in first, so the own table's
    // conflict clause sees them as the branch does.
    if (kind === 'InsertStmt' && body['onConflictClause'] !== undefined) this.copyInConflictingSync(call, table, own, body, branch)
    let result: Rows
    if (kind === 'InsertStmt' && readsTables(body)) result = await this.insertSelected(call, table, own.own, body)
    else {
      const retargeted = structuredClone(write)
      const target = retargeted['relation'] as PgNode
      target['relname'] = own.own.name
      // The statement's own references to the table (`t.n`, ON CONFLICT's `t.n + excluded.n`) name it still.
      if (target['alias'] === undefined) target['alias'] = { aliasname: table.name }
      result = await call.runWrite(kind, retargeted).catch((error: unknown) => {
        throw inUserTerms(error)
      })
    }
    this.claimKeysSync(table, own, pending.txId, parentState, kind)
    if (kind !== 'DeleteStmt') this.checkUniquesSync(table, own, pending.txId, branch)
    return { rows: result.rows, columns: result.columns, rowCount: result.rowCount, engine: 'row' }
  }

  /**
   * The inherited rows an INSERT … ON CONFLICT's rows meet by key, copied into the branch's own table
   * and owned from this commit (as an UPDATE's copy-in does), so that the own table's ON CONFLICT
   * clause finds them.
   */
  private copyInConflictingSync(call: StatementCall, table: TableDefinition, own: { readonly own: TableDefinition; readonly keys: TableDefinition }, insert: PgNode, branch: ResolvedBranch): void {
    const tables = (name: string): TableDefinition | undefined => this.host.schema.catalog.tables.get(name)
    const rows = compileValuesRows(insert, insertTarget(insert, { table: tables }))
    if (rows === undefined) throw new StrataError('NOT_SUPPORTED', 'ON CONFLICT with rows that are not a VALUES list of constants and parameters, on a branch other than main (docs/branches.md, "Status")')
    const keyIndexes = table.primaryKey!.map((name) => table.columns.findIndex((column) => column.name === name))
    const keys = rows.map((binders) => {
      const values = this.host.bind(binders, call.params)
      return keyIndexes.map((index) => values[index]!)
    })
    this.copyInKeysSync(call, table, own, keys, branch)
  }

  /** The inherited rows of `keys` (each the primary key's stored values) that the branch does not own yet, copied into its own table and owned from this commit. */
  copyInKeysSync(call: StatementCall, table: TableDefinition, own: { readonly own: TableDefinition; readonly keys: TableDefinition }, keys: readonly (readonly RowValue[])[], branch: ResolvedBranch): void {
    if (keys.length === 0) return
    const tables = (name: string): TableDefinition | undefined => this.host.schema.catalog.tables.get(name)
    const keyIndexes = table.primaryKey!.map((name) => table.columns.findIndex((column) => column.name === name))
    const writer = this.host.rowStore.writer
    const keyColumns = table.primaryKey!.map(quoteIdentifier)
    const ownKeys = `main.${quoteIdentifier(own.keys.name)}`
    const tuple = `(${keyColumns.map(() => '?').join(', ')})`
    const perStatement = Math.max(1, Math.floor(limits.sqliteParametersMax / keyColumns.length) - 1)
    const pending = this.host.ledger.pendingCommit!
    for (let start = 0; start < keys.length; start += perStatement) {
      const chunk = keys.slice(start, start + perStatement)
      const inherited = writer
        .prepareSync(
          `SELECT * FROM (${rowStoreParentSql(table, branch, tables)}) AS _strata_parent WHERE (${keyColumns.join(', ')}) IN (VALUES ${chunk.map(() => tuple).join(', ')}) ` +
            `AND NOT EXISTS (SELECT 1 FROM ${ownKeys} AS _strata_owned WHERE ${keyMatch(table, '_strata_owned', '_strata_parent')})`,
          { bigints: true },
        )
        .allSync(chunk.flat())
      if (inherited.length === 0) continue
      call.appendRowsSync(own.own, inherited, false)
      const owned = inherited.map((row) => [...keyIndexes.map((index) => row[index]!), pending.txId])
      writer.prepareSync(`INSERT INTO ${ownKeys} ${this.keysColumnList(table)} VALUES ${owned.map((row) => `(${row.map(() => '?').join(', ')})`).join(', ')}`).runSync(owned.flat())
    }
  }

  /**
   * INSERT … SELECT reading tables, on a branch: the SELECT runs as any query on the branch (its tables
   * as the branch sees them, this transaction's writes included), and its rows are appended to the
   * branch's own table with the columns it does not name at their defaults. The own table's
   * constraints check them; the caller checks keys and UNIQUE against what the branch inherits.
   */
  private async insertSelected(call: StatementCall, table: TableDefinition, own: TableDefinition, insert: PgNode): Promise<Rows> {
    if (list(insert['returningList']).length > 0) throw new StrataError('NOT_SUPPORTED', 'RETURNING in INSERT … SELECT on a branch other than main (docs/branches.md, "Status")')
    const source = nodeBody(insert['selectStmt'], 'SelectStmt')!
    const [parsed] = parseStatements(deparseStatement({ SelectStmt: source }))
    if (parsed?.tree === undefined) throw new StrataError('INTERNAL', 'INSERT … SELECT on a branch: the source does not parse again')
    const selected = await this.read(call, parsed, nodeBody(parsed.tree, 'SelectStmt')!)
    const targets = list(insert['cols']).map((item) => String(nodeBody(item, 'ResTarget')!['name']))
    const names = targets.length > 0 ? targets : table.columns.map((column) => column.name)
    for (const name of names) if (!table.columns.some((column) => column.name === name)) throw new StrataError('UNDEFINED_COLUMN', `column "${name}" of table "${table.name}" does not exist`)
    if (selected.columns.length !== names.length) throw new StrataError('SYNTAX_ERROR', `INSERT has ${names.length} target columns but the query returns ${selected.columns.length}`)
    const positions = new Map(names.map((name, index) => [name, index]))
    const rows = selected.rows.map((row, rowIndex) => {
      const values = Array.isArray(row) ? row : selected.columns.map((column) => (row as Record<string, unknown>)[column.name])
      const binders = table.columns.map((column): Binder => {
        const at = positions.get(column.name)
        if (at === undefined) return defaultBinderFor(table, column.name)
        try {
          return { kind: 'value', value: toStorage(values[at], column.type) }
        } catch (error) {
          throw error instanceof StrataError ? error.withMessage(`row ${rowIndex}, column "${column.name}": ${error.message}`) : error
        }
      })
      return this.host.bind(binders, call.params)
    })
    try {
      if (rows.length > 0) call.appendRowsSync(own, rows, false)
    } catch (error) {
      throw inUserTerms(error)
    }
    return { rows: [], columns: [], rowCount: rows.length, engine: 'row' }
  }

  private refuseOnBranch(table: TableDefinition, body: PgNode, relation: PgNode): void {
    const refuse = (what: string): never => {
      throw new StrataError('NOT_SUPPORTED', `${what} on a branch other than main (docs/branches.md, "Status")`)
    }
    if (table.source !== undefined || table.stream !== undefined) refuse(`writing the ${table.source !== undefined ? 'source' : 'stream'} "${table.name}"`)
    if (table.futureValidTime === true) refuse(`writing table "${table.name}", whose valid time may not cover now,`)
    if (table.primaryKey === null) refuse(`writing table "${table.name}", which has no primary key,`)
    // ON CONFLICT meets inherited rows by key (copyInConflictingSync); a UNIQUE constraint's conflicts with them would need the same.
    if (body['onConflictClause'] !== undefined && table.uniques.length > 0) refuse(`ON CONFLICT on table "${table.name}", which has UNIQUE constraints besides its key,`)
    // INSERT … SELECT reads its tables on the branch (insertSelected); UPDATE and DELETE read only their own.
    if (readsTables(body) && nodeBody(body['selectStmt'], 'SelectStmt')?.['valuesLists'] === undefined && body['withClause'] === undefined) return
    // An UPDATE's or DELETE's WHERE may read tables in subqueries (byMatchedKeys); its SET, FROM, USING and WITH may not yet.
    let others = 0
    walk({ ...body, whereClause: undefined }, (kind, node) => {
      if (kind === 'RangeVar' && node !== relation) others++
    })
    if (others > 0 || body['fromClause'] !== undefined || body['usingClause'] !== undefined || body['withClause'] !== undefined) refuse('an UPDATE or DELETE that reads other tables in SET, FROM, USING or WITH')
    if (list(body['returningList']).length > 0 && readsInWhere(body, relation)) refuse('RETURNING in an UPDATE or DELETE whose WHERE reads tables')
  }

  /** The branch's own tables for `table`, made at its first write to it. */
  ownTablesSync(call: StatementCall, branch: ResolvedBranch, table: TableDefinition, txId: number): { readonly own: TableDefinition; readonly keys: TableDefinition } {
    const catalog = this.host.schema.catalog
    const own = catalog.tables.get(ownTableName(branch.id, table.name))
    const keys = catalog.tables.get(ownKeysName(branch.id, table.name))
    if (own !== undefined && keys !== undefined) return { own, keys }
    const made = ownDefinitions(branch.id, table, txId)
    this.host.createTableSync(made.own)
    this.host.createTableSync(made.keys)
    call.schemaChanged()
    return made
  }

  /**
   * Copies into the branch's own table the inherited rows an UPDATE or DELETE touches (its WHERE over
   * the rows the branch does not own yet), and records their keys as the branch's from this commit.
   */
  private copyInSync(call: StatementCall, table: TableDefinition, own: { readonly own: TableDefinition; readonly keys: TableDefinition }, body: PgNode, branch: ResolvedBranch): void {
    const tables = (name: string): TableDefinition | undefined => this.host.schema.catalog.tables.get(name)
    const select: PgNode = {
      targetList: table.columns.map((column) => ({ ResTarget: { val: { ColumnRef: { fields: [{ String: { sval: column.name } }] } } } })),
      fromClause: [{ RangeVar: body['relation'] }],
      whereClause: body['whereClause'],
      limitOption: 'LIMIT_OPTION_DEFAULT',
      op: 'SETOP_NONE',
    }
    const location = Number((body['relation'] as PgNode)['location'] ?? 0)
    const keys = `main.${quoteIdentifier(own.keys.name)}`
    const inheritedOnly = `SELECT * FROM (${rowStoreBranchSql(table, branch, tables)}) AS _strata_view WHERE NOT EXISTS (SELECT 1 FROM ${keys} AS _strata_owned WHERE ${keyMatch(table, '_strata_owned', '_strata_view')})`
    let plan
    try {
      plan = compileSelect(select, { table: tables, temporal: (at) => (at === location ? { table, sql: inheritedOnly, slots: [], hidden: [] } : undefined) })
    } catch (error) {
      if (error instanceof NotRowStore) throw new StrataError('NOT_SUPPORTED', `a write on a branch other than main whose WHERE the row store cannot evaluate (${error.construct}; docs/branches.md, "Status")`)
      throw error
    }
    const writer = this.host.rowStore.writer
    const rows = writer.prepareSync(plan.sql, { bigints: true }).allSync(this.host.bind(plan.binders, call.params))
    if (rows.length === 0) return
    call.appendRowsSync(own.own, rows, false)
    const pending = this.host.ledger.pendingCommit!
    writer.prepareSync(`INSERT INTO ${keys} ${this.keysColumnList(table)} ${this.unownedWrittenSql(table, own)}`).runSync([pending.txId, pending.txId])
  }

  /**
   * An UPDATE or DELETE whose WHERE reads tables in subqueries, on a branch: the keys it touches are
   * found by a query on the branch (every table as the branch sees it, this transaction's writes
   * included), their inherited rows copied in, and the write on the branch's own table is by those
   * keys (its WHERE replaced by `key IN (…)`), so the engine's write path reads no table of main's.
   * A one-column integer or text key only; undefined when it touches no row.
   */
  private async byMatchedKeys(call: StatementCall, table: TableDefinition, own: { readonly own: TableDefinition; readonly keys: TableDefinition }, body: PgNode, branch: ResolvedBranch): Promise<PgNode | undefined> {
    const key = table.primaryKey!
    const column = table.columns.find((one) => one.name === key[0])!
    const type = column.type.name
    if (key.length !== 1 || !(type === 'SMALLINT' || type === 'INTEGER' || type === 'BIGINT' || type === 'VARCHAR')) {
      throw new StrataError('NOT_SUPPORTED', `an UPDATE or DELETE whose WHERE reads tables, of table "${table.name}" (a one-column integer or text key is needed), on a branch other than main (docs/branches.md, "Status")`)
    }
    const select: PgNode = {
      SelectStmt: {
        targetList: [{ ResTarget: { val: { ColumnRef: { fields: [{ String: { sval: key[0]! } }] } } } }],
        fromClause: [{ RangeVar: body['relation'] }],
        whereClause: body['whereClause'],
        limitOption: 'LIMIT_OPTION_DEFAULT',
        op: 'SETOP_NONE',
      },
    }
    const [parsed] = parseStatements(deparseStatement(select))
    if (parsed?.tree === undefined) throw new StrataError('INTERNAL', 'a write on a branch: its WHERE does not parse again')
    const matched = await this.columnRead(call, parsed, nodeBody(parsed.tree, 'SelectStmt')!, this.readPlan(parsed, nodeBody(parsed.tree, 'SelectStmt')!, call.branch))
    const keys = matched.rows.map((row) => (Array.isArray(row) ? row[0] : (row as Record<string, unknown>)[key[0]!]))
    if (keys.length === 0) return undefined
    this.copyInKeysSync(call, table, own, keys.map((value) => [toStorage(value, column.type)]), branch)
    const constant = (value: unknown): PgNode =>
      typeof value === 'string'
        ? { A_Const: { sval: { sval: value } } }
        : typeof value === 'bigint' || (typeof value === 'number' && (value > 2_147_483_647 || value < -2_147_483_648))
          ? { A_Const: { fval: { fval: String(value) } } }
          : { A_Const: { ival: { ival: Number(value) } } }
    const where: PgNode = { A_Expr: { kind: 'AEXPR_IN', name: [{ String: { sval: '=' } }], lexpr: { ColumnRef: { fields: [{ String: { sval: key[0]! } }] } }, rexpr: { List: { items: keys.map(constant) } } } }
    return { ...structuredClone(body), whereClause: where }
  }

  /** After writes on the branch's own table by other than a statement (a merge): their keys claimed, their key and UNIQUE values checked against what the branch inherits. */
  claimWrittenSync(table: TableDefinition, own: { readonly own: TableDefinition; readonly keys: TableDefinition }, txId: number, branch: ResolvedBranch): void {
    this.claimKeysSync(table, own, txId, rowStoreParentSql(table, branch, (name) => this.host.schema.catalog.tables.get(name)), 'InsertStmt')
    this.checkUniquesSync(table, own, txId, branch)
  }

  /**
   * After the write on the branch's own table: a key it wrote that the branch did not own and its
   * parent holds would stand twice in the branch's view (CONSTRAINT_VIOLATION, as the primary key
   * would say on main); otherwise every key it wrote is the branch's from this commit.
   */
  private claimKeysSync(table: TableDefinition, own: { readonly own: TableDefinition; readonly keys: TableDefinition }, txId: number, parentState: string, kind: WriteKind): void {
    if (kind === 'DeleteStmt') return
    const writer = this.host.rowStore.writer
    const written = this.unownedWrittenSql(table, own)
    const taken = writer.prepareSync(`SELECT * FROM (${written}) AS _strata_written WHERE EXISTS (SELECT 1 FROM (${parentState}) AS _strata_parent WHERE ${keyMatch(table, '_strata_parent', '_strata_written')}) LIMIT 1`).allSync([txId, txId])[0]
    if (taken !== undefined) {
      const key = (table.primaryKey ?? []).map((name, index) => `${name} = ${String(taken[index])}`).join(', ')
      throw new StrataError('CONSTRAINT_VIOLATION', `duplicate key value violates the primary key of "${table.name}": (${key}) already exists on this branch`)
    }
    writer.prepareSync(`INSERT INTO main.${quoteIdentifier(own.keys.name)} ${this.keysColumnList(table)} ${written}`).runSync([txId, txId])
  }

  /**
   * A non-key UNIQUE constraint holds on the branch's view, not only on its own rows: a row the commit
   * wrote whose unique columns equal those of a row the branch inherits (and does not own) is a
   * CONSTRAINT_VIOLATION, as it would be on main. (Its own rows are checked by the own table's index.)
   */
  private checkUniquesSync(table: TableDefinition, own: { readonly own: TableDefinition; readonly keys: TableDefinition }, txId: number, branch: ResolvedBranch): void {
    if (table.uniques.length === 0) return
    const tables = (name: string): TableDefinition | undefined => this.host.schema.catalog.tables.get(name)
    const parentState = rowStoreParentSql(table, branch, tables)
    const writer = this.host.rowStore.writer
    const row = '_strata_row'
    for (const unique of table.uniques) {
      const columns = unique.map(quoteIdentifier)
      const found = writer
        .prepareSync(
          `SELECT ${columns.map((column) => `${row}.${column}`).join(', ')} FROM main.${quoteIdentifier(own.own.name)} AS ${row} ` +
            `WHERE ${openWriterSql(row)} = ? AND ${columns.map((column) => `${row}.${column} IS NOT NULL`).join(' AND ')} ` +
            `AND EXISTS (SELECT 1 FROM (${parentState}) AS _strata_parent WHERE ${columns.map((column) => `_strata_parent.${column} = ${row}.${column}`).join(' AND ')} ` +
            `AND NOT EXISTS (SELECT 1 FROM main.${quoteIdentifier(own.keys.name)} AS _strata_owned WHERE ${keyMatch(table, '_strata_owned', '_strata_parent')})) LIMIT 1`,
        )
        .allSync([txId])[0]
      if (found !== undefined) {
        const values = unique.map((name, index) => `${name} = ${String(found[index])}`).join(', ')
        throw new StrataError('CONSTRAINT_VIOLATION', `duplicate key value violates the unique constraint on (${unique.join(', ')}) of "${table.name}": (${values}) already exists on this branch`)
      }
    }
  }

  /** The keys table's columns as an INSERT names them: the primary key's, then the commit from which the branch owns the key. */
  private keysColumnList(table: TableDefinition): string {
    return `(${[...(table.primaryKey ?? []).map(quoteIdentifier), sinceColumn].join(', ')})`
  }

  /**
   * The keys (and the commit, the first `?`) of the rows of the branch's own table that the commit
   * (the second `?`) wrote and the branch did not own yet: a SELECT of the keys table's columns.
   */
  private unownedWrittenSql(table: TableDefinition, own: { readonly own: TableDefinition; readonly keys: TableDefinition }): string {
    const row = '_strata_row'
    const keyColumns = (table.primaryKey ?? []).map((name) => `${row}.${quoteIdentifier(name)}`)
    return (
      `SELECT ${keyColumns.join(', ')}, ? AS ${sinceColumn} FROM main.${quoteIdentifier(own.own.name)} AS ${row} WHERE ${openWriterSql(row)} = ? ` +
      `AND NOT EXISTS (SELECT 1 FROM main.${quoteIdentifier(own.keys.name)} AS _strata_owned WHERE ${keyMatch(table, '_strata_owned', row)})`
    )
  }

}

/** The calls of branches' functions and the references to their relations (strata.conflicts, strata.chunks) in one SELECT. */
interface FunctionCalls {
  readonly diffs: readonly DiffCall[]
  readonly currentBranch: readonly { readonly location: number; readonly length: number; readonly named: boolean }[]
  readonly tableHashes: readonly TableHashCall[]
  readonly conflicts: readonly { readonly location: number; readonly length: number; readonly aliased: boolean }[]
  readonly chunks: readonly { readonly location: number; readonly length: number; readonly aliased: boolean }[]
  /** A branch's storage table the query names directly (refused: UNDEFINED_TABLE). */
  readonly storage: string | undefined
}

/** Each `strata.<relation>` in `tree`, with its name's extent in the text. */
function findStrataReferences(statement: Statement, tree: PgNode, relation: string): { readonly location: number; readonly length: number; readonly aliased: boolean }[] {
  const found: { location: number; length: number; aliased: boolean }[] = []
  walk(tree, (kind, body) => {
    if (kind !== 'RangeVar' || body['schemaname'] !== 'strata' || body['relname'] !== relation) return
    const location = Number(body['location'] ?? 0)
    found.push({ location, length: referenceNameLength(tokensOf(statement.text, statement.tokens), location - statement.locationBase, relation), aliased: body['alias'] !== undefined })
  })
  return found
}

/** strata.conflicts' rows as DuckDB's SQL: table, key (JSON), column, base, ours, theirs (JSON). */
function conflictsSql(conflicts: readonly Conflict[]): string {
  const text = (value: string | null): string => (value === null ? 'NULL' : `'${value.replaceAll("'", "''")}'`)
  const columns = 'CAST("table" AS VARCHAR) AS "table", CAST("key" AS JSON) AS "key", CAST("column" AS VARCHAR) AS "column", CAST(base AS JSON) AS base, CAST(ours AS JSON) AS ours, CAST(theirs AS JSON) AS theirs'
  if (conflicts.length === 0) return `SELECT ${columns} FROM (SELECT NULL AS "table", NULL AS "key", NULL AS "column", NULL AS base, NULL AS ours, NULL AS theirs) WHERE false`
  const rows = conflicts.map((one) => `(${[one.table, one.key, one.column, one.base, one.ours, one.theirs].map(text).join(', ')})`)
  return `SELECT ${columns} FROM (VALUES ${rows.join(', ')}) AS _strata_conflicts("table", "key", "column", base, ours, theirs)`
}

/** The column store's text of `statement` with `edits`, and the PostgreSQL-to-DuckDB edits every column-store query takes; its parameters compacted. */
function columnText(statement: Statement, edits: readonly TextEdit[], params: readonly unknown[]): [string, unknown[]] {
  const compacted = compactParameters(applyEdits(statement, [...edits, ...postgresJsonEdits(statement), ...subqueryLimitEdits(statement, params), ...timeSeriesEdits(statement)]), params)
  return [compacted.sql, compacted.params]
}

/** Whether an UPDATE's or DELETE's WHERE reads tables (in subqueries). */
function readsInWhere(body: PgNode, relation: PgNode): boolean {
  let reads = false
  walk(body['whereClause'], (kind, node) => {
    if (kind === 'RangeVar' && node !== relation) reads = true
    return !reads
  })
  return reads
}

/** Whether an INSERT's source is a SELECT that reads tables (INSERT … SELECT … FROM t). */
function readsTables(insert: PgNode): boolean {
  const source = nodeBody(insert['selectStmt'], 'SelectStmt')
  if (source === undefined || source['valuesLists'] !== undefined) return false
  let reads = false
  walk(source, (kind) => {
    if (kind === 'RangeVar') reads = true
    return !reads
  })
  return reads
}

/** A statement's first two words, to name it in a message. */
function leadingWords(text: string): string {
  return text.trim().split(/\s+/).slice(0, 2).join(' ').toUpperCase()
}

/** The row store's plan when it answers: asked for, or a lookup by key unless the column store was asked for. */
function rowRoute(plan: ReadPlan, engine: 'row' | 'column' | undefined): RowPlan | undefined {
  return plan.row !== undefined && engine !== 'column' && (engine === 'row' || plan.lookup) ? plan.row : undefined
}

/** Each reference's name replaced by its derived table (`sqlOf`); the reference's own alias stays where it was written, an unaliased one takes the table's name. */
function referenceEdits(references: readonly Reference[], sqlOf: (table: TableDefinition) => string): TextEdit[] {
  return references.map((reference) => ({
    location: reference.location,
    length: reference.nameLength,
    text: `(${sqlOf(reference.table)})` + (reference.alias === undefined ? ` AS ${quoteIdentifier(reference.table.name)}` : ''),
  }))
}

/** The physical tables read at a past state (a bound), once each: their history must be mirrored first. */
function boundedTables(reads: readonly PhysicalRead[]): TableDefinition[] {
  return [...new Map(reads.filter((read) => read.bound !== undefined).map((read) => [read.table.name, read.table])).values()]
}
