/** RFC 6902 operations that turn `before` into `after` (objects field by field; arrays and scalars replaced whole). */
export type PatchOp = { op: 'add' | 'remove' | 'replace'; path: string; value?: unknown };

const pointer = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function diff(before: unknown, after: unknown, path = ''): PatchOp[] {
  if (isObject(before) && isObject(after)) {
    const ops: PatchOp[] = [];
    for (const key of Object.keys(before)) if (!(key in after)) ops.push({ op: 'remove', path: `${path}/${pointer(key)}` });
    for (const [key, value] of Object.entries(after)) {
      if (!(key in before)) ops.push({ op: 'add', path: `${path}/${pointer(key)}`, value });
      else ops.push(...diff(before[key], value, `${path}/${pointer(key)}`));
    }
    return ops;
  }
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [{ op: 'replace', path, value: after }];
}
