#!/usr/bin/env node
// Runs the native binary from the platform package npm installed alongside
// (@polyglot-example/cli-<triple>, an optionalDependency).
"use strict";
const { spawnSync } = require("node:child_process");

const triples = {
  "linux-x64": "x86_64-unknown-linux-gnu",
  "darwin-arm64": "aarch64-apple-darwin",
  "win32-x64": "x86_64-pc-windows-msvc",
};
const triple = triples[`${process.platform}-${process.arch}`];
if (!triple) {
  console.error(`polyglot: no build for ${process.platform}-${process.arch}`);
  process.exit(1);
}
const exe = process.platform === "win32" ? "polyglot.exe" : "polyglot";
let bin;
try {
  bin = require.resolve(`@polyglot-example/cli-${triple}/${exe}`);
} catch {
  console.error(`polyglot: @polyglot-example/cli-${triple} is not installed`);
  process.exit(1);
}
const r = spawnSync(bin, process.argv.slice(2), { stdio: "inherit" });
process.exit(r.status ?? 1);
