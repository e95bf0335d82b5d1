/**
 * A deterministic, seeded TPC-H-like generator for three tables: customer, orders and lineitem, with
 * TPC-H's column names, types, cardinalities (per scale factor) and value distributions, simplified
 * where a rule needs tables we do not generate (part, supplier, nation). Same seed and scale factor →
 * the same rows, so Strata and the baseline are loaded with identical data and two runs are comparable.
 *
 * Rows are produced lazily (generators), so lineitem at a large scale never sits in memory whole; a
 * second pass with the same seed reproduces the first exactly.
 *
 * @example
 * for (const row of generateCustomers({ scaleFactor: 0.01, seed: 42 })) console.log(row)
 */
import { createWriteStream } from 'node:fs'
import { once } from 'node:events'
import { SeededRandom } from './support.js'

export type CellValue = number | string

export interface ColumnDefinition {
  readonly name: string
  /** Types from SPEC section 5's list. TPC-H's CHAR(n)/VARCHAR(n) become VARCHAR: CHAR is not in the
   *  list, and a length limit would only be one more thing for the two stores to disagree on. */
  readonly type: 'INTEGER' | 'DECIMAL(15,2)' | 'VARCHAR' | 'DATE'
}

export interface TableDefinition {
  readonly name: 'customer' | 'orders' | 'lineitem'
  readonly columns: readonly ColumnDefinition[]
  readonly primaryKey: readonly string[]
}

export interface GenerateOptions {
  /** 1 = TPC-H SF1 (150K customers, 1.5M orders, ~6M line items). */
  readonly scaleFactor: number
  readonly seed: number
}

export const customerTable: TableDefinition = {
  name: 'customer',
  columns: [
    { name: 'c_custkey', type: 'INTEGER' },
    { name: 'c_name', type: 'VARCHAR' },
    { name: 'c_address', type: 'VARCHAR' },
    { name: 'c_nationkey', type: 'INTEGER' },
    { name: 'c_phone', type: 'VARCHAR' },
    { name: 'c_acctbal', type: 'DECIMAL(15,2)' },
    { name: 'c_mktsegment', type: 'VARCHAR' },
    { name: 'c_comment', type: 'VARCHAR' },
  ],
  primaryKey: ['c_custkey'],
}

export const ordersTable: TableDefinition = {
  name: 'orders',
  columns: [
    { name: 'o_orderkey', type: 'INTEGER' },
    { name: 'o_custkey', type: 'INTEGER' },
    { name: 'o_orderstatus', type: 'VARCHAR' },
    { name: 'o_totalprice', type: 'DECIMAL(15,2)' },
    { name: 'o_orderdate', type: 'DATE' },
    { name: 'o_orderpriority', type: 'VARCHAR' },
    { name: 'o_clerk', type: 'VARCHAR' },
    { name: 'o_shippriority', type: 'INTEGER' },
    { name: 'o_comment', type: 'VARCHAR' },
  ],
  primaryKey: ['o_orderkey'],
}

export const lineitemTable: TableDefinition = {
  name: 'lineitem',
  columns: [
    { name: 'l_orderkey', type: 'INTEGER' },
    { name: 'l_partkey', type: 'INTEGER' },
    { name: 'l_suppkey', type: 'INTEGER' },
    { name: 'l_linenumber', type: 'INTEGER' },
    { name: 'l_quantity', type: 'DECIMAL(15,2)' },
    { name: 'l_extendedprice', type: 'DECIMAL(15,2)' },
    { name: 'l_discount', type: 'DECIMAL(15,2)' },
    { name: 'l_tax', type: 'DECIMAL(15,2)' },
    { name: 'l_returnflag', type: 'VARCHAR' },
    { name: 'l_linestatus', type: 'VARCHAR' },
    { name: 'l_shipdate', type: 'DATE' },
    { name: 'l_commitdate', type: 'DATE' },
    { name: 'l_receiptdate', type: 'DATE' },
    { name: 'l_shipinstruct', type: 'VARCHAR' },
    { name: 'l_shipmode', type: 'VARCHAR' },
    { name: 'l_comment', type: 'VARCHAR' },
  ],
  primaryKey: ['l_orderkey', 'l_linenumber'],
}

export const tpchTables: readonly TableDefinition[] = [customerTable, ordersTable, lineitemTable]

/** CREATE TABLE text both Strata and DuckDB accept, so both sides have the same schema. */
export function createTableSql(table: TableDefinition): string {
  const columns = table.columns.map((column) => `${column.name} ${column.type} NOT NULL`)
  return `CREATE TABLE ${table.name} (${columns.join(', ')}, PRIMARY KEY (${table.primaryKey.join(', ')}))`
}

/** Row counts for a scale factor, as TPC-H defines them (lineitem is 1–7 per order, ~4 on average). */
export function tpchCardinalities(scaleFactor: number): { customerCount: number; orderCount: number } {
  return {
    customerCount: Math.max(30, Math.round(150_000 * scaleFactor)),
    orderCount: Math.max(100, Math.round(1_500_000 * scaleFactor)),
  }
}

// TPC-H's value domains (specification section 4.2.2.13 and 4.2.3).
const marketSegments = ['AUTOMOBILE', 'BUILDING', 'FURNITURE', 'MACHINERY', 'HOUSEHOLD'] as const
const orderPriorities = ['1-URGENT', '2-HIGH', '3-MEDIUM', '4-NOT SPECIFIED', '5-LOW'] as const
const shipInstructions = ['DELIVER IN PERSON', 'COLLECT COD', 'NONE', 'TAKE BACK RETURN'] as const
const shipModes = ['REG AIR', 'AIR', 'RAIL', 'SHIP', 'TRUCK', 'MAIL', 'FOB'] as const
// Comment text: TPC-H uses a sentence grammar over this kind of vocabulary; a word list keeps the
// strings realistic in length and compressibility without the grammar. No commas or quotes, so the
// CSV files need no quoting.
const commentWords = [
  'furiously', 'quickly', 'carefully', 'blithely', 'slyly', 'final', 'regular', 'express', 'pending',
  'ironic', 'special', 'bold', 'even', 'silent', 'unusual', 'packages', 'requests', 'accounts',
  'deposits', 'foxes', 'ideas', 'theodolites', 'pinto', 'beans', 'instructions', 'dependencies',
  'excuses', 'platelets', 'asymptotes', 'courts', 'dolphins', 'sleep', 'wake', 'are', 'haggle', 'nag',
  'use', 'boost', 'affix', 'detect', 'integrate', 'cajole', 'among', 'across', 'about', 'above',
] as const
// No spaces: a CSV reader may trim them at the ends of a field.
const addressCharacters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'

const millisecondsPerDay = 86_400_000
const startDay = dayNumber('1992-01-01')
const endDay = dayNumber('1998-12-31')
/** TPC-H's CURRENTDATE: line items received by then are returned or accepted, shipped by then are final. */
const currentDay = dayNumber('1995-06-17')

function dayNumber(isoDate: string): number {
  return Math.round(Date.parse(`${isoDate}T00:00:00Z`) / millisecondsPerDay)
}

function isoDate(day: number): string {
  return new Date(day * millisecondsPerDay).toISOString().slice(0, 10)
}

function comment(random: SeededRandom, lengthMax: number): string {
  const lengthTarget = random.integer(Math.floor(lengthMax * 0.3), lengthMax)
  let text = random.pick(commentWords)
  for (;;) {
    const word = random.pick(commentWords)
    if (text.length + 1 + word.length > lengthTarget) return text
    text += ` ${word}`
  }
}

function randomString(random: SeededRandom, lengthMinimum: number, lengthMaximum: number): string {
  const length = random.integer(lengthMinimum, lengthMaximum)
  let text = ''
  for (let index = 0; index < length; index += 1) text += addressCharacters[random.integer(0, addressCharacters.length - 1)]
  return text
}

function padded(value: number, width: number): string {
  return String(value).padStart(width, '0')
}

/** Cents to a DECIMAL(15,2) value; Math.round so 0.07 stays the double closest to 0.07. */
function money(cents: number): number {
  return Math.round(cents) / 100
}

/**
 * customer rows in column order. Independent seeds per table, so generating one table alone gives the
 * same rows as generating all three.
 */
export function* generateCustomers(options: GenerateOptions): Generator<CellValue[]> {
  const { customerCount } = tpchCardinalities(options.scaleFactor)
  const random = new SeededRandom(options.seed * 31 + 1)
  for (let key = 1; key <= customerCount; key += 1) {
    const nationKey = random.integer(0, 24)
    const phone = `${nationKey + 10}-${random.integer(100, 999)}-${random.integer(100, 999)}-${random.integer(1000, 9999)}`
    yield [
      key,
      `Customer#${padded(key, 9)}`,
      randomString(random, 10, 40),
      nationKey,
      phone,
      money(random.integer(-99_999, 999_999)),
      random.pick(marketSegments),
      comment(random, 117),
    ]
  }
}

export interface OrderWithLineitems {
  readonly order: CellValue[]
  readonly lineitems: CellValue[][]
}

/**
 * orders rows with their line items, generated together because an order's status and total price are
 * functions of its lines (TPC-H 4.2.3). Order keys are sparse like dbgen's (8 used out of every 32).
 */
export function* generateOrdersWithLineitems(options: GenerateOptions): Generator<OrderWithLineitems> {
  const { customerCount, orderCount } = tpchCardinalities(options.scaleFactor)
  const partCount = Math.max(10, Math.round(200_000 * options.scaleFactor))
  const supplierCount = Math.max(10, Math.round(10_000 * options.scaleFactor))
  const clerkCount = Math.max(1, Math.round(1_000 * options.scaleFactor))
  const random = new SeededRandom(options.seed * 31 + 2)
  for (let index = 0; index < orderCount; index += 1) {
    const orderKey = Math.floor(index / 8) * 32 + (index % 8) + 1
    // TPC-H: a third of the customers (key divisible by 3) never place an order.
    let customerKey = random.integer(1, customerCount)
    while (customerKey % 3 === 0) customerKey = random.integer(1, customerCount)
    const orderDay = random.integer(startDay, endDay - 151)
    const lineCount = random.integer(1, 7)
    const lineitems: CellValue[][] = []
    let totalCents = 0
    let finalLines = 0
    for (let lineNumber = 1; lineNumber <= lineCount; lineNumber += 1) {
      const partKey = random.integer(1, partCount)
      const quantity = random.integer(1, 50)
      // TPC-H's retail price formula for a part key, in cents.
      const retailCents = 90_000 + (Math.floor(partKey / 10) % 20_001) + 100 * (partKey % 1_000)
      const extendedCents = quantity * retailCents
      const discountPercent = random.integer(0, 10)
      const taxPercent = random.integer(0, 8)
      const shipDay = orderDay + random.integer(1, 121)
      const commitDay = orderDay + random.integer(30, 90)
      const receiptDay = shipDay + random.integer(1, 30)
      const returnFlag = receiptDay <= currentDay ? (random.float() < 0.5 ? 'R' : 'A') : 'N'
      const lineStatus = shipDay > currentDay ? 'O' : 'F'
      if (lineStatus === 'F') finalLines += 1
      totalCents += Math.round((extendedCents * (100 + taxPercent) * (100 - discountPercent)) / 10_000)
      lineitems.push([
        orderKey,
        partKey,
        random.integer(1, supplierCount),
        lineNumber,
        quantity,
        money(extendedCents),
        discountPercent / 100,
        taxPercent / 100,
        returnFlag,
        lineStatus,
        isoDate(shipDay),
        isoDate(commitDay),
        isoDate(receiptDay),
        random.pick(shipInstructions),
        random.pick(shipModes),
        comment(random, 44),
      ])
    }
    const orderStatus = finalLines === lineCount ? 'F' : finalLines === 0 ? 'O' : 'P'
    const order: CellValue[] = [
      orderKey,
      customerKey,
      orderStatus,
      money(totalCents),
      isoDate(orderDay),
      random.pick(orderPriorities),
      `Clerk#${padded(random.integer(1, clerkCount), 9)}`,
      0,
      comment(random, 79),
    ]
    yield { order, lineitems }
  }
}

/** Every row of one table, in column order. */
export function* generateTable(table: TableDefinition['name'], options: GenerateOptions): Generator<CellValue[]> {
  if (table === 'customer') {
    yield* generateCustomers(options)
    return
  }
  for (const { order, lineitems } of generateOrdersWithLineitems(options)) {
    if (table === 'orders') yield order
    else yield* lineitems
  }
}

/** One CSV field: decimals always with two places, so the file says exactly what the DECIMAL holds. */
function csvField(value: CellValue, column: ColumnDefinition): string {
  if (typeof value === 'number' && column.type === 'DECIMAL(15,2)') return value.toFixed(2)
  return String(value)
}

/**
 * Every table's rows in memory, from one pass of the generator (orders and their line items come from
 * one generator, so generating the tables one by one would generate the orders twice). The same rows
 * as `generateTable` gives for each table. At SF 0.1 this is about 400 MB of JavaScript arrays.
 *
 * @example const rows = generateAllTables({ scaleFactor: 0.01, seed: 42 }); rows.lineitem.length
 */
export function generateAllTables(options: GenerateOptions): Record<TableDefinition['name'], CellValue[][]> {
  const orders: CellValue[][] = []
  const lineitem: CellValue[][] = []
  for (const { order, lineitems } of generateOrdersWithLineitems(options)) {
    orders.push(order)
    for (const line of lineitems) lineitem.push(line)
  }
  return { customer: [...generateCustomers(options)], orders, lineitem }
}

/**
 * Writes one table as CSV with a header row (comma-separated; generated text never contains commas or
 * quotes). Returns the number of rows written.
 */
export async function writeTableCsv(table: TableDefinition, file: string, options: GenerateOptions): Promise<number> {
  return writeRowsCsv(table, generateTable(table.name, options), file)
}

/** Writes rows of `table` (from `generateTable` or `generateAllTables`) as `writeTableCsv` does. */
export async function writeRowsCsv(table: TableDefinition, rows: Iterable<readonly CellValue[]>, file: string): Promise<number> {
  const stream = createWriteStream(file)
  let rowCount = 0
  let buffer = `${table.columns.map((column) => column.name).join(',')}\n`
  for (const row of rows) {
    buffer += `${row.map((value, index) => csvField(value, table.columns[index] as ColumnDefinition)).join(',')}\n`
    rowCount += 1
    // Write in ~1 MB pieces and honour backpressure, so memory stays flat at any scale.
    if (buffer.length > 1 << 20) {
      if (!stream.write(buffer)) await once(stream, 'drain')
      buffer = ''
    }
  }
  stream.end(buffer)
  await once(stream, 'finish')
  return rowCount
}
