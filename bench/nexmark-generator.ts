/**
 * A seeded generator of Nexmark's event stream: people who sell and bid, auctions, and bids, in the
 * proportions and with the ids of the Nexmark benchmark's generator (the model of the Beam and
 * Flink nexmark projects' `NexmarkGenerator`; this file is written from that model's description,
 * not from their code). Same seed, same configuration → the same events in the same order, so Strata
 * and the DuckDB baseline see identical data.
 *
 * The model followed:
 * - **Kinds by event number.** Events are numbered n = 0, 1, 2, …; within each block of 50, the
 *   first is a person, the next 3 are auctions and the remaining 46 are bids (1 : 3 : 46).
 * - **Ids.** Person ids are 1000 + the number of people before this one, auction ids 1000 + the number
 *   of auctions before it: both increase by one per event of their kind. "The last person" and "the
 *   last auction" of event n are those generated at or before n.
 * - **Sellers.** 3 in 4 auctions (Nexmark's hot-sellers ratio, 4) are sold by a hot seller: the first
 *   person of the current block of 100 people; the rest by a person drawn uniformly from the last
 *   1,000 people (Nexmark's active people) and up to 10 ids beyond the last (Nexmark's person-id
 *   lead: an id that does not exist yet, as in Nexmark).
 * - **Bids.** 1 in 2 bids (the hot-auctions ratio, 2) goes to the hot auction, the first of the
 *   current block of 100 auctions; the rest to an auction drawn from the last 100 (the in-flight
 *   auctions) and up to 10 beyond (the auction-id lead). 3 in 4 bids (the hot-bidders ratio, 4) come
 *   from the hot bidder, the second person of the current block of 100 (so hot bidders are not hot
 *   sellers); the rest from a person drawn as a non-hot seller is.
 * - **Prices** (initial bid, reserve above it, bid price) are Nexmark's log-uniform cents:
 *   round(10^(6u) × 100) for u uniform in [0, 1), from $1 to $1,000,000.
 * - **Channels.** 1 in 2 bids comes through one of the hot channels (Google, Facebook, Baidu, Apple),
 *   each with a fixed URL; the rest through `channel-<k>` for k among 10,000, its URL naming k.
 * - **Text fields**: people's names from Nexmark's first- and last-name lists, cities and states from
 *   its US lists, random lower-case e-mail addresses, credit-card numbers of four groups of four
 *   digits, random item names (up to 20 letters) and descriptions (up to 100), categories 10–14.
 * - **Event time** rises by a fixed inter-event gap (`interEventGapUs`): event n's time is the
 *   start plus n gaps, truncated to the millisecond, minus a disorder drawn uniformly from
 *   0…`disorderMsMax` ms. Nexmark emits its events in time order; the disorder is ours, so the
 *   streams' watermarks matter (a source's watermark delay at least `disorderMsMax` keeps every
 *   event on time). An auction expires 1 ms to twice the time of 1,667 events (the span in which 100
 *   new auctions open: Nexmark's in-flight auctions) after its own time.
 * - **Left out**: Nexmark's `extra` padding column (it only makes events bigger) and its rate
 *   shapes (a sine or square wave of rates): the rate here is constant.
 *
 * Events are produced in batches on demand (`nextBatch`), so ten million of them never sit in memory;
 * a second generator with the same configuration replays the same stream from the start.
 *
 * @example
 * const generator = new NexmarkGenerator({ seed: 42 })
 * const { persons, auctions, bids } = generator.nextBatch(5_000)
 */
import { SeededRandom } from './support.js'

export interface Person {
  readonly id: number
  readonly name: string
  readonly email: string
  readonly credit_card: string
  readonly city: string
  readonly state: string
  readonly date_time: Date
}

export interface Auction {
  readonly id: number
  readonly item_name: string
  readonly description: string
  readonly initial_bid: number
  readonly reserve: number
  readonly date_time: Date
  readonly expires: Date
  readonly seller: number
  readonly category: number
}

export interface Bid {
  readonly auction: number
  readonly bidder: number
  readonly price: number
  readonly channel: string
  readonly url: string
  readonly date_time: Date
}

/** A run of consecutive events, split by kind (each kind in event order). */
export interface NexmarkBatch {
  /** The number of the batch's first event. */
  readonly firstEvent: number
  readonly eventCount: number
  readonly persons: readonly Person[]
  readonly auctions: readonly Auction[]
  readonly bids: readonly Bid[]
}

export interface NexmarkConfig {
  readonly seed: number
  /** Event time of event 0, in ms since the epoch (2026-01-05 12:00:00 UTC unless given). */
  readonly startMs?: number
  /** Event time between consecutive events, in µs (1,000 unless given: 1,000 events per second of event time). */
  readonly interEventGapUs?: number
  /** The most an event's time is moved back (500 ms unless given). */
  readonly disorderMsMax?: number
}

/** Nexmark's model constants, named as its generator names them. */
export const nexmarkModel = {
  personProportion: 1,
  auctionProportion: 3,
  bidProportion: 46,
  proportionDenominator: 50,
  firstPersonId: 1000,
  firstAuctionId: 1000,
  firstCategoryId: 10,
  categoryCount: 5,
  /** 1 in `hotSellersRatio` auctions is NOT from the hot seller (Nexmark: P(hot) = 1 − 1/ratio). */
  hotSellersRatio: 4,
  hotAuctionsRatio: 2,
  hotBiddersRatio: 4,
  /** Hot people and auctions are the first (second, for bidders) of each block of this many. */
  hotSellerBlock: 100,
  hotBidderBlock: 100,
  hotAuctionBlock: 100,
  activePeople: 1000,
  inFlightAuctions: 100,
  personIdLead: 10,
  auctionIdLead: 10,
  hotChannelsRatio: 2,
  channelCount: 10_000,
} as const

const firstNames = ['Peter', 'Paul', 'Luke', 'John', 'Saul', 'Vicky', 'Kate', 'Julie', 'Sarah', 'Deiter', 'Walter']
const lastNames = ['Shultz', 'Abrams', 'Spencer', 'White', 'Bartels', 'Walton', 'Smith', 'Jones', 'Noris']
const usStates = ['AZ', 'CA', 'ID', 'OR', 'WA', 'WY']
const usCities = ['Phoenix', 'Los Angeles', 'San Francisco', 'Boise', 'Portland', 'Bend', 'Redmond', 'Seattle', 'Kent', 'Cheyenne']
const hotChannels = ['Google', 'Facebook', 'Baidu', 'Apple']

const model = nexmarkModel
// The kinds' proportions must fill the block exactly, or event numbers would map to no kind.
if (model.personProportion + model.auctionProportion + model.bidProportion !== model.proportionDenominator) {
  throw new Error('Nexmark proportions do not add up to their denominator')
}

/** The kind of event `n`: its place in its block of 50. */
export function nexmarkKind(eventNumber: number): 'person' | 'auction' | 'bid' {
  const offset = eventNumber % model.proportionDenominator
  if (offset < model.personProportion) return 'person'
  if (offset < model.personProportion + model.auctionProportion) return 'auction'
  return 'bid'
}

/** The 0-based number of the last person generated at or before event `n` (−1 before the first). */
function lastPersonIndex(eventNumber: number): number {
  const epoch = Math.floor(eventNumber / model.proportionDenominator)
  const offset = Math.min(eventNumber % model.proportionDenominator, model.personProportion - 1)
  return epoch * model.personProportion + offset
}

/** The 0-based number of the last auction generated at or before event `n` (−1 before the first). */
function lastAuctionIndex(eventNumber: number): number {
  const epoch = Math.floor(eventNumber / model.proportionDenominator)
  const offset = eventNumber % model.proportionDenominator
  if (offset < model.personProportion) return epoch * model.auctionProportion - 1
  return epoch * model.auctionProportion + Math.min(offset - model.personProportion, model.auctionProportion - 1)
}

export class NexmarkGenerator {
  private readonly random: SeededRandom
  private readonly startMs: number
  private readonly interEventGapUs: number
  private readonly disorderMsMax: number
  private readonly hotUrls: readonly string[]
  private next = 0

  constructor(config: NexmarkConfig) {
    this.random = new SeededRandom(config.seed)
    this.startMs = config.startMs ?? Date.UTC(2026, 0, 5, 12, 0, 0)
    this.interEventGapUs = config.interEventGapUs ?? 1_000
    this.disorderMsMax = config.disorderMsMax ?? 500
    if (!(this.interEventGapUs > 0) || !(this.disorderMsMax >= 0)) throw new Error('NexmarkGenerator: the gap must be positive and the disorder not negative')
    this.hotUrls = hotChannels.map(() => this.baseUrl())
  }

  /** How many events were generated so far: the number of the next one. */
  get eventsGenerated(): number {
    return this.next
  }

  /** The next `count` events, split by kind. */
  nextBatch(count: number): NexmarkBatch {
    const persons: Person[] = []
    const auctions: Auction[] = []
    const bids: Bid[] = []
    const firstEvent = this.next
    for (let index = 0; index < count; index++) {
      const eventNumber = this.next++
      const kind = nexmarkKind(eventNumber)
      if (kind === 'person') persons.push(this.person(eventNumber))
      else if (kind === 'auction') auctions.push(this.auction(eventNumber))
      else bids.push(this.bid(eventNumber))
    }
    return { firstEvent, eventCount: count, persons, auctions, bids }
  }

  /** Event `n`'s time in ms before disorder: the start plus n gaps, truncated to the millisecond. */
  private timeMs(eventNumber: number): number {
    return this.startMs + Math.floor((eventNumber * this.interEventGapUs) / 1000)
  }

  private eventTime(eventNumber: number): Date {
    return new Date(this.timeMs(eventNumber) - this.random.integer(0, this.disorderMsMax))
  }

  private person(eventNumber: number): Person {
    const random = this.random
    return {
      id: model.firstPersonId + lastPersonIndex(eventNumber),
      name: `${random.pick(firstNames)} ${random.pick(lastNames)}`,
      email: `${this.letters(7, 7)}@${this.letters(5, 5)}.com`,
      credit_card: [0, 1, 2, 3].map(() => String(random.integer(0, 9999)).padStart(4, '0')).join(' '),
      city: random.pick(usCities),
      state: random.pick(usStates),
      date_time: this.eventTime(eventNumber),
    }
  }

  private auction(eventNumber: number): Auction {
    const random = this.random
    const id = model.firstAuctionId + lastAuctionIndex(eventNumber)
    // Nexmark's hot seller: with probability 1 − 1/ratio, the first person of the current block of 100.
    const seller =
      random.integer(0, model.hotSellersRatio - 1) > 0
        ? Math.floor(lastPersonIndex(eventNumber) / model.hotSellerBlock) * model.hotSellerBlock
        : this.recentPersonIndex(eventNumber)
    const initialBid = this.price()
    const dateTime = this.eventTime(eventNumber)
    // Long enough that about `inFlightAuctions` auctions are open at a time: the span of the events in
    // which that many new auctions open, and a length uniform up to twice it.
    const eventsForInFlight = Math.ceil((model.inFlightAuctions * model.proportionDenominator) / model.auctionProportion)
    const horizonMs = Math.max(1, Math.floor((eventsForInFlight * this.interEventGapUs) / 1000))
    return {
      id,
      item_name: this.letters(3, 20),
      description: this.letters(3, 100),
      initial_bid: initialBid,
      reserve: initialBid + this.price(),
      date_time: dateTime,
      expires: new Date(dateTime.getTime() + 1 + random.integer(0, 2 * horizonMs - 1)),
      seller: model.firstPersonId + seller,
      category: model.firstCategoryId + random.integer(0, model.categoryCount - 1),
    }
  }

  private bid(eventNumber: number): Bid {
    const random = this.random
    const auction =
      random.integer(0, model.hotAuctionsRatio - 1) > 0
        ? Math.floor(lastAuctionIndex(eventNumber) / model.hotAuctionBlock) * model.hotAuctionBlock
        : this.recentAuctionIndex(eventNumber)
    const bidder =
      random.integer(0, model.hotBiddersRatio - 1) > 0
        ? Math.floor(lastPersonIndex(eventNumber) / model.hotBidderBlock) * model.hotBidderBlock + 1
        : this.recentPersonIndex(eventNumber)
    const price = this.price()
    let channel: string
    let url: string
    if (random.integer(0, model.hotChannelsRatio - 1) > 0) {
      const which = random.integer(0, hotChannels.length - 1)
      channel = hotChannels[which]!
      url = this.hotUrls[which]!
    } else {
      const number = random.integer(0, model.channelCount - 1)
      channel = `channel-${number}`
      url = `${this.baseUrl()}&channel_id=${number}`
    }
    return { auction: model.firstAuctionId + auction, bidder: model.firstPersonId + bidder, price, channel, url, date_time: this.eventTime(eventNumber) }
  }

  /** A person among the last `activePeople`, or up to `personIdLead` ids beyond the last (0-based). */
  private recentPersonIndex(eventNumber: number): number {
    const people = lastPersonIndex(eventNumber) + 1
    const active = Math.min(people, model.activePeople)
    return people - active + this.random.integer(0, active + model.personIdLead - 1)
  }

  /** An auction among the last `inFlightAuctions`, or up to `auctionIdLead` ids beyond the last (0-based). */
  private recentAuctionIndex(eventNumber: number): number {
    const last = lastAuctionIndex(eventNumber)
    const lowest = Math.max(last - model.inFlightAuctions, 0)
    return lowest + this.random.integer(0, last - lowest + model.auctionIdLead)
  }

  /** Nexmark's prices: log-uniform cents from 100 to 100,000,000. */
  private price(): number {
    return Math.round(10 ** (this.random.float() * 6) * 100)
  }

  /** Lower-case letters, `lengthMin` to `lengthMax` of them. */
  private letters(lengthMin: number, lengthMax: number): string {
    const length = this.random.integer(lengthMin, lengthMax)
    let text = ''
    for (let index = 0; index < length; index++) text += String.fromCharCode(97 + this.random.integer(0, 25))
    return text
  }

  private baseUrl(): string {
    return `https://www.nexmark.com/${this.letters(5, 5)}/${this.letters(5, 5)}/${this.letters(5, 5)}/item.htm?query=1`
  }
}
