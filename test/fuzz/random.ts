/**
 * The fuzzer's only source of randomness: a seeded PRNG (mulberry32, test/helpers.ts), so a printed
 * seed replays a run exactly. Nothing in test/fuzz/ calls Math.random.
 */
import { seededRandom } from '../helpers.js'

export class Random {
  private readonly next: () => number

  constructor(readonly seed: number) {
    this.next = seededRandom(seed)
  }

  /** A float in [0, 1). */
  float(): number {
    return this.next()
  }

  /** An integer in [low, high], both included. */
  int(low: number, high: number): number {
    return low + Math.floor(this.next() * (high - low + 1))
  }

  /** A bigint in [low, high], both included (any width). */
  bigint(low: bigint, high: bigint): bigint {
    const span = high - low + 1n
    let value = 0n
    for (let bits = 0n; 1n << bits < span; bits += 30n) value = (value << 30n) | BigInt(Math.floor(this.next() * 2 ** 30))
    return low + (value % span)
  }

  chance(probability: number): boolean {
    return this.next() < probability
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list')
    return items[Math.floor(this.next() * items.length)]!
  }

  /** One of the items, each with its weight. */
  weighted<T>(choices: readonly (readonly [number, T])[]): T {
    const total = choices.reduce((sum, [weight]) => sum + weight, 0)
    let point = this.next() * total
    for (const [weight, item] of choices) {
      point -= weight
      if (point < 0) return item
    }
    return choices[choices.length - 1]![1]
  }

  /** A copy in random order. */
  shuffle<T>(items: readonly T[]): T[] {
    const copy = [...items]
    for (let index = copy.length - 1; index > 0; index--) {
      const other = Math.floor(this.next() * (index + 1))
      ;[copy[index], copy[other]] = [copy[other]!, copy[index]!]
    }
    return copy
  }
}
