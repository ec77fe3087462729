/**
 * One round of issue 27's delivery probe in a fresh cluster: three servers
 * (`--rate-limit 0` and `args`), a writer on a adding at 200/s, a long
 * poller on b (a's confirmer); 100 adds of warm-up, then `count` adds whose
 * times from the send to the poll reply read are returned (ms). Shared by
 * bench/hotpath.ts and bench/tail.ts.
 *
 * @example
 * ```ts
 * const r = await deliveryRound("node", tmpDir, 1000); // { fromSend: [1.7, …], lost: 0 }
 * percentile(r.fromSend, 99);
 * ```
 */
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Runtime } from "./_child.ts";
import { startBenchCluster } from "./_distchat_cluster_net.ts";
import { chatUser, probeLatency, Reader } from "./distchat_cluster.ts";

/** The probe's rate, adds per second. */
export const PROBE_RATE = 200;

/**
 * What else a round's cluster is started with (bench/_gc_trace.ts: the servers' GC trace), and its warm-up: adds
 * before the measured ones (default 100; Deno servers' first major GC comes after ~300–600 adds of a fresh cluster).
 */
export type RoundOptions = { env?: Record<string, string>; onStdout?: (id: string, chunk: string) => void; warmUp?: number };

/**
 * Delivery from the send, a → b's long poll: each add's ms (in send order, lost ones left out), when each was sent
 * (performance.now()), and how many were lost.
 */
export async function deliveryRound(
  runtime: Runtime,
  dir: string,
  count: number,
  args: string[] = [],
  o: RoundOptions = {},
): Promise<{ fromSend: number[]; sentAt: number[]; lost: number }> {
  const d = mkdtempSync(join(dir, "cross-"));
  const c = await startBenchCluster(runtime, d, 3, { pairProxies: false, args: ["--rate-limit", "0", ...args], env: o.env, onStdout: o.onStdout });
  try {
    const writer = await chatUser(c.servers.a.client, "probe");
    const poller = new Reader(await chatUser(c.servers.b.client, "probe"));
    await poller.start();
    await probeLatency(writer, poller, PROBE_RATE, o.warmUp ?? 100);
    const p = await probeLatency(writer, poller, PROBE_RATE, count);
    await poller.stop();
    await writer.ep.close();
    await poller.c.ep.close();
    return { fromSend: p.fromSend, sentAt: p.sentAt, lost: p.lost };
  } finally {
    await c.close();
    rmSync(d, { recursive: true, force: true });
  }
}
