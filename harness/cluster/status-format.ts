import type { ClusterStatus, FaultsInForce } from './backend.js';

/** `raftbed status` as a table, then one line of faults in force. */
export function formatStatus(s: ClusterStatus): string {
  const rows: string[][] = [['node', 'container', 'state', 'address', 'role', 'term', 'applied']];
  for (const n of s.nodes) {
    rows.push([
      n.node,
      n.container,
      n.state,
      `${n.address.host}:${n.address.port}`,
      n.raft?.role ?? '-',
      n.raft ? String(n.raft.term) : '-',
      n.raft ? String(n.raft.applied) : '-',
    ]);
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  const table = rows.map((r) =>
    r
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  );
  return [`cluster ${s.name} (image ${s.image})`, ...table, `faults: ${describeFaults(s.faults)}`]
    .join('\n')
    .concat('\n');
}

export function describeFaults(f: FaultsInForce): string {
  const parts: string[] = [];
  if (f.partition)
    parts.push(
      `partition ${f.partition.description} (${f.partition.cuts.length} one-way links cut)`,
    );
  const flaky = Object.entries(f.flaky);
  if (flaky.length > 0) {
    parts.push(
      `flaky ${flaky.map(([n, v]) => `${n} ${Math.round(v.loss * 1000) / 10}%`).join(', ')}`,
    );
  }
  const slow = Object.entries(f.slow);
  if (slow.length > 0) {
    parts.push(
      `slow ${slow
        .map(
          ([n, v]) =>
            `${n} ${v.delayMs}ms±${v.jitterMs ?? 0}ms${v.rateKbit !== undefined ? ` ${v.rateKbit}kbit/s` : ''}`,
        )
        .join(', ')}`,
    );
  }
  if (f.paused.length > 0) parts.push(`paused ${f.paused.join(', ')}`);
  if (f.stopped.length > 0) parts.push(`stopped ${f.stopped.join(', ')}`);
  return parts.length > 0 ? parts.join('; ') : 'none';
}
