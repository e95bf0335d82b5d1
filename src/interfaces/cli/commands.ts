/**
 * The one-shot CLI commands (`strata sql`, `strata import`, `strata export`) and the database
 * lifecycle they share. Each command returns its exit status instead of exiting, so that main.ts alone
 * decides when the process ends, after the database is closed and the output is flushed.
 *
 * A data directory is opened by one process at a time. When a server (`strata serve`) holds it, the
 * commands and the shell run through the server's local socket instead, with the same results and
 * output (src/interfaces/server/local/); otherwise they open the directory themselves.
 */
import * as path from 'node:path'
import { Presets, SingleBar } from 'cli-progress'
import { open } from '../../index.js'
import type { Change, Database, QueryResult, SubscribeOptions } from '../api/types.js'
import { connectLocalServer } from '../server/local/client.js'
import { formatError, formatResult, type OutputFormat } from './format.js'

/** SPEC section 4: 0 ok, 1 a statement (or the database) failed, 2 the command line was wrong. */
export const exitCodes = { ok: 0, statementError: 1, usageError: 2 } as const

/** Where the CLI keeps its data when --db is not given (relative to the working directory). */
export const defaultDatabasePath = './strata-data'

/** Where a command writes; the process's streams, or a buffer in a test. */
export interface CommandOutput {
  writeOut(text: string): void
  writeError(text: string): void
}

export const processOutput: CommandOutput = {
  writeOut: (text) => void process.stdout.write(text),
  writeError: (text) => void process.stderr.write(text),
}

/**
 * What the CLI needs of a database: the library's `Database` when it opens the directory itself, or a
 * session on the server that holds it (LocalClient).
 */
export type CliDatabase = Pick<Database, 'exec' | 'query' | 'tables' | 'importFile' | 'exportTable' | 'close'> & {
  subscribe(options?: SubscribeOptions): AsyncIterable<Change> & { close(): void }
}

/**
 * The server holding the directory, when one runs there; else the directory, opened. ':memory:' is
 * always this process's own.
 *
 * @example
 * const database = await openForCli('./strata-data')
 */
export async function openForCli(databasePath: string): Promise<CliDatabase> {
  const resolved = resolveDatabasePath(databasePath)
  if (resolved !== ':memory:') {
    const server = await connectLocalServer(resolved)
    if (server !== undefined) return server
  }
  return open(resolved)
}

/** A directory for `open`: ':memory:' stays as it is, anything else is made absolute against the cwd. */
export function resolveDatabasePath(databasePath: string): string {
  return databasePath === ':memory:' ? databasePath : path.resolve(databasePath)
}

/**
 * Opens the database (or connects to the server holding it: openForCli), runs `body` with it and an
 * AbortSignal that the first Ctrl-C fires, and always closes the database before returning. An error from open, body or close is printed and becomes exit
 * status 1. A second Ctrl-C exits at once, for a statement that does not notice the signal.
 *
 * @example
 * const status = await withDatabase('./strata-data', processOutput, async (db) => {
 *   await db.exec('CREATE TABLE t (id INTEGER)')
 *   return exitCodes.ok
 * })
 */
export async function withDatabase(
  databasePath: string,
  output: CommandOutput,
  body: (database: CliDatabase, signal: AbortSignal) => Promise<number>,
): Promise<number> {
  const interruption = new AbortController()
  const onInterrupt = (): void => {
    if (interruption.signal.aborted) process.exit(130)
    interruption.abort()
  }
  process.on('SIGINT', onInterrupt)
  let database: CliDatabase
  try {
    database = await openForCli(databasePath)
  } catch (error) {
    process.off('SIGINT', onInterrupt)
    output.writeError(formatError(error))
    return exitCodes.statementError
  }
  let status: number
  try {
    status = await body(database, interruption.signal)
  } catch (error) {
    output.writeError(formatError(error))
    status = exitCodes.statementError
  }
  try {
    await database.close()
  } catch (error) {
    // A failed close may mean the last commits are not durable; the user must hear of it.
    output.writeError(formatError(error))
    status = exitCodes.statementError
  } finally {
    process.off('SIGINT', onInterrupt)
  }
  return status
}

export interface SqlCommandOptions {
  readonly databasePath: string
  readonly format: OutputFormat
  /** Each may hold several ';'-separated statements. */
  readonly sqlTexts: readonly string[]
}

/**
 * `strata sql`: runs every text in order and prints the result of the last statement. Nothing is
 * printed on stdout when a statement fails, so a script never mistakes a partial result for the answer.
 *
 * @example
 * await runSqlCommand({ databasePath: './strata-data', format: 'json', sqlTexts: ['SELECT 1 AS n'] }, processOutput)
 * // prints [{"n":1}]
 */
export async function runSqlCommand(options: SqlCommandOptions, output: CommandOutput): Promise<number> {
  return withDatabase(options.databasePath, output, async (database, signal) => {
    let lastResult: QueryResult | undefined
    for (const sqlText of options.sqlTexts) {
      const results = await database.exec(sqlText, { signal })
      lastResult = results.at(-1) ?? lastResult
    }
    if (lastResult !== undefined) output.writeOut(formatResult(lastResult, options.format))
    return exitCodes.ok
  })
}

export interface ImportCommandOptions {
  readonly databasePath: string
  readonly file: string
  readonly table: string
  /** Draw a progress bar on stderr; main.ts passes whether stderr is a terminal. */
  readonly showProgress: boolean
}

/**
 * `strata import`: loads a CSV, Parquet or JSON file into a table (created when missing) as one commit.
 *
 * @example
 * await runImportCommand({ databasePath: './strata-data', file: 'people.csv', table: 'people', showProgress: false }, processOutput)
 * // prints: Imported 3 rows into people (tx 4)
 */
export async function runImportCommand(options: ImportCommandOptions, output: CommandOutput): Promise<number> {
  return withDatabase(options.databasePath, output, async (database, signal) => {
    const progressBar = options.showProgress ? new ImportProgressBar() : undefined
    let summary
    try {
      summary = await database.importFile(path.resolve(options.file), {
        table: options.table,
        signal,
        ...(progressBar === undefined ? {} : { onProgress: progressBar.update }),
      })
    } finally {
      // The bar must be gone before anything else is printed, or the message lands in the middle of it.
      progressBar?.stop()
    }
    const transactionPart = summary.txId === undefined ? '' : ` (tx ${summary.txId})`
    output.writeOut(`Imported ${summary.rowCount} rows into ${options.table}${transactionPart}\n`)
    return exitCodes.ok
  })
}

export interface ExportCommandOptions {
  readonly databasePath: string
  readonly file: string
  readonly table: string
}

/**
 * `strata export`: writes a table's current state to a .parquet or .csv file.
 *
 * @example
 * await runExportCommand({ databasePath: './strata-data', file: 'people.parquet', table: 'people' }, processOutput)
 * // prints: Exported 3 rows to people.parquet
 */
export async function runExportCommand(options: ExportCommandOptions, output: CommandOutput): Promise<number> {
  return withDatabase(options.databasePath, output, async (database, signal) => {
    const { rowCount } = await database.exportTable(path.resolve(options.file), { table: options.table, signal })
    output.writeOut(`Exported ${rowCount} rows to ${options.file}\n`)
    return exitCodes.ok
  })
}

/**
 * A cli-progress bar that starts on the first report, because the total row count is only known once
 * the engine has read the file.
 */
class ImportProgressBar {
  private readonly bar = new SingleBar(
    { format: 'Importing |{bar}| {percentage}% | {value}/{total} rows', stream: process.stderr, hideCursor: true },
    Presets.shades_classic,
  )
  private started = false
  private totalRows = 0

  /** An arrow function so it can be handed to importFile as onProgress without binding. */
  readonly update = (rowsDone: number, rowsTotal: number): void => {
    if (!this.started) {
      this.bar.start(rowsTotal, rowsDone)
      this.started = true
      this.totalRows = rowsTotal
      return
    }
    if (rowsTotal !== this.totalRows) {
      this.bar.setTotal(rowsTotal)
      this.totalRows = rowsTotal
    }
    this.bar.update(rowsDone)
  }

  stop(): void {
    if (this.started) this.bar.stop()
  }
}
