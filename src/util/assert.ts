/**
 * Assertions are for our own bugs: a failed one means Strata is wrong, not the user. User mistakes
 * and failures of the world get a StrataError with a code instead.
 */
export class AssertionError extends Error {
  constructor(message: string) {
    super(`strata internal assertion failed: ${message}`)
    this.name = 'AssertionError'
  }
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message)
}

export function unreachable(value: never, what: string): never {
  throw new AssertionError(`unreachable ${what}: ${JSON.stringify(value)}`)
}
