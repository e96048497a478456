import { createHash, timingSafeEqual } from 'node:crypto';
import type { ApiKeyRecord, ApiKeyStore } from '@owc/queues';
import { type RedisClient, taggedKey } from '@owc/redis';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IngressConfig } from '../config.js';

/** Who is calling /admin: an operator or a viewer (basic auth), or a system (API key). */
export type Principal =
  | { kind: 'operator'; name: string }
  | { kind: 'viewer'; name: string }
  | { kind: 'system'; name: string; key: ApiKeyRecord };

/** What a path under /admin asks of its caller. */
export type AdminArea = 'enqueue' | 'operate' | 'view';

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Constant-time equality of two secrets of any length (compares their digests). */
export function secretsEqual(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

function basicCredentials(header: string): { user: string; password: string } | undefined {
  const encoded = /^Basic\s+(\S+)\s*$/i.exec(header)?.[1];
  if (!encoded) return undefined;
  const text = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon === -1 ? undefined : { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

/**
 * Failed /admin logins per client address, in Redis (so every ingress replica counts them
 * together): past ADMIN_LOGIN_MAX_FAILURES within ADMIN_LOGIN_LOCKOUT_MS the address gets 429
 * until the window ends, whatever it sends.
 */
export class LoginThrottle {
  constructor(
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
    private readonly maxFailures: number,
    private readonly windowMs: number,
  ) {}

  private key(address: string): string {
    return taggedKey(this.keyPrefix, 'admin-logins', 'failures', address);
  }

  /** ms until the address may try again; 0 when it may now */
  async lockedFor(address: string): Promise<number> {
    const [count, ttl] = await Promise.all([
      this.redis.get(this.key(address)),
      this.redis.pttl(this.key(address)),
    ]);
    return Number(count ?? 0) >= this.maxFailures ? Math.max(ttl, 1) : 0;
  }

  async fail(address: string): Promise<void> {
    const key = this.key(address);
    const count = await this.redis.incr(key);
    if (count === 1) await this.redis.pexpire(key, this.windowMs);
  }
}

/** The accounts of the /admin surface: operator (ADMIN_USER), optional viewer, API keys. */
export class AdminAuth {
  constructor(
    private readonly config: IngressConfig,
    private readonly keys: ApiKeyStore,
    readonly throttle: LoginThrottle,
  ) {}

  /** The principal the request's Authorization header proves; undefined when it proves none. */
  async identify(request: FastifyRequest): Promise<Principal | undefined> {
    const header = request.headers.authorization ?? '';
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
    if (bearer) {
      const key = await this.keys.verify(bearer);
      return key ? { kind: 'system', name: key.system, key } : undefined;
    }
    const given = basicCredentials(header);
    if (!given) return undefined;
    const { ADMIN_USER, ADMIN_PASSWORD, DASHBOARD_VIEWER_USER, DASHBOARD_VIEWER_PASSWORD } = this.config;
    // user and password compared every time, so the time taken says nothing about which was wrong
    const operator = secretsEqual(given.user, ADMIN_USER) && secretsEqual(given.password, ADMIN_PASSWORD);
    if (operator) return { kind: 'operator', name: given.user };
    if (DASHBOARD_VIEWER_USER && DASHBOARD_VIEWER_PASSWORD) {
      const viewer =
        secretsEqual(given.user, DASHBOARD_VIEWER_USER) &&
        secretsEqual(given.password, DASHBOARD_VIEWER_PASSWORD);
      if (viewer) return { kind: 'viewer', name: given.user };
    }
    return undefined;
  }
}

/** Whether a principal may use an area; the reason when not. */
export function refusal(principal: Principal, area: AdminArea): string | undefined {
  if (principal.kind === 'operator') return undefined;
  if (principal.kind === 'viewer') {
    return area === 'view' ? undefined : 'the viewer account may only look (sign in as the operator)';
  }
  return area === 'enqueue' ? undefined : 'an API key may only enqueue jobs (POST /admin/jobs/{name})';
}

export function sendUnauthorized(reply: FastifyReply, message: string): FastifyReply {
  return reply
    .code(401)
    .header('www-authenticate', 'Basic realm="owc-admin", charset="UTF-8"')
    .send({ error: 'unauthorized', message });
}
