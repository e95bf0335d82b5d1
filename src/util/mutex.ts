import { StrataError, type ErrorCode } from './errors.js'

/**
 * A FIFO async lock with a bounded wait. The writer lock is one of these: writers serialize, and a
 * writer that cannot get the lock in time fails with a clear error instead of hanging.
 */
export class Mutex {
  private held = false
  private readonly queue: (() => void)[] = []

  get locked(): boolean {
    return this.held
  }

  /** Resolves with a release function; rejects with `code` after `timeoutMs`. */
  acquire(timeoutMs: number, code: ErrorCode, what: string, signal?: AbortSignal): Promise<() => void> {
    if (!this.held) {
      this.held = true
      return Promise.resolve(this.releaser())
    }
    return new Promise((resolve, reject) => {
      const grant = (): void => {
        clearTimeout(timer)
        resolve(this.releaser())
      }
      const timer = setTimeout(() => {
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
