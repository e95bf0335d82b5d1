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
import { formatValue } from './format'

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
const columnWidthMinPx = 64
const columnWidthMaxPx = 360
/** Approximate widths of a character in the cells' monospace font, the header's and the type's. */
const characterWidthPx = 7.6
const headerCharacterWidthPx = 8.2
const typeCharacterWidthPx = 6.4
const cellPaddingPx = 20

export class ResultsGrid {
  readonly element: HTMLDivElement
  readonly #viewport: HTMLDivElement
  readonly #header: HTMLDivElement
  readonly #spacer: HTMLDivElement
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
    this.#viewport.append(this.#header, this.#spacer)
    this.element.append(this.#viewport)
    this.#viewport.addEventListener('scroll', () => this.#schedule(), { passive: true })
    new ResizeObserver(() => this.#schedule()).observe(this.#viewport)
  }

  /** Shows a new result, scrolled to its top. */
  setResult(columns: readonly Column[], rows: readonly (readonly unknown[])[]): void {
    this.#columns = columns
    this.#rows = rows
    const widths = columns.map((column, index) => this.#columnWidth(column, index))
    const template = widths.map((width) => `${width}px`).join(' ')
    this.element.style.setProperty('--grid-columns', template === '' ? '1fr' : template)
    this.element.style.setProperty('--grid-width', `${widths.reduce((sum, width) => sum + width, 0)}px`)
    this.#viewport.setAttribute('aria-rowcount', String(rows.length + 1))
    this.#viewport.setAttribute('aria-colcount', String(columns.length))
    this.#header.replaceChildren(
      ...columns.map((column, index) => {
        const cell = document.createElement('div')
        cell.className = column.kind === 'number' ? 'grid-cell numeric' : 'grid-cell'
        cell.setAttribute('role', 'columnheader')
        cell.setAttribute('aria-colindex', String(index + 1))
        const name = document.createElement('span')
        name.className = 'grid-column-name'
        name.textContent = column.name
        cell.append(name)
        if (column.type !== '') {
          const type = document.createElement('span')
          type.className = 'grid-column-type'
          type.textContent = column.type
          cell.append(' ', type)
        }
        cell.title = column.type === '' ? column.name : `${column.name} ${column.type}${column.nullable === false ? ' NOT NULL' : ''}`
        return cell
      }),
    )
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

  #columnWidth(column: Column, index: number): number {
    // The header shows the name, then the type in a smaller font.
    const headerPx = column.name.length * headerCharacterWidthPx + (column.type === '' ? 0 : (column.type.length + 1) * typeCharacterWidthPx)
    let characters = 0
    const sample = Math.min(this.#rows.length, widthSampleRows)
    for (let rowIndex = 0; rowIndex < sample; rowIndex += 1) {
      characters = Math.max(characters, formatValue(this.#rows[rowIndex]?.[index]).length)
    }
    const widthPx = Math.max(headerPx, characters * characterWidthPx) + cellPaddingPx
    return Math.round(Math.min(columnWidthMaxPx, Math.max(columnWidthMinPx, widthPx)))
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
    const viewHeight = Math.max(this.#viewport.clientHeight - rowHeightPx, rowHeightPx)
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
      const text = formatValue(value)
      const column = this.#columns[index]
      cell.className = `grid-cell${column?.kind === 'number' ? ' numeric' : ''}${value === null || value === undefined ? ' null' : ''}`
      cell.setAttribute('aria-colindex', String(index + 1))
      cell.textContent = text
      cell.title = text.length > 40 ? text.slice(0, 2000) : ''
    }
  }
}
