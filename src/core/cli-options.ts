import { InvalidArgumentError } from 'commander';

/** A whole number from `min` (to `max` when given), for a commander option. */
export const wholeNumber = (min: number, max?: number) => (value: string): number => {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min || (max !== undefined && n > max)) {
    throw new InvalidArgumentError(max === undefined ? `must be a whole number, ${min} or more` : `must be a whole number from ${min} to ${max}`);
  }
  return n;
};

/** The address of a running Tandem (http or https), without a trailing slash, for a commander option. */
export const baseUrl = (value: string): string => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('must be a URL such as http://127.0.0.1:8080');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError('must be an http:// or https:// URL');
  return value.replace(/\/+$/, '');
};

/** Where the event log lives (config storage.log): `embedded`, or NATS URLs (nats://host:port, comma-separated). */
export const logLocation = (value: string): string => {
  if (value === 'embedded' || /^nats:\/\/[^\s,]+(,nats:\/\/[^\s,]+)*$/.test(value)) return value;
  throw new InvalidArgumentError('must be embedded or nats://host:port (several separated by commas)');
};
