import type { Clock } from '../core/clock.js';
import { badRequest } from '../core/errors.js';
import type { SqliteSecretsStore } from '../storage/sqlite/secrets-store.js';
import { open, seal, SecretUnreadable, type MasterKey } from './crypto.js';
import type { SecretSource } from './reference.js';

export interface SecretInfo {
  name: string;
  /** The master key it is sealed under (an id, not the key). */
  keyId: string;
  createdAt: number;
  updatedAt: number;
}

const NAME = /^[A-Za-z0-9_.-]{1,100}$/;
const MAX_VALUE_BYTES = 64 * 1024;

/**
 * The workspace's stored secrets (SMTP passwords, webhook signing secrets, PagerDuty keys, ...): sealed with
 * AES-256-GCM under the master key in store.db, opened in memory when the server starts or a secret is set, and
 * never returned by the API. A value that cannot be opened (another master key) is reported when it is used.
 */
export class Secrets implements SecretSource {
  private readonly values = new Map<string, string | SecretUnreadable>();

  constructor(
    private readonly store: SqliteSecretsStore,
    private readonly master: MasterKey,
    private readonly clock: Clock,
    readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    for (const row of store.all()) {
      try {
        this.values.set(key(row.workspaceId, row.name), open(master, row.workspaceId, row.name, row));
      } catch (error) {
        if (!(error instanceof SecretUnreadable)) throw error;
        this.values.set(key(row.workspaceId, row.name), error);
      }
    }
  }

  get keyId(): string {
    return this.master.id;
  }

  stored(workspaceId: string, name: string): string | undefined {
    const value = this.values.get(key(workspaceId, name));
    if (value instanceof SecretUnreadable) throw value;
    return value;
  }

  list(workspaceId: string): SecretInfo[] {
    return this.store
      .all()
      .filter((r) => r.workspaceId === workspaceId)
      .map((r) => ({ name: r.name, keyId: r.keyId, createdAt: r.createdAt, updatedAt: r.updatedAt }));
  }

  /** Sets (creates or replaces) a secret; returns whether it existed. */
  set(workspaceId: string, name: string, value: string): boolean {
    if (!NAME.test(name)) throw badRequest('invalid_name', `secret name '${name}' must be 1-100 letters, digits, '_', '.' or '-'`, 'name');
    if (value === '') throw badRequest('invalid_value', 'value must not be empty', 'value');
    if (Buffer.byteLength(value) > MAX_VALUE_BYTES) throw badRequest('invalid_value', `value is over ${MAX_VALUE_BYTES} bytes`, 'value');
    const existed = this.values.has(key(workspaceId, name));
    this.store.put({ workspaceId, name, ...seal(this.master, workspaceId, name, value), updatedAt: this.clock.now() });
    this.values.set(key(workspaceId, name), value);
    return existed;
  }

  remove(workspaceId: string, name: string): boolean {
    this.values.delete(key(workspaceId, name));
    return this.store.remove(workspaceId, name);
  }
}

const key = (workspaceId: string, name: string) => `${workspaceId}\u0000${name}`;
