import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort, waitFor } from '@owc/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  GatewayProtocolError,
  GatewayRejectedError,
  GatewayTimeoutError,
  GatewayUnavailableError,
  HttpMachineGateway,
  type MachineGateway,
  UnknownMachineError,
  type VendRequest,
} from './index.js';

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

interface TinyServer {
  url: string;
  requests: { method: string; url: string; body: string }[];
  handle(handler: Handler): void;
  close(): Promise<void>;
}

async function tinyServer(): Promise<TinyServer> {
  let handler: Handler = (_req, res) => json(res, 500, { error: 'no handler' });
  const requests: TinyServer['requests'] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ method: req.method ?? '', url: req.url ?? '', body });
      handler(req, res, body);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    handle: (h) => {
      handler = h;
    },
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const request: VendRequest = { vendId: 'XBL0001-0', containerCode: '01', slotNum: '01', skuCode: 'SKU00001' };
const layout = {
  machineCode: 'M001',
  containerCode: '01',
  machineStatus: 10,
  slotList: [
    {
      slotNum: '01',
      row: 1,
      col: 1,
      skuCode: 'SKU00001',
      skuName: 'Item 1',
      originalPrice: '1.00',
      actualPrice: '1.00',
      maxInventory: 10,
      currentInventory: 9,
      slotStatus: 0,
    },
  ],
};

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(options: { vendTimeoutMs?: number; queryTimeoutMs?: number; path?: string } = {}) {
  const server = await tinyServer();
  const gateway: MachineGateway = new HttpMachineGateway({
    baseUrl: server.url + (options.path ?? ''),
    vendTimeoutMs: options.vendTimeoutMs ?? 2000,
    queryTimeoutMs: options.queryTimeoutMs ?? 2000,
    connectTimeoutMs: 1000,
    connections: 4,
  });
  cleanups.push(
    () => server.close(),
    () => gateway.close(),
  );
  return { server, gateway };
}

describe('HttpMachineGateway: answers', () => {
  it('posts the vend request and returns the parsed answer', async () => {
    const { server, gateway } = await setup({ path: '/gw/' });
    server.handle((_req, res) =>
      json(res, 200, { vendId: request.vendId, status: 'success', finishedAt: 1526697000000 }),
    );
    await expect(gateway.vend('M 1', request)).resolves.toEqual({
      vendId: request.vendId,
      status: 'success',
      finishedAt: 1526697000000,
    });
    expect(server.requests).toEqual([
      { method: 'POST', url: '/gw/machines/M%201/vends', body: JSON.stringify(request) },
    ]);
  });

  it('returns a failed vend with its reason', async () => {
    const { server, gateway } = await setup();
    server.handle((_req, res) =>
      json(res, 200, { vendId: request.vendId, status: 'failed', reason: 'jammed', finishedAt: 1 }),
    );
    await expect(gateway.vend('M001', request)).resolves.toMatchObject({
      status: 'failed',
      reason: 'jammed',
    });
  });

  it('asks about a vend: pending, then the result; unknown_vend is undefined', async () => {
    const { server, gateway } = await setup();
    const answers = [
      [200, { vendId: 'V-1', status: 'pending' }],
      [200, { vendId: 'V-1', status: 'success', finishedAt: 5 }],
      [404, { error: 'unknown_vend' }],
    ] as const;
    let n = 0;
    server.handle((_req, res) => {
      const [status, body] = answers[n++] ?? [500, {}];
      json(res, status, body);
    });
    await expect(gateway.getVend('V-1')).resolves.toEqual({ vendId: 'V-1', status: 'pending' });
    await expect(gateway.getVend('V-1')).resolves.toEqual({
      vendId: 'V-1',
      status: 'success',
      finishedAt: 5,
    });
    await expect(gateway.getVend('V-1')).resolves.toBeUndefined();
    expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'GET /vends/V-1',
      'GET /vends/V-1',
      'GET /vends/V-1',
    ]);
  });

  it('a 404 that is not unknown_vend is never taken for "never received"', async () => {
    const { server, gateway } = await setup();
    server.handle((_req, res) => {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<h1>Not Found</h1>');
    });
    await expect(gateway.getVend('V-1')).rejects.toBeInstanceOf(GatewayRejectedError);
  });

  it('reads a machine layout; unknown_machine is undefined', async () => {
    const { server, gateway } = await setup();
    server.handle((req, res) =>
      req.url === '/machines/M001' ? json(res, 200, layout) : json(res, 404, { error: 'unknown_machine' }),
    );
    await expect(gateway.getMachine('M001')).resolves.toEqual(layout);
    await expect(gateway.getMachine('M999')).resolves.toBeUndefined();
  });

  it('reads the multi-container shape: one layout per container, by code; ?containerCode= narrows', async () => {
    const { server, gateway } = await setup();
    const { containerCode: _, machineStatus: __, ...rest } = layout;
    const multi = {
      machineCode: 'M002',
      machineStatus: 10,
      containers: [
        { containerCode: 'B2', machineStatus: 30, slotList: rest.slotList },
        { containerCode: 'A1', slotList: rest.slotList },
      ],
    };
    const urls: string[] = [];
    server.handle((req, res) => {
      urls.push(req.url ?? '');
      if (req.url === '/machines/M002?containerCode=B2')
        return json(res, 200, {
          machineCode: 'M002',
          containerCode: 'B2',
          machineStatus: 30,
          slotList: rest.slotList,
        });
      if (req.url === '/machines/M002') return json(res, 200, multi);
      if (req.url === '/machines/M001') return json(res, 200, layout);
      return json(res, 404, { error: 'unknown_machine' });
    });
    const a1 = { machineCode: 'M002', containerCode: 'A1', machineStatus: 10, slotList: rest.slotList };
    const b2 = { machineCode: 'M002', containerCode: 'B2', machineStatus: 30, slotList: rest.slotList };
    await expect(gateway.getContainers('M002')).resolves.toEqual([a1, b2]);
    await expect(gateway.getMachine('M002')).resolves.toEqual(a1);
    await expect(gateway.getMachine('M002', 'B2')).resolves.toEqual(b2);
    await expect(gateway.getContainers('M001')).resolves.toEqual([layout]);
    await expect(gateway.getContainers('M404')).resolves.toBeUndefined();
    expect(urls).toContain('/machines/M002?containerCode=B2');
    // a container list must not be empty, and a container without slotList is refused naming the field
    server.handle((_req, res) => json(res, 200, { ...multi, containers: [{ containerCode: 'A1' }] }));
    await expect(gateway.getContainers('M002')).rejects.toThrow(/slotList/);
  });

  it('maps 404 unknown_machine on a vend to UnknownMachineError (a GatewayRejectedError)', async () => {
    const { server, gateway } = await setup();
    server.handle((_req, res) => json(res, 404, { error: 'unknown_machine' }));
    const error = await gateway.vend('M999', request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownMachineError);
    expect(error).toBeInstanceOf(GatewayRejectedError);
    expect((error as UnknownMachineError).machineCode).toBe('M999');
  });

  it('maps 400 to GatewayRejectedError carrying the field', async () => {
    const { server, gateway } = await setup();
    server.handle((_req, res) => json(res, 400, { error: 'invalid_request', field: 'slotNum' }));
    const error = await gateway.vend('M001', request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatewayRejectedError);
    expect(error).not.toBeInstanceOf(UnknownMachineError);
    expect(error).toMatchObject({ statusCode: 400, code: 'invalid_request', field: 'slotNum' });
  });

  it('refuses an invalid request without sending it', async () => {
    const { server, gateway } = await setup();
    await expect(gateway.vend('M001', { ...request, slotNum: '' })).rejects.toThrow(/slotNum/);
    expect(server.requests).toHaveLength(0);
  });
});

describe('HttpMachineGateway: bad answers are GatewayProtocolError naming the field', () => {
  const cases: [string, unknown, string][] = [
    ['an unknown status', { vendId: request.vendId, status: 'done' }, 'status'],
    ['a failed vend without reason', { vendId: request.vendId, status: 'failed', finishedAt: 1 }, 'reason'],
    ['an unknown reason', { vendId: request.vendId, status: 'failed', reason: 'gremlins' }, 'reason'],
    ['another vendId', { vendId: 'XBL0001-1', status: 'success', finishedAt: 1 }, 'vendId'],
    ['a string finishedAt', { vendId: request.vendId, status: 'success', finishedAt: '1' }, 'finishedAt'],
    ['a bare array', [], '(body)'],
  ];
  for (const [name, body, field] of cases) {
    it(`vend answer with ${name} → field ${field}`, async () => {
      const { server, gateway } = await setup();
      server.handle((_req, res) => json(res, 200, body));
      const error = await gateway.vend('M001', request).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GatewayProtocolError);
      expect((error as GatewayProtocolError).field).toBe(field);
    });
  }

  it('a 200 that is not JSON → field (body)', async () => {
    const { server, gateway } = await setup();
    server.handle((_req, res) => {
      res.writeHead(200);
      res.end('OK');
    });
    const error = await gateway.getVend('V-1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatewayProtocolError);
    expect((error as GatewayProtocolError).field).toBe('(body)');
  });

  it('a layout with a negative inventory → the slot field', async () => {
    const { server, gateway } = await setup();
    const bad = { ...layout, slotList: [{ ...layout.slotList[0], currentInventory: -1 }] };
    server.handle((_req, res) => json(res, 200, bad));
    const error = await gateway.getMachine('M001').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatewayProtocolError);
    expect((error as GatewayProtocolError).field).toBe('slotList.0.currentInventory');
  });

  it('a layout of another machine → field machineCode', async () => {
    const { server, gateway } = await setup();
    server.handle((_req, res) => json(res, 200, layout));
    const error = await gateway.getMachine('M002').catch((e: unknown) => e);
    expect((error as GatewayProtocolError).field).toBe('machineCode');
  });

  it('an answer larger than the limit is refused', async () => {
    const server = await tinyServer();
    const gateway = new HttpMachineGateway({
      baseUrl: server.url,
      vendTimeoutMs: 2000,
      queryTimeoutMs: 2000,
      maxBodyBytes: 1000,
    });
    cleanups.push(
      () => server.close(),
      () => gateway.close(),
    );
    server.handle((_req, res) => json(res, 200, { vendId: 'V-1', status: 'pending', pad: 'x'.repeat(5000) }));
    await expect(gateway.getVend('V-1')).rejects.toBeInstanceOf(GatewayProtocolError);
  });
});

describe('HttpMachineGateway: transport failures', () => {
  it('no answer within vendTimeoutMs → GatewayTimeoutError', async () => {
    // long enough for a loaded machine to deliver the request before the client gives up
    const { server, gateway } = await setup({ vendTimeoutMs: 1000 });
    server.handle(() => {
      // never answers
    });
    const error = await gateway.vend('M001', request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatewayTimeoutError);
    expect((error as GatewayTimeoutError).timeoutMs).toBe(1000);
    // sent once, never re-sent (the server records a request once its body has been read)
    await expect.poll(() => server.requests.length).toBe(1);
  });

  it('headers sent but the body stalls → GatewayTimeoutError', async () => {
    const { server, gateway } = await setup({ queryTimeoutMs: 150 });
    server.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"vendId":');
    });
    await expect(gateway.getVend('V-1')).rejects.toBeInstanceOf(GatewayTimeoutError);
  });

  it('uses queryTimeoutMs for queries and vendTimeoutMs for vends', async () => {
    const { server, gateway } = await setup({ vendTimeoutMs: 10_000, queryTimeoutMs: 100 });
    const held: ServerResponse[] = [];
    server.handle((_req, res) => held.push(res));
    const vend = gateway.vend('M001', request);
    await waitFor(() => held.length === 1, { timeoutMs: 2000 });
    // the query times out while the vend, sent earlier, is still waiting for its answer
    await expect(gateway.getMachine('M001')).rejects.toBeInstanceOf(GatewayTimeoutError);
    const [vendResponse] = held;
    if (vendResponse) json(vendResponse, 200, { vendId: request.vendId, status: 'success', finishedAt: 1 });
    await expect(vend).resolves.toMatchObject({ status: 'success' });
  });

  it('a refused port → GatewayUnavailableError', async () => {
    const port = await freePort();
    const gateway = new HttpMachineGateway({
      baseUrl: `http://127.0.0.1:${port}`,
      vendTimeoutMs: 2000,
      queryTimeoutMs: 2000,
    });
    cleanups.push(() => gateway.close());
    await expect(gateway.vend('M001', request)).rejects.toBeInstanceOf(GatewayUnavailableError);
    await expect(gateway.getVend('V-1')).rejects.toBeInstanceOf(GatewayUnavailableError);
  });

  it('a reset connection → GatewayUnavailableError', async () => {
    const { server, gateway } = await setup();
    server.handle((req) => req.socket.destroy());
    await expect(gateway.getMachine('M001')).rejects.toBeInstanceOf(GatewayUnavailableError);
  });

  it('5xx → GatewayUnavailableError with the status', async () => {
    const { server, gateway } = await setup();
    server.handle((_req, res) => json(res, 503, { error: 'busy' }));
    const error = await gateway.vend('M001', request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatewayUnavailableError);
    expect((error as GatewayUnavailableError).statusCode).toBe(503);
  });

  it('after close, calls fail as unavailable', async () => {
    const { gateway } = await setup();
    await gateway.close();
    await expect(gateway.getVend('V-1')).rejects.toBeInstanceOf(GatewayUnavailableError);
  });
});
