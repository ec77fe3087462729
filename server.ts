/**
 * The DistChat server entry script: reads flags and servers.txt, opens the
 * database, binds the client and peer ports, and handles signals. No
 * protocol logic lives here (lib/server_app.ts, lib/chat.ts, lib/store.ts).
 *
 *   node server.ts --id a --servers servers.txt [--db data/a.sqlite] [--session-ttl 300]
 *                  [--listen HOST:PORT] [--peer-listen HOST:PORT] [--rate-limit N] [--sync full|normal]
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import process from "node:process";
import { Chat } from "./lib/chat.ts";
import { readOrCreateKey } from "./lib/chat/reply_seal.ts";
import { parseServerFlags } from "./lib/flags.ts";
import { ServerApp } from "./lib/server_app.ts";
import { formatAddress, readServers } from "./lib/servers_file.ts";
import { Store } from "./lib/store.ts";
import { DatabaseFileGuard } from "./lib/_store_guard.ts";
import { bindUdp, type Transport } from "./lib/udp.ts";

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
try {
  me = readServers(flags.servers).find((s) => s.id === flags.id);
} catch (e) {
  die(`${name}: ${(e as Error).message}`, 2);
}
if (!me) die(`${name}: ${flags.servers} has no line for server id "${flags.id}"`, 2);

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

const listen = flags.listen ?? me.client;
const peerListen = flags.peerListen ?? me.peer;
const buffers = { recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 };
try {
  client = await bindUdp(listen, app.onClientDatagram, buffers);
  peer = await bindUdp(peerListen, app.onPeerDatagram, buffers);
} catch (e) {
  await client?.close();
  app.close();
  die(`${name}: cannot bind ${formatAddress(client ? peerListen : listen)}: ${(e as Error).message}`);
}

console.log(
  `${name}: clients ${formatAddress(client.address)}, peers ${formatAddress(peer.address)}, database ${flags.db}`,
);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  try {
    app.close();
    guard.close();
  } catch (e) {
    die(`${name}: database failure while closing: ${(e as Error).message}`);
  }
  await Promise.all([client?.close(), peer?.close()]);
  process.exit(0);
}
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
