import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestIngress } from '@owc/ingress/test-kit';
import { OrderStore, OrderTimeline } from '@owc/order-store';
import { ApiKeyStore, createProducer, dispenseJobId, PUBLIC_JOB_NAMES } from '@owc/queues';
import { redisTest, silentLogger, waitFor } from '@owc/testing';
import { runCliCommand } from '@owc/worker';
import { type BrowserContext, chromium } from 'playwright-core';
import { describe, expect } from 'vitest';
import { startSystem } from './system-support.js';

/** Debian's chromium package; `.ci/run` installs it (apt-get install -y chromium) when missing. */
const CHROMIUM = '/usr/bin/chromium';
const APP = { appId: 'app-console', secretKey: 'console-secret-0001' };
const SEED = { machines: 2, slotsPerMachine: 6 };
const ADMIN = { user: 'admin', password: 'console-pass' };
/** Where the screenshots go, overwritten on every run (gitignored): test/artifacts/. */
const ARTIFACTS = fileURLToPath(new URL('./artifacts/', import.meta.url));

function screenshotPath(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}

function assertChromium(): void {
  // a failure, not a skip: the pages are only proven in a real browser
  expect(
    existsSync(CHROMIUM),
    `${CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium; .ci/run does)`,
  ).toBe(true);
}

/** Debian's chromium, headless, with a fresh profile directory (Playwright passes it as --user-data-dir). */
function launchChromium(httpCredentials?: { username: string; password: string }): Promise<BrowserContext> {
  return chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'owc-chromium-')), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    ...(httpCredentials ? { httpCredentials } : {}),
  });
}

describe('the operator order page in a real browser', () => {
  redisTest(
    'finds an order pushed by owitho-sim, shows its units and callback; a replayed callback reaches owitho again',
    async ({ redisUrl, prefix, redis }) => {
      assertChromium();

      const system = await startSystem(redisUrl, prefix, {
        app: APP,
        seed: SEED,
        ingressEnv: { ADMIN_USER: ADMIN.user, ADMIN_PASSWORD: ADMIN.password },
        owitho: { duplicateRate: 0 },
        workerEnv: {
          GATEWAY_VEND_TIMEOUT_MS: '1000',
          MACHINE_LEASE_TTL_MS: '5000',
          MACHINE_LEASE_WAIT_MS: '20',
          CALLBACK_SCHEDULE_MS: '200,400',
        },
      });
      const { ingress, owitho } = system;
      const browser = await launchChromium({ username: ADMIN.user, password: ADMIN.password });
      try {
        const [orderViewId] = owitho.sim.pushGenerated(1);
        if (!orderViewId) throw new Error('owitho-sim pushed nothing');
        await waitFor(() => (owitho.sim.order(orderViewId)?.callbacks.length ?? 0) === 1, {
          timeoutMs: 30_000,
        });
        const units = owitho.sim.order(orderViewId)?.callbacks[0]?.payload.outDetailList.length ?? 0;
        expect(units).toBeGreaterThan(0);

        const page = await browser.newPage();
        await page.goto(`${ingress.adminUrl}/admin/orders`);
        // search by machine first: the order is listed
        const machineCode = (
          await new OrderStore({ redis, keyPrefix: prefix, ttlMs: 3600_000 }).get(orderViewId)
        )?.machineCode;
        await page.fill('#machine', machineCode ?? '');
        await page.click('#go');
        await page.waitForSelector('#results');
        expect(await page.locator('#results a').allTextContents()).toContain(orderViewId);

        // then by orderViewId: its page, units and timeline
        await page.fill('#orderViewId', orderViewId);
        await page.click('#go');
        await page.waitForSelector('#timeline');
        expect(await page.locator('#order').textContent()).toBe(`Order ${orderViewId}`);
        expect(await page.locator('#state').textContent()).toBe('reported');
        expect(await page.locator('#units tr').count()).toBe(units + 1);
        const timeline = await page.locator('#timeline li').allTextContents();
        expect(timeline[0]).toMatch(/accepted$/);
        expect(timeline.filter((line) => / vend: success$/.test(line))).toHaveLength(units);
        expect(timeline.some((line) => /final: outStatus 200$/.test(line))).toBe(true);
        expect(timeline.at(-1)).toMatch(/callback attempt 1: ok: owitho answered 200$/);
        // a link to the dispense job, which is kept; owitho took the dispense job's own delivery,
        // so there never was a callback job: no link that would lead nowhere
        const jobLinks = await page
          .locator('#jobs a')
          .evaluateAll((links) => links.map((a) => a.getAttribute('href')));
        expect(jobLinks).toEqual([`/admin/queues/queue/dispense/${encodeURIComponent(orderViewId)}`]);
        expect(await page.locator('#jobs').textContent()).toMatch(
          new RegExp(`\\(\\w+\\) · callback job cb-${orderViewId}: not in the queue`),
        );
        const screenshot = screenshotPath('order-page.png');
        await page.screenshot({ path: screenshot, fullPage: true });
        process.stdout.write(`order page screenshot: ${screenshot}\n`);
        expect(existsSync(screenshot)).toBe(true);

        // the same timeline is in the job's log (the dashboard's Logs tab): the dispense run's lines,
        // each unit's vend, the final and the job's own callback delivery, in the order they happened
        const producer = createProducer(redis, { keyPrefix: prefix });
        const dispenseLog = (
          await producer.queue('dispense').getJobLogs(dispenseJobId(orderViewId))
        ).logs.join('\n');
        expect(dispenseLog).toMatch(
          /unit 0 \(.+\) vend: [\s\S]*final: outStatus 200[\s\S]*callback attempt 1: ok/,
        );

        // a replayed callback of the reported order reaches owitho-sim a second time
        const lines: string[] = [];
        const code = await runCliCommand(
          {
            store: new OrderStore({ redis, keyPrefix: prefix, ttlMs: 3600_000 }),
            producer,
            keys: new ApiKeyStore(redis, prefix),
            timeline: new OrderTimeline({ redis, keyPrefix: prefix, ttlMs: 3600_000, maxEvents: 100 }),
            stuckAfterMs: 60_000,
            logger: silentLogger('cli'),
            out: (line) => lines.push(line),
          },
          ['callback:replay', orderViewId],
        );
        expect(code).toBe(0);
        expect(lines.join('\n')).toMatch(/already reported, sent again/);
        await waitFor(() => (owitho.sim.order(orderViewId)?.callbacks.length ?? 0) === 2, {
          timeoutMs: 20_000,
        });
        await page.reload();
        const after = await page.locator('#timeline li').allTextContents();
        expect(after.some((line) => /callback replay enqueued/.test(line))).toBe(true);
        await producer.close();
      } finally {
        await browser.close();
        await system.close();
      }
    },
    120_000,
  );
});

describe('the docs UI in a real browser', () => {
  redisTest(
    'renders POST /admin/jobs/{name} for every public job, without credentials',
    async ({ redisUrl, prefix }) => {
      assertChromium();
      const ingress = await startTestIngress(redisUrl, prefix, {
        env: { OWITHO_APP_ID: APP.appId, ADMIN_USER: ADMIN.user, ADMIN_PASSWORD: ADMIN.password },
        seed: false,
      });
      const browser = await launchChromium();
      try {
        const page = await browser.newPage();
        const answer = await page.goto(`${ingress.adminUrl}/docs/`);
        expect(answer?.status()).toBe(200);
        // Swagger UI fetches /docs/json and renders one block per operation
        await page.waitForSelector('.opblock-summary-path');
        const paths = await page
          .locator('.opblock-summary-path')
          .evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-path')));
        expect([...paths].sort()).toEqual(PUBLIC_JOB_NAMES.map((name) => `/admin/jobs/${name}`).sort());
        // the body schema of one job, opened
        await page.locator('.opblock-summary-path[data-path="/admin/jobs/machine.restocked"]').click();
        await page.waitForSelector('.opblock.is-open .model-box, .opblock.is-open .body-param__example');
        expect(await page.locator('.opblock.is-open').textContent()).toContain('machineCode');
        const screenshot = screenshotPath('docs-ui.png');
        await page.screenshot({ path: screenshot, fullPage: true });
        process.stdout.write(`docs UI screenshot: ${screenshot}\n`);
        expect(existsSync(screenshot)).toBe(true);
      } finally {
        await browser.close();
        await ingress.close();
      }
    },
    60_000,
  );
});
