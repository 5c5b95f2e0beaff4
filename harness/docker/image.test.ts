import { describe, expect, it } from 'vitest';
import { inputsHash } from './image.js';
import { parseLdd } from './offline-base.js';

describe('image inputs', () => {
  const files = [
    { rel: 'dist/a.js', abs: '/x/dist/a.js', size: 1, sha256: 'aa' },
    { rel: 'package.json', abs: '/x/package.json', size: 1, sha256: 'bb' },
  ];
  const dockerfile = Buffer.from('FROM x\n');

  it('hashes the same inputs the same way', () => {
    expect(inputsHash(dockerfile, 'sha256:base', files)).toBe(
      inputsHash(dockerfile, 'sha256:base', [...files]),
    );
  });

  it('changes with the labels asked for, in any order the same', () => {
    const h = inputsHash(dockerfile, 'sha256:base', files);
    const a = inputsHash(dockerfile, 'sha256:base', files, { x: '1', y: '2' });
    expect(a).not.toBe(h);
    expect(inputsHash(dockerfile, 'sha256:base', files, { y: '2', x: '1' })).toBe(a);
  });

  it('changes with any file, the Dockerfile or the base', () => {
    const h = inputsHash(dockerfile, 'sha256:base', files);
    expect(inputsHash(dockerfile, 'sha256:other', files)).not.toBe(h);
    expect(inputsHash(Buffer.from('FROM y\n'), 'sha256:base', files)).not.toBe(h);
    expect(
      inputsHash(dockerfile, 'sha256:base', [{ ...files[0]!, sha256: 'ab' }, files[1]!]),
    ).not.toBe(h);
    expect(
      inputsHash(dockerfile, 'sha256:base', [{ ...files[0]!, rel: 'dist/b.js' }, files[1]!]),
    ).not.toBe(h);
  });
});

describe('parseLdd', () => {
  it('takes the libraries and the loader, not the vdso', () => {
    const out = [
      '\tlinux-vdso.so.1 (0x00007ffd)',
      '\tlibdl.so.2 => /lib/x86_64-linux-gnu/libdl.so.2 (0x00007f)',
      '\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)',
      '\t/lib64/ld-linux-x86-64.so.2 (0x00007f)',
    ].join('\n');
    expect(parseLdd(out)).toEqual([
      '/lib/x86_64-linux-gnu/libdl.so.2',
      '/lib/x86_64-linux-gnu/libc.so.6',
      '/lib64/ld-linux-x86-64.so.2',
    ]);
  });

  it('says which library is missing', () => {
    expect(() => parseLdd('\tlibfoo.so.1 => not found\n')).toThrow(/libfoo/);
  });
});
