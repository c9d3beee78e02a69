import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Clock } from '../core/clock.js';
import { badRequest, unauthorized } from '../core/errors.js';
import { sha256 } from '../core/ids.js';
import type { Store } from '../core/ports/store.js';
import { ROLES, type Role } from '../users/roles.js';
import { TOKEN_ACTOR, type Users } from '../users/users.js';
import { cookieValue, SESSION_COOKIE } from './admin-auth.js';
import { limitByIp, type IpRate } from './ip-rate-limit.js';
import { RateLimiter } from '../collect/rate-limit.js';

const RoleSchema = Type.Union(ROLES.map((r) => Type.Literal(r)), { description: 'viewer (read only), editor (everything but users and tokens) or admin.' });
const UserView = Type.Object({
  name: Type.String(),
  role: RoleSchema,
  displayName: Type.Optional(Type.String()),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
const Name = Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }) });
const Password = Type.String({ minLength: 8, maxLength: 200, description: 'At least 8 characters; stored as a scrypt hash.' });
const CreateUser = Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }), password: Password, role: RoleSchema, displayName: Type.Optional(Type.String({ maxLength: 200 })) }, { additionalProperties: false });
const ChangeUser = Type.Object({ password: Type.Optional(Password), role: Type.Optional(RoleSchema), displayName: Type.Optional(Type.String({ maxLength: 200 })) }, { additionalProperties: false });
const Login = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'User name (with password).' })),
    password: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    token: Type.Optional(Type.String({ minLength: 1, maxLength: 500, description: 'Or the admin token, exchanged for an admin session (first sign-in, before any user exists).' })),
  },
  { additionalProperties: false },
);
const SessionView = Type.Object({
  name: Type.String({ description: 'The user name, or `admin` for the admin token.' }),
  role: RoleSchema,
  workspaceId: Type.String(),
  expiresAt: Type.Optional(Type.String({ format: 'date-time', description: 'Absent for the admin token, which does not expire.' })),
  token: Type.Optional(Type.String({ description: 'The session token (only on sign-in): send it as a bearer token from scripts; browsers use the cookie.' })),
});

const iso = (ms: number) => new Date(ms).toISOString();
const view = (u: { name: string; role: Role; displayName?: string; createdAt: number; updatedAt: number }) => ({
  name: u.name, role: u.role, ...(u.displayName !== undefined ? { displayName: u.displayName } : {}), createdAt: iso(u.createdAt), updatedAt: iso(u.updatedAt),
});

export interface UsersRouteDeps {
  users: Users;
  store: Store;
  clock: Clock;
  sessionTtlMs: number;
  /** Sign-in attempts per client address (config network.signInRateLimit); absent: not limited by address. */
  signInRate?: IpRate;
}

/** /api/v1/session (sign in, who am I, sign out) and /api/v1/users (admin only; enforced in admin-auth.ts). */
export function usersRoutes(deps: UsersRouteDeps) {
  const { users, store, clock } = deps;
  const audit = (req: FastifyRequest, action: string, target: string, detail?: unknown) =>
    store.audit.add({ workspaceId: req.workspaceId, actor: req.actor, action, target, detail }, clock.now());
  const secure = (req: FastifyRequest) => req.protocol === 'https' || req.headers['x-forwarded-proto'] === 'https';
  // The session cookie, and a readable flag beside it so the console knows to ask who is signed in (no secret in it).
  const setCookie = (req: FastifyRequest, reply: FastifyReply, token: string, maxAgeSeconds: number) => {
    const attributes = `Path=/; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure(req) ? '; Secure' : ''}`;
    return reply.header('set-cookie', [`${SESSION_COOKIE}=${encodeURIComponent(token)}; HttpOnly; ${attributes}`, `tandem_console=${token ? '1' : ''}; ${attributes}`]);
  };
  const presented = (req: FastifyRequest) => {
    const match = req.headers.authorization ? /^Bearer\s+(\S+)$/i.exec(req.headers.authorization) : null;
    return match?.[1] ?? cookieValue(req.headers.cookie, SESSION_COOKIE);
  };

  // Guessing from one address is slowed here; guessing one user's password from many, by the users' LoginThrottle.
  const signInLimiter = new RateLimiter(deps.clock);
  return async (app: FastifyInstance): Promise<void> => {
    app.post<{ Body: Static<typeof Login> }>(
      '/session',
      { onRequest: async (req, reply) => deps.signInRate && limitByIp(signInLimiter, 'sign-in', req, reply, deps.signInRate, true), schema: { summary: 'Sign in with a user name and password (or the admin token): sets the session cookie', tags: ['users'], body: Login, response: { 200: SessionView } } },
      async (req, reply) => {
        const { name, password, token } = req.body;
        let opened;
        if (token !== undefined) {
          if (name !== undefined || password !== undefined) throw badRequest('invalid_login', 'send either name and password, or token', 'token');
          const workspaceId = await store.tokens.workspaceOf(sha256(token));
          if (!workspaceId) throw unauthorized('the admin token is not valid');
          opened = users.open(workspaceId, null, 'admin');
        } else {
          if (name === undefined) throw badRequest('invalid_login', 'name is required (or sign in with token)', 'name');
          if (password === undefined) throw badRequest('invalid_login', 'password is required', 'password');
          opened = await users.login(name, password);
        }
        const { session } = opened;
        await store.audit.add({ workspaceId: session.workspaceId, actor: session.userName ?? TOKEN_ACTOR, action: 'session.create', target: session.userName ?? TOKEN_ACTOR }, clock.now());
        setCookie(req, reply, opened.token, Math.floor(deps.sessionTtlMs / 1000));
        return { name: session.userName ?? TOKEN_ACTOR, role: session.role, workspaceId: session.workspaceId, expiresAt: iso(session.expiresAt), token: opened.token };
      },
    );

    app.get('/session', { schema: { summary: 'Who is signed in: name, role and workspace', tags: ['users'], response: { 200: SessionView } } }, async (req) => {
      const token = presented(req);
      const session = token ? users.session(token) : undefined;
      return { name: req.actor, role: req.role, workspaceId: req.workspaceId, ...(session ? { expiresAt: iso(session.expiresAt) } : {}) };
    });

    app.delete('/session', { schema: { summary: 'Sign out: ends the session and clears the cookie', tags: ['users'] } }, async (req, reply) => {
      const token = presented(req);
      if (token) users.logout(token);
      setCookie(req, reply, '', 0);
      return reply.status(204).send();
    });

    app.get<{ Querystring: { after?: string; limit?: number } }>(
      '/users',
      {
        schema: {
          summary: 'Users of the workspace, by name (page with `after`)', tags: ['users'],
          querystring: Type.Object({ after: Type.Optional(Type.String()), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })) }),
          response: { 200: Type.Object({ data: Type.Array(UserView), next: Type.Optional(Type.String()) }) },
        },
      },
      async (req) => {
        const limit = req.query.limit ?? 100;
        const rows = users.list(req.workspaceId, req.query.after ?? '', limit);
        return { data: rows.map(view), ...(rows.length === limit ? { next: rows[rows.length - 1].name } : {}) };
      },
    );

    app.post<{ Body: Static<typeof CreateUser> }>('/users', { schema: { summary: 'Create a user', tags: ['users'], body: CreateUser, response: { 201: UserView } } }, async (req, reply) => {
      const user = await users.create(req.workspaceId, req.body);
      await audit(req, 'user.create', user.name, { role: user.role });
      return reply.status(201).send(view(user));
    });

    app.get<{ Params: { name: string } }>('/users/:name', { schema: { summary: 'Get a user', tags: ['users'], params: Name, response: { 200: UserView } } }, async (req) => view(users.get(req.workspaceId, req.params.name)));

    app.put<{ Params: { name: string }; Body: Static<typeof ChangeUser> }>(
      '/users/:name',
      { schema: { summary: "Change a user's role, password or display name (a new password signs them out everywhere)", tags: ['users'], params: Name, body: ChangeUser, response: { 200: UserView } } },
      async (req) => {
        const user = await users.update(req.workspaceId, req.params.name, req.body);
        await audit(req, 'user.update', user.name, { role: user.role, password: req.body.password !== undefined ? 'changed' : undefined });
        return view(user);
      },
    );

    app.delete<{ Params: { name: string } }>('/users/:name', { schema: { summary: 'Delete a user and end their sessions', tags: ['users'], params: Name } }, async (req, reply) => {
      users.remove(req.workspaceId, req.params.name);
      await audit(req, 'user.delete', req.params.name);
      return reply.status(204).send();
    });
  };
}
