import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { getModel } from './models/registry.js';
import { parseJsonl } from './readers/jsonl.js';
import { prepare } from './semantics.js';

describe('prepare: keys', () => {
  it('orders keys naturally, numbers by value, as a numeric collator does', async () => {
    const kv = await getModel('kv');
    const collator = new Intl.Collator('en', { numeric: true });
    const key = fc.oneof(
      fc.nat(2000).map(String),
      fc.constantFrom('0', '00', '007', '10', '9', 'k2', 'k10', 'K1', 'a', 'b', '-1', '1e3'),
    );
    fc.assert(
      fc.property(fc.uniqueArray(key, { minLength: 1, maxLength: 12 }), (keys) => {
        const text = keys
          .map((k, i) =>
            [
              JSON.stringify({ process: i, type: 'invoke', f: 'write', key: k, value: 1 }),
              JSON.stringify({ process: i, type: 'ok', f: 'write', key: k, value: 1 }),
            ].join('\n'),
          )
          .join('\n');
        const { partitions } = prepare(parseJsonl(text, 'h.jsonl'), kv);
        expect(partitions.map((p) => p.key)).toEqual([...keys].sort(collator.compare));
      }),
      { numRuns: 200 },
    );
  });
});
