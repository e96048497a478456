import { parseSettings, redisSettingsShape } from '@owc/config';
import type { TestProject } from 'vitest/node';
import { z } from 'zod';

declare module 'vitest' {
  export interface ProvidedContext {
    /** the test run's REDIS_URL, validated at boot (the fixture falls back to a private server) */
    redisUrl: string;
  }
}

/** The test run's own settings: the one Redis variable every app shares. */
const testRunSettings = z.object({ REDIS_URL: redisSettingsShape.REDIS_URL });

/**
 * The test run's boot (vitest's globalSetup): its settings are read from the environment here,
 * once, through the validated config (a bad value stops the run naming the variable), and handed
 * to the test workers with `provide`; the Redis fixture takes them with `inject`.
 */
export default function setup(project: TestProject): void {
  const settings = parseSettings(testRunSettings, process.env);
  project.provide('redisUrl', settings.REDIS_URL);
}
