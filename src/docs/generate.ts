import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createApp } from '../app.js';
import { parseConfig } from '../core/config.js';
import { configurationMarkdown } from './config-markdown.js';
import { apiMarkdown, type OpenApiDocument } from './openapi-markdown.js';
import { workspaceSchema } from './workspace-schema.js';

/** The generated reference documents, keyed by their path under docs/. */
export async function generatedDocs(): Promise<Record<string, string>> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tandem-docs-'));
  const app = await createApp({ config: parseConfig({ dataDir, logLevel: 'silent' }), adminToken: 'docs', logger: pino({ level: 'silent' }) });
  try {
    await app.http.ready();
    return {
      'api.md': apiMarkdown(app.http.swagger() as unknown as OpenApiDocument),
      'configuration.md': configurationMarkdown(),
      'workspace.schema.json': `${JSON.stringify(workspaceSchema(), null, 2)}\n`,
    };
  } finally {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
