/**
 * Load scenarios that only see chat endpoints: one sends text lines, others
 * receive them. The IRC anchors run them over ngircd (bench/irc.ts); the
 * DistChat measurements will run the same scenarios over DistChat clients,
 * with the netsplit cut by testing/udp_proxy.ts (bench/_proxy.ts udpLink) instead of a TCP proxy.
 * Sender and receivers live in this process, so one clock times them.
 *
 * @example
 * ```ts
 * const r = await latency(a, b, { count: 1000, rate: 200 });
 * percentile(r.samples, 99);
 * ```
 */
import { setImmediate } from "node:timers";
import type { Link } from "./_proxy.ts";

/** One user of a chat system, on one channel/room. */
export type ChatEndpoint = {
  /** Sends one line of text; resolves when the caller may send the next (backpressure). */
  send(text: string): Promise<void> | void;
  /** Calls `cb` with every line of text this endpoint receives. */
  onText(cb: (text: string) => void): void;
};

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const now = () => performance.now();

/** Waits until `done()` or `quietMs` pass without `progress()` changing (bounded by `maxMs`). */
async function settle(done: () => boolean, progress: () => number, quietMs: number, maxMs: number): Promise<void> {
  const end = now() + maxMs;
  let last = progress();
  let lastChange = now();
  while (!done() && now() < end && now() - lastChange < quietMs) {
    await sleep(20);
    const p = progress();
    if (p !== last) {
      last = p;
      lastChange = now();
    }
  }
}

/** Unique run tag, so lines of an earlier scenario are never counted. */
let runs = 0;
const tag = (kind: string) => `${kind}${++runs}.${Math.random().toString(36).slice(2, 6)}`;

/**
 * Delivery latency: `count` lines at `rate`/s from `sender`; the time until
 * each arrives at `receiver` (ms). Lines not arrived 2 s after the last are lost.
 */
export async function latency(sender: ChatEndpoint, receiver: ChatEndpoint, o: { count: number; rate: number }) {
  const t = tag("lat");
  const sentAt: number[] = [];
  const samples: number[] = [];
  receiver.onText((text) => {
    const [k, i] = text.split(" ");
    if (k === t && sentAt[Number(i)] !== undefined) samples.push(now() - sentAt[Number(i)]);
  });
  const t0 = now();
  for (let i = 0; i < o.count; i++) {
    const due = t0 + (i * 1000) / o.rate;
    if (due > now()) await sleep(due - now());
    sentAt[i] = now();
    await sender.send(`${t} ${i}`);
  }
  await settle(() => samples.length >= o.count, () => samples.length, 2000, 10_000);
  return { samples, lost: o.count - samples.length };
}

/**
 * Throughput: `sender` sends as fast as the system takes (backpressure) for
 * at most `count` lines or `seconds`; lines/s delivered to `receiver`,
 * from the first send to the last arrival.
 */
export async function throughput(sender: ChatEndpoint, receiver: ChatEndpoint, o: { count: number; seconds: number }) {
  const t = tag("tp");
  let received = 0;
  let lastAt = 0;
  receiver.onText((text) => {
    if (text.startsWith(t + " ")) {
      received++;
      lastAt = now();
    }
  });
  const t0 = now();
  const end = t0 + o.seconds * 1000;
  let sent = 0;
  while (sent < o.count && now() < end) {
    await sender.send(`${t} ${sent} ${"x".repeat(60)}`);
    sent++;
    if (sent % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  await settle(() => received >= sent, () => received, 2000, 30_000);
  return { sent, received, perSecond: received / ((lastAt - t0) / 1000) };
}

/**
 * Netsplit: `sender` sends at `rate`/s for `seconds`; at `cutAt` s the
 * `link` to the split side is cut, at `restoreAt` s restored. Counts lines
 * lost at a receiver on the split side and at one on the sender's side, and
 * how long after the restore the split side received new lines again.
 */
export async function netsplit(
  sender: ChatEndpoint,
  splitSide: ChatEndpoint,
  senderSide: ChatEndpoint,
  link: Pick<Link, "cut" | "restore">,
  o: { rate: number; seconds: number; cutAt: number; restoreAt: number },
) {
  const t = tag("ns");
  const count = Math.round(o.rate * o.seconds);
  const sentAt: number[] = [];
  const gotSplit = new Set<number>();
  const gotSender = new Set<number>();
  let restoredAt = Infinity;
  let healedAt = Infinity;
  const listen = (into: Set<number>, split: boolean) => (text: string) => {
    const [k, i] = text.split(" ");
    if (k !== t) return;
    into.add(Number(i));
    if (split && sentAt[Number(i)] >= restoredAt && healedAt === Infinity) healedAt = now();
  };
  splitSide.onText(listen(gotSplit, true));
  senderSide.onText(listen(gotSender, false));
  let cut = false;
  const t0 = now();
  let cutAtMs = 0;
  try {
    for (let i = 0; i < count; i++) {
      const due = t0 + (i * 1000) / o.rate;
      if (due > now()) await sleep(due - now());
      const s = (now() - t0) / 1000;
      if (!cut && s >= o.cutAt) {
        link.cut();
        cut = true;
        cutAtMs = now();
      }
      if (cut && restoredAt === Infinity && s >= o.restoreAt) {
        link.restore();
        restoredAt = now();
      }
      sentAt[i] = now();
      await sender.send(`${t} ${i}`);
    }
  } finally {
    if (restoredAt === Infinity) link.restore();
  }
  await settle(() => gotSplit.size >= count && gotSender.size >= count, () => gotSplit.size + gotSender.size, 2000, 15_000);
  let firstLost = -1, lastLost = -1;
  for (let i = 0; i < count; i++) {
    if (!gotSplit.has(i)) {
      if (firstLost < 0) firstLost = i;
      lastLost = i;
    }
  }
  return {
    sent: count,
    lostSplit: count - gotSplit.size,
    lostSenderSide: count - gotSender.size,
    splitMs: restoredAt - cutAtMs,
    /** Restore → first line sent after the restore arrives at the split side (Infinity: never). */
    healMs: healedAt - restoredAt,
    /** Lost lines at the split side, as send times relative to the cut (ms). */
    lostFromMs: firstLost >= 0 ? sentAt[firstLost] - cutAtMs : NaN,
    lostToMs: lastLost >= 0 ? sentAt[lastLost] - cutAtMs : NaN,
  };
}
