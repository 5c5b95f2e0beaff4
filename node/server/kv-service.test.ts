import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { decodeProposal, encodeProposal } from '../kv/commands.js';
import {
  Forwarder,
  ForwardRequestIds,
  decodeForwardReply,
  decodeForwardRequest,
  encodeForwardReply,
  encodeForwardRequest,
} from '../kv/forward.js';
import { resp, type RespValue } from '../kv/resp.js';
import { KvStateMachine } from '../kv/state-machine.js';
import type { UnsafeMode } from '../config.js';
import type { ReadResult } from '../raft/raft.js';
import type { NodeId, ProposeResult } from '../raft/types.js';
import { KvService, type RaftHandle } from './kv-service.js';
import { ProposalTracker } from './proposals.js';

/** A Raft stand-in whose role, leader and answers the test sets. */
class FakeRaft implements RaftHandle {
  leader: NodeId | null = null;
  self = 'n1';
  term = 4;
  last = 10;
  readonly emitted: Uint8Array[] = [];
  readonly reads: Array<(r: ReadResult) => void> = [];
  emit(data: Uint8Array): ProposeResult {
    if (this.leader !== this.self) return { ok: false, reason: 'not-leader', leader: this.leader };
    this.emitted.push(data);
    return { ok: true, index: ++this.last, term: this.term };
  }
  readIndex(done: (r: ReadResult) => void): void {
    this.reads.push(done);
  }
  isLeader(): boolean {
    return this.leader === this.self;
  }
  getLeader(): NodeId | null {
    return this.leader;
  }
}

const args = (...a: string[]): Buffer[] => a.map((s) => Buffer.from(s));

/** The code of an error reply (TRYAGAIN, TIMEOUT, ERR), or null for any other reply. */
function errorCode(v: RespValue | Promise<RespValue>): string | null {
  if (v instanceof Promise) throw new Error('a reply was expected at once');
  return v.type === 'error' ? (v.value.split(' ')[0] ?? '') : null;
}

describe('KvService', () => {
  let raft: FakeRaft;
  let kv: KvStateMachine;
  let proposals: ProposalTracker;
  let forwarded: Array<{ to: NodeId; payload: Uint8Array }>;
  let forwardSendWorks: boolean;
  let forwarder: Forwarder;
  let repliesToFollowers: Array<{ to: NodeId; reply: RespValue; requestId: number }>;

  function service(unsafe: UnsafeMode = 'none'): KvService {
    return new KvService({
      raft,
      kv,
      proposals,
      forwarder,
      sendForwardReply: (to, payload) => {
        const r = decodeForwardReply(payload);
        if (r instanceof Error) throw r;
        repliesToFollowers.push({ to, ...r });
        return true;
      },
      unsafe,
      readTimeoutMs: 1000,
      status: () => resp.simple('status'),
      info: (section) => resp.bulk(`info ${section ?? 'all'}`),
    });
  }

  /** What the leader's state machine would do when `data` commits at `index`. */
  function commit(index: number, term: number, data: Uint8Array): void {
    proposals.applied(index, term, kv.apply(index, data));
  }

  beforeEach(() => {
    vi.useFakeTimers();
    raft = new FakeRaft();
    kv = new KvStateMachine();
    proposals = new ProposalTracker({ deadlineMs: 3000 });
    forwarded = [];
    forwardSendWorks = true;
    repliesToFollowers = [];
    forwarder = new Forwarder({
      send: (to, payload) => {
        if (forwardSendWorks) forwarded.push({ to, payload });
        return forwardSendWorks;
      },
      timeoutMs: 4000,
      ids: new ForwardRequestIds(100),
    });
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('on the leader, proposes a write once and answers with the applied reply', async () => {
    raft.leader = 'n1';
    const svc = service();
    const reply = svc.handle(args('SET', 'k', 'v')) as Promise<RespValue>;
    expect(raft.emitted).toHaveLength(1);
    const data = raft.emitted[0] as Uint8Array;
    expect(decodeProposal(data)).toEqual({
      command: { op: 'set', key: Buffer.from('k'), value: Buffer.from('v') },
      session: null,
    });
    commit(11, 4, data);
    await expect(reply).resolves.toEqual(resp.simple('OK'));
    expect(kv.read(Buffer.from('k'))).toEqual(Buffer.from('v'));
  });

  it('answers -TIMEOUT, not the reply, when another term took the index', async () => {
    raft.leader = 'n1';
    const reply = service().handle(args('SET', 'k', 'v')) as Promise<RespValue>;
    commit(11, 5, raft.emitted[0] as Uint8Array);
    const v = await reply;
    expect(v.type === 'error' && v.value).toMatch(/^TIMEOUT proposed at index 11 in term 4/);
  });

  it('on a follower, forwards once to the leader and relays its reply', async () => {
    raft.leader = 'n2';
    const reply = service().handle(args('CAS', 'k', 'a', 'b')) as Promise<RespValue>;
    expect(raft.emitted).toHaveLength(0);
    expect(forwarded).toHaveLength(1);
    const req = decodeForwardRequest(forwarded[0]?.payload as Uint8Array);
    if (req instanceof Error) throw req;
    expect(forwarded[0]?.to).toBe('n2');
    expect(req.proposal).toMatchObject({ command: { op: 'cas' } });
    forwarder.onReply(
      'n2',
      encodeForwardReply({ requestId: req.requestId, reply: resp.integer(0) }),
    );
    await expect(reply).resolves.toEqual(resp.integer(0));
  });

  it('answers -TRYAGAIN only when nothing was proposed or forwarded', async () => {
    const svc = service();
    const none = svc.handle(args('SET', 'k', 'v'));
    expect(errorCode(none)).toBe('TRYAGAIN');
    raft.leader = 'n3';
    forwardSendWorks = false;
    const unsent = await svc.handle(args('DEL', 'k'));
    expect(errorCode(unsent)).toBe('TRYAGAIN');
    forwardSendWorks = true;
    const lost = svc.handle(args('DEL', 'k')) as Promise<RespValue>;
    await vi.advanceTimersByTimeAsync(4001);
    expect(errorCode(await lost)).toBe('TIMEOUT');
    expect(forwarded).toHaveLength(1);
    expect(raft.emitted).toHaveLength(0);
    expect(svc.counters.writesNoLeader).toBe(1);
  });

  it('as leader, proposes a forwarded write as-is, once even if the datagram comes twice', async () => {
    raft.leader = 'n1';
    const svc = service();
    const command = encodeProposal({
      command: { op: 'set', key: Buffer.from('k'), value: Buffer.from('v') },
      session: { id: 7, seq: 1 },
    });
    const payload = encodeForwardRequest({ requestId: 55, command });
    svc.onForwardRequest('n2', payload);
    svc.onForwardRequest('n2', payload);
    expect(raft.emitted).toEqual([command]);
    expect(svc.counters.forwardsDuplicate).toBe(1);
    commit(11, 4, command);
    await vi.advanceTimersByTimeAsync(0);
    expect(repliesToFollowers).toHaveLength(1);
    expect(repliesToFollowers[0]).toMatchObject({ to: 'n2', requestId: 55 });
    // Session 7 was never opened: every replica answers the same error.
    expect(repliesToFollowers[0]?.reply).toMatchObject({ type: 'error' });
  });

  it('refuses a forwarded write when it is not the leader, never forwarding it again', () => {
    raft.leader = 'n3';
    const svc = service();
    const command = encodeProposal({
      command: { op: 'del', key: Buffer.from('k') },
      session: null,
    });
    svc.onForwardRequest('n2', encodeForwardRequest({ requestId: 9, command }));
    expect(forwarded).toHaveLength(0);
    expect(raft.emitted).toHaveLength(0);
    expect(repliesToFollowers[0]).toMatchObject({ to: 'n2', requestId: 9 });
    expect(errorCode(repliesToFollowers[0]?.reply ?? resp.nil())).toBe('TRYAGAIN');
    svc.onForwardRequest('n2', Uint8Array.from([1, 2, 3]));
    expect(svc.counters.forwardsMalformed).toBe(1);
  });

  it('serves a read after ReadIndex confirms it, and -TRYAGAIN when it fails', async () => {
    raft.leader = 'n2';
    kv.apply(
      1,
      encodeProposal({
        command: { op: 'set', key: Buffer.from('k'), value: Buffer.from('v') },
        session: null,
      }),
    );
    const svc = service();
    const ok = svc.handle(args('GET', 'k')) as Promise<RespValue>;
    const failed = svc.handle(args('GET', 'k')) as Promise<RespValue>;
    expect(raft.reads).toHaveLength(2);
    raft.reads[0]?.({ ok: true, index: 1 });
    raft.reads[1]?.({ ok: false, reason: 'leader-changed' });
    await expect(ok).resolves.toEqual(resp.bulk(Buffer.from('v')));
    expect(errorCode(await failed)).toBe('TRYAGAIN');
    const late = svc.handle(args('GET', 'k')) as Promise<RespValue>;
    await vi.advanceTimersByTimeAsync(1001);
    expect(errorCode(await late)).toBe('TRYAGAIN');
    raft.reads[2]?.({ ok: true, index: 1 }); // too late: ignored
    expect(svc.counters).toMatchObject({ reads: 3, readsServed: 1, readsFailed: 2 });
  });

  it('with --unsafe stale-reads, answers GET from local state without ReadIndex', () => {
    const svc = service('stale-reads');
    expect(svc.handle(args('GET', 'k'))).toEqual(resp.bulk(null));
    expect(raft.reads).toHaveLength(0);
  });

  it("with --unsafe early-ack, answers once the entry is in the leader's own log", async () => {
    raft.leader = 'n1';
    const svc = service('early-ack');
    kv.apply(
      1,
      encodeProposal({
        command: { op: 'set', key: Buffer.from('k'), value: Buffer.from('a') },
        session: null,
      }),
    );
    const reply = svc.handle(args('CAS', 'k', 'a', 'b')) as Promise<RespValue>;
    let settled: RespValue | null = null;
    void reply.then((v) => (settled = v));
    svc.saved(10); // an earlier save: not this entry
    await vi.advanceTimersByTimeAsync(0);
    expect(settled).toBeNull();
    svc.saved(11);
    await vi.advanceTimersByTimeAsync(0);
    expect(settled).toEqual(resp.integer(1));
    expect(proposals.counters.earlyAcked).toBe(1);
    // Its later fate changes nothing for the client.
    proposals.leadershipLost();
    await expect(reply).resolves.toEqual(resp.integer(1));
  });

  it('answers PING, RAFT.STATUS, INFO and bad commands at once', () => {
    const svc = service();
    expect(svc.handle(args('PING'))).toEqual(resp.simple('PONG'));
    expect(svc.handle(args('RAFT.STATUS'))).toEqual(resp.simple('status'));
    expect(svc.handle(args('INFO', 'Raft'))).toEqual(resp.bulk('info raft'));
    expect(svc.handle(args('FLUSHALL'))).toMatchObject({ type: 'error' });
    expect(raft.emitted).toHaveLength(0);
  });
});
