import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { redisTest } from '@owc/testing';
import { describe, expect, it } from 'vitest';
import { luaScript } from './lua-script.js';
import { integerResult, oneOfResult, stringsResult } from './script-results.js';
import { defineScripts } from './scripts.js';

function scriptDir(files: Record<string, string>): URL {
  const dir = mkdtempSync(join(tmpdir(), 'owc-lua-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return pathToFileURL(`${dir}/`);
}

describe('luaScript', () => {
  it('takes the key count from the file name and includes shared pieces once', () => {
    const dir = scriptDir({
      'twice-2.lua': '--- @include "inc"\n--- @include "inc.lua"\nreturn add(KEYS[1], KEYS[2])\n',
      'inc.lua': 'local function add(a, b) return a .. b end\n',
    });
    const script = luaScript(new URL('twice-2.lua', dir));
    expect(script.numberOfKeys).toBe(2);
    expect(script.lua.match(/local function add/g)).toHaveLength(1);
    expect(script.lua).not.toContain('@include');
  });

  redisTest(
    'a <name>-n.lua script takes a varying number of keys, the count first',
    async ({ redis, prefix }) => {
      const dir = scriptDir({
        'sum-n.lua':
          "local n = 0\nfor _, k in ipairs(KEYS) do n = n + redis.call('INCR', k) end\nreturn n + #ARGV",
      });
      const script = luaScript(new URL('sum-n.lua', dir), integerResult);
      expect(script.numberOfKeys).toBeUndefined();
      const { owcTestSum } = defineScripts(redis, { owcTestSum: script });
      expect(await owcTestSum(1, `${prefix}:a`, 'x')).toBe(2);
      expect(await owcTestSum(3, `${prefix}:a`, `${prefix}:b`, `${prefix}:c`)).toBe(2 + 1 + 1);
    },
  );

  it('refuses a file whose name does not say its key count', () => {
    const dir = scriptDir({ 'nameless.lua': 'return 1' });
    expect(() => luaScript(new URL('nameless.lua', dir))).toThrow(/<numberOfKeys>/);
  });

  redisTest('answers are checked and typed by the declared result', async ({ redis, prefix }) => {
    const dir = scriptDir({
      'count-1.lua': "return redis.call('INCR', KEYS[1])",
      'outcome-0.lua': 'return ARGV[1]',
      'pair-0.lua': 'return {ARGV[1], 7}',
    });
    const scripts = defineScripts(redis, {
      owcTestCount: luaScript(new URL('count-1.lua', dir), integerResult),
      owcTestOutcome: luaScript(
        new URL('outcome-0.lua', dir),
        oneOfResult(['created', 'duplicate'] as const),
      ),
      owcTestPair: luaScript(new URL('pair-0.lua', dir), stringsResult),
    });
    const count: number = await scripts.owcTestCount(`${prefix}:n`);
    expect(count).toBe(1);
    const outcome: 'created' | 'duplicate' = await scripts.owcTestOutcome('created');
    expect(outcome).toBe('created');
    await expect(scripts.owcTestOutcome('conflict')).rejects.toThrow(/one of created, duplicate/);
    expect(await scripts.owcTestPair('x')).toEqual(['x', '7']);
  });
});
