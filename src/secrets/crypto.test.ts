import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadMasterKey, open, seal, SecretUnreadable } from './crypto.js';

const HEX = 'a'.repeat(64);

describe('master key and sealing', () => {
  it('creates a 32-byte key file readable by its owner only, and reads the same key back', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'tandem-key-')), 'master.key');
    const first = loadMasterKey({}, file);
    expect(first.created).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8').trim()).toMatch(/^[0-9a-f]{64}$/);
    const again = loadMasterKey({}, file);
    expect(again.created).toBe(false);
    expect(again.key.equals(first.key)).toBe(true);
  });

  it('prefers TANDEM_MASTER_KEY and refuses a key of the wrong length, naming where it came from', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'tandem-key-')), 'master.key');
    const fromEnv = loadMasterKey({ TANDEM_MASTER_KEY: HEX }, file);
    expect(fromEnv.key.equals(Buffer.from(HEX, 'hex'))).toBe(true);
    expect(fromEnv.origin).toBe('TANDEM_MASTER_KEY');
    expect(() => loadMasterKey({ TANDEM_MASTER_KEY: 'abcd' }, file)).toThrow(/TANDEM_MASTER_KEY: the master key must be 32 bytes/);
  });

  it('round-trips a value, and the sealed bytes do not contain it', () => {
    const key = loadMasterKey({ TANDEM_MASTER_KEY: HEX }, '/nonexistent');
    const sealed = seal(key, 'ws', 'smtp', 'p@ssw0rd-plain');
    expect(sealed.ciphertext.toString('utf8')).not.toContain('p@ssw0rd');
    expect(open(key, 'ws', 'smtp', sealed)).toBe('p@ssw0rd-plain');
  });

  it('binds a value to its workspace and name, and detects tampering and another key', () => {
    const key = loadMasterKey({ TANDEM_MASTER_KEY: HEX }, '/nonexistent');
    const sealed = seal(key, 'ws', 'smtp', 'secret-value');
    expect(() => open(key, 'other-ws', 'smtp', sealed)).toThrow(SecretUnreadable);
    expect(() => open(key, 'ws', 'other', sealed)).toThrow(/were altered/);
    const flipped = { ...sealed, ciphertext: Buffer.from(sealed.ciphertext) };
    flipped.ciphertext[0] ^= 1;
    expect(() => open(key, 'ws', 'smtp', flipped)).toThrow(/were altered/);
    const other = loadMasterKey({ TANDEM_MASTER_KEY: 'b'.repeat(64) }, '/nonexistent');
    expect(() => open(other, 'ws', 'smtp', sealed)).toThrow(new RegExp(`sealed under master key ${key.id}, but the master key from TANDEM_MASTER_KEY is ${other.id}`));
  });
});
