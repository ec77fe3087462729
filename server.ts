/**
 * The DistChat server entry script: reads flags and servers.txt, opens the
 * database, wires the group commit and its ports (client, peer, and web:
 * --web, else its servers.txt web URL, unless --no-web), binds their
 * sockets, and handles signals. No protocol logic lives here
 * (lib/server/, lib/store/, lib/replication/).
 *
 *   npm run server -- --id a [--db data/a.sqlite] [flags]     (--help lists them)
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import process from "node:process";
import { readKeyFile } from "./lib/config/cluster_key.ts";
import { parseServerFlags, SERVER_HELP, webListenAddress } from "./lib/config/server_flags.ts";
import { readServers, type ServerEntry } from "./lib/config/servers_file.ts";
import { type Address, formatAddress } from "./lib/wire/address.ts";
import { bindServerTransport, type NamedTransport } from "./lib/net/bind.ts";
import { bindProblem } from "./lib/platform/port_owner.ts";
import { createPeerAuth, createStatAuth } from "./lib/replication/peer_auth.ts";
import { startCheckpointer } from "./lib/store/checkpointer.ts";
import { chooseOrigin, originsOf } from "./lib/rules/incarnation.ts";
import { DatabaseFileGuard } from "./lib/store/file_guard.ts";
import { Store } from "./lib/store/store.ts";
import { AckGate } from "./lib/server/ack_gate.ts";
import { PeerLiveness } from "./lib/acks/liveness.ts";
import { Answers } from "./lib/server/answers.ts";
import { watchDiskFloor } from "./lib/server/disk_floor.ts";
import { Quotas } from "./lib/server/quotas.ts";
import { handlerDeps } from "./lib/handlers/index.ts";
import { PresenceBoard } from "./lib/rules/presence.ts";
import { ClientPort } from "./lib/server/client_port.ts";
import { UNHEARD_ORIGINS } from "./lib/server/held_polls.ts";
import { laggingClock, systemClock as clock } from "./lib/server/clock.ts";
import { GroupCommit } from "./lib/server/commit.ts";
import { startHousekeeping } from "./lib/server/housekeeping.ts";
import { PeerPort } from "./lib/server/peer_port.ts";
import { readOrCreateKey } from "./lib/server/reply_seal.ts";
import { guessGauges, ServerMetrics, statusGauges } from "./lib/server/metrics.ts";
import { WebPort } from "./lib/server/web_port.ts";
import type { ClientChannel } from "./lib/server/channel.ts";
import { DEFAULT_WEB_LIMITS, webConnectionTotal } from "./lib/config/limits.ts";
import { AddressRanges } from "./lib/wire/cidr.ts";
import { openFileLimit } from "./lib/platform/file_limit.ts";

/** How long a starting server waits to hear every peer before it chooses its origin. */
const PEER_WAIT_MS = 2000;

function die(line: string, code = 1): never {
  console.error(line);
  process.exit(code);
}

const argv = process.argv.slice(2);
if (argv.includes("--help") || argv.includes("-h")) {
  console.log(SERVER_HELP);
  process.exit(0);
}
let flags;
try {
  flags = parseServerFlags(argv);
} catch (e) {
  die(`distchat server: ${(e as Error).message}`, 2);
}
const name = `distchat server ${flags.id}`;
const log = (line: string) => console.error(`${name}: ${line}`);

let me;
let all: ServerEntry[] = [];
try {
  all = readServers(flags.servers);
  me = all.find((s) => s.id === flags.id);
} catch (e) {
  die(`${name}: ${(e as Error).message}`, 2);
}
if (!me) die(`${name}: ${flags.servers} has no line for server id "${flags.id}" (it lists ${all.map((s) => s.id).join(", ")})`, 2);
let webAt: Address | null = null;
try {
  webAt = webListenAddress(flags, me.web);
} catch (e) {
  die(`${name}: ${(e as Error).message}`, 2);
}

let clusterKey: Uint8Array | null = null;
if (flags.clusterKey !== null) {
  try {
    const k = readKeyFile(flags.clusterKey);
    clusterKey = k.key;
    if (k.warning) log(`warning: ${k.warning}`);
  } catch (e) {
    die(`${name}: ${(e as Error).message}`, 2);
  }
} else if (all.length > 1 && !flags.insecurePeers) {
  die(
    `${name}: ${flags.servers} lists ${all.length - 1} other server(s), so peer datagrams must be authenticated: ` +
      `give every server the same --cluster-key FILE (npm run keygen -- FILE makes one), or --insecure-peers on a trusted test machine`,
    2,
  );
} else if (all.length > 1) {
  log("warning: --insecure-peers: peer datagrams are not authenticated");
}

let store: Store;
let guard: DatabaseFileGuard;
let replyKey: Uint8Array;
try {
  mkdirSync(dirname(flags.db), { recursive: true, mode: 0o700 });
  store = Store.open(flags.db, flags.id, {
    sync: flags.sync,
    retention: { maxAgeMs: flags.retainDays * 86_400_000, maxPerRoom: flags.retainMessages },
    search: !flags.noSearch,
  });
  guard = new DatabaseFileGuard(flags.db);
  replyKey = readOrCreateKey(`${flags.db}.key`);
  const junk = store.dropForeignOrigins(originsOf(all.map((s) => s.id)));
  if (junk > 0) log(`removed ${junk} op(s) of origins that are not servers of ${flags.servers}`);
  store.sessions.loadLive(clock.now());
} catch (e) {
  die(`${name}: ${(e as Error).message}`);
}

// What the database says of its own origin, before peers send anything.
const startFacts = { stored: store.storedOrigin(), local: store.vector(), hwm: store.readHighWater() };
const checkpointer = startCheckpointer(store, flags.db, log);

const commit = new GroupCommit({
  store,
  clock,
  checkDatabase: () => guard.problem(),
  onFatal: (problem) => die(`${name}: database failure, exiting: ${problem}`),
});
// Text deleted by a commit (retention) leaves the write-ahead log too (lib/store/scrub.ts).
commit.subscribe(() => void (store.erasures.take() && checkpointer.scrub()));
let client: NamedTransport | undefined;
let peer: NamedTransport | undefined;
const metrics = new ServerMetrics();
let group: NamedTransport | undefined;
const random = (n: number) => randomBytes(n);
// Two-disk acks (docs/ARCHITECTURE.md "Acks"), unless this is a one-server cluster or --one-disk-acks.
const twoDisk = all.length > 1 && !flags.oneDiskAcks;
const serverIds = new Set(all.map((s) => s.id));
const liveness = new PeerLiveness();
const gate = twoDisk ? new AckGate({ self: flags.id, store, commit, clock, isServer: (id) => serverIds.has(id), liveness }) : undefined;
const sessionLive = (id: string, now: number) => store.sessions.isLiveId(id, now);
const quotas = flags.rateLimit === 0 ? undefined : new Quotas(flags.quotas, sessionLive);
const diskFloor = watchDiskFloor({ dir: dirname(flags.db), minBytes: flags.minFreeBytes, clock, log });
// Chat time: this server's clock, set back by how far it runs ahead of its slowest peer (docs/ARCHITECTURE.md "Time").
const chatClock = laggingClock(clock, () => liveness.clockLead);
const presence = new PresenceBoard(); // typing and away, in memory only (docs/PROTOCOL.md "Typing and away")
const handlers = handlerDeps({
  store, random, sessionTtl: flags.sessionTtl, secret: clusterKey ?? undefined, confirmer: (): string | undefined => twoDisk ? peerPort.confirmer() : undefined,
  presence, presenceSaid: (note) => peerPort.sayPresence(note),
});
const clientPort = new ClientPort({
  commit,
  clock: chatClock,
  gate,
  handlers,
  store,
  answers: new Answers({ replies: store.replies, replyKey }),
  // A web page's address is one only the web port has (lib/server/web_port.ts).
  metrics,
  rateLimit: flags.rateLimit,
  sessionRate: flags.sessionRate,
  // --rate-limit 0 (benchmarks) turns the quotas off too.
  quotas,
  maxHeldPerSession: flags.rateLimit === 0 ? Infinity : flags.quotas.heldPollsPerSession,
  maxHeldBytesPerIp: flags.rateLimit === 0 ? Infinity : flags.quotas.heldPollKibPerIp * 1024,
  maxHeldBytes: flags.rateLimit === 0 ? Infinity : flags.quotas.heldPollKib * 1024,
  // A server catching up from an empty database has heard of none of its peers yet.
  cursorSlack: UNHEARD_ORIGINS + all.length,
  diskLow: diskFloor.low,
  log,
});
const peerAddresses = new Map<string, Address>(all.filter((s) => s.id !== flags.id).map((s) => [s.id, s.peer]));
const peerPort = new PeerPort({
  commit,
  store,
  clock,
  self: flags.id,
  peers: peerAddresses,
  auth: createPeerAuth({ key: clusterKey, peers: peerAddresses.keys(), now: clock.now, random }),
  statAuth: createStatAuth({ key: clusterKey, peers: "any", now: clock.now, random, maxNonces: 1000 }),
  send: (bytes, to) => peer?.send(bytes, to),
  multicast: flags.multicast && { group: flags.multicast, send: (bytes, to) => group?.send(bytes, to) },
  localStatus: (): { heldPolls: number; heldAcks: number } => ({ heldPolls: clientPort.heldPolls, heldAcks: gate?.size ?? 0 }),
  ring: all.map((s) => s.id),
  twoDisk,
  liveness,
  onGot: gate && (() => gate.noteGot()),
  onPresence: (notes) => notes.forEach((n) => presence.set(n.rooms, n.userName, n.state, chatClock.now(), n.ttlMs)),
});
const stopHousekeeping = startHousekeeping({
  clock: chatClock,
  commit,
  store,
  limiters: [
    clientPort.limiter,
    clientPort.sessionLimiter,
    ...(quotas ? [quotas] : []),
    { prune: (now: number) => clientPort.budget.prune((id) => sessionLive(id, now)) },
  ],
  checkDatabase: () => guard.problem(),
});

let tls: { cert: string; key: string } | undefined;
if (flags.tlsCert !== null && flags.tlsKey !== null) {
  try {
    tls = { cert: readFileSync(flags.tlsCert, "utf8"), key: readFileSync(flags.tlsKey, "utf8") };
  } catch (e) {
    die(`${name}: cannot read --tls-cert/--tls-key: ${(e as Error).message}`, 2);
  }
}
const web: WebPort | null = webAt === null ? null : new WebPort({
  clientPort,
  metrics,
  gauges: () => [
    ...statusGauges(peerPort.status(), {
      rooms: store.rooms.count(),
      expunged: store.retention.expunged,
      webWaiting: web?.waiting ?? 0,
      webSockets: web?.sockets ?? 0,
      webConnections: web?.connections ?? 0,
    }),
    ...guessGauges(handlers.desk.guard),
  ],
  servers: all,
  // --rate-limit 0 (benchmarks) lifts the per-address limits of the web listener too.
  maxPerIp: flags.rateLimit === 0 ? Infinity : undefined,
  origins: all.flatMap((s) => s.web ? [s.web] : []),
  hosts: flags.webHosts,
  metricsAllow: new AddressRanges(flags.metricsAllow),
  limits: {
    ...DEFAULT_WEB_LIMITS,
    perAddress: flags.rateLimit === 0 ? Infinity : flags.webConnectionsPerIp,
    total: flags.webConnections ?? webConnectionTotal(openFileLimit()),
    idleMs: flags.webTimeout * 1000,
  },
  clock,
  tls,
  log,
});

async function closeAll(): Promise<void> {
  stopHousekeeping();
  diskFloor.stop();
  peerPort.stop();
  clientPort.close();
  await checkpointer.stop();
  commit.close();
  guard.close();
  await Promise.all([client?.close(), peer?.close(), group?.close(), web?.close()]);
}

const listen = flags.listen ?? me.client;
const peerListen = flags.peerListen ?? me.peer;
/** Binds one port or exits saying why. */
async function bind(at: Address, on: (bytes: Uint8Array, from: Address) => void, flag: string): Promise<NamedTransport> {
  try {
    return await bindServerTransport(at, on);
  } catch (e) {
    await closeAll();
    die(`${name}: ${bindProblem(formatAddress(at), at.port, e, flag)}`);
  }
}
peer = await bind(peerListen, peerPort.onDatagram, "--peer-listen");
if (flags.multicast) {
  const m = flags.multicast;
  try {
    group = await bindServerTransport({ host: "0.0.0.0", port: m.port }, peerPort.onDatagram, m.host);
  } catch (e) {
    await closeAll();
    die(`${name}: cannot join multicast group ${formatAddress(m)} (--multicast): ${(e as Error).message}`);
  }
}
peerPort.start();

// Which origin to write under (lib/rules/incarnation.ts): ask the peers what they have of ours first.
const waitForPeers = peerAddresses.size > 0 && !(flags.newCluster && startFacts.stored === null);
const heard = () => peerPort.replicator.status(clock.now()).peers.filter((p) => p.told);
for (const until = clock.now() + PEER_WAIT_MS; waitForPeers && heard().length < peerAddresses.size && clock.now() < until;) {
  await new Promise((r) => setTimeout(r, 20));
}
const answered = heard();
const choice = chooseOrigin({
  id: flags.id,
  ...startFacts,
  peers: answered.map((p) => p.vector),
  allPeersHeard: answered.length === peerAddresses.size,
  newCluster: flags.newCluster,
  now: clock.now(),
});
store.setOrigin(choice.origin);
if (choice.reason) log(`writing as the new incarnation ${choice.origin}: ${choice.reason}`);
const udp: ClientChannel = { name: "", proven: false, send: (bytes, to) => client?.send(bytes, to) };
client = await bind(listen, (bytes, from) => clientPort.onDatagram(bytes, from, udp), "--listen");
if (web && webAt) {
  try {
    await web.listen(webAt);
  } catch (e) {
    await closeAll();
    die(`${name}: ${bindProblem(formatAddress(webAt), webAt.port, e, flags.web ? "--web" : "--web (from the servers file; --no-web turns it off)", false)}`);
  }
}

console.log(
  `${name}: clients ${formatAddress(client!.address)}, peers ${formatAddress(peer!.address)}, database ${flags.db}, ` +
    `fan-out ${peerPort.fanout}, ${clusterKey ? "peers authenticated" : "peers NOT authenticated"}, ` +
    `${peerAddresses.size} peer${peerAddresses.size === 1 ? "" : "s"}, origin ${store.self}`,
);
if (web) console.log(`${name}: web ${web!.origin}/ (page, transport POST /dc, GET /metrics)`);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  try {
    await closeAll();
  } catch (e) {
    die(`${name}: database failure while closing: ${(e as Error).message}`);
  }
  process.exit(0);
}
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
