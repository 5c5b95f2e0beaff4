import { describe, expect, it } from 'vitest';
import { encodeValue, resp } from './resp.js';
import { infoReply, parseInfo, parseStatusReply, statusReply, type NodeStatus } from './status.js';

const status: NodeStatus = {
  id: 'n2',
  role: 'follower',
  term: 7,
  leader: 'n1',
  commit: 120,
  applied: 119,
  last: 121,
  snapshot: 100,
};

describe('RAFT.STATUS reply', () => {
  it('is a flat array of names and values in the order of cli.md', () => {
    const wire = encodeValue(statusReply({ ...status, leader: null })).toString();
    expect(wire).toBe(
      '*16\r\n$2\r\nid\r\n$2\r\nn2\r\n$4\r\nrole\r\n$8\r\nfollower\r\n$4\r\nterm\r\n$1\r\n7\r\n' +
        '$6\r\nleader\r\n$-1\r\n$6\r\ncommit\r\n$3\r\n120\r\n$7\r\napplied\r\n$3\r\n119\r\n' +
        '$4\r\nlast\r\n$3\r\n121\r\n$8\r\nsnapshot\r\n$3\r\n100\r\n',
    );
  });

  it('reads back what it writes, and nothing else', () => {
    expect(parseStatusReply(statusReply(status))).toEqual(status);
    expect(parseStatusReply(statusReply({ ...status, leader: null }))?.leader).toBeNull();
    expect(parseStatusReply(resp.simple('OK'))).toBeNull();
    expect(parseStatusReply(resp.array([resp.bulk('id')]))).toBeNull();
    expect(
      parseStatusReply(
        resp.array([resp.bulk('id'), resp.bulk('n1'), resp.bulk('role'), resp.bulk('king')]),
      ),
    ).toBeNull();
  });
});

describe('INFO reply', () => {
  const sections = {
    Raft: { elections: 3, role: 'leader' },
    Transport: { messages_in: 10, dropped: 2 },
  };

  it('writes Redis-style sections and reads them back', () => {
    const v = infoReply(sections);
    const text = v.type === 'bulk' && v.value !== null ? Buffer.from(v.value).toString() : '';
    expect(text).toBe(
      '# Raft\r\nelections:3\r\nrole:leader\r\n\r\n# Transport\r\nmessages_in:10\r\ndropped:2\r\n',
    );
    expect(parseInfo(text)).toEqual({
      Raft: { elections: '3', role: 'leader' },
      Transport: { messages_in: '10', dropped: '2' },
    });
  });

  it('keeps one section when asked', () => {
    const v = infoReply(sections, 'transport');
    const text = v.type === 'bulk' && v.value !== null ? Buffer.from(v.value).toString() : '';
    expect(Object.keys(parseInfo(text))).toEqual(['Transport']);
  });
});
