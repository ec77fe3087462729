/**
 * The table of a server's limits and their defaults, in one place: request
 * rates, quotas (and their `--quota` names), held-poll budgets, and the web
 * listener's connection limits. The flags (lib/config/server_flags.ts) read
 * their defaults here; the parts of the server that enforce a limit
 * (lib/server/quotas.ts, client_port.ts, held_polls.ts, lib/web/) take the
 * values they are given. docs/OPERATIONS.md "Quotas" and "Web" say why
 * each default is what it is.
 *
 * @example
 * ```ts
 * const q = { ...DEFAULT_QUOTAS, loginsPerIpPerMinute: 10 };
 * QUOTA_NAMES["logins-per-ip-minute"]; // "loginsPerIpPerMinute"
 * ```
 */

/**
 * Requests per second per source IP address (bursts of twice that). A
 * request costs this server 60–400 µs of CPU over UDP (docs/OPERATIONS.md
 * "Defaults"), so one address at this rate takes at most about a fifth of a
 * core; a NAT or a reverse proxy that many users share needs more.
 */
export const DEFAULT_RATE_LIMIT = 2000;

/** Requests per second per session (token). */
export const DEFAULT_SESSION_RATE = 500;

/** What one source IP address or one session may create (docs/OPERATIONS.md "Quotas"). */
export type QuotaLimits = {
  /** Logins per source IP per minute. */
  loginsPerIpPerMinute: number;
  /** Live sessions logged in here per source IP. */
  sessionsPerIp: number;
  /** Rooms one session may create. */
  roomsPerSession: number;
  /** Rooms one source IP may create per hour. */
  roomsPerIpPerHour: number;
  /** Bytes of message text one session may add per minute. */
  msgBytesPerSessionPerMinute: number;
  /** Writes one session may make per minute with the verbs of SHARED_QUOTA_VERBS (lib/server/quotas.ts). */
  writesPerSessionPerMinute: number;
  /** The same per source IP address (`password` and `drop` have no session: only this counts them). */
  writesPerIpPerMinute: number;
};

/** The quotas' defaults. */
export const DEFAULT_QUOTAS: QuotaLimits = {
  loginsPerIpPerMinute: 120,
  sessionsPerIp: 1000,
  roomsPerSession: 100,
  roomsPerIpPerHour: 1000,
  msgBytesPerSessionPerMinute: 64 * 1024,
  writesPerSessionPerMinute: 60,
  writesPerIpPerMinute: 600,
};

/** Limits of held long polls (the client port refuses past them): per session, and estimated KiB of heap per source address and in all. */
export type HeldPollLimits = { heldPollsPerSession: number; heldPollKibPerIp: number; heldPollKib: number };

/** docs/OPERATIONS.md "Quotas" says why these. */
export const DEFAULT_HELD_POLL_LIMITS: HeldPollLimits = { heldPollsPerSession: 64, heldPollKibPerIp: 8192, heldPollKib: 131072 };

/** `--quota` names and the limit each sets. */
export const QUOTA_NAMES = {
  "logins-per-ip-minute": "loginsPerIpPerMinute",
  "sessions-per-ip": "sessionsPerIp",
  "rooms-per-session": "roomsPerSession",
  "rooms-per-ip-hour": "roomsPerIpPerHour",
  "message-bytes-per-minute": "msgBytesPerSessionPerMinute",
  "held-polls-per-session": "heldPollsPerSession",
  "held-poll-kib-per-ip": "heldPollKibPerIp",
  "held-poll-kib": "heldPollKib",
  "writes-per-session-minute": "writesPerSessionPerMinute",
  "writes-per-ip-minute": "writesPerIpPerMinute",
} as const;

/** The web listener's connection limits (docs/OPERATIONS.md "Web" says why each default is what it is). */
export type WebLimits = {
  /** Connections of one IP address (Infinity: no limit). */
  perAddress: number;
  /** Connections in all. */
  total: number;
  /** ms a connection may carry no request; also the time a request's head, then its body, may take. */
  idleMs: number;
  /** ms a WebSocket may send nothing. */
  wsIdleMs: number;
  /** Unread output bytes of one connection past which it is cut off. */
  maxUnread: number;
  /** Unread output bytes of all connections together past which the writer is cut off. */
  maxUnreadTotal: number;
};

/**
 * HTTP requests per second per IP address of the web listener
 * (lib/web/request_rate.ts; bursts of twice that, at least 600). A GET of
 * one of the page's files costs the server about 0.1 ms of CPU and a
 * `POST /dc` about 0.2 ms with a cheap datagram (docs/OPERATIONS.md
 * "Defaults"), so an address at this rate takes a few hundredths of a core.
 */
export const DEFAULT_WEB_REQUEST_RATE = 300;

/** Defaults but `total`, which the server derives from the process's file limit (webConnectionTotal). */
export const DEFAULT_WEB_LIMITS: WebLimits = {
  perAddress: 256,
  total: 10_000,
  idleMs: 10_000,
  wsIdleMs: 120_000,
  maxUnread: 1 << 20,
  maxUnreadTotal: 64 << 20,
};

/**
 * The total connection budget for a process allowed `fileLimit` open files:
 * half of them (the rest for the database, sockets being refused and the
 * runtime), at most 10,000; 1,024 when the limit is unknown.
 */
export function webConnectionTotal(fileLimit: number | null): number {
  if (fileLimit === null || !Number.isFinite(fileLimit)) return 1024;
  return Math.max(16, Math.min(10_000, Math.floor(fileLimit / 2)));
}
