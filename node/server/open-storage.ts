/**
 * Opening the data directory at start: recovery, its log lines (`wal-truncated`
 * for a torn tail, then `recovered`), and the storage events logged while the
 * node runs (compaction, a failed write). Damage that storage will not repair
 * becomes the one line the node refuses to start with.
 */
import { join } from 'node:path';
import type { NodeConfig } from '../config.js';
import type { NodeLogger } from '../log.js';
import { StorageCorruptError } from '../storage/errors.js';
import { WalStorage } from '../storage/wal-storage.js';

/** The opened storage, or why the node must not start (one line naming file and offset). */
export async function openStorage(c: NodeConfig, logger: NodeLogger): Promise<WalStorage | string> {
  let running = false;
  let storage: WalStorage;
  try {
    storage = await WalStorage.open({
      dir: c.data,
      fsync: c.fsync,
      unsafeLazyWal: c.unsafe === 'lazy-wal',
      onEvent: (event, fields) => {
        if (!running) return; // recovery is reported below, from its summary
        if (event === 'storage_segments_removed' && typeof fields.upTo === 'number')
          logger.log({ event: 'wal-truncated', reason: 'compaction', index: fields.upTo });
        else if (event === 'storage_failed')
          logger.log({ event: 'error', message: String(fields.error), where: 'storage' });
      },
    });
  } catch (err) {
    if (err instanceof StorageCorruptError)
      return err.message.replace(err.file, join(c.data, err.file));
    const why = err instanceof Error ? err.message : String(err);
    return `cannot open the data directory ${c.data}: ${why}`;
  }
  const recovered = await storage.load();
  logger.term = recovered.hardState.term;
  for (const t of storage.recovery.tornTails) {
    logger.log({
      event: 'wal-truncated',
      reason: 'torn-tail',
      index: t.index,
      file: join(c.data, t.file),
      offset: t.offset,
      bytes: t.bytesDropped,
    });
  }
  logger.log({
    event: 'recovered',
    snapshotIndex: recovered.snapshot?.meta.index ?? 0,
    snapshotTerm: recovered.snapshot?.meta.term ?? 0,
    firstIndex: storage.firstIndex,
    lastIndex: storage.lastIndex,
    commit: recovered.hardState.commit,
    vote: recovered.hardState.vote,
    ms: Math.round(storage.recovery.ms * 10) / 10,
  });
  running = true;
  return storage;
}
