/**
 * Snapshot isolation's side of the reads (docs/branches.md, "Snapshot isolation"). An explicit
 * transaction takes no lock until its first write: until then its statements read its snapshot — the
 * last commit when its first statement ran — and the tables they read are noted, so that its first
 * write can tell whether a commit after the snapshot changed one of them (TX_CONFLICT, first
 * committer wins; src/engine/transactions.ts, takeWriter).
 *
 * A SELECT reads the latest state when nothing was committed since the snapshot (the common case,
 * at no cost), and otherwise the snapshot's state through time travel (`AS OF` the snapshot's
 * transaction, Subsystem.readAt). A read that goes to the column store and finds, when it is done,
 * that a commit came meanwhile is read again at the snapshot: the mirror may have applied that
 * commit before DuckDB ran it.
 */
import { mainBranch } from '../sql/branches.js'
import { changedSinceSql } from '../sql/ddl.js'
import type { PgNode } from '../sql/parse.js'
import { isKeyLookup } from '../sql/temporal.js'
import { nodeBody, nodeKind, walk } from '../sql/tree.js'
import type { Statement } from '../subsystems/seam.js'
import type { EngineContext } from './context.js'
import type { Session } from './session.js'

/** Schemas whose relations are the catalog's, not user tables. */
const catalogSchemas: ReadonlySet<string> = new Set(['strata', 'information_schema', 'pg_catalog'])

/** Statements that read no table and fix no snapshot: transaction control, SET, SHOW. */
const controlKinds: ReadonlySet<string> = new Set(['TransactionStmt', 'VariableSetStmt', 'VariableShowStmt'])

/**
 * The tables a statement reads (`*`: a view, which may read any), and whether it reads the catalog
 * or a view: such a SELECT reads the latest state (time travel reads neither at a past commit).
 */
interface TablesRead {
  readonly catalogVersion: number
  readonly tables: readonly string[]
  readonly latestOnly: boolean
}

export class Snapshots {
  private readonly cache = new WeakMap<PgNode, TablesRead>()

  constructor(private readonly context: Pick<EngineContext, 'rowStore' | 'ledger' | 'schema' | 'subsystems'>) {}

  /**
   * A statement of `session`'s explicit transaction: fixes the snapshot (at the first statement),
   * notes the tables the statement reads (a transaction that parks its writes is checked against them
   * again), and gives the statement to run — before the first write, a SELECT made to read the
   * snapshot when a commit came after it; else `statement`.
   */
  before(session: Session, statement: Statement, tree: PgNode): Statement {
    const kind = nodeKind(tree)!
    if (controlKinds.has(kind)) return statement
    const committed = this.fix(session)
    const snapshot = session.snapshotTx!
    const read = this.tablesRead(tree, kind)
    for (const table of read.tables) session.tablesRead.add(table)
    if (session.writing || kind !== 'SelectStmt' || read.latestOnly || read.tables.length === 0 || committed === snapshot) return statement
    return this.context.subsystems.readAt(statement, snapshot) ?? statement
  }

  /** Fixes `session`'s snapshot at the last commit if its transaction has none yet; the last commit. */
  fix(session: Session): number {
    const committed = this.context.ledger.lastCommitted.txId
    session.snapshotTx ??= committed
    return committed
  }

  /**
   * When `statement` (as `before` gave it) read the latest state and a commit has come since the
   * snapshot: the statement that reads the snapshot instead; else undefined.
   */
  overtaken(session: Session, statement: Statement, tree: PgNode): Statement | undefined {
    if (session.snapshotTx === undefined || this.context.ledger.lastCommitted.txId === session.snapshotTx) return undefined
    const kind = nodeKind(tree)!
    if (kind !== 'SelectStmt' || statement.clauses !== undefined) return undefined
    const read = this.tablesRead(tree, kind)
    if (read.latestOnly || read.tables.length === 0) return undefined
    const past = this.context.subsystems.readAt(statement, session.snapshotTx)
    return past === statement ? undefined : past
  }

  /**
   * A table in `session.tablesRead` that a commit after `bound` changed on the session's branch, `*`
   * when it read a view (which may read any table), or undefined. Called holding the writer lock.
   */
  changedTable(session: Session, bound: number): string | undefined {
    const { rowStore, schema, subsystems } = this.context
    for (const name of session.tablesRead) {
      if (name === '*') return name
      const table = schema.catalog.tables.get(name)
      if (table === undefined) return name // dropped since
      let changed: boolean
      if (session.branch === mainBranch) {
        const row = rowStore.writer.prepareSync(changedSinceSql(table)).allSync([bound, bound, bound])[0]
        changed = row?.[0] === 1
      } else changed = subsystems.changedSince(session.branch, name, bound) ?? true
      if (changed) return name
    }
    return undefined
  }

  /**
   * The user tables `tree` reads, per tree and catalog version: every table named in a FROM, JOIN,
   * USING or subquery, the target of an UPDATE or DELETE (they read the rows they change) unless it
   * names them by their whole primary key, and of an INSERT … ON CONFLICT; not a plain INSERT's
   * target (it adds rows, reading none).
   */
  private tablesRead(tree: PgNode, kind: string): TablesRead {
    const catalogVersion = this.context.schema.version
    const cached = this.cache.get(tree)
    if (cached !== undefined && cached.catalogVersion === catalogVersion) return cached
    const { tables: known, views } = this.context.schema.catalog
    const tables = new Set<string>()
    let latestOnly = false
    const add = (relation: PgNode | undefined): void => {
      if (relation === undefined) return
      const schemaName = typeof relation['schemaname'] === 'string' ? relation['schemaname'] : undefined
      if (schemaName !== undefined && catalogSchemas.has(schemaName)) {
        latestOnly = true
        return
      }
      const name = String(relation['relname'])
      if (views.has(name)) {
        tables.add('*')
        latestOnly = true
      }
      else if (known.has(name)) tables.add(name)
    }
    walk(tree, (nodeKindName, body) => {
      if (nodeKindName === 'RangeVar') add(body)
    })
    const body = nodeBody(tree, kind)
    const target = nodeBody({ RangeVar: body?.['relation'] }, 'RangeVar')
    // An UPDATE or DELETE by its whole primary key reads only the row it writes: that row is checked
    // for conflicts as a row written (Transactions), not its table as one read.
    const targetTable = target === undefined ? undefined : known.get(String(target['relname']))
    const byKey = body !== undefined && targetTable !== undefined && isKeyLookup(body, targetTable)
    if (((kind === 'UpdateStmt' || kind === 'DeleteStmt') && !byKey) || (kind === 'InsertStmt' && body?.['onConflictClause'] !== undefined)) add(target)
    const read: TablesRead = { catalogVersion, tables: [...tables], latestOnly }
    this.cache.set(tree, read)
    return read
  }
}
