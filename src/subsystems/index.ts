/**
 * The registered subsystems (ARCHITECTURE.md, "The subsystem seam"). Adding one is a folder under
 * src/subsystems/ and a line in `registered`; the engine reaches each only through src/subsystems/seam.ts.
 */
import { fulltextSubsystem } from './fulltext/index.js'
import type { ClaimedRead, ClauseRecogniser, MetricFamily, OwnCall, OwnStatement, Rows, SchemaChange, Statement, StatementCall, Subsystem, SubsystemHost } from './seam.js'
import type { Commit } from '../ledger/ledger.js'
import type { TableDefinition } from '../sql/catalog.js'
import type { PgNode } from '../sql/parse.js'
import { StrataError } from '../util/errors.js'
import { streamingSubsystem } from './streaming/index.js'
import { timeTravelSubsystem } from './time-travel/index.js'
import { branchesSubsystem } from './branches/index.js'

/** Every subsystem, in the order their hooks are asked. */
const registered: readonly ((host: SubsystemHost) => Subsystem)[] = [streamingSubsystem, timeTravelSubsystem, fulltextSubsystem, branchesSubsystem]

/**
 * The subsystems of one engine, with each hook gathered once so that asking "does anyone claim
 * this?" costs a loop over the few that declared it.
 *
 * @example
 * const subsystems = new Subsystems(host)
 * subsystems.claimRead(statement, tree) // undefined: the engine's reads run it
 */
export class Subsystems {
  readonly all: readonly Subsystem[]
  /** The one clause recogniser (time travel's), or undefined. */
  readonly clauses: ClauseRecogniser | undefined
  /** Relation names served in the `strata` schema, each by its subsystem. */
  readonly relations: ReadonlyMap<string, string>
  private readonly readers: readonly Subsystem[]
  private readonly writers: readonly Subsystem[]
  private readonly recognisers: readonly Subsystem[]
  private readonly columnStoreChecks: readonly Subsystem[]
  private readonly commitListeners: readonly Subsystem[]
  private readonly committers: readonly Subsystem[]

  /** `factories`: the registered subsystems; a test may pass others. */
  constructor(host: SubsystemHost, factories: readonly ((host: SubsystemHost) => Subsystem)[] = registered) {
    this.all = factories.map((open) => open(host))
    const recognisers = this.all.filter((subsystem) => subsystem.clauses !== undefined)
    if (recognisers.length > 1) throw new StrataError('INTERNAL', `two subsystems cut clauses out of statements: ${recognisers.map((subsystem) => subsystem.name).join(', ')}`)
    this.clauses = recognisers[0]?.clauses
    const relations = new Map<string, string>()
    for (const subsystem of this.all) for (const relation of subsystem.relations ?? []) relations.set(relation, subsystem.name)
    this.relations = relations
    this.readers = this.all.filter((subsystem) => subsystem.claimRead !== undefined)
    this.writers = this.all.filter((subsystem) => subsystem.claimWrite !== undefined)
    this.recognisers = this.all.filter((subsystem) => subsystem.recognise !== undefined)
    this.columnStoreChecks = this.all.filter((subsystem) => subsystem.beforeColumnStore !== undefined)
    this.commitListeners = this.all.filter((subsystem) => subsystem.afterCommit !== undefined)
    this.committers = this.all.filter((subsystem) => subsystem.beforeCommit !== undefined)
  }

  /** The library call `name` a subsystem serves (streaming's `push`), or undefined. */
  call(name: string): OwnCall | undefined {
    for (const subsystem of this.all) {
      const call = subsystem.calls?.[name]
      if (call !== undefined) return call
    }
    return undefined
  }

  recognise(statement: Statement): OwnStatement | undefined {
    for (const subsystem of this.recognisers) {
      const own = subsystem.recognise!(statement)
      if (own !== undefined) return own
    }
    return undefined
  }

  /** How a statement runs on a branch other than main, or undefined when no subsystem runs it there. */
  onBranch(statement: Statement, kind: string, body: PgNode, branch: string): OwnStatement | 'as-main' | undefined {
    for (const subsystem of this.all) {
      const own = subsystem.onBranch?.(statement, kind, body, branch)
      if (own !== undefined) return own
    }
    return undefined
  }

  checkClauses(statement: Statement, kind: string): void {
    for (const subsystem of this.all) subsystem.checkClauses?.(statement, kind)
  }

  claimRead(statement: Statement, tree: PgNode): ClaimedRead | undefined {
    for (const subsystem of this.readers) {
      const claim = subsystem.claimRead!(statement, tree)
      if (claim !== undefined) return claim
    }
    return undefined
  }

  /** `statement` made to read commit `txId`'s state (Subsystem.readAt), or undefined when no subsystem can. */
  readAt(statement: Statement, txId: number): Statement | undefined {
    for (const subsystem of this.all) {
      const past = subsystem.readAt?.(statement, txId)
      if (past !== undefined) return past
    }
    return undefined
  }

  /** Whether a commit after `bound` changed `table` on `branch` (Subsystem.changedSince); undefined when no subsystem knows the branch. */
  changedSince(branch: string, table: string, bound: number): boolean | undefined {
    for (const subsystem of this.all) {
      const changed = subsystem.changedSince?.(branch, table, bound)
      if (changed !== undefined) return changed
    }
    return undefined
  }

  claimWrite(statement: Statement, kind: 'InsertStmt' | 'UpdateStmt' | 'DeleteStmt', body: PgNode): ((call: StatementCall) => Promise<Rows>) | undefined {
    for (const subsystem of this.writers) {
      const claim = subsystem.claimWrite!(statement, kind, body)
      if (claim !== undefined) return claim
    }
    return undefined
  }

  claimBulkInsert(table: TableDefinition, columns: readonly string[]): boolean {
    return this.all.some((subsystem) => subsystem.claimBulkInsert?.(table, columns) === true)
  }

  beforeColumnStore(tree: unknown, reason: string): void {
    for (const subsystem of this.columnStoreChecks) subsystem.beforeColumnStore!(tree, reason)
  }

  checkDropTable(table: TableDefinition, options: { readonly cascade: boolean }): void {
    for (const subsystem of this.all) subsystem.schema?.checkDropTable?.(table, options)
  }

  dropTable(change: SchemaChange, table: TableDefinition): void {
    for (const subsystem of this.all) subsystem.schema?.dropTable?.(change, table)
  }

  /** True when a subsystem's index was called `name` and is gone. */
  dropIndex(change: SchemaChange, name: string): boolean {
    return this.all.some((subsystem) => subsystem.schema?.dropIndex?.(change, name) === true)
  }

  checkAlterTable(table: TableDefinition): void {
    for (const subsystem of this.all) subsystem.schema?.checkAlterTable?.(table)
  }

  checkDropColumn(table: TableDefinition, column: string): void {
    for (const subsystem of this.all) subsystem.schema?.checkDropColumn?.(table, column)
  }

  renameColumn(table: TableDefinition, from: string, to: string): Partial<TableDefinition> {
    let changes: Partial<TableDefinition> = {}
    for (const subsystem of this.all) changes = { ...changes, ...subsystem.schema?.renameColumn?.(table, from, to) }
    return changes
  }

  afterRenameColumn(change: SchemaChange, table: TableDefinition, to: string): void {
    for (const subsystem of this.all) subsystem.schema?.afterRenameColumn?.(change, table, to)
  }

  /** Every subsystem's Prometheus samples. */
  metrics(): MetricFamily[] {
    return this.all.flatMap((subsystem) => [...(subsystem.metrics?.() ?? [])])
  }

  onOpen(): void {
    for (const subsystem of this.all) subsystem.onOpen?.()
  }

  /** Every subsystem's work before a commit (Subsystem.beforeCommit), one after the other; undefined when none has any. */
  beforeCommit(call: () => StatementCall): Promise<void> | undefined {
    let chain: Promise<void> | undefined
    for (const subsystem of this.committers) {
      if (chain === undefined) chain = subsystem.beforeCommit!(call)
      else chain = chain.then(() => subsystem.beforeCommit!(call))
    }
    return chain
  }

  afterCommit(commit: Commit): void {
    for (const subsystem of this.commitListeners) subsystem.afterCommit!(commit)
  }

  async close(): Promise<void> {
    for (const subsystem of this.all) await subsystem.onClose?.()
  }
}
