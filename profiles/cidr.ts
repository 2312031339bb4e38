// IPv4 CIDR arithmetic for the profile's network checks.

export interface Cidr {
    /** Network address as an unsigned 32-bit number. */
    base: number;
    prefix: number;
}

/** Parses "a.b.c.d/n"; undefined when it is not a canonical IPv4 CIDR (host bits must be zero). */
export function parseCidr(text: string): Cidr | undefined {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text);
    if (!m) return undefined;
    const octets = m.slice(1, 5).map(Number);
    const prefix = Number(m[5]);
    if (octets.some((o) => o > 255) || prefix > 32) return undefined;
    const addr = octets.reduce((acc, o) => acc * 256 + o, 0);
    const size = 2 ** (32 - prefix);
    if (addr % size !== 0) return undefined;
    return { base: addr, prefix };
}

function range(text: string): [number, number] {
    const c = parseCidr(text);
    if (!c) throw new Error(`not a CIDR: ${text}`);
    return [c.base, c.base + 2 ** (32 - c.prefix) - 1];
}

/** True when `inner` lies wholly inside `outer`; false if either is malformed. */
export function cidrContains(outer: string, inner: string): boolean {
    if (!parseCidr(outer) || !parseCidr(inner)) return false;
    const [o0, o1] = range(outer);
    const [i0, i1] = range(inner);
    return i0 >= o0 && i1 <= o1;
}

/** True when the two ranges share an address; false if either is malformed. */
export function cidrsOverlap(a: string, b: string): boolean {
    if (!parseCidr(a) || !parseCidr(b)) return false;
    const [a0, a1] = range(a);
    const [b0, b1] = range(b);
    return a0 <= b1 && b0 <= a1;
}
