/**
 * Rebuilding the persisted state at start: every WAL segment is read and
 * checked first; the last snapshot the WAL refers to is loaded; the batches
 * are replayed on top of it. Only then is anything changed on disk, and only
 * what a crash can leave: a torn tail of the last segment, a torn empty last
 * segment, temp files, snapshot files no record refers to. Anything else is a
 * StorageCorruptError and the files are left as they were.
 */
import { join } from 'node:path';
import type { Entry, HardState, Snapshot } from '../raft/types.js';
import { StorageCorruptError } from './errors.js';
import {
  TEMP_SUFFIX,
  decodeSnapshotFile,
  parseSegmentName,
  parseSnapshotName,
  snapshotName,
} from './files.js';
import type { Fs } from './fs.js';
import type { SnapshotRef, WalRecord } from './records.js';
import { scanSegment } from './segment-scan.js';

export type StorageEventLogger = (event: string, fields: Record<string, unknown>) => void;

export const EMPTY_HARD_STATE: HardState = { term: 0, vote: null, commit: 0 };

export interface SegmentInfo {
  readonly seq: number;
  readonly name: string;
  /** Highest entry index written in the segment; 0 if none. */
  maxIndex: number;
  /** Size on disk. */
  bytes: number;
}

export interface TornTail {
  readonly file: string;
  readonly offset: number;
  readonly bytesDropped: number;
  readonly reason: string;
  /** The first log index that may have been in the lost bytes: the recovered last index + 1. */
  readonly index: number;
}

type TornBytes = Omit<TornTail, 'index'>;

export interface RecoveredLog {
  readonly hardState: HardState;
  readonly snapshot: Snapshot | null;
  /** Entries after the snapshot's index, contiguous. */
  readonly entries: Entry[];
  /** Segments on disk after repair, in order. */
  readonly segments: SegmentInfo[];
  /** Segments before this one hold only discarded entries (0: none). */
  readonly discardedBeforeSeq: number;
  readonly nextSeq: number;
  readonly tornTails: TornTail[];
  readonly removedFiles: string[];
  readonly records: number;
}

interface ReadSegment {
  readonly info: SegmentInfo;
  readonly records: { readonly record: WalRecord; readonly offset: number }[];
  /** Set when the tail must be cut at `info.bytes`. */
  readonly torn: TornBytes | null;
}

export async function recoverLog(
  fs: Fs,
  dir: string,
  log: StorageEventLogger,
): Promise<RecoveredLog> {
  await fs.mkdir(dir);
  const names = await fs.readdir(dir);

  const segmentFiles = names
    .map((name) => ({ name, parsed: parseSegmentName(name) }))
    .filter((s): s is { name: string; parsed: { seq: number; index: number } } => s.parsed !== null)
    .sort((a, b) => a.parsed.seq - b.parsed.seq);
  const segments: ReadSegment[] = [];
  let tornEmpty: TornBytes | null = null;
  for (let i = 0; i < segmentFiles.length; i++) {
    const file = segmentFiles[i];
    if (file === undefined) continue;
    const buf = await fs.readFile(join(dir, file.name));
    const isLast = i === segmentFiles.length - 1;
    const read = readSegment(
      file.name,
      file.parsed.seq,
      buf,
      isLast,
      segments.at(-1)?.info ?? null,
    );
    if (read === null) {
      tornEmpty = {
        file: file.name,
        offset: 0,
        bytesDropped: buf.length,
        reason: 'no whole record',
      };
      continue;
    }
    segments.push(read);
  }

  // The snapshot in force is the last one a record refers to. Entries before
  // the last discard are gone, and may lack their predecessors: segments
  // holding only such entries may have been removed.
  let ref: SnapshotRef | null = null;
  let lastDiscard = -1;
  let ordinal = 0;
  for (const s of segments)
    for (const { record } of s.records) {
      if (record.type === 'batch' && record.snapshot !== null) ref = record.snapshot;
      if (record.type === 'batch' && record.discardLog) lastDiscard = ordinal;
      ordinal++;
    }
  const snapshot = ref === null ? null : await loadSnapshot(fs, dir, names, ref);

  const replay = new Replay(ref?.index ?? 0);
  let records = 0;
  for (const s of segments) {
    for (const { record, offset } of s.records) {
      const live = records >= lastDiscard;
      records++;
      if (record.type !== 'batch') continue;
      for (const e of record.entries) s.info.maxIndex = Math.max(s.info.maxIndex, e.index);
      if (record.discardLog) replay.discardedBeforeSeq = s.info.seq;
      if (!live) {
        if (record.hardState !== null) replay.hardState = record.hardState;
        continue;
      }
      const gap = replay.batch(record);
      if (gap !== null) throw new StorageCorruptError(s.info.name, offset, gap);
    }
  }

  // Everything checks out: now repair what a crash leaves.
  const tornTails: TornTail[] = [];
  const removedFiles: string[] = [];
  const remove = async (name: string, reason: string): Promise<void> => {
    await fs.unlink(join(dir, name));
    removedFiles.push(name);
    log('storage_file_removed', { file: name, reason });
  };
  const nextIndex = (ref?.index ?? 0) + replay.entries.length + 1;
  const report = (torn: TornBytes): void => {
    const t: TornTail = { ...torn, index: nextIndex };
    tornTails.push(t);
    log('storage_torn_tail', { ...t });
  };
  for (const s of segments) {
    if (s.torn === null) continue;
    report(s.torn);
    // The cut must be durable before anything is written after it.
    const path = join(dir, s.info.name);
    await fs.truncate(path, s.info.bytes);
    const f = await fs.openAppend(path);
    await f.sync();
    await f.close();
  }
  if (tornEmpty !== null) {
    report(tornEmpty);
    await remove(tornEmpty.file, 'torn segment with no whole record');
  }
  for (const name of names.filter((n) => n.endsWith(TEMP_SUFFIX)))
    await remove(name, 'unfinished snapshot');
  const keep = ref === null ? null : snapshotName(ref.index);
  for (const name of names)
    if (parseSnapshotName(name) !== null && name !== keep)
      await remove(name, 'snapshot not in force');
  if (removedFiles.length > 0) await fs.syncDir(dir);

  const lastSeq = segmentFiles[segmentFiles.length - 1]?.parsed.seq ?? 0;
  return {
    hardState: replay.hardState,
    snapshot,
    entries: replay.entries,
    segments: segments.map((s) => s.info),
    discardedBeforeSeq: replay.discardedBeforeSeq,
    nextSeq: lastSeq + 1,
    tornTails,
    removedFiles,
    records,
  };
}

/**
 * Checks one segment; returns null for a last segment with no whole record
 * (its creation was cut short). Throws StorageCorruptError for damage a crash
 * cannot cause (see segment-scan.ts for the rule).
 */
function readSegment(
  name: string,
  seq: number,
  buf: Uint8Array,
  isLast: boolean,
  prev: SegmentInfo | null,
): ReadSegment | null {
  const scan = scanSegment(buf);
  if (scan.damage !== null) {
    const { offset, reason, validRecordAfter } = scan.damage;
    if (!isLast)
      throw new StorageCorruptError(name, offset, `${reason} in a segment that is not the last`);
    if (validRecordAfter !== null)
      throw new StorageCorruptError(
        name,
        offset,
        `${reason}, followed by a valid record at offset ${validRecordAfter}`,
      );
  }
  const [first, ...rest] = scan.records;
  if (first === undefined) {
    if (!isLast) throw new StorageCorruptError(name, 0, 'empty segment that is not the last');
    return null;
  }
  const header = first.record;
  if (header.type !== 'header' || header.seq !== seq)
    throw new StorageCorruptError(name, 0, 'segment header missing or naming another segment');
  // Compaction removes the oldest segments, so only the first one present may lack its predecessor.
  if (prev !== null && (header.prevSeq !== prev.seq || header.prevBytes !== prev.bytes))
    throw new StorageCorruptError(
      prev.name,
      prev.bytes,
      `the next segment ${name} says it follows segment ${header.prevSeq} ending at byte ` +
        `${header.prevBytes}: a segment is missing or was cut short`,
    );
  for (const { record, offset } of rest)
    if (record.type === 'header')
      throw new StorageCorruptError(name, offset, 'segment header inside a segment');
  const torn =
    scan.damage === null
      ? null
      : {
          file: name,
          offset: scan.validEnd,
          bytesDropped: buf.length - scan.validEnd,
          reason: scan.damage.reason,
        };
  return { info: { seq, name, maxIndex: 0, bytes: scan.validEnd }, records: scan.records, torn };
}

async function loadSnapshot(
  fs: Fs,
  dir: string,
  names: readonly string[],
  ref: SnapshotRef,
): Promise<Snapshot> {
  const name = snapshotName(ref.index);
  if (!names.includes(name))
    throw new StorageCorruptError(
      name,
      0,
      `missing: the log refers to a snapshot at index ${ref.index}`,
    );
  const snapshot = decodeSnapshotFile(name, await fs.readFile(join(dir, name)));
  if (snapshot.meta.index !== ref.index || snapshot.meta.term !== ref.term)
    throw new StorageCorruptError(
      name,
      0,
      `holds index ${snapshot.meta.index} term ${snapshot.meta.term}, the log refers to ${ref.index} term ${ref.term}`,
    );
  return snapshot;
}

/**
 * The log as batches replay into it, relative to the snapshot in force (the
 * last one referred to), whose index `base` is known before replay starts.
 * An entry at index i means "the log now ends at i", so one at or below
 * `base` cuts everything above it; an earlier snapshot reference changes
 * nothing above `base`; a discard drops everything before it.
 */
class Replay {
  hardState: HardState = EMPTY_HARD_STATE;
  entries: Entry[] = [];
  /** Segments before this one hold only entries a discard dropped (0: none). */
  discardedBeforeSeq = 0;

  constructor(private readonly base: number) {}

  /** Returns a description of a gap, or null. */
  batch(record: Extract<WalRecord, { type: 'batch' }>): string | null {
    if (record.discardLog) this.entries = [];
    for (const e of record.entries) {
      if (e.index <= this.base) {
        this.entries = [];
        continue;
      }
      const last = this.base + this.entries.length;
      if (e.index > last + 1) return `entry ${e.index} leaves a gap after index ${last}`;
      this.entries.length = e.index - this.base - 1;
      this.entries.push(e);
    }
    if (record.hardState !== null) this.hardState = record.hardState;
    return null;
  }
}
