import type { Clock } from '../core/clock.js';
import { badRequest, TandemError, unauthorized } from '../core/errors.js';
import { newSecret, sha256 } from '../core/ids.js';
import { LoginThrottle } from './login-throttle.js';
import { hashPassword, verifyPassword } from './passwords.js';
import type { Role } from './roles.js';

export interface UserRecord {
  name: string;
  workspaceId: string;
  role: Role;
  displayName?: string;
  passwordHash: string;
  createdAt: number;
  updatedAt: number;
}

/** A signed-in browser or script. `userName` is null for a session opened with the admin token. */
export interface SessionRecord {
  tokenHash: string;
  userName: string | null;
  workspaceId: string;
  role: Role;
  createdAt: number;
  expiresAt: number;
}

/** Where users and sessions live (src/storage/sqlite/users-store.ts). Tokens are only ever stored as hashes. */
export interface UsersStore {
  get(name: string): UserRecord | undefined;
  list(workspaceId: string, after: string, limit: number): UserRecord[];
  insert(user: UserRecord): void;
  update(user: UserRecord): boolean;
  remove(workspaceId: string, name: string): boolean;
  addSession(session: SessionRecord): void;
  session(tokenHash: string): SessionRecord | undefined;
  removeSession(tokenHash: string): boolean;
  endSessionsOf(name: string): void;
  setSessionRole(name: string, role: Role): void;
  expire(now: number): number;
}

/** Who a request acts as, once its credentials are checked. `actor` is what the audit log records. */
export interface Caller {
  workspaceId: string;
  role: Role;
  actor: string;
}

export type UserView = Omit<UserRecord, 'passwordHash'>;
export const publicUser = ({ passwordHash: _hash, ...user }: UserRecord): UserView => user;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$/;
export const SESSION_PREFIX = 'tds_';
/** The actor recorded for the bootstrap admin token and sessions opened with it. */
export const TOKEN_ACTOR = 'admin';

function checkPassword(password: string): void {
  if (password.length < 8) throw badRequest('weak_password', 'password must be at least 8 characters long', 'password');
  if (password.length > 200) throw badRequest('invalid_password', 'password must be at most 200 characters long', 'password');
}

/** People who sign in to the console, their roles, and their sessions (random tokens, stored hashed, with an expiry). */
export class Users {
  /** Verified against when a name is unknown, so that a wrong name costs as long as a wrong password. */
  private decoy: Promise<string> | undefined;

  private readonly throttle: LoginThrottle;

  constructor(private readonly deps: { store: UsersStore; clock: Clock; sessionTtlMs: number }) {
    this.throttle = new LoginThrottle(deps.clock);
  }

  list(workspaceId: string, after = '', limit = 100): UserView[] {
    return this.deps.store.list(workspaceId, after, limit).map(publicUser);
  }

  get(workspaceId: string, name: string): UserView {
    const user = this.deps.store.get(name);
    if (!user || user.workspaceId !== workspaceId) throw new TandemError('not_found', `user '${name}' does not exist`, 404);
    return publicUser(user);
  }

  async create(workspaceId: string, input: { name: string; password: string; role: Role; displayName?: string }): Promise<UserView> {
    if (!NAME.test(input.name)) throw badRequest('invalid_name', 'name must be 1-100 letters, digits or . _ @ + - and start with a letter or digit', 'name');
    checkPassword(input.password);
    if (this.deps.store.get(input.name)) throw new TandemError('conflict', `user '${input.name}' already exists; use PUT to change it`, 409, 'name');
    const now = this.deps.clock.now();
    const user: UserRecord = { name: input.name, workspaceId, role: input.role, displayName: input.displayName, passwordHash: await hashPassword(input.password), createdAt: now, updatedAt: now };
    this.deps.store.insert(user);
    return publicUser(user);
  }

  async update(workspaceId: string, name: string, change: { password?: string; role?: Role; displayName?: string }): Promise<UserView> {
    const user = this.deps.store.get(name);
    if (!user || user.workspaceId !== workspaceId) throw new TandemError('not_found', `user '${name}' does not exist`, 404);
    if (change.password !== undefined) checkPassword(change.password);
    const next: UserRecord = {
      ...user,
      role: change.role ?? user.role,
      displayName: change.displayName ?? user.displayName,
      passwordHash: change.password !== undefined ? await hashPassword(change.password) : user.passwordHash,
      updatedAt: this.deps.clock.now(),
    };
    this.deps.store.update(next);
    // A new password signs the user out everywhere; a new role applies to the open sessions at once.
    if (change.password !== undefined) this.deps.store.endSessionsOf(name);
    else if (next.role !== user.role) this.deps.store.setSessionRole(name, next.role);
    return publicUser(next);
  }

  remove(workspaceId: string, name: string): void {
    if (!this.deps.store.remove(workspaceId, name)) throw new TandemError('not_found', `user '${name}' does not exist`, 404);
  }

  /** Password login: a new session. The same answer for an unknown name and a wrong password; repeated failures are throttled. */
  async login(name: string, password: string): Promise<{ token: string; session: SessionRecord }> {
    const wait = this.throttle.retryAfter(name);
    if (wait > 0) throw Object.assign(new TandemError('too_many_attempts', `too many failed sign-ins for '${name}'; try again in ${Math.ceil(wait / 60_000)} minute(s)`, 429, 'name'), { retryAfterSeconds: Math.ceil(wait / 1000) });
    const user = this.deps.store.get(name);
    if (!user) {
      this.decoy ??= hashPassword('not a password of anyone');
      await verifyPassword(password, await this.decoy);
      this.throttle.failed(name);
      throw unauthorized('the user name or password is wrong');
    }
    if (!(await verifyPassword(password, user.passwordHash))) {
      this.throttle.failed(name);
      throw unauthorized('the user name or password is wrong');
    }
    this.throttle.succeeded(name);
    return this.open(user.workspaceId, user.name, user.role);
  }

  /** A session for a caller already proven (the admin token exchanged for a browser session). */
  open(workspaceId: string, userName: string | null, role: Role): { token: string; session: SessionRecord } {
    const now = this.deps.clock.now();
    this.deps.store.expire(now);
    const token = newSecret(SESSION_PREFIX, 32);
    const session: SessionRecord = { tokenHash: sha256(token), userName, workspaceId, role, createdAt: now, expiresAt: now + this.deps.sessionTtlMs };
    this.deps.store.addSession(session);
    return { token, session };
  }

  /** The caller behind a session token, or undefined when it is unknown, ended or expired. */
  resolve(token: string): Caller | undefined {
    const session = this.deps.store.session(sha256(token));
    if (!session) return undefined;
    if (session.expiresAt <= this.deps.clock.now()) {
      this.deps.store.removeSession(session.tokenHash);
      return undefined;
    }
    return { workspaceId: session.workspaceId, role: session.role, actor: session.userName ?? TOKEN_ACTOR };
  }

  session(token: string): SessionRecord | undefined {
    const session = this.deps.store.session(sha256(token));
    return session && session.expiresAt > this.deps.clock.now() ? session : undefined;
  }

  logout(token: string): boolean {
    return this.deps.store.removeSession(sha256(token));
  }
}
