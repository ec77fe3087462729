/**
 * `GET /metrics` of the web listener (docs/OPERATIONS.md "Metrics"): the
 * node's counters and gauges in the Prometheus text format
 * (lib/server/metrics.ts), served only to the sources of `--metrics-allow`,
 * SCRAPES_PER_SECOND each (403 and 429 otherwise).
 *
 * @example
 * ```ts
 * const page = new MetricsPage({ allow, clock, metrics, gauges });
 * page.serve(res, "127.0.0.1");
 * ```
 */
import type { ServerResponse } from "node:http";
import type { AddressRanges } from "../wire/cidr.ts";
import type { Clock } from "../server/clock.ts";
import type { Gauge, ServerMetrics } from "../server/metrics.ts";
import { RateLimiter } from "../server/rate_limit.ts";
import { plain } from "./http_transport.ts";

/** Scrapes of /metrics an address may make a second (five at once). */
export const SCRAPES_PER_SECOND = 1;

/** The /metrics page: who may read it, how often, and what it says. */
export class MetricsPage {
  #o: { allow: AddressRanges; clock: Clock; metrics: ServerMetrics; gauges: () => Gauge[] };
  #scrapes = new RateLimiter(SCRAPES_PER_SECOND, 5 * SCRAPES_PER_SECOND);

  /** `allow`: --metrics-allow; `gauges`: read at each scrape. */
  constructor(o: { allow: AddressRanges; clock: Clock; metrics: ServerMetrics; gauges: () => Gauge[] }) {
    this.#o = o;
  }

  /** Answers a scrape from `ip`. */
  serve(res: ServerResponse, ip: string): void {
    const { metrics } = this.#o;
    if (!this.#o.allow.has(ip)) {
      metrics.web("metrics-refused");
      return plain(res, 403, "/metrics is not served to this address (the server's --metrics-allow)\n");
    }
    if (!this.#scrapes.allow(ip, this.#o.clock.monotonic())) {
      metrics.web("metrics-limited");
      res.setHeader("Retry-After", "1");
      return plain(res, 429, `at most ${SCRAPES_PER_SECOND} scrape a second\n`);
    }
    metrics.web("metrics");
    res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" });
    res.end(metrics.render({ gauges: this.#o.gauges() }));
  }

  /** Forgets the scrape buckets that are full again. */
  prune(): void {
    this.#scrapes.prune(this.#o.clock.monotonic());
  }
}
