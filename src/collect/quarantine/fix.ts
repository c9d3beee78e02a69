import jsonpatch, { type Operation } from 'fast-json-patch';
import { badRequest, TandemError } from '../../core/errors.js';

/**
 * The edits a replay applies to a held message before checking it again: field renames (`mapping`, in the
 * path form that violations use, so a reported path can be pasted) and RFC 6902 JSON Patch operations.
 * Renames come first, so the patch sees the renamed shape.
 */

const FORBIDDEN = new Set(['__proto__', 'prototype', 'constructor']);

/** Parses `properties.total`, `properties["Order Id"]`, `products[0].sku`, or a JSON pointer `/properties/total`. */
export function parsePath(path: string, at: string): (string | number)[] {
  const parts: (string | number)[] = [];
  if (path.startsWith('/')) {
    for (const raw of path.split('/').slice(1)) parts.push(/^\d+$/.test(raw) ? Number(raw) : raw.replace(/~1/g, '/').replace(/~0/g, '~'));
  } else {
    const bad = () => badRequest('invalid_path', `${at}: '${path}' is not a field path such as properties.total, products[0].sku or properties["Order Id"]`, at);
    let i = 0;
    while (i < path.length) {
      if (path[i] === '[') {
        const close = path[i + 1] === '"' ? path.indexOf('"]', i + 2) + 1 : path.indexOf(']', i);
        if (close <= i) throw bad();
        const inner = path.slice(i + 1, close);
        if (/^\d+$/.test(inner)) parts.push(Number(inner));
        else {
          try {
            parts.push(String(JSON.parse(inner)));
          } catch {
            throw bad();
          }
        }
        i = close + 1;
      } else {
        if (parts.length > 0) {
          if (path[i] !== '.') throw bad();
          i++;
        }
        let j = i;
        while (j < path.length && path[j] !== '.' && path[j] !== '[') j++;
        if (j === i) throw bad();
        parts.push(path.slice(i, j));
        i = j;
      }
    }
  }
  if (parts.length === 0) throw badRequest('invalid_path', `${at}: the whole message cannot be renamed`, at);
  for (const p of parts) if (FORBIDDEN.has(String(p))) throw badRequest('invalid_path', `${at}: '${p}' may not appear in a path`, at);
  return parts;
}

type Container = Record<string | number, unknown>;

function parentOf(doc: unknown, parts: (string | number)[], create: boolean): Container | undefined {
  let v = doc as Container;
  for (let i = 0; i < parts.length - 1; i++) {
    let next = v[parts[i]];
    if (next === undefined && create) {
      next = typeof parts[i + 1] === 'number' ? [] : {};
      v[parts[i]] = next;
    }
    if (next === null || typeof next !== 'object') return undefined;
    v = next as Container;
  }
  return v;
}

/** Moves each `from` field to its `to` path (creating objects on the way). A missing `from` is left alone. */
export function applyMapping(doc: Record<string, unknown>, mapping: Record<string, string>): void {
  for (const [from, to] of Object.entries(mapping)) {
    const src = parsePath(from, `mapping[${JSON.stringify(from)}]`);
    const dst = parsePath(to, `mapping[${JSON.stringify(from)}]`);
    const srcParent = parentOf(doc, src, false);
    const last = src[src.length - 1];
    if (!srcParent || !Object.prototype.hasOwnProperty.call(srcParent, last)) continue;
    const value = srcParent[last];
    if (Array.isArray(srcParent) && typeof last === 'number') srcParent.splice(last, 1);
    else delete srcParent[last];
    const dstParent = parentOf(doc, dst, true);
    if (!dstParent) throw new TandemError('mapping_failed', `mapping[${JSON.stringify(from)}]: cannot write '${to}': a field on the way is not an object`, 422, `mapping[${JSON.stringify(from)}]`);
    dstParent[dst[dst.length - 1]] = value;
  }
}

/** Applies JSON Patch operations in place. Throws a TandemError naming the failing operation. */
export function applyJsonPatch(doc: Record<string, unknown>, patch: Operation[]): void {
  try {
    jsonpatch.applyPatch(doc, patch, true, true, true);
  } catch (error) {
    const e = error as { name?: string; message: string; index?: number };
    const at = e.index !== undefined ? `patch[${e.index}]` : 'patch';
    // fast-json-patch puts a multi-line dump of the operation and document in its messages: keep the first line.
    throw new TandemError('patch_failed', `${at}: ${e.message.split('\n')[0]}`, 422, at);
  }
}

export type { Operation };
