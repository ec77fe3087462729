/**
 * `npm start`: starts the servers of servers.txt (each in its own process
 * group, logging to data/ID.log), waits until each prints its start line,
 * then runs the chat client in this terminal in room `lobby`. When the
 * client exits, or on Ctrl-C, stops the servers it started.
 *
 *   npm start                   # asks for a name (default: $USER)
 *   npm start -- --user bob
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import process from "node:process";
import readline from "node:readline";
import { parseArgs } from "node:util";
import { scriptCommand } from "../lib/platform/runtime.ts";
import { readServers } from "../lib/config/servers_file.ts";
import type { ServerEntry } from "../lib/config/servers_file.ts";
import { userNameProblem } from "../lib/wire/names.ts";

const SERVERS = "servers.txt";
const START_TIMEOUT_MS = 30_000;
const START_LINE = /: clients \S+, peers \S+, database/;

let flags;
try {
  flags = parseArgs({ args: process.argv.slice(2), options: { user: { type: "string", short: "u" } } }).values;
} catch (e) {
  console.error(`demo: ${(e as Error).message.split("\n")[0]}; usage: npm start -- [--user NAME]`);
  process.exit(2);
}

let servers: ServerEntry[];
try {
  servers = readServers(SERVERS);
} catch (e) {
  console.error(`demo: ${(e as Error).message}`);
  process.exit(2);
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
  const log = openSync(logFile, "a");
  const [cmd, ...args] = scriptCommand("server.ts", ["--id", s.id, "--servers", SERVERS]);
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
  stopServers();
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

mkdirSync("data", { recursive: true });
console.log(`Starting ${servers.length} servers (${servers.map((s) => s.id).join(", ")}); logs in data/*.log …`);
try {
  await Promise.all(servers.map(startServer));
} catch (e) {
  console.error(`demo: ${(e as Error).message}`);
  quit(1);
}
console.log(`Cluster up. Chatting as ${userName} in lobby; /help lists commands, /quit or Ctrl-C leaves.\n`);

const [cmd, ...args] = scriptCommand("client.ts", ["--user", userName, "--servers", SERVERS, "--room", "lobby"]);
client = spawn(cmd, args, { stdio: "inherit" });
client.once("exit", (code) => quit(code ?? 1));
client.once("error", (e) => {
  console.error(`demo: cannot start the client: ${e.message}`);
  quit(1);
});
