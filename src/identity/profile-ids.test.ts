import { describe, expect, it } from 'vitest';
import { newProfileId } from './profile-ids.js';

describe('profile ids', () => {
  it('are version 7 UUIDs that sort by the time they were made', () => {
    const times = [0, 1, 999, 1_000, Date.UTC(2026, 0, 1), Date.UTC(2026, 0, 1) + 1, Date.UTC(2100, 0, 1)];
    const ids = times.map((t) => newProfileId(t));
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect([...ids].reverse().sort()).toEqual(ids);
    expect(ids[4].replace(/-/g, '').slice(0, 12)).toBe(Date.UTC(2026, 0, 1).toString(16).padStart(12, '0'));
  });

  it('differ within one millisecond', () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => newProfileId(1_700_000_000_000)));
    expect(ids.size).toBe(10_000);
  });
});
