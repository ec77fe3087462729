/**
 * What one add costs the server in-process, without sockets (not a test):
 * a store (--sync normal, so no disk waits), one session in one room, N add
 * datagrams decoded and handled 128 per transaction, as the group commit
 * does. Prints µs per add: decode (grammar + checks), handle (what the
 * client port does with a decoded request: lib/server/answers.ts,
 * lib/handlers/, the store, encoding the reply), commit; and the CPU time
 * of the whole loop per add (process.cpuUsage), steadier than the wall
 * clock on a loaded machine.
 *
 *   npm run bench:add-cost -- [N] [--json]     npx deno run -A bench/add_cost.ts [N] [--json]
 */
import { defineCommand, fail, parseCommandLine } from "../lib/config/cli.ts";
import { decodeRequest, encodeText } from "../lib/wire/codec.ts";
import process from "node:process";
import { inProcessServer } from "./_in_process.ts";
const server = inProcessServer("distchat-add-cost-");
const { store, handle } = server;
const dec = server.decode;
const now = Date.now();
store.begin();
const token = handle(dec("login\n1\nalice\n"), now).split("\n")[4];
handle(dec(`open\n2\n${token}\nroom1\n`), now);
store.commit();
const COMMAND = defineCommand({
  name: "add_cost",
  about: "What one add costs the server in-process (no sockets): µs per add for decode, handle, commit.",
  usage: "npm run bench:add-cost -- [N] [--json]",
  positionals: [{ name: "N", help: "adds to time (default 100000)" }],
  flags: {
    json: { type: "boolean", default: false, help: "print the figures as one line of JSON" },
  },
  notes: "With Deno: npx deno run -A bench/add_cost.ts [N]",
});
const { values: cli, positionals } = parseCommandLine(COMMAND);
if (positionals.length > 1 || (positionals[0] !== undefined && !/^[1-9]\d*$/.test(positionals[0]))) {
  fail("add_cost", `N must be one whole number ≥ 1, got "${positionals.join(" ")}"`);
}
const N = Number(positionals[0] ?? 100000);
const json = cli.json!;
const dgs = Array.from(
  { length: N },
  (_, i) =>
    encodeText(
      `add\nt${i}\n${token}\nmessage number ${i} of the micro benchmark\nroom1\n`,
    ),
);
const phase = { decode: 0, handle: 0, commit: 0 };
const t0 = performance.now();
const cpu0 = process.cpuUsage();
for (let i = 0; i < N; i++) {
  if (i % 128 === 0) store.begin();
  const a = performance.now();
  const r = decodeRequest(dgs[i]);
  const b = performance.now();
  if (!r.ok) throw new Error("bad");
  handle(r.value, now + i);
  const c = performance.now();
  phase.decode += b - a;
  phase.handle += c - b;
  if (i % 128 === 127) {
    const d = performance.now();
    store.commit();
    phase.commit += performance.now() - d;
  }
}
store.commit();
const el = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const us = (x: number) => Math.round((x / N) * 100_000) / 100;
const figures = {
  adds: N,
  total: us(el),
  decode: us(phase.decode),
  handle: us(phase.handle),
  commit: us(phase.commit),
  cpu: us((cpu.user + cpu.system) / 1000),
};
if (json) console.log(JSON.stringify(figures));
else {
  console.log(
    `${N} adds: ${figures.total} µs each; decode ${figures.decode}, handle ${figures.handle}, commit ${figures.commit}; CPU ${figures.cpu}`,
  );
}
server.close();
