/**
 * The power-loss experiment: a seeded random workload of appends (some
 * overwriting a suffix), hard-state saves and snapshots (own, and installed
 * ones that conflict with the log) runs against WalStorage on a CrashFs that
 * crashes at a random operation; after each reboot the recovered state must be
 * the state after some prefix of the saves issued that includes every save
 * whose promise had resolved.
 */
import type { Entry, HardState, Snapshot } from '../../raft/types.js';
import { Prng } from '../../util/prng.js';
import { CrashFs, CrashedError } from '../crash-fs.js';
import { WalStorage } from '../wal-storage.js';
import type { FsyncPolicy, Timers } from '../wal-storage.js';
import { LogModel, matchesSomePrefix } from './log-model.js';
import type { Micro } from './log-model.js';

export interface PowerLossOptions {
  readonly seed: number;
  readonly fsync: FsyncPolicy;
  readonly unsafeLazyWal?: boolean;
  readonly boots?: number;
  readonly steps?: number;
  readonly segmentBytes?: number;
  /** Storage events and the workload's saves, for reading a failing seed. */
  readonly trace?: (line: string) => void;
}

export interface PowerLossResult {
  /** Why a recovery broke the promise, or null. */
  readonly violation: string | null;
  readonly crashes: number;
  readonly acknowledged: number;
  readonly tornTails: number;
}

const DIR = '/data';

/** Timers for the batch policy: a wait ends on the next macrotask, in order. */
export const immediateTimers: Timers = {
  setTimeout: (fn) => setImmediate(fn),
  clearTimeout: (h) => clearImmediate(h as NodeJS.Immediate),
};

/** Timers that never fire: the lazy mode's flush never comes. */
export const frozenTimers: Timers = {
  setTimeout: () => null,
  clearTimeout: () => undefined,
};

export async function runPowerLoss(options: PowerLossOptions): Promise<PowerLossResult> {
  const prng = new Prng(options.seed);
  const fs = new CrashFs(prng.fork());
  const work = prng.fork();
  let clock = 0;
  const open = (): Promise<WalStorage> =>
    WalStorage.open({
      dir: DIR,
      fs: fs.process(),
      fsync: options.fsync,
      unsafeLazyWal: options.unsafeLazyWal ?? false,
      segmentBytes: options.segmentBytes ?? 2048,
      batchIntervalMs: 3,
      timers: options.unsafeLazyWal === true ? frozenTimers : immediateTimers,
      now: () => clock++,
      onEvent: (event, fields) => options.trace?.(`${event} ${JSON.stringify(fields)}`),
    });

  let storage = await open();
  let crashes = 0;
  let acknowledged = 0;
  let tornTails = 0;
  for (let boot = 0; boot < (options.boots ?? 3); boot++) {
    const start = LogModel.from(await storage.load());
    const issued = start.clone();
    const micros: Micro[] = [];
    let ackedMicros = 0;
    const pending: Promise<unknown>[] = [];
    const issue = (promise: Promise<void>, ms: readonly Micro[]): void => {
      options.trace?.(`save ${micros.length}: ${ms.map(describe).join(' ')}`);
      for (const m of ms) issued.apply(m);
      micros.push(...ms);
      const end = micros.length;
      pending.push(
        promise.then(
          () => {
            acknowledged++;
            ackedMicros = Math.max(ackedMicros, end);
          },
          () => undefined,
        ),
      );
    };

    fs.crashAfter(work.int(1, 150));
    let term = Math.max(issued.hardState.term, issued.termAt(issued.last) ?? 0, 1);
    for (let step = 0; step < (options.steps ?? 60) && !fs.isCrashed; step++) {
      const roll = work.next();
      if (roll < 0.45) {
        if (work.chance(0.2)) term++;
        const entries = randomAppend(work, issued, term);
        issue(
          storage.append(entries),
          entries.filter((e) => e.index > issued.base).map((entry) => ({ kind: 'entry', entry })),
        );
      } else if (roll < 0.65) {
        const hardState = randomHardState(work, issued, term);
        issue(storage.saveHardState(hardState), [{ kind: 'hardState', hardState }]);
      } else if (roll < 0.72) {
        if (work.chance(0.2)) term++;
        const entries = randomAppend(work, issued, term);
        const hardState = randomHardState(work, issued, term);
        const ms: Micro[] = entries
          .filter((e) => e.index > issued.base)
          .map((entry) => ({ kind: 'entry', entry }));
        issue(storage.save({ entries, hardState }), [...ms, { kind: 'hardState', hardState }]);
      } else if (roll < 0.8) {
        const snapshot = randomSnapshot(work, issued);
        if (snapshot !== null)
          issue(storage.saveSnapshot(snapshot), [{ kind: 'snapshot', snapshot }]);
      } else if (roll < 0.9) {
        for (let i = work.int(1, 6); i > 0; i--) await Promise.resolve();
      } else {
        await Promise.allSettled(pending);
      }
    }
    await Promise.allSettled(pending);
    if (!fs.isCrashed) fs.crashNow();
    crashes++;

    // A crash during recovery must be harmless too.
    for (let attempt = 0; ; attempt++) {
      fs.reboot();
      if (attempt === 0 && work.chance(0.3)) fs.crashAfter(work.int(1, 25));
      try {
        storage = await open();
        fs.disarm();
        break;
      } catch (e) {
        if (!(e instanceof CrashedError)) throw e;
        crashes++;
      }
    }
    tornTails += storage.recovery.tornTails.length;
    const violation = matchesSomePrefix(start, micros, ackedMicros, await storage.load());
    if (violation !== null)
      return {
        violation: `seed ${options.seed} boot ${boot}: ${violation}`,
        crashes,
        acknowledged,
        tornTails,
      };
  }
  await storage.close();
  return { violation: null, crashes, acknowledged, tornTails };
}

function describe(m: Micro): string {
  if (m.kind === 'entry') return `e${m.entry.index}/${m.entry.term}`;
  if (m.kind === 'hardState')
    return `hs(${m.hardState.term},${m.hardState.vote},${m.hardState.commit})`;
  return `snap(${m.snapshot.meta.index}/${m.snapshot.meta.term})`;
}

function randomAppend(prng: Prng, log: LogModel, term: number): Entry[] {
  const from = prng.int(Math.max(log.base + 1, log.last - 2), log.last + 1);
  const count = prng.int(1, 4);
  const entries: Entry[] = [];
  for (let i = 0; i < count; i++) {
    const data = new Uint8Array(prng.int(0, 120));
    for (let j = 0; j < data.length; j++) data[j] = prng.int(0, 255);
    entries.push({ index: from + i, term, kind: prng.chance(0.9) ? 'command' : 'noop', data });
  }
  return entries;
}

function randomHardState(prng: Prng, log: LogModel, term: number): HardState {
  return {
    term: Math.max(log.hardState.term, term),
    vote: prng.pick([null, 'n1', 'n2', 'n3']),
    commit: prng.int(0, log.last),
  };
}

/** An own snapshot at a held index, or an installed one beyond or in conflict with the log. */
function randomSnapshot(prng: Prng, log: LogModel): Snapshot | null {
  const data = new Uint8Array(prng.int(0, 300));
  for (let j = 0; j < data.length; j++) data[j] = prng.int(0, 255);
  const peers = ['n1', 'n2', 'n3'];
  const kind = prng.next();
  if (kind < 0.6) {
    if (log.last <= log.base) return null;
    const index = prng.int(log.base + 1, log.last);
    return { meta: { index, term: log.termAt(index) ?? 0, peers }, data };
  }
  if (kind < 0.8) {
    const index = log.last + prng.int(1, 3);
    return { meta: { index, term: (log.termAt(log.last) ?? 0) + 1, peers }, data };
  }
  if (log.last <= log.base + 1) return null;
  const index = prng.int(log.base + 1, log.last - 1);
  return { meta: { index, term: (log.termAt(index) ?? 0) + 7, peers }, data };
}
