#!/usr/bin/env node
// Runs the TypeScript sources directly (tsx), so `npm install && npm start` needs no build step.
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../src/main.ts');
await main(process.argv);
