/**
 * Every IRC command this front end answers, by name: one table gathered
 * from the handler families (one module per family, each exporting its own
 * `*_HANDLERS`). A new family is a new module and one line here.
 */
import type { Handler } from "./_core.ts";
import { REGISTRATION_HANDLERS } from "./_registration.ts";
import { CHANNEL_HANDLERS } from "./_channels.ts";
import { MODE_HANDLERS } from "./_modes.ts";
import { MESSAGE_HANDLERS } from "./_messaging.ts";
import { QUERY_HANDLERS } from "./_queries.ts";
import { CHATHISTORY_HANDLERS } from "./_chathistory.ts";
import { ACT_HANDLERS } from "./_acts.ts";
import { PRESENCE_HANDLERS } from "./_presence.ts";
import { MONITOR_HANDLERS } from "./_monitor.ts";
import { OPER_HANDLERS } from "./_oper.ts";
import { HELP_HANDLERS } from "./_help.ts";
import { SETNAME_HANDLERS } from "./_setname.ts";
import { LIST_HANDLERS } from "./_list.ts";
import { REGISTER_HANDLERS } from "./_register.ts";
import { MARKREAD_HANDLERS } from "./_markread.ts";

/** Command → handler (commands are upper case, as parseLine gives them). */
export const HANDLERS: Readonly<Record<string, Handler>> = {
  ...REGISTRATION_HANDLERS,
  ...CHANNEL_HANDLERS,
  ...MODE_HANDLERS,
  ...MESSAGE_HANDLERS,
  ...QUERY_HANDLERS,
  ...CHATHISTORY_HANDLERS,
  ...ACT_HANDLERS,
  ...PRESENCE_HANDLERS,
  ...MONITOR_HANDLERS,
  ...OPER_HANDLERS,
  ...HELP_HANDLERS,
  ...SETNAME_HANDLERS,
  ...LIST_HANDLERS,
  ...REGISTER_HANDLERS,
  ...MARKREAD_HANDLERS,
};

/** Commands a client may send before it is registered (RFC 2812 §3.1, IRCv3 CAP and SASL). */
export const BEFORE_REGISTRATION: ReadonlySet<string> = new Set(["CAP", "NICK", "USER", "PASS", "AUTHENTICATE", "PING", "PONG", "QUIT", "REGISTER"]);
