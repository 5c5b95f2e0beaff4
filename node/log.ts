/**
 * The node's log: one JSON object per line on stdout. Every line has `time`
 * (ISO 8601), `level`, `node`, `boot` (random, new at every start), `term` and
 * `event`, then the event's own fields. The harness's invariant checker reads
 * these lines, so the events are a closed, typed list and their meaning is fixed:
 *
 * - `role` with `role: "leader"` is written exactly once each time the node becomes
 *   leader, with `term` the term it leads: across the cluster at most one per term.
 * - `commit` and `applied` report progress. They are coalesced (at most one line
 *   per progressIntervalMs unless progressEntries entries went by), which only
 *   skips intermediate values of a rising counter. A value lower than the last one
 *   written is written at once, so within one boot a regression is always visible.
 */
import { randomBytes } from 'node:crypto';
import type { NodeId } from './raft/types.js';

export type Role = 'leader' | 'follower' | 'candidate' | 'learner';
export const ROLES: readonly Role[] = ['leader', 'follower', 'candidate', 'learner'];
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type NodeEvent =
  /** Sockets bound, about to serve. */
  | {
      readonly event: 'start';
      readonly version: string;
      readonly clusterId: string;
      readonly peers: readonly NodeId[];
      /** The Raft UDP address bound, `host:port`. */
      readonly raft: string;
      /** The RESP address listening, `host:port`. */
      readonly client: string;
      readonly fsync: string;
      readonly unsafe: string;
    }
  /**
   * The data directory's lock was left by a process that is gone (killed, or
   * a previous run of this container), so this node took it over: `reason`
   * says how it knew, the `holder*` fields are what the lock said (null when
   * it could not be read).
   */
  | {
      readonly event: 'lock-taken-over';
      readonly file: string;
      readonly reason: string;
      readonly holderPid: number | null;
      readonly holderNode: string | null;
      readonly holderBoot: string | null;
      readonly holderSince: string | null;
    }
  /** State read back from disk at start. */
  | {
      readonly event: 'recovered';
      readonly snapshotIndex: number;
      readonly snapshotTerm: number;
      readonly firstIndex: number;
      readonly lastIndex: number;
      readonly commit: number;
      readonly vote: NodeId | null;
      readonly ms: number;
    }
  /** The node's role changed, or it learned of a new leader. `leader` is null when none is known. */
  | { readonly event: 'role'; readonly role: Role; readonly leader: NodeId | null }
  /** This node started an election (as candidate) in `term`. */
  | { readonly event: 'election'; readonly prevote: boolean }
  /**
   * This node won the election for `term` (written after `role: leader`, once
   * the new term's first entries are stored): `votes` of the `voters` granted
   * it, namely `votesFrom` (this node included).
   */
  | {
      readonly event: 'elected';
      readonly votes: number;
      readonly voters: number;
      readonly votesFrom: readonly NodeId[];
    }
  /**
   * This node answered a vote request in `term`: written once per term when it
   * grants its vote (once the vote is stored, as the grant is sent).
   */
  | {
      readonly event: 'vote';
      readonly candidate: NodeId;
      readonly granted: boolean;
      readonly reason?: string;
    }
  /**
   * Leader: `peer` lacks entries it had acknowledged (its disk lost them: a
   * lying or unsynced disk, a cut WAL). Its log ends at `lastIndex`; it had
   * acknowledged up to `match`. It is caught up again from where its log ends.
   */
  | {
      readonly event: 'follower-regressed';
      readonly peer: NodeId;
      readonly lastIndex: number;
      readonly match: number;
    }
  /**
   * Follower: `leader` (of the line's `term`) sent entries that contradict
   * this node's committed ones: at `index` its entry has term `entryTerm`, the
   * committed one `committedTerm`; `commit` is this node's commit index. A
   * disk lost acknowledged writes and a leader was elected without them. This
   * node refuses the leader's appends and stays as it is (it applied those
   * entries; no Raft can undo that): it serves no new writes until an
   * operator steps in. Written at most once per leader term; INFO
   * `committed_conflicts` counts every refusal.
   */
  | {
      readonly event: 'committed-conflict';
      readonly leader: NodeId;
      readonly index: number;
      readonly entryTerm: number;
      readonly committedTerm: number;
      readonly commit: number;
    }
  | { readonly event: 'commit'; readonly commit: number }
  | { readonly event: 'applied'; readonly applied: number }
  | {
      readonly event: 'snapshot-taken';
      readonly index: number;
      readonly snapshotTerm: number;
      readonly bytes: number;
    }
  | {
      readonly event: 'snapshot-installed';
      readonly index: number;
      readonly snapshotTerm: number;
      readonly bytes: number;
      readonly from: NodeId;
    }
  /**
   * Log entries removed: a torn tail cut at recovery (`file`, `offset`), a
   * conflicting suffix replaced by the leader's, or a prefix compacted into a snapshot.
   */
  | {
      readonly event: 'wal-truncated';
      readonly reason: 'torn-tail' | 'conflict' | 'compaction';
      /** First index removed (torn-tail, conflict) or last index removed (compaction). */
      readonly index: number;
      readonly file?: string;
      readonly offset?: number;
      readonly bytes?: number;
    }
  /** Datagrams dropped since the last summary, by reason. */
  | {
      readonly event: 'dropped-datagrams';
      readonly total: number;
      readonly reasons: Readonly<Record<string, number>>;
      readonly sinceMs: number;
    }
  /** A planted bug is on (`--unsafe`): written at start, level warn, for tests of the testbed only. */
  | { readonly event: 'unsafe'; readonly mode: string; readonly message: string }
  /** Something went wrong that the node survives. */
  | { readonly event: 'error'; readonly message: string; readonly where?: string }
  /** The node is exiting. */
  | { readonly event: 'stop'; readonly reason: string; readonly code: number };

export type EventName = NodeEvent['event'];

export const EVENT_NAMES: readonly EventName[] = [
  'start',
  'lock-taken-over',
  'recovered',
  'role',
  'election',
  'elected',
  'vote',
  'follower-regressed',
  'committed-conflict',
  'commit',
  'applied',
  'snapshot-taken',
  'snapshot-installed',
  'wal-truncated',
  'dropped-datagrams',
  'unsafe',
  'error',
  'stop',
];

export interface LogLineBase {
  readonly time: string;
  readonly level: LogLevel;
  readonly node: NodeId;
  readonly boot: string;
  readonly term: number;
}

/** One parsed line of a node's log. */
export type NodeLogLine = LogLineBase & NodeEvent;

const DEFAULT_LEVEL: Partial<Record<EventName, LogLevel>> = {
  'follower-regressed': 'warn',
  'committed-conflict': 'warn',
  'lock-taken-over': 'warn',
  'wal-truncated': 'warn',
  'dropped-datagrams': 'warn',
  unsafe: 'warn',
  error: 'error',
};

export interface NodeLoggerOptions {
  readonly node: NodeId;
  /** Where lines go; stdout by default. Each call gets one line ending in '\n'. */
  readonly write?: (line: string) => void;
  /** Milliseconds since the epoch. */
  readonly now?: () => number;
  /** Fixed only in tests; random otherwise. */
  readonly boot?: string;
  /** Default 100. */
  readonly progressIntervalMs?: number;
  /** Write progress sooner once it advanced this many entries. Default 1000. */
  readonly progressEntries?: number;
}

type ProgressEvent = 'commit' | 'applied';

/** Coalesces one rising counter. */
class Progress {
  last: number | null = null;
  lastAt = -Infinity;
  pending: number | null = null;
}

export class NodeLogger {
  readonly node: NodeId;
  readonly boot: string;
  /** The current term, written on every line; the node sets it whenever its term changes. */
  term = 0;
  private readonly write: (line: string) => void;
  private readonly now: () => number;
  private readonly interval: number;
  private readonly entries: number;
  private readonly progress: Record<ProgressEvent, Progress> = {
    commit: new Progress(),
    applied: new Progress(),
  };
  private timer: NodeJS.Timeout | null = null;

  constructor(options: NodeLoggerOptions) {
    this.node = options.node;
    this.boot = options.boot ?? randomBytes(6).toString('hex');
    this.write = options.write ?? ((line) => void process.stdout.write(line));
    this.now = options.now ?? Date.now;
    this.interval = options.progressIntervalMs ?? 100;
    this.entries = options.progressEntries ?? 1000;
  }

  /**
   * Writes an event now; coalesced progress still pending goes out first,
   * keeping order. `term` is the current one unless the event belongs to
   * another (a vote given in a term the node has since left).
   */
  log(e: NodeEvent, level: LogLevel = DEFAULT_LEVEL[e.event] ?? 'info', term = this.term): void {
    if (e.event === 'commit' || e.event === 'applied') {
      this.advance(e.event, e.event === 'commit' ? e.commit : e.applied);
      return;
    }
    this.flush();
    this.line(level, e, term);
  }

  /** The commit index advanced (or, if a bug, went back). Coalesced. */
  commit(commit: number): void {
    this.advance('commit', commit);
  }

  /** The applied index advanced. Coalesced. */
  applied(applied: number): void {
    this.advance('applied', applied);
  }

  /** Writes pending progress now (before a stop, in tests). */
  flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    for (const kind of ['commit', 'applied'] as const) {
      const p = this.progress[kind];
      if (p.pending !== null) this.writeProgress(kind, p.pending);
    }
  }

  /** Flushes and stops the timer; later lines are still written. */
  close(): void {
    this.flush();
  }

  private advance(kind: ProgressEvent, value: number): void {
    const p = this.progress[kind];
    const latest = p.pending ?? p.last;
    if (latest === value) return;
    if (latest !== null && value < latest) {
      // Never hide a step back: whatever it means, the checker must see it.
      this.flush();
      this.writeProgress(kind, value);
      return;
    }
    p.pending = value;
    const due =
      p.last === null || this.now() - p.lastAt >= this.interval || value - p.last >= this.entries;
    if (due) {
      this.writeProgress(kind, value);
      return;
    }
    if (this.timer === null) {
      const wait = Math.max(0, p.lastAt + this.interval - this.now());
      this.timer = setTimeout(() => {
        this.timer = null;
        this.flush();
      }, wait);
      this.timer.unref();
    }
  }

  private writeProgress(kind: ProgressEvent, value: number): void {
    const p = this.progress[kind];
    p.pending = null;
    p.last = value;
    p.lastAt = this.now();
    this.line(
      'info',
      kind === 'commit' ? { event: 'commit', commit: value } : { event: 'applied', applied: value },
    );
  }

  private line(level: LogLevel, e: NodeEvent, term = this.term): void {
    const record = {
      time: new Date(this.now()).toISOString(),
      level,
      node: this.node,
      boot: this.boot,
      term,
      ...e,
    };
    try {
      this.write(JSON.stringify(record) + '\n');
    } catch {
      // A closed stdout must not take the node down with it.
    }
  }
}

/**
 * Every `intervalMs`, writes a `dropped-datagrams` line with what was dropped
 * since the previous one, if anything was. Returns the function that stops it.
 */
export function startDropSummary(
  logger: NodeLogger,
  read: () => Readonly<Record<string, number>>,
  intervalMs = 5000,
): () => void {
  let last = { ...read() };
  let lastAt = Date.now();
  const timer = setInterval(() => {
    const now = { ...read() };
    const reasons: Record<string, number> = {};
    let total = 0;
    for (const [k, v] of Object.entries(now)) {
      const d = v - (last[k] ?? 0);
      if (d > 0) {
        reasons[k] = d;
        total += d;
      }
    }
    if (total > 0)
      logger.log({ event: 'dropped-datagrams', total, reasons, sinceMs: Date.now() - lastAt });
    last = now;
    lastAt = Date.now();
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Reads one line of a node's log for the harness. Returns null for anything that
 * is not a well-formed event line (a stray line on stdout, a line cut by a kill),
 * checking what the invariants rely on: the common fields, and `role`, `leader`,
 * `commit` and `applied` on their events.
 */
export function parseNodeLogLine(text: string): NodeLogLine | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  const o = v as Record<string, unknown>;
  if (
    typeof o.time !== 'string' ||
    !LEVELS.includes(o.level as LogLevel) ||
    typeof o.node !== 'string' ||
    typeof o.boot !== 'string' ||
    !isCount(o.term) ||
    !EVENT_NAMES.includes(o.event as EventName)
  ) {
    return null;
  }
  switch (o.event) {
    case 'role':
      if (!ROLES.includes(o.role as Role) || !(o.leader === null || typeof o.leader === 'string'))
        return null;
      break;
    case 'commit':
      if (!isCount(o.commit)) return null;
      break;
    case 'applied':
      if (!isCount(o.applied)) return null;
      break;
  }
  return o as unknown as NodeLogLine;
}
