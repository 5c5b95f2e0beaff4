import { describe, expect, it } from 'vitest';
import { renderCheckFragment, renderCheckHtml } from './html.js';
import { checkLinearizability } from './linearizability.js';
import { parseHistory, readHistory } from './readers/index.js';

const corpus = new URL('./corpus/', import.meta.url).pathname;

async function checked(path: string) {
  const history = await readHistory(corpus + path);
  return { history, result: await checkLinearizability(history) };
}

/** The JSON the page's script reads. */
function data(html: string): {
  ops: unknown[][];
  failing: { stuck: number; prefix: number[]; key: string | null } | null;
} {
  const m = /<script type="application\/json" class="rbc-data">(.*?)<\/script>/s.exec(html);
  return JSON.parse(m?.[1] ?? 'null') as ReturnType<typeof data>;
}

describe('counterexample HTML', () => {
  it('is one self-contained page: no network, no external scripts or styles', async () => {
    const { history, result } = await checked('knossos/data/mutex/bad/etcd.edn');
    const html = renderCheckHtml(history, result);
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/https?:|\/\/[a-z]/i);
    expect(html).not.toMatch(/<script[^>]+src=|<link|<img|@import|url\(/i);
    expect(html).toMatch(/<\/html>\n$/);
  });

  it('names the op that breaks the linearization and carries the longest prefix', async () => {
    const { history, result } = await checked(
      'knossos/data/cas-register/bad/rethink-fail-minimal.edn',
    );
    const html = renderCheckHtml(history, result);
    expect(html).toContain('NOT linearizable');
    expect(html).toContain('read -&#62; 3 (line 4) cannot be placed');
    const d = data(html);
    expect(d.failing?.stuck).toBe(result.counterexample?.op.index);
    expect(d.failing?.prefix).toEqual(result.counterexample?.prefix.map((o) => o.index));
    // Every op of the history is drawn, as [index, process, key, text, outcome, call, ret, line].
    expect(d.ops).toHaveLength(history.ops.length);
    expect(d.ops[1]).toEqual([1, '1', null, 'read -> 3', 'ok', 2, 4, 4]);
  });

  it('shows the linearization found for a valid history', async () => {
    const { history, result } = await checked('porcupine/test_data/kv/c10-ok.txt');
    const html = renderCheckHtml(history, result);
    expect(html).toContain('>linearizable<');
    expect(data(html).failing).toBeNull();
    expect(html).toContain('"lins":[{"key":"0","order":[');
  });

  it('caps the drawn ops but always keeps the failing key', async () => {
    const { history, result } = await checked('porcupine/test_data/kv/c50-bad.txt');
    const key = result.counterexample?.key;
    const html = renderCheckHtml(history, result, { maxOps: 100 });
    const d = data(html);
    expect(d.ops).toHaveLength(100);
    expect(d.ops.every((o) => o[2] === key)).toBe(true);
    expect(d.ops.some((o) => o[0] === d.failing?.stuck)).toBe(true);
  });

  it('scopes the fragment under its root id, and keeps data from closing the script', async () => {
    const history = parseHistory(
      [
        '{"process":0,"type":"invoke","f":"write","value":"</script><script>alert(1)</script>"}',
        '{"process":0,"type":"ok","f":"write","value":"</script><script>alert(1)</script>"}',
        '{"process":1,"type":"invoke","f":"read","value":null}',
        '{"process":1,"type":"ok","f":"read","value":"x"}',
      ].join('\n'),
      { source: 'x.jsonl' },
    );
    const result = await checkLinearizability(history);
    const fragment = renderCheckFragment(history, result, { id: 'run-7-check' });
    expect(fragment.startsWith('<div class="rbc" id="run-7-check">')).toBe(true);
    expect(fragment.endsWith('</div>')).toBe(true);
    expect(fragment.match(/<\/script>/g)).toHaveLength(2);
    const css = /<style>(.*?)<\/style>/s.exec(fragment)?.[1] ?? '';
    const selectors = css
      .split('}')
      .map((r) => r.split('{')[0]?.trim() ?? '')
      .filter((r) => r !== '');
    expect(selectors.length).toBeGreaterThan(10);
    for (const rule of selectors) {
      for (const sel of rule.split(',')) expect(sel.trim().startsWith('#run-7-check')).toBe(true);
    }
    expect(fragment).toContain('document.getElementById("run-7-check")');
    expect(() => renderCheckFragment(history, result, { id: 'bad id"' })).toThrow(/bad element id/);
  });
});
