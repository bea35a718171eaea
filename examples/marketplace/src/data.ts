/**
 * Bazaar Market's demo data: two sellers, three storefronts, their buyers, and about two years of
 * orders, refunds, marketplace fees and fortnightly settlements (payouts), up to the server's clock.
 *
 * Deterministic: each store's day is drawn from its own seeded PRNG (seed, store, date), so a given
 * day always has the same orders whatever "today" is, and the same clock and seed always give the same
 * data. Amounts are integer cents internally and decimal strings ("189.00") on the wire.
 *
 * Buyers (names, emails, phones, street addresses) live only in these internal records: the wire
 * records built by `wireOrder`/`wireRefund`/`wireSettlement` name every member they copy, and none of
 * them is a buyer's.
 */
import type { Order, OrderItem, Refund, Settlement } from './contract.ts'

export interface MarketplaceDataOptions {
  /** The server clock, epoch ms: history ends at this moment. Default `Date.now()`. */
  now?: number
  /** PRNG seed. Default 20250301. */
  seed?: number
}

/** mulberry32: a tiny, fast, seeded 32-bit PRNG. Returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

type Rng = () => number
const DAY = 86_400_000
/** About two years of history. */
export const HISTORY_DAYS = 730
/** Settlement periods are 14 days long, counted from this Monday. */
const SETTLEMENT_ANCHOR = Date.UTC(2024, 0, 1)
export const SETTLEMENT_DAYS = 14
/** A settlement is paid out this many days after its period ends. */
export const PAYOUT_LAG_DAYS = 3

/** Cents → "189.00" (or "-12.50"). */
export function formatAmount(cents: number): string {
  const sign = cents < 0 ? '-' : ''
  const abs = Math.abs(cents)
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`
}

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10)
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!
const between = (rng: Rng, min: number, max: number) => min + Math.floor(rng() * (max - min + 1))

// ---- stores ---------------------------------------------------------------------------------------

interface Product {
  sku: string
  title: string
  cents: number
}

export interface StoreDef {
  id: string
  owner: string
  name: string
  /** Short code used in record ids. */
  key: string
  /** Where it sells, for the consent page: "EU". */
  region: string
  currency: 'EUR' | 'GBP' | 'USD'
  ordersPerDay: number
  /** Seasonal multiplier by month (0 = January). */
  season: readonly number[]
  catalogue: readonly Product[]
  /** Marketplace fee per order: basis points of the order amount plus a fixed amount. */
  fee: { basisPoints: number; fixedCents: number }
  /** Where its buyers live, with weights. */
  countries: ReadonlyArray<readonly [Country, number]>
  /** Seeds one settlement that does not add up (an order missed by the settlement run). */
  faultySettlement?: boolean
}

type Country = 'DE' | 'FR' | 'NL' | 'AT' | 'IE' | 'IT' | 'GB' | 'US' | 'CA'

const OUTDOOR_EUR: readonly Product[] = [
  { sku: 'TENT-2P', title: 'Ridgeline 2-person tent', cents: 18900 },
  { sku: 'TENT-4P', title: 'Basecamp 4-person tent', cents: 32900 },
  { sku: 'BAG-3S', title: 'Alpine 3-season sleeping bag', cents: 11900 },
  { sku: 'MAT-AIR', title: 'Featherlite sleeping mat', cents: 6490 },
  { sku: 'LAMP-400', title: 'Trailbeam 400 headlamp', cents: 3495 },
  { sku: 'POLE-CF', title: 'Carbon trekking poles (pair)', cents: 8900 },
  { sku: 'FILT-1L', title: 'Clearflow water filter', cents: 4250 },
  { sku: 'PACK-45', title: 'Summit 45 L backpack', cents: 14900 },
  { sku: 'STOVE-MINI', title: 'Pocket gas stove', cents: 3990 },
  { sku: 'JKT-RAIN', title: 'Stormshell rain jacket', cents: 12900 },
  { sku: 'SOCK-MERINO', title: 'Merino hiking socks (3 pairs)', cents: 2990 },
  { sku: 'BOTTLE-INS', title: 'Insulated bottle 750 ml', cents: 2750 },
]
/** The same range in pounds, rounded to .99 / .00 price points. */
const OUTDOOR_GBP: readonly Product[] = OUTDOOR_EUR.map((p) => ({
  ...p,
  cents: Math.max(999, Math.round((p.cents * 0.86) / 100) * 100 - 1),
}))
const CERAMICS_USD: readonly Product[] = [
  { sku: 'MUG-SPK', title: 'Speckled stoneware mug', cents: 3200 },
  { sku: 'BOWL-RAMEN', title: 'Ramen bowl, tenmoku glaze', cents: 4800 },
  { sku: 'VASE-BUD', title: 'Bud vase trio', cents: 5600 },
  { sku: 'PLATE-DIN', title: 'Dinner plate, celadon', cents: 3800 },
  { sku: 'PLANTER-M', title: 'Medium planter with saucer', cents: 6400 },
  { sku: 'TEA-SET', title: 'Tea set for two', cents: 14500 },
  { sku: 'SPOON-REST', title: 'Spoon rest', cents: 1800 },
  { sku: 'PITCHER', title: 'Hand-thrown pitcher', cents: 8500 },
]
const SUMMER = [0.6, 0.65, 0.85, 1.05, 1.25, 1.4, 1.45, 1.35, 1.05, 0.8, 0.75, 1.0]
const GIFTS = [0.8, 0.75, 0.85, 0.9, 1.0, 0.9, 0.85, 0.9, 0.95, 1.1, 1.5, 1.8]

export const STORES: readonly StoreDef[] = [
  {
    id: 'st_sam_eu',
    owner: 'sam',
    name: "Sam's Outdoor Gear",
    key: 'eu',
    region: 'EU',
    currency: 'EUR',
    ordersPerDay: 3.2,
    season: SUMMER,
    catalogue: OUTDOOR_EUR,
    fee: { basisPoints: 800, fixedCents: 30 },
    countries: [
      ['DE', 5],
      ['FR', 3],
      ['NL', 2],
      ['AT', 1],
      ['IE', 1],
      ['IT', 2],
    ],
    faultySettlement: true,
  },
  {
    id: 'st_sam_uk',
    owner: 'sam',
    name: "Sam's Outdoor Gear UK",
    key: 'uk',
    region: 'UK',
    currency: 'GBP',
    ordersPerDay: 1.6,
    season: SUMMER,
    catalogue: OUTDOOR_GBP,
    fee: { basisPoints: 800, fixedCents: 25 },
    countries: [['GB', 1]],
  },
  {
    id: 'st_kim_us',
    owner: 'kim',
    name: "Kim's Clay Studio",
    key: 'kim',
    region: 'US',
    currency: 'USD',
    ordersPerDay: 2.2,
    season: GIFTS,
    catalogue: CERAMICS_USD,
    fee: { basisPoints: 750, fixedCents: 30 },
    countries: [
      ['US', 6],
      ['CA', 1],
    ],
    faultySettlement: true,
  },
]

// ---- buyers ---------------------------------------------------------------------------------------

/** A buyer as the marketplace knows them. None of this ever leaves Bazaar Market. */
export interface Buyer {
  id: string
  name: string
  email: string
  phone: string
  street: string
  city: string
  postcode: string
  country: Country
}

interface Locale {
  first: readonly string[]
  last: readonly string[]
  streets: readonly string[]
  cities: ReadonlyArray<readonly [string, string]>
  phone: string
  /** House number before the street ("27 Acacia Avenue") or after it ("Lindenstraße 14"). */
  numberFirst: boolean
}

const EU_FIRST = ['Lena', 'Jonas', 'Marie', 'Lukas', 'Sophie', 'Elias', 'Clara', 'Felix', 'Greta', 'Anton']
const LOCALES: Record<Country, Locale> = {
  DE: {
    first: EU_FIRST,
    last: ['Schneider', 'Fischer', 'Weber', 'Hofmann', 'Becker', 'Wagner', 'Krüger'],
    streets: ['Lindenstraße', 'Bergstraße', 'Schillerstraße', 'Gartenweg', 'Am Mühlbach'],
    cities: [
      ['Berlin', '10969'],
      ['München', '80331'],
      ['Hamburg', '20095'],
      ['Leipzig', '04109'],
    ],
    phone: '+49 151',
    numberFirst: false,
  },
  FR: {
    first: ['Chloé', 'Hugo', 'Léa', 'Louis', 'Camille', 'Arthur', 'Manon'],
    last: ['Dubois', 'Lefèvre', 'Moreau', 'Laurent', 'Girard', 'Fontaine'],
    streets: ['rue des Lilas', 'avenue Victor Hugo', 'rue du Moulin', 'boulevard Voltaire'],
    cities: [
      ['Lyon', '69002'],
      ['Paris', '75011'],
      ['Nantes', '44000'],
    ],
    phone: '+33 6',
    numberFirst: true,
  },
  NL: {
    first: ['Sanne', 'Daan', 'Fleur', 'Bram', 'Lotte', 'Jesse'],
    last: ['de Vries', 'Jansen', 'Bakker', 'Visser', 'Smit'],
    streets: ['Keizersgracht', 'Dorpsstraat', 'Molenweg', 'Prinsenstraat'],
    cities: [
      ['Amsterdam', '1017 AB'],
      ['Utrecht', '3511 LN'],
    ],
    phone: '+31 6',
    numberFirst: false,
  },
  AT: {
    first: EU_FIRST,
    last: ['Gruber', 'Huber', 'Steiner', 'Moser', 'Leitner'],
    streets: ['Mozartgasse', 'Hauptplatz', 'Lerchenfelder Straße'],
    cities: [
      ['Wien', '1070'],
      ['Graz', '8010'],
    ],
    phone: '+43 664',
    numberFirst: false,
  },
  IE: {
    first: ['Aoife', 'Cian', 'Niamh', 'Oisín', 'Saoirse', 'Darragh'],
    last: ['Murphy', "O'Brien", 'Byrne', 'Walsh', 'Kavanagh'],
    streets: ['Harbour Road', 'Church Street', 'Seaview Terrace'],
    cities: [
      ['Dublin', 'D02 X285'],
      ['Galway', 'H91 E2K3'],
    ],
    phone: '+353 87',
    numberFirst: true,
  },
  IT: {
    first: ['Giulia', 'Matteo', 'Chiara', 'Lorenzo', 'Francesca', 'Davide'],
    last: ['Rossi', 'Bianchi', 'Romano', 'Colombo', 'Ricci'],
    streets: ['Via Roma', 'Via Garibaldi', 'Corso Vittorio Emanuele'],
    cities: [
      ['Milano', '20121'],
      ['Torino', '10123'],
      ['Bologna', '40121'],
    ],
    phone: '+39 347',
    numberFirst: false,
  },
  GB: {
    first: ['Oliver', 'Amelia', 'Harry', 'Isla', 'George', 'Poppy', 'Alfie', 'Freya', 'Charlie', 'Evie'],
    last: ['Thompson', 'Hughes', 'Patel', 'Clarke', 'Evans', 'Robinson', 'Wright', 'Price'],
    streets: ['Acacia Avenue', 'Mill Lane', 'Station Road', 'Church Lane', 'Victoria Terrace'],
    cities: [
      ['Leeds', 'LS6 2AB'],
      ['Bristol', 'BS1 4DJ'],
      ['Manchester', 'M1 2WD'],
      ['Edinburgh', 'EH1 1YZ'],
    ],
    phone: '+44 7700',
    numberFirst: true,
  },
  US: {
    first: ['Emily', 'Jacob', 'Madison', 'Ethan', 'Olivia', 'Mason', 'Abigail', 'Logan', 'Harper', 'Caleb'],
    last: ['Johnson', 'Rodriguez', 'Miller', 'Nguyen', 'Anderson', 'Ramirez', 'Brooks', 'Sullivan'],
    streets: ['Maple Street', 'Oak Avenue', 'Pine Ridge Road', 'Cedar Lane', 'Willow Court'],
    cities: [
      ['Portland, OR', '97205'],
      ['Austin, TX', '78701'],
      ['Boston, MA', '02108'],
      ['Denver, CO', '80202'],
    ],
    phone: '+1 503',
    numberFirst: true,
  },
  CA: {
    first: ['Liam', 'Chloe', 'Owen', 'Maya', 'Nathan'],
    last: ['Tremblay', 'MacDonald', 'Gagnon', 'Campbell'],
    streets: ['Queen Street West', 'Maple Crescent', 'Lakeshore Drive'],
    cities: [
      ['Toronto, ON', 'M5H 2N2'],
      ['Vancouver, BC', 'V6B 1A1'],
    ],
    phone: '+1 604',
    numberFirst: true,
  },
}
const MAIL_DOMAINS = ['mail.example', 'post.example', 'inbox.example']

/** "Chloé O'Brien" → "chloe.obrien". */
const mailbox = (name: string) =>
  name
    .normalize('NFKD')
    .replace(/ß/g, 'ss')
    .replace(/[^\p{L}\p{N} ]/gu, '')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .trim()
    .replace(/\s+/g, '.')

const BUYERS_PER_STORE = 48

function seedBuyers(rng: Rng, store: StoreDef, index: number): Buyer[] {
  const total = store.countries.reduce((n, [, w]) => n + w, 0)
  const seen = new Set<string>()
  const out: Buyer[] = []
  for (let i = 0; out.length < BUYERS_PER_STORE && i < BUYERS_PER_STORE * 20; i++) {
    let roll = rng() * total
    let country = store.countries[0]![0]
    for (const [c, w] of store.countries) {
      roll -= w
      if (roll < 0) {
        country = c
        break
      }
    }
    const l = LOCALES[country]
    const name = `${pick(rng, l.first)} ${pick(rng, l.last)}`
    const number = between(rng, 1, 180)
    const streetName = pick(rng, l.streets)
    const [city, postcode] = pick(rng, l.cities)
    // Buyers are people, not store pairs: the same name twice in one store would be one buyer.
    if (seen.has(name)) continue
    seen.add(name)
    out.push({
      id: `buy_${index}_${String(out.length + 1).padStart(3, '0')}`,
      name,
      email: `${mailbox(name)}${between(rng, 1, 99)}@${pick(rng, MAIL_DOMAINS)}`,
      phone: `${l.phone} ${between(rng, 100, 999)} ${between(rng, 1000, 9999)}`,
      street: l.numberFirst ? `${number} ${streetName}` : `${streetName} ${number}`,
      city,
      postcode,
      country,
    })
  }
  return out
}

// ---- orders, refunds, settlements ----------------------------------------------------------------

/** An order as the marketplace keeps it, buyer included. */
export interface OrderRow {
  id: string
  storeId: string
  at: number
  orderedAt: string
  items: OrderItem[]
  cents: number
  feeCents: number
  buyer: Buyer
  /** `paid`, `shipped`, `delivered`, `partially_refunded` or `refunded`, as of the data's clock. */
  status: string
}

export interface RefundRow {
  id: string
  storeId: string
  orderId: string
  at: number
  refundedAt: string
  cents: number
  reason: string
}

export interface SettlementRow {
  id: string
  storeId: string
  periodStart: string
  periodEnd: string
  grossCents: number
  refundCents: number
  feeCents: number
  netCents: number
  payoutDate: string
  /** Seeded fault: this order is missing from the settlement (never on the wire). */
  missedOrderId?: string
}

const FULL_REASONS = ['not_as_described', 'damaged_in_transit', 'changed_mind', 'arrived_late']
const PARTIAL_REASONS = ['damaged_in_transit', 'missing_item', 'goodwill']

/** Knuth's Poisson draw: how many orders a day brings. */
function poisson(rng: Rng, lambda: number): number {
  const limit = Math.exp(-lambda)
  let k = 0
  let p = rng()
  while (p > limit) {
    k++
    p *= rng()
  }
  return k
}

function draftDay(
  rng: Rng,
  store: StoreDef,
  buyers: readonly Buyer[],
  day: number,
): Array<{ order: Omit<OrderRow, 'status'>; refund?: RefundRow }> {
  const date = new Date(day)
  const weekend = date.getUTCDay() === 0 || date.getUTCDay() === 6
  const lambda = store.ordersPerDay * store.season[date.getUTCMonth()]! * (weekend ? 1.25 : 0.9)
  const count = poisson(rng, lambda)
  const times = Array.from({ length: count }, () => between(rng, 6 * 3600, 23 * 3600 + 3599) * 1000).sort(
    (a, b) => a - b,
  )
  const stamp = isoDay(day).replace(/-/g, '')
  return times.map((t, i) => {
    const lines = rng() < 0.7 ? 1 : rng() < 0.75 ? 2 : 3
    const products = new Set<Product>()
    while (products.size < lines) products.add(pick(rng, store.catalogue))
    const items: OrderItem[] = [...products].map((p) => ({
      sku: p.sku,
      title: p.title,
      quantity: rng() < 0.85 ? 1 : rng() < 0.8 ? 2 : 3,
      unit_price: formatAmount(p.cents),
    }))
    const cents = items.reduce((sum, it) => sum + it.quantity * Math.round(Number(it.unit_price) * 100), 0)
    const at = day + t
    const id = `ord_${store.key}_${stamp}_${String(i + 1).padStart(2, '0')}`
    const order = {
      id,
      storeId: store.id,
      at,
      orderedAt: new Date(at).toISOString(),
      items,
      cents,
      feeCents: Math.round((cents * store.fee.basisPoints) / 10_000) + store.fee.fixedCents,
      buyer: pick(rng, buyers),
    }
    if (rng() >= 0.05) return { order }
    const full = rng() < 0.65
    const oneLine = items.length > 1 || items[0]!.quantity > 1
    const refundCents = full
      ? cents
      : oneLine
        ? Math.round(Number(items[items.length - 1]!.unit_price) * 100)
        : Math.round(cents * 0.3)
    const refundAt = at + between(rng, 2, 21) * DAY + between(rng, -4, 4) * 3_600_000
    return {
      order,
      refund: {
        id: `ref_${store.key}_${stamp}_${String(i + 1).padStart(2, '0')}`,
        storeId: store.id,
        orderId: id,
        at: refundAt,
        refundedAt: new Date(refundAt).toISOString(),
        cents: refundCents,
        reason: pick(rng, full ? FULL_REASONS : PARTIAL_REASONS),
      },
    }
  })
}

/** A store's day has its own PRNG stream: the same day always has the same orders. */
const dayRng = (seed: number, storeIndex: number, day: number) =>
  mulberry32((seed + Math.floor(day / DAY) * 2_654_435_761 + storeIndex * 40_503) >>> 0)

// ---- listing --------------------------------------------------------------------------------------

interface Keyed {
  key: string
  id: string
}

/** (key, id) order: the order every listing answers in, newest first. */
const less = (a: Keyed, b: Keyed) => a.key < b.key || (a.key === b.key && a.id < b.id)

/** Number of rows (ascending) strictly less than `bound`. */
function countBelow(rows: readonly Keyed[], bound: Keyed): number {
  let lo = 0
  let hi = rows.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (less(rows[mid]!, bound)) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** One page: rows whose key falls on `from`..`to` (dates, inclusive), newest first, after `before`. */
function page<T extends Keyed>(
  rows: readonly T[],
  q: { from: string; to: string; before?: { at: string; id: string } | undefined; limit: number },
): T[] {
  // A date-time key "2026-03-01T10:00:00Z" sorts after "2026-03-01" and before "2026-03-01\uffff".
  let end = countBelow(rows, { key: `${q.to}\uffff`, id: '' })
  if (q.before) end = Math.min(end, countBelow(rows, { key: q.before.at, id: q.before.id }))
  const out: T[] = []
  for (let i = end - 1; i >= 0 && out.length < q.limit; i--) {
    const row = rows[i]!
    if (row.key < q.from) break
    out.push(row)
  }
  return out
}

// ---- wire records ---------------------------------------------------------------------------------

/** An order as it may leave the marketplace: every member named, no buyer. */
export function wireOrder(o: OrderRow, currency: string): Required<Order> {
  return {
    id: o.id,
    store_id: o.storeId,
    ordered_at: o.orderedAt,
    items: o.items.map((it) => ({ ...it })),
    amount: formatAmount(o.cents),
    currency,
    status: o.status,
    ship_to_country: o.buyer.country,
  }
}

export function wireRefund(r: RefundRow, currency: string): Required<Refund> {
  return {
    id: r.id,
    store_id: r.storeId,
    refunded_at: r.refundedAt,
    order_id: r.orderId,
    amount: formatAmount(r.cents),
    currency,
    reason: r.reason,
  }
}

export function wireSettlement(s: SettlementRow, currency: string): Required<Settlement> {
  return {
    id: s.id,
    store_id: s.storeId,
    period_start: s.periodStart,
    period_end: s.periodEnd,
    gross_sales: formatAmount(s.grossCents),
    refunds: formatAmount(s.refundCents),
    fees: formatAmount(s.feeCents),
    net_payout: formatAmount(s.netCents),
    payout_date: s.payoutDate,
    currency,
  }
}

// ---- the data set ---------------------------------------------------------------------------------

export interface ListQuery {
  subject: string
  storeId: string
  /** UTC dates, inclusive. */
  from: string
  to: string
  before?: { at: string; id: string } | undefined
  limit: number
}

export interface MarketplaceData {
  /** The clock the history ends at. */
  now: number
  today: string
  firstDay: string
  storesOf(subject: string): StoreDef[]
  /** Every seeded buyer, in every store (tests scan responses for them). */
  buyers: readonly Buyer[]
  /** The internal rows of a store, oldest first (tests and reconciliation checks). */
  rows(storeId: string): {
    orders: readonly OrderRow[]
    refunds: readonly RefundRow[]
    settlements: readonly SettlementRow[]
  }
  /** One page of wire records, newest first; `[]` for a store the subject does not own. */
  settlements(q: ListQuery): Array<Required<Settlement>>
  orders(q: ListQuery): Array<Required<Order>>
  refunds(q: ListQuery): Array<Required<Refund>>
}

/** Build Bazaar Market's demo stores, buyers and sales (the sellers' logins are in `users.ts`). */
export function createMarketplaceData(options: MarketplaceDataOptions = {}): MarketplaceData {
  const now = options.now ?? Date.now()
  if (!Number.isFinite(now)) throw new TypeError('now must be epoch milliseconds')
  const seed = options.seed ?? 20250301
  const todayStart = Math.floor(now / DAY) * DAY
  const first = todayStart - (HISTORY_DAYS - 1) * DAY

  const buyers: Buyer[] = []
  const byStore = new Map<
    string,
    {
      store: StoreDef
      orders: OrderRow[]
      refunds: RefundRow[]
      settlements: SettlementRow[]
      keyed: {
        orders: Array<OrderRow & Keyed>
        refunds: Array<RefundRow & Keyed>
        settlements: Array<SettlementRow & Keyed>
      }
    }
  >()

  STORES.forEach((store, index) => {
    const storeBuyers = seedBuyers(mulberry32(seed ^ (0x5eed + index * 7919)), store, index + 1)
    buyers.push(...storeBuyers)
    const orders: OrderRow[] = []
    const refunds: RefundRow[] = []
    for (let day = first; day <= todayStart; day += DAY) {
      for (const { order, refund } of draftDay(dayRng(seed, index, day), store, storeBuyers, day)) {
        // The day so far: nothing after the clock.
        if (order.at > now) continue
        const refunded = refund && refund.at <= now ? refund : undefined
        if (refunded) refunds.push(refunded)
        const age = now - order.at
        const status = refunded
          ? refunded.cents === order.cents
            ? 'refunded'
            : 'partially_refunded'
          : age < DAY
            ? 'paid'
            : age < 4 * DAY
              ? 'shipped'
              : 'delivered'
        orders.push({ ...order, status })
      }
    }
    refunds.sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : 1))

    // Fortnightly settlements of every period that ended before today and lies within the history.
    const settlements: SettlementRow[] = []
    const firstPeriod = Math.ceil((first - SETTLEMENT_ANCHOR) / (SETTLEMENT_DAYS * DAY))
    for (let k = firstPeriod; ; k++) {
      const start = SETTLEMENT_ANCHOR + k * SETTLEMENT_DAYS * DAY
      const end = start + (SETTLEMENT_DAYS - 1) * DAY
      if (end >= todayStart) break
      const within = <T extends { at: number }>(xs: T[]) =>
        xs.filter((x) => x.at >= start && x.at < end + DAY)
      const periodOrders = within(orders)
      const grossCents = periodOrders.reduce((n, o) => n + o.cents, 0)
      const feeCents = periodOrders.reduce((n, o) => n + o.feeCents, 0)
      const refundCents = within(refunds).reduce((n, r) => n + r.cents, 0)
      settlements.push({
        id: `stl_${store.key}_${isoDay(end).replace(/-/g, '')}`,
        storeId: store.id,
        periodStart: isoDay(start),
        periodEnd: isoDay(end),
        grossCents,
        refundCents,
        feeCents,
        netCents: grossCents - refundCents - feeCents,
        payoutDate: isoDay(end + PAYOUT_LAG_DAYS * DAY),
      })
    }
    // The seeded fault: the third most recent settlement missed the last order of its period.
    const faulty = store.faultySettlement ? settlements[settlements.length - 3] : undefined
    if (faulty) {
      const start = Date.parse(`${faulty.periodStart}T00:00:00Z`)
      const end = Date.parse(`${faulty.periodEnd}T00:00:00Z`) + DAY
      const missed = orders.filter((o) => o.at >= start && o.at < end).at(-1)
      if (missed) {
        faulty.grossCents -= missed.cents
        faulty.feeCents -= missed.feeCents
        faulty.netCents = faulty.grossCents - faulty.refundCents - faulty.feeCents
        faulty.missedOrderId = missed.id
      }
    }
    byStore.set(store.id, {
      store,
      orders,
      refunds,
      settlements,
      keyed: {
        orders: orders.map((o) => ({ ...o, key: o.orderedAt })),
        refunds: refunds.map((r) => ({ ...r, key: r.refundedAt })),
        settlements: settlements.map((s) => ({ ...s, key: s.periodEnd })),
      },
    })
  })

  const owned = (q: ListQuery) => {
    const entry = byStore.get(q.storeId)
    return entry && entry.store.owner === q.subject && q.from <= q.to && q.limit > 0 ? entry : undefined
  }
  // Wire records are built member by member from the keyed rows: nothing else is copied.
  const strip = <T extends Keyed>(row: T): Omit<T, 'key'> => {
    const { key: _key, ...rest } = row
    return rest
  }

  return {
    now,
    today: isoDay(todayStart),
    firstDay: isoDay(first),
    storesOf: (subject) => STORES.filter((s) => s.owner === subject),
    buyers,
    rows(storeId) {
      const e = byStore.get(storeId)
      return e
        ? { orders: e.orders, refunds: e.refunds, settlements: e.settlements }
        : { orders: [], refunds: [], settlements: [] }
    },
    settlements(q) {
      const e = owned(q)
      return e ? page(e.keyed.settlements, q).map((s) => wireSettlement(strip(s), e.store.currency)) : []
    },
    orders(q) {
      const e = owned(q)
      return e ? page(e.keyed.orders, q).map((o) => wireOrder(strip(o), e.store.currency)) : []
    },
    refunds(q) {
      const e = owned(q)
      return e ? page(e.keyed.refunds, q).map((r) => wireRefund(strip(r), e.store.currency)) : []
    },
  }
}
