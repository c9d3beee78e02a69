import { gunzipSync, inflateSync } from 'node:zlib';
import { isUtf8 } from 'node:buffer';
import sjson from 'secure-json-parse';
import { badRequest, TandemError } from '../core/errors.js';

/**
 * Turns a raw request body into a JSON object: decompresses (gzip, deflate) with a bound on the output,
 * refuses invalid UTF-8, and parses with prototype-poisoning protection. Every failure is a 4xx naming the problem.
 */
export function decodeBody(raw: Buffer, contentEncoding: string | undefined, maxBytes: number): Record<string, unknown> {
  const encoding = (contentEncoding ?? 'identity').trim().toLowerCase();
  let body: Buffer;
  if (encoding === 'identity' || encoding === '') body = raw;
  else if (encoding === 'gzip' || encoding === 'x-gzip' || encoding === 'deflate') {
    try {
      body = encoding === 'deflate' ? inflateSync(raw, { maxOutputLength: maxBytes + 1 }) : gunzipSync(raw, { maxOutputLength: maxBytes + 1 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || error instanceof RangeError) throw tooLarge(maxBytes);
      throw badRequest('invalid_encoding', `request body is not valid ${encoding} data: ${(error as Error).message}`);
    }
  } else {
    throw new TandemError('unsupported_encoding', `Content-Encoding '${encoding}' is not supported; use gzip, deflate or none`, 415);
  }
  if (body.length > maxBytes) throw tooLarge(maxBytes);
  if (body.length === 0) throw badRequest('empty_body', 'request body is empty; send a JSON object');
  if (!isUtf8(body)) throw badRequest('invalid_utf8', 'request body is not valid UTF-8');
  let parsed: unknown;
  try {
    const text = body.toString('utf8');
    // Without these substrings no forbidden key can be spelled (not even escaped), so the library's two regex
    // scans of the whole body would find nothing: skip them. The parse and its errors are the same JSON.parse.
    const plain = text.charCodeAt(0) !== 0xfeff && !text.includes('\\u') && !text.includes('__proto__') && !text.includes('constructor');
    parsed = plain ? JSON.parse(text) : sjson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (error) {
    const message = (error as Error).message;
    if (message === 'Object contains forbidden prototype property') throw badRequest('forbidden_key', 'request body contains a forbidden key (__proto__ or constructor.prototype)');
    throw badRequest('invalid_json', `request body is not valid JSON: ${message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw badRequest('invalid_body', `request body must be a JSON object, not ${Array.isArray(parsed) ? 'an array' : parsed === null ? 'null' : typeof parsed}`);
  }
  return parsed as Record<string, unknown>;
}

const tooLarge = (maxBytes: number) =>
  badRequest('request_too_large', `request body exceeds the limit of ${Math.round(maxBytes / 1024)} KB (${maxBytes} bytes) per request; send smaller batches`);
