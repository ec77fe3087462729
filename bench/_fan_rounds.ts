/**
 * The rounds of a fan-out measurement, shared by every one of them (one
 * server, the cluster, the web transports, the UDP anchor): the children are
 * bench/_distchat_load.ts processes in `fanout`, `webfanout` or `fanecho`
 * mode, each holding a long poll (or a socket) per session.
 *
 * @example
 * ```ts
 * const { samples, missing } = await fanRounds(children, 10, async (r) => {
 *   const t0 = nowMs();
 *   await addText(writer, `fan-out round ${r}`);
 *   return t0;
 * });
 * ```
 */
import type { Child } from "./_child.ts";

export type FanTimings = {
  /** How long a child may take to say it is ready, ms. Default 60,000. */
  readyMs?: number;
  /** Wait once every child is ready, for every poll to be held, ms. Default 300. */
  settleMs?: number;
  /** How long a child waits for its sessions' deliveries in a round, ms. Default 5,000. */
  collectMs?: number;
  /** Wait after a round, for every session to re-arm its poll, ms. Default 100. */
  rearmMs?: number;
};

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Arms each round, calls `fire` (which returns the epoch ms it sent at), and
 * pools every session's delivery time from it; then tells the children to stop.
 */
export async function fanRounds(
  children: Child[],
  rounds: number,
  fire: (round: number) => Promise<number>,
  t: FanTimings = {},
): Promise<{ samples: number[]; missing: number }> {
  const collectMs = t.collectMs ?? 5000;
  for (const c of children) await c.next<{ ready: boolean }>(t.readyMs ?? 60_000);
  await sleep(t.settleMs ?? 300);
  const samples: number[] = [];
  let missing = 0;
  for (let r = 1; r <= rounds; r++) {
    for (const c of children) c.send(`round ${r}`);
    await sleep(200);
    const t0 = await fire(r);
    for (const c of children) c.send(`collect ${r} ${collectMs}`);
    for (const c of children) {
      const got = await c.next<{ times: number[]; missing: number }>(collectMs + 10_000);
      missing += got.missing;
      for (const x of got.times) samples.push(x - t0);
    }
    await sleep(t.rearmMs ?? 100);
  }
  for (const c of children) c.send("stop");
  return { samples, missing };
}
