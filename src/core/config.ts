import { readFileSync } from 'node:fs';
import { Type, type Static } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import YAML from 'yaml';
import { TandemError, pointerToPath } from './errors.js';
import { parseRange } from '../network/address-ranges.js';

/**
 * Server configuration (the `--config FILE`, YAML or JSON). This schema validates the file, types the code and
 * generates docs/configuration.md.
 */
export const ConfigSchema = Type.Object(
  {
    dataDir: Type.String({ default: './.tandem', description: 'Directory for the embedded SQLite and DuckDB files.' }),
    host: Type.String({ default: '127.0.0.1', description: 'Address the HTTP server listens on.' }),
    port: Type.Integer({ default: 8080, minimum: 0, maximum: 65535, description: 'Port the HTTP server listens on (0 picks a free one).' }),
    logLevel: Type.Union([Type.Literal('fatal'), Type.Literal('error'), Type.Literal('warn'), Type.Literal('info'), Type.Literal('debug'), Type.Literal('silent')], {
      default: 'info',
      description: 'Structured log level (pino).',
    }),
    storage: Type.Object(
      {
        logRetention: Type.String({
          default: '7d',
          description: 'How long processed batches stay in the log (for inspection and re-processing) before they are deleted. Unprocessed batches are never deleted.',
        }),
        seriesRetention: Type.String({ default: '90d', description: 'How long the per-minute metric series (GET /api/v1/metrics/series, monitors, alerts) are kept.' }),
        sync: Type.Union([Type.Literal('full'), Type.Literal('normal')], {
          default: 'full',
          description: 'Durability of the log (log.db). full: fsync every group commit (survives power loss). normal: survives a killed process, not a power cut.',
        }),
        log: Type.String({
          default: 'embedded',
          pattern: '^(embedded|nats://[^\\s,]+(,nats://[^\\s,]+)*)$',
          description: 'Where the event log lives: embedded (log.db in the data directory) or a NATS JetStream server, nats://host:port (a cluster: several URLs separated by commas). See docs/scale-out.md.',
        }),
        nats: Type.Object(
          {
            stream: Type.String({ default: 'TANDEM_LOG', pattern: '^[A-Za-z0-9_-]+$', description: 'JetStream stream of the NATS log (created when missing).' }),
            subjectPrefix: Type.String({ default: 'tandem.log', pattern: '^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$', description: 'Subjects of the NATS log: <prefix>.<partition>, and <prefix>.rewritten.<partition> for batches rewritten by a privacy erasure.' }),
            replicas: Type.Integer({ default: 1, minimum: 1, maximum: 5, description: 'Copies of the stream when it is created (3 in a NATS cluster; 1 on a single server).' }),
          },
          { default: {} },
        ),
      },
      { default: {} },
    ),
    pipeline: Type.Object(
      {
        backgroundShare: Type.Number({
          default: 0.2,
          exclusiveMinimum: 0,
          maximum: 1,
          description: 'Share of the event loop the background stages (events, resolve, warehouse) may take while collection requests keep arriving; the log holds the backlog and they catch up when requests stop.',
        }),
        thread: Type.Boolean({
          default: true,
          description: '`tandem start` runs the pipeline stages and the admin API on a core thread and answers collection (/v1) on the main thread, so that no collection request waits behind a pipeline turn. false: everything on one event loop.',
        }),
        niceness: Type.Integer({
          default: 19,
          minimum: 0,
          maximum: 19,
          description: 'How much lower the core thread (pipeline, admin API) is scheduled than collection when the CPU is contended (Linux nice increment, at most 19; 0: the same). Collection first: the log holds what the pipeline has not reached yet.',
        }),
        profileStateCache: Type.Integer({
          default: 100_000,
          minimum: 0,
          description: 'Profiles whose committed apply state (streaming states, computed values, memberships, timers) and facts (traits, identifiers, consent) the apply stage keeps in memory between events, least recently used out; a cached profile is applied without reading it back from the store. About 2-20 KB per profile with 40 definitions. 0: read every profile from the store.',
        }),
      },
      { default: {} },
    ),
    secrets: Type.Object(
      {
        keyFile: Type.Optional(Type.String({ description: 'File holding the master key that seals stored secrets (created with mode 0600 on first start; default <dataDir>/master.key). The environment variable TANDEM_MASTER_KEY (64 hex digits) takes precedence and is the choice for production: a key file beside the data protects a copied database, not a copied directory.' })),
      },
      { default: {} },
    ),
    metadata: Type.Object(
      {
        observe: Type.Boolean({
          default: true,
          description: 'Observe the schema of stored events in the fast loop (types, counts, first and last seen, null rates, distinct-count sketches, samples: docs/metadata.md). false: the observed schema stops growing; dictionary, lineage and governance keep working.',
        }),
      },
      { default: {} },
    ),
    delivery: Type.Object(
      {
        publicUrl: Type.Optional(Type.String({ description: 'Base URL that recipients reach this server at, for unsubscribe, open and click links (e.g. https://t.example.com). Default: the address the server listens on.' })),
        maxAttempts: Type.Integer({ default: 8, minimum: 1, maximum: 100, description: 'Send attempts per message before it is dead-lettered (a channel can set its own retry.maxAttempts).' }),
        retryBase: Type.String({ default: '30s', description: 'Delay before the first retry; each further retry doubles it (with jitter), up to retryMax.' }),
        retryMax: Type.String({ default: '1h', description: 'Longest delay between two attempts of one message.' }),
        concurrency: Type.Integer({ default: 16, minimum: 1, maximum: 512, description: 'Messages sent at the same time by the dispatcher (each to a different profile and channel).' }),
        exportDir: Type.Optional(Type.String({ description: 'Directory for ad-audience export files (default: <dataDir>/exports). A channel can name its own.' })),
      },
      { default: {} },
    ),
    network: Type.Object(
      {
        allowPrivate: Type.Array(Type.String(), {
          default: [],
          description:
            'CIDR ranges (e.g. 127.0.0.1/32, 10.1.0.0/16, fd00::/8) that webhooks, Slack and SMS channels and alert notifications may reach although they are private, loopback, link-local or unique-local. By default every non-public destination is refused (the SSRF guard, docs/reliability.md).',
        }),
        signInRateLimit: Type.Object(
          {
            perSecond: Type.Number({ default: 0.2, minimum: 0, description: 'Sign-in attempts (POST /api/v1/session) per second per client address, sustained (0.2: 12 a minute; 0: no limit).' }),
            burst: Type.Number({ default: 10, exclusiveMinimum: 0, description: 'Sign-in attempts a client address may make at once.' }),
          },
          { default: {} },
        ),
      },
      { default: {} },
    ),
    personalize: Type.Object(
      {
        geoDatabase: Type.Optional(Type.String({ description: 'CSV of CIDR ranges for POST /v1/personalize geo context: network,country,region,city,timezone per line (docs/personalization.md). Read at start.' })),
      },
      { default: {} },
    ),
    collect: Type.Object(
      {
        threads: Type.Integer({
          default: 2,
          minimum: 0,
          maximum: 16,
          description: 'Collect threads that decode and check request bodies beside the event loop (0: on the event loop).',
        }),
        maxMessageBytes: Type.Integer({ default: 32 * 1024, minimum: 1024, description: 'Largest message accepted, as stored (bytes).' }),
        maxRequestBytes: Type.Integer({ default: 500 * 1024, minimum: 1024, description: 'Largest request body, after decompression (bytes).' }),
        maxBatchMessages: Type.Integer({ default: 2500, minimum: 1, description: 'Most messages in one batch request.' }),
        maxDepth: Type.Integer({ default: 32, minimum: 2, maximum: 256, description: 'Deepest nesting of objects and arrays inside one message.' }),
        dedupWindow: Type.String({ default: '7d', description: 'How long a messageId is remembered for exact deduplication (e.g. 24h, 7d).' }),
        partitions: Type.Integer({ default: 1, minimum: 1, maximum: 256, description: 'Log partitions; messages are routed by a hash of userId, else anonymousId.' }),
        maxBacklog: Type.Integer({
          default: 0,
          minimum: 0,
          description: 'Log records (one per accepted request and partition) written but not yet processed by the pipeline beyond which collection answers 503 with Retry-After (0: no bound; the log on disk absorbs bursts, memory stays bounded either way). Size it to the disk (docs/reliability.md).',
        }),
        rateLimit: Type.Object(
          {
            eventsPerSecond: Type.Number({ default: 200_000, exclusiveMinimum: 0, description: 'Default sustained events per second per write key.' }),
            burst: Type.Number({ default: 400_000, exclusiveMinimum: 0, description: 'Default burst size (token bucket capacity) per write key.' }),
          },
          { default: {} },
        ),
        ipRateLimit: Type.Object(
          {
            perSecond: Type.Number({ default: 10_000, minimum: 0, description: 'Collection requests per second per client address, whatever the write key (0: no limit). Keyed on the socket address: behind a reverse proxy every client shares the proxy\'s address, so raise it or set 0 there.' }),
            burst: Type.Number({ default: 20_000, exclusiveMinimum: 0, description: 'Collection requests a client address may send at once (token bucket capacity).' }),
          },
          { default: {} },
        ),
      },
      { default: {} },
    ),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;

const ajv = new Ajv({ useDefaults: true, allErrors: false, strict: false });
const validate = ajv.compile(ConfigSchema);

/** Validates a config object, filling defaults; errors name the offending field. */
export function parseConfig(input: unknown, origin = 'config'): Config {
  const copy = structuredClone(input ?? {}) as Record<string, unknown>;
  if (!validate(copy)) {
    const e = validate.errors![0];
    const field = e.keyword === 'additionalProperties' ? `${pointerToPath(e.instancePath)}${e.instancePath ? '.' : ''}${(e.params as { additionalProperty: string }).additionalProperty}` : pointerToPath(e.instancePath);
    const message = e.keyword === 'additionalProperties' ? 'is not a known setting' : e.message;
    throw new TandemError('invalid_config', `${origin}: ${field || '(root)'} ${message}`, 400, field);
  }
  (copy as Config).network.allowPrivate.forEach((cidr, i) => {
    try {
      parseRange(cidr);
    } catch (error) {
      throw new TandemError('invalid_config', `${origin}: network.allowPrivate[${i}] ${(error as Error).message}`, 400, `network.allowPrivate[${i}]`);
    }
  });
  return copy as Config;
}

export function loadConfigFile(file: string): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new TandemError('config_unreadable', `cannot read config file ${file}: ${(error as Error).message}`);
  }
  let data: unknown;
  try {
    data = YAML.parse(text);
  } catch (error) {
    throw new TandemError('config_syntax', `${file}: ${(error as Error).message}`);
  }
  return parseConfig(data, file);
}
