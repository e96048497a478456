import { centsToMoney, type MachineLayout, type Sku, type Slot } from '@owc/protocol';

export interface FleetOptions {
  /** number of machines, coded M001, M002, … */
  machines: number;
  /** slots per machine, numbered "01", "02", … in rows of `columns` */
  slotsPerMachine: number;
  /** distinct SKUs in the catalogue (slots cycle through them); default slotsPerMachine */
  skus?: number;
  /** units per slot, full at start; default 10 */
  inventory?: number;
  columns?: number;
  containerCode?: string;
}

export interface Fleet {
  skus: Sku[];
  machines: MachineLayout[];
}

export function machineCodeOf(index: number): string {
  return `M${String(index + 1).padStart(3, '0')}`;
}

export function skuCodeOf(index: number): string {
  return `SKU${String(index + 1).padStart(5, '0')}`;
}

export function slotNumOf(index: number): string {
  return String(index + 1).padStart(2, '0');
}

/** A deterministic price between 1.00 and 9.99 for the nth SKU. */
function priceCents(index: number): number {
  return 100 + ((index * 137) % 900);
}

export function generateSku(index: number): Sku {
  return {
    skuCode: skuCodeOf(index),
    skuName: `Item ${index + 1}`,
    skuUnit: 'can',
    skuSpec: '330ml',
    originalPrice: centsToMoney(priceCents(index)),
    skuPic: `https://img.example.com/sku/${skuCodeOf(index)}.png`,
  };
}

/** The same options always give the same fleet, so both simulators agree without talking. */
export function generateFleet(options: FleetOptions): Fleet {
  const skuCount = options.skus ?? options.slotsPerMachine;
  const columns = options.columns ?? 6;
  const inventory = options.inventory ?? 10;
  const skus = Array.from({ length: skuCount }, (_, i) => generateSku(i));
  const machines = Array.from({ length: options.machines }, (_, m): MachineLayout => {
    const slotList = Array.from({ length: options.slotsPerMachine }, (_, s): Slot => {
      const sku = skus[(m + s) % skuCount] as Sku;
      return {
        slotNum: slotNumOf(s),
        row: Math.floor(s / columns) + 1,
        col: (s % columns) + 1,
        skuCode: sku.skuCode,
        skuName: sku.skuName,
        originalPrice: sku.originalPrice,
        actualPrice: sku.originalPrice,
        maxInventory: inventory,
        currentInventory: inventory,
        slotStatus: 0,
      };
    });
    return {
      machineCode: machineCodeOf(m),
      containerCode: options.containerCode ?? '01',
      machineStatus: 10,
      slotList,
    };
  });
  return { skus, machines };
}
