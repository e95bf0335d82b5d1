/**
 * pgbench (Debian's, /usr/bin/pgbench) over the PostgreSQL protocol: Strata's PG server against the real
 * PostgreSQL on 127.0.0.1:5432 (database `test`), same data, same scripts, same client count.
 *
 * - select-only: pgbench's built-in `-S` (`SELECT abalance FROM pgbench_accounts WHERE aid = :aid`), in
 *   the simple protocol (pgbench's default) and with prepared statements (`-M prepared`);
 * - simple update: a custom script, one autocommit `UPDATE pgbench_accounts … WHERE aid = :aid`.
 *
 * Both sides are loaded the same way, through the wire: psql creates pgbench's four tables and
 * `\copy` loads 100K accounts (pgbench -i's own loader uses statements Strata does not have, such as
 * TRUNCATE and VACUUM). On PostgreSQL everything lives in a schema of its own that is dropped afterwards.
 * Strata runs durable (every commit fsynced), as PostgreSQL does by default.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import * as path from 'node:path'
import { Engine } from '../../src/engine/engine.js'
import { startPgServer } from '../../src/interfaces/server/pg/index.js'
import type { Measurement } from '../report.js'
import { withTemporaryDirectory, type Suite, type SuiteContext } from '../support.js'

const pgbench = '/usr/bin/pgbench'
const psql = '/usr/bin/psql'
const clients = 4
const threads = 2
const accounts = 100_000

interface Target {
  readonly name: string
  readonly host: string
  readonly port: number
  readonly database: string
  readonly user?: string
  /** Extra environment (PGOPTIONS with the PostgreSQL side's search_path). */
  readonly env: Readonly<Record<string, string>>
}

interface Run {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs a client program without blocking the event loop: Strata's server runs in this process. */
function run(program: string, args: readonly string[], env: Readonly<Record<string, string>>, timeoutMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', reject)
    child.on('close', (status) => {
      clearTimeout(timer)
      resolve({ status, stdout, stderr })
    })
  })
}

function connectionArgs(target: Target): string[] {
  return ['-h', target.host, '-p', String(target.port), ...(target.user === undefined ? [] : ['-U', target.user])]
}

async function psqlOk(target: Target, commands: readonly string[]): Promise<void> {
  const ran = await run(psql, [...connectionArgs(target), '-d', target.database, '-X', '-q', '-v', 'ON_ERROR_STOP=1', ...commands.flatMap((command) => ['-c', command])], target.env, 300_000)
  if (ran.status !== 0) throw new Error(`psql on ${target.name} failed: ${ran.stderr.trim()}`)
}

/** pgbench's tables, with the keys pgbench -i gives them, and 100K accounts loaded by COPY. */
async function initialise(target: Target, accountsFile: string): Promise<void> {
  await psqlOk(target, [
    'CREATE TABLE pgbench_branches (bid INTEGER PRIMARY KEY, bbalance INTEGER, filler TEXT)',
    'CREATE TABLE pgbench_tellers (tid INTEGER PRIMARY KEY, bid INTEGER, tbalance INTEGER, filler TEXT)',
    'CREATE TABLE pgbench_accounts (aid INTEGER PRIMARY KEY, bid INTEGER, abalance INTEGER, filler TEXT)',
    'CREATE TABLE pgbench_history (tid INTEGER, bid INTEGER, aid INTEGER, delta INTEGER, mtime TIMESTAMP, filler TEXT)',
    'INSERT INTO pgbench_branches VALUES (1, 0, NULL)',
    `INSERT INTO pgbench_tellers VALUES ${Array.from({ length: 10 }, (_, index) => `(${index + 1}, 1, 0, NULL)`).join(', ')}`,
    `\\copy pgbench_accounts FROM '${accountsFile}'`,
  ])
}

interface PgbenchResult {
  readonly tps: number
  readonly transactions: number
}

async function pgbenchRun(target: Target, args: readonly string[], durationS: number): Promise<PgbenchResult> {
  const ran = await run(pgbench, [...connectionArgs(target), '-n', '-c', String(clients), '-j', String(threads), '-T', String(durationS), ...args, target.database], target.env, (durationS + 120) * 1000)
  const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(ran.stdout)
  const processed = /number of transactions actually processed: (\d+)/.exec(ran.stdout)
  const failed = /number of failed transactions: (\d+)/.exec(ran.stdout)
  if (ran.status !== 0 || tps === null || processed === null) throw new Error(`pgbench ${args.join(' ')} on ${target.name} failed: ${(ran.stderr || ran.stdout).trim().split('\n').slice(-3).join(' ')}`)
  if (failed !== null && Number(failed[1]) > 0) throw new Error(`pgbench ${args.join(' ')} on ${target.name}: ${failed[1]} transactions failed`)
  return { tps: Number(tps[1]), transactions: Number(processed[1]) }
}

interface Workloads {
  readonly selectSimple: PgbenchResult
  readonly selectPrepared: PgbenchResult
  readonly update: PgbenchResult
}

async function workloads(target: Target, updateScript: string, durationS: number, context: SuiteContext): Promise<Workloads> {
  context.log(`pgbench on ${target.name}: select-only (simple), select-only (prepared), simple update; ${clients} clients, ${durationS} s each`)
  // A short warm-up: the first statements load the parser and the row store's caches on both sides.
  await pgbenchRun(target, ['-S'], 1)
  const selectSimple = await pgbenchRun(target, ['-S'], durationS)
  const selectPrepared = await pgbenchRun(target, ['-S', '-M', 'prepared'], durationS)
  const update = await pgbenchRun(target, ['-f', updateScript], durationS)
  return { selectSimple, selectPrepared, update }
}

export const pgbenchSuite: Suite = {
  name: 'pgbench',
  description: 'pgbench select-only and simple-update over the PostgreSQL protocol: Strata vs PostgreSQL on 127.0.0.1:5432',
  async run(context: SuiteContext): Promise<Measurement[]> {
    if (!existsSync(pgbench) || !existsSync(psql)) throw new Error('pgbench and psql are needed (Debian package postgresql-client)')
    const durationS = Math.max(2, Math.round(5 * context.scale))
    return withTemporaryDirectory('pgbench', async (directory) => {
      const accountsFile = path.join(directory, 'accounts.tsv')
      const lines: string[] = []
      for (let aid = 1; aid <= accounts; aid++) lines.push(`${aid}\t1\t0\t\\N`)
      await writeFile(accountsFile, `${lines.join('\n')}\n`)
      const updateScript = path.join(directory, 'update.sql')
      await writeFile(updateScript, `\\set aid random(1, ${accounts})\n\\set delta random(-5000, 5000)\nUPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;\n`)

      const engine = await Engine.open(path.join(directory, 'strata'), {})
      let strata: Workloads
      try {
        const server = await startPgServer(engine, { host: '127.0.0.1', port: 0, auth: { kind: 'trust' }, maxConnections: clients * 4, statementTimeoutMs: 600_000 })
        try {
          const target: Target = { name: 'Strata', host: '127.0.0.1', port: server.port, database: 'strata', user: 'bench', env: {} }
          context.log(`loading ${accounts} accounts into Strata through psql and COPY`)
          await initialise(target, accountsFile)
          strata = await workloads(target, updateScript, durationS, context)
        } finally {
          await server.close({ graceMs: 1_000 })
        }
      } finally {
        await engine.close()
      }

      const schema = `strata_pgbench_${process.pid}_${Date.now()}`
      const postgres: Target = { name: 'PostgreSQL', host: '127.0.0.1', port: 5432, database: 'test', env: { PGOPTIONS: `-c search_path=${schema}` } }
      const admin: Target = { ...postgres, env: {} }
      let baseline: Workloads | undefined
      let baselineError: string | undefined
      try {
        await psqlOk(admin, [`CREATE SCHEMA ${schema}`])
        try {
          context.log(`loading ${accounts} accounts into PostgreSQL (schema ${schema})`)
          await initialise(postgres, accountsFile)
          baseline = await workloads(postgres, updateScript, durationS, context)
        } finally {
          await psqlOk(admin, [`DROP SCHEMA ${schema} CASCADE`]).catch(() => undefined)
        }
      } catch (error) {
        // No PostgreSQL on this machine: Strata's numbers still stand, without a ratio.
        baselineError = error instanceof Error ? error.message : String(error)
        context.log(`PostgreSQL baseline unavailable: ${baselineError}`)
      }
      const details = (pick: (workloads: Workloads) => PgbenchResult): Record<string, unknown> => ({
        clients,
        threads,
        durationS,
        accounts,
        strataTransactions: pick(strata).transactions,
        postgresTransactions: baseline === undefined ? null : pick(baseline).transactions,
        ...(baselineError === undefined ? {} : { baselineError }),
      })
      return [
        {
          metric: 'pgbench select-only (simple protocol)',
          unit: 'tps',
          // Issue 11 (points 3 and 5); not a SPEC 12 target.
          target: { kind: 'ratioAtLeast', value: 0.5 },
          strata: strata.selectSimple.tps,
          baseline: baseline?.selectSimple.tps ?? null,
          baselineName: 'postgresql',
          details: details((workload) => workload.selectSimple),
        },
        {
          metric: 'pgbench select-only (prepared)',
          unit: 'tps',
          // Issue 11 (points 3 and 5); not a SPEC 12 target.
          target: { kind: 'ratioAtLeast', value: 0.7 },
          strata: strata.selectPrepared.tps,
          baseline: baseline?.selectPrepared.tps ?? null,
          baselineName: 'postgresql',
          details: details((workload) => workload.selectPrepared),
        },
        {
          metric: 'pgbench simple update (autocommit)',
          unit: 'tps',
          // Issue 11 (points 3 and 5); not a SPEC 12 target.
          target: { kind: 'ratioAtLeast', value: 0.5 },
          strata: strata.update.tps,
          baseline: baseline?.update.tps ?? null,
          baselineName: 'postgresql',
          details: details((workload) => workload.update),
        },
      ]
    })
  },
}
