/**
 * Exact decimal values. DECIMAL(p,s) is exact end to end: the row store keeps it as a scaled integer
 * (p ≤ 18) or as its canonical text (p > 18), the column store as DuckDB's DECIMAL, and nothing in
 * between passes it through a double. A result value is a JS number when that number's shortest
 * decimal form is exactly the value (always for up to 15 significant digits), otherwise a string with
 * the exact digits — the same rule as BIGINT's number-or-bigint, so a number is never a rounded value.
 *
 * A decimal here is `{ unscaled, scale }`: the value is unscaled × 10^-scale.
 */

export interface Decimal {
  readonly unscaled: bigint
  readonly scale: number
}

/** The largest precision the row store keeps as a scaled INTEGER: 10^18 − 1 < 2^63 − 1. */
export const scaledPrecisionMax = 18

const powers: bigint[] = [1n]
/** 10^n as a bigint (cached). */
export function powerOfTen(exponent: number): bigint {
  while (powers.length <= exponent) powers.push(powers[powers.length - 1]! * 10n)
  return powers[exponent]!
}

/**
 * Reads decimal text: an optional sign, digits with an optional point, an optional exponent
 * (`1.5`, `-0.125`, `.5`, `1e-7`, `12E+3`), surrounding blanks ignored. Undefined for anything else
 * (value parsing of a number's text, not SQL parsing).
 *
 * @example parseDecimal('-1.50') // { unscaled: -150n, scale: 2 }
 */
export function parseDecimal(text: string): Decimal | undefined {
  const trimmed = text.trim()
  const match = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d{1,5}))?$/.exec(trimmed)
  if (match === null) return undefined
  const [, sign, whole = '', fraction = '', exponentText] = match
  if (whole.length === 0 && fraction.length === 0) return undefined
  let unscaled = BigInt(`${whole}${fraction}` || '0')
  let scale = fraction.length - (exponentText === undefined ? 0 : Number(exponentText))
  if (scale < 0) {
    unscaled *= powerOfTen(-scale)
    scale = 0
  }
  return { unscaled: sign === '-' ? -unscaled : unscaled, scale }
}

/**
 * A finite JS number as the decimal its shortest round-trip form spells (what the user wrote:
 * `1.005` is 1.005, not the binary value just below it).
 *
 * @example decimalFromNumber(0.1) // { unscaled: 1n, scale: 1 }
 */
export function decimalFromNumber(value: number): Decimal {
  return parseDecimal(String(value + 0))!
}

/**
 * The decimal at `scale` digits after the point, rounding half away from zero (DuckDB's CAST).
 *
 * @example rescale({ unscaled: 1005n, scale: 3 }, 2) // { unscaled: 101n, scale: 2 }
 */
export function rescale(value: Decimal, scale: number): Decimal {
  if (value.scale === scale) return value
  if (value.scale < scale) return { unscaled: value.unscaled * powerOfTen(scale - value.scale), scale }
  const divisor = powerOfTen(value.scale - scale)
  const negative = value.unscaled < 0n
  const magnitude = negative ? -value.unscaled : value.unscaled
  let quotient = magnitude / divisor
  if ((magnitude % divisor) * 2n >= divisor) quotient += 1n
  return { unscaled: negative ? -quotient : quotient, scale }
}

/** Whether rescaling to `scale` loses nothing (no non-zero digit beyond it). */
export function fitsScale(value: Decimal, scale: number): boolean {
  return value.scale <= scale || value.unscaled % powerOfTen(value.scale - scale) === 0n
}

/** The number of digits of the integer part (0 for |value| < 1). */
export function integerDigits(value: Decimal): number {
  const magnitude = value.unscaled < 0n ? -value.unscaled : value.unscaled
  const whole = magnitude / powerOfTen(value.scale)
  return whole === 0n ? 0 : whole.toString().length
}

/** The number of significant digits (0 for zero). */
export function significantDigits(value: Decimal): number {
  let magnitude = value.unscaled < 0n ? -value.unscaled : value.unscaled
  if (magnitude === 0n) return 0
  while (magnitude % 10n === 0n) magnitude /= 10n
  return magnitude.toString().length
}

/**
 * The decimal's text with exactly `scale` fractional digits (its own scale when omitted), never an
 * exponent; zero is never negative.
 *
 * @example decimalText({ unscaled: -5n, scale: 1 }, 2) // '-0.50'
 */
export function decimalText(value: Decimal, scale = value.scale): string {
  const exact = rescale(value, scale)
  const negative = exact.unscaled < 0n
  const digits = (negative ? -exact.unscaled : exact.unscaled).toString().padStart(scale + 1, '0')
  const text = scale === 0 ? digits : `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`
  return negative ? `-${text}` : text
}

/**
 * The result value for an exact decimal (module comment): a number when it spells the value exactly,
 * else the exact text at the decimal's scale.
 *
 * @example decimalResult({ unscaled: 1250n, scale: 2 }) // 12.5
 * @example decimalResult(parseDecimal('12345678901234567.1')!) // '12345678901234567.1'
 */
export function decimalResult(value: Decimal): number | string {
  // The common case without text: fewer than 16 digits, and u / 10^s of two exact doubles is correctly
  // rounded, so it is the number that spells the value.
  if (value.unscaled > -fastUnscaledLimit && value.unscaled < fastUnscaledLimit && value.scale <= 22) {
    return Number(value.unscaled) / fastPowers[value.scale]! + 0
  }
  const text = decimalText(value)
  const number = Number(text)
  if (significantDigits(value) <= 15) return number + 0
  const back = decimalFromNumber(number)
  return compareDecimals(back, value) === 0 ? number : text
}

const fastUnscaledLimit = 10n ** 15n
/** 10^0 … 10^22: every one is an exact double. */
const fastPowers: readonly number[] = Array.from({ length: 23 }, (_, exponent) => 10 ** exponent)

/** -1, 0 or 1 as a < b, a = b, a > b (exactly). */
export function compareDecimals(a: Decimal, b: Decimal): number {
  const scale = Math.max(a.scale, b.scale)
  const left = rescale(a, scale).unscaled
  const right = rescale(b, scale).unscaled
  return left < right ? -1 : left > right ? 1 : 0
}

/**
 * A result value (number, decimal string, bigint) as text at `scale` digits, for the text outputs
 * (CLI, PostgreSQL protocol, HTTP JSON): `99` in a DECIMAL(10,2) column prints `99.00`.
 *
 * @example scaledText(99, 2) // '99.00'
 */
export function scaledText(value: number | string | bigint, scale: number): string {
  const decimal = typeof value === 'number' ? (Number.isFinite(value) ? decimalFromNumber(value) : undefined) : parseDecimal(String(value))
  return decimal === undefined ? String(value) : decimalText(decimal, scale)
}

/**
 * The precision and scale of a DECIMAL type label (`DECIMAL(10,2)` → 10, 2; `NUMERIC(5)` → 5, 0), or
 * undefined for any other type. Reads a type name as results report it, not SQL.
 *
 * @example decimalLabel('DECIMAL(10,2)') // { precision: 10, scale: 2 }
 */
export function decimalLabel(label: string): { readonly precision: number; readonly scale: number } | undefined {
  const match = /^(?:DECIMAL|NUMERIC)\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)$/i.exec(label.trim())
  if (match === null) return undefined
  return { precision: Number(match[1]), scale: match[2] === undefined ? 0 : Number(match[2]) }
}

/** The scale of a DECIMAL type label, or undefined for any other type ({@link decimalLabel}). */
export function decimalLabelScale(label: string): number | undefined {
  return decimalLabel(label)?.scale
}

/**
 * A result value (number, decimal string, bigint) at `scale` as Arrow's Decimal128 stores it: the
 * unscaled integer in two's complement, four 32-bit words, least significant first. Exact: the value
 * is read from its digits, never through a double.
 *
 * @example decimalWords(1.5, 2) // Uint32Array [150, 0, 0, 0]
 */
export function decimalWords(value: number | string | bigint, scale: number): Uint32Array {
  const decimal = typeof value === 'number' ? decimalFromNumber(value) : typeof value === 'bigint' ? { unscaled: value, scale: 0 } : parseDecimal(value)
  if (decimal === undefined) throw new TypeError(`not a decimal: ${String(value)}`)
  let bits = BigInt.asUintN(128, rescale(decimal, scale).unscaled)
  const words = new Uint32Array(4)
  for (let index = 0; index < 4; index++) {
    words[index] = Number(bits & 0xffffffffn)
    bits >>= 32n
  }
  return words
}
