/**
 * apache-arrow, loaded on first use rather than with the library: its ~150 modules take about 100 ms
 * to load — more than node's own start — and only `queryArrow`, `db.insert` of an Arrow Table and the
 * HTTP API's Arrow responses need it (the types the API declares are erased, so importing them costs
 * nothing).
 */
export type Arrow = typeof import('apache-arrow')

let arrowModule: Promise<Arrow> | undefined

/**
 * apache-arrow, imported once.
 *
 * @example
 * const { vectorFromArray, Int32 } = await loadArrow()
 */
export function loadArrow(): Promise<Arrow> {
  arrowModule ??= import('apache-arrow')
  return arrowModule
}
