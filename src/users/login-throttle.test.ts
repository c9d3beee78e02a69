import { describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import { LoginThrottle } from './login-throttle.js';

describe('login throttle', () => {
  it('refuses a name after 3 failures in 15 minutes until 15 minutes after the first, and forgets on success', () => {
    const clock = new ManualClock(0);
    const throttle = new LoginThrottle(clock, 3, 15 * 60_000);
    throttle.failed('ada');
    clock.advance(60_000);
    throttle.failed('ada');
    expect(throttle.retryAfter('ada')).toBe(0);
    throttle.failed('ada');
    expect(throttle.retryAfter('ada')).toBe(14 * 60_000);
    expect(throttle.retryAfter('bob')).toBe(0);
    clock.advance(14 * 60_000);
    expect(throttle.retryAfter('ada')).toBe(0);
    throttle.failed('ada');
    throttle.succeeded('ada');
    throttle.failed('ada');
    throttle.failed('ada');
    expect(throttle.retryAfter('ada')).toBe(0);
  });
});
