/**
 * Rebuilding the persisted state at start: the newest snapshot plus the WAL
 * segments replayed in order. Repairs only what a crash can leave (a torn tail
 * of the last segment, a torn empty last segment, temp files, files a
 * compaction had not yet removed); anything else is StorageCorruptError.
 */
import { join } from 'node:path';
import type { Entry, HardState } from '../raft/types.js';
import { StorageCorruptError } from './errors.js';
import { TEMP_SUFFIX, decodeSnapshotFile, parseSegmentName, parseSnapshotName } from './files.js';
import type { SnapshotFile } from './files.js';
import type { Fs } from './fs.js';
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
}

export interface RecoveredLog {
  readonly hardState: HardState;
  readonly snapshot: SnapshotFile | null;
  readonly snapshotName: string | null;
  /** Entries after the snapshot's index, contiguous. */
  readonly entries: Entry[];
  /** Segments on disk after repair, in order. */
  readonly segments: SegmentInfo[];
  readonly tornTails: TornTail[];
  readonly removedFiles: string[];
  readonly records: number;
  /**
   * Sequence number for the next segment: past every segment seen, and at
   * least the first segment the snapshot says was written after it.
   */
  readonly nextSeq: number;
}

export async function recoverLog(
  fs: Fs,
  dir: string,
  log: StorageEventLogger,
): Promise<RecoveredLog> {
  await fs.mkdir(dir);
  const names = await fs.readdir(dir);
  const removedFiles: string[] = [];
  const remove = async (name: string, reason: string): Promise<void> => {
    await fs.unlink(join(dir, name));
    removedFiles.push(name);
    log('storage_file_removed', { file: name, reason });
  };

  for (const name of names.filter((n) => n.endsWith(TEMP_SUFFIX)))
    await remove(name, 'unfinished snapshot');

  const snapshots = names
    .map((name) => ({ name, index: parseSnapshotName(name) }))
    .filter((s): s is { name: string; index: number } => s.index !== null)
    .sort((a, b) => b.index - a.index);
  let snapshot: SnapshotFile | null = null;
  const newest = snapshots[0];
  if (newest !== undefined) {
    snapshot = decodeSnapshotFile(newest.name, await fs.readFile(join(dir, newest.name)));
    if (snapshot.snapshot.meta.index !== newest.index)
      throw new StorageCorruptError(
        newest.name,
        0,
        `holds index ${snapshot.snapshot.meta.index}, not the index in its name`,
      );
    for (const old of snapshots.slice(1)) await remove(old.name, 'older snapshot');
  }

  const segmentFiles = names
    .map((name) => ({ name, parsed: parseSegmentName(name) }))
    .filter((s): s is { name: string; parsed: { seq: number; index: number } } => s.parsed !== null)
    .sort((a, b) => a.parsed.seq - b.parsed.seq);
  for (let i = 1; i < segmentFiles.length; i++) {
    const [a, b] = [segmentFiles[i - 1], segmentFiles[i]];
    if (a !== undefined && b !== undefined && a.parsed.seq === b.parsed.seq)
      throw new StorageCorruptError(b.name, 0, `two segments with sequence number ${b.parsed.seq}`);
  }

  const replay = new Replay(snapshot);
  const segments: SegmentInfo[] = [];
  const tornTails: TornTail[] = [];
  let records = 0;
  for (let i = 0; i < segmentFiles.length; i++) {
    const file = segmentFiles[i];
    if (file === undefined) continue;
    const isLast = i === segmentFiles.length - 1;
    const path = join(dir, file.name);
    const buf = await fs.readFile(path);
    const scan = scanSegment(buf);
    if (scan.damage !== null) {
      const { offset, reason, validRecordAfter } = scan.damage;
      if (!isLast)
        throw new StorageCorruptError(
          file.name,
          offset,
          `${reason} in a segment that is not the last`,
        );
      if (validRecordAfter !== null)
        throw new StorageCorruptError(
          file.name,
          offset,
          `${reason}, followed by a valid record at offset ${validRecordAfter}`,
        );
    }
    const [first, ...rest] = scan.records;
    if (first === undefined) {
      // Only a torn last segment can have no whole record: its creation was cut short.
      if (!isLast)
        throw new StorageCorruptError(file.name, 0, 'empty segment that is not the last');
      tornTails.push(tornTail(file.name, 0, buf.length, scan.damage?.reason ?? 'empty file', log));
      await remove(file.name, 'torn empty segment');
      continue;
    }
    const header = first.record;
    if (header.type !== 'header' || header.seq !== file.parsed.seq)
      throw new StorageCorruptError(
        file.name,
        0,
        'segment header missing or naming another segment',
      );
    // Compaction removes the oldest segments, so only the first one present may lack its predecessor.
    const prev = segments[segments.length - 1];
    if (prev !== undefined && (header.prevSeq !== prev.seq || header.prevBytes !== prev.bytes))
      throw new StorageCorruptError(
        prev.name,
        prev.bytes,
        `the next segment ${file.name} says it follows segment ${header.prevSeq} ending at byte ` +
          `${header.prevBytes}: a segment is missing or was cut short`,
      );

    const info: SegmentInfo = {
      seq: file.parsed.seq,
      name: file.name,
      maxIndex: 0,
      bytes: scan.validEnd,
    };
    replay.enterSegment(info.seq);
    for (const { record, offset } of rest) {
      if (record.type === 'header')
        throw new StorageCorruptError(file.name, offset, 'segment header inside a segment');
      if (record.type === 'hardState') replay.hardState = record.hardState;
      else {
        info.maxIndex = Math.max(info.maxIndex, record.entry.index);
        const gap = replay.entry(record.entry);
        if (gap !== null) throw new StorageCorruptError(file.name, offset, gap);
      }
    }
    records += scan.records.length;
    segments.push(info);

    if (scan.damage !== null) {
      const dropped = buf.length - scan.validEnd;
      tornTails.push(tornTail(file.name, scan.validEnd, dropped, scan.damage.reason, log));
      // The cut must be durable before anything is written after it.
      await fs.truncate(path, scan.validEnd);
      const f = await fs.openAppend(path);
      await f.sync();
      await f.close();
    }
  }
  const lastSeq = segmentFiles[segmentFiles.length - 1]?.parsed.seq ?? 0;
  const nextSeq = Math.max(lastSeq + 1, snapshot?.discardLogBeforeSeq ?? 0);
  if (removedFiles.some((n) => parseSegmentName(n) !== null)) await fs.syncDir(dir);

  return {
    hardState: replay.hardState,
    snapshot,
    snapshotName: newest?.name ?? null,
    entries: replay.entries,
    segments,
    tornTails,
    removedFiles,
    records,
    nextSeq,
  };
}

function tornTail(
  file: string,
  offset: number,
  bytesDropped: number,
  reason: string,
  log: StorageEventLogger,
): TornTail {
  log('storage_torn_tail', { file, offset, bytesDropped, reason });
  return { file, offset, bytesDropped, reason };
}

/**
 * The log as records replay into it. An entry record at index i means "the log
 * now ends at i" (an append truncates the suffix it conflicts with); entries at
 * or below the snapshot's index only cut what lies above the snapshot. When the
 * snapshot discarded the log, entries in segments written before it are
 * skipped: they are all gone, and the segments holding their predecessors may
 * already have been removed.
 */
class Replay {
  hardState: HardState = EMPTY_HARD_STATE;
  entries: Entry[] = [];
  private readonly base: number;
  private readonly discardBeforeSeq: number;
  private skipping: boolean;

  constructor(snapshot: SnapshotFile | null) {
    this.base = snapshot?.snapshot.meta.index ?? 0;
    this.discardBeforeSeq = snapshot?.discardLogBeforeSeq ?? 0;
    this.skipping = this.discardBeforeSeq > 0;
  }

  enterSegment(seq: number): void {
    this.skipping = seq < this.discardBeforeSeq;
  }

  /** Returns a description of a gap, or null. */
  entry(e: Entry): string | null {
    if (this.skipping) return null;
    if (e.index <= this.base) {
      this.entries = [];
      return null;
    }
    const last = this.base + this.entries.length;
    if (e.index > last + 1) return `entry ${e.index} leaves a gap after index ${last}`;
    this.entries.length = e.index - this.base - 1;
    this.entries.push(e);
    return null;
  }
}
