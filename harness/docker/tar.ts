import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';

/**
 * A minimal ustar writer: enough for a build context and an imported root
 * filesystem. Paths longer than ustar's fields get a PAX header, so no path is
 * ever cut short silently.
 */
export type TarEntry =
  | { readonly type: 'dir'; readonly path: string; readonly mode?: number }
  | { readonly type: 'file'; readonly path: string; readonly mode?: number; readonly data: Buffer }
  | {
      readonly type: 'file';
      readonly path: string;
      readonly mode?: number;
      /** Host file streamed into the archive; `size` must be its size. */
      readonly source: string;
      readonly size: number;
    }
  | { readonly type: 'symlink'; readonly path: string; readonly target: string };

const BLOCK = 512;
/** A fixed time so that the same inputs make the same bytes. */
const MTIME = 946684800; // 2000-01-01

export function tarStream(entries: Iterable<TarEntry> | AsyncIterable<TarEntry>): Readable {
  return Readable.from(tarChunks(entries), { objectMode: false });
}

async function* tarChunks(
  entries: Iterable<TarEntry> | AsyncIterable<TarEntry>,
): AsyncGenerator<Buffer> {
  for await (const entry of entries) {
    const name = entry.type === 'dir' ? entry.path.replace(/\/?$/, '/') : entry.path;
    if (name.startsWith('/') || name.split('/').includes('..')) {
      throw new Error(`tar: refusing path '${entry.path}' (absolute or with '..')`);
    }
    const size = entry.type === 'file' ? ('data' in entry ? entry.data.length : entry.size) : 0;
    const linkname = entry.type === 'symlink' ? entry.target : '';
    const split = splitName(name);
    const pax: string[] = [];
    if (split === undefined) pax.push(paxRecord('path', name));
    if (Buffer.byteLength(linkname) > 100) pax.push(paxRecord('linkpath', linkname));
    if (pax.length > 0) {
      const body = Buffer.from(pax.join(''));
      yield header({ name: 'PaxHeader', prefix: '', size: body.length, type: 'x', mode: 0o644 });
      yield* padded(body);
    }
    const fields = split ?? { name: name.slice(-100), prefix: '' };
    const type = entry.type === 'dir' ? '5' : entry.type === 'symlink' ? '2' : '0';
    const mode = entry.type === 'symlink' ? 0o777 : (entry.mode ?? (type === '5' ? 0o755 : 0o644));
    yield header({ ...fields, size, type, mode, linkname: linkname.slice(0, 100) });
    if (entry.type !== 'file') continue;
    if ('data' in entry) {
      yield* padded(entry.data);
      continue;
    }
    let written = 0;
    for await (const chunk of createReadStream(entry.source)) {
      const buf = chunk as Buffer;
      written += buf.length;
      if (written > entry.size) break;
      yield buf;
    }
    if (written !== entry.size) {
      throw new Error(
        `tar: ${entry.source} changed size while archived (${entry.size} -> ${written})`,
      );
    }
    const rest = (BLOCK - (size % BLOCK)) % BLOCK;
    if (rest > 0) yield Buffer.alloc(rest);
  }
  yield Buffer.alloc(BLOCK * 2);
}

function* padded(data: Buffer): Generator<Buffer> {
  yield data;
  const rest = (BLOCK - (data.length % BLOCK)) % BLOCK;
  if (rest > 0) yield Buffer.alloc(rest);
}

/** ustar keeps up to 155 bytes of directories in `prefix` and 100 of the rest in `name`. */
function splitName(path: string): { name: string; prefix: string } | undefined {
  if (Buffer.byteLength(path) <= 100) return { name: path, prefix: '' };
  for (let i = path.lastIndexOf('/', path.length - 2); i > 0; i = path.lastIndexOf('/', i - 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100) {
      return { name, prefix };
    }
    if (Buffer.byteLength(name) > 100) return undefined;
  }
  return undefined;
}

function paxRecord(key: string, value: string): string {
  // The length prefix counts itself, so find the fixed point.
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body);
  while (String(len + String(len).length).length !== String(len).length) len++;
  len += String(len).length;
  return `${len}${body}`;
}

interface HeaderFields {
  name: string;
  prefix: string;
  size: number;
  type: string;
  mode: number;
  linkname?: string;
}

function header(f: HeaderFields): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(f.name, 0, 100, 'utf8');
  octal(b, 100, 8, f.mode);
  octal(b, 108, 8, 0);
  octal(b, 116, 8, 0);
  octal(b, 124, 12, f.size);
  octal(b, 136, 12, MTIME);
  b.write('        ', 148, 8, 'ascii');
  b.write(f.type, 156, 1, 'ascii');
  if (f.linkname !== undefined) b.write(f.linkname, 157, 100, 'utf8');
  b.write('ustar\u000000', 257, 8, 'binary');
  b.write('root', 265, 32, 'ascii');
  b.write('root', 297, 32, 'ascii');
  b.write(f.prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(sum.toString(8).padStart(6, '0') + '\u0000 ', 148, 8, 'binary');
  return b;
}

function octal(b: Buffer, offset: number, width: number, value: number): void {
  const digits = value.toString(8);
  if (digits.length > width - 1) throw new Error(`tar: value ${value} too large for its field`);
  b.write(digits.padStart(width - 1, '0') + '\u0000', offset, width, 'ascii');
}
