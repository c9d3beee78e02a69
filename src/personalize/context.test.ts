import { describe, expect, it } from 'vitest';
import { localTime, requestContext } from './context.js';
import { GeoDatabase } from './geo.js';

describe('localTime', () => {
  // Offsets from the tz database: Paris is UTC+2 in July (CEST) and UTC+1 in January; New York UTC-4 in July.
  it('reads the hour, weekday and day part in the visitor zone, daylight saving time included', () => {
    const july = Date.UTC(2026, 6, 1, 12, 30); // a Wednesday
    expect(localTime(july, 'Europe/Paris')).toEqual({ zone: 'Europe/Paris', hour: 14, weekday: 3, daypart: 'afternoon', weekend: false, local: '2026-07-01T14:30' });
    expect(localTime(july, 'America/New_York')).toMatchObject({ hour: 8, daypart: 'morning' });
    expect(localTime(Date.UTC(2026, 0, 1, 12), 'Europe/Paris').hour).toBe(13);
    // 23:00 UTC on Saturday is Sunday 08:00 in Tokyo (UTC+9, no DST).
    expect(localTime(Date.UTC(2026, 0, 3, 23), 'Asia/Tokyo')).toMatchObject({ hour: 8, weekday: 0, weekend: true });
    expect(localTime(Date.UTC(2026, 0, 3, 23), 'America/Los_Angeles')).toMatchObject({ hour: 15, weekday: 6 });
  });

  it('falls back to UTC for an unknown zone', () => {
    expect(localTime(Date.UTC(2026, 0, 1, 3), 'Mars/Olympus')).toMatchObject({ zone: 'UTC', hour: 3, daypart: 'night' });
    expect(localTime(Date.UTC(2026, 0, 1, 20), undefined)).toMatchObject({ zone: 'UTC', daypart: 'evening' });
  });
});

describe('requestContext', () => {
  const geo = GeoDatabase.fromCsv('81.2.69.0/24,GB,ENG,London,Europe/London');
  const now = Date.UTC(2026, 6, 1, 12);

  it('takes the zone from the geo database unless the request names one; the sent ip wins over the connection', () => {
    const c = requestContext({ page: { path: '/a' }, campaign: 'summer' }, { ip: '81.2.69.1', userAgent: 'curl/8' }, now, geo);
    expect(c).toMatchObject({ ip: '81.2.69.1', geo: { country: 'GB' }, time: { zone: 'Europe/London', hour: 13 }, device: { type: 'bot' }, page: { path: '/a' }, campaign: 'summer' });
    expect(requestContext({ timezone: 'Asia/Tokyo' }, { ip: '81.2.69.1' }, now, geo).time).toMatchObject({ zone: 'Asia/Tokyo', hour: 21 });
    expect(requestContext({ ip: '9.9.9.9' }, { ip: '81.2.69.1' }, now, geo).geo).toEqual({});
    expect(requestContext({}, { ip: '81.2.69.1' }, now, undefined).geo).toEqual({});
  });
});

describe('localTime across a daylight saving change', () => {
  // Europe/Paris moved from UTC+1 to UTC+2 at 2026-03-29 01:00 UTC (02:00 local became 03:00).
  it('switches offset at the transition instant, not a quarter hour later', () => {
    expect(localTime(Date.UTC(2026, 2, 29, 0, 59), 'Europe/Paris').local).toBe('2026-03-29T01:59');
    expect(localTime(Date.UTC(2026, 2, 29, 1, 0), 'Europe/Paris').local).toBe('2026-03-29T03:00');
    expect(localTime(Date.UTC(2026, 2, 29, 1, 14), 'Europe/Paris').local).toBe('2026-03-29T03:14');
    // India (UTC+5:30) and Nepal (UTC+5:45): offsets that are not whole hours.
    expect(localTime(Date.UTC(2026, 0, 1, 0, 0), 'Asia/Kolkata').local).toBe('2026-01-01T05:30');
    expect(localTime(Date.UTC(2026, 0, 1, 0, 0), 'Asia/Kathmandu').local).toBe('2026-01-01T05:45');
  });
});
