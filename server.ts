/**
 * The DistChat server entry script: reads flags and servers.txt, opens the
 * database, binds the client and peer ports, and handles signals. No
 * protocol logic lives here (lib/server_app.ts, lib/chat.ts, lib/store.ts).
 *
 *   node server.ts --id a --servers servers.txt [--db data/a.sqlite] [--session-ttl 300]
 *                  [--listen HOST:PORT] [--peer-listen HOST:PORT] [--rate-limit N] [--sync full|normal]
 *                  [--cluster-key FILE] [--multicast GROUP:PORT]
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import process from "node:process";
import { Chat } from "./lib/chat.ts";
import { readOrCreateKey } from "./lib/chat/reply_seal.ts";
import { parseServerFlags } from "./lib/flags.ts";
import { createPeerAuth } from "./lib/peer_auth.ts";
import { PeerNode } from "./lib/peer_node.ts";
import { ServerApp } from "./lib/server_app.ts";
import { type Address, formatAddress, readServers, type ServerEntry } from "./lib/servers_file.ts";
import { Store } from "./lib/store.ts";
import { startCheckpointer } from "./lib/checkpointer.ts";
import { DatabaseFileGuard } from "./lib/_store_guard.ts";
import { bindUdp, type OnDatagram, type Transport, type UdpOptions } from "./lib/udp.ts";
import { bindTransport } from "./lib/transport.ts";
import { runtimeName } from "./lib/runtime.ts";

function die(line: string, code = 1): never {
  console.error(line);
  process.exit(code);
}

let flags;
try {
  flags = parseServerFlags(process.argv.slice(2));
} catch (e) {
  die(`distchat server: ${(e as Error).message}`, 2);
}
const name = `distchat server ${flags.id}`;

let me;
let all: ServerEntry[] = [];
try {
  all = readServers(flags.servers);
  me = all.find((s) => s.id === flags.id);
} catch (e) {
  die(`${name}: ${(e as Error).message}`, 2);
}
if (!me) die(`${name}: ${flags.servers} has no line for server id "${flags.id}"`, 2);

let clusterKey: Uint8Array | null = null;
if (flags.clusterKey !== null) {
  try {
    clusterKey = readFileSync(flags.clusterKey);
  } catch (e) {
    die(`${name}: cannot read cluster key ${flags.clusterKey}: ${(e as { code?: string }).code ?? (e as Error).message}`, 2);
  }
  if (clusterKey.length === 0) die(`${name}: cluster key file ${flags.clusterKey} is empty`, 2);
} else if (all.length > 1) {
  console.error(`${name}: warning: no --cluster-key; peers are not authenticated`);
}

let store: Store;
let guard: DatabaseFileGuard;
let replyKey: Uint8Array;
try {
  mkdirSync(dirname(flags.db), { recursive: true });
  store = Store.open(flags.db, flags.id, { sync: flags.sync });
  guard = new DatabaseFileGuard(flags.db);
  replyKey = readOrCreateKey(`${flags.db}.key`);
  store.loadLiveSessions(Date.now());
} catch (e) {
  die(`${name}: ${(e as Error).message}`);
}

const checkpointer = startCheckpointer(store, flags.db, (line) => console.error(`${name}: ${line}`));

const buffers = { recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 };
let client: Transport | undefined;
let peer: Transport | undefined;
const app = new ServerApp({
  store,
  chat: new Chat({ store, replyKey, sessionTtl: flags.sessionTtl }),
  send: (bytes, to) => client?.send(bytes, to),
  rateLimit: flags.rateLimit,
  checkDatabase: () => guard.problem(),
  onFatal: (problem) => die(`${name}: database failure, exiting: ${problem}`),
  log: (line) => console.error(`${name}: ${line}`),
});

const peerAddresses = new Map<string, Address>(all.filter((s) => s.id !== flags.id).map((s) => [s.id, s.peer]));
const node = new PeerNode({
  app,
  self: flags.id,
  peers: peerAddresses,
  auth: createPeerAuth({ key: clusterKey, peers: peerAddresses.keys(), now: Date.now, random: (n) => randomBytes(n) }),
  key: clusterKey,
  multicast: flags.multicast,
});
app.replication = node.hooks;

/** Binds with the buffer sizes asked for, or without them when the runtime refuses them. */
async function bindWithBuffers(at: Address, on: OnDatagram, extra: UdpOptions = {}): Promise<Transport> {
  // Under Deno, Deno.listenDatagram takes about twice the rate of node:dgram,
  // whose receive buffer setting slows it tenfold (BENCHMARKS.md).
  if (runtimeName() === "deno" && !extra.multicastGroup) return await bindTransport(at, on);
  try {
    return await bindUdp(at, on, { ...buffers, ...extra });
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "EADDRINUSE" || code === "EACCES" || code === "EADDRNOTAVAIL") throw e;
    return await bindUdp(at, on, extra);
  }
}

const listen = flags.listen ?? me.client;
const peerListen = flags.peerListen ?? me.peer;
let group: Transport | null = null;
try {
  client = await bindWithBuffers(listen, app.onClientDatagram);
  peer = await bindWithBuffers(peerListen, app.onPeerDatagram);
} catch (e) {
  await client?.close();
  app.close();
  die(`${name}: cannot bind ${formatAddress(client ? peerListen : listen)}: ${(e as Error).message}`);
}
if (flags.multicast) {
  const m = flags.multicast;
  try {
    group = await bindWithBuffers({ host: "0.0.0.0", port: m.port }, node.onMulticastDatagram, { multicastGroup: m.host });
  } catch (e) {
    await Promise.all([client.close(), peer.close()]);
    app.close();
    die(`${name}: cannot join multicast group ${formatAddress(m)}: ${(e as Error).message}`);
  }
}
node.attach(peer, group);

console.log(
  `${name}: clients ${formatAddress(client.address)}, peers ${formatAddress(peer.address)}, database ${flags.db}, ` +
    `fan-out ${node.fanout}, ${clusterKey ? "peers authenticated" : "peers NOT authenticated"}, ` +
    `${peerAddresses.size} peer${peerAddresses.size === 1 ? "" : "s"}`,
);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await checkpointer.stop();
  try {
    node.stop();
    app.close();
    guard.close();
  } catch (e) {
    die(`${name}: database failure while closing: ${(e as Error).message}`);
  }
  await Promise.all([client?.close(), peer?.close(), group?.close()]);
  process.exit(0);
}
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
