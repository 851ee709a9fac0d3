// The main entry alone, checked with skipLibCheck off and no @types/node:
// the package's own declarations must hold up to a strict project.
import { createQueue, createWorker, subscribe } from "jobline";

await using queue = createQueue<{ resize: { url: string } }>();
await using _worker = createWorker(queue, {
  resize: (job) => ({ width: job.data.url.length }),
});
const id = await queue.enqueue("resize", { url: "a.png" });
for await (const update of subscribe(queue, id)) console.log(update.status);
