import nodemailer, { type Transporter } from 'nodemailer';
import { sha256 } from '../../core/ids.js';
import type { TrackingLinks } from '../../delivery/links.js';
import { htmlToText } from '../../templates/render.js';
import { emailOf, unsubscribed, type Channel, type ChannelKind, type OutgoingMessage, type SendOutcome } from '../channel.js';
import type { EmailSettings } from '../definition.js';
import { readSecret, SecretMissing, type SecretSource } from '../../secrets/reference.js';

const decodeAttr = (v: string) => v.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');
const encodeAttr = (v: string) => v.replace(/&/g, '&amp;').replace(/"/g, '&quot;');

/** Click tracking: every http(s) link but our own goes through /c/<token>?u=, which only redirects to that URL. */
export function trackClicks(html: string, links: TrackingLinks, workspaceId: string, messageId: string): string {
  return html.replace(/(<a\b[^>]*?\shref=)(["'])(https?:\/\/[^"']+)\2/gi, (whole, start: string, quote: string, href: string) => {
    const target = decodeAttr(href);
    if (target.startsWith(`${links.baseUrl}/`)) return whole;
    return `${start}${quote}${encodeAttr(links.clickUrl(workspaceId, messageId, target))}${quote}`;
  });
}

/** Open tracking: a 1x1 image at the end of the body. */
export function addOpenPixel(html: string, url: string): string {
  const img = `<img src="${encodeAttr(url)}" width="1" height="1" alt="" style="display:block;border:0;width:1px;height:1px" />`;
  return /<\/body>/i.test(html) ? html.replace(/<\/body>/i, `${img}</body>`) : `${html}${img}`;
}

/** An SMTP error, classified: a refused recipient is a bounce; other 5xx fail for good; 4xx and network errors retry. */
export function classifySmtpError(error: unknown): SendOutcome {
  const e = error as Error & { code?: string; responseCode?: number; response?: string };
  const reason = e.response ? `${e.code ?? 'SMTP'}: ${e.response}` : `${e.code ?? e.name}: ${e.message}`;
  if (e.code === 'EAUTH') return { status: 'failed', retryable: true, reason: `authentication failed (check the channel's user and password): ${reason}` };
  if (typeof e.responseCode === 'number' && e.responseCode >= 500) {
    return e.code === 'EENVELOPE' ? { status: 'bounced', reason } : { status: 'failed', retryable: false, reason };
  }
  return { status: 'failed', retryable: true, reason };
}

class EmailChannel implements Channel {
  private transport: Transporter | undefined;
  private password: string | undefined;

  constructor(
    private readonly workspaceId: string,
    private readonly settings: EmailSettings,
    private readonly secrets: SecretSource,
    private readonly links: TrackingLinks,
  ) {}

  private transporter(): Transporter {
    const password = readSecret(this.settings.password, this.secrets, this.workspaceId, 'settings.password');
    if (!this.transport || password !== this.password) {
      this.transport?.close();
      const s = this.settings;
      this.transport = nodemailer.createTransport({
        host: s.host, port: s.port, secure: s.secure, requireTLS: s.requireTLS,
        ...(s.user !== undefined ? { auth: { user: s.user, pass: password ?? '' } } : {}),
        connectionTimeout: 15_000, greetingTimeout: 15_000, socketTimeout: 30_000,
      });
      this.password = password;
    }
    return this.transport;
  }

  async send(m: OutgoingMessage): Promise<SendOutcome> {
    const s = this.settings;
    const to = emailOf(m);
    if (!to) return { status: 'suppressed', reason: 'the profile has no email address (payload.to, trait email or an email identifier)' };
    if (!s.transactional && unsubscribed(m.profile, s.subscriptionGroup)) return { status: 'suppressed', reason: `the profile is unsubscribed from ${s.subscriptionGroup}` };
    const subject = m.content?.subject ?? (typeof m.payload.subject === 'string' ? m.payload.subject : undefined);
    let html = m.content?.html ?? (typeof m.payload.html === 'string' ? m.payload.html : undefined);
    const text = m.content?.text ?? (typeof m.payload.text === 'string' ? m.payload.text : html !== undefined ? htmlToText(html) : undefined);
    if (subject === undefined || (html === undefined && text === undefined)) {
      return { status: 'failed', retryable: false, reason: 'an email needs a subject and a body: use a template, or payload.subject with payload.html or payload.text' };
    }
    if (html !== undefined) {
      if (s.tracking.clicks) html = trackClicks(html, this.links, this.workspaceId, m.id);
      if (s.tracking.opens) html = addOpenPixel(html, this.links.openUrl(this.workspaceId, m.id));
    }
    const headers: Record<string, string> = { 'X-Tandem-Message-Id': m.id, 'X-Tandem-Idempotency-Key': m.idempotencyKey };
    if (!s.transactional) {
      headers['List-Unsubscribe'] = `<${this.links.unsubscribeUrl(this.workspaceId, m.id, m.profile.id, s.subscriptionGroup)}>`;
      headers['List-Unsubscribe-Post'] = 'List-Unsubscribe=One-Click';
    }
    let transport: Transporter;
    try {
      transport = this.transporter();
    } catch (error) {
      if (error instanceof SecretMissing) return { status: 'failed', retryable: true, reason: error.message };
      throw error;
    }
    try {
      const info = (await transport.sendMail({
        from: s.from,
        to,
        ...(s.replyTo ? { replyTo: s.replyTo } : {}),
        subject,
        ...(text !== undefined ? { text } : {}),
        ...(html !== undefined ? { html } : {}),
        // The same idempotency key gives the same Message-ID: a resend after a crash is recognisable downstream.
        messageId: `<${sha256(`${this.workspaceId}:${m.idempotencyKey}`).slice(0, 40)}@tandem>`,
        headers,
      })) as { messageId?: string; response?: string };
      return { status: 'sent', providerId: info.messageId, detail: { response: info.response } };
    } catch (error) {
      return classifySmtpError(error);
    }
  }

  async close(): Promise<void> {
    this.transport?.close();
  }
}

export const emailKind: ChannelKind = {
  type: 'email',
  create: (workspaceId, def, deps) => new EmailChannel(workspaceId, def.settings as EmailSettings, deps.secrets, deps.links),
};
