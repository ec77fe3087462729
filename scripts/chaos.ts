/**
 * A long chaos run (testing/chaos.ts) of real servers: prints what was acked
 * and every violated property; exits 1 if there was one.
 *
 *   npm run chaos -- [--seconds 120] [--servers 5] [--clients 6] [--seed 1] [--one-disk-acks] [--membership] [--trace]
 */
import process from "node:process";
import { defineCommand, fail, parseCommandLine } from "../lib/config/cli.ts";
import { runChaos } from "../testing/chaos.ts";
import { keepTempDirs, removeTempDirs } from "../testing/harness.ts";

const CHAOS = defineCommand({
  name: "chaos",
  about: "A long chaos run of real servers: loss, duplication, jitter and kill -9 while clients add and fail over.",
  usage: "npm run chaos -- [--seconds N] [--servers N] [--clients N] [--seed N] [--one-disk-acks] [--membership] [--trace] [--keep]",
  flags: {
    seconds: { type: "string", value: "N", default: "120", help: "how long the faults last" },
    servers: { type: "string", value: "N", default: "5", help: "servers, 2 to 26" },
    clients: { type: "string", value: "N", default: "6", help: "clients adding lines" },
    seed: { type: "string", value: "N", default: "1", help: "the seed of every fault" },
    "one-disk-acks": { type: "boolean", help: "run the servers with --one-disk-acks" },
    membership: { type: "boolean", help: "add a server a third of the way in and retire the first one two thirds in (servers file + SIGHUP)" },
    trace: { type: "boolean", help: "explain the slowest listings on the servers not killed: each copy's confirmer and what it was doing (testing/chaos_trace.ts)" },
    keep: { type: "boolean", help: "keep the servers' directories (databases, servers file) and print where they are" },
  },
  notes: "Prints what was acked and every violated property; exits 1 if there was one.",
});
const { values } = parseCommandLine(CHAOS);
const num = (k: "seconds" | "servers" | "clients" | "seed", min: number, max: number) => {
  const n = Number(values[k]);
  if (!Number.isInteger(n) || n < min || n > max) fail("chaos", `--${k} must be a whole number from ${min} to ${max}, got "${values[k]}"`);
  return n;
};
try {
  const r = await runChaos({
    servers: num("servers", 2, 26),
    clients: num("clients", 1, 100),
    seconds: num("seconds", 1, 3600),
    seed: num("seed", 1, 2 ** 31),
    serverArgs: values["one-disk-acks"] ? ["--one-disk-acks"] : [],
    membership: values.membership === true,
    trace: values.trace === true,
    log: (line) => console.log(line),
  });
  console.log(
    `acked ${r.acked}, unacked ${r.unacked}, rate-limited answers ${r.rateLimited}, kills ${r.kills}, ack latency p50 ${r.latency.p50} ms p99 ${r.latency.p99} ms ` +
      `max ${r.latency.max} ms, servers agreed ${r.convergedMs} ms after the faults stopped` +
      (r.changed ? `; added ${r.changed.added}, retired ${r.changed.retired}` : ""),
  );
  const v = r.visible;
  console.log(
    `ack -> visible on all servers p50 ${v.all.p50} ms p99 ${v.all.p99} ms max ${v.all.max} ms; ` +
      `on the servers up at the ack p50 ${v.upAtAck.p50} ms p99 ${v.upAtAck.p99} ms max ${v.upAtAck.max} ms; ` +
      `on the servers not killed before they listed it p50 ${v.notKilled.p50} ms p99 ${v.notKilled.p99} ms max ${v.notKilled.max} ms; ` +
      `never on all: ${v.missing}; a killed server was back after p50 ${r.outageMs.p50} ms p99 ${r.outageMs.p99} ms max ${r.outageMs.max} ms; ` +
      `kills while another server was down: ${r.twoDown}; a restarted server took writes after p50 ${r.catchUp.p50} ms p99 ${r.catchUp.p99} ms max ${r.catchUp.max} ms ` +
      `(${r.catchUp.of} restarts, ${r.catchUp.never} killed again before)`,
  );
  for (const line of r.trace ?? []) console.log(line);
  for (const p of r.problems.slice(0, 50)) console.log(`PROBLEM: ${p}`);
  if (r.problems.length > 50) console.log(`… and ${r.problems.length - 50} more`);
  console.log(r.problems.length === 0 ? "no problems" : `${r.problems.length} problem(s)`);
  process.exitCode = r.problems.length === 0 ? 0 : 1;
} finally {
  if (values.keep) for (const d of keepTempDirs()) console.log(`kept ${d}`);
  else removeTempDirs();
}
