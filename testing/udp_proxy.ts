/**
 * A UDP proxy that injects faults between real processes (the kernel here has
 * no netem). It listens on one address and forwards every datagram to a
 * target; replies to a forwarded datagram go back to its original sender.
 * Loss, duplication and extra delay are drawn from a seeded PRNG so a run
 * can be repeated; `cut()` drops everything (a partition) until `heal()`.
 *
 * @example
 * ```ts
 * const p = await startUdpProxy({ listen: { host: "127.0.0.1", port: 7101 },
 *   target: { host: "127.0.0.1", port: 17101 }, loss: 0.2, duplicate: 0.05, seed: 1 });
 * // … later
 * await p.close();
 * ```
 */
import { bindUdp } from "../lib/net/udp_node.ts";
import type { Address } from "../lib/wire/address.ts";
import type { Transport } from "../lib/wire/transport.ts";
import { mulberry32 } from "./prng.ts";

export type ProxyOptions = {
  listen: Address;
  target: Address;
  /** Probability a datagram is dropped, each direction. */
  loss?: number;
  /** Probability a datagram is sent twice. */
  duplicate?: number;
  /** Up to this many ms of random extra delay (reorders datagrams). */
  jitterMs?: number;
  seed?: number;
  /**
   * Called with every datagram the proxy receives, before faults are
   * applied: "forward" from a sender to the target, "back" from the target.
   */
  onDatagram?: (bytes: Uint8Array, direction: "forward" | "back") => void;
};

export type ProxyStats = { forwarded: number; dropped: number; duplicated: number };

export type UdpProxy = {
  readonly address: Address;
  readonly stats: ProxyStats;
  setFaults(f: { loss?: number; duplicate?: number; jitterMs?: number }): void;
  cut(): void;
  heal(): void;
  close(): Promise<void>;
};

export async function startUdpProxy(o: ProxyOptions): Promise<UdpProxy> {
  const random = mulberry32(o.seed ?? 1);
  let loss = o.loss ?? 0, duplicate = o.duplicate ?? 0, jitterMs = o.jitterMs ?? 0, isCut = false;
  const stats: ProxyStats = { forwarded: 0, dropped: 0, duplicated: 0 };
  const upstreams = new Map<string, Promise<Transport>>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let closed = false;

  function pass(t: Transport, bytes: Uint8Array, to: Address): void {
    if (closed) return;
    if (isCut || random() < loss) {
      stats.dropped++;
      return;
    }
    const copies = random() < duplicate ? 2 : 1;
    if (copies === 2) stats.duplicated++;
    for (let i = 0; i < copies; i++) {
      stats.forwarded++;
      const delay = jitterMs > 0 ? random() * jitterMs : 0;
      if (delay === 0) t.send(bytes, to);
      else {
        const data = new Uint8Array(bytes);
        const timer = setTimeout(() => {
          timers.delete(timer);
          if (!closed) t.send(data, to);
        }, delay);
        timers.add(timer);
      }
    }
  }

  const front = await bindUdp(o.listen, (bytes, from) => {
    const key = `${from.host}:${from.port}`;
    let up = upstreams.get(key);
    if (!up) {
      up = bindUdp({ host: o.target.host, port: 0 }, (reply) => {
        o.onDatagram?.(new Uint8Array(reply), "back");
        pass(front, reply, from);
      });
      upstreams.set(key, up);
    }
    const data = new Uint8Array(bytes);
    o.onDatagram?.(new Uint8Array(data), "forward");
    up.then((t) => pass(t, data, o.target), () => stats.dropped++);
  });

  return {
    address: front.address,
    stats,
    setFaults(f) {
      loss = f.loss ?? loss;
      duplicate = f.duplicate ?? duplicate;
      jitterMs = f.jitterMs ?? jitterMs;
    },
    cut: () => void (isCut = true),
    heal: () => void (isCut = false),
    async close() {
      closed = true;
      for (const t of timers) clearTimeout(t);
      await front.close();
      await Promise.all([...upstreams.values()].map((p) => p.then((t) => t.close(), () => {})));
    },
  };
}
