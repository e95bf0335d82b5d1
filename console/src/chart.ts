/**
 * A chart of the current result, drawn only when the person asks: pick line or bar, an x column,
 * optionally a series column, and one or more numeric y columns, then "Draw chart". uPlot draws on a
 * canvas and stays quick on 100K points. x may be numeric, a date/timestamp (a time axis, in UTC as
 * Strata stores it) or anything else (one slot per row — per distinct value with a series column —
 * labelled with the value). A series column turns long-form rows (day, region, units) into one
 * series per region (see chartData).
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
  /**
   * A column whose values split the rows into one series each: long-form data such as
   * (day, region, units) draws a line per region, not one line zig-zagging between regions.
   */
  readonly seriesIndex?: number | undefined
}

type XAxisKind = 'number' | 'time' | 'category'

export interface ChartSeries {
  readonly label: string
  readonly values: (number | null)[]
}

export interface ChartData {
  readonly xAxis: XAxisKind
  readonly xs: number[]
  readonly series: readonly ChartSeries[]
  /** For a category axis: the label of each slot. */
  readonly labels: readonly string[]
  /** Values of the series column that were not drawn: more than chartSeriesMax series. */
  readonly categoriesOmitted: number
  /** Rows whose x and series value an earlier row already had; the later row is the one drawn. */
  readonly rowsRepeated: number
}

/**
 * At most this many series in one chart (values of the series column × y columns). Past about 20 the
 * colours stop being told apart and the legend outgrows the plot; the ones with the largest totals
 * are drawn and the rest are counted in the chart's message.
 */
export const chartSeriesMax = 20

/** Twenty colours that stay apart from each other (Tableau 20's order: strong, then light). */
const palette = [
  '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf',
  '#aec7e8', '#ffbb78', '#98df8a', '#ff9896', '#c5b0d5', '#c49c94', '#f7b6d2', '#c7c7c7', '#dbdb8d', '#9edae5',
]
const chartHeightPx = 360
/** Share of the gap between neighbouring x values that a bar (or a group of bars) takes. */
const barGroupFraction = 0.7

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

/** A row's x as the axis places it: a number (number or time axis) or a label (category axis); null when unusable. */
function xKey(xAxis: XAxisKind, value: unknown): number | string | null {
  if (xAxis === 'category') return formatValue(value)
  return xAxis === 'time' ? epochSeconds(value) : numberOrNull(value)
}

/** True when some x value occurs in more than one row: the shape of long-form data. */
export function xRepeats(columns: readonly Column[], rows: readonly (readonly unknown[])[], xIndex: number): boolean {
  const column = columns[xIndex]
  if (column === undefined) return false
  const xAxis = xAxisOf(column)
  const seen = new Set<number | string>()
  for (const row of rows) {
    const key = xKey(xAxis, row[xIndex])
    if (key === null) continue
    if (seen.has(key)) return true
    seen.add(key)
  }
  return false
}

/**
 * The series uPlot draws; rows with no x are left out; a numeric or time x is sorted ascending.
 * Without a series column each y column is one series over the rows (on a category axis, one slot
 * per row, in the result's order). With one, the rows are pivoted: one slot per distinct x (sorted;
 * on a category axis in order of first appearance), one series per value of the series column (and
 * y column), empty where that value has no row at that x.
 */
export function chartData(columns: readonly Column[], rows: readonly (readonly unknown[])[], spec: ChartSpec): ChartData {
  const xColumn = columns[spec.xIndex]
  if (xColumn === undefined) throw new Error(`no column ${spec.xIndex}`)
  const xAxis = xAxisOf(xColumn)
  const yName = (yIndex: number): string => columns[yIndex]?.name ?? `y${yIndex}`
  if (spec.seriesIndex !== undefined) return pivotedChartData(columns, rows, { ...spec, seriesIndex: spec.seriesIndex }, xAxis)
  const bySeries = (points: readonly (readonly unknown[])[]): ChartSeries[] =>
    spec.yIndexes.map((yIndex) => ({ label: yName(yIndex), values: points.map((row) => numberOrNull(row[yIndex])) }))
  if (xAxis === 'category') {
    return { xAxis, xs: rows.map((_row, index) => index), series: bySeries(rows), labels: rows.map((row) => formatValue(row[spec.xIndex])), categoriesOmitted: 0, rowsRepeated: 0 }
  }
  const points: { x: number; row: readonly unknown[] }[] = []
  for (const row of rows) {
    const x = xKey(xAxis, row[spec.xIndex])
    if (typeof x === 'number') points.push({ x, row })
  }
  if (points.some((point, index) => index > 0 && point.x < (points[index - 1]?.x ?? point.x))) points.sort((a, b) => a.x - b.x)
  return { xAxis, xs: points.map((point) => point.x), series: bySeries(points.map((point) => point.row)), labels: [], categoriesOmitted: 0, rowsRepeated: 0 }
}

function pivotedChartData(
  columns: readonly Column[],
  rows: readonly (readonly unknown[])[],
  spec: ChartSpec & { readonly seriesIndex: number },
  xAxis: XAxisKind,
): ChartData {
  const points: { x: number | string; category: string; row: readonly unknown[] }[] = []
  for (const row of rows) {
    const x = xKey(xAxis, row[spec.xIndex])
    if (x !== null) points.push({ x, category: formatValue(row[spec.seriesIndex]), row })
  }
  // Slots: the distinct x values.
  const slots = new Map<number | string, number>()
  let labels: string[] = []
  let xs: number[]
  if (xAxis === 'category') {
    for (const point of points) if (!slots.has(point.x)) slots.set(point.x, slots.size)
    labels = [...slots.keys()].map(String)
    xs = labels.map((_label, index) => index)
  } else {
    xs = [...new Set(points.map((point) => point.x as number))].sort((a, b) => a - b)
    for (const [index, x] of xs.entries()) slots.set(x, index)
  }
  // Categories: the largest (by the total size of the first y column) when there are too many.
  const firstY = spec.yIndexes[0]
  const categories = new Map<string, { first: number; total: number }>()
  for (const [index, point] of points.entries()) {
    const entry = categories.get(point.category) ?? { first: index, total: 0 }
    entry.total += Math.abs(firstY === undefined ? 0 : (numberOrNull(point.row[firstY]) ?? 0))
    categories.set(point.category, entry)
  }
  const categoriesMax = Math.max(1, Math.floor(chartSeriesMax / Math.max(1, spec.yIndexes.length)))
  const kept = [...categories.entries()]
    .sort(([, a], [, b]) => b.total - a.total || a.first - b.first)
    .slice(0, categoriesMax)
    .sort(([, a], [, b]) => a.first - b.first)
    .map(([category]) => category)
  const keptIndex = new Map(kept.map((category, index) => [category, index]))
  const series: ChartSeries[] = kept.flatMap((category) =>
    spec.yIndexes.map((yIndex) => ({
      label: spec.yIndexes.length === 1 ? category : `${category} · ${columns[yIndex]?.name ?? `y${yIndex}`}`,
      values: xs.map((): number | null => null),
    })),
  )
  const filled = kept.map(() => new Set<number>())
  let rowsRepeated = 0
  for (const point of points) {
    const categoryIndex = keptIndex.get(point.category)
    const slot = slots.get(point.x)
    if (categoryIndex === undefined || slot === undefined) continue
    const filledSlots = filled[categoryIndex]
    if (filledSlots?.has(slot) === true) rowsRepeated += 1
    filledSlots?.add(slot)
    for (const [yPosition, yIndex] of spec.yIndexes.entries()) {
      const values = series[categoryIndex * spec.yIndexes.length + yPosition]?.values
      if (values !== undefined) values[slot] = numberOrNull(point.row[yIndex])
    }
  }
  return { xAxis, xs, series, labels, categoriesOmitted: categories.size - kept.length, rowsRepeated }
}

/** The smallest step between neighbouring (sorted) x values; 1 when there is none. */
function smallestGap(xs: readonly number[]): number {
  let gap = Number.POSITIVE_INFINITY
  for (let index = 1; index < xs.length; index += 1) {
    const step = (xs[index] ?? 0) - (xs[index - 1] ?? 0)
    if (step > 0 && step < gap) gap = step
  }
  return Number.isFinite(gap) ? gap : 1
}

/** The x range for bars: half the smallest gap between neighbouring x values beyond each end. */
function padRange(min: number, max: number, xs: readonly number[]): uPlot.Range.MinMax {
  const half = smallestGap(xs) / 2
  return [min - half, max + half]
}

/**
 * Bars for series `position` of `count` drawn side by side at each x: the group takes
 * barGroupFraction of the smallest x gap, each series an equal part of it, left to right.
 */
function groupedBars(xs: readonly number[], position: number, count: number): uPlot.Series.PathBuilder | undefined {
  const groupWidth = smallestGap(xs) * barGroupFraction
  const barWidth = groupWidth / count
  const lefts = xs.map((x) => x - groupWidth / 2 + position * barWidth)
  // Facet unit 1 is "in x-scale values" (uPlot.Series.BarsPathBuilderFacetUnit.ScaleValue, a const enum).
  const scaleValue = 1 as uPlot.Series.BarsPathBuilderFacetUnit
  return uPlot.paths.bars?.({
    size: [1, Number.POSITIVE_INFINITY],
    disp: {
      x0: { unit: scaleValue, values: () => lefts },
      size: { unit: scaleValue, values: () => xs.map(() => barWidth) },
    },
  })
}

let nextId = 0

/** The value of the series picker that means "no series column". */
const noSeries = ''

export class ChartView {
  readonly element: HTMLElement
  readonly #form: HTMLFormElement
  readonly #kind: HTMLSelectElement
  readonly #x: HTMLSelectElement
  readonly #series: HTMLSelectElement
  readonly #ys: HTMLFieldSetElement
  readonly #plotArea: HTMLDivElement
  readonly #message: HTMLParagraphElement
  #columns: readonly Column[] = []
  #rows: readonly (readonly unknown[])[] = []
  #plot: uPlot | undefined
  /** The person picked the series column (or none) themselves: changing x keeps their pick. */
  #seriesPicked = false
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
    this.#x.addEventListener('change', () => {
      this.#fillSeries()
      this.#fillYs(this.#checkedYs())
    })
    this.#series = document.createElement('select')
    this.#series.id = `${id}-series`
    this.#series.title = 'Draw one series per value of this column (long-form data such as day, region, units)'
    this.#series.addEventListener('change', () => {
      this.#seriesPicked = true
      this.#fillYs(this.#checkedYs())
    })
    this.#ys = document.createElement('fieldset')
    this.#ys.className = 'chart-ys'
    const draw = document.createElement('button')
    draw.type = 'submit'
    draw.className = 'primary'
    draw.textContent = 'Draw chart'
    this.#form.append(this.#labelled('Chart type', this.#kind), this.#labelled('X axis', this.#x), this.#labelled('Series', this.#series), this.#ys, draw)
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
    // x may be any column: numbers and dates make a scale, anything else one slot per value.
    this.#x.replaceChildren(...columns.map((column, index) => new Option(column.name, String(index))))
    const firstTemporal = columns.findIndex((column) => column.kind === 'time')
    this.#x.value = String(firstTemporal >= 0 ? firstTemporal : 0)
    this.#seriesPicked = false
    this.#fillSeries()
    this.#fillYs([])
    const usable = columns.length >= 2 && rows.length > 0
    for (const control of this.#form.elements) (control as HTMLInputElement).disabled = !usable
    this.#message.textContent = usable ? 'Choose a chart type and columns, then draw the chart.' : 'Run a query with at least two columns and one row to chart it.'
  }

  #seriesIndex(): number | undefined {
    return this.#series.value === noSeries ? undefined : Number(this.#series.value)
  }

  /**
   * The series picker offers every column but x. Unless the person picked one, it starts at the
   * first text column when x repeats (several rows per x: long-form data); with one row per x a
   * split would only give each row a series of its own, so it starts at none.
   */
  #fillSeries(): void {
    const xIndex = Number(this.#x.value)
    const previous = this.#series.value
    this.#series.replaceChildren(
      new Option('(none)', noSeries),
      ...this.#columns.flatMap((column, index) => (index === xIndex ? [] : [new Option(column.name, String(index))])),
    )
    if (this.#seriesPicked && previous !== String(xIndex) && [...this.#series.options].some((option) => option.value === previous)) {
      this.#series.value = previous
      return
    }
    const firstText = this.#columns.findIndex((column, index) => index !== xIndex && column.kind === 'other')
    this.#series.value = firstText >= 0 && xRepeats(this.#columns, this.#rows, xIndex) ? String(firstText) : noSeries
  }

  #checkedYs(): number[] {
    return [...this.#ys.querySelectorAll<HTMLInputElement>('input:checked')].map((input) => Number(input.value))
  }

  /** The y picker offers the numeric columns other than x and the series column. */
  #fillYs(previous: readonly number[]): void {
    const xIndex = Number(this.#x.value)
    const seriesIndex = this.#seriesIndex()
    const legend = document.createElement('legend')
    legend.textContent = 'Y axis'
    const candidates = this.#columns
      .map((column, index) => ({ column, index }))
      .filter(({ column, index }) => index !== xIndex && index !== seriesIndex && column.kind === 'number')
    const defaults = previous.filter((index) => candidates.some((candidate) => candidate.index === index))
    const checked = new Set(defaults.length > 0 ? defaults : candidates.slice(0, 1).map(({ index }) => index))
    const none = document.createElement('span')
    none.className = 'muted'
    none.textContent = 'No numeric column to draw.'
    this.#ys.replaceChildren(
      legend,
      ...(candidates.length === 0 && this.#columns.length > 0 ? [none] : []),
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
    const spec: ChartSpec = {
      kind: this.#kind.value === 'bar' ? 'bar' : 'line',
      xIndex: Number(this.#x.value),
      yIndexes: this.#checkedYs(),
      seriesIndex: this.#seriesIndex(),
    }
    if (spec.yIndexes.length === 0) {
      this.#message.textContent = 'Choose at least one numeric column for the y axis.'
      return
    }
    const data = chartData(this.#columns, this.#rows, spec)
    if (data.xs.length === 0) {
      this.#message.textContent = 'No row has a usable x value.'
      return
    }
    const xName = this.#columns[spec.xIndex]?.name ?? 'x'
    const yNames = spec.yIndexes.map((index) => this.#columns[index]?.name ?? `y${index}`)
    const seriesName = spec.seriesIndex === undefined ? undefined : (this.#columns[spec.seriesIndex]?.name ?? 'series')
    const bars = spec.kind === 'bar' && data.series.length === 1 ? uPlot.paths.bars?.({ size: [barGroupFraction, 60], align: 0 }) : undefined
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
        ...data.series.map((series, index): uPlot.Series => {
          const color = palette[index % palette.length] ?? '#1f77b4'
          if (spec.kind === 'bar') {
            // Several series: side by side at each x rather than drawn over each other.
            const paths = data.series.length === 1 ? bars : groupedBars(data.xs, index, data.series.length)
            return { label: series.label, stroke: color, fill: `${color}99`, width: 1, ...(paths === undefined ? {} : { paths }), points: { show: false } }
          }
          // A pivoted series is empty at the x values its category has no row for: the line goes on across them.
          return { label: series.label, stroke: color, width: 1.5, spanGaps: seriesName !== undefined, points: { show: data.xs.length <= 200 } }
        }),
      ],
    }
    this.#plot = new uPlot(options, [data.xs, ...data.series.map((series) => series.values)] as uPlot.AlignedData, this.#plotArea)
    const kindName = spec.kind === 'bar' ? 'Bar' : 'Line'
    const what = `${kindName} chart of ${yNames.join(', ')} by ${xName}`
    if (seriesName === undefined) {
      this.#plotArea.setAttribute('aria-label', `${what}, ${data.xs.length} points`)
      this.#message.textContent = `${what} (${data.xs.length.toLocaleString()} points).`
      return
    }
    const count = `${data.series.length} series`
    this.#plotArea.setAttribute('aria-label', `${what}, one series per ${seriesName}: ${count}, ${data.xs.length} x values`)
    const notes: string[] = []
    if (data.categoriesOmitted > 0) {
      notes.push(`${data.categoriesOmitted.toLocaleString()} more ${seriesName} value${data.categoriesOmitted === 1 ? '' : 's'} not drawn: at most ${chartSeriesMax} series, the largest by total ${yNames[0] ?? ''} are shown`)
    }
    if (data.rowsRepeated > 0) {
      notes.push(`${data.rowsRepeated.toLocaleString()} row${data.rowsRepeated === 1 ? '' : 's'} repeated an x and ${seriesName} of an earlier row; the later one is drawn (GROUP BY in the query combines them)`)
    }
    this.#message.textContent = `${what}, one series per ${seriesName} (${count}, ${data.xs.length.toLocaleString()} x values).${notes.map((note) => ` ${note}.`).join('')}`
  }
}
