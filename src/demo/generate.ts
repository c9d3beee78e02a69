import {
  ACCOUNT_NAMES, APP_DEVICES, APP_NAME, CAMPAIGN_THEMES, CATALOG, CATEGORIES, categorySlug, COUNTRIES, COUPONS, EMAIL_DOMAINS, HOUR_WEIGHTS,
  NAMES, SITE, WEB_AGENTS, WEB_TRAFFIC, WEEKDAY_WEIGHTS, type City, type Country, type Product, type Traffic,
} from './data.js';
import { Rng } from './rng.js';

/**
 * The demo history: a pure, seeded generator of Segment-spec messages for an online shop. Profiles are
 * independent (each has its own random stream), so the history is produced one profile at a time and a million
 * profiles never sit in memory together. Nothing here reads the clock: `now` is a parameter.
 */

export interface HistoryOptions {
  profiles: number;
  days: number;
  seed: number;
  /** End of the window, epoch milliseconds or a Date; the history spans [now - days, now]. */
  now: number | Date;
}

type Props = Record<string, unknown>;

interface Common {
  messageId: string;
  timestamp: string;
  userId?: string;
  anonymousId?: string;
  context: Props;
}

/** A message as sent to /v1/import (a batch item, with its type). */
export type DemoMessage = Common &
  (
    | { type: 'track'; event: string; properties: Props }
    | { type: 'identify'; traits: Props }
    | { type: 'page'; name: string; category?: string; properties: Props }
    | { type: 'screen'; name: string; properties: Props }
    | { type: 'group'; groupId: string; traits: Props }
  );

export type ProfileKind = 'visitor' | 'new' | 'customer';

export interface DemoProfile {
  index: number;
  /** visitor: never signs up; new: signs up within the window; customer: signed up before it. */
  kind: ProfileKind;
  userId?: string;
  /** One per device the person used. */
  anonymousIds: string[];
  messages: DemoMessage[];
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

// Stream numbers keep the random sequences of profiles, campaigns and accounts apart.
const STREAM_PROFILE = 1;
const STREAM_CAMPAIGNS = 2;
const STREAM_ACCOUNT = 3;

interface Campaign {
  id: string;
  name: string;
  subject: string;
  /** UTC midnight of the send day; each person gets it at about 09:00 local time. */
  day: number;
  landing: { kind: 'category'; category: string } | { kind: 'product'; product: Product };
}

interface World {
  seed: number;
  days: number;
  now: number;
  start: number;
  runTag: string;
  campaigns: Campaign[];
  /** B2B accounts that some people belong to. */
  accounts: number;
}

/** Checks the options and derives what all profiles share. */
function worldOf(options: HistoryOptions): World {
  const now = typeof options.now === 'number' ? options.now : options.now.getTime();
  if (!Number.isFinite(now)) throw new RangeError('now must be a valid time');
  if (!Number.isInteger(options.profiles) || options.profiles < 0) throw new RangeError('profiles must be a whole number, 0 or more');
  if (!Number.isInteger(options.days) || options.days < 1) throw new RangeError('days must be a whole number, 1 or more');
  if (!Number.isSafeInteger(options.seed) || options.seed < 0) throw new RangeError('seed must be a whole number, 0 or more');
  const start = now - options.days * DAY;
  const rng = new Rng(options.seed, STREAM_CAMPAIGNS, 0);
  const campaigns: Campaign[] = [];
  for (let day = Math.floor(start / DAY) + rng.int(1, 3); day * DAY < now - DAY; day += rng.pick([3, 4, 4, 5])) {
    const [slug, name, subject] = rng.pick(CAMPAIGN_THEMES);
    const date = new Date(day * DAY).toISOString().slice(0, 10);
    const landing = rng.chance(0.5) ? { kind: 'category' as const, category: rng.pick(CATEGORIES) } : { kind: 'product' as const, product: pickProduct(rng) };
    campaigns.push({ id: `cmp_${date.replace(/-/g, '')}_${slug}`, name: `${name} ${date}`, subject, day: day * DAY, landing });
  }
  return { seed: options.seed, days: options.days, now, start, runTag: now.toString(36), campaigns, accounts: Math.max(3, Math.ceil(options.profiles / 40)) };
}

/** Every message of the history, profile after profile, each profile's messages in time order. */
export function* generateHistory(options: HistoryOptions): Generator<DemoMessage, void, undefined> {
  const world = worldOf(options);
  for (let i = 0; i < options.profiles; i++) yield* buildProfile(world, i).messages;
}

/** One profile with its messages (for tests and for sampling). */
export function generateProfile(options: HistoryOptions, index: number): DemoProfile {
  return buildProfile(worldOf(options), index);
}

/**
 * The number of messages the history holds: exact up to `exactUpTo` profiles, else estimated from an evenly
 * spread sample (for the progress bar, which is corrected once the last message is sent).
 */
export function countHistory(options: HistoryOptions, exactUpTo = 5000): { messages: number; exact: boolean } {
  const world = worldOf(options);
  if (options.profiles <= exactUpTo) {
    let messages = 0;
    for (let i = 0; i < options.profiles; i++) messages += buildProfile(world, i).messages.length;
    return { messages, exact: true };
  }
  let sampled = 0;
  const step = options.profiles / exactUpTo;
  for (let k = 0; k < exactUpTo; k++) sampled += buildProfile(world, Math.floor(k * step)).messages.length;
  return { messages: Math.round((sampled / exactUpTo) * options.profiles), exact: false };
}

// ---------------------------------------------------------------------------------------------------------------

type DeviceKind = 'desktop' | 'mobile-web' | 'ios' | 'android';

interface Device {
  kind: DeviceKind;
  anonymousId: string;
  /** Context sent with every message from this device (page context is added per message on the web). */
  context: Props;
  loggedIn: boolean;
  installed: boolean;
}

interface Account {
  groupId: string;
  domain: string;
  traits: Props;
}

interface Person {
  index: number;
  rng: Rng;
  kind: ProfileKind;
  country: Country;
  city: City;
  locale: string;
  firstName: string;
  lastName: string;
  email: string;
  phone: { e164: string; local: string };
  prefersE164: boolean;
  userId: string;
  createdAt: number;
  optIn: boolean;
  account?: Account;
  devices: Device[];
  signedUp: boolean;
  grouped: boolean;
}

interface Session {
  start: number;
  device: Device;
  traffic: Traffic;
  signup: boolean;
  /** Sessions that follow an e-mail click land where the e-mail pointed. */
  landing?: Campaign['landing'];
}

const pickProduct = (rng: Rng, category?: string): Product => {
  const pool = category ? CATALOG.filter((p) => p.category === category) : CATALOG;
  return rng.weighted(pool.map((p) => [p, p.weight] as const));
};

const stripAccents = (s: string) => s.normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/ı/g, 'i');

/** Price in the store's currency, in minor units (cents), rounded the way shops price things. */
function minorPrice(usd: number, country: Country): number {
  const local = usd * country.rate;
  if (country.currency === 'JPY') return Math.round(local / 10) * 10;
  if (country.currency === 'INR') return (Math.round(local / 10) * 10 - 1) * 100;
  return Math.round(local) * 100 - 1;
}
const decimalsOf = (country: Country) => (country.currency === 'JPY' ? 0 : 2);
const major = (minor: number, country: Country) => (decimalsOf(country) === 0 ? minor : minor / 100);

function accountOf(world: World, n: number): Account {
  const rng = new Rng(world.seed, STREAM_ACCOUNT, n);
  const name = `${rng.pick(ACCOUNT_NAMES.first)} ${rng.pick(ACCOUNT_NAMES.second)}`;
  const domain = `${stripAccents(name).toLowerCase().replace(/[^a-z0-9]+/g, '')}-${n}.example`;
  return {
    groupId: `acct_${rng.hex(10)}`,
    domain,
    traits: {
      name,
      industry: rng.pick(ACCOUNT_NAMES.industries),
      employees: rng.weighted([[rng.int(2, 20), 5], [rng.int(21, 200), 3], [rng.int(201, 2000), 1]]),
      plan: rng.weighted([['starter', 5], ['business', 3], ['enterprise', 1]]),
      website: `https://www.${domain}`,
    },
  };
}

function makeDevice(rng: Rng, kind: DeviceKind, person: { locale: string; city: City }): Device {
  const ip = `${rng.pick(['192.0.2', '198.51.100', '203.0.113'])}.${rng.int(1, 254)}`;
  const base = { locale: person.locale, timezone: person.city.timezone, ip };
  if (kind === 'desktop' || kind === 'mobile-web') {
    const userAgent = rng.pick(kind === 'desktop' ? WEB_AGENTS.desktop : WEB_AGENTS.mobile);
    return { kind, anonymousId: rng.uuid(), loggedIn: false, installed: false, context: { ...base, userAgent, library: { name: 'analytics.js', version: 'next-1.72.0' } } };
  }
  const hw = rng.pick(APP_DEVICES[kind]);
  const ios = kind === 'ios';
  return {
    kind,
    anonymousId: rng.uuid(),
    loggedIn: false,
    installed: false,
    context: {
      ...base,
      library: ios ? { name: 'analytics-ios', version: '4.1.8' } : { name: 'com.segment.analytics.kotlin', version: '1.15.2' },
      app: { name: APP_NAME, version: '3.12.0', build: ios ? '3120' : '31200', namespace: 'com.example.tandemshop' },
      device: {
        // Apps report a stable device id; identity resolution can use it to tie sessions together.
        id: ios ? rng.uuid().toUpperCase() : rng.hex(16),
        manufacturer: hw.manufacturer,
        model: hw.model,
        type: kind,
      },
      os: { name: ios ? 'iOS' : 'Android', version: hw.os },
      screen: hw.screen,
      network: { wifi: rng.chance(0.6), cellular: true },
    },
  };
}

function makePerson(world: World, index: number): Person {
  const rng = new Rng(world.seed, STREAM_PROFILE, index);
  const kind = rng.weighted<ProfileKind>([['visitor', 45], ['new', 30], ['customer', 25]]);
  const country = rng.weighted(COUNTRIES.map((c) => [c, c.weight] as const));
  const city = rng.pick(country.cities);
  const locale = rng.weighted(country.locales);
  const names = NAMES[country.names];
  const firstName = rng.pick(names.first);
  const lastName = rng.pick(names.last);
  const account = kind !== 'visitor' && rng.chance(0.1) ? accountOf(world, rng.int(0, world.accounts - 1)) : undefined;
  const local = stripAccents(`${firstName}.${lastName}`).toLowerCase().replace(/[^a-z.]/g, '');
  const style = rng.int(0, 3);
  const handle = account ? local : style === 0 ? local : style === 1 ? `${local}${rng.int(1, 99)}` : style === 2 ? `${local[0]}${local.split('.')[1]}` : `${local.replace('.', '_')}${rng.int(70, 99)}`;
  const email = `${handle}@${account ? account.domain : rng.weighted(EMAIL_DOMAINS)}`;
  const person = { locale, city };
  const deviceCount = kind === 'visitor' ? 1 : rng.weighted([[1, 60], [2, 30], [3, 10]]);
  const devices: Device[] = [];
  for (let d = 0; d < deviceCount; d++) {
    devices.push(makeDevice(rng, rng.weighted<DeviceKind>(d === 0 ? [['desktop', 45], ['mobile-web', 38], ['ios', 10], ['android', 7]] : [['desktop', 30], ['mobile-web', 25], ['ios', 25], ['android', 20]]), person));
  }
  return {
    index,
    rng,
    kind,
    country,
    city,
    locale,
    firstName,
    lastName,
    email,
    phone: country.phone(rng, city),
    prefersE164: rng.chance(0.55),
    userId: `usr_${rng.hex(16)}`,
    createdAt: kind === 'customer' ? world.start - rng.int(1, 900) * DAY - rng.int(0, DAY) : 0,
    optIn: rng.chance(0.85),
    account,
    devices,
    signedUp: kind === 'customer',
    grouped: false,
  };
}

/** A time in [lo, hi) that follows the daily and weekly rhythm in the person's time zone. */
function rhythmicTime(rng: Rng, lo: number, hi: number, offsetMinutes: number): number {
  const shift = offsetMinutes * MINUTE;
  const firstDay = Math.floor((lo + shift) / DAY);
  const lastDay = Math.floor((hi + shift) / DAY);
  for (let attempt = 0; attempt < 30; attempt++) {
    const day = rng.int(firstDay, lastDay);
    const weekday = (((day + 4) % 7) + 7) % 7; // 1970-01-01 was a Thursday
    if (!rng.chance(WEEKDAY_WEIGHTS[weekday])) continue;
    const hour = rng.weighted(HOUR_WEIGHTS.map((w, h) => [h, w] as const));
    const t = day * DAY + hour * HOUR + rng.int(0, HOUR - 1) - shift;
    if (t >= lo && t < hi) return t;
  }
  return lo + Math.floor(rng.next() * (hi - lo));
}

type MessageBody = DemoMessage extends infer M ? (M extends DemoMessage ? Omit<M, 'messageId' | 'timestamp'> : never) : never;

/** Collects a profile's messages with deterministic ids and their times. */
class Emitter {
  readonly items: { at: number; seq: number; message: DemoMessage }[] = [];
  private seq = 0;
  constructor(private readonly prefix: string) {}

  add(at: number, body: MessageBody): void {
    const message = { messageId: `${this.prefix}-${this.seq}`, timestamp: new Date(at).toISOString(), ...body } as DemoMessage;
    this.items.push({ at, seq: this.seq++, message });
  }
}

function buildProfile(world: World, index: number): DemoProfile {
  const p = makePerson(world, index);
  const { rng } = p;
  const out = new Emitter(`demo-${world.seed}-${world.runTag}-${index}`);

  // Sessions: more for customers and for longer windows; the last one starts two hours before now at the latest.
  const scale = Math.min(4, Math.max(0.2, world.days / 30)) ** 0.7;
  const count = p.kind === 'visitor' ? 1 + rng.poisson(0.7 * scale) : p.kind === 'new' ? 2 + rng.poisson(2.5 * scale) : 1 + rng.poisson(4 * scale);
  const latest = world.now - 2 * HOUR;
  const starts: number[] = [];
  for (let s = 0; s < count; s++) starts.push(rhythmicTime(rng, world.start, latest, p.city.offset));
  starts.sort((a, b) => a - b);
  const sessions: Session[] = [];
  for (const start of starts) {
    const prev = sessions[sessions.length - 1];
    // A person does not run two sessions at once: the next starts at least an hour after the previous.
    const t = prev && start < prev.start + HOUR ? prev.start + HOUR + rng.int(0, 4 * HOUR) : start;
    if (t >= latest) break;
    sessions.push({ start: t, device: pickDevice(rng, p), traffic: rng.weighted(WEB_TRAFFIC.map((x) => [x, x.weight] as const)), signup: false });
  }
  let knownFrom = p.kind === 'customer' ? world.start : Infinity;
  if (p.kind === 'new') {
    // Most sign up on their second or third visit; some on the first.
    const k = Math.min(sessions.length - 1, rng.weighted([[0, 3], [1, 4], [2, 3]]));
    sessions[k].signup = true;
    knownFrom = sessions[k].start;
  }

  // Campaign e-mails go to opted-in people who are known by then; clicks bring them back to the shop.
  if (p.optIn) {
    for (const c of world.campaigns) {
      const at = c.day + (9 * 60 - p.city.offset) * MINUTE + rng.int(0, 90 * MINUTE);
      if (at < knownFrom + 6 * HOUR || at < world.start || at >= world.now || !rng.chance(0.92)) continue;
      const click = email(out, p, world, at, c.id, c.name, c.subject, `${SITE}${landingPath(c.landing)}`, { open: 0.38, click: 0.3 });
      if (click !== undefined && click < latest && rng.chance(0.8)) {
        sessions.push({ start: click + rng.int(3, 20) * 1000, device: pickDevice(rng, p), traffic: emailTraffic(c.id), signup: false, landing: c.landing });
      }
    }
  }
  sessions.sort((a, b) => a.start - b.start);

  for (const s of sessions) {
    const outcome = renderSession(out, p, s);
    if (outcome.signedUpAt !== undefined) {
      email(out, p, world, outcome.signedUpAt + rng.int(20, 120) * 1000, 'cmp_welcome', 'Welcome series #1', `Welcome to ${APP_NAME}, ${p.firstName}!`, `${SITE}/?welcome=1`, { open: 0.6, click: 0.25 });
    }
    if (outcome.abandonedAt !== undefined && p.signedUp && p.optIn) {
      email(out, p, world, outcome.abandonedAt + 3 * HOUR + rng.int(0, 30) * MINUTE, 'cmp_abandoned_cart', 'Abandoned cart reminder', 'You left something in your cart', `${SITE}/cart`, { open: 0.45, click: 0.3 });
    }
  }

  const messages = out.items
    .filter((m) => m.at >= world.start && m.at <= world.now)
    .sort((a, b) => a.at - b.at || a.seq - b.seq)
    .map((m) => m.message);
  return {
    index,
    kind: p.kind,
    ...(p.kind !== 'visitor' ? { userId: p.userId } : {}),
    anonymousIds: p.devices.map((d) => d.anonymousId),
    messages,
  };
}

function pickDevice(rng: Rng, p: Person): Device {
  return p.devices.length === 1 || rng.chance(0.65) ? p.devices[0] : rng.pick(p.devices.slice(1));
}

const emailTraffic = (campaignId: string): Traffic => ({ weight: 0, referrer: '', utm: { source: 'newsletter', medium: 'email', name: campaignId }, landing: 'home' });

function landingPath(landing: Campaign['landing']): string {
  return landing.kind === 'category' ? `/c/${categorySlug(landing.category)}` : `/p/${landing.product.slug}`;
}

/**
 * E-mail engagement as the e-mail service reports it (server side, by userId): delivered, maybe opened, maybe
 * clicked. Returns the time of the click, if any.
 */
function email(out: Emitter, p: Person, world: World, at: number, campaignId: string, campaignName: string, subject: string, link: string, rates: { open: number; click: number }): number | undefined {
  const { rng } = p;
  const properties = { campaign_id: campaignId, campaign_name: campaignName, email_id: `em_${rng.hex(20)}`, email_subject: subject };
  const context = { library: { name: 'tandem-demo-esp', version: '1.0.0' } };
  out.add(at, { type: 'track', userId: p.userId, event: 'Email Delivered', properties, context });
  if (!rng.chance(p.account ? rates.open * 0.8 : rates.open)) return undefined;
  const opened = at + Math.round(Math.min(rng.exp(3 * HOUR), 3 * DAY)) + 5000;
  if (opened >= world.now) return undefined;
  out.add(opened, { type: 'track', userId: p.userId, event: 'Email Opened', properties, context });
  if (!rng.chance(rates.click)) return undefined;
  const clicked = opened + rng.int(5, 120) * 1000;
  const sep = link.includes('?') ? '&' : '?';
  out.add(clicked, { type: 'track', userId: p.userId, event: 'Email Link Clicked', properties: { ...properties, link_url: `${link}${sep}utm_source=newsletter&utm_medium=email&utm_campaign=${campaignId}` }, context });
  return clicked;
}

interface Outcome {
  signedUpAt?: number;
  abandonedAt?: number;
}

/** One visit: pages or screens, product views, maybe sign-up or log-in, cart, checkout and order. */
function renderSession(out: Emitter, p: Person, s: Session): Outcome {
  const { rng, country } = p;
  const d = s.device;
  const app = d.kind === 'ios' || d.kind === 'android';
  const outcome: Outcome = {};
  let t = s.start;
  let referrer = s.traffic.referrer;
  let first = true;
  const step = () => {
    t += Math.round(Math.min(Math.max(rng.exp(35_000), 2000), 6 * MINUTE));
  };
  const ids = () => ({ anonymousId: d.anonymousId, ...(d.loggedIn ? { userId: p.userId } : {}) });
  const currency = country.currency;
  const money = (minor: number) => major(minor, country);

  // The context of the current page: web messages carry the page (and the campaign on the landing page).
  let pageContext: Props = {};
  const context = (): Props => (app ? d.context : { ...d.context, ...pageContext });

  const view = (name: string, path: string, title: string, category?: string, extra: Props = {}) => {
    if (app) {
      out.add(t, { type: 'screen', ...ids(), name, properties: { ...(category ? { category } : {}), ...extra }, context: d.context });
    } else {
      const utm = first && s.traffic.utm ? s.traffic.utm : undefined;
      const search = utm ? `?utm_source=${utm.source}&utm_medium=${utm.medium}&utm_campaign=${utm.name}` : '';
      const page = { path, url: `${SITE}${path}${search}`, title: `${title} | ${APP_NAME}`, referrer, search };
      pageContext = { page, ...(utm ? { campaign: { ...utm } } : {}) };
      out.add(t, { type: 'page', ...ids(), name, ...(category ? { category } : {}), properties: { ...page, ...extra }, context: context() });
      referrer = page.url;
    }
    first = false;
    step();
  };
  const track = (event: string, properties: Props) => {
    out.add(t, { type: 'track', ...ids(), event, properties, context: context() });
    step();
  };

  if (app) {
    if (!d.installed) {
      track('Application Installed', { version: '3.12.0', build: (d.context.app as Props).build });
      d.installed = true;
    }
    track('Application Opened', { from_background: false, version: '3.12.0', ...(s.traffic.utm ? { referring_application: 'mail', url: `tandemshop://open?utm_campaign=${s.traffic.utm.name}` } : {}) });
  }

  // Landing.
  const landing = s.landing ?? (s.traffic.landing === 'product' ? { kind: 'product' as const, product: pickProduct(rng) } : s.traffic.landing === 'category' ? { kind: 'category' as const, category: rng.pick(CATEGORIES) } : undefined);
  let focus = landing?.kind === 'category' ? landing.category : landing?.kind === 'product' ? landing.product.category : rng.pick(CATEGORIES);
  const viewed: Product[] = [];
  const cart: { product: Product; quantity: number }[] = [];
  const cartId = `cart_${rng.hex(12)}`;
  const viewProduct = (product: Product) => {
    view('Product', `/p/${product.slug}`, product.name, product.category);
    track('Product Viewed', { product_id: product.id, sku: product.sku, name: product.name, category: product.category, price: money(minorPrice(product.usd, country)), currency, store_id: country.store, url: `${SITE}/p/${product.slug}` });
    viewed.push(product);
  };
  if (landing?.kind === 'product') viewProduct(landing.product);
  else if (landing?.kind === 'category') view('Category', `/c/${categorySlug(landing.category)}`, landing.category, landing.category);
  else view('Home', '/', 'Home');

  // Sign-up, or log-in on a device that is not logged in yet.
  const identify = () => {
    const e164 = rng.chance(p.prefersE164 ? 0.85 : 0.15);
    // Real data is messy: now and then the same address arrives with different capitals.
    const mail = rng.chance(0.08) ? p.email.replace(/^./, (c) => c.toUpperCase()) : p.email;
    const traits: Props = {
      email: mail,
      phone: e164 ? p.phone.e164 : p.phone.local,
      firstName: p.firstName,
      lastName: p.lastName,
      name: `${p.firstName} ${p.lastName}`,
      city: p.city.name,
      country: p.country.code,
      locale: p.locale,
      timezone: p.city.timezone,
      createdAt: new Date(p.createdAt).toISOString(),
      ...(p.account ? { company: { id: p.account.groupId, name: p.account.traits.name } } : {}),
    };
    out.add(t, { type: 'identify', anonymousId: d.anonymousId, userId: p.userId, traits, context: context() });
    step();
    if (p.account && !p.grouped) {
      out.add(t, { type: 'group', anonymousId: d.anonymousId, userId: p.userId, groupId: p.account.groupId, traits: p.account.traits, context: context() });
      p.grouped = true;
      step();
    }
  };
  if (s.signup && !p.signedUp) {
    if (rng.chance(0.5)) view('Home', '/', 'Home');
    view('Sign Up', '/signup', 'Create your account');
    p.createdAt = t;
    p.signedUp = true;
    outcome.signedUpAt = t;
    track('Signed Up', { method: rng.weighted([['email', 6], ['google', 3], ['apple', app ? 3 : 1]]), ...(s.traffic.utm ? { utm_campaign: s.traffic.utm.name } : {}) });
    d.loggedIn = true;
    identify();
  } else if (p.signedUp && !d.loggedIn) {
    view('Log In', '/login', 'Log in');
    d.loggedIn = true;
    identify();
  }

  // A third of visits end on the landing page.
  if (!s.signup && rng.chance(0.33)) return outcome;

  // Browsing: most sessions look at a few products; buyers-to-be look at more.
  const known = p.kind !== 'visitor';
  const browse = rng.poisson(known ? 2.6 : 1.8) + (landing?.kind === 'product' ? 0 : 1);
  for (let i = 0; i < browse; i++) {
    if (rng.chance(0.25)) {
      focus = rng.chance(0.7) ? focus : rng.pick(CATEGORIES);
      view('Category', `/c/${categorySlug(focus)}`, focus, focus);
    }
    viewProduct(pickProduct(rng, rng.chance(0.7) ? focus : undefined));
  }

  const addRate = p.kind === 'visitor' ? 0.06 : p.kind === 'new' ? 0.12 : 0.16;
  for (const product of viewed) {
    if (!rng.chance(addRate)) continue;
    const quantity = p.account ? rng.int(2, 10) : rng.weighted([[1, 85], [2, 12], [3, 3]]);
    cart.push({ product, quantity });
    track('Product Added', { cart_id: cartId, product_id: product.id, sku: product.sku, name: product.name, category: product.category, price: money(minorPrice(product.usd, country)), quantity, currency, store_id: country.store });
  }
  if (cart.length === 0) return outcome;

  view('Cart', '/cart', 'Your cart');
  const checkoutRate = p.kind === 'visitor' ? 0.3 : 0.5;
  if (!rng.chance(checkoutRate)) return outcome;

  const lines = cart.map(({ product, quantity }) => ({ product_id: product.id, sku: product.sku, name: product.name, category: product.category, price: money(minorPrice(product.usd, country)), quantity }));
  const subtotal = cart.reduce((sum, { product, quantity }) => sum + minorPrice(product.usd, country) * quantity, 0);
  const checkoutId = `chk_${rng.hex(12)}`;
  view('Checkout', '/checkout', 'Checkout');
  track('Checkout Started', { checkout_id: checkoutId, cart_id: cartId, value: money(subtotal), revenue: money(subtotal), currency, store_id: country.store, products: lines });

  // Orders need an account here; visitors abandon at checkout.
  const orderRate = p.kind === 'customer' ? 0.72 : 0.6;
  if (!d.loggedIn || !rng.chance(orderRate)) {
    outcome.abandonedAt = t;
    return outcome;
  }
  const coupon = rng.chance(0.2) ? rng.pick(COUPONS) : undefined;
  const discount = coupon ? Math.round(subtotal * 0.1) : 0;
  const revenue = subtotal - discount;
  const shipping = revenue >= minorPrice(75, country) ? 0 : Math.round(6 * country.rate) * 10 ** decimalsOf(country);
  const tax = Math.round(revenue * (country.code === 'US' ? 0.08 : 0));
  track('Order Completed', {
    order_id: `ord_${rng.hex(14)}`,
    checkout_id: checkoutId,
    affiliation: app ? `${APP_NAME} ${d.kind === 'ios' ? 'iOS' : 'Android'}` : `${APP_NAME} web`,
    store_id: country.store,
    currency,
    revenue: money(revenue),
    total: money(revenue + shipping + tax),
    shipping: money(shipping),
    tax: money(tax),
    discount: money(discount),
    ...(coupon ? { coupon } : {}),
    products: lines,
  });
  view('Order Confirmation', '/checkout/confirmation', 'Thank you for your order');
  return outcome;
}
