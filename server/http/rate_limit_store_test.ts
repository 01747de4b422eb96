import { MemoryRateLimitStore } from "./rate_limit_store.ts";
import { runRateLimitContract } from "./rate_limit_store_contract.ts";

runRateLimitContract("MemoryRateLimitStore", (now) => new MemoryRateLimitStore(now));
