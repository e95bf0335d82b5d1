/**
 * PostgreSQL's parser — libpg_query compiled to WebAssembly, as @pgsql/parser ships it — with
 * instances of our own, so that a fault inside one never outlives the statement that caused it.
 *
 * Why not the package's own functions: they share one instance per process. A trap inside the WASM
 * (its small fixed stack — Emscripten's default is 64 KiB — overflowing while it writes out a deep
 * tree: "memory access out of bounds", "table index is out of bounds", "null function or function
 * signature mismatch") leaves that instance's memory corrupt, and every later call on it fails (or
 * hangs) until the process restarts. Here each call runs on the current instance; one that throws is
 * dropped, a spare instantiated beforehand (in the background, after the first) takes its place at
 * once — instantiation is asynchronous, ~15 ms — and a new spare is made in the background. With no
 * instance at all (two faults within those 15 ms) a call fails with INTERNAL; the engine and the
 * servers wait for `loadParser()` first. The bounds checked before a parse (`limits.expressionDepthMax`,
 * …, src/sql/parse.ts) keep statements away from such faults; this is the second line.
 *
 * The calls return the parser's raw answers (JSON text, or an error message); src/sql/parse.ts reads them.
 */
import { createRequire } from 'node:module'
import { StrataError } from '../util/errors.js'
import { limits } from '../util/limits.js'

/** The few exports of the Emscripten module we call (its own names). */
interface ParserModule {
  readonly HEAPU8: Uint8Array
  readonly HEAPU32: Uint32Array
  _malloc(bytes: number): number
  _free(pointer: number): void
  _wasm_parse_query(pointer: number): number
  _wasm_parse_query_detailed(pointer: number): number
  _wasm_free_detailed_result(pointer: number): void
  _wasm_scan(pointer: number): number
  _wasm_free_string(pointer: number): void
  _wasm_deparse_protobuf(pointer: number, length: number): number
}

interface ProtobufModule {
  readonly pg_query: {
    readonly ParseResult: {
      fromObject(tree: unknown): unknown
      encode(message: unknown): { finish(): Uint8Array }
    }
  }
}

const require = createRequire(import.meta.url)
/** The Emscripten factory: each call instantiates a new module with its own memory. */
const factory = require('@pgsql/parser/wasm/libpg-query.js') as (options: { print(text: string): void; printErr(text: string): void }) => Promise<ParserModule>
/** The last line the parser wrote to its stderr (PostgreSQL's FATAL messages), kept for the error of a fault rather than printed. */
let lastOutput = ''
/**
 * A new instance. Node does not count a WebAssembly compilation as pending work (nodejs/node#36616):
 * a process whose only work is a statement waiting for the parser has an empty event loop, and Node
 * then finishes the compilation inside its exit path (NodePlatform::DrainTasks), which can deadlock
 * with V8's background compiler (nodejs/node#54918) — a process that hangs for good. A referenced
 * timer for as long as the instantiation runs keeps the loop alive, so the compilation ends the
 * ordinary way.
 */
function instantiate(): Promise<ParserModule> {
  const keepAlive = setInterval(() => undefined, 2 ** 30)
  return factory({ print: (text) => (lastOutput = text), printErr: (text) => (lastOutput = text) }).finally(() => clearInterval(keepAlive))
}
let protobuf: ProtobufModule | undefined

let current: ParserModule | undefined
let spare: ParserModule | undefined
let loadingCurrent: Promise<void> | undefined
let loadingSpare: Promise<void> | undefined
let spareTimer: ReturnType<typeof setTimeout> | undefined
/** Instances dropped after a fault, for tests and metrics. */
let faults = 0

function place(made: ParserModule): void {
  if (current === undefined) current = made
  else if (spare === undefined) spare = made
}

/**
 * Makes sure there is a current instance (resolves when there is) and starts making a spare in the
 * background, so that opening a database waits for one instantiation only.
 */
export function loadParser(): Promise<void> {
  if (current !== undefined) {
    if (spare === undefined && loadingSpare === undefined && spareTimer === undefined) {
      // Not at once: compiling another instance would compete with opening the database.
      spareTimer = setTimeout(() => {
        spareTimer = undefined
        prepareSpare()
      }, limits.parserSpareDelayMs)
      spareTimer.unref()
    }
    return Promise.resolve()
  }
  loadingCurrent ??= instantiate()
    .then(place)
    .finally(() => {
      loadingCurrent = undefined
    })
  return loadingCurrent.then(() => loadParser())
}

// The first instance starts loading with this module, as the package's own did, so that opening a
// database seldom waits for it.
loadParser().catch(() => undefined)

/** Resolves when both the current instance and the spare exist (tests, and servers that want it ready). */
export async function loadParserSpare(): Promise<void> {
  await loadParser()
  while (spare === undefined) {
    prepareSpare()
    await loadingSpare
    if (current === undefined) await loadParser()
  }
}

function prepareSpare(): void {
  if (spare !== undefined || loadingSpare !== undefined) return
  loadingSpare = instantiate()
    // A failure to instantiate (it has never happened) leaves the slot empty; the next call tries again.
    .then(place, () => undefined)
    .finally(() => {
      loadingSpare = undefined
    })
}

/** Errors thrown because no instance was there (loading, or restarting after faults): see {@link isParserUnavailable}. */
const unavailableErrors = new WeakSet<Error>()

function parserUnavailable(): StrataError {
  const error = new StrataError('INTERNAL', current === undefined && faults === 0 ? 'the SQL parser is still loading; retry the statement' : 'the SQL parser is being restarted after a fault; retry the statement')
  unavailableErrors.add(error)
  return error
}

/** Whether `error` says only that the parser had no instance at that moment (`loadParser()`, then the same call again, succeeds). */
export function isParserUnavailable(error: unknown): boolean {
  return error instanceof Error && unavailableErrors.has(error)
}

/** True when a call can run now (false while the first instance loads, and in the moments after two faults in a row). */
export function parserReady(): boolean {
  return current !== undefined
}

/** How many instances were dropped after a fault since the process started. */
export function parserFaults(): number {
  return faults
}

/**
 * Drops a faulted instance. A FATAL error inside the parser ends in Emscripten's exit(), which sets
 * `process.exitCode` to 1 before it throws; that is put back, since the process carries on.
 */
function retire(module: ParserModule, exitCode: typeof process.exitCode): void {
  faults++
  process.exitCode = exitCode
  if (current !== module) return
  current = spare
  spare = undefined
  if (current !== undefined) prepareSpare()
  else loadParser().catch(() => undefined)
}

/**
 * Runs `body` on the current instance with `text` in its memory as a NUL-terminated UTF-8 string.
 * Anything thrown inside is a fault of the instance (the parser reports errors in its answer, never by
 * throwing): the instance is dropped and the caller gets an INTERNAL error saying so.
 */
function withText<T>(text: string, body: (module: ParserModule, pointer: number) => T): T {
  const module = current
  if (module === undefined) throw parserUnavailable()
  const exitCode = process.exitCode
  // A statement's text is encoded straight into the instance's memory (UTF-8 takes at most 3 bytes per
  // UTF-16 unit); a long one first, to take no more of that memory than it needs.
  const bytes = text.length > directEncodingCharsMax ? encoder.encode(text) : undefined
  const capacity = bytes === undefined ? text.length * 3 : bytes.length
  try {
    const pointer = module._malloc(capacity + 1)
    if (pointer === 0) throw new Error('out of memory')
    try {
      let written = capacity
      if (bytes === undefined) written = encoder.encodeInto(text, module.HEAPU8.subarray(pointer, pointer + capacity)).written
      else module.HEAPU8.set(bytes, pointer)
      module.HEAPU8[pointer + written] = 0
      return body(module, pointer)
    } finally {
      module._free(pointer)
    }
  } catch (error) {
    retire(module, exitCode)
    throw new StrataError('INTERNAL', 'the SQL parser failed inside on this statement; it was restarted, and later statements are not affected', { cause: faultCause(error) })
  }
}

const encoder = new TextEncoder()
/** Texts up to this many characters are encoded into the parser's memory directly (see withText). */
const directEncodingCharsMax = 16 * 1024

/** The thrown value of a fault, with what the parser printed last (Emscripten's exit() throws a bare status). */
function faultCause(error: unknown): unknown {
  const printed = lastOutput
  lastOutput = ''
  if (printed === '') return error
  const message = typeof (error as { message?: unknown } | undefined)?.message === 'string' ? (error as { message: string }).message : String(error)
  return new Error(`${message} (the parser printed: ${printed})`, { cause: error })
}

/** A string the parser returned (and frees), decoded natively (its JSON is most of a parse's output). */
function answer(module: ParserModule, pointer: number): string {
  try {
    const heap = module.HEAPU8
    const end = heap.indexOf(0, pointer)
    return Buffer.from(heap.buffer, heap.byteOffset + pointer, end - pointer).toString('utf8')
  } finally {
    module._wasm_free_string(pointer)
  }
}

/** Calls of the scanner since the process started (`scannerCalls`). */
let scans = 0

/**
 * How many times the scanner ran since the process started, so tests can tell that a text is scanned
 * once at most (src/sql/parse.ts `tokenSource`). One scan of a text is one call, except that a token
 * of a few thousand characters makes it more (parse.ts `scanTokens` resumes after a cut answer).
 *
 * @example
 * const before = scannerCalls()
 * scanTokens('SELECT 1')
 * scannerCalls() - before // → 1
 */
export function scannerCalls(): number {
  return scans
}

/** The scanner's answer: `{"version":…,"tokens":[…]}` JSON (see src/sql/parse.ts for its faults), or an error message. */
export function scanRaw(text: string): string {
  scans++
  return withText(text, (module, pointer) => answer(module, module._wasm_scan(pointer)))
}

/** The parser's answer: the parse tree as JSON text (it starts with `{`), or an error message. */
export function parseRaw(text: string): string {
  return withText(text, (module, pointer) => answer(module, module._wasm_parse_query(pointer)))
}

/**
 * Where the parser reports its error in `text`: PostgreSQL's 1-based cursor position in characters
 * (code points), or undefined when it names none (0) or the text parses.
 */
export function parseErrorCursor(text: string): number | undefined {
  return withText(text, (module, pointer) => {
    const result = module._wasm_parse_query_detailed(pointer)
    try {
      // struct { int has_error; char *message, *funcname, *filename; int lineno, cursorpos; … }
      const words = module.HEAPU32
      if (words[result >> 2] === 0) return undefined
      const cursor = words[(result + 20) >> 2] ?? 0
      return cursor > 0 ? cursor : undefined
    } finally {
      module._wasm_free_detailed_result(result)
    }
  })
}

/** SQL text of a parse result (`{ version, stmts }`), or throws with the deparser's message. */
export function deparseRaw(tree: unknown): string {
  protobuf ??= require('@pgsql/parser/proto.js') as ProtobufModule
  const encoded = protobuf.pg_query.ParseResult.encode(protobuf.pg_query.ParseResult.fromObject(tree)).finish()
  const module = current
  if (module === undefined) throw parserUnavailable()
  let text: string
  const exitCode = process.exitCode
  try {
    const pointer = module._malloc(encoded.length)
    if (pointer === 0) throw new Error('out of memory')
    try {
      module.HEAPU8.set(encoded, pointer)
      text = answer(module, module._wasm_deparse_protobuf(pointer, encoded.length))
    } finally {
      module._free(pointer)
    }
  } catch (error) {
    retire(module, exitCode)
    throw new StrataError('INTERNAL', 'the SQL deparser failed inside; it was restarted', { cause: faultCause(error) })
  }
  if (text.startsWith('deparse error') || text.startsWith('syntax error')) throw new Error(text)
  return text
}
