/**
 * Another process appending to a NATS log (src/storage/nats/log.test.ts): `node --import tsx
 * test-append-process.ts <servers> <stream> <subjectPrefix> <messageId>` appends one batch and exits.
 */
import { NatsLog } from './log.js';

const [servers, stream, subjectPrefix, messageId] = process.argv.slice(2);
const log = await NatsLog.open({ servers, stream, subjectPrefix, partitions: 1 });
const entries = [{ kind: 'event', message: { type: 'track', messageId, userId: 'other-process', event: 'Viewed' }, violations: [] }];
await log.append([{ partition: 0, workspaceId: 'w1', sourceId: 's1', receivedAt: Date.now(), count: 1, payload: JSON.stringify(entries) }]);
await log.close();
