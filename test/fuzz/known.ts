/**
 * Classes of statements the generator leaves out by default, each a divergence that is known and
 * owned elsewhere: while it is open, generating it would make every run fail on the same finding.
 * Remove an entry when its fix lands (then the fixed-seed test in `npm test` keeps it fixed);
 * `npm run fuzz -- --include-known` generates everything, to see what is still open.
 *
 * `owner: 'upstream'` — a DuckDB bug; docs/fuzzing.md ("Known upstream bugs") has the details.
 * `owner: 'open'` — found by the fuzzer, not fixed yet; docs/fuzzing.md says why.
 */
export interface KnownIssue {
  readonly id: string
  readonly owner: 'upstream' | 'open'
  /** What diverges, with a minimal reproduction. */
  readonly what: string
}

export const knownOpen: readonly KnownIssue[] = [
  {
    id: 'double-negative-zero',
    owner: 'open',
    what: 'DOUBLE -0 comes back as 0 from both stores: SQLite keeps a REAL column\'s -0.0 as 0 (the mirror copies 0): `CREATE TABLE t (d DOUBLE); INSERT INTO t VALUES (-0.0); SELECT d FROM t` → 0 (DuckDB alone: -0). Equal in every comparison; visible only to Object.is and 1/d',
  },
  {
    id: 'duckdb-negated-minimum',
    owner: 'upstream',
    what: 'DuckDB 1.5.6 folds `x * -1 <op> <minimum of x\'s type>` to FALSE for every <op> (MoveConstantsRule): `CREATE TABLE t (c SMALLINT); INSERT INTO t VALUES (1); SELECT c FROM t WHERE c * -1 != -32768` → no rows (right: 1); the TLP check sees count(p) + count(NOT p) + count(p IS NULL) = 0 ≠ 1',
  },
]

/** The ids excluded by default. */
export const knownOpenIds: ReadonlySet<string> = new Set(knownOpen.map((issue) => issue.id))
