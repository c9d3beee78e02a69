import { describe, expect, it } from 'vitest';
import { formatAddress, inRange, nonPublicKind, parseAddress, parseRange } from './address-ranges.js';

const kind = (text: string) => nonPublicKind(parseAddress(text)!);

describe('address ranges (RFC 6890 special-purpose registries)', () => {
  it('parses IPv4 and IPv6 forms to the same numbers as their definitions', () => {
    expect(parseAddress('192.0.2.1')).toEqual({ family: 4, value: 0xc0000201n });
    expect(parseAddress('::1')).toEqual({ family: 6, value: 1n });
    expect(parseAddress('[2001:db8::1]')).toEqual({ family: 6, value: 0x20010db8000000000000000000000001n });
    expect(parseAddress('::ffff:192.0.2.1')).toEqual({ family: 6, value: 0xffffc0000201n });
    expect(parseAddress('fe80::1%eth0')).toEqual({ family: 6, value: 0xfe800000000000000000000000000001n });
    expect(parseAddress('example.com')).toBeUndefined();
    expect(parseAddress('256.1.1.1')).toBeUndefined();
    expect(formatAddress(parseAddress('10.1.2.3')!)).toBe('10.1.2.3');
  });

  it('matches CIDR ranges at their boundaries', () => {
    const r = parseRange('172.16.0.0/12');
    expect(inRange(parseAddress('172.16.0.0')!, r)).toBe(true);
    expect(inRange(parseAddress('172.31.255.255')!, r)).toBe(true);
    expect(inRange(parseAddress('172.32.0.0')!, r)).toBe(false);
    expect(inRange(parseAddress('172.15.255.255')!, r)).toBe(false);
    expect(inRange(parseAddress('fd00::1')!, parseRange('fc00::/7'))).toBe(true);
    expect(inRange(parseAddress('fe00::1')!, parseRange('fc00::/7'))).toBe(false);
    expect(() => parseRange('10.0.0.0/33')).toThrow(/prefix length/);
    expect(() => parseRange('not-an-ip/8')).toThrow(/not an IP address/);
  });

  it('names private, loopback, link-local and unique-local addresses, and leaves public ones alone', () => {
    expect(kind('127.0.0.1')).toBe('loopback');
    expect(kind('127.255.0.9')).toBe('loopback');
    expect(kind('10.20.30.40')).toBe('private');
    expect(kind('192.168.1.1')).toBe('private');
    expect(kind('172.20.0.1')).toBe('private');
    expect(kind('169.254.169.254')).toBe('link-local (cloud metadata)');
    expect(kind('0.0.0.0')).toBe('this network');
    expect(kind('100.64.0.1')).toBe('carrier-grade NAT');
    expect(kind('::1')).toBe('loopback');
    expect(kind('::')).toBe('unspecified');
    expect(kind('fd12:3456::1')).toBe('unique-local');
    expect(kind('fe80::1')).toBe('link-local');
    expect(kind('ff02::1')).toBe('multicast');
    expect(kind('8.8.8.8')).toBeUndefined();
    expect(kind('93.184.216.34')).toBeUndefined();
    expect(kind('2606:4700:4700::1111')).toBeUndefined();
  });

  it('sees through IPv6 forms that embed an IPv4 address (mapped, compatible, NAT64, 6to4)', () => {
    expect(kind('::ffff:127.0.0.1')).toBe('loopback');
    expect(kind('::ffff:7f00:1')).toBe('loopback');
    expect(kind('::10.0.0.1')).toBe('private');
    expect(kind('64:ff9b::a9fe:a9fe')).toBe('link-local (cloud metadata)');
    expect(kind('2002:c0a8:0101::1')).toBe('private');
    expect(kind('::ffff:8.8.8.8')).toBeUndefined();
  });
});
