/**
 * The interactive shell: tab completion by context and one history entry per statement. The
 * completer and the history entry are checked on the built modules the binary uses; then the real
 * binary runs on a pseudo-terminal (util-linux `script`), typed at with Tab and ↑ as a person would.
 */
import * as assert from 'node:assert/strict'
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { before, test } from 'node:test'
import { completeSql, type CompletionCatalog } from '../src/interfaces/cli/completion.js'
import { historyEntry } from '../src/interfaces/cli/history.js'
import { loadStatementScanner } from '../src/interfaces/cli/statement-input.js'
import { scanTokens } from '../src/sql/parse.js'

const binaryPath = path.resolve('dist/src/interfaces/cli/main.js')
const scriptPath = '/usr/bin/script'

const columnsByTable: Readonly<Record<string, readonly string[]>> = {
  orders: ['id', 'customer_id', 'total', 'status'],
  customers: ['id', 'name'],
  'Line Items': ['order_id', 'quantity'],
}

const catalog: CompletionCatalog = {
  tables: async () => Object.keys(columnsByTable).sort(),
  columns: async (table) => {
    const columns = columnsByTable[table]
    if (columns === undefined) throw new Error(`no table ${table}`)
    return columns
  },
}

/** The candidates for `before` (the text up to the cursor) and `after` (the rest of the line). */
async function candidates(before: string, after = ''): Promise<string[]> {
  const [found, word] = await completeSql({ before, after }, catalog)
  let start = before.length
  while (start > 0 && /[A-Za-z0-9_$]/.test(before.charAt(start - 1))) start -= 1
  assert.equal(word, before.slice(start), 'the word being completed is the one before the cursor')
  return found
}

before(async () => {
  await loadStatementScanner()
})

test('completion after FROM, JOIN, INTO, UPDATE and a FROM list comma offers tables only', async () => {
  assert.deepEqual(await candidates('SELECT * FROM ord'), ['orders'], 'not the keyword ORDER')
  assert.deepEqual(await candidates('select * from ORD'), ['orders'])
  assert.deepEqual(await candidates('SELECT * FROM '), ['Line Items', 'customers', 'orders'])
  assert.deepEqual(await candidates('SELECT * FROM orders o JOIN cu'), ['customers'])
  assert.deepEqual(await candidates('SELECT * FROM orders, cu'), ['customers'])
  assert.deepEqual(await candidates('INSERT INTO or'), ['orders'])
  assert.deepEqual(await candidates('UPDATE or'), ['orders'])
  assert.deepEqual(await candidates('DESCRIBE cu'), ['customers'])
})

test('completion where a column may go offers the statement\'s tables\' columns, then keywords', async () => {
  assert.deepEqual(await candidates('SELECT * FROM orders WHERE TO'), ['total', 'TO'])
  assert.deepEqual(await candidates('select * from orders where to'), ['total', 'to'], 'keywords in the case being typed')
  assert.deepEqual(await candidates('SELECT * FROM orders WHERE '), ['id', 'customer_id', 'total', 'status'], 'no word yet: columns only')
  // The SELECT list, with the FROM still to the right of the cursor.
  assert.deepEqual(await candidates('SELECT st', ' FROM orders'), ['status'])
  // ON, GROUP BY, ORDER BY, SET, an INSERT's column list; joined tables give both tables' columns.
  assert.deepEqual(await candidates('SELECT * FROM orders o JOIN customers c ON '), ['id', 'customer_id', 'total', 'status', 'name'])
  assert.deepEqual(await candidates('SELECT status, count(*) FROM orders GROUP BY st'), ['status'])
  assert.deepEqual(await candidates('SELECT * FROM orders ORDER BY tot'), ['total'])
  assert.deepEqual(await candidates('UPDATE orders SET st'), ['status'])
  assert.deepEqual(await candidates('INSERT INTO orders (cu'), ['customer_id'])
  // A subquery's table, and the outer query's.
  assert.deepEqual(await candidates('SELECT * FROM customers WHERE id IN (SELECT cu', ' FROM orders)'), ['customer_id'])
  assert.deepEqual(await candidates('SELECT * FROM customers WHERE id IN (SELECT customer_id FROM orders WHERE na'), ['name'])
  // Over several lines of one statement.
  assert.deepEqual(await candidates('SELECT total\nFROM orders\nWHERE st'), ['status'])
  // Only the current statement's tables: the one before the ';' names customers, not this one.
  assert.deepEqual(await candidates('SELECT * FROM customers; SELECT * FROM orders WHERE na'), [])
})

test('completion after alias. or table. offers that table\'s columns', async () => {
  assert.deepEqual(await candidates('SELECT o.', ' FROM orders o'), ['id', 'customer_id', 'total', 'status'])
  assert.deepEqual(await candidates('SELECT * FROM orders AS o JOIN customers c ON c.'), ['id', 'name'])
  assert.deepEqual(await candidates('SELECT * FROM orders WHERE orders.st'), ['status'])
  assert.deepEqual(await candidates('SELECT * FROM "Line Items" li WHERE li.'), ['order_id', 'quantity'])
  assert.deepEqual(await candidates('SELECT nobody.'), [])
})

test('completion with no table named: keywords and tables; inside strings and comments: nothing', async () => {
  assert.deepEqual(await candidates('SEL'), ['SELECT'])
  assert.deepEqual(await candidates('cu'), ['customers'])
  assert.deepEqual(await candidates('SELECT 1 + '), [])
  assert.deepEqual(await candidates("SELECT * FROM orders WHERE status = 'op"), [])
  assert.deepEqual(await candidates('SELECT 1 -- from ord'), [])
  assert.deepEqual(await candidates('SELECT 1 /* ord'), [])
})

test('a statement typed on several lines is one history line that means the same SQL', () => {
  assert.equal(historyEntry('SELECT total\nFROM orders\nWHERE id = 1;'), 'SELECT total FROM orders WHERE id = 1;')
  assert.equal(historyEntry('CREATE TABLE t (\n  id INTEGER,\n  name VARCHAR\n);'), 'CREATE TABLE t ( id INTEGER, name VARCHAR );')
  // A -- comment would swallow the rest of one line: it becomes a block comment.
  const commented = historyEntry('SELECT id -- the key */ here\nFROM orders;')
  assert.equal(commented, 'SELECT id /* the key * / here */ FROM orders;')
  const withoutComments = (sql: string): string[] => scanTokens(sql).filter((token) => !token.tokenName.endsWith('COMMENT')).map((token) => token.text)
  assert.deepEqual(withoutComments(commented), ['SELECT', 'id', 'FROM', 'orders', ';'])
  // A line break inside a string literal is part of the value: it stays.
  assert.equal(historyEntry("INSERT INTO notes VALUES (1,\n'line one\nline two');"), "INSERT INTO notes VALUES (1, 'line one\nline two');")
  assert.equal(historyEntry('SELECT 1 /* a\nb */\n+ 1;'), 'SELECT 1 /* a b */ + 1;')
})

/** The shell on a pseudo-terminal: `script` gives it a tty, so it prompts, completes and keeps history. */
class TerminalShell {
  readonly #child: ChildProcessWithoutNullStreams
  #output = ''
  #mark = 0
  readonly exited: Promise<number | null>

  constructor(databaseDirectory: string, historyFile: string) {
    const command = [process.execPath, binaryPath, 'shell', '--db', databaseDirectory].map((part) => `'${part}'`).join(' ')
    this.#child = spawn(scriptPath, ['--quiet', '--return', '--command', command, '/dev/null'], {
      // TERM=dumb would turn readline's completion and history keys off.
      env: { ...process.env, TERM: 'xterm', STRATA_HISTORY: historyFile },
    })
    this.#child.stdout.setEncoding('utf8')
    this.#child.stdout.on('data', (chunk: string) => (this.#output += chunk))
    this.#child.stderr.on('data', (chunk: Buffer) => (this.#output += chunk.toString('utf8')))
    this.exited = new Promise((resolve) => this.#child.on('exit', (code) => resolve(code)))
  }

  /** What the terminal showed since the last `type`, without cursor-movement escapes. */
  get shown(): string {
    return this.#output.slice(this.#mark).replace(/\u001b\[[0-9;]*[A-Za-z]/g, '')
  }

  /** Sends keys; what they show is read from here on. */
  type(keys: string): void {
    this.#mark = this.#output.length
    this.#child.stdin.write(keys)
  }

  /** Waits until the terminal shows `text` (since the last `type`). */
  async waitFor(text: string, timeoutMs = 30_000): Promise<void> {
    const started = Date.now()
    while (!this.shown.includes(text)) {
      if (Date.now() - started > timeoutMs) assert.fail(`the terminal did not show ${JSON.stringify(text)}; it showed ${JSON.stringify(this.shown)}`)
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
  }

  kill(): void {
    this.#child.kill('SIGKILL')
  }
}

test('the shell on a terminal: Tab completes tables and columns, ↑ recalls a multi-line statement whole', async (t) => {
  assert.ok(fs.existsSync(scriptPath), `${scriptPath} is missing: it comes with util-linux (Debian's bsdutils)`)
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-shell-'))
  const historyFile = path.join(directory, 'history')
  fs.writeFileSync(historyFile, 'SELECT 1 AS from_an_earlier_session;\n')
  const shell = new TerminalShell(path.join(directory, 'db'), historyFile)
  t.after(() => {
    shell.kill()
    fs.rmSync(directory, { recursive: true, force: true })
  })
  await shell.waitFor('strata> ')
  shell.type('CREATE TABLE orders (id INTEGER PRIMARY KEY, total DOUBLE);\r')
  await shell.waitFor('OK')
  shell.type("INSERT INTO orders VALUES (1, 9.5), (2, 0.5);\r")
  await shell.waitFor('OK, 2 rows')

  // FROM ord<Tab> → orders (a keyword would have made it ORDER); WHERE tot<Tab> → total.
  shell.type('SELECT id FROM ord')
  await shell.waitFor('ord')
  shell.type('\t')
  await shell.waitFor('ers')
  shell.type(' WHERE tot')
  await shell.waitFor('tot')
  shell.type('\t')
  await shell.waitFor('al')
  shell.type(' > 1;\r')
  await shell.waitFor('(1 row)')
  assert.match(shell.shown, /│ {2}1 │/)

  // A statement over three lines, then ↑: the whole statement comes back as one line and runs again.
  shell.type('SELECT total\r')
  await shell.waitFor('...>')
  shell.type('FROM orders\r')
  await shell.waitFor('...>')
  shell.type('WHERE id = 2;\r')
  await shell.waitFor('(1 row)')
  shell.type('\u001b[A')
  await shell.waitFor('SELECT total FROM orders WHERE id = 2;')
  shell.type('\r')
  await shell.waitFor('(1 row)')
  assert.match(shell.shown, /│ {3}0\.5 │/)
  // A statement abandoned with Ctrl-C after two lines is kept as one entry too, to be finished later.
  shell.type('SELECT id\r')
  await shell.waitFor('...>')
  shell.type('FROM orders\r')
  await shell.waitFor('...>')
  shell.type('\u0003')
  await shell.waitFor('^C')
  shell.type('.quit\r')
  assert.equal(await shell.exited, 0)

  // The file: the earlier session's entry, then one line per statement (the recalled one only once).
  assert.deepEqual(fs.readFileSync(historyFile, 'utf8').split('\n'), [
    'SELECT 1 AS from_an_earlier_session;',
    'CREATE TABLE orders (id INTEGER PRIMARY KEY, total DOUBLE);',
    'INSERT INTO orders VALUES (1, 9.5), (2, 0.5);',
    'SELECT id FROM orders WHERE total > 1;',
    'SELECT total FROM orders WHERE id = 2;',
    'SELECT id FROM orders',
    '.quit',
    '',
  ])
})

test('the shell on a terminal names the branch it is on in its prompt', async (t) => {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-shell-branch-'))
  const shell = new TerminalShell(path.join(directory, 'db'), path.join(directory, 'history'))
  t.after(() => {
    shell.kill()
    fs.rmSync(directory, { recursive: true, force: true })
  })
  await shell.waitFor('strata> ')
  shell.type('CREATE TABLE t (id INTEGER PRIMARY KEY);\r')
  await shell.waitFor('OK')
  shell.type('CREATE BRANCH "feature/x";\r')
  await shell.waitFor('strata> ')
  shell.type('USE BRANCH "feature/x";\r')
  await shell.waitFor('strata (feature/x)> ')
  shell.type('INSERT INTO t VALUES (1);\r')
  await shell.waitFor('strata (feature/x)> ')
  // A statement over two lines continues under a prompt as wide as the branch's.
  shell.type('SELECT count(*) AS n\r')
  await shell.waitFor('              ...> ')
  shell.type('FROM t;\r')
  await shell.waitFor('(1 row)')
  assert.match(shell.shown, /│ 1 │/)
  shell.type('USE BRANCH main;\r')
  await shell.waitFor('OK')
  await shell.waitFor('strata> ')
  // Readline may redraw the typed line under the old prompt; the prompt after the answer is main's.
  const afterAnswer = shell.shown.slice(shell.shown.lastIndexOf('OK'))
  assert.match(afterAnswer, /^OK\s*strata> $/)
  shell.type('.quit\r')
  assert.equal(await shell.exited, 0)
})
