/**
 * The DistChat server (run by server.ts): reads flags and the files they name,
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
import { wantsHelp } from "../config/cli.ts";
import { parseServerFlags, SERVER_HELP } from "../config/server_flags.ts";
import { type ServerSetup, serverSetup } from "../config/server_setup.ts";
import { type Address, formatAddress } from "../wire/address.ts";
import { bindServerTransport, type NamedTransport } from "../net/bind.ts";
import { bindProblem } from "../platform/port_owner.ts";
import { openFileLimit } from "../platform/file_limit.ts";
import { startCheckpointer } from "../store/checkpointer.ts";
import { DatabaseFileGuard } from "../store/file_guard.ts";
import { Store } from "../store/store.ts";
import { systemClock as clock } from "../server/clock.ts";
import { freeBytes, watchDiskFloor } from "../server/disk_floor.ts";
import { createServerNode, type Open, type Started } from "../server/node.ts";
import { startLine } from "../server/start_line.ts";
import { readOrCreateKey } from "../server/reply_seal.ts";
import { webTransport } from "../web/listener.ts";
import { ircTransport } from "../ircd/open.ts";
import { createLog } from "../config/log.ts";

const argv = process.argv.slice(2);
if (wantsHelp(argv)) process.stdout.write(SERVER_HELP), process.exit(0);
let flags;
try {
  flags = parseServerFlags(argv);
} catch (e) {
  console.error(`distchat server: ${(e as Error).message}`);
  process.exit(2);
}
const db = flags.db;
// One line per event, with a level (--log-format; lib/config/log.ts).
const log = createLog({
  format: flags.logFormat,
  server: flags.id,
  now: () => Date.now(),
  write: (line, stdout) => stdout ? console.log(line) : console.error(line),
});

/** Logs a fatal error and exits (once the flags are read). */
function fatal(message: string, event: string, code = 1): never {
  log(message, { level: "error", event });
  process.exit(code);
}
let setup: ServerSetup;
try {
  setup = serverSetup(flags, openFileLimit());
} catch (e) {
  fatal((e as Error).message, "config", 2);
}
for (const w of setup.warnings) log(`warning: ${w}`);

// The database, and the files beside it.
let store: Store;
let guard: DatabaseFileGuard;
let replyKey: Uint8Array;
try {
  mkdirSync(dirname(flags.db), { recursive: true, mode: 0o700 });
  store = Store.open(flags.db, flags.id, {
    sync: flags.sync, search: !flags.noSearch,
    retention: { maxAgeMs: flags.retainDays * 86_400_000, maxPerRoom: flags.retainMessages },
  });
  guard = new DatabaseFileGuard(flags.db);
  replyKey = readOrCreateKey(`${flags.db}.key`);
} catch (e) {
  fatal((e as Error).message, "database");
}
const checkpointer = startCheckpointer(store, flags.db, (line) => log(line, { level: "warn", event: "checkpointer" }));
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
  secure: { staticKey: setup.staticKey, peerKeys: setup.peerKeys, allowPlaintext: setup.allowPlaintext, handshakesPerSecond: flags.handshakesPerSecond },
  replyKey,
  log,
  checkDatabase: () => guard.problem(),
  diskLow: diskFloor.low,
  diskFree: () => freeBytes(dirname(flags.db)),
  checkpointer,
  onFatal: (problem) => fatal(`database failure, exiting: ${problem}`, "fatal"),
  transports: {
    peer: udp(flags.peerListen ?? me.peer, "--peer-listen"),
    multicast: flags.multicast ? udp({ host: "0.0.0.0", port: flags.multicast.port }, "--multicast", flags.multicast.host) : undefined,
    client: udp(flags.listen ?? me.client, "--listen"),
    web: web === null ? undefined : webTransport(web, { clock, tls: setup.tls, log }, flags.web ? "--web" : "--web (from the servers file; --no-web turns it off)"),
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
  // Reads are served from here on; the start line follows once the origin is chosen (docs/OPERATIONS.md "Logs").
  started = await node.start((at) => {
    const where = { clients: at.client ? formatAddress(at.client) : "-", peers: at.peer ? formatAddress(at.peer) : "-" };
    log(`listening: clients at ${where.clients} and peers at ${where.peers}; reads answered, writes refused until the peers are heard and the origin chosen`, { event: "listening", stdout: true, fields: where });
  });
} catch (e) {
  await closeAll();
  fatal((e as Error).message, "start-failed");
}
const { staticKey, allowPlaintext } = setup;
const facts = { started, fanout: node.fanout, db: flags.db, peers: setup.servers.length - 1, keyed: setup.clusterKey !== null };
const start = startLine({ ...facts, encrypted: staticKey !== null, plaintext: staticKey === null || allowPlaintext });
log(start.message, { event: "start", stdout: true, fields: start.fields });
if (started.web) log(`web ${started.web}/ (page, WebSocket /ws, POST /dc, GET /metrics)`, { event: "web", stdout: true, fields: { url: started.web } });
if (started.irc) log(`IRC ${started.irc}`, { event: "irc", stdout: true, fields: { url: started.irc } });

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  try {
    await closeAll();
  } catch (e) {
    fatal(`database failure while closing: ${(e as Error).message}`, "fatal");
  }
  log(`stopped (${signal}); database ${db} closed`, { event: "stop", stdout: true, fields: { signal } });
  process.exit(0);
}
process.on("SIGHUP", () => node.reloadFile(setup.flags.servers, web, log)); // docs/OPERATIONS.md "Adding and retiring a server"
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => void stop(signal));
