/**
 * Streaming SQL's own statements (SPEC 8), recognised from the scanner's tokens: PostgreSQL's grammar
 * has no CREATE SOURCE. The parts that are ordinary SQL — a source's column definitions, its watermark
 * expression, an option's value — are cut out by token position and parsed by PostgreSQL's parser;
 * only the statement's frame (keywords, names, parentheses, commas) is read from the tokens.
 *
 * No I/O: the streaming subsystem (src/subsystems/streaming/) runs what this recognises.
 */
import { StrataError } from '../util/errors.js'
import { limits } from '../util/limits.js'
import type { PostgresCdcConnector, SourceConnector, SourceDefinition, TableDefinition } from './catalog.js'
import { isWord, scanTokens, type ScannerToken } from './fulltext.js'
import { StatementReader as Reader } from './statement-reader.js'
import { tableFromCreate } from './ddl.js'
import { parseStatements, type PgNode, type TokenSource } from './parse.js'
import { intervalFromNode } from './timeseries.js'
import { deparseStatement } from './deparse.js'
import { constantValue, list, names, nodeBody, nodeKind, quoteIdentifier, walk } from './tree.js'

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
 * `CREATE [OR REPLACE] <object> [IF NOT EXISTS] name` at the start of a statement: the reader left
 * after the name, or undefined when the text does not start so.
 */
function createHead(text: string, tokenSource: TokenSource | undefined, object: 'SOURCE' | 'STREAM' | 'SINK'): { reader: Reader; tokens: readonly ScannerToken[]; orReplace: boolean; ifNotExists: boolean; name: string } | undefined {
  const tokens = scanTokens(text, tokenSource)
  if (tokens === undefined || !isWord(tokens[0], 'CREATE')) return undefined
  const orReplace = isWord(tokens[1], 'OR') && isWord(tokens[2], 'REPLACE')
  if (!isWord(tokens[orReplace ? 3 : 1], object)) return undefined
  const reader = new Reader(text, tokens, `CREATE ${object}`)
  reader.at = orReplace ? 4 : 2
  let ifNotExists = false
  if (reader.word('IF')) {
    reader.expectWord('NOT')
    reader.expectWord('EXISTS')
    ifNotExists = true
  }
  if (orReplace && ifNotExists) throw new StrataError('SYNTAX_ERROR', `CREATE ${object}: OR REPLACE and IF NOT EXISTS cannot be used together`, { statement: text })
  const name = reader.relationName(`the ${object.toLowerCase()} name`)
  return { reader, tokens, orReplace, ifNotExists, name }
}

/** `DROP <object> [IF EXISTS] name [, …]` and what follows, or undefined when the text does not start so. */
function dropHead(text: string, tokenSource: TokenSource | undefined, object: 'SOURCE' | 'STREAM' | 'SINK'): { reader: Reader; names: string[]; ifExists: boolean } | undefined {
  const tokens = scanTokens(text, tokenSource)
  if (tokens === undefined || !isWord(tokens[0], 'DROP') || !isWord(tokens[1], object)) return undefined
  const reader = new Reader(text, tokens, `DROP ${object}`)
  reader.at = 2
  let ifExists = false
  if (reader.word('IF')) {
    reader.expectWord('EXISTS')
    ifExists = true
  }
  const dropped = [reader.relationName(`the ${object.toLowerCase()} name`)]
  while (reader.symbol(',')) dropped.push(reader.relationName(`the ${object.toLowerCase()} name`))
  return { reader, names: dropped, ifExists }
}

/** `SHOW <word>` and nothing more. */
function isShow(text: string, tokenSource: TokenSource | undefined, word: 'SOURCES' | 'STREAMS' | 'SINKS'): boolean {
  const tokens = scanTokens(text, tokenSource)
  if (tokens === undefined || !isWord(tokens[0], 'SHOW') || !isWord(tokens[1], word)) return false
  const reader = new Reader(text, tokens, `SHOW ${word}`)
  reader.at = 2
  reader.end()
  return true
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
  const head = createHead(text, tokenSource, 'SOURCE')
  if (head === undefined) return undefined
  const { reader, tokens, orReplace, ifNotExists, name } = head
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
  let retentionUs: bigint | undefined
  let idleTimeoutUs: bigint | undefined
  const connectorOptions = new Map<string, string>()
  if (reader.word('WITH')) {
    for (const item of reader.parenthesizedItems('an option')) {
      const option = new Reader(text, tokens.slice(0, item.to), 'CREATE SOURCE')
      option.at = item.from
      const key = option.label('an option name')
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
        case 'retention':
          retentionUs = intervalMicros(value, 'retention', text)
          break
        case 'idle_timeout':
          idleTimeoutUs = intervalMicros(value, 'idle_timeout', text)
          if (idleTimeoutUs === 0n) throw new StrataError('INVALID_PARAMETER', 'CREATE SOURCE: idle_timeout must be greater than zero', { statement: text })
          break
        default:
          // The connector and its options; connectorOf checks them against the connector's own.
          if (connectorOptions.has(key)) throw new StrataError('SYNTAX_ERROR', `CREATE SOURCE: the option ${key} is given twice`, { statement: text })
          connectorOptions.set(key, connectorOptionText(value, key, text))
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
  if (retentionUs !== undefined && watermark === undefined) {
    throw new StrataError('SYNTAX_ERROR', `CREATE SOURCE ${name}: retention counts back from the watermark, and the source has none (add WATERMARK FOR a TIMESTAMP column)`, { statement: text })
  }
  const connector = connectorOf(connectorOptions, text)
  return {
    orReplace,
    ifNotExists,
    table,
    source: {
      watermarkColumn: watermark?.column ?? null,
      delayUs: Number(watermark?.delayUs ?? 0n),
      allowedLatenessUs: Number(allowedLatenessUs),
      ...(retentionUs === undefined ? {} : { retentionUs: Number(retentionUs) }),
      ...(idleTimeoutUs === undefined ? {} : { idleTimeoutUs: Number(idleTimeoutUs) }),
      ...(connector === undefined ? {} : { connector }),
    },
  }
}

/**
 * Each connector's options besides `connector`: those it requires and those it may take. An option
 * another connector takes, or none does, is a SYNTAX_ERROR naming these.
 */
const connectorOptionNames = {
  nats: { required: ['subject'], optional: ['server', 'format'] },
  mqtt: { required: ['topic'], optional: ['server', 'qos', 'client_id', 'format'] },
  rabbitmq: { required: ['queue'], optional: ['server', 'format'] },
  'postgres-cdc': { required: ['table'], optional: ['server', 'database', 'user', 'slot', 'publication', 'snapshot'] },
} as const satisfies Record<SourceConnector['kind'], { readonly required: readonly string[]; readonly optional: readonly string[] }>

type ConnectorKind = keyof typeof connectorOptionNames

/** Connectors in SPEC 8 that are not built: refused as NOT_SUPPORTED rather than as unknown. */
const connectorsPlanned = ['kafka']

/** A connector option's value: a name, a string, or an integer (`qos = 1`), as text. */
function connectorOptionText(node: PgNode, option: string, statement: string): string {
  const constant = nodeBody(node, 'A_Const')
  const value = constant === undefined ? undefined : constantValue(constant).value
  if (typeof value === 'number' && Number.isInteger(value)) return String(value)
  return optionText(node, option, statement)
}

/**
 * The connector options of CREATE SOURCE: `connector = 'nats', subject = '…'`, `connector = 'mqtt',
 * topic = '…' [, qos = 0 | 1] [, client_id = '…']` or `connector = 'rabbitmq', queue = '…'`, each with
 * `[, server = 'host:port'] [, format = 'json']`; or `connector = 'postgres-cdc', table = '…'` with its
 * own (postgresCdcConnector).
 */
function connectorOf(options: ReadonlyMap<string, string>, statement: string): SourceConnector | undefined {
  const kinds = Object.keys(connectorOptionNames) as ConnectorKind[]
  const kind = options.get('connector')
  if (kind === undefined) {
    const stray = [...options.keys()][0]
    if (stray === undefined) return undefined
    const owners = kinds.filter((candidate) => [...connectorOptionNames[candidate].required, ...connectorOptionNames[candidate].optional].includes(stray as never))
    if (owners.length > 0) throw new StrataError('SYNTAX_ERROR', `CREATE SOURCE: the option ${stray} belongs to a connector (${owners.map((owner) => `connector = '${owner}'`).join(' or ')})`, { statement })
    throw new StrataError('SYNTAX_ERROR', `CREATE SOURCE: unknown option ${stray} (known: watermark, allowed_lateness, retention, idle_timeout, connector)`, { statement })
  }
  if (!kinds.includes(kind as ConnectorKind)) {
    const what = connectorsPlanned.includes(kind) ? 'not yet' : 'no such connector'
    throw new StrataError('NOT_SUPPORTED', `CREATE SOURCE … WITH (connector = '${kind}'): ${what} (${kinds.join(', ')} exist)`, { statement })
  }
  const names = connectorOptionNames[kind as ConnectorKind]
  const known: readonly string[] = [...names.required, ...names.optional]
  for (const key of options.keys()) {
    if (key === 'connector' || known.includes(key)) continue
    throw new StrataError('SYNTAX_ERROR', `CREATE SOURCE … WITH (connector = '${kind}'): unknown option ${key} (known: watermark, allowed_lateness, retention, idle_timeout, connector, ${known.join(', ')})`, { statement })
  }
  for (const key of names.required) {
    const value = options.get(key)
    if (value === undefined || value.trim() === '') throw new StrataError('SYNTAX_ERROR', `CREATE SOURCE … WITH (connector = '${kind}'): ${key} = '…' is required`, { statement })
  }
  const format = options.get('format') ?? 'json'
  if (format !== 'json') throw new StrataError('NOT_SUPPORTED', `CREATE SOURCE … WITH (format = '${format}'): not yet (json is)`, { statement })
  const server = options.get('server')
  if (server !== undefined && server.trim() === '') throw new StrataError('SYNTAX_ERROR', `CREATE SOURCE … WITH (connector = '${kind}'): server = '' (give host:port, or leave it out)`, { statement })
  switch (kind as ConnectorKind) {
    case 'nats':
      return { kind: 'nats', subject: options.get('subject')!, server: server ?? '127.0.0.1:4222' }
    case 'mqtt': {
      const qos = options.get('qos') ?? '1'
      if (qos === '2') throw new StrataError('NOT_SUPPORTED', "CREATE SOURCE … WITH (connector = 'mqtt', qos = 2): not yet (qos = 1 is exactly once into the source already: see docs/streaming.md)", { statement })
      if (qos !== '0' && qos !== '1') throw new StrataError('SYNTAX_ERROR', `CREATE SOURCE … WITH (connector = 'mqtt'): qos = ${qos} (0 or 1)`, { statement })
      const clientId = options.get('client_id')
      if (clientId !== undefined && (clientId === '' || clientId.length > limits.mqttClientIdLengthMax)) {
        throw new StrataError('SYNTAX_ERROR', `CREATE SOURCE … WITH (connector = 'mqtt'): client_id must have 1 to ${limits.mqttClientIdLengthMax} characters`, { statement })
      }
      return { kind: 'mqtt', topic: options.get('topic')!, server: server ?? '127.0.0.1:1883', qos: qos === '0' ? 0 : 1, ...(clientId === undefined ? {} : { clientId }) }
    }
    case 'rabbitmq':
      return { kind: 'rabbitmq', queue: options.get('queue')!, server: server ?? '127.0.0.1:5672' }
    case 'postgres-cdc':
      return postgresCdcConnector(options, server, statement)
  }
}

/**
 * `connector = 'postgres-cdc', table = 'schema.name' [, server = 'host:port' | 'postgres://…'] [,
 * database = '…'] [, user = '…'] [, slot = '…'] [, publication = '…'] [, snapshot = 'initial' | 'never']`.
 * The snapshot choice is stored in every new definition, 'initial' unless given (what Debezium does:
 * a source of a table starts with the rows it has); a definition stored before the option existed
 * has none and reads as 'never', as it always did (postgres.ts).
 */
function postgresCdcConnector(options: ReadonlyMap<string, string>, server: string | undefined, statement: string): PostgresCdcConnector {
  const fail = (what: string): never => {
    throw new StrataError('SYNTAX_ERROR', `CREATE SOURCE … WITH (connector = 'postgres-cdc'): ${what}`, { statement })
  }
  const parts = options.get('table')!.split('.')
  if (parts.length > 2 || parts.some((part) => part === '')) fail(`table = '${options.get('table')}' (give schema.name or name, as PostgreSQL stores the names)`)
  const table = parts.length === 1 ? `public.${parts[0]}` : parts.join('.')
  if (server !== undefined && server.includes('://') && !server.startsWith('postgres://') && !server.startsWith('postgresql://')) fail(`server = '${server}' (host:port or a postgres:// URL)`)
  const slot = options.get('slot')
  // PostgreSQL's own rule for slot names (ReplicationSlotValidateName).
  if (slot !== undefined && !isSlotName(slot)) fail(`slot = '${slot}' (1 to 63 lowercase letters, digits and underscores)`)
  const publication = options.get('publication')
  if (publication !== undefined && publication.trim() === '') fail("publication = '' (name one, or leave it out for the connector's own)")
  const database = options.get('database')
  const user = options.get('user')
  const snapshotText = options.get('snapshot') ?? 'initial'
  const snapshot = snapshotText === 'initial' || snapshotText === 'never' ? snapshotText : fail(`snapshot = '${snapshotText}' ('initial': the table's rows first, then its changes; 'never': its changes only)`)
  return {
    kind: 'postgres-cdc',
    table,
    server: server ?? '127.0.0.1:5432',
    ...(database === undefined ? {} : { database }),
    ...(user === undefined ? {} : { user }),
    ...(slot === undefined ? {} : { slot }),
    ...(publication === undefined ? {} : { publication }),
    snapshot,
  }
}

/** PostgreSQL's rule for a replication slot's name: 1 to 63 of a–z, 0–9 and _. */
function isSlotName(name: string): boolean {
  if (name.length < 1 || name.length > 63) return false
  for (const character of name) if (!((character >= 'a' && character <= 'z') || (character >= '0' && character <= '9') || character === '_')) return false
  return true
}

/** Recognises DROP SOURCE; undefined when the text is not one. */
export function recogniseDropSource(text: string, tokenSource?: TokenSource): DropSource | undefined {
  const head = dropHead(text, tokenSource, 'SOURCE')
  if (head === undefined) return undefined
  const cascade = head.reader.word('CASCADE')
  if (!cascade) head.reader.word('RESTRICT')
  head.reader.end()
  return { names: head.names, ifExists: head.ifExists, cascade }
}

/** Recognises SHOW SOURCES. */
export function recogniseShowSources(text: string, tokenSource?: TokenSource): boolean {
  return isShow(text, tokenSource, 'SOURCES')
}

// ───────────────────────────── streams ─────────────────────────────

/** `CREATE [OR REPLACE] STREAM [IF NOT EXISTS] name AS <query> [EMIT ON WINDOW CLOSE | EMIT FINAL | EMIT CHANGES]`. */
export interface CreateStream {
  readonly name: string
  readonly orReplace: boolean
  readonly ifNotExists: boolean
  /** The query as written (without the EMIT clause). */
  readonly query: string
  /** The EMIT clause: on window close (also `EMIT FINAL`), changes, or none given. */
  readonly emit: 'close' | 'changes' | undefined
}

/** `DROP STREAM [IF EXISTS] name [, …] [CASCADE | RESTRICT]` (CASCADE drops the sinks that read it too). */
export interface DropStream {
  readonly names: readonly string[]
  readonly ifExists: boolean
  readonly cascade: boolean
}

/**
 * A window over the event-time column, in microseconds: tumbling (slide = size), hopping, or session
 * (`sizeUs` is the gap; sessions are per value of `partition`, the other GROUP BY columns).
 */
export interface WindowSpec {
  readonly kind: 'tumble' | 'hop' | 'session'
  readonly column: string
  readonly sizeUs: bigint
  readonly slideUs: bigint
  readonly offsetUs: bigint
  readonly partition: readonly string[]
}

/**
 * A stream's query, planned: which source it reads, its window, and its SQL for DuckDB, which reads
 * the relation {@link streamInputRelation} (a stateless stream) or {@link windowedRelation} (a
 * windowed one: the input with `window_start` and `window_end`, one row per window an event is in).
 */
export interface StreamPlan {
  readonly source: string
  readonly window: WindowSpec | undefined
  /**
   * For an aggregate without a window (EMIT CHANGES): the source columns it groups by, each selected
   * as itself, so a result row is found again by them; `[]` for one group over everything. Undefined
   * for other streams.
   */
  readonly groupColumns: readonly string[] | undefined
  /**
   * For a windowed aggregate: the columns its rows are kept by when it emits changes (the other GROUP
   * BY columns, then `window_start` and `window_end`, each selected as itself), or why it cannot.
   */
  readonly windowKey: readonly string[] | { readonly refused: string } | undefined
  /**
   * For a stateless stream: the column its rows carry their event's time in, so a stream over this
   * one may window them — the source's event-time column when the query selects it as itself, or for
   * a join of two sources a side's event-time column under any name (`eventSide`).
   */
  readonly eventTime?: string
  /**
   * For a join of two sources whose rows carry one side's event time (selected under the name
   * `eventTime`): which side. Its watermark is the lower of what either side may still bring
   * (Streams.relationProgress).
   */
  readonly eventSide?: 'left' | 'right'
  /** Tables a stateless stream joins its events with (lookup joins): read as they are when each batch is processed. */
  readonly lookups: readonly string[]
  /**
   * A select list of its input's columns and nothing else (no expression, WHERE, DISTINCT, join,
   * aggregate or window: `SELECT a, b AS c FROM s`, `SELECT * FROM s`): result column i is input
   * column `projection[i]`. Such a step needs no evaluation (Streams.emitRows).
   */
  readonly projection?: readonly number[]
  /**
   * An interval join of `source` (left) with another source (right, read as `streamOtherRelation`):
   * each batch's events joined with the other side's events so far, restricted by the ON clause's
   * equalities between the sides (`keys`: none means every event of the other side).
   */
  readonly joined?: {
    readonly source: string
    readonly keys: readonly { readonly left: string; readonly right: string }[]
    /**
     * An ASOF join (left.ts >= right.ts, or > when `strict`; `left`: ASOF LEFT JOIN): a left event is
     * emitted once no right event at or before it can still be accepted — when the right source's
     * watermark minus its allowed lateness has passed it.
     */
    readonly asof?: { readonly strict: boolean; readonly left: boolean }
    /**
     * An interval join's time bounds, from its ON: every pair it joins has `lowUs ≤ right event time −
     * left event time ≤ highUs` (null: no such bound). They limit the other side's events a batch
     * reads, and how long each side's events are kept (SPEC 8: state collected by watermarks).
     */
    readonly bounds?: { readonly lowUs: bigint | null; readonly highUs: bigint | null }
    /**
     * A LEFT interval join: its pairs are emitted as an inner join's (`sql` is the inner join), and
     * each left event without a match once the right side can bring none (its limit passed the
     * event's time plus the upper bound), by this query: the stream's query over those left events
     * that no right event read as `streamOtherRelation` matches, LEFT JOINed with no right events.
     */
    readonly outer?: string
    /**
     * A FULL interval join: besides `outer`'s unmatched left events, each right event without a
     * match once the left side can bring none (its limit passed the event's time minus the lower
     * bound), by this query: the stream's query over those right events that no left event read as
     * the input matches, RIGHT JOINed with no left events.
     */
    readonly outerRight?: string
    /**
     * A materialized view's RIGHT or FULL join of two tables: right rows without a left row give rows
     * too, so a key with no left rows is evaluated as well (views.ts keepJoin).
     */
    readonly keepsRight?: true
    /** A materialized view's inner join of two tables: kept by the join's delta rule (views.ts keepJoin). */
    readonly inner?: true
  }
  readonly sql: string
}

/** The relation a stateless stream's SQL reads: the batch's events. */
export const streamInputRelation = '_strata_stream_input'
/** The relation an interval join's SQL reads for its right-hand source's events. */
export const streamOtherRelation = '_strata_stream_other'
/** The relation a windowed stream's SQL reads: each event once per window it belongs to. */
export const windowedRelation = '_strata_stream_windowed'

/** The prefix of a part's name: a subquery in FROM kept as a stream or view of its own (`derivedTables`). */
export const partPrefix = '_strata_part_'

/** The prefix of a view's or a stream's lookup indexes' names (TableViews.indexLookupsSync, Streams.create). */
export function viewIndexPrefix(view: string): string {
  return `_strata_view_${view}_`
}

/** A query whose subqueries in FROM are taken out as parts (`derivedTables`). */
export interface DerivedTables {
  /** The query with each subquery in FROM replaced by its part's name, under the subquery's alias. */
  readonly query: string
  /** Each part: its name and its query (the subquery as written; its own subqueries are its parts'). */
  readonly parts: readonly { readonly name: string; readonly query: string }[]
}

/** A stream's query as PostgreSQL's parser reads it (an ASOF join taken out first): its SELECT, or undefined when it is not one or does not parse (the planner then says why). */
function selectOf(query: string): PgNode | undefined {
  try {
    const parsed = parseStatements(withoutAsof(query)?.text ?? query)
    return parsed.length === 1 ? nodeBody(parsed[0]!.tree, 'SelectStmt') : undefined
  } catch {
    return undefined
  }
}

/** Words that end a SELECT's FROM clause at its own level. */
const afterFrom = new Set(['WHERE', 'GROUP', 'HAVING', 'WINDOW', 'QUALIFY', 'ORDER', 'LIMIT', 'OFFSET', 'FETCH', 'UNION', 'INTERSECT', 'EXCEPT', 'EMIT'])

/**
 * A stream's query with subqueries in FROM (derived tables, joined or not) split into a cascade: each
 * subquery becomes a part — a stream or view of its own, named by `partName` (called once per part, in
 * order) — and the query reads the part in its place, under the subquery's alias (and column aliases).
 * Each part is then planned as any stream is, so the cascade is kept exactly where each of its queries
 * is. The parts' texts are cut out of the query by scanner tokens (a `(` in the FROM clause that opens
 * a SELECT, to its matching `)`), so each keeps the text as written — an ASOF join in it too, which
 * PostgreSQL's grammar does not parse — and the parse tree says how many there must be. Undefined when
 * the query has no subquery in FROM, or when the tokens do not find the subqueries the tree has (a
 * subquery in extra parentheses: the planner then refuses it), or the query does not parse (the
 * planner says why). A LATERAL subquery is NOT_SUPPORTED: it reads the row beside it, which a part of
 * its own cannot.
 */
export function derivedTables(query: string, partName: () => string, reuse?: (subquery: string) => string | undefined): DerivedTables | undefined {
  const select = selectOf(query)
  if (select === undefined) return undefined
  // An earlier part is read in a subquery's place only where the query cannot see the columns it adds.
  const mayReuse = reuse !== undefined && readsColumnsByName(select)
  let expected = 0
  const count = (item: unknown): void => {
    const derived = nodeBody(item, 'RangeSubselect')
    if (derived !== undefined) {
      if (derived['lateral'] === true) throw new StrataError('NOT_SUPPORTED', "a LATERAL subquery in a stream's query", { statement: query })
      expected++
    }
    const join = nodeBody(item, 'JoinExpr')
    if (join !== undefined) {
      count(join['larg'])
      count(join['rarg'])
    }
  }
  for (const item of list(select['fromClause'])) count(item)
  if (expected === 0) return undefined
  const tokens = scanTokens(query)
  if (tokens === undefined) return undefined
  const spans: { readonly open: number; readonly close: number }[] = []
  let depth = 0
  let inFrom = false
  for (let index = 0; index < tokens.length; index++) {
    const token = tokens[index]!
    if (token.text === '(') {
      if (depth === 0 && inFrom && (isWord(tokens[index + 1], 'SELECT') || isWord(tokens[index + 1], 'WITH'))) {
        let inner = 0
        let close = index
        for (; close < tokens.length; close++) {
          if (tokens[close]!.text === '(') inner++
          if (tokens[close]!.text === ')' && --inner === 0) break
        }
        if (close >= tokens.length) return undefined
        spans.push({ open: index, close })
        index = close
        continue
      }
      depth++
    } else if (token.text === ')') depth--
    else if (depth === 0 && isWord(token, 'FROM')) inFrom = true
    else if (depth === 0 && afterFrom.has(token.text.toUpperCase()) && !token.text.startsWith('"')) inFrom = false
  }
  if (spans.length !== expected) return undefined
  const parts: { name: string; query: string }[] = []
  let text = ''
  let copied = 0
  for (const span of spans) {
    const subquery = query.slice(tokens[span.open]!.end, tokens[span.close]!.start).trim()
    const reused = mayReuse ? reuse(subquery) : undefined
    const name = reused ?? partName()
    if (reused === undefined) parts.push({ name, query: subquery })
    text += `${query.slice(copied, tokens[span.open]!.start)}${quoteIdentifier(name)}`
    copied = tokens[span.close]!.end
  }
  return { query: text + query.slice(copied), parts }
}

/**
 * Whether a query reads the relations in its FROM only by column name, so that a relation with more
 * columns than a subquery's (an earlier part with the same rows and more columns, `sameRowsWithMore`)
 * can stand in its place unseen: no `*` anywhere, no NATURAL join or USING (which match columns by
 * name), no column aliases on a subquery (which rename its columns by position).
 */
function readsColumnsByName(select: PgNode): boolean {
  let byName = true
  walk(select, (kind, body) => {
    if (kind === 'A_Star') byName = false
    if (kind === 'JoinExpr' && (body['isNatural'] === true || list(body['usingClause']).length > 0)) byName = false
    if (kind === 'RangeSubselect' && list(nodeBody({ Alias: body['alias'] }, 'Alias')?.['colnames']).length > 0) byName = false
    return byName
  })
  return byName
}

/** A parse tree without the fields that say where its parts are in the text. */
function withoutLocations(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutLocations)
  if (typeof node !== 'object' || node === null) return node
  const copy: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(node)) if (key !== 'location' && key !== 'name_location') copy[key] = withoutLocations(value)
  return copy
}

/**
 * Whether the query `subquery` gives one row for each row `earlier` gives, with a subset of its
 * columns: the same FROM, WHERE, GROUP BY, HAVING and everything else, and each of its select items
 * one of `earlier`'s, with the same name (written with AS, or a plain column). Nexmark's q5 computes
 * its per-auction counts twice, the second time without the auction: the second subquery then reads
 * the first one's part (Flink's planner reuses such a sub-plan too). Not with DISTINCT or a set
 * operation, whose rows depend on the columns selected.
 *
 * @example sameRowsWithMore('SELECT count(*) AS n FROM t GROUP BY k', 'SELECT k, count(*) AS n FROM t GROUP BY k') // → true
 */
export function sameRowsWithMore(subquery: string, earlier: string): boolean {
  const mine = selectOf(subquery)
  const theirs = selectOf(earlier)
  if (mine === undefined || theirs === undefined) return false
  if (mine['distinctClause'] !== undefined || theirs['distinctClause'] !== undefined || (mine['op'] ?? 'SETOP_NONE') !== 'SETOP_NONE') return false
  const rest = (select: PgNode): string => JSON.stringify(withoutLocations({ ...select, targetList: undefined }))
  if (rest(mine) !== rest(theirs)) return false
  const items = new Set(list(theirs['targetList']).map((item) => JSON.stringify(withoutLocations(item))))
  return list(mine['targetList']).every((item) => {
    const target = nodeBody(item, 'ResTarget')
    const value = nodeBody(target?.['val'], 'ColumnRef')
    const named = target?.['name'] !== undefined || (value !== undefined && nodeKind(list(value['fields']).at(-1)) === 'String')
    return named && items.has(JSON.stringify(withoutLocations(item)))
  })
}

/** Words that end a SELECT's FROM and WHERE clauses at its own level. */
const afterWhere = new Set(['GROUP', 'HAVING', 'WINDOW', 'QUALIFY', 'ORDER', 'LIMIT', 'OFFSET', 'FETCH', 'UNION', 'INTERSECT', 'EXCEPT', 'EMIT'])

/** A join and an aggregate in one query, split in two (`joinAggregateSplit`). */
export interface JoinAggregateSplit {
  readonly partName: string
  /** The join, its WHERE included: each column the query reads, under its name or as `<alias>_<column>`. */
  readonly part: string
  /** The query over the part: the same select list, GROUP BY and HAVING, reading those columns. */
  readonly query: string
}

/**
 * A query that joins two relations and aggregates (or windows) in one SELECT, which the planner keeps
 * only as a cascade, split into that cascade: the join as a part of its own (`partName`, called once
 * when there is a split), selecting each column the query reads under its own name, or as
 * `<alias>_<column>` when both sides' columns of that name are read (`b.ts` → `b_ts`; a side's
 * event-time column is carried as the join's event time under either name, as for any join stream),
 * and the query over it, every such column reference rewritten to that name.
 * The join and WHERE are cut out of the text by scanner tokens (an ASOF join stays one). An unnamed
 * column keeps its column's name (`a.seller` → `seller`, as DuckDB names it); an unnamed expression
 * keeps DuckDB's name when the rewrite leaves its text as it was (`count(*)`, `sum(price)`), and is
 * NOT_SUPPORTED when it does not (`max(b.price)` would be named `max(price)`): name it with AS.
 * Undefined for any other query (no join of two relations, `*`, two columns of one
 * name, a subquery in FROM).
 */
/** What {@link joinAggregateSplit} and {@link joinAggregateNamesProbe} share: the SELECT, its two sides, and the part's name of each column the query reads. */
interface SplitShape {
  readonly select: PgNode
  readonly leftSide: JoinSide
  readonly rightSide: JoinSide
  /** `left.<column>` / `right.<column>` → the part's column name. */
  readonly nameOf: ReadonlyMap<string, string>
  readonly read: ReadonlyMap<string, { readonly alias: string; readonly column: string }>
}

function splitShape(query: string, columnsOf: (relation: string) => readonly string[] | undefined): SplitShape | undefined {
  const select = selectOf(query)
  const from = list(select?.['fromClause'])
  const join = from.length === 1 ? nodeBody(from[0], 'JoinExpr') : undefined
  if (select === undefined || join === undefined) return undefined
  const left = nodeBody(join['larg'], 'RangeVar')
  const right = nodeBody(join['rarg'], 'RangeVar')
  if (left === undefined || right === undefined) return undefined
  let calls = false
  walkNodes(select['targetList'], (kind) => {
    if (kind === 'FuncCall') calls = true
  })
  if (list(select['groupClause']).length === 0 && select['havingClause'] === undefined && !calls) return undefined
  const sideOf = (relation: PgNode): JoinSide | undefined => {
    const columns = columnsOf(String(relation['relname']))
    return columns === undefined ? undefined : { alias: String(nodeBody({ Alias: relation['alias'] }, 'Alias')?.['aliasname'] ?? relation['relname']), columns }
  }
  const leftSide = sideOf(left)
  const rightSide = sideOf(right)
  if (leftSide === undefined || rightSide === undefined || leftSide.alias === rightSide.alias) return undefined
  // Every column the query reads, by side; its name in the part: the column's own, or `<alias>_<column>` when both sides' are read.
  const read = new Map<string, { readonly alias: string; readonly column: string }>()
  let starred = false
  const parts = [select['targetList'], select['groupClause'], select['havingClause']]
  walkNodes(parts, (kind, body) => {
    if (kind !== 'ColumnRef') return
    if (list(body['fields']).some((field) => nodeKind(field) === 'A_Star')) starred = true
    const found = columnSide({ ColumnRef: body }, leftSide, rightSide)
    if (found !== undefined) read.set(`${found.side}.${found.column}`, { alias: found.side === 'left' ? leftSide.alias : rightSide.alias, column: found.column })
  })
  if (starred || read.size === 0) return undefined
  const nameOf = new Map<string, string>()
  for (const [key, source] of read) {
    const shared = [...read.values()].filter((other) => other.column.toLowerCase() === source.column.toLowerCase()).length > 1
    nameOf.set(key, shared ? `${source.alias}_${source.column}` : source.column)
  }
  // Two names that meet (`a_b` of one side, `b` of the other's `a`…) would be one column of the part.
  if (new Set([...nameOf.values()].map((name) => name.toLowerCase())).size !== nameOf.size) return undefined
  return { select, leftSide, rightSide, nameOf, read }
}

/**
 * Whether the split changes the text of an unnamed select-list expression (`max(b.price)` → `max(price)`),
 * and so the name DuckDB gives it by its text: then the split names it as the query as written is named.
 */
function renamedBySplit(target: PgNode, shape: SplitShape): boolean {
  if (target['name'] !== undefined || columnSide(target['val'], shape.leftSide, shape.rightSide) !== undefined) return false
  let renames = false
  walkNodes(target['val'], (kind, ref) => {
    if (kind !== 'ColumnRef') return
    const found = columnSide({ ColumnRef: ref }, shape.leftSide, shape.rightSide)
    if (found !== undefined && (list(ref['fields']).length !== 1 || shape.nameOf.get(`${found.side}.${found.column}`) !== found.column)) renames = true
  })
  return renames
}

/**
 * For a query {@link joinAggregateSplit} splits, the query that asks DuckDB how it names the unnamed
 * expressions the split would write differently (`max(b.price)`): those expressions as written, over
 * the two relations as empty ones of the same columns under the same aliases (`relationSql` gives a
 * relation's, e.g. `(SELECT CAST(NULL AS INTEGER) AS "price" LIMIT 0)`), grouped by all. Its result's
 * column names, in order, are the `names` to give the split. Undefined when there is none to ask for.
 */
export function joinAggregateNamesProbe(query: string, columnsOf: (relation: string) => readonly string[] | undefined, relationSql: (relation: string) => string): string | undefined {
  const shape = splitShape(query, columnsOf)
  if (shape === undefined) return undefined
  const asked = list(shape.select['targetList'])
    .map((target) => nodeBody(target, 'ResTarget')!)
    .filter((target) => renamedBySplit(target, shape))
  if (asked.length === 0) return undefined
  const join = nodeBody(list(shape.select['fromClause'])[0], 'JoinExpr')!
  const relation = (node: unknown, side: JoinSide): string => `${relationSql(String(nodeBody(node, 'RangeVar')!['relname']))} AS ${quoteIdentifier(side.alias)}`
  const from = `${relation(join['larg'], shape.leftSide)}, ${relation(join['rarg'], shape.rightSide)}`
  return `${deparseStatement({ SelectStmt: { targetList: asked.map((target) => ({ ResTarget: target })), limitOption: 'LIMIT_OPTION_DEFAULT', op: 'SETOP_NONE' } })} FROM ${from} GROUP BY ALL`
}

export function joinAggregateSplit(query: string, columnsOf: (relation: string) => readonly string[] | undefined, partName: () => string, names: readonly string[] = []): JoinAggregateSplit | undefined {
  const shape = splitShape(query, columnsOf)
  if (shape === undefined) return undefined
  const { select, leftSide, rightSide, nameOf, read } = shape
  const rewrite = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(rewrite)
    if (node === null || typeof node !== 'object') return node
    const found = nodeBody(node, 'ColumnRef') === undefined ? undefined : columnSide(node, leftSide, rightSide)
    if (found !== undefined) return columnRef(nameOf.get(`${found.side}.${found.column}`)!)
    return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, rewrite(value)]))
  }
  let asked = 0
  const targets = list(select['targetList']).map((target) => {
    const body = nodeBody(target, 'ResTarget')!
    const column = body['name'] !== undefined ? undefined : columnSide(body['val'], leftSide, rightSide)
    const rewritten = rewrite(body['val'])
    // DuckDB names an unnamed expression by its text: one whose column references the rewrite changes
    // (`max(b.price)` → `max(price)`) is named as DuckDB names it as written (`names`, asked of DuckDB by
    // joinAggregateNamesProbe); `count(*)`, `sum(price)` keep theirs.
    if (renamedBySplit(body, shape)) {
      const name = names[asked++]
      if (name === undefined) {
        throw new StrataError('NOT_SUPPORTED', 'an unnamed expression over qualified columns in a query that joins and aggregates (name it with AS, or write the join as a subquery in FROM: SELECT … FROM (SELECT … FROM a JOIN b ON …) AS j GROUP BY …)', { statement: query })
      }
      return { ResTarget: { ...body, val: rewritten, name } }
    }
    // An unnamed column keeps its own name, as DuckDB gives it (`a.seller` → seller), whatever the part calls it.
    const renamed = column !== undefined && nameOf.get(`${column.side}.${column.column}`) !== column.column ? { name: column.column } : {}
    return { ResTarget: { ...body, val: rewritten, ...renamed } }
  })
  const groupClause = rewrite(list(select['groupClause']))
  const havingClause = select['havingClause'] === undefined ? undefined : rewrite(select['havingClause'])
  // The join and its WHERE as written: from the top-level FROM to the first word that ends them.
  const tokens = scanTokens(query)
  if (tokens === undefined) return undefined
  let depth = 0
  let start = -1
  let end = tokens.length
  for (let index = 0; index < tokens.length; index++) {
    const token = tokens[index]!
    if (token.text === '(') depth++
    else if (token.text === ')') depth--
    else if (depth === 0 && start < 0 && isWord(token, 'FROM')) start = index
    else if (depth === 0 && start >= 0 && !token.text.startsWith('"') && afterWhere.has(token.text.toUpperCase())) {
      end = index
      break
    }
  }
  if (start < 0) return undefined
  const joinText = query.slice(tokens[start]!.start, end < tokens.length ? tokens[end]!.start : undefined).trim()
  const name = partName()
  const columns = [...read.entries()].map(([key, source]) => `${quoteIdentifier(source.alias)}.${quoteIdentifier(source.column)} AS ${quoteIdentifier(nameOf.get(key)!)}`)
  const outer: PgNode = { ...select, targetList: targets, fromClause: [{ RangeVar: { relname: name, inh: true, relpersistence: 'p' } }], whereClause: undefined, groupClause, havingClause }
  return { partName: name, part: `SELECT ${columns.join(', ')} ${joinText}`, query: deparseStatement({ SelectStmt: outer }) }
}

/** Recognises CREATE STREAM; undefined when the text is not one. */
export function recogniseCreateStream(text: string, tokenSource?: TokenSource): CreateStream | undefined {
  const head = createHead(text, tokenSource, 'STREAM')
  if (head === undefined) return undefined
  const { reader, tokens, orReplace, ifNotExists, name } = head
  reader.expectWord('AS')
  const queryFrom = reader.at
  let end = tokens.length
  if (tokens[end - 1]?.text === ';') end--
  let emit: CreateStream['emit']
  if (isWord(tokens[end - 3], 'EMIT') && isWord(tokens[end - 2], 'ON') && isWord(tokens[end - 1], 'WINDOW')) {
    reader.at = end
    reader.fail('CLOSE after EMIT ON WINDOW')
  }
  if (isWord(tokens[end - 4], 'EMIT') && isWord(tokens[end - 3], 'ON') && isWord(tokens[end - 2], 'WINDOW') && isWord(tokens[end - 1], 'CLOSE')) {
    emit = 'close'
    end -= 4
  } else if (isWord(tokens[end - 2], 'EMIT') && (isWord(tokens[end - 1], 'FINAL') || isWord(tokens[end - 1], 'CHANGES'))) {
    emit = isWord(tokens[end - 1], 'FINAL') ? 'close' : 'changes'
    end -= 2
  }
  if (queryFrom >= end) reader.fail('the query')
  refuseStreamOptions(text, tokens, queryFrom, end)
  return { name, orReplace, ifNotExists, query: reader.slice(queryFrom, end), emit }
}

/**
 * The seed's `CREATE STREAM … WITH (allowed_lateness = …)` after the query. Lateness is the source's
 * (SPEC 8: its events are accepted or recorded late once, for every stream); a stream that closed its
 * windows earlier would leave accepted events out of them, and no longer equal the batch answer.
 */
function refuseStreamOptions(text: string, tokens: readonly ScannerToken[], from: number, end: number): void {
  if (tokens[end - 1]?.text !== ')') return
  let depth = 0
  for (let index = end - 1; index > from; index--) {
    if (tokens[index]!.text === ')') depth++
    if (tokens[index]!.text === '(' && --depth === 0) {
      if (!isWord(tokens[index - 1], 'WITH')) return
      const lateness = tokens.slice(index + 1, end - 1).some((token) => isWord(token, 'ALLOWED_LATENESS'))
      throw new StrataError(
        'NOT_SUPPORTED',
        lateness
          ? "CREATE STREAM … WITH (allowed_lateness = …): lateness is the source's (CREATE SOURCE … WITH (allowed_lateness = …)), the same for every stream over it"
          : 'CREATE STREAM … WITH (…): a stream takes no options (watermarks and lateness are its source\'s)',
        { statement: text, position: tokens[index - 1]!.start + 1 },
      )
    }
  }
}

/** Recognises DROP STREAM; undefined when the text is not one. */
export function recogniseDropStream(text: string, tokenSource?: TokenSource): DropStream | undefined {
  const head = dropHead(text, tokenSource, 'STREAM')
  if (head === undefined) return undefined
  const cascade = head.reader.word('CASCADE')
  if (!cascade) head.reader.word('RESTRICT')
  head.reader.end()
  return { names: head.names, ifExists: head.ifExists, cascade }
}

/** Recognises `EXPLAIN STREAM name`: the stream's name, or undefined when the text is not one. */
export function recogniseExplainStream(text: string, tokenSource?: TokenSource): string | undefined {
  const tokens = scanTokens(text, tokenSource)
  if (tokens === undefined || !isWord(tokens[0], 'EXPLAIN') || !isWord(tokens[1], 'STREAM')) return undefined
  const reader = new Reader(text, tokens, 'EXPLAIN STREAM')
  reader.at = 2
  const name = reader.relationName('the stream name')
  reader.end()
  return name
}

/** Recognises SHOW STREAMS. */
export function recogniseShowStreams(text: string, tokenSource?: TokenSource): boolean {
  return isShow(text, tokenSource, 'STREAMS')
}

const windowFunctions = new Set(['tumble', 'hop', 'slide', 'session'])

/** Aggregate functions a stream's query may use (DuckDB's meaning); any other function is a scalar one. */
const aggregateFunctions = new Set([
  'count', 'sum', 'min', 'max', 'avg', 'mean', 'first', 'last', 'any_value', 'arg_min', 'arg_max', 'argmin', 'argmax', 'min_by', 'max_by',
  'stddev', 'stddev_samp', 'stddev_pop', 'variance', 'var_samp', 'var_pop', 'bool_and', 'bool_or', 'string_agg', 'list', 'array_agg', 'median', 'mode',
  'approx_count_distinct', 'count_star', 'product', 'bit_and', 'bit_or', 'bit_xor', 'quantile_cont', 'quantile_disc', 'corr', 'covar_pop', 'covar_samp',
])

function functionName(call: PgNode): string {
  return names(call['funcname']).at(-1)!.toLowerCase()
}

/** A window's arguments after the event-time column: `tumble(ts, size[, offset])`, `hop(ts, a, b)` (larger is the size). */
function windowOf(kind: string, args: readonly unknown[], statement: string): WindowSpec {
  const column = columnRefName(args[0])
  if (column === undefined) throw new StrataError('NOT_SUPPORTED', `${kind}(): its first argument must be the event-time column`, { statement })
  const micros = (node: unknown, what: string): bigint => {
    const value = intervalMicros(node, `${kind}(): the ${what}`, statement)
    if (value === 0n) throw new StrataError('INVALID_PARAMETER', `${kind}(): the ${what} must be greater than zero`, { statement })
    return value
  }
  if (kind === 'tumble') {
    if (args.length !== 2 && args.length !== 3) throw new StrataError('SYNTAX_ERROR', 'tumble(ts, size [, offset]) takes two or three arguments', { statement })
    const size = micros(args[1], 'size')
    const offset = args.length === 3 ? intervalMicros(args[2], 'tumble(): the offset', statement) : 0n
    return { kind: 'tumble', column, sizeUs: size, slideUs: size, offsetUs: offset % size, partition: [] }
  }
  if (kind === 'session') {
    if (args.length !== 2) throw new StrataError('SYNTAX_ERROR', 'session(ts, gap) takes two arguments', { statement })
    const gap = micros(args[1], 'gap')
    return { kind: 'session', column, sizeUs: gap, slideUs: gap, offsetUs: 0n, partition: [] }
  }
  if (args.length !== 3) throw new StrataError('SYNTAX_ERROR', `${kind}(ts, slide, size) takes three arguments`, { statement })
  const first = micros(args[1], 'slide or size')
  const second = micros(args[2], 'slide or size')
  const size = first > second ? first : second
  const slide = first > second ? second : first
  if (size % slide !== 0n) throw new StrataError('INVALID_PARAMETER', `${kind}(): the size must be a multiple of the slide`, { statement })
  return { kind: size === slide ? 'tumble' : 'hop', column, sizeUs: size, slideUs: slide, offsetUs: 0n, partition: [] }
}

/**
 * Plans a stream's query: one source in FROM (or a TUMBLE/HOP table function over it), a window in
 * GROUP BY (`tumble(ts, …)`, `hop(…)`, `slide(…)`) or none. A windowed query must aggregate; one
 * without a window must not (a non-windowed aggregate is EMIT CHANGES, which comes later). What the
 * planner cannot maintain incrementally is NOT_SUPPORTED naming it.
 */
export function planStream(
  query: string,
  sourceOf: (name: string) => (SourceDefinition & { readonly columns: readonly string[]; readonly table?: boolean }) | undefined,
  /** The column store's aggregate functions by lower-case name (DuckDB's `duckdb_functions()`); without it, a list of the common ones. */
  aggregates: ReadonlySet<string> = aggregateFunctions,
): StreamPlan {
  const asofText = withoutAsof(query)
  const parsed = parseStatements(asofText?.text ?? query)
  let select = parsed.length === 1 ? nodeBody(parsed[0]!.tree, 'SelectStmt') : undefined
  if (select === undefined) throw new StrataError('SYNTAX_ERROR', "a stream's query must be one SELECT", { statement: query })
  const refuse = (what: string): never => {
    throw new StrataError('NOT_SUPPORTED', `${what} in a stream's query`, { statement: query })
  }
  if (select['op'] !== undefined && select['op'] !== 'SETOP_NONE') refuse('UNION, INTERSECT or EXCEPT')
  if (select['withClause'] !== undefined) refuse('WITH')
  if (list(select['sortClause']).length > 0) refuse('ORDER BY (an unbounded sort)')
  if (select['limitCount'] !== undefined || select['limitOffset'] !== undefined) refuse('LIMIT or OFFSET')
  if (list(select['valuesLists']).length > 0) refuse('VALUES')
  if (list(select['windowClause']).length > 0) refuse('WINDOW')
  const from = list(select['fromClause'])
  if (from.length !== 1) refuse(from.length === 0 ? 'a query without a source' : 'a comma join (write JOIN … ON)')
  let window: WindowSpec | undefined
  let source: string
  let alias: PgNode | undefined
  let item = from[0]
  // A lookup join: the source (left) JOIN or LEFT JOIN an ordinary table, as the table is when each batch is processed.
  let join = nodeBody(item, 'JoinExpr')
  // A RIGHT JOIN of two sources is kept as the LEFT JOIN with the sides swapped: the same rows, the
  // same select list — but `*` would list the columns in the swapped order, so it must name them.
  if (join !== undefined && join['jointype'] === 'JOIN_RIGHT' && asofText === undefined) {
    const sides = [nodeBody(join['larg'], 'RangeVar'), nodeBody(join['rarg'], 'RangeVar')].map((side) => (side === undefined ? undefined : sourceOf(String(side['relname']))))
    if (sides.every((side) => side !== undefined && side.table !== true)) {
      const starred = list(select['targetList']).some((target) => list(nodeBody(nodeBody(target, 'ResTarget')?.['val'], 'ColumnRef')?.['fields']).some((field) => nodeKind(field) === 'A_Star'))
      if (starred) refuse('a RIGHT JOIN of two sources selecting * (name the columns: it is kept as a LEFT JOIN with the sides swapped)')
      join = { ...join, jointype: 'JOIN_LEFT', larg: join['rarg'], rarg: join['larg'] }
    }
  }
  const lookups: string[] = []
  let lookupSide: unknown
  let joined: StreamPlan['joined']
  let otherSide: PgNode | undefined
  // For a join of two sources: each side's alias, columns and event-time column (what its rows may carry as their time).
  // A LEFT interval join's sides for its unmatched left events (unmatchedSides).
  let outerSides: PgNode | undefined
  // A FULL interval join's sides for its unmatched right events (unmatchedSides).
  let rightOuterSides: PgNode | undefined
  let timeSides: { readonly left: JoinSide & { readonly time: string | null }; readonly right: JoinSide & { readonly time: string | null } } | undefined
  if (join !== undefined) {
    if (nodeBody(join['larg'], 'JoinExpr') !== undefined || nodeBody(join['rarg'], 'JoinExpr') !== undefined) {
      refuse('a join of more than two tables or sources (write the first join as a subquery in FROM: SELECT … FROM (SELECT … FROM a JOIN b ON …) AS ab JOIN c ON …)')
    }
    const left = nodeBody(join['larg'], 'RangeVar')
    const right = nodeBody(join['rarg'], 'RangeVar')
    const viewRefuse = (what: string): never => {
      throw new StrataError('NOT_SUPPORTED', `${what} in a materialized view over a table`, { statement: query })
    }
    const leftTable = left === undefined ? undefined : sourceOf(String(left['relname']))
    if (leftTable?.table === true) {
      // A materialized view over a join of two tables: kept by the keys its ON clause equates.
      const rightTable = right === undefined ? undefined : sourceOf(String(right['relname']))
      if (rightTable?.table !== true) viewRefuse('a join of a table with anything but a table (not yet)')
      const keepsRight = join['jointype'] === 'JOIN_RIGHT' || join['jointype'] === 'JOIN_FULL'
      if (list(join['usingClause']).length > 0 || join['quals'] === undefined) viewRefuse('a join without ON (write ON … = …)')
      const leftName = String(left!['relname'])
      const rightName = String(right!['relname'])
      if (leftName === rightName) viewRefuse('a join of a table with itself (not yet)')
      const leftAlias = String(nodeBody({ Alias: left!['alias'] }, 'Alias')?.['aliasname'] ?? leftName)
      const rightAlias = String(nodeBody({ Alias: right!['alias'] }, 'Alias')?.['aliasname'] ?? rightName)
      const keys = joinEqualities(join['quals'], { alias: leftAlias, columns: leftTable.columns }, { alias: rightAlias, columns: rightTable!.columns })
      if (keys.length === 0) viewRefuse('a join whose ON equates no column of one table with a column of the other')
      joined = { source: rightName, keys, ...(keepsRight ? { keepsRight: true as const } : {}), ...(join['jointype'] === 'JOIN_INNER' ? { inner: true as const } : {}) }
      otherSide = { RangeVar: { relname: streamOtherRelation, inh: true, relpersistence: 'p', alias: { aliasname: rightAlias } } }
      item = join['larg']
    } else {
      if (nodeBody(join['larg'], 'RangeSubselect') !== undefined || nodeBody(join['rarg'], 'RangeSubselect') !== undefined) refuse('a subquery in FROM (make it a stream of its own, and join that stream)')
      if (left === undefined || right === undefined || leftTable === undefined) refuse('a join other than a source JOIN a table (a lookup join)')
      if (join['jointype'] === 'JOIN_RIGHT') refuse('a RIGHT join of a source with a table (a lookup join is the source LEFT JOIN the table)')
      if (join['quals'] === undefined && list(join['usingClause']).length === 0) refuse('a join without ON or USING')
      const rightName = String(right!['relname'])
      // A table on the right is a lookup join's (the resolver answers tables too, for views over them).
      const resolved = sourceOf(rightName)
      const rightSource = resolved?.table === true ? undefined : resolved
      if (asofText !== undefined) {
        // An ASOF join: each left event with the latest right event at or before it (DuckDB's ASOF JOIN).
        if (rightSource === undefined) refuse('an ASOF join with a table (ASOF joins two sources)')
        if (join['jointype'] === 'JOIN_FULL') refuse('a FULL ASOF join (ASOF JOIN and ASOF LEFT JOIN are)')
        if (rightName === String(left!['relname'])) refuse('an ASOF join of a source with itself')
        const rightAlias = String(nodeBody({ Alias: right!['alias'] }, 'Alias')?.['aliasname'] ?? rightName)
        const leftName = String(left!['relname'])
        const leftAlias = String(nodeBody({ Alias: left!['alias'] }, 'Alias')?.['aliasname'] ?? leftName)
        const leftDefinition = sourceOf(leftName)!
        const sides = { left: { alias: leftAlias, columns: leftDefinition.columns }, right: { alias: rightAlias, columns: rightSource!.columns } }
        const inequality = asofInequality(join['quals'], sides.left, sides.right)
        if (inequality === undefined) refuse('an ASOF join without one inequality between a column of each source (left.ts >= right.ts)')
        if (inequality!.left !== leftDefinition.watermarkColumn || inequality!.right !== rightSource!.watermarkColumn) {
          refuse("an ASOF join whose inequality is not between the two sources' event-time columns")
        }
        joined = { source: rightName, keys: joinEqualities(join['quals'], sides.left, sides.right), asof: { strict: inequality!.strict, left: join['jointype'] === 'JOIN_LEFT' } }
        timeSides = { left: { ...sides.left, time: leftDefinition.watermarkColumn }, right: { ...sides.right, time: rightSource!.watermarkColumn } }
        otherSide = { RangeVar: { relname: streamOtherRelation, inh: true, relpersistence: 'p', alias: { aliasname: rightAlias } } }
      } else if (rightSource !== undefined) {
        // An interval join of two sources: each batch's events joined with the other source's events so far.
        if (rightName === String(left!['relname'])) refuse('a join of a source with itself (not yet)')
        if (list(join['usingClause']).length > 0) refuse('a join of two sources with USING (write ON)')
        const rightAlias = String(nodeBody({ Alias: right!['alias'] }, 'Alias')?.['aliasname'] ?? rightName)
        const leftName = String(left!['relname'])
        const leftAlias = String(nodeBody({ Alias: left!['alias'] }, 'Alias')?.['aliasname'] ?? leftName)
        const leftDefinition = sourceOf(leftName)!
        const sides = { left: { alias: leftAlias, columns: leftDefinition.columns }, right: { alias: rightAlias, columns: rightSource.columns } }
        const times = leftDefinition.watermarkColumn === null || rightSource.watermarkColumn === null ? undefined : { left: { ...sides.left, time: leftDefinition.watermarkColumn }, right: { ...sides.right, time: rightSource.watermarkColumn } }
        const bounds = times === undefined ? { lowUs: null, highUs: null } : timeBounds(join['quals'], times)
        const full = join['jointype'] === 'JOIN_FULL'
        const outer = join['jointype'] === 'JOIN_LEFT' || full
        // A left event is known to have no match once the right side's watermark has passed its time plus the upper bound.
        if (outer && bounds.highUs === null) refuse(`a ${full ? 'FULL' : 'LEFT'} JOIN of two sources without an upper bound on the right side's event time (… AND r.ts BETWEEN l.ts AND l.ts + INTERVAL …)`)
        // A right event is known to have no match once the left side's watermark has passed its time minus the lower bound.
        if (full && bounds.lowUs === null) refuse("a FULL JOIN of two sources without a lower bound on the right side's event time (… AND r.ts BETWEEN l.ts - INTERVAL … AND l.ts + INTERVAL …)")
        joined = { source: rightName, keys: joinEqualities(join['quals'], sides.left, sides.right), ...(bounds.lowUs === null && bounds.highUs === null ? {} : { bounds }) }
        if (outer) outerSides = unmatchedSides(join, leftAlias, rightAlias, 'left')
        if (full) rightOuterSides = unmatchedSides(join, leftAlias, rightAlias, 'right')
        // A FULL join's rows carry neither side's time in every row (an unmatched event's other side is NULL).
        timeSides = full ? undefined : { left: { ...sides.left, time: leftDefinition.watermarkColumn }, right: { ...sides.right, time: outer ? null : rightSource.watermarkColumn } }
        otherSide = { RangeVar: { relname: streamOtherRelation, inh: true, relpersistence: 'p', alias: { aliasname: rightAlias } } }
      } else {
        if (join['jointype'] === 'JOIN_FULL') refuse('a FULL join of a source with a table (a lookup join is the source JOIN or LEFT JOIN the table)')
        lookups.push(rightName)
        lookupSide = join['rarg']
      }
    }
    item = join['larg']
  }
  const relation = nodeBody(item, 'RangeVar')
  const tableFunction = nodeBody(item, 'RangeFunction')
  if (relation !== undefined) {
    source = String(relation['relname'])
    alias = (relation['alias'] as PgNode | undefined) ?? { aliasname: source }
  } else if (tableFunction !== undefined) {
    const call = nodeBody(list(nodeBody(list(tableFunction['functions'])[0], 'List')?.['items'])[0], 'FuncCall')
    const kind = call === undefined ? undefined : functionName(call)
    if (call === undefined || kind === undefined || !['tumble', 'hop', 'session'].includes(kind)) refuse('a table function other than TUMBLE, HOP or SESSION')
    const args = list(call!['args'])
    const named = columnRefName(args[0])
    if (named === undefined) throw new StrataError('SYNTAX_ERROR', `${kind!.toUpperCase()}(source, ts, …): the first argument names the source`, { statement: query })
    source = named
    window = windowOf(kind!, args.slice(1), query)
    alias = (tableFunction['alias'] as PgNode | undefined) ?? undefined
  } else {
    return refuse('a subquery or join in FROM (not yet)')
  }
  const definition = sourceOf(source)
  if (definition === undefined) throw new StrataError('UNDEFINED_TABLE', `source "${source}" does not exist (a stream reads a source)`, { statement: query })
  walkNodes(select, (kind) => {
    // A subquery reads other tables as the column store holds them, not as each batch's transaction does.
    if (kind === 'SubLink') refuse('a subquery (not yet)')
  })
  let group = list(select['groupClause'])
  const distinct = list(select['distinctClause'])
  let aggregatedWithoutDistinct = group.length > 0 || select['havingClause'] !== undefined
  walkNodes(select['targetList'], (kind, body) => {
    if (kind === 'FuncCall' && (aggregates.has(functionName(body)) || body['agg_star'] === true)) aggregatedWithoutDistinct = true
  })
  if (select['distinctClause'] !== undefined && !aggregatedWithoutDistinct) {
    // SELECT DISTINCT is the set of distinct rows over every event so far: kept as GROUP BY its columns.
    if (distinct.length > 0 && distinct.some((item) => item !== null && typeof item === 'object' && Object.keys(item).length > 0)) refuse('DISTINCT ON (not yet)')
    group = list(select['targetList']).map((target) => {
      const body = nodeBody(target, 'ResTarget')
      const column = columnRefName(body?.['val'])
      if (column === undefined || (body!['name'] !== undefined && body!['name'] !== column)) refuse('DISTINCT of an expression or a renamed column (select the columns themselves)')
      return columnRef(column!)
    })
    select = { ...select, groupClause: group, distinctClause: undefined }
  }
  const edited: unknown[] = []
  for (const entry of group) {
    const call = nodeBody(entry, 'FuncCall')
    if (call === undefined || !windowFunctions.has(functionName(call))) {
      edited.push(entry)
      continue
    }
    if (window !== undefined) refuse('more than one window')
    // `b.ts`, qualified by the source's alias (the left side of a join), is the source's column.
    const args = list(call['args'])
    const fields = list(nodeBody(args[0], 'ColumnRef')?.['fields']).map((field) => nodeBody(field, 'String')?.['sval'])
    if (fields.length === 2) {
      const own = String(nodeBody({ Alias: alias }, 'Alias')?.['aliasname'] ?? source)
      if (fields[0] !== own) refuse(`a window on ${String(fields[0])}.${String(fields[1])}: windows follow the event time of the stream's source (${own}, the left side of a join)`)
      args[0] = columnRef(String(fields[1]))
    }
    window = windowOf(functionName(call), args, query)
    edited.push(columnRef('window_start'), columnRef('window_end'))
  }
  if (window?.kind === 'session') {
    // Sessions are per value of the other GROUP BY items, which must be the source's columns.
    const partition: string[] = []
    for (const entry of group) {
      const call = nodeBody(entry, 'FuncCall')
      if (call !== undefined && windowFunctions.has(functionName(call))) continue
      const column = columnRefName(entry)
      if (column === 'window_start' || column === 'window_end') continue
      if (column === undefined || !definition.columns.includes(column)) refuse('GROUP BY of anything but source columns beside a session window')
      partition.push(column!)
    }
    window = { ...window, partition }
  }
  if (window !== undefined && window.column !== definition.watermarkColumn) {
    throw new StrataError('NOT_SUPPORTED', `a window on "${window.column}": windows follow the source's event time, "${definition.watermarkColumn ?? '(none: the source has no watermark column)'}"`, { statement: query })
  }
  let aggregated = group.length > 0 || select['havingClause'] !== undefined
  walkNodes(select['targetList'], (kind, body) => {
    if (kind === 'FuncCall' && (aggregates.has(functionName(body)) || body['agg_star'] === true)) aggregated = true
    if (kind === 'FuncCall' && body['over'] !== undefined) refuse('a window function (OVER)')
  })
  if (window !== undefined && !aggregated) refuse('a window without aggregation (not yet)')
  // A column alias list renames a relation's columns by position: the state of an aggregate or a join
  // is kept by the relation's own column names, which the query then no longer says.
  let renamed = false
  walkNodes(select['fromClause'], (kind, body) => {
    if ((kind === 'RangeVar' || kind === 'RangeFunction' || kind === 'RangeSubselect') && list((body['alias'] as PgNode | undefined)?.['colnames']).length > 0) renamed = true
  })
  if (renamed && (aggregated || join !== undefined)) refuse('a column alias list on a relation in FROM of an aggregate or a join (name the columns with AS inside the subquery)')
  // Windows over an inner interval join in one query: tumble or hop windows on the left side's event
  // time, closed when no row of the join can still fall in them (Streams.closeJoinedWindows).
  const windowedJoin = joined !== undefined && joined.asof === undefined && outerSides === undefined && window !== undefined && window.kind !== 'session' && joined.bounds?.highUs !== undefined && joined.bounds.highUs !== null
  if ((lookups.length > 0 || joined !== undefined) && (window !== undefined || aggregated) && !windowedJoin) {
    refuse(
      joined !== undefined && window !== undefined
        ? "windows over a join other than tumble or hop windows on the left source's event time over an inner interval join with an upper bound on the right side's time (… AND r.ts BETWEEN l.ts - INTERVAL … AND l.ts + INTERVAL …); or write the join as a subquery in FROM and window over it (SELECT … FROM (SELECT … FROM a JOIN b ON …) AS j GROUP BY …)"
        : `a join in an aggregating stream${window === undefined ? ' without a window' : ''} (write the join as a subquery in FROM and aggregate over it: SELECT … FROM (SELECT … FROM a JOIN b ON …) AS j GROUP BY …)`,
    )
  }
  const ownAlias = join === undefined ? String(nodeBody({ Alias: alias }, 'Alias')?.['aliasname'] ?? source) : undefined
  const groupColumns = window === undefined && aggregated ? changesKey(select, group, refuse, ownAlias) : undefined
  let windowKey: StreamPlan['windowKey']
  if (window !== undefined) {
    try {
      const others = group.filter((entry) => {
        const call = nodeBody(entry, 'FuncCall')
        const column = columnRefName(entry)
        return !(call !== undefined && windowFunctions.has(functionName(call))) && column !== 'window_start' && column !== 'window_end'
      })
      windowKey = [...changesKey(select, [...others, columnRef('window_start'), columnRef('window_end')], refuse, ownAlias)]
    } catch (error) {
      windowKey = { refused: error instanceof StrataError ? error.message : String(error) }
    }
  }
  const input: PgNode = { RangeVar: { relname: window === undefined ? streamInputRelation : windowedRelation, inh: true, relpersistence: 'p', ...(alias === undefined ? {} : { alias }) } }
  // A LEFT interval join emits its pairs as an inner join does, and its unmatched left events later (`joined.outer`).
  const fromItem = join === undefined ? input : { JoinExpr: { ...join, ...(outerSides === undefined ? {} : { jointype: 'JOIN_INNER' }), larg: input, rarg: otherSide ?? lookupSide } }
  const rewritten: PgNode = { ...select, fromClause: [fromItem] }
  if (group.length > 0) rewritten['groupClause'] = edited
  const sql = deparseStatement({ SelectStmt: rewritten })
  if (joined !== undefined && outerSides !== undefined) joined = { ...joined, outer: deparseStatement({ SelectStmt: { ...rewritten, fromClause: [{ JoinExpr: { ...join, ...outerSides } }] } }) }
  if (joined !== undefined && rightOuterSides !== undefined) joined = { ...joined, outerRight: deparseStatement({ SelectStmt: { ...rewritten, fromClause: [{ JoinExpr: { ...join, ...rightOuterSides } }] } }) }
  let eventTime: string | undefined
  if (window === undefined && !aggregated && joined === undefined && definition.watermarkColumn !== null) {
    const timeColumn = definition.watermarkColumn
    const carried = list(select['targetList']).some((target) => {
      const body = nodeBody(target, 'ResTarget')
      const fields = list(nodeBody(body?.['val'], 'ColumnRef')?.['fields']).map((field) => nodeBody(field, 'String')?.['sval'])
      const named = fields.at(-1) === timeColumn && (fields.length === 1 || (fields.length === 2 && fields[0] === String(nodeBody({ Alias: alias }, 'Alias')?.['aliasname'] ?? source)))
      return named && (body!['name'] === undefined || body!['name'] === timeColumn)
    })
    if (carried) eventTime = timeColumn
  }
  let eventSide: 'left' | 'right' | undefined
  if (!aggregated && joined !== undefined && timeSides !== undefined) {
    // A join's rows carry a side's event time when the query selects that side's event-time column (under any name), and the
    // join's time bounds say how far behind both watermarks such a time can still come: an interval join's right time needs
    // its lower bound, its left time its upper bound; an ASOF join's rows carry the left time.
    const bounds = joined.bounds
    for (const target of list(select['targetList'])) {
      const body = nodeBody(target, 'ResTarget')
      const column = columnSide(body?.['val'], timeSides.left, timeSides.right)
      if (column === undefined || column.column !== timeSides[column.side].time) continue
      const boundedBy = joined.asof !== undefined ? (column.side === 'left' ? 0n : null) : column.side === 'left' ? (bounds?.highUs ?? null) : (bounds?.lowUs ?? null)
      if (boundedBy === null) continue
      eventTime = String(body!['name'] ?? column.column)
      eventSide = column.side
      break
    }
  }
  const projection = join === undefined && window === undefined && !aggregated ? projectionOf(select, String(nodeBody({ Alias: alias }, 'Alias')?.['aliasname'] ?? source), definition.columns) : undefined
  return {
    source,
    window,
    groupColumns,
    windowKey,
    lookups,
    ...(joined === undefined ? {} : { joined }),
    ...(eventTime === undefined ? {} : { eventTime }),
    ...(eventSide === undefined ? {} : { eventSide }),
    ...(projection === undefined ? {} : { projection }),
    sql: joined?.asof === undefined ? sql : withAsof(sql),
  }
}

/**
 * For a SELECT of one relation (`alias`, with `columns`) whose select list names its columns and
 * nothing else, with no WHERE, DISTINCT, GROUP BY or HAVING: where each result column comes from
 * (`*` and `alias.*` are every column in order). Undefined for any other query.
 */
function projectionOf(select: PgNode, alias: string, columns: readonly string[]): number[] | undefined {
  if (select['whereClause'] !== undefined || select['havingClause'] !== undefined || select['distinctClause'] !== undefined || list(select['groupClause']).length > 0) return undefined
  const projection: number[] = []
  for (const target of list(select['targetList'])) {
    const fields = list(nodeBody(nodeBody(target, 'ResTarget')?.['val'], 'ColumnRef')?.['fields'])
    const qualified = fields.length === 2 && nodeBody(fields[0], 'String')?.['sval'] === alias
    if (fields.length !== 1 && !qualified) return undefined
    const last = fields.at(-1)
    if (nodeKind(last) === 'A_Star') {
      projection.push(...columns.map((_column, index) => index))
      continue
    }
    const at = columns.indexOf(String(nodeBody(last, 'String')?.['sval']))
    if (at < 0) return undefined
    projection.push(at)
  }
  return projection
}

/**
 * A query with an ASOF join, as PostgreSQL's grammar takes it: the `ASOF` before `[LEFT] JOIN` taken
 * out, and Snowflake's `MATCH_CONDITION (cond)` moved into the ON clause (`ON (cond) AND (…)`);
 * undefined when the query has no ASOF join. Read from the scanner's tokens.
 */
function withoutAsof(query: string): { readonly text: string } | undefined {
  const tokens = scanTokens(query)
  if (tokens === undefined) return undefined
  const at = tokens.findIndex((token, index) => isWord(token, 'ASOF') && (isWord(tokens[index + 1], 'JOIN') || isWord(tokens[index + 1], 'LEFT')))
  if (at < 0) return undefined
  if (tokens.slice(at + 1).some((token, index) => isWord(token, 'ASOF') && (isWord(tokens[at + 2 + index], 'JOIN') || isWord(tokens[at + 2 + index], 'LEFT')))) {
    throw new StrataError('NOT_SUPPORTED', "more than one ASOF join in a stream's query", { statement: query })
  }
  const edits: { start: number; end: number; text: string }[] = [{ start: tokens[at]!.start, end: tokens[at]!.end, text: '' }]
  const match = tokens.findIndex((token, index) => index > at && isWord(token, 'MATCH_CONDITION') && tokens[index + 1]?.text === '(')
  if (match >= 0) {
    let depth = 0
    let close = -1
    for (let index = match + 1; index < tokens.length; index++) {
      if (tokens[index]!.text === '(') depth++
      if (tokens[index]!.text === ')' && --depth === 0) {
        close = index
        break
      }
    }
    if (close < 0) throw new StrataError('SYNTAX_ERROR', 'MATCH_CONDITION without its closing parenthesis', { statement: query })
    const condition = query.slice(tokens[match + 1]!.end, tokens[close]!.start)
    edits.push({ start: tokens[match]!.start, end: tokens[close]!.end, text: '' })
    const on = tokens.findIndex((token, index) => index > close && isWord(token, 'ON'))
    if (on >= 0 && !tokens.slice(close + 1, on).some((token) => isWord(token, 'JOIN') || isWord(token, 'WHERE'))) {
      edits.push({ start: tokens[on]!.end, end: tokens[on]!.end, text: ` (${condition}) AND` })
    } else edits.push({ start: tokens[close]!.end, end: tokens[close]!.end, text: ` ON ${condition}` })
  }
  let text = ''
  let copied = 0
  for (const edit of edits.sort((left, right) => left.start - right.start)) {
    text += query.slice(copied, edit.start) + edit.text
    copied = edit.end
  }
  return { text: text + query.slice(copied) }
}

/** DuckDB SQL for a planned ASOF join: `ASOF` put back before the `[LEFT] JOIN` of the other source's relation, found by the scanner's tokens. */
function withAsof(sql: string): string {
  const tokens = scanTokens(sql)!
  const other = tokens.findIndex((token) => token.text === streamOtherRelation)
  let join = other
  while (join > 0 && !isWord(tokens[join], 'JOIN')) join--
  const before = isWord(tokens[join - 1], 'LEFT') ? join - 1 : join
  return `${sql.slice(0, tokens[before]!.start)}ASOF ${sql.slice(tokens[before]!.start)}`
}

/**
 * The one inequality an ASOF join's ON holds between a column of each side, as `left ≥ right` (the
 * latest right row at or before the left one) or `left > right` (strictly before); undefined when there
 * is none, more than one, or it looks the other way.
 */
function asofInequality(quals: unknown, left: { readonly alias: string; readonly columns: readonly string[] }, right: { readonly alias: string; readonly columns: readonly string[] }): { readonly left: string; readonly right: string; readonly strict: boolean } | undefined {
  const found: { left: string; right: string; strict: boolean }[] = []
  let other = false
  for (const conjunct of conjunctsOf(quals)) {
    const expression = nodeBody(conjunct, 'A_Expr')
    const operator = expression === undefined || expression['kind'] !== 'AEXPR_OP' ? undefined : names(expression['name']).join('.')
    if (operator === undefined || !['>=', '>', '<=', '<'].includes(operator)) continue
    const one = columnSide(expression!['lexpr'], left, right)
    const two = columnSide(expression!['rexpr'], left, right)
    if (one === undefined || two === undefined || one.side === two.side) {
      other = true
      continue
    }
    // Normalised to left OP right: swapping the sides turns >= into <=.
    const leftFirst = one.side === 'left'
    const normal = leftFirst ? operator : ({ '>=': '<=', '>': '<', '<=': '>=', '<': '>' } as const)[operator as '>=']
    if (normal === '<=' || normal === '<') {
      other = true
      continue
    }
    found.push({ left: leftFirst ? one.column : two.column, right: leftFirst ? two.column : one.column, strict: normal === '>' })
  }
  return found.length === 1 && !other ? found[0] : undefined
}

/**
 * The equalities between a column of each side in an interval join's ON (ANDed): each batch reads the
 * other source's events with the same values (a NULL never equals anything). A column named without
 * its side's alias belongs to the side that has it, when only one does.
 */
type JoinSide = { readonly alias: string; readonly columns: readonly string[] }

/** Which side's column a ColumnRef names (`alias.column`, or a column only one side has); undefined otherwise. */
function columnSide(node: unknown, left: JoinSide, right: JoinSide): { readonly side: 'left' | 'right'; readonly column: string } | undefined {
  const fields = list(nodeBody(node, 'ColumnRef')?.['fields']).map((field) => nodeBody(field, 'String')?.['sval'])
  if (fields.some((field) => typeof field !== 'string')) return undefined
  if (fields.length === 2) {
    const [qualifier, column] = fields as [string, string]
    if (qualifier === left.alias && left.columns.includes(column)) return { side: 'left', column }
    if (qualifier === right.alias && right.columns.includes(column)) return { side: 'right', column }
    return undefined
  }
  if (fields.length !== 1) return undefined
  const column = fields[0] as string
  const inLeft = left.columns.includes(column)
  const inRight = right.columns.includes(column)
  return inLeft === inRight ? undefined : { side: inLeft ? 'left' : 'right', column }
}

/**
 * A time term of an interval join's ON: an event-time column of one side, plus or minus a constant
 * interval (`b.ts`, `b.ts - INTERVAL '10' SECOND`, `INTERVAL '5' SECOND + b.ts`); undefined for
 * anything else, or an interval with months (no fixed length).
 */
function timeTerm(node: unknown, sides: { readonly left: JoinSide & { readonly time: string }; readonly right: JoinSide & { readonly time: string } }): { readonly side: 'left' | 'right'; readonly offsetUs: bigint } | undefined {
  const plain = columnSide(node, sides.left, sides.right)
  if (plain !== undefined) return plain.column === sides[plain.side].time ? { side: plain.side, offsetUs: 0n } : undefined
  const expression = nodeBody(node, 'A_Expr')
  const operator = expression === undefined || expression['kind'] !== 'AEXPR_OP' ? undefined : names(expression['name']).join('.')
  if (operator !== '+' && operator !== '-') return undefined
  const constant = (value: unknown): bigint | undefined => {
    const seconds = secondsField(value)
    if (seconds !== undefined) return seconds
    const interval = intervalFromNode(value, false)
    if (interval === 'not-constant' || interval === 'unsupported' || interval.value.months !== 0n) return undefined
    return interval.value.days * dayMicros + interval.value.micros
  }
  const column = timeTerm(expression!['lexpr'], sides)
  const offset = constant(expression!['rexpr'])
  if (column !== undefined && offset !== undefined) return { side: column.side, offsetUs: column.offsetUs + (operator === '+' ? offset : -offset) }
  const first = operator === '+' ? constant(expression!['lexpr']) : undefined
  const second = first === undefined ? undefined : timeTerm(expression!['rexpr'], sides)
  return first !== undefined && second !== undefined ? { side: second.side, offsetUs: second.offsetUs + first } : undefined
}

/**
 * The time bounds of an interval join's ON, from its conjuncts comparing the two sources' event-time
 * columns (`r.ts BETWEEN l.ts - INTERVAL … AND l.ts + INTERVAL …`, or `>=`/`<=` pairs, either way
 * round): every pair it joins has `lowUs ≤ right time − left time ≤ highUs` (a bound absent: null).
 * Strict comparisons give the same closed bound: the bounds only limit which events are read and kept.
 */
function timeBounds(quals: unknown, sides: { readonly left: JoinSide & { readonly time: string }; readonly right: JoinSide & { readonly time: string } }): { readonly lowUs: bigint | null; readonly highUs: bigint | null } {
  let lowUs: bigint | null = null
  let highUs: bigint | null = null
  // One comparison `one OP two`, OP among >=, >, <=, <: narrows right − left.
  const compare = (one: unknown, operator: string, two: unknown): void => {
    const first = timeTerm(one, sides)
    const second = timeTerm(two, sides)
    if (first === undefined || second === undefined || first.side === second.side) return
    // As right + a OP left + b: right − left OP b − a (the operator turned round when right is second).
    const [right, left, turned] = first.side === 'right' ? [first, second, operator] : [second, first, ({ '>=': '<=', '>': '<', '<=': '>=', '<': '>' } as Record<string, string>)[operator]!]
    const difference = left.offsetUs - right.offsetUs
    if (turned === '>=' || turned === '>') lowUs = lowUs === null || difference > lowUs ? difference : lowUs
    else highUs = highUs === null || difference < highUs ? difference : highUs
  }
  for (const conjunct of conjunctsOf(quals)) {
    const expression = nodeBody(conjunct, 'A_Expr')
    if (expression === undefined) continue
    if (expression['kind'] === 'AEXPR_BETWEEN') {
      const [from, to] = list(nodeBody(expression['rexpr'], 'List')?.['items'])
      if (from === undefined || to === undefined) continue
      compare(expression['lexpr'], '>=', from)
      compare(expression['lexpr'], '<=', to)
      continue
    }
    const operator = expression['kind'] === 'AEXPR_OP' ? names(expression['name']).join('.') : undefined
    if (operator === '=') {
      compare(expression['lexpr'], '>=', expression['rexpr'])
      compare(expression['lexpr'], '<=', expression['rexpr'])
    } else if (operator !== undefined && ['>=', '>', '<=', '<'].includes(operator)) compare(expression['lexpr'], operator, expression['rexpr'])
  }
  return { lowUs, highUs }
}

/**
 * An outer join's sides for one side's unmatched events: that side (`left`: the input, `alias`;
 * `right`: the other relation) filtered to the events no event of the opposite side matches by the
 * ON clause, joined with an empty opposite side, so that the query NULL-extends each of them exactly
 * as a batch LEFT (FULL) JOIN does.
 */
function unmatchedSides(join: PgNode, leftAlias: string, rightAlias: string, unmatched: 'left' | 'right'): PgNode {
  const [mine, opposite, myAlias, oppositeAlias] =
    unmatched === 'left' ? [streamInputRelation, streamOtherRelation, leftAlias, rightAlias] : [streamOtherRelation, streamInputRelation, rightAlias, leftAlias]
  const kept = `(SELECT * FROM ${mine} AS ${quoteIdentifier(myAlias)} WHERE NOT EXISTS (SELECT 1 FROM ${opposite} AS ${quoteIdentifier(oppositeAlias)} WHERE true)) AS ${quoteIdentifier(myAlias)}`
  const empty = `(SELECT * FROM ${opposite} WHERE false) AS ${quoteIdentifier(oppositeAlias)}`
  const template = parseStatements(unmatched === 'left' ? `SELECT * FROM ${kept} LEFT JOIN ${empty} ON true` : `SELECT * FROM ${empty} RIGHT JOIN ${kept} ON true`)
  const from = nodeBody(list(nodeBody(template[0]!.tree, 'SelectStmt')!['fromClause'])[0], 'JoinExpr')!
  // The ON clause goes into the NOT EXISTS (both sides in scope there).
  const filtered = nodeBody(nodeBody(from[unmatched === 'left' ? 'larg' : 'rarg'], 'RangeSubselect')!['subquery'], 'SelectStmt')!
  const exists = nodeBody(filtered['whereClause'], 'BoolExpr')!
  const inner = nodeBody(nodeBody(list(exists['args'])[0], 'SubLink')!['subselect'], 'SelectStmt')!
  inner['whereClause'] = join['quals']
  return { larg: from['larg'], rarg: from['rarg'] }
}

/** The conditions ANDed in a join's ON. */
function conjunctsOf(node: unknown): unknown[] {
  const bool = nodeBody(node, 'BoolExpr')
  return bool !== undefined && bool['boolop'] === 'AND_EXPR' ? list(bool['args']).flatMap(conjunctsOf) : [node]
}

function joinEqualities(quals: unknown, left: JoinSide, right: JoinSide): { readonly left: string; readonly right: string }[] {
  const keys: { left: string; right: string }[] = []
  for (const conjunct of conjunctsOf(quals)) {
    const expression = nodeBody(conjunct, 'A_Expr')
    if (expression === undefined || expression['kind'] !== 'AEXPR_OP' || names(expression['name']).join('.') !== '=') continue
    const one = columnSide(expression['lexpr'], left, right)
    const two = columnSide(expression['rexpr'], left, right)
    if (one === undefined || two === undefined || one.side === two.side) continue
    keys.push(one.side === 'left' ? { left: one.column, right: two.column } : { left: two.column, right: one.column })
  }
  return keys
}

/**
 * The columns an aggregate's result rows are kept by when it emits changes: each GROUP BY item must
 * be a plain column, selected as itself, so that the row of a group can be found and updated.
 */
function changesKey(select: PgNode, group: readonly unknown[], refuse: (what: string) => never, own?: string): string[] {
  // A column named by the alias of the query's one relation (`c.k`, as Nexmark's subqueries write them) is that column.
  const columnOf = (node: unknown): string | undefined => {
    const named = columnRefName(node)
    if (named !== undefined || own === undefined) return named
    const fields = list(nodeBody(node, 'ColumnRef')?.['fields'])
    return fields.length === 2 && fields.every((field) => nodeKind(field) === 'String') && names(fields)[0] === own ? names(fields)[1] : undefined
  }
  const selected = new Set<string>()
  for (const target of list(select['targetList'])) {
    const body = nodeBody(target, 'ResTarget')
    const column = columnOf(body?.['val'])
    if (column !== undefined && (body!['name'] === undefined || body!['name'] === column)) selected.add(column)
  }
  return group.map((entry) => {
    const column = columnOf(entry)
    if (column === undefined) refuse('GROUP BY of an expression in an aggregate that emits changes (group by columns)')
    if (!selected.has(column!)) refuse(`GROUP BY ${column!} without selecting ${column!} itself, in an aggregate that emits changes`)
    return column!
  })
}

function columnRef(name: string): PgNode {
  return { ColumnRef: { fields: [{ String: { sval: name } }] } }
}

/** Every node under `node` (its kind and body), depth first. */
function walkNodes(node: unknown, visit: (kind: string, body: PgNode) => void): void {
  if (Array.isArray(node)) {
    for (const item of node) walkNodes(item, visit)
    return
  }
  if (typeof node !== 'object' || node === null) return
  for (const [key, value] of Object.entries(node)) {
    if (/^[A-Z]/.test(key) && typeof value === 'object' && value !== null && !Array.isArray(value)) visit(key, value as PgNode)
    walkNodes(value, visit)
  }
}

/**
 * DuckDB SQL for the windowed relation over `input` (whose columns are `columns`): each event once per
 * window that holds it, with `window_start` and `window_end`, keeping only windows that end in
 * (`closedUs`, `limitUs`] (either bound may be absent).
 */
export function windowedRelationSql(window: WindowSpec, columns: readonly string[], input: string, zoned: boolean, closedUs: bigint | null, limitUs: bigint | null): string {
  if (window.kind === 'session') return sessionRelationSql(window, columns, input, zoned, closedUs, limitUs)
  const list = columns.map(quoteIdentifier).join(', ')
  const size = window.sizeUs.toString()
  const slide = window.slideUs.toString()
  const offset = window.offsetUs.toString()
  const event = `epoch_us(${quoteIdentifier(window.column)})`
  // The start of the last window holding the event: its time floored to the slide (after the offset), exactly, before the epoch too.
  const last = `(${event} - ((((${event} - ${offset}) % ${slide}) + ${slide}) % ${slide}))`
  const stamp = (micros: string): string => (zoned ? `CAST(make_timestamp(${micros}) AS TIMESTAMPTZ)` : `make_timestamp(${micros})`)
  const bounds = [closedUs === null ? undefined : `_strata_ws + ${size} > ${closedUs}`, limitUs === null ? undefined : `_strata_ws + ${size} <= ${limitUs}`].filter((bound) => bound !== undefined)
  // The event's windows start at `last` and the size / slide − 1 slides before it (the size is a
  // multiple of the slide): one row per window by a join with that many offsets, faster in DuckDB than
  // a list per event unnested (a hop of 5 windows over 15K events: 4.9 ms against 7.6 ms).
  const windows = window.sizeUs / window.slideUs
  const starts = windows === 1n ? `${last} AS _strata_ws FROM ${input}` : `${last} - _strata_hop._strata_k * ${slide} AS _strata_ws FROM ${input}, range(${windows}) AS _strata_hop(_strata_k)`
  return (
    `SELECT ${list}, ${stamp('_strata_ws')} AS window_start, ${stamp(`_strata_ws + ${size}`)} AS window_end ` +
    `FROM (SELECT ${list}, ${starts}) AS _strata_events` +
    (bounds.length === 0 ? '' : ` WHERE ${bounds.join(' AND ')}`)
  )
}

/**
 * The events a step of a tumble or hop window needs: those of the windows that end in (`closedUs`,
 * `limitUs`] (null: the first step / the flush), as event times [`fromUs`, `toUs`) (null: unbounded),
 * or 'none' when no window ends there, so the step has nothing to evaluate. Windows start at
 * `offset + k × slide`; the first closing window starts at its end minus the size, and no event from
 * the last closing window's end on is in any of them. Reading `closed − size` to `limit` instead
 * read up to a slide more at the start and up to a slide at the end, and evaluated steps that close
 * nothing (a tumble window's events were read about three times at Nexmark's rate).
 *
 * @example closingWindowsRange(tumble of 10 s, 12 s, 19 s) // → 'none' (the next window ends at 20 s)
 * @example closingWindowsRange(tumble of 10 s, 12 s, 25 s) // → { fromUs: 10 s, toUs: 20 s }
 */
export function closingWindowsRange(window: WindowSpec, closedUs: bigint | null, limitUs: bigint | null): { readonly fromUs: bigint | null; readonly toUs: bigint | null } | 'none' {
  const { sizeUs, slideUs, offsetUs } = window
  const floorDivide = (value: bigint, divisor: bigint): bigint => {
    const quotient = value / divisor
    return quotient * divisor > value ? quotient - 1n : quotient
  }
  // The window ends are offset + size + k × slide.
  const firstEnd = closedUs === null ? null : offsetUs + sizeUs + (floorDivide(closedUs - offsetUs - sizeUs, slideUs) + 1n) * slideUs
  const lastEnd = limitUs === null ? null : offsetUs + sizeUs + floorDivide(limitUs - offsetUs - sizeUs, slideUs) * slideUs
  if (firstEnd !== null && lastEnd !== null && firstEnd > lastEnd) return 'none'
  return { fromUs: firstEnd === null ? null : firstEnd - sizeUs, toUs: lastEnd }
}

/** A session window's events, numbered per partition, with each session's first event (µs) and end (its last event + the gap). */
function sessionsSql(window: WindowSpec, columns: readonly string[], input: string): string {
  const list = columns.map(quoteIdentifier).join(', ')
  const gap = window.sizeUs.toString()
  const partition = window.partition.length === 0 ? '' : `PARTITION BY ${window.partition.map(quoteIdentifier).join(', ')} `
  const event = `epoch_us(${quoteIdentifier(window.column)})`
  // An event starts a session when it is the first of its partition or at least `gap` after the one before.
  const ordered = `SELECT ${list}, ${event} AS _strata_e, lag(${event}) OVER (${partition}ORDER BY ${event}) AS _strata_p FROM ${input}`
  const numbered = `SELECT *, sum(CASE WHEN _strata_p IS NULL OR _strata_e - _strata_p >= ${gap} THEN 1 ELSE 0 END) OVER (${partition}ORDER BY _strata_e ROWS UNBOUNDED PRECEDING) AS _strata_s FROM (${ordered}) AS _strata_ordered`
  const sessionPartition = `PARTITION BY ${[...window.partition.map(quoteIdentifier), '_strata_s'].join(', ')}`
  return `SELECT *, min(_strata_e) OVER (${sessionPartition}) AS _strata_ws, max(_strata_e) OVER (${sessionPartition}) + ${gap} AS _strata_we FROM (${numbered}) AS _strata_numbered`
}

/**
 * DuckDB SQL for the windowed relation of a session window: each event with its session's
 * `window_start` (its first event) and `window_end` (its last event + the gap), keeping sessions that
 * end in (`closedUs`, `limitUs`].
 */
function sessionRelationSql(window: WindowSpec, columns: readonly string[], input: string, zoned: boolean, closedUs: bigint | null, limitUs: bigint | null): string {
  const list = columns.map(quoteIdentifier).join(', ')
  const stamp = (micros: string): string => (zoned ? `CAST(make_timestamp(${micros}) AS TIMESTAMPTZ)` : `make_timestamp(${micros})`)
  const bounds = [closedUs === null ? undefined : `_strata_we > ${closedUs}`, limitUs === null ? undefined : `_strata_we <= ${limitUs}`].filter((bound) => bound !== undefined)
  return (
    `SELECT ${list}, ${stamp('_strata_ws')} AS window_start, ${stamp('_strata_we')} AS window_end FROM (${sessionsSql(window, columns, input)}) AS _strata_sessions` +
    (bounds.length === 0 ? '' : ` WHERE ${bounds.join(' AND ')}`)
  )
}

/** The earliest start (µs) of a session over `input` that ends after `limitUs` (still open), as one row `first`. */
export function openSessionsStartSql(window: WindowSpec, columns: readonly string[], input: string, limitUs: bigint): string {
  return `SELECT min(_strata_ws) AS first FROM (${sessionsSql(window, columns, input)}) AS _strata_sessions WHERE _strata_we > ${limitUs}`
}

/**
 * DuckDB SQL merging a session window's open sessions with new events: `held` has the partition
 * columns, `_strata_ws` and `_strata_wl` (a session's first and last event, µs) of each session still
 * open; `fresh` has the source's columns. Each session and each event is an interval; sorted per
 * partition, an interval starts a new session when it begins at least the gap after every interval
 * before it ends — the rule {@link sessionsSql} applies to single events, so the result is the
 * sessions of all their events: partition columns, `_strata_ws`, `_strata_wl`.
 */
export function sessionMergeSql(window: WindowSpec, fresh: string, held: string): string {
  const parts = window.partition.map(quoteIdentifier)
  const event = `epoch_us(${quoteIdentifier(window.column)})`
  const gap = window.sizeUs.toString()
  const list = parts.map((part) => `${part}, `).join('')
  const partition = parts.length === 0 ? '' : `PARTITION BY ${parts.join(', ')} `
  const points = `SELECT ${list}${event} AS _strata_ws, ${event} AS _strata_wl FROM ${fresh} UNION ALL SELECT ${list}_strata_ws, _strata_wl FROM ${held}`
  const ordered = `SELECT *, max(_strata_wl) OVER (${partition}ORDER BY _strata_ws, _strata_wl ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS _strata_before FROM (${points}) AS _strata_points`
  const numbered = `SELECT *, sum(CASE WHEN _strata_before IS NULL OR _strata_ws - _strata_before >= ${gap} THEN 1 ELSE 0 END) OVER (${partition}ORDER BY _strata_ws, _strata_wl ROWS UNBOUNDED PRECEDING) AS _strata_n FROM (${ordered}) AS _strata_ordered`
  return `SELECT ${list}min(_strata_ws) AS _strata_ws, max(_strata_wl) AS _strata_wl FROM (${numbered}) AS _strata_numbered GROUP BY ${[...parts, '_strata_n'].join(', ')}`
}

/**
 * DuckDB SQL keeping the events of `input` that lie in one of the sessions of `sessions` (partition
 * columns, `_strata_ws`, `_strata_wl`): same partition (NULL matching NULL, as PARTITION BY groups
 * them) and a time from the session's first to its last event.
 */
export function sessionEventsSql(window: WindowSpec, input: string, sessions: string): string {
  const event = `epoch_us(_strata_event.${quoteIdentifier(window.column)})`
  const same = window.partition.map((part) => `_strata_session.${quoteIdentifier(part)} IS NOT DISTINCT FROM _strata_event.${quoteIdentifier(part)}`)
  return `SELECT * FROM ${input} AS _strata_event WHERE EXISTS (SELECT 1 FROM ${sessions} AS _strata_session WHERE ${[...same, `${event} BETWEEN _strata_session._strata_ws AND _strata_session._strata_wl`].join(' AND ')})`
}

// ───────────────────────────── sinks ─────────────────────────────

/** Where a sink delivers: a broker subject, topic or exchange, or a directory of Parquet files. */
export type SinkConnector =
  | { readonly kind: 'nats'; readonly subject: string; readonly server: string }
  | { readonly kind: 'mqtt'; readonly topic: string; readonly server: string; readonly qos: 0 | 1 | 2 }
  | { readonly kind: 'rabbitmq'; readonly exchange: string; readonly routingKey: string; readonly queue: string | undefined; readonly server: string }
  | { readonly kind: 'parquet'; readonly path: string }

/** A sink's definition: its connector and the messages' format (Parquet files have none: they are rows). */
export interface SinkDefinition {
  readonly connector: SinkConnector
  readonly format: 'json' | 'debezium' | 'parquet'
  /** Debezium's `schema` part with each message (`schemas = 'true'`: Kafka Connect's schemas.enable), its values in the types it states. */
  readonly schemas?: true
}

/** `CREATE SINK [IF NOT EXISTS] name FROM relation WITH (connector = …, …)`. */
export interface CreateSink {
  readonly name: string
  readonly ifNotExists: boolean
  readonly relation: string
  readonly definition: SinkDefinition
}

/** `DROP SINK [IF EXISTS] name [, …]`. */
export interface DropSink {
  readonly names: readonly string[]
  readonly ifExists: boolean
}

/** Each connector's options, for the message that refuses another. */
const sinkOptions: Readonly<Record<SinkConnector['kind'], readonly string[]>> = {
  nats: ['subject', 'server', 'format', 'schemas'],
  mqtt: ['topic', 'server', 'qos', 'format', 'schemas'],
  rabbitmq: ['exchange', 'queue', 'routing_key', 'server', 'format', 'schemas'],
  parquet: ['path'],
}

/**
 * Recognises CREATE SINK; undefined when the text is not one. The options are RisingWave's spelling:
 * `connector = 'nats', subject = …` / `'mqtt', topic = …, qos = 0|1|2` / `'rabbitmq', exchange = …,
 * queue = …, routing_key = …` (each with `server`, `format = 'json' | 'debezium'` and, for Debezium,
 * `schemas = 'true' | 'false'`), or
 * `connector = 'parquet', path = 'dir'`. A relative path is kept as written; the subsystem resolves it.
 *
 * @example
 * recogniseCreateSink("CREATE SINK out FROM totals WITH (connector = 'nats', subject = 'totals.out', format = 'debezium')")
 * // → { name: 'out', relation: 'totals', definition: { connector: { kind: 'nats', subject: 'totals.out', server: '127.0.0.1:4222' }, format: 'debezium' }, … }
 */
export function recogniseCreateSink(text: string, tokenSource?: TokenSource): CreateSink | undefined {
  const head = createHead(text, tokenSource, 'SINK')
  if (head === undefined) return undefined
  const { reader, tokens, orReplace, ifNotExists, name } = head
  if (orReplace) throw new StrataError('NOT_SUPPORTED', 'CREATE OR REPLACE SINK (drop the sink and create it again)', { statement: text })
  if (isWord(reader.token, 'AS')) throw new StrataError('NOT_SUPPORTED', 'CREATE SINK … AS SELECT (a sink reads a relation: CREATE SINK name FROM stream_or_table WITH (…))', { statement: text })
  reader.expectWord('FROM')
  const relation = reader.relationName('the relation the sink reads')
  const options = new Map<string, string>()
  if (!isWord(reader.token, 'WITH')) reader.fail("WITH (connector = '…', …)")
  reader.expectWord('WITH')
  for (const item of reader.parenthesizedItems('an option')) {
    const option = new Reader(text, tokens.slice(0, item.to), 'CREATE SINK')
    option.at = item.from
    const key = option.name('an option name')
    option.expectSymbol('=')
    if (option.at >= item.to) option.fail('the option value')
    const value = expressionOf(option.slice(option.at, item.to), `the option ${key}`, text)
    if (options.has(key)) throw new StrataError('SYNTAX_ERROR', `CREATE SINK: the option ${key} is given twice`, { statement: text })
    const constant = nodeBody(value, 'A_Const')
    const number = constant === undefined ? undefined : constantValue(constant).value
    options.set(key, typeof number === 'number' || typeof number === 'bigint' ? String(number) : optionText(value, key, text))
  }
  reader.end()
  return { name, ifNotExists, relation, definition: sinkDefinitionOf(options, text) }
}

function sinkDefinitionOf(options: ReadonlyMap<string, string>, statement: string): SinkDefinition {
  const kind = options.get('connector')
  if (kind === undefined) throw new StrataError('SYNTAX_ERROR', "CREATE SINK: connector = 'nats' | 'mqtt' | 'rabbitmq' | 'parquet' is required", { statement })
  if (!(kind in sinkOptions)) throw new StrataError('NOT_SUPPORTED', `CREATE SINK … WITH (connector = '${kind}') (nats, mqtt, rabbitmq and parquet are)`, { statement })
  const known = sinkOptions[kind as SinkConnector['kind']]
  for (const key of options.keys()) {
    if (key !== 'connector' && !known.includes(key)) throw new StrataError('SYNTAX_ERROR', `CREATE SINK: unknown option ${key} for connector = '${kind}' (known: ${known.join(', ')})`, { statement })
  }
  const required = (key: string): string => {
    const value = options.get(key)
    if (value === undefined || value.trim() === '') throw new StrataError('SYNTAX_ERROR', `CREATE SINK … WITH (connector = '${kind}'): ${key} = '…' is required`, { statement })
    return value
  }
  const format = options.get('format') ?? 'json'
  if (kind !== 'parquet' && format !== 'json' && format !== 'debezium') throw new StrataError('NOT_SUPPORTED', `CREATE SINK … WITH (format = '${format}') (json and debezium are)`, { statement })
  const brokerFormat = format as 'json' | 'debezium'
  const schemas = options.get('schemas') ?? 'false'
  if (schemas !== 'true' && schemas !== 'false') throw new StrataError('INVALID_PARAMETER', `CREATE SINK: schemas must be 'true' or 'false', not '${schemas}'`, { statement })
  if (schemas === 'true' && format !== 'debezium') throw new StrataError('SYNTAX_ERROR', "CREATE SINK: schemas = 'true' goes with format = 'debezium' (Debezium's schema part)", { statement })
  const schemaPart = schemas === 'true' ? { schemas: true as const } : {}
  switch (kind) {
    case 'nats':
      return { connector: { kind, subject: required('subject'), server: options.get('server') ?? '127.0.0.1:4222' }, format: brokerFormat, ...schemaPart }
    case 'mqtt': {
      const qos = options.get('qos') ?? '1'
      if (qos !== '0' && qos !== '1' && qos !== '2') throw new StrataError('INVALID_PARAMETER', `CREATE SINK: qos must be 0, 1 or 2, not ${qos}`, { statement })
      return { connector: { kind, topic: required('topic'), server: options.get('server') ?? '127.0.0.1:1883', qos: Number(qos) as 0 | 1 | 2 }, format: brokerFormat, ...schemaPart }
    }
    case 'rabbitmq': {
      const exchange = options.get('exchange') ?? ''
      const queue = options.get('queue')
      const routingKey = options.get('routing_key') ?? queue ?? ''
      // The default exchange routes by queue name: without an exchange, a queue (or a routing key) says where messages go.
      if (exchange === '' && routingKey === '') throw new StrataError('SYNTAX_ERROR', "CREATE SINK … WITH (connector = 'rabbitmq'): exchange = '…' or queue = '…' is required", { statement })
      return { connector: { kind, exchange, routingKey, queue, server: options.get('server') ?? '127.0.0.1:5672' }, format: brokerFormat, ...schemaPart }
    }
    default:
      return { connector: { kind: 'parquet', path: required('path') }, format: 'parquet' }
  }
}

/** Recognises DROP SINK; undefined when the text is not one. */
export function recogniseDropSink(text: string, tokenSource?: TokenSource): DropSink | undefined {
  const head = dropHead(text, tokenSource, 'SINK')
  if (head === undefined) return undefined
  head.reader.end()
  return { names: head.names, ifExists: head.ifExists }
}

/** Recognises SHOW SINKS. */
export function recogniseShowSinks(text: string, tokenSource?: TokenSource): boolean {
  return isShow(text, tokenSource, 'SINKS')
}
