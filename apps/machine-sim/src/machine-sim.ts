import { setMaxListeners } from 'node:events';
import type { MachineState, VendAnswer, VendFailureReason, VendRequest } from '@owc/gateway';
import type { Logger } from '@owc/observability';
import { type MachineLayout, MachineStatus } from '@owc/protocol';
import { delay } from './delay.js';
import type { MachineFaults, Restock, SlotFaults, StartFault } from './sim.schema.js';

/** One vend the simulator performed (GET /ledger). */
export interface LedgerEntry {
  seq: number;
  vendId: string;
  machineCode: string;
  containerCode: string;
  slotNum: string;
  skuCode: string;
  status: 'success' | 'failed';
  reason?: VendFailureReason;
  startedAt: number;
  finishedAt: number;
  /** true when the HTTP answer of this vend was held back (lose-answer fault) */
  answerLost?: boolean;
}

export interface RestockEntry {
  seq: number;
  machineCode: string;
  at: number;
  slotNums: string[];
}

/** What `vend` resolved to; the HTTP layer maps it to 200 / 400 / 404. */
export type VendOutcome =
  | { kind: 'answer'; answer: VendAnswer }
  | { kind: 'unknown_machine' }
  | { kind: 'invalid'; error: string; field: string; message: string };

export interface OverlapReport {
  /** vends received for a machine while another of its vends was in progress */
  total: number;
  machines: Record<string, { overlaps: number; maxConcurrency: number }>;
}

export interface SimStats {
  /** vends performed (ledger entries) */
  vends: number;
  /** vends refused because the machine was offline or faulty (not recorded against the vendId) */
  refused: number;
  /** requests for an already-known vendId, answered from the first one without vending */
  dedupedRequests: number;
  /** of those, requests whose machine/slot/sku differed from the first request */
  dedupConflicts: number;
  /** vendIds that appear more than once in the ledger: must be 0 */
  doubleVends: number;
  byMachine: Record<string, { vends: number; success: number; failed: number; refused: number }>;
}

/** The faults in place on a machine (`GET /_sim/machines/:code/faults`). */
export interface MachineFaultState {
  machineStatus: number;
  extraLatencyMs: number;
  loseAnswers: { count: number; holdMs: number };
  jammedSlots: string[];
}

export interface MachineSimSettings {
  machines: MachineLayout[];
  /** how long a unit takes to drop, per vend */
  vendDurationMs: number;
  faults?: StartFault[];
  logger: Logger;
  now?: () => number;
}

interface SimMachine {
  /** the first container (by code); a machine with one container has only this */
  layout: MachineLayout;
  /** the machine's other containers, by code (empty for a single-container machine) */
  others: MachineLayout[];
  jammed: Set<string>;
  extraLatencyMs: number;
  loseAnswers: { count: number; holdMs: number };
  /** the last vend queued on this machine: the next one starts when it settles */
  tail: Promise<void>;
  inFlight: number;
  overlaps: number;
  maxConcurrency: number;
  stats: { vends: number; success: number; failed: number; refused: number };
}

interface VendRecord {
  machineCode: string;
  request: VendRequest;
  answer: VendAnswer;
  settled: Promise<VendAnswer>;
}

/** Everything a reset throws away. */
interface World {
  machines: Map<string, SimMachine>;
  vends: Map<string, VendRecord>;
  ledger: LedgerEntry[];
  restocks: RestockEntry[];
  refused: number;
  dedupedRequests: number;
  dedupConflicts: number;
}

/**
 * The machine gateway's behaviour, without HTTP: machines vend one unit at a time, vends are
 * idempotent by vendId, failures happen when their condition holds, faults are injected.
 */
export class MachineSim {
  readonly #seed: MachineLayout[];
  readonly #startFaults: StartFault[];
  readonly #vendDurationMs: number;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #closing = new AbortController();
  #world: World;

  constructor(settings: MachineSimSettings) {
    this.#seed = structuredClone(settings.machines);
    this.#startFaults = settings.faults ?? [];
    this.#vendDurationMs = settings.vendDurationMs;
    this.#logger = settings.logger;
    this.#now = settings.now ?? Date.now;
    // every vend and held request in flight waits on it, one per busy machine: hundreds are normal
    setMaxListeners(0, this.#closing.signal);
    this.#world = this.#newWorld();
  }

  /** Back to the seed: layouts, faults (the start faults again), ledger, counters. */
  reset(): void {
    this.#world = this.#newWorld();
    this.#logger.info('simulator reset');
  }

  /** Ends every duration and held answer at once, so the server can close. */
  close(): void {
    this.#closing.abort();
  }

  machineCodes(): string[] {
    return [...this.#world.machines.keys()];
  }

  /** A container's layout: the named one, or the machine's first (its only one, usually). */
  getMachine(machineCode: string, containerCode?: string): MachineLayout | undefined {
    const machine = this.#world.machines.get(machineCode);
    if (!machine) return undefined;
    const layout = containerCode === undefined ? machine.layout : this.#container(machine, containerCode);
    return layout ? structuredClone(layout) : undefined;
  }

  /**
   * `GET /machines/{code}` (docs/gateway.md): the single-container shape for a machine with one
   * container, the multi-container shape for a machine with several; `containerCode` narrows.
   */
  getMachineState(machineCode: string, containerCode?: string): MachineState | undefined {
    const machine = this.#world.machines.get(machineCode);
    if (!machine) return undefined;
    if (containerCode !== undefined || machine.others.length === 0)
      return this.getMachine(machineCode, containerCode);
    return {
      machineCode,
      machineStatus: machine.layout.machineStatus,
      containers: this.#containers(machine).map((c) => ({
        containerCode: c.containerCode ?? '',
        slotList: structuredClone(c.slotList),
      })),
    };
  }

  /** The container codes of a machine, in order (one entry, possibly undefined, for a single container). */
  containerCodes(machineCode: string): Array<string | undefined> {
    const machine = this.#world.machines.get(machineCode);
    return machine ? this.#containers(machine).map((c) => c.containerCode) : [];
  }

  #containers(machine: SimMachine): MachineLayout[] {
    return [machine.layout, ...machine.others];
  }

  #container(machine: SimMachine, containerCode: string | undefined): MachineLayout | undefined {
    if (containerCode === undefined) return machine.others.length === 0 ? machine.layout : undefined;
    return this.#containers(machine).find(
      (c) =>
        c.containerCode === containerCode || (c.containerCode === undefined && machine.others.length === 0),
    );
  }

  getVend(vendId: string): VendAnswer | undefined {
    const record = this.#world.vends.get(vendId);
    return record ? { ...record.answer } : undefined;
  }

  async vend(machineCode: string, request: VendRequest): Promise<VendOutcome> {
    const world = this.#world;
    const machine = world.machines.get(machineCode);
    if (!machine) return { kind: 'unknown_machine' };

    const known = world.vends.get(request.vendId);
    if (known) {
      world.dedupedRequests += 1;
      const conflict =
        known.machineCode !== machineCode ||
        known.request.slotNum !== request.slotNum ||
        known.request.skuCode !== request.skuCode ||
        known.request.containerCode !== request.containerCode;
      if (conflict) world.dedupConflicts += 1;
      this.#logger.info(
        { vendId: request.vendId, machineCode, conflict },
        'duplicate vend request: not vended',
      );
      return { kind: 'answer', answer: { ...(await known.settled) } };
    }

    const container = this.#container(machine, request.containerCode);
    if (!container) {
      const codes = this.#containers(machine).map((c) => c.containerCode);
      return {
        kind: 'invalid',
        error: request.containerCode === undefined ? 'container_required' : 'unknown_container',
        field: 'containerCode',
        message:
          request.containerCode === undefined
            ? `machine ${machineCode} has ${codes.length} containers (${codes.join(', ')}): name one`
            : `machine ${machineCode} has container(s) ${codes.join(', ')}, not ${request.containerCode}`,
      };
    }
    if (!container.slotList.some((slot) => slot.slotNum === request.slotNum)) {
      return {
        kind: 'invalid',
        error: 'unknown_slot',
        field: 'slotNum',
        message: `machine ${machineCode} has no slot ${request.slotNum}`,
      };
    }

    if (machine.inFlight > 0) {
      machine.overlaps += 1;
      this.#logger.warn(
        { machineCode, vendId: request.vendId, inFlight: machine.inFlight },
        'overlapping vend',
      );
    }
    machine.inFlight += 1;
    machine.maxConcurrency = Math.max(machine.maxConcurrency, machine.inFlight);

    let settle: (answer: VendAnswer) => void = () => {};
    const settled = new Promise<VendAnswer>((resolve) => {
      settle = resolve;
    });
    const record: VendRecord = {
      machineCode,
      request: { ...request },
      answer: { vendId: request.vendId, status: 'pending' },
      settled,
    };
    world.vends.set(request.vendId, record);

    let holdMs = 0;
    const run = machine.tail.then(async () => {
      try {
        holdMs = (await this.#perform(world, machine, record)).holdMs;
      } catch (error) {
        this.#logger.error({ err: error, machineCode, vendId: request.vendId }, 'vend crashed');
        record.answer = {
          vendId: request.vendId,
          status: 'failed',
          reason: 'machine_fault',
          finishedAt: this.#now(),
        };
        world.vends.delete(request.vendId);
      } finally {
        machine.inFlight -= 1;
        settle(record.answer);
      }
    });
    machine.tail = run;
    await run;
    const answer = { ...(await settled) };
    if (holdMs > 0) {
      this.#logger.info(
        { vendId: request.vendId, machineCode, holdMs },
        'lose-answer fault: holding the answer',
      );
      await delay(holdMs, this.#closing.signal);
    }
    return { kind: 'answer', answer };
  }

  /** Runs when the machine's earlier vends are done. */
  async #perform(world: World, machine: SimMachine, record: VendRecord): Promise<{ holdMs: number }> {
    const { request } = record;
    const machineCode = machine.layout.machineCode;
    const startedAt = this.#now();

    if (machine.layout.machineStatus !== MachineStatus.NORMAL) {
      // The machine never moved: a refusal, not a vend. The vendId stays unknown, so the same
      // unit may be sent again once the machine is back.
      const reason: VendFailureReason =
        machine.layout.machineStatus === MachineStatus.OFFLINE ? 'machine_offline' : 'machine_fault';
      record.answer = { vendId: request.vendId, status: 'failed', reason, finishedAt: this.#now() };
      world.vends.delete(request.vendId);
      world.refused += 1;
      machine.stats.refused += 1;
      this.#logger.info({ vendId: request.vendId, machineCode, reason }, 'vend refused');
      return { holdMs: 0 };
    }

    const slot = this.#container(machine, request.containerCode)?.slotList.find(
      (s) => s.slotNum === request.slotNum,
    );
    let reason: VendFailureReason | undefined;
    if (slot === undefined) reason = 'slot_fault';
    else if (slot.slotStatus !== 0) reason = 'slot_fault';
    else if (slot.skuCode !== request.skuCode) reason = 'sku_mismatch';
    else if (slot.currentInventory <= 0) reason = 'slot_empty';
    else {
      // the motor turns: the vend takes its time, whatever comes out of it
      await delay(this.#vendDurationMs + machine.extraLatencyMs, this.#closing.signal);
      if (machine.jammed.has(slot.slotNum)) reason = 'jammed';
      else slot.currentInventory -= 1;
    }

    const finishedAt = this.#now();
    record.answer = reason
      ? { vendId: request.vendId, status: 'failed', reason, finishedAt }
      : { vendId: request.vendId, status: 'success', finishedAt };

    let holdMs = 0;
    if (machine.loseAnswers.count > 0) {
      machine.loseAnswers.count -= 1;
      holdMs = machine.loseAnswers.holdMs;
    }
    const entry: LedgerEntry = {
      seq: world.ledger.length + 1,
      vendId: request.vendId,
      machineCode,
      containerCode: request.containerCode ?? machine.layout.containerCode ?? '',
      slotNum: request.slotNum,
      skuCode: request.skuCode,
      status: reason ? 'failed' : 'success',
      ...(reason ? { reason } : {}),
      startedAt,
      finishedAt,
      ...(holdMs > 0 ? { answerLost: true } : {}),
    };
    world.ledger.push(entry);
    machine.stats.vends += 1;
    if (reason) machine.stats.failed += 1;
    else machine.stats.success += 1;
    this.#logger.info(
      { vendId: request.vendId, machineCode, slotNum: request.slotNum, status: entry.status, reason },
      'vend performed',
    );
    return { holdMs };
  }

  /** Returns false when the machine is unknown. */
  setMachineFaults(machineCode: string, faults: MachineFaults): boolean {
    const machine = this.#world.machines.get(machineCode);
    if (!machine) return false;
    this.#applyMachineFaults(machine, faults);
    this.#logger.info({ machineCode, faults }, 'machine faults set');
    return true;
  }

  /** 'unknown_machine' / 'unknown_slot', or undefined when applied. */
  setSlotFaults(
    machineCode: string,
    slotNum: string,
    faults: SlotFaults,
  ): 'unknown_machine' | 'unknown_slot' | undefined {
    const machine = this.#world.machines.get(machineCode);
    if (!machine) return 'unknown_machine';
    const slot = machine.layout.slotList.find((s) => s.slotNum === slotNum);
    if (!slot) return 'unknown_slot';
    if (faults.jammed === true) machine.jammed.add(slotNum);
    if (faults.jammed === false) machine.jammed.delete(slotNum);
    if (faults.slotStatus !== undefined) slot.slotStatus = faults.slotStatus;
    this.#logger.info({ machineCode, slotNum, faults }, 'slot faults set');
    return undefined;
  }

  /** The faults currently injected on a machine. */
  faultsOf(machineCode: string): MachineFaultState | undefined {
    const machine = this.#world.machines.get(machineCode);
    if (!machine) return undefined;
    return {
      machineStatus: machine.layout.machineStatus,
      extraLatencyMs: machine.extraLatencyMs,
      loseAnswers: { ...machine.loseAnswers },
      jammedSlots: [...machine.jammed].sort(),
    };
  }

  /**
   * Applies a restock atomically (all or nothing). Returns the new layout, or a field error.
   */
  restock(
    machineCode: string,
    restock: Restock,
    containerCode?: string,
  ):
    | { layout: MachineLayout }
    | { error: 'unknown_machine' }
    | { error: 'invalid'; field: string; message: string } {
    const machine = this.#world.machines.get(machineCode);
    if (!machine) return { error: 'unknown_machine' };
    const container = containerCode === undefined ? machine.layout : this.#container(machine, containerCode);
    if (!container)
      return {
        error: 'invalid',
        field: 'containerCode',
        message: `machine ${machineCode} has no container ${containerCode}`,
      };
    const slotList = structuredClone(container.slotList);
    const changed: string[] = [];
    const lines = restock.slots ?? [];
    if (lines.length === 0) {
      for (const slot of slotList) {
        slot.currentInventory = slot.maxInventory;
        changed.push(slot.slotNum);
      }
    }
    for (const [i, line] of lines.entries()) {
      const slot = slotList.find((s) => s.slotNum === line.slotNum);
      if (!slot) {
        return {
          error: 'invalid',
          field: `slots.${i}.slotNum`,
          message: `machine ${machineCode} has no slot ${line.slotNum}`,
        };
      }
      const { slotNum: _slotNum, ...changes } = line;
      Object.assign(slot, changes);
      if (slot.currentInventory > slot.maxInventory) {
        return {
          error: 'invalid',
          field: `slots.${i}.currentInventory`,
          message: `currentInventory ${slot.currentInventory} exceeds maxInventory ${slot.maxInventory}`,
        };
      }
      changed.push(slot.slotNum);
    }
    container.slotList = slotList;
    this.#world.restocks.push({
      seq: this.#world.restocks.length + 1,
      machineCode,
      at: this.#now(),
      slotNums: changed,
    });
    this.#logger.info({ machineCode, slots: changed.length }, 'restocked');
    return { layout: structuredClone(container) };
  }

  ledger(filter: { machineCode?: string; vendId?: string; after?: number } = {}): LedgerEntry[] {
    return this.#world.ledger
      .filter(
        (e) =>
          (filter.machineCode === undefined || e.machineCode === filter.machineCode) &&
          (filter.vendId === undefined || e.vendId === filter.vendId) &&
          (filter.after === undefined || e.seq > filter.after),
      )
      .map((e) => ({ ...e }));
  }

  restocks(): RestockEntry[] {
    return this.#world.restocks.map((r) => ({ ...r, slotNums: [...r.slotNums] }));
  }

  overlaps(): OverlapReport {
    const machines: OverlapReport['machines'] = {};
    let total = 0;
    for (const [code, machine] of this.#world.machines) {
      machines[code] = { overlaps: machine.overlaps, maxConcurrency: machine.maxConcurrency };
      total += machine.overlaps;
    }
    return { total, machines };
  }

  stats(): SimStats {
    const world = this.#world;
    const seen = new Set<string>();
    let doubleVends = 0;
    for (const entry of world.ledger) {
      if (seen.has(entry.vendId)) doubleVends += 1;
      seen.add(entry.vendId);
    }
    const byMachine: SimStats['byMachine'] = {};
    for (const [code, machine] of world.machines) byMachine[code] = { ...machine.stats };
    return {
      vends: world.ledger.length,
      refused: world.refused,
      dedupedRequests: world.dedupedRequests,
      dedupConflicts: world.dedupConflicts,
      doubleVends,
      byMachine,
    };
  }

  #newWorld(): World {
    const machines = new Map<string, SimMachine>();
    const byContainer = (a: MachineLayout, b: MachineLayout) =>
      (a.containerCode ?? '') < (b.containerCode ?? '')
        ? -1
        : (a.containerCode ?? '') > (b.containerCode ?? '')
          ? 1
          : 0;
    for (const layout of [...this.#seed].sort(byContainer)) {
      // layouts sharing a machineCode are the containers of one machine
      const existing = machines.get(layout.machineCode);
      if (existing) {
        existing.others.push(structuredClone({ ...layout, machineStatus: existing.layout.machineStatus }));
        continue;
      }
      machines.set(layout.machineCode, {
        layout: structuredClone(layout),
        others: [],
        jammed: new Set(),
        extraLatencyMs: 0,
        loseAnswers: { count: 0, holdMs: 0 },
        tail: Promise.resolve(),
        inFlight: 0,
        overlaps: 0,
        maxConcurrency: 0,
        stats: { vends: 0, success: 0, failed: 0, refused: 0 },
      });
    }
    for (const fault of this.#startFaults) {
      const machine = machines.get(fault.machineCode);
      if (!machine) throw new RangeError(`faults: unknown machine ${fault.machineCode}`);
      this.#applyMachineFaults(machine, fault);
      for (const slotNum of fault.jammedSlots ?? []) {
        if (!machine.layout.slotList.some((s) => s.slotNum === slotNum)) {
          throw new RangeError(`faults: machine ${fault.machineCode} has no slot ${slotNum}`);
        }
        machine.jammed.add(slotNum);
      }
    }
    return {
      machines,
      vends: new Map(),
      ledger: [],
      restocks: [],
      refused: 0,
      dedupedRequests: 0,
      dedupConflicts: 0,
    };
  }

  #applyMachineFaults(machine: SimMachine, faults: MachineFaults): void {
    if (faults.machineStatus !== undefined)
      for (const container of this.#containers(machine)) container.machineStatus = faults.machineStatus;
    if (faults.extraLatencyMs !== undefined) machine.extraLatencyMs = faults.extraLatencyMs;
    if (faults.loseAnswers !== undefined) machine.loseAnswers = { ...faults.loseAnswers };
  }
}
