import { describe, expect, it } from 'vitest';
import { parseConfig } from './config.js';
import { parseDuration } from './duration.js';

describe('configuration', () => {
  it('fills defaults', () => {
    const c = parseConfig({});
    expect(c).toMatchObject({ port: 8080, host: '127.0.0.1', dataDir: './.tandem', collect: { maxBatchMessages: 2500, maxMessageBytes: 32768, dedupWindow: '7d' }, storage: { sync: 'full' } });
  });

  it('names the offending setting', () => {
    expect(() => parseConfig({ port: 'eighty' })).toThrow(/port must be integer/);
    expect(() => parseConfig({ collect: { maxBatchMessages: 0 } })).toThrow(/collect\.maxBatchMessages must be >= 1/);
    expect(() => parseConfig({ colect: {} })).toThrow(/colect is not a known setting/);
  });

  it('parses durations and refuses nonsense', () => {
    expect(parseDuration('7d')).toBe(7 * 86_400_000);
    expect(parseDuration('90s')).toBe(90_000);
    expect(() => parseDuration('soon', 'collect.dedupWindow')).toThrow(/collect\.dedupWindow must be a duration/);
  });
});
