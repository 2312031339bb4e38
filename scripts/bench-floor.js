// The benchmark's floor (scripts/bench.js): Node.js with the same TypeScript loader as `aura`,
// loading every package module a plan loads (the list the bench recorded), and doing nothing else.
"use strict";
const fs = require("fs");
require("../cli/transpile").register();
for (const file of JSON.parse(fs.readFileSync(process.argv[2], "utf8"))) require(file);
