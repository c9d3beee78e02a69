import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { lookup } from 'node:dns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DestinationGuard, DestinationRefused } from './destination-guard.js';

let hits: string[] = [];
let sink: Server;
let elsewhere: Server;
let port = 0;
let elsewherePort = 0;

beforeAll(async () => {
  sink = createServer((req, res) => {
    hits.push(`sink ${req.method} ${req.url}`);
    if (req.url === '/redirect-out') return void res.writeHead(302, { location: `http://127.0.0.2:${elsewherePort}/` }).end();
    if (req.url === '/redirect-in') return void res.writeHead(307, { location: '/ok' }).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  elsewhere = createServer((req, res) => {
    hits.push(`elsewhere ${req.url}`);
    res.writeHead(200).end('reached');
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => elsewhere.listen(0, '127.0.0.2', r));
  port = (sink.address() as AddressInfo).port;
  elsewherePort = (elsewhere.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((r) => sink.close(r));
  await new Promise((r) => elsewhere.close(r));
});

/** A resolver that answers every name with these addresses (as a DNS rebinding attacker's server would). */
const resolvingTo = (...addresses: string[]) =>
  ((_name: string, _options: unknown, callback: (e: Error | null, a: { address: string; family: number }[]) => void) =>
    callback(null, addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })))) as unknown as typeof lookup;

const post = { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' }, timeoutMs: 5000 } as const;

describe('SSRF guard', () => {
  it('refuses loopback, private and metadata addresses written in the URL, without making a request', async () => {
    hits = [];
    const guard = new DestinationGuard();
    for (const url of [`http://127.0.0.1:${port}/`, `http://[::1]:${port}/`, `http://localhost:${port}/`, `http://0x7f000001:${port}/`, 'http://169.254.169.254/latest/meta-data', 'http://10.0.0.1/', `http://[::ffff:127.0.0.1]:${port}/`]) {
      await expect(guard.fetch(url, post), url).rejects.toThrow(DestinationRefused);
    }
    expect(hits).toEqual([]);
    expect(() => guard.checkStatic(`http://127.0.0.1:${port}/hook`, 'settings.url')).toThrow(/settings.url: 127.0.0.1 is a loopback address; allow it with network.allowPrivate/);
    expect(() => guard.checkStatic('ftp://example.com/', 'settings.url')).toThrow(/only http and https/);
    expect(() => guard.checkStatic('https://hooks.example.com/x', 'settings.url')).not.toThrow();
  });

  it('checks the addresses a host name resolves to, at connect time', async () => {
    hits = [];
    const rebinding = new DestinationGuard([], resolvingTo('127.0.0.1'));
    await expect(rebinding.fetch(`http://hooks.example.com:${port}/`, post)).rejects.toThrow(/hooks.example.com resolves to 127.0.0.1 is a loopback address/);
    // One private answer among public ones is enough to refuse.
    const mixed = new DestinationGuard([], resolvingTo('93.184.216.34', '10.1.2.3'));
    await expect(mixed.fetch(`http://hooks.example.com:${port}/`, post)).rejects.toThrow(/10.1.2.3 is a private address/);
    expect(hits).toEqual([]);
    // Allow-listed: the same name reaches the loopback sink.
    const allowed = new DestinationGuard(['127.0.0.1/32'], resolvingTo('127.0.0.1'));
    const res = await allowed.fetch(`http://hooks.example.com:${port}/x`, post);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
    expect(hits).toEqual(['sink POST /x']);
  });

  it('re-checks every redirect: an allow-listed sink cannot bounce the request to another private address', async () => {
    hits = [];
    const guard = new DestinationGuard(['127.0.0.1/32']);
    await expect(guard.fetch(`http://127.0.0.1:${port}/redirect-out`, { ...post, redirect: 'follow' })).rejects.toThrow(/127.0.0.2 is a loopback address/);
    expect(hits).toEqual(['sink POST /redirect-out']);
    hits = [];
    const followed = await guard.fetch(`http://127.0.0.1:${port}/redirect-in`, { ...post, redirect: 'follow' });
    expect(followed.status).toBe(200);
    expect(hits).toEqual(['sink POST /redirect-in', 'sink POST /ok']);
    hits = [];
    const manual = await guard.fetch(`http://127.0.0.1:${port}/redirect-out`, { ...post, redirect: 'manual' });
    expect(manual.status).toBe(302);
    expect(hits).toEqual(['sink POST /redirect-out']);
  });

  it('reports network errors and timeouts as fetch does', async () => {
    const guard = new DestinationGuard(['127.0.0.1/32']);
    const closed = await new Promise<number>((r) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => r(p));
      });
    });
    const error = await guard.fetch(`http://127.0.0.1:${closed}/`, post).catch((e: unknown) => e as TypeError & { cause: { code: string } });
    expect(error).toBeInstanceOf(TypeError);
    expect((error as { cause: { code: string } }).cause.code).toBe('ECONNREFUSED');
    expect(() => new DestinationGuard(['10.0.0.0/99'])).toThrow(/network.allowPrivate\[0\].*prefix length/);
  });
});
