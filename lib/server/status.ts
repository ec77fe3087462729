/**
 * Server health reports: what a server answers to a peer `stat` datagram
 * (one line of JSON in a `state` datagram), and the table `npm run status`
 * prints from them. Pure: no sockets here.
 *
 * @example
 * ```ts
 * const line = JSON.stringify(report);        // server side
 * formatStatusTable(servers, new Map([["a", parseReport(line)]]), 0);
 * ```
 */
import type { ServerEntry } from "../config/servers_file.ts";
import { formatAddress } from "../wire/address.ts";
import { sanitize } from "../wire/safe_text.ts";
import { encodePeer } from "../wire/codec.ts";
import { peerMac } from "../replication/peer_auth.ts";

/** What a server reports about itself. */
export type StatusReport = {
  id: string;
  /** Runtime, e.g. "node 24.21.0". */
  runtime: string;
  uptimeMs: number;
  /** Delivered vector, wire form ("a=3,b=2"). */
  vector: string;
  /** Chat messages stored. */
  messages: number;
  /** Live sessions. */
  sessions: number;
  /** Long polls being held. */
  heldPolls: number;
  /** Add acks waiting for a second disk (docs/ARCHITECTURE.md "Acks"); shown as "acks". */
  heldAcks?: number;
  /** Ops received but not yet deliverable (waiting for what they depend on). */
  gapsPending: number;
  /**
   * Per peer: ms since last heard (null: never), its last known vector, its clock minus ours (ms; null: not
   * known), and the peer protocol version it proved (null: not yet; absent: a server before version 2).
   */
  peers: Record<string, { lastHeardMsAgo: number | null; vector: string; clockOffsetMs?: number | null; protocol?: number | null }>;
  /** Peer datagrams dropped, by reason. */
  dropped: Record<string, number>;
  sent: number;
  received: number;
  /** "unicast" or "multicast GROUP:PORT". */
  fanout: string;
  /** True when a cluster key authenticates peers. */
  keyed: boolean;
  /** "member"; "joining: …" while a server added with --join catches up, "rejoining: …" while a restarted one does (what it waits for); "retiring" (docs/OPERATIONS.md "Adding and retiring a server", "Restarting a server"). */
  membership?: string;
  /** The live servers this one counts as members, in servers-file order. */
  members?: string[];
  /** Its peer protocol version, and the one every peer speaks (docs/PEER_PROTOCOL.md "Versions"); absent before version 2. */
  protocol?: number;
  sharedProtocol?: number;
  /** The encrypted peer links (lib/server/secure_peers.ts), when they are: group datagrams sent, fan-outs sent per peer instead, group datagrams opened. */
  links?: { groupSent: number; groupFallback: number; groupOpened: number };
};

/**
 * What a server answers to a keyed `stat` whose nonce time is too far from
 * its clock (the status tool's clock and the server's disagree): its id and
 * its time, so the tool asks again with a nonce in the server's time. Under
 * 1.5× the size of the stat; it tells nothing but the time.
 */
export type ClockHint = { id: string; staleNonce: true; now: number };

/** Parses a clock hint; null when it is not one. */
export function parseClockHint(json: string): ClockHint | null {
  try {
    const r = JSON.parse(json);
    return r && r.staleNonce === true && typeof r.id === "string" && Number.isSafeInteger(r.now) ? r : null;
  } catch {
    return null;
  }
}

/**
 * A `stat` datagram (npm run status). With a cluster key it is MACed and its
 * nonce is `serverNow` (ms in the server's time: our clock plus its offset
 * from a clock hint, 0 until one came) and 16 random hex digits; without,
 * nonce and mac are "-".
 */
export function statDatagram(key: Uint8Array | null, serverNow: number, randomHex: string): Uint8Array {
  const nonce = key ? `${Math.round(serverNow)}.${randomHex}` : "-";
  return encodePeer({ verb: "stat", from: "status", nonce }, (signed) => (key ? peerMac(key, signed) : "-"));
}

/** Parses a report; null when it is not one. */
export function parseReport(json: string): StatusReport | null {
  try {
    const r = JSON.parse(json);
    return r && typeof r === "object" && typeof r.id === "string" && typeof r.vector === "string" ? r : null;
  } catch {
    return null;
  }
}

/** Aligned columns; every cell is made safe to print (it came from the network). */
function pad(cells: unknown[][]): string {
  const rows = cells.map((r) => r.map((c) => sanitize(String(c))));
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd()).join("\n");
}

/** " (clock +12s)" when a peer's clock is more than a second off ours, else "". */
function skew(ms: unknown): string {
  if (typeof ms !== "number" || Math.abs(ms) < 1000) return "";
  return ` (clock ${ms > 0 ? "+" : "-"}${Math.round(Math.abs(ms) / 1000)}s)`;
}

/** "2/1": the server's peer protocol version and the one all its peers speak (a server before version 2 reports neither: "1"). */
function protocolCell(r: StatusReport): string {
  const v = (x: unknown) => (typeof x === "number" && Number.isSafeInteger(x) ? String(x) : null);
  return v(r.protocol) === null ? "1" : `${v(r.protocol)}/${v(r.sharedProtocol) ?? "?"}`;
}

/** Seconds, to one decimal, or "never". */
function ago(ms: number | null): string {
  return ms === null ? "never" : `${(ms / 1000).toFixed(1)}s`;
}

/**
 * The health table: one row per server of servers.txt (down when it did not
 * answer), then whether all live servers hold the same vector.
 */
export function formatStatusTable(servers: ServerEntry[], reports: ReadonlyMap<string, StatusReport>): string {
  const rows = [["server", "peer address", "state", "protocol", "vector", "msgs", "sessions", "polls", "acks", "gaps", "peers heard", "dropped"]];
  for (const s of servers) {
    const r = reports.get(s.id);
    if (!r) {
      rows.push([s.id, formatAddress(s.peer), "DOWN", "-", "-", "-", "-", "-", "-", "-", "-", "-"]);
      continue;
    }
    const record = <T>(x: unknown): [string, T][] => (x && typeof x === "object" ? Object.entries(x as Record<string, T>) : []);
    const heard = record<{ lastHeardMsAgo: number | null; clockOffsetMs?: number | null }>(r.peers)
      .map(([id, p]) => `${id}:${ago(typeof p?.lastHeardMsAgo === "number" ? p.lastHeardMsAgo : null)}${skew(p?.clockOffsetMs)}`).join(" ");
    const dropped = record<number>(r.dropped).filter(([, n]) => n > 0).map(([k, n]) => `${k}=${n}`).join(" ");
    rows.push([
      s.id,
      formatAddress(s.peer),
      `up ${ago(r.uptimeMs)}${typeof r.membership === "string" && r.membership !== "member" ? `, ${r.membership}` : ""}`,
      protocolCell(r),
      r.vector,
      String(r.messages),
      String(r.sessions),
      String(r.heldPolls),
      typeof r.heldAcks === "number" ? String(r.heldAcks) : "-",
      String(r.gapsPending),
      heard || "-",
      dropped || "0",
    ]);
  }
  const live = [...reports.values()];
  const same = live.length > 0 && live.every((r) => r.vector === live[0].vector);
  const summary = live.length === 0
    ? "no server answered"
    : `${live.length}/${servers.length} up; ${same ? "all hold the same messages" : "vectors differ (catching up)"}`;
  // A membership change not yet made on every server (docs/OPERATIONS.md "Adding and retiring a server").
  const lists = new Set(live.map((r) => Array.isArray(r.members) ? r.members.join(",") : ""));
  const members = lists.size > 1 ? `\nmembers differ: ${sanitize(live.map((r) => `${r.id}: ${Array.isArray(r.members) ? r.members.join(",") : "?"}`).join("; "))}` : "";
  return pad(rows) + "\n" + summary + members;
}
