// Public surface of the conformance runner: run a directory of reference cases against the
// project's own code, plus the comparison and the supported-pairs table it uses.

export { compare, formatDifference, formatValue } from './compare';
export type { Difference, Tolerance } from './compare';
export { runConformance, HANDLERS, DEVICE_KINDS } from './runner';
export type { CaseContext, CaseHandler, CaseResult, CaseStatus, ConformanceSummary } from './runner';
export { caseType, isSupported, SUPPORTED } from './support';
export type { ConformanceCase } from './support';
