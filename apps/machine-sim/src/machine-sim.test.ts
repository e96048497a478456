import {
  GatewayRejectedError,
  GatewayTimeoutError,
  HttpMachineGateway,
  UnknownMachineError,
  type VendRequest,
} from '@owc/gateway';
import { generateFleet } from '@owc/sim-fleet';
import { waitFor } from '@owc/testing';
import { afterEach, describe, expect, it } from 'vitest';
import type { LedgerEntry, OverlapReport, SimStats } from './machine-sim.js';
import { type MachineSimOptions, type StartedMachineSim, startMachineSim } from './start-machine-sim.js';

// The default fleet: machines M001..M003, slots "01".."12", container "01"; slot "01" of M001
// holds SKU00001 and slot "02" SKU00002 (generateFleet: sku = (machine + slot) % 12).

interface Harness {
  started: StartedMachineSim;
  gateway: HttpMachineGateway;
  http(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  ledger(): Promise<LedgerEntry[]>;
  stats(): Promise<SimStats>;
  inventory(machineCode: string, slotNum: string): Promise<number | undefined>;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(
  options: MachineSimOptions = {},
  client: { vendTimeoutMs?: number } = {},
): Promise<Harness> {
  const started = await startMachineSim(options);
  const gateway = new HttpMachineGateway({
    baseUrl: started.url,
    vendTimeoutMs: client.vendTimeoutMs ?? 10_000,
    queryTimeoutMs: 5000,
  });
  cleanups.push(
    () => started.close(),
    () => gateway.close(),
  );
  const http: Harness['http'] = async (method, path, body) => {
    const response = await fetch(started.url + path, {
      method,
      ...(body === undefined
        ? {}
        : {
            headers: { 'content-type': 'application/json' },
            body: typeof body === 'string' ? body : JSON.stringify(body),
          }),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };
  return {
    started,
    gateway,
    http,
    ledger: async () => (await http('GET', '/ledger')).body as LedgerEntry[],
    stats: async () => (await http('GET', '/_sim/stats')).body as SimStats,
    inventory: async (machineCode, slotNum) =>
      (await gateway.getMachine(machineCode))?.slotList.find((s) => s.slotNum === slotNum)?.currentInventory,
  };
}

function unit(vendId: string, slotNum = '01', skuCode = 'SKU00001'): VendRequest {
  return { vendId, containerCode: '01', slotNum, skuCode };
}

describe('vending', () => {
  it('vends one unit: success, inventory down, ledger entry', async () => {
    const h = await start();
    const answer = await h.gateway.vend('M001', unit('O1-0'));
    expect(answer).toMatchObject({ vendId: 'O1-0', status: 'success' });
    expect(answer.finishedAt).toEqual(expect.any(Number));
    expect(await h.inventory('M001', '01')).toBe(9);
    expect(await h.inventory('M001', '02')).toBe(10);
    const [entry, ...rest] = await h.ledger();
    expect(rest).toHaveLength(0);
    expect(entry).toMatchObject({
      seq: 1,
      vendId: 'O1-0',
      machineCode: 'M001',
      containerCode: '01',
      slotNum: '01',
      skuCode: 'SKU00001',
      status: 'success',
      finishedAt: answer.finishedAt,
    });
    expect(entry?.reason).toBeUndefined();
    expect(await h.gateway.getVend('O1-0')).toEqual(answer);
  });

  it('is idempotent by vendId: the second request returns the first result and vends nothing', async () => {
    const h = await start();
    const first = await h.gateway.vend('M001', unit('O1-0'));
    const second = await h.gateway.vend('M001', unit('O1-0'));
    expect(second).toEqual(first);
    expect(await h.ledger()).toHaveLength(1);
    expect(await h.inventory('M001', '01')).toBe(9);
    expect(await h.stats()).toMatchObject({
      vends: 1,
      dedupedRequests: 1,
      dedupConflicts: 0,
      doubleVends: 0,
    });
  });

  it('a duplicate that differs (other slot) still returns the first result, counted as a conflict', async () => {
    const h = await start();
    const first = await h.gateway.vend('M001', unit('O1-0'));
    await expect(h.gateway.vend('M001', unit('O1-0', '02', 'SKU00002'))).resolves.toEqual(first);
    expect(await h.inventory('M001', '02')).toBe(10);
    expect(await h.stats()).toMatchObject({ vends: 1, dedupedRequests: 1, dedupConflicts: 1 });
  });

  it('a duplicate while the first is still moving waits for the same outcome; getVend says pending meanwhile', async () => {
    const h = await start({ vendDurationMs: 300 });
    const first = h.gateway.vend('M001', unit('O1-0'));
    await waitFor(async () => (await h.gateway.getVend('O1-0'))?.status === 'pending', { timeoutMs: 5000 });
    const second = h.gateway.vend('M001', unit('O1-0'));
    const [a, b] = await Promise.all([first, second]);
    expect(a.status).toBe('success');
    expect(b).toEqual(a);
    expect(await h.ledger()).toHaveLength(1);
    expect(await h.inventory('M001', '01')).toBe(9);
    const overlaps = (await h.http('GET', '/_sim/overlaps')).body as OverlapReport;
    expect(overlaps.total).toBe(0);
  });

  it('empties a slot unit by unit, then fails slot_empty', async () => {
    const h = await start({ fleet: { machines: 1, slotsPerMachine: 2, inventory: 2 } });
    expect((await h.gateway.vend('M001', unit('O1-0'))).status).toBe('success');
    expect((await h.gateway.vend('M001', unit('O1-1'))).status).toBe('success');
    expect(await h.gateway.vend('M001', unit('O1-2'))).toMatchObject({
      status: 'failed',
      reason: 'slot_empty',
    });
    expect(await h.inventory('M001', '01')).toBe(0);
    expect((await h.ledger()).map((e) => [e.vendId, e.status, e.reason])).toEqual([
      ['O1-0', 'success', undefined],
      ['O1-1', 'success', undefined],
      ['O1-2', 'failed', 'slot_empty'],
    ]);
  });
});

describe('failure reasons occur when their condition holds', () => {
  it('slot_fault: a slot with slotStatus ≠ 0', async () => {
    const h = await start();
    expect((await h.http('POST', '/_sim/machines/M001/slots/01/faults', { slotStatus: 2 })).status).toBe(200);
    expect(await h.gateway.vend('M001', unit('O1-0'))).toMatchObject({
      status: 'failed',
      reason: 'slot_fault',
    });
    expect(await h.inventory('M001', '01')).toBe(10);
    expect((await h.gateway.getMachine('M001'))?.slotList[0]?.slotStatus).toBe(2);
    // other slots vend normally
    expect((await h.gateway.vend('M001', unit('O1-1', '02', 'SKU00002'))).status).toBe('success');
  });

  it('sku_mismatch: the request names another sku than the slot holds', async () => {
    const h = await start();
    expect(await h.gateway.vend('M001', unit('O1-0', '01', 'SKU00002'))).toMatchObject({
      status: 'failed',
      reason: 'sku_mismatch',
    });
    expect(await h.inventory('M001', '01')).toBe(10);
    expect((await h.ledger())[0]).toMatchObject({ vendId: 'O1-0', status: 'failed', reason: 'sku_mismatch' });
  });

  it('jammed: the motor turns, the unit does not drop, until the jam is cleared', async () => {
    const h = await start();
    await h.http('POST', '/_sim/machines/M001/slots/01/faults', { jammed: true });
    expect(await h.gateway.vend('M001', unit('O1-0'))).toMatchObject({ status: 'failed', reason: 'jammed' });
    expect(await h.inventory('M001', '01')).toBe(10);
    expect((await h.ledger())[0]).toMatchObject({ vendId: 'O1-0', status: 'failed', reason: 'jammed' });
    // the result is final for that vendId
    expect(await h.gateway.getVend('O1-0')).toMatchObject({ status: 'failed', reason: 'jammed' });
    await h.http('POST', '/_sim/machines/M001/slots/01/faults', { jammed: false });
    expect((await h.gateway.vend('M001', unit('O1-1'))).status).toBe('success');
  });

  for (const [machineStatus, reason] of [
    [20, 'machine_offline'],
    [30, 'machine_fault'],
  ] as const) {
    it(`${reason}: machineStatus ${machineStatus} refuses; nothing is recorded, the same vendId works later`, async () => {
      const h = await start();
      expect((await h.http('POST', '/_sim/machines/M002/faults', { machineStatus })).status).toBe(200);
      expect((await h.gateway.getMachine('M002'))?.machineStatus).toBe(machineStatus);
      expect(await h.gateway.vend('M002', unit('O2-0', '01', 'SKU00002'))).toMatchObject({
        status: 'failed',
        reason,
      });
      expect(await h.gateway.getVend('O2-0')).toBeUndefined();
      expect(await h.ledger()).toHaveLength(0);
      expect(await h.inventory('M002', '01')).toBe(10);
      expect(await h.stats()).toMatchObject({ vends: 0, refused: 1 });

      await h.http('POST', '/_sim/machines/M002/faults', { machineStatus: 10 });
      expect((await h.gateway.vend('M002', unit('O2-0', '01', 'SKU00002'))).status).toBe('success');
      expect(await h.ledger()).toHaveLength(1);
    });
  }
});

describe('one unit at a time per machine', () => {
  it('a second vend for a busy machine is queued behind the first and counted as an overlap', async () => {
    // long enough that the second request surely arrives while the first is still moving
    const h = await start({ vendDurationMs: 1000 });
    const first = h.gateway.vend('M001', unit('O1-0'));
    await waitFor(async () => (await h.gateway.getVend('O1-0'))?.status === 'pending', { timeoutMs: 5000 });
    const second = h.gateway.vend('M001', unit('O1-1', '02', 'SKU00002'));
    await expect(Promise.all([first, second])).resolves.toMatchObject([
      { status: 'success' },
      { status: 'success' },
    ]);
    const [a, b] = await h.ledger();
    expect([a?.vendId, b?.vendId]).toEqual(['O1-0', 'O1-1']);
    expect(b?.startedAt).toBeGreaterThanOrEqual(a?.finishedAt ?? Number.POSITIVE_INFINITY);
    const overlaps = (await h.http('GET', '/_sim/overlaps')).body as OverlapReport;
    expect(overlaps.total).toBe(1);
    expect(overlaps.machines.M001).toEqual({ overlaps: 1, maxConcurrency: 2 });
    expect(overlaps.machines.M002).toEqual({ overlaps: 0, maxConcurrency: 0 });
  });

  it('a burst of concurrent requests, each vendId three times: every vendId vended once, never more units than stock', async () => {
    const h = await start({ vendDurationMs: 5 });
    const vendIds = Array.from({ length: 15 }, (_, i) => `B1-${i}`);
    const answers = await Promise.all(
      vendIds.flatMap((vendId) => [0, 1, 2].map(() => h.gateway.vend('M001', unit(vendId)))),
    );
    const ledger = await h.ledger();
    expect(ledger.map((e) => e.vendId).sort()).toEqual([...vendIds].sort());
    expect(ledger.filter((e) => e.status === 'success')).toHaveLength(10);
    expect(ledger.filter((e) => e.reason === 'slot_empty')).toHaveLength(5);
    for (const answer of answers) {
      expect(answer).toEqual(await h.gateway.getVend(answer.vendId));
    }
    expect(await h.inventory('M001', '01')).toBe(0);
    expect(await h.stats()).toMatchObject({ vends: 15, dedupedRequests: 30, doubleVends: 0 });
    // runs never interleave: each vend starts after the previous one finished
    for (let i = 1; i < ledger.length; i++) {
      expect(ledger[i]?.startedAt).toBeGreaterThanOrEqual(
        ledger[i - 1]?.finishedAt ?? Number.POSITIVE_INFINITY,
      );
    }
  });

  it('sequential vends and vends on different machines are no overlap', async () => {
    const h = await start({ vendDurationMs: 50 });
    await h.gateway.vend('M001', unit('O1-0'));
    await h.gateway.vend('M001', unit('O1-1'));
    await Promise.all([
      h.gateway.vend('M002', unit('O2-0', '01', 'SKU00002')),
      h.gateway.vend('M003', unit('O3-0', '01', 'SKU00003')),
    ]);
    const overlaps = (await h.http('GET', '/_sim/overlaps')).body as OverlapReport;
    expect(overlaps).toEqual({
      total: 0,
      machines: {
        M001: { overlaps: 0, maxConcurrency: 1 },
        M002: { overlaps: 0, maxConcurrency: 1 },
        M003: { overlaps: 0, maxConcurrency: 1 },
      },
    });
    expect((await h.stats()).vends).toBe(4);
  });

  it('twenty machines vending at once: no listener warning (each vend in flight waits on the closing signal)', async () => {
    const options = { machines: 20, slotsPerMachine: 1, inventory: 1 };
    const fleet = generateFleet(options);
    const h = await start({ fleet: options, vendDurationMs: 100 });
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const answers = await Promise.all(
        fleet.machines.map((machine, i) => {
          const slot = machine.slotList[0];
          if (!slot) throw new Error('no slot');
          return h.gateway.vend(machine.machineCode, unit(`W${i}-0`, slot.slotNum, slot.skuCode));
        }),
      );
      expect(answers.map((a) => a.status)).toEqual(fleet.machines.map(() => 'success'));
      // the warning is emitted on a later tick
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.map((w) => w.name)).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('fault injection', () => {
  it('lose answer: the unit drops and the ledger has it, the client times out, getVend says success', async () => {
    const h = await start({}, { vendTimeoutMs: 300 });
    const set = await h.http('POST', '/_sim/machines/M001/faults', {
      loseAnswers: { count: 1, holdMs: 60_000 },
    });
    expect(set.body).toMatchObject({ loseAnswers: { count: 1, holdMs: 60_000 } });

    const error = await h.gateway.vend('M001', unit('O1-0')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatewayTimeoutError);
    const ledger = await waitFor(
      async () => {
        const l = await h.ledger();
        return l.length === 1 && l;
      },
      { timeoutMs: 5000 },
    );
    expect(ledger[0]).toMatchObject({ vendId: 'O1-0', status: 'success', answerLost: true });
    expect(await h.gateway.getVend('O1-0')).toMatchObject({ vendId: 'O1-0', status: 'success' });
    expect(await h.inventory('M001', '01')).toBe(9);

    // only the next N vends: the following one answers normally
    expect((await h.gateway.vend('M001', unit('O1-1'))).status).toBe('success');
    expect((await h.http('GET', '/_sim/machines/M001/faults')).body).toMatchObject({
      loseAnswers: { count: 0 },
    });
  });

  it('lose answer for the next N vends, set at start', async () => {
    const h = await start(
      { faults: [{ machineCode: 'M003', loseAnswers: { count: 2, holdMs: 60_000 } }] },
      {
        vendTimeoutMs: 200,
      },
    );
    await expect(h.gateway.vend('M003', unit('O3-0', '01', 'SKU00003'))).rejects.toBeInstanceOf(
      GatewayTimeoutError,
    );
    await expect(h.gateway.vend('M003', unit('O3-1', '01', 'SKU00003'))).rejects.toBeInstanceOf(
      GatewayTimeoutError,
    );
    await expect(h.gateway.vend('M003', unit('O3-2', '01', 'SKU00003'))).resolves.toMatchObject({
      status: 'success',
    });
    const ledger = await waitFor(
      async () => {
        const l = await h.ledger();
        return l.length === 3 && l;
      },
      { timeoutMs: 5000 },
    );
    expect(ledger.map((e) => e.answerLost ?? false)).toEqual([true, true, false]);
  });

  it('extra latency keeps the vend moving (pending) past the client timeout', async () => {
    const h = await start({}, { vendTimeoutMs: 200 });
    await h.http('POST', '/_sim/machines/M001/faults', { extraLatencyMs: 60_000 });
    await expect(h.gateway.vend('M001', unit('O1-0'))).rejects.toBeInstanceOf(GatewayTimeoutError);
    expect(await h.gateway.getVend('O1-0')).toEqual({ vendId: 'O1-0', status: 'pending' });
    expect(await h.ledger()).toHaveLength(0);
    // other machines are not slowed
    expect((await h.gateway.vend('M002', unit('O2-0', '01', 'SKU00002'))).status).toBe('success');
  });

  it('faults from the start options: a machine offline from the beginning, a jammed slot', async () => {
    const h = await start({
      faults: [
        { machineCode: 'M002', machineStatus: 20 },
        { machineCode: 'M001', jammedSlots: ['03'] },
      ],
    });
    expect((await h.gateway.getMachine('M002'))?.machineStatus).toBe(20);
    expect(await h.gateway.vend('M001', unit('O1-0', '03', 'SKU00003'))).toMatchObject({ reason: 'jammed' });
  });

  it('start options with a fault on an unknown machine are refused', async () => {
    await expect(startMachineSim({ faults: [{ machineCode: 'M404', machineStatus: 20 }] })).rejects.toThrow(
      /M404/,
    );
    await expect(
      startMachineSim({ faults: [{ machineCode: 'M001', machineStatus: 15 as 10 }] }),
    ).rejects.toThrow(/faults\.0\.machineStatus/);
  });
});

describe('restock', () => {
  it('sets inventory and changes a slot; GET /machines reflects it and vends follow it', async () => {
    const h = await start();
    const restocked = await h.http('POST', '/_sim/machines/M001/restock', {
      slots: [
        {
          slotNum: '01',
          currentInventory: 3,
          skuCode: 'NEW01',
          skuName: 'New thing',
          originalPrice: '3.00',
          actualPrice: '2.50',
        },
        { slotNum: '02', currentInventory: 0 },
      ],
    });
    expect(restocked.status).toBe(200);
    const layout = await h.gateway.getMachine('M001');
    expect(layout?.slotList[0]).toMatchObject({
      slotNum: '01',
      skuCode: 'NEW01',
      skuName: 'New thing',
      originalPrice: '3.00',
      actualPrice: '2.50',
      currentInventory: 3,
    });
    expect(layout?.slotList[1]?.currentInventory).toBe(0);
    expect(restocked.body).toEqual(layout);

    expect(await h.gateway.vend('M001', unit('O1-0'))).toMatchObject({ reason: 'sku_mismatch' });
    expect((await h.gateway.vend('M001', unit('O1-1', '01', 'NEW01'))).status).toBe('success');
    expect(await h.inventory('M001', '01')).toBe(2);

    // no slots listed: every slot back to its maximum
    expect((await h.http('POST', '/_sim/machines/M001/restock', {})).status).toBe(200);
    const full = await h.gateway.getMachine('M001');
    expect(full?.slotList.every((s) => s.currentInventory === s.maxInventory)).toBe(true);
    const restocks = (await h.http('GET', '/_sim/restocks')).body as {
      machineCode: string;
      slotNums: string[];
    }[];
    expect(restocks.map((r) => [r.machineCode, r.slotNums.length])).toEqual([
      ['M001', 2],
      ['M001', 12],
    ]);
  });

  it('a restock beyond maxInventory or of an unknown slot is refused whole, naming the field', async () => {
    const h = await start();
    const over = await h.http('POST', '/_sim/machines/M001/restock', {
      slots: [
        { slotNum: '02', currentInventory: 1 },
        { slotNum: '01', currentInventory: 11 },
      ],
    });
    expect(over).toMatchObject({ status: 400, body: { field: 'slots.1.currentInventory' } });
    const unknown = await h.http('POST', '/_sim/machines/M001/restock', { slots: [{ slotNum: '99' }] });
    expect(unknown).toMatchObject({ status: 400, body: { field: 'slots.0.slotNum' } });
    const badPrice = await h.http('POST', '/_sim/machines/M001/restock', {
      slots: [{ slotNum: '01', actualPrice: '2.5' }],
    });
    expect(badPrice).toMatchObject({ status: 400, body: { field: 'slots.0.actualPrice' } });
    expect(await h.inventory('M001', '02')).toBe(10);
    expect((await h.http('POST', '/_sim/machines/M404/restock', {})).status).toBe(404);
  });
});

describe('errors of the contract', () => {
  it('unknown machine: vend → UnknownMachineError, GET /machines → undefined; unknown vend → undefined', async () => {
    const h = await start();
    await expect(h.gateway.vend('M404', unit('O1-0'))).rejects.toBeInstanceOf(UnknownMachineError);
    await expect(h.gateway.getMachine('M404')).resolves.toBeUndefined();
    await expect(h.gateway.getVend('never-sent')).resolves.toBeUndefined();
    expect(await h.http('GET', '/machines/M404')).toEqual({
      status: 404,
      body: { error: 'unknown_machine' },
    });
    expect(await h.http('GET', '/vends/nope')).toEqual({ status: 404, body: { error: 'unknown_vend' } });
  });

  it('long ids (a 128-character orderViewId plus the unit index, a 128-character machine code) work', async () => {
    const longCode = 'C'.repeat(128);
    const [machine] = generateFleet({ machines: 1, slotsPerMachine: 1 }).machines;
    if (!machine) throw new Error('no machine generated');
    const h = await start({ machines: [{ ...machine, machineCode: longCode }] });
    const vendId = `${'O'.repeat(128)}-999`;
    expect((await h.gateway.vend(longCode, unit(vendId))).status).toBe('success');
    expect(await h.gateway.getVend(vendId)).toMatchObject({ vendId, status: 'success' });
    expect((await h.gateway.getMachine(longCode))?.slotList[0]?.currentInventory).toBe(9);
    await expect(h.gateway.getVend(`${'O'.repeat(128)}-998`)).resolves.toBeUndefined();
  });

  it('unknown slot and wrong container → 400 naming the field; nothing recorded', async () => {
    const h = await start();
    const slot = await h.gateway.vend('M001', unit('O1-0', '99')).catch((e: unknown) => e);
    expect(slot).toBeInstanceOf(GatewayRejectedError);
    expect(slot).toMatchObject({ statusCode: 400, code: 'unknown_slot', field: 'slotNum' });
    const container = await h.gateway
      .vend('M001', { ...unit('O1-1'), containerCode: '02' })
      .catch((e: unknown) => e);
    expect(container).toMatchObject({ statusCode: 400, code: 'unknown_container', field: 'containerCode' });
    expect(await h.gateway.getVend('O1-0')).toBeUndefined();
    expect(await h.ledger()).toHaveLength(0);
  });

  it('a bad vend body → 400 {error, field}', async () => {
    const h = await start();
    const cases: [unknown, string][] = [
      [{ containerCode: '01', slotNum: '01', skuCode: 'SKU00001' }, 'vendId'],
      [{ vendId: 'x', containerCode: '01', slotNum: 1, skuCode: 'SKU00001' }, 'slotNum'],
      [{ vendId: '', containerCode: '01', slotNum: '01', skuCode: 'SKU00001' }, 'vendId'],
      [[], '(body)'],
      ['"just a string"', '(body)'],
      ['{"vendId":', '(body)'],
      ['null', '(body)'],
    ];
    for (const [body, field] of cases) {
      const answer = await h.http('POST', '/machines/M001/vends', body);
      expect({ body, status: answer.status, field: (answer.body as { field?: string }).field }).toEqual({
        body,
        status: 400,
        field,
      });
      expect((answer.body as { error?: unknown }).error).toEqual(expect.any(String));
    }
    const noBody = await h.http('POST', '/machines/M001/vends');
    expect(noBody).toMatchObject({ status: 400, body: { field: '(body)' } });
    expect(await h.ledger()).toHaveLength(0);
  });

  it('a wrong content type or an unknown route answers 4xx JSON and the server lives on', async () => {
    const h = await start();
    const text = await fetch(`${h.started.url}/machines/M001/vends`, {
      method: 'POST',
      headers: { 'content-type': 'application/xml' },
      body: '<vend/>',
    });
    expect(text.status).toBe(415);
    expect(await text.json()).toMatchObject({ error: 'invalid_request', field: '(body)' });
    expect(await h.http('GET', '/nowhere')).toMatchObject({ status: 404, body: { error: 'not_found' } });
    expect((await h.gateway.vend('M001', unit('O1-0'))).status).toBe('success');
  });
});

describe('control API', () => {
  it('bad control input → 400 naming the field', async () => {
    const h = await start();
    const cases: [string, unknown, string][] = [
      ['/_sim/machines/M001/faults', { machineStatus: 15 }, 'machineStatus'],
      ['/_sim/machines/M001/faults', { extraLatencyMs: -1 }, 'extraLatencyMs'],
      ['/_sim/machines/M001/faults', { loseAnswers: { count: 1 } }, 'loseAnswers.holdMs'],
      ['/_sim/machines/M001/faults', { loseAnswers: { count: 1, holdMs: 0 } }, 'loseAnswers.holdMs'],
      ['/_sim/machines/M001/faults', { offline: true }, '(body)'],
      ['/_sim/machines/M001/faults', {}, '(body)'],
      ['/_sim/machines/M001/slots/01/faults', { jammed: 'yes' }, 'jammed'],
      ['/_sim/machines/M001/slots/01/faults', { slotStatus: 1.5 }, 'slotStatus'],
      ['/_sim/machines/M001/restock', { slots: {} }, 'slots'],
      ['/_sim/machines/M001/restock', { slots: [{ currentInventory: 1 }] }, 'slots.0.slotNum'],
      ['/_sim/machines/M001/restock', [], '(body)'],
    ];
    for (const [path, body, field] of cases) {
      const answer = await h.http('POST', path, body);
      expect({ path, body, status: answer.status, field: (answer.body as { field?: string }).field }).toEqual(
        {
          path,
          body,
          status: 400,
          field,
        },
      );
    }
    expect(await h.http('GET', '/ledger?after=x')).toMatchObject({
      status: 400,
      body: { field: 'query.after' },
    });
    expect(await h.http('POST', '/_sim/machines/M404/faults', { machineStatus: 20 })).toMatchObject({
      status: 404,
    });
    expect(await h.http('POST', '/_sim/machines/M001/slots/99/faults', { jammed: true })).toMatchObject({
      status: 404,
      body: { error: 'unknown_slot', field: 'slotNum' },
    });
    // nothing changed
    expect((await h.http('GET', '/_sim/machines/M001/faults')).body).toEqual({
      machineStatus: 10,
      extraLatencyMs: 0,
      loseAnswers: { count: 0, holdMs: 0 },
      jammedSlots: [],
    });
  });

  it('nothing crashes on any body', async () => {
    const h = await start();
    const bodies = [
      '',
      'null',
      '0',
      '"x"',
      '[1,2]',
      '{"__proto__":{"a":1}}',
      `{"a":${'['.repeat(500)}`,
      'x'.repeat(10_000),
    ];
    const paths = [
      '/machines/M001/vends',
      '/_sim/machines/M001/faults',
      '/_sim/machines/M001/slots/01/faults',
      '/_sim/machines/M001/restock',
    ];
    for (const path of paths) {
      for (const body of bodies) {
        const response = await fetch(h.started.url + path, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        expect({ path, body: body.slice(0, 20), status: response.status }).toEqual({
          path,
          body: body.slice(0, 20),
          status: 400,
        });
        await response.text();
      }
    }
    expect((await h.gateway.vend('M001', unit('O1-0'))).status).toBe('success');
  });

  it('ledger filters by machine, vendId and seq', async () => {
    const h = await start();
    await h.gateway.vend('M001', unit('O1-0'));
    await h.gateway.vend('M002', unit('O2-0', '01', 'SKU00002'));
    await h.gateway.vend('M001', unit('O1-1'));
    const byMachine = (await h.http('GET', '/ledger?machineCode=M001')).body as LedgerEntry[];
    expect(byMachine.map((e) => e.vendId)).toEqual(['O1-0', 'O1-1']);
    const after = (await h.http('GET', '/ledger?after=1')).body as LedgerEntry[];
    expect(after.map((e) => e.seq)).toEqual([2, 3]);
    const one = (await h.http('GET', '/ledger?vendId=O2-0')).body as LedgerEntry[];
    expect(one.map((e) => e.machineCode)).toEqual(['M002']);
  });

  it('reset: back to the seed, faults of the start options again, ledger and counters empty', async () => {
    const h = await start({ faults: [{ machineCode: 'M003', machineStatus: 30 }] });
    await h.gateway.vend('M001', unit('O1-0'));
    await h.gateway.vend('M001', unit('O1-0'));
    await h.http('POST', '/_sim/machines/M001/faults', { machineStatus: 20 });
    await h.http('POST', '/_sim/machines/M003/faults', { machineStatus: 10 });
    await h.http('POST', '/_sim/machines/M001/slots/02/faults', { jammed: true });

    expect(await h.http('POST', '/_sim/reset')).toEqual({ status: 200, body: { ok: true } });
    expect(await h.ledger()).toEqual([]);
    expect(await h.stats()).toMatchObject({ vends: 0, dedupedRequests: 0, refused: 0 });
    expect(await h.inventory('M001', '01')).toBe(10);
    expect((await h.gateway.getMachine('M001'))?.machineStatus).toBe(10);
    expect((await h.gateway.getMachine('M003'))?.machineStatus).toBe(30);
    expect(await h.gateway.getVend('O1-0')).toBeUndefined();
    expect((await h.gateway.vend('M001', unit('O1-2', '02', 'SKU00002'))).status).toBe('success');
  });

  it('a machine with two containers: the multi-container read, vends and restocks per container', async () => {
    const [one] = generateFleet({ machines: 1, slotsPerMachine: 2, inventory: 5 }).machines;
    if (!one) throw new Error('no machine generated');
    const a1 = { ...one, machineCode: 'M9', containerCode: 'A1' };
    const b2 = { ...structuredClone(one), machineCode: 'M9', containerCode: 'B2' };
    const h = await start({ machines: [b2, a1] });
    const state = await h.http('GET', '/machines/M9');
    expect(state.body).toMatchObject({
      machineCode: 'M9',
      machineStatus: 10,
      containers: [{ containerCode: 'A1' }, { containerCode: 'B2' }],
    });
    expect((await h.gateway.getContainers('M9'))?.map((c) => c.containerCode)).toEqual(['A1', 'B2']);
    expect((await h.http('GET', '/machines/M9?containerCode=B2')).body).toEqual(b2);
    expect((await h.http('GET', '/machines/M9?containerCode=Z9')).status).toBe(404);
    const slot = one.slotList[0];
    if (!slot) throw new Error('no slot');
    const vend = (vendId: string, containerCode?: string) =>
      h.gateway.vend('M9', {
        vendId,
        slotNum: slot.slotNum,
        skuCode: slot.skuCode,
        ...(containerCode ? { containerCode } : {}),
      });
    expect((await vend('MC-0', 'B2')).status).toBe('success');
    expect((await h.gateway.getMachine('M9', 'B2'))?.slotList[0]?.currentInventory).toBe(4);
    expect((await h.gateway.getMachine('M9', 'A1'))?.slotList[0]?.currentInventory).toBe(5);
    // naming no container on a machine with several: the gateway refuses to guess
    const refused = await vend('MC-1').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(GatewayRejectedError);
    expect((refused as GatewayRejectedError).field).toBe('containerCode');
    expect((await h.ledger()).map((e) => e.containerCode)).toEqual(['B2']);
    const restocked = await h.http('POST', '/_sim/machines/M9/restock', { containerCode: 'B2' });
    expect(restocked.status).toBe(200);
    expect((await h.gateway.getMachine('M9', 'B2'))?.slotList[0]?.currentInventory).toBe(5);
    // a single-container machine still answers the single shape, and vends without containerCode
    const single = await start({ fleet: { machines: 1, slotsPerMachine: 1, inventory: 1 } });
    const [code] = single.started.sim.machineCodes();
    const layout = await single.gateway.getMachine(code ?? '');
    expect(layout).not.toHaveProperty('containers');
    const first = layout?.slotList[0];
    expect(
      (
        await single.gateway.vend(code ?? '', {
          vendId: 'S-0',
          slotNum: first?.slotNum ?? '',
          skuCode: first?.skuCode ?? '',
        })
      ).status,
    ).toBe('success');
  });
});
