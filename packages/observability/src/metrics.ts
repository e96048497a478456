import { Counter, collectDefaultMetrics, Gauge, Histogram, type Metric, Registry } from 'prom-client';

export { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** A registry per process (never the global one), with Node's default metrics. */
export function createMetricsRegistry(app: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ app });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * Who a metric's value belongs to:
 * - `process` (the default): what this process did; `sum` across pods is right;
 * - `deployment`: read from the shared state (Redis), so every pod that exports it reports the
 *   same value; aggregate with `max` (never `sum`). The help text says so.
 */
export type MetricScope = 'process' | 'deployment';

export const DEPLOYMENT_SCOPE_NOTE =
  '[deployment-wide: every pod reports the same value, aggregate with max]';

interface MetricSpec<L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
  scope?: MetricScope;
}

export type CounterSpec<L extends string> = MetricSpec<L>;

export interface GaugeSpec<L extends string> extends MetricSpec<L> {
  /** called on every scrape; sets the gauge from the source of truth (keep it cheap) */
  collect?: (gauge: Gauge<L>) => Promise<void> | void;
}

export interface HistogramSpec<L extends string> extends MetricSpec<L> {
  buckets: readonly number[];
}

/** What a metrics definition builds its metrics with. */
export interface MetricFactory {
  readonly registry: Registry;
  counter<L extends string = never>(spec: CounterSpec<L>): Counter<L>;
  gauge<L extends string = never>(spec: GaugeSpec<L>): Gauge<L>;
  histogram<L extends string = never>(spec: HistogramSpec<L>): Histogram<L>;
}

function helpOf(spec: MetricSpec<string>): string {
  return spec.scope === 'deployment' ? `${spec.help} ${DEPLOYMENT_SCOPE_NOTE}` : spec.help;
}

/**
 * The registry's metric of that name when one exists (several handlers and roles share a
 * registry), else the one `create` makes. A name already taken by another kind of metric is a
 * programming error and fails loudly.
 */
function existingOr<M extends Metric>(
  registry: Registry,
  name: string,
  kind: abstract new (...args: never[]) => M,
  create: () => M,
): M {
  const existing = registry.getSingleMetric(name);
  if (existing === undefined) return create();
  if (!(existing instanceof kind)) {
    throw new Error(`metric ${name} is already registered as another kind of metric`);
  }
  return existing;
}

function factoryFor(registry: Registry): MetricFactory {
  const registers = [registry];
  return {
    registry,
    counter: <L extends string>(spec: CounterSpec<L>) =>
      existingOr(
        registry,
        spec.name,
        Counter<L>,
        () =>
          new Counter<L>({
            name: spec.name,
            help: helpOf(spec),
            labelNames: spec.labelNames ?? [],
            registers,
          }),
      ),
    gauge: <L extends string>(spec: GaugeSpec<L>) =>
      existingOr(registry, spec.name, Gauge<L>, () => {
        const { collect } = spec;
        return new Gauge<L>({
          name: spec.name,
          help: helpOf(spec),
          labelNames: spec.labelNames ?? [],
          registers,
          ...(collect
            ? {
                async collect(this: Gauge<L>) {
                  await collect(this);
                },
              }
            : {}),
        });
      }),
    histogram: <L extends string>(spec: HistogramSpec<L>) =>
      existingOr(
        registry,
        spec.name,
        Histogram<L>,
        () =>
          new Histogram<L>({
            name: spec.name,
            help: helpOf(spec),
            labelNames: spec.labelNames ?? [],
            buckets: [...spec.buckets],
            registers,
          }),
      ),
  };
}

/**
 * The one way to define metrics: a component declares its metrics once, in a `*-metrics.ts`
 * file, as `defineMetrics(registry, (m) => ({ ... m.counter({...}) ... }))`, and takes the
 * result (required, never optional) in its options. Defining the same set twice on one
 * registry returns the same metric objects.
 */
export function defineMetrics<T>(registry: Registry, build: (m: MetricFactory) => T): T {
  return build(factoryFor(registry));
}

/**
 * A label whose values are bounded: the first `max` distinct values keep their own label
 * value, any later one is reported as `other`. Keeps per-machine series from growing with the
 * fleet beyond what the setting allows.
 */
export class BoundedLabel {
  static readonly OTHER = 'other';
  private readonly seen = new Set<string>();

  constructor(private readonly max: number) {}

  of(value: string): string {
    if (this.seen.has(value)) return value;
    if (this.seen.size < this.max) {
      this.seen.add(value);
      return value;
    }
    return BoundedLabel.OTHER;
  }
}
