import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tarStream } from './tar.js';
import type { TarEntry } from './tar.js';

async function collect(entries: TarEntry[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of tarStream(entries)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

interface Read {
  name: string;
  type: string;
  mode: number;
  size: number;
  link: string;
  data: Buffer;
}

/** A small independent reader: checks every header's checksum and applies PAX paths. */
function readTar(buf: Buffer): Read[] {
  const out: Read[] = [];
  let off = 0;
  let paxPath: string | undefined;
  while (off + 512 <= buf.length) {
    const h = buf.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const str = (a: number, n: number): string =>
      h.toString('utf8', a, a + n).replace(/\0.*$/s, '');
    const stored = parseInt(str(148, 8).trim(), 8);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : (h[i] ?? 0);
    expect(sum).toBe(stored);
    expect(str(257, 6)).toBe('ustar');
    const size = parseInt(str(124, 12), 8);
    const type = str(156, 1);
    const data = buf.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    if (type === 'x') {
      const m = /\d+ path=(.*)\n/.exec(data.toString());
      paxPath = m?.[1];
      continue;
    }
    const prefix = str(345, 155);
    const name = paxPath ?? (prefix ? `${prefix}/${str(0, 100)}` : str(0, 100));
    paxPath = undefined;
    out.push({ name, type, mode: parseInt(str(100, 8), 8), size, link: str(157, 100), data });
  }
  return out;
}

describe('tarStream', () => {
  it('writes files, directories and symlinks a reader gets back byte for byte', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'raftbed-tar-'));
    const src = join(dir, 'big.bin');
    const content = Buffer.alloc(1300, 7);
    writeFileSync(src, content);
    const buf = await collect([
      { type: 'dir', path: 'app', mode: 0o755 },
      { type: 'file', path: 'app/a.txt', data: Buffer.from('hello') },
      { type: 'file', path: 'app/big.bin', source: src, size: content.length, mode: 0o755 },
      { type: 'symlink', path: 'app/link', target: 'a.txt' },
    ]);
    expect(buf.length % 512).toBe(0);
    const entries = readTar(buf);
    expect(entries.map((e) => [e.name, e.type])).toEqual([
      ['app/', '5'],
      ['app/a.txt', '0'],
      ['app/big.bin', '0'],
      ['app/link', '2'],
    ]);
    expect(entries[1]?.data.toString()).toBe('hello');
    expect(entries[2]?.data.equals(content)).toBe(true);
    expect(entries[2]?.mode).toBe(0o755);
    expect(entries[3]?.link).toBe('a.txt');
  });

  it('keeps long paths whole, with the ustar prefix or a PAX header', async () => {
    const split = `${'d'.repeat(120)}/${'f'.repeat(90)}`;
    const pax = `${'x'.repeat(30)}/${'y'.repeat(130)}`;
    const entries = readTar(
      await collect([
        { type: 'file', path: split, data: Buffer.from('1') },
        { type: 'file', path: pax, data: Buffer.from('2') },
      ]),
    );
    expect(entries.map((e) => e.name)).toEqual([split, pax]);
  });

  it('refuses absolute paths and parent references', async () => {
    await expect(
      collect([{ type: 'file', path: '/etc/x', data: Buffer.alloc(0) }]),
    ).rejects.toThrow(/refusing/);
    await expect(
      collect([{ type: 'file', path: 'a/../b', data: Buffer.alloc(0) }]),
    ).rejects.toThrow(/refusing/);
  });

  it('fails when a streamed file is not the size it was said to be', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'raftbed-tar-'));
    const src = join(dir, 'f');
    writeFileSync(src, 'abc');
    await expect(collect([{ type: 'file', path: 'f', source: src, size: 10 }])).rejects.toThrow(
      /changed size/,
    );
  });
});
