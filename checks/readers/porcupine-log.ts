import { HistoryError } from '../history.js';
import type { History } from '../history.js';
import { Keyword, parseEdn } from './edn.js';
import { toValue } from './jepsen-edn.js';
import { Pairing, clip } from './pairing.js';
import type { EventType, RawEvent } from './pairing.js';

/** `INFO  jepsen.util - 3	:invoke	:cas	[1 4]`: a Jepsen client log line. */
const OP_LINE =
  /^(?:INFO|WARN|DEBUG|ERROR|TRACE)\s+jepsen\.util\s+-\s+(\d+)\s+:(invoke|ok|fail|info)\s+:([A-Za-z][\w-]*)\s+(\S.*?)\s*$/;
const LOG_LINE = /^(?:INFO|WARN|DEBUG|ERROR|TRACE)\s+([\w.$-]+)\s+-\s/;

/** Does this text look like a Jepsen text log (the etcd logs in Porcupine's test data)? */
export function looksLikeJepsenLog(text: string): boolean {
  const first = /^\s*(\S[^\n]*)/.exec(text)?.[1] ?? '';
  return LOG_LINE.test(first);
}

/**
 * Jepsen's text logs as found in Porcupine's test data (etcd 2.0 runs), with
 * Porcupine's reading of them: a register starting at nil, a failed cas is a
 * definite mismatch (the compare ran and failed), a `:fail :read :timed-out` read
 * observed nothing, an `:info` write or cas timed out and may take effect any time
 * after its invocation or never. Other loggers' lines are skipped.
 */
export function parsePorcupineLog(text: string, source: string): History {
  const pairing = new Pairing(source);
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    const line = raw.trim();
    if (line === '') continue;
    const lineNo = i + 1;
    const m = OP_LINE.exec(line);
    if (m === null) {
      const log = LOG_LINE.exec(line);
      if (log !== null && log[1] !== 'jepsen.util') continue;
      throw new HistoryError(
        source,
        lineNo,
        log === null
          ? `not a Jepsen log line (truncated?): ${clip(line)}`
          : `a jepsen.util line that is not an operation "PROCESS :type :f VALUE": ${clip(line)}`,
      );
    }
    const [, proc, type, f, valueText] = m as unknown as [
      string,
      string,
      EventType,
      string,
      string,
    ];
    let parsed;
    try {
      parsed = parseEdn(valueText, source);
    } catch (err) {
      throw new HistoryError(
        source,
        lineNo,
        `bad value '${valueText}': ${err instanceof HistoryError ? err.problem : String(err)}`,
      );
    }
    if (parsed.length !== 1) {
      throw new HistoryError(source, lineNo, `expected one value after :${f}, got '${valueText}'`);
    }
    const form = parsed[0] ?? null;
    const ev: { -readonly [K in keyof RawEvent]: RawEvent[K] } = {
      type,
      process: Number(proc),
      f,
      value: null,
      line: lineNo,
    };
    if (form instanceof Keyword) {
      // `:timed-out` stands where the value would be: it is the reason, not a value.
      ev.error = form.name;
    } else {
      ev.value = toValue(form);
      if (type === 'fail' && f === 'cas') ev.error = 'cas-mismatch';
    }
    pairing.add(ev);
  }
  return pairing.finish(
    'porcupine',
    { registerInitial: null, nilReadObservesNothing: false },
    'cas-register',
  );
}
