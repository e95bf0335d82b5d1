/**
 * INSERT, UPDATE and DELETE on the row store, inside the write path of `Transactions.write`: compiled
 * once per tree and catalog version (src/sql/rowsql.ts) and run on the writer: an inserted row is its
 * key's open version, and the history triggers move what an UPDATE or DELETE supersedes into history
 * (a compiled UPDATE sets the new version's columns itself, src/sql/ddl.ts renewOpenVersionSql). INSERT … SELECT evaluates its source as a query; an UPDATE or DELETE
 * whose expressions SQLite cannot evaluate as DuckDB does is evaluated by the column store and applied
 * by key. A write a subsystem claims (valid time) never reaches here.
 */
import type { RowValue } from '../storage/rowstore/rowstore.js'
import { findColumn, keyColumn } from '../sql/catalog.js'
import { deparseStatement } from '../sql/deparse.js'
import { nullKeyError, renewOpenVersionSql, rowidAliasIndex, storedKeyText } from '../sql/ddl.js'
import type { PgNode } from '../sql/parse.js'
import type { Binder, RowPlan } from '../sql/plan.js'
import { compileDelete, compileInsertShell, compileUpdate, compileValuesRows, defaultBinderFor, insertTarget, keyedDeleteSql, keyedUpdateSql, NotRowStore } from '../sql/rowsql.js'
import { list, nodeBody, nodeKind } from '../sql/tree.js'
import { readsIntegersAsBigints, toStorage, type SqlType } from '../sql/types.js'
import { mirrorSchema } from '../sync/mirror.js'
import type { Statement } from '../subsystems/seam.js'
import { StrataError } from '../util/errors.js'
import { limits } from '../util/limits.js'
import { bindValues, type EngineContext } from './context.js'
import type { Reads } from './reads.js'
import { bigintRows, numberRows, outputColumn, shapeRows, type ExecuteOptions, type Positional } from './rows.js'
import { handedRows, handOverInserted, type Session } from './session.js'

/** An INSERT compiled for the row store (cached per tree and catalog version, like every write plan). */
interface InsertPlan {
  readonly target: ReturnType<typeof insertTarget>
  readonly shell: ReturnType<typeof compileInsertShell>
  /** The rows' binders when every VALUES item is a parameter or a constant; undefined for INSERT … SELECT and expressions. */
  readonly fastRows: Binder[][] | undefined
  /** `(?, ?, …)`: one row's placeholders. */
  readonly placeholders: string
  readonly bigints: boolean
  /** The column SQLite would fill in when written NULL (ddl.ts rowidAliasIndex), or -1. */
  readonly rowidAlias: number
  /** The statement text for a chunk of n rows. */
  readonly sqlByRowCount: Map<number, string>
  /**
   * Each row's key text from its values (ddl.ts storedKeyText), when the statement's rows can be
   * handed to the sync: a plain INSERT (no ON CONFLICT) into a table with such keys.
   */
  readonly keyText: ((values: readonly unknown[], offset: number) => string | undefined) | undefined
}

export class Writes {
  /** Compiled write plans per cached tree and catalog version (a NotRowStore outcome is cached too). */
  private readonly planCache = new WeakMap<PgNode, { readonly catalogVersion: number; readonly plan: unknown }>()

  constructor(
    private readonly context: Pick<EngineContext, 'rowStore' | 'ledger' | 'schema' | 'subsystems'>,
    private readonly reads: Pick<Reads, 'evaluateSelect' | 'columns'>,
  ) {}

  /** One INSERT, UPDATE or DELETE on `session`, which is inside the write's transaction. */
  run(session: Session, kind: string, body: PgNode, params: readonly unknown[], options: ExecuteOptions, statement?: Statement): Positional | Promise<Positional> {
    const catalog = this.context.schema.catalog
    const resolver = { table: (name: string) => catalog.tables.get(name) }
    if (kind === 'InsertStmt') return this.insert(session, body, params, options, statement)
    const relationName = String(nodeBody({ RangeVar: body['relation'] }, 'RangeVar')!['relname'])
    if (!catalog.tables.has(relationName)) {
      throw new StrataError('UNDEFINED_TABLE', catalog.views.has(relationName) ? `"${relationName}" is a view; views cannot be written` : `table "${relationName}" does not exist`)
    }
    let plan: RowPlan
    try {
      plan = this.cachedPlan(body, () => (kind === 'UpdateStmt' ? compileUpdate(body, resolver, renewOpenVersionSql) : compileDelete(body, resolver)))
    } catch (error) {
      if (error instanceof NotRowStore) {
        this.context.subsystems.beforeColumnStore(body, error.construct)
        return this.evaluatedUpdateOrDelete(session, kind, body, params, options, error.construct)
      }
      throw error
    }
    return this.runPlan(plan, params)
  }

  /** Compiles once per tree and catalog version; the result (or the NotRowStore it threw) is reused. */
  private cachedPlan<T>(tree: PgNode, compile: () => T): T {
    const version = this.context.schema.version
    const cached = this.planCache.get(tree)
    let outcome: { value: T } | { error: NotRowStore }
    if (cached !== undefined && cached.catalogVersion === version) outcome = cached.plan as typeof outcome
    else {
      try {
        outcome = { value: compile() }
      } catch (error) {
        if (!(error instanceof NotRowStore)) throw error
        outcome = { error }
      }
      this.planCache.set(tree, { catalogVersion: version, plan: outcome })
    }
    if ('error' in outcome) throw outcome.error
    return outcome.value
  }

  private runPlan(plan: RowPlan, params: readonly unknown[]): Positional {
    const statement = this.context.rowStore.writer.prepareSync(plan.sql, { bigints: readsIntegersAsBigints(plan.output.map((column) => column.type)) })
    const values = bindValues(this.context.ledger, plan.binders, params)
    if (plan.output.length > 0) {
      const rows = statement.allSync(values)
      return { ...shapeRows(plan.output, rows), engine: 'row' }
    }
    const { changes } = statement.runSync(values)
    return { rows: [], columns: [], rowCount: changes, engine: 'row' }
  }

  /** A VALUES list of parameters and constants inserts synchronously; INSERT … SELECT waits for its source. */
  private insert(session: Session, insert: PgNode, params: readonly unknown[], options: ExecuteOptions, statement?: Statement): Positional | Promise<Positional> {
    const plan = this.cachedPlan(insert, (): InsertPlan => {
      const catalog = this.context.schema.catalog
      const target = insertTarget(insert, { table: (name) => catalog.tables.get(name) })
      const shell = compileInsertShell(insert, target, renewOpenVersionSql)
      return {
        target,
        shell,
        fastRows: compileValuesRows(insert, target),
        placeholders: `(${target.table.columns.map(() => '?').join(', ')})`,
        bigints: readsIntegersAsBigints(shell.output.map((column) => column.type)),
        rowidAlias: rowidAliasIndex(target.table),
        sqlByRowCount: new Map(),
        keyText: insert['onConflictClause'] === undefined ? storedKeyText(target.table) : undefined,
      }
    })
    if (plan.fastRows !== undefined) return this.insertRows(session, plan, plan.fastRows, params)
    return this.insertEvaluatedRows(session, plan, insert, params, options, statement)
  }

  /** INSERT … SELECT, or VALUES with expressions: evaluate the source (routed like any query, and seeing this transaction's own writes), then insert the values it produced. */
  private async insertEvaluatedRows(session: Session, plan: InsertPlan, insert: PgNode, params: readonly unknown[], options: ExecuteOptions, statement?: Statement): Promise<Positional> {
    const target = plan.target
    const source = nodeBody(insert['selectStmt'], 'SelectStmt')
    if (source === undefined) throw new StrataError('NOT_SUPPORTED', 'INSERT … DEFAULT VALUES')
    const evaluated = await this.reads.evaluateSelect(session, { SelectStmt: source }, params, options, statement)
    if (evaluated.columns.length !== target.columns.length) {
      throw new StrataError('SYNTAX_ERROR', `INSERT has ${target.columns.length} target columns but the query returns ${evaluated.columns.length}`)
    }
    if (evaluated.rows.length > limits.dmlEvaluatedRowsMax) throw new StrataError('NOT_SUPPORTED', `INSERT … SELECT of more than ${limits.dmlEvaluatedRowsMax} rows at once`)
    const rowBinders = evaluated.rows.map((row) => {
      const byName = new Map<string, Binder>()
      target.columns.forEach((name, index) => {
        const column = findColumn(target.table, name)!
        byName.set(name, { kind: 'value', value: toStorage(row[index], column.type) })
      })
      return target.table.columns.map((column) => byName.get(column.name) ?? defaultBinderFor(target.table, column.name))
    })
    return this.insertRows(session, plan, rowBinders, params)
  }

  private insertRows(session: Session, plan: InsertPlan, rowBinders: readonly (readonly Binder[])[], params: readonly unknown[]): Positional {
    const { target, shell } = plan
    if (rowBinders.length === 0) return { rows: [], columns: shell.output.map(outputColumn), rowCount: 0, engine: 'row' }
    const { rowStore, ledger } = this.context
    const writer = rowStore.writer
    const collected: RowValue[][] = []
    let changed = 0
    // The rows for the sync (Session.inserted): only from statements large enough to be worth it, and
    // only while the transaction has inserted nothing it could not hand over.
    const keyText = plan.keyText
    let handed: unknown[][] | undefined = session.inserted !== null && keyText !== undefined && rowBinders.length >= limits.syncHandoffStatementRowsMin ? [] : undefined
    // Many rows in one statement up to SQLite's parameter limit; each statement is prepared once.
    const columnsPerRow = target.table.columns.length
    const rowsPerStatement = Math.max(1, Math.min(500, Math.floor(32_000 / Math.max(1, columnsPerRow))))
    for (let start = 0; start < rowBinders.length; start += rowsPerStatement) {
      const chunk = rowBinders.length <= rowsPerStatement ? rowBinders : rowBinders.slice(start, start + rowsPerStatement)
      // The text for a chunk of this many rows, made once per plan (plans are per tree and catalog version).
      let sql = plan.sqlByRowCount.get(chunk.length)
      if (sql === undefined) {
        sql = shell.prefix + chunk.map(() => plan.placeholders).join(', ') + shell.suffix
        plan.sqlByRowCount.set(chunk.length, sql)
      }
      let values: RowValue[]
      if (chunk.length === 1 && shell.suffixBinders.length === 0) values = bindValues(ledger, chunk[0]!, params)
      else {
        values = []
        for (const row of chunk) values.push(...bindValues(ledger, row, params))
        values.push(...bindValues(ledger, shell.suffixBinders, params))
      }
      if (plan.rowidAlias >= 0) {
        for (let at = plan.rowidAlias; at < chunk.length * columnsPerRow; at += columnsPerRow) {
          if (values[at] === null) throw nullKeyError(target.table, target.table.columns[plan.rowidAlias]!.name)
        }
      }
      const statement = writer.prepareSync(sql, plan.bigints ? bigintRows : numberRows)
      if (shell.output.length > 0) {
        const rows = statement.allSync(values)
        collected.push(...rows)
        changed += rows.length
      } else changed += statement.runSync(values).changes
      if (handed !== undefined) handed = handedRows(handed, keyText!, values, { count: chunk.length, stride: columnsPerRow, width: columnsPerRow })
    }
    if (session.inserted !== null) handOverInserted(session, target.table, handed, limits.syncHandoffRowsMax)
    if (shell.output.length > 0) return { ...shapeRows(shell.output, collected), engine: 'row' }
    return { rows: [], columns: [], rowCount: changed, engine: 'row' }
  }

  /**
   * UPDATE/DELETE whose expressions the row store cannot evaluate identically: the column store
   * computes (key, new values) over the same state, and the row store applies them by key.
   */
  private async evaluatedUpdateOrDelete(session: Session, kind: string, body: PgNode, params: readonly unknown[], options: ExecuteOptions, construct: string): Promise<Positional> {
    if (list(body['returningList']).length > 0) throw new StrataError('NOT_SUPPORTED', `RETURNING together with ${construct}`)
    if (body['withClause'] !== undefined) throw new StrataError('NOT_SUPPORTED', 'WITH … UPDATE/DELETE')
    const relation = structuredClone(body['relation']) as PgNode
    const table = this.context.schema.catalog.tables.get(String(relation['relname']))!
    const alias = nodeBody({ Alias: relation['alias'] }, 'Alias')
    const qualifier = alias === undefined ? table.name : String(alias['aliasname'])
    relation['schemaname'] = mirrorSchema
    relation['alias'] = { aliasname: qualifier }
    const targets: unknown[] = [{ ResTarget: { val: { ColumnRef: { fields: [{ String: { sval: qualifier } }, { String: { sval: keyColumn } }] } } } }]
    const assigned: { name: string; type: SqlType }[] = []
    if (kind === 'UpdateStmt') {
      for (const target of list(body['targetList'])) {
        const resTarget = nodeBody(target, 'ResTarget')!
        const name = String(resTarget['name'])
        const column = findColumn(table, name)
        if (column === undefined) throw new StrataError('UNDEFINED_COLUMN', `column "${name}" of table "${table.name}" does not exist`)
        let value = resTarget['val']
        if (nodeKind(value) === 'SetToDefault') {
          const fallback = column.default
          value = fallback === undefined ? { A_Const: { isnull: true } } : fallback.kind === 'now' ? { FuncCall: { funcname: [{ String: { sval: 'now' } }] } } : { A_Const: constantNode(fallback.value) }
        }
        targets.push({ ResTarget: { name: `v_${assigned.length}`, val: value } })
        assigned.push({ name, type: column.type })
      }
    }
    const from = [{ RangeVar: relation }, ...list(kind === 'UpdateStmt' ? body['fromClause'] : body['usingClause'])]
    const select: PgNode = { SelectStmt: { targetList: targets, fromClause: from, whereClause: body['whereClause'], op: 'SETOP_NONE', limitOption: 'LIMIT_OPTION_DEFAULT' } }
    const text = deparseStatement(select)
    const evaluated = await this.reads.columns.inWrite(session, text, params, options)
    if (evaluated.rows.length > limits.dmlEvaluatedRowsMax) throw new StrataError('NOT_SUPPORTED', `${kind === 'UpdateStmt' ? 'UPDATE' : 'DELETE'} of more than ${limits.dmlEvaluatedRowsMax} rows at once`)
    const writer = this.context.rowStore.writer
    // UPDATE … FROM may produce a row more than once; PostgreSQL and DuckDB apply one of them.
    const seen = new Set<string>()
    const rows = evaluated.rows.filter((row) => {
      const key = String(row[0])
      if (seen.has(key)) return false
      seen.add(key)
      return true
    })
    if (kind !== 'UpdateStmt') {
      const keys = `[${rows.map((row) => String(row[0])).join(',')}]`
      return { rows: [], columns: [], rowCount: writer.prepareSync(keyedDeleteSql(table)).runSync([keys]).changes, engine: 'row' }
    }
    const perStatement = Math.max(1, Math.min(limits.keyedUpdateRowsPerStatement, Math.floor(limits.sqliteParametersMax / (assigned.length + 1))))
    const names = assigned.map((column) => column.name)
    let changed = 0
    for (let start = 0; start < rows.length; start += perStatement) {
      const chunk = rows.slice(start, start + perStatement)
      const params: RowValue[] = []
      for (const row of chunk) {
        params.push(String(row[0]))
        assigned.forEach((column, index) => params.push(toStorage(row[index + 1], column.type)))
      }
      changed += writer.prepareSync(keyedUpdateSql(table, names, chunk.length, renewOpenVersionSql)).runSync(params).changes
    }
    return { rows: [], columns: [], rowCount: changed, engine: 'row' }
  }
}

function constantNode(value: null | number | string | boolean): PgNode {
  if (value === null) return { isnull: true }
  if (typeof value === 'boolean') return { boolval: { boolval: value } }
  if (typeof value === 'number') return Number.isInteger(value) ? { ival: { ival: value } } : { fval: { fval: String(value) } }
  return { sval: { sval: value } }
}
