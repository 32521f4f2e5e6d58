export type * from './types.ts';
export { GUARANTEES } from './types.ts';
export {
  checkWatches,
  eventText,
  type Blame,
  type GuaranteeVerdict,
  type ViolationKind,
  type WatchCheckOptions,
  type WatchCheckResult,
  type WatchViolation,
} from './check.ts';
export { covers, inRange, prefixEnd, rangeText, watchMatches } from './key-range.ts';
export {
  truthFromEvents,
  truthFromHistory,
  truthFromRecords,
  type HistoryTruth,
  type TruthFromEventsOptions,
  type TruthFromHistoryOptions,
} from './truth.ts';
export { truthFromWatchers, type ObservedTruth } from './observed.ts';
export { blameText, resultText, violationText, watchGuaranteesCheck } from './render.ts';
export {
  generateWatchHistory,
  mutateWatchHistory,
  type GeneratedWatchHistory,
  type MutatedWatchHistory,
  type WatchGeneratorOptions,
  type WatchMutation,
} from './generate.ts';
