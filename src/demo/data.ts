import type { Rng } from './rng.js';

/**
 * Fixed reference data for the demo shop. E-mail addresses use reserved example domains and phone numbers use
 * the fictional ranges where a country has one, so demo data can never reach a real person if a channel is
 * later pointed at it.
 */

export const SITE = 'https://shop.example.com';
export const APP_NAME = 'Tandem Shop';

export interface City {
  name: string;
  timezone: string;
  /** Offset from UTC in minutes, standard time (the demo ignores daylight saving). */
  offset: number;
  /** Telephone area code, where the number format uses one. */
  area?: string;
}

export interface Country {
  code: string;
  weight: number;
  locales: readonly (readonly [string, number])[];
  currency: string;
  /** Units of the currency per US dollar, rounded for display prices. */
  rate: number;
  store: string;
  cities: readonly City[];
  names: 'en' | 'de' | 'fr' | 'es' | 'nl' | 'pt' | 'ja' | 'in';
  /** A mobile number: E.164 and the way people write it locally. */
  phone(rng: Rng, city: City): { e164: string; local: string };
}

const nanp = (rng: Rng, city: City) => {
  // 555-0100 to 555-0199 is reserved for fiction in the North American plan.
  const line = `01${rng.digits(2)}`;
  const area = city.area ?? '212';
  return { e164: `+1${area}555${line}`, local: rng.chance(0.6) ? `(${area}) 555-${line}` : `${area}-555-${line}` };
};

export const COUNTRIES: readonly Country[] = [
  {
    code: 'US', weight: 35, locales: [['en-US', 9], ['es-US', 1]], currency: 'USD', rate: 1, store: 'store-us', names: 'en',
    cities: [
      { name: 'New York', timezone: 'America/New_York', offset: -300, area: '212' },
      { name: 'San Francisco', timezone: 'America/Los_Angeles', offset: -480, area: '415' },
      { name: 'Chicago', timezone: 'America/Chicago', offset: -360, area: '312' },
      { name: 'Austin', timezone: 'America/Chicago', offset: -360, area: '512' },
      { name: 'Seattle', timezone: 'America/Los_Angeles', offset: -480, area: '206' },
      { name: 'Boston', timezone: 'America/New_York', offset: -300, area: '617' },
    ],
    phone: nanp,
  },
  {
    code: 'GB', weight: 14, locales: [['en-GB', 1]], currency: 'GBP', rate: 0.79, store: 'store-uk', names: 'en',
    cities: [
      { name: 'London', timezone: 'Europe/London', offset: 0 },
      { name: 'Manchester', timezone: 'Europe/London', offset: 0 },
      { name: 'Edinburgh', timezone: 'Europe/London', offset: 0 },
    ],
    phone: (rng) => {
      // 07700 900000 to 900999 is Ofcom's range for drama.
      const n = rng.digits(3);
      return { e164: `+447700900${n}`, local: rng.chance(0.7) ? `07700 900${n}` : `07700900${n}` };
    },
  },
  {
    code: 'DE', weight: 10, locales: [['de-DE', 1]], currency: 'EUR', rate: 0.92, store: 'store-eu', names: 'de',
    cities: [
      { name: 'Berlin', timezone: 'Europe/Berlin', offset: 60 },
      { name: 'München', timezone: 'Europe/Berlin', offset: 60 },
      { name: 'Hamburg', timezone: 'Europe/Berlin', offset: 60 },
    ],
    phone: (rng) => {
      const n = rng.digits(8);
      return { e164: `+49151${n}`, local: rng.chance(0.5) ? `0151 ${n}` : `0151/${n.slice(0, 4)} ${n.slice(4)}` };
    },
  },
  {
    code: 'FR', weight: 7, locales: [['fr-FR', 1]], currency: 'EUR', rate: 0.92, store: 'store-eu', names: 'fr',
    cities: [
      { name: 'Paris', timezone: 'Europe/Paris', offset: 60 },
      { name: 'Lyon', timezone: 'Europe/Paris', offset: 60 },
    ],
    phone: (rng) => {
      const n = rng.digits(8);
      return { e164: `+336${n}`, local: `06 ${n.match(/../g)!.join(' ')}` };
    },
  },
  {
    code: 'ES', weight: 5, locales: [['es-ES', 1]], currency: 'EUR', rate: 0.92, store: 'store-eu', names: 'es',
    cities: [
      { name: 'Madrid', timezone: 'Europe/Madrid', offset: 60 },
      { name: 'Barcelona', timezone: 'Europe/Madrid', offset: 60 },
    ],
    phone: (rng) => {
      const n = rng.digits(8);
      return { e164: `+346${n}`, local: `6${n.slice(0, 2)} ${n.slice(2, 4)} ${n.slice(4, 6)} ${n.slice(6)}` };
    },
  },
  {
    code: 'NL', weight: 4, locales: [['nl-NL', 1]], currency: 'EUR', rate: 0.92, store: 'store-eu', names: 'nl',
    cities: [
      { name: 'Amsterdam', timezone: 'Europe/Amsterdam', offset: 60 },
      { name: 'Rotterdam', timezone: 'Europe/Amsterdam', offset: 60 },
    ],
    phone: (rng) => {
      const n = rng.digits(8);
      return { e164: `+316${n}`, local: `06-${n}` };
    },
  },
  {
    code: 'CA', weight: 6, locales: [['en-CA', 4], ['fr-CA', 1]], currency: 'CAD', rate: 1.36, store: 'store-ca', names: 'en',
    cities: [
      { name: 'Toronto', timezone: 'America/Toronto', offset: -300, area: '416' },
      { name: 'Vancouver', timezone: 'America/Vancouver', offset: -480, area: '604' },
      { name: 'Montréal', timezone: 'America/Toronto', offset: -300, area: '514' },
    ],
    phone: nanp,
  },
  {
    code: 'AU', weight: 5, locales: [['en-AU', 1]], currency: 'AUD', rate: 1.52, store: 'store-au', names: 'en',
    cities: [
      { name: 'Sydney', timezone: 'Australia/Sydney', offset: 600 },
      { name: 'Melbourne', timezone: 'Australia/Melbourne', offset: 600 },
    ],
    phone: (rng) => {
      // 0491 570 006 to 0491 570 159 is ACMA's range for fiction.
      const n = String(rng.int(106, 159));
      return { e164: `+61491570${n}`, local: `0491 570 ${n}` };
    },
  },
  {
    code: 'BR', weight: 5, locales: [['pt-BR', 1]], currency: 'BRL', rate: 5, store: 'store-br', names: 'pt',
    cities: [{ name: 'São Paulo', timezone: 'America/Sao_Paulo', offset: -180 }],
    phone: (rng) => {
      const n = rng.digits(8);
      return { e164: `+55119${n}`, local: `(11) 9${n.slice(0, 4)}-${n.slice(4)}` };
    },
  },
  {
    code: 'JP', weight: 4, locales: [['ja-JP', 1]], currency: 'JPY', rate: 150, store: 'store-jp', names: 'ja',
    cities: [
      { name: 'Tokyo', timezone: 'Asia/Tokyo', offset: 540 },
      { name: 'Osaka', timezone: 'Asia/Tokyo', offset: 540 },
    ],
    phone: (rng) => {
      const n = rng.digits(8);
      return { e164: `+8190${n}`, local: `090-${n.slice(0, 4)}-${n.slice(4)}` };
    },
  },
  {
    code: 'IN', weight: 5, locales: [['en-IN', 3], ['hi-IN', 1]], currency: 'INR', rate: 83, store: 'store-in', names: 'in',
    cities: [
      { name: 'Mumbai', timezone: 'Asia/Kolkata', offset: 330 },
      { name: 'Bengaluru', timezone: 'Asia/Kolkata', offset: 330 },
    ],
    phone: (rng) => {
      const n = rng.digits(8);
      return { e164: `+9198${n}`, local: `098${n.slice(0, 3)} ${n.slice(3)}` };
    },
  },
];

export const NAMES: Record<Country['names'], { first: readonly string[]; last: readonly string[] }> = {
  en: {
    first: ['James', 'Mary', 'Olivia', 'Liam', 'Emma', 'Noah', 'Ava', 'Ethan', 'Sophia', 'Lucas', 'Mia', 'Amelia', 'Harper', 'Benjamin', 'Chloe', 'Daniel', 'Grace', 'Jack', 'Ella', 'Henry', 'Aisha', 'Priya', 'Mohammed', 'Wei', 'Sofia', 'Mateo', 'Zoe', 'Isaac'],
    last: ['Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Wilson', 'Taylor', 'Anderson', 'Thomas', 'Moore', 'Martin', 'Lee', 'Clark', 'Patel', 'Nguyen', 'Kim', "O'Brien", 'Walker', 'Hughes', 'Evans', 'Chen'],
  },
  de: {
    first: ['Lukas', 'Leonie', 'Finn', 'Hannah', 'Jonas', 'Lea', 'Paul', 'Mia', 'Felix', 'Emma', 'Maximilian', 'Sophie', 'Jürgen', 'Anja', 'Elif', 'Can'],
    last: ['Müller', 'Schmidt', 'Schneider', 'Fischer', 'Weber', 'Meyer', 'Wagner', 'Becker', 'Schulz', 'Hoffmann', 'Koch', 'Schäfer', 'Yılmaz'],
  },
  fr: {
    first: ['Louis', 'Camille', 'Hugo', 'Chloé', 'Léa', 'Gabriel', 'Manon', 'Jules', 'Inès', 'Arthur', 'Zoé', 'Raphaël'],
    last: ['Martin', 'Bernard', 'Dubois', 'Thomas', 'Robert', 'Richard', 'Petit', 'Durand', 'Leroy', 'Moreau', 'Lefèvre', 'Benali'],
  },
  es: {
    first: ['Hugo', 'Lucía', 'Martín', 'Sofía', 'Pablo', 'María', 'Daniel', 'Paula', 'Alejandro', 'Carmen', 'Álvaro', 'Nuria'],
    last: ['García', 'Fernández', 'González', 'Rodríguez', 'López', 'Martínez', 'Sánchez', 'Pérez', 'Gómez', 'Ruiz', 'Díaz'],
  },
  nl: {
    first: ['Daan', 'Emma', 'Sem', 'Julia', 'Lucas', 'Tess', 'Milan', 'Sophie', 'Bram', 'Fleur'],
    last: ['de Jong', 'Jansen', 'de Vries', 'van den Berg', 'van Dijk', 'Bakker', 'Visser', 'Smit', 'Meijer'],
  },
  pt: {
    first: ['João', 'Maria', 'Pedro', 'Ana', 'Lucas', 'Juliana', 'Gabriel', 'Beatriz', 'Rafael', 'Larissa'],
    last: ['Silva', 'Santos', 'Oliveira', 'Souza', 'Rodrigues', 'Ferreira', 'Alves', 'Pereira', 'Lima', 'Costa'],
  },
  ja: {
    first: ['Haruto', 'Yui', 'Sota', 'Hina', 'Yuto', 'Sakura', 'Ren', 'Aoi', 'Kenji', 'Yuki'],
    last: ['Sato', 'Suzuki', 'Takahashi', 'Tanaka', 'Watanabe', 'Ito', 'Yamamoto', 'Nakamura', 'Kobayashi'],
  },
  in: {
    first: ['Aarav', 'Ananya', 'Vivaan', 'Diya', 'Arjun', 'Isha', 'Rohan', 'Priya', 'Kavya', 'Aditya'],
    last: ['Sharma', 'Verma', 'Gupta', 'Singh', 'Kumar', 'Iyer', 'Reddy', 'Nair', 'Das', 'Joshi'],
  },
};

/** Reserved example domains (RFC 2606 / 6761). */
export const EMAIL_DOMAINS: readonly (readonly [string, number])[] = [['example.com', 5], ['example.net', 3], ['example.org', 2], ['mail.example', 2], ['inbox.test', 1]];

export interface Product {
  id: string;
  sku: string;
  name: string;
  category: string;
  slug: string;
  /** List price in US dollars; converted per store. */
  usd: number;
  /** Relative popularity. */
  weight: number;
}

const CATALOG_SOURCE: readonly [string, string, number][] = [
  ['Trail Runner 2', 'Shoes', 129], ['City Sneaker', 'Shoes', 89], ['Merino Slip-On', 'Shoes', 99], ['Waterproof Hiker', 'Shoes', 169],
  ['Canvas Low-Top', 'Shoes', 59], ['Leather Chelsea Boot', 'Shoes', 189],
  ['Organic Cotton Tee', 'Apparel', 28], ['Merino Crew Sweater', 'Apparel', 98], ['Rain Shell Jacket', 'Apparel', 149], ['Everyday Chino', 'Apparel', 68],
  ['Linen Shirt', 'Apparel', 74], ['Fleece Hoodie', 'Apparel', 79], ['Running Shorts', 'Apparel', 38],
  ['Wool Beanie', 'Accessories', 24], ['Leather Belt', 'Accessories', 45], ['Canvas Tote', 'Accessories', 35], ['Polarised Sunglasses', 'Accessories', 120],
  ['Performance Socks 3-Pack', 'Accessories', 22], ['Daypack 20L', 'Accessories', 85],
  ['Ceramic Pour-Over Set', 'Home', 48], ['Linen Duvet Cover', 'Home', 160], ['Scented Candle', 'Home', 32], ['Cast Iron Skillet', 'Home', 55], ['Throw Blanket', 'Home', 89],
  ['Wireless Earbuds', 'Electronics', 129], ['Portable Speaker', 'Electronics', 79], ['Smart Water Bottle', 'Electronics', 59], ['Charging Stand', 'Electronics', 45],
  ['Daily Moisturiser', 'Beauty', 36], ['Mineral Sunscreen SPF 50', 'Beauty', 24], ['Shampoo Bar', 'Beauty', 14], ['Lip Balm Trio', 'Beauty', 12],
];

const slugOf = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

// Popularity falls off with a permuted rank, so best sellers are spread over the categories.
export const CATALOG: readonly Product[] = CATALOG_SOURCE.map(([name, category, usd], i) => ({
  id: `P${1001 + i}`,
  sku: `${category.slice(0, 3).toUpperCase()}-${String(1001 + i)}`,
  name,
  category,
  slug: slugOf(name),
  usd,
  weight: 1 / ((i * 7) % CATALOG_SOURCE.length + 1) ** 0.8,
}));

export const CATEGORIES: readonly string[] = [...new Set(CATALOG.map((p) => p.category))];
export const categorySlug = (c: string) => slugOf(c);

export const WEB_AGENTS = {
  desktop: [
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0',
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0',
  ],
  mobile: [
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
    'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36',
    'Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36',
  ],
} as const;

export interface Handset {
  manufacturer: string;
  model: string;
  os: string;
  screen: { width: number; height: number };
}

export const APP_DEVICES: Record<'ios' | 'android', readonly Handset[]> = {
  ios: [
    { manufacturer: 'Apple', model: 'iPhone16,1', os: '17.4', screen: { width: 393, height: 852 } },
    { manufacturer: 'Apple', model: 'iPhone15,2', os: '17.3', screen: { width: 393, height: 852 } },
    { manufacturer: 'Apple', model: 'iPhone14,5', os: '16.7', screen: { width: 390, height: 844 } },
  ],
  android: [
    { manufacturer: 'Google', model: 'Pixel 8', os: '14', screen: { width: 412, height: 915 } },
    { manufacturer: 'samsung', model: 'SM-S911B', os: '14', screen: { width: 360, height: 780 } },
    { manufacturer: 'OnePlus', model: 'CPH2449', os: '13', screen: { width: 412, height: 919 } },
  ],
};

export interface Traffic {
  weight: number;
  referrer: string;
  utm?: { source: string; medium: string; name: string };
  /** Where paid and referral traffic lands. */
  landing: 'home' | 'category' | 'product';
}

export const WEB_TRAFFIC: readonly Traffic[] = [
  { weight: 30, referrer: '', landing: 'home' },
  { weight: 22, referrer: 'https://www.google.com/', landing: 'category' },
  { weight: 5, referrer: 'https://www.google.com/', utm: { source: 'google', medium: 'cpc', name: 'brand_search' }, landing: 'home' },
  { weight: 5, referrer: 'https://www.google.com/', utm: { source: 'google', medium: 'cpc', name: 'shopping_feed' }, landing: 'product' },
  { weight: 7, referrer: 'https://l.instagram.com/', utm: { source: 'instagram', medium: 'paid_social', name: 'spring_lookbook' }, landing: 'product' },
  { weight: 5, referrer: 'https://l.facebook.com/', utm: { source: 'facebook', medium: 'paid_social', name: 'retargeting_cart' }, landing: 'product' },
  { weight: 4, referrer: 'https://www.tiktok.com/', utm: { source: 'tiktok', medium: 'paid_social', name: 'creator_collab' }, landing: 'product' },
  { weight: 4, referrer: 'https://www.bing.com/', landing: 'category' },
  { weight: 5, referrer: 'https://gearreviews.example/best-everyday-sneakers', landing: 'product' },
  { weight: 5, referrer: 'https://deals.example/', utm: { source: 'partner_network', medium: 'affiliate', name: 'partner_1187' }, landing: 'product' },
  { weight: 3, referrer: 'https://www.instagram.com/', landing: 'home' },
];

export const CAMPAIGN_THEMES: readonly (readonly [string, string, string])[] = [
  ['new-arrivals', 'New Arrivals', 'Just landed: this week’s new arrivals'],
  ['weekend-deals', 'Weekend Deals', 'Up to 30% off, this weekend only'],
  ['back-in-stock', 'Back in Stock', 'Your favourites are back'],
  ['staff-picks', 'Staff Picks', 'What our team is wearing this month'],
  ['free-shipping', 'Free Shipping Week', 'Free shipping on everything until Sunday'],
  ['outdoor-edit', 'The Outdoor Edit', 'Gear up for the trail'],
  ['home-refresh', 'Home Refresh', 'Small upgrades, big difference'],
  ['loyalty-bonus', 'Loyalty Bonus', 'Double points on your next order'],
];

export const ACCOUNT_NAMES = {
  first: ['Northwind', 'Blue Harbor', 'Summit', 'Redwood', 'Lumen', 'Copperleaf', 'Brightline', 'Fjord', 'Granite', 'Juniper', 'Harbor & Pine', 'Atlas'],
  second: ['Studio', 'Cafe', 'Outfitters', 'Labs', 'Hotels', 'Fitness', 'Design Co', 'Logistics', 'Clinic', 'Agency'],
  industries: ['Hospitality', 'Retail', 'Technology', 'Health & Fitness', 'Professional Services', 'Logistics'],
} as const;

export const COUPONS = ['WELCOME10', 'SPRING15', 'FREESHIP', 'LOYAL20'] as const;

/** Relative traffic by local hour (0-23): quiet at night, a lunch bump, the evening peak. */
export const HOUR_WEIGHTS: readonly number[] = [2, 1, 0.6, 0.4, 0.4, 0.6, 1.5, 3, 4.5, 5, 5, 5.5, 6.5, 6, 5, 5, 5.5, 6, 7, 8.5, 9, 8, 6, 3.5];

/** Chance of keeping a sampled day, by weekday (0 = Sunday): Sundays and Mondays busiest, Saturdays quietest. */
export const WEEKDAY_WEIGHTS: readonly number[] = [1, 0.95, 0.85, 0.85, 0.8, 0.75, 0.7];
