/**
 * Durable Raft storage: a write-ahead log of batches in segment files, plus
 * the snapshot in force. See the README's "Storage" section.
 *
 * A save is one batch (snapshot, discardLog, entries, hard state, applied in
 * that order) written as one checksummed record, so a crash keeps all of it or
 * none. Saves reach the disk in call order, so the state recovered after a
 * crash is the state after some prefix of the saves, and that prefix holds
 * every save whose promise had resolved. A single pump drains the queue: the
 * saves waiting when it turns are written with one write and share one fsync
 * (group commit).
 */
import { join } from 'node:path';
import type { Entry, HardState, Snapshot, SnapshotMeta } from '../raft/types.js';
import { StorageFailedError } from './errors.js';
import { TEMP_SUFFIX, encodeSnapshotFile, segmentName, snapshotName } from './files.js';
import { NodeFs } from './fs.js';
import type { Fs, FsFile } from './fs.js';
import { LatencyWindow } from './metrics.js';
import type { StorageMetrics } from './metrics.js';
import { ENTRY_KINDS, encodeRecord } from './records.js';
import type { SnapshotRef } from './records.js';
import { recoverLog } from './recovery.js';
import type { RecoveredLog, SegmentInfo, StorageEventLogger, TornTail } from './recovery.js';

export type FsyncPolicy = 'always' | 'batch' | 'never';
export const FSYNC_POLICIES: readonly FsyncPolicy[] = ['always', 'batch', 'never'];

/** The clock storage waits on; the simulator can pass its own. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface WalStorageOptions {
  /** The data directory; created if missing. */
  readonly dir: string;
  readonly fs?: Fs;
  /**
   * `always` (default): a save resolves after an fsync that covers it.
   * `batch`: likewise, but fsyncs at most every `batchIntervalMs` (default 10).
   * `never`: a save resolves once written to the OS; the OS decides when it is durable.
   * Saves with a snapshot or a discard are fsynced under every policy.
   */
  readonly fsync?: FsyncPolicy;
  readonly batchIntervalMs?: number;
  /**
   * UNSAFE, for proving that the testbed catches lost writes: every save
   * resolves at once, before anything is written; saves wait in memory until
   * a timer writes and fsyncs them every `lazyFlushMs` (default 1000).
   */
  readonly unsafeLazyWal?: boolean;
  readonly lazyFlushMs?: number;
  /** A segment is closed and a new one started past this size (default 64 MiB). */
  readonly segmentBytes?: number;
  /** Recovery and compaction events, for the node's JSON log. */
  readonly onEvent?: StorageEventLogger;
  readonly timers?: Timers;
  /** Milliseconds, for fsync latencies (default performance.now). */
  readonly now?: () => number;
}

/** What the node had persisted, as recovered at open (the core's PersistedState). */
export interface PersistedState {
  readonly hardState: HardState;
  readonly snapshot: Snapshot | null;
  /** Entries after the snapshot (or from index 1), contiguous. */
  readonly entries: readonly Entry[];
}

/**
 * One atomic save (the core's PersistBatch; absent fields mean null, false, []).
 * Applied in this order:
 * - `snapshot`: replaces the previous one; entries at or below its index are dropped;
 * - `discardLog`: drops every entry after the snapshot too (a snapshot installed from a leader);
 * - `entries`: contiguous; the first cuts the log from its index on (a suffix the leader
 *   overwrote), then all are appended; entries at or below the snapshot's index are skipped;
 * - `hardState`: replaces the stored one.
 */
export interface SaveBatch {
  readonly snapshot?: Snapshot | null;
  readonly discardLog?: boolean;
  readonly entries?: readonly Entry[];
  readonly hardState?: HardState | null;
}

export interface RecoveryReport {
  /** Torn tails cut off (each also logged as `storage_torn_tail`). */
  readonly tornTails: readonly TornTail[];
  /** Files removed at start: temp files, snapshots not in force, compacted or torn segments. */
  readonly removedFiles: readonly string[];
  readonly records: number;
  readonly ms: number;
}

interface Deferred {
  readonly promise: Promise<void>;
  resolve(): void;
  reject(e: unknown): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** One encoded batch record and what the writer must know about it. */
interface WalItem {
  readonly bytes: Uint8Array;
  /** Highest entry index in it, 0 if none. */
  readonly maxIndex: number;
  /** The log's last index once it is applied. */
  readonly lastIndex: number;
  readonly hardState: HardState | null;
  readonly snapshotRef: SnapshotRef | null;
}

type Job =
  | { readonly kind: 'records'; readonly item: WalItem | null; readonly done: Deferred | null }
  | {
      readonly kind: 'snapshot';
      readonly snapshot: Snapshot | null;
      readonly discardLog: boolean;
      readonly item: WalItem;
      readonly done: Deferred | null;
    }
  | { readonly kind: 'sync'; readonly done: Deferred };

const DEFAULTS = { batchIntervalMs: 10, lazyFlushMs: 1000, segmentBytes: 64 * 1024 * 1024 };

const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export class WalStorage {
  readonly recovery: RecoveryReport;
  private readonly fs: Fs;
  private readonly dir: string;
  private readonly policy: FsyncPolicy;
  private readonly lazy: boolean;
  private readonly batchIntervalMs: number;
  private readonly lazyFlushMs: number;
  private readonly segmentBytes: number;
  private readonly log: StorageEventLogger;
  private readonly timers: Timers;
  private readonly now: () => number;
  private readonly recovered: PersistedState;
  private readonly startedAt: number;

  // The log as the saves issued so far leave it (the disk catches up in order).
  private snapshotMeta: SnapshotMeta | null;
  private last: number;

  // The disk side, touched only by the pump.
  private readonly queue: Job[] = [];
  private readonly unsynced: Deferred[] = [];
  private segments: SegmentInfo[];
  private nextSeq: number;
  private current: FsFile | null = null;
  private currentHasRecords = false;
  private dirty = false;
  private writtenHardState: HardState;
  private writtenSnapshot: SnapshotRef | null;
  private writtenLastIndex: number;
  /** Snapshot in force on disk and its file. */
  private durableSnapshotIndex: number;
  private snapshotFile: string | null;
  private replacedSnapshotFile: string | null = null;
  private discardedBeforeSeq: number;
  private lastSyncAt = Number.NEGATIVE_INFINITY;
  private pumping = false;
  private pumpScheduled = false;
  private lazyTimer: unknown = null;
  private failure: StorageFailedError | null = null;
  private closing = false;
  private closed = false;

  // Metrics.
  private readonly fsyncLatency = new LatencyWindow();
  private fsyncs = 0;
  private dirFsyncs = 0;
  private bytesWritten = 0;
  private recordsWritten = 0;
  private snapshotsSaved = 0;

  /** Recovers what is in `options.dir` and opens it for writing. */
  static async open(options: WalStorageOptions): Promise<WalStorage> {
    const fs = options.fs ?? new NodeFs();
    const log = options.onEvent ?? (() => undefined);
    const now = options.now ?? (() => performance.now());
    const started = now();
    const recovered = await recoverLog(fs, options.dir, log);
    const storage = new WalStorage(options, fs, log, now, recovered, started);
    await storage.startAfterRecovery();
    return storage;
  }

  private constructor(
    options: WalStorageOptions,
    fs: Fs,
    log: StorageEventLogger,
    now: () => number,
    r: RecoveredLog,
    started: number,
  ) {
    this.fs = fs;
    this.dir = options.dir;
    this.log = log;
    this.now = now;
    this.startedAt = started;
    this.policy = options.fsync ?? 'always';
    if (!FSYNC_POLICIES.includes(this.policy))
      throw new RangeError(`unknown fsync policy ${String(this.policy)}`);
    this.lazy = options.unsafeLazyWal ?? false;
    this.batchIntervalMs = positive(
      'batchIntervalMs',
      options.batchIntervalMs ?? DEFAULTS.batchIntervalMs,
    );
    this.lazyFlushMs = positive('lazyFlushMs', options.lazyFlushMs ?? DEFAULTS.lazyFlushMs);
    this.segmentBytes = positive('segmentBytes', options.segmentBytes ?? DEFAULTS.segmentBytes);
    this.timers = options.timers ?? realTimers;

    this.snapshotMeta = r.snapshot?.meta ?? null;
    this.last = (r.snapshot?.meta.index ?? 0) + r.entries.length;
    this.segments = r.segments;
    this.nextSeq = r.nextSeq;
    this.writtenHardState = r.hardState;
    this.writtenSnapshot =
      r.snapshot === null ? null : { index: r.snapshot.meta.index, term: r.snapshot.meta.term };
    this.writtenLastIndex = this.last;
    this.durableSnapshotIndex = r.snapshot?.meta.index ?? 0;
    this.snapshotFile = r.snapshot === null ? null : snapshotName(r.snapshot.meta.index);
    this.discardedBeforeSeq = r.discardedBeforeSeq;
    this.recovered = { hardState: r.hardState, snapshot: r.snapshot, entries: r.entries };
    this.recovery = {
      tornTails: r.tornTails,
      removedFiles: [...r.removedFiles],
      records: r.records,
      ms: 0,
    };
  }

  /** Starts a fresh segment, then removes segments made obsolete before the crash. */
  private async startAfterRecovery(): Promise<void> {
    await this.roll();
    const removed = await this.removeObsoleteSegments();
    (this.recovery.removedFiles as string[]).push(...removed);
    (this.recovery as { ms: number }).ms = this.now() - this.startedAt;
    this.log('storage_recovered', {
      dir: this.dir,
      snapshotIndex: this.snapshotMeta?.index ?? 0,
      firstIndex: this.firstIndex,
      lastIndex: this.lastIndex,
      term: this.recovered.hardState.term,
      segments: this.segments.length,
      records: this.recovery.records,
      tornTails: this.recovery.tornTails.length,
      ms: Math.round(this.recovery.ms * 10) / 10,
    });
    if (this.lazy) this.armLazyFlush();
  }

  /** The state recovered at open (the core's `load`). */
  load(): Promise<PersistedState> {
    return Promise.resolve(this.recovered);
  }

  /** First index held in the log (the snapshot's index + 1). */
  get firstIndex(): number {
    return (this.snapshotMeta?.index ?? 0) + 1;
  }

  /** Last index of the log, or the snapshot's index when the log after it is empty. */
  get lastIndex(): number {
    return this.last;
  }

  append(entries: readonly Entry[]): Promise<void> {
    return this.save({ entries });
  }

  saveHardState(hardState: HardState): Promise<void> {
    return this.save({ hardState });
  }

  /** Saves a snapshot and compacts the log up to it; `discardLog` drops the log after it too. */
  saveSnapshot(snapshot: Snapshot, options: { discardLog?: boolean } = {}): Promise<void> {
    return this.save({ snapshot, discardLog: options.discardLog ?? false });
  }

  /**
   * Saves one batch atomically (the core's `save`). Resolves once it is durable
   * under the fsync policy; rejects on bad input (a gap, a stale snapshot) or
   * after a write failed (then every later save rejects too).
   */
  save(batch: SaveBatch): Promise<void> {
    const refused = this.refusal();
    if (refused !== null) return refused;
    let job: Job;
    try {
      job = this.accept(batch);
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    this.queue.push(job);
    if (this.lazy) return Promise.resolve();
    this.schedulePump();
    return job.done?.promise ?? Promise.resolve();
  }

  /** Checks a batch against the log as saves leave it, and turns it into a job. */
  private accept(batch: SaveBatch): Job {
    const snapshot = batch.snapshot ?? null;
    const discardLog = batch.discardLog ?? false;
    const hardState = batch.hardState ?? null;
    let snapshotMeta = this.snapshotMeta;
    let last = this.last;
    if (snapshot !== null) {
      const { index, term } = snapshot.meta;
      const base = snapshotMeta?.index ?? 0;
      if (!Number.isSafeInteger(index) || index < base || !Number.isSafeInteger(term) || term < 0)
        throw new RangeError(
          `snapshot at index ${index} term ${term}: the current one is at ${base}`,
        );
      snapshotMeta = { index, term, peers: [...snapshot.meta.peers] };
      last = Math.max(last, index);
    }
    const base = snapshotMeta?.index ?? 0;
    if (discardLog) last = base;
    const entries = (batch.entries ?? []).filter((e) => e.index > base);
    const first = entries[0];
    if (first !== undefined) {
      entries.forEach((e, i) => {
        if (e.index !== first.index + i)
          throw new RangeError(`entries not contiguous: ${e.index} after ${first.index + i - 1}`);
        if (!Number.isSafeInteger(e.term) || e.term < 0)
          throw new RangeError(`entry ${e.index}: bad term ${e.term}`);
        if (!ENTRY_KINDS.includes(e.kind))
          throw new RangeError(`entry ${e.index}: unknown kind ${String(e.kind)}`);
      });
      if (first.index > last + 1)
        throw new RangeError(`append at ${first.index} leaves a gap after the last index ${last}`);
      last = first.index + entries.length - 1;
    }
    if (
      hardState !== null &&
      (!Number.isSafeInteger(hardState.term) ||
        hardState.term < 0 ||
        !Number.isSafeInteger(hardState.commit) ||
        hardState.commit < 0)
    )
      throw new RangeError(`bad hard state term ${hardState.term} commit ${hardState.commit}`);

    const hs =
      hardState === null
        ? null
        : { term: hardState.term, vote: hardState.vote, commit: hardState.commit };
    const ref =
      snapshotMeta === null || snapshot === null
        ? null
        : { index: snapshotMeta.index, term: snapshotMeta.term };
    const done = this.lazy ? null : deferred();
    const empty = snapshot === null && !discardLog && entries.length === 0 && hs === null;
    const item: WalItem | null = empty
      ? null
      : {
          bytes: encodeRecord({ type: 'batch', snapshot: ref, discardLog, entries, hardState: hs }),
          maxIndex: entries.at(-1)?.index ?? 0,
          lastIndex: last,
          hardState: hs,
          snapshotRef: ref,
        };
    // Encoding can throw (a record too large): state changes only after it succeeded.
    this.snapshotMeta = snapshotMeta;
    this.last = last;
    if (item === null || (snapshot === null && !discardLog)) return { kind: 'records', item, done };
    const copy =
      snapshot === null
        ? null
        : { meta: snapshotMeta ?? snapshot.meta, data: snapshot.data.slice() };
    return { kind: 'snapshot', snapshot: copy, discardLog, item, done };
  }

  /** Resolves when everything saved before it is durable, whatever the policy. */
  sync(): Promise<void> {
    const refused = this.refusal();
    if (refused !== null) return refused;
    const done = deferred();
    this.queue.push({ kind: 'sync', done });
    this.schedulePump();
    return done.promise;
  }

  /** Makes everything saved durable, then closes the files. */
  async close(): Promise<void> {
    if (this.closing) return;
    const synced = this.failure === null ? this.sync() : Promise.resolve();
    this.closing = true;
    await synced;
    this.closed = true;
    if (this.lazyTimer !== null) this.timers.clearTimeout(this.lazyTimer);
    this.lazyTimer = null;
    const file = this.current;
    this.current = null;
    if (file !== null && this.failure === null) await file.close();
  }

  metrics(): StorageMetrics {
    return {
      fsyncs: this.fsyncs,
      dirFsyncs: this.dirFsyncs,
      fsyncP50Ms: this.fsyncLatency.quantile(0.5),
      fsyncP99Ms: this.fsyncLatency.quantile(0.99),
      bytesWritten: this.bytesWritten,
      records: this.recordsWritten,
      segments: this.segments.length,
      snapshotsSaved: this.snapshotsSaved,
      snapshotIndex: this.snapshotMeta?.index ?? 0,
    };
  }

  private refusal(): Promise<void> | null {
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.closing) return Promise.reject(new StorageFailedError('storage is closed'));
    return null;
  }

  // ---- the pump: the only code that writes ----

  private schedulePump(): void {
    if (this.pumping || this.pumpScheduled) return;
    this.pumpScheduled = true;
    // A microtask later, so a burst of saves made in one turn is one batch.
    queueMicrotask(() => {
      this.pumpScheduled = false;
      void this.pump();
    });
  }

  private armLazyFlush(): void {
    this.lazyTimer = this.timers.setTimeout(() => {
      this.lazyTimer = null;
      if (this.closed || this.failure !== null) return;
      void this.pump().then(() => {
        if (!this.closed && this.failure === null) this.armLazyFlush();
      });
    }, this.lazyFlushMs);
    unrefTimer(this.lazyTimer);
  }

  private async pump(): Promise<void> {
    if (this.pumping || this.failure !== null) return;
    this.pumping = true;
    try {
      for (;;) {
        const job = this.queue[0];
        if (job === undefined) {
          if (this.unsynced.length === 0) break;
          // batch policy: the fsync is not due yet; whatever arrives meanwhile shares it.
          await this.sleep(this.lastSyncAt + this.batchIntervalMs - this.now());
          if (this.queue.length > 0) continue;
          await this.syncCurrent();
          this.resolveUnsynced();
          continue;
        }
        if (job.kind === 'records') {
          await this.writeRecordJobs();
          const due =
            this.lazy ||
            this.policy === 'always' ||
            (this.policy === 'batch' && this.now() >= this.lastSyncAt + this.batchIntervalMs);
          if (due) await this.syncCurrent();
          if (due || this.policy === 'never') this.resolveUnsynced();
          continue;
        }
        if (job.kind === 'snapshot') await this.writeSnapshotJob(job);
        else await this.syncCurrent();
        this.resolveUnsynced();
        this.queue.shift();
        job.done?.resolve();
        if (job.kind === 'snapshot') await this.afterSnapshot();
      }
    } catch (e) {
      this.fail(e);
    } finally {
      this.pumping = false;
    }
  }

  /**
   * Takes the record jobs at the head of the queue and writes them as one
   * write. Their waiters join `unsynced` first, so a failure rejects them too;
   * only the pump resolves them, once the policy says they are durable.
   */
  private async writeRecordJobs(): Promise<void> {
    const items: WalItem[] = [];
    while (this.queue[0]?.kind === 'records') {
      const job = this.queue.shift();
      if (job?.kind !== 'records') break;
      if (job.item !== null) items.push(job.item);
      if (job.done !== null) this.unsynced.push(job.done);
    }
    await this.writeRecords(items);
  }

  private async writeRecords(items: readonly WalItem[]): Promise<void> {
    let chunk: Uint8Array[] = [];
    let chunkBytes = 0;
    const flush = async (): Promise<void> => {
      if (chunk.length === 0) return;
      await this.writeCurrent(concat(chunk, chunkBytes));
      this.recordsWritten += chunk.length;
      chunk = [];
      chunkBytes = 0;
    };
    for (const item of items) {
      const size = this.segments.at(-1)?.bytes ?? 0;
      const full = size + chunkBytes + item.bytes.length > this.segmentBytes;
      if (full && (this.currentHasRecords || chunk.length > 0)) {
        await flush();
        await this.roll();
      }
      chunk.push(item.bytes);
      chunkBytes += item.bytes.length;
      this.currentHasRecords = true;
      const seg = this.segments.at(-1);
      if (seg !== undefined) seg.maxIndex = Math.max(seg.maxIndex, item.maxIndex);
      this.writtenLastIndex = item.lastIndex;
      if (item.hardState !== null) this.writtenHardState = item.hardState;
      if (item.snapshotRef !== null) this.writtenSnapshot = item.snapshotRef;
    }
    await flush();
  }

  private async writeCurrent(bytes: Uint8Array): Promise<void> {
    if (this.current === null) throw new Error('no open segment');
    await this.current.append(bytes);
    const seg = this.segments.at(-1);
    if (seg !== undefined) seg.bytes += bytes.length;
    this.bytesWritten += bytes.length;
    this.dirty = true;
  }

  /**
   * Closes the current segment durably and starts the next one with a record
   * restating the snapshot in force and the hard state, so removing older
   * segments never loses them. A segment is complete and synced before its
   * successor exists: only the last can be torn.
   */
  private async roll(): Promise<void> {
    const previous = this.current;
    if (previous !== null) {
      await this.syncCurrent();
      await previous.close();
    }
    const seq = this.nextSeq++;
    const name = segmentName(seq, this.writtenLastIndex + 1);
    const prev = this.segments.at(-1);
    this.current = await this.fs.create(join(this.dir, name));
    this.segments.push({ seq, name, maxIndex: 0, bytes: 0 });
    this.currentHasRecords = false;
    const header = encodeRecord({
      type: 'header',
      seq,
      prevSeq: prev?.seq ?? 0,
      prevBytes: prev?.bytes ?? 0,
    });
    const state = encodeRecord({
      type: 'batch',
      snapshot: this.writtenSnapshot,
      discardLog: false,
      entries: [],
      hardState: this.writtenHardState,
    });
    await this.writeCurrent(concat([header, state], header.length + state.length));
    this.recordsWritten += 2;
    // Durable before anything relies on its restated state (removing older
    // segments), and its name with it.
    await this.syncCurrent();
    await this.syncDir();
  }

  private async syncCurrent(): Promise<void> {
    if (!this.dirty || this.current === null) return;
    const started = this.now();
    this.dirty = false;
    await this.current.sync();
    this.noteFsync(started);
    this.lastSyncAt = started;
  }

  private resolveUnsynced(): void {
    for (const d of this.unsynced.splice(0)) d.resolve();
  }

  private noteFsync(started: number): void {
    this.fsyncs++;
    this.fsyncLatency.add(this.now() - started);
  }

  private async syncDir(): Promise<void> {
    await this.fs.syncDir(this.dir);
    this.dirFsyncs++;
  }

  /**
   * The snapshot file first (temp file, fsync, rename, fsync of the directory),
   * then the batch record that puts it in force, fsynced under every policy. A
   * crash between the two leaves a file no record refers to, removed at start.
   */
  private async writeSnapshotJob(job: Extract<Job, { kind: 'snapshot' }>): Promise<void> {
    if (job.snapshot !== null) {
      const name = snapshotName(job.snapshot.meta.index);
      const final = join(this.dir, name);
      const temp = final + TEMP_SUFFIX;
      const file = await this.fs.create(temp);
      const bytes = encodeSnapshotFile(job.snapshot);
      await file.append(bytes);
      this.bytesWritten += bytes.length;
      const started = this.now();
      await file.sync();
      this.noteFsync(started);
      await file.close();
      await this.fs.rename(temp, final);
      await this.syncDir();
    }
    await this.writeRecords([job.item]);
    await this.syncCurrent();
    if (job.snapshot !== null) {
      this.snapshotsSaved++;
      this.durableSnapshotIndex = job.snapshot.meta.index;
      const previous = this.snapshotFile;
      this.snapshotFile = snapshotName(job.snapshot.meta.index);
      this.replacedSnapshotFile =
        previous !== null && previous !== this.snapshotFile ? previous : null;
      this.log('storage_snapshot_saved', {
        index: job.snapshot.meta.index,
        term: job.snapshot.meta.term,
        bytes: job.snapshot.data.length,
        logDiscarded: job.discardLog,
      });
    }
    if (job.discardLog) this.discardedBeforeSeq = this.segments.at(-1)?.seq ?? 0;
  }

  /** Removes what the snapshot just made durable has replaced. */
  private async afterSnapshot(): Promise<void> {
    const old = this.replacedSnapshotFile;
    this.replacedSnapshotFile = null;
    if (old !== null) await this.fs.unlink(join(this.dir, old));
    await this.removeObsoleteSegments();
  }

  /**
   * Removes the oldest segments while each holds only entries the snapshot on
   * disk covers or a discard dropped. Never the current one: its first record
   * restates the snapshot in force and the hard state.
   */
  private async removeObsoleteSegments(): Promise<string[]> {
    const removed: string[] = [];
    while (this.segments.length > 1) {
      const seg = this.segments[0];
      if (
        seg === undefined ||
        (seg.maxIndex > this.durableSnapshotIndex && seg.seq >= this.discardedBeforeSeq)
      )
        break;
      await this.fs.unlink(join(this.dir, seg.name));
      this.segments.shift();
      removed.push(seg.name);
    }
    if (removed.length > 0)
      this.log('storage_segments_removed', { files: removed, upTo: this.durableSnapshotIndex });
    return removed;
  }

  private sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => this.timers.setTimeout(resolve, ms));
  }

  private fail(e: unknown): void {
    const message = e instanceof Error ? e.message : String(e);
    this.failure = new StorageFailedError(`write to ${this.dir} failed: ${message}`, { cause: e });
    this.log('storage_failed', { dir: this.dir, error: message });
    for (const d of this.unsynced.splice(0)) d.reject(this.failure);
    for (const job of this.queue.splice(0)) job.done?.reject(this.failure);
    if (this.lazyTimer !== null) this.timers.clearTimeout(this.lazyTimer);
    this.lazyTimer = null;
  }
}

function positive(name: string, v: number): number {
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`${name} must be positive, got ${v}`);
  return v;
}

function concat(parts: readonly Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1 && parts[0] !== undefined) return parts[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function unrefTimer(handle: unknown): void {
  if (
    typeof handle === 'object' &&
    handle !== null &&
    'unref' in handle &&
    typeof handle.unref === 'function'
  )
    (handle as { unref(): void }).unref();
}
