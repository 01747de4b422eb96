import { MemoryLockBackend, MemoryLocker } from "./memory_locker.ts";
import { CONTRACT_LEASE_MS, runLockerContract } from "./locker_contract.ts";

runLockerContract("MemoryLocker", () => {
  const backend = new MemoryLockBackend();
  const lockers: MemoryLocker[] = [];
  return Promise.resolve({
    locker: () => {
      const locker = new MemoryLocker({ backend, leaseMs: CONTRACT_LEASE_MS });
      lockers.push(locker);
      return Promise.resolve(locker);
    },
    crash: (locker) => {
      (locker as MemoryLocker).crash();
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  });
});
