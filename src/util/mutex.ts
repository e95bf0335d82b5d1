import { StrataError, type ErrorCode } from './errors.js'

/** The longest delay setTimeout keeps (a signed 32-bit number of milliseconds). */
const timerDelayMaxMs = 2 ** 31 - 1

/**
 * A FIFO async lock with a bounded wait. The writer lock is one of these: writers serialize, and a
 * writer that cannot get the lock in time fails with a clear error instead of hanging.
 */
export class Mutex {
  private held = false
  private readonly queue: (() => void)[] = []
  /**
   * Called, synchronously, when someone asks for the lock while it is held, before they wait: the
   * holder may give it up there (the writer lock: a transaction idle between its statements parks
   * its writes, src/engine/transactions.ts).
   */
  onContended: (() => void) | undefined

  get locked(): boolean {
    return this.held
  }

  /** Someone is queued for the lock. */
  get waiting(): boolean {
    return this.queue.length > 0
  }

  /**
   * The release function when the lock is free right now, or undefined when it is held: a caller that
   * can finish synchronously takes the lock without a promise. A free lock has nobody queued, so this
   * never overtakes a waiter.
   *
   * @example
   * const release = lock.tryAcquire()
   * if (release !== undefined) try { work() } finally { release() }
   */
  tryAcquire(): (() => void) | undefined {
    if (this.held) this.onContended?.()
    if (this.held) return undefined
    this.held = true
    return this.releaser()
  }

  /** Resolves with a release function; rejects with `code` after `timeoutMs`. */
  acquire(timeoutMs: number, code: ErrorCode, what: string, signal?: AbortSignal): Promise<() => void> {
    if (this.held) this.onContended?.()
    if (!this.held) {
      this.held = true
      return Promise.resolve(this.releaser())
    }
    return new Promise((resolve, reject) => {
      const grant = (): void => {
        clearTimeout(timer)
        resolve(this.releaser())
      }
      // A wait longer than a timer can hold (Node fires a delay above 2^31 − 1 ms after 1 ms) has no
      // timer: `Number.MAX_SAFE_INTEGER` means "until the lock is free" (the commit group's COMMIT).
      const timer =
        timeoutMs > timerDelayMaxMs
          ? undefined
          : setTimeout(() => {
              const index = this.queue.indexOf(grant)
              if (index >= 0) this.queue.splice(index, 1)
              reject(new StrataError(code, `timed out after ${timeoutMs} ms waiting for ${what}`))
            }, timeoutMs)
      signal?.addEventListener(
        'abort',
        () => {
          const index = this.queue.indexOf(grant)
          if (index < 0) return
          this.queue.splice(index, 1)
          clearTimeout(timer)
          reject(new StrataError('ABORTED', `aborted while waiting for ${what}`))
        },
        { once: true },
      )
      this.queue.push(grant)
    })
  }

  private releaser(): () => void {
    let released = false
    return () => {
      if (released) return
      released = true
      const next = this.queue.shift()
      if (next === undefined) this.held = false
      else next()
    }
  }
}
