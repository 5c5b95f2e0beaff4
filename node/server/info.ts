/**
 * The sections of INFO, from the counters each part of the node keeps. Field
 * names are Redis style (lower case, underscores); the README lists them.
 */
import type { Forwarder } from '../kv/forward.js';
import type { RespServerCounters } from '../kv/server.js';
import type { InfoSections } from '../kv/status.js';
import type { RaftProgress } from '../raft/raft.js';
import type { StorageMetrics } from '../storage/metrics.js';
import {
  DROP_REASONS,
  SEND_FAILURES,
  droppedTotal,
  type TransportCounters,
} from '../transport/udp.js';
import type { KvServiceCounters } from './kv-service.js';
import type { ProposalCounters } from './proposals.js';
import { logRole, type RaftEventCounters } from './raft-events.js';

export interface InfoSources {
  readonly server: {
    readonly id: string;
    readonly boot: string;
    readonly version: string;
    readonly clusterId: string;
    readonly uptimeMs: number;
    readonly fsync: string;
    readonly unsafe: string;
    readonly raftAddress: string;
    readonly clientAddress: string;
  };
  readonly clients: { readonly connected: number; readonly counters: RespServerCounters };
  readonly raft: RaftProgress;
  readonly events: RaftEventCounters;
  readonly proposals: ProposalCounters;
  readonly service: KvServiceCounters;
  readonly forwarder: Forwarder;
  readonly transport: TransportCounters;
  readonly storage: StorageMetrics;
  /** Save latency percentiles (ms) as the driver sees them: write plus fsync. */
  readonly persist: { readonly p50: number; readonly p99: number; readonly saves: number };
  readonly keys: number;
  readonly sessions: number;
}

function ms(v: number): string {
  return v.toFixed(3);
}

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`).replace(/-/g, '_');
}

export function infoSections(s: InfoSources): InfoSections {
  const t = s.transport;
  const raftDropped = Object.values(s.events.dropped).reduce((a, b) => a + b, 0);
  const fwd = s.forwarder.counters;
  return {
    Server: {
      id: s.server.id,
      boot: s.server.boot,
      version: s.server.version,
      cluster_id: s.server.clusterId,
      uptime_in_seconds: Math.floor(s.server.uptimeMs / 1000),
      raft_address: s.server.raftAddress,
      client_address: s.server.clientAddress,
      fsync: s.server.fsync,
      unsafe: s.server.unsafe,
    },
    Clients: {
      connected_clients: s.clients.connected,
      total_connections_received: s.clients.counters.accepted,
      rejected_connections: s.clients.counters.refused,
      total_commands_processed: s.clients.counters.commands,
      protocol_errors: s.clients.counters.protocolErrors,
      handler_errors: s.clients.counters.handlerErrors,
    },
    Raft: {
      role: logRole(s.raft.role),
      term: s.raft.term,
      leader: s.raft.leader ?? '',
      vote: s.raft.vote ?? '',
      commit: s.raft.commit,
      applied: s.raft.applied,
      last: s.raft.lastIndex,
      stable: s.raft.stable,
      snapshot: s.raft.snapshotIndex,
      peers: s.raft.peers.join(','),
      prevotes: s.events.prevotes,
      elections: s.events.elections,
      elections_won: s.events.leaderships,
      snapshots_taken: s.events.snapshotsTaken,
      snapshots_installed: s.events.snapshotsInstalled,
      follower_regressions: s.raft.followerRegressions,
      committed_conflicts: s.raft.committedConflicts,
      persisting: s.raft.persisting ? 1 : 0,
    },
    Keyspace: { keys: s.keys, sessions: s.sessions },
    Stats: {
      proposals: s.proposals.proposed,
      proposals_applied: s.proposals.applied,
      proposals_timeout_leadership_lost: s.proposals.lostLeadership,
      proposals_timeout_overwritten: s.proposals.overwritten,
      proposals_timeout_deadline: s.proposals.deadline,
      proposals_timeout_stopping: s.proposals.stopping,
      proposals_early_acked: s.proposals.earlyAcked,
      writes: s.service.writes,
      writes_no_leader: s.service.writesNoLeader,
      reads: s.service.reads,
      reads_served: s.service.readsServed,
      reads_failed: s.service.readsFailed,
      forwards: fwd.forwarded,
      forwards_replied: fwd.replied,
      forwards_timed_out: fwd.timedOut,
      forwards_abandoned: fwd.abandoned,
      forwards_not_sent: fwd.notSent,
      forwards_late_replies: fwd.late,
      forwards_received: s.service.forwardsReceived,
      forwards_refused_not_leader: s.service.forwardsRefused,
      forwards_duplicate: s.service.forwardsDuplicate,
      forwards_malformed: s.service.forwardsMalformed + fwd.malformed,
    },
    Transport: {
      messages_in: t.received.raft,
      messages_out: t.sent.raft,
      forward_in: t.received.forward + t.received['forward-reply'],
      forward_out: t.sent.forward + t.sent['forward-reply'],
      bytes_in: t.bytesIn,
      bytes_out: t.bytesOut,
      dropped_datagrams: droppedTotal(t),
      ...Object.fromEntries(DROP_REASONS.map((r) => [`dropped_${snake(r)}`, t.dropped[r]])),
      dropped_messages: raftDropped,
      ...Object.fromEntries(
        Object.entries(s.events.dropped).map(([r, n]) => [`dropped_messages_${snake(r)}`, n]),
      ),
      ...Object.fromEntries(SEND_FAILURES.map((r) => [`send_failed_${snake(r)}`, t.sendFailed[r]])),
      socket_errors: t.socketErrors,
      handler_errors: t.handlerErrors,
    },
    Persistence: {
      fsync_policy: s.server.fsync,
      fsyncs: s.storage.fsyncs,
      dir_fsyncs: s.storage.dirFsyncs,
      fsync_p50_ms: ms(s.storage.fsyncP50Ms),
      fsync_p99_ms: ms(s.storage.fsyncP99Ms),
      saves: s.persist.saves,
      save_p50_ms: ms(s.persist.p50),
      save_p99_ms: ms(s.persist.p99),
      wal_bytes_written: s.storage.bytesWritten,
      wal_records: s.storage.records,
      wal_segments: s.storage.segments,
      snapshots_saved: s.storage.snapshotsSaved,
    },
  };
}
