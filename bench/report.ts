/**
 * What a suite measures and how it is shown: a table of ratios on stdout and the same numbers as JSON in
 * bench/results/latest.json (SPEC section 12: "Benchmarks print machine-readable JSON and the ratio to
 * each baseline").
 */
import { mkdir, writeFile } from 'node:fs/promises'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * A SPEC 12 target. Ratios are always strata ÷ baseline of the metric as measured, so for a throughput
 * "≥ 0.5×" means Strata does at least half the baseline's work per second, and for a duration
 * "≤ 1.15×" means Strata takes at most 15% longer. Absolute targets compare Strata's own value.
 */
export type Target =
  | { readonly kind: 'ratioAtLeast'; readonly value: number }
  | { readonly kind: 'ratioAtMost'; readonly value: number }
  | { readonly kind: 'valueAtLeast'; readonly value: number }
  | { readonly kind: 'valueAtMost'; readonly value: number }

export interface Measurement {
  readonly metric: string
  /** 'ops/s', 'rows/s', 'ms', … — printed after the numbers. */
  readonly unit: string
  readonly strata: number | null
  readonly baseline: number | null
  /** What the baseline is: 'better-sqlite3', 'duckdb'. */
  readonly baselineName?: string
  readonly target?: Target
  /** Sizes, settings and secondary numbers, kept in the JSON only. */
  readonly details?: Readonly<Record<string, unknown>>
}

export interface SuiteOutcome {
  readonly suite: string
  readonly durationMs: number
  readonly measurements: readonly Measurement[]
  /** Set when the suite threw; the measurements taken before the failure are kept. */
  readonly error?: string
}

export interface RunReport {
  readonly startedAt: string
  readonly durationMs: number
  readonly scale: number
  readonly seed: number
  readonly environment: Readonly<Record<string, unknown>>
  readonly suites: readonly SuiteOutcome[]
}

export function ratioOf(measurement: Measurement): number | null {
  const { strata, baseline } = measurement
  if (strata === null || baseline === null || baseline === 0) return null
  return strata / baseline
}

/** Whether the target is met; null when there is no target or the number it needs is missing. */
export function targetMet(measurement: Measurement): boolean | null {
  const target = measurement.target
  if (target === undefined) return null
  const ratio = ratioOf(measurement)
  switch (target.kind) {
    case 'ratioAtLeast':
      return ratio === null ? null : ratio >= target.value
    case 'ratioAtMost':
      return ratio === null ? null : ratio <= target.value
    case 'valueAtLeast':
      return measurement.strata === null ? null : measurement.strata >= target.value
    case 'valueAtMost':
      return measurement.strata === null ? null : measurement.strata <= target.value
  }
}

export function describeTarget(target: Target | undefined, unit: string): string {
  if (target === undefined) return '—'
  switch (target.kind) {
    case 'ratioAtLeast':
      return `ratio ≥ ${target.value}×`
    case 'ratioAtMost':
      return `ratio ≤ ${target.value}×`
    case 'valueAtLeast':
      return `≥ ${formatNumber(target.value)} ${unit}`
    case 'valueAtMost':
      return `≤ ${formatNumber(target.value)} ${unit}`
  }
}

/** Three significant figures for small numbers, thousands separators for large ones. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value)
  const magnitude = Math.abs(value)
  if (magnitude >= 1000) return Math.round(value).toLocaleString('en-US')
  if (magnitude >= 100) return value.toFixed(0)
  if (magnitude >= 10) return value.toFixed(1)
  if (magnitude >= 1) return value.toFixed(2)
  return value.toPrecision(3)
}

function formatValue(value: number | null, unit: string): string {
  return value === null ? '—' : `${formatNumber(value)} ${unit}`
}

const headers = ['suite', 'metric', 'strata', 'baseline', 'ratio', 'target', 'met?'] as const

/** The result table as plain text, one row per measurement and one per failed suite. */
export function renderTable(report: RunReport): string {
  const rows: string[][] = []
  for (const outcome of report.suites) {
    for (const measurement of outcome.measurements) {
      const ratio = ratioOf(measurement)
      const met = targetMet(measurement)
      const baselineText =
        measurement.baseline === null
          ? '—'
          : `${formatValue(measurement.baseline, measurement.unit)} (${measurement.baselineName ?? 'baseline'})`
      rows.push([
        outcome.suite,
        measurement.metric,
        formatValue(measurement.strata, measurement.unit),
        baselineText,
        ratio === null ? '—' : `${ratio.toFixed(2)}×`,
        describeTarget(measurement.target, measurement.unit),
        met === null ? '—' : met ? 'yes' : 'NO',
      ])
    }
    if (outcome.error !== undefined) {
      rows.push([outcome.suite, 'FAILED', firstLine(outcome.error), '', '', '', ''])
    }
  }
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  )
  const line = (cells: readonly string[]): string =>
    cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' │ ').trimEnd()
  const separator = widths.map((width) => '─'.repeat(width)).join('─┼─')
  return [line(headers), separator, ...rows.map(line)].join('\n')
}

function firstLine(text: string): string {
  const line = text.split('\n')[0] ?? ''
  return line.length > 160 ? `${line.slice(0, 157)}...` : line
}

/** bench/results/ in the project, whether this file runs from bench/ (tsx) or dist/bench/ (tsc). */
export function resultsDirectory(): string {
  const here = path.dirname(fileURLToPath(import.meta.url))
  const projectRoot = path.basename(path.dirname(here)) === 'dist' ? path.resolve(here, '../..') : path.resolve(here, '..')
  return path.join(projectRoot, 'bench', 'results')
}

/** Writes the report as JSON (ratios and target verdicts included) and returns the file's path. */
export async function writeJsonReport(report: RunReport): Promise<string> {
  const directory = resultsDirectory()
  await mkdir(directory, { recursive: true })
  const file = path.join(directory, 'latest.json')
  const json = {
    ...report,
    suites: report.suites.map((outcome) => ({
      ...outcome,
      measurements: outcome.measurements.map((measurement) => ({
        ...measurement,
        ratio: ratioOf(measurement),
        targetText: describeTarget(measurement.target, measurement.unit),
        targetMet: targetMet(measurement),
      })),
    })),
  }
  await writeFile(file, `${JSON.stringify(json, jsonReplacer, 2)}\n`)
  return file
}

/** JSON cannot hold bigint or Infinity; details may contain either. */
function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString()
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value)
  return value
}

export function environmentSummary(): Record<string, unknown> {
  const cpus = os.cpus()
  return {
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    cpuModel: cpus[0]?.model ?? 'unknown',
    cpuCount: cpus.length,
    memoryBytesTotal: os.totalmem(),
  }
}
