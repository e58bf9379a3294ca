/**
 * How bin/recipe.js starts: the single-file build (dist/recipe-cli.js) with a
 * V8 code cache per command. Every case spawns the bin as users run it, with
 * its own RECIPE_CODE_CACHE_DIR, and compares what it prints and its exit
 * code with a run of the same command without any cache. Runs the built
 * dist/ (the test setup builds it).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { codeCacheDir, codeCacheFile, MAX_CACHE_FILES, readCodeCache } from '../../src/cli/start';
import { CODE_DIR, PACKAGE_ROOT } from '../../src/package-root';
import { PACKS_DIR } from '../../src/recipe/bundle';
import { RECIPE_SCHEMA_PATH } from '../../src/recipe/load';
import { RULETEST_SCHEMA_PATH } from '../../src/ruletest/spec';
import { runnerPath } from '../../src/verify/jobs';
import { ROOT, tempDir } from '../helpers/corpus';

const BIN = path.join(ROOT, 'bin/recipe.js');
const SINGLE_FILE = path.join(ROOT, 'dist/recipe-cli.js');
const CORE = path.join(ROOT, 'recipes/core/batchnorm.yaml');
const TINY_BN = path.join(ROOT, 'examples/tiny-bn.onnx');
const dir = tempDir('recipe-start-');

// Writes the files Node loaded as modules when the process exits, to tell
// which way the CLI started.
const RECORDER = path.join(dir, 'record-modules.js');
fs.writeFileSync(RECORDER, "process.on('exit', () => require('node:fs').writeFileSync(process.env.RECORD_MODULES_TO, JSON.stringify(Object.keys(require.cache))));\n");

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  /** Files of this package that Node loaded as modules, relative to its root. */
  modules: string[];
}

let runs = 0;
/** Spawns `node bin/recipe.js ...args`; `env` is added to this process's environment (undefined removes a variable). */
function recipe(args: string[], env: Record<string, string | undefined>, nodeArgs: string[] = [BIN]): Run {
  const record = path.join(dir, `modules-${++runs}.json`);
  const r = spawnSync(process.execPath, ['-r', RECORDER, ...nodeArgs, ...args], {
    encoding: 'utf8',
    env: { ...process.env, RECIPE_NO_CODE_CACHE: undefined, RECIPE_CODE_CACHE_DIR: undefined, ...env, RECORD_MODULES_TO: record },
    // A run that hangs ends here, and fails its test, instead of stopping the suite.
    timeout: 60_000,
  });
  const loaded = fs.existsSync(record) ? (JSON.parse(fs.readFileSync(record, 'utf8')) as string[]) : [];
  const modules = loaded.filter((f) => f.startsWith(ROOT + path.sep) && !f.includes('node_modules')).map((f) => path.relative(ROOT, f));
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, modules };
}

const cacheFiles = (cacheDir: string): string[] => (fs.existsSync(cacheDir) ? fs.readdirSync(cacheDir).sort() : []);
const fresh = (name: string): string => path.join(dir, name);
/** What a run printed and how it ended, without which files it loaded. */
const outcome = (r: Run): Omit<Run, 'modules'> => ({ status: r.status, stdout: r.stdout, stderr: r.stderr });

/** The tiny apply, writing its model into `out`; its report names the output file, so each case has its own. */
const applyArgs = (out: string): string[] => ['apply', CORE, TINY_BN, '-o', out];

test('the build wrote the single-file CLI into dist/, beside dist/package-root.js', () => {
  expect(fs.existsSync(SINGLE_FILE)).toBe(true);
  expect(fs.existsSync(path.join(ROOT, 'dist/package-root.js'))).toBe(true);
});

test('a command runs through the single file; its first run writes a code cache that the second uses, with the same output', () => {
  const cacheDir = fresh('cache-first-second');
  const out = fresh('first-second.onnx');
  const uncached = recipe(applyArgs(out), { RECIPE_NO_CODE_CACHE: '1' });
  expect(uncached.status).toBe(0);
  expect(uncached.stderr).toBe('');
  expect(uncached.stdout).toMatch(/batchnorm-to-mul-add +1 +1 +1 +0/);
  // Of this package, only the bin and the loader: not dist/cli/main.js and the ~145 modules behind it.
  expect(uncached.modules.sort()).toEqual(['bin/recipe.js', 'dist/cli/start.js', 'dist/package-root.js']);

  const first = recipe(applyArgs(out), { RECIPE_CODE_CACHE_DIR: cacheDir });
  expect(outcome(first)).toEqual(outcome(uncached));
  const files = cacheFiles(cacheDir);
  expect(files).toEqual([expect.stringMatching(/^apply-[0-9a-f]{16}\.v8cache$/)]);
  const cacheFile = path.join(cacheDir, files[0]!);
  const written = fs.statSync(cacheFile);
  expect(written.size).toBeGreaterThan(100_000);
  expect(written.mode & 0o077).toBe(0);

  const second = recipe(applyArgs(out), { RECIPE_CODE_CACHE_DIR: cacheDir });
  expect(outcome(second)).toEqual(outcome(uncached));
  expect(second.modules.sort()).toEqual(uncached.modules.sort());
  // V8 took the cache: a rejected one would have been written again.
  const after = fs.statSync(cacheFile);
  expect([after.ino, after.mtimeMs]).toEqual([written.ino, written.mtimeMs]);
});

test('a corrupt cache file is ignored and replaced: garbage, a truncated file, flipped bytes inside V8 data that has a valid header', () => {
  const cacheDir = fresh('cache-corrupt');
  const out = fresh('corrupt.onnx');
  const uncached = recipe(applyArgs(out), { RECIPE_NO_CODE_CACHE: '1' });
  recipe(applyArgs(out), { RECIPE_CODE_CACHE_DIR: cacheDir });
  const [name] = cacheFiles(cacheDir);
  const cacheFile = path.join(cacheDir, name!);
  const good = fs.readFileSync(cacheFile);
  const flipped = Buffer.from(good);
  // Past V8's header, in its data: Node 20 crashed on such a file (V8 checks the header only).
  flipped.fill(0xff, 5000, 5008);
  const truncated = good.subarray(0, good.length >> 1);
  for (const [kind, bytes] of [['garbage', Buffer.from('not a code cache')], ['truncated', truncated], ['flipped', flipped]] as const) {
    fs.writeFileSync(cacheFile, bytes);
    const r = recipe(applyArgs(out), { RECIPE_CODE_CACHE_DIR: cacheDir });
    expect([kind, outcome(r)]).toEqual([kind, outcome(uncached)]);
    expect([kind, readCodeCache(cacheFile) !== undefined]).toEqual([kind, true]);
  }
});

test('random bytes, a folder or a named pipe in place of the cache file change nothing: same output and exit code, nothing on stderr', () => {
  const cacheDir = fresh('cache-replaced');
  const out = fresh('replaced.onnx');
  const uncached = recipe(applyArgs(out), { RECIPE_NO_CODE_CACHE: '1' });
  recipe(applyArgs(out), { RECIPE_CODE_CACHE_DIR: cacheDir });
  const cacheFile = path.join(cacheDir, cacheFiles(cacheDir)[0]!);
  const size = fs.statSync(cacheFile).size;
  const replacements: [string, () => void][] = [
    // As long as a real cache: the checksum, not the length, tells it apart.
    ['random bytes', () => fs.writeFileSync(cacheFile, require('node:crypto').randomBytes(size))],
    ['a folder', () => fs.mkdirSync(cacheFile)],
    // Opened for reading, a FIFO with no writer blocks: the run must not wait for one.
    ['a named pipe', () => execFileSync('mkfifo', [cacheFile])],
  ];
  for (const [kind, replace] of replacements) {
    fs.rmSync(cacheFile, { recursive: true, force: true });
    replace();
    expect([kind, outcome(recipe(applyArgs(out), { RECIPE_CODE_CACHE_DIR: cacheDir }))]).toEqual([kind, outcome(uncached)]);
  }
});

test('a cache file that others can write is not used, and is replaced by one only this user can', () => {
  const cacheDir = fresh('cache-mode');
  const out = fresh('mode.onnx');
  recipe(applyArgs(out), { RECIPE_CODE_CACHE_DIR: cacheDir });
  const cacheFile = path.join(cacheDir, cacheFiles(cacheDir)[0]!);
  fs.chmodSync(cacheFile, 0o666);
  expect(readCodeCache(cacheFile)).toBeUndefined();
  expect(recipe(applyArgs(out), { RECIPE_CODE_CACHE_DIR: cacheDir }).status).toBe(0);
  expect(fs.statSync(cacheFile).mode & 0o077).toBe(0);
  expect(readCodeCache(cacheFile)).toBeDefined();
});

test('a cache folder that cannot be written changes nothing: same output and exit code, nothing on stderr', () => {
  // A path under a regular file: mkdir fails even for root, which ignores permission bits.
  const blocker = fresh('a-file');
  fs.writeFileSync(blocker, '');
  const out = fresh('unwritable.onnx');
  const uncached = recipe(applyArgs(out), { RECIPE_NO_CODE_CACHE: '1' });
  const r = recipe(applyArgs(out), { RECIPE_CODE_CACHE_DIR: path.join(blocker, 'cache') });
  expect(outcome(r)).toEqual(outcome(uncached));
  expect(r.stderr).toBe('');
  // The cache folder named by a file itself.
  expect(outcome(recipe(applyArgs(out), { RECIPE_CODE_CACHE_DIR: blocker }))).toEqual(outcome(uncached));
});

test('RECIPE_NO_CODE_CACHE=1 writes nothing', () => {
  const cacheDir = fresh('cache-off');
  const r = recipe(applyArgs(fresh('off.onnx')), { RECIPE_CODE_CACHE_DIR: cacheDir, RECIPE_NO_CODE_CACHE: '1' });
  expect(r.status).toBe(0);
  expect(fs.existsSync(cacheDir)).toBe(false);
});

test('errors end as before: the same message and exit code as tsc\'s dist/cli/main.js, and no cache of the failed run', () => {
  const cacheDir = fresh('cache-errors');
  const viaMain = ['-e', `require(${JSON.stringify(path.join(ROOT, 'dist/cli/main.js'))}).main(process.argv.slice(1)).then((c) => { process.exitCode = c; })`, '--'];
  const missingModel = fresh('missing.onnx');
  const cases = [
    ['apply', CORE, missingModel, '-o', fresh('never.onnx')],
    ['apply', fresh('nope.yaml'), TINY_BN, '--dry-run'],
    ['show', path.join(ROOT, 'README.md')],
    ['apply'],
    ['frobnicate'],
  ];
  for (const args of cases) {
    const expected = recipe(args, {}, viaMain);
    expect(expected.status).not.toBe(0);
    expect(expected.stderr).not.toBe('');
    expect(outcome(recipe(args, { RECIPE_CODE_CACHE_DIR: cacheDir }))).toEqual(outcome(expected));
  }
  expect(outcome(recipe(cases[0]!, { RECIPE_CODE_CACHE_DIR: cacheDir }))).toEqual({ status: 4, stdout: '', stderr: `recipe: ${missingModel}: no such file or folder\n` });
  expect(cacheFiles(cacheDir)).toEqual([]);
});

test('help, the version and `recipe list` (which reads the packs in recipes/) run through the single file', () => {
  const cacheDir = fresh('cache-help-list');
  const viaMain = ['-e', `require(${JSON.stringify(path.join(ROOT, 'dist/cli/main.js'))}).main(process.argv.slice(1)).then((c) => { process.exitCode = c; })`, '--'];
  for (const args of [['--help'], ['--version'], ['apply', '--help'], ['list'], ['list', 'core']]) {
    const expected = recipe(args, {}, viaMain);
    expect(expected.status).toBe(0);
    const r = recipe(args, { RECIPE_CODE_CACHE_DIR: cacheDir });
    expect([args, outcome(r)]).toEqual([args, outcome(expected)]);
    expect(r.modules).not.toContain('dist/cli/main.js');
  }
  expect(recipe(['list'], { RECIPE_NO_CODE_CACHE: '1' }).stdout).toMatch(/^pack +core +\d+ rule\(s\)/m);
  // Help pages share a cache of their own: one of `apply --help` would hold little of apply.
  expect(cacheFiles(cacheDir)).toEqual([expect.stringMatching(/^help-[0-9a-f]{16}\.v8cache$/), expect.stringMatching(/^list-[0-9a-f]{16}\.v8cache$/)]);
});

test('apply --verify finds its runner scripts and runs them in child processes', () => {
  const r = recipe([...applyArgs(fresh('verified.onnx')), '--verify'], { RECIPE_CODE_CACHE_DIR: fresh('cache-verify') });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.stdout).toContain('outputs agree within the tolerance');
});

test('without the single file (a build of tsc alone) the bin falls back to dist/cli/main.js', () => {
  const start = path.join(ROOT, 'dist/cli/start.js');
  const missing = ['-e', `require(${JSON.stringify(start)}).startCli(process.argv.slice(1), process.env, ${JSON.stringify(fresh('no-such-file.js'))}).then((c) => { process.exitCode = c; })`, '--'];
  const cacheDir = fresh('cache-fallback');
  const r = recipe(['list', 'core'], { RECIPE_CODE_CACHE_DIR: cacheDir }, missing);
  expect(r.status).toBe(0);
  expect(r.stdout).toBe(recipe(['list', 'core'], { RECIPE_NO_CODE_CACHE: '1' }).stdout);
  expect(r.modules).toContain('dist/cli/main.js');
  expect(cacheFiles(cacheDir)).toEqual([]);
});

test('the cache folder keeps the most recently written caches only', () => {
  const cacheDir = fresh('cache-prune');
  fs.mkdirSync(cacheDir);
  const old = Date.now() / 1000 - 3600;
  for (let i = 0; i < MAX_CACHE_FILES + 4; i++) {
    const file = path.join(cacheDir, `show-${String(i).padStart(16, '0')}.v8cache`);
    fs.writeFileSync(file, 'old');
    fs.utimesSync(file, old + i, old + i);
  }
  fs.writeFileSync(path.join(cacheDir, 'notes.txt'), 'not ours');
  expect(recipe(['list', 'core'], { RECIPE_CODE_CACHE_DIR: cacheDir }).status).toBe(0);
  const left = cacheFiles(cacheDir);
  expect(left).toHaveLength(MAX_CACHE_FILES + 1);
  expect(left).toContain('notes.txt');
  expect(left.filter((f) => f.startsWith('list-'))).toHaveLength(1);
  // The oldest went first.
  expect(left).not.toContain(`show-${'0'.repeat(16)}.v8cache`);
});

describe('cache file names', () => {
  const source = fs.readFileSync(SINGLE_FILE);
  const env = { RECIPE_CODE_CACHE_DIR: '/caches' };

  it('name the command and a hash of the single file, the Node, V8 and CPU it was made for', () => {
    const apply = codeCacheFile(['apply', 'x.yaml'], source, env);
    expect(apply).toMatch(/^\/caches\/apply-[0-9a-f]{16}\.v8cache$/);
    expect(codeCacheFile(['apply', 'other.yaml', '--dry-run'], source, env)).toBe(apply);
    expect(codeCacheFile(['show', 'x.onnx'], source, env)).toBe(apply!.replace('apply-', 'show-'));
    const edited = Buffer.concat([source.subarray(0, -1), Buffer.from(' ')]);
    expect(codeCacheFile(['apply'], edited, env)).not.toBe(apply);
    expect(codeCacheFile(['apply'], source, { ...env, NODE_OPTIONS: '--max-old-space-size=8192' })).not.toBe(apply);
  });

  it('are one for every help page and --version', () => {
    const help = codeCacheFile(['--help'], source, env);
    expect(help).toMatch(/^\/caches\/help-[0-9a-f]{16}\.v8cache$/);
    for (const argv of [['-h'], ['--version'], ['apply', '--help'], ['show', 'x.onnx', '-h'], ['help']]) expect([argv, codeCacheFile(argv, source, env)]).toEqual([argv, help]);
  });

  it('are none without arguments, for what cannot be a command, or when caching is off', () => {
    expect(codeCacheFile([], source, env)).toBeUndefined();
    expect(codeCacheFile(['../etc'], source, env)).toBeUndefined();
    expect(codeCacheFile(['apply'], source, { ...env, RECIPE_NO_CODE_CACHE: '1' })).toBeUndefined();
    expect(codeCacheFile(['apply'], source, { ...env, RECIPE_NO_CODE_CACHE: '0' })).toBeDefined();
  });

  it('live in RECIPE_CODE_CACHE_DIR, else the XDG cache folder, else ~/.cache', () => {
    expect(codeCacheDir({ RECIPE_CODE_CACHE_DIR: '/a', XDG_CACHE_HOME: '/b' })).toBe('/a');
    expect(codeCacheDir({ XDG_CACHE_HOME: '/b' })).toBe('/b/recipe');
    expect(codeCacheDir({ XDG_CACHE_HOME: 'relative' })).toBe(path.join(require('node:os').homedir(), '.cache/recipe'));
  });
});

describe('paths from the package root (src/ under ts-jest)', () => {
  it('find the packs, the schemas and the runner scripts', () => {
    expect(PACKAGE_ROOT).toBe(ROOT);
    expect(CODE_DIR).toBe(path.join(ROOT, 'src'));
    expect(PACKS_DIR).toBe(path.join(ROOT, 'recipes'));
    for (const file of [RECIPE_SCHEMA_PATH, RULETEST_SCHEMA_PATH]) expect(fs.existsSync(file)).toBe(true);
    expect(runnerPath('onnx_runner.js')).toBe(path.join(ROOT, 'src/verify/onnx_runner.js'));
  });

  it('are the same from the library entry (dist/index.js) as before the single file', () => {
    const probe = [
      `const lib = require(${JSON.stringify(path.join(ROOT, 'dist/index.js'))});`,
      `const { PACKS_DIR } = require(${JSON.stringify(path.join(ROOT, 'dist/recipe/bundle.js'))});`,
      `const { runnerPath } = require(${JSON.stringify(path.join(ROOT, 'dist/verify/jobs.js'))});`,
      "console.log(JSON.stringify({ readModel: typeof lib.readModel, PACKS_DIR, runner: runnerPath('litert_runner.mjs') }));",
    ].join('\n');
    const r = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ readModel: 'function', PACKS_DIR: path.join(ROOT, 'recipes'), runner: path.join(ROOT, 'dist/verify/litert_runner.mjs') });
  });
});
