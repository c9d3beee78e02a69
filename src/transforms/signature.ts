import { createHmac, timingSafeEqual } from 'node:crypto';
import { environmentSecrets, readSecret, type SecretSource } from '../secrets/reference.js';
import { TandemError, unauthorized } from '../core/errors.js';
import type { FunctionSignature } from './function-definition.js';

/** The digest a sender computes: HMAC of the raw body with the shared secret, hex or base64, after an optional prefix. */
export function signBody(body: Buffer | string, secret: string, sig: Pick<FunctionSignature, 'algorithm' | 'encoding' | 'prefix'>): string {
  return `${sig.prefix ?? ''}${createHmac(sig.algorithm ?? 'sha256', secret).update(body).digest(sig.encoding ?? 'hex')}`;
}

/** Refuses (401) a webhook request whose signature header is missing or does not match, in constant time. */
export function verifySignature(body: Buffer, headers: Record<string, string | string[] | undefined>, sig: FunctionSignature, workspaceId: string, secrets: SecretSource = environmentSecrets()): void {
  let secret: string | undefined;
  try {
    secret = readSecret(sig.secret, secrets, workspaceId, 'signature.secret');
  } catch (error) {
    throw new TandemError('signature_unavailable', `${(error as Error).message}; the webhook cannot be verified`, 503);
  }
  const name = sig.header.toLowerCase();
  const sent = headers[name];
  const value = Array.isArray(sent) ? sent[0] : sent;
  if (!value) throw unauthorized(`the ${sig.header} header is missing: this webhook requires a signature`);
  const expected = Buffer.from(signBody(body, secret!, sig));
  const actual = Buffer.from(value.trim());
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) throw unauthorized(`the ${sig.header} header does not match the body's HMAC-${(sig.algorithm ?? 'sha256').toUpperCase()}`);
}
