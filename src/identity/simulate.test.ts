import { describe, expect, it } from 'vitest';
import type { Message } from '../collect/message.js';
import { compileIdentityRules, defaultIdentityRules } from './rules.js';
import { simulateRules, type SimulatedEvent } from './simulate.js';

const T = '2026-01-01T00:00:00.000Z';
const event = (id: number, fields: Partial<Message>): SimulatedEvent => ({
  id,
  message: { type: 'track', event: 'E', messageId: `m${id}`, context: {}, integrations: {}, timestamp: T, receivedAt: T, ...fields },
});
const device = (id: string) => ({ device: { id } });

describe('simulateRules', () => {
  // A kiosk used by two people: under user_id limit 1 they stay apart (one conflict); under limit 2 they merge.
  const kiosk = [
    event(1, { userId: 'alice', context: device('kiosk') }),
    event(2, { userId: 'bob', context: device('kiosk') }),
    event(3, { anonymousId: 'a1', context: device('kiosk') }),
  ];

  it('reports no change when the candidate rules are the rules in force', () => {
    const r = simulateRules(kiosk, defaultIdentityRules(), defaultIdentityRules());
    expect(r).toEqual({
      events: 3,
      current: { profiles: 2, conflicts: 1 },
      candidate: { profiles: 2, conflicts: 1 },
      unchanged: 2,
      identifiersChanged: 0,
      merges: { profiles: 0, into: 0 },
      splits: { profiles: 0, into: 0 },
      affectedGroups: 0,
      affected: [],
    });
  });

  it('reports the profiles a looser limit would merge, with their identifiers and stored ids', () => {
    const stored = new Map([[1, 'P-alice'], [2, 'P-bob'], [3, 'P-alice']]);
    const r = simulateRules(kiosk, defaultIdentityRules(), compileIdentityRules({ key: 'loose', limits: { user_id: 2 } }), stored);
    expect(r).toMatchObject({
      current: { profiles: 2, conflicts: 1 },
      candidate: { profiles: 1, conflicts: 0 },
      unchanged: 0,
      merges: { profiles: 2, into: 1 },
      splits: { profiles: 0, into: 0 },
      affectedGroups: 1,
    });
    expect(r.affected).toEqual([
      {
        change: 'merge',
        current: [
          { profiles: ['P-alice'], events: [1, 3], identifiers: [{ type: 'user_id', value: 'alice' }, { type: 'anonymous_id', value: 'a1' }, { type: 'device_id', value: 'kiosk' }] },
          { profiles: ['P-bob'], events: [2], identifiers: [{ type: 'user_id', value: 'bob' }] },
        ],
        candidate: [
          {
            profiles: ['P-alice', 'P-bob'],
            events: [1, 2, 3],
            identifiers: [{ type: 'user_id', value: 'alice' }, { type: 'user_id', value: 'bob' }, { type: 'anonymous_id', value: 'a1' }, { type: 'device_id', value: 'kiosk' }],
          },
        ],
      },
    ]);
  });

  it('reports the profile a stricter limit would split, and the conflict it would record', () => {
    // Two browsers on one device, then a login from the first: today one profile; with anonymous_id limit 1 the
    // second browser's event cannot join through the device and starts its own profile.
    const events = [
      event(1, { anonymousId: 'a1', context: device('d1') }),
      event(2, { anonymousId: 'a2', context: device('d1') }),
      event(3, { userId: 'u1', anonymousId: 'a1' }),
      event(4, { userId: 'u9' }),
    ];
    const r = simulateRules(events, defaultIdentityRules(), compileIdentityRules({ key: 'strict', limits: { user_id: 1, anonymous_id: 1 } }));
    expect(r).toMatchObject({
      events: 4,
      current: { profiles: 2, conflicts: 0 },
      candidate: { profiles: 3, conflicts: 1 },
      unchanged: 1,
      merges: { profiles: 0, into: 0 },
      splits: { profiles: 1, into: 2 },
      affectedGroups: 1,
    });
    expect(r.affected[0]).toEqual({
      change: 'split',
      current: [{ profiles: [], events: [1, 2, 3], identifiers: [{ type: 'user_id', value: 'u1' }, { type: 'anonymous_id', value: 'a1' }, { type: 'anonymous_id', value: 'a2' }, { type: 'device_id', value: 'd1' }] }],
      candidate: [
        { profiles: [], events: [1, 3], identifiers: [{ type: 'user_id', value: 'u1' }, { type: 'anonymous_id', value: 'a1' }, { type: 'device_id', value: 'd1' }] },
        { profiles: [], events: [2], identifiers: [{ type: 'anonymous_id', value: 'a2' }] },
      ],
    });
  });

  it('counts a profile that keeps its events but loses an identifier as identifiersChanged', () => {
    // With email limit 1 the second email is left out of the linking; the event still joins through the user id.
    const events = [event(1, { type: 'identify', userId: 'u1', traits: { email: 'a@x.com' } }), event(2, { type: 'identify', userId: 'u1', traits: { email: 'b@x.com' } })];
    const r = simulateRules(events, defaultIdentityRules(), compileIdentityRules({ key: 'one-email', limits: { user_id: 1, email: 1 } }));
    expect(r).toMatchObject({ unchanged: 0, identifiersChanged: 1, merges: { profiles: 0 }, splits: { profiles: 0 }, candidate: { profiles: 1, conflicts: 1 } });
    expect(r.affected).toEqual([
      {
        change: 'identifiers',
        current: [{ profiles: [], events: [1, 2], identifiers: [{ type: 'user_id', value: 'u1' }, { type: 'email', value: 'a@x.com' }, { type: 'email', value: 'b@x.com' }] }],
        candidate: [{ profiles: [], events: [1, 2], identifiers: [{ type: 'user_id', value: 'u1' }, { type: 'email', value: 'a@x.com' }] }],
      },
    ]);
  });

  it('limits the described groups to the sample size but counts them all', () => {
    const events = [1, 2, 3].flatMap((n) => [event(n * 10, { userId: `u${n}`, context: device(`k${n}`) }), event(n * 10 + 1, { userId: `v${n}`, context: device(`k${n}`) })]);
    const r = simulateRules(events, defaultIdentityRules(), compileIdentityRules({ key: 'loose', limits: { user_id: 2 } }), new Map(), 2);
    expect(r).toMatchObject({ current: { profiles: 6 }, candidate: { profiles: 3 }, merges: { profiles: 6, into: 3 }, affectedGroups: 3 });
    expect(r.affected.map((g) => g.candidate[0].events)).toEqual([[10, 11], [20, 21]]);
  });
});
