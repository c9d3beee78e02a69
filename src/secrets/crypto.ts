import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';

/** A stored secret as it lies on disk: AES-256-GCM under the master key, bound to its workspace and name. */
export interface Sealed {
  keyId: string;
  iv: Buffer;
  tag: Buffer;
  ciphertext: Buffer;
}

export interface MasterKey {
  /** First 16 hex digits of the key's SHA-256: tells which key sealed a value without revealing the key. */
  id: string;
  key: Buffer;
  /** Where it came from, for messages: `TANDEM_MASTER_KEY` or the key file's path. */
  origin: string;
}

const KEY_BYTES = 32;

function parseKey(text: string, origin: string): MasterKey {
  const trimmed = text.trim();
  const key = /^[0-9a-f]{64}$/i.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (key.length !== KEY_BYTES) throw new Error(`${origin}: the master key must be 32 bytes, written as 64 hex digits or base64 (got ${key.length} bytes)`);
  return { id: createHash('sha256').update(key).digest('hex').slice(0, 16), key, origin };
}

/**
 * The master key: `TANDEM_MASTER_KEY` (64 hex digits or base64 of 32 bytes) when set, else the key file, created
 * with 32 random bytes and mode 0600 on first use. A key file beside the data directory protects against a copied
 * database but not against a copied directory: production installations set the variable from a secret manager.
 */
export function loadMasterKey(env: NodeJS.ProcessEnv, keyFile: string): MasterKey & { created: boolean } {
  const fromEnv = env.TANDEM_MASTER_KEY;
  if (fromEnv !== undefined && fromEnv !== '') return { ...parseKey(fromEnv, 'TANDEM_MASTER_KEY'), created: false };
  if (existsSync(keyFile)) return { ...parseKey(readFileSync(keyFile, 'utf8'), keyFile), created: false };
  writeFileSync(keyFile, `${randomBytes(KEY_BYTES).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(keyFile, 0o600);
  return { ...parseKey(readFileSync(keyFile, 'utf8'), keyFile), created: true };
}

/** Additional authenticated data: a sealed value cannot be moved to another workspace or name and still open. */
const aad = (workspaceId: string, name: string) => Buffer.from(`tandem-secret\u0000${workspaceId}\u0000${name}`, 'utf8');

export function seal(master: MasterKey, workspaceId: string, name: string, value: string): Sealed {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', master.key, iv);
  cipher.setAAD(aad(workspaceId, name));
  const ciphertext = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
  return { keyId: master.id, iv, tag: cipher.getAuthTag(), ciphertext };
}

export class SecretUnreadable extends Error {}

export function open(master: MasterKey, workspaceId: string, name: string, sealed: Sealed): string {
  if (sealed.keyId !== master.id) {
    throw new SecretUnreadable(`secret '${name}' was sealed under master key ${sealed.keyId}, but the master key from ${master.origin} is ${master.id}: start with the key it was stored under, or set the secret again`);
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', master.key, sealed.iv);
    decipher.setAAD(aad(workspaceId, name));
    decipher.setAuthTag(sealed.tag);
    return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]).toString('utf8');
  } catch {
    throw new SecretUnreadable(`secret '${name}' does not decrypt under master key ${master.id}: its stored bytes were altered`);
  }
}
