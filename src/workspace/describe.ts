import { describeField } from './diff.js';
import type { Plan, PlannedChange } from './workspace.js';

/** Human-readable plan lines, as the CLI prints them. */
export function describePlan(plan: Plan): string[] {
  const lines: string[] = [];
  const sign = { create: '+', update: '~', delete: '-' } as const;
  for (const c of plan.changes) {
    lines.push(`${sign[c.op]} ${c.op} ${c.kind}/${c.key}`);
    if (c.op === 'update') for (const f of c.fields) lines.push(`    ${describeField(f)}`);
    for (const i of c.impact) lines.push(`    impact: ${i}`);
  }
  if (plan.changes.length === 0) lines.push('No changes.');
  const counts = (op: PlannedChange['op']) => plan.changes.filter((c) => c.op === op).length;
  lines.push(`Plan: ${counts('create')} to create, ${counts('update')} to update, ${counts('delete')} to delete, ${plan.unchanged} unchanged (workspace version ${plan.baseVersion}).`);
  if (!plan.prune && plan.notInDocuments.length) {
    lines.push(`${plan.notInDocuments.length} definition${plan.notInDocuments.length > 1 ? 's are' : ' is'} in the workspace but not in the files and will be kept (pass --prune to delete them): ${plan.notInDocuments.join(', ')}`);
  }
  for (const r of plan.references) lines.push(`${plan.strict ? 'error' : 'warning'}: ${r.document}: ${r.message}`);
  if (plan.references.length && plan.strict) lines.push('Strict mode (workspace-settings strict: true): apply will refuse these references.');
  return lines;
}
