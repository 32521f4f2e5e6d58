export {
  checkExclusivity,
  exclusivityCheck,
  overlapText,
  unbackedText,
  type ExclusivityOptions,
  type ExclusivityResult,
  type Overlap,
  type OwnershipSpan,
  type OwnershipTruth,
  type RevisionObservation,
  type Tenure,
  type UnbackedTenure,
} from './check.ts';
