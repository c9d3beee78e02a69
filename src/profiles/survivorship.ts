import type { IdentityRules, SurvivorshipRule } from '../identity/rules.js';

/** Where a trait value came from. `at` is the event timestamp (ms). */
export interface TraitLineage {
  sourceId: string;
  messageId: string;
  eventId: number;
  at: number;
}

/**
 * Everything a profile has been told about one trait, compacted: one entry per (value, source) with how often
 * it was sent and its first and last sighting. This is enough to apply any survivorship rule, again after a merge.
 */
export interface TraitObservation {
  name: string;
  /** The value, JSON-encoded. */
  value: string;
  sourceId: string;
  count: number;
  first: TraitLineage;
  last: TraitLineage;
}

export interface SurvivingTrait {
  value: unknown;
  rule: SurvivorshipRule['rule'];
  lineage: TraitLineage;
}

const later = (a: TraitLineage, b: TraitLineage) => a.at - b.at || a.eventId - b.eventId;

/**
 * Picks the surviving value of one trait. `last`: latest event timestamp (ties: later event); `first`: earliest;
 * `most-frequent`: most sightings over all sources (ties: latest); `source-priority`: the value from the most
 * trusted listed source that sent one, latest first (unlisted sources rank last). Lineage is the sighting that
 * made the value win.
 */
export function survive(observations: readonly TraitObservation[], rule: SurvivorshipRule, sourceKey: (sourceId: string) => string): SurvivingTrait | undefined {
  if (observations.length === 0) return undefined;
  const pick = (o: TraitObservation, lineage: TraitLineage): SurvivingTrait => ({ value: JSON.parse(o.value) as unknown, rule: rule.rule, lineage });
  switch (rule.rule) {
    case 'first': {
      const best = observations.reduce((a, b) => (later(b.first, a.first) < 0 ? b : a));
      return pick(best, best.first);
    }
    case 'most-frequent': {
      const totals = new Map<string, { count: number; latest: TraitObservation }>();
      for (const o of observations) {
        const t = totals.get(o.value);
        if (!t) totals.set(o.value, { count: o.count, latest: o });
        else {
          t.count += o.count;
          if (later(o.last, t.latest.last) > 0) t.latest = o;
        }
      }
      const best = [...totals.values()].reduce((a, b) => (b.count > a.count || (b.count === a.count && later(b.latest.last, a.latest.last) > 0) ? b : a));
      return pick(best.latest, best.latest.last);
    }
    case 'source-priority': {
      const order = rule.sources ?? [];
      const rank = (o: TraitObservation) => {
        const i = order.indexOf(sourceKey(o.sourceId));
        return i < 0 ? order.length : i;
      };
      const best = observations.reduce((a, b) => (rank(b) < rank(a) || (rank(b) === rank(a) && later(b.last, a.last) > 0) ? b : a));
      return pick(best, best.last);
    }
    case 'last': {
      const best = observations.reduce((a, b) => (later(b.last, a.last) > 0 ? b : a));
      return pick(best, best.last);
    }
  }
}

/** A trait as one event states it, before it joins a profile's observations. */
export interface TraitSighting {
  name: string;
  value: string;
}

/**
 * The traits an event states about its person: an identify call's traits, one entry per top-level trait,
 * values JSON-encoded (a nested object is one value). Values that are not representable in JSON are skipped.
 */
export function sightings(message: { type: string; traits?: Record<string, unknown> }): TraitSighting[] {
  if (message.type !== 'identify' || !message.traits) return [];
  const out: TraitSighting[] = [];
  for (const [name, value] of Object.entries(message.traits)) {
    if (value === undefined) continue;
    out.push({ name, value: JSON.stringify(value) });
  }
  return out;
}

/** The rule the workspace applies to a trait (its own, else the default). */
const ruleFor = (rules: IdentityRules, name: string): SurvivorshipRule => rules.body.survivorship.traits[name] ?? { rule: rules.body.survivorship.default };

/** Whether a rule that orders sources applies to any of these traits: only then does survivorship read source keys. */
export function readsSourceKeys(observations: readonly TraitObservation[], rules: IdentityRules): boolean {
  return observations.some((o) => {
    const rule = ruleFor(rules, o.name);
    return rule.rule === 'source-priority' && rule.sources !== undefined;
  });
}

/** Each trait's surviving observation under the workspace's rules, by trait name (traits with none are left out). */
export function survivingTraits(observations: readonly TraitObservation[], rules: IdentityRules, sourceKey: (sourceId: string) => string): Map<string, SurvivingTrait> {
  const byName = new Map<string, TraitObservation[]>();
  for (const o of observations) {
    const list = byName.get(o.name);
    if (list) list.push(o);
    else byName.set(o.name, [o]);
  }
  const out = new Map<string, SurvivingTrait>();
  for (const [name, list] of byName) {
    const winner = survive(list, ruleFor(rules, name), sourceKey);
    if (winner) out.set(name, winner);
  }
  return out;
}
