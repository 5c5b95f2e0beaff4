/**
 * Durable Raft storage: a write-ahead log of entries and hard states in
 * segment files, plus the newest snapshot. See the README's "Storage" section.
 *
 * Every save goes into one queue and reaches the disk in call order, so after a
 * crash the state recovered is the state after some prefix of the saves, and
 * that prefix holds every save whose promise had resolved. A single pump
 * drains the queue: all record saves waiting when it turns are written with
 * one write and share one fsync (group commit).
 */
import { join } from 'node:path';
import type { Entry, HardState, Snapshot, SnapshotMeta } from '../raft/types.js';
import { StorageFailedError } from './errors.js';
import { TEMP_SUFFIX, encodeSnapshotFile, segmentName, snapshotName } from './files.js';
import { NodeFs } from './fs.js';
import type { Fs, FsFile } from './fs.js';
import { LatencyWindow } from './metrics.js';
import type { StorageMetrics } from './metrics.js';
import { encodeRecord } from './records.js';
import { recoverLog } from './recovery.js';
import type { SegmentInfo, StorageEventLogger, TornTail } from './recovery.js';

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
   * `batch`: likewise, but fsyncs at most every `batchIntervalMs`.
   * `never`: a save resolves once written to the OS; the OS decides when it is durable.
   */
  readonly fsync?: FsyncPolicy;
  readonly batchIntervalMs?: number;
  /**
   * UNSAFE, for testing that the testbed catches lost writes: entry and hard
   * state saves resolve at once, before anything is written, and are kept in
   * memory until a timer flushes them every `lazyFlushMs` (default 1000).
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

/** What the node had persisted, as recovered at open. */
export interface PersistedState {
  readonly hardState: HardState;
  readonly snapshot: Snapshot | null;
  /** Entries after the snapshot (or from index 1), contiguous. */
  readonly entries: readonly Entry[];
}

export interface RecoveryReport {
  /** Torn tails cut off (each also logged as `storage_torn_tail`). */
  readonly tornTails: readonly TornTail[];
  /** Files removed at start: temp files, older snapshots, compacted or torn segments. */
  readonly removedFiles: readonly string[];
  readonly records: number;
  readonly ms: number;
}

/** Optional parts of one persist step; written together, one fsync. */
export interface SaveRequest {
  readonly entries?: readonly Entry[];
  readonly hardState?: HardState;
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

interface WalItem {
  readonly bytes: Uint8Array;
  /** The entry's index, or 0 for a hard state. */
  readonly index: number;
  readonly hardState: HardState | null;
}

type Job =
  | { readonly kind: 'records'; readonly items: WalItem[]; readonly done: Deferred | null }
  | {
      readonly kind: 'snapshot';
      readonly snapshot: Snapshot;
      readonly discardLog: boolean;
      readonly done: Deferred;
    }
  | { readonly kind: 'sync'; readonly done: Deferred };

const ENTRY_KINDS: readonly string[] = ['noop', 'command', 'config'];

const DEFAULTS = {
  batchIntervalMs: 10,
  lazyFlushMs: 1000,
  segmentBytes: 64 * 1024 * 1024,
};

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

  // The log as the saves issued so far leave it (the disk catches up in order).
  private snapshotMeta: SnapshotMeta | null;
  private terms: number[];
  private hardState: HardState;

  // The disk side, touched only by the pump.
  private readonly queue: Job[] = [];
  private readonly unsynced: Deferred[] = [];
  private segments: SegmentInfo[];
  private current: FsFile | null = null;
  private currentBytes = 0;
  private currentHasRecords = false;
  private dirty = false;
  private writtenHardState: HardState;
  private writtenLastIndex: number;
  private snapshotFile: string | null;
  private nextSeq: number;
  private readonly recoveredDiscardBeforeSeq: number;
  private readonly startedAt: number;
  private lastSyncAt = Number.NEGATIVE_INFINITY;
  private pumping = false;
  private pumpScheduled = false;
  private lazyTimer: unknown = null;
  private failure: StorageFailedError | null = null;
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
    r: Awaited<ReturnType<typeof recoverLog>>,
    started: number,
  ) {
    this.fs = fs;
    this.dir = options.dir;
    this.log = log;
    this.now = now;
    this.policy = options.fsync ?? 'always';
    if (!FSYNC_POLICIES.includes(this.policy))
      throw new RangeError(`unknown fsync policy ${this.policy}`);
    this.lazy = options.unsafeLazyWal ?? false;
    this.batchIntervalMs = positive(
      'batchIntervalMs',
      options.batchIntervalMs ?? DEFAULTS.batchIntervalMs,
    );
    this.lazyFlushMs = positive('lazyFlushMs', options.lazyFlushMs ?? DEFAULTS.lazyFlushMs);
    this.segmentBytes = positive('segmentBytes', options.segmentBytes ?? DEFAULTS.segmentBytes);
    this.timers = options.timers ?? realTimers;

    const snap = r.snapshot?.snapshot ?? null;
    this.snapshotMeta = snap?.meta ?? null;
    this.snapshotFile = r.snapshotName;
    this.terms = r.entries.map((e) => e.term);
    this.hardState = r.hardState;
    this.writtenHardState = r.hardState;
    this.writtenLastIndex = this.lastIndex;
    this.segments = r.segments;
    this.recovered = { hardState: r.hardState, snapshot: snap, entries: r.entries };
    this.recovery = {
      tornTails: r.tornTails,
      removedFiles: r.removedFiles,
      records: r.records,
      ms: 0,
    };
    this.nextSeq = r.nextSeq;
    this.recoveredDiscardBeforeSeq = r.snapshot?.discardLogBeforeSeq ?? 0;
    this.startedAt = started;
  }

  /** Starts a fresh segment, then removes segments the snapshot made obsolete. */
  private async startAfterRecovery(): Promise<void> {
    await this.roll();
    const removed = await this.removeObsoleteSegments(
      this.snapshotMeta?.index ?? 0,
      this.recoveredDiscardBeforeSeq,
    );
    (this.recovery.removedFiles as string[]).push(...removed);
    (this.recovery as { ms: number }).ms = this.now() - this.startedAt;
    this.log('storage_recovered', {
      dir: this.dir,
      snapshotIndex: this.snapshotMeta?.index ?? 0,
      firstIndex: this.firstIndex,
      lastIndex: this.lastIndex,
      term: this.hardState.term,
      segments: this.segments.length,
      records: this.recovery.records,
      tornTails: this.recovery.tornTails.length,
      ms: Math.round(this.recovery.ms * 10) / 10,
    });
    if (this.lazy) this.armLazyFlush();
  }

  /** The state recovered at open. */
  load(): Promise<PersistedState> {
    return Promise.resolve(this.recovered);
  }

  /** First index held in the log (the snapshot's index + 1). */
  get firstIndex(): number {
    return (this.snapshotMeta?.index ?? 0) + 1;
  }

  /** Last index of the log, or the snapshot's index when the log after it is empty. */
  get lastIndex(): number {
    return (this.snapshotMeta?.index ?? 0) + this.terms.length;
  }

  get policyName(): FsyncPolicy {
    return this.policy;
  }

  /**
   * Appends entries. Entries at indices the log already holds replace them and
   * everything after (the conflicting suffix); entries at or below the
   * snapshot's index are skipped (they are committed and covered).
   */
  append(entries: readonly Entry[]): Promise<void> {
    return this.save({ entries });
  }

  saveHardState(hardState: HardState): Promise<void> {
    return this.save({ hardState });
  }

  /** Entries then hard state, written together and made durable by one fsync. */
  save(request: SaveRequest): Promise<void> {
    const refused = this.refusal();
    if (refused !== null) return refused;
    let items: WalItem[];
    try {
      items = [
        ...this.acceptEntries(request.entries ?? []),
        ...this.acceptHardState(request.hardState),
      ];
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    if (this.lazy) {
      this.queue.push({ kind: 'records', items, done: null });
      return Promise.resolve();
    }
    const done = deferred();
    this.queue.push({ kind: 'records', items, done });
    this.schedulePump();
    return done.promise;
  }

  private acceptEntries(entries: readonly Entry[]): WalItem[] {
    const base = this.snapshotMeta?.index ?? 0;
    const fresh = entries.filter((e) => e.index > base);
    const first = fresh[0];
    if (first === undefined) return [];
    fresh.forEach((e, i) => {
      if (!Number.isSafeInteger(e.term) || e.term < 0)
        throw new RangeError(`entry ${e.index}: bad term ${e.term}`);
      if (!ENTRY_KINDS.includes(e.kind))
        throw new RangeError(`entry ${e.index}: unknown kind ${String(e.kind)}`);
      if (e.index !== first.index + i)
        throw new RangeError(`entries not contiguous: ${e.index} after ${first.index + i - 1}`);
    });
    if (first.index > this.lastIndex + 1)
      throw new RangeError(
        `append at ${first.index} leaves a gap after the last index ${this.lastIndex}`,
      );
    const items = fresh.map((e) => ({
      bytes: encodeRecord({ type: 'entry', entry: e }),
      index: e.index,
      hardState: null,
    }));
    this.terms.length = first.index - base - 1;
    for (const e of fresh) this.terms.push(e.term);
    return items;
  }

  private acceptHardState(hs: HardState | undefined): WalItem[] {
    if (hs === undefined) return [];
    if (
      !Number.isSafeInteger(hs.term) ||
      hs.term < 0 ||
      !Number.isSafeInteger(hs.commit) ||
      hs.commit < 0
    )
      throw new RangeError(`bad hard state term ${hs.term} commit ${hs.commit}`);
    const copy: HardState = { term: hs.term, vote: hs.vote, commit: hs.commit };
    const item = {
      bytes: encodeRecord({ type: 'hardState', hardState: copy }),
      index: 0,
      hardState: copy,
    };
    this.hardState = copy;
    return [item];
  }

  /**
   * Saves a snapshot atomically and compacts the log up to it. The log after
   * the snapshot is kept if it holds the snapshot's last entry (same index and
   * term), else discarded (Raft's rule for an installed snapshot). Resolves
   * when the snapshot file is durable; older snapshots and segments holding
   * only covered entries are removed before that.
   */
  saveSnapshot(snapshot: Snapshot): Promise<void> {
    const refused = this.refusal();
    if (refused !== null) return refused;
    const { index, term } = snapshot.meta;
    const base = this.snapshotMeta?.index ?? 0;
    if (!Number.isSafeInteger(index) || index < base || !Number.isSafeInteger(term) || term < 0)
      return Promise.reject(
        new RangeError(`snapshot at index ${index} term ${term}: the current one is at ${base}`),
      );
    const termAtIndex =
      index === base
        ? (this.snapshotMeta?.term ?? 0)
        : index <= this.lastIndex
          ? this.terms[index - base - 1]
          : undefined;
    const discardLog = this.lastIndex > index && termAtIndex !== term;
    this.terms = discardLog || index >= this.lastIndex ? [] : this.terms.slice(index - base);
    this.snapshotMeta = { index, term, peers: [...snapshot.meta.peers] };
    const done = deferred();
    this.queue.push({
      kind: 'snapshot',
      snapshot: { meta: this.snapshotMeta, data: snapshot.data.slice() },
      discardLog,
      done,
    });
    this.schedulePump();
    return done.promise;
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
    if (this.closed) return;
    if (this.failure === null) await this.sync();
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
    if (this.closed) return Promise.reject(new StorageFailedError('storage is closed'));
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
          // Waiters join `unsynced` before the write so a failure rejects them too;
          // only the pump resolves them, after the write (and fsync) below.
          const { items, waiters } = this.takeRecordJobs();
          this.unsynced.push(...waiters);
          await this.writeRecords(items);
          const due =
            this.lazy ||
            this.policy === 'always' ||
            (this.policy === 'batch' && this.now() >= this.lastSyncAt + this.batchIntervalMs);
          if (due) await this.syncCurrent();
          if (due || this.policy === 'never') this.resolveUnsynced();
          continue;
        }
        await this.syncCurrent();
        this.resolveUnsynced();
        if (job.kind === 'snapshot') await this.writeSnapshot(job.snapshot, job.discardLog);
        this.queue.shift();
        job.done.resolve();
      }
    } catch (e) {
      this.fail(e);
    } finally {
      this.pumping = false;
    }
  }

  /** The record saves at the head of the queue, which become one write. */
  private takeRecordJobs(): { items: WalItem[]; waiters: Deferred[] } {
    const items: WalItem[] = [];
    const waiters: Deferred[] = [];
    while (this.queue[0]?.kind === 'records') {
      const job = this.queue.shift();
      if (job?.kind !== 'records') break;
      items.push(...job.items);
      if (job.done !== null) waiters.push(job.done);
    }
    return { items, waiters };
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
      const full = this.currentBytes + chunkBytes + item.bytes.length > this.segmentBytes;
      if (full && (this.currentHasRecords || chunk.length > 0)) {
        await flush();
        await this.roll();
      }
      chunk.push(item.bytes);
      chunkBytes += item.bytes.length;
      this.currentHasRecords = true;
      const seg = this.segments[this.segments.length - 1];
      if (item.index > 0) {
        this.writtenLastIndex = item.index;
        if (seg !== undefined) seg.maxIndex = Math.max(seg.maxIndex, item.index);
      }
      if (item.hardState !== null) this.writtenHardState = item.hardState;
    }
    await flush();
  }

  private async writeCurrent(bytes: Uint8Array): Promise<void> {
    if (this.current === null) throw new Error('no open segment');
    await this.current.append(bytes);
    this.currentBytes += bytes.length;
    const seg = this.segments[this.segments.length - 1];
    if (seg !== undefined) seg.bytes += bytes.length;
    this.bytesWritten += bytes.length;
    this.dirty = true;
  }

  /**
   * Closes the current segment durably and starts the next one with a copy of
   * the hard state, so removing older segments never loses it. A segment is
   * complete and synced before its successor exists: only the last can be torn.
   */
  private async roll(): Promise<void> {
    const previous = this.current;
    if (previous !== null) {
      await this.syncCurrent();
      await previous.close();
    }
    const seq = this.nextSeq++;
    const name = segmentName(seq, this.writtenLastIndex + 1);
    const prev = this.segments[this.segments.length - 1];
    this.current = await this.fs.create(join(this.dir, name));
    this.segments.push({ seq, name, maxIndex: 0, bytes: 0 });
    this.currentBytes = 0;
    this.currentHasRecords = false;
    const preamble = [
      encodeRecord({ type: 'header', seq, prevSeq: prev?.seq ?? 0, prevBytes: prev?.bytes ?? 0 }),
      encodeRecord({ type: 'hardState', hardState: this.writtenHardState }),
    ];
    await this.writeCurrent(concat(preamble, preamble[0]!.length + preamble[1]!.length));
    this.recordsWritten += preamble.length;
    // Durable before anything refers to it (a snapshot naming it) or relies on
    // its hard state copy (removing older segments), and before its name is.
    await this.syncCurrent();
    await this.syncDir();
  }

  private async syncCurrent(): Promise<void> {
    if (this.dirty && this.current !== null) {
      const started = this.now();
      this.dirty = false;
      await this.current.sync();
      this.noteFsync(started);
      this.lastSyncAt = started;
    }
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
   * temp file, fsync, rename, fsync of the directory; then the older snapshot
   * and the segments it covers go. When the log is discarded, a new segment is
   * started first and the snapshot names it, so recovery drops stale entries
   * from the segments before it exactly when this snapshot is the one on disk.
   */
  private async writeSnapshot(snapshot: Snapshot, discardLog: boolean): Promise<void> {
    if (discardLog) await this.roll();
    const discardLogBeforeSeq = discardLog
      ? (this.segments[this.segments.length - 1]?.seq ?? 0)
      : 0;
    const name = snapshotName(snapshot.meta.index);
    const final = join(this.dir, name);
    const temp = final + TEMP_SUFFIX;
    const file = await this.fs.create(temp);
    const bytes = encodeSnapshotFile({ snapshot, discardLogBeforeSeq });
    await file.append(bytes);
    this.bytesWritten += bytes.length;
    const started = this.now();
    await file.sync();
    this.noteFsync(started);
    await file.close();
    await this.fs.rename(temp, final);
    await this.syncDir();
    this.snapshotsSaved++;
    const previous = this.snapshotFile;
    this.snapshotFile = name;
    this.writtenLastIndex = discardLog
      ? snapshot.meta.index
      : Math.max(this.writtenLastIndex, snapshot.meta.index);
    if (previous !== null && previous !== name) await this.fs.unlink(join(this.dir, previous));
    const removed = await this.removeObsoleteSegments(snapshot.meta.index, discardLogBeforeSeq);
    this.log('storage_snapshot_saved', {
      index: snapshot.meta.index,
      term: snapshot.meta.term,
      bytes: bytes.length,
      logDiscarded: discardLog,
      segmentsRemoved: removed.length,
    });
  }

  /**
   * Removes the oldest segments while each holds only entries the snapshot
   * covers (or discarded). Never the current one: it carries the hard state.
   * `covered` is the index of the snapshot on disk, which may trail the one
   * the latest save asked for.
   */
  private async removeObsoleteSegments(
    covered: number,
    discardBeforeSeq: number,
  ): Promise<string[]> {
    const removed: string[] = [];
    while (this.segments.length > 1) {
      const seg = this.segments[0];
      if (seg === undefined || (seg.maxIndex > covered && seg.seq >= discardBeforeSeq)) break;
      await this.fs.unlink(join(this.dir, seg.name));
      this.segments.shift();
      removed.push(seg.name);
    }
    if (removed.length > 0) this.log('storage_segments_removed', { files: removed, upTo: covered });
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
