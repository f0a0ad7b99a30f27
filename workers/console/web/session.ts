// The signed-in participant: its NON-extractable signing key (a CryptoKey) and who it is, kept in
// this origin's IndexedDB so that it survives moving between console pages. IndexedDB stores a
// CryptoKey by structured clone with its `extractable: false` flag intact: page scripts can ask
// the browser to sign with it, but nothing can read the private key back out. Sign-out deletes it.
import type { AllowedAlg } from "@eusn/protocol";

export type Role = "coordinator" | "authority" | "platform";

export type Session = {
  participantId: string;
  role: Role;
  memberState: string | null;
  displayName: string;
  nodeId: string;
  kid: string;
  alg: AllowedAlg;
  key: CryptoKey;
  signedInAt: string;
};

const DB_NAME = "eusn-console";
const STORE = "session";
const KEY = "current";

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function tx<T>(mode: IDBTransactionMode, f: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const t = db.transaction(STORE, mode);
      const req = f(t.objectStore(STORE));
      t.oncomplete = () => resolve(req.result);
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error);
    });
  } finally {
    db.close();
  }
}

let current: Session | null | undefined;

export async function loadSession(): Promise<Session | null> {
  if (current !== undefined) return current;
  try {
    const s = (await tx("readonly", (st) => st.get(KEY))) as Session | undefined;
    current = s && s.key instanceof CryptoKey && !s.key.extractable ? s : null;
  } catch {
    current = null;
  }
  return current;
}

export async function saveSession(s: Session): Promise<void> {
  if (s.key.extractable) throw new Error("refusing to store an extractable key");
  await tx("readwrite", (st) => st.put(s, KEY));
  current = s;
}

export async function clearSession(): Promise<void> {
  await tx("readwrite", (st) => st.delete(KEY));
  current = null;
}

export const HOME: Record<Role, string> = {
  coordinator: "/console/curation",
  authority: "/console/assess",
  platform: "/console/match",
};
