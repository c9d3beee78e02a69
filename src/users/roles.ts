/** Console and API roles, from least to most powerful. */
export const ROLES = ['viewer', 'editor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const isRole = (value: unknown): value is Role => typeof value === 'string' && (ROLES as readonly string[]).includes(value);

/** Admin routes only an admin may call, whatever the method: managing people, credentials and stored secrets. */
const ADMIN_ONLY = /^\/api\/v1\/(?:users|tokens|secrets)(?:\/|$)/;
/** Every signed-in caller may end their own session, viewers included. */
const ANY_ROLE = (method: string, route: string) => method === 'DELETE' && route === '/api/v1/session';

/**
 * Why a role may not call a route (undefined: it may). `route` is the route pattern (`/api/v1/users/:name`), so a
 * check never depends on how a client spells the path. Viewers read; editors change everything but people and tokens.
 */
export function refusal(role: Role, method: string, route: string): string | undefined {
  if (ANY_ROLE(method, route)) return undefined;
  if (role === 'admin') return undefined;
  if (ADMIN_ONLY.test(route)) return `only an admin may manage users, tokens and secrets; you are signed in as ${role}`;
  if (role === 'viewer' && method !== 'GET' && method !== 'HEAD') return `a viewer may only read (GET); ${method} ${route} changes data and needs the role editor or admin`;
  return undefined;
}
