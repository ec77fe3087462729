/**
 * Raw clients of the web listener for black-box tests, each able to bind a
 * local address of 127.0.0.0/8 (an attacker on 127.0.0.2, a user on
 * 127.0.0.200): HTTP requests with any Host and Origin, and WebSockets
 * whose frames are written by hand (masked, fragmented, pings, close frames,
 * a FIN without one) and whose socket can stop reading.
 *
 * @example
 * ```ts
 * const r = await rawGet(srv.web!, "/", { localAddress: "127.0.0.200" });
 * const ws = await rawWebSocket(srv.web!, { localAddress: "127.0.0.2" });
 * ws.send("login\n1\nbob\n"); await ws.next(); // "ok\n1\nlogin\nbob\n…"
 * ```
 */
import http from "node:http";
import net from "node:net";
import { OPCODE } from "../lib/net/websocket.ts";
import { type ServerHandle, udpClient } from "./harness.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A client frame (RFC 6455: masked with `mask`). */
export function clientFrame(opcode: number, payload: Uint8Array, fin = true, mask = [1, 2, 3, 4]): Uint8Array {
  const n = payload.length;
  const head = n < 126 ? [n | 0x80] : n < 65536 ? [126 | 0x80, n >> 8, n & 0xff] : [127 | 0x80, 0, 0, 0, 0, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
  const out = new Uint8Array(1 + head.length + 4 + n);
  out[0] = (fin ? 0x80 : 0) | opcode;
  out.set(head, 1);
  out.set(mask, 1 + head.length);
  for (let i = 0; i < n; i++) out[1 + head.length + 4 + i] = payload[i] ^ mask[i & 3];
  return out;
}

/** An HTTP response as rawGet read it. */
export type RawResponse = { status: number; headers: http.IncomingHttpHeaders; body: string };

/** One HTTP request from `localAddress`; rejects after `timeoutMs`. */
export function rawGet(
  web: string,
  path: string,
  o: { localAddress?: string; method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${web}${path}`, { method: o.method ?? "GET", headers: o.headers, localAddress: o.localAddress, agent: false }, (res) => {
      const chunks: Uint8Array[] = [];
      res.on("data", (c: Uint8Array) => chunks.push(c));
      res.on("end", () => (clearTimeout(timer), resolve({ status: res.statusCode ?? 0, headers: res.headers, body: dec.decode(Buffer.concat(chunks)) })));
      res.on("error", reject);
    });
    const timer = setTimeout(() => (req.destroy(), reject(new Error(`no answer to ${path} in ${o.timeoutMs ?? 10_000} ms`))), o.timeoutMs ?? 10_000);
    req.on("error", (e) => (clearTimeout(timer), reject(e)));
    req.end(o.body);
  });
}

/** A frame the server sent. */
export type ServerFrame = { opcode: number; data: Uint8Array };

/** Splits server frames (unmasked) off the front of `buf`; returns them and what is left. */
function serverFrames(buf: Uint8Array): [ServerFrame[], Uint8Array] {
  const out: ServerFrame[] = [];
  let at = 0;
  for (;;) {
    if (buf.length - at < 2) break;
    let len = buf[at + 1] & 0x7f, head = 2;
    if (len === 126) (len = (buf[at + 2] << 8) | buf[at + 3], head = 4);
    else if (len === 127) (len = Number(new DataView(buf.buffer, buf.byteOffset + at + 2, 8).getBigUint64(0)), head = 10);
    if (buf.length - at < head + len) break;
    out.push({ opcode: buf[at] & 0x0f, data: buf.slice(at + head, at + head + len) });
    at += head + len;
  }
  return [out, buf.slice(at)];
}

/** A WebSocket opened by hand (rawWebSocket). */
export type RawWebSocket = {
  socket: net.Socket;
  /** The status of the handshake's answer (101 when open). */
  status: number;
  /** The headers of the handshake's answer, names in lower case. */
  headers: Record<string, string>;
  /** Sends a text message (one frame). */
  send(text: string): void;
  /** Writes bytes as they are (hand-made frames). */
  write(bytes: Uint8Array): void;
  /** The next text message, or null when none comes within `timeoutMs` or the connection ended. */
  next(timeoutMs?: number): Promise<string | null>;
  /** Every frame received so far (text, pong, close…). */
  frames: ServerFrame[];
  /** Resolves when the server's side ended (FIN or reset) or the socket closed. */
  ended: Promise<void>;
  /** Bytes received (the handshake's answer included). */
  received(): number;
};

/** Opens a WebSocket to `web` from `localAddress` with the given Host and Origin; resolves once the server answered the handshake. */
export function rawWebSocket(
  web: string,
  o: { localAddress?: string; host?: string; origin?: string; path?: string; timeoutMs?: number } = {},
): Promise<RawWebSocket> {
  const u = new URL(web);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: u.hostname, port: Number(u.port), localAddress: o.localAddress });
    socket.on("error", () => {});
    let buf: Uint8Array = new Uint8Array(0);
    let status = 0;
    let bytes = 0;
    const frames: ServerFrame[] = [];
    const texts: string[] = [];
    const wakers = new Set<() => void>();
    let endedNow: () => void = () => {};
    const ended = new Promise<void>((r) => (endedNow = r));
    const timer = setTimeout(() => (socket.destroy(), reject(new Error(`no handshake answer in ${o.timeoutMs ?? 10_000} ms`))), o.timeoutMs ?? 10_000);
    const ws: RawWebSocket = {
      socket,
      status: 0,
      headers: {},
      send: (text) => void socket.write(clientFrame(OPCODE.text, enc.encode(text))),
      write: (b) => void socket.write(b),
      frames,
      ended,
      received: () => bytes,
      async next(timeoutMs = 10_000) {
        const until = Date.now() + timeoutMs;
        while (texts.length === 0 && Date.now() < until && !socket.destroyed) {
          await new Promise<void>((r) => {
            const t = setTimeout(done, Math.max(1, until - Date.now()));
            function done() {
              clearTimeout(t);
              wakers.delete(done);
              r();
            }
            wakers.add(done);
          });
        }
        return texts.shift() ?? null;
      },
    };
    const wake = () => [...wakers].forEach((w) => w());
    socket.on("data", (chunk: Uint8Array) => {
      bytes += chunk.length;
      let joined: Uint8Array = new Uint8Array(buf.length + chunk.length);
      joined.set(buf);
      joined.set(chunk, buf.length);
      if (status === 0) {
        const end = dec.decode(joined.subarray(0, Math.min(joined.length, 8192))).indexOf("\r\n\r\n");
        if (end < 0) return void (buf = joined);
        const head = dec.decode(joined.subarray(0, end)).split("\r\n");
        status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head[0])?.[1] ?? -1);
        ws.status = status;
        ws.headers = Object.fromEntries(head.slice(1).map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]));
        joined = joined.slice(end + 4);
        clearTimeout(timer);
        resolve(ws);
      }
      const [got, rest] = serverFrames(joined);
      buf = rest;
      for (const f of got) {
        frames.push(f);
        if (f.opcode === OPCODE.text) texts.push(dec.decode(f.data));
      }
      wake();
    });
    const finish = () => (wake(), endedNow());
    socket.on("end", finish);
    socket.on("close", finish);
    socket.on("connect", () => {
      socket.write(
        `GET ${o.path ?? "/ws"} HTTP/1.1\r\nHost: ${o.host ?? u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${o.origin ? `Origin: ${o.origin}\r\n` : ""}\r\n`,
      );
    });
    socket.on("close", () => {
      clearTimeout(timer);
      if (status === 0) reject(new Error("closed before the handshake was answered"));
    });
  });
}

let legitNo = 0;

/**
 * What a user on `localAddress` gets from `srv` (started with --web): the
 * page (GET /), a login over a WebSocket and a login over UDP, each within
 * `timeoutMs`. Resolves with the three outcomes ("200", "ok", "ok" when served).
 */
export async function legitServed(srv: ServerHandle, localAddress: string, timeoutMs = 10_000): Promise<{ page: string; ws: string; udp: string }> {
  const n = ++legitNo;
  const page = await rawGet(srv.web!, "/", { localAddress, timeoutMs }).then((r) => String(r.status), (e: Error) => e.message);
  let ws = "no WebSocket";
  try {
    const s = await rawWebSocket(srv.web!, { localAddress, timeoutMs });
    if (s.status !== 101) ws = `upgrade answered ${s.status}`;
    else {
      s.send(`login\nL${n}\nlegit${n}ws\n`);
      ws = (await s.next(timeoutMs))?.split("\n")[0] ?? "no reply";
    }
    s.socket.destroy();
  } catch (e) {
    ws = (e as Error).message;
  }
  const u = await udpClient(localAddress);
  let udp: string;
  try {
    udp = (await u.request(srv.clientAddr, `login\nU${n}\nlegit${n}udp\n`, timeoutMs)).split("\n")[0];
  } catch (e) {
    udp = (e as Error).message;
  } finally {
    await u.close();
  }
  return { page, ws, udp };
}
