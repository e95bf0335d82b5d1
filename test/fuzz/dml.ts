/**
 * The write part of the fuzzer: random INSERT (plain, ON CONFLICT DO NOTHING / DO UPDATE), UPDATE
 * (literals, and integer arithmetic that may overflow) and DELETE, autocommit or in BEGIN …
 * COMMIT/ROLLBACK, against an in-memory model of the table (TigerBeetle's way: compare after every
 * operation). After each statement the state on both stores must equal the model's (inside a
 * transaction too: reads see its writes), each statement must succeed or fail as the model says; at
 * the end `FOR SYSTEM_TIME AS OF` a sample of past transactions (by id and by system time) must give
 * the model's snapshot after that commit. A failure is reduced to fewer steps by replaying.
 */
import { open, type Database } from '../../src/index.js'
import { evaluate, render, type Column, type ComparisonOperator, type Expr } from './expressions.js'
import type { Mismatch } from './queries.js'
import type { Random } from './random.js'
import { answer, describeAnswer, modelAnswer, rowKey } from './tables.js'
import { canonical, expectedJs, integerRanges, isInteger, literalSql, parameterValue, randomValue, typeSql, type FuzzType, type Value, type ValueOptions } from './values.js'

interface Schema {
  readonly columns: readonly Column[]
  readonly primaryKey: readonly string[] | null
}

type Statement =
  | { readonly k: 'insert'; readonly rows: readonly (readonly Value[])[]; readonly conflict: 'error' | 'nothing' | 'update'; readonly updateColumn?: string; readonly parameters: boolean }
  | { readonly k: 'update'; readonly sets: readonly ({ readonly column: string; readonly value: Value } | { readonly column: string; readonly add: { readonly op: '+' | '-' | '*'; readonly by: bigint } })[]; readonly where: Expr | undefined }
  | { readonly k: 'delete'; readonly where: Expr | undefined }

type Step = { readonly k: 'autocommit'; readonly statement: Statement } | { readonly k: 'transaction'; readonly statements: readonly Statement[]; readonly end: 'COMMIT' | 'ROLLBACK' }

type Rows = readonly (readonly Value[])[]

/** What the model says a statement does: the new rows and its row count, or the error codes it may fail with. */
type Expected = { readonly ok: true; readonly rows: Rows; readonly rowCount: number | undefined } | { readonly ok: false; readonly codes: readonly string[] }

export interface DmlCounters {
  steps: number
  statements: number
  stateChecks: number
  historyChecks: number
}

const schemaTable = 'm'

function createSql(schema: Schema): string {
  const columns = schema.columns.map((column) => `${column.name} ${typeSql(column.type)}${column.notNull && schema.primaryKey?.includes(column.name) !== true ? ' NOT NULL' : ''}`)
  if (schema.primaryKey !== null) columns.push(`PRIMARY KEY (${schema.primaryKey.join(', ')})`)
  return `CREATE TABLE ${schemaTable} (${columns.join(', ')})`
}

function randomSchema(random: Random): Schema {
  const keyShape = random.weighted<'single' | 'composite' | 'none'>([[5, 'single'], [2, 'composite'], [2, 'none']])
  const columns: Column[] = []
  if (keyShape === 'single') columns.push({ name: 'id', type: { kind: 'INTEGER' }, notNull: true })
  if (keyShape === 'composite') columns.push({ name: 'id', type: { kind: 'INTEGER' }, notNull: true }, { name: 'tag', type: { kind: 'TEXT' }, notNull: true })
  if (keyShape === 'none') columns.push({ name: 'id', type: { kind: 'INTEGER' }, notNull: false })
  columns.push({ name: 'n', type: { kind: random.pick(['SMALLINT', 'INTEGER', 'BIGINT'] as const) }, notNull: random.chance(0.3) })
  const valueTypes: FuzzType[] = [{ kind: 'TEXT' }, { kind: 'DOUBLE' }, { kind: 'BOOLEAN' }, { kind: 'DATE' }, { kind: 'TIMESTAMP' }, { kind: 'TIMESTAMPTZ' }, { kind: 'BLOB' }, { kind: 'JSON' }, { kind: 'DECIMAL', precision: 12, scale: 2 }, { kind: 'SMALLINT' }, { kind: 'BIGINT' }]
  for (let index = 0; index < random.int(1, 3); index++) columns.push({ name: `v${index}`, type: random.pick(valueTypes), notNull: random.chance(0.2) })
  return { columns, primaryKey: keyShape === 'single' ? ['id'] : keyShape === 'composite' ? ['id', 'tag'] : null }
}

// ───────────────────────────── the model ─────────────────────────────

function keyOf(schema: Schema, row: readonly Value[]): string | undefined {
  if (schema.primaryKey === null) return undefined
  return schema.primaryKey.map((name) => canonical(expectedJs(row[schema.columns.findIndex((column) => column.name === name)]!))).join('|')
}

function rowMap(schema: Schema, row: readonly Value[]): Map<string, Value> {
  return new Map(schema.columns.map((column, index) => [column.name, row[index]!]))
}

function notNullViolated(schema: Schema, row: readonly Value[]): boolean {
  return schema.columns.some((column, index) => column.notNull && row[index] === null)
}

function expect(schema: Schema, rows: Rows, statement: Statement): Expected {
  switch (statement.k) {
    case 'insert': {
      const next = rows.map((row) => [...row])
      let count = 0
      for (const row of statement.rows) {
        if (notNullViolated(schema, row)) return { ok: false, codes: ['CONSTRAINT_VIOLATION'] }
        const key = keyOf(schema, row)
        const existing = key === undefined ? -1 : next.findIndex((other) => keyOf(schema, other) === key)
        if (existing < 0) {
          next.push([...row])
          count++
        } else if (statement.conflict === 'error') return { ok: false, codes: ['CONSTRAINT_VIOLATION'] }
        else if (statement.conflict === 'update') {
          const index = schema.columns.findIndex((column) => column.name === statement.updateColumn)
          next[existing]![index] = row[index]!
          count++
        }
      }
      return { ok: true, rows: next, rowCount: statement.conflict === 'error' ? count : undefined }
    }
    case 'update': {
      const next: Value[][] = []
      let count = 0
      const codes = new Set<string>()
      for (const row of rows) {
        if (statement.where !== undefined && evaluate(statement.where, rowMap(schema, row)) !== true) {
          next.push([...row])
          continue
        }
        count++
        const changed = [...row]
        for (const set of statement.sets) {
          const index = schema.columns.findIndex((column) => column.name === set.column)
          const column = schema.columns[index]!
          if ('value' in set) changed[index] = set.value
          else {
            const old = row[index]!
            if (old === null || old.t !== 'int') continue
            const result = set.add.op === '+' ? old.v + set.add.by : set.add.op === '-' ? old.v - set.add.by : old.v * set.add.by
            const [low, high] = integerRanges[column.type.kind as 'SMALLINT']
            if (result < low || result > high) codes.add('TYPE_MISMATCH')
            changed[index] = { t: 'int', v: result }
          }
        }
        if (notNullViolated(schema, changed)) codes.add('CONSTRAINT_VIOLATION')
        next.push(changed)
      }
      if (codes.size > 0) return { ok: false, codes: [...codes] }
      return { ok: true, rows: next, rowCount: count }
    }
    case 'delete': {
      const next = rows.filter((row) => statement.where !== undefined && evaluate(statement.where, rowMap(schema, row)) !== true)
      return { ok: true, rows: next, rowCount: rows.length - next.length }
    }
  }
}

// ───────────────────────────── generation ─────────────────────────────

/** What the write generator draws from. */
interface Generation {
  readonly random: Random
  readonly schema: Schema
  readonly values: ValueOptions
  /** NULL in a primary-key column now and then (refused by both stores: issue 9's fix). */
  readonly nullKeys: boolean
}

function valueOf({ random, values }: Generation, column: Column, nullChance: number): Value {
  if (random.chance(nullChance)) return null
  return randomValue(random, column.type, values)
}

function randomRow(generation: Generation, rows: Rows, options: { readonly existingKey: boolean; readonly breakNotNull: boolean }): Value[] {
  const { random, schema, nullKeys } = generation
  const row = schema.columns.map((column) => valueOf(generation, column, column.notNull ? 0 : 0.15))
  const idIndex = 0
  if (options.existingKey && rows.length > 0) {
    const other = random.pick(rows)
    for (const name of schema.primaryKey ?? []) {
      const index = schema.columns.findIndex((column) => column.name === name)
      row[index] = other[index]!
    }
  } else if (schema.primaryKey !== null || random.chance(0.7)) {
    row[idIndex] = { t: 'int', v: BigInt(random.int(1, 60)) }
  }
  if (schema.primaryKey?.includes('tag') === true && !options.existingKey) row[1] = { t: 'text', v: random.pick(['a', 'b', 'é', '']) }
  if (options.breakNotNull) {
    const nullable = schema.columns.filter((column) => column.notNull && (nullKeys || schema.primaryKey?.includes(column.name) !== true))
    if (nullable.length > 0) row[schema.columns.indexOf(random.pick(nullable))] = null
  }
  return row
}

/** A condition the model can evaluate exactly: on the id, NULL tests, equalities, AND/OR/NOT. */
function condition(generation: Generation, rows: Rows, depth: number): Expr {
  const { random, schema } = generation
  const idColumn = schema.columns[0]!
  const literal = (column: Column, value: Value): Expr => ({ k: 'literal', value, type: column.type, parameter: random.chance(0.2) && value !== null })
  const existingId = (): Value => {
    const existing = rows.length > 0 && random.chance(0.8) ? random.pick(rows)[0] : undefined
    return existing ?? { t: 'int', v: BigInt(random.int(1, 60)) }
  }
  const op = (): ComparisonOperator => random.weighted<ComparisonOperator>([[5, '='], [1, '<>'], [1, '<'], [1, '>='], [1, '>']])
  const choices: [number, () => Expr][] = [
    [6, () => ({ k: 'compare', op: op(), left: { k: 'column', column: idColumn }, right: literal(idColumn, existingId()) })],
    [2, () => ({ k: 'in', arg: { k: 'column', column: idColumn }, items: [literal(idColumn, existingId()), literal(idColumn, existingId())], negated: random.chance(0.2) })],
    [2, () => ({ k: 'between', arg: { k: 'column', column: idColumn }, low: literal(idColumn, { t: 'int', v: BigInt(random.int(1, 30)) }), high: literal(idColumn, { t: 'int', v: BigInt(random.int(20, 60)) }), negated: false })],
    [2, () => {
      const column = random.pick(schema.columns)
      return { k: 'isnull', arg: { k: 'column', column }, negated: random.chance(0.5) }
    }],
    [2, () => {
      const candidates = schema.columns.filter((column) => column.type.kind !== 'JSON' && column.type.kind !== 'DOUBLE')
      const column = random.pick(candidates)
      const index = schema.columns.indexOf(column)
      const picked = rows.length > 0 && random.chance(0.7) ? random.pick(rows)[index]! : valueOf(generation, column, 0.1)
      // A stored value is the one the column holds: a decimal written with more digits than its scale
      // was rounded, and compares as the rounded number (its `written` text would not be equal).
      const value = picked !== null && picked.t === 'decimal' && picked.written !== undefined ? { t: 'decimal' as const, v: picked.v, scale: picked.scale } : picked
      return { k: 'compare', op: '=', left: { k: 'column', column }, right: literal(column, value) }
    }],
    // Arithmetic in a condition: the column store evaluates it, the row store applies it by key.
    [1, () => ({ k: 'compare', op: '=', left: { k: 'arith', op: '+', left: { k: 'column', column: idColumn }, right: { k: 'literal', value: { t: 'int', v: 1n }, type: idColumn.type, parameter: false } }, right: literal(idColumn, existingId()) })],
  ]
  if (depth > 0) {
    choices.push(
      [2, () => ({ k: random.chance(0.5) ? 'and' : 'or', left: condition(generation, rows, depth - 1), right: condition(generation, rows, depth - 1) })],
      [1, () => ({ k: 'not', arg: condition(generation, rows, depth - 1) })],
    )
  }
  return random.weighted(choices)()
}

function randomStatement(generation: Generation, rows: Rows): Statement {
  const { random, schema, nullKeys } = generation
  const kind = random.weighted<'insert' | 'update' | 'delete'>([[5, 'insert'], [4, 'update'], [2, 'delete']])
  if (kind === 'insert') {
    const conflict = schema.primaryKey === null ? 'error' : random.weighted<'error' | 'nothing' | 'update'>([[6, 'error'], [2, 'nothing'], [2, 'update']])
    const count = random.weighted([[6, 1], [3, 2], [1, 3]])
    const inserted: Value[][] = []
    for (let index = 0; index < count; index++) {
      const row = randomRow(generation, rows, { existingKey: random.chance(0.2), breakNotNull: random.chance(nullKeys ? 0.08 : 0.04) })
      // ON CONFLICT DO UPDATE may not touch one row twice (PostgreSQL and DuckDB refuse it): distinct keys.
      if (conflict === 'update' && inserted.some((other) => keyOf(schema, other) === keyOf(schema, row))) continue
      inserted.push(row)
    }
    const updatable = schema.columns.filter((column) => schema.primaryKey?.includes(column.name) !== true)
    return { k: 'insert', rows: inserted, conflict, updateColumn: random.pick(updatable).name, parameters: random.chance(0.3) }
  }
  const where = random.chance(0.9) ? condition(generation, rows, random.int(0, 2)) : undefined
  if (kind === 'delete') return { k: 'delete', where }
  const targets = random.shuffle(schema.columns.filter((column) => schema.primaryKey?.includes(column.name) !== true && column.name !== 'id')).slice(0, random.int(1, 2))
  const sets = targets.map((column) => {
    if (isInteger(column.type) && random.chance(0.6)) {
      const [low, high] = integerRanges[column.type.kind as 'SMALLINT']
      const by = random.weighted<bigint>([[5, BigInt(random.int(-3, 3))], [1, high], [1, low + 1n], [1, 2n], [1, -1n]])
      return { column: column.name, add: { op: random.pick(['+', '-', '*'] as const), by } }
    }
    return { column: column.name, value: valueOf(generation, column, column.notNull ? 0.03 : 0.15) }
  })
  return { k: 'update', sets, where }
}

function randomStep(generation: Generation, rows: Rows): Step {
  const { random, schema } = generation
  if (random.chance(0.75)) return { k: 'autocommit', statement: randomStatement(generation, rows) }
  const statements: Statement[] = []
  let current = rows
  for (let index = 0; index < random.int(1, 4); index++) {
    const statement = randomStatement(generation, current)
    statements.push(statement)
    const expected = expect(schema, current, statement)
    if (expected.ok) current = expected.rows
  }
  return { k: 'transaction', statements, end: random.chance(0.7) ? 'COMMIT' : 'ROLLBACK' }
}

// ───────────────────────────── SQL ─────────────────────────────

function statementSql(schema: Schema, statement: Statement): { sql: string; params: unknown[] } {
  const params: unknown[] = []
  switch (statement.k) {
    case 'insert': {
      const values = statement.rows.map((row) => `(${row.map((value, index) => {
        if (!statement.parameters) return literalSql(value, schema.columns[index]!.type)
        params.push(parameterValue(value))
        return `$${params.length}`
      }).join(', ')})`)
      let sql = `INSERT INTO ${schemaTable} VALUES ${values.join(', ')}`
      if (statement.conflict === 'nothing') sql += ' ON CONFLICT DO NOTHING'
      if (statement.conflict === 'update') sql += ` ON CONFLICT (${schema.primaryKey!.join(', ')}) DO UPDATE SET ${statement.updateColumn} = excluded.${statement.updateColumn}`
      return { sql, params }
    }
    case 'update': {
      const sets = statement.sets.map((set) => {
        const column = schema.columns.find((candidate) => candidate.name === set.column)!
        if ('value' in set) return `${set.column} = ${literalSql(set.value, column.type)}`
        return `${set.column} = ${set.column} ${set.add.op} ${set.add.by < 0n ? `(${set.add.by})` : set.add.by}`
      })
      const where = statement.where === undefined ? '' : ` WHERE ${render(statement.where, params)}`
      return { sql: `UPDATE ${schemaTable} SET ${sets.join(', ')}${where}`, params }
    }
    case 'delete':
      return { sql: `DELETE FROM ${schemaTable}${statement.where === undefined ? '' : ` WHERE ${render(statement.where, params)}`}`, params }
  }
}

function withParams(sql: string, params: readonly unknown[]): string {
  return params.length === 0 ? sql : `${sql}  -- parameters: ${JSON.stringify(params, (_key, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value instanceof Uint8Array ? `bytes[${[...value].join(',')}]` : value))}`
}

// ───────────────────────────── running ─────────────────────────────

interface Failure {
  readonly kind: 'dml' | 'history' | 'crash'
  readonly summary: string
  /** The statements run, in order, and the check that failed. */
  readonly log: readonly string[]
}

async function run(db: Database, sql: string, params: readonly unknown[]): Promise<{ ok: true; rowCount: number; txId: number | undefined } | { ok: false; code: string; message: string }> {
  try {
    const result = await db.query(sql, params as unknown[])
    return { ok: true, rowCount: result.rowCount, txId: result.txId }
  } catch (error) {
    const code = typeof (error as { code?: unknown }).code === 'string' ? String((error as { code: string }).code) : `CRASH(${error instanceof Error ? error.name : typeof error})`
    return { ok: false, code, message: error instanceof Error ? error.message : String(error) }
  }
}

/**
 * Replays `steps` on a fresh database, checking after each statement; the first failure, or
 * undefined. `counters` counts what was checked.
 */
async function replay(schema: Schema, steps: readonly Step[], random: Random | undefined, counters: DmlCounters): Promise<Failure | undefined> {
  await using db = await open()
  const log: string[] = [`${createSql(schema)};`]
  await db.query(createSql(schema))
  let rows: Rows = []
  const snapshots: { txId: number; rows: Rows }[] = [{ txId: 1, rows: [] }]
  const fail = (kind: Failure['kind'], summary: string, detail: readonly string[] = []): Failure => ({ kind, summary, log: [...log, ...detail.map((line) => `-- ${line}`)] })

  const checkState = async (where: string): Promise<Failure | undefined> => {
    const expected = modelAnswer(rows)
    for (const engine of ['row', 'column'] as const) {
      counters.stateChecks++
      const result = await answer(db, `SELECT * FROM ${schemaTable}`, [], engine)
      const actual = result.ok ? result.rows.map(rowKey).sort() : undefined
      if (actual === undefined || actual.join('\n') !== expected.join('\n')) {
        return fail('dml', `state after ${where} differs from the model on the ${engine} store`, [`SELECT * FROM ${schemaTable}; -- ${engine} store: ${describeAnswer(result).replaceAll('\n', '\n--')}`, `model: ${expected.length} row(s)`, ...expected.map((line) => `    (${line})`)])
      }
    }
    return undefined
  }

  const runStatement = async (statement: Statement): Promise<Failure | undefined> => {
    counters.statements++
    const { sql, params } = statementSql(schema, statement)
    const expected = expect(schema, rows, statement)
    const outcome = await run(db, sql, params)
    log.push(`${withParams(`${sql};`, params)}${outcome.ok ? `  -- ok, ${outcome.rowCount} row(s)` : `  -- ${outcome.code}`}`)
    if (!outcome.ok && outcome.code.startsWith('CRASH')) return fail('crash', `an internal error: ${outcome.message}`)
    if (outcome.ok !== expected.ok) {
      return fail('dml', `the statement ${outcome.ok ? 'succeeded' : `failed (${outcome.code}: ${outcome.message.split('\n')[0]})`}; the model says it ${expected.ok ? 'succeeds' : `fails with ${expected.codes.join(' or ')}`}`)
    }
    if (!outcome.ok && !expected.ok && !expected.codes.includes(outcome.code)) return fail('dml', `the statement failed with ${outcome.code}; the model says ${expected.codes.join(' or ')} (${outcome.message.split('\n')[0]})`)
    if (outcome.ok && expected.ok) {
      if (expected.rowCount !== undefined && outcome.rowCount !== expected.rowCount) return fail('dml', `the statement changed ${outcome.rowCount} row(s); the model says ${expected.rowCount}`)
      rows = expected.rows
      return undefined
    }
    return undefined
  }

  for (const [index, step] of steps.entries()) {
    counters.steps++
    if (step.k === 'autocommit') {
      const before = rows
      const failure = await runStatement(step.statement)
      if (failure !== undefined) return failure
      const txId = await lastTxId(db)
      if (rows !== before && txId !== undefined && txId !== snapshots[snapshots.length - 1]!.txId) snapshots.push({ txId, rows })
      const stateFailure = await checkState(`step ${index}`)
      if (stateFailure !== undefined) return stateFailure
      continue
    }
    const atBegin = rows
    const begin = await run(db, 'BEGIN', [])
    log.push('BEGIN;')
    if (!begin.ok) return fail('dml', `BEGIN failed: ${begin.code}`)
    for (const statement of step.statements) {
      const failure = await runStatement(statement)
      if (failure !== undefined) return failure
      const stateFailure = await checkState(`a statement inside the transaction of step ${index}`)
      if (stateFailure !== undefined) return stateFailure
    }
    const end = await run(db, step.end, [])
    log.push(`${step.end};`)
    if (!end.ok) return fail('dml', `${step.end} failed: ${end.code} ${end.message}`)
    if (step.end === 'ROLLBACK') rows = atBegin
    else if (rows !== atBegin && end.txId !== undefined) snapshots.push({ txId: end.txId, rows })
    const stateFailure = await checkState(`the ${step.end} of step ${index}`)
    if (stateFailure !== undefined) return stateFailure
  }

  // History: the state after a sample of past commits, by transaction id and by system time.
  const sample = random === undefined ? snapshots : random.shuffle(snapshots).slice(0, 8)
  const systemTimes = await transactionTimes(db)
  for (const snapshot of sample) {
    const expected = modelAnswer(snapshot.rows)
    const at = systemTimes.get(snapshot.txId)
    for (const [sql, params] of [[`SELECT * FROM ${schemaTable} FOR SYSTEM_TIME AS OF ${snapshot.txId}`, []], ...(at === undefined ? [] : [[`SELECT * FROM ${schemaTable} FOR SYSTEM_TIME AS OF $1`, [at]]])] as [string, unknown[]][]) {
      for (const engine of ['row', 'column'] as const) {
        counters.historyChecks++
        const result = await answer(db, sql, params, engine)
        const actual = result.ok ? result.rows.map(rowKey).sort() : undefined
        if (actual === undefined || actual.join('\n') !== expected.join('\n')) {
          return fail('history', `FOR SYSTEM_TIME AS OF transaction ${snapshot.txId} differs from the model's snapshot on the ${engine} store`, [withParams(`${sql}; -- ${engine} store: ${describeAnswer(result).replaceAll('\n', '\n--')}`, params), `model: ${expected.length} row(s)`, ...expected.map((line) => `    (${line})`)])
        }
      }
    }
  }
  return undefined
}

async function lastTxId(db: Database): Promise<number | undefined> {
  const result = await db.query('SELECT max(tx_id) AS tx FROM strata.transactions')
  const value = result.rows[0]?.['tx']
  return typeof value === 'number' ? value : undefined
}

async function transactionTimes(db: Database): Promise<Map<number, unknown>> {
  const result = await db.query('SELECT tx_id, system_time FROM strata.transactions')
  return new Map(result.rows.map((row) => [Number(row['tx_id']), row['system_time']]))
}

/**
 * Runs `stepCount` random steps from `random` on a fresh database; a failure is replayed on fewer
 * steps (halves, quarters, … single steps removed while the same kind of failure remains).
 */
export async function runDml(random: Random, stepCount: number, counters: DmlCounters, options: { readonly values: ValueOptions; readonly excluded: ReadonlySet<string> }): Promise<Mismatch | undefined> {
  const schema = randomSchema(random)
  // The model's DECIMAL(12,2) columns hold 12 digits at most.
  const generation: Generation = {
    random,
    schema,
    values: { ...options.values, decimalDigitsMax: Math.min(12, options.values.decimalDigitsMax) },
    nullKeys: true,
  }
  const steps: Step[] = []
  let rows: Rows = []
  for (let index = 0; index < stepCount; index++) {
    const step = randomStep(generation, rows)
    steps.push(step)
    // Generation follows the model's state, so keys and values hit existing rows.
    for (const statement of step.k === 'autocommit' ? [step.statement] : step.end === 'COMMIT' ? step.statements : []) {
      const expected = expect(schema, rows, statement)
      if (expected.ok) rows = expected.rows
    }
  }
  const failure = await replay(schema, steps, random, counters)
  if (failure === undefined) return undefined
  let best = { steps, failure }
  const quiet: DmlCounters = { steps: 0, statements: 0, stateChecks: 0, historyChecks: 0 }
  let attempts = 0
  for (let chunk = Math.max(1, Math.floor(steps.length / 2)); chunk >= 1 && attempts < 120; chunk = chunk === 1 ? 0 : Math.max(1, Math.floor(chunk / 2))) {
    for (let start = 0; start < best.steps.length && attempts < 120; ) {
      attempts++
      const candidate = [...best.steps.slice(0, start), ...best.steps.slice(start + chunk)]
      const again = await replay(schema, candidate, undefined, quiet)
      if (again !== undefined && again.kind === best.failure.kind && again.summary.split(' ').slice(0, 4).join(' ') === best.failure.summary.split(' ').slice(0, 4).join(' ')) best = { steps: candidate, failure: again }
      else start += chunk
    }
  }
  return { kind: best.failure.kind, summary: best.failure.summary, reproduction: best.failure.log.join('\n') }
}
