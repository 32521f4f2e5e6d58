/**
 * The lab's own failures. What the system under test does wrong (a refused write, a
 * missed deadline) is a measurement, never one of these: these say the lab could not do
 * what it was asked, and why.
 */
export class LabError extends Error {
  /** Process exit code a CLI run should end with when this error escapes. */
  readonly exitCode: number = 2;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Invalid user input: option, spec, member count, experiment name. Nothing was started. */
export class BadInputError extends LabError {}

/** The host lacks something the lab needs (Docker engine, a kernel feature, root). */
export class HostNotReadyError extends LabError {}

/** The etcd image could not be found, pulled or built, or does not run etcd. */
export class EtcdImageError extends LabError {}

/** A cluster or a member would not start, or a lifecycle action on a member failed. */
export class ClusterError extends LabError {}

/** A fault could not be injected or healed. */
export class FaultError extends LabError {}

/** A wait for a cluster condition ran out of time. */
export class LabTimeoutError extends LabError {}
