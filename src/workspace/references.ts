/**
 * What definitions name: events and their property paths (for the reference checks of plan / apply), audiences and
 * computed traits (for dependents in a plan's impact). The walk is tolerant: it reads bodies that may be invalid.
 */

export interface PropertyRef {
  property: string;
  /** Where the property is named in the definition: `condition.all[0].where[1].property`. */
  path: string;
}

export interface EventRef {
  event: string;
  path: string;
  properties: PropertyRef[];
}

export interface References {
  events: EventRef[];
  /** Properties read from any event (a trait without `event`). */
  anyEvent: PropertyRef[];
  audiences: { key: string; path: string }[];
  computed: { key: string; path: string }[];
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const empty = (): References => ({ events: [], anyEvent: [], audiences: [], computed: [] });

function whereProperties(where: unknown, path: string): PropertyRef[] {
  if (!Array.isArray(where)) return [];
  return where.flatMap((f, i) => (isObject(f) && typeof f.property === 'string' ? [{ property: f.property, path: `${path}[${i}].property` }] : []));
}

/** The references of a condition of the definition language (src/conditions). */
export function conditionReferences(c: unknown, path: string, out: References = empty()): References {
  if (!isObject(c)) return out;
  if (Array.isArray(c.all)) c.all.forEach((x, i) => conditionReferences(x, `${path}.all[${i}]`, out));
  else if (Array.isArray(c.any)) c.any.forEach((x, i) => conditionReferences(x, `${path}.any[${i}]`, out));
  else if (c.not !== undefined) conditionReferences(c.not, `${path}.not`, out);
  else if (typeof c.in_audience === 'string') out.audiences.push({ key: c.in_audience, path: `${path}.in_audience` });
  else if (typeof c.computed === 'string') out.computed.push({ key: c.computed.split('.')[0], path: `${path}.computed` });
  else if (typeof c.catalog === 'string' && isObject(c.key_from) && typeof c.key_from.last_event === 'string') {
    const props = typeof c.key_from.property === 'string' ? [{ property: c.key_from.property, path: `${path}.key_from.property` }] : [];
    out.events.push({ event: c.key_from.last_event, path: `${path}.key_from.last_event`, properties: props });
  } else {
    for (const field of ['performed', 'first_performed', 'last_performed']) {
      if (typeof c[field] === 'string') out.events.push({ event: c[field] as string, path: `${path}.${field}`, properties: whereProperties(c.where, `${path}.where`) });
    }
  }
  return out;
}

function journeyReferences(body: Record<string, unknown>): References {
  const out = empty();
  const t = isObject(body.trigger) ? body.trigger : {};
  if (t.type === 'event' && typeof t.event === 'string') {
    const props = whereProperties(t.where, 'trigger.where');
    const re = isObject(body.re_entry) ? body.re_entry : {};
    if (re.policy === 'unique_on' && typeof re.property === 'string') props.push({ property: re.property, path: 're_entry.property' });
    out.events.push({ event: t.event, path: 'trigger.event', properties: props });
  }
  if (typeof t.audience === 'string') out.audiences.push({ key: t.audience, path: 'trigger.audience' });
  if (isObject(t.performed) && typeof t.performed.event === 'string') {
    const props = typeof t.performed.property === 'string' ? [{ property: t.performed.property, path: 'trigger.performed.property' }] : [];
    out.events.push({ event: t.performed.event, path: 'trigger.performed.event', properties: props });
  }
  if (t.condition !== undefined) conditionReferences(t.condition, 'trigger.condition', out);
  if (body.entry_condition !== undefined) conditionReferences(body.entry_condition, 'entry_condition', out);
  if (Array.isArray(body.exit)) {
    body.exit.forEach((rule, i) => {
      if (!isObject(rule)) return;
      if (typeof rule.event === 'string') out.events.push({ event: rule.event, path: `exit[${i}].event`, properties: whereProperties(rule.where, `exit[${i}].where`) });
      if (typeof rule.audience_exited === 'string') out.audiences.push({ key: rule.audience_exited, path: `exit[${i}].audience_exited` });
    });
  }
  if (isObject(body.goal) && typeof body.goal.event === 'string') out.events.push({ event: body.goal.event, path: 'goal.event', properties: whereProperties(body.goal.where, 'goal.where') });
  if (isObject(body.nodes)) {
    for (const [id, node] of Object.entries(body.nodes)) {
      if (!isObject(node)) continue;
      const at = `nodes.${id}`;
      if (node.type === 'branch') conditionReferences(node.condition, `${at}.condition`, out);
      if (node.type === 'wait_for_event' && typeof node.event === 'string') out.events.push({ event: node.event, path: `${at}.event`, properties: whereProperties(node.where, `${at}.where`) });
    }
  }
  return out;
}

function traitReferences(body: Record<string, unknown>): References {
  const out = empty();
  if (typeof body.sql === 'string') return out;
  const props = whereProperties(body.where, 'where');
  if (isObject(body.compute)) {
    for (const [k, v] of Object.entries(body.compute)) {
      if (k !== 'limit' && typeof v === 'string' && !['since_first', 'since_last'].includes(k)) props.push({ property: v, path: `compute.${k}` });
    }
  }
  if (typeof body.event === 'string') out.events.push({ event: body.event, path: 'event', properties: props });
  else out.anyEvent.push(...props);
  return out;
}

/** The references of one definition of a kind that has them (audiences, traits, journeys); none for other kinds. */
export function referencesOf(kind: string, body: unknown): References {
  if (!isObject(body)) return empty();
  if (kind === 'audiences') return conditionReferences(body.condition, 'condition');
  if (kind === 'traits') return traitReferences(body);
  if (kind === 'journeys') return journeyReferences(body);
  return empty();
}

/** Dotted paths of a JSON Schema's declared properties (`address`, `address.city`), recursively. */
export function schemaPaths(schema: unknown, prefix = '', out = new Set<string>()): Set<string> {
  if (!isObject(schema)) return out;
  if (isObject(schema.properties)) {
    for (const [k, v] of Object.entries(schema.properties)) {
      const p = prefix ? `${prefix}.${k}` : k;
      out.add(p);
      schemaPaths(v, p, out);
    }
  }
  for (const combinator of ['allOf', 'anyOf', 'oneOf']) if (Array.isArray(schema[combinator])) for (const s of schema[combinator] as unknown[]) schemaPaths(s, prefix, out);
  return out;
}

/** Dotted paths present in a value (`address`, `address.city`); arrays are not entered. */
export function valuePaths(value: unknown, prefix = '', out = new Set<string>()): Set<string> {
  if (!isObject(value)) return out;
  for (const [k, v] of Object.entries(value)) {
    const p = prefix ? `${prefix}.${k}` : k;
    out.add(p);
    valuePaths(v, p, out);
  }
  return out;
}
