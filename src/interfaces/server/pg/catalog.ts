/**
 * `pg_catalog` and `information_schema` for PostgreSQL clients, built from Strata's catalog.
 *
 * How: a SELECT that reads a catalog relation or calls a catalog function is rewritten on its
 * PostgreSQL parse tree and run on the column store (DuckDB) as ordinary SQL:
 *
 * - each catalog relation it names (`pg_catalog.pg_class`, `information_schema.columns`, …) becomes
 *   a CTE whose rows are literal VALUES made from our catalog (tables, columns, types, keys, checks,
 *   views) and from the connection (user, database, settings), under the name the query used;
 * - catalog functions (`format_type`, `pg_get_indexdef`, `pg_table_is_visible`, `version()`,
 *   `current_setting`, …) become expressions over those relations or constants (templates written in
 *   SQL, parsed once, their `$n` replaced by the call's arguments);
 * - PostgreSQL-only spellings DuckDB does not take are turned into DuckDB's: `::regclass` and friends
 *   (`'{int,int8}'::regtype[]` too), `OPERATOR(pg_catalog.~)` and the regex operators, `= ANY (array)`,
 *   `EXISTS (SELECT FROM …)`, `COLLATE pg_catalog.default`, `pg_catalog.` qualifications.
 *
 * A query whose rows must come from a relation we always leave empty (pg_policy, pg_policies,
 * pg_publication, pg_inherits, pg_sequences, pg_enum, pg_statistic_ext, …; Strata has none of those
 * objects) through inner joins is answered as empty without running it: psql's `\d table` asks such
 * questions in SQL DuckDB cannot bind (`generate_series(…) s … prattrs[s]`), and "no rows" is the
 * true answer.
 *
 * Why this and not the alternatives: recognising psql's queries by their text breaks with every psql
 * version; views persisted in the column store would put server objects in the user's mirror and go
 * stale between a schema change and their refresh; DuckDB's own pg_catalog describes DuckDB's objects
 * (the mirror's internal schemas, our tables as views). Literal CTEs are exact for the catalog
 * snapshot the query started with, and leave nothing behind.
 */
import { parseTree, scanTokens } from '../../../sql/parse.js'
import { deparseStatement } from '../../../sql/deparse.js'
import { indexesOf, isInternalTable, type Catalog, type TableDefinition } from '../../../sql/catalog.js'
import { constraintIndexNames } from '../../../sql/ddl.js'
import type { PgNode } from '../../../sql/parse.js'
import { list, names, nodeBody, nodeKind, walk } from '../../../sql/tree.js'
import type { SqlType } from '../../../sql/types.js'
import { serverVersion } from './settings.js'
import { oid, wireType } from './values.js'

/** What a catalog query may show about the connection that asks. */
export interface CatalogContext {
  readonly user: string
  readonly database: string
  readonly processId: number
  /** Every role the server knows (the connecting user first). */
  readonly roles: readonly string[]
  setting(name: string): string | undefined
  settings(): readonly { readonly name: string; readonly value: string; readonly description: string }[]
  /** set_config(): returns the value set. */
  setSetting(name: string, value: string): void
}

/** Server-wide: the same object name gets the same OID for the life of the server. */
export class OidAllocator {
  private next = 16_400
  private readonly byKey = new Map<string, number>()

  get(key: string): number {
    let value = this.byKey.get(key)
    if (value === undefined) {
      value = this.next++
      this.byKey.set(key, value)
    }
    return value
  }
}

const namespace = { pgCatalog: 11, pgToast: 99, public: 2200, informationSchema: 13_000 } as const
const superuserOid = 10
const databaseOid = 16_384
const accessMethod = { heap: 2, btree: 403 } as const

interface TypeInfo {
  readonly oid: number
  readonly name: string
  /** format_type()'s spelling. */
  readonly display: string
  readonly length: number
  readonly category: string
  readonly element: number
  readonly array: number
  readonly collation: number
}

const scalarTypes: readonly Omit<TypeInfo, 'element'>[] = [
  { oid: oid.bool, name: 'bool', display: 'boolean', length: 1, category: 'B', array: oid.boolArray, collation: 0 },
  { oid: oid.bytea, name: 'bytea', display: 'bytea', length: -1, category: 'U', array: 1001, collation: 0 },
  { oid: oid.char, name: 'char', display: '"char"', length: 1, category: 'Z', array: 1002, collation: 0 },
  { oid: oid.name, name: 'name', display: 'name', length: 64, category: 'S', array: 1003, collation: 950 },
  { oid: oid.int8, name: 'int8', display: 'bigint', length: 8, category: 'N', array: oid.int8Array, collation: 0 },
  { oid: oid.int2, name: 'int2', display: 'smallint', length: 2, category: 'N', array: oid.int2Array, collation: 0 },
  { oid: oid.int2vector, name: 'int2vector', display: 'int2vector', length: -1, category: 'A', array: 1006, collation: 0 },
  { oid: oid.int4, name: 'int4', display: 'integer', length: 4, category: 'N', array: oid.int4Array, collation: 0 },
  { oid: oid.regproc, name: 'regproc', display: 'regproc', length: 4, category: 'N', array: 1008, collation: 0 },
  { oid: oid.text, name: 'text', display: 'text', length: -1, category: 'S', array: oid.textArray, collation: 100 },
  { oid: oid.oid, name: 'oid', display: 'oid', length: 4, category: 'N', array: oid.oidArray, collation: 0 },
  { oid: oid.json, name: 'json', display: 'json', length: -1, category: 'U', array: 199, collation: 0 },
  { oid: oid.float4, name: 'float4', display: 'real', length: 4, category: 'N', array: 1021, collation: 0 },
  { oid: oid.float8, name: 'float8', display: 'double precision', length: 8, category: 'N', array: oid.float8Array, collation: 0 },
  { oid: oid.bpchar, name: 'bpchar', display: 'character', length: -1, category: 'S', array: 1014, collation: 100 },
  { oid: oid.varchar, name: 'varchar', display: 'character varying', length: -1, category: 'S', array: 1015, collation: 100 },
  { oid: oid.date, name: 'date', display: 'date', length: 4, category: 'D', array: 1182, collation: 0 },
  { oid: oid.time, name: 'time', display: 'time without time zone', length: 8, category: 'D', array: 1183, collation: 0 },
  { oid: oid.timestamp, name: 'timestamp', display: 'timestamp without time zone', length: 8, category: 'D', array: 1115, collation: 0 },
  { oid: oid.timestamptz, name: 'timestamptz', display: 'timestamp with time zone', length: 8, category: 'D', array: 1185, collation: 0 },
  { oid: oid.interval, name: 'interval', display: 'interval', length: 16, category: 'T', array: 1187, collation: 0 },
  { oid: oid.numeric, name: 'numeric', display: 'numeric', length: -1, category: 'N', array: 1231, collation: 0 },
  { oid: oid.regclass, name: 'regclass', display: 'regclass', length: 4, category: 'N', array: 2210, collation: 0 },
  { oid: oid.uuid, name: 'uuid', display: 'uuid', length: 16, category: 'U', array: 2951, collation: 0 },
  { oid: oid.jsonb, name: 'jsonb', display: 'jsonb', length: -1, category: 'U', array: 3807, collation: 0 },
]

const types: readonly TypeInfo[] = [
  ...scalarTypes.map((type) => ({ ...type, element: 0 })),
  ...scalarTypes.map((type) => ({ oid: type.array, name: `_${type.name}`, display: `${type.display}[]`, length: -1, category: 'A', element: type.oid, array: 0, collation: type.collation })),
]

/** A Strata column type as PostgreSQL's type and type modifier. */
function pgType(type: SqlType): { readonly oid: number; readonly typmod: number } {
  switch (type.name) {
    case 'BOOLEAN':
      return { oid: oid.bool, typmod: -1 }
    case 'SMALLINT':
      return { oid: oid.int2, typmod: -1 }
    case 'INTEGER':
      return { oid: oid.int4, typmod: -1 }
    case 'BIGINT':
      return { oid: oid.int8, typmod: -1 }
    case 'DOUBLE':
      return { oid: oid.float8, typmod: -1 }
    case 'DECIMAL':
      return { oid: oid.numeric, typmod: (((type.precision ?? 18) << 16) | (type.scale ?? 3)) + 4 }
    case 'VARCHAR':
      return { oid: oid.text, typmod: -1 }
    case 'BLOB':
      return { oid: oid.bytea, typmod: -1 }
    case 'DATE':
      return { oid: oid.date, typmod: -1 }
    case 'TIMESTAMP':
      return { oid: oid.timestamp, typmod: -1 }
    case 'TIMESTAMPTZ':
      return { oid: oid.timestamptz, typmod: -1 }
    case 'JSON':
      return { oid: oid.json, typmod: -1 }
  }
}

function typeInfo(typeOid: number): TypeInfo | undefined {
  return types.find((type) => type.oid === typeOid)
}

function formatType(typeOid: number, typmod: number): string {
  const info = typeInfo(typeOid)
  if (info === undefined) return '???'
  if (typeOid === oid.numeric && typmod >= 4) return `numeric(${((typmod - 4) >> 16) & 0xffff},${(typmod - 4) & 0xffff})`
  return info.display
}

// ───────────────────────────── the catalog as rows ─────────────────────────────

interface ColumnModel {
  readonly name: string
  readonly number: number
  readonly typeOid: number
  readonly typmod: number
  readonly notNull: boolean
  readonly defaultText: string | undefined
}

interface IndexModel {
  readonly oid: number
  readonly name: string
  readonly primary: boolean
  readonly unique: boolean
  readonly columns: readonly number[]
  readonly columnNames: readonly string[]
  /** The PRIMARY KEY or UNIQUE constraint the index belongs to; undefined for CREATE INDEX's. */
  readonly constraintOid: number | undefined
  /** pg_get_indexdef's text: `CREATE [UNIQUE] INDEX name ON public.t USING btree (a, b)`. */
  readonly definition: string
}

interface CheckModel {
  readonly oid: number
  readonly name: string
  readonly source: string
  readonly columns: readonly number[]
}

interface RelationModel {
  readonly oid: number
  readonly name: string
  readonly kind: 'r' | 'v'
  readonly columns: readonly ColumnModel[]
  readonly indexes: readonly IndexModel[]
  readonly checks: readonly CheckModel[]
  /** A view's defining SELECT. */
  readonly definition: string | undefined
}

/** The catalog snapshot as PostgreSQL would describe it (built once per snapshot). */
export interface CatalogModel {
  readonly relations: readonly RelationModel[]
}

function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`
}

function defaultText(table: TableDefinition, index: number): string | undefined {
  const column = table.columns[index]!
  const fallback = column.default
  if (fallback === undefined) return undefined
  if (fallback.kind === 'now') return 'now()'
  const value = fallback.value
  if (value === null) return 'NULL'
  if (typeof value === 'boolean') return value ? 'true' : 'false'
  if (typeof value === 'number') return String(value)
  return `${quoteLiteral(value)}::${formatType(pgType(column.type).oid, -1)}`
}

/** PostgreSQL's quote_ident leaves a name bare when it is lower-case letters, digits and `_` (not first a digit) and no keyword but an unreserved one. */
function isPlainIdentifier(name: string): boolean {
  // A check of one name's characters, not a rewrite of SQL; the keyword test is the scanner's.
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) return false
  const tokens = scanTokens(name)
  const unreservedKeyword = 1
  return tokens.length === 1 && (tokens[0]!.keywordKind ?? 0) <= unreservedKeyword
}

/** An identifier as PostgreSQL's quote_ident prints it in a definition. */
function definitionIdentifier(name: string): string {
  return isPlainIdentifier(name) ? name : `"${name.replaceAll('"', '""')}"`
}

/** pg_get_indexdef's text for an index over plain columns (Strata's are all ascending B-trees). */
function indexDefinition(table: string, index: { readonly name: string; readonly unique: boolean; readonly columnNames: readonly string[] }): string {
  return `CREATE ${index.unique ? 'UNIQUE ' : ''}INDEX ${definitionIdentifier(index.name)} ON public.${definitionIdentifier(table)} USING btree (${index.columnNames.map(definitionIdentifier).join(', ')})`
}

/**
 * Our catalog as PostgreSQL's objects: each table with its columns, its primary-key and unique
 * indexes (PostgreSQL's names: `t_pkey`, `t_a_key`), its CREATE INDEX indexes and CHECK constraints;
 * each view with the columns `viewColumns` found for it.
 *
 * @example const model = catalogModel(engine.catalogSnapshot, new Map(), new OidAllocator())
 */
export function catalogModel(catalog: Catalog, viewColumns: ReadonlyMap<string, readonly { readonly name: string; readonly type: string }[]>, oids: OidAllocator): CatalogModel {
  const relations: RelationModel[] = []
  for (const table of catalog.tables.values()) {
    if (isInternalTable(table.name)) continue
    const key = new Set(table.primaryKey ?? [])
    const columns = table.columns.map((column, index) => {
      const type = pgType(column.type)
      return { name: column.name, number: index + 1, typeOid: type.oid, typmod: type.typmod, notNull: column.notNull || key.has(column.name), defaultText: defaultText(table, index) }
    })
    const numberOf = (name: string): number => columns.find((column) => column.name === name)?.number ?? 0
    const indexes: IndexModel[] = []
    const constraintNames = constraintIndexNames(table)
    const addIndex = (name: string, columnNames: readonly string[], kind: 'primary' | 'unique constraint' | 'unique' | 'plain'): void => {
      const unique = kind !== 'plain'
      indexes.push({
        oid: oids.get(`index:${table.name}:${name}`),
        name,
        primary: kind === 'primary',
        unique,
        columns: columnNames.map(numberOf),
        columnNames,
        constraintOid: kind === 'primary' || kind === 'unique constraint' ? oids.get(`constraint:${table.name}:${name}`) : undefined,
        definition: indexDefinition(table.name, { name, unique, columnNames }),
      })
    }
    if (table.primaryKey !== null && constraintNames.primaryKey !== undefined) addIndex(constraintNames.primaryKey, table.primaryKey, 'primary')
    table.uniques.forEach((unique, position) => addIndex(constraintNames.uniques[position]!, unique, 'unique constraint'))
    for (const index of indexesOf(table)) addIndex(index.name, index.columns, index.unique ? 'unique' : 'plain')
    const checkNames = new Map<string, number>()
    const checks = table.checks.map((check) => {
      const base = check.columns.length === 1 ? `${table.name}_${check.columns[0]}_check` : `${table.name}_check`
      const seen = checkNames.get(base) ?? 0
      checkNames.set(base, seen + 1)
      const name = seen === 0 ? base : `${base}${seen}`
      // The catalog keeps a check's expression as the row store evaluates it (PostgreSQL syntax but for quoting).
      return { oid: oids.get(`constraint:${table.name}:${name}`), name, source: check.sqlite, columns: check.columns.map(numberOf) }
    })
    relations.push({ oid: oids.get(`relation:${table.name}`), name: table.name, kind: 'r', columns, indexes, checks, definition: undefined })
  }
  for (const view of catalog.views.values()) {
    const columns = (viewColumns.get(view.name) ?? []).map((column, index) => {
      const wire = wireType(column.type)
      return { name: column.name, number: index + 1, typeOid: wire.oid, typmod: wire.modifier, notNull: false, defaultText: undefined }
    })
    relations.push({ oid: oids.get(`relation:${view.name}`), name: view.name, kind: 'v', columns, indexes: [], checks: [], definition: view.sql })
  }
  relations.sort((left, right) => left.name.localeCompare(right.name))
  return { relations }
}

type Row = readonly unknown[]

interface RelationSpec {
  /** Column names and DuckDB types (extra `strata_*` columns carry what catalog functions print). */
  readonly columns: readonly (readonly [string, string])[]
  /** Absent: always empty (objects Strata does not have). */
  readonly rows?: (model: CatalogModel, context: CatalogContext) => Row[]
}

const text = 'VARCHAR'
const bigint = 'BIGINT'
const integer = 'INTEGER'
const smallint = 'SMALLINT'
const boolean = 'BOOLEAN'
const textList = 'VARCHAR[]'
const smallintList = 'SMALLINT[]'
const bigintList = 'BIGINT[]'
const real = 'REAL'

function columnsOf(spec: string): (readonly [string, string])[] {
  return spec
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => {
      const [name, type] = part.split(':')
      return [name!.trim(), (type ?? text).trim()] as const
    })
}

function typeStorage(typeOid: number): string {
  const info = typeInfo(typeOid)
  return info === undefined || info.length === -1 ? (typeOid === oid.numeric ? 'm' : 'x') : 'p'
}

/**
 * btree's default operator class for each type a key column can have: PostgreSQL's fixed OIDs where
 * it has them; bool_ops and bytea_ops get theirs at initdb, so any OID outside the fixed ones is as
 * true as another. json has none (PostgreSQL cannot index it with btree).
 */
const btreeOperatorClasses: readonly { readonly oid: number; readonly name: string; readonly family: number; readonly type: number }[] = [
  { oid: 10_001, name: 'bool_ops', family: 424, type: oid.bool },
  { oid: 10_002, name: 'bytea_ops', family: 428, type: oid.bytea },
  { oid: 1979, name: 'int2_ops', family: 1976, type: oid.int2 },
  { oid: 1978, name: 'int4_ops', family: 1976, type: oid.int4 },
  { oid: 3124, name: 'int8_ops', family: 1976, type: oid.int8 },
  { oid: 3123, name: 'float8_ops', family: 1970, type: oid.float8 },
  { oid: 3125, name: 'numeric_ops', family: 1988, type: oid.numeric },
  { oid: 3126, name: 'text_ops', family: 1994, type: oid.text },
  { oid: 3122, name: 'date_ops', family: 434, type: oid.date },
  { oid: 3128, name: 'timestamp_ops', family: 434, type: oid.timestamp },
  { oid: 3127, name: 'timestamptz_ops', family: 434, type: oid.timestamptz },
]

function btreeOperatorClass(typeOid: number): (typeof btreeOperatorClasses)[number] | undefined {
  return btreeOperatorClasses.find((operatorClass) => operatorClass.type === typeOid)
}

/** The indexes of a relation's PRIMARY KEY and UNIQUE constraints (CREATE INDEX's are no constraints). */
function constraintIndexes(relation: RelationModel): (IndexModel & { readonly constraintOid: number })[] {
  return relation.indexes.filter((index): index is IndexModel & { readonly constraintOid: number } => index.constraintOid !== undefined)
}

function tableRows(model: CatalogModel, kind: 'r' | 'v'): RelationModel[] {
  return model.relations.filter((relation) => relation.kind === kind)
}

const pgCatalog: Readonly<Record<string, RelationSpec>> = {
  pg_namespace: {
    columns: columnsOf(`oid:${bigint}, nspname, nspowner:${bigint}, nspacl:${textList}`),
    rows: () => [
      [namespace.pgCatalog, 'pg_catalog', superuserOid, null],
      [namespace.pgToast, 'pg_toast', superuserOid, null],
      [namespace.public, 'public', superuserOid, null],
      [namespace.informationSchema, 'information_schema', superuserOid, null],
    ],
  },
  pg_class: {
    columns: columnsOf(
      `oid:${bigint}, relname, relnamespace:${bigint}, reltype:${bigint}, reloftype:${bigint}, relowner:${bigint}, relam:${bigint}, relfilenode:${bigint},
       reltablespace:${bigint}, relpages:${integer}, reltuples:${real}, relallvisible:${integer}, reltoastrelid:${bigint}, relhasindex:${boolean},
       relisshared:${boolean}, relpersistence, relkind, relnatts:${smallint}, relchecks:${smallint}, relhasrules:${boolean}, relhastriggers:${boolean},
       relhassubclass:${boolean}, relrowsecurity:${boolean}, relforcerowsecurity:${boolean}, relispopulated:${boolean}, relreplident, relispartition:${boolean},
       relrewrite:${bigint}, relfrozenxid:${bigint}, relminmxid:${bigint}, relacl:${textList}, reloptions:${textList}, relpartbound, strata_definition`,
    ),
    rows: (model) => {
      const rows: Row[] = []
      for (const relation of model.relations) {
        const table = relation.kind === 'r'
        rows.push([
          relation.oid, relation.name, namespace.public, 0, 0, superuserOid, table ? accessMethod.heap : 0, table ? relation.oid : 0,
          0, 0, -1, 0, 0, relation.indexes.length > 0,
          false, 'p', relation.kind, relation.columns.length, relation.checks.length, !table, false,
          false, false, false, true, table ? 'd' : 'n', false,
          0, 0, 0, null, null, null, relation.definition ?? null,
        ])
        for (const index of relation.indexes) {
          rows.push([
            index.oid, index.name, namespace.public, 0, 0, superuserOid, accessMethod.btree, index.oid,
            0, 1, 0, 0, 0, false,
            false, 'p', 'i', index.columns.length, 0, false, false,
            false, false, false, true, 'n', false,
            0, 0, 0, null, null, null, null,
          ])
        }
      }
      return rows
    },
  },
  pg_attribute: {
    columns: columnsOf(
      `attrelid:${bigint}, attname, atttypid:${bigint}, attstattarget:${integer}, attlen:${smallint}, attnum:${smallint}, attndims:${integer},
       attcacheoff:${integer}, atttypmod:${integer}, attbyval:${boolean}, attalign, attstorage, attcompression, attnotnull:${boolean},
       atthasdef:${boolean}, atthasmissing:${boolean}, attidentity, attgenerated, attisdropped:${boolean}, attislocal:${boolean},
       attinhcount:${integer}, attcollation:${bigint}, attacl:${textList}, attoptions:${textList}, attfdwoptions:${textList}, attmissingval:${textList}`,
    ),
    rows: (model) => {
      const rows: Row[] = []
      for (const relation of model.relations) {
        for (const column of relation.columns) {
          const info = typeInfo(column.typeOid)
          rows.push([
            relation.oid, column.name, column.typeOid, -1, info?.length ?? -1, column.number, 0,
            -1, column.typmod, info !== undefined && info.length > 0 && info.length <= 8, 'i', typeStorage(column.typeOid), '', column.notNull,
            column.defaultText !== undefined, false, '', '', false, true,
            0, info?.collation ?? 0, null, null, null, null,
          ])
        }
        for (const index of relation.indexes) {
          index.columns.forEach((number, position) => {
            const column = relation.columns.find((candidate) => candidate.number === number)
            if (column === undefined) return
            rows.push([index.oid, column.name, column.typeOid, -1, typeInfo(column.typeOid)?.length ?? -1, position + 1, 0, -1, column.typmod, false, 'i', 'p', '', false, false, false, '', '', false, true, 0, 0, null, null, null, null])
          })
        }
      }
      return rows
    },
  },
  pg_attrdef: {
    columns: columnsOf(`oid:${bigint}, adrelid:${bigint}, adnum:${smallint}, adbin`),
    rows: (model) =>
      model.relations.flatMap((relation) =>
        relation.columns.filter((column) => column.defaultText !== undefined).map((column) => [relation.oid * 1000 + column.number, relation.oid, column.number, column.defaultText!]),
      ),
  },
  pg_type: {
    columns: columnsOf(
      `oid:${bigint}, typname, typnamespace:${bigint}, typowner:${bigint}, typlen:${smallint}, typbyval:${boolean}, typtype, typcategory,
       typispreferred:${boolean}, typisdefined:${boolean}, typdelim, typrelid:${bigint}, typsubscript, typelem:${bigint}, typarray:${bigint},
       typinput, typoutput, typreceive, typsend, typmodin, typmodout, typanalyze, typalign, typstorage, typnotnull:${boolean},
       typbasetype:${bigint}, typtypmod:${integer}, typndims:${integer}, typcollation:${bigint}, typdefaultbin, typdefault, typacl:${textList}, strata_display`,
    ),
    rows: () =>
      types.map((type) => [
        type.oid, type.name, namespace.pgCatalog, superuserOid, type.length, type.length > 0 && type.length <= 8, 'b', type.category,
        false, true, ',', 0, type.element === 0 ? '-' : 'array_subscript_handler', type.element, type.array,
        `${type.name}in`, `${type.name}out`, `${type.name}recv`, `${type.name}send`, '-', '-', '-', 'i', type.length === -1 ? 'x' : 'p', false,
        0, -1, 0, type.collation, null, null, null, type.display,
      ]),
  },
  pg_index: {
    columns: columnsOf(
      `indexrelid:${bigint}, indrelid:${bigint}, indnatts:${smallint}, indnkeyatts:${smallint}, indisunique:${boolean}, indnullsnotdistinct:${boolean},
       indisprimary:${boolean}, indisexclusion:${boolean}, indimmediate:${boolean}, indisclustered:${boolean}, indisvalid:${boolean},
       indcheckxmin:${boolean}, indisready:${boolean}, indislive:${boolean}, indisreplident:${boolean}, indkey:${smallintList},
       indcollation:${bigintList}, indclass:${bigintList}, indoption:${smallintList}, indexprs, indpred, strata_definition`,
    ),
    rows: (model) =>
      model.relations.flatMap((relation) =>
        relation.indexes.map((index) => {
          const keyTypes = index.columns.map((number) => relation.columns.find((column) => column.number === number)?.typeOid ?? 0)
          return [
            index.oid, relation.oid, index.columns.length, index.columns.length, index.unique, false,
            index.primary, false, true, false, true,
            false, true, true, false, index.columns,
            keyTypes.map((typeOid) => typeInfo(typeOid)?.collation ?? 0), keyTypes.map((typeOid) => btreeOperatorClass(typeOid)?.oid ?? 0), keyTypes.map(() => 0), null, null,
            index.definition,
          ]
        }),
      ),
  },
  pg_constraint: {
    columns: columnsOf(
      `oid:${bigint}, conname, connamespace:${bigint}, contype, condeferrable:${boolean}, condeferred:${boolean}, convalidated:${boolean},
       conrelid:${bigint}, contypid:${bigint}, conindid:${bigint}, conparentid:${bigint}, confrelid:${bigint}, confupdtype, confdeltype,
       confmatchtype, conislocal:${boolean}, coninhcount:${integer}, connoinherit:${boolean}, conkey:${smallintList}, confkey:${smallintList},
       conpfeqop:${textList}, conppeqop:${textList}, conffeqop:${textList}, confdelsetcols:${smallintList}, conexclop:${textList}, conbin, strata_definition`,
    ),
    rows: (model) =>
      model.relations.flatMap((relation) => [
        ...constraintIndexes(relation).map((index) => [
          index.constraintOid, index.name, namespace.public, index.primary ? 'p' : 'u', false, false, true,
          relation.oid, 0, index.oid, 0, 0, ' ', ' ',
          ' ', true, 0, true, index.columns, null,
          null, null, null, null, null, null, `${index.primary ? 'PRIMARY KEY' : 'UNIQUE'} (${index.columnNames.join(', ')})`,
        ]),
        ...relation.checks.map((check) => [
          check.oid, check.name, namespace.public, 'c', false, false, true,
          relation.oid, 0, 0, 0, 0, ' ', ' ',
          ' ', true, 0, false, check.columns, null,
          null, null, null, null, null, check.source, `CHECK (${check.source})`,
        ]),
      ]),
  },
  pg_am: {
    columns: columnsOf(`oid:${bigint}, amname, amhandler, amtype`),
    rows: () => [
      [accessMethod.heap, 'heap', 'heap_tableam_handler', 't'],
      [accessMethod.btree, 'btree', 'bthandler', 'i'],
    ],
  },
  pg_database: {
    columns: columnsOf(
      `oid:${bigint}, datname, datdba:${bigint}, encoding:${integer}, datlocprovider, datistemplate:${boolean}, datallowconn:${boolean},
       datconnlimit:${integer}, datfrozenxid:${bigint}, datminmxid:${bigint}, dattablespace:${bigint}, datcollate, datctype, daticulocale,
       daticurules, datcollversion, datacl:${textList}`,
    ),
    rows: (_model, context) => [[databaseOid, context.database, superuserOid, 6, 'c', false, true, -1, 0, 1, 1663, 'C', 'C', null, null, null, null]],
  },
  pg_roles: {
    columns: columnsOf(
      `oid:${bigint}, rolname, rolsuper:${boolean}, rolinherit:${boolean}, rolcreaterole:${boolean}, rolcreatedb:${boolean}, rolcanlogin:${boolean},
       rolreplication:${boolean}, rolconnlimit:${integer}, rolpassword, rolvaliduntil, rolbypassrls:${boolean}, rolconfig:${textList}`,
    ),
    rows: (_model, context) => context.roles.map((role, index) => [index === 0 ? superuserOid : superuserOid + 100 + index, role, true, true, true, true, true, false, -1, '********', null, true, null]),
  },
  pg_auth_members: { columns: columnsOf(`oid:${bigint}, roleid:${bigint}, member:${bigint}, grantor:${bigint}, admin_option:${boolean}, inherit_option:${boolean}, set_option:${boolean}`) },
  pg_user: {
    columns: columnsOf(`usename, usesysid:${bigint}, usecreatedb:${boolean}, usesuper:${boolean}, userepl:${boolean}, usebypassrls:${boolean}, passwd, valuntil, useconfig:${textList}`),
    rows: (_model, context) => context.roles.map((role, index) => [role, index === 0 ? superuserOid : superuserOid + 100 + index, true, true, false, true, '********', null, null]),
  },
  pg_tablespace: {
    columns: columnsOf(`oid:${bigint}, spcname, spcowner:${bigint}, spcacl:${textList}, spcoptions:${textList}`),
    rows: () => [
      [1663, 'pg_default', superuserOid, null, null],
      [1664, 'pg_global', superuserOid, null, null],
    ],
  },
  pg_collation: {
    columns: columnsOf(
      `oid:${bigint}, collname, collnamespace:${bigint}, collowner:${bigint}, collprovider, collisdeterministic:${boolean}, collencoding:${integer},
       collcollate, collctype, colliculocale, collicurules, collversion`,
    ),
    rows: () => [
      [100, 'default', namespace.pgCatalog, superuserOid, 'd', true, -1, null, null, null, null, null],
      [950, 'C', namespace.pgCatalog, superuserOid, 'c', true, -1, 'C', 'C', null, null, null],
    ],
  },
  pg_settings: {
    columns: columnsOf(
      `name, setting, unit, category, short_desc, extra_desc, context, vartype, source, min_val, max_val, enumvals:${textList}, boot_val, reset_val,
       sourcefile, sourceline:${integer}, pending_restart:${boolean}`,
    ),
    rows: (_model, context) =>
      context.settings().map((setting) => [setting.name, setting.value, null, 'Strata', setting.description, null, 'user', 'string', 'default', null, null, null, setting.value, setting.value, null, null, false]),
  },
  pg_tables: {
    columns: columnsOf(`schemaname, tablename, tableowner, tablespace, hasindexes:${boolean}, hasrules:${boolean}, hastriggers:${boolean}, rowsecurity:${boolean}`),
    rows: (model, context) => tableRows(model, 'r').map((relation) => ['public', relation.name, context.user, null, relation.indexes.length > 0, false, false, false]),
  },
  pg_views: {
    columns: columnsOf('schemaname, viewname, viewowner, definition'),
    rows: (model, context) => tableRows(model, 'v').map((relation) => ['public', relation.name, context.user, relation.definition ?? null]),
  },
  pg_indexes: {
    columns: columnsOf('schemaname, tablename, indexname, tablespace, indexdef'),
    rows: (model) =>
      model.relations.flatMap((relation) =>
        relation.indexes.map((index) => ['public', relation.name, index.name, null, index.definition]),
      ),
  },
  pg_description: { columns: columnsOf(`objoid:${bigint}, classoid:${bigint}, objsubid:${integer}, description`) },
  pg_shdescription: { columns: columnsOf(`objoid:${bigint}, classoid:${bigint}, description`) },
  pg_inherits: { columns: columnsOf(`inhrelid:${bigint}, inhparent:${bigint}, inhseqno:${integer}, inhdetachpending:${boolean}`) },
  pg_policy: { columns: columnsOf(`oid:${bigint}, polname, polrelid:${bigint}, polcmd, polpermissive:${boolean}, polroles, polqual, polwithcheck`) },
  pg_statistic_ext: { columns: columnsOf(`oid:${bigint}, stxrelid:${bigint}, stxname, stxnamespace:${bigint}, stxowner:${bigint}, stxstattarget:${integer}, stxkeys, stxkind:${textList}, stxexprs`) },
  pg_publication: {
    columns: columnsOf(`oid:${bigint}, pubname, pubowner:${bigint}, puballtables:${boolean}, pubinsert:${boolean}, pubupdate:${boolean}, pubdelete:${boolean}, pubtruncate:${boolean}, pubviaroot:${boolean}`),
  },
  pg_publication_rel: { columns: columnsOf(`oid:${bigint}, prpubid:${bigint}, prrelid:${bigint}, prqual, prattrs:${smallintList}`) },
  pg_publication_namespace: { columns: columnsOf(`oid:${bigint}, pnpubid:${bigint}, pnnspid:${bigint}`) },
  pg_trigger: {
    columns: columnsOf(
      `oid:${bigint}, tgrelid:${bigint}, tgparentid:${bigint}, tgname, tgfoid:${bigint}, tgtype:${smallint}, tgenabled, tgisinternal:${boolean},
       tgconstrrelid:${bigint}, tgconstrindid:${bigint}, tgconstraint:${bigint}, tgdeferrable:${boolean}, tginitdeferred:${boolean}, tgnargs:${smallint}, tgattr, tgargs, tgqual, tgoldtable, tgnewtable`,
    ),
  },
  pg_rewrite: { columns: columnsOf(`oid:${bigint}, rulename, ev_class:${bigint}, ev_type, ev_enabled, is_instead:${boolean}, ev_qual, ev_action`) },
  pg_foreign_table: { columns: columnsOf(`ftrelid:${bigint}, ftserver:${bigint}, ftoptions:${textList}`) },
  pg_foreign_server: { columns: columnsOf(`oid:${bigint}, srvname, srvowner:${bigint}, srvfdw:${bigint}, srvtype, srvversion, srvacl:${textList}, srvoptions:${textList}`) },
  pg_foreign_data_wrapper: { columns: columnsOf(`oid:${bigint}, fdwname, fdwowner:${bigint}, fdwhandler:${bigint}, fdwvalidator:${bigint}, fdwacl:${textList}, fdwoptions:${textList}`) },
  pg_partitioned_table: { columns: columnsOf(`partrelid:${bigint}, partstrat, partnatts:${smallint}, partdefid:${bigint}, partattrs:${smallintList}, partclass, partcollation, partexprs`) },
  pg_sequence: { columns: columnsOf(`seqrelid:${bigint}, seqtypid:${bigint}, seqstart:${bigint}, seqincrement:${bigint}, seqmax:${bigint}, seqmin:${bigint}, seqcache:${bigint}, seqcycle:${boolean}`) },
  pg_depend: { columns: columnsOf(`classid:${bigint}, objid:${bigint}, objsubid:${integer}, refclassid:${bigint}, refobjid:${bigint}, refobjsubid:${integer}, deptype`) },
  pg_enum: { columns: columnsOf(`oid:${bigint}, enumtypid:${bigint}, enumsortorder:${real}, enumlabel`) },
  pg_sequences: {
    columns: columnsOf(
      `schemaname, sequencename, sequenceowner, data_type, start_value:${bigint}, min_value:${bigint}, max_value:${bigint}, increment_by:${bigint},
       cycle:${boolean}, cache_size:${bigint}, last_value:${bigint}`,
    ),
  },
  pg_policies: { columns: columnsOf(`schemaname, tablename, policyname, permissive, roles:${textList}, cmd, qual, with_check`) },
  pg_opclass: {
    columns: columnsOf(`oid:${bigint}, opcmethod:${bigint}, opcname, opcnamespace:${bigint}, opcowner:${bigint}, opcfamily:${bigint}, opcintype:${bigint}, opcdefault:${boolean}, opckeytype:${bigint}`),
    rows: () => btreeOperatorClasses.map((operatorClass) => [operatorClass.oid, accessMethod.btree, operatorClass.name, namespace.pgCatalog, superuserOid, operatorClass.family, operatorClass.type, true, 0]),
  },
  pg_stat_user_indexes: {
    // Strata counts no index scans: the counters are NULL (unknown), never a made-up zero.
    columns: columnsOf(`relid:${bigint}, indexrelid:${bigint}, schemaname, relname, indexrelname, idx_scan:${bigint}, last_idx_scan:TIMESTAMPTZ, idx_tup_read:${bigint}, idx_tup_fetch:${bigint}`),
    rows: (model) => model.relations.flatMap((relation) => relation.indexes.map((index) => [relation.oid, index.oid, 'public', relation.name, index.name, null, null, null, null])),
  },
  pg_extension: { columns: columnsOf(`oid:${bigint}, extname, extowner:${bigint}, extnamespace:${bigint}, extrelocatable:${boolean}, extversion, extconfig:${textList}, extcondition:${textList}`) },
  pg_event_trigger: { columns: columnsOf(`oid:${bigint}, evtname, evtevent, evtowner:${bigint}, evtfoid:${bigint}, evtenabled, evttags:${textList}`) },
  pg_matviews: { columns: columnsOf(`schemaname, matviewname, matviewowner, tablespace, hasindexes:${boolean}, ispopulated:${boolean}, definition`) },
  pg_proc: {
    columns: columnsOf(
      `oid:${bigint}, proname, pronamespace:${bigint}, proowner:${bigint}, prolang:${bigint}, procost:${real}, prorows:${real}, provariadic:${bigint},
       prosupport, prokind, prosecdef:${boolean}, proleakproof:${boolean}, proisstrict:${boolean}, proretset:${boolean}, provolatile, proparallel,
       pronargs:${smallint}, pronargdefaults:${smallint}, prorettype:${bigint}, proargtypes, proallargtypes:${textList}, proargmodes:${textList},
       proargnames:${textList}, proargdefaults, protrftypes:${textList}, prosrc, probin, prosqlbody, proconfig:${textList}, proacl:${textList}`,
    ),
  },
  pg_locks: { columns: columnsOf(`locktype, database:${bigint}, relation:${bigint}, pid:${integer}, mode, granted:${boolean}`) },
  pg_prepared_xacts: { columns: columnsOf(`transaction:${bigint}, gid, prepared, owner, database`) },
  pg_stat_activity: {
    columns: columnsOf(`datid:${bigint}, datname, pid:${integer}, usesysid:${bigint}, usename, application_name, client_addr, client_port:${integer}, backend_start, state, query, backend_type`),
    rows: (_model, context) => [[databaseOid, context.database, context.processId, superuserOid, context.user, context.setting('application_name') ?? '', null, null, null, 'active', null, 'client backend']],
  },
}

function dataType(typeOid: number): string {
  return typeInfo(typeOid)?.display ?? 'text'
}

const informationSchema: Readonly<Record<string, RelationSpec>> = {
  tables: {
    columns: columnsOf(
      'table_catalog, table_schema, table_name, table_type, self_referencing_column_name, reference_generation, user_defined_type_catalog, user_defined_type_schema, user_defined_type_name, is_insertable_into, is_typed, commit_action',
    ),
    rows: (model, context) => model.relations.map((relation) => [context.database, 'public', relation.name, relation.kind === 'r' ? 'BASE TABLE' : 'VIEW', null, null, null, null, null, relation.kind === 'r' ? 'YES' : 'NO', 'NO', null]),
  },
  columns: {
    columns: columnsOf(
      `table_catalog, table_schema, table_name, column_name, ordinal_position:${integer}, column_default, is_nullable, data_type,
       character_maximum_length:${integer}, character_octet_length:${integer}, numeric_precision:${integer}, numeric_precision_radix:${integer},
       numeric_scale:${integer}, datetime_precision:${integer}, interval_type, interval_precision:${integer}, character_set_catalog, character_set_schema,
       character_set_name, collation_catalog, collation_schema, collation_name, domain_catalog, domain_schema, domain_name, udt_catalog, udt_schema, udt_name,
       scope_catalog, scope_schema, scope_name, maximum_cardinality:${integer}, dtd_identifier, is_self_referencing, is_identity, identity_generation,
       identity_start, identity_increment, identity_maximum, identity_minimum, identity_cycle, is_generated, generation_expression, is_updatable`,
    ),
    rows: (model, context) =>
      model.relations.flatMap((relation) =>
        relation.columns.map((column) => {
          const numeric = column.typeOid === oid.numeric && column.typmod >= 4
          const precision = column.typeOid === oid.int2 ? 16 : column.typeOid === oid.int4 ? 32 : column.typeOid === oid.int8 ? 64 : column.typeOid === oid.float8 ? 53 : numeric ? ((column.typmod - 4) >> 16) & 0xffff : null
          const radix = precision === null ? null : numeric ? 10 : 2
          const scale = column.typeOid === oid.int2 || column.typeOid === oid.int4 || column.typeOid === oid.int8 ? 0 : numeric ? (column.typmod - 4) & 0xffff : null
          const datetime = column.typeOid === oid.timestamp || column.typeOid === oid.timestamptz ? 6 : column.typeOid === oid.date ? 0 : null
          return [
            context.database, 'public', relation.name, column.name, column.number, column.defaultText ?? null, column.notNull ? 'NO' : 'YES', dataType(column.typeOid),
            null, column.typeOid === oid.text ? 1073741824 : null, precision, radix,
            scale, datetime, null, null, null, null,
            null, null, null, null, null, null, null, context.database, 'pg_catalog', typeInfo(column.typeOid)?.name ?? 'text',
            null, null, null, null, String(column.number), 'NO', 'NO', null,
            null, null, null, null, 'NO', 'NEVER', null, relation.kind === 'r' ? 'YES' : 'NO',
          ]
        }),
      ),
  },
  schemata: {
    columns: columnsOf('catalog_name, schema_name, schema_owner, default_character_set_catalog, default_character_set_schema, default_character_set_name, sql_path'),
    rows: (_model, context) => ['pg_catalog', 'public', 'information_schema'].map((schema) => [context.database, schema, context.user, null, null, null, null]),
  },
  views: {
    columns: columnsOf('table_catalog, table_schema, table_name, view_definition, check_option, is_updatable, is_insertable_into, is_trigger_updatable, is_trigger_deletable, is_trigger_insertable_into'),
    rows: (model, context) => tableRows(model, 'v').map((relation) => [context.database, 'public', relation.name, relation.definition ?? null, 'NONE', 'NO', 'NO', 'NO', 'NO', 'NO']),
  },
  table_constraints: {
    columns: columnsOf('constraint_catalog, constraint_schema, constraint_name, table_catalog, table_schema, table_name, constraint_type, is_deferrable, initially_deferred, enforced, nulls_distinct'),
    rows: (model, context) =>
      model.relations.flatMap((relation) => [
        ...constraintIndexes(relation).map((index) => [context.database, 'public', index.name, context.database, 'public', relation.name, index.primary ? 'PRIMARY KEY' : 'UNIQUE', 'NO', 'NO', 'YES', 'YES']),
        ...relation.checks.map((check) => [context.database, 'public', check.name, context.database, 'public', relation.name, 'CHECK', 'NO', 'NO', 'YES', null]),
      ]),
  },
  key_column_usage: {
    columns: columnsOf(`constraint_catalog, constraint_schema, constraint_name, table_catalog, table_schema, table_name, column_name, ordinal_position:${integer}, position_in_unique_constraint:${integer}`),
    rows: (model, context) =>
      model.relations.flatMap((relation) =>
        constraintIndexes(relation).flatMap((index) => index.columnNames.map((column, position) => [context.database, 'public', index.name, context.database, 'public', relation.name, column, position + 1, null])),
      ),
  },
  constraint_column_usage: {
    columns: columnsOf('table_catalog, table_schema, table_name, column_name, constraint_catalog, constraint_schema, constraint_name'),
    rows: (model, context) =>
      model.relations.flatMap((relation) => [
        ...constraintIndexes(relation).flatMap((index) => index.columnNames.map((column) => [context.database, 'public', relation.name, column, context.database, 'public', index.name])),
        ...relation.checks.flatMap((check) =>
          check.columns.map((number) => [context.database, 'public', relation.name, relation.columns.find((column) => column.number === number)?.name ?? '', context.database, 'public', check.name]),
        ),
      ]),
  },
  check_constraints: {
    columns: columnsOf('constraint_catalog, constraint_schema, constraint_name, check_clause'),
    rows: (model, context) => model.relations.flatMap((relation) => relation.checks.map((check) => [context.database, 'public', check.name, check.source])),
  },
  referential_constraints: {
    columns: columnsOf('constraint_catalog, constraint_schema, constraint_name, unique_constraint_catalog, unique_constraint_schema, unique_constraint_name, match_option, update_rule, delete_rule'),
  },
  sequences: { columns: columnsOf('sequence_catalog, sequence_schema, sequence_name, data_type, numeric_precision, start_value, minimum_value, maximum_value, increment, cycle_option') },
  routines: { columns: columnsOf('specific_catalog, specific_schema, specific_name, routine_catalog, routine_schema, routine_name, routine_type, data_type') },
  triggers: { columns: columnsOf('trigger_catalog, trigger_schema, trigger_name, event_manipulation, event_object_catalog, event_object_schema, event_object_table, action_statement') },
  enabled_roles: { columns: columnsOf('role_name'), rows: (_model, context) => context.roles.map((role) => [role]) },
}

const schemas: Readonly<Record<string, Readonly<Record<string, RelationSpec>>>> = { pg_catalog: { ...pgCatalog, pg_authid: pgCatalog['pg_roles']! }, information_schema: informationSchema }

// ───────────────────────────── recognising catalog queries ─────────────────────────────

/** Catalog functions answered here (with or without `pg_catalog.`); others with `pg_catalog.` lose the qualifier. */
const functionNames = new Set([
  'version', 'current_database', 'current_schema', 'current_schemas', 'current_setting', 'set_config', 'pg_backend_pid',
  'pg_get_userbyid', 'pg_table_is_visible', 'pg_type_is_visible', 'pg_function_is_visible', 'format_type', 'pg_get_expr',
  'pg_get_indexdef', 'pg_get_constraintdef', 'pg_get_viewdef', 'pg_get_ruledef', 'pg_get_triggerdef', 'pg_get_statisticsobjdef_columns',
  'obj_description', 'col_description', 'shobj_description', 'pg_encoding_to_char', 'has_table_privilege', 'has_schema_privilege',
  'has_database_privilege', 'has_column_privilege', 'has_function_privilege', 'has_sequence_privilege', 'pg_has_role',
  'pg_relation_size', 'pg_total_relation_size', 'pg_table_size', 'pg_indexes_size', 'pg_database_size', 'pg_size_pretty',
  'pg_relation_is_publishable', 'pg_is_in_recovery', 'pg_postmaster_start_time', 'array_upper', 'array_lower',
  'pg_get_serial_sequence', 'pg_get_function_identity_arguments', 'pg_get_function_result', 'pg_get_function_arguments',
  'pg_get_partkeydef', 'pg_tablespace_location', 'txid_current', 'pg_current_xact_id', 'inet_server_addr', 'inet_server_port',
  'inet_client_addr', 'inet_client_port', 'pg_get_keywords', 'quote_ident',
])

const regTypes = new Set(['regclass', 'regtype', 'regproc', 'regprocedure', 'regnamespace', 'regrole', 'regoper', 'regoperator', 'regconfig', 'regdictionary'])
const userValueFunctions = new Set(['SVFOP_CURRENT_ROLE', 'SVFOP_CURRENT_USER', 'SVFOP_USER', 'SVFOP_SESSION_USER', 'SVFOP_CURRENT_CATALOG', 'SVFOP_CURRENT_SCHEMA'])

function relationSpec(schema: string | undefined, relation: string): { readonly schema: string; readonly spec: RelationSpec } | undefined {
  if (schema === undefined) {
    const spec = schemas['pg_catalog']![relation]
    return spec === undefined ? undefined : { schema: 'pg_catalog', spec }
  }
  const spec = schemas[schema]?.[relation]
  return spec === undefined ? undefined : { schema, spec }
}

/** Visits every node (objects whose one key starts upper case), depth first. */
function visitNodes(value: unknown, visit: (kind: string, body: PgNode) => void): void {
  if (Array.isArray(value)) {
    for (const item of value) visitNodes(item, visit)
    return
  }
  if (value === null || typeof value !== 'object') return
  const kind = nodeKind(value)
  if (kind !== undefined && /^[A-Z]/.test(kind)) {
    const body = (value as PgNode)[kind]
    if (typeof body === 'object' && body !== null) visit(kind, body as PgNode)
  }
  for (const inner of Object.values(value)) visitNodes(inner, visit)
}

function cteNames(tree: PgNode): Set<string> {
  const out = new Set<string>()
  visitNodes(tree, (kind, body) => {
    if (kind === 'CommonTableExpr' && typeof body['ctename'] === 'string') out.add(body['ctename'])
  })
  return out
}

function functionName(body: PgNode): { readonly name: string; readonly qualified: boolean } {
  const parts = names(body['funcname'])
  const name = (parts[parts.length - 1] ?? '').toLowerCase()
  return { name, qualified: parts.length === 2 && parts[0] === 'pg_catalog' }
}

/**
 * Does this SELECT read the PostgreSQL catalog (a pg_catalog or information_schema relation, a
 * catalog function, a `::regclass`-style cast, current_user …)? Those are answered here; every other
 * statement goes to the engine unchanged.
 *
 * @example isCatalogQuery(parse('SELECT * FROM pg_catalog.pg_class')) // true
 */
export function isCatalogQuery(tree: PgNode): boolean {
  // One walk (every statement of the simple protocol comes here): unqualified pg_* relations are
  // catalog reads unless a WITH query of the statement has their name, known only at the end.
  const ctes = new Set<string>()
  const unqualified: string[] = []
  let found = false
  walk(tree, (kind, body) => {
    if (found) return false
    if (kind === 'CommonTableExpr') {
      if (typeof body['ctename'] === 'string') ctes.add(body['ctename'])
    } else if (kind === 'RangeVar') {
      const schema = typeof body['schemaname'] === 'string' ? body['schemaname'] : undefined
      const relation = String(body['relname'])
      if ((schema !== undefined || relation.startsWith('pg_')) && relationSpec(schema, relation) !== undefined) {
        if (schema === undefined) unqualified.push(relation)
        else found = true
      }
    } else if (kind === 'FuncCall') {
      const { name, qualified } = functionName(body)
      if (qualified || functionNames.has(name)) found = true
    } else if (kind === 'TypeCast') {
      const typeNames = names((body['typeName'] as PgNode | undefined)?.['names'])
      if (regTypes.has((typeNames[typeNames.length - 1] ?? '').toLowerCase())) found = true
    } else if (kind === 'SQLValueFunction') {
      if (userValueFunctions.has(String(body['op']))) found = true
    }
    return undefined
  })
  return found || unqualified.some((relation) => !ctes.has(relation))
}

// ───────────────────────────── the empty shortcut ─────────────────────────────

const aggregateNames = new Set(['count', 'sum', 'avg', 'min', 'max', 'string_agg', 'array_agg', 'bool_and', 'bool_or', 'every', 'json_agg', 'jsonb_agg'])

function alwaysEmpty(node: unknown, ctes: ReadonlySet<string>): boolean {
  const kind = nodeKind(node)
  const body = kind === undefined ? undefined : nodeBody(node, kind)
  if (body === undefined) return false
  switch (kind) {
    case 'RangeVar': {
      const schema = typeof body['schemaname'] === 'string' ? body['schemaname'] : undefined
      const relation = String(body['relname'])
      if (schema === undefined && ctes.has(relation)) return false
      const found = relationSpec(schema, relation)
      return found !== undefined && found.spec.rows === undefined && (schema !== undefined || relation.startsWith('pg_'))
    }
    case 'JoinExpr': {
      const left = alwaysEmpty(body['larg'], ctes)
      const right = alwaysEmpty(body['rarg'], ctes)
      switch (body['jointype']) {
        case 'JOIN_LEFT':
          return left
        case 'JOIN_RIGHT':
          return right
        case 'JOIN_FULL':
          return left && right
        default:
          return left || right
      }
    }
    case 'RangeSubselect':
      return selectAlwaysEmpty(nodeBody(body['subquery'], 'SelectStmt'), ctes)
    default:
      return false
  }
}

/** An aggregate call in this select list itself (not inside a subquery, which aggregates on its own). */
function hasAggregate(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasAggregate)
  if (value === null || typeof value !== 'object') return false
  const kind = nodeKind(value)
  if (kind === 'SubLink') return false
  if (kind === 'FuncCall') {
    const body = nodeBody(value, 'FuncCall')!
    if (aggregateNames.has(functionName(body).name) || body['agg_star'] === true) return true
  }
  return Object.values(value).some(hasAggregate)
}

/**
 * True when the SELECT's rows must come through an inner join from a relation that is always empty
 * here — then it has no rows, whatever its expressions say (an aggregate without GROUP BY still makes
 * one row, so those are never "always empty").
 */
function selectAlwaysEmpty(select: PgNode | undefined, ctes: ReadonlySet<string>): boolean {
  if (select === undefined) return false
  switch (select['op']) {
    case 'SETOP_UNION':
      return selectAlwaysEmpty(select['larg'] as PgNode, ctes) && selectAlwaysEmpty(select['rarg'] as PgNode, ctes)
    case 'SETOP_INTERSECT':
      return selectAlwaysEmpty(select['larg'] as PgNode, ctes) || selectAlwaysEmpty(select['rarg'] as PgNode, ctes)
    case 'SETOP_EXCEPT':
      return selectAlwaysEmpty(select['larg'] as PgNode, ctes)
    default:
      break
  }
  if (select['valuesLists'] !== undefined) return false
  if (list(select['groupClause']).length === 0) {
    if (hasAggregate(select['targetList']) || select['havingClause'] !== undefined) return false
  }
  return list(select['fromClause']).some((item) => alwaysEmpty(item, ctes))
}

// ───────────────────────────── rewriting ─────────────────────────────

let templateCache: Map<string, PgNode> | undefined

/** An expression template: SQL text with `$1…$n` for the call's arguments, parsed once. */
function template(sql: string): PgNode {
  templateCache ??= new Map()
  let tree = templateCache.get(sql)
  if (tree === undefined) {
    const parsed = parseTree(`SELECT ${sql}`) as unknown as { stmts: { stmt: PgNode }[] }
    const select = nodeBody(parsed.stmts[0]!.stmt, 'SelectStmt')!
    tree = nodeBody(list(select['targetList'])[0], 'ResTarget')!['val'] as PgNode
    templateCache.set(sql, tree)
  }
  return structuredClone(tree)
}

/** Fills a template's `$n` with the given argument trees. */
function instantiate(sql: string, args: readonly unknown[]): PgNode {
  const substitute = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(substitute)
    if (value === null || typeof value !== 'object') return value
    const param = nodeBody(value, 'ParamRef')
    if (param !== undefined && nodeKind(value) === 'ParamRef') return structuredClone(args[Number(param['number']) - 1] ?? { A_Const: { isnull: true } })
    const out: PgNode = {}
    for (const [key, inner] of Object.entries(value)) out[key] = substitute(inner)
    return out
  }
  return substitute(template(sql)) as PgNode
}

function stringConstant(value: string | null): PgNode {
  if (value === null) return { TypeCast: { arg: { A_Const: { isnull: true } }, typeName: { names: [{ String: { sval: 'varchar' } }], typemod: -1 } } }
  return { TypeCast: { arg: { A_Const: { sval: { sval: value } } }, typeName: { names: [{ String: { sval: 'varchar' } }], typemod: -1 } } }
}

function integerConstant(value: number): PgNode {
  return { A_Const: { ival: value === 0 ? {} : { ival: value } } }
}

function booleanConstant(value: boolean): PgNode {
  // The deparser of @pgsql/parser prints every boolean constant as false; a cast string survives.
  return { TypeCast: { arg: { A_Const: { sval: { sval: value ? 'true' : 'false' } } }, typeName: { names: [{ String: { sval: 'bool' } }], typemod: -1 } } }
}

function constantText(node: unknown): string | undefined {
  let current = node
  while (nodeKind(current) === 'TypeCast') current = nodeBody(current, 'TypeCast')!['arg']
  const constant = nodeBody(current, 'A_Const')
  const sval = constant?.['sval'] as PgNode | undefined
  if (sval !== undefined) return typeof sval['sval'] === 'string' ? sval['sval'] : ''
  return undefined
}

const formatTypeTemplate = (() => {
  const cases = types.map((type) => `WHEN $1 = ${type.oid} THEN ${quoteLiteral(type.display)}`).join(' ')
  return `CASE WHEN $1 IS NULL THEN NULL WHEN $1 = ${oid.numeric} AND $2 >= 4 THEN 'numeric(' || CAST((($2 - 4) >> 16) & 65535 AS VARCHAR) || ',' || CAST(($2 - 4) & 65535 AS VARCHAR) || ')' WHEN $1 = ${oid.varchar} AND $2 >= 4 THEN 'character varying(' || CAST($2 - 4 AS VARCHAR) || ')' ${cases} ELSE '???' END`
})()

/** A catalog function call as an expression DuckDB can run, or undefined to keep the call. */
function expandFunction(name: string, args: readonly unknown[], context: CatalogContext): PgNode | undefined {
  switch (name) {
    case 'version':
      return stringConstant(`PostgreSQL ${serverVersion} on x86_64-pc-linux-gnu, compiled by TypeScript (Strata ${process.version})`)
    case 'current_database':
      return stringConstant(context.database)
    case 'current_schema':
      return stringConstant('public')
    case 'current_schemas':
      return template(`ARRAY['pg_catalog', 'public']`)
    case 'current_setting': {
      const setting = constantText(args[0])
      if (setting !== undefined) return stringConstant(context.setting(setting) ?? null)
      const cases = context.settings().map((entry) => `WHEN lower($1) = ${quoteLiteral(entry.name.toLowerCase())} THEN ${quoteLiteral(entry.value)}`).join(' ')
      return instantiate(`CASE ${cases} ELSE NULL END`, args)
    }
    case 'set_config': {
      const setting = constantText(args[0])
      const value = constantText(args[1])
      if (setting === undefined || value === undefined) return undefined
      context.setSetting(setting, value)
      return stringConstant(value)
    }
    case 'pg_backend_pid':
      return integerConstant(context.processId)
    case 'pg_get_userbyid':
      return stringConstant(context.user)
    case 'pg_table_is_visible':
    case 'pg_type_is_visible':
    case 'pg_function_is_visible':
      return instantiate('$1 IS NOT NULL', args)
    case 'format_type':
      return instantiate(formatTypeTemplate, [args[0], args[1] ?? integerConstant(-1)])
    case 'pg_get_expr':
      return instantiate('CAST($1 AS VARCHAR)', args)
    case 'pg_get_indexdef':
      // pg_get_indexdef(index, column, pretty): column 0 is the whole definition, column n the n-th key.
      if (args.length >= 2)
        return instantiate(
          'CASE WHEN $2 = 0 THEN (SELECT x.strata_definition FROM pg_catalog.pg_index x WHERE x.indexrelid = $1) ELSE (SELECT x.attname FROM pg_catalog.pg_attribute x WHERE x.attrelid = $1 AND x.attnum = $2) END',
          args,
        )
      return instantiate('(SELECT x.strata_definition FROM pg_catalog.pg_index x WHERE x.indexrelid = $1)', args)
    case 'pg_get_constraintdef':
      return instantiate('(SELECT x.strata_definition FROM pg_catalog.pg_constraint x WHERE x.oid = $1)', args)
    case 'pg_get_viewdef':
      return instantiate('(SELECT x.strata_definition FROM pg_catalog.pg_class x WHERE x.oid = $1)', args)
    case 'pg_get_ruledef':
    case 'pg_get_triggerdef':
    case 'pg_get_statisticsobjdef_columns':
    case 'obj_description':
    case 'col_description':
    case 'shobj_description':
    case 'pg_get_serial_sequence':
    case 'pg_get_function_identity_arguments':
    case 'pg_get_function_result':
    case 'pg_get_function_arguments':
    case 'pg_get_partkeydef':
    case 'pg_tablespace_location':
    case 'inet_server_addr':
    case 'inet_client_addr':
      return stringConstant(null)
    case 'inet_server_port':
    case 'inet_client_port':
      return template('CAST(NULL AS INTEGER)')
    case 'pg_encoding_to_char':
      return stringConstant('UTF8')
    case 'has_table_privilege':
    case 'has_schema_privilege':
    case 'has_database_privilege':
    case 'has_column_privilege':
    case 'has_function_privilege':
    case 'has_sequence_privilege':
    case 'pg_has_role':
      return booleanConstant(true)
    case 'pg_relation_is_publishable':
    case 'pg_is_in_recovery':
      return booleanConstant(false)
    case 'pg_relation_size':
    case 'pg_total_relation_size':
    case 'pg_table_size':
    case 'pg_indexes_size':
    case 'pg_database_size':
    case 'txid_current':
    case 'pg_current_xact_id':
      return template('CAST(0 AS BIGINT)')
    case 'pg_size_pretty':
      return instantiate(`CAST($1 AS VARCHAR) || ' bytes'`, args)
    case 'pg_postmaster_start_time':
      return template('now()')
    case 'array_upper':
      return instantiate('len($1)', args)
    case 'array_lower':
      return instantiate('CASE WHEN len($1) > 0 THEN 1 END', args)
    case 'quote_ident':
      return instantiate(`'"' || replace($1, '"', '""') || '"'`, args)
    default:
      return undefined
  }
}

/** DuckDB's spelling of a PostgreSQL type name used in a cast (undefined: keep it). */
const castTypes: Readonly<Record<string, string>> = {
  oid: 'int8',
  name: 'varchar',
  char: 'varchar',
  bpchar: 'varchar',
  text: 'varchar',
  int2vector: 'varchar',
  oidvector: 'varchar',
  aclitem: 'varchar',
  regproc: 'varchar',
  regprocedure: 'varchar',
  regoper: 'varchar',
  regoperator: 'varchar',
  regconfig: 'varchar',
  regdictionary: 'varchar',
  pg_node_tree: 'varchar',
  xid: 'int8',
  cid: 'int8',
  tid: 'varchar',
  regrole: 'varchar',
}

/** PostgreSQL's spellings of a type name that are neither its pg_type name nor format_type()'s. */
const typeAliases: Readonly<Record<string, string>> = {
  int: 'int4',
  float: 'float8',
  decimal: 'numeric',
  char: 'bpchar',
  character: 'bpchar',
}

/** regtype's input: a type name as PostgreSQL spells it (`int`, `integer`, `int4`, `text[]`) → its OID. */
function typeOidByName(name: string): number | undefined {
  let spelled = name.trim().toLowerCase()
  if (spelled.startsWith('pg_catalog.')) spelled = spelled.slice('pg_catalog.'.length)
  const array = spelled.endsWith('[]')
  if (array) spelled = spelled.slice(0, -2).trim()
  spelled = typeAliases[spelled] ?? spelled
  const found = types.find((type) => type.element === 0 && (type.name === spelled || type.display === spelled))
  if (found === undefined) return undefined
  return array ? found.array : found.oid
}

/**
 * The elements of a PostgreSQL array literal (`{int,int8,"double precision"}`); undefined when the
 * text is not one (a value, not SQL: read character by character).
 */
function arrayLiteralElements(value: string): (string | null)[] | undefined {
  const text = value.trim()
  if (!text.startsWith('{') || !text.endsWith('}')) return undefined
  const inner = text.slice(1, -1)
  if (inner.trim() === '') return []
  const out: (string | null)[] = []
  let current = ''
  let quoted = false
  let wasQuoted = false
  for (let index = 0; index < inner.length; index++) {
    const character = inner[index]!
    if (quoted) {
      if (character === '\\') current += inner[++index] ?? ''
      else if (character === '"') quoted = false
      else current += character
    } else if (character === '"') {
      quoted = true
      wasQuoted = true
    } else if (character === ',') {
      out.push(!wasQuoted && current.trim().toUpperCase() === 'NULL' ? null : wasQuoted ? current : current.trim())
      current = ''
      wasQuoted = false
    } else if (character === '{' || character === '}') {
      return undefined
    } else {
      current += character
    }
  }
  if (quoted) return undefined
  out.push(!wasQuoted && current.trim().toUpperCase() === 'NULL' ? null : wasQuoted ? current : current.trim())
  return out
}

/** `'{int,int8}'::regtype[]`: a constant array of type names → the array of their OIDs. */
function expandRegTypeArray(arg: unknown): PgNode | undefined {
  const constant = constantText(arg)
  const elements = constant === undefined ? undefined : arrayLiteralElements(constant)
  if (elements === undefined) return undefined
  const oids = elements.map((element) => (element === null ? undefined : typeOidByName(element)))
  if (oids.some((value) => value === undefined)) return undefined
  return template(`CAST(ARRAY[${oids.join(', ')}] AS BIGINT[])`)
}

/**
 * A reg* cast: a constant name becomes its OID, anything else (an OID) becomes the name. A parameter
 * is the type's text input, as PostgreSQL reads it: a name, or an OID in digits.
 */
function expandRegCast(type: string, arg: unknown, context: CatalogContext): PgNode | undefined {
  const constant = constantText(arg)
  const parameter = nodeKind(arg) === 'ParamRef'
  switch (type) {
    case 'regclass': {
      if (constant !== undefined) {
        const name = constant.includes('.') ? constant.slice(constant.lastIndexOf('.') + 1) : constant
        return instantiate('(SELECT x.oid FROM pg_catalog.pg_class x WHERE x.relname = $1)', [stringConstant(name.replace(/^"|"$/g, ''))])
      }
      if (parameter) return instantiate('(SELECT x.oid FROM pg_catalog.pg_class x WHERE x.relname = CAST($1 AS VARCHAR) OR CAST(x.oid AS VARCHAR) = CAST($1 AS VARCHAR))', [arg])
      return instantiate('(SELECT x.relname FROM pg_catalog.pg_class x WHERE x.oid = $1)', [arg])
    }
    case 'regtype': {
      if (constant !== undefined) {
        const known = typeOidByName(constant)
        if (known !== undefined) return integerConstant(known)
        return instantiate('(SELECT x.oid FROM pg_catalog.pg_type x WHERE x.typname = $1 OR x.strata_display = $1)', [stringConstant(constant)])
      }
      if (parameter) return instantiate('(SELECT x.oid FROM pg_catalog.pg_type x WHERE x.typname = CAST($1 AS VARCHAR) OR x.strata_display = CAST($1 AS VARCHAR) OR CAST(x.oid AS VARCHAR) = CAST($1 AS VARCHAR))', [arg])
      return instantiate('(SELECT x.strata_display FROM pg_catalog.pg_type x WHERE x.oid = $1)', [arg])
    }
    case 'regnamespace':
      if (constant !== undefined) return instantiate('(SELECT x.oid FROM pg_catalog.pg_namespace x WHERE x.nspname = $1)', [stringConstant(constant)])
      if (parameter) return instantiate('(SELECT x.oid FROM pg_catalog.pg_namespace x WHERE x.nspname = CAST($1 AS VARCHAR) OR CAST(x.oid AS VARCHAR) = CAST($1 AS VARCHAR))', [arg])
      return instantiate('(SELECT x.nspname FROM pg_catalog.pg_namespace x WHERE x.oid = $1)', [arg])
    case 'regrole':
      return constant !== undefined ? integerConstant(superuserOid) : stringConstant(context.user)
    default:
      return undefined
  }
}

function regexCall(operator: string, left: unknown, right: unknown): PgNode | undefined {
  const insensitive = operator.endsWith('*')
  const negated = operator.startsWith('!')
  if (operator.replace('!', '').replace('*', '') !== '~') return undefined
  const call = instantiate(insensitive ? `regexp_matches($1, $2, 'i')` : 'regexp_matches($1, $2)', [left, right])
  return negated ? { BoolExpr: { boolop: 'NOT_EXPR', args: [call] } } : call
}

interface Rewrite {
  readonly context: CatalogContext
  readonly ctes: ReadonlySet<string>
  /** Catalog relations used: CTE name → (schema, relation). */
  readonly used: Map<string, { readonly schema: string; readonly relation: string }>
}

/** Rewrites a node (and what is below it) in place where it can; returns the node to use instead. */
function rewriteNode(value: unknown, state: Rewrite): unknown {
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) value[index] = rewriteNode(value[index], state)
    return value
  }
  if (value === null || typeof value !== 'object') return value
  const kind = nodeKind(value)
  const body = kind !== undefined && /^[A-Z]/.test(kind) ? nodeBody(value, kind) : undefined
  if (kind !== undefined && body !== undefined) {
    const replaced = rewriteKind(kind, body, state)
    if (replaced !== undefined) return replaced
  }
  for (const key of Object.keys(value)) (value as PgNode)[key] = rewriteNode((value as PgNode)[key], state)
  return value
}

function rewriteKind(kind: string, body: PgNode, state: Rewrite): unknown {
  switch (kind) {
    case 'SelectStmt': {
      // PostgreSQL carries out DISTINCT ON by sorting on its expressions, so its rows come in that
      // order even without ORDER BY, and clients rely on it (drizzle-kit reads index columns so);
      // DuckDB's come in any order unless asked.
      const distinctOn = list(body['distinctClause']).filter((item) => nodeKind(item) !== undefined)
      if (distinctOn.length > 0 && list(body['sortClause']).length === 0) {
        body['sortClause'] = distinctOn.map((item) => ({ SortBy: { node: structuredClone(item), sortby_dir: 'SORTBY_DEFAULT', sortby_nulls: 'SORTBY_NULLS_DEFAULT' } }))
      }
      return undefined
    }
    case 'RangeVar': {
      const schema = typeof body['schemaname'] === 'string' ? body['schemaname'] : undefined
      const relation = String(body['relname'])
      if (schema === undefined && state.ctes.has(relation)) return undefined
      const found = relationSpec(schema, relation)
      if (found === undefined || (schema === undefined && !relation.startsWith('pg_'))) return undefined
      const cte = `strata_${found.schema}_${relation}`
      state.used.set(cte, { schema: found.schema, relation })
      const alias = body['alias'] ?? { aliasname: relation }
      return { RangeVar: { relname: cte, inh: true, relpersistence: 'p', alias } }
    }
    case 'FuncCall': {
      const { name, qualified } = functionName(body)
      const args = list(body['args'])
      const expanded = expandFunction(name, args, state.context)
      if (expanded !== undefined) return rewriteNode(expanded, state)
      if (qualified) body['funcname'] = [{ String: { sval: name } }]
      return undefined
    }
    case 'TypeCast': {
      const typeName = body['typeName'] as PgNode
      const typeNames = names(typeName['names'])
      const type = (typeNames[typeNames.length - 1] ?? '').toLowerCase()
      if (regTypes.has(type) && typeName['arrayBounds'] === undefined) {
        const expanded = expandRegCast(type, body['arg'], state.context)
        if (expanded !== undefined) return rewriteNode(expanded, state)
      }
      if (type === 'regtype' && typeName['arrayBounds'] !== undefined) {
        const expanded = expandRegTypeArray(body['arg'])
        if (expanded !== undefined) return expanded
      }
      const mapped = castTypes[type]
      typeName['names'] = [{ String: { sval: mapped ?? type } }]
      return undefined
    }
    case 'A_Expr': {
      const operator = names(body['name'])
      const symbol = operator[operator.length - 1] ?? ''
      if (operator.length === 2) body['name'] = [{ String: { sval: symbol } }]
      if (body['kind'] === 'AEXPR_OP') {
        const call = regexCall(symbol, body['lexpr'], body['rexpr'])
        if (call !== undefined) return rewriteNode(call, state)
      }
      // x = ANY (array): DuckDB binds `= ANY` as a subquery, which it cannot put in an outer join's condition.
      if (body['kind'] === 'AEXPR_OP_ANY' && symbol === '=') return rewriteNode(instantiate('list_contains($1, $2)', [body['rexpr'], body['lexpr']]), state)
      return undefined
    }
    case 'SubLink': {
      // PostgreSQL allows EXISTS (SELECT FROM …) with no select list; DuckDB wants one.
      const subselect = nodeBody(body['subselect'], 'SelectStmt')
      if (body['subLinkType'] === 'EXISTS_SUBLINK' && subselect !== undefined && subselect['op'] === 'SETOP_NONE' && list(subselect['targetList']).length === 0 && subselect['valuesLists'] === undefined) {
        subselect['targetList'] = [{ ResTarget: { val: integerConstant(1) } }]
      }
      return undefined
    }
    case 'CollateClause':
      return rewriteNode(body['arg'], state)
    case 'SQLValueFunction':
      switch (body['op']) {
        case 'SVFOP_CURRENT_ROLE':
        case 'SVFOP_CURRENT_USER':
        case 'SVFOP_USER':
        case 'SVFOP_SESSION_USER':
          return stringConstant(state.context.user)
        case 'SVFOP_CURRENT_CATALOG':
          return stringConstant(state.context.database)
        case 'SVFOP_CURRENT_SCHEMA':
          return stringConstant('public')
        default:
          return undefined
      }
    case 'A_Const':
      return body['boolval'] !== undefined ? booleanConstant((body['boolval'] as PgNode)['boolval'] === true) : undefined
    default:
      return undefined
  }
}

function literal(value: unknown, type: string): string {
  if (value === null || value === undefined) return `CAST(NULL AS ${type})`
  if (Array.isArray(value)) return value.length === 0 ? `CAST(ARRAY[] AS ${type})` : `CAST(ARRAY[${value.map((item) => literal(item, type.replace('[]', ''))).join(', ')}] AS ${type})`
  if (typeof value === 'boolean') return value ? 'true' : 'false'
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : `CAST(${value} AS ${type})`
  return quoteLiteral(String(value))
}

/** The relation's rows as SQL: typed columns over a VALUES list (or an empty typed SELECT). */
function relationSql(spec: RelationSpec, rows: readonly Row[]): string {
  if (rows.length === 0) return `SELECT ${spec.columns.map(([name, type]) => `CAST(NULL AS ${type}) AS ${name}`).join(', ')} WHERE false`
  const values = rows.map((row) => `(${spec.columns.map(([, type], index) => literal(row[index], type)).join(', ')})`).join(', ')
  const select = spec.columns.map(([name, type], index) => `CAST(column${index + 1} AS ${type}) AS ${name}`).join(', ')
  return `SELECT ${select} FROM (VALUES ${values}) AS v(${spec.columns.map((_, index) => `column${index + 1}`).join(', ')})`
}

export type CatalogPlan =
  /** Known to have no rows: answer with these column names (text) without running anything. */
  | { readonly kind: 'empty'; readonly names: readonly string[] }
  /** Run this SQL on the column store. */
  | { readonly kind: 'sql'; readonly sql: string }

/**
 * Plans a catalog SELECT (isCatalogQuery said yes): DuckDB SQL over literal catalog relations, or
 * "no rows" when the rows could only come from an always-empty relation.
 *
 * @example
 * const plan = planCatalogQuery(tree, model, context, ['Name'])
 * if (plan.kind === 'sql') await engine.columnStoreQuery(session, plan.sql, params, {})
 */
export function planCatalogQuery(tree: PgNode, model: CatalogModel, context: CatalogContext, resultNames: readonly string[] | undefined): CatalogPlan {
  const select = nodeBody(tree, 'SelectStmt')!
  const ctes = cteNames(tree)
  if (resultNames !== undefined && selectAlwaysEmpty(select, ctes)) return { kind: 'empty', names: resultNames }
  const rewritten = structuredClone(tree)
  const state: Rewrite = { context, ctes, used: new Map() }
  rewriteNode(rewritten, state)
  const body = nodeBody(rewritten, 'SelectStmt')!
  if (state.used.size > 0) {
    const definitions: PgNode[] = []
    for (const [name, { schema, relation }] of state.used) {
      const spec = schemas[schema]![relation]!
      const parsed = parseTree(relationSql(spec, spec.rows?.(model, context) ?? [])) as unknown as { stmts: { stmt: PgNode }[] }
      definitions.push({ CommonTableExpr: { ctename: name, ctematerialized: 'CTEMaterializeDefault', ctequery: rewriteNode(parsed.stmts[0]!.stmt, state) } })
    }
    const withClause = (body['withClause'] as PgNode | undefined) ?? { ctes: [] }
    withClause['ctes'] = [...definitions, ...list(withClause['ctes'])]
    body['withClause'] = withClause
  }
  return { kind: 'sql', sql: deparseStatement(rewritten) }
}
