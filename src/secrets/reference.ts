import { Type, type Static } from '@sinclair/typebox';
import { SecretUnreadable } from './crypto.js';

/**
 * A secret by reference, never inline: an environment variable of the server (`{ "env": "SMTP_PASSWORD" }`) or a
 * secret stored encrypted in the workspace (`{ "secret": "smtp-password" }`, set with PUT /api/v1/secrets/<name>).
 */
export const SecretRef = Type.Union(
  [
    Type.Object({ env: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'Name of the environment variable holding the secret.' }) }, { additionalProperties: false }),
    Type.Object({ secret: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,100}$', description: 'Name of a secret stored in the workspace (PUT /api/v1/secrets/<name>), encrypted at rest.' }) }, { additionalProperties: false }),
  ],
  { description: 'A secret by reference: `{ "env": "SMTP_PASSWORD" }` or `{ "secret": "smtp-password" }`. Inline secrets are refused.' },
);
export type SecretRef = Static<typeof SecretRef>;

/** Where references are read at send time: the server's environment and the workspace's stored secrets. */
export interface SecretSource {
  env: NodeJS.ProcessEnv;
  /** A stored secret's value (undefined when not set); throws SecretUnreadable when it cannot be decrypted. */
  stored(workspaceId: string, name: string): string | undefined;
}

/** Environment variables only (command-line tools, tests of one channel). */
export const environmentSecrets = (env: NodeJS.ProcessEnv = process.env): SecretSource => ({ env, stored: () => undefined });

/** A referenced secret that is not available now: a configuration error, retried (the variable or secret may be set later). */
export class SecretMissing extends Error {}

/** Reads a referenced secret at send time; `path` names the setting in messages. */
export function readSecret(ref: SecretRef | undefined, source: SecretSource, workspaceId: string, path: string): string | undefined {
  if (ref === undefined) return undefined;
  if ('env' in ref) {
    const value = source.env[ref.env];
    if (value === undefined || value === '') throw new SecretMissing(`${path}: environment variable ${ref.env} is not set`);
    return value;
  }
  let value: string | undefined;
  try {
    value = source.stored(workspaceId, ref.secret);
  } catch (error) {
    if (error instanceof SecretUnreadable) throw new SecretMissing(`${path}: ${error.message}`);
    throw error;
  }
  if (value === undefined) throw new SecretMissing(`${path}: secret '${ref.secret}' is not set (PUT /api/v1/secrets/${ref.secret})`);
  return value;
}
