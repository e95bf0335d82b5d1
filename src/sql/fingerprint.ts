/**
 * Literal-normalized fingerprints of parse trees — PostgreSQL's query jumbling (pg_stat_statements),
 * on the raw tree — and the instrumented copies of a tree that plan templates are compiled from.
 *
 * Clients that write their values into the text (pgbench's simple protocol, ORMs that inline
 * constants) send one shape with different constants: every text is new, so every cache keyed by the
 * text or the tree misses. A tree's fingerprint is its shape with each constant (A_Const) left out but
 * for its variant (integer, decimal, string, boolean, bit string, NULL), and every location left out:
 * two trees have one fingerprint exactly when they differ only in their constants' values and in where
 * things are in the text. `fingerprintHash` hashes it; `matchConstants` compares two trees' shapes and
 * pairs their constants by place — the fingerprint's slots, numbered in walk order.
 *
 * A literal does not always mean what a parameter means in Strata (src/sql/rowsql.ts: a literal is
 * compared in the wider type, a fractional one against an integer column compiles to a different
 * condition, a string is cast to the column's type, LIMIT NULL is no limit, …). So a plan is not
 * reused on the fingerprint alone: it is compiled from an instrumented copy of the tree (`instrument`),
 * in which reading a constant's value anywhere — the compiler, the nullability inference, a
 * subsystem's claim — pins that slot to its value (a later tree must have the same constant there),
 * except at the compiler's literal sites, which record instead what they decided on the constant and
 * how they computed the value they bind (`TemplateRecorder`); reading a location makes the template
 * unusable (locations move when a constant's length changes). Reusing the plan for another tree of
 * the fingerprint then means: the pinned constants equal, every recorded decision the same on the new
 * constant, the bound values computed by the compiler's own code on the new constants — what compiling
 * the new tree would have done, step for step (`templateValues`).
 *
 * Pure: no I/O.
 */
import type { PgNode } from './parse.js'
import type { Binder, BoundValue, LiteralBinding } from './plan.js'
import { assert } from '../util/assert.js'


/**
 * A hash of the tree's fingerprint — its shape without constant values and locations. Equal
 * fingerprints have equal hashes; `matchConstants` tells whether two trees of one hash really have one
 * fingerprint. Not remembered per tree: most trees it is asked about are new (their text is), and the
 * caller that asks twice keeps it.
 *
 * @example fingerprintHash(parseTree('SELECT a FROM t WHERE id = 1')) === fingerprintHash(parseTree('SELECT a FROM t WHERE id = 42')) // true
 */
export function fingerprintHash(tree: PgNode): number {
  return hashShape(tree, 0x811c9dc5)
}

/** FNV-1a over the shape: strings by their characters, then a separator; containers bracketed. */
function hashString(text: string, hash: number): number {
  let h = hash
  for (let index = 0; index < text.length; index++) h = Math.imul(h ^ text.charCodeAt(index), 0x01000193)
  return Math.imul(h ^ 0x1f, 0x01000193)
}

/** Field names are few (the parser's node fields): their hashes are kept. */
const fieldHashes = new Map<string, number>()

function fieldHash(field: string): number {
  let known = fieldHashes.get(field)
  if (known === undefined) {
    known = hashString(field, 0x811c9dc5)
    fieldHashes.set(field, known)
  }
  return known
}

/** A field that says where something is in the text, not what it is (compared without a set lookup: this runs for every field of every statement). */
function isLocation(field: string): boolean {
  return field === 'location' || field === 'name_location' || field === 'stmt_location' || field === 'stmt_len'
}

// Fields are read with `for … in` and no own-property check: a parse tree is JSON.parse's plain
// objects (or copies of them), and a hash that saw more would only miss; `sameShape` checks.
function hashShape(node: unknown, hash: number): number {
  if (typeof node === 'string') return hashString(node, Math.imul(hash ^ 0x22, 0x01000193))
  if (typeof node === 'number') return Math.imul(Math.imul(hash ^ 0x23, 0x01000193) ^ (node | 0), 0x01000193)
  if (typeof node === 'boolean') return Math.imul(hash ^ (node ? 0x24 : 0x25), 0x01000193)
  if (typeof node !== 'object' || node === null) return Math.imul(hash ^ 0x26, 0x01000193)
  let h = hash
  if (Array.isArray(node)) {
    h = Math.imul(h ^ 0x5b, 0x01000193)
    for (let index = 0; index < node.length; index++) h = hashShape(node[index], h)
    return Math.imul(h ^ 0x5d, 0x01000193)
  }
  h = Math.imul(h ^ 0x7b, 0x01000193)
  for (const key in node) {
    if (isLocation(key)) continue
    h = Math.imul(h ^ fieldHash(key), 0x01000193)
    const value = (node as PgNode)[key]
    if (key === 'A_Const' && typeof value === 'object' && value !== null) {
      // The constant's variant (ival, fval, sval, boolval, bsval, isnull), not its value.
      for (const field in value) if (!isLocation(field)) h = Math.imul(h ^ fieldHash(field), 0x01000193)
      continue
    }
    h = hashShape(value, h)
  }
  return Math.imul(h ^ 0x7d, 0x01000193)
}

/**
 * When `tree` has the fingerprint of `template` (the same shape: every field the same but constants'
 * values and locations; each constant of the same variant), `tree`'s constants in `template`'s slot
 * order — slot i is the i-th A_Const of `template` in walk order, and its constant here is the one at
 * the same place in `tree`; undefined when the shapes differ.
 *
 * @example matchConstants(parseTree('SELECT a FROM t WHERE id = 1'), parseTree('SELECT a FROM t WHERE id = 42')) // [{ ival: { ival: 42 }, location: 26 }]
 */
export function matchConstants(template: PgNode, tree: PgNode): PgNode[] | undefined {
  const constants: PgNode[] = []
  return matches(shapeOf(template), tree, constants) ? constants : undefined
}

/**
 * A tree's fingerprint as data, to check another tree against in one pass: an object's fields (but
 * locations) in order with their shapes, an array's items, a constant's variant, any other value itself.
 */
class ObjectShape {
  constructor(
    readonly fields: readonly string[],
    readonly values: readonly unknown[],
  ) {}
}

class ArrayShape {
  constructor(readonly items: readonly unknown[]) {}
}

/** An A_Const's body: the names of its fields but the location. */
class ConstantShape {
  constructor(readonly variant: readonly string[]) {}
}

const shapes = new WeakMap<PgNode, unknown>()

function shapeOf(tree: PgNode): unknown {
  let known = shapes.get(tree)
  if (known === undefined) {
    known = shapeOfNode(tree)
    shapes.set(tree, known)
  }
  return known
}

function shapeOfNode(node: unknown): unknown {
  if (typeof node !== 'object' || node === null) return node
  if (Array.isArray(node)) return new ArrayShape(node.map(shapeOfNode))
  const fields: string[] = []
  const values: unknown[] = []
  for (const key in node) {
    if (isLocation(key)) continue
    const value = (node as PgNode)[key]
    fields.push(key)
    if (key === 'A_Const' && typeof value === 'object' && value !== null) {
      const variant: string[] = []
      for (const field in value) if (!isLocation(field)) variant.push(field)
      values.push(new ConstantShape(variant))
    } else values.push(shapeOfNode(value))
  }
  return new ObjectShape(fields, values)
}

// One pass over `node`: its fields must come in the shape's order (the parser writes a node's fields
// in one order; another order would only be a miss). `for … in` without an own-property check: a
// parse tree is JSON.parse's plain objects.
function matches(shape: unknown, node: unknown, constants: PgNode[]): boolean {
  if (shape instanceof ObjectShape) {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) return false
    const { fields, values } = shape
    let index = 0
    for (const key in node) {
      if (isLocation(key)) continue
      if (key !== fields[index] || !matches(values[index], (node as PgNode)[key], constants)) return false
      index++
    }
    return index === fields.length
  }
  if (shape instanceof ArrayShape) {
    const items = shape.items
    if (!Array.isArray(node) || node.length !== items.length) return false
    for (let index = 0; index < items.length; index++) if (!matches(items[index], node[index], constants)) return false
    return true
  }
  if (shape instanceof ConstantShape) {
    if (typeof node !== 'object' || node === null) return false
    const variant = shape.variant
    let index = 0
    for (const field in node) {
      if (isLocation(field)) continue
      if (field !== variant[index]) return false
      index++
    }
    if (index !== variant.length) return false
    constants.push(node as PgNode)
    return true
  }
  return node === shape
}

/**
 * Whether two constants of one slot are the same constant (their variant is the fingerprint's).
 *
 * @example sameConstant({ ival: { ival: 1 } }, { ival: { ival: 1 }, location: 9 }) // true
 */
export function sameConstant(left: PgNode, right: PgNode): boolean {
  for (const field in left) {
    if (!Object.hasOwn(left, field) || isLocation(field)) continue
    const a = left[field]
    const b = right[field]
    if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) {
      if (a !== b) return false
      continue
    }
    // { ival: 5 }, { sval: 'x' }, { fval: '1.5' }, { boolval: true }, { bsval: 'b101' }; protobuf leaves out a zero value ({}).
    if ((a as PgNode)[field] !== (b as PgNode)[field]) return false
  }
  return true
}

/** A decision a literal site took on its constant: `decide` run on the constant gave `outcome`. */
export interface LiteralCheck {
  readonly slot: number
  readonly decide: (constant: PgNode) => unknown
  readonly outcome: unknown
}

/**
 * What compiling an instrumented copy learned about its constants: which slots it pinned, the
 * decisions the literal sites took, and whether anything read a location.
 */
export class TemplateRecorder {
  /** pinned[slot]: something read the constant's value outside a literal site. */
  readonly pinned: boolean[]
  readonly checks: LiteralCheck[] = []
  /** Something read a location: the template cannot be used for other texts. */
  locationRead = false
  /** True while the template is compiled (reads of a literal binder's value then pin its slot). */
  compiling = true

  constructor(readonly constants: readonly PgNode[]) {
    this.pinned = constants.map(() => false)
  }

  pin(slot: number): void {
    this.pinned[slot] = true
  }

  /** Records that a literal site decided `outcome` by `decide` on slot `slot`'s constant. */
  check(slot: number, decide: (constant: PgNode) => unknown, outcome: unknown): void {
    this.checks.push({ slot, decide, outcome })
  }
}

/** An instrumented A_Const body → its slot, its real body and the recorder (only for literal sites: `constantSlot`). */
const slotsOfTraps = new WeakMap<object, { readonly slot: number; readonly body: PgNode; readonly recorder: TemplateRecorder }>()

/**
 * A copy of `tree` to compile a template from: each A_Const body replaced by one whose fields pin the
 * slot when read, every location field by one that marks the recorder's `locationRead`. The copy has
 * the tree's keys in the tree's order, so walks and `nodeKind` see what they would see in the tree.
 */
export function instrument(tree: PgNode): { readonly tree: PgNode; readonly recorder: TemplateRecorder } {
  const constants = matchConstants(tree, tree)!
  const recorder = new TemplateRecorder(constants)
  let next = 0
  const copy = (node: unknown): unknown => {
    if (typeof node !== 'object' || node === null) return node
    if (Array.isArray(node)) return node.map(copy)
    const out: PgNode = {}
    for (const key in node) {
      if (!Object.hasOwn(node, key)) continue
      const value = (node as PgNode)[key]
      if (key === 'A_Const' && typeof value === 'object' && value !== null) {
        const slot = next++
        assert(constants[slot] === value, 'an instrumented tree numbers its constants as matchConstants does')
        out[key] = trapConstant(value as PgNode, slot, recorder)
      } else if (isLocation(key)) {
        Object.defineProperty(out, key, {
          enumerable: true,
          get: () => {
            recorder.locationRead = true
            return value
          },
        })
      } else out[key] = copy(value)
    }
    return out
  }
  const copied = copy(tree) as PgNode
  assert(next === constants.length, 'an instrumented tree has every constant')
  return { tree: copied, recorder }
}

function trapConstant(body: PgNode, slot: number, recorder: TemplateRecorder): PgNode {
  const trap: PgNode = {}
  for (const field in body) {
    if (!Object.hasOwn(body, field)) continue
    const value = body[field]
    Object.defineProperty(trap, field, {
      enumerable: true,
      get: () => {
        if (isLocation(field)) recorder.locationRead = true
        else recorder.pin(slot)
        return value
      },
    })
  }
  slotsOfTraps.set(trap, { slot, body, recorder })
  return trap
}

/**
 * For a literal site of the compiler: the real body, slot and recorder of an instrumented A_Const
 * body (reading it so pins nothing); undefined for a body of an ordinary tree.
 */
export function constantSlot(body: PgNode): { readonly slot: number; readonly body: PgNode; readonly recorder: TemplateRecorder } | undefined {
  return slotsOfTraps.get(body)
}

/**
 * What a plan compiled from an instrumented tree needs to serve another tree of its fingerprint: the
 * constants it depends on exactly, the decisions its literal sites took, and which of its binders
 * take their value from a constant.
 */
export interface Template {
  readonly pinned: readonly { readonly slot: number; readonly constant: PgNode }[]
  readonly checks: readonly LiteralCheck[]
  /** Plan binder `index` gets `literal.compute` of the constant in `literal.slot`. */
  readonly values: readonly { readonly index: number; readonly literal: LiteralBinding }[]
}

/**
 * Ends a template's compilation (everything that reads the instrumented tree has run): its template,
 * or undefined when something read a location.
 */
export function finishTemplate(recorder: TemplateRecorder, binders: readonly Binder[]): Template | undefined {
  recorder.compiling = false
  if (recorder.locationRead) return undefined
  const values: { index: number; literal: LiteralBinding }[] = []
  binders.forEach((binder, index) => {
    if (binder.kind === 'value' && binder.literal !== undefined) values.push({ index, literal: binder.literal })
  })
  const constants = recorder.constants
  const pinned = recorder.pinned.flatMap((isPinned, slot) => (isPinned ? [{ slot, constant: constants[slot]! }] : []))
  // A pinned slot's constant is the template's own: its decisions are the template's too.
  const checks = recorder.checks.filter((check) => !recorder.pinned[check.slot])
  return { pinned, checks, values }
}

/**
 * The values of a template's literal binders for a tree whose fingerprint's constants are
 * `constants`, in the order of `template.values`; undefined when the template does not serve that
 * tree (a pinned constant differs, a decision comes out otherwise, or computing a value fails — the
 * statement then takes the ordinary path, which compiles it and reports what it must).
 */
export function templateValues(template: Template, constants: readonly PgNode[]): BoundValue[] | undefined {
  const values = computeTemplateValues(template, constants)
  if (values !== undefined) served++
  return values
}

/** Trees a template served since the process started, for tests (`templatesServed`). */
let served = 0

/**
 * How many statements plan templates served since the process started, so tests can tell that the
 * template path ran (a statement it does not serve takes the ordinary path and is not counted).
 *
 * @example
 * const before = templatesServed()
 * await db.query('SELECT * FROM t WHERE id = 3') // a third id after two others
 * templatesServed() - before // → 1
 */
export function templatesServed(): number {
  return served
}

function computeTemplateValues(template: Template, constants: readonly PgNode[]): BoundValue[] | undefined {
  for (const { slot, constant } of template.pinned) if (!sameConstant(constant, constants[slot]!)) return undefined
  try {
    for (const check of template.checks) if (!Object.is(check.decide(constants[check.slot]!), check.outcome)) return undefined
    const values: BoundValue[] = new Array(template.values.length)
    for (let index = 0; index < values.length; index++) {
      const literal = template.values[index]!.literal
      values[index] = literal.compute(constants[literal.slot]!)
    }
    return values
  } catch {
    return undefined
  }
}
