import { TandemError } from '../core/errors.js';

/**
 * RFC 4180 CSV: comma-separated, fields optionally in double quotes (a doubled quote inside is one quote), CRLF or
 * LF line ends, the first record is the header. Returns records as objects with the line each starts on.
 */
export function parseCsv(text: string): { header: string[]; records: { line: number; values: Record<string, string> }[] } {
  const rows: { line: number; fields: string[] }[] = [];
  let field = '';
  let fields: string[] = [];
  let line = 1;
  let rowLine = 1;
  let quoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; // a byte-order mark is not part of the first header
  const endRow = () => {
    fields.push(field);
    if (!(fields.length === 1 && fields[0] === '')) rows.push({ line: rowLine, fields });
    fields = [];
    field = '';
  };
  for (; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') (field += '"'), i++;
        else quoted = false;
      } else {
        if (c === '\n') line++;
        field += c;
      }
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') (fields.push(field), (field = ''));
    else if (c === '\r' && text[i + 1] === '\n') continue;
    else if (c === '\n' || c === '\r') {
      endRow();
      line++;
      rowLine = line;
    } else field += c;
  }
  if (quoted) throw new TandemError('invalid_csv', `line ${rowLine}: a quoted field is not closed`, 400, `line ${rowLine}`);
  if (field !== '' || fields.length) endRow();
  if (rows.length === 0) throw new TandemError('invalid_csv', 'the CSV is empty: the first line must be a header', 400, 'line 1');
  const header = rows[0].fields.map((h) => h.trim());
  header.forEach((h, n) => {
    if (h === '') throw new TandemError('invalid_csv', `line 1: header column ${n + 1} is empty`, 400, 'line 1');
    if (header.indexOf(h) !== n) throw new TandemError('invalid_csv', `line 1: header '${h}' appears twice`, 400, 'line 1');
  });
  const records = rows.slice(1).map((r) => {
    if (r.fields.length !== header.length) throw new TandemError('invalid_csv', `line ${r.line}: ${r.fields.length} fields, but the header has ${header.length}`, 400, `line ${r.line}`);
    return { line: r.line, values: Object.fromEntries(header.map((h, n) => [h, r.fields[n]])) };
  });
  return { header, records };
}
