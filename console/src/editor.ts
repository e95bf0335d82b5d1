/**
 * The SQL editor: CodeMirror 6 with SQL highlighting, completion from the schema browser's tables
 * (table names; `t.` and `alias.` columns; and, from ./completion.ts, the columns of the tables a
 * statement names wherever a column may go), and the console's keys, which take precedence over CodeMirror's own:
 *   Ctrl/Cmd+Enter runs, Ctrl/Cmd+Shift+Enter explains, Ctrl+↑ / Ctrl+↓ walk the history.
 * Tab is left to the browser, so keyboard users can move focus out of the editor.
 */
import { closeCompletion } from '@codemirror/autocomplete'
import { basicSetup } from 'codemirror'
import { sql, PostgreSQL, type SQLNamespace } from '@codemirror/lang-sql'
import { Compartment, EditorState, Prec } from '@codemirror/state'
import { EditorView, keymap, placeholder } from '@codemirror/view'
import { columnCompletion } from './completion'
import type { SchemaTable } from './schema'

export interface EditorActions {
  readonly run: () => void
  readonly explain: () => void
  readonly historyPrevious: () => void
  readonly historyNext: () => void
}

export class SqlEditor {
  readonly view: EditorView
  readonly #language = new Compartment()

  constructor(parent: HTMLElement, initialText: string, actions: EditorActions) {
    // Running closes an open completion list, so it does not linger over the editor.
    const consoleKeys = keymap.of([
      { key: 'Mod-Enter', run: (view) => (closeCompletion(view), actions.run(), true) },
      { key: 'Mod-Shift-Enter', run: (view) => (closeCompletion(view), actions.explain(), true) },
      { key: 'Ctrl-ArrowUp', run: () => (actions.historyPrevious(), true) },
      { key: 'Ctrl-ArrowDown', run: () => (actions.historyNext(), true) },
    ])
    this.view = new EditorView({
      parent,
      state: EditorState.create({
        doc: initialText,
        extensions: [
          Prec.highest(consoleKeys),
          basicSetup,
          this.#language.of(sql({ dialect: PostgreSQL, upperCaseKeywords: true })),
          placeholder('SELECT … — Ctrl+Enter runs'),
          EditorView.lineWrapping,
          EditorView.contentAttributes.of({ 'aria-label': 'SQL editor', 'aria-multiline': 'true' }),
        ],
      }),
    })
  }

  get text(): string {
    return this.view.state.doc.toString()
  }

  /** Replaces the whole text, with the cursor at its end. */
  setText(text: string): void {
    this.view.dispatch({ changes: { from: 0, to: this.view.state.doc.length, insert: text }, selection: { anchor: text.length }, scrollIntoView: true })
  }

  /** Puts the cursor at a 0-based offset (an error's position) and focuses the editor. */
  focusAt(offset: number): void {
    const anchor = Math.max(0, Math.min(offset, this.view.state.doc.length))
    this.view.dispatch({ selection: { anchor }, scrollIntoView: true })
    this.view.focus()
  }

  focus(): void {
    this.view.focus()
  }

  /** Completion learns the tables and columns the schema browser found. */
  setSchema(tables: readonly SchemaTable[]): void {
    const namespace: Record<string, SQLNamespace> = {}
    for (const table of tables) namespace[table.name] = table.columns.map((column) => ({ label: column.name, type: 'property', detail: column.type }))
    this.view.dispatch({
      effects: this.#language.reconfigure([
        sql({ dialect: PostgreSQL, upperCaseKeywords: true, schema: namespace }),
        PostgreSQL.language.data.of({ autocomplete: columnCompletion(tables) }),
      ]),
    })
  }
}
