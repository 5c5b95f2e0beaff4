/**
 * Ctrl-C handling for commands that change a cluster. The first SIGINT (or
 * SIGTERM) aborts `signal`: the command finishes or rolls back the step it is
 * in, so what is recorded matches what is in force, and then stops. A second
 * one exits at once, for a command that hangs.
 */
export interface Guard {
  readonly signal: AbortSignal;
  /** True once the user asked to stop. */
  readonly interrupted: boolean;
  /** Throws `Interrupted` if the user asked to stop; call between steps. */
  check(): void;
}

export class Interrupted extends Error {
  override readonly name = 'Interrupted';
  constructor(what = 'interrupted') {
    super(what);
  }
}

export async function guarded<T>(
  fn: (guard: Guard) => Promise<T>,
  opts: { readonly onFirst?: () => void } = {},
): Promise<T> {
  const controller = new AbortController();
  let count = 0;
  const handler = (sig: NodeJS.Signals): void => {
    count++;
    if (count === 1) {
      process.stderr.write(
        `raftbed: ${sig}: finishing the current step to leave a consistent state (again to force)\n`,
      );
      opts.onFirst?.();
      controller.abort(new Interrupted());
      return;
    }
    process.stderr.write(`raftbed: ${sig} again: stopping now\n`);
    process.exit(130);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  const guard: Guard = {
    signal: controller.signal,
    get interrupted() {
      return controller.signal.aborted;
    },
    check() {
      if (controller.signal.aborted) throw new Interrupted();
    },
  };
  try {
    return await fn(guard);
  } finally {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  }
}
