/**
 * A reader for EDN (https://github.com/edn-format/edn), the data syntax of Jepsen
 * and Knossos histories: nil/true/false, numbers (with N and M suffixes, ratios,
 * ##Inf), strings with escapes, characters, keywords, symbols, lists, vectors,
 * maps, sets, `;` comments, `#_` discards and tagged literals. A tagged literal
 * (`#inst "..."`, `#jepsen.history.Op{...}`) keeps its tag and its value, so a
 * record reads as the map inside it. Errors name the line.
 */
import { HistoryError } from '../history.js';

export class Keyword {
  private static readonly interned = new Map<string, Keyword>();
  private constructor(readonly name: string) {}
  static of(name: string): Keyword {
    let k = Keyword.interned.get(name);
    if (k === undefined) {
      k = new Keyword(name);
      Keyword.interned.set(name, k);
    }
    return k;
  }
  toString(): string {
    return `:${this.name}`;
  }
}

export class EdnSymbol {
  constructor(readonly name: string) {}
  toString(): string {
    return this.name;
  }
}

export class EdnChar {
  constructor(readonly char: string) {}
}

export interface EdnSeq {
  readonly kind: 'list' | 'vector' | 'set';
  readonly items: Edn[];
  /** The line each item starts on. */
  readonly itemLines: number[];
  readonly line: number;
}

export interface EdnMap {
  readonly kind: 'map';
  readonly keys: Edn[];
  readonly vals: Edn[];
  readonly line: number;
}

export interface EdnTagged {
  readonly kind: 'tagged';
  readonly tag: string;
  readonly value: Edn;
  readonly line: number;
}

export type Edn =
  null | boolean | number | string | Keyword | EdnSymbol | EdnChar | EdnSeq | EdnMap | EdnTagged;

/** The value under keyword `name` in an EDN map, or undefined. */
export function ednGet(map: EdnMap, name: string): Edn | undefined {
  const k = Keyword.of(name);
  for (let i = 0; i < map.keys.length; i++) if (map.keys[i] === k) return map.vals[i];
  return undefined;
}

/** Renders a form back as EDN text, for messages. */
export function showEdn(v: Edn | undefined): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'nil';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v !== 'object') return String(v);
  if (v instanceof Keyword || v instanceof EdnSymbol) return v.toString();
  if (v instanceof EdnChar) return `\\${v.char}`;
  switch (v.kind) {
    case 'list':
      return `(${v.items.map(showEdn).join(' ')})`;
    case 'vector':
      return `[${v.items.map(showEdn).join(' ')}]`;
    case 'set':
      return `#{${v.items.map(showEdn).join(' ')}}`;
    case 'map':
      return `{${v.keys.map((k, i) => `${showEdn(k)} ${showEdn(v.vals[i])}`).join(', ')}}`;
    case 'tagged':
      return `#${v.tag} ${showEdn(v.value)}`;
  }
}

// Character codes.
const TAB = 9;
const NEWLINE = 10;
const RETURN = 13;
const SPACE = 32;
const QUOTE = 34;
const HASH = 35;
const L_PAREN = 40;
const R_PAREN = 41;
const PLUS = 43;
const COMMA = 44;
const MINUS = 45;
const DOT = 46;
const ZERO = 48;
const NINE = 57;
const COLON = 58;
const SEMICOLON = 59;
const L_BRACKET = 91;
const BACKSLASH = 92;
const R_BRACKET = 93;
const UNDERSCORE = 95;
const L_BRACE = 123;
const R_BRACE = 125;

const CLOSERS: Readonly<Record<number, string>> = {
  [R_PAREN]: ')',
  [R_BRACKET]: ']',
  [R_BRACE]: '}',
};

const NAMED_CHARS: Readonly<Record<string, string>> = {
  newline: '\n',
  return: '\r',
  space: ' ',
  tab: '\t',
  formfeed: '\f',
  backspace: '\b',
};

/** Reads every top-level form of `text`. */
export function parseEdn(text: string, source: string): Edn[] {
  return new EdnReader(text, source).readAll().items;
}

/** Reads every top-level form of `text`, with the line each starts on. */
export function parseEdnLines(text: string, source: string): { items: Edn[]; itemLines: number[] } {
  return new EdnReader(text, source).readAll();
}

class EdnReader {
  private pos = 0;
  private line = 1;

  constructor(
    private readonly text: string,
    private readonly source: string,
  ) {}

  readAll(): { items: Edn[]; itemLines: number[] } {
    const items: Edn[] = [];
    const itemLines: number[] = [];
    for (;;) {
      this.skipSpace();
      if (this.pos >= this.text.length) return { items, itemLines };
      const c = this.text.charCodeAt(this.pos);
      if (c === R_PAREN || c === R_BRACKET || c === R_BRACE) {
        this.fail(`unmatched '${CLOSERS[c]}'`);
      }
      const line = this.line;
      const form = this.readForm();
      if (form !== DISCARDED) {
        items.push(form);
        itemLines.push(line);
      }
    }
  }

  private fail(problem: string, line = this.line): never {
    throw new HistoryError(this.source, line, `malformed EDN: ${problem}`);
  }

  private skipSpace(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c === NEWLINE) {
        this.line++;
        this.pos++;
      } else if (c === SPACE || c === COMMA || c === TAB || c === RETURN || c === 12) {
        this.pos++;
      } else if (c === SEMICOLON) {
        const nl = t.indexOf('\n', this.pos);
        this.pos = nl === -1 ? t.length : nl;
      } else {
        return;
      }
    }
  }

  /** Reads one form; `#_` discards come back as DISCARDED. */
  private readForm(): Edn | typeof DISCARDED {
    const t = this.text;
    const c = t.charCodeAt(this.pos);
    switch (c) {
      case L_PAREN:
        return this.readSeq('list', R_PAREN);
      case L_BRACKET:
        return this.readSeq('vector', R_BRACKET);
      case L_BRACE:
        return this.readMap();
      case QUOTE:
        return this.readString();
      case COLON:
        return this.readKeyword();
      case BACKSLASH:
        return this.readChar();
      case HASH:
        return this.readDispatch();
      case R_PAREN:
      case R_BRACKET:
      case R_BRACE:
        return this.fail(`unexpected '${CLOSERS[c]}'`);
      default:
        if (
          (c >= ZERO && c <= NINE) ||
          ((c === PLUS || c === MINUS) && isDigitAt(t, this.pos + 1))
        ) {
          return this.readNumber();
        }
        return this.readSymbolic();
    }
  }

  private readSeq(kind: 'list' | 'vector' | 'set', close: number): EdnSeq {
    const line = this.line;
    this.pos++;
    const items: Edn[] = [];
    const itemLines: number[] = [];
    for (;;) {
      this.skipSpace();
      if (this.pos >= this.text.length) {
        this.fail(`${kind} opened at line ${line} is not closed (truncated file?)`);
      }
      const c = this.text.charCodeAt(this.pos);
      if (c === close) {
        this.pos++;
        return { kind, items, itemLines, line };
      }
      if (c === R_PAREN || c === R_BRACKET || c === R_BRACE) {
        this.fail(`'${CLOSERS[c]}' closes the ${kind} opened at line ${line}`);
      }
      const itemLine = this.line;
      const form = this.readForm();
      if (form !== DISCARDED) {
        items.push(form);
        itemLines.push(itemLine);
      }
    }
  }

  private readMap(): EdnMap {
    const line = this.line;
    this.pos++;
    const keys: Edn[] = [];
    const vals: Edn[] = [];
    let pendingKey: Edn | typeof DISCARDED = DISCARDED;
    for (;;) {
      this.skipSpace();
      if (this.pos >= this.text.length) {
        this.fail(`map opened at line ${line} is not closed (truncated file?)`);
      }
      const c = this.text.charCodeAt(this.pos);
      if (c === R_BRACE) {
        if (pendingKey !== DISCARDED) {
          this.fail(
            `map opened at line ${line} has a key (${showEdn(pendingKey)}) without a value`,
          );
        }
        this.pos++;
        return { kind: 'map', keys, vals, line };
      }
      if (c === R_PAREN || c === R_BRACKET) {
        this.fail(`'${CLOSERS[c]}' closes the map opened at line ${line}`);
      }
      const form = this.readForm();
      if (form === DISCARDED) continue;
      if (pendingKey === DISCARDED) {
        pendingKey = form;
      } else {
        keys.push(pendingKey);
        vals.push(form);
        pendingKey = DISCARDED;
      }
    }
  }

  private readString(): string {
    const t = this.text;
    const line = this.line;
    this.pos++;
    let out = '';
    let from = this.pos;
    for (;;) {
      if (this.pos >= t.length) this.fail(`string opened at line ${line} is not closed`, line);
      const c = t.charCodeAt(this.pos);
      if (c === QUOTE) {
        out += t.slice(from, this.pos);
        this.pos++;
        return out;
      }
      if (c === NEWLINE) {
        this.line++;
        this.pos++;
      } else if (c === BACKSLASH) {
        out += t.slice(from, this.pos);
        const e = t[this.pos + 1];
        this.pos += 2;
        switch (e) {
          case 'n':
            out += '\n';
            break;
          case 't':
            out += '\t';
            break;
          case 'r':
            out += '\r';
            break;
          case 'b':
            out += '\b';
            break;
          case 'f':
            out += '\f';
            break;
          case '"':
          case '\\':
          case "'":
            out += e;
            break;
          case 'u': {
            const hex = t.slice(this.pos, this.pos + 4);
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail(`bad \\u escape in string: \\u${hex}`);
            out += String.fromCharCode(parseInt(hex, 16));
            this.pos += 4;
            break;
          }
          default:
            this.fail(`unknown escape \\${e ?? ''} in string`);
        }
        from = this.pos;
      } else {
        this.pos++;
      }
    }
  }

  private readToken(): string {
    const t = this.text;
    const start = this.pos;
    while (this.pos < t.length && isTokenChar(t.charCodeAt(this.pos))) this.pos++;
    return t.slice(start, this.pos);
  }

  private readKeyword(): Keyword {
    this.pos++;
    const name = this.readToken();
    if (name === '' || name === ':') {
      this.fail(`a ':' not followed by a keyword name`);
    }
    return Keyword.of(name.startsWith(':') ? name.slice(1) : name);
  }

  private readChar(): EdnChar {
    this.pos++;
    const t = this.text;
    if (this.pos >= t.length) this.fail('a \\ at the end of the input');
    // A character literal is one character, or a name made of token characters.
    const first = t[this.pos] ?? '';
    this.pos++;
    let name = first;
    while (this.pos < t.length && isTokenChar(t.charCodeAt(this.pos))) name += t[this.pos++];
    if (name.length === 1) return new EdnChar(name);
    const named = NAMED_CHARS[name];
    if (named !== undefined) return new EdnChar(named);
    if (/^u[0-9a-fA-F]{4}$/.test(name))
      return new EdnChar(String.fromCharCode(parseInt(name.slice(1), 16)));
    return this.fail(`unknown character literal \\${name}`);
  }

  private readDispatch(): Edn | typeof DISCARDED {
    const t = this.text;
    const line = this.line;
    const next = t.charCodeAt(this.pos + 1);
    if (next === L_BRACE) {
      this.pos++;
      const set = this.readSeq('set', R_BRACE);
      return { ...set, line };
    }
    if (next === UNDERSCORE) {
      this.pos += 2;
      this.skipSpace();
      if (this.pos >= t.length) this.fail('#_ discards nothing (truncated file?)');
      this.readForm();
      return DISCARDED;
    }
    if (next === HASH) {
      this.pos += 2;
      const name = this.readToken();
      if (name === 'Inf') return Infinity;
      if (name === '-Inf') return -Infinity;
      if (name === 'NaN') return NaN;
      return this.fail(`unknown symbolic value ##${name}`);
    }
    if (next === QUOTE) {
      // A regex literal (Clojure, not EDN) reads as its source text.
      this.pos++;
      return this.readString();
    }
    this.pos++;
    const tag = this.readToken();
    if (tag === '' || !/^[A-Za-z]/.test(tag)) {
      this.fail(
        `'#' must start a set #{...}, a discard #_ or a tag like #inst, got '#${t.slice(this.pos, this.pos + 5)}'`,
      );
    }
    this.skipSpace();
    if (this.pos >= t.length) this.fail(`tag #${tag} has no value (truncated file?)`);
    const value = this.readForm();
    if (value === DISCARDED) this.fail(`tag #${tag} has no value`);
    return { kind: 'tagged', tag, value, line };
  }

  private readNumber(): number | string {
    const token = this.readToken();
    let body = token;
    if (body.endsWith('N') || body.endsWith('M')) body = body.slice(0, -1);
    if (/^[+-]?\d+$/.test(body)) {
      const n = Number(body);
      // Integers past 2^53 keep their digits, so equal values still compare equal.
      return Number.isSafeInteger(n) ? n : body.replace(/^\+/, '');
    }
    if (/^[+-]?\d+(\.\d*)?([eE][+-]?\d+)?$/.test(body)) return Number(body);
    const ratio = /^([+-]?\d+)\/(\d+)$/.exec(body);
    if (ratio !== null) return Number(ratio[1]) / Number(ratio[2]);
    return this.fail(`bad number '${token}'`);
  }

  private readSymbolic(): null | boolean | EdnSymbol {
    const token = this.readToken();
    if (token === '') {
      this.fail(`unexpected character '${this.text[this.pos] ?? ''}'`);
    }
    if (token === 'nil') return null;
    if (token === 'true') return true;
    if (token === 'false') return false;
    return new EdnSymbol(token);
  }
}

const DISCARDED: unique symbol = Symbol('discarded');

function isDigitAt(t: string, i: number): boolean {
  const c = t.charCodeAt(i);
  return c >= ZERO && c <= NINE;
}

/** Characters that may appear in symbols, keywords, numbers and tags. */
function isTokenChar(c: number): boolean {
  if (c >= 97 && c <= 122) return true; // a-z
  if (c >= 65 && c <= 90) return true; // A-Z
  if (c >= 48 && c <= 57) return true; // 0-9
  switch (c) {
    case DOT:
    case MINUS:
    case PLUS:
    case UNDERSCORE:
    case COLON:
    case HASH:
    case 42: // *
    case 33: // !
    case 63: // ?
    case 36: // $
    case 37: // %
    case 38: // &
    case 61: // =
    case 60: // <
    case 62: // >
    case 47: // /
    case 39: // '
      return true;
    default:
      return c > 127;
  }
}
