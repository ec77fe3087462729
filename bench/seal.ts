/**
 * Cost of sealed messages (lib/client/seal.ts): one key derivation (scrypt,
 * N = 2^15, r = 8, p = 1; the page's portable one and the terminal's native
 * one), and sealing / opening a 100-byte message.
 *
 *   node bench/seal.ts [messages]
 *   deno run -A bench/seal.ts [messages]
 */
import { randomBytes } from "node:crypto";
import { deriveRoomKey, RoomKeys } from "../lib/client/seal.ts";
import { nativeRoomKdf } from "../lib/client/native_kdf.ts";
import { runtimeVersion } from "../lib/platform/runtime.ts";
import { defineCommand, fail, parseCommandLine } from "../lib/config/cli.ts";

const SEAL = defineCommand({
  name: "seal",
  about: "What sealed messages cost: one key derivation (the page's portable scrypt and the terminal's native one), sealing and opening a 100-byte message.",
  usage: "node_modules/.bin/node bench/seal.ts [MESSAGES]",
  positionals: [{ name: "MESSAGES", help: "messages sealed and opened (default 10000)" }],
  flags: {},
  notes: "With Deno: deno run -A bench/seal.ts [MESSAGES]",
});
const { positionals } = parseCommandLine(SEAL);
if (positionals.length > 1 || (positionals[0] !== undefined && !/^[1-9]\d*$/.test(positionals[0]))) fail("seal", `MESSAGES must be one whole number ≥ 1, got "${positionals.join(" ")}"`);
const messages = Number(positionals[0] ?? 10_000);
const derivations = 10;

async function time(f: () => Promise<void> | void): Promise<number> {
  const t = performance.now();
  await f();
  return performance.now() - t;
}

await deriveRoomKey("warm-up", randomBytes(16));
const kdfMs = await time(async () => {
  for (let i = 0; i < derivations; i++) await deriveRoomKey(`passphrase ${i}`, randomBytes(16));
}) / derivations;
await nativeRoomKdf("warm-up", randomBytes(16));
const nativeMs = await time(async () => {
  for (let i = 0; i < derivations; i++) await nativeRoomKdf(`passphrase ${i}`, randomBytes(16));
}) / derivations;

const alice = new RoomKeys();
const bob = new RoomKeys();
await alice.setPassphrase("lobby", "correct horse battery staple");
await bob.setPassphrase("lobby", "correct horse battery staple");
const text = "x".repeat(100);
await bob.open("lobby", "alice", alice.seal("lobby", "alice", text)); // bob derives alice's salt once

const sealed: string[] = new Array(messages);
const sealMs = await time(() => {
  for (let i = 0; i < messages; i++) sealed[i] = alice.seal("lobby", "alice", text);
});
let opened = 0;
const openMs = await time(async () => {
  for (const s of sealed) if ((await bob.open("lobby", "alice", s)).kind === "sealed") opened++;
});
if (opened !== messages) throw new Error(`opened ${opened} of ${messages}`);

const us = (ms: number) => ((ms * 1000) / messages).toFixed(1);
console.log(`${runtimeVersion()}`);
console.log(`key derivation (scrypt N=2^15 r=8 p=1, 32 MiB): ${kdfMs.toFixed(1)} ms each portable (@noble, the page's), ${nativeMs.toFixed(1)} ms native (node:crypto, the terminal's; mean of ${derivations})`);
console.log(`seal ${messages} × 100 B: ${sealMs.toFixed(0)} ms total, ${us(sealMs)} µs each`);
console.log(`open ${messages} × 100 B: ${openMs.toFixed(0)} ms total, ${us(openMs)} µs each`);
console.log(`derivations by the receiver: ${bob.derivations} (own salt + the sender's salt)`);
