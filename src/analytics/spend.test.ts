import { describe, expect, it } from 'vitest';
import { TandemError } from '../core/errors.js';
import { checkSpendRows, parseSpendCsv } from './spend.js';

const refusal = (fn: () => unknown): { path?: string; message: string } => {
  try {
    fn();
  } catch (error) {
    if (error instanceof TandemError) return { path: error.path, message: error.message };
    throw error;
  }
  throw new Error('expected a refusal');
};

describe('spend import', () => {
  it('reads CSV columns in any order, channel optional', () => {
    expect(parseSpendCsv('spend,date,campaign\r\n12.5,2026-03-01,spring\n0,2026-03-02,"fall, late"\n')).toEqual([
      { date: '2026-03-01', campaign: 'spring', channel: '', spend: 12.5 },
      { date: '2026-03-02', campaign: 'fall, late', channel: '', spend: 0 },
    ]);
  });

  it('names the line and field of bad CSV', () => {
    expect(refusal(() => parseSpendCsv('date,campaign\n2026-03-01,x\n')).path).toBe('spend');
    expect(refusal(() => parseSpendCsv('date,campaign,spend\n2026-03-01,x,-3\n')).message).toContain('line 2');
    expect(refusal(() => parseSpendCsv('date,campaign,spend,cost\n2026-03-01,x,1,2\n')).message).toContain('unknown CSV column cost');
    expect(refusal(() => parseSpendCsv('date,campaign,spend\n2026-13-01,x,1\n')).path).toBe('csv[0].date');
  });

  it('refuses dates that do not exist', () => {
    expect(refusal(() => checkSpendRows([{ date: '2026-02-29', campaign: 'x', spend: 1 }])).path).toBe('rows[0].date');
    expect(checkSpendRows([{ date: '2028-02-29', campaign: 'x', spend: 1 }])).toHaveLength(1);
  });
});
