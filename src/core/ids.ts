import { createHash, randomBytes, randomUUID } from 'node:crypto';

export const newId = (): string => randomUUID();

/** A random secret of `bytes` bytes, URL-safe. */
export const newSecret = (prefix: string, bytes = 24): string => `${prefix}${randomBytes(bytes).toString('base64url')}`;

export const sha256 = (value: string): string => createHash('sha256').update(value).digest('hex');

/** Shows enough of a secret to recognise it, never enough to use it. */
export const maskSecret = (prefix: string): string => `${prefix}…`;
