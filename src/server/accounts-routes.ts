import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { AccountView, type Accounts } from '../accounts/accounts.js';

export interface AccountsRouteDeps {
  accounts: Accounts;
}

/** /api/v1/accounts: accounts (group entities) made by group calls, with their traits and linked profiles. */
export function accountsRoutes(deps: AccountsRouteDeps) {
  const { accounts } = deps;
  return async function plugin(app: FastifyInstance): Promise<void> {
    app.get<{ Querystring: { q: string; limit?: number } }>(
      '/accounts',
      {
        schema: {
          summary: 'Search accounts by group id prefix or trait value',
          tags: ['accounts'],
          querystring: Type.Object({
            q: Type.String({ minLength: 1, maxLength: 1024, description: 'Group id prefix, or a trait value to match exactly.' }),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
          }),
          response: { 200: Type.Object({ data: Type.Array(AccountView) }) },
        },
      },
      async (req) => ({ data: await accounts.search(req.workspaceId, req.query.q, req.query.limit ?? 20) }),
    );

    app.get<{ Params: { groupId: string } }>(
      '/accounts/:groupId',
      {
        schema: {
          summary: 'An account: its traits (latest value by event timestamp, with lineage) and the profiles linked to it',
          tags: ['accounts'],
          params: Type.Object({ groupId: Type.String({ minLength: 1, maxLength: 1024 }) }),
          response: { 200: AccountView },
        },
      },
      async (req) => accounts.require(req.workspaceId, req.params.groupId),
    );
  };
}
