import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { HistoryError } from './history.js';
import { checkLinearizability } from './linearizability.js';
import { readHistory } from './readers/index.js';

// Every history in checks/corpus gets the verdict expected.tsv gives it (the table's
// sources: Porcupine's and Knossos's own test suites).
const corpus = join(dirname(fileURLToPath(import.meta.url)), 'corpus');
const rows = readFileSync(join(corpus, 'expected.tsv'), 'utf8')
  .trimEnd()
  .split('\n')
  .slice(1)
  .map((line) => {
    const [repo, path, , , expected, , model, ops, , present] = line.split('\t');
    return {
      repo: repo ?? '',
      path: path ?? '',
      expected: expected ?? '',
      model: model ?? '',
      ops: ops ?? '',
      present: present === 'yes',
      file: join(corpus, (repo ?? '').split('/')[1] ?? '', path ?? ''),
    };
  });

const histories = rows.filter((r) => r.present && !r.expected.startsWith('n/a (not a history'));

describe('corpus', () => {
  it('lists 229 checkable histories, the multi-register one and etcd_095, and one absent file', () => {
    expect(histories).toHaveLength(231);
    expect(rows.filter((r) => !r.present).map((r) => r.path)).toEqual([
      'data/mutex/bad/hazelcast.edn',
    ]);
  });

  for (const row of histories) {
    it(`${row.path}: ${row.expected}`, async () => {
      const history = await readHistory(row.file);
      const result = await checkLinearizability(history);
      if (row.expected.startsWith('n/a (empty file)')) {
        // etcd_095: the cluster never started; the table's verdict is Porcupine's: Ok.
        expect(history.ops).toHaveLength(0);
        expect(result.valid).toBe(true);
        return;
      }
      const linearizable = !row.expected.startsWith('NOT');
      expect(result.valid).toBe(linearizable);
      if (!linearizable) {
        expect(result.counterexample).toBeDefined();
      }
      // The number of invocations the table counts (Porcupine's own parse).
      const invocations = Number(/^\d+/.exec(row.ops)?.[0] ?? NaN);
      if (Number.isFinite(invocations)) expect(history.ops).toHaveLength(invocations);
    });
  }

  it('reads the multi-register history with the multi-register model (registers start at 0)', async () => {
    const row = rows.find((r) => r.path.endsWith('multi-register.edn'));
    const history = await readHistory(row?.file ?? '');
    expect(history.suggestedModel).toBe('multi-register');
    const result = await checkLinearizability(history, { model: 'multi-register' });
    expect(result.valid).toBe(true);
    // Starting the registers at 5 contradicts its first reads of 0.
    const other = await checkLinearizability(history, { model: 'multi-register', initial: 5 });
    expect(other.valid).toBe(false);
  });

  it('rejects the rendered timeline that sits next to the histories, naming the line', async () => {
    const row = rows.find((r) => r.path.endsWith('.html'));
    await expect(readHistory(row?.file ?? '')).rejects.toThrow(HistoryError);
    await expect(readHistory(row?.file ?? '')).rejects.toThrow(/timeline\.html:\d+: /);
  });
});
