/**
 * The chaos run's client (testing/chaos.ts): it loses datagrams and fails
 * over like the real one — the same datagram (same tag) resent with a
 * doubling timeout, and the next server of servers.txt after three silent
 * sends (docs/PROTOCOL.md).
 *
 * @example
 * ```ts
 * const cl = new ChaosClient(udp, addrs, 0, () => rand() < 0.1);
 * const reply = await cl.request(lines("add", tag(), token, "hi", "room"), 30_000);
 * ```
 */
import type { Address, UdpClient } from "./harness.ts";

/** A client that loses datagrams and fails over like the real one. */
export class ChaosClient {
  current: number;
  u: UdpClient;
  servers: Address[];
  lose: () => boolean;
  /** The address the last reply came from (a late reply of the server failed over from counts). */
  lastFrom: Address | null = null;
  constructor(u: UdpClient, servers: Address[], start: number, lose: () => boolean) {
    this.u = u;
    this.servers = servers;
    this.current = start;
    this.lose = lose;
  }

  /** Sends `text` (same tag every time) until a reply with its tag arrives; null after `maxMs`. */
  async request(text: string, maxMs: number): Promise<string | null> {
    const t = text.split("\n")[1];
    const until = Date.now() + maxMs;
    let sendsHere = 0;
    let rto = 400;
    while (Date.now() < until) {
      if (!this.lose()) this.u.send(this.servers[this.current], text);
      sendsHere++;
      const reply = await this.#wait(t, rto);
      if (reply !== null) return reply;
      rto = Math.min(rto * 2, 2000);
      if (sendsHere >= 3) {
        this.current = (this.current + 1) % this.servers.length;
        sendsHere = 0;
        rto = 400;
      }
    }
    return null;
  }

  async #wait(t: string, ms: number): Promise<string | null> {
    const until = Date.now() + ms;
    for (;;) {
      const d = await this.u.next(Math.max(1, until - Date.now()));
      if (d === null) return null;
      if (d.text.split("\n")[1] === t && !this.lose()) {
        this.lastFrom = d.from;
        return d.text;
      }
      if (Date.now() >= until) return null;
    }
  }
}
