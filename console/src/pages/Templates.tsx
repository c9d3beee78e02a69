import { useEffect, useId, useState } from 'react';
import { api, describe } from '../api';
import { ErrorText, JsonField, Section, SelectField, Status, TextField, useLoad } from '../components/common';
import { useCanWrite } from '../session';

type Channel = 'email' | 'sms' | 'webhook' | 'slack';
interface Content { subject?: string; mjml?: string; html?: string; text?: string; body?: string }
type Template = { key: string; name?: string; channel: Channel; locales?: Record<string, Content> } & Content;
interface Rendered { variant: string; subject?: string; text?: string; html?: string; body?: string }

const CHANNELS: readonly Channel[] = ['email', 'sms', 'webhook', 'slack'];

/**
 * The rendered HTML without its remote stylesheets (MJML links web fonts by default): the console's
 * Content-Security-Policy, which the preview frame inherits, would refuse them with an error, and the preview
 * should not call other sites anyway. The text falls back to the template's other fonts.
 */
export function withoutRemoteStyles(html: string): { html: string; removed: number } {
  let removed = 0;
  const out = html
    .replace(/<link\b[^>]*\bhref=["']?(?:https?:)?\/\/[^>]*>/gi, () => (removed++, ''))
    .replace(/@import\s+url\(\s*["']?(?:https?:)?\/\/[^)]*\)\s*;?/gi, () => (removed++, ''));
  return { html: out, removed };
}
const NEW: Template = {
  key: 'welcome',
  channel: 'email',
  subject: 'Welcome, {{ traits.first_name }}',
  mjml: '<mjml><mj-body><mj-section><mj-column><mj-text>Hello {{ traits.first_name }}</mj-text></mj-column></mj-section></mj-body></mjml>',
};

/** A labelled multi-line field for Liquid / MJML source (monospace, no spell check). */
function Source(props: { label: string; value: string; onChange(v: string): void; rows?: number; readOnly?: boolean }) {
  const id = useId();
  return (
    <span className="field wide">
      <label htmlFor={id}>{props.label}</label>
      <textarea id={id} className="code" rows={props.rows ?? 8} spellCheck={false} value={props.value} readOnly={props.readOnly} onChange={(e) => props.onChange(e.target.value)} />
    </span>
  );
}

/** The content fields each channel uses (src/templates/definition.ts). */
function ContentFields({ channel, value, set, readOnly, prefix }: { channel: Channel; value: Content; set(c: Content): void; readOnly: boolean; prefix: string }) {
  const field = (name: keyof Content) => (v: string) => {
    const next = { ...value };
    if (v === '') delete next[name];
    else next[name] = v;
    set(next);
  };
  const bodyKind = value.html !== undefined && value.mjml === undefined ? 'html' : 'mjml';
  if (channel !== 'email') {
    const label = channel === 'webhook' ? 'Body (JSON with Liquid; use the json filter for values)' : `${channel === 'sms' ? 'SMS' : 'Slack'} text (Liquid)`;
    return <Source label={`${prefix}${label}`} value={value.body ?? ''} onChange={field('body')} rows={6} readOnly={readOnly} />;
  }
  return (
    <>
      <TextField label={`${prefix}Subject (Liquid)`} value={value.subject ?? ''} onChange={field('subject')} readOnly={readOnly} />
      <SelectField
        label={`${prefix}Body written in`}
        value={bodyKind}
        options={[{ value: 'mjml', label: 'MJML (responsive e-mail)' }, { value: 'html', label: 'HTML' }]}
        onChange={(k) => {
          if (readOnly || k === bodyKind) return;
          const { mjml, html, ...rest } = value;
          set(k === 'html' ? { ...rest, html: html ?? '' } : { ...rest, mjml: mjml ?? '' });
        }}
      />
      <Source label={`${prefix}${bodyKind === 'mjml' ? 'MJML body (Liquid)' : 'HTML body (Liquid)'}`} value={(bodyKind === 'mjml' ? value.mjml : value.html) ?? ''} onChange={field(bodyKind)} rows={12} readOnly={readOnly} />
      <Source label={`${prefix}Plain-text part (optional; derived from the HTML when empty)`} value={value.text ?? ''} onChange={field('text')} rows={4} readOnly={readOnly} />
    </>
  );
}

/**
 * Liquid / MJML templates edited in a form (channel, subject, body, plain text, locale variants), saved, and
 * previewed as rendered for a real profile. The template as JSON stays available behind "advanced". Previews are
 * read-only, so viewers may render them too.
 */
export function Templates() {
  const canWrite = useCanWrite();
  const list = useLoad(() => api<{ data: Template[] }>('/templates'), []);
  const [selected, setSelected] = useState('');
  const current = list.data?.data.find((t) => t.key === selected);
  const [draft, setDraft] = useState<Template>(NEW);
  const [locale, setLocale] = useState('');
  const [newLocale, setNewLocale] = useState('');
  const [profileId, setProfileId] = useState('');
  const [previewLocale, setPreviewLocale] = useState('');
  const [rendered, setRendered] = useState<Rendered>();
  const [error, setError] = useState<string>();
  const [status, setStatus] = useState<string>();
  useEffect(() => {
    setDraft(current ?? NEW);
    setLocale('');
    setRendered(undefined);
  }, [current]);
  const readOnly = !canWrite;
  const isNew = !current;
  const locales = draft.locales ?? {};
  const save = async () => {
    try {
      await api(current ? `/templates/${encodeURIComponent(current.key)}` : '/templates', { method: current ? 'PUT' : 'POST', json: draft });
      setStatus(`Saved template '${draft.key}'.`);
      setError(undefined);
      list.reload();
      setSelected(draft.key);
    } catch (e) {
      setError(describe(e));
    }
  };
  const renderPreview = async () => {
    try {
      setRendered(await api<Rendered>(`/templates/${encodeURIComponent(selected)}/render`, { json: { ...(profileId ? { profileId } : {}), ...(previewLocale ? { locale: previewLocale } : {}) } }));
      setError(undefined);
    } catch (e) {
      setError(describe(e));
    }
  };
  const setContent = (c: Content) => {
    if (!locale) return setDraft(({ subject: _s, mjml: _m, html: _h, text: _t, body: _b, ...rest }) => ({ ...rest, ...c }));
    setDraft((d) => ({ ...d, locales: { ...(d.locales ?? {}), [locale]: c } }));
  };
  const removeLocale = () => {
    setDraft(({ locales: all = {}, ...rest }) => {
      const { [locale]: _gone, ...others } = all;
      return Object.keys(others).length ? { ...rest, locales: others } : rest;
    });
    setLocale('');
  };
  const content: Content = locale ? (locales[locale] ?? {}) : draft;
  const preview = rendered?.html ? withoutRemoteStyles(rendered.html) : { html: '', removed: 0 };
  return (
    <>
      <h1>Templates</h1>
      <ErrorText error={list.error} />
      <SelectField label="Template" value={selected} options={[{ value: '', label: canWrite ? 'New template…' : 'Choose' }, ...(list.data?.data ?? []).map((t) => ({ value: t.key, label: `${t.key} (${t.channel})` }))]} onChange={(v) => (setSelected(v), setStatus(undefined))} />
      {current || canWrite ? (
        <div className="grid">
          <Section title={isNew ? 'New template' : `Template ${draft.key}`}>
            <form className="stack" aria-label="Edit the template" onSubmit={(e) => (e.preventDefault(), void save())}>
              <fieldset className="node-form" disabled={readOnly} aria-label="Key, name and channel">
              <div className="row">
                <TextField label="Template key" value={draft.key} onChange={(v) => setDraft((d) => ({ ...d, key: v }))} readOnly={readOnly || !isNew} required />
                <TextField label="Template name" value={draft.name ?? ''} onChange={(v) => setDraft(({ name: _n, ...d }) => (v ? { ...d, name: v } : d))} readOnly={readOnly} />
                <SelectField label="Channel" value={draft.channel} options={CHANNELS} onChange={(c) => !readOnly && setDraft((d) => ({ ...d, channel: c }))} />
              </div>
              </fieldset>
              <div className="row">
                <SelectField label="Variant" value={locale} options={[{ value: '', label: 'default' }, ...Object.keys(locales).map((l) => ({ value: l, label: `locale ${l}` }))]} onChange={setLocale} />
                {canWrite ? (
                  <>
                    <TextField label="New locale (fr, fr-CA…)" value={newLocale} onChange={setNewLocale} />
                    <button type="button" className="secondary" disabled={!newLocale.trim()} onClick={() => (setDraft((d) => ({ ...d, locales: { ...(d.locales ?? {}), [newLocale.trim()]: {} } })), setLocale(newLocale.trim()), setNewLocale(''))}>
                      Add locale
                    </button>
                    {locale ? <button type="button" className="danger" onClick={removeLocale}>Remove locale {locale}</button> : null}
                  </>
                ) : null}
              </div>
              {locale ? <p>Fields left empty in locale {locale} come from the default.</p> : null}
              <fieldset className="node-form" disabled={readOnly} aria-label="Template content">
                <ContentFields key={`${selected}:${locale}`} channel={draft.channel} value={content} set={setContent} readOnly={readOnly} prefix={locale ? `${locale}: ` : ''} />
              </fieldset>
              {canWrite ? <button type="submit">Save template</button> : null}
            </form>
            <details>
              <summary>Advanced: the template as JSON</summary>
              <JsonField key={selected} label="Template (JSON)" value={draft} onValid={(v) => setDraft(v as Template)} rows={14} readOnly={readOnly} />
            </details>
            <Status text={status} />
          </Section>
          <Section title="Preview">
            <form className="row" onSubmit={(e) => (e.preventDefault(), void renderPreview())} aria-label="Preview">
              <TextField label="Profile id (empty: sample)" value={profileId} onChange={setProfileId} />
              <TextField label="Preview locale (empty: the profile's)" value={previewLocale} onChange={setPreviewLocale} />
              <button type="submit" disabled={!current}>Render preview</button>
            </form>
            {!current ? <p>Save the template to preview it.</p> : current !== undefined && JSON.stringify(current) !== JSON.stringify(draft) ? <p>The preview renders the saved template; save to preview your changes.</p> : null}
            {rendered ? (
              <>
                {rendered.subject !== undefined ? <p>Subject: <strong>{rendered.subject}</strong> (variant {rendered.variant})</p> : <p>Variant {rendered.variant}</p>}
                {preview.html ? <iframe title="Rendered HTML" sandbox="" srcDoc={preview.html} className="preview" /> : null}
              {preview.removed ? <p><small>Web fonts and other remote stylesheets are not loaded in the preview.</small></p> : null}
                {rendered.text ?? rendered.body ? <pre aria-label="Rendered text">{rendered.text ?? rendered.body}</pre> : null}
              </>
            ) : null}
          </Section>
        </div>
      ) : null}
      <ErrorText error={error} />
    </>
  );
}
