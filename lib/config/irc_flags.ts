/**
 * The IRC listener's flags of server.ts (docs/IRC.md, docs/OPERATIONS.md
 * "IRC"): their entries of the flags table, what they become, and which web
 * listener flags they use too (`--tls-cert` serves `--irc-tls`; the
 * connection budgets bound the IRC listener as well).
 *
 * @example
 * ```ts
 * ircFlags({ id: "a", irc: "127.0.0.1:6667" }, address, (m) => new FlagError(m)); // { irc: { host: "127.0.0.1", port: 6667 }, ircTls: null, ircName: "a.distchat", … }
 * ```
 */
import type { Address } from "../wire/address.ts";

/** The flags' entries of server.ts's table (lib/config/server_flags.ts). */
export const IRC_FLAGS = {
  irc: { type: "string", value: "HOST:PORT", help: "serve IRC clients here (docs/IRC.md); off by default" },
  "irc-tls": { type: "string", value: "HOST:PORT", help: "serve IRC over TLS here (needs --tls-cert and --tls-key); off by default" },
  "irc-name": { type: "string", value: "NAME", help: "the IRC server's name in sources and numerics (default ID.distchat)" },
  "irc-info": { type: "string", value: "TEXT", help: "the IRC server's description (LINKS, INFO; default \"DistChat server ID\")" },
  "irc-opers": { type: "string", value: "FILE", help: "IRC operators (OPER), a name and a password verifier a line (docs/IRC.md; npm run keygen -- --irc-oper NAME; default irc-opers.txt beside the servers file, if there)" },
} as const;

/** Where the IRC listener binds, plain and over TLS (null: not given; neither: no listener, the default), and its server name. */
export type IrcFlags = { irc: Address | null; ircTls: Address | null; ircName: string; ircInfo: string; ircOpers: string | null };

type Values = { id: string; irc?: string; "irc-tls"?: string; "irc-name"?: string; "irc-info"?: string; "irc-opers"?: string; "tls-cert"?: string };

/** The IRC flags' values; throws `error(message)` (one line a user can act on) for a bad one. */
export function ircFlags(values: Values, address: (flag: string, text: string | undefined) => Address | null, error: (message: string) => Error): IrcFlags {
  if (values["irc-tls"] !== undefined && values["tls-cert"] === undefined) throw error("--irc-tls needs --tls-cert FILE --tls-key FILE");
  const name = values["irc-name"];
  const info = values["irc-info"];
  if (info !== undefined && (info.length > 100 || /[\x00-\x1f]/.test(info))) throw error("--irc-info: at most 100 characters on one line");
  if (name !== undefined && (!/^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/.test(name) || !name.includes("."))) {
    throw error(`--irc-name ${name}: give a server name such as irc.example.org (letters, digits, "-" and ".", with a dot)`);
  }
  return {
    irc: address("irc", values.irc),
    ircTls: address("irc-tls", values["irc-tls"]),
    ircName: name ?? `${values.id.replace(/[^A-Za-z0-9-]/g, "-")}.distchat`,
    ircInfo: values["irc-info"] ?? `DistChat server ${values.id}`,
    ircOpers: values["irc-opers"] ?? null,
  };
}

/** Whether web listener flag `flag` serves the IRC listener too, as given (then it needs no --web). */
export function ircUses(flag: string, values: Values): boolean {
  const irc = values.irc !== undefined || values["irc-tls"] !== undefined;
  return (flag === "tls-cert" && values["irc-tls"] !== undefined) || (irc && (flag === "web-connections" || flag === "web-connections-per-ip"));
}
