import { defineScripts, type RedisClient, type ScriptCall, taggedKey } from '@owc/redis';
import { abortableSleep } from './abortable-sleep.js';

/**
 * KEYS[1] the bucket hash. ARGV: rate per second, capacity. A token bucket on Redis's clock:
 * returns 0 when a token was taken, else the ms until one is there.
 */
const TAKE_TOKEN = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or capacity
local ts = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate / 1000)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) * 1000 / rate) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', string.format('%.3f', now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity * 1000 / rate) + 1000)
return wait
`;

export interface OwithoRateLimiterOptions {
  redis: RedisClient;
  keyPrefix: string;
  /** OWITHO_RATE_LIMIT_PER_SEC */
  perSecond: number;
  /** burst size; default perSecond (one second's worth) */
  capacity?: number;
  onWait?: () => void;
}

/** The bucket key: one per deployment, its own hash tag. */
export function owithoRateKey(keyPrefix: string): string {
  return taggedKey(keyPrefix, 'owitho-rate', 'bucket');
}

/** A token bucket in Redis shared by every pod: at most `perSecond` calls a second on average. */
export class OwithoRateLimiter {
  private readonly key: string;
  private readonly capacity: number;
  private readonly take: ScriptCall;

  constructor(private readonly options: OwithoRateLimiterOptions) {
    this.key = owithoRateKey(options.keyPrefix);
    this.capacity = options.capacity ?? options.perSecond;
    this.take = defineScripts(options.redis, {
      owcOwithoRateTake: { numberOfKeys: 1, lua: TAKE_TOKEN },
    }).owcOwithoRateTake;
  }

  /** Resolves once a call may go out, or early when the signal aborts (the caller checks it). */
  async acquire(signal?: AbortSignal): Promise<void> {
    for (;;) {
      const wait = Number(await this.take(this.key, this.options.perSecond, this.capacity));
      if (wait <= 0) return;
      if (signal?.aborted) return;
      this.options.onWait?.();
      await abortableSleep(wait, signal);
    }
  }
}
