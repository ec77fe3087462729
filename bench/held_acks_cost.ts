/**
 * What the two-disk ack rule's passes cost an origin, in process (not a
 * test; issue 27's cluster CPU, docs/PERFORMANCE_NOTES.md §4): HeldAcks
 * (lib/acks/confirm.ts) holding H acks of messages made here and named to
 * confirmer b; for each message, one ack is held, b's `got` moves on by
 * one, and two passes run (the commit's and the `got`'s), each releasing
 * what the `got` covers. Prints CPU µs per message (process.cpuUsage),
 * median (min–max) of the runs; liveness and hold included.
 *
 *   node_modules/.bin/node bench/held_acks_cost.ts [--held 128] [--runs 5] [--messages 100000]
 */
import process from "node:process";
import { defineCommand, fail, parseCommandLine } from "../lib/config/cli.ts";
import { HeldAcks } from "../lib/acks/confirm.ts";
import { PeerLiveness } from "../lib/acks/liveness.ts";
import { formatSummary, summarize } from "./_stats.ts";

const COMMAND = defineCommand({
  name: "held_acks_cost",
  about: "CPU µs per message of the ack rule's passes at an origin holding --held acks (two passes per message).",
  usage: "node_modules/.bin/node bench/held_acks_cost.ts [--held N] [--runs N] [--messages N]",
  flags: {
    held: { type: "string", value: "N", default: "128", help: "acks held at once (8 clients × 16 in flight: 128)" },
    runs: { type: "string", value: "N", default: "5", help: "runs" },
    messages: { type: "string", value: "N", default: "100000", help: "messages per run" },
  },
});
const { values: flags } = parseCommandLine(COMMAND);
for (const f of ["held", "runs", "messages"] as const) if (!/^[1-9]\d*$/.test(flags[f]!)) fail("held_acks_cost", `--${f} must be a whole number ≥ 1, got "${flags[f]}"`);
const held = Number(flags.held), runs = Number(flags.runs), messages = Number(flags.messages);

type Copy = { origin: string; seq: number; conf: string };

/** One run: CPU µs per message. */
function run(): number {
  const liveness = new PeerLiveness();
  const acks = new HeldAcks<Copy, number>({ self: "a", liveness, started: 0 });
  const mine = new Map([["a~1", 0]]);
  const visibleNow = new Map<string, Copy>();
  const visible = (_session: string, tag: string) => visibleNow.get(tag) ?? null;
  let released = 0;
  const start = process.cpuUsage();
  for (let n = 1; n <= messages; n++) {
    const copy = { origin: "a~1", seq: n, conf: "b" };
    visibleNow.set(`t${n}`, copy);
    acks.hold(`k${n}`, { session: "s", tag: `t${n}`, copy, until: n + 1e9, data: n });
    liveness.got("b", new Map([["a~1", Math.max(0, n - held)]]), n, n);
    released += acks.due(n, mine, visible).length + acks.due(n, mine, visible).length;
    visibleNow.delete(`t${n - held}`);
  }
  const used = process.cpuUsage(start);
  if (released !== Math.max(0, messages - held)) throw new Error(`released ${released} of ${messages - held}`);
  return (used.user + used.system) / messages;
}

const us = Array.from({ length: runs }, run);
console.log(`held ${held}: CPU µs per message (two passes), ${runs} runs: ${formatSummary(summarize(us), 2)}; each: ${us.map((x) => x.toFixed(2)).join(" ")}`);
