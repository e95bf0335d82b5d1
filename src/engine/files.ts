/**
 * File import and export (`db.importFile`, `db.exportTable`, `strata import` / `strata export`, and the
 * same through a server's local socket): the SQL that has DuckDB read or write a file. The engine runs
 * it on the column store (src/engine/engine.ts: importFile, exportTable).
 */
import { extname } from 'node:path'
import { StrataError } from '../util/errors.js'

/**
 * DuckDB's reader for a file, by extension, taking the path as parameter `$1`.
 *
 * @example
 * fileReaderSql('/tmp/people.csv')  // 'read_csv_auto($1)'
 */
export function fileReaderSql(file: string): string {
  const extension = extname(file).toLowerCase()
  switch (extension) {
    case '.csv':
    case '.tsv':
      return 'read_csv_auto($1)'
    case '.parquet':
      return 'read_parquet($1)'
    case '.json':
    case '.jsonl':
    case '.ndjson':
      return 'read_json_auto($1)'
    default:
      throw new StrataError('NOT_SUPPORTED', `cannot import ${extension || 'a file without an extension'}: use .csv, .parquet or .json`)
  }
}

/**
 * The COPY that writes a table's current state (the mirror's `main.<table>` view) to a file, its
 * format by extension. DuckDB's COPY takes no parameter for the file, so the path is a quoted literal.
 *
 * @example
 * exportCopySql('people', '/tmp/people.csv')  // `COPY (SELECT * FROM main."people") TO '/tmp/people.csv' (FORMAT CSV, HEADER)`
 */
export function exportCopySql(table: string, file: string): string {
  const extension = extname(file).toLowerCase()
  const format = extension === '.parquet' ? 'PARQUET' : extension === '.csv' ? 'CSV, HEADER' : extension === '.json' || extension === '.jsonl' ? 'JSON' : undefined
  if (format === undefined) throw new StrataError('NOT_SUPPORTED', `cannot export to ${extension || 'a file without an extension'}: use .parquet, .csv or .json`)
  const quotedTable = `"${table.replaceAll('"', '""')}"`
  const quotedFile = `'${file.replaceAll("'", "''")}'`
  return `COPY (SELECT * FROM main.${quotedTable}) TO ${quotedFile} (FORMAT ${format})`
}
