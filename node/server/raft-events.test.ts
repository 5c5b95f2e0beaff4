import { describe, expect, it } from 'vitest';
import { NodeLogger, parseNodeLogLine, type NodeLogLine } from '../log.js';
import { RaftEventLog } from './raft-events.js';

function setup() {
  const lines: NodeLogLine[] = [];
  const logger = new NodeLogger({
    node: 'n1',
    boot: 'b',
    now: () => 0,
    write: (l) => {
      const parsed = parseNodeLogLine(l.trimEnd());
      if (parsed === null) throw new Error(`unparsable line ${l}`);
      lines.push(parsed);
    },
  });
  const hooks = {
    lost: 0,
    changed: [] as string[],
    installed: [] as number[],
    stopped: [] as unknown[],
  };
  const log = new RaftEventLog(
    logger,
    () => 3,
    () => 'n2',
    {
      leadershipLost: () => hooks.lost++,
      leaderChanged: (previous) => hooks.changed.push(previous),
      snapshotInstalled: (i) => hooks.installed.push(i),
      stopped: (e) => hooks.stopped.push(e),
    },
  );
  return { lines, log, hooks };
}

describe('RaftEventLog', () => {
  it('logs an election, then role leader once with its term, then the step-down', () => {
    const { lines, log, hooks } = setup();
    log.onEvent({ type: 'role', role: 'follower', term: 1, leader: 'n2' });
    log.onEvent({ type: 'role', role: 'precandidate', term: 1, leader: null });
    log.onEvent({ type: 'role', role: 'candidate', term: 2, leader: null });
    log.onEvent({ type: 'role', role: 'leader', term: 2, leader: 'n1' });
    log.onEvent({ type: 'elected', term: 2, votes: ['n1', 'n3'] });
    log.onEvent({ type: 'role', role: 'follower', term: 3, leader: null });
    const shown = lines.map((l) =>
      l.event === 'role'
        ? `${l.term} role ${l.role} ${l.leader}`
        : l.event === 'election'
          ? `${l.term} election ${l.prevote}`
          : `${l.term} ${l.event}`,
    );
    expect(shown).toEqual([
      '1 role follower n2',
      '1 role candidate null',
      '1 election true',
      '2 election false',
      '2 role leader n1',
      '2 elected',
      '3 role follower null',
    ]);
    expect(hooks.lost).toBe(1);
    expect(hooks.changed).toEqual(['n2', 'n1']);
    expect(log.counters).toMatchObject({ prevotes: 1, elections: 1, leaderships: 1 });
  });

  it('logs a follower that lost entries it acknowledged, as a warning', () => {
    const { lines, log } = setup();
    log.onEvent({ type: 'follower-regressed', peer: 'n3', term: 4, lastIndex: 7, match: 19 });
    expect(lines).toMatchObject([
      { event: 'follower-regressed', level: 'warn', peer: 'n3', lastIndex: 7, match: 19 },
    ]);
  });

  it('logs committed conflicts as a warning at most once per leader term', () => {
    const { lines, log } = setup();
    const conflict = (term: number, leader: string, index: number) => ({
      type: 'committed-conflict' as const,
      leader,
      term,
      index,
      entryTerm: term,
      committedTerm: 2,
      commit: 12,
    });
    log.onEvent({ type: 'role', role: 'follower', term: 4, leader: 'n2' });
    // The leader of term 4 retries every heartbeat: each refusal is reported.
    for (let i = 0; i < 5; i++) log.onEvent(conflict(4, 'n2', 9));
    log.onEvent({ type: 'role', role: 'follower', term: 5, leader: 'n3' });
    for (let i = 0; i < 3; i++) log.onEvent(conflict(5, 'n3', 8));
    expect(lines.filter((l) => l.event === 'committed-conflict')).toEqual([
      expect.objectContaining({
        event: 'committed-conflict',
        level: 'warn',
        term: 4,
        leader: 'n2',
        index: 9,
        entryTerm: 4,
        committedTerm: 2,
        commit: 12,
      }),
      expect.objectContaining({ event: 'committed-conflict', term: 5, leader: 'n3', index: 8 }),
    ]);
  });

  it('logs the votes won with and the votes given, each in its own term', () => {
    const { lines, log } = setup();
    log.onEvent({ type: 'role', role: 'follower', term: 4, leader: null });
    log.onEvent({ type: 'vote-granted', term: 4, candidate: 'n3' });
    log.onEvent({ type: 'role', role: 'leader', term: 6, leader: 'n1' });
    // A vote of term 5 reported after the node moved on to term 6 keeps its term.
    log.onEvent({ type: 'vote-granted', term: 5, candidate: 'n2' });
    log.onEvent({ type: 'elected', term: 6, votes: ['n1', 'n2'] });
    expect(lines.filter((l) => l.event !== 'role')).toMatchObject([
      { event: 'vote', term: 4, candidate: 'n3', granted: true },
      { event: 'vote', term: 5, candidate: 'n2', granted: true },
      { event: 'elected', term: 6, votes: 2, voters: 3, votesFrom: ['n1', 'n2'] },
    ]);
  });

  it('logs snapshots, counts drops, and passes on a stop', () => {
    const { lines, log, hooks } = setup();
    log.onEvent({ type: 'snapshot-taken', index: 10, term: 2, bytes: 300 });
    log.onEvent({ type: 'snapshot-installed', index: 20, term: 3, bytes: 5000 });
    log.onEvent({ type: 'dropped', from: 'n3', reason: 'malformed', detail: 'x' });
    log.onEvent({ type: 'stopped', error: new Error('disk') });
    expect(lines).toMatchObject([
      { event: 'snapshot-taken', index: 10, snapshotTerm: 2, bytes: 300 },
      { event: 'snapshot-installed', index: 20, snapshotTerm: 3, bytes: 5000, from: 'n2' },
    ]);
    expect(hooks.installed).toEqual([20]);
    expect(hooks.stopped).toHaveLength(1);
    expect(log.counters.dropped.malformed).toBe(1);
  });
});
