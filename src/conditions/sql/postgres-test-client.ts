import pg from 'pg';

/**
 * The PostgreSQL connection of the dialect agreement tests (127.0.0.1:5432, database `test`), and whether it could
 * be made: the tests skip without it, except under CI=true where they must fail.
 */
export async function connectTestPostgres(): Promise<{ client: pg.Client; reachable: boolean; insert(table: string, rows: unknown[][]): Promise<void> }> {
  const client = new pg.Client({ host: '127.0.0.1', port: 5432, database: 'test', user: process.env.PGUSER ?? 'postgres' });
  const reachable = await client.connect().then(
    () => true,
    () => false,
  );
  /** One multi-row INSERT, every value a parameter. */
  async function insert(table: string, rows: unknown[][]): Promise<void> {
    if (rows.length === 0) return;
    const params: unknown[] = [];
    const tuples = rows.map((row) => `(${row.map((v) => (params.push(v), `$${params.length}`)).join(', ')})`);
    await client.query(`INSERT INTO ${table} VALUES ${tuples.join(', ')}`, params);
  }
  return { client, reachable, insert };
}
