// Library API of the MPC engine: used by the seller CLI (sharing, encoding,
// commitments), the bridge (result packing) and the buyer (opening results).
// Everything but the job runner also runs in a browser (browser.ts).
export * from "./browser.ts";
export { runJob } from "./plan/job-plan.ts";
