/**
 * A recogniser's reading of a statement's tokens, for the statements PostgreSQL's grammar does not
 * have (streaming's CREATE SOURCE, branches' CREATE BRANCH): the statement's frame — keywords, names,
 * parentheses, commas — read token by token, with SYNTAX_ERRORs that name the position. The parts that
 * are ordinary SQL are cut out by token position and parsed by PostgreSQL's parser by the caller.
 *
 * No I/O.
 */
import { StrataError } from '../util/errors.js'
import { identifierOf, isWord, type ScannerToken } from './fulltext.js'

/** A recogniser's reading of a statement's tokens: positions, and errors that name them. */
export class StatementReader {
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

  /**
   * An option name: any identifier or keyword, reserved ones too (PostgreSQL's ColLabel, as its own
   * `WITH (…)` options take them), so `table = …` and `user = …` read as names.
   */
  label(what: string): string {
    const token = this.token
    const name = identifierOf(token) ?? (token !== undefined && token.keywordName !== 'NO_KEYWORD' && !token.text.startsWith('"') ? token.text.toLowerCase() : undefined)
    if (name === undefined) this.fail(what)
    this.at++
    return name!
  }

  /** A plain string constant (`'it''s'`); E'…', dollar quoting and the like are not read here. */
  stringLiteral(what: string): string {
    const token = this.token
    if (token === undefined || token.tokenName !== 'SCONST' || !token.text.startsWith("'")) this.fail(what)
    this.at++
    return token!.text.slice(1, -1).replaceAll("''", "'")
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
