import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorObject } from 'ajv';
import { TandemError } from '../core/errors.js';
import { describeAjvErrors } from '../core/json-schema.js';

/**
 * One error shape for every route: { error: { code, message, path } }. Anything the caller can fix is a 4xx
 * that names the problem; a 5xx means a fault of ours and is logged.
 */
export function errorHandler(this: unknown, error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  if (error instanceof TandemError) {
    // Every 429 and 503 says when to come back; a limiter that knows sets it (or the error carries it), else 1 s.
    if ((error.status === 429 || error.status === 503) && !reply.hasHeader('retry-after')) {
      void reply.header('Retry-After', (error as { retryAfterSeconds?: number }).retryAfterSeconds ?? 1);
    }
    void reply.status(error.status).send({ ...error.toJSON(), ...(error.details ? { errors: error.details } : {}) });
    return;
  }
  if (error.validation) {
    const p = describeAjvErrors(error.validation as unknown as ErrorObject[], error.validationContext === 'body' ? '' : error.validationContext);
    void reply.status(400).send({ error: { code: p.code, message: p.message, path: p.path } });
    return;
  }
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    // Name the limit, as decodeBody does for a body that only grows past it when decompressed.
    const limit = request.routeOptions.bodyLimit;
    void reply.status(400).send({ error: { code: 'request_too_large', message: `request body exceeds the limit of ${Math.round(limit / 1024)} KB (${limit} bytes) per request; send smaller batches` } });
    return;
  }
  const known = FASTIFY_ERRORS[error.code];
  if (known) {
    void reply.status(known[0]).send({ error: { code: known[1], message: known[2] ?? error.message } });
    return;
  }
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    void reply.status(error.statusCode).send({ error: { code: 'bad_request', message: error.message } });
    return;
  }
  request.log.error({ err: error }, 'request failed');
  void reply.status(500).send({ error: { code: 'internal', message: 'internal error; it has been logged' } });
}

const FASTIFY_ERRORS: Record<string, [number, string, string?]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [400, 'request_too_large', 'request body exceeds the size limit per request; send smaller batches'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'unsupported_media_type', 'Content-Type must be application/json'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'invalid_content_length', 'Content-Length does not match the body'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'empty_body', 'request body is empty; send a JSON object'],
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'invalid_json', undefined],
  FST_ERR_CTP_EMPTY_TYPE: [415, 'unsupported_media_type', 'Content-Type must not be empty'],
  FST_ERR_CTP_INVALID_TYPE: [415, 'unsupported_media_type', 'Content-Type is not valid'],
  // Found by test/fuzz-routes.test.ts: a path such as /api/v1/catalogs/x/rows/%ff was answered in Fastify's own shape.
  FST_ERR_BAD_URL: [400, 'invalid_url', 'the URL path is not valid percent-encoded UTF-8; encode each path segment with encodeURIComponent'],
};

/** Fastify's `frameworkErrors` option: errors raised before routing (a badly encoded URL) get the same error shape. */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  errorHandler(error, request, reply);
}

/** The public error code for any error, as the error handler would answer it (used for metrics labels). */
export function publicCode(error: { code?: string; validation?: unknown }): string {
  if (error instanceof TandemError) return error.code;
  if (error.validation) return 'invalid_value';
  return (error.code && FASTIFY_ERRORS[error.code]?.[1]) ?? 'error';
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): void {
  void reply.status(404).send({ error: { code: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` } });
}
