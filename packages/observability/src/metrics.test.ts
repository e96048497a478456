import { describe, expect, it } from 'vitest';
import { BoundedLabel, DEPLOYMENT_SCOPE_NOTE, defineMetrics, Registry } from './metrics.js';

const define = (registry: Registry) =>
  defineMetrics(registry, (m) => ({
    hits: m.counter({ name: 'test_hits_total', help: 'hits', labelNames: ['kind'] as const }),
    level: m.gauge({
      name: 'test_level',
      help: 'level',
      scope: 'deployment',
      collect(gauge) {
        gauge.set(7);
      },
    }),
    seconds: m.histogram({ name: 'test_seconds', help: 'time', buckets: [0.1, 1] }),
  }));

describe('defineMetrics', () => {
  it('defines each metric once per registry: a second definition shares the same objects', async () => {
    const registry = new Registry();
    const a = define(registry);
    const b = define(registry);
    expect(b.hits).toBe(a.hits);
    a.hits.inc({ kind: 'x' });
    b.hits.inc({ kind: 'x' });
    const text = await registry.metrics();
    expect(text).toContain('test_hits_total{kind="x"} 2');
    expect(text).toContain('test_level 7');
    expect(text).toContain('test_seconds_bucket{le="0.1"} 0');
  });

  it('marks deployment-wide metrics in their help so dashboards aggregate them with max', async () => {
    const registry = new Registry();
    define(registry);
    const text = await registry.metrics();
    expect(text).toContain(`# HELP test_level level ${DEPLOYMENT_SCOPE_NOTE}`);
    expect(text).toContain('# HELP test_hits_total hits\n');
  });

  it('refuses a name already taken by another kind of metric', () => {
    const registry = new Registry();
    define(registry);
    expect(() => defineMetrics(registry, (m) => m.gauge({ name: 'test_hits_total', help: 'clash' }))).toThrow(
      /test_hits_total is already registered as another kind/,
    );
  });
});

describe('BoundedLabel', () => {
  it('keeps the first max values and folds every later one into other', () => {
    const label = new BoundedLabel(2);
    expect(['m1', 'm2', 'm3', 'm1', 'm4', 'm2'].map((v) => label.of(v))).toEqual([
      'm1',
      'm2',
      'other',
      'm1',
      'other',
      'm2',
    ]);
  });

  it('with max 0 every value is other', () => {
    expect(new BoundedLabel(0).of('m1')).toBe(BoundedLabel.OTHER);
  });
});
