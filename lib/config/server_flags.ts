/**
 * Command-line flags of server.ts (node:util parseArgs), checked into one
 * typed value. Bad flags throw a FlagError with one line a user can act on.
 *
 * @example
 * ```ts
 * const f = parseServerFlags(["--id", "a", "--servers", "servers.txt"]);
 * f.db; // "data/a.sqlite"
 * ```
 */
import { DEFAULT_HANDSHAKES_PER_SECOND } from "../secure/responder.ts";
import { defineCommand, helpText, parseFlags } from "./cli.ts";
import { serverIdProblem } from "../wire/names.ts";
import type { Address } from "../wire/address.ts";
import { parseAddress } from "../wire/address.ts";
import { DEFAULT_HELD_POLL_LIMITS, DEFAULT_QUOTAS, DEFAULT_RATE_LIMIT, DEFAULT_SESSION_RATE, DEFAULT_WEB_LIMITS, DEFAULT_WEB_REQUEST_RATE, type HeldPollLimits, QUOTA_NAMES, type QuotaLimits } from "./limits.ts";
import { type Cidr, LOOPBACK_RANGES, parseCidr } from "../wire/cidr.ts";
import { hostName } from "../wire/cidr.ts";
import { webAddress } from "./servers_file.ts";
import { IRC_FLAGS, ircFlags, type IrcFlags, ircUses } from "./irc_flags.ts";
import { LOG_FORMAT_FLAG, type LogFormat, logFormatOf } from "./log.ts";

/** Flags only a web listener uses (and the IRC one: irc_flags.ts ircUses): refused with --no-web, and without --web or --irc. */
const WEB_ONLY_FLAGS = ["tls-cert", "web-host", "metrics-allow", "web-connections", "web-connections-per-ip", "web-request-rate", "web-timeout"] as const;

/** Where a server keeps its database when --db is not given. */
export function defaultDbPath(id: string): string {
  return `data/${id}.sqlite`;
}

/** A flag that cannot be used as given: its message is one line a user can act on. */
export class FlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FlagError";
  }
}

export type ServerFlags = IrcFlags & {
  id: string;
  servers: string;
  db: string;
  /** Idle lifetime of sessions, seconds. */
  sessionTtl: number;
  listen: Address | null;
  peerListen: Address | null;
  /** Requests per second per source IP; 0 = every request-rate limit off. */
  rateLimit: number;
  /** Requests per second per session; 0 = off. */
  sessionRate: number;
  /** Per-address and per-session quotas (--quota NAME=N). */
  quotas: QuotaLimits & HeldPollLimits;
  /** Expunge messages older than this many days; 0 = keep (lib/store/retention.ts). */
  retainDays: number;
  /** Keep at most this many messages per room; 0 = all. */
  retainMessages: number;
  /** Where the web listener binds (web client, HTTP transport, /metrics), as --web gives it; null: not given (see webListenAddress). */
  web: Address | null;
  /** --no-web: no web listener, even when servers.txt gives this server a web URL. */
  noWeb: boolean;
  /** Flags given that only a web listener uses (--tls-cert, --web-host, …) when --web is not: refused unless servers.txt gives one (webListenAddress). */
  webOnly: string[];
  /** PEM files: serve the web listener over HTTPS, and --irc-tls. */
  tlsCert: string | null;
  tlsKey: string | null;
  /** Host names the web listener answers to besides servers.txt's web URLs and its own address (--web-host). */
  webHosts: string[];
  /** Sources that may read /metrics (--metrics-allow; default loopback). */
  metricsAllow: Cidr[];
  /** Web connections in all; null = half the open-file limit, at most 10,000. */
  webConnections: number | null;
  /** Web connections per IP address; Infinity = no limit. */
  webConnectionsPerIp: number;
  /** HTTP requests per second per IP address on the web listener; 0 = no limit. */
  webRequestRate: number;
  /** Seconds a web connection may carry no request (and a request's head, then body, may take). */
  webTimeout: number;
  /** Free bytes below which writes are refused; 0 = no floor. */
  minFreeBytes: number;
  sync: "full" | "normal";
  /** File whose bytes are the cluster HMAC key, or null (peers not authenticated). */
  clusterKey: string | null;
  /** IPv4 multicast group and port for fan-out to peers, or null (unicast). */
  multicast: Address | null;
  /** The cluster is new: a new database may write under the plain server id without asking every peer. */
  newCluster: boolean;
  /** A new server added to a running cluster: it takes no writes and is named no confirmer until it has caught up. */
  join: boolean;
  /** Run without a cluster key although servers.txt lists peers (tests, benchmarks on one machine). */
  insecurePeers: boolean;
  /** This server's static private key file (the encrypted transport), or null: `<servers file's folder>/<id>.server.key`. */
  serverKey: string | null;
  /** Accept the unencrypted client protocol beside the encrypted one (socat by hand, independent test clients). */
  allowPlaintext: boolean;
  /** Client handshakes in a second past which initiations get cookie replies. */
  handshakesPerSecond: number;
  /** Ack an add once it is on this server's disk only (the default waits for a second server's). */
  oneDiskAcks: boolean;
  /** How log lines look (lib/config/log.ts): text, journal (with syslog priority prefixes) or json. */
  logFormat: LogFormat;
  /** Keep no full-text search index (`search` is then `unavailable`). */
  noSearch: boolean;
};

/** Every flag of server.ts: parsed by parseServerFlags, shown by `--help` (lib/config/cli.ts). */
export const SERVER_COMMAND = defineCommand({
  name: "distchat server",
  about: "DistChat server: one peer of the cluster listed in a servers file.",
  usage: "npm run server -- --id ID [flags]",
  flags: {
    id: { type: "string", value: "ID", help: "this server's line in the servers file (required)" },
    servers: { type: "string", value: "FILE", help: 'the cluster: "serverId clientAddress peerAddress [webUrl]" per line (default servers.txt)' },
    db: { type: "string", value: "PATH", help: "its SQLite database (default data/<id>.sqlite); delete it to start empty" },
    "session-ttl": { type: "string", value: "SECONDS", help: "idle lifetime of a login (default 300)" },
    listen: { type: "string", value: "HOST:PORT", help: "bind the client port here instead of its servers-file address" },
    "peer-listen": { type: "string", value: "HOST:PORT", help: "bind the peer port here instead of its servers-file address" },
    "rate-limit": {
      type: "string",
      value: "N",
      help: `requests per second per client IP address (default ${DEFAULT_RATE_LIMIT}); 0 turns off every request-rate limit, the quotas, ` +
        "the held-poll caps and the web connection limits (benchmarks). Past it, and past --session-rate, requests get rate-limited " +
        "(once a second per address; the rest are dropped)",
    },
    "session-rate": { type: "string", value: "N", help: `requests per second per session (default ${DEFAULT_SESSION_RATE}; 0 = off)` },
    quota: {
      type: "string",
      value: "NAME=N",
      multiple: true,
      help: "change one quota (repeat for more; 0 = none); past one, requests get rate-limited. Defaults: " +
        Object.entries(QUOTA_NAMES).map(([name, key]) => `${name}=${{ ...DEFAULT_QUOTAS, ...DEFAULT_HELD_POLL_LIMITS }[key]}`).join(" ") +
        " (message bytes are per session; writes are joins, leaves, moderation and account changes; held-poll KiB are the memory of held polls)",
    },
    "min-free-mb": {
      type: "string",
      value: "N",
      help: "below N MiB free on the database's disk, every request that writes gets unavailable (clients go to another server); 0 = no floor (default 256)",
    },
    web: {
      type: "string",
      value: "HOST:PORT",
      help: "serve the web client, its HTTP transport and /metrics here. Default: the host and port of this server's web URL in the " +
        "servers file (its 4th column, which pages fail over along), else none",
    },
    ...IRC_FLAGS,
    "no-web": { type: "boolean", help: "no web listener, even when the servers file gives this server a web URL" },
    "tls-cert": { type: "string", value: "FILE", help: "with --tls-key FILE (PEM): serve the web listener over HTTPS, and --irc-tls" },
    "tls-key": { type: "string", value: "FILE", help: "the certificate's private key" },
    "web-host": {
      type: "string",
      value: "NAME",
      multiple: true,
      help: "a host name browsers use for the web listener (repeat for more). Requests whose Host is not one of these, a servers.txt " +
        "web URL's, the listen address, an IP address or (on loopback) localhost get 421 (DNS rebinding)",
    },
    "metrics-allow": {
      type: "string",
      value: "CIDR",
      multiple: true,
      help: "addresses that may read /metrics (repeat for more; default 127.0.0.0/8 and ::1: loopback only). Others get 403",
    },
    "web-connections": {
      type: "string",
      value: "N",
      help: "TCP connections of the web listener in all, and of the IRC listener's (a budget each; default: half the open-file limit, at most 10000); a full listener still " +
        "takes an address holding fewer than the busiest one, whose oldest connection goes",
    },
    "web-connections-per-ip": {
      type: "string",
      value: "N",
      help: `TCP connections of one IP address, per listener (web, IRC; default ${DEFAULT_WEB_LIMITS.perAddress}; 0 = no limit). Behind a reverse proxy every ` +
        "connection is the proxy's: raise it there",
    },
    "web-request-rate": {
      type: "string",
      value: "N",
      help: `HTTP requests a second of one IP address (default ${DEFAULT_WEB_REQUEST_RATE}, bursts of 600; 0 = no limit): past it ` +
        "429 and the connection closed. Raise it behind a reverse proxy too",
    },
    "web-timeout": {
      type: "string",
      value: "SECONDS",
      help: "a web connection carrying no request is closed after this long, and a request's head and body must each arrive within it " +
        `(default ${DEFAULT_WEB_LIMITS.idleMs / 1000})`,
    },
    "retain-days": { type: "string", value: "N", help: "expunge messages older than N days (default 0: keep them for good)" },
    "retain-messages": {
      type: "string",
      value: "N",
      help: "keep only the newest N messages of each room (default 0: all). Either limit spares messages younger than an hour; give " +
        'every server the same limits (docs/OPERATIONS.md "Retention")',
    },
    sync: {
      type: "string",
      value: "full|normal",
      help: "full (default): an ack waits for the disk and survives power loss; normal: survives a crash of the process only",
    },
    "cluster-key": {
      type: "string",
      value: "FILE",
      help: "secret shared by all servers; authenticates peer datagrams. Required when the servers file lists other servers " +
        "(make one: npm run keygen -- FILE)",
    },
    "insecure-peers": {
      type: "boolean",
      help: "run without a cluster key anyway: anyone who reaches the peer port can inject messages and sessions. Only for tests on one machine",
    },
    "server-key": {
      type: "string",
      value: "FILE",
      help: "this server's static private key: clients' datagrams are encrypted to its public key, the key= of its servers-file line " +
        "(default: ID.server.key beside the servers file; make one: npm run keygen -- --server-key FILE)",
    },
    "handshakes-per-second": {
      type: "string",
      value: "N",
      help: `client handshakes a second past which initiations get a cookie reply instead, until they prove their address (default ${DEFAULT_HANDSHAKES_PER_SECOND})`,
    },
    "allow-plaintext": {
      type: "boolean",
      help: "also accept the unencrypted client protocol (socat by hand, test clients): anyone on the path reads messages and tokens. " +
        "Required when the servers file gives this server no key=",
    },
    multicast: { type: "string", value: "GROUP:PORT", help: "fan out to peers through an IPv4 multicast group" },
    "one-disk-acks": {
      type: "boolean",
      help: "ack a message once it is on this server's disk. Default (with peers): the ack waits until the message is also on the " +
        "disk of a second server, its confirmer; while no peer can confirm, adds are not answered and clients fail over to the " +
        'next server (docs/ARCHITECTURE.md "Acks")',
    },
    "no-search": {
      type: "boolean",
      help: 'keep no full-text search index (docs/PROTOCOL.md "Search"): each add costs a little less; search is then answered unavailable',
    },
    "new-cluster": {
      type: "boolean",
      help: "this is the first start of a new cluster: a server with a new database writes under its plain id without waiting for " +
        "every peer. Without it, a new (or restored, older) database writes under a new incarnation of the id unless every peer " +
        "confirms it is current (docs/OPERATIONS.md)",
    },
    join: { type: "boolean", help: 'this server is being added to a running cluster: with a new database, it takes no writes until it has caught up with every peer (docs/OPERATIONS.md "Adding and retiring a server")' },
    "log-format": LOG_FORMAT_FLAG,
  },
  notes: "With Deno: npx deno run -A server.ts --id ID [flags]. Stop it with Ctrl-C or SIGTERM (kill PID). docs/OPERATIONS.md has more.",
});

/** What `server.ts --help` prints. */
export const SERVER_HELP = helpText(SERVER_COMMAND);

function integer(name: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) < min || !Number.isSafeInteger(Number(text))) {
    throw new FlagError(`--${name} must be an integer ≥ ${min}, got "${text}"`);
  }
  return Number(text);
}

function address(name: string, text: string | undefined): Address | null {
  if (text === undefined) return null;
  try {
    return parseAddress(text);
  } catch (e) {
    throw new FlagError(`--${name}: ${(e as Error).message}`);
  }
}

/** An IPv4 multicast group (224.0.0.0/4) and a port ≥ 1. */
function multicast(text: string | undefined): Address | null {
  const a = address("multicast", text);
  if (a === null) return null;
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(a.host);
  if (!m || m.slice(1).some((x) => Number(x) > 255) || Number(m[1]) < 224 || Number(m[1]) > 239) {
    throw new FlagError(`--multicast: ${a.host} is not an IPv4 multicast group (224.0.0.0 to 239.255.255.255)`);
  }
  if (a.port === 0) throw new FlagError("--multicast needs a port other than 0");
  return a;
}

/** A --web-host name: a DNS name or an IP address, without a port. */
function webHost(text: string): string {
  const h = hostName(text);
  if (h === null || h !== text.toLowerCase().replace(/\.$/, "") || !/^(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*)$/.test(h)) {
    throw new FlagError(`--web-host ${text}: give a host name such as chat.example.org (no scheme, no port)`);
  }
  return h;
}

/** A --metrics-allow range. */
function cidr(text: string): Cidr {
  try {
    return parseCidr(text);
  } catch (e) {
    throw new FlagError(`--metrics-allow: ${(e as Error).message}; give ADDRESS/PREFIX such as 10.0.0.0/8`);
  }
}

/** The quotas with each `NAME=N` of --quota applied (0: no limit). */
function quotas(items: string[]): QuotaLimits & HeldPollLimits {
  const q = { ...DEFAULT_QUOTAS, ...DEFAULT_HELD_POLL_LIMITS };
  for (const item of items) {
    const m = /^([a-z-]+)=(\d{1,12})$/.exec(item);
    const name = m?.[1] as keyof typeof QUOTA_NAMES | undefined;
    if (!m || !name || !(name in QUOTA_NAMES)) {
      throw new FlagError(`--quota ${item}: give NAME=N with NAME one of ${Object.keys(QUOTA_NAMES).join(", ")}`);
    }
    q[QUOTA_NAMES[name]] = Number(m[2]) === 0 ? Infinity : Number(m[2]);
  }
  return q;
}

/** Parses server flags; throws FlagError. */
export function parseServerFlags(argv: string[]): ServerFlags {
  let values;
  try {
    values = parseFlags(SERVER_COMMAND, argv).values;
  } catch (e) {
    throw new FlagError((e as Error).message);
  }
  if (!values.id) throw new FlagError(`--id is required; usage: ${SERVER_COMMAND.usage}`);
  const badId = serverIdProblem(values.id);
  if (badId) throw new FlagError(`--id: ${badId}`);
  if ((values["tls-cert"] === undefined) !== (values["tls-key"] === undefined)) {
    throw new FlagError("--tls-cert and --tls-key go together");
  }
  const ircValues = { ...values, id: values.id };
  const irc = ircFlags(ircValues, address, (m) => new FlagError(m));
  const webOnly = WEB_ONLY_FLAGS.filter((f) => values[f] !== undefined && !ircUses(f, ircValues)).map((f) => `--${f}`);
  if (values["no-web"] && (values.web !== undefined || webOnly.length > 0)) {
    const given = [...(values.web !== undefined ? ["--web"] : []), ...webOnly, ...(values["tls-key"] !== undefined ? ["--tls-key"] : [])];
    throw new FlagError(`--no-web turns the web listener off: leave out ${given.join(", ")} with it`);
  }
  const sync = values.sync ?? "full";
  if (sync !== "full" && sync !== "normal") throw new FlagError(`--sync must be full or normal, got "${sync}"`);
  const logFormat = logFormatOf(values["log-format"], (message) => new FlagError(message));
  return {
    id: values.id,
    servers: values.servers ?? "servers.txt",
    db: values.db ?? defaultDbPath(values.id),
    sessionTtl: integer("session-ttl", values["session-ttl"], 300, 1),
    listen: address("listen", values.listen),
    peerListen: address("peer-listen", values["peer-listen"]),
    rateLimit: integer("rate-limit", values["rate-limit"], DEFAULT_RATE_LIMIT, 0),
    sessionRate: integer("session-rate", values["session-rate"], DEFAULT_SESSION_RATE, 0),
    quotas: quotas(values.quota ?? []),
    minFreeBytes: integer("min-free-mb", values["min-free-mb"], 256, 0) * 1024 * 1024,
    web: address("web", values.web),
    noWeb: values["no-web"] === true,
    webOnly: values.web === undefined ? webOnly : [],
    webHosts: (values["web-host"] ?? []).map(webHost),
    metricsAllow: values["metrics-allow"]?.map(cidr) ?? LOOPBACK_RANGES.map(cidr),
    webConnections: values["web-connections"] === undefined ? null : integer("web-connections", values["web-connections"], 0, 1),
    webConnectionsPerIp: integer("web-connections-per-ip", values["web-connections-per-ip"], DEFAULT_WEB_LIMITS.perAddress, 0) || Infinity,
    webRequestRate: integer("web-request-rate", values["web-request-rate"], DEFAULT_WEB_REQUEST_RATE, 0),
    webTimeout: integer("web-timeout", values["web-timeout"], DEFAULT_WEB_LIMITS.idleMs / 1000, 1),
    ...irc,
    tlsCert: values["tls-cert"] ?? null,
    tlsKey: values["tls-key"] ?? null,
    retainDays: integer("retain-days", values["retain-days"], 0, 0),
    retainMessages: integer("retain-messages", values["retain-messages"], 0, 0),
    sync,
    logFormat,
    clusterKey: values["cluster-key"] ?? null,
    multicast: multicast(values.multicast),
    newCluster: values["new-cluster"] === true,
    join: values.join === true,
    insecurePeers: values["insecure-peers"] === true,
    serverKey: values["server-key"] ?? null,
    allowPlaintext: values["allow-plaintext"] === true,
    handshakesPerSecond: integer("handshakes-per-second", values["handshakes-per-second"], DEFAULT_HANDSHAKES_PER_SECOND, 1),
    oneDiskAcks: values["one-disk-acks"] === true,
    noSearch: values["no-search"] === true,
  };
}

/**
 * Where the web listener binds: --web, else the host and port of this
 * server's web URL in servers.txt (a server restarted by hand keeps the
 * listener `npm start` gave it and pages fail over to), else none; none with
 * --no-web. Throws FlagError when the URL is https and no certificate is
 * given, or a flag of the web listener (--tls-cert, --web-host, …) comes
 * without anywhere to serve.
 *
 * @example
 * ```ts
 * webListenAddress(parseServerFlags(["--id", "a"]), "http://127.0.0.1:8001"); // { host: "127.0.0.1", port: 8001 }
 * ```
 */
export function webListenAddress(flags: ServerFlags, webUrl: string | undefined): Address | null {
  if (flags.noWeb) return null;
  if (flags.web !== null) return flags.web;
  if (webUrl === undefined) {
    if (flags.webOnly.length > 0) throw new FlagError(`${flags.webOnly[0]} needs --web HOST:PORT (or a web URL for this server in the servers file)`);
    return null;
  }
  if (webUrl.startsWith("https:") && flags.tlsCert === null) {
    throw new FlagError(
      `the servers file gives this server the web URL ${webUrl}: serve it with --tls-cert FILE --tls-key FILE, or start without it: --no-web`,
    );
  }
  return webAddress(webUrl);
}
