import { describe, expect, it } from 'vitest';
import { createAjv, describeAjvErrors } from './json-schema.js';

describe('describeAjvErrors', () => {
  const ajv = createAjv({ allErrors: true });
  const validate = ajv.compile({
    type: 'object',
    properties: { key: { type: 'string' }, settings: { type: 'object', properties: { url: { type: 'string' } }, additionalProperties: false } },
    additionalProperties: false,
  });
  const describeBody = (body: unknown, prefix = '') => {
    expect(validate(body)).toBe(false);
    return describeAjvErrors(validate.errors!, prefix);
  };

  it('names an unknown field at the top level and inside an object', () => {
    expect(describeBody({ key: 'a', colour: 'red' })).toEqual({ code: 'invalid_value', path: 'colour', message: 'colour is not a known field here' });
    expect(describeBody({ key: 'a', settings: { url: 'x', retries: 3 } })).toEqual({ code: 'invalid_value', path: 'settings.retries', message: 'settings.retries is not a known field here' });
  });

  it('names the field of a wrong type', () => {
    expect(describeBody({ key: 5 })).toMatchObject({ code: 'wrong_type', path: 'key', message: 'key must be string' });
  });
});
