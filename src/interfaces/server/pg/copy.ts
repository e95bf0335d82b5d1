/**
 * COPY's data formats (https://www.postgresql.org/docs/current/sql-copy.html): text (tab-separated,
 * `\N` for NULL, backslash escapes), CSV (RFC 4180 quoting, NULL as an unquoted empty field by
 * default, optional header) and binary (PostgreSQL's signature and header, then per row a field count
 * and per field a length, -1 for NULL, and the value in the type's binary send format). Pure
 * functions: the protocol flow (CopyIn/CopyOut, CopyData, CopyDone) is in connection.ts, the values'
 * binary formats in values.ts.
 */
import type { PgNode } from '../../../sql/parse.js'
import { list, nodeBody, nodeKind } from '../../../sql/tree.js'
import { StrataError } from '../../../util/errors.js'

export interface CopyFormat {
  readonly binary: boolean
  readonly csv: boolean
  readonly delimiter: string
  readonly nullText: string
  readonly quote: string
  readonly escape: string
  readonly header: boolean
}

function optionText(argument: unknown): string | undefined {
  const kind = nodeKind(argument)
  const body = kind === undefined ? undefined : nodeBody(argument, kind)
  if (body === undefined) return undefined
  if (kind === 'String') return typeof body['sval'] === 'string' ? body['sval'] : ''
  if (kind === 'Boolean') return body['boolval'] === true ? 'true' : 'false'
  if (kind === 'Integer') return String(body['ival'] ?? 0)
  return undefined
}

function optionBoolean(argument: unknown): boolean {
  // A bare option (HEADER) has no argument and means true.
  if (argument === undefined) return true
  const value = (optionText(argument) ?? 'true').toLowerCase()
  if (['true', 'on', '1', 'yes', 'match'].includes(value)) return true
  if (['false', 'off', '0', 'no'].includes(value)) return false
  throw new StrataError('SYNTAX_ERROR', `COPY option expects a Boolean value, not "${value}"`)
}

/**
 * The format a CopyStmt's options ask for.
 *
 * @example copyFormat(copyStmtBody) // { csv: true, delimiter: ',', nullText: '', … }
 */
export function copyFormat(body: PgNode): CopyFormat {
  let csv = false
  let binary = false
  let delimiter: string | undefined
  let nullText: string | undefined
  let quote = '"'
  let escape: string | undefined
  let header = false
  for (const item of list(body['options'])) {
    const option = nodeBody(item, 'DefElem')
    if (option === undefined) continue
    const name = String(option['defname']).toLowerCase()
    const argument = option['arg']
    switch (name) {
      case 'format': {
        const format = (optionText(argument) ?? '').toLowerCase()
        if (format !== 'text' && format !== 'csv' && format !== 'binary') throw new StrataError('SYNTAX_ERROR', `COPY format "${format}" not recognized`)
        csv = format === 'csv'
        binary = format === 'binary'
        break
      }
      case 'delimiter':
        delimiter = optionText(argument)
        break
      case 'null':
        nullText = optionText(argument)
        break
      case 'quote':
        quote = optionText(argument) ?? '"'
        break
      case 'escape':
        escape = optionText(argument)
        break
      case 'header':
        header = optionBoolean(argument)
        break
      case 'encoding': {
        const encoding = (optionText(argument) ?? '').toUpperCase().replaceAll('-', '').replaceAll('_', '')
        if (encoding !== 'UTF8' && encoding !== 'UNICODE' && encoding !== 'SQLASCII') throw new StrataError('NOT_SUPPORTED', `COPY encoding ${optionText(argument) ?? ''}: only UTF8`)
        break
      }
      case 'freeze':
      case 'force_quote':
      case 'force_not_null':
      case 'force_null':
        break
      default:
        throw new StrataError('SYNTAX_ERROR', `option "${name}" not recognized`)
    }
  }
  if (binary && (delimiter !== undefined || nullText !== undefined || header)) throw new StrataError('SYNTAX_ERROR', 'cannot specify DELIMITER, NULL or HEADER in BINARY mode')
  const format = { binary, csv, delimiter: delimiter ?? (csv ? ',' : '\t'), nullText: nullText ?? (csv ? '' : '\\N'), quote, escape: escape ?? quote, header }
  if ([...format.delimiter].length !== 1) throw new StrataError('INVALID_PARAMETER', 'COPY delimiter must be a single one-byte character')
  if (header && !csv) throw new StrataError('NOT_SUPPORTED', 'COPY HEADER available only in CSV mode (and in text mode from PostgreSQL 15 on; not here)')
  return format
}

/** Is this CopyStmt's argument STDIN/STDOUT (no filename, no PROGRAM)? */
export function copiesThroughClient(body: PgNode): boolean {
  return body['filename'] === undefined && body['is_program'] !== true
}

const escapes: Readonly<Record<string, string>> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' }

function textField(raw: string): string {
  if (!raw.includes('\\')) return raw
  let out = ''
  for (let index = 0; index < raw.length; index++) {
    const char = raw[index]!
    if (char !== '\\' || index === raw.length - 1) {
      out += char
      continue
    }
    const next = raw[++index]!
    if (escapes[next] !== undefined) out += escapes[next]
    else if (next >= '0' && next <= '7') {
      let digits = next
      while (digits.length < 3 && raw[index + 1] !== undefined && raw[index + 1]! >= '0' && raw[index + 1]! <= '7') digits += raw[++index]
      out += String.fromCharCode(Number.parseInt(digits, 8))
    } else if (next === 'x' && /^[0-9a-fA-F]/.test(raw[index + 1] ?? '')) {
      let digits = ''
      while (digits.length < 2 && /^[0-9a-fA-F]$/.test(raw[index + 1] ?? '')) digits += raw[++index]
      out += String.fromCharCode(Number.parseInt(digits, 16))
    } else out += next
  }
  return out
}

/**
 * Rows of COPY data: one array of field values (null = NULL) per line.
 *
 * @example parseCopyRows('1\tann\n2\t\\N\n', copyFormat({})) // [['1', 'ann'], ['2', null]]
 */
export function parseCopyRows(data: string, format: CopyFormat): (string | null)[][] {
  return format.csv ? parseCsv(data, format) : parseText(data, format)
}

function parseText(data: string, format: CopyFormat): (string | null)[][] {
  const rows: (string | null)[][] = []
  let start = 0
  while (start < data.length) {
    let end = data.indexOf('\n', start)
    if (end < 0) end = data.length
    let line = data.slice(start, end)
    start = end + 1
    if (line.endsWith('\r')) line = line.slice(0, -1)
    if (line === '\\.') break
    // Split at delimiters that are not escaped by a backslash.
    const fields: (string | null)[] = []
    let field = ''
    for (let index = 0; index < line.length; index++) {
      const char = line[index]!
      if (char === '\\' && index + 1 < line.length) {
        field += char + line[index + 1]
        index++
      } else if (char === format.delimiter) {
        fields.push(field === format.nullText ? null : textField(field))
        field = ''
      } else field += char
    }
    fields.push(field === format.nullText ? null : textField(field))
    rows.push(fields)
  }
  return rows
}

function parseCsv(data: string, format: CopyFormat): (string | null)[][] {
  const rows: (string | null)[][] = []
  let fields: (string | null)[] = []
  let field = ''
  let quoted = false
  let inQuotes = false
  let index = 0
  let lineStart = true
  const endField = (): void => {
    fields.push(!quoted && field === format.nullText ? null : field)
    field = ''
    quoted = false
  }
  while (index < data.length) {
    const char = data[index]!
    if (lineStart && !inQuotes && data.startsWith('\\.', index) && (data[index + 2] === '\n' || data[index + 2] === '\r' || index + 2 === data.length)) break
    lineStart = false
    if (inQuotes) {
      const next = data[index + 1]
      if (char === format.escape && (next === format.quote || (format.escape !== format.quote && next === format.escape))) {
        field += next
        index += 2
        continue
      }
      if (char === format.quote) {
        inQuotes = false
        index++
        continue
      }
      field += char
      index++
      continue
    }
    if (char === format.quote) {
      inQuotes = true
      quoted = true
      index++
      continue
    }
    if (char === format.delimiter) {
      endField()
      index++
      continue
    }
    if (char === '\n' || char === '\r') {
      endField()
      rows.push(fields)
      fields = []
      index += char === '\r' && data[index + 1] === '\n' ? 2 : 1
      lineStart = true
      continue
    }
    field += char
    index++
  }
  if (inQuotes) throw new StrataError('SYNTAX_ERROR', 'unterminated CSV quoted field')
  if (field !== '' || quoted || fields.length > 0) {
    endField()
    rows.push(fields)
  }
  if (format.header) rows.shift()
  return rows
}

/**
 * One row of COPY output (with its line end), fields already as PostgreSQL's text output or null.
 *
 * @example copyLine(['1', null, 'a\tb'], textFormat) // '1\t\\N\ta\\tb\n'
 */
export function copyLine(fields: readonly (string | null)[], format: CopyFormat): string {
  if (!format.csv) {
    return `${fields
      .map((field) => {
        if (field === null) return format.nullText
        let out = ''
        for (const char of field) {
          if (char === '\\') out += '\\\\'
          else if (char === '\n') out += '\\n'
          else if (char === '\r') out += '\\r'
          else if (char === '\t' && format.delimiter === '\t') out += '\\t'
          else if (char === format.delimiter) out += `\\${char}`
          else out += char
        }
        return out
      })
      .join(format.delimiter)}\n`
  }
  return `${fields
    .map((field) => {
      if (field === null) return format.nullText
      const needsQuotes = field === format.nullText || field.includes(format.delimiter) || field.includes(format.quote) || field.includes('\n') || field.includes('\r') || field.startsWith('\\.')
      if (!needsQuotes) return field
      return `${format.quote}${field.replaceAll(format.quote, format.escape + format.quote)}${format.quote}`
    })
    .join(format.delimiter)}\n`
}

// ───────────────────────────── binary format ─────────────────────────────

/** "PGCOPY\n\377\r\n\0": the binary format's signature. */
const binarySignature = Buffer.from([0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00])

/** The signature, flags 0 (no OIDs) and an empty header extension. */
export function binaryCopyHeader(): Buffer {
  return Buffer.concat([binarySignature, Buffer.alloc(8)])
}

/** The file trailer: a field count of -1. */
export function binaryCopyTrailer(): Buffer {
  const trailer = Buffer.alloc(2)
  trailer.writeInt16BE(-1)
  return trailer
}

/** One row: its field count, then each field's length (-1 for NULL) and bytes. */
export function binaryCopyRow(fields: readonly (Buffer | null)[]): Buffer {
  let size = 2
  for (const field of fields) size += 4 + (field?.length ?? 0)
  const row = Buffer.allocUnsafe(size)
  row.writeInt16BE(fields.length, 0)
  let offset = 2
  for (const field of fields) {
    if (field === null) {
      row.writeInt32BE(-1, offset)
      offset += 4
      continue
    }
    row.writeInt32BE(field.length, offset)
    field.copy(row, offset + 4)
    offset += 4 + field.length
  }
  return row
}

/**
 * The rows of a binary COPY stream as each field's bytes (null for NULL), checked against
 * `columnCount`; a malformed stream is BadCopyFileFormat with what was wrong and where.
 *
 * @example parseBinaryCopy(Buffer.concat([binaryCopyHeader(), binaryCopyRow([Buffer.from([0, 0, 0, 7])]), binaryCopyTrailer()]), 1) // [[<00 00 00 07>]]
 */
export function parseBinaryCopy(data: Buffer, columnCount: number): (Buffer | null)[][] {
  const fail = (message: string): never => {
    throw new CopyFormatError(message)
  }
  if (data.length < 19 || !data.subarray(0, 11).equals(binarySignature)) fail('COPY file signature not recognized')
  const flags = data.readInt32BE(11)
  if ((flags & (1 << 16)) !== 0) fail('binary COPY with OIDs is not supported')
  // Bits 0–15 are critical: a reader that does not know one must refuse the file.
  if ((flags & 0xffff) !== 0) fail('unrecognized critical flags in COPY file header')
  const extension = data.readInt32BE(15)
  let offset = 19 + extension
  if (extension < 0 || offset > data.length) fail('invalid COPY file header (extension length)')
  const rows: (Buffer | null)[][] = []
  for (;;) {
    if (offset + 2 > data.length) fail('unexpected EOF in COPY data (no trailer)')
    const count = data.readInt16BE(offset)
    offset += 2
    if (count === -1) break
    if (count !== columnCount) fail(`row field count is ${count}, expected ${columnCount} (COPY row ${rows.length + 1})`)
    const row: (Buffer | null)[] = []
    for (let field = 0; field < count; field++) {
      if (offset + 4 > data.length) fail(`unexpected EOF in COPY data (row ${rows.length + 1})`)
      const length = data.readInt32BE(offset)
      offset += 4
      if (length === -1) {
        row.push(null)
        continue
      }
      if (length < 0 || offset + length > data.length) fail(`invalid field length in COPY data (row ${rows.length + 1})`)
      row.push(data.subarray(offset, offset + length))
      offset += length
    }
    rows.push(row)
  }
  if (offset !== data.length) fail('COPY data continues after the file trailer')
  return rows
}

/** A malformed binary COPY stream (the connection answers 22P04). */
export class CopyFormatError extends Error {}
