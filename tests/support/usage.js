// Preloaded into a child `aura` process by the tests (node -r): writes the process's peak resident
// memory (KiB) and CPU time (microseconds) as JSON to the file named by AURA_USAGE_FILE on exit.
"use strict";
process.on("exit", () => {
    const u = process.resourceUsage();
    require("fs").writeFileSync(process.env.AURA_USAGE_FILE, JSON.stringify({ maxRSS: u.maxRSS, cpu: u.userCPUTime + u.systemCPUTime }));
});
