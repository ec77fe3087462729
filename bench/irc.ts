/**
 * The IRC anchor: three linked ngircd servers on loopback (s2 and s3 link to
 * the hub s1; s3's link runs through a TCP proxy the bench can cut), measured
 * with raw IRC clients: cross-server latency (s1 → s2), throughput (lines/s
 * delivered s1 → s2) and a netsplit (s3 cut off and back while lines flow;
 * lines lost at a client on s3). Installs ngircd with apt-get when missing.
 *
 * @example
 * ```ts
 * const net = await startIrcNetwork(tmpDir);
 * try { ... } finally { await net.stop(); }
 * ```
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import type { Address } from "../lib/wire/address.ts";
import type { Child } from "./_child.ts";
import { startChild } from "./_child.ts";
import type { IrcClient } from "./_irc_client.ts";
import { connectIrc } from "./_irc_client.ts";
import type { Link } from "./_proxy.ts";
import { tcpProxy } from "./_proxy.ts";
import type { Context, Measurement, Result } from "./_report.ts";
import { formatSummary, percentile, summarize } from "./_stats.ts";
import { latency, netsplit, throughput } from "./_scenarios.ts";
import { record } from "./_ratios.ts";

const LOOPBACK = "127.0.0.1";
const CHANNEL = "#bench";
const OPER = { name: "bench", password: "bench-oper" };

/** Path and version of ngircd, installed with apt-get when missing. */
export function ensureNgircd(log: (line: string) => void): { path: string; version: string } {
  const find = () => ["/usr/sbin/ngircd", "/usr/bin/ngircd", "/usr/local/sbin/ngircd"].find((p) => existsSync(p));
  if (!find()) {
    log("  installing ngircd (apt-get install -y ngircd)");
    const install = () => spawnSync("apt-get", ["install", "-y", "ngircd"], { stdio: "ignore", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    if (install().status !== 0) {
      spawnSync("apt-get", ["update"], { stdio: "ignore" });
      install();
    }
  }
  const path = find();
  if (!path) throw new Error("Cannot install ngircd: apt-get install -y ngircd failed");
  const out = spawnSync(path, ["--version"], { encoding: "utf8" }).stdout ?? "";
  return { path, version: /ngIRCd ([\d.]+)/.exec(out)?.[1] ?? "unknown" };
}

/** A free TCP port on loopback (bound then released). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, LOOPBACK, () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

type Peer = { name: string; password: string; connectTo?: Address };

/** ngircd.conf for one server; flood protection lifted as far as ngircd allows. */
function config(name: string, port: number, peers: Peer[]): string {
  const lines = [
    "[Global]",
    `Name = ${name}.bench`,
    `Info = DistChat bench ${name}`,
    "AdminInfo1 = DistChat bench",
    "AdminInfo2 = loopback",
    "AdminEMail = bench@localhost",
    `Listen = ${LOOPBACK}`,
    `Ports = ${port}`,
    "MotdPhrase = bench",
    "[Limits]",
    "ConnectRetry = 5", // the lowest ngircd accepts
    "MaxConnections = 0",
    "MaxConnectionsIP = 0",
    "MaxJoins = 0",
    "MaxNickLength = 20",
    "MaxPenaltyTime = 0", // no penalty delays (clients also get user mode +F)
    "PingTimeout = 600",
    "PongTimeout = 600",
    "[Options]",
    "DNS = no",
    "Ident = no",
    "PAM = no",
    "[Operator]",
    `Name = ${OPER.name}`,
    `Password = ${OPER.password}`,
  ];
  for (const p of peers) {
    lines.push("[Server]", `Name = ${p.name}.bench`, `MyPassword = ${p.password}-out`, `PeerPassword = ${p.password}-in`);
    if (p.connectTo) lines.push(`Host = ${p.connectTo.host}`, `Port = ${p.connectTo.port}`);
  }
  return lines.join("\n") + "\n";
}

export type IrcNetwork = {
  /** Client ports of s1, s2, s3. */
  readonly servers: Address[];
  /** The s3 ↔ s1 link. */
  readonly link: Link;
  readonly commands: string[];
  /** Resolves when s3 sees all three servers (LINKS), within `timeoutMs`. */
  linked(timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
};

/** Starts s1 (hub), s2 → s1 directly, s3 → s1 through a TCP proxy; each ngircd -n in its own process group. */
export async function startIrcNetwork(tmp: string, ngircd: string): Promise<IrcNetwork> {
  const dir = mkdtempSync(join(tmp, "ngircd-"));
  const ports = [await freePort(), await freePort(), await freePort()];
  const s1 = { host: LOOPBACK, port: ports[0] };
  const link = await tcpProxy(s1);
  // A password per link; "-out" is what the connecting side sends.
  const configs = [
    config("s1", ports[0], [{ name: "s2", password: "l12" }, { name: "s3", password: "l13" }]),
    config("s2", ports[1], [{ name: "s1", password: "l12", connectTo: s1 }]),
    config("s3", ports[2], [{ name: "s1", password: "l13", connectTo: link.address }]),
  ];
  // The hub checks the peer's "-out" as its PeerPassword: swap the pair on the hub.
  configs[0] = configs[0]
    .replace(/MyPassword = (l1\d)-out\nPeerPassword = \1-in/g, "MyPassword = $1-in\nPeerPassword = $1-out");
  const children: Child[] = [];
  const commands: string[] = [];
  try {
    for (const [i, text] of configs.entries()) {
      const file = join(dir, `s${i + 1}.conf`);
      writeFileSync(file, text);
      const argv = [ngircd, "-n", "-f", file];
      commands.push(`${ngircd} -n -f TMPDIR/s${i + 1}.conf`);
      children.push(startChild(argv));
    }
    for (const port of ports) await waitForPort(port, 10_000);
  } catch (e) {
    await Promise.all(children.map((c) => c.stop()));
    await link.close();
    throw e;
  }
  const servers = ports.map((port) => ({ host: LOOPBACK, port }));
  let watcherNo = 0;
  return {
    servers,
    link,
    commands,
    async linked(timeoutMs) {
      const watcher = await connectIrc(servers[2], `watch${++watcherNo}`);
      try {
        const end = Date.now() + timeoutMs;
        while (Date.now() < end) {
          const names: string[] = [];
          await watcher.request("LINKS", (m) => {
            if (m.command === "364") names.push(m.params[1]);
            return m.command === "365";
          });
          if (names.length >= 3) return;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        throw new Error(`ngircd servers did not link within ${timeoutMs} ms`);
      } finally {
        watcher.close();
      }
    },
    async stop() {
      await link.close();
      await Promise.all(children.map((c) => c.stop()));
    },
  };
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, LOOPBACK);
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`ngircd did not listen on ${LOOPBACK}:${port} within ${timeoutMs} ms`);
}

/** Connects, opers up (+F: never throttled), joins the bench channel. */
async function member(at: Address, nick: string): Promise<IrcClient> {
  const c = await connectIrc(at, nick);
  await c.operUp(OPER.name, OPER.password);
  await c.join(CHANNEL);
  return c;
}

/** Waits until `receiver` gets a probe from `sender` (the channel is joined network-wide). */
async function reachable(sender: IrcClient, receiver: IrcClient, timeoutMs: number): Promise<void> {
  const probe = `probe-${Math.random().toString(36).slice(2)}`;
  let seen = false;
  receiver.endpoint(CHANNEL).onText((t) => (seen ||= t === probe));
  const end = Date.now() + timeoutMs;
  while (!seen && Date.now() < end) {
    await sender.endpoint(CHANNEL).send(probe);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (!seen) throw new Error(`IRC: ${receiver.nick} got nothing from ${sender.nick} in ${timeoutMs} ms`);
}

/**
 * One round of the delivery anchor alone, in a fresh network: `count` lines at `rate`/s from a client on s1 to a
 * client on s2 (bench/_scenarios.ts `latency`); each line's ms and how many were lost (bench/tail.ts).
 */
export async function ircLatencyRound(tmp: string, ngircd: string, o: { count: number; rate: number }, tag: string) {
  const network = await startIrcNetwork(tmp, ngircd);
  const clients: IrcClient[] = [];
  try {
    await network.linked(15_000);
    const [a, b] = await Promise.all(network.servers.slice(0, 2).map((s, i) => member(s, `${tag}u${i + 1}`)));
    clients.push(a, b);
    await reachable(a, b, 10_000);
    await latency(a.endpoint(CHANNEL), b.endpoint(CHANNEL), { count: 100, rate: o.rate }); // warm-up, as DistChat's probe
    return await latency(a.endpoint(CHANNEL), b.endpoint(CHANNEL), o);
  } finally {
    for (const c of clients) c.close();
    await network.stop();
  }
}

/** The IRC anchors as a measurement for bench/run.ts. */
export const ircAnchors: Measurement = {
  name: "irc",
  title: "Anchor: IRC (three linked ngircd servers)",
  async run(ctx: Context): Promise<Result> {
    const { path, version } = ensureNgircd(ctx.log);
    const q = ctx.quick;
    const lat = { count: q ? 600 : 2000, rate: 200 };
    const tp = { count: q ? 20_000 : 100_000, seconds: q ? 2 : 8 };
    const split = { rate: 200, seconds: q ? 8 : 16, cutAt: 2, restoreAt: 4 };
    const splitRuns = 1;
    const p50: number[] = [], p99: number[] = [], latLost: number[] = [], perSecond: number[] = [];
    const splits: Awaited<ReturnType<typeof netsplit>>[] = [];
    let commands: string[] = [];
    for (let run = 0; run < ctx.runs; run++) {
      const network = await startIrcNetwork(ctx.tmp, path);
      commands = network.commands;
      const clients: IrcClient[] = [];
      try {
        await network.linked(15_000);
        const [a, b, c] = await Promise.all(network.servers.map((s, i) => member(s, `r${run}u${i + 1}`)));
        clients.push(a, b, c);
        await reachable(a, b, 10_000);
        await reachable(a, c, 10_000);
        const l = await latency(a.endpoint(CHANNEL), b.endpoint(CHANNEL), lat);
        p50.push(percentile(l.samples, 50));
        p99.push(percentile(l.samples, 99));
        latLost.push(l.lost);
        const t = await throughput(a.endpoint(CHANNEL), b.endpoint(CHANNEL), tp);
        perSecond.push(t.perSecond);
        ctx.log(`  irc run ${run + 1}: latency p50 ${p50.at(-1)!.toFixed(2)} ms, p99 ${p99.at(-1)!.toFixed(2)} ms; ${t.perSecond.toFixed(0)} lines/s`);
        if (run < splitRuns) {
          const s = await netsplit(a.endpoint(CHANNEL), c.endpoint(CHANNEL), b.endpoint(CHANNEL), network.link, split);
          splits.push(s);
          ctx.log(`  irc netsplit: ${s.lostSplit}/${s.sent} lost on s3, heal ${s.healMs.toFixed(0)} ms`);
        }
      } finally {
        for (const c of clients) c.close();
        await network.stop();
      }
    }
    record("irc.p50", summarize(p50).median);
    record("irc.p99", summarize(p99).median);
    const ms = (xs: number[]) => formatSummary(summarize(xs), 2);
    const n = (xs: number[]) => formatSummary(summarize(xs));
    const runsNote = (k: number) => `median of ${k} run${k > 1 ? "s" : ""}, min–max`;
    return {
      versions: { ngircd: version },
      commands: [...commands, "# TCP proxy (bench/_proxy.ts) between s3 and s1; raw IRC clients (bench/_irc_client.ts) in the bench process"],
      tables: [
        {
          caption: `Cross-server delivery, client on s1 → channel → client on s2 (${runsNote(ctx.runs)}):`,
          head: ["measurement", "value"],
          rows: [
            [`latency p50 (ms), ${lat.count} lines at ${lat.rate}/s`, ms(p50)],
            ["latency p99 (ms)", ms(p99)],
            ["lines lost", n(latLost)],
            [`throughput (lines/s delivered; one sender, ≤ ${tp.count} lines or ${tp.seconds} s)`, n(perSecond)],
          ],
        },
        {
          caption: `Netsplit: ${split.rate} lines/s from s1 for ${split.seconds} s; the s3–s1 link is cut at ${split.cutAt} s and restored at ${split.restoreAt} s (ngircd reconnects every ConnectRetry = 5 s at best; ${runsNote(splitRuns)}):`,
          head: ["measurement", "value"],
          rows: [
            ["lines sent", n(splits.map((s) => s.sent))],
            ["lost at a client on s3 (split side)", n(splits.map((s) => s.lostSplit))],
            ["lost at a client on s2 (sender's side)", n(splits.map((s) => s.lostSenderSide))],
            ["link down (ms)", n(splits.map((s) => s.splitMs))],
            ["restore → s3 receives again (ms)", n(splits.map((s) => s.healMs))],
            ["lost lines were sent from … to … ms after the cut", splits.map((s) => `${s.lostFromMs.toFixed(0)}…${s.lostToMs.toFixed(0)}`).join("; ")],
          ],
        },
      ],
      notes: [
        "ngircd flood limits lifted: MaxPenaltyTime = 0, MaxConnectionsIP = 0, and every client is an IRC operator with user mode +F (never throttled); ngircd still reads at most 3 commands per client per event-loop turn.",
        "IRC keeps nothing for a split side: every line sent while s3 is unlinked is lost for s3's users, by design.",
      ],
    };
  },
};
