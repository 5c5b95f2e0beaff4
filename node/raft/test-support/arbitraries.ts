/** fast-check arbitraries of Raft messages, for codec and robustness tests. */
import fc from 'fast-check';
import type { Message } from '../messages.js';
import { MAX_NUMBER } from '../messages.js';
import type { Entry, EntryKind } from '../types.js';

const id = fc.constantFrom('n1', 'n2', 'n3', 'node-42', 'ü');
const num = fc.integer({ min: 0, max: MAX_NUMBER });
const small = fc.integer({ min: 0, max: 1000 });
const kind = fc.constantFrom<EntryKind>('noop', 'command', 'config');
const data = fc.uint8Array({ maxLength: 300 });

const envelope = fc.record({ from: id, to: id, term: num });

export const entries = (prevIndex: number): fc.Arbitrary<Entry[]> =>
  fc
    .array(fc.record({ term: small, kind, data }), { maxLength: 5 })
    .map((es) => es.map((e, i) => ({ ...e, index: prevIndex + 1 + i })));

export const arbMessage: fc.Arbitrary<Message> = fc.oneof(
  fc
    .record({ env: envelope, pre: fc.boolean(), lastIndex: num, lastTerm: num })
    .map(({ env, ...m }) => ({ ...env, type: 'vote' as const, ...m })),
  fc
    .record({ env: envelope, pre: fc.boolean(), granted: fc.boolean() })
    .map(({ env, ...m }) => ({ ...env, type: 'voteResponse' as const, ...m })),
  fc
    .record({ env: envelope, prevIndex: small, prevTerm: num, commit: num })
    .chain((m) => entries(m.prevIndex).map((es) => ({ ...m, entries: es })))
    .map(({ env, ...m }) => ({ ...env, type: 'append' as const, ...m })),
  fc
    .record({ env: envelope, success: fc.boolean(), index: num, hintIndex: num, hintTerm: num })
    .map(({ env, ...m }) => ({ ...env, type: 'appendResponse' as const, ...m })),
  fc
    .record({ env: envelope, commit: num, round: num })
    .map(({ env, ...m }) => ({ ...env, type: 'heartbeat' as const, ...m })),
  fc
    .record({ env: envelope, round: num })
    .map(({ env, ...m }) => ({ ...env, type: 'heartbeatResponse' as const, ...m })),
  fc
    .record({
      env: envelope,
      prevIndex: num,
      prevTerm: num,
      commit: num,
      entryTerm: num,
      kind,
      data,
      before: small,
      after: small,
    })
    .map(({ env, before, after, ...m }) => ({
      ...env,
      type: 'entryChunk' as const,
      ...m,
      offset: before,
      total: before + m.data.length + after,
    })),
  fc
    .record({ env: envelope, index: num, entryTerm: num, offset: num })
    .map(({ env, ...m }) => ({ ...env, type: 'entryChunkAck' as const, ...m })),
  fc
    .record({
      env: envelope,
      index: num,
      term: num,
      peers: fc.array(id, { maxLength: 7 }),
      data,
      before: small,
      after: small,
    })
    .map(({ env, index, term, peers, data: d, before, after }) => ({
      ...env,
      type: 'snapshotChunk' as const,
      meta: { index, term, peers },
      total: before + d.length + after,
      offset: before,
      data: d,
    })),
  fc
    .record({ env: envelope, index: num, snapshotTerm: num, offset: num })
    .map(({ env, ...m }) => ({ ...env, type: 'snapshotAck' as const, ...m })),
  fc
    .record({ env: envelope, id: num })
    .map(({ env, ...m }) => ({ ...env, type: 'readIndex' as const, ...m })),
  fc
    .record({ env: envelope, id: num, ok: fc.boolean(), index: num })
    .map(({ env, ...m }) => ({ ...env, type: 'readIndexResponse' as const, ...m })),
);
