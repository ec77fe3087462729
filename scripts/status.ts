/**
 * `npm run status [-- --servers FILE --cluster-key FILE]`: asks every server
 * of servers.txt for its state over the peer protocol (`stat`) and prints a
 * health table. Exits 1 when a server is down.
 */
import { defineCommand, fail, parseCommandLine } from "../lib/config/cli.ts";
import { readKeyFile } from "../lib/config/cluster_key.ts";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { decodePeer } from "../lib/wire/codec.ts";
import { macMatches } from "../lib/replication/peer_auth.ts";
import { readServers, type ServerEntry } from "../lib/config/servers_file.ts";
import { formatStatusTable, parseClockHint, parseReport, statDatagram, type StatusReport } from "../lib/server/status.ts";
import { bindUdp } from "../lib/net/udp_node.ts";
import { bindHostFor } from "../lib/wire/address.ts";

const STATUS = defineCommand({
  name: "status",
  about: "npm run status: asks every server of a servers file for its state and prints a health table.",
  usage: "npm run status -- [--servers FILE] [--cluster-key FILE] [--timeout-ms MS]",
  flags: {
    servers: { type: "string", value: "FILE", default: "servers.txt", help: "the cluster" },
    "cluster-key": { type: "string", value: "FILE", help: "the cluster key (default: data/cluster.key when it exists, as npm start makes)" },
    "timeout-ms": { type: "string", value: "MS", default: "1500", help: "how long to wait for answers" },
  },
  notes: "Exits 1 when a server does not answer.",
});
const { values } = parseCommandLine(STATUS);
if (!/^\d+$/.test(values["timeout-ms"]!)) fail("status", `--timeout-ms must be a whole number of milliseconds, got "${values["timeout-ms"]}"`);
let servers;
let key: Uint8Array | null = null;
try {
  servers = readServers(values.servers!);
} catch (e) {
  fail("status", (e as Error).message);
}
const keyFile = values["cluster-key"] ?? (existsSync("data/cluster.key") ? "data/cluster.key" : null);
if (keyFile !== null) {
  try {
    key = readKeyFile(keyFile).key;
  } catch (e) {
    fail("status", (e as Error).message);
  }
}

const reports = new Map<string, StatusReport>();
/** Per server: its clock minus ours, from a clock hint (it refused our nonce as stale). */
const offsets = new Map<string, number>();
// Any host of the servers file: bind where those peer addresses are reachable from.
const udp = await bindUdp({ host: bindHostFor(servers!.map((s) => s.peer)), port: 0 }, (bytes) => {
  const d = decodePeer(bytes);
  if (!d.ok || d.value.datagram.verb !== "state") return;
  if (key && !macMatches(key, d.value.signed, d.value.mac)) return;
  const hint = parseClockHint(d.value.datagram.json);
  const s = hint && servers!.find((e) => e.id === hint.id);
  if (s && !offsets.has(s.id)) {
    offsets.set(s.id, hint.now - Date.now());
    askOne(s); // again, in its time
    return;
  }
  const r = parseReport(d.value.datagram.json);
  if (r) reports.set(r.id, r);
});

function askOne(s: ServerEntry): void {
  udp.send(statDatagram(key, Date.now() + (offsets.get(s.id) ?? 0), randomBytes(8).toString("hex")), s.peer);
}

function ask(): void {
  for (const s of servers!) if (!reports.has(s.id)) askOne(s);
}

const timeout = Number(values["timeout-ms"]);
for (let i = 0; i < 3 && reports.size < servers!.length; i++) {
  ask();
  const end = Date.now() + timeout / 3;
  while (Date.now() < end && reports.size < servers!.length) await new Promise((r) => setTimeout(r, 20));
}
await udp.close();
console.log(formatStatusTable(servers!, reports));
process.exitCode = reports.size === servers!.length ? 0 : 1;
