/**
 * DistChat terminal client (run by client.ts).
 *
 *   client.ts --user NAME [--servers FILE] [--room ROOM] [--key-file FILE] [--wait-ms MS]
 *
 * In a terminal: a prompt showing the room you type into; lines starting
 * with / are commands (/help). With stdin a pipe or file: each line is a
 * message or command, each received message is one stdout line, status goes
 * to stderr, and at EOF the client waits for its messages to be stored,
 * logs out and exits.
 *
 * Rooms with a passphrase (typed hidden with /key, or from --key-file) get
 * sealed messages, end to end (docs/CLIENT.md, docs/SEALED_FORMAT.md).
 */
import process from "node:process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { MAX_ITERATIONS, MIN_ITERATIONS } from "../accounts/scram.ts";
import { defineCommand, fail, parseCommandLine } from "../config/cli.ts";
import { readKeyFile } from "../client/key_file.ts";
import type { KeyFile } from "../client/key_file.ts";
import { readServers } from "../config/servers_file.ts";
import type { ServerEntry } from "../config/servers_file.ts";
import { bindUdp } from "../net/udp_node.ts";
import { bindHostFor } from "../wire/address.ts";
import { runClient } from "../client/app.ts";
import { roomNameProblem, userNameProblem } from "../wire/names.ts";
import { MAX_HISTORY, MAX_WAIT_MS } from "../wire/messages.ts";

const CLIENT_COMMAND = defineCommand({
  name: "client",
  about: "DistChat terminal client.",
  usage: "npm run client -- --user NAME [flags]",
  flags: {
    user: { type: "string", short: "u", value: "NAME", help: "your user name (1 to 32 letters, digits, . _ -); required" },
    servers: { type: "string", short: "s", value: "FILE", default: "servers.txt", help: "the cluster's servers file; the client fails over along it" },
    room: { type: "string", short: "r", value: "ROOM", help: "join this room at start (made when there is none, as /join does)" },
    "key-file": { type: "string", short: "k", value: "FILE", help: "passphrases of sealed rooms (docs/CLIENT.md)" },
    "password-file": {
      type: "string",
      value: "FILE",
      help: "the password of your registered name (first line; the file must be private to you); without it a terminal asks when the name is registered",
    },
    "known-keys": {
      type: "string",
      value: "FILE",
      help: "where other users' direct-message keys are remembered (trust on first use; default ~/.distchat_known_keys)",
    },
    "allow-plaintext": {
      type: "boolean",
      help: "speak unencrypted to servers the servers file gives no key= (anyone on the path reads messages and your token); without it such a file is refused",
    },
    "scram-iterations": { type: "string", value: "N", default: "600000", help: `PBKDF2 rounds of a password set here (at least ${MIN_ITERATIONS})` },
    "wait-ms": { type: "string", value: "MS", default: "25000", help: "how long a server may hold a poll" },
    history: {
      type: "string",
      value: "N",
      help: "messages shown when joining a room: its newest N (default: a screenful in a terminal, 20 in pipe mode); /history N shows older ones",
    },
  },
  notes: "With Deno: npx deno run -A client.ts --user NAME [flags]. Type messages, or /help for commands. With stdin not a terminal, each line is sent and each received message is printed as one line (pipe mode).",
});

function die(line: string, code = 2): never {
  return fail("client", line, code);
}

const flags = parseCommandLine(CLIENT_COMMAND).values;
if (flags.user === undefined) die(`--user NAME is required; usage: ${CLIENT_COMMAND.usage}`);
const nameProblem = userNameProblem(flags.user);
if (nameProblem) die(`--user: ${nameProblem}`);
if (flags.room !== undefined) {
  const problem = roomNameProblem(flags.room);
  if (problem) die(`--room: ${problem}`);
}
const waitMs = Number(flags["wait-ms"]);
if (!/^\d+$/.test(flags["wait-ms"]) || waitMs < 1 || waitMs > MAX_WAIT_MS) {
  die(`--wait-ms must be an integer from 1 to ${MAX_WAIT_MS}`);
}

const tty = !!process.stdin.isTTY && !!process.stdout.isTTY;
const color = tty && !process.env.NO_COLOR;
const screenful = tty ? Math.max(5, (process.stdout.rows ?? 24) - 4) : 20;
const historyLines = flags.history === undefined ? Math.min(screenful, MAX_HISTORY) : Number(flags.history);
if (!/^\d+$/.test(flags.history ?? "1") || historyLines < 1 || historyLines > MAX_HISTORY) {
  die(`--history must be an integer from 1 to ${MAX_HISTORY}`);
}

let servers: ServerEntry[];
try {
  servers = readServers(flags.servers);
} catch (e) {
  die((e as Error).message);
}

let keyFile: KeyFile | null = null;
if (flags["key-file"] !== undefined) {
  try {
    keyFile = readKeyFile(flags["key-file"]);
  } catch (e) {
    die((e as Error).message);
  }
  for (const w of keyFile.warnings) process.stderr.write(`client: warning: ${w}\n`);
}

let password: string | null = null;
if (flags["password-file"] !== undefined) {
  const file = flags["password-file"];
  try {
    password = readFileSync(file, "utf8").split(/\r?\n/)[0];
  } catch (e) {
    const code = (e as { code?: string }).code;
    const why = code === "ENOENT" ? "does not exist" : code === "EACCES" ? "cannot be read (permission denied)" : code === "EISDIR" ? "is a folder" : `cannot be read (${code ?? (e as Error).message})`;
    die(`--password-file ${file} ${why}`);
  }
  if (password === "") die("--password-file: its first line is empty");
}
const iterations = Number(flags["scram-iterations"]);
if (!/^\d+$/.test(flags["scram-iterations"]) || iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) {
  die(`--scram-iterations must be an integer from ${MIN_ITERATIONS} to ${MAX_ITERATIONS}`);
}
const knownKeys = flags["known-keys"] ?? (process.env.HOME ? join(process.env.HOME, ".distchat_known_keys") : null);

const unkeyed = servers.filter((s) => s.publicKey === undefined).map((s) => s.id);
if (unkeyed.length > 0 && !flags["allow-plaintext"]) {
  die(`${flags.servers} gives no key= for server(s) ${unkeyed.join(", ")}, so the client cannot encrypt to them: add their keys (npm run keygen -- --public FILE prints one), or --allow-plaintext`);
}
if (unkeyed.length > 0) process.stderr.write(`client: warning: --allow-plaintext: talking to ${unkeyed.join(", ")} unencrypted\n`);

const bindHost = bindHostFor(servers.map((s) => s.client));

const code = await runClient({
  userName: flags.user,
  servers,
  room: flags.room ?? null,
  waitMs,
  historyLines,
  keyFile,
  password,
  knownKeysFile: knownKeys,
  scramIterations: iterations,
  bind: (on) => bindUdp({ host: bindHost, port: 0 }, on),
  allowPlaintext: flags["allow-plaintext"] === true,
  io: { input: process.stdin, output: process.stdout, errors: process.stderr, tty, color },
  onStop: (stop) => {
    process.on("SIGTERM", stop);
    process.on("SIGHUP", stop);
    if (!tty) process.on("SIGINT", stop); // in a terminal, readline reports Ctrl-C
  },
});
process.exit(code);
