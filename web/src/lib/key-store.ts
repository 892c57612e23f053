// The buyer's per-request X25519 private keys, kept in this browser's
// IndexedDB (never sent anywhere) so that a reload can still decrypt a
// result. Keyed by chain and request id (request ids are unique per chain).

const DB = "scmpc-market";
const STORE = "buyer-keys";

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(new Error(`this browser's storage (IndexedDB) cannot be opened: ${request.error?.message ?? "unknown error"}`));
  });
}

async function run<T>(mode: IDBTransactionMode, body: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = body(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(new Error(`this browser's storage (IndexedDB) failed: ${tx.error?.message ?? "unknown error"}`));
    });
  } finally {
    db.close();
  }
}

/** Where a request's key is filed. */
export function keyName(chainId: number, requestId: string): string {
  return `${chainId}:${requestId.toLowerCase()}`;
}

/** Keeps a request's private key; resolves once the browser has stored it. */
export async function keepBuyerKey(name: string, privateKey: Uint8Array): Promise<void> {
  await run("readwrite", (store) => store.put(new Uint8Array(privateKey), name));
}

/** A request's private key, or undefined when this browser does not hold it. */
export async function buyerKey(name: string): Promise<Uint8Array | undefined> {
  const key = await run<unknown>("readonly", (store) => store.get(name));
  return key instanceof Uint8Array ? key : undefined;
}
