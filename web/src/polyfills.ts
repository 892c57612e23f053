// The shared engine code encodes shares and envelopes with Node's Buffer;
// the browser gets the `buffer` package's, installed before any of it loads.
import { Buffer } from "buffer";

const scope = globalThis as { Buffer?: typeof Buffer };
scope.Buffer ??= Buffer;
