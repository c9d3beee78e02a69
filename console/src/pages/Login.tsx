import { useState, type FormEvent } from 'react';
import { api, describe } from '../api';
import { ErrorText, TextField } from '../components/common';
import type { Session } from '../session';

export function Login({ onSignedIn }: { onSignedIn(session: Session): void }) {
  const [mode, setMode] = useState<'password' | 'token'>('password');
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [token, setToken] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const session = await api<Session>('/session', { json: mode === 'password' ? { name, password } : { token } });
      onSignedIn(session);
    } catch (err) {
      setError(describe(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="login" id="main">
      <h1>Sign in to Tandem</h1>
      <form onSubmit={submit} aria-label="Sign in">
        {mode === 'password' ? (
          <>
            <TextField label="User name" value={name} onChange={setName} autoComplete="username" required />
            <TextField label="Password" type="password" value={password} onChange={setPassword} autoComplete="current-password" required />
          </>
        ) : (
          <TextField label="Admin token" type="password" value={token} onChange={setToken} required />
        )}
        <ErrorText error={error} />
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        <button type="button" className="link" onClick={() => setMode(mode === 'password' ? 'token' : 'password')}>
          {mode === 'password' ? 'Use the admin token instead (first sign-in)' : 'Use a user name and password'}
        </button>
      </form>
    </main>
  );
}
