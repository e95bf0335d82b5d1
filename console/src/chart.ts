/**
 * A chart of the current result, drawn only when the person asks: pick line or bar, an x column and
 * one or more numeric y columns, then "Draw chart". uPlot draws on a canvas and stays quick on
 * 100K points. x may be numeric, a date/timestamp (a time axis, in UTC as Strata stores it) or
 * anything else (one slot per row, labelled with the value).
 */
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import type { Column } from './api'
import { formatValue } from './format'

export type ChartKind = 'line' | 'bar'

export interface ChartSpec {
  readonly kind: ChartKind
  readonly xIndex: number
  readonly yIndexes: readonly number[]
}

type XAxisKind = 'number' | 'time' | 'category'

export interface ChartData {
  readonly xAxis: XAxisKind
  readonly xs: number[]
  readonly ys: (number | null)[][]
  /** For a category axis: the label of each slot. */
  readonly labels: readonly string[]
}

const palette = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf']
const chartHeightPx = 360

function numberOrNull(value: unknown): number | null {
  if (value === null || value === undefined || value === '') return null
  const number = typeof value === 'number' ? value : Number(value)
  return Number.isFinite(number) ? number : null
}

function epochSeconds(value: unknown): number | null {
  if (value === null || value === undefined) return null
  const text = String(value)
  // A DATE ('2024-01-31') parses as UTC midnight; a TIMESTAMP without zone is read as UTC as well.
  const iso = /^\d{4}-\d{2}-\d{2}[ T]\d/.test(text) && !/[zZ]|[+-]\d{2}:?\d{2}$/.test(text) ? `${text.replace(' ', 'T')}Z` : text
  const milliseconds = Date.parse(iso)
  return Number.isNaN(milliseconds) ? null : milliseconds / 1000
}

/** The x axis a column makes. */
function xAxisOf(column: Column): XAxisKind {
  return column.kind === 'time' ? 'time' : column.kind === 'number' ? 'number' : 'category'
}

/** The series uPlot draws; rows with no x are left out; a numeric or time x is sorted ascending. */
export function chartData(columns: readonly Column[], rows: readonly (readonly unknown[])[], spec: ChartSpec): ChartData {
  const xColumn = columns[spec.xIndex]
  if (xColumn === undefined) throw new Error(`no column ${spec.xIndex}`)
  const xAxis = xAxisOf(xColumn)
  if (xAxis === 'category') {
    return {
      xAxis,
      xs: rows.map((_row, index) => index),
      ys: spec.yIndexes.map((yIndex) => rows.map((row) => numberOrNull(row[yIndex]))),
      labels: rows.map((row) => formatValue(row[spec.xIndex])),
    }
  }
  const points: { x: number; row: readonly unknown[] }[] = []
  for (const row of rows) {
    const x = xAxis === 'time' ? epochSeconds(row[spec.xIndex]) : numberOrNull(row[spec.xIndex])
    if (x !== null) points.push({ x, row })
  }
  if (points.some((point, index) => index > 0 && point.x < (points[index - 1]?.x ?? point.x))) points.sort((a, b) => a.x - b.x)
  return {
    xAxis,
    xs: points.map((point) => point.x),
    ys: spec.yIndexes.map((yIndex) => points.map((point) => numberOrNull(point.row[yIndex]))),
    labels: [],
  }
}

/** The x range for bars: half the smallest gap between neighbouring x values beyond each end. */
function padRange(min: number, max: number, xs: readonly number[]): uPlot.Range.MinMax {
  let gap = Number.POSITIVE_INFINITY
  for (let index = 1; index < xs.length; index += 1) {
    const step = (xs[index] ?? 0) - (xs[index - 1] ?? 0)
    if (step > 0 && step < gap) gap = step
  }
  const half = Number.isFinite(gap) ? gap / 2 : 0.5
  return [min - half, max + half]
}

let nextId = 0

export class ChartView {
  readonly element: HTMLElement
  readonly #form: HTMLFormElement
  readonly #kind: HTMLSelectElement
  readonly #x: HTMLSelectElement
  readonly #ys: HTMLFieldSetElement
  readonly #plotArea: HTMLDivElement
  readonly #message: HTMLParagraphElement
  #columns: readonly Column[] = []
  #rows: readonly (readonly unknown[])[] = []
  #plot: uPlot | undefined
  readonly #resize: ResizeObserver

  constructor() {
    const id = `chart-${nextId++}`
    this.element = document.createElement('div')
    this.element.className = 'chart'
    this.#form = document.createElement('form')
    this.#form.className = 'chart-form'
    this.#form.setAttribute('aria-label', 'Chart options')
    this.#kind = document.createElement('select')
    this.#kind.id = `${id}-kind`
    for (const [value, label] of [['line', 'Line'], ['bar', 'Bar']] as const) this.#kind.append(new Option(label, value))
    this.#x = document.createElement('select')
    this.#x.id = `${id}-x`
    this.#x.addEventListener('change', () => this.#fillYs(this.#checkedYs()))
    this.#ys = document.createElement('fieldset')
    this.#ys.className = 'chart-ys'
    const draw = document.createElement('button')
    draw.type = 'submit'
    draw.className = 'primary'
    draw.textContent = 'Draw chart'
    this.#form.append(this.#labelled('Chart type', this.#kind), this.#labelled('X axis', this.#x), this.#ys, draw)
    this.#form.addEventListener('submit', (event) => {
      event.preventDefault()
      this.draw()
    })
    this.#message = document.createElement('p')
    this.#message.className = 'muted'
    this.#message.setAttribute('role', 'status')
    this.#plotArea = document.createElement('div')
    this.#plotArea.className = 'chart-plot'
    this.#plotArea.setAttribute('role', 'img')
    this.element.append(this.#form, this.#message, this.#plotArea)
    this.#resize = new ResizeObserver(() => this.#plot?.setSize({ width: this.#plotWidth(), height: chartHeightPx }))
    this.#resize.observe(this.#plotArea)
    this.setResult([], [])
  }

  #labelled(text: string, control: HTMLElement): HTMLLabelElement {
    const label = document.createElement('label')
    label.htmlFor = control.id
    label.append(text, control)
    return label
  }

  /** A new result: the form offers its columns again and any old chart goes away. */
  setResult(columns: readonly Column[], rows: readonly (readonly unknown[])[]): void {
    this.#columns = columns
    this.#rows = rows
    this.#destroyPlot()
    this.#x.replaceChildren(...columns.map((column, index) => new Option(column.name, String(index))))
    const firstTemporal = columns.findIndex((column) => column.kind === 'time')
    this.#x.value = String(firstTemporal >= 0 ? firstTemporal : 0)
    this.#fillYs([])
    const usable = columns.length >= 2 && rows.length > 0
    for (const control of this.#form.elements) (control as HTMLInputElement).disabled = !usable
    this.#message.textContent = usable ? 'Choose a chart type and columns, then draw the chart.' : 'Run a query with at least two columns and one row to chart it.'
  }

  #checkedYs(): number[] {
    return [...this.#ys.querySelectorAll<HTMLInputElement>('input:checked')].map((input) => Number(input.value))
  }

  #fillYs(previous: readonly number[]): void {
    const xIndex = Number(this.#x.value)
    const legend = document.createElement('legend')
    legend.textContent = 'Y axis'
    const candidates = this.#columns.map((column, index) => ({ column, index })).filter(({ index }) => index !== xIndex)
    const numeric = candidates.filter(({ column }) => column.kind === 'number')
    const defaults = previous.filter((index) => index !== xIndex)
    const checked = new Set(defaults.length > 0 ? defaults : numeric.slice(0, 1).map(({ index }) => index))
    this.#ys.replaceChildren(
      legend,
      ...candidates.map(({ column, index }) => {
        const label = document.createElement('label')
        const input = document.createElement('input')
        input.type = 'checkbox'
        input.value = String(index)
        input.checked = checked.has(index)
        label.append(input, column.name)
        return label
      }),
    )
  }

  #plotWidth(): number {
    return Math.max(200, this.#plotArea.clientWidth || this.element.clientWidth || 600)
  }

  #destroyPlot(): void {
    this.#plot?.destroy()
    this.#plot = undefined
    this.#plotArea.removeAttribute('aria-label')
  }

  /** Draws the chart the form describes. */
  draw(): void {
    this.#destroyPlot()
    const spec: ChartSpec = { kind: this.#kind.value === 'bar' ? 'bar' : 'line', xIndex: Number(this.#x.value), yIndexes: this.#checkedYs() }
    if (spec.yIndexes.length === 0) {
      this.#message.textContent = 'Choose at least one column for the y axis.'
      return
    }
    const data = chartData(this.#columns, this.#rows, spec)
    if (data.xs.length === 0) {
      this.#message.textContent = 'No row has a usable x value.'
      return
    }
    const xName = this.#columns[spec.xIndex]?.name ?? 'x'
    const yNames = spec.yIndexes.map((index) => this.#columns[index]?.name ?? `y${index}`)
    const bars = spec.kind === 'bar' ? uPlot.paths.bars?.({ size: [0.7, 60], align: 0 }) : undefined
    const options: uPlot.Options = {
      width: this.#plotWidth(),
      height: chartHeightPx,
      scales: {
        // Bars need room for half a bar beyond the first and last x, and a baseline at zero.
        x: { time: data.xAxis === 'time', ...(spec.kind === 'bar' ? { range: (_plot: uPlot, min: number, max: number) => padRange(min, max, data.xs) } : {}) },
        ...(spec.kind === 'bar' ? { y: { range: (_plot: uPlot, min: number, max: number): uPlot.Range.MinMax => [Math.min(0, min), Math.max(0, max) + Math.abs(max - Math.min(0, min)) * 0.05] } } : {}),
      },
      ...(data.xAxis === 'time' ? { tzDate: (seconds: number) => uPlot.tzDate(new Date(seconds * 1000), 'Etc/UTC') } : {}),
      axes: [
        {
          label: xName,
          ...(data.xAxis === 'category'
            ? {
                // Ticks only at whole slots, each labelled with its row's value.
                incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 1_000_000],
                values: (_plot: uPlot, splits: number[]) => splits.map((split) => (Number.isInteger(split) ? (data.labels[split] ?? '') : '')),
              }
            : {}),
        },
        { label: yNames.length === 1 ? yNames[0] : '' },
      ],
      series: [
        { label: xName, ...(data.xAxis === 'category' ? { value: (_plot: uPlot, value: number) => data.labels[value] ?? '' } : {}) },
        ...yNames.map((name, index) => {
          const color = palette[index % palette.length] ?? '#1f77b4'
          return spec.kind === 'bar'
            ? { label: name, stroke: color, fill: `${color}99`, width: 1, ...(bars === undefined ? {} : { paths: bars }), points: { show: false } }
            : { label: name, stroke: color, width: 1.5, points: { show: data.xs.length <= 200 } }
        }),
      ],
    }
    this.#plot = new uPlot(options, [data.xs, ...data.ys] as uPlot.AlignedData, this.#plotArea)
    this.#plotArea.setAttribute('aria-label', `${spec.kind === 'bar' ? 'Bar' : 'Line'} chart of ${yNames.join(', ')} by ${xName}, ${data.xs.length} points`)
    this.#message.textContent = `${spec.kind === 'bar' ? 'Bar' : 'Line'} chart of ${yNames.join(', ')} by ${xName} (${data.xs.length.toLocaleString()} points).`
  }
}
