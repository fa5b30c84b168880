import { HttpError } from "./responses.ts";

interface Bucket {
  tokens: number;
  updatedMs: number;
}

/**
 * A token bucket per client: capacity `rpm`, refilled continuously at rpm/60 per second. The map keeps
 * insertion order as recency, so when it reaches `maxClients` the least recently seen client is dropped;
 * forgetting a client only ever hands it a full bucket again, and memory stays bounded under any flood.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;

  constructor(
    private readonly rpm: number,
    private readonly maxClients: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.perMs = rpm / 60_000;
  }

  get trackedClients(): number {
    return this.buckets.size;
  }

  /** Takes one token for `client` or throws the contract's 429. */
  take(client: string): void {
    const now = this.now();
    const bucket = this.buckets.get(client);
    let tokens = this.rpm;
    if (bucket) {
      tokens = Math.min(this.rpm, bucket.tokens + (now - bucket.updatedMs) * this.perMs);
      this.buckets.delete(client);
    } else if (this.buckets.size >= this.maxClients) {
      this.buckets.delete(this.buckets.keys().next().value!);
    }
    if (tokens < 1) {
      this.buckets.set(client, { tokens, updatedMs: now });
      throw new HttpError(429, `Rate limit exceeded. Max ${this.rpm} requests per minute.`, {
        "retry-after": "60",
        "x-ratelimit-limit": String(this.rpm),
        "x-ratelimit-remaining": "0",
      });
    }
    this.buckets.set(client, { tokens: tokens - 1, updatedMs: now });
  }
}
