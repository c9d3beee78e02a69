/**
 * NATS for the tests: the shared JetStream server (127.0.0.1:4222, or NATS_URL), whether it answers, streams with
 * names of their own per test, and private nats-server processes that a test may stop and start again (the shared
 * server is used by others and is never stopped). Tests skip without NATS, except under CI=true where they fail.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

export const SHARED_NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
export const NATS_SERVER_BINARY = process.env.NATS_SERVER_BINARY ?? '/usr/sbin/nats-server';
/** Nothing listens here: a log pointed at it cannot connect. */
export const CLOSED_NATS_URL = 'nats://127.0.0.1:4299';

/** True if the server accepts a connection and has JetStream. */
export async function natsReachable(url = SHARED_NATS_URL): Promise<boolean> {
  try {
    const nc = await connect({ servers: url, timeout: 1500, maxReconnectAttempts: 0 });
    try {
      await (await jetstreamManager(nc)).getAccountInfo();
      return true;
    } finally {
      await nc.close();
    }
  } catch {
    return false;
  }
}

/** Whether the NATS tests run: when the server answers, and always under CI=true (where they then fail). */
export const mustRunNats = (reachable: boolean) => reachable || process.env.CI === 'true';

/** A stream name and subject prefix no other test run uses. */
export function uniqueStream(label: string): { stream: string; subjectPrefix: string } {
  const id = `${process.pid}_${randomBytes(4).toString('hex')}`;
  return { stream: `TEST_${label.toUpperCase()}_${id}`, subjectPrefix: `test.${label.toLowerCase()}.${id}` };
}

export async function deleteStream(url: string, stream: string): Promise<void> {
  const nc = await connect({ servers: url, timeout: 1500, maxReconnectAttempts: 0 });
  try {
    await (await jetstreamManager(nc)).streams.delete(stream).catch(() => false);
  } finally {
    await nc.close();
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/** A nats-server of the test's own, with JetStream in a temporary store directory; stop() and start() keep both. */
export class LocalNatsServer {
  private child: ChildProcess | undefined;

  private constructor(readonly port: number, readonly storeDir: string) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  static available(): boolean {
    return existsSync(NATS_SERVER_BINARY);
  }

  static async start(): Promise<LocalNatsServer> {
    const server = new LocalNatsServer(await freePort(), mkdtempSync(join(tmpdir(), 'tandem-nats-')));
    await server.start();
    return server;
  }

  async start(): Promise<void> {
    if (this.child) return;
    const child = spawn(NATS_SERVER_BINARY, ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.storeDir], { stdio: 'ignore' });
    this.child = child;
    child.once('exit', () => {
      if (this.child === child) this.child = undefined;
    });
    for (let i = 0; i < 100; i++) {
      if (await accepts(this.port)) return;
      if (!this.child) throw new Error(`nats-server on port ${this.port} exited at start`);
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`nats-server on port ${this.port} did not start within 5 s`);
  }

  /** Stops this server (only the process this object started, by its pid). */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    this.child = undefined;
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.storeDir, { recursive: true, force: true });
  }
}
