/**
 * Worker-thread entry of `runCapture`: reads one capture through CaptureReader -> Analyzer, then
 * summarises every mail, and posts a `CaptureRun` back. Running in a worker lets the caller stop a
 * hang (terminate) and cap the heap (resourceLimits) without taking the test process down.
 */
import { readFileSync } from 'node:fs';
import { getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import { collectCapture, type WorkerInput } from './run-capture.ts';

const input = workerData as WorkerInput;
const file = readFileSync(input.path);
const run = await collectCapture(file, input, () => getHeapStatistics().used_heap_size);
parentPort?.postMessage(run);
