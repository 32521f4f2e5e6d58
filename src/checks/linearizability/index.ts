export type * from './types.ts';
export { checkLinearizability, type CheckOptions, type LinearizabilityResult } from './check.ts';
export { fromOperationRecords, type AdaptedHistory } from './from-records.ts';
export { operationText, resultText, timeline, violationText } from './render.ts';
export {
  generateHistory,
  generateHistoryWithChanges,
  type GeneratedChange,
  type GeneratorOptions,
} from './generate.ts';
export { patchWithTruth, type PatchOptions, type PatchOutcome } from './patch.ts';
