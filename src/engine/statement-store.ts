/**
 * Parsed statements kept across restarts, so that a process's first statements need not wait for
 * PostgreSQL's parser: its WebAssembly takes tens of milliseconds to instantiate and compile, while an
 * application usually opens its database to run statements it ran before.
 *
 * At close the engine writes the most recently used texts (one plain read each: a SELECT, no clause a
 * subsystem cuts out, no parse error) with their trees and scanner tokens into `_strata_statements`.
 * While the parser is still loading, a text found there runs at once. Entries are keyed by the text
 * and by the versions of Strata and of the parser that made them; another version's are ignored. It
 * is a cache: losing it (a kill before close) costs only the wait for the parser.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { RowConnection } from '../storage/rowstore/rowstore.js'
import type { PgNode, ScanToken } from '../sql/parse.js'
import { nodeBody, walk } from '../sql/tree.js'
import type { Statement } from '../subsystems/seam.js'
import { limits } from '../util/limits.js'

export const statementStoreSchema = 'CREATE TABLE IF NOT EXISTS _strata_statements (text TEXT PRIMARY KEY, version TEXT NOT NULL, statement TEXT NOT NULL) STRICT'

/** A statement as stored: everything a parsed one holds, its tokens as an array. */
interface StoredStatement {
  readonly text: string
  readonly offset: number
  readonly locationBase: number
  readonly tree: NonNullable<Statement['tree']>
  readonly tokens: readonly ScanToken[]
}

let versionKey: string | undefined

/** Strata's version and the parser's: a stored tree is read only by the code that wrote it. */
function currentVersionKey(): string {
  if (versionKey === undefined) {
    const require = createRequire(import.meta.url)
    const parser = (require('@pgsql/parser/package.json') as { version: string }).version
    // dist/src/engine/ → the package's own package.json.
    const strata = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version
    versionKey = `strata ${strata}; @pgsql/parser ${parser}; 1`
  }
  return versionKey
}

export class StatementStore {
  constructor(
    private readonly reader: RowConnection,
    private readonly writer: RowConnection,
  ) {}

  /** The stored statements of `text`, or undefined. */
  lookupSync(text: string): Statement[] | undefined {
    if (text.length > limits.storedStatementTextMax) return undefined
    const row = this.reader.prepareSync('SELECT statement FROM _strata_statements WHERE text = ? AND version = ?').allSync([text, currentVersionKey()])[0]
    if (row === undefined) return undefined
    const stored = JSON.parse(String(row[0])) as StoredStatement
    if (!plainRead(stored.tree)) return undefined
    const tokens = Object.freeze([...stored.tokens])
    const source = (): readonly ScanToken[] => tokens
    storedTokenSources.add(source)
    const statement: Statement = { text: stored.text, offset: stored.offset, locationBase: stored.locationBase, tree: stored.tree, parseError: undefined, tokens: source }
    return [statement]
  }

  /**
   * Replaces what is stored by `entries` (text → its statements, newest last) that can be stored: one
   * statement with a tree and nothing cut out of it. `tokensReady` says whether a statement's tokens
   * can be had now (the scanner may be loading); one whose cannot is left out.
   */
  saveSync(entries: readonly (readonly [string, readonly Statement[]])[], tokensReady: boolean): void {
    const rows: [string, string][] = []
    for (const [text, statements] of entries.slice(-limits.storedStatementsMax)) {
      const statement = statements.length === 1 ? statements[0]! : undefined
      if (statement === undefined || statement.tree === undefined || statement.clauses !== undefined || statement.written !== undefined || !plainRead(statement.tree)) continue
      if (text.length > limits.storedStatementTextMax) continue
      let tokens: readonly ScanToken[]
      try {
        if (!tokensReady && !this.remembersTokens(statement)) continue
        tokens = statement.tokens()
      } catch {
        continue
      }
      const stored: StoredStatement = { text: statement.text, offset: statement.offset, locationBase: statement.locationBase, tree: statement.tree, tokens }
      rows.push([text, JSON.stringify(stored)])
    }
    const version = currentVersionKey()
    this.writer.execSync('BEGIN IMMEDIATE')
    try {
      this.writer.execSync('DELETE FROM _strata_statements')
      const insert = this.writer.prepareSync('INSERT OR REPLACE INTO _strata_statements (text, version, statement) VALUES (?, ?, ?)')
      for (const [text, statement] of rows) insert.runSync([text, version, statement])
      this.writer.execSync('COMMIT')
    } catch (error) {
      if (this.writer.inTransaction) this.writer.execSync('ROLLBACK')
      throw error
    }
  }

  /** Whether a statement's tokens are at hand without the scanner (it was itself read from the store). */
  private remembersTokens(statement: Statement): boolean {
    return storedTokenSources.has(statement.tokens)
  }
}

/**
 * Only reads are stored: one that finds it needs the parser after all (src/engine/engine.ts,
 * `beforeParser`) has changed nothing and can run again. A SELECT … INTO or one with a writing WITH is no read.
 */
export function plainRead(tree: PgNode): boolean {
  const select = nodeBody(tree, 'SelectStmt')
  if (select === undefined || select['intoClause'] !== undefined) return false
  let writes = false
  walk(tree, (kind) => {
    if (kind === 'InsertStmt' || kind === 'UpdateStmt' || kind === 'DeleteStmt' || kind === 'MergeStmt') writes = true
  })
  return !writes
}

/** Token sources of statements read from the store: they answer without the scanner. */
const storedTokenSources = new WeakSet<object>()
