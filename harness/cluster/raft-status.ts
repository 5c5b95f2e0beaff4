import { RespClient } from '../../node/kv/client.js';
import { parseStatusReply } from '../../node/kv/status.js';
import type { RaftView } from './backend.js';

/**
 * Asks a node for RAFT.STATUS over RESP, with the node's own client and reply
 * reader (node/kv), so the harness reads exactly what the node writes. The
 * harness uses it only to report and to find a leader.
 */
export async function raftStatus(
  host: string,
  port: number,
  timeoutMs = 500,
): Promise<RaftView | undefined> {
  let client: RespClient | undefined;
  try {
    client = await RespClient.connect({
      host,
      port,
      connectTimeoutMs: timeoutMs,
      commandTimeoutMs: timeoutMs,
    });
    const s = parseStatusReply(await client.call(['RAFT.STATUS']));
    if (s === null) return undefined;
    return {
      role: s.role,
      term: s.term,
      leader: s.leader ?? '',
      commit: s.commit,
      applied: s.applied,
    };
  } catch {
    // Not up, paused, cut off, or not a raftbed node: no view.
    return undefined;
  } finally {
    client?.close();
  }
}
