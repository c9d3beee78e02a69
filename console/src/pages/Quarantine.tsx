import { useState } from 'react';
import { api, describe, qs } from '../api';
import { ErrorText, JsonField, Section, Status, when } from '../components/common';
import { beforePage, Pager, usePaged } from '../components/paging';
import { diff } from '../components/json-patch';
import { useCanWrite } from '../session';

const PAGE = 50;

interface Item {
  id: number; source: string; messageId: string; type: string; event: string | null; status: string;
  reasons: { kind: string; path: string; message: string }[]; receivedAt: string; message: Record<string, unknown>;
}
interface ReplayAnswer { replayed: number; held: number; results: { id: number; outcome: string; reasons?: Item['reasons']; error?: { message: string } }[] }

/** Inspect one held message, edit it, check the edit (dry run) and replay it. */
function Fix({ item, onDone }: { item: Item; onDone(text: string): void }) {
  const canWrite = useCanWrite();
  const [edited, setEdited] = useState<unknown>(item.message);
  const [answer, setAnswer] = useState<string>();
  const [error, setError] = useState<string>();
  // The edit is sent as the JSON Patch from the held message to the edited one: what you see is what is replayed.
  const replay = async (dryRun: boolean) => {
    try {
      const patch = diff(item.message, edited);
      if (patch.some((op) => op.path === '')) throw new Error('the message must stay a JSON object');
      const res = await api<ReplayAnswer>('/quarantine/replay', { json: { ids: [item.id], patch, dryRun } });
      const r = res.results[0];
      const text =
        r.outcome === 'replayed'
          ? dryRun ? 'The fixed message passes the tracking plan.' : `Replayed message ${item.id}.`
          : r.outcome === 'held'
            ? `Still held: ${(r.reasons ?? []).map((v) => `${v.path}: ${v.message}`).join('; ')}`
            : `${r.outcome}${r.error ? `: ${r.error.message}` : ''}`;
      setError(undefined);
      setAnswer(text);
      if (!dryRun && r.outcome === 'replayed') onDone(text);
    } catch (e) {
      setError(describe(e));
    }
  };
  return (
    <Section title={`Held message ${item.id}`}>
      <p>
        {item.type} {item.event ?? ''} from source {item.source}, received {when(item.receivedAt)}, status {item.status}
      </p>
      <h3>Why it is held</h3>
      <ul>
        {item.reasons.map((r, i) => (
          <li key={i}>
            <code>{r.path}</code> ({r.kind}): {r.message}
          </li>
        ))}
      </ul>
      <JsonField label="Message (edit to fix)" value={item.message} onValid={setEdited} rows={18} readOnly={!canWrite || item.status !== 'held'} />
      {canWrite && item.status === 'held' ? (
        <div className="row">
          <button type="button" onClick={() => replay(true)}>
            Check fix
          </button>
          <button type="button" onClick={() => replay(false)}>
            Fix and replay
          </button>
        </div>
      ) : null}
      <ErrorText error={error} />
      <Status text={answer} />
    </Section>
  );
}

export function Quarantine() {
  const [status, setStatus] = useState<'held' | 'replayed' | 'discarded'>('held');
  const list = usePaged(async (before: number | undefined) => beforePage((await api<{ data: Item[] }>(`/quarantine?${qs({ status, limit: PAGE, before })}`)).data, PAGE, (i) => i.id), [status]);
  const [selected, setSelected] = useState<number>();
  const [done, setDone] = useState<string>();
  const item = list.items?.find((i) => i.id === selected);
  return (
    <>
      <h1>Quarantine</h1>
      <fieldset className="row">
        <legend>Show</legend>
        {(['held', 'replayed', 'discarded'] as const).map((s) => (
          <label key={s}>
            <input type="radio" name="qstatus" checked={status === s} onChange={() => setStatus(s)} /> {s}
          </label>
        ))}
      </fieldset>
      <Status text={done} />
      <ErrorText error={list.error} />
      <table>
        <caption>Quarantined messages ({status}), page {list.number}</caption>
        <thead><tr><th scope="col">Id</th><th scope="col">Message</th><th scope="col">Source</th><th scope="col">Reasons</th><th scope="col">Received</th></tr></thead>
        <tbody>
          {list.items?.map((i) => (
            <tr key={i.id} aria-selected={i.id === selected}>
              <td>
                <button type="button" className="link" onClick={() => setSelected(i.id)} aria-label={`Inspect message ${i.id}`}>
                  #{i.id}
                </button>
              </td>
              <td>{i.type} {i.event ?? ''}</td>
              <td>{i.source}</td>
              <td>{i.reasons.map((r) => r.message).join('; ')}</td>
              <td>{when(i.receivedAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.items?.length === 0 ? <p>No {status} messages{list.number > 1 ? ' on this page' : ''}.</p> : null}
      <Pager label={`Quarantined messages (${status})`} paged={list} />
      {item ? (
        <Fix
          key={item.id}
          item={item}
          onDone={(text) => {
            setDone(text);
            setSelected(undefined);
            list.reload();
          }}
        />
      ) : null}
    </>
  );
}
