import { Prng } from '../../node/util/prng.js';
import type { Clock } from '../experiment/clock.js';
import type { NemesisInput } from '../history/types.js';
import type { FaultBackend, PartitionRequest } from './backend.js';
import type { FaultKind, PlannedFault } from './schedule.js';

/** A fault as it actually ran: for the report, the live line and results.json. */
export interface FaultRecord {
  readonly kind: FaultKind;
  readonly description: string;
  readonly startMs: number;
  endMs: number | null;
  readonly error?: string;
}

export interface NemesisOptions {
  readonly backend: FaultBackend;
  readonly clock: Clock;
  /** Appends a `process: "nemesis"` line to the history. */
  readonly record: (event: NemesisInput) => void;
  readonly schedule: readonly PlannedFault[];
  readonly signal?: AbortSignal;
  /** Told whenever the faults in force change (the live terminal line). */
  readonly onChange?: (inForce: readonly string[]) => void;
}

/**
 * Plays a schedule against a backend. Whatever it started it can undo: `healAll`
 * heals the network, clears loss and delay, thaws paused nodes and starts killed
 * ones, and is safe to call at any time, more than once.
 */
export class Nemesis {
  private readonly paused = new Set<string>();
  private readonly killed = new Set<string>();
  private cut = false;
  private degraded = false;
  private readonly inForce = new Map<PlannedFault, Started>();
  readonly log: FaultRecord[] = [];

  constructor(private readonly options: NemesisOptions) {}

  async run(): Promise<FaultRecord[]> {
    const { clock, signal } = this.options;
    const aborted = (): boolean => signal?.aborted === true;
    for (const fault of this.options.schedule) {
      if (aborted()) break;
      await clock.sleep(fault.startMs - clock.nowMs(), signal);
      if (aborted()) break;
      const started = await this.begin(fault);
      await clock.sleep(fault.endMs - clock.nowMs(), signal);
      await this.end(fault, started);
    }
    return this.log;
  }

  /** Undoes every fault this nemesis put in force; each step is tried even if another fails. */
  async healAll(): Promise<void> {
    const { backend } = this.options;
    const errors: string[] = [];
    const attempt = async (what: string, step: () => Promise<void>): Promise<void> => {
      try {
        await step();
      } catch (err) {
        errors.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
      }
    };
    await attempt('heal', () => backend.heal());
    await attempt('fast', () => backend.fast());
    if (this.paused.size > 0) await attempt('unpause', () => backend.unpause([...this.paused]));
    if (this.killed.size > 0) await attempt('start', () => backend.start([...this.killed]));
    this.cut = false;
    this.degraded = false;
    this.paused.clear();
    this.killed.clear();
    const now = this.options.clock.nowMs();
    for (const [fault, { record }] of this.inForce) {
      this.options.record({ f: `stop-${fault.kind}`, value: `healed: ${record.description}` });
      record.endMs = now;
    }
    const hadFaults = this.inForce.size > 0;
    this.inForce.clear();
    if (hadFaults) this.changed();
    if (errors.length > 0) throw new Error(`could not heal everything: ${errors.join('; ')}`);
  }

  private async begin(fault: PlannedFault): Promise<Started> {
    const startMs = this.options.clock.nowMs();
    let description: string = fault.kind;
    let nodes: string[] = [];
    let error: string | undefined;
    try {
      nodes = await this.targets(fault);
      description = await this.apply(fault, nodes);
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
    const record: FaultRecord = {
      kind: fault.kind,
      description,
      startMs,
      endMs: null,
      ...(error === undefined ? {} : { error }),
    };
    this.log.push(record);
    const started = { record, nodes };
    this.inForce.set(fault, started);
    this.options.record({
      f: `start-${fault.kind}`,
      value: description,
      ...(error === undefined ? {} : { error }),
    });
    this.changed();
    return started;
  }

  private async end(fault: PlannedFault, { record, nodes }: Started): Promise<void> {
    if (!this.inForce.has(fault)) return;
    let error: string | undefined;
    try {
      await this.undo(fault, nodes);
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
    record.endMs = this.options.clock.nowMs();
    this.inForce.delete(fault);
    this.options.record({
      f: `stop-${fault.kind}`,
      value: record.description,
      ...(error === undefined ? {} : { error }),
    });
    this.changed();
  }

  private async targets(fault: PlannedFault): Promise<string[]> {
    const { backend } = this.options;
    if (fault.nodes === 'leader') {
      const leader = await backend.leader();
      // No leader known: hit a node drawn from the fault's own seed, and say so.
      return [leader ?? new Prng(fault.shapeSeed ?? 0).pick(backend.nodes)];
    }
    return [...(fault.nodes ?? backend.nodes)];
  }

  private async apply(fault: PlannedFault, nodes: readonly string[]): Promise<string> {
    const { backend } = this.options;
    const list = nodes.join(',');
    switch (fault.kind) {
      case 'partition': {
        this.cut = true;
        const { description } = await backend.partition(this.partitionRequest(fault, nodes));
        return `${fault.shape ?? 'partition'}: ${description}`;
      }
      case 'pause':
        for (const n of nodes) this.paused.add(n);
        await backend.pause(nodes);
        return `pause ${list}`;
      case 'kill':
        for (const n of nodes) this.killed.add(n);
        await backend.kill(nodes);
        return `kill ${list}`;
      case 'flaky':
        this.degraded = true;
        await backend.flaky(nodes, fault.loss ?? 0.1);
        return `flaky ${Math.round((fault.loss ?? 0.1) * 100)}% ${list}`;
      case 'slow':
        this.degraded = true;
        await backend.slow(nodes, fault.delayMs ?? 50, fault.jitterMs ?? 0);
        return `slow ${fault.delayMs ?? 50}±${fault.jitterMs ?? 0} ms ${list}`;
    }
  }

  /** The fault's shape in the backend's vocabulary, its random draws made from the fault's seed. */
  private partitionRequest(fault: PlannedFault, nodes: readonly string[]): PartitionRequest {
    const all = this.options.backend.nodes;
    const prng = new Prng(fault.shapeSeed ?? 0);
    const seed = prng.nextU32();
    switch (fault.shape ?? 'halves') {
      case 'isolate':
      case 'isolate-leader':
        return { kind: 'isolate', node: nodes[0] ?? prng.pick(all) };
      case 'halves':
        return { kind: 'random', seed };
      case 'ring':
        return { kind: 'ring', seed };
      case 'bridge':
        return { kind: 'bridge', seed };
      case 'one-way': {
        // One node not heard by the others, or not hearing them.
        const node = fault.nodes === undefined ? prng.pick(all) : (nodes[0] ?? prng.pick(all));
        const others = all.filter((n) => n !== node);
        return prng.chance(0.5)
          ? { kind: 'oneway', from: [node], to: others }
          : { kind: 'oneway', from: others, to: [node] };
      }
    }
  }

  private async undo(fault: PlannedFault, nodes: readonly string[]): Promise<void> {
    const { backend } = this.options;
    switch (fault.kind) {
      case 'partition':
        this.cut = false;
        await backend.heal();
        return;
      case 'pause':
        await backend.unpause(nodes);
        for (const n of nodes) this.paused.delete(n);
        return;
      case 'kill':
        await backend.start(nodes);
        for (const n of nodes) this.killed.delete(n);
        return;
      case 'flaky':
      case 'slow':
        this.degraded = false;
        await backend.fast();
        return;
    }
  }

  private changed(): void {
    this.options.onChange?.([...this.inForce.values()].map((s) => s.record.description));
  }

  /** True while a cut, loss or delay this nemesis made is in force (for tests and status). */
  get networkFaulted(): boolean {
    return this.cut || this.degraded;
  }
}

interface Started {
  readonly record: FaultRecord;
  readonly nodes: readonly string[];
}
