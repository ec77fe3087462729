/**
 * What the writing verbs without a message cost the server in-process, as
 * the ops of one room or one name pile up (not a test): one session sends
 * N `mod topic` to its room, then N `pubkey` for its registered name, 128
 * per transaction, as the group commit batches them. Prints µs per request
 * over the first and the last 10% (a fold that rereads every op of its room
 * or name grows with N; an incremental one does not), and the database
 * bytes each op adds once the write-ahead log is checkpointed.
 *
 *   npm run bench:write-cost -- [N] [--json]     npx deno run -A bench/write_cost.ts [N] [--json]
 */
import { statSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { Buffer } from "node:buffer";
import { defineCommand, fail, parseCommandLine } from "../lib/config/cli.ts";
import { makeVerifier, verifierToBase64 } from "../lib/accounts/scram.ts";
import { inProcessServer } from "./_in_process.ts";

const COMMAND = defineCommand({
  name: "write_cost",
  about: "What mod and pubkey cost the server in-process as the ops of one room or name pile up.",
  usage: "npm run bench:write-cost -- [N] [--json]",
  positionals: [{ name: "N", help: "requests of each verb (default 5000)" }],
  flags: {
    json: { type: "boolean", default: false, help: "print the figures as one line of JSON" },
  },
  notes: "With Deno: npx deno run -A bench/write_cost.ts [N]",
});
const { values: cli, positionals } = parseCommandLine(COMMAND);
if (positionals.length > 1 || (positionals[0] !== undefined && !/^[1-9]\d*$/.test(positionals[0]))) {
  fail("write_cost", `N must be one whole number ≥ 1, got "${positionals.join(" ")}"`);
}
const N = Number(positionals[0] ?? 5000);

const server = inProcessServer("distchat-write-cost-");
const { store, handle, decode } = server;
const now = Date.now();
const v = verifierToBase64(await makeVerifier("pencil", randomBytes(16), 4096));
store.begin();
const token = handle(decode("login\n1\nalice\n"), now).split("\n")[4];
handle(decode(`open\n2\n${token}\nroom1\n`), now);
const reg = handle(decode(`register\n3\n${token}\n${v.salt}\n${v.iterations}\n${v.storedKey}\n${v.serverKey}\n-\n`), now);
if (!reg.startsWith("ok")) throw new Error(reg);
store.commit();

const bytes = () => {
  store.db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  return statSync(server.path).size;
};

/** µs per request over the first and the last tenth of N, and database bytes per op. */
function run(verb: string, request: (i: number) => string): { first: number; last: number; bytesPerOp: number } {
  const texts = Array.from({ length: N }, (_, i) => request(i));
  const b0 = bytes();
  const tenth = Math.max(1, Math.floor(N / 10));
  const times: number[] = [];
  for (let i = 0; i < N; i++) {
    if (i % 128 === 0) store.begin();
    const t = performance.now();
    const reply = handle(decode(texts[i]), now + i);
    if (i % 128 === 127 || i === N - 1) store.commit();
    times.push(performance.now() - t);
    if (!reply.startsWith("ok")) throw new Error(`${verb}: ${reply}`);
  }
  const us = (xs: number[]) => Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 100_000) / 100;
  return { first: us(times.slice(0, tenth)), last: us(times.slice(-tenth)), bytesPerOp: Math.round((bytes() - b0) / N) };
}

const mod = run("mod", (i) => `mod\nm${i}\n${token}\nroom1\ntopic\n-\ntopic number ${i}\n`);
const key = (i: number) => Buffer.alloc(32, i % 251).toString("base64");
const pubkey = run("pubkey", (i) => `pubkey\np${i}\n${token}\n${key(i)}\n`);
server.close();
const figures = { n: N, mod, pubkey };
if (cli.json) console.log(JSON.stringify(figures));
else {
  for (const [name, f] of [["mod topic", mod], ["pubkey", pubkey]] as const) {
    console.log(`${N} × ${name}: ${f.first} µs each over the first ${Math.max(1, Math.floor(N / 10))}, ${f.last} µs over the last; ${f.bytesPerOp} bytes of database per op`);
  }
}
