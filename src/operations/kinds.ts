import type { TSchema } from '@sinclair/typebox';
import type { KindContext, WorkspaceKind } from '../workspace/kinds.js';
import { AlertBody, ALERTS_KIND, checkAlert, type AlertRule } from './alerts/definition.js';
import { checkMonitor, MonitorBody, MONITORS_KIND, type Monitor } from './monitors/definition.js';
import { checkSignal, SignalBody, SIGNALS_KIND, type Signal } from './signals.js';
import { checkAlertDestinations } from './notify/destinations.js';
import { STRICT_GUARD, type DestinationGuard } from '../network/destination-guard.js';

type CheckShape = <T>(schema: TSchema, body: unknown) => T;

/** The schemas of the operations kinds, for the published workspace schema. */
export const OPERATIONS_KIND_SCHEMAS = [
  { kind: SIGNALS_KIND, schema: SignalBody, description: 'A custom signal: count, sum or average of matching events per window (docs/operations.md).' },
  { kind: MONITORS_KIND, schema: MonitorBody, description: 'A data-quality monitor (docs/operations.md).' },
  { kind: ALERTS_KIND, schema: AlertBody, description: 'An alert rule with its runbook (Markdown) and notification targets (docs/operations.md).' },
];

const has = (ctx: KindContext, kind: string) => (key: string) => ctx.proposed.get(kind)?.has(key) ?? false;
const users = (ctx: KindContext, field: 'monitor' | 'signal', key: string) =>
  [...(ctx.proposed.get(ALERTS_KIND) ?? new Map<string, unknown>()).entries()].filter(([, a]) => (a as AlertRule | null)?.[field] === key).map(([k]) => `'${k}'`);

/** signals, monitors and alerts as workspace kinds: the same checks as their routes; a change re-reads the definitions. */
export function operationsKinds(checkShape: CheckShape, changed: (workspaceId: string) => Promise<void>, inUse: (message: string) => Error, guard: DestinationGuard = STRICT_GUARD): WorkspaceKind[] {
  return [
    {
      kind: SIGNALS_KIND,
      schema: SignalBody,
      validate: async (body) => checkSignal(checkShape<Signal>(SignalBody, body)),
      checkDelete(key, ctx) {
        const u = users(ctx, 'signal', key);
        if (u.length) throw inUse(`signal '${key}' is watched by alert rule ${u.join(', ')}; change them first`);
      },
      changed: (ws) => changed(ws),
    },
    {
      kind: MONITORS_KIND,
      schema: MonitorBody,
      validate: async (body) => checkMonitor(checkShape<Monitor>(MonitorBody, body)),
      checkDelete(key, ctx) {
        const u = users(ctx, 'monitor', key);
        if (u.length) throw inUse(`monitor '${key}' is watched by alert rule ${u.join(', ')}; change them first`);
      },
      changed: (ws) => changed(ws),
    },
    {
      kind: ALERTS_KIND,
      schema: AlertBody,
      validate: async (body, ctx) => checkAlertDestinations(checkAlert(checkShape<AlertRule>(AlertBody, body), { monitor: has(ctx, MONITORS_KIND), signal: has(ctx, SIGNALS_KIND) }), guard),
      changed: (ws) => changed(ws),
    },
  ];
}
