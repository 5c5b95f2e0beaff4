import { describe, expect, it } from 'vitest';
import { encodeCommand, parseResp, raftView, RespError } from './raft-status.js';

describe('RESP', () => {
  it('encodes a command as an array of bulk strings', () => {
    expect(encodeCommand(['RAFT.STATUS']).toString()).toBe('*1\r\n$11\r\nRAFT.STATUS\r\n');
  });

  it('parses nested replies and waits for incomplete ones', () => {
    const text = '*4\r\n$2\r\nid\r\n$2\r\nn1\r\n$4\r\nterm\r\n:7\r\n';
    const full = Buffer.from(text);
    expect(parseResp(full)?.value).toEqual(['id', 'n1', 'term', 7]);
    for (let cut = 1; cut < full.length; cut++) {
      expect(parseResp(full.subarray(0, cut))).toBeUndefined();
    }
    expect(parseResp(Buffer.from('$-1\r\n'))?.value).toBeNull();
    expect(parseResp(Buffer.from('-TRYAGAIN no leader\r\n'))?.value).toEqual(
      new RespError('TRYAGAIN no leader'),
    );
    expect(() => parseResp(Buffer.from('hello\r\n'))).toThrow(/not RESP/);
  });

  it('reads RAFT.STATUS from alternating names and values, numbers as strings or integers', () => {
    const view = raftView([
      'id',
      'n2',
      'role',
      'leader',
      'term',
      '5',
      'leader',
      'n2',
      'commit',
      12,
      'applied',
      '11',
      'last',
      '12',
      'snapshot',
      '0',
    ]);
    expect(view).toEqual({ role: 'leader', term: 5, leader: 'n2', commit: 12, applied: 11 });
    expect(raftView('OK')).toBeUndefined();
    expect(raftView(['id', 'n1'])).toBeUndefined();
  });
});
