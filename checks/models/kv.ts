import { model as casRegister } from './cas-register.js';
import type { Model } from './model.js';

/** A cas-register per key, each key checked on its own (history.md's `kv`). */
export const model: Model<unknown> = {
  ...(casRegister as Model<unknown>),
  name: 'kv',
  summary: 'a cas-register per key (read, write, cas with "key"); keys checked independently',
  partition: (op) => op.key ?? '',
};
