/**
 * Fill load for bench/distchat_cluster.ts (one Node child process): exactly
 * COUNT acked adds to one server, from CLIENTS sessions (own socket each)
 * with WINDOW adds in flight per client.
 *
 *   node bench/_distchat_cluster_load.ts count PORT COUNT CLIENTS WINDOW ROOM ID
 *       prints {ready}; on "go" adds COUNT messages, prints {acked, ms, retransmits}
 *
 * Bounded: COUNT adds, and the process exits after 300 s or when stdin ends.
 */
import process from "node:process";
import { createInterface } from "node:readline";
import { randomBytes } from "node:crypto";
import { Endpoint, lines } from "./_distchat_udp.ts";

const out = (v: unknown) => process.stdout.write(JSON.stringify(v) + "\n");
setTimeout(() => process.exit(3), 300_000).unref();

const [mode, portArg, countArg, clientsArg, windowArg, room, id] = process.argv.slice(2);
if (mode !== "count") {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
const to = { host: "127.0.0.1", port: Number(portArg) };
const count = Number(countArg), clients = Number(clientsArg), window = Number(windowArg);

const go = new Promise<void>((resolve) => {
  const rl = createInterface({ input: process.stdin });
  rl.on("line", (l) => l.trim() === "go" && resolve());
  rl.on("close", () => process.exit(0));
});

try {
  const eps: Endpoint[] = [];
  const tokens: string[] = [];
  for (let i = 0; i < clients; i++) {
    const ep = await Endpoint.open();
    eps.push(ep);
    tokens.push(await ep.login(to, `fill${id}c${i}r${randomBytes(3).toString("hex")}`));
    await ep.join(to, tokens[i], room);
  }
  out({ ready: true });
  await go;
  const t0 = performance.now();
  let issued = 0, acked = 0;
  const lane = async (ep: Endpoint, token: string) => {
    while (issued < count) {
      const n = issued++;
      const tag = ep.tag();
      const reply = await ep.request(to, tag, lines("add", tag, token, `fill message ${n} from load ${id}, about sixty bytes of text`, room), 250);
      if (!reply.startsWith("ok")) throw new Error(`add: ${reply.replaceAll("\n", " ")}`);
      acked++;
    }
  };
  const lanes: Promise<void>[] = [];
  for (let c = 0; c < clients; c++) for (let l = 0; l < window; l++) lanes.push(lane(eps[c], tokens[c]));
  await Promise.all(lanes);
  out({ acked, ms: performance.now() - t0, retransmits: eps.reduce((a, e) => a + e.retransmits, 0) });
  for (const ep of eps) await ep.close();
  process.exit(0);
} catch (e) {
  console.error((e as Error).stack ?? e);
  process.exit(1);
}
