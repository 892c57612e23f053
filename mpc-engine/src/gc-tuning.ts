// Garbage-collector setting of a host process, and of a seller's (the CLI,
// the benchmark), applied when this module is first imported (import it
// before anything else).
//
// A host allocates and drops large typed arrays at a high rate (every
// round's vectors, the PRF streams, the channel's buffers): hundreds of MiB
// per million-row query, all of it external memory. Each 64 MiB or so of it
// starts a full mark-compact; with V8's default incremental marking, each
// also runs marking steps and concurrent marker threads that, on a machine
// with fewer cores than busy processes (three hosts on two cores), compete
// with the hosts themselves. Measured with `npm run bench:queries` on the
// 2-core reference machine (1M rows, three host processes): the CPU per
// host fell from 3.8 to 2.4 s for a grouped average and from 2.4 to 1.4 s
// for TPC-H Q6 with incremental marking off; the heap itself stays small
// (about 30 MiB), so the atomic pauses stay short (10–30 ms).
//
// A seller shares and sends whole columns: for 1M rows, over 100 MiB of
// share vectors, keystream pieces and serialized upload messages, two full
// collections per upload. With incremental marking off its CPU per share +
// upload of 1M rows fell from medians of 251 and 239 ms to 180 and 123 ms
// (two runs of eight uploads each way, three host processes on 2 cores).
import { setFlagsFromString } from "node:v8";

setFlagsFromString("--no-incremental-marking");
