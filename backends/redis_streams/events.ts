/**
 * Events of the Redis Streams backend: the Redis backend's pub/sub events
 * (backends/redis/events.ts), used as they are. Its scripts publish the
 * same messages on the same channels under their own namespace: `<ns>u`
 * carries a JSON array of updates per call (the Redis backend's
 * decodeUpdates reads them: `[id, type, status, progress, message,
 * attempt, at, version, result, error]`), `<ns>w` the worker signals
 * `w<at>` (wake) and `c<id> <version>` (cancel of the lease held before
 * that version). The streams carry jobs, never events: a stream read is
 * a claim.
 *
 * @module
 */

export { type RedisEvents, redisEvents } from "../redis/events.ts";
