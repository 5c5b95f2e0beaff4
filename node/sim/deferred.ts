/**
 * A promise-like that settles synchronously when told to. The simulated disk
 * returns these from `save`, so the driver's continuation runs at the exact
 * simulated moment the write completes: no microtask queue, no nondeterminism,
 * and a crash simply never settles it.
 */
type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

export class SyncDeferred<T> implements PromiseLike<T> {
  private settled: Settled<T> | null = null;
  private handlers: Array<(s: Settled<T>) => void> = [];

  static resolved<T>(value: T): SyncDeferred<T> {
    const d = new SyncDeferred<T>();
    d.resolve(value);
    return d;
  }

  resolve(value: T): void {
    this.settle({ ok: true, value });
  }

  reject(error: unknown): void {
    this.settle({ ok: false, error });
  }

  private settle(s: Settled<T>): void {
    if (this.settled !== null) return;
    this.settled = s;
    const handlers = this.handlers;
    this.handlers = [];
    for (const h of handlers) h(s);
  }

  then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): PromiseLike<R1 | R2> {
    const next = new SyncDeferred<R1 | R2>();
    const handle = (s: Settled<T>): void => {
      try {
        if (s.ok) {
          if (onFulfilled) next.resolve(onFulfilled(s.value) as R1);
          else next.resolve(s.value as unknown as R1);
        } else if (onRejected) {
          next.resolve(onRejected(s.error) as R2);
        } else {
          next.reject(s.error);
        }
      } catch (err) {
        next.reject(err);
      }
    };
    if (this.settled !== null) handle(this.settled);
    else this.handlers.push(handle);
    return next;
  }
}
