/**
 * The results grid, virtualized: however many rows a result has, the DOM holds only the rows in view
 * (plus a few above and below), positioned inside a spacer as tall as all the rows would be. Rows are
 * a fixed height, so the rows in view follow from the scroll position by division, and row elements
 * are reused as the view moves, so scrolling through 100K rows creates no garbage per row.
 *
 * Accessibility: the scrolling viewport is one focusable element (arrow keys and Page Up/Down scroll
 * it); it is an ARIA grid whose aria-rowcount is the whole result and whose rows carry aria-rowindex,
 * so assistive technology knows where the rendered rows sit in the result.
 */
import type { Column } from './api'
import { formatCell } from './format'

/** Pixels per row; must match `.grid-row { height }` in style.css. */
const rowHeightPx = 26
/** Rows rendered beyond each edge of the view, so a quick scroll does not show blank space first. */
const overscanRows = 8
/**
 * Browsers cap an element's height (Chrome near 33.5M px). Above this the spacer stays at this
 * height and the scroll position is scaled to the row it stands for, so any row count scrolls.
 */
const spacerHeightMaxPx = 10_000_000
/** Rows sampled to size columns: enough to see typical widths, few enough to stay instant. */
const widthSampleRows = 200
/** Characters of a cell measured: a column is never wider than columnWidthMaxPx anyway. */
const measuredCharactersMax = 80
const columnWidthMinPx = 64
/**
 * A column is at most this wide. A header wider than this (a long name, a type such as
 * `STRUCT(…)`) wraps onto more lines, and the header row grows; nothing in the header is cut off.
 */
const columnWidthMaxPx = 360
/** Used when the page cannot measure text (no canvas): rough widths per character. */
const fallbackCharacterWidthPx = 8.2
/** `.grid-cell` padding (8px each side), its right border, and a pixel of rounding slack. */
const cellPaddingPx = 19
/** `.grid-column-type { margin-left }` plus the space before it. */
const typeGapPx = 10

let measuringContext: CanvasRenderingContext2D | null | undefined

/** The width of `text` in the font `element` is drawn with (from its computed style), or an estimate. */
function textWidthPx(text: string, element: Element): number {
  measuringContext ??= document.createElement('canvas').getContext('2d')
  const style = element.isConnected ? getComputedStyle(element) : undefined
  if (measuringContext === null || style === undefined || style.fontSize === '') return text.length * fallbackCharacterWidthPx
  measuringContext.font = `${style.fontStyle} ${style.fontWeight} ${style.fontSize} ${style.fontFamily}`
  return measuringContext.measureText(text).width
}

export class ResultsGrid {
  readonly element: HTMLDivElement
  readonly #viewport: HTMLDivElement
  readonly #header: HTMLDivElement
  readonly #spacer: HTMLDivElement
  /** Shown instead of a header when there is no result to show. */
  readonly #note: HTMLParagraphElement
  readonly #pool: HTMLDivElement[] = []
  #columns: readonly Column[] = []
  #rows: readonly (readonly unknown[])[] = []
  #frame = 0

  constructor() {
    this.element = document.createElement('div')
    this.element.className = 'grid'
    this.#viewport = document.createElement('div')
    this.#viewport.className = 'grid-viewport'
    this.#viewport.tabIndex = 0
    this.#viewport.setAttribute('role', 'grid')
    this.#viewport.setAttribute('aria-label', 'Query results')
    this.#viewport.setAttribute('aria-readonly', 'true')
    this.#header = document.createElement('div')
    this.#header.className = 'grid-row grid-header'
    this.#header.setAttribute('role', 'row')
    this.#header.setAttribute('aria-rowindex', '1')
    this.#spacer = document.createElement('div')
    this.#spacer.className = 'grid-spacer'
    this.#spacer.setAttribute('role', 'presentation')
    this.#note = document.createElement('p')
    this.#note.className = 'grid-note muted'
    this.#note.hidden = true
    this.#viewport.append(this.#note, this.#header, this.#spacer)
    this.element.append(this.#viewport)
    this.#viewport.addEventListener('scroll', () => this.#schedule(), { passive: true })
    new ResizeObserver(() => this.#schedule()).observe(this.#viewport)
  }

  /** Shows a new result, scrolled to its top. */
  setResult(columns: readonly Column[], rows: readonly (readonly unknown[])[]): void {
    this.#columns = columns
    this.#rows = rows
    this.#note.hidden = true
    this.#viewport.setAttribute('aria-rowcount', String(rows.length + 1))
    this.#viewport.setAttribute('aria-colcount', String(columns.length))
    // The header first: its spans are measured in the fonts they are drawn with.
    const headers = columns.map((column, index) => {
      const cell = document.createElement('div')
      cell.className = column.kind === 'number' ? 'grid-cell numeric' : 'grid-cell'
      cell.setAttribute('role', 'columnheader')
      cell.setAttribute('aria-colindex', String(index + 1))
      const name = document.createElement('span')
      name.className = 'grid-column-name'
      name.textContent = column.name
      cell.append(name)
      let type: HTMLSpanElement | undefined
      if (column.type !== '') {
        type = document.createElement('span')
        type.className = 'grid-column-type'
        type.textContent = column.type
        cell.append(' ', type)
      }
      cell.title = column.type === '' ? column.name : `${column.name} ${column.type}${column.nullable === false ? ' NOT NULL' : ''}`
      return { cell, name, type }
    })
    this.#header.replaceChildren(...headers.map((header) => header.cell))
    const widths = headers.map((header, index) => this.#columnWidth(index, header.name, header.type))
    const template = widths.map((width) => `${width}px`).join(' ')
    this.element.style.setProperty('--grid-columns', template === '' ? '1fr' : template)
    this.element.style.setProperty('--grid-width', `${widths.reduce((sum, width) => sum + width, 0)}px`)
    for (const row of this.#pool) row.remove()
    this.#pool.length = 0
    this.#spacer.style.height = `${Math.min(rows.length * rowHeightPx, spacerHeightMaxPx)}px`
    this.#viewport.scrollTop = 0
    this.#viewport.scrollLeft = 0
    this.#render()
  }

  /** Number of row elements in the DOM now (excluding the header); bounded by the view's height. */
  get renderedRowCount(): number {
    return this.#pool.filter((row) => row.isConnected && !row.hidden).length
  }

  /** Clears the grid (no columns, no rows), saying why in `note`. */
  clear(note: string): void {
    this.setResult([], [])
    this.#note.textContent = note
    this.#note.hidden = false
  }

  /**
   * Wide enough for the header on one line (the name, then the type in a smaller font) and for the
   * widest sampled cell, up to columnWidthMaxPx; past that the header wraps (see style.css).
   */
  #columnWidth(index: number, name: HTMLElement, type: HTMLElement | undefined): number {
    const headerPx = textWidthPx(name.textContent ?? '', name) + (type === undefined ? 0 : typeGapPx + textWidthPx(type.textContent ?? '', type))
    let widest = ''
    const sample = Math.min(this.#rows.length, widthSampleRows)
    for (let rowIndex = 0; rowIndex < sample; rowIndex += 1) {
      const text = formatCell(this.#rows[rowIndex]?.[index], this.#columns[index]?.type ?? '')
      if (text.length > widest.length) widest = text.slice(0, measuredCharactersMax)
    }
    // Cells use one monospace font, so the longest text is the widest.
    const cellPx = widest === '' ? 0 : textWidthPx(widest, this.#viewport)
    const widthPx = Math.ceil(Math.max(headerPx, cellPx)) + cellPaddingPx
    return Math.min(columnWidthMaxPx, Math.max(columnWidthMinPx, widthPx))
  }

  #schedule(): void {
    if (this.#frame !== 0) return
    this.#frame = requestAnimationFrame(() => {
      this.#frame = 0
      this.#render()
    })
  }

  #render(): void {
    const total = this.#rows.length
    // The header is one row tall unless a long name or type wrapped onto a second line.
    const headerHeight = this.#header.offsetHeight || rowHeightPx
    const viewHeight = Math.max(this.#viewport.clientHeight - headerHeight, rowHeightPx)
    const spacerHeight = Math.min(total * rowHeightPx, spacerHeightMaxPx)
    const fullHeight = total * rowHeightPx
    const scrollTop = this.#viewport.scrollTop
    // Where the view's top would be if the spacer were full height (the same unless the cap applies).
    const scrollRange = spacerHeight - viewHeight
    const virtualTop = scrollRange > 0 && fullHeight > spacerHeight ? (scrollTop / scrollRange) * (fullHeight - viewHeight) : scrollTop
    const first = Math.max(0, Math.floor(virtualTop / rowHeightPx) - overscanRows)
    const last = Math.min(total, Math.ceil((virtualTop + viewHeight) / rowHeightPx) + overscanRows)
    const needed = Math.max(0, last - first)
    while (this.#pool.length < needed) this.#pool.push(this.#createRow())
    for (let slot = 0; slot < this.#pool.length; slot += 1) {
      const element = this.#pool[slot]
      if (element === undefined) continue
      if (slot >= needed) {
        element.hidden = true
        continue
      }
      const rowIndex = first + slot
      element.hidden = false
      // Position in spacer coordinates: the row's offset from the virtual top, placed at the real top.
      element.style.transform = `translateY(${scrollTop + rowIndex * rowHeightPx - virtualTop}px)`
      this.#fillRow(element, rowIndex)
    }
    // Keep the pool from growing past what a view needs after the viewport shrinks.
    while (this.#pool.length > needed + overscanRows * 2) this.#pool.pop()?.remove()
  }

  #createRow(): HTMLDivElement {
    const element = document.createElement('div')
    element.className = 'grid-row'
    element.setAttribute('role', 'row')
    this.#spacer.append(element)
    return element
  }

  #fillRow(element: HTMLDivElement, rowIndex: number): void {
    if (element.dataset.row === String(rowIndex) && element.childElementCount === this.#columns.length) return
    element.dataset.row = String(rowIndex)
    element.setAttribute('aria-rowindex', String(rowIndex + 2))
    element.classList.toggle('odd', rowIndex % 2 === 1)
    while (element.childElementCount < this.#columns.length) {
      const cell = document.createElement('div')
      cell.setAttribute('role', 'gridcell')
      element.append(cell)
    }
    while (element.childElementCount > this.#columns.length) element.lastElementChild?.remove()
    const row = this.#rows[rowIndex] ?? []
    for (let index = 0; index < this.#columns.length; index += 1) {
      const cell = element.children[index] as HTMLDivElement
      const value = row[index]
      const column = this.#columns[index]
      const text = formatCell(value, column?.type ?? '')
      cell.className = `grid-cell${column?.kind === 'number' ? ' numeric' : ''}${value === null || value === undefined ? ' null' : ''}`
      cell.setAttribute('aria-colindex', String(index + 1))
      cell.textContent = text
      cell.title = text.length > 40 ? text.slice(0, 2000) : ''
    }
  }
}
