/**
 * Full-text search as a subsystem (SPEC 7; SQLite FTS5). Its statement, `CREATE FULLTEXT INDEX`, is
 * recognised from the scanner's tokens; its indexes follow DROP TABLE, DROP INDEX, DROP COLUMN and
 * RENAME COLUMN through the schema hooks; a query that uses MATCH or bm25 is refused before it would
 * reach the column store. `MATCH`/`bm25` themselves are compiled into row-store SQL by the front end
 * (src/sql/fulltext.ts, called from src/sql/rowsql.ts).
 */
import { checkFulltextDropColumn, recogniseCreateFulltextIndex, rejectFulltextOutsideRowStore, renameFulltextColumn } from '../../sql/fulltext.js'
import type { StatementCall, Subsystem, SubsystemHost } from '../seam.js'
import { createFulltextIndexSync, dropFulltextIndexSync, dropTableFulltextSync, renameFulltextColumnSync } from './indexes.js'

/**
 * The full-text subsystem, registered in src/subsystems/index.ts.
 *
 * @example
 * const subsystem = fulltextSubsystem(host)
 * subsystem.recognise?.(parseStatements('CREATE FULLTEXT INDEX d ON docs (body)')[0]!)?.writes // true
 */
export function fulltextSubsystem(host: SubsystemHost): Subsystem {
  return {
    name: 'full-text search',
    recognise(statement) {
      if (statement.tree !== undefined) return undefined
      const create = recogniseCreateFulltextIndex(statement.text, statement.tokens)
      if (create === undefined) return undefined
      return {
        writes: true,
        run: (call: StatementCall) => {
          createFulltextIndexSync(
            {
              writer: host.rowStore.writer,
              catalog: host.schema.catalog,
              saveTableSync: (table) => {
                host.saveTableSync(table)
                call.schemaChanged()
              },
            },
            create,
          )
          return { rows: [], columns: [], rowCount: 0, engine: 'row' }
        },
      }
    },
    beforeColumnStore: rejectFulltextOutsideRowStore,
    schema: {
      dropTable: (change, table) => dropTableFulltextSync(change.writer, table),
      dropIndex: (change, name) => dropFulltextIndexSync(change, name),
      checkDropColumn: checkFulltextDropColumn,
      renameColumn: renameFulltextColumn,
      afterRenameColumn: (change, table, to) => renameFulltextColumnSync(change.writer, table, to),
    },
  }
}
