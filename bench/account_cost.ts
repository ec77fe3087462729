/**
 * What logins and the account verbs cost a server, over real UDP (issue 20
 * row 15; not a test). Two parts:
 *
 * 1. **Cost per request.** One server (fresh database, `--rate-limit 0`:
 *    nothing refused), N requests of each kind from one socket, at most 128
 *    in flight; the server process's CPU time (user + system, from /proc)
 *    divided by N. Kinds: a plain `login` (a new name each), `auth` of a
 *    registered name and of an unknown one, a password `login` (a right
 *    proof: a new session), and a malformed datagram (the floor: receive,
 *    decode, error reply). `--runs` fresh servers; median and range.
 * 2. **A flood.** One server with the default flags; for `--seconds`, `auth`
 *    for the registered name from one address (127.0.0.2) at `--flood-rate`
 *    a second (bench/_auth_flood.ts) while a user on 127.0.0.3 logs in with
 *    its password (auth, then the proof) every 100 ms: the server's CPU
 *    share, and that user's latency.
 *
 *   npm run bench:account-cost -- [--runtime node|deno] [--n 10000] [--runs 3] [--flood-rate 20000] [--seconds 5]
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { defineCommand, fail, parseCommandLine } from "../lib/config/cli.ts";
import { clientFinalSalted, makeVerifier, verifierToBase64 } from "../lib/accounts/scram.ts";
import { bindUdp } from "../lib/net/udp_node.ts";
import type { Address } from "../lib/wire/address.ts";
import { cpuSeconds, killAllChildren, type Runtime, runtimeCommand, startChild } from "./_child.ts";
import { type BenchServer, startBenchServer } from "./_distchat_server.ts";
import { groupRss } from "../testing/processes.ts";
import { Endpoint, lines } from "./_distchat_udp.ts";
import { formatSummary, percentile, summarize } from "./_stats.ts";

const COMMAND = defineCommand({
  name: "account_cost",
  about: "What logins and the account verbs cost a server (µs of server CPU per request), and an auth flood.",
  usage: "npm run bench:account-cost -- [--runtime node|deno] [--n N] [--runs N] [--flood-rate N] [--seconds N] [--rate-limit N]",
  flags: {
    runtime: { type: "string", value: "node|deno", default: "node", help: "the server's runtime" },
    n: { type: "string", value: "N", default: "10000", help: "requests of each kind per run" },
    runs: { type: "string", value: "N", default: "3", help: "fresh servers to measure on" },
    "flood-rate": { type: "string", value: "N", default: "20000", help: "auth datagrams a second in the flood (0: no flood)" },
    seconds: { type: "string", value: "N", default: "5", help: "how long the flood lasts" },
    "rate-limit": { type: "string", value: "N", help: "the flooded server's --rate-limit (default: the server's default)" },
  },
});
const { values: flags } = parseCommandLine(COMMAND);
if (flags.runtime !== "node" && flags.runtime !== "deno") fail("account_cost", `--runtime must be node or deno, got "${flags.runtime}"`);
for (const f of ["n", "runs", "flood-rate", "seconds", "rate-limit"] as const) {
  if (flags[f] !== undefined && !/^\d{1,6}$/.test(flags[f]!)) fail("account_cost", `--${f} must be a whole number, got "${flags[f]}"`);
}
const runtime = flags.runtime as Runtime;
const N = Number(flags.n), RUNS = Number(flags.runs), FLOOD = Number(flags["flood-rate"]), SECONDS = Number(flags.seconds);
const PASSWORD = "bench password";
const enc = new TextEncoder(), dec = new TextDecoder();

/** Sends `n` datagrams (at most 128 unanswered), waits for the replies (a lost one after 1 s of silence); the replies' texts. */
async function burst(to: Address, n: number, datagram: (i: number) => string): Promise<string[]> {
  const replies: string[] = [];
  let wake = () => {};
  const t = await bindUdp({ host: "127.0.0.1", port: 0 }, (bytes) => {
    replies.push(dec.decode(bytes));
    wake();
  }, { recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
  let sent = 0, lost = 0;
  while (replies.length + lost < n) {
    while (sent < n && sent - replies.length - lost < 128) t.send(enc.encode(datagram(sent++)), to);
    const before = replies.length;
    await new Promise<void>((r) => {
      const timer = setTimeout(r, 1000);
      wake = () => (clearTimeout(timer), r());
    });
    if (replies.length === before) lost += sent - replies.length - lost; // a second of silence: the rest are lost
  }
  await t.close();
  return replies;
}

/** Logs in `name` and registers it with PASSWORD (4096 rounds); the SaltedPassword. */
async function register(srv: BenchServer, name: string): Promise<Uint8Array> {
  const ep = await Endpoint.open();
  const to = { host: "127.0.0.1", port: srv.port };
  const token = await ep.login(to, name);
  const v = await makeVerifier(PASSWORD, new Uint8Array(randomBytes(16)), 4096);
  const w = verifierToBase64(v);
  const tag = ep.tag();
  const r = await ep.request(to, tag, lines("register", tag, token, w.salt, w.iterations, w.storedKey, w.serverKey, "-"));
  if (!r.startsWith("ok")) throw new Error(`register: ${r}`);
  await ep.close();
  return v.salted;
}

const nonce = (i: number, run: string) => `${run}n${i.toString(36).padStart(16, "0")}`;

/** One run: µs of server CPU per request of each kind. */
async function costRun(run: number): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(os.tmpdir(), "distchat-account-cost-"));
  const srv = await startBenchServer(runtime, dir, ["--rate-limit", "0"]);
  try {
    const to = { host: "127.0.0.1", port: srv.port };
    const salted = await register(srv, "owner");
    const pid = groupRss(srv.pid).pid;
    const out: Record<string, number> = {};
    const measure = async (kind: string, n: number, datagram: (i: number) => string) => {
      const cpu0 = cpuSeconds(pid);
      const replies = await burst(to, n, datagram);
      out[kind] = ((cpuSeconds(pid) - cpu0) / n) * 1e6;
      return replies;
    };
    const r = `r${run}`;
    await burst(to, N, (i) => `nonsense\n${i}\n`); // warm-up: the runtime compiles the hot paths
    await measure("malformed datagram", N, (i) => `nonsense\n${i}\n`);
    await measure("plain login (new name)", N, (i) => lines("login", `l${i}`, `u${r}x${i}`));
    await measure("auth, unknown name", N, (i) => lines("auth", `u${i}`, "nobody", nonce(i, "u")));
    const firsts = await measure("auth, registered name", N, (i) => lines("auth", `a${i}`, "owner", nonce(i, "a")));
    const proofs: string[] = [];
    for (const text of firsts) {
      const f = text.split("\n");
      if (f[0] !== "ok") continue;
      const i = parseInt(f[1].slice(1), 10);
      const fin = clientFinalSalted(salted, `n=owner,r=${nonce(i, "a")}`, f[4]);
      if (fin) proofs.push(lines("login", `p${i}`, "owner", fin.message));
    }
    if (proofs.length < N) throw new Error(`only ${proofs.length} of ${N} challenges came back`);
    const logins = await measure("password login (right proof)", N, (i) => proofs[i]);
    if (!logins.every((t) => t.startsWith("ok"))) throw new Error(`a password login failed: ${logins.find((t) => !t.startsWith("ok"))}`);
    return out;
  } finally {
    await srv.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The flood part: the server's CPU share and a password login's latency from another address. */
async function floodRun(): Promise<string[]> {
  const dir = mkdtempSync(join(os.tmpdir(), "distchat-auth-flood-"));
  const srv = await startBenchServer(runtime, dir, flags["rate-limit"] === undefined ? [] : ["--rate-limit", flags["rate-limit"]]);
  try {
    const to = { host: "127.0.0.1", port: srv.port };
    const salted = await register(srv, "owner");
    const pid = groupRss(srv.pid).pid;
    const flood = startChild(runtimeCommand("node", "bench/_auth_flood.ts", [String(srv.port), "127.0.0.2", String(FLOOD), String(SECONDS), "owner"]));
    await flood.next<{ ready: boolean }>(30_000);
    const legit = await Endpoint.open("127.0.0.3");
    const lat: number[] = [];
    let failed = 0;
    const cpu0 = cpuSeconds(pid), wall0 = performance.now();
    flood.send("go");
    for (let i = 0; performance.now() - wall0 < SECONDS * 1000; i++) {
      const t = performance.now();
      try {
        const tag = legit.tag();
        const first = (await legit.request(to, tag, lines("auth", tag, "owner", nonce(i, "legit")), 500)).split("\n");
        if (first[0] !== "ok") throw new Error(first.join(" "));
        const fin = clientFinalSalted(salted, `n=owner,r=${nonce(i, "legit")}`, first[4])!;
        const tag2 = legit.tag();
        const r = await legit.request(to, tag2, lines("login", tag2, "owner", fin.message), 500);
        if (!r.startsWith("ok")) throw new Error(r);
        lat.push(performance.now() - t);
      } catch {
        failed++;
      }
      const wait = 100 - (performance.now() - t);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    const share = (cpuSeconds(pid) - cpu0) / ((performance.now() - wall0) / 1000);
    const result = await flood.next<{ sent: number; replies: number; limited: number }>(60_000);
    await legit.close();
    return [
      `Flood (server: ${srv.shown.replace(/.*server\.ts /, "")}): ${result.sent} auth from 127.0.0.2 in ${SECONDS} s (${FLOOD}/s), ${result.replies} answered (${result.limited} rate-limited); ` +
        `server CPU ${(share * 100).toFixed(0)}% of one core.`,
      `Password logins from 127.0.0.3 meanwhile (auth + proof, one every 100 ms): p50 ${percentile(lat, 50).toFixed(2)} ms, ` +
        `p99 ${percentile(lat, 99).toFixed(2)} ms, ${failed} of ${lat.length + failed} failed.`,
    ];
  } finally {
    await srv.stop();
    killAllChildren();
    rmSync(dir, { recursive: true, force: true });
  }
}

try {
  const runs: Record<string, number>[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(await costRun(i));
  if (RUNS > 0) console.log(`µs of server CPU per request (${runtime}; ${N} of each, ${RUNS} runs: median (min–max)):`);
  for (const kind of Object.keys(runs[0] ?? {})) console.log(`  ${kind.padEnd(30)} ${formatSummary(summarize(runs.map((r) => r[kind])), 1)}`);
  if (FLOOD > 0) for (const line of await floodRun()) console.log(line);
} finally {
  killAllChildren();
}
