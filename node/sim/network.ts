/**
 * The simulated network: directed links that a partition can cut (in any
 * shape, one-way included), datagrams that are lost, duplicated, delayed and
 * so reordered, all drawn from the simulation's PRNG.
 */
import type { Prng } from '../util/prng.js';

export interface LinkConditions {
  /** Chance a datagram is lost. */
  loss: number;
  /** Chance a datagram arrives twice. */
  duplicate: number;
  /** Delay range of a normal datagram, in ms. */
  minDelayMs: number;
  maxDelayMs: number;
  /** Chance of a much longer delay (up to slowDelayMs), which reorders. */
  slowChance: number;
  slowDelayMs: number;
}

export const CALM: LinkConditions = {
  loss: 0,
  duplicate: 0,
  minDelayMs: 1,
  maxDelayMs: 5,
  slowChance: 0,
  slowDelayMs: 0,
};

export class SimNetwork {
  private readonly cut: boolean[];
  conditions: LinkConditions;

  constructor(
    readonly size: number,
    private readonly rng: Prng,
    conditions: LinkConditions,
  ) {
    this.cut = new Array<boolean>(size * size).fill(false);
    this.conditions = { ...conditions };
  }

  isCut(from: number, to: number): boolean {
    return this.cut[from * this.size + to] === true;
  }

  setCut(from: number, to: number, cut: boolean): void {
    if (from !== to) this.cut[from * this.size + to] = cut;
  }

  healAll(): void {
    this.cut.fill(false);
  }

  /** Cuts every link to and from `node`. */
  isolate(node: number): void {
    for (let other = 0; other < this.size; other++) {
      this.setCut(node, other, true);
      this.setCut(other, node, true);
    }
  }

  /** The delays after which copies of a datagram arrive (none when lost or cut). */
  transmit(from: number, to: number): number[] {
    if (this.isCut(from, to)) return [];
    const c = this.conditions;
    if (c.loss > 0 && this.rng.chance(c.loss)) return [];
    const first = this.delay();
    if (c.duplicate > 0 && this.rng.chance(c.duplicate)) return [first, this.delay()];
    return [first];
  }

  private delay(): number {
    const c = this.conditions;
    if (c.slowChance > 0 && this.rng.chance(c.slowChance))
      return this.rng.int(c.maxDelayMs, Math.max(c.maxDelayMs, c.slowDelayMs));
    return this.rng.int(c.minDelayMs, c.maxDelayMs);
  }

  /** A printable picture of the cut links, e.g. `n1>n2 n3>n1`. */
  describe(names: readonly string[]): string {
    const out: string[] = [];
    for (let f = 0; f < this.size; f++)
      for (let t = 0; t < this.size; t++)
        if (this.isCut(f, t)) out.push(`${names[f] ?? f}>${names[t] ?? t}`);
    return out.length === 0 ? 'none' : out.join(' ');
  }
}
