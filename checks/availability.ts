/**
 * Availability of a run from its history alone: how many operations succeeded
 * inside and outside faults, the longest run of failures any logical client
 * suffered (the seed's criterion: fewer than 10 in a row), and how long the
 * cluster took to serve again after each heal.
 */

/** The fields of a history.md event this check reads. */
export interface TimedEvent {
  readonly process: number | 'nemesis';
  readonly type: string;
  readonly f: string;
  /** Nanoseconds since the run started. */
  readonly time?: number;
  readonly error?: string;
}

export interface AvailabilityOptions {
  /** Logical clients: process p belongs to client p % concurrency (Jepsen's rule). */
  readonly concurrency: number;
  /** The longest allowed run of failures is this minus one (10: "fewer than 10 in a row"). */
  readonly failStreakLimit: number;
  /** Whether this check decides the run's verdict. */
  readonly required: boolean;
  /**
   * When the workload stopped (ms): a heal at or after it is the end of the run,
   * not a recovery to measure (what follows it is the final reads).
   */
  readonly workloadEndMs?: number;
}

export interface FaultInterval {
  readonly kind: string;
  readonly description: string | null;
  readonly startMs: number;
  readonly endMs: number;
}

export interface OkRate {
  readonly ops: number;
  readonly ok: number;
  /** ok / ops, or null when there were no ops. */
  readonly rate: number | null;
}

export interface FailStreak {
  readonly client: number;
  readonly length: number;
  readonly startMs: number;
  readonly endMs: number;
}

export interface Recovery {
  readonly healMs: number;
  /** Completion time of the first ok op invoked after the heal, or null if none came. */
  readonly firstOkMs: number | null;
  readonly recoveryMs: number | null;
}

export interface AvailabilityResult {
  readonly valid: boolean;
  readonly required: boolean;
  readonly all: OkRate;
  readonly inFaults: OkRate;
  readonly outsideFaults: OkRate;
  /** ok rate of the ops invoked while a fault of each kind was in force. */
  readonly byFaultKind: Readonly<Record<string, OkRate>>;
  readonly failStreakLimit: number;
  /** The longest run of failures of any one client, or null when none failed. */
  readonly longestFailStreak: FailStreak | null;
  /** Longest run per logical client, index = client. */
  readonly failStreakPerClient: readonly number[];
  readonly recoveries: readonly Recovery[];
  readonly maxRecoveryMs: number | null;
  readonly faults: readonly FaultInterval[];
  readonly summary: string;
}

interface CompletedOp {
  readonly process: number;
  readonly invokeMs: number;
  readonly completeMs: number;
  readonly ok: boolean;
}

const ms = (ns: number | undefined): number => (ns ?? 0) / 1e6;

/** Pairs each `start-KIND` nemesis line with the next `stop-KIND`; an unclosed one lasts to the end. */
export function faultIntervals(
  events: readonly (TimedEvent & { readonly value?: unknown })[],
): FaultInterval[] {
  const open = new Map<string, { startMs: number; description: string | null }[]>();
  const out: FaultInterval[] = [];
  let endMs = 0;
  for (const e of events) {
    endMs = Math.max(endMs, ms(e.time));
    if (e.process !== 'nemesis') continue;
    const m = /^(start|stop)-(.+)$/.exec(e.f);
    if (m === null) continue;
    const kind = m[2] as string;
    const list = open.get(kind) ?? [];
    if (m[1] === 'start') {
      list.push({
        startMs: ms(e.time),
        description: typeof e.value === 'string' ? e.value : null,
      });
      open.set(kind, list);
    } else {
      const started = list.shift();
      if (started !== undefined) out.push({ kind, ...started, endMs: ms(e.time) });
    }
  }
  for (const [kind, list] of open) for (const s of list) out.push({ kind, ...s, endMs });
  return out.sort((a, b) => a.startMs - b.startMs);
}

function completedOps(events: readonly TimedEvent[]): CompletedOp[] {
  const invoked = new Map<number, number>();
  const out: CompletedOp[] = [];
  for (const e of events) {
    if (e.process === 'nemesis') continue;
    if (e.type === 'invoke') {
      invoked.set(e.process, ms(e.time));
      continue;
    }
    const invokeMs = invoked.get(e.process);
    if (invokeMs === undefined) continue;
    invoked.delete(e.process);
    // A cas that did not match was served: the cluster was available.
    const ok = e.type === 'ok' || (e.type === 'fail' && e.error === 'cas-mismatch');
    out.push({ process: e.process, invokeMs, completeMs: ms(e.time), ok });
  }
  return out;
}

function rate(ops: readonly CompletedOp[]): OkRate {
  const ok = ops.filter((o) => o.ok).length;
  return { ops: ops.length, ok, rate: ops.length === 0 ? null : ok / ops.length };
}

export function checkAvailability(
  events: readonly TimedEvent[],
  options: AvailabilityOptions,
): AvailabilityResult {
  const faults = faultIntervals(events);
  const ops = completedOps(events);
  const during = (o: CompletedOp, f: FaultInterval): boolean =>
    o.invokeMs >= f.startMs && o.invokeMs < f.endMs;
  const inFault = (o: CompletedOp): boolean => faults.some((f) => during(o, f));
  const all = rate(ops);
  const inFaults = rate(ops.filter(inFault));
  const outsideFaults = rate(ops.filter((o) => !inFault(o)));

  const concurrency = Math.max(1, options.concurrency);
  const perClient = new Array<number>(concurrency).fill(0);
  const current = new Map<number, { length: number; startMs: number }>();
  let longest: FailStreak | null = null;
  for (const o of [...ops].sort((a, b) => a.completeMs - b.completeMs)) {
    const client = o.process % concurrency;
    if (o.ok) {
      current.delete(client);
      continue;
    }
    const run = current.get(client) ?? { length: 0, startMs: o.invokeMs };
    run.length++;
    current.set(client, run);
    perClient[client] = Math.max(perClient[client] ?? 0, run.length);
    if (longest === null || run.length > longest.length) {
      longest = { client, length: run.length, startMs: run.startMs, endMs: o.completeMs };
    }
  }

  // A heal is a moment after which no fault is in force any more.
  const end = options.workloadEndMs ?? Infinity;
  const heals = faults
    .map((f) => f.endMs)
    .filter((t) => t < end && !faults.some((f) => f.startMs <= t && f.endMs > t))
    .sort((a, b) => a - b);
  const recoveries: Recovery[] = [...new Set(heals)].map((healMs) => {
    const first = ops
      .filter((o) => o.ok && o.invokeMs >= healMs && o.invokeMs < end)
      .reduce<number | null>((m, o) => (m === null || o.completeMs < m ? o.completeMs : m), null);
    return { healMs, firstOkMs: first, recoveryMs: first === null ? null : first - healMs };
  });
  const recovered = recoveries.map((r) => r.recoveryMs).filter((r): r is number => r !== null);
  const maxRecoveryMs = recovered.length === 0 ? null : Math.max(...recovered);

  const streak = longest?.length ?? 0;
  const valid = streak < options.failStreakLimit;
  const pct = (r: OkRate): string => (r.rate === null ? '-' : `${(r.rate * 100).toFixed(1)}%`);
  const summary =
    `ok ${pct(all)} (in faults ${pct(inFaults)}, outside ${pct(outsideFaults)}); ` +
    `longest fail streak ${streak} (limit: fewer than ${options.failStreakLimit})` +
    (maxRecoveryMs === null ? '' : `; slowest recovery ${maxRecoveryMs.toFixed(0)} ms`);
  return {
    valid,
    required: options.required,
    all,
    inFaults,
    outsideFaults,
    byFaultKind: Object.fromEntries(
      [...new Set(faults.map((f) => f.kind))].map((kind) => [
        kind,
        rate(ops.filter((o) => faults.some((f) => f.kind === kind && during(o, f)))),
      ]),
    ),
    failStreakLimit: options.failStreakLimit,
    longestFailStreak: longest,
    failStreakPerClient: perClient,
    recoveries,
    maxRecoveryMs,
    faults,
    summary,
  };
}
