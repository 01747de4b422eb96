import { Scope } from "../../tests/support/scope.ts";
import { findRedis, startRedis } from "../../tests/support/services.ts";
import { redisClients } from "../../tests/support/redis_clients.ts";
import { MemoryStopChannel, MemoryStopHub } from "./memory_stop_channel.ts";
import { RedisStopChannel } from "./redis_stop_channel.ts";
import { runStopChannelContract } from "./stop_channel_contract.ts";
import type { StopChannel } from "./stop_channel.ts";

runStopChannelContract("MemoryStopChannel", () => {
  const hub = new MemoryStopHub();
  const channels: StopChannel[] = [];
  return Promise.resolve({
    channel: () => {
      const channel = new MemoryStopChannel(hub);
      channels.push(channel);
      return Promise.resolve(channel);
    },
    close: async () => {
      for (const channel of channels) await channel.close();
    },
  });
});

runStopChannelContract("RedisStopChannel", async () => {
  const found = await findRedis();
  if ("missing" in found) throw new Error(found.missing);
  const scope = new Scope();
  const redis = await startRedis(scope, found.redis);
  return {
    channel: async () => {
      // Each channel on its own connections, as on its own node.
      const channel = await RedisStopChannel.start(await redisClients(scope, redis.url));
      scope.defer("close the stop channel", () => channel.close());
      return channel;
    },
    close: async () => {
      const failures = await scope.close();
      if (failures.length > 0) throw failures[0]!.error;
    },
  };
});
