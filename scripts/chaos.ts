/**
 * A long chaos run (testing/chaos.ts) of real servers: prints what was acked
 * and every violated property; exits 1 if there was one.
 *
 *   npm run chaos -- [--seconds 120] [--servers 5] [--clients 6] [--seed 1] [--one-disk-acks]
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { runChaos } from "../testing/chaos.ts";
import { removeTempDirs } from "../testing/harness.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "120" },
    servers: { type: "string", default: "5" },
    clients: { type: "string", default: "6" },
    seed: { type: "string", default: "1" },
    "one-disk-acks": { type: "boolean" },
  },
});
const num = (k: "seconds" | "servers" | "clients" | "seed") => {
  const n = Number(values[k]);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--${k} must be a positive integer, got ${values[k]}`);
    process.exit(2);
  }
  return n;
};
try {
  const r = await runChaos({
    servers: num("servers"),
    clients: num("clients"),
    seconds: num("seconds"),
    seed: num("seed"),
    serverArgs: values["one-disk-acks"] ? ["--one-disk-acks"] : [],
    log: (line) => console.log(line),
  });
  console.log(
    `acked ${r.acked}, unacked ${r.unacked}, kills ${r.kills}, ack latency p50 ${r.latency.p50} ms p99 ${r.latency.p99} ms ` +
      `max ${r.latency.max} ms, servers agreed ${r.convergedMs} ms after the faults stopped`,
  );
  for (const p of r.problems.slice(0, 50)) console.log(`PROBLEM: ${p}`);
  if (r.problems.length > 50) console.log(`… and ${r.problems.length - 50} more`);
  console.log(r.problems.length === 0 ? "no problems" : `${r.problems.length} problem(s)`);
  process.exitCode = r.problems.length === 0 ? 0 : 1;
} finally {
  removeTempDirs();
}
