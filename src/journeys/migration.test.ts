import { afterEach, describe, expect, it } from 'vitest';
import { TandemError } from '../core/errors.js';
import { HOUR, harness, profile, type Harness } from './test-support.js';

const T0 = Date.UTC(2026, 0, 1);

const v1 = {
  key: 'onboard',
  trigger: { type: 'event', event: 'Signed Up' },
  start: 'w1',
  nodes: {
    w1: { type: 'wait', duration: '1h', next: 'mail' },
    mail: { type: 'send', channel: 'email', template: 'a', next: 'w2' },
    w2: { type: 'wait', duration: '1d', next: 'sms' },
    sms: { type: 'send', channel: 'sms', template: 'sms_a' },
  },
};
const v2 = (migrate: unknown) => ({
  key: 'onboard',
  trigger: { type: 'event', event: 'Signed Up' },
  migrate,
  start: 'first',
  nodes: {
    first: { type: 'wait', duration: '1h', next: 'mail2' },
    mail2: { type: 'send', channel: 'email', template: 'b', next: 'later' },
    later: { type: 'wait', duration: '1d', next: 'push' },
    push: { type: 'send', channel: 'push', template: 'push_b' },
  },
});

let h: Harness;
afterEach(async () => h?.close());

async function twoRunning(): Promise<Harness> {
  h = harness({ start: T0 });
  for (const id of ['p1', 'p2', 'p3']) h.profiles.set(id, profile(id));
  await h.journeys.save('w', v1, 'create');
  await h.emit('p1', 'Signed Up');
  await h.advance(HOUR); // p1 got mail 'a' and waits at w2 until T0 + 25 h
  await h.emit('p2', 'Signed Up'); // p2 waits at w1 until T0 + 2 h
  return h;
}

const saveError = async (body: unknown): Promise<TandemError> => {
  try {
    await h.journeys.save('w', body, 'update', 'onboard');
  } catch (error) {
    return error as TandemError;
  }
  throw new Error('saved');
};

describe('journey migration by node mapping', () => {
  it('moves running instances at mapped nodes to the new version; an instance at an unmapped node stays on its version', async () => {
    await twoRunning();
    const saved = await h.journeys.save('w', v2({ from: 1, nodes: { w2: 'later' } }), 'update', 'onboard');
    expect(saved.version).toBe(2);
    const active = Object.fromEntries(h.journeys.store.activeOf('w', 'onboard').map((i) => [i.profileId, { version: i.version, node: i.node, wakeAt: i.wakeAt }]));
    expect(active).toEqual({ p1: { version: 2, node: 'later', wakeAt: T0 + 25 * HOUR }, p2: { version: 1, node: 'w1', wakeAt: T0 + 2 * HOUR } });
    const trail = h.journeys.trace('w', 'p1', 'onboard').trail.filter((r) => r.kind === 'migrate');
    expect(trail).toMatchObject([{ version: 2, node: 'later', detail: { fromVersion: 1, fromNode: 'w2' } }]);

    await h.emit('p3', 'Signed Up'); // a new entry takes version 2
    await h.advance(26 * HOUR);
    const sent = h.outbox().map((r) => `${r.profileId} ${r.template} +${(r.at - T0) / HOUR}h`).sort();
    expect(sent).toEqual(['p1 a +1h', 'p1 push_b +25h', 'p2 a +2h', 'p2 sms_a +26h', 'p3 b +2h', 'p3 push_b +26h']);
  });

  it('without a mapping every running instance continues on its version', async () => {
    await twoRunning();
    await h.journeys.save('w', v2(undefined), 'update', 'onboard');
    await h.advance(26 * HOUR);
    expect(h.outbox().map((r) => `${r.profileId} ${r.template}`).sort()).toEqual(['p1 a', 'p1 sms_a', 'p2 a', 'p2 sms_a']);
  });

  it('refuses a mapping that names a missing version or node, or changes the node type, naming the field', async () => {
    await twoRunning();
    expect(await saveError(v2({ from: 2, nodes: {} }))).toMatchObject({ status: 400, path: 'migrate.from' });
    expect(await saveError(v2({ from: 1, nodes: { nope: 'later' } }))).toMatchObject({ status: 400, path: 'migrate.nodes.nope' });
    expect(await saveError(v2({ from: 1, nodes: { w2: 'absent' } }))).toMatchObject({ status: 400, path: 'migrate.nodes.w2' });
    const typeChange = await saveError(v2({ from: 1, nodes: { w1: 'mail2' } }));
    expect(typeChange).toMatchObject({ status: 400, path: 'migrate.nodes.w1' });
    expect(typeChange.message).toContain('same type');
    expect(await saveError(v2({ from: 1, nodes: { w2: 3 } }))).toMatchObject({ status: 400 });
    expect(h.journeys.store.activeOf('w', 'onboard').every((i) => i.version === 1)).toBe(true);
  });
});
