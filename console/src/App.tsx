import { useEffect, useState, type ReactNode } from 'react';
import { api } from './api';
import { Link, navigate, usePath } from './router';
import { SessionContext, type Session } from './session';
import { keepScrollablesFocusable } from './components/scrollable';
import { Login } from './pages/Login';
import { Overview } from './pages/Overview';
import { Sources } from './pages/Sources';
import { Quarantine } from './pages/Quarantine';
import { Debugger } from './pages/Debugger';
import { Profiles } from './pages/Profiles';
import { ProfilePage } from './pages/ProfilePage';
import { Audiences } from './pages/Audiences';
import { Journeys } from './pages/Journeys';
import { Templates } from './pages/Templates';
import { Deliveries } from './pages/Deliveries';
import { Experiments } from './pages/experiments/Experiments';
import { Models } from './pages/models/Models';
import { Alerts } from './pages/alerts/Alerts';
import { Incidents } from './pages/Incidents';
import { Versions } from './pages/Versions';
import { Users } from './pages/Users';
import { Analytics } from './pages/Analytics';
import { Personalization } from './pages/Personalization';
import { Metadata } from './pages/Metadata';

const NAV: [string, string][] = [
  ['/', 'Overview'],
  ['/sources', 'Sources'],
  ['/quarantine', 'Quarantine'],
  ['/debugger', 'Live events'],
  ['/profiles', 'Profiles'],
  ['/audiences', 'Audiences'],
  ['/journeys', 'Journeys'],
  ['/templates', 'Templates'],
  ['/deliveries', 'Deliveries'],
  ['/analytics', 'Analytics'],
  ['/personalization', 'Personalization'],
  ['/experiments', 'Experiments'],
  ['/models', 'Models'],
  ['/alerts', 'Alerts'],
  ['/incidents', 'Incidents'],
  ['/metadata', 'Metadata'],
  ['/versions', 'Versions'],
  ['/users', 'Users'],
];

function page(path: string): ReactNode {
  const [pathname] = path.split('?');
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  switch (parts[0]) {
    case undefined:
      return <Overview />;
    case 'sources':
      return <Sources />;
    case 'quarantine':
      return <Quarantine />;
    case 'debugger':
      return <Debugger />;
    case 'profiles':
      return parts[1] ? <ProfilePage id={parts[1]} /> : <Profiles />;
    case 'audiences':
      return <Audiences selected={parts[1]} />;
    case 'journeys':
      return <Journeys selected={parts[1]} />;
    case 'templates':
      return <Templates />;
    case 'deliveries':
      return <Deliveries />;
    case 'experiments':
      return <Experiments />;
    case 'models':
      return <Models />;
    case 'alerts':
      return <Alerts />;
    case 'incidents':
      return <Incidents />;
    case 'analytics':
      return <Analytics />;
    case 'personalization':
      return <Personalization />;
    case 'metadata':
      return <Metadata />;
    case 'versions':
      return <Versions />;
    case 'users':
      return <Users />;
    default:
      return <p>No page here. <Link to="/">Back to the overview</Link></p>;
  }
}

export function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const path = usePath();
  const [menuOpen, setMenuOpen] = useState(false);
  useEffect(() => {
    // Any navigation closes the menu (a choice of the page shown too). A page chosen in the main navigation takes
    // the focus to its content: keyboard and screen-reader users go on there, not in the rest of the links.
    const went = () => {
      setMenuOpen(false);
      if (document.activeElement?.closest('nav.main-nav')) document.getElementById('main')?.focus();
    };
    window.addEventListener('popstate', went);
    return () => window.removeEventListener('popstate', went);
  }, []);
  useEffect(() => keepScrollablesFocusable(document.body), []);
  useEffect(() => {
    // A readable companion of the HttpOnly session cookie: no request (and no 401 in the console) when signed out.
    if (!document.cookie.split(';').some((c) => c.trim() === 'tandem_console=1')) return setSession(null);
    api<Session>('/session').then(setSession, () => setSession(null));
  }, []);
  useEffect(() => {
    const title = NAV.find(([to]) => to !== '/' && path.startsWith(to))?.[1] ?? 'Overview';
    document.title = `${title} · Tandem`;
  }, [path]);

  if (session === undefined) return <p className="status" role="status">Loading…</p>;
  if (session === null) return <Login onSignedIn={(s) => setSession(s)} />;
  const signOut = () => {
    void api('/session', { method: 'DELETE' }).finally(() => {
      setSession(null);
      navigate('/');
    });
  };
  const current = (to: string) => (to === '/' ? path === '/' : path === to || path.startsWith(`${to}/`) || path.startsWith(`${to}?`));
  return (
    <SessionContext.Provider value={{ session, signOut }}>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <div className="shell">
        <nav aria-label="Main" className={menuOpen ? 'main-nav open' : 'main-nav'}>
          <div className="nav-head">
            <p className="brand">Tandem</p>
            {/* Shown on narrow screens only, where the links fold away (styles.css). */}
            <button type="button" className="menu" aria-expanded={menuOpen} aria-controls="nav-menu" onClick={() => setMenuOpen((open) => !open)}>
              Menu
            </button>
          </div>
          <div id="nav-menu" className="nav-menu">
            <ul>
              {NAV.filter(([to]) => to !== '/users' || session.role === 'admin').map(([to, label]) => (
                <li key={to}>
                  <Link to={to} aria-current={current(to) ? 'page' : undefined}>
                    {label}
                  </Link>
                </li>
              ))}
            </ul>
            <p className="who">
              Signed in as <strong>{session.name}</strong> ({session.role})
            </p>
            <button type="button" onClick={signOut}>
              Sign out
            </button>
          </div>
        </nav>
        <main id="main" tabIndex={-1}>
          {page(path)}
        </main>
      </div>
    </SessionContext.Provider>
  );
}
