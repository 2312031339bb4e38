// IPv4 CIDR arithmetic for the profile's network checks.

export interface Cidr {
    /** Network address as an unsigned 32-bit number. */
    base: number;
    prefix: number;
}

// An octet or prefix without leading zeros: kubeadm's parser refuses 010.1.0.0 after the VMs exist.
const DECIMAL = "(0|[1-9]\\d{0,2})";
const CIDR = new RegExp(`^${DECIMAL}\\.${DECIMAL}\\.${DECIMAL}\\.${DECIMAL}\\/(0|[1-9]\\d?)$`);

/** Parses "a.b.c.d/n"; undefined when it is not a canonical IPv4 CIDR (no leading zeros, host bits zero). */
export function parseCidr(text: string): Cidr | undefined {
    const m = CIDR.exec(text);
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

/** Why `text` is no canonical IPv4 CIDR, or undefined. */
export function cidrProblem(text: string): string | undefined {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,3})$/.exec(text);
    if (!m) return "must be an IPv4 CIDR such as 10.240.0.0/16";
    if (m.slice(1, 6).some((part) => part.length > 1 && part.startsWith("0"))) {
        return "must not have leading zeros (kubeadm refuses 010.0.0.0, which some tools read as octal)";
    }
    if (m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) > 32) return "must be an IPv4 CIDR such as 10.240.0.0/16 (octets up to 255, prefix up to /32)";
    if (!parseCidr(text)) return "must be a network address: the bits after the prefix must be zero (e.g. 10.240.0.0/16, not 10.240.1.0/16)";
    return undefined;
}

