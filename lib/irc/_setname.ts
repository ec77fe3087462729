/**
 * SETNAME (IRCv3 `setname`; private to lib/irc; docs/IRC.md "Real names"):
 * a registered client changes its real name. The real name is the one USER
 * gave (`ConnState.realname`), which DistChat does not keep: it is the
 * listener's, shown by WHO and WHOIS to users of the same listener. The
 * change is confirmed to the client and told, as `:nick!… SETNAME :name`,
 * to this listener's users in a channel with it that asked for `setname`
 * (`IrcConfig.tellChannels`); users of other servers keep seeing the nick.
 */
import type { Core, Ctx, Handler } from "./_core.ts";
import { N } from "./numerics.ts";
import { utf8Length } from "../wire/utf8.ts";

/** Longest real name, in bytes (a USER line's room for it, about). */
export const REALNAME_BYTES = 300;

function setname(c: Core, m: { params: string[] }, ctx: Ctx): void {
  const name = m.params[0];
  if (name === undefined) return c.numeric(ctx, N.ERR_NEEDMOREPARAMS, "SETNAME", "Not enough parameters");
  if (name.trim() === "" || utf8Length(name) > REALNAME_BYTES) {
    return c.fail(ctx, "SETNAME", "INVALID_REALNAME", `A real name is 1-${REALNAME_BYTES} bytes, not only spaces`);
  }
  c.state.realname = name;
  const msg = { tags: {}, source: c.me(), command: "SETNAME", params: [name] };
  if (c.state.caps.has("setname")) c.send(ctx, msg);
  c.config.tellChannels?.([...c.state.channels.keys()], msg, "setname", c.state.nick ?? "");
}

/** SETNAME. */
export const SETNAME_HANDLERS: Record<string, Handler> = { SETNAME: setname };
