import { Liquid, type Template as LiquidTemplate } from 'liquidjs';
import { badRequest } from '../core/errors.js';
import type { CatalogLookup } from '../conditions/model.js';
import type { Template, TemplateContent } from './definition.js';

/** What a template can read: `profile`, `traits`, `event`, `payload`, `message`, `unsubscribe_url`, `locale`. */
export interface RenderContext {
  profile: { id: string; traits: Record<string, unknown>; computed?: Record<string, unknown>; identifiers?: Record<string, string>; audiences?: string[] };
  event?: Record<string, unknown>;
  payload?: Record<string, unknown>;
  message?: { id: string; channel?: string };
  unsubscribe_url?: string;
  locale?: string;
}

export interface RenderedContent {
  subject?: string;
  text?: string;
  html?: string;
  body?: string;
  /** The variant used: a locale key, or 'default'. */
  variant: string;
}

type Field = keyof TemplateContent;
const FIELDS: Field[] = ['subject', 'mjml', 'html', 'text', 'body'];
/** Fields whose Liquid output lands in HTML: values are escaped there. */
const HTML_FIELDS = new Set<Field>(['mjml', 'html']);
const CATALOGS = '__catalogs';

function engine(escape: boolean): Liquid {
  const liquid = new Liquid({ outputEscape: escape ? 'escape' : undefined, strictFilters: true, ownPropertyOnly: true });
  // {{ event.sku | catalog: 'products' }} -> the row (or nil), e.g. {% assign p = event.sku | catalog: 'products' %}{{ p.name }}
  liquid.registerFilter('catalog', function (this: { context: { getSync(path: string[]): unknown } }, key: unknown, catalog: unknown) {
    const lookup = this.context.getSync([CATALOGS]) as CatalogLookup | undefined;
    if (!lookup || key === undefined || key === null || typeof catalog !== 'string') return undefined;
    return lookup.get(catalog, String(key));
  });
  return liquid;
}

const plain = engine(false);
const escaped = engine(true);
const liquidFor = (field: Field) => (HTML_FIELDS.has(field) ? escaped : plain);

/** Parses one field; a syntax error names the field and the line. */
export function parseField(field: Field, text: string, path: string): LiquidTemplate[] {
  try {
    return liquidFor(field).parse(text);
  } catch (error) {
    throw badRequest('invalid_template', `${path}: ${(error as Error).message}`, path);
  }
}

/** The locale chain for a profile locale: fr-CA -> [fr-CA, fr]; keys are matched case-insensitively, `_` as `-`. */
export function localeChain(locale: string | undefined): string[] {
  if (!locale) return [];
  const norm = locale.trim().replace(/_/g, '-').toLowerCase();
  const parts = norm.split('-').filter(Boolean);
  const out: string[] = [];
  for (let n = parts.length; n >= 1; n--) out.push(parts.slice(0, n).join('-'));
  return out;
}

/** The variant for a locale: the first of the chain the template has, with the default's fields for those it omits. */
export function chooseVariant(t: Template, locale: string | undefined): { variant: string; content: TemplateContent } {
  const base: TemplateContent = { subject: t.subject, mjml: t.mjml, html: t.html, text: t.text, body: t.body };
  const keys = new Map(Object.keys(t.locales ?? {}).map((k) => [k.replace(/_/g, '-').toLowerCase(), k]));
  for (const candidate of localeChain(locale)) {
    const key = keys.get(candidate);
    if (key === undefined) continue;
    const v = t.locales![key];
    const content: TemplateContent = { ...base };
    for (const f of FIELDS) if (v[f] !== undefined) content[f] = v[f];
    // An HTML body in the variant replaces the default's MJML (and the reverse), rather than both being present.
    if (v.html !== undefined && v.mjml === undefined) delete content.mjml;
    if (v.mjml !== undefined && v.html === undefined) delete content.html;
    return { variant: key, content };
  }
  return { variant: 'default', content: base };
}

/** Parsed templates cached by key, version and field: rendering a template already seen parses nothing. */
export class TemplateRenderer {
  private cache = new Map<string, LiquidTemplate[]>();

  constructor(private readonly catalogs: (workspaceId: string) => CatalogLookup) {}

  /** Checks a template when it is saved: Liquid syntax of every field, MJML validity, the fields its channel needs. */
  async check(t: Template): Promise<void> {
    const variants: [string, TemplateContent][] = [['', t], ...Object.entries(t.locales ?? {}).map(([k, v]): [string, TemplateContent] => [`locales.${k}.`, v])];
    for (const [prefix, content] of variants) {
      for (const f of FIELDS) {
        const text = content[f];
        if (text === undefined) continue;
        parseField(f, text, `${prefix}${f}`);
        if (f === 'mjml') {
          await mjmlToHtml(escaped.parseAndRenderSync(text, {}), `${prefix}mjml`);
        }
      }
    }
    const need = (field: string, ok: boolean) => {
      if (!ok) throw badRequest('required', `${field} is required for a ${t.channel} template`, field.split(' ')[0]);
    };
    if (t.channel === 'email') {
      need('subject', t.subject !== undefined);
      need('mjml (or html, or text)', t.mjml !== undefined || t.html !== undefined || t.text !== undefined);
    } else need('body', t.body !== undefined);
    if (t.mjml !== undefined && t.html !== undefined) throw badRequest('invalid_template', 'give mjml or html, not both', 'html');
  }

  /** Renders a template for a profile: the locale's variant, every field through Liquid, MJML to HTML, a text part. */
  async render(workspaceId: string, key: string, version: number, t: Template, ctx: RenderContext): Promise<RenderedContent> {
    const { variant, content } = chooseVariant(t, ctx.locale);
    const scope = { ...ctx, traits: ctx.profile.traits, [CATALOGS]: this.catalogs(workspaceId) };
    const out: RenderedContent = { variant };
    const run = (f: Field) => {
      const text = content[f];
      if (text === undefined) return undefined;
      const id = `${workspaceId}\u0000${key}\u0000${version}\u0000${variant}\u0000${f}`;
      let parsed = this.cache.get(id);
      if (!parsed) {
        parsed = parseField(f, text, variant === 'default' ? f : `locales.${variant}.${f}`);
        if (this.cache.size > 5000) this.cache.clear();
        this.cache.set(id, parsed);
      }
      return liquidFor(f).renderSync(parsed, scope) as string;
    };
    const subject = run('subject');
    if (subject !== undefined) out.subject = subject.trim();
    const body = run('body');
    if (body !== undefined) out.body = body;
    const mjml = run('mjml');
    if (mjml !== undefined) out.html = await mjmlToHtml(mjml, 'mjml');
    const html = run('html');
    if (html !== undefined) out.html = html;
    const text = run('text');
    if (text !== undefined) out.text = text;
    else if (out.html !== undefined) out.text = htmlToText(out.html);
    return out;
  }
}

type Mjml = (input: string, options: { validationLevel: 'soft' | 'strict' | 'skip'; minify?: boolean }) => Promise<{ html: string; errors: { line: number; message: string; tagName: string }[] }>;
let mjmlModule: Promise<Mjml> | undefined;

/** MJML to HTML (the module is loaded on first use: it is large). Errors name the line and tag. */
export async function mjmlToHtml(source: string, path: string): Promise<string> {
  mjmlModule ??= import('mjml').then((m) => ((m as unknown as { default?: Mjml }).default ?? (m as unknown as Mjml)));
  const mjml = await mjmlModule;
  if (!/<mjml[\s>]/.test(source)) throw badRequest('invalid_mjml', `${path}: the document must start with <mjml>`, path);
  let result: Awaited<ReturnType<Mjml>>;
  try {
    result = await mjml(source, { validationLevel: 'soft' });
  } catch (error) {
    throw badRequest('invalid_mjml', `${path}: ${(error as Error).message}`, path);
  }
  if (result.errors.length) {
    const e = result.errors[0];
    throw badRequest('invalid_mjml', `${path}: line ${e.line}: ${e.message}${result.errors.length > 1 ? ` (and ${result.errors.length - 1} more)` : ''}`, path);
  }
  return result.html;
}

/** A plain-text rendering of an HTML body: block ends become line breaks, links keep their address. */
export function htmlToText(html: string): string {
  const body = /<body[^>]*>([\s\S]*)<\/body>/i.exec(html)?.[1] ?? html;
  return body
    .replace(/<(style|script|head|title)[^>]*>[\s\S]*?<\/\1>/gi, '')
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/<a\s[^>]*href="([^"]+)"[^>]*>([\s\S]*?)<\/a>/gi, (_, href: string, label: string) => `${label.replace(/<[^>]+>/g, '').trim()} (${href})`)
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/(p|div|h[1-6]|li|tr|table)>/gi, '\n')
    .replace(/<[^>]+>/g, '')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .split('\n')
    .map((l) => l.replace(/[ \t]+/g, ' ').trim())
    .filter((l, i, all) => l !== '' || (i > 0 && all[i - 1] !== ''))
    .join('\n')
    .trim();
}
