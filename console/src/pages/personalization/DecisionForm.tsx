import { ConditionBuilder, type Condition } from '../../components/ConditionBuilder';
import type { FormProps } from '../forms/DefinitionPage';
import { arrayOf, Check, Choice, Group, LongText, Num, Pairs, put, Text } from '../forms/fields';

/** A decision point (src/personalize/definition.ts, kind `decisions`) as the console edits it. */
interface Cap { max: number; within: string }
export interface Offer { key: string; name?: string; content?: Record<string, unknown>; attributes?: Record<string, unknown>; condition?: Condition; cap?: Cap; score?: string }
type Feature =
  | { key: string; when: Condition }
  | { key: string; value: string; scale?: number; default?: number }
  | { key: string; catalog: string; key_from: string; field: string; scale?: number; default?: number };
type Policy = { type: 'rules' } | { type: 'propensity' } | { type: 'bandit'; algorithm: 'linucb' | 'thompson'; features: Feature[]; alpha?: number; v?: number; lambda?: number };
export interface DecisionPoint {
  key: string; name?: string; description?: string; condition?: Condition; offers: Offer[]; policy: Policy; cap?: Cap;
  holdout?: { percent: number; control?: 'random' | 'first'; salt?: string };
  reward?: { events: { event: string; value?: number }[]; within?: string };
}

export const blankDecision = (): DecisionPoint => ({ key: '', offers: [{ key: 'first_offer', content: { title: 'Hello' } }], policy: { type: 'rules' } });

// Conditions of a decision are answered at request time: no event-history nodes (the server says so when one is used).
const ELIGIBLE: Condition = { in_audience: 'vip' };

function CapFields({ label, cap, path, set }: { label: string; cap: Cap | undefined; path: string; set(c: Cap | undefined): void }) {
  return (
    <>
      <Check label={label} checked={cap !== undefined} path={path} onChange={(v) => set(v ? { max: 3, within: '1d' } : undefined)} />
      {cap ? (
        <>
          <Num label={`${label}: at most (times)`} value={cap.max} step={1} min={1} path={`${path}.max`} onChange={(v) => set({ ...cap, max: v ?? 0 })} />
          <Text label={`${label}: within`} value={cap.within} keepEmpty path={`${path}.within`} onChange={(v) => set({ ...cap, within: v ?? '' })} />
        </>
      ) : null}
    </>
  );
}

function OfferFields({ offer, i, policy, set, remove, count }: { offer: Offer; i: number; policy: Policy['type']; set(o: Offer): void; remove(): void; count: number }) {
  const n = i + 1;
  const at = `offers[${i}]`;
  return (
    <fieldset className="filters" aria-label={`Offer ${n}`}>
      <legend>Offer {n}{offer.key ? `: ${offer.key}` : ''}</legend>
      <div className="row">
        <Text label={`Offer ${n} key`} value={offer.key} keepEmpty required path={`${at}.key`} onChange={(v) => set({ ...offer, key: v ?? '' })} />
        <Text label={`Offer ${n} name`} value={offer.name} path={`${at}.name`} onChange={(v) => set(put(offer, 'name', v))} />
        {policy === 'propensity' ? <Text label={`Offer ${n} score (computed trait)`} value={offer.score} path={`${at}.score`} hint="A propensity model's output scores this offer." onChange={(v) => set(put(offer, 'score', v))} /> : null}
        <button type="button" className="secondary" disabled={count <= 1} onClick={remove}>
          Remove offer {n}
        </button>
      </div>
      <Pairs label={`Offer ${n} content`} nameLabel="Field" value={offer.content} path={`${at}.content`} onChange={(v) => set(put(offer, 'content', v))} />
      <Pairs label={`Offer ${n} attributes`} nameLabel="Attribute" typed value={offer.attributes} path={`${at}.attributes`} onChange={(v) => set(put(offer, 'attributes', v))} />
      <Check label={`Offer ${n} has an eligibility condition`} checked={offer.condition !== undefined} path={`${at}.condition`} onChange={(v) => set(put(offer, 'condition', v ? ELIGIBLE : undefined))} />
      {offer.condition !== undefined ? <ConditionBuilder name={`Eligibility of offer ${n}`} value={offer.condition} onChange={(c) => set({ ...offer, condition: c })} /> : null}
      <div className="row">
        <CapFields label={`Offer ${n} own cap`} cap={offer.cap} path={`${at}.cap`} set={(c) => set(put(offer, 'cap', c))} />
      </div>
    </fieldset>
  );
}

function FeatureFields({ f, i, set, remove }: { f: Feature; i: number; set(f: Feature): void; remove(): void }) {
  const n = i + 1;
  const at = `policy.features[${i}]`;
  const kind = 'when' in f ? 'when' : 'catalog' in f ? 'catalog' : 'value';
  return (
    <fieldset className="filters" aria-label={`Feature ${n}`}>
      <legend>Feature {n}{f.key ? `: ${f.key}` : ''}</legend>
      <div className="row">
        <Text label={`Feature ${n} key`} value={f.key} keepEmpty path={`${at}.key`} onChange={(v) => set({ ...f, key: v ?? '' })} />
        <Choice
          label={`Feature ${n} kind`}
          value={kind}
          options={[{ value: 'value', label: 'a number from the profile or context' }, { value: 'when', label: '1 when a condition holds' }, { value: 'catalog', label: 'a number from a catalog row' }]}
          onChange={(k) => set(k === 'when' ? { key: f.key, when: { trait: 'email', exists: true } } : k === 'catalog' ? { key: f.key, catalog: '', key_from: 'context.geo.region', field: '' } : { key: f.key, value: 'context.' })}
        />
        {'value' in f ? <Text label={`Feature ${n} value path`} value={f.value} keepEmpty path={`${at}.value`} hint="traits.<name>, computed.<key> or context.<path>" onChange={(v) => set({ ...f, value: v ?? '' })} /> : null}
        {'catalog' in f ? (
          <>
            <Text label={`Feature ${n} catalog`} value={f.catalog} keepEmpty path={`${at}.catalog`} onChange={(v) => set({ ...f, catalog: v ?? '' })} />
            <Text label={`Feature ${n} row key from`} value={f.key_from} keepEmpty path={`${at}.key_from`} onChange={(v) => set({ ...f, key_from: v ?? '' })} />
            <Text label={`Feature ${n} field`} value={f.field} keepEmpty path={`${at}.field`} onChange={(v) => set({ ...f, field: v ?? '' })} />
          </>
        ) : null}
        {!('when' in f) ? (
          <>
            <Num label={`Feature ${n} scale`} value={f.scale} placeholder="1" path={`${at}.scale`} onChange={(v) => set(put(f, 'scale', v))} />
            <Num label={`Feature ${n} default`} value={f.default} placeholder="0" path={`${at}.default`} onChange={(v) => set(put(f, 'default', v))} />
          </>
        ) : null}
        <button type="button" className="secondary" onClick={remove}>
          Remove feature {n}
        </button>
      </div>
      {'when' in f ? <ConditionBuilder name={`Condition of feature ${n}`} value={f.when} onChange={(c) => set({ ...f, when: c })} /> : null}
    </fieldset>
  );
}

function PolicyFields({ policy, set }: { policy: Policy; set(p: Policy): void }) {
  return (
    <Group title="Ranking policy">
      <div className="row">
        <Choice
          label="Policy"
          value={policy.type}
          path="policy.type"
          options={[{ value: 'rules', label: 'rules: the first eligible offer, in order' }, { value: 'propensity', label: "propensity: the highest score (a model's output)" }, { value: 'bandit', label: 'bandit: learn from rewards' }]}
          onChange={(t) => set(t === 'bandit' ? { type: 'bandit', algorithm: 'thompson', features: [] } : { type: t })}
        />
        {policy.type === 'bandit' ? (
          <>
            <Choice label="Algorithm" value={policy.algorithm} path="policy.algorithm" options={[{ value: 'thompson', label: 'Thompson sampling' }, { value: 'linucb', label: 'LinUCB' }]} onChange={(v) => set({ ...policy, algorithm: v })} />
            {policy.algorithm === 'linucb' ? <Num label="Exploration width (alpha)" value={policy.alpha} placeholder="1" min={0} path="policy.alpha" onChange={(v) => set(put(policy, 'alpha', v))} /> : <Num label="Posterior scale (v)" value={policy.v} placeholder="0.5" min={0} path="policy.v" onChange={(v) => set(put(policy, 'v', v))} />}
            <Num label="Ridge prior precision (lambda)" value={policy.lambda} placeholder="1" min={0} path="policy.lambda" onChange={(v) => set(put(policy, 'lambda', v))} />
          </>
        ) : null}
      </div>
      {policy.type === 'bandit' ? (
        <>
          {arrayOf<Feature>(policy.features).map((f, i) => (
            <FeatureFields key={i} f={f} i={i} set={(g) => set({ ...policy, features: policy.features.map((x, j) => (j === i ? g : x)) })} remove={() => set({ ...policy, features: policy.features.filter((_, j) => j !== i) })} />
          ))}
          <button type="button" className="secondary" onClick={() => set({ ...policy, features: [...arrayOf<Feature>(policy.features), { key: `feature_${policy.features.length + 1}`, value: 'context.' }] })}>
            Add feature
          </button>
        </>
      ) : null}
    </Group>
  );
}

export function DecisionForm({ value, set, isNew }: FormProps<DecisionPoint>) {
  const offers = arrayOf<Offer>(value.offers);
  const policy: Policy = value.policy && typeof value.policy === 'object' ? value.policy : { type: 'rules' };
  const reward = value.reward;
  const events = arrayOf<{ event: string; value?: number }>(reward?.events);
  return (
    <>
      <div className="row">
        <Text label="Decision point key" value={value.key} keepEmpty required readOnly={!isNew} path="key" onChange={(v) => set({ ...value, key: v ?? '' })} />
        <Text label="Decision point name" value={value.name} path="name" onChange={(v) => set(put(value, 'name', v))} />
      </div>
      <LongText label="Description" value={value.description} path="description" rows={2} onChange={(v) => set(put(value, 'description', v))} />
      <Group title="Who gets an offer" hint="Conditions are answered when the page asks: profile facts, audiences, computed traits and the request context (trait context), not event history.">
        <Check label="Only some visitors get any offer" checked={value.condition !== undefined} path="condition" onChange={(v) => set(put(value, 'condition', v ? ELIGIBLE : undefined))} />
        {value.condition !== undefined ? <ConditionBuilder name="Eligibility of the decision" value={value.condition} onChange={(c) => set({ ...value, condition: c })} /> : null}
      </Group>
      <Group title="Offers">
        {offers.map((o, i) => (
          <OfferFields key={i} offer={o} i={i} count={offers.length} policy={policy.type} set={(x) => set({ ...value, offers: offers.map((y, j) => (j === i ? x : y)) })} remove={() => set({ ...value, offers: offers.filter((_, j) => j !== i) })} />
        ))}
        <button type="button" className="secondary" disabled={offers.length >= 100} onClick={() => set({ ...value, offers: [...offers, { key: `offer_${offers.length + 1}` }] })}>
          Add offer
        </button>
      </Group>
      <PolicyFields policy={policy} set={(p) => set({ ...value, policy: p })} />
      <Group title="Caps and holdout">
        <div className="row">
          <CapFields label="Cap per visitor and offer" cap={value.cap} path="cap" set={(c) => set(put(value, 'cap', c))} />
        </div>
        <div className="row">
          <Check label="Hold out some visitors" checked={value.holdout !== undefined} path="holdout" onChange={(v) => set(put(value, 'holdout', v ? { percent: 10 } : undefined))} />
          {value.holdout ? (
            <>
              <Num label="Holdout share (%)" value={value.holdout.percent} min={0} max={50} path="holdout.percent" onChange={(v) => set({ ...value, holdout: { ...value.holdout!, percent: v ?? 0 } })} />
              <Choice label="Holdout is served" value={value.holdout.control ?? 'random'} path="holdout.control" options={[{ value: 'random', label: 'a random eligible offer' }, { value: 'first', label: 'the first eligible offer' }]} onChange={(v) => set({ ...value, holdout: put(value.holdout!, 'control', v === 'random' ? undefined : v) })} />
              <Text label="Holdout salt" value={value.holdout.salt} placeholder={value.key || 'the key'} path="holdout.salt" onChange={(v) => set({ ...value, holdout: put(value.holdout!, 'salt', v) })} />
            </>
          ) : null}
        </div>
      </Group>
      <Group title="Rewards" hint="Track events carrying the property decision_id reward the decision (a bandit learns from them; the holdout is measured by them).">
        {events.map((e, i) => (
          <div className="row" key={i}>
            <Text label={`Reward event ${i + 1}`} value={e.event} keepEmpty path={`reward.events[${i}].event`} onChange={(v) => set({ ...value, reward: { ...reward!, events: events.map((x, j) => (j === i ? { ...x, event: v ?? '' } : x)) } })} />
            <Num label={`Reward event ${i + 1} value`} value={e.value} placeholder="1" path={`reward.events[${i}].value`} onChange={(v) => set({ ...value, reward: { ...reward!, events: events.map((x, j) => (j === i ? put(x, 'value', v) : x)) } })} />
            <button type="button" className="secondary" onClick={() => set(put(value, 'reward', events.length > 1 ? { ...reward!, events: events.filter((_, j) => j !== i) } : undefined))}>
              Remove reward event {i + 1}
            </button>
          </div>
        ))}
        <div className="row">
          <button type="button" className="secondary" disabled={events.length >= 10} onClick={() => set({ ...value, reward: { ...(reward ?? {}), events: [...events, { event: 'Offer Clicked' }] } })}>
            Add reward event
          </button>
          {reward ? <Text label="Reward window" value={reward.within} placeholder="1d" path="reward.within" onChange={(v) => set({ ...value, reward: put(reward, 'within', v) })} /> : null}
        </div>
      </Group>
    </>
  );
}
