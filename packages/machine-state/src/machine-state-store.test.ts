import type { MachineLayout } from '@owc/protocol';
import { redisTest } from '@owc/testing';
import { describe, expect } from 'vitest';
import { MachineStateStore, machineSnapshotKey } from './machine-state-store.js';

function layout(code: string, inventory: number, status: 10 | 20 | 30 = 10, container = '01'): MachineLayout {
  return {
    machineCode: code,
    containerCode: container,
    machineStatus: status,
    slotList: [
      {
        slotNum: '1',
        row: 1,
        col: 1,
        skuCode: 'COLA',
        skuName: 'Cola',
        originalPrice: '2.50',
        actualPrice: '2.00',
        maxInventory: 10,
        currentInventory: inventory,
        slotStatus: 0,
      },
    ],
  };
}

describe('MachineStateStore', () => {
  redisTest('keeps the last known layout per machine under a hash-tagged key', async ({ redis, prefix }) => {
    const store = new MachineStateStore({ redis, keyPrefix: prefix });
    expect(await store.get('M1')).toBeUndefined();
    expect(await store.save(layout('M1', 5), 1000)).toBe(true);
    expect(await store.save(layout('M2', 7, 20), 1000)).toBe(true);
    expect(await store.get('M1')).toEqual({ layout: layout('M1', 5), seenAt: 1000 });
    expect(await store.get('M2')).toEqual({ layout: layout('M2', 7, 20), seenAt: 1000 });
    expect(machineSnapshotKey(prefix, 'M1')).toBe(`${prefix}:{machine:M1}:snapshot`);
    expect(await redis.exists(`${prefix}:{machine:M1}:snapshot`)).toBe(1);
  });

  redisTest('a newer snapshot wins; an older one never replaces it', async ({ redis, prefix }) => {
    const store = new MachineStateStore({ redis, keyPrefix: prefix });
    await store.save(layout('M1', 5), 2000);
    expect(await store.save(layout('M1', 9), 1500)).toBe(false);
    expect((await store.get('M1'))?.layout.slotList[0]?.currentInventory).toBe(5);
    expect(await store.save(layout('M1', 3), 2500)).toBe(true);
    expect(await store.get('M1')).toEqual({ layout: layout('M1', 3), seenAt: 2500 });
  });

  redisTest('refuses an invalid layout naming the field, and writes nothing', async ({ redis, prefix }) => {
    const store = new MachineStateStore({ redis, keyPrefix: prefix });
    const bad = { ...layout('M1', 5), machineStatus: 99 } as unknown as MachineLayout;
    await expect(store.save(bad, 1)).rejects.toThrow(/machineStatus/);
    expect(await redis.keys(`${prefix}*`)).toEqual([]);
  });

  redisTest('an unreadable stored value reads as unknown', async ({ redis, prefix }) => {
    const store = new MachineStateStore({ redis, keyPrefix: prefix });
    await redis.hset(machineSnapshotKey(prefix, 'M1'), 'layout:01', '{nope', 'seenAt:01', '1');
    expect(await store.get('M1')).toBeUndefined();
  });

  redisTest(
    'containers of one machine are kept apart: neither overwrites the other, each has its own age',
    async ({ redis, prefix }) => {
      const store = new MachineStateStore({ redis, keyPrefix: prefix });
      expect(await store.save(layout('M1', 5, 10, 'B2'), 2000)).toBe(true);
      expect(await store.save(layout('M1', 7, 30, 'A1'), 1000)).toBe(true);
      expect(await store.get('M1', 'A1')).toEqual({ layout: layout('M1', 7, 30, 'A1'), seenAt: 1000 });
      expect(await store.get('M1', 'B2')).toEqual({ layout: layout('M1', 5, 10, 'B2'), seenAt: 2000 });
      expect(await store.get('M1', 'C3')).toBeUndefined();
      // without a container: the first by code
      expect((await store.get('M1'))?.layout.containerCode).toBe('A1');
      expect((await store.list('M1')).map((s) => s.layout.containerCode)).toEqual(['A1', 'B2']);
      // an older A1 never replaces the newer one, and does not touch B2
      expect(await store.save(layout('M1', 1, 10, 'A1'), 500)).toBe(false);
      expect((await store.get('M1', 'A1'))?.layout.slotList[0]?.currentInventory).toBe(7);
      expect(await redis.keys(`${prefix}*`)).toEqual([machineSnapshotKey(prefix, 'M1')]);
    },
  );
});
