import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** The checkpoint thread: its own connection copies the WAL back into the database file, beside the event loop. */
const CHECKPOINTER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
// Never wait: busy now means try again on the next tick.
db.pragma('busy_timeout = 0');
const run = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    if (error && error.code === 'SQLITE_BUSY') return;
    parentPort.postMessage(String((error && error.message) || error));
  }
};
const timer = setInterval(run, workerData.intervalMs);
parentPort.on('message', (m) => {
  if (m !== 'close') return;
  clearInterval(timer);
  run();
  db.close();
  parentPort.close();
});
`;

/**
 * Does most of a database's WAL checkpointing off the connection that commits: SQLite runs a checkpoint inside
 * the COMMIT that crosses wal_autocheckpoint, on the pipeline's event loop (about half of a commit's cost under
 * load). A thread copies the WAL's frames into the database every `intervalMs` (PASSIVE: it never blocks a writer
 * or a reader), so the committing connection's own automatic checkpoint finds little left to copy; it stays on,
 * because only a writer's checkpoint lets the WAL file start again from its beginning (without it the file grows).
 */
export class BackgroundCheckpoints {
  private readonly worker: Worker;

  constructor(file: string, onError: (message: string) => void, intervalMs = 200) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(CHECKPOINTER, { eval: true, workerData: { file, driver, intervalMs } });
    this.worker.unref();
    this.worker.on('message', (m: string) => onError(`WAL checkpoint of ${file} failed: ${m}`));
    this.worker.on('error', (error) => onError(`WAL checkpoint thread of ${file} failed: ${error.message}`));
  }

  async close(): Promise<void> {
    const exited = new Promise((resolve) => this.worker.once('exit', resolve));
    this.worker.ref();
    this.worker.postMessage('close');
    await exited;
  }
}
