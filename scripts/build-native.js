#!/usr/bin/env node
// Install-time build of the optional native addon (build/Release/qis_edge.node).
// The addon only makes packet work faster: the TypeScript fallback produces identical bytes,
// so a missing compiler or a failed build never fails `npm install`. `--force` (used by
// `npm run build:native`) turns those failures into exit code 1.
// Test loads run in a child process: an addon that crashes while loading must not take
// this script down with it, and node-gyp-build reads PREBUILDS_ONLY once, at require time.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const force = process.argv.includes('--force');
const win = process.platform === 'win32';
const say = (line) => process.stdout.write(`qis-edge: ${line}\n`);

function giveUp(what, output) {
  if (output) process.stderr.write(`${output.trimEnd()}\n\n`);
  process.stderr.write(
    `qis-edge: warning: native addon not available: ${what}.\n` +
      'qis-edge: the TypeScript fallback is used instead; it produces identical bytes, only slower.\n' +
      'qis-edge: to retry: npm run build:native\n',
  );
  process.exit(force ? 1 : 0);
}

function resolveNodeGypBuild() {
  try {
    return createRequire(import.meta.url).resolve('node-gyp-build');
  } catch {
    return ''; // the child then loads build/Release directly
  }
}

// Loads the addon the way the package will at run time and checks it answers layout().
function testLoad(prebuildsOnly) {
  const child = `
    const path = require('node:path');
    const [ngb, root] = process.argv.slice(1);
    try {
      const file = ngb ? require(ngb).resolve(root) : path.join(root, 'build/Release/qis_edge.node');
      const layout = require(file).layout();
      if (layout.size !== 512 || layout.littleEndian !== true) throw new Error('unexpected layout()');
      process.stdout.write(JSON.stringify({ file, crc: layout.hwCrcName }));
    } catch (err) {
      process.stderr.write(String(err && err.message || err).trim() + (err && err.code ? ' (' + err.code + ')' : ''));
      process.exitCode = 1;
    }`;
  const env = { ...process.env };
  if (prebuildsOnly) env.PREBUILDS_ONLY = '1';
  else delete env.PREBUILDS_ONLY;
  const r = spawnSync(process.execPath, ['-e', child, resolveNodeGypBuild(), root], {
    env,
    encoding: 'utf8',
  });
  if (r.status === 0) {
    try {
      return { ok: true, ...JSON.parse(r.stdout) };
    } catch {
      /* fall through: treat unreadable output as a failed load */
    }
  }
  const why = r.error?.message || (r.stderr || '').trim() || `exit ${r.status ?? r.signal}`;
  return { ok: false, error: why };
}

function findCompiler() {
  const cc = (process.env.CC || '').trim().split(/\s+/)[0] || 'cc';
  const r = spawnSync(cc, ['--version'], { encoding: 'utf8', shell: win });
  return r.status === 0 ? { cc, version: (r.stdout || '').split('\n')[0].trim() } : { cc, version: null };
}

function nodeGypCommand() {
  const local = path.join(root, 'node_modules', '.bin', win ? 'node-gyp.cmd' : 'node-gyp');
  if (existsSync(local)) return { cmd: local, args: [] };
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) {
    return /\.[cm]?js$/.test(fromNpm)
      ? { cmd: process.execPath, args: [fromNpm] }
      : { cmd: fromNpm, args: [] };
  }
  return { cmd: win ? 'npx.cmd' : 'npx', args: ['--yes', 'node-gyp'] };
}

// Headers installed next to this node (a distro or tarball install): point node-gyp at them
// so it never tries to download them, unless the user configured a nodedir already.
function nodedirArgs() {
  const configured =
    process.env.npm_config_nodedir ||
    process.env.NPM_CONFIG_NODEDIR ||
    process.argv.some((a) => a.startsWith('--nodedir'));
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  if (configured || !existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) return [];
  return [`--nodedir=${prefix}`];
}

if (process.env.QIS_EDGE_NO_NATIVE === '1') {
  say('QIS_EDGE_NO_NATIVE=1: native addon skipped, using the TypeScript implementation.');
  process.exit(0);
}

const platformTag = `${process.platform}-${process.arch}`;
if (existsSync(path.join(root, 'prebuilds'))) {
  const pre = testLoad(true);
  if (pre.ok && path.relative(path.join(root, 'prebuilds'), pre.file).split(path.sep)[0] !== '..') {
    say(`using prebuilt native addon ${path.relative(root, pre.file)} (CRC-32C: ${pre.crc}).`);
    process.exit(0);
  }
  if (!pre.ok && !/No native build was found/.test(pre.error)) {
    say(`prebuild for ${platformTag} does not load (${pre.error.split('\n')[0]}); building from source.`);
  }
}

const compiler = findCompiler();
if (!compiler.version) {
  giveUp(`no C compiler found (${process.env.CC ? `CC=${process.env.CC}` : 'cc'} is missing or not working)`);
}

const gyp = nodeGypCommand();
const args = [...gyp.args, 'rebuild', '--jobs=max', ...nodedirArgs()];
say(`building the native addon for ${platformTag} with ${compiler.version}...`);
const started = Date.now();
const build = spawnSync(gyp.cmd, args, {
  cwd: root,
  encoding: 'utf8',
  maxBuffer: 64 * 1024 * 1024,
  shell: win,
});
const output = `${build.stdout || ''}${build.stderr || ''}`;
if (build.error || build.status !== 0) {
  const how = build.error ? build.error.message : `exit ${build.status ?? build.signal}`;
  giveUp(`\`${[path.basename(gyp.cmd), ...args].join(' ')}\` failed (${how})`, output);
}

const loaded = testLoad(false);
if (!loaded.ok) giveUp('the addon was built but does not load', loaded.error);
const seconds = ((Date.now() - started) / 1000).toFixed(1);
say(`native addon ready: ${path.relative(root, loaded.file)} (CRC-32C: ${loaded.crc}, ${seconds} s).`);
