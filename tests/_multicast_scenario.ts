/**
 * Run inside a private network namespace by tests/cluster_multicast_test.ts
 * (multicast on loopback needs one): starts three servers with
 * `--multicast 239.255.0.1:PORT`, adds messages on each, and checks every
 * server lists all of them. Prints a summary; exits 0 when all is well, 1
 * otherwise.
 *
 *   unshare -rn sh -c 'ip link set lo up; ip link set lo multicast on;
 *     ip route add 224.0.0.0/4 dev lo; node tests/_multicast_scenario.ts'
 */
import process from "node:process";
import { freePort, makeCluster, removeTempDirs, type ServerHandle, startServer, udpClient } from "../testing/harness.ts";
import { add, askState, connectWhenThere, enter, login, readAll, within } from "../testing/cluster_ops.ts";

const IDS = ["a", "b", "c"];
const PER_SERVER = 50;

async function main(): Promise<string[]> {
  const problems: string[] = [];
  const port = await freePort();
  const group = `239.255.0.1:${port}`;
  const { file } = await makeCluster(IDS);
  const servers: Record<string, ServerHandle> = {};
  const u = await udpClient();
  try {
    await Promise.all(IDS.map(async (id) => {
      servers[id] = await startServer({ id, servers: file, extraArgs: ["--multicast", group, "--sync", "normal"] });
    }));
    for (const id of IDS) {
      if (!/fan-out multicast 239\.255\.0\.1:/.test(servers[id].stdout())) {
        problems.push(`${id} does not say it fans out by multicast: ${servers[id].stdout().trim()}`);
      }
    }
    const tok: Record<string, string> = {};
    for (const id of IDS) tok[id] = await login(u, servers[id].clientAddr, `m_${id}`);
    await enter(u, servers.a.clientAddr, tok.a, "mc");
    for (const id of IDS.slice(1)) await connectWhenThere(u, servers[id].clientAddr, tok[id], "mc");
    const want = new Map<string, string>();
    const started = performance.now();
    await Promise.all(IDS.map(async (id) => {
      for (let i = 0; i < PER_SERVER; i++) {
        const text = `${id} ${i}`;
        want.set(await add(u, servers[id].clientAddr, tok[id], "mc", text), text);
      }
    }));
    const acked = performance.now();
    const lacking = async () => {
      const out: string[] = [];
      for (const id of IDS) {
        const l = await readAll(u, servers[id].clientAddr, tok[id], "mc");
        const got = new Map(l.ids.map((m, i) => [m, l.msgs[i]]));
        if (l.ids.length !== want.size || got.size !== want.size) out.push(`${id} lists ${l.ids.length} (${got.size} distinct) of ${want.size}`);
        for (const [m, t] of want) if (got.get(m) !== t) out.push(`${id}: ${m} missing or different`);
      }
      return out;
    };
    const ms = await within(10_000, async () => (await lacking()).length === 0, 50);
    if (ms === null) problems.push(...(await lacking()).slice(0, 10), "not converged within 10 s of the last ack");
    // Every server's peer links are encrypted (makeCluster writes key=): its fan-outs went as group datagrams (lib/secure/group.ts).
    const links: string[] = [];
    for (const id of IDS) {
      const l = (await askState(u, servers[id].peerAddr, null, 3000))?.links;
      links.push(`${id} ${l ? `${l.groupSent} sent, ${l.groupFallback} per peer, ${l.groupOpened} opened` : "no links"}`);
      if (!l || l.groupSent === 0 || l.groupOpened === 0) problems.push(`${id}: no encrypted group datagrams (${JSON.stringify(l)})`);
    }
    console.log(`multicast group datagrams: ${links.join("; ")}`);
    console.log(
      `multicast ${group}: ${want.size} adds on ${IDS.length} servers acked in ${Math.round(acked - started)} ms; ` +
        (ms === null ? "NOT all on every server" : `all on every server ${ms} ms after the last ack`),
    );
  } finally {
    await u.close();
    await Promise.all(Object.values(servers).map((s) => s.stop()));
    removeTempDirs();
  }
  return problems;
}

let code = 1;
try {
  const problems = await main();
  for (const p of problems) console.log(`problem: ${p}`);
  code = problems.length === 0 ? 0 : 1;
} catch (e) {
  console.log(`problem: ${(e as Error).stack ?? e}`);
}
process.exit(code);
