import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectTestPostgres } from '../conditions/sql/postgres-test-client.js';
import { postgresDialect } from '../conditions/sql/postgres.js';
import { parseTraitDefinition, type EventTraitDefinition } from './definition.js';
import { traitReference } from './reference.js';
import { compileAllTraitsQuery, compileTraitQuery } from './sql.js';
import { expectSqlValue, parseSql } from './test-support.js';
import { definition, evaluationTimes, world, type TraitWorld } from './traits.arbitraries.js';

/**
 * The PostgreSQL dialect of the traits compiler against the reference, on the same random inputs as
 * traits.agreement.test.ts, in a schema of its own in the `test` database at 127.0.0.1:5432. Skipped when that
 * server is not there, except in CI (CI=true), where it fails instead.
 */

const RUNS = Number(process.env.TRAITS_AGREEMENT_RUNS_PG ?? 100);
const SCHEMA = `traits_test_${process.pid}`;

const { client, reachable, insert } = await connectTestPostgres();

async function load(w: TraitWorld): Promise<void> {
  await client.query('TRUNCATE c_profiles, c_events');
  await insert('c_profiles', w.profiles.map((id) => [id, '{}', '{}']));
  await insert('c_events', w.profiles.flatMap((id) => w.events.get(id)!.map((e) => [id, e.type, e.event ?? null, e.timestamp, JSON.stringify(e.properties)])));
}

describe.skipIf(!reachable && process.env.CI !== 'true')('computed traits: the PostgreSQL dialect agrees with the reference', () => {
  beforeAll(async () => {
    await client.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE; CREATE SCHEMA ${SCHEMA}; SET search_path TO ${SCHEMA};`);
    await client.query(`
      CREATE TABLE c_profiles (profile_id TEXT, traits JSONB, computed JSONB);
      CREATE TABLE c_events (profile_id TEXT, type TEXT, event TEXT, ts BIGINT, properties JSONB);`);
  });
  afterAll(async () => {
    await client.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    await client.end();
  });

  it('on random histories, definitions and instants', async () => {
    await fc.assert(
      fc.asyncProperty(world, fc.array(definition, { minLength: 1, maxLength: 4 }), evaluationTimes, async (w, raws, times) => {
        const defs = raws.map((raw) => parseTraitDefinition(raw) as EventTraitDefinition);
        await load(w);
        const ids = [...w.profiles].sort();
        for (const now of times) {
          const all = compileAllTraitsQuery(defs, postgresDialect, now);
          const rows = (await client.query(all.sql, all.params)).rows as Record<string, unknown>[];
          expect(rows.map((r) => r.profile_id)).toEqual(ids);
          for (const row of rows) {
            defs.forEach((def, i) => {
              const expected = traitReference(def, w.events.get(String(row.profile_id))!, now);
              expectSqlValue(def, parseSql(row[all.columns[i].column]), expected, `PostgreSQL ${JSON.stringify(def)} for ${row.profile_id}`);
            });
          }
          const single = compileTraitQuery(defs[0], postgresDialect, now);
          for (const row of (await client.query(single.sql, single.params)).rows as Record<string, unknown>[]) {
            expectSqlValue(defs[0], parseSql(row.value), traitReference(defs[0], w.events.get(String(row.profile_id))!, now), 'PostgreSQL single trait');
          }
        }
      }),
      { numRuns: RUNS },
    );
  }, RUNS * 400);
});
