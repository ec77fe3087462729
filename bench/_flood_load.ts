/**
 * The flood of bench/flood.ts (one child process, Node): for SECONDS, RATE
 * datagrams a second from SOCKETS sockets on one address HOST (rotating
 * source ports). MIX "default": logins (each a new name), room creations,
 * adds of 2 KB and held long polls, using whatever tokens its logins got;
 * "writes" (issue 20 row 9): one session's `mod topic` and `pubkey` in
 * turn. Prints {ready}, starts on "go", prints {sent, replies, bytesIn} at
 * the end.
 *
 *   node bench/_flood_load.ts PORT HOST SOCKETS RATE SECONDS [MIX]
 *
 * Bounded: RATE × SECONDS datagrams, then exit.
 */
import process from "node:process";
import { Buffer } from "node:buffer";
import { randomBytes } from "node:crypto";
import { createInterface } from "node:readline";
import { bindUdp } from "../lib/net/udp_node.ts";
import type { Transport } from "../lib/wire/transport.ts";
import { makeVerifier, verifierToBase64 } from "../lib/accounts/scram.ts";

const [portArg, host, socketsArg, rateArg, secondsArg, mix = "default"] = process.argv.slice(2);
const to = { host: "127.0.0.1", port: Number(portArg) };
const rate = Number(rateArg), seconds = Number(secondsArg);
const enc = new TextEncoder();
const dec = new TextDecoder();
const tokens: string[] = [];
let replies = 0, bytesIn = 0;
const socks: Transport[] = [];
for (let i = 0; i < Number(socketsArg); i++) {
  socks.push(await bindUdp({ host, port: 0 }, (bytes) => {
    replies++;
    bytesIn += bytes.length;
    const f = dec.decode(bytes).split("\n");
    if (f[0] === "ok" && f[2] === "login" && tokens.length < 10_000) tokens.push(f[4]);
  }));
}
const text2k = "flood ".repeat(340);
/** The "writes" mix: one session in its own room, registered (so that it may publish keys). */
let writer = "";
if (mix === "writes") {
  const ask = async (text: string) => {
    const before = tokens.length;
    socks[0].send(enc.encode(text), to);
    for (let i = 0; i < 100 && tokens.length === before && writer === ""; i++) await new Promise((r) => setTimeout(r, 10));
  };
  await ask("login\nw1\nwriter\n");
  writer = tokens[0];
  const v = verifierToBase64(await makeVerifier("pw", randomBytes(16), 4096));
  socks[0].send(enc.encode(`open\nw2\n${writer}\nraid\n`), to);
  socks[0].send(enc.encode(`register\nw3\n${writer}\n${v.salt}\n${v.iterations}\n${v.storedKey}\n${v.serverKey}\n-\n`), to);
  await new Promise((r) => setTimeout(r, 200));
}
const key = Buffer.alloc(32, 7).toString("base64");
/** The `sent`-th datagram of the flood. */
const datagram = (sent: number): string => {
  const tag = `f${sent.toString(36)}`;
  if (mix === "writes") return sent % 2 === 0 ? `mod\n${tag}\n${writer}\nraid\ntopic\n-\ntopic ${sent}\n` : `pubkey\n${tag}\n${writer}\n${key}\n`;
  const tok = tokens.length > 0 ? tokens[sent % tokens.length] : "x".repeat(43);
  const kind = sent % 4;
  return kind === 0
    ? `login\n${tag}\nflood${sent}\n`
    : kind === 1
    ? `open\n${tag}\n${tok}\nfloodroom${sent}\n`
    : kind === 2
    ? `add\n${tag}\n${tok}\n${text2k}\nfloodroom${sent - 1}\n`
    : `request\n${tag}\n${tok}\nfloodroom${sent - 3}\n0\n30000\n`;
};
process.stdout.write(JSON.stringify({ ready: true }) + "\n");
await new Promise<void>((resolve) => createInterface({ input: process.stdin }).on("line", (l) => l.trim() === "go" && resolve()));
const t0 = performance.now();
let sent = 0;
const total = rate * seconds;
while (sent < total) {
  const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate));
  for (; sent < due; sent++) socks[sent % socks.length].send(enc.encode(datagram(sent)), to);
  await new Promise((r) => setTimeout(r, 5));
}
await new Promise((r) => setTimeout(r, 500));
process.stdout.write(JSON.stringify({ sent, replies, bytesIn }) + "\n");
for (const s of socks) await s.close();
process.exit(0);
