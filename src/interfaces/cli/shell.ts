/**
 * `strata shell`: the interactive REPL. On a terminal it prompts, keeps a history file (one entry per
 * statement, ./history.ts) and completes table names, column names and keywords by context
 * (./completion.ts); with stdin from a pipe or a file it runs the statements it reads and prints only
 * their results, so a script's output is just data.
 */
import * as readline from 'node:readline'
import type { QueryResult } from '../api/types.js'
import { exitCodes, withDatabase, type CliDatabase, type CommandOutput } from './commands.js'
import {
  formatError,
  formatPlainText,
  formatResult,
  formatStatus,
  formatTiming,
  isOutputFormat,
  isRowResult,
  outputFormats,
  type OutputFormat,
} from './format.js'
import { completeSql, lastWord, type CompletionCatalog } from './completion.js'
import { historyEntriesMax, historyEntry, loadHistory, saveHistory } from './history.js'
import { LocalClient } from '../server/local/client.js'
import { classifyInput, loadStatementScanner } from './statement-input.js'
import { followChanges, parseSubscribeCommand, subscribeUsage, type SubscribeCommand } from './subscribe.js'
import { mainBranch } from '../../util/branch-names.js'

export interface ShellOptions {
  readonly databasePath: string
  /** Prompts, history and completion; main.ts passes whether stdin is a terminal. */
  readonly interactive: boolean
  readonly input: NodeJS.ReadableStream
  /** Only used on a terminal (readline echoes and redraws the line there). */
  readonly terminalOutput: NodeJS.WritableStream
}

/**
 * Runs the shell until `.quit`, Ctrl-D or the end of the input. Returns exit status 0, or 1 when a
 * non-interactive run hit an error (so `strata shell < script.sql` can fail a build; the shell still
 * runs the rest of the script first, as psql does without ON_ERROR_STOP).
 *
 * @example
 * const status = await runShell(
 *   { databasePath: './strata-data', interactive: false, input: process.stdin, terminalOutput: process.stdout },
 *   processOutput,
 * )
 */
export async function runShell(options: ShellOptions, output: CommandOutput): Promise<number> {
  await loadStatementScanner()
  return withDatabase(options.databasePath, output, (database, signal) =>
    new ShellSession(database, options, output, signal).run(),
  )
}

const primaryPrompt = 'strata> '
const continuationPrompt = '   ...> '

type DotCommandOutcome = 'continue' | 'quit'

/**
 * readline keeps its history (newest first) in `history`, the array its 'history' event reports and
 * lets listeners change; @types/node leaves the property out.
 */
interface ReaderWithHistory {
  readonly history?: string[]
}

interface DotCommand {
  readonly usage: string
  readonly description: string
  readonly run: (session: ShellSession, argument: string) => Promise<DotCommandOutcome>
}

class ShellSession {
  private mode: OutputFormat = 'table'
  private timerEnabled = false
  /** The branch the session is on, as the prompt shows it (asked after a text that may have changed it). */
  private branch = mainBranch
  private bufferedLines: string[] = []
  private sawError = false
  private interruptedOnEmptyPrompt = false
  /** Aborts the statement that is running, for Ctrl-C; undefined between statements. */
  private runningStatement: AbortController | undefined
  private lineReader: readline.Interface | undefined
  /** The history as it was when no statement was half-typed, before readline added its lines one by one. */
  private settledHistory: readonly string[] = []
  /** The history as readline's 'history' event last reported it (the loaded file's before any line). */
  private reportedHistory: string[] = []

  constructor(
    readonly database: CliDatabase,
    private readonly options: ShellOptions,
    private readonly output: CommandOutput,
    private readonly shutdownSignal: AbortSignal,
  ) {}

  async run(): Promise<number> {
    // Starts as the file's contents so that a session that adds no lines leaves the file as it was.
    this.reportedHistory = this.options.interactive ? loadHistory() : []
    const lineReader = this.createLineReader(this.reportedHistory)
    this.lineReader = lineReader
    lineReader.on('history', (entries: string[]) => {
      this.reportedHistory = entries
    })
    this.settledHistory = [...this.history()]
    lineReader.on('SIGINT', () => this.interrupt(lineReader))
    // A SIGINT from outside (kill -INT, or Ctrl-C when stdin is a pipe) ends the session even while it
    // waits for input; closing the reader ends the loop below, and the database still closes cleanly.
    this.shutdownSignal.addEventListener('abort', () => lineReader.close(), { once: true })
    if (this.options.interactive && this.database instanceof LocalClient) {
      this.output.writeOut(`Connected to the Strata server (pid ${this.database.serverPid}) that holds ${this.database.directory}.\n`)
    }
    this.prompt(lineReader)
    try {
      for await (const line of lineReader) {
        if (this.shutdownSignal.aborted) break
        if ((await this.acceptLine(line)) === 'quit') break
        this.prompt(lineReader)
      }
      // Like sqlite3, a last statement without its ';' still runs when the input ends.
      if (!this.shutdownSignal.aborted && classifyInput(this.bufferedText()) !== 'empty') {
        this.recordStatementInHistory()
        await this.runBuffered()
      }
    } finally {
      lineReader.close()
      if (this.options.interactive) {
        this.output.writeOut('\n')
        saveHistory(this.history())
      }
    }
    return this.sawError && !this.options.interactive ? exitCodes.statementError : exitCodes.ok
  }

  private createLineReader(history: readonly string[]): readline.Interface {
    if (!this.options.interactive) {
      return readline.createInterface({ input: this.options.input, terminal: false, crlfDelay: Infinity })
    }
    return readline.createInterface({
      input: this.options.input,
      output: this.options.terminalOutput,
      terminal: true,
      history: [...history],
      historySize: historyEntriesMax,
      removeHistoryDuplicates: true,
      // readline passes the line up to the cursor; the rest of it may name the statement's tables.
      completer: (line: string, callback: (error: null, result: [string[], string]) => void) => {
        const reader = this.lineReader
        const after = reader === undefined ? '' : reader.line.slice(reader.cursor)
        this.complete(line, after).then(
          (result) => callback(null, result),
          // Completion is a convenience; if the catalog cannot be read, offer nothing rather than fail.
          () => callback(null, [[], line]),
        )
      },
    })
  }

  private prompt(lineReader: readline.Interface): void {
    if (!this.options.interactive) return
    // On a branch other than main the prompt names it (`strata (dev)> `), its continuation as wide.
    const primary = this.branch === mainBranch ? primaryPrompt : `strata (${this.branch})> `
    lineReader.setPrompt(this.bufferedLines.length === 0 ? primary : `${' '.repeat(primary.length - continuationPrompt.length)}${continuationPrompt}`)
    lineReader.prompt()
  }

  /**
   * Ctrl-C stops a running statement, else drops the half-typed one; on an empty prompt it asks for a
   * second Ctrl-C before quitting, as node's REPL does, so a stray keypress does not end the session.
   */
  private interrupt(lineReader: readline.Interface): void {
    if (this.runningStatement !== undefined) {
      this.runningStatement.abort()
      return
    }
    const promptIsEmpty = this.bufferedLines.length === 0 && lineReader.line === ''
    if (promptIsEmpty && this.interruptedOnEmptyPrompt) {
      lineReader.close()
      return
    }
    this.interruptedOnEmptyPrompt = promptIsEmpty
    // The abandoned statement stays in the history as one entry, to be recalled and finished.
    this.recordStatementInHistory()
    this.bufferedLines = []
    this.settledHistory = [...this.history()]
    // Readline keeps the half-typed line on Ctrl-C; end-of-line then delete-to-start clears it, or it
    // would reappear after the next prompt.
    lineReader.write(null, { ctrl: true, name: 'e' })
    lineReader.write(null, { ctrl: true, name: 'u' })
    this.output.writeOut(promptIsEmpty ? '\n(To exit, press Ctrl+C again or Ctrl+D or type .quit)\n' : '^C\n')
    this.prompt(lineReader)
  }

  private async acceptLine(line: string): Promise<DotCommandOutcome> {
    const outcome = await this.handleLine(line)
    if (this.bufferedLines.length === 0) this.settledHistory = [...this.history()]
    return outcome
  }

  private async handleLine(line: string): Promise<DotCommandOutcome> {
    this.interruptedOnEmptyPrompt = false
    // A dot command is a whole line of its own, and only between statements, as in sqlite3.
    if (this.bufferedLines.length === 0 && line.trimStart().startsWith('.')) {
      return this.runDotCommand(line.trim())
    }
    // SUBSCRIBE is a shell command on a line of its own (not SQL), so it needs no ';'.
    const subscribe = this.bufferedLines.length === 0 ? parseSubscribeCommand(line) : undefined
    if (subscribe !== undefined) {
      await this.followChanges(subscribe)
      return 'continue'
    }
    this.bufferedLines.push(line)
    const state = classifyInput(this.bufferedText())
    if (state === 'empty') this.bufferedLines = []
    if (state === 'complete') {
      this.recordStatementInHistory()
      await this.runBuffered()
    }
    return 'continue'
  }

  /** readline's history array (newest first); empty when the shell is not interactive. */
  private history(): string[] {
    // Should a later node keep it elsewhere, the file still gets what the 'history' event reported.
    return (this.lineReader as ReaderWithHistory | undefined)?.history ?? this.reportedHistory
  }

  /**
   * A statement typed on several lines becomes one history entry: readline added each line as it
   * was entered, so its history goes back to how it was before the statement's first line, with the
   * whole statement (./history.ts) as the newest entry. The array is changed in place, as readline's
   * 'history' event allows, so Up recalls the statement whole in this session too.
   */
  private recordStatementInHistory(): void {
    if (!this.options.interactive || this.bufferedLines.length < 2) return
    const entry = historyEntry(this.bufferedText())
    const history = this.history()
    const merged = [entry, ...this.settledHistory.filter((existing) => existing !== entry)].slice(0, historyEntriesMax)
    history.splice(0, history.length, ...merged)
  }

  /** Prints each change as a JSON line as it commits, until Ctrl-C; then back to the prompt. */
  private async followChanges(command: SubscribeCommand): Promise<void> {
    if (command.kind === 'invalid') {
      this.printError(usageError(command.message))
      return
    }
    if (this.options.interactive) this.output.writeOut('(printing changes as they commit; Ctrl-C stops)\n')
    await this.runStatement((signal) => followChanges(this.database, command, (text) => this.output.writeOut(text), signal))
  }

  private bufferedText(): string {
    return this.bufferedLines.join('\n')
  }

  private async runBuffered(): Promise<void> {
    const sqlText = this.bufferedText()
    this.bufferedLines = []
    const results = await this.runStatement((signal) => this.database.exec(sqlText, { signal }))
    for (const result of results ?? []) this.printResult(result)
    // A text that may have switched branches (USE BRANCH, DROP BRANCH …): the prompt asks which one the session is on.
    if (this.options.interactive && /branch/i.test(sqlText)) {
      const current = await this.runStatement((signal) => this.database.query('SELECT strata.current_branch() AS branch', undefined, { signal }))
      const name = current?.rows[0]?.['branch']
      if (typeof name === 'string') this.branch = name
    }
  }

  /**
   * Runs one call against the database with a signal Ctrl-C can fire; prints an error instead of
   * throwing, because the shell carries on after a failed statement.
   */
  async runStatement<T>(call: (signal: AbortSignal) => Promise<T>): Promise<T | undefined> {
    const controller = new AbortController()
    this.runningStatement = controller
    try {
      return await call(AbortSignal.any([controller.signal, this.shutdownSignal]))
    } catch (error) {
      this.printError(error)
      return undefined
    } finally {
      this.runningStatement = undefined
    }
  }

  printResult(result: QueryResult): void {
    if (isRowResult(result)) {
      this.output.writeOut(formatResult(result, this.mode))
    } else if (this.options.interactive) {
      // A script's output should be its rows only; a person at the prompt wants to see that a write happened.
      this.output.writeOut(`${formatStatus(result)}\n`)
    }
    if (this.timerEnabled) this.output.writeOut(`${formatTiming(result)}\n`)
  }

  printError(error: unknown): void {
    this.sawError = true
    this.output.writeError(formatError(error))
  }

  writeOut(text: string): void {
    this.output.writeOut(text)
  }

  setMode(mode: OutputFormat): void {
    this.mode = mode
  }

  currentMode(): OutputFormat {
    return this.mode
  }

  setTimer(enabled: boolean): void {
    this.timerEnabled = enabled
  }

  timerIsEnabled(): boolean {
    return this.timerEnabled
  }

  private async runDotCommand(line: string): Promise<DotCommandOutcome> {
    const { word: name, rest: argument } = splitFirstWord(line)
    const command = dotCommands[name]
    if (command === undefined) {
      this.printError(usageError(`unknown command "${name}"; .help lists the commands`))
      return 'continue'
    }
    return command.run(this, argument)
  }

  /** Tab completion: dot commands and their arguments, else SQL by context (./completion.ts). */
  private async complete(line: string, after: string): Promise<[string[], string]> {
    const word = lastWord(line)
    if (this.bufferedLines.length === 0 && line.trimStart().startsWith('.')) {
      const { word: name, rest } = splitFirstWord(line.trim())
      if (rest === '' && !endsWithSpace(line)) {
        return [Object.keys(dotCommands).filter((candidate) => candidate.startsWith(name)), name]
      }
      const argumentCandidates =
        name === '.schema' ? await this.database.tables()
        : name === '.mode' ? [...outputFormats]
        : name === '.timer' ? ['on', 'off']
        : []
      return [argumentCandidates.filter((candidate) => candidate.startsWith(word)), word]
    }
    const before = this.bufferedLines.length === 0 ? line : `${this.bufferedText()}\n${line}`
    return completeSql({ before, after }, this.completionCatalog())
  }

  private completionCatalog(): CompletionCatalog {
    return {
      tables: () => this.database.tables(),
      columns: async (table) => {
        const description = await this.database.query(`DESCRIBE ${quoteIdentifier(table)}`)
        return description.rows.map((row) => String(row['column_name']))
      },
    }
  }
}

const dotCommands: Readonly<Record<string, DotCommand>> = {
  '.tables': {
    usage: '.tables',
    description: 'List the tables',
    run: async (session) => {
      const tables = await session.runStatement(() => session.database.tables())
      for (const table of tables ?? []) session.writeOut(`${table}\n`)
      return 'continue'
    },
  },
  '.schema': {
    usage: '.schema [table]',
    description: 'Describe one table, or every table',
    run: async (session, argument) => {
      if (argument !== '') {
        // The user's text goes in as written, so quoted and schema-qualified names work as in SQL.
        await describeTable(session, argument)
        return 'continue'
      }
      const tables = await session.runStatement(() => session.database.tables())
      for (const table of tables ?? []) {
        if (session.currentMode() === 'table') session.writeOut(`${table}:\n`)
        await describeTable(session, quoteIdentifier(table))
      }
      return 'continue'
    },
  },
  '.mode': {
    usage: `.mode ${outputFormats.join('|')}`,
    description: 'Set how results are printed',
    run: async (session, argument) => {
      if (argument === '') session.writeOut(`${session.currentMode()}\n`)
      else if (isOutputFormat(argument)) session.setMode(argument)
      else session.printError(usageError(`.mode expects one of ${outputFormats.join(', ')}, not "${argument}"`))
      return 'continue'
    },
  },
  '.timer': {
    usage: '.timer on|off',
    description: 'Print how long each statement took and which store answered it',
    run: async (session, argument) => {
      if (argument === '') session.writeOut(`${session.timerIsEnabled() ? 'on' : 'off'}\n`)
      else if (argument === 'on' || argument === 'off') session.setTimer(argument === 'on')
      else session.printError(usageError(`.timer expects on or off, not "${argument}"`))
      return 'continue'
    },
  },
  '.explain': {
    usage: '.explain <sql>',
    description: 'Show which store would run a statement, why, and its plan',
    run: async (session, argument) => {
      if (argument === '') {
        session.printError(usageError('.explain expects a statement'))
        return 'continue'
      }
      // exec rather than query: it accepts the statement with or without a trailing ';'.
      const results = await session.runStatement((signal) => session.database.exec(`EXPLAIN ${argument}`, { signal }))
      const plan = results?.at(-1)
      if (plan !== undefined) session.writeOut(formatPlainText(plan))
      return 'continue'
    },
  },
  '.help': {
    usage: '.help',
    description: 'Show this list',
    run: async (session) => {
      const usageWidth = Math.max(...Object.values(dotCommands).map((command) => command.usage.length))
      for (const command of Object.values(dotCommands)) {
        session.writeOut(`${command.usage.padEnd(usageWidth)}  ${command.description}\n`)
      }
      session.writeOut('SQL statements end with ";" and may span several lines.\n')
      session.writeOut(`${subscribeUsage} prints each change as a JSON line as it commits, until Ctrl-C.\n`)
      return 'continue'
    },
  },
  '.quit': { usage: '.quit', description: 'Leave the shell (also .exit or Ctrl-D)', run: async () => 'quit' },
  '.exit': { usage: '.exit', description: 'Leave the shell', run: async () => 'quit' },
}

async function describeTable(session: ShellSession, tableReference: string): Promise<void> {
  const description = await session.runStatement((signal) =>
    session.database.query(`DESCRIBE ${tableReference}`, undefined, { signal }),
  )
  if (description !== undefined) session.writeOut(formatResult(description, session.currentMode()))
}

/** A name as a double-quoted SQL identifier, so table names with capitals or spaces describe correctly. */
function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}

/** Mistakes in a dot command read like the engine's errors, so the shell has one error format. */
function usageError(message: string): { code: string; message: string } {
  return { code: 'INVALID_PARAMETER', message }
}

/** Splits a dot-command line at its first run of whitespace. */
function splitFirstWord(line: string): { word: string; rest: string } {
  let end = 0
  while (end < line.length && !isWhitespace(line.charAt(end))) end += 1
  return { word: line.slice(0, end), rest: line.slice(end).trim() }
}

function endsWithSpace(line: string): boolean {
  return line.length > 0 && isWhitespace(line.charAt(line.length - 1))
}

function isWhitespace(character: string): boolean {
  return character === ' ' || character === '\t' || character === '\n' || character === '\r'
}
