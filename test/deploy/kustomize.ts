import { readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';

/**
 * The part of kustomize that deploy/kubernetes uses, so the tests render what `kubectl apply -k`
 * would apply without a kubectl on the machine: `resources` (files and directories with a
 * kustomization.yaml), `namespace`, `labels` (metadata only), `images`, and `patches` given as
 * inline JSON 6902 operations with a kind + name (regex) target. Anything else in a
 * kustomization is refused, so the tests never pass over a field they did not render.
 */
export type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
} & Record<string, unknown>;

const operation = z.object({
  op: z.enum(['add', 'replace', 'remove']),
  path: z.string().startsWith('/'),
  value: z.unknown().optional(),
});

const kustomizationSchema = z
  .object({
    apiVersion: z.literal('kustomize.config.k8s.io/v1beta1'),
    kind: z.literal('Kustomization'),
    namespace: z.string().optional(),
    resources: z.array(z.string()).min(1),
    labels: z
      .array(
        z.object({ pairs: z.record(z.string(), z.string()), includeSelectors: z.literal(false) }).strict(),
      )
      .optional(),
    images: z
      .array(
        z
          .object({ name: z.string(), newName: z.string().optional(), newTag: z.string().optional() })
          .strict(),
      )
      .optional(),
    patches: z
      .array(
        z
          .object({
            target: z.object({ kind: z.string(), name: z.string() }).strict(),
            patch: z.string(),
          })
          .strict(),
      )
      .optional(),
  })
  .strict();

const CLUSTER_SCOPED = new Set(['Namespace']);

export function readYaml(file: string): unknown[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]?.message}`);
    return doc.toJS();
  });
}

function pointer(path: string): string[] {
  return path
    .slice(1)
    .split('/')
    .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'));
}

function applyOperation(target: Manifest, op: z.infer<typeof operation>, where: string): void {
  const parts = pointer(op.path);
  const last = parts.pop() as string;
  let node: unknown = target;
  for (const part of parts) {
    node = (node as Record<string, unknown>)?.[part];
    if (node === undefined || node === null) throw new Error(`${where}: ${op.path} does not exist`);
  }
  const parent = node as Record<string, unknown> | unknown[];
  const exists = Array.isArray(parent) ? Number(last) < parent.length : last in parent;
  if (op.op !== 'add' && !exists) throw new Error(`${where}: ${op.op} ${op.path}: nothing there`);
  if (op.op === 'remove') {
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
  } else if (Array.isArray(parent)) {
    if (last === '-') parent.push(op.value);
    else parent[Number(last)] = op.value;
  } else parent[last] = op.value;
}

/** Renders the kustomization in `dir` (recursively). */
export function render(dir: string): Manifest[] {
  const file = join(dir, 'kustomization.yaml');
  const k = kustomizationSchema.parse(readYaml(file)[0]);
  const out: Manifest[] = [];
  for (const resource of k.resources) {
    const path = resolve(dir, resource);
    if (statSync(path).isDirectory()) out.push(...render(path));
    else out.push(...(readYaml(path) as Manifest[]));
  }
  for (const m of out) {
    for (const { pairs } of k.labels ?? []) m.metadata.labels = { ...m.metadata.labels, ...pairs };
    if (k.namespace && !CLUSTER_SCOPED.has(m.kind)) m.metadata.namespace = k.namespace;
    for (const image of k.images ?? []) {
      const spec = (m.spec as { template?: { spec?: { containers?: { image: string }[] } } }) ?? {};
      for (const container of spec.template?.spec?.containers ?? []) {
        const [name, tag] = container.image.split(':');
        if (name !== image.name) continue;
        container.image = `${image.newName ?? name}${(image.newTag ?? tag) ? `:${image.newTag ?? tag}` : ''}`;
      }
    }
  }
  for (const [index, { target, patch }] of (k.patches ?? []).entries()) {
    const where = `${file} patches[${index}]`;
    const name = new RegExp(`^(?:${target.name})$`);
    const hits = out.filter((m) => m.kind === target.kind && name.test(m.metadata.name));
    if (hits.length === 0) throw new Error(`${where}: no ${target.kind} named ${target.name}`);
    const ops = z.array(operation).parse(readYamlText(patch));
    for (const m of hits) for (const op of ops) applyOperation(m, op, where);
  }
  return out;
}

function readYamlText(text: string): unknown {
  const [doc] = parseAllDocuments(text);
  return doc?.toJS();
}

export const KUSTOMIZE_ROOT = resolve(dirname(new URL(import.meta.url).pathname), '../../deploy/kubernetes');
