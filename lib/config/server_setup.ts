/**
 * Everything a server is started with, read and checked before it opens
 * its database: its line of the servers file, where its web listener binds,
 * the cluster key (required when there are peers, unless
 * `--insecure-peers`), the TLS files, and the node's and web listener's
 * config (lib/config/node_config.ts). A problem throws one line a user can
 * act on, naming the file or flag.
 *
 * @example
 * ```ts
 * const setup = serverSetup(parseServerFlags(argv), openFileLimit());
 * setup.node.id; setup.web?.at; setup.warnings; // what to log at start
 * ```
 */
import { readFileSync } from "node:fs";
import { readKeyFile } from "./cluster_key.ts";
import { type IrcListenConfig, type NodeConfig, serverConfig, type WebConfig } from "./node_config.ts";
import { type ServerFlags, webListenAddress } from "./server_flags.ts";
import { readServers, type ServerEntry } from "./servers_file.ts";

/** What a server starts with. */
export type ServerSetup = {
  flags: ServerFlags;
  /** This server's line of the servers file. */
  me: ServerEntry;
  /** Every server of the servers file. */
  servers: ServerEntry[];
  node: NodeConfig;
  /** The web listener's config, or null for none. */
  web: WebConfig | null;
  /** The IRC listener's config, or null for none (the default). */
  irc: IrcListenConfig | null;
  clusterKey: Uint8Array | null;
  /** PEM certificate and key of the web listener and of `--irc-tls` (`--tls-cert`, `--tls-key`). */
  tls?: { cert: string; key: string };
  /** Lines to log at start (an unprotected key file, unauthenticated peers). */
  warnings: string[];
};

/** Reads and checks what the flags name; throws an Error whose message is one line. */
export function serverSetup(flags: ServerFlags, fileLimit: number | null): ServerSetup {
  const servers = readServers(flags.servers);
  const me = servers.find((s) => s.id === flags.id);
  if (!me) throw new Error(`${flags.servers} has no line for server id "${flags.id}" (it lists ${servers.map((s) => s.id).join(", ")})`);
  const webAt = webListenAddress(flags, me.web);
  const warnings: string[] = [];
  let clusterKey: Uint8Array | null = null;
  if (flags.clusterKey !== null) {
    const k = readKeyFile(flags.clusterKey);
    clusterKey = k.key;
    if (k.warning) warnings.push(k.warning);
  } else if (servers.length > 1 && !flags.insecurePeers) {
    throw new Error(
      `${flags.servers} lists ${servers.length - 1} other server(s), so peer datagrams must be authenticated: ` +
        `give every server the same --cluster-key FILE (npm run keygen -- FILE makes one), or --insecure-peers on a trusted test machine`,
    );
  } else if (servers.length > 1) {
    warnings.push("--insecure-peers: peer datagrams are not authenticated");
  }
  let tls: ServerSetup["tls"];
  if (flags.tlsCert !== null && flags.tlsKey !== null) {
    try {
      tls = { cert: readFileSync(flags.tlsCert, "utf8"), key: readFileSync(flags.tlsKey, "utf8") };
    } catch (e) {
      throw new Error(`cannot read --tls-cert/--tls-key: ${(e as Error).message}`);
    }
  }
  const { node, web, irc } = serverConfig(flags, servers, webAt, fileLimit);
  return { flags, me, servers, node, web, irc, clusterKey, tls, warnings };
}
