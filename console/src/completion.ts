/**
 * Column completion. lang-sql completes keywords, table names, and `table.` / `alias.` columns, but
 * never a bare column: after `FROM t WHERE ` it has nothing of t to offer. This source does: inside a
 * statement whose FROM, JOIN, UPDATE or INTO names tables, the WHERE clause, the SELECT list, ON,
 * GROUP BY, ORDER BY, SET … are offered those tables' columns.
 *
 * Which tables a statement names comes from CodeMirror's SQL syntax tree (lang-sql's Lezer grammar),
 * not from regular expressions: a statement is a flat list of Keyword, Identifier, QuotedIdentifier,
 * CompositeIdentifier (`schema.table`), Punctuation and Parens nodes, and a parenthesised subquery is
 * a Parens node holding its own flat list. The tree is parsed with lang-sql's own parser (the editor's
 * incremental tree lives in @codemirror/language, which the console does not depend on directly); a
 * console text is small, and the last parse is reused while the text does not change.
 */
import type { Completion, CompletionContext, CompletionResult } from '@codemirror/autocomplete'
import { PostgreSQL } from '@codemirror/lang-sql'
import type { SchemaTable } from './schema'

type Tree = ReturnType<typeof PostgreSQL.language.parser.parse>
type SyntaxNode = Tree['topNode']

/** A table a statement names: its (schema-)qualified name as written, unquoted, and its alias. */
export interface TableReference {
  readonly path: readonly string[]
  /** True when the last part was written in double quotes (so its case is exact). */
  readonly quoted: boolean
  readonly alias: string | undefined
}

export interface CompletionScope {
  /** Tables named by the statement around the cursor (and by the statements it is nested in). */
  readonly tables: readonly TableReference[]
  /** The cursor is where a table name goes (right after FROM, JOIN, INTO, UPDATE, TABLE or a FROM list's comma). */
  readonly tableExpected: boolean
}

/** Keywords after which a table name follows. */
const tableIntroducers: ReadonlySet<string> = new Set(['from', 'join', 'update', 'into', 'table'])
/** Keywords that may sit inside a FROM list without ending it (`FROM a LEFT OUTER JOIN b`, `FROM ONLY t`). */
const fromListWords: ReadonlySet<string> = new Set(['inner', 'left', 'right', 'full', 'outer', 'cross', 'natural', 'lateral', 'only', 'as'])

let lastParse: { readonly text: string; readonly tree: Tree } | undefined

function parse(text: string): Tree {
  if (lastParse?.text !== text) lastParse = { text, tree: PostgreSQL.language.parser.parse(text) }
  return lastParse.tree
}

function children(node: SyntaxNode): SyntaxNode[] {
  const list: SyntaxNode[] = []
  for (let child = node.firstChild; child !== null; child = child.nextSibling) list.push(child)
  return list
}

/** An identifier's name: a quoted one without its quotes (and with `""` as `"`), anything else as written. */
function identifierName(text: string, node: SyntaxNode): { name: string; quoted: boolean } {
  const written = text.slice(node.from, node.to)
  if (node.name === 'QuotedIdentifier' && written.length >= 2 && written.startsWith('"') && written.endsWith('"')) {
    return { name: written.slice(1, -1).replaceAll('""', '"'), quoted: true }
  }
  return { name: written, quoted: false }
}

function isNameNode(node: SyntaxNode): boolean {
  return node.name === 'Identifier' || node.name === 'QuotedIdentifier' || node.name === 'CompositeIdentifier'
}

function isComment(node: SyntaxNode): boolean {
  return node.name === 'LineComment' || node.name === 'BlockComment'
}

/**
 * Reads one statement's (or one parenthesised subquery's) flat node list: the tables it names, and
 * whether a table name is expected at `position` when the list reaches it. A keyword may stand where a
 * table name goes (`FROM event`: lang-sql knows EVENT as a keyword) when it names one of `knownTables`.
 */
function readScope(text: string, scope: SyntaxNode, position: number, knownTables: ReadonlySet<string>): { tables: TableReference[]; tableExpectedAtPosition: boolean } {
  const tables: TableReference[] = []
  let expectTable = false
  let inFromList = false
  let expectAlias = false
  let lastTable: { path: string[]; quoted: boolean; alias: string | undefined } | undefined
  let tableExpectedAtPosition = false
  let reachedPosition = false
  for (const child of children(scope)) {
    if (isComment(child)) continue
    if (!reachedPosition && child.to >= position) {
      // The word being completed (or the first node after the cursor): what the list expects there.
      reachedPosition = true
      tableExpectedAtPosition = expectTable
    }
    const word = text.slice(child.from, child.to)
    const lower = word.toLowerCase()
    const keywordNamingTable = (child.name === 'Keyword' || child.name === 'Type') && expectTable && knownTables.has(lower)
    if (child.name === 'Keyword' && !keywordNamingTable) {
      if (tableIntroducers.has(lower)) {
        expectTable = true
        inFromList = lower === 'from' || lower === 'join'
      } else {
        expectTable = false
        if (!fromListWords.has(lower)) inFromList = false
      }
      expectAlias = lower === 'as' && lastTable !== undefined
      if (!expectAlias) lastTable = undefined
      continue
    }
    if (isNameNode(child) || keywordNamingTable) {
      if (expectTable) {
        const parts = child.name === 'CompositeIdentifier' ? children(child).filter((part) => part.name === 'Identifier' || part.name === 'QuotedIdentifier') : [child]
        const names = parts.map((part) => identifierName(text, part))
        lastTable = { path: names.map((name) => name.name), quoted: names.at(-1)?.quoted ?? false, alias: undefined }
        tables.push(lastTable)
        expectTable = false
      } else if (lastTable !== undefined && child.name !== 'CompositeIdentifier') {
        lastTable.alias = identifierName(text, child).name
        lastTable = undefined
      } else {
        lastTable = undefined
      }
      expectAlias = false
      continue
    }
    expectAlias = false
    lastTable = undefined
    if (child.name === 'Punctuation' && word === ',' && inFromList) expectTable = true
    else expectTable = false
  }
  if (!reachedPosition) tableExpectedAtPosition = expectTable
  return { tables, tableExpectedAtPosition }
}

/**
 * The tables in scope at `position` of `text`, and whether a table name goes there.
 *
 * @example
 * completionScope('SELECT * FROM accounts a WHERE ', 31, new Set(['accounts']))
 * // → { tables: [{ path: ['accounts'], quoted: false, alias: 'a' }], tableExpected: false }
 */
export function completionScope(text: string, position: number, knownTables: ReadonlySet<string>): CompletionScope {
  const tree = parse(text)
  const tables: TableReference[] = []
  let tableExpected: boolean | undefined
  // From the innermost statement or parenthesis outwards: a subquery sees its own tables and the outer ones.
  for (let node: SyntaxNode | null = enclosingNode(tree, position); node !== null; node = node.parent) {
    if (node.name !== 'Statement' && node.name !== 'Parens') continue
    const scope = readScope(text, node, position, knownTables)
    tableExpected ??= scope.tableExpectedAtPosition
    tables.push(...scope.tables)
  }
  return { tables, tableExpected: tableExpected ?? false }
}

/**
 * The innermost node around `position`. A statement's node ends at its last token, so after
 * `… WHERE ` (a trailing space) the cursor is outside it, in the script: then the statement just
 * before the cursor is the one being written, unless a ';' closed it.
 */
function enclosingNode(tree: Tree, position: number): SyntaxNode {
  const inner = tree.resolveInner(position, -1)
  if (inner.name !== 'Script') return inner
  let previous: SyntaxNode | null = null
  for (const child of children(inner)) {
    if (child.to <= position && child.name === 'Statement') previous = child
  }
  return previous !== null && previous.lastChild?.name !== ';' ? previous : inner
}

/** The schema's table for a reference: by name (and schema when written), exact when quoted, else case-insensitive. */
function findTable(tables: readonly SchemaTable[], reference: TableReference): SchemaTable | undefined {
  const name = reference.path.at(-1) ?? ''
  const schema = reference.path.length > 1 ? reference.path.at(-2) : undefined
  const same = (a: string, b: string, exact: boolean): boolean => (exact ? a === b : a.toLowerCase() === b.toLowerCase())
  return tables.find((table) => same(table.name, name, reference.quoted) && (schema === undefined || same(table.schema, schema, false)))
}

/** Names that need no quotes in SQL; anything else is completed in double quotes. */
function plainName(name: string): boolean {
  if (name === '') return false
  for (const character of name) {
    const plain = (character >= 'a' && character <= 'z') || (character >= '0' && character <= '9') || character === '_'
    if (!plain) return false
  }
  return !(name.charAt(0) >= '0' && name.charAt(0) <= '9')
}

/**
 * The column completion source for the editor, over the schema browser's tables.
 *
 * @example
 * sql({ dialect: PostgreSQL, schema }).language.data.of({ autocomplete: columnCompletion(tables) })
 */
export function columnCompletion(schemaTables: readonly SchemaTable[]): (context: CompletionContext) => CompletionResult | null {
  const knownTables = new Set(schemaTables.map((table) => table.name.toLowerCase()))
  return (context) => {
    const text = context.state.doc.toString()
    const tree = parse(text)
    const at = tree.resolveInner(context.pos, -1)
    // The word being typed: an identifier, or something lang-sql takes for a keyword or type (`id`, `date`).
    const typing = (at.name === 'Identifier' || at.name === 'Keyword' || at.name === 'Type') && at.to === context.pos
    if (at.name === 'QuotedIdentifier' || isComment(at) || at.name === 'String') return null
    const from = typing ? at.from : context.pos
    if (!typing && !context.explicit) return null
    // After `alias.` or `table.` lang-sql completes that table's columns; this source stays out of it.
    const before = typing ? at.prevSibling : at
    if (before?.name === '.' || at.parent?.name === 'CompositeIdentifier') return null
    const scope = completionScope(text, context.pos, knownTables)
    if (scope.tableExpected) return null
    const options: Completion[] = []
    const seen = new Set<string>()
    for (const reference of scope.tables) {
      const table = findTable(schemaTables, reference)
      if (table === undefined) continue
      for (const column of table.columns) {
        if (seen.has(column.name)) continue
        seen.add(column.name)
        options.push({
          label: column.name,
          type: 'property',
          detail: `${column.type} · ${table.name}`,
          // Above keywords and table names: in this position a column is the likely next word.
          boost: 10,
          ...(plainName(column.name) ? {} : { apply: `"${column.name.replaceAll('"', '""')}"` }),
        })
      }
    }
    if (options.length === 0) return null
    return { from, options, validFor: (word) => plainNameOrPrefix(word) }
  }
}

/** While the typed word stays an identifier prefix, the list is filtered rather than asked for again. */
function plainNameOrPrefix(word: string): boolean {
  for (const character of word) {
    const identifier = (character >= 'a' && character <= 'z') || (character >= 'A' && character <= 'Z') || (character >= '0' && character <= '9') || character === '_'
    if (!identifier) return false
  }
  return true
}
