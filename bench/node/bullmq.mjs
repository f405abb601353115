// BullMQ as a peer of the worker benchmark (stackdesk-bench workers): the same job (a product in,
// a result kept: completed jobs are not removed) on one queue.
//
//   node bullmq.mjs worker N [S]   a worker of concurrency N whose job takes S seconds (default 0:
//                              a no-op; the API benchmark gives 30, the original's simulated send,
//                              as its other workers take); prints "ready" once it listens
//   node bullmq.mjs driver     commands on stdin, one JSON line answered for each (as peers.py):
//                              warm | fill N (the queue paused) | release (resumed) | latency K
import { createInterface } from 'node:readline';
import { Queue, QueueEvents, Worker } from 'bullmq';

const connection = { url: process.env.REDIS_URL };
const QUEUE = 'bench';
const product = (id) => ({ id, name: 'Phone', price: 499.9, description: null });

async function worker(concurrency, seconds) {
  const send = seconds > 0 ? () => new Promise((done) => setTimeout(done, seconds * 1000)) : async () => {};
  const worker = new Worker(
    QUEUE,
    async (job) => {
      await send();
      return { status: 'simulated', product_id: job.data.id };
    },
    { connection, concurrency },
  );
  await worker.waitUntilReady();
  console.log('ready');
  const stop = async () => {
    await worker.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

async function driver() {
  const queue = new Queue(QUEUE, { connection });
  const events = new QueueEvents(QUEUE, { connection });
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
  const one = async (id, timeout) => (await queue.add('notify', product(id))).waitUntilFinished(events, timeout);
  const commands = {
    warm: async () => (await one(0, 60_000), { ok: true }),
    fill: async (n) => {
      await queue.pause();
      for (let first = 1; first <= n; first += 1000) {
        const count = Math.min(1000, n - first + 1);
        await queue.addBulk(Array.from({ length: count }, (_, i) => ({ name: 'notify', data: product(first + i) })));
      }
      return { filled: n };
    },
    release: async () => (await queue.resume(), { released: true }),
    latency: async (k) => {
      const millis = [];
      for (let i = 0; i < k; i++) {
        const start = performance.now();
        await one(1_000_000 + i, 30_000);
        millis.push(performance.now() - start);
      }
      return { millis };
    },
  };
  for await (const line of createInterface({ input: process.stdin })) {
    const [command, arg] = line.trim().split(/\s+/);
    if (!commands[command]) throw new Error(`unknown command ${command}`);
    console.log(JSON.stringify(await commands[command](Number(arg))));
  }
  await Promise.all([queue.close(), events.close()]);
}

const [mode, arg, seconds] = process.argv.slice(2);
if (mode === 'worker') await worker(Number(arg), Number(seconds ?? 0));
else if (mode === 'driver') await driver();
else throw new Error('usage: node bullmq.mjs worker N [SECONDS] | driver');
