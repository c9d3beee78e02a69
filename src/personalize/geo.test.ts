import { describe, expect, it } from 'vitest';
import { GeoDatabase, ipv4ToNumber, ipv6ToBigInt } from './geo.js';

describe('GeoDatabase', () => {
  const db = GeoDatabase.fromCsv(
    ['network,country,region,city,timezone', '81.2.69.0/24,GB,ENG,London,Europe/London', '2.16.0.0/13,FR,,,', '# comment', '', '2001:db8::/32,JP,13,Tokyo,Asia/Tokyo', '10.0.0.7/32,ZZ'].join('\n'),
  );

  it('finds the range holding an address, its first and last address included', () => {
    expect(db.size).toBe(4);
    expect(db.lookup('81.2.69.0')).toEqual({ country: 'GB', region: 'ENG', city: 'London', timezone: 'Europe/London' });
    expect(db.lookup('81.2.69.255')?.country).toBe('GB');
    expect(db.lookup('81.2.70.0')).toBeUndefined();
    expect(db.lookup('81.2.68.255')).toBeUndefined();
    // 2.16.0.0/13 spans 2.16.0.0 to 2.23.255.255.
    expect(db.lookup('2.23.255.255')).toEqual({ country: 'FR' });
    expect(db.lookup('2.24.0.0')).toBeUndefined();
    expect(db.lookup('10.0.0.7')?.country).toBe('ZZ');
    expect(db.lookup('10.0.0.8')).toBeUndefined();
  });

  it('reads IPv6, IPv4-mapped addresses and ignores what is not an address', () => {
    expect(db.lookup('2001:db8:ffff:ffff:ffff:ffff:ffff:ffff')?.country).toBe('JP');
    expect(db.lookup('2001:db9::')).toBeUndefined();
    expect(db.lookup('::ffff:81.2.69.1')?.country).toBe('GB');
    expect(db.lookup('not an ip')).toBeUndefined();
  });

  it('converts addresses as the RFCs write them', () => {
    expect(ipv4ToNumber('1.2.3.4')).toBe(0x01020304);
    expect(ipv4ToNumber('255.255.255.255')).toBe(2 ** 32 - 1);
    expect(ipv6ToBigInt('::1')).toBe(1n);
    expect(ipv6ToBigInt('2001:db8::')).toBe(0x20010db8n << 96n);
    expect(ipv6ToBigInt('::ffff:1.2.3.4')).toBe(0xffff01020304n);
    expect(ipv6ToBigInt('1:2:3:4:5:6:7:8')).toBe(0x00010002000300040005000600070008n);
  });

  it('refuses a malformed line or overlapping ranges, naming the line', () => {
    expect(() => GeoDatabase.fromCsv('1.2.3.0/33,FR')).toThrow(/line 1: '1.2.3.0\/33' is not a CIDR range/);
    expect(() => GeoDatabase.fromCsv('1.2.3.0/24,FR\nbad,FR')).toThrow(/line 2/);
    expect(() => GeoDatabase.fromCsv('1.2.3.0/24')).toThrow(/line 1: expected network,country/);
    expect(() => GeoDatabase.fromCsv('1.2.0.0/16,FR\n1.2.3.0/24,DE')).toThrow(/overlap/);
  });
});
