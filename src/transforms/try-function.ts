import type { Message } from '../collect/message.js';
import { normalise } from '../collect/normalise.js';
import type { CatalogLookup } from '../conditions/model.js';
import { compileFunction } from './compile.js';
import { limitsOf, type FunctionDefinition } from './function-definition.js';
import { messagesFrom } from './function-output.js';
import { FunctionSandbox } from './sandbox.js';

export interface TryResult {
  ok: boolean;
  result?: unknown;
  /** Event functions: the messages that would be stored. */
  messages?: Message[];
  error?: { reason: string; message: string };
  ms: number;
}

/** Runs a function once on a sample, with its own limits (the CLI's `tandem functions test` and POST .../test). */
export async function runFunctionOnce(def: FunctionDefinition, sample: unknown, catalogs: CatalogLookup, now: number): Promise<TryResult> {
  const script = await compileFunction(def.code, def.language ?? 'javascript');
  let sandbox: FunctionSandbox;
  try {
    sandbox = await FunctionSandbox.create(script, limitsOf(def), { catalog: (c, k) => catalogs.get(c, k) });
  } catch (error) {
    return { ok: false, error: { reason: 'error', message: (error as Error).message }, ms: 0 };
  }
  try {
    let input: unknown = sample;
    if (def.type === 'event') {
      const raw = sample !== null && typeof sample === 'object' && !Array.isArray(sample) ? (sample as Record<string, unknown>) : {};
      // The function sees the event as stored messages look (ids, context, receivedAt filled in).
      input = normalise(raw, ((raw.type as Message['type'] | undefined) ?? 'track'), {}, now, false);
    }
    const started = performance.now();
    const [outcome] = await sandbox.run([input], { source: def.type === 'event' ? def.sources?.[0] : def.source, function: def.key, headers: {} });
    const ms = Math.round((performance.now() - started) * 1000) / 1000;
    if (!outcome.ok) return { ok: false, error: { reason: outcome.reason, message: outcome.message }, ms };
    if (def.type !== 'event') return { ok: true, result: outcome.value, ms };
    const checked = messagesFrom(outcome.value, input as Message, 64);
    if (!checked.ok) return { ok: false, result: outcome.value, error: { reason: 'invalid', message: checked.message }, ms };
    return { ok: true, result: outcome.value, messages: checked.messages, ms };
  } finally {
    sandbox.dispose();
  }
}
