/**
 * The DistChat server entry script: reads flags and the files they name,
 * opens the database and what watches it, gives a server node
 * (lib/server/node.ts) its sockets and web listener, and handles signals.
 * No protocol logic lives here.
 *
 *   npm run server -- --id a [--db data/a.sqlite] [flags]     (--help lists them)
 */
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import process from "node:process";
import { wantsHelp } from "./lib/config/cli.ts";
import { parseServerFlags, SERVER_HELP } from "./lib/config/server_flags.ts";
import { type ServerSetup, serverSetup } from "./lib/config/server_setup.ts";
import { type Address, formatAddress } from "./lib/wire/address.ts";
import { bindServerTransport, type NamedTransport } from "./lib/net/bind.ts";
import { bindProblem } from "./lib/platform/port_owner.ts";
import { openFileLimit } from "./lib/platform/file_limit.ts";
import { startCheckpointer } from "./lib/store/checkpointer.ts";
import { DatabaseFileGuard } from "./lib/store/file_guard.ts";
import { Store } from "./lib/store/store.ts";
import { systemClock as clock } from "./lib/server/clock.ts";
import { watchDiskFloor } from "./lib/server/disk_floor.ts";
import { createServerNode, type Open, type Started } from "./lib/server/node.ts";
import { readOrCreateKey } from "./lib/server/reply_seal.ts";
import { openWebListener } from "./lib/web/listener.ts";
import { ircTransport } from "./lib/ircd/listener.ts";

function die(line: string, code = 1): never {
  console.error(line);
  process.exit(code);
}

const argv = process.argv.slice(2);
if (wantsHelp(argv)) {
  process.stdout.write(SERVER_HELP);
  process.exit(0);
}
let flags;
try {
  flags = parseServerFlags(argv);
} catch (e) {
  die(`distchat server: ${(e as Error).message}`, 2);
}
const name = `distchat server ${flags.id}`;
const db = flags.db;
const log = (line: string) => console.error(`${name}: ${line}`);
let setup: ServerSetup;
try {
  setup = serverSetup(flags, openFileLimit());
} catch (e) {
  die(`${name}: ${(e as Error).message}`, 2);
}
for (const w of setup.warnings) log(`warning: ${w}`);

// The database, and the files beside it.
let store: Store;
let guard: DatabaseFileGuard;
let replyKey: Uint8Array;
try {
  mkdirSync(dirname(flags.db), { recursive: true, mode: 0o700 });
  store = Store.open(flags.db, flags.id, {
    sync: flags.sync,
    retention: { maxAgeMs: flags.retainDays * 86_400_000, maxPerRoom: flags.retainMessages },
  });
  guard = new DatabaseFileGuard(flags.db);
  replyKey = readOrCreateKey(`${flags.db}.key`);
} catch (e) {
  die(`${name}: ${(e as Error).message}`);
}
const checkpointer = startCheckpointer(store, flags.db, log);
const diskFloor = watchDiskFloor({ dir: dirname(flags.db), minBytes: flags.minFreeBytes, clock, log });

const sockets: NamedTransport[] = [];
/** Opens a UDP socket for the node; a failure says why in a user's words (the port's owner, the flag). */
const udp = (at: Address, flag: string, group?: string): Open => async (receive) => {
  try {
    const socket = await bindServerTransport(at, receive, group);
    sockets.push(socket);
    return socket;
  } catch (e) {
    throw new Error(group ? `cannot join multicast group ${group}:${at.port} (${flag}): ${(e as Error).message}` : bindProblem(formatAddress(at), at.port, e, flag));
  }
};
const { me, web, irc } = setup;
const node = createServerNode({
  store,
  clock,
  random: (n) => randomBytes(n),
  config: setup.node,
  clusterKey: setup.clusterKey,
  secure: { staticKey: setup.staticKey, allowPlaintext: setup.allowPlaintext, handshakesPerSecond: flags.handshakesPerSecond },
  replyKey,
  log,
  checkDatabase: () => guard.problem(),
  diskLow: diskFloor.low,
  checkpointer,
  onFatal: (problem) => die(`${name}: database failure, exiting: ${problem}`),
  transports: {
    peer: udp(flags.peerListen ?? me.peer, "--peer-listen"),
    multicast: flags.multicast ? udp({ host: "0.0.0.0", port: flags.multicast.port }, "--multicast", flags.multicast.host) : undefined,
    client: udp(flags.listen ?? me.client, "--listen"),
    web: web === null ? undefined : (deliver, view) =>
      openWebListener({ config: web, deliver, view, clock, tls: setup.tls, log }).catch((e) => {
        throw new Error(bindProblem(formatAddress(web.at), web.at.port, e, flags.web ? "--web" : "--web (from the servers file; --no-web turns it off)", false));
      }),
    irc: irc === null ? undefined : ircTransport(irc, { clock, random: (n) => randomBytes(n), tls: setup.tls, log }),
  },
});

async function closeAll(): Promise<void> {
  diskFloor.stop();
  await node.close();
  guard.close();
  await Promise.all(sockets.map((s) => s.close()));
}

let started: Started;
try {
  started = await node.start();
} catch (e) {
  await closeAll();
  die(`${name}: ${(e as Error).message}`);
}
const peers = setup.servers.length - 1;
console.log(
  `${name}: clients ${formatAddress(started.client!)}, peers ${formatAddress(started.peer!)}, database ${flags.db}, ` +
    `fan-out ${node.fanout}, ${setup.clusterKey ? "peers authenticated" : "peers NOT authenticated"}, ` +
    `${peers} peer${peers === 1 ? "" : "s"}, origin ${started.origin}, ` +
    `clients ${setup.staticKey ? `encrypted${setup.allowPlaintext ? " or plaintext (--allow-plaintext)" : ""}` : "plaintext only (no key=, --allow-plaintext)"}`,
);
if (started.web) console.log(`${name}: web ${started.web}/ (page, WebSocket /ws, POST /dc, GET /metrics)`);
if (started.irc) console.log(`${name}: IRC ${started.irc}`);

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  try {
    await closeAll();
  } catch (e) {
    die(`${name}: database failure while closing: ${(e as Error).message}`);
  }
  console.log(`${name}: stopped (${signal}); database ${db} closed`);
  process.exit(0);
}
process.on("SIGINT", () => void stop("SIGINT"));
process.on("SIGTERM", () => void stop("SIGTERM"));
