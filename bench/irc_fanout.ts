/**
 * `npm run bench:irc-fanout`: fan-out of one channel message to N IRC
 * connections on one server (default 1,000), DistChat's IRC listener
 * (`server.ts --irc`, limits lifted with --rate-limit 0) beside one ngircd
 * in the same run (bench/irc.ts starts it; its flood limits lifted). One
 * sender writes a line every `--gap` ms; each of the N receivers notes when
 * the line arrived; the delay of a delivery is its arrival minus the send.
 * Reported: p50, p99 and max over every delivery, per server and round.
 * Receivers and sender run in this process (the same cost for both).
 *
 *   npm run bench:irc-fanout -- [--clients 1000] [--messages 30] [--gap 300] [--runtime node|deno] [--rounds 3]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import net from "node:net";
import process from "node:process";
import type { Address } from "../lib/wire/address.ts";
import { defineCommand, parseCommandLine } from "../lib/config/cli.ts";
import type { Runtime } from "./_child.ts";
import { startBenchServer } from "./_distchat_server.ts";
import { connectIrc, type IrcClient } from "./_irc_client.ts";
import { ensureNgircd, startIrcNetwork } from "./irc.ts";
import { percentile } from "./_stats.ts";

const COMMAND = defineCommand({
  name: "irc_fanout",
  about: "bench/irc_fanout.ts: one channel line to N IRC connections on one server, DistChat beside ngircd.",
  usage: "npm run bench:irc-fanout -- [--clients N] [--messages M] [--gap MS] [--rounds R] [--runtime node|deno]",
  flags: {
    clients: { type: "string", value: "N", default: "1000", help: "receiving IRC connections" },
    messages: { type: "string", value: "M", default: "30", help: "lines sent per round" },
    gap: { type: "string", value: "MS", default: "300", help: "ms between two lines" },
    rounds: { type: "string", value: "R", default: "3", help: "rounds per server (each on a fresh server)" },
    runtime: { type: "string", value: "R", default: "node", help: "DistChat's runtime: node or deno" },
  },
});

const CHANNEL = "#fan";

/** A free TCP port on loopback. */
function freeTcp(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Connects `n` receivers (50 at a time) that join CHANNEL; each delivery's delay goes to `delays`. */
async function receivers(at: Address, n: number, sentAt: Map<string, number>, delays: number[]): Promise<IrcClient[]> {
  const out: IrcClient[] = [];
  for (let i = 0; i < n; i += 50) {
    const batch = await Promise.all(Array.from({ length: Math.min(50, n - i) }, (_, j) => connectIrc(at, `r${i + j}`, 60_000)));
    await Promise.all(batch.map((c) => c.join(CHANNEL)));
    for (const c of batch) {
      c.endpoint(CHANNEL).onText((text) => {
        const t = sentAt.get(text);
        if (t !== undefined) delays.push(performance.now() - t);
      });
    }
    out.push(...batch);
  }
  return out;
}

/** One round against the server at `at`: N receivers, M lines; the delays of every delivery, and how many were expected. */
async function round(at: Address, n: number, m: number, gap: number): Promise<{ delays: number[]; expected: number }> {
  const sentAt = new Map<string, number>();
  const delays: number[] = [];
  const clients = await receivers(at, n, sentAt, delays);
  const sender = await connectIrc(at, "sender", 60_000);
  try {
    await sender.join(CHANNEL);
    await new Promise((r) => setTimeout(r, 1000));
    for (let i = 0; i < m; i++) {
      const text = `line ${i} ${Date.now()}`;
      sentAt.set(text, performance.now());
      await sender.send(`PRIVMSG ${CHANNEL} :${text}`);
      await new Promise((r) => setTimeout(r, gap));
    }
    const until = Date.now() + 10_000;
    while (delays.length < n * m && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    return { delays, expected: n * m };
  } finally {
    sender.close();
    for (const c of clients) c.close();
    await new Promise((r) => setTimeout(r, 600));
  }
}

function line(name: string, r: { delays: number[]; expected: number }): string {
  const d = r.delays;
  const f = (x: number) => x.toFixed(2);
  return `| ${name} | ${d.length} / ${r.expected} | ${f(percentile(d, 50))} | ${f(percentile(d, 99))} | ${f(Math.max(...d))} |`;
}

const { values } = parseCommandLine(COMMAND);
const [n, m, gap, rounds] = [Number(values.clients), Number(values.messages), Number(values.gap), Number(values.rounds)];
const runtime = values.runtime as Runtime;
const tmp = mkdtempSync(join(tmpdir(), "irc-fanout-"));
const rows: string[] = [];
try {
  const ngircd = ensureNgircd((l) => console.error(l));
  for (let i = 1; i <= rounds; i++) {
    const port = await freeTcp();
    const dir = mkdtempSync(join(tmp, "dc-"));
    const srv = await startBenchServer(runtime, dir, ["--rate-limit", "0", "--irc", `127.0.0.1:${port}`, "--min-free-mb", "0"]);
    try {
      rows.push(line(`DistChat (${runtime}) round ${i}`, await round({ host: "127.0.0.1", port }, n, m, gap)));
    } finally {
      await srv.stop();
    }
    const net3 = await startIrcNetwork(tmp, ngircd.path);
    try {
      rows.push(line(`ngircd ${ngircd.version} round ${i}`, await round(net3.servers[0], n, m, gap)));
    } finally {
      await net3.stop();
    }
    console.error(rows.slice(-2).join("\n"));
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
console.log(`fan-out of one PRIVMSG to ${n} IRC connections on one server, ${m} lines ${gap} ms apart, ms from the send:\n`);
console.log("| server, round | deliveries | p50 | p99 | max |\n|---|---|---|---|---|");
console.log(rows.join("\n"));
process.exit(0);
