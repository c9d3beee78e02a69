/** Console and API roles, from least to most powerful. */
export const ROLES = ['viewer', 'editor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const isRole = (value: unknown): value is Role => typeof value === 'string' && (ROLES as readonly string[]).includes(value);

/** Admin routes only an admin may call, whatever the method: managing people, credentials and stored secrets. */
const ADMIN_ONLY = /^\/api\/v1\/(?:users|tokens|secrets)(?:\/|$)/;
/** Every signed-in caller may end their own session, viewers included. */
const ANY_ROLE = (method: string, route: string) => method === 'DELETE' && route === '/api/v1/session';

/**
 * POST routes that only compute an answer and change nothing, so a viewer may call them: previews, estimates,
 * simulations, dry runs and reports. Each one is listed by its route pattern (never a prefix), and each is checked
 * to leave the workspace, the profiles, the event log and the audit log unchanged when a viewer calls it
 * (test/users.e2e.test.ts). A route whose body can choose between a dry run and a real change (the quarantine's
 * replay with `dryRun`) is not here: it changes data.
 */
export const READ_ONLY_POSTS: readonly string[] = [
  '/api/v1/audiences/preview', // size and sample of a draft condition
  '/api/v1/analytics/funnel',
  '/api/v1/analytics/retention',
  '/api/v1/analytics/paths',
  '/api/v1/analytics/attribution',
  '/api/v1/analytics/campaigns',
  '/api/v1/templates/:key/render', // a template rendered for a profile, sending nothing
  '/api/v1/journeys/:key/simulate', // the engine over a private in-memory store
  '/api/v1/journeys/:key/backtest', // the same, over past history
  '/api/v1/identity-rules/:key/simulate', // candidate rules replayed over history in memory
  '/api/v1/functions/:key/test', // a saved function run once in its sandbox, nothing stored
  '/api/v1/models-sql/preview', // one SELECT (checked by DuckDB's parser), nothing materialised
  '/api/v1/workspace/plan', // the changes an apply would make, nothing written
];
const READ_ONLY = new Set(READ_ONLY_POSTS);

/** Whether a route computes without changing anything: every GET and HEAD, and the POSTs listed above. */
export const isReadOnly = (method: string, route: string) => method === 'GET' || method === 'HEAD' || (method === 'POST' && READ_ONLY.has(route));

/**
 * Why a role may not call a route (undefined: it may). `route` is the route pattern (`/api/v1/users/:name`), so a
 * check never depends on how a client spells the path. Viewers read (and run the read-only computations above);
 * editors change everything but people and tokens.
 */
export function refusal(role: Role, method: string, route: string): string | undefined {
  if (ANY_ROLE(method, route)) return undefined;
  if (role === 'admin') return undefined;
  if (ADMIN_ONLY.test(route)) return `only an admin may manage users, tokens and secrets; you are signed in as ${role}`;
  if (role === 'viewer' && !isReadOnly(method, route)) return `a viewer may only read (GET, and the read-only previews, simulations and reports); ${method} ${route} changes data and needs the role editor or admin`;
  return undefined;
}
