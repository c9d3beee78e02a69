/** Renders JSON Schemas (as TypeBox produces them) as Markdown field tables for the reference docs. */

export interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  const?: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  maxLength?: number;
  minLength?: number;
  pattern?: string;
  additionalProperties?: boolean | JsonSchema;
  $ref?: string;
}

export function typeOf(s: JsonSchema): string {
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' \\| ');
  if (s.anyOf) return s.anyOf.map(typeOf).join(' \\| ');
  if (s.type === 'array') return `${s.items ? typeOf(s.items) : 'any'}[]`;
  if (Array.isArray(s.type)) return s.type.join(' \\| ');
  return s.type ?? 'any';
}

function constraints(s: JsonSchema): string {
  const out: string[] = [];
  if (s.minimum !== undefined) out.push(`≥ ${s.minimum}`);
  if (s.exclusiveMinimum !== undefined) out.push(`> ${s.exclusiveMinimum}`);
  if (s.maximum !== undefined) out.push(`≤ ${s.maximum}`);
  if (s.minLength !== undefined) out.push(`length ≥ ${s.minLength}`);
  if (s.maxLength !== undefined) out.push(`length ≤ ${s.maxLength}`);
  if (s.pattern !== undefined) out.push(`pattern \`${s.pattern}\``);
  return out.join(', ');
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** One row per field, nested objects flattened with dotted names. */
export function fieldRows(schema: JsonSchema, prefix = '', withDefault = false): string[] {
  const rows: string[] = [];
  const required = new Set(schema.required ?? []);
  for (const [name, field] of Object.entries(schema.properties ?? {})) {
    const full = prefix ? `${prefix}.${name}` : name;
    const notes = [field.description ?? '', constraints(field)].filter(Boolean).join(' ');
    const cols = [`\`${full}\``, `\`${typeOf(field)}\``];
    if (withDefault) cols.push(field.default !== undefined && typeof field.default !== 'object' ? `\`${JSON.stringify(field.default)}\`` : '');
    else cols.push(required.has(name) ? 'yes' : '');
    cols.push(cell(notes));
    rows.push(`| ${cols.join(' | ')} |`);
    if (field.properties) rows.push(...fieldRows(field, full, withDefault));
    if (field.type === 'array' && field.items?.properties) rows.push(...fieldRows(field.items, `${full}[]`, withDefault));
  }
  return rows;
}

export function fieldTable(schema: JsonSchema, withDefault = false): string {
  const rows = fieldRows(schema, '', withDefault);
  if (rows.length === 0) return '';
  const head = withDefault ? '| setting | type | default | meaning |\n|---|---|---|---|' : '| field | type | required | meaning |\n|---|---|---|---|';
  return `${head}\n${rows.join('\n')}\n`;
}
