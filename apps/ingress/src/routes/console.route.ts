import { describeEvent, OrderTimeline, PackedOrderError } from '@owc/order-store';
import { callbackJobId, dispenseJobId, type QueueName } from '@owc/queues';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { IngressDeps } from '../ingress-deps.js';

/** How many orders one search lists at most. */
const SEARCH_LIMIT = 200;

const searchSchema = z.strictObject({
  orderViewId: z.string().max(128).optional(),
  machine: z.string().max(128).optional(),
  /** ISO time or date; empty means unset */
  since: z.string().max(40).optional(),
  until: z.string().max(40).optional(),
});

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

function timeOf(text: string | undefined, field: string, problems: string[]): number | undefined {
  if (!text) return undefined;
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) problems.push(`${field}: not a time (use ISO, e.g. 2026-01-31T08:00:00Z)`);
  return Number.isNaN(ms) ? undefined : ms;
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5rem;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}
form input{margin-right:.5rem}.problem{color:#b00}ol.timeline li{margin:.2rem 0;font-family:monospace}
</style></head><body>
<h1><a href="/admin/orders">Orders</a></h1>
<form method="get" action="/admin/orders" id="search">
<label>orderViewId <input name="orderViewId" id="orderViewId"></label>
<label>machine <input name="machine" id="machine"></label>
<label>since <input name="since" id="since" placeholder="2026-01-31T00:00:00Z"></label>
<label>until <input name="until" id="until"></label>
<button type="submit" id="go">Search</button>
</form>
${body}
</body></html>`;
}

/**
 * The operator's order page, server-rendered (no front-end build): GET /admin/orders searches by
 * orderViewId, by machine and by acceptance time; GET /admin/orders/{orderViewId} shows one
 * order's units, result, callback state and timeline (accepted, each vend round with its
 * outcome, final, each callback delivery with owitho's answer), with links to its jobs in the
 * dashboard (those still in their queues). Read-only: the viewer and the operator may open it.
 * Registered in the admin plugin.
 */
export async function consoleRoutes(app: FastifyInstance, deps: IngressDeps): Promise<void> {
  const timeline = new OrderTimeline({
    redis: deps.redis,
    keyPrefix: deps.config.KEY_PREFIX,
    ttlMs: deps.config.ORDER_TTL_MS,
    maxEvents: deps.config.ORDER_TIMELINE_MAX_EVENTS,
  });

  app.get('/orders', async (request, reply) => {
    const parsed = searchSchema.safeParse(request.query);
    if (!parsed.success) {
      const message = parsed.error.issues.map((i) => i.message).join('; ');
      return reply
        .code(400)
        .type('text/html')
        .send(page('Orders', `<p class="problem">${escapeHtml(message)}</p>`));
    }
    const query = parsed.data;
    if (query.orderViewId) {
      return reply.redirect(`/admin/orders/${encodeURIComponent(query.orderViewId.trim())}`, 303);
    }
    const problems: string[] = [];
    const since = timeOf(query.since, 'since', problems);
    const until = timeOf(query.until, 'until', problems);
    if (problems.length > 0) {
      const list = problems.map((p) => `<p class="problem">${escapeHtml(p)}</p>`).join('');
      return reply.code(400).type('text/html').send(page('Orders', list));
    }
    const found = await timeline.search({
      machineCode: query.machine || undefined,
      since,
      until,
      limit: SEARCH_LIMIT,
    });
    // a record that cannot be read is shown as such; the rest of the list still shows
    const records = await Promise.all(
      found.map(async (f) => {
        const record = await deps.store.tryGet(f.orderViewId);
        if (!(record instanceof PackedOrderError)) return record;
        request.log.warn({ err: record, orderViewId: f.orderViewId }, 'order record unreadable');
        return null;
      }),
    );
    const rows = found
      .map((f, i) => {
        const record = records[i];
        const id = escapeHtml(f.orderViewId);
        return `<tr><td><a href="/admin/orders/${encodeURIComponent(f.orderViewId)}">${id}</a></td>
<td>${escapeHtml(record?.machineCode ?? '')}</td><td>${new Date(f.acceptedAt).toISOString()}</td>
<td>${escapeHtml(record === null ? 'unreadable' : (record?.state ?? 'expired'))}</td><td>${record?.result?.outStatus ?? ''}</td></tr>`;
      })
      .join('\n');
    const body =
      found.length === 0
        ? '<p id="none">no orders found</p>'
        : `<table id="results"><tr><th>orderViewId</th><th>machine</th><th>accepted</th><th>state</th><th>outStatus</th></tr>
${rows}</table>${found.length === SEARCH_LIMIT ? `<p>first ${SEARCH_LIMIT} shown: narrow the search</p>` : ''}`;
    return reply.type('text/html').send(page('Orders', body));
  });

  app.get('/orders/:orderViewId', async (request, reply) => {
    const { orderViewId } = request.params as { orderViewId: string };
    const id = escapeHtml(orderViewId);
    const record = await deps.store.tryGet(orderViewId);
    if (record instanceof PackedOrderError) {
      request.log.warn({ err: record, orderViewId }, 'order record unreadable');
      return reply
        .code(500)
        .type('text/html')
        .send(page(`Order ${orderViewId}`, `<p id="none" class="problem">${escapeHtml(record.message)}</p>`));
    }
    if (!record) {
      return reply
        .code(404)
        .type('text/html')
        .send(
          page(`Order ${orderViewId}`, `<p id="none" class="problem">order ${id} is not in the store</p>`),
        );
    }
    const events = await timeline.read(orderViewId);
    const units = record.units
      .map((u) => {
        const state = record.unitStates.get(u.index);
        const shown = !state ? 'pending' : state.s === 'failed' ? `failed: ${state.reason}` : state.s;
        return `<tr><td>${u.index}</td><td>${escapeHtml(u.vendId)}</td><td>${escapeHtml(u.slotNum)}</td>
<td>${escapeHtml(u.skuCode)}</td><td>${escapeHtml(shown)}</td></tr>`;
      })
      .join('\n');
    // a link only to a job the dashboard can show: a happy order's callback was delivered by its
    // dispense job (no callback job), and finished jobs are kept only up to a count
    const job = async (queue: QueueName, jobId: string) => {
      const state = await deps.producer.queue(queue).getJobState(jobId);
      const name = `${queue} job ${escapeHtml(jobId)}`;
      return state === 'unknown'
        ? `<span class="gone">${name}: not in the queue (never needed, or removed once finished)</span>`
        : `<a href="/admin/queues/queue/${queue}/${encodeURIComponent(jobId)}">${name}</a> (${state})`;
    };
    const jobs = await Promise.all([
      job('dispense', dispenseJobId(orderViewId)),
      job('callback', callbackJobId(orderViewId)),
    ]);
    const cb = record.callback;
    const body = `<h2 id="order">Order ${id}</h2>
<p>machine ${escapeHtml(record.machineCode)} · state <b id="state">${escapeHtml(record.state)}</b> · accepted
${new Date(record.acceptedAt).toISOString()}${record.result ? ` · outStatus <b id="outStatus">${record.result.outStatus}</b>` : ''}</p>
<p>callback: ${cb.attempts} failed deliveries${cb.reportedAt ? ` · reported ${new Date(cb.reportedAt).toISOString()}` : ''}${cb.lastError ? ` · last error ${escapeHtml(cb.lastError)}` : ''}</p>
<p id="jobs">${jobs.join(' · ')}</p>
<h3>Units</h3>
<table id="units"><tr><th>#</th><th>vendId</th><th>slot</th><th>sku</th><th>state</th></tr>
${units}</table>
<h3>Timeline</h3>
<ol class="timeline" id="timeline">${events.map((e) => `<li class="${e.e}">${escapeHtml(describeEvent(e))}</li>`).join('\n')}</ol>`;
    return reply.type('text/html').send(page(`Order ${orderViewId}`, body));
  });
}
