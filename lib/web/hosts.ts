/**
 * Which `Host` names the web listener answers to, and which `Origin`s may
 * use it (docs/PROTOCOL.md "Web transport"). A DNS-rebinding page reaches
 * the listener under the attacker's own name: refusing every Host that is
 * not one of ours (421) closes that door, and the page's own origin is only
 * ever built from a Host that passed.
 *
 * Allowed: the host names of servers.txt's web URLs, each `--web-host`, the
 * `--web` listen address itself, `localhost` when the listener is on
 * loopback (or on every interface), and any IP address written as one
 * (`203.0.113.5`, `[2001:db8::1]`): a browser sends an IP as Host only when
 * it connected to that IP, so no other site's page can use one.
 * Pure: headers in, answers out.
 *
 * @example
 * ```ts
 * const hosts = new WebHosts({ listen: "127.0.0.1", names: ["chat.example.org"], origins: ["https://chat.example.org"], tls: true });
 * hosts.allows("chat.example.org");                 // true
 * hosts.allows("evil.example:8001");                // false
 * hosts.originAllowed("https://chat.example.org", "chat.example.org"); // true
 * ```
 */
import { isIP } from "node:net";
import { hostName } from "../wire/cidr.ts";

/**
 * Why a request cannot be taken to name this listener at all (answered 400),
 * or null: more than one Host header, or one with a list in it (RFC 9112
 * §3.2: 400 — the allow-list would read one name and a proxy another); a
 * request target that is not a path (RFC 9112 §3.2.2: in absolute form,
 * `GET http://evil.example/`, the target's authority overrides Host, and
 * only proxies are sent that form — issue 20 re-run: 200 and 101 to one
 * naming an attacker's domain). `url` is the request target as read,
 * `rawHeaders` the header names and values in turn.
 */
export function requestProblem(url: string | undefined, rawHeaders: readonly string[]): string | null {
  if (url === undefined || !url.startsWith("/")) return "the request target must be a path (origin form, RFC 9112 §3.2.1)\n";
  const hosts = rawHeaders.filter((_, i) => i % 2 === 1 && rawHeaders[i - 1].toLowerCase() === "host");
  if (hosts.length > 1 || hosts.some((h) => h.includes(","))) return "one Host header, naming one host (RFC 9112 §3.2)\n";
  return null;
}

/** True for a loopback or wildcard listen address (then `localhost` names it too). */
function onLoopback(host: string): boolean {
  return host.startsWith("127.") || host === "::1" || host === "localhost" || host === "0.0.0.0" || host === "::";
}

/** The Host names of one listener, and the Origin rule built on them. */
export class WebHosts {
  #names = new Set<string>();
  #origins: Set<string>;
  #scheme: string;

  /**
   * `listen`: the --web host; `names`: --web-host names and the host names
   * of servers.txt web URLs; `origins`: servers.txt web URLs (origins
   * whose pages may use this listener); `tls`: the listener speaks HTTPS.
   */
  constructor(o: { listen: string; names: readonly string[]; origins: readonly string[]; tls: boolean }) {
    this.#scheme = o.tls ? "https" : "http";
    this.#origins = new Set(o.origins);
    const listen = o.listen.includes(":") ? `[${o.listen}]` : o.listen;
    for (const n of [...o.names, ...o.origins.map((u) => new URL(u).host), listen]) {
      const h = hostName(n);
      if (h !== null) this.#names.add(h);
    }
    if (onLoopback(o.listen)) this.#names.add("localhost");
  }

  /** Whether a request with this `Host` header is for this listener. */
  allows(header: string | undefined): boolean {
    if (header === undefined) return false;
    const h = hostName(header);
    if (h === null) return false;
    return this.#names.has(h) || isIP(h) === 4 || (h.startsWith("[") && isIP(h.slice(1, -1)) === 6);
  }

  /**
   * Whether a request with this `Origin` (of a Host that `allows`) may use the
   * listener: none (not a browser's cross-site request), the page's own
   * origin (this scheme and that Host), or a servers.txt web URL.
   */
  originAllowed(origin: string | undefined, host: string): boolean {
    if (origin === undefined || this.#origins.has(origin)) return true;
    return origin.toLowerCase() === `${this.#scheme}://${host.trim().toLowerCase()}`;
  }
}
