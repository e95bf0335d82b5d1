/**
 * Branches as a subsystem (SPEC 10, docs/branches.md): the list of branches — CREATE BRANCH, DROP
 * BRANCH, SHOW BRANCHES and `strata.branches` — kept in the row store's `_strata_branches`, each change
 * of it a ledger commit of kind `branch` made on no branch. A branch's fork point is its parent's state
 * at a point of the global transaction order; its head is its last commit, or its fork point before it
 * has one. Reads and writes on a branch are the next steps of docs/branches.md ("Status").
 */
import { findBranchClauses, mainBranch, recogniseCreateBranch, recogniseDropBranch, recogniseExportTable, recogniseMergeBranch, recogniseShowBranches, recogniseUseBranch, recogniseVacuumHistory, type CreateBranch, type DropBranch } from '../../sql/branches.js'
import { list, names, nodeBody, nodeKind } from '../../sql/tree.js'
import type { PgNode } from '../../sql/parse.js'
import type { RowConnection } from '../../storage/rowstore/rowstore.js'
import { StrataError } from '../../util/errors.js'
import { dateFromMicros } from '../../util/timestamp.js'
import type { Rows, StatementCall, Subsystem, SubsystemHost } from '../seam.js'
import { commitAtSync } from './instants.js'
import { Merges } from './merge.js'
import { Retention } from './retention.js'
import { BranchStatements } from './statements.js'
import { changedKeysSql, isBranchStorage, resolveBranchSync } from './storage.js'

/** One live branch as `strata.branches` and SHOW BRANCHES show it. */
export interface BranchRow {
  readonly id: number
  readonly name: string
  readonly parent: string | null
  readonly forkTx: number | null
  readonly headTx: number
  /** The system time of the commit that made it (main: the database's first commit), in µs; null for main before any commit. */
  readonly createdAtUs: bigint | null
}

/**
 * Every live branch, main first, from the row store: the same rows the column store's
 * `strata.branches` view computes (src/sync/mirror.ts).
 */
export function branchesSync(connection: RowConnection): BranchRow[] {
  const main = connection
    .prepareSync('SELECT (SELECT max(tx_id) FROM _strata_tx WHERE branch = 0), (SELECT min(system_time_us) FROM _strata_tx)', { bigints: true })
    .allSync([])[0]!
  const rows: BranchRow[] = [{ id: 0, name: mainBranch, parent: null, forkTx: null, headTx: main[0] === null ? 0 : Number(main[0]), createdAtUs: main[1] as bigint | null }]
  const others = connection
    .prepareSync(
      'SELECT b.id, b.name, coalesce(p.name, ?), b.fork_tx, ' +
        'max(b.fork_tx, coalesce(b.merged_tx, 0), coalesce((SELECT max(t.tx_id) FROM _strata_tx t WHERE t.branch = b.id), 0)), c.system_time_us ' +
        'FROM _strata_branches b LEFT JOIN _strata_branches p ON p.id = b.parent_id JOIN _strata_tx c ON c.tx_id = b.created_tx ' +
        'WHERE b.dropped_tx IS NULL ORDER BY b.name',
      { bigints: true },
    )
    .allSync([mainBranch])
  for (const row of others) {
    rows.push({ id: Number(row[0]), name: String(row[1]), parent: String(row[2]), forkTx: Number(row[3]), headTx: Number(row[4]), createdAtUs: row[5] as bigint })
  }
  return rows
}

class Branches {
  constructor(
    private readonly host: SubsystemHost,
    /** Called whenever the list may change (CREATE, DROP): what was resolved from it is read again. */
    private readonly listChanging: () => void,
  ) {}

  show(call: StatementCall): Rows {
    const rows = branchesSync(call.rowConnection()).map((branch) => [
      branch.name,
      branch.parent,
      branch.forkTx,
      branch.headTx,
      branch.createdAtUs === null ? null : dateFromMicros(branch.createdAtUs),
    ])
    return {
      rows,
      columns: [
        { name: 'name', type: 'VARCHAR' },
        { name: 'parent', type: 'VARCHAR' },
        { name: 'fork_tx', type: 'BIGINT' },
        { name: 'head_tx', type: 'BIGINT' },
        { name: 'created_at', type: 'TIMESTAMP' },
      ],
      rowCount: rows.length,
      engine: 'row',
    }
  }

  create(call: StatementCall, create: CreateBranch): Rows {
    this.outsideTransaction(call, 'CREATE BRANCH')
    this.listChanging()
    const writer = call.rowConnection()
    const branches = branchesSync(writer)
    const done: Rows = { rows: [], columns: [], rowCount: 0, engine: 'row' }
    if (branches.some((branch) => branch.name === create.name)) {
      if (create.ifNotExists) return done
      throw new StrataError('DUPLICATE_BRANCH', `branch "${create.name}" already exists`)
    }
    const parentName = create.from ?? mainBranch
    const parent = branches.find((branch) => branch.name === parentName)
    if (parent === undefined) throw new StrataError('UNDEFINED_BRANCH', `branch "${parentName}" does not exist`)
    const forkTx = create.asOf === undefined ? parent.headTx : this.forkPointSync(call, writer, create, parent)
    const pending = this.host.ledger.pendingCommit
    if (pending === undefined) throw new StrataError('INTERNAL', 'CREATE BRANCH ran outside a write transaction')
    writer.prepareSync('INSERT INTO _strata_branches (name, parent_id, fork_tx, created_tx) VALUES (?, ?, ?, ?)').runSync([create.name, parent.id, forkTx, pending.txId])
    call.branchesChanged()
    return done
  }

  drop(call: StatementCall, drop: DropBranch): Rows {
    this.outsideTransaction(call, 'DROP BRANCH')
    this.listChanging()
    const done: Rows = { rows: [], columns: [], rowCount: 0, engine: 'row' }
    if (drop.name === mainBranch) throw new StrataError('OBJECT_IN_USE', 'branch "main" cannot be dropped')
    const writer = call.rowConnection()
    const branches = branchesSync(writer)
    const branch = branches.find((one) => one.name === drop.name)
    if (branch === undefined) {
      if (drop.ifExists) return done
      throw new StrataError('UNDEFINED_BRANCH', `branch "${drop.name}" does not exist`)
    }
    if (call.branch === branch.name) throw new StrataError('OBJECT_IN_USE', `branch "${branch.name}" cannot be dropped: this session is on it (USE BRANCH main first)`)
    const child = branches.find((one) => one.parent === branch.name)
    if (child !== undefined) throw new StrataError('OBJECT_IN_USE', `branch "${branch.name}" cannot be dropped: branch "${child.name}" was made from it`)
    const pending = this.host.ledger.pendingCommit
    if (pending === undefined) throw new StrataError('INTERNAL', 'DROP BRANCH ran outside a write transaction')
    writer.prepareSync('UPDATE _strata_branches SET dropped_tx = ? WHERE id = ?').runSync([pending.txId, branch.id])
    call.branchesChanged()
    // Its own tables go with it (nothing reads them: a branch made from it would have stopped the drop).
    const own = [...this.host.schema.catalog.tables.values()].filter((table) => table.name.startsWith(`_strata_b${branch.id}_`) && isBranchStorage(table.name))
    if (own.length > 0) {
      for (const table of own) this.host.dropTableSync(table)
      call.schemaChanged()
      this.host.ledger.writesOnNoBranch()
    }
    return done
  }

  /**
   * USE BRANCH: the session's next statements run on `name`, which must exist. Inside a transaction only
   * before it writes: a transaction writes on one branch.
   */
  use(call: StatementCall, name: string): Rows {
    if (name !== mainBranch) resolveBranchSync(call.rowConnection(), name)
    if (call.explicitTransaction && call.inTransaction && name !== call.branch) {
      throw new StrataError('TX_STATE', `USE BRANCH inside a transaction that has written (on branch "${call.branch}"): a transaction writes on one branch`)
    }
    call.useBranch(name)
    return { rows: [], columns: [], rowCount: 0, engine: 'row' }
  }

  /**
   * The fork point of `CREATE BRANCH … AS OF x`: the last commit at or before x, x being a transaction
   * id or a time as time travel's AS OF takes it (an integer is that transaction's system time).
   */
  private forkPointSync(call: StatementCall, connection: RowConnection, create: CreateBranch, parent: { readonly name: string; readonly headTx: number }): number {
    const forkTx = commitAtSync(this.host, call, connection, create.asOf!)
    // A branch's state after its head is its head's: a fork point later than it would name a state the branch never had apart.
    return Math.min(forkTx, parent.headTx)
  }

  private outsideTransaction(call: StatementCall, what: string): void {
    if (call.explicitTransaction) throw new StrataError('TX_STATE', `${what} cannot run inside a transaction block`)
  }
}

/** OBJECT_IN_USE naming a live branch, when there is one: `what` cannot be dropped while a branch may read it. */
function refuseWhileBranched(host: SubsystemHost, what: string): void {
  const live = host.rowStore.writer.prepareSync('SELECT name FROM _strata_branches WHERE dropped_tx IS NULL ORDER BY id LIMIT 1').allSync([])[0]
  if (live !== undefined) throw new StrataError('OBJECT_IN_USE', `${what} cannot be dropped while branch "${String(live[0])}" may read it (merge or drop the branch first)`)
}

/**
 * The branches subsystem, registered in src/subsystems/index.ts.
 *
 * @example
 * const subsystem = branchesSubsystem(host)
 * subsystem.recognise?.(parseStatements('CREATE BRANCH b')[0]!)?.writes // true
 */
export function branchesSubsystem(host: SubsystemHost): Subsystem {
  let merges: Merges | undefined = undefined
  const statements = new BranchStatements(host, () => merges!.conflicts)
  merges = new Merges(host, {
    ownTables: (call, branch, table, txId) => statements.ownTablesSync(call, branch, table, txId),
    copyIn: (call, table, own, keys, branch) => statements.copyInKeysSync(call, table, own, keys, branch),
    claim: (table, own, txId, branch) => statements.claimWrittenSync(table, own, txId, branch),
  })
  const merger = merges
  const retention = new Retention(host)
  const branches = new Branches(host, () => statements.forgetBranches())
  return {
    name: 'branches',
    relations: ['branches'],
    onBranch: (statement, kind, body) => statements.statement(statement, kind, body),
    changedSince: (branch, table, bound) => {
      if (branch === mainBranch) return undefined
      const definition = host.schema.catalog.tables.get(table)
      // A table without a key has no rows on a branch of its own (docs/branches.md): nothing there changes it.
      if (definition === undefined || definition.primaryKey === null) return false
      const writer = host.rowStore.writer
      const line = resolveBranchSync(writer, branch)
      const changed = changedKeysSql(definition, line, bound, (name) => host.schema.catalog.tables.get(name))
      return writer.prepareSync(`SELECT EXISTS (${changed})`).allSync([])[0]![0] === 1
    },
    claimRead: (statement, tree) => statements.claimFunctions(statement, nodeBody(tree, 'SelectStmt') ?? tree),
    // A branch's own tables are reached only through its branch: named directly, they do not exist.
    claimWrite: (_statement, _kind, body) => {
      const relation = nodeBody({ RangeVar: body['relation'] }, 'RangeVar')
      const name = String(relation?.['relname'] ?? '')
      if (isBranchStorage(name)) throw new StrataError('UNDEFINED_TABLE', `table "${name}" does not exist`)
      return undefined
    },
    // A branch reads its parent's tables as of its fork point: until the parent keeps what it drops for
    // them (docs/branches.md, "Status"), a table or column is not dropped while any branch is live.
    schema: {
      checkDropTable: (table) => {
        if (isBranchStorage(table.name)) throw new StrataError('UNDEFINED_TABLE', `table "${table.name}" does not exist`)
        refuseWhileBranched(host, `table "${table.name}"`)
      },
      checkDropColumn: (table, column) => refuseWhileBranched(host, `column "${column}" of table "${table.name}"`),
      // A branch's own table for it has the columns the table had at the branch's first write to it.
      checkAlterTable: (table) => {
        if (isBranchStorage(table.name)) throw new StrataError('UNDEFINED_TABLE', `table "${table.name}" does not exist`)
        for (const name of host.schema.catalog.tables.keys()) {
          const match = /^_strata_b(\d+)_t_(.*)$/s.exec(name)
          if (match === null || match[2] !== table.name) continue
          const live = host.rowStore.writer.prepareSync('SELECT name FROM _strata_branches WHERE id = ? AND dropped_tx IS NULL').allSync([Number(match[1])])[0]
          if (live !== undefined) throw new StrataError('OBJECT_IN_USE', `table "${table.name}" cannot be altered while branch "${String(live[0])}" holds rows of it (merge or drop the branch first)`)
        }
      },
    },
    recognise(statement) {
      // CALL strata.verify(): every chunk of the chunk store read and hashed again.
      if (statement.tree !== undefined && nodeKind(statement.tree) === 'CallStmt') {
        // The parser gives CallStmt's funccall as a bare FuncCall (its field's type), not wrapped as a node.
        const funccall = nodeBody(statement.tree, 'CallStmt')!['funccall']
        const call = nodeBody(funccall, 'FuncCall') ?? (funccall as PgNode | undefined)
        const name = names(call?.['funcname']).map((part) => part.toLowerCase())
        if (name.length !== 2 || name[0] !== 'strata' || name[1] !== 'verify') return undefined
        if (list(call!['args']).length > 0) throw new StrataError('INVALID_ARGUMENT', 'strata.verify() takes no arguments')
        return { writes: false, run: () => statements.verifyChunks() }
      }
      // SHOW BRANCHES is a SHOW of a setting by PostgreSQL's grammar; CREATE and DROP BRANCH it rejects.
      if (statement.tree !== undefined && nodeKind(statement.tree) !== 'VariableShowStmt') return undefined
      if (recogniseShowBranches(statement.text, statement.tokens)) return { writes: false, run: (call: StatementCall) => branches.show(call) }
      if (statement.tree !== undefined) return undefined
      // Time travel cuts `AS OF x` out of every text before the parse: CREATE BRANCH's is its own, so it
      // reads the text as written.
      const [text, tokens] = statement.written === undefined ? [statement.text, statement.tokens] : [statement.written, undefined]
      const create = recogniseCreateBranch(text, tokens)
      if (create !== undefined) return { writes: true, run: (call: StatementCall) => branches.create(call, create) }
      const use = recogniseUseBranch(text, tokens)
      if (use !== undefined) return { writes: false, run: (call: StatementCall) => branches.use(call, use) }
      const vacuum = recogniseVacuumHistory(text, tokens)
      if (vacuum !== undefined) return { writes: !vacuum.dryRun, run: (call: StatementCall) => retention.run(call, vacuum) }
      const exported = recogniseExportTable(text, tokens)
      if (exported !== undefined) return { writes: false, run: (call: StatementCall) => statements.exportTable(call, exported) }
      const merge = recogniseMergeBranch(text, tokens)
      if (merge !== undefined) return { writes: true, run: (call: StatementCall) => merger.run(call, merge) }
      const drop = recogniseDropBranch(text, tokens)
      if (drop !== undefined) return { writes: true, run: (call: StatementCall) => branches.drop(call, drop) }
      // A query that reads another branch's table: FROM t AT (BRANCH => 'dev').
      if (statement.written === undefined) {
        const found = findBranchClauses(text, tokens)
        if (found !== undefined) return { writes: false, run: (call: StatementCall) => statements.readAtBranches(call, found.text, found.clauses) }
      } else if (findBranchClauses(statement.written) !== undefined) throw new StrataError('NOT_SUPPORTED', 'AT (BRANCH => …) together with time travel')
      return undefined
    },
  }
}

