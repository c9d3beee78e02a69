#!/usr/bin/env node
// `npm run bench -- <name>` runs bench/<name>.ts.
import { register } from 'tsx/esm/api';
import { existsSync, readdirSync } from 'node:fs';
register();
const name = process.argv[2];
const file = new URL(`../bench/${name}.ts`, import.meta.url);
if (!name || !existsSync(file)) {
  const names = readdirSync(new URL('../bench/', import.meta.url)).filter((f) => f.endsWith('.ts') && !f.startsWith('_')).map((f) => f.slice(0, -3));
  console.error(`usage: npm run bench -- <name>\nbenchmarks: ${names.join(', ')}`);
  process.exit(2);
}
const mod = await import(file.href);
await mod.run(process.argv.slice(3));
