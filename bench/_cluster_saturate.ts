/**
 * The saturating load of the cluster benchmarks (bench/distchat_cluster.ts,
 * bench/cluster_cpu.ts): 8 clients × 16 adds in flight, as on one server
 * (bench/distchat_single.ts), spread over the cluster's servers (one Node
 * load process per server, each server its own room). A message counts when
 * every server holds it (all `stat` vectors equal); the servers' CPU seconds
 * (/proc, all threads; not the load's) are read from just before the load
 * starts until the servers agree after it — the work of storing it on all.
 *
 * @example
 * ```ts
 * const r = await saturate(cluster, { seconds: 3, tag: "r0", commands: [] });
 * r.cpuPerMessageUs; // CPU µs of all servers per message stored on all
 * ```
 */
import type { Child } from "./_child.ts";
import { cpuSeconds, displayCommand, runtimeCommand, startChild, stopAll } from "./_child.ts";
import { type BenchCluster, statsUntil } from "./_distchat_cluster_net.ts";

/** The saturating load: as many clients as one server's adds figure (bench/distchat_single.ts), spread over the servers. */
export const LOAD_CLIENTS = 8, LOAD_WINDOW = 16;
/** Seconds of the same load before the timed one, not counted (the JIT compiles the hot paths first; see `warmUp`). */
export const CLUSTER_WARMUP_S = 0.5;
const clientsOf = (n: number, i: number) => Math.floor(LOAD_CLIENTS / n) + (i < LOAD_CLIENTS % n ? 1 : 0);
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
/** True when every server's `stat` vector is the same and none waits on a gap: each holds every message. */
export const agreed = (rs: { vector: string; gapsPending: number }[]) => rs.every((r) => r.vector === rs[0].vector && r.gapsPending === 0);

/** What one saturating load did: rates, peer datagrams and the servers' CPU. */
export type Saturated<T> = {
  /** Messages/s stored on every server, from the start of the load until they agreed. */
  stored: number;
  /** Adds/s acked to the load processes during the load. */
  acked: number;
  /** Messages stored on all servers over the interval (the load's and `during`'s). */
  messages: number;
  sentPerMsg: number;
  receivedPerMsg: number;
  /** CPU seconds of each server over the interval, by id (÷ `messages`: each server's share per message). */
  cpu: Record<string, number>;
  /** CPU µs of all servers together per message stored on all. */
  cpuPerMessageUs: number;
  /** What `during` returned. */
  during: T;
};

/** Options of one saturating load; `during` runs alongside it (the delivery probe). */
export type SaturateOptions<T> = {
  seconds: number;
  /** Distinguishes the rooms of this load from earlier ones on the same cluster. */
  tag: string;
  /** The load processes' command lines are pushed here (ports and rooms shown as PORT, ROOM ID). */
  commands: string[];
  during?: () => Promise<T>;
  /** The servers the load goes to (default: every one; the same 8 clients spread over these). */
  on?: readonly string[];
};

function startLoads(c: BenchCluster, seconds: number, tag: string, commands: string[], on: readonly string[] = c.ids): Child[] {
  return on.map((id, i) => {
    const port = c.servers[id].client.port;
    const argv = runtimeCommand("node", "bench/_distchat_load.ts", [
      "adds", String(port), String(clientsOf(on.length, i)), String(LOAD_WINDOW), String(seconds), `tp${id}${tag}`, id,
    ]);
    commands.push(displayCommand(argv).replace(` ${port} `, " PORT ").replace(/ tp\w+ \w+$/, " ROOM ID"));
    return startChild(argv);
  });
}

/** A short saturating load whose figures are dropped: the JIT compiles the hot paths first, as for one server's adds. */
export async function warmUp(c: BenchCluster, seconds: number, tag: string, on?: readonly string[]): Promise<void> {
  const children = startLoads(c, seconds, `w${tag}`, [], on);
  try {
    for (const ch of children) await ch.next(60_000);
    for (const ch of children) ch.send("go");
    await Promise.all(children.map((ch) => ch.next(seconds * 1000 + 60_000)));
    if (!await statsUntil(c, agreed, 60_000, 10)) throw new Error("servers did not converge after the warm-up load");
  } finally {
    await stopAll(children);
  }
}

/** Runs the saturating load on every server of `c` and measures it (see the module comment). */
export async function saturate<T = undefined>(c: BenchCluster, o: SaturateOptions<T>): Promise<Saturated<T>> {
  const children = startLoads(c, o.seconds, o.tag, o.commands, o.on);
  try {
    for (const ch of children) await ch.next<{ ready: boolean }>(60_000);
    const before = await statsUntil(c, agreed, 20_000);
    if (!before) throw new Error("servers did not agree before the load");
    const pids = c.ids.map((id) => c.servers[id].pid);
    const cpu0 = pids.map(cpuSeconds);
    const tGo = performance.now();
    for (const ch of children) ch.send("go");
    const during = o.during?.();
    const results = await Promise.all(children.map((ch) => ch.next<{ acked: number }>(o.seconds * 1000 + 60_000)));
    const probe = await during;
    const after = await statsUntil(c, agreed, 60_000, 10);
    if (!after) throw new Error("servers did not converge within 60 s of the load");
    const cpu1 = pids.map(cpuSeconds);
    const messages = after.reports[0].messages - before.reports[0].messages;
    const sent = sum(after.reports.map((r) => r.sent)) - sum(before.reports.map((r) => r.sent));
    const received = sum(after.reports.map((r) => r.received)) - sum(before.reports.map((r) => r.received));
    const cpu = Object.fromEntries(c.ids.map((id, i) => [id, cpu1[i] - cpu0[i]]));
    return {
      stored: messages / ((after.at - tGo) / 1000),
      acked: sum(results.map((r) => r.acked)) / o.seconds,
      messages,
      sentPerMsg: sent / messages,
      receivedPerMsg: received / messages,
      cpu,
      cpuPerMessageUs: (sum(Object.values(cpu)) * 1e6) / messages,
      during: probe as T,
    };
  } finally {
    await stopAll(children);
  }
}
