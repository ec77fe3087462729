/**
 * Clients chatting while scripts/deploy_walk.sh walks docs/DEPLOY.md §11
 * (adding and retiring a server), and the check that every message they
 * had acked is on a server afterwards. Run inside the walk's client
 * namespace with the node of node_modules:
 *
 * ```sh
 * node testing/walk_writers.ts write --servers FILE --room R --out ACKED.json --stop STOPFILE [--count 3] [--bind ADDR] [--prefix w]
 * node testing/walk_writers.ts check --acked ACKED.json --server ID --servers FILE --room R [--bind ADDR] [--prefix w]
 * ```
 *
 * `write` adds messages (testing/membership.ts's writers) to the servers
 * the file lists, rereading it at every turn (so a client handed the new
 * servers.txt starts using a new server), until STOPFILE exists; then it
 * writes every acked message (text → id) to ACKED.json and prints the count.
 * The writers log in as PREFIX0, PREFIX1, … (a user name is taken while
 * its session lives: a second run needs another prefix; `check` logs in
 * as PREFIX-check-ID).
 * `check` exits 0 when server ID lists every one of them under its acked
 * id within 15 s, else prints what is missing and exits 1.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { readServersFile } from "../lib/config/servers_file.ts";
import { formatAddress } from "../lib/wire/address.ts";
import type { Address, ServerHandle } from "./harness.ts";
import { everyAckedOn, startWriters } from "./membership.ts";
import { sleep } from "./cluster_ops.ts";
import { secureUdpClient } from "./secure_client.ts";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    servers: { type: "string" },
    room: { type: "string", default: "walk" },
    out: { type: "string" },
    stop: { type: "string" },
    count: { type: "string", default: "3" },
    acked: { type: "string" },
    server: { type: "string" },
    bind: { type: "string", default: "0.0.0.0" },
    prefix: { type: "string", default: "w" },
  },
});

/**
 * The client addresses of the servers `file` lists now (the last good read
 * if it does not parse), each server's key= added to `keys` (client address
 * → key) as it appears: the clients encrypt, as the terminal client does.
 */
function targetsOf(file: string, keys: Map<string, Uint8Array>): () => Address[] {
  let last: Address[] = [];
  return () => {
    try {
      const servers = readServersFile(file).servers;
      for (const s of servers) if (s.publicKey) keys.set(formatAddress(s.client), s.publicKey);
      last = servers.map((s) => s.client);
    } catch { /* keep the last good list while the file is being rewritten */ }
    return last;
  };
}

async function write(): Promise<void> {
  const { servers, out, stop, room } = values;
  if (!servers || !out || !stop) throw new Error("write needs --servers, --out and --stop");
  const keys = new Map<string, Uint8Array>();
  const targets = targetsOf(servers, keys);
  targets();
  const client = () => secureUdpClient(keys, values.bind);
  const w = startWriters({ count: Number(values.count), room: room!, targets, max: 5000, client, prefix: values.prefix });
  // Bounded: at most 10 minutes even if the walk never writes the stop file.
  for (let i = 0; i < 6000 && !existsSync(stop); i++) await sleep(100);
  const acked = await w.stop();
  writeFileSync(out, JSON.stringify(Object.fromEntries(acked)));
  console.log(`${acked.size} messages acked (${w.refused} refusals on the way)`);
}

async function check(): Promise<number> {
  const { servers, acked: file, server: id, room } = values;
  if (!servers || !file || !id) throw new Error("check needs --servers, --acked and --server");
  const entry = readServersFile(servers).servers.find((s) => s.id === id);
  if (!entry) throw new Error(`${id} is not in ${servers}`);
  const acked = new Map(Object.entries(JSON.parse(readFileSync(file, "utf8")) as Record<string, string>));
  const keys = new Map<string, Uint8Array>();
  targetsOf(servers, keys)();
  const u = await secureUdpClient(keys, values.bind);
  try {
    const server = { id, clientAddr: entry.client } as ServerHandle;
    const missing = await everyAckedOn(u, server, `${values.prefix}-check-${id}`, room!, acked, 15_000);
    console.log(missing ?? `${id} holds all ${acked.size} acked messages under their acked ids`);
    return missing === null ? 0 : 1;
  } finally {
    await u.close();
  }
}

const mode = positionals[0];
if (mode === "write") await write();
else if (mode === "check") process.exitCode = await check();
else {
  console.error("usage: walk_writers.ts write|check … (see the file's comment)");
  process.exitCode = 2;
}
