import { createHmac, timingSafeEqual } from 'node:crypto';
import { sha256 } from '../core/ids.js';

/** What a tracking token carries: u (unsubscribe), o (open), c (click, with the target URL's hash). */
export type LinkClaims =
  | { k: 'u'; w: string; m: string; p: string; g: string }
  | { k: 'o'; w: string; m: string }
  | { k: 'c'; w: string; m: string; h: string };

/** A short hash of a click target: the token binds the URL, so a click link cannot be turned into an open redirect. */
export const urlHash = (url: string): string => sha256(url).slice(0, 32);

/**
 * Signed tokens for the public links in messages: base64url(JSON claims) '.' base64url(HMAC-SHA256). The key is
 * generated on first start and kept in store.db; a token whose claims or signature were changed does not verify.
 */
export class TrackingLinks {
  private base: string;

  constructor(
    private readonly secret: string,
    baseUrl: string,
  ) {
    this.base = baseUrl.replace(/\/+$/, '');
  }

  /** Where recipients reach the server (config delivery.publicUrl, else the listening address). */
  get baseUrl(): string {
    return this.base;
  }

  setBaseUrl(url: string): void {
    this.base = url.replace(/\/+$/, '');
  }

  sign(claims: LinkClaims): string {
    const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `${body}.${this.mac(body)}`;
  }

  verify(token: string): LinkClaims | undefined {
    const dot = token.indexOf('.');
    if (dot <= 0) return undefined;
    const body = token.slice(0, dot);
    const given = Buffer.from(token.slice(dot + 1), 'base64url');
    const expected = Buffer.from(this.mac(body), 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    try {
      const claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as LinkClaims;
      return typeof claims === 'object' && claims !== null && typeof claims.k === 'string' && typeof claims.w === 'string' && typeof claims.m === 'string' ? claims : undefined;
    } catch {
      return undefined;
    }
  }

  unsubscribeUrl(workspaceId: string, messageId: string, profileId: string, group: string): string {
    return `${this.base}/u/${this.sign({ k: 'u', w: workspaceId, m: messageId, p: profileId, g: group })}`;
  }

  openUrl(workspaceId: string, messageId: string): string {
    return `${this.base}/o/${this.sign({ k: 'o', w: workspaceId, m: messageId })}.gif`;
  }

  clickUrl(workspaceId: string, messageId: string, target: string): string {
    return `${this.base}/c/${this.sign({ k: 'c', w: workspaceId, m: messageId, h: urlHash(target) })}?u=${encodeURIComponent(target)}`;
  }

  private mac(body: string): string {
    return createHmac('sha256', this.secret).update(body).digest('base64url');
  }
}
