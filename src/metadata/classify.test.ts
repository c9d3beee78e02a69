import { describe, expect, it } from 'vitest';
import { luhn, nameOf, suggestClassification } from './classify.js';

describe('luhn', () => {
  it('accepts published test card numbers and refuses a changed digit or a wrong length', () => {
    // Visa, Mastercard and Amex test numbers from the card networks' test documentation.
    for (const n of ['4111111111111111', '5555555555554444', '378282246310005']) expect(luhn(n), n).toBe(true);
    expect(luhn('4111111111111112')).toBe(false);
    expect(luhn('79927398713')).toBe(false); // valid checksum, but 11 digits is not a card
    expect(luhn('4111 1111 1111 1111')).toBe(false); // spaces are the caller's to strip
  });
});

describe('nameOf', () => {
  it('snake-cases the last path segment', () => {
    expect(nameOf('shippingAddress')).toBe('shipping_address');
    expect(nameOf('items[].Email')).toBe('email');
    expect(nameOf('contact.first-name')).toBe('first_name');
    expect(nameOf('user.phone number')).toBe('phone_number');
  });
});

describe('suggestClassification', () => {
  it('suggests e-mail with high confidence from the values, whatever the name', () => {
    expect(suggestClassification('contact', ['a@example.com', 'b.c@example.org', 'd@example.net'])).toEqual({
      classification: 'pii', piiType: 'email', confidence: 'high', reasons: ['3 of 3 sample values look like e-mail addresses'],
    });
    // The name agrees: both reasons.
    expect(suggestClassification('email', ['a@example.com'])?.reasons).toEqual(['1 of 1 sample values look like e-mail addresses', "the name 'email' suggests e-mail"]);
  });

  it('needs 60% of the samples: two addresses in five are not enough, the name decides', () => {
    const guess = suggestClassification('ref', ['a@example.com', 'b@example.com', 'x', 'y', 'z']);
    expect(guess).toBeUndefined();
    expect(suggestClassification('work_email', ['a@example.com', 'n/a', 'x', 'y', 'z'])).toMatchObject({ classification: 'pii', piiType: 'email', confidence: 'medium' });
  });

  it('recognises phone numbers (E.164 and formatted), card numbers and IPv4 addresses by value', () => {
    expect(suggestClassification('x', ['+33612345678', '+14155550195'])).toMatchObject({ classification: 'pii', piiType: 'phone', confidence: 'high' });
    expect(suggestClassification('x', ['(415) 555-0195', '06 12 34 56 78'])).toMatchObject({ piiType: 'phone', confidence: 'high' });
    expect(suggestClassification('x', ['4111 1111 1111 1111', '5555-5555-5555-4444'])).toMatchObject({ classification: 'sensitive', confidence: 'high' });
    expect(suggestClassification('x', ['192.168.0.1', '10.0.0.255'])).toMatchObject({ classification: 'sensitive', confidence: 'high' });
    // Order numbers and prices are nothing.
    expect(suggestClassification('order_id', ['ord_1', 'ord_2'])).toBeUndefined();
    expect(suggestClassification('price', ['12.5', '99'])).toBeUndefined();
  });

  it('suggests from the name with medium confidence: names, addresses, free text, sensitive', () => {
    expect(suggestClassification('firstName', [])).toMatchObject({ classification: 'pii', piiType: 'name', confidence: 'medium' });
    expect(suggestClassification('shipping.postal_code', ['75001'])).toMatchObject({ classification: 'pii', piiType: 'address' });
    expect(suggestClassification('review_text', ['great'])).toMatchObject({ classification: 'pii', piiType: 'free_text' });
    expect(suggestClassification('birth_date', ['1990-01-01'])).toEqual({ classification: 'sensitive', confidence: 'medium', reasons: ["the name 'birth_date' suggests sensitive"] });
  });

  it("reads 'name' as a person's name on a profile only", () => {
    expect(suggestClassification('name', ['Throw Blanket'])).toBeUndefined();
    expect(suggestClassification('name', ['Mia Thomas'], { isTrait: true })).toMatchObject({ classification: 'pii', piiType: 'name' });
  });
});
