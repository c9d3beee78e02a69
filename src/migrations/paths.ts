/**
 * Dotted property paths (`shipping.country`), as conditions, signals and monitors name properties: read, move and
 * replace a value inside a message's properties, and the JSON path SQLite's json functions take for one.
 */

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export const segmentsOf = (path: string): string[] => path.split('.');

export function valueAt(root: unknown, path: string[]): unknown {
  let v = root;
  for (const part of path) {
    if (!isObject(v)) return undefined;
    v = v[part];
  }
  return v;
}

/** Whether `path` names a property that is present (its value may be null). */
export function hasAt(root: unknown, path: string[]): boolean {
  const parent = valueAt(root, path.slice(0, -1));
  return isObject(parent) && Object.prototype.hasOwnProperty.call(parent, path[path.length - 1]);
}

/** Sets a value, creating the objects on the way; false when a non-object is in the way. */
export function setAt(root: Record<string, unknown>, path: string[], value: unknown): boolean {
  let v: Record<string, unknown> = root;
  for (const part of path.slice(0, -1)) {
    if (v[part] === undefined) v[part] = {};
    const next = v[part];
    if (!isObject(next)) return false;
    v = next;
  }
  v[path[path.length - 1]] = value;
  return true;
}

export function deleteAt(root: unknown, path: string[]): void {
  const parent = valueAt(root, path.slice(0, -1));
  if (isObject(parent)) delete parent[path[path.length - 1]];
}

export type MoveOutcome = 'moved' | 'absent' | 'conflict';

/**
 * Moves the value at `from` to `to` inside `root`. When `to` already holds a value (the message carries both names),
 * nothing moves: a conflict, counted and reported, so no value is lost.
 */
export function moveAt(root: Record<string, unknown>, from: string[], to: string[]): MoveOutcome {
  if (!hasAt(root, from)) return 'absent';
  if (hasAt(root, to)) return 'conflict';
  const value = valueAt(root, from);
  // A target below the source (`a` -> `a.b`) would be deleted with it: take the value first.
  deleteAt(root, from);
  if (!setAt(root, to, value)) {
    setAt(root, from, value);
    return 'conflict';
  }
  return 'moved';
}

/** `from` renamed to `to` in a property reference: `a` -> `b`, and `a.x` -> `b.x` for a property inside `a`. */
export function renamedPath(property: string, from: string, to: string): string | undefined {
  if (property === from) return to;
  if (property.startsWith(`${from}.`)) return `${to}${property.slice(from.length)}`;
  return undefined;
}

/** The SQLite JSON path of a property under `properties`: `$.properties."shipping"."country"`. */
export function jsonPathOf(root: string, path: string[]): string {
  return `$.${root}${path.map((p) => `."${p.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join('')}`;
}

/** Segments of a definition path as src/workspace/references.ts writes them: `condition.all[0].where[1].property`. */
export function definitionPath(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const part of path.split('.')) {
    const m = /^([^[]*)((?:\[\d+\])*)$/.exec(part);
    if (!m) {
      out.push(part);
      continue;
    }
    if (m[1] !== '') out.push(m[1]);
    for (const index of m[2].matchAll(/\[(\d+)\]/g)) out.push(Number(index[1]));
  }
  return out;
}

/** Replaces the value at a definition path (the path must exist). */
export function replaceAt(body: unknown, path: (string | number)[], value: unknown): void {
  let v = body as Record<string | number, unknown>;
  for (const part of path.slice(0, -1)) v = v[part] as Record<string | number, unknown>;
  v[path[path.length - 1]] = value;
}
