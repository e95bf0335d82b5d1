/**
 * A connection's run-time settings (PostgreSQL's GUCs) as clients see them: SET, RESET, SHOW,
 * current_setting(), set_config(), the startup packet's parameters and `options=-c name=value`.
 *
 * Strata has no configuration of this kind to change, so most settings are remembered and shown
 * back, never acted on. Those that mean something here: `statement_timeout` (enforced per
 * statement), `application_name` (reported), `client_encoding` (UTF8 only; SQL_ASCII is accepted as
 * UTF-8 is a superset). TimeZone and DateStyle are shown as set but output stays ISO in UTC (a
 * timestamptz carries its `+00` offset, so the instant is right whatever the client's zone).
 * Unknown names are accepted and remembered (PostgreSQL rejects them unless they contain a dot):
 * tools set many parameters that have no meaning here, and failing their SET would fail their
 * connection.
 */
import { StrataError } from '../../../util/errors.js'

export interface SettingDefinition {
  /** PostgreSQL's spelling (DateStyle, TimeZone, …); lookups are case-insensitive. */
  readonly name: string
  readonly value: string
  /** Sent as ParameterStatus at startup and whenever it changes (PostgreSQL's GUC_REPORT). */
  readonly reported?: boolean
  readonly description: string
}

export const serverVersion = '16.0 (Strata)'
export const serverVersionNumber = '160000'

function definitions(options: { readonly user: string; readonly applicationName: string; readonly statementTimeoutMs: number }): SettingDefinition[] {
  return [
    { name: 'server_version', value: serverVersion, reported: true, description: 'Shows the server version.' },
    { name: 'server_version_num', value: serverVersionNumber, description: 'Shows the server version as an integer.' },
    { name: 'server_encoding', value: 'UTF8', reported: true, description: 'Shows the server (database) character set encoding.' },
    { name: 'client_encoding', value: 'UTF8', reported: true, description: "Sets the client's character set encoding." },
    { name: 'DateStyle', value: 'ISO, MDY', reported: true, description: 'Sets the display format for date and time values.' },
    { name: 'IntervalStyle', value: 'postgres', reported: true, description: 'Sets the display format for interval values.' },
    { name: 'TimeZone', value: 'UTC', reported: true, description: 'Sets the time zone for displaying and interpreting time stamps.' },
    { name: 'integer_datetimes', value: 'on', reported: true, description: 'Shows whether datetimes are integer based.' },
    { name: 'standard_conforming_strings', value: 'on', reported: true, description: "Causes '...' strings to treat backslashes literally." },
    { name: 'is_superuser', value: 'on', reported: true, description: 'Shows whether the current user is a superuser.' },
    { name: 'session_authorization', value: options.user, reported: true, description: 'Sets the session user name.' },
    { name: 'application_name', value: options.applicationName, reported: true, description: 'Sets the application name to be reported in statistics and logs.' },
    { name: 'default_transaction_read_only', value: 'off', reported: true, description: 'Sets the default read-only status of new transactions.' },
    { name: 'in_hot_standby', value: 'off', reported: true, description: 'Shows whether hot standby is currently active.' },
    { name: 'statement_timeout', value: `${options.statementTimeoutMs}`, description: 'Sets the maximum allowed duration of any statement (ms; 0 = the server default).' },
    { name: 'search_path', value: '"$user", public', description: 'Sets the schema search order for names that are not schema-qualified.' },
    { name: 'extra_float_digits', value: '1', description: 'Sets the number of digits displayed for floating-point values.' },
    { name: 'bytea_output', value: 'hex', description: 'Sets the output format for bytea.' },
    { name: 'transaction_isolation', value: 'serializable', description: "Sets the current transaction's isolation level (Strata's writers are serial)." },
    { name: 'default_transaction_isolation', value: 'serializable', description: 'Sets the transaction isolation level of each new transaction.' },
    { name: 'transaction_read_only', value: 'off', description: "Sets the current transaction's read-only status." },
    { name: 'max_identifier_length', value: '63', description: 'Shows the maximum identifier length.' },
    { name: 'lc_collate', value: 'C', description: 'Shows the collation order locale.' },
    { name: 'lc_ctype', value: 'C', description: 'Shows the character classification and case conversion locale.' },
    { name: 'lc_messages', value: 'C', description: 'Sets the language in which messages are displayed.' },
    { name: 'client_min_messages', value: 'notice', description: 'Sets the message levels that are sent to the client.' },
    { name: 'lock_timeout', value: '0', description: 'Sets the maximum allowed duration of any wait for a lock.' },
    { name: 'idle_in_transaction_session_timeout', value: '0', description: 'Sets the maximum allowed idle time between queries, when in a transaction.' },
    { name: 'timezone_abbreviations', value: 'Default', description: 'Selects a file of time zone abbreviations.' },
    { name: 'block_size', value: '8192', description: 'Shows the size of a disk block.' },
    { name: 'max_connections', value: '100', description: 'Sets the maximum number of concurrent connections.' },
  ]
}

/** How statement_timeout reads: an integer is milliseconds; units ms, s, min, h, d as PostgreSQL takes them. */
export function durationMs(text: string): number | undefined {
  const trimmed = text.trim().toLowerCase()
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|min|h|d)?$/.exec(trimmed)
  if (match === null) return undefined
  const factor = { ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] ?? 'ms'] ?? 1
  return Math.round(Number(match[1]) * factor)
}

/**
 * One connection's settings.
 *
 * @example
 * const settings = new Settings({ user: 'ann', applicationName: 'psql', statementTimeoutMs: 0 })
 * settings.set('statement_timeout', '5s') // → []
 * settings.statementTimeoutMs // 5000
 */
export class Settings {
  private readonly defaults = new Map<string, SettingDefinition>()
  private readonly values = new Map<string, string>()

  constructor(options: { readonly user: string; readonly applicationName: string; readonly statementTimeoutMs: number }) {
    for (const definition of definitions(options)) this.defaults.set(definition.name.toLowerCase(), definition)
  }

  /** Canonical name and current value of each reported setting, for the ParameterStatus messages at startup. */
  reported(): [string, string][] {
    return [...this.defaults.values()].filter((definition) => definition.reported === true).map((definition) => [definition.name, this.get(definition.name)!])
  }

  get(name: string): string | undefined {
    const key = name.toLowerCase()
    return this.values.get(key) ?? this.defaults.get(key)?.value
  }

  /** Every setting, sorted by name: SHOW ALL and pg_settings. */
  all(): { name: string; value: string; description: string }[] {
    const names = new Set([...this.defaults.keys(), ...this.values.keys()])
    return [...names]
      .map((key) => ({ name: this.defaults.get(key)?.name ?? key, value: this.get(key) ?? '', description: this.defaults.get(key)?.description ?? '' }))
      .sort((left, right) => left.name.toLowerCase().localeCompare(right.name.toLowerCase()))
  }

  /**
   * Sets a value; returns the ParameterStatus messages (canonical name, value) it causes. Refuses a
   * value that would make the connection wrong (an encoding we do not speak, a malformed timeout).
   */
  set(name: string, value: string): [string, string][] {
    const key = name.toLowerCase()
    let stored = value
    if (key === 'client_encoding') {
      const normalized = value.toUpperCase().replaceAll('-', '').replaceAll('_', '')
      if (normalized === 'UTF8' || normalized === 'UNICODE') stored = 'UTF8'
      else if (normalized === 'SQLASCII') stored = 'SQL_ASCII'
      else throw new StrataError('NOT_SUPPORTED', `client_encoding ${value}: the server speaks UTF8 only`)
    }
    if (key === 'statement_timeout' && durationMs(value) === undefined) {
      throw new StrataError('INVALID_PARAMETER', `invalid value for parameter "statement_timeout": "${value}"`)
    }
    if (key === 'server_version' || key === 'server_encoding' || key === 'integer_datetimes' || key === 'server_version_num' || key === 'block_size' || key === 'max_identifier_length') {
      throw new StrataError('INVALID_PARAMETER', `parameter "${name}" cannot be changed`)
    }
    const before = this.get(key)
    this.values.set(key, stored)
    const definition = this.defaults.get(key)
    return definition?.reported === true && before !== stored ? [[definition.name, stored]] : []
  }

  reset(name: string): [string, string][] {
    const key = name.toLowerCase()
    const before = this.get(key)
    this.values.delete(key)
    const definition = this.defaults.get(key)
    return definition?.reported === true && before !== this.get(key) ? [[definition.name, this.get(key)!]] : []
  }

  resetAll(): [string, string][] {
    const changed: [string, string][] = []
    for (const key of [...this.values.keys()]) changed.push(...this.reset(key))
    return changed
  }

  /** The statement timeout this connection asked for, or undefined for the server's default. */
  get statementTimeoutMs(): number | undefined {
    const value = this.values.get('statement_timeout')
    if (value === undefined) return undefined
    const ms = durationMs(value)
    return ms === undefined || ms === 0 ? undefined : ms
  }
}
