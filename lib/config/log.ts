/**
 * A server's log lines, one line per event, each with a level (docs/OPERATIONS.md
 * "Logs"): `text` for a terminal (`distchat server a: warning: …`), `journal`
 * (the same with the `<N>` priority prefix journald and syslog read from a
 * service's output), `json` (one object per line for log shippers: time,
 * level, server, event, message, fields). Pure: the server gives the
 * clock and where lines go.
 *
 * @example
 * ```ts
 * const log = createLog({ format: "json", server: "a", now: () => Date.now(), write: (l) => console.error(l) });
 * log("writing as the new incarnation a~x", { event: "incarnation", fields: { origin: "a~x" } });
 * // {"time":"2026-12-07T05:00:00.000Z","level":"info","server":"a","event":"incarnation","message":"writing as …","fields":{"origin":"a~x"}}
 * log("warning: servers.txt lists 1 server");  // level "warn", event "log"
 * ```
 */

/** The values of --log-format. */
export const LOG_FORMATS = ["text", "journal", "json"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** The server's `--log-format` flag, for its flags table (lib/config/server_flags.ts). */
export const LOG_FORMAT_FLAG = {
  type: "string",
  value: "FORMAT",
  help: "text (default): one line per event, warnings and errors marked; journal: the same with syslog priority prefixes " +
    "(<3> error, <4> warning, <6> info) for journald; json: one object per line (time, level, server, event, message, fields) " +
    "for log shippers",
} as const;

/** The value of `--log-format` (text when not given); `error` makes the exception for any other. */
export function logFormatOf(value: string | undefined, error: (message: string) => Error): LogFormat {
  const format = value ?? "text";
  if (!(LOG_FORMATS as readonly string[]).includes(format)) throw error(`--log-format must be ${LOG_FORMATS.join(", ")}; got "${format}"`);
  return format as LogFormat;
}

export type LogLevel = "error" | "warn" | "info";

/** What a log call may say besides its message (a message starting "warning: " is a warning by default). */
export type LogDetail = {
  level?: LogLevel;
  /** A short name a shipper can filter on ("start", "incarnation", "fatal"); default "log". */
  event?: string;
  fields?: Record<string, string | number | boolean | null>;
  /** Standard output instead of standard error (the start and stop lines). */
  stdout?: boolean;
};

/** Logs one event. Call sites that pass only a message keep working: a plain `(line: string) => void` is a Log's shape. */
export type Log = (message: string, detail?: LogDetail) => void;

/** syslog priorities of the levels (`<3>` error, `<4>` warning, `<6>` info). */
const PRIORITY: Record<LogLevel, number> = { error: 3, warn: 4, info: 6 };
const WORD: Record<LogLevel, string> = { error: "error: ", warn: "warning: ", info: "" };
const WARNING = /^warning: /;

/** One event as one line of `format` (newlines inside a message become " | "). */
export function formatLogLine(format: LogFormat, r: { time: number; server: string; message: string } & LogDetail): string {
  const level = r.level ?? (WARNING.test(r.message) ? "warn" : "info");
  const message = r.message.replace(WARNING, "").trimEnd().replace(/\s*\r?\n\s*/g, " | ");
  if (format === "json") {
    return JSON.stringify({ time: new Date(r.time).toISOString(), level, server: r.server, event: r.event ?? "log", message, fields: r.fields ?? {} });
  }
  const text = `distchat server ${r.server}: ${WORD[level]}${message}`;
  return format === "journal" ? `<${PRIORITY[level]}>${text}` : text;
}

/** A Log writing lines of `format` through `write` (to stdout when the detail says so). */
export function createLog(o: { format: LogFormat; server: string; now(): number; write(line: string, stdout: boolean): void }): Log {
  return (message, detail = {}) => o.write(formatLogLine(o.format, { time: o.now(), server: o.server, message, ...detail }), detail.stdout === true);
}
