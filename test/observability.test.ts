import { readFileSync } from 'node:fs';
import { redisTest, waitFor } from '@owc/testing';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startSystem } from './system-support.js';

const APP = { appId: 'app-observability', secretKey: 'observability-secret-01' };
const SEED = { machines: 2, slotsPerMachine: 8 };
const deployFile = (name: string) => new URL(`../deploy/observability/${name}`, import.meta.url);

interface Rule {
  alert: string;
  expr: string;
}

function alertRules(): Rule[] {
  const doc = parse(readFileSync(deployFile('alerts.yml'), 'utf8')) as {
    groups: { name: string; rules: Rule[] }[];
  };
  return doc.groups.flatMap((g) => g.rules);
}

function dashboardExprs(): string[] {
  const doc = JSON.parse(readFileSync(deployFile('grafana-dashboard.json'), 'utf8')) as {
    panels: { title: string; targets: { expr: string }[] }[];
  };
  return doc.panels.flatMap((p) => p.targets.map((t) => t.expr));
}

/** The owc_* metric names an expression reads (histogram series reduced to their family). */
function metricsIn(expr: string): string[] {
  return [...new Set(expr.match(/\bowc_[a-z0-9_]+/g) ?? [])];
}

/** Metric families declared in a Prometheus text exposition, with their sample count. */
function parseExposition(text: string): Map<string, { type: string; samples: number }> {
  const families = new Map<string, { type: string; samples: number }>();
  for (const line of text.split('\n')) {
    const typed = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (typed?.[1] && typed[2]) {
      families.set(typed[1], { type: typed[2], samples: 0 });
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const name = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line)?.[1] ?? '';
    const family = families.get(name) ?? families.get(name.replace(/_(bucket|sum|count)$/, '')) ?? undefined;
    if (!family) throw new Error(`sample without a # TYPE line: ${line}`);
    family.samples++;
  }
  return families;
}

/** Whether `name`, as written in a query, is served: a family, or a histogram's _bucket/_sum/_count. */
function served(families: Map<string, { type: string }>, name: string): boolean {
  if (families.has(name)) return true;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return base !== name && families.get(base)?.type === 'histogram';
}

export const ALERTS = [
  'OwcDeadCallbacks',
  'OwcStuckOrders',
  'OwcCallbackAge',
  'OwcQueueGrowing',
  'OwcTokenQuota',
  'OwcNoToken',
  'OwcTokenMisconfigured',
  'OwcOwithoErrors',
  'OwcGatewayErrors',
  'OwcGatewayUnreachable',
];

describe('deploy/observability', () => {
  it('alerts.yml parses: every alert named as docs/operations.md expects, each with an expression', () => {
    const rules = alertRules();
    expect(rules.map((r) => r.alert).sort()).toEqual([...ALERTS].sort());
    for (const rule of rules) expect(metricsIn(rule.expr).length, rule.alert).toBeGreaterThan(0);
  });

  it('the dashboard has the panels the operators asked for', () => {
    const doc = JSON.parse(readFileSync(deployFile('grafana-dashboard.json'), 'utf8')) as {
      panels: { title: string }[];
    };
    const titles = doc.panels.map((p) => p.title);
    for (const title of [
      'Orders per second',
      'Notice → callback latency',
      'Queue depth',
      'Callbacks by outcome',
      'Machines with errors',
    ])
      expect(titles).toContain(title);
  });

  redisTest(
    'after orders ran end to end, every metric an alert or a panel reads is served on a /metrics',
    async ({ redisUrl, prefix }) => {
      const system = await startSystem(redisUrl, prefix, {
        app: APP,
        seed: SEED,
        workerEnv: {
          WORKER_ROLES: 'token,dispense,callback,sync',
          WORKER_METRICS_PORT: '0',
          CALLBACK_SCHEDULE_MS: '200,400,800',
        },
      });
      const { ingress, owitho, worker } = system;
      try {
        const ids = owitho.sim.pushGenerated(10);
        await waitFor(() => ids.every((id) => (owitho.sim.order(id)?.callbacks.length ?? 0) > 0), {
          timeoutMs: 60_000,
          what: 'a callback for every order',
        });
        await waitFor(
          async () =>
            (await Promise.all(ids.map((id) => worker.context.store.get(id)))).every(
              (r) => r?.state === 'reported',
            ),
          { what: 'every order reported' },
        );
        const scrape = async (url: string) => {
          const response = await fetch(url);
          expect(response.status).toBe(200);
          return parseExposition(await response.text());
        };
        const families = new Map([
          ...(await scrape(`${ingress.adminUrl}/metrics`)),
          ...(await scrape(`http://127.0.0.1:${worker.metricsPort}/metrics`)),
        ]);

        const used = new Set([...alertRules().map((r) => r.expr), ...dashboardExprs()].flatMap(metricsIn));
        expect(used.size).toBeGreaterThan(10);
        const missing = [...used].filter((name) => !served(families, name));
        expect(missing).toEqual([]);

        // what the run must have produced, not only declared
        expect(families.get('owc_order_notice_to_callback_seconds')?.samples).toBeGreaterThan(0);
        expect(families.get('owc_machine_vends_total')?.samples).toBeGreaterThan(0);
        expect(families.get('owc_queue_jobs')?.samples).toBeGreaterThan(0);
        const workerText = await (await fetch(`http://127.0.0.1:${worker.metricsPort}/metrics`)).text();
        expect(workerText).toMatch(
          /owc_order_notice_to_callback_seconds_count\{app="worker",outStatus="200"\} 10/,
        );
        expect(workerText).toMatch(/owc_callbacks_dead\{app="worker"\} 0/);
        expect(workerText).toMatch(/owc_token_valid_seconds\{app="worker"\} [1-9]/);
      } finally {
        await system.close();
      }
    },
    120_000,
  );
});
