/**
 * Address ranges written as CIDR (`10.0.0.0/8`, `2001:db8::/32`, or one
 * address), and a set of them that answers whether an address is inside
 * (IPv4-mapped IPv6 addresses such as `::ffff:127.0.0.1` count as their
 * IPv4 address). Used by `--metrics-allow`.
 *
 * @example
 * ```ts
 * const s = new AddressRanges([parseCidr("127.0.0.0/8"), parseCidr("::1")]);
 * s.has("127.0.0.9");         // true
 * s.has("::ffff:127.0.0.1");  // true
 * s.has("192.0.2.1");         // false
 * ```
 */
import { BlockList, isIP } from "node:net";

/** One range: an address, its prefix length and family. */
export type Cidr = { address: string; prefix: number; family: "ipv4" | "ipv6" };

/** Loopback: what `--metrics-allow` allows when not given. */
export const LOOPBACK_RANGES = ["127.0.0.0/8", "::1/128"];

/** Parses `ADDRESS[/PREFIX]`; throws SyntaxError or RangeError naming the text. */
export function parseCidr(text: string): Cidr {
  const [address, prefixText, ...rest] = text.trim().split("/");
  const family = isIP(address);
  if (family === 0 || rest.length > 0) throw new SyntaxError(`"${text}" is not an IP address or ADDRESS/PREFIX`);
  const bits = family === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) throw new SyntaxError(`"${text}": the prefix must be a number`);
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  if (prefix > bits) throw new RangeError(`"${text}": an IPv${family} prefix is at most ${bits}`);
  return { address, prefix, family: family === 4 ? "ipv4" : "ipv6" };
}

/** A set of ranges (node:net BlockList underneath). */
export class AddressRanges {
  #list = new BlockList();
  readonly ranges: readonly Cidr[];

  constructor(ranges: readonly Cidr[]) {
    this.ranges = ranges;
    for (const r of ranges) this.#list.addSubnet(r.address, r.prefix, r.family);
  }

  /** True when `address` is in one of the ranges (false for what is not an address). */
  has(address: string): boolean {
    const family = isIP(address);
    if (family === 0) return false;
    return this.#list.check(address, family === 4 ? "ipv4" : "ipv6");
  }
}
