/**
 * Which process holds a UDP port, for an error a user can act on ("port
 * 7001 is held by process 4242: node server.ts --id a …"). Linux only:
 * /proc/net/udp{,6} maps the port to a socket inode and /proc/PID/fd maps
 * the inode to a process; elsewhere, or without permission, it says nothing.
 *
 * @example
 * ```ts
 * udpPortOwner(7001); // { pid: 4242, command: "node server.ts --id a --servers servers.txt" } or null
 * ```
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

export type PortOwner = { pid: number; command: string };

/** The process holding UDP `port`, or null when it cannot be told. */
export function udpPortOwner(port: number): PortOwner | null {
  try {
    const inodes = new Set<string>();
    for (const file of ["/proc/net/udp", "/proc/net/udp6"]) {
      let text = "";
      try {
        text = readFileSync(file, "utf8");
      } catch {
        continue;
      }
      for (const line of text.split("\n").slice(1)) {
        const f = line.trim().split(/\s+/);
        if (f.length > 9 && parseInt(f[1].slice(f[1].lastIndexOf(":") + 1), 16) === port) inodes.add(f[9]);
      }
    }
    if (inodes.size === 0) return null;
    for (const pid of readdirSync("/proc")) {
      if (!/^\d+$/.test(pid)) continue;
      let fds: string[];
      try {
        fds = readdirSync(`/proc/${pid}/fd`);
      } catch {
        continue;
      }
      for (const fd of fds) {
        let link = "";
        try {
          link = readlinkSync(`/proc/${pid}/fd/${fd}`);
        } catch {
          continue;
        }
        const m = /^socket:\[(\d+)\]$/.exec(link);
        if (m && inodes.has(m[1])) {
          const command = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
          return { pid: Number(pid), command };
        }
      }
    }
  } catch {
    // not Linux, or not allowed to look
  }
  return null;
}

/** A sentence for a failed bind: who holds the port and what to do. */
export function bindProblem(address: string, port: number, e: unknown, flag: string, udp = true): string {
  const code = (e as { code?: string }).code ?? "";
  if (code === "EADDRINUSE" || /in use|AddrInUse/i.test(String((e as Error).message))) {
    const owner = udp ? udpPortOwner(port) : null;
    const who = owner ? `process ${owner.pid} (${owner.command.slice(0, 120)}) holds it` : "another process holds it";
    return `cannot bind ${address}: the port is in use — ${who}. Stop that process (kill ${owner?.pid ?? "PID"}) ` +
      `or choose another address with ${flag} or in the servers file.`;
  }
  if (code === "EADDRNOTAVAIL") return `cannot bind ${address}: no interface of this machine has that address; fix it in the servers file or with ${flag}.`;
  if (code === "EACCES") return `cannot bind ${address}: not allowed (ports below 1024 need privileges); choose another port with ${flag}.`;
  return `cannot bind ${address}: ${(e as Error).message}`;
}
