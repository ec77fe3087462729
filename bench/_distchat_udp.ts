/**
 * A small request/reply UDP endpoint for the DistChat benchmarks: one socket
 * carrying many sessions' requests, replies matched by tag (second line),
 * retransmission of the same datagram after `rtoMs` (bounded tries).
 *
 * @example
 * ```ts
 * const ep = await Endpoint.open();
 * const token = await ep.login(server, "bob");
 * ep.close();
 * ```
 */
import type { Address } from "../lib/wire/address.ts";
import { bindUdp } from "../lib/net/udp_node.ts";
import { type Transport } from "../lib/wire/transport.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Joins fields into a datagram's text: each line ends with "\n". */
export function lines(...fields: (string | number)[]): string {
  return fields.map(String).join("\n") + "\n";
}

/** Wall-clock milliseconds with sub-millisecond precision (comparable across processes). */
export const nowMs = (): number => performance.timeOrigin + performance.now();

type Pending = { to: Address; bytes: Uint8Array; sentAt: number; tries: number; resolve: (text: string) => void; reject: (e: Error) => void; rto: number };

let endpointCount = 0;

export class Endpoint {
  #t!: Transport;
  #pending = new Map<string, Pending>();
  #next = 0;
  #prefix: string;
  #timer: ReturnType<typeof setInterval>;
  /** Datagrams sent again after a timeout. */
  retransmits = 0;

  private constructor() {
    this.#prefix = (endpointCount++ % 1296).toString(36);
    this.#timer = setInterval(() => this.#retry(), 50);
  }

  static async open(host = "127.0.0.1"): Promise<Endpoint> {
    const ep = new Endpoint();
    ep.#t = await bindUdp({ host, port: 0 }, (bytes) => ep.#onReply(bytes), {
      recvBufferSize: 4 << 20,
      sendBufferSize: 4 << 20,
    });
    return ep;
  }

  /** A fresh tag (unique per endpoint, ≤ 16 chars). */
  tag(): string {
    return `${this.#prefix}x${(this.#next++).toString(36)}`;
  }

  #onReply(bytes: Uint8Array): void {
    const nl = bytes.indexOf(10);
    const nl2 = bytes.indexOf(10, nl + 1);
    const tag = dec.decode(bytes.subarray(nl + 1, nl2));
    const p = this.#pending.get(tag);
    if (!p) return;
    this.#pending.delete(tag);
    p.resolve(dec.decode(bytes));
  }

  #retry(): void {
    const now = performance.now();
    for (const [tag, p] of this.#pending) {
      if (p.rto <= 0 || now - p.sentAt < p.rto) continue;
      if (p.tries >= 20) {
        this.#pending.delete(tag);
        p.reject(new Error(`no reply to ${JSON.stringify(dec.decode(p.bytes).slice(0, 40))} after ${p.tries} tries`));
        continue;
      }
      p.sentAt = now;
      p.tries++;
      this.retransmits++;
      this.#t.send(p.bytes, p.to);
    }
  }

  /**
   * Sends `text` (whose second line is `tag`) to `to`, resends it every
   * `rtoMs` (0: never) up to 20 times; resolves with the reply's text.
   */
  request(to: Address, tag: string, text: string, rtoMs = 250): Promise<string> {
    const bytes = enc.encode(text);
    return new Promise((resolve, reject) => {
      this.#pending.set(tag, { to, bytes, sentAt: performance.now(), tries: 1, resolve, reject, rto: rtoMs });
      this.#t.send(bytes, to);
    });
  }

  /** Sends `text` once, expecting no reply. */
  send(to: Address, text: string): void {
    this.#t.send(enc.encode(text), to);
  }

  /** Logs in `name`, returns the token. */
  async login(to: Address, name: string): Promise<string> {
    const tag = this.tag();
    const r = (await this.request(to, tag, lines("login", tag, name))).split("\n");
    if (r[0] !== "ok") throw new Error(`login ${name}: ${r.join(" ")}`);
    return r[4];
  }

  /** Joins `room`, creating it when it does not exist. */
  async join(to: Address, token: string, room: string): Promise<void> {
    let tag = this.tag();
    let r = await this.request(to, tag, lines("connect", tag, token, room));
    if (r.includes("no-room")) {
      tag = this.tag();
      r = await this.request(to, tag, lines("open", tag, token, room));
      if (r.includes("room-exists")) {
        tag = this.tag();
        r = await this.request(to, tag, lines("connect", tag, token, room));
      }
    }
    if (!r.startsWith("ok")) throw new Error(`join ${room}: ${r.replaceAll("\n", " ")}`);
  }

  /** A poll of `room` from `cursor`: the reply's cursor and entry count. */
  async poll(to: Address, token: string, room: string, cursor: string, waitMs = 0): Promise<{ cursor: string; count: number; text: string }> {
    const tag = this.tag();
    const fields: (string | number)[] = ["request", tag, token, room, cursor];
    if (waitMs > 0) fields.push(waitMs);
    const text = await this.request(to, tag, lines(...fields), waitMs > 0 ? 0 : 250);
    const r = text.split("\n");
    if (r[0] !== "poll") throw new Error(`poll ${room}: ${r.join(" ")}`);
    return { cursor: r[3], count: Number(r[5]), text };
  }

  get inFlight(): number {
    return this.#pending.size;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    for (const p of this.#pending.values()) p.reject(new Error("closed"));
    this.#pending.clear();
    await this.#t.close();
  }
}

/** Runs `fn` on each of `items` with at most `limit` running at once. */
export async function pool<T>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  });
  await Promise.all(lanes);
}
