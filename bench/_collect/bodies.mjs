// Request bodies shaped like analytics.js traffic. Built once as templates; each request copies one and writes a
// fresh counter into every messageId, so ids stay unique while the load generator spends almost no CPU per request.

const MARK = '@@@@@@@@@@@@@@@@'; // 16 characters, replaced by a hex request counter

const PRODUCTS = [
  ['507f1f77bcf86cd799439011', 'G-32', 'Games', 'Monopoly: 3rd Edition', 'Hasbro', 18.99],
  ['505bd76785ebb509fc183733', 'B-104', 'Books', 'The Art of Computer Programming', 'Addison-Wesley', 59.5],
  ['5e8f8f8f8f8f8f8f8f8f8f8f', 'K-7', 'Kitchen', 'Cast Iron Skillet 26 cm', 'Lodge', 34],
  ['60a1b2c3d4e5f60718293a4b', 'S-88', 'Sports', 'Trail Running Shoes', 'Salomon', 129.95],
];
const EVENTS = ['Product Viewed', 'Product Added', 'Checkout Started', 'Order Completed', 'Product List Filtered'];
const AGENTS = [
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1',
];

function track(n, slot) {
  const [, sku, category, name, brand, price] = PRODUCTS[n % PRODUCTS.length];
  const user = 1000 + ((n * 7919) % 5000);
  const path = `/products/${sku.toLowerCase()}`;
  return {
    type: 'track',
    event: EVENTS[n % EVENTS.length],
    userId: n % 3 === 0 ? null : `user-${user}`,
    anonymousId: `a1f3c2d4-5b6e-4f70-8a9b-${String(user).padStart(12, '0')}`,
    messageId: `ajs-next-${MARK}-${String(slot).padStart(4, '0')}`,
    timestamp: '2026-03-01T12:00:00.120Z',
    properties: { sku, category, name, price, quantity: 1 + (n % 3) },
    context: {
      library: { name: 'analytics.js', version: '1.72.0' },
      page: { path, url: `https://shop.example.com${path}` },
      userAgent: AGENTS[n % AGENTS.length],
      locale: 'en-US',
    },
  };
}

/** A pool of templates: `perRequest` messages each (a /v1/batch body when > 1, a /v1/track body when 1). */
export function bodyPool(perRequest, templates = 16) {
  const pool = [];
  let eventBytes = 0;
  for (let t = 0; t < templates; t++) {
    const messages = Array.from({ length: perRequest }, (_, i) => track(t * perRequest + i, i));
    eventBytes += messages.reduce((sum, m) => sum + Buffer.byteLength(JSON.stringify(m)), 0);
    const body = perRequest === 1 ? { ...messages[0], sentAt: '2026-03-01T12:00:00.250Z' } : { batch: messages, sentAt: '2026-03-01T12:00:00.250Z' };
    if (perRequest === 1) delete body.type;
    const buffer = Buffer.from(JSON.stringify(body));
    const marks = [];
    for (let at = buffer.indexOf(MARK); at >= 0; at = buffer.indexOf(MARK, at + MARK.length)) marks.push(at);
    pool.push({ buffer, marks });
  }
  let counter = Math.floor(Math.random() * 0xffffff) * 0x1000000;
  return {
    meanEventBytes: Math.round(eventBytes / (templates * perRequest)),
    meanBodyBytes: Math.round(pool.reduce((s, p) => s + p.buffer.length, 0) / pool.length),
    next() {
      const { buffer, marks } = pool[counter % pool.length];
      const out = Buffer.from(buffer);
      const id = (counter++).toString(16).padStart(16, '0');
      for (const at of marks) out.write(id, at, 'latin1');
      return out;
    },
  };
}
