import { useState } from 'react';
import { api, describe } from '../api';
import { ErrorText, Section, SelectField, Status, TextField, useLoad, when } from '../components/common';
import { beforePage, Pager, usePaged } from '../components/paging';
import { useIsAdmin } from '../session';

type Role = 'viewer' | 'editor' | 'admin';
interface User { name: string; role: Role; displayName?: string; createdAt: string }
interface Audit { id: number; at: number; actor: string; action: string; target: string }

export function Users() {
  const isAdmin = useIsAdmin();
  const list = useLoad(async () => (isAdmin ? api<{ data: User[] }>('/users') : { data: [] }), [isAdmin]);
  const audit = usePaged(async (before: number | undefined) => beforePage((await api<{ data: Audit[] }>(`/audit?limit=50${before ? `&before=${before}` : ''}`)).data, 50, (a) => a.id), []);
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [error, setError] = useState<string>();
  const [status, setStatus] = useState<string>();
  const run = async (fn: () => Promise<unknown>, done: string) => {
    try {
      await fn();
      setError(undefined);
      setStatus(done);
      list.reload();
      audit.reload();
    } catch (e) {
      setError(describe(e));
    }
  };
  if (!isAdmin) return <p>Only an admin manages users.</p>;
  return (
    <>
      <h1>Users</h1>
      <Section title="People">
        <table>
          <caption>Users and roles</caption>
          <thead><tr><th scope="col">Name</th><th scope="col">Role</th><th scope="col">Created</th><th scope="col">Actions</th></tr></thead>
          <tbody>
            {list.data?.data.map((u) => (
              <tr key={u.name}>
                <td>{u.name}</td>
                <td>
                  <SelectField label={`Role of ${u.name}`} value={u.role} options={['viewer', 'editor', 'admin'] as const} onChange={(r) => run(() => api(`/users/${encodeURIComponent(u.name)}`, { method: 'PUT', json: { role: r } }), `${u.name} is now ${r}.`)} />
                </td>
                <td>{when(u.createdAt)}</td>
                <td>
                  <button type="button" className="danger" onClick={() => window.confirm(`Delete user ${u.name}?`) && run(() => api(`/users/${encodeURIComponent(u.name)}`, { method: 'DELETE' }), `Deleted ${u.name}.`)}>
                    Delete {u.name}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <form className="row" aria-label="Add a user" onSubmit={(e) => (e.preventDefault(), void run(() => api('/users', { json: { name, password, role } }), `Created ${name}.`))}>
          <TextField label="User name" value={name} onChange={setName} required />
          <TextField label="Initial password" type="password" value={password} onChange={setPassword} autoComplete="new-password" required />
          <SelectField label="Role" value={role} options={['viewer', 'editor', 'admin'] as const} onChange={setRole} />
          <button type="submit">Add user</button>
        </form>
        <ErrorText error={error} />
        <Status text={status} />
      </Section>
      <Section title="Audit log: who changed what">
        <ol>
          {audit.items?.map((a) => (
            <li key={a.id}>{when(a.at)} · <strong>{a.actor}</strong> · {a.action} · {a.target}</li>
          ))}
        </ol>
        <Pager label="Audit log" paged={audit} />
      </Section>
    </>
  );
}
