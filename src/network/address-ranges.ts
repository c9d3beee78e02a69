import { isIP } from 'node:net';

/** An IP address as a number: 32 bits (IPv4) or 128 bits (IPv6). */
export interface Address {
  family: 4 | 6;
  value: bigint;
}

/** A CIDR range, e.g. 10.0.0.0/8 or fc00::/7. */
export interface Range {
  family: 4 | 6;
  base: bigint;
  prefix: number;
  text: string;
}

const bits = (family: 4 | 6) => (family === 4 ? 32 : 128);

function parseV4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let out = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    out = (out << 8n) | BigInt(Number(p));
  }
  return out;
}

function parseV6(text: string): bigint | undefined {
  let s = text;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  // A trailing dotted quad (::ffff:192.0.2.1) is the last 32 bits.
  let tail: bigint | undefined;
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.', lastColon)) {
    tail = parseV4(s.slice(lastColon + 1));
    if (tail === undefined) return undefined;
    s = `${s.slice(0, lastColon + 1)}${(tail >> 16n).toString(16)}:${(tail & 0xffffn).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string) => (h === '' ? [] : h.split(':'));
  const head = groups(halves[0]);
  const rest = halves.length === 2 ? groups(halves[1]) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest];
  let out = 0n;
  for (const g of all) {
    if (!/^[0-9a-f]{1,4}$/i.test(g)) return undefined;
    out = (out << 16n) | BigInt(parseInt(g, 16));
  }
  return out;
}

/** Parses an IPv4 or IPv6 address (IPv6 may be in brackets, as in a URL's host); undefined if it is not one. */
export function parseAddress(text: string): Address | undefined {
  const t = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const kind = isIP(t);
  if (kind === 4) {
    const value = parseV4(t);
    return value === undefined ? undefined : { family: 4, value };
  }
  if (kind === 6) {
    const value = parseV6(t);
    return value === undefined ? undefined : { family: 6, value };
  }
  return undefined;
}

/** Parses `a.b.c.d/n`, `x::/n`, or a bare address (a range of one). Throws an Error naming the problem. */
export function parseRange(text: string): Range {
  const slash = text.indexOf('/');
  const address = parseAddress(slash < 0 ? text : text.slice(0, slash));
  if (!address) throw new Error(`'${text}' is not an IP address or CIDR range (e.g. 127.0.0.1/32, 10.0.0.0/8, ::1/128)`);
  const max = bits(address.family);
  const prefixText = slash < 0 ? String(max) : text.slice(slash + 1);
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!(prefix >= 0 && prefix <= max)) throw new Error(`'${text}' has an invalid prefix length (0 to ${max})`);
  const shift = BigInt(max - prefix);
  return { family: address.family, base: (address.value >> shift) << shift, prefix, text };
}

export function inRange(address: Address, range: Range): boolean {
  if (address.family !== range.family) return false;
  const shift = BigInt(bits(address.family) - range.prefix);
  return address.value >> shift === range.base >> shift;
}

/**
 * The IPv4 address an IPv6 address stands for, where it embeds one that a router or the kernel would reach:
 * IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::a.b.c.d) and 6to4 (2002:aabb:ccdd::).
 */
export function embeddedIPv4(address: Address): Address | undefined {
  if (address.family !== 6) return undefined;
  const v = address.value;
  const low32 = v & 0xffffffffn;
  if (v >> 32n === 0xffffn || (v >> 32n === 0n && low32 > 1n)) return { family: 4, value: low32 };
  if (v >> 32n === 0x0064ff9b0000000000000000n) return { family: 4, value: low32 };
  if (v >> 112n === 0x2002n) return { family: 4, value: (v >> 80n) & 0xffffffffn };
  return undefined;
}

/** Ranges that are not the public Internet: refused as destinations unless allow-listed (why each: its name). */
export const NON_PUBLIC_RANGES: { range: Range; name: string }[] = [
  ['0.0.0.0/8', 'this network'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'carrier-grade NAT'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local (cloud metadata)'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'IETF protocol assignments'],
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'benchmarking'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'],
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['fc00::/7', 'unique-local'],
  ['fe80::/10', 'link-local'],
  ['fec0::/10', 'site-local'],
  ['ff00::/8', 'multicast'],
].map(([text, name]) => ({ range: parseRange(text), name }));

/** Why an address is not public (e.g. 'loopback'), or undefined for a public address. */
export function nonPublicKind(address: Address): string | undefined {
  const v4 = embeddedIPv4(address);
  if (v4) return nonPublicKind(v4);
  return NON_PUBLIC_RANGES.find((r) => inRange(address, r.range))?.name;
}

export function formatAddress(address: Address): string {
  if (address.family === 4) return [24n, 16n, 8n, 0n].map((s) => String((address.value >> s) & 0xffn)).join('.');
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((address.value >> BigInt(i * 16)) & 0xffffn).toString(16));
  return groups.join(':');
}
