import { describe, expect, it } from 'vitest';
import { Demuxer, demuxBuffer, frame } from './demux.js';

describe('Demuxer', () => {
  it('splits stdout and stderr frames and keeps their order in combined', () => {
    const buf = Buffer.concat([
      frame('stdout', 'a1\n'),
      frame('stderr', 'e1\n'),
      frame('stdout', 'a2\n'),
    ]);
    const { stdout, stderr, combined } = demuxBuffer(buf);
    expect(stdout.toString()).toBe('a1\na2\n');
    expect(stderr.toString()).toBe('e1\n');
    expect(combined.toString()).toBe('a1\ne1\na2\n');
  });

  it('reassembles frames cut at any byte', () => {
    const buf = Buffer.concat([
      frame('stdout', 'hello world'),
      frame('stderr', 'oops'),
      frame('stdout', '!'),
    ]);
    for (let cut = 1; cut < buf.length; cut++) {
      let out = '';
      let err = '';
      const d = new Demuxer((kind, data) => {
        if (kind === 'stderr') err += data.toString();
        else out += data.toString();
      });
      d.push(buf.subarray(0, cut));
      d.push(buf.subarray(cut));
      expect([out, err, d.leftover]).toEqual(['hello world!', 'oops', 0]);
    }
  });

  it('holds back an incomplete frame', () => {
    const f = frame('stdout', 'abcdef');
    const got: string[] = [];
    const d = new Demuxer((_k, data) => got.push(data.toString()));
    d.push(f.subarray(0, 10));
    expect(got).toEqual([]);
    expect(d.leftover).toBe(10);
  });
});
