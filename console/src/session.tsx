import { createContext, useContext } from 'react';

export type Role = 'viewer' | 'editor' | 'admin';
export interface Session {
  name: string;
  role: Role;
  workspaceId: string;
  expiresAt?: string;
}

export const SessionContext = createContext<{ session: Session; signOut(): void } | undefined>(undefined);

export function useSession() {
  const value = useContext(SessionContext);
  if (!value) throw new Error('useSession outside a signed-in console');
  return value;
}

/** Whether the signed-in role may change data (the API enforces it; the console only hides what would be refused). */
export const useCanWrite = () => useSession().session.role !== 'viewer';
export const useIsAdmin = () => useSession().session.role === 'admin';
