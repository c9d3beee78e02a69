import { describe, expect, it } from 'vitest';
import { streamSequence } from './pull.js';

describe('streamSequence', () => {
  it('reads the stream sequence from both forms of a delivery reply subject', () => {
    // As the 2.9 server sends it (seen in a probe): $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time>.<pending>
    expect(streamSequence('$JS.ACK.TANDEM_LOG.jOOtztgk.1.5.3.1795405851060079945.0')).toBe(5);
    // With a domain and an account hash (newer servers): 12 tokens.
    expect(streamSequence('$JS.ACK.hub.ACCHASH.TANDEM_LOG.jOOtztgk.1.42.3.1795405851060079945.0.rand')).toBe(42);
  });

  it('refuses what is not a JetStream delivery', () => {
    expect(() => streamSequence(undefined)).toThrow(/not a JetStream delivery/);
    expect(() => streamSequence('_INBOX.abc')).toThrow(/not a JetStream delivery/);
  });
});
