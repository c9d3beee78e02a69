import { readFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { TandemError } from '../core/errors.js';

/** Where an address is, as the geo database says. */
export interface GeoPlace {
  country: string;
  region?: string;
  city?: string;
  /** IANA time zone (Europe/Paris): the visitor's local time when the request does not name a zone. */
  timezone?: string;
}

interface Range<N> {
  start: N;
  end: N;
  place: GeoPlace;
}

/**
 * A local IP geolocation database: a CSV of CIDR ranges (IPv4 and IPv6), one per line,
 * `network,country,region,city,timezone` (a header line starting with `network` is skipped; region, city and
 * timezone may be empty). Ranges must not overlap (GeoLite2's country and city CSVs, joined to their locations,
 * have this shape). Lookups are a binary search: no I/O at request time.
 */
export class GeoDatabase {
  private constructor(
    private readonly v4: Range<number>[],
    private readonly v6: Range<bigint>[],
  ) {}

  static fromFile(file: string): GeoDatabase {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new TandemError('geo_database_unreadable', `personalize.geoDatabase: cannot read ${file}: ${(error as Error).message}`, 400, 'personalize.geoDatabase');
    }
    return GeoDatabase.fromCsv(text, file);
  }

  static fromCsv(text: string, origin = 'geo database'): GeoDatabase {
    const v4: Range<number>[] = [];
    const v6: Range<bigint>[] = [];
    const lines = text.split(/\r?\n/);
    lines.forEach((raw, i) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#') || (i === 0 && line.toLowerCase().startsWith('network'))) return;
      const [network, country, region, city, timezone] = line.split(',').map((s) => s.trim());
      const fail = (why: string) => new TandemError('invalid_geo_database', `${origin} line ${i + 1}: ${why}`, 400, 'personalize.geoDatabase');
      if (!country) throw fail('expected network,country[,region,city,timezone]');
      const place: GeoPlace = { country, ...(region ? { region } : {}), ...(city ? { city } : {}), ...(timezone ? { timezone } : {}) };
      const [address, bitsText] = network.split('/');
      const bits = Number(bitsText);
      if (isIPv4(address)) {
        if (!Number.isInteger(bits) || bits < 0 || bits > 32) throw fail(`'${network}' is not a CIDR range`);
        const size = 2 ** (32 - bits);
        const start = Math.floor(ipv4ToNumber(address) / size) * size;
        v4.push({ start, end: start + size - 1, place });
      } else if (isIPv6(address)) {
        if (!Number.isInteger(bits) || bits < 0 || bits > 128) throw fail(`'${network}' is not a CIDR range`);
        const size = 1n << BigInt(128 - bits);
        const start = (ipv6ToBigInt(address) / size) * size;
        v6.push({ start, end: start + size - 1n, place });
      } else throw fail(`'${network}' is not a CIDR range`);
    });
    for (const table of [v4, v6] as Range<number | bigint>[][]) {
      table.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
      for (let i = 1; i < table.length; i++) {
        if (table[i].start <= table[i - 1].end) throw new TandemError('invalid_geo_database', `${origin}: ranges overlap around ${String(table[i].start)}; each address must be in at most one range`, 400, 'personalize.geoDatabase');
      }
    }
    return new GeoDatabase(v4, v6);
  }

  get size(): number {
    return this.v4.length + this.v6.length;
  }

  lookup(ip: string): GeoPlace | undefined {
    const mapped = ip.startsWith('::ffff:') && isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
    if (isIPv4(mapped)) return find(this.v4, ipv4ToNumber(mapped));
    if (isIPv6(mapped)) return find(this.v6, ipv6ToBigInt(mapped));
    return undefined;
  }
}

function find<N extends number | bigint>(table: Range<N>[], value: N): GeoPlace | undefined {
  let lo = 0;
  let hi = table.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = table[mid];
    if (value < r.start) hi = mid - 1;
    else if (value > r.end) lo = mid + 1;
    else return r.place;
  }
  return undefined;
}

export function ipv4ToNumber(ip: string): number {
  const [a, b, c, d] = ip.split('.').map(Number);
  return ((a * 256 + b) * 256 + c) * 256 + d;
}

export function ipv6ToBigInt(ip: string): bigint {
  let text = ip.split('%')[0];
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const tail = text.match(/(\d+\.\d+\.\d+\.\d+)$/);
  if (tail) {
    const n = ipv4ToNumber(tail[1]);
    text = `${text.slice(0, -tail[1].length)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, rest] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = rest !== undefined && rest !== '' ? rest.split(':') : [];
  const groups = rest === undefined ? left : [...left, ...new Array<string>(8 - left.length - right.length).fill('0'), ...right];
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(parseInt(g, 16));
  return value;
}
