import { describe, expect, it } from 'vitest';
import { checkNodeLogs } from './node-logs.js';

const line = (o: Record<string, unknown>): string =>
  JSON.stringify({ time: 1, level: 'info', ...o });
const role = (node: string, boot: string, term: number, r: string, leader: string | null) =>
  line({ node, boot, term, event: 'role', role: r, leader });
const commit = (node: string, boot: string, term: number, c: number) =>
  line({ node, boot, term, event: 'commit', commit: c });

describe('checkNodeLogs', () => {
  it('accepts a clean history of elections and commits', () => {
    const r = checkNodeLogs([
      {
        node: 'n1',
        text: [
          role('n1', 'a', 1, 'leader', 'n1'),
          commit('n1', 'a', 1, 1),
          commit('n1', 'a', 1, 5),
        ].join('\n'),
      },
      {
        node: 'n2',
        text: [
          role('n2', 'b', 1, 'follower', 'n1'),
          role('n2', 'b', 2, 'leader', 'n2'),
          commit('n2', 'b', 2, 6),
        ].join('\n'),
      },
    ]);
    expect(r.valid).toBe(true);
    expect(r.terms).toBe(2);
    expect(r.boots).toBe(2);
    expect(r.lines).toBe(6);
  });

  it('flags two leaders in one term and says where', () => {
    const r = checkNodeLogs([
      { node: 'n1', text: role('n1', 'a', 3, 'leader', 'n1') },
      { node: 'n2', text: ['garbage', role('n2', 'b', 3, 'leader', 'n2')].join('\n') },
    ]);
    expect(r.valid).toBe(false);
    expect(r.multipleLeaders).toEqual([
      { term: 3, leaders: ['n1', 'n2'], evidence: ['n1:1', 'n2:2'] },
    ]);
    expect(r.badLines).toBe(1);
    expect(r.summary).toContain('term 3 had leaders n1 and n2');
  });

  it('flags commit going backwards within a boot, not across boots', () => {
    const restarted = checkNodeLogs([
      {
        node: 'n1',
        text: [commit('n1', 'a', 1, 10), commit('n1', 'b', 1, 0), commit('n1', 'b', 1, 12)].join(
          '\n',
        ),
      },
    ]);
    expect(restarted.valid).toBe(true);
    const regressed = checkNodeLogs([
      {
        node: 'n1',
        text: [commit('n1', 'a', 1, 10), commit('n1', 'a', 1, 12), commit('n1', 'a', 2, 11)].join(
          '\n',
        ),
      },
    ]);
    expect(regressed.valid).toBe(false);
    expect(regressed.commitRegressions).toEqual([
      { node: 'n1', boot: 'a', from: 12, to: 11, line: 3 },
    ]);
  });

  it('reads commit progress from commit events only, as node/log.ts writes them', () => {
    const recovered = line({
      node: 'n1',
      boot: 'a',
      term: 2,
      event: 'recovered',
      commit: 40,
      lastIndex: 45,
    });
    const r = checkNodeLogs([
      {
        node: 'n1',
        text: [recovered, commit('n1', 'a', 2, 38), commit('n1', 'a', 2, 41)].join('\n'),
      },
    ]);
    expect(r.valid).toBe(true);
  });

  it('does not take a follower naming an old leader for a second leader', () => {
    const r = checkNodeLogs([
      { node: 'n1', text: role('n1', 'a', 4, 'leader', 'n1') },
      { node: 'n2', text: role('n2', 'b', 4, 'follower', 'n3') },
    ]);
    expect(r.valid).toBe(true);
  });
});

describe('checkNodeLogs on lines written by the node logger', () => {
  it('understands node/log.ts: one leader per term, commit within and across boots', async () => {
    const { NodeLogger } = await import('../node/log.js');
    const text = new Map<string, string[]>();
    const logger = (node: string, boot: string) => {
      const lines: string[] = text.get(node) ?? [];
      text.set(node, lines);
      return new NodeLogger({ node, boot, write: (l) => lines.push(l), progressIntervalMs: 0 });
    };
    const n1 = logger('n1', 'b1');
    n1.term = 1;
    n1.log({ event: 'role', role: 'leader', leader: 'n1' });
    n1.commit(5);
    n1.commit(9);
    n1.flush();
    const n2 = logger('n2', 'b2');
    n2.term = 1;
    n2.log({ event: 'role', role: 'follower', leader: 'n1' });
    n2.commit(9);
    n2.flush();
    // n1 restarts: a new boot may start lower.
    const n1again = logger('n1', 'b3');
    n1again.term = 2;
    n1again.commit(3);
    n1again.flush();
    const logs = () => [...text].map(([node, lines]) => ({ node, text: lines.join('') }));
    expect(checkNodeLogs(logs())).toMatchObject({ valid: true, terms: 1, boots: 3, badLines: 0 });

    n2.term = 1;
    n2.log({ event: 'role', role: 'leader', leader: 'n2' });
    n1again.commit(2);
    n1again.flush();
    const r = checkNodeLogs(logs());
    expect(r.valid).toBe(false);
    expect(r.multipleLeaders.map((m) => m.leaders)).toEqual([['n1', 'n2']]);
    expect(r.commitRegressions).toMatchObject([{ node: 'n1', boot: 'b3', from: 3, to: 2 }]);
  });
});
