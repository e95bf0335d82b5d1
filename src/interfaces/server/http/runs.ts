/**
 * The statement runs the HTTP API has seen (GET /query-runs): one per POST /query, newest first, kept
 * in memory up to `limits.queryRunsKeptMax` (the oldest are forgotten; a restart forgets all).
 */
import { randomBytes } from 'node:crypto'
import { limits } from '../../../util/limits.js'

export type QueryRunStatus = 'running' | 'succeeded' | 'failed' | 'cancelled'

export interface QueryRun {
  readonly id: string
  readonly sql: string
  status: QueryRunStatus
  readonly startedAt: Date
  finishedAt: Date | undefined
  durationMs: number | undefined
  /** The store that answered the last statement: row, column or catalog. */
  engine: string | undefined
  rowCount: number | undefined
  resultId: string | undefined
  error: { readonly code: string; readonly message: string } | undefined
}

/**
 * A time-ordered identifier: a prefix, 10 characters of milliseconds since 1970 and 16 random ones, in
 * Crockford's base32 (lower case), so ids sort by creation and are safe as SQL identifiers unquoted.
 *
 * @example
 * newId('rslt') // 'rslt_01hx3v6k2q9m4t8c0d5e7f1g2h'
 */
export function newId(prefix: string): string {
  const alphabet = '0123456789abcdefghjkmnpqrstvwxyz'
  let time = Date.now()
  let timePart = ''
  for (let index = 0; index < 10; index++) {
    timePart = alphabet[time % 32]! + timePart
    time = Math.floor(time / 32)
  }
  if (randomOffset + 16 > randomPool.length) {
    randomPool = randomBytes(4096)
    randomOffset = 0
  }
  let randomPart = ''
  for (let index = 0; index < 16; index++) randomPart += alphabet[randomPool[randomOffset++]! % 32]!
  return `${prefix}_${timePart}${randomPart}`
}

/** Random bytes drawn 4 kB at a time: one call per id would cost more than the rest of the id. */
let randomPool = randomBytes(4096)
let randomOffset = 0

/** Whether `text` has the shape of an id made by newId with this prefix (so it is safe in SQL and paths). */
export function isId(prefix: string, text: string): boolean {
  return text.length === prefix.length + 27 && text.startsWith(`${prefix}_`) && /^[0-9a-z]+$/.test(text.slice(prefix.length + 1))
}

export class QueryRunLog {
  /** Oldest first; trimmed from the front. */
  private readonly runs: QueryRun[] = []
  private readonly byId = new Map<string, QueryRun>()

  start(sql: string): QueryRun {
    const run: QueryRun = {
      id: newId('qrun'),
      sql: sql.length > limits.queryRunSqlCharsMax ? `${sql.slice(0, limits.queryRunSqlCharsMax)}…` : sql,
      status: 'running',
      startedAt: new Date(),
      finishedAt: undefined,
      durationMs: undefined,
      engine: undefined,
      rowCount: undefined,
      resultId: undefined,
      error: undefined,
    }
    this.runs.push(run)
    this.byId.set(run.id, run)
    while (this.runs.length > limits.queryRunsKeptMax) this.byId.delete(this.runs.shift()!.id)
    return run
  }

  finish(run: QueryRun, outcome: { status: Exclude<QueryRunStatus, 'running'>; durationMs: number; engine?: string; rowCount?: number; resultId?: string; error?: { code: string; message: string } }): void {
    run.status = outcome.status
    run.finishedAt = new Date()
    run.durationMs = outcome.durationMs
    run.engine = outcome.engine
    run.rowCount = outcome.rowCount
    run.resultId = outcome.resultId
    run.error = outcome.error
  }

  get(id: string): QueryRun | undefined {
    return this.byId.get(id)
  }

  /**
   * A page of runs, newest first, starting after `cursor` (the last id of the previous page).
   *
   * @example
   * const { runs, nextCursor } = log.page({ limit: 100 })
   */
  page(options: { readonly limit: number; readonly cursor?: string | undefined }): { runs: QueryRun[]; hasMore: boolean; nextCursor: string | undefined } {
    let end = this.runs.length
    if (options.cursor !== undefined) {
      const cursorRun = this.byId.get(options.cursor)
      // A cursor that has been forgotten (or never existed) leaves nothing older to show.
      end = cursorRun === undefined ? 0 : this.runs.lastIndexOf(cursorRun)
    }
    const start = Math.max(0, end - options.limit)
    const runs = this.runs.slice(start, end).reverse()
    const hasMore = start > 0
    return { runs, hasMore, nextCursor: hasMore ? runs.at(-1)?.id : undefined }
  }
}

/** A run as GET /query-runs shows it (snake_case, like the rest of the API). */
export function queryRunJson(run: QueryRun): Record<string, unknown> {
  return {
    id: run.id,
    sql: run.sql,
    status: run.status,
    started_at: run.startedAt.toISOString(),
    finished_at: run.finishedAt?.toISOString() ?? null,
    duration_ms: run.durationMs === undefined ? null : Math.round(run.durationMs * 1000) / 1000,
    engine: run.engine ?? null,
    row_count: run.rowCount ?? null,
    result_id: run.resultId ?? null,
    error: run.error ?? null,
  }
}
