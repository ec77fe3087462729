/**
 * WHOX (private to lib/irc; IRCv3 WHOX, ISUPPORT `WHOX`): `WHO mask
 * %fields[,token]` answers RPL_WHOSPCRPL (354) lines holding the fields
 * asked for, in the protocol's fixed order whatever order they were asked
 * in, instead of RPL_WHOREPLY (352). The facts are those WHO shows
 * (lib/irc/_queries.ts); DistChat has no IP addresses to show (`i` is
 * 255.255.255.255), no hop counts (`d` 0) and no op levels (`o` n/a).
 *
 * @example
 * ```ts
 * parseWhox("%tna,42");  // { fields: "tna", token: "42" }
 * whoxParams({ fields: "tna", token: "42" }, facts); // ["42", "bob", "bob"]   (account: "0" for none)
 * ```
 */

/** RPL_WHOSPCRPL. */
export const RPL_WHOSPCRPL = "354";

/** The fields a WHOX reply may carry, in the order they are sent. */
const ORDER = "tcuihsnfdlaor";

/** A WHOX request: the fields asked (letters of ORDER), and the token to echo back (`t`). */
export type WhoxQuery = { fields: string; token: string };

/** What WHO knows of one user, as WHOX sends it. */
export type WhoFacts = {
  channel: string;
  user: string;
  host: string;
  server: string;
  nick: string;
  /** H or G, then @ for a channel operator. */
  flags: string;
  /** Seconds idle (0 when unknown). */
  idle: number;
  /** The account the user is logged in as, or null. */
  account: string | null;
  realname: string;
};

/** The WHOX request in WHO's second parameter (`%fields[,token]`), or null for a plain WHO. */
export function parseWhox(param: string | undefined): WhoxQuery | null {
  const at = param?.indexOf("%") ?? -1;
  if (param === undefined || at < 0) return null;
  const [fields, token = ""] = param.slice(at + 1).split(",", 2);
  const asked = [...ORDER].filter((f) => fields.includes(f)).join("");
  // The token is 1 to 3 digits (IRCv3 WHOX); anything else is not echoed.
  return { fields: asked, token: /^[0-9]{1,3}$/.test(token) ? token : "0" };
}

/** The parameters of one 354 line (after the asker's nick) for `f`. */
export function whoxParams(q: WhoxQuery, f: WhoFacts): string[] {
  const value: Record<string, string> = {
    t: q.token,
    c: f.channel,
    u: f.user,
    i: "255.255.255.255",
    h: f.host,
    s: f.server,
    n: f.nick,
    f: f.flags,
    d: "0",
    l: String(f.idle),
    a: f.account ?? "0",
    o: "n/a",
    r: f.realname,
  };
  return [...q.fields].map((k) => value[k]);
}
