import type { FaultBackend, PartitionRequest } from '../backend.js';
import { resolve, type Link } from './resolve.js';

/** Records every verb and keeps the state a real backend would have. */
export class FakeBackend implements FaultBackend {
  readonly calls: string[] = [];
  links: readonly Link[] = [];
  readonly paused = new Set<string>();
  readonly killed = new Set<string>();
  loss = new Map<string, number>();
  delay = new Map<string, number>();
  currentLeader: string | null = 'n1';
  /** Verbs that throw, to test that healing carries on. */
  failing = new Set<string>();

  constructor(readonly nodes: readonly string[]) {}

  private call(verb: string, args: string): void {
    this.calls.push(args === '' ? verb : `${verb} ${args}`);
    if (this.failing.has(verb)) throw new Error(`${verb} failed`);
  }

  partition(shape: PartitionRequest): Promise<{ readonly description: string }> {
    const { links, description } = resolve(shape, this.nodes);
    this.call('partition', `${shape.kind} ${links.map(([a, b]) => `${a}>${b}`).join(' ')}`);
    this.links = links;
    return Promise.resolve({ description });
  }
  heal(): Promise<void> {
    this.call('heal', '');
    this.links = [];
    return Promise.resolve();
  }
  pause(nodes: readonly string[]): Promise<void> {
    this.call('pause', nodes.join(','));
    for (const n of nodes) this.paused.add(n);
    return Promise.resolve();
  }
  unpause(nodes: readonly string[]): Promise<void> {
    this.call('unpause', nodes.join(','));
    for (const n of nodes) this.paused.delete(n);
    return Promise.resolve();
  }
  kill(nodes: readonly string[]): Promise<void> {
    this.call('kill', nodes.join(','));
    for (const n of nodes) this.killed.add(n);
    return Promise.resolve();
  }
  start(nodes: readonly string[]): Promise<void> {
    this.call('start', nodes.join(','));
    for (const n of nodes) this.killed.delete(n);
    return Promise.resolve();
  }
  flaky(nodes: readonly string[], loss: number): Promise<void> {
    this.call('flaky', `${nodes.join(',')} ${loss}`);
    for (const n of nodes) this.loss.set(n, loss);
    return Promise.resolve();
  }
  slow(nodes: readonly string[], delayMs: number, jitterMs: number): Promise<void> {
    this.call('slow', `${nodes.join(',')} ${delayMs}/${jitterMs}`);
    for (const n of nodes) this.delay.set(n, delayMs);
    return Promise.resolve();
  }
  fast(): Promise<void> {
    this.call('fast', '');
    this.loss.clear();
    this.delay.clear();
    return Promise.resolve();
  }
  leader(): Promise<string | null> {
    this.calls.push('leader?');
    return Promise.resolve(this.currentLeader);
  }

  /** True when nothing a nemesis could do is in force. */
  get healthy(): boolean {
    return (
      this.links.length === 0 &&
      this.paused.size === 0 &&
      this.killed.size === 0 &&
      this.loss.size === 0 &&
      this.delay.size === 0
    );
  }
}
