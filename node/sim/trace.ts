/** One-line descriptions of messages for the simulation's trace. */
import { decodeMessage } from '../raft/codec.js';
import type { Message } from '../raft/messages.js';
import { DecodeError } from '../util/bytes.js';

export function describeMessage(bytes: Uint8Array): string {
  const m = decodeMessage(bytes);
  if (m instanceof DecodeError) return `garbage (${m.message})`;
  return describe(m);
}

export function describe(m: Message): string {
  const t = `t${m.term}`;
  switch (m.type) {
    case 'vote':
      return `${m.pre ? 'prevote' : 'vote'} ${t} last ${m.lastIndex}/${m.lastTerm}`;
    case 'voteResponse':
      return `${m.pre ? 'prevote' : 'vote'}-${m.granted ? 'granted' : 'rejected'} ${t}`;
    case 'append':
      return `append ${t} prev ${m.prevIndex}/${m.prevTerm} n=${m.entries.length} commit ${m.commit}`;
    case 'appendResponse':
      return m.success
        ? `append-ok ${t} ${m.index}`
        : `append-reject ${t} ${m.index} hint ${m.hintIndex}/${m.hintTerm}`;
    case 'heartbeat':
      return `heartbeat ${t} commit ${m.commit} round ${m.round}`;
    case 'heartbeatResponse':
      return `heartbeat-ok ${t} round ${m.round}`;
    case 'entryChunk':
      return `entry-chunk ${t} ${m.prevIndex + 1}/${m.entryTerm} ${m.offset}+${m.data.length}/${m.total}`;
    case 'entryChunkAck':
      return `entry-chunk-ack ${t} ${m.index}/${m.entryTerm} ${m.offset}`;
    case 'snapshotChunk':
      return `snapshot-chunk ${t} ${m.meta.index}/${m.meta.term} ${m.offset}+${m.data.length}/${m.total}`;
    case 'snapshotAck':
      return `snapshot-ack ${t} ${m.index}/${m.snapshotTerm} ${m.offset}`;
    case 'readIndex':
      return `read-index ${t} id ${m.id}`;
    case 'readIndexResponse':
      return `read-index-${m.ok ? 'ok' : 'failed'} ${t} id ${m.id} index ${m.index}`;
  }
}
