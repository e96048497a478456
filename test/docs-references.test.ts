import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Every `.md` file a comment, a README or a doc names must be in the repository: a newcomer
// who clones it must be able to follow every reference. A name is resolved from the folder
// of the file that names it, then from the repository root (comments say `docs/sync.md`).

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** A name ending in `.md`: a path, a relative link, or a bare file name. */
const mdName = /(?<![\w./@-])((?:\.{1,2}\/)*[\w@-][\w./@-]*\.md)(?![\w-])/g;
const url = /\b[a-z][a-z0-9+.-]*:\/\/\S+/gi;

interface BrokenReference {
  file: string;
  line: number;
  name: string;
}

/** The `.md` names in `text` (a file at `file`, repo-relative) that no file in `files` answers. */
function brokenReferences(file: string, text: string, files: ReadonlySet<string>): BrokenReference[] {
  const broken: BrokenReference[] = [];
  const lines = text.split('\n');
  for (const [index, line] of lines.entries()) {
    for (const match of line.replace(url, ' ').matchAll(mdName)) {
      const name = match[1] ?? '';
      const fromFolder = posix.normalize(posix.join(posix.dirname(file), name));
      const fromRoot = posix.normalize(name);
      if (!files.has(fromFolder) && !files.has(fromRoot)) broken.push({ file, line: index + 1, name });
    }
  }
  return broken;
}

/** Tracked files and the untracked ones git does not ignore (a file being added counts). */
function repositoryFiles(): string[] {
  const out = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return out.split('\0').filter((path) => path !== '');
}

describe('references to .md files', () => {
  it('finds a bare name, a relative link and a root-relative path that lead nowhere', () => {
    const files = new Set(['README.md', 'docs/protocol.md', 'apps/ingress/README.md']);
    const text = [
      '// see UPPER-CASE-SPEC.md for the rules',
      'see [the protocol](../../docs/protocol.md) and [gone](../../docs/gone.md#part)',
      '/* docs/protocol.md, docs/missing.md, README.md */',
      'https://example.com/elsewhere/NOT-HERE.md is a web page, not a file of ours',
      "biome: '!**/*.md'",
    ].join('\n');
    expect(brokenReferences('apps/ingress/README.md', text, files)).toEqual([
      { file: 'apps/ingress/README.md', line: 1, name: 'UPPER-CASE-SPEC.md' },
      { file: 'apps/ingress/README.md', line: 2, name: '../../docs/gone.md' },
      { file: 'apps/ingress/README.md', line: 3, name: 'docs/missing.md' },
    ]);
  });

  it('does not take a path outside the repository for one inside it', () => {
    const files = new Set(['docs/protocol.md']);
    expect(brokenReferences('docs/a.md', 'read ../../elsewhere/docs/protocol.md', files)).toHaveLength(1);
    expect(brokenReferences('docs/a.md', 'read [it](protocol.md)', files)).toEqual([]);
  });

  it('every .md name in the repository names a file in the repository', () => {
    const files = repositoryFiles();
    const known = new Set(files);
    const broken: BrokenReference[] = [];
    for (const file of files) {
      if (file === 'pnpm-lock.yaml' || file === relative(root, fileURLToPath(import.meta.url))) continue;
      let text: string;
      try {
        text = readFileSync(join(root, file), 'utf8');
      } catch {
        continue; // listed by git but gone from the working tree (a deletion not yet committed)
      }
      if (text.includes('\0')) continue; // binary
      broken.push(...brokenReferences(file, text, known));
    }
    expect(broken.map((b) => `${b.file}:${b.line} names ${b.name}`)).toEqual([]);
    expect(files.length).toBeGreaterThan(50);
  });
});
