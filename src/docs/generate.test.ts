import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generatedDocs } from './generate.js';

describe('reference documentation', () => {
  it('docs/api.md, docs/configuration.md and docs/workspace.schema.json are what the schemas generate (run `npm run docs` after changing a route or setting)', async () => {
    for (const [file, text] of Object.entries(await generatedDocs())) {
      expect(readFileSync(new URL(`../../docs/${file}`, import.meta.url), 'utf8'), `docs/${file} is stale`).toBe(text);
    }
  });
});
