/**
 * The rule a branch name follows (SPEC 10, docs/branches.md): git's rules for a ref name, checked
 * wherever a name comes in — SQL (src/sql/branches.ts) and the library's `db.branch(name)`.
 */
import { StrataError } from './errors.js'
import { limits } from './limits.js'

/** The branch every database has, which has no parent. */
export const mainBranch = 'main'

/** Characters git's ref rules refuse anywhere in a name (`git check-ref-format`), besides control characters. */
const refusedCharacters = new Set([' ', '~', '^', ':', '?', '*', '[', '\\'])

/**
 * Throws INVALID_NAME unless `name` follows git's rules for a ref name (`git check-ref-format
 * --allow-onelevel`), and the two SPEC 10 adds: no leading `-`, at most `limits.branchNameLengthMax`
 * characters.
 *
 * @example
 * checkBranchName('feature/x-1') // passes
 * checkBranchName('a..b')        // throws INVALID_NAME
 */
export function checkBranchName(name: string): void {
  const refuse = (why: string): never => {
    throw new StrataError('INVALID_NAME', `invalid branch name "${name}": ${why}`)
  }
  if (name.length === 0) refuse('it is empty')
  if (name.length > limits.branchNameLengthMax) refuse(`it is longer than ${limits.branchNameLengthMax} characters`)
  for (const character of name) {
    const code = character.codePointAt(0)!
    if (code < 0x20 || code === 0x7f) refuse('it holds a control character')
    if (refusedCharacters.has(character)) refuse(`it holds "${character}"`)
  }
  if (name.startsWith('-')) refuse('it starts with "-"')
  if (name.includes('..')) refuse('it holds ".."')
  if (name.includes('@{')) refuse('it holds "@{"')
  if (name === '@') refuse('it is "@"')
  if (name.endsWith('/')) refuse('it ends with "/"')
  if (name.endsWith('.')) refuse('it ends with "."')
  for (const component of name.split('/')) {
    if (component.length === 0) refuse('it holds an empty component ("//" or a leading "/")')
    if (component.startsWith('.')) refuse('a component starts with "."')
    if (component.endsWith('.lock')) refuse('a component ends with ".lock"')
  }
}
