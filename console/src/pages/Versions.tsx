import { useState } from 'react';
import { api, describe, qs } from '../api';
import { ErrorText, Section, Status, when } from '../components/common';
import { Pager, usePaged } from '../components/paging';
import { useCanWrite } from '../session';

interface VersionRow { version: number; at: string; author: string; message: string; changes: { kind: string; key: string; op: string; fields: { path: string; op: string; before?: unknown; after?: unknown }[] }[] }

const show = (v: unknown) => (v === undefined ? '—' : JSON.stringify(v));

/** Workspace versions with field-level diffs; rollback applies an earlier version as a new one. */
export function Versions() {
  const canWrite = useCanWrite();
  // The API answers `next` (the `before` of the following page) itself.
  const list = usePaged(async (before: number | undefined) => {
    const page = await api<{ data: VersionRow[]; next?: number }>(`/versions?${qs({ limit: 20, before })}`);
    return { items: page.data, next: page.next };
  }, []);
  const [status, setStatus] = useState<string>();
  const [error, setError] = useState<string>();
  const rollback = async (to: number) => {
    if (!window.confirm(`Roll the workspace back to version ${to}? This records a new version.`)) return;
    try {
      await api('/workspace/rollback', { json: { to } });
      setStatus(`Rolled back to version ${to}.`);
      setError(undefined);
      list.reload();
    } catch (e) {
      setError(describe(e));
    }
  };
  return (
    <>
      <h1>Workspace versions</h1>
      <ErrorText error={list.error ?? error} />
      <Status text={status} />
      <Pager label="Versions" paged={list} />
      {list.items?.map((v) => (
        <Section key={v.version} title={`Version ${v.version}`} actions={canWrite ? <button type="button" onClick={() => rollback(v.version)}>Roll back to version {v.version}</button> : undefined}>
          <p>{when(v.at)} · {v.author} · {v.message}</p>
          <table>
            <caption>Changes in version {v.version}</caption>
            <thead><tr><th scope="col">Kind</th><th scope="col">Key</th><th scope="col">Change</th><th scope="col">Field</th><th scope="col">Before</th><th scope="col">After</th></tr></thead>
            <tbody>
              {v.changes.flatMap((c) =>
                (c.fields.length ? c.fields : [{ path: '', op: c.op }]).map((f, i) => (
                  <tr key={`${c.kind}${c.key}${i}`}><td>{c.kind}</td><td>{c.key}</td><td>{c.op}</td><td>{f.path}</td><td><code>{show((f as { before?: unknown }).before)}</code></td><td><code>{show((f as { after?: unknown }).after)}</code></td></tr>
                )),
              )}
            </tbody>
          </table>
        </Section>
      ))}
      <Pager label="Versions (bottom)" paged={list} />
    </>
  );
}
