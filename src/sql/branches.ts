/**
 * Branches' own statements (SPEC 10, docs/branches.md), recognised from the scanner's tokens: PostgreSQL's
 * grammar has no CREATE BRANCH. `CREATE BRANCH [IF NOT EXISTS] b [FROM a] [AS OF x]`,
 * `DROP BRANCH [IF EXISTS] b`, `SHOW BRANCHES`, `USE BRANCH b`; and the rule a branch name follows (git's ref rules).
 *
 * No I/O: the branches subsystem (src/subsystems/branches/) runs what this recognises.
 */
import { checkBranchName } from '../util/branch-names.js'
import { identifierOf, isWord, scanTokens } from './fulltext.js'
import type { TokenSource } from './parse.js'
import { StatementReader } from './statement-reader.js'
import type { TimeExpression } from './temporal.js'

export { checkBranchName, mainBranch } from '../util/branch-names.js'

/** `CREATE BRANCH [IF NOT EXISTS] name [FROM parent] [AS OF x]`. */
export interface CreateBranch {
  readonly name: string
  readonly ifNotExists: boolean
  /** The parent; undefined: the session's branch. */
  readonly from: string | undefined
  /** The state of the parent it starts from: a transaction id or a time, as time travel's AS OF takes them; undefined: the parent's head. */
  readonly asOf: TimeExpression | undefined
}

/** `DROP BRANCH [IF EXISTS] name`. */
export interface DropBranch {
  readonly name: string
  readonly ifExists: boolean
}

/** `MERGE BRANCH source [INTO target] [WITH (resolve = 'ours' | 'theirs')]`. */
export interface MergeBranch {
  readonly source: string
  /** The branch merged into; undefined: the session's branch. */
  readonly into: string | undefined
  /** Which side a conflicting cell takes ('ours': the target's, 'theirs': the source's); undefined: a conflict fails the merge. */
  readonly resolve: 'ours' | 'theirs' | undefined
}

/** `EXPORT TABLE t [AT (BRANCH => 'b')] TO 'directory'`. */
export interface ExportTable {
  readonly table: string
  /** The branch whose state is exported; undefined: the session's. */
  readonly branch: string | undefined
  readonly directory: string
}

/** `VACUUM HISTORY t BEFORE x [DRY RUN]`. */
export interface VacuumHistory {
  readonly table: string
  /** A transaction id or a time, as time travel's AS OF takes them. */
  readonly before: TimeExpression
  readonly dryRun: boolean
}

/** A branch name where the grammar expects one: an identifier, quoted when it is not a plain one. */
function branchName(reader: StatementReader): string {
  const name = reader.name('a branch name')
  checkBranchName(name)
  return name
}

/**
 * Recognises CREATE BRANCH: undefined when the text is not one; a SYNTAX_ERROR naming the position
 * when it starts like one but does not follow the grammar; INVALID_NAME for a name git would refuse.
 *
 * @example
 * recogniseCreateBranch('CREATE BRANCH "feature/x" FROM main AS OF 42')
 * // → { name: 'feature/x', ifNotExists: false, from: 'main', asOf: { text: '42', position: 37 } }
 */
export function recogniseCreateBranch(text: string, tokenSource?: TokenSource): CreateBranch | undefined {
  const tokens = scanTokens(text, tokenSource)
  if (tokens === undefined || !isWord(tokens[0], 'CREATE') || !isWord(tokens[1], 'BRANCH')) return undefined
  const reader = new StatementReader(text, tokens, 'CREATE BRANCH')
  reader.at = 2
  let ifNotExists = false
  if (reader.word('IF')) {
    reader.expectWord('NOT')
    reader.expectWord('EXISTS')
    ifNotExists = true
  }
  const name = branchName(reader)
  let from: string | undefined
  if (reader.word('FROM')) from = branchName(reader)
  let asOf: TimeExpression | undefined
  if (reader.word('AS')) {
    reader.expectWord('OF')
    let end = tokens.length
    if (tokens[end - 1]?.text === ';') end--
    if (reader.at >= end) reader.fail('a transaction id or a time')
    asOf = { text: reader.slice(reader.at, end), position: tokens[reader.at]!.start }
    reader.at = end
  }
  reader.end()
  return { name, ifNotExists, from, asOf }
}

/** Recognises DROP BRANCH (as {@link recogniseCreateBranch} does CREATE BRANCH). */
export function recogniseDropBranch(text: string, tokenSource?: TokenSource): DropBranch | undefined {
  const tokens = scanTokens(text, tokenSource)
  if (tokens === undefined || !isWord(tokens[0], 'DROP') || !isWord(tokens[1], 'BRANCH')) return undefined
  const reader = new StatementReader(text, tokens, 'DROP BRANCH')
  reader.at = 2
  let ifExists = false
  if (reader.word('IF')) {
    reader.expectWord('EXISTS')
    ifExists = true
  }
  const name = branchName(reader)
  reader.end()
  return { name, ifExists }
}

/**
 * Recognises MERGE BRANCH (as {@link recogniseCreateBranch} does CREATE BRANCH). PostgreSQL's own
 * `MERGE INTO t USING …` is not one: its second word is INTO.
 *
 * @example
 * recogniseMergeBranch("MERGE BRANCH dev INTO main WITH (resolve = 'theirs')")
 * // → { source: 'dev', into: 'main', resolve: 'theirs' }
 */
export function recogniseMergeBranch(text: string, tokenSource?: TokenSource): MergeBranch | undefined {
  const tokens = scanTokens(text, tokenSource)
  if (tokens === undefined || !isWord(tokens[0], 'MERGE') || !isWord(tokens[1], 'BRANCH')) return undefined
  const reader = new StatementReader(text, tokens, 'MERGE BRANCH')
  reader.at = 2
  const source = branchName(reader)
  let into: string | undefined
  if (reader.word('INTO')) into = branchName(reader)
  let resolve: 'ours' | 'theirs' | undefined
  if (reader.word('WITH')) {
    reader.expectSymbol('(')
    if (reader.label('resolve') !== 'resolve') {
      reader.at--
      reader.fail('resolve')
    }
    reader.expectSymbol('=')
    const side = reader.stringLiteral("'ours' or 'theirs'")
    if (side !== 'ours' && side !== 'theirs') {
      reader.at--
      reader.fail("'ours' or 'theirs'")
    }
    resolve = side as 'ours' | 'theirs'
    reader.expectSymbol(')')
  }
  reader.end()
  return { source, into, resolve }
}

/**
 * Recognises EXPORT TABLE (as {@link recogniseCreateBranch} does CREATE BRANCH).
 *
 * @example
 * recogniseExportTable("EXPORT TABLE t AT (BRANCH => 'dev') TO '/tmp/t'")
 * // → { table: 't', branch: 'dev', directory: '/tmp/t' }
 */
export function recogniseExportTable(text: string, tokenSource?: TokenSource): ExportTable | undefined {
  const tokens = scanTokens(text, tokenSource)
  if (tokens === undefined || !isWord(tokens[0], 'EXPORT') || !isWord(tokens[1], 'TABLE')) return undefined
  const reader = new StatementReader(text, tokens, 'EXPORT TABLE')
  reader.at = 2
  const table = reader.relationName('a table name')
  let branch: string | undefined
  if (reader.word('AT')) {
    reader.expectSymbol('(')
    if (reader.label('BRANCH') !== 'branch') {
      reader.at--
      reader.fail('BRANCH')
    }
    reader.expectSymbol('=>')
    branch = reader.stringLiteral("a branch name as a string ('dev')")
    checkBranchName(branch)
    reader.expectSymbol(')')
  }
  reader.expectWord('TO')
  const directory = reader.stringLiteral("the directory as a string ('/path/to/dir')")
  reader.end()
  return { table, branch, directory }
}

/**
 * Recognises VACUUM HISTORY (as {@link recogniseCreateBranch} does CREATE BRANCH). PostgreSQL's grammar
 * reads `VACUUM history` as a VACUUM of a table named history and rejects what follows.
 *
 * @example
 * recogniseVacuumHistory("VACUUM HISTORY t BEFORE '2026-01-01' DRY RUN")
 * // → { table: 't', before: { text: "'2026-01-01'", position: 22 }, dryRun: true }
 */
export function recogniseVacuumHistory(text: string, tokenSource?: TokenSource): VacuumHistory | undefined {
  const tokens = scanTokens(text, tokenSource)
  if (tokens === undefined || !isWord(tokens[0], 'VACUUM') || !isWord(tokens[1], 'HISTORY') || tokens.length < 3 || tokens[2]!.text === ';') return undefined
  const reader = new StatementReader(text, tokens, 'VACUUM HISTORY')
  reader.at = 2
  const table = reader.relationName('a table name')
  reader.expectWord('BEFORE')
  let end = tokens.length
  if (tokens[end - 1]?.text === ';') end--
  const dryRun = end - reader.at >= 2 && isWord(tokens[end - 2], 'DRY') && isWord(tokens[end - 1], 'RUN')
  if (dryRun) end -= 2
  if (reader.at >= end) reader.fail('a transaction id or a time')
  const before = { text: reader.slice(reader.at, end), position: tokens[reader.at]!.start }
  reader.at = dryRun ? end + 2 : end
  reader.end()
  return { table, before, dryRun }
}

/** `AT (BRANCH => 'b')` after a table's name in a query: where it stands in the text, and the branch. */
export interface BranchClause {
  /** The clause's first and past-last character in the statement's text. */
  readonly start: number
  readonly end: number
  readonly branch: string
}

/**
 * Finds every `AT (BRANCH => 'b')` in a statement PostgreSQL's grammar rejected, and the text with each
 * one blanked out (spaces of the same length, so every other position stays where it was); undefined
 * when there is none.
 *
 * @example
 * findBranchClauses("SELECT * FROM t AT (BRANCH => 'dev') AS d")
 * // → { text: "SELECT * FROM t                       AS d", clauses: [{ start: 16, end: 37, branch: 'dev' }] }
 */
export function findBranchClauses(text: string, tokenSource?: TokenSource): { readonly text: string; readonly clauses: readonly BranchClause[] } | undefined {
  const tokens = scanTokens(text, tokenSource)
  if (tokens === undefined) return undefined
  const clauses: BranchClause[] = []
  for (let at = 0; at + 5 < tokens.length; at++) {
    if (!isWord(tokens[at], 'AT') || tokens[at + 1]!.text !== '(' || identifierOf(tokens[at + 2])?.toLowerCase() !== 'branch' || tokens[at + 3]!.text !== '=>') continue
    const reader = new StatementReader(text, tokens, 'AT (BRANCH => …)')
    reader.at = at + 4
    const branch = reader.stringLiteral("a branch name as a string ('dev')")
    checkBranchName(branch)
    reader.expectSymbol(')')
    clauses.push({ start: tokens[at]!.start, end: tokens[reader.at - 1]!.end, branch })
    at = reader.at - 1
  }
  if (clauses.length === 0) return undefined
  let blanked = ''
  let copied = 0
  for (const clause of clauses) {
    blanked += text.slice(copied, clause.start) + ' '.repeat(clause.end - clause.start)
    copied = clause.end
  }
  return { text: blanked + text.slice(copied), clauses }
}

/** Recognises `USE BRANCH name`: the branch's name, or undefined when the text is not one. */
export function recogniseUseBranch(text: string, tokenSource?: TokenSource): string | undefined {
  const tokens = scanTokens(text, tokenSource)
  if (tokens === undefined || !isWord(tokens[0], 'USE') || !isWord(tokens[1], 'BRANCH')) return undefined
  const reader = new StatementReader(text, tokens, 'USE BRANCH')
  reader.at = 2
  const name = branchName(reader)
  reader.end()
  return name
}

/** Recognises `SHOW BRANCHES`. */
export function recogniseShowBranches(text: string, tokenSource?: TokenSource): boolean {
  const tokens = scanTokens(text, tokenSource)
  if (tokens === undefined || !isWord(tokens[0], 'SHOW') || !isWord(tokens[1], 'BRANCHES')) return false
  const reader = new StatementReader(text, tokens, 'SHOW BRANCHES')
  reader.at = 2
  reader.end()
  return true
}
