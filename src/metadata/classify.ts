import type { Classification, PiiType } from './dictionary.js';

/**
 * Classification suggestions from a field's name and its sample values (docs/metadata.md). They are suggestions
 * only: nothing is masked until a person confirms one (POST /api/v1/metadata/suggestions/confirm) or writes the
 * dictionary entry.
 */

export interface ClassificationGuess {
  classification: Exclude<Classification, 'none'>;
  piiType?: PiiType;
  /** high: the values show it; medium: only the name does. */
  confidence: 'high' | 'medium';
  reasons: string[];
}

const NAME_RULES: { pattern: RegExp; classification: 'pii' | 'sensitive'; piiType?: PiiType; label: string }[] = [
  { pattern: /e_?mail/, classification: 'pii', piiType: 'email', label: 'e-mail' },
  { pattern: /phone|mobile|msisdn|^tel$|telephone|cell_?number/, classification: 'pii', piiType: 'phone', label: 'phone' },
  { pattern: /^(first|last|full|given|family|middle|sur|customer|user|contact)_?name$|^surname$/, classification: 'pii', piiType: 'name', label: 'name' },
  { pattern: /address|street|postal_?code|post_?code|^zip(_?code)?$/, classification: 'pii', piiType: 'address', label: 'address' },
  { pattern: /comment|feedback|^notes?$|^message(_?body)?$|review_?text|free_?text/, classification: 'pii', piiType: 'free_text', label: 'free text' },
  { pattern: /ssn|social_?security|passport|tax_?id|national_?id|birth|^dob$|gender|religion|ethnic|health|diagnos|salary|income|credit_?card|card_?number|iban|^ip(_?address)?$/, classification: 'sensitive', label: 'sensitive' },
];

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]{2,}$/;
const E164 = /^\+[1-9]\d{6,14}$/;
const LOOSE_PHONE = /^\+?[\d\s().-]{7,22}$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

/** Luhn checksum of a 13 to 19 digit number (payment cards). */
export function luhn(digits: string): boolean {
  if (!/^\d{13,19}$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]|$)/;

// A formatted card number (4111 1111 1111 1111) would pass for a loosely formatted phone number: one that passes
// Luhn with 13 to 19 digits is a card unless it is in E.164; an ISO date (2026-03-15) is neither.
const VALUE_RULES: { test: (v: string) => boolean; classification: 'pii' | 'sensitive'; piiType?: PiiType; label: string }[] = [
  { test: (v) => EMAIL.test(v), classification: 'pii', piiType: 'email', label: 'e-mail addresses' },
  {
    test: (v) => E164.test(v) || (LOOSE_PHONE.test(v) && !ISO_DATE.test(v) && (v.match(/\d/g)?.length ?? 0) >= 8 && /[\s().+-]/.test(v) && !luhn(v.replace(/[\s-]/g, ''))),
    classification: 'pii', piiType: 'phone', label: 'phone numbers',
  },
  { test: (v) => luhn(v.replace(/[\s-]/g, '')), classification: 'sensitive', label: 'payment card numbers' },
  { test: (v) => IPV4.test(v), classification: 'sensitive', label: 'IP addresses' },
];

/** The last segment of a path, snake-cased: `shippingAddress` -> `shipping_address`, `items[].Email` -> `email`. */
export function nameOf(path: string): string {
  const last = path.replace(/\[\]/g, '').split('.').filter(Boolean).pop() ?? '';
  return last.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/[\s-]+/g, '_').toLowerCase();
}

/** A guess for one field, or undefined. `samples` are its sample values as strings. */
export function suggestClassification(path: string, samples: string[], options: { isTrait?: boolean } = {}): ClassificationGuess | undefined {
  const name = nameOf(path);
  const values = samples.filter((s) => s.trim() !== '');
  let byValue: ClassificationGuess | undefined;
  if (values.length) {
    for (const rule of VALUE_RULES) {
      const matching = values.filter((v) => rule.test(v.trim())).length;
      // Most of the samples, not one stray value.
      if (matching / values.length >= 0.6) {
        byValue = { classification: rule.classification, ...(rule.piiType ? { piiType: rule.piiType } : {}), confidence: 'high', reasons: [`${matching} of ${values.length} sample values look like ${rule.label}`] };
        break;
      }
    }
  }
  // `name` alone is a person's name on a profile, but usually a product or page name on an event.
  const nameRule = name === 'name' && options.isTrait ? NAME_RULES[2] : NAME_RULES.find((r) => r.pattern.test(name));
  if (byValue) {
    if (nameRule && nameRule.classification === byValue.classification && nameRule.piiType === byValue.piiType) byValue.reasons.push(`the name '${name}' suggests ${nameRule.label}`);
    return byValue;
  }
  if (!nameRule) return undefined;
  return { classification: nameRule.classification, ...(nameRule.piiType ? { piiType: nameRule.piiType } : {}), confidence: 'medium', reasons: [`the name '${name}' suggests ${nameRule.label}`] };
}
