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
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander'
import { serveDefaults } from '../server/defaults.js'
import {
  defaultDatabasePath,
  exitCodes,
  processOutput,
  resolveDatabasePath,
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

  withDatabaseOption(program.command('serve'))
    .description('serve the database over HTTP and the PostgreSQL protocol until SIGINT/SIGTERM (loopback only unless authentication is set)')
    .option('--host <host>', 'address to listen on; a non-loopback one needs --token and --pg-password', serveDefaults.host)
    .option('--port <port>', 'HTTP port (0 picks a free one)', parsePort, serveDefaults.port)
    .option('--pg-port <port>', 'PostgreSQL protocol port (0 picks a free one)', parsePort, serveDefaults.pgPort)
    .option('--no-pg', 'do not start the PostgreSQL protocol server')
    .option('--token <token>', 'bearer token the HTTP API requires (default: $STRATA_TOKEN)')
    .option('--read-only-token <token>', 'a bearer token that may only read: writes get 403 (default: $STRATA_READ_ONLY_TOKEN)')
    .option('--pg-user <name>', 'PostgreSQL user name (default: $STRATA_PG_USER or strata)')
    .option('--pg-password <password>', 'PostgreSQL password, SCRAM-SHA-256 (default: $STRATA_PG_PASSWORD; none: trust, loopback only)')
    .option('--tls-cert <file>', 'PEM certificate for TLS on the PostgreSQL port (with --tls-key)')
    .option('--tls-key <file>', 'PEM private key for TLS on the PostgreSQL port')
    .option('--statement-timeout <ms>', 'cancel a statement after this long (default 300000)', parsePositiveInteger)
    .option('--grace <ms>', 'on SIGINT/SIGTERM, how long running statements may finish before they are cancelled (default 10000)', parseNonNegativeInteger)
    .action(async (options: ServeCommandOptions) => {
      if ((options.tlsCert === undefined) !== (options.tlsKey === undefined)) {
        processOutput.writeError('strata serve: --tls-cert and --tls-key go together\n')
        setExitCode(exitCodes.usageError)
        return
      }
      // The servers (HTTP with Arrow, PostgreSQL, the console) load only for this command.
      const { runServe } = await import('../server/serve.js')
      setExitCode(
        await runServe(
          {
            databasePath: resolveDatabasePath(options.db),
            host: options.host,
            port: options.port,
            pgPort: options.pg ? options.pgPort : undefined,
            token: options.token ?? process.env['STRATA_TOKEN'],
            readOnlyToken: options.readOnlyToken ?? process.env['STRATA_READ_ONLY_TOKEN'],
            pgUser: options.pgUser ?? process.env['STRATA_PG_USER'] ?? serveDefaults.pgUser,
            pgPassword: options.pgPassword ?? process.env['STRATA_PG_PASSWORD'],
            tlsCertFile: options.tlsCert,
            tlsKeyFile: options.tlsKey,
            statementTimeoutMs: options.statementTimeout,
            graceMs: options.grace,
          },
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

interface ServeCommandOptions {
  readonly db: string
  readonly host: string
  readonly port: number
  readonly pgPort: number
  readonly pg: boolean
  readonly token?: string
  readonly readOnlyToken?: string
  readonly pgUser?: string
  readonly pgPassword?: string
  readonly tlsCert?: string
  readonly tlsKey?: string
  readonly statementTimeout?: number
  readonly grace?: number
}

function parsePort(text: string): number {
  const port = Number(text)
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new InvalidArgumentError('a port is an integer from 0 to 65535')
  return port
}

function parsePositiveInteger(text: string): number {
  const value = Number(text)
  if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError('expected a positive integer')
  return value
}

function parseNonNegativeInteger(text: string): number {
  const value = Number(text)
  if (!Number.isInteger(value) || value < 0) throw new InvalidArgumentError('expected a non-negative integer')
  return value
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
