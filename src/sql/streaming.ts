/**
 * Streaming SQL's own statements (SPEC 8), recognised from the scanner's tokens: PostgreSQL's grammar
 * has no CREATE SOURCE. The parts that are ordinary SQL — a source's column definitions, its watermark
 * expression, an option's value — are cut out by token position and parsed by PostgreSQL's parser;
 * only the statement's frame (keywords, names, parentheses, commas) is read from the tokens.
 *
 * No I/O: the streaming subsystem (src/subsystems/streaming/) runs what this recognises.
 */
import { StrataError } from '../util/errors.js'
import type { SourceDefinition, TableDefinition } from './catalog.js'
import { identifierOf, isWord, scanTokens, type ScannerToken } from './fulltext.js'
import { tableFromCreate } from './ddl.js'
import { parseStatements, type PgNode, type TokenSource } from './parse.js'
import { intervalFromNode } from './timeseries.js'
import { constantValue, list, names, nodeBody, nodeKind, quoteIdentifier } from './tree.js'

const dayMicros = 86_400_000_000n

/** `CREATE [OR REPLACE] SOURCE [IF NOT EXISTS] name (columns…, WATERMARK FOR ts [AS ts - INTERVAL …]) [WITH (…)]`. */
export interface CreateSource {
  readonly orReplace: boolean
  readonly ifNotExists: boolean
  /** The source's table: its columns, no key (a source is an append-only log of events). */
  readonly table: Omit<TableDefinition, 'schemaTx'>
  readonly source: SourceDefinition
}

/** `DROP SOURCE [IF EXISTS] name [, …] [CASCADE | RESTRICT]`. */
export interface DropSource {
  readonly names: readonly string[]
  readonly ifExists: boolean
  readonly cascade: boolean
}

/** A recogniser's reading of a statement's tokens: positions, and errors that name them. */
class Reader {
  at = 0
  constructor(
    readonly text: string,
    readonly tokens: readonly ScannerToken[],
    private readonly what: string,
  ) {}

  get token(): ScannerToken | undefined {
    return this.tokens[this.at]
  }

  fail(expected: string): never {
    const token = this.token
    const position = token === undefined ? this.text.trimEnd().length + 1 : token.start + 1
    const found = token === undefined ? 'the end of the statement' : `"${token.text}"`
    throw new StrataError('SYNTAX_ERROR', `${this.what}: expected ${expected} but found ${found} (at position ${position})`, { statement: this.text, position })
  }

  word(word: string): boolean {
    if (!isWord(this.token, word)) return false
    this.at++
    return true
  }

  expectWord(word: string): void {
    if (!this.word(word)) this.fail(word)
  }

  symbol(symbol: string): boolean {
    if (this.token?.text !== symbol) return false
    this.at++
    return true
  }

  expectSymbol(symbol: string): void {
    if (!this.symbol(symbol)) this.fail(`"${symbol}"`)
  }

  name(what: string): string {
    const name = identifierOf(this.token)
    if (name === undefined) this.fail(what)
    this.at++
    return name!
  }

  /** A relation name, `main.`/`public.` allowed in front. */
  relationName(what: string): string {
    let name = this.name(what)
    if (this.token?.text === '.') {
      if (name !== 'main' && name !== 'public') throw new StrataError('NOT_SUPPORTED', `the schema ${name}`, { statement: this.text, position: this.tokens[this.at - 1]!.start + 1 })
      this.at++
      name = this.name(what)
    }
    return name
  }

  end(): void {
    this.symbol(';')
    if (this.at < this.tokens.length) this.fail('the end of the statement')
  }

  /**
   * The comma-separated items inside the parentheses that start here, as token ranges [from, to);
   * nested parentheses stay inside their item. Leaves `at` after the closing parenthesis.
   */
  parenthesizedItems(itemWhat: string): { readonly from: number; readonly to: number }[] {
    this.expectSymbol('(')
    const items: { from: number; to: number }[] = []
    let depth = 0
    let from = this.at
    for (;;) {
      const token = this.token
      if (token === undefined) this.fail('")"')
      if (token!.text === '(' || token!.text === '[') depth++
      else if ((token!.text === ')' || token!.text === ']') && depth > 0) depth--
      else if (depth === 0 && (token!.text === ',' || token!.text === ')')) {
        if (this.at === from) this.fail(itemWhat)
        items.push({ from, to: this.at })
        this.at++
        if (token!.text === ')') return items
        from = this.at
        continue
      }
      this.at++
    }
  }

  /** The text of tokens [from, to). */
  slice(from: number, to: number): string {
    return this.text.slice(this.tokens[from]!.start, this.tokens[to - 1]!.end)
  }
}

/** One expression's parse tree: the text is parsed by PostgreSQL's parser as `SELECT <text>`. */
function expressionOf(text: string, what: string, statement: string): PgNode {
  let parsed
  try {
    parsed = parseStatements(`SELECT ${text}`)
  } catch (error) {
    throw new StrataError('SYNTAX_ERROR', `${what}: ${error instanceof Error ? error.message : String(error)}`, { statement, cause: error })
  }
  const select = parsed.length === 1 ? nodeBody(parsed[0]!.tree, 'SelectStmt') : undefined
  const targets = list(select?.['targetList'])
  const target = targets.length === 1 ? nodeBody(targets[0], 'ResTarget') : undefined
  if (select === undefined || target === undefined || target['name'] !== undefined || select['fromClause'] !== undefined) {
    throw new StrataError('SYNTAX_ERROR', `${what}: expected one expression, found "${text}"`, { statement })
  }
  return target['val'] as PgNode
}

/** A constant interval in microseconds (no months: a month has no fixed length); undefined for another kind of node. */
function intervalMicros(node: unknown, what: string, statement: string): bigint {
  const seconds = secondsField(node)
  if (seconds !== undefined) return seconds
  const interval = intervalFromNode(node, true)
  if (interval === 'not-constant') throw new StrataError('SYNTAX_ERROR', `${what} must be a constant INTERVAL, such as INTERVAL '5' SECOND`, { statement })
  if (interval === 'unsupported' || interval.value.months !== 0n) {
    throw new StrataError('NOT_SUPPORTED', `${what}: the interval ${interval === 'unsupported' ? 'is not one Strata reads exactly' : 'has months, which have no fixed length'}`, { statement })
  }
  const micros = interval.value.days * dayMicros + interval.value.micros
  if (micros < 0n) throw new StrataError('INVALID_PARAMETER', `${what} must not be negative`, { statement })
  return micros
}

/** PostgreSQL's field mask for `INTERVAL '…' SECOND`. */
const secondMask = 1 << 12

/**
 * `INTERVAL '5' SECOND` (or `'0.25' SECOND`) in microseconds; undefined for any other node. Value
 * parsing of the literal's digits, exact to the microsecond.
 */
function secondsField(node: unknown): bigint | undefined {
  const cast = nodeBody(node, 'TypeCast')
  if (cast === undefined) return undefined
  const typeName = nodeBody({ TypeName: cast['typeName'] }, 'TypeName')
  const typmods = list(typeName?.['typmods'])
  if (names(typeName?.['names']).at(-1)?.toLowerCase() !== 'interval' || typmods.length !== 1) return undefined
  if (constantValue(nodeBody(typmods[0], 'A_Const') ?? {}).value !== secondMask) return undefined
  const literal = constantValue(nodeBody(cast['arg'], 'A_Const') ?? {}).value
  if (typeof literal !== 'string') return undefined
  const parts = /^\s*(\d+)(?:\.(\d{1,6}))?\s*$/.exec(literal)
  if (parts === null) return undefined
  return BigInt(parts[1]!) * 1_000_000n + BigInt((parts[2] ?? '').padEnd(6, '0'))
}

function columnRefName(node: unknown): string | undefined {
  const ref = nodeBody(node, 'ColumnRef')
  if (ref === undefined) return undefined
  const fields = list(ref['fields'])
  return fields.length === 1 && nodeKind(fields[0]) === 'String' ? names(fields)[0] : undefined
}

/**
 * The delay a watermark expression states: `ts` (none) or `ts - INTERVAL …`, for the watermark column.
 */
function watermarkDelay(node: PgNode, column: string, statement: string): bigint {
  if (columnRefName(node) === column) return 0n
  const expression = nodeBody(node, 'A_Expr')
  if (expression !== undefined && expression['kind'] === 'AEXPR_OP' && names(expression['name']).join('') === '-' && columnRefName(expression['lexpr']) === column) {
    return intervalMicros(expression['rexpr'], 'the watermark delay', statement)
  }
  throw new StrataError('NOT_SUPPORTED', `WATERMARK FOR ${column} AS …: the watermark must be ${column} or ${column} - INTERVAL '…'`, { statement })
}

/** A `WITH (…)` option's value as text (a string constant or a bare name). */
function optionText(node: PgNode, option: string, statement: string): string {
  const name = columnRefName(node)
  if (name !== undefined) return name
  const constant = nodeBody(node, 'A_Const')
  const value = constant === undefined ? undefined : constantValue(constant).value
  if (typeof value === 'string') return value
  throw new StrataError('SYNTAX_ERROR', `the option ${option} takes a name or a string`, { statement })
}

/**
 * Recognises CREATE SOURCE. Undefined when the text is not one at all; a SYNTAX_ERROR naming the
 * position when it starts like one but does not follow the grammar; NOT_SUPPORTED for what a later
 * release brings (connectors, retention).
 *
 * @example
 * recogniseCreateSource("CREATE SOURCE trades (sym VARCHAR, price DOUBLE, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)")
 * // → { …, source: { watermarkColumn: 'ts', delayUs: 5000000, allowedLatenessUs: 0 } }
 */
export function recogniseCreateSource(text: string, tokenSource?: TokenSource): CreateSource | undefined {
  const tokens = scanTokens(text, tokenSource)
  if (tokens === undefined || !isWord(tokens[0], 'CREATE')) return undefined
  const orReplace = isWord(tokens[1], 'OR') && isWord(tokens[2], 'REPLACE')
  if (!isWord(tokens[orReplace ? 3 : 1], 'SOURCE')) return undefined
  const reader = new Reader(text, tokens, 'CREATE SOURCE')
  reader.at = orReplace ? 4 : 2
  let ifNotExists = false
  if (reader.word('IF')) {
    reader.expectWord('NOT')
    reader.expectWord('EXISTS')
    ifNotExists = true
  }
  if (orReplace && ifNotExists) throw new StrataError('SYNTAX_ERROR', 'CREATE SOURCE: OR REPLACE and IF NOT EXISTS cannot be used together', { statement: text })
  const name = reader.relationName('the source name')
  const items = reader.parenthesizedItems('a column definition or WATERMARK FOR')
  let watermark: { column: string; delayUs: bigint } | undefined
  const columnTexts: string[] = []
  for (const item of items) {
    if (!isWord(tokens[item.from], 'WATERMARK')) {
      columnTexts.push(reader.slice(item.from, item.to))
      continue
    }
    const clause = new Reader(text, tokens.slice(0, item.to), 'CREATE SOURCE')
    clause.at = item.from + 1
    clause.expectWord('FOR')
    const column = clause.name('the watermark column')
    let delayUs = 0n
    if (clause.word('AS')) {
      if (clause.at >= item.to) clause.fail('the watermark expression')
      delayUs = watermarkDelay(expressionOf(clause.slice(clause.at, item.to), 'the watermark expression', text), column, text)
    } else if (clause.at < item.to) clause.fail('AS or the end of the WATERMARK clause')
    if (watermark !== undefined) throw new StrataError('SYNTAX_ERROR', 'CREATE SOURCE: more than one WATERMARK clause', { statement: text })
    watermark = { column, delayUs }
  }
  let allowedLatenessUs = 0n
  if (reader.word('WITH')) {
    for (const item of reader.parenthesizedItems('an option')) {
      const option = new Reader(text, tokens.slice(0, item.to), 'CREATE SOURCE')
      option.at = item.from
      const key = option.name('an option name')
      option.expectSymbol('=')
      if (option.at >= item.to) option.fail('the option value')
      const value = expressionOf(option.slice(option.at, item.to), `the option ${key}`, text)
      switch (key) {
        case 'watermark': {
          const column = optionText(value, key, text)
          if (watermark !== undefined && watermark.column !== column) throw new StrataError('SYNTAX_ERROR', `CREATE SOURCE: the watermark is on ${watermark.column} and on ${column}`, { statement: text })
          watermark ??= { column, delayUs: 0n }
          break
        }
        case 'allowed_lateness':
          allowedLatenessUs = intervalMicros(value, 'allowed_lateness', text)
          break
        case 'connector':
        case 'retention':
          throw new StrataError('NOT_SUPPORTED', `CREATE SOURCE … WITH (${key} = …): not yet; events arrive by INSERT and db.push`, { statement: text })
        default:
          throw new StrataError('SYNTAX_ERROR', `CREATE SOURCE: unknown option ${key} (known: watermark, allowed_lateness)`, { statement: text })
      }
    }
  }
  reader.end()
  if (columnTexts.length === 0) throw new StrataError('SYNTAX_ERROR', `CREATE SOURCE ${name}: a source needs at least one column`, { statement: text })
  const create = parseStatements(`CREATE TABLE ${quoteIdentifier(name)} (${columnTexts.join(', ')})`)
  const createStmt = create.length === 1 ? nodeBody(create[0]!.tree, 'CreateStmt') : undefined
  if (createStmt === undefined) throw new StrataError('SYNTAX_ERROR', `CREATE SOURCE ${name}: the column definitions do not parse`, { statement: text })
  const table = tableFromCreate(createStmt)
  if (table.primaryKey !== null || table.uniques.length > 0) {
    throw new StrataError('NOT_SUPPORTED', `CREATE SOURCE ${name}: a PRIMARY KEY or UNIQUE constraint (a source is an append-only log of events; it has no key)`, { statement: text })
  }
  if (watermark !== undefined) {
    const column = table.columns.find((candidate) => candidate.name === watermark!.column)
    if (column === undefined) throw new StrataError('UNDEFINED_COLUMN', `CREATE SOURCE ${name}: the watermark column "${watermark.column}" is not one of its columns`, { statement: text })
    if (column.type.name !== 'TIMESTAMP' && column.type.name !== 'TIMESTAMPTZ') {
      throw new StrataError('TYPE_MISMATCH', `CREATE SOURCE ${name}: the watermark column "${column.name}" must be a TIMESTAMP or TIMESTAMPTZ, not ${column.type.name}`, { statement: text })
    }
  }
  return {
    orReplace,
    ifNotExists,
    table,
    source: {
      watermarkColumn: watermark?.column ?? null,
      delayUs: Number(watermark?.delayUs ?? 0n),
      allowedLatenessUs: Number(allowedLatenessUs),
    },
  }
}

/** Recognises DROP SOURCE; undefined when the text is not one. */
export function recogniseDropSource(text: string, tokenSource?: TokenSource): DropSource | undefined {
  const tokens = scanTokens(text, tokenSource)
  if (tokens === undefined || !isWord(tokens[0], 'DROP') || !isWord(tokens[1], 'SOURCE')) return undefined
  const reader = new Reader(text, tokens, 'DROP SOURCE')
  reader.at = 2
  let ifExists = false
  if (reader.word('IF')) {
    reader.expectWord('EXISTS')
    ifExists = true
  }
  const dropped = [reader.relationName('the source name')]
  while (reader.symbol(',')) dropped.push(reader.relationName('the source name'))
  const cascade = reader.word('CASCADE')
  if (!cascade) reader.word('RESTRICT')
  reader.end()
  return { names: dropped, ifExists, cascade }
}

/** Recognises SHOW SOURCES. */
export function recogniseShowSources(text: string, tokenSource?: TokenSource): boolean {
  const tokens = scanTokens(text, tokenSource)
  if (tokens === undefined || !isWord(tokens[0], 'SHOW') || !isWord(tokens[1], 'SOURCES')) return false
  const reader = new Reader(text, tokens, 'SHOW SOURCES')
  reader.at = 2
  reader.end()
  return true
}
