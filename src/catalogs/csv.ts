import { TandemError } from '../core/errors.js';

/**
 * RFC 4180 CSV: comma-separated, fields optionally in double quotes (a doubled quote inside is one quote), CRLF or
 * LF line ends, the first record is the header. Returns records as objects with the line each starts on.
 */
export function parseCsv(text: string): { header: string[]; records: { line: number; values: Record<string, string> }[] } {
  const rows = [...csvRows(text)];
  if (rows.length === 0) throw new TandemError('invalid_csv', 'the CSV is empty: the first line must be a header', 400, 'line 1');
  const header = csvHeader(rows[0].fields);
  const records = rows.slice(1).map((r) => {
    if (r.fields.length !== header.length) throw new TandemError('invalid_csv', `line ${r.line}: ${r.fields.length} fields, but the header has ${header.length}`, 400, `line ${r.line}`);
    return { line: r.line, values: Object.fromEntries(header.map((h, n) => [h, r.fields[n]])) };
  });
  return { header, records };
}

/** The header's column names, trimmed; refuses empty and repeated names. */
export function csvHeader(fields: string[]): string[] {
  const header = fields.map((h) => h.trim());
  header.forEach((h, n) => {
    if (h === '') throw new TandemError('invalid_csv', `line 1: header column ${n + 1} is empty`, 400, 'line 1');
    if (header.indexOf(h) !== n) throw new TandemError('invalid_csv', `line 1: header '${h}' appears twice`, 400, 'line 1');
  });
  return header;
}

/** Runs of ordinary characters, taken as one slice rather than one character at a time. */
const PLAIN_RUN = /[^,"\r\n]+/y;
const QUOTED_RUN = /[^"\n]+/y;
/** Where the run of `re` starting at `from` ends (at least one character on). */
function runEnd(re: RegExp, text: string, from: number): number {
  re.lastIndex = from;
  return re.exec(text) ? re.lastIndex : from + 1;
}

/**
 * The records of an RFC 4180 text one at a time, each with the line it starts on (blank lines skipped), so a
 * caller can handle a bad record by itself (src/imports). Throws at the end when a quoted field is not closed.
 */
export function* csvRows(text: string): Generator<{ line: number; fields: string[] }> {
  let field = '';
  let fields: string[] = [];
  let line = 1;
  let rowLine = 1;
  let quoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; // a byte-order mark is not part of the first header
  const endRow = () => {
    fields.push(field);
    const row = fields.length === 1 && fields[0] === '' ? undefined : { line: rowLine, fields };
    fields = [];
    field = '';
    return row;
  };
  for (; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') (field += '"'), i++;
        else quoted = false;
      } else if (c === '\n') {
        line++;
        field += c;
      } else {
        const end = runEnd(QUOTED_RUN, text, i);
        field += text.slice(i, end);
        i = end - 1;
      }
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') (fields.push(field), (field = ''));
    else if (c === '\r' && text[i + 1] === '\n') continue;
    else if (c === '\n' || c === '\r') {
      const row = endRow();
      if (row) yield row;
      line++;
      rowLine = line;
    } else {
      const end = runEnd(PLAIN_RUN, text, i);
      field += text.slice(i, end);
      i = end - 1;
    }
  }
  if (quoted) throw new TandemError('invalid_csv', `line ${rowLine}: a quoted field is not closed`, 400, `line ${rowLine}`);
  if (field !== '' || fields.length) {
    const row = endRow();
    if (row) yield row;
  }
}
