/** Field-level differences between two JSON values, with paths as the API's errors write them (`condition.all[1].within`). */
export interface FieldDiff {
  path: string;
  op: 'add' | 'remove' | 'change';
  before?: unknown;
  after?: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const join = (path: string, key: string) => (/^[A-Za-z_$][\w$]*$/.test(key) ? (path ? `${path}.${key}` : key) : `${path}[${JSON.stringify(key)}]`);

/** Equal as JSON (object key order does not matter). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  return diffFields(a, b).length === 0;
}

/** The differences from `before` to `after`; objects are compared key by key and arrays index by index. */
export function diffFields(before: unknown, after: unknown, path = ''): FieldDiff[] {
  if (before === undefined && after === undefined) return [];
  if (before === undefined) return [{ path, op: 'add', after }];
  if (after === undefined) return [{ path, op: 'remove', before }];
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => diffFields(before[k], after[k], join(path, k)));
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const out: FieldDiff[] = [];
    for (let i = 0; i < Math.max(before.length, after.length); i++) out.push(...diffFields(before[i], after[i], `${path}[${i}]`));
    return out;
  }
  return before === after ? [] : [{ path, op: 'change', before, after }];
}

/** One line per field: `~ condition.within: "7d" -> "3d"`, `+ name: "Cart"`, `- description: "..."`. */
export function describeField(d: FieldDiff): string {
  const v = (x: unknown) => {
    const s = JSON.stringify(x);
    return s.length > 120 ? `${s.slice(0, 117)}...` : s;
  };
  const at = d.path || '(whole)';
  if (d.op === 'add') return `+ ${at}: ${v(d.after)}`;
  if (d.op === 'remove') return `- ${at}: ${v(d.before)}`;
  return `~ ${at}: ${v(d.before)} -> ${v(d.after)}`;
}
