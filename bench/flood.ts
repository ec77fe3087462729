/**
 * The flood benchmark (issue 11): one server (default configuration, fresh
 * database) under 30 s of logins, room creations, 2 KB adds and held long
 * polls from one address at 3,000 datagrams/s over 50 rotating source ports
 * (bench/_flood_load.ts), while legitimate users on ten other addresses
 * (127.0.0.60–69, taking turns) log in and out, one every 100 ms. Prints and writes to FILE: the server's RSS,
 * its disk growth, the legitimate login latency (p50/p99), what the server
 * refused, and the CPU time the server used. `--mix writes` floods with one
 * session's `mod topic` and `pubkey` instead (issue 20 row 9). Loopback
 * only, bounded in time and count.
 *
 *   npm run bench:flood -- [--runtime node|deno] [--seconds 30] [--rate 3000] [--mix default|writes] [--out FILE]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import process from "node:process";
import { defineCommand, fail, parseCommandLine } from "../lib/config/cli.ts";
import { displayCommand, killAllChildren, type Runtime, runtimeCommand, startChild } from "./_child.ts";
import { startBenchServer } from "./_distchat_server.ts";
import { Endpoint } from "./_distchat_udp.ts";
import { percentile } from "./_stats.ts";
import { dbSize } from "../testing/db_files.ts";

const COMMAND = defineCommand({
  name: "flood",
  about: "The flood benchmark: one server under a flood from one address; a legitimate client on another.",
  usage: "npm run bench:flood -- [--runtime node|deno] [--seconds N] [--rate N] [--mix default|writes] [--out FILE]",
  flags: {
    runtime: { type: "string", value: "node|deno", default: "node", help: "the server's runtime" },
    seconds: { type: "string", value: "N", default: "30", help: "how long the flood lasts" },
    rate: { type: "string", value: "N", default: "3000", help: "flood datagrams a second" },
    out: { type: "string", value: "FILE", default: "data/flood.md", help: "where the results go" },
    mix: { type: "string", value: "default|writes", default: "default", help: "default: logins, rooms, 2 KB adds, held polls; writes: one session's mod topic and pubkey in turn" },
  },
});
const { values: flags } = parseCommandLine(COMMAND);
if (flags.mix !== "default" && flags.mix !== "writes") fail("flood", `--mix must be default or writes, got "${flags.mix}"`);
if (flags.runtime !== "node" && flags.runtime !== "deno") fail("flood", `--runtime must be node or deno, got "${flags.runtime}"`);
for (const f of ["seconds", "rate"] as const) {
  if (!/^[1-9]\d{0,5}$/.test(flags[f]!)) fail("flood", `--${f} must be a whole number ≥ 1, got "${flags[f]}"`);
}
const runtime = flags.runtime as Runtime;
/** User and system CPU time of a process, seconds (/proc/PID/stat, in clock ticks of 1/100 s). */
const cpuSeconds = (pid: number): number => {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
};
const seconds = Number(flags.seconds), rate = Number(flags.rate);
const dir = mkdtempSync(join(os.tmpdir(), "distchat-flood-"));
const srv = await startBenchServer(runtime, dir);
try {
  const legits = await Promise.all(Array.from({ length: 10 }, (_, i) => Endpoint.open(`127.0.0.${60 + i}`)));
  const mb = (kib: number) => (kib / 1024).toFixed(0);
  const rss0 = srv.rss().rssKiB, disk0 = dbSize(srv.db);
  const argv = runtimeCommand("node", "bench/_flood_load.ts", [String(srv.port), "127.0.0.50", "50", String(rate), String(seconds), flags.mix!]);
  const cpu0 = cpuSeconds(srv.rss().pid);
  const flood = startChild(argv);
  await flood.next<{ ready: boolean }>(30_000);
  flood.send("go");
  const lat: number[] = [];
  let failed = 0, peakRss = rss0;
  const until = performance.now() + seconds * 1000;
  for (let i = 0; performance.now() < until; i++) {
    const t = performance.now();
    const legit = legits[i % legits.length];
    try {
      const token = await legit.login({ host: "127.0.0.1", port: srv.port }, `legit${i}`);
      lat.push(performance.now() - t);
      const tag = legit.tag();
      await legit.request({ host: "127.0.0.1", port: srv.port }, tag, `logout\n${tag}\n${token}\n`, 250);
    } catch {
      failed++;
    }
    peakRss = Math.max(peakRss, srv.rss().rssKiB);
    const wait = 100 - (performance.now() - t);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  const result = await flood.next<{ sent: number; replies: number; bytesIn: number }>(60_000);
  const rss1 = srv.rss().rssKiB, disk1 = dbSize(srv.db), cpu = cpuSeconds(srv.rss().pid) - cpu0;
  const lines = [
    `# Flood benchmark (${new Date().toISOString().slice(0, 10)})`,
    "",
    `Command: \`npm run bench:flood -- --runtime ${runtime} --seconds ${seconds} --rate ${rate} --mix ${flags.mix}\``,
    "",
    `Server: \`${srv.shown}\` (default quotas and limits). Flood: \`${displayCommand(argv).replace(` ${srv.port} `, " PORT ")}\`.`,
    "",
    "| figure | measured | goal |",
    "|---|---:|---:|",
    `| flood datagrams sent / answered | ${result.sent} / ${result.replies} | |`,
    `| bytes the flood got back | ${(result.bytesIn / 1048576).toFixed(2)} MiB | |`,
    `| server RSS before / peak / after (MiB) | ${mb(rss0)} / ${mb(peakRss)} / ${mb(rss1)} | peak ≤ 200 |`,
    `| database growth (MiB) | ${((disk1 - disk0) / 1048576).toFixed(1)} | bounded by the quotas |`,
    `| server CPU (s of one core, during the flood) | ${cpu.toFixed(1)} of ${seconds} | |`,
    `| legitimate logins (one every 100 ms, from 127.0.0.60–69): p50 / p99 (ms) | ${percentile(lat, 50).toFixed(2)} / ${percentile(lat, 99).toFixed(2)} | p99 ≤ 50 |`,
    `| legitimate logins failed | ${failed} of ${lat.length + failed} | 0 |`,
  ];
  const out = lines.join("\n") + "\n";
  console.log(out);
  writeFileSync(flags.out!, out);
  for (const l of legits) await l.close();
} finally {
  await srv.stop();
  killAllChildren();
  rmSync(dir, { recursive: true, force: true });
}
