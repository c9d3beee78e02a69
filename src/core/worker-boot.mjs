// Starts a worker thread on a TypeScript module: registers the same loader `bin/tandem.js` uses, then imports
// the module named in workerData.entry. Plain JavaScript, because it runs before any loader exists.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
