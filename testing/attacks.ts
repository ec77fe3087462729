/**
 * Attacks on a server's accounts, mounted from outside over real UDP from a
 * chosen loopback address (issue 20): wrong password proofs for a name, and a
 * flood of `auth`. For the black-box tests (tests/account_attacks_test.ts,
 * tests/web_browser_test.ts) and bench/account_cost.ts. Every loop is bounded
 * in count and time.
 *
 * @example
 * ```ts
 * const codes = await wrongProofs({ to: srv.clientAddr, host: "127.0.0.2", userName: "alice", count: 5 });
 * // ["bad-password", …]: each a proof the server checked and refused
 * const f = await floodAuth({ to: srv.clientAddr, hosts: ["127.0.0.2"], userName: "alice", rate: 20_000, seconds: 2 });
 * ```
 */
import { Buffer } from "node:buffer";
import { randomBytes } from "node:crypto";
import type { Address } from "../lib/net/address.ts";
import { bindUdp } from "../lib/net/udp_node.ts";
import type { Transport } from "../lib/net/transport.ts";
import { solveWork } from "../lib/accounts/work.ts";
import { lines, type UdpClient, udpClient } from "./harness.ts";

let attackNo = 0;

/**
 * `count` password logins for `userName` from `host`, each with a made-up
 * proof (no password: a random one, so no PBKDF2), doing the proof of work
 * when the challenge asks for it (a determined guesser would). The codes of
 * the replies, in order: "bad-password" for a proof the server checked,
 * "rate-limited" for one (or an `auth`) it refused to check.
 */
export async function wrongProofs(o: { to: Address; host: string; userName: string; count: number }): Promise<string[]> {
  const c = await udpClient(o.host);
  const codes: string[] = [];
  try {
    for (let i = 0; i < o.count; i++) {
      const n = ++attackNo;
      const nonce = `guess${n}`.padEnd(20, "x");
      const first = (await c.request(o.to, lines("auth", `g${n}a`, o.userName, nonce), 5000)).split("\n");
      if (first[0] !== "ok") {
        codes.push(first[2]);
        continue;
      }
      const r = /(?:^|,)r=([^,]*)/.exec(first[4])![1];
      const w = Number(/,w=(\d+)/.exec(first[4])?.[1] ?? 0);
      const proof = `${w > 0 ? solveWork(`c=biws,r=${r}`, w) : `c=biws,r=${r}`},p=${Buffer.from(randomBytes(32)).toString("base64")}`;
      const reply = (await c.request(o.to, lines("login", `g${n}b`, o.userName, proof), 5000)).split("\n");
      codes.push(reply[0] === "ok" ? "ok" : reply[2]);
    }
  } finally {
    await c.close();
  }
  return codes;
}

/**
 * `rate` `auth` datagrams a second for `seconds` (fresh nonces), spread over
 * 4 sockets on each of `hosts`, answered or not; then half a second for the
 * last replies. What was sent, answered, answered `rate-limited`, and
 * answered with a challenge.
 */
export async function floodAuth(o: { to: Address; hosts: string[]; userName: string; rate: number; seconds: number }): Promise<{ sent: number; replies: number; limited: number; challenges: number }> {
  const enc = new TextEncoder(), dec = new TextDecoder();
  let replies = 0, limited = 0, challenges = 0;
  const socks: Transport[] = [];
  for (const host of o.hosts) {
    for (let i = 0; i < 4; i++) {
      socks.push(await bindUdp({ host, port: 0 }, (bytes) => {
        replies++;
        const head = dec.decode(bytes.subarray(0, 64));
        if (head.includes("rate-limited")) limited++;
        if (head.startsWith("ok\n")) challenges++;
      }, { sendBufferSize: 4 << 20 }));
    }
  }
  const t0 = performance.now();
  const total = Math.floor(o.rate * o.seconds);
  let sent = 0;
  try {
    while (sent < total && performance.now() - t0 < o.seconds * 1000 + 2000) {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * o.rate));
      for (; sent < due; sent++) {
        const tag = `f${sent.toString(36)}`;
        socks[sent % socks.length].send(enc.encode(lines("auth", tag, o.userName, `flood${sent.toString(36).padStart(16, "0")}`)), o.to);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    await new Promise((r) => setTimeout(r, 500));
  } finally {
    await Promise.all(socks.map((s) => s.close()));
  }
  return { sent, replies, limited, challenges };
}

/**
 * What a real client does for a legit user under a flood (docs/PROTOCOL.md
 * "Retransmission"): sends `text` and resends the same datagram every
 * `everyMs` until its reply comes (matched by tag); throws after `timeoutMs`.
 */
export async function requestResending(c: UdpClient, to: Address, text: string, timeoutMs = 10_000, everyMs = 500): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await c.request(to, text, Math.max(1, Math.min(everyMs, until - Date.now())));
    } catch (e) {
      if (Date.now() >= until) throw e;
    }
  }
}
