/**
 * `--unsafe early-ack` only: the reply a write would get, guessed from the
 * state applied so far, for a leader that answers before its entry commits.
 * The guess ignores entries still in flight, which is part of the bug.
 */
import type { KvCommand } from '../kv/commands.js';
import { resp, type RespValue } from '../kv/resp.js';
import type { KvStateMachine } from '../kv/state-machine.js';

export function previewReply(kv: KvStateMachine, command: KvCommand, index: number): RespValue {
  switch (command.op) {
    case 'open-session':
      // A session's id is its entry's index.
      return resp.integer(index);
    case 'get':
      return resp.bulk(kv.read(command.key));
    case 'set':
      return resp.simple('OK');
    case 'del':
      return resp.integer(kv.read(command.key) === null ? 0 : 1);
    case 'cas': {
      const current = kv.read(command.key);
      return resp.integer(current !== null && current.equals(command.expected) ? 1 : 0);
    }
  }
}
