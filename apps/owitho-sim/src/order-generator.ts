import { type MachineLayout, moneyToCents, type OrderNotice, type Slot } from '@owc/protocol';

export interface GenerateOptions {
  machineCode?: string;
  unpaid?: boolean;
}

/**
 * Forms owitho may legally send that our own schemas would never produce (issue 12; docs/protocol.md
 * "Money: strict in what we send, tolerant in what we read", "Open enums", "Machines with several
 * containers"). A tolerant order is in exactly one of them.
 */
export const tolerantForms = [
  /** every amount a decimal string with as few decimals as it needs: "108", "2.5", "0" */
  'amounts-without-decimals',
  /** every amount a JSON number: 10.5, 2 */
  'amounts-as-json-numbers',
  /** a payMethod outside the guide's 1–6 */
  'unknown-pay-method',
  /** payStatus 0 and no payCompleteTime key at all */
  'unpaid-without-pay-time',
  /** a payStatus outside the guide's 0–2: acknowledged, never dispensed */
  'unknown-pay-status',
  /** paid, with a refundStatus outside the guide's 0–3: acknowledged, never dispensed */
  'unknown-refund-status',
  /** a machine with several containers; containerCode names the one the units are in */
  'container-of-several',
  /** no containerCode key, on a machine with one container */
  'no-container',
] as const;
export type TolerantForm = (typeof tolerantForms)[number];
export type NoticeForm = 'canonical' | TolerantForm;

/** The payMethod the `unknown-pay-method` form sends: the guide lists 1–6. */
export const UNKNOWN_PAY_METHOD = 9;
/** The payStatus / refundStatus the `unknown-pay-status` / `unknown-refund-status` forms send. */
export const UNKNOWN_STATUS = 9;

/** Money as owitho may write it: a decimal string with 0–2 decimals, or a JSON number. */
export type RawMoney = string | number;

/** A notice exactly as it is pushed: plain JSON, built here and never passed through our schemas. */
export interface RawNotice {
  orderViewId: string;
  machineCode: string;
  containerCode?: string;
  discountMoney: RawMoney;
  originAmount: RawMoney;
  actualAmount: RawMoney;
  payStatus: number;
  refundStatus: number;
  orderTime: number;
  payCompleteTime?: number;
  payMethod: number;
  orderDetailList: {
    skuCode: string;
    slotNum: string;
    quantity: number;
    originalPrice: RawMoney;
    actualPrice: RawMoney;
  }[];
}

/** What a generated order was, whatever form it travelled in: what a test checks outcomes against. */
export interface GeneratedOrder {
  form: NoticeForm;
  machineCode: string;
  /** the container the units are in (the layout the order was built from), named or not */
  containerCode?: string;
  /** payStatus 1 */
  paid: boolean;
  /** payStatus 1 and refundStatus 0: every unit must drop; otherwise none may */
  dispensable: boolean;
  units: number;
  /** the order's money in exact cents */
  cents: { originAmount: number; actualAmount: number; discountMoney: number };
}

export type GeneratedNotice =
  | { canonical: true; notice: OrderNotice; order: GeneratedOrder }
  | { canonical: false; notice: RawNotice; order: GeneratedOrder };

/**
 * Money text written here from cents with integer arithmetic, not by `@owc/protocol`'s writer:
 * the simulator must be able to send what our reader would refuse to produce.
 */
function decimalText(cents: number, decimals: 'two' | 'fewest'): string {
  const yuan = Math.floor(cents / 100);
  const rest = cents % 100;
  if (decimals === 'fewest' && rest === 0) return String(yuan);
  if (decimals === 'fewest' && rest % 10 === 0) return `${yuan}.${rest / 10}`;
  return `${yuan}.${String(rest).padStart(2, '0')}`;
}

const twoDecimals = (cents: number): string => decimalText(cents, 'two');

const moneyWriters: Record<'two' | 'fewest' | 'number', (cents: number) => RawMoney> = {
  two: twoDecimals,
  fewest: (cents) => decimalText(cents, 'fewest'),
  // the shortest decimal text read as a number: JSON.stringify writes it back as that text
  number: (cents) => Number(decimalText(cents, 'fewest')),
};

/**
 * Builds plausible orders from the layouts owitho believes (one per container): 1–3 lines, 1–3
 * units each, exact money. `tolerantShare` of them (exactly, over any run: a running count, not a
 * coin) are in one of the tolerant forms, which take turns so that a short run covers them all;
 * a form the layouts cannot carry (no machine with several containers, or none with one) is skipped.
 */
export class OrderGenerator {
  private counter = 0;
  private tolerantCount = 0;
  private formTurn = 0;
  private readonly stamp = Date.now().toString(36).toUpperCase();

  constructor(
    private readonly tolerantShare = 0,
    private readonly random: () => number = Math.random,
  ) {
    if (!(tolerantShare >= 0 && tolerantShare <= 1)) throw new RangeError('tolerantShare must be in 0..1');
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)] as T;
  }

  generate(layouts: readonly MachineLayout[], now: number, options: GenerateOptions = {}): GeneratedNotice {
    const candidates = (
      options.machineCode ? layouts.filter((m) => m.machineCode === options.machineCode) : layouts
    ).filter((m) => m.slotList.length > 0);
    if (candidates.length === 0) {
      throw new Error(
        options.machineCode
          ? `no layout known for machine ${options.machineCode}`
          : 'no machine layout known',
      );
    }
    const containers = new Map<string, number>();
    for (const m of candidates) containers.set(m.machineCode, (containers.get(m.machineCode) ?? 0) + 1);
    const fits: Record<TolerantForm, (m: MachineLayout) => boolean> = {
      'amounts-without-decimals': () => true,
      'amounts-as-json-numbers': () => true,
      'unknown-pay-method': () => true,
      'unpaid-without-pay-time': () => true,
      'unknown-pay-status': () => true,
      'unknown-refund-status': () => true,
      'container-of-several': (m) => (containers.get(m.machineCode) ?? 0) > 1,
      'no-container': (m) => containers.get(m.machineCode) === 1,
    };
    const form = this.nextForm((f) => candidates.some(fits[f]));
    const layout = this.pick(form === 'canonical' ? candidates : candidates.filter(fits[form]));

    const stocked = layout.slotList.filter((s) => s.currentInventory > 0 && s.slotStatus === 0);
    const slots = [...(stocked.length > 0 ? stocked : layout.slotList)];
    const count = Math.min(slots.length, 1 + Math.floor(this.random() * 3));
    const lines: { slot: Slot; quantity: number; origin: number; actual: number }[] = [];
    for (let i = 0; i < count; i++) {
      const slot = slots.splice(Math.floor(this.random() * slots.length), 1)[0];
      if (!slot) break;
      const actual = moneyToCents(slot.actualPrice);
      lines.push({
        slot,
        quantity: 1 + Math.floor(this.random() * 3),
        origin: moneyToCents(slot.originalPrice),
        // a coupon down to whole yuan (a unit under one yuan goes free: "0"), so that the sums are
        // whole ("108") too, not only the prices
        actual: form === 'amounts-without-decimals' ? Math.floor(actual / 100) * 100 : actual,
      });
    }
    const origin = lines.reduce((s, l) => s + l.quantity * l.origin, 0);
    const actual = lines.reduce((s, l) => s + l.quantity * l.actual, 0);
    const payStatus =
      form === 'unknown-pay-status'
        ? UNKNOWN_STATUS
        : options.unpaid || form === 'unpaid-without-pay-time'
          ? 0
          : 1;
    const refundStatus = form === 'unknown-refund-status' ? UNKNOWN_STATUS : 0;
    this.counter++;
    const order: GeneratedOrder = {
      form,
      machineCode: layout.machineCode,
      ...(layout.containerCode ? { containerCode: layout.containerCode } : {}),
      paid: payStatus === 1,
      dispensable: payStatus === 1 && refundStatus === 0,
      units: lines.reduce((s, l) => s + l.quantity, 0),
      cents: { originAmount: origin, actualAmount: actual, discountMoney: origin - actual },
    };
    const common = {
      orderViewId: `OW${this.stamp}${this.counter.toString().padStart(6, '0')}`,
      machineCode: layout.machineCode,
      payStatus,
      refundStatus,
      orderTime: now - 2000,
    };
    if (form === 'canonical') {
      const money = twoDecimals;
      const notice: OrderNotice = {
        ...common,
        containerCode: layout.containerCode ?? '01',
        discountMoney: money(origin - actual),
        originAmount: money(origin),
        actualAmount: money(actual),
        payCompleteTime: now - 500,
        payMethod: 2,
        orderDetailList: lines.map((l) => ({
          skuCode: l.slot.skuCode,
          slotNum: l.slot.slotNum,
          quantity: l.quantity,
          originalPrice: money(l.origin),
          actualPrice: money(l.actual),
        })),
      };
      return { canonical: true, notice, order };
    }
    const money =
      moneyWriters[
        form === 'amounts-without-decimals' ? 'fewest' : form === 'amounts-as-json-numbers' ? 'number' : 'two'
      ];
    const notice: RawNotice = {
      ...common,
      ...(form === 'no-container' ? {} : { containerCode: layout.containerCode ?? '01' }),
      discountMoney: money(origin - actual),
      originAmount: money(origin),
      actualAmount: money(actual),
      ...(form === 'unpaid-without-pay-time' ? {} : { payCompleteTime: now - 500 }),
      payMethod: form === 'unknown-pay-method' ? UNKNOWN_PAY_METHOD : 2,
      orderDetailList: lines.map((l) => ({
        skuCode: l.slot.skuCode,
        slotNum: l.slot.slotNum,
        quantity: l.quantity,
        originalPrice: money(l.origin),
        actualPrice: money(l.actual),
      })),
    };
    return { canonical: false, notice, order };
  }

  private nextForm(possible: (form: TolerantForm) => boolean): NoticeForm {
    const n = this.counter + 1;
    if (Math.floor(this.tolerantShare * n) <= this.tolerantCount) return 'canonical';
    for (let k = 0; k < tolerantForms.length; k++) {
      const form = tolerantForms[(this.formTurn + k) % tolerantForms.length] as TolerantForm;
      if (!possible(form)) continue;
      this.formTurn += k + 1;
      this.tolerantCount++;
      return form;
    }
    return 'canonical';
  }
}
