/**
 * The filesystem seam: storage does every I/O through `Fs`, so the same code
 * runs on the real disk (`NodeFs`) and on `CrashFs`, which models what a power
 * loss keeps. Only the operations the WAL and snapshots need are here.
 */
import { constants, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

/** A file opened for appending. */
export interface FsFile {
  /** Appends all of `data` at the end of the file. */
  append(data: Uint8Array): Promise<void>;
  /** Makes the file's data durable (fsync). */
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface Fs {
  /** Creates the directory and its parents; no error if it exists. */
  mkdir(dir: string): Promise<void>;
  /** File names (not paths) in `dir`. */
  readdir(dir: string): Promise<string[]>;
  readFile(path: string): Promise<Uint8Array>;
  /** Creates a new file for appending; fails if it exists. */
  create(path: string): Promise<FsFile>;
  /** Opens an existing file for appending. */
  openAppend(path: string): Promise<FsFile>;
  /** Cuts the file to `size` bytes; durable only after a sync of the file. */
  truncate(path: string, size: number): Promise<void>;
  /** Atomically replaces `to`; durable only after `syncDir`. */
  rename(from: string, to: string): Promise<void>;
  /** Durable only after `syncDir`. */
  unlink(path: string): Promise<void>;
  /** Makes creations, renames and unlinks in `dir` durable (fsync of the directory). */
  syncDir(dir: string): Promise<void>;
}

class NodeFile implements FsFile {
  constructor(private readonly fh: FileHandle) {}

  async append(data: Uint8Array): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.fh.write(data, done, data.length - done);
      done += bytesWritten;
    }
  }

  sync(): Promise<void> {
    return this.fh.sync();
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}

/** The real filesystem, through `node:fs/promises`. */
export class NodeFs implements Fs {
  async mkdir(dir: string): Promise<void> {
    await fsp.mkdir(dir, { recursive: true });
  }

  readdir(dir: string): Promise<string[]> {
    return fsp.readdir(dir);
  }

  async readFile(path: string): Promise<Uint8Array> {
    const b = await fsp.readFile(path);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }

  async create(path: string): Promise<FsFile> {
    return new NodeFile(
      await fsp.open(
        path,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_APPEND,
        0o644,
      ),
    );
  }

  async openAppend(path: string): Promise<FsFile> {
    return new NodeFile(await fsp.open(path, constants.O_WRONLY | constants.O_APPEND));
  }

  truncate(path: string, size: number): Promise<void> {
    return fsp.truncate(path, size);
  }

  rename(from: string, to: string): Promise<void> {
    return fsp.rename(from, to);
  }

  unlink(path: string): Promise<void> {
    return fsp.unlink(path);
  }

  async syncDir(dir: string): Promise<void> {
    const fh = await fsp.open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
}
