/**
 * Redis URLs: which ones parseRedisUrl accepts (every form the driver
 * connects with) and which it rejects, and that createQueue and
 * redisBackend reject a malformed one with a ValidationError at once,
 * before anything connects. No server is needed.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createClient } from "redis";
import { parseRedisUrl } from "../backends/redis/url.ts";
import { redisBackend } from "../backends/redis/mod.ts";
import { createQueue, ValidationError } from "../mod.ts";

const SERVERS = [
  "redis://localhost:6379/0",
  "redis://localhost",
  "redis://127.0.0.1:6379",
  "rediss://cache.example.com:6380/2",
  "redis://user:pass@localhost:6379/1",
  "redis://:p%40ss@localhost:6379",
  "redis://default:p@ss@localhost",
  "redis://[::1]:6379/0",
  "redis://[::1]",
  "redis://redis_primary:6379",
  "REDIS://LOCALHOST:6379/3",
  "redis://localhost:6379/0?protocol=3",
  "redis://localhost:6379/",
  // An empty host is the driver's localhost.
  "redis://",
];

const CLUSTERS: {
  url: string;
  nodes: string[];
  username?: string;
  password?: string;
}[] = [
  {
    url: "redis+cluster://10.0.0.1:7000,10.0.0.2:7001",
    nodes: ["redis://10.0.0.1:7000", "redis://10.0.0.2:7001"],
  },
  {
    url: "redis+cluster://u:p%40ss@a:7000,[::1]:7001/",
    nodes: ["redis://a:7000", "redis://[::1]:7001"],
    username: "u",
    password: "p@ss",
  },
  {
    url: "redis+cluster://:secret@node-1:7000",
    nodes: ["redis://node-1:7000"],
    password: "secret",
  },
];

const BAD = [
  "http://localhost:6379",
  "localhost:6379",
  "",
  "redis:",
  "redis:/0",
  "redis:localhost",
  "redis://localhost:99999",
  "redis://localhost:port",
  "redis://localhost/db",
  "redis://localhost/0/1",
  "redis://localhost/-1",
  "redis://u:%zz@localhost",
  "redis://local host",
  "rediss://[::1",
  "redis+cluster://",
  "redis+cluster://a:1,nope",
  "redis+cluster://a:1,",
  "redis+cluster://a",
  "redis+cluster://a:99999",
  "redis+cluster://u:%zz@a:1",
];

describe("redis URLs", () => {
  test("parseRedisUrl accepts every server URL the driver connects with", () => {
    for (const url of SERVERS) {
      assert.deepEqual(parseRedisUrl(url), {
        cluster: false,
        nodes: [{ url }],
      });
      if (url !== "redis://") {
        assert.doesNotThrow(() => createClient({ url }), url);
      }
    }
  });

  test("parseRedisUrl reads a Cluster's nodes and credentials", () => {
    for (const { url, nodes, username, password } of CLUSTERS) {
      const target = parseRedisUrl(url);
      assert.equal(target.cluster, true, url);
      assert.deepEqual(target.nodes.map((n) => n.url), nodes, url);
      assert.equal(target.username, username, url);
      assert.equal(target.password, password, url);
    }
  });

  test("parseRedisUrl rejects malformed URLs with ValidationError", () => {
    for (const url of BAD) {
      assert.throws(() => parseRedisUrl(url), ValidationError, url);
    }
    assert.throws(() => parseRedisUrl(42 as never), ValidationError);
  });

  test("createQueue and redisBackend reject a malformed URL at once", () => {
    for (const url of BAD.filter((u) => /^redis/i.test(u))) {
      assert.throws(() => createQueue(url), ValidationError, url);
      assert.throws(() => redisBackend({ url }), ValidationError, url);
    }
  });

  test("createQueue takes a good URL without connecting", async () => {
    for (const url of [...SERVERS, ...CLUSTERS.map((c) => c.url)]) {
      const queue = createQueue(url);
      await queue.close();
    }
  });
});
