/**
 * Event lists as the test oracles read them: each completion paired with the open
 * invocation of its process, written apart from the checker's readers.
 */

/** An invocation, its completion (undefined: never completed) and their places in the list. */
export interface Call<E> {
  readonly invoke: E;
  readonly call: number;
  readonly completion: E | undefined;
  /** -1 when it never completed. */
  readonly ret: number;
}

/** The invocations of `events`, in order, each with its completion. */
export function pairCalls<E extends { readonly process: number; readonly type: string }>(
  events: readonly E[],
): Call<E>[] {
  const calls: { invoke: E; call: number; completion: E | undefined; ret: number }[] = [];
  const open = new Map<number, (typeof calls)[number]>();
  events.forEach((e, at) => {
    if (e.type === 'invoke') {
      const c = { invoke: e, call: at, completion: undefined, ret: -1 };
      calls.push(c);
      open.set(e.process, c);
      return;
    }
    const c = open.get(e.process);
    if (c === undefined) throw new Error('completion without invocation');
    open.delete(e.process);
    c.completion = e;
    c.ret = at;
  });
  return calls;
}
