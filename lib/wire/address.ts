/**
 * Network addresses as DistChat writes them: `host:port`, IPv6 hosts in
 * brackets (`[::1]:7001`).
 *
 * @example
 * ```ts
 * parseAddress("127.0.0.1:7001"); // { host: "127.0.0.1", port: 7001 }
 * formatAddress({ host: "::1", port: 7001 }); // "[::1]:7001"
 * ```
 */

export type Address = { host: string; port: number };

/** Parses `host:port`; throws RangeError/SyntaxError with a readable message. */
export function parseAddress(text: string): Address {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^\s:]+):(\d{1,5})$/.exec(text);
  if (!m) throw new SyntaxError(`"${text}" is not host:port`);
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw new RangeError(`port ${port} is outside 1..65535`);
  return { host: m[1].replace(/^\[|\]$/g, ""), port };
}

/** `host:port` form of an address. */
export function formatAddress(a: Address): string {
  return a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** Where a client socket should bind to reach `targets`: loopback when they all are, else any address of their family. */
export function bindHostFor(targets: readonly Address[]): string {
  if (targets.every((a) => a.host.startsWith("127.") || a.host === "localhost" || a.host === "::1")) {
    return targets.some((a) => a.host === "::1") ? "::1" : "127.0.0.1";
  }
  return targets.some((a) => a.host.includes(":")) ? "::" : "0.0.0.0";
}
