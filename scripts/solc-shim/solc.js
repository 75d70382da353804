#!/usr/bin/env node
// solc shim: a native-solc look-alike backed by solc-js (npm `solc`).
//
// Foundry is pointed at this (via .tools/bin/solc) because no native solc
// binary can be downloaded here. It supports exactly what forge uses:
//   solc --version
//   solc [--allow-paths a,b] [--include-path p]... [--base-path p] --standard-json  < input.json
// stdout carries only the compiler's answer; anything solc-js/emscripten
// prints while loading or compiling is diverted to stderr.
'use strict';

const fs = require('fs');
const path = require('path');

const realStdoutWrite = process.stdout.write.bind(process.stdout);

function fail(msg, code = 1) {
  process.stderr.write(`solc-shim: ${msg}\n`);
  process.exit(code);
}

// Keep stdout clean: everything printed from here on goes to stderr, and only
// emit() writes to the real stdout.
function divertStdout() {
  const toErr = (...args) => process.stderr.write(args.map(String).join(' ') + '\n');
  console.log = toErr;
  console.info = toErr;
  console.debug = toErr;
  process.stdout.write = (chunk, encoding, cb) => process.stderr.write(chunk, encoding, cb);
}

function emit(text) {
  realStdoutWrite(text);
}

// Resolve solc-js: $SOLC_SHIM_SOLCJS (a package dir), then normal Node resolution
// from this file (works when installed as .tools/solc-shim/solc.js, next to
// .tools/node_modules), then the repository's .tools when run from scripts/solc-shim.
function loadSolc() {
  const candidates = [];
  if (process.env.SOLC_SHIM_SOLCJS) candidates.push(path.resolve(process.env.SOLC_SHIM_SOLCJS));
  candidates.push('solc');
  candidates.push(path.resolve(__dirname, '..', '..', '.tools', 'node_modules', 'solc'));
  const errors = [];
  for (const c of candidates) {
    try {
      return require(c);
    } catch (e) {
      if (e && e.code !== 'MODULE_NOT_FOUND') throw e;
      errors.push(c);
    }
  }
  fail(`cannot find solc-js (tried: ${errors.join(', ')}); run scripts/install-toolchain.sh`);
}

function parseArgs(argv) {
  const opts = { mode: null, basePath: null, includePaths: [], allowPaths: [] };
  const takeValue = (i, name) => {
    const a = argv[i];
    const eq = a.indexOf('=');
    if (eq !== -1) return [a.slice(eq + 1), i];
    if (i + 1 >= argv.length) fail(`${name} needs a value`);
    return [argv[i + 1], i + 1];
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const name = a.split('=')[0];
    let v;
    switch (name) {
      case '--version':
      case '-v':
        opts.mode = 'version';
        break;
      case '--help':
      case '-h':
        opts.mode = 'help';
        break;
      case '--standard-json':
        opts.mode = 'standard-json';
        break;
      case '--base-path':
        [v, i] = takeValue(i, name);
        opts.basePath = v;
        break;
      case '--include-path':
        [v, i] = takeValue(i, name);
        opts.includePaths.push(v);
        break;
      case '--allow-paths':
        [v, i] = takeValue(i, name);
        opts.allowPaths.push(...v.split(',').filter(Boolean));
        break;
      default:
        fail(`unsupported argument '${a}' (this shim only supports --version and --standard-json)`);
    }
  }
  return opts;
}

function isInside(file, dir) {
  const rel = path.relative(dir, file);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

// Import callback, mirroring native solc's file loader: a source unit name is
// looked up relative to the base path, then each include path; absolute names
// are used as is. Files must lie under the base/include/allowed paths.
function makeImportCallback(opts) {
  const cwd = process.cwd();
  const base = path.resolve(cwd, opts.basePath || '.');
  const roots = [base, ...opts.includePaths.map((p) => path.resolve(cwd, p))];
  const allowed = [...roots, ...opts.allowPaths.map((p) => path.resolve(cwd, p))];
  return (unitName) => {
    const tries = path.isAbsolute(unitName) ? [unitName] : roots.map((r) => path.join(r, unitName));
    for (const file of tries) {
      const real = (() => {
        try {
          return fs.realpathSync(file);
        } catch {
          return null;
        }
      })();
      if (!real) continue;
      if (!allowed.some((d) => isInside(file, d) || isInside(real, d))) {
        return { error: `File outside of allowed directories: ${unitName}` };
      }
      try {
        return { contents: fs.readFileSync(real, 'utf8') };
      } catch (e) {
        return { error: `Cannot read ${unitName}: ${e.message}` };
      }
    }
    return { error: `File not found: ${unitName} (searched ${roots.join(', ')})` };
  };
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.mode === 'help' || opts.mode === null) {
    process.stderr.write(
      'usage: solc --version | solc [--base-path P] [--include-path P]... [--allow-paths P,...] --standard-json < input.json\n'
    );
    process.exit(opts.mode === 'help' ? 0 : 1);
  }
  divertStdout();
  const solc = loadSolc();
  if (opts.mode === 'version') {
    // Native format; foundry-compilers takes the last non-empty line, strips
    // "Version: " and parses the rest as semver.
    emit(`solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
    return;
  }
  let input;
  try {
    input = fs.readFileSync(0, 'utf8');
  } catch (e) {
    fail(`cannot read standard JSON from stdin: ${e.message}`);
  }
  if (!input.trim()) fail('empty standard JSON input on stdin');
  const output = solc.compile(input, { import: makeImportCallback(opts) });
  emit(output.endsWith('\n') ? output : output + '\n');
}

main();
