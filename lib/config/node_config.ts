/**
 * What a server node is built with (lib/server/node.ts), and the one place
 * where flags become it: every policy that follows from a flag is decided
 * here, once — `--rate-limit 0` (benchmarks) also lifts the quotas, the
 * held-poll budgets and the web listener's per-address limits; two-disk
 * acks need peers and no `--one-disk-acks`; the web listener's total
 * connections follow the open-file limit.
 *
 * @example
 * ```ts
 * const { node, web, irc } = serverConfig(flags, readServers(flags.servers), openFileLimit());
 * nodeConfig({ id: "a", servers }); // the defaults, for tests
 * ```
 */
import type { Address } from "../wire/address.ts";
import type { Cidr } from "../wire/cidr.ts";
import {
  DEFAULT_HELD_POLL_LIMITS,
  DEFAULT_QUOTAS,
  DEFAULT_RATE_LIMIT,
  DEFAULT_SESSION_RATE,
  DEFAULT_WEB_LIMITS,
  type HeldPollLimits,
  type QuotaLimits,
  webConnectionTotal,
  type WebLimits,
} from "./limits.ts";
import type { ServerFlags } from "./server_flags.ts";
import type { ServerEntry } from "./servers_file.ts";
import type { IrcOpers } from "./irc_opers.ts";

/** How a node behaves: who it is among whom, and its limits. */
export type NodeConfig = {
  /** This server's id (its line in servers.txt). */
  id: string;
  /** Every server of servers.txt, in file order (the ring of confirmers), with its peer address. */
  servers: readonly (Pick<ServerEntry, "id" | "peer"> & Partial<Pick<ServerEntry, "client" | "publicKey">>)[];
  /** Idle lifetime of new sessions, seconds. */
  sessionTtl: number;
  /** Requests per second per source IP; 0: no request-rate limit at all. */
  rateLimit: number;
  /** Requests per second per session; 0: none. */
  sessionRate: number;
  /** Per-address and per-session quotas; null: none. */
  quotas: QuotaLimits | null;
  /** Held long polls per session, and their KiB per source address and in all (Infinity: no limit). */
  heldPolls: HeldPollLimits;
  /** An add is acked once a second server has it (docs/ARCHITECTURE.md "Acks"); false: after the local commit. */
  twoDisk: boolean;
  /** The operator says the cluster is new: a new database may write under the plain id without hearing every peer. */
  newCluster: boolean;
  /** Servers the servers file names `retired` (their ops stay valid; lib/server/members.ts). */
  retired?: readonly string[];
  /** Added to a running cluster (`--join`): with a new database, no writes and no `got`s until caught up. */
  join?: boolean;
  /** The multicast group fan-out goes to, or null (unicast). */
  multicast: Address | null;
  /** How long a held ack waits for its second disk before it is dropped unanswered, ms. */
  holdAcksMs: number;
};

/** How the web listener behaves (lib/web/listener.ts). */
export type WebConfig = {
  /** Where it listens. */
  at: Address;
  /** Web URLs of every server of servers.txt (pages fail over along them; origins allowed). */
  servers: readonly Pick<ServerEntry, "id" | "web">[];
  /** Host names it answers to besides those of the servers' URLs, its listen address and IPs (`--web-host`). */
  hosts: string[];
  /** Sources that may read /metrics (`--metrics-allow`). */
  metricsAllow: Cidr[];
  /** Connection budgets, timeouts and output bounds. */
  limits: WebLimits;
  /** Responses waiting per IP address (`POST /dc`). */
  maxWaitingPerIp: number;
  /** HTTP requests per second per IP address (`--web-request-rate`, lib/web/request_rate.ts; 0: none). */
  requestRate: number;
};

/** How the IRC listener behaves (lib/ircd/listener.ts, docs/IRC.md). */
export type IrcListenConfig = {
  /** Where it listens in plain text and over TLS (either may be null, not both). */
  at: Address | null;
  tlsAt: Address | null;
  /** The server's name in IRC sources and numerics. */
  name: string;
  /** Servers in the cluster (LUSERS). */
  servers: number;
  /** The server's description (`--irc-info`: LINKS, INFO). */
  info?: string;
  /** The DistChat ids of the cluster's other servers (LINKS). */
  peers?: readonly string[];
  /** The IRC operators (`--irc-opers`, lib/config/irc_opers.ts): OPER's names and password verifiers. */
  opers?: IrcOpers;
  /**
   * Connection budgets (the web listener's per-address and total numbers, a budget of its own), the
   * registration timeout (`idleMs`), the idle backstop past IRC's own PING timeout (`wsIdleMs`), output bounds.
   */
  limits: WebLimits;
};

/** An IRC connection must finish registering within this long (RFC 2812 servers use about a minute). */
export const IRC_REGISTRATION_MS = 60_000;
/** A registered IRC connection silent this long is closed (a backstop: the core PINGs after 120 s and gives up 120 s later). */
export const IRC_IDLE_MS = 300_000;

/** Responses of the web listener waiting at once per IP address, by default. */
export const DEFAULT_WAITING_PER_IP = 256;

/** A node's config with the defaults of `npm run server` for what is not given (tests, simulations). */
export function nodeConfig(o: Partial<NodeConfig> & Pick<NodeConfig, "id" | "servers">): NodeConfig {
  return {
    sessionTtl: 300,
    rateLimit: DEFAULT_RATE_LIMIT,
    sessionRate: DEFAULT_SESSION_RATE,
    quotas: DEFAULT_QUOTAS,
    heldPolls: DEFAULT_HELD_POLL_LIMITS,
    twoDisk: o.servers.length > 1,
    newCluster: false,
    multicast: null,
    holdAcksMs: 10_000,
    ...o,
  };
}

/**
 * The node's and the web listener's config from a server's flags, its
 * servers file and the process's open-file limit (null: unknown). `webAt`:
 * where the web listener binds (lib/config/server_flags.ts
 * webListenAddress), or null for none. `retired`: the ids the servers file
 * names `retired`.
 */
export function serverConfig(
  flags: ServerFlags,
  servers: readonly ServerEntry[],
  webAt: Address | null,
  fileLimit: number | null,
  retired: readonly string[] = [],
): { node: NodeConfig; web: WebConfig | null; irc: IrcListenConfig | null } {
  // --rate-limit 0 (benchmarks) turns every per-address and per-session limit off.
  const unlimited = flags.rateLimit === 0;
  const q = flags.quotas;
  const node = nodeConfig({
    id: flags.id,
    servers,
    sessionTtl: flags.sessionTtl,
    rateLimit: flags.rateLimit,
    sessionRate: flags.sessionRate,
    quotas: unlimited ? null : q,
    heldPolls: unlimited
      ? { heldPollsPerSession: Infinity, heldPollKibPerIp: Infinity, heldPollKib: Infinity }
      : { heldPollsPerSession: q.heldPollsPerSession, heldPollKibPerIp: q.heldPollKibPerIp, heldPollKib: q.heldPollKib },
    twoDisk: servers.length > 1 && !flags.oneDiskAcks,
    newCluster: flags.newCluster,
    multicast: flags.multicast,
    retired,
    join: flags.join,
  });
  const perAddress = unlimited ? Infinity : flags.webConnectionsPerIp, total = flags.webConnections ?? webConnectionTotal(fileLimit);
  const irc: IrcListenConfig | null = flags.irc === null && flags.ircTls === null ? null : {
    at: flags.irc,
    tlsAt: flags.ircTls,
    name: flags.ircName,
    servers: servers.length,
    info: flags.ircInfo,
    peers: servers.filter((s) => s.id !== flags.id).map((s) => s.id),
    limits: { ...DEFAULT_WEB_LIMITS, perAddress, total, idleMs: IRC_REGISTRATION_MS, wsIdleMs: IRC_IDLE_MS },
  };
  const web: WebConfig | null = webAt === null ? null : {
    at: webAt,
    servers,
    hosts: flags.webHosts,
    metricsAllow: flags.metricsAllow,
    limits: {
      ...DEFAULT_WEB_LIMITS,
      perAddress,
      total,
      idleMs: flags.webTimeout * 1000,
    },
    maxWaitingPerIp: unlimited ? Infinity : DEFAULT_WAITING_PER_IP,
    requestRate: unlimited ? 0 : flags.webRequestRate,
  };
  return { node, web, irc };
}
