import { describe, expect, it } from 'vitest';
import { TandemError } from '../core/errors.js';
import { decodeBody } from './body.js';

const codeOf = (text: string): string => {
  try {
    decodeBody(Buffer.from(text), undefined, 1024 * 1024);
  } catch (error) {
    return (error as TandemError).code;
  }
  return 'accepted';
};

describe('decodeBody', () => {
  it('refuses prototype-poisoning keys as forbidden, and text that merely mentions "prototype" as invalid JSON', () => {
    expect(codeOf('{"__proto__":{"x":1}}')).toBe('forbidden_key');
    expect(codeOf('{"constructor":{"prototype":{"x":1}}}')).toBe('forbidden_key');
    expect(codeOf('prototype')).toBe('invalid_json');
    expect(codeOf('{"prototype": }')).toBe('invalid_json');
    expect(codeOf('{"event":"prototype"}')).toBe('accepted');
  });
});
