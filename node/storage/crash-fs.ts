/**
 * An in-memory `Fs` that models the page cache, for power-loss tests and the
 * simulator. It is deterministic given its Prng.
 *
 * The model:
 * - A file's data is durable up to its last `sync()`. Writes and truncations
 *   after that are pending; at a crash each file keeps an in-order prefix of
 *   its pending operations, and optionally a torn piece of the next write
 *   (a prefix of it, possibly followed by zeros or garbage where the rest would be).
 * - Creations, renames and unlinks are pending until a `syncDir()`, which (like
 *   a journalled filesystem's commit) makes every earlier one durable. At a
 *   crash an in-order prefix of the pending ones survives.
 * - Directories made by `mkdir` are durable at once (storage creates its
 *   directory only at start).
 * - `crashAfter(n)` arms a crash at the n-th operation from now: that operation
 *   may or may not take effect, it and every later call reject with
 *   `CrashedError` (the process is gone), and `reboot()` then applies the
 *   power loss and lets a new process in. Handles from before are dead.
 */
import { posix } from 'node:path';
import type { Prng } from '../util/prng.js';
import type { Fs, FsFile } from './fs.js';

export class CrashedError extends Error {
  override readonly name = 'CrashedError';
  constructor(what: string) {
    super(`simulated crash: ${what} did not complete`);
  }
}

/** Errors shaped like node's, with a `code`. */
export class FsError extends Error {
  override readonly name = 'FsError';
  constructor(
    readonly code: 'ENOENT' | 'EEXIST' | 'EBADF',
    what: string,
  ) {
    super(`${code}: ${what}`);
  }
}

type DataOp =
  | { readonly kind: 'write'; readonly offset: number; readonly bytes: Uint8Array }
  | { readonly kind: 'truncate'; readonly size: number };

type MetaOp =
  | { readonly kind: 'link'; readonly path: string; readonly inode: number }
  | { readonly kind: 'unlink'; readonly path: string }
  | { readonly kind: 'rename'; readonly from: string; readonly to: string };

interface Inode {
  /** Current contents: a prefix view of `room`. */
  data: Uint8Array;
  /** Contents as of the last sync; never written through again. */
  durable: Uint8Array;
  pending: DataOp[];
  /** Spare capacity behind `data`, so appends are not a copy of the file each. */
  room: Uint8Array;
}

function newInode(data: Uint8Array): Inode {
  return { data, durable: data, pending: [], room: data };
}

/**
 * Appends in place when there is room. Safe for `durable`: a durable view ends
 * at or before the current length (a truncation copies), and appends only
 * write past it.
 */
function appendData(inode: Inode, bytes: Uint8Array): void {
  const len = inode.data.length;
  if (inode.room.length < len + bytes.length) {
    const room = new Uint8Array(Math.max(256, 2 * inode.room.length, len + bytes.length));
    room.set(inode.data);
    inode.room = room;
  }
  inode.room.set(bytes, len);
  inode.data = inode.room.subarray(0, len + bytes.length);
}

export interface CrashFsOptions {
  /** Leave a torn piece of a write that was in progress at a crash (default true). */
  readonly tornWrites?: boolean;
}

/** How many calls of each kind reached the filesystem. */
export interface CrashFsCounts {
  sync: number;
  syncDir: number;
  append: number;
  ops: number;
}

export class CrashFs implements Fs {
  private readonly inodes = new Map<number, Inode>();
  private names = new Map<string, number>();
  private durableNames = new Map<string, number>();
  private pendingMeta: MetaOp[] = [];
  private readonly dirs = new Set<string>(['/', '.']);
  private nextInode = 1;
  private epoch = 0;
  private crashIn: number | null = null;
  private crashed = false;
  private readonly tornWrites: boolean;
  readonly counts: CrashFsCounts = { sync: 0, syncDir: 0, append: 0, ops: 0 };

  constructor(
    private readonly prng: Prng,
    options: CrashFsOptions = {},
  ) {
    this.tornWrites = options.tornWrites ?? true;
  }

  /** Arms a crash at the n-th filesystem operation from now (n >= 1). */
  crashAfter(n: number): void {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`crashAfter(${n})`);
    this.crashIn = n;
  }

  /** Cancels an armed crash. */
  disarm(): void {
    this.crashIn = null;
  }

  /** Crashes now: every later call rejects until `reboot()`. */
  crashNow(): void {
    this.crashed = true;
    this.crashIn = null;
  }

  get isCrashed(): boolean {
    return this.crashed;
  }

  /**
   * The filesystem as one process sees it: after the next crash every call
   * through it fails, so a process that was "killed" cannot write into the
   * world after the reboot. Give each storage instance its own.
   */
  process(): Fs {
    const epoch = this.epoch;
    return {
      mkdir: (dir) => this.op(`mkdir ${dir}`, () => this.doMkdir(dir), epoch),
      readdir: (dir) => this.op(`readdir ${dir}`, () => this.doReaddir(dir), epoch),
      readFile: (path) => this.op(`read ${path}`, () => this.doReadFile(path), epoch),
      create: (path) => this.op(`create ${path}`, () => this.doCreate(path), epoch),
      openAppend: (path) =>
        this.op(`open ${path}`, () => this.handle(this.lookup(path), path), epoch),
      truncate: (path, size) =>
        this.op(`truncate ${path}`, () => this.doTruncate(path, size), epoch),
      rename: (from, to) => this.op(`rename ${from}`, () => this.doRename(from, to), epoch),
      unlink: (path) => this.op(`unlink ${path}`, () => this.doUnlink(path), epoch),
      syncDir: (dir) => this.op(`fsync ${dir}`, () => this.doSyncDir(), epoch),
    };
  }

  /** Power loss: keeps only what the model says survives, then lets a new process in. */
  reboot(): void {
    const metaKept = this.prng.int(0, this.pendingMeta.length);
    const names = new Map(this.durableNames);
    for (const op of this.pendingMeta.slice(0, metaKept)) applyMeta(names, op);
    this.names = names;
    this.durableNames = new Map(names);
    this.pendingMeta = [];

    const live = new Set(names.values());
    for (const [id, inode] of [...this.inodes]) {
      if (!live.has(id)) {
        this.inodes.delete(id);
        continue;
      }
      const data = this.survivingData(inode);
      Object.assign(inode, newInode(data));
    }
    this.crashed = false;
    this.crashIn = null;
    this.epoch++;
  }

  private survivingData(inode: Inode): Uint8Array {
    const kept = this.prng.int(0, inode.pending.length);
    let data = inode.durable;
    for (const op of inode.pending.slice(0, kept)) data = applyData(data, op);
    const next = inode.pending[kept];
    if (
      this.tornWrites &&
      next?.kind === 'write' &&
      next.bytes.length > 1 &&
      this.prng.chance(0.5)
    ) {
      const prefix = this.prng.int(0, next.bytes.length - 1);
      const torn = new Uint8Array(this.prng.int(prefix, next.bytes.length));
      torn.set(next.bytes.subarray(0, prefix));
      // Sectors past the torn point read back as zeros or as garbage.
      if (this.prng.chance(0.5))
        for (let i = prefix; i < torn.length; i++) torn[i] = this.prng.int(0, 255);
      if (torn.length > 0)
        data = applyData(data, { kind: 'write', offset: next.offset, bytes: torn });
    }
    return data;
  }

  /** The current (not necessarily durable) contents of every file, by path. */
  files(): Map<string, Uint8Array> {
    const out = new Map<string, Uint8Array>();
    for (const [path, id] of this.names) out.set(path, this.inode(id).data.slice());
    return out;
  }

  /** Puts a file in place, durable, bypassing crash injection (for building test cases). */
  putDurable(path: string, data: Uint8Array): void {
    const p = norm(path);
    this.dirs.add(posix.dirname(p));
    const id = this.names.get(p) ?? this.nextInode++;
    this.inodes.set(id, newInode(data.slice()));
    this.names.set(p, id);
    this.durableNames.set(p, id);
  }

  /** Removes a file at once and durably (for building test cases). */
  removeDurable(path: string): void {
    const p = norm(path);
    this.names.delete(p);
    this.durableNames.delete(p);
  }

  private inode(id: number): Inode {
    const inode = this.inodes.get(id);
    if (inode === undefined) throw new Error(`inode ${id} missing`);
    return inode;
  }

  /**
   * Every call passes here: it yields to the event loop's microtasks (so
   * concurrent callers interleave), counts, and applies an armed crash.
   */
  private async op<T>(what: string, effect: () => T, epoch: number | null = null): Promise<T> {
    await Promise.resolve();
    if (this.crashed || (epoch !== null && epoch !== this.epoch)) throw new CrashedError(what);
    this.counts.ops++;
    if (this.crashIn !== null && --this.crashIn <= 0) {
      // The operation may have reached the disk before the power went.
      if (this.prng.chance(0.5)) {
        try {
          effect();
        } catch {
          // its failure is moot: nobody is left to see it
        }
      }
      this.crashNow();
      throw new CrashedError(what);
    }
    return effect();
  }

  mkdir(dir: string): Promise<void> {
    return this.op(`mkdir ${dir}`, () => this.doMkdir(dir));
  }

  readdir(dir: string): Promise<string[]> {
    return this.op(`readdir ${dir}`, () => this.doReaddir(dir));
  }

  readFile(path: string): Promise<Uint8Array> {
    return this.op(`read ${path}`, () => this.doReadFile(path));
  }

  create(path: string): Promise<FsFile> {
    return this.op(`create ${path}`, () => this.doCreate(path));
  }

  openAppend(path: string): Promise<FsFile> {
    return this.op(`open ${path}`, () => this.handle(this.lookup(path), path));
  }

  truncate(path: string, size: number): Promise<void> {
    return this.op(`truncate ${path}`, () => this.doTruncate(path, size));
  }

  rename(from: string, to: string): Promise<void> {
    return this.op(`rename ${from}`, () => this.doRename(from, to));
  }

  unlink(path: string): Promise<void> {
    return this.op(`unlink ${path}`, () => this.doUnlink(path));
  }

  syncDir(dir: string): Promise<void> {
    return this.op(`fsync ${dir}`, () => this.doSyncDir());
  }

  private doMkdir(dir: string): void {
    let d = norm(dir);
    while (!this.dirs.has(d)) {
      this.dirs.add(d);
      d = posix.dirname(d);
    }
  }

  private doReaddir(dir: string): string[] {
    const d = norm(dir);
    if (!this.dirs.has(d)) throw new FsError('ENOENT', `readdir ${dir}`);
    const out: string[] = [];
    for (const path of this.names.keys())
      if (posix.dirname(path) === d) out.push(posix.basename(path));
    return out.sort();
  }

  private doReadFile(path: string): Uint8Array {
    return this.inode(this.lookup(path)).data.slice();
  }

  private lookup(path: string): number {
    const id = this.names.get(norm(path));
    if (id === undefined) throw new FsError('ENOENT', path);
    return id;
  }

  private doCreate(path: string): FsFile {
    const p = norm(path);
    if (!this.dirs.has(posix.dirname(p))) throw new FsError('ENOENT', `create ${path}`);
    if (this.names.has(p)) throw new FsError('EEXIST', `create ${path}`);
    const id = this.nextInode++;
    this.inodes.set(id, newInode(new Uint8Array(0)));
    this.names.set(p, id);
    this.pendingMeta.push({ kind: 'link', path: p, inode: id });
    return this.handle(id, path);
  }

  private doTruncate(path: string, size: number): void {
    const inode = this.inode(this.lookup(path));
    const op: DataOp = { kind: 'truncate', size };
    inode.data = applyData(inode.data, op);
    inode.room = inode.data;
    inode.pending.push(op);
  }

  private doRename(from: string, to: string): void {
    const op: MetaOp = { kind: 'rename', from: norm(from), to: norm(to) };
    this.lookup(from);
    applyMeta(this.names, op);
    this.pendingMeta.push(op);
  }

  private doUnlink(path: string): void {
    const p = norm(path);
    this.lookup(p);
    this.names.delete(p);
    this.pendingMeta.push({ kind: 'unlink', path: p });
  }

  private doSyncDir(): void {
    this.counts.syncDir++;
    this.durableNames = new Map(this.names);
    this.pendingMeta = [];
  }

  private handle(id: number, path: string): FsFile {
    const epoch = this.epoch;
    // A handle from before a crash belongs to a dead process: `op` refuses it.
    let closed = false;
    const open = (what: string): Inode => {
      if (closed) throw new FsError('EBADF', `${what} ${path}: closed`);
      return this.inode(id);
    };
    return {
      append: (data) =>
        this.op(
          `write ${path}`,
          () => {
            const inode = open('write');
            this.counts.append++;
            const op: DataOp = { kind: 'write', offset: inode.data.length, bytes: data.slice() };
            appendData(inode, op.bytes);
            inode.pending.push(op);
          },
          epoch,
        ),
      sync: () =>
        this.op(
          `fsync ${path}`,
          () => {
            const inode = open('fsync');
            this.counts.sync++;
            inode.durable = inode.data;
            inode.pending = [];
          },
          epoch,
        ),
      close: () =>
        this.op(
          `close ${path}`,
          () => {
            open('close');
            closed = true;
          },
          epoch,
        ),
    };
  }
}

function norm(path: string): string {
  return posix.normalize(path);
}

function applyMeta(names: Map<string, number>, op: MetaOp): void {
  switch (op.kind) {
    case 'link':
      names.set(op.path, op.inode);
      return;
    case 'unlink':
      names.delete(op.path);
      return;
    case 'rename': {
      const id = names.get(op.from);
      if (id === undefined) return;
      names.delete(op.from);
      names.set(op.to, id);
      return;
    }
  }
}

function applyData(data: Uint8Array, op: DataOp): Uint8Array {
  if (op.kind === 'truncate') {
    if (op.size <= data.length) return data.slice(0, op.size);
    const out = new Uint8Array(op.size);
    out.set(data);
    return out;
  }
  const end = op.offset + op.bytes.length;
  const out = new Uint8Array(Math.max(data.length, end));
  out.set(data);
  out.set(op.bytes, op.offset);
  return out;
}
