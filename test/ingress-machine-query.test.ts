import { post, signed, startTestIngress } from '@owc/ingress/test-kit';
import { startMachineSim } from '@owc/machine-sim';
import { redisTest } from '@owc/testing';
import { describe, expect } from 'vitest';

// The ingress's machine/query against the machine simulator app (the route's own tests, with a
// minimal gateway, are in apps/ingress/src/routes/machine-query.route.test.ts).
describe('POST /machine/query with the machine simulator', () => {
  redisTest(
    'against the machine simulator: live while it runs, the snapshot once it is gone',
    async ({ redisUrl, prefix }) => {
      const machineSim = await startMachineSim({ fleet: { machines: 2, slotsPerMachine: 4, inventory: 10 } });
      const [code] = machineSim.sim.machineCodes();
      if (!code) throw new Error('the simulator has no machine');
      const ingress = await startTestIngress(redisUrl, prefix, {
        env: { MACHINE_GATEWAY_URL: machineSim.url },
      });
      const query = () => post(`${ingress.url}/machine/query`, signed({ machineCode: code }));
      try {
        expect((await query()).body).toEqual({
          code: 200,
          msg: 'success',
          data: machineSim.sim.getMachine(code),
        });
        const firstSlot = machineSim.sim.getMachine(code)?.slotList[0]?.slotNum ?? '';
        expect(
          machineSim.sim.restock(code, { slots: [{ slotNum: firstSlot, currentInventory: 3 }] }),
        ).toHaveProperty('layout');
        const restocked = machineSim.sim.getMachine(code);
        expect((await query()).body).toEqual({ code: 200, msg: 'success', data: restocked });
        expect((await ingress.deps.machines.get(code))?.layout).toEqual(restocked);

        await machineSim.close();
        // the last snapshot, but reported offline: stale is never presented as live
        expect((await query()).body).toEqual({
          code: 200,
          msg: 'success',
          data: { ...restocked, machineStatus: 20 },
        });
      } finally {
        await ingress.close();
        await machineSim.close();
      }
    },
  );
});
