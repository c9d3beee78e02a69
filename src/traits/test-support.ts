import { expect } from 'vitest';
import type { JsonValue } from '../conditions/model.js';
import { computeOf, type EventTraitDefinition } from './definition.js';

/** Counts of SQL numbers compared with the tolerance, and of those that were not exactly equal. */
export const sqlNumberStats = { compared: 0, inexact: 0 };

/**
 * SQL and streaming values are equal, except floating-point sums and averages, whose SQL side adds in the
 * engine's order (sql.ts): those agree within 1e-9 relative (and most of them exactly).
 */
export function expectSqlValue(def: EventTraitDefinition, sql: JsonValue, expected: JsonValue, label: string): void {
  const kind = computeOf(def).kind;
  if ((kind === 'sum' || kind === 'avg') && typeof sql === 'number' && typeof expected === 'number') {
    sqlNumberStats.compared++;
    if (sql !== expected) sqlNumberStats.inexact++;
    expect(Math.abs(sql - expected), `${label}: ${sql} vs ${expected}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(sql), Math.abs(expected)));
  } else {
    expect(sql, label).toEqual(expected);
  }
}

/** An SQL value column (JSON text or NULL) as a JSON value. */
export const parseSql = (text: unknown): JsonValue => (text === null || text === undefined ? null : JSON.parse(String(text)));
