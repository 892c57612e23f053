// Fails early, with a clear message, when the project is run on a Node.js older than it supports.
"use strict";
const required = 22;
const major = Number(process.versions.node.split(".")[0]);
if (major < required) {
  console.error(
    `sc-mpc needs Node.js >= ${required}; this is Node.js ${process.versions.node}.\n` +
      `Install it from the npm registry and put it first on PATH:\n` +
      `  npm install --prefix .tools node@${required} && export PATH=$PWD/.tools/node_modules/.bin:$PATH\n` +
      `then run npm install again (npm under an older Node silently skips Hardhat's native EDR package).`,
  );
  process.exit(1);
}
