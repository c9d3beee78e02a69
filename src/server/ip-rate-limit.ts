import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RateLimiter } from '../collect/rate-limit.js';
import { TandemError } from '../core/errors.js';
import { nonPublicKind, parseAddress } from '../network/address-ranges.js';

export interface IpRate {
  /** Sustained requests per second per client address (0: no limit). */
  perSecond: number;
  /** Bucket size: requests a client may send at once. */
  burst: number;
}

/**
 * The client's address. The socket's peer, except when the peer is loopback and sent X-Forwarded-For: then the
 * last entry, which is the one our own front thread appends (src/server/forward.ts) when it forwards to the core.
 * A client cannot forge that entry, because the front appends after whatever the client sent.
 */
export function clientIp(request: FastifyRequest): string {
  const peer = request.socket?.remoteAddress ?? request.ip;
  const forwarded = request.headers['x-forwarded-for'];
  const parsed = parseAddress(peer ?? '');
  if (forwarded && parsed && nonPublicKind(parsed) === 'loopback') {
    const last = String(forwarded).split(',').pop()!.trim();
    if (parseAddress(last)) return last;
  }
  return peer ?? 'unknown';
}

/**
 * Takes one request from the client address's bucket; refuses with 429, Retry-After and the RateLimit headers
 * (limit, remaining, reset) when it is empty. `always`: set the RateLimit headers on admitted requests too.
 */
export function limitByIp(limiter: RateLimiter, scope: string, request: FastifyRequest, reply: FastifyReply, rate: IpRate, always = false): void {
  if (!(rate.perSecond > 0)) return;
  const ip = clientIp(request);
  const d = limiter.take(`${scope}\u0000${ip}`, 1, rate.perSecond, rate.burst);
  if (always || !d.allowed) void reply.header('RateLimit-Limit', d.limit).header('RateLimit-Remaining', d.remaining).header('RateLimit-Reset', d.resetSeconds);
  if (!d.allowed) {
    void reply.header('Retry-After', d.retryAfterSeconds);
    throw new TandemError('rate_limited', `too many ${scope} requests from ${ip}: the limit is ${rate.burst} at once and ${rate.perSecond} per second; retry after ${d.retryAfterSeconds} s`, 429);
  }
}
