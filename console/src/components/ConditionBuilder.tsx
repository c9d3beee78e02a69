import { useId } from 'react';

/**
 * A visual editor for every node kind of the condition language (src/conditions/nodes): the value edited is the
 * condition itself, exactly what the API stores, so nothing is lost between the builder and YAML.
 */
export type Condition = Record<string, unknown>;

export const NODE_KINDS = [
  ['all', 'All of'],
  ['any', 'Any of'],
  ['not', 'Not'],
  ['trait', 'Trait'],
  ['computed', 'Computed trait'],
  ['performed', 'Performed event'],
  ['first_performed', 'First performed'],
  ['last_performed', 'Last performed'],
  ['in_audience', 'In audience'],
  ['has_identifier', 'Has identifier'],
  ['subscribed', 'Subscribed to'],
  ['catalog', 'Catalog lookup'],
  ['bucket', 'Random bucket'],
] as const;
type Kind = (typeof NODE_KINDS)[number][0];

const VALUE_OPS = ['eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'between', 'in', 'contains', 'starts_with', 'exists', 'before', 'after', 'within'] as const;
const PROPERTY_OPS = VALUE_OPS.filter((o) => o !== 'within');
const AGE_OPS = ['gt', 'gte', 'lt', 'lte'] as const;

export const kindOf = (c: Condition): Kind => (NODE_KINDS.find(([k]) => k in c)?.[0] ?? 'all') as Kind;

export function defaultNode(kind: Kind): Condition {
  switch (kind) {
    case 'all':
    case 'any':
      return { [kind]: [] };
    case 'not':
      return { not: { trait: 'email', exists: true } };
    case 'trait':
      return { trait: 'email', exists: true };
    case 'computed':
      return { computed: 'lifetime_value', gte: 100 };
    case 'performed':
      return { performed: 'Order Completed', within: '30d' };
    case 'first_performed':
    case 'last_performed':
      return { [kind]: 'Order Completed', ago: { gt: '30d' } };
    case 'in_audience':
      return { in_audience: 'vip' };
    case 'has_identifier':
      return { has_identifier: 'email' };
    case 'subscribed':
      return { subscribed: 'marketing_email' };
    case 'catalog':
      return { catalog: 'products', key_from: { last_event: 'Product Viewed', property: 'sku' }, where: [{ field: 'stock', gt: 0 }] };
    case 'bucket':
      return { bucket: { salt: 'split', lt: 50 } };
  }
}

/** The text typed for an operator's value, turned into what the condition language expects. */
export function parseOperand(op: string, text: string): unknown {
  const scalar = (s: string): unknown => {
    const t = s.trim();
    if (t === 'true' || t === 'false') return t === 'true';
    if (t !== '' && Number.isFinite(Number(t))) return Number(t);
    return t;
  };
  switch (op) {
    case 'exists':
      return text !== 'false';
    case 'gt': case 'gte': case 'lt': case 'lte':
      return Number(text);
    case 'between':
      return text.split(',').map((s) => Number(s.trim()));
    case 'in':
      return text.split(',').map(scalar);
    case 'eq': case 'neq':
      return scalar(text);
    default:
      return text;
  }
}
const operandText = (v: unknown) => (Array.isArray(v) ? v.join(', ') : v === undefined ? '' : String(v));

function Input(props: { label: string; value: string; onChange(v: string): void; type?: string }) {
  const id = useId();
  return (
    <span className="field">
      <label htmlFor={id}>{props.label}</label>
      <input id={id} type={props.type ?? 'text'} value={props.value} onChange={(e) => props.onChange(e.target.value)} />
    </span>
  );
}
function Select(props: { label: string; value: string; options: readonly string[] | readonly (readonly [string, string])[]; onChange(v: string): void }) {
  const id = useId();
  return (
    <span className="field">
      <label htmlFor={id}>{props.label}</label>
      <select id={id} value={props.value} onChange={(e) => props.onChange(e.target.value)}>
        {props.options.map((o) => {
          const [value, label] = typeof o === 'string' ? [o, o] : o;
          return <option key={value} value={value}>{label}</option>;
        })}
      </select>
    </span>
  );
}

/** `{ <field>: name, <op>: value }`: one operator and its value, as in traits, properties and catalog rows. */
function Comparison(props: { node: Condition; field: string; ops: readonly string[]; onChange(c: Condition): void }) {
  const { node, field } = props;
  const op = props.ops.find((o) => o in node) ?? props.ops[0];
  const set = (nextOp: string, text: string) => {
    const next: Condition = { [field]: node[field] };
    for (const [k, v] of Object.entries(node)) if (k !== field && !(props.ops as readonly string[]).includes(k)) next[k] = v;
    next[nextOp] = parseOperand(nextOp, text);
    props.onChange(next);
  };
  const text = operandText(node[op]);
  return (
    <>
      <Select label="Operator" value={op} options={props.ops} onChange={(o) => set(o, o === 'exists' ? 'true' : text)} />
      {op === 'exists' ? (
        <Select label="Value" value={String(node.exists ?? true)} options={[['true', 'exists'], ['false', 'is missing']]} onChange={(v) => set('exists', v)} />
      ) : (
        <Input label={op === 'between' ? 'Value (low, high)' : op === 'in' ? 'Values (comma separated)' : op === 'within' ? 'Value (duration, e.g. 7d)' : 'Value'} value={text} onChange={(v) => set(op, v)} />
      )}
    </>
  );
}

/** A list of property (or catalog row) filters, as in `performed.where`; journeys' event waits use it too. */
export function Filters(props: { label: string; field: 'property' | 'field'; list: Condition[]; onChange(list: Condition[]): void }) {
  return (
    <fieldset className="filters">
      <legend>{props.label}</legend>
      {props.list.map((f, i) => (
        <div className="row" key={i}>
          <Input label={props.field === 'property' ? 'Property' : 'Field'} value={String(f[props.field] ?? '')} onChange={(v) => props.onChange(props.list.map((g, j) => (j === i ? { ...g, [props.field]: v } : g)))} />
          <Comparison node={f} field={props.field} ops={PROPERTY_OPS} onChange={(g) => props.onChange(props.list.map((h, j) => (j === i ? g : h)))} />
          <button type="button" onClick={() => props.onChange(props.list.filter((_, j) => j !== i))} aria-label={`Remove ${props.field} filter ${i + 1}`}>Remove</button>
        </div>
      ))}
      <button type="button" onClick={() => props.onChange([...props.list, { [props.field]: '', eq: '' }])}>Add {props.field} filter</button>
    </fieldset>
  );
}

export function ConditionBuilder(props: { value: Condition; onChange(c: Condition): void; onRemove?(): void; name?: string }) {
  const { value: node, onChange } = props;
  const kind = kindOf(node);
  const name = props.name ?? 'Condition';
  const body = (() => {
    switch (kind) {
      case 'all':
      case 'any': {
        const list = (node[kind] as Condition[]) ?? [];
        return (
          <>
            {list.map((child, i) => (
              <ConditionBuilder
                key={i}
                name={`${name}.${i + 1}`}
                value={child}
                onChange={(c) => onChange({ [kind]: list.map((x, j) => (j === i ? c : x)) })}
                onRemove={() => onChange({ [kind]: list.filter((_, j) => j !== i) })}
              />
            ))}
            <button type="button" onClick={() => onChange({ [kind]: [...list, defaultNode('trait')] })}>
              Add condition to {name}
            </button>
          </>
        );
      }
      case 'not':
        return <ConditionBuilder name={`${name}.1`} value={node.not as Condition} onChange={(c) => onChange({ not: c })} />;
      case 'trait':
      case 'computed':
        return (
          <div className="row">
            <Input label={kind === 'trait' ? 'Trait' : 'Computed trait'} value={String(node[kind] ?? '')} onChange={(v) => onChange({ ...node, [kind]: v })} />
            <Comparison node={node} field={kind} ops={VALUE_OPS} onChange={onChange} />
          </div>
        );
      case 'performed': {
        const countOp = Object.keys((node.count as object) ?? {})[0] ?? '';
        return (
          <>
            <div className="row">
              <Input label="Event" value={String(node.performed ?? '')} onChange={(v) => onChange({ ...node, performed: v })} />
              <Input label="Within (duration, empty: all time)" value={String(node.within ?? '')} onChange={(v) => { const { within: _w, ...rest } = node; onChange(v ? { ...rest, within: v } : rest); }} />
              <Select label="Count" value={countOp} options={[['', 'at least once'], ['gte', 'at least'], ['gt', 'more than'], ['eq', 'exactly'], ['lte', 'at most'], ['lt', 'fewer than']]} onChange={(op) => { const { count: _c, ...rest } = node; onChange(op ? { ...rest, count: { [op]: 1 } } : rest); }} />
              {countOp ? <Input label="Times" type="number" value={String((node.count as Record<string, number>)[countOp])} onChange={(v) => onChange({ ...node, count: { [countOp]: Number(v) } })} /> : null}
            </div>
            <Filters label="Property filters" field="property" list={(node.where as Condition[]) ?? []} onChange={(list) => { const { where: _w, ...rest } = node; onChange(list.length ? { ...rest, where: list } : rest); }} />
          </>
        );
      }
      case 'first_performed':
      case 'last_performed': {
        const ago = (node.ago as Record<string, string>) ?? {};
        const op = Object.keys(ago)[0] ?? 'gt';
        return (
          <div className="row">
            <Input label="Event" value={String(node[kind] ?? '')} onChange={(v) => onChange({ ...node, [kind]: v })} />
            <Select label="Ago" value={op} options={AGE_OPS.map((o) => [o, { gt: 'more than', gte: 'at least', lt: 'less than', lte: 'at most' }[o]] as const)} onChange={(o) => onChange({ ...node, ago: { [o]: ago[op] ?? '30d' } })} />
            <Input label="Duration" value={ago[op] ?? ''} onChange={(v) => onChange({ ...node, ago: { [op]: v } })} />
          </div>
        );
      }
      case 'in_audience':
      case 'has_identifier':
      case 'subscribed':
        return <Input label={{ in_audience: 'Audience key', has_identifier: 'Identifier type', subscribed: 'Subscription group' }[kind]} value={String(node[kind] ?? '')} onChange={(v) => onChange({ [kind]: v })} />;
      case 'catalog': {
        const from = (node.key_from as Record<string, string>) ?? {};
        const byTrait = 'trait' in from;
        return (
          <>
            <div className="row">
              <Input label="Catalog" value={String(node.catalog ?? '')} onChange={(v) => onChange({ ...node, catalog: v })} />
              <Select label="Row key from" value={byTrait ? 'trait' : 'last_event'} options={[['trait', 'a trait'], ['last_event', 'the last event']]} onChange={(v) => onChange({ ...node, key_from: v === 'trait' ? { trait: '' } : { last_event: '', property: '' } })} />
              {byTrait ? (
                <Input label="Key trait" value={from.trait ?? ''} onChange={(v) => onChange({ ...node, key_from: { trait: v } })} />
              ) : (
                <>
                  <Input label="Key event" value={from.last_event ?? ''} onChange={(v) => onChange({ ...node, key_from: { ...from, last_event: v } })} />
                  <Input label="Key property" value={from.property ?? ''} onChange={(v) => onChange({ ...node, key_from: { ...from, property: v } })} />
                </>
              )}
            </div>
            <Filters label="Row filters" field="field" list={(node.where as Condition[]) ?? []} onChange={(list) => onChange({ ...node, where: list })} />
          </>
        );
      }
      case 'bucket': {
        const b = (node.bucket as Record<string, string | number>) ?? {};
        const num = (k: string, v: string) => {
          const next = { ...b };
          if (v === '') delete next[k];
          else next[k] = Number(v);
          onChange({ bucket: next });
        };
        return (
          <div className="row">
            <Input label="Salt" value={String(b.salt ?? '')} onChange={(v) => onChange({ bucket: { ...b, salt: v } })} />
            <Input label="From bucket (gte)" type="number" value={String(b.gte ?? '')} onChange={(v) => num('gte', v)} />
            <Input label="Below bucket (lt)" type="number" value={String(b.lt ?? '')} onChange={(v) => num('lt', v)} />
          </div>
        );
      }
    }
  })();
  return (
    <fieldset className="condition" aria-label={name}>
      <legend>{name}</legend>
      <div className="row">
        <Select label={`Type of ${name}`} value={kind} options={NODE_KINDS} onChange={(k) => onChange(defaultNode(k as Kind))} />
        {props.onRemove ? <button type="button" onClick={props.onRemove}>Remove {name}</button> : null}
      </div>
      {body}
    </fieldset>
  );
}
