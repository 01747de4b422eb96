import { MemoryLocker } from "./memory_locker.ts";
import { runLockerContract } from "./locker_contract.ts";

runLockerContract("MemoryLocker", () => new MemoryLocker());
