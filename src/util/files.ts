/** Files written outside the stores (a Parquet sink's), made durable before Strata records them as written. */
import { closeSync, fsyncSync, openSync } from 'node:fs'

/**
 * Flushes a file's data, or a directory's entries (a rename into it, a file or directory created in
 * it), to the disk: what a position committed after it says was delivered survives a power loss.
 *
 * @example syncToDisk('/data/lake/part-1-4.parquet'); syncToDisk('/data/lake')
 */
export function syncToDisk(path: string): void {
  const descriptor = openSync(path, 'r')
  try {
    fsyncSync(descriptor)
  } finally {
    closeSync(descriptor)
  }
}
