import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Sqlite } from './database.js';

/** The checkpoint thread: its own connection copies the WAL back into the database file, beside the event loop. */
const CHECKPOINTER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 5000');
const run = () => {
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)');
    // The WAL file restarts from its beginning only when a commit finds it wholly checkpointed, which a busy writer
    // rarely does: past the limit it is checkpointed and truncated in one go (writers wait for that moment).
    if (r && r.log > workerData.truncatePages) db.pragma('wal_checkpoint(TRUNCATE)');
  } catch (error) {
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
 * Moves a database's WAL checkpoints off the connection that commits: SQLite otherwise runs them inside the COMMIT
 * that crosses wal_autocheckpoint, on the event loop of the pipeline (about half of a commit's cost under load).
 * The committing connection stops checkpointing; a thread checkpoints every `intervalMs` (PASSIVE: it never
 * blocks a writer or a reader).
 */
export class BackgroundCheckpoints {
  private readonly worker: Worker;

  constructor(db: Sqlite, file: string, onError: (message: string) => void, intervalMs = 200) {
    db.pragma('wal_autocheckpoint = 0');
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(CHECKPOINTER, { eval: true, workerData: { file, driver, intervalMs, truncatePages: 4096 } });
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
