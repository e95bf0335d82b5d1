/**
 * Drizzle over the PostgreSQL wire protocol: drizzle-orm's node-postgres driver against the real
 * server (typed writes and reads, transactions, aggregates, joins, named prepared statements,
 * relational queries with `with:`, which Drizzle compiles to json_agg/json_build_array), and
 * drizzle-kit's PostgreSQL introspection (`drizzle-kit pull`, run as its own process) reading our
 * pg_catalog and information_schema.
 */
import * as assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import { createRequire } from 'node:module'
import * as path from 'node:path'
import { after, before, describe, test } from 'node:test'
import pg from 'pg'
import { and, asc, count, desc, eq, gt, relations, sql, sum, TransactionRollbackError } from 'drizzle-orm'
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres'
import { boolean, doublePrecision, integer, json, numeric, pgTable, text, timestamp } from 'drizzle-orm/pg-core'
import { Engine } from '../src/engine/engine.js'
import { startPgServer, type PgServer } from '../src/interfaces/server/pg/index.js'
import { temporaryDirectory } from './helpers.js'

const authors = pgTable('authors', {
  id: integer('id').primaryKey(),
  name: text('name').notNull(),
  active: boolean('active').notNull().default(true),
  joined: timestamp('joined', { mode: 'date' }).notNull(),
  rating: doublePrecision('rating'),
  balance: numeric('balance', { precision: 10, scale: 2 }),
  profile: json('profile').$type<{ readonly tags: readonly string[] }>(),
})

const books = pgTable('books', {
  id: integer('id').primaryKey(),
  authorId: integer('author_id').notNull(),
  title: text('title').notNull(),
  pages: integer('pages').notNull(),
})

const authorsRelations = relations(authors, ({ many }) => ({ books: many(books) }))
const booksRelations = relations(books, ({ one }) => ({ author: one(authors, { fields: [books.authorId], references: [authors.id] }) }))

const schema = { authors, books, authorsRelations, booksRelations }

interface Fixture {
  readonly engine: Engine
  readonly server: PgServer
  readonly pool: pg.Pool
  readonly db: NodePgDatabase<typeof schema>
  /** A connection of its own, outside Drizzle's pool: what other sessions see. */
  readonly observer: pg.Client
}

async function startFixture(): Promise<Fixture> {
  const engine = await Engine.open(':memory:', {})
  const server = await startPgServer(engine, { host: '127.0.0.1', port: 0, auth: { kind: 'trust' }, maxConnections: 20, statementTimeoutMs: 60_000 })
  const pool = new pg.Pool({ host: '127.0.0.1', port: server.port, user: 'tester', database: 'strata', max: 3 })
  // An idle pooled connection hears the server's shutdown notice; that is not a failure of these tests.
  pool.on('error', () => undefined)
  const observer = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'observer', database: 'strata' })
  await observer.connect()
  return { engine, server, pool, db: drizzle(pool, { schema }), observer }
}

async function stopFixture(fixture: Fixture): Promise<void> {
  await fixture.observer.end()
  await fixture.pool.end()
  await fixture.server.close({ graceMs: 100 })
  await fixture.engine.close()
}

async function observedCount(fixture: Fixture, table: string): Promise<number> {
  const result = await fixture.observer.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)
  return Number(result.rows[0]!.n)
}

describe('Drizzle ORM over node-postgres', () => {
  let fixture: Fixture

  before(async () => {
    fixture = await startFixture()
    await fixture.db.execute(
      sql.raw(`CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT NOT NULL, active BOOLEAN NOT NULL DEFAULT true, joined TIMESTAMP NOT NULL,
               rating DOUBLE PRECISION, balance DECIMAL(10,2), profile JSON)`),
    )
    await fixture.db.execute(sql.raw('CREATE TABLE books (id INTEGER PRIMARY KEY, author_id INTEGER NOT NULL, title TEXT NOT NULL, pages INTEGER NOT NULL)'))
  })

  after(async () => {
    await stopFixture(fixture)
  })

  test('typed insert with returning, then select with where, orderBy and limit', async () => {
    const { db } = fixture
    const inserted = await db
      .insert(authors)
      .values([
        { id: 1, name: 'Ann', joined: new Date('2024-01-02T03:04:05.678Z'), rating: 4.5, balance: '12.50', profile: { tags: ['poetry', 'essays'] } },
        { id: 2, name: "Bo'b", active: false, joined: new Date('2023-06-30T23:59:59Z'), rating: 3.25, balance: '-7.05', profile: null },
        { id: 3, name: 'Cy', joined: new Date('2022-12-31T00:00:00Z'), rating: null, balance: null },
        { id: 4, name: 'Di', joined: new Date('2021-05-05T05:05:05Z'), rating: 4.75, balance: '1000' },
      ])
      .returning()
    assert.deepEqual(inserted, [
      { id: 1, name: 'Ann', active: true, joined: new Date('2024-01-02T03:04:05.678Z'), rating: 4.5, balance: '12.50', profile: { tags: ['poetry', 'essays'] } },
      { id: 2, name: "Bo'b", active: false, joined: new Date('2023-06-30T23:59:59Z'), rating: 3.25, balance: '-7.05', profile: null },
      { id: 3, name: 'Cy', active: true, joined: new Date('2022-12-31T00:00:00Z'), rating: null, balance: null, profile: null },
      { id: 4, name: 'Di', active: true, joined: new Date('2021-05-05T05:05:05Z'), rating: 4.75, balance: '1000.00', profile: null },
    ])

    const rated = await db
      .select({ id: authors.id, name: authors.name, rating: authors.rating })
      .from(authors)
      .where(and(eq(authors.active, true), gt(authors.rating, 4)))
      .orderBy(desc(authors.rating))
      .limit(1)
    assert.deepEqual(rated, [{ id: 4, name: 'Di', rating: 4.75 }])

    const everyone = await db.select().from(authors).orderBy(authors.joined).limit(3)
    assert.deepEqual(
      everyone.map((author) => [author.id, author.joined.toISOString(), author.balance, author.profile]),
      [
        [4, '2021-05-05T05:05:05.000Z', '1000.00', null],
        [3, '2022-12-31T00:00:00.000Z', null, null],
        [2, '2023-06-30T23:59:59.000Z', '-7.05', null],
      ],
    )
    const ann = await db.select({ profile: authors.profile, joined: authors.joined }).from(authors).where(eq(authors.name, 'Ann'))
    assert.deepEqual(ann, [{ profile: { tags: ['poetry', 'essays'] }, joined: new Date('2024-01-02T03:04:05.678Z') }])
  })

  test('update and delete, with returning; other connections see the results', async () => {
    const { db } = fixture
    const updated = await db.update(authors).set({ rating: 5, balance: '0.10' }).where(eq(authors.id, 3)).returning({ id: authors.id, rating: authors.rating, balance: authors.balance })
    assert.deepEqual(updated, [{ id: 3, rating: 5, balance: '0.10' }])
    const untouched = await db.update(authors).set({ rating: 1 }).where(eq(authors.id, 99)).returning({ id: authors.id })
    assert.deepEqual(untouched, [])

    const deleted = await db.delete(authors).where(eq(authors.name, 'Di')).returning({ id: authors.id })
    assert.deepEqual(deleted, [{ id: 4 }])
    const observed = await fixture.observer.query('SELECT id, rating, balance FROM authors ORDER BY id')
    assert.deepEqual(observed.rows, [
      { id: 1, rating: 4.5, balance: '12.50' },
      { id: 2, rating: 3.25, balance: '-7.05' },
      { id: 3, rating: 5, balance: '0.10' },
    ])
  })

  test('a transaction that commits and one that rolls back, seen from a second connection', async () => {
    const { db } = fixture
    await db.transaction(async (tx) => {
      await tx.insert(books).values([
        { id: 10, authorId: 1, title: 'Odes', pages: 120 },
        { id: 11, authorId: 1, title: 'Essays', pages: 300 },
      ])
      await tx.update(books).set({ pages: 130 }).where(eq(books.id, 10))
      const inside = await tx.select({ pages: books.pages }).from(books).where(eq(books.id, 10))
      assert.deepEqual(inside, [{ pages: 130 }])
      assert.equal(await observedCount(fixture, 'books'), 0, 'uncommitted rows are invisible to another connection')
    })
    assert.equal(await observedCount(fixture, 'books'), 2)

    let reachedRollback = false
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.insert(books).values({ id: 12, authorId: 2, title: 'Lost', pages: 1 })
        await tx.delete(books).where(eq(books.id, 10))
        const inside = await tx.select({ id: books.id }).from(books).orderBy(books.id)
        assert.deepEqual(inside, [{ id: 11 }, { id: 12 }])
        reachedRollback = true
        tx.rollback()
      }),
      TransactionRollbackError,
    )
    assert.ok(reachedRollback)
    const observed = await fixture.observer.query('SELECT id, title, pages FROM books ORDER BY id')
    assert.deepEqual(observed.rows, [
      { id: 10, title: 'Odes', pages: 130 },
      { id: 11, title: 'Essays', pages: 300 },
    ])
  })

  test('aggregates (count, sum) and a join between the two tables', async () => {
    const { db } = fixture
    await db.insert(books).values([
      { id: 20, authorId: 2, title: 'Tales', pages: 50 },
      { id: 21, authorId: 3, title: 'Notes', pages: 7 },
    ])
    const [totals] = await db.select({ books: count(), pages: sum(books.pages) }).from(books)
    assert.deepEqual(totals, { books: 4, pages: '487' })

    const perAuthor = await db
      .select({ author: authors.name, books: count(books.id), pages: sum(books.pages) })
      .from(authors)
      .innerJoin(books, eq(books.authorId, authors.id))
      .groupBy(authors.name)
      .orderBy(authors.name)
    assert.deepEqual(perAuthor, [
      { author: 'Ann', books: 2, pages: '430' },
      { author: "Bo'b", books: 1, pages: '50' },
      { author: 'Cy', books: 1, pages: '7' },
    ])

    const titled = await db
      .select({ title: books.title, author: authors.name, active: authors.active })
      .from(books)
      .leftJoin(authors, eq(books.authorId, authors.id))
      .where(gt(books.pages, 10))
      .orderBy(books.id)
    assert.deepEqual(titled, [
      { title: 'Odes', author: 'Ann', active: true },
      { title: 'Essays', author: 'Ann', active: true },
      { title: 'Tales', author: "Bo'b", active: false },
    ])
  })

  test('a named prepared statement executed twice with different placeholders', async () => {
    const { db } = fixture
    const byAuthor = db
      .select({ id: books.id, title: books.title })
      .from(books)
      .where(and(eq(books.authorId, sql.placeholder('author')), gt(books.pages, sql.placeholder('pagesMin'))))
      .orderBy(books.id)
      .prepare('books_by_author')
    assert.deepEqual(await byAuthor.execute({ author: 1, pagesMin: 0 }), [
      { id: 10, title: 'Odes' },
      { id: 11, title: 'Essays' },
    ])
    assert.deepEqual(await byAuthor.execute({ author: 1, pagesMin: 200 }), [{ id: 11, title: 'Essays' }])
    assert.deepEqual(await byAuthor.execute({ author: 3, pagesMin: 0 }), [{ id: 21, title: 'Notes' }])
    assert.deepEqual(await byAuthor.execute({ author: 42, pagesMin: 0 }), [])

    const renamed = db.update(authors).set({ name: sql`${sql.placeholder('name')}` }).where(eq(authors.id, sql.placeholder('id'))).returning({ id: authors.id, name: authors.name }).prepare('rename_author')
    assert.deepEqual(await renamed.execute({ id: 1, name: 'Anne' }), [{ id: 1, name: 'Anne' }])
    assert.deepEqual(await renamed.execute({ id: 2, name: 'Bob' }), [{ id: 2, name: 'Bob' }])
    const names = await fixture.observer.query('SELECT name FROM authors ORDER BY id')
    assert.deepEqual(names.rows, [{ name: 'Anne' }, { name: 'Bob' }, { name: 'Cy' }])
  })

  test('relational queries with `with:` (json_agg, json_build_array): one-to-many, many-to-one, nested, none', async () => {
    const { db } = fixture
    await db.insert(authors).values({ id: 5, name: 'Ed', joined: new Date('2020-02-29T12:00:00.5Z'), profile: { tags: ['new'] } })
    const withBooks = await db.query.authors.findMany({
      columns: { id: true, name: true },
      with: { books: { columns: { id: true, title: true, pages: true }, orderBy: [desc(books.pages)] } },
      orderBy: [asc(authors.id)],
    })
    assert.deepEqual(withBooks, [
      { id: 1, name: 'Anne', books: [{ id: 11, title: 'Essays', pages: 300 }, { id: 10, title: 'Odes', pages: 130 }] },
      { id: 2, name: 'Bob', books: [{ id: 20, title: 'Tales', pages: 50 }] },
      { id: 3, name: 'Cy', books: [{ id: 21, title: 'Notes', pages: 7 }] },
      // No books: coalesce(json_agg(…), '[]') — json_agg of no rows is NULL, as in PostgreSQL.
      { id: 5, name: 'Ed', books: [] },
    ])

    // Every column type inside the JSON Drizzle decodes: timestamp, numeric, boolean, double, json.
    // A numeric travels in JSON as a number, so Drizzle gives '12.5' where a plain select gives '12.50' (so on PostgreSQL too).
    const withAuthor = await db.query.books.findMany({ with: { author: true }, where: eq(books.authorId, 1), orderBy: [asc(books.id)] })
    const anne = { id: 1, name: 'Anne', active: true, joined: new Date('2024-01-02T03:04:05.678Z'), rating: 4.5, balance: '12.5', profile: { tags: ['poetry', 'essays'] } }
    assert.deepEqual(withAuthor, [
      { id: 10, authorId: 1, title: 'Odes', pages: 130, author: anne },
      { id: 11, authorId: 1, title: 'Essays', pages: 300, author: anne },
    ])

    const nested = await db.query.authors.findFirst({
      columns: { name: true, profile: true },
      where: eq(authors.id, 2),
      with: { books: { columns: { title: true }, with: { author: { columns: { name: true, active: true, rating: true, balance: true } } } } },
    })
    assert.deepEqual(nested, { name: 'Bob', profile: null, books: [{ title: 'Tales', author: { name: 'Bob', active: false, rating: 3.25, balance: '-7.05' } }] })

    const ed = await db.query.authors.findFirst({ where: eq(authors.id, 5), with: { books: true } })
    assert.deepEqual(ed, { id: 5, name: 'Ed', active: true, joined: new Date('2020-02-29T12:00:00.500Z'), rating: null, balance: null, profile: { tags: ['new'] }, books: [] })
  })
})

// ───────────────────────────── drizzle-kit introspection ─────────────────────────────

interface Run {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs a program to completion without blocking the event loop (the server under test runs in this process). */
function run(program: string, args: readonly string[], cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000)
    child.on('error', reject)
    child.on('close', (status) => {
      clearTimeout(timer)
      resolve({ status, stdout, stderr })
    })
  })
}

/** drizzle-kit's command-line entry (`bin.cjs` beside the package's main file). */
function drizzleKitBin(): string {
  return path.join(path.dirname(createRequire(import.meta.url).resolve('drizzle-kit')), 'bin.cjs')
}

describe('drizzle-kit pull (PostgreSQL introspection)', () => {
  test('writes the schema of two tables: types, primary keys, NOT NULL, defaults, unique and check constraints, indexes, a view', async () => {
    const engine = await Engine.open(':memory:', {})
    const server = await startPgServer(engine, { host: '127.0.0.1', port: 0, auth: { kind: 'trust' }, maxConnections: 20, statementTimeoutMs: 60_000 })
    const directory = temporaryDirectory('drizzle-kit')
    try {
      const client = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'tester', database: 'strata' })
      await client.connect()
      try {
        for (const statement of [
          `CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT UNIQUE, active BOOLEAN NOT NULL DEFAULT true,
                                 joined TIMESTAMP DEFAULT now(), nick TEXT DEFAULT 'it''s', rating DOUBLE PRECISION, profile JSON)`,
          `CREATE TABLE books (author_id INTEGER NOT NULL, slug TEXT NOT NULL, pages SMALLINT DEFAULT 1, price DECIMAL(10,2) CHECK (price >= 0),
                               sold BIGINT NOT NULL DEFAULT 0, published DATE, PRIMARY KEY (author_id, slug))`,
          'CREATE VIEW long_books AS SELECT author_id, slug FROM books WHERE pages > 300',
          'CREATE UNIQUE INDEX authors_name_nick ON authors (name, nick)',
          'CREATE INDEX books_published_idx ON books (published)',
          // Unnamed: PostgreSQL's name, books_sold_idx.
          'CREATE INDEX ON books (sold)',
          'CREATE INDEX gone_idx ON books (pages)',
          'DROP INDEX gone_idx',
        ]) {
          await client.query(statement)
        }
      } finally {
        await client.end()
      }

      const out = path.join(directory.path, 'drizzle')
      const pulled = await run(process.execPath, [drizzleKitBin(), 'pull', '--dialect=postgresql', `--url=postgres://tester@127.0.0.1:${server.port}/strata`, `--out=${out}`], directory.path)
      assert.equal(pulled.status, 0, `drizzle-kit pull failed:\n${pulled.stdout}\n${pulled.stderr}`)
      const schemaText = fs.readFileSync(path.join(out, 'schema.ts'), 'utf8')
      // The import list's order follows drizzle-kit's traversal; its members are what matter.
      const importLine = schemaText.split('\n').find((line) => line.endsWith('from "drizzle-orm/pg-core"')) ?? ''
      const imported = importLine.slice(importLine.indexOf('{') + 1, importLine.indexOf('}')).split(',').map((name) => name.trim())
      assert.deepEqual(imported.sort(), [
        'bigint', 'boolean', 'check', 'date', 'doublePrecision', 'index', 'integer', 'json', 'numeric', 'pgTable', 'pgView', 'primaryKey', 'smallint', 'text', 'timestamp', 'unique', 'uniqueIndex',
      ])
      const expected = [
        `export const authors = pgTable("authors", {
	id: integer().primaryKey().notNull(),
	name: text().notNull(),
	email: text(),
	active: boolean().default(true).notNull(),
	joined: timestamp({ mode: 'string' }).defaultNow(),
	nick: text().default('it\\'s'),
	rating: doublePrecision(),
	profile: json(),
}, (table) => [
	uniqueIndex("authors_name_nick").using("btree", table.name.asc().nullsLast().op("text_ops"), table.nick.asc().nullsLast().op("text_ops")),
	unique("authors_email_key").on(table.email),
]);`,
        `export const books = pgTable("books", {
	authorId: integer("author_id").notNull(),
	slug: text().notNull(),
	pages: smallint().default(1),
	price: numeric({ precision: 10, scale:  2 }),
	// You can use { mode: "bigint" } if numbers are exceeding js number limitations
	sold: bigint({ mode: "number" }).default(0).notNull(),
	published: date(),
}, (table) => [
	index("books_published_idx").using("btree", table.published.asc().nullsLast().op("date_ops")),
	index("books_sold_idx").using("btree", table.sold.asc().nullsLast().op("int8_ops")),
	primaryKey({ columns: [table.authorId, table.slug], name: "books_pkey"}),
	check("books_price_check", sql\`"price" >= 0\`),
]);`,
        `export const longBooks = pgView("long_books", {	authorId: integer("author_id"),
	slug: text(),
}).as(sql\`SELECT author_id, slug FROM books WHERE pages > 300\`);`,
      ]
      for (const piece of expected) assert.ok(schemaText.includes(piece), `schema.ts lacks:\n${piece}\n--- schema.ts ---\n${schemaText}`)
      assert.doesNotMatch(schemaText, /gone_idx/, 'a dropped index is gone from the catalog')
    } finally {
      await server.close({ graceMs: 100 })
      await engine.close()
      directory.remove()
    }
  })
})
