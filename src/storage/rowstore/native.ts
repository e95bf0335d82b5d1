/**
 * Where better-sqlite3's compiled addon is, found once. Without it, better-sqlite3 asks the `bindings`
 * package, which tries a dozen candidate paths with a stat each before it loads the addon: about
 * 2 ms of every cold open (issue 11, point 4). The addon is where npm's install puts it; if it is not
 * there (a build of another layout), better-sqlite3 searches as usual.
 */
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'

let found: { readonly nativeBinding?: string } | undefined

/** better-sqlite3's constructor options that name its addon, when it is where npm installs it. */
export function addonOptions(): { readonly nativeBinding?: string } {
  if (found !== undefined) return found
  let path: string | undefined
  try {
    path = createRequire(import.meta.url).resolve('better-sqlite3/build/Release/better_sqlite3.node')
  } catch {
    path = undefined
  }
  found = path !== undefined && existsSync(path) ? { nativeBinding: path } : {}
  return found
}
