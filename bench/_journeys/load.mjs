// Load for the journeys benchmark, in its own process, open loop at a fixed rate. argv[2] is a JSON job
// { mode: 'tandem' | 'direct', url, auth?, rate (events/s), perRequest, seconds, users }. mode tandem: /v1/batch
// requests of `perRequest` `Bench Ping` track events; mode direct: one POST per event straight to the sink (the
// baseline). Each event carries properties.sent_at (epoch ms, high resolution). Prints one JSON line.
import { pacedPost } from '../_paced-post.mjs';

const job = JSON.parse(process.argv[2]);
const now = () => performance.timeOrigin + performance.now();
let seq = 0;
let state = 4242;
const rnd = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32);
const perRequest = job.mode === 'direct' ? 1 : job.perRequest;

function request() {
  if (job.mode === 'direct') {
    const id = `direct-${process.pid}-${++seq}`;
    return { path: '/direct', headers: { 'idempotency-key': id }, body: Buffer.from(JSON.stringify({ message_id: id, payload: { event: { sent_at: now() } } })) };
  }
  const iso = new Date().toISOString();
  const batch = Array.from({ length: perRequest }, () => ({
    type: 'track', event: 'Bench Ping', userId: `bench-${Math.floor(rnd() * job.users)}`, messageId: `ping-${process.pid}-${++seq}`, timestamp: iso,
    properties: { sent_at: now() },
  }));
  return { path: '/v1/batch', headers: { authorization: job.auth }, body: Buffer.from(JSON.stringify({ batch, sentAt: iso })) };
}

const requestsPerSecond = job.rate / perRequest;
const { ok, failed, seconds } = await pacedPost({ url: job.url, rate: requestsPerSecond, total: Math.round(requestsPerSecond * job.seconds), next: request });
process.stdout.write(`${JSON.stringify({ events: ok * perRequest, failedRequests: failed, seconds, achievedRate: (ok * perRequest) / seconds })}\n`);
