import type { Prng } from '../../node/util/prng.js';
import type { Clock } from '../experiment/clock.js';
import type { HistoryWriter } from '../history/writer.js';
import {
  CAS_MISMATCH,
  type ClientAdapter,
  type ClientSession,
  type Op,
  type Outcome,
} from './adapter.js';
import type { OpGenerator } from './generator.js';

export interface WorkloadOptions {
  readonly adapter: ClientAdapter;
  readonly generator: OpGenerator;
  readonly history: HistoryWriter;
  readonly clock: Clock;
  readonly prng: Prng;
  /** Node names clients bind to: logical client i starts on nodes[i % n]. */
  readonly nodes: readonly string[];
  /** Logical clients, each with at most one operation in flight. */
  readonly concurrency: number;
  /** Operations per second over all clients. */
  readonly rate: number;
  readonly timeoutMs: number;
  /** Stop issuing at this clock time (ms); operations in flight complete or time out. */
  readonly untilMs: number;
  /** Move to the next node after a fail or info, as the seed's client did. */
  readonly failover: boolean;
  /** Stops issuing early (Ctrl-C). */
  readonly signal?: AbortSignal;
}

export interface WorkloadStats {
  invoked: number;
  ok: number;
  fail: number;
  info: number;
  /** The next unused process id (final reads continue from it). */
  nextProcess: number;
}

/** Stats before any operation. */
export function noStats(): WorkloadStats {
  return { invoked: 0, ok: 0, fail: 0, info: 0, nextProcess: 0 };
}

/**
 * Runs `concurrency` logical clients at the asked total rate. Each operation gets
 * an invoke and exactly one completion in the history. Clients never retry on
 * their own; after an `info` the logical client continues under a fresh process
 * id (process = client + k * concurrency, so process % concurrency names the
 * logical client, as in Jepsen).
 */
export async function runWorkload(options: WorkloadOptions): Promise<WorkloadStats> {
  const stats = noStats();
  const clients: Promise<number>[] = [];
  for (let i = 0; i < options.concurrency; i++) clients.push(runClient(i, options, stats));
  const lastProcesses = await Promise.all(clients);
  stats.nextProcess = Math.max(options.concurrency, ...lastProcesses.map((p) => p + 1));
  return stats;
}

async function runClient(
  client: number,
  options: WorkloadOptions,
  stats: WorkloadStats,
): Promise<number> {
  const { clock, nodes, concurrency, prng } = options;
  const intervalMs = (concurrency * 1000) / options.rate;
  let process = client;
  let nodeIndex = client % nodes.length;
  let session: ClientSession | null = null;
  // Stagger the clients over one interval so they do not fire together.
  let nextAt = clock.nowMs() + prng.next() * intervalMs;
  const stopped = (): boolean =>
    options.signal?.aborted === true || clock.nowMs() >= options.untilMs;
  try {
    for (;;) {
      // A timer may fire a hair before the clock reads nextAt: sleep again, never give up.
      while (!stopped() && nextAt > clock.nowMs()) {
        await clock.sleep(
          Math.min(nextAt - clock.nowMs(), options.untilMs - clock.nowMs()),
          options.signal,
        );
      }
      if (stopped()) break;
      // Uniform jitter around the mean keeps the asked rate without lock-step.
      nextAt = Math.max(nextAt + intervalMs * (0.5 + prng.next()), clock.nowMs());
      const node = nodes[nodeIndex] as string;
      session ??= options.adapter.open(node);
      const op = options.generator.next();
      const completion = await perform(session, op, process, node, options, stats);
      const moveOn =
        completion.type === 'info' || (completion.type === 'fail' && !completion.benign);
      if (completion.type === 'info' || completion.timedOut || (options.failover && moveOn)) {
        session.close();
        session = null;
      }
      if (completion.type === 'info') process += concurrency;
      if (options.failover && moveOn) nodeIndex = (nodeIndex + 1) % nodes.length;
    }
  } finally {
    session?.close();
  }
  return process;
}

const CANCELLED = new Error('op completed before its timeout');

interface Completion {
  readonly type: 'ok' | 'fail' | 'info';
  readonly timedOut: boolean;
  /** A fail that says nothing about the node's health (a cas that did not match). */
  readonly benign: boolean;
}

/** Invokes one op and records its invoke and completion; never throws for the op's sake. */
export async function perform(
  session: ClientSession,
  op: Op,
  process: number,
  node: string,
  options: Pick<WorkloadOptions, 'history' | 'clock' | 'timeoutMs' | 'generator'>,
  stats: WorkloadStats,
): Promise<Completion> {
  const keyed = options.generator.keyed;
  const base = {
    process,
    f: op.f,
    ...(keyed ? { key: op.key } : {}),
    node,
  };
  options.history.op({ ...base, type: 'invoke', value: op.value });
  stats.invoked++;
  const timer = new AbortController();
  let timedOut = false;
  let outcome: Outcome;
  try {
    outcome = await Promise.race([
      session.invoke(op).catch((err: unknown): Outcome => ({
        type: 'info',
        error: `client error: ${describe(err)}`,
      })),
      options.clock.sleep(options.timeoutMs, timer.signal).then((): Outcome => {
        timedOut = true;
        return { type: 'info', error: 'timeout' };
      }),
    ]);
  } finally {
    // A fixed reason: abort() without one builds a DOMException per op.
    timer.abort(CANCELLED);
  }
  // A read has no effect: one that did not succeed is a fail, and the process keeps its id.
  if (op.f === 'read' && outcome.type === 'info') outcome = { type: 'fail', error: outcome.error };
  const value = outcome.type === 'ok' && op.f === 'read' ? outcome.value : op.value;
  options.history.op({
    ...base,
    type: outcome.type,
    value,
    ...(outcome.type === 'ok' ? {} : { error: outcome.error }),
  });
  stats[outcome.type]++;
  return {
    type: outcome.type,
    timedOut,
    benign: outcome.type === 'fail' && outcome.error === CAS_MISMATCH,
  };
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export interface FinalReadOptions {
  readonly adapter: ClientAdapter;
  readonly generator: OpGenerator;
  readonly history: HistoryWriter;
  readonly clock: Clock;
  readonly nodes: readonly string[];
  readonly keys: readonly string[];
  readonly timeoutMs: number;
  readonly firstProcess: number;
}

/**
 * Jepsen's final reads: after everything is healed, every key is read once
 * through every node, so a lost write or a diverged node shows in the history.
 */
export async function runFinalReads(options: FinalReadOptions): Promise<WorkloadStats> {
  const stats = noStats();
  const perNode = options.nodes.map(async (node, i) => {
    let session = options.adapter.open(node);
    try {
      for (const key of options.keys) {
        const read: Op = { f: 'read', key, value: null };
        const done = await perform(session, read, options.firstProcess + i, node, options, stats);
        // A late reply must not be taken for the next read's.
        if (done.timedOut) {
          session.close();
          session = options.adapter.open(node);
        }
      }
    } finally {
      session.close();
    }
  });
  await Promise.all(perNode);
  stats.nextProcess = options.firstProcess + options.nodes.length;
  return stats;
}
