import { join } from 'node:path';
import type { Config } from '../core/config.js';
import type { Log } from '../core/ports/log.js';
import { NatsLog } from './nats/log.js';
import { SqliteLog } from './sqlite/log.js';

/**
 * The Log the configuration names (storage.log): the embedded SQLite file in the data directory, or the NATS
 * JetStream stream (docs/scale-out.md). The front thread and the core thread each open their own.
 */
export async function openLog(config: Config): Promise<Log> {
  if (config.storage.log === 'embedded') return new SqliteLog(join(config.dataDir, 'log.db'), config.collect.partitions, config.storage.sync);
  return NatsLog.open({ servers: config.storage.log, partitions: config.collect.partitions, ...config.storage.nats });
}
