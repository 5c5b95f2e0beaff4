import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Partition, PartitionShape } from '../faults/shapes.js';
import type { ClusterSpec, NodeName } from './spec.js';

/**
 * Each CLI call is its own process, so the faults in force live on disk, one
 * JSON file per cluster. The file records intent (what should be in force) and
 * what was applied into each node's current network namespace; a node whose
 * container restarted has a new namespace, and its faults are applied again.
 * Every change is written before it is acted on, under a lock.
 */

export interface NodeRecord {
  readonly ip: string;
  /** Container name. */
  readonly container: string;
  /** Container id ('' until created). */
  readonly id: string;
}

export interface SlowSetting {
  readonly delayMs: number;
  readonly jitterMs: number;
  /** Egress rate limit; absent: none. */
  readonly rateKbit?: number;
}

export interface FlakySetting {
  /** Fraction of outgoing packets dropped, 0..1. */
  readonly loss: number;
}

export interface DelayerRecord {
  readonly pid: number;
  readonly delayMs: number;
  readonly jitterMs: number;
}

/** What is in a node's network namespace right now (as far as raftbed put it there). */
export interface AppliedNet {
  /** The container's first process when applied: a different pid is a new namespace. */
  readonly pid: number;
  /** The rules in force in our chains ('' for none), as iptables-restore lines. */
  readonly rules: string;
  /** Whether our chains and the jumps to them are there (they stay once made). */
  readonly chains?: boolean;
  readonly delayer?: DelayerRecord;
  /** The root qdisc raftbed set on the node's interface, as `tc` words; absent: none. */
  readonly qdisc?: string;
  /** Set before a change is made and cleared after: if still set, the namespace is read again. */
  readonly dirty?: boolean;
}

export interface PartitionRecord extends Partition {
  readonly shape: PartitionShape;
  readonly since: string;
}

export interface ClusterState {
  readonly version: 1;
  readonly name: string;
  readonly backend: 'docker';
  readonly networkId: string;
  readonly network: string;
  readonly subnet: string;
  readonly image: string;
  readonly spec: ClusterSpec;
  readonly nodes: Readonly<Record<NodeName, NodeRecord>>;
  partition?: PartitionRecord;
  flaky: Record<NodeName, FlakySetting>;
  slow: Record<NodeName, SlowSetting>;
  applied: Record<NodeName, AppliedNet>;
  /** Learned once: whether this kernel has tc netem. */
  netem?: boolean;
}

export function defaultStateDir(): string {
  const explicit = process.env['RAFTBED_STATE_DIR'];
  if (explicit !== undefined && explicit !== '') return explicit;
  const xdg = process.env['XDG_STATE_HOME'];
  const base = xdg !== undefined && xdg !== '' ? xdg : join(homedir(), '.local', 'state');
  return join(base, 'raftbed', 'clusters');
}

export class StateStore {
  constructor(readonly dir: string = defaultStateDir()) {}

  path(cluster: string): string {
    return join(this.dir, `${cluster}.json`);
  }

  // The file is small and every verb reads and writes it: synchronous calls
  // keep that well under a millisecond, where the thread pool adds a few.
  load(cluster: string): Promise<ClusterState | undefined> {
    return Promise.resolve(this.loadSync(cluster));
  }

  private loadSync(cluster: string): ClusterState | undefined {
    let text: string;
    try {
      text = readFileSync(this.path(cluster), 'utf8');
    } catch {
      return undefined;
    }
    try {
      const state = JSON.parse(text) as ClusterState;
      if (state.version !== 1 || state.name !== cluster) return undefined;
      return state;
    } catch {
      // A torn or foreign file: the cluster's objects are still found by label.
      return undefined;
    }
  }

  save(state: ClusterState): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    const file = this.path(state.name);
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(state, null, 1) + '\n');
    renameSync(tmp, file);
    return Promise.resolve();
  }

  async remove(cluster: string): Promise<void> {
    await rm(this.path(cluster), { force: true });
  }

  /** Removes the cluster's side files (helper logs) too. */
  async removeFiles(cluster: string): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return;
    }
    await Promise.all(
      names
        .filter(
          (f) =>
            f.startsWith(`${cluster}.`) && /^\.n\d+\.delayer\.log$/.test(f.slice(cluster.length)),
        )
        .map((f) => rm(join(this.dir, f), { force: true })),
    );
  }

  /**
   * Runs `fn` holding the cluster's lock, so two commands never interleave
   * their changes. A lock left by a dead process is taken over.
   */
  async locked<T>(cluster: string, fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
    mkdirSync(this.dir, { recursive: true });
    const lock = join(this.dir, `${cluster}.lock`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const fd = openSync(lock, 'wx');
        writeSync(fd, String(process.pid));
        closeSync(fd);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      let owner = NaN;
      try {
        owner = Number(readFileSync(lock, 'utf8').trim());
      } catch {
        continue; // released meanwhile
      }
      if (!Number.isInteger(owner) || owner <= 0 || !alive(owner)) {
        rmSync(lock, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new Error(`cluster ${cluster} is locked by process ${owner} (${lock})`);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    try {
      return await fn();
    } finally {
      rmSync(lock, { force: true });
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
