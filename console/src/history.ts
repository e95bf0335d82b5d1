/**
 * The editor's query history: the texts a person ran, newest last, kept in localStorage so they
 * survive a reload, walked with Ctrl+↑ / Ctrl+↓ the way a shell walks its history.
 */

/** Enough to find last week's query; few enough that localStorage (about 5 MB) never fills. */
const entriesMax = 200
/** A pasted data dump is not worth remembering; it would crowd out everything else. */
const entryLengthMax = 20_000
const storageKey = 'strata.console.history.v1'

export class QueryHistory {
  readonly #storage: Storage | undefined
  #entries: string[]
  /** Position while walking: entries.length means "the draft", not an entry. */
  #cursor: number
  /** What the editor held before walking started, restored when walking past the newest entry. */
  #draft = ''

  constructor(storage: Storage | undefined) {
    this.#storage = storage
    this.#entries = QueryHistory.#load(storage)
    this.#cursor = this.#entries.length
  }

  static #load(storage: Storage | undefined): string[] {
    try {
      const parsed: unknown = JSON.parse(storage?.getItem(storageKey) ?? '[]')
      return Array.isArray(parsed) ? parsed.filter((entry): entry is string => typeof entry === 'string').slice(-entriesMax) : []
    } catch {
      return []
    }
  }

  /** Newest last. */
  get entries(): readonly string[] {
    return this.#entries
  }

  /** Remembers a text that was run (not twice in a row), and ends any walk through the history. */
  add(text: string): void {
    const trimmed = text.trim()
    this.#cursor = this.#entries.length
    if (trimmed === '' || trimmed.length > entryLengthMax) return
    if (this.#entries.at(-1) === trimmed) return
    this.#entries = [...this.#entries.filter((entry) => entry !== trimmed), trimmed].slice(-entriesMax)
    this.#cursor = this.#entries.length
    try {
      this.#storage?.setItem(storageKey, JSON.stringify(this.#entries))
    } catch {
      // Storage full or disabled (private mode): the history still works for this page.
    }
  }

  /** The entry before the current one (the newest when not walking), or undefined at the oldest. */
  previous(current: string): string | undefined {
    let cursor = this.#cursor - 1
    // Right after a run the editor still shows the newest entry: step over it, so Ctrl+↑ changes something.
    if (this.#cursor === this.#entries.length && this.#entries[cursor] === current.trim()) cursor -= 1
    if (cursor < 0) return undefined
    if (this.#cursor === this.#entries.length) this.#draft = current
    this.#cursor = cursor
    return this.#entries[cursor]
  }

  /** The entry after the current one; past the newest, the draft the walk started from. */
  next(): string | undefined {
    if (this.#cursor >= this.#entries.length) return undefined
    this.#cursor += 1
    return this.#cursor === this.#entries.length ? this.#draft : this.#entries[this.#cursor]
  }

  clear(): void {
    this.#entries = []
    this.#cursor = 0
    try {
      this.#storage?.removeItem(storageKey)
    } catch {
      // As in add().
    }
  }
}
