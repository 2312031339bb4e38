// Preloaded into a child `aura` process by the tests (node -r): writes the process's peak resident
// memory in KiB to the file named by AURA_PEAK_RSS_FILE when it exits.
"use strict";
process.on("exit", () => {
    require("fs").writeFileSync(process.env.AURA_PEAK_RSS_FILE, String(process.resourceUsage().maxRSS));
});
