/**
 * Operators' metrics in the Prometheus text exposition format (version
 * 0.0.4), written by hand: counters and one histogram that the ports update
 * as they work, and gauges read from the server's state at scrape time.
 * docs/OPERATIONS.md "Metrics" explains each. Pure: no sockets here.
 *
 * @example
 * ```ts
 * const m = new ServerMetrics();
 * m.request("add"); m.ackLatency(0.004);
 * m.render({ gauges: [{ name: "distchat_sessions", help: "live sessions", values: [[{}, 3]] }] });
 * ```
 */

import type { StatusReport } from "./status.ts";
import { Counts } from "./counts.ts";
import { get, parseVectorText } from "../wire/vector.ts";

/** Label names and values of one sample. */
export type Labels = Record<string, string>;

/** A metric read at scrape time. */
export type Gauge = { name: string; help: string; type?: "gauge" | "counter"; values: [Labels, number][] };

/** Upper bounds of the ack latency histogram, seconds. */
export const ACK_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A label value escaped as the format requires (backslash, double quote, line feed). */
function labelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function sample(name: string, labels: Labels, value: number): string {
  const keys = Object.keys(labels);
  const l = keys.length === 0 ? "" : `{${keys.map((k) => `${k}="${labelValue(labels[k])}"`).join(",")}}`;
  const v = Number.isFinite(value) ? String(value) : value > 0 ? "+Inf" : value < 0 ? "-Inf" : "NaN";
  return `${name}${l} ${v}\n`;
}

function family(g: Gauge): string {
  return `# HELP ${g.name} ${g.help}\n# TYPE ${g.name} ${g.type ?? "gauge"}\n` + g.values.map(([l, v]) => sample(g.name, l, v)).join("");
}

export class ServerMetrics {
  #requests = new Counts<string>();
  #errors = new Counts<string>();
  #buckets = new Array<number>(ACK_BUCKETS.length).fill(0);
  /** Adds acked (the histogram's count). */
  #ackCount = 0;
  #ackSum = 0;
  #web = new Counts<string>();
  #webDropped = new Counts<string>();

  /** A request of this verb was decoded (any transport). */
  request(verb: string): void {
    this.#requests.add(verb);
  }

  /** An error reply with this code was sent. */
  error(code: string): void {
    this.#errors.add(code);
  }

  /** An add was acked `seconds` after its request arrived. */
  ackLatency(seconds: number): void {
    this.#ackCount++;
    this.#ackSum += seconds;
    for (let i = 0; i < ACK_BUCKETS.length; i++) if (seconds <= ACK_BUCKETS[i]) this.#buckets[i]++;
  }

  /** An HTTP request of the web listener, by outcome ("datagram", "page", "metrics", "refused", …). */
  web(what: string): void {
    this.#web.add(what);
  }

  /** A connection of the web listener refused or closed by one of its limits, by reason (lib/web/connections.ts). */
  webDropped(reason: string): void {
    this.#webDropped.add(reason);
  }

  /** The exposition: the counters and histogram kept here, then `gauges` read now. */
  render(o: { gauges: Gauge[] }): string {
    const byKey = (m: Counts<string>, label: string): [Labels, number][] =>
      [...m.entries()].sort(([a], [b]) => a < b ? -1 : 1).map(([k, v]) => [{ [label]: k }, v]);
    const own: Gauge[] = [
      { name: "distchat_requests_total", help: "Client requests decoded, by verb (UDP and web).", type: "counter", values: byKey(this.#requests, "verb") },
      { name: "distchat_errors_total", help: "Error replies sent to clients, by code.", type: "counter", values: byKey(this.#errors, "code") },
      { name: "distchat_adds_acked_total", help: "Adds acknowledged (ok sent).", type: "counter", values: [[{}, this.#ackCount]] },
      { name: "distchat_web_requests_total", help: "HTTP requests of the web listener, by kind.", type: "counter", values: byKey(this.#web, "kind") },
      {
        name: "distchat_web_connections_dropped_total",
        help: "Connections of the web listener refused or closed by a limit, by reason.",
        type: "counter",
        values: byKey(this.#webDropped, "reason"),
      },
    ];
    let hist = "# HELP distchat_ack_latency_seconds Time from an add's arrival to its ack being sent.\n# TYPE distchat_ack_latency_seconds histogram\n";
    ACK_BUCKETS.forEach((le, i) => (hist += sample("distchat_ack_latency_seconds_bucket", { le: String(le) }, this.#buckets[i])));
    hist += sample("distchat_ack_latency_seconds_bucket", { le: "+Inf" }, this.#ackCount);
    hist += sample("distchat_ack_latency_seconds_sum", {}, Math.round(this.#ackSum * 1e6) / 1e6);
    hist += sample("distchat_ack_latency_seconds_count", {}, this.#ackCount);
    return own.map(family).join("") + hist + o.gauges.map(family).join("");
  }
}

/** A peer counts as up when heard within this long (peers send `got` every 250 ms). */
const UP_MS = 5000;

/** Password guessing (lib/accounts/guess_guard.ts) as counters. */
export function guessGauges(g: { failures: number; lockedOut: number; puzzles: number }): Gauge[] {
  return [
    { name: "distchat_password_failures_total", help: "Wrong password proofs (login, password, drop) since start.", type: "counter", values: [[{}, g.failures]] },
    { name: "distchat_password_lockouts_total", help: "Password challenges and proofs refused because the address (or the address for that name) must wait.", type: "counter", values: [[{}, g.lockedOut]] },
    { name: "distchat_password_puzzles_total", help: "Password challenges that asked for a proof of work (the name was under attack).", type: "counter", values: [[{}, g.puzzles]] },
  ];
}

/** Gauges of the web listener (lib/web/listener.ts): responses waiting, WebSockets and connections open. */
export function webGauges(w: { waiting: number; sockets: number; connections: number }): Gauge[] {
  const one = (name: string, help: string, v: number): Gauge => ({ name, help, values: [[{}, v]] });
  return [
    one("distchat_web_waiting", "HTTP requests of the web listener waiting for their reply.", w.waiting),
    one("distchat_web_sockets", "WebSocket connections of the web listener open.", w.sockets),
    one("distchat_web_connections", "TCP connections of the web listener open (WebSockets included).", w.connections),
  ];
}

/**
 * Gauges of a server's state report (lib/server/status.ts) and a few more:
 * sessions, rooms, messages, held polls and acks, and per peer whether it is
 * up, when it was last heard, how many ops it lacks of ours (replication
 * lag), its clock offset; datagrams dropped by reason.
 */
export function statusGauges(r: StatusReport, more: { rooms: number; expunged: number }): Gauge[] {
  const own = parseVectorText(r.vector);
  const peers = Object.entries(r.peers).sort(([a], [b]) => a < b ? -1 : 1);
  const behind = (v: string) => {
    const theirs = parseVectorText(v);
    let n = 0;
    for (const [o, k] of own) n += Math.max(0, k - get(theirs, o));
    return n;
  };
  const one = (name: string, help: string, v: number): Gauge => ({ name, help, values: [[{}, v]] });
  return [
    one("distchat_sessions", "Live sessions.", r.sessions),
    one("distchat_rooms", "Rooms.", more.rooms),
    one("distchat_messages_stored", "Visible chat messages stored.", r.messages),
    { ...one("distchat_messages_expunged_total", "Messages expunged by the retention limit since start.", more.expunged), type: "counter" },
    one("distchat_held_polls", "Long polls being held.", r.heldPolls),
    one("distchat_held_acks", "Add acks waiting for a second disk.", r.heldAcks ?? 0),
    one("distchat_ops_buffered", "Peer ops received but not yet deliverable.", r.gapsPending),
    one("distchat_uptime_seconds", "Seconds since the server started.", Math.round(r.uptimeMs / 1000)),
    one("distchat_catching_up", "1 while the server catches up after a restart or --join (writes refused, named no confirmer).", /^(re)?joining/.test(r.membership ?? "") ? 1 : 0),
    { name: "distchat_peer_up", help: `1 when the peer was heard within ${UP_MS / 1000} s.`, values: peers.map(([id, p]) => [{ peer: id }, p.lastHeardMsAgo !== null && p.lastHeardMsAgo <= UP_MS ? 1 : 0]) },
    {
      name: "distchat_peer_last_heard_seconds",
      help: "Seconds since the peer was last heard (absent: never).",
      values: peers.filter(([, p]) => p.lastHeardMsAgo !== null).map(([id, p]) => [{ peer: id }, (p.lastHeardMsAgo as number) / 1000]),
    },
    { name: "distchat_peer_ops_behind", help: "Ops this server has that the peer is not known to have (replication lag).", values: peers.map(([id, p]) => [{ peer: id }, behind(p.vector)]) },
    {
      name: "distchat_peer_clock_offset_seconds",
      help: "The peer's clock minus this server's.",
      values: peers.filter(([, p]) => p.clockOffsetMs != null).map(([id, p]) => [{ peer: id }, (p.clockOffsetMs as number) / 1000]),
    },
    {
      name: "distchat_peer_datagrams_dropped_total",
      help: "Peer datagrams (or ops) dropped, by reason.",
      type: "counter",
      values: Object.entries(r.dropped).sort(([a], [b]) => a < b ? -1 : 1).map(([reason, n]) => [{ reason }, n]),
    },
    { ...one("distchat_peer_datagrams_sent_total", "Peer datagrams sent.", r.sent), type: "counter" },
    { ...one("distchat_peer_datagrams_received_total", "Peer datagrams received.", r.received), type: "counter" },
  ];
}
