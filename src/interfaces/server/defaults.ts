/**
 * The defaults of `strata serve`, documented in the README. Apart from serve.ts so that the CLI can show
 * them in its help without loading the servers (they load only when `strata serve` runs).
 */
export const serveDefaults = {
  host: '127.0.0.1',
  /** The HTTP API's port: 8080, the usual unprivileged HTTP port. */
  port: 8080,
  /** PostgreSQL's own default is 5432; 5433 leaves it free for a real PostgreSQL on the same machine. */
  pgPort: 5433,
  pgUser: 'strata',
} as const
