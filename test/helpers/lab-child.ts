// Test helper process: builds a lab, prints its names, then waits to be signalled.
import { createLab } from '../../src/lab/lab.ts';

const lab = await createLab({ txQueueLen: 128, mtu: 1500, queues: Number(process.argv[2] ?? 1) });
process.stdout.write(`${JSON.stringify({ netns: lab.netns, tap: lab.tap })}\n`);
setInterval(() => undefined, 1000);
