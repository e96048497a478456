import { createServer, type Server } from 'node:http';
import type { Registry } from '@owc/observability';
import type { Readiness } from './readiness.js';

/**
 * The worker's only HTTP surface, for Prometheus and the kubelet:
 * - GET /metrics: Prometheus text;
 * - GET /healthz: liveness, 200 as long as the process answers (touches nothing, so a Redis
 *   outage never restarts a pod that would recover by itself);
 * - GET /readyz: readiness, 200 when every check passes, 503 otherwise, with each check's outcome.
 */
export async function startMetricsServer(
  registry: Registry,
  port: number,
  readiness: Readiness,
  host = '0.0.0.0',
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/metrics') {
      registry
        .metrics()
        .then((text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        })
        .catch(() => {
          res.writeHead(500);
          res.end();
        });
      return;
    }
    if (req.method === 'GET' && req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":"ok"}');
      return;
    }
    if (req.method === 'GET' && req.url === '/readyz') {
      readiness
        .report()
        .then(({ ready, checks }) => {
          res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ status: ready ? 'ready' : 'unavailable', checks }));
        })
        .catch(() => {
          res.writeHead(503);
          res.end();
        });
      return;
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : port };
}
