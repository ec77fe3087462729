/**
 * `npm start`: starts the servers of servers.txt (each in its own process
 * group, logging to data/ID.log), waits until each prints its start line,
 * then runs the chat client in this terminal in room `lobby` and prints the
 * URL of the web client (servers with a web URL in servers.txt listen on it). When the
 * client exits, or on Ctrl-C, stops the servers it started.
 *
 *   npm start                   # asks for a name (default: $USER)
 *   npm start -- --user bob
 *   npm start -- --servers my-servers.txt   # other ports (a copy of servers.txt, edited)
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from "node:fs";
import process from "node:process";
import { basename, join } from "node:path";
import net from "node:net";
import readline from "node:readline";
import { defineCommand, fail, parseCommandLine } from "../lib/config/cli.ts";
import { createKeyFile } from "../lib/config/cluster_key.ts";
import { type Address, formatAddress } from "../lib/wire/address.ts";
import { bindUdp } from "../lib/net/udp_node.ts";
import { udpPortOwner } from "../lib/platform/port_owner.ts";
import { scriptCommand } from "../lib/platform/runtime.ts";
import { keyField, readServers, webAddress } from "../lib/config/servers_file.ts";
import { defaultServerKeyFile } from "../lib/config/server_setup.ts";
import { createStaticKeyFile, readStaticKeyFile } from "../lib/config/static_key.ts";
import type { ServerEntry } from "../lib/config/servers_file.ts";
import { userNameProblem } from "../lib/wire/names.ts";

/** The local cluster's key, made on the first run (owner-only). */
const KEY = "data/cluster.key";
const START_TIMEOUT_MS = 30_000;
const START_LINE = /: clients \S+, peers \S+, database/;

const START = defineCommand({
  name: "npm start",
  about: "npm start: starts the local cluster of servers.txt (or --servers FILE) and opens a chat client in room lobby.",
  usage: "npm start -- [--user NAME] [--servers FILE]",
  flags: {
    user: { type: "string", short: "u", value: "NAME", help: "your user name (default: asked, or $USER)" },
    servers: {
      type: "string",
      short: "s",
      value: "FILE",
      default: "servers.txt",
      help: "the cluster to start: a copy of servers.txt with other ports runs beside another cluster (its databases and logs stay data/ID.*: give the copy other ids too)",
    },
  },
  notes: "The servers log to data/<id>.log and stop when the client exits (/quit or Ctrl-C). Servers with a web URL in servers.txt serve the web client there: open the URL it prints (…/#lobby: the page joins lobby); any server's URL serves the same page.\n\n" +
    "Another client, in another terminal:  npm run client -- --user bob --room lobby --servers data/servers.txt (servers.txt with the keys npm start made; data/FILE for --servers FILE)\n\nStart afresh (every message and login forgotten): stop the cluster, then  rm -rf data",
});
const flags = parseCommandLine(START).values;
const SERVERS = flags.servers;
/** SERVERS with each server's key= added (its key pair made on the first run), when SERVERS lacks some. */
const KEYED = join("data", basename(SERVERS));

let servers: ServerEntry[];
try {
  servers = readServers(SERVERS);
} catch (e) {
  fail("npm start", (e as Error).message);
}
/** What the servers and clients run with: SERVERS when it gives every key=, else KEYED. */
const RUN = servers.every((s) => s.publicKey !== undefined) ? SERVERS : KEYED;

/** Addresses of servers.txt that some process already holds: a cluster already running, most likely. */
async function addressesInUse(): Promise<string[]> {
  const held: string[] = [];
  for (const s of servers) {
    for (const [what, a] of [["client", s.client], ["peer", s.peer]] as const) {
      try {
        await (await bindUdp(a, () => {})).close();
      } catch (e) {
        if ((e as { code?: string }).code !== "EADDRINUSE") continue;
        const owner = udpPortOwner(a.port);
        held.push(`server ${s.id}'s ${what} address ${formatAddress(a)}${owner ? ` (process ${owner.pid}: ${owner.command})` : ""}`);
      }
    }
    if (s.web && await tcpInUse(webAddress(s.web))) held.push(`server ${s.id}'s web address ${s.web}`);
  }
  return held;
}

/**
 * Writes KEYED: the lines of servers.txt, each server's key= added (its key
 * pair data/ID.server.key, made when missing; a line that has a key= keeps it).
 */
function writeKeyedServers(): void {
  const lines = readFileSync(SERVERS, "utf8").split(/\r?\n/).map((raw) => {
    const line = raw.replace(/#.*$/, "").trimEnd();
    const s = servers.find((x) => x.id === line.trim().split(/\s+/)[0]);
    if (s === undefined || s.publicKey !== undefined) return raw;
    const file = defaultServerKeyFile(KEYED, s.id);
    const key = existsSync(file) ? readStaticKeyFile(file).keyPair.publicKey : createStaticKeyFile(file).publicKey;
    return `${line} ${keyField(key)}`;
  });
  writeFileSync(KEYED, `# made by npm start from ${SERVERS}, with each server's key= (private key data/ID.server.key)\n${lines.join("\n")}`);
}

/** True when something listens on the TCP address `a` already. */
function tcpInUse(a: Address): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once("error", (e: { code?: string }) => resolve(e.code === "EADDRINUSE"));
    srv.listen(a.port, a.host, () => srv.close(() => resolve(false)));
  });
}

/** A default name from $USER, made valid; "guest" when nothing is left. */
function defaultName(): string {
  const raw = (process.env.USER ?? process.env.USERNAME ?? "").replace(/[^A-Za-z0-9_.-]/g, "").replace(/^[_.-]+/, "");
  return raw.slice(0, 32) || "guest";
}

async function askName(): Promise<string> {
  const fallback = defaultName();
  if (!process.stdin.isTTY) return fallback;
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
  try {
    for (;;) {
      const answer = await new Promise<string>((r) => rl.question(`Your name [${fallback}]: `, r));
      const name = answer.trim() || fallback;
      const problem = userNameProblem(name);
      if (!problem) return name;
      console.log(problem);
    }
  } finally {
    rl.close();
  }
}

const inUse = await addressesInUse();
if (inUse.length > 0) {
  const pids = [...new Set(inUse.map((l) => /\(process (\d+)/.exec(l)?.[1]).filter(Boolean))];
  fail(
    "npm start",
    `the addresses of ${SERVERS} are in use, so a cluster is probably running already:\n  ${inUse.join("\n  ")}\n` +
      `To chat on it, open only a client:  npm run client -- --user NAME --servers ${RUN} --room lobby\n` +
      `To stop it: Ctrl-C in the terminal that started it${pids.length ? `, or  kill ${pids.join(" ")}` : ""}\n` +
      `To start another cluster beside it: npm start -- --servers FILE (a copy of ${SERVERS} with other ports and ids)`,
    1,
  );
}

const userName = flags.user ?? await askName();
const problem = userNameProblem(userName);
if (problem) {
  console.error(`demo: --user: ${problem}`);
  process.exit(2);
}

// --- Servers ---------------------------------------------------------------------

const started: ChildProcess[] = [];

function stopServers(): void {
  for (const child of started) {
    try {
      process.kill(-(child.pid as number), "SIGTERM");
    } catch { /* already gone */ }
  }
}

/** Starts one server; resolves when its start line appears on stdout. */
function startServer(s: ServerEntry): Promise<void> {
  const logFile = `data/${s.id}.log`;
  const log = openSync(logFile, "a", 0o600);
  // The first run makes a new cluster: its servers write under their plain ids.
  const fresh = existsSync(`data/${s.id}.sqlite`) ? [] : ["--new-cluster"];
  // Its web listener comes from servers.txt, as when it is restarted by hand with the README's command.
  const [cmd, ...args] = scriptCommand("server.ts", ["--id", s.id, "--servers", RUN, "--cluster-key", KEY, ...fresh]);
  const child = spawn(cmd, args, { detached: true, stdio: ["ignore", "pipe", "pipe"] });
  started.push(child);
  let out = "";
  let lastErr = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server ${s.id} printed no start line in ${START_TIMEOUT_MS / 1000} s (see ${logFile})`)), START_TIMEOUT_MS);
    child.stdout?.on("data", (d: Uint8Array) => {
      writeSync(log, d);
      out += new TextDecoder().decode(d);
      if (START_LINE.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr?.on("data", (d: Uint8Array) => {
      writeSync(log, d);
      lastErr = new TextDecoder().decode(d).trim().split("\n").at(-1) ?? lastErr;
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      try {
        closeSync(log);
      } catch { /* closed */ }
      reject(new Error(`server ${s.id} exited (code ${code}): ${lastErr || `see ${logFile}`}`));
    });
    child.once("error", (e) => reject(new Error(`cannot start server ${s.id}: ${e.message}`)));
  });
}

let client: ChildProcess | null = null;
let quitting = false;
function quit(code: number): void {
  if (quitting) return;
  quitting = true;
  const running = started.filter((c) => c.exitCode === null && c.signalCode === null).length;
  stopServers();
  if (running > 0) console.log(`npm start: stopped (${running} server${running === 1 ? "" : "s"} of ${SERVERS} sent SIGTERM; logs in data/*.log)`);
  process.exit(code);
}
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    // The client shares our terminal: it sees Ctrl-C itself and logs out.
    if (client && client.exitCode === null && signal === "SIGINT") return;
    client?.kill("SIGTERM");
    quit(130);
  });
}
process.on("exit", stopServers);

mkdirSync("data", { recursive: true, mode: 0o700 });
if (!existsSync(KEY)) {
  try {
    createKeyFile(KEY);
  } catch (e) {
    fail("npm start", (e as Error).message, 1);
  }
}
try {
  if (RUN === KEYED) writeKeyedServers();
} catch (e) {
  fail("npm start", (e as Error).message, 1);
}
console.log(`Starting ${servers.length} servers (${servers.map((s) => s.id).join(", ")}); logs in data/*.log …`);
try {
  await Promise.all(servers.map(startServer));
} catch (e) {
  console.error(`demo: ${(e as Error).message}`);
  quit(1);
}
const pages = servers.filter((s) => s.web).map((s) => `${s.web}/#lobby`);
if (pages.length > 0) {
  console.log(`Web client: open ${pages[0]} in a browser${pages.length > 1 ? ` (any server's page works: ${pages.slice(1).join(", ")})` : ""}.`);
}
console.log(`Cluster up. Chatting as ${userName} in lobby; /help lists commands, /quit or Ctrl-C leaves (and stops the servers).`);
console.log(`Another client, in another terminal:  npm run client -- --user bob --servers ${RUN} --room lobby\n`);

const [cmd, ...args] = scriptCommand("client.ts", ["--user", userName, "--servers", RUN, "--room", "lobby"]);
client = spawn(cmd, args, { stdio: "inherit" });
client.once("exit", (code) => quit(code ?? 1));
client.once("error", (e) => {
  console.error(`demo: cannot start the client: ${e.message}`);
  quit(1);
});
