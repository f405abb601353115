// The peer API of the API benchmark (stackdesk-bench api): Fastify + BullMQ doing the job of
// `POST /products/` — the body checked (the same rules, by Fastify's JSON schema), the product
// stored under a new id, its notification queued with BullMQ's `queue.add`, 201 with the product.
// The notification is run by bullmq.mjs's worker.
//
//   PORT=8000 PROCESSES=2 REDIS_URL=redis://… node fastify_api.mjs
//
// PROCESSES > 1 runs that many processes sharing the port (node:cluster), as Node is deployed to
// use more than one core.
import cluster from 'node:cluster';
import Fastify from 'fastify';
import { Queue } from 'bullmq';
import IORedis from 'ioredis';

const url = process.env.REDIS_URL;
const port = Number(process.env.PORT);
const processes = Number(process.env.PROCESSES ?? 1);

const body = {
  type: 'object',
  required: ['name', 'price'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 100 },
    price: { type: 'number', exclusiveMinimum: 0, maximum: 1e9 },
    description: { type: ['string', 'null'], maxLength: 1000 },
  },
};

async function serve() {
  const redis = new IORedis(url);
  const queue = new Queue('bench', { connection: { url } });
  const app = Fastify({ logger: false });
  app.post('/products/', { schema: { body } }, async (request, reply) => {
    const { name, price, description } = request.body;
    const id = await redis.incr('peer:products:next_id');
    const product = { id, name: name.trim(), price, description: description ?? null, created_at: new Date().toISOString() };
    await Promise.all([
      redis.set(`peer:product:${id}`, JSON.stringify(product)),
      queue.add('send_tg_notification', product),
    ]);
    reply.code(201);
    return product;
  });
  app.get('/health', async () => ({ status: 'ok' }));
  await app.listen({ port, host: '127.0.0.1' });
}

if (cluster.isPrimary && processes > 1) {
  for (let i = 0; i < processes; i++) cluster.fork();
  const stop = () => {
    for (const worker of Object.values(cluster.workers)) worker.kill('SIGTERM');
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  await serve();
}
