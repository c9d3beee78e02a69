import { Type, type Static } from '@sinclair/typebox';
import { badRequest } from '../core/errors.js';

/**
 * What `POST /v1/personalize` may tell a web page about its visitor (kind `personalization`, one per workspace, key
 * `default`). The write key is embedded in pages, so anyone can call the endpoint with any anonymousId or userId:
 * nothing is exposed unless listed here, and profile traits (which hold personal data: email, name, address, ...)
 * only with `allowPersonalData: true`.
 */
export const PERSONALIZATION_KIND = 'personalization';

const Names = Type.Array(Type.String({ minLength: 1 }), { maxItems: 500, uniqueItems: true });

export const PersonalizationBody = Type.Object(
  {
    audiences: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { maxItems: 500, uniqueItems: true, description: "Audience keys whose membership is returned; ['*']: every audience." })),
    computed: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { maxItems: 500, uniqueItems: true, description: "Computed traits whose value is returned; ['*']: every computed trait." })),
    traits: Type.Optional({ ...Names, description: 'Profile traits returned; refused unless allowPersonalData is true (traits hold personal data).' }),
    allowPersonalData: Type.Optional(Type.Boolean({ description: 'Allow listed profile traits to be returned to anyone holding the write key (default false).' })),
    context: Type.Optional(Type.Boolean({ description: 'Return the request context Tandem derived (geo, time, device, page) (default true).' })),
  },
  { additionalProperties: false, description: 'What POST /v1/personalize may return about a visitor (docs/personalization.md).' },
);
export type PersonalizationBody = Static<typeof PersonalizationBody>;

/** Checks the exposure settings against the workspace's audiences; throws a TandemError naming the field. */
export function checkExposure(body: PersonalizationBody, audiences: Set<string>): PersonalizationBody {
  if ((body.traits?.length ?? 0) > 0 && body.allowPersonalData !== true) {
    throw badRequest('personal_data', 'traits: profile traits hold personal data and are readable by anyone holding the write key; set allowPersonalData: true to expose them, or expose computed traits instead', 'traits');
  }
  (body.audiences ?? []).forEach((key, i) => {
    if (key !== '*' && !audiences.has(key)) throw badRequest('unknown_audience', `audiences[${i}]: audience '${key}' does not exist`, `audiences[${i}]`);
  });
  return body;
}

export interface Exposed {
  audiences: string[];
  traits: Record<string, unknown>;
  computed: Record<string, unknown>;
}

/** The part of a profile the settings allow a page to see. Without settings: nothing. */
export function expose(settings: PersonalizationBody | undefined, profile: { audiences: string[]; traits: Record<string, unknown>; computed: Record<string, unknown> }): Exposed {
  const out: Exposed = { audiences: [], traits: {}, computed: {} };
  if (!settings) return out;
  const audiences = settings.audiences ?? [];
  out.audiences = audiences.includes('*') ? [...profile.audiences] : profile.audiences.filter((a) => audiences.includes(a));
  const computed = settings.computed ?? [];
  for (const [k, v] of Object.entries(profile.computed)) if (computed.includes('*') || computed.includes(k)) out.computed[k] = v;
  // Checked again here, not only when saved: a stored body from before a rule change must not leak.
  if (settings.allowPersonalData === true) for (const k of settings.traits ?? []) if (profile.traits[k] !== undefined) out.traits[k] = profile.traits[k];
  return out;
}
