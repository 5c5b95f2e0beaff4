/**
 * The data directory's lock: one node process per `--data`, since two writing
 * one WAL would corrupt it. Taken at start, before recovery touches a file;
 * released on a clean stop. A process killed with SIGKILL leaves its lock
 * behind, so a lock is only honoured while the process it names still runs:
 *
 * - the lock names this process's pid: it is a previous run's (a node is pid 1
 *   in its container, every run of that container included), so stale;
 * - the machine booted since (another kernel boot id): stale;
 * - no such process (or a zombie): stale;
 * - a process with that pid but another start time (/proc/<pid>/stat): the pid
 *   was reused, stale;
 * - otherwise the holder runs: refuse.
 *
 * The file appears whole or not at all (written to a private name, then
 * hard-linked to `LOCK`, which fails if it exists), so a starter never reads a
 * half-written lock of a live process. Taking over a stale lock moves it aside
 * and checks that what moved is the file judged stale, so two starters racing
 * for one stale lock cannot both win. Nothing is fsynced: a power loss ends
 * every holder and changes the kernel boot id anyway.
 *
 * Processes in different PID namespaces (two containers sharing one volume)
 * cannot see each other's pids; the lock cannot tell them apart from a
 * previous run.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join, resolve } from 'node:path';

export const LOCK_FILE = 'LOCK';

/** What a lock file says about the process holding it. */
export interface LockHolder {
  readonly pid: number;
  /** The node id, for people. */
  readonly node: string;
  /** The node's boot id: its log lines carry it. */
  readonly boot: string;
  /** The machine's boot id (/proc/sys/kernel/random/boot_id); '' where unknown. */
  readonly kernelBoot: string;
  /** The process's start time in clock ticks since the machine booted; null where unknown. */
  readonly startTicks: number | null;
  /** When the lock was taken (ISO 8601), for people. */
  readonly since: string;
}

/** Why a lock left in the directory was taken over. */
export type StaleReason =
  'holder-gone' | 'own-pid' | 'pid-reused' | 'machine-rebooted' | 'unreadable';

export interface TakenOver {
  readonly reason: StaleReason;
  /** The previous holder; null when the file could not be read (`unreadable`). */
  readonly holder: LockHolder | null;
}

/** The processes of this machine, as far as the lock needs them. */
export interface ProcessTable {
  /** This process's pid. */
  readonly self: number;
  /** Whether `pid` names a running process (a zombie has ended). */
  exists(pid: number): Promise<boolean>;
  /** `pid`'s start time in clock ticks since boot; null where unknown. */
  startTicks(pid: number): Promise<number | null>;
  /** The machine's boot id; '' where unknown. */
  kernelBoot(): Promise<string>;
}

/** The directory is locked by a process that still runs. Exit code 3 for a node. */
export class DirLockedError extends Error {
  override readonly name = 'DirLockedError';
  constructor(
    readonly dir: string,
    readonly holder: LockHolder,
  ) {
    super(
      `data directory ${dir} is in use by pid ${holder.pid} (node ${holder.node || '?'}, ` +
        `boot ${holder.boot || '?'}, since ${holder.since || '?'}): refusing to start; ` +
        `stop that process first (its lock is ${join(dir, LOCK_FILE)})`,
    );
  }
}

export interface DirLockOptions {
  readonly dir: string;
  readonly node: string;
  readonly boot: string;
  /** The real one (procfs and signals) by default. */
  readonly processes?: ProcessTable;
  readonly now?: () => number;
}

/** Directories locked by this process (two nodes in one process share a pid). */
const heldHere = new Map<string, LockHolder>();

/** How many times a starter looks again when the lock changed under it. */
const ATTEMPTS = 5;

export class DirLock {
  private released = false;

  private constructor(
    readonly path: string,
    readonly holder: LockHolder,
    /** Set when a stale lock was found and replaced: the node logs it. */
    readonly takenOver: TakenOver | null,
    private readonly key: string,
    private readonly ino: number,
    private readonly text: string,
  ) {}

  /** Takes the lock of `dir` (creating the directory), or throws DirLockedError. */
  static async acquire(options: DirLockOptions): Promise<DirLock> {
    const processes = options.processes ?? procfs;
    const key = resolve(options.dir);
    const path = join(options.dir, LOCK_FILE);
    const inProcess = heldHere.get(key);
    if (inProcess !== undefined) throw new DirLockedError(options.dir, inProcess);
    await fsp.mkdir(options.dir, { recursive: true });
    const me: LockHolder = {
      pid: processes.self,
      node: options.node,
      boot: options.boot,
      kernelBoot: await processes.kernelBoot(),
      startTicks: await processes.startTicks(processes.self),
      since: new Date((options.now ?? Date.now)()).toISOString(),
    };
    const fresh = `${path}.${me.pid}-${randomBytes(4).toString('hex')}.new`;
    const text = JSON.stringify(me) + '\n';
    await fsp.writeFile(fresh, text, { flag: 'wx', mode: 0o644 });
    let takenOver: TakenOver | null = null;
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          await fsp.link(fresh, path);
          const ino = (await fsp.stat(fresh)).ino;
          heldHere.set(key, me);
          return new DirLock(path, me, takenOver, key, ino, text);
        } catch (err) {
          if (errorCode(err) !== 'EEXIST') throw err;
        }
        if (attempt >= ATTEMPTS)
          throw new Error(`the lock ${path} kept changing while this node tried to take it`);
        const found = await readLock(path);
        if (found === null) continue; // released meanwhile
        const reason = await staleness(found.holder, me, processes);
        if (reason === null && found.holder !== null)
          throw new DirLockedError(options.dir, found.holder);
        if (await moveAside(path, found, me.pid))
          takenOver = { reason: reason ?? 'unreadable', holder: found.holder };
      }
    } finally {
      await fsp.unlink(fresh).catch(() => undefined);
    }
  }

  /** Removes the lock if it is still this one. Idempotent. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    heldHere.delete(this.key);
    const found = await readLock(this.path);
    // The inode alone could be a new file's: the text names the process and its boot.
    if (found !== null && found.ino === this.ino && found.text === this.text)
      await fsp.unlink(this.path);
  }
}

/**
 * Why the lock of `holder` (null: unreadable) no longer holds, or null when
 * its process still runs.
 */
export async function staleness(
  holder: LockHolder | null,
  me: LockHolder,
  processes: ProcessTable,
): Promise<StaleReason | null> {
  if (holder === null) return 'unreadable';
  if (holder.pid === me.pid) return 'own-pid';
  if (holder.kernelBoot !== '' && me.kernelBoot !== '' && holder.kernelBoot !== me.kernelBoot)
    return 'machine-rebooted';
  if (!(await processes.exists(holder.pid))) return 'holder-gone';
  if (holder.startTicks !== null) {
    const now = await processes.startTicks(holder.pid);
    if (now !== null && now !== holder.startTicks) return 'pid-reused';
  }
  return null;
}

/** The lock file's holder (null when it cannot be read as one) and inode; null when absent. */
async function readLock(
  path: string,
): Promise<{ holder: LockHolder | null; ino: number; text: string } | null> {
  try {
    const fh = await fsp.open(path, 'r');
    try {
      const ino = (await fh.stat()).ino;
      const text = await fh.readFile('utf8');
      return { holder: parseHolder(text), ino, text };
    } finally {
      await fh.close();
    }
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return null;
    throw err;
  }
}

/**
 * Moves the stale lock (`judged`: its inode and text) out of the way. If
 * another starter replaced it meanwhile, puts that one back and returns
 * false: look again.
 */
async function moveAside(
  path: string,
  judged: { ino: number; text: string },
  pid: number,
): Promise<boolean> {
  const aside = `${path}.${pid}-${randomBytes(4).toString('hex')}.stale`;
  try {
    await fsp.rename(path, aside);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return false;
    throw err;
  }
  const moved = await readLock(aside);
  const same = moved !== null && moved.ino === judged.ino && moved.text === judged.text;
  if (!same) await fsp.link(aside, path).catch(() => undefined);
  await fsp.unlink(aside);
  return same;
}

export function parseHolder(text: string): LockHolder | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  const pid = o.pid;
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0) return null;
  const str = (x: unknown): string => (typeof x === 'string' ? x : '');
  const ticks = o.startTicks;
  return {
    pid,
    node: str(o.node),
    boot: str(o.boot),
    kernelBoot: str(o.kernelBoot),
    startTicks: typeof ticks === 'number' && Number.isSafeInteger(ticks) ? ticks : null,
    since: str(o.since),
  };
}

/** State and start time from the text of /proc/<pid>/stat (null when it cannot be read). */
export function parseProcStat(text: string): { state: string; startTicks: number } | null {
  // The command name (field 2) is in parentheses and may hold spaces and parentheses.
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const fields = text.slice(close + 2).split(' ');
  const state = fields[0];
  const start = Number(fields[19]); // field 22, starttime
  if (state === undefined || state === '' || !Number.isSafeInteger(start)) return null;
  return { state, startTicks: start };
}

async function procStat(pid: number): Promise<{ state: string; startTicks: number } | null> {
  try {
    return parseProcStat(await fsp.readFile(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

/** The real process table: signal 0 for existence, procfs (where there is one) for the rest. */
export const procfs: ProcessTable = {
  self: process.pid,
  async exists(pid: number): Promise<boolean> {
    try {
      process.kill(pid, 0);
    } catch (err) {
      // EPERM: it exists, under another user.
      if (errorCode(err) !== 'EPERM') return false;
    }
    const st = await procStat(pid);
    return st === null || (st.state !== 'Z' && st.state !== 'X');
  },
  async startTicks(pid: number): Promise<number | null> {
    return (await procStat(pid))?.startTicks ?? null;
  },
  async kernelBoot(): Promise<string> {
    try {
      return (await fsp.readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
    } catch {
      return '';
    }
  },
};

function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
}
