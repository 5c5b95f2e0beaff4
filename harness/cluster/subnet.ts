/**
 * Static addresses need a subnet the engine does not already use. A cluster's
 * default subnet is a /24 in 10.77.0.0/16 picked from a hash of its name, so
 * the same cluster tends to get the same addresses; when taken, the next free
 * one is used.
 */
export interface Cidr {
  readonly base: number;
  readonly bits: number;
}

export function parseCidr(text: string): Cidr {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) throw new Error(`not an IPv4 CIDR: '${text}'`);
  const octets = m.slice(1, 5).map(Number);
  const bits = Number(m[5]);
  if (octets.some((o) => o > 255) || bits > 32) throw new Error(`not an IPv4 CIDR: '${text}'`);
  const addr = octets.reduce((acc, o) => acc * 256 + o, 0);
  const size = 2 ** (32 - bits);
  return { base: addr - (addr % size), bits };
}

export function formatIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  const endA = a.base + 2 ** (32 - a.bits);
  const endB = b.base + 2 ** (32 - b.bits);
  return a.base < endB && b.base < endA;
}

/** Node k (1-based) gets .(10+k) of the subnet; .1 is the gateway. */
export function nodeIp(subnet: string, index: number): string {
  const c = parseCidr(subnet);
  const size = 2 ** (32 - c.bits);
  if (index < 1 || 10 + index >= size - 1) {
    throw new Error(`subnet ${subnet} has no room for node ${index}`);
  }
  return formatIp(c.base + 10 + index);
}

export function gatewayIp(subnet: string): string {
  return formatIp(parseCidr(subnet).base + 1);
}

function nameHash(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Every /24 of 10.77.0.0/16, starting at the one the name hashes to. */
export function candidateSubnets(name: string): string[] {
  const start = nameHash(name) % 256;
  return Array.from({ length: 256 }, (_, i) => `10.77.${(start + i) % 256}.0/24`);
}

/** The first candidate that overlaps nothing taken (engine networks, host interfaces). */
export function chooseSubnet(name: string, taken: readonly string[]): string {
  const used = taken.flatMap((t) => {
    try {
      return [parseCidr(t)];
    } catch {
      return [];
    }
  });
  for (const candidate of candidateSubnets(name)) {
    const c = parseCidr(candidate);
    if (!used.some((u) => overlaps(u, c))) return candidate;
  }
  throw new Error('no free /24 left in 10.77.0.0/16: remove some networks or set subnet');
}
