import type { Clock } from '../../experiment/clock.js';
import type { OpValue } from '../../history/types.js';
import type { ClientAdapter, ClientSession, Op, Outcome } from '../adapter.js';

/** What a fake node does with one op: perform it, answer with an outcome, or never answer. */
export type FakeBehaviour = 'perform' | 'hang' | Outcome | 'lost-after-apply';

/**
 * An atomic in-memory store behind a per-node behaviour hook: histories it
 * produces are linearizable by construction unless a test makes a node lie.
 */
export class FakeAdapter implements ClientAdapter {
  readonly store = new Map<string, OpValue>();
  readonly opened: string[] = [];
  closed = 0;
  behave: (node: string, op: Op) => FakeBehaviour = () => 'perform';

  constructor(
    private readonly clock: Clock,
    private readonly latencyMs = 2,
  ) {}

  open(node: string): ClientSession {
    this.opened.push(node);
    return {
      invoke: async (op) => {
        await this.clock.sleep(this.latencyMs);
        const b = this.behave(node, op);
        if (b === 'hang') return new Promise<Outcome>(() => undefined);
        if (b === 'lost-after-apply') {
          this.apply(op);
          return { type: 'info', error: 'connection lost' };
        }
        if (b !== 'perform') return b;
        return this.apply(op);
      },
      close: () => {
        this.closed++;
      },
    };
  }

  private apply(op: Op): Outcome {
    const current = this.store.get(op.key) ?? null;
    if (op.f === 'read') return { type: 'ok', value: current };
    if (op.f === 'write') {
      this.store.set(op.key, op.value);
      return { type: 'ok', value: op.value };
    }
    const [expected, next] = op.value as readonly [OpValue, OpValue];
    if (current !== expected) return { type: 'fail', error: 'cas-mismatch' };
    this.store.set(op.key, next);
    return { type: 'ok', value: op.value };
  }
}
