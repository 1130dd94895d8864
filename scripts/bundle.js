#!/usr/bin/env node
// Bundles the whole CLI/agent into one minified ESM file with esbuild, and lays out beside it
// what it loads at run time:
//
//   OUT/qis-edge.mjs                                 the bundle (JS only)
//   OUT/qis-edge-mqtt.cjs                            MQTT.js, required by the bundle only for uplinks.mqtt (SIDECARS)
//   OUT/qis-edge-nats.cjs                            the NATS client, required by the bundle only for uplinks.nats (SIDECARS)
//   OUT/qis-edge-discovery.cjs                       LAN discovery, required by the bundle only for discovery.enabled (SIDECARS)
//   OUT/qis-edge-client.cjs                          the client commands (observe, watch, query, stats, peers) (SIDECARS)
//   OUT/qis-edge-control.cjs                         the control socket's server, required by `run` when control.enabled (SIDECARS)
//   OUT/qis-edge-signing.cjs                         signed packets (src/security/), required only when signing or verifying (SIDECARS)
//   OUT/prebuilds/linux-<arch>/node.napi[.armv7].node   our Node-API addon (node-gyp-build layout)
//   OUT/build/manifest.json                          zeromq's addon manifest, trimmed to one entry
//   OUT/build/linux/<arch>/node/glibc-<abi>-Release/addon.node   zeromq's addon for that arch
//
// The bundle's directory is self-contained: nothing from node_modules is needed at run time.
//
//   node scripts/bundle.js                     dist/ for this machine (what `npm run build` does)
//   node scripts/bundle.js --out DIR --arch arm64|arm|x64 [--no-js]
//        --arch: which addons to lay out (cross builds: prebuilds/linux-<arch>/ and, for arm,
//        cross/.cache/zeromq-armv7/addon.node from cross/build.sh); --no-js: addons only.
//
// Sources are patched at bundle time where they find files relative to their own module
// (each patch must match exactly once, or the build fails and says which file to look at):
//   - zeromq/lib/load-addon.js: `<its dir>/../build` becomes `<bundle dir>/build`;
//   - src/packet/native.ts: node-gyp-build is bundled (not required at run time from
//     node_modules) and the addon root is the bundle's directory;
//   - src/**: `readFileSync(new URL("../../package.json", import.meta.url))` becomes the
//     version, inlined (no package.json on the device);
//   - src/cli/demo-swarm.ts: demo workers are the bundle itself (forked with an IPC channel and
//     a JSON config as the only argument, which no CLI command starts with).
//   - src/agent/schemas.ts: its static imports of the typebox-based schema modules become
//     lazy require()s (see that file).
// Any other `import.meta.url` under src/ is left alone (the bundle's URL) with a warning.
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));

function option(name, fallback) {
  const i = process.argv.indexOf(name);
  return i < 0 ? fallback : process.argv[i + 1];
}
const out = path.resolve(option('--out', path.join(root, 'dist')));
const arch = option('--arch', process.arch);
const withJs = !process.argv.includes('--no-js');
process.stdout.on('error', () => {}); // a closed pipe (e.g. | head) is not a build failure
const say = (line) => process.stdout.write(`bundle: ${line}\n`);

if (!['x64', 'arm64', 'arm'].includes(arch)) {
  process.stderr.write(`bundle: --arch must be x64, arm64 or arm, not "${arch}"\n`);
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------
// Source patches

const rel = (file) => path.relative(root, file).split(path.sep).join('/');

function replaceOnce(text, from, to, file) {
  const n = text.split(from).length - 1;
  if (n !== 1) {
    throw new Error(
      `scripts/bundle.js: expected exactly one ${JSON.stringify(from)} in ${rel(file)}, found ${n}; ` +
        'update the patch in scripts/bundle.js to match the source',
    );
  }
  return text.replace(from, () => to);
}

/** src/<file> → [from, to] pairs, each required to match exactly once. */
const SRC_PATCHES = {
  'src/packet/native.ts': [
    // packageRoot() becomes the bundle's directory (QIS_EDGE_ADDON_DIR still wins), and
    // node-gyp-build is bundled rather than required from node_modules at run time.
    ['join(dirname(fileURLToPath(import.meta.url)), "..", "..")', 'dirname(fileURLToPath(__qisBundleUrl))'],
    ['require("node-gyp-build")', '__qisNodeGypBuild'],
    ['createRequire(import.meta.url)', 'createRequire(__qisBundleUrl)'],
  ],
  'src/cli/demo-swarm.ts': [['new URL("./agent-worker.js", import.meta.url)', '__qisBundleUrl']],
  // The typebox-based schema modules become require()s of their vendored text (VENDORS below),
  // evaluated on first call: an idle agent neither parses nor runs them.
  'src/agent/schemas.ts': [
    ['import * as config from "./config-schema.js";\n', ''],
    ['import * as observation from "./observation-schema.js";\n', ''],
    ['(): typeof config => config;', '() => require("qis-vendor:schemas").configSchema;'],
    ['(): typeof observation => observation;', '() => require("qis-vendor:schemas").observationSchema;'],
  ],
};
const PREPEND = {
  'src/packet/native.ts': 'import __qisNodeGypBuild from "node-gyp-build";\n',
};
// Anywhere in src/: the package's version read from ../../package.json is inlined.
const VERSION_READ = /readFileSync\(\s*new URL\(\s*"\.\.\/\.\.\/package\.json"\s*,\s*import\.meta\.url\s*\)\s*,\s*"utf-?8"\s*\)/g;
const warnings = [];
// Files whose import.meta.url may be the bundle's (they only require Node's built-ins with it).
const IMPORT_META_OK = new Set(['src/util/random.ts', 'src/agent/keys.ts']);

/** Every .ts file under src/, with its text: read once, for the scans below. */
let srcCache = null;
function srcSources() {
  if (srcCache !== null) return srcCache;
  srcCache = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const f = path.join(dir, e.name);
      if (e.isDirectory()) walk(f);
      else if (f.endsWith('.ts')) srcCache.push({ file: rel(f), text: readFileSync(f, 'utf8') });
    }
  };
  walk(path.join(root, 'src'));
  return srcCache;
}

/**
 * What `text` imports from `specifier` as values (type-only imports and names left out):
 * `default` for a default import, `*` for a namespace import, else each imported name.
 */
function importedNames(text, specifier) {
  const names = [];
  const esc = specifier.replace(/[/-]/g, '\\$&');
  for (const m of text.matchAll(new RegExp(`import\\s+(?!type\\b)([^;]*?)\\s+from\\s*"${esc}"`, 'g'))) {
    const clause = m[1];
    if (/^[A-Za-z_$]/.test(clause)) names.push('default');
    if (clause.includes('*')) names.push('*');
    const braces = /\{([^}]*)\}/.exec(clause);
    if (braces) for (const n of braces[1].split(',')) if (n.trim() && !n.trim().startsWith('type ')) names.push(n.trim().split(/\s+as\s+/)[0]);
  }
  return names;
}

// `import Type from "typebox"` is a namespace object: every builder in it (the TypeScript-syntax
// parser too) would be bundled. For src/ the default import becomes an object of just the
// builders src/ uses (found by scanning each importing file for `<its default import>.X`),
// which lets esbuild drop the rest.
function typeboxShim() {
  const used = new Set();
  for (const { text } of srcSources()) {
    // The default import's local name (`import Type, { … } from "typebox"`, or any other name).
    for (const imp of text.matchAll(/import\s+([A-Za-z_$][\w$]*)\s*(?:,\s*\{[^}]*\})?\s*from\s*"typebox"/g)) {
      for (const m of text.matchAll(new RegExp(`\\b${imp[1].replace(/\$/g, '\\$')}\\.([A-Za-z_$][\\w$]*)`, 'g'))) used.add(m[1]);
    }
  }
  const real = path.join(root, 'node_modules', 'typebox', 'build', 'index.mjs');
  const names = [...used].sort();
  return [
    `export * from ${JSON.stringify(real)};`,
    `import { ${names.map((n, i) => `${n} as T${i}`).join(', ')} } from ${JSON.stringify(path.join(path.dirname(real), 'typebox.mjs'))};`,
    `export default { ${names.map((n, i) => `${n}: T${i}`).join(', ')} };`,
  ].join('\n');
}

// typebox's compiled Validator imports every value operation (Clean, Convert, Create, Default,
// Decode, Encode, Parse: ~20 kB) for its methods of those names. src/ only calls Check and
// Errors on validators; while no src file calls a method of those names, the validator gets
// stubs that throw if called, and the bundle is that much smaller.
const VALUE_OPS = ['Clean', 'Convert', 'Create', 'Default', 'Decode', 'Encode', 'Parser', 'ParseError'];
function srcCallsValueOps() {
  return srcSources()
    .filter(({ text }) => /\.(Clean|Convert|Create|Default|Decode|Encode|Parse)\(/.test(text))
    .map(({ file }) => file);
}
// typebox/value's index also builds a `Value` namespace of every operation; src/ imports named
// operations only (`import { Check } from "typebox/value"`), so it gets just those operations'
// modules (value/check/ for Check), or the whole index when a name has no module of its own.
function valueShim() {
  const value = path.join(root, 'node_modules', 'typebox', 'build', 'value');
  const names = new Set(srcSources().flatMap(({ text }) => importedNames(text, 'typebox/value')));
  const lines = [];
  for (const n of names) {
    const mod = path.join(value, n.toLowerCase(), 'index.mjs');
    lines.push(`export { ${n} } from ${JSON.stringify(existsSync(mod) ? mod : path.join(value, 'index.mjs'))};`);
  }
  return lines.join('\n');
}
function validatorValueShim() {
  const value = path.join(root, 'node_modules', 'typebox', 'build', 'value');
  const stub = (n) => `export function ${n}() { throw new Error("typebox ${n} is left out of the qis-edge bundle (scripts/bundle.js)"); }`;
  return [
    `export { Errors } from ${JSON.stringify(path.join(value, 'errors', 'index.mjs'))};`,
    `export { HasCodec } from ${JSON.stringify(path.join(value, 'codec', 'has.mjs'))};`,
    ...VALUE_OPS.map(stub),
  ].join('\n');
}

/** typebox for the schemas' vendor build: just what src/ uses of it (the shims above). */
const typeboxPlugin = {
  name: 'qis-edge-typebox',
  setup(build) {
    const valueOpsUsed = srcCallsValueOps();
    if (valueOpsUsed.length > 0) warnings.push(`${valueOpsUsed.join(', ')} call typebox value operations: the whole of typebox/value is bundled`);
    else {
      build.onResolve({ filter: /^\.\.\/value\/index\.mjs$/ }, (args) =>
        /typebox[\\/]build[\\/]compile[\\/]validator\.mjs$/.test(args.importer) ? { path: 'validator-value', namespace: 'qis-typebox' } : undefined,
      );
    }
    const fromOurs = (importer) => rel(importer).startsWith('src/') || importer.endsWith('-vendor.mjs');
    build.onResolve({ filter: /^typebox(\/value)?$/ }, (args) => (fromOurs(args.importer) ? { path: args.path, namespace: 'qis-typebox' } : undefined));
    // typebox's modules are pure (definitions only) but esbuild cannot prove it of their
    // top-level calls: marking them side-effect free lets it drop the ones nothing uses.
    const inTypebox = /[\\/]node_modules[\\/]typebox[\\/]/;
    build.onResolve({ filter: /^(\.\.?\/|\/)/ }, (args) => {
      const file = path.isAbsolute(args.path) ? args.path : path.resolve(args.resolveDir, args.path);
      return inTypebox.test(file) && file.endsWith('.mjs') ? { path: file, sideEffects: false } : undefined;
    });
    const shims = { typebox: typeboxShim, 'typebox/value': valueShim, 'validator-value': validatorValueShim };
    build.onLoad({ filter: /.*/, namespace: 'qis-typebox' }, (args) => ({ contents: shims[args.path](), loader: 'js', resolveDir: root }));
  },
};

// ---------------------------------------------------------------------------------------------
// Vendored text: libraries only some commands use, embedded as source text compiled on first use
//
// V8 parses the whole script it loads, used or not, and some code is costly merely to carry:
// typebox's bundled text in a never-called function cost an idle agent +1.5 MiB (166 kB), the
// same text in a string +0.05 MiB. (Our own rarely used modules, ~100 kB in esbuild's lazy
// wrappers, cost only ~0.1 MiB; typebox is heavier per byte, with 76 regular expression literals
// among other things.) typebox and the schemas built on it (config file, observations, stdio)
// and cbor-x (stdio's CBOR framing) are ~130 kB that a plain `run` never calls. Each is bundled on
// its own (CommonJS, with its own copy of the few pure modules it needs) and lands in the bundle
// as a string, run with `new Function` on its first require(). The rest of the bundle reaches
// them only through the names below; a src/ import of anything else from them fails the build.
const VENDORS = {
  'qis-vendor:schemas': {
    entry: [
      'export * as configSchema from "./src/agent/config-schema.ts";',
      'export * as observationSchema from "./src/agent/observation-schema.ts";',
      'export { default as Type } from "typebox";',
      'export { Compile } from "typebox/compile";',
    ].join('\n'),
    // what the bundle's other modules may import from each specifier (`default`: the default import)
    provides: { typebox: { default: 'Type' }, 'typebox/compile': { Compile: 'Compile' } },
    plugins: [typeboxPlugin],
  },
  'qis-vendor:cbor': {
    entry: 'export { Decoder, Encoder } from "cbor-x";',
    provides: { 'cbor-x': { Decoder: 'Decoder', Encoder: 'Encoder' } },
    plugins: [],
  },
};

// ---------------------------------------------------------------------------------------------
// Sidecars: optional parts too big to carry in the bundle, even as text
//
// The MQTT uplink (src/link/mqtt/, src/link/uplink/ and MQTT.js with readable-stream, ws and
// debug: ~370 kB minified) is for uplinks.mqtt only. It is built into OUT/qis-edge-mqtt.cjs
// beside the bundle; the agent's dynamic import of src/link/mqtt/index.ts becomes a require()
// of that file, run on first use, so an agent without an uplink neither reads nor parses it
// and the bundle stays within its budget (test/ship/selftest.test.ts). The rest of src/ that the
// sidecar imports (the codec and its addon, the store's file code, error classes checked with
// instanceof) is never copied into it: the bundle hands it its own module instances.
// The NATS JetStream uplink (src/link/nats/ and @nats-io/transport-node + jetstream) is built the
// same way into OUT/qis-edge-nats.cjs, for uplinks.nats only. Each carries its own copy of
// src/link/uplink/ (small), so that either loads without the other.
const SIDECARS = {
  'src/link/mqtt/index.ts': { file: 'qis-edge-mqtt.cjs', name: 'mqtt', own: ['src/link/mqtt/', 'src/link/uplink/'] },
  'src/link/nats/index.ts': { file: 'qis-edge-nats.cjs', name: 'nats', own: ['src/link/nats/', 'src/link/uplink/'] },
  // Small (~6 kB), but used only with discovery.enabled, and the bundle is near its budget.
  'src/agent/discovery/discovery.ts': { file: 'qis-edge-discovery.cjs', name: 'discovery', own: ['src/agent/discovery/'] },
  // The control socket's client commands (~15 kB, mostly --help texts): not what a running agent needs.
  'src/cli/client/index.ts': { file: 'qis-edge-client.cjs', name: 'client', own: ['src/cli/client/', 'src/control/client.ts'] },
  // The control socket's server (~5 kB): every `run` loads it by default, but nothing else does.
  'src/control/server.ts': { file: 'qis-edge-control.cjs', name: 'control', own: ['src/control/server.ts', 'src/control/subscriptions.ts'] },
  // Signed packets (~13 kB): used only when signing or verification is configured, and by
  // keygen and inspect --trust. It copies the pure layout modules (constants and byte readers,
  // no state) rather than taking the bundle's: a shared module is imported whole, which keeps
  // all of its exports in the bundle.
  'src/security/index.ts': { file: 'qis-edge-signing.cjs', name: 'signing', own: ['src/security/', 'src/packet/signature.ts', 'src/packet/bytes.ts', 'src/packet/layout.ts'] },
};

/** The value names a module exports: declarations, and `export { a, b as c, type T } from` lists (types left out). */
function exportedNames(text) {
  const names = [...text.matchAll(/^export (?:async )?(?:function|const|class) (\w+)/gm)].map((m) => m[1]);
  for (const m of text.matchAll(/^export \{([^}]*)\} from /gm)) {
    for (const item of m[1].split(',').map((x) => x.trim()).filter((x) => x !== '' && !x.startsWith('type '))) names.push(item.split(/\s+as\s+/).pop());
  }
  return names;
}

/** Builds a sidecar; returns the src/ modules it takes from the bundle (relative paths). */
async function buildSidecar(esbuild, entry, sc) {
  const shared = new Set();
  const file = path.join(out, sc.file);
  const result = await esbuild.build({
    stdin: { contents: `export * from ${JSON.stringify(`./${entry}`)};`, resolveDir: root, sourcefile: `${sc.name}-sidecar.ts`, loader: 'ts' },
    ...SHARED_OPTIONS,
    format: 'cjs',
    outfile: file,
    // A factory: the bundle calls it with its own instances of the shared modules.
    banner: { js: 'module.exports = function (__qisShared) { const module = { exports: {} }; const exports = module.exports;' },
    footer: { js: 'return module.exports; };' },
    plugins: [
      {
        name: 'qis-edge-sidecar-shared',
        setup(build) {
          build.onResolve({ filter: /^\.\.?\// }, (args) => {
            const from = rel(args.importer);
            if (!from.startsWith('src/')) return undefined;
            const target = rel(path.resolve(args.resolveDir, args.path.replace(/\.js$/, '.ts')));
            if (!target.startsWith('src/') || sc.own.some((d) => target.startsWith(d))) return undefined;
            shared.add(target);
            return { path: target, namespace: 'qis-shared' };
          });
          build.onLoad({ filter: /.*/, namespace: 'qis-shared' }, (args) => ({ contents: `module.exports = __qisShared[${JSON.stringify(args.path)}];`, loader: 'js' }));
        },
      },
    ],
    logLevel: 'error',
  });
  return { file, bytes: statSync(file).size, shared: [...shared].sort(), metafile: result.metafile };
}

/** In the bundle, a sidecar's entry is a require() of its file with the shared modules, run on first use. */
function sidecarPlugin(built) {
  return {
    name: 'qis-edge-sidecars',
    setup(build) {
      build.onResolve({ filter: /^\.\.?\// }, (args) => {
        const target = rel(path.resolve(args.resolveDir, args.path.replace(/\.js$/, '.ts')));
        if (!(target in SIDECARS) || !rel(args.importer).startsWith('src/')) return undefined;
        if (args.kind !== 'dynamic-import') throw new Error(`scripts/bundle.js: ${rel(args.importer)} imports ${target} statically; it is a sidecar (SIDECARS): import() it`);
        return { path: target, namespace: 'qis-sidecar' };
      });
      build.onLoad({ filter: /.*/, namespace: 'qis-sidecar' }, (args) => {
        const sc = SIDECARS[args.path];
        const { shared } = built[args.path];
        return {
          contents: [
            ...shared.map((m, i) => `import * as m${i} from ${JSON.stringify(`./${m}`)};`),
            `(globalThis[Symbol.for("qis-edge.vendored")] ??= []).push(${JSON.stringify(`qis-sidecar:${sc.name}`)});`,
            `const api = require(require("node:path").join(__dirname, ${JSON.stringify(sc.file)}))({ ${shared.map((m, i) => `${JSON.stringify(m)}: m${i}`).join(', ')} });`,
            'export default api;',
            ...Object.keys(built[args.path].exports).map((n) => `export const ${n} = api.${n};`),
          ].join('\n'),
          loader: 'js',
          resolveDir: root,
        };
      });
    },
  };
}

/** src/ files that live in a vendor build only: the bundle reaches them through src/agent/schemas.ts. */
const VENDORED_SRC = new Set(['src/agent/config-schema.ts', 'src/agent/observation-schema.ts']);
/**
 * The only other src/ files a vendor may copy: pure constants and functions. A copy of a module
 * with state (the packet codec and its addon, an error class checked with instanceof) would be
 * a second, different instance, so the build fails if a vendor pulls one in.
 */
const VENDOR_MAY_COPY = new Set(['src/agent/config-defaults.ts', 'src/agent/config-env.ts', 'src/synth/defaults.ts', 'src/packet/layout.ts']);

/** The vendor that provides `specifier`, checked against what `file` imports from it. */
function vendorOf(specifier, file) {
  const name = Object.keys(VENDORS).find((v) => specifier in VENDORS[v].provides);
  if (name === undefined) return undefined;
  const provided = VENDORS[name].provides[specifier];
  const text = srcSources().find((s) => s.file === file)?.text ?? readFileSync(path.join(root, file), 'utf8');
  const missing = importedNames(text, specifier).filter((n) => !(n in provided));
  if (missing.length > 0) {
    throw new Error(`scripts/bundle.js: ${file} imports ${missing.join(', ')} from "${specifier}", which the vendored ${name} does not provide: add it to VENDORS`);
  }
  return name;
}

/** esbuild options of the bundle and of each vendor alike. */
const SHARED_OPTIONS = {
  bundle: true,
  minify: true,
  platform: 'node',
  target: 'node20',
  // cbor-x's optional native string extractor: not shipped (cbor-x then runs in pure JS, as
  // its own try/catch intends), so its loader (node-gyp-build-optional-packages, detect-libc)
  // stays out of the bundle too.
  // ws's optional native helpers (bufferutil, utf-8-validate): ws falls back to JS without them.
  external: ['cbor-extract', 'bufferutil', 'utf-8-validate'],
  metafile: true,
  legalComments: 'none',
  // ASCII output (non-ASCII characters as \u escapes): V8 keeps a script's source for the
  // process's lifetime, as a one-byte string only if every character is Latin-1. One "≤" in a
  // message would make it two-byte: ~340 KiB more of resident heap (docs/devices.md).
  charset: 'ascii',
  // Only the CJS build of each dependency, never a browser field.
  mainFields: ['module', 'main'],
  conditions: ['node', 'import', 'default'],
};

async function buildVendors(esbuild) {
  const built = {};
  for (const [name, v] of Object.entries(VENDORS)) {
    const result = await esbuild.build({
      stdin: { contents: v.entry, resolveDir: root, sourcefile: `${name.slice(11)}-vendor.mjs`, loader: 'ts' },
      ...SHARED_OPTIONS,
      format: 'cjs',
      write: false,
      plugins: v.plugins,
      logLevel: 'error',
    });
    const copied = Object.keys(result.metafile.inputs).filter((f) => f.startsWith('src/') && !VENDORED_SRC.has(f) && !VENDOR_MAY_COPY.has(f));
    if (copied.length > 0) throw new Error(`scripts/bundle.js: the vendored ${name} would copy ${copied.join(', ')}; import constants from leaf modules (e.g. src/packet/layout.ts), or add a pure module to VENDOR_MAY_COPY`);
    built[name] = { code: result.outputFiles[0].text, metafile: result.metafile };
  }
  return built;
}

/** Resolves the vendors' specifiers in the bundle to the embedded text (see VENDORS). */
function vendorPlugin(built) {
  return {
    name: 'qis-edge-vendors',
    setup(build) {
      build.onResolve({ filter: /^qis-vendor:/ }, (args) => ({ path: args.path, namespace: 'qis-vendor' }));
      build.onResolve({ filter: /^(typebox(\/[a-z]+)?|cbor-x)$/ }, (args) => {
        const file = rel(args.importer);
        if (!file.startsWith('src/')) return undefined;
        const name = vendorOf(args.path, file);
        if (name === undefined) throw new Error(`scripts/bundle.js: ${file} imports "${args.path}", which no vendor provides: add it to VENDORS`);
        return { path: `${name}|${args.path}`, namespace: 'qis-vendor-ref' };
      });
      build.onResolve({ filter: /-schema\.js$/ }, (args) => {
        const file = rel(path.resolve(args.resolveDir, args.path.replace(/\.js$/, '.ts')));
        if (VENDORED_SRC.has(file)) throw new Error(`scripts/bundle.js: ${rel(args.importer)} imports ${file}, which the bundle has only as vendored text: reach it through src/agent/schemas.ts`);
        return undefined;
      });
      build.onLoad({ filter: /.*/, namespace: 'qis-vendor' }, (args) => ({
        // Inside the wrapper esbuild gives a CommonJS module, so the string is not even
        // materialised before the first require(). The vendors evaluated are listed under a
        // global symbol, for diagnostics (test/ship/bundle-vendored.test.ts: an idle agent, none).
        contents:
          `(globalThis[Symbol.for("qis-edge.vendored")] ??= []).push(${JSON.stringify(args.path)});\n` +
          `const m = { exports: {} };\nnew Function("module", "exports", "require", ${JSON.stringify(built[args.path].code)})(m, m.exports, require);\nmodule.exports = m.exports;\n`,
        loader: 'js',
      }));
      build.onLoad({ filter: /.*/, namespace: 'qis-vendor-ref' }, (args) => {
        const [name, specifier] = args.path.split('|');
        const provided = VENDORS[name].provides[specifier];
        // A default import takes module.exports itself (esbuild's Node-compatible interop, as
        // for any CommonJS module imported from ESM), so a default comes alone.
        if ('default' in provided && Object.keys(provided).length > 1) throw new Error(`scripts/bundle.js: VENDORS: "${specifier}" provides a default and names; give it either`);
        const exported = 'default' in provided ? `v.${provided.default}` : `{ ${Object.entries(provided).map(([k, v]) => `${k}: v.${v}`).join(', ')} }`;
        return { contents: `const v = require(${JSON.stringify(name)});\nmodule.exports = ${exported};\n`, loader: 'js', resolveDir: root };
      });
    },
  };
}

const patchPlugin = {
  name: 'qis-edge-patches',
  setup(build) {
    // Node's built-ins are required, not imported. esbuild hoists an ESM import of an external
    // module to the top of the bundle, so every built-in that any module names would load at
    // start-up (child_process for the demo, crypto and its dozen internal modules, streams);
    // and an ESM import of a built-in reads all of its exports, waking its lazy getters (util's
    // MIMEType and parseArgs). Required inside the importing module's wrapper, a built-in loads
    // when that module first runs: an idle `run` loads 40-odd fewer (with src/util/random.ts instead
    // of node:crypto: ~1.2 MiB less resident; docs/devices.md).
    build.onResolve({ filter: /^[a-z_/:]+$/ }, (args) =>
      args.kind === 'import-statement' && isBuiltin(args.path) ? { path: args.path, namespace: 'qis-builtin' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'qis-builtin' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: 'js' }));
    build.onLoad({ filter: /[\\/]zeromq[\\/]lib[\\/]load-addon\.js$/ }, (args) => {
      let text = readFileSync(args.path, 'utf8');
      text = replaceOnce(text, 'path_1.default.resolve(__dirname, "..", "build")', 'path_1.default.resolve(__dirname, "build")', args.path);
      return { contents: text, loader: 'js' };
    });
    build.onLoad({ filter: /[\\/]src[\\/].*\.ts$/ }, (args) => {
      const file = rel(args.path);
      let text = readFileSync(args.path, 'utf8');
      for (const [from, to] of SRC_PATCHES[file] ?? []) text = replaceOnce(text, from, to, args.path);
      text = text.replace(VERSION_READ, () => JSON.stringify(JSON.stringify({ version: pkg.version })));
      // Left as is (it is the bundle's own URL at run time), but said: it may need a patch here.
      if (text.includes('import.meta.url') && !IMPORT_META_OK.has(file)) warnings.push(`${file} uses import.meta.url: in the bundle it is the bundle's URL (scripts/bundle.js may need a patch for it)`);
      return { contents: (PREPEND[file] ?? '') + text, loader: 'ts' };
    });
  },
};

// The entry: a forked demo worker (IPC channel, a JSON config argument) runs the agent worker;
// anything else is the CLI.
const ENTRY = `
if (process.send !== undefined && process.argv.length === 3 && process.argv[2].startsWith("{")) {
  await import("./src/cli/agent-worker.ts");
} else {
  const { runCliProcess } = await import("./src/cli/entry.ts");
  await runCliProcess(process.argv.slice(2));
}
`;

// CommonJS dependencies (zeromq, node-gyp-build, cmake-ts) use require, __dirname and __filename.
// In the bundle they are the bundle's own. __qisBundleUrl is the bundle's URL, for the patches.
const BANNER = [
  'import { createRequire as __qisCreateRequire } from "node:module";',
  'import { fileURLToPath as __qisFileURLToPath } from "node:url";',
  'import { dirname as __qisDirname } from "node:path";',
  'const require = __qisCreateRequire(import.meta.url);',
  'const __filename = __qisFileURLToPath(import.meta.url);',
  'const __dirname = __qisDirname(__filename);',
  'const __qisBundleUrl = import.meta.url;',
].join('');

async function bundle() {
  const esbuild = await import('esbuild');
  mkdirSync(out, { recursive: true });
  const vendors = await buildVendors(esbuild);
  const sidecars = {};
  for (const [entry, sc] of Object.entries(SIDECARS)) {
    const b = await buildSidecar(esbuild, entry, sc);
    // What the sidecar exports, read from its own build: the bundle re-exports those names.
    const outMeta = Object.values(b.metafile.outputs)[0];
    b.exports = Object.fromEntries((outMeta.exports ?? []).map((n) => [n, true]));
    if (Object.keys(b.exports).length === 0) b.exports = Object.fromEntries(exportedNames(readFileSync(path.join(root, entry), 'utf8')).map((n) => [n, true]));
    sidecars[entry] = b;
  }
  const file = path.join(out, 'qis-edge.mjs');
  const result = await esbuild.build({
    stdin: { contents: ENTRY, resolveDir: root, sourcefile: 'qis-edge-entry.mjs', loader: 'ts' },
    ...SHARED_OPTIONS,
    format: 'esm',
    outfile: file,
    banner: { js: `#!/usr/bin/env node\n${BANNER}` },
    plugins: [vendorPlugin(vendors), sidecarPlugin(sidecars), patchPlugin],
    logLevel: 'warning',
  });
  // One metafile: the vendors' inputs in place of their embedded text (bench/bundle.js counts bytes per input).
  const meta = result.metafile;
  const inputs = Object.values(meta.outputs)[0].inputs;
  for (const [name, v] of Object.entries(vendors)) {
    delete inputs[`qis-vendor:${name}`];
    Object.assign(inputs, Object.values(v.metafile.outputs)[0].inputs);
  }
  writeFileSync(path.join(out, 'qis-edge.meta.json'), JSON.stringify(meta));
  return { file, bytes: statSync(file).size, sidecars: Object.values(sidecars) };
}

// ---------------------------------------------------------------------------------------------
// Addons beside the bundle

const ARMV = { arm: 'armv7', arm64: '', x64: '' };

/** Our addon: build/Release (a native build on this machine) or prebuilds/linux-<arch>/ (cross/build.sh). */
function ourAddon() {
  const dir = path.join(out, 'prebuilds', `linux-${arch}`);
  rmSync(dir, { recursive: true, force: true });
  const name = `node.napi${ARMV[arch] ? `.${ARMV[arch]}` : ''}.node`;
  const candidates = [path.join(root, 'prebuilds', `linux-${arch}`, name)];
  if (arch === process.arch && process.platform === 'linux') candidates.push(path.join(root, 'build', 'Release', 'qis_edge.node'));
  const from = candidates.find((f) => existsSync(f));
  if (from === undefined) {
    say(`no native addon for linux-${arch} (looked for ${candidates.map(rel).join(', ')}): the bundle will use the TypeScript fallback`);
    return null;
  }
  mkdirSync(dir, { recursive: true });
  copyFileSync(from, path.join(dir, name));
  return rel(from);
}

/** The newest GLIBC_2.N symbol version a shared object asks for, as N (0: none). */
function glibcNeeded(file) {
  let n = 0;
  for (const m of readFileSync(file).toString('latin1').matchAll(/GLIBC_2\.(\d+)/g)) n = Math.max(n, Number(m[1]));
  return n;
}

/** zeromq's addon: one manifest entry and its binary (ours for armv7, the package's otherwise). */
function zeromqAddon() {
  const zmqBuild = path.join(root, 'node_modules', 'zeromq', 'build');
  const dest = path.join(out, 'build');
  rmSync(dest, { recursive: true, force: true });
  let key;
  let from;
  if (arch === 'arm') {
    from = path.join(root, 'cross', '.cache', 'zeromq-armv7', 'addon.node');
    if (!existsSync(from)) throw new Error(`bundle: no armv7 zeromq addon at ${rel(from)}: run cross/build.sh armv7 first`);
    key = { os: 'linux', arch: 'arm', runtime: 'node', nodeAPI: 'node-addon-api', buildType: 'Release', abi: 115, libc: 'glibc', builtBy: 'cross/build.sh' };
    key = JSON.stringify(key);
  } else {
    const manifest = JSON.parse(readFileSync(path.join(zmqBuild, 'manifest.json'), 'utf8'));
    const entries = Object.entries(manifest)
      .map(([k, v]) => [k, v, JSON.parse(k)])
      .filter(([, , c]) => c.os === 'linux' && c.arch === arch && c.libc === 'glibc' && c.runtime === 'node')
      .sort((a, b) => (b[2].abi ?? 0) - (a[2].abi ?? 0));
    if (entries.length === 0) throw new Error(`bundle: zeromq ships no linux ${arch} glibc addon`);
    // Any ABI works (node-addon-api is ABI-stable), but some builds need a newer glibc than
    // Debian 12 / Raspberry Pi OS 12 have (2.36): take the one needing the oldest glibc.
    const pick = entries
      .map((e) => [...e, glibcNeeded(path.join(zmqBuild, e[1]))])
      .sort((a, b) => a[3] - b[3] || (b[2].abi ?? 0) - (a[2].abi ?? 0))[0];
    key = pick[0];
    from = path.join(zmqBuild, pick[1]);
  }
  const relPath = `linux/${arch}/node/glibc-${JSON.parse(key).abi}-Release/addon.node`;
  mkdirSync(path.dirname(path.join(dest, relPath)), { recursive: true });
  copyFileSync(from, path.join(dest, relPath));
  writeFileSync(path.join(dest, 'manifest.json'), `${JSON.stringify({ [key]: relPath })}\n`);
  return { from: rel(from), bytes: statSync(from).size, glibc: glibcNeeded(from) };
}

// Only the prebuilds/ and build/ this script lays out are replaced; a stale other arch is removed.
function cleanOtherArches() {
  const pre = path.join(out, 'prebuilds');
  if (existsSync(pre)) for (const d of readdirSync(pre)) if (d !== `linux-${arch}`) rmSync(path.join(pre, d), { recursive: true, force: true });
}

try {
  if (withJs) {
    const { bytes, sidecars } = await bundle();
    say(`${rel(path.join(out, "qis-edge.mjs"))}: ${bytes} bytes (${(bytes / 1024).toFixed(1)} KiB) minified`);
    for (const sc of sidecars) say(`${rel(sc.file)}: ${sc.bytes} bytes (${(sc.bytes / 1024).toFixed(1)} KiB) minified, loaded only when used`);
    for (const w of warnings) say(`warning: ${w}`);
  }
  if (process.platform !== 'linux' && !process.argv.includes('--arch')) {
    // The targets are Linux: a bundle built on e.g. macOS is JS only (no addons beside it).
    say(`addons are laid out for Linux targets only: none beside the bundle on ${process.platform} (pass --arch to lay out Linux ones)`);
    process.exit(0);
  }
  cleanOtherArches();
  const ours = ourAddon();
  if (ours) say(`native addon for linux-${arch}: ${ours}`);
  const zmq = zeromqAddon();
  say(`zeromq addon for linux-${arch}: ${zmq.from} (${(zmq.bytes / 1e6).toFixed(1)} MB, needs glibc ≥ 2.${zmq.glibc})`);
} catch (err) {
  process.stderr.write(`${err.message ?? err}\n`);
  process.exit(1);
}
