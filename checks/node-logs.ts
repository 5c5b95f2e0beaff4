/**
 * Raft invariants read off the nodes' JSON-lines logs: at most one leader per
 * term across the cluster, and within one boot of a node its commit index never
 * goes backwards (a restarted node may start lower: it relearns commit).
 */

export interface NodeLog {
  /** The node's name as the cluster knows it (n1, n2, ...). */
  readonly node: string;
  readonly text: string;
}

export interface TwoLeaders {
  readonly term: number;
  readonly leaders: readonly string[];
  /** Where each claim was seen: "n1:12" is line 12 of n1's log. */
  readonly evidence: readonly string[];
}

export interface CommitRegression {
  readonly node: string;
  readonly boot: string;
  readonly from: number;
  readonly to: number;
  readonly line: number;
}

export interface NodeLogResult {
  readonly valid: boolean;
  readonly nodes: number;
  readonly lines: number;
  /** Lines that were not JSON objects (a node killed mid-line leaves one). */
  readonly badLines: number;
  readonly terms: number;
  readonly boots: number;
  readonly multipleLeaders: readonly TwoLeaders[];
  readonly commitRegressions: readonly CommitRegression[];
  readonly summary: string;
}

const MAX_REPORTED = 20;

export function checkNodeLogs(logs: readonly NodeLog[]): NodeLogResult {
  let lines = 0;
  let badLines = 0;
  const leaders = new Map<number, Map<string, string>>();
  const boots = new Set<string>();
  const regressions: CommitRegression[] = [];
  for (const { node, text } of logs) {
    const commitByBoot = new Map<string, number>();
    const all = text.split('\n');
    for (let i = 0; i < all.length; i++) {
      const raw = all[i]?.trim() ?? '';
      if (raw === '') continue;
      lines++;
      let o: Record<string, unknown>;
      try {
        const parsed: unknown = JSON.parse(raw);
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
          throw new Error();
        o = parsed as Record<string, unknown>;
      } catch {
        badLines++;
        continue;
      }
      const where = `${node}:${i + 1}`;
      const who = typeof o['node'] === 'string' ? o['node'] : node;
      const boot =
        typeof o['boot'] === 'string' || typeof o['boot'] === 'number' ? String(o['boot']) : '?';
      boots.add(`${node}/${boot}`);
      const term = o['term'];
      // Only a node's own claim to lead counts: what a follower believes may lag a term.
      if (o['event'] === 'role' && o['role'] === 'leader' && typeof term === 'number') {
        const byLeader = leaders.get(term) ?? new Map<string, string>();
        if (!byLeader.has(who)) byLeader.set(who, where);
        leaders.set(term, byLeader);
      }
      // Only the node's commit progress counts; `recovered` reports what was on disk.
      const commit = o['commit'];
      if (o['event'] === 'commit' && typeof commit === 'number') {
        const before = commitByBoot.get(boot);
        if (before !== undefined && commit < before) {
          regressions.push({ node, boot, from: before, to: commit, line: i + 1 });
        }
        commitByBoot.set(boot, Math.max(before ?? commit, commit));
      }
    }
  }
  const multipleLeaders: TwoLeaders[] = [];
  for (const [term, byLeader] of [...leaders].sort((a, b) => a[0] - b[0])) {
    if (byLeader.size > 1) {
      multipleLeaders.push({
        term,
        leaders: [...byLeader.keys()].sort(),
        evidence: [...byLeader.values()],
      });
    }
  }
  const valid = multipleLeaders.length === 0 && regressions.length === 0;
  const summary = valid
    ? `${leaders.size} terms with a leader, at most one each; commit never went back within a boot (${boots.size} boots)`
    : [
        ...multipleLeaders.map(
          (m) => `term ${m.term} had leaders ${m.leaders.join(' and ')} (${m.evidence.join(', ')})`,
        ),
        ...regressions.map(
          (r) =>
            `${r.node} boot ${r.boot}: commit went from ${r.from} back to ${r.to} (line ${r.line})`,
        ),
      ]
        .slice(0, 3)
        .join('; ');
  return {
    valid,
    nodes: logs.length,
    lines,
    badLines,
    terms: leaders.size,
    boots: boots.size,
    multipleLeaders: multipleLeaders.slice(0, MAX_REPORTED),
    commitRegressions: regressions.slice(0, MAX_REPORTED),
    summary,
  };
}
