import { describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from './passwords.js';

// RFC 7914 section 12, third vector: scrypt(P = "pleaseletmein", S = "SodiumChloride", N = 16384, r = 8, p = 1, dkLen = 64).
const RFC_KEY_HEX =
  '7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887';

describe('password hashes', () => {
  it('verifies a hash built from the RFC 7914 test vector, and refuses another password', async () => {
    const stored = ['scrypt', 16384, 8, 1, Buffer.from('SodiumChloride').toString('base64'), Buffer.from(RFC_KEY_HEX, 'hex').toString('base64')].join('$');
    expect(await verifyPassword('pleaseletmein', stored)).toBe(true);
    expect(await verifyPassword('pleaseletmeim', stored)).toBe(false);
  });

  it('salts each hash and round-trips', async () => {
    const a = await hashPassword('correct horse', { N: 1024, r: 8, p: 1 });
    const b = await hashPassword('correct horse', { N: 1024, r: 8, p: 1 });
    expect(a).not.toBe(b);
    expect(a.startsWith('scrypt$1024$8$1$')).toBe(true);
    expect(await verifyPassword('correct horse', a)).toBe(true);
    expect(await verifyPassword('correct horsE', a)).toBe(false);
  });

  it('never matches a malformed stored hash', async () => {
    for (const bad of ['', 'scrypt$', 'bcrypt$1$2$3$4$5', 'scrypt$0$8$1$AA==$AA==', 'scrypt$1024$8$1$AA==$']) expect(await verifyPassword('x', bad)).toBe(false);
  });
});
