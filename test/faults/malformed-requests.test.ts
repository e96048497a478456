import { OrderStore } from '@owc/order-store';
import { signData } from '@owc/protocol';
import { createProducer, QUEUE_NAMES } from '@owc/queues';
import { redisTest, waitFor } from '@owc/testing';
import fc from 'fast-check';
import { describe, expect } from 'vitest';
import { startSystem } from '../system-support.js';
import { APP, expectExactlyOnce } from './fault-support.js';

const SEED = { machines: 2, slotsPerMachine: 6 };
const REQUESTS = 2000;
const ROUTES = ['/order/notice', '/order/query', '/machine/query'] as const;
/** fields whose absence makes a notice invalid whatever the rest says */
const REQUIRED = ['orderViewId', 'machineCode', 'orderDetailList', 'payStatus', 'actualAmount'] as const;

/** keys that come and go on their own (queue housekeeping, the token keeper's own state) */
const volatile = (key: string) => /\{token\}|stalled-check|:events$|:metrics/.test(key);

interface Malformed {
  route: (typeof ROUTES)[number];
  body: string;
  contentType: string;
}

function malformedRequests(tokens: () => string[], noticeTemplate: Record<string, unknown>) {
  const route = fc.constantFrom(...ROUTES);
  const json = 'application/json';
  const anyBody = fc.record({
    route,
    body: fc.jsonValue().map((v) => JSON.stringify(v) ?? 'null'),
    contentType: fc.constant(json),
  });
  const rawText = fc.record({
    route,
    body: fc.string({ maxLength: 300 }),
    contentType: fc.constantFrom(json, 'text/plain'),
  });
  const field = fc.oneof(fc.jsonValue(), fc.string({ maxLength: 40 }), fc.integer(), fc.constant(null));
  const envelopeShape = fc.record({
    route,
    body: fc
      .record(
        {
          appId: fc.oneof(fc.constant(APP.appId), field),
          salt: field,
          utc: field,
          signatures: field,
          signature: field,
          data: field,
        },
        { requiredKeys: [] },
      )
      .map((e) => JSON.stringify(e)),
    contentType: fc.constant(json),
  });
  // correctly signed envelopes whose payload is broken: a notice without a required field or with
  // a field of the wrong shape, or any JSON at all for the queries
  const brokenNotice = fc
    .tuple(
      fc.constantFrom(...REQUIRED),
      fc.oneof(
        fc.constant(undefined),
        fc.constant(null),
        fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue(), { maxKeys: 2 }),
      ),
      fc.string({ minLength: 1, maxLength: 12 }),
    )
    .map(([drop, value, id]): Malformed => {
      const notice: Record<string, unknown> = { ...noticeTemplate, orderViewId: `BAD-${id}` };
      if (value === undefined) delete notice[drop];
      else notice[drop] = value;
      return {
        route: '/order/notice',
        body: JSON.stringify(signData(JSON.stringify(notice), APP, tokens())),
        contentType: json,
      };
    });
  const brokenQuery = fc
    .tuple(
      fc.constantFrom('/order/query' as const, '/machine/query' as const),
      fc.oneof(fc.jsonValue(), fc.string()),
    )
    .map(([r, payload]): Malformed => {
      const data = typeof payload === 'string' ? payload : (JSON.stringify(payload) ?? 'null');
      return { route: r, body: JSON.stringify(signData(data, APP, tokens())), contentType: json };
    });
  return fc.oneof(anyBody, rawText, envelopeShape, brokenNotice, brokenQuery);
}

describe('fault: malformed requests (HTTP-level property test)', () => {
  redisTest(
    `${REQUESTS} generated malformed envelopes and payloads: no 5xx, no key or job left behind; real orders still go through once`,
    async ({ redis, redisUrl, prefix }) => {
      const system = await startSystem(redisUrl, prefix, {
        app: APP,
        seed: SEED,
        inventory: 500,
        owitho: { noticeRetryMs: 300 },
        workerEnv: { CALLBACK_SCHEDULE_MS: '200,400,800,1600' },
      });
      const { ingress, owitho, machines } = system;
      const store = new OrderStore({ redis, keyPrefix: prefix, ttlMs: 3600_000 });
      const producer = createProducer(redis, { keyPrefix: prefix });
      try {
        const warmUp = owitho.sim.pushGenerated(5);
        const reported = (ids: string[]) =>
          waitFor(
            async () =>
              (await Promise.all(ids.map((id) => store.get(id)))).every((r) => r?.state === 'reported'),
            {
              timeoutMs: 60_000,
              what: 'orders reported',
            },
          );
        await reported(warmUp);
        const template = owitho.sim.order(warmUp[0] as string)?.notice as unknown as Record<string, unknown>;
        const jobsOf = async () =>
          Object.fromEntries(
            await Promise.all(
              QUEUE_NAMES.map(
                async (q) =>
                  [
                    q,
                    await producer
                      .queue(q)
                      .getJobCountByTypes('waiting', 'active', 'delayed', 'completed', 'failed'),
                  ] as const,
              ),
            ),
          );
        // quiet first: the warm-up's jobs have all completed
        await waitFor(
          async () => {
            for (const q of QUEUE_NAMES) {
              const open = await producer.queue(q).getJobCountByTypes('waiting', 'active', 'delayed');
              if (open > 0) return false;
            }
            return true;
          },
          { timeoutMs: 30_000, what: 'no open job' },
        );
        const keysBefore = (await redis.keys(`${prefix}*`)).filter((k) => !volatile(k)).sort();
        const jobsBefore = await jobsOf();

        const samples = fc.sample(
          malformedRequests(() => owitho.sim.liveTokens(), template),
          { numRuns: REQUESTS, seed: 1313 },
        );
        const statuses = new Map<number, number>();
        const concurrency = 16;
        for (let i = 0; i < samples.length; i += concurrency) {
          await Promise.all(
            samples.slice(i, i + concurrency).map(async (m) => {
              const res = await fetch(`${ingress.url}${m.route}`, {
                method: 'POST',
                headers: { 'content-type': m.contentType },
                body: m.body,
              });
              await res.text();
              statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
              if (res.status >= 500)
                throw new Error(`HTTP ${res.status} for ${m.route} ${m.body.slice(0, 300)}`);
            }),
          );
        }
        expect([...statuses.values()].reduce((s, n) => s + n, 0)).toBe(REQUESTS);
        expect([...statuses.keys()].every((s) => s < 500)).toBe(true);
        expect((await redis.keys(`${prefix}*`)).filter((k) => !volatile(k)).sort()).toEqual(keysBefore);
        expect(await jobsOf()).toEqual(jobsBefore);

        // real traffic still goes through, each unit once
        const later = owitho.sim.pushGenerated(5);
        await reported(later);
        const notices = [...warmUp, ...later]
          .map((id) => owitho.sim.order(id)?.notice)
          .filter((n) => n !== undefined);
        await expectExactlyOnce(machines, owitho, store, notices);
      } finally {
        await producer.close();
        await system.close();
      }
    },
    180_000,
  );
});
