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

  it('does not take a follower naming an old leader for a second leader', () => {
    const r = checkNodeLogs([
      { node: 'n1', text: role('n1', 'a', 4, 'leader', 'n1') },
      { node: 'n2', text: role('n2', 'b', 4, 'follower', 'n3') },
    ]);
    expect(r.valid).toBe(true);
  });
});
