import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { ingressSettingsSchema, loadIngressConfig, startIngress } from '@owc/ingress';
import { silentLogger } from '@owc/observability';
import { createProducer, type QueueName } from '@owc/queues';
import { redisTest } from '@owc/testing';
import { loadWorkerConfig, runWorker, workerSettingsSchema } from '@owc/worker';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, Secret, Service } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { KUSTOMIZE_ROOT, type Manifest, readYaml, render } from './kustomize.js';

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'v1/ConfigMap': ConfigMap,
  'v1/Namespace': Namespace,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
};

const BUILDS = { base: join(KUSTOMIZE_ROOT, 'base'), example: join(KUSTOMIZE_ROOT, 'overlays/example') };

interface Container {
  name: string;
  image: string;
  ports?: { name: string; containerPort: number }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  env?: {
    name: string;
    value?: string;
    valueFrom?: {
      secretKeyRef?: { name: string; key: string };
      configMapKeyRef?: { name: string; key: string };
    };
  }[];
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean };
}
interface PodSpec {
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  containers: Container[];
}
type DeploymentManifest = Manifest & {
  spec: {
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
};

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? yamlFiles(join(dir, entry.name))
      : entry.name.endsWith('.yaml')
        ? [join(dir, entry.name)]
        : [],
  );
}

function byKind<T extends Manifest>(manifests: Manifest[], kind: string): T[] {
  return manifests.filter((m) => m.kind === kind) as T[];
}

function deployments(manifests: Manifest[]): DeploymentManifest[] {
  return byKind<DeploymentManifest>(manifests, 'Deployment');
}

/** The environment a container gets, resolved from the rendered ConfigMaps and Secrets. */
function environment(manifests: Manifest[], container: Container): Record<string, string> {
  const data = (kind: string, name: string): Record<string, string> => {
    const found = manifests.find((m) => m.kind === kind && m.metadata.name === name) as
      | (Manifest & { data?: Record<string, string>; stringData?: Record<string, string> })
      | undefined;
    if (!found) throw new Error(`${container.name}: no ${kind} ${name}`);
    return { ...found.data, ...found.stringData };
  };
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef) Object.assign(env, data('ConfigMap', from.configMapRef.name));
    if (from.secretRef) Object.assign(env, data('Secret', from.secretRef.name));
  }
  for (const entry of container.env ?? []) {
    const ref = entry.valueFrom?.secretKeyRef ?? entry.valueFrom?.configMapKeyRef;
    const kind = entry.valueFrom?.secretKeyRef ? 'Secret' : 'ConfigMap';
    const value = ref ? data(kind, ref.name)[ref.key] : entry.value;
    if (value === undefined) throw new Error(`${container.name}: ${entry.name} resolves to nothing`);
    env[entry.name] = value;
  }
  return env;
}

function appOf(container: Container): 'ingress' | 'worker' {
  if (/ingress/.test(container.image)) return 'ingress';
  if (/worker/.test(container.image)) return 'worker';
  throw new Error(`${container.image}: neither the ingress nor the worker image`);
}

const silent = silentLogger('manifests-test');

for (const [build, dir] of Object.entries(BUILDS)) {
  describe(`deploy/kubernetes ${build}`, () => {
    const manifests = render(dir);

    it('every manifest validates against its Kubernetes (or KEDA CRD) schema', () => {
      expect(manifests.length).toBeGreaterThan(10);
      for (const m of manifests) {
        const Model = MODELS[`${m.apiVersion}/${m.kind}`];
        expect(
          Model,
          `${m.kind} ${m.metadata.name}: no schema to validate ${m.apiVersion} against`,
        ).toBeDefined();
        expect(
          () => new (Model as NonNullable<typeof Model>)(m as never).validate(),
          `${m.kind} ${m.metadata.name}`,
        ).not.toThrow();
      }
      const names = manifests.map((m) => `${m.kind}/${m.metadata.name}`);
      expect(new Set(names).size).toBe(names.length);
    });

    it('one ingress and one worker Deployment per role group, each role in exactly one', () => {
      const byApp = { ingress: [] as string[], worker: [] as string[] };
      const roles: string[] = [];
      for (const d of deployments(manifests)) {
        const [container] = d.spec.template.spec.containers;
        if (!container) throw new Error(`${d.metadata.name}: no container`);
        byApp[appOf(container)].push(d.metadata.name);
        if (appOf(container) === 'worker') {
          const config = loadWorkerConfig(environment(manifests, container));
          roles.push(...config.WORKER_ROLES);
        }
      }
      expect(byApp.ingress).toEqual(['owc-ingress']);
      expect(roles.sort()).toEqual(['callback', 'dispense', 'sync', 'token']);
      expect(byApp.worker).toHaveLength(4);
    });

    it("every variable a pod gets is a setting of its app, and the app's settings parse from them", () => {
      const known = {
        ingress: new Set(Object.keys(ingressSettingsSchema.shape)),
        worker: new Set(Object.keys(workerSettingsSchema.shape)),
      };
      for (const d of deployments(manifests)) {
        for (const container of d.spec.template.spec.containers) {
          const app = appOf(container);
          const env = environment(manifests, container);
          const unknown = Object.keys(env).filter((name) => !known[app].has(name));
          expect({ deployment: d.metadata.name, unknown }).toEqual({
            deployment: d.metadata.name,
            unknown: [],
          });
          // every required setting is set: the app's own schema parses what the pod gets
          expect(() => (app === 'ingress' ? loadIngressConfig(env) : loadWorkerConfig(env))).not.toThrow();
        }
      }
    });

    it('grace period > preStop + SHUTDOWN_TIMEOUT_MS; non-root, read-only root, resources set', () => {
      for (const d of deployments(manifests)) {
        const pod = d.spec.template.spec;
        expect(pod.securityContext?.runAsNonRoot, d.metadata.name).toBe(true);
        expect(pod.securityContext?.runAsUser, d.metadata.name).toBeGreaterThan(0);
        for (const container of pod.containers) {
          const env = environment(manifests, container);
          const config = appOf(container) === 'ingress' ? loadIngressConfig(env) : loadWorkerConfig(env);
          const preStop = container.lifecycle?.preStop?.exec?.command;
          const preStopMs = preStop?.[0] === 'sleep' ? Number(preStop[1]) * 1000 : 0;
          expect(Number.isFinite(preStopMs), `${d.metadata.name} preStop`).toBe(true);
          const graceMs = (pod.terminationGracePeriodSeconds ?? 30) * 1000;
          expect(graceMs, `${d.metadata.name}: grace vs preStop + SHUTDOWN_TIMEOUT_MS`).toBeGreaterThan(
            preStopMs + config.SHUTDOWN_TIMEOUT_MS,
          );
          expect(container.securityContext?.readOnlyRootFilesystem, d.metadata.name).toBe(true);
          expect(container.securityContext?.allowPrivilegeEscalation, d.metadata.name).toBe(false);
          expect(container.resources?.requests?.cpu, d.metadata.name).toBeDefined();
          expect(container.resources?.requests?.memory, d.metadata.name).toBeDefined();
          expect(container.resources?.limits?.memory, d.metadata.name).toBeDefined();
        }
      }
    });

    it('Services, budgets and autoscalers point at Deployments and ports that exist', () => {
      const pods = deployments(manifests).map((d) => ({
        name: d.metadata.name,
        labels: d.spec.template.metadata.labels,
        ports: d.spec.template.spec.containers.flatMap((c) => c.ports ?? []),
      }));
      const selects = (selector: Record<string, string>) =>
        pods.filter((p) => Object.entries(selector).every(([k, v]) => p.labels[k] === v));
      for (const d of deployments(manifests))
        expect(selects(d.spec.selector.matchLabels).map((p) => p.name)).toEqual([d.metadata.name]);
      for (const s of byKind<
        Manifest & { spec: { selector: Record<string, string>; ports: { targetPort: string }[] } }
      >(manifests, 'Service')) {
        const [target] = selects(s.spec.selector);
        expect(target, s.metadata.name).toBeDefined();
        for (const port of s.spec.ports) expect(target?.ports.map((p) => p.name)).toContain(port.targetPort);
      }
      for (const b of byKind<Manifest & { spec: { selector: { matchLabels: Record<string, string> } } }>(
        manifests,
        'PodDisruptionBudget',
      ))
        expect(selects(b.spec.selector.matchLabels), b.metadata.name).toHaveLength(1);
      const targets = [
        ...byKind<Manifest & { spec: { scaleTargetRef: { name: string } } }>(
          manifests,
          'HorizontalPodAutoscaler',
        ),
        ...byKind<Manifest & { spec: { scaleTargetRef: { name: string } } }>(manifests, 'ScaledObject'),
      ].map((a) => a.spec.scaleTargetRef.name);
      for (const name of targets) expect(pods.map((p) => p.name)).toContain(name);
      // KEDA makes its own HPA: one scaler per Deployment
      expect(new Set(targets).size).toBe(targets.length);
    });

    it("outside traffic reaches only the ingress's public port", () => {
      const policies = byKind<
        Manifest & {
          spec: {
            podSelector: { matchLabels?: Record<string, string> };
            ingress?: { from?: unknown[]; ports?: { port: string | number }[] }[];
          };
        }
      >(manifests, 'NetworkPolicy');
      // a default deny for every pod of the namespace
      expect(
        policies.some(
          (p) => Object.keys(p.spec.podSelector.matchLabels ?? {}).length === 0 && !p.spec.ingress,
        ),
      ).toBe(true);
      const open = policies.flatMap((p) =>
        (p.spec.ingress ?? [])
          .filter((rule) => !rule.from || rule.from.length === 0)
          .map((rule) => ({ pods: p.spec.podSelector.matchLabels, ports: rule.ports?.map((x) => x.port) })),
      );
      expect(open).toEqual([{ pods: { 'app.kubernetes.io/name': 'owc-ingress' }, ports: ['http'] }]);
      const ingress = deployments(manifests).find((d) => d.metadata.name === 'owc-ingress');
      const env = environment(manifests, ingress?.spec.template.spec.containers[0] as Container);
      const config = loadIngressConfig(env);
      const ports = Object.fromEntries(
        (ingress?.spec.template.spec.containers[0]?.ports ?? []).map((p) => [p.name, p.containerPort]),
      );
      expect(ports).toEqual({ http: config.INGRESS_PORT, admin: config.ADMIN_PORT });
    });

    redisTest(
      'KEDA reads the wait lists of the queues the target consumes, in the Redis it uses',
      async ({ redis }) => {
        const consumed: Record<string, QueueName[]> = {
          callback: ['callback'],
          sync: ['sku-sync', 'machine-sync'],
        };
        const scaled = byKind<
          Manifest & {
            spec: {
              scaleTargetRef: { name: string };
              minReplicaCount: number;
              triggers: { type: string; metadata: Record<string, string> }[];
            };
          }
        >(manifests, 'ScaledObject');
        expect(scaled.map((s) => s.spec.scaleTargetRef.name).sort()).toEqual([
          'owc-worker-callback',
          'owc-worker-dispense',
          'owc-worker-sync',
        ]);
        for (const s of scaled) {
          const target = deployments(manifests).find((d) => d.metadata.name === s.spec.scaleTargetRef.name);
          const config = loadWorkerConfig(
            environment(manifests, target?.spec.template.spec.containers[0] as Container),
          );
          // delayed jobs only wake with a worker running: never scale to zero
          expect(s.spec.minReplicaCount, s.metadata.name).toBeGreaterThanOrEqual(1);
          const [role] = config.WORKER_ROLES;
          if (role === 'dispense') {
            expect(s.spec.triggers).toHaveLength(1);
            expect(s.spec.triggers[0]?.type).toBe('prometheus');
            expect(s.spec.triggers[0]?.metadata.query).toMatch(/\bowc_dispense_machines_with_work\b/);
            // a pod is worth DISPENSE_CONCURRENCY machines
            expect(Number(s.spec.triggers[0]?.metadata.threshold)).toBe(config.DISPENSE_CONCURRENCY);
            continue;
          }
          const producer = createProducer(redis, { keyPrefix: config.KEY_PREFIX });
          const expected = (consumed[role as string] ?? []).map((q) => producer.queue(q).toKey('wait'));
          await producer.close();
          expect(s.spec.triggers.map((t) => t.metadata.listName).sort()).toEqual(expected.sort());
          const redisUrl = new URL(config.REDIS_URL);
          for (const t of s.spec.triggers) {
            expect(t.type).toBe('redis');
            expect(t.metadata.address).toBe(`${redisUrl.hostname}:${redisUrl.port || 6379}`);
          }
        }
      },
    );
  });
}

describe('deploy/kubernetes files', () => {
  it('every YAML file parses', () => {
    const files = yamlFiles(KUSTOMIZE_ROOT);
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) expect(() => readYaml(file), file).not.toThrow();
  });

  it('the overlay sets the namespace and the images', () => {
    const manifests = render(BUILDS.example);
    for (const m of manifests.filter((x) => x.kind !== 'Namespace'))
      expect(m.metadata.namespace, `${m.kind}/${m.metadata.name}`).toBe('owitho-connector');
    for (const d of deployments(manifests))
      for (const c of d.spec.template.spec.containers)
        expect(c.image).toMatch(/^registry\.example\.com\/.+:1\.0\.0$/);
  });

  redisTest(
    'the probes ask routes that exist, on the ports they are served on',
    async ({ redisUrl, prefix }) => {
      const manifests = render(BUILDS.base);
      const ingress = await startIngress(
        loadIngressConfig({
          REDIS_URL: redisUrl,
          KEY_PREFIX: prefix,
          OWITHO_APP_ID: 'probe-test',
          MACHINE_GATEWAY_URL: 'http://127.0.0.1:9',
          ADMIN_USER: 'a',
          ADMIN_PASSWORD: 'b',
          INGRESS_HOST: '127.0.0.1',
          INGRESS_PORT: '0',
          ADMIN_HOST: '127.0.0.1',
          ADMIN_PORT: '0',
          LOG_LEVEL: 'silent',
        }),
        silent,
      );
      const worker = await runWorker(
        loadWorkerConfig({
          REDIS_URL: redisUrl,
          KEY_PREFIX: prefix,
          WORKER_ROLES: 'callback',
          WORKER_METRICS_PORT: '0',
          OWITHO_BASE_URL: 'http://127.0.0.1:9',
          OWITHO_APP_ID: 'probe-test',
          OWITHO_SECRET_KEY: 'probe-test',
          MACHINE_GATEWAY_URL: 'http://127.0.0.1:9',
          LOG_LEVEL: 'silent',
        }),
        silent,
      );
      try {
        const urlOfPort: Record<string, string> = {
          http: ingress.url,
          admin: ingress.adminUrl,
          metrics: `http://127.0.0.1:${worker.metricsPort}`,
        };
        let probes = 0;
        for (const d of deployments(manifests)) {
          for (const c of d.spec.template.spec.containers) {
            for (const probe of [c.livenessProbe, c.readinessProbe]) {
              const get = probe?.httpGet;
              expect(get, `${d.metadata.name}: an HTTP probe`).toBeDefined();
              expect(
                c.ports?.map((p) => p.name),
                d.metadata.name,
              ).toContain(get?.port);
              const base = urlOfPort[String(get?.port)];
              expect(base, `${d.metadata.name}: port ${get?.port}`).toBeDefined();
              const answer = await fetch(`${base}${get?.path}`);
              // 503 is a real answer of a readiness route; 404 means the route is not on that port
              expect({ deployment: d.metadata.name, path: get?.path, status: answer.status }).toEqual({
                deployment: d.metadata.name,
                path: get?.path,
                status: expect.toSatisfy((s: number) => s === 200 || (get?.path === '/readyz' && s === 503)),
              });
              probes++;
            }
          }
        }
        expect(probes).toBe(10);
      } finally {
        await Promise.all([ingress.close(), worker.close()]);
      }
    },
  );
});

describe('docs/operations.md', () => {
  it('has a recovery section for every alert in deploy/observability/alerts.yml', () => {
    const [doc] = readYaml(join(KUSTOMIZE_ROOT, '../observability/alerts.yml')) as {
      groups: { rules: { alert?: string }[] }[];
    }[];
    const alerts = (doc?.groups ?? []).flatMap((g) => g.rules.flatMap((r) => (r.alert ? [r.alert] : [])));
    expect(alerts.length).toBeGreaterThan(5);
    const guide = readFileSync(join(KUSTOMIZE_ROOT, '../../docs/operations.md'), 'utf8');
    const sections = new Set([...guide.matchAll(/^### (\S+)$/gm)].map((m) => m[1]));
    expect(alerts.filter((name) => !sections.has(name))).toEqual([]);
  });
});
