import { createHash } from 'node:crypto';
import { openEnvelope, signEnvelope } from '@owc/protocol';
import { z } from 'zod';
import { report, round, rssMb } from './lib/report.js';

// A ~1 KB payload: a sku/sync batch of a few SKUs with Chinese names.
const payload = {
  skuList: Array.from({ length: 5 }, (_, i) => ({
    skuCode: `SKU${i.toString().padStart(5, '0')}`,
    skuName: `可口可乐 ${i}`,
    skuUnit: '罐',
    skuSpec: '330ml',
    originalPrice: '2.50',
    skuPic: `https://img.example.com/sku/${i}.png`,
  })),
};
const creds = { appId: 'bench-app' };
const tokens = ['t'.repeat(64), 'p'.repeat(64)];
const envelope = signEnvelope(payload, creds, [tokens[0] as string]);
const bytes = Buffer.byteLength(JSON.stringify(envelope));
const schema = z.object({ skuList: z.array(z.object({ skuCode: z.string() }).passthrough()) });

function measure(durationMs: number, fn: () => void): { opsPerSec: number } {
  for (let i = 0; i < 2000; i++) fn(); // warm up
  let ops = 0;
  const start = performance.now();
  while (performance.now() - start < durationMs) {
    for (let i = 0; i < 500; i++) fn();
    ops += 500;
  }
  const opsPerSec = ops / ((performance.now() - start) / 1000);
  return { opsPerSec: round(opsPerSec, 0) };
}

const options = { appId: creds.appId, tokens, now: envelope.utc, toleranceMs: 300_000 };
const open = measure(3000, () => {
  const r = openEnvelope(envelope, options, schema);
  if (!r.ok) throw new Error('bench envelope did not verify');
});
// Baseline: the one md5 and the JSON.parse that any verifier must do (the current token
// matches first), without shape checks, constant-time compare or payload validation.
const bare = measure(3000, () => {
  createHash('md5')
    .update(
      `appId=${creds.appId}&accessToken=${tokens[0]}&data=${envelope.data}&salt=${envelope.salt}&utc=${envelope.utc}`,
    )
    .digest('hex');
  JSON.parse(envelope.data);
});
report('signature', {
  envelopeBytes: bytes,
  openEnvelopePerSec: open.opsPerSec,
  baselinePerSec: bare.opsPerSec,
  ratio: round(open.opsPerSec / bare.opsPerSec, 3),
  rssMb: rssMb(),
});
