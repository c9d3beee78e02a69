// `npm run docs`: regenerates the reference documents in docs/ from the schemas.
import { writeFileSync } from 'node:fs';
import { generatedDocs } from '../src/docs/generate.js';

for (const [file, text] of Object.entries(await generatedDocs())) {
  writeFileSync(new URL(`../docs/${file}`, import.meta.url), text);
  process.stdout.write(`wrote docs/${file}\n`);
}
