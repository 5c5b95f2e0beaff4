/** Damage found at start that storage will not repair: the node must not start. */
export class StorageCorruptError extends Error {
  override readonly name = 'StorageCorruptError';
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(
      `storage corrupt: ${file} at offset ${offset}: ${reason}; refusing to start ` +
        '(restore the data directory from a healthy replica or wipe it to rejoin empty)',
    );
  }
}

/**
 * An I/O error while writing: storage stops taking writes, since what reached
 * the disk is no longer known. The node should exit and recover on restart.
 */
export class StorageFailedError extends Error {
  override readonly name = 'StorageFailedError';
  constructor(what: string, options?: { cause: unknown }) {
    super(`storage failed: ${what}`, options);
  }
}
