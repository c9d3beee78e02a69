// Load for the fast loop of the audiences benchmark, in its own process: /v1/batch requests of `perRequest` track
// events at a fixed rate (open loop), each event stamped with the instant it is sent, for a pool of `users`.
// argv[2] is a JSON job { url, auth, rate (events/s), perRequest, seconds, users }; prints one JSON line.
import { pacedPost } from '../_paced-post.mjs';

const job = JSON.parse(process.argv[2]);
const EVENTS = ['Page Viewed', 'Product Viewed', 'Product Viewed', 'Product Added', 'Email Opened', 'Email Clicked', 'Order Completed', 'Signed Up', 'Search', 'Cart Viewed'];
const CATEGORIES = ['shoes', 'shirts', 'bags', 'hats', 'socks', 'coats'];
const CHANNELS = ['web', 'ios', 'android'];
let seq = 0;
let state = 12345;
const rnd = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32);
const pick = (list) => list[Math.floor(rnd() * list.length)];

function body() {
  const now = new Date().toISOString();
  const batch = Array.from({ length: job.perRequest }, () => ({
    type: 'track',
    event: pick(EVENTS),
    userId: `user-${Math.floor(rnd() * job.users)}`,
    messageId: `fast-${process.pid}-${++seq}`,
    timestamp: now,
    properties: { price: Math.floor(rnd() * 20000) / 100, category: pick(CATEGORIES), quantity: 1 + Math.floor(rnd() * 5), channel: pick(CHANNELS) },
  }));
  return Buffer.from(JSON.stringify({ batch, sentAt: now }));
}

const requestsPerSecond = job.rate / job.perRequest;
const next = () => ({ path: '/v1/batch', headers: { authorization: job.auth }, body: body() });
const { ok, failed, seconds } = await pacedPost({ url: job.url, rate: requestsPerSecond, total: Math.round(requestsPerSecond * job.seconds), next });
process.stdout.write(`${JSON.stringify({ events: ok * job.perRequest, failedRequests: failed, seconds, achievedRate: (ok * job.perRequest) / seconds })}\n`);
