/**
 * The power-loss experiment: a seeded random workload of saves (appends, some
 * overwriting a suffix; hard states; own snapshots; snapshots installed from a
 * leader that discard the log; and combinations in one batch) runs against
 * WalStorage on a CrashFs that crashes at a random filesystem call; after
 * each reboot the recovered state must be the state after some prefix of the
 * saves issued that includes every save whose promise had resolved.
 */
import type { Entry, HardState, Snapshot } from '../../raft/types.js';
import { Prng } from '../../util/prng.js';
import { CrashFs, CrashedError } from '../crash-fs.js';
import { WalStorage } from '../wal-storage.js';
import type { FsyncPolicy, SaveBatch, Timers } from '../wal-storage.js';
import { LogModel, matchesSomePrefix } from './log-model.js';

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
    const saves: SaveBatch[] = [];
    let ackedSaves = 0;
    const pending: Promise<unknown>[] = [];

    fs.crashAfter(work.int(1, 150));
    let term = Math.max(issued.hardState.term, issued.termAt(issued.last) ?? 0, 1);
    for (let step = 0; step < (options.steps ?? 60) && !fs.isCrashed; step++) {
      const roll = work.next();
      if (roll < 0.75) {
        if (work.chance(0.1)) term++;
        const batch = randomBatch(work, issued, term);
        options.trace?.(`save ${saves.length}: ${describe(batch)}`);
        const promise = storage.save(batch);
        issued.apply(batch);
        saves.push(batch);
        const end = saves.length;
        pending.push(
          promise.then(
            () => {
              acknowledged++;
              ackedSaves = Math.max(ackedSaves, end);
            },
            () => undefined,
          ),
        );
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
    const violation = matchesSomePrefix(start, saves, ackedSaves, await storage.load());
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

function describe(b: SaveBatch): string {
  const parts: string[] = [];
  if (b.snapshot != null) parts.push(`snap(${b.snapshot.meta.index}/${b.snapshot.meta.term})`);
  if (b.discardLog === true) parts.push('discard');
  if (b.entries !== undefined && b.entries.length > 0)
    parts.push(`e${b.entries[0]?.index}..${b.entries.at(-1)?.index}/${b.entries[0]?.term}`);
  if (b.hardState != null)
    parts.push(`hs(${b.hardState.term},${b.hardState.vote},${b.hardState.commit})`);
  return parts.join(' ');
}

function randomBatch(prng: Prng, log: LogModel, term: number): SaveBatch {
  const kind = prng.next();
  if (kind < 0.45) return { entries: randomEntries(prng, log, term) };
  if (kind < 0.65) return { hardState: randomHardState(prng, log, term) };
  if (kind < 0.8)
    return { entries: randomEntries(prng, log, term), hardState: randomHardState(prng, log, term) };
  if (kind < 0.92) {
    // The node's own snapshot at an index it holds; the log after it stays.
    if (log.last <= log.base) return { entries: randomEntries(prng, log, term) };
    const index = prng.int(log.base + 1, log.last);
    const snapshot = randomSnapshot(prng, index, log.termAt(index) ?? 0);
    return prng.chance(0.5)
      ? { snapshot }
      : { snapshot, hardState: randomHardState(prng, log, term) };
  }
  // A snapshot installed from a leader: the log is discarded, often with the
  // hard state and the entries that follow in the same batch.
  const index = prng.int(log.base + 1, log.last + 3);
  const snapshot = randomSnapshot(prng, index, term);
  const after = new LogModel();
  after.snapshot = snapshot;
  return {
    snapshot,
    discardLog: true,
    entries: prng.chance(0.5) ? randomEntries(prng, after, term) : [],
    hardState: { term: Math.max(log.hardState.term, term), vote: null, commit: index },
  };
}

function randomEntries(prng: Prng, log: LogModel, term: number): Entry[] {
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

function randomSnapshot(prng: Prng, index: number, term: number): Snapshot {
  const data = new Uint8Array(prng.int(0, 300));
  for (let j = 0; j < data.length; j++) data[j] = prng.int(0, 255);
  return { meta: { index, term, peers: ['n1', 'n2', 'n3'] }, data };
}
