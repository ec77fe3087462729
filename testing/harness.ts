/**
 * Test harness shared by black-box tests: starts real server processes (each
 * in its own process group, on free loopback ports, under the runtime running
 * the tests), talks raw UDP to them, and always cleans up — servers still
 * running when the test process exits are killed.
 *
 * @example
 * ```ts
 * const srv = await startServer({ id: "a" });
 * const c = await udpClient();
 * try {
 *   const reply = await c.request(srv.clientAddr, "login\n1\nbob\n"); // "ok\n1\nlogin\nbob\n<token>\n300\n"
 * } finally {
 *   c.close();
 *   await srv.stop();
 *   srv.cleanup();
 * }
 * ```
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import process from "node:process";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { scriptCommand } from "../lib/platform/runtime.ts";
import { type Exit, type Proc, startProcess } from "./processes.ts";
import type { Address } from "../lib/wire/address.ts";
import { formatAddress, parseAddress } from "../lib/wire/address.ts";
import { bindUdp } from "../lib/net/udp_node.ts";
import { keyField, readServers } from "../lib/config/servers_file.ts";
import { createStaticKeyFile } from "../lib/config/static_key.ts";
import { decodeReply } from "../lib/wire/codec.ts";
import type { PollReply } from "../lib/wire/messages.ts";

export type { Address };
import { freePort, freeTcpPort } from "./ports.ts";
export { freePort, freeTcpPort };

/** The repository root (where server.ts lives). */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

const LOOPBACK = "127.0.0.1";
const enc = new TextEncoder();
const dec = new TextDecoder();

// --- Temporary files and ports ----------------------------------------------

const tempDirs = new Set<string>();

/** A fresh temporary directory, removed by `removeTempDirs()` or at exit. */
export function tempDir(prefix = "distchat-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/** Keeps every directory `tempDir` made so far (not removed at exit, e.g. a failing chaos run's databases); returns their paths. */
export function keepTempDirs(): string[] {
  const kept = [...tempDirs];
  tempDirs.clear();
  return kept;
}

/**
 * Removes every directory `tempDir` made. One that cannot be removed yet (a
 * browser still closing writes into its profile: ENOTEMPTY) is kept for the
 * next call, or the process's exit; a test never fails for it.
 */
export function removeTempDirs(): void {
  for (const d of tempDirs) {
    try {
      rmSync(d, { recursive: true, force: true, maxRetries: 3, retryDelay: 100 });
      tempDirs.delete(d);
    } catch (e) {
      console.log(`    (${d} not removed yet: ${(e as Error).message.split("\n")[0]})`);
    }
  }
}
process.on("exit", () => {
  for (const d of tempDirs) {
    try {
      rmSync(d, { recursive: true, force: true });
    } catch { /* left in the temporary folder */ }
  }
});

/** A server of a test cluster; `key` its static public key (`key=` in the servers file; its private key is `<dir>/<id>.server.key`). */
export type ClusterEntry = { id: string; client: Address; peer: Address; web?: string; key?: Uint8Array };

/** Makes server `id`'s key pair as `<dir>/<id>.server.key` (where server.ts looks by default, beside the servers file); its public key. */
export function makeServerKey(dir: string, id: string): Uint8Array {
  return createStaticKeyFile(join(dir, `${id}.server.key`)).publicKey;
}

/**
 * Free client and peer addresses for each id, written as a servers.txt in
 * `dir`, with each server's key= (its key pair made as `<dir>/<id>.server.key`,
 * where server.ts looks by default) unless `keys` is false.
 */
export async function makeCluster(
  ids: string[],
  dir = tempDir(),
  o: { web?: "http" | "https"; keys?: boolean } = {},
): Promise<{ file: string; entries: ClusterEntry[] }> {
  const entries: ClusterEntry[] = [];
  const used = new Set<number>();
  const port = async () => {
    for (let i = 0; i < 50; i++) {
      const p = await freePort();
      if (!used.has(p)) {
        used.add(p);
        return p;
      }
    }
    throw new Error("no free port");
  };
  for (const id of ids) {
    const e: ClusterEntry = { id, client: { host: LOOPBACK, port: await port() }, peer: { host: LOOPBACK, port: await port() } };
    if (o.web) e.web = `${o.web}://${LOOPBACK}:${await freeTcpPort()}`;
    if (o.keys !== false) e.key = makeServerKey(dir, id);
    entries.push(e);
  }
  const file = join(dir, "servers.txt");
  writeFileSync(
    file,
    "# written by testing/harness.ts\n" +
      entries.map((e) => [e.id, formatAddress(e.client), formatAddress(e.peer), e.web, e.key && keyField(e.key)].filter((f) => f).join(" ")).join("\n") + "\n",
  );
  return { file, entries };
}

// --- Server processes ---------------------------------------------------------

process.on("exit", () => removeTempDirs());

export type { Exit };

export type ServerHandle = {
  id: string;
  pid: number;
  /** Where clients reach it (from the startup line). */
  clientAddr: Address;
  peerAddr: Address;
  /** The web listener's origin (`http://127.0.0.1:PORT`): with --web, or its web URL in the servers file. */
  web: string | null;
  db: string;
  /** The servers file it was started with. */
  servers: string;
  /** When (ms since the epoch, to within 20 ms) its `listening` line was seen: reads answered before its start line. */
  listeningAt?: number;
  /** Everything it printed so far (stdout then stderr). */
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited. */
  exited: Promise<Exit>;
  /** SIGTERM to its process group, SIGKILL after `timeoutMs`; resolves with the exit. */
  stop(timeoutMs?: number): Promise<Exit>;
  /** SIGKILL to its process group (a crash). */
  kill9(): Promise<Exit>;
  /** Sends `signal` to its process group (SIGHUP: reread the servers file). */
  signal(signal: NodeJS.Signals): void;
};

export type StartOptions = {
  id?: string;
  /** A servers file; default: a new one-server file with free ports. */
  servers?: string;
  /** Database path; default: `<temp dir>/<id>.sqlite`. */
  db?: string;
  /** --session-ttl in seconds. */
  ttl?: number;
  extraArgs?: string[];
  /** How long to wait for the startup line. Default 30 s. */
  readyTimeoutMs?: number;
  /** Pass --allow-plaintext (default true: the raw udpClient speaks today's unencrypted protocol). */
  allowPlaintext?: boolean;
  /** A command the server runs under, e.g. `["faketime", "-f", "+600s"]` (a clock 10 minutes ahead). */
  wrap?: string[];
  /** The argv that runs server.ts with `args` (default: under this process's runtime). */
  command?: (args: string[]) => string[];
  /**
   * Pass --new-cluster when the database does not exist yet (default true):
   * a cluster whose servers start one after another then writes under the
   * plain ids ("a.1"). False: start like a server whose disk was replaced.
   */
  newCluster?: boolean;
  /**
   * A server restarted on a database that holds state refuses writes until
   * it has caught up with its peers (its start line says "catching up
   * (restarted)"; docs/ARCHITECTURE.md "A confirmer that dies"): wait for its
   * "taking writes" line too (default true). False: return at the start line.
   */
  waitForWrites?: boolean;
};

function spawnScript(script: string, args: string[], wrap: string[] = []): Proc {
  return startProcess([...wrap, ...scriptCommand(join(ROOT, script), args)], { cwd: ROOT });
}

function timeout<T>(ms: number, value: T): Promise<T> {
  return new Promise((r) => setTimeout(r, ms, value));
}

/** Server `id`'s web URL in the servers file `file` (undefined: none, or a file the server will refuse). */
function ownWebUrl(file: string, id: string): string | undefined {
  try {
    return readServers(file).find((s) => s.id === id)?.web;
  } catch {
    return undefined;
  }
}

/** Starts server.ts and waits for its startup line. Throws (after killing it) if it does not come. */
export async function startServer(o: StartOptions = {}): Promise<ServerHandle> {
  const id = o.id ?? "a";
  const servers = o.servers ?? (await makeCluster([id])).file;
  const db = o.db ?? join(tempDir(), `${id}.sqlite`);
  const args = ["--id", id, "--servers", servers, "--db", db];
  if (o.ttl !== undefined) args.push("--session-ttl", String(o.ttl));
  if (o.newCluster !== false && !existsSync(db)) args.push("--new-cluster");
  // Test clusters on loopback run unkeyed unless a test gives a key.
  if (o.allowPlaintext !== false && !(o.extraArgs ?? []).includes("--allow-plaintext")) args.push("--allow-plaintext");
  if (!(o.extraArgs ?? []).includes("--cluster-key")) args.push("--insecure-peers");
  args.push(...(o.extraArgs ?? []));
  const p = o.command ? startProcess([...(o.wrap ?? []), ...o.command(args)], { cwd: ROOT }) : spawnScript("server.ts", args, o.wrap);
  const readyBy = Date.now() + (o.readyTimeoutMs ?? 30_000);
  let line: RegExpExecArray | null = null;
  let gone = false;
  p.exited.then(() => (gone = true));
  let listeningAt: number | undefined;
  while (!line && !gone && Date.now() < readyBy) {
    await timeout(20, null);
    line = /clients (\S+), peers (\S+), database/.exec(p.stdout());
    listeningAt ??= /: listening: clients at /.test(p.stdout()) ? Date.now() : undefined;
  }
  // A web listener: --web, or (by default) this server's web URL in the servers file.
  const wantsWeb = args.includes("--web") || (!args.includes("--no-web") && ownWebUrl(servers, id) !== undefined);
  let web: RegExpExecArray | null = null;
  while (line && wantsWeb && !web && !gone && Date.now() < readyBy) {
    web = /: web (\S+)\/ \(page/.exec(p.stdout());
    if (!web) await timeout(20, null);
  }
  if (!line || (wantsWeb && !web)) {
    await p.kill9();
    throw new Error(`server ${id} did not start: ${p.stderr().trim() || "no startup line"}`);
  }
  const catchingUp = o.waitForWrites !== false && /catching up \(restarted\)/.test(p.stdout());
  while (catchingUp && !/: taking writes/.test(p.stderr()) && !gone && Date.now() < readyBy) await timeout(20, null);
  return {
    id,
    pid: p.pid,
    clientAddr: parseAddress(line[1]),
    peerAddr: parseAddress(line[2].replace(/,$/, "")),
    web: web?.[1] ?? null,
    listeningAt,
    db,
    servers,
    stdout: p.stdout,
    stderr: p.stderr,
    exited: p.exited,
    stop: (timeoutMs = 10_000) => p.stop(timeoutMs),
    kill9: p.kill9,
    signal: p.signal,
  };
}

/** Runs server.ts with `args` until it exits (for bad-configuration tests); kills it after `timeoutMs`. */
export async function runServerToExit(
  args: string[],
  timeoutMs = 20_000,
): Promise<Exit & { stdout: string; stderr: string; timedOut: boolean }> {
  const p = spawnScript("server.ts", args);
  const done = await Promise.race([p.exited, timeout(timeoutMs, null)]);
  const e = done ?? await p.kill9();
  return { ...e, stdout: p.stdout(), stderr: p.stderr(), timedOut: !done };
}

// --- A raw UDP client ------------------------------------------------------------

export type Datagram = { text: string; bytes: Uint8Array; from: Address };

export type UdpClient = {
  address: Address;
  /** Sends text or bytes as one datagram. */
  send(to: Address, data: string | Uint8Array): void;
  /** The next datagram received (queued ones first), or null after `timeoutMs`. */
  next(timeoutMs?: number): Promise<Datagram | null>;
  /**
   * Sends a request and resolves with the first reply whose tag (second line)
   * is the request's; other datagrams stay queued. Rejects after `timeoutMs`.
   */
  request(to: Address, data: string | Uint8Array, timeoutMs?: number): Promise<string>;
  close(): Promise<void>;
};

/**
 * What a client does to its datagrams on the way out and in (e.g. the
 * encrypted transport, testing/secure_client.ts): `out` gives what to send
 * for one datagram, `in` what a received one holds for the caller (null:
 * nothing) and what to send back to its source.
 */
export type DatagramFilter = {
  out(bytes: Uint8Array, to: Address): Uint8Array[];
  in(bytes: Uint8Array, from: Address): { bytes: Uint8Array | null; reply: Uint8Array[] };
};

/**
 * A UDP socket on 127.0.0.1 with a receive queue; every datagram through
 * `filter` when given; `bind` makes the socket (default node:dgram; e.g. one
 * in another network namespace, testing/netns.ts).
 */
export async function udpClient(host = LOOPBACK, filter?: DatagramFilter, bind: typeof bindUdp = bindUdp): Promise<UdpClient> {
  const inbox: Datagram[] = [];
  const wakers = new Set<() => void>();
  const t = await bind({ host, port: 0 }, (received, from) => {
    let bytes: Uint8Array | null = received;
    if (filter) {
      const r = filter.in(received, from);
      for (const d of r.reply) t.send(d, from);
      bytes = r.bytes;
    }
    if (bytes === null) return;
    inbox.push({ bytes: bytes.slice(), text: dec.decode(bytes), from });
    for (const w of [...wakers]) w();
  });
  const waitFor = async (pick: (d: Datagram) => boolean, timeoutMs: number): Promise<Datagram | null> => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const i = inbox.findIndex(pick);
      if (i >= 0) return inbox.splice(i, 1)[0];
      const left = until - Date.now();
      if (left <= 0) return null;
      await new Promise<void>((r) => {
        const done = () => {
          clearTimeout(timer);
          wakers.delete(done);
          r();
        };
        const timer = setTimeout(done, left);
        wakers.add(done);
      });
    }
  };
  const send = (to: Address, data: string | Uint8Array) => {
    const bytes = typeof data === "string" ? enc.encode(data) : data;
    if (!filter) return t.send(bytes, to);
    for (const d of filter.out(bytes, to)) t.send(d, to);
  };
  return {
    address: t.address,
    send,
    next: (timeoutMs = 5000) => waitFor(() => true, timeoutMs),
    async request(to, data, timeoutMs = 10_000) {
      const text = typeof data === "string" ? data : dec.decode(data.subarray(0, 200));
      const tag = text.split(/\r?\n/)[1] ?? "-";
      send(to, data);
      const d = await waitFor((x) => x.text.split("\n")[1] === tag, timeoutMs);
      if (!d) throw new Error(`no reply to ${JSON.stringify(text.slice(0, 60))} from ${formatAddress(to)} in ${timeoutMs} ms`);
      return d.text;
    },
    close: () => t.close(),
  };
}

/** Joins fields into a datagram's text: each line ends with "\n". */
export function lines(...fields: (string | number)[]): string {
  return fields.map(String).join("\n") + "\n";
}

/** Decodes a reply that must be a poll; throws (naming the reply) otherwise. */
export function parsePoll(reply: string): PollReply {
  const d = decodeReply(new TextEncoder().encode(reply));
  if (!d.ok || d.value.verb !== "poll") throw new Error(`not a poll: ${reply.slice(0, 200)}`);
  return d.value;
}
