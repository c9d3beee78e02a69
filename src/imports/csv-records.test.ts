import { describe, expect, it } from 'vitest';
import { csvRows, parseCsv } from '../catalogs/csv.js';

/** The CSV records the importer reads (src/catalogs/csv.ts), with the line each starts on. */
describe('CSV records', () => {
  it('reads quoted fields with commas, doubled quotes and line breaks, and numbers lines where records start', () => {
    const text = '\ufeffa,b,c\r\n1,"x, y","say ""hi"""\r\n\r\n2,"two\nlines",z\n3,plain"quote,\r4,,\n';
    expect([...csvRows(text)]).toEqual([
      { line: 1, fields: ['a', 'b', 'c'] },
      { line: 2, fields: ['1', 'x, y', 'say "hi"'] },
      { line: 4, fields: ['2', 'two\nlines', 'z'] }, // line 3 is blank
      { line: 6, fields: ['3', 'plain"quote', ''] }, // a quote inside an unquoted field is a character
      { line: 7, fields: ['4', '', ''] }, // a lone CR ends a line too
    ]);
  });

  it('keeps a last record without a line end, and reports an unclosed quote with its line', () => {
    expect([...csvRows('a,b\n1,2')]).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, fields: ['1', '2'] },
    ]);
    expect(() => [...csvRows('a,b\n1,"open\n2,3\n')]).toThrow('line 2: a quoted field is not closed');
  });

  it('parseCsv still names a record with the wrong number of fields', () => {
    expect(() => parseCsv('a,b\n1,2\n3\n')).toThrow('line 3: 1 fields, but the header has 2');
    expect(parseCsv('a,b\n1,"2,5"\n').records).toEqual([{ line: 2, values: { a: '1', b: '2,5' } }]);
  });
});
