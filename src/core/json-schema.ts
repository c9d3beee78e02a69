import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { pointerToPath } from './errors.js';

// ajv-formats is CommonJS; its default export arrives wrapped under ESM.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (ajv: Ajv2020) => Ajv2020;

/** One Ajv (JSON Schema draft 2020-12) for the whole process; compiled validators are cached by Ajv. */
export function createAjv(options: { allErrors?: boolean } = {}): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: options.allErrors ?? false, strict: false, allowUnionTypes: true, discriminator: false });
  addFormats(ajv);
  return ajv;
}

export interface SchemaProblem {
  code: 'required' | 'wrong_type' | 'invalid_value';
  path: string;
  message: string;
}

/** Describes the first Ajv error in words a caller can act on, with the field's path under `prefix`. */
export function describeAjvErrors(errors: ErrorObject[], prefix = ''): SchemaProblem {
  const anyOf = errors.find((e) => e.keyword === 'anyOf');
  const first = anyOf ?? errors[0];
  const path = pointerToPath(first.instancePath, prefix);
  if (first.keyword === 'required') {
    const field = (first.params as { missingProperty: string }).missingProperty;
    const full = path ? `${path}.${field}` : field;
    return { code: 'required', path: full, message: `${full} is required` };
  }
  if (first.keyword === 'anyOf' || first.keyword === 'type') {
    const types = errors
      .filter((e) => e.keyword === 'type' && e.instancePath === first.instancePath)
      .flatMap((e) => String((e.params as { type: string | string[] }).type).split(','));
    const expected = [...new Set(types)].join(' or ') || 'another type';
    return { code: 'wrong_type', path, message: `${path || 'body'} must be ${expected}` };
  }
  if (first.keyword === 'const' || first.keyword === 'enum') {
    const allowed = first.keyword === 'const' ? [(first.params as { allowedValue: unknown }).allowedValue] : (first.params as { allowedValues: unknown[] }).allowedValues;
    return { code: 'invalid_value', path, message: `${path || 'body'} must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}` };
  }
  if (first.keyword === 'additionalProperties') {
    const field = (first.params as { additionalProperty: string }).additionalProperty;
    const full = path ? `${path}.${field}` : field;
    return { code: 'invalid_value', path: full, message: `${full} is not a known field here` };
  }
  return { code: 'invalid_value', path, message: `${path || 'body'} ${first.message ?? 'is invalid'}` };
}
