import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureDelayer } from './delay.js';

const exec = promisify(execFile);

describe('ensureDelayer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'raftbed-delayer-'));
  const saved = process.env['RAFTBED_DELAYER'];
  afterAll(() => {
    if (saved === undefined) delete process.env['RAFTBED_DELAYER'];
    else process.env['RAFTBED_DELAYER'] = saved;
    rmSync(dir, { recursive: true, force: true });
  });

  it('builds once for concurrent callers, and every caller gets a complete binary', async () => {
    process.env['RAFTBED_DELAYER'] = join(dir, 'raftbed-delayer');
    // `slow --all` asks for the delayer once per node at the same moment.
    const paths = await Promise.all(Array.from({ length: 5 }, () => ensureDelayer()));
    expect(new Set(paths)).toEqual(new Set([join(dir, 'raftbed-delayer')]));
    // Each caller runs it straight away: a half-written file fails with ETXTBSY or 126.
    const runs = await Promise.allSettled(
      paths.map((p) => exec(p, ['--help'], { timeout: 10_000 })),
    );
    for (const r of runs) {
      if (r.status === 'rejected') {
        const err = r.reason as { code?: unknown; stderr?: string };
        // --help may exit non-zero by design; it must still have been executed.
        expect(err.code).not.toBe('ETXTBSY');
        expect(err.code).not.toBe(126);
        expect(err.stderr ?? '').toMatch(/queue|delay|usage/i);
      }
    }
  });
});
