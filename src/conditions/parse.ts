import { Type } from '@sinclair/typebox';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import YAML from 'yaml';
import { TandemError, pointerToPath } from '../core/errors.js';
import type { Condition } from './condition.js';
import { kindByKey, kindKeysOf, NODE_KEYS, NODE_KINDS } from './kinds.js';
import { joinPath, type NodeProblem } from './node-kind.js';

// Draft-07, the dialect TypeBox emits (tuples as items arrays). verbose: errors carry their schema, whose `x-expected` words the message.
const ajv = new Ajv({ strict: false, verbose: true, allowUnionTypes: true, allErrors: false });

/** One validator per kind, for one node at a time: nested conditions are validated by the walk, with their own paths. */
const VALIDATORS = new Map<string, ValidateFunction>(NODE_KINDS.map((kind) => [kind.key, ajv.compile(kind.schema(Type.Unknown()))]));

/**
 * Validates a definition (already parsed from JSON or YAML) and returns it as a Condition, or throws a
 * TandemError (`invalid_condition`) whose path points into the definition, e.g.
 * `all[2].within: must be a duration such as 24h, 30m or 7d`. `at` prefixes paths, for a condition inside a
 * larger document (`definition.condition`).
 */
export function parseCondition(input: unknown, at = ''): Condition {
  const problem = findProblem(input, at);
  if (problem) throw new TandemError('invalid_condition', `${problem.path || '(condition)'}: ${problem.message}`, 400, problem.path);
  return structuredClone(input) as Condition;
}

/** parseCondition over YAML (or JSON) text. */
export function parseConditionText(text: string, at = ''): Condition {
  let data: unknown;
  try {
    data = YAML.parse(text);
  } catch (error) {
    throw new TandemError('invalid_condition', `${at || '(condition)'}: ${(error as Error).message}`, 400, at);
  }
  return parseCondition(data, at);
}

function findProblem(node: unknown, path: string): NodeProblem | undefined {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) {
    return { path, message: `must be a condition: an object with one of ${NODE_KEYS.join(', ')}` };
  }
  const keys = kindKeysOf(node);
  if (keys.length === 0) {
    const unknown = Object.keys(node)[0];
    return { path, message: `${unknown === undefined ? 'is empty' : `'${unknown}' is not a kind of condition`}; use one of ${NODE_KEYS.join(', ')}` };
  }
  if (keys.length > 1) return { path, message: `names several kinds of condition (${keys.join(', ')}); combine them with all or any` };
  const kind = kindByKey(keys[0])!;
  const validate = VALIDATORS.get(kind.key)!;
  if (!validate(node)) return describe(validate.errors ?? [], path);
  const problem = kind.check?.(node as Condition);
  if (problem) return { path: joinPath(path, problem.path), message: problem.message };
  for (const child of kind.children?.(node as Condition) ?? []) {
    const childProblem = findProblem(child.condition, joinPath(path, child.path));
    if (childProblem) return childProblem;
  }
  return undefined;
}

/** Turns the first Ajv error into a problem a person can act on. */
function describe(errors: ErrorObject[], path: string): NodeProblem {
  // A union reports every branch's error, then its own; the union's wording covers them all.
  const error = errors.find((e) => e.keyword === 'anyOf') ?? errors[0];
  const at = joinPath(path, pointerToPath(error.instancePath));
  const expected = (error.parentSchema as { 'x-expected'?: string } | undefined)?.['x-expected'];
  if (error.keyword === 'additionalProperties') {
    const field = (error.params as { additionalProperty: string }).additionalProperty;
    return { path: joinPath(at, field), message: 'is not a known field here' };
  }
  if (error.keyword === 'required') {
    return { path: joinPath(at, (error.params as { missingProperty: string }).missingProperty), message: 'is required' };
  }
  if (expected) return { path: at, message: `must be ${expected}` };
  return { path: at, message: error.message ?? 'is invalid' };
}
