#!/usr/bin/env node
/**
 * The `strata` command (SPEC section 4). This file only reads the command line and maps it to the
 * commands in commands.ts and shell.ts; it is the one place that ends the process, with the status
 * the command returned (0 ok, 1 statement error, 2 usage error).
 *
 * @example
 * strata sql --db ./data --format json "CREATE TABLE t (id INTEGER)" "SELECT count(*) AS n FROM t"
 */
import * as fs from 'node:fs'
import { Command, CommanderError, Option } from 'commander'
import {
  defaultDatabasePath,
  exitCodes,
  processOutput,
  runExportCommand,
  runImportCommand,
  runSqlCommand,
} from './commands.js'
import { formatError, outputFormats, type OutputFormat } from './format.js'
import { runShell } from './shell.js'

/**
 * Builds the command-line program. Every action reports its exit status through `setExitCode`
 * instead of exiting, so the database is always closed first.
 *
 * @example
 * let status = 0
 * await buildProgram((code) => { status = code }).parseAsync(['node', 'strata', 'sql', 'SELECT 1'])
 */
function buildProgram(setExitCode: (code: number) => void): Command {
  const program = new Command()
  program
    .name('strata')
    .description('Strata: an embedded database with a row store, a column store and full history')
    .version(packageVersion())
    // Commander exits with status 1 on a usage error; SPEC section 4 reserves 1 for statement errors,
    // so it throws instead and main() maps the error to 2. Subcommands inherit this setting.
    .exitOverride()
    .showHelpAfterError('(run strata --help for usage)')

  withDatabaseOption(program.command('shell', { isDefault: true }))
    .description('interactive SQL shell (the default command); reads statements from stdin when it is not a terminal')
    .action(async (options: { db: string }) => {
      setExitCode(
        await runShell(
          {
            databasePath: options.db,
            interactive: process.stdin.isTTY === true,
            input: process.stdin,
            terminalOutput: process.stdout,
          },
          processOutput,
        ),
      )
    })

  withDatabaseOption(program.command('sql'))
    .description('run SQL statements and print the result of the last one')
    .argument('<sql...>', 'SQL texts, run in order; each may hold several ";"-separated statements')
    .addOption(new Option('--format <format>', 'output format').choices(outputFormats).default('table'))
    .action(async (sqlTexts: string[], options: { db: string; format: OutputFormat }) => {
      setExitCode(await runSqlCommand({ databasePath: options.db, format: options.format, sqlTexts }, processOutput))
    })

  withDatabaseOption(program.command('import'))
    .description('load a .csv, .parquet or .json file into a table (created when missing), as one commit')
    .argument('<file>', 'the file to load')
    .requiredOption('--table <name>', 'target table')
    .action(async (file: string, options: { db: string; table: string }) => {
      setExitCode(
        await runImportCommand(
          { databasePath: options.db, file, table: options.table, showProgress: process.stderr.isTTY === true },
          processOutput,
        ),
      )
    })

  withDatabaseOption(program.command('export'))
    .description("write a table's current state to a .parquet or .csv file")
    .argument('<file>', 'the file to write')
    .requiredOption('--table <name>', 'table to export')
    .action(async (file: string, options: { db: string; table: string }) => {
      setExitCode(await runExportCommand({ databasePath: options.db, file, table: options.table }, processOutput))
    })

  return program
}

function withDatabaseOption(command: Command): Command {
  return command.option('--db <dir>', 'data directory, or :memory:', defaultDatabasePath)
}

/** The version in package.json, which sits four levels above this file in dist/src/interfaces/cli/. */
function packageVersion(): string {
  try {
    const packageJson: unknown = JSON.parse(fs.readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8'))
    if (typeof packageJson === 'object' && packageJson !== null && 'version' in packageJson) {
      return String(packageJson.version)
    }
  } catch {
    // A relocated build still works; it just cannot say its version.
  }
  return 'unknown'
}

/**
 * Parses the command line, runs the command and returns the exit status.
 *
 * @example
 * process.exitCode = await main(process.argv)
 */
async function main(argv: readonly string[]): Promise<number> {
  let exitCode: number = exitCodes.ok
  const program = buildProgram((code) => {
    exitCode = code
  })
  try {
    await program.parseAsync([...argv])
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has already printed the message (or the help, or the version, which exit with 0).
      return error.exitCode === 0 ? exitCodes.ok : exitCodes.usageError
    }
    // Anything else escaping a command is our bug; say so rather than print a bare stack trace.
    processOutput.writeError(formatError(error))
    return exitCodes.statementError
  }
  return exitCode
}

/** Resolves once everything written so far has been handed to the operating system. */
function flush(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => stream.write('', () => resolve()))
}

/**
 * `strata sql … | head` closes the pipe early. That is the reader's choice, not our failure: the
 * command carries on (and closes the database) with its output going nowhere, instead of crashing on
 * an unhandled EPIPE.
 */
function ignoreClosedPipe(error: NodeJS.ErrnoException): void {
  if (error.code !== 'EPIPE') throw error
}
process.stdout.on('error', ignoreClosedPipe)
process.stderr.on('error', ignoreClosedPipe)

const status = await main(process.argv)
await Promise.all([flush(process.stdout), flush(process.stderr)])
// An explicit exit: the database is closed by now, and a stray handle (a timer, a native worker) must
// not keep a finished command alive.
process.exit(status)
