// Container healthcheck of the local chain: exits 0 when the JSON-RPC
// endpoint on 127.0.0.1:<port> (first argument, default 8545) answers eth_chainId.
const port = process.argv[2] ?? "8545";
try {
  const res = await fetch(`http://127.0.0.1:${port}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
    signal: AbortSignal.timeout(4000),
  });
  const body = await res.json();
  process.exit(typeof body.result === "string" ? 0 : 1);
} catch (err) {
  console.error(`healthcheck: ${err.message}`);
  process.exit(1);
}
