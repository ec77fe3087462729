/**
 * A whole cluster of DistChat servers in one process, for tests: N server
 * nodes built by the same function as a real server (lib/server/node.ts
 * createServerNode), each with its own SQLite store in a temporary folder,
 * on one manual clock (each may read it some ms off) and an in-memory
 * network that delivers every datagram 1 ms after it is sent — unless its
 * sender or receiver is down, or `drop` says to lose it. A test client
 * sends requests to any server and collects the replies. `kill` stops a
 * server (its node closed, its datagrams lost); `restart` starts a fresh node
 * on the same database, as a real restart after kill -9 or a planned stop.
 *
 * @example
 * ```ts
 * const c = await memoryCluster({ ids: ["a", "b", "c"] });
 * c.send("a", { verb: "login", tag: "1", userName: "bob" });
 * c.run(50);
 * c.reply("1"); // { verb: "ok", kind: "login", … }
 * c.close();
 * ```
 */
import { join } from "node:path";
import type { Address } from "../lib/wire/address.ts";
import { decodeReply, encodeRequest } from "../lib/wire/codec.ts";
import type { Reply, Request } from "../lib/wire/messages.ts";
import { EMPTY } from "../lib/wire/vector.ts";
import { Store } from "../lib/store/store.ts";
import { nodeConfig, type NodeConfig } from "../lib/config/node_config.ts";
import { laggingClock } from "../lib/server/clock.ts";
import { createServerNode, type Open, type ServerNode } from "../lib/server/node.ts";
import { ManualClock } from "./manual_clock.ts";
import { tempDir } from "./harness.ts";
import { mulberry32, randomBytes } from "./prng.ts";

/** Where the test client sends from. */
export const CLIENT: Address = { host: "127.0.0.9", port: 9000 };
const clientAddr = (i: number): Address => ({ host: "127.0.0.1", port: 7000 + i });
const peerAddr = (i: number): Address => ({ host: "127.0.0.1", port: 8000 + i });
const key = (a: Address) => `${a.host}:${a.port}`;

export type MemoryClusterOptions = {
  /** Server ids, in servers.txt order. Default a, b, c. */
  ids?: string[];
  /** Seeds the servers' randomness. Default 1. */
  seed?: number;
  /** ms a server's clock reads ahead (negative: behind). */
  skew?: Record<string, number>;
  /** The cluster key (peer datagrams authenticated: epochs, hello/proof); default none. */
  key?: Uint8Array;
  /** Config changes for every node (default: nodeConfig's, with held acks kept a minute). */
  config?: Partial<NodeConfig>;
  /** The peer protocol version each server speaks (a cluster being upgraded); default this release's. */
  versions?: Record<string, number>;
};

/** A cluster of server nodes on an in-memory network (see the file comment). */
export type MemoryCluster = Awaited<ReturnType<typeof memoryCluster>>;

/** Builds and starts the cluster (each node writes under its plain id: a new cluster of new databases). */
export async function memoryCluster(o: MemoryClusterOptions = {}) {
  const ids = o.ids ?? ["a", "b", "c"];
  const clock = new ManualClock();
  const dir = tempDir("distchat-cluster-");
  const down = new Set<string>();
  const random = mulberry32(o.seed ?? 1);
  let drop: (from: string, to: string, bytes: Uint8Array) => boolean = () => false;
  const routes = new Map<string, (bytes: Uint8Array, from: Address) => void>();
  const owner = new Map<string, string>();
  const replies: Reply[] = [];
  const logs: string[] = [];
  /** Sends `bytes` from `from` (of server `fromId`, or "client") to `to`, 1 ms later, unless lost. */
  function deliver(fromId: string, from: Address, bytes: Uint8Array, to: Address): void {
    const toId = owner.get(key(to)) ?? "client";
    if (down.has(fromId) || down.has(toId) || drop(fromId, toId, bytes)) return;
    clock.after(1, () => {
      if (down.has(toId)) return;
      if (toId !== "client") return routes.get(key(to))?.(bytes, from);
      const r = decodeReply(bytes);
      if (r.ok) replies.push(r.value);
    });
  }
  /** A transport at `at` of server `id` on the in-memory network. */
  const transport = (id: string, at: Address): Open => (receive) => {
    owner.set(key(at), id);
    routes.set(key(at), receive);
    return Promise.resolve({ address: at, send: (bytes: Uint8Array, to: Address) => deliver(id, at, bytes, to) });
  };
  const servers = ids.map((id, i) => ({ id, peer: peerAddr(i) }));
  const nodes: ServerNode[] = [];
  const killed = new Set<ServerNode>();
  /** A node of server `id` (the `i`th) on its database in `dir` (made on the first start, kept across restarts). */
  const makeNode = (id: string, i: number): ServerNode => {
    const store = Store.open(join(dir, `${id}.sqlite`), id, { sync: "normal" });
    return createServerNode({
      store,
      clock: laggingClock(clock, () => -(o.skew?.[id] ?? 0)),
      random: (n) => randomBytes(random, n),
      config: nodeConfig({ id, servers, rateLimit: 0, quotas: null, newCluster: true, holdAcksMs: 60_000, ...o.config }),
      clusterKey: o.key ?? null,
      replyKey: new Uint8Array(32),
      log: (line) => void logs.push(`${id}: ${line}`),
      transports: { peer: transport(id, peerAddr(i)), client: transport(id, clientAddr(i)) },
      peerProtocol: o.versions?.[id],
    });
  };
  for (const [i, id] of ids.entries()) {
    const node = makeNode(id, i);
    await node.start();
    nodes.push(node);
  }
  const node = (id: string) => nodes[ids.indexOf(id)];
  return {
    clock,
    nodes,
    node,
    /** Servers that neither send nor receive. */
    down,
    /** Every reply the client got, in order. */
    replies,
    /** Log lines of every server ("id: line"). */
    logs,
    /** Loses the datagrams for which `fn` says true. */
    setDrop(fn: typeof drop) {
      drop = fn;
    },
    /** Sends a client request to server `id`. */
    send(id: string, req: Request) {
      deliver("client", CLIENT, encodeRequest(req), clientAddr(ids.indexOf(id)));
    },
    /** Stops server `id` as kill -9 would (its node closed; nothing reaches it until `restart`). */
    async kill(id: string) {
      down.add(id);
      for (const at of [peerAddr(ids.indexOf(id)), clientAddr(ids.indexOf(id))]) routes.delete(key(at));
      killed.add(node(id));
      await node(id).close();
    },
    /** Starts a fresh node of `id` on its database (after `kill`) without moving the clock: the test moves it (`run`, and a turn of the event loop for the start's awaits); what `start` will say. */
    launch(id: string) {
      const i = ids.indexOf(id);
      down.delete(id);
      nodes[i] = makeNode(id, i);
      return nodes[i].start();
    },
    /** Starts a fresh node of `id` on its database (after `kill`), moving the clock until its `start` is done; what `start` said. */
    async restart(id: string) {
      let started: Awaited<ReturnType<ServerNode["start"]>> | undefined;
      const starting = this.launch(id).then((s) => (started = s));
      for (let guard = 0; started === undefined; guard++) {
        if (guard > 1000) throw new Error(`restart ${id}: start did not finish in ${guard * 5} ms of the cluster's clock`);
        clock.advance(5);
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
      await starting;
      return started;
    },
    /** Moves the clock `ms` forward, 5 ms at a time. */
    run(ms: number) {
      for (let t = 0; t < ms; t += 5) clock.advance(5);
    },
    /** Logs `userName` in at server `at` and opens room `room` there (reaching every server); the token. */
    loginAndOpen(at: string, userName: string, room: string): string {
      this.send(at, { verb: "login", tag: `login${userName}`, userName });
      this.run(50);
      const r = this.reply(`login${userName}`);
      if (!r || r.verb !== "ok" || r.kind !== "login") throw new Error(`login at ${at}: ${JSON.stringify(r)}`);
      this.send(at, { verb: "open", tag: `open${userName}`, token: r.token, groupName: room });
      this.run(300);
      return r.token;
    },
    /** The reply with this tag, if one came. */
    reply(tag: string): Reply | undefined {
      return replies.find((r) => r.tag === tag);
    },
    /** The visible messages of `room` at server `id`, settled or not (lib/store/settling.ts): "origin.seq text". */
    listing(id: string, room: string): string[] {
      const store = node(id).store;
      return [...store.messages.uncovered(room, EMPTY, store.vector().keys())].map((m) => `${m.origin}.${m.seq} ${m.msg}`);
    },
    close() {
      for (const n of nodes) if (!killed.has(n)) void n.close();
    },
  };
}
