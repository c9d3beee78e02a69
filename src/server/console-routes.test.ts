import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { consoleStaleness, ensureConsoleBuilt } from './console-build.js';
import { consoleRoutes } from './console-routes.js';

const dirs: string[] = [];
const temp = () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-console-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

async function serve(dist: string, errorFile = join(dist, '..', 'build-error.log')) {
  const app = Fastify();
  await app.register((instance) => consoleRoutes(instance, { dist, errorFile }));
  app.get('/api/v1/sources', async () => ({ data: [] }));
  return app;
}

describe('console routes', () => {
  it('serves files, index.html for app paths, and leaves API paths to the API', async () => {
    const dist = join(temp(), 'dist');
    mkdirSync(join(dist, 'assets'), { recursive: true });
    writeFileSync(join(dist, 'index.html'), '<!doctype html><title>app</title>');
    writeFileSync(join(dist, 'assets', 'app-1.js'), 'console.log(1)');
    const app = await serve(dist);
    const index = await app.inject('/');
    expect([index.statusCode, index.body, index.headers['cache-control']]).toEqual([200, '<!doctype html><title>app</title>', 'no-cache']);
    expect(index.headers['content-security-policy']).toContain("default-src 'self'");
    const deep = await app.inject('/profiles/abc');
    expect([deep.statusCode, deep.body]).toEqual([200, '<!doctype html><title>app</title>']);
    const asset = await app.inject('/assets/app-1.js');
    expect([asset.statusCode, asset.body, asset.headers['cache-control']]).toEqual([200, 'console.log(1)', 'public, max-age=31536000, immutable']);
    expect((await app.inject('/assets/old-0.js')).statusCode).toBe(404);
    expect((await app.inject('/../package.json')).statusCode).not.toBe(200);
    for (const path of ['/api/v1/nothing', '/v1/nothing', '/u/x', '/metrics', '/healthz']) expect((await app.inject(path)).body).not.toContain('<title>app</title>');
    expect((await app.inject('/api/v1/sources')).json()).toEqual({ data: [] });
    await app.close();
  });

  it('serves a page naming the build failure when the console is not built', async () => {
    const root = temp();
    writeFileSync(join(root, 'build-error.log'), 'error TS2322: <nope>');
    const app = await serve(join(root, 'dist'));
    const res = await app.inject('/');
    expect(res.statusCode).toBe(503);
    expect(res.body).toContain('The Tandem console is not built');
    expect(res.body).toContain('error TS2322: &lt;nope&gt;');
    await app.close();
  });
});

describe('console build', () => {
  it('is stale when dist is missing or older than a source file', () => {
    const dir = temp();
    mkdirSync(join(dir, 'src'), { recursive: true });
    writeFileSync(join(dir, 'src', 'a.tsx'), 'x');
    expect(consoleStaleness(dir)).toBe('console/dist is missing');
    mkdirSync(join(dir, 'dist'));
    writeFileSync(join(dir, 'dist', 'index.html'), 'x');
    utimesSync(join(dir, 'src', 'a.tsx'), new Date(1_000_000), new Date(1_000_000));
    expect(consoleStaleness(dir)).toBeUndefined();
    utimesSync(join(dir, 'src', 'a.tsx'), new Date(), new Date(Date.now() + 60_000));
    expect(consoleStaleness(dir)).toBe('console/dist is older than console/src');
  });

  it('reports a failed build and never throws', async () => {
    const dir = temp();
    mkdirSync(join(dir, 'src'), { recursive: true });
    writeFileSync(join(dir, 'index.html'), '<script type="module" src="/src/missing.tsx"></script>');
    writeFileSync(join(dir, 'vite.config.ts'), 'export default { root: ' + JSON.stringify(dir) + ', logLevel: "silent" };');
    const lines: string[] = [];
    expect(await ensureConsoleBuilt((l) => lines.push(l), dir)).toBe(false);
    expect(lines[0]).toBe('console: building the web console (console/dist is missing)...');
    expect(lines[1]).toMatch(/^console: the build failed; the API starts without the console/);
  }, 30_000);
});
