/**
 * What a client command means on this node: the RESP handler, and the
 * leader's side of forwarded writes.
 *
 * - Writes on the leader are proposed once and answered when their entry is
 *   applied (ProposalTracker); on a follower they are forwarded once to the
 *   leader it knows and the leader's reply is relayed. `-TRYAGAIN` only when
 *   nothing was proposed or forwarded; anything else unconfirmed is `-TIMEOUT`.
 * - Reads go through ReadIndex on every node and are served from the local
 *   state machine once it applied the read index.
 * - A forwarded write that reaches a node which is not the leader is refused
 *   with `-TRYAGAIN`, never forwarded again.
 */
import { encodeProposal, parseRequest, type KvCommand, type Proposal } from '../kv/commands.js';
import { decodeForwardRequest, encodeForwardReply, type Forwarder } from '../kv/forward.js';
import { resp, type RespCommand, type RespValue } from '../kv/resp.js';
import type { KvStateMachine } from '../kv/state-machine.js';
import type { UnsafeMode } from '../config.js';
import type { ReadResult } from '../raft/raft.js';
import type { NodeId, ProposeResult } from '../raft/types.js';
import { DecodeError } from '../util/bytes.js';
import { previewReply } from './preview.js';
import type { ProposalTracker } from './proposals.js';

/** What the service needs of the Raft driver (the `Raft` class has it). */
export interface RaftHandle {
  emit(data: Uint8Array): ProposeResult;
  readIndex(done: (result: ReadResult) => void): void;
  isLeader(): boolean;
  getLeader(): NodeId | null;
}

export interface KvServiceCounters {
  /** GETs received (local clients and forwarded). */
  reads: number;
  readsServed: number;
  /** Answered -TRYAGAIN: no leader, leadership changed, or not confirmed in time. */
  readsFailed: number;
  /** Writes received from local clients. */
  writes: number;
  /** Writes refused with -TRYAGAIN: no leader known. */
  writesNoLeader: number;
  /** Forwarded writes received from followers (as leader or not). */
  forwardsReceived: number;
  /** ... of which this node was not the leader: answered -TRYAGAIN. */
  forwardsRefused: number;
  /** ... of which were a second copy of one already taken: dropped. */
  forwardsDuplicate: number;
  /** Forward datagrams that did not decode. */
  forwardsMalformed: number;
}

export interface KvServiceOptions {
  readonly raft: RaftHandle;
  readonly kv: KvStateMachine;
  readonly proposals: ProposalTracker;
  readonly forwarder: Forwarder;
  /** Sends a forward-reply payload to a follower; false when it certainly did not leave. */
  readonly sendForwardReply: (to: NodeId, payload: Uint8Array) => boolean;
  readonly unsafe: UnsafeMode;
  /** How long a read may wait for its ReadIndex before -TRYAGAIN. */
  readonly readTimeoutMs: number;
  readonly status: () => RespValue;
  readonly info: (section: string | null) => RespValue;
}

/** Forwarded requests remembered to drop a duplicated datagram. */
const SEEN_FORWARDS = 4096;

export class KvService {
  readonly counters: KvServiceCounters = {
    reads: 0,
    readsServed: 0,
    readsFailed: 0,
    writes: 0,
    writesNoLeader: 0,
    forwardsReceived: 0,
    forwardsRefused: 0,
    forwardsDuplicate: 0,
    forwardsMalformed: 0,
  };
  /** early-ack: the reply promised for an index once it is in the leader's own log. */
  private readonly earlyReplies = new Map<number, RespValue>();
  private readonly seenForwards = new Set<string>();

  constructor(private readonly o: KvServiceOptions) {}

  /** The RESP handler: one client command to its reply. */
  handle(args: RespCommand): RespValue | Promise<RespValue> {
    const req = parseRequest(args);
    switch (req.kind) {
      case 'reply':
        return req.reply;
      case 'quit':
        return resp.simple('OK');
      case 'status':
        return this.o.status();
      case 'info':
        return this.o.info(req.section);
      case 'read':
        return this.read(req.key);
      case 'write':
        this.counters.writes++;
        return this.write(req.proposal);
    }
  }

  /** A follower's forwarded write (a `forward` payload) arrived from `from`. */
  onForwardRequest(from: NodeId, payload: Uint8Array): void {
    const req = decodeForwardRequest(payload);
    if (req instanceof DecodeError) {
      this.counters.forwardsMalformed++;
      return;
    }
    this.counters.forwardsReceived++;
    const key = `${from}:${req.requestId}`;
    if (this.seenForwards.has(key)) {
      this.counters.forwardsDuplicate++;
      return;
    }
    this.seenForwards.add(key);
    if (this.seenForwards.size > SEEN_FORWARDS) {
      const oldest = this.seenForwards.values().next();
      if (oldest.done !== true) this.seenForwards.delete(oldest.value);
    }
    const answer = (reply: RespValue): void => {
      this.o.sendForwardReply(from, encodeForwardReply({ requestId: req.requestId, reply }));
    };
    const p = req.proposal;
    if (p instanceof DecodeError) {
      answer(resp.error(`ERR forwarded command not understood: ${p.message}`));
      return;
    }
    if (!this.o.raft.isLeader()) {
      this.counters.forwardsRefused++;
      answer(
        resp.error(`TRYAGAIN forwarded to a node that is not the leader: nothing was proposed`),
      );
      return;
    }
    const result =
      p.command.op === 'get' ? this.read(p.command.key) : this.propose(req.command, p.command);
    if (result instanceof Promise) void result.then(answer);
    else answer(result);
  }

  /**
   * A save made entries up to `lastEntry` durable in this node's log. Only
   * `--unsafe early-ack` acts on it: the leader answers those proposals now.
   */
  saved(lastEntry: number | null): void {
    if (lastEntry === null || this.earlyReplies.size === 0) return;
    for (const [index, reply] of this.earlyReplies) {
      if (index > lastEntry) continue;
      this.earlyReplies.delete(index);
      this.o.proposals.answerEarly(index, reply);
    }
  }

  /** Leadership was lost: promised early replies are moot (the tracker answers the rest). */
  leadershipLost(): void {
    this.earlyReplies.clear();
  }

  private write(proposal: Proposal): RespValue | Promise<RespValue> {
    const bytes = encodeProposal(proposal);
    if (this.o.raft.isLeader()) return this.propose(bytes, proposal.command);
    const leader = this.o.raft.getLeader();
    if (leader === null) {
      this.counters.writesNoLeader++;
      return resp.error('TRYAGAIN no leader known: nothing was proposed or forwarded');
    }
    return this.o.forwarder.forward(leader, bytes);
  }

  /** Proposes `bytes` (encodeProposal's, as-is) once, on the leader. */
  private propose(bytes: Uint8Array, command: KvCommand): RespValue | Promise<RespValue> {
    const r = this.o.raft.emit(bytes);
    if (!r.ok) {
      if (r.reason === 'too-large')
        return resp.error(`ERR command of ${bytes.length} bytes is too large to propose`);
      return resp.error('TRYAGAIN this node is not the leader: nothing was proposed');
    }
    return new Promise<RespValue>((resolve) => {
      this.o.proposals.track(r.index, r.term, resolve);
      if (this.o.unsafe === 'early-ack')
        this.earlyReplies.set(r.index, previewReply(this.o.kv, command, r.index));
    });
  }

  private read(key: Buffer): RespValue | Promise<RespValue> {
    this.counters.reads++;
    if (this.o.unsafe === 'stale-reads') {
      // The planted bug: whatever this replica has applied, leader or not.
      this.counters.readsServed++;
      return resp.bulk(this.o.kv.read(key));
    }
    return new Promise<RespValue>((resolve) => {
      let settled = false;
      const timer = setTimeout(() => {
        settled = true;
        this.counters.readsFailed++;
        resolve(
          resp.error(`TRYAGAIN read not confirmed by the leader within ${this.o.readTimeoutMs} ms`),
        );
      }, this.o.readTimeoutMs);
      timer.unref();
      this.o.raft.readIndex((r) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (r.ok) {
          this.counters.readsServed++;
          resolve(resp.bulk(this.o.kv.read(key)));
        } else {
          this.counters.readsFailed++;
          resolve(resp.error(`TRYAGAIN read not served: ${READ_FAILURES[r.reason]}`));
        }
      });
    });
  }
}

const READ_FAILURES: Record<Extract<ReadResult, { ok: false }>['reason'], string> = {
  'no-leader': 'no leader known',
  'leader-changed': 'the leader changed before the read was confirmed',
  timeout: 'the leader did not confirm the read in time',
};
